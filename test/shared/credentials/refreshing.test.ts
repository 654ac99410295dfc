import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  RefreshingCredentials,
  clearRefreshingCredentialsCache,
  getRefreshingCredentials,
  type RefreshingCredentialsOptions,
} from '../../../shared/credentials/refreshing';
import type { TeaCredentials, TeaRequest } from '../../../shared/credentials/tea-client';
import { ErrorName, TransferError } from '../../../shared/errors';

const MINUTE = 60_000;
const REQUEST: TeaRequest = {
  endpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
  auth: { kind: 'bearer', token: 'refreshing-token-0123456789' },
};

/** A fetcher minting credentials that live `lifetimeMs` from the controlled clock; keys are numbered. */
function harness(lifetimeMs: number, extra: RefreshingCredentialsOptions = {}) {
  const clock = { now: 1_700_000_000_000 };
  const fetcher = jest.fn(async (): Promise<TeaCredentials> => {
    const n = fetcher.mock.calls.length;
    return {
      accessKeyId: `ASIAKEY${n}`,
      secretAccessKey: `secret-${n}`,
      sessionToken: `session-${n}`,
      expiration: new Date(clock.now + lifetimeMs),
    };
  });
  const rc = new RefreshingCredentials(REQUEST, { now: () => clock.now, fetcher, ...extra });
  return { clock, fetcher, rc };
}

/** A promise resolved from outside. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('RefreshingCredentials caching and margins', () => {
  it('fetches once and answers from the cache until the margin', async () => {
    const { clock, fetcher, rc } = harness(60 * MINUTE);
    expect(rc.expiresAt).toBeUndefined();
    const first = await rc.provider();
    expect(first).toMatchObject({
      accessKeyId: 'ASIAKEY1',
      secretAccessKey: 'secret-1',
      sessionToken: 'session-1',
    });
    expect(rc.expiresAt).toBe(clock.now + 60 * MINUTE);
    clock.now += 54 * MINUTE;
    for (let i = 0; i < 100; i++) expect((await rc.provider()).accessKeyId).toBe('ASIAKEY1');
    expect(fetcher).toHaveBeenCalledTimes(1);
    clock.now += MINUTE; // 5 minutes left: the default margin.
    expect((await rc.provider()).accessKeyId).toBe('ASIAKEY2');
    expect(rc.endpointCalls).toBe(2);
    expect(rc.refreshes).toBe(1);
  });

  it('scales the margin to 20% of a 15-minute lifetime, and stays cheap inside the SDK window', async () => {
    const { clock, fetcher, rc } = harness(15 * MINUTE);
    await rc.provider();
    const expiresAt = rc.expiresAt!;
    // 4 minutes left: inside the SDK's 5-minute window, outside our 3-minute margin.
    clock.now = expiresAt - 4 * MINUTE;
    for (let i = 0; i < 1000; i++) await rc.provider();
    expect(fetcher).toHaveBeenCalledTimes(1);
    clock.now = expiresAt - 3 * MINUTE - 1;
    await rc.provider();
    expect(fetcher).toHaveBeenCalledTimes(1);
    clock.now = expiresAt - 3 * MINUTE;
    expect((await rc.provider()).accessKeyId).toBe('ASIAKEY2');
    expect(fetcher).toHaveBeenCalledTimes(2);
  });

  it('refreshes 2-second credentials once inside their 0.4 s margin, not before', async () => {
    const { clock, fetcher, rc } = harness(2000);
    await rc.provider();
    clock.now += 1599;
    expect((await rc.provider()).accessKeyId).toBe('ASIAKEY1');
    clock.now += 1;
    expect((await rc.provider()).accessKeyId).toBe('ASIAKEY2');
    expect(fetcher).toHaveBeenCalledTimes(2);
  });

  it('honours a configured margin smaller than the fraction', async () => {
    const { clock, fetcher, rc } = harness(60 * MINUTE, { refreshMarginMs: 30_000 });
    await rc.provider();
    clock.now = rc.expiresAt! - 30_001;
    await rc.provider();
    expect(fetcher).toHaveBeenCalledTimes(1);
    clock.now += 1;
    await rc.provider();
    expect(fetcher).toHaveBeenCalledTimes(2);
  });

  it('reports to the SDK an expiration at most 5 minutes ahead, so that it keeps asking', async () => {
    const { clock, rc } = harness(60 * MINUTE);
    const identity = await rc.provider();
    expect(identity.expiration!.getTime()).toBe(clock.now + 5 * MINUTE);
    clock.now = rc.expiresAt! - 6 * MINUTE;
    expect((await rc.provider()).expiration!.getTime()).toBe(clock.now + 5 * MINUTE);
  });

  it('rejects credentials that are already expired by the local clock', async () => {
    const { rc } = harness(-1000);
    await expect(rc.provider()).rejects.toMatchObject({
      name: ErrorName.CredentialsEndpointError,
      message: expect.stringContaining('check the system clock'),
    });
  });
});

describe('RefreshingCredentials single flight and invalidation', () => {
  it('50 concurrent callers share one fetch', async () => {
    const gate = deferred<void>();
    const { fetcher, rc } = harness(60 * MINUTE);
    fetcher.mockImplementationOnce(async () => {
      await gate.promise;
      return {
        accessKeyId: 'ASIASLOW',
        secretAccessKey: 's',
        sessionToken: 't',
        expiration: new Date(Date.UTC(2100, 0)),
      };
    });
    const callers = Array.from({ length: 50 }, () => rc.provider());
    gate.resolve();
    const results = await Promise.all(callers);
    expect(fetcher).toHaveBeenCalledTimes(1);
    expect(rc.endpointCalls).toBe(1);
    expect(new Set(results.map((r) => r.accessKeyId))).toEqual(new Set(['ASIASLOW']));
  });

  it('invalidate() forces the next call to fetch', async () => {
    const { fetcher, rc } = harness(60 * MINUTE);
    await rc.provider();
    rc.invalidate();
    expect((await rc.provider()).accessKeyId).toBe('ASIAKEY2');
    expect(fetcher).toHaveBeenCalledTimes(2);
    expect(rc.refreshes).toBe(1);
    expect(rc.generation).toBe(2);
  });

  it('invalidate(generation) is ignored once those credentials were replaced', async () => {
    const { fetcher, rc } = harness(60 * MINUTE);
    await rc.provider();
    const stale = rc.generation;
    rc.invalidate(stale);
    await rc.provider();
    rc.invalidate(stale);
    await rc.provider();
    expect(fetcher).toHaveBeenCalledTimes(2);
  });

  it('a failed fetch is shared by its waiters and the next call tries again', async () => {
    const fetcher = jest
      .fn<Promise<TeaCredentials>, [TeaRequest]>()
      .mockRejectedValueOnce(new TransferError(ErrorName.CredentialsEndpointError, 'down'))
      .mockResolvedValueOnce({
        accessKeyId: 'ASIAOK',
        secretAccessKey: 's',
        sessionToken: 't',
        expiration: new Date(10 * MINUTE),
      });
    const rc = new RefreshingCredentials(REQUEST, { now: () => 0, fetcher });
    const results = await Promise.allSettled([rc.provider(), rc.provider(), rc.provider()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((await rc.provider()).accessKeyId).toBe('ASIAOK');
    expect(fetcher).toHaveBeenCalledTimes(2);
  });

  it('keeps serving still-valid credentials when a proactive refresh fails, with a cooldown', async () => {
    const { clock, fetcher, rc } = harness(60 * MINUTE, { failureCooldownMs: 10_000 });
    await rc.provider();
    fetcher.mockRejectedValueOnce(new TransferError(ErrorName.CredentialsEndpointError, 'endpoint down'));
    clock.now = rc.expiresAt! - 4 * MINUTE;
    expect((await rc.provider()).accessKeyId).toBe('ASIAKEY1');
    expect(fetcher).toHaveBeenCalledTimes(2);
    clock.now += 9_999;
    expect((await rc.provider()).accessKeyId).toBe('ASIAKEY1');
    expect(fetcher).toHaveBeenCalledTimes(2);
    clock.now += 1;
    expect((await rc.provider()).accessKeyId).toBe('ASIAKEY3');
    expect(fetcher).toHaveBeenCalledTimes(3);
  });

  it('throws when the refresh fails after expiry or after an invalidation', async () => {
    const { clock, fetcher, rc } = harness(60 * MINUTE);
    await rc.provider();
    fetcher.mockRejectedValue(new TransferError(ErrorName.AuthenticationFailed, 'token expired'));
    rc.invalidate();
    await expect(rc.provider()).rejects.toMatchObject({ name: ErrorName.AuthenticationFailed });
    clock.now = rc.expiresAt!;
    await expect(rc.provider()).rejects.toMatchObject({ name: ErrorName.AuthenticationFailed });
  });
});

describe('RefreshingCredentials with an S3Client', () => {
  /** An S3Client whose requests stop right after signing; returns the access key ids they were signed with. */
  function signingClient(rc: RefreshingCredentials) {
    const signedWith: string[] = [];
    const s3 = new S3Client({ region: 'us-west-2', credentials: rc.provider, maxAttempts: 1 });
    s3.middlewareStack.add(
      () => async (args) => {
        const headers = (args.request as { headers: Record<string, string> }).headers;
        signedWith.push(/Credential=([^/]+)\//.exec(headers.authorization)?.[1] ?? 'unsigned');
        throw Object.assign(new Error('stop after signing'), { name: 'StopHere' });
      },
      { step: 'finalizeRequest', priority: 'low', name: 'captureSignature' },
    );
    const send = () =>
      s3.send(new ListObjectsV2Command({ Bucket: 'b' })).catch((e: Error) => expect(e.name).toBe('StopHere'));
    return { signedWith, send };
  }

  it('an invalidate() reaches the SDK client at once', async () => {
    const { fetcher, rc } = harness(60 * MINUTE);
    const { signedWith, send } = signingClient(rc);
    await send();
    await send();
    rc.invalidate();
    await send();
    expect(signedWith).toEqual(['ASIAKEY1', 'ASIAKEY1', 'ASIAKEY2']);
    expect(fetcher).toHaveBeenCalledTimes(2);
  });
});

describe('getRefreshingCredentials', () => {
  beforeEach(() => clearRefreshingCredentialsCache());

  it('reuses one instance per endpoint, token and app name', () => {
    const a = getRefreshingCredentials(REQUEST);
    expect(
      getRefreshingCredentials({
        ...REQUEST,
        auth: { kind: 'bearer', token: 'refreshing-token-0123456789' },
      }),
    ).toBe(a);
    expect(getRefreshingCredentials({ ...REQUEST, appName: 'x' })).not.toBe(a);
    expect(
      getRefreshingCredentials({ ...REQUEST, auth: { kind: 'bearer', token: 'another-token' } }),
    ).not.toBe(a);
    expect(
      getRefreshingCredentials({ ...REQUEST, auth: { kind: 'cookie', jwt: 'refreshing-token-0123456789' } }),
    ).not.toBe(a);
    expect(
      getRefreshingCredentials({ ...REQUEST, endpoint: 'https://other.example.org/s3credentials' }),
    ).not.toBe(a);
  });

  it('evicts the least recently used instance beyond 32', () => {
    const first = getRefreshingCredentials({ ...REQUEST, appName: 'app0' });
    const second = getRefreshingCredentials({ ...REQUEST, appName: 'app1' });
    for (let i = 2; i < 32; i++) getRefreshingCredentials({ ...REQUEST, appName: `app${i}` });
    expect(getRefreshingCredentials({ ...REQUEST, appName: 'app0' })).toBe(first); // now most recent
    getRefreshingCredentials({ ...REQUEST, appName: 'app32' }); // evicts app1
    expect(getRefreshingCredentials({ ...REQUEST, appName: 'app0' })).toBe(first);
    expect(getRefreshingCredentials({ ...REQUEST, appName: 'app1' })).not.toBe(second);
  });
});
