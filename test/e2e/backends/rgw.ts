/**
 * The RGW backend of the e2e tests (test/e2e/world.ts selects it): a Ceph RADOS Gateway started by
 * scripts/rgw/up.sh. Source buckets belong to the archive's admin user; the TEA emulator
 * (emulators/tea/emulator.ts) mints their credentials with STS AssumeRole and a read-only
 * session policy (emulators/tea/rgw-issuer.ts). Destination buckets belong to the destination user.
 *
 * The cluster is shared by every test file of a run: bucket names get a random suffix by default.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  CreateBucketCommand,
  PutBucketPolicyCommand,
  S3Client,
  type S3ClientConfig,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { RgwCredentialIssuer } from '../../../emulators/tea/rgw-issuer';
import { startTeaEmulator, type ExpirationFormat, type TeaEmulator } from '../../../emulators/tea/emulator';

export interface RgwKeyPair {
  uid: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** What scripts/rgw/up.sh writes. */
export interface RgwClusterInfo {
  endpoint: string;
  region: string;
  /** Owns the source buckets; may read and write every bucket this module creates. */
  admin: RgwKeyPair;
  /** The user's own key pair; owns the destination buckets. */
  destination: RgwKeyPair;
  /** The credentials endpoint's service user: the one the role trusts. */
  tea: RgwKeyPair;
  roleArn: string;
  /** A key id RGW's `testing` KMS backend knows: SSE-KMS without a KMS (scripts/rgw/up.sh). */
  kmsKeyId?: string;
  pids: Record<string, number>;
  dataDir: string;
  logDir: string;
}

export const DEFAULT_INFO_FILE = resolve(__dirname, '../../../.tmp/rgw/info.json');

/** Reads the connection info from `file`, else `$RGW_INFO`, else `.tmp/rgw/info.json`. */
export function readRgwInfo(file = process.env.RGW_INFO || DEFAULT_INFO_FILE): RgwClusterInfo {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `no RGW cluster info at ${file} (${(error as Error).message}): start one with scripts/rgw/up.sh`,
      { cause: error },
    );
  }
  const info = JSON.parse(text) as RgwClusterInfo;
  for (const field of ['endpoint', 'region', 'admin', 'destination', 'tea', 'roleArn'] as const) {
    if (!info[field]) throw new Error(`${file} has no ${field}`);
  }
  return info;
}

export interface RgwWorldOptions {
  /** Created on start, owned by the admin user. @default ['source-<random>'] */
  sourceBuckets?: string[];
  /** Created on start, owned by the destination user. @default ['destination-<random>'] */
  destinationBuckets?: string[];
  /** Lifetime of the credentials the emulator issues. @default 3600 */
  credentialLifetimeSeconds?: number;
  /** @default 'python' */
  expirationFormat?: ExpirationFormat;
  /** @default a fresh random token */
  token?: string;
  /** @default readRgwInfo() */
  info?: RgwClusterInfo;
}

export interface RgwWorld {
  readonly s3Endpoint: string;
  readonly region: string;
  readonly info: RgwClusterInfo;
  readonly sourceBuckets: string[];
  readonly destinationBuckets: string[];
  /** The destination user's key pair (static, no session token). */
  readonly destinationCredentials: { accessKeyId: string; secretAccessKey: string };
  /** `http://127.0.0.1:<port>/s3credentials` */
  readonly credentialsEndpoint: string;
  /** The Earthdata Login token the emulator accepts. */
  readonly token: string;
  readonly tea: TeaEmulator;
  readonly issuer: RgwCredentialIssuer;
  /** A client with the admin key pair: seeds sources, reads and writes every bucket of this world. */
  adminClient(extra?: Partial<S3ClientConfig>): S3Client;
  /** A client for this endpoint with any credentials (path-style, region set, maxAttempts 3). */
  client(credentials: S3ClientConfig['credentials'], extra?: Partial<S3ClientConfig>): S3Client;
  /**
   * Creates a bucket: a destination bucket (owned by the destination user; the admin user may read and
   * write it) or a source bucket (owned by the admin user, readable by issued credentials).
   */
  createBucket(name: string, kind?: 'destination' | 'source'): Promise<void>;
  /** Environment for a process copying in this world with the standard SDK configuration. */
  processEnv(): Record<string, string>;
  stop(): Promise<void>;
}

/** Code and status of an S3 error, whatever name the SDK gave it (RGW's are often `UnknownError`). */
export function errorCode(error: unknown): { code?: string; status?: number } {
  const e = error as Partial<S3ServiceException> & { Code?: string };
  return { code: e.Code ?? e.name, status: e.$metadata?.httpStatusCode };
}

/**
 * A bucket policy letting both users read and write a destination bucket, whichever wrote an object:
 * RGW applies S3 object ACLs (an object belongs to its writer), and a bucket policy overrides them.
 */
function destinationPolicy(info: RgwClusterInfo, bucket: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: [info.admin.uid, info.destination.uid].map((u) => `arn:aws:iam:::user/${u}`) },
        Action: ['s3:*'],
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
      },
    ],
  });
}

export async function startRgwWorld(options: RgwWorldOptions = {}): Promise<RgwWorld> {
  const info = options.info ?? readRgwInfo();
  const suffix = randomBytes(4).toString('hex');
  const sourceBuckets = options.sourceBuckets ?? [`source-${suffix}`];
  const destinationBuckets = options.destinationBuckets ?? [`destination-${suffix}`];
  const token = options.token ?? `EDL-${randomBytes(24).toString('base64url')}`;
  const clients = new Set<S3Client>();

  const client: RgwWorld['client'] = (credentials, extra = {}) => {
    const c = new S3Client({
      endpoint: info.endpoint,
      region: info.region,
      forcePathStyle: true,
      maxAttempts: 3,
      credentials,
      ...extra,
    });
    clients.add(c);
    return c;
  };
  const keys = (k: RgwKeyPair) => ({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey });
  const admin = client(keys(info.admin));
  const destination = client(keys(info.destination));

  const issuer = new RgwCredentialIssuer({
    endpoint: info.endpoint,
    region: info.region,
    credentials: keys(info.tea),
    roleArn: info.roleArn,
    sourceBuckets,
  });

  const createBucket: RgwWorld['createBucket'] = async (name, kind = 'destination') => {
    if (kind === 'source') {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
      if (!sourceBuckets.includes(name)) sourceBuckets.push(name);
    } else {
      await destination.send(new CreateBucketCommand({ Bucket: name }));
      await destination.send(
        new PutBucketPolicyCommand({ Bucket: name, Policy: destinationPolicy(info, name) }),
      );
      if (!destinationBuckets.includes(name)) destinationBuckets.push(name);
    }
  };

  const destroyClients = (): void => {
    for (const c of clients) c.destroy();
    clients.clear();
  };
  let tea: TeaEmulator;
  try {
    for (const b of [...sourceBuckets]) await createBucket(b, 'source');
    for (const b of [...destinationBuckets]) await createBucket(b, 'destination');
    tea = await startTeaEmulator({
      tokens: [token],
      issuer,
      lifetimeSeconds: options.credentialLifetimeSeconds ?? 3600,
      expirationFormat: options.expirationFormat ?? 'python',
    });
  } catch (error) {
    destroyClients();
    throw error;
  }

  return {
    s3Endpoint: info.endpoint,
    region: info.region,
    info,
    sourceBuckets,
    destinationBuckets,
    destinationCredentials: keys(info.destination),
    credentialsEndpoint: tea.url,
    token,
    tea,
    issuer,
    adminClient: (extra) => client(keys(info.admin), extra),
    client,
    createBucket,
    processEnv: () => ({
      AWS_REGION: info.region,
      AWS_ENDPOINT_URL_S3: info.endpoint,
      AWS_ACCESS_KEY_ID: info.destination.accessKeyId,
      AWS_SECRET_ACCESS_KEY: info.destination.secretAccessKey,
    }),
    async stop() {
      destroyClients();
      await tea.close();
    },
  };
}
