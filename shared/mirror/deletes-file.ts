/**
 * A Sync run's planned deletions, staged as their own JSONL file (`runs/<id>/deletes.jsonl`) while Plan
 * merges the listings, and counted: `MaxDeletes` is checked over the whole listing, once the file is
 * complete and before anything is deleted. The deletions are made later, by the copy role, from this
 * file (see delete-objects.ts), and a dry run lists them from it.
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { ErrorName, TransferError } from '../errors';
import type { StagingStore } from '../staging';

/** Bytes of lines buffered ahead of the staging upload before the merge waits. */
const BUFFERED_BYTES = 256 * 1024;

/** One line of the deletions file. */
export interface PlannedDelete {
  readonly DestKey: string;
  readonly Size: number;
}

/** Streams planned deletions into the staging store, with backpressure, counting them. */
export class DeletesWriter {
  private readonly lines = new PassThrough({ highWaterMark: BUFFERED_BYTES });
  private readonly stored: Promise<void>;
  private closed = false;
  /** Deletions written. */
  count = 0;
  /** Sum of their sizes. */
  bytes = 0;

  constructor(
    private readonly staging: StagingStore,
    readonly key: string,
  ) {
    // The store may fail before it listens to the stream: that failure surfaces from `stored`.
    this.lines.on('error', () => undefined);
    this.stored = staging.put(key, this.lines, { contentType: 'application/jsonl', exclusive: true });
    this.stored.catch((error: unknown) => {
      this.lines.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  }

  /** Appends one planned deletion; resolves when the store can take more. */
  async add(destKey: string, size: number): Promise<void> {
    if (this.lines.destroyed) await this.failed();
    this.count++;
    this.bytes += size;
    const entry: PlannedDelete = { DestKey: destKey, Size: size };
    if (this.lines.write(`${JSON.stringify(entry)}\n`)) return;
    const drained = once(this.lines, 'drain').then(
      () => true,
      () => false,
    );
    const ended = this.stored.then(
      () => false,
      () => false,
    );
    if (!(await Promise.race([drained, ended]))) await this.failed();
  }

  private async failed(): Promise<never> {
    await this.stored;
    throw new Error(`the staging store stopped reading ${this.key} before it was complete`);
  }

  /** Completes the file; resolves once the store holds all of it. */
  async close(): Promise<{ count: number; bytes: number }> {
    this.closed = true;
    this.lines.end();
    await this.stored;
    return { count: this.count, bytes: this.bytes };
  }

  /** Abandons the file and removes whatever part of it was stored. */
  async abort(reason: Error): Promise<void> {
    if (!this.closed) this.lines.destroy(reason);
    await this.stored.catch(() => undefined);
    await this.staging.delete(this.key).catch(() => undefined);
  }
}

/**
 * Fails the run with `TooManyDeletes` when more than `maxDeletes` deletions were planned. Call it with
 * the count over the whole listing (after {@link DeletesWriter.close}), before any deletion is made.
 */
export function checkMaxDeletes(planned: number, maxDeletes: number, where: string, listed: string): void {
  if (planned <= maxDeletes) return;
  throw new TransferError(
    ErrorName.TooManyDeletes,
    `this run would delete ${planned} objects under ${where}, more than Options.MaxDeletes (${maxDeletes}), ` +
      `so it stopped before deleting anything. Their list is in ${listed}. If that is what you want, ` +
      'raise MaxDeletes; if not, check Source and Dest.Prefix (DryRun lists what a run would delete)',
  );
}

/** The keys of a deletions file, streamed in file order. */
export async function* readDeletes(staging: StagingStore, key: string): AsyncGenerator<PlannedDelete> {
  const lines = createInterface({ input: await staging.getStream(key), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number++;
    if (line === '') continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      entry = undefined;
    }
    const planned = entry as Partial<PlannedDelete> | undefined;
    if (typeof planned?.DestKey !== 'string' || typeof planned.Size !== 'number') {
      throw new Error(`${key}: line ${number} is not a planned deletion ({"DestKey","Size"})`);
    }
    yield { DestKey: planned.DestKey, Size: planned.Size };
  }
}
