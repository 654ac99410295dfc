/**
 * Embedded S3 gateway: fault injection (SlowDown, cut bodies, latency, bandwidth, source replaced
 * mid-copy) and counters. Real HTTP, real SDK clients.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { EmbeddedS3 } from '../../../emulators/s3/server';
import { expectS3Error, patternBuffer, sha256 } from '../../helpers/embedded-s3';

const SRC = 'fault-source';
const DST = 'fault-dest';
const KiB = 1024;
const MiB = 1024 * KiB;

let s3: EmbeddedS3;
let admin: S3Client;

beforeAll(async () => {
  s3 = await EmbeddedS3.start({ sourceBuckets: [SRC], destinationBuckets: [DST] });
  admin = s3.client('admin');
  await s3.seedObject(SRC, 'one-mib.bin', patternBuffer(MiB, 1));
  await s3.seedObject(SRC, 'other.bin', 'other');
});

afterAll(async () => {
  await s3.stop();
});

beforeEach(() => {
  s3.resetFaults();
  s3.resetCounters();
});

/** Reads a GetObject body, returning the bytes read and the error that ended it, if any. */
async function drain(body: Readable): Promise<{ bytes: number; error?: Error; data: Buffer }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const c of body as AsyncIterable<Buffer>) {
      chunks.push(c);
      bytes += c.length;
    }
    return { bytes, data: Buffer.concat(chunks) };
  } catch (error) {
    return { bytes, error: error as Error, data: Buffer.concat(chunks) };
  }
}

describe('SlowDown', () => {
  it('answers 503 SlowDown XML to every matching request at rate 1; the SDK gives up after maxAttempts', async () => {
    s3.faults.slowDownRate = 1;
    s3.faults.slowDownScope = { bucket: SRC, key: 'one-mib.bin' };
    const err = await expectS3Error(
      admin.send(new GetObjectCommand({ Bucket: SRC, Key: 'one-mib.bin' })),
      'SlowDown',
      503,
    );
    expect(err.message).toBe('Please reduce your request rate.');
    expect(s3.counters.requests.GetObject).toBe(3);
    expect(s3.counters.faults.slowDown).toBe(3);
    expect(s3.counters.errors.SlowDown).toBe(3);
    // out of scope: unaffected
    const other = await admin.send(new GetObjectCommand({ Bucket: SRC, Key: 'other.bin' }));
    expect(await other.Body?.transformToString()).toBe('other');
  });

  it('at a partial rate, requests succeed through SDK retries', async () => {
    s3.faults.slowDownRate = 0.3;
    const client = s3.client('admin', { maxAttempts: 20 });
    for (let i = 0; i < 20; i++) {
      const out = await client.send(new HeadObjectCommand({ Bucket: SRC, Key: 'other.bin' }));
      expect(out.ContentLength).toBe(5);
    }
    expect(s3.counters.faults.slowDown).toBeGreaterThan(0);
    expect(s3.counters.requests.HeadObject).toBe(20 + s3.counters.faults.slowDown);
    client.destroy();
  });

  it('can be deterministic: every Nth matching request', async () => {
    s3.faults.slowDownEvery = 3;
    s3.faults.slowDownScope = { operations: ['HeadObject'] };
    for (let i = 0; i < 6; i++) await admin.send(new HeadObjectCommand({ Bucket: SRC, Key: 'other.bin' }));
    // 6 successes need 8 requests: the 3rd and 6th were answered SlowDown and retried
    expect(s3.counters.requests.HeadObject).toBe(8);
    expect(s3.counters.faults.slowDown).toBe(2);
  });

  it('can target issued credentials only', async () => {
    s3.faults.slowDownRate = 1;
    s3.faults.slowDownScope = { credentials: 'issued' };
    const reader = s3.client(s3.issue(60, 'reader'), { maxAttempts: 1 });
    await expectS3Error(reader.send(new ListObjectsV2Command({ Bucket: SRC })), 'SlowDown', 503);
    await admin.send(new ListObjectsV2Command({ Bucket: SRC }));
    expect(s3.counters.requestsByCredential.issued.ListObjectsV2).toBe(1);
    expect(s3.counters.requestsByCredential.admin.ListObjectsV2).toBe(1);
    reader.destroy();
  });
});

describe('cut GET bodies', () => {
  it('resets the connection after afterBytes, `times` times, then serves whole bodies', async () => {
    s3.faults.cutGetBody = { afterBytes: 100 * KiB, times: 1, scope: { key: 'one-mib.bin' } };
    const first = await admin.send(new GetObjectCommand({ Bucket: SRC, Key: 'one-mib.bin' }));
    expect(first.ContentLength).toBe(MiB); // headers promised the whole object
    const cut = await drain(first.Body as Readable);
    expect(cut.error).toBeDefined();
    expect(cut.bytes).toBeLessThanOrEqual(100 * KiB);
    expect(s3.counters.faults.cutGetBody).toBe(1);
    expect(s3.faults.cutGetBody?.times).toBe(0);

    const second = await admin.send(new GetObjectCommand({ Bucket: SRC, Key: 'one-mib.bin' }));
    const whole = await drain(second.Body as Readable);
    expect(whole.error).toBeUndefined();
    expect(sha256(whole.data)).toBe(sha256(patternBuffer(MiB, 1)));
    expect(s3.counters.bytesServed).toBe(100 * KiB + MiB);
  });

  it('does not cut bodies shorter than afterBytes, nor out-of-scope keys', async () => {
    s3.faults.cutGetBody = { afterBytes: 10, times: 5, scope: { key: 'one-mib.bin' } };
    const small = await admin.send(new GetObjectCommand({ Bucket: SRC, Key: 'other.bin' }));
    expect(await small.Body?.transformToString()).toBe('other');
    const ranged = await admin.send(
      new GetObjectCommand({ Bucket: SRC, Key: 'one-mib.bin', Range: 'bytes=0-9' }),
    );
    expect((await ranged.Body!.transformToByteArray()).length).toBe(10);
    expect(s3.faults.cutGetBody?.times).toBe(5);
  });
});

describe('latency and bandwidth', () => {
  it('adds latency to matching requests', async () => {
    s3.faults.latencyMs = 300;
    s3.faults.latencyScope = { operations: ['HeadObject'] };
    const t0 = Date.now();
    await admin.send(new HeadObjectCommand({ Bucket: SRC, Key: 'other.bin' }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    await admin.send(new ListObjectsV2Command({ Bucket: SRC }));
    expect(s3.counters.faults.delayed).toBe(1);
  });

  it('throttles GET bodies; a GET that started before its credentials expired still completes', async () => {
    const creds = s3.issue(1, 'slow-reader');
    const reader = s3.client(creds);
    s3.faults.getBytesPerSecond = 400 * KiB;
    s3.faults.bandwidthScope = { credentials: 'issued' };
    const t0 = Date.now();
    const out = await reader.send(
      new GetObjectCommand({ Bucket: SRC, Key: 'one-mib.bin', Range: `bytes=0-${800 * KiB - 1}` }),
    );
    const body = await drain(out.Body as Readable);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1800);
    expect(Date.now()).toBeGreaterThan(creds.expiration.getTime());
    expect(body.error).toBeUndefined();
    expect(body.data.equals(patternBuffer(MiB, 1).subarray(0, 800 * KiB))).toBe(true);
    // a new request after expiry fails
    await expectS3Error(
      reader.send(new GetObjectCommand({ Bucket: SRC, Key: 'other.bin' })),
      'ExpiredToken',
      400,
    );
    expect(s3.counters.faults.throttled).toBe(1);
    reader.destroy();
  });
});

describe('source replaced mid-copy', () => {
  it('overwrites the object after afterBytes; the stream in flight keeps the old bytes; the next If-Match GET gets 412', async () => {
    const original = patternBuffer(MiB, 5);
    const { etag: oldEtag } = await s3.seedObject(SRC, 'changing.bin', original);
    s3.faults.replaceSourceAfterBytes = {
      bucket: SRC,
      key: 'changing.bin',
      afterBytes: 300 * KiB,
      body: 'replaced!',
    };

    const first = await admin.send(
      new GetObjectCommand({
        Bucket: SRC,
        Key: 'changing.bin',
        Range: `bytes=0-${512 * KiB - 1}`,
        IfMatch: oldEtag,
      }),
    );
    expect(first.$metadata.httpStatusCode).toBe(206);
    const body = await drain(first.Body as Readable);
    expect(body.data.equals(original.subarray(0, 512 * KiB))).toBe(true);
    expect(s3.counters.faults.replacedSource).toBe(1);
    expect(s3.faults.replaceSourceAfterBytes).toBeUndefined();

    const head = await admin.send(new HeadObjectCommand({ Bucket: SRC, Key: 'changing.bin' }));
    expect(head.ETag).toBe(`"${createHash('md5').update('replaced!').digest('hex')}"`);
    expect(head.ETag).not.toBe(oldEtag);
    await expectS3Error(
      admin.send(
        new GetObjectCommand({
          Bucket: SRC,
          Key: 'changing.bin',
          Range: `bytes=${512 * KiB}-`,
          IfMatch: oldEtag,
        }),
      ),
      'PreconditionFailed',
      412,
    );
  });
});

describe('counters', () => {
  it('count requests per operation and credential kind, bytes served and received, and reset', async () => {
    const dest = s3.client('destination');
    const reader = s3.client(s3.issue(60, 'reader'));
    await dest.send(new PutObjectCommand({ Bucket: DST, Key: 'k', Body: Buffer.alloc(1000, 1) }));
    await (
      await reader.send(new GetObjectCommand({ Bucket: SRC, Key: 'other.bin' }))
    ).Body!.transformToString();
    await reader.send(new HeadObjectCommand({ Bucket: SRC, Key: 'other.bin' }));
    await expectS3Error(reader.send(new GetObjectCommand({ Bucket: DST, Key: 'k' })), 'AccessDenied', 403);

    const c = s3.counters;
    expect(c.requests).toEqual({ PutObject: 1, GetObject: 2, HeadObject: 1 });
    expect(c.requestsByCredential.destination).toEqual({ PutObject: 1 });
    expect(c.requestsByCredential.issued).toEqual({ GetObject: 2, HeadObject: 1 });
    expect(c.errors).toEqual({ AccessDenied: 1 });
    expect(c.bytesReceived).toBe(1000);
    expect(c.bytesServed).toBe(5);
    expect(c.credentialsIssued).toBe(1);

    s3.resetCounters();
    expect(s3.counters.requests).toEqual({});
    expect(s3.counters.bytesServed).toBe(0);
    expect(s3.counters).toBe(c); // same object, reset in place
    dest.destroy();
    reader.destroy();
  });
});
