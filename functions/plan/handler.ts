/**
 * The Plan Lambda. Input: {@link PlanHandlerInput} (the run's staging folder is then
 * `runs/<execution name>/`) or the transfer event itself (the run id is then the request id).
 * Output: {@link PlanOutput}. Environment: `STAGING_BUCKET` (required), `AWS_REGION`, and optionally
 * `TOKEN_PARAMETER_PATH`, `TOKEN_KMS_KEY_ID`, `CREDENTIALS_ENDPOINTS`, `ALLOW_INLINE_TOKENS` (see
 * shared/run-policy.ts) and `AWS_ENDPOINT_URL_S3` (see shared/aws/s3-config.ts). Emits the
 * ObjectsPlanned and BytesPlanned metrics for every plan it returns.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { s3ConfigFromEnv } from '../../shared/aws/s3-config';
import type { PlanOutput } from '../../shared/contracts';
import { requiredEnv } from '../../shared/lambda-env';
import { createLogger } from '../../shared/log';
import { createMetrics, MetricsService, recordPlan } from '../../shared/metrics';
import { runPolicyFromEnv } from '../../shared/run-policy';
import { S3StagingStore } from '../../shared/staging';
import { planTransfer } from './plan';
import { unwrapPlanInput, type PlanHandlerInput } from './plan-input';
import { unitPolicy, unitSettingsFromEnv } from '../../shared/units';
import { planDependencies, planDestinationClient } from './wiring';

export type { PlanHandlerInput };

const logger = createLogger('plan');
// Per container: built on first use, reused by warm invocations.
let stagingClient: S3Client | undefined;
let ssmClient: SSMClient | undefined;
let destinationClient: S3Client | undefined;
let metrics: Metrics | undefined;

export async function handler(input: unknown, context: Context): Promise<PlanOutput> {
  logger.addContext(context);
  const bucket = requiredEnv('STAGING_BUCKET');
  const { event, executionName } = unwrapPlanInput(input);
  const s3Config = s3ConfigFromEnv();
  stagingClient ??= new S3Client(s3Config);
  ssmClient ??= new SSMClient(s3Config.region ? { region: s3Config.region } : {});
  destinationClient ??= planDestinationClient(s3Config);
  const deps = planDependencies({
    s3Config,
    staging: new S3StagingStore(stagingClient, bucket),
    ssm: ssmClient,
    destinationClient,
    runId: executionName ?? context.awsRequestId,
    tokenParameterPath: process.env.TOKEN_PARAMETER_PATH || undefined,
    policy: runPolicyFromEnv(),
    tokenKmsKeyId: process.env.TOKEN_KMS_KEY_ID || undefined,
    logger,
    units: unitPolicy(unitSettingsFromEnv()),
  });
  const output = await planTransfer(event, deps);
  metrics ??= createMetrics(MetricsService.Plan);
  recordPlan(metrics, { objects: output.Count, bytes: output.Bytes });
  return output;
}
