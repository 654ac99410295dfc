import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CloudFormationClient,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  type DescribeExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { TransferResult } from '../../shared/contracts';
import { STACK_NAME, STATE_MACHINE_ARN_OUTPUT } from '../../shared/deployment';
import { startExecution, type StartDeps, type StartOptions } from '../../cli/start';
import { STATE_MACHINE_ENV } from '../../cli/state-machine-lookup';

const sfnMock = mockClient(SFNClient);
const cfnMock = mockClient(CloudFormationClient);
const ssmMock = mockClient(SSMClient);

const SM_ARN = 'arn:aws:states:us-west-2:123456789012:stateMachine:Transfer';
const ENV_SM_ARN = 'arn:aws:states:us-west-2:123456789012:stateMachine:FromEnv';
const STACK_SM_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:FromStack';
const EXECUTION_ARN = 'arn:aws:states:us-west-2:123456789012:execution:Transfer:run-1';
const START = new Date('2025-06-01T12:00:00Z');
const TOKEN = 'edl-token-abcdefghijklmnopqrstuvwxyz-0123456789';

const EVENT = {
  CredentialsEndpoint: 'https://archive.podaac.earthdata.nasa.gov/s3credentials',
  BearerToken: TOKEN,
  Source: { Bucket: 'podaac-ops-cumulus-protected', Key: 'MUR/granule.nc' },
  Dest: { Bucket: 'my-bucket' },
};
const RESULT: TransferResult = { Copied: 1, Skipped: 0, Failed: 0, Bytes: 1234, Failures: [] };

const dir = mkdtempSync(join(tmpdir(), 'cli-start-'));
function eventFile(content: unknown, name = 'event.json'): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function sink(): { text: string; isTTY: boolean; write(text: string): boolean } {
  return {
    text: '',
    isTTY: false,
    write(text: string) {
      this.text += text;
      return true;
    },
  };
}

function setup(overrides: Partial<StartDeps> = {}) {
  const stdout = sink();
  const stderr = sink();
  const sleeps: number[] = [];
  let now = START.getTime();
  const regions: string[] = [];
  const deps: StartDeps = {
    sfnClient: (region) => {
      regions.push(region);
      return new SFNClient({ region });
    },
    cloudFormationClient: (region) => new CloudFormationClient({ region: region ?? 'eu-west-1' }),
    ssmClient: (region) => new SSMClient({ region }),
    env: {},
    stdout,
    stderr,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    now: () => now,
    ...overrides,
  };
  return { deps, stdout, stderr, sleeps, regions };
}

function options(extra: Partial<StartOptions> = {}): StartOptions {
  return { event: eventFile(EVENT), stateMachine: SM_ARN, ...extra };
}

/** What `start` makes of EVENT for an execution named `name`: the token moved into a parameter. */
const startedInput = (name: string): Record<string, unknown> => {
  const { BearerToken: _token, ...rest } = EVENT;
  return { ...rest, BearerTokenParameter: `/s3-direct-transfer/executions/${name}` };
};

const succeeded: DescribeExecutionCommandOutput = {
  $metadata: {},
  executionArn: EXECUTION_ARN,
  stateMachineArn: SM_ARN,
  status: 'SUCCEEDED',
  startDate: START,
  stopDate: new Date(START.getTime() + 30_000),
  input: JSON.stringify(startedInput('run-1')),
  output: JSON.stringify(RESULT),
};

function awsError(name: string, message = `${name} (test)`, status = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

beforeEach(() => {
  sfnMock.reset();
  cfnMock.reset();
  ssmMock.reset();
  ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
  ssmMock.on(DeleteParameterCommand).resolves({});
  sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: START });
  sfnMock.on(ListMapRunsCommand).resolves({ mapRuns: [] });
});

describe('startExecution', () => {
  it('starts the event with its token moved into an SSM SecureString, and prints the execution', async () => {
    const { deps, stdout, stderr, regions } = setup();

    expect(await startExecution(options(), deps)).toBe(0);

    const calls = sfnMock.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    const { stateMachineArn, input, name } = calls[0].args[0].input;
    expect(stateMachineArn).toBe(SM_ARN);
    // No token in the execution's input: it names the parameter that holds the token.
    expect(input).not.toContain(TOKEN);
    const { BearerToken: _token, ...rest } = EVENT;
    expect(JSON.parse(input!)).toEqual({
      ...rest,
      BearerTokenParameter: `/s3-direct-transfer/executions/${name}`,
    });
    expect(ssmMock.commandCalls(PutParameterCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({
        Name: `/s3-direct-transfer/executions/${name}`,
        Value: TOKEN,
        Type: 'SecureString',
      }),
    ]);
    expect(ssmMock.commandCalls(DeleteParameterCommand)).toHaveLength(0);
    expect(regions).toEqual(['us-west-2']);
    expect(stdout.text).toBe('');
    expect(stderr.text).toContain(`started ${EXECUTION_ARN}\n`);
    expect(stderr.text).toContain(
      `console: https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${EXECUTION_ARN}\n`,
    );
    expect(stderr.text).toContain(`s3-direct-transfer watch ${EXECUTION_ARN}`);
    expect(stderr.text).not.toContain(TOKEN);
  });

  it('prints { executionArn, startDate } on stdout with --json', async () => {
    const { deps, stdout } = setup();

    expect(await startExecution(options({ json: true }), deps)).toBe(0);
    expect(JSON.parse(stdout.text)).toEqual({ executionArn: EXECUTION_ARN, startDate: START.toISOString() });
  });

  it('with --wait, follows the execution and prints the result JSON on stdout (exit 0)', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves(succeeded);
    const { deps, stdout, stderr } = setup();

    expect(await startExecution(options({ wait: true, json: true }), deps)).toBe(0);
    expect(JSON.parse(stdout.text)).toEqual(RESULT);
    expect(stderr.text).toContain('succeeded after 30s: 1 copied');
  });

  it('with --wait, exits 1 with the cause on stderr when the execution fails', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves({
      ...succeeded,
      status: 'FAILED',
      output: undefined,
      error: 'States.Runtime',
      cause: 'An error occurred while executing the state Summarize',
    });
    const { deps, stdout, stderr } = setup();

    expect(await startExecution(options({ wait: true }), deps)).toBe(1);
    expect(stdout.text).toBe('');
    expect(stderr.text).toContain('States.Runtime: An error occurred while executing the state Summarize\n');
  });

  it.each(['InvalidInput', 'AuthenticationFailed'])(
    'with --wait, exits 2 when the execution fails with %s',
    async (error) => {
      sfnMock.on(DescribeExecutionCommand).resolves({
        ...succeeded,
        status: 'FAILED',
        output: undefined,
        error,
        cause: 'the EDL token was rejected',
      });
      const { deps, stderr } = setup();

      expect(await startExecution(options({ wait: true }), deps)).toBe(2);
      expect(stderr.text).toContain(`${error}: the EDL token was rejected\n`);
    },
  );

  describe('an invalid event', () => {
    it.each([
      ['fails validation', { ...EVENT, Source: { Bucket: 'src' } }, /^InvalidInput: invalid event: Source/],
      ['is not JSON', `{"BearerToken": "${TOKEN}",`, /^InvalidInput: the event file .* is not valid JSON/],
    ])(
      'exits 2 without starting anything when it %s, never echoing the token',
      async (_what, content, message) => {
        const { deps, stdout, stderr } = setup({ env: { [STATE_MACHINE_ENV]: ENV_SM_ARN } });

        expect(await startExecution(options({ event: eventFile(content, 'bad.json') }), deps)).toBe(2);
        expect(stderr.text).toMatch(message);
        expect(stderr.text).not.toContain(TOKEN);
        expect(stdout.text).toBe('');
        expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
        expect(cfnMock.calls()).toHaveLength(0);
      },
    );

    it('exits 2 when the file cannot be read', async () => {
      const { deps, stderr } = setup();

      expect(await startExecution(options({ event: join(dir, 'missing.json') }), deps)).toBe(2);
      expect(stderr.text).toMatch(/^InvalidInput: cannot read the event file/);
      expect(sfnMock.calls()).toHaveLength(0);
    });

    it('exits 2 when it is larger than Step Functions accepts', async () => {
      const keys = Array.from(
        { length: 10_000 },
        (_, i) => `MUR-JPL-L4-GLOB-v4.1/2024/${String(i).padStart(6, '0')}.nc`,
      );
      const big = { ...EVENT, Source: { Bucket: 'src-bucket', Keys: keys } };
      const { deps, stderr } = setup();

      expect(await startExecution(options({ event: eventFile(big, 'big.json') }), deps)).toBe(2);
      expect(stderr.text).toMatch(
        /^InvalidInput: the event is \d+ KiB and Step Functions accepts at most 256 KiB/,
      );
      expect(sfnMock.calls()).toHaveLength(0);
    });

    it("reads standard input for '-'", async () => {
      const { deps } = setup({ stdin: Readable.from([Buffer.from(JSON.stringify(EVENT))]) });

      expect(await startExecution(options({ event: '-' }), deps)).toBe(0);
      const { input, name } = sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input;
      expect(JSON.parse(input!)).toEqual(startedInput(name!));
    });
  });

  describe('--name', () => {
    const existing: DescribeExecutionCommandOutput = {
      ...succeeded,
      status: 'RUNNING',
      stopDate: undefined,
      output: undefined,
    };

    beforeEach(() => {
      sfnMock
        .on(StartExecutionCommand)
        .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists: run-1', $metadata: {} }));
      sfnMock
        .on(DescribeExecutionCommand)
        .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist: run-1', $metadata: {} }));
    });

    it('passes the name to StartExecution', async () => {
      sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: START });
      const { deps } = setup();

      expect(await startExecution(options({ name: 'run-1' }), deps)).toBe(0);
      expect(sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input.name).toBe('run-1');
    });

    it('reports the execution that already holds the name instead of failing', async () => {
      sfnMock.on(DescribeExecutionCommand, { executionArn: EXECUTION_ARN }).resolves(existing);
      const { deps, stdout, stderr } = setup();

      expect(await startExecution(options({ name: 'run-1', json: true }), deps)).toBe(0);
      expect(JSON.parse(stdout.text)).toEqual({
        executionArn: EXECUTION_ARN,
        startDate: START.toISOString(),
      });
      expect(stderr.text).toContain(
        `ExecutionAlreadyExists: an execution named run-1 was started ${START.toISOString()} (RUNNING)`,
      );
      expect(stderr.text).toContain(`console: https://us-west-2.console.aws.amazon.com/`);
      expect(stderr.text).not.toContain('warning');
      expect(sfnMock.commandCalls(DescribeExecutionCommand)[0].args[0].input).toEqual({
        executionArn: EXECUTION_ARN,
      });
    });

    it('warns when the existing execution was started with another event, without showing either', async () => {
      sfnMock
        .on(DescribeExecutionCommand)
        .resolves({ ...existing, input: JSON.stringify({ ...EVENT, Dest: { Bucket: 'other-bucket' } }) });
      const { deps, stderr } = setup();

      expect(await startExecution(options({ name: 'run-1' }), deps)).toBe(0);
      expect(stderr.text).toContain('warning: that execution was started with another event');
      expect(stderr.text).not.toContain('other-bucket');
      expect(stderr.text).not.toContain(TOKEN);
    });

    it('with --wait, follows the existing execution to its result', async () => {
      sfnMock.on(DescribeExecutionCommand).resolvesOnce(existing).resolvesOnce(existing).resolves(succeeded);
      const { deps, stdout } = setup();

      expect(await startExecution(options({ name: 'run-1', wait: true }), deps)).toBe(0);
      expect(JSON.parse(stdout.text)).toEqual(RESULT);
      // The existing execution's token is left alone: nothing is stored, nothing started.
      expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
      expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(0);
    });
  });

  it('retries StartExecution when it is throttled', async () => {
    sfnMock
      .on(StartExecutionCommand)
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded'))
      .rejectsOnce(awsError('TooManyRequestsException', 'Too many requests', 429))
      .resolves({ executionArn: EXECUTION_ARN, startDate: START });
    const { deps, sleeps } = setup();

    expect(await startExecution(options(), deps)).toBe(0);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(3);
    expect(sleeps).toEqual([1000, 2000]);
  });

  it('exits 2 when the state machine does not exist', async () => {
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new StateMachineDoesNotExist({ message: 'State Machine Does Not Exist', $metadata: {} }));
    const { deps, stderr } = setup();

    expect(await startExecution(options(), deps)).toBe(2);
    expect(stderr.text).toContain(
      `StateMachineDoesNotExist: the state machine ${SM_ARN} (from --state-machine)`,
    );
  });

  it('exits 1 on another AWS error', async () => {
    sfnMock.on(StartExecutionCommand).rejects(awsError('AccessDeniedException', 'not authorized'));
    const { deps, stderr } = setup();

    expect(await startExecution(options(), deps)).toBe(1);
    expect(stderr.text).toContain('AccessDeniedException: not authorized');
  });

  it('starts nothing when Ctrl-C came before StartExecution', async () => {
    const controller = new AbortController();
    controller.abort();
    const { deps, stderr } = setup({ signal: controller.signal });

    expect(await startExecution(options({ wait: true }), deps)).toBe(130);
    expect(stderr.text).toContain('nothing was started');
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('with --wait, Ctrl-C stops the watching and prints the watch command (exit 130)', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves({ ...succeeded, status: 'RUNNING', output: undefined });
    const controller = new AbortController();
    const { deps, stdout, stderr } = setup({
      signal: controller.signal,
      sleep: async () => {
        controller.abort();
        throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      },
    });

    expect(await startExecution(options({ wait: true }), deps)).toBe(130);
    expect(stdout.text).toBe('');
    expect(stderr.text).toContain(`s3-direct-transfer watch ${EXECUTION_ARN}\n`);
  });
});

describe('finding the state machine', () => {
  const stack = (outputs: { OutputKey: string; OutputValue: string }[]) => ({
    Stacks: [
      {
        StackName: STACK_NAME,
        StackStatus: 'CREATE_COMPLETE' as const,
        CreationTime: START,
        Outputs: outputs,
      },
    ],
  });

  // Only its stack's outputs are looked up (for the token path and the allowlist), never another stack.
  const onlyItsOwnStack = (arn: string): void => {
    expect(cfnMock.commandCalls(DescribeStacksCommand)).toHaveLength(0);
    expect(cfnMock.commandCalls(DescribeStackResourcesCommand).map((c) => c.args[0].input)).toEqual([
      { PhysicalResourceId: arn },
    ]);
  };

  it('takes --state-machine first', async () => {
    const { deps } = setup({ env: { [STATE_MACHINE_ENV]: ENV_SM_ARN } });

    expect(await startExecution(options(), deps)).toBe(0);
    expect(sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input.stateMachineArn).toBe(SM_ARN);
    onlyItsOwnStack(SM_ARN);
  });

  it('then the environment variable', async () => {
    const { deps } = setup({ env: { [STATE_MACHINE_ENV]: ENV_SM_ARN } });

    expect(await startExecution(options({ stateMachine: undefined }), deps)).toBe(0);
    expect(sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input.stateMachineArn).toBe(ENV_SM_ARN);
    onlyItsOwnStack(ENV_SM_ARN);
  });

  it("then the default stack's output StateMachineArn, in the ARN's region", async () => {
    cfnMock
      .on(DescribeStacksCommand, { StackName: STACK_NAME })
      .resolves(stack([{ OutputKey: STATE_MACHINE_ARN_OUTPUT, OutputValue: STACK_SM_ARN }]));
    const { deps, regions } = setup();

    expect(await startExecution(options({ stateMachine: undefined }), deps)).toBe(0);
    expect(sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input.stateMachineArn).toBe(STACK_SM_ARN);
    expect(regions).toEqual(['eu-west-1']);
  });

  it('an explicit --stack wins over the environment variable', async () => {
    cfnMock
      .on(DescribeStacksCommand, { StackName: 'MyStack' })
      .resolves(stack([{ OutputKey: STATE_MACHINE_ARN_OUTPUT, OutputValue: STACK_SM_ARN }]));
    const { deps } = setup({ env: { [STATE_MACHINE_ENV]: ENV_SM_ARN } });

    expect(await startExecution(options({ stateMachine: undefined, stack: 'MyStack' }), deps)).toBe(0);
    expect(sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input.stateMachineArn).toBe(STACK_SM_ARN);
  });

  it('retries DescribeStacks when CloudFormation throttles', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejectsOnce(awsError('Throttling', 'Rate exceeded'))
      .resolves(stack([{ OutputKey: STATE_MACHINE_ARN_OUTPUT, OutputValue: STACK_SM_ARN }]));
    const { deps, sleeps } = setup();

    expect(await startExecution(options({ stateMachine: undefined }), deps)).toBe(0);
    expect(sleeps).toEqual([1000]);
  });

  const threeWays = [/--state-machine ARN/, new RegExp(`${STATE_MACHINE_ENV}=ARN`), /--stack NAME/];

  it('exits 2 naming all three ways when the default stack does not exist', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(awsError('ValidationError', `Stack with id ${STACK_NAME} does not exist`));
    const { deps, stderr } = setup();

    expect(await startExecution(options({ stateMachine: undefined }), deps)).toBe(2);
    expect(stderr.text).toMatch(
      new RegExp(`^StateMachineNotFound: the stack ${STACK_NAME} does not exist in eu-west-1\\.`),
    );
    for (const way of threeWays) expect(stderr.text).toMatch(way);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('exits 2 when --stack names a stack that does not exist', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(awsError('ValidationError', 'Stack with id Nope does not exist'));
    const { deps, stderr } = setup();

    expect(await startExecution(options({ stateMachine: undefined, stack: 'Nope' }), deps)).toBe(2);
    expect(stderr.text).toContain('the stack Nope does not exist in eu-west-1.');
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it('exits 2 naming all three ways when the stack has no StateMachineArn output', async () => {
    cfnMock.on(DescribeStacksCommand).resolves(stack([{ OutputKey: 'Other', OutputValue: 'x' }]));
    const { deps, stderr } = setup();

    expect(await startExecution(options({ stateMachine: undefined }), deps)).toBe(2);
    expect(stderr.text).toContain(
      `the stack ${STACK_NAME} in eu-west-1 (CREATE_COMPLETE) has no output ${STATE_MACHINE_ARN_OUTPUT}`,
    );
    for (const way of threeWays) expect(stderr.text).toMatch(way);
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it.each([
    ['--state-machine', { stateMachine: 'Transfer' }, {}],
    [STATE_MACHINE_ENV, { stateMachine: undefined }, { [STATE_MACHINE_ENV]: 'not-an-arn' }],
  ])('exits 2 when %s is not a state machine ARN', async (from, extra, env) => {
    const { deps, stderr } = setup({ env });

    expect(await startExecution(options(extra), deps)).toBe(2);
    expect(stderr.text).toContain(`InvalidArn: ${from} is not a state machine ARN`);
    expect(sfnMock.calls()).toHaveLength(0);
  });
});

describe('start keeps tokens out of executions', () => {
  it('refuses an endpoint the deployment would refuse: exit 2, nothing stored, nothing started', async () => {
    const { deps, stderr } = setup();
    const event = { ...EVENT, CredentialsEndpoint: 'https://attacker.example/s3credentials' };

    expect(await startExecution(options({ event: eventFile(event, 'attacker.json') }), deps)).toBe(2);
    expect(stderr.text).toMatch(/^InvalidInput: CredentialsEndpoint: expected a credentials endpoint/);
    expect(stderr.text).toContain('https://*.earthdata.nasa.gov');
    expect(stderr.text).not.toContain(TOKEN);
    expect(ssmMock.calls()).toHaveLength(0);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  const COLLECTION_EVENT = {
    BearerToken: TOKEN,
    Source: { Collection: { ConceptId: 'C1996881146-POCLOUD' } },
    Dest: { Bucket: 'my-bucket' },
  };

  it("starts a collection event without CredentialsEndpoint (the collection's metadata names it)", async () => {
    const { deps } = setup();
    expect(
      await startExecution(options({ event: eventFile(COLLECTION_EVENT, 'collection.json') }), deps),
    ).toBe(0);
    const input = JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input.input!) as {
      Source: unknown;
    };
    expect(input.Source).toEqual(COLLECTION_EVENT.Source);
  });

  it.each([
    [
      'a CMR host the deployment would refuse',
      { CmrUrl: 'https://cmr.attacker.example/search' },
      {},
      /Source\.CmrUrl/,
    ],
    [
      'an endpoint the deployment would refuse',
      {},
      { CredentialsEndpoint: 'https://attacker.example/s3credentials' },
      /CredentialsEndpoint/,
    ],
  ])(
    'refuses a collection event with %s: exit 2, nothing stored or started',
    async (_what, source, extra, message) => {
      const { deps, stderr } = setup();
      const event = { ...COLLECTION_EVENT, ...extra, Source: { ...COLLECTION_EVENT.Source, ...source } };
      expect(await startExecution(options({ event: eventFile(event, 'bad-collection.json') }), deps)).toBe(2);
      expect(stderr.text).toMatch(message);
      expect(stderr.text).not.toContain(TOKEN);
      expect(ssmMock.calls()).toHaveLength(0);
      expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    },
  );

  it("uses the stack's token path and allowlist from its outputs", async () => {
    cfnMock.on(DescribeStacksCommand, { StackName: STACK_NAME }).resolves({
      Stacks: [
        {
          StackName: STACK_NAME,
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: START,
          Outputs: [
            { OutputKey: STATE_MACHINE_ARN_OUTPUT, OutputValue: STACK_SM_ARN },
            { OutputKey: 'TokenParameterPath', OutputValue: '/team/' },
            { OutputKey: 'CredentialsEndpoints', OutputValue: 'https://tea.example.org/s3credentials' },
          ],
        },
      ],
    });
    const { deps } = setup();
    const event = { ...EVENT, CredentialsEndpoint: 'https://tea.example.org/s3credentials' };

    expect(
      await startExecution(
        options({ stateMachine: undefined, event: eventFile(event, 'custom.json') }),
        deps,
      ),
    ).toBe(0);
    const { name } = sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(ssmMock.commandCalls(PutParameterCommand)[0].args[0].input.Name).toBe(`/team/executions/${name}`);
  });

  it('deletes the parameter again when the execution cannot be started', async () => {
    sfnMock.on(StartExecutionCommand).rejects(awsError('AccessDeniedException', 'not allowed', 403));
    const { deps } = setup();

    expect(await startExecution(options(), deps)).toBe(1);
    const created = ssmMock.commandCalls(PutParameterCommand)[0].args[0].input.Name;
    expect(ssmMock.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input.Name)).toEqual([created]);
  });

  it('starts an event that names a parameter as it is, storing nothing', async () => {
    const { BearerToken: _token, ...rest } = EVENT;
    const event = { ...rest, BearerTokenParameter: '/s3-direct-transfer/team-token' };
    const { deps } = setup();

    expect(await startExecution(options({ event: eventFile(event, 'param.json') }), deps)).toBe(0);
    expect(JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input.input!)).toEqual(event);
    expect(ssmMock.calls()).toHaveLength(0);
  });

  it('stores an asf-urs cookie as asf-urs=<jwt>, which the pipeline reads back as a cookie', async () => {
    const { BearerToken: _token, ...rest } = EVENT;
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl';
    const { deps } = setup();

    expect(
      await startExecution(options({ event: eventFile({ ...rest, JwtCookie: jwt }, 'cookie.json') }), deps),
    ).toBe(0);
    expect(ssmMock.commandCalls(PutParameterCommand)[0].args[0].input.Value).toBe(`asf-urs=${jwt}`);
    expect(sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input.input).not.toContain(jwt);
  });

  it('names the parameter so that the cleanup deletes it when the execution ends', async () => {
    const { deps } = setup();
    expect(await startExecution(options(), deps)).toBe(0);
    const created = ssmMock.commandCalls(PutParameterCommand)[0].args[0].input.Name;
    const { name } = sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input;

    const { cleanUpRun } = await import('../../functions/cleanup/cleanup');
    const deleted: string[] = [];
    await cleanUpRun(
      { detail: { stateMachineArn: SM_ARN, name, status: 'SUCCEEDED' } },
      {
        staging: { delete: async () => undefined } as never,
        ssm: new SSMClient({ region: 'us-west-2' }),
        tokenParameterPath: '/s3-direct-transfer/',
        stateMachineArn: SM_ARN,
      },
    );
    deleted.push(...ssmMock.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input.Name!));
    expect(deleted).toEqual([created]);
  });
});
