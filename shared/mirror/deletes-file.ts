/**
 * A Sync run's planned deletions, staged as their own JSONL file (`runs/<id>/deletes.jsonl`) while Plan
 * merges the listings, and counted: `MaxDeletes` is checked over the whole listing, once the file is
 * complete and before anything is deleted. The deletions are made later, by the copy role, from this
 * file (see delete-objects.ts), and a dry run lists them from it.
 */
import { createInterface } from 'node:readline';
import { ErrorName, TransferError } from '../errors';
import { JsonlWriter } from '../jsonl-writer';
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
  private readonly file: JsonlWriter<PlannedDelete>;
  /** Deletions written. */
  count = 0;
  /** Sum of their sizes. */
  bytes = 0;

  constructor(staging: StagingStore, key: string) {
    this.file = new JsonlWriter<PlannedDelete>(staging, key, BUFFERED_BYTES);
  }

  get key(): string {
    return this.file.key;
  }

  /** Appends one planned deletion; resolves when the store can take more. */
  async add(destKey: string, size: number): Promise<void> {
    this.count++;
    this.bytes += size;
    await this.file.write([{ DestKey: destKey, Size: size }]);
  }

  /** Completes the file; resolves once the store holds all of it. */
  async close(): Promise<{ count: number; bytes: number }> {
    await this.file.close();
    return { count: this.count, bytes: this.bytes };
  }

  /** Abandons the file and removes whatever part of it was stored. */
  abort(reason: Error): Promise<void> {
    return this.file.abort(reason);
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
