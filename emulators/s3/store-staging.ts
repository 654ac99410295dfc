/**
 * Staging of bodies: what is written goes to a staging file first, hashed and counted on the way,
 * so that a failed or aborted upload never leaves a partial object; the caller commits or discards.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createChecksum, type ChecksumAlgorithm, type IncrementalChecksum } from './checksums';

export interface TapOptions {
  checksum?: ChecksumAlgorithm;
  sha256?: boolean;
  onBytes?: (n: number) => void;
}

/** Hashes and counts what flows into a staging file. */
export class BodyTap extends Transform {
  readonly md5 = createHash('md5');
  readonly sha256: Hash | undefined;
  readonly checksum: { algorithm: ChecksumAlgorithm; running: IncrementalChecksum } | undefined;
  size = 0;
  private readonly onBytes: ((n: number) => void) | undefined;
  constructor(options: TapOptions = {}) {
    super();
    this.sha256 = options.sha256 ? createHash('sha256') : undefined;
    this.checksum = options.checksum
      ? { algorithm: options.checksum, running: createChecksum(options.checksum) }
      : undefined;
    this.onBytes = options.onBytes;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.md5.update(chunk);
    this.sha256?.update(chunk);
    this.checksum?.running.update(chunk);
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
  /** What the tap computed, when it was given an algorithm. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

export class Staging {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
  }

  /** A fresh path in the staging directory. */
  newPath(): string {
    return path.join(this.dir, randomBytes(12).toString('hex'));
  }

  /**
   * Streams `head` (a source, then transforms) through `tap` into a staging file; the caller commits
   * or discards it. With an empty `head`, `tap` itself is the source (something is piped into it).
   */
  async stage(head: (Readable | Transform)[], tap: BodyTap): Promise<StagedBody> {
    const tmpPath = this.newPath();
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
      checksum: tap.checksum && {
        algorithm: tap.checksum.algorithm,
        value: await tap.checksum.running.digest(),
      },
    };
  }

  async discard(staged: { tmpPath: string }): Promise<void> {
    await fsp.rm(staged.tmpPath, { force: true });
  }
}
