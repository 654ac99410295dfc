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
export { toTransferError, type ErrorContext, type Side } from './errors';
export { readAhead, type ReadAheadOptions } from './read-ahead';
export { useUnsignedPayload, type UnsignedPayloadMode } from './unsigned-payload';
export { SourceReader, type SourceCredentials, type SourceObject, type SourceStats } from './source-reader';
export { ByteVerifier, plainMd5ETag, stripQuotes, verifyChunks } from './verify';
