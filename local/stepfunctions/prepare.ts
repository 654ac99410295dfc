/**
 * Prepares a definition for aws-local-stepfunctions: checks every state for what the library would ignore,
 * binds each Lambda Task to its local handler and replaces each Distributed Map state by its stand-in Task.
 * Anything the host cannot emulate faithfully fails here, before any handler runs.
 */
import './polyfill';
import { StateMachine, type StateMachineDefinition as LibraryDefinition } from 'aws-local-stepfunctions';
import {
  checkFields,
  isObject,
  PATH_AND_TRANSITION_FIELDS,
  StateDefinition,
  StateMachineDefinition,
  UNBOUNDED_TIMEOUT_SECONDS,
  UnsupportedDefinitionError,
} from './asl';
import {
  DISTRIBUTED_MAP_RESOURCE,
  DistributedMapPlan,
  isDistributedMap,
  planDistributedMap,
} from './distributed-map/definition';
import { LambdaFunctions, LambdaHandler, lambdaTaskHandler, TaskHandler } from './lambda';

const TASK_FIELDS = [
  'Type',
  ...PATH_AND_TRANSITION_FIELDS,
  'Resource',
  'Parameters',
  'Retry',
  'Catch',
  'TimeoutSeconds',
  'TimeoutSecondsPath',
];
/** Fields of JSONata and of workflow variables, which aws-local-stepfunctions 3 ignores. */
const IGNORED_BY_LIBRARY = ['Assign', 'Arguments', 'Output', 'Items', 'Variables'];
const ONLY_JSONPATH = 'only JSONPath is supported (aws-local-stepfunctions ignores JSONata)';

/** A definition ready for aws-local-stepfunctions, with what its Task states run. */
export interface PreparedDefinition {
  /** Distributed Map states replaced by stand-in Tasks. */
  readonly definition: StateMachineDefinition;
  /** The local handler of every Lambda Task, by state name. */
  readonly tasks: Record<string, TaskHandler>;
  /** Every Distributed Map state's plan, by state name (its stand-in Task's handler runs the Map Run). */
  readonly maps: Record<string, DistributedMapPlan>;
}

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

/** The field of a Map state that holds its child workflow. */
const processorField = (state: StateDefinition): 'ItemProcessor' | 'Iterator' =>
  'ItemProcessor' in state ? 'ItemProcessor' : 'Iterator';

function prepareStates(
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
  const branch = (
    child: StateMachineDefinition,
    childWhere: string,
    fields: string[],
  ): StateMachineDefinition =>
    prepareStates(child, childWhere, ['StartAt', 'States', 'Comment', ...fields], functions, prepared);
  const states: Record<string, StateDefinition> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    const stateWhere = `${state.Type ?? 'State'} state '${name}'`;
    if (prepared.names.has(name))
      throw new UnsupportedDefinitionError(stateWhere, 'state names must be unique');
    prepared.names.add(name);
    if ('QueryLanguage' in state && state.QueryLanguage !== 'JSONPath') {
      throw new UnsupportedDefinitionError(stateWhere, ONLY_JSONPATH);
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
      const itemProcessor = branch(plan.itemProcessor, `${stateWhere} ItemProcessor`, []);
      prepared.maps[name] = { ...plan, itemProcessor };
      result = task;
    } else if (state.Type === 'Map') {
      const field = processorField(state);
      const processor = branch(state[field] as StateMachineDefinition, `${stateWhere} ${field}`, [
        'ProcessorConfig',
      ]);
      result = { ...result, [field]: processor };
    } else if (state.Type === 'Parallel' && Array.isArray(state.Branches)) {
      const branches = (state.Branches as StateMachineDefinition[]).map((child, index) =>
        branch(child, `${stateWhere} branch ${index}`, []),
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
      const field = processorField(state);
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

export interface PrepareOptions {
  readonly handlers: Record<string, LambdaHandler>;
  /** Timeout of each function in ms, by unqualified function ARN; none: no deadline. */
  readonly functionTimeoutsMs?: Record<string, number>;
  /** A bucket name in the definition that stands for the staging bucket, and that bucket's name. */
  readonly stagingBucket?: { readonly placeholder: string; readonly name: string };
  /** Validate the whole definition with asl-validator (~0.5 s of CPU). */
  readonly validate: boolean;
}

/**
 * Checks a definition, replaces its Distributed Map states and binds every Lambda Task (including those
 * inside Map and Parallel states) to its handler. Throws UnsupportedDefinitionError for anything not emulated.
 */
export function prepareDefinition(definition: object, options: PrepareOptions): PreparedDefinition {
  const functions = new LambdaFunctions(options.handlers, options.functionTimeoutsMs);
  const source = (
    options.stagingBucket
      ? replaceString(definition, options.stagingBucket.placeholder, options.stagingBucket.name)
      : definition
  ) as StateMachineDefinition;
  if ('QueryLanguage' in source && source.QueryLanguage !== 'JSONPath') {
    throw new UnsupportedDefinitionError('definition', ONLY_JSONPATH);
  }
  const { QueryLanguage: _language, ...root } = source;
  const prepared: Prepared = { tasks: {}, maps: {}, names: new Set() };
  const rootDefinition = prepareStates(
    root as StateMachineDefinition,
    'definition',
    ['StartAt', 'States', 'Comment', 'Version', 'TimeoutSeconds'],
    functions,
    prepared,
  );
  // Validate once (asl-validator takes ~0.5 s per definition), with each Map's child in its place.
  if (options.validate) {
    new StateMachine(validationView(rootDefinition, prepared.maps) as unknown as LibraryDefinition);
  }
  return { definition: rootDefinition, tasks: prepared.tasks, maps: prepared.maps };
}
