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
 *
 * This file is the public face (start/stop and the API tests use); a request goes through
 * dispatch.ts (auth.ts, faults.ts) to an operation in operations/, over the store in store.ts.
 */
import { mkdtempSync, promises as fsp } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { CredentialIssuer, IssuedCredentials } from '../tea/issuer';
import type { AuthSettings } from './auth';
import { emptyCounters, type Counters } from './counters';
import { CredentialStore, type CredentialIdentity, type StaticCredentials } from './credentials';
import { handleRequest } from './dispatch';
import { EmulatedKms } from './encryption';
import { FaultInjector, type FaultSettings } from './faults';
import type { Gateway } from './gateway';
import { validBucketName } from './operations/buckets';
import { Completions } from './operations/multipart';
import { ObjectStore } from './store';

export type { Counters } from './counters';
export type { CredentialIdentity, CredentialKind, StaticCredentials } from './credentials';
export type { FaultScope, FaultSettings } from './faults';

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
  /** KMS key ids SSE-KMS may name besides the account's `aws/s3` key (others: KMS.NotFoundException) */
  kmsKeyIds?: string[];
}

export class EmbeddedS3 implements CredentialIssuer {
  readonly endpoint: string;
  readonly region: string;
  readonly adminCredentials: StaticCredentials;
  readonly destinationCredentials: StaticCredentials;
  readonly counters: Counters = emptyCounters();
  /** the data directory (s3rver's layout) */
  readonly directory: string;

  private readonly gateway: Gateway;
  private readonly auth: AuthSettings;
  private readonly clients = new Set<S3Client>();
  private stopped = false;

  private constructor(
    private readonly server: http.Server,
    private readonly store: ObjectStore,
    options: EmbeddedS3Options,
    private readonly ownsDirectory: boolean,
  ) {
    const { port } = server.address() as AddressInfo;
    this.endpoint = `http://127.0.0.1:${port}`;
    this.region = options.region ?? 'us-west-2';
    this.directory = store.root;
    const credentials = new CredentialStore(options.expiredTokenStyle);
    this.adminCredentials = credentials.admin;
    this.destinationCredentials = credentials.destination;
    this.auth = {
      credentials,
      region: this.region,
      policy: {
        sources: new Set(options.sourceBuckets),
        destinations: new Set(options.destinationBuckets),
        denied: new Set(options.deniedDestinationBuckets ?? []),
      },
    };
    this.gateway = {
      store,
      endpoint: this.endpoint,
      region: this.region,
      minPartSize: options.minPartSize ?? 5 * 1024 * 1024,
      counters: this.counters,
      faults: new FaultInjector(this.counters, store),
      completions: new Completions(),
      kms: new EmulatedKms(this.region, options.kmsKeyIds),
    };
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

  private handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    expectContinue: boolean,
  ): Promise<void> {
    return handleRequest(this.gateway, this.auth, req, res, expectContinue);
  }

  /** The ARN of the emulated account's `aws/s3` key: SSE-KMS without a key id uses it. */
  get defaultKmsKeyArn(): string {
    return this.gateway.kms.defaultKeyArn;
  }

  /** mutable fault injection settings; all off by default */
  get faults(): FaultSettings {
    return this.gateway.faults.settings;
  }
  set faults(settings: FaultSettings) {
    this.gateway.faults.settings = settings;
  }

  /** Mints read-only session credentials for the source buckets (the TEA emulator calls this). */
  issue(lifetimeSeconds: number, sessionName: string): IssuedCredentials {
    const issued = this.auth.credentials.issue(lifetimeSeconds, sessionName);
    this.counters.credentialsIssued++;
    return issued;
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
    this.auth.policy.denied.add(bucket);
  }
  /** Undoes denyDestination. */
  allowDestination(bucket: string): void {
    this.auth.policy.denied.delete(bucket);
  }

  /** Number of multipart uploads started and neither completed nor aborted. */
  async openMultipartUploads(bucket: string): Promise<number> {
    return (await this.store.uploads.listUploads(bucket)).length;
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
    this.gateway.faults.reset();
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
}
