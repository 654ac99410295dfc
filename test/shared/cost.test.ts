/**
 * docs/cost.md's price table and shared/cost.ts's PRICES are one table: same names, same prices, same
 * date and region. A price changed in one place only fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { costOf, PRICES, PRICES_AS_OF, PRICES_REGION, type PriceName } from '../../shared/cost';

const doc = readFileSync(join(__dirname, '../../docs/cost.md'), 'utf8');

/** The rows of the table whose header is `| price | code name | USD | per | source |`. */
function priceRows(): { name: string; usd: number; per: number; source: string }[] {
  const lines = doc.split('\n');
  const header = lines.findIndex((l) => /^\| price \| code name \| USD \| per \| source \|$/.test(l.trim()));
  if (header < 0) throw new Error('docs/cost.md has no price table');
  const rows = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const name = /^`(\w+)`$/.exec(cells[1])?.[1];
    if (!name) throw new Error(`price row without a code name: ${line}`);
    rows.push({
      name,
      usd: Number(cells[2]),
      per: Number(cells[3].replace(/,/g, '').replace(/ GB-s$/, '')),
      source: cells[4],
    });
  }
  return rows;
}

describe('the price table', () => {
  const rows = priceRows();

  it('names every price of shared/cost.ts once, and nothing else', () => {
    expect(rows.map((r) => r.name).sort()).toEqual(Object.keys(PRICES).sort());
  });

  it.each(rows)('$name: the doc and the code agree', ({ name, usd, per }) => {
    expect(Number.isFinite(usd) && per > 0).toBe(true);
    const documented = usd / per;
    const coded = PRICES[name as PriceName];
    expect(Math.abs(documented - coded)).toBeLessThanOrEqual(1e-9 * Math.max(coded, 1e-12));
  });

  it('gives an AWS pricing page as the source of every row', () => {
    for (const row of rows) expect(row.source).toMatch(/^https:\/\/aws\.amazon\.com\/[a-z0-9-]+\/pricing\/$/);
  });

  it('states the date and the region of the code', () => {
    expect(doc).toContain(PRICES_REGION);
    expect(doc.replace(/\s+/g, ' ')).toContain(`Read on ${PRICES_AS_OF}`);
  });
});

describe('costOf', () => {
  it('prices each service by its own counts', () => {
    const usage = {
      transitions: 40_000,
      lambdaInvocations: 1_000_000,
      lambdaGbSeconds: 100_000,
      s3PutCopyPostList: 2000,
      s3GetHeadOther: 10_000,
      kmsRequests: 20_000,
      ssmApiCalls: 10_000,
    };
    expect(costOf(usage)).toEqual({
      StepFunctions: 1, // 40,000 x $0.025 / 1,000
      Lambda: 1.53334, // $0.20 + 100,000 GB-s x $0.0000133334
      S3Requests: 0.014, // 2 x $0.005 + 10 x $0.0004
      KmsSsm: 0.06, // 2 x $0.03; standard SSM API calls are free
      Total: 2.60734,
    });
    expect(costOf(usage, { architecture: 'x86_64', ssmTier: 'advanced' })).toMatchObject({
      Lambda: 1.86667, // $0.20 + 100,000 x $0.0000166667
      KmsSsm: 0.11, // + $0.05 per 10,000 advanced API interactions
    });
  });
});
