/**
 * Object storage for the embedded S3, on s3rver's FilesystemStore (its on-disk layout, metadata and
 * md5 files), with what S3 has and s3rver's HTTP layer lacks:
 *   - atomic writes: bodies land in a staging file and are renamed into place once complete and
 *     verified, so a failed or aborted upload never leaves a partial object;
 *   - a per-key lock, so a reader gets content and ETag of the same version;
 *   - an injective key → path encoding (store-keys.ts);
 *   - listing in S3 order (UTF-8 byte order), and multipart uploads (store-uploads.ts) with part
 *     ETag checks, `-N` ETags, abort, and listing of open uploads.
 */
import { promises as fsp, type Dirent } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import {
  checksumFromHeaders,
  checksumHeaders,
  DEFAULT_CHECKSUM_ALGORITHM,
  isStoredChecksumHeader,
  type StoredChecksum,
} from './checksums';
import { ENCRYPTION_HEADERS } from './encryption';
import { S3Error } from './errors';
import { MetadataCache } from './store-cache';
import { filesystemStore, isMissing, type FilesystemStore } from './store-fs';
import { compareKeys, decodeComponents, encodeKey } from './store-keys';
import { BodyTap, Staging } from './store-staging';
import { UploadStore } from './store-uploads';

export { compareKeys } from './store-keys';
export { BodyTap, type StagedBody } from './store-staging';
export type { PartInfo, UploadInfo } from './store-uploads';

const OBJECT_SUFFIX = '._S3rver_object';
const STAGING_DIR = '.embedded-s3-staging';

/** The headers an object keeps besides x-amz-meta-* (s3rver's S3Object.ALLOWED_METADATA). */
export const STORED_HEADERS = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-type',
  'expires',
  'x-amz-storage-class',
  'x-amz-website-redirect-location',
];

export interface OpenedObject {
  handle: fsp.FileHandle;
  size: number;
  /** quoted ETag, e.g. `"abc"` or `"abc-3"` */
  etag: string;
  lastModified: Date;
  metadata: Record<string, string>;
}

export interface ObjectSummary {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
  checksum?: StoredChecksum;
}

/**
 * What is kept with an object: what s3rver's putMetadata keeps (STORED_HEADERS and x-amz-meta-*), and
 * the object's encryption and checksum, as the headers they are answered with.
 */
function storedMetadata(metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    const kept =
      STORED_HEADERS.includes(k) ||
      k.startsWith('x-amz-meta-') ||
      ENCRYPTION_HEADERS.includes(k) ||
      isStoredChecksumHeader(k);
    if (kept) out[k] = v;
  }
  return out;
}

export class ObjectStore {
  readonly fs: FilesystemStore;
  readonly staging: Staging;
  readonly uploads: UploadStore;
  private readonly locks = new Map<string, Promise<void>>();
  private readonly cache = new MetadataCache();

  constructor(readonly root: string) {
    this.fs = filesystemStore(root);
    this.staging = new Staging(path.join(root, STAGING_DIR));
    this.uploads = new UploadStore(this.fs, this.staging);
  }

  async init(): Promise<void> {
    await this.staging.init();
  }

  // ------------------------------------------------------------------ buckets
  async bucketExists(bucket: string): Promise<boolean> {
    return !!(await this.fs.getBucket(bucket));
  }
  async createBucket(bucket: string): Promise<void> {
    await this.fs.putBucket(bucket);
  }
  async listBuckets(): Promise<{ name: string; creationDate: Date }[]> {
    const names = (await fsp.readdir(this.root, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map((d) => d.name)
      .sort();
    const out: { name: string; creationDate: Date }[] = [];
    for (const n of names) {
      const b = await this.fs.getBucket(n);
      if (b) out.push({ name: b.name, creationDate: b.creationDate });
    }
    return out;
  }
  async deleteBucket(bucket: string): Promise<void> {
    const keys = await this.listKeys(bucket, '');
    if (keys.length || (await this.uploads.listUploads(bucket)).length) {
      throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', {
        BucketName: bucket,
      });
    }
    await fsp.rm(path.join(this.root, bucket), { recursive: true, force: true });
    this.cache.forgetBucket(bucket);
  }

  // ------------------------------------------------------------------ locking
  async withLock<T>(bucket: string, key: string, fn: () => Promise<T>): Promise<T> {
    const id = `${bucket}/${key}`;
    const previous = this.locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((r) => (release = r));
    const chained = previous.then(() => current);
    this.locks.set(id, chained);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(id) === chained) this.locks.delete(id);
    }
  }

  // ------------------------------------------------------------------ objects
  private objectPath(bucket: string, key: string): string {
    return this.fs.getResourcePath(bucket, encodeKey(key), 'object');
  }

  /** Opens the current version of an object (content and metadata of the same version). */
  async openObject(bucket: string, key: string): Promise<OpenedObject | undefined> {
    return this.withLock(bucket, key, async () => {
      const enc = encodeKey(key);
      let handle: fsp.FileHandle;
      try {
        handle = await fsp.open(this.fs.getResourcePath(bucket, enc, 'object'), 'r');
      } catch (err) {
        if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
        throw err;
      }
      try {
        let m = this.cache.get(bucket, key);
        if (!m) {
          const [st, etag, metadata] = await Promise.all([
            handle.stat(),
            this.readEtag(bucket, enc),
            this.readMetadata(bucket, enc),
          ]);
          m = { size: st.size, etag, lastModified: st.mtime, metadata };
          this.cache.remember(bucket, key, m);
        }
        return {
          handle,
          size: m.size,
          etag: m.etag,
          lastModified: m.lastModified,
          metadata: { ...m.metadata },
        };
      } catch (err) {
        await handle.close();
        throw err;
      }
    });
  }

  private async readEtag(bucket: string, enc: string): Promise<string> {
    try {
      return JSON.stringify(
        (await fsp.readFile(this.fs.getResourcePath(bucket, enc, 'object.md5'), 'utf8')).trim(),
      );
    } catch (err) {
      if (!isMissing(err)) throw err;
      // s3rver computes and stores a missing md5
      return (await this.fs.getMetadata(bucket, enc)).etag;
    }
  }

  private async readMetadata(bucket: string, enc: string): Promise<Record<string, string>> {
    try {
      return JSON.parse(
        await fsp.readFile(this.fs.getResourcePath(bucket, enc, 'metadata.json'), 'utf8'),
      ) as Record<string, string>;
    } catch (err) {
      if (isMissing(err)) return {};
      throw err;
    }
  }

  /** Size/ETag/mtime for listings; undefined if the object vanished meanwhile. */
  async summary(bucket: string, key: string): Promise<ObjectSummary | undefined> {
    const hit = this.cache.get(bucket, key);
    if (hit) {
      const checksum = checksumFromHeaders(hit.metadata);
      return { key, size: hit.size, etag: hit.etag, lastModified: hit.lastModified, checksum };
    }
    return this.withLock(bucket, key, async () => {
      const enc = encodeKey(key);
      try {
        const [st, etag, metadata] = await Promise.all([
          fsp.stat(this.fs.getResourcePath(bucket, enc, 'object')),
          this.readEtag(bucket, enc),
          this.readMetadata(bucket, enc),
        ]);
        this.cache.remember(bucket, key, { size: st.size, etag, lastModified: st.mtime, metadata });
        return { key, size: st.size, etag, lastModified: st.mtime, checksum: checksumFromHeaders(metadata) };
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    });
  }

  /**
   * Moves a staged body into place as `key`, with metadata and ETag value (md5 hex or `hex-N`).
   * `check` runs under the key's lock with the current ETag (or undefined) and may throw
   * (conditional writes). The staged file is removed if the commit fails.
   */
  async commitObject(
    bucket: string,
    key: string,
    tmpPath: string,
    etagValue: string,
    metadata: Record<string, string>,
    check?: (currentEtag: string | undefined) => void,
  ): Promise<{ etag: string; lastModified: Date }> {
    return this.withLock(bucket, key, async () => {
      const enc = encodeKey(key);
      if (check) {
        const exists = await fsp.stat(this.fs.getResourcePath(bucket, enc, 'object')).then(
          () => true,
          (err: unknown) => {
            if (isMissing(err)) return false;
            throw err;
          },
        );
        check(exists ? await this.readEtag(bucket, enc) : undefined);
      }
      const objPath = this.fs.getResourcePath(bucket, enc, 'object');
      for (let attempt = 0; ; attempt++) {
        try {
          await fsp.mkdir(path.dirname(objPath), { recursive: true });
          // what s3rver's putMetadata writes, in parallel
          await Promise.all([
            fsp.writeFile(this.fs.getResourcePath(bucket, enc, 'object.md5'), etagValue),
            fsp.writeFile(
              this.fs.getResourcePath(bucket, enc, 'metadata.json'),
              JSON.stringify(storedMetadata(metadata), null, 2),
            ),
          ]);
          await fsp.rename(tmpPath, objPath);
          break;
        } catch (err) {
          // a concurrent delete may prune the (empty) directory between mkdir and rename
          if (attempt < 5 && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          this.cache.invalidate(bucket, key);
          throw err;
        }
      }
      this.cache.invalidate(bucket, key);
      const st = await fsp.stat(objPath);
      const etag = JSON.stringify(etagValue);
      this.cache.remember(bucket, key, {
        size: st.size,
        etag,
        lastModified: st.mtime,
        metadata: storedMetadata(metadata),
      });
      return { etag, lastModified: st.mtime };
    }).catch(async (err: unknown) => {
      await this.staging.discard({ tmpPath });
      throw err;
    });
  }

  /** Writes a whole object from a buffer or stream (seeding, fault injection), with S3's default checksum. */
  async putObject(
    bucket: string,
    key: string,
    body: Buffer | Readable,
    metadata: Record<string, string> = {},
  ): Promise<{ etag: string }> {
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    const staged = await this.staging.stage([source], new BodyTap({ checksum: DEFAULT_CHECKSUM_ALGORITHM }));
    return this.commitObject(bucket, key, staged.tmpPath, staged.md5Hex, {
      'content-type': 'binary/octet-stream',
      ...metadata,
      ...checksumHeaders(staged.checksum && { ...staged.checksum, type: 'FULL_OBJECT' }),
    });
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await this.withLock(bucket, key, async () => {
      this.cache.invalidate(bucket, key);
      const enc = encodeKey(key);
      await Promise.all(
        ['object', 'object.md5', 'metadata.json'].map((r) =>
          fsp.rm(this.fs.getResourcePath(bucket, enc, r), { force: true }).catch((err: unknown) => {
            if (!isMissing(err)) throw err;
          }),
        ),
      );
      // prune empty directories, as s3rver does
      const bucketPath = path.join(this.root, bucket);
      let dir = path.dirname(this.objectPath(bucket, key));
      while (dir.startsWith(bucketPath + path.sep)) {
        try {
          await fsp.rmdir(dir);
        } catch {
          break;
        }
        dir = path.dirname(dir);
      }
    });
  }

  /** All keys starting with `prefix`, in S3 order. */
  async listKeys(bucket: string, prefix: string): Promise<string[]> {
    const all = await this.cache.keys(bucket, () => this.walkKeys(bucket));
    if (!prefix) return all.slice();
    // binary search for the first key >= prefix
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(all[mid], prefix) < 0) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < all.length && all[i].startsWith(prefix); i++) out.push(all[i]);
    return out;
  }

  private async walkKeys(bucket: string): Promise<string[]> {
    const bucketPath = path.join(this.root, bucket);
    const keys: string[] = [];
    const walk = async (dir: string, comps: string[]): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        throw err;
      }
      const subdirs: Promise<void>[] = [];
      for (const e of entries) {
        if (e.isDirectory()) {
          if (e.name.includes('._S3rver_')) continue; // uploads directory
          subdirs.push(walk(path.join(dir, e.name), [...comps, e.name]));
        } else if (e.name.endsWith(OBJECT_SUFFIX)) {
          keys.push(decodeComponents([...comps, e.name.slice(0, -OBJECT_SUFFIX.length)]));
        }
      }
      await Promise.all(subdirs);
    };
    await walk(bucketPath, []);
    return keys.sort(compareKeys);
  }
}
