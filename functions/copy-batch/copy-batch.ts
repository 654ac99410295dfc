import type { S3Client } from '@aws-sdk/client-s3';
import type {
  BatchInput,
  CopyBatchInput,
  CopyBatchOutput,
  ItemResult,
  ManifestItem,
  WorkUnit,
} from '../../shared/contracts';
import { copyObject, type CopyOptions, type CopyResult, type SourceCredentials } from '../../shared/copy';
import { isWithin, type BucketAndPrefix } from '../../shared/aws/s3-names';
import { type EndpointPolicy } from '../../shared/credentials/endpoint';
import { ErrorName, TransferError } from '../../shared/errors';
import { redactText } from '../../shared/log';
import { unitObjects } from '../../shared/units';
import { ThroughputEstimator } from './throughput';
import { copyRangeUnit, type RangeDeps } from './range-unit';
import { deadlineMargins, NO_PROGRESS_ROUNDS, SYSTEMIC_ERRORS } from './unit-rules';
import { checkInput, publishedOf, unitOf } from './batch-input';

export { NO_PROGRESS_ROUNDS, SYSTEMIC_ERRORS } from './unit-rules';

/** The source side of a batch: a client reading with the batch's TEA credentials, and their handle. */
export interface SourceSide {
  client: S3Client;
  credentials?: SourceCredentials;
}

/** The Powertools Logger methods CopyBatch uses. */
export interface CopyLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface CopyBatchDeps {
  /**
   * Resolves the batch's token and returns the source side, with credentials already fetched once (so
   * that a bad token fails the batch before any object starts). Its errors are thrown as they are.
   */
  source: (batch: BatchInput) => Promise<SourceSide>;
  /** Writes the destination with the copier's own credentials. */
  destination: S3Client;
  /** Milliseconds left before the invocation is killed (`context.getRemainingTimeInMillis`). */
  remainingTimeMs: () => number;
  logger?: CopyLogger;
  /** Objects copied at once. @default 8 */
  concurrency?: number;
  /** Passed to every {@link copyObject} (signal and onProgress are CopyBatch's own). */
  copyOptions?: Omit<CopyOptions, 'signal' | 'sync'>;
  /** No object starts with less time left than this (scaled down for short timeouts). @default 60000 */
  safetyMarginMs?: number;
  /**
   * Copies still running with this little time left are aborted (their multipart uploads too) and
   * deferred, so the invocation is never killed mid-object. @default 10000
   */
  abortMarginMs?: number;
  /** How often the deadline is checked while copies run. @default a fifth of the abort margin, 1 s at most */
  watchdogIntervalMs?: number;
  /**
   * Interrupts the batch (the one-machine runner's Ctrl-C): no object starts any more, copies in flight
   * are aborted with their multipart uploads, and everything unfinished comes back in `Deferred`.
   */
  signal?: AbortSignal;
  /** Learns copy throughput across invocations of a warm container. @default a fresh estimator */
  throughput?: ThroughputEstimator;
  /** Buckets (with optional key prefixes) this deployment may write. @default any */
  allowedDestinations?: readonly BucketAndPrefix[];
  /** Where the batch's credentials endpoint may be: checked before the token is read. */
  endpoints: EndpointPolicy;
  /** Where the run's token may be: a staged token only in this bucket, a parameter only under this path. */
  tokens: { stagingBucket: string; parameterPath?: string };
  now?: () => number;
  /** For tests. @default copyObject */
  copy?: typeof copyObject;
  /** What range units need besides the above (the run's upload records). Without it they fail. */
  ranges?: RangeDeps;
}

// Small objects wait on S3's first byte, not the network: 8 at once copied a batch 1.3 x faster than 4
// in the like-S3 Lambda world (docs/PERFORMANCE.md).
const DEFAULT_CONCURRENCY = 8;

function failed(item: ManifestItem, name: string, cause: string): ItemResult {
  return {
    Key: item.Key,
    DestKey: item.DestKey,
    Status: 'FAILED',
    Bytes: 0,
    Error: name,
    Cause: cause,
    ...granuleOf(item),
  };
}

const granuleOf = (item: ManifestItem): { GranuleUR?: string } =>
  typeof item.GranuleUR === 'string' ? { GranuleUR: item.GranuleUR } : {};

/**
 * A child's output must stay under Step Functions' 256 KiB: a pack's line is at most 96 KiB, so its
 * results are too, but for their causes. Long causes are shortened until the results fit in this many
 * bytes (the logs keep every cause whole).
 */
export const RESULTS_BUDGET_BYTES = 200 * 1024;

export function fitResults(results: ItemResult[]): ItemResult[] {
  let size = Buffer.byteLength(JSON.stringify(results));
  for (const max of [1000, 300, 80]) {
    if (size <= RESULTS_BUDGET_BYTES) return results;
    results = results.map((r) =>
      r.Cause && r.Cause.length > max ? { ...r, Cause: `${r.Cause.slice(0, max - 1)}…` } : r,
    );
    size = Buffer.byteLength(JSON.stringify(results));
  }
  return results;
}

const describeDestinations = (allowed: readonly BucketAndPrefix[]): string =>
  allowed.map((d) => (d.prefix ? `${d.bucketName}/${d.prefix}` : d.bucketName)).join(', ');

/**
 * Runs one unit of the manifest: a pack of objects, one object, or a range of a giant object's parts
 * (./range-unit.ts). Objects that Plan already marked failed, and per-object failures, are reported as
 * FAILED results; systemic failures (token, credentials endpoint) are thrown with their names, unless
 * this invocation already finished something (its results are returned, with the rest in `Next`: the
 * next round meets the error again and throws it). Near the invocation's deadline no new object starts,
 * copies still running are aborted cleanly, and what was not finished comes back in `Next`. A unit that
 * makes no progress for {@link NO_PROGRESS_ROUNDS} rounds in a row fails with `NoProgress`.
 */
export async function copyBatch(input: CopyBatchInput, deps: CopyBatchDeps): Promise<CopyBatchOutput> {
  checkInput(input, deps);
  const unit = unitOf(input);
  if ('Range' in unit) return copyRangeUnit(unit.Range, input, deps);
  return copyObjects(unitObjects(unit), input, deps);
}

async function copyObjects(
  items: readonly ManifestItem[],
  input: CopyBatchInput,
  deps: CopyBatchDeps,
): Promise<CopyBatchOutput> {
  const batch = input.BatchInput;
  const now = deps.now ?? Date.now;
  const copy = deps.copy ?? copyObject;
  const log = deps.logger;
  const throughput = deps.throughput ?? new ThroughputEstimator();
  const concurrency = Math.max(1, Math.floor(deps.concurrency ?? DEFAULT_CONCURRENCY));

  const initialRemaining = deps.remainingTimeMs();
  // Results by manifest position; undefined = not started (deferred).
  const slots: (ItemResult | 'DEFERRED' | undefined)[] = items.map(() => undefined);
  const queue: number[] = [];
  items.forEach((item, i) => {
    if (item.Error !== undefined) {
      slots[i] = failed(item, item.Error, item.Cause ?? item.Error);
    } else if (!isWithin(batch.DestBucket, item.DestKey, deps.allowedDestinations)) {
      slots[i] = failed(
        item,
        ErrorName.DestinationAccessDenied,
        `this deployment may not write s3://${batch.DestBucket}/${item.DestKey}: its destinations are ` +
          `${describeDestinations(deps.allowedDestinations!)} (add the bucket to the pipeline's configuration)`,
      );
    } else {
      queue.push(i);
    }
  });

  const output = (): CopyBatchOutput => {
    const results: ItemResult[] = [...(input.Results ?? [])];
    const deferred: ManifestItem[] = [];
    let progressed = false;
    slots.forEach((slot, i) => {
      if (slot === 'DEFERRED' || slot === undefined) deferred.push(items[i]);
      else {
        results.push(slot);
        progressed = true;
      }
    });
    const stalled = deferred.length === 0 || progressed ? 0 : (input.Stalled ?? 0) + 1;
    if (deferred.length > 0 && stalled >= NO_PROGRESS_ROUNDS) {
      for (const item of deferred)
        results.push(failed(item, ErrorName.NoProgress, noProgressCause(item, stalled)));
      log?.error('unit made no progress; its rest failed', { objects: deferred.length, rounds: stalled });
      return { Results: fitResults(results), Stalled: stalled, BatchInput: batch };
    }
    const next: WorkUnit | undefined =
      deferred.length === 0 ? undefined : deferred.length === 1 ? deferred[0] : { Pack: deferred };
    return { Results: fitResults(results), ...(next && { Next: next }), Stalled: stalled, BatchInput: batch };
  };

  const noProgressCause = (item: ManifestItem, rounds: number): string =>
    `s3://${item.Bucket ?? batch.SourceBucket}/${item.Key} (${item.Size ?? '?'} bytes) did not finish in ${rounds} invocations ` +
    `in a row of the copy function (${Math.round(initialRemaining / 1000)} s each); raise its timeout or ` +
    'give it more memory (network bandwidth grows with it), or lower partFanOutBytes so that objects this ' +
    'big are copied as part ranges in parallel';

  if (queue.length === 0) return output();

  const { start: margin, abort: abortMargin, checkEveryMs } = deadlineMargins(initialRemaining, deps, 60_000);
  const fresh = (): boolean => deps.remainingTimeMs() >= 0.9 * initialRemaining;

  // Resolving the token and fetching credentials: a failure here is the whole batch's.
  const source = await deps.source(batch);

  let systemic: Error | undefined;
  /** Copies that ended (copied, skipped or failed) in this invocation. */
  let finished = 0;
  let stopStarting = false;
  const running = new Map<number, { controller: AbortController; startedFresh: boolean }>();

  const watchdog = setInterval(() => {
    if (deps.remainingTimeMs() > abortMargin) return;
    stopStarting = true;
    for (const [, run] of running) {
      if (!run.controller.signal.aborted) run.controller.abort(new DeadlineError());
    }
  }, checkEveryMs);
  watchdog.unref?.();
  const interrupt = (): void => {
    stopStarting = true;
    for (const [, run] of running) {
      if (!run.controller.signal.aborted) run.controller.abort(new InterruptedError());
    }
  };
  if (deps.signal?.aborted) interrupt();
  deps.signal?.addEventListener('abort', interrupt, { once: true });

  const canStart = (item: ManifestItem): boolean => {
    if (stopStarting || systemic) return false;
    const remaining = deps.remainingTimeMs();
    // Within the first tenth of the invocation an object gets its chance whatever its estimate: a
    // fresh invocation is the most time it will ever have (the watchdog fails it if it runs over).
    const needed = fresh() ? margin : margin + throughput.estimateMs(item.Size ?? 0);
    if (remaining >= needed) return true;
    log?.info('deferring the rest of the batch: not enough time left', {
      remainingMs: remaining,
      neededMs: Math.round(needed),
      nextSize: item.Size,
      bytesPerSecond: Math.round(throughput.bytesPerSecond),
    });
    stopStarting = true;
    return false;
  };

  const runOne = async (index: number): Promise<void> => {
    const item = items[index];
    const controller = new AbortController();
    const startedFresh = fresh();
    running.set(index, { controller, startedFresh });
    const startedAt = now();
    try {
      const result: CopyResult = await copy({
        sourceClient: source.client,
        sourceCredentials: source.credentials,
        destinationClient: deps.destination,
        source: { bucket: item.Bucket ?? batch.SourceBucket, key: item.Key },
        destination: { bucket: batch.DestBucket, key: item.DestKey },
        expected: { size: item.Size, eTag: item.ETag },
        ...(item.Checksum !== undefined && { published: publishedOf(item) }),
        options: { ...deps.copyOptions, sync: batch.Sync, signal: controller.signal },
      });
      const durationMs = now() - startedAt;
      if (result.status === 'COPIED') throughput.record(result.bytes, durationMs);
      slots[index] = {
        Key: item.Key,
        DestKey: item.DestKey,
        Status: result.status,
        Bytes: result.bytes,
        Check: result.verified.check,
        ...granuleOf(item),
      };
      finished++;
      log?.info('object done', {
        key: item.Key,
        destKey: item.DestKey,
        status: result.status,
        bytes: result.bytes,
        durationMs,
        resumes: result.stats.resumes,
        refreshes: result.stats.refreshes,
        check: result.verified.check,
      });
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      if (controller.signal.reason instanceof InterruptedError) {
        slots[index] = 'DEFERRED';
        return;
      }
      if (controller.signal.reason instanceof DeadlineError) {
        // Even one that had the whole invocation: the next round tries again, and NoProgress ends it.
        slots[index] = 'DEFERRED';
        if (startedFresh) {
          log?.error('object did not finish within a whole invocation; deferred', {
            key: item.Key,
            size: item.Size,
          });
        } else {
          log?.warn('object aborted near the deadline; deferred', { key: item.Key, size: item.Size });
        }
        return;
      }
      if (SYSTEMIC_ERRORS.has(err.name)) {
        systemic ??= err;
        slots[index] = 'DEFERRED';
        return;
      }
      const name = err.name && err.name !== 'Error' ? err.name : ErrorName.CopyFailed;
      slots[index] = failed(item, name, redactText(err.message));
      finished++;
      log?.warn('object failed', {
        granuleUR: item.GranuleUR,
        key: item.Key,
        destKey: item.DestKey,
        error: name,
        cause: err.message,
      });
    } finally {
      running.delete(index);
    }
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < queue.length) {
      const index = queue[next];
      if (!canStart(items[index])) return;
      next++;
      await runOne(index);
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  } finally {
    clearInterval(watchdog);
    deps.signal?.removeEventListener('abort', interrupt);
  }
  // Thrown for the state machine's Retry/Catch, unless this invocation finished something: that is
  // returned, and the next round meets the error again with the credit already carried.
  if (systemic && finished === 0) {
    throw systemic;
  }

  const out = output();
  const counts = { copied: 0, skipped: 0, failed: 0 };
  for (const r of out.Results.slice(input.Results?.length ?? 0)) {
    if (r.Status === 'COPIED') counts.copied++;
    else if (r.Status === 'SKIPPED') counts.skipped++;
    else counts.failed++;
  }
  log?.info('unit round done', {
    ...counts,
    deferred: unitObjects(out.Next ?? { Pack: [] }).length,
    objects: items.length,
    stalled: out.Stalled,
    runId: batch.RunId,
  });
  return out;
}

/** The abort reason of an interrupted batch. */
class InterruptedError extends Error {
  constructor() {
    super('the run was interrupted');
    this.name = 'AbortError';
  }
}

/** The abort reason CopyBatch's watchdog uses. */
class DeadlineError extends TransferError {
  constructor() {
    super(ErrorName.CopyFailed, 'the invocation is about to time out');
  }
}
