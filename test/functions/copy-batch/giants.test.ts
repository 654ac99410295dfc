/**
 * PrepareGiants, range units and CompleteGiants as the copy function runs them, one call at a time, against
 * the embedded S3 and TEA over 127.0.0.1: what a retry, a redrive or a bad input makes of them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { EmbeddedWorld } from '../../../emulators/world';
import type { CopyBatchInput, CopyBatchOutput, PlanOutput, WorkUnit } from '../../../shared/contracts';
import { FolderStagingStore } from '../../../shared/staging';
import { ONE_MACHINE_POLICY } from '../../../shared/run-policy';
import { giantResultKey, uploadRecordKey } from '../../../shared/run-files';
import { unitPolicy } from '../../../shared/units';
import { SOURCE_ETAG_METADATA } from '../../../shared/copy/copy-object';
import { planTransfer } from '../../../functions/plan/plan';
import { planDependencies } from '../../../functions/plan/wiring';
import { runCopyFunction, type CopyFunctionInput } from '../../../functions/copy-batch/dispatch';
import type { GiantsStepOutput } from '../../../functions/copy-batch/giants';
import { copyBatchDependencies } from '../../../functions/copy-batch/wiring';
import { readGiantResult, readUploadRecord } from '../../../functions/copy-batch/upload-record';

const MiB = 1024 * 1024;
const SIZE = 24 * MiB;
/** Giants above 8 MiB, in ranges of 8 MiB (one 8 MiB part each): three ranges. */
const UNITS = { partFanOutBytes: 8 * MiB, rangeBytes: 8 * MiB };

let world: EmbeddedWorld;
let admin: S3Client;
let folder: string;
let runs = 0;

beforeAll(async () => {
  world = await EmbeddedWorld.start({ sourceBuckets: ['src'], destinationBuckets: ['dst'] });
  admin = new S3Client({
    region: world.s3.region,
    endpoint: world.s3.endpoint,
    forcePathStyle: true,
    credentials: world.s3.adminCredentials,
  });
  const body = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i += 4) body.writeUInt32BE(i, i);
  await admin.send(new PutObjectCommand({ Bucket: 'src', Key: 'giant.h5', Body: body }));
  folder = mkdtempSync(join(tmpdir(), 'giants-test-'));
});

afterAll(async () => {
  admin?.destroy();
  await world?.stop();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

const s3Config = (): { region: string; endpoint: string; forcePathStyle: boolean } => ({
  region: world.s3.region,
  endpoint: world.s3.endpoint,
  forcePathStyle: true,
});

/** A fresh run: Plan for real (giants list, unit manifest, staged token), then the copy function's calls. */
async function newRun(destKey: string, extra: Record<string, unknown> = {}) {
  const runId = `run-${++runs}`;
  const staging = new FolderStagingStore(join(folder, runId));
  const ssm = new SSMClient({ region: world.s3.region });
  const destination = new S3Client({ ...s3Config(), credentials: world.s3.destinationCredentials });
  const plan = (await planTransfer(
    {
      CredentialsEndpoint: world.credentialsEndpoint,
      BearerToken: world.token,
      Source: { Bucket: 'src', Key: 'giant.h5' },
      Dest: { Bucket: 'dst', Key: destKey },
      ...extra,
    },
    planDependencies({
      s3Config: s3Config(),
      staging,
      ssm,
      runId,
      policy: ONE_MACHINE_POLICY,
      units: unitPolicy(UNITS),
      destinationClient: destination,
    }),
  )) as PlanOutput;
  const deps = copyBatchDependencies({
    s3Config: s3Config(),
    ssm,
    staging: () => staging,
    destination,
    remainingTimeMs: () => 900_000,
    tuning: { concurrency: 4, copyOptions: { queueSize: 2 } },
    policy: ONE_MACHINE_POLICY,
    tokens: { stagingBucket: staging.bucket },
  });
  const call = <T>(input: unknown): Promise<T> =>
    runCopyFunction(input as CopyFunctionInput, deps) as Promise<T>;
  const units = ((await staging.getText(plan.Manifest.Key)) ?? '')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as WorkUnit);
  const giantsStep = (action: 'PrepareGiants' | 'CompleteGiants', more: Record<string, unknown> = {}) =>
    call<GiantsStepOutput>({
      Action: action,
      Giants: plan.Giants,
      BatchInput: plan.BatchInput,
      ...(action === 'CompleteGiants' && { Staging: plan.Staging }),
      ...more,
    });
  const runUnit = (unit: WorkUnit) =>
    call<CopyBatchOutput>({ Unit: unit, BatchInput: plan.BatchInput } satisfies CopyBatchInput);
  return { runId, staging, plan, units, giantsStep, runUnit, destination };
}

async function openUploads(key: string): Promise<number> {
  const out = await admin.send(new ListMultipartUploadsCommand({ Bucket: 'dst', Prefix: key }));
  return out.Uploads?.length ?? 0;
}

async function exists(key: string): Promise<boolean> {
  try {
    await admin.send(new HeadObjectCommand({ Bucket: 'dst', Key: key }));
    return true;
  } catch {
    return false;
  }
}

describe('giant objects, step by step', () => {
  it('prepares one upload however often PrepareGiants runs, and completes once however often CompleteGiants runs', async () => {
    const run = await newRun('twice.h5');
    expect(run.plan.Units).toMatchObject({ Giants: 1, Ranges: 3, Objects: 0 });
    expect(await run.giantsStep('PrepareGiants')).toEqual({ Done: 1, Remaining: 0 });
    // A retry (or a redrive) of the step: the record is there, nothing is created.
    expect(await run.giantsStep('PrepareGiants')).toEqual({ Done: 0, Remaining: 0 });
    expect(await openUploads('twice.h5')).toBe(1);

    // Every range, and one of them twice (a retried child): ListParts makes the second a no-op.
    for (const unit of run.units) {
      const out = await run.runUnit(unit);
      expect(out.Range).toMatchObject({ PartsDone: 1 });
      expect(out.Range?.Error).toBeUndefined();
    }
    const again = await run.runUnit(run.units[1]);
    expect(again.Range).toMatchObject({ PartsDone: 1, Bytes: 0 });

    expect(await run.giantsStep('CompleteGiants')).toEqual({ Done: 1, Remaining: 0 });
    const result = await readGiantResult(run.staging, run.runId, 0);
    expect(result).toMatchObject({ Status: 'COPIED', Bytes: SIZE, Check: 'crc32-full-object' });
    expect(await openUploads('twice.h5')).toBe(0);
    const head = await admin.send(new HeadObjectCommand({ Bucket: 'dst', Key: 'twice.h5' }));
    expect(head.ContentLength).toBe(SIZE);
    const source = await admin.send(new HeadObjectCommand({ Bucket: 'src', Key: 'giant.h5' }));
    expect(head.Metadata?.[SOURCE_ETAG_METADATA]).toBe(source.ETag!.replace(/"/g, ''));

    // Done already: a retried CompleteGiants does nothing.
    expect(await run.giantsStep('CompleteGiants')).toEqual({ Done: 0, Remaining: 0 });
    // Completed, but its result lost (the invocation died before writing it): the upload is gone
    // (NoSuchUpload) and the object there is this source's, so it is reported copied.
    await run.staging.delete(giantResultKey(run.runId, 0));
    expect(await run.giantsStep('CompleteGiants')).toEqual({ Done: 1, Remaining: 0 });
    expect(await readGiantResult(run.staging, run.runId, 0)).toMatchObject({ Status: 'COPIED' });
  });

  it('aborts an upload with missing parts and names MissingParts when no range reported an error', async () => {
    const run = await newRun('missing.h5');
    await run.giantsStep('PrepareGiants');
    await run.runUnit(run.units[0]);
    await run.runUnit(run.units[2]);
    expect(await run.giantsStep('CompleteGiants')).toEqual({ Done: 1, Remaining: 0 });
    const result = await readGiantResult(run.staging, run.runId, 0);
    expect(result).toMatchObject({ Status: 'FAILED', Error: 'MissingParts' });
    expect(result?.Cause).toMatch(/1 of its 3 parts are missing \(2\).*aborted/);
    expect(await openUploads('missing.h5')).toBe(0);
    expect(await exists('missing.h5')).toBe(false);
  });

  it('refuses to complete parts whose combined checksum is not the source’s: IntegrityError, aborted, nothing visible', async () => {
    const run = await newRun('tampered.h5');
    await run.giantsStep('PrepareGiants');
    // The record says the source's CRC32 is something else (as if a part carried other bytes).
    const key = uploadRecordKey(run.runId, 0);
    const record = (await readUploadRecord(run.staging, run.runId, 0))!;
    // The SDK's PUT sent a CRC32 of the whole object: S3 keeps it as the full-object checksum.
    expect(record.SourceChecksum?.Algorithm).toBe('CRC32');
    await run.staging.delete(key);
    await run.staging.put(
      key,
      JSON.stringify({ ...record, SourceChecksum: { ...record.SourceChecksum!, Value: 'AAAAAA==' } }),
    );
    for (const unit of run.units) await run.runUnit(unit);
    await run.giantsStep('CompleteGiants');
    const result = await readGiantResult(run.staging, run.runId, 0);
    expect(result).toMatchObject({ Status: 'FAILED', Error: 'IntegrityError' });
    expect(result?.Cause).toMatch(/combined CRC32 .* the upload was aborted/);
    expect(await openUploads('tampered.h5')).toBe(0);
    expect(await exists('tampered.h5')).toBe(false);
  });

  it('reports an upload aborted behind its back as MissingParts, not as copied', async () => {
    const run = await newRun('vanished.h5');
    await run.giantsStep('PrepareGiants');
    for (const unit of run.units) await run.runUnit(unit);
    const record = (await readUploadRecord(run.staging, run.runId, 0))!;
    await admin.send(
      new AbortMultipartUploadCommand({ Bucket: 'dst', Key: 'vanished.h5', UploadId: record.UploadId }),
    );
    await run.giantsStep('CompleteGiants');
    expect(await readGiantResult(run.staging, run.runId, 0)).toMatchObject({
      Status: 'FAILED',
      Error: 'MissingParts',
    });
    expect(await exists('vanished.h5')).toBe(false);
  });

  it('skips (Sync) a giant object the destination has from the same source, creating no upload', async () => {
    const first = await newRun('synced.h5');
    await first.giantsStep('PrepareGiants');
    for (const unit of first.units) await first.runUnit(unit);
    await first.giantsStep('CompleteGiants');
    expect(await readGiantResult(first.staging, first.runId, 0)).toMatchObject({ Status: 'COPIED' });

    const rerun = await newRun('synced.h5', { Options: { Sync: true } });
    expect(await rerun.giantsStep('PrepareGiants')).toEqual({ Done: 1, Remaining: 0 });
    expect(await openUploads('synced.h5')).toBe(0);
    for (const unit of rerun.units) {
      expect((await rerun.runUnit(unit)).Range).toMatchObject({ PartsDone: 0 });
    }
    await rerun.giantsStep('CompleteGiants');
    expect(await readGiantResult(rerun.staging, rerun.runId, 0)).toMatchObject({ Status: 'SKIPPED' });
  });

  it('refuses a range that does not match its run’s giant object, and a giants list of another run', async () => {
    const run = await newRun('bad-input.h5');
    await run.giantsStep('PrepareGiants');
    const unit = run.units[0] as Extract<WorkUnit, { Range: unknown }>;
    // Pointed at another destination key: the record is the only word on what the upload is.
    await expect(
      run.runUnit({ Range: { ...unit.Range, DestKey: 'elsewhere.h5' } } as WorkUnit),
    ).rejects.toMatchObject({ name: 'InvalidInput' });
    await expect(
      run.giantsStep('CompleteGiants', {
        Giants: { ...run.plan.Giants!, Key: 'runs/other-run/giants.jsonl' },
      }),
    ).rejects.toMatchObject({ name: 'InvalidInput' });
    expect(await exists('elsewhere.h5')).toBe(false);
    // Left open by this test on purpose (no CompleteGiants): cleaned up here.
    const record = (await readUploadRecord(run.staging, run.runId, 0))!;
    await admin.send(
      new AbortMultipartUploadCommand({ Bucket: 'dst', Key: 'bad-input.h5', UploadId: record.UploadId }),
    );
  });
});
