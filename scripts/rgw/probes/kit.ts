/**
 * What the probes share: the seeded objects, raw requests, and how answers are normalised (ETags to their
 * shape, dates and request ids dropped) so that the two backends' answers can be compared.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IssuedCredentials } from '../../../emulators/tea/issuer';
import { element, elements, send, type Keys, type RawResponse, type S3Target } from '../raw-s3';

/** A response header, repeated ones joined. */
export function header(res: RawResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** An ETag's shape: `"<md5>"`, `"<md5>-2"`, unquoted, or as it is when unusual. */
export function etagShape(etag: string | undefined): string | undefined {
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
export function answer(res: RawResponse, headers: string[] = [], extra: Answer = {}): Answer {
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

export const MiB = 1024 * 1024;
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const crc32 = (data: Buffer): string => {
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE(~c >>> 0);
  return out.toString('base64');
};
export const md5Base64 = (data: Buffer): string => createHash('md5').update(data).digest('base64');
export const CHECKSUM_HEADERS = [
  'x-amz-checksum-crc32',
  'x-amz-checksum-crc32c',
  'x-amz-checksum-crc64nvme',
  'x-amz-checksum-sha1',
  'x-amz-checksum-sha256',
  'x-amz-checksum-type',
];
export const HELLO = Buffer.from('hello, world\n');
export const PART = randomBytes(5 * MiB);
export const LAST_PART = randomBytes(1234);

export async function put(
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
export async function multipartIn(
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

export const multipart = (b: Backend, key: string, options: { checksum: boolean }) =>
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
export const LIST_KEYS = [
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

export const keysOf = (xmlText: string): string =>
  elements(xmlText, 'Key')
    .map((k) => JSON.stringify(k))
    .join(' ');
export const prefixesOf = (xmlText: string): string =>
  elements(xmlText, 'CommonPrefixes')
    .map((p) => JSON.stringify(element(p, 'Prefix')))
    .join(' ');
/** The names of the top-level elements of a listing, in order of first appearance. */
export const topElements = (xmlText: string): string =>
  Array.from(
    new Set(
      Array.from(
        xmlText.replace(/<(Contents|CommonPrefixes|Owner)>[\s\S]*?<\/\1>/g, '<$1/>').matchAll(/<(\w+)\/?>/g),
        (m) => m[1],
      ),
    ),
  ).join(',');

export async function list(b: Backend, keys: Keys, query: Record<string, string>): Promise<RawResponse> {
  return send(b, keys, { method: 'GET', bucket: b.source, query: { 'list-type': '2', ...query } });
}

export async function session(b: Backend, seconds = 900): Promise<Keys> {
  return b.issue(seconds);
}

export async function get(
  b: Backend,
  headers: Record<string, string>,
  key = 'probe/hello.txt',
  method = 'GET',
  query = {},
) {
  return send(b, await session(b), { method, bucket: b.source, key, headers, query });
}

export const RANGE_HEADERS = ['content-range', 'content-length', 'etag'];
