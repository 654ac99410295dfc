import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromContext, DEFAULT_CONFIG, parseDestinations, parseParameterPath } from '../../infra/config';

const from = (context: Record<string, unknown>) => configFromContext((key) => context[key]);

describe('destinationBuckets', () => {
  it('accepts the -c string form, commas or spaces, with prefixes', () => {
    expect(parseDestinations('a-bucket,b.bucket/prefix/, c-bucket  d-bucket/x')).toEqual([
      { bucketName: 'a-bucket' },
      { bucketName: 'b.bucket', prefix: 'prefix/' },
      { bucketName: 'c-bucket' },
      // A prefix ends with '/': d-bucket/x must not also allow d-bucket/x-private/...
      { bucketName: 'd-bucket', prefix: 'x/' },
    ]);
  });

  it('accepts a cdk.json list, a JSON list in a string, and s3:// URLs', () => {
    expect(parseDestinations(['my-bucket', 's3://other-bucket/in/'])).toEqual([
      { bucketName: 'my-bucket' },
      { bucketName: 'other-bucket', prefix: 'in/' },
    ]);
    expect(parseDestinations('["my-bucket","other-bucket/in/"]')).toEqual([
      { bucketName: 'my-bucket' },
      { bucketName: 'other-bucket', prefix: 'in/' },
    ]);
  });

  it('is empty when unset or empty', () => {
    expect(parseDestinations(undefined)).toEqual([]);
    expect(parseDestinations('')).toEqual([]);
    expect(parseDestinations([])).toEqual([]);
    expect(parseDestinations(' , ')).toEqual([]);
  });

  it('rejects invalid bucket names, wildcards and non-strings', () => {
    expect(() => parseDestinations('My_Bucket')).toThrow(/"My_Bucket" is not a valid S3 bucket name/);
    expect(() => parseDestinations('ab')).toThrow(/not a valid/);
    expect(() => parseDestinations('a..b')).toThrow(/not a valid/);
    expect(() => parseDestinations('bucket/pre*')).toThrow(/wildcards/);
    expect(() => parseDestinations([42])).toThrow(/expected strings/);
    expect(() => parseDestinations('[not json')).toThrow(/not a JSON list/);
    expect(() => parseDestinations({ bucket: 'x' })).toThrow(/expected a list/);
  });
});

describe('configFromContext', () => {
  it('uses the defaults for an empty context', () => {
    expect(from({})).toEqual({ ...DEFAULT_CONFIG, destinationBuckets: [] });
    expect(DEFAULT_CONFIG).toEqual({
      maxConcurrency: 100,
      objectsPerPack: 500,
      partFanOutBytes: 4 * 1024 ** 3,
      toleratedFailurePercentage: 10,
      copyMemoryMb: 1769,
      copyTimeoutMinutes: 15,
      tokenParameterPath: '/s3-direct-transfer/',
      mirrors: [],
      dashboard: true,
      credentialsEndpoints: [
        'https://*.earthdata.nasa.gov',
        'https://*.earthdatacloud.nasa.gov',
        'https://*.asf.alaska.edu',
      ],
      allowInlineTokens: false,
      allowMirrorDeletes: false,
      executionTimeout: 86_400,
      destinationKmsKeys: [],
    });
  });

  it('reads numbers given as strings on the command line, or as numbers in cdk.json', () => {
    expect(
      from({
        destinationBuckets: 'a-bucket',
        maxConcurrency: '250',
        objectsPerPack: 5,
        partFanOutBytes: '1073741824',
        toleratedFailurePercentage: '2.5',
        copyMemoryMb: '3008',
        copyTimeoutMinutes: '10',
        tokenParameterPath: '/my/tokens',
      }),
    ).toEqual({
      destinationBuckets: [{ bucketName: 'a-bucket' }],
      maxConcurrency: 250,
      objectsPerPack: 5,
      partFanOutBytes: 1024 ** 3,
      toleratedFailurePercentage: 2.5,
      copyMemoryMb: 3008,
      copyTimeoutMinutes: 10,
      tokenParameterPath: '/my/tokens/',
      mirrors: [],
      dashboard: true,
      credentialsEndpoints: DEFAULT_CONFIG.credentialsEndpoints,
      allowInlineTokens: false,
      allowMirrorDeletes: false,
      executionTimeout: 86_400,
      destinationKmsKeys: [],
    });
  });

  it('reads itemsPerBatch, the earlier name of objectsPerPack', () => {
    expect(from({ itemsPerBatch: '40' }).objectsPerPack).toBe(40);
    expect(from({ itemsPerBatch: '40', objectsPerPack: '30' }).objectsPerPack).toBe(30);
  });

  it('names the key of a bad value', () => {
    expect(() => from({ maxConcurrency: 'lots' })).toThrow(
      /^maxConcurrency: expected a number from 1 to 10000/,
    );
    expect(() => from({ objectsPerPack: '0' })).toThrow(/^objectsPerPack/);
    expect(() => from({ objectsPerPack: '2.5' })).toThrow(/^objectsPerPack: expected a whole number/);
    expect(() => from({ partFanOutBytes: '1000' })).toThrow(/^partFanOutBytes/);
    expect(() => from({ toleratedFailurePercentage: 101 })).toThrow(/^toleratedFailurePercentage/);
    expect(() => from({ copyTimeoutMinutes: 16 })).toThrow(/^copyTimeoutMinutes/);
    expect(() => from({ copyMemoryMb: 64 })).toThrow(/^copyMemoryMb/);
    expect(() => from({ tokenParameterPath: 'no-slash' })).toThrow(/^tokenParameterPath/);
  });

  it('normalizes the parameter path', () => {
    expect(parseParameterPath('/')).toBe('/');
    expect(parseParameterPath('/a/b')).toBe('/a/b/');
    expect(() => parseParameterPath('/a b/')).toThrow(/tokenParameterPath/);
  });
});

describe('dashboard and alarmEmail', () => {
  it('reads dashboard as a boolean or its -c string form', () => {
    expect(from({ dashboard: 'false' }).dashboard).toBe(false);
    expect(from({ dashboard: false }).dashboard).toBe(false);
    expect(from({ dashboard: 'true' }).dashboard).toBe(true);
    expect(() => from({ dashboard: 'no' })).toThrow(/^dashboard: expected true or false/);
  });

  it('takes an e-mail address for the alarms, and nothing else', () => {
    expect(from({}).alarmEmail).toBeUndefined();
    expect(from({ alarmEmail: ' ops@example.org ' }).alarmEmail).toBe('ops@example.org');
    expect(() => from({ alarmEmail: 'not-an-address' })).toThrow(/^alarmEmail: expected an e-mail address/);
    expect(() => from({ alarmEmail: 42 })).toThrow(/^alarmEmail: expected a string/);
  });
});

describe('token custody settings', () => {
  it('reads the credentials endpoint allowlist as a list or a -c string, and refuses a bad entry', () => {
    expect(
      from({ credentialsEndpoints: 'https://tea.example.org/s3credentials,https://*.example.net' })
        .credentialsEndpoints,
    ).toEqual(['https://tea.example.org/s3credentials', 'https://*.example.net']);
    expect(from({ credentialsEndpoints: ['https://*.daac.example.org'] }).credentialsEndpoints).toEqual([
      'https://*.daac.example.org',
    ]);
    expect(() => from({ credentialsEndpoints: 'https://127.0.0.1/x' })).toThrow(
      /^credentialsEndpoints: .*IP literals/,
    );
    expect(() => from({ credentialsEndpoints: 'http://tea.example.org/x' })).toThrow(
      /^credentialsEndpoints: .*https/,
    );
  });

  it('reads allowInlineTokens, executionTimeout (seconds), the bucket owner and destination KMS keys', () => {
    const config = from({
      allowInlineTokens: 'true',
      executionTimeout: '3600',
      destinationBucketOwner: '123456789012',
      destinationKmsKeys: 'arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    });
    expect(config).toMatchObject({
      allowInlineTokens: true,
      executionTimeout: 3600,
      destinationBucketOwner: '123456789012',
      destinationKmsKeys: ['arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
    });
    expect(from({ destinationBucketOwner: 'any' }).destinationBucketOwner).toBe('any');
    expect(() => from({ executionTimeout: '30' })).toThrow(/^executionTimeout/);
    expect(() => from({ destinationBucketOwner: '1234' })).toThrow(/^destinationBucketOwner/);
    expect(() => from({ destinationKmsKeys: 'alias/mine' })).toThrow(/^destinationKmsKeys/);
  });

  it('reads allowMirrorDeletes (off unless said) and lets the mirrors file delete only then', () => {
    expect(from({}).allowMirrorDeletes).toBe(false);
    expect(from({ allowMirrorDeletes: 'true' }).allowMirrorDeletes).toBe(true);
    expect(from({ allowMirrorDeletes: false }).allowMirrorDeletes).toBe(false);
    expect(() => from({ allowMirrorDeletes: 'yes' })).toThrow(/^allowMirrorDeletes: expected true or false/);
    const file = join(mkdtempSync(join(tmpdir(), 'config-deletes-')), 'mirrors.json');
    const event = {
      CredentialsEndpoint: 'https://archive.podaac.earthdata.nasa.gov/s3credentials',
      BearerTokenParameter: '/s3-direct-transfer/edl-token',
      Source: { Bucket: 'podaac-ops-cumulus-protected', Prefix: 'MUR-JPL-L4-GLOB-v4.1/' },
      Dest: { Bucket: 'my-science-bucket', Prefix: 'mur/' },
      Options: { Delete: true, MaxDeletes: 10 },
    };
    writeFileSync(file, JSON.stringify({ mirrors: [{ name: 'mur', schedule: 'rate(1 day)', event }] }));
    const context = { mirrorsFile: file, destinationBuckets: 'my-science-bucket' };
    expect(() => from(context)).toThrow(/mirror "mur": event\.Options\.Delete: .*allowMirrorDeletes=true/);
    const [mirror] = from({ ...context, allowMirrorDeletes: 'true' }).mirrors;
    expect(mirror.event.Options).toEqual({ Delete: true, MaxDeletes: 10, Sync: true });
  });
});
