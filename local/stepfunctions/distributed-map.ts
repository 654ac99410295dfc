/**
 * The Distributed Map adapter: what aws-local-stepfunctions lacks to run a `Map` state in DISTRIBUTED mode
 * (ItemReader, ItemBatcher, failure tolerance, ResultWriter). Each such Map state is replaced, when the
 * definition is loaded, by a Task state whose Parameters make the library resolve every path of the Map
 * (ItemReader.Parameters, BatchInput, the *Path fields) against the effective input with the real Context
 * object; its local handler then runs a Map Run: reads the items, batches them, runs each batch as a child
 * workflow execution with bounded concurrency, applies the tolerated failure threshold and writes the
 * results in Step Functions' format. InputPath, ResultSelector, ResultPath, OutputPath, Retry and Catch stay
 * on the Task, where the library applies them as it would to the Map.
 *
 * Formats follow the Step Functions developer guide: "ItemReader (Map)", "ItemBatcher (Map)",
 * "ResultWriter (Map)" and the States Language's Map State section.
 */
import './polyfill';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import type { StagingStore } from '../../shared/staging';
import {
  checkFields,
  ExecutionOutcome,
  isObject,
  isServiceIntegration,
  JsonObject,
  JsonValue,
  jsonBytes,
  PAYLOAD_LIMIT_BYTES,
  StateDefinition,
  StateMachineDefinition,
  StatesError,
  UnsupportedDefinitionError,
} from './asl';

/** The Resource of the Task state that stands in for a Distributed Map state. */
export const DISTRIBUTED_MAP_RESOURCE = 'arn:aws:states:::local:distributedMap';

/** Concurrency when MaxConcurrency is 0 (unbounded) and the upper bound otherwise, on one machine. */
export const DEFAULT_MAX_CONCURRENCY_CAP = 40;

/** Longest Task timeout Node's timers can hold (setTimeout overflows past 2^31-1 ms); Map states have none. */
export const UNBOUNDED_TIMEOUT_SECONDS = 2_000_000;

const MAP_FIELDS = [
  'Type',
  'Comment',
  'Next',
  'End',
  'InputPath',
  'OutputPath',
  'ResultPath',
  'ResultSelector',
  'Retry',
  'Catch',
  'ItemProcessor',
  'Iterator',
  'ItemReader',
  'ItemsPath',
  'ItemSelector',
  'ItemBatcher',
  'ResultWriter',
  'MaxConcurrency',
  'MaxConcurrencyPath',
  'ToleratedFailurePercentage',
  'ToleratedFailurePercentagePath',
  'ToleratedFailureCount',
  'ToleratedFailureCountPath',
  'Label',
] as const;

/** A Map state that must go through this adapter: distributed mode, or any distributed-only field. */
export function isDistributedMap(state: StateDefinition): boolean {
  if (state.Type !== 'Map') return false;
  const processor = state.ItemProcessor;
  const mode =
    isObject(processor) && isObject(processor.ProcessorConfig) ? processor.ProcessorConfig.Mode : undefined;
  return (
    mode === 'DISTRIBUTED' ||
    [
      'ItemReader',
      'ItemBatcher',
      'ResultWriter',
      'ToleratedFailurePercentage',
      'ToleratedFailurePercentagePath',
      'ToleratedFailureCount',
      'ToleratedFailureCountPath',
      'Label',
    ].some((field) => field in state)
  );
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

  const parameters: Record<string, unknown> = { 'Input.$': '$', 'Context.$': '$$' };
  const passNumber = (target: string, value: unknown, path: unknown, field: string): void => {
    if (value !== undefined && path !== undefined) {
      throw new UnsupportedDefinitionError(where, `both ${field} and ${field}Path`);
    }
    if (value !== undefined) parameters[target] = value;
    if (path !== undefined) parameters[`${target}.$`] = path;
  };

  let readerInputType: DistributedMapPlan['readerInputType'];
  const reader = state.ItemReader;
  if (reader !== undefined) {
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
    readerInputType = readerConfig.InputType;
    if (!isObject(reader.Parameters))
      throw new UnsupportedDefinitionError(readerWhere, 'Parameters are required');
    checkFields(`${readerWhere} Parameters`, reader.Parameters, ['Bucket', 'Bucket.$', 'Key', 'Key.$']);
    parameters.Reader = reader.Parameters;
    passNumber('ReaderMaxItems', readerConfig.MaxItems, readerConfig.MaxItemsPath, 'MaxItems');
    if (state.ItemsPath !== undefined && state.ItemsPath !== '$') {
      throw new UnsupportedDefinitionError(where, 'ItemsPath with an ItemReader');
    }
  } else {
    parameters['Items.$'] = state.ItemsPath ?? '$';
  }

  let itemSelector: JsonObject | undefined;
  if (state.ItemSelector !== undefined) {
    if (!isObject(state.ItemSelector))
      throw new UnsupportedDefinitionError(where, 'ItemSelector must be an object');
    itemSelector = state.ItemSelector as JsonObject;
  }

  const batcher = state.ItemBatcher;
  if (batcher !== undefined) {
    const batcherWhere = `${where} ItemBatcher`;
    if (!isObject(batcher)) throw new UnsupportedDefinitionError(batcherWhere, 'must be an object');
    checkFields(batcherWhere, batcher, [
      'MaxItemsPerBatch',
      'MaxItemsPerBatchPath',
      'MaxInputBytesPerBatch',
      'MaxInputBytesPerBatchPath',
      'BatchInput',
    ]);
    passNumber(
      'MaxItemsPerBatch',
      batcher.MaxItemsPerBatch,
      batcher.MaxItemsPerBatchPath,
      'MaxItemsPerBatch',
    );
    passNumber(
      'MaxInputBytesPerBatch',
      batcher.MaxInputBytesPerBatch,
      batcher.MaxInputBytesPerBatchPath,
      'MaxInputBytesPerBatch',
    );
    if (!(
      'MaxItemsPerBatch' in parameters ||
      'MaxItemsPerBatch.$' in parameters ||
      'MaxInputBytesPerBatch' in parameters ||
      'MaxInputBytesPerBatch.$' in parameters
    )) {
      throw new UnsupportedDefinitionError(batcherWhere, 'needs MaxItemsPerBatch or MaxInputBytesPerBatch');
    }
    if (batcher.BatchInput !== undefined) {
      if (!isObject(batcher.BatchInput))
        throw new UnsupportedDefinitionError(batcherWhere, 'BatchInput must be an object');
      parameters.BatchInput = batcher.BatchInput;
    }
  }

  const writer = state.ResultWriter;
  if (writer !== undefined) {
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
  }

  passNumber('MaxConcurrency', state.MaxConcurrency, state.MaxConcurrencyPath, 'MaxConcurrency');
  passNumber(
    'ToleratedFailurePercentage',
    state.ToleratedFailurePercentage,
    state.ToleratedFailurePercentagePath,
    'ToleratedFailurePercentage',
  );
  passNumber(
    'ToleratedFailureCount',
    state.ToleratedFailureCount,
    state.ToleratedFailureCountPath,
    'ToleratedFailureCount',
  );

  if (state.Label !== undefined && (typeof state.Label !== 'string' || state.Label.length === 0)) {
    throw new UnsupportedDefinitionError(where, 'Label must be a non-empty string');
  }

  const task: StateDefinition = { Type: 'Task', Resource: DISTRIBUTED_MAP_RESOURCE, Parameters: parameters };
  for (const field of [
    'Comment',
    'Next',
    'End',
    'InputPath',
    'OutputPath',
    'ResultPath',
    'ResultSelector',
  ] as const) {
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
  const asInlineMap: StateDefinition = { Type: 'Map' };
  for (const field of [
    'Comment',
    'Next',
    'End',
    'InputPath',
    'OutputPath',
    'ResultPath',
    'ResultSelector',
    'Retry',
    'Catch',
  ] as const) {
    if (field in state) asInlineMap[field] = state[field];
  }

  return {
    plan: {
      stateName,
      label: (state.Label as string | undefined) ?? stateName,
      itemProcessor: itemProcessor as unknown as StateMachineDefinition,
      readerInputType,
      itemSelector,
      batched: batcher !== undefined,
      writesResults: writer !== undefined,
      asInlineMap,
    },
    task,
  };
}

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
  readonly now?: () => Date;
  readonly newId?: () => string;
}

/** The effective input of the stand-in Task: the Map's fields with their paths resolved by the library. */
interface MapRunInput {
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

const runtimeError = (where: string, message: string): StatesError =>
  new StatesError('States.Runtime', `${where}: ${message}`, { terminal: true });

function integerField(
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

/** Reads the items of an ItemReader (s3:getObject) through the staging store. */
export async function readItems(
  staging: StagingStore,
  inputType: 'JSONL' | 'JSON',
  reader: { Bucket?: unknown; Key?: unknown },
  maxItems?: number,
): Promise<JsonValue[]> {
  const fail = (message: string): StatesError => new StatesError('States.ItemReaderFailed', message);
  if (typeof reader.Bucket !== 'string' || typeof reader.Key !== 'string') {
    throw fail('ItemReader Parameters need a string Bucket and Key');
  }
  if (reader.Bucket !== staging.bucket) {
    throw fail(
      `cannot read s3://${reader.Bucket}/${reader.Key}: the local host reads only the staging bucket ${staging.bucket}`,
    );
  }
  const limit = maxItems ?? Infinity;
  let stream;
  try {
    stream = await staging.getStream(reader.Key);
  } catch (error) {
    throw fail(`cannot read s3://${reader.Bucket}/${reader.Key}: ${(error as Error).message}`);
  }
  if (inputType === 'JSON') {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk));
    let items: unknown;
    try {
      items = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (error) {
      throw fail(`s3://${reader.Bucket}/${reader.Key} is not JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(items)) throw fail(`s3://${reader.Bucket}/${reader.Key} is not a JSON array`);
    return items.slice(0, limit) as JsonValue[];
  }
  const items: JsonValue[] = [];
  let lineNumber = 0;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      if (items.length >= limit) break;
      try {
        items.push(JSON.parse(line) as JsonValue);
      } catch (error) {
        throw fail(
          `s3://${reader.Bucket}/${reader.Key} line ${lineNumber} is not JSON: ${(error as Error).message}`,
        );
      }
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  return items;
}

/**
 * Splits items into batches of at most `maxItems` items whose child input `{ BatchInput?, Items }`, as JSON,
 * stays within `maxBytes`. A single item too large for a batch fails the Map Run.
 */
export function batchItems(
  items: readonly JsonValue[],
  limits: { maxItems?: number; maxBytes?: number; batchInput?: JsonValue },
): JsonValue[][] {
  const maxItems = limits.maxItems ?? Infinity;
  const maxBytes = limits.maxBytes ?? Infinity;
  const envelope = jsonBytes(
    limits.batchInput === undefined ? { Items: [] } : { BatchInput: limits.batchInput, Items: [] },
  );
  const batches: JsonValue[][] = [];
  let current: JsonValue[] = [];
  let bytes = envelope;
  for (const [index, item] of items.entries()) {
    const itemBytes = jsonBytes(item);
    if (envelope + itemBytes > maxBytes) {
      throw runtimeError(
        'ItemBatcher',
        `item ${index} (${itemBytes} bytes) does not fit in a batch of MaxInputBytesPerBatch ${maxBytes}`,
      );
    }
    const added = itemBytes + (current.length > 0 ? 1 : 0);
    if (current.length > 0 && (current.length >= maxItems || bytes + added > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = envelope;
    }
    bytes += itemBytes + (current.length > 0 ? 1 : 0);
    current.push(item);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Applies ItemSelector to each item, with `$$.Map.Item` set, through the library's own payload templates. */
async function selectItems(
  selector: JsonObject,
  items: readonly JsonValue[],
  input: JsonValue,
  context: JsonObject,
): Promise<JsonValue[]> {
  const pass = new StateMachine(
    { StartAt: 'ItemSelector', States: { ItemSelector: { Type: 'Pass', Parameters: selector, End: true } } },
    { validationOptions: { noValidate: true } },
  );
  const selected: JsonValue[] = [];
  for (const [index, item] of items.entries()) {
    const run = pass.run(input, { context: { ...context, Map: { Item: { Index: index, Value: item } } } });
    selected.push((await run.result) as JsonValue);
  }
  return selected;
}

interface ChildRecord {
  readonly index: number;
  readonly input: JsonValue;
  readonly itemCount: number;
  identity?: ChildIdentity;
  startDate?: Date;
  stopDate?: Date;
  outcome?: ChildOutcome;
}

/** A child's entry in the ResultWriter files (and in the Map result for failures), as Step Functions writes it. */
function resultEntry(record: ChildRecord): JsonObject {
  const input = JSON.stringify(record.input);
  const outcome = record.outcome;
  if (!outcome || !record.identity)
    return { Input: input, InputDetails: { Included: true }, Status: 'PENDING' };
  const common = {
    ExecutionArn: record.identity.executionArn,
    Input: input,
    InputDetails: { Included: true },
    Name: record.identity.name,
  };
  const dates = {
    StartDate: record.startDate!.toISOString(),
    StateMachineArn: record.identity.stateMachineArn,
  };
  if (outcome.Status === 'SUCCEEDED') {
    return {
      ...common,
      Output: JSON.stringify(outcome.Output),
      OutputDetails: { Included: true },
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
      RedriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven',
      ...dates,
      Status: 'SUCCEEDED',
      StopDate: record.stopDate!.toISOString(),
    };
  }
  return {
    ...(outcome.Status === 'ABORTED' ? {} : { Cause: outcome.Cause, Error: outcome.Error }),
    ...common,
    RedriveCount: 0,
    RedriveStatus: 'REDRIVABLE_BY_MAP_RUN',
    ...dates,
    Status: outcome.Status,
    StopDate: record.stopDate!.toISOString(),
  };
}

async function writeResults(
  staging: StagingStore,
  writer: { Bucket?: unknown; Prefix?: unknown },
  mapRunId: string,
  mapRunArn: string,
  records: readonly ChildRecord[],
): Promise<JsonObject> {
  const fail = (message: string): StatesError => new StatesError('States.ResultWriterFailed', message);
  if (
    typeof writer.Bucket !== 'string' ||
    (writer.Prefix !== undefined && typeof writer.Prefix !== 'string')
  ) {
    throw fail('ResultWriter Parameters need a string Bucket and an optional string Prefix');
  }
  if (writer.Bucket !== staging.bucket) {
    throw fail(
      `cannot write to bucket ${writer.Bucket}: the local host writes only the staging bucket ${staging.bucket}`,
    );
  }
  // The guide shows `<Prefix>/<map run id>/manifest.json`; a Prefix ending in "/" is not doubled here.
  const prefix = ((writer.Prefix as string | undefined) ?? '').replace(/\/+$/, '');
  const folder = prefix ? `${prefix}/${mapRunId}` : mapRunId;
  const groups: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', JsonObject[]> = {
    SUCCEEDED: [],
    FAILED: [],
    PENDING: [],
  };
  for (const record of records) {
    const status = record.outcome?.Status;
    groups[status === 'SUCCEEDED' ? 'SUCCEEDED' : status === undefined ? 'PENDING' : 'FAILED'].push(
      resultEntry(record),
    );
  }
  const files: Record<'FAILED' | 'PENDING' | 'SUCCEEDED', { Key: string; Size: number }[]> = {
    FAILED: [],
    PENDING: [],
    SUCCEEDED: [],
  };
  try {
    for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
      if (groups[status].length === 0) continue;
      const key = `${folder}/${status}_0.json`;
      const body = JSON.stringify(groups[status]);
      await staging.put(key, body, { contentType: 'application/json' });
      files[status].push({ Key: key, Size: Buffer.byteLength(body, 'utf8') });
    }
    const manifestKey = `${folder}/manifest.json`;
    const manifest = { DestinationBucket: writer.Bucket, MapRunArn: mapRunArn, ResultFiles: files };
    await staging.put(manifestKey, JSON.stringify(manifest), { contentType: 'application/json' });
    return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: writer.Bucket, Key: manifestKey } };
  } catch (error) {
    throw fail(`cannot write the results to s3://${writer.Bucket}/${folder}/: ${(error as Error).message}`);
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

  let items: JsonValue[];
  if (plan.readerInputType) {
    const maxItems = integerField(where, input, 'ReaderMaxItems', 0) || undefined;
    items = await readItems(runtime.staging, plan.readerInputType, input.Reader ?? {}, maxItems);
  } else {
    if (!Array.isArray(input.Items)) throw runtimeError(where, 'the items (ItemsPath) must be an array');
    items = input.Items;
  }
  if (plan.itemSelector) items = await selectItems(plan.itemSelector, items, input.Input, input.Context);

  let childInputs: JsonValue[];
  let itemCounts: number[];
  if (plan.batched) {
    const batches = batchItems(items, {
      maxItems: integerField(where, input, 'MaxItemsPerBatch', 1),
      maxBytes: Math.min(
        integerField(where, input, 'MaxInputBytesPerBatch', 1) ?? Infinity,
        PAYLOAD_LIMIT_BYTES,
      ),
      batchInput: input.BatchInput,
    });
    childInputs = batches.map((batch): JsonValue =>
      input.BatchInput === undefined ? { Items: batch } : { BatchInput: input.BatchInput!, Items: batch },
    );
    itemCounts = batches.map((batch) => batch.length);
  } else {
    childInputs = items;
    itemCounts = items.map(() => 1);
  }

  const toleratedCount = integerField(where, input, 'ToleratedFailureCount', 0);
  const toleratedPercentage = input.ToleratedFailurePercentage;
  if (
    toleratedPercentage !== undefined &&
    (typeof toleratedPercentage !== 'number' || toleratedPercentage < 0 || toleratedPercentage > 100)
  ) {
    throw runtimeError(
      where,
      `ToleratedFailurePercentage must be a number from 0 to 100, got ${JSON.stringify(toleratedPercentage)}`,
    );
  }
  const exceeded = (failedItems: number): boolean => {
    if (toleratedCount === undefined && toleratedPercentage === undefined) return failedItems > 0;
    return (
      (toleratedCount !== undefined && failedItems > toleratedCount) ||
      (toleratedPercentage !== undefined &&
        (failedItems / items.length) * 100 > (toleratedPercentage as number))
    );
  };

  const stateMachine = isObject(input.Context.StateMachine) ? input.Context.StateMachine : {};
  const parentArn =
    typeof stateMachine.Id === 'string'
      ? stateMachine.Id
      : 'arn:aws:states:us-west-2:000000000000:stateMachine:local';
  const mapRunId = newId();
  const childStateMachineArn = `${parentArn}/${plan.label}`;
  const mapRunArn = `${childStateMachineArn.replace(':stateMachine:', ':mapRun:')}:${mapRunId}`;

  const records: ChildRecord[] = childInputs.map((childInput, index) => ({
    index,
    input: childInput,
    itemCount: itemCounts[index],
  }));
  runtime.onMapRunStarted?.({
    stateName: plan.stateName,
    mapRunArn,
    totalItems: items.length,
    totalBatches: records.length,
  });

  const maxConcurrency = integerField(where, input, 'MaxConcurrency', 0) ?? 0;
  const cap = runtime.maxConcurrencyCap ?? DEFAULT_MAX_CONCURRENCY_CAP;
  const concurrency = maxConcurrency > 0 ? Math.min(maxConcurrency, cap) : cap;
  const running = new Set<ChildExecution>();
  let stop: 'threshold' | 'aborted' | undefined;
  const stopAll = (reason: 'threshold' | 'aborted'): void => {
    stop ??= reason;
    for (const child of running) child.abort();
  };
  const onAbort = (): void => stopAll('aborted');
  runtime.signal?.addEventListener('abort', onAbort);
  if (runtime.signal?.aborted) stop = 'aborted';

  let next = 0;
  let batchesDone = 0;
  let itemsSucceeded = 0;
  let itemsFailed = 0;
  const worker = async (): Promise<void> => {
    while (stop === undefined && next < records.length) {
      const record = records[next++];
      const name = newId();
      record.identity = {
        name,
        executionArn: `${childStateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
        stateMachineArn: childStateMachineArn,
        mapRunArn,
      };
      record.startDate = now();
      const child = runtime.startChild(plan, record.input, record.identity);
      running.add(child);
      const outcome = await child.outcome;
      running.delete(child);
      record.stopDate = now();
      record.outcome = outcome;
      batchesDone++;
      if (outcome.Status === 'SUCCEEDED') itemsSucceeded += record.itemCount;
      else if (outcome.Status !== 'ABORTED' || stop === undefined) itemsFailed += record.itemCount;
      if (outcome.Status !== 'SUCCEEDED' && exceeded(itemsFailed)) stopAll('threshold');
      runtime.onBatchDone?.({
        stateName: plan.stateName,
        mapRunArn,
        index: record.index,
        itemCount: record.itemCount,
        outcome,
        totals: { items: items.length, batches: records.length, batchesDone, itemsSucceeded, itemsFailed },
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, records.length) }, worker));
  } finally {
    runtime.signal?.removeEventListener('abort', onAbort);
  }
  if (stop === 'aborted')
    throw new StatesError('States.Runtime', `${where}: the Map Run ${mapRunArn} was aborted`);

  let result: JsonValue;
  if (plan.writesResults) {
    result = await writeResults(runtime.staging, input.Writer ?? {}, mapRunId, mapRunArn, records);
  } else {
    result = records.map((record) =>
      record.outcome?.Status === 'SUCCEEDED' ? record.outcome.Output : resultEntry(record),
    );
  }
  if (stop === 'threshold') {
    throw new StatesError(
      'States.ExceedToleratedFailureThreshold',
      `The Map Run ${mapRunArn} failed: ${itemsFailed} of ${items.length} items failed, more than the tolerated ` +
        `failure threshold (ToleratedFailureCount ${toleratedCount ?? 'unset'}, ` +
        `ToleratedFailurePercentage ${toleratedPercentage ?? 'unset'}).`,
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
