/**
 * A Map Run's memory must not grow with its items: it reads the manifest as children start, counts the items
 * in a first pass that keeps nothing, and writes each child's result as it ends, in files of bounded size.
 * These tests assert that structure (how far the reader is ahead, when files are closed), not heap sizes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FolderStagingStore } from '../../shared/staging';
import { planDistributedMap } from '../../local/stepfunctions/distributed-map/definition';
import { readItems } from '../../local/stepfunctions/distributed-map/items';
import { runMapRun, type MapRunStarted } from '../../local/stepfunctions/distributed-map/map-run';
import { ResultFiles, type ChildRecord } from '../../local/stepfunctions/distributed-map/results';
import type { StateDefinition } from '../../local/stepfunctions/asl';
import {
  Batch,
  collect,
  copyObjects,
  definitionOf,
  jsonLines,
  keys,
  readJson,
  readResults,
  runMap,
  type Json,
  type Manifest,
} from './fixtures/distributed-map';

const MANIFEST = 'run/manifest.jsonl';
const MAP_RUN_ARN = 'arn:aws:states:us-west-2:000000000000:mapRun:LocalStateMachine/CopyObjects:run-id';

/** The staging folder, except for objects served as generated streams. */
class StreamedStore extends FolderStagingStore {
  constructor(
    root: string,
    private readonly streams: Record<string, () => Readable>,
  ) {
    super(root, 'local-staging');
  }

  async getStream(key: string): Promise<Readable> {
    return this.streams[key]?.() ?? super.getStream(key);
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-map-run-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a Map Run over a large manifest', () => {
  it('counts every item first, then reads only a few batches ahead of the children it starts', async () => {
    const total = 200_000;
    // Lines produced so far, for each time the manifest is opened (once to count, once to run).
    const produced: number[] = [];
    const staging = new StreamedStore(dir, {
      [MANIFEST]: () => {
        const pass = produced.push(0) - 1;
        return Readable.from(
          (function* () {
            for (let i = 0; i < total; i++) {
              produced[pass]++;
              yield `{"Key":"k${i}"}\n`;
            }
          })(),
        );
      },
    });
    const { plan } = planDistributedMap(
      'CopyObjects',
      copyObjects({ ItemBatcher: { MaxItemsPerBatch: 10 } }) as StateDefinition,
    );
    const controller = new AbortController();
    const started: MapRunStarted[] = [];
    let children = 0;
    let itemsStarted = 0;
    let lead = 0;
    const run = runMapRun(
      plan,
      {
        Input: {},
        Context: {},
        Reader: { Bucket: 'local-staging', Key: MANIFEST },
        MaxItemsPerBatch: 10,
        Writer: { Bucket: 'local-staging', Prefix: 'results' },
      },
      {
        staging,
        maxConcurrencyCap: 4,
        signal: controller.signal,
        onMapRunStarted: (event) => started.push(event),
        startChild: (_plan, input) => {
          itemsStarted += (input as Batch).Items.length;
          lead = Math.max(lead, produced[1] - itemsStarted);
          if (++children === 30) controller.abort();
          return { outcome: Promise.resolve({ Status: 'SUCCEEDED', Output: {} }), abort: () => undefined };
        },
      },
    );
    await expect(run).rejects.toMatchObject({ name: 'States.Runtime', message: /aborted/ });

    expect(started).toEqual([expect.objectContaining({ totalItems: total, totalBatches: total / 10 })]);
    expect(produced[0]).toBe(total);
    // The run pass: the children's items, plus at most the batches read ahead for the next children.
    expect(lead).toBeLessThanOrEqual(100);
    expect(produced[1]).toBeLessThan(itemsStarted + 100);
    // An aborted Map Run leaves no results behind.
    expect(await staging.list('results/')).toEqual([]);
  });

  it('fails before any child starts when a line far into the manifest is not JSON', async () => {
    const staging = new FolderStagingStore(dir, 'local-staging');
    await staging.put(MANIFEST, jsonLines(keys(900)) + '{"Key":\n' + jsonLines(keys(100)));
    let calls = 0;
    const outcome = await runMap(staging, definitionOf(copyObjects()), async () => ({ Done: ++calls }));
    expect(outcome).toMatchObject({
      Status: 'FAILED',
      Error: 'States.ItemReaderFailed',
      Cause: expect.stringMatching(/line 901 is not JSON/),
    });
    expect(calls).toBe(0);
  });

  it('reports a reader error before an ItemBatcher error, whatever the order of their items', async () => {
    const staging = new FolderStagingStore(dir, 'local-staging');
    const definition = definitionOf(copyObjects({ ItemBatcher: { MaxInputBytesPerBatch: 100 } }));
    const copy = async () => ({});
    await staging.put(MANIFEST, jsonLines([{ Key: 'x'.repeat(200) }, ...keys(3)]));
    expect(await runMap(staging, definition, copy)).toMatchObject({
      Status: 'FAILED',
      Error: 'States.Runtime',
      Cause: expect.stringMatching(/item 0 .* does not fit/),
    });
    await staging.put(MANIFEST, jsonLines([{ Key: 'x'.repeat(200) }, ...keys(3)]) + 'not json\n');
    expect(await runMap(staging, definition, copy)).toMatchObject({
      Status: 'FAILED',
      Error: 'States.ItemReaderFailed',
      Cause: expect.stringMatching(/line 5 is not JSON/),
    });
  });

  it('stops starting children once a result file cannot be written', async () => {
    class FailingStore extends FolderStagingStore {
      async put(key: string, body: string | Buffer | Readable): Promise<void> {
        if (/SUCCEEDED_\d+\.json$/.test(key)) throw new Error('disk full');
        return super.put(key, body);
      }
    }
    const staging = new FailingStore(dir, 'local-staging');
    await staging.put(MANIFEST, jsonLines(keys(10)));
    let calls = 0;
    const outcome = await runMap(
      staging,
      definitionOf(copyObjects({ ItemBatcher: { MaxItemsPerBatch: 1 }, MaxConcurrency: 1 })),
      async () => ({ Done: ++calls }),
    );
    expect(outcome).toMatchObject({
      Status: 'FAILED',
      Error: 'States.ResultWriterFailed',
      Cause: expect.stringMatching(/cannot write the results to s3:\/\/local-staging\/results\/.*disk full/),
    });
    expect(calls).toBeLessThanOrEqual(2);
    expect(await staging.list('results/')).toEqual([]);
  });
});

describe('readItems', () => {
  it('splits lines across chunk boundaries as readline does, even within "\\r\\n" or a UTF-8 character', async () => {
    const e = Buffer.from('é');
    const chunks = [
      Buffer.from('{"Key":"a"}\r'),
      Buffer.from('\n{"Key":"b '),
      e.subarray(0, 1),
      Buffer.concat([e.subarray(1), Buffer.from('"}\r\n\r')]),
      Buffer.from('{"Key":"c"}\n{"Key":'),
    ];
    const staging = new StreamedStore(dir, { [MANIFEST]: () => Readable.from(chunks) });
    const read = readItems(staging, 'JSONL', { Bucket: 'local-staging', Key: MANIFEST });
    const items: Json[] = [];
    await expect(
      (async () => {
        for await (const item of read) items.push(item);
      })(),
    ).rejects.toMatchObject({ name: 'States.ItemReaderFailed', message: expect.stringMatching(/line 5 /) });
    expect(items).toEqual([{ Key: 'a' }, { Key: 'b é' }, { Key: 'c' }]);
    expect(await collect(readItems(staging, 'JSONL', { Bucket: 'local-staging', Key: MANIFEST }, 3))).toEqual(
      items,
    );
  });
});

describe('ResultFiles', () => {
  const child = (n: number, outcome: ChildRecord['outcome']): ChildRecord => ({
    input: { Items: [{ Key: `k${n}` }] },
    identity: {
      name: `child-${n}`,
      executionArn: `arn:aws:states:us-west-2:000000000000:execution:LocalStateMachine/CopyObjects:child-${n}`,
      stateMachineArn: 'arn:aws:states:us-west-2:000000000000:stateMachine:LocalStateMachine/CopyObjects',
      mapRunArn: MAP_RUN_ARN,
    },
    startDate: new Date(0),
    stopDate: new Date(1000),
    outcome,
  });

  it('writes each status in files of at most the bound, each closed as the next one starts', async () => {
    const staging = new FolderStagingStore(dir, 'local-staging');
    const maxBytes = 2000;
    const files = ResultFiles.create(
      staging,
      { Bucket: 'local-staging', Prefix: 'results/' },
      'run-id',
      MAP_RUN_ARN,
      maxBytes,
    );
    for (let n = 0; n < 20; n++) await files.add(child(n, { Status: 'SUCCEEDED', Output: { Done: n } }));
    await files.add(child(20, { Status: 'FAILED', Error: 'CopyFailed', Cause: 'x' }));
    await files.add({ input: { Items: [{ Key: 'k21' }] } });

    // Before the Map Run ends, the files that filled up are complete on the store; the manifest is not.
    const early = await staging.list('results/run-id/');
    expect(early).toEqual(
      expect.arrayContaining(['results/run-id/SUCCEEDED_0.json', 'results/run-id/SUCCEEDED_1.json']),
    );
    expect(early).not.toContain('results/run-id/manifest.json');
    expect(await readJson<Json[]>(staging, 'results/run-id/SUCCEEDED_0.json')).toEqual(expect.any(Array));

    const output = await files.finish();
    expect(output).toEqual({
      MapRunArn: MAP_RUN_ARN,
      ResultWriterDetails: { Bucket: 'local-staging', Key: 'results/run-id/manifest.json' },
    });
    const { manifest, succeeded, failed, pending } = await readResults(
      staging,
      'results/run-id/manifest.json',
    );
    expect(Object.keys(manifest.ResultFiles)).toEqual(['FAILED', 'PENDING', 'SUCCEEDED']);
    const written = manifest.ResultFiles.SUCCEEDED;
    expect(written.length).toBeGreaterThan(3);
    expect(written.map((file) => file.Key)).toEqual(
      written.map((_, n) => `results/run-id/SUCCEEDED_${n}.json`),
    );
    const all: Manifest['ResultFiles'][keyof Manifest['ResultFiles']] = Object.values(
      manifest.ResultFiles,
    ).flat();
    for (const file of all) {
      const text = (await staging.getText(file.Key))!;
      expect(file.Size).toBe(Buffer.byteLength(text));
      expect(file.Size).toBeLessThanOrEqual(maxBytes);
    }
    expect(succeeded.map((entry) => entry.Name)).toEqual(Array.from({ length: 20 }, (_, n) => `child-${n}`));
    expect(failed).toEqual([
      expect.objectContaining({ Name: 'child-20', Status: 'FAILED', Error: 'CopyFailed' }),
    ]);
    expect(pending).toEqual([
      {
        Input: JSON.stringify({ Items: [{ Key: 'k21' }] }),
        InputDetails: { Included: true },
        Status: 'PENDING',
      },
    ]);
  });
});
