import { isDeepStrictEqual } from 'node:util';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { ErrorName } from '../shared/errors';
import { callWithBackoff, cloudFormationClient, realSleep, sfnClientFor } from './aws-calls';
import { CommandError, reportError } from './command-error';
import { ExitCode } from './exit-codes';
import { readEventFile } from './event-file';
import { executionArnFor, executionConsoleUrl, parseStateMachineArn } from './execution-arn';
import { findStateMachine } from './state-machine-lookup';
import { watchExecution, withCtrlC, type WatchDeps } from './watch';

export interface StartOptions {
  /** Event file, '-' for standard input. */
  event: string;
  stateMachine?: string;
  stack?: string;
  /** Execution name: starting twice with one name reports the first execution. */
  name?: string;
  wait?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export interface StartDeps extends Omit<WatchDeps, 'sfn'> {
  /** A Step Functions client for the state machine's region. */
  sfnClient: (region: string) => SFNClient;
  cloudFormationClient: () => CloudFormationClient;
  env: NodeJS.ProcessEnv;
  stdin?: AsyncIterable<unknown>;
}

/** Step Functions' limit on an execution's input. */
export const MAX_INPUT_BYTES = 256 * 1024;

/**
 * `start`: validates the event locally, finds the state machine, starts an execution (or, with a name
 * already used, reports that execution) and, with `wait`, follows it to its end.
 * @returns without `wait`, 0 once the execution exists; with it, {@link watchExecution}'s exit code.
 */
export async function startExecution(options: StartOptions, deps: StartDeps): Promise<number> {
  const { stderr, stdout } = deps;
  try {
    const event = await readEventFile(options.event, deps.stdin);
    const input = JSON.stringify(event);
    if (Buffer.byteLength(input, 'utf8') > MAX_INPUT_BYTES) {
      throw new CommandError(
        ErrorName.InvalidInput,
        `the event is ${Math.ceil(Buffer.byteLength(input, 'utf8') / 1024)} KiB and Step Functions accepts ` +
          'at most 256 KiB of input: select the objects with Source.Prefix and Include/Exclude, or split Source.Keys',
        ExitCode.CallerError,
      );
    }
    let cloudFormation: CloudFormationClient | undefined;
    const stateMachine = await findStateMachine({
      stateMachine: options.stateMachine,
      stack: options.stack,
      env: deps.env,
      cloudFormation: () => (cloudFormation ??= deps.cloudFormationClient()),
      sleep: deps.sleep,
    });
    const sfn = deps.sfnClient(parseStateMachineArn(stateMachine.arn, stateMachine.from).region);
    if (deps.signal?.aborted) {
      stderr.write('\ninterrupted: nothing was started\n');
      return ExitCode.Interrupted;
    }

    let execution: { executionArn: string; startDate?: Date };
    try {
      const started = await callWithBackoff(
        () =>
          sfn.send(
            new StartExecutionCommand({ stateMachineArn: stateMachine.arn, input, name: options.name }),
          ),
        { sleep: deps.sleep },
      );
      execution = { executionArn: started.executionArn!, startDate: started.startDate };
      stderr.write(`started ${execution.executionArn}\n`);
    } catch (error) {
      if ((error as Error).name !== 'ExecutionAlreadyExists' || options.name === undefined) {
        throw explainStartError(error, stateMachine.arn, stateMachine.from);
      }
      execution = await existingExecution(sfn, stateMachine.arn, options, event, deps);
    }
    stderr.write(`console: ${executionConsoleUrl(execution.executionArn)}\n`);

    if (options.wait) {
      return await watchExecution(
        execution.executionArn,
        { ...deps, sfn },
        { quiet: options.quiet, announce: false },
      );
    }
    if (options.json) {
      stdout.write(
        `${JSON.stringify({ executionArn: execution.executionArn, startDate: execution.startDate })}\n`,
      );
    }
    stderr.write(`follow it: s3-direct-transfer watch ${execution.executionArn}\n`);
    return ExitCode.Ok;
  } catch (error) {
    return reportError(error, stderr);
  }
}

/** StartExecution refused the name: the execution that holds it, reported instead of a new one. */
async function existingExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  options: StartOptions,
  event: unknown,
  deps: StartDeps,
): Promise<{ executionArn: string; startDate?: Date }> {
  const executionArn = executionArnFor(stateMachineArn, options.name!);
  const existing = await callWithBackoff(() => sfn.send(new DescribeExecutionCommand({ executionArn })), {
    sleep: deps.sleep,
  });
  deps.stderr.write(
    `ExecutionAlreadyExists: an execution named ${options.name} was started ` +
      `${existing.startDate?.toISOString() ?? 'before'} (${existing.status}); ` +
      'reporting it instead of starting another\n' +
      `execution ${executionArn}\n`,
  );
  if (!sameEvent(existing.input, event)) {
    deps.stderr.write(`warning: that execution was started with another event than ${options.event}\n`);
  }
  return { executionArn, startDate: existing.startDate };
}

/** Compared, never shown: the input holds the token. */
function sameEvent(input: string | undefined, event: unknown): boolean {
  try {
    return isDeepStrictEqual(JSON.parse(input ?? ''), event);
  } catch {
    return false;
  }
}

function explainStartError(error: unknown, stateMachineArn: string, from: string): unknown {
  const e = error as Error;
  if (e.name === 'StateMachineDoesNotExist') {
    return new CommandError(
      e.name,
      `the state machine ${stateMachineArn} (from ${from}) does not exist: check the ARN and its region`,
      ExitCode.CallerError,
    );
  }
  if (e.name === 'InvalidName') {
    return new CommandError(
      e.name,
      `${e.message} (--name: up to 80 letters, digits, '-' and '_')`,
      ExitCode.CallerError,
    );
  }
  return error;
}

/** `s3-direct-transfer start`: the real clients, streams, clock and Ctrl-C. */
export async function startCommand(options: StartOptions): Promise<number> {
  const clients: { destroy(): void }[] = [];
  const track = <T extends { destroy(): void }>(client: T): T => {
    clients.push(client);
    return client;
  };
  try {
    return await withCtrlC((signal) =>
      startExecution(options, {
        sfnClient: (region) => track(sfnClientFor(region)),
        cloudFormationClient: () => track(cloudFormationClient()),
        env: process.env,
        stdout: process.stdout,
        stderr: process.stderr,
        sleep: realSleep,
        now: Date.now,
        signal,
      }),
    );
  } finally {
    for (const client of clients) client.destroy();
  }
}
