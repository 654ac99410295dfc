/**
 * The two steps around the Map for giant objects (copied as part ranges), run by the copy function with
 * its own role:
 * - **PrepareGiants**, before the Map: for each giant object, one multipart upload, created with the
 *   object's content headers, metadata and checksum algorithm, and recorded (exclusively) in
 *   `runs/<run id>/uploads/<giant>.json` for its range units.
 * - **CompleteGiants**, after the Map: for each giant object, checks that every part is in the upload
 *   with its expected size, checks the parts' combined checksum against the source's full-object
 *   checksum when it has one, completes the upload (S3 checks that checksum too), verifies the size, and
 *   records the object's result for Summarize. An object with missing parts is aborted and reported with
 *   the error of the range that failed.
 *
 * Both work through `giants.jsonl` until their deadline and answer what remains (the state machine loops
 * them); both are idempotent, so that a retry or a redrive repeats nothing that was done.
 */
import { createInterface } from 'node:readline';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type ChecksumAlgorithm as SdkChecksumAlgorithm,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { classifyS3Error, describeSdkError, errorCode } from '../../shared/aws/sdk-errors';
import { isWithin, type BucketAndPrefix } from '../../shared/aws/s3-names';
import { combineChecksums, isCombinable, type ChecksumAlgorithm } from '../../shared/checksums';
import type { BatchInput, GiantObject, ItemResult, PlanOutput } from '../../shared/contracts';
import { SourceReader, toTransferError } from '../../shared/copy';
import {
  COPY_DEFAULTS,
  headDestination,
  SOURCE_ETAG_METADATA,
  SOURCE_LAST_MODIFIED_METADATA,
} from '../../shared/copy/copy-object';
import { listUploadedParts, partChecksum } from '../../shared/copy/copy-parts';
import { defaultSleep } from '../../shared/copy/source-reader';
import { stripQuotes } from '../../shared/copy/verify';
import { ErrorName, TransferError, describeCause, invalidInput, isTransferError } from '../../shared/errors';
import { redactText } from '../../shared/log';
import { giantsKey } from '../../shared/run-files';
import { AlreadyExistsError, type StagingStore } from '../../shared/staging';
import { partBounds } from '../../shared/units';
import {
  childEntries,
  findResultManifestKey,
  parseJson,
  readResultManifest,
  RESULT_FILE_STATUSES,
  type MapRunOutput,
} from '../summarize/result-reader';
import type { CopyBatchInput, CopyBatchOutput, RangeOutcome } from '../../shared/contracts';
import type { CopyLogger, SourceSide } from './copy-batch';
import { SYSTEMIC_ERRORS } from './unit-rules';
import {
  readGiantResult,
  readUploadRecord,
  writeGiantResult,
  writeUploadRecord,
  type UploadRecord,
} from './upload-record';

export interface PrepareGiantsInput {
  Action: 'PrepareGiants';
  Giants: PlanOutput['Giants'];
  BatchInput: BatchInput;
}

export interface CompleteGiantsInput {
  Action: 'CompleteGiants';
  Giants: PlanOutput['Giants'];
  BatchInput: BatchInput;
  /** Where the Map wrote its results (range errors are looked up there). */
  Staging: PlanOutput['Staging'];
  /** The Map state's output, or its error when it failed (or when PrepareGiants failed). */
  Map?: MapRunOutput | { Error: string; Cause?: string };
}

export interface GiantsStepOutput {
  /** Objects handled by this invocation. */
  Done: number;
  /** Objects left for the next invocation (the state machine loops while this is not 0). */
  Remaining: number;
}

export interface GiantsDeps {
  /** The run's staging store (the staging bucket). */
  staging: StagingStore;
  /** The source side (token, TEA credentials): PrepareGiants reads each object's headers. */
  source: (batch: BatchInput) => Promise<SourceSide>;
  destination: S3Client;
  remainingTimeMs: () => number;
  allowedDestinations?: readonly BucketAndPrefix[];
  logger?: CopyLogger;
  /** Objects handled at once. @default 8 */
  concurrency?: number;
  /** No object starts with less time left than this (scaled down for short timeouts). @default 30000 */
  safetyMarginMs?: number;
}

const DEFAULT_CONCURRENCY = 8;

/** A giants step's input names the run's own giants list, in the staging bucket. */
function checkGiantsInput(input: PrepareGiantsInput | CompleteGiantsInput, staging: StagingStore): void {
  const giants = input.Giants;
  const runId = input.BatchInput?.RunId;
  if (typeof runId !== 'string' || !giants || typeof giants !== 'object') {
    throw invalidInput(`${input.Action} input: Giants and BatchInput.RunId are required`);
  }
  if (giants.Bucket !== staging.bucket || giants.Key !== giantsKey(runId)) {
    throw invalidInput(`${input.Action} input: Giants must be the run's own list in the staging bucket`);
  }
}

async function* giantsOf(staging: StagingStore, key: string): AsyncGenerator<GiantObject> {
  const stream = await staging.getStream(key);
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    if (line.trim() !== '') yield JSON.parse(line) as GiantObject;
  }
}

/**
 * Runs `work` over the run's giant objects, `concurrency` at once, until the deadline: objects not
 * started are counted in `Remaining`.
 */
async function throughGiants(
  deps: GiantsDeps,
  key: string,
  work: (giant: GiantObject) => Promise<boolean>,
): Promise<GiantsStepOutput> {
  const initial = deps.remainingTimeMs();
  const margin = Math.min(deps.safetyMarginMs ?? 30_000, initial / 4);
  const out: GiantsStepOutput = { Done: 0, Remaining: 0 };
  const iterator = giantsOf(deps.staging, key);
  let stopped = false;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      if (stopped || failure !== undefined || deps.remainingTimeMs() < margin) {
        stopped = true;
        out.Remaining++;
        continue;
      }
      try {
        if (await work(next.value)) out.Done++;
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: deps.concurrency ?? DEFAULT_CONCURRENCY }, worker));
  if (failure !== undefined) throw failure;
  return out;
}

const failedResult = (giant: GiantObject, error: string, cause: string): ItemResult => ({
  Key: giant.Key,
  DestKey: giant.DestKey,
  Status: 'FAILED',
  Bytes: 0,
  Error: error,
  Cause: redactText(cause),
});

/** The checksum the upload's parts carry: the source's full-object CRC's algorithm when it has one. */
function uploadChecksum(
  checksum: { algorithm: ChecksumAlgorithm; value: string; type?: string } | undefined,
): {
  algorithm: ChecksumAlgorithm;
  source?: { Algorithm: ChecksumAlgorithm; Value: string };
} {
  if (
    checksum &&
    checksum.type !== 'COMPOSITE' &&
    !checksum.value.includes('-') &&
    isCombinable(checksum.algorithm)
  ) {
    return {
      algorithm: checksum.algorithm,
      source: { Algorithm: checksum.algorithm, Value: checksum.value },
    };
  }
  return { algorithm: COPY_DEFAULTS.checksumAlgorithm as ChecksumAlgorithm };
}

/** PrepareGiants: one multipart upload per giant object, recorded for its ranges. */
export async function prepareGiants(input: PrepareGiantsInput, deps: GiantsDeps): Promise<GiantsStepOutput> {
  checkGiantsInput(input, deps.staging);
  const batch = input.BatchInput;
  const runId = batch.RunId;
  let source: SourceSide | undefined;
  const log = deps.logger;

  return throughGiants(deps, input.Giants!.Key, async (giant) => {
    if (await readUploadRecord(deps.staging, runId, giant.Giant)) return false;
    const base = {
      ...giant,
      ChecksumAlgorithm: COPY_DEFAULTS.checksumAlgorithm as ChecksumAlgorithm,
      FullObject: false,
    };
    const record = async (fields: Partial<UploadRecord>): Promise<void> => {
      try {
        await writeUploadRecord(deps.staging, runId, { ...base, ...fields });
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
        // Another attempt recorded it first: its upload is the one; ours must not linger.
        if (fields.UploadId) await abortUpload(deps.destination, batch, giant, fields.UploadId);
      }
    };
    if (!isWithin(batch.DestBucket, giant.DestKey, deps.allowedDestinations)) {
      await record({
        Error: ErrorName.DestinationAccessDenied,
        Cause: `this deployment may not write s3://${batch.DestBucket}/${giant.DestKey}`,
      });
      return true;
    }
    source ??= await deps.source(batch);
    const sourceBucket = giant.Bucket ?? batch.SourceBucket;
    const reader = new SourceReader(source.client, source.credentials, sourceBucket, giant.Key, {
      maxResumes: COPY_DEFAULTS.maxResumes,
      maxRefreshes: COPY_DEFAULTS.maxRefreshes,
      backoffBaseMs: COPY_DEFAULTS.backoffBaseMs,
      backoffMaxMs: COPY_DEFAULTS.backoffMaxMs,
      sleep: defaultSleep,
      now: Date.now,
      random: Math.random,
    });
    try {
      const object = await reader.describe(giant.ETag);
      if (object.size !== giant.Size) {
        throw new TransferError(
          ErrorName.SourceChanged,
          `s3://${sourceBucket}/${giant.Key} is ${object.size} bytes, not the ${giant.Size} listed`,
        );
      }
      if (batch.Sync) {
        const existing = await headDestination(deps.destination, batch.DestBucket, giant.DestKey);
        const recorded = stripQuotes(existing?.Metadata?.[SOURCE_ETAG_METADATA]);
        if (existing && existing.ContentLength === giant.Size && recorded === giant.ETag) {
          await record({ Skipped: true });
          return true;
        }
      }
      const checksum = uploadChecksum(object.checksum);
      const metadata: Record<string, string> = { ...object.metadata, [SOURCE_ETAG_METADATA]: object.eTag };
      if (object.lastModified) metadata[SOURCE_LAST_MODIFIED_METADATA] = object.lastModified.toISOString();
      let uploadId: string | undefined;
      try {
        const created = await deps.destination.send(
          new CreateMultipartUploadCommand({
            Bucket: batch.DestBucket,
            Key: giant.DestKey,
            ContentType: object.contentType,
            ContentEncoding: object.contentEncoding,
            ContentDisposition: object.contentDisposition,
            ContentLanguage: object.contentLanguage,
            CacheControl: object.cacheControl,
            Expires: object.expires,
            Metadata: metadata,
            ChecksumAlgorithm: checksum.algorithm as SdkChecksumAlgorithm,
            ...(checksum.source && { ChecksumType: 'FULL_OBJECT' }),
          }),
        );
        uploadId = created.UploadId;
      } catch (error) {
        throw toTransferError(error, {
          side: 'destination',
          bucket: batch.DestBucket,
          key: giant.DestKey,
          operation: 'CreateMultipartUpload',
        });
      }
      if (!uploadId)
        throw new TransferError(ErrorName.CopyFailed, 'CreateMultipartUpload answered no UploadId');
      try {
        await record({
          UploadId: uploadId,
          ChecksumAlgorithm: checksum.algorithm,
          FullObject: checksum.source !== undefined,
          ...(checksum.source && { SourceChecksum: checksum.source }),
        });
      } catch (error) {
        await abortUpload(deps.destination, batch, giant, uploadId);
        throw error;
      }
      log?.info('giant prepared', {
        destKey: giant.DestKey,
        giant: giant.Giant,
        parts: giant.Parts,
        ranges: giant.Ranges,
      });
      return true;
    } catch (error) {
      if (isTransferError(error) && !SYSTEMIC_ERRORS.has((error as Error).name)) {
        await record({ Error: (error as Error).name, Cause: (error as Error).message });
        log?.warn('giant not prepared', { destKey: giant.DestKey, error: (error as Error).name });
        return true;
      }
      throw error;
    }
  });
}

async function abortUpload(
  client: S3Client,
  batch: BatchInput,
  giant: GiantObject,
  uploadId: string,
): Promise<string | undefined> {
  try {
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: batch.DestBucket, Key: giant.DestKey, UploadId: uploadId }),
    );
    return undefined;
  } catch (error) {
    if (errorCode(error) === 'NoSuchUpload') return undefined;
    return `aborting multipart upload ${uploadId} failed: ${describeSdkError(error)}`;
  }
}

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
  return {
    Key: giant.Key,
    DestKey: giant.DestKey,
    Status: 'COPIED',
    Bytes: giant.Size,
    Check: checkNameOf(record),
  };
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
    return {
      Key: giant.Key,
      DestKey: giant.DestKey,
      Status: 'COPIED',
      Bytes: giant.Size,
      Check: checkNameOf(record),
    };
  }
  return failedResult(
    giant,
    ErrorName.MissingParts,
    `its multipart upload ${record.UploadId} no longer exists (aborted?)`,
  );
}

/**
 * Aborts the uploads of the run's giant objects that no result records yet: what an interrupted run
 * (Ctrl-C on one machine) does so that no upload is left open.
 */
export async function abortGiants(
  plan: PlanOutput,
  deps: Pick<GiantsDeps, 'staging' | 'destination'>,
): Promise<number> {
  if (!plan.Giants) return 0;
  const batch = plan.BatchInput;
  let aborted = 0;
  for await (const giant of giantsOf(deps.staging, plan.Giants.Key)) {
    if (await readGiantResult(deps.staging, batch.RunId, giant.Giant)) continue;
    const record = await readUploadRecord(deps.staging, batch.RunId, giant.Giant);
    if (!record?.UploadId) continue;
    const failure = await abortUpload(deps.destination, batch, giant, record.UploadId);
    if (!failure) aborted++;
    await writeGiantResult(
      deps.staging,
      batch.RunId,
      giant.Giant,
      failedResult(giant, 'AbortError', failure ?? 'the run was interrupted; the upload was aborted'),
    );
  }
  return aborted;
}
