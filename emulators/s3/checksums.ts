/**
 * Checksum headers of the embedded S3: `x-amz-checksum-<algorithm>` in requests, aws-chunked trailers
 * and answers, and `x-amz-checksum-type`. The algorithms themselves are shared/checksums.ts.
 */
import { isChecksumAlgorithm, type ChecksumAlgorithm, type ChecksumType } from '../../shared/checksums';

export {
  CHECKSUM_ALGORITHMS,
  checksumOf,
  compositeChecksum,
  createChecksum,
  isChecksumAlgorithm,
  type ChecksumAlgorithm,
  type ChecksumType,
  type IncrementalChecksum,
} from '../../shared/checksums';

/** The checksum S3 keeps with an object (or a part): algorithm, base64 value (`-N` when composite), type. */
export interface StoredChecksum {
  algorithm: ChecksumAlgorithm;
  value: string;
  type: ChecksumType;
}

/** What S3 computes for an object uploaded without a checksum. */
export const DEFAULT_CHECKSUM_ALGORITHM: ChecksumAlgorithm = 'CRC64NVME';

export const CHECKSUM_TYPE_HEADER = 'x-amz-checksum-type';

/** `x-amz-checksum-crc32` → 'CRC32'. */
export function algorithmFromHeader(name: string): ChecksumAlgorithm | undefined {
  const m = /^x-amz-checksum-([a-z0-9]+)$/i.exec(name.trim());
  const alg = m?.[1].toUpperCase();
  return isChecksumAlgorithm(alg) ? alg : undefined;
}

export function headerForAlgorithm(alg: ChecksumAlgorithm): string {
  return `x-amz-checksum-${alg.toLowerCase()}`;
}

/** A header of a stored checksum (see {@link checksumHeaders}). */
export function isStoredChecksumHeader(name: string): boolean {
  return name === CHECKSUM_TYPE_HEADER || algorithmFromHeader(name) !== undefined;
}

/** The answer headers of a stored checksum: `x-amz-checksum-<alg>` and `x-amz-checksum-type`. */
export function checksumHeaders(checksum: StoredChecksum | undefined): Record<string, string> {
  if (!checksum) return {};
  return { [headerForAlgorithm(checksum.algorithm)]: checksum.value, [CHECKSUM_TYPE_HEADER]: checksum.type };
}

/** The stored checksum among an object's stored headers (see {@link checksumHeaders}). */
export function checksumFromHeaders(headers: Record<string, string>): StoredChecksum | undefined {
  for (const [name, value] of Object.entries(headers)) {
    const algorithm = algorithmFromHeader(name);
    if (algorithm) {
      const type = headers[CHECKSUM_TYPE_HEADER] === 'COMPOSITE' ? 'COMPOSITE' : 'FULL_OBJECT';
      return { algorithm, value, type };
    }
  }
  return undefined;
}

/** The XML elements of a checksum in CompleteMultipartUpload, CopyObject and CopyPart answers. */
export function checksumElements(checksum: StoredChecksum | undefined): Record<string, string> {
  if (!checksum) return {};
  return { [`Checksum${checksum.algorithm}`]: checksum.value, ChecksumType: checksum.type };
}
