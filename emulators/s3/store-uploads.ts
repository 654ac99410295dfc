/**
 * Multipart uploads on disk, in s3rver's uploads directory of a bucket: one directory per upload
 * with its key, metadata and checksum algorithm, and per part the bytes, md5 and checksum files.
 * Completion concatenates the chosen parts into a staging file with an S3-style `-N` ETag.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createChecksum, type ChecksumAlgorithm, type ChecksumType } from './checksums';
import { S3Error } from './errors';
import { isMissing, type FilesystemStore } from './store-fs';
import { compareKeys, decodeKey, encodeKey } from './store-keys';
import type { StagedBody, Staging } from './store-staging';

export interface UploadInfo {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: Date;
  /** x-amz-meta-*, stored headers and the upload's encryption, all kept by the object. */
  metadata: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
  /** With checksumAlgorithm: how the object's checksum is made from the parts. */
  checksumType?: ChecksumType;
}

export interface PartInfo {
  partNumber: number;
  size: number;
  etag: string;
  lastModified: Date;
  checksum?: string;
}

export class UploadStore {
  constructor(
    private readonly fs: FilesystemStore,
    private readonly staging: Staging,
  ) {}

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
    checksum?: { algorithm: ChecksumAlgorithm; type: ChecksumType },
  ): Promise<string> {
    const uploadId = randomBytes(24).toString('hex');
    const dir = this.uploadDir(bucket, uploadId);
    await fsp.mkdir(dir, { recursive: true });
    await Promise.all([
      fsp.writeFile(path.join(dir, 'metadata'), JSON.stringify(metadata)),
      checksum && fsp.writeFile(path.join(dir, 'checksum-algorithm'), checksum.algorithm),
      checksum && fsp.writeFile(path.join(dir, 'checksum-type'), checksum.type),
    ]);
    // the key file last: its presence marks a complete upload record
    await fsp.writeFile(path.join(dir, 'key'), encodeKey(key));
    return uploadId;
  }

  async getUpload(bucket: string, uploadId: string, key?: string): Promise<UploadInfo> {
    const dir = this.uploadDir(bucket, uploadId);
    try {
      const [encKey, st, metadata, alg, type] = await Promise.all([
        fsp.readFile(path.join(dir, 'key'), 'utf8'),
        fsp.stat(path.join(dir, 'key')),
        fsp.readFile(path.join(dir, 'metadata'), 'utf8'),
        fsp.readFile(path.join(dir, 'checksum-algorithm'), 'utf8').catch(() => undefined),
        fsp.readFile(path.join(dir, 'checksum-type'), 'utf8').catch(() => undefined),
      ]);
      const info: UploadInfo = {
        uploadId,
        bucket,
        key: decodeKey(encKey),
        initiated: st.mtime,
        metadata: JSON.parse(metadata) as Record<string, string>,
        checksumAlgorithm: alg ? (alg.trim() as ChecksumAlgorithm) : undefined,
        checksumType: type ? (type.trim() as ChecksumType) : undefined,
      };
      if (key !== undefined && info.key !== key)
        throw new S3Error('NoSuchUpload', undefined, { UploadId: uploadId });
      return info;
    } catch (err) {
      if (isMissing(err)) throw new S3Error('NoSuchUpload', undefined, { UploadId: uploadId });
      throw err;
    }
  }

  /**
   * Moves a staged body into place as part `partNumber` with its ETag value (the MD5 of its bytes unless
   * the upload's encryption says otherwise); the staged file is removed if that fails.
   */
  async commitPart(
    bucket: string,
    uploadId: string,
    partNumber: number,
    staged: StagedBody,
    etagValue = staged.md5Hex,
  ): Promise<void> {
    try {
      const partPath = path.join(this.uploadDir(bucket, uploadId), String(partNumber));
      // the ETag (.md5) file goes first and the part last, so a reader never sees a part without its ETag
      await fsp.rm(`${partPath}.md5`, { force: true });
      await fsp.writeFile(`${partPath}.checksum`, staged.checksum ? JSON.stringify(staged.checksum) : '');
      await fsp.writeFile(`${partPath}.md5`, etagValue);
      await fsp.rename(staged.tmpPath, partPath);
    } catch (err) {
      await this.staging.discard(staged);
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

  /**
   * Concatenates the chosen parts into a staging file and returns its `-N` ETag value, and the
   * `checksum` of all its bytes when asked for one (a FULL_OBJECT checksum).
   */
  async assembleParts(
    bucket: string,
    uploadId: string,
    partNumbers: number[],
    checksum?: ChecksumAlgorithm,
  ): Promise<{ tmpPath: string; etagValue: string; size: number; checksum?: string }> {
    const dir = this.uploadDir(bucket, uploadId);
    const tmpPath = this.staging.newPath();
    const running = checksum && createChecksum(checksum);
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
            running?.update(buf.subarray(0, bytesRead));
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
    return { tmpPath, etagValue, size, checksum: await running?.digest() };
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
