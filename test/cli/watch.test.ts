import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ExecutionDoesNotExist,
  ListMapRunsCommand,
  SFNClient,
  StopExecutionCommand,
  type DescribeExecutionCommandOutput,
  type DescribeMapRunCommandOutput,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { TransferResult } from '../../shared/contracts';
import { isThrottling, isTransient } from '../../shared/aws/sdk-errors';
import { callWithBackoff } from '../../cli/aws-calls';
import { executionArnFor, executionConsoleUrl, parseExecutionArn } from '../../cli/execution-arn';
import { MapRunProgress, describeMapRunProgress, type MapRunSnapshot } from '../../cli/map-run-progress';
import { watchExecution, withCtrlC, type WatchDeps } from '../../cli/watch';

const sfnMock = mockClient(SFNClient);

const EXECUTION_ARN = 'arn:aws:states:us-west-2:123456789012:execution:Transfer:run-1';
const MAP_RUN_ARN = 'arn:aws:states:us-west-2:123456789012:mapRun:Transfer/CopyObjects:m-1';
const T0 = Date.parse('2025-06-01T12:00:00Z');

const RESULT: TransferResult = {
  Copied: 9,
  Skipped: 1,
  Failed: 0,
  Bytes: 5 * 1024 * 1024,
  Failures: [],
  Report: { Bucket: 'staging', Key: 'runs/run-1/report.json' },
};

/** A stream that keeps what is written. */
function sink(isTTY = false): { text: string; isTTY: boolean; write(text: string): boolean } {
  return {
    text: '',
    isTTY,
    write(text: string) {
      this.text += text;
      return true;
    },
  };
}

/** Injected clock and sleep: sleeping moves the clock, no time passes. */
function fakeTime() {
  let now = T0 + 60_000;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

function deps(overrides: Partial<WatchDeps> = {}) {
  const time = fakeTime();
  const stdout = sink();
  const stderr = sink();
  const d: WatchDeps = {
    sfn: new SFNClient({ region: 'us-west-2' }),
    stdout,
    stderr,
    sleep: time.sleep,
    now: time.now,
    ...overrides,
  };
  return { deps: d, stdout, stderr, time };
}

const running: DescribeExecutionCommandOutput = {
  $metadata: {},
  executionArn: EXECUTION_ARN,
  stateMachineArn: 'arn:aws:states:us-west-2:123456789012:stateMachine:Transfer',
  status: 'RUNNING',
  startDate: new Date(T0),
};

function ended(fields: Partial<DescribeExecutionCommandOutput>): DescribeExecutionCommandOutput {
  return { ...running, stopDate: new Date(T0 + 125_000), ...fields };
}

function mapRun(counts: Partial<Record<string, number>>): DescribeMapRunCommandOutput {
  return {
    $metadata: {},
    mapRunArn: MAP_RUN_ARN,
    executionArn: EXECUTION_ARN,
    status: 'RUNNING',
    startDate: new Date(T0 + 30_000),
    maxConcurrency: 100,
    toleratedFailurePercentage: 10,
    toleratedFailureCount: 0,
    itemCounts: {
      pending: 0,
      running: 0,
      succeeded: 0,
      failed: 0,
      timedOut: 0,
      aborted: 0,
      total: 10,
      resultsWritten: 0,
      ...counts,
    },
    executionCounts: undefined,
  };
}

function awsError(name: string, status = 400): Error {
  return Object.assign(new Error(`${name} (test)`), { name, $metadata: { httpStatusCode: status } });
}

beforeEach(() => {
  sfnMock.reset();
  sfnMock.on(ListMapRunsCommand).resolves({ mapRuns: [] });
});

describe('watchExecution', () => {
  it('follows the map run, prints plain progress lines on a non-terminal, and the result JSON on stdout', async () => {
    sfnMock
      .on(DescribeExecutionCommand)
      .resolvesOnce(running)
      .resolvesOnce(running)
      .resolvesOnce(running)
      .resolves(ended({ status: 'SUCCEEDED', output: JSON.stringify(RESULT) }));
    sfnMock
      .on(ListMapRunsCommand)
      .resolvesOnce({ mapRuns: [] })
      .resolves({
        mapRuns: [
          {
            mapRunArn: 'arn:aws:states:us-west-2:123456789012:mapRun:Transfer/CopyObjects:old',
            executionArn: EXECUTION_ARN,
            stateMachineArn: 'x',
            startDate: new Date(T0 + 1000),
          },
          {
            mapRunArn: MAP_RUN_ARN,
            executionArn: EXECUTION_ARN,
            stateMachineArn: 'x',
            startDate: new Date(T0 + 30_000),
          },
        ],
      });
    sfnMock
      .on(DescribeMapRunCommand)
      .resolvesOnce(mapRun({ succeeded: 3, running: 4, pending: 3 }))
      .resolvesOnce(mapRun({ succeeded: 6, failed: 1, running: 3 }))
      .resolves(mapRun({ succeeded: 9, failed: 1, status: undefined }));
    const { deps: d, stdout, stderr, time } = deps();

    const code = await watchExecution(EXECUTION_ARN, d);

    expect(code).toBe(0);
    expect(JSON.parse(stdout.text)).toEqual(RESULT);
    expect(stderr.text).toContain(`watching ${EXECUTION_ARN}\n`);
    expect(stderr.text).toContain(`console: ${executionConsoleUrl(EXECUTION_ARN)}\n`);
    expect(stderr.text).toContain('running: Plan lists the source');
    const lines = stderr.text.split('\n').filter((l) => l.startsWith('progress: '));
    expect(lines).toEqual([
      expect.stringMatching(/^progress: 3\/10 objects, 4 running, elapsed 1m05s, ETA /),
      expect.stringMatching(/^progress: 7\/10 objects, 1 failed, 3 running, elapsed 1m10s, ETA /),
      expect.stringMatching(/^progress: 10\/10 objects, 1 failed, elapsed 1m15s, ETA 0s$/),
    ]);
    expect(stderr.text).not.toContain('\u001b['); // no bar on a non-terminal
    expect(stderr.text).toContain('succeeded after 2m05s: 9 copied, 1 skipped, 0 failed, 5.0 MiB');
    expect(stderr.text).toContain('report: s3://staging/runs/run-1/report.json');
    expect(time.sleeps).toEqual([5000, 5000, 5000]);
    // The newest map run is the one followed.
    expect(sfnMock.commandCalls(DescribeMapRunCommand)[0].args[0].input).toEqual({ mapRunArn: MAP_RUN_ARN });
  });

  it('exits 1 when some objects failed, listing them on stderr', async () => {
    const result: TransferResult = {
      ...RESULT,
      Copied: 8,
      Failed: 1,
      Failures: [{ Key: 'a/b.h5', Error: 'SourceNotFound', Cause: 'the source object is gone' }],
    };
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves(ended({ status: 'SUCCEEDED', output: JSON.stringify(result) }));
    const { deps: d, stdout, stderr } = deps();

    expect(await watchExecution(EXECUTION_ARN, d)).toBe(1);
    expect(JSON.parse(stdout.text)).toEqual(result);
    expect(stderr.text).toContain('failed a/b.h5: SourceNotFound: the source object is gone');
  });

  it('exits 1 with the readable cause when the execution failed for another reason', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves(
      ended({
        status: 'FAILED',
        error: 'Lambda.Unknown',
        cause: JSON.stringify({
          errorType: 'Runtime.ExitError',
          errorMessage: 'Summarize ran out of memory',
        }),
      }),
    );
    const { deps: d, stdout, stderr } = deps();

    expect(await watchExecution(EXECUTION_ARN, d)).toBe(1);
    expect(stdout.text).toBe('');
    expect(stderr.text).toContain('Lambda.Unknown: Summarize ran out of memory\n');
    expect(stderr.text).toContain('the execution failed after 2m05s');
  });

  it.each([
    'InvalidInput',
    'AuthenticationFailed',
    'EulaNotAccepted',
    'CredentialsForbidden',
    'TokenParameterError',
  ])('exits 2 when PlanFailed with %s', async (error) => {
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves(ended({ status: 'FAILED', error, cause: 'the token was rejected by the endpoint' }));
    const { deps: d, stderr } = deps();

    expect(await watchExecution(EXECUTION_ARN, d)).toBe(2);
    expect(stderr.text).toContain(`${error}: the token was rejected by the endpoint\n`);
  });

  it('masks token-like text in a cause', async () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl';
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves(ended({ status: 'FAILED', error: 'AuthenticationFailed', cause: `token ${jwt} expired` }));
    const { deps: d, stderr } = deps();

    expect(await watchExecution(EXECUTION_ARN, d)).toBe(2);
    expect(stderr.text).not.toContain(jwt);
  });

  it.each([
    ['TIMED_OUT', /ExecutionTimedOut: the execution timed out after 2m05s/],
    ['ABORTED', /ExecutionAborted: the execution was stopped after 2m05s/],
  ] as const)('exits 1 when the execution is %s', async (status, message) => {
    sfnMock.on(DescribeExecutionCommand).resolves(ended({ status }));
    const { deps: d, stderr } = deps();

    expect(await watchExecution(EXECUTION_ARN, d)).toBe(1);
    expect(stderr.text).toMatch(message);
  });

  it('exits 1 when a succeeded execution has no transfer result as output', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves(ended({ status: 'SUCCEEDED', output: '"hello"' }));
    const { deps: d, stdout, stderr } = deps();

    expect(await watchExecution(EXECUTION_ARN, d)).toBe(1);
    expect(stdout.text).toBe('');
    expect(stderr.text).toContain('InvalidOutput');
  });

  it('keeps polling through throttling, waiting longer each time, then back to the normal pace', async () => {
    sfnMock
      .on(DescribeExecutionCommand)
      .resolvesOnce(running)
      .rejectsOnce(awsError('ThrottlingException'))
      .rejectsOnce(awsError('TooManyRequestsException', 429))
      .rejectsOnce(awsError('ThrottlingException'))
      .resolvesOnce(running)
      .resolves(ended({ status: 'SUCCEEDED', output: JSON.stringify(RESULT) }));
    const { deps: d, stderr, time } = deps();

    expect(await watchExecution(EXECUTION_ARN, d)).toBe(0);
    expect(time.sleeps).toEqual([5000, 10_000, 20_000, 40_000, 5000]);
    expect(stderr.text.match(/ThrottlingException: asking again in 10s/g)).toHaveLength(1);
  });

  it('gives up after too many refused polls in a row, with the command that resumes', async () => {
    sfnMock.on(DescribeExecutionCommand).rejects(awsError('ThrottlingException'));
    const { deps: d, stderr, time } = deps();

    expect(await watchExecution(EXECUTION_ARN, d)).toBe(1);
    expect(time.sleeps).toHaveLength(20);
    expect(Math.max(...time.sleeps)).toBe(60_000);
    expect(stderr.text).toContain(`resume:  s3-direct-transfer watch ${EXECUTION_ARN}`);
  });

  it('does not retry an error that is not transient', async () => {
    sfnMock.on(DescribeExecutionCommand).rejects(awsError('AccessDeniedException'));
    const { deps: d, stderr, time } = deps();

    expect(await watchExecution(EXECUTION_ARN, d)).toBe(1);
    expect(time.sleeps).toEqual([]);
    expect(stderr.text).toContain('AccessDeniedException: AccessDeniedException (test)');
  });

  it('exits 2 when the execution does not exist', async () => {
    sfnMock
      .on(DescribeExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));
    const { deps: d, stderr } = deps();

    expect(await watchExecution(EXECUTION_ARN, d)).toBe(2);
    expect(stderr.text).toContain('ExecutionDoesNotExist: Execution Does Not Exist');
  });

  it('exits 2 on an ARN that is not an execution, without calling Step Functions', async () => {
    const { deps: d, stderr } = deps();

    expect(await watchExecution('arn:aws:states:us-west-2:123456789012:stateMachine:Transfer', d)).toBe(2);
    expect(stderr.text).toContain('InvalidArn: EXECUTION_ARN is not an execution ARN');
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it('stops watching on Ctrl-C, not the execution, and prints the watch command (exit 130)', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves(running);
    sfnMock.on(DescribeMapRunCommand).resolves(mapRun({ succeeded: 2, running: 4 }));
    sfnMock.on(ListMapRunsCommand).resolves({
      mapRuns: [
        {
          mapRunArn: MAP_RUN_ARN,
          executionArn: EXECUTION_ARN,
          stateMachineArn: 'x',
          startDate: new Date(T0),
        },
      ],
    });
    const controller = new AbortController();
    let polls = 0;
    const {
      deps: d,
      stdout,
      stderr,
    } = deps({
      signal: controller.signal,
      sleep: async (_ms, signal) => {
        if (++polls === 2) controller.abort();
        if (signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      },
    });

    expect(await watchExecution(EXECUTION_ARN, d)).toBe(130);
    expect(stdout.text).toBe('');
    // The progress ends before the message (on a terminal, the bar is stopped and the cursor shown again).
    expect(stderr.text).toMatch(/progress: 2\/10 objects.*\n\nstopped watching; the execution goes on\./s);
    expect(stderr.text).toContain(`s3-direct-transfer watch ${EXECUTION_ARN}\n`);
    expect(sfnMock.commandCalls(StopExecutionCommand)).toHaveLength(0);
    expect(sfnMock.commandCalls(DescribeExecutionCommand)).toHaveLength(2);
  });

  it('passes the Ctrl-C signal to the SDK calls so that a slow poll is abandoned too', async () => {
    const controller = new AbortController();
    sfnMock.on(DescribeExecutionCommand).callsFake(async () => {
      controller.abort();
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    });
    const { deps: d, stderr } = deps({ signal: controller.signal });

    expect(await watchExecution(EXECUTION_ARN, d)).toBe(130);
    expect((sfnMock.call(0).args as unknown[])[1]).toEqual({ abortSignal: controller.signal });
    expect(stderr.text).toContain(`s3-direct-transfer watch ${EXECUTION_ARN}`);
    expect(stderr.text).not.toContain('AbortError');
  });

  it('shows no progress with quiet', async () => {
    sfnMock
      .on(DescribeExecutionCommand)
      .resolvesOnce(running)
      .resolves(ended({ status: 'SUCCEEDED', output: JSON.stringify(RESULT) }));
    sfnMock.on(ListMapRunsCommand).resolves({
      mapRuns: [
        {
          mapRunArn: MAP_RUN_ARN,
          executionArn: EXECUTION_ARN,
          stateMachineArn: 'x',
          startDate: new Date(T0),
        },
      ],
    });
    sfnMock.on(DescribeMapRunCommand).resolves(mapRun({ succeeded: 2 }));
    const { deps: d, stderr } = deps();

    expect(await watchExecution(EXECUTION_ARN, d, { quiet: true, announce: false })).toBe(0);
    expect(stderr.text).not.toContain('progress:');
    expect(stderr.text).not.toContain('watching');
  });
});

describe('MapRunProgress', () => {
  const snapshot = (succeeded: number, failed = 0, total = 100): MapRunSnapshot => ({
    counts: { succeeded, failed, running: 0, pending: total - succeeded - failed, total },
    executionStart: T0,
    mapRunStart: T0 + 60_000,
  });

  it('describes objects, elapsed time since the execution started and an ETA from the map run rate', () => {
    // 25 of 100 done in the map run's first 50 s: 75 more take 150 s.
    expect(describeMapRunProgress(snapshot(20, 5), T0 + 110_000)).toBe(
      '25/100 objects, 5 failed, elapsed 1m50s, ETA 2m30s',
    );
    expect(describeMapRunProgress(snapshot(0), T0 + 70_000)).toBe('0/100 objects, elapsed 1m10s, ETA --');
  });

  it('writes a plain line when the counts change, at most every interval, and a heartbeat otherwise', () => {
    let now = T0 + 60_000;
    const stream = sink();
    const progress = new MapRunProgress({ stream, now: () => now, intervalSeconds: 5, heartbeatSeconds: 60 });
    progress.update(snapshot(1)); // first line
    now += 2000;
    progress.update(snapshot(2)); // too soon
    now += 5000;
    progress.update(snapshot(2)); // changed since the last line, interval passed
    now += 30_000;
    progress.update(snapshot(2)); // unchanged: wait for the heartbeat
    now += 30_000;
    progress.update(snapshot(2)); // heartbeat
    now += 1000;
    progress.update(snapshot(3)); // too soon
    progress.stop(); // the last counts, not shown yet
    progress.stop(); // nothing more
    expect(stream.text.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^progress: 1\/100 objects/),
      expect.stringMatching(/^progress: 2\/100 objects, elapsed 1m07s/),
      expect.stringMatching(/^progress: 2\/100 objects, elapsed 2m07s/),
      expect.stringMatching(/^progress: 3\/100 objects/),
    ]);
  });

  it('draws a bar on a terminal instead of lines', () => {
    const stream = Object.assign(sink(true), {
      columns: 120,
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
    });
    const progress = new MapRunProgress({ stream, now: () => T0 + 90_000 });
    progress.update(snapshot(50));
    progress.stop();
    expect(stream.text).not.toContain('progress:');
    expect(stream.text).toContain('50/100 objects');
  });
});

describe('AWS call helpers', () => {
  it('classifies throttling and transient errors', () => {
    expect(isThrottling(awsError('ThrottlingException'))).toBe(true);
    expect(isThrottling(awsError('TooManyRequestsException', 429))).toBe(true);
    expect(isThrottling(awsError('Throttling'))).toBe(true);
    expect(isThrottling(awsError('AccessDeniedException'))).toBe(false);
    expect(isTransient(awsError('InternalServerError', 500))).toBe(true);
    expect(isTransient(awsError('ValidationException'))).toBe(false);
  });

  it('callWithBackoff asks again after throttling, and only then', async () => {
    const sleeps: number[] = [];
    const sleep = async (ms: number) => void sleeps.push(ms);
    const fn = jest
      .fn<Promise<string>, []>()
      .mockRejectedValueOnce(awsError('ThrottlingException'))
      .mockRejectedValueOnce(awsError('ThrottlingException'))
      .mockResolvedValue('ok');
    await expect(callWithBackoff(fn, { sleep })).resolves.toBe('ok');
    expect(sleeps).toEqual([1000, 2000]);

    const denied = jest.fn<Promise<string>, []>().mockRejectedValue(awsError('AccessDeniedException'));
    await expect(callWithBackoff(denied, { sleep })).rejects.toThrow('AccessDeniedException');
    expect(denied).toHaveBeenCalledTimes(1);

    const always = jest.fn<Promise<string>, []>().mockRejectedValue(awsError('ThrottlingException'));
    await expect(callWithBackoff(always, { sleep, maxAttempts: 3 })).rejects.toThrow('ThrottlingException');
    expect(always).toHaveBeenCalledTimes(3);
  });

  it('withCtrlC aborts the signal on SIGINT and removes its handler afterwards', async () => {
    const before = process.listenerCount('SIGINT');
    const aborted = await withCtrlC(async (signal) => {
      process.emit('SIGINT');
      return signal.aborted;
    });
    expect(aborted).toBe(true);
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});

describe('execution ARNs', () => {
  it('builds the ARN of a named execution and its console link', () => {
    const arn = executionArnFor('arn:aws:states:us-west-2:123456789012:stateMachine:Transfer', 'run-1');
    expect(arn).toBe(EXECUTION_ARN);
    expect(parseExecutionArn(arn)).toEqual({
      partition: 'aws',
      region: 'us-west-2',
      account: '123456789012',
      stateMachineName: 'Transfer',
      executionName: 'run-1',
    });
    expect(executionConsoleUrl(arn)).toBe(
      `https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${arn}`,
    );
  });
});
