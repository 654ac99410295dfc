/**
 * Embedded S3 gateway: server-side encryption as S3 answers it. SSE-S3, SSE-KMS (the account's aws/s3
 * key by default) and SSE-C are stored with the object and echoed on PUT, GET, HEAD, CopyObject and
 * every multipart answer; SSE-KMS and SSE-C objects get ETags that are not the MD5 of their data; SSE-C
 * reads need the key again.
 */
import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { EmbeddedS3 } from '../../../emulators/s3/server';
import { expectS3Error, patternBuffer, rawRequest } from '../../helpers/embedded-s3';

const BUCKET = 'dst-bucket';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const MiB = 1024 * 1024;
const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');

let s3: EmbeddedS3;
let admin: S3Client;

beforeAll(async () => {
  s3 = await EmbeddedS3.start({ sourceBuckets: [], destinationBuckets: [BUCKET], kmsKeyIds: [KEY_ID] });
  admin = s3.client('admin');
});

afterAll(async () => {
  await s3.stop();
});

async function read(client: S3Client, Key: string, extra: object = {}): Promise<string> {
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key, ...extra }));
  return got.Body!.transformToString();
}

describe('SSE-KMS', () => {
  it("uses the account's aws/s3 key when no key id is given, and echoes it on PUT, HEAD and GET", async () => {
    const put = await admin.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'kms/default.txt',
        Body: 'secret',
        ServerSideEncryption: 'aws:kms',
      }),
    );
    expect(s3.defaultKmsKeyArn).toMatch(/^arn:aws:kms:us-west-2:\d{12}:key\/[0-9a-f-]{36}$/);
    expect(put).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: s3.defaultKmsKeyArn });
    const head = await admin.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'kms/default.txt' }));
    expect(head).toMatchObject({
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: s3.defaultKmsKeyArn,
      ETag: put.ETag,
    });
    const got = await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'kms/default.txt' }));
    expect(got).toMatchObject({
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: s3.defaultKmsKeyArn,
      ETag: put.ETag,
    });
    expect(await got.Body!.transformToString()).toBe('secret');
  });

  it('gives single-part objects a 32-hex ETag that is not the MD5 of the data, different on each PUT', async () => {
    const put = () =>
      admin.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'kms/etag.txt',
          Body: 'same bytes',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: KEY_ID,
        }),
      );
    const [first, second] = [(await put()).ETag!, (await put()).ETag!];
    for (const etag of [first, second]) {
      expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(etag).not.toBe(`"${md5('same bytes')}"`);
    }
    expect(first).not.toBe(second);
  });

  it('echoes a key id as the ARN of the key, and an ARN or alias/aws/s3 as S3 resolves them', async () => {
    const arn = `arn:aws:kms:us-west-2:123456789012:key/${KEY_ID}`;
    for (const [given, echoed] of [
      [KEY_ID, arn],
      [arn, arn],
      ['alias/aws/s3', s3.defaultKmsKeyArn],
    ]) {
      const put = await admin.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'kms/named.txt',
          Body: 'x',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: given,
        }),
      );
      expect(put.SSEKMSKeyId).toBe(echoed);
    }
  });

  it('refuses an unknown key (400 KMS.NotFoundException) and a key id without aws:kms (400)', async () => {
    await expectS3Error(
      admin.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'kms/unknown.txt',
          Body: 'x',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: 'no-such-key',
        }),
      ),
      'KMS.NotFoundException',
      400,
    );
    await expectS3Error(
      admin.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'kms/unknown.txt', Body: 'x', SSEKMSKeyId: KEY_ID }),
      ),
      'InvalidArgument',
      400,
    );
  });

  it('echoes the encryption on every multipart answer; part ETags are not MD5s', async () => {
    const Key = 'kms/multipart.bin';
    const parts = [patternBuffer(5 * MiB, 1), patternBuffer(1000, 2)];
    const created = await admin.send(
      new CreateMultipartUploadCommand({
        Bucket: BUCKET,
        Key,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: KEY_ID,
      }),
    );
    const arn = `arn:aws:kms:us-west-2:123456789012:key/${KEY_ID}`;
    expect(created).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: arn });
    const uploaded = [];
    for (const [i, Body] of parts.entries()) {
      const part = await admin.send(
        new UploadPartCommand({ Bucket: BUCKET, Key, UploadId: created.UploadId, PartNumber: i + 1, Body }),
      );
      expect(part).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: arn });
      expect(part.ETag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(part.ETag).not.toBe(`"${md5(Body)}"`);
      uploaded.push({ PartNumber: i + 1, ETag: part.ETag, ChecksumCRC32: part.ChecksumCRC32 });
    }
    const done = await admin.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key,
        UploadId: created.UploadId,
        MultipartUpload: { Parts: uploaded },
      }),
    );
    expect(done).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: arn });
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    const head = await admin.send(new HeadObjectCommand({ Bucket: BUCKET, Key }));
    expect(head).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: arn, ETag: done.ETag });
  });
});

describe('SSE-S3 and plain objects', () => {
  it('echo AES256 for an object stored with it, nothing for a plain one; both keep the MD5 ETag', async () => {
    const sse = await admin.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'sse-s3.txt',
        Body: 'data',
        ServerSideEncryption: 'AES256',
      }),
    );
    expect(sse).toMatchObject({ ServerSideEncryption: 'AES256', ETag: `"${md5('data')}"` });
    const head = await admin.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sse-s3.txt' }));
    expect(head.ServerSideEncryption).toBe('AES256');
    const plain = await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'plain.txt', Body: 'data' }));
    expect(plain).toMatchObject({ ETag: `"${md5('data')}"` });
    expect(plain.ServerSideEncryption).toBeUndefined();
    const plainHead = await admin.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'plain.txt' }));
    expect(plainHead.ServerSideEncryption).toBeUndefined();
  });

  it('refuses an encryption header on GET and HEAD (it is the object that is encrypted), and an unknown method', async () => {
    const r = await rawRequest(s3, {
      method: 'GET',
      path: `/${BUCKET}/sse-s3.txt`,
      credentials: s3.adminCredentials,
      headers: { 'x-amz-server-side-encryption': 'AES256' },
    });
    expect(r.status).toBe(400);
    expect(r.text).toContain('<Code>InvalidArgument</Code>');
    const put = await rawRequest(s3, {
      method: 'PUT',
      path: `/${BUCKET}/rot13.txt`,
      credentials: s3.adminCredentials,
      headers: { 'x-amz-server-side-encryption': 'rot13' },
      body: 'x',
    });
    expect(put.status).toBe(400);
    expect(put.text).toContain('<Code>InvalidArgument</Code>');
  });

  it('copies to the encryption the copy asks for, not the source one', async () => {
    const kms = await admin.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'copied-kms.txt',
        CopySource: `${BUCKET}/plain.txt`,
        ServerSideEncryption: 'aws:kms',
      }),
    );
    expect(kms).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: s3.defaultKmsKeyArn });
    expect(kms.CopyObjectResult?.ETag).not.toBe(`"${md5('data')}"`);
    const back = await admin.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'copied-plain.txt',
        CopySource: `${BUCKET}/copied-kms.txt`,
      }),
    );
    expect(back.ServerSideEncryption).toBeUndefined();
    expect(back.CopyObjectResult?.ETag).toBe(`"${md5('data')}"`);
  });
});

describe('SSE-C', () => {
  const key = Buffer.alloc(32, 7);
  const sseC = {
    SSECustomerAlgorithm: 'AES256',
    SSECustomerKey: key.toString('base64'),
    SSECustomerKeyMD5: createHash('md5').update(key).digest('base64'),
  };
  const other = Buffer.alloc(32, 8);
  const otherKey = {
    SSECustomerAlgorithm: 'AES256',
    SSECustomerKey: other.toString('base64'),
    SSECustomerKeyMD5: createHash('md5').update(other).digest('base64'),
  };

  beforeAll(async () => {
    const put = await admin.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'ssec.txt', Body: 'customer data', ...sseC }),
    );
    expect(put).toMatchObject({ SSECustomerAlgorithm: 'AES256', SSECustomerKeyMD5: sseC.SSECustomerKeyMD5 });
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(put.ETag).not.toBe(`"${md5('customer data')}"`);
  });

  it('serves the object to a GET or HEAD with the key, echoing the algorithm and the key MD5', async () => {
    const head = await admin.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'ssec.txt', ...sseC }));
    expect(head).toMatchObject({ SSECustomerAlgorithm: 'AES256', SSECustomerKeyMD5: sseC.SSECustomerKeyMD5 });
    expect(await read(admin, 'ssec.txt', sseC)).toBe('customer data');
  });

  it('answers 400 InvalidRequest without the key (HEAD: 400, no body) and 403 with another key', async () => {
    await expectS3Error(
      admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'ssec.txt' })),
      'InvalidRequest',
      400,
    );
    const head = await rawRequest(s3, {
      method: 'HEAD',
      path: `/${BUCKET}/ssec.txt`,
      credentials: s3.adminCredentials,
    });
    expect(head.status).toBe(400);
    expect(head.body.length).toBe(0);
    await expectS3Error(
      admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'ssec.txt', ...otherKey })),
      'AccessDenied',
      403,
    );
  });

  it('refuses a key whose MD5 header does not match it, and a key for an object stored without one', async () => {
    // Raw: the SDK computes the key MD5 itself.
    const r = await rawRequest(s3, {
      method: 'GET',
      path: `/${BUCKET}/ssec.txt`,
      credentials: s3.adminCredentials,
      headers: {
        'x-amz-server-side-encryption-customer-algorithm': 'AES256',
        'x-amz-server-side-encryption-customer-key': sseC.SSECustomerKey,
        'x-amz-server-side-encryption-customer-key-md5': otherKey.SSECustomerKeyMD5,
      },
    });
    expect(r.status).toBe(400);
    expect(r.text).toContain('<Code>InvalidArgument</Code>');
    await expectS3Error(
      admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'plain.txt', ...sseC })),
      'InvalidRequest',
      400,
    );
  });

  it('needs the key of an SSE-C copy source in the copy-source headers', async () => {
    const copy = (extra: object) =>
      admin.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: 'ssec-copy.txt',
          CopySource: `${BUCKET}/ssec.txt`,
          ...extra,
        }),
      );
    await expectS3Error(copy({}), 'InvalidRequest', 400);
    const copied = await copy({
      CopySourceSSECustomerAlgorithm: 'AES256',
      CopySourceSSECustomerKey: sseC.SSECustomerKey,
      CopySourceSSECustomerKeyMD5: sseC.SSECustomerKeyMD5,
    });
    expect(copied.CopyObjectResult?.ETag).toBe(`"${md5('customer data')}"`);
    expect(await read(admin, 'ssec-copy.txt')).toBe('customer data');
  });

  it('needs the key on every part of an SSE-C multipart upload', async () => {
    const Key = 'ssec-multipart.bin';
    const created = await admin.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key, ...sseC }));
    expect(created.SSECustomerKeyMD5).toBe(sseC.SSECustomerKeyMD5);
    await expectS3Error(
      admin.send(
        new UploadPartCommand({ Bucket: BUCKET, Key, UploadId: created.UploadId, PartNumber: 1, Body: 'x' }),
      ),
      'InvalidRequest',
      400,
    );
    const part = await admin.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key,
        UploadId: created.UploadId,
        PartNumber: 1,
        Body: 'part',
        ...sseC,
      }),
    );
    expect(part).toMatchObject({ SSECustomerAlgorithm: 'AES256', SSECustomerKeyMD5: sseC.SSECustomerKeyMD5 });
    expect(part.ETag).not.toBe(`"${md5('part')}"`);
    const done = await admin.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key,
        UploadId: created.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag, ChecksumCRC32: part.ChecksumCRC32 }] },
      }),
    );
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-1"$/);
    expect(await read(admin, Key, sseC)).toBe('part');
  });
});
