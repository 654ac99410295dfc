import { FolderStagingStore } from '../../shared/staging';
import { runStateMachine } from '../../local/stepfunctions/host';

const FN = 'arn:aws:lambda:us-west-2:000000000000:function:Echo';

describe('Promise.withResolvers polyfill', () => {
  it('installs a working Promise.withResolvers where the runtime lacks it (Node 20)', async () => {
    const native = Object.getOwnPropertyDescriptor(Promise, 'withResolvers');
    delete (Promise as { withResolvers?: unknown }).withResolvers;
    try {
      await jest.isolateModulesAsync(async () => {
        await import('../../local/stepfunctions/polyfill');
      });
      const P = Promise as unknown as {
        withResolvers: <T>() => { promise: Promise<T>; resolve(v: T): void };
      };
      expect(typeof P.withResolvers).toBe('function');
      const { promise, resolve } = P.withResolvers<number>();
      resolve(42);
      await expect(promise).resolves.toBe(42);
    } finally {
      if (native) Object.defineProperty(Promise, 'withResolvers', native);
    }
  });

  it('lets a Task run once, not fail with a TypeError hidden by a States.ALL retrier', async () => {
    const calls: unknown[] = [];
    const outcome = await runStateMachine(
      {
        StartAt: 'Echo',
        States: {
          Echo: {
            Type: 'Task',
            Resource: FN,
            Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 3, IntervalSeconds: 1 }],
            End: true,
          },
        },
      },
      { hello: 'world' },
      {
        staging: new FolderStagingStore('/nonexistent-staging'),
        handlers: { [FN]: async (event) => (calls.push(event), { echoed: event }) },
        retryIntervalOverrides: { Echo: 0 },
      },
    );
    expect(outcome).toEqual({
      Status: 'SUCCEEDED',
      Output: { echoed: { hello: 'world' } },
      usage: expect.any(Object),
    });
    expect(calls).toHaveLength(1);
  });
});
