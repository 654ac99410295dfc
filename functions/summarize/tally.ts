import { createHash } from 'node:crypto';
import {
  MAX_FAILURES_IN_RESULT,
  type ItemResult,
  type ManifestItem,
  type TransferResult,
} from '../../shared/contracts';
import type { ChildExecutionEntry, ResultFileStatus } from './result-reader';

/** Error of an item that no batch reported (and that its batch did not fail with an error of its own). */
export const NOT_REPORTED = 'NotReported';
/** Cause lengths: the result is a state output (256 KiB at most), the report is not. */
export const RESULT_CAUSE_MAX = 500;
export const REPORT_CAUSE_MAX = 4000;

/** An item's line in the report: a copy result, or (dry run) a planned copy. */
export type ReportItem = ItemResult | (Omit<ItemResult, 'Status'> & { Status: 'PLANNED' });

/** A mirror's deletion in the report: made, not made (and why), or (dry run) planned. */
export interface DeleteReportItem {
  DestKey: string;
  Status: 'DELETED' | 'NOT_DELETED' | 'PLANNED_DELETE';
  Size: number;
  Error?: string;
  Cause?: string;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A compact identity for (Key, DestKey): a million reported items cost tens of MB, not their keys. */
function identity(item: { Key: string; DestKey: string }): string {
  return createHash('sha1').update(item.Key).update('\0').update(item.DestKey).digest('base64');
}

/** Counts, the first failures, and a digest per reported item for the reconciliation with the manifest. */
export class Tally {
  copied = 0;
  skipped = 0;
  failed = 0;
  bytes = 0;
  notReported = 0;
  readonly failures: TransferResult['Failures'] = [];
  readonly batches: Record<ResultFileStatus, number> = { SUCCEEDED: 0, FAILED: 0, PENDING: 0 };
  private readonly reported = new Map<string, number>();

  get total(): number {
    return this.copied + this.skipped + this.failed;
  }

  /** Reported items that no manifest line claimed (once the manifest has been read). */
  get unclaimed(): number {
    let n = 0;
    for (const count of this.reported.values()) n += count;
    return n;
  }

  add(item: ReportItem, reported: boolean): void {
    if (item.Status === 'COPIED') {
      this.copied++;
      this.bytes += item.Bytes || 0;
    } else if (item.Status === 'SKIPPED') {
      this.skipped++;
    } else if (item.Status === 'FAILED') {
      this.failed++;
      this.noteFailure(item.Key, item.Error ?? 'CopyFailed', item.Cause ?? item.Error ?? '');
    }
    if (reported) {
      const id = identity(item);
      this.reported.set(id, (this.reported.get(id) ?? 0) + 1);
    }
  }

  /** True (and forgets one report of it) when a batch reported this manifest item. */
  claim(item: ManifestItem): boolean {
    const id = identity(item);
    const count = this.reported.get(id);
    if (!count) return false;
    if (count === 1) this.reported.delete(id);
    else this.reported.set(id, count - 1);
    return true;
  }

  addUnaccounted(count: number, manifestKey: string): void {
    this.failed += count;
    this.notReported += count;
    this.noteFailure(
      manifestKey,
      NOT_REPORTED,
      `${count} planned items were not reported and the manifest listing them is missing.`,
    );
  }

  private noteFailure(key: string, error: string, cause: string): void {
    if (this.failures.length < MAX_FAILURES_IN_RESULT) {
      this.failures.push({ Key: key, Error: error, Cause: truncate(cause, RESULT_CAUSE_MAX) });
    }
  }
}

/** When the first batch started and the last one stopped. */
export class Timings {
  private first = Infinity;
  private last = -Infinity;

  add(entry: ChildExecutionEntry): void {
    const start = entry.StartDate ? Date.parse(entry.StartDate) : NaN;
    const stop = entry.StopDate ? Date.parse(entry.StopDate) : NaN;
    if (!Number.isNaN(start)) this.first = Math.min(this.first, start);
    if (!Number.isNaN(stop)) this.last = Math.max(this.last, stop);
  }

  toJSON(): { BatchesStartedAt?: string; BatchesStoppedAt?: string } {
    return {
      ...(Number.isFinite(this.first) && { BatchesStartedAt: new Date(this.first).toISOString() }),
      ...(Number.isFinite(this.last) && { BatchesStoppedAt: new Date(this.last).toISOString() }),
    };
  }
}
