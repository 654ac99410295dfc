import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { integrityError } from './errors';

/** An ETag that is the MD5 of the object: 32 hex digits, no `-N` multipart suffix. Quotes are ignored. */
export function plainMd5ETag(eTag: string | undefined): string | undefined {
  const bare = stripQuotes(eTag);
  return bare !== undefined && /^[0-9a-f]{32}$/i.test(bare) ? bare.toLowerCase() : undefined;
}

export function stripQuotes(eTag: string | undefined): string | undefined {
  return eTag === undefined ? undefined : eTag.replace(/^"|"$/g, '').replace(/^W\//, '');
}

export interface VerifyExpectation {
  /** Bytes the source announced (Content-Length of the object). */
  size: number;
  /** When set, the MD5 (hex) the streamed bytes must have. */
  md5?: string;
  /** For messages. */
  description: string;
}

/**
 * Passes bytes through, counting them and hashing them with MD5 when the source ETag is a plain MD5.
 * On the last byte it compares: a mismatch errors the stream instead of ending it, so a consumer that
 * completes an upload only at end-of-stream (lib-storage `Upload`) never makes a bad copy visible.
 */
export class VerifyingStream extends Transform {
  private count = 0;
  private readonly hash?: Hash;
  private digest?: string;

  constructor(
    private readonly expected: VerifyExpectation,
    private readonly onBytes?: (bytes: number) => void,
  ) {
    super();
    if (expected.md5 !== undefined) this.hash = createHash('md5');
  }

  /** Bytes passed through so far. */
  get bytes(): number {
    return this.count;
  }

  /** The MD5 (hex) of every byte, once the stream has ended; undefined when not computed. */
  get md5(): string | undefined {
    return this.digest;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count += chunk.length;
    if (this.count > this.expected.size) {
      callback(
        integrityError(
          `${this.expected.description}: the source sent more than the ${this.expected.size} bytes it announced`,
        ),
      );
      return;
    }
    this.hash?.update(chunk);
    this.onBytes?.(chunk.length);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.count !== this.expected.size) {
      callback(
        integrityError(
          `${this.expected.description}: ${this.count} bytes streamed but the source announced ${this.expected.size}`,
        ),
      );
      return;
    }
    if (this.hash) {
      this.digest = this.hash.digest('hex');
      if (this.digest !== this.expected.md5) {
        callback(
          integrityError(
            `${this.expected.description}: the MD5 of the streamed bytes (${this.digest}) differs from the source ETag (${this.expected.md5})`,
          ),
        );
        return;
      }
    }
    callback();
  }
}
