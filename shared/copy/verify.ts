import { createHash, type Hash } from 'node:crypto';
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
 * Counts bytes and hashes them with MD5 when the source ETag is a plain MD5; `add` throws an
 * `IntegrityError` as soon as more bytes arrive than announced, `finish` when the count or the MD5 is
 * wrong at the end.
 */
export class ByteVerifier {
  private count = 0;
  private readonly hash?: Hash;
  private digest?: string;

  constructor(private readonly expected: VerifyExpectation) {
    if (expected.md5 !== undefined) this.hash = createHash('md5');
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.count;
  }

  /** The MD5 (hex) of every byte, once finished; undefined when not computed. */
  get md5(): string | undefined {
    return this.digest;
  }

  add(chunk: Uint8Array): void {
    this.count += chunk.length;
    if (this.count > this.expected.size) {
      throw integrityError(
        `${this.expected.description}: the source sent more than the ${this.expected.size} bytes it announced`,
      );
    }
    this.hash?.update(chunk);
  }

  finish(): void {
    if (this.count !== this.expected.size) {
      throw integrityError(
        `${this.expected.description}: ${this.count} bytes streamed but the source announced ${this.expected.size}`,
      );
    }
    if (this.hash) {
      this.digest = this.hash.digest('hex');
      if (this.digest !== this.expected.md5) {
        throw integrityError(
          `${this.expected.description}: the MD5 of the streamed bytes (${this.digest}) differs from the source ETag (${this.expected.md5})`,
        );
      }
    }
  }
}

/**
 * Passes chunks through a {@link ByteVerifier}. A mismatch throws instead of ending, so a consumer that
 * completes an upload only at the end (lib-storage `Upload`) never makes a bad copy visible.
 */
export async function* verifyChunks(
  chunks: AsyncIterable<Buffer>,
  verifier: ByteVerifier,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    verifier.add(chunk);
    onBytes?.(chunk.length);
    yield chunk;
  }
  verifier.finish();
}
