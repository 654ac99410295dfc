/**
 * Runs the pipeline on one machine: the state machine definition synthesized from the CDK app, executed
 * by the local host, with each Lambda ARN bound to the same core its Lambda handler calls.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { CopyBatchInput, CopyBatchOutput, PlanOutput, TransferResult } from '../shared/contracts';
import { describeCause } from '../shared/errors';
import { stagedTokenKey } from '../shared/run-files';
import { ONE_MACHINE_POLICY, type RunPolicy } from '../shared/run-policy';
import type { StagingStore } from '../shared/staging';
import { unitPolicy, type UnitSettings } from '../shared/units';
import { FolderStagingStore } from '../shared/staging';
import { stepAction, runCopyFunction, type CopyFunctionInput } from '../functions/copy-batch/dispatch';
import type { DeleteMirroredOutput } from '../functions/copy-batch/delete-mirrored';
import { abortGiants, type GiantsStepOutput } from '../functions/copy-batch/giants';
import { UploadRecordCache } from '../functions/copy-batch/upload-record';
import { copyBatchDependencies, destinationClient } from '../functions/copy-batch/wiring';
import { planTransfer } from '../functions/plan/plan';
import { unwrapPlanInput } from '../functions/plan/plan-input';
import { planDependencies, planDestinationClient } from '../functions/plan/wiring';
import { summarize, type SummarizeInput } from '../functions/summarize/summarize';
import { summarizeDependencies } from '../functions/summarize/wiring';
import { DEFAULT_CONFIG } from '../infra/config';
import { loadDefinitionArtifact, type DefinitionArtifact, type FunctionRole } from './definition/artifact';
import {
  loadStateMachine,
  type ExecutionEvent,
  type ExecutionOutcome,
  type ExecutionUsage,
  type LambdaContext,
  type RedrivePoint,
} from './stepfunctions/host';
import { RUN_DEFAULTS } from './run-defaults';
import type { CopyOptions } from '../shared/copy';

export interface LocalProgress {
  objectsTotal: number;
  bytesTotal: number;
  objectsDone: number;
  bytesDone: number;
  failed: number;
  skipped: number;
}

/** The deployed copy function's timeout (infra/config.ts), which `run` enforces on CopyBatch. */
export const COPY_TIMEOUT_SECONDS = DEFAULT_CONFIG.copyTimeoutMinutes * 60;

/** What the run would be billed for on AWS, with the functions named by their role. */
export interface LocalUsage extends Omit<ExecutionUsage, 'invocations' | 'lambdaMs'> {
  readonly invocations: Record<FunctionRole, number>;
  readonly lambdaMs: Record<FunctionRole, number>;
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
  /** Batches copied at once (the Distributed Map's MaxConcurrency, capped here). @default RUN_DEFAULTS */
  readonly maxConcurrency?: number;
  /** Objects copied at once within a batch. @default RUN_DEFAULTS */
  readonly copyConcurrency?: number;
  /** The copy engine's settings for every object. @default RUN_DEFAULTS (not the copy Lambda's) */
  readonly copyOptions?: Omit<CopyOptions, 'signal' | 'sync'>;
  /** The definition artifact. @default local/definition/definition.json */
  readonly artifact?: DefinitionArtifact;
  /**
   * Timeout of each CopyBatch invocation, in seconds: an invocation past it is killed and its Task fails
   * with `Sandbox.Timedout`, as Lambda does; CopyBatch defers what it cannot finish before it. Plan and
   * Summarize have no deadline on this machine (they do not watch theirs). @default COPY_TIMEOUT_SECONDS
   */
  readonly lambdaTimeoutSeconds?: number;
  /** For tests: pauses of Retry states in ms, by state name. */
  readonly retryIntervalOverrides?: Record<string, number | number[]>;
  /**
   * Where the token may be sent and whether it may be inline. @default ONE_MACHINE_POLICY (the
   * archives' endpoints and loopback); DEPLOYED_RUN_POLICY runs as a deployment would.
   */
  readonly policy?: RunPolicy;
  /**
   * Interrupts the run: no state or object starts any more, copies in flight are aborted with their
   * multipart uploads, the staged token is deleted; the promise resolves once all of that is done.
   */
  readonly signal?: AbortSignal;
  readonly onPlanned?: (plan: PlanOutput) => void;
  readonly onProgress?: (progress: LocalProgress) => void;
  /** Every state event of the execution and of its child executions (inputs and outputs included). */
  readonly onEvent?: (event: ExecutionEvent) => void;
  /**
   * Redrives an execution that did not succeed (its outcome's `redrive`): it starts again at the state it
   * stopped in, and a Map state runs only the units that did not succeed. Give the same `staging`. The
   * event is ignored. A redrive needs a token that still exists: a `BearerTokenParameter` (an inline
   * token was staged for the run and deleted when it ended, as the deployed cleanup does).
   */
  readonly redrive?: RedrivePoint;
  /** For tests: replaces the CopyBatch core (the context is the invocation's). */
  readonly copyBatchOverride?: (input: CopyBatchInput, context: LambdaContext) => Promise<CopyBatchOutput>;
  /** How Plan cuts the job into units (packs, objects, part ranges). @default the deployed defaults */
  readonly units?: UnitSettings;
  /** Granules per CMR page for `Source.Collection` events. @default 2000 (CMR's largest) */
  readonly cmrPageSize?: number;
  /**
   * For benchmarks: `false` plans a Sync as before both listings were compared (every object into the
   * map, one destination HEAD each; Delete is then refused). @default true
   */
  readonly syncFromListings?: boolean;
}

export interface LocalRunOutcome {
  readonly execution: ExecutionOutcome;
  /** Objects done (copied, skipped or failed) and their bytes, as the copies reported them. */
  readonly progress: LocalProgress;
  /** The result contract, when the execution succeeded. */
  readonly result?: TransferResult;
  readonly runId: string;
  readonly staging: StagingStore;
  /** State transitions, child executions, and each function's invocations and duration. */
  readonly usage: LocalUsage;
  /** Where a redrive would start (`LocalRunOptions.redrive`), when the execution did not succeed. */
  readonly redrive?: RedrivePoint;
}

/** Runs one execution of the pipeline in this process. */
export async function runPipelineLocally(
  event: unknown,
  options: LocalRunOptions = {},
): Promise<LocalRunOutcome> {
  const artifact = options.artifact ?? loadDefinitionArtifact();
  const runId = options.redrive?.name ?? options.runId ?? randomUUID();
  const staging =
    options.staging ?? new FolderStagingStore(await mkdtemp(join(tmpdir(), 's3-direct-transfer-')));
  const s3Config = options.s3Config ?? {};
  const ssm = new SSMClient(s3Config.region ? { region: s3Config.region as string } : {});
  const destination = destinationClient(s3Config, options.destinationCredentials);
  // Plan lists the destination for Sync with its own role; here, the destination's credentials.
  const planDestination = planDestinationClient(s3Config, options.destinationCredentials);
  const progress: LocalProgress = {
    objectsTotal: 0,
    bytesTotal: 0,
    objectsDone: 0,
    bytesDone: 0,
    failed: 0,
    skipped: 0,
  };
  const tuning = {
    concurrency: options.copyConcurrency ?? RUN_DEFAULTS.objectsPerBatch,
    copyOptions: options.copyOptions ?? RUN_DEFAULTS.copyOptions,
  };
  const policy = options.policy ?? ONE_MACHINE_POLICY;
  // Batches still copying: an interrupted run waits for their aborts before it returns.
  const inFlight = new Set<Promise<unknown>>();

  let planned: PlanOutput | undefined;
  const plan = async (input: unknown): Promise<PlanOutput> => {
    const { event: inner, executionName } = unwrapPlanInput(input);
    const dependencies = planDependencies({
      s3Config,
      staging,
      ssm,
      runId: executionName ?? runId,
      policy,
      signal: options.signal,
      // Plan sizes units for the copy Lambda's timeout, as COPY_TIMEOUT_SECONDS tells it when deployed.
      units: unitPolicy({
        lambdaTimeoutSeconds: options.lambdaTimeoutSeconds,
        ...options.units,
      }),
      cmrPageSize: options.cmrPageSize,
      destinationClient: planDestination,
    });
    const planning = planTransfer(inner, {
      ...dependencies,
      ...(options.syncFromListings === false && { destinationClient: undefined }),
    });
    inFlight.add(planning);
    let output: PlanOutput;
    try {
      output = await planning;
    } finally {
      inFlight.delete(planning);
    }
    progress.objectsTotal = output.Count;
    progress.bytesTotal = output.Bytes;
    planned = output;
    options.onPlanned?.(output);
    options.onProgress?.({ ...progress });
    return output;
  };

  // Upload records of giant objects, cached as a warm Lambda container does.
  const uploadRecords = new UploadRecordCache(() => staging, staging.bucket);
  const copy = async (
    input: unknown,
    context: LambdaContext,
  ): Promise<CopyBatchOutput | GiantsStepOutput | DeleteMirroredOutput> => {
    const action = stepAction(input);
    const batch = input as CopyBatchInput;
    const running =
      options.copyBatchOverride && !action
        ? options.copyBatchOverride(batch, context)
        : runCopyFunction(input as CopyFunctionInput, {
            ...copyBatchDependencies({
              s3Config,
              ssm,
              staging: () => staging,
              destination,
              remainingTimeMs: () => context.getRemainingTimeInMillis(),
              tuning,
              policy,
              tokens: { stagingBucket: staging.bucket },
              uploadRecords,
            }),
            // Ctrl-C, or the invocation killed at its timeout.
            signal: options.signal ? AbortSignal.any([options.signal, context.signal]) : context.signal,
          });
    inFlight.add(running);
    let result: CopyBatchOutput | GiantsStepOutput | DeleteMirroredOutput;
    try {
      result = await running;
    } finally {
      inFlight.delete(running);
    }
    // Killed at its timeout: its Task failed, and what it did afterwards reaches nothing.
    if (context.signal.aborted) return result;
    if (action) {
      // A giant object is done once CompleteGiants decided it (its bytes were counted range by range).
      if (action === 'CompleteGiants') progress.objectsDone += (result as GiantsStepOutput).Done;
      options.onProgress?.({ ...progress });
      return result;
    }
    const output = result as CopyBatchOutput;
    progress.bytesDone += output.Range?.Bytes ?? 0;
    // Counted once: a unit's results carried from an earlier round come first. No set of every key
    // seen: memory must not grow with the number of objects.
    const carried = batch.Results?.length ?? 0;
    for (let i = carried; i < output.Results.length; i++) {
      const r = output.Results[i];
      progress.objectsDone++;
      progress.bytesDone += r.Bytes;
      if (r.Status === 'FAILED') progress.failed++;
      if (r.Status === 'SKIPPED') progress.skipped++;
    }
    options.onProgress?.({ ...progress });
    return output;
  };

  const summarizeHandler = (input: unknown): Promise<TransferResult> =>
    summarize(
      input as SummarizeInput,
      // A dry run estimates the deployed pipeline at this run's concurrency and timeout.
      summarizeDependencies(staging, {
        maxConcurrency: options.maxConcurrency ?? RUN_DEFAULTS.batches,
        objectsAtOnce: options.copyConcurrency ?? RUN_DEFAULTS.objectsPerBatch,
        copyMemoryMb: DEFAULT_CONFIG.copyMemoryMb,
        lambdaTimeoutSeconds: options.lambdaTimeoutSeconds ?? COPY_TIMEOUT_SECONDS,
      }),
    );

  const machine = loadStateMachine(artifact.definition, {
    handlers: {
      [artifact.functions.plan]: plan,
      [artifact.functions.copy]: copy,
      [artifact.functions.summarize]: summarizeHandler,
    },
    functionTimeoutsMs: {
      [artifact.functions.copy]: (options.lambdaTimeoutSeconds ?? COPY_TIMEOUT_SECONDS) * 1000,
    },
    staging,
    stagingBucketPlaceholder: artifact.stagingBucketPlaceholder,
    maxConcurrencyCap: options.maxConcurrency ?? RUN_DEFAULTS.batches,
    retryIntervalOverrides: options.retryIntervalOverrides,
    // The committed artifact is validated by the tests (test/local/pipeline.test.ts): skipping
    // asl-validator here saves ~0.5 s of CPU on every `run` (docs/PERFORMANCE.md, Pipeline).
    validate: options.artifact !== undefined,
  });
  try {
    if (options.redrive) {
      // Plan does not run again: what it planned is in the input of the state the redrive starts at.
      planned = (options.redrive.input as { Plan?: PlanOutput } | null)?.Plan ?? undefined;
    }
    let redrive: RedrivePoint | undefined;
    const { usage, ...ended } = await machine.run(event, {
      name: runId,
      signal: options.signal,
      onEvent: options.onEvent,
      redrive: options.redrive,
      onRedrivePoint: (point) => (redrive = point),
    });
    const execution = ended as ExecutionOutcome;
    const result =
      execution.Status === 'SUCCEEDED' ? (execution.Output as unknown as TransferResult) : undefined;
    return {
      execution,
      result,
      runId,
      staging,
      progress: { ...progress },
      usage: byRole(usage, artifact.functions),
      ...(redrive && { redrive }),
    };
  } finally {
    // An aborted execution returns at once; its batches are still aborting their uploads.
    await Promise.allSettled([...inFlight]);
    // An interrupted run leaves no multipart upload of a giant object open.
    if (options.signal?.aborted && planned?.Giants) {
      await abortGiants(planned, { staging, destination }).catch(() => undefined);
    }
    // As the deployed pipeline's cleanup does when an execution ends, whichever way it ends.
    await staging.delete(stagedTokenKey(runId)).catch(() => undefined);
    destination.destroy();
    planDestination.destroy();
    ssm.destroy();
  }
}

/** The host's usage with each function named by its role in the pipeline. */
function byRole(usage: ExecutionUsage, functions: Record<FunctionRole, string>): LocalUsage {
  const roles = Object.entries(functions) as [FunctionRole, string][];
  const of = (byArn: Record<string, number>) =>
    Object.fromEntries(roles.map(([role, arn]) => [role, byArn[arn] ?? 0])) as Record<FunctionRole, number>;
  return { ...usage, invocations: of(usage.invocations), lambdaMs: of(usage.lambdaMs) };
}

/** A failed execution as a named error with a person-readable message. */
export function executionError(outcome: ExecutionOutcome): Error {
  if (outcome.Status === 'SUCCEEDED') return new Error('the execution succeeded');
  if (outcome.Status === 'ABORTED') return new Error('the execution was aborted');
  const error = new Error(describeCause(outcome.Cause) ?? '');
  error.name = outcome.Error;
  return error;
}

/** Removes a temporary staging folder made by {@link runPipelineLocally}. */
export async function removeStagingFolder(staging: StagingStore): Promise<void> {
  if (staging instanceof FolderStagingStore && staging.root.startsWith(tmpdir())) {
    await rm(staging.root, { recursive: true, force: true });
  }
}
