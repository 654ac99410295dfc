/**
 * Write-through caches of the ObjectStore (it is the only writer of its directory): per bucket, the
 * ETag, size, mtime and metadata of objects seen, and the sorted key list with a generation number.
 */

export interface CachedMeta {
  size: number;
  etag: string;
  lastModified: Date;
  metadata: Record<string, string>;
}

const MAX_CACHED_ENTRIES = 200_000;

export class MetadataCache {
  private readonly meta = new Map<string, Map<string, CachedMeta>>();
  private readonly keyIndex = new Map<string, string[]>();
  private readonly generation = new Map<string, number>();
  private cachedEntries = 0;

  get(bucket: string, key: string): CachedMeta | undefined {
    return this.meta.get(bucket)?.get(key);
  }

  remember(bucket: string, key: string, m: CachedMeta): void {
    if (this.cachedEntries >= MAX_CACHED_ENTRIES) {
      this.meta.clear();
      this.cachedEntries = 0;
    }
    let b = this.meta.get(bucket);
    if (!b) this.meta.set(bucket, (b = new Map()));
    if (!b.has(key)) this.cachedEntries++;
    b.set(key, m);
  }

  /** A key was written or deleted: forget its metadata and the bucket's key list. */
  invalidate(bucket: string, key: string): void {
    const b = this.meta.get(bucket);
    if (b?.delete(key)) this.cachedEntries--;
    this.keyIndex.delete(bucket);
    this.bumpGeneration(bucket);
  }

  /** The bucket was deleted. */
  forgetBucket(bucket: string): void {
    this.meta.delete(bucket);
    this.keyIndex.delete(bucket);
    this.bumpGeneration(bucket);
  }

  /** The bucket's sorted keys; `walk` lists them from disk, kept unless a write raced the walk. */
  async keys(bucket: string, walk: () => Promise<string[]>): Promise<string[]> {
    let all = this.keyIndex.get(bucket);
    if (!all) {
      const gen = this.generation.get(bucket) ?? 0;
      all = await walk();
      if ((this.generation.get(bucket) ?? 0) === gen) this.keyIndex.set(bucket, all);
    }
    return all;
  }

  private bumpGeneration(bucket: string): void {
    this.generation.set(bucket, (this.generation.get(bucket) ?? 0) + 1);
  }
}
