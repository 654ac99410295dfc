/**
 * Reading UMM-JSON search results: a collection (UMM-C) and the files of a granule (UMM-G); field names
 * from the schemas in https://github.com/nasa/Common-Metadata-Repository/tree/master/umm-spec-lib/resources/json-schemas.
 * CMR's answers are distrusted: every field is checked before use, and what does not fit is left out.
 */
import { bucketNameProblem } from '../aws/s3-names';
import { excerpt } from '../credentials/tea-answer';
import { callerKeyProblem } from '../event/rules';
import type { CmrCollection, CmrFile, PublishedChecksum, PublishedChecksumAlgorithm } from './types';

/** UMM-G `RelatedUrls[].Type` of the links to read in region, from S3. */
export const DIRECT_ACCESS_TYPE = 'GET DATA VIA DIRECT ACCESS';

/** Digest length in bytes of each algorithm we verify, by its UMM-G `Checksum.Algorithm` name. */
const DIGEST_BYTES: Readonly<Record<PublishedChecksumAlgorithm, number>> = {
  MD5: 16,
  'SHA-1': 20,
  'SHA-256': 32,
  'SHA-512': 64,
};

// Search results' meta: concept ids and provider ids (umm-*-search-results-json-schema.json).
const CONCEPT_ID = /^[A-Z]{1,3}\d{1,30}-[A-Z0-9_]{1,32}$/;
const PROVIDER_ID = /^[A-Z0-9_]{1,32}$/;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const asString = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

/** A published checksum we can verify, or why the one published is not used. */
export function publishedChecksum(raw: unknown): { checksum?: PublishedChecksum; unused?: string } {
  if (!isObject(raw)) return {};
  const algorithm = asString(raw.Algorithm);
  const value = asString(raw.Value);
  if (algorithm === undefined || value === undefined)
    return { unused: 'the published checksum lacks Algorithm or Value' };
  if (!Object.hasOwn(DIGEST_BYTES, algorithm)) {
    return {
      unused: `the published ${excerpt(algorithm, 24)} checksum is not one of MD5, SHA-1, SHA-256, SHA-512`,
    };
  }
  const bytes = DIGEST_BYTES[algorithm as PublishedChecksumAlgorithm];
  let hex: string | undefined;
  if (value.length === bytes * 2 && /^[0-9a-fA-F]+$/.test(value)) hex = value.toLowerCase();
  else if (/^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === bytes) {
    hex = Buffer.from(value, 'base64').toString('hex');
  }
  if (hex === undefined) {
    return {
      unused: `the published ${algorithm} value is neither ${bytes * 2} hex digits nor ${bytes} bytes of base64`,
    };
  }
  return { checksum: { algorithm: algorithm as PublishedChecksumAlgorithm, value: hex } };
}

/** `s3://bucket/key`, checked as the event checks keys (the key becomes a destination key). */
export function parseS3Url(url: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/i.exec(url);
  if (!match) return undefined;
  const [, bucket, key] = match;
  if (bucketNameProblem(bucket) !== undefined || callerKeyProblem(key) !== undefined || key.endsWith('/')) {
    return undefined;
  }
  return { bucket, key };
}

/** The entries of `ArchiveAndDistributionInformation` (packages' `Files` included), by `Name`. */
function entriesByName(granule: Json): Map<string, Json[]> {
  const byName = new Map<string, Json[]>();
  const add = (entry: unknown): void => {
    if (!isObject(entry)) return;
    const name = asString(entry.Name);
    if (name !== undefined) byName.set(name, [...(byName.get(name) ?? []), entry]);
    asArray(entry.Files).forEach(add);
  };
  const dataGranule = granule.DataGranule;
  if (isObject(dataGranule)) asArray(dataGranule.ArchiveAndDistributionInformation).forEach(add);
  return byName;
}

/** What the metadata says of one file name: size and checksum, when it says them once and consistently. */
function describedFile(entries: Json[] | undefined): Pick<CmrFile, 'size' | 'checksum' | 'unusedChecksum'> {
  if (entries === undefined || entries.length === 0) return {};
  const described = entries.map((entry) => {
    const size = entry.SizeInBytes;
    return {
      size: Number.isSafeInteger(size) && (size as number) >= 0 ? (size as number) : undefined,
      ...publishedChecksum(entry.Checksum),
    };
  });
  const first = described[0];
  const same = described.every(
    (d) =>
      d.size === first.size &&
      d.checksum?.algorithm === first.checksum?.algorithm &&
      d.checksum?.value === first.checksum?.value,
  );
  if (!same)
    return { unusedChecksum: 'the granule metadata describes this file name more than once, differently' };
  return {
    ...(first.size !== undefined && { size: first.size }),
    ...(first.checksum !== undefined && { checksum: first.checksum }),
    ...(first.unused !== undefined && { unusedChecksum: first.unused }),
  };
}

/** A granule's files: its direct-access `s3://` URLs, each with what the metadata publishes of it. */
export interface GranuleFiles {
  readonly granuleUR: string;
  readonly files: CmrFile[];
  /** The granule has no `GET DATA VIA DIRECT ACCESS` `s3://` URL. */
  readonly noDirectAccess: boolean;
  readonly filteredOut: number;
  readonly invalidUrls: number;
}

/**
 * The files of one UMM-JSON granule item, matched to their `ArchiveAndDistributionInformation` entry by
 * file name (the key's last segment), filtered by `keep` on that name. Non-`s3://` URLs are skipped.
 * @returns undefined when the item is not a granule (no `umm.GranuleUR`).
 */
export function filesOfGranule(item: unknown, keep: (fileName: string) => boolean): GranuleFiles | undefined {
  const umm = isObject(item) ? item.umm : undefined;
  if (!isObject(umm)) return undefined;
  const granuleUR = asString(umm.GranuleUR);
  if (granuleUR === undefined) return undefined;
  const urls = asArray(umm.RelatedUrls)
    .filter((link): link is Json => isObject(link) && link.Type === DIRECT_ACCESS_TYPE)
    .map((link) => asString(link.URL))
    .filter((url): url is string => url !== undefined && /^s3:\/\//i.test(url));
  const unique = [...new Set(urls)];
  const byName = entriesByName(umm);
  const files: CmrFile[] = [];
  let filteredOut = 0;
  let invalidUrls = 0;
  for (const url of unique) {
    const location = parseS3Url(url);
    if (location === undefined) {
      invalidUrls++;
      continue;
    }
    const name = location.key.slice(location.key.lastIndexOf('/') + 1);
    if (!keep(name)) {
      filteredOut++;
      continue;
    }
    files.push({ ...location, ...describedFile(byName.get(name)), granuleUR });
  }
  return { granuleUR, files, noDirectAccess: unique.length === 0, filteredOut, invalidUrls };
}

/** The bucket of an `S3BucketAndObjectPrefixNames` entry (`bucket`, `bucket/prefix`, `s3://bucket/prefix`). */
function bucketOf(entry: unknown): string | undefined {
  const text = asString(entry)?.replace(/^s3:\/\//i, '');
  const bucket = text?.split('/')[0];
  return bucket !== undefined && bucketNameProblem(bucket) === undefined ? bucket : undefined;
}

/**
 * A UMM-JSON collection item as Plan needs it.
 * @returns undefined when the item lacks a valid `meta.concept-id` / `provider-id`.
 */
export function collectionOf(item: unknown, restricted: boolean): CmrCollection | undefined {
  if (!isObject(item) || !isObject(item.meta)) return undefined;
  const conceptId = asString(item.meta['concept-id']);
  const provider = asString(item.meta['provider-id']);
  if (
    !conceptId?.startsWith('C') ||
    !CONCEPT_ID.test(conceptId) ||
    !provider ||
    !PROVIDER_ID.test(provider)
  ) {
    return undefined;
  }
  const umm = isObject(item.umm) ? item.umm : {};
  const direct = isObject(umm.DirectDistributionInformation) ? umm.DirectDistributionInformation : undefined;
  const endpoint = asString(direct?.S3CredentialsAPIEndpoint);
  const region = asString(direct?.Region);
  const buckets = asArray(direct?.S3BucketAndObjectPrefixNames)
    .map(bucketOf)
    .filter((b): b is string => b !== undefined);
  return {
    conceptId,
    shortName: asString(umm.ShortName) ?? '',
    version: asString(umm.Version) ?? '',
    provider,
    ...(endpoint !== undefined && { s3CredentialsEndpoint: endpoint }),
    s3Buckets: [...new Set(buckets)],
    ...(region !== undefined && { region }),
    directAccess: direct !== undefined,
    restricted,
  };
}
