import { ErrorName, TransferError } from '../../shared/errors';

/** What went wrong with one source request, as far as planning cares. */
export type SourceFailure =
  'not-found' | 'no-such-bucket' | 'denied' | 'wrong-region' | 'transient' | 'other';

const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeout',
  'TimeoutError',
  'InternalError',
  'ServiceUnavailable',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
]);

function codesOf(error: unknown): string[] {
  if (error === null || typeof error !== 'object') return [];
  const e = error as { name?: unknown; Code?: unknown; code?: unknown };
  return [e.name, e.Code, e.code].filter((c): c is string => typeof c === 'string');
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Classifies an S3 error by its code and HTTP status: HEAD responses have no body, so the SDK names
 * them after the status (`NotFound`, `Forbidden`), and S3-compatible servers may send `UnknownError`.
 */
export function classifySourceError(error: unknown): SourceFailure {
  const codes = codesOf(error);
  const status = statusOf(error);
  if (codes.includes('NoSuchBucket')) return 'no-such-bucket';
  if (codes.includes('NoSuchKey') || codes.includes('NotFound') || status === 404) return 'not-found';
  if (
    codes.some((c) =>
      ['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IncorrectEndpoint'].includes(c),
    ) ||
    status === 301
  ) {
    return 'wrong-region';
  }
  if (
    codes.some((c) => ['AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'AllAccessDisabled'].includes(c)) ||
    status === 403
  ) {
    return 'denied';
  }
  if (codes.some((c) => THROTTLING.has(c)) || (status !== undefined && (status >= 500 || status === 429))) {
    return 'transient';
  }
  return 'other';
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = statusOf(error);
  const code = (error as { Code?: unknown }).Code;
  const name = typeof code === 'string' && code !== error.name ? `${error.name} (${code})` : error.name;
  // HEAD errors have no body: the SDK's message is then just 'UnknownError'.
  const message = error.message && error.message !== error.name && error.message !== 'UnknownError';
  return `${name}${status ? `, HTTP ${status}` : ''}${message ? `: ${error.message}` : ''}`;
}

const ACCESS_HINT =
  'The temporary credentials from CredentialsEndpoint do not allow reading it. Check that CredentialsEndpoint ' +
  'belongs to the archive (DAAC) that owns this bucket (each DAAC has its own /s3credentials endpoint and its ' +
  'credentials read only its own buckets), and that the pipeline runs in the bucket’s region (TEA credentials ' +
  'work in-region only; Earthdata Cloud buckets are in us-west-2).';

/**
 * The named error for a failed source request that ends the plan. `what` names the object or listing
 * (`s3://bucket/key`); `operation` the S3 call. Already-named errors pass through.
 */
export function sourceError(error: unknown, what: string, operation: string, bucket: string): Error {
  if (error instanceof TransferError) return error;
  const detail = `${operation}: ${describeError(error)}`;
  switch (classifySourceError(error)) {
    case 'not-found':
      return new TransferError(ErrorName.SourceNotFound, `${what} does not exist (${detail})`, {
        cause: error,
      });
    case 'no-such-bucket':
      return new TransferError(
        ErrorName.SourceNotFound,
        `source bucket ${bucket} does not exist (${detail})`,
        {
          cause: error,
        },
      );
    case 'denied':
      return new TransferError(
        ErrorName.SourceAccessDenied,
        `access denied to ${what} (${detail}). ${ACCESS_HINT}`,
        {
          cause: error,
        },
      );
    case 'wrong-region':
      return new TransferError(
        ErrorName.SourceAccessDenied,
        `source bucket ${bucket} is not in the region the pipeline runs in (${detail}). TEA credentials work ` +
          'in-region only: run the pipeline in the bucket’s region (us-west-2 for Earthdata Cloud).',
        { cause: error },
      );
    case 'transient':
      return new TransferError(ErrorName.TransientError, `${what}: S3 kept failing (${detail})`, {
        cause: error,
      });
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}

/** The Cause recorded on a manifest item that Plan already knows will fail. */
export const itemCause = (what: string, operation: string, error: unknown): string =>
  `${what}: ${operation}: ${describeError(error)}`;
