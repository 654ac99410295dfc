/**
 * Object storage for the embedded S3, on s3rver's FilesystemStore (its on-disk layout, metadata and
 * md5 files), with what S3 has and s3rver's HTTP layer lacks:
 *   - atomic writes: bodies land in a staging file and are renamed into place once complete and
 *     verified, so a failed or aborted upload never leaves a partial object;
 *   - a per-key lock, so a reader gets content and ETag of the same version;
 *   - an injective key → path encoding: keys with `//`, trailing `/`, `.`/`..` segments or segments
 *     longer than a file name survive (s3rver's path.join would fold or reject them);
 *   - listing in S3 order (UTF-8 byte order), multipart uploads with part ETag checks, `-N` ETags,
 *     abort, and listing of open uploads.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createWriteStream, promises as fsp, type Dirent } from 'node:fs';
import * as path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createChecksum, type Checksum, type ChecksumAlgorithm } from './checksums';
import { S3Error } from './errors';

/** The subset of s3rver's FilesystemStore used here (s3rver ships no types). */
interface FilesystemStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
  putBucket(bucket: string): Promise<unknown>;
  getBucket(bucket: string): Promise<{ name: string; creationDate: Date } | null>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const FilesystemStoreCtor = require('s3rver/lib/stores/filesystem') as new (root: string) => FilesystemStore;

const OBJECT_SUFFIX = '._S3rver_object';
const STAGING_DIR = '.embedded-s3-staging';
const SEGMENT_MAX_BYTES = 200;

// ---------------------------------------------------------------------------------------------
// Key encoding

function escapeText(s: string): string {
  return s.replace(/%/g, '%25').replace(/\._S3rver_/g, '%2E_S3rver_');
}

/** Splits a segment so that each escaped piece stays well under NAME_MAX (255 bytes). */
function splitSegment(seg: string): string[] {
  const pieces: string[] = [];
  let current = '';
  let bytes = 0;
  for (const ch of seg) {
    const cost = ch === '%' || ch === '.' ? 3 : Buffer.byteLength(ch);
    if (bytes + cost > SEGMENT_MAX_BYTES) {
      pieces.push(current);
      current = '';
      bytes = 0;
    }
    current += ch;
    bytes += cost;
  }
  pieces.push(current);
  return pieces;
}

/** S3 key → s3rver key whose path.join is safe and injective. */
export function encodeKey(key: string): string {
  const out: string[] = [];
  for (const seg of key.split('/')) {
    if (seg === '') {
      out.push('%E');
      continue;
    }
    const pieces = splitSegment(seg);
    pieces.forEach((piece, i) => {
      let e = escapeText(piece);
      if (e === '.') e = '%2E';
      else if (e === '..') e = '%2E%2E';
      out.push(i < pieces.length - 1 ? e + '%C' : e);
    });
  }
  return out.join('/');
}

/** Path components (relative to the bucket) → S3 key; `asDirectory` gives the prefix of keys below. */
export function decodeComponents(components: string[], asDirectory = false): string {
  let out = '';
  components.forEach((c, i) => {
    const cont = c.endsWith('%C');
    const body = cont ? c.slice(0, -2) : c;
    out += body === '%E' ? '' : body.replace(/%(25|2E)/g, (_m, g: string) => (g === '25' ? '%' : '.'));
    if (!cont && (asDirectory || i < components.length - 1)) out += '/';
  });
  return out;
}

export function decodeKey(encoded: string): string {
  return decodeComponents(encoded.split('/'));
}

/** Compares strings in UTF-8 byte order (S3's key order), without encoding them. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return utf8Rank(x) - utf8Rank(y);
  }
  return a.length - b.length;
}
function utf8Rank(u: number): number {
  // surrogates (astral code points, 4 UTF-8 bytes starting F0-F4) sort after U+E000..U+FFFF
  if (u >= 0xd800 && u <= 0xdfff) return u + 0x2000;
  if (u >= 0xe000) return u - 0x800;
  return u;
}

// ---------------------------------------------------------------------------------------------
// Body tap: hashes and counts what flows into a staging file

export interface TapOptions {
  checksum?: ChecksumAlgorithm;
  sha256?: boolean;
  onBytes?: (n: number) => void;
}
export class BodyTap extends Transform {
  readonly md5 = createHash('md5');
  readonly sha256: Hash | undefined;
  readonly checksum: Checksum | undefined;
  size = 0;
  private readonly onBytes: ((n: number) => void) | undefined;
  constructor(options: TapOptions = {}) {
    super();
    this.sha256 = options.sha256 ? createHash('sha256') : undefined;
    this.checksum = options.checksum ? createChecksum(options.checksum) : undefined;
    this.onBytes = options.onBytes;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.md5.update(chunk);
    this.sha256?.update(chunk);
    this.checksum?.update(chunk);
    this.size += chunk.length;
    this.onBytes?.(chunk.length);
    callback(null, chunk);
  }
}

export interface StagedBody {
  tmpPath: string;
  size: number;
  md5Hex: string;
  sha256Hex?: string;
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

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
}

export interface UploadInfo {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: Date;
  metadata: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
}

export interface PartInfo {
  partNumber: number;
  size: number;
  etag: string;
  lastModified: Date;
  checksum?: string;
}

interface CachedMeta {
  size: number;
  etag: string;
  lastModified: Date;
  metadata: Record<string, string>;
}
const MAX_CACHED_ENTRIES = 200_000;
const ALLOWED_METADATA = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-type',
  'expires',
  'x-amz-storage-class',
  'x-amz-website-redirect-location',
];
/** The metadata s3rver's putMetadata keeps (its S3Object.ALLOWED_METADATA and x-amz-meta-*). */
function storedMetadata(metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (ALLOWED_METADATA.includes(k) || k.startsWith('x-amz-meta-')) out[k] = v;
  }
  return out;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG';
}

export class ObjectStore {
  readonly fs: FilesystemStore;
  private readonly staging: string;
  private readonly locks = new Map<string, Promise<void>>();
  /**
   * Write-through caches (this store is the only writer of its directory): per bucket, the ETag,
   * size, mtime and metadata of objects seen, and the sorted key list with a generation number.
   */
  private readonly meta = new Map<string, Map<string, CachedMeta>>();
  private readonly keyIndex = new Map<string, string[]>();
  private readonly generation = new Map<string, number>();
  private cachedEntries = 0;

  constructor(readonly root: string) {
    this.fs = new FilesystemStoreCtor(root);
    this.staging = path.join(root, STAGING_DIR);
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.staging, { recursive: true });
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
    if (keys.length || (await this.listUploads(bucket)).length) {
      throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', {
        BucketName: bucket,
      });
    }
    await fsp.rm(path.join(this.root, bucket), { recursive: true, force: true });
    this.meta.delete(bucket);
    this.keyIndex.delete(bucket);
    this.generation.set(bucket, (this.generation.get(bucket) ?? 0) + 1);
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

  // ------------------------------------------------------------------ caches
  private cached(bucket: string, key: string): CachedMeta | undefined {
    return this.meta.get(bucket)?.get(key);
  }
  private remember(bucket: string, key: string, m: CachedMeta): void {
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
  private invalidate(bucket: string, key: string): void {
    const b = this.meta.get(bucket);
    if (b?.delete(key)) this.cachedEntries--;
    this.keyIndex.delete(bucket);
    this.generation.set(bucket, (this.generation.get(bucket) ?? 0) + 1);
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
        let m = this.cached(bucket, key);
        if (!m) {
          const [st, etag, metadata] = await Promise.all([
            handle.stat(),
            this.readEtag(bucket, enc),
            this.readMetadata(bucket, enc),
          ]);
          m = { size: st.size, etag, lastModified: st.mtime, metadata };
          this.remember(bucket, key, m);
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
    const hit = this.cached(bucket, key);
    if (hit) return { key, size: hit.size, etag: hit.etag, lastModified: hit.lastModified };
    return this.withLock(bucket, key, async () => {
      const enc = encodeKey(key);
      try {
        const [st, etag, metadata] = await Promise.all([
          fsp.stat(this.fs.getResourcePath(bucket, enc, 'object')),
          this.readEtag(bucket, enc),
          this.readMetadata(bucket, enc),
        ]);
        this.remember(bucket, key, { size: st.size, etag, lastModified: st.mtime, metadata });
        return { key, size: st.size, etag, lastModified: st.mtime };
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    });
  }

  /**
   * Streams `head` (a source, then transforms) through `tap` into a staging file; the caller commits
   * or discards it. With an empty `head`, `tap` itself is the source (something is piped into it).
   */
  async stage(head: (Readable | Transform)[], tap: BodyTap): Promise<StagedBody> {
    const tmpPath = path.join(this.staging, randomBytes(12).toString('hex'));
    try {
      await pipeline([...head, tap, createWriteStream(tmpPath, { highWaterMark: 1 << 20 })]);
    } catch (err) {
      await fsp.rm(tmpPath, { force: true });
      throw err;
    }
    return {
      tmpPath,
      size: tap.size,
      md5Hex: tap.md5.digest('hex'),
      sha256Hex: tap.sha256?.digest('hex'),
    };
  }

  async discard(staged: { tmpPath: string }): Promise<void> {
    await fsp.rm(staged.tmpPath, { force: true });
  }

  /**
   * Moves a staged body into place as `key`, with metadata and ETag value (md5 hex or `hex-N`).
   * `check` runs under the key's lock with the current ETag (or undefined) and may throw
   * (conditional writes).
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
          this.invalidate(bucket, key);
          throw err;
        }
      }
      this.invalidate(bucket, key);
      const st = await fsp.stat(objPath);
      const etag = JSON.stringify(etagValue);
      this.remember(bucket, key, {
        size: st.size,
        etag,
        lastModified: st.mtime,
        metadata: storedMetadata(metadata),
      });
      return { etag, lastModified: st.mtime };
    });
  }

  /** Writes a whole object from a buffer or stream (seeding, fault injection). */
  async putObject(
    bucket: string,
    key: string,
    body: Buffer | Readable,
    metadata: Record<string, string> = {},
  ): Promise<{ etag: string }> {
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    const staged = await this.stage([source], new BodyTap());
    try {
      return await this.commitObject(bucket, key, staged.tmpPath, staged.md5Hex, {
        'content-type': 'binary/octet-stream',
        ...metadata,
      });
    } catch (err) {
      await this.discard(staged);
      throw err;
    }
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await this.withLock(bucket, key, async () => {
      this.invalidate(bucket, key);
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
    let all = this.keyIndex.get(bucket);
    if (!all) {
      const gen = this.generation.get(bucket) ?? 0;
      all = await this.walkKeys(bucket);
      if ((this.generation.get(bucket) ?? 0) === gen) this.keyIndex.set(bucket, all);
    }
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

  // ------------------------------------------------------------------ multipart
  private uploadsDir(bucket: string): string {
    return this.fs.getResourcePath(bucket, undefined, 'uploads');
  }
  private uploadDir(bucket: string, uploadId: string): string {
    if (!/^[0-9a-f]{16,64}$/.test(uploadId)) {
      throw new S3Error('NoSuchUpload', undefined, { UploadId: uploadId });
    }
    return path.join(this.uploadsDir(bucket), uploadId);
  }

  async createUpload(
    bucket: string,
    key: string,
    metadata: Record<string, string>,
    checksumAlgorithm?: ChecksumAlgorithm,
  ): Promise<string> {
    const uploadId = randomBytes(24).toString('hex');
    const dir = this.uploadDir(bucket, uploadId);
    await fsp.mkdir(dir, { recursive: true });
    await Promise.all([
      fsp.writeFile(path.join(dir, 'metadata'), JSON.stringify(metadata)),
      checksumAlgorithm ? fsp.writeFile(path.join(dir, 'checksum-algorithm'), checksumAlgorithm) : undefined,
    ]);
    // the key file last: its presence marks a complete upload record
    await fsp.writeFile(path.join(dir, 'key'), encodeKey(key));
    return uploadId;
  }

  async getUpload(bucket: string, uploadId: string, key?: string): Promise<UploadInfo> {
    const dir = this.uploadDir(bucket, uploadId);
    try {
      const [encKey, st, metadata, alg] = await Promise.all([
        fsp.readFile(path.join(dir, 'key'), 'utf8'),
        fsp.stat(path.join(dir, 'key')),
        fsp.readFile(path.join(dir, 'metadata'), 'utf8'),
        fsp.readFile(path.join(dir, 'checksum-algorithm'), 'utf8').catch(() => undefined),
      ]);
      const info: UploadInfo = {
        uploadId,
        bucket,
        key: decodeKey(encKey),
        initiated: st.mtime,
        metadata: JSON.parse(metadata) as Record<string, string>,
        checksumAlgorithm: alg ? (alg.trim() as ChecksumAlgorithm) : undefined,
      };
      if (key !== undefined && info.key !== key)
        throw new S3Error('NoSuchUpload', undefined, { UploadId: uploadId });
      return info;
    } catch (err) {
      if (isMissing(err)) throw new S3Error('NoSuchUpload', undefined, { UploadId: uploadId });
      throw err;
    }
  }

  async commitPart(bucket: string, uploadId: string, partNumber: number, staged: StagedBody): Promise<void> {
    const dir = this.uploadDir(bucket, uploadId);
    const partPath = path.join(dir, String(partNumber));
    try {
      // the md5 file goes first and the part last, so a reader never sees a part without its ETag
      await fsp.rm(`${partPath}.md5`, { force: true });
      await fsp.writeFile(`${partPath}.checksum`, staged.checksum ? JSON.stringify(staged.checksum) : '');
      await fsp.writeFile(`${partPath}.md5`, staged.md5Hex);
      await fsp.rename(staged.tmpPath, partPath);
    } catch (err) {
      if (isMissing(err)) throw new S3Error('NoSuchUpload', undefined, { UploadId: uploadId });
      throw err;
    }
  }

  async listParts(bucket: string, uploadId: string): Promise<PartInfo[]> {
    const dir = this.uploadDir(bucket, uploadId);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (err) {
      if (isMissing(err)) throw new S3Error('NoSuchUpload', undefined, { UploadId: uploadId });
      throw err;
    }
    const parts: PartInfo[] = [];
    for (const n of names.filter((x) => /^\d+$/.test(x))) {
      const p = path.join(dir, n);
      try {
        const [st, md5, ck] = await Promise.all([
          fsp.stat(p),
          fsp.readFile(`${p}.md5`, 'utf8'),
          fsp.readFile(`${p}.checksum`, 'utf8').catch(() => ''),
        ]);
        const checksum = ck ? (JSON.parse(ck) as { value: string }).value : undefined;
        parts.push({
          partNumber: Number(n),
          size: st.size,
          etag: JSON.stringify(md5.trim()),
          lastModified: st.mtime,
          checksum,
        });
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /** Concatenates the chosen parts into a staging file and returns its `-N` ETag value. */
  async assembleParts(
    bucket: string,
    uploadId: string,
    partNumbers: number[],
  ): Promise<{ tmpPath: string; etagValue: string; size: number }> {
    const dir = this.uploadDir(bucket, uploadId);
    const tmpPath = path.join(this.staging, randomBytes(12).toString('hex'));
    const md5s: Buffer[] = [];
    let size = 0;
    const out = await fsp.open(tmpPath, 'w');
    const buf = Buffer.allocUnsafe(4 << 20);
    try {
      for (const n of partNumbers) {
        const p = path.join(dir, String(n));
        md5s.push(Buffer.from((await fsp.readFile(`${p}.md5`, 'utf8')).trim(), 'hex'));
        const input = await fsp.open(p, 'r');
        try {
          for (;;) {
            const { bytesRead } = await input.read(buf, 0, buf.length, null);
            if (bytesRead === 0) break;
            let off = 0;
            while (off < bytesRead) off += (await out.write(buf, off, bytesRead - off)).bytesWritten;
            size += bytesRead;
          }
        } finally {
          await input.close();
        }
      }
      await out.close();
    } catch (err) {
      await out.close().catch(() => undefined);
      await fsp.rm(tmpPath, { force: true });
      if (isMissing(err)) throw new S3Error('NoSuchUpload', undefined, { UploadId: uploadId });
      throw err;
    }
    const etagValue = `${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${partNumbers.length}`;
    return { tmpPath, etagValue, size };
  }

  async removeUpload(bucket: string, uploadId: string): Promise<void> {
    await fsp.rm(this.uploadDir(bucket, uploadId), { recursive: true, force: true });
  }

  async listUploads(bucket: string): Promise<UploadInfo[]> {
    let ids: string[];
    try {
      ids = await fsp.readdir(this.uploadsDir(bucket));
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const out: UploadInfo[] = [];
    for (const id of ids) {
      try {
        out.push(await this.getUpload(bucket, id));
      } catch (err) {
        if (!(err instanceof S3Error)) throw err;
      }
    }
    return out.sort((a, b) => compareKeys(a.key, b.key) || a.initiated.getTime() - b.initiated.getTime());
  }
}
