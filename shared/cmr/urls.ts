/**
 * Where NASA's Common Metadata Repository answers searches, and how this product names itself there.
 * The search root is what `Source.CmrUrl` holds; requests go to `<root>/collections.umm_json` and
 * `<root>/granules.umm_json` (https://cmr.earthdata.nasa.gov/search/site/docs/search/api.html).
 */

/** The production CMR: what `Source.CmrUrl` defaults to. */
export const DEFAULT_CMR_URL = 'https://cmr.earthdata.nasa.gov/search';
/** The UAT CMR, for collections of Earthdata's test environment. */
export const UAT_CMR_URL = 'https://cmr.uat.earthdata.nasa.gov/search';
/** Sent as `Client-Id` on every request, so that CMR's operators can tell our traffic apart. */
export const CMR_CLIENT_ID = 's3-direct-transfer';

/** Why `value`, an absolute URL, cannot be a CMR search root ("but it ..."); or undefined. */
export const cmrRootProblem = (value: string): string | undefined =>
  /[?#]/.test(value) ? 'but it has a query string or fragment (give the search root only)' : undefined;

/** `<root>/<resource>`, whatever slash the root ends with. */
export const cmrResourceUrl = (root: string, resource: string): string =>
  `${root.replace(/\/+$/, '')}/${resource}`;
