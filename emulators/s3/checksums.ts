/**
 * Incremental checksums as S3 uses them in `x-amz-checksum-*` headers and aws-chunked trailers:
 * CRC32, CRC32C, CRC64NVME, SHA1, SHA256, each rendered as base64 of the big-endian digest.
 */
import { createHash, type Hash } from 'node:crypto';
import * as zlib from 'node:zlib';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = [
  'CRC32',
  'CRC32C',
  'CRC64NVME',
  'SHA1',
  'SHA256',
];

export interface Checksum {
  update(data: Buffer): void;
  /** base64 of the big-endian digest */
  digest(): string;
}

/** `x-amz-checksum-crc32` → 'CRC32'. */
export function algorithmFromHeader(name: string): ChecksumAlgorithm | undefined {
  const m = /^x-amz-checksum-([a-z0-9]+)$/i.exec(name.trim());
  if (!m) return undefined;
  const alg = m[1].toUpperCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(alg) ? (alg as ChecksumAlgorithm) : undefined;
}
export function headerForAlgorithm(alg: ChecksumAlgorithm): string {
  return `x-amz-checksum-${alg.toLowerCase()}`;
}

function makeTable32(poly: number): Uint32Array {
  // slice-by-8 tables, reflected
  const t = new Uint32Array(256 * 8);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) {
      const prev = t[(s - 1) * 256 + i];
      t[s * 256 + i] = (t[prev & 0xff] ^ (prev >>> 8)) >>> 0;
    }
  }
  return t;
}
let crc32Table: Uint32Array | undefined;
let crc32cTable: Uint32Array | undefined;

/** Reflected 32-bit CRC update (slice-by-8); `crc` is the running value before final xor. */
function crc32Update(t: Uint32Array, crc: number, buf: Buffer): number {
  let c = crc >>> 0;
  let i = 0;
  const n = buf.length;
  const end8 = n - (n % 8);
  for (; i < end8; i += 8) {
    const a = (c ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24))) >>> 0;
    c =
      t[1792 + (a & 0xff)] ^
      t[1536 + ((a >>> 8) & 0xff)] ^
      t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^
      t[768 + buf[i + 4]] ^
      t[512 + buf[i + 5]] ^
      t[256 + buf[i + 6]] ^
      t[buf[i + 7]];
  }
  for (; i < n; i++) c = t[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return c >>> 0;
}

function be32(v: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b.toString('base64');
}

type ZlibWithCrc = { crc32?: (data: Buffer, value?: number) => number };
const nativeCrc32 = (zlib as unknown as ZlibWithCrc).crc32;

class Crc32 implements Checksum {
  private c = 0;
  update(data: Buffer): void {
    if (nativeCrc32) {
      this.c = nativeCrc32(data, this.c);
    } else {
      crc32Table ??= makeTable32(0xedb88320);
      this.c = (crc32Update(crc32Table, this.c ^ 0xffffffff, data) ^ 0xffffffff) >>> 0;
    }
  }
  digest(): string {
    return be32(this.c);
  }
}

class Crc32c implements Checksum {
  private c = 0xffffffff;
  update(data: Buffer): void {
    crc32cTable ??= makeTable32(0x82f63b78);
    this.c = crc32Update(crc32cTable, this.c, data);
  }
  digest(): string {
    return be32((this.c ^ 0xffffffff) >>> 0);
  }
}

// CRC-64/NVME: reflected, poly 0xAD93D23594C93659 (reflected 0x9A6C9329AC4BC9B5), init/xorout all ones.
let crc64Lo: Uint32Array | undefined;
let crc64Hi: Uint32Array | undefined;
function crc64Tables(): [Uint32Array, Uint32Array] {
  if (!crc64Lo || !crc64Hi) {
    const polyLo = 0xac4bc9b5;
    const polyHi = 0x9a6c9329;
    crc64Lo = new Uint32Array(256);
    crc64Hi = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let lo = i;
      let hi = 0;
      for (let k = 0; k < 8; k++) {
        const bit = lo & 1;
        lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
        hi = hi >>> 1;
        if (bit) {
          lo = (lo ^ polyLo) >>> 0;
          hi = (hi ^ polyHi) >>> 0;
        }
      }
      crc64Lo[i] = lo;
      crc64Hi[i] = hi;
    }
  }
  return [crc64Lo, crc64Hi];
}
class Crc64Nvme implements Checksum {
  private lo = 0xffffffff;
  private hi = 0xffffffff;
  update(data: Buffer): void {
    const [tl, th] = crc64Tables();
    let lo = this.lo;
    let hi = this.hi;
    for (let i = 0; i < data.length; i++) {
      const idx = (lo ^ data[i]) & 0xff;
      lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ tl[idx]) >>> 0;
      hi = ((hi >>> 8) ^ th[idx]) >>> 0;
    }
    this.lo = lo;
    this.hi = hi;
  }
  digest(): string {
    const b = Buffer.alloc(8);
    b.writeUInt32BE((this.hi ^ 0xffffffff) >>> 0, 0);
    b.writeUInt32BE((this.lo ^ 0xffffffff) >>> 0, 4);
    return b.toString('base64');
  }
}

class HashChecksum implements Checksum {
  private h: Hash;
  constructor(alg: string) {
    this.h = createHash(alg);
  }
  update(data: Buffer): void {
    this.h.update(data);
  }
  digest(): string {
    return this.h.digest('base64');
  }
}

export function createChecksum(alg: ChecksumAlgorithm): Checksum {
  switch (alg) {
    case 'CRC32':
      return new Crc32();
    case 'CRC32C':
      return new Crc32c();
    case 'CRC64NVME':
      return new Crc64Nvme();
    case 'SHA1':
      return new HashChecksum('sha1');
    case 'SHA256':
      return new HashChecksum('sha256');
  }
}

export function checksumOf(alg: ChecksumAlgorithm, data: Buffer | string): string {
  const c = createChecksum(alg);
  c.update(Buffer.isBuffer(data) ? data : Buffer.from(data));
  return c.digest();
}
