import { createHash } from 'node:crypto';
import { stripQuotes } from '../aws/s3-names';
import { createChecksum, type ChecksumAlgorithm, type IncrementalChecksum } from '../checksums';
import type { PublishedChecksum } from '../cmr/types';
import { PublishedChecksumVerifier, publishedCheckName } from '../cmr/verify';
import { integrityError } from './errors';

export { stripQuotes };

/** An ETag that is the MD5 of the object: 32 hex digits, no `-N` multipart suffix. Quotes are ignored. */
export function plainMd5ETag(eTag: string | undefined): string | undefined {
  const bare = stripQuotes(eTag);
  return bare !== undefined && /^[0-9a-f]{32}$/i.test(bare) ? bare.toLowerCase() : undefined;
}

/** A checksum S3 keeps for an object (`x-amz-checksum-<algorithm>`, `x-amz-checksum-type`). */
export interface ObjectChecksum {
  algorithm: ChecksumAlgorithm;
  /** Base64; a COMPOSITE one ends in `-<parts>`. */
  value: string;
  type?: 'FULL_OBJECT' | 'COMPOSITE';
}

/** What the source tells about its bytes: the facts {@link chooseCheck} decides by. */
export interface SourceFacts {
  size: number;
  eTag: string;
  /** `x-amz-server-side-encryption`: `AES256`, `aws:kms`, `aws:kms:dsse`; absent: none. */
  serverSideEncryption?: string;
  /** `x-amz-server-side-encryption-customer-algorithm`: present for SSE-C. */
  sseCustomerAlgorithm?: string;
  checksum?: ObjectChecksum;
}

/** How the bytes of a copy are checked before the copy becomes visible. */
export type Check =
  | { kind: 'md5-etag'; md5: string }
  | { kind: 'full-object-checksum'; algorithm: ChecksumAlgorithm; value: string }
  | { kind: 'published'; checksum: PublishedChecksum }
  | { kind: 'size' };

/**
 * The name of a check in results and reports: `md5-etag`, `crc64nvme-full-object`, a published checksum
 * (`sha256-published`, `md5-published`, ...), `size-only`.
 */
export function checkName(check: Check): string {
  if (check.kind === 'published') return publishedCheckName(check.checksum);
  if (check.kind === 'md5-etag') return 'md5-etag';
  if (check.kind === 'full-object-checksum') return `${check.algorithm.toLowerCase()}-full-object`;
  return 'size-only';
}

/**
 * The strongest check the source allows. An ETag is the MD5 of the data only for an unencrypted or
 * SSE-S3 object uploaded in one part (S3: "Objects encrypted by SSE-C or SSE-KMS have ETags that are not
 * an MD5 digest of their object data"). Otherwise a full-object checksum, when S3 keeps one (it does
 * for every object uploaded since late 2024: CRC64NVME by default). Otherwise the byte count alone.
 */
export function chooseCheck(source: SourceFacts): Check {
  const md5 = plainMd5ETag(source.eTag);
  const encryption = source.serverSideEncryption;
  const etagIsMd5 = (encryption === undefined || encryption === 'AES256') && !source.sseCustomerAlgorithm;
  if (md5 && etagIsMd5) return { kind: 'md5-etag', md5 };
  const checksum = source.checksum;
  if (checksum && checksum.type !== 'COMPOSITE' && !checksum.value.includes('-')) {
    return { kind: 'full-object-checksum', algorithm: checksum.algorithm, value: checksum.value };
  }
  return { kind: 'size' };
}

export interface VerifyExpectation {
  /** Bytes the source announced (Content-Length of the object). */
  size: number;
  check: Check;
  /** For messages. */
  description: string;
}

/**
 * Counts bytes and feeds them to the check's digest; `add` throws an `IntegrityError` as soon as more
 * bytes arrive than announced, `finish` when the count or the digest is wrong at the end.
 */
export class ByteVerifier {
  private count = 0;
  private readonly digest?: IncrementalChecksum;
  private readonly published?: PublishedChecksumVerifier;

  constructor(private readonly expected: VerifyExpectation) {
    const { check } = expected;
    if (check.kind === 'md5-etag') this.digest = md5Digest();
    else if (check.kind === 'full-object-checksum') this.digest = createChecksum(check.algorithm);
    else if (check.kind === 'published') this.published = new PublishedChecksumVerifier(check.checksum);
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.count;
  }

  add(chunk: Uint8Array): void {
    this.count += chunk.length;
    if (this.count > this.expected.size) {
      throw integrityError(
        `${this.expected.description}: the source sent more than the ${this.expected.size} bytes it announced`,
      );
    }
    this.digest?.update(chunk);
    this.published?.update(chunk);
  }

  async finish(): Promise<void> {
    const { check, description, size } = this.expected;
    if (this.count !== size) {
      throw integrityError(`${description}: ${this.count} bytes streamed but the source announced ${size}`);
    }
    const published = this.published;
    if (published && !published.matches()) {
      throw integrityError(
        `${description}: the ${published.expected.algorithm} of the streamed bytes (${published.actual}) differs ` +
          `from the checksum its archive published (${published.expected.value})`,
      );
    }
    if (!this.digest) return;
    const actual = await this.digest.digest();
    if (check.kind === 'md5-etag' && actual !== check.md5) {
      throw integrityError(
        `${description}: the MD5 of the streamed bytes (${actual}) differs from the source ETag (${check.md5})`,
      );
    }
    if (check.kind === 'full-object-checksum' && actual !== check.value) {
      throw integrityError(
        `${description}: the ${check.algorithm} of the streamed bytes (${actual}) differs from the source's ` +
          `full-object checksum (${check.value})`,
      );
    }
  }
}

/** MD5 as hex, through the same incremental interface. */
function md5Digest(): IncrementalChecksum {
  const hash = createHash('md5');
  return { update: (chunk) => void hash.update(chunk), digest: async () => hash.digest('hex') };
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
  await verifier.finish();
}
