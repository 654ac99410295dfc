import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListMapRunsCommand,
  type DescribeExecutionCommandOutput,
  type MapRunItemCounts,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { TransferResult } from '../shared/contracts';
import { describeCause } from '../shared/errors';
import { redactText } from '../shared/log';
import { isTransient } from '../shared/aws/sdk-errors';
import { realSleep, sfnClientFor, type Sleep } from './aws-calls';
import { reportError } from './command-error';
import { ExitCode, exitCodeFor } from './exit-codes';
import { executionConsoleUrl, parseExecutionArn } from './execution-arn';
import { MapRunProgress, type MapRunSnapshot } from './map-run-progress';
import { formatBytes, formatDuration } from './progress';

/** Where the commands write: stdout for the result JSON, stderr for everything else. */
export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface WatchDeps {
  sfn: SFNClient;
  stdout: TextSink;
  stderr: TextSink;
  sleep: Sleep;
  /** Epoch milliseconds. */
  now: () => number;
  /** Aborted by Ctrl-C: stops the watching, never the execution. */
  signal?: AbortSignal;
}

export interface WatchOptions {
  /** No progress on stderr. */
  quiet?: boolean;
  /** Seconds between two polls while nothing is refused. @default 5 */
  pollSeconds?: number;
  /** Print the execution and its console link first (`start` already did). @default true */
  announce?: boolean;
}

/** Longest wait between polls while Step Functions throttles them or the network fails. */
const MAX_POLL_WAIT_MS = 60_000;
/** Polls refused in a row before giving up (about a quarter of an hour at the longest wait). */
const MAX_REFUSED_POLLS = 20;
/** Failures listed on stderr at the end; all of them are in the result and the report. */
const LISTED_FAILURES = 5;

/**
 * Follows an execution until it ends, showing its Distributed Map's progress on stderr, then prints the
 * result JSON (the execution's output) on stdout.
 * @returns 0 nothing failed; 1 some objects failed, or the execution failed, timed out or was stopped;
 *   2 it failed on the caller's event or token (InvalidInput, AuthenticationFailed, ...); 130 Ctrl-C.
 */
export async function watchExecution(
  executionArn: string,
  deps: WatchDeps,
  options: WatchOptions = {},
): Promise<number> {
  const { stderr, signal } = deps;
  const progress = options.quiet ? undefined : new MapRunProgress({ stream: stderr, now: deps.now });
  try {
    parseExecutionArn(executionArn);
    if (options.announce ?? true) {
      stderr.write(`watching ${executionArn}\nconsole: ${executionConsoleUrl(executionArn)}\n`);
    }
    const calls: SfnCalls = { sfn: deps.sfn, options: { abortSignal: signal } };
    const pollMs = (options.pollSeconds ?? 5) * 1000;
    let wait = pollMs;
    let refused = 0;
    let mapRunArn: string | undefined;
    let toldPlanning = false;
    for (;;) {
      if (signal?.aborted) return interrupted(executionArn, stderr, progress);
      try {
        const execution = await calls.sfn.send(new DescribeExecutionCommand({ executionArn }), calls.options);
        const ended = execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE';
        mapRunArn ??= await latestMapRun(executionArn, calls);
        if (mapRunArn) {
          progress?.update(await mapRunSnapshot(mapRunArn, execution, calls));
        } else if (!ended && !toldPlanning && !options.quiet) {
          stderr.write('running: Plan lists the source; the copy starts after it\n');
          toldPlanning = true;
        }
        if (ended) {
          progress?.stop();
          return finish(executionArn, execution, deps);
        }
        wait = pollMs;
        refused = 0;
      } catch (error) {
        if (signal?.aborted) return interrupted(executionArn, stderr, progress);
        if (!isTransient(error) || ++refused > MAX_REFUSED_POLLS) throw error;
        wait = Math.min(wait * 2, MAX_POLL_WAIT_MS);
        if (refused === 1) {
          stderr.write(`${(error as Error).name}: asking again in ${formatDuration(wait / 1000)}\n`);
        }
      }
      try {
        await deps.sleep(wait, signal);
      } catch (error) {
        if (signal?.aborted) return interrupted(executionArn, stderr, progress);
        throw error;
      }
    }
  } catch (error) {
    progress?.stop();
    const code = reportError(error, stderr);
    if (code !== ExitCode.CallerError) stderr.write(resumeHint(executionArn));
    return code;
  }
}

interface SfnCalls {
  sfn: SFNClient;
  options: { abortSignal?: AbortSignal };
}

/** The execution's Distributed Map run (the newest, should there be several), once it has started. */
async function latestMapRun(executionArn: string, calls: SfnCalls): Promise<string | undefined> {
  const { mapRuns } = await calls.sfn.send(new ListMapRunsCommand({ executionArn }), calls.options);
  const newest = [...(mapRuns ?? [])].sort(
    (a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0),
  )[0];
  return newest?.mapRunArn;
}

async function mapRunSnapshot(
  mapRunArn: string,
  execution: DescribeExecutionCommandOutput,
  calls: SfnCalls,
): Promise<MapRunSnapshot> {
  const run = await calls.sfn.send(new DescribeMapRunCommand({ mapRunArn }), calls.options);
  const c: Partial<MapRunItemCounts> = run.itemCounts ?? {};
  const n = (v: number | undefined): number => v ?? 0;
  const executionStart = execution.startDate?.getTime() ?? run.startDate?.getTime() ?? 0;
  return {
    counts: {
      succeeded: n(c.succeeded),
      failed: n(c.failed) + n(c.timedOut) + n(c.aborted),
      running: n(c.running),
      pending: n(c.pending),
      total: n(c.total),
    },
    executionStart,
    mapRunStart: run.startDate?.getTime() ?? executionStart,
  };
}

function finish(executionArn: string, execution: DescribeExecutionCommandOutput, deps: WatchDeps): number {
  const { stderr, stdout } = deps;
  const took =
    execution.startDate && execution.stopDate
      ? ` after ${formatDuration((execution.stopDate.getTime() - execution.startDate.getTime()) / 1000)}`
      : '';
  switch (execution.status) {
    case 'SUCCEEDED': {
      const result = transferResult(execution.output);
      if (!result) {
        stderr.write(
          `InvalidOutput: the execution succeeded${took} but its output is not a transfer result\n`,
        );
        return ExitCode.SomeFailed;
      }
      stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      stderr.write(
        result.DryRun
          ? `dry run${took}: ${result.Planned ?? 0} objects planned, nothing copied\n`
          : `succeeded${took}: ${result.Copied} copied, ${result.Skipped} skipped, ${result.Failed} failed, ` +
              `${formatBytes(result.Bytes)}\n`,
      );
      for (const f of (result.Failures ?? []).slice(0, LISTED_FAILURES)) {
        stderr.write(`  failed ${f.Key}: ${f.Error}: ${redactText(f.Cause ?? '')}\n`);
      }
      if (result.Report) stderr.write(`report: s3://${result.Report.Bucket}/${result.Report.Key}\n`);
      return exitCodeFor({ status: 'SUCCEEDED', failed: result.Failed + (result.NotDeleted ?? 0) });
    }
    case 'FAILED': {
      const name = execution.error || 'ExecutionFailed';
      stderr.write(
        `${name}: ${redactText(describeCause(execution.cause) ?? `the execution failed${took}`)}\n`,
      );
      stderr.write(`the execution failed${took}; details: ${executionConsoleUrl(executionArn)}\n`);
      return exitCodeFor({ status: 'FAILED', error: name });
    }
    case 'TIMED_OUT':
      stderr.write(`ExecutionTimedOut: the execution timed out${took}\n`);
      return ExitCode.SomeFailed;
    default: {
      const why = execution.error
        ? ` (${execution.error}: ${redactText(describeCause(execution.cause) ?? '')})`
        : '';
      stderr.write(`ExecutionAborted: the execution was stopped${took}${why}\n`);
      return ExitCode.SomeFailed;
    }
  }
}

function transferResult(output: string | undefined): TransferResult | undefined {
  try {
    const parsed = JSON.parse(output ?? '') as TransferResult;
    return parsed && typeof parsed === 'object' && typeof parsed.Failed === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function resumeHint(executionArn: string): string {
  return `resume:  s3-direct-transfer watch ${executionArn}\n`;
}

function interrupted(executionArn: string, stderr: TextSink, progress?: MapRunProgress): number {
  progress?.stop();
  stderr.write(
    '\nstopped watching; the execution goes on.\n' +
      resumeHint(executionArn) +
      `stop it: aws stepfunctions stop-execution --execution-arn ${executionArn}\n`,
  );
  return ExitCode.Interrupted;
}

/** Runs `fn` with a signal that Ctrl-C aborts; a second Ctrl-C ends the process as usual. */
export async function withCtrlC<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export interface WatchCommandOptions {
  quiet?: boolean;
}

/** `s3-direct-transfer watch EXECUTION_ARN`: the real clients, streams, clock and Ctrl-C. */
export async function watchCommand(executionArn: string, options: WatchCommandOptions): Promise<number> {
  let region: string;
  try {
    region = parseExecutionArn(executionArn).region;
  } catch (error) {
    return reportError(error, process.stderr);
  }
  const sfn = sfnClientFor(region);
  try {
    return await withCtrlC((signal) =>
      watchExecution(
        executionArn,
        { sfn, stdout: process.stdout, stderr: process.stderr, sleep: realSleep, now: Date.now, signal },
        { quiet: options.quiet },
      ),
    );
  } finally {
    sfn.destroy();
  }
}
