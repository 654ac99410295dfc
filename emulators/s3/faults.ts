/**
 * Fault injection: settings the tests change at run time, and their application to requests
 * (latency, 503 SlowDown) and to GET bodies (connection reset after some bytes, bandwidth limit,
 * the source object replaced while it is being read).
 */
import type { Socket } from 'node:net';
import type * as http from 'node:http';
import type { Counters } from './counters';
import type { CredentialKind } from './credentials';
import { S3Error } from './errors';
import type { RequestContext } from './request';
import type { ObjectStore } from './store';

/** Narrows a fault to some requests; every given field must match. */
export interface FaultScope {
  bucket?: string;
  key?: string;
  keyPrefix?: string;
  /** e.g. 'issued' to hit only requests made with issued (source) credentials */
  credentials?: CredentialKind | CredentialKind[];
  /** operation names as in counters.requests, e.g. ['GetObject'] */
  operations?: string[];
}

export interface FaultSettings {
  /** fraction (0..1) of requests answered 503 SlowDown (random) */
  slowDownRate: number;
  /** deterministic alternative: every Nth matching request is answered 503 SlowDown (0/undefined = off) */
  slowDownEvery?: number;
  /** scope of slowDownRate and slowDownEvery */
  slowDownScope?: FaultScope;
  /** latency added before each request is handled */
  latencyMs: number;
  latencyScope?: FaultScope;
  /** throttle GET bodies to this many bytes per second (0 = unthrottled) */
  getBytesPerSecond: number;
  bandwidthScope?: FaultScope;
  /** cut the next `times` GET bodies after `afterBytes` bytes with a connection reset */
  cutGetBody?: { afterBytes: number; times: number; scope?: FaultScope };
  /**
   * Once `afterBytes` bytes of that object have been served (over all GETs), overwrite it with
   * `body` (new content and ETag); one-shot, cleared when it fires.
   */
  replaceSourceAfterBytes?: { bucket: string; key: string; afterBytes: number; body: Buffer | string };
}

type Replacement = NonNullable<FaultSettings['replaceSourceAfterBytes']>;

export function defaultFaults(): FaultSettings {
  return { slowDownRate: 0, latencyMs: 0, getBytesPerSecond: 0 };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function scopeMatches(scope: FaultScope | undefined, ctx: RequestContext): boolean {
  if (!scope) return true;
  if (scope.bucket !== undefined && scope.bucket !== ctx.bucket) return false;
  if (scope.key !== undefined && scope.key !== ctx.key) return false;
  if (scope.keyPrefix !== undefined && !(ctx.key ?? '').startsWith(scope.keyPrefix)) return false;
  if (scope.credentials !== undefined) {
    const kinds = Array.isArray(scope.credentials) ? scope.credentials : [scope.credentials];
    if (!kinds.includes(ctx.principal.kind)) return false;
  }
  if (scope.operations !== undefined && !scope.operations.includes(ctx.op)) return false;
  return true;
}

export class FaultInjector {
  /** replaced as a whole by resetFaults, changed field by field by tests */
  settings: FaultSettings = defaultFaults();
  private replaceServed = 0;
  private slowDownSeen = 0;

  constructor(
    private readonly counters: Counters,
    private readonly store: ObjectStore,
  ) {}

  reset(): void {
    this.settings = defaultFaults();
    this.replaceServed = 0;
    this.slowDownSeen = 0;
  }

  /** Latency, then SlowDown, for an authorized request about to be dispatched. */
  async beforeDispatch(ctx: RequestContext): Promise<void> {
    if (this.settings.latencyMs > 0 && scopeMatches(this.settings.latencyScope, ctx)) {
      this.counters.faults.delayed++;
      await sleep(this.settings.latencyMs);
    }
    // read again: a test may have changed the settings during the latency
    const f = this.settings;
    if ((f.slowDownRate > 0 || (f.slowDownEvery ?? 0) > 0) && scopeMatches(f.slowDownScope, ctx)) {
      const every = f.slowDownEvery ?? 0;
      const hit = every > 0 ? ++this.slowDownSeen % every === 0 : Math.random() < f.slowDownRate;
      if (hit) {
        this.counters.faults.slowDown++;
        throw new S3Error('SlowDown');
      }
    }
  }

  /** The faults a GET body of `length` bytes meets, decided as it starts. */
  forGetBody(ctx: RequestContext, length: number): GetBodyFaults {
    const f = this.settings;
    let cutAt: number | undefined;
    if (
      f.cutGetBody &&
      f.cutGetBody.times > 0 &&
      length > f.cutGetBody.afterBytes &&
      scopeMatches(f.cutGetBody.scope, ctx)
    ) {
      f.cutGetBody.times--;
      cutAt = f.cutGetBody.afterBytes;
    }
    const bps = f.getBytesPerSecond > 0 && scopeMatches(f.bandwidthScope, ctx) ? f.getBytesPerSecond : 0;
    if (bps) this.counters.faults.throttled++;
    return new GetBodyFaults(this, this.counters, ctx, cutAt, bps);
  }

  /** The pending replacement of the object `ctx` reads, if any. */
  replacementFor(ctx: RequestContext): Replacement | undefined {
    const r = this.settings.replaceSourceAfterBytes;
    return r && r.bucket === ctx.bucket && r.key === ctx.key ? r : undefined;
  }

  bytesUntilReplace(r: Replacement): number {
    return r.afterBytes - this.replaceServed;
  }

  async countServed(r: Replacement, n: number): Promise<void> {
    this.replaceServed += n;
    if (this.replaceServed >= r.afterBytes) await this.replaceSource(r);
  }

  /** Fires the replaceSourceAfterBytes fault (once). */
  async replaceSource(r: Replacement): Promise<void> {
    if (this.settings.replaceSourceAfterBytes !== r) return;
    this.settings.replaceSourceAfterBytes = undefined;
    this.replaceServed = 0;
    await this.store.putObject(r.bucket, r.key, typeof r.body === 'string' ? Buffer.from(r.body) : r.body);
    this.counters.faults.replacedSource++;
  }
}

/** How one GET body is cut, throttled, and counted towards a source replacement. */
export class GetBodyFaults {
  private sent = 0;
  private replace: Replacement | undefined;
  private readonly t0 = Date.now();

  constructor(
    private readonly injector: FaultInjector,
    private readonly counters: Counters,
    private readonly ctx: RequestContext,
    private readonly cutAt: number | undefined,
    private readonly bps: number,
  ) {}

  /** How many of the `available` bytes to send next; fires a replacement that is due first. */
  async nextPieceSize(available: number): Promise<number> {
    for (;;) {
      const n = this.bps ? Math.min(available, 64 * 1024) : available;
      this.replace = this.injector.replacementFor(this.ctx);
      if (!this.replace) return n;
      const untilReplace = this.injector.bytesUntilReplace(this.replace);
      if (untilReplace > 0) return Math.min(n, untilReplace);
      await this.injector.replaceSource(this.replace);
    }
  }

  /** Whether sending `n` more bytes reaches the cut. */
  cutsWithin(n: number): boolean {
    return this.cutAt !== undefined && this.sent + n >= this.cutAt;
  }

  /** Sends what comes before the cut out of `rest`, then resets the connection. */
  async cut(res: http.ServerResponse, rest: Buffer): Promise<void> {
    const piece = rest.subarray(0, (this.cutAt ?? 0) - this.sent);
    if (piece.length) {
      await new Promise<void>((resolve) => res.write(piece, () => resolve()));
      this.counters.bytesServed += piece.length;
    }
    this.counters.faults.cutGetBody++;
    const socket = res.socket as (Socket & { resetAndDestroy?: () => void }) | null;
    if (socket?.resetAndDestroy) socket.resetAndDestroy();
    else socket?.destroy();
  }

  /** `n` bytes were sent: count them towards the replacement, then wait out the bandwidth limit. */
  async sentPiece(n: number): Promise<void> {
    this.sent += n;
    if (this.replace) await this.injector.countServed(this.replace, n);
    if (this.bps) {
      const wait = this.t0 + (this.sent / this.bps) * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }
}
