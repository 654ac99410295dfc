import { inspect } from 'node:util';
import { startTeaEmulator, type TeaEmulator } from '../../../emulators/tea/emulator';
import {
  RefreshingCredentials,
  fetchTeaCredentials,
  withCredentialRefresh,
  type TeaFetchOptions,
  type TeaRequest,
} from '../../../shared/credentials';
import { ErrorName } from '../../../shared/errors';
import { clearSecrets, createLogger } from '../../../shared/log';

const TOKEN = 'edl-token-integration-7f3a9c2e51';
const COOKIE = 'eyJ0eXAiOiJKV1QifQ.eyJ1aWQiOiJhbGljZSJ9.integration-cookie-sig';
const EULA_TOKEN = 'edl-token-needs-eula-8c1d2e3f';
const FORBIDDEN_TOKEN = 'edl-token-other-daac-4b5c6d7e';

let emulator: TeaEmulator;
/** Fast retries: real HTTP, tiny backoff. */
const FAST: TeaFetchOptions = { baseDelayMs: 1, maxDelayMs: 5 };

beforeEach(async () => {
  emulator = await startTeaEmulator({
    tokens: [TOKEN],
    cookies: [COOKIE],
    eulaTokens: [EULA_TOKEN],
    forbiddenTokens: [FORBIDDEN_TOKEN],
  });
});

afterEach(async () => {
  await emulator.close();
  clearSecrets();
});

const request = (token = TOKEN): TeaRequest => ({ endpoint: emulator.url, auth: { kind: 'bearer', token } });

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** Everything about an error that could end up in a log line, a report or a state output. */
function everything(error: Error): string {
  return [
    error.message,
    error.stack,
    inspect(error, { depth: 10 }),
    JSON.stringify(error),
    String(error.cause),
  ].join('\n');
}

describe('fetchTeaCredentials against the emulator', () => {
  it.each(['python', 'iso'] as const)('reads %s expirations', async (format) => {
    emulator.expirationFormat = format;
    emulator.lifetimeSeconds = 900;
    const before = Date.now();
    const credentials = await fetchTeaCredentials(request(), FAST);
    expect(credentials.accessKeyId).toMatch(/^ASIA/);
    expect(credentials.secretAccessKey).toHaveLength(40);
    expect(credentials.sessionToken.length).toBeGreaterThan(100);
    expect(credentials.expiration.getTime()).toBeGreaterThan(before + 898_000);
    expect(credentials.expiration.getTime()).toBeLessThanOrEqual(Date.now() + 900_000);
  });

  it('authenticates with the asf-urs cookie and sends app-name', async () => {
    await fetchTeaCredentials(
      { endpoint: emulator.url, auth: { kind: 'cookie', jwt: COOKIE }, appName: 'my-app' },
      FAST,
    );
    expect(emulator.issued).toBe(1);
    expect(emulator.sessionNames).toEqual(['cookie-user1@my-app']);
  });

  it.each([302, 307] as const)(
    'a %i to Earthdata Login is AuthenticationFailed and the login page is never fetched',
    async (redirectStatus) => {
      await emulator.close();
      emulator = await startTeaEmulator({ tokens: [TOKEN], redirectStatus });
      const error = await failure(fetchTeaCredentials(request('edl-token-revoked-000000'), FAST));
      expect(error.name).toBe(ErrorName.AuthenticationFailed);
      expect(error.message).toContain('the endpoint rejected the token (redirected to Earthdata Login');
      expect(error.message).toContain('urs.earthdata.nasa.gov');
      expect(emulator.calls).toBe(1);
      expect(emulator.loginHits).toBe(0);
    },
  );

  it('a EULA 403 is EulaNotAccepted with the resolution_url', async () => {
    const error = await failure(fetchTeaCredentials(request(EULA_TOKEN), FAST));
    expect(error.name).toBe(ErrorName.EulaNotAccepted);
    expect(error.message).toContain('https://urs.earthdata.nasa.gov/approve_app?client_id=emulator');
    expect(emulator.calls).toBe(1);
  });

  it('another 403 is CredentialsForbidden with the wrong-archive hint', async () => {
    const error = await failure(fetchTeaCredentials(request(FORBIDDEN_TOKEN), FAST));
    expect(error.name).toBe(ErrorName.CredentialsForbidden);
    expect(error.message).toContain('belongs to the archive (DAAC) that owns the source bucket');
    expect(emulator.calls).toBe(1);
  });

  it('a 400 is a malformed-request CredentialsEndpointError, not retried', async () => {
    emulator.respondNext(1, {
      status: 400,
      body: '{"status_code":400,"error_description":"Malformed Authorization header"}',
    });
    const error = await failure(fetchTeaCredentials(request(), FAST));
    expect(error.name).toBe(ErrorName.CredentialsEndpointError);
    expect(error.message).toContain('malformed request: Malformed Authorization header');
    expect(emulator.calls).toBe(1);
  });

  it.each([
    ['malformed JSON', '{"accessKeyId": "ASIA'],
    ['missing fields', '{"accessKeyId": "ASIAX", "expiration": "2031-01-01 00:00:00+00:00"}'],
    [
      'an empty sessionToken',
      '{"accessKeyId":"A","secretAccessKey":"B","sessionToken":"","expiration":"2031-01-01T00:00:00Z"}',
    ],
    [
      'a bad expiration',
      '{"accessKeyId":"A","secretAccessKey":"B","sessionToken":"C","expiration":"next tuesday"}',
    ],
  ])('a 200 with %s is a CredentialsEndpointError', async (_label, body) => {
    emulator.respondNext(1, { status: 200, body });
    const error = await failure(fetchTeaCredentials(request(), FAST));
    expect(error.name).toBe(ErrorName.CredentialsEndpointError);
    expect(emulator.calls).toBe(1);
  });

  it('survives 3 injected 500s', async () => {
    emulator.failNext(3, 500);
    const credentials = await fetchTeaCredentials(request(), FAST);
    expect(credentials.accessKeyId).toMatch(/^ASIA/);
    expect(emulator.calls).toBe(4);
    expect(emulator.issued).toBe(1);
  });

  it('10 injected 500s end in CredentialsEndpointError after the bounded attempts', async () => {
    emulator.failNext(10, 500);
    const error = await failure(fetchTeaCredentials(request(), FAST));
    expect(error.name).toBe(ErrorName.CredentialsEndpointError);
    expect(error.message).toContain('after 5 attempts');
    expect(error.message).toContain('HTTP 500');
    expect(emulator.calls).toBe(5);
    expect(emulator.issued).toBe(0);
  });

  it('retries an attempt that times out', async () => {
    emulator.delayNextMs(1, 1000);
    const credentials = await fetchTeaCredentials(request(), { ...FAST, timeoutMs: 100 });
    expect(credentials.accessKeyId).toMatch(/^ASIA/);
    expect(emulator.calls).toBe(2);
  });

  it('retries connection errors, then names the cause', async () => {
    const closed = emulator.url;
    await emulator.close();
    const error = await failure(
      fetchTeaCredentials(
        { endpoint: closed, auth: { kind: 'bearer', token: TOKEN } },
        { ...FAST, maxAttempts: 2 },
      ),
    );
    expect(error.name).toBe(ErrorName.CredentialsEndpointError);
    expect(error.message).toContain('ECONNREFUSED');
    emulator = await startTeaEmulator(); // for afterEach
  });
});

describe('RefreshingCredentials against the emulator', () => {
  it('50 concurrent callers during a refresh cause exactly 1 endpoint call', async () => {
    emulator.latencyMs = 100;
    const rc = new RefreshingCredentials(request(), FAST);
    const identities = await Promise.all(Array.from({ length: 50 }, () => rc.provider()));
    expect(emulator.calls).toBe(1);
    expect(rc.endpointCalls).toBe(1);
    expect(new Set(identities.map((i) => i.accessKeyId)).size).toBe(1);

    // And again for a refresh of existing credentials.
    rc.invalidate();
    const refreshed = await Promise.all(Array.from({ length: 50 }, () => rc.provider()));
    expect(emulator.calls).toBe(2);
    expect(new Set(refreshed.map((i) => i.accessKeyId)).size).toBe(1);
    expect(refreshed[0].accessKeyId).not.toBe(identities[0].accessKeyId);
  });

  it('refreshes 2-second credentials once inside the margin (controlled clock)', async () => {
    emulator.lifetimeSeconds = 2;
    const clock = { now: Date.now() };
    const rc = new RefreshingCredentials(request(), { ...FAST, now: () => clock.now });
    const first = await rc.provider();
    const expiresAt = rc.expiresAt!;
    // The emulator writes whole seconds: the observed lifetime is in (1 s, 2 s], the margin 20% of it.
    expect(expiresAt - clock.now).toBeGreaterThan(900);
    expect(expiresAt - clock.now).toBeLessThanOrEqual(2000);
    clock.now = expiresAt - 500;
    expect((await rc.provider()).accessKeyId).toBe(first.accessKeyId);
    expect(emulator.calls).toBe(1);
    clock.now = expiresAt - 150;
    expect((await rc.provider()).accessKeyId).not.toBe(first.accessKeyId);
    expect(emulator.calls).toBe(2);
    expect(rc.refreshes).toBe(1);
  });

  it('refreshes 2-second credentials before use once inside the margin (real clock, under 3 s)', async () => {
    emulator.lifetimeSeconds = 2;
    const rc = new RefreshingCredentials(request(), FAST);
    const first = await rc.provider();
    expect((await rc.provider()).accessKeyId).toBe(first.accessKeyId);
    expect(emulator.calls).toBe(1);
    const insideMargin = rc.expiresAt! - 100;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, insideMargin - Date.now())));
    const second = await rc.provider();
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(emulator.calls).toBe(2);
  });

  it('an ExpiredToken error triggers exactly one refresh and a successful retry', async () => {
    const rc = new RefreshingCredentials(request(), FAST);
    const used: string[] = [];
    const result = await withCredentialRefresh(rc, async () => {
      used.push((await rc.provider()).accessKeyId);
      if (used.length === 1) {
        throw Object.assign(new Error('The provided token has expired.'), {
          name: 'ExpiredToken',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return 'copied';
    });
    expect(result).toBe('copied');
    expect(used).toHaveLength(2);
    expect(used[1]).not.toBe(used[0]);
    expect(rc.refreshes).toBe(1);
    expect(emulator.calls).toBe(2);
  });

  it("Ceph's UnknownError/AccessDenied after expiry triggers a refresh; before expiry it does not", async () => {
    // The emulator mints on the same controlled clock.
    const clock = { now: Date.now() };
    await emulator.close();
    emulator = await startTeaEmulator({ tokens: [TOKEN], lifetimeSeconds: 60, now: () => clock.now });
    const rc = new RefreshingCredentials(request(), { ...FAST, now: () => clock.now });
    const denied = () =>
      Object.assign(new Error('UnknownError'), {
        name: 'UnknownError',
        Code: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      });

    // Long before expiry: a real denial.
    const early = jest.fn(async () => {
      await rc.provider();
      throw denied();
    });
    await expect(withCredentialRefresh(rc, early)).rejects.toMatchObject({ Code: 'AccessDenied' });
    expect(early).toHaveBeenCalledTimes(1);
    expect(emulator.calls).toBe(1);

    // A request signed just before expiry, judged by the server just after it.
    clock.now = rc.expiresAt! + 1;
    let attempts = 0;
    const late = await withCredentialRefresh(rc, async () => {
      if (attempts++ === 0) throw denied();
      return (await rc.provider()).accessKeyId;
    });
    expect(attempts).toBe(2);
    expect(late).toMatch(/^ASIA/);
    expect(rc.refreshes).toBe(1);
    expect(emulator.calls).toBe(2);
  });
});

describe('secrets stay out of errors and logs', () => {
  /** Captures process stdout/stderr and console output while `fn` runs. */
  async function captureOutput(fn: () => Promise<void>): Promise<string> {
    const chunks: string[] = [];
    const record = (chunk: unknown) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
      return true;
    };
    const spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation(record),
      jest.spyOn(process.stderr, 'write').mockImplementation(record),
      ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
        jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
          chunks.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 10 }))).join(' '));
        }),
      ),
    ];
    try {
      await fn();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    return chunks.join('\n');
  }

  it('no token, cookie or returned secret appears in any output during failures', async () => {
    const logger = createLogger('tea-client-test', { logLevel: 'DEBUG' });
    const errors: Error[] = [];
    const leaked: string[] = [TOKEN, COOKIE, EULA_TOKEN, FORBIDDEN_TOKEN];
    const output = await captureOutput(async () => {
      const attempts: Array<() => Promise<unknown>> = [
        () => fetchTeaCredentials(request('edl-token-unknown-99887766'), { ...FAST, log: logger }),
        () => fetchTeaCredentials(request(EULA_TOKEN), { ...FAST, log: logger }),
        () => fetchTeaCredentials(request(FORBIDDEN_TOKEN), { ...FAST, log: logger }),
        () =>
          fetchTeaCredentials({ endpoint: emulator.url, auth: { kind: 'cookie', jwt: `${COOKIE}x` } }, FAST),
        () => {
          emulator.failNext(5, 503);
          return fetchTeaCredentials(request(), { ...FAST, log: logger });
        },
        () => {
          emulator.respondNext(1, { status: 403, body: `{"error_description":"token ${TOKEN} refused"}` });
          return fetchTeaCredentials(request(), { ...FAST, log: logger });
        },
        () => {
          emulator.respondNext(1, {
            status: 200,
            body: '{"accessKeyId":"ASIAX","secretAccessKey":"returned-secret-key-0123456789","sessionToken":"returned-session-token-0123456789","expiration":"soon"}',
          });
          leaked.push('returned-secret-key-0123456789', 'returned-session-token-0123456789');
          return fetchTeaCredentials(request(), { ...FAST, log: logger });
        },
        () =>
          fetchTeaCredentials(
            { ...request(), endpoint: 'http://127.0.0.1:1/s3credentials' },
            { ...FAST, log: logger },
          ),
      ];
      for (const attempt of attempts) {
        try {
          await attempt();
          throw new Error('expected a failure');
        } catch (error) {
          errors.push(error as Error);
          logger.error('credentials failed', error as Error);
          logger.error('credentials failed', { error, request: request() });
          console.error(error);
        }
      }
      // And the successful case: credentials logged by mistake.
      const credentials = await fetchTeaCredentials(request(), { ...FAST, log: logger });
      leaked.push(credentials.secretAccessKey, credentials.sessionToken);
      logger.info('fetched', { credentials });
      logger.info(`raw ${credentials.secretAccessKey} ${credentials.sessionToken}`);
    });

    expect(errors.map((e) => e.name)).toEqual([
      ErrorName.AuthenticationFailed,
      ErrorName.EulaNotAccepted,
      ErrorName.CredentialsForbidden,
      ErrorName.AuthenticationFailed,
      ErrorName.CredentialsEndpointError,
      ErrorName.CredentialsForbidden,
      ErrorName.CredentialsEndpointError,
      ErrorName.CredentialsEndpointError,
    ]);
    // The capture did capture: the log lines and retry warnings are there.
    expect(output).toContain('credentials failed');
    expect(output).toContain('credentials endpoint failed, retrying');
    expect(output).toContain('"message":"fetched"');
    const errorText = errors.map(everything).join('\n');
    for (const secret of leaked) {
      expect(output).not.toContain(secret);
      expect(errorText).not.toContain(secret);
    }
  });
});
