/**
 * The emulated CMR's search semantics, for the parameters the product sends (see README.md): which
 * collections and granules a query selects, in what order, and where a search-after page starts.
 */

/** A UMM-JSON search result item: CMR's `meta` and the UMM record. */
export interface UmmItem {
  readonly meta: Record<string, unknown>;
  readonly umm: Record<string, unknown>;
}

/** A collection the emulator serves, with its granules. */
export interface EmulatedCollection {
  readonly item: UmmItem;
  readonly granules: UmmItem[];
  /** Visible only to requests with a valid token, as a collection under an ACL is. */
  readonly restricted?: boolean;
}

/** A 400 answer's `errors`, as CMR words them. */
export class SearchError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join('; '));
  }
}

const COLLECTION_PARAMS = new Set([
  'concept_id',
  'short_name',
  'version',
  'provider',
  'page_size',
  'page_num',
  'offset',
]);
const GRANULE_PARAMS = new Set([
  ...COLLECTION_PARAMS,
  'collection_concept_id',
  'granule_ur',
  'readable_granule_name',
  'temporal',
  'bounding_box',
]);
const MAX_PAGE_SIZE = 2000;

export type Params = Map<string, string[]>;

/** Form or query parameters by name, `name[]` and `name` alike. */
export function collectParams(...sources: URLSearchParams[]): Params {
  const params: Params = new Map();
  for (const source of sources) {
    for (const [rawKey, value] of source) {
      const key = rawKey.replace(/\[\]$/, '');
      params.set(key, [...(params.get(key) ?? []), value]);
    }
  }
  return params;
}

export function checkParams(params: Params, granules: boolean, searchAfter: boolean): number {
  const known = granules ? GRANULE_PARAMS : COLLECTION_PARAMS;
  const unknown = [...params.keys()].filter((k) => !known.has(k));
  if (unknown.length > 0) throw new SearchError(unknown.map((k) => `Parameter [${k}] was not recognized.`));
  if (searchAfter && params.has('page_num'))
    throw new SearchError(['page_num is not allowed with search-after']);
  if (searchAfter && params.has('offset')) throw new SearchError(['offset is not allowed with search-after']);
  const pageSize = Number(params.get('page_size')?.[0] ?? '10');
  if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > MAX_PAGE_SIZE) {
    throw new SearchError([`page_size must be a number between 0 and ${MAX_PAGE_SIZE}`]);
  }
  return pageSize;
}

const lower = (value: unknown): string => String(value ?? '').toLowerCase();
// Parameter values match case-insensitively: CMR's `ignore_case` option defaults to true.
const anyOf = (wanted: string[] | undefined, actual: unknown): boolean =>
  wanted === undefined || wanted.some((w) => lower(w) === lower(actual));

export function collectionMatches(collection: EmulatedCollection, params: Params): boolean {
  const { meta, umm } = collection.item;
  return (
    anyOf(params.get('concept_id'), meta['concept-id']) &&
    anyOf(params.get('short_name'), umm.ShortName) &&
    anyOf(params.get('version'), umm.Version) &&
    anyOf(params.get('provider'), meta['provider-id'])
  );
}

function parseRange(value: string): [number, number] {
  const [start, end] = value.split(',');
  const from = start ? Date.parse(start) : -Infinity;
  const to = end ? Date.parse(end) : Infinity;
  if (Number.isNaN(from) || Number.isNaN(to) || value.split(',').length > 4) {
    throw new SearchError([`Temporal datetime is invalid: [${value}] is not a valid date range.`]);
  }
  if (from > to) throw new SearchError(['The temporal range start must be before the end.']);
  return [from, to];
}

function parseBox(value: string): [number, number, number, number] {
  const numbers = value.split(',').map(Number);
  if (numbers.length !== 4 || numbers.some((n) => !Number.isFinite(n))) {
    throw new SearchError([`[${value}] is not a valid URL encoded bounding_box`]);
  }
  return numbers as [number, number, number, number];
}

type Json = Record<string, unknown>;
const field = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null ? (value as Json)[key] : undefined;

/** A granule's [start, end] in ms (UMM-G `TemporalExtent`). */
export function granuleTime(umm: Json): [number, number] | undefined {
  const extent = umm.TemporalExtent;
  const single = field(extent, 'SingleDateTime');
  if (typeof single === 'string') return [Date.parse(single), Date.parse(single)];
  const range = field(extent, 'RangeDateTime');
  const begin = field(range, 'BeginningDateTime');
  if (typeof begin !== 'string') return undefined;
  const end = field(range, 'EndingDateTime');
  return [Date.parse(begin), typeof end === 'string' ? Date.parse(end) : Infinity];
}

/** A granule's bounding rectangles (UMM-G `SpatialExtent.HorizontalSpatialDomain.Geometry`), as [W,S,E,N]. */
function granuleBoxes(umm: Json): [number, number, number, number][] {
  const geometry = field(field(umm.SpatialExtent, 'HorizontalSpatialDomain'), 'Geometry');
  const rectangles = field(geometry, 'BoundingRectangles');
  return (Array.isArray(rectangles) ? rectangles : []).map((r) => [
    Number(field(r, 'WestBoundingCoordinate')),
    Number(field(r, 'SouthBoundingCoordinate')),
    Number(field(r, 'EastBoundingCoordinate')),
    Number(field(r, 'NorthBoundingCoordinate')),
  ]);
}

/** Longitude spans as non-wrapping intervals: a box whose West is east of its East crosses 180°. */
const spans = (west: number, east: number): [number, number][] =>
  west <= east
    ? [[west, east]]
    : [
        [west, 180],
        [-180, east],
      ];

function boxesIntersect(a: [number, number, number, number], b: [number, number, number, number]): boolean {
  if (a[1] > b[3] || b[1] > a[3]) return false;
  return spans(a[0], a[2]).some(([aw, ae]) => spans(b[0], b[2]).some(([bw, be]) => aw <= be && bw <= ae));
}

/** Whether a granule matches the granule parameters (its collection already matched). */
export function granuleMatches(granule: UmmItem, params: Params): boolean {
  const umm = granule.umm;
  const names = [...(params.get('granule_ur') ?? [])];
  if (names.length > 0 && !anyOf(names, umm.GranuleUR)) return false;
  const readable = params.get('readable_granule_name');
  if (readable !== undefined && !anyOf(readable, umm.GranuleUR)) return false;
  // Temporal ranges are inclusive on both ends, and a granule matches when its range overlaps one.
  for (const value of params.get('temporal') ?? []) {
    const [from, to] = parseRange(value);
    const time = granuleTime(umm);
    if (time === undefined || time[1] < from || time[0] > to) return false;
  }
  for (const value of params.get('bounding_box') ?? []) {
    const box = parseBox(value);
    if (!granuleBoxes(umm).some((g) => boxesIntersect(g, box))) return false;
  }
  return true;
}

/** The sort CMR applies to granules by default (provider, start date), with a unique tiebreaker. */
export type SortKey = [string, number, number];

export function sortKey(granule: UmmItem, sequence: number): SortKey {
  const start = granuleTime(granule.umm)?.[0] ?? 0;
  return [String(granule.meta['provider-id'] ?? ''), start, sequence];
}

export function compareKeys(a: SortKey, b: SortKey): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] - b[1] || a[2] - b[2];
}

/** The `CMR-Search-After` value a client sent back, checked as CMR checks it. */
export function parseSearchAfter(value: string): SortKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new SearchError(['search-after header value is invalid, must be in the form of a JSON array.']);
  }
  if (!Array.isArray(parsed)) {
    throw new SearchError(['search-after header value is invalid, must be in the form of a JSON array.']);
  }
  if (
    parsed.length !== 3 ||
    typeof parsed[0] !== 'string' ||
    typeof parsed[1] !== 'number' ||
    typeof parsed[2] !== 'number'
  ) {
    throw new SearchError([
      `The search failed with error: [{:type "illegal_argument_exception", :reason "search_after has ${parsed.length} value(s) but sort has 3."}]. Please double check your search_after header.`,
    ]);
  }
  return parsed as SortKey;
}

/** One page of search results. */
export interface ResultPage {
  readonly items: UmmItem[];
  readonly hits: number;
  /** The sort key of the page's last item, as CMR's `CMR-Search-After` value; absent on an empty page. */
  readonly searchAfter?: string;
}

const visible = (collections: EmulatedCollection[], authorized: boolean): EmulatedCollection[] =>
  collections.filter((c) => authorized || !c.restricted);

export function findCollections(
  collections: EmulatedCollection[],
  params: Params,
  authorized: boolean,
  pageSize: number,
): ResultPage {
  const matched = visible(collections, authorized).filter((c) => collectionMatches(c, params));
  return { items: matched.slice(0, pageSize).map((c) => c.item), hits: matched.length };
}

/** The page of granules after `after` (a `CMR-Search-After` value), or the first. */
export function findGranules(
  collections: EmulatedCollection[],
  params: Params,
  authorized: boolean,
  pageSize: number,
  after?: string,
): ResultPage {
  const ids = [...(params.get('collection_concept_id') ?? []), ...(params.get('concept_id') ?? [])];
  if (after !== undefined && ids.length === 0 && !params.has('short_name') && !params.has('provider')) {
    throw new SearchError([
      'The CMR does not allow querying across granules in all collections when using search-after. You should limit your query using conditions that identify one or more collections such as provider, concept_id, short_name, or entry_title.',
    ]);
  }
  const parentParams: Params = new Map(params);
  parentParams.delete('concept_id');
  if (ids.length > 0) parentParams.set('concept_id', ids);
  const matched = visible(collections, authorized)
    .filter((c) => collectionMatches(c, parentParams))
    .flatMap((c) => c.granules)
    .filter((granule) => granuleMatches(granule, params))
    .map((granule, i) => {
      const sequence = Number(String(granule.meta['concept-id']).slice(1).split('-')[0]);
      return { granule, key: sortKey(granule, Number.isFinite(sequence) ? sequence : i) };
    })
    .sort((a, b) => compareKeys(a.key, b.key));
  const position = after === undefined ? undefined : parseSearchAfter(after);
  const start = position === undefined ? 0 : matched.findIndex(({ key }) => compareKeys(key, position) > 0);
  const slice = start < 0 ? [] : matched.slice(start, start + pageSize);
  const last = slice.at(-1);
  return {
    items: slice.map(({ granule }) => granule),
    hits: matched.length,
    ...(last !== undefined && { searchAfter: JSON.stringify(last.key) }),
  };
}
