/**
 * Builds Plan's dependencies. The Lambda handler and the one-machine runner both call
 * {@link planDependencies}, so that clients, retry counts and limits cannot drift between the two.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Logger } from '@aws-lambda-powertools/logger';
import { listingClientConfig } from '../../shared/aws/s3-config';
import type { RunPolicy } from '../../shared/run-policy';
import type { StagingStore } from '../../shared/staging';
import type { UnitPolicy } from '../../shared/units';
import type { PlanDependencies } from './plan';

export interface PlanWiring {
  /** Region, endpoint and path-style addressing of both sides (source credentials come from TEA). */
  readonly s3Config: S3ClientConfig;
  /** Lists the destination for Sync with Plan's own credentials: see {@link planDestinationClient}. */
  readonly destinationClient: S3Client;
  readonly staging: StagingStore;
  readonly ssm: SSMClient;
  readonly runId: string;
  readonly tokenParameterPath?: string;
  readonly policy: RunPolicy;
  readonly tokenKmsKeyId?: string;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  /** How the job is cut into units. @default unitPolicy() */
  readonly units?: UnitPolicy;
  /** Granules per CMR page. @default 2000 */
  readonly cmrPageSize?: number;
}

/**
 * The client with which Plan lists the destination for Sync: Plan's own credentials (the Lambda's role,
 * which may only list the destinations; the default chain when none are given).
 */
export function planDestinationClient(
  s3Config: S3ClientConfig,
  credentials?: S3ClientConfig['credentials'],
): S3Client {
  return new S3Client({ ...s3Config, ...listingClientConfig(), ...(credentials && { credentials }) });
}

export function planDependencies(wiring: PlanWiring): PlanDependencies {
  return {
    sourceClient: (credentials) =>
      new S3Client({ ...wiring.s3Config, ...listingClientConfig(), credentials }),
    destinationClient: wiring.destinationClient,
    staging: wiring.staging,
    ssm: wiring.ssm,
    runId: wiring.runId,
    tokenParameterPath: wiring.tokenParameterPath,
    policy: wiring.policy,
    tokenKmsKeyId: wiring.tokenKmsKeyId,
    logger: wiring.logger,
    signal: wiring.signal,
    units: wiring.units,
    cmrPageSize: wiring.cmrPageSize,
  };
}
