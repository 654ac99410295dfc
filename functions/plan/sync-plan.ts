/**
 * Plan's Sync from both listings, for a prefix-type source: the source listing (TEA credentials) and the
 * destination listing under the mapped prefix (Plan's own role) are merged (./sync-merge.ts). What the
 * listings decide is kept out of the manifest: skipped objects are streamed to `runs/<id>/skipped.jsonl`
 * (Summarize reports them as SKIPPED lines), and with `Options.Delete` the destination objects the source
 * no longer has to `runs/<id>/deletes.jsonl` (deleted after the Map by the copy role, checked here against
 * `Options.MaxDeletes` first). Only the objects that must be copied become units.
 *
 * Memory: a page of each listing, plus one page of decided objects per output; nothing grows with the
 * number of objects.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ManifestItem, PlanOutput } from '../../shared/contracts';
import { ErrorName, TransferError } from '../../shared/errors';
import type { DestSpec, PrefixSource } from '../../shared/event';
import { checkMaxDeletes, DeletesWriter } from '../../shared/mirror/deletes-file';
import { deletesKey, skippedKey } from '../../shared/run-files';
import type { StagingStore } from '../../shared/staging';
import { listDestination, mappedPrefix, prefixMapping } from './destination-listing';
import { listSourceObjects, manifestItem, type SourceReader } from './listing';
import { JsonlWriter } from '../../shared/jsonl-writer';
import { KeyOrderError, syncMerge, type SourceEntry, type SyncMergeStats } from './sync-merge';

/** Decided objects per write (a copy page for the manifest, a batch of skipped lines). */
const PAGE = 1000;

export interface SyncPlanParams {
  /** The source side (TEA credentials). */
  readonly reader: SourceReader;
  /** Lists the destination with Plan's own role. */
  readonly destination: S3Client;
  readonly source: PrefixSource;
  readonly dest: DestSpec;
  readonly options: { readonly Delete: boolean; readonly MaxDeletes: number; readonly DryRun: boolean };
  readonly staging: StagingStore;
  readonly runId: string;
  readonly signal?: AbortSignal;
}

/** What the listings decided besides the copies: PlanOutput's `Skipped` and `Deletes`. */
export type SyncPlanOutput = Pick<PlanOutput, 'Skipped' | 'Deletes'>;

/** A Sync plan in progress: {@link copies} feeds the manifest, {@link finish} or {@link abort} ends it. */
export class SyncPlan {
  private readonly skipped: JsonlWriter<ManifestItem>;
  private readonly deletes?: DeletesWriter;
  private skippedBytes = 0;
  private stats?: SyncMergeStats;
  private deletesClosed = false;

  constructor(private readonly params: SyncPlanParams) {
    this.skipped = new JsonlWriter<ManifestItem>(params.staging, skippedKey(params.runId));
    if (params.options.Delete) this.deletes = new DeletesWriter(params.staging, deletesKey(params.runId));
  }

  /** The files this plan writes (a run id already in use shows up as one of them existing). */
  get keys(): string[] {
    return [this.skipped.key, ...(this.deletes ? [this.deletes.key] : [])];
  }

  /** The objects to copy, as manifest items, page by page in key order. */
  async *copies(): AsyncGenerator<ManifestItem[]> {
    const { reader, source, dest, signal } = this.params;
    const mapping = prefixMapping(source, dest);
    const merge = syncMerge<SourceEntry>(
      listSourceObjects(reader, source),
      listDestination({ client: this.params.destination, source, dest, signal }),
      { destKey: (s) => mapping(s.key), deletions: this.deletes !== undefined },
    );
    let copies: ManifestItem[] = [];
    let skips: ManifestItem[] = [];
    try {
      for (;;) {
        const next = await merge.next();
        if (next.done === true) {
          this.stats = next.value;
          break;
        }
        const decision = next.value;
        if (decision.kind === 'copy') {
          const s = decision.source;
          copies.push(manifestItem(source, dest, s.key, s.size, s.eTag));
          if (copies.length >= PAGE) {
            yield copies;
            copies = [];
          }
        } else if (decision.kind === 'skip') {
          const s = decision.source;
          this.skippedBytes += s.size;
          skips.push({ Key: s.key, DestKey: decision.dest.key, Size: s.size });
          if (skips.length >= PAGE) {
            await this.skipped.write(skips);
            skips = [];
          }
        } else {
          await this.deletes?.add(decision.destKey, decision.size);
        }
      }
    } catch (error) {
      if (error instanceof KeyOrderError) {
        throw new TransferError(ErrorName.KeyOrderError, error.message, { cause: error });
      }
      throw error;
    }
    await this.skipped.write(skips);
    if (copies.length > 0) yield copies;
  }

  /**
   * Completes the files and checks MaxDeletes over the whole listing: a run that would delete more fails
   * here with `TooManyDeletes`, before any deletion (its deletions file is kept: the error names it). A
   * dry run is not failed: it lists what a run would delete, and says that it would stop.
   */
  async finish(): Promise<SyncPlanOutput> {
    const { options, dest, source, staging } = this.params;
    await this.skipped.close();
    const output: SyncPlanOutput = {
      Skipped: {
        Count: this.skipped.count,
        Bytes: this.skippedBytes,
        Bucket: staging.bucket,
        Key: this.skipped.key,
      },
    };
    if (this.deletes) {
      const { count, bytes } = await this.deletes.close();
      this.deletesClosed = true;
      const where = `s3://${dest.Bucket}/${mappedPrefix(source, dest)}`;
      const listed = `s3://${staging.bucket}/${this.deletes.key}`;
      let exceeded = false;
      try {
        checkMaxDeletes(count, options.MaxDeletes, where, listed);
      } catch (error) {
        if (!options.DryRun) throw error;
        exceeded = true;
      }
      output.Deletes = {
        Count: count,
        Bytes: bytes,
        Bucket: staging.bucket,
        Key: this.deletes.key,
        Within: mappedPrefix(source, dest),
        MaxDeletes: options.MaxDeletes,
        ...(exceeded && { Exceeded: true }),
      };
    }
    return output;
  }

  /** What the merge saw (after {@link copies} has run to its end). */
  get mergeStats(): SyncMergeStats | undefined {
    return this.stats;
  }

  /** Removes the files, except a complete deletions file (a TooManyDeletes error names it). */
  async abort(reason: Error): Promise<void> {
    await this.skipped.abort(reason);
    if (this.deletes && !this.deletesClosed) await this.deletes.abort(reason);
  }
}
