/**
 * Mirror deletions: destination objects without a source counterpart, removed with DeleteObjects, 1,000
 * keys per request, a few requests at a time, holding no more than those batches in memory. Idempotent:
 * S3 answers a key that is already gone as deleted, and so does this (also for stores that answer
 * NoSuchKey), so a rerun after a failure deletes only what is left.
 */
import { DeleteObjectCommand, DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { classifyS3Error, describeSdkError } from '../aws/sdk-errors';
import { toTransferError } from '../copy/errors';
import { ErrorName, TransferError } from '../errors';

/** DeleteObjects' own maximum. */
export const DELETE_BATCH_SIZE = 1000;
/** Requests in flight at once. */
const DEFAULT_CONCURRENCY = 4;
/** Per-key errors kept in the outcome; the rest are counted only. */
const DEFAULT_MAX_ERRORS = 1000;

// Characters XML 1.0 cannot carry: a key holding one cannot be named in a DeleteObjects body.
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

export interface DeleteObjectsParams {
  /** Writes the destination (the copy role). */
  readonly client: S3Client;
  readonly bucket: string;
  /** The keys to delete, in any order; read as the deletions proceed. */
  readonly keys: AsyncIterable<string> | Iterable<string>;
  /** Refuse (as a per-key error) any key outside this prefix: a corrupt list cannot reach beyond it. */
  readonly within?: string;
  /** @default 4 */
  readonly concurrency?: number;
  /** @default 1000 */
  readonly maxErrors?: number;
  readonly signal?: AbortSignal;
}

export interface DeleteError {
  readonly Key: string;
  readonly Code: string;
  readonly Message: string;
}

export interface DeleteOutcome {
  /** Keys that are gone now (deleted here, or gone already). */
  deleted: number;
  /** Keys that are still there. */
  failed: number;
  /** The first `maxErrors` failures. */
  errors: DeleteError[];
}

/** Error codes that mean the key is not there: deleted as far as a mirror is concerned. */
const GONE = new Set(['NoSuchKey', 'NotFound']);

function requestFailure(error: unknown, bucket: string, first: string, outcome: DeleteOutcome): Error {
  const done = `${outcome.deleted} deleted before this request, ${outcome.failed} failed`;
  if (classifyS3Error(error) === 'denied') {
    return new TransferError(
      ErrorName.DestinationAccessDenied,
      `the copy role may not delete in s3://${bucket} (DeleteObjects: ${describeSdkError(error)}); ${done}: ` +
        'deploy with allowMirrorDeletes, which grants it s3:DeleteObject on the destination buckets',
    );
  }
  const failure = toTransferError(error, {
    side: 'destination',
    bucket,
    key: first,
    operation: 'DeleteObjects',
    what: `s3://${bucket} (a batch of deletions from ${first})`,
  });
  failure.message += `; ${done}`;
  return failure;
}

/** Deletes `keys` from `bucket` and counts the outcome. Rejects only when a whole request fails. */
export async function deleteObjects(params: DeleteObjectsParams): Promise<DeleteOutcome> {
  const { client, bucket, signal } = params;
  const maxErrors = params.maxErrors ?? DEFAULT_MAX_ERRORS;
  const outcome: DeleteOutcome = { deleted: 0, failed: 0, errors: [] };
  const fail = (error: DeleteError): void => {
    outcome.failed++;
    if (outcome.errors.length < maxErrors) outcome.errors.push(error);
  };

  const sendBatch = async (keys: string[]): Promise<void> => {
    const named: string[] = [];
    for (const key of keys) {
      if (params.within !== undefined && !key.startsWith(params.within)) {
        fail({ Key: key, Code: 'OutsidePrefix', Message: `not under ${params.within}: refused` });
      } else if (NOT_XML.test(key)) {
        // Named in the URL instead of an XML body.
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
        outcome.deleted++;
      } else named.push(key);
    }
    if (named.length === 0) return;
    const out = await client.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: named.map((Key) => ({ Key })), Quiet: true },
      }),
      { abortSignal: signal },
    );
    let failedHere = 0;
    for (const error of out.Errors ?? []) {
      if (error.Code !== undefined && GONE.has(error.Code)) continue;
      failedHere++;
      fail({ Key: error.Key ?? '', Code: error.Code ?? 'Unknown', Message: error.Message ?? '' });
    }
    outcome.deleted += named.length - failedHere;
  };

  const inFlight = new Set<Promise<void>>();
  let firstFailure: unknown;
  const start = (keys: string[]): void => {
    const request: Promise<void> = sendBatch(keys)
      .catch((error: unknown) => {
        firstFailure ??= requestFailure(error, bucket, keys[0], outcome);
      })
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  };

  let batch: string[] = [];
  try {
    for await (const key of params.keys) {
      if (firstFailure !== undefined) break;
      signal?.throwIfAborted();
      batch.push(key);
      if (batch.length < DELETE_BATCH_SIZE) continue;
      start(batch);
      batch = [];
      while (inFlight.size >= (params.concurrency ?? DEFAULT_CONCURRENCY)) await Promise.race(inFlight);
    }
    if (batch.length > 0 && firstFailure === undefined) start(batch);
  } finally {
    // Never leave a request running behind the caller's back, whatever ended the loop.
    await Promise.all(inFlight);
  }
  signal?.throwIfAborted();
  if (firstFailure !== undefined) throw firstFailure;
  return outcome;
}
