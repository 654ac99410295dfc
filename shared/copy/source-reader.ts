import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { BuildMiddleware, HttpRequest } from '@smithy/types';
import { addBuildStep } from '../aws/s3-config';
import { isCredentialExpiryError } from '../credentials/expiry';
import { describeSdkError, errorCode, isAbortError } from '../aws/sdk-errors';
import { ErrorName, TransferError, isNamed, isTransferError } from '../errors';
import { toTransferError } from './errors';
import { stripQuotes, type ObjectChecksum } from './verify';

/**
 * The source credentials handle, as far as the engine needs it (structurally `RefreshingCredentials`):
 * the S3 client asks the handle's provider on every request, so `invalidate()` takes effect at once.
 */
export interface SourceCredentials {
  invalidate(generation?: number): void;
  /** Epoch milliseconds at which the current credentials expire, when known. */
  readonly expiresAt?: number;
  /** Identifies the current credentials, so that parallel failures refresh them once. */
  readonly generation?: number;
}

/** What the first GET told about the source object; copied onto the destination object. */
export interface SourceObject {
  size: number;
  /** Without quotes. */
  eTag: string;
  lastModified?: Date;
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: Date;
  metadata: Record<string, string>;
  serverSideEncryption?: string;
  sseCustomerAlgorithm?: string;
  /** The full object's checksum, when S3 sent it (a whole-object GET or HEAD with checksum mode). */
  checksum?: ObjectChecksum;
}

/** Counters a copy reports (and tests assert on). */
export interface SourceStats {
  /** GetObject requests sent, the first included (SDK-level retries count once). */
  requests: number;
  /** Ranged GETs that continued a body which failed part-way. */
  resumes: number;
  /** Times an expiry error made the source credentials be invalidated and the request retried. */
  refreshes: number;
  /** Body bytes received from the source, including any that were thrown away by a failure. */
  bytesReceived: number;
}

export interface SourceReadOptions {
  /** Failed body reads in a row (without progress in between) before the copy gives up. @default 6 */
  maxResumes: number;
  /** Expiry errors on one request before it gives up. @default 2 */
  maxRefreshes: number;
  /** First resume delay; doubles on each consecutive failure, with full jitter. @default 200 */
  backoffBaseMs: number;
  /** @default 5000 */
  backoffMaxMs: number;
  /** @default a setTimeout sleep that an abort ends early */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @default Date.now */
  now: () => number;
  /** @default Math.random */
  random: () => number;
  signal?: AbortSignal;
}

/** Progress since the last failure that counts as "the resume worked": the failure counter resets. */
const PROGRESS_RESETS_FAILURES = 1024 * 1024;

export const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export function abortError(signal?: AbortSignal): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && isAbortError(reason)) return reason;
  const error = new Error(reason instanceof Error ? `copy aborted: ${reason.message}` : 'copy aborted');
  error.name = 'AbortError';
  return error;
}

/** Thrown by the first ranged GET when the object is empty (S3 answers 416 to any range of it). */
const EMPTY_OBJECT = new Error('empty object');

/** Raised when a body ends cleanly before all its bytes arrived (a proxy closing early). */
class PrematureEnd extends Error {
  constructor(received: number, expected: number) {
    super(`the source body ended after ${received} of ${expected} bytes`);
    this.name = 'PrematureEnd';
  }
}

/** A body failure worth a ranged resume: anything but our own named errors and aborts. */
function isResumable(error: unknown): boolean {
  if (isTransferError(error) || isAbortError(error)) return false;
  // The SDK's response checksum validator: the bytes already passed on were bad, a resume cannot fix it.
  return !(error instanceof Error && /checksum mismatch/i.test(error.message));
}

const CHECKSUM_FIELDS = [
  ['ChecksumCRC64NVME', 'CRC64NVME'],
  ['ChecksumCRC32', 'CRC32'],
  ['ChecksumCRC32C', 'CRC32C'],
  ['ChecksumSHA256', 'SHA256'],
  ['ChecksumSHA1', 'SHA1'],
] as const;

/** The checksum S3 sent with an object (only for whole-object requests in checksum mode). */
function checksumOf(out: GetObjectCommandOutput | HeadObjectCommandOutput): ObjectChecksum | undefined {
  for (const [field, algorithm] of CHECKSUM_FIELDS) {
    const value = out[field];
    if (value) {
      const type =
        out.ChecksumType === 'COMPOSITE' || out.ChecksumType === 'FULL_OBJECT' ? out.ChecksumType : undefined;
      return { algorithm, value, ...(type && { type }) };
    }
  }
  return undefined;
}

/** Asks S3 for the object's stored checksum (`x-amz-checksum-mode`), without the SDK validating it: the engine does. */
function withChecksumMode(command: GetObjectCommand | HeadObjectCommand): void {
  const middleware: BuildMiddleware<object, object> = (next) => async (args) => {
    (args.request as HttpRequest).headers['x-amz-checksum-mode'] = 'ENABLED';
    return next(args);
  };
  addBuildStep(command.middlewareStack, middleware, 's3DirectTransferChecksumMode');
}

function metadataOf(out: GetObjectCommandOutput, size: number): SourceObject {
  return {
    serverSideEncryption: out.ServerSideEncryption,
    sseCustomerAlgorithm: out.SSECustomerAlgorithm,
    checksum: checksumOf(out),
    size,
    eTag: stripQuotes(out.ETag) ?? '',
    lastModified: out.LastModified,
    contentType: out.ContentType,
    contentEncoding: out.ContentEncoding,
    contentDisposition: out.ContentDisposition,
    contentLanguage: out.ContentLanguage,
    cacheControl: out.CacheControl,
    expires: out.Expires,
    metadata: { ...(out.Metadata ?? {}) },
  };
}

/** `bytes 0-99/1234` -> { start: 0, end: 99, total: 1234 } */
export function parseContentRange(
  value: string | undefined,
): { start: number; end: number; total: number } | undefined {
  const match = value ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value.trim()) : null;
  return match ? { start: Number(match[1]), end: Number(match[2]), total: Number(match[3]) } : undefined;
}

/**
 * Reads one source object with GetObject: the whole of it as a stream that resumes by itself, or byte
 * ranges into buffers. Every request after the first is pinned to the first response's ETag with
 * `If-Match` (a 412 becomes `SourceChanged`); an expiry error invalidates the credentials and retries.
 */
export class SourceReader {
  readonly stats: SourceStats = { requests: 0, resumes: 0, refreshes: 0, bytesReceived: 0 };
  private object?: SourceObject;

  constructor(
    private readonly client: S3Client,
    private readonly credentials: SourceCredentials | undefined,
    readonly bucket: string,
    readonly key: string,
    private readonly options: SourceReadOptions,
  ) {}

  /** The source object, once {@link open} has answered. */
  get info(): SourceObject {
    if (!this.object) throw new Error('SourceReader.open() has not completed');
    return this.object;
  }

  /**
   * Sends the first GET: the whole object, or with `firstRangeBytes` only its first bytes (read-ahead
   * then fetches the rest in ranges). Answers the object's metadata and the response whose body to read.
   */
  async open(firstRangeBytes?: number): Promise<{ object: SourceObject; response: GetObjectCommandOutput }> {
    if (firstRangeBytes === undefined) {
      const response = await this.get({});
      const size = response.ContentLength ?? 0;
      this.object = metadataOf(response, size);
      return { object: this.object, response };
    }
    let response: GetObjectCommandOutput;
    try {
      response = await this.get({ range: `bytes=0-${firstRangeBytes - 1}`, emptyObjectOk: true });
    } catch (error) {
      if (error !== EMPTY_OBJECT) throw error;
      return this.open();
    }
    const range = parseContentRange(response.ContentRange);
    // A server that ignores Range answers 200 with the whole object.
    const size = range ? range.total : (response.ContentLength ?? 0);
    this.object = metadataOf(response, size);
    return { object: this.object, response };
  }

  /**
   * The object's bytes from `start` on, as they arrive: `first` (the body of {@link open}'s response,
   * which must start at `start`) and, after any failure, ranged GETs from the next byte not yet passed on.
   */
  async *stream(first: GetObjectCommandOutput, start = 0, end = this.info.size): AsyncGenerator<Buffer> {
    let body = first.Body as Readable | undefined;
    let chunks = body?.[Symbol.asyncIterator]() as AsyncIterator<Buffer> | undefined;
    let offset = start;
    let failures = 0;
    let sinceFailure = 0;
    const failed = async (error: unknown): Promise<void> => {
      body?.destroy();
      body = chunks = undefined;
      if (sinceFailure >= PROGRESS_RESETS_FAILURES) failures = 0;
      sinceFailure = 0;
      failures++;
      await this.beforeResume(error, failures, offset);
    };
    try {
      for (;;) {
        if (!chunks) {
          if (offset === end) return;
          try {
            body = (await this.getRange(offset, end)).Body as Readable;
            chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
          } catch (error) {
            // Throttling, 5xx or network errors that outlasted the SDK's retries: the resume budget decides.
            if (!isNamed(error, ErrorName.TransientError)) throw error;
            await failed(error);
            continue;
          }
        }
        let chunk: Buffer;
        try {
          const next = await chunks.next();
          if (next.done) {
            chunks = undefined;
            if (offset === end) return;
            throw new PrematureEnd(offset - start, end - start);
          }
          chunk = next.value;
          this.stats.bytesReceived += chunk.length;
          if (offset + chunk.length > end) {
            throw new TransferError(
              ErrorName.IntegrityError,
              `s3://${this.bucket}/${this.key}: the source sent more bytes than asked for (${end - start} from byte ${start})`,
            );
          }
        } catch (error) {
          if (!isResumable(error)) throw error;
          await failed(error);
          continue;
        }
        offset += chunk.length;
        sinceFailure += chunk.length;
        // Outside the try: an error thrown into the generator here (its consumer failed) must not resume.
        yield chunk;
      }
    } finally {
      body?.destroy();
    }
  }

  /** Bytes [start, end) into one buffer, resuming inside the range after a failure. */
  async readRange(start: number, end: number, first?: GetObjectCommandOutput): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(end - start);
    let filled = 0;
    for await (const chunk of this.stream(first ?? (await this.getRange(start, end)), start, end)) {
      chunk.copy(buffer, filled);
      filled += chunk.length;
    }
    return buffer;
  }

  private async beforeResume(error: unknown, failures: number, offset: number): Promise<void> {
    if (failures > this.options.maxResumes) {
      throw new TransferError(
        ErrorName.TransientError,
        `reading s3://${this.bucket}/${this.key} failed ${failures} times in a row at byte ${offset} of ` +
          `${this.info.size}; last failure: ${describeSdkError(error)}`,
      );
    }
    const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** (failures - 1));
    await this.options.sleep(Math.round(this.options.random() * ceiling), this.options.signal);
    this.stats.resumes++;
  }

  /** A ranged GET pinned to the object's ETag; checks that the answer is the range asked for. */
  private async getRange(start: number, end: number): Promise<GetObjectCommandOutput> {
    const object = this.info;
    const response = await this.get({
      range: `bytes=${start}-${end - 1}`,
      ifMatch: object.eTag,
      resuming: true,
    });
    const range = parseContentRange(response.ContentRange);
    const eTag = stripQuotes(response.ETag);
    if (eTag !== undefined && eTag !== object.eTag) {
      (response.Body as Readable | undefined)?.destroy();
      throw new TransferError(
        ErrorName.SourceChanged,
        `s3://${this.bucket}/${this.key} changed while it was being copied (ETag ${object.eTag} became ${eTag}); nothing was written`,
      );
    }
    if (!range || range.start !== start || range.end !== end - 1 || range.total !== object.size) {
      (response.Body as Readable | undefined)?.destroy();
      const what = range ? `bytes ${range.start}-${range.end}/${range.total}` : 'no Content-Range';
      throw new TransferError(
        range && range.total !== object.size ? ErrorName.SourceChanged : ErrorName.CopyFailed,
        `s3://${this.bucket}/${this.key}: asked for bytes ${start}-${end - 1}/${object.size}, got ${what}`,
      );
    }
    return response;
  }

  /**
   * Reads an object known from the listing (a giant object's range): every ranged GET is pinned to
   * this ETag, and checked against this size.
   */
  pin(object: { size: number; eTag: string }): void {
    this.object = { size: object.size, eTag: object.eTag, metadata: {} };
  }

  /**
   * HeadObject pinned to `eTag` (412: `SourceChanged`), in checksum mode: everything a copy carries over
   * (content headers, metadata) and the stored checksum. Later ranged GETs are pinned to it.
   */
  async describe(eTag: string): Promise<SourceObject> {
    const out = await this.headObject(eTag);
    this.object = metadataOf(out as GetObjectCommandOutput, out.ContentLength ?? 0);
    return this.object;
  }

  /** HeadObject on the source (for Sync when the listing did not give size and ETag). */
  async head(): Promise<{ size: number; eTag: string }> {
    const out = await this.headObject();
    return { size: out.ContentLength ?? 0, eTag: stripQuotes(out.ETag) ?? '' };
  }

  /**
   * The stored checksum of the object opened by a ranged GET (which carries none), pinned to its ETag;
   * undefined when S3 keeps none.
   */
  async storedChecksum(): Promise<ObjectChecksum | undefined> {
    const out = await this.headObject(this.info.eTag);
    return checksumOf(out);
  }

  private headObject(ifMatch?: string): Promise<HeadObjectCommandOutput> {
    const command = new HeadObjectCommand({
      Bucket: this.bucket,
      Key: this.key,
      IfMatch: ifMatch === undefined ? undefined : `"${ifMatch}"`,
    });
    withChecksumMode(command);
    return this.send(
      (abortSignal) => this.client.send(command, { abortSignal }),
      'HeadObject',
      ifMatch !== undefined,
    );
  }

  private get(request: {
    range?: string;
    ifMatch?: string;
    resuming?: boolean;
    emptyObjectOk?: boolean;
  }): Promise<GetObjectCommandOutput> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.key,
      Range: request.range,
      IfMatch: request.ifMatch === undefined ? undefined : `"${request.ifMatch}"`,
    });
    // S3 sends the stored checksum only for a whole object.
    if (request.range === undefined) withChecksumMode(command);
    return this.send(
      (abortSignal) => this.client.send(command, { abortSignal }),
      `GetObject${request.range ? ` ${request.range}` : ''}`,
      request.resuming,
      // S3 answers 416 to any range of an empty object.
      request.emptyObjectOk
        ? (error) => (errorCode(error) === 'InvalidRange' ? EMPTY_OBJECT : undefined)
        : undefined,
    );
  }

  /** One request, retried with fresh credentials after expiry errors; errors come back named. */
  private async send<Output>(
    request: (abortSignal?: AbortSignal) => Promise<Output>,
    operation: string,
    resuming?: boolean,
    recognize?: (error: unknown) => unknown,
  ): Promise<Output> {
    const context = { side: 'source' as const, bucket: this.bucket, key: this.key, operation, resuming };
    for (let round = 0; ; round++) {
      if (this.options.signal?.aborted) throw abortError(this.options.signal);
      const generation = this.credentials?.generation;
      this.stats.requests++;
      try {
        return await request(this.options.signal);
      } catch (error) {
        if (this.options.signal?.aborted) throw abortError(this.options.signal);
        const recognized = recognize?.(error);
        if (recognized !== undefined) throw recognized;
        const expired =
          this.credentials !== undefined &&
          isCredentialExpiryError(error, this.options.now(), this.credentials.expiresAt);
        if (!expired) throw toTransferError(error, context);
        if (round >= this.options.maxRefreshes) {
          throw new TransferError(
            ErrorName.TransientError,
            `the source credentials were rejected as expired ${round + 1} times in a row, even right after a ` +
              `refresh (${operation} s3://${this.bucket}/${this.key}: ${describeSdkError(error)}); ` +
              'check the system clock and the credentials endpoint',
          );
        }
        this.stats.refreshes++;
        this.credentials!.invalidate(generation);
      }
    }
  }
}
