import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { runMain } from '../helpers/main';
import { STACK_NAME } from '../../shared/deployment';

// The real wiring of `start` and `watch` in main.ts, with the SDK clients mocked at the class level.
const sfnMock = mockClient(SFNClient);
const cfnMock = mockClient(CloudFormationClient);
const ssmMock = mockClient(SSMClient);

const SM_ARN = 'arn:aws:states:us-west-2:123456789012:stateMachine:Transfer';
const EXECUTION_ARN = 'arn:aws:states:us-west-2:123456789012:execution:Transfer:run-1';
const START = new Date('2025-06-01T12:00:00Z');
const RESULT = { Copied: 2, Skipped: 0, Failed: 0, Bytes: 10, Failures: [] };
const EVENT = {
  CredentialsEndpoint: 'https://archive.podaac.earthdata.nasa.gov/s3credentials',
  BearerToken: 'edl-token-abcdefghijklmnopqrstuvwxyz',
  Source: { Bucket: 'src-bucket', Key: 'a.nc' },
  Dest: { Bucket: 'my-bucket' },
};
const SUCCEEDED = {
  executionArn: EXECUTION_ARN,
  stateMachineArn: SM_ARN,
  status: 'SUCCEEDED' as const,
  startDate: START,
  stopDate: START,
  output: JSON.stringify(RESULT),
};
const eventPath = join(mkdtempSync(join(tmpdir(), 'cli-main-')), 'event.json');
writeFileSync(eventPath, JSON.stringify(EVENT));

const run = runMain;

const savedEnv = process.env.S3_DIRECT_TRANSFER_STATE_MACHINE;
beforeEach(() => {
  sfnMock.reset();
  cfnMock.reset();
  ssmMock.reset();
  ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
  delete process.env.S3_DIRECT_TRANSFER_STATE_MACHINE;
  sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: START });
  sfnMock.on(ListMapRunsCommand).resolves({ mapRuns: [] });
  sfnMock.on(DescribeExecutionCommand).resolves(SUCCEEDED);
});
afterAll(() => {
  if (savedEnv === undefined) delete process.env.S3_DIRECT_TRANSFER_STATE_MACHINE;
  else process.env.S3_DIRECT_TRANSFER_STATE_MACHINE = savedEnv;
});

describe('s3-direct-transfer start and watch', () => {
  it('start --json prints the execution on stdout', async () => {
    const { code, stdout } = await run('start', '--event', eventPath, '--state-machine', SM_ARN, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ executionArn: EXECUTION_ARN, startDate: START.toISOString() });
    expect(sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input.stateMachineArn).toBe(SM_ARN);
  });

  it('start --wait takes the state machine from the environment and prints the result', async () => {
    process.env.S3_DIRECT_TRANSFER_STATE_MACHINE = SM_ARN;
    // run-1 is not taken yet: the first DescribeExecution (of the name) finds nothing.
    sfnMock
      .on(DescribeExecutionCommand)
      .rejectsOnce(new ExecutionDoesNotExist({ message: 'no run-1', $metadata: {} }))
      .resolves(SUCCEEDED);
    const { code, stdout } = await run('start', '--event', eventPath, '--wait', '--name', 'run-1');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(RESULT);
    expect(sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input.name).toBe('run-1');
    expect(ssmMock.commandCalls(PutParameterCommand)[0].args[0].input.Name).toBe(
      '/s3-direct-transfer/executions/run-1',
    );
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('watch prints the result of an execution', async () => {
    const { code, stdout, stderr } = await run('watch', EXECUTION_ARN);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(RESULT);
    expect(stderr).toContain(`watching ${EXECUTION_ARN}`);
  });

  it.each([
    [
      '--state-machine with --stack',
      ['start', '--event', 'e.json', '--state-machine', SM_ARN, '--stack', 'S'],
    ],
    ['start without --event', ['start', '--state-machine', SM_ARN]],
    ['watch without an ARN', ['watch']],
    ['watch with a state machine ARN', ['watch', SM_ARN]],
  ])('exits 2 on %s, calling nothing', async (_what, args) => {
    const { code } = await run(...args);
    expect(code).toBe(2);
    expect(sfnMock.calls()).toHaveLength(0);
    expect(cfnMock.calls()).toHaveLength(0);
  });

  it.each([['start'], ['watch']])('%s --help shows examples and exit codes', async (command) => {
    const { code, stdout } = await run(command, '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Examples:');
    expect(stdout).toContain('Exit codes:');
    expect(stdout).toContain('130');
  });

  it('start --help names the default stack', async () => {
    const { stdout } = await run('start', '--help');
    expect(stdout).toContain(`the stack ${STACK_NAME}`);
    expect(stdout).toMatch(new RegExp(`\\(default:\\s+${STACK_NAME}\\)`));
  });
});
