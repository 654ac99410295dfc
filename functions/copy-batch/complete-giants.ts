/**
 * CompleteGiants, after the Map: each giant object's parts checked (all there, their sizes, their combined
 * checksum against the source's), the upload completed or aborted, and the object's result recorded.
 */
import { CompleteMultipartUploadCommand, HeadObjectCommand, type CompletedPart } from '@aws-sdk/client-s3';
import { classifyS3Error, errorCode } from '../../shared/aws/sdk-errors';
import { combineChecksums } from '../../shared/checksums';
import type { BatchInput, GiantObject, ItemResult } from '../../shared/contracts';
import { toTransferError } from '../../shared/copy';
import { headDestination, SOURCE_ETAG_METADATA } from '../../shared/copy/copy-object';
import { listUploadedParts, partChecksum } from '../../shared/copy/copy-parts';
import { stripQuotes } from '../../shared/copy/verify';
import { ErrorName, describeCause } from '../../shared/errors';
import { type StagingStore } from '../../shared/staging';
import { partBounds } from '../../shared/units';
import {
  childEntries,
  findResultManifestKey,
  parseJson,
  readResultManifest,
  RESULT_FILE_STATUSES,
} from '../summarize/result-reader';
import type { CopyBatchInput, CopyBatchOutput, RangeOutcome } from '../../shared/contracts';
import { readGiantResult, readUploadRecord, writeGiantResult, type UploadRecord } from './upload-record';
import {
  abortUpload,
  checkGiantsInput,
  failedResult,
  throughGiants,
  type CompleteGiantsInput,
  type GiantsDeps,
  type GiantsStepOutput,
} from './giants';

/** Why each giant object's ranges failed, from the Map's results (read only when a giant lacks parts). */
async function rangeFailures(
  staging: StagingStore,
  input: CompleteGiantsInput,
): Promise<Map<number, { Error: string; Cause: string }>> {
  const failures = new Map<number, { Error: string; Cause: string }>();
  const map = input.Map;
  const mapError = map && 'Error' in map ? map : undefined;
  const key =
    map && 'ResultWriterDetails' in map
      ? map.ResultWriterDetails.Key
      : await findResultManifestKey(staging, input.Staging.Prefix);
  const manifest = key ? await readResultManifest(staging, key).catch(() => undefined) : undefined;
  for (const status of RESULT_FILE_STATUSES) {
    for (const file of manifest?.ResultFiles[status] ?? []) {
      for await (const entry of childEntries(staging, file.Key)) {
        if (!entry.Input?.includes('"Range"')) continue;
        const unit = parseJson<CopyBatchInput>(entry.Input)?.Unit;
        const giant = unit && 'Range' in unit ? unit.Range.Giant : undefined;
        if (giant === undefined || failures.has(giant)) continue;
        if (status === 'SUCCEEDED') {
          const range: RangeOutcome | undefined = parseJson<CopyBatchOutput>(entry.Output)?.Range;
          if (range?.Error) failures.set(giant, { Error: range.Error, Cause: range.Cause ?? range.Error });
        } else if (status === 'FAILED') {
          failures.set(giant, {
            Error: entry.Error ?? 'BatchFailed',
            Cause:
              describeCause(entry.Cause) ?? `a range's child execution ended ${entry.Status ?? 'FAILED'}`,
          });
        } else {
          failures.set(giant, {
            Error: 'BatchPending',
            Cause: `a range had not run when the map run ended${mapError ? `: ${mapError.Error}` : ''}`,
          });
        }
      }
    }
  }
  if (mapError) {
    // Ranges the results do not mention never ran: the Map's own error is why.
    failures.set(-1, { Error: mapError.Error, Cause: describeCause(mapError.Cause) ?? mapError.Error });
  }
  return failures;
}

/** CompleteGiants: every giant object completed (checked) or aborted, and its result recorded. */
export async function completeGiants(
  input: CompleteGiantsInput,
  deps: GiantsDeps,
): Promise<GiantsStepOutput> {
  checkGiantsInput(input, deps.staging);
  const batch = input.BatchInput;
  const runId = batch.RunId;
  let failures: Promise<Map<number, { Error: string; Cause: string }>> | undefined;
  const failureOf = async (giant: number): Promise<{ Error: string; Cause: string } | undefined> => {
    failures ??= rangeFailures(deps.staging, input);
    const all = await failures;
    return all.get(giant) ?? all.get(-1);
  };
  return throughGiants(deps, input.Giants!.Key, async (giant) => {
    if (await readGiantResult(deps.staging, runId, giant.Giant)) return false;
    const record = await readUploadRecord(deps.staging, runId, giant.Giant);
    const result = withGiantFacts(
      giant,
      record
        ? await completeOne(giant, record, batch, deps, failureOf)
        : failedResult(
            giant,
            ErrorName.CopyFailed,
            'the object was never prepared (PrepareGiants did not reach it)',
          ),
    );
    await writeGiantResult(deps.staging, runId, giant.Giant, result);
    deps.logger?.info('giant done', {
      destKey: giant.DestKey,
      giant: giant.Giant,
      status: result.Status,
      error: result.Error,
    });
    return true;
  });
}

/**
 * A giant object's result carries its GranuleUR, and says plainly when its published checksum was not
 * checked: part ranges stream in different Lambdas, so no one hash pass sees all its bytes in order.
 */
export function withGiantFacts(giant: GiantObject, result: ItemResult): ItemResult {
  const published = giant.Checksum;
  return {
    ...result,
    ...(giant.GranuleUR !== undefined && { GranuleUR: giant.GranuleUR }),
    ...(published &&
      result.Status === 'COPIED' && {
        Note:
          `the published ${published.Algorithm} checksum was not checked: the object was copied as part ` +
          `ranges; its bytes were checked by ${result.Check}`,
      }),
  };
}

const copiedResult = (giant: GiantObject, record: UploadRecord): ItemResult => ({
  Key: giant.Key,
  DestKey: giant.DestKey,
  Status: 'COPIED',
  Bytes: giant.Size,
  Check: checkNameOf(record),
});

const checkNameOf = (record: UploadRecord): string =>
  record.SourceChecksum ? `${record.SourceChecksum.Algorithm.toLowerCase()}-full-object` : 'size-only';

async function completeOne(
  giant: GiantObject,
  record: UploadRecord,
  batch: BatchInput,
  deps: GiantsDeps,
  failureOf: (giant: number) => Promise<{ Error: string; Cause: string } | undefined>,
): Promise<ItemResult> {
  if (record.Error !== undefined) return failedResult(giant, record.Error, record.Cause ?? record.Error);
  if (record.Skipped) {
    return { Key: giant.Key, DestKey: giant.DestKey, Status: 'SKIPPED', Bytes: 0, Check: 'destination-sync' };
  }
  const uploadId = record.UploadId!;
  const destination = { bucket: batch.DestBucket, key: giant.DestKey };
  const fail = async (error: string, cause: string): Promise<ItemResult> => {
    const abortFailure = await abortUpload(deps.destination, batch, giant, uploadId);
    return failedResult(giant, error, abortFailure ? `${cause} (${abortFailure})` : cause);
  };

  let parts;
  try {
    parts = await listUploadedParts(deps.destination, destination, uploadId);
  } catch (error) {
    if (
      errorCode((error as { cause?: unknown }).cause ?? error) === 'NoSuchUpload' ||
      /NoSuchUpload/.test(String((error as Error).message))
    ) {
      return alreadyCompleted(giant, record, batch, deps);
    }
    throw error;
  }
  const missing: number[] = [];
  const completed: CompletedPart[] = [];
  const pieces: { value: string; length: number }[] = [];
  for (let n = 1; n <= giant.Parts; n++) {
    const part = parts.get(n);
    const { start, end } = partBounds(n, giant.PartSize, giant.Size);
    if (!part || part.Size !== end - start || !part.ETag) {
      missing.push(n);
      continue;
    }
    const value = partChecksum(part, record.ChecksumAlgorithm);
    completed.push({
      PartNumber: n,
      ETag: part.ETag,
      ...(value && { [`Checksum${record.ChecksumAlgorithm}`]: value }),
    });
    if (value) pieces.push({ value, length: end - start });
  }
  if (missing.length > 0) {
    const why = await failureOf(giant.Giant);
    const list = missing.length > 5 ? `${missing.slice(0, 5).join(', ')}, ...` : missing.join(', ');
    const detail = `${missing.length} of its ${giant.Parts} parts are missing (${list})`;
    return why
      ? fail(why.Error, `${why.Cause} (${detail}; the upload was aborted)`)
      : fail(ErrorName.MissingParts, `${detail}, and no range reported an error; the upload was aborted`);
  }
  // Checked before the object becomes visible: the parts' checksums combined, against the source's.
  const sourceChecksum = record.SourceChecksum;
  if (sourceChecksum) {
    if (pieces.length !== giant.Parts) {
      return fail(
        ErrorName.IntegrityError,
        `the destination kept no ${sourceChecksum.Algorithm} checksum for some parts; the upload was aborted`,
      );
    }
    const combined = combineChecksums(sourceChecksum.Algorithm, pieces);
    if (combined !== sourceChecksum.Value) {
      return fail(
        ErrorName.IntegrityError,
        `the parts' combined ${sourceChecksum.Algorithm} is ${combined}, the source's is ${sourceChecksum.Value}; the upload was aborted`,
      );
    }
  }
  try {
    await deps.destination.send(
      new CompleteMultipartUploadCommand({
        Bucket: batch.DestBucket,
        Key: giant.DestKey,
        UploadId: uploadId,
        MultipartUpload: { Parts: completed },
        ...(record.FullObject &&
          sourceChecksum && {
            ChecksumType: 'FULL_OBJECT',
            [`Checksum${sourceChecksum.Algorithm}`]: sourceChecksum.Value,
          }),
      }),
    );
  } catch (error) {
    if (errorCode(error) === 'NoSuchUpload') return alreadyCompleted(giant, record, batch, deps);
    const named = toTransferError(error, {
      side: 'destination',
      ...destination,
      operation: 'CompleteMultipartUpload',
    });
    if (errorCode(error) === 'BadDigest' || errorCode(error) === 'InvalidPart') {
      return fail(ErrorName.IntegrityError, named.message);
    }
    throw named;
  }
  const head = await headDestination(deps.destination, batch.DestBucket, giant.DestKey);
  if (head && head.ContentLength !== giant.Size) {
    return failedResult(
      giant,
      ErrorName.IntegrityError,
      `the completed object is ${head.ContentLength} bytes, not ${giant.Size}`,
    );
  }
  return copiedResult(giant, record);
}

/** The upload is gone: completed by an earlier attempt (the object is there, from this source), or aborted. */
async function alreadyCompleted(
  giant: GiantObject,
  record: UploadRecord,
  batch: BatchInput,
  deps: GiantsDeps,
): Promise<ItemResult> {
  let head;
  try {
    head = await deps.destination.send(
      new HeadObjectCommand({ Bucket: batch.DestBucket, Key: giant.DestKey }),
    );
  } catch (error) {
    if (classifyS3Error(error) !== 'not-found') throw error;
  }
  if (
    head &&
    head.ContentLength === giant.Size &&
    stripQuotes(head.Metadata?.[SOURCE_ETAG_METADATA]) === giant.ETag
  ) {
    return copiedResult(giant, record);
  }
  return failedResult(
    giant,
    ErrorName.MissingParts,
    `its multipart upload ${record.UploadId} no longer exists (aborted?)`,
  );
}
