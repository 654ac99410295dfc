import type { CredentialIssuer } from '../../../emulators/tea/issuer';
import { formatExpiration, startTeaEmulator, type TeaEmulator } from '../../../emulators/tea/emulator';

const TOKEN = 'emulator-token-0123456789';
const COOKIE = 'emulator.cookie.jwt';

let emulator: TeaEmulator;

beforeEach(async () => {
  emulator = await startTeaEmulator({
    tokens: [TOKEN],
    cookies: [COOKIE],
    eulaTokens: ['eula-token-0123456789'],
    forbiddenTokens: ['forbidden-token-0123'],
  });
});

afterEach(async () => {
  await emulator.close();
});

function get(headers: Record<string, string> = {}, url = emulator.url): Promise<Response> {
  return fetch(url, { headers, redirect: 'manual' });
}

type Body = Record<string, string>;
const jsonOf = async (response: Response): Promise<Body> => (await response.json()) as Body;

const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

describe('TEA emulator', () => {
  it('listens on 127.0.0.1 at /s3credentials', () => {
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/s3credentials$/);
    expect(emulator.port).toBeGreaterThan(0);
  });

  it('issues credentials for a known bearer token, with a Python-style expiration', async () => {
    const before = Date.now();
    const response = await get(bearer());
    expect(response.status).toBe(200);
    const body = await jsonOf(response);
    expect(Object.keys(body).sort()).toEqual([
      'accessKeyId',
      'expiration',
      'secretAccessKey',
      'sessionToken',
    ]);
    expect(body.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(body.secretAccessKey).toHaveLength(40);
    expect(body.expiration).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+00:00$/);
    const expiresAt = Date.parse(body.expiration.replace(' ', 'T'));
    expect(expiresAt).toBeGreaterThan(before + 3_598_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
    expect(emulator.calls).toBe(1);
    expect(emulator.issued).toBe(1);
  });

  it('writes ISO-8601 expirations and honours a lifetime changed at runtime', async () => {
    emulator.expirationFormat = 'iso';
    emulator.lifetimeSeconds = 2;
    const body = await jsonOf(await get(bearer()));
    expect(body.expiration).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const remaining = Date.parse(body.expiration) - Date.now();
    expect(remaining).toBeGreaterThan(-1000);
    expect(remaining).toBeLessThanOrEqual(2000);
  });

  it('accepts a known asf-urs cookie', async () => {
    const response = await get({ cookie: `other=1; asf-urs=${COOKIE}` });
    expect(response.status).toBe(200);
  });

  it.each([
    ['no authentication', {}],
    ['an unknown bearer token', bearer('unknown-token-000000')],
    ['a non-Bearer scheme', { authorization: `Basic ${TOKEN}` }],
    ['an unknown cookie', { cookie: 'asf-urs=unknown' }],
  ])('redirects %s to the login page', async (_label, headers) => {
    const response = await get(headers);
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(emulator.loginUrl);
    expect(location.searchParams.get('redirect_uri')).toContain('/login');
    expect(emulator.issued).toBe(0);
  });

  it('counts hits on its login page (so that a test can see a client following the redirect)', async () => {
    const followed = await fetch(emulator.url, { headers: bearer('unknown-token-000000') });
    expect(followed.status).toBe(200);
    expect(await followed.text()).toContain('Earthdata Login');
    expect(emulator.loginHits).toBe(1);
    expect(emulator.calls).toBe(1);
  });

  it('uses 307 and a configured login URL when asked to', async () => {
    await emulator.close();
    emulator = await startTeaEmulator({
      redirectStatus: 307,
      loginUrl: 'https://urs.example.org/oauth/authorize',
    });
    const response = await get(bearer('whatever-token-0000'));
    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toMatch(/^https:\/\/urs\.example\.org\/oauth\/authorize\?/);
  });

  it.each([['Bearer'], ['Bearer '], ['garbage'], [`Bearer ${TOKEN} extra`]])(
    'answers 400 to a malformed Authorization header %j',
    async (authorization) => {
      const response = await get({ authorization });
      expect(response.status).toBe(400);
      expect((await jsonOf(response)).error_description).toMatch(/Malformed Authorization header/);
    },
  );

  it('answers 403 with a resolution_url to a user who has not accepted the EULA', async () => {
    const response = await get(bearer('eula-token-0123456789'));
    expect(response.status).toBe(403);
    const body = await jsonOf(response);
    expect(body).toMatchObject({ status_code: 403, resolution_url: expect.stringMatching(/^https:\/\//) });
  });

  it('answers 403 without a resolution_url to a forbidden token', async () => {
    const response = await get(bearer('forbidden-token-0123'));
    expect(response.status).toBe(403);
    expect(await jsonOf(response)).not.toHaveProperty('resolution_url');
  });

  it('builds the session name from the user and app-name, and rejects a bad app-name with 400', async () => {
    expect((await get({ ...bearer(), 'app-name': 'my-app_1+=,.@x' })).status).toBe(200);
    expect((await get({ ...bearer(), 'app-name': 'a'.repeat(80) })).status).toBe(200);
    expect((await get({ ...bearer(), 'app-name': 'bad name' })).status).toBe(400);
    expect((await get({ ...bearer(), 'app-name': 'bad/name' })).status).toBe(400);
    expect(emulator.sessionNames).toEqual(['user1@my-app_1+=,.@x', `user1@${'a'.repeat(58)}`]);
  });

  it('mints through a pluggable issuer', async () => {
    await emulator.close();
    const issued: Array<[number, string]> = [];
    const issuer: CredentialIssuer = {
      async issue(lifetimeSeconds, sessionName) {
        issued.push([lifetimeSeconds, sessionName]);
        return {
          accessKeyId: 'ASIAFROMISSUER',
          secretAccessKey: 'issuer-secret',
          sessionToken: 'issuer-session',
          expiration: new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678)),
        };
      },
    };
    emulator = await startTeaEmulator({ tokens: [TOKEN], issuer, lifetimeSeconds: 900 });
    const body = await jsonOf(await get({ ...bearer(), 'app-name': 'demo' }));
    expect(body).toEqual({
      accessKeyId: 'ASIAFROMISSUER',
      secretAccessKey: 'issuer-secret',
      sessionToken: 'issuer-session',
      expiration: '2030-01-02 03:04:05+00:00',
    });
    expect(issued).toEqual([[900, 'user1@demo']]);
  });

  it('fails the next n requests with the given status, then recovers', async () => {
    emulator.failNext(2, 503);
    expect((await get(bearer())).status).toBe(503);
    expect((await get(bearer())).status).toBe(503);
    expect((await get(bearer())).status).toBe(200);
    expect(emulator.calls).toBe(3);
    expect(emulator.issued).toBe(1);
    emulator.failNext(1);
    expect((await get(bearer())).status).toBe(500);
  });

  it('delays the next n requests', async () => {
    emulator.delayNextMs(1, 150);
    let started = Date.now();
    await get(bearer());
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    started = Date.now();
    await get(bearer());
    expect(Date.now() - started).toBeLessThan(140);
  });

  it('answers canned responses for the next n requests', async () => {
    emulator.respondNext(1, { status: 200, body: '{"accessKeyId": ' });
    const response = await get(bearer());
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"accessKeyId": ');
    expect((await jsonOf(await get(bearer()))).accessKeyId).toMatch(/^ASIA/);
  });

  it('reset() zeroes the counters and drops pending injections', async () => {
    emulator.failNext(5);
    await get(bearer());
    await fetch(emulator.loginUrl);
    emulator.reset();
    expect([emulator.calls, emulator.issued, emulator.loginHits]).toEqual([0, 0, 0]);
    expect((await get(bearer())).status).toBe(200);
  });

  it('answers 404 elsewhere and 405 to other methods', async () => {
    expect((await get(bearer(), emulator.url.replace('/s3credentials', '/other'))).status).toBe(404);
    expect((await fetch(emulator.url, { method: 'POST', headers: bearer() })).status).toBe(405);
  });

  it('close() ends pending delayed requests and stops listening', async () => {
    emulator.delayNextMs(1, 60_000);
    const pending = get(bearer()).then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await emulator.close();
    expect(await pending).toBe('failed');
    await expect(get(bearer())).rejects.toThrow();
    emulator = await startTeaEmulator(); // for afterEach
  });
});

describe('formatExpiration', () => {
  it('writes whole seconds in both formats', () => {
    const date = new Date(Date.UTC(2021, 0, 27, 0, 50, 9, 999));
    expect(formatExpiration(date, 'python')).toBe('2021-01-27 00:50:09+00:00');
    expect(formatExpiration(date, 'iso')).toBe('2021-01-27T00:50:09Z');
  });
});
