/**
 * The CopyBatch Lambda: copies a batch of manifest items (see {@link copyBatch}).
 * Input {@link CopyBatchInput}, output {@link CopyBatchOutput}. Environment: `AWS_REGION`; optionally
 * `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`, which also turns on path-style addressing),
 * `DESTINATION_BUCKETS` (`bucket[/prefix],...` this deployment may write), `COPY_CONCURRENCY`
 * (objects at once, default 4), `COPY_PART_SIZE_MIB`, `COPY_QUEUE_SIZE`, `COPY_READ_AHEAD`.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import type { CopyBatchInput, CopyBatchOutput } from '../../shared/contracts';
import { copyClientConfig, type CopyOptions } from '../../shared/copy';
import { createLogger } from '../../shared/log';
import { copyBatchCounts, createMetrics, MetricsService, recordCopyBatch } from '../../shared/metrics';
import { S3StagingStore } from '../../shared/staging';
import { copyBatch, type SourceSide } from './copy-batch';
import { sourceSideFor } from './source-side';
import { ThroughputEstimator } from './throughput';

export {
  copyBatch,
  SYSTEMIC_ERRORS,
  type CopyBatchDeps,
  type CopyLogger,
  type SourceSide,
} from './copy-batch';
export { resolveTokenReference, sourceSideFor, type SourceSideOptions } from './source-side';
export { ThroughputEstimator } from './throughput';

/** Client configuration from the environment: region, and an endpoint override with path-style URLs. */
export function s3ConfigFromEnv(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return {
    ...(env.AWS_REGION && { region: env.AWS_REGION }),
    ...(endpoint && { endpoint, forcePathStyle: true }),
  };
}

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

/** Engine tuning from the environment (unset: the engine's measured defaults). */
export function copyOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Omit<CopyOptions, 'signal' | 'sync'> {
  const partMiB = positiveInt(env, 'COPY_PART_SIZE_MIB');
  return {
    ...(partMiB && { partSize: partMiB * 1024 * 1024 }),
    ...(positiveInt(env, 'COPY_QUEUE_SIZE') && { queueSize: positiveInt(env, 'COPY_QUEUE_SIZE') }),
    ...(positiveInt(env, 'COPY_READ_AHEAD') && { readAhead: positiveInt(env, 'COPY_READ_AHEAD') }),
  };
}

const logger = createLogger('copy');
// Per container: built on first use, reused by warm invocations.
let destination: S3Client | undefined;
let staging: S3Client | undefined;
let ssm: SSMClient | undefined;
const throughput = new ThroughputEstimator();
let metrics: Metrics | undefined;

export async function handler(input: CopyBatchInput, context: Context): Promise<CopyBatchOutput> {
  logger.addContext(context);
  const config = s3ConfigFromEnv();
  destination ??= new S3Client({ ...config, ...copyClientConfig() });
  staging ??= new S3Client(config);
  ssm ??= new SSMClient(config.region ? { region: config.region } : {});
  const stagingClient = staging;
  const allowed = (process.env.DESTINATION_BUCKETS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  logger.info('batch start', {
    runId: input?.BatchInput?.RunId,
    items: Array.isArray(input?.Items) ? input.Items.length : undefined,
    carried: Array.isArray(input?.Results) ? input.Results.length : 0,
  });
  let credentials: SourceSide['credentials'];
  let generationBefore = 0;
  const output = await copyBatch(input, {
    source: async (batch) => {
      const side = await sourceSideFor(batch, {
        ssm,
        staging: (bucket) => new S3StagingStore(stagingClient, bucket),
        s3Config: config,
        credentialsOptions: { log: logger },
      });
      credentials = side.credentials;
      // Each refresh makes a new generation: the difference is this invocation's refreshes.
      generationBefore = credentials?.generation ?? 0;
      return side;
    },
    destination,
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
    logger,
    concurrency: positiveInt(process.env, 'COPY_CONCURRENCY'),
    copyOptions: copyOptionsFromEnv(),
    allowedDestinations: allowed.length > 0 ? allowed : undefined,
    throughput,
  });
  metrics ??= createMetrics(MetricsService.Copy);
  recordCopyBatch(metrics, {
    ...copyBatchCounts(input, output),
    credentialRefreshes: (credentials?.generation ?? 0) - generationBefore,
  });
  return output;
}
