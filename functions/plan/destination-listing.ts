/**
 * The destination side of a Sync plan: where a prefix-type source lands, the key mapping (and why it
 * preserves S3's key order), and the listing of the destination under the mapped prefix with Plan's own
 * role (`s3:ListBucket` on the destination buckets).
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { classifyS3Error, describeSdkError } from '../../shared/aws/sdk-errors';
import { toTransferError } from '../../shared/copy/errors';
import { ErrorName, TransferError } from '../../shared/errors';
import type { DestSpec, PrefixSource } from '../../shared/event';
import { destinationKey, isFolderMarker, keyFilter } from '../../shared/keys';
import type { DestEntry } from './sync-merge';

/** ListObjectsV2's own maximum: one page is what the merge holds of this side. */
export const DEST_LIST_PAGE_SIZE = 1000;

/**
 * The destination prefix a prefix source maps onto: `Dest.Prefix`, or `Source.Prefix` when the keys are
 * kept as they are. Every destination key of the source is this prefix + the key relative to
 * `Source.Prefix`, so listing the destination under it finds every counterpart.
 */
export const mappedPrefix = (source: PrefixSource, dest: DestSpec): string => dest.Prefix ?? source.Prefix;

/**
 * The key mapping of a prefix source, `Source.Prefix + r  ->  D + r` (D the mapped prefix), as the merge
 * needs it: `undefined` where no destination key can be formed (longer than 1024 bytes).
 *
 * It preserves S3's key order. Keys compare by their UTF-8 bytes, and the UTF-8 of a concatenation of
 * valid strings is the concatenation of their UTF-8 (the event refuses unpaired surrogates, so no prefix
 * ends inside a character). Two source keys P + r1 and P + r2 share the bytes of P, so they compare as
 * r1 and r2 do; their destination keys D + r1 and D + r2 share the bytes of D and compare as r1 and r2
 * too. So s1 < s2 exactly when map(s1) < map(s2): order kept, no two keys merged into one. The merge still
 * checks it on every key and fails rather than pair the wrong objects.
 */
export function prefixMapping(
  source: PrefixSource,
  dest: DestSpec,
): (sourceKey: string) => string | undefined {
  return (sourceKey) => {
    try {
      return destinationKey(source, dest, sourceKey);
    } catch (error) {
      if (error instanceof TransferError && error.name === ErrorName.InvalidInput) return undefined;
      throw error;
    }
  };
}

/**
 * Which destination objects under the mapped prefix take part in the comparison: the ones a source
 * object could land on. Folder markers and objects that Include/Exclude leave out (matched on the key
 * relative to the mapped prefix, as on the source side) are neither compared nor ever deleted.
 */
export function destinationFilter(
  source: PrefixSource,
  dest: DestSpec,
): (key: string, size: number) => boolean {
  const prefix = mappedPrefix(source, dest);
  const selected = keyFilter(source.Include, source.Exclude);
  return (key, size) =>
    key.startsWith(prefix) && !isFolderMarker(key, size) && selected(key.slice(prefix.length));
}

export interface DestinationListing {
  /** Plan's own client (its role, not the TEA credentials). */
  readonly client: S3Client;
  readonly source: PrefixSource;
  readonly dest: DestSpec;
  /** @default {@link DEST_LIST_PAGE_SIZE} */
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

/** The named error for a destination listing that failed after the SDK's retries. */
function listingError(error: unknown, bucket: string, prefix: string): Error {
  const where = `s3://${bucket}/${prefix}`;
  if (classifyS3Error(error) === 'denied') {
    return new TransferError(
      ErrorName.DestinationAccessDenied,
      `Plan may not list ${where} to compare it with the source (ListObjectsV2: ${describeSdkError(error)}): ` +
        "grant Plan's role s3:ListBucket on the destination bucket",
    );
  }
  return toTransferError(error, {
    side: 'destination',
    bucket,
    key: prefix,
    operation: 'ListObjectsV2',
    what: where,
  });
}

/**
 * The destination objects a prefix source maps onto, page by page in S3's key order (one array per
 * ListObjectsV2 page, possibly empty), filtered by {@link destinationFilter}.
 */
export async function* listDestination(listing: DestinationListing): AsyncGenerator<DestEntry[]> {
  const { client, source, dest } = listing;
  const prefix = mappedPrefix(source, dest);
  const taking = destinationFilter(source, dest);
  let continuation: string | undefined;
  let more = true;
  while (more) {
    listing.signal?.throwIfAborted();
    const request = new ListObjectsV2Command({
      Bucket: dest.Bucket,
      Prefix: prefix,
      MaxKeys: listing.pageSize ?? DEST_LIST_PAGE_SIZE,
      ContinuationToken: continuation,
    });
    const page = await client
      .send(request, { abortSignal: listing.signal })
      .catch((error: unknown) => Promise.reject(listingError(error, dest.Bucket, prefix)));
    const entries: DestEntry[] = [];
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined) continue;
      const size = object.Size ?? 0;
      if (taking(object.Key, size))
        entries.push({ key: object.Key, size, lastModified: object.LastModified });
    }
    yield entries;
    more = page.IsTruncated === true;
    continuation = page.NextContinuationToken;
    if (more && !continuation) {
      throw new TransferError(
        ErrorName.TransientError,
        `s3://${dest.Bucket}/${prefix}: ListObjectsV2 said the listing is truncated but gave no continuation token`,
      );
    }
  }
}
