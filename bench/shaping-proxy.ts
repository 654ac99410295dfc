/**
 * A TCP proxy that makes a loopback S3 behave like a remote one: every response's first byte waits a
 * first-byte latency drawn per request (log-normal: a median and a tail), every connection is held to
 * a throughput cap, and optionally all connections together to a total cap (each direction on its own,
 * as a full-duplex link would). It forwards bytes unchanged, so SigV4 signatures (which cover the Host
 * header the client sent to the proxy) still verify, and it works in front of any HTTP/1.1 endpoint.
 *
 * A request starts with the first client byte after a response (HTTP/1.1 without pipelining, as the
 * SDK, rclone and the AWS CLI speak it); its response's first byte leaves no earlier than the latency
 * after the request's last byte. An interim `100 Continue` goes through at once.
 *
 *   npx tsx bench/shaping-proxy.ts --target http://127.0.0.1:PORT [--port 0] [--latency-median-ms 30]
 *       [--latency-sigma 0.6] [--latency-max-ms 1000] [--per-connection-mb-s 9] [--total-mb-s 7.5]
 *       [--seed 1]
 *
 * Prints one JSON line (`{"endpoint": ...}`) once listening; `stats` on stdin prints the counters;
 * SIGTERM, SIGINT or `exit` stops it, and so does the end of stdin with `--exit-on-stdin-end` (a
 * benchmark's child, so that it never outlives its parent). Caps are in MB/s (10^6 bytes per second).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

export interface LatencyShape {
  /** Median first-byte latency. @default 30 */
  medianMs: number;
  /** Log-normal shape: 0 gives the median every time; 0.6 puts p99 near 4 x the median. @default 0.6 */
  sigma: number;
  /** No request waits longer than this. @default 1000 */
  maxMs: number;
}

export interface ShapingOptions {
  /** `http://host:port` of the endpoint behind the proxy. */
  target: string;
  /** @default 0 (any free port) */
  port?: number;
  /** @default no added latency */
  latency?: Partial<LatencyShape>;
  /** Bytes per second each connection may move in each direction. @default no cap */
  perConnectionBytesPerSecond?: number;
  /** Bytes per second all connections together may move in each direction. @default no cap */
  totalBytesPerSecond?: number;
  /** Seed of the latency draws (the same seed gives the same sequence). @default 1 */
  seed?: number;
}

export interface ShapingStats {
  connections: number;
  requests: number;
  bytesUp: number;
  bytesDown: number;
  /** Sum of the latencies applied to responses, ms. */
  latencyMs: number;
}

/** Silence after which a link's clock restarts: shorter gaps are timer lateness, not idleness. */
const IDLE_MS = 50;

const sleep = (ms: number): Promise<void> =>
  ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();

/** mulberry32: a small seeded generator, so that runs draw the same latencies. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws latencies: median x exp(sigma x a standard normal), capped. */
export function latencySampler(shape: LatencyShape, random: () => number): () => number {
  return () => {
    if (shape.medianMs <= 0) return 0;
    // Box-Muller; 1 - random() keeps the logarithm finite.
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.min(shape.maxMs, shape.medianMs * Math.exp(shape.sigma * normal));
  };
}

/**
 * A rate as a virtual clock: a chunk of n bytes ends n / rate after the previous one ended. A chunk
 * written late (timers fire a millisecond or more after their time) leaves the clock where it was, so
 * that lateness is not lost throughput; only after IDLE_MS of silence does the clock restart from now
 * (no credit is saved up across idle time). Answers when the chunk may have been delivered.
 */
class RateClock {
  private next = 0;
  constructor(private readonly bytesPerSecond: number) {}

  reserve(bytes: number, now: number): number {
    if (now - this.next > IDLE_MS) this.next = now;
    this.next += (bytes * 1000) / this.bytesPerSecond;
    return this.next;
  }
}

const now = (): number => performance.now();

/** Forwards `from` to `to` one chunk at a time: `before` may hold a chunk, then the caps are applied. */
function pump(
  from: Socket,
  to: Socket,
  clocks: () => RateClock[],
  before: (chunk: Buffer) => Promise<void> | void,
  count: (bytes: number) => void,
): void {
  let chain = Promise.resolve();
  from.on('data', (chunk: Buffer) => {
    from.pause();
    chain = chain.then(async () => {
      await before(chunk);
      // Each cap in turn: the chunk is written once it could have crossed every one of them.
      for (const clock of clocks()) await sleep(clock.reserve(chunk.length, now()) - now());
      count(chunk.length);
      if (to.destroyed) return;
      if (!to.write(chunk)) await new Promise((resolve) => to.once('drain', resolve));
      from.resume();
    });
  });
  // Closed after its last bytes (e.g. `Connection: close`): they still go before the other side ends.
  from.on('end', () => void chain.then(() => to.end()));
  from.on('close', () => void chain.then(() => to.end()));
}

export class ShapingProxy {
  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
    readonly stats: ShapingStats,
    private readonly sockets: Set<Socket>,
  ) {}

  static async start(options: ShapingOptions): Promise<ShapingProxy> {
    const target = new URL(options.target);
    const targetPort = Number(target.port || 80);
    const shape: LatencyShape = { medianMs: 0, sigma: 0.6, maxMs: 1000, ...options.latency };
    const drawLatency = latencySampler(shape, seeded(options.seed ?? 1));
    const perConnection = options.perConnectionBytesPerSecond;
    const total = options.totalBytesPerSecond;
    const totalUp = total ? new RateClock(total) : undefined;
    const totalDown = total ? new RateClock(total) : undefined;
    const stats: ShapingStats = { connections: 0, requests: 0, bytesUp: 0, bytesDown: 0, latencyMs: 0 };
    const sockets = new Set<Socket>();

    const server = createServer((client) => {
      stats.connections++;
      const upstream = connect(targetPort, target.hostname);
      for (const socket of [client, upstream]) {
        socket.setNoDelay(true);
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      }
      const fail = (): void => {
        client.destroy();
        upstream.destroy();
      };
      // An end is passed on once the bytes before it are (a response held for its latency still goes).
      client.on('error', fail);
      upstream.on('error', fail);
      const up = perConnection ? [new RateClock(perConnection)] : [];
      const down = perConnection ? [new RateClock(perConnection)] : [];
      if (totalUp) up.push(totalUp);
      if (totalDown) down.push(totalDown);
      // Request/response phase of this connection (HTTP/1.1, no pipelining).
      let inRequest = false;
      let latency = 0;
      let requestEnd = 0;
      pump(
        client,
        upstream,
        () => up,
        () => {
          if (!inRequest) {
            inRequest = true;
            latency = drawLatency();
            stats.requests++;
          }
        },
        (bytes) => {
          stats.bytesUp += bytes;
          requestEnd = now();
        },
      );
      pump(
        upstream,
        client,
        () => down,
        async (chunk) => {
          if (!inRequest) return;
          if (chunk.subarray(0, 12).toString('latin1') === 'HTTP/1.1 100') return;
          inRequest = false;
          stats.latencyMs += latency;
          await sleep(requestEnd + latency - now());
        },
        (bytes) => (stats.bytesDown += bytes),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy: no TCP address');
    return new ShapingProxy(server, `http://127.0.0.1:${address.port}`, stats, sockets);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Parses the command line of the CLI form (flags as in the header). */
export function optionsFromArgs(args: string[]): ShapingOptions {
  const value = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const number = (name: string): number | undefined => {
    const text = value(name);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
    return n;
  };
  const target = value('--target');
  if (!target) throw new Error('--target http://host:port is required');
  const mbps = (name: string): number | undefined => {
    const n = number(name);
    return n ? n * 1e6 : undefined;
  };
  return {
    target,
    port: number('--port'),
    latency: {
      medianMs: number('--latency-median-ms') ?? 30,
      ...(number('--latency-sigma') !== undefined && { sigma: number('--latency-sigma') }),
      ...(number('--latency-max-ms') !== undefined && { maxMs: number('--latency-max-ms') }),
    },
    perConnectionBytesPerSecond: mbps('--per-connection-mb-s'),
    totalBytesPerSecond: mbps('--total-mb-s'),
    seed: number('--seed'),
  };
}

async function main(): Promise<void> {
  const proxy = await ShapingProxy.start(optionsFromArgs(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify({ endpoint: proxy.endpoint })}\n`);
  const stop = (): void => void proxy.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === 'stats') process.stdout.write(`${JSON.stringify(proxy.stats)}\n`);
    if (line.trim() === 'exit') return stop();
  }
  if (process.argv.includes('--exit-on-stdin-end')) stop();
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
