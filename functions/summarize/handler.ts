import { S3Client } from '@aws-sdk/client-s3';
import type { TransferResult } from '../../shared/contracts';
import { createLogger } from '../../shared/log';
import { S3StagingStore } from '../../shared/staging';
import { summarize, type SummarizeInput } from './summarize';

const logger = createLogger('summarize');
const s3 = new S3Client({});

/** Summarize Lambda: `{ Plan, Map? }` -> the result contract (see ./summarize.ts). */
export const handler = async (event: SummarizeInput): Promise<TransferResult> => {
  const bucket = process.env.STAGING_BUCKET;
  if (!bucket) throw new Error('STAGING_BUCKET is not set');
  logger.appendKeys({ runId: event.Plan?.BatchInput?.RunId });
  const result = await summarize(event, { staging: new S3StagingStore(s3, bucket) });
  const { Copied, Skipped, Failed, Bytes, Report } = result;
  logger.info('summarized', { Copied, Skipped, Failed, Bytes, Report });
  return result;
};
