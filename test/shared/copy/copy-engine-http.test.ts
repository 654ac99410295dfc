/**
 * The copy engine over real HTTP: the embedded S3 (SigV4, expiring session credentials, faults) and the
 * TEA credentials emulator, with the same client settings the copy Lambda uses.
 */
import { unitObjects } from '../../../shared/units';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { copyBatch } from '../../../functions/copy-batch/copy-batch';
import { sourceSideFor } from '../../../functions/copy-batch/source-side';
import type { BatchInput } from '../../../shared/contracts';
import { copyClientConfig } from '../../../shared/aws/s3-config';
import { copyObject, type CopyOptions, type CopyResult } from '../../../shared/copy';
import { RefreshingCredentials, clearRefreshingCredentialsCache } from '../../../shared/credentials';
import { stagedTokenKey } from '../../../shared/run-files';
import { ONE_MACHINE_POLICY } from '../../../shared/run-policy';
import { FolderStagingStore } from '../../../shared/staging';
import { EmbeddedS3 } from '../../../emulators/s3/server';
import { startTeaEmulator, type TeaEmulator } from '../../../emulators/tea/emulator';

const MiB = 1024 * 1024;
const TOKEN = 'integration-token-0123456789';
const PART = 5 * MiB;

let s3: EmbeddedS3;
let tea: TeaEmulator;
let admin: S3Client;
let destination: S3Client;

beforeAll(async () => {
  s3 = await EmbeddedS3.start({ sourceBuckets: ['src'], destinationBuckets: ['dst', 'denied'] });
  tea = await startTeaEmulator({ tokens: [TOKEN], issuer: s3, lifetimeSeconds: 3600 });
  admin = s3.client('admin');
  destination = s3.client('destination', copyClientConfig());
});

afterAll(async () => {
  await tea?.close();
  await s3?.stop();
});

beforeEach(() => {
  s3.resetFaults();
  s3.resetCounters();
  tea.lifetimeSeconds = 3600;
});

/** Source credentials from the emulator, and a client reading with them (the Lambda's settings). */
function sourceSide(options: ConstructorParameters<typeof RefreshingCredentials>[1] = {}): {
  credentials: RefreshingCredentials;
  client: S3Client;
} {
  const credentials = new RefreshingCredentials(
    { endpoint: tea.url, auth: { kind: 'bearer', token: TOKEN } },
    options,
  );
  return { credentials, client: s3.client(credentials.provider, copyClientConfig()) };
}

/** 1 MiB blocks of seeded pseudo-random bytes, each stamped with its index: never all in memory. */
function generated(size: number, seed: number): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let x = seed >>> 0 || 1;
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  function* blocks(): Generator<Buffer> {
    for (let offset = 0, n = 0; offset < size; offset += MiB, n++) {
      const chunk = Buffer.from(block.subarray(0, Math.min(MiB, size - offset)));
      if (chunk.length >= 8) chunk.writeDoubleLE(n, 0);
      hash.update(chunk);
      yield chunk;
    }
  }
  return { stream: Readable.from(blocks(), { objectMode: false }), sha256: () => hash.digest('hex') };
}

async function seed(key: string, size: number, seedValue = 1): Promise<string> {
  const { stream, sha256 } = generated(size, seedValue);
  await s3.seedObject('src', key, stream);
  return sha256();
}

async function sha256Of(bucket: string, key: string): Promise<string> {
  const out = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of out.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
      return false;
    throw error;
  }
}

function copy(
  side: { credentials: RefreshingCredentials; client: S3Client },
  key: string,
  options: CopyOptions = {},
  destKey = key,
  bucket = 'dst',
): Promise<CopyResult> {
  return copyObject({
    sourceClient: side.client,
    sourceCredentials: side.credentials,
    destinationClient: destination,
    source: { bucket: 'src', key },
    destination: { bucket, key: destKey },
    options: { partSize: PART, ...options },
  });
}

describe('copy engine over HTTP', () => {
  it('copies 256 MiB while the source credentials expire every 2 s, without restarting', async () => {
    const size = 256 * MiB;
    const sha = await seed('big/granule.bin', size, 256);
    tea.lifetimeSeconds = 2;
    // ~6 s of transfer: the GET body is throttled and cut twice, so resumes need fresh credentials.
    s3.faults.getBytesPerSecond = 48 * MiB;
    s3.faults.bandwidthScope = { credentials: 'issued' };
    s3.faults.cutGetBody = { afterBytes: 100 * MiB, times: 2, scope: { credentials: 'issued' } };
    const side = sourceSide();
    const started = Date.now();
    const result = await copy(side, 'big/granule.bin', { partSize: 16 * MiB });
    const elapsed = Date.now() - started;
    const served = s3.counters.bytesServed;

    expect(result).toMatchObject({
      status: 'COPIED',
      bytes: size,
      verified: { bytes: true, check: 'md5-etag' },
    });
    expect(await sha256Of('dst', 'big/granule.bin')).toBe(sha);
    expect(elapsed).toBeGreaterThan(4_000); // spanned at least two credential lifetimes
    expect(side.credentials.refreshes).toBeGreaterThanOrEqual(1);
    expect(result.stats.resumes).toBe(2);
    expect(s3.counters.faults.cutGetBody).toBe(2);
    expect(result.stats.bytesReceived).toBe(size);
    expect(served).toBeLessThanOrEqual(1.1 * size);
    expect(await s3.openMultipartUploads('dst')).toBe(0);
  });

  it('refreshes after an ExpiredToken on a resume (the client clock is behind: no proactive refresh)', async () => {
    const sha = await seed('expired/a.bin', 24 * MiB, 7);
    tea.lifetimeSeconds = 1;
    s3.faults.getBytesPerSecond = 12 * MiB;
    s3.faults.bandwidthScope = { credentials: 'issued' };
    s3.faults.cutGetBody = { afterBytes: 16 * MiB, times: 1, scope: { credentials: 'issued' } };
    const side = sourceSide({ now: () => Date.now() - 120_000 });
    const result = await copy(side, 'expired/a.bin');
    expect(await sha256Of('dst', 'expired/a.bin')).toBe(sha);
    expect(s3.counters.errors.ExpiredToken).toBeGreaterThanOrEqual(1);
    expect(result.stats.refreshes).toBeGreaterThanOrEqual(1);
    expect(result.stats.resumes).toBe(1);
  });

  it('resumes a GET body cut mid-object with a ranged GET', async () => {
    const sha = await seed('cut/a.bin', 20 * MiB, 3);
    s3.faults.cutGetBody = { afterBytes: 7 * MiB, times: 1, scope: { credentials: 'issued' } };
    const result = await copy(sourceSide(), 'cut/a.bin');
    const served = s3.counters.bytesServed;
    expect(await sha256Of('dst', 'cut/a.bin')).toBe(sha);
    expect(result.stats).toMatchObject({ resumes: 1, requests: 2 });
    expect(s3.counters.requestsByCredential.issued.GetObject).toBe(2);
    // The engine received every byte once; the server re-sent only what the reset dropped in flight
    // (loopback socket buffers hold a few MiB).
    expect(result.stats.bytesReceived).toBe(20 * MiB);
    expect(served).toBeLessThanOrEqual(20 * MiB + 8 * MiB);
  });

  it('survives 20% 503 SlowDown on every request', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `slow/${i}.bin`);
    const shas = await Promise.all(keys.map((k, i) => seed(k, i % 2 ? 6 * MiB : 300_000, 10 + i)));
    s3.faults.slowDownRate = 0.2;
    const side = sourceSide();
    const results = await Promise.all(keys.map((k) => copy(side, k)));
    expect(results.every((r) => r.status === 'COPIED')).toBe(true);
    expect(s3.counters.faults.slowDown).toBeGreaterThan(0);
    // The check reads with the admin client (3 SDK attempts): no SlowDown for it, or it would flake.
    s3.faults.slowDownRate = 0;
    for (const [i, k] of keys.entries()) expect(await sha256Of('dst', k)).toBe(shas[i]);
  });

  it('fails with SourceChanged when the source is replaced mid-copy, leaving nothing behind', async () => {
    await seed('moving/a.bin', 24 * MiB, 4);
    s3.faults.replaceSourceAfterBytes = {
      bucket: 'src',
      key: 'moving/a.bin',
      afterBytes: 8 * MiB,
      body: 'new content',
    };
    // The GET in flight keeps serving the old version (as S3 does); the resume after this cut sees the new one.
    s3.faults.cutGetBody = { afterBytes: 12 * MiB, times: 1, scope: { credentials: 'issued' } };
    await expect(copy(sourceSide(), 'moving/a.bin')).rejects.toMatchObject({ name: 'SourceChanged' });
    expect(s3.counters.errors.PreconditionFailed).toBe(1);
    expect(await exists('dst', 'moving/a.bin')).toBe(false);
    expect(await s3.openMultipartUploads('dst')).toBe(0);
  });

  it('fails with SourceNotFound for a missing key', async () => {
    await expect(copy(sourceSide(), 'no/such/key')).rejects.toMatchObject({
      name: 'SourceNotFound',
      message: expect.stringContaining('s3://src/no/such/key does not exist'),
    });
  });

  it('fails with DestinationAccessDenied on a denied bucket, leaving no partial object', async () => {
    await seed('denied/a.bin', 12 * MiB, 5);
    s3.denyDestination('denied');
    try {
      await expect(copy(sourceSide(), 'denied/a.bin', {}, 'denied/a.bin', 'denied')).rejects.toMatchObject({
        name: 'DestinationAccessDenied',
      });
    } finally {
      s3.allowDestination('denied');
    }
    expect(await exists('denied', 'denied/a.bin')).toBe(false);
    expect(await s3.openMultipartUploads('denied')).toBe(0);
  });

  it('sync: a second run skips every object; a changed source object is copied again, alone', async () => {
    const keys = ['sync/a', 'sync/b', 'sync/c', 'sync/d'];
    for (const [i, k] of keys.entries()) await seed(k, i === 0 ? 6 * MiB : 1000 + i, 20 + i);
    const side = sourceSide();
    const listAndCopy = async (): Promise<Record<string, string>> => {
      // As Plan does: the listing gives each object's size and ETag.
      const listing = await side.client.send(new ListObjectsV2Command({ Bucket: 'src', Prefix: 'sync/' }));
      const out: Record<string, string> = {};
      for (const o of listing.Contents ?? []) {
        const r = await copyObject({
          sourceClient: side.client,
          sourceCredentials: side.credentials,
          destinationClient: destination,
          source: { bucket: 'src', key: o.Key! },
          destination: { bucket: 'dst', key: o.Key! },
          expected: { size: o.Size, eTag: o.ETag },
          options: { partSize: PART, sync: true },
        });
        out[o.Key!] = r.status;
      }
      return out;
    };
    expect(Object.values(await listAndCopy())).toEqual(['COPIED', 'COPIED', 'COPIED', 'COPIED']);
    s3.resetCounters();
    expect(Object.values(await listAndCopy())).toEqual(['SKIPPED', 'SKIPPED', 'SKIPPED', 'SKIPPED']);
    expect(s3.counters.requests.GetObject ?? 0).toBe(0);
    await admin.send(new PutObjectCommand({ Bucket: 'src', Key: 'sync/c', Body: 'changed' }));
    expect(await listAndCopy()).toEqual({
      'sync/a': 'SKIPPED',
      'sync/b': 'SKIPPED',
      'sync/c': 'COPIED',
      'sync/d': 'SKIPPED',
    });
    expect(await sha256Of('dst', 'sync/c')).toBe(createHash('sha256').update('changed').digest('hex'));
  });

  it('round-trips odd keys and a 0-byte object exactly', async () => {
    const keys = [
      'unicode/ünïcødé-日本語-🚀.h5',
      'with space/a b.txt',
      'plus+sign+key',
      'percent%20literal%25%',
      'double//slash//key',
      'trailing/',
      'k'.repeat(1024),
      'é'.repeat(512),
    ];
    const shas = await Promise.all(keys.map((k, i) => seed(k, 1000 + i, 30 + i)));
    await s3.seedObject('src', 'zero/empty.bin', Buffer.alloc(0));
    const side = sourceSide();
    for (const k of keys) await copy(side, k);
    const zero = await copy(side, 'zero/empty.bin', { readAhead: 4 });
    expect(zero).toMatchObject({ status: 'COPIED', bytes: 0 });
    for (const [i, k] of keys.entries()) expect(await sha256Of('dst', k)).toBe(shas[i]);
    const head = await admin.send(new HeadObjectCommand({ Bucket: 'dst', Key: 'zero/empty.bin' }));
    expect(head.ContentLength).toBe(0);
    const listing = await admin.send(new ListObjectsV2Command({ Bucket: 'dst' }));
    for (const k of keys) expect(listing.Contents?.map((o) => o.Key)).toContain(k);
  });

  it('preserves content headers and user metadata, and records the source ETag and LastModified', async () => {
    const expires = new Date('2031-02-03T04:05:06Z');
    await admin.send(
      new PutObjectCommand({
        Bucket: 'src',
        Key: 'meta/a.nc',
        Body: Buffer.alloc(6 * MiB, 7),
        ContentType: 'application/x-netcdf',
        ContentEncoding: 'gzip',
        ContentDisposition: 'attachment; filename="a.nc"',
        ContentLanguage: 'en-US',
        CacheControl: 'max-age=3600',
        Expires: expires,
        Metadata: { mission: 'SWOT', 'processing-level': 'L2' },
      }),
    );
    const source = await admin.send(new HeadObjectCommand({ Bucket: 'src', Key: 'meta/a.nc' }));
    for (const options of [{}, { readAhead: 3 }]) {
      await copy(sourceSide(), 'meta/a.nc', options);
      const copied = await admin.send(new HeadObjectCommand({ Bucket: 'dst', Key: 'meta/a.nc' }));
      expect(copied).toMatchObject({
        ContentType: 'application/x-netcdf',
        ContentEncoding: 'gzip',
        ContentDisposition: 'attachment; filename="a.nc"',
        ContentLanguage: 'en-US',
        CacheControl: 'max-age=3600',
        ContentLength: 6 * MiB,
      });
      expect(copied.Expires?.toISOString()).toBe(expires.toISOString());
      expect(copied.Metadata).toEqual({
        mission: 'SWOT',
        'processing-level': 'L2',
        'source-etag': source.ETag!.replace(/"/g, ''),
        'source-last-modified': source.LastModified!.toISOString(),
      });
    }
  });

  it('read-ahead: parallel ranged GETs, byte-identical, each range resumable', async () => {
    const sha = await seed('ra/a.bin', 40 * MiB, 8);
    s3.faults.cutGetBody = { afterBytes: 3 * MiB, times: 2, scope: { credentials: 'issued' } };
    const result = await copy(sourceSide(), 'ra/a.bin', { readAhead: 4, rangeSize: 8 * MiB });
    const served = s3.counters.bytesServed;
    expect(await sha256Of('dst', 'ra/a.bin')).toBe(sha);
    expect(result.stats.resumes).toBe(2);
    expect(result.stats.bytesReceived).toBe(40 * MiB);
    expect(served).toBeLessThanOrEqual(40 * MiB + 2 * 8 * MiB);
  });
});

describe('copy Lambda core over HTTP', () => {
  afterEach(() => clearRefreshingCredentialsCache());

  // The run's token, staged as Plan stages it.
  let tokens: FolderStagingStore;
  beforeAll(async () => {
    tokens = new FolderStagingStore(await mkdtemp(join(tmpdir(), 'copy-http-')), 'staging');
    await tokens.put(stagedTokenKey('it-run'), TOKEN);
    await tokens.put(stagedTokenKey('bad-token-run'), 'not-a-known-token');
  });
  afterAll(async () => rm(tokens.root, { recursive: true, force: true }));
  const staged = (runId: string): BatchInput['Token'] => ({
    Kind: 'staged',
    Bucket: 'staging',
    Key: stagedTokenKey(runId),
    TokenKind: 'bearer',
  });
  const policy = { endpoints: ONE_MACHINE_POLICY.endpoints, tokens: { stagingBucket: 'staging' } };

  const batchInput = (): BatchInput => ({
    CredentialsEndpoint: tea.url,
    Token: staged('it-run'),
    SourceBucket: 'src',
    DestBucket: 'dst',
    Sync: false,
    RunId: 'it-run',
  });

  it('returns DEFERRED items near the deadline instead of dying, and a later round finishes them', async () => {
    const keys = Array.from({ length: 4 }, (_, i) => `deadline/${i}.bin`);
    const shas = await Promise.all(keys.map((k, i) => seed(k, 8 * MiB, 40 + i)));
    s3.faults.getBytesPerSecond = 16 * MiB;
    s3.faults.bandwidthScope = { credentials: 'issued' };
    const s3Config = { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true };
    const deps = (deadline: number): Parameters<typeof copyBatch>[1] => ({
      ...policy,
      source: (batch) => sourceSideFor(batch, { s3Config, staging: () => tokens }),
      destination,
      remainingTimeMs: () => deadline - Date.now(),
      concurrency: 1,
      copyOptions: { partSize: PART },
    });
    const items = keys.map((k) => ({ Key: k, DestKey: `out/${k}`, Size: 8 * MiB }));

    // A 4 s "invocation": an object takes ~0.5 s at 16 MiB/s; the margin is 1 s (4 s / 4), and after
    // the first object each start needs the margin plus 1.5 x its estimated time plus 1 s.
    const first = await copyBatch({ Items: items, BatchInput: batchInput() }, deps(Date.now() + 4_000));
    const deferred = unitObjects(first.Next ?? { Pack: [] });
    expect(deferred.length).toBeGreaterThan(0);
    expect(first.Results.length).toBeGreaterThan(0);
    expect(first.Results.every((r) => r.Status === 'COPIED')).toBe(true);
    expect(first.Results.length + deferred.length).toBe(4);
    expect(await s3.openMultipartUploads('dst')).toBe(0);

    const second = await copyBatch(
      { Unit: first.Next, BatchInput: batchInput(), Results: first.Results },
      deps(Date.now() + 900_000),
    );
    expect(second.Next).toBeUndefined();
    expect(second.Results.map((r) => r.Key).sort()).toEqual([...keys].sort());
    for (const [i, k] of keys.entries()) expect(await sha256Of('dst', `out/${k}`)).toBe(shas[i]);
  });

  it('throws AuthenticationFailed for a rejected token before copying anything', async () => {
    await seed('auth/a.bin', 1000, 50);
    const batch = { ...batchInput(), Token: staged('bad-token-run'), RunId: 'bad-token-run' };
    await expect(
      copyBatch(
        { Items: [{ Key: 'auth/a.bin', DestKey: 'auth/a.bin', Size: 1000 }], BatchInput: batch },
        {
          ...policy,
          source: (b) =>
            sourceSideFor(b, {
              s3Config: { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true },
              staging: () => tokens,
            }),
          destination,
          remainingTimeMs: () => 900_000,
        },
      ),
    ).rejects.toMatchObject({ name: 'AuthenticationFailed' });
    expect(s3.counters.requests.GetObject ?? 0).toBe(0);
  });
});
