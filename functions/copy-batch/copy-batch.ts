import type { S3Client } from '@aws-sdk/client-s3';
import type {
  BatchInput,
  CopyBatchInput,
  CopyBatchOutput,
  ItemResult,
  ManifestItem,
} from '../../shared/contracts';
import { copyObject, type CopyOptions, type CopyResult, type SourceCredentials } from '../../shared/copy';
import { isWithin, type BucketAndPrefix } from '../../shared/aws/s3-names';
import { checkEndpoint, type EndpointPolicy } from '../../shared/credentials/endpoint';
import { ErrorName, TransferError, invalidInput } from '../../shared/errors';
import { stagedTokenKey } from '../../shared/run-files';
import { redactText } from '../../shared/log';
import { ThroughputEstimator } from './throughput';

/** Errors that are about the whole batch (token, credentials endpoint): thrown for Retry/Catch. */
export const SYSTEMIC_ERRORS: ReadonlySet<string> = new Set([
  ErrorName.AuthenticationFailed,
  ErrorName.EulaNotAccepted,
  ErrorName.CredentialsForbidden,
  ErrorName.CredentialsEndpointError,
  ErrorName.TokenParameterError,
  ErrorName.InvalidInput,
]);

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
  /** How often the deadline is checked while copies run. @default 1000 */
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
}

// Small objects wait on S3's first byte, not the network: 8 at once copied a batch 1.3 x faster than 4
// in the like-S3 Lambda world (docs/PERFORMANCE.md).
const DEFAULT_CONCURRENCY = 8;

function failed(item: ManifestItem, name: string, cause: string): ItemResult {
  return { Key: item.Key, DestKey: item.DestKey, Status: 'FAILED', Bytes: 0, Error: name, Cause: cause };
}

/**
 * Whoever may invoke this function directly must not make it read another run's token, or any token
 * the state machine would not have given it: a staged token is the batch's own run's, in the staging
 * bucket; a parameter is under the deployment's token path.
 */
function checkTokenReference(batch: BatchInput, allowed: CopyBatchDeps['tokens']): void {
  const token = batch.Token;
  if (token.Kind === 'staged') {
    if (token.Bucket !== allowed.stagingBucket || token.Key !== stagedTokenKey(batch.RunId)) {
      throw invalidInput("CopyBatch input: BatchInput.Token: a staged token must be its own run's");
    }
    return;
  }
  if (token.Kind === 'bearer-parameter') {
    if (
      typeof token.Parameter !== 'string' ||
      (allowed.parameterPath && !token.Parameter.startsWith(allowed.parameterPath))
    ) {
      throw invalidInput(
        `CopyBatch input: BatchInput.Token: parameters must be under ${allowed.parameterPath}`,
      );
    }
    return;
  }
  throw invalidInput('CopyBatch input: BatchInput.Token: expected a staged token or a parameter');
}

function checkInput(input: CopyBatchInput): void {
  if (typeof input !== 'object' || input === null) throw invalidInput('CopyBatch input: expected an object');
  if (!Array.isArray(input.Items)) throw invalidInput('CopyBatch input: Items must be a list');
  const batch = input.BatchInput as Partial<BatchInput> | undefined;
  if (typeof batch !== 'object' || batch === null)
    throw invalidInput('CopyBatch input: BatchInput is required');
  for (const field of ['CredentialsEndpoint', 'SourceBucket', 'DestBucket', 'RunId'] as const) {
    if (typeof batch[field] !== 'string' || batch[field] === '') {
      throw invalidInput(`CopyBatch input: BatchInput.${field} must be a non-empty string`);
    }
  }
  if (typeof batch.Token !== 'object' || batch.Token === null) {
    throw invalidInput('CopyBatch input: BatchInput.Token is required');
  }
  if (input.Results !== undefined && !Array.isArray(input.Results)) {
    throw invalidInput('CopyBatch input: Results must be a list');
  }
  input.Items.forEach((item, i) => {
    if (typeof item?.Key !== 'string' || typeof item.DestKey !== 'string') {
      throw invalidInput(`CopyBatch input: Items[${i}] needs string Key and DestKey`);
    }
  });
}

const describeDestinations = (allowed: readonly BucketAndPrefix[]): string =>
  allowed.map((d) => (d.prefix ? `${d.bucketName}/${d.prefix}` : d.bucketName)).join(', ');

/**
 * Copies a batch of manifest items with bounded concurrency. Items that Plan already marked failed,
 * and per-object failures, are reported as FAILED results; systemic failures (token, credentials
 * endpoint) are thrown with their names. Near the invocation's deadline no new object starts, copies
 * still running are aborted cleanly, and what was not finished comes back in `Deferred`.
 */
export async function copyBatch(input: CopyBatchInput, deps: CopyBatchDeps): Promise<CopyBatchOutput> {
  checkInput(input);
  const batch = input.BatchInput;
  checkEndpoint(batch.CredentialsEndpoint, deps.endpoints, 'BatchInput.CredentialsEndpoint');
  checkTokenReference(batch, deps.tokens);
  const now = deps.now ?? Date.now;
  const copy = deps.copy ?? copyObject;
  const log = deps.logger;
  const throughput = deps.throughput ?? new ThroughputEstimator();
  const concurrency = Math.max(1, Math.floor(deps.concurrency ?? DEFAULT_CONCURRENCY));

  // Results by manifest position; undefined = not started (deferred).
  const slots: (ItemResult | 'DEFERRED' | undefined)[] = input.Items.map(() => undefined);
  const queue: number[] = [];
  input.Items.forEach((item, i) => {
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
    slots.forEach((slot, i) => {
      if (slot === 'DEFERRED' || slot === undefined) deferred.push(input.Items[i]);
      else results.push(slot);
    });
    return { Results: results, Deferred: deferred, BatchInput: batch };
  };

  if (queue.length === 0) return output();

  const initialRemaining = deps.remainingTimeMs();
  // A short timeout (tests, a small function) scales the margins down rather than deferring everything.
  const margin = Math.min(deps.safetyMarginMs ?? 60_000, initialRemaining / 4);
  const abortMargin = Math.min(deps.abortMarginMs ?? 10_000, margin / 2);
  const fresh = (): boolean => deps.remainingTimeMs() >= 0.9 * initialRemaining;

  // Resolving the token and fetching credentials: a failure here is the whole batch's.
  const source = await deps.source(batch);

  let systemic: Error | undefined;
  let stopStarting = false;
  const running = new Map<number, { controller: AbortController; startedFresh: boolean }>();

  const watchdog = setInterval(() => {
    if (deps.remainingTimeMs() > abortMargin) return;
    stopStarting = true;
    for (const [, run] of running) {
      if (!run.controller.signal.aborted) run.controller.abort(new DeadlineError());
    }
  }, deps.watchdogIntervalMs ?? 1_000);
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
    const item = input.Items[index];
    const controller = new AbortController();
    const startedFresh = fresh();
    running.set(index, { controller, startedFresh });
    const startedAt = now();
    try {
      const result: CopyResult = await copy({
        sourceClient: source.client,
        sourceCredentials: source.credentials,
        destinationClient: deps.destination,
        source: { bucket: batch.SourceBucket, key: item.Key },
        destination: { bucket: batch.DestBucket, key: item.DestKey },
        expected: { size: item.Size, eTag: item.ETag },
        options: { ...deps.copyOptions, sync: batch.Sync, signal: controller.signal },
      });
      const durationMs = now() - startedAt;
      if (result.status === 'COPIED') throughput.record(result.bytes, durationMs);
      slots[index] = { Key: item.Key, DestKey: item.DestKey, Status: result.status, Bytes: result.bytes };
      log?.info('object done', {
        key: item.Key,
        destKey: item.DestKey,
        status: result.status,
        bytes: result.bytes,
        durationMs,
        resumes: result.stats.resumes,
        refreshes: result.stats.refreshes,
        md5: result.verified.md5,
      });
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      if (controller.signal.reason instanceof InterruptedError) {
        slots[index] = 'DEFERRED';
        return;
      }
      if (controller.signal.reason instanceof DeadlineError) {
        if (startedFresh) {
          slots[index] = failed(
            item,
            ErrorName.CopyFailed,
            `s3://${batch.SourceBucket}/${item.Key} (${item.Size ?? '?'} bytes) did not finish within a whole ` +
              `invocation of the copy function (${Math.round(initialRemaining / 1000)} s); raise its timeout ` +
              'or give it more memory (network bandwidth grows with it)',
          );
          log?.error('object did not finish within the invocation', { key: item.Key, size: item.Size });
        } else {
          slots[index] = 'DEFERRED';
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
      log?.warn('object failed', { key: item.Key, destKey: item.DestKey, error: name, cause: err.message });
    } finally {
      running.delete(index);
    }
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < queue.length) {
      const index = queue[next];
      if (!canStart(input.Items[index])) return;
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
  if (systemic) throw systemic;

  const out = output();
  const counts = { copied: 0, skipped: 0, failed: 0 };
  for (const r of out.Results.slice(input.Results?.length ?? 0)) {
    if (r.Status === 'COPIED') counts.copied++;
    else if (r.Status === 'SKIPPED') counts.skipped++;
    else counts.failed++;
  }
  log?.info('batch done', {
    ...counts,
    deferred: out.Deferred.length,
    items: input.Items.length,
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
