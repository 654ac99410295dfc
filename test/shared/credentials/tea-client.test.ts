import { parseExpiration } from '../../../shared/credentials/expiration';
import { inspect } from 'node:util';
import { fetchTeaCredentials, type TeaFetchOptions } from '../../../shared/credentials/tea-client';
import { ErrorName } from '../../../shared/errors';
import { clearSecrets } from '../../../shared/log';

const TOKEN = 'edl-token-unit-0123456789abcdef';
const ENDPOINT = 'https://tea.test.earthdatacloud.nasa.gov/s3credentials?secret_query=leak-me';
const GOOD = {
  accessKeyId: 'ASIAUNITTEST0000001',
  secretAccessKey: 'unitSecretAccessKeyValue/abcdefghijklmnopq',
  sessionToken: 'unit-session-token-value-0123456789',
  expiration: '2031-01-27 00:50:09+00:00',
};

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch that answers from a script, one entry per call; the last entry repeats. */
function scriptedFetch(
  ...script: Array<() => Response | Promise<Response>>
): typeof fetch & { calls: Call[] } {
  const calls: Call[] = [];
  const fn = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(input), init: init ?? {} });
    return script[Math.min(calls.length - 1, script.length - 1)]();
  }) as typeof fetch & { calls: Call[] };
  fn.calls = calls;
  return fn;
}

const jsonResponse =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  () =>
    new Response(typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });

/** Options with no real waiting: sleeps are recorded. */
function opts(fetch: typeof globalThis.fetch, extra: Partial<TeaFetchOptions> = {}) {
  const sleeps: number[] = [];
  const options: TeaFetchOptions = {
    fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    ...extra,
  };
  return { options, sleeps };
}

const bearer = { endpoint: ENDPOINT, auth: { kind: 'bearer' as const, token: TOKEN } };

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** Everything about an error that could end up in a log or a report. */
function everything(error: Error): string {
  return [error.message, error.stack, inspect(error, { depth: 10 }), JSON.stringify(error)].join('\n');
}

afterEach(() => clearSecrets());

describe('fetchTeaCredentials request', () => {
  it('sends the bearer token, the app-name header and never follows redirects', async () => {
    const fetch = scriptedFetch(jsonResponse(200, GOOD));
    const credentials = await fetchTeaCredentials({ ...bearer, appName: 'my-app' }, opts(fetch).options);
    expect(credentials).toEqual({ ...GOOD, expiration: new Date(Date.UTC(2031, 0, 27, 0, 50, 9)) });
    expect(fetch.calls).toHaveLength(1);
    const { url, init } = fetch.calls[0];
    expect(url).toBe(ENDPOINT);
    expect(init.method).toBe('GET');
    expect(init.redirect).toBe('manual');
    expect(init.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'app-name': 'my-app' });
    expect(init.headers).not.toHaveProperty('cookie');
  });

  it('sends a JWT as the asf-urs cookie', async () => {
    const fetch = scriptedFetch(jsonResponse(200, GOOD));
    await fetchTeaCredentials(
      { endpoint: ENDPOINT, auth: { kind: 'cookie', jwt: 'jwt.cookie.value' } },
      opts(fetch).options,
    );
    expect(fetch.calls[0].init.headers).toMatchObject({ cookie: 'asf-urs=jwt.cookie.value' });
    expect(fetch.calls[0].init.headers).not.toHaveProperty('authorization');
    expect(fetch.calls[0].init.headers).not.toHaveProperty('app-name');
  });

  it.each([
    ['an app name with a space', { ...bearer, appName: 'my app' }],
    ['an app name with a slash', { ...bearer, appName: 'a/b' }],
    [
      'a token with a newline',
      { endpoint: ENDPOINT, auth: { kind: 'bearer' as const, token: `${TOKEN}\n` } },
    ],
    ['an empty token', { endpoint: ENDPOINT, auth: { kind: 'bearer' as const, token: '' } }],
    ['a cookie with a semicolon', { endpoint: ENDPOINT, auth: { kind: 'cookie' as const, jwt: 'a;b=c' } }],
    ['plain http to a remote host', { ...bearer, endpoint: 'http://tea.example.org/s3credentials' }],
    ['not a URL', { ...bearer, endpoint: 'tea/s3credentials' }],
  ])('rejects %s before sending anything', async (_label, request) => {
    const fetch = scriptedFetch(jsonResponse(200, GOOD));
    const error = await failure(fetchTeaCredentials(request, opts(fetch).options));
    expect(error.name).toBe(ErrorName.InvalidInput);
    expect(fetch.calls).toHaveLength(0);
    expect(everything(error)).not.toContain(TOKEN);
  });

  it('allows plain http to a loopback host', async () => {
    const fetch = scriptedFetch(jsonResponse(200, GOOD));
    await fetchTeaCredentials(
      { ...bearer, endpoint: 'http://127.0.0.1:9/s3credentials' },
      opts(fetch).options,
    );
    expect(fetch.calls).toHaveLength(1);
  });
});

describe('fetchTeaCredentials errors', () => {
  it.each([301, 302, 303, 307, 308])('%i is AuthenticationFailed and is not followed', async (status) => {
    const fetch = scriptedFetch(
      () =>
        new Response(null, {
          status,
          headers: { location: 'https://urs.earthdata.nasa.gov/oauth/authorize?state=x' },
        }),
    );
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch).options));
    expect(error.name).toBe(ErrorName.AuthenticationFailed);
    expect(error.message).toContain('the endpoint rejected the token (redirected to Earthdata Login');
    expect(error.message).toContain('urs.earthdata.nasa.gov');
    expect(fetch.calls).toHaveLength(1);
  });

  it('401 is AuthenticationFailed', async () => {
    const fetch = scriptedFetch(jsonResponse(401, { error_description: 'invalid token' }));
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch).options));
    expect(error.name).toBe(ErrorName.AuthenticationFailed);
    expect(error.message).toContain('invalid token');
    expect(fetch.calls).toHaveLength(1);
  });

  it('403 with a resolution_url is EulaNotAccepted naming the URL', async () => {
    const url = 'https://urs.earthdata.nasa.gov/approve_app?client_id=abc';
    const fetch = scriptedFetch(
      jsonResponse(403, {
        status_code: 403,
        error_description: 'EULA Acceptance Failure',
        resolution_url: url,
      }),
    );
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch).options));
    expect(error.name).toBe(ErrorName.EulaNotAccepted);
    expect(error.message).toContain(url);
    expect(fetch.calls).toHaveLength(1);
  });

  it.each([
    ['JSON', { status_code: 403, error_description: 'not authorized for this collection' }],
    ['HTML', '<html>Forbidden</html>'],
  ])('other 403 (%s) is CredentialsForbidden with the wrong-archive hint', async (_label, body) => {
    const fetch = scriptedFetch(jsonResponse(403, body));
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch).options));
    expect(error.name).toBe(ErrorName.CredentialsForbidden);
    expect(error.message).toMatch(/belongs to the archive \(DAAC\) that owns the source bucket/);
  });

  it('400 is a malformed-request CredentialsEndpointError, not retried', async () => {
    const fetch = scriptedFetch(jsonResponse(400, { error_description: 'Malformed Authorization header' }));
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch).options));
    expect(error.name).toBe(ErrorName.CredentialsEndpointError);
    expect(error.message).toContain('malformed request');
    expect(fetch.calls).toHaveLength(1);
  });

  it('404 is a CredentialsEndpointError hinting at the URL, not retried', async () => {
    const fetch = scriptedFetch(jsonResponse(404, 'nope'));
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch).options));
    expect(error.name).toBe(ErrorName.CredentialsEndpointError);
    expect(error.message).toContain('/s3credentials URL');
    expect(fetch.calls).toHaveLength(1);
  });

  it.each([
    ['malformed JSON', '{"accessKeyId": '],
    ['a JSON array', '[]'],
    ['a missing sessionToken', { ...GOOD, sessionToken: undefined }],
    ['an empty secretAccessKey', { ...GOOD, secretAccessKey: '' }],
    ['a numeric expiration', { ...GOOD, expiration: 1700000000 }],
    ['an unparseable expiration', { ...GOOD, expiration: 'tomorrow' }],
  ])('200 with %s is a CredentialsEndpointError', async (_label, body) => {
    const fetch = scriptedFetch(jsonResponse(200, body));
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch).options));
    expect(error.name).toBe(ErrorName.CredentialsEndpointError);
    expect(fetch.calls).toHaveLength(1);
    expect(everything(error)).not.toContain(GOOD.secretAccessKey);
    expect(everything(error)).not.toContain(GOOD.sessionToken);
  });

  it('names the missing fields', async () => {
    const fetch = scriptedFetch(jsonResponse(200, { accessKeyId: 'x', expiration: GOOD.expiration }));
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch).options));
    expect(error.message).toContain('secretAccessKey, sessionToken');
  });

  it('strips the query string from the endpoint in messages', async () => {
    const fetch = scriptedFetch(jsonResponse(403, {}));
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch).options));
    expect(error.message).toContain('https://tea.test.earthdatacloud.nasa.gov/s3credentials');
    expect(error.message).not.toContain('leak-me');
  });

  it('never echoes the token even when the endpoint does', async () => {
    const fetch = scriptedFetch(jsonResponse(403, { error_description: `token ${TOKEN} is not allowed` }));
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch).options));
    expect(error.name).toBe(ErrorName.CredentialsForbidden);
    expect(everything(error)).not.toContain(TOKEN);
  });
});

describe('fetchTeaCredentials reads answers with distrust', () => {
  it('reads at most 64 KiB of an answer, and refuses a larger 200', async () => {
    const huge = `{"accessKeyId":"${'A'.repeat(200 * 1024)}"}`;
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = new TextEncoder().encode(huge.slice(pulled, pulled + 16 * 1024));
        pulled += 16 * 1024;
        if (chunk.length === 0) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const fetch = scriptedFetch(() => new Response(body, { status: 200 }));
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch).options));
    expect(error).toMatchObject({ name: ErrorName.CredentialsEndpointError });
    expect(error.message).toContain('larger than 64 KiB');
    // The stream was cancelled once the cap was reached, not drained.
    expect(pulled).toBeLessThan(100 * 1024);
  });

  it('quotes at most a short, printable excerpt of an error page', async () => {
    const page = `<html><script>alert(1)</script><h1>Forbidden\u0007\u001b[31m</h1>${'x'.repeat(5000)}</html>`;
    const fetch = scriptedFetch(jsonResponse(403, page, { 'content-type': 'text/html' }));
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch).options));
    expect(error.name).toBe(ErrorName.CredentialsForbidden);
    const quoted = /HTTP 403: (.*)\)\. Check/.exec(error.message)?.[1] ?? '';
    expect(quoted.length).toBeLessThanOrEqual(120);
    expect(quoted).toContain('Forbidden');
    expect(error.message).not.toMatch(/[<>\u0000-\u001f]/); // eslint-disable-line no-control-regex
  });

  it.each([
    ['another host', 'https://attacker.example/accept?x=1'],
    ['a host ending like Earthdata Login', 'https://urs.earthdata.nasa.gov.attacker.example/approve'],
    ['plain http', 'http://urs.earthdata.nasa.gov/approve_app?client_id=x'],
    ['a very long URL', `https://urs.earthdata.nasa.gov/approve_app?client_id=${'x'.repeat(3000)}`],
  ])('does not echo a resolution_url on %s', async (_what, url) => {
    const fetch = scriptedFetch(jsonResponse(403, { error: 'eula', resolution_url: url }));
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch).options));
    expect(error.name).toBe(ErrorName.EulaNotAccepted);
    expect(error.message).not.toContain(url.slice(0, 40));
    expect(error.message).toContain('https://urs.earthdata.nasa.gov');
  });
});

describe('fetchTeaCredentials retries', () => {
  it('retries 5xx and 429 with exponential full-jitter backoff, then succeeds', async () => {
    const fetch = scriptedFetch(
      jsonResponse(500, 'oops'),
      jsonResponse(503, 'busy'),
      jsonResponse(429, 'slow down'),
      jsonResponse(502, 'bad gateway'),
      jsonResponse(200, GOOD),
    );
    const { options, sleeps } = opts(fetch, { random: () => 0.5 });
    const credentials = await fetchTeaCredentials(bearer, options);
    expect(credentials.accessKeyId).toBe(GOOD.accessKeyId);
    expect(fetch.calls).toHaveLength(5);
    // random 0.5 of min(maxDelay 1000, 100 * 2^(n-1)).
    expect(sleeps).toEqual([50, 100, 200, 400]);
  });

  it('caps the backoff at maxDelayMs and uses the jitter source', async () => {
    const fetch = scriptedFetch(jsonResponse(500, ''));
    const { options, sleeps } = opts(fetch, {
      random: () => 0.999,
      maxAttempts: 7,
      baseDelayMs: 100,
      maxDelayMs: 350,
    });
    await failure(fetchTeaCredentials(bearer, options));
    expect(sleeps).toEqual([99, 199, 349, 349, 349, 349]);
  });

  it('gives up after maxAttempts with a CredentialsEndpointError naming the last status', async () => {
    const fetch = scriptedFetch(
      jsonResponse(500, 'first'),
      jsonResponse(503, { error_description: 'last one' }),
    );
    const { options, sleeps } = opts(fetch, { maxAttempts: 3 });
    const error = await failure(fetchTeaCredentials(bearer, options));
    expect(error.name).toBe(ErrorName.CredentialsEndpointError);
    expect(error.message).toContain('after 3 attempts');
    expect(error.message).toContain('HTTP 503: last one');
    expect(fetch.calls).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it('honours Retry-After, bounded by maxDelayMs', async () => {
    const fetch = scriptedFetch(jsonResponse(429, '', { 'retry-after': '0.8' }), jsonResponse(200, GOOD));
    const { options, sleeps } = opts(fetch, { random: () => 0 });
    await fetchTeaCredentials(bearer, options);
    expect(sleeps).toEqual([800]);
  });

  it('retries connection errors and reports the cause without the token', async () => {
    const refused = Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:9 (Bearer ${TOKEN})`), {
      code: 'ECONNREFUSED',
    });
    const fetch = scriptedFetch(() => {
      throw new TypeError('fetch failed', { cause: refused });
    });
    const error = await failure(fetchTeaCredentials(bearer, opts(fetch, { maxAttempts: 2 }).options));
    expect(error.name).toBe(ErrorName.CredentialsEndpointError);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.cause).toBeInstanceOf(Error);
    expect(fetch.calls).toHaveLength(2);
    expect(everything(error)).not.toContain(TOKEN);
  });

  it('times out an attempt that never answers (default 10 s) and retries it', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    try {
      const fetch = scriptedFetch(
        () =>
          new Promise<Response>((_resolve, reject) => {
            // Rejects only when the client aborts: the attempt's timeout fired.
            const signal = fetch.calls[fetch.calls.length - 1].init.signal!;
            signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
          }),
        jsonResponse(200, GOOD),
      );
      const pending = fetchTeaCredentials(bearer, opts(fetch).options);
      await jest.advanceTimersByTimeAsync(9_999);
      expect(fetch.calls).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      const credentials = await pending;
      expect(credentials.sessionToken).toBe(GOOD.sessionToken);
      expect(fetch.calls).toHaveLength(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('reports a timeout as the last failure', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    try {
      const fetch = scriptedFetch(
        () =>
          new Promise<Response>((_resolve, reject) => {
            const signal = fetch.calls[fetch.calls.length - 1].init.signal!;
            signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
          }),
      );
      const pending = failure(
        fetchTeaCredentials(bearer, opts(fetch, { maxAttempts: 2, timeoutMs: 50 }).options),
      );
      await jest.advanceTimersByTimeAsync(100);
      const error = await pending;
      expect(error.name).toBe(ErrorName.CredentialsEndpointError);
      expect(error.message).toContain('timed out after 50 ms');
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('parseExpiration', () => {
  it.each([
    ['2021-01-27 00:50:09+00:00', '2021-01-27T00:50:09.000Z'],
    ['2021-01-27 00:50:09.123456+00:00', '2021-01-27T00:50:09.123Z'],
    ['2021-01-27 00:50:09.5+00:00', '2021-01-27T00:50:09.500Z'],
    ['2021-01-27 00:50:09', '2021-01-27T00:50:09.000Z'],
    ['2021-01-27T00:50:09Z', '2021-01-27T00:50:09.000Z'],
    ['2021-01-27T00:50:09.250Z', '2021-01-27T00:50:09.250Z'],
    ['2021-01-27T02:50:09+02:00', '2021-01-27T00:50:09.000Z'],
    ['2021-01-26T19:20:09-0530', '2021-01-27T00:50:09.000Z'],
    ['2021-01-27t00:50:09z', '2021-01-27T00:50:09.000Z'],
    [' 2021-01-27 00:50:09+00:00\n', '2021-01-27T00:50:09.000Z'],
    ['2024-02-29 12:00:00+00:00', '2024-02-29T12:00:00.000Z'],
  ])('parses %j', (text, iso) => {
    expect(parseExpiration(text).toISOString()).toBe(iso);
  });

  it.each([
    '',
    'tomorrow',
    '1700000000',
    '2021-01-27',
    '2021-13-01 00:00:00+00:00',
    '2021-02-30 00:00:00+00:00',
    '2023-02-29T00:00:00Z',
    '2021-01-27 24:00:00+00:00',
    '2021-01-27 00:60:00+00:00',
    '2021-01-27 00:50:09+25:00',
    '2021-01-27 00:50:09 UTC',
    'Wed, 27 Jan 2021 00:50:09 GMT',
  ])('rejects %j as CredentialsEndpointError', (text) => {
    expect(() => parseExpiration(text)).toThrow(
      expect.objectContaining({ name: ErrorName.CredentialsEndpointError }),
    );
  });
});
