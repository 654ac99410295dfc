/**
 * Raw S3 requests for scripts/rgw/probe-differences.ts: node:http and @smithy/signature-v4 only, so
 * that headers and bodies go out and come back exactly as written (the SDK would add, fix or hide some).
 */
import { createHash, createHmac, type BinaryLike, type Hash, type Hmac } from 'node:crypto';
import * as http from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

/** Where requests go: `name` labels debug output (PROBE_DEBUG=1 prints every exchange). */
export interface S3Target {
  name: string;
  endpoint: string;
  region: string;
}

export interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface RawRequest {
  method: string;
  bucket?: string;
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** x-amz-content-sha256; default the body's SHA-256 */
  payloadHash?: string;
  /** send the body with Transfer-Encoding: chunked and no Content-Length */
  unsized?: boolean;
  signingDate?: Date;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

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

/** S3's URI encoding of a key: every byte but unreserved characters and `/`. */
function encodePath(value: string): string {
  return Array.from(Buffer.from(value, 'utf8'), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9\-._~/]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
}

const encodeQuery = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export async function send(backend: S3Target, keys: Keys | null, r: RawRequest): Promise<RawResponse> {
  const url = new URL(backend.endpoint);
  const path =
    '/' +
    [r.bucket, r.key]
      .filter((p) => p !== undefined)
      .map((p) => encodePath(p!))
      .join('/');
  const body = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body);
  let headers: Record<string, string> = { host: url.host, ...(r.headers ?? {}) };
  if (!r.unsized && (r.body !== undefined || ['PUT', 'POST'].includes(r.method))) {
    headers['content-length'] = String(body.length);
  }
  if (r.unsized) headers['transfer-encoding'] = 'chunked';
  const query = r.query ?? {};
  if (keys) {
    headers['x-amz-content-sha256'] = r.payloadHash ?? createHash('sha256').update(body).digest('hex');
    const signer = new SignatureV4({
      credentials: keys,
      region: backend.region,
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
      applyChecksum: false,
    });
    const signed = await signer.sign(
      {
        method: r.method,
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path,
        query,
        headers,
        body,
      },
      { signingDate: r.signingDate },
    );
    headers = signed.headers;
  }
  const qs = Object.entries(query)
    .map(([k, v]) => (v === '' ? encodeQuery(k) : `${encodeQuery(k)}=${encodeQuery(v)}`))
    .join('&');
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: Number(url.port),
        method: r.method,
        path: qs ? `${path}?${qs}` : path,
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const b = Buffer.concat(chunks);
          if (process.env.PROBE_DEBUG) {
            console.error(
              `[${backend.name}] ${r.method} ${path} ${JSON.stringify(query)} -> ${res.statusCode}`,
            );
            console.error(JSON.stringify(res.headers), b.length < 2000 ? b.toString() : `${b.length} bytes`);
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, text: b.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (r.unsized) {
      req.write(body);
      req.end();
    } else {
      req.end(body);
    }
  });
}

/** XML text with its entities decoded (RGW writes `&apos;` and `&#x7f;`; others write `'`). */
export function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|quot|apos|lt|gt|amp);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return { quot: '"', apos: "'", lt: '<', gt: '>', amp: '&' }[e]!;
  });
}

/** The text of every `<tag>` element, in order. */
export function elements(doc: string, tag: string): string[] {
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g');
  return Array.from(doc.matchAll(re), (m) => unescapeXml(m[1]));
}
export const element = (doc: string, tag: string): string | undefined => elements(doc, tag)[0];
