import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderStagingStore } from '../../shared/staging';
import { Batcher, readItems, type BatchLimits } from '../../local/stepfunctions/distributed-map/items';
import {
  loadStateMachine,
  runStateMachine,
  type BatchDone,
  type LambdaHandler,
} from '../../local/stepfunctions/host';
import {
  Batch,
  collect,
  COPY,
  copyObjects,
  definitionOf,
  fail,
  Json,
  jsonLines,
  keys,
  PLACEHOLDER,
  readResults,
  runMap,
} from './fixtures/distributed-map';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let dir: string;
let staging: FolderStagingStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-dmap-'));
  staging = new FolderStagingStore(dir, 'local-staging');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const writeManifest = (items: unknown[], key = 'run/manifest.jsonl') => staging.put(key, jsonLines(items));
const run = (definition: object, copy: LambdaHandler, extra: Record<string, unknown> = {}) =>
  runMap(staging, definition, copy, extra);

function outputOf(outcome: Awaited<ReturnType<typeof run>>): Record<string, Json> {
  if (outcome.Status !== 'SUCCEEDED') throw new Error(`expected SUCCEEDED, got ${JSON.stringify(outcome)}`);
  return outcome.Output as Record<string, Json>;
}

const resultsOf = (manifestKey: string) => readResults(staging, manifestKey);

/** All the batches of `items`, formed one item at a time as a Map Run forms them. */
function batchItems(items: Json[], limits: BatchLimits): Json[][] {
  const batcher = new Batcher(limits);
  const batches = items.flatMap((item, index) => {
    const closed = batcher.add(item, index);
    return closed ? [closed] : [];
  });
  const last = batcher.flush();
  return last ? [...batches, last] : batches;
}

describe('batchItems', () => {
  it('batches by count', () => {
    expect(batchItems([1, 2, 3, 4, 5, 6, 7], { maxItems: 3 })).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('fills each batch up to MaxInputBytesPerBatch, counting the whole child input with its BatchInput', () => {
    const items = Array.from({ length: 20 }, (_, i) => ({
      Key: `object-${i}`.padEnd(30 + (i % 7) * 5, '.'),
    }));
    for (const batchInput of [undefined, { RunId: 'r'.repeat(120) }]) {
      const maxBytes = 400;
      const batches = batchItems(items, { maxBytes, batchInput });
      expect(batches.flat()).toEqual(items);
      const size = (batch: unknown[]) =>
        Buffer.byteLength(
          JSON.stringify(batchInput ? { BatchInput: batchInput, Items: batch } : { Items: batch }),
        );
      for (const [i, batch] of batches.entries()) {
        expect(size(batch)).toBeLessThanOrEqual(maxBytes);
        if (i + 1 < batches.length) expect(size([...batch, batches[i + 1][0]])).toBeGreaterThan(maxBytes);
      }
    }
    expect(
      batchItems(items, { maxBytes: 400, batchInput: { RunId: 'r'.repeat(120) } }).length,
    ).toBeGreaterThan(batchItems(items, { maxBytes: 400 }).length);
  });

  it('applies both limits together', () => {
    const batches = batchItems(['a', 'b', 'c', 'd', 'e'], { maxItems: 2, maxBytes: 1000 });
    expect(batches).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('fails on an item that cannot fit in any batch', () => {
    expect(() => batchItems(['x'.repeat(500)], { maxBytes: 100 })).toThrow(/does not fit/);
  });
});

describe('readItems', () => {
  it('reads JSONL lines (blank lines skipped) up to MaxItems, and a JSON array', async () => {
    await staging.put('m.jsonl', '{"Key":"a"}\r\n\n{"Key":"b é"}\n{"Key":"c"}\n');
    expect(await collect(readItems(staging, 'JSONL', { Bucket: 'local-staging', Key: 'm.jsonl' }))).toEqual([
      { Key: 'a' },
      { Key: 'b é' },
      { Key: 'c' },
    ]);
    expect(
      await collect(readItems(staging, 'JSONL', { Bucket: 'local-staging', Key: 'm.jsonl' }, 2)),
    ).toHaveLength(2);
    await staging.put('m.json', JSON.stringify([1, 'é', { x: null }]));
    expect(await collect(readItems(staging, 'JSON', { Bucket: 'local-staging', Key: 'm.json' }))).toEqual([
      1,
      'é',
      { x: null },
    ]);
  });

  it('fails with States.ItemReaderFailed naming the line that is not JSON', async () => {
    await staging.put('bad.jsonl', '{"Key":"a"}\n{"Key":\n');
    await expect(
      collect(readItems(staging, 'JSONL', { Bucket: 'local-staging', Key: 'bad.jsonl' })),
    ).rejects.toMatchObject({
      name: 'States.ItemReaderFailed',
      message: expect.stringMatching(/line 2 is not JSON/),
    });
    await expect(
      collect(readItems(staging, 'JSONL', { Bucket: 'local-staging', Key: 'missing' })),
    ).rejects.toMatchObject({
      name: 'States.ItemReaderFailed',
    });
  });
});

describe('Distributed Map adapter', () => {
  it('reads the JSONL manifest, batches with BatchInput and writes the ResultWriter output', async () => {
    await writeManifest(keys(5));
    const seen: Batch[] = [];
    const outcome = await run(definitionOf(copyObjects()), async (event) => {
      seen.push(event as Batch);
      return { Done: (event as Batch).Items.length };
    });
    const output = outputOf(outcome);

    expect(
      seen.map((batch) => batch.Items).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual([keys(5).slice(0, 2), keys(5).slice(2, 4), keys(5).slice(4)]);
    for (const batch of seen) {
      expect(Object.keys(batch)).toEqual(['BatchInput', 'Items']);
      expect(batch.BatchInput).toEqual({ RunId: 'run-1', Execution: 'exec-1' });
    }

    // The Map state's output, placed by its ResultPath.
    expect(output.RunId).toBe('run-1');
    const map = output.Map as { MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } };
    expect(Object.keys(map)).toEqual(['MapRunArn', 'ResultWriterDetails']);
    const mapRunId = map.MapRunArn.split(':').pop()!;
    expect(map.MapRunArn).toMatch(
      new RegExp(`^arn:aws:states:us-west-2:000000000000:mapRun:LocalStateMachine/CopyObjects:${UUID}$`),
    );
    expect(map.ResultWriterDetails).toEqual({
      Bucket: 'local-staging',
      Key: `results/${mapRunId}/manifest.json`,
    });

    const { manifest, succeeded, failed, pending } = await resultsOf(map.ResultWriterDetails.Key);
    expect(Object.keys(manifest)).toEqual(['DestinationBucket', 'MapRunArn', 'ResultFiles']);
    expect(manifest.DestinationBucket).toBe('local-staging');
    expect(manifest.MapRunArn).toBe(map.MapRunArn);
    expect(manifest.ResultFiles).toEqual({
      FAILED: [],
      PENDING: [],
      SUCCEEDED: [{ Key: `results/${mapRunId}/SUCCEEDED_0.json`, Size: expect.any(Number) }],
    });
    const written = await staging.getText(`results/${mapRunId}/SUCCEEDED_0.json`);
    expect(manifest.ResultFiles.SUCCEEDED[0].Size).toBe(Buffer.byteLength(written!));
    expect(failed).toEqual([]);
    expect(pending).toEqual([]);

    expect(succeeded).toHaveLength(3);
    for (const [index, entry] of succeeded.entries()) {
      expect(Object.keys(entry)).toEqual([
        'ExecutionArn',
        'Input',
        'InputDetails',
        'Name',
        'Output',
        'OutputDetails',
        'RedriveCount',
        'RedriveStatus',
        'RedriveStatusReason',
        'StartDate',
        'StateMachineArn',
        'Status',
        'StopDate',
      ]);
      expect(entry.Name).toMatch(new RegExp(`^${UUID}$`));
      expect(entry.ExecutionArn).toBe(
        `arn:aws:states:us-west-2:000000000000:execution:LocalStateMachine/CopyObjects:${entry.Name}`,
      );
      expect(entry.StateMachineArn).toBe(
        'arn:aws:states:us-west-2:000000000000:stateMachine:LocalStateMachine/CopyObjects',
      );
      expect(entry.Status).toBe('SUCCEEDED');
      expect(entry.InputDetails).toEqual({ Included: true });
      expect(entry.OutputDetails).toEqual({ Included: true });
      expect(entry.RedriveStatus).toBe('NOT_REDRIVABLE');
      expect(entry.StartDate).toMatch(ISO_DATE);
      expect(entry.StopDate).toMatch(ISO_DATE);
      // Input and Output are JSON documents serialized as strings.
      expect(typeof entry.Input).toBe('string');
      const childInput = JSON.parse(entry.Input as string) as Batch;
      expect(childInput.Items).toEqual(keys(5).slice(index * 2, index * 2 + 2));
      expect(JSON.parse(entry.Output as string)).toEqual({ Done: childInput.Items.length });
    }
  });

  it('batches by MaxInputBytesPerBatch', async () => {
    const items = Array.from({ length: 30 }, (_, i) => ({
      Key: `some/longer/prefix/object-${i}.h5`,
      Size: i * 1000,
    }));
    await writeManifest(items);
    const sizes: number[] = [];
    const seen: Json[] = [];
    const map = copyObjects({
      ItemBatcher: { MaxInputBytesPerBatch: 300, BatchInput: { 'RunId.$': '$.RunId' } },
    });
    const outcome = await run(definitionOf(map), async (event) => {
      sizes.push(Buffer.byteLength(JSON.stringify(event)));
      seen.push(...(event as Batch).Items);
      return {};
    });
    expect(outcome.Status).toBe('SUCCEEDED');
    expect(sizes.length).toBeGreaterThan(5);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(300);
    expect(seen).toHaveLength(30);
  });

  it('bounds concurrency by MaxConcurrency, and by the local cap when MaxConcurrency is 0', async () => {
    await writeManifest(keys(24));
    const peakOf = async (fields: Record<string, unknown>, cap?: number) => {
      let running = 0;
      let peak = 0;
      const outcome = await run(
        definitionOf(copyObjects({ ItemBatcher: { MaxItemsPerBatch: 1 }, ...fields })),
        async () => {
          peak = Math.max(peak, ++running);
          await new Promise((resolve) => setTimeout(resolve, 15));
          running--;
          return {};
        },
        { maxConcurrencyCap: cap },
      );
      expect(outcome.Status).toBe('SUCCEEDED');
      return peak;
    };
    expect(await peakOf({ MaxConcurrency: 3 })).toBe(3);
    expect(await peakOf({ MaxConcurrency: 0 }, 5)).toBe(5);
    expect(await peakOf({ MaxConcurrency: 1 })).toBe(1);
  });

  it('tolerates failures up to ToleratedFailurePercentage and records them in FAILED_0.json', async () => {
    await writeManifest(keys(10));
    const copy: LambdaHandler = async (event) => {
      const { Items } = event as Batch;
      if (Items.some((item) => ['k3', 'k7'].includes((item as { Key: string }).Key)))
        fail('SourceNotFound', 'gone');
      return {};
    };
    const map = copyObjects({ ItemBatcher: { MaxItemsPerBatch: 1 }, ToleratedFailurePercentage: 20 });
    const output = outputOf(await run(definitionOf(map), copy));
    const { succeeded, failed, pending } = await resultsOf(
      (output.Map as { ResultWriterDetails: { Key: string } }).ResultWriterDetails.Key,
    );
    expect(succeeded).toHaveLength(8);
    expect(pending).toEqual([]);
    expect(failed.map((entry) => JSON.parse(entry.Input as string).Items[0].Key).sort()).toEqual([
      'k3',
      'k7',
    ]);
    for (const entry of failed) {
      expect(Object.keys(entry)).toEqual([
        'Cause',
        'Error',
        'ExecutionArn',
        'Input',
        'InputDetails',
        'Name',
        'RedriveCount',
        'RedriveStatus',
        'StartDate',
        'StateMachineArn',
        'Status',
        'StopDate',
      ]);
      expect(entry).toMatchObject({
        Status: 'FAILED',
        Error: 'SourceNotFound',
        RedriveStatus: 'REDRIVABLE_BY_MAP_RUN',
      });
      expect(JSON.parse(entry.Cause as string)).toMatchObject({
        errorType: 'SourceNotFound',
        errorMessage: 'gone',
      });
    }

    // 3 of 10 items is more than 20 %.
    const three = await run(definitionOf(map), async (event) => {
      if (['k1', 'k3', 'k7'].includes(((event as Batch).Items[0] as { Key: string }).Key))
        fail('SourceNotFound', 'gone');
      return {};
    });
    expect(three).toMatchObject({ Status: 'FAILED', Error: 'States.ExceedToleratedFailureThreshold' });
  });

  it('counts every item of a failed batch against the threshold', async () => {
    await writeManifest(keys(10));
    const copy: LambdaHandler = async (event) =>
      (event as Batch).Items.some((item) => (item as { Key: string }).Key === 'k0')
        ? fail('CopyFailed', 'x')
        : {};
    const batched = (percentage: number) =>
      definitionOf(
        copyObjects({ ItemBatcher: { MaxItemsPerBatch: 5 }, ToleratedFailurePercentage: percentage }),
      );
    expect((await run(batched(40), copy)).Status).toBe('FAILED'); // 5 of 10 items failed: 50 % > 40 %
    expect((await run(batched(50), copy)).Status).toBe('SUCCEEDED');
  });

  it('fails on the first failure by default, stops starting batches and lists the rest as PENDING', async () => {
    await writeManifest(keys(10));
    const started: string[] = [];
    const definition = definitionOf(
      copyObjects({
        ItemBatcher: { MaxItemsPerBatch: 1 },
        MaxConcurrency: 1,
        ToleratedFailureCount: 1,
        Catch: [
          { ErrorEquals: ['States.TaskFailed'], Next: 'WrongCatch' },
          {
            ErrorEquals: ['States.ExceedToleratedFailureThreshold'],
            ResultPath: '$.MapError',
            Next: 'Summarize',
          },
        ],
      }),
      { WrongCatch: { Type: 'Fail', Error: 'WrongCatch' }, Summarize: { Type: 'Pass', End: true } },
    );
    const outcome = await run(definition, async (event) => {
      const key = ((event as Batch).Items[0] as { Key: string }).Key;
      started.push(key);
      if (key === 'k2' || key === 'k4') fail('SourceNotFound', key);
      return {};
    });
    expect(started).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    const output = outputOf(outcome);
    const mapError = output.MapError as { Error: string; Cause: string };
    expect(mapError.Error).toBe('States.ExceedToleratedFailureThreshold');
    const mapRunId = /mapRun:\S+:([0-9a-f-]{36})/.exec(mapError.Cause)![1];

    const { manifest, succeeded, failed, pending } = await resultsOf(`results/${mapRunId}/manifest.json`);
    expect(Object.keys(manifest.ResultFiles)).toEqual(['FAILED', 'PENDING', 'SUCCEEDED']);
    expect(succeeded).toHaveLength(3);
    expect(failed).toHaveLength(2);
    expect(pending).toHaveLength(5);
    for (const [i, entry] of pending.entries()) {
      expect(entry).toEqual({
        Input: JSON.stringify({ Items: [{ Key: `k${i + 5}` }] }),
        InputDetails: { Included: true },
        Status: 'PENDING',
      });
    }
  });

  it('aborts running child executions when the threshold is exceeded', async () => {
    await writeManifest(keys(3));
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const outcome = await run(
      definitionOf(copyObjects({ ItemBatcher: { MaxItemsPerBatch: 1 }, MaxConcurrency: 3 })),
      async (event) => {
        const key = ((event as Batch).Items[0] as { Key: string }).Key;
        if (key === 'k0') fail('CopyFailed', 'k0');
        await slow;
        return {};
      },
    );
    release();
    expect(outcome).toMatchObject({ Status: 'FAILED', Error: 'States.ExceedToleratedFailureThreshold' });
    const mapRunId = /mapRun:\S+:([0-9a-f-]{36})/.exec((outcome as { Cause: string }).Cause)![1];
    const { failed } = await resultsOf(`results/${mapRunId}/manifest.json`);
    expect(failed.map((entry) => entry.Status).sort()).toEqual(['ABORTED', 'ABORTED', 'FAILED']);
  });

  it('returns the child outputs in order when there is no ResultWriter', async () => {
    const definition = {
      StartAt: 'Double',
      States: {
        Double: {
          Type: 'Map',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'DISTRIBUTED' },
            StartAt: 'Times2',
            States: { Times2: { Type: 'Task', Resource: COPY, End: true } },
          },
          ItemsPath: '$.numbers',
          ItemSelector: {
            'n.$': '$$.Map.Item.Value',
            'index.$': '$$.Map.Item.Index',
            'factor.$': '$.factor',
          },
          ToleratedFailurePercentage: 100,
          End: true,
        },
      },
    };
    const outcome = await runStateMachine(
      definition,
      { numbers: [1, 2, 3], factor: 10 },
      {
        staging,
        handlers: {
          [COPY]: async (event) => {
            const { n, index, factor } = event as { n: number; index: number; factor: number };
            return n === 2 ? fail('Odd', 'two') : n * factor + index;
          },
        },
      },
    );
    const output = (outcome as { Output: Json[] }).Output;
    expect(outcome.Status).toBe('SUCCEEDED');
    expect(output[0]).toBe(10);
    expect(output[2]).toBe(32);
    expect(output[1]).toMatchObject({
      Status: 'FAILED',
      Error: 'Odd',
      Input: JSON.stringify({ n: 2, index: 1, factor: 10 }),
    });
  });

  it('fails the Map with States.ItemReaderFailed when the manifest cannot be read', async () => {
    const definition = definitionOf(
      copyObjects({
        Catch: [{ ErrorEquals: ['States.ItemReaderFailed'], ResultPath: '$.e', Next: 'Caught' }],
      }),
      {
        Caught: { Type: 'Pass', End: true },
      },
    );
    const copy = async () => ({});
    const missing = outputOf(await run(definition, copy));
    expect((missing.e as { Error: string }).Error).toBe('States.ItemReaderFailed');
    const otherBucket = await runStateMachine(
      definition,
      { RunId: 'r', Manifest: { Bucket: 'elsewhere', Key: 'm' } },
      {
        staging,
        stagingBucketPlaceholder: PLACEHOLDER,
        handlers: { [COPY]: copy },
      },
    );
    expect(outputOf(otherBucket).e).toMatchObject({
      Error: 'States.ItemReaderFailed',
      Cause: expect.stringMatching(/staging bucket/),
    });
  });

  it('reports progress: the Map Run size first, then each batch', async () => {
    await writeManifest(keys(5));
    const started: unknown[] = [];
    const done: BatchDone[] = [];
    await run(definitionOf(copyObjects()), async () => ({}), {
      onMapRunStarted: (event: unknown) => started.push(event),
      onBatchDone: (event: BatchDone) => done.push(event),
    });
    expect(started).toEqual([
      {
        stateName: 'CopyObjects',
        mapRunArn: expect.stringContaining(':mapRun:'),
        totalItems: 5,
        totalBatches: 3,
      },
    ]);
    expect(done).toHaveLength(3);
    expect(done.map((event) => event.itemCount).sort()).toEqual([1, 2, 2]);
    expect(done[2].totals).toEqual({
      items: 5,
      batches: 3,
      batchesDone: 3,
      itemsSucceeded: 5,
      itemsFailed: 0,
    });
    expect(done.every((event) => event.outcome.Status === 'SUCCEEDED')).toBe(true);
  });

  it('starts no further child execution once the execution is aborted', async () => {
    await writeManifest(keys(10));
    const controller = new AbortController();
    let calls = 0;
    const outcome = await run(
      definitionOf(copyObjects({ ItemBatcher: { MaxItemsPerBatch: 1 }, MaxConcurrency: 2 })),
      async () => {
        if (++calls === 3) controller.abort();
        await new Promise((resolve) => setTimeout(resolve, 5));
        return {};
      },
      { signal: controller.signal },
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(outcome).toEqual({ Status: 'ABORTED', usage: expect.any(Object) });
    expect(calls).toBeLessThanOrEqual(4);
  });

  it.each([
    ['an unknown Map field', { Foo: 1 }, /Foo/],
    [
      'a CSV ItemReader',
      {
        ItemReader: {
          ...(copyObjects().ItemReader as object),
          ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
        },
      },
      /CSVHeaderLocation|InputType CSV/,
    ],
    [
      'an S3 listing ItemReader',
      { ItemReader: { Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { Bucket: 'b' } } },
      /s3:getObject/,
    ],
    ['ItemsPath with an ItemReader', { ItemsPath: '$.Items' }, /ItemsPath with an ItemReader/],
    [
      'a COMPACT ResultWriter',
      {
        ResultWriter: {
          ...(copyObjects().ResultWriter as object),
          WriterConfig: { Transformation: 'COMPACT', OutputType: 'JSON' },
        },
      },
      /WriterConfig/,
    ],
    [
      'a JSONL ResultWriter',
      { ResultWriter: { ...(copyObjects().ResultWriter as object), WriterConfig: { OutputType: 'JSONL' } } },
      /WriterConfig/,
    ],
    [
      'a preview-only ResultWriter',
      { ResultWriter: { WriterConfig: { Transformation: 'FLATTEN', OutputType: 'JSON' } } },
      /s3:putObject/,
    ],
    ['an unknown ItemBatcher field', { ItemBatcher: { MaxItemsPerBatch: 2, MaxBatches: 3 } }, /MaxBatches/],
    [
      'an ItemBatcher without limits',
      { ItemBatcher: { BatchInput: {} } },
      /MaxItemsPerBatch or MaxInputBytesPerBatch/,
    ],
    ['the deprecated Parameters', { Parameters: { 'x.$': '$' } }, /Parameters/],
    [
      'EXPRESS child workflows',
      {
        ItemProcessor: {
          ...(copyObjects().ItemProcessor as object),
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' },
        },
      },
      /STANDARD/,
    ],
    ['JSONata', { QueryLanguage: 'JSONata' }, /JSONPath/],
  ])('refuses %s when the definition is loaded', (_what, fields, message) => {
    expect(() =>
      loadStateMachine(definitionOf(copyObjects(fields)), {
        staging,
        handlers: { [COPY]: async () => ({}) },
      }),
    ).toThrow(message);
  });

  it('accepts a Label and names the Map Run and its children after it', async () => {
    await writeManifest(keys(1));
    const output = outputOf(await run(definitionOf(copyObjects({ Label: 'Copy' })), async () => ({})));
    expect((output.Map as { MapRunArn: string }).MapRunArn).toMatch(/:mapRun:LocalStateMachine\/Copy:/);
  });
});
