/**
 * The checksums S3 uses (`x-amz-checksum-*`, `ChecksumCRC32`, ...): base64 of the big-endian digest,
 * computed incrementally. The CRCs are the AWS SDK's own (what SDK clients send and validate), the SHAs
 * node:crypto's.
 */
import { createHash } from 'node:crypto';
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = [
  'CRC32',
  'CRC32C',
  'CRC64NVME',
  'SHA1',
  'SHA256',
];

/** How a multipart object's checksum was made: over all its bytes, or over its parts' checksums. */
export type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';

export interface IncrementalChecksum {
  update(chunk: Uint8Array): void;
  /** Base64 of the big-endian digest; call once. */
  digest(): Promise<string>;
}

interface SdkChecksum {
  update(data: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

function fromSdk(checksum: SdkChecksum): IncrementalChecksum {
  return {
    update: (chunk) => checksum.update(chunk),
    digest: async () => Buffer.from(await checksum.digest()).toString('base64'),
  };
}

function fromHash(algorithm: 'sha1' | 'sha256'): IncrementalChecksum {
  const hash = createHash(algorithm);
  return {
    update: (chunk) => void hash.update(chunk),
    digest: async () => hash.digest('base64'),
  };
}

export function createChecksum(algorithm: ChecksumAlgorithm): IncrementalChecksum {
  switch (algorithm) {
    case 'CRC32':
      return fromSdk(new Crc32());
    case 'CRC32C':
      return fromSdk(new Crc32c());
    case 'CRC64NVME':
      return fromSdk(new Crc64Nvme());
    case 'SHA1':
      return fromHash('sha1');
    case 'SHA256':
      return fromHash('sha256');
  }
}

export function isChecksumAlgorithm(value: string | undefined): value is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly (string | undefined)[]).includes(value);
}

export async function checksumOf(algorithm: ChecksumAlgorithm, data: Uint8Array | string): Promise<string> {
  const checksum = createChecksum(algorithm);
  checksum.update(typeof data === 'string' ? Buffer.from(data) : data);
  return checksum.digest();
}

/**
 * A multipart object's COMPOSITE checksum as S3 computes it: the checksum of its parts' checksums
 * (decoded, in part order), then `-<number of parts>`.
 */
export async function compositeChecksum(
  algorithm: ChecksumAlgorithm,
  partChecksums: readonly string[],
): Promise<string> {
  const joined = Buffer.concat(partChecksums.map((value) => Buffer.from(value, 'base64')));
  return `${await checksumOf(algorithm, joined)}-${partChecksums.length}`;
}
