/**
 * The real synthesized definition (local/definition/definition.json, built from infra/) running in the one-machine
 * host with fake Lambda handlers: proves the whole definition runs locally, Distributed Map included.
 */
import { emptyUnitCounts, unitObjects } from '../../shared/units';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  CopyBatchInput,
  CopyBatchOutput,
  ItemResult,
  ManifestItem,
  WorkUnit,
  PlanOutput,
} from '../../shared/contracts';
import { FolderStagingStore } from '../../shared/staging';
import { loadDefinitionArtifact, type DefinitionArtifact } from '../../local/definition/artifact';
import {
  loadStateMachine,
  type LambdaHandler,
  type LoadedStateMachine,
} from '../../local/stepfunctions/host';
import { summarize, type SummarizeInput } from '../../functions/summarize/summarize';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

let artifact: DefinitionArtifact;
let dir: string;
let staging: FolderStagingStore;

beforeAll(() => {
  artifact = loadDefinitionArtifact();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-host-it-'));
  staging = new FolderStagingStore(dir, 'local-staging');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const named = (name: string, message: string): Error => Object.assign(new Error(message), { name });

/** A Plan that lists `keys` into the run's manifest, as functions/plan does. */
function fakePlan(keys: string[], options: { dryRun?: boolean } = {}): LambdaHandler {
  return async (event) => {
    const { Event, Execution } = event as {
      Event: { Source: { Bucket: string } };
      Execution: { Name: string };
    };
    const prefix = `runs/${Execution.Name}/`;
    const items: ManifestItem[] = keys.map((key, i) => ({
      Key: key,
      DestKey: `copied/${key}`,
      Size: i + 1,
      ETag: `e${i}`,
    }));
    // Packs of 20 objects, as Plan cuts small objects.
    const units: WorkUnit[] = [];
    for (let i = 0; i < items.length; i += 20) units.push({ Pack: items.slice(i, i + 20) });
    await staging.put(`${prefix}manifest.jsonl`, units.map((unit) => `${JSON.stringify(unit)}\n`).join(''));
    const plan: PlanOutput = {
      Manifest: { Bucket: staging.bucket, Key: `${prefix}manifest.jsonl` },
      Count: items.length,
      Bytes: items.reduce((sum, item) => sum + (item.Size ?? 0), 0),
      Units: { ...emptyUnitCounts(), Packs: units.length, PackedObjects: items.length, Lines: units.length },
      DryRun: options.dryRun ?? false,
      BatchInput: {
        CredentialsEndpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
        Token: { Kind: 'bearer-parameter', Parameter: '/not/read' },
        SourceBucket: Event.Source.Bucket,
        DestBucket: 'dest-bucket',
        Sync: false,
        RunId: Execution.Name,
      },
      Staging: { Bucket: staging.bucket, Prefix: prefix },
    };
    return plan;
  };
}

/** A CopyBatch that copies one object per call and defers the rest, so every batch loops. */
function fakeCopy(calls: CopyBatchInput[], failKeys: string[] = []): LambdaHandler {
  return async (event) => {
    const input = event as CopyBatchInput;
    calls.push(input);
    const objects = unitObjects(input.Unit ?? { Pack: input.Items ?? [] });
    if (objects.some((item) => failKeys.includes(item.Key))) throw named('CopyFailed', 'the batch crashed');
    const [first, ...rest] = objects;
    const result: ItemResult = {
      Key: first.Key,
      DestKey: first.DestKey,
      Status: 'COPIED',
      Bytes: first.Size ?? 0,
    };
    const output: CopyBatchOutput = {
      Results: [...(input.Results ?? []), result],
      ...(rest.length > 0 && { Next: { Pack: rest } }),
      Stalled: 0,
      BatchInput: input.BatchInput,
    };
    return output;
  };
}

/** A Summarize that reads the ResultWriter output: manifest.json, then every SUCCEEDED/FAILED/PENDING file. */
const fakeSummarize: LambdaHandler = async (event) => {
  const { Plan, Map } = event as { Plan: PlanOutput; Map?: Record<string, Json> };
  if (!Map) return { Copied: 0, Planned: Plan.Count, DryRun: Plan.DryRun };
  if ('Error' in Map) return { MapError: Map.Error };
  const details = Map.ResultWriterDetails as { Bucket: string; Key: string };
  const manifest = JSON.parse((await staging.getText(details.Key))!) as {
    ResultFiles: Record<string, { Key: string }[]>;
  };
  const entries: Record<string, Json>[] = [];
  for (const files of Object.values(manifest.ResultFiles)) {
    for (const file of files)
      entries.push(...(JSON.parse((await staging.getText(file.Key))!) as Record<string, Json>[]));
  }
  const results = entries
    .filter((entry) => entry.Status === 'SUCCEEDED')
    .flatMap((entry) => (JSON.parse(entry.Output as string) as CopyBatchOutput).Results);
  return {
    Copied: results.filter((result) => result.Status === 'COPIED').length,
    Keys: results.map((result) => result.Key).sort(),
    Children: entries.length,
    ManifestKey: details.Key,
  };
};

function load(handlers: {
  plan: LambdaHandler;
  copy: LambdaHandler;
  summarize: LambdaHandler;
}): LoadedStateMachine {
  return loadStateMachine(artifact.definition, {
    staging,
    stagingBucketPlaceholder: artifact.stagingBucketPlaceholder,
    handlers: {
      [artifact.functions.plan]: handlers.plan,
      [artifact.functions.copy]: handlers.copy,
      [artifact.functions.summarize]: handlers.summarize,
    },
    // The definition's own retry pauses (seconds, with jitter) are not what a test should wait for.
    retryIntervalOverrides: { Plan: 0, CopyBatch: 0, Summarize: 0, CopyObjects: 0 },
    maxConcurrencyCap: 8,
  });
}

const event = {
  CredentialsEndpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
  Source: { Bucket: 'src', Prefix: 'p/' },
};

describe('the synthesized definition in the local host', () => {
  it('plans, copies every batch through the Distributed Map (with its Deferred loop) and summarizes', async () => {
    const keys = Array.from({ length: 45 }, (_, i) => `p/granule-${String(i).padStart(2, '0')}.h5`);
    const copyCalls: CopyBatchInput[] = [];
    const machine = load({ plan: fakePlan(keys), copy: fakeCopy(copyCalls), summarize: fakeSummarize });
    const outcome = await machine.run(event, { name: 'run-1' });

    expect(outcome.Status).toBe('SUCCEEDED');
    const output = (outcome as { Output: Record<string, Json> }).Output;
    expect(output.Copied).toBe(45);
    expect(output.Keys).toEqual(keys);
    expect(output.Children).toBe(3); // 45 items in batches of 20
    expect(output.ManifestKey).toMatch(/^runs\/run-1\/[0-9a-f-]{36}\/manifest\.json$/);
    // Each batch of n items loops n times through CopyBatch; the first call gets PrepareBatch's shape.
    expect(copyCalls).toHaveLength(45);
    const firsts = copyCalls.filter((call) => call.Results === undefined);
    expect(firsts.map((call) => unitObjects(call.Unit!).length).sort()).toEqual([20, 20, 5]);
    for (const call of copyCalls) expect(call.BatchInput.RunId).toBe('run-1');
  });

  it('skips the map for a dry run', async () => {
    const copyCalls: CopyBatchInput[] = [];
    const machine = load({
      plan: fakePlan(['p/a'], { dryRun: true }),
      copy: fakeCopy(copyCalls),
      summarize: fakeSummarize,
    });
    const outcome = await machine.run(event, { name: 'dry' });
    expect(outcome).toEqual({
      Status: 'SUCCEEDED',
      Output: { Copied: 0, Planned: 1, DryRun: true },
      usage: expect.any(Object),
    });
    expect(copyCalls).toHaveLength(0);
  });

  it('ends in PlanFailed with the error name and message when Plan rejects the event', async () => {
    const machine = load({
      plan: async () => {
        throw named('InvalidInput', 'Source.Bucket: expected a bucket name');
      },
      copy: fakeCopy([]),
      summarize: fakeSummarize,
    });
    const outcome = await machine.run(event, { name: 'bad' });
    expect(outcome).toEqual({
      Status: 'FAILED',
      Error: 'InvalidInput',
      Cause: 'Source.Bucket: expected a bucket name',
      usage: expect.any(Object),
    });
  });

  it('summarizes with the real Summarize core when the Map Run exceeds its tolerated failures', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `p/f${i}`);
    const copyCalls: CopyBatchInput[] = [];
    const machine = load({
      plan: fakePlan(keys),
      // Every batch crashes (after CopyBatch's retries): 100 % of the items fail, above the tolerated 10 %.
      copy: fakeCopy(copyCalls, keys),
      summarize: async (input) => summarize(input as SummarizeInput, { staging }),
    });
    const outcome = await machine.run(event, { name: 'crash' });
    expect(outcome.Status).toBe('SUCCEEDED');
    const result = (outcome as { Output: Record<string, Json> }).Output;
    expect(result).toMatchObject({ Copied: 0, Failed: 60 });
    expect(result.Report).toEqual({ Bucket: 'local-staging', Key: 'runs/crash/report.json' });
  });

  it('feeds the real Summarize core the ResultWriter output of a successful run', async () => {
    const keys = Array.from({ length: 25 }, (_, i) => `p/ok${i}`);
    const machine = load({
      plan: fakePlan(keys),
      copy: fakeCopy([]),
      summarize: async (input) => summarize(input as SummarizeInput, { staging }),
    });
    const outcome = await machine.run(event, { name: 'ok' });
    expect(outcome.Status).toBe('SUCCEEDED');
    expect((outcome as { Output: Record<string, Json> }).Output).toMatchObject({
      Copied: 25,
      Skipped: 0,
      Failed: 0,
      Bytes: (25 * 26) / 2,
      Failures: [],
    });
  });
});

describe('local/definition/definition.json', () => {
  it('is what the CDK app synthesizes today (run `npx tsx local/definition/build.ts` after changing infra/)', async () => {
    const { synthesizeDefinitionArtifact } = await import('../../local/definition/build');
    expect(synthesizeDefinitionArtifact()).toEqual(loadDefinitionArtifact());
  }, 300_000);
});
