/**
 * End to end on one machine with a `Source.Collection` event: the emulated CMR (emulators/cmr/) answers
 * the searches over 127.0.0.1, the embedded world serves the files and the credentials. Tiny objects,
 * so that the file stays fast; the paging is forced with a small CMR page size.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ItemResult } from '../../shared/contracts';
import { runPipelineLocally, type LocalRunOptions } from '../../local/pipeline';
import { startCmrEmulator, type CmrEmulator } from '../../emulators/cmr/emulator';
import { syntheticCollection, type FixtureObject } from '../../emulators/cmr/fixtures';
import { listKeys } from '../helpers/cli';
import { startE2EWorld, type E2EWorld } from './world';

jest.setTimeout(180_000);

const GRANULES = 250;
const PAGE_SIZE = 100;
const HOUR = 3600 * 1000;
const START = Date.parse('2024-01-01T00:00:00Z');
// Granules are 3 hours each, one after the other: [20, 239] overlap this range, 220 of them.
const FIRST = 20;
const LAST = 239;
const TEMPORAL = [
  new Date(START + FIRST * 3 * HOUR).toISOString(),
  new Date(START + LAST * 3 * HOUR + HOUR).toISOString(),
];
const CORRUPT = { granule: 50, file: 0 };
const GONE = { granule: 60, file: 1 };
const DEST_PREFIX = 'from-cmr/';

let world: E2EWorld;
let cmr: CmrEmulator;
let admin: S3Client;
let objects: FixtureObject[];
let DEST: string;
let big: FixtureObject[];
const MiB = 1024 * 1024;
const BIG = 12 * MiB;

const granuleIndex = (o: FixtureObject): number => Number(/\.g(\d+)$/.exec(o.granuleUR)![1]);
const fileIndex = (o: FixtureObject): number => (o.key.endsWith('.nc') ? 0 : 1);
const is = (o: FixtureObject, at: { granule: number; file: number }): boolean =>
  granuleIndex(o) === at.granule && fileIndex(o) === at.file;

function event(
  source: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    BearerToken: world.token,
    Source: { CmrUrl: cmr.url, ...source },
    Dest: { Bucket: DEST, Prefix: DEST_PREFIX },
    ...extra,
  };
}

const options = (): LocalRunOptions => ({
  s3Config: world.s3Config(),
  destinationCredentials: world.destinationCredentials,
  maxConcurrency: 8,
  cmrPageSize: PAGE_SIZE,
});

beforeAll(async () => {
  world = await startE2EWorld({
    sourceBuckets: ['emu-nc', 'emu-json'],
    destinationBuckets: ['cmr-destination'],
  });
  DEST = world.bucket('cmr-destination');
  admin = world.adminClient();
  const sst = syntheticCollection({
    conceptId: 'C1200000001-EMU_CLOUD',
    shortName: 'EMU-SST',
    version: '1',
    granules: GRANULES,
    buckets: [world.bucket('emu-nc'), world.bucket('emu-json')],
    credentialsEndpoint: world.credentialsEndpoint,
    corrupt: (g, f) => g === CORRUPT.granule && f === CORRUPT.file,
  });
  const noDirect = syntheticCollection({
    conceptId: 'C1200000002-EMU_CLOUD',
    shortName: 'EMU-HTTPS-ONLY',
    version: '1',
    granules: 3,
    directAccess: false,
  });
  // Its metadata names another archive's endpoint than the one the events below give.
  const otherArchive = syntheticCollection({
    conceptId: 'C1200000003-EMU_CLOUD',
    shortName: 'EMU-OTHER',
    version: '2',
    granules: 3,
  });
  // A small file in one bucket, a giant one (copied as part ranges) in another.
  const giantCollection = syntheticCollection({
    conceptId: 'C1200000004-EMU_CLOUD',
    shortName: 'EMU-BIG',
    version: '1',
    granules: 1,
    files: [
      { suffix: '.json', size: 300, checksum: 'MD5' },
      { suffix: '.nc', size: BIG, checksum: 'SHA-256' },
    ],
    buckets: [world.bucket('emu-nc'), world.bucket('emu-json')],
    credentialsEndpoint: world.credentialsEndpoint,
  });
  big = giantCollection.objects;
  objects = sst.objects;
  cmr = await startCmrEmulator({
    collections: [sst.collection, noDirect.collection, otherArchive.collection, giantCollection.collection],
    tokens: [world.token],
  });
  for (const o of [...objects, ...big]) {
    if (is(o, GONE)) continue; // deleted from the archive after CMR indexed it
    await admin.send(new PutObjectCommand({ Bucket: o.bucket, Key: o.key, Body: o.body }));
  }
});

afterAll(async () => {
  await cmr?.close();
  await world?.stop();
});

describe('a collection over three pages with a temporal filter', () => {
  let outcome: Awaited<ReturnType<typeof runPipelineLocally>>;
  let items: ItemResult[];
  const selected = (): FixtureObject[] =>
    objects.filter((o) => granuleIndex(o) >= FIRST && granuleIndex(o) <= LAST);

  beforeAll(async () => {
    cmr.reset();
    world.tea.reset();
    outcome = await runPipelineLocally(
      event({ Collection: { ShortName: 'EMU-SST', Version: '1' }, Temporal: TEMPORAL }),
      options(),
    );
    const report = JSON.parse((await outcome.staging.getText(outcome.result!.Report!.Key))!) as {
      Items: ItemResult[];
    };
    items = report.Items;
  });

  it('copies exactly the matching files, the corrupt and the gone one failing alone', () => {
    expect(outcome.execution.Status).toBe('SUCCEEDED');
    const expected = selected().length;
    expect(expected).toBe(2 * (LAST - FIRST + 1));
    expect(outcome.result).toMatchObject({ Copied: expected - 2, Failed: 2, Skipped: 0 });
    expect(outcome.result!.Cmr).toMatchObject({
      Collection: 'C1200000001-EMU_CLOUD',
      Hits: LAST - FIRST + 1,
      Pages: 3,
      Granules: LAST - FIRST + 1,
      Files: expected,
    });
  });

  it('asks CMR page by page with search-after, a Client-Id and no token for a public collection', () => {
    const granuleSearches = cmr.searches.filter((s) => s.resource === 'granules');
    expect(granuleSearches).toHaveLength(3);
    expect(granuleSearches.map((s) => s.searchAfter === undefined)).toEqual([true, false, false]);
    expect(cmr.searches.every((s) => s.clientId === 's3-direct-transfer' && !s.authorized)).toBe(true);
    expect(cmr.tokensSeen).toBe(0);
  });

  it('has at the destination exactly the copied files, with their bytes', async () => {
    const good = selected().filter((o) => !is(o, CORRUPT) && !is(o, GONE));
    const keys = await listKeys(admin, DEST, DEST_PREFIX);
    expect(new Set(keys)).toEqual(new Set(good.map((o) => DEST_PREFIX + o.key)));
    for (const o of [good[0], good[good.length - 1]]) {
      const got = await admin.send(new GetObjectCommand({ Bucket: DEST, Key: DEST_PREFIX + o.key }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(o.body)).toBe(true);
    }
  });

  it('verifies each file by its published SHA-256 or MD5, and names its granule', () => {
    expect(items).toHaveLength(selected().length);
    const byKey = new Map(items.map((i) => [i.Key, i]));
    for (const o of selected()) {
      const item = byKey.get(o.key)!;
      expect(item.GranuleUR).toBe(o.granuleUR);
      if (is(o, CORRUPT) || is(o, GONE)) continue;
      expect(item).toMatchObject({
        Status: 'COPIED',
        Check: o.key.endsWith('.nc') ? 'sha256-published' : 'md5-published',
      });
    }
  });

  it('fails the file with a wrong published checksum with IntegrityError, nothing of it written', async () => {
    const corrupt = selected().find((o) => is(o, CORRUPT))!;
    const item = items.find((i) => i.Key === corrupt.key)!;
    expect(item).toMatchObject({ Status: 'FAILED', Error: 'IntegrityError', GranuleUR: corrupt.granuleUR });
    expect(item.Cause).toMatch(/SHA-256/);
    const keys = await listKeys(admin, DEST, DEST_PREFIX);
    expect(keys).not.toContain(DEST_PREFIX + corrupt.key);
  });

  it('fails a granule file gone by copy time with SourceNotFound, alone', () => {
    const gone = selected().find((o) => is(o, GONE))!;
    expect(items.find((i) => i.Key === gone.key)).toMatchObject({
      Status: 'FAILED',
      Error: 'SourceNotFound',
      GranuleUR: gone.granuleUR,
    });
    const failures = outcome.result!.Failures.map((f) => f.Error).sort();
    expect(failures).toEqual(['IntegrityError', 'SourceNotFound']);
  });
});

it('a dry run reports the hits and pages and copies nothing', async () => {
  const before = (await listKeys(admin, DEST, 'dry/')).length;
  const outcome = await runPipelineLocally(
    event(
      { Collection: { ConceptId: 'C1200000001-EMU_CLOUD' }, Temporal: TEMPORAL, Include: ['*.nc'] },
      { Options: { DryRun: true }, Dest: { Bucket: DEST, Prefix: 'dry/' } },
    ),
    options(),
  );
  expect(outcome.result).toMatchObject({
    DryRun: true,
    Planned: LAST - FIRST + 1,
    Cmr: { Hits: LAST - FIRST + 1, Pages: 3, Files: LAST - FIRST + 1 },
  });
  expect((await listKeys(admin, DEST, 'dry/')).length).toBe(before);
});

it('copies a giant file from its own bucket as part ranges, and says its published checksum was not checked', async () => {
  const outcome = await runPipelineLocally(
    event({ Collection: { ConceptId: 'C1200000004-EMU_CLOUD' } }, { Dest: { Bucket: DEST, Prefix: 'big/' } }),
    { ...options(), units: { partSize: 5 * MiB, partFanOutBytes: 10 * MiB } },
  );
  expect(outcome.result).toMatchObject({ Copied: 2, Failed: 0 });
  const report = JSON.parse((await outcome.staging.getText(outcome.result!.Report!.Key))!) as {
    Items: ItemResult[];
  };
  const giant = big.find((o) => o.key.endsWith('.nc'))!;
  const line = report.Items.find((i) => i.Key === giant.key)!;
  expect(line).toMatchObject({ Status: 'COPIED', GranuleUR: giant.granuleUR });
  expect(line.Check).not.toMatch(/published/);
  expect(line.Note).toMatch(
    /published SHA-256 checksum was not checked: the object was copied as part ranges/,
  );
  expect(report.Items.find((i) => i.Key !== giant.key)).toMatchObject({ Check: 'md5-published' });
  const got = await admin.send(new GetObjectCommand({ Bucket: DEST, Key: `big/${giant.key}` }));
  expect(Buffer.from(await got.Body!.transformToByteArray()).equals(giant.body)).toBe(true);
});

it('fails with InvalidInput when none of the selected granules has a direct-access URL, writing nothing', async () => {
  const stripped = syntheticCollection({
    conceptId: 'C1200000005-EMU_CLOUD',
    shortName: 'EMU-NO-S3-URLS',
    version: '1',
    granules: 4,
    credentialsEndpoint: world.credentialsEndpoint,
  }).collection;
  // The collection's metadata promises S3 access; its granules' records carry only HTTPS links.
  const granules = stripped.granules.map((g) => ({
    ...g,
    umm: {
      ...g.umm,
      RelatedUrls: (g.umm.RelatedUrls as { Type: string }[]).filter(
        (u) => u.Type !== 'GET DATA VIA DIRECT ACCESS',
      ),
    },
  }));
  cmr.addCollection({ ...stripped, granules });
  const outcome = await runPipelineLocally(
    event(
      { Collection: { ConceptId: 'C1200000005-EMU_CLOUD' } },
      { Dest: { Bucket: DEST, Prefix: 'no-urls/' } },
    ),
    options(),
  );
  expect(outcome.execution).toMatchObject({ Status: 'FAILED', Error: 'InvalidInput' });
  expect(JSON.stringify(outcome.execution)).toMatch(
    /none of the 4 granules .* has a .*GET DATA VIA DIRECT ACCESS/,
  );
  expect(await listKeys(admin, DEST, 'no-urls/')).toEqual([]);
});

it('sends the token to CMR only for a restricted collection, found only with it', async () => {
  const restricted = syntheticCollection({
    conceptId: 'C1200000006-EMU_CLOUD',
    shortName: 'EMU-RESTRICTED',
    version: '1',
    granules: 2,
    buckets: [world.bucket('emu-nc')],
    credentialsEndpoint: world.credentialsEndpoint,
    restricted: true,
  });
  cmr.addCollection(restricted.collection);
  for (const o of restricted.objects) {
    await admin.send(new PutObjectCommand({ Bucket: o.bucket, Key: o.key, Body: o.body }));
  }
  cmr.reset();
  const outcome = await runPipelineLocally(
    event(
      { Collection: { ShortName: 'EMU-RESTRICTED', Version: '1' } },
      { Dest: { Bucket: DEST, Prefix: 'restricted/' } },
    ),
    options(),
  );
  expect(outcome.result).toMatchObject({ Copied: 4, Failed: 0 });
  // The anonymous collection search first, then the same with the token, then the granule page with it.
  expect(cmr.searches.map((s) => [s.resource, s.authorized])).toEqual([
    ['collections', false],
    ['collections', true],
    ['granules', true],
  ]);
});

describe.each([
  [
    'a CMR host off the allowlist',
    () =>
      event({ Collection: { ConceptId: 'C1200000001-EMU_CLOUD' }, CmrUrl: 'https://cmr.example.org/search' }),
    /Source\.CmrUrl/,
  ],
  [
    'a collection without direct-access URLs',
    () => event({ Collection: { ShortName: 'EMU-HTTPS-ONLY', Version: '1' } }),
    /no direct S3 access/,
  ],
  [
    "an endpoint that differs from the collection's",
    () =>
      event(
        { Collection: { ConceptId: 'C1200000003-EMU_CLOUD' } },
        { CredentialsEndpoint: world.credentialsEndpoint },
      ),
    /CredentialsEndpoint: collection C1200000003-EMU_CLOUD names another credentials endpoint/,
  ],
])('refuses %s', (_what, make, message) => {
  it('with InvalidInput, before any token is sent', async () => {
    cmr.reset();
    world.tea.reset();
    const outcome = await runPipelineLocally(make(), options());
    expect(outcome.execution).toMatchObject({ Status: 'FAILED', Error: 'InvalidInput' });
    expect(JSON.stringify(outcome.execution)).toMatch(message);
    expect(JSON.stringify(outcome.execution)).not.toContain(world.token);
    expect(world.tea.calls).toBe(0);
    expect(cmr.tokensSeen).toBe(0);
  });
});
