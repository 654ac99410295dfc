import { ErrorName, TransferError } from '../errors';
import { MASK, redactText, registerSecret } from '../log';
import { describeEndpoint, isLoopbackHost } from './endpoint';
import { parseExpiration } from './expiration';
import { earthdataLoginPage, excerpt, MAX_ANSWER_BYTES, readCappedBody } from './tea-answer';

/** How to authenticate to a TEA `/s3credentials` endpoint. */
export type TeaAuth = { kind: 'bearer'; token: string } | { kind: 'cookie'; jwt: string };

/** Temporary S3 credentials handed out by the endpoint. */
export interface TeaCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface TeaRequest {
  /** The archive's `/s3credentials` URL. */
  endpoint: string;
  auth: TeaAuth;
  /** Sent as the `app-name` header; TEA puts it in the STS RoleSessionName. */
  appName?: string;
}

/** Where the client reports retries. A Powertools Logger (shared/log.ts `createLogger`) is one. */
export interface CredentialsLog {
  debug(message: string, ...attributes: Array<Record<string, unknown>>): void;
  warn(message: string, ...attributes: Array<Record<string, unknown>>): void;
}

export interface TeaFetchOptions {
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default setTimeout-based */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  random?: () => number;
  /** Attempts in total, the first included. @default 5 */
  maxAttempts?: number;
  /** @default 300 */
  baseDelayMs?: number;
  /** @default 5000 */
  maxDelayMs?: number;
  /** Per attempt, body included. @default 10000 */
  timeoutMs?: number;
  log?: CredentialsLog;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);
const APP_NAME = /^[\w+=,.@-]+$/;
// Header values must be visible ASCII; undici's "invalid header value" error would echo the token.
const HEADER_SAFE = /^[\x21-\x7e]+$/;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function authSecret(auth: TeaAuth): string {
  return auth.kind === 'bearer' ? auth.token : auth.jwt;
}

function validateRequest(request: TeaRequest): URL {
  let url: URL;
  try {
    url = new URL(request.endpoint);
  } catch {
    throw new TransferError(ErrorName.InvalidInput, 'CredentialsEndpoint is not a valid URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new TransferError(
      ErrorName.InvalidInput,
      `CredentialsEndpoint must use https: (plain http: only for a loopback host), got ${describeEndpoint(request.endpoint)}`,
    );
  }
  if (url.username || url.password) {
    throw new TransferError(ErrorName.InvalidInput, 'CredentialsEndpoint must not contain user info');
  }
  const secret = authSecret(request.auth);
  const field = request.auth.kind === 'bearer' ? 'BearerToken' : 'JwtCookie';
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new TransferError(ErrorName.InvalidInput, `${field} is empty`);
  }
  if (!HEADER_SAFE.test(secret) || (request.auth.kind === 'cookie' && /[;,]/.test(secret))) {
    throw new TransferError(
      ErrorName.InvalidInput,
      `${field} contains whitespace, control or non-ASCII characters${request.auth.kind === 'cookie' ? ' (or ; ,)' : ''}`,
    );
  }
  if (request.appName !== undefined && !APP_NAME.test(request.appName)) {
    throw new TransferError(
      ErrorName.InvalidInput,
      'AppName may contain only letters, digits and _+=,.@- (it becomes part of the STS RoleSessionName)',
    );
  }
  return url;
}

/** A cause safe to attach to an error: name and redacted message only, a few levels deep. */
function safeCause(error: unknown, scrub: (text: string) => string, depth = 0): Error | undefined {
  if (error === undefined || error === null || depth > 3) return undefined;
  const source = isErrorLike(error) ? error : { name: 'Error', message: String(error) };
  const code = source.code;
  const message = scrub(
    typeof code === 'string' && !source.message.includes(code)
      ? `${code}: ${source.message}`
      : source.message,
  );
  const copy = new Error(message, { cause: safeCause(source.cause, scrub, depth + 1) });
  copy.name = scrub(typeof source.name === 'string' ? source.name : 'Error');
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}

interface ErrorLike {
  name?: unknown;
  message: string;
  code?: unknown;
  cause?: unknown;
}

/** Duck-typed: errors from undici (or another realm, as under jest) fail `instanceof Error`. */
function isErrorLike(value: unknown): value is ErrorLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** The innermost useful description of a network failure (undici wraps ECONNREFUSED in "fetch failed"). */
function describeNetworkError(error: unknown): string {
  let current: unknown = error;
  let text = 'network error';
  for (let depth = 0; isErrorLike(current) && depth < 4; depth++) {
    const code = current.code;
    text =
      typeof code === 'string'
        ? `${code} (${current.message})`
        : `${String(current.name)}: ${current.message}`;
    current = current.cause;
  }
  return text;
}

type Attempt =
  | { kind: 'done'; credentials: TeaCredentials }
  | { kind: 'retry'; reason: string; cause?: unknown; retryAfterMs?: number };

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fetches temporary S3 credentials from a TEA `/s3credentials` endpoint. Never follows a redirect (a
 * redirect means Earthdata Login rejected the token); retries 5xx, 429, timeouts and connection errors
 * with exponential backoff and full jitter. Errors are {@link TransferError}s named
 * `AuthenticationFailed`, `EulaNotAccepted`, `CredentialsForbidden`, `CredentialsEndpointError` or
 * `InvalidInput`; their messages and causes never contain the token or the returned secrets.
 */
export async function fetchTeaCredentials(
  request: TeaRequest,
  options: TeaFetchOptions = {},
): Promise<TeaCredentials> {
  const url = validateRequest(request);
  const doFetch = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const baseDelayMs = options.baseDelayMs ?? 300;
  const maxDelayMs = options.maxDelayMs ?? 5000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const where = describeEndpoint(request.endpoint);
  const secret = authSecret(request.auth);
  registerSecret(secret);
  const scrub = (text: string): string => redactText(text.split(secret).join(MASK));
  const fail = (
    name: (typeof ErrorName)[keyof typeof ErrorName],
    message: string,
    cause?: unknown,
  ): never => {
    throw new TransferError(name, scrub(message), { cause: safeCause(cause, scrub) });
  };

  const headers: Record<string, string> = { accept: 'application/json' };
  if (request.auth.kind === 'bearer') headers.authorization = `Bearer ${request.auth.token}`;
  else headers.cookie = `asf-urs=${request.auth.jwt}`;
  if (request.appName !== undefined) headers['app-name'] = request.appName;

  const attemptOnce = async (): Promise<Attempt> => {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      let response: Response;
      let body: { text: string; truncated: boolean } | undefined;
      try {
        response = await doFetch(url.href, {
          method: 'GET',
          headers,
          redirect: 'manual',
          signal: controller.signal,
        });
        if (response.type === 'opaqueredirect' || REDIRECT_STATUSES.has(response.status)) {
          await response.body?.cancel().catch(() => undefined);
        } else {
          body = await readCappedBody(response);
        }
      } catch (error) {
        const reason = timedOut ? `timed out after ${timeoutMs} ms` : describeNetworkError(error);
        return { kind: 'retry', reason, cause: error };
      }
      const status = response.status;
      if (response.type === 'opaqueredirect' || REDIRECT_STATUSES.has(status)) {
        const location = response.headers.get('location');
        let target = '';
        try {
          if (location) target = ` to ${describeEndpoint(new URL(location, url).href)}`;
        } catch {
          // An unparseable Location changes nothing: it is a redirect all the same.
        }
        return fail(
          ErrorName.AuthenticationFailed,
          `${where}: the endpoint rejected the token (redirected to Earthdata Login${target}, HTTP ${status || 'redirect'}). ` +
            (request.auth.kind === 'bearer'
              ? 'The Earthdata Login token has probably expired (user tokens last 60 days) or belongs to another ' +
                'Earthdata Login environment: generate a new one at https://urs.earthdata.nasa.gov (Generate Token).'
              : 'The asf-urs cookie has probably expired: log in again, or use a bearer token from ' +
                'https://urs.earthdata.nasa.gov (Generate Token).'),
        );
      }
      const text = body?.text ?? '';
      const json = parseJsonObject(text);
      const detail = (): string => {
        const described = json?.error_description ?? json?.message ?? json?.error;
        const shown = excerpt(typeof described === 'string' ? described : json ? '' : text);
        return shown ? `: ${shown}` : '';
      };
      if (status === 401) {
        return fail(
          ErrorName.AuthenticationFailed,
          `${where}: the endpoint rejected the token (HTTP 401${detail()}). Check the token, or generate a new ` +
            'one at https://urs.earthdata.nasa.gov (Generate Token).',
        );
      }
      if (status === 403) {
        const resolution = json?.resolution_url;
        if (typeof resolution === 'string' && resolution.length > 0) {
          const page = earthdataLoginPage(resolution);
          return fail(
            ErrorName.EulaNotAccepted,
            `${where}: the archive requires you to accept its end-user license agreement (HTTP 403${detail()}). ` +
              (page
                ? `Accept it at ${page} while logged in to Earthdata Login, then run again.`
                : 'Accept it in your Earthdata Login profile (https://urs.earthdata.nasa.gov, Applications), then ' +
                  'run again; the page the endpoint named is not an Earthdata Login page and is not shown.'),
          );
        }
        return fail(
          ErrorName.CredentialsForbidden,
          `${where}: the endpoint refused to issue credentials (HTTP 403${detail()}). Check that ` +
            'CredentialsEndpoint belongs to the archive (DAAC) that owns the source bucket (each DAAC has ' +
            'its own /s3credentials endpoint), and that your Earthdata Login account may access the collection.',
        );
      }
      if (status === 400) {
        return fail(
          ErrorName.CredentialsEndpointError,
          `${where}: the endpoint answered HTTP 400 (malformed request${detail()}); check the token's format and AppName.`,
        );
      }
      if (RETRYABLE_STATUSES.has(status) || status >= 500) {
        return {
          kind: 'retry',
          reason: `HTTP ${status}${detail()}`,
          retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
        };
      }
      if (status !== 200) {
        return fail(
          ErrorName.CredentialsEndpointError,
          `${where}: unexpected HTTP ${status}${detail()}` +
            (status === 404 ? ' (is this the /s3credentials URL of the archive?)' : ''),
        );
      }
      if (body?.truncated) {
        return fail(
          ErrorName.CredentialsEndpointError,
          `${where}: HTTP 200 but the answer is larger than ${MAX_ANSWER_BYTES / 1024} KiB; credentials are about 2 KiB`,
        );
      }
      if (!json) {
        return fail(
          ErrorName.CredentialsEndpointError,
          `${where}: HTTP 200 but the body is not a JSON object`,
        );
      }
      // Registered before any check, so that no later message or log line can show them.
      for (const field of ['secretAccessKey', 'sessionToken'] as const) {
        const value = json[field];
        if (typeof value === 'string') registerSecret(value);
      }
      const fields = ['accessKeyId', 'secretAccessKey', 'sessionToken', 'expiration'] as const;
      const missing = fields.filter(
        (f) => typeof json[f] !== 'string' || (json[f] as string).trim().length === 0,
      );
      if (missing.length > 0) {
        return fail(
          ErrorName.CredentialsEndpointError,
          `${where}: HTTP 200 but the credentials lack ${missing.join(', ')} (expected accessKeyId, secretAccessKey, sessionToken, expiration)`,
        );
      }
      let expiration: Date;
      try {
        expiration = parseExpiration(json.expiration as string);
      } catch (error) {
        return fail(ErrorName.CredentialsEndpointError, `${where}: ${(error as Error).message}`);
      }
      return {
        kind: 'done',
        credentials: {
          accessKeyId: json.accessKeyId as string,
          secretAccessKey: json.secretAccessKey as string,
          sessionToken: json.sessionToken as string,
          expiration,
        },
      };
    } finally {
      clearTimeout(timer);
    }
  };

  let last: Extract<Attempt, { kind: 'retry' }> | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const outcome = await attemptOnce();
    if (outcome.kind === 'done') return outcome.credentials;
    last = outcome;
    if (attempt === maxAttempts) break;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    const jittered = Math.floor(random() * ceiling);
    const delay =
      outcome.retryAfterMs !== undefined
        ? Math.min(maxDelayMs, Math.max(jittered, outcome.retryAfterMs))
        : jittered;
    options.log?.warn('credentials endpoint failed, retrying', {
      endpoint: where,
      attempt,
      maxAttempts,
      reason: scrub(outcome.reason),
      delayMs: delay,
    });
    await sleep(delay);
  }
  return fail(
    ErrorName.CredentialsEndpointError,
    `${where}: no credentials after ${maxAttempts} attempt${maxAttempts === 1 ? '' : 's'}; last failure: ${last?.reason ?? 'unknown'}`,
    last?.cause,
  );
}
