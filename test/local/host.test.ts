import { FolderStagingStore } from '../../shared/staging';
import { loadStateMachine, runStateMachine, type LambdaHandler } from '../../local/stepfunctions/host';

const arn = (name: string): string => `arn:aws:lambda:us-west-2:000000000000:function:${name}`;
const staging = new FolderStagingStore('/nonexistent-staging');

/** A lambda:invoke Task as CDK's LambdaInvoke renders it (payloadResponseOnly false). */
const invoke = (fn: string, rest: Record<string, unknown> = {}): Record<string, unknown> => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke',
  Parameters: { FunctionName: arn(fn), 'Payload.$': '$' },
  ...rest,
});

const named = (name: string, message: string): Error => Object.assign(new Error(message), { name });
const fail = (name: string, message: string): never => {
  throw named(name, message);
};

const run = (definition: object, input: unknown, handlers: Record<string, LambdaHandler>, extra = {}) =>
  runStateMachine(definition, input, { staging, handlers, retryIntervalOverrides: {}, ...extra });

describe('local host: Lambda tasks', () => {
  it('wraps a lambda:invoke result like the Lambda service integration', async () => {
    const outcome = await run(
      { StartAt: 'A', States: { A: invoke('A', { End: true }) } },
      { n: 1 },
      {
        [arn('A')]: async (event) => ({ got: event }),
      },
    );
    expect(outcome.Status).toBe('SUCCEEDED');
    const output = (outcome as { Output: Record<string, unknown> }).Output;
    expect(output).toMatchObject({ Payload: { got: { n: 1 } }, StatusCode: 200, ExecutedVersion: '$LATEST' });
    expect(output).toHaveProperty('SdkHttpMetadata.HttpStatusCode', 200);
    expect(output).toHaveProperty('SdkResponseMetadata.RequestId');
  });

  it('returns the bare response when the Resource is the function ARN (payloadResponseOnly)', async () => {
    const outcome = await run(
      { StartAt: 'A', States: { A: { Type: 'Task', Resource: arn('A'), End: true } } },
      { n: 1 },
      { [arn('A')]: async (event) => ({ got: event, when: new Date(0), gone: undefined }) },
    );
    expect(outcome).toEqual({
      Status: 'SUCCEEDED',
      Output: { got: { n: 1 }, when: '1970-01-01T00:00:00.000Z' },
      usage: expect.any(Object),
    });
  });

  it('binds handlers by function name or qualified ARN too, and resolves a dynamic FunctionName', async () => {
    const definition = {
      StartAt: 'ByName',
      States: {
        ByName: {
          ...invoke('A'),
          Parameters: { FunctionName: 'A', Payload: { step: 1 } },
          ResultPath: '$.one',
          Next: 'Dynamic',
        },
        Dynamic: {
          ...invoke('A'),
          Parameters: { 'FunctionName.$': '$.fn', Payload: { step: 2 } },
          OutputPath: '$.Payload',
          End: true,
        },
      },
    };
    const outcome = await run(definition, { fn: `${arn('A')}:live` }, { [arn('A')]: async (event) => event });
    expect(outcome).toEqual({ Status: 'SUCCEEDED', Output: { step: 2 }, usage: expect.any(Object) });
  });

  it('surfaces a thrown error as Error = error.name and Cause = the Lambda error payload', async () => {
    const outcome = await run(
      { StartAt: 'A', States: { A: invoke('A', { End: true }) } },
      {},
      {
        [arn('A')]: async () => {
          throw named('SourceNotFound', 'no such key a/b.h5');
        },
      },
    );
    expect(outcome).toMatchObject({ Status: 'FAILED', Error: 'SourceNotFound' });
    const cause = JSON.parse((outcome as { Cause: string }).Cause);
    expect(cause).toMatchObject({ errorType: 'SourceNotFound', errorMessage: 'no such key a/b.h5' });
    expect(Array.isArray(cause.trace)).toBe(true);
  });

  it('matches Retry and Catch ErrorEquals by the error name', async () => {
    let calls = 0;
    const definition = {
      StartAt: 'Flaky',
      States: {
        Flaky: invoke('Flaky', {
          Retry: [
            { ErrorEquals: ['SourceNotFound'], MaxAttempts: 0 },
            { ErrorEquals: ['TransientError'], MaxAttempts: 2, IntervalSeconds: 5 },
          ],
          ResultPath: null,
          Next: 'Missing',
        }),
        Missing: invoke('Missing', {
          Retry: [{ ErrorEquals: ['TransientError'], MaxAttempts: 5 }],
          Catch: [
            { ErrorEquals: ['TransientError'], Next: 'Unexpected' },
            { ErrorEquals: ['SourceNotFound'], ResultPath: '$.error', Next: 'Done' },
          ],
          Next: 'Unexpected',
        }),
        Unexpected: { Type: 'Fail', Error: 'Unexpected' },
        Done: { Type: 'Succeed' },
      },
    };
    let missingCalls = 0;
    const outcome = await run(
      definition,
      { a: 1 },
      {
        [arn('Flaky')]: async () => {
          if (++calls < 3) throw named('TransientError', `attempt ${calls}`);
          return 'ok';
        },
        [arn('Missing')]: async () => {
          missingCalls++;
          throw named('SourceNotFound', 'gone');
        },
      },
      { retryIntervalOverrides: { Flaky: 0, Missing: 0 } },
    );
    expect(calls).toBe(3);
    expect(missingCalls).toBe(1);
    expect(outcome.Status).toBe('SUCCEEDED');
    const { error } = (outcome as { Output: unknown }).Output as { error: { Error: string; Cause: string } };
    expect(error.Error).toBe('SourceNotFound');
    expect(JSON.parse(error.Cause)).toMatchObject({ errorType: 'SourceNotFound', errorMessage: 'gone' });
  });

  it('runs a child loop through a Choice until the deferred list is empty', async () => {
    const definition = {
      StartAt: 'CopyBatch',
      States: {
        CopyBatch: invoke('Copy', { OutputPath: '$.Payload', Next: 'More?' }),
        'More?': {
          Type: 'Choice',
          Choices: [{ Variable: '$.Deferred[0]', IsPresent: true, Next: 'Again' }],
          Default: 'Done',
        },
        Again: {
          Type: 'Pass',
          Parameters: { 'Items.$': '$.Deferred', 'Results.$': '$.Results' },
          Next: 'CopyBatch',
        },
        Done: { Type: 'Pass', Parameters: { 'Results.$': '$.Results' }, End: true },
      },
    };
    const seen: unknown[] = [];
    const outcome = await run(
      definition,
      { Items: ['a', 'b', 'c'] },
      {
        [arn('Copy')]: async (event) => {
          const { Items, Results = [] } = event as { Items: string[]; Results?: string[] };
          seen.push(Items);
          return { Results: [...Results, Items[0]], Deferred: Items.slice(1) };
        },
      },
    );
    expect(seen).toEqual([['a', 'b', 'c'], ['b', 'c'], ['c']]);
    expect(outcome).toEqual({
      Status: 'SUCCEEDED',
      Output: { Results: ['a', 'b', 'c'] },
      usage: expect.any(Object),
    });
  });

  it('replaces the input with the result for ResultPath "$", on a state and on a catcher', async () => {
    const definition = {
      StartAt: 'Fails',
      States: {
        Fails: invoke('Fails', {
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$', Next: 'Keep' }],
          End: true,
        }),
        Keep: { Type: 'Pass', Result: { replaced: true }, ResultPath: '$', Next: 'Describe' },
        Describe: { Type: 'Pass', Parameters: { 'was.$': '$' }, End: true },
      },
    };
    const outcome = await run(
      definition,
      { input: 1 },
      {
        [arn('Fails')]: async () => {
          throw named('InvalidInput', 'bad');
        },
      },
    );
    expect(outcome).toEqual({
      Status: 'SUCCEEDED',
      Output: { was: { replaced: true } },
      usage: expect.any(Object),
    });
    const caught = await run(
      {
        StartAt: 'Fails',
        States: {
          Fails: definition.States.Fails,
          Keep: { Type: 'Pass', Parameters: { 'Error.$': '$.Error', 'input.$': '$.input' }, End: true },
        },
      },
      { input: 1 },
      { [arn('Fails')]: async () => fail('InvalidInput', 'bad') },
    );
    // The catcher's ResultPath "$" dropped the input: $.input no longer exists.
    expect(caught).toMatchObject({ Status: 'FAILED', Error: 'States.Runtime' });
    const kept = await run(
      {
        StartAt: 'Fails',
        States: {
          Fails: definition.States.Fails,
          Keep: { Type: 'Pass', Parameters: { 'Error.$': '$.Error' }, End: true },
        },
      },
      { input: 1 },
      { [arn('Fails')]: async () => fail('InvalidInput', 'bad') },
    );
    expect(kept).toEqual({
      Status: 'SUCCEEDED',
      Output: { Error: 'InvalidInput' },
      usage: expect.any(Object),
    });
  });

  it('reports a Fail state as the execution Error and Cause', async () => {
    const outcome = await run(
      {
        StartAt: 'F',
        States: { F: { Type: 'Fail', Error: 'InvalidInput', Cause: 'Source.Bucket is missing' } },
      },
      {},
      {},
    );
    expect(outcome).toEqual({
      Status: 'FAILED',
      Error: 'InvalidInput',
      Cause: 'Source.Bucket is missing',
      usage: expect.any(Object),
    });
  });

  it('fails with the terminal States.DataLimitExceeded when a task returns more than 256 KiB', async () => {
    const definition = {
      StartAt: 'Big',
      States: {
        Big: invoke('Big', { Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }], End: true }),
        Caught: { Type: 'Succeed' },
      },
    };
    const outcome = await run(definition, {}, { [arn('Big')]: async () => 'x'.repeat(300 * 1024) });
    expect(outcome).toMatchObject({ Status: 'FAILED', Error: 'States.DataLimitExceeded' });
  });

  it('aborts: the execution ends ABORTED without waiting for the running handler', async () => {
    const controller = new AbortController();
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let nextCalled = false;
    const definition = {
      StartAt: 'Slow',
      States: { Slow: invoke('Slow', { Next: 'After' }), After: invoke('After', { End: true }) },
    };
    const outcome = run(
      definition,
      {},
      {
        [arn('Slow')]: async () => {
          setTimeout(() => controller.abort(), 10);
          await blocked;
          return {};
        },
        [arn('After')]: async () => {
          nextCalled = true;
        },
      },
      { signal: controller.signal },
    );
    await expect(outcome).resolves.toEqual({ Status: 'ABORTED', usage: expect.any(Object) });
    release();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(nextCalled).toBe(false);
  });

  it('forwards execution events', async () => {
    const types: string[] = [];
    await run(
      { StartAt: 'A', States: { A: invoke('A', { End: true }) } },
      {},
      { [arn('A')]: async () => 1 },
      {
        onEvent: (event: { type: string; executionArn: string }) => {
          expect(event.executionArn).toMatch(/:execution:LocalStateMachine:/);
          types.push(event.type);
        },
      },
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(types).toEqual(
      expect.arrayContaining(['ExecutionStarted', 'StateEntered', 'StateExited', 'ExecutionSucceeded']),
    );
  });
});

describe('local host: loading a definition', () => {
  const load = (
    definition: object,
    handlers: Record<string, LambdaHandler> = { [arn('A')]: async () => 1 },
  ) => loadStateMachine(definition, { staging, handlers });

  it("gives Task states Step Functions' default timeout, not the library's 60 s", () => {
    const loaded = load({ StartAt: 'A', States: { A: invoke('A', { End: true }) } });
    expect(loaded.definition.States.A.TimeoutSeconds).toBeGreaterThan(86400);
    const own = load({ StartAt: 'A', States: { A: invoke('A', { TimeoutSeconds: 30, End: true }) } });
    expect(own.definition.States.A.TimeoutSeconds).toBe(30);
  });

  it.each([
    [
      'a resource it does not emulate',
      { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', End: true },
      /sns:publish/,
    ],
    ['a function without a handler', invoke('Nobody', { End: true }), /no local handler/],
    ['JSONata', { ...invoke('A', { End: true }), QueryLanguage: 'JSONata' }, /JSONPath/],
    ['workflow variables', { ...invoke('A', { End: true }), Assign: { x: 1 } }, /Assign/],
    ['an unknown Task field', { ...invoke('A', { End: true }), HeartbeatSeconds: 10 }, /HeartbeatSeconds/],
    [
      'an asynchronous invocation',
      { ...invoke('A', { End: true }), Parameters: { FunctionName: arn('A'), InvocationType: 'Event' } },
      /RequestResponse/,
    ],
  ])('refuses %s when the definition is loaded', (_what, state, message) => {
    expect(() => load({ StartAt: 'S', States: { S: state } })).toThrow(message);
  });

  it('refuses a task hidden in a Parallel branch or inline Map that it cannot run', () => {
    const sns = { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', End: true };
    expect(() =>
      load({
        StartAt: 'P',
        States: { P: { Type: 'Parallel', Branches: [{ StartAt: 'S', States: { S: sns } }], End: true } },
      }),
    ).toThrow(/sns:publish/);
    expect(() =>
      load({
        StartAt: 'M',
        States: { M: { Type: 'Map', ItemProcessor: { StartAt: 'S', States: { S: sns } }, End: true } },
      }),
    ).toThrow(/sns:publish/);
  });

  it('runs Lambda tasks inside an inline Map and a Parallel state', async () => {
    const definition = {
      StartAt: 'P',
      States: {
        P: {
          Type: 'Parallel',
          Branches: [
            {
              StartAt: 'M',
              States: {
                M: {
                  Type: 'Map',
                  ItemsPath: '$.xs',
                  ItemProcessor: {
                    StartAt: 'Double',
                    States: { Double: { Type: 'Task', Resource: arn('Double'), End: true } },
                  },
                  End: true,
                },
              },
            },
            { StartAt: 'Sum', States: { Sum: { Type: 'Task', Resource: arn('Sum'), End: true } } },
          ],
          End: true,
        },
      },
    };
    const outcome = await run(
      definition,
      { xs: [1, 2, 3] },
      {
        [arn('Double')]: async (x) => (x as number) * 2,
        [arn('Sum')]: async (input) => (input as { xs: number[] }).xs.reduce((a, b) => a + b, 0),
      },
    );
    expect(outcome).toEqual({
      Status: 'SUCCEEDED',
      Output: [[2, 4, 6], 6],
      // Counted in the execution that runs them: P, M, Double x 3, Sum; no child execution.
      usage: expect.objectContaining({
        transitions: 6,
        childExecutions: 0,
        invocations: { [arn('Double')]: 3, [arn('Sum')]: 1 },
      }),
    });
  });
});
