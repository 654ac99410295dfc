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
 *
 * This file holds what both steps share (their inputs, the walk through the list, aborting an upload)
 * and the Ctrl-C clean-up; the steps are `prepare-giants.ts` and `complete-giants.ts`.
 */
import { createInterface } from 'node:readline';
import { AbortMultipartUploadCommand, type S3Client } from '@aws-sdk/client-s3';
import { describeSdkError, errorCode } from '../../shared/aws/sdk-errors';
import { type BucketAndPrefix } from '../../shared/aws/s3-names';
import type { BatchInput, GiantObject, ItemResult, PlanOutput } from '../../shared/contracts';
import { invalidInput } from '../../shared/errors';
import { redactText } from '../../shared/log';
import { giantsKey } from '../../shared/run-files';
import { type StagingStore } from '../../shared/staging';
import { type MapRunOutput } from '../summarize/result-reader';
import type { CopyLogger, SourceSide } from './copy-batch';
import { readGiantResult, readUploadRecord, writeGiantResult } from './upload-record';

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
export function checkGiantsInput(
  input: PrepareGiantsInput | CompleteGiantsInput,
  staging: StagingStore,
): void {
  const giants = input.Giants;
  const runId = input.BatchInput?.RunId;
  if (typeof runId !== 'string' || !giants || typeof giants !== 'object') {
    throw invalidInput(`${input.Action} input: Giants and BatchInput.RunId are required`);
  }
  if (giants.Bucket !== staging.bucket || giants.Key !== giantsKey(runId)) {
    throw invalidInput(`${input.Action} input: Giants must be the run's own list in the staging bucket`);
  }
}

export async function* giantsOf(staging: StagingStore, key: string): AsyncGenerator<GiantObject> {
  const stream = await staging.getStream(key);
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    if (line.trim() !== '') yield JSON.parse(line) as GiantObject;
  }
}

/**
 * Runs `work` over the run's giant objects, `concurrency` at once, until the deadline: objects not
 * started are counted in `Remaining`.
 */
export async function throughGiants(
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

export const failedResult = (giant: GiantObject, error: string, cause: string): ItemResult => ({
  Key: giant.Key,
  DestKey: giant.DestKey,
  Status: 'FAILED',
  Bytes: 0,
  Error: error,
  Cause: redactText(cause),
});

export async function abortUpload(
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
