/**
 * The Summarize Lambda: `{ Plan, Map? }` -> the result contract (see ./summarize.ts).
 * Environment: `STAGING_BUCKET` (required), `AWS_REGION`; for a dry run's estimate, the deployment's
 * `MAX_CONCURRENCY`, `COPY_MEMORY_MB`, `COPY_TIMEOUT_SECONDS` (see ./estimate.ts).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { s3ConfigFromEnv } from '../../shared/aws/s3-config';
import type { TransferResult } from '../../shared/contracts';
import { requiredEnv } from '../../shared/lambda-env';
import { createLogger } from '../../shared/log';
import { S3StagingStore } from '../../shared/staging';
import { estimateSettingsFromEnv } from './estimate';
import { summarize, type SummarizeInput } from './summarize';
import { summarizeDependencies } from './wiring';

const logger = createLogger('summarize');
// Per container: built on first use, reused by warm invocations.
let s3: S3Client | undefined;

export const handler = async (event: SummarizeInput): Promise<TransferResult> => {
  const bucket = requiredEnv('STAGING_BUCKET');
  s3 ??= new S3Client(s3ConfigFromEnv());
  logger.appendKeys({ runId: event.Plan?.BatchInput?.RunId });
  const result = await summarize(
    event,
    summarizeDependencies(new S3StagingStore(s3, bucket), estimateSettingsFromEnv()),
  );
  const { Copied, Skipped, Failed, Bytes, Report } = result;
  logger.info('summarized', { Copied, Skipped, Failed, Bytes, Report });
  return result;
};
