import type { S3ClientConfig } from '@aws-sdk/client-s3';

export {
  COPY_DEFAULTS,
  SOURCE_ETAG_METADATA,
  SOURCE_LAST_MODIFIED_METADATA,
  copyObject,
  type CopyObjectParams,
  type CopyOptions,
  type CopyResult,
  type CopyVerification,
} from './copy-object';
export {
  describeError,
  errorCode,
  httpStatus,
  isTransferError,
  toTransferError,
  type ErrorContext,
  type Side,
} from './errors';
export { readAhead, type ReadAheadOptions } from './read-ahead';
export { useUnsignedPayload, type UnsignedPayloadMode } from './unsigned-payload';
export { SourceReader, type SourceCredentials, type SourceObject, type SourceStats } from './source-reader';
export { ByteVerifier, plainMd5ETag, stripQuotes, verifyChunks } from './verify';

/**
 * S3 client settings for both sides of a copy. The SDK retries whole requests (throttling, 5xx, resets
 * before the body): 8 attempts survive 20% SlowDown with a per-request failure chance of 0.2^8 = 3e-6.
 * 'standard' rather than 'adaptive': adaptive's client-side rate limiter halves throughput on every
 * throttle, which at a steady SlowDown rate costs more than the retries. A socket idle for 30 s fails,
 * and the engine resumes the body from where it stopped.
 */
export function copyClientConfig(): Pick<S3ClientConfig, 'maxAttempts' | 'retryMode' | 'requestHandler'> {
  return {
    maxAttempts: 8,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: 5_000, socketTimeout: 30_000 },
  };
}
