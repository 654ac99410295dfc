import { createHash } from 'node:crypto';
import { startCmrEmulator, type CmrEmulator } from '../../../emulators/cmr/emulator';
import { documentedCollection, syntheticCollection } from '../../../emulators/cmr/fixtures';
import { emulatedSst } from '../../shared/cmr/fixtures';

const TOKEN = 'cmr-emulator-token-42';
const SST = emulatedSst({
  boundingBox: (i) => (i % 2 === 0 ? [-10, -10, 10, 10] : [170, 0, -170, 20]),
});
const RESTRICTED = syntheticCollection({
  conceptId: 'C1300000001-EMU_SECRET',
  shortName: 'EMU-SECRET',
  version: '1',
  granules: 3,
  restricted: true,
});

let emulator: CmrEmulator;

beforeEach(async () => {
  emulator = await startCmrEmulator({
    collections: [SST.collection, RESTRICTED.collection, documentedCollection()],
    tokens: [TOKEN],
  });
});

afterEach(async () => {
  await emulator.close();
});

interface Results {
  hits: number;
  items: { meta: Record<string, unknown>; umm: Record<string, unknown> }[];
}

async function search(
  resource: 'collections' | 'granules',
  params: Record<string, string | string[]>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Results & { errors?: string[] }; headers: Headers }> {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) form.append(key, v);
  }
  const response = await fetch(`${emulator.url}/${resource}.umm_json`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'client-id': 'emulator-test',
      ...headers,
    },
    body: form.toString(),
  });
  return { status: response.status, body: (await response.json()) as Results, headers: response.headers };
}

const urs = (body: Results): string[] => body.items.map((item) => item.umm.GranuleUR as string);

describe('CMR emulator', () => {
  it('listens on 127.0.0.1 and names its search root', () => {
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/search$/);
  });

  it('finds collections by concept id, or short name and version (ignoring case), with CMR-Hits', async () => {
    const byId = await search('collections', { 'concept_id[]': 'C1200000001-EMU_CLOUD' });
    expect(byId.status).toBe(200);
    expect(byId.body.hits).toBe(1);
    expect(byId.headers.get('cmr-hits')).toBe('1');
    expect(byId.body.items[0].meta['concept-id']).toBe('C1200000001-EMU_CLOUD');
    const byName = await search('collections', {
      short_name: 'emu-sst',
      version: '1.0',
      provider: 'emu_cloud',
    });
    expect(byName.body.items.map((i) => i.umm.ShortName)).toEqual(['EMU-SST']);
    const get = await fetch(`${emulator.url}/collections.umm_json?short_name=DOCS-SST-L4&version=2.0`);
    expect(((await get.json()) as Results).items[0].meta['concept-id']).toBe('C1200000042-DOCS_CLOUD');
  });

  it('pages granules with search-after: a value on every non-empty page, none past the end', async () => {
    const params = { collection_concept_id: 'C1200000001-EMU_CLOUD', page_size: '100' };
    const seen: string[] = [];
    const sizes: number[] = [];
    let after: string | null | undefined;
    for (let i = 0; i < 4; i++) {
      const page = await search('granules', params, after ? { 'cmr-search-after': after } : {});
      expect(page.status).toBe(200);
      expect(page.body.hits).toBe(250);
      expect(page.headers.get('cmr-hits')).toBe('250');
      sizes.push(page.body.items.length);
      seen.push(...urs(page.body));
      after = page.headers.get('cmr-search-after');
      if (page.body.items.length > 0) expect(JSON.parse(after as string)).toHaveLength(3);
      else expect(after).toBeNull();
    }
    expect(sizes).toEqual([100, 100, 50, 0]);
    expect(new Set(seen).size).toBe(250);
    expect(emulator.granulePages).toBe(4);
  });

  it('refuses bad search-after values and all-granule search-after queries as CMR does', async () => {
    const params = { collection_concept_id: 'C1200000001-EMU_CLOUD' };
    const notArray = await search('granules', params, { 'cmr-search-after': '12345' });
    expect(notArray.status).toBe(400);
    expect(notArray.body.errors).toEqual([
      'search-after header value is invalid, must be in the form of a JSON array.',
    ]);
    const short = await search('granules', params, { 'cmr-search-after': '[0, "xxx"]' });
    expect(short.body.errors?.[0]).toContain('search_after has 2 value(s) but sort has 3');
    const everywhere = await search('granules', { page_size: '1' }, { 'cmr-search-after': '["A", 1, 2]' });
    expect(everywhere.status).toBe(400);
    expect(everywhere.body.errors?.[0]).toContain(
      'does not allow querying across granules in all collections',
    );
  });

  it('refuses unknown parameters, page sizes over 2000 and page_num with search-after', async () => {
    expect((await search('granules', { collection_concept_id: 'C1-X', colection: 'x' })).body.errors).toEqual(
      ['Parameter [colection] was not recognized.'],
    );
    expect((await search('collections', { page_size: '2001' })).body.errors).toEqual([
      'page_size must be a number between 0 and 2000',
    ]);
    const paged = await search(
      'granules',
      { provider: 'EMU_CLOUD', page_num: '2' },
      { 'cmr-search-after': '["A",1,2]' },
    );
    expect(paged.body.errors).toEqual(['page_num is not allowed with search-after']);
  });

  it('answers 415 to a form body with another content type, as CMR compares it exactly', async () => {
    const response = await fetch(`${emulator.url}/granules.umm_json`, {
      method: 'POST',
      body: new URLSearchParams({ collection_concept_id: 'C1200000001-EMU_CLOUD' }),
    });
    expect(response.status).toBe(415);
    expect(await response.text()).toBe(
      'Unsupported content type [application/x-www-form-urlencoded;charset=UTF-8]',
    );
  });

  it('hides restricted collections and their granules from anonymous searches; 401 for an unknown token', async () => {
    const params = { 'concept_id[]': 'C1300000001-EMU_SECRET' };
    expect((await search('collections', params)).body.hits).toBe(0);
    expect((await search('granules', { collection_concept_id: 'C1300000001-EMU_SECRET' })).body.hits).toBe(0);
    const authorized = { authorization: `Bearer ${TOKEN}` };
    expect((await search('collections', params, authorized)).body.hits).toBe(1);
    expect(
      (await search('granules', { collection_concept_id: 'C1300000001-EMU_SECRET' }, authorized)).body.hits,
    ).toBe(3);
    const unknown = await search('collections', params, { authorization: 'Bearer nope' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ errors: ['Token does not exist'] });
    expect(emulator.tokensSeen).toBe(3);
    expect(emulator.searches.map((s) => s.authorized)).toEqual([false, false, true, true, true]);
    expect(emulator.searches.every((s) => s.clientId === 'emulator-test')).toBe(true);
  });

  it('filters granules by temporal overlap (inclusive), bounding box (across 180°) and GranuleUR', async () => {
    const id = { collection_concept_id: 'C1200000001-EMU_CLOUD', page_size: '2000' };
    // Granules are 3 hours long from 2024-01-01T00:00:00Z: the first day's 8, and the one starting at its end.
    const day = await search('granules', {
      ...id,
      'temporal[]': '2024-01-01T00:00:00Z,2024-01-02T00:00:00Z',
    });
    expect(day.body.hits).toBe(9);
    const east = await search('granules', { ...id, bounding_box: '175,5,179,6' });
    expect(east.body.hits).toBe(125);
    const both = await search('granules', { ...id, bounding_box: '-180,-90,180,90' });
    expect(both.body.hits).toBe(250);
    const names = urs(day.body).slice(0, 2);
    const named = await search('granules', { ...id, 'granule_ur[]': names });
    expect(urs(named.body)).toEqual(names);
    const readable = await search('granules', { ...id, 'readable_granule_name[]': names[0].toLowerCase() });
    expect(urs(readable.body)).toEqual([names[0]]);
  });

  it('injects failures (with Retry-After) and partial answers of a timed-out query', async () => {
    emulator.failNext(2, 503, 1);
    const first = await search('collections', {});
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('1');
    expect(first.body.errors).toEqual(['An Internal Error has occurred.']);
    expect((await search('collections', {})).status).toBe(503);
    expect((await search('collections', {})).status).toBe(200);
    emulator.timeOutNext(1);
    const partial = await search('granules', {
      collection_concept_id: 'C1200000001-EMU_CLOUD',
      page_size: '10',
    });
    expect(partial.headers.get('cmr-timed-out')).toBe('true');
    expect(partial.body.items).toHaveLength(5);
  });

  it('forgets a deleted granule, and resets its counters', async () => {
    const emulatorSst = emulator.collections[0];
    const ur = emulatorSst.granules[0].umm.GranuleUR as string;
    expect(emulator.deleteGranule(ur)).toBe(true);
    expect(emulator.deleteGranule(ur)).toBe(false);
    const after = await search('granules', {
      collection_concept_id: 'C1200000001-EMU_CLOUD',
      'granule_ur[]': ur,
    });
    expect(after.body.hits).toBe(0);
    emulator.reset();
    expect(emulator.searches).toHaveLength(0);
    expect(emulator.granulePages).toBe(0);
  });
});

describe('CMR fixtures', () => {
  it('publishes checksums computed from the sample bytes, and wrong ones where asked', () => {
    const { objects } = syntheticCollection({
      conceptId: 'C7-P',
      shortName: 'S',
      version: '1',
      granules: 2,
      files: [
        { suffix: '.h5', size: 100, checksum: 'SHA-512' },
        { suffix: '.txt', size: 10, checksum: 'SHA-1' },
        { suffix: '.bin', size: 5 },
      ],
      buckets: ['bucket-a', 'bucket-b'],
      corrupt: (g, f) => g === 1 && f === 0,
    });
    expect(objects.map((o) => `${o.bucket}/${o.key}`)).toEqual([
      'bucket-a/S/S.20240101T000000.g0.h5',
      'bucket-b/S/S.20240101T000000.g0.txt',
      'bucket-a/S/S.20240101T000000.g0.bin',
      'bucket-a/S/S.20240101T030000.g1.h5',
      'bucket-b/S/S.20240101T030000.g1.txt',
      'bucket-a/S/S.20240101T030000.g1.bin',
    ]);
    const sha = (algorithm: string, body: Buffer) => createHash(algorithm).update(body).digest('hex');
    expect(objects[0].checksum).toEqual({ algorithm: 'SHA-512', value: sha('sha512', objects[0].body) });
    expect(objects[1].checksum).toEqual({ algorithm: 'SHA-1', value: sha('sha1', objects[1].body) });
    expect(objects[2].checksum).toBeUndefined();
    expect(objects[3].checksum?.value).not.toBe(sha('sha512', objects[3].body));
    expect(objects[0].body).toHaveLength(100);
  });

  it('shapes records as CMR does (meta and umm, UMM-G and UMM-C fields)', () => {
    const granule = SST.collection.granules[0];
    expect(Object.keys(granule.meta)).toEqual(
      expect.arrayContaining([
        'concept-type',
        'concept-id',
        'collection-concept-id',
        'provider-id',
        'native-id',
      ]),
    );
    expect(granule.umm).toMatchObject({
      GranuleUR: 'EMU-SST.20240101T000000.g0',
      CollectionReference: { ShortName: 'EMU-SST', Version: '1.0' },
      MetadataSpecification: { Name: 'UMM-G' },
    });
    expect(SST.collection.item.umm.DirectDistributionInformation).toMatchObject({
      Region: 'us-west-2',
      S3CredentialsAPIEndpoint: 'https://data.emulated.earthdata.nasa.gov/s3credentials',
    });
    const documented = documentedCollection();
    expect(documented.granules).toHaveLength(2);
    expect(documented.item.meta['concept-id']).toBe('C1200000042-DOCS_CLOUD');
  });
});
