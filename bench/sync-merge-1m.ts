/**
 * Merges a source listing and a destination listing of 1,000,000 keys each (ListObjectsV2-sized pages of
 * 1000 generated on demand, no network), one object in 1000 of each kind missing, resized, older or
 * extra, and prints the decisions, the time and the peak heap and RSS.
 * Run: `npx tsx bench/sync-merge-1m.ts [keys]`. The bound, shown: with the heap capped at 16 MiB,
 * `node --max-old-space-size=16 --max-semi-space-size=1 --import tsx bench/sync-merge-1m.ts` completes,
 * where holding one side's 1,000,000 entries alone runs out of memory.
 */
import { syncMerge, type DestEntry, type SourceEntry } from '../functions/plan/sync-merge';

const KEYS = Number(process.argv[2] ?? 1_000_000);
const PAGE = 1000;
const MiB = 1024 * 1024;
const T0 = Date.UTC(2026, 0, 1);

const keyOf = (n: number): string =>
  `MUR-JPL-L4-GLOB-v4.1/${String(Math.floor(n / 1000)).padStart(4, '0')}/` +
  `${String(n).padStart(8, '0')}-JPL-L4_GHRSST-SSTfnd-MUR-GLOB-v02.0-fv04.1.nc`;
const residue = (n: number): number => n % 1000;

async function* pages<T>(object: (n: number) => T | undefined): AsyncGenerator<T[]> {
  for (let start = 0; start < KEYS; start += PAGE) {
    const page: T[] = [];
    for (let n = start; n < Math.min(KEYS, start + PAGE); n++) {
      const entry = object(n);
      if (entry !== undefined) page.push(entry);
    }
    yield page;
  }
}

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const baseline = process.memoryUsage().heapUsed;
  let peakHeap = baseline;
  let peakRss = process.memoryUsage().rss;
  const sample = (): void => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  };
  const timer = setInterval(sample, 20);

  const sources = pages<SourceEntry>((n) =>
    residue(n) === 4
      ? undefined
      : {
          key: keyOf(n),
          size: 1_000_000 + (n % 977),
          lastModified: new Date(T0 + (residue(n) === 3 ? 86_400_000 : 0)),
          eTag: n.toString(16).padStart(32, '0'),
        },
  );
  const dests = pages<DestEntry>((n) =>
    residue(n) === 1
      ? undefined
      : {
          key: keyOf(n),
          size: 1_000_000 + (n % 977) + (residue(n) === 2 ? 1 : 0),
          lastModified: new Date(T0 + 3_600_000),
        },
  );

  const started = process.hrtime.bigint();
  const decisions: Record<string, number> = {};
  const merge = syncMerge(sources, dests, { destKey: (s) => s.key, deletions: true });
  let next = await merge.next();
  let seen = 0;
  while (next.done !== true) {
    const d = next.value;
    const name = d.kind === 'copy' ? `copy:${d.reason}` : d.kind;
    decisions[name] = (decisions[name] ?? 0) + 1;
    if (++seen % 50_000 === 0) sample();
    next = await merge.next();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(timer);
  sample();

  console.log(
    JSON.stringify(
      {
        keysPerSide: KEYS,
        pageSize: PAGE,
        decisions,
        stats: next.value,
        seconds: Number(seconds.toFixed(2)),
        decisionsPerSecond: Math.round(seen / seconds),
        heapBaselineMiB: Number((baseline / MiB).toFixed(1)),
        peakHeapMiB: Number((peakHeap / MiB).toFixed(1)),
        peakRssMiB: Number((peakRss / MiB).toFixed(1)),
        node: process.version,
      },
      null,
      2,
    ),
  );
}

void main();
