import { copyClientConfig, listingClientConfig, s3ConfigFromEnv } from '../../../shared/aws/s3-config';

describe('s3ConfigFromEnv', () => {
  it('uses path-style addressing with an endpoint override', () => {
    expect(
      s3ConfigFromEnv({ AWS_REGION: 'us-west-2', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4569' }),
    ).toEqual({ region: 'us-west-2', endpoint: 'http://127.0.0.1:4569', forcePathStyle: true });
    expect(s3ConfigFromEnv({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' })).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
    });
  });

  it('prefers AWS_ENDPOINT_URL_S3 to AWS_ENDPOINT_URL', () => {
    expect(
      s3ConfigFromEnv({ AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:2' }),
    ).toEqual({ endpoint: 'http://127.0.0.1:2', forcePathStyle: true });
  });

  it('reads AWS_DEFAULT_REGION when AWS_REGION is unset, in the Lambdas and the CLI alike', () => {
    expect(s3ConfigFromEnv({ AWS_DEFAULT_REGION: 'eu-west-1' })).toEqual({ region: 'eu-west-1' });
    expect(s3ConfigFromEnv({ AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'eu-west-1' })).toEqual({
      region: 'us-west-2',
    });
  });

  it('leaves the SDK defaults alone otherwise', () => {
    expect(s3ConfigFromEnv({})).toEqual({});
  });
});

describe('client policies', () => {
  it('gives copies more attempts than listings, and listings more than the SDK default of 3', () => {
    expect(copyClientConfig().maxAttempts).toBe(8);
    expect(listingClientConfig().maxAttempts).toBe(5);
  });
});

describe('expectBucketOwner', () => {
  it('sends x-amz-expected-bucket-owner on every request, unless the request names one itself', async () => {
    const { S3Client, HeadObjectCommand, PutObjectCommand } = await import('@aws-sdk/client-s3');
    const { expectBucketOwner } = await import('../../../shared/aws/s3-config');
    const seen: (string | undefined)[] = [];
    const client = new S3Client({
      region: 'us-west-2',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      requestHandler: {
        handle: async (request: { headers: Record<string, string> }) => {
          seen.push(request.headers['x-amz-expected-bucket-owner']);
          return { response: { statusCode: 200, headers: {}, body: undefined } };
        },
      } as never,
    });
    expectBucketOwner(client, '123456789012');
    await client.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }));
    await client.send(
      new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x', ExpectedBucketOwner: '210987654321' }),
    );
    expect(seen).toEqual(['123456789012', '210987654321']);
  });
});
