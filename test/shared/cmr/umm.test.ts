import { collectionOf, filesOfGranule, parseS3Url, publishedChecksum } from '../../../shared/cmr';

const all = (): boolean => true;

describe('publishedChecksum', () => {
  it.each<[unknown, unknown]>([
    [
      { Algorithm: 'MD5', Value: 'E51569BF48DD0FD0640C6503A46D4754' },
      { algorithm: 'MD5', value: 'e51569bf48dd0fd0640c6503a46d4754' },
    ],
    [
      { Algorithm: 'SHA-1', Value: 'a'.repeat(40) },
      { algorithm: 'SHA-1', value: 'a'.repeat(40) },
    ],
    [
      { Algorithm: 'SHA-256', Value: 'b'.repeat(64) },
      { algorithm: 'SHA-256', value: 'b'.repeat(64) },
    ],
    [
      { Algorithm: 'SHA-512', Value: 'c'.repeat(128) },
      { algorithm: 'SHA-512', value: 'c'.repeat(128) },
    ],
    // base64 of 16 bytes (MD5)
    [
      { Algorithm: 'MD5', Value: Buffer.alloc(16, 1).toString('base64') },
      { algorithm: 'MD5', value: '01'.repeat(16) },
    ],
  ])('uses %j', (raw, checksum) => {
    expect(publishedChecksum(raw)).toEqual({ checksum });
  });

  it.each<[unknown, string]>([
    [
      { Algorithm: 'SHA-384', Value: 'd'.repeat(96) },
      'the published SHA-384 checksum is not one of MD5, SHA-1, SHA-256, SHA-512',
    ],
    [{ Algorithm: 'Adler-32', Value: '0d6a8e1f' }, 'Adler-32 checksum is not one of'],
    [{ Algorithm: 'sha256', Value: 'b'.repeat(64) }, 'sha256 checksum is not one of'],
    [{ Algorithm: 'SHA-256', Value: 'b'.repeat(63) }, 'neither 64 hex digits nor 32 bytes of base64'],
    [{ Algorithm: 'MD5' }, 'lacks Algorithm or Value'],
  ])('does not use %j', (raw, reason) => {
    const result = publishedChecksum(raw);
    expect(result.checksum).toBeUndefined();
    expect(result.unused).toContain(reason);
  });

  it('publishes nothing without a Checksum', () => {
    expect(publishedChecksum(undefined)).toEqual({});
  });
});

describe('parseS3Url', () => {
  it('splits bucket and key', () => {
    expect(parseS3Url('s3://podaac-ops-cumulus-protected/MUR/a b+c.nc')).toEqual({
      bucket: 'podaac-ops-cumulus-protected',
      key: 'MUR/a b+c.nc',
    });
  });

  it.each([
    's3://Bad_Bucket/k',
    's3://bucket/../etc/passwd',
    's3://bucket//k',
    's3://bucket/',
    's3://bucket/dir/',
    'https://host/k',
  ])('refuses %s', (url) => {
    expect(parseS3Url(url)).toBeUndefined();
  });
});

const granule = (umm: Record<string, unknown>) => ({
  meta: { 'concept-id': 'G1-P' },
  umm: { GranuleUR: 'G-UR-1', ...umm },
});
const direct = (...urls: string[]) => urls.map((URL) => ({ URL, Type: 'GET DATA VIA DIRECT ACCESS' }));

describe('filesOfGranule', () => {
  it('keeps direct-access s3:// URLs only, once each, matched to their entry by file name', () => {
    const result = filesOfGranule(
      granule({
        RelatedUrls: [
          ...direct('s3://b-1/p/a.nc', 's3://b-2/p/a.nc.md5', 's3://b-1/p/a.nc', 'https://x/p/a.nc'),
          { URL: 's3://b-1/p/browse.png', Type: 'GET RELATED VISUALIZATION' },
        ],
        DataGranule: {
          ArchiveAndDistributionInformation: [
            { Name: 'a.nc', SizeInBytes: 12, Checksum: { Algorithm: 'SHA-256', Value: 'e'.repeat(64) } },
            { Name: 'a.nc.md5', Size: 1, SizeUnit: 'KB' },
          ],
        },
      }),
      all,
    );
    expect(result).toEqual({
      granuleUR: 'G-UR-1',
      files: [
        {
          bucket: 'b-1',
          key: 'p/a.nc',
          size: 12,
          checksum: { algorithm: 'SHA-256', value: 'e'.repeat(64) },
          granuleUR: 'G-UR-1',
        },
        { bucket: 'b-2', key: 'p/a.nc.md5', granuleUR: 'G-UR-1' },
      ],
      noDirectAccess: false,
      filteredOut: 0,
      invalidUrls: 0,
    });
  });

  it("finds a file among a package's Files, and refuses a name described twice differently", () => {
    const result = filesOfGranule(
      granule({
        RelatedUrls: direct('s3://bkt/inner.h5', 's3://bkt/twice.h5'),
        DataGranule: {
          ArchiveAndDistributionInformation: [
            {
              Name: 'pack.zip',
              Files: [
                { Name: 'inner.h5', SizeInBytes: 3, Checksum: { Algorithm: 'MD5', Value: 'f'.repeat(32) } },
              ],
            },
            { Name: 'twice.h5', SizeInBytes: 3, Checksum: { Algorithm: 'MD5', Value: '1'.repeat(32) } },
            { Name: 'twice.h5', SizeInBytes: 3, Checksum: { Algorithm: 'MD5', Value: '2'.repeat(32) } },
          ],
        },
      }),
      all,
    );
    expect(result?.files[0].checksum).toEqual({ algorithm: 'MD5', value: 'f'.repeat(32) });
    expect(result?.files[1]).toEqual({
      bucket: 'bkt',
      key: 'twice.h5',
      unusedChecksum: 'the granule metadata describes this file name more than once, differently',
      granuleUR: 'G-UR-1',
    });
  });

  it('counts granules without direct access, invalid URLs and filtered names', () => {
    expect(
      filesOfGranule(granule({ RelatedUrls: [{ URL: 'https://x/a.nc', Type: 'GET DATA' }] }), all),
    ).toMatchObject({
      files: [],
      noDirectAccess: true,
    });
    const counted = filesOfGranule(
      granule({ RelatedUrls: direct('s3://bkt/../x.nc', 's3://bkt/a.nc', 's3://bkt/a.txt') }),
      (name) => name.endsWith('.nc'),
    );
    expect(counted).toMatchObject({ invalidUrls: 1, filteredOut: 1, noDirectAccess: false });
    expect(counted?.files.map((f) => f.key)).toEqual(['a.nc']);
  });

  it('is undefined for an item without a GranuleUR', () => {
    expect(filesOfGranule({ meta: {}, umm: {} }, all)).toBeUndefined();
    expect(filesOfGranule(null, all)).toBeUndefined();
  });
});

describe('collectionOf', () => {
  it('needs a collection concept id and a provider id', () => {
    expect(
      collectionOf({ meta: { 'concept-id': 'G1-P', 'provider-id': 'P' }, umm: {} }, false),
    ).toBeUndefined();
    expect(
      collectionOf({ meta: { 'concept-id': 'C1-P', 'provider-id': 'p q' }, umm: {} }, false),
    ).toBeUndefined();
    expect(collectionOf({ meta: { 'concept-id': 'C1-P', 'provider-id': 'P' }, umm: {} }, true)).toEqual({
      conceptId: 'C1-P',
      shortName: '',
      version: '',
      provider: 'P',
      s3Buckets: [],
      directAccess: false,
      restricted: true,
    });
  });
});
