import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
  type _Object,
} from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { ManifestItem, PlanOutput, WorkUnit } from '../../../shared/contracts';
import { unitKind, unitObjects, unitPolicy } from '../../../shared/units';
import {
  RefreshingCredentials,
  clearTokenCache,
  type TeaCredentials,
  type TeaRequest,
} from '../../../shared/credentials';
import { clearSecrets, createLogger } from '../../../shared/log';
import { FolderStagingStore, type StagingStore } from '../../../shared/staging';
import { planTransfer, type PlanDependencies } from '../../../functions/plan/plan';
import { stagedTokenKey } from '../../../shared/run-files';
import { DEPLOYED_RUN_POLICY, ONE_MACHINE_POLICY } from '../../../shared/run-policy';

const s3Mock = mockClient(S3Client);
const ssmMock = mockClient(SSMClient);

const TOKEN = 'edl-token-abcdefghijklmnop-0123456789';
const RUN = 'exec-0001';

const baseEvent = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  CredentialsEndpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
  BearerToken: TOKEN,
  Source: { Bucket: 'src-bucket', Key: 'path/to/granule.h5' },
  Dest: { Bucket: 'dst-bucket' },
  ...over,
});

/** An S3 service error as the SDK builds it from a response. */
function s3Error(name: string, status: number, message = name): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message });
}

interface Harness {
  dir: string;
  staging: FolderStagingStore;
  fetcher: jest.Mock<Promise<TeaCredentials>, [TeaRequest]>;
  deps: PlanDependencies;
}

let h: Harness;

async function harness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'plan-test-'));
  const staging = new FolderStagingStore(dir, 'staging-bucket');
  const fetcher = jest.fn<Promise<TeaCredentials>, [TeaRequest]>(async () => ({
    accessKeyId: 'ASIATESTKEY',
    secretAccessKey: 'test-secret-key-0123456789',
    sessionToken: 'test-session-token-0123456789',
    expiration: new Date(Date.now() + 3_600_000),
  }));
  const deps: PlanDependencies = {
    sourceClient: (credentials) => new S3Client({ region: 'us-west-2', credentials }),
    staging,
    ssm: new SSMClient({ region: 'us-west-2' }),
    runId: RUN,
    policy: ONE_MACHINE_POLICY,
    credentials: (request) => new RefreshingCredentials(request, { fetcher }),
    logger: createLogger('plan-test', { logLevel: 'SILENT' }),
  };
  return { dir, staging, fetcher, deps };
}

async function unitsOf(staging: StagingStore, output: PlanOutput): Promise<WorkUnit[]> {
  const text = await staging.getText(output.Manifest.Key);
  if (text === undefined) throw new Error('no manifest');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as WorkUnit);
}

/** The objects of the manifest's units, in manifest order. */
async function manifestOf(staging: StagingStore, output: PlanOutput): Promise<ManifestItem[]> {
  return (await unitsOf(staging, output)).flatMap(unitObjects);
}

const objects = (keys: string[], size = 10): _Object[] =>
  keys.map((Key, i) => ({ Key, Size: size + i, ETag: `"etag-${i}"` }));

beforeEach(async () => {
  s3Mock.reset();
  ssmMock.reset();
  clearTokenCache();
  clearSecrets();
  h = await harness();
});

afterEach(async () => {
  await rm(h.dir, { recursive: true, force: true });
});

describe('planTransfer: Source.Key', () => {
  it('heads the object and writes one manifest item with its size and unquoted ETag', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1234, ETag: '"abc123"' });
    const out = await planTransfer(baseEvent(), h.deps);

    expect(out.Count).toBe(1);
    expect(out.Bytes).toBe(1234);
    expect(out.DryRun).toBe(false);
    expect(out.Manifest).toEqual({ Bucket: 'staging-bucket', Key: `runs/${RUN}/manifest.jsonl` });
    expect(out.Staging).toEqual({ Bucket: 'staging-bucket', Prefix: `runs/${RUN}/` });
    expect(await manifestOf(h.staging, out)).toEqual([
      { Key: 'path/to/granule.h5', DestKey: 'path/to/granule.h5', Size: 1234, ETag: 'abc123' },
    ]);
    expect(s3Mock.commandCalls(HeadObjectCommand)[0].args[0].input).toEqual({
      Bucket: 'src-bucket',
      Key: 'path/to/granule.h5',
    });
    expect(out.BatchInput).toMatchObject({
      CredentialsEndpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
      SourceBucket: 'src-bucket',
      DestBucket: 'dst-bucket',
      Sync: false,
      RunId: RUN,
    });
  });

  it('renames to Dest.Key', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 5, ETag: '"e"' });
    const out = await planTransfer(baseEvent({ Dest: { Bucket: 'dst-bucket', Key: 'new/name.h5' } }), h.deps);
    expect((await manifestOf(h.staging, out))[0].DestKey).toBe('new/name.h5');
  });

  it('fails with SourceNotFound naming bucket and key, and writes nothing', async () => {
    s3Mock.on(HeadObjectCommand).rejects(s3Error('NotFound', 404, 'UnknownError'));
    const error = await planTransfer(baseEvent(), h.deps).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'SourceNotFound' });
    expect((error as Error).message).toBe(
      's3://src-bucket/path/to/granule.h5 does not exist (HeadObject: NotFound (HTTP 404))',
    );
    expect(await h.staging.list('')).toEqual([]);
  });

  it('fails with SourceAccessDenied and a hint on a 403', async () => {
    s3Mock.on(HeadObjectCommand).rejects(s3Error('Forbidden', 403, 'UnknownError'));
    const error = await planTransfer(baseEvent(), h.deps).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'SourceAccessDenied' });
    expect((error as Error).message).toMatch(/CredentialsEndpoint belongs to the archive/);
    expect(await h.staging.list('')).toEqual([]);
  });
});

describe('planTransfer: Source.Prefix', () => {
  const prefixEvent = (source: Record<string, unknown>, dest: Record<string, unknown> = {}) =>
    baseEvent({ Source: { Bucket: 'src-bucket', ...source }, Dest: { Bucket: 'dst-bucket', ...dest } });

  it('follows continuation tokens across pages with MaxKeys 1000', async () => {
    s3Mock
      .on(ListObjectsV2Command, { ContinuationToken: undefined })
      .resolves({
        Contents: objects(['data/a.h5', 'data/b.h5']),
        IsTruncated: true,
        NextContinuationToken: 't1',
      })
      .on(ListObjectsV2Command, { ContinuationToken: 't1' })
      .resolves({ Contents: objects(['data/c.h5']), IsTruncated: true, NextContinuationToken: 't2' })
      .on(ListObjectsV2Command, { ContinuationToken: 't2' })
      .resolves({ Contents: objects(['data/d.h5']), IsTruncated: false });
    const out = await planTransfer(prefixEvent({ Prefix: 'data/' }), h.deps);

    const calls = s3Mock.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { Bucket: 'src-bucket', Prefix: 'data/', MaxKeys: 1000, ContinuationToken: undefined },
      { Bucket: 'src-bucket', Prefix: 'data/', MaxKeys: 1000, ContinuationToken: 't1' },
      { Bucket: 'src-bucket', Prefix: 'data/', MaxKeys: 1000, ContinuationToken: 't2' },
    ]);
    const items = await manifestOf(h.staging, out);
    expect(items.map((i) => i.Key)).toEqual(['data/a.h5', 'data/b.h5', 'data/c.h5', 'data/d.h5']);
    expect(out.Count).toBe(4);
    expect(out.Bytes).toBe(10 + 11 + 10 + 10);
    expect(items[1]).toEqual({ Key: 'data/b.h5', DestKey: 'data/b.h5', Size: 11, ETag: 'etag-1' });
  });

  it('filters with Include/Exclude globs on the key relative to the prefix and skips folder markers', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: 'data/', Size: 0 },
        { Key: 'data/2024/', Size: 0 },
        { Key: 'data/2024/a.h5', Size: 100 },
        { Key: 'data/2024/a.xml', Size: 1 },
        { Key: 'data/top.h5', Size: 7 },
        { Key: 'data/2024/browse/b.h5', Size: 3 },
        { Key: 'data/dir-with-data/', Size: 9 },
      ],
      IsTruncated: false,
    });
    const out = await planTransfer(
      prefixEvent({ Prefix: 'data/', Include: ['**/*.h5', '*/'], Exclude: ['**/browse/**'] }),
      h.deps,
    );
    const items = await manifestOf(h.staging, out);
    // 'data/dir-with-data/' has bytes: not a folder marker, and Include '*/' selects it.
    expect(items.map((i) => i.Key)).toEqual(['data/2024/a.h5', 'data/top.h5', 'data/dir-with-data/']);
    expect(out.Bytes).toBe(116);
  });

  it('matches globs against the relative key, not the full key', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: 'data/a.h5', Size: 1 },
        { Key: 'data/sub/b.h5', Size: 1 },
      ],
      IsTruncated: false,
    });
    // '*.h5' does not cross '/': it matches 'a.h5' (relative) but would match nothing on 'data/a.h5'.
    const out = await planTransfer(prefixEvent({ Prefix: 'data/', Include: ['*.h5'] }), h.deps);
    expect((await manifestOf(h.staging, out)).map((i) => i.Key)).toEqual(['data/a.h5']);
  });

  it('maps destination keys with Dest.Prefix + the key relative to Source.Prefix', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: objects(['granules/2024/x.h5', 'granules/y.h5']),
      IsTruncated: false,
    });
    const out = await planTransfer(
      prefixEvent({ Prefix: 'granules/' }, { Prefix: 'mirror/podaac/' }),
      h.deps,
    );
    expect((await manifestOf(h.staging, out)).map((i) => [i.Key, i.DestKey])).toEqual([
      ['granules/2024/x.h5', 'mirror/podaac/2024/x.h5'],
      ['granules/y.h5', 'mirror/podaac/y.h5'],
    ]);
  });

  it('writes units: small objects packed, a giant object as part ranges listed in giants.jsonl', async () => {
    const GiB = 1024 ** 3;
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: 'g/a.h5', Size: 100, ETag: '"e-a"' },
        { Key: 'g/huge.h5', Size: 3 * GiB, ETag: '"e-huge"' },
        { Key: 'g/b.h5', Size: 200, ETag: '"e-b"' },
      ],
      IsTruncated: false,
    });
    const out = await planTransfer(prefixEvent({ Prefix: 'g/' }, { Prefix: 'm/' }), {
      ...h.deps,
      units: unitPolicy({ partFanOutBytes: GiB }),
    });
    const units = await unitsOf(h.staging, out);
    // The pack stays open while the giant's ranges are written: it comes last.
    expect(units.map(unitKind)).toEqual(['range', 'range', 'range', 'pack']);
    expect(units.slice(0, 3).map((u) => ('Range' in u ? [u.Range.FirstPart, u.Range.LastPart] : []))).toEqual(
      [
        [1, 128],
        [129, 256],
        [257, 384],
      ],
    );
    expect(units[0]).toEqual({
      Range: expect.objectContaining({ Key: 'g/huge.h5', DestKey: 'm/huge.h5', ETag: 'e-huge', Giant: 0 }),
    });
    expect(out).toMatchObject({
      Count: 3,
      Bytes: 3 * GiB + 300,
      Units: { Packs: 1, PackedObjects: 2, Objects: 0, Ranges: 3, Giants: 1, GiantBytes: 3 * GiB, Lines: 4 },
      Giants: { Bucket: h.staging.bucket, Key: `runs/${RUN}/giants.jsonl` },
    });
    const giants = (await h.staging.getText(out.Giants!.Key))!
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(giants).toEqual([
      {
        Giant: 0,
        Key: 'g/huge.h5',
        DestKey: 'm/huge.h5',
        Size: 3 * GiB,
        ETag: 'e-huge',
        PartSize: 8 * 1024 ** 2,
        Parts: 384,
        Ranges: 3,
      },
    ]);
  });

  it('writes no giants list when no object is giant', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: objects(['g/a', 'g/b']), IsTruncated: false });
    const out = await planTransfer(prefixEvent({ Prefix: 'g/' }), h.deps);
    expect(out.Giants).toBeUndefined();
    expect(out.Units).toMatchObject({ Giants: 0, Ranges: 0, Packs: 1, Lines: 1 });
    expect(await h.staging.list(`runs/${RUN}/giants`)).toEqual([]);
  });

  it('records a failed item when a destination key would exceed 1024 bytes', async () => {
    const long = `p/${'k'.repeat(1000)}`;
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: objects([long, 'p/ok']), IsTruncated: false });
    const out = await planTransfer(prefixEvent({ Prefix: 'p/' }, { Prefix: 'x'.repeat(100) }), h.deps);
    const items = await manifestOf(h.staging, out);
    expect(items[0]).toMatchObject({ Key: long, Error: 'InvalidInput' });
    expect(items[0].Cause).toMatch(/1024/);
    expect(items[1]).toMatchObject({ Key: 'p/ok', DestKey: `${'x'.repeat(100)}ok` });
    expect(items[1].Error).toBeUndefined();
  });

  it('writes an empty manifest when nothing matches', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({ KeyCount: 0, IsTruncated: false });
    const out = await planTransfer(prefixEvent({ Prefix: 'nothing/' }), h.deps);
    expect(out.Count).toBe(0);
    expect(out.Bytes).toBe(0);
    expect(await h.staging.getText(out.Manifest.Key)).toBe('');
  });

  it('throws SourceAccessDenied with a hint when listing is denied, and leaves nothing behind', async () => {
    s3Mock.on(ListObjectsV2Command).rejects(s3Error('AccessDenied', 403, 'Access Denied'));
    const error = await planTransfer(prefixEvent({ Prefix: 'data/' }), h.deps).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'SourceAccessDenied' });
    expect((error as Error).message).toContain('s3://src-bucket/data/');
    expect((error as Error).message).toMatch(/another|each DAAC has its own/);
    expect((error as Error).message).toMatch(/region/);
    expect(await h.staging.list('')).toEqual([]);
  });

  it('removes a partly written manifest when listing fails on a later page', async () => {
    s3Mock
      .on(ListObjectsV2Command, { ContinuationToken: undefined })
      .resolves({ Contents: objects(['data/a']), IsTruncated: true, NextContinuationToken: 't1' })
      .on(ListObjectsV2Command, { ContinuationToken: 't1' })
      .rejects(s3Error('NoSuchBucket', 404));
    const error = await planTransfer(prefixEvent({ Prefix: 'data/' }), h.deps).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'SourceNotFound' });
    expect(await h.staging.list('')).toEqual([]);
  });

  it('names S3 server failures TransientError so the state machine can retry them', async () => {
    s3Mock.on(ListObjectsV2Command).rejects(s3Error('InternalError', 500));
    await expect(planTransfer(prefixEvent({ Prefix: 'data/' }), h.deps)).rejects.toMatchObject({
      name: 'TransientError',
    });
  });

  it('refreshes the credentials and retries a page that failed with ExpiredToken', async () => {
    s3Mock
      .on(ListObjectsV2Command, { ContinuationToken: undefined })
      .resolves({ Contents: objects(['data/a']), IsTruncated: true, NextContinuationToken: 't1' })
      .on(ListObjectsV2Command, { ContinuationToken: 't1' })
      .rejectsOnce(s3Error('ExpiredToken', 400, 'The provided token has expired.'))
      .resolves({ Contents: objects(['data/b']), IsTruncated: false });
    const out = await planTransfer(prefixEvent({ Prefix: 'data/' }), h.deps);
    expect(out.Count).toBe(2);
    expect(h.fetcher).toHaveBeenCalledTimes(2);
    expect(s3Mock.commandCalls(ListObjectsV2Command)).toHaveLength(3);
  });
});

describe('planTransfer: Source.Keys', () => {
  const keysEvent = (keys: string[], dest: Record<string, unknown> = {}) =>
    baseEvent({ Source: { Bucket: 'src-bucket', Keys: keys }, Dest: { Bucket: 'dst-bucket', ...dest } });

  it('heads every key and records a missing one as a failed item, in list order', async () => {
    s3Mock.on(HeadObjectCommand).callsFake(async ({ Key }: { Key: string }) => {
      if (Key === 'b.h5') throw s3Error('NotFound', 404, 'UnknownError');
      return { ContentLength: Key.length, ETag: `"${Key}-etag"` };
    });
    const out = await planTransfer(keysEvent(['a.h5', 'b.h5', 'dir/c.h5'], { Prefix: 'copy/' }), h.deps);
    const items = await manifestOf(h.staging, out);
    expect(items).toEqual([
      { Key: 'a.h5', DestKey: 'copy/a.h5', Size: 4, ETag: 'a.h5-etag' },
      {
        Key: 'b.h5',
        DestKey: 'copy/b.h5',
        Error: 'SourceNotFound',
        Cause: 's3://src-bucket/b.h5 does not exist',
      },
      { Key: 'dir/c.h5', DestKey: 'copy/dir/c.h5', Size: 8, ETag: 'dir/c.h5-etag' },
    ]);
    expect(out.Count).toBe(3);
    expect(out.Bytes).toBe(12);
  });

  it('keeps at most headConcurrency HeadObjects in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    s3Mock.on(HeadObjectCommand).callsFake(async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      return { ContentLength: 1, ETag: '"e"' };
    });
    const keys = Array.from({ length: 50 }, (_, i) => `k/${i}`);
    const out = await planTransfer(keysEvent(keys), { ...h.deps, headConcurrency: 4 });
    expect(out.Count).toBe(50);
    expect(peak).toBe(4);
    expect((await manifestOf(h.staging, out)).map((i) => i.Key)).toEqual(keys);
  });

  it('records one denied key as a failed item', async () => {
    s3Mock.on(HeadObjectCommand).callsFake(async ({ Key }: { Key: string }) => {
      if (Key === 'secret.h5') throw s3Error('Forbidden', 403, 'UnknownError');
      return { ContentLength: 1, ETag: '"e"' };
    });
    const out = await planTransfer(keysEvent(['ok.h5', 'secret.h5']), h.deps);
    const items = await manifestOf(h.staging, out);
    expect(items[1]).toMatchObject({ Key: 'secret.h5', Error: 'SourceAccessDenied' });
    expect(items[1].Cause).toMatch(/403/);
  });

  it('throws SourceAccessDenied when every key is denied (wrong archive or region), leaving nothing', async () => {
    s3Mock.on(HeadObjectCommand).rejects(s3Error('Forbidden', 403, 'UnknownError'));
    const error = await planTransfer(keysEvent(['a', 'b', 'c']), h.deps).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'SourceAccessDenied' });
    expect(await h.staging.list('')).toEqual([]);
  });
});

describe('planTransfer: validation and authentication', () => {
  it('rejects an invalid event with InvalidInput before any request, writing nothing', async () => {
    const error = await planTransfer(
      baseEvent({ Source: { Bucket: 'src-bucket', Prefix: 'a/', Key: 'b' }, Unknown: 1 }),
      h.deps,
    ).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'InvalidInput' });
    expect((error as Error).message).not.toContain(TOKEN);
    expect(h.fetcher).not.toHaveBeenCalled();
    expect(s3Mock.calls()).toHaveLength(0);
    expect(await h.staging.list('')).toEqual([]);
  });

  it('rejects a run id that cannot be a staging folder', async () => {
    await expect(planTransfer(baseEvent(), { ...h.deps, runId: '../other' })).rejects.toMatchObject({
      name: 'InvalidInput',
    });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('fails with AuthenticationFailed before any listing when the endpoint rejects the token', async () => {
    const fetch = jest.fn(
      async () =>
        new Response(null, { status: 302, headers: { location: 'https://urs.earthdata.nasa.gov/oauth' } }),
    );
    const deps: PlanDependencies = {
      ...h.deps,
      credentials: (request) =>
        new RefreshingCredentials(request, { fetch: fetch as unknown as typeof globalThis.fetch }),
    };
    const error = await planTransfer(
      baseEvent({ Source: { Bucket: 'src-bucket', Prefix: 'data/' } }),
      deps,
    ).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'AuthenticationFailed' });
    expect((error as Error).message).not.toContain(TOKEN);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(s3Mock.calls()).toHaveLength(0);
    expect(await h.staging.list('')).toEqual([]);
  });

  it('reads BearerTokenParameter from SSM and references the parameter, staging no token', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Type: 'SecureString', Value: `${TOKEN}\n` } });
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1, ETag: '"e"' });
    const requests: TeaRequest[] = [];
    const deps: PlanDependencies = {
      ...h.deps,
      credentials: (request) => {
        requests.push(request);
        return new RefreshingCredentials(request, { fetcher: h.fetcher });
      },
    };
    const event = baseEvent({
      BearerToken: undefined,
      BearerTokenParameter: '/earthdata/token',
      AppName: 'my-app',
    });
    const out = await planTransfer(event, deps);

    expect(ssmMock.commandCalls(GetParameterCommand)[0].args[0].input).toEqual({
      Name: '/earthdata/token',
      WithDecryption: true,
    });
    expect(requests).toEqual([
      {
        endpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
        auth: { kind: 'bearer', token: TOKEN },
        appName: 'my-app',
      },
    ]);
    expect(out.BatchInput.Token).toEqual({ Kind: 'bearer-parameter', Parameter: '/earthdata/token' });
    expect(out.BatchInput.AppName).toBe('my-app');
    expect(await h.staging.list('')).toEqual([`runs/${RUN}/manifest.jsonl`]);
    expect(JSON.stringify(out)).not.toContain(TOKEN);
  });

  it('refuses a BearerTokenParameter outside the pipeline’s parameter path before reading it', async () => {
    const event = baseEvent({ BearerToken: undefined, BearerTokenParameter: '/elsewhere/token' });
    const error = await planTransfer(event, { ...h.deps, tokenParameterPath: '/s3-direct-transfer/' }).catch(
      (e: Error) => e,
    );
    expect(error).toMatchObject({ name: 'TokenParameterError' });
    expect((error as Error).message).toContain('/s3-direct-transfer/');
    expect(ssmMock.calls()).toHaveLength(0);
    expect(h.fetcher).not.toHaveBeenCalled();
  });

  it('fails with TokenParameterError when the SSM parameter does not exist', async () => {
    ssmMock
      .on(GetParameterCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    const event = baseEvent({ BearerToken: undefined, BearerTokenParameter: '/missing' });
    await expect(planTransfer(event, h.deps)).rejects.toMatchObject({ name: 'TokenParameterError' });
    expect(await h.staging.list('')).toEqual([]);
  });
});

describe('planTransfer: the token never travels in the output', () => {
  it('stages an inline BearerToken as a private object and references it', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1, ETag: '"e"' });
    const out = await planTransfer(baseEvent(), h.deps);
    expect(out.BatchInput.Token).toEqual({
      Kind: 'staged',
      Bucket: 'staging-bucket',
      Key: stagedTokenKey(RUN),
      TokenKind: 'bearer',
    });
    expect(await h.staging.getText(stagedTokenKey(RUN))).toBe(TOKEN);
    expect(JSON.stringify(out)).not.toContain(TOKEN);
    expect(JSON.stringify(out)).not.toContain('abcdefghijklmnop');
  });

  it('stages a JwtCookie with TokenKind cookie', async () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl';
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1, ETag: '"e"' });
    const out = await planTransfer(baseEvent({ BearerToken: undefined, JwtCookie: jwt }), h.deps);
    expect(out.BatchInput.Token).toMatchObject({ Kind: 'staged', TokenKind: 'cookie' });
    expect(await h.staging.getText(stagedTokenKey(RUN))).toBe(jwt);
    expect(JSON.stringify(out)).not.toContain(jwt);
  });

  it('never writes the token to the logs', async () => {
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array): boolean => {
      lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      return true;
    };
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      s3Mock.on(ListObjectsV2Command).resolves({ Contents: objects(['d/a']), IsTruncated: false });
      await planTransfer(baseEvent({ Source: { Bucket: 'src-bucket', Prefix: 'd/' } }), {
        ...h.deps,
        logger: createLogger('plan-test', { logLevel: 'DEBUG' }),
      });
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    const text = lines.join('');
    expect(text).toContain('planned');
    expect(text).not.toContain(TOKEN);
  });
});

describe('planTransfer: DryRun', () => {
  it('lists and writes the manifest, stages no token and says DryRun', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: objects(['d/a', 'd/b']), IsTruncated: false });
    const out = await planTransfer(
      baseEvent({ Source: { Bucket: 'src-bucket', Prefix: 'd/' }, Options: { DryRun: true } }),
      h.deps,
    );
    expect(out.DryRun).toBe(true);
    expect(out.Count).toBe(2);
    expect(await manifestOf(h.staging, out)).toHaveLength(2);
    expect(await h.staging.list('')).toEqual([`runs/${RUN}/manifest.jsonl`]);
    expect(out.BatchInput.Token).toMatchObject({ Kind: 'staged', TokenKind: 'bearer' });
    expect(JSON.stringify(out)).not.toContain(TOKEN);
  });

  it('passes Options.Sync through to the copy batches', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1, ETag: '"e"' });
    const out = await planTransfer(baseEvent({ Options: { Sync: true } }), h.deps);
    expect(out.BatchInput.Sync).toBe(true);
    expect(out.DryRun).toBe(false);
  });
});

describe('planTransfer: the manifest stream', () => {
  it('fails (instead of hanging) when the staging store stops reading', async () => {
    const failing: StagingStore = {
      bucket: 'staging-bucket',
      put: async (_key, body) => {
        // Read a little, then give up, as an upload that lost its connection would.
        const stream = body as Readable;
        for await (const _chunk of stream) break;
        throw new Error('staging upload failed');
      },
      getText: async () => undefined,
      getStream: async () => Readable.from([]),
      list: async () => [],
      delete: jest.fn(async () => undefined),
    };
    let page = 0;
    s3Mock.on(ListObjectsV2Command).callsFake(async () => {
      page++;
      const keys = Array.from({ length: 1000 }, (_, i) => `d/${page}/${'x'.repeat(200)}-${i}`);
      return { Contents: objects(keys), IsTruncated: page < 50, NextContinuationToken: `t${page}` };
    });
    await expect(
      planTransfer(baseEvent({ Source: { Bucket: 'src-bucket', Prefix: 'd/' } }), {
        ...h.deps,
        staging: failing,
      }),
    ).rejects.toThrow('staging upload failed');
    expect(failing.delete).toHaveBeenCalledWith(`runs/${RUN}/manifest.jsonl`);
    expect(page).toBeLessThan(50);
  });
});

describe('planTransfer: runs never touch each other’s files', () => {
  it('refuses a run id whose manifest exists, and leaves that manifest as it was', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1, ETag: '"e"' });
    await h.staging.put(`runs/${RUN}/manifest.jsonl`, 'another run’s manifest\n');
    await expect(planTransfer(baseEvent(), h.deps)).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining(`run id ${RUN}`),
    });
    expect(await h.staging.getText(`runs/${RUN}/manifest.jsonl`)).toBe('another run’s manifest\n');
    expect(await h.staging.getText(stagedTokenKey(RUN))).toBeUndefined();
  });

  it('refuses a run id whose staged token exists, removing its own manifest and keeping the token', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1, ETag: '"e"' });
    await h.staging.put(stagedTokenKey(RUN), 'another run’s token');
    await expect(planTransfer(baseEvent(), h.deps)).rejects.toMatchObject({ name: 'InvalidInput' });
    expect(await h.staging.getText(stagedTokenKey(RUN))).toBe('another run’s token');
    expect(await h.staging.getText(`runs/${RUN}/manifest.jsonl`)).toBeUndefined();
  });

  it('refuses an endpoint off the allowlist before it reads any token, in a deployment', async () => {
    const ssm = { send: jest.fn() } as unknown as SSMClient;
    const event = { ...baseEvent({ BearerToken: undefined, BearerTokenParameter: '/s3-direct-transfer/t' }) };
    await expect(
      planTransfer(
        { ...event, CredentialsEndpoint: 'https://attacker.example/s3credentials' },
        { ...h.deps, ssm, policy: DEPLOYED_RUN_POLICY },
      ),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining('CredentialsEndpoint'),
    });
    expect(ssm.send).not.toHaveBeenCalled();
    expect(h.fetcher).not.toHaveBeenCalled();
  });

  it('refuses Options.Delete in a deployment that may not delete, before any token is read or anything listed', async () => {
    const ssm = { send: jest.fn() } as unknown as SSMClient;
    const event = baseEvent({
      BearerToken: undefined,
      BearerTokenParameter: '/s3-direct-transfer/t',
      Source: { Bucket: 'src-bucket', Prefix: 'granules/' },
      Options: { Sync: true, Delete: true },
    });
    await expect(planTransfer(event, { ...h.deps, ssm, policy: DEPLOYED_RUN_POLICY })).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining('allowMirrorDeletes'),
    });
    expect(ssm.send).not.toHaveBeenCalled();
    expect(h.fetcher).not.toHaveBeenCalled();
    expect(await h.staging.list('')).toEqual([]);
    // The same event where the deployment allows deletions gets past this check (to the listing).
    await expect(
      planTransfer(event, { ...h.deps, ssm, policy: { ...DEPLOYED_RUN_POLICY, allowMirrorDeletes: true } }),
    ).rejects.not.toMatchObject({ message: expect.stringContaining('allowMirrorDeletes') });
  });

  it('refuses an inline token in a deployment that does not allow them, naming BearerTokenParameter', async () => {
    await expect(planTransfer(baseEvent(), { ...h.deps, policy: DEPLOYED_RUN_POLICY })).rejects.toMatchObject(
      {
        name: 'InvalidInput',
        message: expect.stringContaining('BearerTokenParameter'),
      },
    );
    expect(h.fetcher).not.toHaveBeenCalled();
    expect(await h.staging.list('')).toEqual([]);
  });
});
