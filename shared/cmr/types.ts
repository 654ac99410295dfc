/** What the CMR client takes and gives. UMM field names are cited where each value comes from. */
import type { EndpointPolicy } from '../credentials/endpoint';

/** The checksum algorithms the copy can verify, spelt as UMM-G's `Checksum.Algorithm` enum spells them. */
export type PublishedChecksumAlgorithm = 'MD5' | 'SHA-1' | 'SHA-256' | 'SHA-512';

/** A file's checksum as its archive published it (UMM-G `ArchiveAndDistributionInformation[].Checksum`). */
export interface PublishedChecksum {
  readonly algorithm: PublishedChecksumAlgorithm;
  /** Lower-case hex, whatever case or encoding (hex or base64) the metadata used. */
  readonly value: string;
}

/** One file of a granule, found through its `GET DATA VIA DIRECT ACCESS` `s3://` URL. */
export interface CmrFile {
  readonly bucket: string;
  readonly key: string;
  /** UMM-G `SizeInBytes` of the entry with the file's name; absent when not published (or only as Size+SizeUnit). */
  readonly size?: number;
  readonly checksum?: PublishedChecksum;
  /** Why a checksum the metadata publishes for this file is not used (an algorithm we do not verify, a malformed value). */
  readonly unusedChecksum?: string;
  /** UMM-G `GranuleUR`: the report line of each file names its granule. */
  readonly granuleUR: string;
}

/** A collection as Plan needs it (UMM-C and the search result's `meta`). */
export interface CmrCollection {
  readonly conceptId: string;
  readonly shortName: string;
  readonly version: string;
  readonly provider: string;
  /** `DirectDistributionInformation.S3CredentialsAPIEndpoint`, when published. */
  readonly s3CredentialsEndpoint?: string;
  /** The buckets of `DirectDistributionInformation.S3BucketAndObjectPrefixNames` (first path segment, `s3://` dropped). */
  readonly s3Buckets: readonly string[];
  /** `DirectDistributionInformation.Region`, when published. */
  readonly region?: string;
  /** The metadata has `DirectDistributionInformation`: its files are meant to be read from S3. */
  readonly directAccess: boolean;
  /** Found only with the token: the granule search must send it too. */
  readonly restricted: boolean;
}

/** Where the client reports retries and page shrinking. A Powertools Logger is one. */
export interface CmrLog {
  debug(message: string, ...attributes: Array<Record<string, unknown>>): void;
  warn(message: string, ...attributes: Array<Record<string, unknown>>): void;
}

/** The CMR to ask, and how to ask it. */
export interface CmrOptions {
  /** The search root (`Source.CmrUrl`), such as https://cmr.earthdata.nasa.gov/search. */
  readonly cmrUrl: string;
  /** Where a token may be sent: the same allowlist as credentials endpoints. The root is checked before any request. */
  readonly policy: EndpointPolicy;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default setTimeout-based */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Attempts per request, the first included. @default 5 */
  readonly maxAttempts?: number;
  /** @default 500 */
  readonly baseDelayMs?: number;
  /** @default 10000 */
  readonly maxDelayMs?: number;
  /** Per attempt, body included. @default 180000 (CMR's own hard limit on a request) */
  readonly timeoutMs?: number;
  /** Most bytes of one answer read. @default {@link MAX_PAGE_BYTES} */
  readonly maxPageBytes?: number;
  readonly log?: CmrLog;
}

/** The granules to list, in CMR's terms (the collection already resolved to its concept id). */
export interface GranuleQuery {
  readonly collectionConceptId: string;
  /** `granule_ur[]`. */
  readonly granuleURs?: readonly string[];
  /** `temporal[]=start,end` (UTC instants): granules whose time range overlaps it. */
  readonly temporal?: readonly [string, string];
  /** `bounding_box=W,S,E,N`. */
  readonly boundingBox?: readonly [number, number, number, number];
  /** Globs on file names (the key's last segment). */
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  /** Granules per page. @default {@link DEFAULT_PAGE_SIZE} */
  readonly pageSize?: number;
}

/** How a granule search went; the last `onPage` report and the generator's return value. */
export interface GranuleSearchStats {
  /** `CMR-Hits`: granules matching the query, as of the last page. */
  hits: number;
  /** Pages CMR answered. */
  pages: number;
  granules: number;
  /** Files yielded. */
  files: number;
  /** Files left out by Include/Exclude. */
  filteredOut: number;
  /** Granules without any `GET DATA VIA DIRECT ACCESS` `s3://` URL. */
  granulesWithoutDirectAccess: number;
  /** `s3://` URLs whose bucket or key is not acceptable (logged with their granule). */
  invalidUrls: number;
  /** Yielded files by the checksum they will be verified with. */
  checksums: Record<PublishedChecksumAlgorithm | 'none' | 'unusable', number>;
}

/** The largest page CMR serves, and the default. */
export const MAX_PAGE_SIZE = 2000;
export const DEFAULT_PAGE_SIZE = MAX_PAGE_SIZE;
/**
 * Most bytes of one CMR answer read. A UMM-G record is typically 3-15 KiB, so a page of 2000 is
 * 6-30 MiB; polygon-heavy granules run larger, and a page over the cap is asked again at half the size.
 */
export const MAX_PAGE_BYTES = 64 * 1024 * 1024;
