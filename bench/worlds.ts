/**
 * The worlds every benchmark runs in: plain loopback, and two "like S3" regimes in which the shaping
 * proxy (bench/shaping-proxy.ts) stands between the clients and the embedded S3.
 *
 * AWS S3's numbers, scaled: this machine's embedded S3 moves only ~50-130 MiB/s, so caps at AWS's
 * absolute rates (~90 MB/s per connection, ~75 MB/s for a Lambda's network, 10 Gbit/s for a large
 * instance) would never bind. Every rate is multiplied by SCALE (1/10); latency is not scaled (a request
 * takes as long to answer whatever the machine), so here a part or range spends 10 x longer moving
 * bytes relative to its first-byte wait than it would against AWS.
 */
import { ShapingProxy, type LatencyShape, type ShapingOptions } from './shaping-proxy';

/** The factor applied to AWS's rates. */
export const SCALE = 1 / 10;

const AWS = {
  /** One connection's throughput (MB/s). */
  perConnectionMBs: 90,
  /** A Lambda function's network, sustained. */
  lambdaMBs: 75,
  /** A large instance's network: 10 Gbit/s. */
  instanceMBs: 1250,
};

/** First-byte latency: median 30 ms with a log-normal tail (p90 ~65 ms, p99 ~120 ms). */
export const LIKE_S3_LATENCY: LatencyShape = { medianMs: 30, sigma: 0.6, maxMs: 1000 };

export type RegimeName = 'loopback' | 'instance' | 'lambda';

export interface Regime {
  name: RegimeName;
  /** How a table names it. */
  label: string;
  /** The proxy's settings; none on loopback. */
  proxy?: Omit<ShapingOptions, 'target'>;
}

const MB = 1e6;

export const REGIMES: Record<RegimeName, Regime> = {
  loopback: { name: 'loopback', label: 'loopback (no proxy)' },
  instance: {
    name: 'instance',
    label: `like S3, large instance: ${AWS.perConnectionMBs * SCALE} MB/s per connection, ${AWS.instanceMBs * SCALE} MB/s in all, 30 ms median first byte`,
    proxy: {
      latency: LIKE_S3_LATENCY,
      perConnectionBytesPerSecond: AWS.perConnectionMBs * SCALE * MB,
      totalBytesPerSecond: AWS.instanceMBs * SCALE * MB,
    },
  },
  lambda: {
    name: 'lambda',
    label: `like S3, Lambda: ${AWS.lambdaMBs * SCALE} MB/s in all, ${AWS.perConnectionMBs * SCALE} MB/s per connection, 30 ms median first byte`,
    proxy: {
      latency: LIKE_S3_LATENCY,
      perConnectionBytesPerSecond: AWS.perConnectionMBs * SCALE * MB,
      totalBytesPerSecond: AWS.lambdaMBs * SCALE * MB,
    },
  },
};

/** `--worlds loopback,instance,lambda` (the default: all three). */
export function regimesFrom(args: string[]): Regime[] {
  const i = args.indexOf('--worlds');
  const names = i >= 0 ? args[i + 1].split(',') : ['loopback', 'instance', 'lambda'];
  return names.map((name) => {
    const regime = REGIMES[name as RegimeName];
    if (!regime) throw new Error(`unknown world ${name} (loopback, instance, lambda)`);
    return regime;
  });
}

/**
 * Runs `fn` with the endpoint clients use in `regime`: the S3 endpoint itself on loopback, else a
 * shaping proxy in front of it (in this process: it is not a measured client), stopped afterwards.
 */
export async function inRegime<T>(
  regime: Regime,
  s3Endpoint: string,
  fn: (endpoint: string) => Promise<T>,
): Promise<T> {
  if (!regime.proxy) return fn(s3Endpoint);
  const proxy = await ShapingProxy.start({ target: s3Endpoint, seed: 1, ...regime.proxy });
  try {
    return await fn(proxy.endpoint);
  } finally {
    await proxy.stop();
  }
}
