/**
 * End to end on one machine: the state machine synthesized from the CDK app runs in-process against
 * the embedded world (S3 behind a SigV4-checking gateway, TEA emulator with short-lived credentials).
 */
import { readFile } from 'node:fs/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CopyBatchInput, CopyBatchOutput, ItemResult, TransferResult } from '../../shared/contracts';
import { FolderStagingStore } from '../../shared/staging';
import { runPipelineLocally, type LocalRunOptions } from '../../local/pipeline';
import { sampleLayout, seedSample, verifyCopies, type SampleObject } from '../../emulators/sample';
import { EmbeddedWorld } from '../../emulators/world';
import { listKeys, runCli, writeEvent } from '../helpers/cli';

const MiB = 1024 * 1024;
const SOURCE = 'earthdata-source';
const DEST = 'my-destination';
const PREFIX = 'granules/';
const ODD_KEYS = [
  'odd/unicode 雪 été.h5',
  'odd/plus+sign.txt',
  'odd/percent%25and%.txt',
  'odd//double-slash.txt',
  `odd/${'k'.repeat(1024 - PREFIX.length - 'odd/'.length)}`,
];

jest.setTimeout(240_000);

let world: EmbeddedWorld;
let admin: S3Client;
let objects: SampleObject[];
const WORKERS = 8;

function baseEvent(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    CredentialsEndpoint: world.credentialsEndpoint,
    BearerToken: world.token,
    Source: { Bucket: SOURCE, Prefix: PREFIX },
    Dest: { Bucket: DEST, Prefix: 'mirror/' },
    ...extra,
  };
}

function localOptions(extra: Partial<LocalRunOptions> = {}): LocalRunOptions {
  return {
    s3Config: { region: world.s3.region, endpoint: world.s3.endpoint, forcePathStyle: true },
    destinationCredentials: world.s3.destinationCredentials,
    maxConcurrency: WORKERS,
    ...extra,
  };
}

const destKey = (k: string): string => `mirror/${k.slice(PREFIX.length)}`;

beforeAll(async () => {
  world = await EmbeddedWorld.start({
    sourceBuckets: [SOURCE],
    destinationBuckets: [DEST, 'empty-destination'],
    credentialLifetimeSeconds: 3,
  });
  admin = world.s3.client('admin');
  const layout = sampleLayout(500 - ODD_KEYS.length, PREFIX, 100 * MiB);
  for (const key of ODD_KEYS) layout.push({ key: PREFIX + key, size: 777 });
  objects = await seedSample(admin, SOURCE, layout);
});

afterAll(async () => {
  admin?.destroy();
  await world?.stop();
});

describe('prefix of 500 objects while credentials live 3 s', () => {
  let result: TransferResult;
  let staging: FolderStagingStore;
  let seconds: number;
  const stateOutputs: string[] = [];

  beforeAll(async () => {
    world.tea.reset();
    const started = Date.now();
    const outcome = await runPipelineLocally(
      baseEvent(),
      localOptions({
        onEvent: (e) => stateOutputs.push(JSON.stringify(e)),
      }),
    );
    seconds = (Date.now() - started) / 1000;
    expect(outcome.execution).toMatchObject({ Status: 'SUCCEEDED' });
    result = outcome.result!;
    staging = outcome.staging as FolderStagingStore;
  });

  it('copies every object byte for byte', async () => {
    expect(objects).toHaveLength(500);
    expect(objects.some((o) => o.size === 100 * MiB)).toBe(true);
    const bad = await verifyCopies(admin, DEST, objects, destKey);
    expect(bad).toEqual([]);
    expect(await listKeys(admin, DEST, 'mirror/')).toEqual(objects.map((o) => destKey(o.key)).sort());
  });

  it('reports the right counts', () => {
    expect(result).toMatchObject({ Copied: 500, Skipped: 0, Failed: 0, Failures: [] });
    expect(result.Bytes).toBe(objects.reduce((n, o) => n + o.size, 0));
  });

  it('calls the credentials endpoint per worker and refresh, never per object', () => {
    // Each container (here: one process) caches credentials: 1 call for Plan and CopyBatch, plus one per
    // refresh; the run lasts `seconds`, the credentials 3 s, refreshed with a margin.
    const refreshesBound = Math.ceil(seconds / 2) + 1;
    expect(world.tea.calls).toBeGreaterThanOrEqual(2);
    expect(world.tea.calls).toBeLessThanOrEqual(WORKERS + refreshesBound);
    expect(world.tea.calls).toBeLessThan(objects.length / 4);
  });

  it('writes the full report to staging', async () => {
    const text = await staging.getText(result.Report!.Key);
    const report = JSON.parse(text!) as { Items?: ItemResult[] } & Record<string, unknown>;
    const serialized = JSON.stringify(report);
    for (const o of objects.slice(0, 20)) expect(serialized).toContain(JSON.stringify(o.key).slice(1, -1));
    expect(serialized).not.toContain(world.token);
  });

  it('leaves no token in any state input or output, nor in staging', async () => {
    expect(stateOutputs.length).toBeGreaterThan(10);
    // The execution's input holds the token (it is what the user sent) and so does Plan's input; no
    // other state's input, and no state's output, does.
    const leaks = stateOutputs.filter((line) => {
      const e = JSON.parse(line) as { state?: { name?: string; input?: unknown; output?: unknown } };
      const seen = [e.state?.output, e.state?.name === 'Plan' ? undefined : e.state?.input];
      return seen.some((v) => v !== undefined && JSON.stringify(v).includes(world.token));
    });
    expect(leaks).toEqual([]);
    for (const key of await staging.list('')) {
      expect(await staging.getText(key)).not.toContain(world.token);
    }
  });

  it('skips everything on a Sync rerun', async () => {
    const outcome = await runPipelineLocally(baseEvent({ Options: { Sync: true } }), localOptions());
    expect(outcome.result).toMatchObject({ Copied: 0, Skipped: 500, Failed: 0 });
  });
});

describe('dry run', () => {
  it('plans and writes nothing to the destination', async () => {
    const outcome = await runPipelineLocally(
      { ...baseEvent(), Dest: { Bucket: 'empty-destination' }, Options: { DryRun: true } },
      localOptions(),
    );
    expect(outcome.execution.Status).toBe('SUCCEEDED');
    expect(outcome.result).toMatchObject({ Copied: 0, Failed: 0 });
    expect(await listKeys(admin, 'empty-destination')).toEqual([]);
  });
});

describe('deferred items', () => {
  it('loops a batch that returns DEFERRED items until none remain', async () => {
    let calls = 0;
    const copyBatchOverride = async (input: CopyBatchInput): Promise<CopyBatchOutput> => {
      calls++;
      // Copies (pretends to) the first item of each call and defers the rest.
      const [first, ...rest] = input.Items;
      const done: ItemResult = {
        Key: first.Key,
        DestKey: first.DestKey,
        Status: 'COPIED',
        Bytes: first.Size ?? 0,
      };
      return { Results: [...(input.Results ?? []), done], Deferred: rest, BatchInput: input.BatchInput };
    };
    const outcome = await runPipelineLocally(
      { ...baseEvent(), Source: { Bucket: SOURCE, Prefix: `${PREFIX}odd/` } },
      localOptions({ copyBatchOverride }),
    );
    expect(outcome.result).toMatchObject({ Copied: ODD_KEYS.length, Failed: 0 });
    expect(calls).toBe(ODD_KEYS.length);
  });
});

describe('the command line', () => {
  const env = (): Record<string, string> => world.processEnv();
  const someKeys = (): string[] =>
    objects
      .filter((o) => o.size < MiB)
      .slice(0, 5)
      .map((o) => o.key);

  it('copies a Keys list with one missing key: Failed 1, the rest copied, exit 1', async () => {
    const keys = [...someKeys(), `${PREFIX}does/not/exist.h5`];
    const file = await writeEvent({
      ...baseEvent(),
      Source: { Bucket: SOURCE, Keys: keys },
      Dest: { Bucket: DEST, Prefix: 'keys/' },
    });
    const out = await runCli(['run', '--event', file], env());
    expect(out.code).toBe(1);
    const result = JSON.parse(out.stdout) as TransferResult;
    expect(result).toMatchObject({ Copied: 5, Failed: 1 });
    expect(result.Failures).toEqual([
      expect.objectContaining({ Key: `${PREFIX}does/not/exist.h5`, Error: 'SourceNotFound' }),
    ]);
    const body = await admin.send(new GetObjectCommand({ Bucket: DEST, Key: `keys/${keys[0]}` }));
    expect(Number(body.ContentLength)).toBe(objects.find((o) => o.key === keys[0])!.size);
    for (const stream of [out.stdout, out.stderr]) {
      expect(stream).not.toContain(world.token);
      expect(stream).not.toContain(world.s3.destinationCredentials.secretAccessKey);
    }
    const reportPath = /report: (.+)/.exec(out.stderr)?.[1];
    expect(reportPath).toBeDefined();
    expect(await readFile(reportPath!, 'utf8')).not.toContain(world.token);
  });

  it('rejects an invalid event with exit 2, a clear message, and writes nothing', async () => {
    const file = await writeEvent({ ...baseEvent(), Dest: { Bucket: 'empty-destination', Key: 'x' } });
    const out = await runCli(['run', '--event', file], env());
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/InvalidInput: .*Dest\.Key/);
    expect(out.stderr).not.toContain(world.token);
    expect(out.stdout).toBe('');
    expect(await listKeys(admin, 'empty-destination')).toEqual([]);
  });

  it('rejects a token the endpoint refuses with exit 2 and AuthenticationFailed', async () => {
    const badToken = 'not-a-valid-token-0123456789abcdef';
    const file = await writeEvent({
      ...baseEvent(),
      BearerToken: badToken,
      Dest: { Bucket: 'empty-destination' },
    });
    const out = await runCli(['run', '--event', file], env());
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('AuthenticationFailed');
    expect(out.stderr).not.toContain(badToken);
    expect(world.tea.loginHits).toBe(0);
    expect(await listKeys(admin, 'empty-destination')).toEqual([]);
  });

  it('answers --help quickly with examples', async () => {
    const out = await runCli(['run', '--help'], env());
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('--event');
    expect(out.stdout).toContain('Examples:');
  });
});
