/**
 * The Distributed Map adapter at load time: checks a `Map` state in DISTRIBUTED mode and replaces it by a
 * Task state whose Parameters make aws-local-stepfunctions resolve every path of the Map (ItemReader.Parameters,
 * BatchInput, the *Path fields) against the effective input with the real Context object. At run time that
 * effective input ({@link MapRunInput}) is what the Task's local handler, the Map Run (./map-run), receives.
 * InputPath, ResultSelector, ResultPath, OutputPath, Retry and Catch stay on the Task, where the library
 * applies them as it would to the Map.
 *
 * Formats follow the Step Functions developer guide: "ItemReader (Map)", "ItemBatcher (Map)",
 * "ResultWriter (Map)" and the States Language's Map State section.
 */
import {
  checkFields,
  isObject,
  isServiceIntegration,
  JsonObject,
  JsonValue,
  PATH_AND_TRANSITION_FIELDS,
  StateDefinition,
  StateMachineDefinition,
  StatesError,
  UNBOUNDED_TIMEOUT_SECONDS,
  UnsupportedDefinitionError,
} from '../asl';

/** The Resource of the Task state that stands in for a Distributed Map state. */
export const DISTRIBUTED_MAP_RESOURCE = 'arn:aws:states:::local:distributedMap';

/** Fields only a Map state in DISTRIBUTED mode may have. */
const DISTRIBUTED_ONLY_FIELDS = [
  'ItemReader',
  'ItemBatcher',
  'ResultWriter',
  'ToleratedFailurePercentage',
  'ToleratedFailurePercentagePath',
  'ToleratedFailureCount',
  'ToleratedFailureCountPath',
  'Label',
] as const;

const MAP_FIELDS = [
  'Type',
  ...PATH_AND_TRANSITION_FIELDS,
  'Retry',
  'Catch',
  'ItemProcessor',
  'Iterator',
  'ItemsPath',
  'ItemSelector',
  'MaxConcurrency',
  'MaxConcurrencyPath',
  ...DISTRIBUTED_ONLY_FIELDS,
] as const;

/** A Map state that must go through this adapter: distributed mode, or any distributed-only field. */
export function isDistributedMap(state: StateDefinition): boolean {
  if (state.Type !== 'Map') return false;
  const processor = state.ItemProcessor;
  const mode =
    isObject(processor) && isObject(processor.ProcessorConfig) ? processor.ProcessorConfig.Mode : undefined;
  return mode === 'DISTRIBUTED' || DISTRIBUTED_ONLY_FIELDS.some((field) => field in state);
}

/** What the adapter needs from a Distributed Map state, checked when the definition is loaded. */
export interface DistributedMapPlan {
  readonly stateName: string;
  /** Label, else the state name: names the Map Run and its child executions. */
  readonly label: string;
  /** The child workflow (ItemProcessor without ProcessorConfig). */
  readonly itemProcessor: StateMachineDefinition;
  readonly readerInputType?: 'JSONL' | 'JSON';
  readonly itemSelector?: JsonObject;
  readonly batched: boolean;
  readonly writesResults: boolean;
  /** The Map state's transitions and error handling, as an inline Map would have them (for validation). */
  readonly asInlineMap: StateDefinition;
}

/** The effective input of the stand-in Task: the Map's fields with their paths resolved by the library. */
export interface MapRunInput {
  Input: JsonValue;
  Context: JsonObject;
  Items?: JsonValue;
  Reader?: { Bucket?: unknown; Key?: unknown };
  ReaderMaxItems?: unknown;
  BatchInput?: JsonValue;
  MaxItemsPerBatch?: unknown;
  MaxInputBytesPerBatch?: unknown;
  MaxConcurrency?: unknown;
  ToleratedFailurePercentage?: unknown;
  ToleratedFailureCount?: unknown;
  Writer?: { Bucket?: unknown; Prefix?: unknown };
}

/** A Map Run that cannot go on: neither retried nor caught, as Step Functions treats States.Runtime. */
export const runtimeError = (where: string, message: string): StatesError =>
  new StatesError('States.Runtime', `${where}: ${message}`, { terminal: true });

/** A number field of the effective input, resolved at run time: an integer >= `min`, or undefined. */
export function integerField(
  where: string,
  input: MapRunInput,
  field: keyof MapRunInput,
  min: number,
): number | undefined {
  const value = input[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw runtimeError(where, `${field} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

type Parameters = Record<string, unknown>;

/** Passes `field` or `fieldPath` (never both) to the stand-in's Parameters as `target`. */
function passValueOrPath(
  where: string,
  parameters: Parameters,
  target: string,
  field: string,
  from: Record<string, unknown>,
): void {
  const value = from[field];
  const path = from[`${field}Path`];
  if (value !== undefined && path !== undefined) {
    throw new UnsupportedDefinitionError(where, `both ${field} and ${field}Path`);
  }
  if (value !== undefined) parameters[target] = value;
  if (path !== undefined) parameters[`${target}.$`] = path;
}

function planProcessor(where: string, state: StateDefinition): StateMachineDefinition {
  if ('Iterator' in state) throw new UnsupportedDefinitionError(where, 'use ItemProcessor, not Iterator');
  const processor = state.ItemProcessor;
  if (!isObject(processor)) throw new UnsupportedDefinitionError(where, 'ItemProcessor is required');
  checkFields(`${where} ItemProcessor`, processor, ['StartAt', 'States', 'Comment', 'ProcessorConfig']);
  const config = isObject(processor.ProcessorConfig) ? processor.ProcessorConfig : {};
  checkFields(`${where} ProcessorConfig`, config, ['Mode', 'ExecutionType']);
  if (config.Mode !== undefined && config.Mode !== 'DISTRIBUTED') {
    throw new UnsupportedDefinitionError(
      where,
      `ProcessorConfig.Mode ${String(config.Mode)} with distributed-only fields`,
    );
  }
  if (config.ExecutionType !== undefined && config.ExecutionType !== 'STANDARD') {
    throw new UnsupportedDefinitionError(where, 'only STANDARD child workflows are emulated');
  }
  const { ProcessorConfig: _config, ...itemProcessor } = processor;
  return itemProcessor as unknown as StateMachineDefinition;
}

function planReader(
  where: string,
  state: StateDefinition,
  parameters: Parameters,
): DistributedMapPlan['readerInputType'] {
  const reader = state.ItemReader;
  if (reader === undefined) {
    parameters['Items.$'] = state.ItemsPath ?? '$';
    return undefined;
  }
  const readerWhere = `${where} ItemReader`;
  if (!isObject(reader)) throw new UnsupportedDefinitionError(readerWhere, 'must be an object');
  checkFields(readerWhere, reader, ['Resource', 'ReaderConfig', 'Parameters']);
  if (!isServiceIntegration(reader.Resource, 's3:getObject')) {
    throw new UnsupportedDefinitionError(
      readerWhere,
      `Resource ${String(reader.Resource)} (only s3:getObject)`,
    );
  }
  const readerConfig = isObject(reader.ReaderConfig) ? reader.ReaderConfig : {};
  checkFields(`${readerWhere} ReaderConfig`, readerConfig, ['InputType', 'MaxItems', 'MaxItemsPath']);
  if (readerConfig.InputType !== 'JSONL' && readerConfig.InputType !== 'JSON') {
    throw new UnsupportedDefinitionError(
      readerWhere,
      `InputType ${String(readerConfig.InputType)} (only JSONL, JSON)`,
    );
  }
  if (!isObject(reader.Parameters))
    throw new UnsupportedDefinitionError(readerWhere, 'Parameters are required');
  checkFields(`${readerWhere} Parameters`, reader.Parameters, ['Bucket', 'Bucket.$', 'Key', 'Key.$']);
  parameters.Reader = reader.Parameters;
  passValueOrPath(where, parameters, 'ReaderMaxItems', 'MaxItems', readerConfig);
  if (state.ItemsPath !== undefined && state.ItemsPath !== '$') {
    throw new UnsupportedDefinitionError(where, 'ItemsPath with an ItemReader');
  }
  return readerConfig.InputType;
}

function planBatcher(where: string, state: StateDefinition, parameters: Parameters): boolean {
  const batcher = state.ItemBatcher;
  if (batcher === undefined) return false;
  const batcherWhere = `${where} ItemBatcher`;
  if (!isObject(batcher)) throw new UnsupportedDefinitionError(batcherWhere, 'must be an object');
  checkFields(batcherWhere, batcher, [
    'MaxItemsPerBatch',
    'MaxItemsPerBatchPath',
    'MaxInputBytesPerBatch',
    'MaxInputBytesPerBatchPath',
    'BatchInput',
  ]);
  passValueOrPath(where, parameters, 'MaxItemsPerBatch', 'MaxItemsPerBatch', batcher);
  passValueOrPath(where, parameters, 'MaxInputBytesPerBatch', 'MaxInputBytesPerBatch', batcher);
  const limits = ['MaxItemsPerBatch', 'MaxInputBytesPerBatch'];
  if (!limits.some((limit) => limit in parameters || `${limit}.$` in parameters)) {
    throw new UnsupportedDefinitionError(batcherWhere, 'needs MaxItemsPerBatch or MaxInputBytesPerBatch');
  }
  if (batcher.BatchInput !== undefined) {
    if (!isObject(batcher.BatchInput))
      throw new UnsupportedDefinitionError(batcherWhere, 'BatchInput must be an object');
    parameters.BatchInput = batcher.BatchInput;
  }
  return true;
}

function planWriter(where: string, state: StateDefinition, parameters: Parameters): boolean {
  const writer = state.ResultWriter;
  if (writer === undefined) return false;
  const writerWhere = `${where} ResultWriter`;
  if (!isObject(writer)) throw new UnsupportedDefinitionError(writerWhere, 'must be an object');
  checkFields(writerWhere, writer, ['Resource', 'Parameters', 'WriterConfig']);
  if (!isServiceIntegration(writer.Resource, 's3:putObject') || !isObject(writer.Parameters)) {
    throw new UnsupportedDefinitionError(
      writerWhere,
      'only Resource s3:putObject with Parameters (export to S3)',
    );
  }
  checkFields(`${writerWhere} Parameters`, writer.Parameters, ['Bucket', 'Bucket.$', 'Prefix', 'Prefix.$']);
  if (writer.WriterConfig !== undefined) {
    const writerConfig = isObject(writer.WriterConfig) ? writer.WriterConfig : {};
    checkFields(`${writerWhere} WriterConfig`, writerConfig, ['Transformation', 'OutputType']);
    if (
      (writerConfig.Transformation ?? 'NONE') !== 'NONE' ||
      (writerConfig.OutputType ?? 'JSON') !== 'JSON'
    ) {
      throw new UnsupportedDefinitionError(
        writerWhere,
        'only WriterConfig { Transformation: NONE, OutputType: JSON } (the default for an S3 export)',
      );
    }
  }
  parameters.Writer = writer.Parameters;
  return true;
}

/** The Task that stands in for the Map, and the Map as an inline Map would look to the validator. */
function standIns(
  state: StateDefinition,
  parameters: Parameters,
): { task: StateDefinition; asInlineMap: StateDefinition } {
  const task: StateDefinition = { Type: 'Task', Resource: DISTRIBUTED_MAP_RESOURCE, Parameters: parameters };
  const asInlineMap: StateDefinition = { Type: 'Map' };
  for (const field of [...PATH_AND_TRANSITION_FIELDS, 'Retry', 'Catch'] as const) {
    if (field in state) asInlineMap[field] = state[field];
  }
  for (const field of PATH_AND_TRANSITION_FIELDS) {
    if (field in state) task[field] = state[field];
  }
  // A Map state never fails with States.TaskFailed; on the stand-in Task that name would match every error.
  for (const field of ['Retry', 'Catch'] as const) {
    if (!Array.isArray(state[field])) continue;
    const kept = (state[field] as Record<string, unknown>[])
      .map((rule) => ({
        ...rule,
        ErrorEquals: (rule.ErrorEquals as string[]).filter((name) => name !== 'States.TaskFailed'),
      }))
      .filter((rule) => rule.ErrorEquals.length > 0);
    if (kept.length > 0) task[field] = kept;
  }
  task.TimeoutSeconds = UNBOUNDED_TIMEOUT_SECONDS;
  return { task, asInlineMap };
}

/**
 * Checks a Distributed Map state and returns its plan plus the Task state that replaces it. Anything the
 * adapter does not emulate fails here, with the state's name, rather than being ignored at run time.
 */
export function planDistributedMap(
  stateName: string,
  state: StateDefinition,
): { plan: DistributedMapPlan; task: StateDefinition } {
  const where = `Map state '${stateName}'`;
  checkFields(where, state, MAP_FIELDS);
  const itemProcessor = planProcessor(where, state);
  const parameters: Parameters = { 'Input.$': '$', 'Context.$': '$$' };
  const readerInputType = planReader(where, state, parameters);
  if (state.ItemSelector !== undefined && !isObject(state.ItemSelector)) {
    throw new UnsupportedDefinitionError(where, 'ItemSelector must be an object');
  }
  const batched = planBatcher(where, state, parameters);
  const writesResults = planWriter(where, state, parameters);
  passValueOrPath(where, parameters, 'MaxConcurrency', 'MaxConcurrency', state);
  passValueOrPath(where, parameters, 'ToleratedFailurePercentage', 'ToleratedFailurePercentage', state);
  passValueOrPath(where, parameters, 'ToleratedFailureCount', 'ToleratedFailureCount', state);
  if (state.Label !== undefined && (typeof state.Label !== 'string' || state.Label.length === 0)) {
    throw new UnsupportedDefinitionError(where, 'Label must be a non-empty string');
  }
  const { task, asInlineMap } = standIns(state, parameters);
  return {
    plan: {
      stateName,
      label: (state.Label as string | undefined) ?? stateName,
      itemProcessor,
      readerInputType,
      itemSelector: state.ItemSelector as JsonObject | undefined,
      batched,
      writesResults,
      asInlineMap,
    },
    task,
  };
}
