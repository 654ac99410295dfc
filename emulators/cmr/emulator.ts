/**
 * An emulated CMR search API on 127.0.0.1: UMM-JSON collection and granule searches (GET, or POST with
 * a form body), search-after paging, `CMR-Hits`, restricted collections visible only with a valid
 * token, 401 for an unknown token, counters, and fault injection. See README.md for what it follows.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  checkParams,
  collectionMatches,
  collectParams,
  compareKeys,
  granuleMatches,
  parseSearchAfter,
  SearchError,
  sortKey,
  type EmulatedCollection,
  type Params,
  type UmmItem,
} from './search';

export interface CmrEmulatorOptions {
  /** @default 0 (any free port); the server always listens on 127.0.0.1 */
  readonly port?: number;
  readonly collections?: EmulatedCollection[];
  /** Valid Earthdata Login tokens (sent as `Authorization: Bearer`). @default [] */
  readonly tokens?: string[];
  /** Latency added to every search. @default 0 */
  readonly latencyMs?: number;
}

/** One search the emulator answered (or refused). */
export interface RecordedSearch {
  readonly resource: 'collections' | 'granules';
  readonly method: string;
  readonly params: Readonly<Record<string, string[]>>;
  readonly searchAfter?: string;
  /** The request carried an `Authorization` header. */
  readonly authorized: boolean;
  readonly clientId?: string;
  readonly status: number;
}

export interface CmrEmulator {
  /** The search root, `http://127.0.0.1:<port>/search`: what `Source.CmrUrl` names. */
  readonly url: string;
  readonly port: number;
  /** Mutable at runtime. */
  readonly tokens: Set<string>;
  latencyMs: number;
  readonly collections: EmulatedCollection[];
  /** Every search, in order. */
  readonly searches: readonly RecordedSearch[];
  /** Granule pages answered with 200. */
  readonly granulePages: number;
  /** Requests that carried a token. */
  readonly tokensSeen: number;
  addCollection(collection: EmulatedCollection): void;
  /** Removes a granule, as a deletion between two searches would. */
  deleteGranule(granuleUR: string): boolean;
  /** The next `n` searches answer `status` with a CMR error body (and `Retry-After`, when given). */
  failNext(n: number, status?: number, retryAfterSeconds?: number): void;
  /** The next `n` searches answer 200 with `CMR-Timed-Out: true` and half of their page. */
  timeOutNext(n: number): void;
  reset(): void;
  close(): Promise<void>;
}

const UMM_JSON = 'application/vnd.nasa.cmr.umm_results+json;version=1.6.6; charset=utf-8';
const FORM = 'application/x-www-form-urlencoded';
const ROUTE = /^\/search\/(collections|granules)\.umm_json$/;

interface Fault {
  remaining: number;
  status: number;
  retryAfterSeconds?: number;
}

/** Starts the emulated CMR. Restricted collections answer as CMR does: no hits without a valid token. */
export async function startCmrEmulator(options: CmrEmulatorOptions = {}): Promise<CmrEmulator> {
  // Own copies of the granule lists: deleteGranule must not change the caller's fixture.
  const own = (c: EmulatedCollection): EmulatedCollection => ({ ...c, granules: [...c.granules] });
  const collections = (options.collections ?? []).map(own);
  const tokens = new Set(options.tokens ?? []);
  const searches: RecordedSearch[] = [];
  const faults: Fault[] = [];
  let timeOuts = 0;
  let granulePages = 0;
  let tokensSeen = 0;

  const send = (
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ): void => {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cmr-request-id': randomUUID(),
      ...headers,
    });
    res.end(body);
  };
  const errors = (
    res: ServerResponse,
    status: number,
    messages: string[],
    headers?: Record<string, string>,
  ): void => send(res, status, JSON.stringify({ errors: messages }), headers);

  const visible = (authorized: boolean): EmulatedCollection[] =>
    collections.filter((c) => authorized || !c.restricted);

  const page = (
    items: UmmItem[],
    hits: number,
    searchAfter?: string,
    extra: Record<string, string> = {},
  ): [string, Record<string, string>] => [
    JSON.stringify({ hits, took: 5, items }),
    {
      'content-type': UMM_JSON,
      'cmr-hits': String(hits),
      'cmr-took': '5',
      ...(searchAfter !== undefined && { 'cmr-search-after': searchAfter }),
      ...extra,
    },
  ];

  const searchGranules = (params: Params, authorized: boolean, pageSize: number, after?: string) => {
    const ids = [...(params.get('collection_concept_id') ?? []), ...(params.get('concept_id') ?? [])];
    const named = ids.length > 0 || params.has('short_name') || params.has('provider');
    if (!named && after !== undefined) {
      throw new SearchError([
        'The CMR does not allow querying across granules in all collections when using search-after. You should limit your query using conditions that identify one or more collections such as provider, concept_id, short_name, or entry_title.',
      ]);
    }
    const parentParams: Params = new Map(params);
    parentParams.delete('concept_id');
    if (ids.length > 0) parentParams.set('concept_id', ids);
    const parents = visible(authorized).filter((c) => collectionMatches(c, parentParams));
    const matched = parents
      .flatMap((c) => c.granules)
      .map((granule, i) => ({
        granule,
        key: sortKey(granule, Number(String(granule.meta['concept-id']).slice(1).split('-')[0]) || i),
      }))
      .filter(({ granule }) => granuleMatches(granule, params))
      .sort((a, b) => compareKeys(a.key, b.key));
    const start =
      after === undefined ? 0 : matched.findIndex(({ key }) => compareKeys(key, parseSearchAfter(after)) > 0);
    const slice = start < 0 ? [] : matched.slice(start, start + pageSize);
    const last = slice.at(-1);
    granulePages++;
    return page(
      slice.map(({ granule }) => granule),
      matched.length,
      last && JSON.stringify(last.key),
    );
  };

  const searchCollections = (
    params: Params,
    authorized: boolean,
    pageSize: number,
  ): [string, Record<string, string>] => {
    const matched = visible(authorized).filter((c) => collectionMatches(c, params));
    return page(
      matched.slice(0, pageSize).map((c) => c.item),
      matched.length,
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = ROUTE.exec(url.pathname);
    if (!route)
      return errors(res, 404, [
        `No route for ${url.pathname} (the emulator serves collections.umm_json and granules.umm_json)`,
      ]);
    const resource = route[1] as 'collections' | 'granules';
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const authorization = req.headers.authorization;
    const searchAfter = req.headers['cmr-search-after'] as string | undefined;
    const clientId = req.headers['client-id'] as string | undefined;
    const params = collectParams(
      url.searchParams,
      new URLSearchParams(Buffer.concat(chunks).toString('utf8')),
    );
    const record = (status: number): void => {
      searches.push({
        resource,
        method: req.method ?? '',
        params: Object.fromEntries(params),
        ...(searchAfter !== undefined && { searchAfter }),
        authorized: authorization !== undefined,
        ...(clientId !== undefined && { clientId }),
        status,
      });
    };
    if (authorization !== undefined) tokensSeen++;
    if (emulator.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, emulator.latencyMs));
    const fault = faults.find((f) => f.remaining > 0);
    if (fault) {
      fault.remaining--;
      record(fault.status);
      const retry =
        fault.retryAfterSeconds !== undefined
          ? { 'retry-after': String(fault.retryAfterSeconds) }
          : undefined;
      return errors(res, fault.status, ['An Internal Error has occurred.'], retry);
    }
    const contentType = req.headers['content-type'];
    if (req.method === 'POST' && contentType !== FORM && contentType !== undefined) {
      record(415);
      return send(res, 415, `Unsupported content type [${contentType}]`, { 'content-type': 'text/plain' });
    }
    let authorized = false;
    if (authorization !== undefined) {
      const token = /^Bearer (\S+)$/.exec(authorization)?.[1] ?? authorization;
      if (!tokens.has(token)) {
        record(401);
        return errors(res, 401, ['Token does not exist']);
      }
      authorized = true;
    }
    try {
      const pageSize = checkParams(params, resource === 'granules', searchAfter !== undefined);
      const [body, headers] =
        resource === 'granules'
          ? searchGranules(params, authorized, pageSize, searchAfter)
          : searchCollections(params, authorized, pageSize);
      if (timeOuts > 0) {
        timeOuts--;
        const partial = JSON.parse(body) as { items: UmmItem[] };
        partial.items = partial.items.slice(0, Math.floor(partial.items.length / 2));
        record(200);
        return send(res, 200, JSON.stringify(partial), { ...headers, 'cmr-timed-out': 'true' });
      }
      record(200);
      return send(res, 200, body, headers);
    } catch (error) {
      if (!(error instanceof SearchError)) throw error;
      record(400);
      return errors(res, 400, error.errors);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => errors(res, 500, [`emulator failure: ${String(error)}`]));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const emulator: CmrEmulator = {
    url: `http://127.0.0.1:${port}/search`,
    port,
    tokens,
    latencyMs: options.latencyMs ?? 0,
    collections,
    get searches() {
      return searches;
    },
    get granulePages() {
      return granulePages;
    },
    get tokensSeen() {
      return tokensSeen;
    },
    addCollection(collection) {
      collections.push(own(collection));
    },
    deleteGranule(granuleUR) {
      for (const c of collections) {
        const index = c.granules.findIndex((g) => g.umm.GranuleUR === granuleUR);
        if (index >= 0) {
          c.granules.splice(index, 1);
          return true;
        }
      }
      return false;
    },
    failNext(n, status = 503, retryAfterSeconds) {
      faults.push({ remaining: n, status, ...(retryAfterSeconds !== undefined && { retryAfterSeconds }) });
    },
    timeOutNext(n) {
      timeOuts += n;
    },
    reset() {
      searches.length = 0;
      faults.length = 0;
      timeOuts = 0;
      granulePages = 0;
      tokensSeen = 0;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
  return emulator;
}
