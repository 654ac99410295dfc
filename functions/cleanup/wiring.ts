/** Builds the cleanup's dependencies from the Lambda's environment. */
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { s3ConfigFromEnv } from '../../shared/aws/s3-config';
import { requiredEnv } from '../../shared/lambda-env';
import { S3StagingStore } from '../../shared/staging';
import type { CleanupDependencies } from './cleanup';

export interface CleanupClients {
  readonly s3: S3Client;
  readonly ssm: SSMClient;
}

export function cleanupClients(env: NodeJS.ProcessEnv = process.env): CleanupClients {
  const s3Config = s3ConfigFromEnv(env);
  return {
    s3: new S3Client(s3Config),
    ssm: new SSMClient(s3Config.region ? { region: s3Config.region } : {}),
  };
}

/** `STAGING_BUCKET`, `TOKEN_PARAMETER_PATH` and `STATE_MACHINE_ARN`, all required. */
export function cleanupDependencies(
  clients: CleanupClients,
  env: NodeJS.ProcessEnv = process.env,
): CleanupDependencies {
  return {
    staging: new S3StagingStore(clients.s3, requiredEnv('STAGING_BUCKET', env)),
    ssm: clients.ssm,
    tokenParameterPath: requiredEnv('TOKEN_PARAMETER_PATH', env),
    stateMachineArn: requiredEnv('STATE_MACHINE_ARN', env),
  };
}
