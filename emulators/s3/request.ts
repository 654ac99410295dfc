/**
 * What a request asks for: its target (bucket, key, query), the S3 operation it names, and the
 * request headers the operations read. Operations and the pipeline share the RequestContext.
 */
import { randomBytes } from 'node:crypto';
import type * as http from 'node:http';
import type { Principal } from './credentials';
import { S3Error } from './errors';
import { parseQuery } from './sigv4';

export interface RequestContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  requestId: string;
  hostId: string;
  method: string;
  rawPath: string;
  queryPairs: [string, string][];
  query: Map<string, string>;
  bucket?: string;
  key?: string;
  op: string;
  principal: Principal;
  /** the client sent `Expect: 100-continue`; `continued` once it was told to go on */
  expectContinue: boolean;
  continued: boolean;
}

/** query parameters that select a sub-resource (anything else, e.g. x-id, is ignored) */
const SUBRESOURCES = new Set([
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'tagging',
  'torrent',
  'versioning',
  'versions',
  'website',
]);

export function newRequestContext(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  expectContinue: boolean,
): RequestContext {
  return {
    req,
    res,
    requestId: randomBytes(8).toString('hex').toUpperCase(),
    hostId: randomBytes(24).toString('base64'),
    method: (req.method ?? 'GET').toUpperCase(),
    rawPath: '/',
    queryPairs: [],
    query: new Map(),
    op: 'Unknown',
    principal: { kind: 'anonymous' },
    expectContinue,
    continued: false,
  };
}

/** Fills in path, query, bucket, key and the operation name (path-style addressing). */
export function parseTarget(ctx: RequestContext): void {
  const url = ctx.req.url ?? '/';
  const q = url.indexOf('?');
  ctx.rawPath = q < 0 ? url : url.slice(0, q);
  ctx.queryPairs = parseQuery(q < 0 ? '' : url.slice(q + 1));
  for (const [n, v] of ctx.queryPairs) if (!ctx.query.has(n)) ctx.query.set(n, v);
  if (!ctx.rawPath.startsWith('/')) throw new S3Error('InvalidURI', `Couldn't parse the specified URI.`);
  const rest = ctx.rawPath.slice(1);
  const slash = rest.indexOf('/');
  const rawBucket = slash < 0 ? rest : rest.slice(0, slash);
  const rawKey = slash < 0 ? '' : rest.slice(slash + 1);
  try {
    ctx.bucket = rawBucket ? decodeURIComponent(rawBucket) : undefined;
    ctx.key = rawKey ? decodeURIComponent(rawKey) : undefined;
  } catch {
    throw new S3Error('InvalidURI', `Couldn't parse the specified URI.`);
  }
  ctx.op = classify(ctx);
}

function classify(ctx: RequestContext): string {
  if (!ctx.bucket) return ctx.method === 'GET' ? 'ListBuckets' : 'Unknown';
  return ctx.key === undefined ? classifyBucketRequest(ctx) : classifyObjectRequest(ctx);
}

function subresourceOf(ctx: RequestContext): string | undefined {
  return [...ctx.query.keys()].find((k) => SUBRESOURCES.has(k));
}

function classifyBucketRequest(ctx: RequestContext): string {
  const q = ctx.query;
  const sub = subresourceOf(ctx);
  switch (ctx.method) {
    case 'HEAD':
      return 'HeadBucket';
    case 'GET':
      if (q.has('uploads')) return 'ListMultipartUploads';
      if (sub === 'location') return 'GetBucketLocation';
      if (sub === 'versions') return 'ListObjectVersions';
      if (sub) return `GetBucket:${sub}`;
      return q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    case 'PUT':
      return sub ? `PutBucket:${sub}` : 'CreateBucket';
    case 'DELETE':
      return sub ? `DeleteBucket:${sub}` : 'DeleteBucket';
    case 'POST':
      return sub === 'delete' ? 'DeleteObjects' : 'Unknown';
    default:
      return 'Unknown';
  }
}

function classifyObjectRequest(ctx: RequestContext): string {
  const q = ctx.query;
  const sub = subresourceOf(ctx);
  const copy = ctx.req.headers['x-amz-copy-source'] !== undefined;
  switch (ctx.method) {
    case 'HEAD':
      return 'HeadObject';
    case 'GET':
      if (q.has('uploadId')) return 'ListParts';
      return sub ? `GetObject:${sub}` : 'GetObject';
    case 'PUT':
      if (q.has('uploadId') || q.has('partNumber')) return copy ? 'UploadPartCopy' : 'UploadPart';
      if (sub) return `PutObject:${sub}`;
      return copy ? 'CopyObject' : 'PutObject';
    case 'POST':
      if (q.has('uploads')) return 'CreateMultipartUpload';
      if (q.has('uploadId')) return 'CompleteMultipartUpload';
      return sub ? `PostObject:${sub}` : 'Unknown';
    case 'DELETE':
      if (q.has('uploadId')) return 'AbortMultipartUpload';
      return sub ? `DeleteObject:${sub}` : 'DeleteObject';
    default:
      return 'Unknown';
  }
}

/** A request header, repeated values joined with ','. */
export function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** The object an x-amz-copy-source header names (`bucket/key`, optionally `?versionId=`). */
export function copySource(ctx: RequestContext): { bucket: string; key: string; versionId?: string } {
  let v = headerValue(ctx.req, 'x-amz-copy-source') ?? '';
  const q = v.indexOf('?');
  let versionId: string | undefined;
  if (q >= 0) {
    versionId = new URLSearchParams(v.slice(q + 1)).get('versionId') ?? undefined;
    v = v.slice(0, q);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(v);
  } catch {
    decoded = v;
  }
  if (decoded.startsWith('/')) decoded = decoded.slice(1);
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error(
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      {
        ArgumentName: 'x-amz-copy-source',
        ArgumentValue: v,
      },
    );
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), versionId };
}

/** S3 keys are at most 1024 bytes of UTF-8. */
export function checkKey(ctx: RequestContext): void {
  if (Buffer.byteLength(ctx.key ?? '') > 1024) {
    throw new S3Error('KeyTooLongError', undefined, {
      Size: Buffer.byteLength(ctx.key ?? ''),
      MaxSizeAllowed: 1024,
    });
  }
}
