/**
 * Runs the pipeline on one machine: the state machine definition synthesized from the CDK app, executed
 * by the local host, with each Lambda ARN bound to the same core its Lambda handler calls.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { CopyBatchInput, CopyBatchOutput, PlanOutput, TransferResult } from '../shared/contracts';
import { copyClientConfig } from '../shared/copy';
import { ErrorName, TransferError } from '../shared/errors';
import type { StagingStore } from '../shared/staging';
import { FolderStagingStore } from '../shared/staging';
import { copyBatch } from '../functions/copy-batch/copy-batch';
import { sourceSideFor } from '../functions/copy-batch/source-side';
import { planTransfer } from '../functions/plan/plan';
import { unwrapPlanInput } from '../functions/plan/handler';
import { summarize, type SummarizeInput } from '../functions/summarize/summarize';
import { loadDefinitionArtifact, type DefinitionArtifact } from './definition/artifact';
import { loadStateMachine, type ExecutionEvent, type ExecutionOutcome } from './stepfunctions/host';

export interface LocalProgress {
  objectsTotal: number;
  bytesTotal: number;
  objectsDone: number;
  bytesDone: number;
  failed: number;
}

export interface LocalRunOptions {
  /** Region, endpoint and path-style addressing for both sides (credentials are set per side). */
  readonly s3Config?: S3ClientConfig;
  /** The destination side's credentials. @default the SDK's default credential chain */
  readonly destinationCredentials?: S3ClientConfig['credentials'];
  /** Where the manifest, map results and report go. @default a new temporary folder */
  readonly staging?: StagingStore;
  /** Run id (`$$.Execution.Name`, the staging folder name). @default a UUID */
  readonly runId?: string;
  /** Batches copied at once (the Distributed Map's MaxConcurrency, capped here). @default 8 */
  readonly maxConcurrency?: number;
  /** Objects copied at once within a batch. @default 4 */
  readonly copyConcurrency?: number;
  /** The definition artifact. @default local/definition/definition.json */
  readonly artifact?: DefinitionArtifact;
  /** For tests: pauses of Retry states in ms, by state name. */
  readonly retryIntervalOverrides?: Record<string, number | number[]>;
  readonly signal?: AbortSignal;
  readonly onPlanned?: (plan: PlanOutput) => void;
  readonly onProgress?: (progress: LocalProgress) => void;
  /** Every state event of the execution and of its child executions (inputs and outputs included). */
  readonly onEvent?: (event: ExecutionEvent) => void;
  /** For tests: replaces the CopyBatch core. */
  readonly copyBatchOverride?: (input: CopyBatchInput) => Promise<CopyBatchOutput>;
}

export interface LocalRunOutcome {
  readonly execution: ExecutionOutcome;
  /** The result contract, when the execution succeeded. */
  readonly result?: TransferResult;
  readonly runId: string;
  readonly staging: StagingStore;
}

/** Destination credentials come from the default chain when none are given, as for `run`. */
function destinationClient(options: LocalRunOptions): S3Client {
  return new S3Client({
    ...options.s3Config,
    ...copyClientConfig(),
    ...(options.destinationCredentials && { credentials: options.destinationCredentials }),
  });
}

/** Runs one execution of the pipeline in this process. */
export async function runPipelineLocally(
  event: unknown,
  options: LocalRunOptions = {},
): Promise<LocalRunOutcome> {
  const artifact = options.artifact ?? loadDefinitionArtifact();
  const runId = options.runId ?? randomUUID();
  const staging =
    options.staging ?? new FolderStagingStore(await mkdtemp(join(tmpdir(), 's3-direct-transfer-')));
  const s3Config = options.s3Config ?? {};
  const ssm = new SSMClient(s3Config.region ? { region: s3Config.region as string } : {});
  const destination = destinationClient(options);
  const progress: LocalProgress = { objectsTotal: 0, bytesTotal: 0, objectsDone: 0, bytesDone: 0, failed: 0 };
  const reported = new Set<string>();

  const plan = async (input: unknown): Promise<PlanOutput> => {
    const { event: inner, executionName } = unwrapPlanInput(input);
    const output = await planTransfer(inner, {
      sourceClient: (credentials) => new S3Client({ ...s3Config, credentials }),
      staging,
      ssm,
      runId: executionName ?? runId,
    });
    progress.objectsTotal = output.Count;
    progress.bytesTotal = output.Bytes;
    options.onPlanned?.(output);
    options.onProgress?.({ ...progress });
    return output;
  };

  const copy = async (input: unknown): Promise<CopyBatchOutput> => {
    const batch = input as CopyBatchInput;
    const output = options.copyBatchOverride
      ? await options.copyBatchOverride(batch)
      : await copyBatch(batch, {
          source: (batchInput) =>
            sourceSideFor(batchInput, { ssm, staging: () => staging, s3Config: { ...s3Config } }),
          destination,
          // No Lambda deadline on one machine.
          remainingTimeMs: () => Number.MAX_SAFE_INTEGER,
          concurrency: options.copyConcurrency,
        });
    const carried = batch.Results?.length ?? 0;
    for (const r of output.Results.slice(carried)) {
      const id = `${r.Key}\u0000${r.DestKey}`;
      if (reported.has(id)) continue;
      reported.add(id);
      progress.objectsDone++;
      progress.bytesDone += r.Bytes;
      if (r.Status === 'FAILED') progress.failed++;
    }
    options.onProgress?.({ ...progress });
    return output;
  };

  const summarizeHandler = (input: unknown): Promise<TransferResult> =>
    summarize(input as SummarizeInput, { staging });

  const machine = loadStateMachine(artifact.definition, {
    handlers: {
      [artifact.functions.plan]: plan,
      [artifact.functions.copy]: copy,
      [artifact.functions.summarize]: summarizeHandler,
    },
    staging,
    stagingBucketPlaceholder: artifact.stagingBucketPlaceholder,
    maxConcurrencyCap: options.maxConcurrency ?? 8,
    retryIntervalOverrides: options.retryIntervalOverrides,
    // The committed artifact is validated by the tests (test/local/pipeline.test.ts): skipping
    // asl-validator here saves ~0.5 s of CPU on every `run` (docs/PERFORMANCE.md, Pipeline).
    validate: options.artifact !== undefined,
  });
  try {
    const execution = await machine.run(event, {
      name: runId,
      signal: options.signal,
      onEvent: options.onEvent,
    });
    const result =
      execution.Status === 'SUCCEEDED' ? (execution.Output as unknown as TransferResult) : undefined;
    return { execution, result, runId, staging };
  } finally {
    destination.destroy();
    ssm.destroy();
  }
}

/** Exit codes of `run`, `start` and `watch` (design.md). */
export const ExitCode = { Ok: 0, SomeFailed: 1, CallerError: 2 } as const;

const CALLER_ERROR_NAMES = new Set<string>([
  ErrorName.InvalidInput,
  ErrorName.AuthenticationFailed,
  ErrorName.EulaNotAccepted,
  ErrorName.CredentialsForbidden,
  ErrorName.TokenParameterError,
]);

/** 0 when nothing failed, 1 when some objects (or the run) failed, 2 for a bad event or a rejected token. */
export function exitCodeFor(outcome: ExecutionOutcome, result?: TransferResult): number {
  if (outcome.Status === 'SUCCEEDED') return result && result.Failed > 0 ? ExitCode.SomeFailed : ExitCode.Ok;
  if (outcome.Status === 'FAILED' && CALLER_ERROR_NAMES.has(outcome.Error)) return ExitCode.CallerError;
  return ExitCode.SomeFailed;
}

/** A failed execution as a named error with a person-readable message. */
export function executionError(outcome: ExecutionOutcome): TransferError | Error {
  if (outcome.Status === 'SUCCEEDED') return new Error('the execution succeeded');
  if (outcome.Status === 'ABORTED') return new Error('the execution was aborted');
  const message = describeCauseText(outcome.Cause);
  const error = new Error(message);
  error.name = outcome.Error;
  return error;
}

/** A Lambda error's Cause is `{"errorType","errorMessage",...}`; a Fail state's may be plain text. */
export function describeCauseText(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain text
  }
  return cause;
}

/** Removes a temporary staging folder made by {@link runPipelineLocally}. */
export async function removeStagingFolder(staging: StagingStore): Promise<void> {
  if (staging instanceof FolderStagingStore && staging.root.startsWith(tmpdir())) {
    await rm(staging.root, { recursive: true, force: true });
  }
}
