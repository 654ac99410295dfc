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
  BatchDone,
  ChildExecution,
  ChildIdentity,
  DISTRIBUTED_MAP_RESOURCE,
  DistributedMapPlan,
  isDistributedMap,
  MapRunStarted,
  planDistributedMap,
  runMapRun,
  UNBOUNDED_TIMEOUT_SECONDS,
} from './distributed-map';
import {
  checkFields,
  ExecutionOutcome,
  isObject,
  JsonObject,
  JsonValue,
  StateDefinition,
  StateMachineDefinition,
  toJson,
  UnsupportedDefinitionError,
} from './asl';
import { LambdaFunctions, LambdaHandler, lambdaTaskHandler, TaskHandler } from './lambda';

export type { ExecutionOutcome } from './asl';
export type { LambdaHandler } from './lambda';
export type { BatchDone, MapRunStarted } from './distributed-map';

type Overrides = NonNullable<RunOptions['overrides']>;
type LibraryExecution = ReturnType<StateMachine['run']>;
type EventLog = LibraryExecution['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
/** An aws-local-stepfunctions execution event, tagged with the execution it belongs to. */
export type ExecutionEvent = EventLog & { executionArn: string };

export interface LoadOptions {
  /** Lambda handlers by (unqualified) function ARN, as the definition names the functions. */
  readonly handlers: Record<string, LambdaHandler>;
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
}

export interface LoadedStateMachine {
  /** The definition aws-local-stepfunctions runs: Distributed Map states replaced by stand-in Tasks. */
  readonly definition: StateMachineDefinition;
  readonly stateMachineArn: string;
  run(input: unknown, options?: ExecutionOptions): Promise<ExecutionOutcome>;
}

const DEFAULT_STATE_MACHINE_ARN = 'arn:aws:states:us-west-2:000000000000:stateMachine:LocalStateMachine';
const TASK_FIELDS = [
  'Type',
  'Comment',
  'Next',
  'End',
  'Resource',
  'Parameters',
  'InputPath',
  'OutputPath',
  'ResultPath',
  'ResultSelector',
  'Retry',
  'Catch',
  'TimeoutSeconds',
  'TimeoutSecondsPath',
];
/** Fields of JSONata and of workflow variables, which aws-local-stepfunctions 3 ignores. */
const IGNORED_BY_LIBRARY = ['Assign', 'Arguments', 'Output', 'Items', 'Variables'];

interface Prepared {
  readonly tasks: Record<string, TaskHandler>;
  readonly maps: Record<string, DistributedMapPlan>;
  readonly names: Set<string>;
}

function replaceString(value: unknown, from: string, to: string): unknown {
  if (value === from) return to;
  if (Array.isArray(value)) return value.map((item) => replaceString(item, from, to));
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceString(v, from, to)]));
  return value;
}

/**
 * aws-local-stepfunctions sets a field named "$" for `ResultPath: "$"` instead of replacing the input with
 * the result. `"$"` is also the default ResultPath (of a state and of a catcher): dropping it is exact.
 */
function withoutRootResultPaths(state: StateDefinition): StateDefinition {
  const { ResultPath, ...rest } = state;
  const result: StateDefinition = ResultPath === '$' ? rest : state;
  if (!Array.isArray(state.Catch)) return result;
  const catchers = (state.Catch as Record<string, unknown>[]).map(({ ResultPath: path, ...catcher }) =>
    path === '$' ? catcher : { ...catcher, ResultPath: path },
  );
  return { ...result, Catch: catchers };
}

function prepareDefinition(
  definition: StateMachineDefinition,
  where: string,
  allowed: readonly string[],
  functions: LambdaFunctions,
  prepared: Prepared,
): StateMachineDefinition {
  if (!isObject(definition) || typeof definition.StartAt !== 'string' || !isObject(definition.States)) {
    throw new UnsupportedDefinitionError(where, 'not a state machine definition (StartAt, States)');
  }
  checkFields(where, definition, allowed);
  const states: Record<string, StateDefinition> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    const stateWhere = `${state.Type ?? 'State'} state '${name}'`;
    if (prepared.names.has(name))
      throw new UnsupportedDefinitionError(stateWhere, 'state names must be unique');
    prepared.names.add(name);
    if ('QueryLanguage' in state && state.QueryLanguage !== 'JSONPath') {
      throw new UnsupportedDefinitionError(
        stateWhere,
        'only JSONPath is supported (aws-local-stepfunctions ignores JSONata)',
      );
    }
    const ignored = IGNORED_BY_LIBRARY.filter((field) => field in state);
    if (ignored.length > 0) {
      throw new UnsupportedDefinitionError(
        stateWhere,
        `${ignored.join(', ')} not supported by aws-local-stepfunctions`,
      );
    }
    const { QueryLanguage: _language, ...rest } = withoutRootResultPaths(state);
    let result: StateDefinition = rest as StateDefinition;
    if (state.Type === 'Task') {
      checkFields(stateWhere, state, [...TASK_FIELDS, 'QueryLanguage']);
      const handler = lambdaTaskHandler(name, state, functions);
      if (!handler) {
        throw new UnsupportedDefinitionError(
          stateWhere,
          `resource ${String(state.Resource)} is not emulated locally`,
        );
      }
      prepared.tasks[name] = handler;
      if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
        // Step Functions' default Task timeout is 99999999 s; the library's is 60 s.
        result = { ...result, TimeoutSeconds: UNBOUNDED_TIMEOUT_SECONDS };
      }
    } else if (state.Type === 'Map' && isDistributedMap(state)) {
      const { plan, task } = planDistributedMap(name, rest as StateDefinition);
      const itemProcessor = prepareDefinition(
        plan.itemProcessor,
        `${stateWhere} ItemProcessor`,
        ['StartAt', 'States', 'Comment'],
        functions,
        prepared,
      );
      prepared.maps[name] = { ...plan, itemProcessor };
      result = task;
    } else if (state.Type === 'Map') {
      const field = 'ItemProcessor' in state ? 'ItemProcessor' : 'Iterator';
      const processor = prepareDefinition(
        state[field] as StateMachineDefinition,
        `${stateWhere} ${field}`,
        ['StartAt', 'States', 'Comment', 'ProcessorConfig'],
        functions,
        prepared,
      );
      result = { ...result, [field]: processor };
    } else if (state.Type === 'Parallel' && Array.isArray(state.Branches)) {
      const branches = (state.Branches as StateMachineDefinition[]).map((branch, index) =>
        prepareDefinition(
          branch,
          `${stateWhere} branch ${index}`,
          ['StartAt', 'States', 'Comment'],
          functions,
          prepared,
        ),
      );
      result = { ...result, Branches: branches };
    }
    states[name] = result;
  }
  return { ...definition, States: states };
}

/** The prepared definition with each stand-in Task shown as the Map it replaces, to validate all in one go. */
function validationView(
  definition: StateMachineDefinition,
  maps: Record<string, DistributedMapPlan>,
): StateMachineDefinition {
  const states: Record<string, StateDefinition> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Resource === DISTRIBUTED_MAP_RESOURCE) {
      states[name] = {
        ...maps[name].asInlineMap,
        ItemProcessor: validationView(maps[name].itemProcessor, maps),
      };
    } else if (state.Type === 'Map') {
      const field = 'ItemProcessor' in state ? 'ItemProcessor' : 'Iterator';
      states[name] = { ...state, [field]: validationView(state[field] as StateMachineDefinition, maps) };
    } else if (state.Type === 'Parallel') {
      const branches = state.Branches as StateMachineDefinition[];
      states[name] = { ...state, Branches: branches.map((branch) => validationView(branch, maps)) };
    } else {
      states[name] = state;
    }
  }
  return { ...definition, States: states };
}

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

function forwardEvents(
  execution: LibraryExecution,
  executionArn: string,
  onEvent: ExecutionOptions['onEvent'],
): void {
  if (!onEvent) return;
  void (async () => {
    for await (const event of execution.eventLogs) onEvent({ ...event, executionArn });
  })();
}

/**
 * Loads a definition for local runs: checks it, replaces its Distributed Map states and binds every Lambda
 * Task (including those inside Map and Parallel states) to its handler. Throws UnsupportedDefinitionError
 * for anything not emulated.
 */
export function loadStateMachine(definition: object, options: LoadOptions): LoadedStateMachine {
  const functions = new LambdaFunctions(options.handlers);
  const source = (
    options.stagingBucketPlaceholder
      ? replaceString(definition, options.stagingBucketPlaceholder, options.staging.bucket)
      : definition
  ) as StateMachineDefinition;
  if ('QueryLanguage' in source && source.QueryLanguage !== 'JSONPath') {
    throw new UnsupportedDefinitionError(
      'definition',
      'only JSONPath is supported (aws-local-stepfunctions ignores JSONata)',
    );
  }
  const { QueryLanguage: _language, ...root } = source;
  const prepared: Prepared = { tasks: {}, maps: {}, names: new Set() };
  const rootDefinition = prepareDefinition(
    root as StateMachineDefinition,
    'definition',
    ['StartAt', 'States', 'Comment', 'Version', 'TimeoutSeconds'],
    functions,
    prepared,
  );
  // Validate once (asl-validator takes ~0.5 s per definition), with each Map's child in its place.
  if (options.validate !== false) {
    new StateMachine(validationView(rootDefinition, prepared.maps) as unknown as LibraryDefinition);
  }
  const noValidate = { validationOptions: { noValidate: true } };
  const machine = new StateMachine(rootDefinition as unknown as LibraryDefinition, noValidate);
  const children = Object.fromEntries(
    Object.entries(prepared.maps).map(([name, plan]) => [
      name,
      new StateMachine(plan.itemProcessor as unknown as LibraryDefinition, noValidate),
    ]),
  );
  const stateMachineArn = options.stateMachineArn ?? DEFAULT_STATE_MACHINE_ARN;
  const stateMachineName = stateMachineArn.split(':').pop()!;

  const run = async (input: unknown, execution: ExecutionOptions = {}): Promise<ExecutionOutcome> => {
    const name = execution.name ?? randomUUID();
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    execution.signal?.addEventListener('abort', abort);
    if (execution.signal?.aborted) abort();

    const taskResourceLocalHandlers: Overrides['taskResourceLocalHandlers'] = { ...prepared.tasks };
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
      forwardEvents(child, identity.executionArn, execution.onEvent);
      return { outcome: outcomeOf(child.result), abort: child.abort };
    };
    for (const [stateName, plan] of Object.entries(prepared.maps)) {
      taskResourceLocalHandlers[stateName] = async (taskInput) =>
        (await runMapRun(plan, taskInput as JsonObject, {
          staging: options.staging,
          startChild,
          maxConcurrencyCap: options.maxConcurrencyCap,
          signal: controller.signal,
          onMapRunStarted: execution.onMapRunStarted,
          onBatchDone: execution.onBatchDone,
        })) as never;
    }

    if (controller.signal.aborted) return { Status: 'ABORTED' };
    const rootExecution = machine.run(toJson(input) as never, {
      overrides,
      noThrowOnAbort: true,
      context: {
        Execution: { Id: executionArn, Name: name },
        StateMachine: { Id: stateMachineArn, Name: stateMachineName },
      },
    });
    controller.signal.addEventListener('abort', () => rootExecution.abort());
    forwardEvents(rootExecution, executionArn, execution.onEvent);
    try {
      const outcome = await outcomeOf(rootExecution.result);
      return outcome.Status === 'SUCCEEDED' && controller.signal.aborted ? { Status: 'ABORTED' } : outcome;
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
): Promise<ExecutionOutcome> {
  return loadStateMachine(definition, options).run(input, options);
}
