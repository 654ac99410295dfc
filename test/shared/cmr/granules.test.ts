import { startCmrEmulator, type CmrEmulator } from '../../../emulators/cmr/emulator';
import { syntheticCollection, type FixtureObject } from '../../../emulators/cmr/fixtures';
import {
  findCollection,
  granuleFiles,
  granuleQuery,
  type CmrFile,
  type CmrOptions,
  type GranuleFilesOptions,
  type GranuleQuery,
  type GranuleSearchStats,
} from '../../../shared/cmr';
import { parseAnyEvent, type CollectionSource } from '../../../shared/event';
import { ONE_MACHINE_POLICY } from '../../../shared/run-policy';
import { emulatedSst } from './fixtures';

const TOKEN = 'granule-test-token-0123';
const SST = emulatedSst({
  buckets: ['emu-protected', 'emu-public'],
  boundingBox: (i) => (i % 5 === 0 ? [100, 10, 120, 30] : [-60, -40, -20, 0]),
});
const SECRET = syntheticCollection({
  conceptId: 'C1300000001-EMU_SECRET',
  shortName: 'EMU-SECRET',
  version: '1',
  granules: 4,
  restricted: true,
});

let emulator: CmrEmulator;
let cmr: CmrOptions;

beforeEach(async () => {
  emulator = await startCmrEmulator({ collections: [SST.collection, SECRET.collection], tokens: [TOKEN] });
  cmr = { cmrUrl: emulator.url, policy: ONE_MACHINE_POLICY.endpoints };
});

afterEach(async () => {
  await emulator.close();
});

async function collect(
  query: GranuleQuery,
  options: Partial<GranuleFilesOptions> = {},
): Promise<{ files: CmrFile[]; pages: number; stats: GranuleSearchStats }> {
  const files: CmrFile[] = [];
  let pages = 0;
  const generator = granuleFiles(query, { ...cmr, ...options });
  for (;;) {
    const next = await generator.next();
    if (next.done) return { files, pages, stats: next.value };
    pages++;
    files.push(...next.value);
  }
}

const location = (o: FixtureObject | CmrFile): string => `${o.bucket}/${o.key}`;
const published = (o: FixtureObject) => ({
  algorithm: o.checksum?.algorithm,
  value: o.checksum?.value,
});

describe('granuleFiles against the emulated CMR', () => {
  it('lists a 250-granule collection of 2 files each over three pages, with each published checksum', async () => {
    const { files, pages, stats } = await collect({
      collectionConceptId: 'C1200000001-EMU_CLOUD',
      pageSize: 100,
    });
    expect(pages).toBe(3);
    expect(emulator.granulePages).toBe(3);
    expect(files.map(location)).toEqual(SST.objects.map(location));
    files.forEach((file, i) => {
      const object = SST.objects[i];
      expect(file.granuleUR).toBe(object.granuleUR);
      expect(file.size).toBe(object.body.length);
      expect(file.checksum).toEqual(published(object));
    });
    expect(stats).toEqual({
      hits: 250,
      pages: 3,
      granules: 250,
      files: 500,
      filteredOut: 0,
      granulesWithoutDirectAccess: 0,
      invalidUrls: 0,
      checksums: { MD5: 250, 'SHA-1': 0, 'SHA-256': 250, 'SHA-512': 0, none: 0, unusable: 0 },
    });
  });

  it('sends the search-after value of each page back, and all the query on every page', async () => {
    await collect({ collectionConceptId: 'C1200000001-EMU_CLOUD', pageSize: 100 });
    const searches = emulator.searches;
    expect(searches.map((s) => s.searchAfter === undefined)).toEqual([true, false, false]);
    expect(new Set(searches.map((s) => s.searchAfter)).size).toBe(3);
    for (const s of searches) {
      expect(s.method).toBe('POST');
      expect(s.params).toEqual({ collection_concept_id: ['C1200000001-EMU_CLOUD'], page_size: ['100'] });
    }
  });

  it('copies exactly the files of the granules a temporal filter selects, from an event', async () => {
    const event = parseAnyEvent({
      BearerToken: TOKEN,
      Source: {
        Collection: { ShortName: 'EMU-SST', Version: '1.0' },
        CmrUrl: emulator.url,
        Temporal: ['2024-01-10T00:00:00Z', '2024-01-20T23:59:59Z'],
      },
      Dest: { Bucket: 'my-bucket', Prefix: 'sst/' },
    });
    const source = event.Source as CollectionSource;
    const collection = await findCollection(source.Collection, cmr);
    const { files, stats } = await collect(granuleQuery(source, collection, 100));
    const from = Date.parse('2024-01-10T00:00:00Z');
    const to = Date.parse('2024-01-20T23:59:59Z');
    const expected = SST.objects.filter((o) => {
      const g = Number(/\.g(\d+)$/.exec(o.granuleUR)?.[1]);
      const start = Date.parse('2024-01-01T00:00:00Z') + g * 3 * 3600_000;
      return start <= to && start + 3 * 3600_000 - 1000 >= from;
    });
    expect(expected).toHaveLength(2 * 88);
    expect(files.map(location)).toEqual(expected.map(location));
    expect(stats.hits).toBe(88);
    expect(stats.pages).toBe(1);
  });

  it('applies a bounding box, a list of GranuleURs, and Include/Exclude on file names', async () => {
    const boxed = await collect({
      collectionConceptId: 'C1200000001-EMU_CLOUD',
      boundingBox: [90, 0, 130, 40],
    });
    expect(boxed.stats.granules).toBe(50);
    const urs = [SST.objects[0].granuleUR, SST.objects[10].granuleUR];
    const named = await collect({
      collectionConceptId: 'C1200000001-EMU_CLOUD',
      granuleURs: urs,
      include: ['*.nc'],
    });
    expect(named.files.map((f) => f.key)).toEqual([SST.objects[0].key, SST.objects[10].key]);
    expect(named.stats).toMatchObject({ granules: 2, files: 2, filteredOut: 2 });
    const excluded = await collect({
      collectionConceptId: 'C1200000001-EMU_CLOUD',
      granuleURs: urs,
      exclude: ['*.nc'],
    });
    expect(excluded.files.every((f) => f.key.endsWith('.json') && f.checksum?.algorithm === 'MD5')).toBe(
      true,
    );
  });

  it('holds one page at a time: the next page is asked for only when the consumer pulls it', async () => {
    const generator = granuleFiles({ collectionConceptId: 'C1200000001-EMU_CLOUD', pageSize: 50 }, cmr);
    expect(emulator.granulePages).toBe(0);
    const first = await generator.next();
    expect(first.done).toBe(false);
    expect(first.value).toHaveLength(100);
    expect(emulator.granulePages).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(emulator.granulePages).toBe(1);
    await generator.next();
    expect(emulator.granulePages).toBe(2);
    await generator.return({} as GranuleSearchStats);
    expect(emulator.granulePages).toBe(2);
  });

  it('sends the token only when told to, and Client-Id always', async () => {
    await collect({ collectionConceptId: 'C1200000001-EMU_CLOUD', pageSize: 100 });
    expect(emulator.tokensSeen).toBe(0);
    const anonymous = await collect({ collectionConceptId: 'C1300000001-EMU_SECRET' });
    expect(anonymous.files).toEqual([]);
    expect(anonymous.stats).toMatchObject({ hits: 0, pages: 1 });
    const withToken = await collect(
      { collectionConceptId: 'C1300000001-EMU_SECRET', pageSize: 2 },
      { token: TOKEN },
    );
    expect(withToken.files).toHaveLength(8);
    expect(emulator.searches.map((s) => s.authorized)).toEqual([
      false,
      false,
      false,
      false,
      true,
      true,
      true,
    ]);
    expect(emulator.searches.every((s) => s.clientId === 's3-direct-transfer')).toBe(true);
  });

  it('asks once more when the collection is an exact number of pages, and stops at the empty page', async () => {
    const { pages, stats } = await collect({ collectionConceptId: 'C1200000001-EMU_CLOUD', pageSize: 125 });
    expect(pages).toBe(3);
    expect(stats.pages).toBe(3);
    expect(emulator.searches.at(-1)?.searchAfter).toBeDefined();
  });

  it('reports every page through onPage, the last one with the totals', async () => {
    const reports: GranuleSearchStats[] = [];
    await collect(
      { collectionConceptId: 'C1200000001-EMU_CLOUD', pageSize: 100 },
      { onPage: (s) => reports.push(s) },
    );
    expect(reports.map((r) => [r.pages, r.granules, r.files])).toEqual([
      [1, 100, 200],
      [2, 200, 400],
      [3, 250, 500],
    ]);
  });

  it('asks again with half the page size when a page is over the size cap', async () => {
    const warnings: unknown[] = [];
    const log = { debug: () => undefined, warn: (_m: string, a: unknown) => warnings.push(a) };
    const pageBytes = JSON.stringify({ items: SST.collection.granules.slice(0, 100) }).length;
    const { files } = await collect(
      { collectionConceptId: 'C1200000001-EMU_CLOUD', pageSize: 100 },
      { maxPageBytes: Math.floor(pageBytes * 0.75), log },
    );
    expect(files.map(location)).toEqual(SST.objects.map(location));
    expect(warnings).toContainEqual(expect.objectContaining({ pageSize: 50 }));
    expect(emulator.searches.map((s) => s.params.page_size[0])).toEqual([
      '100',
      '50',
      '50',
      '50',
      '50',
      '50',
      '50',
    ]);
  });

  it('fails with CmrError when even the smallest page is over the cap', async () => {
    await expect(
      collect({ collectionConceptId: 'C1200000001-EMU_CLOUD', pageSize: 10 }, { maxPageBytes: 1000 }),
    ).rejects.toMatchObject({ name: 'CmrError', message: expect.stringContaining('over 1000 bytes') });
  });

  it('asks again when CMR timed out and answered with part of a page', async () => {
    emulator.timeOutNext(1);
    const { files } = await collect(
      { collectionConceptId: 'C1200000001-EMU_CLOUD', pageSize: 100 },
      { sleep: async () => undefined },
    );
    expect(files).toHaveLength(500);
    expect(emulator.granulePages).toBe(4);
  });
});
