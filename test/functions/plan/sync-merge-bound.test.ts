/**
 * The merge's memory bound, shown structurally: listings produced lazily page by page, and a record of how
 * far ahead of its decisions the merge ever reads (never past the page it holds, whatever the number of
 * keys). 250,000 keys on each side here: 1,000,000 took 49 s of the suite's serial run (5 s alone).
 * bench/sync-merge-1m.ts runs the same merge over 1,000,000 keys on each side and prints its peak heap.
 */
import {
  syncMerge,
  type DestEntry,
  type SourceEntry,
  type SyncDecision,
} from '../../../functions/plan/sync-merge';

const KEYS = 250_000;
const PAGE = 1000;
const T0 = Date.UTC(2026, 0, 1);

/** Object n of the mirror: its key, and how each side differs (one in 1000 of each kind). */
const keyOf = (n: number): string =>
  `granules/${String(Math.floor(n / 1000)).padStart(4, '0')}/g-${String(n).padStart(7, '0')}.nc`;
const kind = (n: number): 'same' | 'missing' | 'size' | 'older' | 'extra' => {
  const r = n % 1000;
  return r === 1 ? 'missing' : r === 2 ? 'size' : r === 3 ? 'older' : r === 4 ? 'extra' : 'same';
};

interface Reads {
  pages: number;
  /** Objects of this side handed out so far (whole pages). */
  produced: number;
  /** Most objects handed out but not yet decided, seen when a page was asked for. */
  maxAhead: number;
}

/**
 * Pages of a lazily generated listing. Before producing page p it checks what the consumer decided:
 * every object of the pages before must be decided by then, so at most one page is ever held.
 */
async function* lazyPages<T>(
  reads: Reads,
  decided: () => number,
  object: (n: number) => T | undefined,
): AsyncGenerator<T[]> {
  for (let start = 0; start < KEYS; start += PAGE) {
    reads.maxAhead = Math.max(reads.maxAhead, reads.produced - decided());
    const page: T[] = [];
    for (let n = start; n < start + PAGE; n++) {
      const entry = object(n);
      if (entry !== undefined) page.push(entry);
    }
    reads.pages++;
    reads.produced += page.length;
    yield page;
  }
}

describe('syncMerge over 250,000 keys on each side', () => {
  it('reads each listing at most one page ahead of its decisions, and decides every object', async () => {
    const decided = { source: 0, dest: 0 };
    const counts: Record<string, number> = {};
    const sourceReads: Reads = { pages: 0, produced: 0, maxAhead: 0 };
    const destReads: Reads = { pages: 0, produced: 0, maxAhead: 0 };
    const sources = lazyPages<SourceEntry>(
      sourceReads,
      () => decided.source,
      (n) =>
        kind(n) === 'extra'
          ? undefined
          : { key: keyOf(n), size: 100, lastModified: new Date(T0 + (kind(n) === 'older' ? 9e6 : 0)) },
    );
    const dests = lazyPages<DestEntry>(
      destReads,
      () => decided.dest,
      (n) =>
        kind(n) === 'missing'
          ? undefined
          : { key: keyOf(n), size: kind(n) === 'size' ? 101 : 100, lastModified: new Date(T0 + 1000) },
    );
    const count = (decision: SyncDecision): void => {
      const name = decision.kind === 'copy' ? `copy:${decision.reason}` : decision.kind;
      counts[name] = (counts[name] ?? 0) + 1;
      if (decision.kind !== 'delete') decided.source++;
      if (decision.kind === 'delete' || decision.kind === 'skip' || decision.reason !== 'missing')
        decided.dest++;
    };
    const merge = syncMerge(sources, dests, { destKey: (s) => s.key, deletions: true });
    let next = await merge.next();
    while (next.done !== true) {
      count(next.value);
      next = await merge.next();
    }
    const stats = next.value;

    const per = KEYS / 1000;
    expect(counts).toEqual({
      skip: KEYS - 4 * per,
      'copy:missing': per,
      'copy:size': per,
      'copy:older': per,
      delete: per,
    });
    expect(stats).toMatchObject({ sourceObjects: KEYS - per, destObjects: KEYS - per, unmatched: per });
    expect(sourceReads.pages).toBe(KEYS / PAGE);
    expect(destReads.pages).toBe(KEYS / PAGE);
    // Asked for its next page, a side had nothing undecided: the merge held one page of each, at most.
    expect(sourceReads.maxAhead).toBe(0);
    expect(destReads.maxAhead).toBe(0);
  }, 120_000);
});
