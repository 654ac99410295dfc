/**
 * Plan with Options.Sync and a Prefix source: both listings merged, skipped objects kept out of the
 * manifest (listed in skipped.jsonl), deletions listed and checked against MaxDeletes before anything
 * is deleted. Both S3 clients are mocked (told apart by the bucket).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client, S3ServiceException, type _Object } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { ManifestItem, PlanOutput, WorkUnit } from '../../../shared/contracts';
import { RefreshingCredentials, clearTokenCache, type TeaCredentials } from '../../../shared/credentials';
import { clearSecrets, createLogger } from '../../../shared/log';
import { readDeletes } from '../../../shared/mirror/deletes-file';
import { FolderStagingStore } from '../../../shared/staging';
import { unitObjects } from '../../../shared/units';
import { planTransfer, type PlanDependencies } from '../../../functions/plan/plan';
import { ONE_MACHINE_POLICY } from '../../../shared/run-policy';

const s3Mock = mockClient(S3Client);
const RUN = 'sync-0001';
const OLD = new Date('2026-01-01T00:00:00Z');
const NEW = new Date('2026-02-01T00:00:00Z');

let dir: string;
let staging: FolderStagingStore;
let deps: PlanDependencies;
let destination: S3Client;

const event = (options: Record<string, unknown>, source: Record<string, unknown> = {}) => ({
  CredentialsEndpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
  BearerToken: 'edl-token-abcdefghijklmnop-0123456789',
  Source: { Bucket: 'src-bucket', Prefix: 'data/', ...source },
  Dest: { Bucket: 'dst-bucket', Prefix: 'mirror/' },
  Options: { Sync: true, ...options },
});

const obj = (Key: string, Size: number, LastModified: Date, ETag = '"e"'): _Object => ({
  Key,
  Size,
  LastModified,
  ETag,
});

/** What each side's listing answers (one page each), or the destination's error. */
function listings(source: _Object[], dest: _Object[] | Error): void {
  const mock = s3Mock
    .on(ListObjectsV2Command, { Bucket: 'src-bucket' })
    .resolves({ Contents: source, IsTruncated: false });
  if (dest instanceof Error) mock.on(ListObjectsV2Command, { Bucket: 'dst-bucket' }).rejects(dest);
  else
    mock.on(ListObjectsV2Command, { Bucket: 'dst-bucket' }).resolves({ Contents: dest, IsTruncated: false });
}

/** Source: a (same), b (changed size), c (same size, newer at the source), d (new). Dest: a, b, c, x, y. */
function twoListings(): void {
  listings(
    [obj('data/a', 10, OLD), obj('data/b', 20, OLD), obj('data/c', 30, NEW), obj('data/d', 40, OLD)],
    [
      obj('mirror/a', 10, NEW),
      obj('mirror/b', 21, NEW),
      obj('mirror/c', 30, OLD),
      obj('mirror/x', 5, OLD),
      obj('mirror/y', 6, OLD),
    ],
  );
}

async function lines<T>(key: string): Promise<T[]> {
  const text = (await staging.getText(key)) ?? '';
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

const manifestOf = async (out: PlanOutput): Promise<ManifestItem[]> =>
  (await lines<WorkUnit>(out.Manifest.Key)).flatMap(unitObjects);

beforeEach(async () => {
  s3Mock.reset();
  clearTokenCache();
  clearSecrets();
  dir = await mkdtemp(join(tmpdir(), 'sync-plan-'));
  staging = new FolderStagingStore(dir, 'staging-bucket');
  const fetcher = async (): Promise<TeaCredentials> => ({
    accessKeyId: 'ASIATESTKEY',
    secretAccessKey: 'test-secret-key-0123456789',
    sessionToken: 'test-session-token-0123456789',
    expiration: new Date(Date.now() + 3_600_000),
  });
  destination = new S3Client({ region: 'us-west-2' });
  deps = {
    sourceClient: (credentials) => new S3Client({ region: 'us-west-2', credentials }),
    destinationClient: destination,
    staging,
    ssm: new SSMClient({ region: 'us-west-2' }),
    runId: RUN,
    policy: ONE_MACHINE_POLICY,
    credentials: (request) => new RefreshingCredentials(request, { fetcher }),
    logger: createLogger('sync-plan-test', { logLevel: 'SILENT' }),
  };
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('planTransfer: Sync from both listings', () => {
  it('keeps skipped objects out of the manifest, lists them apart, and lists the deletions', async () => {
    twoListings();
    const out = await planTransfer(event({ Delete: true }), deps);

    expect((await manifestOf(out)).map((i) => [i.Key, i.DestKey])).toEqual([
      ['data/b', 'mirror/b'],
      ['data/c', 'mirror/c'],
      ['data/d', 'mirror/d'],
    ]);
    expect(out.Count).toBe(3);
    expect(out.Bytes).toBe(90);
    expect(out.Skipped).toEqual({
      Count: 1,
      Bytes: 10,
      Bucket: 'staging-bucket',
      Key: `runs/${RUN}/skipped.jsonl`,
    });
    expect(await lines(`runs/${RUN}/skipped.jsonl`)).toEqual([
      { Key: 'data/a', DestKey: 'mirror/a', Size: 10 },
    ]);
    expect(out.Deletes).toEqual({
      Count: 2,
      Bytes: 11,
      Bucket: 'staging-bucket',
      Key: `runs/${RUN}/deletes.jsonl`,
      Within: 'mirror/',
      MaxDeletes: 1000,
    });
    const planned = [];
    for await (const d of readDeletes(staging, `runs/${RUN}/deletes.jsonl`)) planned.push(d.DestKey);
    expect(planned).toEqual(['mirror/x', 'mirror/y']);
    // The destination was listed under the mapped prefix, by the destination client only.
    const destCalls = s3Mock.commandCalls(ListObjectsV2Command, { Bucket: 'dst-bucket' });
    expect(destCalls.map((c) => c.args[0].input.Prefix)).toEqual(['mirror/']);
  });

  it('without Delete lists no deletions', async () => {
    twoListings();
    const out = await planTransfer(event({}), deps);
    expect(out.Deletes).toBeUndefined();
    expect(out.Count).toBe(3);
    expect(await staging.getText(`runs/${RUN}/deletes.jsonl`)).toBeUndefined();
  });

  it('fails with TooManyDeletes before anything is deleted, keeping the list of deletions it names', async () => {
    twoListings();
    const error = await planTransfer(event({ Delete: true, MaxDeletes: 1 }), deps).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'TooManyDeletes' });
    expect((error as Error).message).toMatch(
      /would delete 2 objects under s3:\/\/dst-bucket\/mirror\/.*MaxDeletes \(1\)/,
    );
    expect((error as Error).message).toContain(`s3://staging-bucket/runs/${RUN}/deletes.jsonl`);
    expect(await staging.list(`runs/${RUN}/`)).toEqual([`runs/${RUN}/deletes.jsonl`]);
  });

  it('in a dry run over MaxDeletes lists the deletions and says the run would stop', async () => {
    twoListings();
    const out = await planTransfer(event({ Delete: true, MaxDeletes: 1, DryRun: true }), deps);
    expect(out.Deletes).toMatchObject({ Count: 2, MaxDeletes: 1, Exceeded: true });
  });

  it('fails with DestinationAccessDenied when Plan may not list the destination, and leaves nothing', async () => {
    const denied = new S3ServiceException({
      name: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message: 'Access Denied',
    });
    listings([obj('data/a', 10, OLD)], denied);
    const error = await planTransfer(event({ Delete: true }), deps).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'DestinationAccessDenied' });
    expect((error as Error).message).toMatch(/grant Plan's role s3:ListBucket/);
    expect(await staging.list('')).toEqual([]);
  });

  it('fails with KeyOrderError when a listing is out of order', async () => {
    listings([obj('data/b', 1, OLD), obj('data/a', 1, OLD)], []);
    const error = await planTransfer(event({}), deps).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'KeyOrderError' });
    expect(await staging.list('')).toEqual([]);
  });

  it('does not list the destination without Sync: every object goes to the copies', async () => {
    twoListings();
    const out = await planTransfer({ ...event({}), Options: { Sync: false } }, deps);
    expect(out.Count).toBe(4);
    expect(out.Skipped).toBeUndefined();
    expect(s3Mock.commandCalls(ListObjectsV2Command, { Bucket: 'dst-bucket' })).toHaveLength(0);
  });
});
