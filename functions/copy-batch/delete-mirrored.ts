/**
 * DeleteMirrored, after the Map, run by the copy function with its own role (`s3:DeleteObject` only
 * when the stack allows mirror deletes): deletes the destination objects Plan listed in the run's
 * deletions file (`Plan.Deletes`, already checked against `Options.MaxDeletes`), with DeleteObjects,
 * 1,000 keys per request, never outside the mapped prefix.
 *
 * Only when every planned object was copied or skipped: a run in which an object failed, or whose Map
 * (or CompleteGiants) failed, deletes nothing and says why (`Withheld`). Idempotent: a key already gone
 * counts as deleted, and the outcome is recorded in `runs/<id>/deleted.json`, which a retry or a redrive
 * returns instead of deleting again.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { isWithin, type BucketAndPrefix } from '../../shared/aws/s3-names';
import type { ItemResult, PlanOutput } from '../../shared/contracts';
import { invalidInput } from '../../shared/errors';
import { deleteObjects, type DeleteError } from '../../shared/mirror/delete-objects';
import { readDeletes } from '../../shared/mirror/deletes-file';
import { deletedKey, deletesKey, giantResultKey } from '../../shared/run-files';
import type { StagingStore } from '../../shared/staging';
import { createInterface } from 'node:readline';
import {
  childEntries,
  itemsOfEntry,
  readResultManifest,
  RESULT_FILE_STATUSES,
  type MapRunOutput,
} from '../summarize/result-reader';

/** Per-key errors carried in the step's output (a state output stays under 256 KiB). */
export const MAX_DELETE_ERRORS = 100;

/** The run's state after the Map (the whole state: `Plan`, `Map`, `Complete`). */
export interface DeleteMirroredInput {
  Action: 'DeleteMirrored';
  Run: {
    Plan: PlanOutput;
    Map?: MapRunOutput | { Error: string; Cause?: string };
    Complete?: { Error?: string; Cause?: string };
  };
}

export interface DeleteMirroredOutput {
  /** Keys gone now (deleted here, or gone already). */
  Deleted: number;
  /** Keys still there (per-key errors, or every planned key when the deletions were withheld). */
  NotDeleted: number;
  /** The first {@link MAX_DELETE_ERRORS} per-key errors. */
  Errors: DeleteError[];
  /** Why nothing was deleted. */
  Withheld?: string;
}

export interface DeleteMirroredDeps {
  /** The staging store (the staging bucket). */
  staging: StagingStore;
  /** Writes the destination (the copy role). */
  destination: S3Client;
  allowedDestinations?: readonly BucketAndPrefix[];
  signal?: AbortSignal;
}

/** Why deletions must not be made in this run, or undefined when every planned object is accounted for. */
async function whyWithheld(
  run: DeleteMirroredInput['Run'],
  staging: StagingStore,
): Promise<string | undefined> {
  const { Plan: plan, Map: map, Complete: complete } = run;
  if (map && 'Error' in map && !('ResultWriterDetails' in map)) {
    return `the map run failed (${map.Error}): objects may not all be copied`;
  }
  if (complete?.Error) return `completing the giant objects failed (${complete.Error})`;
  let done = 0;
  let failed = 0;
  const count = (item: Pick<ItemResult, 'Status'>): void => {
    if (item.Status === 'FAILED') failed++;
    else done++;
  };
  if (map && 'ResultWriterDetails' in map) {
    const manifest = await readResultManifest(staging, (map as MapRunOutput).ResultWriterDetails.Key);
    for (const status of RESULT_FILE_STATUSES) {
      for (const file of manifest?.ResultFiles[status] ?? []) {
        for await (const entry of childEntries(staging, file.Key)) {
          itemsOfEntry(status, entry, undefined).forEach(count);
        }
      }
    }
  }
  if (plan.Giants) {
    const giants = await staging.getStream(plan.Giants.Key);
    for await (const line of createInterface({ input: giants, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      const { Giant: giant } = JSON.parse(line) as { Giant: number };
      const text = await staging.getText(giantResultKey(plan.BatchInput.RunId, giant));
      count(text === undefined ? { Status: 'FAILED' } : (JSON.parse(text) as ItemResult));
    }
  }
  if (failed > 0) return `${failed} objects failed to copy: a mirror deletes only after a complete copy`;
  if (done < plan.Count) return `${plan.Count - done} planned objects were not reported`;
  return undefined;
}

export async function deleteMirrored(
  input: DeleteMirroredInput,
  deps: DeleteMirroredDeps,
): Promise<DeleteMirroredOutput> {
  const plan = input.Run?.Plan;
  const deletes = plan?.Deletes;
  const runId = plan?.BatchInput?.RunId;
  if (!deletes || typeof runId !== 'string') {
    throw invalidInput('DeleteMirrored input: Run.Plan.Deletes and Run.Plan.BatchInput.RunId are required');
  }
  if (deletes.Bucket !== deps.staging.bucket || deletes.Key !== deletesKey(runId)) {
    throw invalidInput(
      `DeleteMirrored input: Deletes must name this run's ${deletesKey(runId)} in the staging bucket`,
    );
  }
  const bucket = plan.BatchInput.DestBucket;
  if (!isWithin(bucket, deletes.Within, deps.allowedDestinations)) {
    throw invalidInput(
      `DeleteMirrored: s3://${bucket}/${deletes.Within} is not within this deployment's destination buckets`,
    );
  }
  if (plan.DryRun) throw invalidInput('DeleteMirrored: a dry run deletes nothing');

  const recorded = await deps.staging.getText(deletedKey(runId));
  if (recorded !== undefined) return JSON.parse(recorded) as DeleteMirroredOutput;

  const withheld = await whyWithheld(input.Run, deps.staging);
  let output: DeleteMirroredOutput;
  if (withheld !== undefined) {
    output = { Deleted: 0, NotDeleted: deletes.Count, Errors: [], Withheld: withheld };
  } else {
    const outcome = await deleteObjects({
      client: deps.destination,
      bucket,
      keys: (async function* () {
        for await (const planned of readDeletes(deps.staging, deletes.Key)) yield planned.DestKey;
      })(),
      within: deletes.Within,
      maxErrors: MAX_DELETE_ERRORS,
      signal: deps.signal,
    });
    output = { Deleted: outcome.deleted, NotDeleted: outcome.failed, Errors: outcome.errors };
  }
  // A withheld run is not recorded: a redrive after the failed objects are copied may delete then.
  if (withheld === undefined) await deps.staging.put(deletedKey(runId), JSON.stringify(output));
  return output;
}
