/** Helpers for the embedded S3 tests: raw signed HTTP requests (what the SDK will not send). */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import * as http from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { S3ServiceException } from '@aws-sdk/client-s3';
import type { EmbeddedS3 } from '../../emulators/s3/server';

type SourceData = string | ArrayBuffer | ArrayBufferView;
function toBuffer(d: SourceData): Buffer {
  if (typeof d === 'string') return Buffer.from(d);
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return Buffer.from(d);
}

/** A node:crypto Sha256 for @smithy/signature-v4 (the SDK's own hash package is internal). */
export class Sha256 {
  private h: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.h = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret !== undefined ? createHmac('sha256', toBuffer(this.secret)) : createHash('sha256');
  }
  update(data: SourceData): void {
    this.h.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.fresh();
  }
}

export interface RawCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface RawRequest {
  method: string;
  /** raw (already URI-encoded) path, e.g. /bucket/a%20b */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** null: anonymous */
  credentials: RawCredentials | null;
  region?: string;
  /** x-amz-content-sha256 to sign (default: sha256 of the body) */
  payloadHash?: string;
  /** change headers (or the query) after signing */
  afterSign?: (headers: Record<string, string>, query: Record<string, string>) => void;
  /** presign instead of signing headers */
  presignExpiresIn?: number;
  signingDate?: Date;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export async function signRequest(
  s3: EmbeddedS3,
  r: RawRequest,
): Promise<{ path: string; headers: Record<string, string>; query: Record<string, string> }> {
  const url = new URL(s3.endpoint);
  const body = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body);
  const headers: Record<string, string> = { host: url.host, ...(r.headers ?? {}) };
  let query = { ...(r.query ?? {}) };
  if (r.credentials) {
    const signer = new SignatureV4({
      credentials: r.credentials,
      region: r.region ?? s3.region,
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
      applyChecksum: false,
    });
    const request = {
      method: r.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      // the signer encodes nothing (uriEscapePath false): give it the wire path
      path: r.path,
      query,
      headers,
      body,
    };
    if (r.presignExpiresIn !== undefined) {
      // as @aws-sdk/s3-request-presigner does: presigned S3 URLs carry UNSIGNED-PAYLOAD
      headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      const signed = await signer.presign(request, {
        expiresIn: r.presignExpiresIn,
        signingDate: r.signingDate,
        unhoistableHeaders: new Set(['x-amz-content-sha256']),
        unsignableHeaders: new Set(['x-amz-content-sha256']),
      });
      query = signed.query as Record<string, string>;
      Object.assign(headers, signed.headers);
      delete headers['x-amz-content-sha256'];
    } else {
      headers['x-amz-content-sha256'] = r.payloadHash ?? createHash('sha256').update(body).digest('hex');
      const signed = await signer.sign(request, { signingDate: r.signingDate });
      Object.assign(headers, signed.headers);
    }
  }
  r.afterSign?.(headers, query);
  return { path: r.path, headers, query };
}

function queryString(query: Record<string, string>): string {
  const parts = Object.entries(query).map(([k, v]) => `${encode(k)}=${encode(v)}`);
  return parts.length ? '?' + parts.join('&') : '';
}
function encode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Sends a (signed) request over a fresh connection and reads the whole response. */
export async function rawRequest(s3: EmbeddedS3, r: RawRequest): Promise<RawResponse> {
  const { headers, query } = await signRequest(s3, r);
  const url = new URL(s3.endpoint);
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  if (
    body !== undefined &&
    headers['content-length'] === undefined &&
    headers['transfer-encoding'] === undefined
  ) {
    headers['content-length'] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: Number(url.port),
        method: r.method,
        path: r.path + queryString(query),
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const b = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, text: b.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Expects an SDK call to fail with an S3 error code (and HTTP status). */
export async function expectS3Error(
  p: Promise<unknown>,
  code: string,
  status?: number,
): Promise<S3ServiceException> {
  let err: S3ServiceException | undefined;
  try {
    await p;
  } catch (e) {
    err = e as S3ServiceException;
  }
  if (!err) throw new Error(`expected ${code}, but the call succeeded`);
  const got = (err as unknown as { Code?: string }).Code ?? err.name;
  if (got !== code) throw new Error(`expected ${code}, got ${got} (${err.message})`);
  if (status !== undefined && err.$metadata?.httpStatusCode !== status) {
    throw new Error(`expected HTTP ${status} for ${code}, got ${err.$metadata?.httpStatusCode}`);
  }
  return err;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic pseudo-random bytes. */
export function patternBuffer(size: number, seed = 1): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
