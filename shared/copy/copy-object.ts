import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  HeadObjectCommand,
  type ChecksumAlgorithm,
  type CompleteMultipartUploadCommandOutput,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { classifyS3Error, describeSdkError, errorCode, isAbortError } from '../aws/sdk-errors';
import { isTransferError } from '../errors';
import { toTransferError } from './errors';
import { readAhead } from './read-ahead';
import { useUnsignedPayload, type UnsignedPayloadMode } from './unsigned-payload';
import {
  abortError,
  defaultSleep,
  SourceReader,
  type SourceCredentials,
  type SourceObject,
  type SourceStats,
} from './source-reader';
import type { PublishedChecksum } from '../cmr/types';
import { ByteVerifier, checkName, chooseCheck, stripQuotes, verifyChunks, type Check } from './verify';

const MiB = 1024 * 1024;

/** User metadata on each copy: the source ETag (Sync compares it) and the source's LastModified. */
export const SOURCE_ETAG_METADATA = 'source-etag';
export const SOURCE_LAST_MODIFIED_METADATA = 'source-last-modified';

/** S3 allows at most 10,000 parts: larger objects get larger parts. */
const MAX_PARTS = 10_000;

/** Defaults chosen from bench/copy-engine.ts measurements (docs/PERFORMANCE.md). */
export const COPY_DEFAULTS = {
  partSize: 8 * MiB,
  queueSize: 4,
  readAhead: 1,
  checksumAlgorithm: 'CRC32' as ChecksumAlgorithm,
  unsignedPayload: 'https' as UnsignedPayloadMode,
  maxResumes: 6,
  maxRefreshes: 2,
  backoffBaseMs: 200,
  backoffMaxMs: 5000,
} as const;

export interface CopyOptions {
  /** Multipart part size in bytes (raised for objects over 10,000 parts). @default 8 MiB */
  partSize?: number;
  /** Parts uploaded in parallel. @default 4 */
  queueSize?: number;
  /**
   * Ranged GETs in flight for objects larger than two ranges; 1 reads the object over one connection.
   * @default 1
   */
  readAhead?: number;
  /** Bytes per ranged GET when `readAhead` > 1. @default partSize */
  rangeSize?: number;
  /** Skip the object when the destination has the same size and the same recorded source ETag. */
  sync?: boolean;
  /** Checksum the destination verifies on every part. @default 'CRC32' */
  checksumAlgorithm?: ChecksumAlgorithm;
  /**
   * When a part is signed `UNSIGNED-PAYLOAD` instead of with its SHA-256 (it still carries its checksum
   * header, which S3 checks): `https` over TLS only, `always`, or `never`. @default 'https'
   */
  unsignedPayload?: UnsignedPayloadMode;
  /** Aborts the copy: the multipart upload is aborted and the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
  /** Called with every batch of source bytes passed on to the upload. */
  onProgress?: (bytesDelta: number) => void;
  /** Failed body reads in a row before giving up (`TransientError`). @default 6 */
  maxResumes?: number;
  /** Refresh-and-retry rounds per request after expiry errors. @default 2 */
  maxRefreshes?: number;
  /** @default 200 */
  backoffBaseMs?: number;
  /** @default 5000 */
  backoffMaxMs?: number;
  /** For tests. @default setTimeout */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @default Date.now */
  now?: () => number;
  /** @default Math.random */
  random?: () => number;
}

export interface CopyObjectParams {
  /** Reads the source; its credentials come from `sourceCredentials`' provider. */
  sourceClient: S3Client;
  /** Invalidated on expiry errors. Omit for sources read with long-lived credentials. */
  sourceCredentials?: SourceCredentials;
  /** Writes the destination (the copier's own role). */
  destinationClient: S3Client;
  source: { bucket: string; key: string };
  destination: { bucket: string; key: string };
  /** Size and ETag as listed; Sync uses them instead of a HEAD on the source. */
  expected?: { size?: number; eTag?: string };
  /**
   * The checksum the archive published for the object (CMR): the bytes are checked against it as they
   * stream, in place of the ETag or full-object check (one hash pass either way), before the upload completes.
   */
  published?: PublishedChecksum;
  options?: CopyOptions;
}

export interface CopyVerification {
  /** Bytes streamed equalled the source's Content-Length (checked before the upload completed). */
  bytes: boolean;
  /**
   * What the bytes were checked against, before the upload completed: `md5-etag`, a full-object
   * checksum (`crc64nvme-full-object`, ...) or `size-only` (see {@link chooseCheck}); `destination-sync`
   * for an object Sync skipped.
   */
  check: string;
  /** The checksum the destination computed and checked, e.g. `CRC32:AAAAAA==-3`. */
  checksum?: string;
}

export interface CopyResult {
  status: 'COPIED' | 'SKIPPED';
  /** Bytes copied (0 when skipped). */
  bytes: number;
  sourceETag: string;
  destETag?: string;
  verified: CopyVerification;
  stats: SourceStats & { durationMs: number; partSize?: number };
}

function partSizeFor(size: number, requested: number): number {
  const minimum = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  return Math.max(requested, minimum, 5 * MiB);
}

function destinationChecksum(out: CompleteMultipartUploadCommandOutput): string | undefined {
  const fields = [
    'ChecksumCRC32',
    'ChecksumCRC32C',
    'ChecksumCRC64NVME',
    'ChecksumSHA1',
    'ChecksumSHA256',
  ] as const;
  for (const field of fields) {
    const value = out[field];
    if (value) return `${field.slice('Checksum'.length)}:${value}`;
  }
  return undefined;
}

/** HeadObject on the destination; undefined when it cannot tell (no object, or no permission to look). */
export async function headDestination(
  client: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  } catch (error) {
    // 403 is also what S3 answers for a missing key without s3:ListBucket: the copy then finds out.
    const failure = classifyS3Error(error);
    if (failure === 'not-found' || failure === 'denied') return undefined;
    throw toTransferError(error, { side: 'destination', bucket, key, operation: 'HeadObject' });
  }
}

/** Links an outer signal to a controller of our own (which also stops in-flight source requests). */
function linkedController(outer?: AbortSignal): { controller: AbortController; unlink: () => void } {
  const controller = new AbortController();
  if (!outer) return { controller, unlink: () => undefined };
  const onAbort = (): void => controller.abort(abortError(outer));
  if (outer.aborted) onAbort();
  else outer.addEventListener('abort', onAbort, { once: true });
  return { controller, unlink: () => outer.removeEventListener('abort', onAbort) };
}

/**
 * Copies one object from a source read with (expiring) source credentials to a destination written with
 * the copier's own credentials, streaming: GetObject into a multipart upload, resuming the source with
 * ranged GETs pinned to its ETag after any failure, verifying size (and MD5 for single-part ETags) before
 * the upload completes. On any failure the multipart upload is aborted and a named error is thrown:
 * nothing partial is ever visible at the destination.
 */
export async function copyObject(params: CopyObjectParams): Promise<CopyResult> {
  const options = params.options ?? {};
  const now = options.now ?? Date.now;
  const startedAt = now();
  const { source, destination } = params;
  const { controller, unlink } = linkedController(options.signal);
  const signal = controller.signal;
  const reader = new SourceReader(params.sourceClient, params.sourceCredentials, source.bucket, source.key, {
    maxResumes: options.maxResumes ?? COPY_DEFAULTS.maxResumes,
    maxRefreshes: options.maxRefreshes ?? COPY_DEFAULTS.maxRefreshes,
    backoffBaseMs: options.backoffBaseMs ?? COPY_DEFAULTS.backoffBaseMs,
    backoffMaxMs: options.backoffMaxMs ?? COPY_DEFAULTS.backoffMaxMs,
    sleep: options.sleep ?? defaultSleep,
    now,
    random: options.random ?? Math.random,
    signal,
  });
  const stats = (): CopyResult['stats'] => ({ ...reader.stats, durationMs: now() - startedAt });

  let succeeded = false;
  try {
    if (options.sync) {
      const listed = params.expected;
      const sourceState =
        listed?.size !== undefined && listed.eTag
          ? { size: listed.size, eTag: stripQuotes(listed.eTag)! }
          : await reader.head();
      const existing = await headDestination(
        params.destinationClient,
        destination.bucket,
        destination.key,
        signal,
      );
      const recorded = stripQuotes(existing?.Metadata?.[SOURCE_ETAG_METADATA]);
      if (existing && existing.ContentLength === sourceState.size && recorded === sourceState.eTag) {
        return {
          status: 'SKIPPED',
          bytes: 0,
          sourceETag: sourceState.eTag,
          destETag: stripQuotes(existing.ETag),
          verified: { bytes: true, check: 'destination-sync' },
          stats: stats(),
        };
      }
    }

    const requestedPart = options.partSize ?? COPY_DEFAULTS.partSize;
    const depth = options.readAhead ?? COPY_DEFAULTS.readAhead;
    const rangeSize = options.rangeSize ?? requestedPart;
    const listedSize = params.expected?.size;
    const ranged = depth > 1 && (listedSize === undefined || listedSize > 2 * rangeSize);
    const { object, response } = await reader.open(ranged ? rangeSize : undefined);
    const readingAhead = ranged && response.ContentRange !== undefined && object.size > rangeSize;
    const chunks = readingAhead ? readAhead(reader, response, { rangeSize, depth }) : reader.stream(response);
    let check: Check = params.published
      ? { kind: 'published', checksum: params.published }
      : chooseCheck(object);
    // A ranged first GET carries no stored checksum: ask for it when the ETag cannot be the check.
    if (readingAhead && check.kind === 'size')
      check = chooseCheck({ ...object, checksum: await reader.storedChecksum() });
    const result = await upload(params, object, chunks, {
      check,
      partSize: partSizeFor(object.size, requestedPart),
      queueSize: options.queueSize ?? COPY_DEFAULTS.queueSize,
      checksumAlgorithm: options.checksumAlgorithm ?? COPY_DEFAULTS.checksumAlgorithm,
      unsignedPayload: options.unsignedPayload ?? COPY_DEFAULTS.unsignedPayload,
      onProgress: options.onProgress,
      controller,
    });
    succeeded = true;
    return { ...result, stats: { ...stats(), partSize: partSizeFor(object.size, requestedPart) } };
  } catch (error) {
    if (options.signal?.aborted && !isTransferError(error)) throw abortError(options.signal);
    throw error;
  } finally {
    // Stops any ranged GET still in flight after a failure (nothing is in flight after a success).
    if (!succeeded) controller.abort(abortError());
    unlink();
  }
}

interface UploadSettings {
  partSize: number;
  queueSize: number;
  checksumAlgorithm: ChecksumAlgorithm;
  unsignedPayload: UnsignedPayloadMode;
  onProgress?: (bytes: number) => void;
  controller: AbortController;
  check: Check;
}

async function upload(
  params: CopyObjectParams,
  object: SourceObject,
  chunks: AsyncIterable<Buffer>,
  settings: UploadSettings,
): Promise<Omit<CopyResult, 'stats'>> {
  const { destination, source } = params;
  const check = settings.check;
  const verifier = new ByteVerifier({
    size: object.size,
    check,
    description: `copy of s3://${source.bucket}/${source.key}`,
  });
  const body = Readable.from(verifyChunks(chunks, verifier, settings.onProgress), { objectMode: false });
  // The first failure wins: a destination error stops the source at once, and is the one reported.
  let destinationFailure: unknown;
  const stop = (error: unknown): void => {
    if (!body.destroyed) body.destroy(error as Error);
    if (!settings.controller.signal.aborted) settings.controller.abort(error);
  };
  const onAbort = (): void => stop(abortError(settings.controller.signal));
  settings.controller.signal.addEventListener('abort', onAbort, { once: true });

  // Every destination request goes through here, so that its failure stops the source at once
  // (lib-storage lets the other part uploaders keep reading until the end of the stream otherwise).
  const client = params.destinationClient;
  const watched = new Proxy(client, {
    get(target, property) {
      if (property !== 'send') return Reflect.get(target, property, target);
      return async (...args: Parameters<S3Client['send']>) => {
        useUnsignedPayload(args[0].middlewareStack, settings.unsignedPayload);
        try {
          return await (target.send as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (error) {
          destinationFailure ??= error;
          stop(error);
          throw error;
        }
      };
    },
  });

  const uploader = new Upload({
    client: watched,
    params: {
      Bucket: destination.bucket,
      Key: destination.key,
      Body: body,
      ContentLength: object.size,
      ...destinationHeaders(object),
      ChecksumAlgorithm: settings.checksumAlgorithm,
    },
    partSize: settings.partSize,
    queueSize: settings.queueSize,
    // Aborted below, by us: an abort failure (s3rver answers 405) must never hide the real error.
    leavePartsOnError: true,
  });

  try {
    const out = await uploader.done();
    return {
      status: 'COPIED',
      bytes: verifier.bytes,
      sourceETag: object.eTag,
      destETag: stripQuotes(out.ETag),
      verified: { bytes: true, check: checkName(check), checksum: destinationChecksum(out) },
    };
  } catch (thrown) {
    const failure = destinationFailure ?? thrown;
    stop(failure);
    const error =
      isTransferError(failure) || isAbortError(failure)
        ? (failure as Error)
        : toTransferError(failure, {
            side: 'destination',
            bucket: destination.bucket,
            key: destination.key,
            operation: 'Upload',
          });
    const uploadId = uploader.uploadId;
    if (uploadId) {
      try {
        await client.send(
          new AbortMultipartUploadCommand({
            Bucket: destination.bucket,
            Key: destination.key,
            UploadId: uploadId,
          }),
        );
      } catch (abortFailure) {
        if (errorCode(abortFailure) !== 'NoSuchUpload') {
          error.message +=
            ` (aborting multipart upload ${uploadId} also failed: ${describeSdkError(abortFailure)}; ` +
            'its parts are invisible and a lifecycle rule for incomplete multipart uploads removes them)';
        }
      }
    }
    throw error;
  } finally {
    settings.controller.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * What a copy carries over from its source: the content headers, the user metadata, and the source's
 * ETag and LastModified (what Sync compares), for a PutObject or a CreateMultipartUpload.
 */
export function destinationHeaders(object: SourceObject): {
  ContentType?: string;
  ContentEncoding?: string;
  ContentDisposition?: string;
  ContentLanguage?: string;
  CacheControl?: string;
  Expires?: Date;
  Metadata: Record<string, string>;
} {
  const metadata: Record<string, string> = { ...object.metadata, [SOURCE_ETAG_METADATA]: object.eTag };
  if (object.lastModified) metadata[SOURCE_LAST_MODIFIED_METADATA] = object.lastModified.toISOString();
  return {
    ContentType: object.contentType,
    ContentEncoding: object.contentEncoding,
    ContentDisposition: object.contentDisposition,
    ContentLanguage: object.contentLanguage,
    CacheControl: object.cacheControl,
    Expires: object.expires,
    Metadata: metadata,
  };
}
