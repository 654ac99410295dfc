/**
 * Shapes that travel between the states of the pipeline. None of them may hold a secret: tokens
 * travel by reference (an SSM parameter name or a staged object in the staging bucket).
 */

/** One line of the JSONL manifest written by Plan and read by the Distributed Map's ItemReader. */
export interface ManifestItem {
  /** Source object key. */
  Key: string;
  /** Destination object key (already mapped). */
  DestKey: string;
  /** Size in bytes as listed; absent when the object could not be listed (see Error). */
  Size?: number;
  /** Source ETag as listed (with quotes stripped). */
  ETag?: string;
  /** Set by Plan when the item is known to fail (e.g. a `Keys` entry that does not exist). */
  Error?: string;
  Cause?: string;
}

/** How a Lambda obtains the TEA token without it appearing in any state input or output. */
export type TokenReference =
  | { Kind: 'bearer-parameter'; Parameter: string }
  | { Kind: 'staged'; Bucket: string; Key: string; TokenKind: 'bearer' | 'cookie' };

/** What every CopyBatch invocation needs besides its items (Distributed Map `BatchInput`). */
export interface BatchInput {
  CredentialsEndpoint: string;
  AppName?: string;
  Token: TokenReference;
  SourceBucket: string;
  DestBucket: string;
  Sync: boolean;
  /** Identifies the run in logs and the report (execution name or a local run id). */
  RunId: string;
}

export type ItemStatus = 'COPIED' | 'SKIPPED' | 'FAILED';

export interface ItemResult {
  Key: string;
  DestKey: string;
  Status: ItemStatus;
  Bytes: number;
  /**
   * What a copy's bytes were checked against before it became visible: `md5-etag`, a full-object
   * checksum (`crc64nvme-full-object`, ...), `size-only`; `destination-sync` for a skipped object.
   */
  Check?: string;
  Error?: string;
  Cause?: string;
}

/** Input of the CopyBatch Lambda, as the Distributed Map's ItemBatcher builds it (plus the loop's carry). */
export interface CopyBatchInput {
  Items: ManifestItem[];
  BatchInput: BatchInput;
  /** Results carried over from earlier rounds of the DEFERRED loop. */
  Results?: ItemResult[];
}

/**
 * Output of CopyBatch. `Deferred` holds items not started because the Lambda was near its deadline
 * (reported DEFERRED); the child workflow loops them back into CopyBatch until it is empty.
 */
export interface CopyBatchOutput {
  Results: ItemResult[];
  Deferred: ManifestItem[];
  BatchInput: BatchInput;
}

/** Output of Plan. */
export interface PlanOutput {
  Manifest: { Bucket: string; Key: string };
  Count: number;
  Bytes: number;
  DryRun: boolean;
  BatchInput: BatchInput;
  /** Where Summarize writes the report and where the Distributed Map writes its results. */
  Staging: { Bucket: string; Prefix: string };
}

/** The result contract (execution output and `run`'s stdout). */
export interface TransferResult {
  Copied: number;
  Skipped: number;
  Failed: number;
  Bytes: number;
  Failures: { Key: string; Error: string; Cause: string }[];
  Report?: { Bucket: string; Key: string };
  DryRun?: boolean;
  Planned?: number;
}

export const MAX_FAILURES_IN_RESULT = 100;

/** The statuses a Step Functions execution ends in. */
export const EXECUTION_END_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;
