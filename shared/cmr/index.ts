/**
 * NASA's Common Metadata Repository, as Plan uses it for `Source.Collection` events: find the
 * collection, decide its credentials endpoint, list its granules' files with their published checksums.
 */
export { credentialsEndpointFor, findCollection, type FindCollectionOptions } from './collection';
export { granuleFiles, granuleParams, granuleQuery, type GranuleFilesOptions } from './granules';
export { checkCmrUrl, searchCmr, type SearchAnswer, type SearchRequest } from './http';
export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_BYTES,
  MAX_PAGE_SIZE,
  type CmrCollection,
  type CmrFile,
  type CmrLog,
  type CmrOptions,
  type GranuleQuery,
  type GranuleSearchStats,
  type PublishedChecksum,
  type PublishedChecksumAlgorithm,
} from './types';
export { DIRECT_ACCESS_TYPE, collectionOf, filesOfGranule, parseS3Url, publishedChecksum } from './umm';
export { CMR_CLIENT_ID, DEFAULT_CMR_URL, UAT_CMR_URL } from './urls';
export { PublishedChecksumVerifier, publishedCheckName } from './verify';
