/**
 * One run being summarized: what each source of results says (the Map's result files, the manifest for
 * what no unit reported, giant objects' results, a Sync plan's skipped objects, a mirror's deletions),
 * counted once into the tally and written line by line into the report.
 */
import { createInterface } from 'node:readline';
import { isNotFound } from '../../shared/aws/sdk-errors';
import {
  MAX_FAILURES_IN_RESULT,
  type GiantObject,
  type ItemResult,
  type ManifestItem,
  type PlanOutput,
  type WorkUnit,
} from '../../shared/contracts';
import type { Estimate } from '../../shared/cost';
import { describeCause } from '../../shared/errors';
import { giantResultKey, REPORT_NAME } from '../../shared/run-files';
import { unitObjects } from '../../shared/units';
import type { StagingStore } from '../../shared/staging';
import { MAX_DELETE_ERRORS } from '../copy-batch/delete-mirrored';
import { readDeletes } from '../../shared/mirror/deletes-file';
import { PlanEstimator } from './estimate';
import { ReportWriter, type ReportSummary } from './report-writer';
import { childEntries, itemsOfEntry, readResultManifest, RESULT_FILE_STATUSES } from './result-reader';
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
import type { MapRunFailure, SummarizeInput } from './summarize';

export interface ReconcileOptions {
  dryRun: boolean;
  /** Error and Cause of the items no batch reported. */
  error?: string;
  cause?: string;
}

/** One run being summarized: its report, its tally and the notes for the report. */
export class RunSummary {
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

function joinKey(prefix: string, name: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed ? `${trimmed}/${name}` : name;
}
