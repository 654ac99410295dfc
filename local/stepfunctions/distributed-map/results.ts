/**
 * ResultWriter: a Map Run's child executions as Step Functions exports them to S3, written as they end
 * (`<Prefix>/<map run id>/SUCCEEDED_n.json`, `FAILED_n.json`, `PENDING_n.json`, then `manifest.json`), so
 * that a Map Run holds the open files' stream buffers, never the list of its children.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { jsonValues } from '../../../shared/json-values';
import type { StagingStore } from '../../../shared/staging';
import { JsonObject, JsonValue, StatesError } from '../asl';
import type { ChildIdentity, ChildOutcome } from './map-run';

/** Step Functions starts a new result file where one would exceed 5 GB ("ResultWriter (Map)"). */
export const RESULT_FILE_MAX_BYTES = 5 * 1024 ** 3;

/** Bytes a result file's stream buffers before a child's result waits for the store to take them. */
const STREAM_BUFFER_BYTES = 1024 * 1024;

export type ResultStatus = 'SUCCEEDED' | 'FAILED' | 'PENDING';

/** What a Map Run knows of a child when it writes its entry; no identity yet for a child never started. */
export interface ChildRecord {
  readonly input: JsonValue;
  readonly identity?: ChildIdentity;
  readonly startDate?: Date;
  readonly stopDate?: Date;
  readonly outcome?: ChildOutcome;
}

/** The file a child's entry goes to. */
export function statusOf(record: ChildRecord): ResultStatus {
  const status = record.outcome?.Status;
  return status === 'SUCCEEDED' ? 'SUCCEEDED' : status === undefined ? 'PENDING' : 'FAILED';
}

/** A child's entry in the ResultWriter files (and in the Map result for failures), as Step Functions writes it. */
export function resultEntry(record: ChildRecord): JsonObject {
  const input = JSON.stringify(record.input);
  const outcome = record.outcome;
  if (!outcome || !record.identity)
    return { Input: input, InputDetails: { Included: true }, Status: 'PENDING' };
  const common = {
    ExecutionArn: record.identity.executionArn,
    Input: input,
    InputDetails: { Included: true },
    Name: record.identity.name,
  };
  const dates = {
    StartDate: record.startDate!.toISOString(),
    StateMachineArn: record.identity.stateMachineArn,
  };
  if (outcome.Status === 'SUCCEEDED') {
    return {
      ...common,
      Output: JSON.stringify(outcome.Output),
      OutputDetails: { Included: true },
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
      RedriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven',
      ...dates,
      Status: 'SUCCEEDED',
      StopDate: record.stopDate!.toISOString(),
    };
  }
  return {
    ...(outcome.Status === 'ABORTED' ? {} : { Cause: outcome.Cause, Error: outcome.Error }),
    ...common,
    RedriveCount: 0,
    RedriveStatus: 'REDRIVABLE_BY_MAP_RUN',
    ...dates,
    Status: outcome.Status,
    StopDate: record.stopDate!.toISOString(),
  };
}

interface OpenFile {
  readonly key: string;
  readonly stream: PassThrough;
  /** The store's put of the stream: settles once the file is written, or rejects. */
  readonly stored: Promise<void>;
  /** Why the put failed, so that the next write fails at once rather than when the buffer is full. */
  error?: unknown;
  bytes: number;
  entries: number;
}

interface ResultFile {
  Key: string;
  Size: number;
}

/** The result files of one Map Run, each a JSON array streamed to the staging store entry by entry. */
export class ResultFiles {
  private readonly open: Partial<Record<ResultStatus, OpenFile>> = {};
  private readonly written: Record<ResultStatus, ResultFile[]> = { SUCCEEDED: [], FAILED: [], PENDING: [] };
  /** Entries are written one after the other, in the order they are added. */
  private queue: Promise<void> = Promise.resolve();
  private failure?: StatesError;

  private constructor(
    private readonly staging: StagingStore,
    private readonly bucket: string,
    private readonly folder: string,
    private readonly mapRunArn: string,
    private readonly maxFileBytes: number,
  ) {}

  /** Checks the ResultWriter's Parameters before any child starts. */
  static create(
    staging: StagingStore,
    writer: { Bucket?: unknown; Prefix?: unknown },
    mapRunId: string,
    mapRunArn: string,
    maxFileBytes = RESULT_FILE_MAX_BYTES,
  ): ResultFiles {
    const fail = (message: string): StatesError => new StatesError('States.ResultWriterFailed', message);
    if (
      typeof writer.Bucket !== 'string' ||
      (writer.Prefix !== undefined && typeof writer.Prefix !== 'string')
    ) {
      throw fail('ResultWriter Parameters need a string Bucket and an optional string Prefix');
    }
    if (writer.Bucket !== staging.bucket) {
      throw fail(
        `cannot write to bucket ${writer.Bucket}: the local host writes only the staging bucket ${staging.bucket}`,
      );
    }
    // The guide shows `<Prefix>/<map run id>/manifest.json`; a Prefix ending in "/" is not doubled here.
    const prefix = ((writer.Prefix as string | undefined) ?? '').replace(/\/+$/, '');
    const folder = prefix ? `${prefix}/${mapRunId}` : mapRunId;
    return new ResultFiles(staging, writer.Bucket, folder, mapRunArn, maxFileBytes);
  }

  /** Writes a child's entry; waits while the store is behind. Fails with States.ResultWriterFailed. */
  add(record: ChildRecord): Promise<void> {
    const status = statusOf(record);
    const text = JSON.stringify(resultEntry(record));
    const done = this.queue.then(() => this.guard(() => this.append(status, text)));
    this.queue = done.catch(() => undefined);
    return done;
  }

  /** Writes an entry as it is (a SUCCEEDED child of an earlier attempt of a redriven Map Run). */
  addEntry(status: ResultStatus, entry: JsonObject): Promise<void> {
    const text = JSON.stringify(entry);
    const done = this.queue.then(() => this.guard(() => this.append(status, text)));
    this.queue = done.catch(() => undefined);
    return done;
  }

  /** Closes the files and writes `manifest.json`; returns the Map state's output. */
  async finish(): Promise<JsonObject> {
    await this.queue;
    const manifestKey = `${this.folder}/manifest.json`;
    await this.guard(async () => {
      for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) await this.close(status);
      const { FAILED, PENDING, SUCCEEDED } = this.written;
      const manifest = {
        DestinationBucket: this.bucket,
        MapRunArn: this.mapRunArn,
        ResultFiles: { FAILED, PENDING, SUCCEEDED },
      };
      await this.staging.put(manifestKey, JSON.stringify(manifest), { contentType: 'application/json' });
    });
    return { MapRunArn: this.mapRunArn, ResultWriterDetails: { Bucket: this.bucket, Key: manifestKey } };
  }

  /** Removes what was written, for a Map Run that ends without results (aborted, or failed on the way). */
  async discard(): Promise<void> {
    await this.queue;
    const keys = Object.values(this.written).flatMap((files) => files.map((file) => file.Key));
    for (const file of Object.values(this.open)) {
      file.stream.end();
      await file.stored.catch(() => undefined);
      keys.push(file.key);
    }
    await Promise.all(keys.map((key) => this.staging.delete(key).catch(() => undefined)));
  }

  private async guard(write: () => Promise<void>): Promise<void> {
    if (this.failure) throw this.failure;
    try {
      await write();
    } catch (error) {
      this.failure ??= new StatesError(
        'States.ResultWriterFailed',
        `cannot write the results to s3://${this.bucket}/${this.folder}/: ${(error as Error).message}`,
      );
      throw this.failure;
    }
  }

  private async append(status: ResultStatus, entry: string): Promise<void> {
    let file = this.open[status];
    // The entry, its separator and the closing bracket must fit; an entry alone in a file always does.
    if (file && file.bytes + Buffer.byteLength(entry) + 2 > this.maxFileBytes) {
      await this.close(status);
      file = undefined;
    }
    file ??= this.start(status);
    await this.write(file, (file.entries === 0 ? '' : ',') + entry);
    file.entries++;
  }

  private start(status: ResultStatus): OpenFile {
    const key = `${this.folder}/${status}_${this.written[status].length}.json`;
    const stream = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES });
    const stored = this.staging.put(key, stream, { contentType: 'application/json' });
    const file: OpenFile = { key, stream, stored, bytes: 1, entries: 0 };
    stored.catch((error: unknown) => (file.error = error));
    this.open[status] = file;
    stream.write('[');
    return file;
  }

  private async write(file: OpenFile, chunk: string): Promise<void> {
    if (file.error !== undefined) throw file.error;
    file.bytes += Buffer.byteLength(chunk);
    if (!file.stream.write(chunk)) await Promise.race([once(file.stream, 'drain'), file.stored]);
  }

  private async close(status: ResultStatus): Promise<void> {
    const file = this.open[status];
    if (!file) return;
    delete this.open[status];
    file.stream.end(']');
    await file.stored;
    this.written[status].push({ Key: file.key, Size: file.bytes + 1 });
  }
}

/**
 * The SUCCEEDED entries of an earlier Map Run, from its `manifest.json`, one at a time (never the whole
 * list in memory): what a redriven Map Run keeps without running those children again.
 */
export async function* succeededEntries(
  staging: StagingStore,
  manifestKey: string,
): AsyncGenerator<JsonObject> {
  const text = await staging.getText(manifestKey);
  if (text === undefined) return;
  const manifest = JSON.parse(text) as { ResultFiles?: { SUCCEEDED?: { Key: string }[] } };
  for (const file of manifest.ResultFiles?.SUCCEEDED ?? []) {
    for await (const value of jsonValues(await staging.getStream(file.Key))) {
      if (value && typeof value === 'object' && !Array.isArray(value)) yield value as JsonObject;
    }
  }
}

/** A short, fixed-size key for a child's input: a redrive matches children by their input. */
export const inputDigest = (inputJson: string): string =>
  createHash('sha256').update(inputJson).digest('base64url');
