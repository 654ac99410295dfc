/**
 * The files of a collection's granules, page by page, following CMR's search-after paging
 * (https://cmr.earthdata.nasa.gov/search/site/docs/search/api.html#search-after): each request sends
 * the previous answer's `CMR-Search-After`; the end is an answer without one, an empty page, or a page
 * shorter than the page size. One page is in memory at a time: the next is asked for only when the
 * consumer pulls it.
 */
import { ErrorName, TransferError } from '../errors';
import type { CollectionSource } from '../event/types';
import { keyFilter } from '../keys';
import { searchCmr } from './http';
import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type CmrCollection,
  type CmrFile,
  type CmrOptions,
  type GranuleQuery,
  type GranuleSearchStats,
} from './types';
import { filesOfGranule } from './umm';

/** A page over the size cap is asked again at half the size, down to this many granules. */
const MIN_PAGE_SIZE = 10;

export interface GranuleFilesOptions extends CmrOptions {
  /** Sent as `Authorization: Bearer` on every page; pass it only for a restricted collection. */
  readonly token?: string;
  /** Called after each page with the totals so far (the last call holds the final ones). */
  readonly onPage?: (stats: Readonly<GranuleSearchStats>) => void;
}

/** The granule query of a `Source.Collection` event, once its collection is found. */
export function granuleQuery(
  source: CollectionSource,
  collection: CmrCollection,
  pageSize?: number,
): GranuleQuery {
  return {
    collectionConceptId: collection.conceptId,
    ...(source.Granules !== undefined && { granuleURs: source.Granules }),
    ...(source.Temporal !== undefined && { temporal: source.Temporal }),
    ...(source.BoundingBox !== undefined && { boundingBox: source.BoundingBox }),
    ...(source.Include !== undefined && { include: source.Include }),
    ...(source.Exclude !== undefined && { exclude: source.Exclude }),
    ...(pageSize !== undefined && { pageSize }),
  };
}

/** CMR's parameters for `query` (page size apart). */
export function granuleParams(query: GranuleQuery): [string, string][] {
  const params: [string, string][] = [['collection_concept_id', query.collectionConceptId]];
  for (const ur of query.granuleURs ?? []) params.push(['granule_ur[]', ur]);
  if (query.temporal !== undefined) params.push(['temporal[]', `${query.temporal[0]},${query.temporal[1]}`]);
  if (query.boundingBox !== undefined) params.push(['bounding_box', query.boundingBox.join(',')]);
  return params;
}

const emptyStats = (): GranuleSearchStats => ({
  hits: 0,
  pages: 0,
  granules: 0,
  files: 0,
  filteredOut: 0,
  granulesWithoutDirectAccess: 0,
  invalidUrls: 0,
  checksums: { MD5: 0, 'SHA-1': 0, 'SHA-256': 0, 'SHA-512': 0, none: 0, unusable: 0 },
});

function count(stats: GranuleSearchStats, file: CmrFile): void {
  stats.files++;
  if (file.checksum !== undefined) stats.checksums[file.checksum.algorithm]++;
  else if (file.unusedChecksum !== undefined) stats.checksums.unusable++;
  else stats.checksums.none++;
}

/**
 * Every file of the granules `query` selects, one yielded array per CMR page (possibly empty), in
 * CMR's order. Files are the granules' `GET DATA VIA DIRECT ACCESS` `s3://` URLs, with the size and
 * checksum their metadata publishes under the same file name; Include/Exclude match the file name.
 * @returns the search's statistics (also reported through `onPage`).
 * @throws TransferError `CmrError`, `AuthenticationFailed`, `InvalidInput` (the CMR root is off the allowlist).
 */
export async function* granuleFiles(
  query: GranuleQuery,
  options: GranuleFilesOptions,
): AsyncGenerator<CmrFile[], GranuleSearchStats> {
  const keep = keyFilter(query.include, query.exclude);
  const params = granuleParams(query);
  const stats = emptyStats();
  let pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(query.pageSize ?? DEFAULT_PAGE_SIZE)));
  let searchAfter: string | undefined;
  for (;;) {
    const answer = await searchCmr(
      {
        resource: 'granules.umm_json',
        params: [...params, ['page_size', String(pageSize)]],
        ...(options.token !== undefined && { token: options.token }),
        ...(searchAfter !== undefined && { searchAfter }),
      },
      options,
    );
    if (answer.kind === 'tooLarge') {
      if (pageSize <= MIN_PAGE_SIZE) {
        throw new TransferError(
          ErrorName.CmrError,
          `CMR's page of ${pageSize} granules of ${query.collectionConceptId} is over ${answer.maxBytes} bytes`,
        );
      }
      // Search-after is stateless: the same position can be asked again with a smaller page.
      pageSize = Math.max(MIN_PAGE_SIZE, Math.floor(pageSize / 2));
      options.log?.warn('CMR page over the size cap, asking for fewer granules', {
        pageSize,
        maxBytes: answer.maxBytes,
      });
      continue;
    }
    stats.pages++;
    stats.hits = answer.hits;
    const page: CmrFile[] = [];
    for (const item of answer.items) {
      const granule = filesOfGranule(item, keep);
      if (granule === undefined) {
        throw new TransferError(
          ErrorName.CmrError,
          `CMR answered a granule of ${query.collectionConceptId} without a GranuleUR`,
        );
      }
      stats.granules++;
      stats.filteredOut += granule.filteredOut;
      stats.invalidUrls += granule.invalidUrls;
      if (granule.noDirectAccess) stats.granulesWithoutDirectAccess++;
      if (granule.invalidUrls > 0) {
        options.log?.warn('granule has s3:// URLs whose bucket or key is not acceptable', {
          granuleUR: granule.granuleUR,
          invalidUrls: granule.invalidUrls,
        });
      }
      granule.files.forEach((file) => count(stats, file));
      page.push(...granule.files);
    }
    options.onPage?.({ ...stats, checksums: { ...stats.checksums } });
    yield page;
    const next = answer.searchAfter;
    if (next === undefined || answer.items.length === 0 || answer.items.length < pageSize) return stats;
    if (next === searchAfter) {
      throw new TransferError(
        ErrorName.CmrError,
        'CMR sent the same CMR-Search-After twice: the paging would not end',
      );
    }
    searchAfter = next;
  }
}
