/**
 * Sync planned from both listings: the source listing and the destination listing under the mapped
 * prefix, both in S3's key order, merged in one pass. Each source object is decided without a request:
 * skipped when the destination holds an object of the same size written at or after the source last
 * changed, copied otherwise; destination objects without a source counterpart are offered for deletion.
 *
 * Memory: the merge holds at most the current page of each listing (it asks a listing for its next page
 * only once every object of the current one is decided), so 1,000,000 keys on each side cost what two
 * pages cost. See docs/mirroring.md for the rule and its blind spot.
 */
import { compareKeys } from '../../shared/mirror/key-order';

/** A source object as listed (already filtered by Include/Exclude, folder markers dropped). */
export interface SourceEntry {
  readonly key: string;
  readonly size: number;
  /** Absent when the listing did not say: the object is then never skipped here. */
  readonly lastModified?: Date;
  readonly eTag?: string;
}

/** A destination object as listed under the mapped prefix. */
export interface DestEntry {
  readonly key: string;
  readonly size: number;
  readonly lastModified?: Date;
}

/** Why a source object is copied: no destination object, another size, or a destination written before the source last changed. */
export type CopyReason = 'missing' | 'size' | 'older';

export type SyncDecision<S extends SourceEntry = SourceEntry> =
  | { readonly kind: 'copy'; readonly source: S; readonly reason: CopyReason }
  | { readonly kind: 'skip'; readonly source: S; readonly dest: DestEntry }
  | { readonly kind: 'delete'; readonly destKey: string; readonly size: number };

export interface SyncMergeOptions<S extends SourceEntry> {
  /**
   * Where a source object lands. It must preserve S3's key order (as `Dest.Prefix` + the key relative to
   * `Source.Prefix` does: see {@link prefixMapping}); the merge checks that it did. `undefined` means no
   * destination key can be formed (too long, say): the object is decided `copy`/`missing`, and its copy
   * then fails with the reason.
   */
  readonly destKey: (source: S) => string | undefined;
  /** Yield `delete` decisions for destination objects without a source counterpart. @default false */
  readonly deletions?: boolean;
}

/** What the merge saw and decided; the generator's return value. */
export interface SyncMergeStats {
  sourceObjects: number;
  destObjects: number;
  copy: Record<CopyReason, number>;
  skip: number;
  /** Destination objects without a source counterpart (decided `delete` only with `deletions`). */
  unmatched: number;
}

/** A listing or a mapping out of S3's key order: merging it would pair the wrong objects. */
export class KeyOrderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyOrderError';
  }
}

/**
 * The comparison rule: `skip` when the destination has the same size and was written at or after the
 * source's LastModified, else why the source object must be copied. The copy's own Sync check (size and
 * the recorded source ETag, one HEAD) is still made for every copied object.
 */
export function compareListed(source: SourceEntry, dest: DestEntry): 'skip' | Exclude<CopyReason, 'missing'> {
  if (dest.size !== source.size) return 'size';
  if (source.lastModified === undefined || dest.lastModified === undefined) return 'older';
  return dest.lastModified.getTime() >= source.lastModified.getTime() ? 'skip' : 'older';
}

/** Hands out one listing's objects, holding no more than the page the current object came from. */
class PageCursor<T> {
  private page: readonly T[] = [];
  private index = 0;
  private finished = false;

  constructor(private readonly pages: AsyncIterator<readonly T[]>) {}

  /** The next object, reading the next page only once the current one is used up; undefined at the end. */
  async take(): Promise<T | undefined> {
    while (this.index >= this.page.length) {
      // Let go of the used page before asking for the next: one page per side, not two.
      this.page = [];
      this.index = 0;
      if (this.finished) return undefined;
      const next = await this.pages.next();
      if (next.done === true) {
        this.finished = true;
        return undefined;
      }
      this.page = next.value;
    }
    return this.page[this.index++];
  }

  /** Ends the listing early (the consumer stopped, or the merge failed). */
  async close(): Promise<void> {
    this.page = [];
    if (!this.finished) {
      this.finished = true;
      await this.pages.return?.();
    }
  }
}

const shown = (key: string): string => JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}...` : key);

/**
 * Merges the source and destination listings (pages of objects, each in S3's key order) into decisions,
 * in key order: `copy` (missing, size, older), `skip`, and with `deletions` also `delete`.
 * @throws KeyOrderError when a listing is out of order, repeats a key, or the mapping broke the order.
 */
export async function* syncMerge<S extends SourceEntry>(
  sourcePages: AsyncIterable<readonly S[]>,
  destPages: AsyncIterable<readonly DestEntry[]>,
  options: SyncMergeOptions<S>,
): AsyncGenerator<SyncDecision<S>, SyncMergeStats, undefined> {
  const sources = new PageCursor(sourcePages[Symbol.asyncIterator]());
  const dests = new PageCursor(destPages[Symbol.asyncIterator]());
  const stats: SyncMergeStats = {
    sourceObjects: 0,
    destObjects: 0,
    copy: { missing: 0, size: 0, older: 0 },
    skip: 0,
    unmatched: 0,
  };
  let lastMapped: { source: string; dest: string } | undefined;
  let lastDest: string | undefined;

  /** The next source object and its destination key, checking that destination keys keep rising. */
  const nextSource = async (): Promise<{ entry: S; mapped: string | undefined } | undefined> => {
    const entry = await sources.take();
    if (entry === undefined) return undefined;
    stats.sourceObjects++;
    const mapped = options.destKey(entry);
    if (mapped !== undefined) {
      if (lastMapped !== undefined && compareKeys(lastMapped.dest, mapped) >= 0) {
        throw new KeyOrderError(
          `sync: source key ${shown(entry.key)} maps to ${shown(mapped)}, which does not sort after ` +
            `${shown(lastMapped.dest)} (the destination key of ${shown(lastMapped.source)}): the source ` +
            "listing is not in S3's key order (UTF-8 bytes) or the key mapping does not preserve it; " +
            'nothing was decided from here on',
        );
      }
      lastMapped = { source: entry.key, dest: mapped };
    }
    return { entry, mapped };
  };
  const nextDest = async (): Promise<DestEntry | undefined> => {
    const entry = await dests.take();
    if (entry === undefined) return undefined;
    stats.destObjects++;
    if (lastDest !== undefined && compareKeys(lastDest, entry.key) >= 0) {
      throw new KeyOrderError(
        `sync: destination key ${shown(entry.key)} is listed after ${shown(lastDest)}: the destination ` +
          "listing is not in S3's key order (UTF-8 bytes), so objects cannot be paired safely",
      );
    }
    lastDest = entry.key;
    return entry;
  };
  const copy = (source: S, reason: CopyReason): SyncDecision<S> => {
    stats.copy[reason]++;
    return { kind: 'copy', source, reason };
  };

  try {
    let source = await nextSource();
    let dest = await nextDest();
    while (source !== undefined || dest !== undefined) {
      if (source !== undefined && source.mapped === undefined) {
        yield copy(source.entry, 'missing');
        source = await nextSource();
        continue;
      }
      const order =
        source === undefined ? 1 : dest === undefined ? -1 : compareKeys(source.mapped as string, dest.key);
      if (order < 0) {
        yield copy((source as { entry: S }).entry, 'missing');
        source = await nextSource();
      } else if (order > 0) {
        const unmatched = dest as DestEntry;
        stats.unmatched++;
        if (options.deletions) yield { kind: 'delete', destKey: unmatched.key, size: unmatched.size };
        dest = await nextDest();
      } else {
        const pair = { source: (source as { entry: S }).entry, dest: dest as DestEntry };
        const outcome = compareListed(pair.source, pair.dest);
        if (outcome === 'skip') {
          stats.skip++;
          yield { kind: 'skip', ...pair };
        } else yield copy(pair.source, outcome);
        source = await nextSource();
        dest = await nextDest();
      }
    }
    return stats;
  } finally {
    await Promise.all([sources.close(), dests.close()]);
  }
}
