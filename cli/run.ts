import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { parseEvent } from '../shared/event';
import { ErrorName } from '../shared/errors';
import { redactText, registerSecret } from '../shared/log';
import { FolderStagingStore } from '../shared/staging';
import type { TransferResult } from '../shared/batch';
import {
  ExitCode,
  executionError,
  exitCodeFor,
  removeStagingFolder,
  runPipelineLocally,
  type LocalRunOptions,
} from '../local/pipeline';
import { ProgressReporter } from './progress';

export interface RunCommandOptions {
  event: string;
  staging?: string;
  concurrency: number;
  objectsPerBatchConcurrency: number;
  quiet?: boolean;
}

/** Standard SDK configuration for `run`: region, and an endpoint override with path-style addressing. */
export function s3ConfigFromEnvironment(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  return { ...(region && { region }), ...(endpoint && { endpoint, forcePathStyle: true }) };
}

async function readEventFile(path: string): Promise<string> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  return readFile(path, 'utf8');
}

function fail(name: string, message: string): number {
  process.stderr.write(`${name}: ${redactText(message)}\n`);
  return ExitCode.CallerError;
}

/** Loads and validates the event: exit code 2 with a clear message when it is unusable. */
export async function loadEvent(path: string): Promise<{ event?: unknown; exitCode?: number }> {
  let text: string;
  try {
    text = await readEventFile(path);
  } catch (error) {
    return {
      exitCode: fail(
        ErrorName.InvalidInput,
        `cannot read the event file ${path}: ${(error as Error).message}`,
      ),
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return {
      exitCode: fail(
        ErrorName.InvalidInput,
        `the event file ${path} is not valid JSON: ${(error as Error).message}`,
      ),
    };
  }
  for (const field of ['BearerToken', 'JwtCookie'] as const) {
    const value = (raw as Record<string, unknown> | null)?.[field];
    if (typeof value === 'string') registerSecret(value);
  }
  try {
    parseEvent(raw);
  } catch (error) {
    return { exitCode: fail((error as Error).name, (error as Error).message) };
  }
  return { event: raw };
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
    s3Config: s3ConfigFromEnvironment(),
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
    return exitCodeFor(execution);
  }
  const transfer = result as TransferResult;
  process.stdout.write(`${JSON.stringify(transfer, null, 2)}\n`);
  if (transfer.Report && staging instanceof FolderStagingStore) {
    process.stderr.write(`report: ${resolve(staging.root, transfer.Report.Key)}\n`);
  }
  return exitCodeFor(execution, transfer);
}
