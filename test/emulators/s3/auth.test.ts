/**
 * Embedded S3 gateway: SigV4 verification, session tokens and expiry, and the access policies of the
 * three kinds of credentials. Real HTTP, real @aws-sdk/client-s3 clients.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { EmbeddedS3 } from '../../../emulators/s3/server';
import {
  chunkSignature,
  trailerSignature,
  signingKey,
  verifySignature,
  parseAuth,
  parseQuery,
} from '../../../emulators/s3/sigv4';
import { expectS3Error, rawRequest, sha256 } from '../../helpers/embedded-s3';

const SRC = 'source-archive';
const DST = 'my-destination';
const DST2 = 'other-destination';

let s3: EmbeddedS3;
let admin: S3Client;

beforeAll(async () => {
  s3 = await EmbeddedS3.start({ sourceBuckets: [SRC], destinationBuckets: [DST, DST2] });
  admin = s3.client('admin');
  await admin.send(new PutObjectCommand({ Bucket: SRC, Key: 'granule.h5', Body: 'source bytes' }));
  await admin.send(new PutObjectCommand({ Bucket: DST, Key: 'existing.txt', Body: 'dest bytes' }));
});

afterAll(async () => {
  await s3.stop();
});

describe('SigV4 verification', () => {
  it('accepts correctly signed requests from the SDK', async () => {
    const out = await admin.send(new GetObjectCommand({ Bucket: SRC, Key: 'granule.h5' }));
    expect(await out.Body?.transformToString()).toBe('source bytes');
  });

  it('rejects a wrong secret with 403 SignatureDoesNotMatch', async () => {
    const bad = s3.client({
      accessKeyId: s3.adminCredentials.accessKeyId,
      secretAccessKey: 'not-the-secret',
    });
    await expectS3Error(
      bad.send(new GetObjectCommand({ Bucket: SRC, Key: 'granule.h5' })),
      'SignatureDoesNotMatch',
      403,
    );
    await expectS3Error(
      bad.send(new PutObjectCommand({ Bucket: DST, Key: 'x', Body: 'y' })),
      'SignatureDoesNotMatch',
      403,
    );
    bad.destroy();
  });

  it('rejects large uploads before or while their body is sent, and the connection stays usable', async () => {
    const before = s3.counters.bytesReceived;
    const reader = s3.client(s3.issue(60, 'reader'));
    // a known length of 3 MiB: the SDK sends Expect: 100-continue and the body is never sent
    await expectS3Error(
      reader.send(new PutObjectCommand({ Bucket: SRC, Key: 'big', Body: Buffer.alloc(3 * 1024 * 1024) })),
      'AccessDenied',
      403,
    );
    const bad = s3.client({ accessKeyId: s3.adminCredentials.accessKeyId, secretAccessKey: 'wrong' });
    await expectS3Error(
      bad.send(new PutObjectCommand({ Bucket: DST, Key: 'big', Body: Buffer.alloc(3 * 1024 * 1024) })),
      'SignatureDoesNotMatch',
      403,
    );
    // a stream (aws-chunked, no 100-continue): answered early, the rest of the body is drained
    await expectS3Error(
      reader.send(
        new PutObjectCommand({
          Bucket: SRC,
          Key: 'big',
          Body: Readable.from([Buffer.alloc(2 * 1024 * 1024), Buffer.alloc(1024 * 1024)]),
          ContentLength: 3 * 1024 * 1024,
        }),
      ),
      'AccessDenied',
      403,
    );
    expect(s3.counters.bytesReceived).toBe(before);
    expect(
      await (
        await reader.send(new GetObjectCommand({ Bucket: SRC, Key: 'granule.h5' }))
      ).Body?.transformToString(),
    ).toBe('source bytes');
    await expectS3Error(admin.send(new HeadObjectCommand({ Bucket: SRC, Key: 'big' })), 'NotFound', 404);
    reader.destroy();
    bad.destroy();
  });

  it('rejects an unknown access key with 403 InvalidAccessKeyId', async () => {
    const unknown = s3.client({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'whatever' });
    await expectS3Error(unknown.send(new ListObjectsV2Command({ Bucket: SRC })), 'InvalidAccessKeyId', 403);
    unknown.destroy();
  });

  it('rejects anonymous requests with AccessDenied XML', async () => {
    const r = await rawRequest(s3, { method: 'GET', path: `/${SRC}/granule.h5`, credentials: null });
    expect(r.status).toBe(403);
    expect(r.text).toMatch(
      /<Error><Code>AccessDenied<\/Code><Message>Access Denied<\/Message>.*<RequestId>[0-9A-F]+<\/RequestId>/,
    );
    expect(r.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);
  });

  it('rejects a signature scoped to another region', async () => {
    const r = await rawRequest(s3, {
      method: 'GET',
      path: `/${SRC}/granule.h5`,
      credentials: s3.adminCredentials,
      region: 'eu-west-1',
    });
    expect(r.status).toBe(400);
    expect(r.text).toContain('<Code>AuthorizationHeaderMalformed</Code>');
    expect(r.text).toContain(`expecting '${s3.region}'`);
  });

  it('rejects x-amz-* headers added after signing, and tampered requests', async () => {
    const unsigned = await rawRequest(s3, {
      method: 'GET',
      path: `/${SRC}/granule.h5`,
      credentials: s3.adminCredentials,
      afterSign: (h) => (h['x-amz-meta-late'] = '1'),
    });
    expect(unsigned.status).toBe(403);
    expect(unsigned.text).toContain('headers present in the request which were not signed');

    const tampered = await rawRequest(s3, {
      method: 'GET',
      path: `/${SRC}/granule.h5`,
      credentials: s3.adminCredentials,
      afterSign: (h) => (h.range = 'bytes=0-1'),
    });
    expect(tampered.status).toBe(206); // range was not signed: allowed, as in S3

    const ok = await rawRequest(s3, {
      method: 'GET',
      path: `/${SRC}/granule.h5`,
      credentials: s3.adminCredentials,
      headers: { range: 'bytes=0-1' },
      afterSign: (h) => (h.range = 'bytes=0-3'),
    });
    expect(ok.status).toBe(403);
    expect(ok.text).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  it('verifies x-amz-content-sha256 against the body', async () => {
    const r = await rawRequest(s3, {
      method: 'PUT',
      path: `/${DST}/hashed.txt`,
      credentials: s3.adminCredentials,
      body: 'actual body',
      payloadHash: sha256(Buffer.from('another body')),
    });
    expect(r.status).toBe(400);
    expect(r.text).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
    await expectS3Error(
      admin.send(new HeadObjectCommand({ Bucket: DST, Key: 'hashed.txt' })),
      'NotFound',
      404,
    );
  });

  it('accepts presigned URLs, and refuses tampered or expired ones', async () => {
    const ok = await rawRequest(s3, {
      method: 'GET',
      path: `/${SRC}/granule.h5`,
      credentials: s3.adminCredentials,
      presignExpiresIn: 60,
    });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('source bytes');

    const withParam = await rawRequest(s3, {
      method: 'GET',
      path: `/${SRC}/granule.h5`,
      credentials: s3.adminCredentials,
      presignExpiresIn: 60,
      query: { 'response-content-type': 'text/plain' },
    });
    expect(withParam.status).toBe(200);
    expect(withParam.headers['content-type']).toBe('text/plain');

    const tampered = await rawRequest(s3, {
      method: 'GET',
      path: `/${SRC}/granule.h5`,
      credentials: s3.adminCredentials,
      presignExpiresIn: 60,
      afterSign: (_h, q) => (q['response-content-type'] = 'text/evil'),
    });
    expect(tampered.status).toBe(403);
    expect(tampered.text).toContain('<Code>SignatureDoesNotMatch</Code>');

    const expired = await rawRequest(s3, {
      method: 'GET',
      path: `/${SRC}/granule.h5`,
      credentials: s3.adminCredentials,
      presignExpiresIn: 1,
      signingDate: new Date(Date.now() - 10_000),
    });
    expect(expired.status).toBe(403);
    expect(expired.text).toContain('Request has expired');
  });

  it('verifies keys with unicode, spaces, +, %, //, trailing /, and 1024 bytes; and lists them exactly', async () => {
    const keys = [
      'ünïcødé/日本語/😀.h5',
      'with space/and  two',
      'plus+sign+',
      'percent%41%2F%zz',
      'double//slash',
      '//leading',
      'trailing/',
      "special !'()*~@$&=;:,?#[]",
      'dots/./and/../segments/.',
      'a'.repeat(1024),
      'p/' + 'é'.repeat(300) + '/x',
    ];
    const client = s3.client('destination');
    for (const [i, key] of keys.entries()) {
      await client.send(new PutObjectCommand({ Bucket: DST2, Key: key, Body: `body ${i}` }));
      const got = await client.send(new GetObjectCommand({ Bucket: DST2, Key: key }));
      expect(await got.Body?.transformToString()).toBe(`body ${i}`);
      const head = await client.send(new HeadObjectCommand({ Bucket: DST2, Key: key }));
      expect(head.ContentLength).toBe(`body ${i}`.length);
    }
    const listed = await client.send(new ListObjectsV2Command({ Bucket: DST2 }));
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(listed.Contents?.map((c) => c.Key)).toEqual(sorted);
    // 'double//slash' and 'double/slash' are different objects
    await expectS3Error(
      client.send(new GetObjectCommand({ Bucket: DST2, Key: 'double/slash' })),
      'NoSuchKey',
      404,
    );
    await expectS3Error(
      client.send(new PutObjectCommand({ Bucket: DST2, Key: 'b'.repeat(1025), Body: 'x' })),
      'KeyTooLongError',
      400,
    );
    for (const key of keys) await client.send(new DeleteObjectCommand({ Bucket: DST2, Key: key }));
    const after = await client.send(new ListObjectsV2Command({ Bucket: DST2 }));
    expect(after.KeyCount).toBe(0);
    client.destroy();
  });
});

describe('issued session credentials', () => {
  it('read the source buckets until they expire, then get 400 ExpiredToken', async () => {
    const creds = s3.issue(2, 'reader@app');
    expect(creds.accessKeyId).toMatch(/^ASIA/);
    expect(creds.expiration.getTime()).toBeGreaterThan(Date.now());
    const client = s3.client(creds);
    const list = await client.send(new ListObjectsV2Command({ Bucket: SRC }));
    expect(list.Contents?.map((c) => c.Key)).toContain('granule.h5');
    await client.send(new HeadBucketCommand({ Bucket: SRC }));
    await client.send(new HeadObjectCommand({ Bucket: SRC, Key: 'granule.h5' }));

    await new Promise((r) => setTimeout(r, creds.expiration.getTime() - Date.now() + 50));
    const err = await expectS3Error(
      client.send(new GetObjectCommand({ Bucket: SRC, Key: 'granule.h5' })),
      'ExpiredToken',
      400,
    );
    expect(err.message).toBe('The provided token has expired.');

    const raw = await rawRequest(s3, { method: 'GET', path: `/${SRC}/granule.h5`, credentials: creds });
    expect(raw.status).toBe(400);
    expect(raw.headers['content-type']).toBe('application/xml');
    expect(raw.text).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>ExpiredToken<\/Code><Message>The provided token has expired.<\/Message>.*<RequestId>[0-9A-F]+<\/RequestId><HostId>.+<\/HostId><\/Error>$/,
    );
    client.destroy();
  });

  it('work through a refreshing credentials provider across expiries', async () => {
    let calls = 0;
    const client = s3.client(async () => {
      calls++;
      return s3.issue(0.5, `refresh-${calls}`);
    });
    for (let i = 0; i < 3; i++) {
      const out = await client.send(new GetObjectCommand({ Bucket: SRC, Key: 'granule.h5' }));
      expect(await out.Body?.transformToString()).toBe('source bytes');
      await new Promise((r) => setTimeout(r, 600));
    }
    expect(calls).toBeGreaterThanOrEqual(3);
    client.destroy();
  });

  it('answer an unknown or mismatched session token with 400 InvalidToken', async () => {
    const creds = s3.issue(60, 'reader');
    const other = s3.issue(60, 'other');
    const wrongToken = s3.client({ ...creds, sessionToken: 'not-a-token' });
    await expectS3Error(
      wrongToken.send(new GetObjectCommand({ Bucket: SRC, Key: 'granule.h5' })),
      'InvalidToken',
      400,
    );
    const mixed = s3.client({ ...creds, sessionToken: other.sessionToken });
    await expectS3Error(
      mixed.send(new GetObjectCommand({ Bucket: SRC, Key: 'granule.h5' })),
      'InvalidToken',
      400,
    );
    const noToken = s3.client({ accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey });
    await expectS3Error(
      noToken.send(new GetObjectCommand({ Bucket: SRC, Key: 'granule.h5' })),
      'InvalidAccessKeyId',
      403,
    );
    const wrongSecret = s3.client({ ...creds, secretAccessKey: 'wrong' });
    await expectS3Error(
      wrongSecret.send(new GetObjectCommand({ Bucket: SRC, Key: 'granule.h5' })),
      'SignatureDoesNotMatch',
      403,
    );
    for (const c of [wrongToken, mixed, noToken, wrongSecret]) c.destroy();
  });

  it('are read-only and limited to the source buckets', async () => {
    const client = s3.client(s3.issue(60, 'reader'));
    await expectS3Error(
      client.send(new PutObjectCommand({ Bucket: SRC, Key: 'new', Body: 'x' })),
      'AccessDenied',
      403,
    );
    await expectS3Error(
      client.send(new PutObjectCommand({ Bucket: DST, Key: 'new', Body: 'x' })),
      'AccessDenied',
      403,
    );
    await expectS3Error(
      client.send(new GetObjectCommand({ Bucket: DST, Key: 'existing.txt' })),
      'AccessDenied',
      403,
    );
    await expectS3Error(client.send(new ListObjectsV2Command({ Bucket: DST })), 'AccessDenied', 403);
    await expectS3Error(
      client.send(new DeleteObjectCommand({ Bucket: SRC, Key: 'granule.h5' })),
      'AccessDenied',
      403,
    );
    await expectS3Error(
      client.send(new CreateMultipartUploadCommand({ Bucket: SRC, Key: 'mpu' })),
      'AccessDenied',
      403,
    );
    await expectS3Error(client.send(new ListBucketsCommand({})), 'AccessDenied', 403);
    await expectS3Error(
      client.send(new CopyObjectCommand({ Bucket: DST, Key: 'copy', CopySource: `${SRC}/granule.h5` })),
      'AccessDenied',
      403,
    );
    // nothing was written
    const head = await admin.send(new HeadObjectCommand({ Bucket: SRC, Key: 'granule.h5' }));
    expect(head.ContentLength).toBe('source bytes'.length);
    client.destroy();
  });

  it('can be answered Ceph-style (403 AccessDenied) when expired', async () => {
    const ceph = await EmbeddedS3.start({
      sourceBuckets: [SRC],
      destinationBuckets: [DST],
      expiredTokenStyle: 'ceph',
    });
    try {
      await ceph.seedObject(SRC, 'k', 'v');
      const creds = ceph.issue(0.3, 'ceph-reader');
      const client = ceph.client(creds);
      expect(
        await (await client.send(new GetObjectCommand({ Bucket: SRC, Key: 'k' }))).Body?.transformToString(),
      ).toBe('v');
      await new Promise((r) => setTimeout(r, 400));
      await expectS3Error(client.send(new GetObjectCommand({ Bucket: SRC, Key: 'k' })), 'AccessDenied', 403);
    } finally {
      await ceph.stop();
    }
  });
});

describe('destination key pair', () => {
  it('writes, reads and lists destination buckets but has no access to source buckets', async () => {
    const client = s3.client('destination');
    await client.send(new PutObjectCommand({ Bucket: DST, Key: 'copied.h5', Body: 'copy' }));
    expect(
      await (
        await client.send(new GetObjectCommand({ Bucket: DST, Key: 'copied.h5' }))
      ).Body?.transformToString(),
    ).toBe('copy');
    await client.send(new ListObjectsV2Command({ Bucket: DST }));
    await expectS3Error(
      client.send(new GetObjectCommand({ Bucket: SRC, Key: 'granule.h5' })),
      'AccessDenied',
      403,
    );
    // HEAD errors have no body: the SDK only sees the status
    const head = await client
      .send(new HeadObjectCommand({ Bucket: SRC, Key: 'granule.h5' }))
      .catch((e: S3ServiceException) => e);
    expect((head as S3ServiceException).$metadata.httpStatusCode).toBe(403);
    await expectS3Error(client.send(new ListObjectsV2Command({ Bucket: SRC })), 'AccessDenied', 403);
    await expectS3Error(
      client.send(
        new CopyObjectCommand({ Bucket: DST, Key: 'server-side', CopySource: `${SRC}/granule.h5` }),
      ),
      'AccessDenied',
      403,
    );
    // dest → dest server-side copy is allowed
    await client.send(
      new CopyObjectCommand({ Bucket: DST2, Key: 'copied-again.h5', CopySource: `${DST}/copied.h5` }),
    );
    await client.send(new DeleteObjectCommand({ Bucket: DST2, Key: 'copied-again.h5' }));
    client.destroy();
  });

  it('can be denied a destination bucket', async () => {
    const client = s3.client('destination');
    s3.denyDestination(DST2);
    try {
      await expectS3Error(
        client.send(new PutObjectCommand({ Bucket: DST2, Key: 'denied', Body: 'x' })),
        'AccessDenied',
        403,
      );
      await client.send(new PutObjectCommand({ Bucket: DST, Key: 'allowed', Body: 'x' }));
    } finally {
      s3.allowDestination(DST2);
    }
    await client.send(new PutObjectCommand({ Bucket: DST2, Key: 'allowed-again', Body: 'x' }));
    await client.send(new DeleteObjectCommand({ Bucket: DST2, Key: 'allowed-again' }));
    client.destroy();
  });

  it('is denied by the deniedDestinationBuckets option', async () => {
    const other = await EmbeddedS3.start({
      sourceBuckets: [SRC],
      destinationBuckets: [DST],
      deniedDestinationBuckets: [DST],
    });
    try {
      const client = other.client('destination');
      await expectS3Error(
        client.send(new PutObjectCommand({ Bucket: DST, Key: 'k', Body: 'x' })),
        'AccessDenied',
        403,
      );
    } finally {
      await other.stop();
    }
  });
});

describe('signature primitives (AWS documentation vectors)', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const key = signingKey(secret, '20130524', 'us-east-1', 's3');
  const scope = '20130524/us-east-1/s3/aws4_request';
  const amzDate = '20130524T000000Z';
  const hashOf = (n: number) => createHash('sha256').update(Buffer.alloc(n, 'a')).digest('hex');

  it('recomputes the seed signature of the chunked upload example', () => {
    const headers: Record<string, string> = {
      'content-encoding': 'aws-chunked',
      'content-length': '66824',
      host: 's3.amazonaws.com',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'x-amz-date': amzDate,
      'x-amz-decoded-content-length': '66560',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,' +
        'SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,' +
        'Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
    };
    const auth = parseAuth(headers, new Map());
    expect(auth).toBeDefined();
    const v = verifySignature(
      {
        method: 'PUT',
        rawPath: '/examplebucket/chunkObject.txt',
        queryPairs: parseQuery(''),
        rawHeaders: Object.entries(headers).flat(),
      },
      auth!,
      secret,
    );
    expect(v.ok).toBe(true);
    const wrong = verifySignature(
      {
        method: 'PUT',
        rawPath: '/examplebucket/chunkObject.txt',
        queryPairs: parseQuery(''),
        rawHeaders: Object.entries(headers).flat(),
      },
      auth!,
      secret + 'x',
    );
    expect(wrong.ok).toBe(false);
  });

  it('computes the chunk signatures of the example', () => {
    const s1 = chunkSignature(
      key,
      amzDate,
      scope,
      '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
      hashOf(65536),
    );
    expect(s1).toBe('ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648');
    const s2 = chunkSignature(key, amzDate, scope, s1, hashOf(1024));
    expect(s2).toBe('0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497');
    const s3sig = chunkSignature(key, amzDate, scope, s2, hashOf(0));
    expect(s3sig).toBe('b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9');
  });

  it('computes the trailer signature of the trailing-headers example', () => {
    const s1 = chunkSignature(
      key,
      amzDate,
      scope,
      '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
      hashOf(65536),
    );
    expect(s1).toBe('b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2');
    const s2 = chunkSignature(key, amzDate, scope, s1, hashOf(1024));
    const s3sig = chunkSignature(key, amzDate, scope, s2, hashOf(0));
    expect(s3sig).toBe('2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992');
    expect(trailerSignature(key, amzDate, scope, s3sig, [['x-amz-checksum-crc32c', 'sOO8/Q==']])).toBe(
      'd81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435',
    );
  });
});
