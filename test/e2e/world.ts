/**
 * The world the end-to-end tests run in, whichever S3 backs it: `E2E_BACKEND=embedded` (the default: the
 * embedded S3 emulator) or `E2E_BACKEND=rgw` (Ceph RGW started by scripts/rgw/up.sh; `npm run test:rgw`).
 * Both come with our TEA emulator, so its counters are real on both.
 *
 * What only the emulator can do (fault injection, its counters, denying a bucket without a policy) is
 * the optional `emulator`; a test that needs it declares so with {@link itNeeds}, which skips it on the
 * other backend with the reason in its name. Requests can be observed on both through {@link E2EWorld.proxy}.
 */
import { randomBytes } from 'node:crypto';
import { PutBucketPolicyCommand, type S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { EmbeddedWorld } from '../../emulators/world';
import type { EmbeddedS3 } from '../../emulators/s3/server';
import type { TeaEmulator } from '../../emulators/tea/emulator';
import { startRgwWorld, type RgwWorld } from './backends/rgw';
import { startS3Proxy, type S3Proxy } from './backends/s3-proxy';

export type E2EBackend = 'embedded' | 'rgw';

/** The backend `E2E_BACKEND` names; anything else is an error, not a silent default. */
export function e2eBackend(env: NodeJS.ProcessEnv = process.env): E2EBackend {
  const value = env.E2E_BACKEND || 'embedded';
  if (value !== 'embedded' && value !== 'rgw') {
    throw new Error(`E2E_BACKEND must be 'embedded' or 'rgw', not ${JSON.stringify(value)}`);
  }
  return value;
}

export const BACKEND: E2EBackend = e2eBackend();

export interface E2EWorldOptions {
  /** Logical names; the world maps them to its own ({@link E2EWorld.bucket}). */
  sourceBuckets: string[];
  destinationBuckets: string[];
  /** Lifetime of the credentials the TEA emulator issues. @default 3600 */
  credentialLifetimeSeconds?: number;
}

export interface E2EWorld {
  readonly backend: E2EBackend;
  /** `http://127.0.0.1:<port>/s3credentials` of the TEA emulator. */
  readonly credentialsEndpoint: string;
  /** The Earthdata Login token the TEA emulator accepts. */
  readonly token: string;
  readonly tea: TeaEmulator;
  readonly s3Endpoint: string;
  readonly region: string;
  /** The user's own key pair: what writes the destination. */
  readonly destinationCredentials: { accessKeyId: string; secretAccessKey: string };
  /** A KMS key SSE-KMS may name; undefined: the account's default key (RGW's testing KMS has none). */
  readonly kmsKeyId?: string;
  /** The embedded S3 itself (counters, faults): on the embedded backend only. */
  readonly emulator?: EmbeddedS3;
  /** The real name of a bucket named in the options (RGW names are unique per run: one cluster, many files). */
  bucket(name: string): string;
  /** Reads and writes every bucket of this world; seeds the sources. */
  adminClient(): S3Client;
  /** S3 settings of `runPipelineLocally` for this backend, or for a proxy in front of it. */
  s3Config(endpoint?: string): S3ClientConfig;
  /** Environment of the command line copying in this world (standard SDK variables). */
  processEnv(endpoint?: string): Record<string, string>;
  /** Makes the destination key pair get AccessDenied on a destination bucket, until {@link allowDestination}. */
  denyDestination(bucket: string): Promise<void>;
  allowDestination(bucket: string): Promise<void>;
  /** A request-counting proxy in front of this backend (one per world, started on first use). */
  proxy(): Promise<S3Proxy>;
  stop(): Promise<void>;
}

/** What each backend can do beyond the common interface. */
const CAPABILITIES: Record<E2EBackend, { emulator: boolean }> = {
  embedded: { emulator: true },
  rgw: { emulator: false },
};

export type Capability = keyof (typeof CAPABILITIES)[E2EBackend];

/**
 * `it` when this run's backend has `capability`, else `it.skip` with the reason in the test's name, so
 * that the skip shows in every report.
 */
export function itNeeds(capability: Capability, reason: string): jest.It {
  if (CAPABILITIES[BACKEND][capability]) return it;
  const skip = ((name: string, fn?: jest.ProvidesCallback, timeout?: number) =>
    it.skip(`${name} [skipped on ${BACKEND}: ${reason}]`, fn, timeout)) as jest.It;
  return Object.assign(skip, it);
}

/** `describe` on the backends listed, else `describe.skip` with the reason in its name. */
export function describeOn(backends: E2EBackend[], reason: string): jest.Describe {
  if (backends.includes(BACKEND)) return describe;
  const skip = ((name: string, fn: jest.EmptyFunction) =>
    describe.skip(`${name} [skipped on ${BACKEND}: ${reason}]`, fn)) as jest.Describe;
  return Object.assign(skip, describe);
}

export async function startE2EWorld(options: E2EWorldOptions): Promise<E2EWorld> {
  return BACKEND === 'rgw' ? rgwWorld(options) : embeddedWorld(options);
}

/** One proxy per world, closed with it. */
function proxyOnce(start: () => Promise<S3Proxy>): { get(): Promise<S3Proxy>; close(): Promise<void> } {
  let proxy: Promise<S3Proxy> | undefined;
  return {
    get: () => (proxy ??= start()),
    close: async () => {
      if (proxy) await (await proxy).close();
    },
  };
}

function envFor(
  region: string,
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Record<string, string> {
  return {
    AWS_REGION: region,
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
}

async function embeddedWorld(options: E2EWorldOptions): Promise<E2EWorld> {
  const world = await EmbeddedWorld.start({
    sourceBuckets: options.sourceBuckets,
    destinationBuckets: options.destinationBuckets,
    credentialLifetimeSeconds: options.credentialLifetimeSeconds,
  });
  const { s3 } = world;
  const proxy = proxyOnce(() =>
    startS3Proxy({
      target: s3.endpoint,
      destinationAccessKeyId: s3.destinationCredentials.accessKeyId,
      adminAccessKeyId: s3.adminCredentials.accessKeyId,
    }),
  );
  const known = new Set([...options.sourceBuckets, ...options.destinationBuckets]);
  return {
    backend: 'embedded',
    credentialsEndpoint: world.credentialsEndpoint,
    token: world.token,
    tea: world.tea,
    s3Endpoint: s3.endpoint,
    region: s3.region,
    destinationCredentials: s3.destinationCredentials,
    emulator: s3,
    bucket(name) {
      if (!known.has(name)) throw new Error(`bucket ${name} was not named in the world's options`);
      return name;
    },
    adminClient: () => s3.client('admin'),
    s3Config: (endpoint = s3.endpoint) => ({ region: s3.region, endpoint, forcePathStyle: true }),
    processEnv: (endpoint = s3.endpoint) => envFor(s3.region, endpoint, s3.destinationCredentials),
    denyDestination: async (bucket) => s3.denyDestination(bucket),
    allowDestination: async (bucket) => s3.allowDestination(bucket),
    proxy: proxy.get,
    async stop() {
      await proxy.close();
      await world.stop();
    },
  };
}

/** A destination bucket's policy: both users may do anything, and `denied` (a uid) may not write or read. */
function destinationPolicy(world: RgwWorld, bucket: string, denied?: string): string {
  const user = (uid: string): string => `arn:aws:iam:::user/${uid}`;
  const resources = [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`];
  const statements: object[] = [
    {
      Effect: 'Allow',
      Principal: { AWS: [world.info.admin.uid, world.info.destination.uid].map(user) },
      Action: ['s3:*'],
      Resource: resources,
    },
  ];
  if (denied) {
    statements.push({
      Effect: 'Deny',
      Principal: { AWS: [user(denied)] },
      Action: ['s3:*'],
      Resource: resources,
    });
  }
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

async function rgwWorld(options: E2EWorldOptions): Promise<E2EWorld> {
  const suffix = randomBytes(4).toString('hex');
  const real = new Map(
    [...options.sourceBuckets, ...options.destinationBuckets].map((name) => [name, `${name}-${suffix}`]),
  );
  const world = await startRgwWorld({
    sourceBuckets: options.sourceBuckets.map((name) => real.get(name)!),
    destinationBuckets: options.destinationBuckets.map((name) => real.get(name)!),
    credentialLifetimeSeconds: options.credentialLifetimeSeconds,
  });
  const { info } = world;
  const admin = world.adminClient();
  const proxy = proxyOnce(() =>
    startS3Proxy({
      target: info.endpoint,
      destinationAccessKeyId: info.destination.accessKeyId,
      adminAccessKeyId: info.admin.accessKeyId,
    }),
  );
  // The admin user sets it: the Deny shuts out the destination user, the bucket's owner, policy calls included.
  const setPolicy = (bucket: string, denied?: string): Promise<unknown> =>
    admin.send(
      new PutBucketPolicyCommand({ Bucket: bucket, Policy: destinationPolicy(world, bucket, denied) }),
    );
  return {
    backend: 'rgw',
    credentialsEndpoint: world.credentialsEndpoint,
    token: world.token,
    tea: world.tea,
    s3Endpoint: world.s3Endpoint,
    region: world.region,
    destinationCredentials: world.destinationCredentials,
    kmsKeyId: info.kmsKeyId,
    bucket(name) {
      const bucket = real.get(name);
      if (!bucket) throw new Error(`bucket ${name} was not named in the world's options`);
      return bucket;
    },
    adminClient: () => world.adminClient(),
    s3Config: (endpoint = info.endpoint) => ({ region: info.region, endpoint, forcePathStyle: true }),
    processEnv: (endpoint = info.endpoint) => envFor(info.region, endpoint, world.destinationCredentials),
    denyDestination: async (bucket) => void (await setPolicy(bucket, info.destination.uid)),
    allowDestination: async (bucket) => void (await setPolicy(bucket)),
    proxy: proxy.get,
    async stop() {
      await proxy.close();
      await world.stop();
    },
  };
}
