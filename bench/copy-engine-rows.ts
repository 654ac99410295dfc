/**
 * What bench/copy-engine.ts measures and prints: the rows of its tables, the engine settings it names,
 * the sweep's default variants per world, and a pool for the many-process peer runs.
 */
import { COPY_DEFAULTS, type CopyOptions } from '../shared/copy';
import type { Usage } from './harness';
import type { Regime } from './worlds';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface Measured {
  wallS: number;
  cpuS: number;
  rssMiB: number;
  serverCpuS: number;
}

export interface Row {
  tool: string;
  workload: string;
  bytes: number;
  runs: Measured[];
  note?: string;
}

export const sizeLabel = (bytes: number): string =>
  bytes >= GiB ? `${bytes / GiB} GiB` : `${Math.round(bytes / MiB)} MiB`;

/** `read-ahead D x range, parts P x Q` of a set of engine options. */
export function describe(o: CopyOptions): string {
  const part = (o.partSize ?? COPY_DEFAULTS.partSize) / MiB;
  const queue = o.queueSize ?? COPY_DEFAULTS.queueSize;
  const depth = o.readAhead ?? COPY_DEFAULTS.readAhead;
  const range = depth > 1 ? ` x ${(o.rangeSize ?? o.partSize ?? COPY_DEFAULTS.partSize) / MiB} MiB` : '';
  return `read-ahead ${depth}${range}, parts ${part} MiB x ${queue}`;
}

/** The sweep's settings per world: where one connection binds, read-ahead and parts in flight matter. */
export function defaultVariants(regime: Regime): CopyOptions[] {
  const v = (readAhead: number, rangeMiB: number, partMiB: number, queueSize: number): CopyOptions => ({
    readAhead,
    rangeSize: rangeMiB * MiB,
    partSize: partMiB * MiB,
    queueSize,
  });
  if (regime.name === 'lambda') return [v(1, 8, 8, 4), v(2, 8, 8, 4), v(4, 8, 8, 4), v(1, 8, 8, 2)];
  if (regime.name === 'instance')
    return [
      v(1, 8, 8, 4),
      v(4, 8, 8, 4),
      v(4, 8, 8, 6),
      v(6, 8, 8, 6),
      v(8, 8, 8, 8),
      v(4, 16, 16, 4),
      v(8, 4, 8, 6),
    ];
  return [v(1, 8, 8, 4), v(4, 8, 8, 4), v(4, 8, 8, 6), v(1, 16, 16, 4)];
}

export async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<Usage>): Promise<Usage> {
  let next = 0;
  let cpuS = 0;
  let rssMiB = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const r = await fn(items[next++]);
        cpuS += r.cpuS;
        rssMiB = Math.max(rssMiB, r.rssMiB);
      }
    }),
  );
  return { cpuS, rssMiB };
}

export function printTable(regime: Regime, rows: Row[]): void {
  const median = (r: Row): Measured =>
    [...r.runs].sort((a, b) => a.wallS - b.wallS)[Math.floor(r.runs.length / 2)];
  const rate = (r: Row): number => r.bytes / MiB / median(r).wallS;
  const reference = (name: string, workload: string): number | undefined => {
    const r = rows.find((x) => x.tool.startsWith(name) && x.workload === workload);
    return r && rate(r);
  };
  console.log(`\n### ${regime.label}\n`);
  console.log(
    '| client | workload | wall s, median (runs) | MiB/s | × rclone defaults | × rclone equal connections | client CPU s/GiB | peak RSS MiB | server CPU s/GiB | note |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const m = median(r);
    const gib = r.bytes / GiB;
    const defaults =
      reference('rclone copyto (defaults)', r.workload) ?? reference('rclone copy (defaults', r.workload);
    const equal =
      reference('rclone copyto, equal', r.workload) ??
      reference('rclone copy, equal', r.workload) ??
      defaults;
    const ratio = (x?: number): string => (x ? (rate(r) / x).toFixed(2) : '');
    console.log(
      `| ${r.tool} | ${r.workload} | ${m.wallS.toFixed(2)} (${r.runs.map((x) => x.wallS.toFixed(1)).join(' / ')}) | ` +
        `${rate(r).toFixed(1)} | ${ratio(defaults)} | ${ratio(equal)} | ${(m.cpuS / gib).toFixed(2)} | ${m.rssMiB.toFixed(0)} | ` +
        `${(m.serverCpuS / gib).toFixed(2)} |${r.note ? ` ${r.note}` : ''} |`,
    );
  }
}
