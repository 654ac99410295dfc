import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CredentialIssuer, IssuedCredentials } from './issuer';

/** How `expiration` is written: TEA's Python `str(datetime)` or ISO-8601 (Cumulus). */
export type ExpirationFormat = 'python' | 'iso';

export interface TeaEmulatorOptions {
  /** @default 0 (any free port); the server always listens on 127.0.0.1 */
  readonly port?: number;
  /** Accepted `Authorization: Bearer` tokens. @default [] */
  readonly tokens?: string[];
  /** Accepted `asf-urs` cookie values. @default [] */
  readonly cookies?: string[];
  /** Tokens whose user has not accepted the archive's EULA: 403 with a `resolution_url`. @default [] */
  readonly eulaTokens?: string[];
  /** Tokens Earthdata Login knows but the archive refuses (another DAAC's user): 403 without a URL. @default [] */
  readonly forbiddenTokens?: string[];
  /** @default 'https://urs.earthdata.nasa.gov/approve_app?client_id=emulator' */
  readonly resolutionUrl?: string;
  /** Where rejected requests are redirected. @default http://127.0.0.1:<port>/oauth/authorize */
  readonly loginUrl?: string;
  /** TEA answers 302; Cumulus-based endpoints 307. @default 302 */
  readonly redirectStatus?: 302 | 307;
  /** @default 3600 */
  readonly lifetimeSeconds?: number;
  /** @default 'python' */
  readonly expirationFormat?: ExpirationFormat;
  /** @default random key pair and session token, expiring after the lifetime */
  readonly issuer?: CredentialIssuer;
  /** Latency added to every /s3credentials response. @default 0 */
  readonly latencyMs?: number;
  /** Clock for the default issuer. @default Date.now */
  readonly now?: () => number;
}

/** A canned response for {@link TeaEmulator.respondNext}. */
export interface CannedResponse {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export interface TeaEmulator {
  /** `http://127.0.0.1:<port>/s3credentials` */
  readonly url: string;
  readonly port: number;
  /** The login page rejected requests are redirected to (unless `loginUrl` was given). */
  readonly loginUrl: string;
  /** Mutable at runtime. */
  readonly tokens: Set<string>;
  readonly cookies: Set<string>;
  readonly eulaTokens: Set<string>;
  readonly forbiddenTokens: Set<string>;
  lifetimeSeconds: number;
  expirationFormat: ExpirationFormat;
  latencyMs: number;
  /** Requests to /s3credentials, whatever their outcome. */
  readonly calls: number;
  /** Credentials handed out. */
  readonly issued: number;
  /** Requests to the emulator's own login page: a client that follows the redirect shows up here. */
  readonly loginHits: number;
  /** Session names the issuer was asked for, in order. */
  readonly sessionNames: readonly string[];
  /** The next `n` requests to /s3credentials answer `status` (before any authentication). */
  failNext(n: number, status?: number): void;
  /** The next `n` requests to /s3credentials are delayed by `ms` (on top of `latencyMs`). */
  delayNextMs(n: number, ms: number): void;
  /** The next `n` requests to /s3credentials answer this exactly (after fail/delay injections). */
  respondNext(n: number, response: CannedResponse): void;
  /** Zeroes the counters and drops pending injections. */
  reset(): void;
  close(): Promise<void>;
}

/** TEA's RoleSessionName check, done properly. */
const APP_NAME = /^[\w+=,.@-]+$/;

function randomString(alphabet: string, length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i] % alphabet.length];
  return out;
}

const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The default issuer: credentials that look like STS's and are valid nowhere. */
export function randomCredentialIssuer(now: () => number = Date.now): CredentialIssuer {
  return {
    issue(lifetimeSeconds: number): IssuedCredentials {
      return {
        accessKeyId: `ASIA${randomString(UPPER_DIGITS, 16)}`,
        secretAccessKey: randomString(BASE64, 40),
        sessionToken: `IQoJb3JpZ2luX2VjE${randomString(BASE64, 300)}`,
        expiration: new Date(now() + lifetimeSeconds * 1000),
      };
    },
  };
}

/** Formats an expiration the way the endpoint would: whole seconds, UTC. */
export function formatExpiration(date: Date, format: ExpirationFormat): string {
  const iso = new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  return format === 'iso' ? iso : `${iso.slice(0, 10)} ${iso.slice(11, 19)}+00:00`;
}

function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return cookies;
}

interface Injection<T> {
  remaining: number;
  value: T;
}

function take<T>(queue: Injection<T>[]): T | undefined {
  while (queue.length > 0 && queue[0].remaining <= 0) queue.shift();
  if (queue.length === 0) return undefined;
  queue[0].remaining--;
  return queue[0].value;
}

/**
 * Starts an emulated TEA `/s3credentials` endpoint on 127.0.0.1. It behaves like TEA: bearer tokens
 * and `asf-urs` cookies, 302 (or 307) to Earthdata Login for anything it does not know, 400 for a
 * malformed Authorization header, 403 with a `resolution_url` for a EULA not accepted, 403 without one
 * for `forbiddenTokens`.
 *
 * A bad `app-name` gets a 400 here; real TEA passes it on and STS fails with an opaque 500.
 */
export async function startTeaEmulator(options: TeaEmulatorOptions = {}): Promise<TeaEmulator> {
  const issuer = options.issuer ?? randomCredentialIssuer(options.now);
  const tokens = new Set(options.tokens ?? []);
  const cookies = new Set(options.cookies ?? []);
  const eulaTokens = new Set(options.eulaTokens ?? []);
  const forbiddenTokens = new Set(options.forbiddenTokens ?? []);
  const resolutionUrl =
    options.resolutionUrl ?? 'https://urs.earthdata.nasa.gov/approve_app?client_id=emulator';
  const redirectStatus = options.redirectStatus ?? 302;
  const failures: Injection<number>[] = [];
  const delays: Injection<number>[] = [];
  const canned: Injection<CannedResponse>[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sessionNames: string[] = [];
  let calls = 0;
  let issued = 0;
  let loginHits = 0;
  let loginUrl = options.loginUrl ?? '';

  const send = (
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ): void => {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, body: Record<string, unknown>): void =>
    send(res, status, JSON.stringify(body));

  /** Who is asking, or the response that says why nobody is. */
  const authenticate = (
    req: IncomingMessage,
  ): { user: string; token?: string } | { status: number; body?: Record<string, unknown> } => {
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const parts = authorization.trim().split(/\s+/);
      if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
        return {
          status: 400,
          body: { status_code: 400, error_description: 'Malformed Authorization header' },
        };
      }
      const [scheme, token] = parts;
      if (scheme.toLowerCase() === 'bearer') {
        if (eulaTokens.has(token)) {
          return {
            status: 403,
            body: {
              status_code: 403,
              error_description: 'EULA Acceptance Failure',
              resolution_url: resolutionUrl,
            },
          };
        }
        if (forbiddenTokens.has(token)) {
          return {
            status: 403,
            body: { status_code: 403, error_description: 'User is not authorized to access this resource' },
          };
        }
        if (tokens.has(token)) return { user: `user${[...tokens].indexOf(token) + 1}`, token };
      }
    }
    const cookie = parseCookies(req.headers.cookie).get('asf-urs');
    if (cookie !== undefined && cookies.has(cookie))
      return { user: `cookie-user${[...cookies].indexOf(cookie) + 1}` };
    return { status: redirectStatus };
  };

  const handleCredentials = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    calls++;
    const failure = take(failures);
    const delay = (take(delays) ?? 0) + emulator.latencyMs;
    const cannedResponse = take(canned);
    if (delay > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, delay);
        timers.add(timer);
      });
    }
    if (failure !== undefined) {
      json(res, failure, { status_code: failure, error_description: 'injected failure' });
      return;
    }
    if (cannedResponse) {
      send(res, cannedResponse.status, cannedResponse.body, cannedResponse.headers);
      return;
    }
    if (req.method !== 'GET') {
      json(res, 405, { status_code: 405, error_description: 'Method Not Allowed' });
      return;
    }
    const who = authenticate(req);
    if ('status' in who) {
      if (who.status === 302 || who.status === 307) {
        const origin = `http://${req.headers.host ?? '127.0.0.1'}`;
        const state = encodeURIComponent('/s3credentials');
        const location = `${loginUrl}?client_id=emulator&response_type=code&redirect_uri=${encodeURIComponent(`${origin}/login`)}&state=${state}`;
        send(res, who.status, '', { location, 'content-type': 'text/plain' });
      } else {
        json(res, who.status, who.body ?? { status_code: who.status });
      }
      return;
    }
    const appNameHeader = req.headers['app-name'];
    const appName = Array.isArray(appNameHeader) ? appNameHeader.join(',') : appNameHeader;
    if (appName !== undefined && !APP_NAME.test(appName)) {
      json(res, 400, {
        status_code: 400,
        error_description: 'app-name may contain only letters, digits and _+=,.@-',
      });
      return;
    }
    const sessionName = (appName ? `${who.user}@${appName}` : who.user).slice(0, 64);
    sessionNames.push(sessionName);
    let credentials: IssuedCredentials;
    try {
      credentials = await issuer.issue(emulator.lifetimeSeconds, sessionName);
    } catch (error) {
      json(res, 500, { status_code: 500, error_description: `issuer failed: ${(error as Error).message}` });
      return;
    }
    issued++;
    json(res, 200, {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
      expiration: formatExpiration(credentials.expiration, emulator.expirationFormat),
    });
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/s3credentials') {
      handleCredentials(req, res).catch((error: unknown) => {
        json(res, 500, { status_code: 500, error_description: String(error) });
      });
    } else if (path === '/oauth/authorize') {
      loginHits++;
      send(res, 200, '<html><body>Earthdata Login (emulated)</body></html>', { 'content-type': 'text/html' });
    } else {
      json(res, 404, { status_code: 404, error_description: 'Not Found' });
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  loginUrl ||= `http://127.0.0.1:${port}/oauth/authorize`;

  const emulator: TeaEmulator = {
    url: `http://127.0.0.1:${port}/s3credentials`,
    port,
    loginUrl,
    tokens,
    cookies,
    eulaTokens,
    forbiddenTokens,
    lifetimeSeconds: options.lifetimeSeconds ?? 3600,
    expirationFormat: options.expirationFormat ?? 'python',
    latencyMs: options.latencyMs ?? 0,
    get calls() {
      return calls;
    },
    get issued() {
      return issued;
    },
    get loginHits() {
      return loginHits;
    },
    get sessionNames() {
      return sessionNames;
    },
    failNext(n, status = 500) {
      failures.push({ remaining: n, value: status });
    },
    delayNextMs(n, ms) {
      delays.push({ remaining: n, value: ms });
    },
    respondNext(n, response) {
      canned.push({ remaining: n, value: response });
    },
    reset() {
      calls = 0;
      issued = 0;
      loginHits = 0;
      sessionNames.length = 0;
      failures.length = 0;
      delays.length = 0;
      canned.length = 0;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
  return emulator;
}
