/**
 * Redriving an execution (Step Functions' RedriveExecution) that timed out in the middle of its Map: the
 * redrive starts again at the Map state, runs only the units that had not succeeded, resumes the giant
 * object's ranges from the parts already uploaded, completes it and summarizes the whole run. Against the
 * embedded world, through the state machine CDK synthesizes (its TimeoutSeconds lowered for the first
 * attempt: the stand-in for a run that outlived its execution timeout).
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { EmbeddedWorld } from '../../emulators/world';
import { seedSample, type SampleObject } from '../../emulators/sample';
import { runPipelineLocally, type LocalRunOptions } from '../../local/pipeline';
import { loadDefinitionArtifact, type DefinitionArtifact } from '../../local/definition/artifact';
import { succeededEntries } from '../../local/stepfunctions/distributed-map/results';
import type { CopyBatchInput, PlanOutput, TransferResult } from '../../shared/contracts';
import { FolderStagingStore } from '../../shared/staging';
import { unitObjects } from '../../shared/units';
import { readUploadRecord } from '../../functions/copy-batch/upload-record';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const KiB = 1024;
const MiB = 1024 * KiB;
const SOURCE = 'redrive-source';
const DEST = 'redrive-destination';
const SMALL = 30;
const GIANT_SIZE = 48 * MiB;
/** Packs of 5 small objects; the giant object in 6 ranges of one 8 MiB part each. */
const UNITS = { objectsPerPack: 5, partFanOutBytes: 16 * MiB, rangeBytes: 8 * MiB };
const GIANT_PARTS = GIANT_SIZE / (8 * MiB);
const ssmMock = mockClient(SSMClient);

jest.setTimeout(120_000);

let world: EmbeddedWorld;
let admin: S3Client;
let objects: SampleObject[];
let folder: string;

beforeAll(async () => {
  world = await EmbeddedWorld.start({ sourceBuckets: [SOURCE], destinationBuckets: [DEST] });
  admin = world.s3.client('admin');
  const layout = Array.from({ length: SMALL }, (_, i) => ({
    key: `granules/a-${String(i).padStart(2, '0')}.nc`,
    size: 4 * KiB + i,
  }));
  layout.push({ key: 'granules/z-giant.h5', size: GIANT_SIZE });
  objects = await seedSample(admin, SOURCE, layout);
  folder = mkdtempSync(join(tmpdir(), 'redrive-test-'));
  // A redrive needs a token that outlives the first attempt: an SSM-held one (an inline token is
  // staged for its run and deleted when the run ends, as the deployed cleanup does).
  ssmMock.on(GetParameterCommand).resolves({ Parameter: { Type: 'SecureString', Value: world.token } });
});

afterAll(async () => {
  ssmMock.restore();
  admin?.destroy();
  await world?.stop();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

/** The committed definition with another execution timeout. */
function withTimeout(seconds: number): DefinitionArtifact {
  const artifact = loadDefinitionArtifact();
  return { ...artifact, definition: { ...artifact.definition, TimeoutSeconds: seconds } };
}

const md5 = async (bucket: string, key: string): Promise<string> => {
  const out = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return createHash('md5')
    .update(Buffer.from(await out.Body!.transformToByteArray()))
    .digest('hex');
};

it('finishes a timed-out run: only the units that had not succeeded run again, no part is uploaded twice', async () => {
  const staging = new FolderStagingStore(folder, 'staging');
  const options: LocalRunOptions = {
    s3Config: { region: world.s3.region, endpoint: world.s3.endpoint, forcePathStyle: true },
    destinationCredentials: world.s3.destinationCredentials,
    staging,
    units: UNITS,
    maxConcurrency: 2,
  };
  // The source is slow (2 MiB/s per read): each range takes ~4 s, the packs far less.
  world.faults.getBytesPerSecond = 2 * MiB;
  world.faults.bandwidthScope = { credentials: 'issued' };
  const first = await runPipelineLocally(
    {
      CredentialsEndpoint: world.credentialsEndpoint,
      BearerTokenParameter: '/s3-direct-transfer/team-token',
      Source: { Bucket: SOURCE, Prefix: 'granules/' },
      Dest: { Bucket: DEST, Prefix: 'mirror/' },
    },
    { ...options, artifact: withTimeout(6) },
  );
  world.s3.resetFaults();
  expect(first.execution).toMatchObject({ Status: 'TIMED_OUT', Error: 'States.Timeout' });
  expect(first.redrive).toMatchObject({ name: first.runId, state: 'CopyObjects' });
  const plan = (first.redrive!.input as unknown as { Plan: PlanOutput }).Plan;
  expect(plan.Units).toMatchObject({ Packs: SMALL / 5, Ranges: GIANT_PARTS, Giants: 1 });

  // What the first attempt finished, from its Map Run's kept results.
  let succeededUnits = 0;
  let succeededSmall = 0;
  for await (const entry of succeededEntries(staging, first.redrive!.mapRuns.CopyObjects)) {
    const unit = (JSON.parse(entry.Input as string) as CopyBatchInput).Unit!;
    succeededUnits++;
    succeededSmall += unitObjects(unit).length;
  }
  const totalUnits = SMALL / 5 + GIANT_PARTS;
  expect(succeededUnits).toBeGreaterThan(0);
  expect(succeededUnits).toBeLessThan(totalUnits);
  const record = (await readUploadRecord(staging, first.runId, 0))!;
  const partsBefore =
    (
      await admin.send(
        new ListPartsCommand({ Bucket: DEST, Key: 'mirror/z-giant.h5', UploadId: record.UploadId }),
      )
    ).Parts?.length ?? 0;
  expect(partsBefore).toBeLessThan(GIANT_PARTS);

  world.s3.resetCounters();
  const redriven = await runPipelineLocally(undefined, {
    ...options,
    artifact: withTimeout(300),
    redrive: first.redrive,
  });
  expect(redriven.execution.Status).toBe('SUCCEEDED');
  const result = redriven.result as TransferResult;
  expect(result).toMatchObject({ Copied: SMALL + 1, Skipped: 0, Failed: 0, Failures: [] });
  // Only the units that had not succeeded ran: one child execution each.
  expect(redriven.usage.childExecutions).toBe(totalUnits - succeededUnits);
  expect(redriven.usage.invocations.plan).toBe(0);
  const written = world.s3.counters.requestsByCredential.destination;
  // Small objects of the packs that succeeded were not written again.
  expect(written.PutObject ?? 0).toBe(SMALL - succeededSmall);
  // The giant object: only its missing parts, then one completion.
  expect(written.UploadPart).toBe(GIANT_PARTS - partsBefore);
  expect(written.CompleteMultipartUpload).toBe(1);
  expect(written.CreateMultipartUpload ?? 0).toBe(0);

  for (const o of objects) {
    const destKey = `mirror/${o.key.slice('granules/'.length)}`;
    expect(await md5(DEST, destKey)).toBe(await md5(SOURCE, o.key));
  }
  const open = await admin.send(new ListMultipartUploadsCommand({ Bucket: DEST }));
  expect(open.Uploads ?? []).toEqual([]);
});
