import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { ExecutionStatusChange } from '../../../functions/cleanup/cleanup';
import { EXECUTION_END_STATUSES } from '../../../shared/contracts';

const s3Mock = mockClient(S3Client);
const ssmMock = mockClient(SSMClient);
const STATE_MACHINE = 'arn:aws:states:us-west-2:123456789012:stateMachine:Transfer';
const saved = { ...process.env };

type HandlerModule = typeof import('../../../functions/cleanup/handler');
let mod: HandlerModule;

beforeAll(async () => {
  Object.assign(process.env, {
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    STAGING_BUCKET: 'staging-bucket',
    TOKEN_PARAMETER_PATH: '/s3-direct-transfer/',
    STATE_MACHINE_ARN: STATE_MACHINE,
  });
  mod = await import('../../../functions/cleanup/handler');
});
afterAll(() => {
  process.env = saved;
});
beforeEach(() => {
  s3Mock.reset();
  ssmMock.reset();
  s3Mock.on(DeleteObjectCommand).resolves({});
  ssmMock.on(DeleteParameterCommand).resolves({});
});

const ended = (status: string, name = 'run-42', stateMachineArn = STATE_MACHINE): ExecutionStatusChange => ({
  'detail-type': 'Step Functions Execution Status Change',
  detail: {
    executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${name}`,
    stateMachineArn,
    name,
    status,
  },
});

describe('the cleanup handler', () => {
  it.each(EXECUTION_END_STATUSES)(
    'deletes the staged token and the start parameter of an execution that ended %s',
    async (status) => {
      const result = await mod.handler(ended(status));
      expect(result).toEqual({ run: 'run-42', status, stagedToken: 'deleted', parameter: 'deleted' });
      expect(s3Mock.commandCalls(DeleteObjectCommand).map((c) => c.args[0].input)).toEqual([
        { Bucket: 'staging-bucket', Key: 'tokens/run-42' },
      ]);
      expect(ssmMock.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input)).toEqual([
        { Name: '/s3-direct-transfer/executions/run-42' },
      ]);
    },
  );

  it('is idempotent: a parameter that is gone already is fine', async () => {
    ssmMock.on(DeleteParameterCommand).rejects(new ParameterNotFound({ message: 'gone', $metadata: {} }));
    await expect(mod.handler(ended('SUCCEEDED'))).resolves.toMatchObject({ parameter: 'absent' });
  });

  it('fails (for EventBridge to retry) when a deletion fails otherwise', async () => {
    s3Mock.on(DeleteObjectCommand).rejects(Object.assign(new Error('slow down'), { name: 'SlowDown' }));
    await expect(mod.handler(ended('FAILED'))).rejects.toThrow('slow down');
  });

  it.each<[string, ExecutionStatusChange]>([
    ['a running execution', ended('RUNNING')],
    ['another state machine', ended('SUCCEEDED', 'run-42', `${STATE_MACHINE}-other`)],
    ['a name that is a path', ended('ABORTED', '../runs')],
    ['an event without detail', {}],
  ])('deletes nothing for %s', async (_what, event) => {
    await expect(mod.handler(event)).rejects.toThrow();
    expect(s3Mock.commandCalls(DeleteObjectCommand)).toHaveLength(0);
    expect(ssmMock.commandCalls(DeleteParameterCommand)).toHaveLength(0);
  });
});
