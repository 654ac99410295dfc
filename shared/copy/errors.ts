import { ErrorName, TransferError, type ErrorNameValue } from '../errors';
import { redactText } from '../log';

/** Which side of a copy a request went to: decides which named error a 403 or 404 becomes. */
export type Side = 'source' | 'destination';

/** Where an S3 error happened, for a message a person can act on. */
export interface ErrorContext {
  side: Side;
  bucket: string;
  key: string;
  /** The request that failed, e.g. `GetObject bytes=1048576-`. */
  operation: string;
  /** True for a ranged GET that resumes an object already being read (a 404 then means it changed). */
  resuming?: boolean;
}

const KNOWN_NAMES: ReadonlySet<string> = new Set(Object.values(ErrorName));

/** True for errors that already carry one of the product's names (credentials errors included). */
export function isTransferError(error: unknown): error is Error {
  return error instanceof Error && KNOWN_NAMES.has(error.name);
}

/** The S3 error code: `Code` or `code` when the SDK could not model the error, else `name`. */
export function errorCode(error: unknown): string {
  const e = error as { name?: unknown; Code?: unknown; code?: unknown } | null | undefined;
  for (const candidate of [e?.Code, e?.code, e?.name]) {
    if (typeof candidate === 'string' && candidate !== 'Error' && candidate !== 'UnknownError')
      return candidate;
  }
  return 'Error';
}

export function httpStatus(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null | undefined)?.$metadata
    ?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || errorCode(error) === 'ABORT_ERR');
}

const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequests',
]);
const TRANSIENT = new Set([
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

/** Throttling, 5xx and network failures: worth retrying later. */
export function isTransient(error: unknown): boolean {
  const code = errorCode(error);
  const status = httpStatus(error);
  return THROTTLING.has(code) || TRANSIENT.has(code) || (status !== undefined && status >= 500);
}

/** `NoSuchKey: The specified key does not exist. (HTTP 404, request id X)`, redacted and short. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return redactText(String(error)).slice(0, 300);
  const code = errorCode(error);
  const status = httpStatus(error);
  const requestId = (error as { $metadata?: { requestId?: unknown } }).$metadata?.requestId;
  const message = error.message && error.message !== code ? `: ${error.message}` : '';
  const extra = [
    status !== undefined ? `HTTP ${status}` : '',
    typeof requestId === 'string' ? `request id ${requestId}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return redactText(`${code}${message}${extra ? ` (${extra})` : ''}`).slice(0, 500);
}

/**
 * A copy of an error that is safe to keep and log: code, redacted message, HTTP status and request id.
 * SDK errors carry more (e.g. `StringToSign`, `AWSAccessKeyId` on SignatureDoesNotMatch), which is dropped.
 */
export function safeCause(error: unknown): Error {
  const copy = new Error(
    error instanceof Error ? redactText(error.message).slice(0, 500) : redactText(String(error)),
  );
  copy.name = errorCode(error);
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown; requestId?: unknown } } | null)
    ?.$metadata;
  if (metadata) {
    Object.assign(copy, {
      $metadata: { httpStatusCode: metadata.httpStatusCode, requestId: metadata.requestId },
    });
  }
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}

function named(name: ErrorNameValue, message: string, cause: unknown): TransferError {
  return new TransferError(name, redactText(message), { cause: safeCause(cause) });
}

/**
 * Maps an S3 (SDK or network) error to a named {@link TransferError} whose message tells a person what
 * happened and what to check. Errors that already carry a product name pass through unchanged.
 */
export function toTransferError(error: unknown, context: ErrorContext): Error {
  if (isTransferError(error) || isAbortError(error)) return error as Error;
  const code = errorCode(error);
  const status = httpStatus(error);
  const where = `s3://${context.bucket}/${context.key}`;
  const detail = `${context.operation}: ${describeError(error)}`;

  if (code === 'PreconditionFailed' || status === 412) {
    return named(
      ErrorName.SourceChanged,
      `${where} changed while it was being copied (its ETag no longer matches the one the copy started with); ` +
        `nothing was written, run the copy again (${detail})`,
      error,
    );
  }
  if (context.side === 'source') {
    if (code === 'NoSuchBucket') {
      return named(
        ErrorName.SourceNotFound,
        `source bucket ${context.bucket} does not exist (${detail})`,
        error,
      );
    }
    if (code === 'NoSuchKey' || code === 'NotFound' || status === 404) {
      return context.resuming
        ? named(ErrorName.SourceChanged, `${where} was deleted while it was being copied (${detail})`, error)
        : named(ErrorName.SourceNotFound, `${where} does not exist (${detail})`, error);
    }
    if (code === 'AccessDenied' || code === 'InvalidAccessKeyId' || code === 'Forbidden' || status === 403) {
      return named(
        ErrorName.SourceAccessDenied,
        `the source credentials may not read ${where}: TEA credentials only read the buckets of the archive ` +
          `whose /s3credentials endpoint issued them, and only from the archive's region (${detail})`,
        error,
      );
    }
  } else {
    if (code === 'NoSuchBucket') {
      return named(
        ErrorName.DestinationNotFound,
        `destination bucket ${context.bucket} does not exist (${detail})`,
        error,
      );
    }
    if (code === 'AccessDenied' || code === 'Forbidden' || code === 'AllAccessDisabled' || status === 403) {
      return named(
        ErrorName.DestinationAccessDenied,
        `the copy role may not write ${where}: grant it s3:PutObject and s3:AbortMultipartUpload on the ` +
          `destination bucket (and kms:GenerateDataKey if it uses a KMS key) (${detail})`,
        error,
      );
    }
  }
  if (isTransient(error)) {
    return named(
      ErrorName.TransientError,
      `${context.side} S3 kept failing with throttling, server or network errors after retries; try again later (${detail})`,
      error,
    );
  }
  return named(
    ErrorName.CopyFailed,
    `copying ${where} failed on the ${context.side} side (${detail})`,
    error,
  );
}

/** A bad copy detected before it became visible (byte count, MD5 or checksum mismatch). */
export function integrityError(message: string): TransferError {
  return new TransferError(ErrorName.IntegrityError, message);
}
