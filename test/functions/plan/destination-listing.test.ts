import type { S3Client } from '@aws-sdk/client-s3';
import { EmbeddedS3 } from '../../../emulators/s3/server';
import {
  destinationFilter,
  listDestination,
  type DestinationListing,
} from '../../../functions/plan/destination-listing';
import type { DestEntry } from '../../../functions/plan/sync-merge';

const DEST = 'my-mirror';
let s3: EmbeddedS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await EmbeddedS3.start({ sourceBuckets: [], destinationBuckets: [DEST] });
  client = s3.client('destination');
  const keys = [
    'mirror/a.nc',
    'mirror/a.nc.md5',
    'mirror/sub/', // a folder marker
    'mirror/sub/b.nc',
    'mirror/sub/\u{1f600}.nc',
    'mirror/sub/\ue000.nc',
    'mirror-other/c.nc', // shares the prefix's characters but not its folder
    'elsewhere/d.nc',
  ];
  for (const key of keys) await s3.seedObject(DEST, key, key.endsWith('/') ? '' : `body ${key}`);
});
afterAll(async () => s3.stop());

async function pages(listing: Omit<DestinationListing, 'client'>): Promise<DestEntry[][]> {
  const out: DestEntry[][] = [];
  for await (const page of listDestination({ client, ...listing })) out.push(page);
  return out;
}

describe('listDestination', () => {
  it('lists under the mapped prefix in S3 order, without folder markers, page by page', async () => {
    const listed = await pages({
      source: { Bucket: 'src', Prefix: 'archive/' },
      dest: { Bucket: DEST, Prefix: 'mirror/' },
      pageSize: 2,
    });
    expect(listed.map((page) => page.map((e) => e.key))).toEqual([
      ['mirror/a.nc', 'mirror/a.nc.md5'],
      ['mirror/sub/b.nc'], // the folder marker was the other half of this page
      ['mirror/sub/\ue000.nc', 'mirror/sub/\u{1f600}.nc'],
    ]);
    const first = listed[0][0];
    expect(first.size).toBe('body mirror/a.nc'.length);
    expect(first.lastModified).toBeInstanceOf(Date);
  });

  it('lists under Source.Prefix when keys keep their names, and applies Include/Exclude there too', async () => {
    const listed = await pages({
      source: { Bucket: 'src', Prefix: 'mirror/', Include: ['**/*.nc'], Exclude: ['sub/b.nc'] },
      dest: { Bucket: DEST },
    });
    expect(listed.flat().map((e) => e.key)).toEqual([
      'mirror/a.nc',
      'mirror/sub/\ue000.nc',
      'mirror/sub/\u{1f600}.nc',
    ]);
  });

  it('filters on the key relative to the mapped prefix', () => {
    const taking = destinationFilter(
      { Bucket: 'src', Prefix: 'in/', Include: ['*.nc'] },
      { Bucket: DEST, Prefix: 'out/' },
    );
    expect(taking('out/a.nc', 5)).toBe(true);
    expect(taking('out/x/a.nc', 5)).toBe(false); // * stays within one segment
    expect(taking('out/', 0)).toBe(false);
    expect(taking('other/a.nc', 5)).toBe(false);
  });

  it("fails with DestinationAccessDenied naming s3:ListBucket when Plan's role may not list", async () => {
    s3.denyDestination(DEST);
    try {
      const listing = pages({
        source: { Bucket: 'src', Prefix: 'a/' },
        dest: { Bucket: DEST, Prefix: 'mirror/' },
      });
      await expect(listing).rejects.toMatchObject({ name: 'DestinationAccessDenied' });
      await expect(listing).rejects.toThrow(/Plan may not list s3:\/\/my-mirror\/mirror\/.*s3:ListBucket/);
    } finally {
      s3.allowDestination(DEST);
    }
  });
});
