/**
 * The CopyBatch Lambda: copies a batch of manifest items (see {@link copyBatch}).
 * Input {@link CopyBatchInput}, output {@link CopyBatchOutput}. Environment: `AWS_REGION`, optionally
 * `AWS_ENDPOINT_URL_S3` (see shared/aws/s3-config.ts), `DESTINATION_BUCKET_OWNER` (the account that must own
 * every destination bucket), `STAGING_BUCKET`, `TOKEN_PARAMETER_PATH`, `CREDENTIALS_ENDPOINTS` (see
 * shared/run-policy.ts) and the tuning of {@link copyTuningFromEnv}.
 * Emits BytesCopied, ObjectsCopied, ObjectsSkipped, ObjectsFailed and CredentialRefreshes.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { s3ConfigFromEnv } from '../../shared/aws/s3-config';
import type { CopyBatchInput, CopyBatchOutput } from '../../shared/contracts';
import { createLogger } from '../../shared/log';
import { copyBatchCounts, createMetrics, MetricsService, recordCopyBatch } from '../../shared/metrics';
import { requiredEnv } from '../../shared/lambda-env';
import { runPolicyFromEnv } from '../../shared/run-policy';
import { S3StagingStore } from '../../shared/staging';
import type { SourceSide } from './copy-batch';
import { stepAction, runCopyFunction, type CopyFunctionInput } from './dispatch';
import type { DeleteMirroredOutput } from './delete-mirrored';
import type { GiantsStepOutput } from './giants';
import { UploadRecordCache } from './upload-record';
import { ThroughputEstimator } from './throughput';
import { copyBatchDependencies, copyTuningFromEnv, destinationClient } from './wiring';

const logger = createLogger('copy');
// Per container: built on first use, reused by warm invocations.
let destination: S3Client | undefined;
let staging: S3Client | undefined;
let ssm: SSMClient | undefined;
const throughput = new ThroughputEstimator();
let uploadRecords: UploadRecordCache | undefined;
let metrics: Metrics | undefined;

export async function handler(
  input: CopyFunctionInput,
  context: Context,
): Promise<CopyBatchOutput | GiantsStepOutput | DeleteMirroredOutput> {
  logger.addContext(context);
  const s3Config = s3ConfigFromEnv();
  destination ??= destinationClient(s3Config, undefined, process.env.DESTINATION_BUCKET_OWNER || undefined);
  staging ??= new S3Client(s3Config);
  ssm ??= new SSMClient(s3Config.region ? { region: s3Config.region } : {});
  const stagingClient = staging;
  const action = stepAction(input);
  const unit = action ? undefined : (input as CopyBatchInput);
  logger.info(action ?? 'unit start', {
    runId: 'Run' in input ? input.Run?.Plan?.BatchInput?.RunId : input?.BatchInput?.RunId,
    kind: unit?.Unit
      ? (Object.keys(unit.Unit).find((k) => k === 'Pack' || k === 'Range') ?? 'Object')
      : undefined,
    carried: Array.isArray(unit?.Results) ? unit.Results.length : 0,
  });
  const stagingBucket = requiredEnv('STAGING_BUCKET');
  const stagingStore = (bucket: string): S3StagingStore => new S3StagingStore(stagingClient, bucket);
  uploadRecords ??= new UploadRecordCache(stagingStore, stagingBucket);
  let credentials: SourceSide['credentials'];
  let generationBefore = 0;
  const deps = copyBatchDependencies({
    s3Config,
    ssm,
    staging: stagingStore,
    destination,
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
    tuning: copyTuningFromEnv(),
    policy: runPolicyFromEnv(),
    tokens: {
      stagingBucket,
      parameterPath: process.env.TOKEN_PARAMETER_PATH || undefined,
    },
    logger,
    throughput,
    credentialsOptions: { log: logger },
    onSource: (side) => {
      credentials = side.credentials;
      // Each refresh makes a new generation: the difference is this invocation's refreshes.
      generationBefore = credentials?.generation ?? 0;
    },
    uploadRecords,
  });
  const result = await runCopyFunction(input, deps);
  if (action) return result;
  const output = result as CopyBatchOutput;
  metrics ??= createMetrics(MetricsService.Copy);
  recordCopyBatch(metrics, {
    ...copyBatchCounts(unit!, output),
    credentialRefreshes: (credentials?.generation ?? 0) - generationBefore,
  });
  return output;
}
