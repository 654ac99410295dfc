import { createInterface } from 'node:readline';
import { isNotFound } from '../../shared/aws/sdk-errors';
import {
  MAX_FAILURES_IN_RESULT,
  type GiantObject,
  type ItemResult,
  type ManifestItem,
  type PlanOutput,
  type TransferResult,
  type WorkUnit,
} from '../../shared/contracts';
import type { Estimate } from '../../shared/cost';
import { describeCause } from '../../shared/errors';
import { giantResultKey, REPORT_NAME } from '../../shared/run-files';
import { unitObjects } from '../../shared/units';
import type { StagingStore } from '../../shared/staging';
import { MAX_DELETE_ERRORS, type DeleteMirroredOutput } from '../copy-batch/delete-mirrored';
import { readDeletes } from '../../shared/mirror/deletes-file';
import { PlanEstimator, type EstimateSettings } from './estimate';
import { ReportWriter, type ReportSummary } from './report-writer';
import {
  childEntries,
  findResultManifestKey,
  itemsOfEntry,
  readResultManifest,
  RESULT_FILE_STATUSES,
  type MapRunOutput,
} from './result-reader';
import {
  NOT_REPORTED,
  REPORT_CAUSE_MAX,
  RESULT_CAUSE_MAX,
  Tally,
  Timings,
  truncate,
  type DeleteReportItem,
  type ReportItem,
} from './tally';

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

interface ReconcileOptions {
  dryRun: boolean;
  /** Error and Cause of the items no batch reported. */
  error?: string;
  cause?: string;
}

/** One run being summarized: its report, its tally and the notes for the report. */
class RunSummary {
  readonly report: ReportWriter;
  readonly tally = new Tally();
  readonly notes: string[] = [];
  readonly deletions = { deleted: 0, notDeleted: 0 };
  private readonly timings = new Timings();
  /** A dry run's estimate, once the manifest and the giant objects were read. */
  estimate?: Estimate;

  constructor(
    private readonly plan: PlanOutput,
    private readonly staging: StagingStore,
    private readonly estimator?: PlanEstimator,
  ) {
    this.report = new ReportWriter(staging, joinKey(plan.Staging.Prefix, REPORT_NAME));
  }

  /** Deletes the staged token object; notes it in the report when it cannot. */
  async deleteStagedToken(): Promise<void> {
    const token = this.plan.BatchInput?.Token;
    if (token?.Kind !== 'staged') return;
    if (token.Bucket !== this.staging.bucket) {
      this.notes.push(
        `The staged token is in bucket ${token.Bucket}, not in the staging bucket: it was not deleted.`,
      );
      return;
    }
    await this.staging.delete(token.Key);
  }

  /** The objects a Sync plan skipped from the two listings (`Plan.Skipped`), one SKIPPED line each. */
  async readSkipped(): Promise<void> {
    const skipped = this.plan.Skipped;
    if (!skipped || skipped.Count === 0) return;
    let stream;
    try {
      stream = await this.staging.getStream(skipped.Key);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // Counted as the plan said: they were decided, only their lines are lost.
      this.tally.skipped += skipped.Count;
      this.notes.push(`The list of ${skipped.Count} skipped objects ${skipped.Key} does not exist.`);
      return;
    }
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      const item = JSON.parse(line) as ManifestItem;
      const result: ItemResult = {
        Key: item.Key,
        DestKey: item.DestKey,
        Status: 'SKIPPED',
        Bytes: 0,
        Check: LISTING_CHECK,
      };
      await this.report.item(result);
      this.tally.add(result, false);
    }
    this.notes.push(
      `${skipped.Count} objects were skipped from the two listings (same size, destination written at or ` +
        'after the source last changed), without any request of their own.',
    );
  }

  /**
   * A mirror's deletions (`Plan.Deletes`), one line per planned deletion from the deletions file: DELETED,
   * NOT_DELETED with the reason (a per-key error, the step withheld or failed, or never ran), or in a dry
   * run PLANNED_DELETE. Deletions not made are also listed among the result's Failures.
   */
  async readDeletes(step: SummarizeInput['Delete']): Promise<void> {
    const deletes = this.plan.Deletes;
    if (!deletes) return;
    const dryRun = this.plan.DryRun;
    if (dryRun && deletes.Exceeded) {
      this.notes.push(
        `A run would stop with TooManyDeletes: it would delete ${deletes.Count} objects, more than MaxDeletes (${deletes.MaxDeletes}).`,
      );
    }
    const failed = step && 'Error' in step && !('Deleted' in step) ? step : undefined;
    const outcome = step && 'Deleted' in step ? step : undefined;
    const errors = new Map((outcome?.Errors ?? []).map((e) => [e.Key, e]));
    const notMade = failed
      ? { Error: failed.Error, Cause: `The deletions failed: ${describeCause(failed.Cause) ?? failed.Error}` }
      : outcome?.Withheld !== undefined
        ? { Error: 'DeletionsWithheld', Cause: `Nothing was deleted: ${outcome.Withheld}.` }
        : !outcome
          ? { Error: 'DeletionsNotRun', Cause: 'The deletion step did not run.' }
          : undefined;
    if (!dryRun && notMade) this.notes.push(notMade.Cause);
    if (outcome && !failed) this.deletions.deleted = outcome.Deleted;
    let lines = 0;
    for await (const planned of readDeletes(this.staging, deletes.Key)) {
      lines++;
      let item: DeleteReportItem;
      const error = errors.get(planned.DestKey);
      if (dryRun) item = { DestKey: planned.DestKey, Status: 'PLANNED_DELETE', Size: planned.Size };
      else if (notMade || error) {
        const why = notMade ?? {
          Error: error!.Code,
          Cause: `DeleteObjects: ${error!.Code}: ${error!.Message}`,
        };
        item = { DestKey: planned.DestKey, Status: 'NOT_DELETED', Size: planned.Size, ...why };
        this.deletions.notDeleted++;
        if (this.tally.failures.length < MAX_FAILURES_IN_RESULT) {
          this.tally.failures.push({
            Key: planned.DestKey,
            Error: why.Error,
            Cause: truncate(why.Cause, RESULT_CAUSE_MAX),
          });
        }
      } else item = { DestKey: planned.DestKey, Status: 'DELETED', Size: planned.Size };
      await this.report.item(item);
    }
    if (!dryRun && outcome && !notMade && outcome.NotDeleted > errors.size) {
      // Per-key errors beyond those the step carried: counted, not named.
      this.deletions.notDeleted += outcome.NotDeleted - errors.size;
      this.notes.push(
        `${outcome.NotDeleted} deletions failed; only the first ${MAX_DELETE_ERRORS} are named in the report.`,
      );
    }
    if (lines !== deletes.Count) {
      this.notes.push(`The deletions file lists ${lines} objects, the plan counted ${deletes.Count}.`);
    }
  }

  /** Every item every child batch reported, from the ResultWriter output. */
  async readResults(manifestKey: string, mapFailure: MapRunFailure | undefined): Promise<void> {
    const manifest = await readResultManifest(this.staging, manifestKey);
    if (!manifest) {
      this.notes.push(`The ResultWriter manifest ${manifestKey} does not exist.`);
      return;
    }
    for (const status of RESULT_FILE_STATUSES) {
      for (const file of manifest.ResultFiles[status] ?? []) {
        for await (const entry of childEntries(this.staging, file.Key)) {
          this.tally.batches[status]++;
          this.timings.add(entry);
          for (const item of itemsOfEntry(status, entry, mapFailure?.Error)) {
            await this.report.item(item);
            this.tally.add(item, true);
          }
        }
      }
    }
  }

  /**
   * Streams the plan's manifest: every item no batch reported is Failed (with the plan's own Error when
   * it had one); in a dry run every item is reported PLANNED (or Failed when the plan knew it would).
   */
  async reconcileWithManifest(options: ReconcileOptions): Promise<void> {
    const { plan, tally } = this;
    let stream;
    try {
      stream = await this.staging.getStream(plan.Manifest.Key);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const missing = Math.max(0, plan.Count - tally.total);
      if (missing > 0) {
        this.notes.push(
          `The manifest ${plan.Manifest.Key} does not exist; ${missing} planned items are unaccounted for.`,
        );
        tally.addUnaccounted(missing, plan.Manifest.Key);
      }
      return;
    }
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      const unit = JSON.parse(line) as WorkUnit;
      this.estimator?.addUnit(unit);
      // Range lines count no object: their giant object is counted from CompleteGiants' result.
      for (const item of unitObjects(unit)) {
        if (!options.dryRun && tally.claim(item)) continue;
        const result = unreportedItem(item, options);
        if (result.Status === 'FAILED' && !item.Error) tally.notReported++;
        await this.report.item(result);
        tally.add(result, false);
      }
    }
    if (tally.unclaimed > 0) this.notes.push(`${tally.unclaimed} reported items are not in the manifest.`);
  }

  /**
   * Giant objects, from `giants.jsonl`: each counted once, as CompleteGiants recorded it (a dry run:
   * planned), or failed when nothing was recorded.
   */
  async readGiants(options: ReconcileOptions): Promise<void> {
    const giants = this.plan.Giants;
    if (!giants) return;
    let stream;
    try {
      stream = await this.staging.getStream(giants.Key);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      this.notes.push(`The list of giant objects ${giants.Key} does not exist.`);
      return;
    }
    const runId = this.plan.BatchInput.RunId;
    let ranges = 0;
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      const giant = JSON.parse(line) as GiantObject;
      this.estimator?.addGiant(giant);
      ranges += giant.Ranges;
      const item: ManifestItem = {
        Key: giant.Key,
        DestKey: giant.DestKey,
        Size: giant.Size,
        ETag: giant.ETag,
        ...(giant.GranuleUR !== undefined && { GranuleUR: giant.GranuleUR }),
      };
      let result: ReportItem | undefined;
      if (!options.dryRun) {
        const text = await this.staging.getText(giantResultKey(runId, giant.Giant));
        if (text !== undefined) result = JSON.parse(text) as ItemResult;
      }
      if (!result) {
        result = unreportedItem(item, options);
        if (result.Status === 'FAILED') this.tally.notReported++;
      }
      await this.report.item(result);
      this.tally.add(result, false);
    }
    this.notes.push(`Giant objects were copied as ${ranges} part ranges.`);
  }

  summary(now: Date): ReportSummary {
    const { tally } = this;
    this.estimate = this.estimator?.result();
    return {
      Counts: {
        Planned: this.plan.Count + (this.plan.Skipped?.Count ?? 0),
        Copied: tally.copied,
        Skipped: tally.skipped,
        Failed: tally.failed,
        NotReported: tally.notReported,
        ...(this.plan.Deletes &&
          (this.plan.DryRun
            ? { PlannedDeletes: this.plan.Deletes.Count }
            : { Deleted: this.deletions.deleted, NotDeleted: this.deletions.notDeleted })),
      },
      Bytes: tally.bytes,
      Batches: tally.batches,
      Timings: { ...this.timings.toJSON(), SummarizedAt: now.toISOString() },
      ...(this.estimate && { Estimate: this.estimate }),
      Notes: this.notes,
    };
  }
}

/** The `Check` of an object skipped from the two listings (a copy's own Sync check is `destination-sync`). */
export const LISTING_CHECK = 'destination-listing';

/** A manifest item no batch reported: failed as the plan knew, planned (dry run), or not reported. */
function unreportedItem(item: ManifestItem, options: ReconcileOptions): ReportItem {
  const base = {
    Key: item.Key,
    DestKey: item.DestKey,
    ...(item.GranuleUR !== undefined && { GranuleUR: item.GranuleUR }),
  };
  if (item.Error) {
    const cause = truncate(item.Cause ?? item.Error, REPORT_CAUSE_MAX);
    return { ...base, Status: 'FAILED', Bytes: 0, Error: item.Error, Cause: cause };
  }
  if (options.dryRun) return { ...base, Status: 'PLANNED', Bytes: item.Size ?? 0 };
  return {
    ...base,
    Status: 'FAILED',
    Bytes: 0,
    Error: options.error ?? NOT_REPORTED,
    Cause: options.cause ?? 'No copy batch reported this item.',
  };
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

function joinKey(prefix: string, name: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed ? `${trimmed}/${name}` : name;
}
