/** Object metadata: from request headers when written, back to response headers when read. */
import { isStoredChecksumHeader } from '../checksums';
import { ENCRYPTION_HEADERS } from '../encryption';
import { S3Error } from '../errors';
import { headerValue, type RequestContext } from '../request';
import { STORED_HEADERS, type OpenedObject } from '../store';

const STORAGE_CLASSES = new Set([
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'OUTPOSTS',
  'GLACIER_IR',
  'EXPRESS_ONEZONE',
]);

/** GetObject query parameters that override a response header. */
export const RESPONSE_OVERRIDES: [string, string][] = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
];

/** The metadata a PUT, copy with REPLACE or CreateMultipartUpload stores, validated as S3 does. */
export function metadataFromHeaders(ctx: RequestContext): Record<string, string> {
  const h = ctx.req.headers;
  const out: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const v = headerValue(ctx.req, name);
    if (v !== undefined) out[name] = v;
  }
  if (out['content-encoding'] !== undefined) {
    const rest = out['content-encoding']
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && s.toLowerCase() !== 'aws-chunked');
    if (rest.length) out['content-encoding'] = rest.join(', ');
    else delete out['content-encoding'];
  }
  if (out['x-amz-storage-class'] !== undefined && !STORAGE_CLASSES.has(out['x-amz-storage-class'])) {
    throw new S3Error('InvalidStorageClass', 'The storage class you specified is not valid');
  }
  let userSize = 0;
  for (const [name, value] of Object.entries(h)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) {
      const v = Array.isArray(value) ? value.join(',') : value;
      out[name] = v;
      userSize += name.length - 'x-amz-meta-'.length + Buffer.byteLength(v);
    }
  }
  if (userSize > 2048) {
    throw new S3Error('MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size.', {
      Size: userSize,
      MaxSizeAllowed: 2048,
    });
  }
  out['content-type'] ??= 'binary/octet-stream';
  return out;
}

/** The metadata a copy with the COPY directive keeps: not the source's encryption nor its checksum. */
export function copiedMetadata(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(metadata).filter(
      ([name]) => !ENCRYPTION_HEADERS.includes(name) && !isStoredChecksumHeader(name),
    ),
  );
}

/** The response headers of a stored object (GET/HEAD), its checksum aside (answered on request only). */
export function objectHeaders(obj: OpenedObject): Record<string, string> {
  const h: Record<string, string> = {
    etag: obj.etag,
    'last-modified': obj.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
    'content-type': obj.metadata['content-type'] ?? 'binary/octet-stream',
  };
  for (const [name, value] of Object.entries(obj.metadata)) {
    if (name === 'content-type' || name === 'content-length' || name === 'etag' || name === 'last-modified')
      continue;
    if (name === 'x-amz-storage-class' && value === 'STANDARD') continue;
    if (isStoredChecksumHeader(name)) continue;
    h[name] = String(value);
  }
  return h;
}
