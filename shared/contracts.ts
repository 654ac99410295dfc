import type { Estimate } from './cost';
import type { UnitCounts } from './units';

/** A file's checksum as its archive published it (UMM-G `Checksum`), with the value in lower-case hex. */
export interface PublishedChecksumLine {
  Value: string;
  Algorithm: 'MD5' | 'SHA-1' | 'SHA-256' | 'SHA-512';
}

/**
 * Shapes that travel between the states of the pipeline. None of them may hold a secret: tokens
 * travel by reference (an SSM parameter name or a staged object in the staging bucket).
 */

/** One object to copy: an object unit of the manifest, or one of a pack's objects. */
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
  /**
   * Source bucket of this object, when it is not `BatchInput.SourceBucket` (a collection's files may
   * lie in several buckets).
   */
  Bucket?: string;
  /** The granule this file belongs to (collection sources). */
  GranuleUR?: string;
  /** The checksum its archive published: the copy verifies the bytes against it. */
  Checksum?: PublishedChecksumLine;
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
  /** The granule of the object (collection sources). */
  GranuleUR?: string;
  /** Says what was not checked, when a published checksum could not be (a giant object's part ranges). */
  Note?: string;
}

/**
 * A contiguous range of parts of one giant object: a unit of its own, run by any child execution in
 * parallel with the object's other ranges. The multipart upload it writes into was created once, before
 * the Map, by the PrepareGiants step; its record is `runs/<run id>/uploads/<Giant>.json`.
 */
export interface PartRange {
  Key: string;
  /** Source bucket, when not `BatchInput.SourceBucket`. */
  Bucket?: string;
  DestKey: string;
  /** The object's size and ETag (pinned: every ranged GET sends If-Match). */
  Size: number;
  ETag: string;
  /** The object's index in `runs/<run id>/giants.jsonl`. */
  Giant: number;
  /** Bytes per part (the last part of the object may be shorter). */
  PartSize: number;
  /** Parts `FirstPart`..`LastPart`, 1-based, inclusive. */
  FirstPart: number;
  LastPart: number;
}

/**
 * One line of the JSONL manifest Plan writes, read by the Distributed Map's ItemReader: the work of one
 * child execution. An object unit is a bare {@link ManifestItem}; a pack holds several small objects; a
 * range holds some of a giant object's parts.
 */
export type WorkUnit = ManifestItem | { Pack: ManifestItem[] } | { Range: PartRange };

/** A giant object (copied as part ranges): one line of `runs/<run id>/giants.jsonl`. */
export interface GiantObject {
  Giant: number;
  Key: string;
  /** Source bucket, when not `BatchInput.SourceBucket`. */
  Bucket?: string;
  GranuleUR?: string;
  /** Published checksum (collection sources): part ranges cannot check it as they stream. */
  Checksum?: PublishedChecksumLine;
  DestKey: string;
  Size: number;
  ETag: string;
  PartSize: number;
  Parts: number;
  /** Range units in the manifest. */
  Ranges: number;
}

/** Input of the CopyBatch Lambda: one unit (the Map's ItemSelector), plus the loop's carry. */
export interface CopyBatchInput {
  Unit?: WorkUnit;
  /** The same as `Unit: { Pack: Items }` (the shape of earlier versions). */
  Items?: ManifestItem[];
  BatchInput: BatchInput;
  /** Results carried over from earlier rounds of the unit's loop. */
  Results?: ItemResult[];
  /** Rounds in a row, before this one, that finished no object and uploaded no part. */
  Stalled?: number;
}

/** What a range unit did: its parts all uploaded, or the error that stopped it for good. */
export interface RangeOutcome {
  Giant: number;
  FirstPart: number;
  LastPart: number;
  /** Parts of the range present in the upload when the unit stopped. */
  PartsDone: number;
  /** Bytes this round uploaded. */
  Bytes?: number;
  Error?: string;
  Cause?: string;
}

/**
 * Output of CopyBatch. `Next` is what is left of the unit when the Lambda was near its deadline (objects
 * not finished, or a range's missing parts): the child workflow loops it back into CopyBatch, with the
 * results so far, until nothing is left. A range unit reports no object (the CompleteGiants step counts
 * the giant object once), only its `Range` outcome.
 */
export interface CopyBatchOutput {
  Results: ItemResult[];
  Next?: WorkUnit;
  /** Rounds in a row, this one included, that made no progress. */
  Stalled: number;
  Range?: RangeOutcome;
  BatchInput: BatchInput;
}

/** Output of Plan. */
export interface PlanOutput {
  /** The manifest of units (JSONL, one unit per line). */
  Manifest: { Bucket: string; Key: string };
  /** Objects planned, and their bytes. */
  Count: number;
  Bytes: number;
  /** The manifest's units by kind (`Lines` of them in all). */
  Units: UnitCounts & { Lines: number };
  /** The list of giant objects (copied as part ranges), when there are any. */
  Giants?: { Bucket: string; Key: string };
  DryRun: boolean;
  BatchInput: BatchInput;
  /** Where Summarize writes the report and where the Distributed Map writes its results. */
  Staging: { Bucket: string; Prefix: string };
  /** How the CMR search went, for a `Source.Collection` event. */
  Cmr?: CmrSearchSummary;
  /**
   * Sync planned from both listings (a prefix source): the objects skipped without a request, listed
   * one `{Key, DestKey, Size}` per line in a JSONL file for the report. Not in `Count`.
   */
  Skipped?: { Count: number; Bytes: number; Bucket: string; Key: string };
  /**
   * With `Options.Delete`: the destination objects under `Within` the source no longer has, one
   * `{DestKey, Size}` per line, deleted after the Map (see shared/mirror/deletes-file.ts). `Exceeded`:
   * more than `MaxDeletes` (only a dry run gets this far; a run fails with TooManyDeletes).
   */
  Deletes?: {
    Count: number;
    Bytes: number;
    Bucket: string;
    Key: string;
    Within: string;
    MaxDeletes: number;
    Exceeded?: boolean;
  };
}

/** What Plan found in CMR for a `Source.Collection` event (in PlanOutput, the result and the report). */
export interface CmrSearchSummary {
  /** The collection's concept id. */
  Collection: string;
  /** `CMR-Hits`: granules matching the query. */
  Hits: number;
  /** Granule pages read (search-after). */
  Pages: number;
  Granules: number;
  /** Files planned (after Include/Exclude). */
  Files: number;
  /** Granules without any `GET DATA VIA DIRECT ACCESS` `s3://` URL: none of their files is copied. */
  GranulesWithoutDirectAccess: number;
  /** Files by the published checksum they will be verified with (`none`: none published or usable). */
  Checksums: Record<string, number>;
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
  /** A `Source.Collection` event: the CMR search that found the files. */
  Cmr?: CmrSearchSummary;
  /** With `Options.Delete`: destination objects deleted (0 in a dry run). */
  Deleted?: number;
  /** With `Options.Delete`: planned deletions not made (a deletion failed, or an object failed to copy). */
  NotDeleted?: number;
  /** A dry run with `Options.Delete`: the objects a run would delete. */
  PlannedDeletes?: number;
  /** A dry run's estimate of the run it plans: units, time and cost (docs/cost.md). */
  Estimate?: Estimate;
}

export const MAX_FAILURES_IN_RESULT = 100;

/** The statuses a Step Functions execution ends in. */
export const EXECUTION_END_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;
