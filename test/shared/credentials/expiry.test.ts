import {
  EXPIRY_SKEW_MS,
  isCredentialExpiryError,
  withCredentialRefresh,
} from '../../../shared/credentials/expiry';
import { RefreshingCredentials } from '../../../shared/credentials/refreshing';
import type { TeaCredentials } from '../../../shared/credentials/tea-client';

const EXPIRES_AT = 1_700_000_000_000;

describe('isCredentialExpiryError', () => {
  it.each([
    [{ name: 'ExpiredToken' }],
    [{ name: 'InvalidToken' }],
    [{ name: 'TokenRefreshRequired' }],
    [{ name: 'ExpiredTokenException' }],
    [{ name: 'UnknownError', Code: 'ExpiredToken' }],
    [{ name: 'Error', code: 'ExpiredToken' }],
  ])('%j always means expiry', (error) => {
    expect(isCredentialExpiryError(error, 0, undefined)).toBe(true);
    expect(isCredentialExpiryError(error, EXPIRES_AT - 3_600_000, EXPIRES_AT)).toBe(true);
  });

  const ambiguous = [
    { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } },
    { name: 'UnknownError', Code: 'AccessDenied', $metadata: { httpStatusCode: 403 } },
    { name: 'InvalidAccessKeyId' },
    { name: 'Forbidden', $metadata: { httpStatusCode: 403 } },
    { name: 'UnknownError', $metadata: { httpStatusCode: 403 } },
  ];

  it.each(ambiguous.map((e) => [e]))('%j means expiry only at or near the cached expiry', (error) => {
    expect(isCredentialExpiryError(error, EXPIRES_AT, EXPIRES_AT)).toBe(true);
    expect(isCredentialExpiryError(error, EXPIRES_AT + 60_000, EXPIRES_AT)).toBe(true);
    expect(isCredentialExpiryError(error, EXPIRES_AT - EXPIRY_SKEW_MS, EXPIRES_AT)).toBe(true);
    expect(isCredentialExpiryError(error, EXPIRES_AT - EXPIRY_SKEW_MS - 1, EXPIRES_AT)).toBe(false);
    expect(isCredentialExpiryError(error, EXPIRES_AT + 60_000, undefined)).toBe(false);
  });

  it.each([
    [{ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }],
    [{ name: 'SlowDown', $metadata: { httpStatusCode: 503 } }],
    [{ name: 'UnknownError', $metadata: { httpStatusCode: 500 } }],
    [{ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } }],
    [new Error('socket hang up')],
    [null],
    ['ExpiredToken'],
  ])('%j is not expiry, even after the expiry time', (error) => {
    expect(isCredentialExpiryError(error, EXPIRES_AT + 60_000, EXPIRES_AT)).toBe(false);
  });
});

/** RefreshingCredentials over a counting fetcher and a controlled clock. */
function credentials(lifetimeMs = 3_600_000) {
  const clock = { now: EXPIRES_AT - lifetimeMs };
  const fetcher = jest.fn(async (): Promise<TeaCredentials> => ({
    accessKeyId: `ASIAKEY${fetcher.mock.calls.length}`,
    secretAccessKey: 's',
    sessionToken: 't',
    expiration: new Date(clock.now + lifetimeMs),
  }));
  const rc = new RefreshingCredentials(
    {
      endpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
      auth: { kind: 'bearer', token: 'expiry-token-123456' },
    },
    { now: () => clock.now, fetcher },
  );
  return { clock, fetcher, rc };
}

describe('withCredentialRefresh', () => {
  it('ExpiredToken the first time: exactly one refresh, then a successful retry with new credentials', async () => {
    const { fetcher, rc } = credentials();
    const used: string[] = [];
    const operation = jest.fn(async () => {
      const { accessKeyId } = await rc.provider();
      used.push(accessKeyId);
      if (used.length === 1)
        throw Object.assign(new Error('The provided token has expired.'), { name: 'ExpiredToken' });
      return 'ok';
    });
    await expect(withCredentialRefresh(rc, operation)).resolves.toBe('ok');
    expect(operation).toHaveBeenCalledTimes(2);
    expect(used).toEqual(['ASIAKEY1', 'ASIAKEY2']);
    expect(rc.refreshes).toBe(1);
    expect(fetcher).toHaveBeenCalledTimes(2);
  });

  it('Ceph-style UnknownError with Code AccessDenied after expiry is refreshed and retried', async () => {
    const { clock, rc } = credentials();
    await rc.provider();
    clock.now = EXPIRES_AT + 1000;
    let calls = 0;
    const result = await withCredentialRefresh(rc, async () => {
      await rc.provider();
      if (calls++ === 0) {
        throw Object.assign(new Error('UnknownError'), {
          name: 'UnknownError',
          Code: 'AccessDenied',
          $metadata: { httpStatusCode: 403 },
        });
      }
      return calls;
    });
    expect(result).toBe(2);
    expect(rc.refreshes).toBe(1);
  });

  it('a real denial right after a refresh is retried once at most, then thrown', async () => {
    const { clock, rc } = credentials();
    await rc.provider();
    clock.now = EXPIRES_AT + 1000;
    const denied = Object.assign(new Error('Access Denied'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    const operation = jest.fn(async () => {
      await rc.provider();
      throw denied;
    });
    await expect(withCredentialRefresh(rc, operation)).rejects.toBe(denied);
    expect(operation).toHaveBeenCalledTimes(2);
    expect(rc.refreshes).toBe(1);
  });

  it('an AccessDenied long before expiry is a real denial: no refresh, no retry', async () => {
    const { rc } = credentials();
    await rc.provider();
    const denied = Object.assign(new Error('Access Denied'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    const operation = jest.fn(async () => {
      throw denied;
    });
    await expect(withCredentialRefresh(rc, operation)).rejects.toBe(denied);
    expect(operation).toHaveBeenCalledTimes(1);
    expect(rc.endpointCalls).toBe(1);
  });

  it('is bounded: an operation that keeps failing is tried 1 + maxRefreshes times', async () => {
    const { rc } = credentials();
    const expired = Object.assign(new Error('expired'), { name: 'ExpiredToken' });
    const operation = jest.fn(async () => {
      await rc.provider();
      throw expired;
    });
    await expect(withCredentialRefresh(rc, operation)).rejects.toBe(expired);
    expect(operation).toHaveBeenCalledTimes(3);
    expect(rc.refreshes).toBe(2);
    operation.mockClear();
    await expect(withCredentialRefresh(rc, operation, { maxRefreshes: 0 })).rejects.toBe(expired);
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('parallel operations failing on the same expired credentials cause one refresh', async () => {
    const { rc } = credentials();
    await rc.provider();
    const results = await Promise.all(
      Array.from({ length: 16 }, () => {
        let first = true;
        return withCredentialRefresh(rc, async () => {
          const { accessKeyId } = await rc.provider();
          if (first) {
            first = false;
            // Let every part start (and fail) before any refresh completes.
            await new Promise((resolve) => setImmediate(resolve));
            throw Object.assign(new Error('expired'), { name: 'ExpiredToken' });
          }
          return accessKeyId;
        });
      }),
    );
    expect(new Set(results)).toEqual(new Set(['ASIAKEY2']));
    expect(rc.refreshes).toBe(1);
    expect(rc.endpointCalls).toBe(2);
  });

  it('a refresh failure surfaces instead of the expiry error', async () => {
    const { fetcher, rc } = credentials();
    await rc.provider();
    fetcher.mockRejectedValueOnce(Object.assign(new Error('rejected'), { name: 'AuthenticationFailed' }));
    await expect(
      withCredentialRefresh(rc, async () => {
        throw Object.assign(new Error('expired'), { name: 'ExpiredToken' });
      }),
    ).rejects.toMatchObject({ name: 'AuthenticationFailed' });
  });
});
