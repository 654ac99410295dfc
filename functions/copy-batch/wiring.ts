/**
 * Builds CopyBatch's dependencies. The Lambda handler and the one-machine runner both call
 * {@link copyBatchDependencies}, so that clients, retry counts and limits cannot drift between the two.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { copyClientConfig, expectBucketOwner } from '../../shared/aws/s3-config';
import { parseBucketAndPrefix } from '../../shared/aws/s3-names';
import type { CopyOptions } from '../../shared/copy';
import type { RefreshingCredentialsOptions } from '../../shared/credentials';
import { listEnv, positiveIntEnv } from '../../shared/lambda-env';
import type { RunPolicy } from '../../shared/run-policy';
import type { StagingStore } from '../../shared/staging';
import type { CopyLogger, SourceSide } from './copy-batch';
import type { CopyFunctionDeps } from './dispatch';
import { UploadRecordCache } from './upload-record';
import { sourceSideFor } from './source-side';
import type { ThroughputEstimator } from './throughput';

/** Engine tuning, as the stack sets it in the environment (unset: the engine's measured defaults). */
export interface CopyTuning {
  /** Objects copied at once within a batch. */
  readonly concurrency?: number;
  readonly copyOptions: Omit<CopyOptions, 'signal' | 'sync'>;
  /** `bucket[/prefix]` entries this deployment may write. */
  readonly allowedDestinations?: readonly string[];
}

/** Where a batch's token may come from. */
export interface TokenLocations {
  /** The staging bucket (staged tokens). */
  readonly stagingBucket: string;
  /** The SSM path of token parameters. */
  readonly parameterPath?: string;
}

/**
 * `COPY_CONCURRENCY`, `COPY_PART_SIZE_MIB`, `COPY_QUEUE_SIZE`, `COPY_READ_AHEAD` and `DESTINATION_BUCKETS`
 * (`bucket[/prefix],...`).
 */
export function copyTuningFromEnv(env: NodeJS.ProcessEnv = process.env): CopyTuning {
  const partMiB = positiveIntEnv('COPY_PART_SIZE_MIB', env);
  const queueSize = positiveIntEnv('COPY_QUEUE_SIZE', env);
  const readAhead = positiveIntEnv('COPY_READ_AHEAD', env);
  return {
    concurrency: positiveIntEnv('COPY_CONCURRENCY', env),
    copyOptions: {
      ...(partMiB && { partSize: partMiB * 1024 * 1024 }),
      ...(queueSize && { queueSize }),
      ...(readAhead && { readAhead }),
    },
    allowedDestinations: listEnv('DESTINATION_BUCKETS', env),
  };
}

/**
 * The client that writes the destination with the copier's own credentials (the default chain when
 * none), refused by S3 on a bucket not owned by `expectedOwner` when that is given.
 */
export function destinationClient(
  s3Config: S3ClientConfig,
  credentials?: S3ClientConfig['credentials'],
  expectedOwner?: string,
): S3Client {
  const client = new S3Client({ ...s3Config, ...copyClientConfig(), ...(credentials && { credentials }) });
  if (expectedOwner) expectBucketOwner(client, expectedOwner);
  return client;
}

export interface CopyBatchWiring {
  /** Region, endpoint and path-style addressing for both sides. */
  readonly s3Config: S3ClientConfig;
  readonly ssm: SSMClient;
  /** Reads staged tokens (with the function's own role) from a bucket. */
  readonly staging: (bucket: string) => StagingStore;
  readonly destination: S3Client;
  readonly remainingTimeMs: () => number;
  readonly tuning: CopyTuning;
  readonly policy: RunPolicy;
  readonly tokens: TokenLocations;
  readonly logger?: CopyLogger;
  readonly throughput?: ThroughputEstimator;
  readonly credentialsOptions?: RefreshingCredentialsOptions;
  /** Told of each batch's source side once its credentials are fetched. */
  readonly onSource?: (side: SourceSide) => void;
  /** Upload records of giant objects, cached across the invocations of a warm container. */
  readonly uploadRecords?: UploadRecordCache;
}

export function copyBatchDependencies(wiring: CopyBatchWiring): CopyFunctionDeps {
  const { tuning } = wiring;
  const source = async (batch: Parameters<typeof sourceSideFor>[0]): Promise<SourceSide> => {
    const side = await sourceSideFor(batch, {
      ssm: wiring.ssm,
      staging: wiring.staging,
      s3Config: wiring.s3Config,
      credentialsOptions: wiring.credentialsOptions,
    });
    wiring.onSource?.(side);
    return side;
  };
  const records = wiring.uploadRecords ?? new UploadRecordCache(wiring.staging, wiring.tokens.stagingBucket);
  const allowedDestinations = tuning.allowedDestinations?.map(parseBucketAndPrefix);
  return {
    source,
    ranges: { uploadRecord: (runId, giant) => records.get(runId, giant) },
    giants: () => ({
      staging: wiring.staging(wiring.tokens.stagingBucket),
      source,
      destination: wiring.destination,
      remainingTimeMs: wiring.remainingTimeMs,
      allowedDestinations,
      logger: wiring.logger,
    }),
    destination: wiring.destination,
    remainingTimeMs: wiring.remainingTimeMs,
    logger: wiring.logger,
    concurrency: tuning.concurrency,
    copyOptions: tuning.copyOptions,
    allowedDestinations,
    endpoints: wiring.policy.endpoints,
    tokens: wiring.tokens,
    throughput: wiring.throughput,
  };
}
