/**
 * DeleteMirrored's safeguards: nothing deleted after a failed copy or a failed Map, never in a dry run,
 * only the run's own deletions file, and a recorded outcome returned instead of deleting again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { deleteMirrored, type DeleteMirroredInput } from '../../../functions/copy-batch/delete-mirrored';
import type { ItemResult, PlanOutput } from '../../../shared/contracts';
import { FolderStagingStore } from '../../../shared/staging';
import { emptyUnitCounts } from '../../../shared/units';

const s3Mock = mockClient(S3Client);
const RUN = 'mirror-run';
let dir: string;
let staging: FolderStagingStore;
const destination = new S3Client({ region: 'us-west-2' });

function plan(overrides: Partial<PlanOutput> = {}): PlanOutput {
  return {
    Manifest: { Bucket: 'staging-bucket', Key: `runs/${RUN}/manifest.jsonl` },
    Count: 2,
    Bytes: 2,
    Units: { ...emptyUnitCounts(), Lines: 1 },
    DryRun: false,
    BatchInput: {
      CredentialsEndpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
      Token: { Kind: 'bearer-parameter', Parameter: '/s3-direct-transfer/t' },
      SourceBucket: 'src',
      DestBucket: 'dst',
      Sync: true,
      RunId: RUN,
    },
    Staging: { Bucket: 'staging-bucket', Prefix: `runs/${RUN}/` },
    Deletes: {
      Count: 2,
      Bytes: 3,
      Bucket: 'staging-bucket',
      Key: `runs/${RUN}/deletes.jsonl`,
      Within: 'mirror/',
      MaxDeletes: 10,
    },
    ...overrides,
  };
}

/** The Map's results: one child that reported `results`. */
async function mapResults(results: ItemResult[]): Promise<DeleteMirroredInput['Run']['Map']> {
  const file = `runs/${RUN}/map/SUCCEEDED_0.json`;
  await staging.put(
    file,
    JSON.stringify([{ Status: 'SUCCEEDED', Output: JSON.stringify({ Results: results }) }]),
  );
  const manifest = `runs/${RUN}/map/manifest.json`;
  await staging.put(
    manifest,
    JSON.stringify({
      DestinationBucket: 'staging-bucket',
      MapRunArn: 'arn',
      ResultFiles: { SUCCEEDED: [{ Key: file, Size: 1 }] },
    }),
  );
  return { MapRunArn: 'arn', ResultWriterDetails: { Bucket: 'staging-bucket', Key: manifest } };
}

const result = (key: string, status: ItemResult['Status']): ItemResult => ({
  Key: key,
  DestKey: `mirror/${key}`,
  Status: status,
  Bytes: 1,
});

const run = (run: DeleteMirroredInput['Run']) =>
  deleteMirrored({ Action: 'DeleteMirrored', Run: run }, { staging, destination });

beforeEach(async () => {
  s3Mock.reset();
  s3Mock.on(DeleteObjectsCommand).resolves({});
  dir = await mkdtemp(join(tmpdir(), 'delete-mirrored-'));
  staging = new FolderStagingStore(dir, 'staging-bucket');
  await staging.put(
    `runs/${RUN}/deletes.jsonl`,
    '{"DestKey":"mirror/gone-1","Size":1}\n{"DestKey":"mirror/gone-2","Size":2}\n',
  );
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('DeleteMirrored', () => {
  it('deletes the listed keys once every object is copied or skipped, and records it for a redrive', async () => {
    const map = await mapResults([result('a', 'COPIED'), result('b', 'SKIPPED')]);
    expect(await run({ Plan: plan(), Map: map })).toEqual({ Deleted: 2, NotDeleted: 0, Errors: [] });
    const [call] = s3Mock.commandCalls(DeleteObjectsCommand);
    expect(call.args[0].input).toMatchObject({
      Bucket: 'dst',
      Delete: { Objects: [{ Key: 'mirror/gone-1' }, { Key: 'mirror/gone-2' }] },
    });
    // A retry or a redrive: the recorded outcome, no second request.
    expect(await run({ Plan: plan(), Map: map })).toEqual({ Deleted: 2, NotDeleted: 0, Errors: [] });
    expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
  });

  it('deletes nothing when an object failed to copy', async () => {
    const map = await mapResults([result('a', 'COPIED'), result('b', 'FAILED')]);
    const out = await run({ Plan: plan(), Map: map });
    expect(out).toMatchObject({
      Deleted: 0,
      NotDeleted: 2,
      Withheld: expect.stringMatching(/1 objects failed/),
    });
    expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    expect(await staging.getText(`runs/${RUN}/deleted.json`)).toBeUndefined();
  });

  it('deletes nothing when objects were not reported, or the Map or CompleteGiants failed', async () => {
    const partial = await mapResults([result('a', 'COPIED')]);
    expect((await run({ Plan: plan(), Map: partial })).Withheld).toMatch(
      /1 planned objects were not reported/,
    );
    expect(
      (await run({ Plan: plan(), Map: { Error: 'States.ExceedToleratedFailureThreshold' } })).Withheld,
    ).toMatch(/the map run failed/);
    const map = await mapResults([result('a', 'COPIED'), result('b', 'COPIED')]);
    expect((await run({ Plan: plan(), Map: map, Complete: { Error: 'TransientError' } })).Withheld).toMatch(
      /giant objects failed/,
    );
    expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
  });

  it("refuses a dry run and a deletions file that is not the run's own", async () => {
    await expect(run({ Plan: plan({ DryRun: true }) })).rejects.toMatchObject({ name: 'InvalidInput' });
    const elsewhere = { ...plan().Deletes!, Key: 'runs/other-run/deletes.jsonl' };
    await expect(run({ Plan: plan({ Deletes: elsewhere }) })).rejects.toMatchObject({ name: 'InvalidInput' });
    expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
  });
});
