/**
 * AWS prices the pipeline's bill is made of, in us-west-2 (the region of the Earthdata Cloud buckets, where
 * the stack must be deployed), as USD per single request, transition or GB-second. docs/cost.md holds the
 * same table with its date and sources; test/shared/cost.test.ts checks that the two agree.
 */

import type { UnitCounts } from './units';

/** The day the prices were read from the AWS pricing pages. */
export const PRICES_AS_OF = '2026-12-01';
export const PRICES_REGION = 'us-west-2';

export type LambdaArchitecture = 'arm64' | 'x86_64';

/** USD per unit; each name is a row of the price table in docs/cost.md. */
export const PRICES = {
  /** Step Functions Standard: per state transition (a Distributed Map child's start counts one). */
  stepFunctionsTransition: 0.025 / 1000,
  /** Lambda: per request (invocation), either architecture. */
  lambdaRequest: 0.2 / 1_000_000,
  /** Lambda duration, first pricing tier, per GB-second. */
  lambdaGbSecondArm64: 0.0000133334,
  lambdaGbSecondX86: 0.0000166667,
  /** S3 Standard: PUT, COPY, POST, LIST (CreateMultipartUpload, UploadPart, Complete, ListParts). */
  s3PutCopyPostList: 0.005 / 1000,
  /** S3 Standard: GET, HEAD and all other requests. */
  s3GetHeadOther: 0.0004 / 1000,
  /** KMS: symmetric key requests (GenerateDataKey, Decrypt). */
  kmsRequest: 0.03 / 10_000,
  /** SSM Parameter Store: GetParameter on a standard parameter at standard throughput. */
  ssmStandardApi: 0,
  /** SSM Parameter Store: API interaction with an advanced parameter (or higher throughput). */
  ssmAdvancedApi: 0.05 / 10_000,
} as const;

export type PriceName = keyof typeof PRICES;

export function lambdaGbSecondPrice(architecture: LambdaArchitecture): number {
  return architecture === 'arm64' ? PRICES.lambdaGbSecondArm64 : PRICES.lambdaGbSecondX86;
}

/** What a run bills, by service (the counts that make it up are the caller's). */
export interface CostUsd {
  StepFunctions: number;
  Lambda: number;
  S3Requests: number;
  KmsSsm: number;
  Total: number;
}

/** Countable usage: the inputs of {@link costOf}. */
export interface Usage {
  /** State transitions, child executions' starts included. */
  transitions: number;
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  s3PutCopyPostList: number;
  s3GetHeadOther: number;
  kmsRequests: number;
  ssmApiCalls: number;
}

export interface CostSettings {
  /** @default 'arm64' (infra/pipeline-function.ts) */
  architecture?: LambdaArchitecture;
  /** @default 'standard' */
  ssmTier?: 'standard' | 'advanced';
}

/** Dollars, rounded to 1/10,000 of a cent so that a report reads cleanly. */
const round = (usd: number): number => Math.round(usd * 1e6) / 1e6;

export function costOf(usage: Usage, settings: CostSettings = {}): CostUsd {
  const stepFunctions = usage.transitions * PRICES.stepFunctionsTransition;
  const lambda =
    usage.lambdaInvocations * PRICES.lambdaRequest +
    usage.lambdaGbSeconds * lambdaGbSecondPrice(settings.architecture ?? 'arm64');
  const s3 =
    usage.s3PutCopyPostList * PRICES.s3PutCopyPostList + usage.s3GetHeadOther * PRICES.s3GetHeadOther;
  const ssmPrice = settings.ssmTier === 'advanced' ? PRICES.ssmAdvancedApi : PRICES.ssmStandardApi;
  const kmsSsm = usage.kmsRequests * PRICES.kmsRequest + usage.ssmApiCalls * ssmPrice;
  return {
    StepFunctions: round(stepFunctions),
    Lambda: round(lambda),
    S3Requests: round(s3),
    KmsSsm: round(kmsSsm),
    Total: round(stepFunctions + lambda + s3 + kmsSsm),
  };
}

/** Giant objects listed by name in an estimate; the rest are counted in `Units.Giants`. */
export const MAX_GIANTS_LISTED = 100;

/** The `Estimate` block of a dry run's result (docs/contracts.md). */
export interface Estimate {
  Units: UnitCounts & { Lines: number };
  Objects: number;
  Bytes: number;
  /** Giant objects (copied as part ranges): the first {@link MAX_GIANTS_LISTED}, with their ranges. */
  Giants: { Key: string; Size: number; PartSize: number; Parts: number; Ranges: number }[];
  /** Seconds from Plan to Summarize, at `Concurrency` child executions at once. */
  Time: { Seconds: number; Concurrency: number; LambdaBytesPerSecond: number; PerObjectSeconds: number };
  /** What the run would be billed for. */
  Usage: {
    StateTransitions: number;
    ChildExecutions: number;
    LambdaInvocations: number;
    LambdaGbSeconds: number;
    S3PutCopyPostList: number;
    S3GetHeadOther: number;
    KmsRequests: number;
    SsmApiCalls: number;
  };
  CostUsd: CostUsd;
  Prices: { Region: string; AsOf: string; Source: string };
}
