/**
 * ListObjects and ListObjectsV2: keys in S3 order, common prefixes, EncodingType=url, and V2
 * continuation tokens of our own (base64 JSON of bucket and last key) instead of s3rver's.
 */
import { S3Error } from '../errors';
import type { Gateway, Operation } from '../gateway';
import type { RequestContext } from '../request';
import { sendXml } from '../responses';
import { compareKeys } from '../store';

const OWNER = { ID: 'embedded-s3', DisplayName: 'embedded-s3' };

function encodeToken(bucket: string, after: string): string {
  return Buffer.from(JSON.stringify({ b: bucket, a: after })).toString('base64');
}
function decodeToken(token: string, bucket: string): string {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { b?: unknown; a?: unknown };
    if (v.b === bucket && typeof v.a === 'string') return v.a;
  } catch {
    // fall through
  }
  throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
    ArgumentName: 'continuation-token',
  });
}

function maxKeysOf(raw: string | undefined): number {
  if (raw === undefined) return 1000;
  if (!/^\d+$/.test(raw)) {
    throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', {
      ArgumentName: 'max-keys',
      ArgumentValue: raw,
    });
  }
  return Math.min(1000, Number(raw));
}

interface Page {
  keys: string[];
  prefixes: string[];
  /** the last key or prefix on the page */
  last?: string;
  truncated: boolean;
}

/** One page of keys and common prefixes after `after`. */
async function listPage(
  gw: Gateway,
  bucket: string,
  prefix: string,
  delimiter: string,
  after: string,
  maxKeys: number,
): Promise<Page> {
  const page: Page = { keys: [], prefixes: [], truncated: false };
  for (const key of await gw.store.listKeys(bucket, prefix)) {
    if (after && compareKeys(key, after) <= 0) continue;
    let item = key;
    let isPrefix = false;
    if (delimiter) {
      const i = key.indexOf(delimiter, prefix.length);
      if (i >= 0) {
        item = key.slice(0, i + delimiter.length);
        isPrefix = true;
        if (item === page.last || (after && compareKeys(item, after) <= 0)) continue;
      }
    }
    if (page.keys.length + page.prefixes.length >= maxKeys) {
      page.truncated = true;
      break;
    }
    (isPrefix ? page.prefixes : page.keys).push(item);
    page.last = item;
  }
  return page;
}

/** ListObjects (V1, with markers) and ListObjectsV2 (with continuation tokens). */
export async function listObjects(gw: Gateway, ctx: RequestContext): Promise<void> {
  const v2 = ctx.op === 'ListObjectsV2';
  const bucket = ctx.bucket as string;
  const q = ctx.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const encodingType = q.get('encoding-type');
  if (encodingType !== undefined && encodingType !== 'url') {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {
      ArgumentName: 'encoding-type',
    });
  }
  const maxKeysRaw = q.get('max-keys');
  const maxKeys = maxKeysOf(maxKeysRaw);
  const token = v2 ? q.get('continuation-token') : undefined;
  const startAfter = v2 ? q.get('start-after') : undefined;
  const marker = v2 ? undefined : q.get('marker');
  let after = marker ?? startAfter ?? '';
  if (token !== undefined) after = decodeToken(token, bucket);

  const { keys, prefixes, last, truncated } = await listPage(gw, bucket, prefix, delimiter, after, maxKeys);
  const summaries = (await Promise.all(keys.map((k) => gw.store.summary(bucket, k)))).filter(
    (s): s is NonNullable<typeof s> => s !== undefined,
  );
  const enc = (s: string) => (encodingType === 'url' ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
  const fetchOwner = !v2 || q.get('fetch-owner') === 'true';
  sendXml(ctx, 'ListBucketResult', {
    Name: bucket,
    Prefix: enc(prefix),
    Marker: v2 ? undefined : enc(marker ?? ''),
    StartAfter: v2 && startAfter !== undefined ? enc(startAfter) : undefined,
    ContinuationToken: v2 ? token : undefined,
    NextContinuationToken: v2 && truncated && last !== undefined ? encodeToken(bucket, last) : undefined,
    NextMarker: !v2 && truncated && delimiter && last !== undefined ? enc(last) : undefined,
    KeyCount: v2 ? String(summaries.length + prefixes.length) : undefined,
    MaxKeys: String(maxKeysRaw ?? 1000),
    Delimiter: delimiter ? enc(delimiter) : undefined,
    EncodingType: encodingType,
    IsTruncated: String(truncated),
    Contents: summaries.map((s) => ({
      Key: enc(s.key),
      LastModified: s.lastModified.toISOString(),
      ETag: s.etag,
      ChecksumAlgorithm: s.checksum?.algorithm,
      ChecksumType: s.checksum?.type,
      Size: String(s.size),
      Owner: fetchOwner ? OWNER : undefined,
      StorageClass: 'STANDARD',
    })),
    CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p) })),
  });
}

export const operations: Record<string, Operation> = { ListObjects: listObjects, ListObjectsV2: listObjects };
