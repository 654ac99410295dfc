import { checksumOf, compositeChecksum, createChecksum, isChecksumAlgorithm } from '../../shared/checksums';

const hex = (base64: string): string => Buffer.from(base64, 'base64').toString('hex');

describe('shared/checksums', () => {
  it('computes the catalogued check values of "123456789"', async () => {
    // The CRC catalogue's "check" values; SHA-1/SHA-256 of the same string.
    expect(hex(await checksumOf('CRC32', '123456789'))).toBe('cbf43926');
    expect(hex(await checksumOf('CRC32C', '123456789'))).toBe('e3069283');
    expect(hex(await checksumOf('CRC64NVME', '123456789'))).toBe('ae8b14860a799888');
    expect(hex(await checksumOf('SHA1', '123456789'))).toBe('f7c3bc1d808e04732adf679965ccc34ca7ae3441');
    expect(hex(await checksumOf('SHA256', '123456789'))).toBe(
      '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225',
    );
  });

  it('gives the same value fed in pieces as in one go', async () => {
    const data = Buffer.from(Array.from({ length: 100_003 }, (_, i) => (i * 31) & 0xff));
    for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
      const running = createChecksum(algorithm);
      for (let i = 0; i < data.length; i += 4097) running.update(data.subarray(i, i + 4097));
      expect(await running.digest()).toBe(await checksumOf(algorithm, data));
    }
  });

  it("makes S3's COMPOSITE checksum: the checksum of the parts' decoded checksums, then -N", async () => {
    const parts = [await checksumOf('CRC32', 'part one'), await checksumOf('CRC32', 'part two')];
    const joined = Buffer.concat(parts.map((p) => Buffer.from(p, 'base64')));
    expect(await compositeChecksum('CRC32', parts)).toBe(`${await checksumOf('CRC32', joined)}-2`);
  });

  it('tells algorithm names from other strings', () => {
    expect(isChecksumAlgorithm('CRC64NVME')).toBe(true);
    expect(isChecksumAlgorithm('crc32')).toBe(false);
    expect(isChecksumAlgorithm(undefined)).toBe(false);
  });
});
