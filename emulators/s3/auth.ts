/**
 * Authentication (SigV4 in the Authorization header or a presigned URL, by a static key pair or an
 * issued session) and authorization (what each kind of credentials may do on which buckets).
 */
import type { CredentialStore, Principal } from './credentials';
import { S3Error } from './errors';
import { copySource, type RequestContext } from './request';
import { amzDateToMs, parseAuth, verifySignature, type ParsedAuth } from './sigv4';

/** Clocks may differ by 15 minutes, as in AWS. */
const MAX_SKEW_MS = 15 * 60_000;

/** What issued (TEA-like) credentials may do, on source buckets only. */
const ISSUED_OPS = new Set(['ListObjects', 'ListObjectsV2', 'GetObject', 'HeadObject', 'HeadBucket']);
/** Bucket administration the destination key pair (a Lambda role) may not do. */
const BUCKET_ADMIN_OPS = new Set(['ListBuckets', 'CreateBucket', 'DeleteBucket']);

export interface AccessPolicy {
  /** issued credentials may read these */
  sources: Set<string>;
  /** the destination key pair may write these, except the denied ones */
  destinations: Set<string>;
  denied: Set<string>;
}

export interface AuthSettings {
  credentials: CredentialStore;
  policy: AccessPolicy;
  region: string;
}

/** Who signed the request, once the signature, scope and time check out; anonymous if unsigned. */
export function authenticate(settings: AuthSettings, ctx: RequestContext): Principal {
  const auth = parseAuth(ctx.req.headers, ctx.query);
  if (!auth) return { kind: 'anonymous' };
  const { secret, kind } = settings.credentials.secretFor(auth);
  checkScope(auth, settings.region);
  checkTime(auth, ctx);
  if (!auth.signedHeaders.includes('host')) {
    throw new S3Error(
      malformedCode(auth),
      'The authorization header is malformed; the host header must be signed.',
    );
  }
  const v = verifySignature(
    { method: ctx.method, rawPath: ctx.rawPath, queryPairs: ctx.queryPairs, rawHeaders: ctx.req.rawHeaders },
    auth,
    secret,
  );
  if (!v.ok) {
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      AWSAccessKeyId: auth.accessKeyId,
      StringToSign: v.stringToSign,
      SignatureProvided: auth.signature,
      CanonicalRequest: v.canonicalRequest,
    });
  }
  return { kind, accessKeyId: auth.accessKeyId, auth, signingKey: v.signingKey };
}

function malformedCode(auth: ParsedAuth): string {
  return auth.kind === 'header' ? 'AuthorizationHeaderMalformed' : 'AuthorizationQueryParametersError';
}

/** The credential scope must name s3, this region, and the day of the request time. */
function checkScope(auth: ParsedAuth, region: string): void {
  const malformed = malformedCode(auth);
  if (auth.service !== 's3') {
    throw new S3Error(
      malformed,
      `The authorization header is malformed; incorrect service "${auth.service}". This endpoint belongs to "s3".`,
    );
  }
  if (auth.region !== region) {
    throw new S3Error(
      malformed,
      `The authorization header is malformed; the region '${auth.region}' is wrong; expecting '${region}'`,
      { Region: region },
    );
  }
  if (auth.amzDate.slice(0, 8) !== auth.scopeDate) {
    throw new S3Error(malformed, 'Invalid credential date. Date is not the same as X-Amz-Date.');
  }
}

/** Header auth: within the allowed skew, every x-amz-* header signed; presigned: not expired yet. */
function checkTime(auth: ParsedAuth, ctx: RequestContext): void {
  const requestTime = amzDateToMs(auth.amzDate);
  const now = Date.now();
  if (auth.kind === 'header') {
    if (isNaN(requestTime) || Math.abs(now - requestTime) > MAX_SKEW_MS) {
      throw new S3Error(
        'RequestTimeTooSkewed',
        'The difference between the request time and the current time is too large.',
        {
          RequestTime: auth.amzDate,
          ServerTime: new Date(now).toISOString(),
          MaxAllowedSkewMilliseconds: 900000,
        },
      );
    }
    const unsigned = Object.keys(ctx.req.headers).filter(
      (h) => h.startsWith('x-amz-') && !auth.signedHeaders.includes(h),
    );
    if (unsigned.length) {
      throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
        HeadersNotSigned: unsigned.join(', '),
      });
    }
    return;
  }
  if (now > requestTime + (auth.expiresSeconds ?? 0) * 1000) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      'X-Amz-Expires': auth.expiresSeconds ?? 0,
      Expires: new Date(requestTime + (auth.expiresSeconds ?? 0) * 1000).toISOString(),
      ServerTime: new Date(now).toISOString(),
    });
  }
  if (requestTime > now + MAX_SKEW_MS) throw new S3Error('AccessDenied', 'Request is not valid yet');
}

function destinationWritable(policy: AccessPolicy, bucket: string): boolean {
  return policy.destinations.has(bucket) && !policy.denied.has(bucket);
}

/** Admin may do anything; issued credentials read source buckets; the destination pair writes its own. */
export function authorize(policy: AccessPolicy, ctx: RequestContext): void {
  const p = ctx.principal;
  if (p.kind === 'admin') return;
  const denied = () => new S3Error('AccessDenied');
  if (p.kind === 'anonymous') throw denied();
  const bucket = ctx.bucket;
  if (p.kind === 'issued') {
    if (!bucket || !policy.sources.has(bucket) || !ISSUED_OPS.has(ctx.op)) throw denied();
    return;
  }
  // destination key pair
  if (!bucket || BUCKET_ADMIN_OPS.has(ctx.op) || !destinationWritable(policy, bucket)) throw denied();
  if (ctx.op === 'CopyObject' || ctx.op === 'UploadPartCopy') {
    const src = copySource(ctx);
    if (!destinationWritable(policy, src.bucket)) throw denied();
  }
}
