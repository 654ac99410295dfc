import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ManifestItem } from '../../shared/contracts';
import { withCredentialRefresh, type RefreshingCredentials } from '../../shared/credentials';
import { classifyS3Error, describeSdkError } from '../../shared/aws/sdk-errors';
import { stripQuotes } from '../../shared/aws/s3-names';
import { toTransferError } from '../../shared/copy/errors';
import { ErrorName, TransferError } from '../../shared/errors';
import type { DestSpec, KeySource, KeysSource, PrefixSource, SourceSpec } from '../../shared/event';
import { destinationKey, isFolderMarker, keyFilter, relativeKey } from '../../shared/keys';
import type { SourceEntry } from './sync-merge';

/** The source bucket as Plan reads it: an S3 client on the TEA credentials, refreshed on expiry. */
export interface SourceReader {
  readonly client: S3Client;
  readonly credentials: RefreshingCredentials;
  readonly logger: Logger;
}

/** ListObjectsV2's own maximum. */
export const LIST_PAGE_SIZE = 1000;
/** Items per write into the manifest for Keys sources. */
const KEYS_BATCH = 1000;
/** Listing progress is logged every this many pages. */
const PROGRESS_EVERY_PAGES = 100;

const s3Url = (bucket: string, key = ''): string => `s3://${bucket}/${key}`;

/** The named error for a failed source request that ends the plan. */
function sourceError(error: unknown, bucket: string, operation: string, what: string): Error {
  return toTransferError(error, { side: 'source', bucket, key: '', operation, what });
}

/** A manifest item, or a failed one when the destination key cannot be formed (too long, say). */
export function manifestItem(
  source: SourceSpec,
  dest: DestSpec,
  key: string,
  size: number,
  etag?: string,
): ManifestItem {
  try {
    return { Key: key, DestKey: destinationKey(source, dest, key), Size: size, ETag: stripQuotes(etag) };
  } catch (error) {
    if (!(error instanceof TransferError)) throw error;
    return {
      Key: key,
      DestKey: '',
      Size: size,
      ETag: stripQuotes(etag),
      Error: error.name,
      Cause: error.message,
    };
  }
}

/**
 * Every object under `source.Prefix`, page by page (one yielded array per ListObjectsV2 page, possibly
 * empty), in S3's key order, without folder markers and filtered by Include/Exclude on the key relative
 * to the prefix.
 */
export async function* listSourceObjects(
  reader: SourceReader,
  source: PrefixSource,
): AsyncGenerator<SourceEntry[]> {
  const selected = keyFilter(source.Include, source.Exclude);
  const what = s3Url(source.Bucket, source.Prefix);
  let token: string | undefined;
  let pages = 0;
  let listed = 0;
  let matched = 0;
  do {
    const input = {
      Bucket: source.Bucket,
      Prefix: source.Prefix,
      MaxKeys: LIST_PAGE_SIZE,
      ContinuationToken: token,
    };
    let page;
    try {
      page = await withCredentialRefresh(reader.credentials, () =>
        reader.client.send(new ListObjectsV2Command(input)),
      );
    } catch (error) {
      throw sourceError(error, source.Bucket, 'ListObjectsV2', what);
    }
    const objects: SourceEntry[] = [];
    for (const object of page.Contents ?? []) {
      const key = object.Key;
      if (key === undefined) continue;
      listed++;
      const size = object.Size ?? 0;
      if (isFolderMarker(key, size) || !selected(relativeKey(source, key))) continue;
      objects.push({ key, size, eTag: object.ETag, lastModified: object.LastModified });
    }
    matched += objects.length;
    pages++;
    if (pages % PROGRESS_EVERY_PAGES === 0) reader.logger.info('listing', { pages, listed, matched });
    yield objects;
    if (page.IsTruncated && !page.NextContinuationToken) {
      throw new TransferError(
        ErrorName.TransientError,
        `${what}: ListObjectsV2 said the listing is truncated but gave no continuation token (page ${pages})`,
      );
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  reader.logger.info('listed', { pages, listed, matched });
}

/** Every object under `source.Prefix` as manifest items, page by page (see {@link listSourceObjects}). */
export async function* listPrefix(
  reader: SourceReader,
  source: PrefixSource,
  dest: DestSpec,
): AsyncGenerator<ManifestItem[]> {
  for await (const objects of listSourceObjects(reader, source)) {
    yield objects.map((o) => manifestItem(source, dest, o.key, o.size, o.eTag));
  }
}

export type HeadOutcome =
  | { kind: 'found'; size: number; etag?: string }
  | { kind: 'failed'; failure: 'not-found' | 'denied'; error: unknown };

export async function head(reader: SourceReader, bucket: string, key: string): Promise<HeadOutcome> {
  try {
    const out = await withCredentialRefresh(reader.credentials, () =>
      reader.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })),
    );
    return { kind: 'found', size: out.ContentLength ?? 0, etag: out.ETag };
  } catch (error) {
    const failure = classifyS3Error(error);
    if (failure === 'not-found' || failure === 'denied') return { kind: 'failed', failure, error };
    throw sourceError(error, bucket, 'HeadObject', s3Url(bucket, key));
  }
}

/** The one object of a `Key` source. A missing object fails the whole job: it is the whole job. */
export async function headKey(
  reader: SourceReader,
  source: KeySource,
  dest: DestSpec,
): Promise<ManifestItem> {
  const outcome = await head(reader, source.Bucket, source.Key);
  if (outcome.kind === 'failed') {
    throw sourceError(outcome.error, source.Bucket, 'HeadObject', s3Url(source.Bucket, source.Key));
  }
  return manifestItem(source, dest, source.Key, outcome.size, outcome.etag);
}

/**
 * Runs `task` on every item with at most `concurrency` in flight and yields the results in input order.
 * `task` rejecting ends the iteration with that error (the tasks still in flight are left to finish).
 */
export async function* mapOrdered<T, R>(
  items: Iterable<T>,
  concurrency: number,
  task: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const inFlight: Promise<R>[] = [];
  const start = (item: T): void => {
    const promise = task(item);
    promise.catch(() => undefined); // awaited in order below; never unhandled meanwhile
    inFlight.push(promise);
  };
  for (const item of items) {
    start(item);
    if (inFlight.length >= concurrency) yield await inFlight.shift()!;
  }
  while (inFlight.length > 0) yield await inFlight.shift()!;
}

/**
 * The objects of a `Keys` source, in list order, `concurrency` HeadObjects at a time. A missing key, or
 * one the credentials may not read, becomes a failed item; access denied on every key fails the job
 * (the credentials are for another archive, or the bucket is in another region).
 */
export async function* headKeys(
  reader: SourceReader,
  source: KeysSource,
  dest: DestSpec,
  concurrency: number,
): AsyncGenerator<ManifestItem[]> {
  let batch: ManifestItem[] = [];
  let denied = 0;
  let missing = 0;
  let firstDenial: unknown;
  const outcomes = mapOrdered(source.Keys, concurrency, async (key) => ({
    key,
    outcome: await head(reader, source.Bucket, key),
  }));
  for await (const { key, outcome } of outcomes) {
    if (outcome.kind === 'found') {
      batch.push(manifestItem(source, dest, key, outcome.size, outcome.etag));
    } else {
      const notFound = outcome.failure === 'not-found';
      if (notFound) missing++;
      else {
        denied++;
        firstDenial ??= outcome.error;
      }
      batch.push({
        Key: key,
        DestKey: manifestItem(source, dest, key, 0).DestKey,
        Error: notFound ? ErrorName.SourceNotFound : ErrorName.SourceAccessDenied,
        Cause: notFound
          ? `${s3Url(source.Bucket, key)} does not exist`
          : `${s3Url(source.Bucket, key)}: HeadObject: ${describeSdkError(outcome.error)}`,
      });
    }
    if (batch.length >= KEYS_BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (denied === source.Keys.length) {
    throw sourceError(
      firstDenial,
      source.Bucket,
      'HeadObject',
      `every key of Source.Keys in ${s3Url(source.Bucket)}`,
    );
  }
  if (missing + denied > 0) {
    reader.logger.warn('some keys cannot be copied', { keys: source.Keys.length, missing, denied });
  }
  yield batch;
}
