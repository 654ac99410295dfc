/**
 * AWS Signature Version 4 verification as S3 does it (header auth and presigned query auth), plus the
 * chunk/trailer signatures of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` bodies.
 *
 * S3 specifics: the canonical URI is the path URI-encoded once (the S3 SDKs disable double encoding
 * and path normalization), so `//`, trailing `/`, `+`, `%` survive as they are.
 *
 * A verifier must rebuild exactly what the client signed: its SignedHeaders in its order, the query
 * values as sent, a `Date` header when there is no x-amz-date. @smithy/signature-v4's signer cannot
 * (it sorts and picks the headers itself, re-derives the X-Amz-* parameters, always drops
 * X-Amz-Signature, and is async only), so only its scope helper and constants are used here.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import {
  ALGORITHM_IDENTIFIER as ALGORITHM,
  createScope,
  EVENT_ALGORITHM_IDENTIFIER,
  KEY_TYPE_IDENTIFIER,
  MAX_PRESIGNED_TTL,
  UNSIGNED_PAYLOAD,
} from '@smithy/signature-v4';
import { S3Error } from './errors';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ is %XX (upper case). */
export function uriEncode(value: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (
      (byte >= 0x41 && byte <= 0x5a) ||
      (byte >= 0x61 && byte <= 0x7a) ||
      (byte >= 0x30 && byte <= 0x39) ||
      byte === 0x2d ||
      byte === 0x2e ||
      byte === 0x5f ||
      byte === 0x7e ||
      (keepSlash && byte === 0x2f)
    ) {
      out += String.fromCharCode(byte);
    } else {
      out += '%' + (byte < 16 ? '0' : '') + byte.toString(16).toUpperCase();
    }
  }
  return out;
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** The canonical URI of a raw request path: each segment decoded once and re-encoded strictly. */
export function canonicalUri(rawPath: string): string {
  if (!rawPath) return '/';
  return rawPath
    .split('/')
    .map((seg) => {
      const d = safeDecode(seg);
      return d === undefined ? seg : uriEncode(d);
    })
    .join('/');
}

/** Raw query string → decoded [name, value] pairs in order (no `+` → space: S3 SDKs send %20). */
export function parseQuery(rawQuery: string): [string, string][] {
  const out: [string, string][] = [];
  if (!rawQuery) return out;
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    out.push([safeDecode(rawName) ?? rawName, safeDecode(rawValue) ?? rawValue]);
  }
  return out;
}

export function canonicalQuery(pairs: [string, string][], exclude?: string): string {
  return pairs
    .filter(([n]) => n !== exclude)
    .map(([n, v]) => [uriEncode(n), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
}

/** Canonical headers from Node's rawHeaders (keeps repeated headers, joined with ','). */
export function canonicalHeaders(rawHeaders: string[], signedHeaders: string[]): string {
  const values = new Map<string, string[]>();
  const wanted = new Set(signedHeaders);
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (!wanted.has(name)) continue;
    const v = rawHeaders[i + 1].trim().replace(/\s+/g, ' ');
    const list = values.get(name);
    if (list) list.push(v);
    else values.set(name, [v]);
  }
  return signedHeaders.map((h) => `${h}:${(values.get(h) ?? []).join(',')}\n`).join('');
}

export interface ParsedAuth {
  kind: 'header' | 'query';
  accessKeyId: string;
  /** yyyymmdd of the credential scope */
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  /** yyyymmddThhmmssZ */
  amzDate: string;
  /** the hash that goes into the canonical request */
  payloadHash: string;
  sessionToken?: string;
  /** presigned only */
  expiresSeconds?: number;
}

export function scopeOf(a: ParsedAuth): string {
  return createScope(a.scopeDate, a.region, a.service);
}

type CredentialScope = Pick<ParsedAuth, 'accessKeyId' | 'scopeDate' | 'region' | 'service'>;

function parseCredential(credential: string, where: 'header' | 'query'): CredentialScope {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== KEY_TYPE_IDENTIFIER || !/^\d{8}$/.test(parts[1])) {
    throw where === 'header'
      ? new S3Error(
          'AuthorizationHeaderMalformed',
          `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
        )
      : new S3Error('AuthorizationQueryParametersError', 'Error parsing the X-Amz-Credential parameter.');
  }
  return { accessKeyId: parts[0], scopeDate: parts[1], region: parts[2], service: parts[3] };
}

/** The parts both forms share: the credential scope, signed header names, signature. */
function authFields(
  credential: string,
  where: 'header' | 'query',
  signedHeaders: string,
  signature: string,
): CredentialScope & Pick<ParsedAuth, 'signedHeaders' | 'signature'> {
  return {
    ...parseCredential(credential, where),
    signedHeaders: signedHeaders.split(';').map((h) => h.trim().toLowerCase()),
    signature: signature.toLowerCase(),
  };
}

/** RFC 1123 or ISO basic → ISO basic (yyyymmddThhmmssZ), or undefined. */
function toAmzDate(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (/^\d{8}T\d{6}Z$/.test(value)) return value;
  const d = new Date(value);
  if (isNaN(d.getTime())) return undefined;
  return d.toISOString().replace(/[-:]|\.\d+/g, '');
}

export function amzDateToMs(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * Parses SigV4 authentication from headers or query; undefined for an anonymous request.
 * Throws S3Error for malformed authentication.
 */
export function parseAuth(
  headers: Record<string, string | string[] | undefined>,
  query: Map<string, string>,
): ParsedAuth | undefined {
  const authorization = header(headers, 'authorization');
  const queryAlg = query.get('X-Amz-Algorithm');
  if (authorization !== undefined && queryAlg !== undefined) {
    throw new S3Error(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    );
  }
  if (authorization !== undefined) {
    const trimmed = authorization.trim();
    if (!trimmed.startsWith(ALGORITHM + ' ')) {
      throw new S3Error(
        'InvalidRequest',
        'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
      );
    }
    const fields = new Map<string, string>();
    for (const part of trimmed.slice(ALGORITHM.length + 1).split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const credential = fields.get('Credential');
    const signedHeaders = fields.get('SignedHeaders');
    const signature = fields.get('Signature');
    if (!credential || !signedHeaders || !signature) {
      throw new S3Error(
        'AuthorizationHeaderMalformed',
        'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.',
      );
    }
    const parsed = authFields(credential, 'header', signedHeaders, signature);
    const amzDate = toAmzDate(header(headers, 'x-amz-date') ?? header(headers, 'date'));
    if (!amzDate)
      throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    const payloadHash = header(headers, 'x-amz-content-sha256');
    if (!payloadHash) {
      throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    }
    return {
      kind: 'header',
      ...parsed,
      amzDate,
      payloadHash,
      sessionToken: header(headers, 'x-amz-security-token'),
    };
  }
  if (queryAlg !== undefined) {
    if (queryAlg !== ALGORITHM) {
      throw new S3Error(
        'AuthorizationQueryParametersError',
        'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
      );
    }
    const credential = query.get('X-Amz-Credential');
    const signedHeaders = query.get('X-Amz-SignedHeaders');
    const signature = query.get('X-Amz-Signature');
    const amzDate = query.get('X-Amz-Date');
    const expires = query.get('X-Amz-Expires');
    if (!credential || !signedHeaders || !signature || !amzDate || expires === undefined) {
      throw new S3Error(
        'AuthorizationQueryParametersError',
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    if (!/^\d{8}T\d{6}Z$/.test(amzDate)) {
      throw new S3Error(
        'AuthorizationQueryParametersError',
        "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
      );
    }
    const expiresSeconds = Number(expires);
    if (!Number.isInteger(expiresSeconds) || expiresSeconds < 0 || expiresSeconds > MAX_PRESIGNED_TTL) {
      throw new S3Error(
        'AuthorizationQueryParametersError',
        'X-Amz-Expires must be non-negative and less than a week (in seconds)',
      );
    }
    return {
      kind: 'query',
      ...authFields(credential, 'query', signedHeaders, signature),
      amzDate,
      payloadHash: query.get('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD,
      sessionToken: query.get('X-Amz-Security-Token'),
      expiresSeconds,
    };
  }
  return undefined;
}

const keyCache = new Map<string, Buffer>();
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${secret}\0${date}\0${region}\0${service}`;
  let key = keyCache.get(id);
  if (!key) {
    const kDate = createHmac('sha256', 'AWS4' + secret)
      .update(date)
      .digest();
    const kRegion = createHmac('sha256', kDate).update(region).digest();
    const kService = createHmac('sha256', kRegion).update(service).digest();
    key = createHmac('sha256', kService).update(KEY_TYPE_IDENTIFIER).digest();
    if (keyCache.size > 1000) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
export function hmacHex(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

export function signaturesEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

export interface RawRequest {
  method: string;
  rawPath: string;
  queryPairs: [string, string][];
  rawHeaders: string[];
}

export function canonicalRequest(req: RawRequest, auth: ParsedAuth): string {
  return [
    req.method,
    canonicalUri(req.rawPath),
    canonicalQuery(req.queryPairs, auth.kind === 'query' ? 'X-Amz-Signature' : undefined),
    canonicalHeaders(req.rawHeaders, auth.signedHeaders),
    auth.signedHeaders.join(';'),
    auth.payloadHash,
  ].join('\n');
}

export interface Verification {
  ok: boolean;
  signingKey: Buffer;
  canonicalRequest: string;
  stringToSign: string;
}

export function verifySignature(req: RawRequest, auth: ParsedAuth, secret: string): Verification {
  const creq = canonicalRequest(req, auth);
  const sts = [ALGORITHM, auth.amzDate, scopeOf(auth), sha256Hex(creq)].join('\n');
  const key = signingKey(secret, auth.scopeDate, auth.region, auth.service);
  const expected = hmacHex(key, sts);
  return {
    ok: signaturesEqual(expected, auth.signature),
    signingKey: key,
    canonicalRequest: creq,
    stringToSign: sts,
  };
}

/** Signature of one chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body. */
export function chunkSignature(
  key: Buffer,
  amzDate: string,
  scope: string,
  previousSignature: string,
  chunkSha256Hex: string,
): string {
  return hmacHex(
    key,
    [EVENT_ALGORITHM_IDENTIFIER, amzDate, scope, previousSignature, EMPTY_SHA256, chunkSha256Hex].join('\n'),
  );
}

/** Signature of the trailer of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER body. */
export function trailerSignature(
  key: Buffer,
  amzDate: string,
  scope: string,
  previousSignature: string,
  trailers: [string, string][],
): string {
  const canonical = trailers.map(([n, v]) => `${n.toLowerCase()}:${v.trim()}\n`).join('');
  return hmacHex(
    key,
    ['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, previousSignature, sha256Hex(canonical)].join('\n'),
  );
}
