/**
 * What Step Functions bills per million small objects: `--objects` (default 100,000) small objects through
 * the whole local pipeline (runPipelineLocally: Plan, the synthesized state machine with its Distributed
 * Map, CopyBatch, Summarize), counting state transitions, child executions and Lambda invocations with the
 * host's usage counter, once with our units (`objectsPerPack` at its default) and once as the pipeline
 * batched before units (20 objects per child execution: `objectsPerPack` 20).
 *
 * The copies are pretended: a `copyBatchOverride` reports every object of its unit copied, so that the
 * run costs this shared machine seconds, not the hours 100,000 real copies would (Step Functions' bill
 * does not depend on what CopyBatch does inside an invocation, only on the units, rounds and states).
 * The source is a listing-only S3 endpoint on 127.0.0.1 that generates ListObjectsV2 pages; credentials
 * come from the TEA emulator. A dry run of the same source gives the estimate (Summarize's `Estimate`),
 * whose transitions must match the run's; its Lambda and S3 dollars are the estimator's model (the
 * pretended copies take no time), shown for scale.
 *
 *   npx tsx bench/cost.ts [--objects 100000] [--size 100000] [--packs 500,20]
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmbeddedWorld } from '../emulators/world';
import { removeStagingFolder, runPipelineLocally, type LocalRunOutcome } from '../local/pipeline';
import type { CopyBatchInput, CopyBatchOutput } from '../shared/contracts';
import { PRICES } from '../shared/cost';
import { DEFAULT_OBJECTS_PER_PACK, unitObjects } from '../shared/units';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const OBJECTS = Number(arg('objects', '100000'));
const SIZE = Number(arg('size', '100000'));
const PACKS = arg('packs', `${DEFAULT_OBJECTS_PER_PACK},20`).split(',').map(Number);
const PAGE = 1000;
const BUCKET = 'earthdata-source';
const PREFIX = 'ATL03/';

const keyOf = (n: number): string =>
  `${PREFIX}${String(Math.floor(n / 1000)).padStart(3, '0')}/ATL03_20240101${String(n).padStart(6, '0')}_00010203_006_01.h5`;

/** An S3 endpoint that answers ListObjectsV2 with generated pages (and nothing else). */
function listingServer(): Promise<Server> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method !== 'GET' || url.searchParams.get('list-type') !== '2') {
      response.writeHead(501).end();
      return;
    }
    const start = Number(url.searchParams.get('continuation-token') ?? '0');
    const end = Math.min(OBJECTS, start + PAGE);
    const contents: string[] = [];
    for (let n = start; n < end; n++) {
      contents.push(
        `<Contents><Key>${keyOf(n)}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>` +
          `<ETag>&quot;${n.toString(16).padStart(32, '0')}&quot;</ETag><Size>${SIZE}</Size>` +
          '<StorageClass>STANDARD</StorageClass></Contents>',
      );
    }
    const truncated = end < OBJECTS;
    response.writeHead(200, { 'content-type': 'application/xml' });
    response.end(
      '<?xml version="1.0" encoding="UTF-8"?>' +
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Name>${BUCKET}</Name><Prefix>${url.searchParams.get('prefix') ?? ''}</Prefix>` +
        `<KeyCount>${end - start}</KeyCount><MaxKeys>${PAGE}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
        (truncated ? `<NextContinuationToken>${end}</NextContinuationToken>` : '') +
        `${contents.join('')}</ListBucketResult>`,
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Reports every object of the unit copied, in one round. */
async function pretendCopy(input: CopyBatchInput): Promise<CopyBatchOutput> {
  const objects = unitObjects(input.Unit ?? { Pack: input.Items ?? [] });
  return {
    Results: [
      ...(input.Results ?? []),
      ...objects.map((o) => ({
        Key: o.Key,
        DestKey: o.DestKey,
        Status: 'COPIED' as const,
        Bytes: o.Size ?? 0,
        Check: 'md5-etag',
      })),
    ],
    Stalled: 0,
    BatchInput: input.BatchInput,
  };
}

const perMillion = (usd: number): string => `$${((usd * 1_000_000) / OBJECTS).toFixed(3)}`;

async function main(): Promise<void> {
  const world = await EmbeddedWorld.start({ sourceBuckets: [BUCKET], destinationBuckets: ['destination'] });
  const server = await listingServer();
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const event = {
    CredentialsEndpoint: world.credentialsEndpoint,
    BearerToken: world.token,
    Source: { Bucket: BUCKET, Prefix: PREFIX },
    Dest: { Bucket: 'destination', Prefix: 'mirror/' },
  };
  const rows: string[] = [];
  try {
    for (const objectsPerPack of PACKS) {
      const options = {
        s3Config: { region: world.s3.region, endpoint, forcePathStyle: true },
        destinationCredentials: world.s3.destinationCredentials,
        units: { objectsPerPack },
        copyBatchOverride: pretendCopy,
        // As deployed: the estimate models 100 children at once, 8 objects at once in each Lambda.
        maxConcurrency: 100,
        copyConcurrency: 8,
      };
      const dry = await runPipelineLocally({ ...event, Options: { DryRun: true } }, options);
      const estimate = dry.result?.Estimate;
      if (!estimate) throw new Error(`dry run: ${dry.execution.Status}`);
      await removeStagingFolder(dry.staging);
      const started = Date.now();
      const run: LocalRunOutcome = await runPipelineLocally(event, options);
      const seconds = (Date.now() - started) / 1000;
      if (run.result?.Copied !== OBJECTS) throw new Error(`run: ${JSON.stringify(run.result)}`);
      await removeStagingFolder(run.staging);
      const { transitions, childExecutions, invocations } = run.usage;
      // Step Functions bills every state entered and every child execution started.
      const billed = transitions + childExecutions;
      if (billed !== estimate.Usage.StateTransitions) {
        console.error(`note: estimated ${estimate.Usage.StateTransitions} transitions, counted ${billed}`);
      }
      const lambdaInvocations = invocations.plan + invocations.copy + invocations.summarize;
      const label =
        objectsPerPack === 20
          ? 'before units: 20 objects per child (objectsPerPack 20)'
          : `units: objectsPerPack ${objectsPerPack}${objectsPerPack === DEFAULT_OBJECTS_PER_PACK ? ' (default)' : ''}`;
      rows.push(
        `| ${label} | ${estimate.Units.Packs} | ${childExecutions} | ${transitions} | ${billed} | ` +
          `${lambdaInvocations} | ${perMillion(billed * PRICES.stepFunctionsTransition)} | ` +
          `${perMillion(lambdaInvocations * PRICES.lambdaRequest)} | ${perMillion(estimate.CostUsd.Lambda)} | ` +
          `${perMillion(estimate.CostUsd.S3Requests)} | ${perMillion(estimate.CostUsd.Total)} | ${seconds.toFixed(1)} |`,
      );
      console.error(`objectsPerPack ${objectsPerPack}: ${seconds.toFixed(1)} s`);
    }
  } finally {
    server.close();
    await world.stop();
  }
  console.log(`\n${OBJECTS.toLocaleString('en-US')} objects of ${SIZE.toLocaleString('en-US')} bytes\n`);
  console.log(
    '| batching | packs | child executions | states entered | billed transitions | Lambda invocations | ' +
      'Step Functions $/M objects | Lambda requests $/M | Lambda (estimate) $/M | S3 requests (estimate) $/M | ' +
      'total (estimate) $/M | run s |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
