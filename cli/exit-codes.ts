/** Exit codes of `run`, `start`, `watch` and `demo` (docs/contracts.md, "Command line"): their one home. */
import { CALLER_ERRORS } from '../shared/errors';

/** 130 and 143: 128 + the signal's number, as shells report a process ended by SIGINT or SIGTERM. */
export const ExitCode = { Ok: 0, SomeFailed: 1, CallerError: 2, Interrupted: 130, Terminated: 143 } as const;

/** How an execution ended, as Step Functions (or the local host) says it. */
export interface EndedExecution {
  readonly status: string;
  /** The execution's Error, when it failed. */
  readonly error?: string;
  /** Objects that failed, when it succeeded. */
  readonly failed?: number;
}

/** 0 when nothing failed, 1 when some objects (or the run) failed, 2 for a bad event or a rejected token. */
export function exitCodeFor(execution: EndedExecution): number {
  if (execution.status === 'SUCCEEDED')
    return (execution.failed ?? 0) > 0 ? ExitCode.SomeFailed : ExitCode.Ok;
  if (execution.status === 'FAILED' && execution.error !== undefined && CALLER_ERRORS.has(execution.error)) {
    return ExitCode.CallerError;
  }
  return ExitCode.SomeFailed;
}
