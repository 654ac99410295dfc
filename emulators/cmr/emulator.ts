/**
 * An emulated CMR search API on 127.0.0.1: UMM-JSON collection and granule searches (GET, or POST with
 * a form body), search-after paging, `CMR-Hits`, restricted collections visible only with a valid
 * token, 401 for an unknown token, counters, and fault injection. See README.md for what it follows.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  checkParams,
  collectParams,
  findCollections,
  findGranules,
  SearchError,
  type EmulatedCollection,
  type ResultPage,
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

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cmr-request-id': randomUUID(),
    ...headers,
  });
  res.end(body);
}

const sendErrors = (
  res: ServerResponse,
  status: number,
  errors: string[],
  headers?: Record<string, string>,
): void => send(res, status, JSON.stringify({ errors }), headers);

function sendPage(res: ServerResponse, page: ResultPage, timedOut: boolean): void {
  // A timed-out query returns part of its hits, flagged (the search API's "Request Timeouts").
  const items = timedOut ? page.items.slice(0, Math.floor(page.items.length / 2)) : page.items;
  send(res, 200, JSON.stringify({ hits: page.hits, took: 5, items }), {
    'content-type': UMM_JSON,
    'cmr-hits': String(page.hits),
    'cmr-took': '5',
    ...(page.searchAfter !== undefined && { 'cmr-search-after': page.searchAfter }),
    ...(timedOut && { 'cmr-timed-out': 'true' }),
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

class EmulatedCmr implements CmrEmulator {
  url = '';
  port = 0;
  readonly tokens: Set<string>;
  latencyMs: number;
  // Own copies of the granule lists: deleteGranule must not change the caller's fixture.
  readonly collections: EmulatedCollection[];
  readonly #searches: RecordedSearch[] = [];
  readonly #faults: Fault[] = [];
  #timeOuts = 0;
  #granulePages = 0;
  #tokensSeen = 0;
  readonly #server: Server;

  constructor(options: CmrEmulatorOptions) {
    this.collections = (options.collections ?? []).map((c) => ({ ...c, granules: [...c.granules] }));
    this.tokens = new Set(options.tokens ?? []);
    this.latencyMs = options.latencyMs ?? 0;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) =>
        sendErrors(res, 500, [`emulator failure: ${String(error)}`]),
      );
    });
  }

  async listen(port: number): Promise<this> {
    this.#server.listen(port, '127.0.0.1');
    await once(this.#server, 'listening'); // rejects on 'error' (a port in use)
    this.port = (this.#server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}/search`;
    return this;
  }

  get searches(): readonly RecordedSearch[] {
    return this.#searches;
  }
  get granulePages(): number {
    return this.#granulePages;
  }
  get tokensSeen(): number {
    return this.#tokensSeen;
  }

  addCollection(collection: EmulatedCollection): void {
    this.collections.push({ ...collection, granules: [...collection.granules] });
  }

  deleteGranule(granuleUR: string): boolean {
    for (const { granules } of this.collections) {
      const index = granules.findIndex((g) => g.umm.GranuleUR === granuleUR);
      if (index >= 0) return granules.splice(index, 1).length === 1;
    }
    return false;
  }

  failNext(n: number, status = 503, retryAfterSeconds?: number): void {
    this.#faults.push({
      remaining: n,
      status,
      ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
    });
  }

  timeOutNext(n: number): void {
    this.#timeOuts += n;
  }

  reset(): void {
    this.#searches.length = 0;
    this.#faults.length = 0;
    this.#timeOuts = 0;
    this.#granulePages = 0;
    this.#tokensSeen = 0;
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve, reject) =>
      this.#server.close((e) => (e ? reject(e) : resolve())),
    );
    this.#server.closeAllConnections();
    return closed;
  }

  /** The status the request gets before any search: a fault, a content type, a token; else undefined. */
  #refusal(req: IncomingMessage, res: ServerResponse): number | undefined {
    const fault = this.#faults.find((f) => f.remaining > 0);
    if (fault) {
      fault.remaining--;
      const retry =
        fault.retryAfterSeconds !== undefined
          ? { 'retry-after': String(fault.retryAfterSeconds) }
          : undefined;
      sendErrors(res, fault.status, ['An Internal Error has occurred.'], retry);
      return fault.status;
    }
    const contentType = req.headers['content-type'];
    if (req.method === 'POST' && contentType !== undefined && contentType !== FORM) {
      send(res, 415, `Unsupported content type [${contentType}]`, { 'content-type': 'text/plain' });
      return 415;
    }
    const authorization = req.headers.authorization;
    const token =
      authorization === undefined ? undefined : (/^Bearer (\S+)$/.exec(authorization)?.[1] ?? authorization);
    if (token !== undefined && !this.tokens.has(token)) {
      sendErrors(res, 401, ['Token does not exist']);
      return 401;
    }
    return undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const resource = ROUTE.exec(url.pathname)?.[1] as 'collections' | 'granules' | undefined;
    if (resource === undefined) {
      return sendErrors(res, 404, [
        `No route for ${url.pathname} (this emulator serves collections.umm_json and granules.umm_json)`,
      ]);
    }
    const params = collectParams(url.searchParams, new URLSearchParams(await readBody(req)));
    const searchAfter = req.headers['cmr-search-after'] as string | undefined;
    const clientId = req.headers['client-id'] as string | undefined;
    const authorized = req.headers.authorization !== undefined;
    if (authorized) this.#tokensSeen++;
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const record = (status: number): void => {
      this.#searches.push({
        resource,
        method: req.method ?? '',
        params: Object.fromEntries(params),
        ...(searchAfter !== undefined && { searchAfter }),
        authorized,
        ...(clientId !== undefined && { clientId }),
        status,
      });
    };
    const refused = this.#refusal(req, res);
    if (refused !== undefined) return record(refused);
    try {
      const pageSize = checkParams(params, resource === 'granules', searchAfter !== undefined);
      const page =
        resource === 'granules'
          ? findGranules(this.collections, params, authorized, pageSize, searchAfter)
          : findCollections(this.collections, params, authorized, pageSize);
      if (resource === 'granules') this.#granulePages++;
      const timedOut = this.#timeOuts > 0;
      if (timedOut) this.#timeOuts--;
      record(200);
      sendPage(res, page, timedOut);
    } catch (error) {
      if (!(error instanceof SearchError)) throw error;
      record(400);
      sendErrors(res, 400, error.errors);
    }
  }
}

/** Starts the emulated CMR. Restricted collections answer as CMR does: no hits without a valid token. */
export function startCmrEmulator(options: CmrEmulatorOptions = {}): Promise<CmrEmulator> {
  return new EmulatedCmr(options).listen(options.port ?? 0);
}
