/**
 * Reading AWS SDK errors: the one place that knows where an error's code, HTTP status and request id
 * live, and which codes mean "throttled", "try again later", "not found" or "denied".
 *
 * The SDK names a modelled error after its code (`NoSuchKey`); an unmodelled one is `UnknownError` (or
 * `Error`) with the server's code in `Code` (S3-compatible servers such as Ceph RGW); a HEAD error has no
 * body, so its name is the status text (`NotFound`, `Forbidden`); network failures carry Node's `code`
 * (`ECONNRESET`).
 */
import { redactText } from '../log';

interface SdkErrorShape {
  name?: unknown;
  Code?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
  $retryable?: { throttling?: unknown };
}

const shape = (error: unknown): SdkErrorShape | undefined =>
  error !== null && typeof error === 'object' ? (error as SdkErrorShape) : undefined;

/** Names that say nothing about what went wrong. */
const GENERIC_CODES: ReadonlySet<string> = new Set(['Error', 'UnknownError']);

/** Every code an error carries: its `name`, the server's `Code`, Node's `code`. */
export function errorCodes(error: unknown): string[] {
  const e = shape(error);
  return [e?.name, e?.Code, e?.code].filter((c): c is string => typeof c === 'string');
}

/** The most specific code: `Code`, `code`, then `name`, skipping generic names; `Error` when none. */
export function errorCode(error: unknown): string {
  const e = shape(error);
  for (const candidate of [e?.Code, e?.code, e?.name]) {
    if (typeof candidate === 'string' && !GENERIC_CODES.has(candidate)) return candidate;
  }
  return 'Error';
}

export function httpStatus(error: unknown): number | undefined {
  const status = shape(error)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

export function requestId(error: unknown): string | undefined {
  const id = shape(error)?.$metadata?.requestId;
  return typeof id === 'string' ? id : undefined;
}

const hasCode = (error: unknown, codes: ReadonlySet<string>): boolean =>
  errorCodes(error).some((code) => codes.has(code));

/** "Slow down": the request was refused, so sending it again later is safe. */
export const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequests',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
]);

/** Server and network failures that a later attempt may not meet. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

export function isThrottling(error: unknown): boolean {
  return (
    hasCode(error, THROTTLING_CODES) ||
    shape(error)?.$retryable?.throttling === true ||
    httpStatus(error) === 429
  );
}

/** Throttling, a 5xx or a network failure: worth trying again later. */
export function isTransient(error: unknown): boolean {
  const status = httpStatus(error);
  return isThrottling(error) || hasCode(error, TRANSIENT_CODES) || (status !== undefined && status >= 500);
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || errorCode(error) === 'ABORT_ERR');
}

/** A missing object or key, as S3, a HEAD request or a local file says it. */
export function isNotFound(error: unknown): boolean {
  return (
    hasCode(error, new Set(['NoSuchKey', 'NotFound', 'ENOENT'])) ||
    (httpStatus(error) === 404 && !hasCode(error, new Set(['NoSuchBucket'])))
  );
}

/** What an S3 request's failure means, whichever bucket it was sent to. */
export type S3Failure =
  'precondition' | 'no-such-bucket' | 'not-found' | 'wrong-region' | 'denied' | 'transient' | 'other';

const WRONG_REGION: ReadonlySet<string> = new Set([
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'IncorrectEndpoint',
]);
const DENIED: ReadonlySet<string> = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'AllAccessDisabled',
]);

/** Classifies an S3 error by its codes and HTTP status (see the module comment for where they live). */
export function classifyS3Error(error: unknown): S3Failure {
  const status = httpStatus(error);
  if (hasCode(error, new Set(['PreconditionFailed'])) || status === 412) return 'precondition';
  if (hasCode(error, new Set(['NoSuchBucket']))) return 'no-such-bucket';
  if (isNotFound(error)) return 'not-found';
  if (hasCode(error, WRONG_REGION) || status === 301) return 'wrong-region';
  if (hasCode(error, DENIED) || status === 403) return 'denied';
  if (isTransient(error)) return 'transient';
  return 'other';
}

/** Longest description kept of an SDK error (they may quote a whole response). */
const DESCRIPTION_MAX = 500;

/**
 * `NoSuchKey: The specified key does not exist. (HTTP 404, request id X)`, redacted and short. A HEAD
 * error has no body, so its message is only the code or `UnknownError`: then the code stands alone.
 */
export function describeSdkError(error: unknown): string {
  if (!(error instanceof Error)) return redactText(String(error)).slice(0, DESCRIPTION_MAX);
  const code = errorCode(error);
  const status = httpStatus(error);
  const id = requestId(error);
  const informative = error.message && error.message !== code && !GENERIC_CODES.has(error.message);
  const extra = [status !== undefined ? `HTTP ${status}` : '', id ? `request id ${id}` : '']
    .filter(Boolean)
    .join(', ');
  const text = `${code}${informative ? `: ${error.message}` : ''}${extra ? ` (${extra})` : ''}`;
  return redactText(text).slice(0, DESCRIPTION_MAX);
}

/**
 * A copy of an error that is safe to keep and log: code, redacted message, HTTP status and request id.
 * SDK errors carry more (e.g. `StringToSign`, `AWSAccessKeyId` on SignatureDoesNotMatch), which is dropped.
 */
export function safeCause(error: unknown): Error {
  const copy = new Error(
    error instanceof Error
      ? redactText(error.message).slice(0, DESCRIPTION_MAX)
      : redactText(String(error)).slice(0, DESCRIPTION_MAX),
  );
  copy.name = errorCode(error);
  const status = httpStatus(error);
  const id = requestId(error);
  if (status !== undefined || id !== undefined) {
    Object.assign(copy, { $metadata: { httpStatusCode: status, requestId: id } });
  }
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}
