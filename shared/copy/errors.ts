import { classifyS3Error, describeSdkError, isAbortError, safeCause } from '../aws/sdk-errors';
import { ErrorName, TransferError, isTransferError, type ErrorNameValue } from '../errors';
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
  /** What the request was about, when not one object (a listing). @default `s3://bucket/key` */
  what?: string;
}

const ACCESS_HINT =
  'Check that CredentialsEndpoint belongs to the archive (DAAC) that owns this bucket (each DAAC has its ' +
  'own /s3credentials endpoint and its credentials read only its own buckets), and that the pipeline runs ' +
  'in the bucket’s region (TEA credentials work in-region only; Earthdata Cloud buckets are in us-west-2)';

function named(name: ErrorNameValue, message: string, cause: unknown): TransferError {
  return new TransferError(name, redactText(message), { cause: safeCause(cause) });
}

/**
 * Maps an S3 (SDK or network) error to a named {@link TransferError} whose message tells a person what
 * happened and what to check. Errors that already carry a product name pass through unchanged.
 */
export function toTransferError(error: unknown, context: ErrorContext): Error {
  if (isTransferError(error) || isAbortError(error)) return error as Error;
  const where = context.what ?? `s3://${context.bucket}/${context.key}`;
  const detail = `${context.operation}: ${describeSdkError(error)}`;
  const failure = classifyS3Error(error);
  const source = context.side === 'source';

  if (failure === 'precondition') {
    return named(
      ErrorName.SourceChanged,
      `${where} changed while it was being copied (its ETag no longer matches the one the copy started with); ` +
        `nothing was written, run the copy again (${detail})`,
      error,
    );
  }
  if (failure === 'no-such-bucket') {
    return source
      ? named(ErrorName.SourceNotFound, `source bucket ${context.bucket} does not exist (${detail})`, error)
      : named(
          ErrorName.DestinationNotFound,
          `destination bucket ${context.bucket} does not exist (${detail})`,
          error,
        );
  }
  if (source && failure === 'not-found') {
    return context.resuming
      ? named(ErrorName.SourceChanged, `${where} was deleted while it was being copied (${detail})`, error)
      : named(ErrorName.SourceNotFound, `${where} does not exist (${detail})`, error);
  }
  if (source && failure === 'wrong-region') {
    return named(
      ErrorName.SourceAccessDenied,
      `source bucket ${context.bucket} is not in the region the pipeline runs in (${detail}). TEA credentials ` +
        'work in-region only: run the pipeline in the bucket’s region (us-west-2 for Earthdata Cloud).',
      error,
    );
  }
  if (failure === 'denied' || failure === 'wrong-region') {
    return source
      ? named(
          ErrorName.SourceAccessDenied,
          `the source credentials may not read ${where} (${detail}). ${ACCESS_HINT}.`,
          error,
        )
      : named(
          ErrorName.DestinationAccessDenied,
          `the copy role may not write ${where}: grant it s3:PutObject and s3:AbortMultipartUpload on the ` +
            `destination bucket (and kms:GenerateDataKey if it uses a KMS key) (${detail})`,
          error,
        );
  }
  if (failure === 'transient') {
    return named(
      ErrorName.TransientError,
      `${context.side} S3 kept failing with throttling, server or network errors after retries; try again later (${detail})`,
      error,
    );
  }
  return named(ErrorName.CopyFailed, `${where} failed on the ${context.side} side (${detail})`, error);
}

/** A bad copy detected before it became visible (byte count, MD5 or checksum mismatch). */
export function integrityError(message: string): TransferError {
  return new TransferError(ErrorName.IntegrityError, message);
}
