import { emptyUnitCounts } from '../../../shared/units';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  BatchInput,
  CopyBatchOutput,
  ItemResult,
  ManifestItem,
  PlanOutput,
  TokenReference,
} from '../../../shared/contracts';
import { FolderStagingStore } from '../../../shared/staging';
import {
  BATCH_PENDING,
  NOT_REPORTED,
  summarize,
  type SummarizeInput,
} from '../../../functions/summarize/summarize';
import { findResultManifestKey } from '../../../functions/summarize/result-reader';

const REGION_ACCOUNT = 'us-west-2:123456789012';
const STATE_MACHINE = 'TransferStateMachine1A2B3C';
const PREFIX = 'runs/exec-1';
const MAP_RUN_ID = '4977ded7-b097-3bee-81e1-7863c5660f29';
const MAP_RUN_ARN = `arn:aws:states:${REGION_ACCOUNT}:mapRun:${STATE_MACHINE}/CopyObjects:${MAP_RUN_ID}`;

let root: string;
let staging: FolderStagingStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'summarize-'));
  staging = new FolderStagingStore(root, 'staging-bucket');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const item = (i: number, extra: Partial<ManifestItem> = {}): ManifestItem => ({
  Key: `granules/2024/file-${i}.h5`,
  DestKey: `mirror/granules/2024/file-${i}.h5`,
  Size: 1000 + i,
  ETag: `etag${i}`,
  ...extra,
});

function batchInput(
  token: TokenReference = { Kind: 'bearer-parameter', Parameter: '/s3-direct-transfer/t' },
) {
  const b: BatchInput = {
    CredentialsEndpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
    Token: token,
    SourceBucket: 'src-bucket',
    DestBucket: 'dst-bucket',
    Sync: false,
    RunId: 'exec-1',
  };
  return b;
}

function plan(count: number, overrides: Partial<PlanOutput> = {}): PlanOutput {
  return {
    Manifest: { Bucket: 'staging-bucket', Key: `${PREFIX}/manifest.jsonl` },
    Count: count,
    Bytes: 0,
    Units: { ...emptyUnitCounts(), Objects: count, Lines: count },
    DryRun: false,
    BatchInput: batchInput(),
    Staging: { Bucket: 'staging-bucket', Prefix: PREFIX },
    ...overrides,
  };
}

async function writeManifest(items: ManifestItem[]): Promise<void> {
  await staging.put(`${PREFIX}/manifest.jsonl`, items.map((i) => JSON.stringify(i)).join('\n') + '\n');
}

const copied = (i: ManifestItem): ItemResult => ({
  Key: i.Key,
  DestKey: i.DestKey,
  Status: 'COPIED',
  Bytes: i.Size ?? 0,
});
const skipped = (i: ManifestItem): ItemResult => ({
  Key: i.Key,
  DestKey: i.DestKey,
  Status: 'SKIPPED',
  Bytes: 0,
});
const failed = (i: ManifestItem, error = 'SourceNotFound', cause = 'NoSuchKey: gone'): ItemResult => ({
  Key: i.Key,
  DestKey: i.DestKey,
  Status: 'FAILED',
  Bytes: 0,
  Error: error,
  Cause: cause,
});

let executionCounter = 0;
/** A child execution entry as Step Functions writes it in SUCCEEDED_n.json / FAILED_n.json / PENDING_n.json. */
function entry(
  status: 'SUCCEEDED' | 'FAILED' | 'PENDING' | 'TIMED_OUT',
  items: ManifestItem[],
  outcome: { results?: ItemResult[]; error?: string; cause?: string } = {},
) {
  const name = `c0ffee00-0000-4000-8000-${String(++executionCounter).padStart(12, '0')}`;
  const input = { Items: items, BatchInput: batchInput() };
  const base = {
    ExecutionArn: `arn:aws:states:${REGION_ACCOUNT}:execution:${STATE_MACHINE}/CopyObjects:${name}`,
    Input: JSON.stringify(input),
    InputDetails: { Included: true },
    Name: name,
    RedriveCount: 0,
    RedriveStatus: 'NOT_REDRIVABLE',
    StartDate: `2025-03-01T10:00:${String(executionCounter % 60).padStart(2, '0')}.000Z`,
    StateMachineArn: `arn:aws:states:${REGION_ACCOUNT}:stateMachine:${STATE_MACHINE}/CopyObjects`,
    Status: status,
  };
  if (status === 'PENDING') return base;
  const stop = { StopDate: `2025-03-01T10:05:${String(executionCounter % 60).padStart(2, '0')}.000Z` };
  if (status === 'SUCCEEDED') {
    const output: CopyBatchOutput = {
      Results: outcome.results ?? [],
      Stalled: 0,
      BatchInput: batchInput(),
    };
    return { ...base, ...stop, Output: JSON.stringify(output), OutputDetails: { Included: true } };
  }
  return { ...base, ...stop, Error: outcome.error, Cause: outcome.cause };
}

/** Writes the ResultWriter output (`<prefix>/<map run id>/manifest.json` + result files); returns the Map output. */
async function writeResults(files: Partial<Record<'SUCCEEDED' | 'FAILED' | 'PENDING', object[][]>>) {
  const dir = `${PREFIX}/${MAP_RUN_ID}`;
  const resultFiles: Record<string, { Key: string; Size: number }[]> = {
    FAILED: [],
    PENDING: [],
    SUCCEEDED: [],
  };
  for (const [status, chunks] of Object.entries(files)) {
    for (const [n, entries] of chunks.entries()) {
      const key = `${dir}/${status}_${n}.json`;
      // Pretty-printed on odd files, compact on even ones: the reader must not care.
      const text = n % 2 ? JSON.stringify(entries, null, 2) : JSON.stringify(entries);
      await staging.put(key, text);
      resultFiles[status].push({ Key: key, Size: Buffer.byteLength(text) });
    }
  }
  const manifest = { DestinationBucket: 'staging-bucket', MapRunArn: MAP_RUN_ARN, ResultFiles: resultFiles };
  await staging.put(`${dir}/manifest.json`, JSON.stringify(manifest));
  return {
    MapRunArn: MAP_RUN_ARN,
    ResultWriterDetails: { Bucket: 'staging-bucket', Key: `${dir}/manifest.json` },
  };
}

async function readReport(): Promise<{
  Plan: Record<string, unknown>;
  Items: { Key: string; Status: string; Error?: string }[];
  Counts: Record<string, number>;
  Bytes: number;
  Batches: Record<string, number>;
  Timings: Record<string, string>;
  Estimate?: Record<string, unknown>;
  Notes: string[];
}> {
  return JSON.parse((await staging.getText(`${PREFIX}/report.json`))!);
}

const fixedNow = () => new Date('2025-03-01T11:00:00.000Z');

describe('summarize', () => {
  it('aggregates succeeded batches into the result contract and writes the full report', async () => {
    const items = Array.from({ length: 5 }, (_, i) => item(i));
    await writeManifest(items);
    const map = await writeResults({
      SUCCEEDED: [
        [entry('SUCCEEDED', items.slice(0, 2), { results: [copied(items[0]), skipped(items[1])] })],
        [
          entry('SUCCEEDED', items.slice(2), {
            results: [copied(items[2]), copied(items[3]), failed(items[4])],
          }),
        ],
      ],
    });

    const result = await summarize({ Plan: plan(5), Map: map }, { staging, now: fixedNow });

    expect(result).toEqual({
      Copied: 3,
      Skipped: 1,
      Failed: 1,
      Bytes: 1000 + 1002 + 1003,
      Failures: [{ Key: items[4].Key, Error: 'SourceNotFound', Cause: 'NoSuchKey: gone' }],
      Report: { Bucket: 'staging-bucket', Key: `${PREFIX}/report.json` },
    });
    const report = await readReport();
    expect(report.Items.map((i) => [i.Key, i.Status])).toEqual([
      [items[0].Key, 'COPIED'],
      [items[1].Key, 'SKIPPED'],
      [items[2].Key, 'COPIED'],
      [items[3].Key, 'COPIED'],
      [items[4].Key, 'FAILED'],
    ]);
    expect(report.Counts).toEqual({ Planned: 5, Copied: 3, Skipped: 1, Failed: 1, NotReported: 0 });
    expect(report.Bytes).toBe(3005);
    expect(report.Batches).toEqual({ SUCCEEDED: 2, FAILED: 0, PENDING: 0 });
    expect(report.Timings).toEqual({
      BatchesStartedAt: expect.stringMatching(/^2025-03-01T10:00:/),
      BatchesStoppedAt: expect.stringMatching(/^2025-03-01T10:05:/),
      SummarizedAt: '2025-03-01T11:00:00.000Z',
    });
    expect(report.Plan).toMatchObject({ RunId: 'exec-1', Count: 5, SourceBucket: 'src-bucket' });
  });

  it('counts every item of a failed batch as Failed with the batch error and the Lambda errorMessage', async () => {
    const items = Array.from({ length: 4 }, (_, i) => item(i));
    await writeManifest(items);
    const lambdaCause = JSON.stringify({
      errorType: 'CredentialsEndpointError',
      errorMessage: 'the credentials endpoint answered 503 three times',
      trace: ['CredentialsEndpointError: ...', '    at fetchCredentials (/var/task/index.js:1:2)'],
    });
    const map = await writeResults({
      SUCCEEDED: [[entry('SUCCEEDED', items.slice(0, 2), { results: items.slice(0, 2).map(copied) })]],
      FAILED: [
        [
          entry('FAILED', [items[2]], { error: 'CredentialsEndpointError', cause: lambdaCause }),
          entry('TIMED_OUT', [items[3]], {}),
        ],
      ],
    });

    const result = await summarize({ Plan: plan(4), Map: map }, { staging });

    expect(result.Copied).toBe(2);
    expect(result.Failed).toBe(2);
    expect(result.Failures).toEqual([
      {
        Key: items[2].Key,
        Error: 'CredentialsEndpointError',
        Cause: 'the credentials endpoint answered 503 three times',
      },
      { Key: items[3].Key, Error: 'States.Timeout', Cause: 'The batch ended TIMED_OUT.' },
    ]);
    expect((await readReport()).Batches).toEqual({ SUCCEEDED: 1, FAILED: 2, PENDING: 0 });
  });

  it('counts the items of pending batches as Failed', async () => {
    const items = Array.from({ length: 3 }, (_, i) => item(i));
    await writeManifest(items);
    const written = await writeResults({
      SUCCEEDED: [[entry('SUCCEEDED', [items[0]], { results: [copied(items[0])] })]],
      PENDING: [[entry('PENDING', items.slice(1))]],
    });

    const result = await summarize({ Plan: plan(3), Map: written }, { staging });

    expect(result).toMatchObject({ Copied: 1, Skipped: 0, Failed: 2 });
    expect(result.Failures.map((f) => [f.Key, f.Error])).toEqual([
      [items[1].Key, BATCH_PENDING],
      [items[2].Key, BATCH_PENDING],
    ]);
  });

  it('caps Failures at 100 while counting and reporting every failure', async () => {
    const items = Array.from({ length: 250 }, (_, i) => item(i));
    await writeManifest(items);
    const batches = [];
    for (let i = 0; i < items.length; i += 20) {
      const batch = items.slice(i, i + 20);
      batches.push(entry('SUCCEEDED', batch, { results: batch.map((it) => failed(it)) }));
    }
    const map = await writeResults({ SUCCEEDED: [batches.slice(0, 6), batches.slice(6)] });

    const result = await summarize({ Plan: plan(250), Map: map }, { staging });

    expect(result.Failed).toBe(250);
    expect(result.Failures).toHaveLength(100);
    expect(result.Failures[0].Key).toBe(items[0].Key);
    const report = await readReport();
    expect(report.Items).toHaveLength(250);
    expect(report.Items.every((i) => i.Status === 'FAILED')).toBe(true);
  });

  it('reconciles against the manifest: items no batch reported are Failed NotReported, counts add up', async () => {
    const items = Array.from({ length: 6 }, (_, i) => item(i));
    // Item 5 is known bad at plan time; it is never reported either.
    items[5] = item(5, { Size: undefined, Error: 'SourceNotFound', Cause: 'not listed under the prefix' });
    await writeManifest(items);
    const map = await writeResults({
      SUCCEEDED: [
        // The batch of items 0-2 forgot item 2 in its Results.
        [entry('SUCCEEDED', items.slice(0, 3), { results: [copied(items[0]), copied(items[1])] })],
        // Item 3's batch is in no file at all; item 4 appears.
        [entry('SUCCEEDED', [items[4]], { results: [skipped(items[4])] })],
      ],
    });

    const result = await summarize({ Plan: plan(6), Map: map }, { staging });

    expect(result.Copied + result.Skipped + result.Failed).toBe(6);
    expect(result).toMatchObject({ Copied: 2, Skipped: 1, Failed: 3 });
    expect(result.Failures).toEqual([
      { Key: items[2].Key, Error: NOT_REPORTED, Cause: 'No copy batch reported this item.' },
      { Key: items[3].Key, Error: NOT_REPORTED, Cause: 'No copy batch reported this item.' },
      { Key: items[5].Key, Error: 'SourceNotFound', Cause: 'not listed under the prefix' },
    ]);
    const report = await readReport();
    expect(report.Counts).toMatchObject({ Planned: 6, Failed: 3, NotReported: 2 });
    expect(report.Items).toHaveLength(6);
  });

  it('keeps duplicate manifest entries apart (each needs its own report)', async () => {
    const a = item(1);
    await writeManifest([a, a]);
    const map = await writeResults({ SUCCEEDED: [[entry('SUCCEEDED', [a], { results: [copied(a)] })]] });
    const result = await summarize({ Plan: plan(2), Map: map }, { staging });
    expect(result).toMatchObject({ Copied: 1, Failed: 1 });
  });

  it('deletes the staged token object, and only that', async () => {
    const items = [item(1)];
    await writeManifest(items);
    await staging.put(`${PREFIX}/token`, 'secret-token-value');
    const map = await writeResults({
      SUCCEEDED: [[entry('SUCCEEDED', items, { results: items.map(copied) })]],
    });
    const token: TokenReference = {
      Kind: 'staged',
      Bucket: 'staging-bucket',
      Key: `${PREFIX}/token`,
      TokenKind: 'bearer',
    };

    await summarize({ Plan: plan(1, { BatchInput: batchInput(token) }), Map: map }, { staging });

    expect(await staging.getText(`${PREFIX}/token`)).toBeUndefined();
    expect(await staging.getText(`${PREFIX}/manifest.jsonl`)).toBeDefined();
    expect(JSON.stringify(await readReport())).not.toContain('secret-token-value');
  });

  it('leaves staging alone for a parameter token, and never names the parameter in the report', async () => {
    await writeManifest([]);
    await staging.put(`${PREFIX}/token`, 'unrelated');
    const parameter: TokenReference = { Kind: 'bearer-parameter', Parameter: '/team/secret-parameter-name' };
    await summarize({ Plan: plan(0, { BatchInput: batchInput(parameter) }) }, { staging });
    expect(await staging.getText(`${PREFIX}/token`)).toBe('unrelated');
    const text = (await staging.getText(`${PREFIX}/report.json`))!;
    expect(text).not.toContain('secret-parameter-name');
    expect(JSON.parse(text).Plan.TokenKind).toBe('bearer-parameter');
  });

  it('summarizes a run with nothing to copy (Map skipped)', async () => {
    await writeManifest([]);
    const result = await summarize({ Plan: plan(0) }, { staging });
    expect(result).toEqual({
      Copied: 0,
      Skipped: 0,
      Failed: 0,
      Bytes: 0,
      Failures: [],
      Report: { Bucket: 'staging-bucket', Key: `${PREFIX}/report.json` },
    });
    expect((await readReport()).Items).toEqual([]);
  });

  it('reports a dry run as planned items, failing only what the plan knew would fail', async () => {
    const items = [
      item(1),
      item(2),
      item(3, { Size: undefined, Error: 'SourceNotFound', Cause: 'no such key' }),
    ];
    await writeManifest(items);
    const result = await summarize({ Plan: plan(3, { DryRun: true, Bytes: 2003 }) }, { staging });
    expect(result).toMatchObject({ Copied: 0, Skipped: 0, Failed: 1, Bytes: 0, DryRun: true, Planned: 3 });
    expect(result.Failures).toEqual([{ Key: items[2].Key, Error: 'SourceNotFound', Cause: 'no such key' }]);
    const report = await readReport();
    expect(report.Items.map((i) => i.Status)).toEqual(['PLANNED', 'PLANNED', 'FAILED']);
    // The estimate of the run it plans: 3 object units, the one that will fail copies nothing.
    expect(result.Estimate).toMatchObject({
      Objects: 3,
      Bytes: 2003,
      Units: { Objects: 3, Lines: 3 },
      // The run's 6 top-level states, and each child's start and 3 states.
      Usage: { ChildExecutions: 3, StateTransitions: 6 + 3 * 4, S3GetHeadOther: 2 + 2 },
    });
    expect(report.Estimate).toEqual(result.Estimate);
  });

  it('gives no estimate for a run that copied', async () => {
    await writeManifest([item(1)]);
    const result = await summarize({ Plan: plan(1) }, { staging });
    expect(result.Estimate).toBeUndefined();
    expect((await readReport()).Estimate).toBeUndefined();
  });

  it('when the Map state failed, reads the results it wrote and fails the rest with its error', async () => {
    const items = Array.from({ length: 4 }, (_, i) => item(i));
    await writeManifest(items);
    await writeResults({
      SUCCEEDED: [[entry('SUCCEEDED', [items[0]], { results: [copied(items[0])] })]],
      FAILED: [[entry('FAILED', [items[1]], { error: 'Lambda.Unknown', cause: 'Runtime exited' })]],
    });
    const mapError = {
      Error: 'States.ExceedToleratedFailureThreshold',
      Cause: 'The specified tolerated failure threshold was exceeded',
    };

    const result = await summarize({ Plan: plan(4), Map: mapError }, { staging });

    expect(result).toMatchObject({ Copied: 1, Failed: 3 });
    expect(result.Failures.map((f) => [f.Key, f.Error])).toEqual([
      [items[1].Key, 'Lambda.Unknown'],
      [items[2].Key, 'States.ExceedToleratedFailureThreshold'],
      [items[3].Key, 'States.ExceedToleratedFailureThreshold'],
    ]);
  });

  it('when the Map state failed before writing anything, every item fails with its error', async () => {
    const items = [item(1), item(2)];
    await writeManifest(items);
    const result = await summarize(
      { Plan: plan(2), Map: { Error: 'States.ItemReaderFailed', Cause: 'Access Denied' } },
      { staging },
    );
    expect(result).toMatchObject({ Copied: 0, Failed: 2 });
    expect(result.Failures[0]).toEqual({
      Key: items[0].Key,
      Error: 'States.ItemReaderFailed',
      Cause: 'The map run failed before this item was reported: Access Denied',
    });
    expect((await readReport()).Notes).toContain('No ResultWriter output was found for the map run.');
  });

  it('still accounts for every planned item when the manifest is gone', async () => {
    const items = [item(1), item(2), item(3)];
    const map = await writeResults({
      SUCCEEDED: [[entry('SUCCEEDED', [items[0]], { results: [copied(items[0])] })]],
    });
    const result = await summarize({ Plan: plan(3), Map: map }, { staging });
    expect(result).toMatchObject({ Copied: 1, Failed: 2 });
    expect(result.Failures).toEqual([
      {
        Key: `${PREFIX}/manifest.jsonl`,
        Error: NOT_REPORTED,
        Cause: expect.stringContaining('2 planned items'),
      },
    ]);
  });

  it('keeps the result small: long causes are truncated in Failures', async () => {
    const a = item(1);
    await writeManifest([a]);
    const map = await writeResults({
      SUCCEEDED: [[entry('SUCCEEDED', [a], { results: [failed(a, 'CopyFailed', 'x'.repeat(10_000))] })]],
    });
    const result = await summarize({ Plan: plan(1), Map: map }, { staging });
    expect(result.Failures[0].Cause.length).toBeLessThanOrEqual(500);
    const report = await readReport();
    expect(JSON.stringify(report.Items[0]).length).toBeLessThan(5000);
  });

  it('handles tens of thousands of items in linear time', async () => {
    const n = 40_000;
    const items = Array.from({ length: n }, (_, i) => item(i));
    await writeManifest(items);
    const batches = [];
    for (let i = 0; i < n; i += 20) {
      const batch = items.slice(i, i + 20);
      batches.push(entry('SUCCEEDED', batch, { results: batch.map(copied) }));
    }
    const map = await writeResults({ SUCCEEDED: [batches.slice(0, 1000), batches.slice(1000)] });
    const started = Date.now();

    const result = await summarize({ Plan: plan(n), Map: map } as SummarizeInput, { staging });

    expect(result.Copied).toBe(n);
    expect(result.Failed).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe('summarize: units', () => {
  it('counts a unit that kept its credit: earlier rounds as reported, the rest failed with the later error', async () => {
    const items = Array.from({ length: 4 }, (_, i) => item(i));
    await writeManifest([{ Pack: items }] as unknown as ManifestItem[]);
    // The child's CreditKept output: what earlier rounds finished, the unit left, and the error.
    const kept = {
      ...entry('SUCCEEDED', items),
      Input: JSON.stringify({ Unit: { Pack: items }, BatchInput: batchInput() }),
      Output: JSON.stringify({
        Results: [copied(items[0]), skipped(items[1])],
        Unfinished: { Pack: items.slice(2) },
        Failure: {
          Error: 'AuthenticationFailed',
          Cause: JSON.stringify({ errorType: 'AuthenticationFailed', errorMessage: 'token refused' }),
        },
      }),
    };
    const map = await writeResults({ SUCCEEDED: [[kept]] });
    const result = await summarize({ Plan: plan(4), Map: map }, { staging, now: fixedNow });
    expect(result).toMatchObject({ Copied: 1, Skipped: 1, Failed: 2, Bytes: items[0].Size });
    expect(result.Failures).toEqual([
      { Key: items[2].Key, Error: 'AuthenticationFailed', Cause: expect.stringContaining('token refused') },
      { Key: items[3].Key, Error: 'AuthenticationFailed', Cause: expect.stringContaining('token refused') },
    ]);
    const report = await readReport();
    expect(report.Counts).toMatchObject({ Planned: 4, Copied: 1, Skipped: 1, Failed: 2, NotReported: 0 });
  });

  it('counts giant objects once, from CompleteGiants’ results, and fails those it never decided', async () => {
    const small = item(0);
    await writeManifest([small]);
    const giants = [
      {
        Giant: 0,
        Key: 'big/a.h5',
        DestKey: 'mirror/big/a.h5',
        Size: 5e9,
        ETag: 'ga',
        PartSize: 8 << 20,
        Parts: 597,
        Ranges: 5,
      },
      {
        Giant: 1,
        Key: 'big/b.h5',
        DestKey: 'mirror/big/b.h5',
        Size: 6e9,
        ETag: 'gb',
        PartSize: 8 << 20,
        Parts: 716,
        Ranges: 6,
      },
      {
        Giant: 2,
        Key: 'big/c.h5',
        DestKey: 'mirror/big/c.h5',
        Size: 7e9,
        ETag: 'gc',
        PartSize: 8 << 20,
        Parts: 835,
        Ranges: 7,
      },
    ];
    await staging.put(`${PREFIX}/giants.jsonl`, giants.map((g) => JSON.stringify(g)).join('\n') + '\n');
    await staging.put(
      `${PREFIX}/uploads/0.result.json`,
      JSON.stringify({
        Key: 'big/a.h5',
        DestKey: 'mirror/big/a.h5',
        Status: 'COPIED',
        Bytes: 5e9,
        Check: 'crc32-full-object',
      }),
    );
    await staging.put(
      `${PREFIX}/uploads/1.result.json`,
      JSON.stringify({
        Key: 'big/b.h5',
        DestKey: 'mirror/big/b.h5',
        Status: 'FAILED',
        Bytes: 0,
        Error: 'SourceChanged',
        Cause: 'ETag changed (the upload was aborted)',
      }),
    );
    // Range units report no object: only the small object's unit has results.
    const map = await writeResults({
      SUCCEEDED: [[entry('SUCCEEDED', [small], { results: [copied(small)] })]],
    });
    const result = await summarize(
      {
        Plan: plan(4, {
          Bytes: 18e9 + small.Size!,
          Giants: { Bucket: 'staging-bucket', Key: `${PREFIX}/giants.jsonl` },
          Units: { ...emptyUnitCounts(), Objects: 1, Ranges: 18, Giants: 3, GiantBytes: 18e9, Lines: 19 },
        }),
        Map: map,
      },
      { staging, now: fixedNow },
    );
    expect(result).toMatchObject({ Copied: 2, Skipped: 0, Failed: 2, Bytes: 5e9 + small.Size! });
    expect(result.Failures).toEqual([
      { Key: 'big/b.h5', Error: 'SourceChanged', Cause: expect.stringContaining('aborted') },
      {
        Key: 'big/c.h5',
        Error: NOT_REPORTED,
        Cause: expect.stringContaining('CompleteGiants recorded no result'),
      },
    ]);
    const report = await readReport();
    expect(report.Items.map((i) => [i.Key, i.Status])).toEqual([
      [small.Key, 'COPIED'],
      ['big/a.h5', 'COPIED'],
      ['big/b.h5', 'FAILED'],
      ['big/c.h5', 'FAILED'],
    ]);
    expect(report.Counts).toMatchObject({ Planned: 4, Copied: 2, Failed: 2 });
  });
});

describe('findResultManifestKey', () => {
  const store = (keys: string[]) =>
    ({
      bucket: 'b',
      list: async (prefix: string) => keys.filter((k) => k.startsWith(prefix)).sort(),
    }) as never;

  it("finds <prefix>/<map run id>/manifest.json, with or without the prefix's trailing slash", async () => {
    const keys = [
      'runs/x/manifest.jsonl',
      'runs/x/token',
      'runs/x/4977ded7/SUCCEEDED_0.json',
      'runs/x/4977ded7/manifest.json',
      'runs/xy/other/manifest.json',
    ];
    expect(await findResultManifestKey(store(keys), 'runs/x/')).toBe('runs/x/4977ded7/manifest.json');
    expect(await findResultManifestKey(store(keys), 'runs/x')).toBe('runs/x/4977ded7/manifest.json');
  });

  it('tolerates a doubled slash after the prefix, and finds nothing when there is nothing', async () => {
    expect(await findResultManifestKey(store(['runs/x//m1/manifest.json']), 'runs/x/')).toBe(
      'runs/x//m1/manifest.json',
    );
    expect(await findResultManifestKey(store(['runs/x/report.json']), 'runs/x/')).toBeUndefined();
  });
});

describe('summarize: a Sync plan from both listings', () => {
  const deletes = (count: number): PlanOutput['Deletes'] => ({
    Count: count,
    Bytes: 3 * count,
    Bucket: 'staging-bucket',
    Key: `${PREFIX}/deletes.jsonl`,
    Within: 'mirror/',
    MaxDeletes: 10,
  });
  async function syncFiles(): Promise<PlanOutput> {
    await writeManifest([]);
    await staging.put(
      `${PREFIX}/skipped.jsonl`,
      `${JSON.stringify({ Key: item(1).Key, DestKey: item(1).DestKey, Size: 5 })}\n`,
    );
    await staging.put(
      `${PREFIX}/deletes.jsonl`,
      '{"DestKey":"mirror/x","Size":3}\n{"DestKey":"mirror/y","Size":3}\n',
    );
    return plan(0, {
      Skipped: { Count: 1, Bytes: 5, Bucket: 'staging-bucket', Key: `${PREFIX}/skipped.jsonl` },
      Deletes: deletes(2),
    });
  }
  const report = async () =>
    JSON.parse((await staging.getText(`${PREFIX}/report.json`))!) as {
      Items: { Status: string; DestKey: string; Error?: string; Check?: string }[];
      Counts: Record<string, number>;
    };

  it('reports the skipped objects SKIPPED and the deletions made DELETED', async () => {
    const result = await summarize(
      { Plan: await syncFiles(), Delete: { Deleted: 2, NotDeleted: 0, Errors: [] } },
      { staging },
    );
    expect(result).toMatchObject({ Copied: 0, Skipped: 1, Failed: 0, Deleted: 2, Failures: [] });
    expect(result).not.toHaveProperty('NotDeleted');
    const { Items, Counts } = await report();
    expect(Items.map((i) => [i.Status, i.DestKey, i.Check])).toEqual([
      ['SKIPPED', item(1).DestKey, 'destination-listing'],
      ['DELETED', 'mirror/x', undefined],
      ['DELETED', 'mirror/y', undefined],
    ]);
    expect(Counts).toMatchObject({ Planned: 1, Skipped: 1, Deleted: 2, NotDeleted: 0 });
  });

  it('reports withheld or failed deletions NOT_DELETED, among the Failures', async () => {
    const withheld = await summarize(
      {
        Plan: await syncFiles(),
        Delete: { Deleted: 0, NotDeleted: 2, Errors: [], Withheld: '1 objects failed' },
      },
      { staging },
    );
    expect(withheld).toMatchObject({ Deleted: 0, NotDeleted: 2 });
    expect(withheld.Failures.map((f) => [f.Key, f.Error])).toEqual([
      ['mirror/x', 'DeletionsWithheld'],
      ['mirror/y', 'DeletionsWithheld'],
    ]);
    const perKey = await summarize(
      {
        Plan: await syncFiles(),
        Delete: {
          Deleted: 1,
          NotDeleted: 1,
          Errors: [{ Key: 'mirror/y', Code: 'AccessDenied', Message: 'no' }],
        },
      },
      { staging },
    );
    expect(perKey).toMatchObject({ Deleted: 1, NotDeleted: 1 });
    expect(
      (await report()).Items.filter((i) => i.Status === 'NOT_DELETED').map((i) => [i.DestKey, i.Error]),
    ).toEqual([['mirror/y', 'AccessDenied']]);
  });

  it('in a dry run lists the deletions PLANNED_DELETE and deletes nothing', async () => {
    const result = await summarize({ Plan: { ...(await syncFiles()), DryRun: true } }, { staging });
    expect(result).toMatchObject({ DryRun: true, Deleted: 0, PlannedDeletes: 2 });
    expect((await report()).Items.filter((i) => i.Status === 'PLANNED_DELETE')).toHaveLength(2);
  });
});
