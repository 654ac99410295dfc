/**
 * What the local host counts of an execution as AWS would bill it: state transitions (each state entered,
 * each Retry attempt), child executions of Distributed Maps, Lambda invocations and their duration.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderStagingStore } from '../../shared/staging';
import { runStateMachine } from '../../local/stepfunctions/host';
import { COPY, copyObjects, definitionOf, jsonLines, keys, runMap } from './fixtures/distributed-map';

const arn = (name: string): string => `arn:aws:lambda:us-west-2:000000000000:function:${name}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let dir: string;
let staging: FolderStagingStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-usage-'));
  staging = new FolderStagingStore(dir, 'local-staging');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('local host: usage', () => {
  it('counts each state entered and each Retry attempt as a transition, and each invocation with its duration', async () => {
    let calls = 0;
    const definition = {
      StartAt: 'Start',
      States: {
        Start: { Type: 'Pass', Result: { go: true }, Next: 'Work' },
        Work: {
          Type: 'Task',
          Resource: arn('Work'),
          Retry: [{ ErrorEquals: ['TransientError'], MaxAttempts: 1 }],
          Next: 'Check',
        },
        Check: {
          Type: 'Choice',
          Choices: [{ Variable: '$.ok', BooleanEquals: true, Next: 'Done' }],
          Default: 'Failed',
        },
        Done: { Type: 'Succeed' },
        Failed: { Type: 'Fail', Error: 'NotOk' },
      },
    };
    const outcome = await runStateMachine(
      definition,
      {},
      {
        staging,
        handlers: {
          [arn('Work')]: async () => {
            await sleep(40);
            if (++calls === 1) throw Object.assign(new Error('try again'), { name: 'TransientError' });
            return { ok: true };
          },
        },
        retryIntervalOverrides: { Work: 0 },
        validate: false,
      },
    );
    expect(outcome.Status).toBe('SUCCEEDED');
    // Start, Work, Work's retry, Check, Done.
    expect(outcome.usage.transitions).toBe(5);
    expect(outcome.usage.childExecutions).toBe(0);
    expect(outcome.usage.invocations).toEqual({ [arn('Work')]: 2 });
    expect(Object.keys(outcome.usage.lambdaMs)).toEqual([arn('Work')]);
    expect(outcome.usage.lambdaMs[arn('Work')]).toBeGreaterThanOrEqual(75);
    expect(outcome.usage.lambdaMs[arn('Work')]).toBeLessThan(2000);
  });

  it('counts a state entered again by a loop, and a Catch as the next state entered', async () => {
    let calls = 0;
    const definition = {
      StartAt: 'Work',
      States: {
        Work: {
          Type: 'Task',
          Resource: arn('Work'),
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Done' }],
          Next: 'Again',
        },
        Again: { Type: 'Pass', Next: 'Work' },
        Done: { Type: 'Succeed' },
      },
    };
    const outcome = await runStateMachine(
      definition,
      {},
      {
        staging,
        handlers: {
          [arn('Work')]: async () => {
            if (++calls === 3) throw new Error('stop');
            return {};
          },
        },
        validate: false,
      },
    );
    expect(outcome.Status).toBe('SUCCEEDED');
    // Work, Again, Work, Again, Work (caught), Done.
    expect(outcome.usage.transitions).toBe(6);
    expect(outcome.usage.invocations).toEqual({ [arn('Work')]: 3 });
  });

  it.each([
    [7, 3],
    [6, 2],
    [1, 4],
  ])(
    'counts a Distributed Map of %i items in batches of %i: ceil(N/B) child executions, and their transitions',
    async (items, perBatch) => {
      await staging.put('run/manifest.jsonl', jsonLines(keys(items)));
      const { End: _end, ...map } = copyObjects({ ItemBatcher: { MaxItemsPerBatch: perBatch } });
      const definition = definitionOf({ ...map, Next: 'Done' }, { Done: { Type: 'Succeed' } });
      const outcome = await runMap(staging, definition, async (event) => event, { validate: false });
      expect(outcome.Status).toBe('SUCCEEDED');
      const children = Math.ceil(items / perBatch);
      expect(outcome.usage.childExecutions).toBe(children);
      // The root enters CopyObjects and Done; each child enters its one CopyBatch state.
      expect(outcome.usage.transitions).toBe(2 + children * 1);
      expect(outcome.usage.invocations).toEqual({ [COPY]: children });
    },
  );
});
