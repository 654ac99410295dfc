/**
 * The CopyBatch Lambda handler as Lambda runs it (clients and policy from the environment), against the
 * embedded S3: copies a batch and publishes its metrics as CloudWatch EMF. A deployed Lambda refuses
 * loopback credentials endpoints, so the endpoint has an archive's name and `fetch` answers for it
 * with credentials the embedded S3 issued.
 */
import type { Context } from 'aws-lambda';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CopyBatchInput, CopyBatchOutput } from '../../../shared/contracts';
import { stagedTokenKey } from '../../../shared/run-files';
import { EmbeddedWorld } from '../../../emulators/world';

let world: EmbeddedWorld;
let admin: S3Client;
const saved = { ...process.env };

beforeAll(async () => {
  world = await EmbeddedWorld.start({
    sourceBuckets: ['src-bucket'],
    destinationBuckets: ['dst-bucket', 'staging-bucket'],
  });
  admin = world.s3.client('admin');
  for (const [key, size] of [
    ['a.h5', 1000],
    ['b.h5', 2000],
    ['c.h5', 0],
  ] as const) {
    await admin.send(new PutObjectCommand({ Bucket: 'src-bucket', Key: key, Body: Buffer.alloc(size, 7) }));
  }
  Object.assign(process.env, world.processEnv(), {
    DESTINATION_BUCKETS: 'dst-bucket',
    STAGING_BUCKET: 'staging-bucket',
    POWERTOOLS_METRICS_NAMESPACE: 'S3DirectTransfer',
    POWERTOOLS_SERVICE_NAME: 'copy',
  });
});

afterAll(async () => {
  process.env = saved;
  admin?.destroy();
  await world?.stop();
});

it('copies the batch and publishes ObjectsCopied, BytesCopied and CredentialRefreshes', async () => {
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  await admin.send(
    new PutObjectCommand({
      Bucket: 'staging-bucket',
      Key: stagedTokenKey('handler-test'),
      Body: world.token,
    }),
  );
  const issued = world.s3.issue(3600, 'handler-test');
  const fetchSpy = jest.spyOn(globalThis, 'fetch').mockImplementation(
    async () =>
      new Response(JSON.stringify({ ...issued, expiration: issued.expiration.toISOString() }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      }),
  );
  let output: CopyBatchOutput;
  try {
    const { handler } = await import('../../../functions/copy-batch/handler');
    const input: CopyBatchInput = {
      Items: ['a.h5', 'b.h5', 'c.h5'].map((Key) => ({ Key, DestKey: `copy/${Key}` })),
      BatchInput: {
        CredentialsEndpoint: 'https://data.test.earthdatacloud.nasa.gov/s3credentials',
        Token: {
          Kind: 'staged',
          Bucket: 'staging-bucket',
          Key: stagedTokenKey('handler-test'),
          TokenKind: 'bearer',
        },
        SourceBucket: 'src-bucket',
        DestBucket: 'dst-bucket',
        Sync: false,
        RunId: 'handler-test',
      },
    };
    const context = { getRemainingTimeInMillis: () => 900_000, awsRequestId: 'r-1' } as unknown as Context;
    output = (await handler(input, context)) as CopyBatchOutput;
  } finally {
    spy.mockRestore();
  }
  const fetches = fetchSpy.mock.calls.slice();
  fetchSpy.mockRestore();
  // The token read from staging went to the endpoint, once.
  expect(fetches).toHaveLength(1);
  expect(JSON.stringify(fetches[0][1]?.headers)).toContain(world.token);
  expect(output.Results.map((r) => r.Status)).toEqual(['COPIED', 'COPIED', 'COPIED']);
  const emf = written
    .flatMap((w) => w.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(emf).toHaveLength(1);
  expect(emf[0]).toMatchObject({
    ObjectsCopied: 3,
    BytesCopied: 3000,
    ObjectsFailed: 0,
    CredentialRefreshes: 0,
  });
  expect(JSON.stringify(emf[0])).not.toContain(world.token);
});
