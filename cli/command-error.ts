import { redactText } from '../shared/log';
import { ExitCode } from './exit-codes';

/** An error the CLI reports as `name: message` and ends with `exitCode`, without a stack trace. */
export class CommandError extends Error {
  constructor(
    name: string,
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = name;
  }
}

/** Step Functions errors that mean the caller named something wrong: nothing was started or found. */
const CALLER_SFN_ERRORS = new Set([
  'InvalidArn',
  'InvalidName',
  'InvalidExecutionInput',
  'StateMachineDoesNotExist',
  'StateMachineDeleting',
  'ExecutionDoesNotExist',
]);

/** Prints an error the way the CLI does (`Name: message`, secrets masked) and returns its exit code. */
export function reportError(error: unknown, stderr: { write(text: string): unknown }): number {
  const e = error instanceof Error ? error : new Error(String(error));
  let message = e.message;
  if (e.name === 'CredentialsProviderError') {
    message += ' (configure AWS credentials: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, ...)';
  }
  stderr.write(`${e.name}: ${redactText(message)}\n`);
  if (error instanceof CommandError) return error.exitCode;
  return CALLER_SFN_ERRORS.has(e.name) ? ExitCode.CallerError : ExitCode.SomeFailed;
}
