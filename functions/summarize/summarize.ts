import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import {
  MAX_FAILURES_IN_RESULT,
  type CopyBatchInput,
  type CopyBatchOutput,
  type ItemResult,
  type ManifestItem,
  type PlanOutput,
  type TransferResult,
} from '../../shared/contracts';
import type { StagingStore } from '../../shared/staging';
import {
  childEntries,
  findResultManifestKey,
  readResultManifest,
  RESULT_FILE_STATUSES,
  type ChildExecutionEntry,
  type MapRunOutput,
  type ResultFileStatus,
} from './result-reader';

export type { MapRunOutput } from './result-reader';

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
}

export interface SummarizeDependencies {
  staging: StagingStore;
  /** @default () => new Date() */
  now?: () => Date;
}

/** Error of an item that no batch reported (and that its batch did not fail with an error of its own). */
export const NOT_REPORTED = 'NotReported';
/** Error of the items of a batch that had not run when the Map Run ended. */
export const BATCH_PENDING = 'BatchPending';
/** Cause lengths: the result is a state output (256 KiB at most), the report is not. */
const RESULT_CAUSE_MAX = 500;
const REPORT_CAUSE_MAX = 4000;

/** An item's line in the report: a copy result, or (dry run) a planned copy. */
export type ReportItem = ItemResult | (Omit<ItemResult, 'Status'> & { Status: 'PLANNED' });

/** The report's closing fields (it opens with the plan and the items). */
export interface ReportSummary {
  Counts: {
    Planned: number;
    Copied: number;
    Skipped: number;
    Failed: number;
    /** Failed because no batch reported them (included in Failed). */
    NotReported: number;
  };
  Bytes: number;
  Batches: Record<ResultFileStatus, number>;
  Timings: { BatchesStartedAt?: string; BatchesStoppedAt?: string; SummarizedAt: string };
  Notes: string[];
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

  const notes: string[] = [];
  // The token is not needed once the Map has ended: delete it first, whatever happens next.
  const tokenNote = await deleteStagedToken(plan, staging);
  if (tokenNote) notes.push(tokenNote);

  const reportKey = joinKey(plan.Staging.Prefix, 'report.json');
  const report = new ReportWriter(staging, reportKey);
  const tally = new Tally();
  const timings = new Timings();
  try {
    await report.open(planSummary(plan), mapSummary(input.Map));

    if (plan.DryRun) {
      await reconcileWithManifest(plan, staging, report, tally, notes, { dryRun: true });
    } else {
      const failure = isMapFailure(input.Map) ? input.Map : undefined;
      const manifestKey = await resultManifestKey(input.Map, plan, staging);
      if (manifestKey) {
        await readResults(manifestKey, staging, report, tally, timings, notes, failure);
      } else if (input.Map) {
        notes.push('No ResultWriter output was found for the map run.');
      }
      await reconcileWithManifest(plan, staging, report, tally, notes, {
        dryRun: false,
        error: failure?.Error ?? NOT_REPORTED,
        cause: failure
          ? `The map run failed before this item was reported: ${describeCause(failure.Cause) ?? failure.Error}`
          : 'No copy batch reported this item.',
      });
    }

    const summary: ReportSummary = {
      Counts: {
        Planned: plan.Count,
        Copied: tally.copied,
        Skipped: tally.skipped,
        Failed: tally.failed,
        NotReported: tally.notReported,
      },
      Bytes: tally.bytes,
      Batches: tally.batches,
      Timings: { ...timings.toJSON(), SummarizedAt: now().toISOString() },
      Notes: notes,
    };
    await report.close(summary);
  } catch (error) {
    await report.abort(error as Error);
    throw error;
  }

  const result: TransferResult = {
    Copied: tally.copied,
    Skipped: tally.skipped,
    Failed: tally.failed,
    Bytes: tally.bytes,
    Failures: tally.failures,
    Report: { Bucket: staging.bucket, Key: reportKey },
  };
  if (plan.DryRun) {
    result.DryRun = true;
    result.Planned = plan.Count;
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

/** Deletes the staged token object; returns a note for the report when it cannot. */
async function deleteStagedToken(plan: PlanOutput, staging: StagingStore): Promise<string | undefined> {
  const token = plan.BatchInput?.Token;
  if (token?.Kind !== 'staged') return undefined;
  if (token.Bucket !== staging.bucket) {
    return `The staged token is in bucket ${token.Bucket}, not in the staging bucket: it was not deleted.`;
  }
  await staging.delete(token.Key);
  return undefined;
}

async function readResults(
  manifestKey: string,
  staging: StagingStore,
  report: ReportWriter,
  tally: Tally,
  timings: Timings,
  notes: string[],
  mapFailure: MapRunFailure | undefined,
): Promise<void> {
  const manifest = await readResultManifest(staging, manifestKey);
  if (!manifest) {
    notes.push(`The ResultWriter manifest ${manifestKey} does not exist.`);
    return;
  }
  for (const status of RESULT_FILE_STATUSES) {
    for (const file of manifest.ResultFiles[status] ?? []) {
      for await (const entry of childEntries(staging, file.Key)) {
        tally.batches[status]++;
        timings.add(entry);
        for (const item of itemsOfEntry(status, entry, mapFailure)) {
          await report.item(item);
          tally.add(item, true);
        }
      }
    }
  }
}

/** The item results a child batch stands for, whatever became of it. */
function itemsOfEntry(
  status: ResultFileStatus,
  entry: ChildExecutionEntry,
  mapFailure: MapRunFailure | undefined,
): ReportItem[] {
  if (status === 'SUCCEEDED') {
    const output = parseJson<CopyBatchOutput>(entry.Output);
    if (output && Array.isArray(output.Results)) return output.Results.map(clampCause);
    return failAll(
      entry,
      'UnreadableBatchOutput',
      `The batch output could not be read: ${entry.ExecutionArn}`,
    );
  }
  if (status === 'PENDING') {
    const why = mapFailure ? `: ${mapFailure.Error}` : '';
    return failAll(entry, BATCH_PENDING, `The batch had not run when the map run ended${why}.`);
  }
  const error = entry.Error ?? FALLBACK_BATCH_ERRORS[entry.Status ?? ''] ?? 'BatchFailed';
  return failAll(entry, error, describeCause(entry.Cause) ?? `The batch ended ${entry.Status ?? 'FAILED'}.`);
}

/** Errors for a failed child that carries no Error of its own. */
const FALLBACK_BATCH_ERRORS: Record<string, string> = {
  TIMED_OUT: 'States.Timeout',
  ABORTED: 'BatchAborted',
};

function failAll(entry: ChildExecutionEntry, error: string, cause: string): ItemResult[] {
  const input = parseJson<CopyBatchInput>(entry.Input);
  // Items whose input cannot be read are found missing when the manifest is reconciled.
  const items: ManifestItem[] = Array.isArray(input?.Items) ? input.Items : [];
  return items.map((item) => ({
    Key: item.Key,
    DestKey: item.DestKey,
    Status: 'FAILED',
    Bytes: 0,
    Error: error,
    Cause: truncate(cause, REPORT_CAUSE_MAX),
  }));
}

interface ReconcileOptions {
  dryRun: boolean;
  error?: string;
  cause?: string;
}

/**
 * Streams the plan's manifest: every item no batch reported is Failed (with the plan's own Error
 * when it had one); in a dry run every item is reported PLANNED (or Failed when the plan knew it would).
 */
async function reconcileWithManifest(
  plan: PlanOutput,
  staging: StagingStore,
  report: ReportWriter,
  tally: Tally,
  notes: string[],
  options: ReconcileOptions,
): Promise<void> {
  let stream;
  try {
    stream = await staging.getStream(plan.Manifest.Key);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    const missing = Math.max(0, plan.Count - tally.total);
    if (missing > 0) {
      notes.push(
        `The manifest ${plan.Manifest.Key} does not exist; ${missing} planned items are unaccounted for.`,
      );
      tally.addUnaccounted(missing, plan.Manifest.Key);
    }
    return;
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const item = JSON.parse(line) as ManifestItem;
    if (!options.dryRun && tally.claim(item)) continue;
    let result: ReportItem;
    if (item.Error) {
      result = {
        Key: item.Key,
        DestKey: item.DestKey,
        Status: 'FAILED',
        Bytes: 0,
        Error: item.Error,
        Cause: truncate(item.Cause ?? item.Error, REPORT_CAUSE_MAX),
      };
    } else if (options.dryRun) {
      result = { Key: item.Key, DestKey: item.DestKey, Status: 'PLANNED', Bytes: item.Size ?? 0 };
    } else {
      result = {
        Key: item.Key,
        DestKey: item.DestKey,
        Status: 'FAILED',
        Bytes: 0,
        Error: options.error ?? NOT_REPORTED,
        Cause: options.cause ?? 'No copy batch reported this item.',
      };
      tally.notReported++;
    }
    await report.item(result);
    tally.add(result, false);
  }
  if (tally.unclaimed > 0) {
    notes.push(`${tally.unclaimed} reported items are not in the manifest.`);
  }
}

/** Counts, the first failures, and a digest per reported item for the reconciliation. */
class Tally {
  copied = 0;
  skipped = 0;
  failed = 0;
  bytes = 0;
  notReported = 0;
  readonly failures: TransferResult['Failures'] = [];
  readonly batches: Record<ResultFileStatus, number> = { SUCCEEDED: 0, FAILED: 0, PENDING: 0 };
  private readonly reported = new Map<string, number>();

  get total(): number {
    return this.copied + this.skipped + this.failed;
  }

  /** Reported items that no manifest line claimed (once the manifest has been read). */
  get unclaimed(): number {
    let n = 0;
    for (const count of this.reported.values()) n += count;
    return n;
  }

  add(item: ReportItem, reported: boolean): void {
    if (item.Status === 'COPIED') {
      this.copied++;
      this.bytes += item.Bytes || 0;
    } else if (item.Status === 'SKIPPED') {
      this.skipped++;
    } else if (item.Status === 'FAILED') {
      this.failed++;
      if (this.failures.length < MAX_FAILURES_IN_RESULT) {
        this.failures.push({
          Key: item.Key,
          Error: item.Error ?? 'CopyFailed',
          Cause: truncate(item.Cause ?? item.Error ?? '', RESULT_CAUSE_MAX),
        });
      }
    }
    if (reported) {
      const id = identity(item);
      this.reported.set(id, (this.reported.get(id) ?? 0) + 1);
    }
  }

  /** True (and forgets one report of it) when a batch reported this manifest item. */
  claim(item: ManifestItem): boolean {
    const id = identity(item);
    const count = this.reported.get(id);
    if (!count) return false;
    if (count === 1) this.reported.delete(id);
    else this.reported.set(id, count - 1);
    return true;
  }

  addUnaccounted(count: number, manifestKey: string): void {
    this.failed += count;
    this.notReported += count;
    if (this.failures.length < MAX_FAILURES_IN_RESULT) {
      this.failures.push({
        Key: manifestKey,
        Error: NOT_REPORTED,
        Cause: `${count} planned items were not reported and the manifest listing them is missing.`,
      });
    }
  }
}

/** A compact identity for (Key, DestKey): a million reported items cost tens of MB, not their keys. */
function identity(item: { Key: string; DestKey: string }): string {
  return createHash('sha1').update(item.Key).update('\0').update(item.DestKey).digest('base64');
}

class Timings {
  private first = Infinity;
  private last = -Infinity;

  add(entry: ChildExecutionEntry): void {
    const start = entry.StartDate ? Date.parse(entry.StartDate) : NaN;
    const stop = entry.StopDate ? Date.parse(entry.StopDate) : NaN;
    if (!Number.isNaN(start)) this.first = Math.min(this.first, start);
    if (!Number.isNaN(stop)) this.last = Math.max(this.last, stop);
  }

  toJSON(): { BatchesStartedAt?: string; BatchesStoppedAt?: string } {
    return {
      ...(Number.isFinite(this.first) && { BatchesStartedAt: new Date(this.first).toISOString() }),
      ...(Number.isFinite(this.last) && { BatchesStoppedAt: new Date(this.last).toISOString() }),
    };
  }
}

/**
 * Streams the report as one JSON document, `{ Plan, MapRun, Items: [...], Counts, ... }`, into the
 * staging store while the items are read, with backpressure.
 */
class ReportWriter {
  private readonly body = new PassThrough();
  private upload?: Promise<void>;
  private items = 0;

  constructor(
    private readonly staging: StagingStore,
    private readonly key: string,
  ) {}

  async open(plan: object, mapRun: object | null): Promise<void> {
    this.upload = this.staging.put(this.key, this.body, { contentType: 'application/json' });
    // Observed by write()/close(); this keeps an early failure from being an unhandled rejection.
    this.upload.catch(() => undefined);
    await this.write(`{"Plan":${JSON.stringify(plan)},\n"MapRun":${JSON.stringify(mapRun)},\n"Items":[`);
  }

  async item(item: ReportItem): Promise<void> {
    await this.write(`${this.items++ === 0 ? '\n' : ',\n'}${JSON.stringify(item)}`);
  }

  async close(summary: ReportSummary): Promise<void> {
    const tail = JSON.stringify(summary).slice(1); // the summary's fields continue the object
    this.body.end(`\n],\n${tail}\n`);
    await this.upload;
  }

  async abort(error: Error): Promise<void> {
    this.body.destroy(error);
    await this.upload?.catch(() => undefined);
  }

  private async write(text: string): Promise<void> {
    if (this.body.write(text)) return;
    await Promise.race([once(this.body, 'drain'), this.upload]);
  }
}

function planSummary(plan: PlanOutput): object {
  const b = plan.BatchInput;
  // Never the token reference's value: an `inline` token (one-machine host) carries the token itself.
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
  };
}

function mapSummary(map: SummarizeInput['Map']): object | null {
  if (!map) return null;
  if (isMapFailure(map)) return { Error: map.Error, Cause: describeCause(map.Cause) };
  return { MapRunArn: map.MapRunArn, ResultWriterDetails: map.ResultWriterDetails };
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** A Lambda error's Cause is a JSON document; its errorMessage is what a person wants to read. */
export function describeCause(cause: string | undefined): string | undefined {
  if (cause === undefined || cause === '') return undefined;
  const parsed = parseJson<{ errorMessage?: unknown }>(cause);
  if (parsed && typeof parsed === 'object' && typeof parsed.errorMessage === 'string')
    return parsed.errorMessage;
  return cause;
}

function clampCause(item: ItemResult): ItemResult {
  return item.Cause && item.Cause.length > REPORT_CAUSE_MAX
    ? { ...item, Cause: truncate(item.Cause, REPORT_CAUSE_MAX) }
    : item;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function joinKey(prefix: string, name: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed ? `${trimmed}/${name}` : name;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.code === 'ENOENT' || e?.$metadata?.httpStatusCode === 404;
}
