/**
 * The building blocks of a Sync mirror rerun, end to end over real HTTP on the embedded S3: both listings,
 * the merge, the copies of what differs (each still checked by the copy's own HEAD), the deletions file,
 * MaxDeletes, and DeleteObjects. Plan and CopyBatch will call the same functions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { EmbeddedS3 } from '../../../emulators/s3/server';
import { listDestination, mappedPrefix, prefixMapping } from '../../../functions/plan/destination-listing';
import { syncMerge, type SourceEntry } from '../../../functions/plan/sync-merge';
import { copyObject, SOURCE_ETAG_METADATA } from '../../../shared/copy/copy-object';
import { parseEvent, type PrefixSource } from '../../../shared/event';
import { deleteObjects } from '../../../shared/mirror/delete-objects';
import { checkMaxDeletes, DeletesWriter, readDeletes } from '../../../shared/mirror/deletes-file';
import { deletesKey } from '../../../shared/run-files';
import { FolderStagingStore } from '../../../shared/staging';

const SOURCE = 'src-archive';
const DEST = 'my-mirror';
const N = 1000;
let s3: EmbeddedS3;
let admin: S3Client;
let writer: S3Client;
let dir: string;

const event = parseEvent({
  CredentialsEndpoint: 'https://archive.podaac.earthdata.nasa.gov/s3credentials',
  BearerTokenParameter: '/s3-direct-transfer/edl-token',
  Source: { Bucket: SOURCE, Prefix: 'MUR/v4.1/' },
  Dest: { Bucket: DEST, Prefix: 'mirror/mur/' },
  Options: { Sync: true, Delete: true, MaxDeletes: 5 },
});
const source = event.Source as PrefixSource;
const map = prefixMapping(source, event.Dest);
const key = (i: number): string => `MUR/v4.1/${String(Math.floor(i / 100)).padStart(2, '0')}/g-${i}.nc`;
const body = (i: number, version = 1): string => `granule ${i} version ${version} `.repeat(1 + (i % 7));

async function inParallel<T>(items: T[], task: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += 100) await Promise.all(items.slice(i, i + 100).map(task));
}

/** The source listing as Plan has it: size, LastModified and ETag per object. */
async function* sourcePages(): AsyncGenerator<SourceEntry[]> {
  let token: string | undefined;
  do {
    const page = await admin.send(
      new ListObjectsV2Command({ Bucket: SOURCE, Prefix: source.Prefix, ContinuationToken: token }),
    );
    yield (page.Contents ?? []).map((o) => ({
      key: o.Key as string,
      size: o.Size as number,
      lastModified: o.LastModified,
      eTag: o.ETag,
    }));
    token = page.NextContinuationToken;
  } while (token);
}

async function listing(bucket: string, prefix: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await admin.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) found.set((o.Key as string).slice(prefix.length), o.Size as number);
    token = page.NextContinuationToken;
  } while (token);
  return found;
}

const destHeads = (): number => s3.counters.requestsByCredential.destination.HeadObject ?? 0;

/** Plans the rerun: the decisions counted, the copies listed, the deletions staged and checked. */
async function plan(runId: string, maxDeletes: number) {
  const staging = new FolderStagingStore(dir, 'staging-bucket');
  const deletions = new DeletesWriter(staging, deletesKey(runId));
  const counts = { copy: 0, skip: 0, delete: 0 };
  const copies: SourceEntry[] = [];
  const merge = syncMerge(sourcePages(), listDestination({ client: writer, source, dest: event.Dest }), {
    destKey: (s) => map(s.key),
    deletions: true,
  });
  for await (const decision of merge) {
    counts[decision.kind]++;
    if (decision.kind === 'copy') copies.push(decision.source);
    if (decision.kind === 'delete') await deletions.add(decision.destKey, decision.size);
  }
  const { count } = await deletions.close();
  checkMaxDeletes(count, maxDeletes, `s3://${DEST}/${mappedPrefix(source, event.Dest)}`, deletesKey(runId));
  return { staging, counts, copies };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sync-rerun-'));
  s3 = await EmbeddedS3.start({ sourceBuckets: [SOURCE], destinationBuckets: [DEST] });
  admin = s3.client('admin');
  writer = s3.client('destination');
  const all = Array.from({ length: N }, (_, i) => i);
  const etags = new Map<number, string>();
  await inParallel(all, async (i) => etags.set(i, (await s3.seedObject(SOURCE, key(i), body(i))).etag));
  // The mirror as the previous run left it: every object copied, its source ETag recorded.
  await inParallel(all, (i) =>
    s3.seedObject(DEST, map(key(i)) as string, body(i), {
      [`x-amz-meta-${SOURCE_ETAG_METADATA}`]: etags.get(i) as string,
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  // At the source since: 10 changed (5 to the same size), 5 added, 5 deleted.
  await inParallel([10, 20, 30, 40, 50], (i) => s3.seedObject(SOURCE, key(i), body(i).replace('1', '2')));
  await inParallel([60, 70, 80, 90, 99], (i) => s3.seedObject(SOURCE, key(i), `${body(i, 2)}longer`));
  await inParallel([1000, 1001, 1002, 1003, 1004], (i) => s3.seedObject(SOURCE, key(i), body(i)));
  await admin.send(
    new DeleteObjectsCommand({
      Bucket: SOURCE,
      Delete: { Objects: [5, 15, 25, 35, 45].map((i) => ({ Key: key(i) })) },
    }),
  );
}, 120_000);

afterAll(async () => {
  await s3.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a Sync mirror rerun from both listings', () => {
  it('refuses to delete more than MaxDeletes, before deleting anything', async () => {
    await expect(plan('run-capped', 4)).rejects.toMatchObject({ name: 'TooManyDeletes' });
    expect((await listing(DEST, 'mirror/mur/')).size).toBe(N);
  });

  it('copies 15, skips 985 without a request, deletes 5, and leaves destination == source', async () => {
    s3.resetCounters();
    const { staging, counts, copies } = await plan('run-1', event.Options.MaxDeletes);
    expect(counts).toEqual({ copy: 15, skip: N - 15, delete: 5 });
    expect(destHeads()).toBe(0);

    let copied = 0;
    for (const item of copies) {
      const result = await copyObject({
        sourceClient: admin,
        destinationClient: writer,
        source: { bucket: SOURCE, key: item.key },
        destination: { bucket: DEST, key: map(item.key) as string },
        expected: { size: item.size, eTag: item.eTag },
        options: { sync: true },
      });
      if (result.status === 'COPIED') copied++;
    }
    expect(copied).toBe(15);
    expect(destHeads()).toBe(15); // the copy's own Sync check, one HEAD per copied object, no more

    const deleted = await deleteObjects({
      client: writer,
      bucket: DEST,
      keys: (async function* () {
        for await (const planned of readDeletes(staging, deletesKey('run-1'))) yield planned.DestKey;
      })(),
      within: mappedPrefix(source, event.Dest),
    });
    expect(deleted).toEqual({ deleted: 5, failed: 0, errors: [] });

    const [sourceSide, destSide] = await Promise.all([
      listing(SOURCE, 'MUR/v4.1/'),
      listing(DEST, 'mirror/mur/'),
    ]);
    expect(destSide).toEqual(sourceSide);
    const changed = map(key(10)) as string;
    const got = await admin.send(new GetObjectCommand({ Bucket: DEST, Key: changed }));
    expect(await got.Body?.transformToString()).toBe(body(10).replace('1', '2'));
  });

  it('then has nothing to do: every object skipped from the listings, no HEAD, no deletion', async () => {
    s3.resetCounters();
    const { counts } = await plan('run-2', 0);
    expect(counts).toEqual({ copy: 0, skip: N, delete: 0 });
    expect(destHeads()).toBe(0);
  });
});
