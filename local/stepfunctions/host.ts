/**
 * The one-machine host's engine room: runs a CDK-synthesized state machine definition in this process with
 * aws-local-stepfunctions, Lambda Task states bound to local handlers and Distributed Map states run by the
 * adapter in ./distributed-map. Anything the host cannot emulate faithfully fails when the definition is
 * loaded, before any handler runs.
 */
import './polyfill';
import { randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type RunOptions,
  type StateMachineDefinition as LibraryDefinition,
} from 'aws-local-stepfunctions';
import type { StagingStore } from '../../shared/staging';
import {
  executionArnOf,
  ExecutionOutcome,
  JsonObject,
  JsonValue,
  StateMachineDefinition,
  toJson,
} from './asl';
import type { DistributedMapPlan } from './distributed-map/definition';
import {
  BatchDone,
  ChildExecution,
  ChildIdentity,
  MapRunStarted,
  runMapRun,
} from './distributed-map/map-run';
import type { LambdaHandler } from './lambda';
import { prepareDefinition } from './prepare';
import { UsageCounter, type ExecutionUsage } from './usage';

export type { ExecutionOutcome } from './asl';
export type { LambdaContext, LambdaHandler } from './lambda';
export type { ExecutionUsage } from './usage';
export type { BatchDone, MapRunStarted } from './distributed-map/map-run';

type Overrides = NonNullable<RunOptions['overrides']>;
type LibraryExecution = ReturnType<StateMachine['run']>;
type EventLog = LibraryExecution['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
/** An aws-local-stepfunctions execution event, tagged with the execution it belongs to. */
export type ExecutionEvent = EventLog & { executionArn: string };

export interface LoadOptions {
  /** Lambda handlers by (unqualified) function ARN, as the definition names the functions. */
  readonly handlers: Record<string, LambdaHandler>;
  /**
   * Each function's timeout in ms, by unqualified function ARN, as the deployed function has it: an
   * invocation that runs past it is killed (its Task fails with `Sandbox.Timedout`). A function not
   * listed has no deadline on this machine.
   */
  readonly functionTimeoutsMs?: Record<string, number>;
  /** Where Distributed Map states read their ItemReader object and write their ResultWriter results. */
  readonly staging: StagingStore;
  /** A bucket name in the definition that stands for the staging bucket: replaced by `staging.bucket`. */
  readonly stagingBucketPlaceholder?: string;
  /** ARN of the state machine in the Context object (`$$.StateMachine.Id`) and in Map Run ARNs. */
  readonly stateMachineArn?: string;
  /** Pause of each state's Retry, in ms (by state name), instead of IntervalSeconds/BackoffRate. */
  readonly retryIntervalOverrides?: Record<string, number | number[]>;
  /** Duration of Wait states, in ms (by state name). */
  readonly waitTimeOverrides?: Record<string, number>;
  /** Bound on concurrent child executions of a Distributed Map on this machine (default 40). */
  readonly maxConcurrencyCap?: number;
  /**
   * Validate the definition with asl-validator when it is loaded (~0.5 s of CPU). Only a definition
   * validated elsewhere (the committed artifact, by the tests) may skip it. @default true
   */
  readonly validate?: boolean;
}

export interface ExecutionOptions {
  /** Execution name (`$$.Execution.Name`); a UUID by default. */
  readonly name?: string;
  /** Aborts the execution: it ends ABORTED and no further state or child execution starts. */
  readonly signal?: AbortSignal;
  /** Every state event of the execution and of the Map Runs' child executions. */
  readonly onEvent?: (event: ExecutionEvent) => void;
  readonly onMapRunStarted?: (event: MapRunStarted) => void;
  /** Progress: called after each child workflow execution (a batch) of a Distributed Map. */
  readonly onBatchDone?: (event: BatchDone) => void;
  /**
   * Redrives an execution that did not succeed (Step Functions' RedriveExecution): it starts again at
   * the state it stopped in, with that state's input and the same execution name; a Distributed Map
   * state runs only the children that did not succeed before. Takes precedence over `name`, and the
   * input given to `run` is ignored.
   */
  readonly redrive?: RedrivePoint;
  /** An execution that did not succeed: where a redrive of it would start. */
  readonly onRedrivePoint?: (point: RedrivePoint) => void;
}

/** Where an execution that did not succeed stopped: what a redrive starts from. */
export interface RedrivePoint {
  /** The execution's name (a redrive keeps it). */
  readonly name: string;
  /** The top-level state it stopped in, and the input that state was given. */
  readonly state: string;
  readonly input: JsonValue;
  /** The result manifests of the Map Runs it aborted, by Map state name. */
  readonly mapRuns: Readonly<Record<string, string>>;
}

/** How an execution ended, and what it would be billed for; where a redrive would start, if it failed. */
export type RunOutcome = ExecutionOutcome & {
  readonly usage: ExecutionUsage;
  readonly redrive?: RedrivePoint;
};

export interface LoadedStateMachine {
  /** The definition aws-local-stepfunctions runs: Distributed Map states replaced by stand-in Tasks. */
  readonly definition: StateMachineDefinition;
  readonly stateMachineArn: string;
  run(input: unknown, options?: ExecutionOptions): Promise<RunOutcome>;
}

const DEFAULT_STATE_MACHINE_ARN = 'arn:aws:states:us-west-2:000000000000:stateMachine:LocalStateMachine';

/** Maps how an aws-local-stepfunctions execution ended to Step Functions' status, Error and Cause. */
async function outcomeOf(result: Promise<unknown>): Promise<ExecutionOutcome> {
  try {
    return { Status: 'SUCCEEDED', Output: toJson(await result) };
  } catch (error) {
    if (error instanceof ExecutionAbortedError) return { Status: 'ABORTED' };
    if (error instanceof ExecutionTimeoutError) {
      return {
        Status: 'TIMED_OUT',
        Error: 'States.Timeout',
        Cause: 'The execution timed out (TimeoutSeconds)',
      };
    }
    const failure =
      error instanceof ExecutionError && error.cause instanceof Error ? error.cause : (error as Error);
    return { Status: 'FAILED', Error: failure.name, Cause: failure.message };
  }
}

/**
 * Reads an execution's event log to its end (the library closes it when the execution ends, however it
 * ends): counts its transitions and forwards each event. Resolves once the log is closed.
 */
async function readEvents(
  execution: LibraryExecution,
  executionArn: string,
  usage: UsageCounter,
  onEvent: ExecutionOptions['onEvent'],
  current?: { state?: { name: string; input: JsonValue } },
): Promise<void> {
  for await (const event of execution.eventLogs) {
    usage.countEvent(event);
    // The top-level state the execution is in (states of inline Map iterations carry an index).
    if (current && event.type === 'StateEntered' && event.index === undefined) {
      current.state = { name: event.state.name, input: event.state.input as JsonValue };
    }
    onEvent?.({ ...event, executionArn });
  }
}

/**
 * Loads a definition for local runs: checks it, replaces its Distributed Map states and binds every Lambda
 * Task (including those inside Map and Parallel states) to its handler. Throws UnsupportedDefinitionError
 * for anything not emulated.
 */
export function loadStateMachine(definition: object, options: LoadOptions): LoadedStateMachine {
  const prepared = prepareDefinition(definition, {
    handlers: options.handlers,
    functionTimeoutsMs: options.functionTimeoutsMs,
    stagingBucket: options.stagingBucketPlaceholder
      ? { placeholder: options.stagingBucketPlaceholder, name: options.staging.bucket }
      : undefined,
    validate: options.validate !== false,
  });
  const rootDefinition = prepared.definition;
  const noValidate = { validationOptions: { noValidate: true } };
  const machine = new StateMachine(rootDefinition as unknown as LibraryDefinition, noValidate);
  /** The same machine started at one of its top-level states (a redrive). */
  const startingAt = (state: string): StateMachine => {
    if (!(state in (rootDefinition as { States: Record<string, unknown> }).States)) {
      throw new Error(`cannot redrive from state '${state}': the definition has no such top-level state`);
    }
    return new StateMachine(
      { ...rootDefinition, StartAt: state } as unknown as LibraryDefinition,
      noValidate,
    );
  };
  const children = Object.fromEntries(
    Object.entries(prepared.maps).map(([name, plan]) => [
      name,
      new StateMachine(plan.itemProcessor as unknown as LibraryDefinition, noValidate),
    ]),
  );
  const stateMachineArn = options.stateMachineArn ?? DEFAULT_STATE_MACHINE_ARN;
  const stateMachineName = stateMachineArn.split(':').pop()!;

  const run = async (input: unknown, execution: ExecutionOptions = {}): Promise<RunOutcome> => {
    const usage = new UsageCounter();
    const redrive = execution.redrive;
    const name = redrive?.name ?? execution.name ?? randomUUID();
    const abortedMapRuns: Record<string, string> = {};
    const current: { state?: { name: string; input: JsonValue } } = {};
    const executionArn = executionArnOf(stateMachineArn, name);
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    execution.signal?.addEventListener('abort', abort);
    if (execution.signal?.aborted) abort();

    const taskResourceLocalHandlers: NonNullable<Overrides['taskResourceLocalHandlers']> = {};
    for (const [stateName, task] of Object.entries(prepared.tasks)) {
      taskResourceLocalHandlers[stateName] = (taskInput) => task(taskInput as JsonValue, usage) as never;
    }
    const overrides: Overrides = {
      taskResourceLocalHandlers,
      retryIntervalOverrides: options.retryIntervalOverrides,
      waitTimeOverrides: options.waitTimeOverrides,
    };
    const startChild = (
      plan: DistributedMapPlan,
      childInput: JsonValue,
      identity: ChildIdentity,
    ): ChildExecution => {
      const child = children[plan.stateName].run(childInput, {
        overrides,
        context: {
          Execution: { Id: identity.executionArn, Name: identity.name },
          StateMachine: { Id: identity.stateMachineArn, Name: identity.stateMachineArn.split(':').pop() },
        },
      });
      usage.childStarted();
      const read = readEvents(child, identity.executionArn, usage, execution.onEvent);
      const outcome = (async () => {
        const ended = await outcomeOf(child.result);
        // Its transitions are all counted once its log is closed.
        await read;
        return ended;
      })();
      return { outcome, abort: child.abort };
    };
    // Map Runs in flight: an execution that ends (timed out, aborted) waits for them to stop.
    const mapRuns = new Set<Promise<unknown>>();
    for (const [stateName, plan] of Object.entries(prepared.maps)) {
      taskResourceLocalHandlers[stateName] = async (taskInput) => {
        const mapRun = runMapRun(plan, taskInput as JsonObject, {
          staging: options.staging,
          startChild,
          maxConcurrencyCap: options.maxConcurrencyCap,
          signal: controller.signal,
          onMapRunStarted: execution.onMapRunStarted,
          onBatchDone: execution.onBatchDone,
          onAbortedResults: (key) => (abortedMapRuns[stateName] = key),
          redriveFrom: redrive?.state === stateName ? redrive.mapRuns[stateName] : undefined,
        });
        mapRuns.add(mapRun);
        try {
          return (await mapRun) as never;
        } finally {
          mapRuns.delete(mapRun);
        }
      };
    }

    if (controller.signal.aborted) return { Status: 'ABORTED', usage: usage.snapshot() };
    const root = redrive ? startingAt(redrive.state) : machine;
    const rootExecution = root.run(toJson(redrive ? redrive.input : input) as never, {
      overrides,
      noThrowOnAbort: true,
      context: {
        Execution: { Id: executionArn, Name: name },
        StateMachine: { Id: stateMachineArn, Name: stateMachineName },
      },
    });
    controller.signal.addEventListener('abort', () => rootExecution.abort());
    const read = readEvents(rootExecution, executionArn, usage, execution.onEvent, current);
    try {
      const outcome = await outcomeOf(rootExecution.result);
      await read;
      if (outcome.Status !== 'SUCCEEDED' && mapRuns.size > 0) {
        // Timed out (or aborted) during a Map: its Map Run is stopped, and keeps its results for a redrive.
        controller.abort();
        await Promise.allSettled([...mapRuns]);
      }
      const ended: ExecutionOutcome =
        outcome.Status === 'SUCCEEDED' && controller.signal.aborted ? { Status: 'ABORTED' } : outcome;
      const stoppedIn = current.state;
      if (ended.Status !== 'SUCCEEDED' && stoppedIn) {
        execution.onRedrivePoint?.({
          name,
          state: stoppedIn.name,
          input: stoppedIn.input,
          mapRuns: abortedMapRuns,
        });
      }
      return { ...ended, usage: usage.snapshot() };
    } finally {
      execution.signal?.removeEventListener('abort', abort);
      controller.abort();
    }
  };

  return { definition: rootDefinition, stateMachineArn, run };
}

/** Loads a definition and runs one execution of it; see {@link loadStateMachine}. */
export async function runStateMachine(
  definition: object,
  input: unknown,
  options: LoadOptions & ExecutionOptions,
): Promise<RunOutcome> {
  return loadStateMachine(definition, options).run(input, options);
}
