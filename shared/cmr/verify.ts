/**
 * Checking bytes against the checksum their archive published, as they stream: one hash pass, the
 * digest compared once at the end. The copy engine decides when to use it (in place of the MD5 ETag
 * check, so that a copy costs one hash pass whichever check is made).
 */
import { createHash, type Hash } from 'node:crypto';
import type { PublishedChecksum, PublishedChecksumAlgorithm } from './types';

const NODE_ALGORITHM: Readonly<Record<PublishedChecksumAlgorithm, string>> = {
  MD5: 'md5',
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-512': 'sha512',
};

/** The name of the check in results and reports: `md5-published`, `sha1-published`, `sha256-published`, `sha512-published`. */
export const publishedCheckName = (checksum: PublishedChecksum): string =>
  `${NODE_ALGORITHM[checksum.algorithm]}-published`;

/** A running digest of a file's bytes, to compare with its published checksum once they have all passed. */
export class PublishedChecksumVerifier {
  readonly #hash: Hash;
  #actual?: string;

  constructor(readonly expected: PublishedChecksum) {
    this.#hash = createHash(NODE_ALGORITHM[expected.algorithm]);
  }

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
  }

  /** The digest of every byte given (lower-case hex); ends the hashing. */
  get actual(): string {
    this.#actual ??= this.#hash.digest('hex');
    return this.#actual;
  }

  /** Whether the bytes are the ones the archive published a checksum for. */
  matches(): boolean {
    return this.actual === this.expected.value;
  }
}
