/**
 * Where a run keeps its files in the staging store (S3 in AWS, a folder or an embedded bucket on one
 * machine): the one home of these names, for the Lambdas, the local runner and the CDK grants.
 */

/** Every run's files live under `runs/<run id>/`. */
export const RUNS_PREFIX = 'runs/';

/** The run's staging folder: its manifest, staged token, map results and report. */
export const runPrefix = (runId: string): string => `${RUNS_PREFIX}${runId}/`;

/** The JSONL manifest Plan writes and the Distributed Map reads. */
export const manifestKey = (runId: string): string => `${runPrefix(runId)}manifest.jsonl`;

/** The giant objects of a run (copied as part ranges), one JSON line each (Plan writes it). */
export const giantsKey = (runId: string): string => `${runPrefix(runId)}giants.jsonl`;

/** Where PrepareGiants records a giant object's multipart upload (CompleteGiants reads it). */
export const UPLOADS_FOLDER = 'uploads/';
export const uploadRecordKey = (runId: string, giant: number): string =>
  `${runPrefix(runId)}${UPLOADS_FOLDER}${giant}.json`;

/** How a giant object ended (CompleteGiants writes it, Summarize reads it). */
export const giantResultKey = (runId: string, giant: number): string =>
  `${runPrefix(runId)}${UPLOADS_FOLDER}${giant}.result.json`;

/** A Sync run's planned deletions (JSONL, one `{"DestKey","Size"}` per line), written by Plan. */
export const deletesKey = (runId: string): string => `${runPrefix(runId)}deletes.jsonl`;

/** A Sync run's objects skipped from the listings (JSONL, `{"Key","DestKey","Size"}`), written by Plan. */
export const skippedKey = (runId: string): string => `${runPrefix(runId)}skipped.jsonl`;

/** How a Sync run's deletions ended (JSON), written by the deletion step, read by Summarize. */
export const deletedKey = (runId: string): string => `${runPrefix(runId)}deleted.json`;

/**
 * Staged tokens live apart from run files, under a prefix of their own: their own KMS key, a 1-day
 * expiry and a bucket policy that lets only the copy Lambda read them.
 */
export const TOKENS_PREFIX = 'tokens/';

/** The staged token of a run: deleted when the run ends, whichever way it ends. */
export const stagedTokenKey = (runId: string): string => `${TOKENS_PREFIX}${runId}`;

/** The full report Summarize writes. */
export const REPORT_NAME = 'report.json';

// Execution names and request ids; a run id becomes a path segment, so no '/', no '..', no controls.
const RUN_ID = /^(?!\.{1,2}$)[^/\\\s\u0000-\u001f\u007f]{1,80}$/u; // eslint-disable-line no-control-regex

/** True when `runId` can name a run's folder. */
export const isValidRunId = (runId: string): boolean => RUN_ID.test(runId);

/**
 * The SSM parameter `s3-direct-transfer start` stores an event's inline token in, named after the
 * execution: the execution's input names the parameter, never the token, and the cleanup deletes it.
 */
export const executionTokenParameter = (tokenParameterPath: string, executionName: string): string =>
  `${tokenParameterPath}executions/${executionName}`;
