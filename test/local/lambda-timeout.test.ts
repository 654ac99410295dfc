/**
 * The local host's Lambda timeout: each invocation gets a context as Lambda's Node.js runtime gives it,
 * and one that runs past its function's timeout is killed as Lambda kills it, as Step Functions reports it.
 */
import { FolderStagingStore } from '../../shared/staging';
import {
  loadStateMachine,
  runStateMachine,
  type ExecutionOutcome,
  type LambdaContext,
  type LambdaHandler,
} from '../../local/stepfunctions/host';

const arn = (name: string): string => `arn:aws:lambda:us-west-2:000000000000:function:${name}`;
const staging = new FolderStagingStore('/nonexistent-staging');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `signal` aborts (a handler that stops when it is killed). */
const aborted = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

const run = (
  definition: object,
  handlers: Record<string, LambdaHandler>,
  timeoutsMs: Record<string, number>,
  extra = {},
) =>
  // Small definitions, valid by sight: asl-validator's ~0.5 s each is not what these tests are about.
  runStateMachine(
    definition,
    {},
    {
      staging,
      handlers,
      functionTimeoutsMs: timeoutsMs,
      validate: false,
      ...extra,
    },
  );

const task = (fn: string, rest: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: arn(fn),
  ...rest,
});

function outputOf(outcome: ExecutionOutcome): unknown {
  if (outcome.Status !== 'SUCCEEDED') throw new Error(`expected SUCCEEDED, got ${JSON.stringify(outcome)}`);
  return outcome.Output;
}

const TIMEOUT_CAUSE =
  /^\{"errorType":"Sandbox\.Timedout","errorMessage":"RequestId: [0-9a-f-]{36} Error: Task timed out after 0\.15 seconds"\}$/;

describe('local host: Lambda timeout', () => {
  it('fails the Task with Sandbox.Timedout at the timeout, aborts the signal, and discards the late result', async () => {
    let context: LambdaContext | undefined;
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let afterCalled = false;
    let started = 0;
    const outcome = await run(
      {
        StartAt: 'Slow',
        States: { Slow: task('Slow', { Next: 'After' }), After: task('After', { End: true }) },
      },
      {
        [arn('Slow')]: async (_event, ctx) => {
          context = ctx;
          started = Date.now();
          await blocked; // ignores its signal: the host must not wait for it
          return { late: true };
        },
        [arn('After')]: async () => {
          afterCalled = true;
        },
      },
      { [arn('Slow')]: 150 },
    );
    const elapsed = Date.now() - started;

    expect(outcome).toMatchObject({ Status: 'FAILED', Error: 'Sandbox.Timedout' });
    const cause = (outcome as { Cause: string }).Cause;
    expect(cause).toMatch(TIMEOUT_CAUSE);
    expect(cause).toContain(`RequestId: ${context!.awsRequestId} `);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1000);
    expect(context!.signal.aborted).toBe(true);
    expect((context!.signal.reason as Error).name).toBe('TimeoutError');
    expect(context!.getRemainingTimeInMillis()).toBe(0);
    // The killed handler returns afterwards: nothing of it reaches the execution.
    release();
    await sleep(20);
    expect(afterCalled).toBe(false);
    expect(outcome.usage.invocations).toEqual({ [arn('Slow')]: 1 });
    expect(outcome.usage.lambdaMs).toEqual({ [arn('Slow')]: 150 });
  });

  it('lets a Retry on Sandbox.Timedout invoke again, with a fresh deadline', async () => {
    const remainingAtStart: number[] = [];
    const signals: AbortSignal[] = [];
    const outcome = await run(
      {
        StartAt: 'Copy',
        States: {
          Copy: task('Copy', {
            Retry: [{ ErrorEquals: ['Sandbox.Timedout'], MaxAttempts: 2, IntervalSeconds: 1 }],
            End: true,
          }),
        },
      },
      {
        [arn('Copy')]: async (_event, ctx) => {
          remainingAtStart.push(ctx.getRemainingTimeInMillis());
          signals.push(ctx.signal);
          if (signals.length === 1) await aborted(ctx.signal);
          return { attempt: signals.length };
        },
      },
      { [arn('Copy')]: 100 },
      { retryIntervalOverrides: { Copy: 0 } },
    );
    expect(outcome).toMatchObject({ Status: 'SUCCEEDED', Output: { attempt: 2 } });
    expect(signals.map((signal) => signal.aborted)).toEqual([true, false]);
    for (const remaining of remainingAtStart) {
      expect(remaining).toBeGreaterThan(50);
      expect(remaining).toBeLessThanOrEqual(100);
    }
    expect(outcome.usage.invocations).toEqual({ [arn('Copy')]: 2 });
  });

  it('lets a Catch on Sandbox.Timedout take the error and its Cause', async () => {
    const outcome = await run(
      {
        StartAt: 'Copy',
        States: {
          Copy: task('Copy', {
            Catch: [{ ErrorEquals: ['Sandbox.Timedout'], ResultPath: '$.error', Next: 'Caught' }],
            End: true,
          }),
          Caught: { Type: 'Pass', End: true },
        },
      },
      { [arn('Copy')]: async (_event, ctx) => aborted(ctx.signal) },
      { [arn('Copy')]: 150 },
    );
    expect(outcome.Status).toBe('SUCCEEDED');
    const { error } = outputOf(outcome) as { error: { Error: string; Cause: string } };
    expect(error.Error).toBe('Sandbox.Timedout');
    expect(error.Cause).toMatch(TIMEOUT_CAUSE);
  });

  it('leaves an invocation that ends in time alone, and its remaining time decreases', async () => {
    let context: LambdaContext | undefined;
    const remaining: number[] = [];
    const outcome = await run(
      { StartAt: 'Quick', States: { Quick: task('Quick', { End: true }) } },
      {
        [arn('Quick')]: async (_event, ctx) => {
          context = ctx;
          remaining.push(ctx.getRemainingTimeInMillis());
          await sleep(60);
          remaining.push(ctx.getRemainingTimeInMillis());
          return 'done';
        },
      },
      { [arn('Quick')]: 300 },
    );
    expect(outcome).toMatchObject({ Status: 'SUCCEEDED', Output: 'done' });
    expect(remaining[0]).toBeLessThanOrEqual(300);
    expect(remaining[0]).toBeGreaterThan(250);
    expect(remaining[0] - remaining[1]).toBeGreaterThanOrEqual(55);
    // Past the timeout, a finished invocation is not killed.
    await sleep(300);
    expect(context!.signal.aborted).toBe(false);
  });

  it('gives a function without a timeout no deadline', async () => {
    let context: LambdaContext | undefined;
    await run(
      { StartAt: 'A', States: { A: task('A', { End: true }) } },
      { [arn('A')]: async (_event, ctx) => void (context = ctx) },
      {},
    );
    expect(context!.getRemainingTimeInMillis()).toBe(Number.MAX_SAFE_INTEGER);
    expect(context!.invokedFunctionArn).toBe(arn('A'));
  });

  it('kills a lambda:invoke Task alike, and names the invocation in its response metadata', async () => {
    const requestIds: string[] = [];
    const invoke = (rest: Record<string, unknown>) => ({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: arn('Fn'), 'Payload.$': '$' },
      ...rest,
    });
    const handlers = {
      [arn('Fn')]: async (event: unknown, ctx: LambdaContext) => {
        requestIds.push(ctx.awsRequestId);
        if ((event as { slow?: boolean }).slow) await aborted(ctx.signal);
        return 'ok';
      },
    };
    const quick = await run({ StartAt: 'I', States: { I: invoke({ End: true }) } }, handlers, {
      [arn('Fn')]: 150,
    });
    expect(quick).toMatchObject({ Status: 'SUCCEEDED', Output: { Payload: 'ok' } });
    expect((outputOf(quick) as { SdkResponseMetadata: unknown }).SdkResponseMetadata).toEqual({
      RequestId: requestIds[0],
    });
    const slow = await run(
      {
        StartAt: 'Slow',
        States: {
          Slow: { Type: 'Pass', Result: { slow: true }, Next: 'I' },
          I: invoke({ End: true }),
        },
      },
      handlers,
      { [arn('Fn')]: 150 },
    );
    expect(slow).toMatchObject({ Status: 'FAILED', Error: 'Sandbox.Timedout' });
    expect((slow as { Cause: string }).Cause).toContain(`RequestId: ${requestIds[1]} `);
  });

  it('refuses a timeout for a function without a handler, or one that is not a positive duration', () => {
    const definition = { StartAt: 'A', States: { A: task('A', { End: true }) } };
    const handlers = { [arn('A')]: async () => 1 };
    const load = (functionTimeoutsMs: Record<string, number>) =>
      loadStateMachine(definition, { staging, handlers, functionTimeoutsMs, validate: false });
    expect(() => load({ [arn('B')]: 100 })).toThrow(/B, which has no handler/);
    expect(() => load({ [arn('A')]: 0 })).toThrow(/positive/);
    expect(() => load({ [arn('A')]: Number.NaN })).toThrow(/positive/);
    expect(() => load({ [`${arn('A')}:live`]: 100 })).toThrow(/unqualified/);
    expect(() => load({ [arn('A')]: 100 })).not.toThrow();
  });
});
