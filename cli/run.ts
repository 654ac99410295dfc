import { resolve } from 'node:path';
import { s3ConfigFromEnv } from '../shared/aws/s3-config';
import { redactText } from '../shared/log';
import { FolderStagingStore } from '../shared/staging';
import type { TransferResult } from '../shared/contracts';
import {
  executionError,
  removeStagingFolder,
  runPipelineLocally,
  type LocalProgress,
  type LocalRunOptions,
} from '../local/pipeline';
import { reportError } from './command-error';
import { ExitCode, exitCodeFor } from './exit-codes';
import { readEventFile } from './event-file';
import { formatBytes, ProgressReporter } from './progress';

export interface RunCommandOptions {
  event: string;
  staging?: string;
  concurrency: number;
  objectsPerBatchConcurrency: number;
  /** Timeout of each copy invocation, in seconds. @default the deployed copy Lambda's */
  lambdaTimeout?: number;
  quiet?: boolean;
}

/** Loads and validates the event: exit code 2 with a clear message when it is unusable. */
export async function loadEvent(path: string): Promise<{ event?: unknown; exitCode?: number }> {
  try {
    return { event: await readEventFile(path) };
  } catch (error) {
    return { exitCode: reportError(error, process.stderr) };
  }
}

const report = (line: string): void => void process.stderr.write(`${line}\n`);

/**
 * Ctrl-C (or SIGTERM) during `run`: the first one aborts the run (copies in flight and their multipart
 * uploads, the staged token); a second one only says that the cleanup is still under way, so that
 * nothing is left behind by an impatient finger. The handlers stay until {@link release}.
 */
class Interrupt {
  private readonly controller = new AbortController();
  signalName?: NodeJS.Signals;

  constructor(private readonly progress?: ProgressReporter) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.signalName === undefined) {
      this.signalName = signal;
      this.progress?.stop();
      report(
        '\ninterrupted: aborting the copies in flight and their multipart uploads; no object starts any more',
      );
      this.controller.abort();
    } else {
      report('still cleaning up (aborting multipart uploads, deleting the staged token); it ends by itself');
    }
  };

  /**
   * The run is over. After an interruption, another signal (while the process lets its sockets close)
   * ends it at once with the interrupted exit code; otherwise the default handling returns.
   */
  release(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    if (this.signalName === undefined) return;
    const code = this.signalName === 'SIGINT' ? ExitCode.Interrupted : ExitCode.Terminated;
    const exitNow = (): never => process.exit(code);
    process.once('SIGINT', exitNow);
    process.once('SIGTERM', exitNow);
  }
}

function interruptedSummary(progress: LocalProgress): string {
  const done = progress.objectsDone;
  const left = Math.max(0, progress.objectsTotal - done);
  return (
    `stopped: ${done} of ${progress.objectsTotal} objects done (${progress.objectsDone - progress.failed - progress.skipped} ` +
    `copied, ${progress.skipped} skipped, ${progress.failed} failed, ${formatBytes(progress.bytesDone)}); ` +
    `${left} not copied. Every multipart upload in flight was aborted, nothing is written any more, and ` +
    'the staged token is deleted. Run the same event again with "Options": { "Sync": true } to copy the rest.'
  );
}

export async function runCommand(options: RunCommandOptions): Promise<number> {
  const loaded = await loadEvent(options.event);
  if (loaded.exitCode !== undefined) return loaded.exitCode;

  const progress = options.quiet ? undefined : new ProgressReporter();
  const interrupt = new Interrupt(progress);
  const runOptions: LocalRunOptions = {
    s3Config: s3ConfigFromEnv(),
    staging: options.staging ? new FolderStagingStore(resolve(options.staging)) : undefined,
    maxConcurrency: options.concurrency,
    copyConcurrency: options.objectsPerBatchConcurrency,
    lambdaTimeoutSeconds: options.lambdaTimeout,
    signal: interrupt.signal,
    onPlanned: (plan) => {
      process.stderr.write(
        plan.DryRun
          ? `dry run: ${plan.Count} objects planned, nothing is copied\n`
          : `planned ${plan.Count} objects\n`,
      );
      if (!plan.DryRun && plan.Count > 0) progress?.start(plan.Count, plan.Bytes);
    },
    onProgress: (p) => progress?.update(p),
  };
  let outcome;
  try {
    outcome = await runPipelineLocally(loaded.event, runOptions);
  } finally {
    progress?.stop();
    interrupt.release();
  }
  const { execution, result, staging } = outcome;
  if (interrupt.signalName !== undefined) {
    report(interruptedSummary(outcome.progress));
    if (!options.staging) await removeStagingFolder(staging);
    return interrupt.signalName === 'SIGINT' ? ExitCode.Interrupted : ExitCode.Terminated;
  }
  if (execution.Status !== 'SUCCEEDED') {
    const error = executionError(execution);
    process.stderr.write(`${error.name}: ${redactText(error.message)}\n`);
    if (!options.staging) await removeStagingFolder(staging);
    return exitCodeFor({
      status: execution.Status,
      error: 'Error' in execution ? execution.Error : undefined,
    });
  }
  const transfer = result as TransferResult;
  process.stdout.write(`${JSON.stringify(transfer, null, 2)}\n`);
  if (transfer.Report && staging instanceof FolderStagingStore) {
    process.stderr.write(`report: ${resolve(staging.root, transfer.Report.Key)}\n`);
  }
  return exitCodeFor({ status: execution.Status, failed: transfer.Failed + (transfer.NotDeleted ?? 0) });
}
