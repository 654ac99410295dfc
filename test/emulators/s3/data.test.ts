/**
 * Embedded S3 gateway: what happens to the bytes. aws-chunked decoding and checksums, atomic writes,
 * multipart uploads (lib-storage round trip, abort, `-N` ETags, Complete validation), ListObjectsV2
 * pagination without the legacy OpenSSL provider, ranges and conditional requests.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AwsChunkedDecoder } from '../../../emulators/s3/aws-chunked';
import { checksumOf } from '../../../emulators/s3/checksums';
import { EmbeddedS3 } from '../../../emulators/s3/server';
import { chunkSignature, signingKey } from '../../../emulators/s3/sigv4';
import { expectS3Error, patternBuffer, rawRequest, sha256, signRequest } from '../../helpers/embedded-s3';
import { readdirSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

const SRC = 'src-bucket';
const DST = 'dst-bucket';
const MiB = 1024 * 1024;

let s3: EmbeddedS3;
let admin: S3Client;
let dest: S3Client;

beforeAll(async () => {
  s3 = await EmbeddedS3.start({ sourceBuckets: [SRC], destinationBuckets: [DST] });
  admin = s3.client('admin');
  dest = s3.client('destination');
});

afterAll(async () => {
  await s3.stop();
});

async function getBytes(client: S3Client, Bucket: string, Key: string, Range?: string): Promise<Buffer> {
  const out = await client.send(new GetObjectCommand({ Bucket, Key, Range }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

function streamOf(buf: Buffer, chunk = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts);
}

describe('aws-chunked uploads', () => {
  it('stores exactly the 3,000,000 bytes of a streaming PutObject (SDK default: unsigned chunks + CRC32 trailer)', async () => {
    const data = patternBuffer(3_000_000, 7);
    await dest.send(
      new PutObjectCommand({
        Bucket: DST,
        Key: 'chunked.bin',
        Body: streamOf(data),
        ContentLength: data.length,
      }),
    );
    const head = await dest.send(new HeadObjectCommand({ Bucket: DST, Key: 'chunked.bin' }));
    expect(head.ContentLength).toBe(3_000_000);
    expect(head.ContentEncoding).toBeUndefined(); // 'aws-chunked' is not stored
    expect(head.ETag).toBe(`"${createHash('md5').update(data).digest('hex')}"`);
    expect(sha256(await getBytes(dest, DST, 'chunked.bin'))).toBe(sha256(data));
  });

  it('accepts CRC32C, SHA256 and CRC64NVME checksums and echoes them', async () => {
    const data = patternBuffer(200_000, 3);
    for (const alg of ['CRC32C', 'SHA256', 'CRC64NVME'] as const) {
      const out = await dest.send(
        new PutObjectCommand({
          Bucket: DST,
          Key: `ck-${alg}`,
          Body: streamOf(data),
          ContentLength: data.length,
          ChecksumAlgorithm: alg,
        }),
      );
      const echoed = {
        CRC32C: out.ChecksumCRC32C,
        SHA256: out.ChecksumSHA256,
        CRC64NVME: out.ChecksumCRC64NVME,
      }[alg];
      expect(echoed).toBe(await checksumOf(alg, data));
    }
  });

  it('rejects a body whose CRC32 trailer does not match (400 BadDigest) and keeps the previous object', async () => {
    await dest.send(new PutObjectCommand({ Bucket: DST, Key: 'guarded.txt', Body: 'old content' }));
    const payload = Buffer.from('new content');
    const framed = Buffer.concat([
      Buffer.from(`${payload.length.toString(16)}\r\n`),
      payload,
      Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${await checksumOf('CRC32', 'something else')}\r\n\r\n`),
    ]);
    const r = await rawRequest(s3, {
      method: 'PUT',
      path: `/${DST}/guarded.txt`,
      credentials: s3.destinationCredentials,
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(payload.length),
        'x-amz-trailer': 'x-amz-checksum-crc32',
      },
      body: framed,
    });
    expect(r.status).toBe(400);
    expect(r.text).toContain('<Code>BadDigest</Code>');
    expect((await getBytes(dest, DST, 'guarded.txt')).toString()).toBe('old content');

    const good = Buffer.concat([
      Buffer.from(`${payload.length.toString(16)}\r\n`),
      payload,
      Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${await checksumOf('CRC32', payload)}\r\n\r\n`),
    ]);
    const ok = await rawRequest(s3, {
      method: 'PUT',
      path: `/${DST}/guarded.txt`,
      credentials: s3.destinationCredentials,
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(payload.length),
        'x-amz-trailer': 'x-amz-checksum-crc32',
      },
      body: good,
    });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-amz-checksum-crc32']).toBe(await checksumOf('CRC32', payload));
    expect((await getBytes(dest, DST, 'guarded.txt')).toString()).toBe('new content');
  });

  it('rejects a wrong x-amz-checksum-crc32 header and a wrong Content-MD5', async () => {
    await expectS3Error(
      dest.send(
        new PutObjectCommand({
          Bucket: DST,
          Key: 'bad-md5',
          Body: 'abc',
          ContentMD5: createHash('md5').update('abd').digest('base64'),
        }),
      ),
      'BadDigest',
      400,
    );
    await expectS3Error(
      dest.send(
        new PutObjectCommand({
          Bucket: DST,
          Key: 'bad-crc',
          Body: 'abc',
          ChecksumCRC32: await checksumOf('CRC32', 'abd'),
        }),
      ),
      'BadDigest',
      400,
    );
    await expectS3Error(dest.send(new HeadObjectCommand({ Bucket: DST, Key: 'bad-crc' })), 'NotFound', 404);
  });

  it('decodes signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) and rejects a bad chunk signature', async () => {
    const data = patternBuffer(150_000, 11);
    const chunks = [data.subarray(0, 65536), data.subarray(65536, 131072), data.subarray(131072)];
    const send = async (tamper: boolean) => {
      const headers: Record<string, string> = {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(data.length),
      };
      // sign the headers, then frame the body with chunk signatures chained from the seed signature
      const signed = await signRequest(s3, {
        method: 'PUT',
        path: `/${DST}/signed-chunks.bin`,
        credentials: s3.destinationCredentials,
        payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        headers,
      });
      const auth = signed.headers.authorization;
      const seed = /Signature=([0-9a-f]{64})/.exec(auth)![1];
      const amzDate = signed.headers['x-amz-date'];
      const scope = /Credential=[^/]+\/([^,]+)/.exec(auth)![1];
      const [date, region] = scope.split('/');
      const key = signingKey(s3.destinationCredentials.secretAccessKey, date, region, 's3');
      const parts: Buffer[] = [];
      let prev = seed;
      for (const c of [...chunks, Buffer.alloc(0)]) {
        const sig = chunkSignature(key, amzDate, scope, prev, sha256(c));
        prev = sig;
        const body = tamper && c.length && c === chunks[1] ? Buffer.from(c).fill(0, 0, 1) : c;
        parts.push(
          Buffer.from(`${c.length.toString(16)};chunk-signature=${sig}\r\n`),
          body,
          Buffer.from('\r\n'),
        );
      }
      const body = Buffer.concat(parts);
      const url = new URL(s3.endpoint);
      return new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(
          {
            host: url.hostname,
            port: Number(url.port),
            method: 'PUT',
            path: `/${DST}/signed-chunks.bin`,
            headers: { ...signed.headers, 'content-length': String(body.length) },
            agent: false,
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    };
    const ok = await send(false);
    expect(ok.status).toBe(200);
    expect(sha256(await getBytes(dest, DST, 'signed-chunks.bin'))).toBe(sha256(data));
    const bad = await send(true);
    expect(bad.status).toBe(403);
    expect(bad.text).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(sha256(await getBytes(dest, DST, 'signed-chunks.bin'))).toBe(sha256(data));
  });

  it('decoder: handles arbitrary splits of the framing', async () => {
    const payload = patternBuffer(5000, 5);
    const framed = Buffer.concat([
      Buffer.from('1000\r\n'),
      payload.subarray(0, 4096),
      Buffer.from('\r\n388\r\n'),
      payload.subarray(4096),
      Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${await checksumOf('CRC32', payload)}\r\n\r\n`),
    ]);
    for (const step of [1, 2, 3, 7, 4097, framed.length]) {
      const d = new AwsChunkedDecoder({ decodedLength: payload.length });
      const out: Buffer[] = [];
      d.on('data', (c: Buffer) => out.push(c));
      const done = new Promise((resolve, reject) => {
        d.on('end', resolve);
        d.on('error', reject);
      });
      for (let i = 0; i < framed.length; i += step) d.write(framed.subarray(i, i + step));
      d.end();
      await done;
      expect(Buffer.concat(out).equals(payload)).toBe(true);
      expect(d.trailers.get('x-amz-checksum-crc32')).toBe(await checksumOf('CRC32', payload));
    }
    const short = new AwsChunkedDecoder({ decodedLength: 10 });
    const failed = new Promise((resolve) => short.on('error', resolve));
    short.resume();
    short.end(Buffer.from('5\r\nabcde\r\n'));
    expect(((await failed) as S3ServiceException).name).toBe('IncompleteBody');
  });

  it('never leaves a partial object when the client disconnects mid-upload', async () => {
    await dest.send(new PutObjectCommand({ Bucket: DST, Key: 'atomic.bin', Body: 'previous version' }));
    const received = s3.counters.bytesReceived;
    const signed = await signRequest(s3, {
      method: 'PUT',
      path: `/${DST}/atomic.bin`,
      credentials: s3.destinationCredentials,
      payloadHash: 'UNSIGNED-PAYLOAD',
      headers: { 'content-length': String(4 * MiB) },
    });
    const url = new URL(s3.endpoint);
    const req = http.request({
      host: url.hostname,
      port: Number(url.port),
      method: 'PUT',
      path: signed.path,
      headers: signed.headers,
      agent: false,
    });
    req.on('error', () => undefined);
    await new Promise<void>((resolve) => req.write(Buffer.alloc(MiB, 7), () => resolve()));
    // wait until the gateway has received the first MiB, then vanish
    for (let i = 0; i < 100 && s3.counters.bytesReceived - received < MiB; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(s3.counters.bytesReceived - received).toBe(MiB);
    req.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect((await getBytes(dest, DST, 'atomic.bin')).toString()).toBe('previous version');
    expect(readdirSync(path.join(s3.directory, '.embedded-s3-staging'))).toEqual([]);
  });
});

describe('multipart uploads', () => {
  it('round-trips 20 MiB through lib-storage with 5 MiB parts and an S3-style -N ETag', async () => {
    const data = patternBuffer(20 * MiB, 21);
    const upload = new Upload({
      client: dest,
      params: { Bucket: DST, Key: 'mpu/20mib.bin', Body: streamOf(data, MiB) },
      partSize: 5 * MiB,
      queueSize: 4,
    });
    const out = await upload.done();
    const partMd5s = [0, 1, 2, 3].map((i) =>
      createHash('md5')
        .update(data.subarray(i * 5 * MiB, (i + 1) * 5 * MiB))
        .digest(),
    );
    const expected = `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-4"`;
    expect(out.ETag).toBe(expected);
    const head = await dest.send(new HeadObjectCommand({ Bucket: DST, Key: 'mpu/20mib.bin' }));
    expect(head.ETag).toBe(expected);
    expect(head.ContentLength).toBe(20 * MiB);
    const got = await dest.send(new GetObjectCommand({ Bucket: DST, Key: 'mpu/20mib.bin' }));
    expect(got.ETag).toBe(expected);
    expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha256(data));
    const listed = await dest.send(new ListObjectsV2Command({ Bucket: DST, Prefix: 'mpu/' }));
    expect(listed.Contents?.find((c) => c.Key === 'mpu/20mib.bin')?.ETag).toBe(expected);
    expect(await s3.openMultipartUploads(DST)).toBe(0);
  });

  it('aborts cleanly when lib-storage fails: the real error surfaces and no upload stays open', async () => {
    let produced = 0;
    const failing = new Readable({
      read() {
        if (produced >= 12 * MiB) {
          this.destroy(new Error('the source stream broke'));
          return;
        }
        produced += MiB;
        this.push(Buffer.alloc(MiB, 2));
      },
    });
    const upload = new Upload({
      client: dest,
      params: { Bucket: DST, Key: 'mpu/aborted.bin', Body: failing },
      partSize: 5 * MiB,
      queueSize: 1,
    });
    await expect(upload.done()).rejects.toThrow('the source stream broke');
    expect(await s3.openMultipartUploads(DST)).toBe(0);
    await expectS3Error(
      dest.send(new HeadObjectCommand({ Bucket: DST, Key: 'mpu/aborted.bin' })),
      'NotFound',
      404,
    );
    expect(s3.counters.requests.AbortMultipartUpload).toBeGreaterThanOrEqual(1);
  });

  it('implements AbortMultipartUpload, ListMultipartUploads and ListParts; a part after abort is NoSuchUpload', async () => {
    const { UploadId } = await dest.send(
      new CreateMultipartUploadCommand({ Bucket: DST, Key: 'mpu/manual.bin' }),
    );
    await dest.send(
      new UploadPartCommand({
        Bucket: DST,
        Key: 'mpu/manual.bin',
        UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(1000, 1),
      }),
    );
    const uploads = await dest.send(new ListMultipartUploadsCommand({ Bucket: DST }));
    expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([['mpu/manual.bin', UploadId]]);
    const parts = await dest.send(new ListPartsCommand({ Bucket: DST, Key: 'mpu/manual.bin', UploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 1000]]);
    expect(await s3.openMultipartUploads(DST)).toBe(1);

    const aborted = await dest.send(
      new AbortMultipartUploadCommand({ Bucket: DST, Key: 'mpu/manual.bin', UploadId }),
    );
    expect(aborted.$metadata.httpStatusCode).toBe(204);
    expect(await s3.openMultipartUploads(DST)).toBe(0);
    await expectS3Error(
      dest.send(
        new UploadPartCommand({ Bucket: DST, Key: 'mpu/manual.bin', UploadId, PartNumber: 2, Body: 'x' }),
      ),
      'NoSuchUpload',
      404,
    );
    await expectS3Error(
      dest.send(new AbortMultipartUploadCommand({ Bucket: DST, Key: 'mpu/manual.bin', UploadId })),
      'NoSuchUpload',
      404,
    );
    expect(await s3.openMultipartUploads(DST)).toBe(0);
  });

  it('validates CompleteMultipartUpload like S3 (part ETags, order, minimum part size, checksums)', async () => {
    const Key = 'mpu/validated.bin';
    const { UploadId } = await dest.send(new CreateMultipartUploadCommand({ Bucket: DST, Key }));
    const p1 = await dest.send(
      new UploadPartCommand({ Bucket: DST, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 1) }),
    );
    const p2 = await dest.send(
      new UploadPartCommand({ Bucket: DST, Key, UploadId, PartNumber: 2, Body: Buffer.alloc(1024, 2) }),
    );
    const complete = (Parts: { PartNumber: number; ETag?: string }[]) =>
      dest.send(
        new CompleteMultipartUploadCommand({ Bucket: DST, Key, UploadId, MultipartUpload: { Parts } }),
      );
    await expectS3Error(complete([{ PartNumber: 1, ETag: '"0123"' }]), 'InvalidPart', 400);
    await expectS3Error(
      complete([
        { PartNumber: 2, ETag: p2.ETag },
        { PartNumber: 1, ETag: p1.ETag },
      ]),
      'InvalidPartOrder',
      400,
    );
    await expectS3Error(
      complete([
        { PartNumber: 1, ETag: p1.ETag },
        { PartNumber: 2, ETag: p2.ETag },
      ]),
      'EntityTooSmall',
      400,
    );
    const single = await complete([{ PartNumber: 1, ETag: p1.ETag }]);
    expect(single.ETag).toMatch(/^"[0-9a-f]{32}-1"$/);
    expect((await getBytes(dest, DST, Key)).equals(Buffer.alloc(1024, 1))).toBe(true);

    // created with a checksum algorithm: parts must carry it, and Complete must list part checksums
    const ck = await dest.send(
      new CreateMultipartUploadCommand({ Bucket: DST, Key: 'mpu/ck.bin', ChecksumAlgorithm: 'CRC32' }),
    );
    const wrongAlg = s3.client('destination', { requestChecksumCalculation: 'WHEN_REQUIRED' });
    await expectS3Error(
      wrongAlg.send(
        new UploadPartCommand({
          Bucket: DST,
          Key: 'mpu/ck.bin',
          UploadId: ck.UploadId,
          PartNumber: 1,
          Body: 'abc',
        }),
      ),
      'InvalidRequest',
      400,
    );
    const part = await dest.send(
      new UploadPartCommand({
        Bucket: DST,
        Key: 'mpu/ck.bin',
        UploadId: ck.UploadId,
        PartNumber: 1,
        Body: 'abc',
        ChecksumAlgorithm: 'CRC32',
      }),
    );
    expect(part.ChecksumCRC32).toBe(await checksumOf('CRC32', 'abc'));
    await expectS3Error(
      dest.send(
        new CompleteMultipartUploadCommand({
          Bucket: DST,
          Key: 'mpu/ck.bin',
          UploadId: ck.UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      ),
      'InvalidRequest',
      400,
    );
    await dest.send(
      new CompleteMultipartUploadCommand({
        Bucket: DST,
        Key: 'mpu/ck.bin',
        UploadId: ck.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag, ChecksumCRC32: part.ChecksumCRC32 }] },
      }),
    );
    expect((await getBytes(dest, DST, 'mpu/ck.bin')).toString()).toBe('abc');
    expect(await s3.openMultipartUploads(DST)).toBe(0);
    wrongAlg.destroy();
  });
});

describe('listing', () => {
  it('paginates over more than 1000 keys with continuation tokens, without the legacy OpenSSL provider', async () => {
    // This process cannot use DES (what s3rver's own continuation tokens need on Node 20).
    expect(() => createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8))).toThrow();
    expect(process.execArgv.join(' ') + (process.env.NODE_OPTIONS ?? '')).not.toContain(
      'openssl-legacy-provider',
    );

    const keys: string[] = [];
    for (let i = 0; i < 1203; i++) keys.push(`many/${String(i).padStart(5, '0')}`);
    keys.push('many/a', 'many/a-b', 'many/a.b', 'many/a/b', 'many/a b', 'many/é', 'many/😀', 'many/\uffff');
    // a few through HTTP, the bulk directly (this test is about listing)
    await Promise.all(
      keys.slice(0, 50).map((Key) => admin.send(new PutObjectCommand({ Bucket: SRC, Key, Body: Key }))),
    );
    for (let i = 50; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((Key) => s3.seedObject(SRC, Key, Key)));
    }
    const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

    const reader = s3.client(s3.issue(300, 'lister'));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page: ListObjectsV2CommandOutput = await reader.send(
        new ListObjectsV2Command({ Bucket: SRC, Prefix: 'many/', ContinuationToken: token }),
      );
      seen.push(...(page.Contents ?? []).map((c) => c.Key!));
      expect(page.KeyCount).toBe(page.Contents?.length ?? 0);
      token = page.NextContinuationToken;
      expect(page.IsTruncated).toBe(token !== undefined);
      pages++;
    } while (token);
    expect(pages).toBe(2);
    expect(seen).toEqual(expected);

    const small: string[] = [];
    token = undefined;
    pages = 0;
    do {
      const page: ListObjectsV2CommandOutput = await reader.send(
        new ListObjectsV2Command({ Bucket: SRC, Prefix: 'many/', ContinuationToken: token, MaxKeys: 7 }),
      );
      expect(page.Contents!.length).toBeLessThanOrEqual(7);
      small.push(...(page.Contents ?? []).map((c) => c.Key!));
      token = page.NextContinuationToken;
      pages++;
    } while (token);
    expect(pages).toBe(Math.ceil(expected.length / 7));
    expect(small).toEqual(expected);
    reader.destroy();
  });

  it('groups common prefixes with a delimiter, across pages', async () => {
    const keys = ['d/a/1', 'd/a/2', 'd/b', 'd/c/1', 'd/c/2', 'd/c/3', 'd/d', 'd/e/x/y'];
    await Promise.all(keys.map((Key) => admin.send(new PutObjectCommand({ Bucket: SRC, Key, Body: 'x' }))));
    const items: string[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await admin.send(
        new ListObjectsV2Command({
          Bucket: SRC,
          Prefix: 'd/',
          Delimiter: '/',
          MaxKeys: 2,
          ContinuationToken: token,
        }),
      );
      items.push(
        ...(page.CommonPrefixes ?? []).map((p) => `P:${p.Prefix}`),
        ...(page.Contents ?? []).map((c) => `K:${c.Key}`),
      );
      token = page.NextContinuationToken;
    } while (token);
    expect(items.sort()).toEqual(['K:d/b', 'K:d/d', 'P:d/a/', 'P:d/c/', 'P:d/e/']);
    const startAfter = await admin.send(
      new ListObjectsV2Command({ Bucket: SRC, Prefix: 'd/', StartAfter: 'd/c/2' }),
    );
    expect(startAfter.Contents?.map((c) => c.Key)).toEqual(['d/c/3', 'd/d', 'd/e/x/y']);
    await expectS3Error(
      admin.send(new ListObjectsV2Command({ Bucket: SRC, ContinuationToken: 'bm90IGEgdG9rZW4=' })),
      'InvalidArgument',
      400,
    );
  });
});

describe('ranges and conditional requests', () => {
  const data = patternBuffer(100_000, 9);
  let etag: string;
  beforeAll(async () => {
    etag = (await admin.send(new PutObjectCommand({ Bucket: SRC, Key: 'ranged.bin', Body: data }))).ETag!;
  });

  it('serves ranges with 206 (including bytes=0-0 and suffix ranges) and 416 beyond the end', async () => {
    const r = await admin.send(
      new GetObjectCommand({ Bucket: SRC, Key: 'ranged.bin', Range: 'bytes=100-199' }),
    );
    expect(r.$metadata.httpStatusCode).toBe(206);
    expect(r.ContentRange).toBe('bytes 100-199/100000');
    expect(r.ContentLength).toBe(100);
    expect(Buffer.from(await r.Body!.transformToByteArray()).equals(data.subarray(100, 200))).toBe(true);
    expect((await getBytes(admin, SRC, 'ranged.bin', 'bytes=0-0')).equals(data.subarray(0, 1))).toBe(true);
    expect((await getBytes(admin, SRC, 'ranged.bin', 'bytes=-10')).equals(data.subarray(99_990))).toBe(true);
    expect((await getBytes(admin, SRC, 'ranged.bin', 'bytes=99990-')).equals(data.subarray(99_990))).toBe(
      true,
    );
    expect(
      (await getBytes(admin, SRC, 'ranged.bin', 'bytes=99990-200000')).equals(data.subarray(99_990)),
    ).toBe(true);
    await expectS3Error(
      admin.send(new GetObjectCommand({ Bucket: SRC, Key: 'ranged.bin', Range: 'bytes=100000-' })),
      'InvalidRange',
      416,
    );
  });

  it('answers If-Match with 412 when the ETag differs (GET and HEAD), 206 when it matches', async () => {
    const ok = await admin.send(
      new GetObjectCommand({ Bucket: SRC, Key: 'ranged.bin', Range: 'bytes=0-9', IfMatch: etag }),
    );
    expect(ok.$metadata.httpStatusCode).toBe(206);
    await ok.Body!.transformToByteArray();
    await expectS3Error(
      admin.send(
        new GetObjectCommand({ Bucket: SRC, Key: 'ranged.bin', Range: 'bytes=0-9', IfMatch: '"0000"' }),
      ),
      'PreconditionFailed',
      412,
    );
    const head = await admin
      .send(new HeadObjectCommand({ Bucket: SRC, Key: 'ranged.bin', IfMatch: '"0000"' }))
      .catch((e: S3ServiceException) => e);
    expect((head as S3ServiceException).$metadata.httpStatusCode).toBe(412);
    const notModified = await admin
      .send(new GetObjectCommand({ Bucket: SRC, Key: 'ranged.bin', IfNoneMatch: etag }))
      .catch((e: S3ServiceException) => e);
    expect((notModified as S3ServiceException).$metadata.httpStatusCode).toBe(304);
  });

  it('supports conditional writes (If-None-Match: *)', async () => {
    await expectS3Error(
      admin.send(new PutObjectCommand({ Bucket: SRC, Key: 'ranged.bin', Body: 'x', IfNoneMatch: '*' })),
      'PreconditionFailed',
      412,
    );
    await admin.send(
      new PutObjectCommand({
        Bucket: SRC,
        Key: `fresh-${randomBytes(4).toString('hex')}`,
        Body: 'x',
        IfNoneMatch: '*',
      }),
    );
    expect((await getBytes(admin, SRC, 'ranged.bin')).equals(data)).toBe(true);
  });
});

describe('other operations', () => {
  it('copies within destination buckets (COPY and REPLACE metadata) and deletes in batches', async () => {
    await dest.send(
      new PutObjectCommand({
        Bucket: DST,
        Key: 'orig.txt',
        Body: 'hello',
        ContentType: 'text/plain',
        Metadata: { 'source-etag': 'abc' },
      }),
    );
    const copied = await dest.send(
      new CopyObjectCommand({ Bucket: DST, Key: 'copy.txt', CopySource: `${DST}/orig.txt` }),
    );
    expect(copied.CopyObjectResult?.ETag).toBe(`"${createHash('md5').update('hello').digest('hex')}"`);
    const head = await dest.send(new HeadObjectCommand({ Bucket: DST, Key: 'copy.txt' }));
    expect(head.ContentType).toBe('text/plain');
    expect(head.Metadata).toEqual({ 'source-etag': 'abc' });
    await dest.send(
      new CopyObjectCommand({
        Bucket: DST,
        Key: 'copy.txt',
        CopySource: `${DST}/orig.txt`,
        MetadataDirective: 'REPLACE',
        Metadata: { x: '1' },
      }),
    );
    expect((await dest.send(new HeadObjectCommand({ Bucket: DST, Key: 'copy.txt' }))).Metadata).toEqual({
      x: '1',
    });
    const del = await dest.send(
      new DeleteObjectsCommand({
        Bucket: DST,
        Delete: { Objects: [{ Key: 'orig.txt' }, { Key: 'copy.txt' }, { Key: 'absent' }] },
      }),
    );
    expect(del.Deleted?.map((d) => d.Key).sort()).toEqual(['absent', 'copy.txt', 'orig.txt']);
    await expectS3Error(dest.send(new HeadObjectCommand({ Bucket: DST, Key: 'orig.txt' })), 'NotFound', 404);
  });

  it('stores empty objects', async () => {
    await dest.send(new PutObjectCommand({ Bucket: DST, Key: 'empty', Body: '' }));
    const head = await dest.send(new HeadObjectCommand({ Bucket: DST, Key: 'empty' }));
    expect(head.ContentLength).toBe(0);
    expect(head.ETag).toBe('"d41d8cd98f00b204e9800998ecf8427e"');
    expect((await getBytes(dest, DST, 'empty')).length).toBe(0);
    await expectS3Error(
      dest.send(new GetObjectCommand({ Bucket: DST, Key: 'empty', Range: 'bytes=0-' })),
      'InvalidRange',
      416,
    );
    await dest.send(
      new PutObjectCommand({ Bucket: DST, Key: 'empty-stream', Body: Readable.from([]), ContentLength: 0 }),
    );
    expect((await dest.send(new HeadObjectCommand({ Bucket: DST, Key: 'empty-stream' }))).ContentLength).toBe(
      0,
    );
  });

  it('reports NoSuchBucket and NoSuchKey with S3 XML', async () => {
    await expectS3Error(
      admin.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' })),
      'NoSuchBucket',
      404,
    );
    const err = await expectS3Error(
      admin.send(new GetObjectCommand({ Bucket: SRC, Key: 'absent/key' })),
      'NoSuchKey',
      404,
    );
    expect((err as unknown as { Key?: string }).Key).toBe('absent/key');
  });
});
