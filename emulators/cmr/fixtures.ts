/**
 * Fixtures for the emulated CMR, generated from a compact description: a collection of N granules of a
 * few files each, with time ranges, areas, and checksums computed from the sample bytes it generates
 * (which tests and the demo put in the emulated S3). Records are shaped as CMR's UMM-JSON results are;
 * README.md says where each field name comes from.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmulatedCollection, UmmItem } from './search';

/** How the fixtures name the checksum algorithms (UMM-G `Checksum.Algorithm` enum values). */
export type FixtureAlgorithm = 'MD5' | 'SHA-1' | 'SHA-256' | 'SHA-512' | 'SHA-384' | 'Adler-32';

const NODE_HASH: Partial<Record<FixtureAlgorithm, string>> = {
  MD5: 'md5',
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

/** One file of every granule. */
export interface FileSpec {
  /** Appended to the GranuleUR to name the file, such as `.nc`. */
  readonly suffix: string;
  readonly size: number;
  /** The algorithm its checksum is published with; none: no checksum. */
  readonly checksum?: FixtureAlgorithm;
}

export interface SyntheticCollectionSpec {
  /** Such as C1200000001-EMU_CLOUD; the provider is what follows the '-'. */
  readonly conceptId: string;
  readonly shortName: string;
  readonly version: string;
  readonly granules: number;
  /** @default a 2 KiB `.nc` with SHA-256 and a 300-byte `.json` with MD5 */
  readonly files?: readonly FileSpec[];
  /** File i of a granule goes to buckets[i % buckets.length]. @default ['emu-protected'] */
  readonly buckets?: readonly string[];
  /** Key prefix of every file. @default `<shortName>/` */
  readonly prefix?: string;
  /** Start of granule 0. @default 2024-01-01T00:00:00Z */
  readonly start?: string;
  /** Each granule covers this long, one after the other. @default 3 hours */
  readonly granuleSeconds?: number;
  /** The area of granule i as [W, S, E, N]. @default the globe */
  readonly boundingBox?: (index: number) => [number, number, number, number];
  /** `S3CredentialsAPIEndpoint`; null leaves it out. @default https://data.emulated.earthdata.nasa.gov/s3credentials */
  readonly credentialsEndpoint?: string | null;
  /** Publish `DirectDistributionInformation` (and direct-access URLs). @default true */
  readonly directAccess?: boolean;
  readonly restricted?: boolean;
  /** Publish a wrong checksum for these files (the copy must then fail them with IntegrityError). */
  readonly corrupt?: (granuleIndex: number, fileIndex: number) => boolean;
}

/** A file the fixture describes, with its bytes: what the emulated S3 must hold. */
export interface FixtureObject {
  readonly bucket: string;
  readonly key: string;
  readonly body: Buffer;
  readonly granuleUR: string;
  /** As published (wrong when the spec corrupts it). */
  readonly checksum?: { algorithm: FixtureAlgorithm; value: string };
}

export const DEFAULT_FILES: readonly FileSpec[] = [
  { suffix: '.nc', size: 2048, checksum: 'SHA-256' },
  { suffix: '.json', size: 300, checksum: 'MD5' },
];

/** Deterministic bytes that differ per file: the file's own path, repeated. */
export function sampleBody(key: string, size: number): Buffer {
  const unit = Buffer.from(`${key}\n`);
  const body = Buffer.alloc(size);
  for (let offset = 0; offset < size; offset += unit.length) unit.copy(body, offset);
  return body;
}

function digest(algorithm: FixtureAlgorithm, body: Buffer): string {
  const name = NODE_HASH[algorithm];
  if (name !== undefined) return createHash(name).update(body).digest('hex');
  let a = 1;
  let b = 0;
  for (const byte of body) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a).toString(16).padStart(8, '0');
}

const iso = (ms: number): string => new Date(ms).toISOString();
const providerOf = (conceptId: string): string => conceptId.slice(conceptId.indexOf('-') + 1);

function collectionItem(spec: SyntheticCollectionSpec, buckets: readonly string[], prefix: string): UmmItem {
  const endpoint =
    spec.credentialsEndpoint === undefined
      ? 'https://data.emulated.earthdata.nasa.gov/s3credentials'
      : spec.credentialsEndpoint;
  const direct = {
    Region: 'us-west-2',
    S3BucketAndObjectPrefixNames: buckets.map((b) => `${b}/${prefix}`),
    ...(endpoint !== null && { S3CredentialsAPIEndpoint: endpoint }),
    S3CredentialsAPIDocumentationURL: 'https://data.emulated.earthdata.nasa.gov/s3credentialsREADME',
  };
  return {
    meta: {
      'concept-type': 'collection',
      'concept-id': spec.conceptId,
      'revision-id': 1,
      'native-id': `${spec.shortName}_${spec.version}`,
      'provider-id': providerOf(spec.conceptId),
      format: 'application/vnd.nasa.cmr.umm+json',
      'revision-date': '2024-01-01T00:00:00.000Z',
    },
    umm: {
      ShortName: spec.shortName,
      Version: spec.version,
      EntryTitle: `${spec.shortName} version ${spec.version} (emulated)`,
      Abstract: 'A collection generated by the s3-direct-transfer CMR emulator.',
      ...((spec.directAccess ?? true) && { DirectDistributionInformation: direct }),
      MetadataSpecification: {
        URL: 'https://cdn.earthdata.nasa.gov/umm/collection/v1.18.1',
        Name: 'UMM-C',
        Version: '1.18.1',
      },
    },
  };
}

/** A collection of `spec.granules` granules and the objects their files name. */
export function syntheticCollection(spec: SyntheticCollectionSpec): {
  collection: EmulatedCollection;
  objects: FixtureObject[];
} {
  const files = spec.files ?? DEFAULT_FILES;
  const buckets = spec.buckets ?? ['emu-protected'];
  const prefix = spec.prefix ?? `${spec.shortName}/`;
  const start = Date.parse(spec.start ?? '2024-01-01T00:00:00Z');
  const step = (spec.granuleSeconds ?? 3 * 3600) * 1000;
  const provider = providerOf(spec.conceptId);
  const sequence = Number(spec.conceptId.slice(1, spec.conceptId.indexOf('-')));
  const objects: FixtureObject[] = [];
  const granules = Array.from({ length: spec.granules }, (_, g): UmmItem => {
    const begin = start + g * step;
    const granuleUR = `${spec.shortName}.${iso(begin).slice(0, 19).replace(/[-:]/g, '')}.g${g}`;
    const archive = files.map((file, f) => {
      const name = `${granuleUR}${file.suffix}`;
      const object = { bucket: buckets[f % buckets.length], key: `${prefix}${name}`, granuleUR };
      const body = sampleBody(object.key, file.size);
      const wrong = spec.corrupt?.(g, f) ?? false;
      const checksum =
        file.checksum === undefined
          ? undefined
          : {
              algorithm: file.checksum,
              value: digest(file.checksum, wrong ? Buffer.concat([body, Buffer.from('x')]) : body),
            };
      objects.push({ ...object, body, ...(checksum !== undefined && { checksum }) });
      return {
        Name: name,
        SizeInBytes: file.size,
        Size: Math.round((file.size / 1024) * 100) / 100,
        SizeUnit: 'KB',
        ...(checksum !== undefined && { Checksum: { Value: checksum.value, Algorithm: checksum.algorithm } }),
      };
    });
    const [west, south, east, north] = spec.boundingBox?.(g) ?? [-180, -90, 180, 90];
    const urls = files.flatMap((_, f) => {
      const { bucket, key } = objects[objects.length - files.length + f];
      return [
        {
          URL: `https://data.emulated.earthdata.nasa.gov/${bucket}/${key}`,
          Type: 'GET DATA',
          Description: 'Download over HTTPS',
        },
        ...((spec.directAccess ?? true)
          ? [
              {
                URL: `s3://${bucket}/${key}`,
                Type: 'GET DATA VIA DIRECT ACCESS',
                Description: 'This link provides direct download access via S3 to the granule',
              },
            ]
          : []),
      ];
    });
    return {
      meta: {
        'concept-type': 'granule',
        'concept-id': `G${sequence + 1 + g}-${provider}`,
        'revision-id': 1,
        'native-id': granuleUR,
        'collection-concept-id': spec.conceptId,
        'provider-id': provider,
        format: 'application/vnd.nasa.cmr.umm+json',
        'revision-date': '2024-06-01T00:00:00.000Z',
      },
      umm: {
        GranuleUR: granuleUR,
        CollectionReference: { ShortName: spec.shortName, Version: spec.version },
        TemporalExtent: {
          RangeDateTime: { BeginningDateTime: iso(begin), EndingDateTime: iso(begin + step - 1000) },
        },
        SpatialExtent: {
          HorizontalSpatialDomain: {
            Geometry: {
              BoundingRectangles: [
                {
                  WestBoundingCoordinate: west,
                  NorthBoundingCoordinate: north,
                  EastBoundingCoordinate: east,
                  SouthBoundingCoordinate: south,
                },
              ],
            },
          },
        },
        DataGranule: {
          ArchiveAndDistributionInformation: archive,
          DayNightFlag: 'Unspecified',
          ProductionDateTime: iso(begin + step),
        },
        RelatedUrls: urls,
        ProviderDates: [{ Date: iso(begin + step), Type: 'Insert' }],
        MetadataSpecification: {
          URL: 'https://cdn.earthdata.nasa.gov/umm/granule/v1.6.6',
          Name: 'UMM-G',
          Version: '1.6.6',
        },
      },
    };
  });
  return {
    collection: {
      item: collectionItem(spec, buckets, prefix),
      granules,
      restricted: spec.restricted ?? false,
    },
    objects,
  };
}

const FIXTURES = join(__dirname, 'fixtures');

/** The static fixture: one collection and its two granules, as CMR's documentation shows such answers. */
export function documentedCollection(): EmulatedCollection {
  const read = (name: string): { items: UmmItem[] } =>
    JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as { items: UmmItem[] };
  return { item: read('collections.umm_json.json').items[0], granules: read('granules.umm_json.json').items };
}
