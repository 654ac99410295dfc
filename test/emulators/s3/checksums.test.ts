/**
 * Embedded S3 gateway: the checksum S3 keeps with each object. The one uploaded with it, else S3's
 * default CRC64NVME; for multipart uploads FULL_OBJECT (over all the bytes) or COMPOSITE (over the
 * parts' checksums, `-N`). GET and HEAD answer it with `x-amz-checksum-mode: ENABLED`, never for a
 * range; listings name its algorithm and type.
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type ChecksumAlgorithm,
  type ChecksumType,
  type S3Client,
} from '@aws-sdk/client-s3';
import { checksumOf, compositeChecksum } from '../../../shared/checksums';
import { EmbeddedS3 } from '../../../emulators/s3/server';
import { expectS3Error, patternBuffer, rawRequest } from '../../helpers/embedded-s3';

const BUCKET = 'dst-bucket';
const MiB = 1024 * 1024;

let s3: EmbeddedS3;
let admin: S3Client;
/** Sends no checksum of its own, as clients before 2025 did. */
let plainClient: S3Client;

beforeAll(async () => {
  s3 = await EmbeddedS3.start({ sourceBuckets: [], destinationBuckets: [BUCKET] });
  admin = s3.client('admin');
  plainClient = s3.client('admin', {
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
});

afterAll(async () => {
  await s3.stop();
});

/** The checksum HEAD answers with ChecksumMode ENABLED (or without, `enabled` false). */
async function headChecksum(
  Key: string,
  enabled = true,
): Promise<{ algorithm?: string; value?: string; type?: ChecksumType }> {
  const head = await admin.send(
    new HeadObjectCommand({ Bucket: BUCKET, Key, ...(enabled && { ChecksumMode: 'ENABLED' }) }),
  );
  const found = (['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const).find(
    (a) => head[`Checksum${a}`] !== undefined,
  );
  return { algorithm: found, value: found && head[`Checksum${found}`], type: head.ChecksumType };
}

/** A multipart upload of `parts` with the SDK (which sends a CRC32 per part unless told otherwise). */
async function multipart(
  client: S3Client,
  Key: string,
  parts: Buffer[],
  create: { ChecksumAlgorithm?: ChecksumAlgorithm; ChecksumType?: ChecksumType } = {},
  complete: Record<string, string> = {},
) {
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: BUCKET, Key, ...create }),
  );
  const uploaded = [];
  for (const [i, Body] of parts.entries()) {
    const part = await client.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key,
        UploadId,
        PartNumber: i + 1,
        Body,
        ...(create.ChecksumAlgorithm && { ChecksumAlgorithm: create.ChecksumAlgorithm }),
      }),
    );
    const { ETag, ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA1, ChecksumSHA256 } = part;
    uploaded.push({
      PartNumber: i + 1,
      ETag,
      ChecksumCRC32,
      ChecksumCRC32C,
      ChecksumCRC64NVME,
      ChecksumSHA1,
      ChecksumSHA256,
    });
  }
  return client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key,
      UploadId,
      MultipartUpload: { Parts: uploaded },
      ...complete,
    }),
  );
}

const parts = [patternBuffer(5 * MiB, 1), patternBuffer(MiB + 17, 2)];
const whole = Buffer.concat(parts);

describe('single-part objects', () => {
  it('answer the CRC32 they were uploaded with, FULL_OBJECT, on GET and HEAD with checksum mode only', async () => {
    const data = patternBuffer(300_000, 3);
    const put = await admin.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'crc32.bin', Body: data, ChecksumAlgorithm: 'CRC32' }),
    );
    const crc = await checksumOf('CRC32', data);
    expect(put).toMatchObject({ ChecksumCRC32: crc, ChecksumType: 'FULL_OBJECT' });
    expect(await headChecksum('crc32.bin')).toEqual({ algorithm: 'CRC32', value: crc, type: 'FULL_OBJECT' });
    expect(await headChecksum('crc32.bin', false)).toEqual({});
    // The SDK validates a full-object checksum against the body it reads: a wrong one would throw.
    const got = await admin.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'crc32.bin', ChecksumMode: 'ENABLED' }),
    );
    expect(got).toMatchObject({ ChecksumCRC32: crc, ChecksumType: 'FULL_OBJECT' });
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
  });

  it("get S3's default CRC64NVME when uploaded without a checksum, and answer it on PUT", async () => {
    const data = patternBuffer(123_457, 4);
    const put = await plainClient.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'default.bin', Body: data }),
    );
    const crc64 = await checksumOf('CRC64NVME', data);
    expect(put).toMatchObject({ ChecksumCRC64NVME: crc64, ChecksumType: 'FULL_OBJECT' });
    expect(await headChecksum('default.bin')).toEqual({
      algorithm: 'CRC64NVME',
      value: crc64,
      type: 'FULL_OBJECT',
    });
  });

  it('answer no checksum to a ranged GET (it would not cover the bytes sent)', async () => {
    const r = await rawRequest(s3, {
      method: 'GET',
      path: `/${BUCKET}/crc32.bin`,
      credentials: s3.adminCredentials,
      headers: { range: 'bytes=0-99', 'x-amz-checksum-mode': 'ENABLED' },
    });
    expect(r.status).toBe(206);
    expect(Object.keys(r.headers).filter((h) => h.startsWith('x-amz-checksum'))).toEqual([]);
  });

  it('seeded objects (no HTTP) get the default CRC64NVME too', async () => {
    await s3.seedObject(BUCKET, 'seeded.bin', 'seeded bytes');
    expect(await headChecksum('seeded.bin')).toEqual({
      algorithm: 'CRC64NVME',
      value: await checksumOf('CRC64NVME', 'seeded bytes'),
      type: 'FULL_OBJECT',
    });
  });
});

describe('multipart objects', () => {
  it("COMPOSITE (the default for CRC32): the CRC32 of the parts' CRC32s, -N, on Complete and on GET", async () => {
    const done = await multipart(admin, 'composite.bin', parts, { ChecksumAlgorithm: 'CRC32' });
    const expected = await compositeChecksum('CRC32', [
      await checksumOf('CRC32', parts[0]),
      await checksumOf('CRC32', parts[1]),
    ]);
    expect(expected).toMatch(/-2$/);
    expect(done).toMatchObject({ ChecksumCRC32: expected, ChecksumType: 'COMPOSITE' });
    expect(await headChecksum('composite.bin')).toEqual({
      algorithm: 'CRC32',
      value: expected,
      type: 'COMPOSITE',
    });
    // The SDK does not validate a composite checksum against the bytes, and the read succeeds.
    const got = await admin.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'composite.bin', ChecksumMode: 'ENABLED' }),
    );
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(whole)).toBe(true);
  });

  it('FULL_OBJECT when asked for: the CRC32 of all the bytes; a wrong one stated on Complete is 400 BadDigest', async () => {
    const crc = await checksumOf('CRC32', whole);
    await expectS3Error(
      multipart(
        admin,
        'full.bin',
        parts,
        { ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' },
        {
          ChecksumCRC32: await checksumOf('CRC32', 'other bytes'),
          ChecksumType: 'FULL_OBJECT',
        },
      ),
      'BadDigest',
      400,
    );
    const done = await multipart(
      admin,
      'full.bin',
      parts,
      { ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' },
      {
        ChecksumCRC32: crc,
        ChecksumType: 'FULL_OBJECT',
      },
    );
    expect(done).toMatchObject({ ChecksumCRC32: crc, ChecksumType: 'FULL_OBJECT' });
    expect(await headChecksum('full.bin')).toEqual({ algorithm: 'CRC32', value: crc, type: 'FULL_OBJECT' });
  });

  it('CRC64NVME FULL_OBJECT when the upload named no algorithm', async () => {
    const done = await multipart(plainClient, 'no-algorithm.bin', parts);
    const crc64 = await checksumOf('CRC64NVME', whole);
    expect(done).toMatchObject({ ChecksumCRC64NVME: crc64, ChecksumType: 'FULL_OBJECT' });
    expect(await headChecksum('no-algorithm.bin')).toEqual({
      algorithm: 'CRC64NVME',
      value: crc64,
      type: 'FULL_OBJECT',
    });
  });

  it('refuses the types an algorithm cannot combine as (SHA256 FULL_OBJECT, CRC64NVME COMPOSITE)', async () => {
    for (const [ChecksumAlgorithm, ChecksumType] of [
      ['SHA256', 'FULL_OBJECT'],
      ['CRC64NVME', 'COMPOSITE'],
    ] as const) {
      await expectS3Error(
        admin.send(
          new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'x', ChecksumAlgorithm, ChecksumType }),
        ),
        'InvalidRequest',
        400,
      );
    }
  });
});

describe('copies and listings', () => {
  it("computes a copy's checksum anew, with the source's algorithm, and answers it", async () => {
    const copied = await admin.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'composite-copy.bin',
        CopySource: `${BUCKET}/composite.bin`,
      }),
    );
    const crc = await checksumOf('CRC32', whole);
    expect(copied.CopyObjectResult).toMatchObject({ ChecksumCRC32: crc, ChecksumType: 'FULL_OBJECT' });
    expect(await headChecksum('composite-copy.bin')).toEqual({
      algorithm: 'CRC32',
      value: crc,
      type: 'FULL_OBJECT',
    });
  });

  it("names each object's checksum algorithm and type in ListObjectsV2", async () => {
    const listed = await admin.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const byKey = new Map((listed.Contents ?? []).map((o) => [o.Key, [o.ChecksumAlgorithm, o.ChecksumType]]));
    expect(byKey.get('crc32.bin')).toEqual([['CRC32'], 'FULL_OBJECT']);
    expect(byKey.get('default.bin')).toEqual([['CRC64NVME'], 'FULL_OBJECT']);
    expect(byKey.get('composite.bin')).toEqual([['CRC32'], 'COMPOSITE']);
  });
});
