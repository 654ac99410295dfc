/**
 * One CMR search request, with distrust: POSTed form parameters (CMR's advice for long queries), the
 * `Client-Id` header always, the token only when the caller passes it, redirects never followed (they
 * could carry the token elsewhere), answers read up to a cap, 429/5xx/timeouts retried with backoff.
 * Errors are TransferErrors (`CmrError`, `AuthenticationFailed`, `InvalidInput`) that never hold the token.
 */
import { endpointRefusal, describeEndpoint } from '../credentials/endpoint';
import { excerpt, readCappedBody } from '../credentials/tea-answer';
import { ErrorName, TransferError, invalidInput, type ErrorNameValue } from '../errors';
import { MASK, redactText, registerSecret } from '../log';
import { MAX_PAGE_BYTES, type CmrOptions } from './types';
import { CMR_CLIENT_ID, cmrResourceUrl, DEFAULT_CMR_URL } from './urls';

export interface SearchRequest {
  /** `collections.umm_json` or `granules.umm_json`. */
  readonly resource: string;
  readonly params: ReadonlyArray<readonly [string, string]>;
  /** Sent as `Authorization: Bearer`; only when the caller decided the collection needs it. */
  readonly token?: string;
  /** The previous page's `CMR-Search-After`. */
  readonly searchAfter?: string;
}

/** A search answer: the parsed UMM-JSON results, or `tooLarge` when the body passed the cap. */
export type SearchAnswer =
  | { kind: 'page'; items: unknown[]; hits: number; searchAfter?: string }
  | { kind: 'tooLarge'; maxBytes: number };

const RETRYABLE = new Set([429, 500, 502, 503, 504]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Header values must be visible ASCII; undici's "invalid header value" error would echo the token.
const HEADER_SAFE = /^[\x21-\x7e]+$/;
const SEARCH_AFTER_SAFE = /^[\x20-\x7e]{1,4096}$/;
const REQUEST_ID_SAFE = /^[\w.:-]{1,80}$/;

/**
 * Refuses a CMR root the policy does not allow: the token may be sent there. `InvalidInput` naming
 * `Source.CmrUrl`, before any request.
 */
export function checkCmrUrl(cmrUrl: string, policy: CmrOptions['policy']): void {
  const refusal = endpointRefusal(cmrUrl, policy);
  if (refusal === undefined) return;
  const allowed = [...policy.allowed, ...(policy.allowLoopback ? ['loopback (this machine)'] : [])];
  throw invalidInput(
    `Source.CmrUrl: expected a CMR search root on this deployment's allowlist (${allowed.join(', ') || 'none'}), ` +
      `${refusal}. The Earthdata Login token may be sent to CMR, so CMR must be on the same allowlist as ` +
      `credentials endpoints; the default, ${DEFAULT_CMR_URL}, is.`,
  );
}

type Attempt =
  { kind: 'answer'; answer: SearchAnswer } | { kind: 'retry'; reason: string; retryAfterMs?: number };

const NOTHING_READ = { text: '', truncated: false };
const isRedirect = (response: Response): boolean =>
  response.type === 'opaqueredirect' || REDIRECTS.has(response.status);

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function retryAfterMs(value: string | null): number | undefined {
  const seconds = Number(value ?? '');
  return value !== null && value !== '' && Number.isFinite(seconds) && seconds >= 0
    ? seconds * 1000
    : undefined;
}

/** The innermost cause's code or message: undici wraps ECONNREFUSED in "fetch failed". */
function networkReason(error: unknown): string {
  let reason = 'network error';
  let current = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; depth < 4 && current && typeof current.message === 'string'; depth++) {
    reason = typeof current.code === 'string' ? `${current.code} (${current.message})` : current.message;
    current = current.cause as typeof current;
  }
  return reason;
}

/** `errors` of a CMR error body (`{"errors": [...]}`), else the body itself, as a short excerpt. */
function cmrErrors(text: string): string {
  try {
    const parsed = JSON.parse(text) as { errors?: unknown };
    if (Array.isArray(parsed?.errors)) return excerpt(parsed.errors.map(String).join('; '), 240);
  } catch {
    // not JSON: quote the text
  }
  return excerpt(text, 240);
}

function parseResults(text: string, response: Response): SearchAnswer | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const body = parsed as { items?: unknown; hits?: unknown } | null;
  if (body === null || typeof body !== 'object' || !Array.isArray(body.items)) return undefined;
  const headerHits = Number(response.headers.get('cmr-hits'));
  const hits = typeof body.hits === 'number' ? body.hits : Number.isFinite(headerHits) ? headerHits : 0;
  const searchAfter = response.headers.get('cmr-search-after') ?? undefined;
  return { kind: 'page', items: body.items, hits, ...(searchAfter !== undefined && { searchAfter }) };
}

/**
 * Sends one search to CMR (retrying what may pass) and returns its answer.
 * @throws TransferError `CmrError` (CMR failed, refused the query, or answered something unusable),
 *   `AuthenticationFailed` (CMR rejected the token), `InvalidInput` (the root is off the allowlist).
 */
export async function searchCmr(request: SearchRequest, options: CmrOptions): Promise<SearchAnswer> {
  checkCmrUrl(options.cmrUrl, options.policy);
  const url = cmrResourceUrl(options.cmrUrl, request.resource);
  const where = describeEndpoint(url);
  const token = request.token;
  if (token !== undefined) {
    registerSecret(token);
    if (!HEADER_SAFE.test(token))
      throw invalidInput('the Earthdata Login token contains whitespace or control characters');
  }
  const scrub = (text: string): string => redactText(token ? text.split(token).join(MASK) : text);
  const fail = (name: ErrorNameValue, message: string): never => {
    throw new TransferError(name, scrub(message));
  };
  if (request.searchAfter !== undefined && !SEARCH_AFTER_SAFE.test(request.searchAfter)) {
    fail(ErrorName.CmrError, `${where}: CMR sent a CMR-Search-After value that cannot be sent back`);
  }
  const headers: Record<string, string> = {
    accept: 'application/vnd.nasa.cmr.umm_results+json',
    'client-id': CMR_CLIENT_ID,
    // Exactly this: CMR answers 415 to a form body of any other content type (charset included).
    'content-type': 'application/x-www-form-urlencoded',
    ...(request.searchAfter !== undefined && { 'cmr-search-after': request.searchAfter }),
    ...(token !== undefined && { authorization: `Bearer ${token}` }),
  };
  const init: RequestInit = {
    method: 'POST',
    headers,
    body: new URLSearchParams(request.params.map(([k, v]): [string, string] => [k, v])).toString(),
    redirect: 'manual',
  };
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 180_000;
  const maxBytes = options.maxPageBytes ?? MAX_PAGE_BYTES;

  const attemptOnce = async (): Promise<Attempt> => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      let response: Response;
      let read = NOTHING_READ;
      try {
        response = await doFetch(url, { ...init, signal: controller.signal });
        // A redirect's body is never read: nothing of it is used.
        if (isRedirect(response)) await response.body?.cancel().catch(() => undefined);
        else read = await readCappedBody(response, maxBytes);
      } catch (error) {
        const reason = controller.signal.aborted ? `timed out after ${timeoutMs} ms` : networkReason(error);
        return { kind: 'retry', reason };
      }
      const status = response.status;
      const requestId = response.headers.get('cmr-request-id') ?? '';
      const ref = REQUEST_ID_SAFE.test(requestId) ? `, CMR-Request-Id ${requestId}` : '';
      if (isRedirect(response)) {
        return fail(
          ErrorName.CmrError,
          `${where}: CMR answered a redirect (HTTP ${status || 'redirect'}), which is not followed: ` +
            `check Source.CmrUrl (a search root such as ${DEFAULT_CMR_URL})`,
        );
      }
      if (status === 401) {
        return fail(
          ErrorName.AuthenticationFailed,
          `${where}: CMR rejected the Earthdata Login token (HTTP 401: ${cmrErrors(read.text)}${ref}). Generate a new ` +
            'one at https://urs.earthdata.nasa.gov (Generate Token).',
        );
      }
      if (RETRYABLE.has(status) || status >= 500) {
        return {
          kind: 'retry',
          reason: `HTTP ${status}: ${cmrErrors(read.text)}${ref}`,
          retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
        };
      }
      if (status !== 200) {
        const hint =
          status === 404 ? ' (is Source.CmrUrl a CMR search root, such as ' + DEFAULT_CMR_URL + '?)' : '';
        return fail(
          ErrorName.CmrError,
          `${where}: CMR refused the search (HTTP ${status}: ${cmrErrors(read.text)}${ref})${hint}`,
        );
      }
      const timedOut = response.headers.get('cmr-timed-out') ?? response.headers.get('cmr-time-out');
      if (timedOut?.toLowerCase() === 'true') {
        // CMR then returns only some of the hits: a page of it would silently lose granules.
        return { kind: 'retry', reason: `CMR timed out and answered with part of the results${ref}` };
      }
      if (read.truncated) return { kind: 'answer', answer: { kind: 'tooLarge', maxBytes } };
      const answer = parseResults(read.text, response);
      if (answer === undefined) {
        return fail(
          ErrorName.CmrError,
          `${where}: HTTP 200 but not UMM-JSON search results (${excerpt(read.text) || 'empty body'}${ref})`,
        );
      }
      return { kind: 'answer', answer };
    } finally {
      clearTimeout(timer);
    }
  };

  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const base = options.baseDelayMs ?? 500;
  const cap = options.maxDelayMs ?? 10_000;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    const outcome = await attemptOnce();
    if (outcome.kind === 'answer') return outcome.answer;
    if (attempt >= maxAttempts) {
      return fail(
        ErrorName.CmrError,
        `${where}: no answer after ${maxAttempts} attempt(s); last: ${outcome.reason}`,
      );
    }
    // Full jitter, but never sooner than CMR's Retry-After (within the cap).
    const jitter = Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1)));
    const delayMs = Math.min(cap, Math.max(jitter, outcome.retryAfterMs ?? 0));
    options.log?.warn('CMR search failed, retrying', {
      url: where,
      attempt,
      maxAttempts,
      reason: scrub(outcome.reason),
      delayMs,
    });
    await (options.sleep ?? sleepFor)(delayMs);
  }
}
