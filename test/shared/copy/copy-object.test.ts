import { copyObject, type CopyObjectParams, type CopyOptions } from '../../../shared/copy';
import {
  FakeDestination,
  FakeSource,
  MiB,
  bytes,
  fakeCredentials,
  instantSleep,
  md5,
  s3Error,
} from '../../helpers/copy-fixtures';

const PART = 5 * MiB;

let source: FakeSource;
let destination: FakeDestination;

beforeEach(() => {
  source = new FakeSource();
  destination = new FakeDestination();
});

afterEach(() => {
  source.mock.restore();
  destination.mock.restore();
});

function params(
  key: string,
  options: CopyOptions = {},
  extra: Partial<CopyObjectParams> = {},
): CopyObjectParams {
  return {
    sourceClient: source.client,
    destinationClient: destination.client,
    source: { bucket: 'src', key },
    destination: { bucket: 'dst', key },
    options: { partSize: PART, sleep: instantSleep(), ...options },
    ...extra,
  };
}

const stored = (key: string): Buffer | undefined => destination.objects.get(`dst/${key}`)?.data;

describe('copyObject: streaming', () => {
  it('copies a small object with one PutObject and verifies its MD5', async () => {
    const data = bytes(300_000);
    source.put('a.h5', data);
    const progress: number[] = [];
    const result = await copyObject(params('a.h5', { onProgress: (n) => progress.push(n) }));
    expect(stored('a.h5')!.equals(data)).toBe(true);
    expect(result).toMatchObject({
      status: 'COPIED',
      bytes: data.length,
      sourceETag: md5(data),
      verified: { bytes: true, check: 'md5-etag', checksum: 'CRC32:AAAAAA==' },
    });
    expect(progress.reduce((a, b) => a + b, 0)).toBe(data.length);
    expect(source.requests).toHaveLength(1);
    expect(source.requests[0].Range).toBeUndefined();
  });

  it('copies a multipart-sized object in parts, asks for CRC32 on every part, completes once', async () => {
    const data = bytes(12 * MiB + 123, 2);
    source.put('big.h5', data);
    const result = await copyObject(params('big.h5'));
    expect(stored('big.h5')!.equals(data)).toBe(true);
    expect(result.verified).toEqual({ bytes: true, check: 'md5-etag', checksum: 'CRC32:CCCCCC==-3' });
    const parts = destination.mock.commandCalls((await import('@aws-sdk/client-s3')).UploadPartCommand);
    expect(parts.map((c) => c.args[0].input.PartNumber).sort()).toEqual([1, 2, 3]);
    for (const call of parts) expect(call.args[0].input.ChecksumAlgorithm).toBe('CRC32');
    expect(destination.uploads.size).toBe(0);
  });

  it('treats a multipart source ETag as not checkable by MD5, still checking the byte count', async () => {
    const data = bytes(1000, 3);
    source.put('mp.h5', data, { eTag: 'd41d8cd98f00b204e9800998ecf8427e-2' });
    const result = await copyObject(params('mp.h5'));
    expect(result.verified.check).toBe('size-only');
    expect(result.verified.bytes).toBe(true);
    expect(stored('mp.h5')!.equals(data)).toBe(true);
  });

  it('copies a 0-byte object with an empty PutObject', async () => {
    source.put('empty', Buffer.alloc(0));
    const result = await copyObject(params('empty'));
    expect(result).toMatchObject({
      status: 'COPIED',
      bytes: 0,
      verified: { bytes: true, check: 'md5-etag' },
    });
    expect(stored('empty')).toEqual(Buffer.alloc(0));
  });

  it('preserves content headers and user metadata, and records the source ETag and LastModified', async () => {
    const data = bytes(10_000, 4);
    const expires = new Date('2030-01-02T03:04:05Z');
    source.put('m.nc', data, {
      contentType: 'application/x-netcdf',
      contentEncoding: 'gzip',
      contentDisposition: 'attachment; filename="m.nc"',
      contentLanguage: 'en',
      cacheControl: 'max-age=60',
      expires,
      metadata: { mission: 'swot', 'source-etag': 'stale' },
    });
    await copyObject(params('m.nc'));
    const input = destination.objects.get('dst/m.nc')!.input;
    expect(input).toMatchObject({
      ContentType: 'application/x-netcdf',
      ContentEncoding: 'gzip',
      ContentDisposition: 'attachment; filename="m.nc"',
      ContentLanguage: 'en',
      CacheControl: 'max-age=60',
      Expires: expires,
      Metadata: {
        mission: 'swot',
        'source-etag': md5(data),
        'source-last-modified': '2024-05-06T07:08:09.000Z',
      },
    });
  });

  it('preserves metadata on multipart copies too (CreateMultipartUpload carries it)', async () => {
    const data = bytes(6 * MiB, 5);
    source.put('m2', data, { contentType: 'image/tiff', metadata: { a: 'b' } });
    await copyObject(params('m2'));
    expect(destination.objects.get('dst/m2')!.input).toMatchObject({
      ContentType: 'image/tiff',
      Metadata: { a: 'b', 'source-etag': md5(data) },
    });
  });

  it('raises the part size for objects that would need more than 10,000 parts', async () => {
    // Only the arithmetic: a 100 GiB object at 5 MiB parts would need 20,480 parts.
    const data = bytes(1024, 6);
    source.put('k', data);
    const result = await copyObject(params('k', { partSize: 5 * MiB }));
    expect(result.stats.partSize).toBe(5 * MiB);
  });
});

describe('copyObject: resuming the source', () => {
  it('resumes a body cut mid-object with a ranged GET pinned to the ETag; no byte is fetched twice', async () => {
    const data = bytes(12 * MiB, 7);
    source.put('cut', data);
    source.faults = [{ kind: 'cut', afterBytes: 3 * MiB }];
    const result = await copyObject(params('cut'));
    expect(stored('cut')!.equals(data)).toBe(true);
    expect(source.requests).toHaveLength(2);
    expect(source.requests[1]).toMatchObject({
      Range: `bytes=${3 * MiB}-${12 * MiB - 1}`,
      IfMatch: `"${md5(data)}"`,
    });
    expect(source.bytesServed).toBe(data.length);
    expect(result.stats).toMatchObject({ resumes: 1, requests: 2, bytesReceived: data.length });
  });

  it('resumes after a body that ends cleanly but early', async () => {
    const data = bytes(2 * MiB, 8);
    source.put('short', data);
    source.faults = [{ kind: 'end', afterBytes: 1000 }];
    await copyObject(params('short'));
    expect(stored('short')!.equals(data)).toBe(true);
    expect(source.requests[1].Range).toBe(`bytes=1000-${2 * MiB - 1}`);
  });

  it('survives several cuts in a row, backing off between them', async () => {
    const data = bytes(3 * MiB, 9);
    source.put('flaky', data);
    source.faults = [
      { kind: 'cut', afterBytes: 100 },
      { kind: 'cut', afterBytes: 0 },
      { kind: 'reject', error: s3Error('InternalError', 500) },
      { kind: 'cut', afterBytes: 1 },
    ];
    const sleep = instantSleep();
    const result = await copyObject(params('flaky', { sleep, random: () => 1 }));
    expect(stored('flaky')!.equals(data)).toBe(true);
    expect(result.stats.resumes).toBe(4);
    expect(source.bytesServed).toBe(data.length);
    // Backoff doubles while no real progress is made (a 500 that outlasted the SDK's retries counts too).
    expect(sleep.mock.calls.map((c) => c[0])).toEqual([200, 400, 800, 1600]);
  });

  it('gives up with TransientError after maxResumes failures without progress', async () => {
    source.put('dead', bytes(1 * MiB, 10));
    source.faults = Array.from({ length: 10 }, () => ({ kind: 'cut' as const, afterBytes: 0 }));
    await expect(copyObject(params('dead', { maxResumes: 3 }))).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringContaining('failed 4 times in a row at byte 0'),
    });
    expect(stored('dead')).toBeUndefined();
  });

  it('refreshes expired credentials on a resume request and retries it', async () => {
    const data = bytes(2 * MiB, 11);
    source.put('exp', data);
    source.faults = [
      { kind: 'cut', afterBytes: MiB },
      { kind: 'reject', error: s3Error('ExpiredToken', 400, 'The provided token has expired.') },
    ];
    const credentials = fakeCredentials(Date.now() + 3_600_000);
    const result = await copyObject(params('exp', {}, { sourceCredentials: credentials }));
    expect(stored('exp')!.equals(data)).toBe(true);
    expect(credentials.invalidate).toHaveBeenCalledTimes(1);
    expect(credentials.invalidate).toHaveBeenCalledWith(1);
    expect(result.stats).toMatchObject({ refreshes: 1, resumes: 1, requests: 3 });
  });

  it('treats AccessDenied at the cached expiry time as expiry (Ceph style), but not long before it', async () => {
    const data = bytes(1000, 12);
    source.put('ceph', data);
    source.faults = [{ kind: 'reject', error: s3Error('AccessDenied', 403) }];
    const expired = fakeCredentials(Date.now() - 1000);
    await copyObject(params('ceph', {}, { sourceCredentials: expired }));
    expect(expired.invalidate).toHaveBeenCalledTimes(1);
    expect(stored('ceph')!.equals(data)).toBe(true);

    source.faults = [{ kind: 'reject', error: s3Error('AccessDenied', 403) }];
    const fresh = fakeCredentials(Date.now() + 3_600_000);
    await expect(copyObject(params('ceph', {}, { sourceCredentials: fresh }))).rejects.toMatchObject({
      name: 'SourceAccessDenied',
    });
    expect(fresh.invalidate).not.toHaveBeenCalled();
  });

  it('stops refreshing after maxRefreshes expiry errors on one request', async () => {
    source.put('exp2', bytes(10, 13));
    source.faults = Array.from({ length: 5 }, () => ({
      kind: 'reject' as const,
      error: s3Error('ExpiredToken', 400),
    }));
    const credentials = fakeCredentials();
    await expect(
      copyObject(params('exp2', { maxRefreshes: 2 }, { sourceCredentials: credentials })),
    ).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringContaining('expired 3 times in a row'),
    });
    expect(credentials.invalidate).toHaveBeenCalledTimes(2);
  });

  it('fails with SourceChanged when the object is replaced mid-copy, leaving nothing at the destination', async () => {
    const data = bytes(12 * MiB, 14);
    source.put('moving', data);
    source.faults = [
      { kind: 'cut', afterBytes: 11 * MiB },
      { kind: 'replace', data: bytes(12 * MiB, 15) },
    ];
    await expect(copyObject(params('moving'))).rejects.toMatchObject({
      name: 'SourceChanged',
      message: expect.stringContaining('changed while it was being copied'),
    });
    expect(stored('moving')).toBeUndefined();
    expect(destination.uploads.size).toBe(0);
    expect(destination.aborted).toHaveLength(1);
  });

  it('fails with SourceChanged when the object is deleted mid-copy', async () => {
    source.put('gone', bytes(2 * MiB, 16));
    source.faults = [{ kind: 'cut', afterBytes: MiB }];
    const sleep = jest.fn(async () => {
      source.objects.delete('gone');
    });
    await expect(copyObject(params('gone', { sleep }))).rejects.toMatchObject({ name: 'SourceChanged' });
    expect(stored('gone')).toBeUndefined();
  });
});

describe('copyObject: verification before the copy becomes visible', () => {
  it('fails with IntegrityError when the bytes do not match the source MD5, and completes nothing', async () => {
    const data = bytes(7 * MiB, 17);
    source.put('bad', data, { eTag: md5(bytes(7 * MiB, 18)) });
    await expect(copyObject(params('bad'))).rejects.toMatchObject({
      name: 'IntegrityError',
      message: expect.stringContaining('MD5'),
    });
    expect(stored('bad')).toBeUndefined();
    expect(destination.uploads.size).toBe(0);
    expect(destination.aborted).toHaveLength(1);
  });

  it('fails with IntegrityError on a single-part object before PutObject is sent', async () => {
    source.put('bad-small', bytes(1000, 19), { eTag: md5(bytes(1000, 20)) });
    await expect(copyObject(params('bad-small'))).rejects.toMatchObject({ name: 'IntegrityError' });
    expect(stored('bad-small')).toBeUndefined();
  });

  it('fails with IntegrityError when the source sends more bytes than it announced', async () => {
    const data = bytes(5000, 21);
    source.put('long', data);
    source.mock.on((await import('@aws-sdk/client-s3')).GetObjectCommand).callsFake(async () => {
      const { Readable } = await import('node:stream');
      return { Body: Readable.from([data]), ContentLength: 4000, ETag: `"${md5(data)}"` };
    });
    await expect(copyObject(params('long'))).rejects.toMatchObject({ name: 'IntegrityError' });
    expect(stored('long')).toBeUndefined();
  });
});

describe('copyObject: named failures', () => {
  it('SourceNotFound for a missing key, without touching the destination', async () => {
    await expect(copyObject(params('nope'))).rejects.toMatchObject({
      name: 'SourceNotFound',
      message: expect.stringContaining('s3://src/nope does not exist'),
    });
    expect(destination.mock.calls()).toHaveLength(0);
  });

  it('SourceNotFound for a missing bucket, SourceAccessDenied for a denied read', async () => {
    source.faults = [{ kind: 'reject', error: s3Error('NoSuchBucket', 404) }];
    await expect(copyObject(params('x'))).rejects.toMatchObject({ name: 'SourceNotFound' });
    source.faults = [{ kind: 'reject', error: s3Error('AccessDenied', 403) }];
    await expect(copyObject(params('x'))).rejects.toMatchObject({
      name: 'SourceAccessDenied',
      message: expect.stringContaining('/s3credentials'),
    });
  });

  it('TransientError when the source keeps throttling after the SDK retries', async () => {
    source.faults = [{ kind: 'reject', error: s3Error('SlowDown', 503) }];
    await expect(copyObject(params('x'))).rejects.toMatchObject({ name: 'TransientError' });
  });

  it('DestinationAccessDenied (single part): nothing written, the source stream closed', async () => {
    source.put('d', bytes(1000, 22));
    destination.writeError = s3Error('AccessDenied', 403);
    await expect(copyObject(params('d'))).rejects.toMatchObject({
      name: 'DestinationAccessDenied',
      message: expect.stringContaining('s3:PutObject'),
    });
    expect(stored('d')).toBeUndefined();
  });

  it('DestinationAccessDenied on one part stops reading the source at once and aborts the upload', async () => {
    const data = bytes(40 * MiB, 23);
    source.put('d2', data);
    destination.writeError = s3Error('AccessDenied', 403);
    destination.failPart = 1;
    await expect(copyObject(params('d2', { queueSize: 2 }))).rejects.toMatchObject({
      name: 'DestinationAccessDenied',
    });
    expect(stored('d2')).toBeUndefined();
    expect(destination.uploads.size).toBe(0);
    // Parts 1 and 2 (and what was buffered): far from the whole 40 MiB (lib-storage alone reads it all).
    expect(source.bytesServed).toBeLessThan(20 * MiB);
  });

  it('a destination failure stops a source that is waiting (backoff) at once, not after its next part', async () => {
    source.put('d3', bytes(12 * MiB, 23));
    source.faults = [{ kind: 'cut', afterBytes: 6 * MiB }];
    destination.writeError = s3Error('AccessDenied', 403);
    destination.failPart = 1;
    // A backoff that only an abort ends.
    const sleep = (_ms: number, signal?: AbortSignal): Promise<void> =>
      new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    await expect(copyObject(params('d3', { queueSize: 2, sleep }))).rejects.toMatchObject({
      name: 'DestinationAccessDenied',
    });
    expect(destination.uploads.size).toBe(0);
  }, 10_000);

  it('DestinationNotFound for a missing destination bucket', async () => {
    source.put('n', bytes(100, 24));
    destination.writeError = s3Error('NoSuchBucket', 404);
    await expect(copyObject(params('n'))).rejects.toMatchObject({ name: 'DestinationNotFound' });
  });

  it('an abort failure never hides the real error (s3rver answers AbortMultipartUpload with 405)', async () => {
    source.put('m', bytes(12 * MiB, 25), { eTag: md5(Buffer.from('other')) });
    destination.abortError = s3Error('MethodNotAllowed', 405);
    const error = await copyObject(params('m')).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'IntegrityError' });
    expect((error as Error).message).toContain('aborting multipart upload upload-1 also failed');
    expect(stored('m')).toBeUndefined();
  });

  it('keeps secrets out of the message', async () => {
    source.faults = [
      {
        kind: 'reject',
        error: s3Error('AccessDenied', 403, 'denied for Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig'),
      },
    ];
    const error = (await copyObject(params('x')).catch((e: Error) => e)) as Error;
    expect(error.message).not.toContain('eyJhbGci');
    expect(String((error.cause as Error).message)).not.toContain('eyJhbGci');
  });

  it('an AbortSignal stops the copy with AbortError and aborts the multipart upload', async () => {
    const data = bytes(20 * MiB, 26);
    source.put('abort', data);
    const controller = new AbortController();
    let seen = 0;
    const error = await copyObject(
      params('abort', {
        onProgress: (n) => {
          seen += n;
          if (seen > 11 * MiB && !controller.signal.aborted) controller.abort();
        },
        signal: controller.signal,
      }),
    ).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(stored('abort')).toBeUndefined();
    expect(destination.uploads.size).toBe(0);
    expect(destination.aborted.length).toBeGreaterThan(0);
  });
});

describe('copyObject: sync', () => {
  it('skips when the destination has the same size and recorded source ETag (no source GET)', async () => {
    const data = bytes(5000, 27);
    source.put('s', data);
    await copyObject(params('s'));
    source.requests.length = 0;
    const result = await copyObject(
      params('s', { sync: true }, { expected: { size: data.length, eTag: `"${md5(data)}"` } }),
    );
    expect(result).toMatchObject({ status: 'SKIPPED', bytes: 0, sourceETag: md5(data) });
    expect(source.requests).toHaveLength(0);
    expect(source.heads).toHaveLength(0);
  });

  it('copies when the source ETag differs from the recorded one, or the object is missing', async () => {
    source.put('s', bytes(5000, 28));
    await copyObject(params('s'));
    const changed = source.put('s', bytes(5000, 29));
    const result = await copyObject(
      params('s', { sync: true }, { expected: { size: 5000, eTag: changed.eTag } }),
    );
    expect(result.status).toBe('COPIED');
    expect(stored('s')!.equals(changed.data)).toBe(true);

    source.put('new', bytes(10, 30));
    expect((await copyObject(params('new', { sync: true }))).status).toBe('COPIED');
  });

  it('HEADs the source when the listing gave no ETag', async () => {
    const data = bytes(5000, 31);
    source.put('h', data);
    await copyObject(params('h'));
    const result = await copyObject(params('h', { sync: true }));
    expect(result.status).toBe('SKIPPED');
    expect(source.heads).toEqual(['h']);
  });

  it('copies objects that were not written by this tool (no recorded ETag)', async () => {
    source.put('foreign', bytes(100, 32));
    await copyObject(params('foreign'));
    destination.objects.get('dst/foreign')!.input.Metadata = {};
    expect((await copyObject(params('foreign', { sync: true }))).status).toBe('COPIED');
  });
});

describe('copyObject: read-ahead', () => {
  it('fetches ranges in parallel and emits them strictly in order', async () => {
    const data = bytes(23 * MiB + 7, 33);
    source.put('ra', data);
    const result = await copyObject(params('ra', { readAhead: 3, rangeSize: 4 * MiB }));
    expect(stored('ra')!.equals(data)).toBe(true);
    expect(result.verified.check).toBe('md5-etag');
    const ranges = source.requests.map((r) => r.Range);
    expect(ranges).toHaveLength(6);
    expect(ranges[0]).toBe(`bytes=0-${4 * MiB - 1}`);
    expect(new Set(ranges).size).toBe(6);
    expect(source.requests.slice(1).every((r) => r.IfMatch === `"${md5(data)}"`)).toBe(true);
    expect(source.bytesServed).toBe(data.length);
  });

  it('resumes a cut range inside that range only', async () => {
    const data = bytes(16 * MiB, 34);
    source.put('ra2', data);
    source.faults = [{ kind: 'none' }, { kind: 'cut', afterBytes: MiB }];
    const result = await copyObject(params('ra2', { readAhead: 2, rangeSize: 4 * MiB }));
    expect(stored('ra2')!.equals(data)).toBe(true);
    expect(result.stats.resumes).toBe(1);
    expect(source.requests.map((r) => r.Range)).toContain(`bytes=${5 * MiB}-${8 * MiB - 1}`);
    expect(source.bytesServed).toBe(data.length);
  });

  it('falls back to one GET for an empty object (a range of nothing is a 416)', async () => {
    source.put('e', Buffer.alloc(0));
    const result = await copyObject(params('e', { readAhead: 4, rangeSize: 5 * MiB }));
    expect(result.bytes).toBe(0);
    expect(stored('e')).toEqual(Buffer.alloc(0));
  });

  it('reads small listed objects over one connection', async () => {
    source.put('small', bytes(1000, 35));
    await copyObject(params('small', { readAhead: 4 }, { expected: { size: 1000 } }));
    expect(source.requests.map((r) => r.Range)).toEqual([undefined]);
  });

  it('SourceChanged when the object changes between ranges', async () => {
    source.put('rc', bytes(16 * MiB, 36));
    source.faults = [{ kind: 'none' }, { kind: 'replace', data: bytes(16 * MiB, 37) }];
    await expect(copyObject(params('rc', { readAhead: 2, rangeSize: 4 * MiB }))).rejects.toMatchObject({
      name: 'SourceChanged',
    });
    expect(stored('rc')).toBeUndefined();
    expect(destination.uploads.size).toBe(0);
  });
});
