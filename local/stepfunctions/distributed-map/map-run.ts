/**
 * A Map Run: the local handler of the Task that stands in for a Distributed Map state. It counts the items
 * in a first pass, then reads them again, forming each child's input as the child starts, runs the children
 * with bounded concurrency, applies the tolerated failure threshold and writes each child's result as it
 * ends. What it holds does not grow with the number of items: counters, the running children and their
 * inputs, one batch being formed, and the result files' stream buffers. Only a Map without ResultWriter
 * keeps its children's results, for its output (bounded by the payload limit).
 */
import { randomUUID } from 'node:crypto';
import type { StagingStore } from '../../../shared/staging';
import {
  executionArnOf,
  ExecutionOutcome,
  isObject,
  JsonValue,
  jsonBytes,
  PAYLOAD_LIMIT_BYTES,
  StatesError,
} from '../asl';
import { DistributedMapPlan, integerField, MapRunInput, runtimeError } from './definition';
import {
  batchLimits,
  Batcher,
  ChildInput,
  childInputs,
  itemSelector,
  itemsOf,
  ItemStages,
  sizeOf,
} from './items';
import { ChildRecord, inputDigest, resultEntry, ResultFiles, succeededEntries } from './results';

/** Concurrency when MaxConcurrency is 0 (unbounded) and the upper bound otherwise, on one machine. */
export const DEFAULT_MAX_CONCURRENCY_CAP = 40;

/** How a child workflow execution ended. */
export type ChildOutcome = ExecutionOutcome;

export interface ChildExecution {
  readonly outcome: Promise<ChildOutcome>;
  abort(): void;
}

/** Identity of one child workflow execution, as Step Functions would name it. */
export interface ChildIdentity {
  readonly name: string;
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly mapRunArn: string;
}

export interface MapRunStarted {
  readonly stateName: string;
  readonly mapRunArn: string;
  readonly totalItems: number;
  readonly totalBatches: number;
}

/** Progress after each child workflow execution (one batch, or one item when not batching). */
export interface BatchDone {
  readonly stateName: string;
  readonly mapRunArn: string;
  readonly index: number;
  readonly itemCount: number;
  readonly outcome: ChildOutcome;
  readonly totals: {
    readonly items: number;
    readonly batches: number;
    readonly batchesDone: number;
    readonly itemsSucceeded: number;
    readonly itemsFailed: number;
  };
}

/** What a Map Run needs from its host. */
export interface MapRunRuntime {
  readonly staging: StagingStore;
  /** Starts the child workflow (the plan's ItemProcessor) on one input. */
  startChild(plan: DistributedMapPlan, input: JsonValue, identity: ChildIdentity): ChildExecution;
  /** Upper bound on concurrent child executions (default {@link DEFAULT_MAX_CONCURRENCY_CAP}). */
  readonly maxConcurrencyCap?: number;
  /** Aborts the Map Run: running children are aborted, no further child starts. */
  readonly signal?: AbortSignal;
  readonly onMapRunStarted?: (event: MapRunStarted) => void;
  readonly onBatchDone?: (event: BatchDone) => void;
  /**
   * An aborted Map Run (its execution stopped or timed out) keeps its result files rather than removing
   * them, and names its `manifest.json` here: what a redrive of the execution starts from.
   */
  readonly onAbortedResults?: (manifestKey: string) => void;
  /**
   * Redrive: the `manifest.json` of the Map Run's earlier attempt. Its SUCCEEDED children are not run
   * again (their entries are carried into this run's results); every other child runs, with its input.
   */
  readonly redriveFrom?: string;
  readonly now?: () => Date;
  readonly newId?: () => string;
}

/** ToleratedFailureCount and ToleratedFailurePercentage, the percentage of all the Map Run's items. */
function failureThreshold(where: string, input: MapRunInput, totalItems: number) {
  const count = integerField(where, input, 'ToleratedFailureCount', 0);
  const percentage = input.ToleratedFailurePercentage;
  if (percentage !== undefined && (typeof percentage !== 'number' || percentage < 0 || percentage > 100)) {
    throw runtimeError(
      where,
      `ToleratedFailurePercentage must be a number from 0 to 100, got ${JSON.stringify(percentage)}`,
    );
  }
  return {
    exceeded: (failedItems: number): boolean => {
      if (count === undefined && percentage === undefined) return failedItems > 0;
      return (
        (count !== undefined && failedItems > count) ||
        (percentage !== undefined && (failedItems / totalItems) * 100 > (percentage as number))
      );
    },
    describe: (failedItems: number): string =>
      `${failedItems} of ${totalItems} items failed, more than the tolerated failure threshold ` +
      `(ToleratedFailureCount ${count ?? 'unset'}, ToleratedFailurePercentage ${percentage ?? 'unset'}).`,
  };
}

/**
 * Child inputs read ahead of the workers, as many as may run at once: a child starts as soon as another
 * ends, and the first ones start together, as when every input was formed up front.
 */
class ReadAhead {
  private readonly queue: Promise<IteratorResult<ChildInput>>[] = [];

  constructor(
    private readonly children: AsyncIterator<ChildInput>,
    private readonly size: number,
  ) {}

  /** Waits until the first `count` inputs are read (or the reading failed). */
  async ready(count: number): Promise<void> {
    this.fill();
    await Promise.allSettled(this.queue.slice(0, count));
  }

  next(): Promise<IteratorResult<ChildInput>> {
    this.fill();
    const next = this.queue.shift()!;
    this.fill();
    return next;
  }

  private fill(): void {
    while (this.queue.length < this.size) {
      const next = this.children.next();
      // Whoever takes it sees the failure; until then it must not count as unhandled.
      next.catch(() => undefined);
      this.queue.push(next);
    }
  }
}

/** Runs one Map Run: the local handler of the Task that stands in for the Distributed Map state. */
export async function runMapRun(
  plan: DistributedMapPlan,
  taskInput: JsonValue,
  runtime: MapRunRuntime,
): Promise<JsonValue> {
  const where = `Map state '${plan.stateName}'`;
  if (!isObject(taskInput)) throw runtimeError(where, 'unexpected stand-in input');
  const input = taskInput as unknown as MapRunInput;
  const now = runtime.now ?? (() => new Date());
  const newId = runtime.newId ?? randomUUID;

  const items = itemsOf(plan, input, runtime.staging);
  const stages: ItemStages = {
    select: plan.itemSelector && itemSelector(plan.itemSelector, input.Input, input.Context),
    batcher: plan.batched ? () => new Batcher(batchLimits(where, input)) : undefined,
    batchInput: input.BatchInput,
  };
  const size = await sizeOf(items(), stages);
  const threshold = failureThreshold(where, input, size.items);

  const stateMachine = isObject(input.Context.StateMachine) ? input.Context.StateMachine : {};
  const parentArn =
    typeof stateMachine.Id === 'string'
      ? stateMachine.Id
      : 'arn:aws:states:us-west-2:000000000000:stateMachine:local';
  const mapRunId = newId();
  const childStateMachineArn = `${parentArn}/${plan.label}`;
  const mapRunArn = `${childStateMachineArn.replace(':stateMachine:', ':mapRun:')}:${mapRunId}`;
  runtime.onMapRunStarted?.({
    stateName: plan.stateName,
    mapRunArn,
    totalItems: size.items,
    totalBatches: size.children,
  });

  const maxConcurrency = integerField(where, input, 'MaxConcurrency', 0) ?? 0;
  const cap = runtime.maxConcurrencyCap ?? DEFAULT_MAX_CONCURRENCY_CAP;
  const concurrency = maxConcurrency > 0 ? Math.min(maxConcurrency, cap) : cap;
  const results = plan.writesResults
    ? ResultFiles.create(runtime.staging, input.Writer ?? {}, mapRunId, mapRunArn)
    : undefined;
  // Without ResultWriter the Map's output is the array of its children's results, in item order.
  const inline: JsonValue[] = [];

  // A redrive: the earlier attempt's SUCCEEDED children, by the digest of their input (a count each, for
  // units that repeat), carried into this run's results before any child starts.
  const carried = new Map<string, number>();
  if (runtime.redriveFrom && results) {
    for await (const entry of succeededEntries(runtime.staging, runtime.redriveFrom)) {
      if (typeof entry.Input !== 'string') continue;
      const digest = inputDigest(entry.Input);
      carried.set(digest, (carried.get(digest) ?? 0) + 1);
      await results.addEntry('SUCCEEDED', entry);
    }
  }
  const alreadySucceeded = (input: JsonValue): boolean => {
    if (carried.size === 0) return false;
    const digest = inputDigest(JSON.stringify(input));
    const left = carried.get(digest) ?? 0;
    if (left === 0) return false;
    if (left === 1) carried.delete(digest);
    else carried.set(digest, left - 1);
    return true;
  };

  const running = new Set<ChildExecution>();
  let stop: 'threshold' | 'aborted' | 'failed' | undefined;
  let failure: unknown;
  const stopAll = (reason: NonNullable<typeof stop>): void => {
    stop ??= reason;
    for (const child of running) child.abort();
  };
  const fail = (error: unknown): void => {
    failure ??= error;
    stopAll('failed');
  };
  const onAbort = (): void => stopAll('aborted');
  runtime.signal?.addEventListener('abort', onAbort);
  if (runtime.signal?.aborted) stop = 'aborted';

  let batchesDone = 0;
  let itemsSucceeded = 0;
  let itemsFailed = 0;
  const runChild = async (child: ChildInput): Promise<void> => {
    const name = newId();
    const identity: ChildIdentity = {
      name,
      executionArn: executionArnOf(childStateMachineArn, name),
      stateMachineArn: childStateMachineArn,
      mapRunArn,
    };
    const startDate = now();
    const execution = runtime.startChild(plan, child.input, identity);
    running.add(execution);
    const outcome = await execution.outcome;
    running.delete(execution);
    const record: ChildRecord = { input: child.input, identity, startDate, stopDate: now(), outcome };
    batchesDone++;
    if (outcome.Status === 'SUCCEEDED') itemsSucceeded += child.itemCount;
    else if (outcome.Status !== 'ABORTED' || stop === undefined) itemsFailed += child.itemCount;
    if (outcome.Status !== 'SUCCEEDED' && threshold.exceeded(itemsFailed)) stopAll('threshold');
    runtime.onBatchDone?.({
      stateName: plan.stateName,
      mapRunArn,
      index: child.index,
      itemCount: child.itemCount,
      outcome,
      totals: { items: size.items, batches: size.children, batchesDone, itemsSucceeded, itemsFailed },
    });
    if (results) await results.add(record).catch(fail);
    else inline[child.index] = outcome.Status === 'SUCCEEDED' ? outcome.Output : resultEntry(record);
  };

  const children = childInputs(items(), stages);
  const ahead = new ReadAhead(children, concurrency);
  // Children a worker took after the Map Run stopped: the first of the PENDING ones.
  const unstarted: ChildInput[] = [];
  const worker = async (): Promise<void> => {
    while (stop === undefined) {
      let next: IteratorResult<ChildInput>;
      try {
        next = await ahead.next();
      } catch (error) {
        return fail(error);
      }
      if (next.done) return;
      if (stop !== undefined) unstarted.push(next.value);
      else if (alreadySucceeded(next.value.input)) {
        batchesDone++;
        itemsSucceeded += next.value.itemCount;
      } else await runChild(next.value);
    }
  };
  try {
    const workers = Math.min(concurrency, size.children);
    await ahead.ready(workers);
    await Promise.all(Array.from({ length: workers }, worker));
    if (stop === 'aborted')
      throw new StatesError('States.Runtime', `${where}: the Map Run ${mapRunArn} was aborted`);
    if (failure !== undefined) throw failure;
    if (results && stop === 'threshold') {
      unstarted.sort((a, b) => a.index - b.index);
      for (const child of unstarted) await results.add({ input: child.input });
      for (let next = await ahead.next(); !next.done; next = await ahead.next()) {
        await results.add({ input: next.value.input });
      }
    }
  } catch (error) {
    if (stop === 'aborted' && results && runtime.onAbortedResults) {
      // Kept for a redrive: what succeeded need not run again.
      const kept = await results.finish().catch(() => undefined);
      const details = kept?.ResultWriterDetails as { Key?: string } | undefined;
      if (details?.Key) runtime.onAbortedResults(details.Key);
      else await results.discard();
    } else await results?.discard();
    throw error;
  } finally {
    runtime.signal?.removeEventListener('abort', onAbort);
    await children.return(undefined);
  }

  const result = results ? await results.finish() : inline;
  if (stop === 'threshold') {
    throw new StatesError(
      'States.ExceedToleratedFailureThreshold',
      `The Map Run ${mapRunArn} failed: ${threshold.describe(itemsFailed)}`,
    );
  }
  const bytes = jsonBytes(result);
  if (bytes > PAYLOAD_LIMIT_BYTES) {
    throw new StatesError(
      'States.DataLimitExceeded',
      `The state/task '${plan.stateName}' returned a result with a size exceeding the maximum number of bytes service limit (${bytes} > ${PAYLOAD_LIMIT_BYTES}); use a ResultWriter.`,
      { terminal: true },
    );
  }
  return result;
}
