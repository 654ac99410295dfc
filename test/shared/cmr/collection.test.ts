import { startCmrEmulator, type CmrEmulator } from '../../../emulators/cmr/emulator';
import { documentedCollection, syntheticCollection } from '../../../emulators/cmr/fixtures';
import {
  credentialsEndpointFor,
  findCollection,
  granuleFiles,
  type CmrCollection,
  type FindCollectionOptions,
} from '../../../shared/cmr';
import { DEFAULT_CREDENTIALS_ENDPOINTS } from '../../../shared/credentials/endpoint';
import { DEPLOYED_RUN_POLICY, ONE_MACHINE_POLICY } from '../../../shared/run-policy';

const TOKEN = 'collection-test-token-77';
const TEA = 'https://archive.emulated.earthdata.nasa.gov/s3credentials';
const collections = [
  syntheticCollection({
    conceptId: 'C11-EMU_CLOUD',
    shortName: 'SST',
    version: '1',
    granules: 1,
    credentialsEndpoint: TEA,
  }),
  // The same short name and version at two providers: on premises (no direct access) and in the cloud.
  syntheticCollection({
    conceptId: 'C21-EMU_ONPREM',
    shortName: 'OCEAN',
    version: '2',
    granules: 1,
    directAccess: false,
  }),
  syntheticCollection({ conceptId: 'C22-EMU_CLOUD', shortName: 'OCEAN', version: '2', granules: 1 }),
  syntheticCollection({
    conceptId: 'C31-EMU_CLOUD',
    shortName: 'NOEP',
    version: '1',
    granules: 1,
    credentialsEndpoint: null,
  }),
  syntheticCollection({
    conceptId: 'C41-EMU_SECRET',
    shortName: 'SECRET',
    version: '1',
    granules: 2,
    restricted: true,
  }),
].map((c) => c.collection);

let emulator: CmrEmulator;
let cmr: FindCollectionOptions;
let tokenCalls: number;
const token = async (): Promise<string> => {
  tokenCalls++;
  return TOKEN;
};

beforeEach(async () => {
  emulator = await startCmrEmulator({
    collections: [...collections, documentedCollection()],
    tokens: [TOKEN],
  });
  cmr = { cmrUrl: emulator.url, policy: ONE_MACHINE_POLICY.endpoints };
  tokenCalls = 0;
});

afterEach(async () => {
  await emulator.close();
});

describe('findCollection', () => {
  it('finds a public collection by concept id without resolving the token', async () => {
    const found = await findCollection({ ConceptId: 'C11-EMU_CLOUD' }, { ...cmr, token });
    expect(found).toEqual({
      conceptId: 'C11-EMU_CLOUD',
      shortName: 'SST',
      version: '1',
      provider: 'EMU_CLOUD',
      s3CredentialsEndpoint: TEA,
      s3Buckets: ['emu-protected'],
      region: 'us-west-2',
      directAccess: true,
      restricted: false,
    });
    expect(tokenCalls).toBe(0);
    expect(emulator.tokensSeen).toBe(0);
    expect(emulator.searches[0]).toMatchObject({ resource: 'collections', clientId: 's3-direct-transfer' });
  });

  it('finds one by short name, version and provider, and lists the candidates when several match', async () => {
    const ocean = { ShortName: 'OCEAN', Version: '2' };
    await expect(findCollection(ocean, cmr)).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining(
        'matches 2 collections in CMR (C21-EMU_ONPREM (no direct S3 access), C22-EMU_CLOUD): add Source.Collection.Provider',
      ),
    });
    const found = await findCollection({ ...ocean, Provider: 'EMU_CLOUD' }, cmr);
    expect(found.conceptId).toBe('C22-EMU_CLOUD');
    expect(emulator.searches.at(-1)?.params).toEqual({
      short_name: ['OCEAN'],
      version: ['2'],
      provider: ['EMU_CLOUD'],
      page_size: ['10'],
    });
  });

  it('reads the documented fixture: buckets of every S3BucketAndObjectPrefixNames form', async () => {
    const found = await findCollection({ ShortName: 'DOCS-SST-L4', Version: '2.0' }, cmr);
    expect(found.s3Buckets).toEqual(['docs-cloud-protected', 'docs-cloud-public']);
    expect(found.s3CredentialsEndpoint).toBe('https://archive.docs.earthdata.nasa.gov/s3credentials');
  });

  it('finds a restricted collection only with the token, then marks it restricted', async () => {
    const found = await findCollection({ ConceptId: 'C41-EMU_SECRET' }, { ...cmr, token });
    expect(found).toMatchObject({ conceptId: 'C41-EMU_SECRET', restricted: true });
    expect(tokenCalls).toBe(1);
    expect(emulator.searches.map((s) => s.authorized)).toEqual([false, true]);
    const files: unknown[] = [];
    for await (const page of granuleFiles(
      { collectionConceptId: found.conceptId },
      { ...cmr, token: TOKEN },
    )) {
      files.push(...page);
    }
    expect(files).toHaveLength(4);
  });

  it('says a collection is not found, and how a restricted one would be', async () => {
    await expect(findCollection({ ConceptId: 'C41-EMU_SECRET' }, cmr)).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining(
        'a restricted collection is found only with BearerToken or BearerTokenParameter',
      ),
    });
    await expect(findCollection({ ConceptId: 'C99-EMU_CLOUD' }, { ...cmr, token })).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining(
        'has no collection C99-EMU_CLOUD that your Earthdata Login account may see',
      ),
    });
  });

  it('fails with AuthenticationFailed when CMR rejects the token, never quoting it', async () => {
    const bad = 'rejected-token-5555';
    const error = await findCollection(
      { ConceptId: 'C41-EMU_SECRET' },
      { ...cmr, token: async () => bad },
    ).catch((e: Error) => e);
    expect(error).toMatchObject({
      name: 'AuthenticationFailed',
      message: expect.stringContaining('HTTP 401: Token does not exist'),
    });
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(bad);
  });

  it('refuses a CMR root off the allowlist before any request, whatever the token', async () => {
    let fetched = 0;
    const fetchSpy: typeof fetch = async (...args) => {
      fetched++;
      return fetch(...args);
    };
    const deployed = { ...cmr, policy: DEPLOYED_RUN_POLICY.endpoints, fetch: fetchSpy, token };
    await expect(findCollection({ ConceptId: 'C11-EMU_CLOUD' }, deployed)).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining('Source.CmrUrl: expected a CMR search root on this deployment'),
    });
    const elsewhere = { ...deployed, cmrUrl: 'https://cmr.example.com/search' };
    await expect(findCollection({ ConceptId: 'C11-EMU_CLOUD' }, elsewhere)).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining('its host is not on the allowlist'),
    });
    expect(fetched).toBe(0);
    expect(tokenCalls).toBe(0);
    expect(emulator.searches).toHaveLength(0);
  });
});

describe('credentialsEndpointFor', () => {
  const policy = { allowed: DEFAULT_CREDENTIALS_ENDPOINTS, allowLoopback: false };
  const collection = (fields: Partial<CmrCollection> = {}): CmrCollection => ({
    conceptId: 'C11-EMU_CLOUD',
    shortName: 'SST',
    version: '1',
    provider: 'EMU_CLOUD',
    s3CredentialsEndpoint: TEA,
    s3Buckets: ['emu-protected', 'emu-public'],
    directAccess: true,
    restricted: false,
    ...fields,
  });

  it("takes the collection's endpoint, or the event's when the metadata names none", () => {
    expect(credentialsEndpointFor(collection(), undefined, policy)).toBe(TEA);
    expect(credentialsEndpointFor(collection(), `${TEA}/`, policy)).toBe(TEA);
    const other = 'https://data.other.earthdatacloud.nasa.gov/s3credentials';
    expect(credentialsEndpointFor(collection({ s3CredentialsEndpoint: undefined }), other, policy)).toBe(
      other,
    );
  });

  it.each<[string, CmrCollection, string | undefined, string]>([
    [
      'no direct access',
      collection({ directAccess: false }),
      TEA,
      'Source.Collection: collection C11-EMU_CLOUD offers no direct S3 access',
    ],
    [
      'no endpoint anywhere',
      collection({ s3CredentialsEndpoint: undefined }),
      undefined,
      'CredentialsEndpoint: required, since collection C11-EMU_CLOUD names no S3CredentialsAPIEndpoint',
    ],
    [
      'another endpoint in the event',
      collection(),
      'https://data.lpdaac.earthdatacloud.nasa.gov/s3credentials',
      'CredentialsEndpoint: collection C11-EMU_CLOUD names another credentials endpoint (https://archive.emulated.earthdata.nasa.gov/s3credentials)',
    ],
    [
      'a published endpoint off the allowlist',
      collection({ s3CredentialsEndpoint: 'https://tea.attacker.example/s3credentials' }),
      undefined,
      'the S3CredentialsAPIEndpoint of collection C11-EMU_CLOUD: expected a credentials endpoint this deployment allows',
    ],
    [
      'an event endpoint off the allowlist',
      collection({ s3CredentialsEndpoint: undefined }),
      'http://127.0.0.1:9001/s3credentials',
      'CredentialsEndpoint: expected a credentials endpoint this deployment allows',
    ],
  ])('refuses %s with InvalidInput', (_name, c, endpoint, message) => {
    expect(() => credentialsEndpointFor(c, endpoint, policy)).toThrow(
      expect.objectContaining({ name: 'InvalidInput', message: expect.stringContaining(message) }),
    );
  });
});
