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

/** The CRCs S3 can combine into a full-object checksum, by their reflected polynomial and width. */
const COMBINABLE: Partial<Record<ChecksumAlgorithm, { poly: bigint; width: number }>> = {
  CRC32: { poly: 0xedb88320n, width: 32 },
  CRC32C: { poly: 0x82f63b78n, width: 32 },
  CRC64NVME: { poly: 0x9a6c9329ac4bc9b5n, width: 64 },
};

export function isCombinable(algorithm: ChecksumAlgorithm): boolean {
  return COMBINABLE[algorithm] !== undefined;
}

/** GF(2) arithmetic modulo a reflected CRC polynomial (zlib's crc32_combine, for any width). */
class CrcAlgebra {
  private readonly top: bigint;
  private readonly powers: bigint[] = [];

  constructor(
    private readonly poly: bigint,
    width: number,
  ) {
    this.top = 1n << BigInt(width - 1);
    // powers[k] = x^(2^k) mod p, for byte lengths up to 2^60.
    let p = this.top >> 1n; // x^1
    for (let k = 0; k < 64; k++) {
      this.powers.push(p);
      p = this.multiply(p, p);
    }
  }

  multiply(a: bigint, b: bigint): bigint {
    let m = this.top;
    let product = 0n;
    for (;;) {
      if (a & m) {
        product ^= b;
        if ((a & (m - 1n)) === 0n) break;
      }
      m >>= 1n;
      b = b & 1n ? (b >> 1n) ^ this.poly : b >> 1n;
    }
    return product;
  }

  /** x^(8 * bytes) mod p. */
  shift(bytes: number): bigint {
    let p = this.top; // x^0
    let n = BigInt(bytes);
    let k = 3;
    while (n > 0n) {
      if (n & 1n) p = this.multiply(this.powers[k], p);
      n >>= 1n;
      k++;
    }
    return p;
  }
}

const algebras = new Map<ChecksumAlgorithm, CrcAlgebra>();

/**
 * The checksum of a whole made of consecutive pieces, from each piece's checksum (base64, as S3 sends
 * it) and length: what S3 computes for a FULL_OBJECT multipart upload, computed here from the parts'
 * checksums in ListParts, without reading a byte. Only for CRC32, CRC32C and CRC64NVME.
 */
export function combineChecksums(
  algorithm: ChecksumAlgorithm,
  pieces: readonly { value: string; length: number }[],
): string {
  const spec = COMBINABLE[algorithm];
  if (!spec) throw new Error(`${algorithm} checksums cannot be combined`);
  let algebra = algebras.get(algorithm);
  if (!algebra) {
    algebra = new CrcAlgebra(spec.poly, spec.width);
    algebras.set(algorithm, algebra);
  }
  const bytes = spec.width / 8;
  const toBig = (value: string): bigint => BigInt(`0x${Buffer.from(value, 'base64').toString('hex') || '0'}`);
  // The CRC of no bytes is 0 for these (init and final xor are both all ones).
  let crc = 0n;
  for (const piece of pieces) {
    crc = algebra.multiply(algebra.shift(piece.length), crc) ^ toBig(piece.value);
  }
  return Buffer.from(crc.toString(16).padStart(bytes * 2, '0'), 'hex').toString('base64');
}
