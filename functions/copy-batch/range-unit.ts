/**
 * A range unit: some of a giant object's parts, copied into the multipart upload PrepareGiants created
 * (its record says which). The unit counts no object: CompleteGiants completes the upload after the Map
 * and counts the object once. What the unit reports is its `Range` outcome: every part present, or the
 * named error that stopped it for good. Near the deadline it stops starting parts, and the next round
 * (the child workflow's loop) starts from the parts still missing.
 */
import type { CopyBatchInput, CopyBatchOutput, PartRange, RangeOutcome } from '../../shared/contracts';
import { isWithin } from '../../shared/aws/s3-names';
import { copyParts } from '../../shared/copy/copy-parts';
import { ErrorName, TransferError, invalidInput } from '../../shared/errors';
import { redactText } from '../../shared/log';
import { S3_MAX_PARTS } from '../../shared/units';
import type { CopyBatchDeps } from './copy-batch';
import { deadlineMargins, NO_PROGRESS_ROUNDS, SYSTEMIC_ERRORS } from './unit-rules';
import { ThroughputEstimator } from './throughput';
import type { UploadRecord } from './upload-record';

const MiB = 1024 * 1024;

/** What range units need besides CopyBatch's own dependencies. */
export interface RangeDeps {
  /** The upload record of a run's giant object (`runs/<run id>/uploads/<giant>.json`). */
  uploadRecord(runId: string, giant: number): Promise<UploadRecord | undefined>;
}

/** Part buffers of one range unit in memory at most (parts in flight x part size). */
export const RANGE_BUFFER_BYTES = 512 * MiB;

/** Per part stream: learned across the ranges a warm container runs. */
const partThroughput = new ThroughputEstimator(20 * MiB, 1.5, 200);

const isWholeNumber = (value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): value is number =>
  Number.isInteger(value) && (value as number) >= min && (value as number) <= max;

function checkRange(range: PartRange): void {
  const ok =
    typeof range === 'object' &&
    range !== null &&
    typeof range.Key === 'string' &&
    typeof range.DestKey === 'string' &&
    typeof range.ETag === 'string' &&
    isWholeNumber(range.Size, 1) &&
    isWholeNumber(range.Giant, 0) &&
    isWholeNumber(range.PartSize, 1) &&
    isWholeNumber(range.FirstPart, 1, S3_MAX_PARTS) &&
    isWholeNumber(
      range.LastPart,
      range.FirstPart,
      Math.min(S3_MAX_PARTS, Math.ceil(range.Size / range.PartSize)),
    );
  if (!ok) throw invalidInput('CopyBatch input: Unit.Range is not a valid part range');
}

/** The record must describe the very object the range names: an input cannot redirect an upload. */
function matchesRecord(range: PartRange, record: UploadRecord): boolean {
  return (
    record.Giant === range.Giant &&
    record.Key === range.Key &&
    record.Bucket === range.Bucket &&
    record.DestKey === range.DestKey &&
    record.ETag === range.ETag &&
    record.Size === range.Size &&
    record.PartSize === range.PartSize &&
    range.LastPart <= record.Parts
  );
}

export async function copyRangeUnit(
  range: PartRange,
  input: CopyBatchInput,
  deps: CopyBatchDeps,
): Promise<CopyBatchOutput> {
  checkRange(range);
  const batch = input.BatchInput;
  const log = deps.logger;
  const parts = range.LastPart - range.FirstPart + 1;
  const where = `s3://${batch.DestBucket}/${range.DestKey} parts ${range.FirstPart}-${range.LastPart}`;
  const outcome = (fields: Partial<RangeOutcome> & { PartsDone: number }): RangeOutcome => ({
    Giant: range.Giant,
    FirstPart: range.FirstPart,
    LastPart: range.LastPart,
    ...fields,
  });
  const ended = (result: RangeOutcome): CopyBatchOutput => ({
    Results: input.Results ?? [],
    Stalled: 0,
    Range: result,
    BatchInput: batch,
  });

  if (!isWithin(batch.DestBucket, range.DestKey, deps.allowedDestinations)) {
    return ended(
      outcome({
        PartsDone: 0,
        Error: ErrorName.DestinationAccessDenied,
        Cause: `this deployment may not write s3://${batch.DestBucket}/${range.DestKey}`,
      }),
    );
  }
  if (!deps.ranges) throw new Error('CopyBatch was built without the range dependencies');
  const record = await deps.ranges.uploadRecord(batch.RunId, range.Giant);
  if (!record) {
    return ended(
      outcome({
        PartsDone: 0,
        Error: ErrorName.CopyFailed,
        Cause: `${where}: the object's multipart upload was never prepared (no upload record for it)`,
      }),
    );
  }
  if (!matchesRecord(range, record)) {
    throw invalidInput(`CopyBatch input: Unit.Range does not match the run's giant object ${range.Giant}`);
  }
  // Up to date already (Sync), or not preparable: CompleteGiants reports the object.
  if (record.Skipped || record.Error !== undefined || !record.UploadId)
    return ended(outcome({ PartsDone: 0 }));

  const initialRemaining = deps.remainingTimeMs();
  const { start: margin, abort: abortMargin, checkEveryMs } = deadlineMargins(initialRemaining, deps, 60_000);
  const controller = new AbortController();
  const watchdog = setInterval(() => {
    if (deps.remainingTimeMs() <= abortMargin && !controller.signal.aborted)
      controller.abort(new Error('deadline'));
  }, checkEveryMs);
  watchdog.unref?.();
  const interrupt = (): void => controller.abort(new Error('interrupted'));
  if (deps.signal?.aborted) interrupt();
  deps.signal?.addEventListener('abort', interrupt, { once: true });

  const source = await deps.source(batch).catch((error: unknown) => {
    clearInterval(watchdog);
    deps.signal?.removeEventListener('abort', interrupt);
    throw error;
  });
  let uploadedThisRound = 0;
  const now = deps.now ?? Date.now;
  const startedAt = now();
  let result;
  try {
    const queueSize = deps.copyOptions?.queueSize ?? 4;
    result = await copyParts({
      sourceClient: source.client,
      sourceCredentials: source.credentials,
      destinationClient: deps.destination,
      source: { bucket: range.Bucket ?? batch.SourceBucket, key: range.Key },
      destination: { bucket: batch.DestBucket, key: range.DestKey },
      uploadId: record.UploadId,
      size: range.Size,
      eTag: range.ETag,
      partSize: range.PartSize,
      firstPart: range.FirstPart,
      lastPart: range.LastPart,
      checksumAlgorithm: record.ChecksumAlgorithm,
      concurrency: Math.max(1, Math.min(queueSize, Math.floor(RANGE_BUFFER_BYTES / range.PartSize))),
      unsignedPayload: deps.copyOptions?.unsignedPayload,
      maxResumes: deps.copyOptions?.maxResumes,
      maxRefreshes: deps.copyOptions?.maxRefreshes,
      now,
      signal: controller.signal,
      // The first part of a round always starts: a fresh invocation is the most time it will get.
      mayStart: (bytes) => {
        const remaining = deps.remainingTimeMs();
        return uploadedThisRound === 0 && remaining >= 0.9 * initialRemaining
          ? true
          : remaining >= margin + partThroughput.estimateMs(bytes);
      },
      onPart: (bytes, ms) => {
        uploadedThisRound++;
        partThroughput.record(bytes, ms);
      },
    });
  } finally {
    clearInterval(watchdog);
    deps.signal?.removeEventListener('abort', interrupt);
  }
  const done = parts - result.missing.length;
  const bytes = result.bytes;
  log?.info('range round done', {
    destKey: range.DestKey,
    giant: range.Giant,
    firstPart: range.FirstPart,
    lastPart: range.LastPart,
    uploaded: result.uploaded,
    bytes: result.bytes,
    missing: result.missing.length,
    durationMs: now() - startedAt,
    error: result.error?.name,
  });

  if (result.error) {
    // A token or endpoint failure is the run's: thrown for Retry/Catch unless this round did something.
    if (SYSTEMIC_ERRORS.has(result.error.name) && result.uploaded === 0) throw result.error;
    if (!SYSTEMIC_ERRORS.has(result.error.name)) {
      return ended(
        outcome({
          PartsDone: done,
          Bytes: bytes,
          Error: result.error.name,
          Cause: redactText(result.error.message),
        }),
      );
    }
  }
  if (result.missing.length === 0) return ended(outcome({ PartsDone: done, Bytes: bytes }));
  const stalled = result.uploaded > 0 ? 0 : (input.Stalled ?? 0) + 1;
  if (stalled >= NO_PROGRESS_ROUNDS) {
    const error = new TransferError(
      ErrorName.NoProgress,
      `${where}: no part was uploaded in ${stalled} invocations in a row of the copy function ` +
        `(${Math.round(initialRemaining / 1000)} s each); raise its timeout or memory`,
    );
    return {
      ...ended(outcome({ PartsDone: done, Bytes: bytes, Error: error.name, Cause: error.message })),
      Stalled: stalled,
    };
  }
  return {
    Results: input.Results ?? [],
    Next: { Range: range },
    Stalled: stalled,
    Range: outcome({ PartsDone: done, Bytes: bytes }),
    BatchInput: batch,
  };
}
