/**
 * A small HTTP proxy on 127.0.0.1 in front of either e2e backend, so that a test observes the S3
 * requests the pipeline really sends (and can cut a GET body) whatever S3 answers them: the embedded
 * emulator's counters exist only on one backend, this works on both.
 *
 * The Host header is forwarded as the client sent it: SigV4 signed it, and the backend checks the
 * signature against what it receives.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Who signed a request: the issued (TEA) session, the destination key pair, the admin pair. */
export type RequestRole = 'source' | 'destination' | 'admin' | 'anonymous' | 'other';

export interface ObservedRequest {
  /** S3 operation name, e.g. GetObject, UploadPart, ListObjectsV2. */
  operation: string;
  role: RequestRole;
  bucket: string;
  key?: string;
  status?: number;
  range?: string;
  ifMatch?: string;
  /** The proxy cut this response's body. */
  cut?: boolean;
}

export interface S3Proxy {
  /** `http://127.0.0.1:<port>`: use it as the S3 endpoint. */
  readonly endpoint: string;
  readonly requests: readonly ObservedRequest[];
  /** Requests of `operation` (and `role`, when given). */
  count(operation: string, role?: RequestRole): number;
  /**
   * Cuts the body of the next `times` GetObject answers signed by the source session after `afterBytes`
   * bytes (for keys `matches` accepts), as a reset connection would.
   */
  cutSourceGets(afterBytes: number, times: number, matches?: (key: string) => boolean): void;
  reset(): void;
  close(): Promise<void>;
}

export interface S3ProxyOptions {
  /** The backend, e.g. `http://127.0.0.1:7480`. */
  target: string;
  /** Access key ids of the static key pairs, to tell the roles apart. */
  destinationAccessKeyId: string;
  adminAccessKeyId: string;
}

/** The operation a path-style S3 request names (the subset the pipeline and the tests use). */
function operationOf(method: string, key: string | undefined, query: URLSearchParams, copy: boolean): string {
  const has = (name: string): boolean => query.has(name);
  if (key === undefined) {
    if (method === 'GET') return query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    if (method === 'POST' && has('delete')) return 'DeleteObjects';
    return `${method}Bucket`;
  }
  switch (method) {
    case 'GET':
      return has('uploadId') ? 'ListParts' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      if (has('uploadId')) return copy ? 'UploadPartCopy' : 'UploadPart';
      return copy ? 'CopyObject' : 'PutObject';
    case 'POST':
      return has('uploads') ? 'CreateMultipartUpload' : 'CompleteMultipartUpload';
    case 'DELETE':
      return has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    default:
      return method;
  }
}

function roleOf(req: http.IncomingMessage, query: URLSearchParams, options: S3ProxyOptions): RequestRole {
  const credential =
    /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1] ??
    query.get('X-Amz-Credential')?.split('/')[0];
  if (credential === undefined) return 'anonymous';
  if (req.headers['x-amz-security-token'] !== undefined || query.has('X-Amz-Security-Token')) return 'source';
  if (credential === options.destinationAccessKeyId) return 'destination';
  return credential === options.adminAccessKeyId ? 'admin' : 'other';
}

export async function startS3Proxy(options: S3ProxyOptions): Promise<S3Proxy> {
  const target = new URL(options.target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const requests: ObservedRequest[] = [];
  let cuts: { afterBytes: number; remaining: number; matches: (key: string) => boolean } | undefined;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const [bucketPart, ...keyParts] = url.pathname.slice(1).split('/');
    // `/bucket/?list-type=2` names the bucket: an empty key is no key.
    const key = keyParts.join('/') ? decodeURIComponent(keyParts.join('/')) : undefined;
    const observed: ObservedRequest = {
      operation: operationOf(req.method ?? 'GET', key, url.searchParams, !!req.headers['x-amz-copy-source']),
      role: roleOf(req, url.searchParams, options),
      bucket: decodeURIComponent(bucketPart),
      key,
      range: req.headers.range,
      ifMatch: req.headers['if-match'],
    };
    requests.push(observed);
    const cut =
      observed.operation === 'GetObject' &&
      observed.role === 'source' &&
      cuts !== undefined &&
      cuts.remaining > 0 &&
      cuts.matches(key ?? '')
        ? cuts
        : undefined;

    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (answer) => {
        observed.status = answer.statusCode;
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        if (!cut || (answer.statusCode ?? 0) >= 300) {
          answer.pipe(res);
          return;
        }
        cut.remaining--;
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (observed.cut) return;
          const room = cut.afterBytes - sent;
          if (chunk.length < room) {
            sent += chunk.length;
            res.write(chunk);
            return;
          }
          observed.cut = true;
          res.write(chunk.subarray(0, room), () => res.destroy());
          answer.destroy();
        });
        answer.on('end', () => res.end());
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    count: (operation, role) =>
      requests.filter((r) => r.operation === operation && (role === undefined || r.role === role)).length,
    cutSourceGets(afterBytes, times, matches = () => true) {
      cuts = { afterBytes, remaining: times, matches };
    },
    reset() {
      requests.length = 0;
      cuts = undefined;
    },
    close() {
      agent.destroy();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
