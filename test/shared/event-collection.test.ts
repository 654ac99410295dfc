import {
  isCollectionEvent,
  MAX_GRANULES,
  parseAnyEvent,
  parseEvent,
  type CollectionSource,
} from '../../shared/event';

/** The example of the product owner's issue, with a token. */
const ISSUE_EXAMPLE = {
  BearerToken: '<EDL token>',
  Source: {
    Collection: { ConceptId: 'C1234-PODAAC' },
    Temporal: ['2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z'],
    BoundingBox: [-180, -90, 180, 90],
    Include: ['*.nc'],
  },
  Dest: { Bucket: 'my-science-bucket', Prefix: 'mur/' },
};
const withSource = (source: Record<string, unknown>) => ({
  ...ISSUE_EXAMPLE,
  Source: { Collection: { ConceptId: 'C1234-PODAAC' }, ...source },
});
const sourceOf = (input: unknown): CollectionSource => parseAnyEvent(input).Source as CollectionSource;

describe('parseAnyEvent: Source.Collection', () => {
  it("accepts the issue's example without CredentialsEndpoint, and defaults CmrUrl to the production CMR", () => {
    const event = parseAnyEvent(ISSUE_EXAMPLE);
    expect(isCollectionEvent(event)).toBe(true);
    expect(event.CredentialsEndpoint).toBeUndefined();
    expect(event.Source).toEqual({
      Collection: { ConceptId: 'C1234-PODAAC' },
      CmrUrl: 'https://cmr.earthdata.nasa.gov/search',
      Temporal: ['2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z'],
      BoundingBox: [-180, -90, 180, 90],
      Include: ['*.nc'],
    });
    expect(event.Dest).toEqual({ Bucket: 'my-science-bucket', Prefix: 'mur/' });
  });

  it('accepts ShortName, Version and Provider, Granules, the UAT CMR, Exclude and a CredentialsEndpoint', () => {
    const event = parseAnyEvent({
      ...withSource({
        Collection: { ShortName: 'MUR-JPL-L4-GLOB-v4.1', Version: '4.1', Provider: 'POCLOUD' },
        CmrUrl: 'https://cmr.uat.earthdata.nasa.gov/search',
        Granules: ['20240101090000-JPL-L4_GHRSST-SSTfnd-MUR-GLOB-v02.0-fv04.1'],
        Exclude: ['*.md5'],
      }),
      CredentialsEndpoint: 'https://archive.podaac.earthdata.nasa.gov/s3credentials',
    });
    expect(event.CredentialsEndpoint).toBe('https://archive.podaac.earthdata.nasa.gov/s3credentials');
    expect(event.Source).toEqual({
      Collection: { ShortName: 'MUR-JPL-L4-GLOB-v4.1', Version: '4.1', Provider: 'POCLOUD' },
      CmrUrl: 'https://cmr.uat.earthdata.nasa.gov/search',
      Granules: ['20240101090000-JPL-L4_GHRSST-SSTfnd-MUR-GLOB-v02.0-fv04.1'],
      Exclude: ['*.md5'],
    });
  });

  it('normalizes Temporal to UTC as CMR takes it, keeping milliseconds when there are any', () => {
    expect(
      sourceOf(withSource({ Temporal: ['2024-01-01T02:00:00+02:00', '2024-01-01T00:00:00.250-00:30'] }))
        .Temporal,
    ).toEqual(['2024-01-01T00:00:00Z', '2024-01-01T00:30:00.250Z']);
    expect(
      sourceOf(withSource({ Temporal: ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00Z'] })).Temporal,
    ).toEqual(['2024-02-29T12:00:00Z', '2024-02-29T12:00:00Z']);
  });

  it('accepts a bounding box across the antimeridian, and a loopback CMR for one-machine runs', () => {
    const source = sourceOf(
      withSource({ BoundingBox: [170, -10, -170, 10], CmrUrl: 'http://127.0.0.1:3003/search' }),
    );
    expect(source.BoundingBox).toEqual([170, -10, -170, 10]);
    expect(source.CmrUrl).toBe('http://127.0.0.1:3003/search');
  });

  it(`accepts ${MAX_GRANULES} GranuleURs`, () => {
    const granules = Array.from({ length: MAX_GRANULES }, (_, i) => `granule-${i}`);
    expect(sourceOf(withSource({ Granules: granules })).Granules).toHaveLength(MAX_GRANULES);
  });

  it('is idempotent: a parsed collection event parses to itself', () => {
    const once = parseAnyEvent(
      withSource({ Temporal: ['2024-01-01T02:00:00+02:00', '2024-01-02T00:00:00Z'] }),
    );
    expect(parseAnyEvent(JSON.parse(JSON.stringify(once)))).toEqual(once);
  });

  it('tells the forms apart', () => {
    const prefix = parseAnyEvent({
      CredentialsEndpoint: 'https://archive.podaac.earthdata.nasa.gov/s3credentials',
      BearerToken: '<EDL token>',
      Source: { Bucket: 'podaac-ops-cumulus-protected', Prefix: 'MUR/' },
      Dest: { Bucket: 'my-science-bucket' },
    });
    expect(isCollectionEvent(prefix)).toBe(false);
  });
});

describe('parseEvent: code that takes bucket sources only (scheduled mirrors)', () => {
  it('refuses a valid collection event by name', () => {
    expect(() => parseEvent(ISSUE_EXAMPLE)).toThrow(
      expect.objectContaining({
        name: 'InvalidInput',
        message: expect.stringContaining(
          'Source.Collection: not accepted here (scheduled mirrors copy Source.Key, Prefix or Keys)',
        ),
      }),
    );
  });

  it('still lists the problems of an invalid collection event', () => {
    expect(() => parseEvent(withSource({ Bucket: 'abc' }))).toThrow(
      /^invalid event: Source.Bucket: not allowed/,
    );
  });
});
