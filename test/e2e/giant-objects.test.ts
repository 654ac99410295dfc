/**
 * Giant objects end to end: copied as part ranges by several child executions into one multipart upload
 * that PrepareGiants created and CompleteGiants completed, under short Lambda deadlines and credentials
 * that expire every few seconds, through the state machine CDK synthesizes.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { runPipelineLocally, type LocalRunOptions } from '../../local/pipeline';
import type { TransferResult } from '../../shared/contracts';
import { itNeeds, startE2EWorld, type E2EWorld } from './world';

const MiB = 1024 * 1024;
const SOURCE_NAME = 'giant-source';
const DEST_NAME = 'giant-destination';

jest.setTimeout(240_000);

let world: E2EWorld;
let admin: S3Client;
let SOURCE: string;
let DEST: string;

/** Deterministic bytes: a repeated 1 MiB block with the offset stamped into each block. */
function* blocks(size: number, seed: number): Generator<Buffer> {
  const base = createHash('sha256').update(`seed-${seed}`).digest();
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i += base.length) base.copy(block, i);
  for (let offset = 0; offset < size; offset += MiB) {
    const chunk = Buffer.from(block.subarray(0, Math.min(MiB, size - offset)));
    chunk.writeUInt32BE(offset / MiB, 0);
    yield chunk;
  }
}

function sha256Of(size: number, seed: number): string {
  const hash = createHash('sha256');
  for (const chunk of blocks(size, seed)) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Seeded in one PUT on the emulator, which keeps a full-object CRC64NVME of it as S3 does (so the
 * completion check has a source checksum to meet); in a multipart upload on RGW, which refuses a
 * 1 GiB single PUT.
 */
async function seed(key: string, size: number, seedNumber: number): Promise<void> {
  const params = {
    Bucket: SOURCE,
    Key: key,
    Body: Readable.from(blocks(size, seedNumber)),
    ContentType: 'application/x-hdf5',
    Metadata: { mission: 'icesat-2' },
  };
  if (world.emulator) {
    await admin.send(new PutObjectCommand({ ...params, ContentLength: size }));
    return;
  }
  await new Upload({ client: admin, partSize: 64 * MiB, queueSize: 2, params }).done();
}

async function destinationSha256(key: string): Promise<string> {
  const out = await admin.send(new GetObjectCommand({ Bucket: DEST, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of out.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function openUploads(): Promise<number> {
  const out = await admin.send(new ListMultipartUploadsCommand({ Bucket: DEST }));
  return out.Uploads?.length ?? 0;
}

function run(key: string, extra: Partial<LocalRunOptions> = {}): ReturnType<typeof runPipelineLocally> {
  return runPipelineLocally(
    {
      CredentialsEndpoint: world.credentialsEndpoint,
      BearerToken: world.token,
      Source: { Bucket: SOURCE, Key: key },
      Dest: { Bucket: DEST },
    },
    {
      s3Config: world.s3Config(),
      destinationCredentials: world.destinationCredentials,
      maxConcurrency: 8,
      ...extra,
    },
  );
}

beforeAll(async () => {
  world = await startE2EWorld({
    sourceBuckets: [SOURCE_NAME],
    destinationBuckets: [DEST_NAME],
    credentialLifetimeSeconds: 3,
  });
  SOURCE = world.bucket(SOURCE_NAME);
  DEST = world.bucket(DEST_NAME);
  admin = world.adminClient();
});

afterAll(async () => {
  admin?.destroy();
  await world?.stop();
});

describe('a giant object', () => {
  it('is copied byte-identical in parallel ranges, read about once, counted once, with no upload left open', async () => {
    // 1 GiB on the embedded world (the case); a quarter of it on RGW, whose PUTs on these
    // machines run at ~45 MiB/s, to keep the suite's time: still several ranges at an 8 s timeout.
    const size = (world.emulator ? 1024 : 256) * MiB;
    await seed('atl03/giant.h5', size, 1);
    world.emulator?.resetCounters();
    const started = Date.now();
    const outcome = await run('atl03/giant.h5', {
      // `run --lambda-timeout 8`: every invocation is killed after 8 s, so Plan cuts the object into
      // ranges of ~150 MB and a range goes on in further invocations when its deadline comes. RGW on
      // these shared machines (PUTs at ~45 MiB/s, less under load) gets 30 s and ranges of 64 MiB:
      // there the test is about the backend's multipart semantics, not the deadlines.
      ...(world.emulator
        ? { lambdaTimeoutSeconds: 8 }
        : { lambdaTimeoutSeconds: 30, units: { partFanOutBytes: 64 * MiB, rangeBytes: 64 * MiB } }),
      // 4 ranges at once, 4 parts each, as Lambdas would; the emulator checks every part's CRC32, so
      // the parts' SHA-256 is left out of their signatures (it would double this test's CPU).
      maxConcurrency: 4,
      copyOptions: { queueSize: 4, unsignedPayload: 'always' },
    });
    console.log(`${size / MiB} MiB giant copy: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // Read before the checks below read the destination.
    const served = world.emulator?.counters.bytesServed;
    const uploadParts = world.emulator?.counters.requests.UploadPart;
    expect(outcome.execution.Status).toBe('SUCCEEDED');
    const result = outcome.result as TransferResult;
    expect(result.Failures).toEqual([]);
    expect(result).toMatchObject({ Copied: 1, Skipped: 0, Failed: 0, Bytes: size });
    expect(await destinationSha256('atl03/giant.h5')).toBe(sha256Of(size, 1));
    const head = await admin.send(new HeadObjectCommand({ Bucket: DEST, Key: 'atl03/giant.h5' }));
    expect(head.ContentType).toBe('application/x-hdf5');
    expect(head.Metadata).toMatchObject({ mission: 'icesat-2' });
    expect(await openUploads()).toBe(0);
    if (world.emulator) {
      // Every byte read about once: 1.1 x the object at most, HEADs and listing included.
      expect(served).toBeLessThanOrEqual(1.1 * size);
      expect(uploadParts).toBeGreaterThanOrEqual(size / (8 * MiB));
    }
    const report = JSON.parse((await outcome.staging.getText(result.Report!.Key))!) as {
      Items: { Key: string; Status: string; Check: string }[];
      Notes: string[];
    };
    expect(report.Items).toEqual([
      expect.objectContaining({ Key: 'atl03/giant.h5', Status: 'COPIED', Check: expect.any(String) }),
    ]);
    // The emulator keeps a full-object checksum of every object: the parts were checked against it.
    if (world.emulator) expect(report.Items[0].Check).toMatch(/-full-object$/);
    expect(report.Notes.join(' ')).toMatch(/copied as \d+ part ranges/);
  });

  itNeeds('emulator', 'replacing the source mid-copy needs the emulator’s fault injection')(
    'whose range fails for good is reported with that range’s error, its upload aborted, nothing visible',
    async () => {
      const size = 96 * MiB;
      await seed('atl03/changing.h5', size, 2);
      // Replaced once 40 MiB were read: the ranges that read after that meet If-Match 412.
      world.emulator!.faults.replaceSourceAfterBytes = {
        bucket: SOURCE,
        key: 'atl03/changing.h5',
        afterBytes: 40 * MiB,
        body: 'a different object now',
      };
      const outcome = await run('atl03/changing.h5', {
        units: { partFanOutBytes: 16 * MiB, rangeBytes: 16 * MiB },
        maxConcurrency: 2,
      });
      world.emulator!.resetFaults();
      expect(outcome.execution.Status).toBe('SUCCEEDED');
      const result = outcome.result as TransferResult;
      expect(result).toMatchObject({ Copied: 0, Failed: 1 });
      expect(result.Failures[0]).toMatchObject({ Key: 'atl03/changing.h5', Error: 'SourceChanged' });
      expect(result.Failures[0].Cause).toMatch(/upload was aborted/);
      await expect(
        admin.send(new HeadObjectCommand({ Bucket: DEST, Key: 'atl03/changing.h5' })),
      ).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
      expect(await openUploads()).toBe(0);
    },
  );
});
