/**
 * The engine of a giant object's range unit: copies parts `firstPart`..`lastPart` of the object into a
 * multipart upload created earlier (by PrepareGiants), each part read with a ranged GET pinned to the
 * object's ETag and uploaded with its checksum. Parts already in the upload with the right size (an
 * earlier round, a retry, a redrive) are not read again: a range resumes where it stopped, never from
 * its first byte. Nothing here completes or aborts the upload: CompleteGiants does, after the Map.
 */
import {
  ListPartsCommand,
  UploadPartCommand,
  type ChecksumAlgorithm as SdkChecksumAlgorithm,
  type Part,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isAbortError } from '../aws/sdk-errors';
import { createChecksum, type ChecksumAlgorithm } from '../checksums';
import { ErrorName, TransferError, isTransferError } from '../errors';
import { partBounds } from '../units';
import { toTransferError } from './errors';
import { abortError, defaultSleep, SourceReader, type SourceCredentials } from './source-reader';
import { useUnsignedPayload, type UnsignedPayloadMode } from './unsigned-payload';
import { COPY_DEFAULTS } from './copy-object';

export interface PartsJob {
  sourceClient: S3Client;
  sourceCredentials?: SourceCredentials;
  destinationClient: S3Client;
  source: { bucket: string; key: string };
  destination: { bucket: string; key: string };
  uploadId: string;
  /** The whole object's size and ETag, as planned. */
  size: number;
  eTag: string;
  partSize: number;
  firstPart: number;
  lastPart: number;
  /** The upload's checksum algorithm: every part carries its checksum. */
  checksumAlgorithm: ChecksumAlgorithm;
  /** Parts read and uploaded at once. @default 4 */
  concurrency?: number;
  unsignedPayload?: UnsignedPayloadMode;
  /** Asked before each part starts, with its size: false stops starting parts (the deadline is near). */
  mayStart?: (bytes: number) => boolean;
  /** Called after each part uploaded, with its size and how long it took. */
  onPart?: (bytes: number, durationMs: number) => void;
  /** Aborts the parts in flight (the deadline, Ctrl-C): the promise then rejects with an AbortError. */
  signal?: AbortSignal;
  maxResumes?: number;
  maxRefreshes?: number;
  now?: () => number;
}

export interface PartsOutcome {
  /** Parts of the range present in the upload with the right size when the job stopped. */
  present: number;
  /** Parts uploaded by this job. */
  uploaded: number;
  /** Bytes uploaded by this job. */
  bytes: number;
  /** The range's parts still missing (empty when the range is complete). */
  missing: number[];
  /** The named error that stopped the job for good (not set when it was aborted). */
  error?: Error;
}

/** Parts in the upload from `firstPart` to `lastPart`, by number (ListParts, page by page). */
export async function listUploadedParts(
  client: S3Client,
  destination: { bucket: string; key: string },
  uploadId: string,
  firstPart = 1,
  lastPart = Infinity,
  signal?: AbortSignal,
): Promise<Map<number, Part>> {
  const parts = new Map<number, Part>();
  let marker: string | undefined = firstPart > 1 ? String(firstPart - 1) : undefined;
  for (;;) {
    let out;
    try {
      out = await client.send(
        new ListPartsCommand({
          Bucket: destination.bucket,
          Key: destination.key,
          UploadId: uploadId,
          PartNumberMarker: marker,
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      throw toTransferError(error, { side: 'destination', ...destination, operation: 'ListParts' });
    }
    for (const part of out.Parts ?? []) {
      const n = part.PartNumber ?? 0;
      if (n >= firstPart && n <= lastPart) parts.set(n, part);
    }
    const last = out.Parts?.at(-1)?.PartNumber ?? 0;
    if (!out.IsTruncated || last >= lastPart || out.NextPartNumberMarker === undefined) return parts;
    marker = String(out.NextPartNumberMarker);
  }
}

const checksumField = (algorithm: ChecksumAlgorithm): `Checksum${ChecksumAlgorithm}` =>
  `Checksum${algorithm}`;

/** The checksum a part carries (what S3 answered with, else what we sent). */
export function partChecksum(part: Part, algorithm: ChecksumAlgorithm): string | undefined {
  return (part as unknown as Record<string, unknown>)[checksumField(algorithm)] as string | undefined;
}

export async function copyParts(job: PartsJob): Promise<PartsOutcome> {
  const destination = job.destination;
  const present = await listUploadedParts(
    job.destinationClient,
    destination,
    job.uploadId,
    job.firstPart,
    job.lastPart,
    job.signal,
  );
  const missing: number[] = [];
  for (let n = job.firstPart; n <= job.lastPart; n++) {
    const { start, end } = partBounds(n, job.partSize, job.size);
    // A part of another size (a different plan) is uploaded again: the same number replaces it.
    if (present.get(n)?.Size !== end - start) missing.push(n);
  }
  const outcome: PartsOutcome = {
    present: job.lastPart - job.firstPart + 1 - missing.length,
    uploaded: 0,
    bytes: 0,
    missing,
  };
  if (missing.length === 0) return outcome;

  const now = job.now ?? Date.now;
  const reader = new SourceReader(
    job.sourceClient,
    job.sourceCredentials,
    job.source.bucket,
    job.source.key,
    {
      maxResumes: job.maxResumes ?? COPY_DEFAULTS.maxResumes,
      maxRefreshes: job.maxRefreshes ?? COPY_DEFAULTS.maxRefreshes,
      backoffBaseMs: COPY_DEFAULTS.backoffBaseMs,
      backoffMaxMs: COPY_DEFAULTS.backoffMaxMs,
      sleep: defaultSleep,
      now,
      random: Math.random,
      signal: job.signal,
    },
  );
  reader.pin({ size: job.size, eTag: job.eTag });

  const done = new Set<number>();
  let stop = false;
  let failure: unknown;
  const queue = [...missing];
  const uploadOne = async (n: number): Promise<void> => {
    const { start, end } = partBounds(n, job.partSize, job.size);
    const startedAt = now();
    const body = await reader.readRange(start, end);
    const checksum = createChecksum(job.checksumAlgorithm);
    checksum.update(body);
    const value = await checksum.digest();
    const command = new UploadPartCommand({
      Bucket: destination.bucket,
      Key: destination.key,
      UploadId: job.uploadId,
      PartNumber: n,
      Body: body,
      ContentLength: body.length,
      ChecksumAlgorithm: job.checksumAlgorithm as SdkChecksumAlgorithm,
      [checksumField(job.checksumAlgorithm)]: value,
    });
    useUnsignedPayload(command.middlewareStack, job.unsignedPayload ?? COPY_DEFAULTS.unsignedPayload);
    let answer;
    try {
      answer = await job.destinationClient.send(command, { abortSignal: job.signal });
    } catch (error) {
      if (job.signal?.aborted) throw abortError(job.signal);
      throw toTransferError(error, { side: 'destination', ...destination, operation: `UploadPart ${n}` });
    }
    const stored = (answer as unknown as Record<string, unknown>)[checksumField(job.checksumAlgorithm)];
    if (stored !== undefined && stored !== value) {
      throw new TransferError(
        ErrorName.IntegrityError,
        `part ${n} of s3://${destination.bucket}/${destination.key}: the destination stored checksum ${String(stored)}, ` +
          `the bytes read had ${value}`,
      );
    }
    done.add(n);
    outcome.uploaded++;
    outcome.bytes += body.length;
    job.onPart?.(body.length, now() - startedAt);
  };
  const worker = async (): Promise<void> => {
    while (!stop && queue.length > 0) {
      const n = queue[0];
      const { start, end } = partBounds(n, job.partSize, job.size);
      if (job.signal?.aborted || (job.mayStart && !job.mayStart(end - start))) {
        stop = true;
        return;
      }
      queue.shift();
      try {
        await uploadOne(n);
      } catch (error) {
        stop = true;
        failure ??= error;
        return;
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(job.concurrency ?? 4, missing.length)) }, worker),
  );
  outcome.missing = missing.filter((n) => !done.has(n));
  outcome.present += done.size;
  if (failure !== undefined && !job.signal?.aborted && !isAbortError(failure)) {
    outcome.error = isTransferError(failure)
      ? (failure as Error)
      : toTransferError(failure, { side: 'source', ...job.source, operation: 'GetObject' });
  }
  return outcome;
}
