import { resolve } from 'node:path';
import { s3ConfigFromEnv } from '../shared/aws/s3-config';
import { redactText } from '../shared/log';
import { FolderStagingStore } from '../shared/staging';
import type { TransferResult } from '../shared/contracts';
import {
  executionError,
  removeStagingFolder,
  runPipelineLocally,
  type LocalRunOptions,
} from '../local/pipeline';
import { reportError } from './command-error';
import { exitCodeFor } from './exit-codes';
import { readEventFile } from './event-file';
import { ProgressReporter } from './progress';

export interface RunCommandOptions {
  event: string;
  staging?: string;
  concurrency: number;
  objectsPerBatchConcurrency: number;
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

export async function runCommand(options: RunCommandOptions): Promise<number> {
  const loaded = await loadEvent(options.event);
  if (loaded.exitCode !== undefined) return loaded.exitCode;

  const progress = options.quiet ? undefined : new ProgressReporter();
  const controller = new AbortController();
  const onSignal = (): void => {
    process.stderr.write('\ninterrupted: stopping after the copies in flight are cleaned up\n');
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const runOptions: LocalRunOptions = {
    s3Config: s3ConfigFromEnv(),
    staging: options.staging ? new FolderStagingStore(resolve(options.staging)) : undefined,
    maxConcurrency: options.concurrency,
    copyConcurrency: options.objectsPerBatchConcurrency,
    signal: controller.signal,
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
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const { execution, result, staging } = outcome;
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
  return exitCodeFor({ status: execution.Status, failed: transfer.Failed });
}
