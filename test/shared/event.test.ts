import { TransferError } from '../../shared/errors';
import {
  DELETE_SOURCE_FORMS,
  eventAuth,
  formatPath,
  parseAnyEvent,
  parseEvent,
  transferEventSchema,
  type AnyTransferEvent,
} from '../../shared/event';

// Recognisable secrets: no error message may ever contain them.
const TOKEN = 'SECRET-edl-token-4f9c1b77';
const COOKIE = 'SECRET-asf-urs-jwt-8d2e90aa';

/** The example event of docs/contracts.md, verbatim. */
const SEED = {
  CredentialsEndpoint: 'https://tea-host/s3credentials',
  BearerToken: '<EDL token>',
  AppName: 'my-application',
  Source: { Bucket: 'src-bucket', Key: 'path/to/granule.h5' },
  Dest: { Bucket: 'my-bucket', Key: 'optional/new/key.h5' },
  Options: { Sync: false, DryRun: false },
};

const BASE = {
  CredentialsEndpoint: 'https://data.lpdaac.earthdatacloud.nasa.gov/s3credentials',
  BearerToken: TOKEN,
  Source: { Bucket: 'podaac-ops-cumulus-protected', Key: 'MUR-JPL-L4-GLOB-v4.1/granule.nc' },
  Dest: { Bucket: 'my-science-bucket' },
};

const NO_DELETES = { Delete: false, MaxDeletes: 1000 };
const PREFIX_SOURCE = { Bucket: 'podaac-ops-cumulus-protected', Prefix: 'MUR-JPL-L4-GLOB-v4.1/' };
const mirrorWith = (Options: unknown, Source: unknown = PREFIX_SOURCE) => ({ ...BASE, Source, Options });

const withTop = (fields: Record<string, unknown>) => ({ ...BASE, ...fields });
const withSource = (Source: unknown) => ({ ...BASE, Source });
const withDest = (Dest: unknown) => ({ ...BASE, Dest });
const withCookie = (fields: Record<string, unknown> = {}) => {
  const { BearerToken: _unused, ...rest } = BASE;
  return { ...rest, JwtCookie: COOKIE, ...fields };
};
/** A collection event: no CredentialsEndpoint (the collection's metadata names it), no Source.Bucket. */
const withCollection = (source: Record<string, unknown>, fields: Record<string, unknown> = {}) => {
  const { CredentialsEndpoint: _unused, ...rest } = BASE;
  return { ...rest, Source: { Collection: { ConceptId: 'C1234567-PODAAC' }, ...source }, ...fields };
};
const T1 = '2023-03-05T06:07:08Z';
const T2 = '2023-04-05T06:07:08Z';
function omit<T extends object>(object: T, key: keyof T): Omit<T, typeof key> {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

/** The InvalidInput message for `input`; fails the test when parseAnyEvent accepts it or throws something else. */
function rejection(input: unknown): string {
  let caught: unknown;
  try {
    parseAnyEvent(input);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TransferError);
  const error = caught as TransferError;
  expect(error.name).toBe('InvalidInput');
  expect(String(error)).toMatch(/^InvalidInput: invalid event: /);
  return error.message;
}

/** Every string in `value` (deeply), object keys excluded. */
function stringLeaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringLeaves);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringLeaves);
  return [];
}

describe('parseEvent: valid events', () => {
  it('accepts the example event of docs/contracts.md unchanged, adding only the deletion defaults', () => {
    expect(parseEvent(SEED)).toEqual({ ...SEED, Options: { ...SEED.Options, ...NO_DELETES } });
  });

  it('defaults Options to Sync false, DryRun false, Delete false, MaxDeletes 1000', () => {
    expect(parseEvent(BASE).Options).toEqual({ Sync: false, DryRun: false, ...NO_DELETES });
    expect(parseEvent(withTop({ Options: {} })).Options).toEqual({
      Sync: false,
      DryRun: false,
      ...NO_DELETES,
    });
    expect(parseEvent(withTop({ Options: { DryRun: true } })).Options).toEqual({
      Sync: false,
      DryRun: true,
      ...NO_DELETES,
    });
  });

  it('accepts Delete with Sync and a Prefix source, with or without MaxDeletes (0 allowed)', () => {
    const mirror = (options: Record<string, unknown>) =>
      parseEvent({ ...withSource({ Bucket: 'abc', Prefix: 'p/' }), Options: options }).Options;
    expect(mirror({ Sync: true, Delete: true })).toEqual({
      Sync: true,
      DryRun: false,
      Delete: true,
      MaxDeletes: 1000,
    });
    expect(mirror({ Sync: true, Delete: true, MaxDeletes: 0, DryRun: true })).toEqual({
      Sync: true,
      DryRun: true,
      Delete: true,
      MaxDeletes: 0,
    });
    expect(mirror({ Sync: true, Delete: true, MaxDeletes: 2_000_000 }).MaxDeletes).toBe(2_000_000);
    expect(mirror({ Sync: true, Delete: false }).Delete).toBe(false);
    // MaxDeletes without Delete caps nothing, and a normalized event carries it.
    expect(mirror({ MaxDeletes: 5 })).toEqual({ Sync: false, DryRun: false, Delete: false, MaxDeletes: 5 });
  });

  it('lists the prefix-type source forms Delete accepts in one constant', () => {
    expect(DELETE_SOURCE_FORMS).toEqual(['Prefix']);
  });

  it('accepts a prefix source with Include/Exclude and Dest.Prefix', () => {
    const event = withSource({
      Bucket: 'podaac-ops-cumulus-protected',
      Prefix: 'MUR-JPL-L4-GLOB-v4.1/',
      Include: ['**/*.nc'],
      Exclude: ['**/*.md5', 'tmp/**'],
    });
    const parsed = parseEvent({ ...event, Dest: { Bucket: 'my-science-bucket', Prefix: 'mur/' } });
    expect(parsed.Source).toEqual({
      Bucket: 'podaac-ops-cumulus-protected',
      Prefix: 'MUR-JPL-L4-GLOB-v4.1/',
      Include: ['**/*.nc'],
      Exclude: ['**/*.md5', 'tmp/**'],
    });
    expect(parsed.Dest).toEqual({ Bucket: 'my-science-bucket', Prefix: 'mur/' });
  });

  it('accepts a Keys source with unicode, +, %, // and trailing-slash keys', () => {
    const keys = ['a/b.h5', 'données/été.h5', 'a+b c.h5', 'a%2Fb.h5', 'a//b.h5', 'folder/'];
    const parsed = parseEvent(withSource({ Bucket: 'lp-prod-protected', Keys: keys }));
    expect(parsed.Source).toEqual({ Bucket: 'lp-prod-protected', Keys: keys });
  });

  it('accepts BearerTokenParameter and Options.Sync', () => {
    const { BearerToken: _unused, ...rest } = BASE;
    const parsed = parseEvent({ ...rest, BearerTokenParameter: '/earthdata/token', Options: { Sync: true } });
    expect(eventAuth(parsed)).toEqual({ kind: 'bearer-parameter', name: '/earthdata/token' });
    expect(parsed.Options).toEqual({ Sync: true, DryRun: false, ...NO_DELETES });
    expect('BearerToken' in parsed).toBe(false);
  });

  it('accepts JwtCookie', () => {
    expect(eventAuth(parseEvent(withCookie()))).toEqual({ kind: 'cookie', jwt: COOKIE });
  });

  it('tells the bearer token apart', () => {
    expect(eventAuth(parseEvent(BASE))).toEqual({ kind: 'bearer', token: TOKEN });
  });

  it.each([
    'http://localhost:8080/s3credentials',
    'http://127.0.0.1/s3credentials',
    'http://127.10.20.30:9000/s3credentials',
    'http://[::1]:3000/s3credentials',
    'https://data.asf.alaska.edu/s3credentials',
    'https://archive.podaac.earthdata.nasa.gov/s3credentials?app=x',
  ])('accepts the endpoint %s', (endpoint) => {
    expect(parseEvent(withTop({ CredentialsEndpoint: endpoint })).CredentialsEndpoint).toBe(endpoint);
  });

  it.each([
    'abc',
    'a'.repeat(63),
    'podaac-ops-cumulus-protected',
    'nsidc-cumulus-prod-protected',
    'my.bucket-1',
    '1bucket2',
    '192.168.1.a',
  ])('accepts the bucket name %s', (bucket) => {
    expect(parseEvent(withDest({ Bucket: bucket })).Dest.Bucket).toBe(bucket);
  });

  it('accepts an AppName of 64 RoleSessionName characters', () => {
    const name = 'aZ09+=,.@_-'.padEnd(64, 'x');
    expect(parseEvent(withTop({ AppName: name })).AppName).toBe(name);
  });

  it('accepts a key of exactly 1024 UTF-8 bytes', () => {
    const key = 'é'.repeat(512); // 512 characters, 1024 bytes
    expect(parseEvent(withSource({ Bucket: 'abc', Key: key })).Source).toEqual({ Bucket: 'abc', Key: key });
  });

  it('accepts 10,000 Keys', () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `granules/${i}.h5`);
    const parsed = parseEvent(withSource({ Bucket: 'abc', Keys: keys }));
    expect('Keys' in parsed.Source && parsed.Source.Keys).toHaveLength(10_000);
  });

  it('is idempotent: a parsed event parses to itself', () => {
    const events = [
      SEED,
      BASE,
      withCookie({ Options: { DryRun: true } }),
      mirrorWith({ Sync: true, Delete: true, MaxDeletes: 7 }),
    ];
    for (const event of events) {
      const once = parseEvent(event);
      expect(parseEvent(JSON.parse(JSON.stringify(once)))).toEqual(once);
    }
  });

  it('exports a schema whose output is the normalized event', () => {
    const result = transferEventSchema.safeParse(BASE);
    expect(result.success).toBe(true);
    const event: AnyTransferEvent | undefined = result.data;
    expect(event?.Options).toEqual({ Sync: false, DryRun: false, ...NO_DELETES });
  });
});

const bigKey = '€'.repeat(400); // 400 characters, 1200 bytes

// [description, input, fragments the message must contain (the field path first)]
const BAD_EVENTS: [string, unknown, string[]][] = [
  ['null input', null, ['expected a JSON object', 'got null']],
  ['array input', [BASE], ['expected a JSON object', 'got a list']],
  ['string input', JSON.stringify(BASE), ['expected a JSON object', 'got a string']],
  ['missing CredentialsEndpoint', omit(BASE, 'CredentialsEndpoint'), ['CredentialsEndpoint: required']],
  ['missing Source', omit(BASE, 'Source'), ['Source: required']],
  ['missing Dest', omit(BASE, 'Dest'), ['Dest: required']],
  ['missing Source.Bucket', withSource({ Key: 'a.h5' }), ['Source.Bucket: required']],
  ['missing Dest.Bucket', withDest({ Prefix: 'x/' }), ['Dest.Bucket: required']],
  ['unknown top-level field', withTop({ Token: TOKEN }), ['Token: unknown field']],
  [
    'misspelt Source field',
    withSource({ Bukcet: 'abc', Bucket: 'abc', Key: 'k' }),
    ['Source.Bukcet', 'Source.Bucket?'],
  ],
  ['unknown Dest field', withDest({ Bucket: 'abc', Region: 'us-west-2' }), ['Dest.Region: unknown field']],
  [
    'unknown Options field',
    withTop({ Options: { Sync: true, Force: true } }),
    ['Options.Force: unknown field'],
  ],
  ['Source is a string', withSource('s3://bucket/key'), ['Source: expected an object', 'got a string']],
  ['Dest is a list', withDest(['my-bucket']), ['Dest: expected an object', 'got a list']],
  [
    'Source.Key is a number',
    withSource({ Bucket: 'abc', Key: 42 }),
    ['Source.Key: expected an S3 object key', 'got a number'],
  ],
  [
    'Source.Keys is a string',
    withSource({ Bucket: 'abc', Keys: 'a.h5' }),
    ['Source.Keys: expected a non-empty list'],
  ],
  ['BearerToken is a number', withTop({ BearerToken: 1234567 }), ['BearerToken: expected', 'got a number']],
  [
    'two auth fields',
    withTop({ JwtCookie: COOKIE }),
    ['exactly one of BearerToken', 'got BearerToken and JwtCookie'],
  ],
  [
    'three auth fields',
    withTop({ JwtCookie: COOKIE, BearerTokenParameter: '/t' }),
    ['BearerTokenParameter and JwtCookie'],
  ],
  ['no auth field', omit(BASE, 'BearerToken'), ['exactly one of BearerToken', 'JwtCookie', 'got none']],
  [
    'http: to a remote host',
    withTop({ CredentialsEndpoint: 'http://tea-host/s3credentials' }),
    ['CredentialsEndpoint: expected', 'loopback'],
  ],
  [
    'http: to a host that only starts like loopback',
    withTop({ CredentialsEndpoint: 'http://127.0.0.1.nip.io/s3credentials' }),
    ['CredentialsEndpoint', 'loopback'],
  ],
  [
    'http: to localhost.evil.example',
    withTop({ CredentialsEndpoint: 'http://localhost.evil.example/s3credentials' }),
    ['CredentialsEndpoint', 'loopback'],
  ],
  [
    'ftp: endpoint',
    withTop({ CredentialsEndpoint: 'ftp://tea-host/s3credentials' }),
    ['CredentialsEndpoint', 'scheme is not https:'],
  ],
  [
    'endpoint not a URL',
    withTop({ CredentialsEndpoint: 'tea-host/s3credentials' }),
    ['CredentialsEndpoint', 'not an absolute URL'],
  ],
  [
    'credentials in the endpoint URL',
    withTop({ CredentialsEndpoint: 'https://user:hunter2pass@tea-host/s3credentials' }),
    ['CredentialsEndpoint', 'contains credentials'],
  ],
  [
    'bucket too short',
    withDest({ Bucket: 'ab' }),
    ['Dest.Bucket: expected an S3 bucket name', '2 characters'],
  ],
  ['bucket too long', withDest({ Bucket: 'b'.repeat(64) }), ['Dest.Bucket', '64 characters']],
  ['bucket with uppercase', withSource({ Bucket: 'My-Bucket', Key: 'k' }), ['Source.Bucket', 'uppercase']],
  ['bucket with underscore', withDest({ Bucket: 'my_bucket' }), ['Dest.Bucket', 'underscores']],
  [
    'bucket with other characters',
    withDest({ Bucket: 'my bucket!' }),
    ['Dest.Bucket', 'characters other than'],
  ],
  ['bucket starting with a hyphen', withDest({ Bucket: '-my-bucket' }), ['Dest.Bucket', 'start and end']],
  ['bucket ending with a dot', withDest({ Bucket: 'my-bucket.' }), ['Dest.Bucket', 'start and end']],
  ['bucket with ..', withDest({ Bucket: 'my..bucket' }), ['Dest.Bucket', "'..'"]],
  ['bucket with .-', withDest({ Bucket: 'my.-bucket' }), ['Dest.Bucket', "'.-' or '-.'"]],
  ['bucket formatted as an IP address', withDest({ Bucket: '192.168.10.20' }), ['Dest.Bucket', 'IP address']],
  ['bucket with xn-- prefix', withDest({ Bucket: 'xn--bucket' }), ['Dest.Bucket', "'xn--'"]],
  ['bucket with sthree- prefix', withDest({ Bucket: 'sthree-bucket' }), ['Dest.Bucket', "'sthree-'"]],
  [
    'bucket with amzn-s3-demo- prefix',
    withDest({ Bucket: 'amzn-s3-demo-bucket' }),
    ['Dest.Bucket', "'amzn-s3-demo-'"],
  ],
  ['bucket with -s3alias suffix', withDest({ Bucket: 'bucket-s3alias' }), ['Dest.Bucket', "'-s3alias'"]],
  ['bucket with --ol-s3 suffix', withDest({ Bucket: 'bucket--ol-s3' }), ['Dest.Bucket', "'--ol-s3'"]],
  ['bucket with .mrap suffix', withDest({ Bucket: 'bucket.mrap' }), ['Dest.Bucket', "'.mrap'"]],
  ['bucket with --x-s3 suffix', withDest({ Bucket: 'bucket--usw2-az1--x-s3' }), ['Dest.Bucket', "'--x-s3'"]],
  [
    'bucket with --table-s3 suffix',
    withDest({ Bucket: 'bucket--table-s3' }),
    ['Dest.Bucket', "'--table-s3'"],
  ],
  [
    'Dest.Key with a Prefix source',
    { ...withSource({ Bucket: 'abc', Prefix: 'p/' }), Dest: { Bucket: 'def', Key: 'k' } },
    ['Dest.Key: only allowed with Source.Key', 'Source.Prefix'],
  ],
  [
    'Dest.Key with a Keys source',
    { ...withSource({ Bucket: 'abc', Keys: ['a'] }), Dest: { Bucket: 'def', Key: 'k' } },
    ['Dest.Key: only allowed with Source.Key', 'Source.Keys'],
  ],
  [
    'Dest.Key with Dest.Prefix',
    withDest({ Bucket: 'abc', Key: 'k', Prefix: 'p/' }),
    ['Dest.Key: cannot be combined with Dest.Prefix'],
  ],
  [
    'empty Keys',
    withSource({ Bucket: 'abc', Keys: [] }),
    ['Source.Keys: expected a non-empty list', 'empty list'],
  ],
  [
    'duplicate Keys',
    withSource({ Bucket: 'abc', Keys: ['a', 'b', 'c', 'b'] }),
    ['Source.Keys[3]: duplicate of Source.Keys[1]'],
  ],
  [
    'more than 10,000 Keys',
    withSource({ Bucket: 'abc', Keys: Array.from({ length: 10_001 }, (_, i) => `k${i}`) }),
    ['Source.Keys: ', 'more than 10000'],
  ],
  [
    'key over 1024 bytes but under 1024 characters',
    withSource({ Bucket: 'abc', Key: bigKey }),
    ['Source.Key: expected an S3 object key', '1200 bytes'],
  ],
  [
    'Keys entry over 1024 bytes',
    withSource({ Bucket: 'abc', Keys: ['a', bigKey] }),
    ['Source.Keys[1]', '1200 bytes'],
  ],
  ['Dest.Key over 1024 bytes', withDest({ Bucket: 'abc', Key: bigKey }), ['Dest.Key', '1200 bytes']],
  ['Prefix over 1024 bytes', withSource({ Bucket: 'abc', Prefix: bigKey }), ['Source.Prefix', '1200 bytes']],
  ['key with a NUL', withSource({ Bucket: 'abc', Key: 'a\u0000b' }), ['Source.Key', 'control character']],
  [
    'key with a newline',
    withSource({ Bucket: 'abc', Keys: ['ok', 'a\nb'] }),
    ['Source.Keys[1]', 'control character'],
  ],
  [
    'key with an unpaired surrogate',
    withSource({ Bucket: 'abc', Key: 'a\ud800b' }),
    ['Source.Key', 'Unicode'],
  ],
  ['AppName with a space', withTop({ AppName: 'my app' }), ['AppName: expected', 'RoleSessionName']],
  ['AppName with a slash', withTop({ AppName: 'my/app' }), ['AppName', 'outside that set']],
  ['AppName over 64 characters', withTop({ AppName: 'a'.repeat(65) }), ['AppName', '65 characters']],
  ['AppName is a number', withTop({ AppName: 7 }), ['AppName', 'got a number']],
  [
    'Include without Prefix',
    withSource({ Bucket: 'abc', Key: 'k', Include: ['*.h5'] }),
    ['Source.Include: only allowed with Source.Prefix'],
  ],
  [
    'Exclude with a Keys source',
    withSource({ Bucket: 'abc', Keys: ['k'], Exclude: ['*.h5'] }),
    ['Source.Exclude: only allowed with Source.Prefix'],
  ],
  [
    'empty Include',
    withSource({ Bucket: 'abc', Prefix: 'p/', Include: [] }),
    ['Source.Include', 'empty list'],
  ],
  [
    'empty glob',
    withSource({ Bucket: 'abc', Prefix: 'p/', Exclude: ['*.md5', ''] }),
    ['Source.Exclude[1]', 'empty string'],
  ],
  [
    'Key and Prefix together',
    withSource({ Bucket: 'abc', Key: 'k', Prefix: 'p/' }),
    ['Source: expected exactly one of Key', 'got Key and Prefix'],
  ],
  [
    'no Key, Prefix or Keys',
    withSource({ Bucket: 'abc' }),
    ['Source: expected exactly one of Key', 'got none'],
  ],
  [
    'empty CredentialsEndpoint',
    withTop({ CredentialsEndpoint: '' }),
    ['CredentialsEndpoint', 'empty string'],
  ],
  ['empty BearerToken', withTop({ BearerToken: '' }), ['BearerToken', 'empty string']],
  ['empty JwtCookie', withCookie({ JwtCookie: '' }), ['JwtCookie', 'empty string']],
  ['empty Source.Bucket', withSource({ Bucket: '', Key: 'k' }), ['Source.Bucket', 'empty string']],
  ['empty Source.Key', withSource({ Bucket: 'abc', Key: '' }), ['Source.Key', 'empty string']],
  ['empty Source.Prefix', withSource({ Bucket: 'abc', Prefix: '' }), ['Source.Prefix', 'empty string']],
  ['empty Dest.Prefix', withDest({ Bucket: 'abc', Prefix: '' }), ['Dest.Prefix', 'empty string']],
  ['empty AppName', withTop({ AppName: '' }), ['AppName', 'empty string']],
  [
    'BearerToken with the Bearer scheme',
    withTop({ BearerToken: `Bearer ${TOKEN}` }),
    ['BearerToken', "'Bearer '"],
  ],
  [
    'BearerToken with a line break',
    withTop({ BearerToken: `${TOKEN}\r\nX-Injected: 1` }),
    ['BearerToken', 'line breaks'],
  ],
  [
    'JwtCookie with a semicolon',
    withCookie({ JwtCookie: `${COOKIE}; other=1` }),
    ['JwtCookie', "contains ';'"],
  ],
  [
    'JwtCookie with non-ASCII characters',
    withCookie({ JwtCookie: `${COOKIE}\u2028` }),
    ['JwtCookie', 'non-ASCII'],
  ],
  [
    'BearerToken with a character above U+00FF',
    withTop({ BearerToken: `${TOKEN}\u20ac` }),
    ['BearerToken', 'non-ASCII'],
  ],
  [
    'BearerTokenParameter with a space',
    withCookie({ JwtCookie: undefined, BearerTokenParameter: '/earthdata/my token' }),
    ['BearerTokenParameter', 'SSM'],
  ],
  [
    'BearerTokenParameter too long',
    withCookie({ JwtCookie: undefined, BearerTokenParameter: `/${'t'.repeat(2048)}` }),
    ['BearerTokenParameter', '2049 characters'],
  ],
  [
    'Options.Sync not a boolean',
    withTop({ Options: { Sync: 'true' } }),
    ['Options.Sync: expected true or false', 'got a string'],
  ],
  [
    'Options.DryRun not a boolean',
    withTop({ Options: { DryRun: 1 } }),
    ['Options.DryRun: expected true or false', 'got a number'],
  ],
  [
    'Key with a leading slash',
    withSource({ Bucket: 'abc', Key: '/etc/passwd' }),
    ['Source.Key', "starts with '/'"],
  ],
  ['Key with a .. segment', withSource({ Bucket: 'abc', Key: 'a/../b' }), ['Source.Key', "'..' segment"]],
  [
    'Prefix with a . segment',
    withSource({ Bucket: 'abc', Prefix: 'a/./' }),
    ['Source.Prefix', "'.' or '..'"],
  ],
  ['Dest.Prefix of ..', withDest({ Bucket: 'abc', Prefix: '../' }), ['Dest.Prefix', "'..' segment"]],
  ['Dest.Key with a DEL', withDest({ Bucket: 'abc', Key: 'a\u007fb' }), ['Dest.Key', 'U+007F']],
  [
    'Keys entry with a C1 control',
    withSource({ Bucket: 'abc', Keys: ['a\u0085b'] }),
    ['Source.Keys[0]', 'control'],
  ],
  [
    'Key with a bidi override',
    withSource({ Bucket: 'abc', Key: 'evil\u202Egnp.exe' }),
    ['Source.Key', 'bidirectional'],
  ],
  [
    'an extglob Include',
    withSource({ Bucket: 'abc', Prefix: 'p/', Include: ['+(a|b)*.nc'] }),
    ['Source.Include[0]', 'extglob'],
  ],
  [
    'a glob over 256 characters',
    withSource({ Bucket: 'abc', Prefix: 'p/', Exclude: [`${'x'.repeat(300)}*`] }),
    ['Source.Exclude[0]', '301 characters'],
  ],
  [
    'more than 50 Include patterns',
    withSource({ Bucket: 'abc', Prefix: 'p/', Include: Array.from({ length: 51 }, (_, i) => `${i}/*`) }),
    ['Source.Include', 'more than 50'],
  ],
  [
    'braces expanding past the cap',
    withSource({ Bucket: 'abc', Prefix: 'p/', Include: ['{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}'] }),
    ['Source.Include[0]', 'expand to more than'],
  ],
  ['Options is null', withTop({ Options: null }), ['Options: expected an object', 'got null']],
  [
    'Options.Delete not a boolean',
    mirrorWith({ Sync: true, Delete: 'yes' }),
    ['Options.Delete: expected true or false', 'got a string'],
  ],
  [
    'Options.Delete without Sync',
    mirrorWith({ Delete: true }),
    ['Options.Delete: only allowed with Options.Sync true'],
  ],
  [
    'Options.Delete with Sync false',
    mirrorWith({ Sync: false, Delete: true, DryRun: true }),
    ['Options.Delete: only allowed with Options.Sync true'],
  ],
  [
    'Options.Delete with a Key source',
    mirrorWith({ Sync: true, Delete: true }, { Bucket: 'abc', Key: 'granule-a.nc' }),
    ['Options.Delete: only allowed with a prefix-type source (Source.Prefix), not with Source.Key'],
  ],
  [
    'Options.Delete with a Keys source',
    mirrorWith({ Sync: true, Delete: true }, { Bucket: 'abc', Keys: ['granule-a.nc', 'granule-b.nc'] }),
    ['Options.Delete: only allowed with a prefix-type source', 'not with Source.Keys'],
  ],
  [
    'Options.Delete without Sync and with a Keys source',
    mirrorWith({ Delete: true }, { Bucket: 'abc', Keys: ['granule-a.nc'] }),
    ['Options.Delete: only allowed with Options.Sync true', 'not with Source.Keys'],
  ],
  [
    'Options.MaxDeletes negative',
    mirrorWith({ Sync: true, Delete: true, MaxDeletes: -1 }),
    ['Options.MaxDeletes: expected a whole number from 0 up', 'negative'],
  ],
  [
    'Options.MaxDeletes a fraction',
    mirrorWith({ Sync: true, Delete: true, MaxDeletes: 2.5 }),
    ['Options.MaxDeletes: expected a whole number from 0 up', 'fraction'],
  ],
  [
    'Options.MaxDeletes beyond safe integers',
    mirrorWith({ Sync: true, Delete: true, MaxDeletes: 2 ** 60 }),
    ['Options.MaxDeletes: expected a whole number from 0 up'],
  ],
  [
    'Options.MaxDeletes a string',
    mirrorWith({ Sync: true, Delete: true, MaxDeletes: '1000000' }),
    ['Options.MaxDeletes: expected a whole number from 0 up', 'got a string'],
  ],
  [
    'Options.MaxDeletes null',
    mirrorWith({ Sync: true, Delete: true, MaxDeletes: null }),
    ['Options.MaxDeletes: expected a whole number', 'got null'],
  ],
  ['Source.Key is null', withSource({ Bucket: 'abc', Key: null }), ['Source.Key', 'got null']],
  // Source.Collection: the CMR form.
  [
    'Collection with Source.Bucket',
    withCollection({ Bucket: 'podaac-ops-cumulus-protected' }),
    ['Source.Bucket: not allowed with Source.Collection', 's3:// URL names its bucket'],
  ],
  [
    'Collection and Prefix together',
    withCollection({ Bucket: 'abc', Prefix: 'p/' }),
    ['Source: expected exactly one of Key', 'got Prefix and Collection'],
  ],
  [
    'Collection is a string',
    withCollection({ Collection: 'C1234567-PODAAC' }),
    ['Source.Collection: expected an object with ConceptId'],
  ],
  [
    'Collection with neither ConceptId nor ShortName',
    withCollection({ Collection: {} }),
    ['Source.Collection: expected exactly one of ConceptId or ShortName', 'got none'],
  ],
  [
    'Collection with ConceptId and ShortName',
    withCollection({ Collection: { ConceptId: 'C1234567-PODAAC', ShortName: 'MUR25', Version: '4.2' } }),
    ['Source.Collection: expected exactly one of ConceptId or ShortName', 'got ConceptId and ShortName'],
  ],
  [
    'ShortName without Version',
    withCollection({ Collection: { ShortName: 'MUR25-JPL', Provider: 'PODAAC' } }),
    ['Source.Collection.Version: required with ShortName'],
  ],
  [
    'Provider with ConceptId',
    withCollection({ Collection: { ConceptId: 'C1234567-PODAAC', Provider: 'PODAAC' } }),
    ['Source.Collection.Provider: only allowed with ShortName'],
  ],
  [
    'a granule concept id as ConceptId',
    withCollection({ Collection: { ConceptId: 'G1234567-PODAAC' } }),
    [
      'Source.Collection.ConceptId: expected a CMR collection concept id',
      'granule concept id',
      'Source.Granules',
    ],
  ],
  [
    'a lower-case concept id',
    withCollection({ Collection: { ConceptId: 'c1234567-podaac' } }),
    ['Source.Collection.ConceptId', 'not of that form'],
  ],
  [
    'ShortName over 85 characters',
    withCollection({ Collection: { ShortName: 'S'.repeat(86), Version: '1' } }),
    ['Source.Collection.ShortName', '86 characters'],
  ],
  [
    'Version with a line break',
    withCollection({ Collection: { ShortName: 'MUR25-JPL', Version: '4.2\nx' } }),
    ['Source.Collection.Version', 'control character'],
  ],
  [
    'Provider with a space',
    withCollection({ Collection: { ShortName: 'MUR25-JPL', Version: '4.2', Provider: 'PO DAAC' } }),
    ['Source.Collection.Provider', 'not of that form'],
  ],
  [
    'misspelt Collection field',
    withCollection({ Collection: { ConceptID: 'C1234567-PODAAC' } }),
    ['Source.Collection.ConceptID', 'did you mean Source.Collection.ConceptId?'],
  ],
  [
    'Temporal with one instant',
    withCollection({ Temporal: [T1] }),
    ['Source.Temporal: expected a list of two ISO-8601 instants', 'got 1 value'],
  ],
  [
    'Temporal without a time zone',
    withCollection({ Temporal: ['2023-03-05T06:07:08', T2] }),
    ['Source.Temporal[0]: expected an ISO-8601 instant with a date, a time and a time zone', 'not one'],
  ],
  [
    'Temporal of dates only',
    withCollection({ Temporal: [T1, '2023-04-05'] }),
    ['Source.Temporal[1]', 'not one'],
  ],
  [
    'Temporal on February 30',
    withCollection({ Temporal: ['2023-02-30T00:00:00Z', T2] }),
    ['Source.Temporal[0]', 'not one'],
  ],
  ['Temporal at 24:00', withCollection({ Temporal: [T1, '2023-04-05T24:00:00Z'] }), ['Source.Temporal[1]']],
  [
    'Temporal ending before it starts',
    withCollection({ Temporal: [T2, T1] }),
    ['Source.Temporal: expected the start at or before the end'],
  ],
  [
    'Temporal is a string',
    withCollection({ Temporal: `${T1},${T2}` }),
    ['Source.Temporal: expected a list', 'got a string'],
  ],
  [
    'BoundingBox of three numbers',
    withCollection({ BoundingBox: [-10, -5, 10] }),
    ['Source.BoundingBox', 'got 3 values'],
  ],
  [
    'BoundingBox longitude out of range',
    withCollection({ BoundingBox: [-190, -5, 10, 5] }),
    ['Source.BoundingBox[0]: expected a longitude between -180 and 180'],
  ],
  [
    'BoundingBox latitude out of range',
    withCollection({ BoundingBox: [-10, -5, 10, 95] }),
    ['Source.BoundingBox[3]: expected a latitude between -90 and 90'],
  ],
  [
    'BoundingBox with a string',
    withCollection({ BoundingBox: [-10, '-5', 10, 5] }),
    ['Source.BoundingBox[1]', 'got a string'],
  ],
  [
    'BoundingBox with South above North',
    withCollection({ BoundingBox: [-10, 50, 10, 5] }),
    ['Source.BoundingBox: expected South at or below North'],
  ],
  [
    'empty Granules',
    withCollection({ Granules: [] }),
    ['Source.Granules: expected a non-empty list', 'empty list'],
  ],
  [
    'duplicate Granules',
    withCollection({ Granules: ['granule-one', 'granule-two', 'granule-one'] }),
    ['Source.Granules[2]: duplicate of Source.Granules[0]'],
  ],
  [
    'more than 2000 Granules',
    withCollection({ Granules: Array.from({ length: 2001 }, (_, i) => `granule-${i}`) }),
    ['Source.Granules: ', 'more than 2000'],
  ],
  [
    'a GranuleUR over 250 characters',
    withCollection({ Granules: ['g'.repeat(251)] }),
    ['Source.Granules[0]', '251 characters'],
  ],
  [
    'CmrUrl over plain http to a remote host',
    withCollection({ CmrUrl: 'http://cmr.example.org/search' }),
    ['Source.CmrUrl: expected the URL of a CMR search root', 'loopback'],
  ],
  [
    'CmrUrl with a query string',
    withCollection({ CmrUrl: 'https://cmr.example.org/search?page_size=1' }),
    ['Source.CmrUrl', 'query string'],
  ],
  [
    'CmrUrl with credentials',
    withCollection({ CmrUrl: 'https://user:hunter2pass@cmr.example.org/search' }),
    ['Source.CmrUrl', 'contains credentials'],
  ],
  [
    'Temporal with a Prefix source',
    withSource({ Bucket: 'abc', Prefix: 'p/', Temporal: [T1, T2] }),
    ['Source.Temporal: only allowed with Source.Collection'],
  ],
  [
    'Granules and CmrUrl with a Keys source',
    withSource({
      Bucket: 'abc',
      Keys: ['k'],
      Granules: ['granule-one'],
      CmrUrl: 'https://cmr.example.org/search',
    }),
    [
      'Source.Granules: only allowed with Source.Collection',
      'Source.CmrUrl: only allowed with Source.Collection',
    ],
  ],
  [
    'Dest.Key with a Collection source',
    withCollection({}, { Dest: { Bucket: 'def', Key: 'renamed.nc' } }),
    ['Dest.Key: only allowed with Source.Key', 'Source.Collection'],
  ],
  [
    'no CredentialsEndpoint with a Prefix source',
    omit(withSource({ Bucket: 'abc', Prefix: 'p/' }), 'CredentialsEndpoint'),
    ['CredentialsEndpoint: required', 'only a Source.Collection may leave it'],
  ],
  [
    'an extglob Include with a Collection',
    withCollection({ Include: ['+(a|b).nc'] }),
    ['Source.Include[0]', 'extglob'],
  ],
  ['Source.Collection is null', withCollection({ Collection: null }), ['Source.Collection', 'got null']],
];

describe('parseEvent: invalid events', () => {
  it('has a broad table', () => {
    expect(new Set(BAD_EVENTS.map(([name]) => name)).size).toBe(BAD_EVENTS.length);
    expect(BAD_EVENTS.length).toBeGreaterThanOrEqual(30);
  });

  it.each(BAD_EVENTS)('rejects %s', (_name, input, fragments) => {
    const message = rejection(input);
    for (const fragment of fragments) expect(message).toContain(fragment);
  });

  it.each(BAD_EVENTS)('never echoes an input value (%s)', (_name, input) => {
    const message = rejection(input);
    expect(message).not.toContain(TOKEN);
    expect(message).not.toContain(COOKIE);
    expect(message).not.toContain('SECRET');
    for (const value of stringLeaves(input).filter((s) => s.length >= 5)) {
      expect(message).not.toContain(value);
    }
  });

  it('keeps the secrets out when they sit in invalid fields', () => {
    const cases: unknown[] = [
      withSource({ Bucket: TOKEN, Key: 'k' }),
      withSource({ Bucket: 'abc', Key: `${TOKEN}\u0001` }),
      withTop({ AppName: `${TOKEN} x` }),
      withTop({ CredentialsEndpoint: `http://${TOKEN}.example.com/` }),
      withTop({ CredentialsEndpoint: `https://x:${TOKEN}@tea-host/` }),
      withTop({ CredentialsEndpoint: TOKEN }),
      withTop({ Options: { Sync: TOKEN } }),
      withTop({ Options: TOKEN }),
      withTop({ Source: TOKEN }),
      withTop({ BearerToken: [TOKEN] }),
      withTop({ BearerToken: { value: TOKEN } }),
      withTop({ BearerToken: `${TOKEN}\n${TOKEN}` }),
      withTop({ BearerToken: `bearer ${TOKEN}` }),
      withTop({ BearerTokenParameter: TOKEN, JwtCookie: COOKIE }),
      withCookie({ JwtCookie: `${COOKIE};${COOKIE}` }),
      withCookie({ JwtCookie: `${COOKIE}\t` }),
      withCookie({ Extra: COOKIE }),
      withCookie({ Source: { Bucket: 'abc', Keys: [COOKIE, COOKIE] } }),
    ];
    for (const input of cases) {
      const message = rejection(input);
      expect(message).not.toContain(TOKEN);
      expect(message).not.toContain(COOKIE);
    }
  });

  it('shortens an unknown field name that could be a pasted token', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJ0eXBlIjoiVXNlciIsInVpZCI6InNlY3JldCJ9.c2lnbmF0dXJl';
    const message = rejection(withTop({ [jwt]: true }));
    expect(message).toContain('unknown field');
    expect(message).not.toContain(jwt);
    expect(message).not.toContain(jwt.slice(0, 30));
  });

  it('does not chain the validation error as a cause (it holds the input)', () => {
    let caught: unknown;
    try {
      parseEvent(withTop({ BearerToken: `Bearer ${TOKEN}` }));
    } catch (error) {
      caught = error;
    }
    expect((caught as Error).cause).toBeUndefined();
    expect(JSON.stringify(caught, Object.getOwnPropertyNames(caught))).not.toContain(TOKEN);
  });

  it('lists every problem of an event, separated by "; "', () => {
    const message = rejection({
      CredentialsEndpoint: 'ftp://tea-host/',
      BearerToken: TOKEN,
      JwtCookie: COOKIE,
      Source: { Bucket: 'UPPER', Prefix: 'p/', Bukcet: 'x' },
      Dest: { Bucket: 'ok-bucket', Key: 'k' },
      Options: { DryRun: 'no' },
    });
    const expected = [
      'CredentialsEndpoint:',
      'Source.Bucket:',
      'Source.Bukcet:',
      'Options.DryRun:',
      'got BearerToken and JwtCookie',
      'Dest.Key:',
    ];
    for (const fragment of expected) expect(message).toContain(fragment);
    expect(message.split('; ')).toHaveLength(expected.length);
  });

  it('caps the number of listed problems', () => {
    const keys = Array.from({ length: 50 }, () => 'same/key.h5');
    const message = rejection(withSource({ Bucket: 'abc', Keys: keys }));
    expect(message).toContain('Source.Keys[1]: duplicate of Source.Keys[0]');
    expect(message).toContain('Source.Keys[20]: duplicate');
    expect(message).not.toContain('Source.Keys[21]');
    expect(message).toMatch(/and 29 more problems$/);
  });

  it('lists what an object accepts when an unknown field looks like none of them', () => {
    expect(rejection(withTop({ Options: { Parallelism: 4 } }))).toContain(
      'Options.Parallelism: unknown field (Options accepts Sync, DryRun, Delete, MaxDeletes)',
    );
  });
});

describe('formatPath', () => {
  it.each<[PropertyKey[], string]>([
    [[], ''],
    [['Source'], 'Source'],
    [['Source', 'Keys', 3], 'Source.Keys[3]'],
    [['Dest', 'with space'], 'Dest["with space"]'],
    [['x'.repeat(40)], `["${'x'.repeat(12)}..."]`],
  ])('%j -> %s', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});
