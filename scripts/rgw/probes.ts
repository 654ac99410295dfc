/**
 * The requests scripts/rgw/probe-differences.ts sends to both backends, and how their answers are
 * normalised (ETags to their shape, dates and request ids dropped) so that they can be compared.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IssuedCredentials } from '../../emulators/tea/issuer';
import { element, elements, send, type Keys, type RawResponse, type S3Target } from './raw-s3';

/** A response header, repeated ones joined. */
function header(res: RawResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** An ETag's shape: `"<md5>"`, `"<md5>-2"`, unquoted, or as it is when unusual. */
function etagShape(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined;
  if (etag === '') return '(empty)';
  return etag
    .replace(/^"[0-9a-f]{32}"$/, '"<md5>"')
    .replace(/^"[0-9a-f]{32}-(\d+)"$/, '"<md5>-$1"')
    .replace(/^[0-9a-f]{32}$/, '<md5> (unquoted)')
    .replace(/^[0-9a-f]{32}-(\d+)$/, '<md5>-$1 (unquoted)');
}

export type Answer = Record<string, string | number | boolean | undefined>;

/** Status, error code, and the headers that matter here. */
function answer(res: RawResponse, headers: string[] = [], extra: Answer = {}): Answer {
  const out: Answer = { status: res.status };
  if (res.status >= 300 && res.text.includes('<Error>')) {
    out.code = element(res.text, 'Code');
    // Which elements the error document carries besides Code and Message.
    out['error elements'] = Array.from(
      new Set(Array.from(res.text.matchAll(/<(\w+)>/g), (m) => m[1]).filter((t) => t !== 'Error')),
    ).join(',');
  } else if (res.status >= 300) {
    out.body = res.text.length ? `${res.text.length} bytes` : '(empty)';
  }
  for (const h of headers) {
    // The length of an error document says nothing.
    if (h === 'content-length' && res.status >= 400) continue;
    const value = header(res, h);
    out[h] = h === 'etag' ? etagShape(value) : value;
  }
  return { ...out, ...extra };
}

export interface Backend extends S3Target {
  name: 'rgw' | 'embedded';
  endpoint: string;
  region: string;
  admin: Keys;
  destination: Keys;
  source: string;
  dest: string;
  /** A key id SSE-KMS requests may name (RGW's testing KMS backend knows it; the embedded S3 is given it). */
  kmsKeyId: string;
  /** Read-only session credentials for the source bucket, as the TEA emulator would issue them. */
  issue(lifetimeSeconds: number): Promise<IssuedCredentials>;
}

export interface Probe {
  name: string;
  /** The request(s), for the report. */
  request: string;
  run(b: Backend): Promise<Answer>;
}

const MiB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const crc32 = (data: Buffer): string => {
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE(~c >>> 0);
  return out.toString('base64');
};
const md5Base64 = (data: Buffer): string => createHash('md5').update(data).digest('base64');
const CHECKSUM_HEADERS = [
  'x-amz-checksum-crc32',
  'x-amz-checksum-crc32c',
  'x-amz-checksum-crc64nvme',
  'x-amz-checksum-sha1',
  'x-amz-checksum-sha256',
  'x-amz-checksum-type',
];
const HELLO = Buffer.from('hello, world\n');
const PART = randomBytes(5 * MiB);
const LAST_PART = randomBytes(1234);

async function put(
  b: Backend,
  keys: Keys,
  bucket: string,
  key: string,
  body: Buffer | string,
): Promise<void> {
  const res = await send(b, keys, { method: 'PUT', bucket, key, body });
  if (res.status !== 200) throw new Error(`${b.name}: seeding ${bucket}/${key} answered ${res.status}`);
}

/** A completed two-part upload of PART + LAST_PART with CRC32 checksums; returns the Complete answer. */
async function multipartIn(
  b: Backend,
  keys: Keys,
  bucket: string,
  key: string,
  options: { checksum: boolean },
): Promise<{ create: RawResponse; parts: RawResponse[]; list: RawResponse; complete: RawResponse }> {
  const create = await send(b, keys, {
    method: 'POST',
    bucket,
    key,
    query: { uploads: '' },
    headers: options.checksum ? { 'x-amz-checksum-algorithm': 'CRC32' } : {},
  });
  const uploadId = element(create.text, 'UploadId')!;
  const parts: RawResponse[] = [];
  for (const [i, body] of [PART, LAST_PART].entries()) {
    parts.push(
      await send(b, keys, {
        method: 'PUT',
        bucket,
        key,
        query: { partNumber: String(i + 1), uploadId },
        headers: options.checksum
          ? { 'x-amz-checksum-crc32': crc32(body), 'x-amz-sdk-checksum-algorithm': 'CRC32' }
          : {},
        body,
      }),
    );
  }
  const list = await send(b, keys, { method: 'GET', bucket, key, query: { uploadId } });
  const xmlParts = parts
    .map(
      (p, i) =>
        `<Part><PartNumber>${i + 1}</PartNumber><ETag>${p.headers.etag}</ETag>` +
        (options.checksum
          ? `<ChecksumCRC32>${p.headers['x-amz-checksum-crc32'] ?? crc32(i ? LAST_PART : PART)}</ChecksumCRC32>`
          : '') +
        `</Part>`,
    )
    .join('');
  const complete = await send(b, keys, {
    method: 'POST',
    bucket,
    key,
    query: { uploadId },
    body: `<CompleteMultipartUpload>${xmlParts}</CompleteMultipartUpload>`,
  });
  if (complete.status !== 200)
    throw new Error(`${b.name}: CompleteMultipartUpload ${key} answered ${complete.status}`);
  return { create, parts, list, complete };
}

const multipart = (b: Backend, key: string, options: { checksum: boolean }) =>
  multipartIn(b, b.destination, b.dest, key, options);

/** Objects every backend holds before the probes run. */
export async function seed(b: Backend): Promise<void> {
  await put(b, b.admin, b.source, 'probe/hello.txt', HELLO);
  await put(b, b.admin, b.source, 'probe/empty', Buffer.alloc(0));
  const crc = await send(b, b.admin, {
    method: 'PUT',
    bucket: b.source,
    key: 'probe/crc.txt',
    headers: { 'x-amz-checksum-crc32': crc32(HELLO), 'x-amz-sdk-checksum-algorithm': 'CRC32' },
    body: HELLO,
  });
  if (crc.status !== 200) throw new Error(`${b.name}: seeding probe/crc.txt answered ${crc.status}`);
  for (const key of LIST_KEYS) await put(b, b.admin, b.source, key, key);
  await multipartIn(b, b.admin, b.source, 'probe/mpu.bin', { checksum: true });
  await put(b, b.destination, b.dest, 'exists.txt', HELLO);
}

/** Keys whose listing order and encoding differ between implementations that get them wrong. */
const LIST_KEYS = [
  'list/a',
  'list/A',
  'list/a b',
  'list/a+b',
  'list/a%b',
  'list/a!b',
  'list/a-b',
  'list/a.b',
  'list/a~b',
  'list/a//b',
  'list/a/b',
  'list/a\tb',
  'list/é',
  'list/雪',
  'list/\u007f',
  'list/~',
  'list/z&<>"\'',
];

const keysOf = (xmlText: string): string =>
  elements(xmlText, 'Key')
    .map((k) => JSON.stringify(k))
    .join(' ');
const prefixesOf = (xmlText: string): string =>
  elements(xmlText, 'CommonPrefixes')
    .map((p) => JSON.stringify(element(p, 'Prefix')))
    .join(' ');
/** The names of the top-level elements of a listing, in order of first appearance. */
const topElements = (xmlText: string): string =>
  Array.from(
    new Set(
      Array.from(
        xmlText.replace(/<(Contents|CommonPrefixes|Owner)>[\s\S]*?<\/\1>/g, '<$1/>').matchAll(/<(\w+)\/?>/g),
        (m) => m[1],
      ),
    ),
  ).join(',');

async function list(b: Backend, keys: Keys, query: Record<string, string>): Promise<RawResponse> {
  return send(b, keys, { method: 'GET', bucket: b.source, query: { 'list-type': '2', ...query } });
}

async function session(b: Backend, seconds = 900): Promise<Keys> {
  return b.issue(seconds);
}

async function get(
  b: Backend,
  headers: Record<string, string>,
  key = 'probe/hello.txt',
  method = 'GET',
  query = {},
) {
  return send(b, await session(b), { method, bucket: b.source, key, headers, query });
}

const RANGE_HEADERS = ['content-range', 'content-length', 'etag'];

export const PROBES: Probe[] = [
  // ---------------------------------------------------------------- writes and checksums
  {
    name: 'PutObject, no checksum',
    request: 'PUT /dest/probe/plain.txt (13 bytes, signed payload, no checksum headers)',
    run: async (b) =>
      answer(
        await send(b, b.destination, { method: 'PUT', bucket: b.dest, key: 'probe/plain.txt', body: HELLO }),
        ['etag', ...CHECKSUM_HEADERS],
      ),
  },
  {
    name: 'PutObject with x-amz-checksum-crc32',
    request: 'PUT /dest/probe/crc.txt with x-amz-checksum-crc32 (right value)',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/crc.txt',
          headers: { 'x-amz-checksum-crc32': crc32(HELLO), 'x-amz-sdk-checksum-algorithm': 'CRC32' },
          body: HELLO,
        }),
        ['etag', ...CHECKSUM_HEADERS],
      ),
  },
  {
    name: 'PutObject with a wrong x-amz-checksum-crc32',
    request: 'PUT /dest/probe/bad-crc.txt with x-amz-checksum-crc32 of other bytes',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/bad-crc.txt',
          headers: {
            'x-amz-checksum-crc32': crc32(Buffer.from('other')),
            'x-amz-sdk-checksum-algorithm': 'CRC32',
          },
          body: HELLO,
        }),
      ),
  },
  {
    name: 'PutObject with a wrong Content-MD5',
    request: 'PUT /dest/probe/bad-md5.txt with Content-MD5 of other bytes',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/bad-md5.txt',
          headers: { 'content-md5': md5Base64(Buffer.from('other')) },
          body: HELLO,
        }),
      ),
  },
  {
    name: 'PutObject aws-chunked, STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer',
    request:
      'PUT /dest/probe/trailer.txt, Content-Encoding aws-chunked, x-amz-trailer x-amz-checksum-crc32 (what the SDK sends for a stream body); then HEAD it',
    run: async (b) => {
      const framed = Buffer.concat([
        Buffer.from(`${HELLO.length.toString(16)}\r\n`),
        HELLO,
        Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${crc32(HELLO)}\r\n\r\n`),
      ]);
      const res = await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key: 'probe/trailer.txt',
        headers: {
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(HELLO.length),
          'x-amz-trailer': 'x-amz-checksum-crc32',
          'x-amz-sdk-checksum-algorithm': 'CRC32',
        },
        payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        body: framed,
      });
      const head = await send(b, b.destination, { method: 'HEAD', bucket: b.dest, key: 'probe/trailer.txt' });
      return answer(res, ['x-amz-checksum-crc32'], {
        'stored Content-Length (HEAD)':
          head.status === 200 ? header(head, 'content-length') : `HEAD ${head.status}`,
        'stored Content-Encoding (HEAD)': header(head, 'content-encoding'),
      });
    },
  },
  {
    name: 'PutObject aws-chunked with a wrong CRC32 trailer',
    request: 'as above with the trailer checksum of other bytes',
    run: async (b) => {
      const framed = Buffer.concat([
        Buffer.from(`${HELLO.length.toString(16)}\r\n`),
        HELLO,
        Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${crc32(Buffer.from('other'))}\r\n\r\n`),
      ]);
      return answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/bad-trailer.txt',
          headers: {
            'content-encoding': 'aws-chunked',
            'x-amz-decoded-content-length': String(HELLO.length),
            'x-amz-trailer': 'x-amz-checksum-crc32',
            'x-amz-sdk-checksum-algorithm': 'CRC32',
          },
          payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
          body: framed,
        }),
      );
    },
  },
  {
    name: 'PutObject with UNSIGNED-PAYLOAD',
    request: 'PUT /dest/probe/unsigned.txt, x-amz-content-sha256: UNSIGNED-PAYLOAD, x-amz-checksum-crc32',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/unsigned.txt',
          headers: { 'x-amz-checksum-crc32': crc32(HELLO), 'x-amz-sdk-checksum-algorithm': 'CRC32' },
          payloadHash: 'UNSIGNED-PAYLOAD',
          body: HELLO,
        }),
        ['etag'],
      ),
  },
  {
    name: 'PutObject with a 1025-byte key',
    request: 'PUT /dest/probe/kkk... (1025 bytes)',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: `probe/${'k'.repeat(1025 - 'probe/'.length)}`,
          body: HELLO,
        }),
      ),
  },
  {
    name: 'PutObject without Content-Length',
    request: 'PUT /dest/probe/unsized.txt with Transfer-Encoding: chunked and no Content-Length',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/unsized.txt',
          body: HELLO,
          unsized: true,
        }),
      ),
  },
  {
    name: 'PutObject If-None-Match: * on a new key',
    request: 'PUT /dest/probe/new-<random> with If-None-Match: *',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: `probe/new-${randomBytes(4).toString('hex')}`,
          headers: { 'if-none-match': '*' },
          body: HELLO,
        }),
      ),
  },
  {
    name: 'PutObject If-None-Match: * on an existing key',
    request: 'PUT /dest/exists.txt with If-None-Match: * (the key exists); then GET it',
    run: async (b) => {
      const res = await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key: 'exists.txt',
        headers: { 'if-none-match': '*' },
        body: 'overwritten',
      });
      const after = await send(b, b.destination, { method: 'GET', bucket: b.dest, key: 'exists.txt' });
      if (res.status === 200) await put(b, b.destination, b.dest, 'exists.txt', HELLO);
      return answer(res, [], {
        'object afterwards': after.text === HELLO.toString() ? 'unchanged' : 'overwritten',
      });
    },
  },
  {
    name: 'PutObject If-Match with a wrong ETag',
    request: 'PUT /dest/exists.txt with If-Match: "<md5 of other bytes>"',
    run: async (b) => {
      const res = await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key: 'exists.txt',
        headers: { 'if-match': `"${createHash('md5').update('other').digest('hex')}"` },
        body: 'overwritten',
      });
      if (res.status === 200) await put(b, b.destination, b.dest, 'exists.txt', HELLO);
      return answer(res);
    },
  },
  {
    name: 'PutObject SSE-KMS with a known key id, then HEAD',
    request:
      "PUT /dest/probe/kms.txt with x-amz-server-side-encryption: aws:kms and a key id RGW's testing KMS knows; HEAD it",
    run: async (b) => {
      const res = await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key: 'probe/kms.txt',
        headers: {
          'x-amz-server-side-encryption': 'aws:kms',
          'x-amz-server-side-encryption-aws-kms-key-id': b.kmsKeyId,
        },
        body: HELLO,
      });
      const head = await send(b, b.destination, { method: 'HEAD', bucket: b.dest, key: 'probe/kms.txt' });
      return answer(res, ['x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id'], {
        'HEAD x-amz-server-side-encryption': header(head, 'x-amz-server-side-encryption'),
        'ETag is the MD5 of the body':
          header(res, 'etag') === `"${createHash('md5').update(HELLO).digest('hex')}"`,
      });
    },
  },
  {
    name: 'PutObject SSE-C, then GET without the key, with another key, with the key',
    request: 'PUT /dest/probe/ssec.txt with an SSE-C key (AES256, key, key MD5); GET it three ways',
    run: async (b) => {
      const keyHeaders = (key: Buffer): Record<string, string> => ({
        'x-amz-server-side-encryption-customer-algorithm': 'AES256',
        'x-amz-server-side-encryption-customer-key': key.toString('base64'),
        'x-amz-server-side-encryption-customer-key-md5': md5Base64(key),
      });
      const key = Buffer.alloc(32, 7);
      const target = { bucket: b.dest, key: 'probe/ssec.txt' };
      const res = await send(b, b.destination, {
        method: 'PUT',
        ...target,
        headers: keyHeaders(key),
        body: HELLO,
      });
      const without = await send(b, b.destination, { method: 'GET', ...target });
      const other = await send(b, b.destination, {
        method: 'GET',
        ...target,
        headers: keyHeaders(Buffer.alloc(32, 8)),
      });
      const right = await send(b, b.destination, { method: 'GET', ...target, headers: keyHeaders(key) });
      return answer(res, ['x-amz-server-side-encryption-customer-algorithm'], {
        'ETag is the MD5 of the body':
          header(res, 'etag') === `"${createHash('md5').update(HELLO).digest('hex')}"`,
        'GET without the key': `${without.status} ${element(without.text, 'Code') ?? ''}`,
        'GET with another key': `${other.status} ${element(other.text, 'Code') ?? ''}`,
        'GET with the key': `${right.status} ${right.text === HELLO.toString() ? 'same bytes' : 'other bytes'}`,
      });
    },
  },
  {
    name: 'PutObject SSE-KMS with an unknown key id',
    request: 'PUT /dest/probe/kms-unknown.txt with x-amz-server-side-encryption: aws:kms, key id no-such-key',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/kms-unknown.txt',
          headers: {
            'x-amz-server-side-encryption': 'aws:kms',
            'x-amz-server-side-encryption-aws-kms-key-id': 'no-such-key',
          },
          body: HELLO,
        }),
      ),
  },
  {
    name: 'PutObject SSE-S3 (AES256)',
    request: 'PUT /dest/probe/sse-s3.txt with x-amz-server-side-encryption: AES256',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/sse-s3.txt',
          headers: { 'x-amz-server-side-encryption': 'AES256' },
          body: HELLO,
        }),
        ['x-amz-server-side-encryption'],
      ),
  },
  {
    name: 'PutObject with user metadata, then HEAD',
    request:
      'PUT /dest/probe/meta.txt with x-amz-meta-source-etag: "abc" and Content-Type text/plain; HEAD it',
    run: async (b) => {
      await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key: 'probe/meta.txt',
        headers: { 'x-amz-meta-source-etag': '"abc"', 'content-type': 'text/plain' },
        body: HELLO,
      });
      return answer(await send(b, b.destination, { method: 'HEAD', bucket: b.dest, key: 'probe/meta.txt' }), [
        'x-amz-meta-source-etag',
        'content-type',
      ]);
    },
  },

  // ---------------------------------------------------------------- multipart
  {
    name: 'CompleteMultipartUpload (no checksums)',
    request: 'CreateMultipartUpload, UploadPart x2 (5 MiB + 1234 B), CompleteMultipartUpload',
    run: async (b) => {
      const { complete } = await multipart(b, 'probe/mpu-plain.bin', { checksum: false });
      return answer(complete, ['etag'], {
        'body ETag': etagShape(element(complete.text, 'ETag')),
        'body Location': element(complete.text, 'Location')?.replace(/127\.0\.0\.1:\d+/, '<host>'),
      });
    },
  },
  {
    name: 'Multipart upload with CRC32 checksums',
    request:
      'CreateMultipartUpload x-amz-checksum-algorithm: CRC32; UploadPart with x-amz-checksum-crc32; ListParts; CompleteMultipartUpload with ChecksumCRC32 per part',
    run: async (b) => {
      const {
        create,
        parts,
        list: listed,
        complete,
      } = await multipart(b, 'probe/mpu-crc.bin', { checksum: true });
      return {
        'create status': create.status,
        'create x-amz-checksum-algorithm': header(create, 'x-amz-checksum-algorithm'),
        'UploadPart status': parts[0].status,
        'UploadPart etag': etagShape(parts[0].headers.etag),
        'UploadPart x-amz-checksum-crc32': parts[0].headers['x-amz-checksum-crc32'] ? 'present' : 'absent',
        'ListParts ChecksumCRC32': elements(listed.text, 'ChecksumCRC32').length ? 'present' : 'absent',
        'ListParts ChecksumAlgorithm': element(listed.text, 'ChecksumAlgorithm'),
        'Complete status': complete.status,
        'Complete body ETag': etagShape(element(complete.text, 'ETag')),
        'Complete body ChecksumCRC32': element(complete.text, 'ChecksumCRC32')?.replace(
          /^[A-Za-z0-9+/=]{8}/,
          '<crc32>',
        ),
        'Complete body ChecksumType': element(complete.text, 'ChecksumType'),
        'Complete x-amz-checksum-crc32': header(complete, 'x-amz-checksum-crc32'),
      };
    },
  },
  {
    name: 'UploadPart with a wrong x-amz-checksum-crc32',
    request: 'CreateMultipartUpload (CRC32); UploadPart with the CRC32 of other bytes',
    run: async (b) => {
      const create = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key: 'probe/bad-part.bin',
        query: { uploads: '' },
        headers: { 'x-amz-checksum-algorithm': 'CRC32' },
      });
      const uploadId = element(create.text, 'UploadId')!;
      const res = await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key: 'probe/bad-part.bin',
        query: { partNumber: '1', uploadId },
        headers: {
          'x-amz-checksum-crc32': crc32(Buffer.from('other')),
          'x-amz-sdk-checksum-algorithm': 'CRC32',
        },
        body: LAST_PART,
      });
      await send(b, b.destination, {
        method: 'DELETE',
        bucket: b.dest,
        key: 'probe/bad-part.bin',
        query: { uploadId },
      });
      return answer(res);
    },
  },
  {
    name: 'CompleteMultipartUpload with a part under 5 MiB that is not the last',
    request: 'UploadPart 1 (1234 B), UploadPart 2 (1234 B), CompleteMultipartUpload',
    run: async (b) => {
      const key = 'probe/too-small.bin';
      const create = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploads: '' },
      });
      const uploadId = element(create.text, 'UploadId')!;
      const etags: string[] = [];
      for (const n of [1, 2]) {
        const part = await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key,
          query: { partNumber: String(n), uploadId },
          body: LAST_PART,
        });
        etags.push(String(part.headers.etag));
      }
      const body = etags
        .map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`)
        .join('');
      const res = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploadId },
        body: `<CompleteMultipartUpload>${body}</CompleteMultipartUpload>`,
      });
      await send(b, b.destination, { method: 'DELETE', bucket: b.dest, key, query: { uploadId } });
      return answer(res);
    },
  },
  {
    name: 'CompleteMultipartUpload with a wrong part ETag',
    request: 'UploadPart 1, CompleteMultipartUpload naming part 1 with another ETag',
    run: async (b) => {
      const key = 'probe/wrong-etag.bin';
      const create = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploads: '' },
      });
      const uploadId = element(create.text, 'UploadId')!;
      await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key,
        query: { partNumber: '1', uploadId },
        body: LAST_PART,
      });
      const res = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploadId },
        body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"${'0'.repeat(32)}"</ETag></Part></CompleteMultipartUpload>`,
      });
      await send(b, b.destination, { method: 'DELETE', bucket: b.dest, key, query: { uploadId } });
      return answer(res);
    },
  },
  {
    name: 'CompleteMultipartUpload with parts out of order',
    request: 'UploadPart 1 (5 MiB) and 2, CompleteMultipartUpload listing 2 then 1',
    run: async (b) => {
      const key = 'probe/order.bin';
      const create = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploads: '' },
      });
      const uploadId = element(create.text, 'UploadId')!;
      const etags: string[] = [];
      for (const [i, body] of [PART, LAST_PART].entries()) {
        const part = await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key,
          query: { partNumber: String(i + 1), uploadId },
          body,
        });
        etags.push(String(part.headers.etag));
      }
      const res = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploadId },
        body:
          `<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>${etags[1]}</ETag></Part>` +
          `<Part><PartNumber>1</PartNumber><ETag>${etags[0]}</ETag></Part></CompleteMultipartUpload>`,
      });
      await send(b, b.destination, { method: 'DELETE', bucket: b.dest, key, query: { uploadId } });
      return answer(res);
    },
  },
  {
    name: 'CompleteMultipartUpload If-None-Match: * on an existing key',
    request: 'multipart upload to /dest/exists.txt, CompleteMultipartUpload with If-None-Match: *',
    run: async (b) => {
      const key = 'exists.txt';
      const create = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploads: '' },
      });
      const uploadId = element(create.text, 'UploadId')!;
      const part = await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key,
        query: { partNumber: '1', uploadId },
        body: LAST_PART,
      });
      const res = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploadId },
        headers: { 'if-none-match': '*' },
        body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers.etag}</ETag></Part></CompleteMultipartUpload>`,
      });
      const after = await send(b, b.destination, { method: 'GET', bucket: b.dest, key });
      if (res.status === 200) await put(b, b.destination, b.dest, key, HELLO);
      else await send(b, b.destination, { method: 'DELETE', bucket: b.dest, key, query: { uploadId } });
      return answer(res, [], {
        'object afterwards': after.text === HELLO.toString() ? 'unchanged' : 'overwritten',
      });
    },
  },
  {
    name: 'AbortMultipartUpload, then ListParts and Abort again',
    request: 'CreateMultipartUpload, UploadPart, AbortMultipartUpload, ListParts, AbortMultipartUpload',
    run: async (b) => {
      const key = 'probe/aborted.bin';
      const create = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploads: '' },
      });
      const uploadId = element(create.text, 'UploadId')!;
      await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key,
        query: { partNumber: '1', uploadId },
        body: LAST_PART,
      });
      const abort = await send(b, b.destination, {
        method: 'DELETE',
        bucket: b.dest,
        key,
        query: { uploadId },
      });
      const listParts = await send(b, b.destination, {
        method: 'GET',
        bucket: b.dest,
        key,
        query: { uploadId },
      });
      const again = await send(b, b.destination, {
        method: 'DELETE',
        bucket: b.dest,
        key,
        query: { uploadId },
      });
      return {
        'abort status': abort.status,
        'ListParts status': listParts.status,
        'ListParts code': element(listParts.text, 'Code'),
        'abort again status': again.status,
        'abort again code': element(again.text, 'Code'),
      };
    },
  },
  {
    name: 'UploadPartCopy',
    request:
      'admin: CreateMultipartUpload in /dest, UploadPartCopy from /source/probe/hello.txt (x-amz-copy-source)',
    run: async (b) => {
      const key = 'probe/part-copy.bin';
      const create = await send(b, b.admin, { method: 'POST', bucket: b.dest, key, query: { uploads: '' } });
      const uploadId = element(create.text, 'UploadId')!;
      const res = await send(b, b.admin, {
        method: 'PUT',
        bucket: b.dest,
        key,
        query: { partNumber: '1', uploadId },
        headers: {
          'x-amz-copy-source': `/${b.source}/probe/hello.txt`,
          'x-amz-copy-source-range': 'bytes=0-4',
        },
      });
      await send(b, b.admin, { method: 'DELETE', bucket: b.dest, key, query: { uploadId } });
      return answer(res, [], { 'CopyPartResult ETag': etagShape(element(res.text, 'ETag')) });
    },
  },

  // ---------------------------------------------------------------- reads (TEA-issued session credentials)
  {
    name: 'GetObject',
    request: 'GET /source/probe/hello.txt (put without Content-Type)',
    run: async (b) => {
      const res = await get(b, {});
      return answer(res, ['etag', 'content-length', 'accept-ranges', 'content-type', ...CHECKSUM_HEADERS], {
        'last-modified format': String(res.headers['last-modified'])
          .replace(/\d/g, '9')
          .replace(/[A-Z][a-z]{2}/g, 'Xxx'),
      });
    },
  },
  {
    name: 'GetObject ChecksumMode ENABLED, object put with CRC32',
    request: 'GET /source/probe/crc.txt with x-amz-checksum-mode: ENABLED',
    run: async (b) =>
      answer(await get(b, { 'x-amz-checksum-mode': 'ENABLED' }, 'probe/crc.txt'), CHECKSUM_HEADERS),
  },
  {
    name: 'GetObject ChecksumMode ENABLED, object put without checksum',
    request: 'GET /source/probe/hello.txt with x-amz-checksum-mode: ENABLED',
    run: async (b) => answer(await get(b, { 'x-amz-checksum-mode': 'ENABLED' }), CHECKSUM_HEADERS),
  },
  {
    name: 'GetObject ChecksumMode ENABLED, multipart object with CRC32',
    request: 'GET /source/probe/mpu.bin (2 parts, CRC32) with x-amz-checksum-mode: ENABLED',
    run: async (b) => {
      const res = await get(b, { 'x-amz-checksum-mode': 'ENABLED' }, 'probe/mpu.bin');
      const a = answer(res, ['etag', ...CHECKSUM_HEADERS]);
      if (typeof a['x-amz-checksum-crc32'] === 'string')
        a['x-amz-checksum-crc32'] = a['x-amz-checksum-crc32'].replace(/^[A-Za-z0-9+/=]{8}/, '<crc32>');
      return a;
    },
  },
  {
    name: 'HeadObject partNumber=1 of a multipart object',
    request: 'HEAD /source/probe/mpu.bin?partNumber=1',
    run: async (b) =>
      answer(await get(b, {}, 'probe/mpu.bin', 'HEAD', { partNumber: '1' }), [
        'content-length',
        'x-amz-mp-parts-count',
        'content-range',
        'etag',
      ]),
  },
  {
    name: 'GetObject Range bytes=0-4',
    request: 'GET /source/probe/hello.txt, Range: bytes=0-4',
    run: async (b) => answer(await get(b, { range: 'bytes=0-4' }), RANGE_HEADERS),
  },
  {
    name: 'GetObject Range bytes=-4 (suffix)',
    request: 'GET /source/probe/hello.txt, Range: bytes=-4',
    run: async (b) => answer(await get(b, { range: 'bytes=-4' }), RANGE_HEADERS),
  },
  {
    name: 'GetObject Range past the end, overlapping',
    request: 'GET /source/probe/hello.txt (13 B), Range: bytes=5-100',
    run: async (b) => answer(await get(b, { range: 'bytes=5-100' }), RANGE_HEADERS),
  },
  {
    name: 'GetObject Range wholly past the end',
    request: 'GET /source/probe/hello.txt (13 B), Range: bytes=100-200',
    run: async (b) => answer(await get(b, { range: 'bytes=100-200' }), ['content-range']),
  },
  {
    name: 'GetObject empty object, Range bytes=0-0',
    request: 'GET /source/probe/empty (0 B), Range: bytes=0-0',
    run: async (b) =>
      answer(await get(b, { range: 'bytes=0-0' }, 'probe/empty'), ['content-range', 'content-length']),
  },
  {
    name: 'GetObject empty object, no Range',
    request: 'GET /source/probe/empty',
    run: async (b) => answer(await get(b, {}, 'probe/empty'), ['content-length', 'etag']),
  },
  {
    name: 'GetObject Range with bad syntax',
    request: 'GET /source/probe/hello.txt, Range: bytes=abc',
    run: async (b) => answer(await get(b, { range: 'bytes=abc' }), RANGE_HEADERS),
  },
  {
    name: 'GetObject with two ranges',
    request: 'GET /source/probe/hello.txt, Range: bytes=0-1,3-4',
    run: async (b) =>
      answer(await get(b, { range: 'bytes=0-1,3-4' }), ['content-range', 'content-length', 'content-type']),
  },
  {
    name: 'GetObject If-Match with a wrong ETag',
    request: 'GET /source/probe/hello.txt, If-Match: "<md5 of other bytes>"',
    run: async (b) =>
      answer(await get(b, { 'if-match': `"${createHash('md5').update('x').digest('hex')}"` }), ['etag']),
  },
  {
    name: 'GetObject If-Match right ETag with Range',
    request: 'GET /source/probe/hello.txt, If-Match: <its ETag>, Range: bytes=0-0',
    run: async (b) =>
      answer(
        await get(b, {
          'if-match': `"${createHash('md5').update(HELLO).digest('hex')}"`,
          range: 'bytes=0-0',
        }),
        RANGE_HEADERS,
      ),
  },
  {
    name: 'GetObject If-Match unquoted ETag',
    request: 'GET /source/probe/hello.txt, If-Match: <md5 without quotes>',
    run: async (b) => answer(await get(b, { 'if-match': createHash('md5').update(HELLO).digest('hex') })),
  },
  {
    name: 'HeadObject If-Match with a wrong ETag',
    request: 'HEAD /source/probe/hello.txt, If-Match: "<md5 of other bytes>"',
    run: async (b) =>
      answer(
        await get(
          b,
          { 'if-match': `"${createHash('md5').update('x').digest('hex')}"` },
          'probe/hello.txt',
          'HEAD',
        ),
      ),
  },
  {
    name: 'GetObject If-None-Match with its ETag',
    request: 'GET /source/probe/hello.txt, If-None-Match: <its ETag>',
    run: async (b) =>
      answer(await get(b, { 'if-none-match': `"${createHash('md5').update(HELLO).digest('hex')}"` }), [
        'etag',
      ]),
  },
  {
    name: 'GetObject If-Unmodified-Since in the past',
    request: 'GET /source/probe/hello.txt, If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT',
    run: async (b) => answer(await get(b, { 'if-unmodified-since': 'Sat, 01 Jan 2000 00:00:00 GMT' })),
  },
  {
    name: 'HeadObject, missing key',
    request: 'HEAD /source/probe/missing (credentials may list the bucket)',
    run: async (b) => answer(await get(b, {}, 'probe/missing', 'HEAD'), ['content-type', 'content-length']),
  },
  {
    name: 'GetObject, missing key',
    request: 'GET /source/probe/missing',
    run: async (b) => answer(await get(b, {}, 'probe/missing')),
  },
  {
    name: 'GetObject, missing bucket (admin)',
    request: 'GET /no-such-bucket-<random>/k with the admin key pair',
    run: async (b) =>
      answer(
        await send(b, b.admin, {
          method: 'GET',
          bucket: `no-such-bucket-${randomBytes(3).toString('hex')}`,
          key: 'k',
        }),
      ),
  },
  {
    name: 'HeadBucket, missing bucket (admin)',
    request: 'HEAD /no-such-bucket-<random> with the admin key pair',
    run: async (b) =>
      answer(
        await send(b, b.admin, {
          method: 'HEAD',
          bucket: `no-such-bucket-${randomBytes(3).toString('hex')}`,
        }),
      ),
  },
  {
    name: 'HeadObject on the destination bucket with read-only credentials',
    request: 'HEAD /dest/exists.txt with TEA-issued credentials',
    run: async (b) =>
      answer(await send(b, await session(b), { method: 'HEAD', bucket: b.dest, key: 'exists.txt' })),
  },

  // ---------------------------------------------------------------- authentication
  {
    name: 'GetObject with an expired session token',
    request: 'GET /source/probe/hello.txt with credentials issued for 1 s, 2.5 s later',
    run: async (b) => {
      const keys = await b.issue(1);
      await sleep(2_500);
      return answer(await send(b, keys, { method: 'GET', bucket: b.source, key: 'probe/hello.txt' }));
    },
  },
  {
    name: 'HeadObject with an expired session token',
    request: 'HEAD /source/probe/hello.txt with credentials issued for 1 s, 2.5 s later',
    run: async (b) => {
      const keys = await b.issue(1);
      await sleep(2_500);
      return answer(await send(b, keys, { method: 'HEAD', bucket: b.source, key: 'probe/hello.txt' }));
    },
  },
  {
    name: 'GetObject with a garbled session token',
    request: 'GET /source/probe/hello.txt, x-amz-security-token with its last 8 characters changed',
    run: async (b) => {
      const keys = await session(b);
      const token = keys.sessionToken!;
      return answer(
        await send(
          b,
          {
            ...keys,
            sessionToken: token.slice(0, -8) + (token.endsWith('AAAAAAAA') ? 'BBBBBBBB' : 'AAAAAAAA'),
          },
          {
            method: 'GET',
            bucket: b.source,
            key: 'probe/hello.txt',
          },
        ),
      );
    },
  },
  {
    name: 'GetObject with session keys but no session token',
    request: 'GET /source/probe/hello.txt signed with the issued key pair, x-amz-security-token omitted',
    run: async (b) => {
      const { accessKeyId, secretAccessKey } = await session(b);
      return answer(
        await send(
          b,
          { accessKeyId, secretAccessKey },
          { method: 'GET', bucket: b.source, key: 'probe/hello.txt' },
        ),
      );
    },
  },
  {
    name: 'GetObject with a wrong secret',
    request: 'GET /source/probe/hello.txt signed with another secret',
    run: async (b) => {
      const keys = await session(b);
      return answer(
        await send(
          b,
          { ...keys, secretAccessKey: 'x' + keys.secretAccessKey.slice(1) },
          { method: 'GET', bucket: b.source, key: 'probe/hello.txt' },
        ),
      );
    },
  },
  {
    name: 'GetObject with an unknown access key',
    request: 'GET /source/probe/hello.txt signed with AKIAUNKNOWN...',
    run: async (b) =>
      answer(
        await send(
          b,
          { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x'.repeat(40) },
          { method: 'GET', bucket: b.source, key: 'probe/hello.txt' },
        ),
      ),
  },
  {
    name: 'GetObject signed 20 minutes ago',
    request: 'GET /source/probe/hello.txt with X-Amz-Date 20 minutes in the past',
    run: async (b) =>
      answer(
        await send(b, b.admin, {
          method: 'GET',
          bucket: b.source,
          key: 'probe/hello.txt',
          signingDate: new Date(Date.now() - 20 * 60_000),
        }),
      ),
  },
  {
    name: 'GetObject anonymous',
    request: 'GET /source/probe/hello.txt without Authorization',
    run: async (b) =>
      answer(await send(b, null, { method: 'GET', bucket: b.source, key: 'probe/hello.txt' })),
  },

  // ---------------------------------------------------------------- listings
  {
    name: 'ListObjectsV2 order of odd keys',
    request: `GET /source?list-type=2&prefix=list/ (keys: ${LIST_KEYS.map((k) => JSON.stringify(k)).join(', ')})`,
    run: async (b) => {
      const res = await list(b, await session(b), { prefix: 'list/' });
      return answer(res, [], { keys: keysOf(res.text) });
    },
  },
  {
    name: 'ListObjectsV2 encoding-type=url',
    request: 'GET /source?list-type=2&prefix=list/&encoding-type=url',
    run: async (b) => {
      const res = await list(b, await session(b), { prefix: 'list/', 'encoding-type': 'url' });
      return answer(res, [], {
        'raw Key values': keysOf(res.text),
        Prefix: element(res.text, 'Prefix'),
        EncodingType: element(res.text, 'EncodingType'),
      });
    },
  },
  {
    name: 'ListObjectsV2 delimiter',
    request: 'GET /source?list-type=2&prefix=list/&delimiter=/',
    run: async (b) => {
      const res = await list(b, await session(b), { prefix: 'list/', delimiter: '/' });
      return answer(res, [], {
        CommonPrefixes: prefixesOf(res.text),
        KeyCount: element(res.text, 'KeyCount'),
        'keys count': elements(res.text, 'Key').length,
      });
    },
  },
  {
    name: 'ListObjectsV2 pagination (max-keys=5)',
    request: 'GET /source?list-type=2&prefix=list/&max-keys=5, then continuation-token',
    run: async (b) => {
      const keys = await session(b);
      const first = await list(b, keys, { prefix: 'list/', 'max-keys': '5' });
      const token = element(first.text, 'NextContinuationToken');
      const second = token
        ? await list(b, keys, { prefix: 'list/', 'max-keys': '5', 'continuation-token': token })
        : undefined;
      return {
        status: first.status,
        'page 1 KeyCount': element(first.text, 'KeyCount'),
        'page 1 IsTruncated': element(first.text, 'IsTruncated'),
        'page 1 elements': topElements(first.text),
        'page 2 first key': second ? elements(second.text, 'Key')[0] : undefined,
        'page 2 ContinuationToken echoed': second
          ? element(second.text, 'ContinuationToken') === token
          : undefined,
      };
    },
  },
  {
    name: 'ListObjectsV2 StartAfter',
    request: 'GET /source?list-type=2&prefix=list/&start-after=list/a+b&max-keys=3',
    run: async (b) => {
      const res = await list(b, await session(b), {
        prefix: 'list/',
        'start-after': 'list/a+b',
        'max-keys': '3',
      });
      return answer(res, [], { keys: keysOf(res.text), StartAfter: element(res.text, 'StartAfter') });
    },
  },
  {
    name: 'ListObjectsV2 StartAfter and continuation-token together',
    request: 'page 1 with max-keys=2; page 2 with its token and start-after=list/~',
    run: async (b) => {
      const keys = await session(b);
      const first = await list(b, keys, { prefix: 'list/', 'max-keys': '2' });
      const token = element(first.text, 'NextContinuationToken') ?? '';
      const res = await list(b, keys, {
        prefix: 'list/',
        'max-keys': '2',
        'continuation-token': token,
        'start-after': 'list/~',
      });
      return answer(res, [], { keys: keysOf(res.text) });
    },
  },
  {
    name: 'ListObjectsV2 response elements',
    request: 'GET /source?list-type=2&prefix=probe/',
    run: async (b) => {
      const res = await list(b, await session(b), { prefix: 'probe/' });
      const contents = elements(res.text, 'Contents');
      const mpu = contents.find((c) => element(c, 'Key') === 'probe/mpu.bin') ?? '';
      return answer(res, [], {
        elements: topElements(res.text),
        'Contents elements': Array.from(
          new Set(Array.from((contents[0] ?? '').matchAll(/<(\w+)>/g), (m) => m[1])),
        ).join(','),
        'multipart ETag': etagShape(element(mpu, 'ETag')),
        StorageClass: element(mpu, 'StorageClass'),
        'ChecksumAlgorithm of the CRC32 object': element(
          contents.find((c) => element(c, 'Key') === 'probe/crc.txt') ?? '',
          'ChecksumAlgorithm',
        ),
      });
    },
  },
  {
    name: 'ListObjectsV2 fetch-owner=true',
    request: 'GET /source?list-type=2&prefix=probe/hello&fetch-owner=true',
    run: async (b) => {
      const res = await list(b, await session(b), { prefix: 'probe/hello', 'fetch-owner': 'true' });
      return answer(res, [], { Owner: element(res.text, 'Owner') ? 'present' : 'absent' });
    },
  },
  {
    name: 'ListObjectsV2 with an invalid continuation-token',
    request: 'GET /source?list-type=2&continuation-token=not-a-token',
    run: async (b) => answer(await list(b, await session(b), { 'continuation-token': 'not-a-token' })),
  },
  {
    name: 'ListObjectsV2 on another bucket with read-only credentials',
    request: 'GET /dest?list-type=2 with TEA-issued credentials',
    run: async (b) =>
      answer(await send(b, await session(b), { method: 'GET', bucket: b.dest, query: { 'list-type': '2' } })),
  },

  // ---------------------------------------------------------------- deletes and copies
  {
    name: 'DeleteObjects (two keys exist, one does not)',
    request: 'POST /dest?delete with Content-MD5, three <Object>s',
    run: async (b) => {
      await put(b, b.destination, b.dest, 'del/1', 'a');
      await put(b, b.destination, b.dest, 'del/2', 'b');
      const body = `<Delete>${['del/1', 'del/2', 'del/missing'].map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`;
      const res = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        query: { delete: '' },
        headers: { 'content-md5': md5Base64(Buffer.from(body)) },
        body,
      });
      return answer(res, [], {
        Deleted: elements(res.text, 'Deleted')
          .map((d) => element(d, 'Key'))
          .join(' '),
        Errors: elements(res.text, 'Error').length,
      });
    },
  },
  {
    name: 'DeleteObjects Quiet',
    request: 'POST /dest?delete, <Quiet>true</Quiet>, one existing key',
    run: async (b) => {
      await put(b, b.destination, b.dest, 'del/3', 'c');
      const body = '<Delete><Quiet>true</Quiet><Object><Key>del/3</Key></Object></Delete>';
      const res = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        query: { delete: '' },
        headers: { 'content-md5': md5Base64(Buffer.from(body)) },
        body,
      });
      return answer(res, [], { Deleted: elements(res.text, 'Deleted').length });
    },
  },
  {
    name: 'DeleteObjects without Content-MD5',
    request: 'POST /dest?delete with no Content-MD5 or checksum header',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'POST',
          bucket: b.dest,
          query: { delete: '' },
          body: '<Delete><Object><Key>del/none</Key></Object></Delete>',
        }),
      ),
  },
  {
    name: 'DeleteObjects with read-only credentials',
    request: 'POST /source?delete with TEA-issued credentials, one existing key',
    run: async (b) => {
      const body = '<Delete><Object><Key>probe/hello.txt</Key></Object></Delete>';
      const res = await send(b, await session(b), {
        method: 'POST',
        bucket: b.source,
        query: { delete: '' },
        headers: { 'content-md5': md5Base64(Buffer.from(body)) },
        body,
      });
      const still = await send(b, b.admin, { method: 'HEAD', bucket: b.source, key: 'probe/hello.txt' });
      return answer(res, [], {
        'per-key Error Code': element(element(res.text, 'Error') ?? '', 'Code'),
        'object afterwards': still.status === 200 ? 'kept' : 'deleted',
      });
    },
  },
  {
    name: 'DeleteObject, missing key',
    request: 'DELETE /dest/del/never-existed',
    run: async (b) =>
      answer(await send(b, b.destination, { method: 'DELETE', bucket: b.dest, key: 'del/never-existed' })),
  },
  {
    name: 'CopyObject',
    request: 'admin: PUT /dest/probe/copied.txt, x-amz-copy-source: /source/probe/hello.txt',
    run: async (b) => {
      const res = await send(b, b.admin, {
        method: 'PUT',
        bucket: b.dest,
        key: 'probe/copied.txt',
        headers: { 'x-amz-copy-source': `/${b.source}/probe/hello.txt` },
      });
      return answer(res, [], { 'CopyObjectResult ETag': etagShape(element(res.text, 'ETag')) });
    },
  },
];
