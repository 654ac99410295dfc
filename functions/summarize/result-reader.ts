import type { CopyBatchInput, CopyBatchOutput, ItemResult, WorkUnit } from '../../shared/contracts';
import { unitObjects } from '../../shared/units';
import { describeCause } from '../../shared/errors';
import type { StagingStore } from '../../shared/staging';
import { jsonValues } from '../../shared/json-values';
import { REPORT_CAUSE_MAX, truncate } from './tally';

/**
 * What a Distributed Map state with a ResultWriter outputs: where it wrote the run's `manifest.json`
 * (`<Prefix>/<map run id>/manifest.json`).
 */
export interface MapRunOutput {
  MapRunArn: string;
  ResultWriterDetails: { Bucket: string; Key: string };
}

/** One result file listed in the ResultWriter manifest. */
export interface ResultFile {
  Key: string;
  Size: number;
}

export type ResultFileStatus = 'SUCCEEDED' | 'FAILED' | 'PENDING';

/** `manifest.json` as Step Functions writes it (Step Functions developer guide, "ResultWriter (Map)"). */
export interface ResultWriterManifest {
  DestinationBucket: string;
  MapRunArn: string;
  ResultFiles: Partial<Record<ResultFileStatus, ResultFile[]>>;
}

/**
 * One child workflow execution in a `SUCCEEDED_n.json` / `FAILED_n.json` / `PENDING_n.json` file.
 * `Input` and `Output` are JSON documents serialized as strings; a failed (or timed out, aborted)
 * child has `Error`/`Cause` instead of `Output`.
 */
export interface ChildExecutionEntry {
  ExecutionArn?: string;
  Name?: string;
  Status?: string;
  Input?: string;
  Output?: string;
  Error?: string;
  Cause?: string;
  StartDate?: string;
  StopDate?: string;
  StateMachineArn?: string;
}

/** Result file statuses in the order they are read. */
export const RESULT_FILE_STATUSES: readonly ResultFileStatus[] = ['SUCCEEDED', 'FAILED', 'PENDING'];

export async function readResultManifest(
  staging: StagingStore,
  key: string,
): Promise<ResultWriterManifest | undefined> {
  const text = await staging.getText(key);
  if (text === undefined) return undefined;
  const manifest = JSON.parse(text) as ResultWriterManifest;
  if (!manifest || typeof manifest !== 'object' || typeof manifest.ResultFiles !== 'object') {
    throw new Error(`${key} is not a ResultWriter manifest (no ResultFiles)`);
  }
  return manifest;
}

/**
 * Finds the ResultWriter manifest of a run whose Map state failed (its output then carries no
 * ResultWriterDetails): `<prefix>/<map run id>/manifest.json`, the newest listed if several.
 */
export async function findResultManifestKey(
  staging: StagingStore,
  resultPrefix: string,
): Promise<string | undefined> {
  const prefix = resultPrefix.replace(/\/+$/, '');
  const keys = await staging.list(prefix ? `${prefix}/` : '');
  // Tolerates a doubled slash after a prefix that ends in "/" (`runs/x//<id>/manifest.json`).
  const rest = (key: string): string => (prefix ? key.slice(prefix.length + 1) : key);
  const manifests = keys.filter((k) => /^\/*[^/]+\/manifest\.json$/.test(rest(k)));
  return manifests.at(-1);
}

/** Streams the child execution entries of one result file, one at a time. */
export async function* childEntries(staging: StagingStore, key: string): AsyncGenerator<ChildExecutionEntry> {
  const stream = await staging.getStream(key);
  for await (const value of jsonValues(stream)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) yield value as ChildExecutionEntry;
  }
}

/** Error of the items of a batch that had not run when the Map Run ended. */
export const BATCH_PENDING = 'BatchPending';

/** Errors for a failed child that carries no Error of its own. */
const FALLBACK_BATCH_ERRORS: Record<string, string> = {
  TIMED_OUT: 'States.Timeout',
  ABORTED: 'BatchAborted',
};

export function parseJson<T>(text: string | undefined): T | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

function clampCause(item: ItemResult): ItemResult {
  return item.Cause && item.Cause.length > REPORT_CAUSE_MAX
    ? { ...item, Cause: truncate(item.Cause, REPORT_CAUSE_MAX) }
    : item;
}

/** The unit a child execution ran (its input's `Unit`, or the `Items` of earlier versions). */
function unitOfInput(input: CopyBatchInput | undefined): WorkUnit | undefined {
  if (input?.Unit && typeof input.Unit === 'object') return input.Unit;
  return Array.isArray(input?.Items) ? { Pack: input.Items } : undefined;
}

function failObjects(
  unit: WorkUnit | undefined,
  error: string,
  cause: string,
  except?: ItemResult[],
): ItemResult[] {
  // Objects whose unit cannot be read are found missing when the manifest is reconciled.
  let items = unit ? unitObjects(unit) : [];
  if (except && except.length > 0) {
    const reported = new Set(except.map((r) => `${r.Key}\u0000${r.DestKey}`));
    items = items.filter((item) => !reported.has(`${item.Key}\u0000${item.DestKey}`));
  }
  return items.map((item) => ({
    Key: item.Key,
    DestKey: item.DestKey,
    Status: 'FAILED',
    Bytes: 0,
    Error: error,
    Cause: truncate(cause, REPORT_CAUSE_MAX),
  }));
}

function failAll(entry: ChildExecutionEntry, error: string, cause: string): ItemResult[] {
  return failObjects(unitOfInput(parseJson<CopyBatchInput>(entry.Input)), error, cause);
}

/** A child that kept the credit of its earlier rounds: its results, and the error of the rest. */
interface CreditKeptOutput {
  Results: ItemResult[];
  Unfinished?: WorkUnit;
  Failure?: { Error?: string; Cause?: string };
}

/**
 * The item results a child batch stands for, whatever became of it. `mapError` is the Map state's own
 * error when it failed (PENDING batches then never ran because of it).
 */
export function itemsOfEntry(
  status: ResultFileStatus,
  entry: ChildExecutionEntry,
  mapError: string | undefined,
): ItemResult[] {
  if (status === 'SUCCEEDED') {
    const output = parseJson<CopyBatchOutput & CreditKeptOutput>(entry.Output);
    if (output && Array.isArray(output.Results)) {
      const results = output.Results.map(clampCause);
      if (!output.Failure) return results;
      const error = output.Failure.Error ?? 'BatchFailed';
      const cause = describeCause(output.Failure.Cause) ?? error;
      return [...results, ...failObjects(output.Unfinished, error, cause, output.Results)];
    }
    return failAll(
      entry,
      'UnreadableBatchOutput',
      `The batch output could not be read: ${entry.ExecutionArn}`,
    );
  }
  if (status === 'PENDING') {
    const why = mapError ? `: ${mapError}` : '';
    return failAll(entry, BATCH_PENDING, `The batch had not run when the map run ended${why}.`);
  }
  const error = entry.Error ?? FALLBACK_BATCH_ERRORS[entry.Status ?? ''] ?? 'BatchFailed';
  return failAll(entry, error, describeCause(entry.Cause) ?? `The batch ended ${entry.Status ?? 'FAILED'}.`);
}
