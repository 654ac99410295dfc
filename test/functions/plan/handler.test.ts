import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context } from 'aws-lambda';
import type { PlanOutput } from '../../../shared/contracts';
import { clearRefreshingCredentialsCache } from '../../../shared/credentials';
import { clearSecrets } from '../../../shared/log';
import { unwrapPlanInput } from '../../../functions/plan/plan-input';

const s3Mock = mockClient(S3Client);
const TOKEN = 'handler-test-token-0123456789abcdef';

const event = {
  CredentialsEndpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
  BearerToken: TOKEN,
  Source: { Bucket: 'src-bucket', Key: 'a/granule.h5' },
  Dest: { Bucket: 'dst-bucket' },
};

const context = {
  awsRequestId: 'req-1234',
  functionName: 'Plan',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-west-2:123456789012:function:Plan',
  memoryLimitInMB: '1024',
  logGroupName: '/aws/lambda/Plan',
  logStreamName: 'stream',
  getRemainingTimeInMillis: () => 900_000,
} as unknown as Context;

type HandlerModule = typeof import('../../../functions/plan/handler');
let mod: HandlerModule;
const savedEnv = { ...process.env };

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  // As the stack sets it on the Lambda (read when the handler first publishes).
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'PlanHandlerTest';
  mod = await import('../../../functions/plan/handler');
});

afterAll(() => {
  process.env = savedEnv;
});

describe('unwrapPlanInput', () => {
  it('takes the execution name from the state machine wrapper', () => {
    expect(unwrapPlanInput({ Event: event, Execution: { Name: 'exec-42' } })).toEqual({
      event,
      executionName: 'exec-42',
    });
  });

  it('takes a raw event as it is', () => {
    expect(unwrapPlanInput(event)).toEqual({ event });
    expect(unwrapPlanInput('junk')).toEqual({ event: 'junk' });
  });

  it('accepts the wrapper without Execution, and ignores other Execution fields', () => {
    expect(unwrapPlanInput({ Event: event })).toEqual({ event });
    expect(unwrapPlanInput({ Event: event, Execution: { Name: 'n', Id: 'arn:x' } })).toEqual({
      event,
      executionName: 'n',
    });
  });

  it('rejects a malformed wrapper with InvalidInput', () => {
    expect(() => unwrapPlanInput({ Event: event, Extra: 1 })).toThrow(
      expect.objectContaining({ name: 'InvalidInput' }),
    );
    expect(() => unwrapPlanInput({ Event: event, Execution: { Name: 42 } })).toThrow(
      expect.objectContaining({ name: 'InvalidInput' }),
    );
    expect(() => unwrapPlanInput({ Event: event, Execution: 'x' })).toThrow(
      expect.objectContaining({ name: 'InvalidInput' }),
    );
  });
});

describe('handler', () => {
  let fetchSpy: jest.SpyInstance;
  let stdoutSpy: jest.SpyInstance;
  let stdout: string[];

  /** The EMF documents (CloudWatch metrics) the handler printed. */
  const emfDocuments = () =>
    stdout
      .join('')
      .split('\n')
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeEach(() => {
    stdout = [];
    stdoutSpy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
    s3Mock.reset();
    clearSecrets();
    clearRefreshingCredentialsCache();
    process.env.STAGING_BUCKET = 'staging-bucket';
    // This stack opted in to inline tokens, and stages them with its own key.
    process.env.ALLOW_INLINE_TOKENS = 'true';
    process.env.TOKEN_KMS_KEY_ID = 'arn:aws:kms:us-west-2:123456789012:key/tokens';
    fetchSpy = jest.spyOn(globalThis, 'fetch').mockImplementation(
      async () =>
        new Response(
          JSON.stringify({
            accessKeyId: 'ASIAHANDLER',
            secretAccessKey: 'handler-secret-0123456789',
            sessionToken: 'handler-session-0123456789',
            expiration: new Date(Date.now() + 3_600_000).toISOString(),
          }),
          { status: 200, headers: { 'content-type': 'application/json' } },
        ),
    );
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 42, ETag: '"e1"' });
    s3Mock.on(PutObjectCommand).resolves({});
  });

  afterEach(() => {
    fetchSpy.mockRestore();
    stdoutSpy.mockRestore();
  });

  const putKeys = (): string[] =>
    s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key as string);

  it('plans into runs/<execution name>/ in STAGING_BUCKET when given the wrapper', async () => {
    const out: PlanOutput = await mod.handler({ Event: event, Execution: { Name: 'exec-42' } }, context);
    expect(out.Manifest).toEqual({ Bucket: 'staging-bucket', Key: 'runs/exec-42/manifest.jsonl' });
    expect(out.Count).toBe(1);
    expect(out.Bytes).toBe(42);
    expect(out.BatchInput.RunId).toBe('exec-42');
    expect(out.BatchInput.Token).toEqual({
      Kind: 'staged',
      Bucket: 'staging-bucket',
      Key: 'tokens/exec-42',
      TokenKind: 'bearer',
    });
    expect(putKeys().sort()).toEqual(['runs/exec-42/manifest.jsonl', 'tokens/exec-42']);
    const tokenPut = s3Mock
      .commandCalls(PutObjectCommand)
      .find((c) => c.args[0].input.Key === 'tokens/exec-42')!;
    // Encrypted with the stack's token key, and never over another run's token.
    expect(tokenPut.args[0].input).toMatchObject({
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'arn:aws:kms:us-west-2:123456789012:key/tokens',
      IfNoneMatch: '*',
    });
    const manifestPut = s3Mock
      .commandCalls(PutObjectCommand)
      .find((c) => c.args[0].input.Key === 'runs/exec-42/manifest.jsonl')!;
    expect(manifestPut.args[0].input.Bucket).toBe('staging-bucket');
    expect(manifestPut.args[0].input.IfNoneMatch).toBe('*');
    expect(Buffer.from(manifestPut.args[0].input.Body as Uint8Array).toString()).toBe(
      '{"Key":"a/granule.h5","DestKey":"a/granule.h5","Size":42,"ETag":"e1"}\n',
    );
    expect(fetchSpy).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(out)).not.toContain(TOKEN);
  });

  it('publishes ObjectsPlanned and BytesPlanned for each plan, in the namespace the stack sets', async () => {
    await mod.handler({ Event: event, Execution: { Name: 'exec-metrics' } }, context);
    const [emf, ...rest] = emfDocuments();
    expect(rest).toEqual([]);
    expect(emf).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'PlanHandlerTest',
            Dimensions: [['service']],
            Metrics: [
              { Name: 'ObjectsPlanned', Unit: 'Count' },
              { Name: 'BytesPlanned', Unit: 'Bytes' },
            ],
          },
        ],
      },
      service: 'plan',
      ObjectsPlanned: 1,
      BytesPlanned: 42,
    });
    // The EMF line carries counts only.
    expect(stdout.join('')).not.toContain(TOKEN);
  });

  it('publishes no metrics for a rejected event', async () => {
    await expect(mod.handler({ Event: { ...event, Source: {} } }, context)).rejects.toThrow(
      expect.objectContaining({ name: 'InvalidInput' }),
    );
    expect(emfDocuments()).toEqual([]);
  });

  it('uses the request id as the run id for a raw event', async () => {
    const out = await mod.handler(event, context);
    expect(out.Staging).toEqual({ Bucket: 'staging-bucket', Prefix: 'runs/req-1234/' });
  });

  it('fails without STAGING_BUCKET', async () => {
    delete process.env.STAGING_BUCKET;
    await expect(mod.handler(event, context)).rejects.toThrow('STAGING_BUCKET');
  });

  it('refuses an inline token unless the stack opted in, before fetching credentials or writing', async () => {
    delete process.env.ALLOW_INLINE_TOKENS;
    await expect(
      mod.handler({ Event: event, Execution: { Name: 'exec-43' } }, context),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining('BearerTokenParameter'),
    });
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(putKeys()).toEqual([]);
  });

  it('refuses a credentials endpoint outside the allowlist, and loopback, in the Lambda', async () => {
    for (const endpoint of ['https://attacker.example/s3credentials', 'http://127.0.0.1:9001/x']) {
      await expect(
        mod.handler(
          { Event: { ...event, CredentialsEndpoint: endpoint }, Execution: { Name: 'e' } },
          context,
        ),
      ).rejects.toMatchObject({
        name: 'InvalidInput',
        message: expect.stringContaining('CredentialsEndpoint'),
      });
    }
    process.env.CREDENTIALS_ENDPOINTS = 'https://tea.internal.example.org/s3credentials';
    try {
      const out = await mod.handler(
        {
          Event: { ...event, CredentialsEndpoint: 'https://tea.internal.example.org/s3credentials' },
          Execution: { Name: 'e2' },
        },
        context,
      );
      expect(out.Count).toBe(1);
    } finally {
      delete process.env.CREDENTIALS_ENDPOINTS;
    }
    expect(fetchSpy).toHaveBeenCalledTimes(1);
  });
});
