/**
 * A daily mirror's rerun costs what changed: on the embedded world, a 10,000-object mirror is rerun after
 * 10 objects changed (5 to another size, 5 to the same size), 5 were added and 5 deleted at the source.
 * The whole pipeline runs (the synthesized definition on the local host): Plan merges both listings, only
 * the 15 changed or new objects enter the manifest, the destination sees at most 30 HEADs, the report
 * lists the skipped objects, and with Delete the 5 objects the source no longer has are deleted (never
 * more than MaxDeletes: a run that would delete more stops before deleting anything).
 */
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { EmbeddedS3 } from '../../emulators/s3/server';
import type { WorkUnit } from '../../shared/contracts';
import { SOURCE_ETAG_METADATA } from '../../shared/copy/copy-object';
import { unitObjects } from '../../shared/units';
import { runPipelineLocally, type LocalRunOptions } from '../../local/pipeline';
import { describeOn, startE2EWorld, type E2EWorld } from './world';

const N = 10_000;
const SOURCE_PREFIX = 'granules/';
const DEST_PREFIX = 'mirror/';
const CHANGED_SIZE = [10, 1010, 2020, 3030, 4040];
const CHANGED_SAME_SIZE = [5050, 6060, 7070, 8080, 9090];
const ADDED = [N, N + 1, N + 2, N + 3, N + 4];
const REMOVED = [7, 1007, 2007, 3007, 4007];

jest.setTimeout(120_000);

let world: E2EWorld;
let s3: EmbeddedS3;
let admin: S3Client;
let SOURCE: string;
let DEST: string;

const key = (i: number): string => `${SOURCE_PREFIX}${String(i % 100).padStart(2, '0')}/g-${i}.nc`;
const destKey = (k: string): string => DEST_PREFIX + k.slice(SOURCE_PREFIX.length);
const body = (i: number, version = 1): string => `granule ${i} v${version}`;

/** `task` on every item, `width` at a time. */
async function inParallel<T>(items: T[], width: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
}

/** Relative key -> [size, ETag] of every object under `prefix`. */
async function listing(bucket: string, prefix: string): Promise<Map<string, [number, string]>> {
  const found = new Map<string, [number, string]>();
  let token: string | undefined;
  do {
    const page = await admin.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      found.set(o.Key!.slice(prefix.length), [o.Size!, o.ETag!]);
    }
    token = page.NextContinuationToken;
  } while (token);
  return found;
}

function mirrorEvent(options: Record<string, unknown>): Record<string, unknown> {
  return {
    CredentialsEndpoint: world.credentialsEndpoint,
    BearerToken: world.token,
    Source: { Bucket: SOURCE, Prefix: SOURCE_PREFIX },
    Dest: { Bucket: DEST, Prefix: DEST_PREFIX },
    Options: { Sync: true, ...options },
  };
}

const localOptions = (): LocalRunOptions => ({
  s3Config: world.s3Config(),
  destinationCredentials: world.destinationCredentials,
  maxConcurrency: 8,
});

const destRequests = (op: string): number => s3.counters.requestsByCredential.destination[op] ?? 0;

describeOn(['embedded'], "the emulator's request counters")('a 10,000-object mirror rerun', () => {
  beforeAll(async () => {
    world = await startE2EWorld({ sourceBuckets: ['mirror-source'], destinationBuckets: ['mirror-dest'] });
    s3 = world.emulator!;
    SOURCE = world.bucket('mirror-source');
    DEST = world.bucket('mirror-dest');
    admin = world.adminClient();
    const all = Array.from({ length: N }, (_, i) => i);
    // The mirror as the previous run left it: every object copied, its source ETag recorded.
    await inParallel(all, 32, async (i) => {
      const { etag } = await s3.seedObject(SOURCE, key(i), body(i));
      await s3.seedObject(DEST, destKey(key(i)), body(i), { [`x-amz-meta-${SOURCE_ETAG_METADATA}`]: etag });
    });
    // LastModified may be kept to the second: the changes come strictly later than the copies.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await inParallel(CHANGED_SIZE, 5, (i) => s3.seedObject(SOURCE, key(i), `${body(i, 2)} longer`));
    await inParallel(CHANGED_SAME_SIZE, 5, (i) => s3.seedObject(SOURCE, key(i), body(i, 3)));
    await inParallel(ADDED, 5, (i) => s3.seedObject(SOURCE, key(i), body(i)));
    await admin.send(
      new DeleteObjectsCommand({
        Bucket: SOURCE,
        Delete: { Objects: REMOVED.map((i) => ({ Key: key(i) })) },
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
  });

  it('stops with TooManyDeletes before deleting or copying anything when MaxDeletes is exceeded', async () => {
    s3.resetCounters();
    const outcome = await runPipelineLocally(mirrorEvent({ Delete: true, MaxDeletes: 4 }), localOptions());
    expect(outcome.execution).toMatchObject({ Status: 'FAILED', Error: 'TooManyDeletes' });
    expect((outcome.execution as { Cause?: string }).Cause).toMatch(
      /would delete 5 objects under s3:\/\/mirror-dest\/mirror\/.*\(4\)/,
    );
    expect(destRequests('DeleteObjects') + destRequests('DeleteObject')).toBe(0);
    expect(destRequests('PutObject') + destRequests('CreateMultipartUpload')).toBe(0);
    const dest = await listing(DEST, DEST_PREFIX);
    expect(dest.size).toBe(N);
    for (const i of REMOVED) expect(dest.has(destKey(key(i)).slice(DEST_PREFIX.length))).toBe(true);
  });

  it('copies the 15 changed or new objects, skips 9,985 from the listings, deletes 5: destination == source', async () => {
    s3.resetCounters();
    const outcome = await runPipelineLocally(mirrorEvent({ Delete: true }), localOptions());
    expect(outcome.execution).toMatchObject({ Status: 'SUCCEEDED' });
    expect(outcome.result).toMatchObject({
      Copied: 15,
      Skipped: N - 15,
      Failed: 0,
      Deleted: 5,
      Failures: [],
    });
    expect(outcome.result).not.toHaveProperty('NotDeleted');

    // The manifest holds the 15 objects and nothing else.
    const text = (await outcome.staging.getText(`runs/${outcome.runId}/manifest.jsonl`)) ?? '';
    const units = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as WorkUnit);
    const planned = units.flatMap(unitObjects).map((item) => item.Key);
    expect(planned.sort()).toEqual([...CHANGED_SIZE, ...CHANGED_SAME_SIZE, ...ADDED].map(key).sort());
    expect(units.length).toBeLessThanOrEqual(15);

    // The copies' own Sync check: one HEAD per copied object at most, none for the skipped ones.
    expect(destRequests('HeadObject')).toBeLessThanOrEqual(30);
    expect(destRequests('ListObjectsV2')).toBeGreaterThan(0);
    expect(destRequests('DeleteObjects')).toBe(1);

    const [source, dest] = await Promise.all([listing(SOURCE, SOURCE_PREFIX), listing(DEST, DEST_PREFIX)]);
    expect(dest.size).toBe(N);
    expect(dest).toEqual(source);

    // The report names every skipped object (from the listings) and every deletion.
    const report = JSON.parse(
      (await outcome.staging.getText(`runs/${outcome.runId}/report.json`)) ?? '{}',
    ) as {
      Items: { Status: string; Check?: string; DestKey: string }[];
      Counts: Record<string, number>;
    };
    const byStatus = (status: string) => report.Items.filter((item) => item.Status === status);
    expect(byStatus('SKIPPED')).toHaveLength(N - 15);
    expect(byStatus('SKIPPED').every((item) => item.Check === 'destination-listing')).toBe(true);
    expect(
      byStatus('DELETED')
        .map((item) => item.DestKey)
        .sort(),
    ).toEqual(REMOVED.map((i) => destKey(key(i))).sort());
    expect(report.Counts).toMatchObject({
      Planned: N,
      Copied: 15,
      Skipped: N - 15,
      Deleted: 5,
      NotDeleted: 0,
    });
  });

  it('a rerun with nothing changed copies nothing, HEADs nothing and deletes nothing', async () => {
    s3.resetCounters();
    const outcome = await runPipelineLocally(mirrorEvent({ Delete: true, MaxDeletes: 0 }), localOptions());
    expect(outcome.result).toMatchObject({ Copied: 0, Skipped: N, Failed: 0, Deleted: 0 });
    expect(destRequests('HeadObject')).toBe(0);
    expect(destRequests('DeleteObjects')).toBe(0);
  });
});
