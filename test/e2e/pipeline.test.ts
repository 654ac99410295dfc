/**
 * End to end on one machine: the state machine synthesized from the CDK app runs in-process, reading
 * with credentials from the TEA emulator (short-lived) and writing with the destination key pair, against
 * the backend `E2E_BACKEND` selects (test/e2e/world.ts): the embedded S3 (`npm test`) or Ceph RGW
 * (`npm run test:rgw`).
 */
import { unitObjects } from '../../shared/units';
import { ErrorName, TransferError } from '../../shared/errors';
import { readFile } from 'node:fs/promises';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CopyBatchInput, CopyBatchOutput, ItemResult, TransferResult } from '../../shared/contracts';
import { RUN_DEFAULTS } from '../../local/run-defaults';
import { FolderStagingStore } from '../../shared/staging';
import { runPipelineLocally, type LocalRunOptions } from '../../local/pipeline';
import { sampleLayout, seedSample, verifyCopies, type SampleObject } from '../../emulators/sample';
import { listKeys, runCli, writeEvent } from '../helpers/cli';
import { BACKEND, itNeeds, startE2EWorld, type E2EWorld } from './world';

const MiB = 1024 * 1024;
const PREFIX = 'granules/';
const ODD_KEYS = [
  'odd/unicode 雪 été.h5',
  'odd/plus+sign.txt',
  'odd/percent%25and%.txt',
  'odd//double-slash.txt',
  `odd/${'k'.repeat(1024 - PREFIX.length - 'odd/'.length)}`,
];
const LIFETIME_SECONDS = 3;
// One sample for both backends: RGW copies it in about the emulator's time.
const OBJECTS = 500;
const LARGE = 100 * MiB;
const WORKERS = 8;

jest.setTimeout(240_000);

let world: E2EWorld;
let admin: S3Client;
let objects: SampleObject[];
let SOURCE: string;
let DEST: string;
let EMPTY: string;

function baseEvent(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    CredentialsEndpoint: world.credentialsEndpoint,
    BearerToken: world.token,
    Source: { Bucket: SOURCE, Prefix: PREFIX },
    Dest: { Bucket: DEST, Prefix: 'mirror/' },
    ...extra,
  };
}

function localOptions(extra: Partial<LocalRunOptions> = {}, endpoint?: string): LocalRunOptions {
  return {
    s3Config: world.s3Config(endpoint),
    destinationCredentials: world.destinationCredentials,
    maxConcurrency: WORKERS,
    ...extra,
  };
}

/**
 * An event for a run through the proxy. CopyBatch caches its source client per credentials (endpoint,
 * token, app name) and per process, whatever the S3 endpoint: a new app name gets a client for the proxy.
 */
function proxiedEvent(extra: Record<string, unknown>): Record<string, unknown> {
  return baseEvent({ AppName: `via-proxy-${++proxiedRuns}`, ...extra });
}
let proxiedRuns = 0;

const destKey = (k: string): string => `mirror/${k.slice(PREFIX.length)}`;
const smallObjects = (n: number): SampleObject[] =>
  objects.filter((o) => o.size > 0 && o.size < MiB).slice(0, n);

beforeAll(async () => {
  world = await startE2EWorld({
    sourceBuckets: ['earthdata-source'],
    destinationBuckets: ['my-destination', 'empty-destination', 'denied-destination'],
    credentialLifetimeSeconds: LIFETIME_SECONDS,
  });
  SOURCE = world.bucket('earthdata-source');
  DEST = world.bucket('my-destination');
  EMPTY = world.bucket('empty-destination');
  admin = world.adminClient();
  const layout = sampleLayout(OBJECTS - ODD_KEYS.length, PREFIX, LARGE);
  for (const key of ODD_KEYS) layout.push({ key: PREFIX + key, size: 777 });
  objects = await seedSample(admin, SOURCE, layout);
});

afterAll(async () => {
  await world?.stop();
});

describe(`prefix of ${OBJECTS} objects while credentials live ${LIFETIME_SECONDS} s`, () => {
  let result: TransferResult;
  let staging: FolderStagingStore;
  let seconds: number;
  const stateOutputs: string[] = [];

  beforeAll(async () => {
    world.tea.reset();
    const started = Date.now();
    const outcome = await runPipelineLocally(
      baseEvent(),
      localOptions({ onEvent: (e) => stateOutputs.push(JSON.stringify(e)) }),
    );
    seconds = (Date.now() - started) / 1000;
    expect(outcome.execution).toMatchObject({ Status: 'SUCCEEDED' });
    result = outcome.result!;
    staging = outcome.staging as FolderStagingStore;
  });

  it('copies every object byte for byte, odd keys and the empty object included', async () => {
    expect(objects).toHaveLength(OBJECTS);
    expect(objects.some((o) => o.size === LARGE)).toBe(true);
    expect(objects.some((o) => o.size === 0)).toBe(true);
    const bad = await verifyCopies(admin, DEST, objects, destKey);
    expect(bad).toEqual([]);
    expect(await listKeys(admin, DEST, 'mirror/')).toEqual(objects.map((o) => destKey(o.key)).sort());
  });

  it('reports the right counts', () => {
    expect(result).toMatchObject({ Copied: objects.length, Skipped: 0, Failed: 0, Failures: [] });
    expect(result.Bytes).toBe(objects.reduce((n, o) => n + o.size, 0));
  });

  it('calls the credentials endpoint per worker and refresh, never per object', () => {
    // Each container (here: one process) caches credentials: 1 call for Plan and CopyBatch, plus one per
    // refresh; the run lasts `seconds`, the credentials 3 s, refreshed with a margin.
    const refreshesBound = Math.ceil(seconds / (LIFETIME_SECONDS - 1)) + 1;
    // A refresh is certain only when the run outlived the credentials.
    expect(seconds).toBeGreaterThan(LIFETIME_SECONDS);
    expect(world.tea.issued).toBeGreaterThanOrEqual(2);
    expect(world.tea.calls).toBeGreaterThanOrEqual(world.tea.issued);
    expect(world.tea.calls).toBeLessThanOrEqual(WORKERS + refreshesBound);
    expect(world.tea.calls).toBeLessThan(objects.length / 4);
  });

  it('writes multipart copies with -N ETags and the source ETag in metadata', async () => {
    const large = objects.find((o) => o.size === LARGE)!;
    // A run on one machine copies with run's own settings (local/run-defaults.ts), not the Lambda's.
    const parts = Math.ceil(large.size / RUN_DEFAULTS.copyOptions.partSize!);
    const head = await admin.send(new HeadObjectCommand({ Bucket: DEST, Key: destKey(large.key) }));
    expect(head.ETag).toMatch(new RegExp(`^"[0-9a-f]{32}-${parts}"$`));
    const sourceHead = await admin.send(new HeadObjectCommand({ Bucket: SOURCE, Key: large.key }));
    expect(head.Metadata?.['source-etag']).toBe(sourceHead.ETag!.replace(/"/g, ''));
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

  it('skips everything on a Sync rerun from the two listings, with no HEAD, no read and no write (seen by a proxy)', async () => {
    const proxy = await world.proxy();
    proxy.reset();
    const outcome = await runPipelineLocally(
      proxiedEvent({ Options: { Sync: true } }),
      localOptions({}, proxy.endpoint),
    );
    expect(outcome.result).toMatchObject({ Copied: 0, Skipped: objects.length, Failed: 0 });
    expect(proxy.count('ListObjectsV2', 'source')).toBeGreaterThan(0);
    // Both listings decide: no object enters the map, so none gets the copy's own HEAD.
    expect(proxy.count('ListObjectsV2', 'destination')).toBeGreaterThan(0);
    expect(proxy.count('HeadObject', 'destination')).toBe(0);
    expect(proxy.count('GetObject')).toBe(0);
    const writes = ['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload'];
    expect(writes.map((op) => proxy.count(op))).toEqual(writes.map(() => 0));
  });
});

describe('dry run', () => {
  it('plans and writes nothing to the destination', async () => {
    const outcome = await runPipelineLocally(
      { ...baseEvent(), Dest: { Bucket: EMPTY }, Options: { DryRun: true } },
      localOptions(),
    );
    expect(outcome.execution.Status).toBe('SUCCEEDED');
    expect(outcome.result).toMatchObject({ Copied: 0, Failed: 0 });
    expect(await listKeys(admin, EMPTY)).toEqual([]);
  });

  it('estimates the state transitions, child executions and invocations the run then makes', async () => {
    const event = baseEvent({
      Source: { Bucket: SOURCE, Prefix: PREFIX, Include: ['day-01/*'] },
      Dest: { Bucket: DEST, Prefix: 'estimated/' },
    });
    const units = { objectsPerPack: 4 };
    const dry = await runPipelineLocally({ ...event, Options: { DryRun: true } }, localOptions({ units }));
    const estimate = dry.result!.Estimate!;
    expect(estimate.Objects).toBeGreaterThan(8);
    expect(estimate.Units.Packs).toBeGreaterThan(2);
    // The dry run itself enters Plan, NothingToCopy, MirrorDeletes and Summarize only.
    expect(dry.usage).toMatchObject({ transitions: 4, childExecutions: 0 });
    expect(await listKeys(admin, DEST, 'estimated/')).toEqual([]);

    const run = await runPipelineLocally(event, localOptions({ units }));
    expect(run.result).toMatchObject({ Copied: estimate.Objects, Failed: 0, Bytes: estimate.Bytes });
    expect(estimate.Usage.ChildExecutions).toBe(run.usage.childExecutions);
    // Step Functions bills each child's start as a transition; the host counts the states entered.
    expect(estimate.Usage.StateTransitions).toBe(run.usage.transitions + run.usage.childExecutions);
    const invocations = Object.values(run.usage.invocations).reduce((a, b) => a + b, 0);
    expect(estimate.Usage.LambdaInvocations).toBe(invocations);
    expect(estimate.CostUsd.Total).toBeGreaterThan(0);
  });
});

describe('deferred items', () => {
  it('loops a batch that returns DEFERRED items until none remain', async () => {
    let calls = 0;
    const copyBatchOverride = async (input: CopyBatchInput): Promise<CopyBatchOutput> => {
      calls++;
      // Copies (pretends to) the first item of each call and defers the rest.
      const [first, ...rest] = unitObjects(input.Unit ?? { Pack: input.Items ?? [] });
      const done: ItemResult = {
        Key: first.Key,
        DestKey: first.DestKey,
        Status: 'COPIED',
        Bytes: first.Size ?? 0,
      };
      return {
        Results: [...(input.Results ?? []), done],
        ...(rest.length > 0 && { Next: { Pack: rest } }),
        Stalled: 0,
        BatchInput: input.BatchInput,
      };
    };
    const outcome = await runPipelineLocally(
      { ...baseEvent(), Source: { Bucket: SOURCE, Prefix: `${PREFIX}odd/` } },
      localOptions({ copyBatchOverride }),
    );
    expect(outcome.result).toMatchObject({ Copied: ODD_KEYS.length, Failed: 0 });
    expect(calls).toBe(ODD_KEYS.length);
  });

  it('keeps the credit of a unit’s earlier round when a later round fails for good', async () => {
    const rounds: number[] = [];
    const copyBatchOverride = async (input: CopyBatchInput): Promise<CopyBatchOutput> => {
      const objects = unitObjects(input.Unit ?? { Pack: input.Items ?? [] });
      rounds.push(objects.length);
      // Round 2: the token is refused for good (not retried: a caller error).
      if (input.Results?.length) {
        throw new TransferError(ErrorName.AuthenticationFailed, 'the token was refused in round 2');
      }
      // Round 1: copies (pretends to) the first object and leaves the rest for the next round.
      const [first, ...rest] = objects;
      return {
        Results: [{ Key: first.Key, DestKey: first.DestKey, Status: 'COPIED', Bytes: first.Size ?? 0 }],
        Next: { Pack: rest },
        Stalled: 0,
        BatchInput: input.BatchInput,
      };
    };
    const outcome = await runPipelineLocally(
      { ...baseEvent(), Source: { Bucket: SOURCE, Prefix: `${PREFIX}odd/` } },
      localOptions({ copyBatchOverride }),
    );
    // One pack of the odd keys, two rounds.
    expect(rounds).toEqual([ODD_KEYS.length, ODD_KEYS.length - 1]);
    expect(outcome.execution.Status).toBe('SUCCEEDED');
    const result = outcome.result as TransferResult;
    expect(result).toMatchObject({ Copied: 1, Failed: ODD_KEYS.length - 1, Skipped: 0 });
    expect(result.Failures).toHaveLength(ODD_KEYS.length - 1);
    for (const failure of result.Failures) {
      expect(failure).toMatchObject({ Error: 'AuthenticationFailed' });
      expect(failure.Cause).toMatch(/refused in round 2/);
    }
    // The copied object is not among the failures: each object counted once, where it ended.
    const failedKeys = new Set(result.Failures.map((f) => f.Key));
    expect(failedKeys.size).toBe(ODD_KEYS.length - 1);
    const report = JSON.parse((await outcome.staging.getText(result.Report!.Key))!) as {
      Items: ItemResult[];
    };
    const copiedKey = report.Items.find((i) => i.Status === 'COPIED')?.Key;
    expect(copiedKey).toBeDefined();
    expect(failedKeys.has(copiedKey!)).toBe(false);
  });
});

describe('failures on the way', () => {
  it('resumes a source GET cut mid-body with a ranged GET pinned to the ETag (seen by a proxy)', async () => {
    const large = objects.find((o) => o.size === LARGE)!;
    const proxy = await world.proxy();
    proxy.reset();
    proxy.cutSourceGets(3 * MiB, 1, (key) => key === large.key);
    const outcome = await runPipelineLocally(
      proxiedEvent({ Source: { Bucket: SOURCE, Key: large.key }, Dest: { Bucket: DEST, Key: 'resumed.h5' } }),
      localOptions({}, proxy.endpoint),
    );
    expect(outcome.result).toMatchObject({ Copied: 1, Failed: 0, Bytes: large.size });
    expect(await verifyCopies(admin, DEST, [large], () => 'resumed.h5')).toEqual([]);
    const gets = proxy.requests.filter((r) => r.operation === 'GetObject' && r.key === large.key);
    const cutAt = gets.findIndex((r) => r.cut);
    expect(cutAt).toBeGreaterThanOrEqual(0);
    const sourceHead = await admin.send(new HeadObjectCommand({ Bucket: SOURCE, Key: large.key }));
    expect(gets.slice(cutAt + 1)).toContainEqual(
      expect.objectContaining({ range: expect.stringMatching(/^bytes=\d+-/), ifMatch: sourceHead.ETag }),
    );
  });

  it('fails every object of a destination the copy role may not write with DestinationAccessDenied', async () => {
    const denied = world.bucket('denied-destination');
    const keys = smallObjects(3).map((o) => o.key);
    await world.denyDestination(denied);
    try {
      const outcome = await runPipelineLocally(
        { ...baseEvent(), Source: { Bucket: SOURCE, Keys: keys }, Dest: { Bucket: denied } },
        localOptions(),
      );
      expect(outcome.result).toMatchObject({ Copied: 0, Failed: keys.length });
      expect(outcome.result!.Failures.map((f) => f.Error)).toEqual(keys.map(() => 'DestinationAccessDenied'));
    } finally {
      await world.allowDestination(denied);
    }
    expect(await listKeys(admin, denied)).toEqual([]);
  });

  itNeeds('emulator', "replacing an object while it is served needs the emulator's fault injection")(
    'fails a source replaced during its copy with SourceChanged and writes nothing',
    async () => {
      const s3 = world.emulator!;
      const key = 'changing/granule.h5';
      await s3.seedObject(SOURCE, key, Buffer.alloc(12 * MiB, 1));
      s3.faults.replaceSourceAfterBytes = { bucket: SOURCE, key, afterBytes: 4 * MiB, body: 'new content' };
      s3.faults.cutGetBody = { afterBytes: 6 * MiB, times: 1, scope: { credentials: 'issued', key } };
      try {
        const outcome = await runPipelineLocally(
          { ...baseEvent(), Source: { Bucket: SOURCE, Key: key }, Dest: { Bucket: DEST, Key: 'changed.h5' } },
          // One GET stream, as the copy Lambda reads: the cut body is resumed with a ranged GET that
          // meets the replaced object. (With run's read-ahead, the 3 ranges of 4 MiB all start before the
          // replacement and copy the first version whole, consistently.)
          localOptions({ copyOptions: { ...RUN_DEFAULTS.copyOptions, readAhead: 1 } }),
        );
        expect(outcome.result).toMatchObject({ Copied: 0, Failed: 1 });
        expect(outcome.result!.Failures).toEqual([
          expect.objectContaining({ Key: key, Error: 'SourceChanged' }),
        ]);
      } finally {
        s3.resetFaults();
      }
      expect(await listKeys(admin, DEST, 'changed.h5')).toEqual([]);
      expect(await s3.openMultipartUploads(DEST)).toBe(0);
    },
  );
});

describe('encrypted sources', () => {
  it('copies an SSE-KMS source object, whose ETag is not its MD5, checked by its full-object checksum', async () => {
    const key = 'encrypted/kms.h5';
    await admin.send(
      new PutObjectCommand({
        Bucket: SOURCE,
        Key: key,
        Body: 'encrypted with a KMS key',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: world.kmsKeyId,
      }),
    );
    const outcome = await runPipelineLocally(
      { ...baseEvent(), Source: { Bucket: SOURCE, Key: key }, Dest: { Bucket: DEST, Key: 'decrypted.h5' } },
      localOptions(),
    );
    expect(outcome.result).toMatchObject({ Copied: 1, Failed: 0 });
    // S3 (and the emulator) keep a full-object checksum of every object (the SDK's CRC32 here). RGW 16.2
    // keeps none; its ETag happens to be the MD5, but an SSE-KMS ETag is not one on S3, so only the size
    // can be checked.
    const report = JSON.parse((await outcome.staging.getText(outcome.result!.Report!.Key))!) as {
      Items: { Check?: string }[];
    };
    expect(report.Items).toHaveLength(1);
    expect(report.Items[0].Check).toBe(BACKEND === 'embedded' ? 'crc32-full-object' : 'size-only');
  });
});

describe('the command line', () => {
  const env = (): Record<string, string> => world.processEnv();

  it('copies a Keys list with one missing key: Failed 1, the rest copied, exit 1', async () => {
    const copied = smallObjects(5);
    const keys = [...copied.map((o) => o.key), `${PREFIX}does/not/exist.h5`];
    const file = await writeEvent({
      ...baseEvent(),
      Source: { Bucket: SOURCE, Keys: keys },
      Dest: { Bucket: DEST, Prefix: 'keys/' },
    });
    const out = await runCli(['run', '--event', file], env());
    expect(out.code).toBe(1);
    const result = JSON.parse(out.stdout) as TransferResult;
    expect(result).toMatchObject({ Copied: copied.length, Failed: 1 });
    expect(result.Failures).toEqual([
      expect.objectContaining({ Key: `${PREFIX}does/not/exist.h5`, Error: 'SourceNotFound' }),
    ]);
    expect(await listKeys(admin, DEST, 'keys/')).toEqual(copied.map((o) => `keys/${o.key}`).sort());
    const body = await admin.send(new GetObjectCommand({ Bucket: DEST, Key: `keys/${keys[0]}` }));
    expect(Number(body.ContentLength)).toBe(copied[0].size);
    for (const stream of [out.stdout, out.stderr]) {
      expect(stream).not.toContain(world.token);
      expect(stream).not.toContain(world.destinationCredentials.secretAccessKey);
    }
    const reportPath = /report: (.+)/.exec(out.stderr)?.[1];
    expect(reportPath).toBeDefined();
    expect(await readFile(reportPath!, 'utf8')).not.toContain(world.token);
  });

  it('rejects an invalid event with exit 2, a clear message, and writes nothing', async () => {
    const file = await writeEvent({ ...baseEvent(), Dest: { Bucket: EMPTY, Key: 'x' } });
    const out = await runCli(['run', '--event', file], env());
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/InvalidInput: .*Dest\.Key/);
    expect(out.stderr).not.toContain(world.token);
    expect(out.stdout).toBe('');
    expect(await listKeys(admin, EMPTY)).toEqual([]);
  });

  it('rejects a token the endpoint refuses with exit 2 and AuthenticationFailed', async () => {
    const badToken = 'not-a-valid-token-0123456789abcdef';
    const file = await writeEvent({ ...baseEvent(), BearerToken: badToken, Dest: { Bucket: EMPTY } });
    const out = await runCli(['run', '--event', file], env());
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('AuthenticationFailed');
    expect(out.stderr).not.toContain(badToken);
    expect(world.tea.loginHits).toBe(0);
    expect(await listKeys(admin, EMPTY)).toEqual([]);
  });

  it('answers --help quickly with examples', async () => {
    const out = await runCli(['run', '--help'], env());
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('--event');
    expect(out.stdout).toContain('Examples:');
  });
});
