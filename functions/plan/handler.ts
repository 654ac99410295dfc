/**
 * The Plan Lambda. Input, either of:
 * - `{ "Event": <the transfer event>, "Execution": { "Name": <$$.Execution.Name> } }`: what the state
 *   machine passes (Payload `{ "Event.$": "$", "Execution": { "Name.$": "$$.Execution.Name" } }`), so
 *   that the run's staging folder is `runs/<execution name>/`;
 * - the transfer event itself: the run id is then the Lambda request id.
 * Output: {@link PlanOutput}. Environment: `STAGING_BUCKET` (required), `AWS_REGION`, and optionally
 * `TOKEN_PARAMETER_PATH` (where `BearerTokenParameter`s must live) and `AWS_ENDPOINT_URL_S3` (or
 * `AWS_ENDPOINT_URL`), which also turns on path-style addressing. Emits the ObjectsPlanned and
 * BytesPlanned metrics (namespace `POWERTOOLS_METRICS_NAMESPACE`) for every plan it returns.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { PlanOutput } from '../../shared/contracts';
import { invalidInput } from '../../shared/errors';
import { createLogger } from '../../shared/log';
import { createMetrics, MetricsService, recordPlan } from '../../shared/metrics';
import { S3StagingStore } from '../../shared/staging';
import { planTransfer } from './plan';

/** The wrapper the state machine sends. */
export interface PlanHandlerInput {
  Event: unknown;
  Execution?: { Name?: string };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Splits the handler input into the event and the execution name, if the state machine sent one. */
export function unwrapPlanInput(input: unknown): { event: unknown; executionName?: string } {
  if (!isRecord(input) || !('Event' in input) || 'CredentialsEndpoint' in input) return { event: input };
  const extra = Object.keys(input).filter((k) => k !== 'Event' && k !== 'Execution');
  if (extra.length > 0) {
    throw invalidInput(
      `Plan input: unknown field ${extra.map((k) => JSON.stringify(k.slice(0, 24))).join(', ')}`,
    );
  }
  const execution = input.Execution;
  if (execution === undefined) return { event: input.Event };
  // Only Name is used; other fields of Execution are ignored.
  if (!isRecord(execution) || (execution.Name !== undefined && typeof execution.Name !== 'string')) {
    throw invalidInput('Execution: expected an object with a string Name');
  }
  return { event: input.Event, executionName: execution.Name as string | undefined };
}

/** Client configuration from the environment: region, and an endpoint override with path-style URLs. */
export function s3ConfigFromEnv(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return {
    ...(env.AWS_REGION && { region: env.AWS_REGION }),
    ...(endpoint && { endpoint, forcePathStyle: true }),
  };
}

const logger = createLogger('plan');
// Per container: built on first use, reused by warm invocations.
let stagingClient: S3Client | undefined;
let ssmClient: SSMClient | undefined;
let metrics: Metrics | undefined;

export async function handler(input: unknown, context: Context): Promise<PlanOutput> {
  logger.addContext(context);
  const bucket = process.env.STAGING_BUCKET;
  if (!bucket) throw new Error('STAGING_BUCKET is not set');
  const { event, executionName } = unwrapPlanInput(input);
  const config = s3ConfigFromEnv();
  stagingClient ??= new S3Client(config);
  ssmClient ??= new SSMClient(config.region ? { region: config.region } : {});
  const output = await planTransfer(event, {
    // Listing 1M keys takes ~1000 requests: give each a few more attempts than the default 3.
    sourceClient: (credentials) => new S3Client({ ...config, credentials, maxAttempts: 5 }),
    staging: new S3StagingStore(stagingClient, bucket),
    ssm: ssmClient,
    runId: executionName ?? context.awsRequestId,
    tokenParameterPath: process.env.TOKEN_PARAMETER_PATH || undefined,
    logger,
  });
  metrics ??= createMetrics(MetricsService.Plan);
  recordPlan(metrics, { objects: output.Count, bytes: output.Bytes });
  return output;
}
