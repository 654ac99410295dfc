/**
 * The one-machine runner enforces the copy Lambda's timeout: with `lambdaTimeoutSeconds` small and the
 * source slow, CopyBatch must defer what it cannot finish before its deadline to another invocation, and
 * the run still copies every object exactly once. Against the embedded world (its bandwidth fault).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { EmbeddedWorld } from '../../emulators/world';
import { seedSample, verifyCopies, type SampleObject } from '../../emulators/sample';
import { runPipelineLocally, type LocalRunOptions, type LocalRunOutcome } from '../../local/pipeline';
import type { ExecutionEvent } from '../../local/stepfunctions/host';
import { unitObjects } from '../../shared/units';

const KiB = 1024;
const MiB = 1024 * KiB;
const SOURCE = 'deadline-source';
const DEST = 'deadline-destination';
const PREFIX = 'granules/';
const OBJECTS = 24;
const TIMEOUT_SECONDS = 3;

jest.setTimeout(60_000);

let world: EmbeddedWorld;
let admin: S3Client;
let objects: SampleObject[];

beforeAll(async () => {
  world = await EmbeddedWorld.start({ sourceBuckets: [SOURCE], destinationBuckets: [DEST] });
  admin = world.s3.client('admin');
  const layout = Array.from({ length: OBJECTS }, (_, i) => ({
    key: `${PREFIX}g-${String(i).padStart(2, '0')}.h5`,
    size: 512 * KiB,
  }));
  objects = await seedSample(admin, SOURCE, layout);
});

afterAll(async () => {
  admin?.destroy();
  await world?.stop();
});

const destKey = (key: string): string => `copy/${key.slice(PREFIX.length)}`;

/** Runs the pipeline in the world: the source prefix copied under `destPrefix`. */
const runInWorld = (destPrefix: string, options: LocalRunOptions): Promise<LocalRunOutcome> =>
  runPipelineLocally(
    {
      CredentialsEndpoint: world.credentialsEndpoint,
      BearerToken: world.token,
      Source: { Bucket: SOURCE, Prefix: PREFIX },
      Dest: { Bucket: DEST, Prefix: destPrefix },
    },
    {
      s3Config: { region: world.s3.region, endpoint: world.s3.endpoint, forcePathStyle: true },
      destinationCredentials: world.s3.destinationCredentials,
      ...options,
    },
  );

describe(`a run whose copy invocations time out after ${TIMEOUT_SECONDS} s`, () => {
  let outcome: LocalRunOutcome;
  const failures: ExecutionEvent[] = [];

  beforeAll(async () => {
    // Each source read at 1 MiB/s: an object takes ~0.5 s, a batch of 20 far more than one invocation.
    world.faults.getBytesPerSecond = 1 * MiB;
    world.faults.bandwidthScope = { credentials: 'issued' };
    world.s3.resetCounters();
    try {
      outcome = await runInWorld('copy/', {
        lambdaTimeoutSeconds: TIMEOUT_SECONDS,
        onEvent: (event) => {
          if (event.type === 'StateFailed') failures.push(event);
        },
      });
    } finally {
      world.s3.resetFaults();
    }
  });

  it('succeeds with every object copied, byte for byte', async () => {
    expect(outcome.execution.Status).toBe('SUCCEEDED');
    expect(outcome.result).toMatchObject({ Copied: OBJECTS, Skipped: 0, Failed: 0, Failures: [] });
    expect(await verifyCopies(admin, DEST, objects, destKey)).toEqual([]);
  });

  it('deferred near the deadline instead of being killed', () => {
    // More CopyBatch invocations than batches: some batch went on in another invocation.
    expect(outcome.usage.invocations.copy).toBeGreaterThan(outcome.usage.childExecutions);
    expect(outcome.usage.childExecutions).toBeGreaterThanOrEqual(1);
    // No invocation ran into its timeout (nor failed otherwise).
    expect(failures.map((event) => 'Error' in event && event.Error)).toEqual([]);
    // Billed at most the timeout per invocation.
    expect(outcome.usage.lambdaMs.copy).toBeLessThanOrEqual(
      outcome.usage.invocations.copy * TIMEOUT_SECONDS * 1000,
    );
    expect(outcome.usage.invocations).toMatchObject({ plan: 1, summarize: 1 });
  });

  it('wrote each object once and counted it once', () => {
    const written = world.s3.counters.requestsByCredential.destination;
    expect((written.PutObject ?? 0) + (written.CompleteMultipartUpload ?? 0)).toBe(OBJECTS);
    expect(outcome.progress).toMatchObject({ objectsTotal: OBJECTS, objectsDone: OBJECTS, failed: 0 });
  });

  it('waits for a killed invocation to settle before it returns, and counts nothing it did after', async () => {
    let started = 0;
    let settled = 0;
    const failed: string[] = [];
    const reported: number[] = [];
    const killed = await runInWorld('killed/', {
      lambdaTimeoutSeconds: 0.3,
      // Outlives its timeout, then takes a while to stop, then claims to have copied everything.
      copyBatchOverride: async (batch, context) => {
        started++;
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
        await new Promise((resolve) => setTimeout(resolve, 300));
        settled++;
        const items = batch.Unit ? unitObjects(batch.Unit) : (batch.Items ?? []);
        return {
          Results: items.map((item) => ({ ...item, Status: 'COPIED' as const, Bytes: 1 })),
          Stalled: 0,
          BatchInput: batch.BatchInput,
        };
      },
      onEvent: (event) => {
        if (event.type === 'StateFailed') failed.push(event.Error);
      },
      onProgress: (progress) => reported.push(progress.objectsDone),
    });
    expect(started).toBeGreaterThan(0);
    expect(settled).toBe(started);
    // A batch failed at its timeout (the others, stopped by the Map Run past its tolerated failures,
    // may log nothing more).
    expect(failed).toContain('Sandbox.Timedout');
    expect(killed.usage.invocations.copy).toBe(started);
    expect(killed.usage.lambdaMs.copy).toBe(started * 300);
    expect(killed.progress).toMatchObject({ objectsTotal: OBJECTS, objectsDone: 0, bytesDone: 0 });
    expect(reported.length).toBeGreaterThan(0);
    expect(Math.max(...reported)).toBe(0);
  });
});
