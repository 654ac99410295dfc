import {
  MASK,
  clearSecrets,
  createLogger,
  isSensitiveKey,
  redactText,
  redactValue,
  registerSecret,
} from '../../shared/log';

/** Captures what is written to process.stdout and process.stderr while `fn` runs. */
function capture(fn: () => void): { stdout: string; stderr: string } {
  const out: string[] = [];
  const err: string[] = [];
  const so = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  const se = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  try {
    fn();
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
  return { stdout: out.join(''), stderr: err.join('') };
}

const JWT =
  'eyJ0eXAiOiJKV1QiLCJvcmlnaW4iOiJFYXJ0aGRhdGEgTG9naW4ifQ.eyJ0eXBlIjoiVXNlciIsInVpZCI6ImFsaWNlIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION_TOKEN = `IQoJb3JpZ2luX2VjEHYaCXVzLXdlc3QtMiJHMEUCIQ${'A1b2C3d4'.repeat(30)}`;

afterEach(() => clearSecrets());

describe('redactText', () => {
  it('masks registered secrets wherever they appear', () => {
    registerSecret('plain-opaque-secret-value');
    expect(redactText('before plain-opaque-secret-value after')).toBe(`before ${MASK} after`);
  });

  it('ignores secrets too short to mask safely', () => {
    registerSecret('abc');
    expect(redactText('abc abc')).toBe('abc abc');
  });

  it('masks the longer of two overlapping secrets whole', () => {
    registerSecret('secret-one-1234');
    registerSecret('secret-one-1234-and-more');
    expect(redactText('x secret-one-1234-and-more y')).toBe(`x ${MASK} y`);
  });

  it('masks JWTs, bearer headers, asf-urs cookies, secret keys and session tokens by pattern', () => {
    const text = [
      `token ${JWT}`,
      'Authorization: Bearer some-opaque-token-123456',
      'cookie: asf-urs=opaque-cookie-value-xyz; other=1',
      `key ${SECRET_KEY} end`,
      `session ${SESSION_TOKEN}`,
    ].join('\n');
    const out = redactText(text);
    expect(out).not.toContain(JWT.slice(0, 20));
    expect(out).not.toContain('some-opaque-token-123456');
    expect(out).not.toContain('opaque-cookie-value-xyz');
    expect(out).not.toContain(SECRET_KEY);
    expect(out).not.toContain(SESSION_TOKEN.slice(0, 30));
    expect(out).toContain('other=1');
  });

  it('keeps ordinary text, hex digests and access key ids', () => {
    const text =
      'copied a/b.h5 etag "9e107d9d372bb6826bd81d3542a419d6" sha1 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12 key ASIAIOSFODNN7EXAMPLE';
    expect(redactText(text)).toBe(text);
  });
});

describe('isSensitiveKey', () => {
  it.each([
    'token',
    'sessionToken',
    'secretAccessKey',
    'BearerToken',
    'JwtCookie',
    'cookie',
    'password',
    'Authorization',
    'x-amz-security-token',
    'client_secret',
  ])('%s is sensitive', (key) => expect(isSensitiveKey(key)).toBe(true));
  it.each([
    'BearerTokenParameter',
    'accessKeyId',
    'Key',
    'ContinuationToken',
    'NextContinuationToken',
    'tokens_used_count',
  ])('%s is not', (key) => expect(isSensitiveKey(key)).toBe(false));
});

describe('redactValue', () => {
  it('masks sensitive fields at any depth and keeps the rest', () => {
    const out = redactValue({
      CredentialsEndpoint: 'https://tea/s3credentials',
      BearerToken: 'inline-token-0123456789',
      nested: { list: [{ credentials: { accessKeyId: 'ASIAX', secretAccessKey: 'k', sessionToken: 't' } }] },
    });
    expect(out).toEqual({
      CredentialsEndpoint: 'https://tea/s3credentials',
      BearerToken: MASK,
      nested: {
        list: [{ credentials: { accessKeyId: 'ASIAX', secretAccessKey: MASK, sessionToken: MASK } }],
      },
    });
  });
});

describe('createLogger', () => {
  it('writes JSON lines to stdout with secrets masked in messages, fields and errors', () => {
    const secret = 'registered-secret-0123456789';
    registerSecret(secret);
    const logger = createLogger('test-service');
    const error = new Error(`failed with ${secret}`, { cause: new Error(`inner ${JWT}`) });
    const { stdout, stderr } = capture(() => {
      logger.info(`message mentions ${secret}`, {
        event: {
          BearerToken: 'event-token-abcdefgh',
          JwtCookie: 'cookie-value-abcdefgh',
          Source: { Key: 'a/b.h5' },
        },
        header: `Bearer ${JWT}`,
      });
      logger.error('boom', error);
    });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const info = JSON.parse(lines[0]);
    expect(info).toMatchObject({
      level: 'INFO',
      service: 'test-service',
      message: `message mentions ${MASK}`,
      event: { BearerToken: MASK, JwtCookie: MASK, Source: { Key: 'a/b.h5' } },
    });
    const all = stdout + stderr;
    for (const leaked of [secret, 'event-token-abcdefgh', 'cookie-value-abcdefgh', JWT.slice(0, 24)]) {
      expect(all).not.toContain(leaked);
    }
    const errorLine = JSON.parse(stderr.trim());
    expect(errorLine.level).toBe('ERROR');
    expect(errorLine.error.message).toBe(`failed with ${MASK}`);
    expect(errorLine.error.cause.message).toContain(MASK);
  });

  it('masks a secret registered after the logger was created', () => {
    const logger = createLogger('late');
    const late = 'late-registered-secret-42';
    registerSecret(late);
    const { stdout } = capture(() => logger.info(`value ${late}`));
    expect(stdout).toContain(MASK);
    expect(stdout).not.toContain(late);
  });

  it('honours logLevel', () => {
    const logger = createLogger('quiet', { logLevel: 'WARN' });
    const { stdout, stderr } = capture(() => {
      logger.info('hidden');
      logger.warn('shown');
    });
    expect(stdout).toBe('');
    expect(JSON.parse(stderr).message).toBe('shown');
  });

  it("sends everything to stderr with stream 'stderr' (a CLI's stdout is its result)", () => {
    const logger = createLogger('cli', { stream: 'stderr', logLevel: 'DEBUG' });
    const { stdout, stderr } = capture(() => {
      logger.debug('d');
      logger.info('i');
    });
    expect(stdout).toBe('');
    expect(
      stderr
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).message),
    ).toEqual(['d', 'i']);
  });

  it('keeps redaction and stream in child loggers', () => {
    const secret = 'child-secret-abcdefgh';
    registerSecret(secret);
    const child = createLogger('parent', { stream: 'stderr' }).createChild({ persistentKeys: { part: 3 } });
    const { stdout, stderr } = capture(() => child.info(secret, { sessionToken: 'whatever-value' }));
    expect(stdout).toBe('');
    expect(JSON.parse(stderr)).toMatchObject({ message: MASK, part: 3, sessionToken: MASK });
  });
});
