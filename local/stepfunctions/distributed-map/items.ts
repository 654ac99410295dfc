/**
 * Where a Map Run's child inputs come from: the items (ItemReader or ItemsPath), ItemSelector, then
 * ItemBatcher. Items stream through one at a time, so that a Map Run over a million-line JSONL manifest holds
 * one batch in memory, not the manifest.
 */
import '../polyfill';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { StateMachine } from 'aws-local-stepfunctions';
import type { StagingStore } from '../../../shared/staging';
import { JsonObject, JsonValue, jsonBytes, PAYLOAD_LIMIT_BYTES, StatesError } from '../asl';
import { DistributedMapPlan, integerField, MapRunInput, runtimeError } from './definition';

/** Lines as readline splits them (at `\n`, `\r\n` or `\r`), read one chunk of the stream at a time. */
async function* linesOf(stream: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
    // A chunk ending in "\r" may end in the middle of a "\r\n".
    const end = text.endsWith('\r') ? text.length - 1 : text.length;
    const lines = text.slice(0, end).split(/\r\n|\r|\n/);
    rest = lines.pop()! + text.slice(end);
    yield* lines;
  }
  rest += decoder.end();
  if (rest !== '') yield* rest.split(/\r\n|\r|\n/);
}

/**
 * Reads the items of an ItemReader (s3:getObject) through the staging store: a JSONL object line by line,
 * a JSON object (one array, which has to be parsed whole) at once.
 */
export async function* readItems(
  staging: StagingStore,
  inputType: 'JSONL' | 'JSON',
  reader: { Bucket?: unknown; Key?: unknown },
  maxItems?: number,
): AsyncGenerator<JsonValue> {
  const fail = (message: string): StatesError => new StatesError('States.ItemReaderFailed', message);
  if (typeof reader.Bucket !== 'string' || typeof reader.Key !== 'string') {
    throw fail('ItemReader Parameters need a string Bucket and Key');
  }
  const where = `s3://${reader.Bucket}/${reader.Key}`;
  if (reader.Bucket !== staging.bucket) {
    throw fail(`cannot read ${where}: the local host reads only the staging bucket ${staging.bucket}`);
  }
  const limit = maxItems ?? Infinity;
  let stream: Readable;
  try {
    stream = await staging.getStream(reader.Key);
  } catch (error) {
    throw fail(`cannot read ${where}: ${(error as Error).message}`);
  }
  try {
    if (inputType === 'JSON') {
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(Buffer.from(chunk));
      let items: unknown;
      try {
        items = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        throw fail(`${where} is not JSON: ${(error as Error).message}`);
      }
      if (!Array.isArray(items)) throw fail(`${where} is not a JSON array`);
      yield* items.slice(0, limit) as JsonValue[];
      return;
    }
    let lineNumber = 0;
    let count = 0;
    for await (const line of linesOf(stream)) {
      lineNumber++;
      if (line.trim() === '') continue;
      if (count >= limit) return;
      let item: JsonValue;
      try {
        item = JSON.parse(line) as JsonValue;
      } catch (error) {
        throw fail(`${where} line ${lineNumber} is not JSON: ${(error as Error).message}`);
      }
      count++;
      yield item;
    }
  } finally {
    stream.destroy();
  }
}

/** The items of a Map Run, readable once per pass: each call reads them again from the start. */
export function itemsOf(
  plan: DistributedMapPlan,
  input: MapRunInput,
  staging: StagingStore,
): () => AsyncIterable<JsonValue> {
  const where = `Map state '${plan.stateName}'`;
  const inputType = plan.readerInputType;
  if (inputType) {
    const maxItems = integerField(where, input, 'ReaderMaxItems', 0) || undefined;
    return () => readItems(staging, inputType, input.Reader ?? {}, maxItems);
  }
  const items = input.Items;
  if (!Array.isArray(items)) throw runtimeError(where, 'the items (ItemsPath) must be an array');
  return async function* () {
    yield* items;
  };
}

/** ItemSelector: an item's child input, with `$$.Map.Item` set, through the library's payload templates. */
export type ItemSelector = (item: JsonValue, index: number) => Promise<JsonValue>;

export function itemSelector(selector: JsonObject, input: JsonValue, context: JsonObject): ItemSelector {
  const pass = new StateMachine(
    { StartAt: 'ItemSelector', States: { ItemSelector: { Type: 'Pass', Parameters: selector, End: true } } },
    { validationOptions: { noValidate: true } },
  );
  return async (item, index) => {
    const run = pass.run(input, { context: { ...context, Map: { Item: { Index: index, Value: item } } } });
    return (await run.result) as JsonValue;
  };
}

export interface BatchLimits {
  readonly maxItems?: number;
  readonly maxBytes?: number;
  readonly batchInput?: JsonValue;
}

/** ItemBatcher's limits from the effective input, MaxInputBytesPerBatch capped by the payload limit. */
export function batchLimits(where: string, input: MapRunInput): BatchLimits {
  return {
    maxItems: integerField(where, input, 'MaxItemsPerBatch', 1),
    maxBytes: Math.min(
      integerField(where, input, 'MaxInputBytesPerBatch', 1) ?? Infinity,
      PAYLOAD_LIMIT_BYTES,
    ),
    batchInput: input.BatchInput,
  };
}

/**
 * Forms batches of at most `maxItems` items whose child input `{ BatchInput?, Items }`, as JSON, stays
 * within `maxBytes`, one item at a time. A single item too large for a batch fails the Map Run.
 */
export class Batcher {
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly envelope: number;
  private current: JsonValue[] = [];
  private bytes: number;

  constructor(limits: BatchLimits) {
    this.maxItems = limits.maxItems ?? Infinity;
    this.maxBytes = limits.maxBytes ?? Infinity;
    this.envelope = jsonBytes(
      limits.batchInput === undefined ? { Items: [] } : { BatchInput: limits.batchInput, Items: [] },
    );
    this.bytes = this.envelope;
  }

  /** Adds an item; returns the batch it closes when it does not fit in the current one. */
  add(item: JsonValue, index: number): JsonValue[] | undefined {
    const itemBytes = jsonBytes(item);
    if (this.envelope + itemBytes > this.maxBytes) {
      throw runtimeError(
        'ItemBatcher',
        `item ${index} (${itemBytes} bytes) does not fit in a batch of MaxInputBytesPerBatch ${this.maxBytes}`,
      );
    }
    let closed: JsonValue[] | undefined;
    const added = itemBytes + (this.current.length > 0 ? 1 : 0);
    if (
      this.current.length > 0 &&
      (this.current.length >= this.maxItems || this.bytes + added > this.maxBytes)
    ) {
      closed = this.flush();
    }
    this.bytes += itemBytes + (this.current.length > 0 ? 1 : 0);
    this.current.push(item);
    return closed;
  }

  /** Closes the current batch, if it has items. */
  flush(): JsonValue[] | undefined {
    if (this.current.length === 0) return undefined;
    const batch = this.current;
    this.current = [];
    this.bytes = this.envelope;
    return batch;
  }
}

/** One child workflow execution to start: a batch, or one item when not batching. */
export interface ChildInput {
  readonly index: number;
  readonly input: JsonValue;
  readonly itemCount: number;
}

export interface ItemStages {
  readonly select?: ItemSelector;
  /** A new Batcher per pass, when the Map batches; its limits are checked when it is made. */
  readonly batcher?: () => Batcher;
  readonly batchInput?: JsonValue;
}

/** The child inputs, each formed when it is asked for: a child's batch is read as the child starts. */
export async function* childInputs(
  items: AsyncIterable<JsonValue>,
  stages: ItemStages,
): AsyncGenerator<ChildInput> {
  const batcher = stages.batcher?.();
  let index = 0;
  let children = 0;
  const batchOf = (batch: JsonValue[]): ChildInput => ({
    index: children++,
    input:
      stages.batchInput === undefined ? { Items: batch } : { BatchInput: stages.batchInput, Items: batch },
    itemCount: batch.length,
  });
  for await (const item of items) {
    const selected = stages.select ? await stages.select(item, index) : item;
    if (!batcher) {
      yield { index: children++, input: selected, itemCount: 1 };
    } else {
      const batch = batcher.add(selected, index);
      if (batch) yield batchOf(batch);
    }
    index++;
  }
  const last = batcher?.flush();
  if (last) yield batchOf(last);
}

export interface MapRunSize {
  readonly items: number;
  readonly children: number;
}

/**
 * Counts a Map Run's items and child executions in a first pass that keeps nothing, and fails as a reader
 * that reads every item, then selects every item, then batches them would: a reader error first, then an
 * ItemSelector error, then a batching error, whatever the order of the items that cause them.
 */
export async function sizeOf(items: AsyncIterable<JsonValue>, stages: ItemStages): Promise<MapRunSize> {
  let count = 0;
  let children = 0;
  let selectError: unknown;
  let batchError: unknown;
  let batcher: Batcher | undefined;
  try {
    batcher = stages.batcher?.();
  } catch (error) {
    batchError = error;
  }
  for await (const item of items) {
    const index = count++;
    if (selectError !== undefined) continue;
    let selected = item;
    try {
      if (stages.select) selected = await stages.select(item, index);
    } catch (error) {
      selectError = error;
      continue;
    }
    if (batchError !== undefined) continue;
    try {
      if (!stages.batcher || batcher!.add(selected, index)) children++;
    } catch (error) {
      batchError = error;
    }
  }
  if (selectError !== undefined) throw selectError;
  if (batchError !== undefined) throw batchError;
  if (batcher?.flush()) children++;
  return { items: count, children };
}
