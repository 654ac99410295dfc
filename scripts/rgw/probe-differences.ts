/**
 * Sends the same S3 requests to Ceph RGW (started by scripts/rgw/up.sh) and to the embedded S3
 * (emulators/s3/) and prints where their answers differ.
 *
 *   npx tsx scripts/rgw/probe-differences.ts [--all] [--json FILE]
 *
 * Requests are raw (node:http + @smithy/signature-v4), so headers and bodies are seen as sent and as
 * answered; answers are normalised (ETags to their shape, dates and request ids dropped) before they
 * are compared. scripts/rgw/DIFFERENCES.md discusses the differences and what AWS S3 does.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { EmbeddedS3 } from '../../emulators/s3/server';
import { readRgwInfo, startRgwWorld } from '../../test/e2e/backends/rgw';
import { PROBES, seed, type Answer, type Backend, type Probe } from './probes';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const all = args.includes('--all');
  const jsonAt = args.indexOf('--json');
  const suffix = randomBytes(3).toString('hex');
  const source = `probe-source-${suffix}`;
  const dest = `probe-dest-${suffix}`;

  const info = readRgwInfo();
  const kmsKeyId = info.kmsKeyId ?? 'e2e-kms-key';
  const world = await startRgwWorld({ info, sourceBuckets: [source], destinationBuckets: [dest] });
  const embedded = await EmbeddedS3.start({
    sourceBuckets: [source],
    destinationBuckets: [dest],
    region: info.region,
    kmsKeyIds: [kmsKeyId],
  });
  const backends: Backend[] = [
    {
      name: 'rgw',
      endpoint: info.endpoint,
      region: info.region,
      admin: info.admin,
      destination: info.destination,
      source,
      dest,
      kmsKeyId,
      issue: (seconds) => world.issuer.issue(seconds, 'probe'),
    },
    {
      name: 'embedded',
      endpoint: embedded.endpoint,
      region: embedded.region,
      admin: embedded.adminCredentials,
      destination: embedded.destinationCredentials,
      source,
      dest,
      kmsKeyId,
      issue: async (seconds) => embedded.issue(seconds, 'probe'),
    },
  ];
  for (const b of backends) await seed(b);

  const results: { probe: Probe; answers: Record<string, Answer>; differs: string[] }[] = [];
  try {
    for (const probe of PROBES) {
      const answers: Record<string, Answer> = {};
      for (const b of backends) {
        try {
          answers[b.name] = await probe.run(b);
        } catch (error) {
          answers[b.name] = { failed: (error as Error).message };
        }
      }
      const fields = [...new Set(Object.values(answers).flatMap((a) => Object.keys(a)))];
      const differs = fields.filter((f) => answers.rgw[f] !== answers.embedded[f]);
      results.push({ probe, answers, differs });
    }
  } finally {
    await world.stop();
    await embedded.stop();
  }

  let same = 0;
  const onlyErrorElements: string[] = [];
  for (const { probe, answers, differs } of results) {
    if (differs.length === 0) same++;
    if (differs.length === 1 && differs[0] === 'error elements' && !all) {
      onlyErrorElements.push(probe.name);
      continue;
    }
    if (differs.length === 0 && !all) continue;
    console.log(`\n## ${probe.name}${differs.length ? '' : ' (same)'}\n${probe.request}`);
    const fields = all
      ? [...new Set([...Object.keys(answers.rgw), ...Object.keys(answers.embedded)])]
      : differs;
    for (const f of fields) {
      const mark = differs.includes(f) ? '≠' : ' ';
      console.log(
        `  ${mark} ${f}: rgw=${JSON.stringify(answers.rgw[f])} embedded=${JSON.stringify(answers.embedded[f])}`,
      );
    }
  }
  if (onlyErrorElements.length) {
    console.log(
      `\n## Same status and code; only the error document's other elements differ\n  ${onlyErrorElements.join('\n  ')}`,
    );
  }
  console.log(`\n${results.length} probes: ${results.length - same} differ, ${same} answered alike`);
  if (jsonAt >= 0) {
    writeFileSync(
      args[jsonAt + 1],
      JSON.stringify(
        results.map((r) => ({
          name: r.probe.name,
          request: r.probe.request,
          differs: r.differs,
          ...r.answers,
        })),
        null,
        2,
      ),
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
