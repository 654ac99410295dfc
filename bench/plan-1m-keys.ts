/**
 * Plans a 1,000,000-key prefix listing (1000 ListObjectsV2 pages generated on demand, no network) into
 * a manifest streamed to a discarding staging store, and prints the time, the manifest size and the
 * peak heap and RSS. Run: `npx tsx bench/plan-1m-keys.ts [keys]`.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  S3Client,
  type ListObjectsV2CommandInput,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { RefreshingCredentials } from '../shared/credentials';
import { createLogger } from '../shared/log';
import type { StagingStore } from '../shared/staging';
import { planTransfer } from '../functions/plan/plan';
import { ONE_MACHINE_POLICY } from '../shared/run-policy';

const KEYS = Number(process.argv[2] ?? 1_000_000);
const PAGE_SIZE = 1000;
const MiB = 1024 * 1024;

function lazyListingClient(pages: number, onPage: () => void): S3Client {
  const client = new S3Client({
    region: 'us-west-2',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  client.middlewareStack.add(
    () => async (args) => {
      const input = args.input as ListObjectsV2CommandInput;
      const page = input.ContinuationToken === undefined ? 0 : Number(input.ContinuationToken);
      onPage();
      const output: Partial<ListObjectsV2CommandOutput> = {
        Contents: Array.from({ length: PAGE_SIZE }, (_, i) => {
          const n = page * PAGE_SIZE + i;
          return {
            Key: `${input.Prefix}${String(Math.floor(n / 10_000)).padStart(4, '0')}/granule-${n}.nc`,
            Size: 1000 + (n % 1000),
            ETag: `"${n.toString(16).padStart(32, '0')}"`,
          };
        }),
        IsTruncated: page + 1 < pages,
        NextContinuationToken: page + 1 < pages ? String(page + 1) : undefined,
        $metadata: {},
      };
      return { output, response: {} } as never;
    },
    { step: 'initialize', name: 'lazyListing' },
  );
  return client;
}

async function main(): Promise<void> {
  const pages = Math.ceil(KEYS / PAGE_SIZE);
  let peakHeap = 0;
  let peakRss = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  };
  const timer = setInterval(sample, 50);
  let manifestBytes = 0;
  const staging: StagingStore = {
    bucket: 'bench-staging',
    put: async (_key, body) => {
      if (typeof body === 'string' || Buffer.isBuffer(body)) return;
      await pipeline(
        body,
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            manifestBytes += chunk.length;
            done();
          },
        }),
      );
    },
    getText: async () => undefined,
    getStream: async () => {
      throw new Error('not used');
    },
    list: async () => [],
    delete: async () => undefined,
  };
  sample();
  const startRss = peakRss;
  const started = process.hrtime.bigint();
  const out = await planTransfer(
    {
      CredentialsEndpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
      BearerToken: 'edl-token-for-the-bench-0123456789',
      Source: { Bucket: 'src-bucket', Prefix: 'big/' },
      Dest: { Bucket: 'dst-bucket', Prefix: 'copy/' },
    },
    {
      sourceClient: () => lazyListingClient(pages, sample),
      staging,
      runId: 'bench',
      policy: ONE_MACHINE_POLICY,
      credentials: (request) =>
        new RefreshingCredentials(request, {
          fetcher: async () => ({
            accessKeyId: 'ASIA',
            secretAccessKey: 'secret-secret-secret',
            sessionToken: 'session-session-session',
            expiration: new Date(Date.now() + 3_600_000),
          }),
        }),
      logger: createLogger('plan-bench', { logLevel: 'WARN' }),
    },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(timer);
  sample();
  console.log(
    JSON.stringify({
      keys: out.Count,
      seconds: Number(seconds.toFixed(2)),
      keysPerSecond: Math.round(out.Count / seconds),
      manifestMiB: Number((manifestBytes / MiB).toFixed(1)),
      startRssMiB: Math.round(startRss / MiB),
      peakRssMiB: Math.round(peakRss / MiB),
      peakHeapMiB: Math.round(peakHeap / MiB),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
