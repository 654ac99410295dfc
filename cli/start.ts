import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { ErrorName } from '../shared/errors';
import { callWithBackoff, cloudFormationClient, realSleep, sfnClientFor } from './aws-calls';
import { CommandError, reportError } from './command-error';
import { ExitCode } from './exit-codes';
import { readEventFile } from './event-file';
import { executionArnFor, executionConsoleUrl, parseStateMachineArn } from './execution-arn';
import { findStateMachine, outputsOfStateMachineStack } from './state-machine-lookup';
import { checkEventEndpoint, deploymentSettings, executionInput, takeCustodyOfToken } from './token-custody';
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
  /** A CloudFormation client for a region (default: the configured one). */
  cloudFormationClient: (region?: string) => CloudFormationClient;
  /** An SSM client for the state machine's region (`start` stores inline tokens there). */
  ssmClient: (region: string) => SSMClient;
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
    let cloudFormation: CloudFormationClient | undefined;
    const stateMachine = await findStateMachine({
      stateMachine: options.stateMachine,
      stack: options.stack,
      env: deps.env,
      cloudFormation: () => (cloudFormation ??= deps.cloudFormationClient()),
      sleep: deps.sleep,
    });
    const { region } = parseStateMachineArn(stateMachine.arn, stateMachine.from);
    const settings = deploymentSettings(
      stateMachine.outputs ??
        (await outputsOfStateMachineStack(deps.cloudFormationClient(region), stateMachine.arn, deps.sleep)),
      stateMachine.from,
    );
    // Before anything is stored or started: the deployment would refuse it anyway.
    checkEventEndpoint(event, settings);
    const sfn = deps.sfnClient(region);
    if (deps.signal?.aborted) {
      stderr.write('\ninterrupted: nothing was started\n');
      return ExitCode.Interrupted;
    }

    const name = options.name ?? randomUUID();
    let execution: { executionArn: string; startDate?: Date } | undefined;
    // A name in use: report that execution and touch nothing, its token least of all.
    const expected = executionInput(event, name, settings);
    checkInputSize(expected);
    if (options.name !== undefined) {
      execution = await existingExecution(sfn, stateMachine.arn, options, expected, deps);
    }
    if (!execution) {
      const custody = await takeCustodyOfToken(event, name, settings, () => deps.ssmClient(region));
      try {
        execution = await start(sfn, stateMachine, custody.input, name, deps);
      } catch (error) {
        await custody.undo();
        if ((error as Error).name !== 'ExecutionAlreadyExists' || options.name === undefined) {
          throw explainStartError(error, stateMachine.arn, stateMachine.from);
        }
        execution = (await existingExecution(sfn, stateMachine.arn, options, expected, deps))!;
      }
      if (custody.parameter) {
        stderr.write(
          `the event's token is in the SSM SecureString ${custody.parameter}: the execution's input names it, ` +
            'and it is deleted when the execution ends\n',
        );
      }
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

/** Refuses an input Step Functions would refuse, before anything is stored or started. */
function checkInputSize(input: Record<string, unknown>): void {
  const bytes = Buffer.byteLength(JSON.stringify(input), 'utf8');
  if (bytes > MAX_INPUT_BYTES) {
    throw new CommandError(
      ErrorName.InvalidInput,
      `the event is ${Math.ceil(bytes / 1024)} KiB and Step Functions accepts ` +
        'at most 256 KiB of input: select the objects with Source.Prefix and Include/Exclude, or split Source.Keys',
      ExitCode.CallerError,
    );
  }
}

/** Starts the execution with `input` (which holds no token). */
async function start(
  sfn: SFNClient,
  stateMachine: { arn: string },
  input: Record<string, unknown>,
  name: string,
  deps: StartDeps,
): Promise<{ executionArn: string; startDate?: Date }> {
  const text = JSON.stringify(input);
  const started = await callWithBackoff(
    () => sfn.send(new StartExecutionCommand({ stateMachineArn: stateMachine.arn, input: text, name })),
    { sleep: deps.sleep },
  );
  deps.stderr.write(`started ${started.executionArn}\n`);
  return { executionArn: started.executionArn!, startDate: started.startDate };
}

/** The execution that holds `--name`, reported instead of a new one; undefined when there is none. */
async function existingExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  options: StartOptions,
  expectedInput: unknown,
  deps: StartDeps,
): Promise<{ executionArn: string; startDate?: Date } | undefined> {
  const executionArn = executionArnFor(stateMachineArn, options.name!);
  let existing;
  try {
    existing = await callWithBackoff(() => sfn.send(new DescribeExecutionCommand({ executionArn })), {
      sleep: deps.sleep,
    });
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
    throw explainStartError(error, stateMachineArn, '--name');
  }
  deps.stderr.write(
    `ExecutionAlreadyExists: an execution named ${options.name} was started ` +
      `${existing.startDate?.toISOString() ?? 'before'} (${existing.status}); ` +
      'reporting it instead of starting another\n' +
      `execution ${executionArn}\n`,
  );
  if (!sameInput(existing.input, expectedInput)) {
    deps.stderr.write(`warning: that execution was started with another event than ${options.event}\n`);
  }
  return { executionArn, startDate: existing.startDate };
}

/** Compared, never shown: an input may hold a token. */
function sameInput(input: string | undefined, expected: unknown): boolean {
  try {
    return isDeepStrictEqual(JSON.parse(input ?? ''), expected);
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
        cloudFormationClient: (region) => track(cloudFormationClient(process.env, region)),
        ssmClient: (region) => track(new SSMClient({ region })),
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
