import type { PlanOutput, TransferResult } from '../../shared/contracts';
import { describeCause } from '../../shared/errors';
import type { StagingStore } from '../../shared/staging';
import type { DeleteMirroredOutput } from '../copy-batch/delete-mirrored';
import { PlanEstimator, type EstimateSettings } from './estimate';
import { findResultManifestKey, type MapRunOutput } from './result-reader';
import { NOT_REPORTED } from './tally';
import { RunSummary } from './run-summary';

export type { MapRunOutput } from './result-reader';
export { BATCH_PENDING } from './result-reader';
export { NOT_REPORTED } from './tally';

/** The Map state's error, as its Catch (ResultPath `$.Map`) records it. */
export interface MapRunFailure {
  Error: string;
  Cause?: string;
}

/**
 * Input of Summarize: the whole state. `Map` is absent when the Map state was skipped (nothing to copy,
 * or a dry run); it holds `{ Error, Cause }` when the Map state failed and was caught.
 */
export interface SummarizeInput {
  Plan: PlanOutput;
  Map?: MapRunOutput | MapRunFailure;
  /** CompleteGiants' error, when it failed for good (its undecided giant objects are not reported). */
  Complete?: { Error?: string; Cause?: string; Remaining?: number };
  /** DeleteMirrored's outcome, or its error when it failed for good; absent when it did not run. */
  Delete?: DeleteMirroredOutput | { Error: string; Cause?: string };
}

export interface SummarizeDependencies {
  staging: StagingStore;
  /** @default () => new Date() */
  now?: () => Date;
  /** The deployment a dry run's `Estimate` is for. @default ESTIMATE_DEFAULTS (the deployed defaults) */
  estimate?: EstimateSettings;
}

/**
 * Aggregates a run into the result contract: reads the Distributed Map's ResultWriter output (every
 * child batch's CopyBatch output, or its Error/Cause when the batch failed), reconciles it with the
 * plan's manifest so that the counts always cover every planned item, streams the full report to
 * `<Staging.Prefix>/report.json` and deletes the staged token.
 *
 * Memory: one result entry and one manifest line at a time, plus a 20-byte digest per reported item.
 */
export async function summarize(input: SummarizeInput, deps: SummarizeDependencies): Promise<TransferResult> {
  const { staging } = deps;
  const now = deps.now ?? (() => new Date());
  const plan = input.Plan;
  const run = new RunSummary(plan, staging, plan.DryRun ? new PlanEstimator(plan, deps.estimate) : undefined);
  // The token is not needed once the Map has ended: delete it first, whatever happens next.
  await run.deleteStagedToken();

  const report = run.report;
  try {
    await report.open(planSummary(plan), mapSummary(input.Map));
    // Objects the two listings decided: never in the manifest, reported SKIPPED.
    await run.readSkipped();
    if (plan.DryRun) {
      await run.reconcileWithManifest({ dryRun: true });
      await run.readGiants({ dryRun: true });
    } else {
      const failure = isMapFailure(input.Map) ? input.Map : undefined;
      const manifestKey = await resultManifestKey(input.Map, plan, staging);
      if (manifestKey) await run.readResults(manifestKey, failure);
      else if (input.Map) run.notes.push('No ResultWriter output was found for the map run.');
      await run.reconcileWithManifest({
        dryRun: false,
        error: failure?.Error ?? NOT_REPORTED,
        cause: failure
          ? `The map run failed before this item was reported: ${describeCause(failure.Cause) ?? failure.Error}`
          : 'No copy batch reported this item.',
      });
      const completeFailure = input.Complete?.Error ? input.Complete : undefined;
      await run.readGiants({
        dryRun: false,
        error: completeFailure?.Error ?? NOT_REPORTED,
        cause: completeFailure
          ? `CompleteGiants failed before this object was decided: ${describeCause(completeFailure.Cause) ?? completeFailure.Error}`
          : 'CompleteGiants recorded no result for this giant object.',
      });
    }
    await run.readDeletes(input.Delete);
    await report.close(run.summary(now()));
  } catch (error) {
    await report.abort(error as Error);
    throw error;
  }

  const { tally } = run;
  const result: TransferResult = {
    Copied: tally.copied,
    Skipped: tally.skipped,
    Failed: tally.failed,
    Bytes: tally.bytes,
    Failures: tally.failures,
    Report: { Bucket: staging.bucket, Key: report.key },
  };
  if (plan.DryRun) {
    result.DryRun = true;
    result.Planned = plan.Count;
    if (run.estimate) result.Estimate = run.estimate;
  }
  if (plan.Cmr) result.Cmr = plan.Cmr;
  if (plan.Deletes) {
    result.Deleted = run.deletions.deleted;
    if (plan.DryRun) result.PlannedDeletes = plan.Deletes.Count;
    else if (run.deletions.notDeleted > 0) result.NotDeleted = run.deletions.notDeleted;
  }
  return result;
}

function isMapFailure(map: SummarizeInput['Map']): map is MapRunFailure {
  return !!map && 'Error' in map && !('ResultWriterDetails' in map);
}

async function resultManifestKey(
  map: SummarizeInput['Map'],
  plan: PlanOutput,
  staging: StagingStore,
): Promise<string | undefined> {
  if (!map) return undefined;
  if (!isMapFailure(map)) return map.ResultWriterDetails.Key;
  // A failed Map state outputs only its error; the results it did write sit under the run's prefix.
  return findResultManifestKey(staging, plan.Staging.Prefix);
}

function planSummary(plan: PlanOutput): object {
  const b = plan.BatchInput;
  // Only the kind of token reference: the report names no parameter or staged object.
  return {
    RunId: b?.RunId,
    SourceBucket: b?.SourceBucket,
    DestBucket: b?.DestBucket,
    Sync: b?.Sync,
    CredentialsEndpoint: b?.CredentialsEndpoint,
    ...(b?.AppName !== undefined && { AppName: b.AppName }),
    TokenKind: b?.Token?.Kind,
    DryRun: plan.DryRun,
    Count: plan.Count,
    Bytes: plan.Bytes,
    Manifest: plan.Manifest,
    Staging: plan.Staging,
    ...(plan.Cmr && { Cmr: plan.Cmr }),
    ...(plan.Skipped && { Skipped: { Count: plan.Skipped.Count, Bytes: plan.Skipped.Bytes } }),
    ...(plan.Deletes && {
      Deletes: {
        Count: plan.Deletes.Count,
        Within: plan.Deletes.Within,
        MaxDeletes: plan.Deletes.MaxDeletes,
      },
    }),
  };
}

function mapSummary(map: SummarizeInput['Map']): object | null {
  if (!map) return null;
  if (isMapFailure(map)) return { Error: map.Error, Cause: describeCause(map.Cause) };
  return { MapRunArn: map.MapRunArn, ResultWriterDetails: map.ResultWriterDetails };
}
