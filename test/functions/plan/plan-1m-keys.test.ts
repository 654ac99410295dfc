import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pipeline } from 'node:stream/promises';
import {
  S3Client,
  type ListObjectsV2CommandInput,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { RefreshingCredentials } from '../../../shared/credentials';
import { createLogger } from '../../../shared/log';
import type { ManifestItem, WorkUnit } from '../../../shared/contracts';
import type { StagingStore } from '../../../shared/staging';
import { planTransfer } from '../../../functions/plan/plan';
import { ONE_MACHINE_POLICY } from '../../../shared/run-policy';

const PAGES = 1000;
const PAGE_SIZE = 1000;
const MiB = 1024 * 1024;
/** One key in 100,000 is a 5 GiB object: copied as part ranges, listed in giants.jsonl. */
const GIANT_SIZE = 5 * 1024 * MiB;
const isGiant = (n: number): boolean => n % 100_000 === 7;
const GIANTS = 10;

/** A full garbage collection, so that heap samples measure what is retained, not garbage not yet collected. */
function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * An S3 client answering ListObjectsV2 with `pages` pages of 1000 keys, each page generated when asked
 * for. A middleware at the front of the stack answers, so the client keeps no history (aws-sdk-client-mock
 * would record every response and hold all the pages in memory).
 */
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
            Size: isGiant(n) ? GIANT_SIZE : 1000 + (n % 1000),
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

/**
 * A staging store that reads the manifest as a slow-ish network upload would, counting lines, bytes and
 * the objects of each kind of unit; and counts the lines of the giants list.
 */
function countingStore(onChunk: () => void) {
  const seen = {
    lines: 0,
    bytes: 0,
    firstLine: '',
    lastLine: '',
    packed: 0,
    objects: 0,
    ranges: 0,
    giantLines: 0,
  };
  const count = (line: string): void => {
    const unit = JSON.parse(line) as WorkUnit;
    if ('Pack' in unit) seen.packed += unit.Pack.length;
    else if ('Range' in unit) seen.ranges++;
    else seen.objects++;
  };
  let tail = '';
  let chunks = 0;
  const store: StagingStore = {
    bucket: 'staging',
    put: async (key, body) => {
      if (key.endsWith('giants.jsonl')) {
        seen.giantLines = String(await readAll(body))
          .split('\n')
          .filter(Boolean).length;
        return;
      }
      if (!key.endsWith('manifest.jsonl')) return; // the staged token
      if (typeof body === 'string' || Buffer.isBuffer(body)) throw new Error('expected a stream');
      await pipeline(
        body,
        new Writable({
          highWaterMark: 64 * 1024,
          write(chunk: Buffer, _encoding, done) {
            onChunk();
            const text = tail + chunk.toString('utf8');
            const lines = text.split('\n');
            tail = lines.pop() ?? '';
            if (seen.lines === 0 && lines.length > 0) seen.firstLine = lines[0];
            if (lines.length > 0) seen.lastLine = lines[lines.length - 1];
            seen.lines += lines.length;
            lines.forEach(count);
            seen.bytes += chunk.length;
            // A network upload is slower than the listing's CPU work: make the listing wait for it.
            if (++chunks % 16 === 0) setTimeout(done, 1);
            else setImmediate(done);
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
  return { store, seen, tail: () => tail };
}

async function readAll(body: string | Buffer | NodeJS.ReadableStream): Promise<string> {
  if (typeof body === 'string' || Buffer.isBuffer(body)) return String(body);
  let text = '';
  for await (const chunk of body) text += String(chunk);
  return text;
}

describe('planTransfer: a 1,000,000-key listing', () => {
  it('streams the manifest of units (packs and ranges) with bounded memory', async () => {
    const gc = collectGarbage();
    gc();
    // Buffers (the stream's queued chunks) live outside the V8 heap: count them too.
    const used = (): number => {
      const m = process.memoryUsage();
      return m.heapUsed + m.external;
    };
    const baseline = used();
    let peakRetained = baseline;
    let peakHeap = baseline;
    let peakRss = process.memoryUsage().rss;
    const sample = (): void => {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed + m.external);
      peakRss = Math.max(peakRss, m.rss);
    };
    let listCalls = 0;
    let chunks = 0;
    const counting = countingStore(() => {
      if (++chunks % 64 === 0) sample();
    });
    const started = Date.now();
    const out = await planTransfer(
      {
        CredentialsEndpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
        BearerToken: 'edl-token-for-the-million-key-test',
        Source: { Bucket: 'src-bucket', Prefix: 'big/' },
        Dest: { Bucket: 'dst-bucket', Prefix: 'copy/' },
      },
      {
        sourceClient: () =>
          lazyListingClient(PAGES, () => {
            listCalls++;
            if (listCalls % 100 === 0) {
              gc();
              peakRetained = Math.max(peakRetained, used());
            }
            sample();
          }),
        staging: counting.store,
        runId: 'million',
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
        logger: createLogger('plan-1m', { logLevel: 'SILENT' }),
      },
    );
    const seconds = (Date.now() - started) / 1000;
    sample();

    expect(listCalls).toBe(PAGES);
    expect(out.Count).toBe(PAGES * PAGE_SIZE);
    expect(counting.tail()).toBe('');
    // Every object once: in a pack, or (the giants) as ranges listed in giants.jsonl.
    expect(counting.seen.packed + counting.seen.objects + GIANTS).toBe(PAGES * PAGE_SIZE);
    expect(out.Units).toMatchObject({
      Giants: GIANTS,
      GiantBytes: GIANTS * GIANT_SIZE,
      Ranges: counting.seen.ranges,
      PackedObjects: counting.seen.packed,
      Objects: counting.seen.objects,
      Lines: counting.seen.lines,
    });
    // 5 GiB in 8 MiB parts, 128 parts (1 GiB) per range.
    expect(counting.seen.ranges).toBe(GIANTS * 5);
    expect(counting.seen.giantLines).toBe(GIANTS);
    // 999,990 small objects in packs of 500.
    expect(out.Units.Packs).toBe(Math.ceil((PAGES * PAGE_SIZE - GIANTS) / 500));
    expect(counting.seen.lines).toBe(out.Units.Packs + out.Units.Ranges + out.Units.Objects);
    const first = JSON.parse(counting.seen.firstLine) as WorkUnit;
    expect('Range' in first || 'Pack' in first).toBe(true);
    const lastUnit = JSON.parse(counting.seen.lastLine) as { Pack: ManifestItem[] };
    expect(lastUnit.Pack.at(-1)).toMatchObject({ Key: 'big/0099/granule-999999.nc' });
    // Sizes are 1000 + n % 1000 (each 1000-key page sums to 1000*1000 + 499500), but for the giants.
    const giantsInstead = Array.from({ length: GIANTS }, (_, i) => i * 100_000 + 7).reduce(
      (sum, n) => sum + GIANT_SIZE - (1000 + (n % 1000)),
      0,
    );
    expect(out.Bytes).toBe(PAGES * (1000 * 1000 + 499_500) + giantsInstead);

    const growthMiB = (peakHeap - baseline) / MiB;
    const retainedMiB = (peakRetained - baseline) / MiB;
    console.log(
      `1M-key plan: ${seconds.toFixed(1)} s, ${counting.seen.lines} units, manifest ${(counting.seen.bytes / MiB).toFixed(0)} MiB, ` +
        `heap growth ${growthMiB.toFixed(0)} MiB (retained after GC ${retainedMiB.toFixed(0)} MiB), ` +
        `peak RSS ${(peakRss / MiB).toFixed(0)} MiB`,
    );
    // Holding the listing would retain 250+ MiB (1M items) and peak at 500+ MiB (their JSON too).
    expect(retainedMiB).toBeLessThan(64);
    expect(growthMiB).toBeLessThan(200);
  }, 120_000);
});
