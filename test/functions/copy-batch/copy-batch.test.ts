import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchInput, CopyBatchInput, CopyBatchOutput, ManifestItem } from '../../../shared/contracts';
import { unitObjects } from '../../../shared/units';
import type { CopyObjectParams, CopyResult } from '../../../shared/copy';
import { ErrorName, TransferError } from '../../../shared/errors';
import { FolderStagingStore } from '../../../shared/staging';
import { copyBatch, NO_PROGRESS_ROUNDS, type CopyBatchDeps } from '../../../functions/copy-batch/copy-batch';
import { resolveTokenReference } from '../../../functions/copy-batch/source-side';
import { ThroughputEstimator } from '../../../functions/copy-batch/throughput';
import { copyTuningFromEnv } from '../../../functions/copy-batch/wiring';
import { stagedTokenKey } from '../../../shared/run-files';
import { ONE_MACHINE_POLICY, DEPLOYED_RUN_POLICY } from '../../../shared/run-policy';
import { FakeDestination, FakeSource, MiB, bytes } from '../../helpers/copy-fixtures';

const STAGING = 'staging-bucket';
const batchInput: BatchInput = {
  CredentialsEndpoint: 'http://127.0.0.1:1/s3credentials',
  Token: { Kind: 'staged', Bucket: STAGING, Key: stagedTokenKey('run-1'), TokenKind: 'bearer' },
  SourceBucket: 'src',
  DestBucket: 'dst',
  Sync: false,
  RunId: 'run-1',
};

/** The keys of the objects a round left for the next one. */
const deferredKeys = (out: CopyBatchOutput): string[] =>
  unitObjects(out.Next ?? { Pack: [] }).map((d) => d.Key);

const item = (key: string, size = 1000): ManifestItem => ({
  Key: key,
  DestKey: `out/${key}`,
  Size: size,
  ETag: 'e',
});

const copied = (params: CopyObjectParams, bytesCopied = params.expected?.size ?? 0): CopyResult => ({
  status: 'COPIED',
  bytes: bytesCopied,
  sourceETag: 'e',
  verified: { bytes: true, check: 'md5-etag' },
  stats: { requests: 1, resumes: 0, refreshes: 0, bytesReceived: bytesCopied, durationMs: 1 },
});

function deps(overrides: Partial<CopyBatchDeps> = {}): CopyBatchDeps {
  return {
    source: jest.fn(async () => ({ client: {} as never })),
    destination: {} as never,
    remainingTimeMs: () => 900_000,
    copy: jest.fn(async (p: CopyObjectParams) => copied(p)),
    endpoints: ONE_MACHINE_POLICY.endpoints,
    tokens: { stagingBucket: STAGING, parameterPath: '/s3-direct-transfer/' },
    ...overrides,
  };
}

describe('copyBatch', () => {
  it('reports Plan failures as they are, carries earlier results, copies the rest in manifest order', async () => {
    const input: CopyBatchInput = {
      Items: [
        item('a'),
        { Key: 'b', DestKey: 'out/b', Error: 'SourceNotFound', Cause: 'no such key b' },
        item('c'),
      ],
      BatchInput: batchInput,
      Results: [{ Key: 'old', DestKey: 'out/old', Status: 'COPIED', Bytes: 5 }],
    };
    const d = deps();
    const out = await copyBatch(input, d);
    expect(out.Results).toEqual([
      { Key: 'old', DestKey: 'out/old', Status: 'COPIED', Bytes: 5 },
      { Key: 'a', DestKey: 'out/a', Status: 'COPIED', Bytes: 1000, Check: 'md5-etag' },
      {
        Key: 'b',
        DestKey: 'out/b',
        Status: 'FAILED',
        Bytes: 0,
        Error: 'SourceNotFound',
        Cause: 'no such key b',
      },
      { Key: 'c', DestKey: 'out/c', Status: 'COPIED', Bytes: 1000, Check: 'md5-etag' },
    ]);
    expect(out.Next).toBeUndefined();
    expect(out.Stalled).toBe(0);
    expect(out.BatchInput).toBe(batchInput);
    expect(d.copy).toHaveBeenCalledTimes(2);
    expect((d.copy as jest.Mock).mock.calls[0][0]).toMatchObject({
      source: { bucket: 'src', key: 'a' },
      destination: { bucket: 'dst', key: 'out/a' },
      expected: { size: 1000, eTag: 'e' },
      options: { sync: false },
    });
  });

  it('does not fetch credentials when nothing is left to copy', async () => {
    const d = deps();
    const out = await copyBatch(
      { Items: [{ Key: 'b', DestKey: 'b', Error: 'SourceNotFound', Cause: 'x' }], BatchInput: batchInput },
      d,
    );
    expect(out.Results).toHaveLength(1);
    expect(d.source).not.toHaveBeenCalled();
  });

  it('copies at most `concurrency` objects at once', async () => {
    let active = 0;
    let peak = 0;
    const copy = jest.fn(async (p: CopyObjectParams) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setImmediate(resolve));
      active--;
      return copied(p);
    });
    const out = await copyBatch(
      { Items: Array.from({ length: 10 }, (_, i) => item(`k${i}`)), BatchInput: batchInput },
      deps({ copy, concurrency: 3 }),
    );
    expect(peak).toBe(3);
    expect(out.Results.map((r) => r.Key)).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
  });

  it('reports per-object failures with their names instead of throwing', async () => {
    const copy = jest.fn(async (p: CopyObjectParams) => {
      if (p.source.key === 'bad') throw new TransferError(ErrorName.SourceChanged, 's3://src/bad changed');
      if (p.source.key === 'weird') throw new Error('something odd');
      return copied(p);
    });
    const out = await copyBatch(
      { Items: [item('ok'), item('bad'), item('weird')], BatchInput: batchInput },
      deps({ copy }),
    );
    expect(out.Results.map((r) => [r.Key, r.Status, r.Error])).toEqual([
      ['ok', 'COPIED', undefined],
      ['bad', 'FAILED', 'SourceChanged'],
      ['weird', 'FAILED', 'CopyFailed'],
    ]);
    expect(out.Results[1].Cause).toBe('s3://src/bad changed');
  });

  it('throws systemic failures from the source side before copying anything', async () => {
    const d = deps({
      source: jest.fn(async () => {
        throw new TransferError(ErrorName.AuthenticationFailed, 'the endpoint rejected the token');
      }),
    });
    await expect(copyBatch({ Items: [item('a')], BatchInput: batchInput }, d)).rejects.toMatchObject({
      name: 'AuthenticationFailed',
    });
    expect(d.copy).not.toHaveBeenCalled();
  });

  it('returns what it finished before a systemic failure, and throws it when it finished nothing', async () => {
    const copy = jest.fn(async (p: CopyObjectParams) => {
      if (p.source.key === 'b')
        throw new TransferError(ErrorName.CredentialsEndpointError, 'endpoint down (HTTP 503)');
      return copied(p);
    });
    // 'a' was copied in this invocation: its credit comes back, with the rest of the unit.
    const first = await copyBatch(
      { Items: [item('a'), item('b'), item('c'), item('d')], BatchInput: batchInput },
      deps({ copy, concurrency: 1 }),
    );
    expect(copy.mock.calls.map((c) => c[0].source.key)).toEqual(['a', 'b']);
    expect(first.Results.map((r) => [r.Key, r.Status])).toEqual([['a', 'COPIED']]);
    expect(deferredKeys(first)).toEqual(['b', 'c', 'd']);
    expect(first.Stalled).toBe(0);
    // The next round meets the failure before finishing anything: thrown, for Retry/Catch.
    await expect(
      copyBatch(
        { Unit: first.Next, BatchInput: batchInput, Results: first.Results, Stalled: first.Stalled },
        deps({ copy, concurrency: 1 }),
      ),
    ).rejects.toMatchObject({ name: 'CredentialsEndpointError' });
    expect(copy.mock.calls.map((c) => c[0].source.key)).toEqual(['a', 'b', 'b']);
  });

  it('passes Sync and the copy options through', async () => {
    const d = deps({ copyOptions: { partSize: 8 * MiB } });
    await copyBatch({ Items: [item('a')], BatchInput: { ...batchInput, Sync: true } }, d);
    expect((d.copy as jest.Mock).mock.calls[0][0].options).toMatchObject({ sync: true, partSize: 8 * MiB });
  });

  it('fails items outside the configured destinations without copying them', async () => {
    const d = deps({
      allowedDestinations: [{ bucketName: 'other' }, { bucketName: 'dst', prefix: 'keep/' }],
    });
    const out = await copyBatch(
      { Items: [item('a'), { Key: 'k', DestKey: 'keep/k', Size: 1 }], BatchInput: batchInput },
      d,
    );
    expect(out.Results[0]).toMatchObject({ Status: 'FAILED', Error: 'DestinationAccessDenied' });
    expect(out.Results[1]).toMatchObject({ Status: 'COPIED' });
  });

  it('rejects a malformed input with InvalidInput', async () => {
    await expect(copyBatch({ Items: 'x' } as unknown as CopyBatchInput, deps())).rejects.toMatchObject({
      name: 'InvalidInput',
    });
    await expect(
      copyBatch({ Items: [], BatchInput: { ...batchInput, DestBucket: '' } }, deps()),
    ).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('DestBucket') });
  });
});

describe('copyBatch: collection files', () => {
  const sha = 'ab'.repeat(32);
  const file = (key: string, extra: Partial<ManifestItem> = {}): ManifestItem => ({
    ...item(key),
    Bucket: 'other-bucket',
    GranuleUR: `G-${key}`,
    Checksum: { Value: sha, Algorithm: 'SHA-256' },
    ...extra,
  });

  it('reads each file from its own bucket with its published checksum, and reports its GranuleUR', async () => {
    const d = deps();
    const out = await copyBatch(
      {
        Unit: { Pack: [file('a'), file('b', { Error: 'SourceNotFound', Cause: 'gone' }), item('c')] },
        BatchInput: batchInput,
      },
      d,
    );
    const calls = (d.copy as jest.Mock).mock.calls.map(([p]: [CopyObjectParams]) => p);
    expect(calls.map((p) => [p.source.bucket, p.published])).toEqual([
      ['other-bucket', { algorithm: 'SHA-256', value: sha }],
      ['src', undefined],
    ]);
    expect(out.Results.map((r) => [r.Key, r.Status, r.GranuleUR])).toEqual([
      ['a', 'COPIED', 'G-a'],
      ['b', 'FAILED', 'G-b'],
      ['c', 'COPIED', undefined],
    ]);
  });

  it.each<[string, Partial<ManifestItem>]>([
    ['a Bucket that is not a bucket name', { Bucket: 'Not_A/Bucket' }],
    [
      'a checksum of another length than its algorithm',
      { Checksum: { Value: 'abcd', Algorithm: 'SHA-256' } },
    ],
    ['an algorithm it cannot verify', { Checksum: { Value: sha, Algorithm: 'SHA-384' as never } }],
    ['an upper-case value', { Checksum: { Value: sha.toUpperCase(), Algorithm: 'SHA-256' } }],
  ])('refuses %s with InvalidInput before copying anything', async (_what, extra) => {
    const d = deps();
    await expect(copyBatch({ Unit: file('a', extra), BatchInput: batchInput }, d)).rejects.toMatchObject({
      name: 'InvalidInput',
    });
    expect(d.source).not.toHaveBeenCalled();
  });
});

describe('copyBatch: the Lambda deadline', () => {
  it('defers what would not finish in the time left, in manifest order', async () => {
    let remaining = 900_000;
    // Each copy takes 100 s of the invocation's time.
    const copy = jest.fn(async (p: CopyObjectParams) => {
      remaining -= 100_000;
      return copied(p);
    });
    const items = Array.from({ length: 12 }, (_, i) => item(`k${i}`, 100 * MiB));
    const out = await copyBatch(
      { Items: items, BatchInput: batchInput },
      deps({
        copy,
        concurrency: 1,
        remainingTimeMs: () => remaining,
        now: () => 900_000 - remaining,
        throughput: new ThroughputEstimator(),
      }),
    );
    // Measured 100 MiB per 100 s: the next needs 60 s margin + 100 s x 1.5 + 1 s = 211 s. Started with
    // 900 (fresh), 800, ..., 300 s left; 200 s left is not enough.
    expect(out.Results.every((r) => r.Status === 'COPIED')).toBe(true);
    expect(out.Results.map((r) => r.Key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
    expect(deferredKeys(out)).toEqual(['k7', 'k8', 'k9', 'k10', 'k11']);
  });

  it('learns throughput from finished copies', () => {
    const t = new ThroughputEstimator(10 * MiB, 1, 0);
    expect(t.estimateMs(100 * MiB)).toBe(10_000);
    t.record(200 * MiB, 2_000);
    expect(t.estimateMs(100 * MiB)).toBe(1_000);
  });

  it('defers everything when a later round starts with too little time for the first object', async () => {
    let remaining = 900_000;
    const copy = jest.fn(async (p: CopyObjectParams) => {
      remaining = 30_000;
      return copied(p);
    });
    const out = await copyBatch(
      { Items: [item('a'), item('b'), item('c')], BatchInput: batchInput },
      deps({ copy, concurrency: 1, remainingTimeMs: () => remaining }),
    );
    expect(out.Results.map((r) => r.Key)).toEqual(['a']);
    expect(deferredKeys(out)).toEqual(['b', 'c']);
  });

  describe('with a watchdog', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('aborts copies still running near the deadline and defers them (the Lambda never dies mid-object)', async () => {
      let remaining = 900_000;
      const aborted: string[] = [];
      const copy = jest.fn(
        (p: CopyObjectParams) =>
          new Promise<CopyResult>((resolve, reject) => {
            if (p.source.key === 'quick') {
              remaining = 200_000; // the first object used most of the invocation
              resolve(copied(p));
              return;
            }
            p.options!.signal!.addEventListener('abort', () => {
              aborted.push(p.source.key);
              reject(Object.assign(new Error('copy aborted'), { name: 'AbortError' }));
            });
          }),
      );
      const running = copyBatch(
        { Items: [item('quick'), item('slow', 10)], BatchInput: batchInput },
        deps({ copy, concurrency: 1, remainingTimeMs: () => remaining }),
      );
      await jest.advanceTimersByTimeAsync(5_000);
      expect(aborted).toEqual([]);
      remaining = 9_000;
      await jest.advanceTimersByTimeAsync(1_000);
      const out = await running;
      expect(aborted).toEqual(['slow']);
      expect(out.Results.map((r) => r.Key)).toEqual(['quick']);
      expect(deferredKeys(out)).toEqual(['slow']);
    });

    it('fails with NoProgress (not defers forever) an object that never fits in a whole invocation', async () => {
      let remaining = 900_000;
      const copy = jest.fn(
        (p: CopyObjectParams) =>
          new Promise<CopyResult>((_resolve, reject) => {
            p.options!.signal!.addEventListener('abort', () =>
              reject(Object.assign(new Error('copy aborted'), { name: 'AbortError' })),
            );
          }),
      );
      let input: CopyBatchInput = { Unit: item('huge', 5000 * 1024 * MiB), BatchInput: batchInput };
      const stalled: number[] = [];
      let out: CopyBatchOutput | undefined;
      for (let round = 0; round < NO_PROGRESS_ROUNDS; round++) {
        remaining = 900_000;
        const running = copyBatch(input, deps({ copy, remainingTimeMs: () => remaining }));
        await jest.advanceTimersByTimeAsync(1_000);
        remaining = 5_000;
        await jest.advanceTimersByTimeAsync(1_000);
        out = await running;
        stalled.push(out.Stalled);
        if (out.Next)
          input = { Unit: out.Next, BatchInput: batchInput, Results: out.Results, Stalled: out.Stalled };
      }
      expect(stalled).toEqual([1, 2, 3]);
      expect(out!.Next).toBeUndefined();
      expect(out!.Results).toHaveLength(1);
      expect(out!.Results[0]).toMatchObject({
        Key: 'huge',
        Status: 'FAILED',
        Error: 'NoProgress',
        Cause: expect.stringContaining('did not finish in 3 invocations in a row'),
      });
    });
  });
});

describe('copyBatch distrusts its input', () => {
  const attempt = async (
    batch: Partial<BatchInput>,
    overrides: Partial<CopyBatchDeps> = {},
  ): Promise<unknown> => {
    const d = deps(overrides);
    const error = await copyBatch({ Items: [item('a')], BatchInput: { ...batchInput, ...batch } }, d).catch(
      (e: unknown) => e,
    );
    // Refused before the token is read: the source side (which resolves it) is never built.
    expect(d.source).not.toHaveBeenCalled();
    expect(d.copy).not.toHaveBeenCalled();
    return error;
  };

  it.each<[string, Partial<BatchInput>, string]>([
    [
      "another run's staged token",
      { Token: { Kind: 'staged', Bucket: STAGING, Key: stagedTokenKey('other-run'), TokenKind: 'bearer' } },
      "its own run's",
    ],
    [
      'a staged token in another bucket',
      { Token: { Kind: 'staged', Bucket: 'elsewhere', Key: stagedTokenKey('run-1'), TokenKind: 'bearer' } },
      "its own run's",
    ],
    [
      'a token inline in the input',
      { Token: { Kind: 'inline', TokenKind: 'bearer', Value: 'stolen-token-value' } as never },
      'staged token or a parameter',
    ],
    [
      'a parameter outside the token path',
      { Token: { Kind: 'bearer-parameter', Parameter: '/other-team/token' } },
      'under /s3-direct-transfer/',
    ],
  ])('refuses %s with InvalidInput', async (_what, batch, fragment) => {
    const error = await attempt(batch);
    expect(error).toMatchObject({ name: 'InvalidInput' });
    expect((error as Error).message).toContain(fragment);
  });

  it.each([
    'https://attacker.example/s3credentials',
    'http://127.0.0.1:9001/2018-06-01/runtime/invocation/next',
    'https://169.254.169.254/latest',
    'https://data.asf.alaska.edu.attacker.example/s3credentials',
  ])('refuses the endpoint %s in a deployed Lambda', async (endpoint) => {
    const error = await attempt(
      { CredentialsEndpoint: endpoint },
      { endpoints: DEPLOYED_RUN_POLICY.endpoints },
    );
    expect(error).toMatchObject({ name: 'InvalidInput' });
    expect((error as Error).message).toContain('BatchInput.CredentialsEndpoint');
  });

  it('accepts an archive endpoint and a parameter under the path', async () => {
    const d = deps({ endpoints: DEPLOYED_RUN_POLICY.endpoints });
    const out = await copyBatch(
      {
        Items: [item('a')],
        BatchInput: {
          ...batchInput,
          CredentialsEndpoint: 'https://data.lpdaac.earthdatacloud.nasa.gov/s3credentials',
          Token: { Kind: 'bearer-parameter', Parameter: '/s3-direct-transfer/team-token' },
        },
      },
      d,
    );
    expect(out.Results).toEqual([expect.objectContaining({ Key: 'a', Status: 'COPIED' })]);
  });
});

describe('copyBatch with the real engine', () => {
  it('copies through copyObject with the given clients', async () => {
    const source = new FakeSource();
    const destination = new FakeDestination();
    const data = bytes(6 * MiB, 40);
    source.put('a b+c', data);
    try {
      const out = await copyBatch(
        {
          Items: [{ Key: 'a b+c', DestKey: 'x/a b+c', Size: data.length }, item('missing')],
          BatchInput: batchInput,
        },
        {
          ...deps(),
          copy: undefined,
          source: async () => ({ client: source.client }),
          destination: destination.client,
          copyOptions: { partSize: 5 * MiB },
        },
      );
      expect(out.Results).toEqual([
        { Key: 'a b+c', DestKey: 'x/a b+c', Status: 'COPIED', Bytes: data.length, Check: 'md5-etag' },
        expect.objectContaining({ Key: 'missing', Status: 'FAILED', Error: 'SourceNotFound' }),
      ]);
      expect(destination.objects.get('dst/x/a b+c')!.data.equals(data)).toBe(true);
    } finally {
      source.mock.restore();
      destination.mock.restore();
    }
  });
});

describe('token references and environment', () => {
  it('reads staged tokens; a missing staged token is a TokenParameterError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'copy-token-'));
    try {
      const store = new FolderStagingStore(dir, 'staging');
      await store.put(stagedTokenKey('r'), 'Bearer abcdefgh12345\n');
      const staging = (): FolderStagingStore => store;
      expect(
        await resolveTokenReference(
          { Kind: 'staged', Bucket: 'staging', Key: stagedTokenKey('r'), TokenKind: 'bearer' },
          { staging },
        ),
      ).toEqual({ kind: 'bearer', token: 'abcdefgh12345' });
      await expect(
        resolveTokenReference(
          { Kind: 'staged', Bucket: 'staging', Key: stagedTokenKey('x'), TokenKind: 'bearer' },
          { staging },
        ),
      ).rejects.toMatchObject({ name: 'TokenParameterError' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds engine tuning and the allowed destinations from the environment', () => {
    expect(
      copyTuningFromEnv({
        COPY_PART_SIZE_MIB: '32',
        COPY_READ_AHEAD: '4',
        COPY_CONCURRENCY: '6',
        DESTINATION_BUCKETS: 'dst, other/keep/',
      }),
    ).toEqual({
      concurrency: 6,
      copyOptions: { partSize: 32 * MiB, readAhead: 4 },
      allowedDestinations: ['dst', 'other/keep/'],
    });
    expect(copyTuningFromEnv({})).toEqual({ copyOptions: {} });
    expect(() => copyTuningFromEnv({ COPY_QUEUE_SIZE: '0' })).toThrow('COPY_QUEUE_SIZE');
  });
});
