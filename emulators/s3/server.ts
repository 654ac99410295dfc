/**
 * An embedded, AWS-faithful S3 for tests, the demo and benchmarks.
 *
 * s3rver 3.7.1 provides the storage (its FilesystemStore and on-disk format, in-process); a node:http
 * gateway on 127.0.0.1 speaks the S3 REST protocol in front of it and adds what s3rver lacks and AWS
 * has: SigV4 verification, session credentials with expiry (this class is the CredentialIssuer of
 * the credentials endpoint emulator), a read-only policy for issued credentials and a write policy
 * for the destination key pair, aws-chunked decoding with checksum validation, atomic writes,
 * AbortMultipartUpload, `-N` multipart ETags, conditional GETs, ListObjectsV2 pagination without
 * s3rver's DES continuation tokens, fault injection and counters.
 *
 * Why not proxy s3rver's own HTTP layer: it stores aws-chunked framing, writes partial objects when a
 * client aborts, lists keys in file-system order (keys are lost across pages when a key contains a
 * character below `/`), folds `a//b` into `a/b`, cannot store a key segment over 255 bytes,
 * mis-serves `Range: bytes=0-0` and `bytes=-N`, and needs the legacy OpenSSL provider to paginate.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fsp } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { AwsChunkedDecoder } from './aws-chunked';
import {
  algorithmFromHeader,
  CHECKSUM_ALGORITHMS,
  headerForAlgorithm,
  type ChecksumAlgorithm,
} from './checksums';
import type { CredentialIssuer, IssuedCredentials } from '../tea/issuer';
import { errorXml, S3_XMLNS, S3Error, xml, XML_DECL, xmlElements, xmlText } from './errors';
import { BodyTap, compareKeys, ObjectStore, type OpenedObject, type StagedBody } from './store';
import {
  amzDateToMs,
  parseAuth,
  parseQuery,
  scopeOf,
  uriEncode,
  verifySignature,
  type ParsedAuth,
} from './sigv4';

export interface EmbeddedS3Options {
  /** 0 = random (default) */
  port?: number;
  /** default 'us-west-2' */
  region?: string;
  /** created on start; issued credentials may read these only */
  sourceBuckets: string[];
  /** created on start; the destination key pair may write these */
  destinationBuckets: string[];
  /** s3rver data directory; default a temporary directory removed on stop() */
  directory?: string;
  /** how an expired session token is answered: 'aws' = 400 ExpiredToken (default), 'ceph' = 403 AccessDenied */
  expiredTokenStyle?: 'aws' | 'ceph';
  /** destination buckets the destination key pair is denied (see denyDestination) */
  deniedDestinationBuckets?: string[];
  /** minimum size of every part but the last at CompleteMultipartUpload; default 5 MiB as in S3 */
  minPartSize?: number;
}

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Structurally the SDK's AwsCredentialIdentity. */
export interface CredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type CredentialKind = 'admin' | 'destination' | 'issued' | 'anonymous';

/** Narrows a fault to some requests; every given field must match. */
export interface FaultScope {
  bucket?: string;
  key?: string;
  keyPrefix?: string;
  /** e.g. 'issued' to hit only requests made with issued (source) credentials */
  credentials?: CredentialKind | CredentialKind[];
  /** operation names as in counters.requests, e.g. ['GetObject'] */
  operations?: string[];
}

export interface FaultSettings {
  /** fraction (0..1) of requests answered 503 SlowDown (random) */
  slowDownRate: number;
  /** deterministic alternative: every Nth matching request is answered 503 SlowDown (0/undefined = off) */
  slowDownEvery?: number;
  /** scope of slowDownRate and slowDownEvery */
  slowDownScope?: FaultScope;
  /** latency added before each request is handled */
  latencyMs: number;
  latencyScope?: FaultScope;
  /** throttle GET bodies to this many bytes per second (0 = unthrottled) */
  getBytesPerSecond: number;
  bandwidthScope?: FaultScope;
  /** cut the next `times` GET bodies after `afterBytes` bytes with a connection reset */
  cutGetBody?: { afterBytes: number; times: number; scope?: FaultScope };
  /**
   * Once `afterBytes` bytes of that object have been served (over all GETs), overwrite it with
   * `body` (new content and ETag); one-shot, cleared when it fires.
   */
  replaceSourceAfterBytes?: { bucket: string; key: string; afterBytes: number; body: Buffer | string };
}

export interface Counters {
  /** requests per operation (GetObject, HeadObject, PutObject, UploadPart, ListObjectsV2, ...) */
  requests: Record<string, number>;
  /** the same, per kind of credentials (counted once authenticated) */
  requestsByCredential: Record<CredentialKind, Record<string, number>>;
  /** error responses per S3 error code */
  errors: Record<string, number>;
  faults: {
    slowDown: number;
    cutGetBody: number;
    replacedSource: number;
    delayed: number;
    throttled: number;
  };
  /** GET body bytes sent */
  bytesServed: number;
  /** decoded PUT/UploadPart body bytes received */
  bytesReceived: number;
  credentialsIssued: number;
}

function emptyCounters(): Counters {
  return {
    requests: {},
    requestsByCredential: { admin: {}, destination: {}, issued: {}, anonymous: {} },
    errors: {},
    faults: { slowDown: 0, cutGetBody: 0, replacedSource: 0, delayed: 0, throttled: 0 },
    bytesServed: 0,
    bytesReceived: 0,
    credentialsIssued: 0,
  };
}

function defaultFaults(): FaultSettings {
  return { slowDownRate: 0, latencyMs: 0, getBytesPerSecond: 0 };
}

interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  sessionName: string;
}

interface Principal {
  kind: CredentialKind;
  accessKeyId?: string;
  auth?: ParsedAuth;
  signingKey?: Buffer;
}

interface Ctx {
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
  expectContinue: boolean;
  continued: boolean;
}

const MiB = 1024 * 1024;
const MAX_PUT_SIZE = 5 * 1024 * MiB;
const STORED_HEADERS = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-type',
  'expires',
  'x-amz-storage-class',
  'x-amz-website-redirect-location',
];
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
const RESPONSE_OVERRIDES: [string, string][] = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
];
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

/** What issued (TEA-like) credentials may do, on source buckets only. */
const ISSUED_OPS = new Set(['ListObjects', 'ListObjectsV2', 'GetObject', 'HeadObject', 'HeadBucket']);
/** Bucket administration the destination key pair (a Lambda role) may not do. */
const BUCKET_ADMIN_OPS = new Set(['ListBuckets', 'CreateBucket', 'DeleteBucket']);

function newRequestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

function randomKeyId(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(16);
  let out = prefix;
  for (const b of bytes) out += alphabet[b & 31];
  return out;
}
function randomSecret(): string {
  return randomBytes(30)
    .toString('base64')
    .replace(/[+/]/g, (c) => (c === '+' ? 'x' : 'y'));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function unquote(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}
function etagMatches(condition: string, etag: string): boolean {
  const current = unquote(etag);
  return condition.split(',').some((c) => c.trim() === '*' || unquote(c) === current);
}
function secondsOf(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}
function parseHttpDate(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const t = Date.parse(v);
  return isNaN(t) ? undefined : Math.floor(t / 1000);
}

function validBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name)
  );
}

function scopeMatches(scope: FaultScope | undefined, ctx: Ctx): boolean {
  if (!scope) return true;
  if (scope.bucket !== undefined && scope.bucket !== ctx.bucket) return false;
  if (scope.key !== undefined && scope.key !== ctx.key) return false;
  if (scope.keyPrefix !== undefined && !(ctx.key ?? '').startsWith(scope.keyPrefix)) return false;
  if (scope.credentials !== undefined) {
    const kinds = Array.isArray(scope.credentials) ? scope.credentials : [scope.credentials];
    if (!kinds.includes(ctx.principal.kind)) return false;
  }
  if (scope.operations !== undefined && !scope.operations.includes(ctx.op)) return false;
  return true;
}

/** Writes a chunk; resolves false if the client went away. */
function writeChunk(res: http.ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

export class EmbeddedS3 implements CredentialIssuer {
  readonly endpoint: string;
  readonly region: string;
  readonly adminCredentials: StaticCredentials;
  readonly destinationCredentials: StaticCredentials;
  /** mutable fault injection settings; all off by default */
  faults: FaultSettings = defaultFaults();
  readonly counters: Counters = emptyCounters();
  /** the data directory (s3rver's layout) */
  readonly directory: string;

  private readonly sources: Set<string>;
  private readonly destinations: Set<string>;
  private readonly denied: Set<string>;
  private readonly sessions = new Map<string, Session>();
  private readonly staticKeys = new Map<string, { secret: string; kind: 'admin' | 'destination' }>();
  private readonly clients = new Set<S3Client>();
  private readonly completing = new Map<string, Promise<{ etag: string; lastModified: Date }>>();
  private readonly completed = new Map<string, { bucket: string; key: string; etag: string }>();
  private replaceServed = 0;
  private slowDownSeen = 0;
  private stopped = false;

  private constructor(
    private readonly server: http.Server,
    private readonly store: ObjectStore,
    private readonly options: EmbeddedS3Options,
    private readonly ownsDirectory: boolean,
  ) {
    const { port } = server.address() as AddressInfo;
    this.endpoint = `http://127.0.0.1:${port}`;
    this.region = options.region ?? 'us-west-2';
    this.directory = store.root;
    this.sources = new Set(options.sourceBuckets);
    this.destinations = new Set(options.destinationBuckets);
    this.denied = new Set(options.deniedDestinationBuckets ?? []);
    this.adminCredentials = { accessKeyId: randomKeyId('AKIA'), secretAccessKey: randomSecret() };
    this.destinationCredentials = { accessKeyId: randomKeyId('AKIA'), secretAccessKey: randomSecret() };
    this.staticKeys.set(this.adminCredentials.accessKeyId, {
      secret: this.adminCredentials.secretAccessKey,
      kind: 'admin',
    });
    this.staticKeys.set(this.destinationCredentials.accessKeyId, {
      secret: this.destinationCredentials.secretAccessKey,
      kind: 'destination',
    });
  }

  static async start(options: EmbeddedS3Options): Promise<EmbeddedS3> {
    const all = [...options.sourceBuckets, ...options.destinationBuckets];
    for (const b of all) {
      if (!validBucketName(b)) throw new Error(`invalid bucket name: ${JSON.stringify(b)}`);
    }
    const ownsDirectory = options.directory === undefined;
    const directory = options.directory ?? mkdtempSync(path.join(os.tmpdir(), 'embedded-s3-'));
    await fsp.mkdir(directory, { recursive: true });
    const store = new ObjectStore(directory);
    await store.init();
    for (const b of new Set(all)) await store.createBucket(b);

    const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 30_000 });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const s3 = new EmbeddedS3(server, store, options, ownsDirectory);
    server.on(
      'request',
      (req: http.IncomingMessage, res: http.ServerResponse) => void s3.handle(req, res, false),
    );
    server.on(
      'checkContinue',
      (req: http.IncomingMessage, res: http.ServerResponse) => void s3.handle(req, res, true),
    );
    return s3;
  }

  // ============================================================== public API

  /** Mints read-only session credentials for the source buckets (the TEA emulator calls this). */
  issue(lifetimeSeconds: number, sessionName: string): IssuedCredentials {
    if (!(lifetimeSeconds > 0)) throw new Error('lifetimeSeconds must be positive');
    const session: Session = {
      accessKeyId: randomKeyId('ASIA'),
      secretAccessKey: randomSecret(),
      sessionToken: 'IQoJb3JpZ2luX2VjE' + randomBytes(96).toString('base64'),
      expiration: new Date(Date.now() + lifetimeSeconds * 1000),
      sessionName,
    };
    this.sessions.set(session.sessionToken, session);
    this.counters.credentialsIssued++;
    return {
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      sessionToken: session.sessionToken,
      expiration: new Date(session.expiration),
    };
  }

  /** An S3 client for this endpoint: path-style, region set, maxAttempts 3 unless overridden. */
  client(
    credentials: 'admin' | 'destination' | CredentialIdentity | (() => Promise<CredentialIdentity>),
    extra: Partial<S3ClientConfig> = {},
  ): S3Client {
    const creds =
      credentials === 'admin'
        ? { ...this.adminCredentials }
        : credentials === 'destination'
          ? { ...this.destinationCredentials }
          : credentials;
    const client = new S3Client({
      endpoint: this.endpoint,
      region: this.region,
      forcePathStyle: true,
      maxAttempts: 3,
      credentials: creds,
      ...extra,
    });
    this.clients.add(client);
    return client;
  }

  /** Makes the destination key pair get AccessDenied on `bucket`. */
  denyDestination(bucket: string): void {
    this.denied.add(bucket);
  }
  /** Undoes denyDestination. */
  allowDestination(bucket: string): void {
    this.denied.delete(bucket);
  }

  /** Number of multipart uploads started and neither completed nor aborted. */
  async openMultipartUploads(bucket: string): Promise<number> {
    return (await this.store.listUploads(bucket)).length;
  }

  /** Writes an object directly (no HTTP, no counters): fast seeding for tests and benchmarks. */
  async seedObject(
    bucket: string,
    key: string,
    body: Buffer | string | Readable,
    metadata: Record<string, string> = {},
  ): Promise<{ etag: string }> {
    if (!(await this.store.bucketExists(bucket))) await this.store.createBucket(bucket);
    return this.store.putObject(bucket, key, typeof body === 'string' ? Buffer.from(body) : body, metadata);
  }

  resetCounters(): void {
    Object.assign(this.counters, emptyCounters());
  }

  resetFaults(): void {
    this.faults = defaultFaults();
    this.replaceServed = 0;
    this.slowDownSeen = 0;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.clients) c.destroy();
    this.clients.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    if (this.ownsDirectory) await fsp.rm(this.directory, { recursive: true, force: true });
  }

  // ============================================================== request pipeline

  private async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    expectContinue: boolean,
  ): Promise<void> {
    const ctx: Ctx = {
      req,
      res,
      requestId: newRequestId(),
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
    try {
      this.parseTarget(ctx);
      this.bump(this.counters.requests, ctx.op);
      ctx.principal = this.authenticate(ctx);
      this.bump(this.counters.requestsByCredential[ctx.principal.kind], ctx.op);
      this.authorize(ctx);
      if (this.faults.latencyMs > 0 && scopeMatches(this.faults.latencyScope, ctx)) {
        this.counters.faults.delayed++;
        await sleep(this.faults.latencyMs);
      }
      if (
        (this.faults.slowDownRate > 0 || (this.faults.slowDownEvery ?? 0) > 0) &&
        scopeMatches(this.faults.slowDownScope, ctx)
      ) {
        const every = this.faults.slowDownEvery ?? 0;
        const hit = every > 0 ? ++this.slowDownSeen % every === 0 : Math.random() < this.faults.slowDownRate;
        if (hit) {
          this.counters.faults.slowDown++;
          throw new S3Error('SlowDown');
        }
      }
      await this.dispatch(ctx);
    } catch (err) {
      this.sendError(ctx, err);
    }
  }

  private bump(map: Record<string, number>, name: string): void {
    map[name] = (map[name] ?? 0) + 1;
  }

  private parseTarget(ctx: Ctx): void {
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
    ctx.op = this.classify(ctx);
  }

  private classify(ctx: Ctx): string {
    const m = ctx.method;
    const q = ctx.query;
    const sub = [...q.keys()].find((k) => SUBRESOURCES.has(k));
    if (!ctx.bucket) return m === 'GET' ? 'ListBuckets' : 'Unknown';
    if (ctx.key === undefined) {
      switch (m) {
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
    const copy = ctx.req.headers['x-amz-copy-source'] !== undefined;
    switch (m) {
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

  // ------------------------------------------------------------------ authentication

  private authenticate(ctx: Ctx): Principal {
    const auth = parseAuth(ctx.req.headers, ctx.query);
    if (!auth) return { kind: 'anonymous' };

    let secret: string;
    let kind: CredentialKind;
    if (auth.sessionToken !== undefined) {
      const s = this.sessions.get(auth.sessionToken);
      if (!s || s.accessKeyId !== auth.accessKeyId) {
        throw new S3Error('InvalidToken', undefined, { 'Token-0': auth.sessionToken });
      }
      if (Date.now() >= s.expiration.getTime()) {
        throw this.options.expiredTokenStyle === 'ceph'
          ? new S3Error('AccessDenied')
          : new S3Error('ExpiredToken', undefined, { 'Token-0': auth.sessionToken });
      }
      secret = s.secretAccessKey;
      kind = 'issued';
    } else {
      const k = this.staticKeys.get(auth.accessKeyId);
      if (!k) throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: auth.accessKeyId });
      secret = k.secret;
      kind = k.kind;
    }

    const malformed =
      auth.kind === 'header' ? 'AuthorizationHeaderMalformed' : 'AuthorizationQueryParametersError';
    if (auth.service !== 's3') {
      throw new S3Error(
        malformed,
        `The authorization header is malformed; incorrect service "${auth.service}". This endpoint belongs to "s3".`,
      );
    }
    if (auth.region !== this.region) {
      throw new S3Error(
        malformed,
        `The authorization header is malformed; the region '${auth.region}' is wrong; expecting '${this.region}'`,
        { Region: this.region },
      );
    }
    if (auth.amzDate.slice(0, 8) !== auth.scopeDate) {
      throw new S3Error(malformed, 'Invalid credential date. Date is not the same as X-Amz-Date.');
    }
    const requestTime = amzDateToMs(auth.amzDate);
    const now = Date.now();
    if (auth.kind === 'header') {
      if (isNaN(requestTime) || Math.abs(now - requestTime) > 15 * 60_000) {
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
    } else {
      if (now > requestTime + (auth.expiresSeconds ?? 0) * 1000) {
        throw new S3Error('AccessDenied', 'Request has expired', {
          'X-Amz-Expires': auth.expiresSeconds ?? 0,
          Expires: new Date(requestTime + (auth.expiresSeconds ?? 0) * 1000).toISOString(),
          ServerTime: new Date(now).toISOString(),
        });
      }
      if (requestTime > now + 15 * 60_000) throw new S3Error('AccessDenied', 'Request is not valid yet');
    }
    if (!auth.signedHeaders.includes('host')) {
      throw new S3Error(malformed, 'The authorization header is malformed; the host header must be signed.');
    }

    const v = verifySignature(
      {
        method: ctx.method,
        rawPath: ctx.rawPath,
        queryPairs: ctx.queryPairs,
        rawHeaders: ctx.req.rawHeaders,
      },
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

  // ------------------------------------------------------------------ authorization

  private destinationWritable(bucket: string): boolean {
    return this.destinations.has(bucket) && !this.denied.has(bucket);
  }

  private authorize(ctx: Ctx): void {
    const p = ctx.principal;
    if (p.kind === 'admin') return;
    const denied = () => new S3Error('AccessDenied');
    if (p.kind === 'anonymous') throw denied();
    const bucket = ctx.bucket;
    if (p.kind === 'issued') {
      if (!bucket || !this.sources.has(bucket) || !ISSUED_OPS.has(ctx.op)) throw denied();
      return;
    }
    // destination key pair
    if (!bucket || BUCKET_ADMIN_OPS.has(ctx.op) || !this.destinationWritable(bucket)) throw denied();
    if (ctx.op === 'CopyObject' || ctx.op === 'UploadPartCopy') {
      const src = this.copySource(ctx);
      if (!this.destinationWritable(src.bucket)) throw denied();
    }
  }

  // ------------------------------------------------------------------ dispatch

  private async dispatch(ctx: Ctx): Promise<void> {
    switch (ctx.op) {
      case 'ListBuckets':
        return this.listBuckets(ctx);
      case 'CreateBucket':
        return this.createBucket(ctx);
      case 'DeleteBucket':
        return this.deleteBucket(ctx);
    }
    const bucket = ctx.bucket as string;
    if (!(await this.store.bucketExists(bucket))) {
      throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
    }
    switch (ctx.op) {
      case 'HeadBucket':
        return this.send(ctx, 200, { 'x-amz-bucket-region': this.region });
      case 'GetBucketLocation':
        return this.sendXml(
          ctx,
          200,
          xml('LocationConstraint', this.region === 'us-east-1' ? '' : this.region, S3_XMLNS),
        );
      case 'ListObjects':
      case 'ListObjectsV2':
        return this.listObjects(ctx, ctx.op === 'ListObjectsV2');
      case 'ListMultipartUploads':
        return this.listMultipartUploads(ctx);
      case 'DeleteObjects':
        return this.deleteObjects(ctx);
      case 'GetObject':
      case 'HeadObject':
        return this.getObject(ctx, ctx.op === 'HeadObject');
      case 'PutObject':
        return this.putObject(ctx);
      case 'CopyObject':
        return this.copyObject(ctx);
      case 'DeleteObject':
        this.checkKey(ctx);
        await this.store.deleteObject(bucket, ctx.key as string);
        return this.send(ctx, 204);
      case 'CreateMultipartUpload':
        return this.createMultipartUpload(ctx);
      case 'UploadPart':
      case 'UploadPartCopy':
        return this.uploadPart(ctx, ctx.op === 'UploadPartCopy');
      case 'CompleteMultipartUpload':
        return this.completeMultipartUpload(ctx);
      case 'AbortMultipartUpload':
        return this.abortMultipartUpload(ctx);
      case 'ListParts':
        return this.listParts(ctx);
      case 'Unknown':
        throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
          Method: ctx.method,
        });
      default:
        throw new S3Error('NotImplemented', undefined, { Operation: ctx.op });
    }
  }

  // ------------------------------------------------------------------ responses

  private baseHeaders(ctx: Ctx): Record<string, string> {
    return { 'x-amz-request-id': ctx.requestId, 'x-amz-id-2': ctx.hostId, server: 'AmazonS3' };
  }

  private send(ctx: Ctx, status: number, headers: Record<string, string> = {}, body?: string): void {
    const buf = body === undefined ? undefined : Buffer.from(body);
    // a body announced with Expect: 100-continue but never asked for: the connection cannot be reused
    if (ctx.expectContinue && !ctx.continued && !ctx.req.complete)
      headers = { ...headers, connection: 'close' };
    ctx.res.writeHead(status, {
      ...this.baseHeaders(ctx),
      ...headers,
      ...(buf
        ? { 'content-length': String(buf.length) }
        : status === 204 || status === 304
          ? {}
          : { 'content-length': '0' }),
    });
    ctx.res.end(ctx.method === 'HEAD' ? undefined : buf);
  }

  private sendXml(ctx: Ctx, status: number, doc: string, headers: Record<string, string> = {}): void {
    this.send(ctx, status, { 'content-type': 'application/xml', ...headers }, XML_DECL + doc);
  }

  private sendError(ctx: Ctx, err: unknown): void {
    const e =
      err instanceof S3Error
        ? err
        : new S3Error(
            'InternalError',
            `We encountered an internal error: ${(err as Error)?.message ?? String(err)}`,
          );
    this.bump(this.counters.errors, e.code);
    const { res } = ctx;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    try {
      this.writeError(ctx, e);
    } catch {
      res.destroy();
    }
  }

  private writeError(ctx: Ctx, e: S3Error): void {
    const { req, res } = ctx;
    const headers: Record<string, string> = { ...this.baseHeaders(ctx), ...e.headers };
    if (!req.complete) {
      if (ctx.expectContinue && !ctx.continued) {
        headers.connection = 'close';
      } else {
        req.unpipe();
        req.resume();
      }
    }
    const body = ctx.method === 'HEAD' ? undefined : Buffer.from(errorXml(e, ctx.requestId, ctx.hostId));
    if (body) {
      headers['content-type'] = 'application/xml';
      headers['content-length'] = String(body.length);
    }
    res.writeHead(e.status, headers);
    res.end(body);
  }

  // ------------------------------------------------------------------ request bodies

  private continue100(ctx: Ctx): void {
    if (ctx.expectContinue && !ctx.continued) {
      ctx.continued = true;
      ctx.res.writeContinue();
    }
  }

  private payloadMode(ctx: Ctx): { chunked: boolean; signed: boolean; trailer: boolean; sha256?: string } {
    const hash = ctx.principal.auth?.payloadHash ?? 'UNSIGNED-PAYLOAD';
    switch (hash) {
      case 'UNSIGNED-PAYLOAD':
        return { chunked: false, signed: false, trailer: false };
      case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
        return { chunked: true, signed: false, trailer: true };
      case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
        return { chunked: true, signed: true, trailer: false };
      case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
        return { chunked: true, signed: true, trailer: true };
    }
    if (/^[0-9a-fA-F]{64}$/.test(hash))
      return { chunked: false, signed: false, trailer: false, sha256: hash.toLowerCase() };
    if (hash.startsWith('STREAMING-')) throw new S3Error('NotImplemented', `${hash} is not supported here.`);
    throw new S3Error(
      'InvalidArgument',
      'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
      { ArgumentName: 'x-amz-content-sha256', ArgumentValue: hash },
    );
  }

  /** The decoded body length the client announced, or undefined. */
  private declaredLength(ctx: Ctx, chunked: boolean): number | undefined {
    const v = headerValue(ctx.req, chunked ? 'x-amz-decoded-content-length' : 'content-length');
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new S3Error('InvalidArgument', `Invalid length: ${v}`);
    return n;
  }

  /** Which checksum the body carries (header or trailer) and its announced value. */
  private checksumExpectation(ctx: Ctx): { algorithm?: ChecksumAlgorithm; value?: string; trailer?: string } {
    const present = CHECKSUM_ALGORITHMS.filter((a) => ctx.req.headers[headerForAlgorithm(a)] !== undefined);
    if (present.length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header');
    if (present.length === 1) {
      return { algorithm: present[0], value: headerValue(ctx.req, headerForAlgorithm(present[0])) };
    }
    const trailer = headerValue(ctx.req, 'x-amz-trailer');
    if (trailer) {
      const alg = algorithmFromHeader(trailer);
      if (!alg)
        throw new S3Error(
          'InvalidRequest',
          `The value specified in the x-amz-trailer header is not supported`,
        );
      return { algorithm: alg, trailer: trailer.trim().toLowerCase() };
    }
    const sdkAlg = headerValue(ctx.req, 'x-amz-sdk-checksum-algorithm')?.toUpperCase();
    if (sdkAlg && (CHECKSUM_ALGORITHMS as readonly string[]).includes(sdkAlg)) {
      return { algorithm: sdkAlg as ChecksumAlgorithm };
    }
    return {};
  }

  /**
   * Receives the request body (decoding aws-chunked, verifying x-amz-content-sha256, Content-MD5 and
   * x-amz-checksum-*) into a staging file. `requireLength`: answer 411 without a length, as S3 does
   * for PutObject/UploadPart.
   */
  private async receive(ctx: Ctx, requireLength: boolean, maxBytes = Infinity): Promise<StagedBody> {
    const mode = this.payloadMode(ctx);
    const declared = this.declaredLength(ctx, mode.chunked);
    if (declared === undefined && requireLength) throw new S3Error('MissingContentLength');
    if (declared !== undefined && declared > maxBytes) {
      throw new S3Error(
        maxBytes === MAX_PUT_SIZE ? 'EntityTooLarge' : 'MaxMessageLengthExceeded',
        undefined,
        {
          ProposedSize: declared,
          MaxSizeAllowed: maxBytes,
        },
        { status: 400 },
      );
    }
    const expectation = this.checksumExpectation(ctx);
    const transforms: Transform[] = [];
    let decoder: AwsChunkedDecoder | undefined;
    if (mode.chunked) {
      const p = ctx.principal;
      decoder = new AwsChunkedDecoder({
        decodedLength: declared,
        signing:
          mode.signed && p.auth && p.signingKey
            ? {
                seedSignature: p.auth.signature,
                signingKey: p.signingKey,
                amzDate: p.auth.amzDate,
                scope: scopeOf(p.auth),
              }
            : undefined,
      });
      transforms.push(decoder);
    }
    const tap = new BodyTap({
      checksum: expectation.algorithm,
      sha256: mode.sha256 !== undefined,
      onBytes: (n) => (this.counters.bytesReceived += n),
    });
    this.continue100(ctx);

    const req = ctx.req;
    const first = transforms[0] ?? tap;
    const onClose = () => {
      if (!req.complete) {
        first.destroy(
          new S3Error('IncompleteBody', 'The client closed the connection before the body was complete.'),
        );
      }
    };
    req.once('close', onClose);
    req.once('aborted', onClose);
    req.pipe(first);
    let staged: StagedBody;
    try {
      staged = await this.store.stage(transforms, tap);
    } finally {
      req.off('close', onClose);
      req.off('aborted', onClose);
    }

    try {
      if (mode.sha256 !== undefined && staged.sha256Hex !== mode.sha256) {
        throw new S3Error('XAmzContentSHA256Mismatch', undefined, {
          ClientComputedContentSHA256: mode.sha256,
          S3ComputedContentSHA256: staged.sha256Hex ?? '',
        });
      }
      const md5Header = headerValue(req, 'content-md5');
      if (md5Header !== undefined) {
        const given = Buffer.from(md5Header, 'base64');
        if (given.length !== 16)
          throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.');
        if (given.toString('hex') !== staged.md5Hex) {
          throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
            ExpectedDigest: md5Header,
            CalculatedDigest: Buffer.from(staged.md5Hex, 'hex').toString('base64'),
          });
        }
      }
      if (expectation.algorithm && tap.checksum) {
        const computed = tap.checksum.digest();
        const announced =
          expectation.value ?? (expectation.trailer ? decoder?.trailers.get(expectation.trailer) : undefined);
        if (expectation.trailer && announced === undefined) {
          throw new S3Error(
            'InvalidRequest',
            `The trailer ${expectation.trailer} announced in x-amz-trailer was not sent.`,
          );
        }
        if (announced !== undefined && announced !== computed) {
          throw new S3Error(
            'BadDigest',
            `The ${expectation.algorithm} you specified did not match the calculated checksum.`,
          );
        }
        staged.checksum = { algorithm: expectation.algorithm, value: computed };
      }
    } catch (err) {
      await this.store.discard(staged);
      throw err;
    }
    return staged;
  }

  private async receiveSmall(ctx: Ctx): Promise<string> {
    const staged = await this.receive(ctx, false, 4 * MiB);
    try {
      return await fsp.readFile(staged.tmpPath, 'utf8');
    } finally {
      await this.store.discard(staged);
    }
  }

  // ------------------------------------------------------------------ helpers

  private checkKey(ctx: Ctx): void {
    if (Buffer.byteLength(ctx.key ?? '') > 1024) {
      throw new S3Error('KeyTooLongError', undefined, {
        Size: Buffer.byteLength(ctx.key ?? ''),
        MaxSizeAllowed: 1024,
      });
    }
  }

  private metadataFromHeaders(ctx: Ctx): Record<string, string> {
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
      throw new S3Error(
        'MetadataTooLarge',
        'Your metadata headers exceed the maximum allowed metadata size.',
        {
          Size: userSize,
          MaxSizeAllowed: 2048,
        },
      );
    }
    out['content-type'] ??= 'binary/octet-stream';
    return out;
  }

  private copySource(ctx: Ctx): { bucket: string; key: string; versionId?: string } {
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

  private objectHeaders(obj: OpenedObject): Record<string, string> {
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
      h[name] = String(value);
    }
    return h;
  }

  /** 412/304 per S3 (RFC 7232 order); throws or returns a 304 marker. */
  private checkConditions(
    get: (name: string) => string | undefined,
    etag: string,
    lastModified: Date,
    names = {
      match: 'if-match',
      noneMatch: 'if-none-match',
      modified: 'if-modified-since',
      unmodified: 'if-unmodified-since',
    },
  ): 'not-modified' | undefined {
    const lm = secondsOf(lastModified);
    const ifMatch = get(names.match);
    if (ifMatch !== undefined) {
      if (!etagMatches(ifMatch, etag))
        throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Match' });
    } else {
      const t = parseHttpDate(get(names.unmodified));
      if (t !== undefined && lm > t)
        throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Unmodified-Since' });
    }
    const ifNoneMatch = get(names.noneMatch);
    if (ifNoneMatch !== undefined) {
      if (etagMatches(ifNoneMatch, etag)) return 'not-modified';
    } else {
      const t = parseHttpDate(get(names.modified));
      if (t !== undefined && !(lm > t)) return 'not-modified';
    }
    return undefined;
  }

  /** Parses a single `bytes=` range against `size`; undefined = whole object. */
  private parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
    if (!header) return undefined;
    const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
    if (!m || (m[1] === '' && m[2] === '')) return undefined;
    const unsatisfiable = () =>
      new S3Error(
        'InvalidRange',
        undefined,
        { RangeRequested: header, ActualObjectSize: size },
        {
          headers: { 'content-range': `bytes */${size}` },
        },
      );
    if (m[1] === '') {
      const n = Number(m[2]);
      if (n === 0 || size === 0) throw unsatisfiable();
      return { start: Math.max(0, size - n), end: size - 1 };
    }
    const start = Number(m[1]);
    const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined; // invalid: S3 ignores it
    if (start >= size) throw unsatisfiable();
    return { start, end };
  }

  // ------------------------------------------------------------------ GET / HEAD

  private async getObject(ctx: Ctx, head: boolean): Promise<void> {
    const bucket = ctx.bucket as string;
    const key = ctx.key as string;
    const obj = await this.store.openObject(bucket, key);
    if (!obj) throw new S3Error('NoSuchKey', undefined, { Key: key });
    let handedOff = false;
    try {
      const marker = this.checkConditions((n) => headerValue(ctx.req, n), obj.etag, obj.lastModified);
      const headers = this.objectHeaders(obj);
      if (marker === 'not-modified') {
        this.send(ctx, 304, { etag: headers.etag, 'last-modified': headers['last-modified'] });
        return;
      }
      const partNumber = ctx.query.get('partNumber');
      if (partNumber !== undefined) {
        // Part boundaries of multipart objects are not kept: only part 1 of a single-part object.
        if (partNumber !== '1' || obj.etag.includes('-')) {
          throw new S3Error(
            'NotImplemented',
            'GetObject/HeadObject with partNumber is only supported for part 1 of single-part objects here.',
          );
        }
        headers['x-amz-mp-parts-count'] = '1';
      }
      if (!head) {
        for (const [param, name] of RESPONSE_OVERRIDES) {
          const v = ctx.query.get(param);
          if (v !== undefined) headers[name] = v;
        }
      }
      const range = this.parseRange(headerValue(ctx.req, 'range'), obj.size);
      const start = range?.start ?? 0;
      const end = range ? range.end : obj.size - 1;
      const length = Math.max(0, end - start + 1);
      if (range) headers['content-range'] = `bytes ${start}-${end}/${obj.size}`;
      headers['content-length'] = String(length);
      ctx.res.writeHead(range ? 206 : 200, { ...this.baseHeaders(ctx), ...headers });
      if (head || length === 0) {
        ctx.res.end();
        return;
      }
      handedOff = true;
      await this.streamBody(ctx, obj, start, end);
    } finally {
      if (!handedOff) await obj.handle.close();
    }
  }

  private async streamBody(ctx: Ctx, obj: OpenedObject, start: number, end: number): Promise<void> {
    const res = ctx.res;
    const stream = obj.handle.createReadStream({ start, end, highWaterMark: MiB, autoClose: true });
    const length = end - start + 1;
    const f = this.faults;
    let cutAt: number | undefined;
    if (
      f.cutGetBody &&
      f.cutGetBody.times > 0 &&
      length > f.cutGetBody.afterBytes &&
      scopeMatches(f.cutGetBody.scope, ctx)
    ) {
      f.cutGetBody.times--;
      cutAt = f.cutGetBody.afterBytes;
    }
    const bps = f.getBytesPerSecond > 0 && scopeMatches(f.bandwidthScope, ctx) ? f.getBytesPerSecond : 0;
    if (bps) this.counters.faults.throttled++;
    const t0 = Date.now();
    let sent = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let rest = chunk;
        while (rest.length) {
          let n = bps ? Math.min(rest.length, 64 * 1024) : rest.length;
          const replace = this.faults.replaceSourceAfterBytes;
          if (replace && replace.bucket === ctx.bucket && replace.key === ctx.key) {
            const untilReplace = replace.afterBytes - this.replaceServed;
            if (untilReplace <= 0) {
              await this.replaceSource(replace);
              continue;
            }
            n = Math.min(n, untilReplace);
          }
          if (cutAt !== undefined && sent + n >= cutAt) {
            const piece = rest.subarray(0, cutAt - sent);
            if (piece.length) {
              await new Promise<void>((resolve) => res.write(piece, () => resolve()));
              this.counters.bytesServed += piece.length;
            }
            this.counters.faults.cutGetBody++;
            const socket = res.socket as (Socket & { resetAndDestroy?: () => void }) | null;
            if (socket?.resetAndDestroy) socket.resetAndDestroy();
            else socket?.destroy();
            stream.destroy();
            return;
          }
          const piece = rest.subarray(0, n);
          rest = rest.subarray(n);
          if (!(await writeChunk(res, piece))) {
            stream.destroy();
            return;
          }
          sent += n;
          this.counters.bytesServed += n;
          if (replace && replace.bucket === ctx.bucket && replace.key === ctx.key) {
            this.replaceServed += n;
            if (this.replaceServed >= replace.afterBytes) await this.replaceSource(replace);
          }
          if (bps) {
            const wait = t0 + (sent / bps) * 1000 - Date.now();
            if (wait > 0) await sleep(wait);
          }
        }
      }
      res.end();
    } catch {
      stream.destroy();
      res.destroy();
    }
  }

  /** Fires the replaceSourceAfterBytes fault (once). */
  private async replaceSource(r: NonNullable<FaultSettings['replaceSourceAfterBytes']>): Promise<void> {
    if (this.faults.replaceSourceAfterBytes !== r) return;
    this.faults.replaceSourceAfterBytes = undefined;
    this.replaceServed = 0;
    await this.store.putObject(r.bucket, r.key, typeof r.body === 'string' ? Buffer.from(r.body) : r.body);
    this.counters.faults.replacedSource++;
  }

  // ------------------------------------------------------------------ PUT / copy

  private writeConditionCheck(ctx: Ctx): ((current: string | undefined) => void) | undefined {
    const ifNoneMatch = headerValue(ctx.req, 'if-none-match');
    const ifMatch = headerValue(ctx.req, 'if-match');
    if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
    return (current) => {
      if (ifNoneMatch !== undefined && current !== undefined && etagMatches(ifNoneMatch, current)) {
        throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-None-Match' });
      }
      if (ifMatch !== undefined) {
        if (current === undefined) throw new S3Error('NoSuchKey', undefined, { Key: ctx.key ?? '' });
        if (!etagMatches(ifMatch, current))
          throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Match' });
      }
    };
  }

  private async putObject(ctx: Ctx): Promise<void> {
    this.checkKey(ctx);
    const metadata = this.metadataFromHeaders(ctx);
    const staged = await this.receive(ctx, true, MAX_PUT_SIZE);
    let result: { etag: string };
    try {
      result = await this.store.commitObject(
        ctx.bucket as string,
        ctx.key as string,
        staged.tmpPath,
        staged.md5Hex,
        metadata,
        this.writeConditionCheck(ctx),
      );
    } catch (err) {
      await this.store.discard(staged);
      throw err;
    }
    const headers: Record<string, string> = { etag: result.etag };
    if (staged.checksum) headers[headerForAlgorithm(staged.checksum.algorithm)] = staged.checksum.value;
    this.send(ctx, 200, headers);
  }

  /** Opens the copy source after checking its preconditions. */
  private async openCopySource(
    ctx: Ctx,
  ): Promise<{ src: { bucket: string; key: string }; obj: OpenedObject }> {
    const src = this.copySource(ctx);
    if (!(await this.store.bucketExists(src.bucket))) {
      throw new S3Error('NoSuchBucket', undefined, { BucketName: src.bucket });
    }
    const obj = await this.store.openObject(src.bucket, src.key);
    if (!obj) throw new S3Error('NoSuchKey', undefined, { Key: src.key });
    try {
      const marker = this.checkConditions((n) => headerValue(ctx.req, n), obj.etag, obj.lastModified, {
        match: 'x-amz-copy-source-if-match',
        noneMatch: 'x-amz-copy-source-if-none-match',
        modified: 'x-amz-copy-source-if-modified-since',
        unmodified: 'x-amz-copy-source-if-unmodified-since',
      });
      if (marker)
        throw new S3Error('PreconditionFailed', undefined, { Condition: 'x-amz-copy-source-If-None-Match' });
    } catch (err) {
      await obj.handle.close();
      throw err;
    }
    return { src, obj };
  }

  private async stageFromHandle(obj: OpenedObject, start: number, end: number): Promise<StagedBody> {
    const tap = new BodyTap();
    const source = obj.handle.createReadStream({
      start,
      end: Math.max(start, end),
      highWaterMark: MiB,
      autoClose: true,
    });
    if (end < start) {
      // empty source: createReadStream cannot express an empty range
      source.destroy();
      return this.store.stage([Readable.from([])], tap);
    }
    return this.store.stage([source], tap);
  }

  private async copyObject(ctx: Ctx): Promise<void> {
    this.checkKey(ctx);
    const directive = (headerValue(ctx.req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
    if (directive !== 'COPY' && directive !== 'REPLACE') {
      throw new S3Error('InvalidArgument', 'Unknown metadata directive.', {
        ArgumentName: 'x-amz-metadata-directive',
      });
    }
    const newMetadata = directive === 'REPLACE' ? this.metadataFromHeaders(ctx) : undefined;
    const { src, obj } = await this.openCopySource(ctx);
    if (
      src.bucket === ctx.bucket &&
      src.key === ctx.key &&
      directive === 'COPY' &&
      !ctx.req.headers['x-amz-storage-class']
    ) {
      await obj.handle.close();
      throw new S3Error(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    const metadata = newMetadata ?? { ...obj.metadata };
    const staged = await this.stageFromHandle(obj, 0, obj.size - 1);
    let result: { etag: string; lastModified: Date };
    try {
      result = await this.store.commitObject(
        ctx.bucket as string,
        ctx.key as string,
        staged.tmpPath,
        staged.md5Hex,
        metadata,
      );
    } catch (err) {
      await this.store.discard(staged);
      throw err;
    }
    this.sendXml(
      ctx,
      200,
      xml(
        'CopyObjectResult',
        [xml('LastModified', result.lastModified.toISOString()), xml('ETag', result.etag)],
        S3_XMLNS,
      ),
    );
  }

  // ------------------------------------------------------------------ multipart

  private async createMultipartUpload(ctx: Ctx): Promise<void> {
    this.checkKey(ctx);
    const metadata = this.metadataFromHeaders(ctx);
    const algHeader = headerValue(ctx.req, 'x-amz-checksum-algorithm')?.toUpperCase();
    if (algHeader && !(CHECKSUM_ALGORITHMS as readonly string[]).includes(algHeader)) {
      throw new S3Error('InvalidRequest', 'Checksum algorithm provided is unsupported.');
    }
    const alg = algHeader as ChecksumAlgorithm | undefined;
    const uploadId = await this.store.createUpload(ctx.bucket as string, ctx.key as string, metadata, alg);
    this.sendXml(
      ctx,
      200,
      xml(
        'InitiateMultipartUploadResult',
        [xml('Bucket', ctx.bucket as string), xml('Key', ctx.key as string), xml('UploadId', uploadId)],
        S3_XMLNS,
      ),
      alg ? { 'x-amz-checksum-algorithm': alg } : {},
    );
  }

  private partNumber(ctx: Ctx): number {
    const v = ctx.query.get('partNumber') ?? '';
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > 10000) {
      throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
        ArgumentName: 'partNumber',
        ArgumentValue: v,
      });
    }
    return n;
  }

  private async uploadPart(ctx: Ctx, copy: boolean): Promise<void> {
    const bucket = ctx.bucket as string;
    const uploadId = ctx.query.get('uploadId') ?? '';
    const partNumber = this.partNumber(ctx);
    const upload = await this.store.getUpload(bucket, uploadId, ctx.key);
    let staged: StagedBody;
    let copyResult: OpenedObject | undefined;
    if (copy) {
      const { obj } = await this.openCopySource(ctx);
      copyResult = obj;
      let start = 0;
      let end = obj.size - 1;
      const r = headerValue(ctx.req, 'x-amz-copy-source-range');
      if (r !== undefined) {
        const m = /^bytes=(\d+)-(\d+)$/.exec(r.trim());
        if (!m || Number(m[2]) < Number(m[1]) || Number(m[2]) >= obj.size) {
          await obj.handle.close();
          throw new S3Error(
            'InvalidArgument',
            'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
            { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: r },
          );
        }
        start = Number(m[1]);
        end = Number(m[2]);
      }
      staged = await this.stageFromHandle(obj, start, end);
    } else {
      if (upload.checksumAlgorithm) {
        const exp = this.checksumExpectation(ctx);
        if (exp.algorithm !== upload.checksumAlgorithm) {
          throw new S3Error(
            'InvalidRequest',
            `Checksum Type mismatch occurred, expected checksum Type: ${upload.checksumAlgorithm.toLowerCase()}, actual checksum Type: ${exp.algorithm?.toLowerCase() ?? 'null'}`,
          );
        }
      }
      staged = await this.receive(ctx, true, MAX_PUT_SIZE);
    }
    try {
      await this.store.commitPart(bucket, uploadId, partNumber, staged);
    } catch (err) {
      await this.store.discard(staged);
      throw err;
    }
    const etag = JSON.stringify(staged.md5Hex);
    if (copyResult) {
      this.sendXml(
        ctx,
        200,
        xml('CopyPartResult', [xml('LastModified', new Date().toISOString()), xml('ETag', etag)], S3_XMLNS),
      );
      return;
    }
    const headers: Record<string, string> = { etag };
    if (staged.checksum) headers[headerForAlgorithm(staged.checksum.algorithm)] = staged.checksum.value;
    this.send(ctx, 200, headers);
  }

  private async completeMultipartUpload(ctx: Ctx): Promise<void> {
    const bucket = ctx.bucket as string;
    const key = ctx.key as string;
    const uploadId = ctx.query.get('uploadId') ?? '';
    const body = await this.receiveSmall(ctx);
    const location = `${this.endpoint}/${uriEncode(bucket)}/${uriEncode(key, true)}`;
    const reply = (etag: string) =>
      this.sendXml(
        ctx,
        200,
        xml(
          'CompleteMultipartUploadResult',
          [xml('Location', location), xml('Bucket', bucket), xml('Key', key), xml('ETag', etag)],
          S3_XMLNS,
        ),
      );
    const done = this.completed.get(uploadId);
    if (done && done.bucket === bucket && done.key === key) return reply(done.etag);

    let pending = this.completing.get(uploadId);
    if (!pending) {
      pending = this.doComplete(ctx, bucket, key, uploadId, body);
      this.completing.set(uploadId, pending);
      pending.then(
        () => this.completing.delete(uploadId),
        () => this.completing.delete(uploadId),
      );
    }
    const result = await pending;
    reply(result.etag);
  }

  private async doComplete(
    ctx: Ctx,
    bucket: string,
    key: string,
    uploadId: string,
    body: string,
  ): Promise<{ etag: string; lastModified: Date }> {
    const upload = await this.store.getUpload(bucket, uploadId, key);
    if (!/<CompleteMultipartUpload[\s>]/.test(body)) throw new S3Error('MalformedXML');
    const requested = xmlElements(body, 'Part').map((p) => ({
      partNumber: Number(xmlText(p, 'PartNumber')),
      etag: xmlText(p, 'ETag') ?? '',
      checksum: upload.checksumAlgorithm ? xmlText(p, `Checksum${upload.checksumAlgorithm}`) : undefined,
    }));
    if (requested.length === 0 || requested.some((p) => !Number.isInteger(p.partNumber))) {
      throw new S3Error('MalformedXML');
    }
    for (let i = 1; i < requested.length; i++) {
      if (requested[i].partNumber <= requested[i - 1].partNumber) {
        throw new S3Error(
          'InvalidPartOrder',
          'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
          { UploadId: uploadId },
        );
      }
    }
    const stored = new Map((await this.store.listParts(bucket, uploadId)).map((p) => [p.partNumber, p]));
    const minPart = this.options.minPartSize ?? 5 * MiB;
    requested.forEach((p, i) => {
      const s = stored.get(p.partNumber);
      if (!s || unquote(s.etag) !== unquote(p.etag)) {
        throw new S3Error(
          'InvalidPart',
          "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
          { UploadId: uploadId, PartNumber: p.partNumber, ETag: p.etag },
        );
      }
      if (upload.checksumAlgorithm) {
        if (p.checksum === undefined) {
          throw new S3Error(
            'InvalidRequest',
            `The upload was created using a ${upload.checksumAlgorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${p.partNumber} in the request.`,
          );
        }
        if (s.checksum !== undefined && p.checksum !== s.checksum) {
          throw new S3Error(
            'InvalidPart',
            `The ${upload.checksumAlgorithm} checksum of part ${p.partNumber} does not match.`,
            {
              UploadId: uploadId,
              PartNumber: p.partNumber,
            },
          );
        }
      }
      if (i < requested.length - 1 && s.size < minPart) {
        throw new S3Error(
          'EntityTooSmall',
          'Your proposed upload is smaller than the minimum allowed object size.',
          {
            ProposedSize: s.size,
            MinSizeAllowed: minPart,
            PartNumber: p.partNumber,
            ETag: p.etag,
          },
        );
      }
    });
    const assembled = await this.store.assembleParts(
      bucket,
      uploadId,
      requested.map((p) => p.partNumber),
    );
    let result: { etag: string; lastModified: Date };
    try {
      result = await this.store.commitObject(
        bucket,
        key,
        assembled.tmpPath,
        assembled.etagValue,
        upload.metadata,
        this.writeConditionCheck(ctx),
      );
    } catch (err) {
      await this.store.discard(assembled);
      throw err;
    }
    await this.store.removeUpload(bucket, uploadId);
    this.completed.set(uploadId, { bucket, key, etag: result.etag });
    if (this.completed.size > 10_000) this.completed.delete(this.completed.keys().next().value as string);
    return result;
  }

  private async abortMultipartUpload(ctx: Ctx): Promise<void> {
    const bucket = ctx.bucket as string;
    const uploadId = ctx.query.get('uploadId') ?? '';
    await this.store.getUpload(bucket, uploadId, ctx.key);
    await this.store.removeUpload(bucket, uploadId);
    this.send(ctx, 204);
  }

  private async listParts(ctx: Ctx): Promise<void> {
    const bucket = ctx.bucket as string;
    const uploadId = ctx.query.get('uploadId') ?? '';
    const upload = await this.store.getUpload(bucket, uploadId, ctx.key);
    const marker = Number(ctx.query.get('part-number-marker') ?? '0') || 0;
    const maxParts = Math.min(1000, Number(ctx.query.get('max-parts') ?? '1000') || 1000);
    const all = (await this.store.listParts(bucket, uploadId)).filter((p) => p.partNumber > marker);
    const page = all.slice(0, maxParts);
    const truncated = all.length > page.length;
    this.sendXml(
      ctx,
      200,
      xml(
        'ListPartsResult',
        [
          xml('Bucket', bucket),
          xml('Key', upload.key),
          xml('UploadId', uploadId),
          xml('PartNumberMarker', String(marker)),
          page.length ? xml('NextPartNumberMarker', String(page[page.length - 1].partNumber)) : undefined,
          xml('MaxParts', String(maxParts)),
          xml('IsTruncated', String(truncated)),
          upload.checksumAlgorithm ? xml('ChecksumAlgorithm', upload.checksumAlgorithm) : undefined,
          xml('StorageClass', 'STANDARD'),
          ...page.map((p) =>
            xml('Part', [
              xml('PartNumber', String(p.partNumber)),
              xml('LastModified', p.lastModified.toISOString()),
              xml('ETag', p.etag),
              xml('Size', String(p.size)),
              p.checksum && upload.checksumAlgorithm
                ? xml(`Checksum${upload.checksumAlgorithm}`, p.checksum)
                : undefined,
            ]),
          ),
        ],
        S3_XMLNS,
      ),
    );
  }

  private async listMultipartUploads(ctx: Ctx): Promise<void> {
    const bucket = ctx.bucket as string;
    const prefix = ctx.query.get('prefix') ?? '';
    const uploads = (await this.store.listUploads(bucket)).filter((u) => u.key.startsWith(prefix));
    const page = uploads.slice(0, 1000);
    this.sendXml(
      ctx,
      200,
      xml(
        'ListMultipartUploadsResult',
        [
          xml('Bucket', bucket),
          xml('KeyMarker', ctx.query.get('key-marker') ?? ''),
          xml('UploadIdMarker', ctx.query.get('upload-id-marker') ?? ''),
          xml('NextKeyMarker', page.length ? page[page.length - 1].key : ''),
          xml('NextUploadIdMarker', page.length ? page[page.length - 1].uploadId : ''),
          xml('Prefix', prefix),
          xml('MaxUploads', '1000'),
          xml('IsTruncated', String(uploads.length > page.length)),
          ...page.map((u) =>
            xml('Upload', [
              xml('Key', u.key),
              xml('UploadId', u.uploadId),
              xml('Initiator', [xml('ID', 'embedded-s3'), xml('DisplayName', 'embedded-s3')]),
              xml('Owner', [xml('ID', 'embedded-s3'), xml('DisplayName', 'embedded-s3')]),
              xml('StorageClass', 'STANDARD'),
              xml('Initiated', u.initiated.toISOString()),
              u.checksumAlgorithm ? xml('ChecksumAlgorithm', u.checksumAlgorithm) : undefined,
            ]),
          ),
        ],
        S3_XMLNS,
      ),
    );
  }

  // ------------------------------------------------------------------ listing

  private async listObjects(ctx: Ctx, v2: boolean): Promise<void> {
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
    let maxKeys = 1000;
    if (maxKeysRaw !== undefined) {
      if (!/^\d+$/.test(maxKeysRaw)) {
        throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', {
          ArgumentName: 'max-keys',
          ArgumentValue: maxKeysRaw,
        });
      }
      maxKeys = Math.min(1000, Number(maxKeysRaw));
    }
    const token = v2 ? q.get('continuation-token') : undefined;
    const startAfter = v2 ? q.get('start-after') : undefined;
    const marker = v2 ? undefined : q.get('marker');
    let after = marker ?? startAfter ?? '';
    if (token !== undefined) after = this.decodeToken(token, bucket);

    const keys = await this.store.listKeys(bucket, prefix);
    const contents: string[] = [];
    const prefixes: string[] = [];
    let last: string | undefined;
    let truncated = false;
    for (const key of keys) {
      if (after && compareKeys(key, after) <= 0) continue;
      let item = key;
      let isPrefix = false;
      if (delimiter) {
        const i = key.indexOf(delimiter, prefix.length);
        if (i >= 0) {
          item = key.slice(0, i + delimiter.length);
          isPrefix = true;
          if (item === last || (after && compareKeys(item, after) <= 0)) continue;
        }
      }
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      (isPrefix ? prefixes : contents).push(item);
      last = item;
    }
    const summaries = (await Promise.all(contents.map((k) => this.store.summary(bucket, k)))).filter(
      (s): s is NonNullable<typeof s> => s !== undefined,
    );
    const enc = (s: string) => (encodingType === 'url' ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
    const owner = xml('Owner', [xml('ID', 'embedded-s3'), xml('DisplayName', 'embedded-s3')]);
    const fetchOwner = !v2 || q.get('fetch-owner') === 'true';
    const children = [
      xml('Name', bucket),
      xml('Prefix', enc(prefix)),
      v2 ? undefined : xml('Marker', enc(marker ?? '')),
      v2 && startAfter !== undefined ? xml('StartAfter', enc(startAfter)) : undefined,
      v2 && token !== undefined ? xml('ContinuationToken', token) : undefined,
      v2 && truncated && last !== undefined
        ? xml('NextContinuationToken', this.encodeToken(bucket, last))
        : undefined,
      !v2 && truncated && delimiter && last !== undefined ? xml('NextMarker', enc(last)) : undefined,
      v2 ? xml('KeyCount', String(summaries.length + prefixes.length)) : undefined,
      xml('MaxKeys', String(maxKeysRaw ?? 1000)),
      delimiter ? xml('Delimiter', enc(delimiter)) : undefined,
      encodingType ? xml('EncodingType', encodingType) : undefined,
      xml('IsTruncated', String(truncated)),
      ...summaries.map((s) =>
        xml('Contents', [
          xml('Key', enc(s.key)),
          xml('LastModified', s.lastModified.toISOString()),
          xml('ETag', s.etag),
          xml('Size', String(s.size)),
          fetchOwner ? owner : undefined,
          xml('StorageClass', 'STANDARD'),
        ]),
      ),
      ...prefixes.map((p) => xml('CommonPrefixes', [xml('Prefix', enc(p))])),
    ];
    this.sendXml(ctx, 200, xml('ListBucketResult', children, S3_XMLNS));
  }

  private encodeToken(bucket: string, after: string): string {
    return Buffer.from(JSON.stringify({ b: bucket, a: after })).toString('base64');
  }
  private decodeToken(token: string, bucket: string): string {
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

  // ------------------------------------------------------------------ buckets and batch delete

  private async listBuckets(ctx: Ctx): Promise<void> {
    const buckets = await this.store.listBuckets();
    this.sendXml(
      ctx,
      200,
      xml(
        'ListAllMyBucketsResult',
        [
          xml('Owner', [xml('ID', 'embedded-s3'), xml('DisplayName', 'embedded-s3')]),
          xml(
            'Buckets',
            buckets.map((b) =>
              xml('Bucket', [xml('Name', b.name), xml('CreationDate', b.creationDate.toISOString())]),
            ),
          ),
        ],
        S3_XMLNS,
      ),
    );
  }

  private async createBucket(ctx: Ctx): Promise<void> {
    const bucket = ctx.bucket as string;
    if (!validBucketName(bucket))
      throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucket });
    if (await this.store.bucketExists(bucket)) {
      throw new S3Error(
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
        {
          BucketName: bucket,
        },
      );
    }
    await this.receiveSmall(ctx);
    await this.store.createBucket(bucket);
    this.send(ctx, 200, { location: `/${bucket}` });
  }

  private async deleteBucket(ctx: Ctx): Promise<void> {
    const bucket = ctx.bucket as string;
    if (!(await this.store.bucketExists(bucket)))
      throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
    await this.store.deleteBucket(bucket);
    this.send(ctx, 204);
  }

  private async deleteObjects(ctx: Ctx): Promise<void> {
    const bucket = ctx.bucket as string;
    const hasDigest =
      ctx.req.headers['content-md5'] !== undefined ||
      CHECKSUM_ALGORITHMS.some((a) => ctx.req.headers[headerForAlgorithm(a)] !== undefined) ||
      ctx.req.headers['x-amz-trailer'] !== undefined;
    if (!hasDigest) {
      throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5');
    }
    const body = await this.receiveSmall(ctx);
    if (!/<Delete[\s>]/.test(body)) throw new S3Error('MalformedXML');
    const quiet = xmlText(body, 'Quiet') === 'true';
    const keys = xmlElements(body, 'Object').map((o) => xmlText(o, 'Key'));
    if (keys.length === 0 || keys.length > 1000 || keys.some((k) => k === undefined))
      throw new S3Error('MalformedXML');
    const deleted: string[] = [];
    for (const key of keys as string[]) {
      await this.store.deleteObject(bucket, key);
      deleted.push(key);
    }
    this.sendXml(
      ctx,
      200,
      xml('DeleteResult', quiet ? [] : deleted.map((k) => xml('Deleted', [xml('Key', k)])), S3_XMLNS),
    );
  }
}
