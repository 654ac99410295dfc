/**
 * Finding the collection an event names, and deciding which credentials endpoint reads its files. The
 * token goes to CMR only when the collection cannot be found without it (a restricted collection is
 * invisible to anonymous searches), and to no endpoint off the allowlist.
 */
import { checkEndpoint, describeEndpoint, type EndpointPolicy } from '../credentials/endpoint';
import { ErrorName, TransferError, invalidInput } from '../errors';
import type { CollectionRef } from '../event/types';
import { searchCmr } from './http';
import type { CmrCollection, CmrOptions } from './types';
import { collectionOf } from './umm';

/** Most collections one query may match before it is refused as ambiguous (and listed). */
const MAX_LISTED = 10;

export interface FindCollectionOptions extends CmrOptions {
  /**
   * The Earthdata Login token, resolved only when the anonymous search finds nothing; then the search
   * is repeated with it. Absent (a JwtCookie event): restricted collections cannot be found.
   */
  readonly token?: () => Promise<string>;
}

function collectionParams(ref: CollectionRef): [string, string][] {
  if ('ConceptId' in ref) return [['concept_id[]', ref.ConceptId]];
  return [
    ['short_name', ref.ShortName],
    ['version', ref.Version],
    ...(ref.Provider !== undefined ? [['provider', ref.Provider] as [string, string]] : []),
  ];
}

const described = (ref: CollectionRef): string =>
  'ConceptId' in ref
    ? `collection ${ref.ConceptId}`
    : `the collection of this ShortName and Version${ref.Provider !== undefined ? ' and Provider' : ''}`;

async function search(ref: CollectionRef, options: CmrOptions, token?: string): Promise<CmrCollection[]> {
  const answer = await searchCmr(
    {
      resource: 'collections.umm_json',
      params: [...collectionParams(ref), ['page_size', String(MAX_LISTED)]],
      ...(token !== undefined && { token }),
    },
    options,
  );
  if (answer.kind === 'tooLarge') {
    throw new TransferError(ErrorName.CmrError, `CMR's collection answer is over ${answer.maxBytes} bytes`);
  }
  return answer.items.map((item) => {
    const collection = collectionOf(item, token !== undefined);
    if (collection === undefined) {
      throw new TransferError(
        ErrorName.CmrError,
        'CMR answered a collection without a valid concept id or provider id',
      );
    }
    return collection;
  });
}

/**
 * The one collection `ref` names: searched anonymously, then (when nothing is found and `token` is
 * given) with the token, which marks it `restricted`.
 * @throws TransferError `InvalidInput` (no such collection, or several: add Provider or use ConceptId),
 *   `CmrError`, `AuthenticationFailed` (CMR rejected the token).
 */
export async function findCollection(
  ref: CollectionRef,
  options: FindCollectionOptions,
): Promise<CmrCollection> {
  let found = await search(ref, options);
  if (found.length === 0 && options.token !== undefined)
    found = await search(ref, options, await options.token());
  if (found.length === 0) {
    throw invalidInput(
      `Source.Collection: CMR (${describeEndpoint(options.cmrUrl)}) has no ${described(ref)} that ` +
        (options.token !== undefined
          ? 'your Earthdata Login account may see. Check the identifiers, and that your account may access a restricted collection.'
          : 'is public. Check the identifiers; a restricted collection is found only with BearerToken or BearerTokenParameter.'),
    );
  }
  if (found.length > 1) {
    const list = found
      .map((c) => `${c.conceptId}${c.directAccess ? '' : ' (no direct S3 access)'}`)
      .join(', ');
    throw invalidInput(
      `Source.Collection: ${described(ref)} matches ${found.length === MAX_LISTED ? `${MAX_LISTED} or more` : found.length} ` +
        `collections in CMR (${list}): add Source.Collection.Provider, or name one with ConceptId`,
    );
  }
  return found[0];
}

const comparable = (endpoint: string): string => describeEndpoint(endpoint).replace(/\/+$/, '');

/**
 * The credentials endpoint that reads the collection's files: the one its metadata names
 * (UMM-C `DirectDistributionInformation.S3CredentialsAPIEndpoint`), or else the event's. Both must be
 * on the allowlist; when both are given they must be the same. Call before the token is sent anywhere.
 * @throws TransferError `InvalidInput`: no direct S3 access, no endpoint, different endpoints, or an
 *   endpoint off the allowlist.
 */
export function credentialsEndpointFor(
  collection: CmrCollection,
  eventEndpoint: string | undefined,
  policy: EndpointPolicy,
): string {
  const id = collection.conceptId;
  if (!collection.directAccess) {
    throw invalidInput(
      `Source.Collection: collection ${id} offers no direct S3 access (its metadata has no ` +
        'DirectDistributionInformation), so its files cannot be copied from S3; download them over HTTPS instead',
    );
  }
  const published = collection.s3CredentialsEndpoint;
  if (eventEndpoint !== undefined) checkEndpoint(eventEndpoint, policy);
  if (published === undefined) {
    if (eventEndpoint !== undefined) return eventEndpoint;
    throw invalidInput(
      `CredentialsEndpoint: required, since collection ${id} names no S3CredentialsAPIEndpoint in its metadata ` +
        '(give the /s3credentials URL of the archive that holds it)',
    );
  }
  checkEndpoint(published, policy, `the S3CredentialsAPIEndpoint of collection ${id}`);
  if (eventEndpoint !== undefined && comparable(eventEndpoint) !== comparable(published)) {
    throw invalidInput(
      `CredentialsEndpoint: collection ${id} names another credentials endpoint (${describeEndpoint(published)}); ` +
        "leave CredentialsEndpoint out to use the collection's, or correct it",
    );
  }
  return published;
}
