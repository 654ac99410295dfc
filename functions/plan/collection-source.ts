/**
 * Plan's side of a `Source.Collection` event: find the collection in CMR, decide which credentials
 * endpoint reads its files (all before the token goes anywhere but CMR, and to CMR only when the
 * collection cannot be found without it), then stream its granules' files into manifest items, one
 * CMR page at a time (search-after), so that memory stays flat whatever the number of granules.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  checkCmrUrl,
  credentialsEndpointFor,
  findCollection,
  granuleFiles,
  granuleQuery,
  type CmrCollection,
  type CmrFile,
  type CmrOptions,
  type GranuleSearchStats,
} from '../../shared/cmr';
import type { CmrSearchSummary, ManifestItem } from '../../shared/contracts';
import { describeSdkError } from '../../shared/aws/sdk-errors';
import { stripQuotes } from '../../shared/aws/s3-names';
import type { EndpointPolicy } from '../../shared/credentials/endpoint';
import { ErrorName, TransferError, invalidInput } from '../../shared/errors';
import type { CollectionTransferEvent, DestSpec } from '../../shared/event';
import { destinationKey } from '../../shared/keys';
import { head, mapOrdered, type SourceReader } from './listing';

/** How Plan talks to CMR: everything of {@link CmrOptions} but the root and the policy, which the event and the run give. */
export type CmrAccess = Omit<CmrOptions, 'cmrUrl' | 'policy' | 'log'>;

export interface ResolvedCollection {
  readonly collection: CmrCollection;
  /** The credentials endpoint that reads its files (on the allowlist). */
  readonly endpoint: string;
  /** Sent to CMR with the granule searches: only for a collection found with it (restricted). */
  readonly cmrToken?: string;
}

/**
 * Finds the collection and its credentials endpoint. No token is sent anywhere for a collection that is
 * public (its files' endpoint may be refused below); for one found only with the token, to CMR alone.
 * @param token resolves the Earthdata Login token, when the event has one CMR could take (not a JwtCookie).
 * @throws TransferError `InvalidInput` (CmrUrl or endpoint off the allowlist, no such collection, no
 *   direct S3 access, no endpoint, endpoints that differ), `CmrError`, `AuthenticationFailed`.
 */
export async function resolveCollection(
  event: CollectionTransferEvent,
  policy: EndpointPolicy,
  access: CmrAccess & { log?: Logger; token?: () => Promise<string> },
): Promise<ResolvedCollection> {
  const options: CmrOptions = { ...access, cmrUrl: event.Source.CmrUrl, policy };
  // Before any request: the token may go to CMR.
  checkCmrUrl(options.cmrUrl, policy);
  let tokenSent: string | undefined;
  const token =
    access.token &&
    (async (): Promise<string> => {
      tokenSent = await access.token!();
      return tokenSent;
    });
  const collection = await findCollection(event.Source.Collection, { ...options, token });
  const endpoint = credentialsEndpointFor(collection, event.CredentialsEndpoint, policy);
  return {
    collection,
    endpoint,
    ...(collection.restricted && tokenSent !== undefined && { cmrToken: tokenSent }),
  };
}

/** Files whose size CMR does not publish, or that may be copied as part ranges, are looked at in S3. */
const needsHead = (file: CmrFile, partFanOutBytes: number): boolean =>
  file.size === undefined || file.size > partFanOutBytes;

function destKeyOf(
  dest: DestSpec,
  file: CmrFile,
): { DestKey: string } | { DestKey: string; Error: string; Cause: string } {
  try {
    // Dest.Prefix + the source key, as for Key and Keys sources.
    return { DestKey: destinationKey({ Bucket: file.bucket, Keys: [file.key] }, dest, file.key) };
  } catch (error) {
    if (!(error instanceof TransferError)) throw error;
    return { DestKey: '', Error: error.name, Cause: error.message };
  }
}

function itemOf(file: CmrFile, dest: DestSpec): ManifestItem {
  return {
    Key: file.key,
    ...destKeyOf(dest, file),
    ...(file.size !== undefined && { Size: file.size }),
    Bucket: file.bucket,
    GranuleUR: file.granuleUR,
    ...(file.checksum && { Checksum: { Value: file.checksum.value, Algorithm: file.checksum.algorithm } }),
  };
}

export interface CollectionListing {
  /** Manifest items, one array per CMR page. */
  readonly pages: AsyncIterable<ManifestItem[]>;
  /** The search's totals so far (final once `pages` is done). */
  summary(): CmrSearchSummary;
}

/**
 * The files of the collection's granules that the event selects, as manifest items carrying their own
 * bucket, GranuleUR and published checksum. A file whose size CMR does not publish, or that is big enough
 * to be copied as part ranges (which need its ETag), gets a HeadObject; one that is gone fails alone
 * (`SourceNotFound`), as does one the credentials may not read.
 */
export function listCollection(
  reader: SourceReader,
  event: CollectionTransferEvent,
  resolved: ResolvedCollection,
  settings: {
    policy: EndpointPolicy;
    access: CmrAccess;
    partFanOutBytes: number;
    headConcurrency: number;
    pageSize?: number;
  },
): CollectionListing {
  let stats: Readonly<GranuleSearchStats> | undefined;
  const query = granuleQuery(event.Source, resolved.collection, settings.pageSize);
  const files = granuleFiles(query, {
    ...settings.access,
    cmrUrl: event.Source.CmrUrl,
    policy: settings.policy,
    log: reader.logger,
    ...(resolved.cmrToken !== undefined && { token: resolved.cmrToken }),
    onPage: (s) => {
      stats = s;
      reader.logger.info('CMR page', { page: s.pages, hits: s.hits, granules: s.granules, files: s.files });
    },
  });
  const dest = event.Dest;
  async function* pages(): AsyncGenerator<ManifestItem[]> {
    for await (const page of files) {
      yield* [await withHeads(reader, page, dest, settings)];
    }
    // The collection's metadata promised S3 access, but none of its granules has an s3:// URL.
    if (stats && stats.granules > 0 && stats.granulesWithoutDirectAccess === stats.granules) {
      throw invalidInput(
        `Source.Collection: none of the ${stats.granules} granules of collection ${resolved.collection.conceptId} ` +
          `that the event selects has a "GET DATA VIA DIRECT ACCESS" s3:// URL, so their files cannot be copied ` +
          'from S3; download them over HTTPS instead',
      );
    }
    if (stats && stats.granulesWithoutDirectAccess > 0) {
      reader.logger.warn('some granules have no direct-access s3:// URL; their files are not copied', {
        granules: stats.granulesWithoutDirectAccess,
      });
    }
  }
  return {
    pages: pages(),
    summary: () => {
      const {
        MD5,
        'SHA-1': sha1,
        'SHA-256': sha256,
        'SHA-512': sha512,
        none,
        unusable,
      } = stats?.checksums ?? { MD5: 0, 'SHA-1': 0, 'SHA-256': 0, 'SHA-512': 0, none: 0, unusable: 0 };
      return {
        Collection: resolved.collection.conceptId,
        Hits: stats?.hits ?? 0,
        Pages: stats?.pages ?? 0,
        Granules: stats?.granules ?? 0,
        Files: stats?.files ?? 0,
        GranulesWithoutDirectAccess: stats?.granulesWithoutDirectAccess ?? 0,
        Checksums: { MD5, 'SHA-1': sha1, 'SHA-256': sha256, 'SHA-512': sha512, none: none + unusable },
      };
    },
  };
}

async function withHeads(
  reader: SourceReader,
  page: CmrFile[],
  dest: DestSpec,
  settings: { partFanOutBytes: number; headConcurrency: number },
): Promise<ManifestItem[]> {
  const out: ManifestItem[] = [];
  const headed = mapOrdered(page, settings.headConcurrency, async (file) => {
    const item = itemOf(file, dest);
    if (item.Error !== undefined || !needsHead(file, settings.partFanOutBytes)) return item;
    const outcome = await head(reader, file.bucket, file.key);
    if (outcome.kind === 'found') {
      return { ...item, Size: outcome.size, ...(outcome.etag && { ETag: stripQuotes(outcome.etag) }) };
    }
    const notFound = outcome.failure === 'not-found';
    return {
      ...item,
      Error: notFound ? ErrorName.SourceNotFound : ErrorName.SourceAccessDenied,
      Cause: notFound
        ? `s3://${file.bucket}/${file.key} (granule ${file.granuleUR}) does not exist`
        : `s3://${file.bucket}/${file.key}: HeadObject: ${describeSdkError(outcome.error)}`,
    };
  });
  for await (const item of headed) out.push(item);
  return out;
}

/** The token CMR may take from this event: a bearer token (inline or from SSM), never a cookie. */
export function cmrTokenOf(
  auth: { kind: 'bearer'; token: string } | { kind: 'cookie'; jwt: string },
): string {
  if (auth.kind === 'bearer') return auth.token;
  throw invalidInput(
    'Source.Collection: the collection is found only with an Earthdata Login token (it is restricted), and ' +
      'CMR takes no asf-urs cookie: give BearerToken or BearerTokenParameter',
  );
}
