/**
 * A CredentialIssuer that mints credentials the way TEA does: STS `AssumeRole` on a real S3
 * implementation (Ceph RADOS Gateway), with a read-only session policy (s3:ListBucket and
 * s3:GetObject on the source buckets only) that narrows whatever the role itself allows.
 *
 * The call is the STS Query API (`POST /` with `Action=AssumeRole`, SigV4 with service `sts`), signed
 * with @smithy/signature-v4 and sent with node:http: no STS client dependency for one request.
 * The role's own policy may allow all of S3 (scripts/rgw/up.sh creates it so): the session policy is
 * what makes the credentials read-only, as with TEA.
 */
import { createHash, createHmac, type BinaryLike, type Hash, type Hmac } from 'node:crypto';
import * as http from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { CredentialIssuer, IssuedCredentials } from './issuer';

export interface RgwIssuerOptions extends StsEndpoint {
  /** ARN of the role to assume, e.g. `arn:aws:iam:::role/tea-source-reader`. */
  readonly roleArn: string;
  /** Buckets the issued credentials may list and read; read at every issue, so it may grow. */
  readonly sourceBuckets: readonly string[];
}

/** The STS error RGW answered with: `code` is STS's `<Code>`, e.g. `AccessDenied`. */
export class StsError extends Error {
  override readonly name = 'StsError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`STS AssumeRole answered ${status} ${code}: ${message}`);
  }
}

/** The session policy TEA attaches: list and read the source buckets, nothing else. */
export function readOnlySessionPolicy(buckets: readonly string[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: buckets.map((b) => `arn:aws:s3:::${b}`) },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: buckets.map((b) => `arn:aws:s3:::${b}/*`) },
    ],
  });
}

/** The hash constructor SignatureV4 wants, on node:crypto. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const binary = (data: SourceData): BinaryLike =>
  data instanceof ArrayBuffer ? new Uint8Array(data) : (data as BinaryLike);

class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', binary(secret));
  }
  update(data: SourceData): void {
    this.hash.update(binary(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** The text of the first `<tag>` element (STS responses are flat and small; entities decoded). */
function element(doc: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(doc);
  return m?.[1]
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export interface AssumeRoleRequest {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly durationSeconds: number;
  /** Session policy (JSON); without one the session may do whatever the role may. */
  readonly policy?: string;
}

/** STS on RGW: the endpoint, the region to sign for, and the key pair of the caller. */
export interface StsEndpoint {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Request timeout. @default 10000 */
  readonly timeoutMs?: number;
}

/** One STS `AssumeRole` call (Query API, form-encoded POST, SigV4 service `sts`). */
export async function assumeRole(sts: StsEndpoint, request: AssumeRoleRequest): Promise<IssuedCredentials> {
  const url = new URL(sts.endpoint);
  const params: Record<string, string> = {
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleArn: request.roleArn,
    RoleSessionName: request.sessionName,
    DurationSeconds: String(request.durationSeconds),
  };
  if (request.policy !== undefined) params.Policy = request.policy;
  const body = new URLSearchParams(params).toString();
  const signer = new SignatureV4({
    credentials: sts.credentials,
    region: sts.region,
    service: 'sts',
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port) || undefined,
    path: '/',
    query: {},
    headers: {
      host: url.host,
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  });
  const { status, text } = await post(url, signed.headers, body, sts.timeoutMs ?? 10_000);
  if (status !== 200) {
    throw new StsError(
      status,
      element(text, 'Code') ?? 'Unknown',
      element(text, 'Message') ?? text.slice(0, 200),
    );
  }
  const accessKeyId = element(text, 'AccessKeyId');
  const secretAccessKey = element(text, 'SecretAccessKey');
  const sessionToken = element(text, 'SessionToken');
  const expiration = new Date(element(text, 'Expiration') ?? NaN);
  if (!accessKeyId || !secretAccessKey || !sessionToken || Number.isNaN(expiration.getTime())) {
    throw new Error(`STS AssumeRole answered 200 without credentials: ${text.slice(0, 200)}`);
  }
  return { accessKeyId, secretAccessKey, sessionToken, expiration };
}

function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: 'POST', path: '/', headers, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('STS AssumeRole timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** The TEA emulator's issuer on RGW: every call is an AssumeRole with the read-only session policy. */
export class RgwCredentialIssuer implements CredentialIssuer {
  /** Sessions issued so far. */
  issued = 0;

  constructor(private readonly options: RgwIssuerOptions) {}

  async issue(lifetimeSeconds: number, sessionName: string): Promise<IssuedCredentials> {
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds <= 0) {
      throw new Error(`lifetimeSeconds must be a positive integer, got ${lifetimeSeconds}`);
    }
    const credentials = await assumeRole(this.options, {
      roleArn: this.options.roleArn,
      sessionName,
      durationSeconds: lifetimeSeconds,
      policy: readOnlySessionPolicy(this.options.sourceBuckets),
    });
    this.issued++;
    return credentials;
  }
}
