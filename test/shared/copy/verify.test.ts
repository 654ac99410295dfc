import { createHash } from 'node:crypto';
import { checksumOf } from '../../../shared/checksums';
import { ByteVerifier, checkName, chooseCheck, type SourceFacts } from '../../../shared/copy/verify';

const data = Buffer.from('the bytes of a granule');
const md5 = createHash('md5').update(data).digest('hex');
const facts = (extra: Partial<SourceFacts> = {}): SourceFacts => ({ size: data.length, eTag: md5, ...extra });

describe('chooseCheck', () => {
  it.each<[string, Partial<SourceFacts>, string]>([
    ['an unencrypted single-part object: its ETag is the MD5', {}, 'md5-etag'],
    ['an SSE-S3 object: its ETag is the MD5', { serverSideEncryption: 'AES256' }, 'md5-etag'],
    [
      'an SSE-KMS object: its ETag is not the MD5, its full-object checksum is the check',
      {
        serverSideEncryption: 'aws:kms',
        checksum: { algorithm: 'CRC64NVME', value: 'AAAAAAAAAAA=', type: 'FULL_OBJECT' },
      },
      'crc64nvme-full-object',
    ],
    [
      'an SSE-C object with a checksum',
      { sseCustomerAlgorithm: 'AES256', checksum: { algorithm: 'SHA256', value: 'x' } },
      'sha256-full-object',
    ],
    [
      'an SSE-KMS object without a checksum: the size alone',
      { serverSideEncryption: 'aws:kms' },
      'size-only',
    ],
    [
      'a DSSE-KMS object with a composite checksum: the size alone',
      {
        serverSideEncryption: 'aws:kms:dsse',
        checksum: { algorithm: 'CRC32', value: 'abc=-3', type: 'COMPOSITE' },
      },
      'size-only',
    ],
    [
      'a multipart object with a full-object checksum',
      { eTag: `${md5}-3`, checksum: { algorithm: 'CRC64NVME', value: 'AAAAAAAAAAA=', type: 'FULL_OBJECT' } },
      'crc64nvme-full-object',
    ],
    ['a multipart object without one', { eTag: `${md5}-3` }, 'size-only'],
  ])('%s', (_what, extra, expected) => {
    expect(checkName(chooseCheck(facts(extra)))).toBe(expected);
  });
});

describe('ByteVerifier', () => {
  const verify = async (check: ReturnType<typeof chooseCheck>, bytes = data): Promise<void> => {
    const verifier = new ByteVerifier({ size: data.length, check, description: 'copy of x' });
    verifier.add(bytes);
    await verifier.finish();
  };

  it('accepts bytes that match the MD5 or the full-object checksum', async () => {
    await verify(chooseCheck(facts()));
    const crc = await checksumOf('CRC64NVME', data);
    await verify({ kind: 'full-object-checksum', algorithm: 'CRC64NVME', value: crc });
  });

  it('refuses changed bytes with an IntegrityError naming the check', async () => {
    const changed = Buffer.from(data);
    changed[3] ^= 1;
    await expect(verify(chooseCheck(facts()), changed)).rejects.toMatchObject({
      name: 'IntegrityError',
      message: expect.stringContaining('MD5'),
    });
    const crc = await checksumOf('CRC32', data);
    await expect(
      verify({ kind: 'full-object-checksum', algorithm: 'CRC32', value: crc }, changed),
    ).rejects.toMatchObject({ name: 'IntegrityError', message: expect.stringContaining('CRC32') });
  });

  it('refuses a short body, whatever the check', async () => {
    await expect(verify({ kind: 'size' }, data.subarray(1))).rejects.toMatchObject({
      name: 'IntegrityError',
    });
  });
});

describe('ByteVerifier with a published checksum', () => {
  const published = (algorithm: 'MD5' | 'SHA-1' | 'SHA-256' | 'SHA-512', bytes: Buffer) => ({
    kind: 'published' as const,
    checksum: {
      algorithm,
      value: createHash(algorithm.replace('-', '').toLowerCase()).update(bytes).digest('hex'),
    },
  });

  it.each(['MD5', 'SHA-1', 'SHA-256', 'SHA-512'] as const)('passes bytes that match their %s', async (a) => {
    const verifier = new ByteVerifier({ size: data.length, check: published(a, data), description: 'copy' });
    verifier.add(data.subarray(0, 5));
    verifier.add(data.subarray(5));
    await expect(verifier.finish()).resolves.toBeUndefined();
    expect(checkName(published(a, data))).toBe(`${a.replace('-', '').toLowerCase()}-published`);
  });

  it('fails bytes that differ from the published SHA-256 with IntegrityError, naming both digests', async () => {
    const check = published('SHA-256', Buffer.from('other bytes'));
    const verifier = new ByteVerifier({ size: data.length, check, description: 'copy of s3://b/k' });
    verifier.add(data);
    const error = await verifier.finish().catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'IntegrityError' });
    expect((error as Error).message).toContain(check.checksum.value);
    expect((error as Error).message).toContain(createHash('sha256').update(data).digest('hex'));
  });
});
