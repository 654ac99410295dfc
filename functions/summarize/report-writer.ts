import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Estimate } from '../../shared/cost';
import type { StagingStore } from '../../shared/staging';
import type { ResultFileStatus } from './result-reader';
import type { DeleteReportItem, ReportItem } from './tally';

/** The report's closing fields (it opens with the plan and the items). */
export interface ReportSummary {
  Counts: {
    Planned: number;
    Copied: number;
    Skipped: number;
    Failed: number;
    /** Failed because no batch reported them (included in Failed). */
    NotReported: number;
    /** With `Options.Delete`: destination objects deleted, not deleted, or (dry run) planned for deletion. */
    Deleted?: number;
    NotDeleted?: number;
    PlannedDeletes?: number;
  };
  Bytes: number;
  Batches: Record<ResultFileStatus, number>;
  Timings: { BatchesStartedAt?: string; BatchesStoppedAt?: string; SummarizedAt: string };
  /** A dry run's estimate of the run it plans (see functions/summarize/estimate.ts). */
  Estimate?: Estimate;
  Notes: string[];
}

/**
 * Streams the report as one JSON document, `{ Plan, MapRun, Items: [...], Counts, ... }`, into the
 * staging store while the items are read, with backpressure.
 */
export class ReportWriter {
  private readonly body = new PassThrough();
  private upload?: Promise<void>;
  private items = 0;

  constructor(
    private readonly staging: StagingStore,
    readonly key: string,
  ) {}

  async open(plan: object, mapRun: object | null): Promise<void> {
    this.upload = this.staging.put(this.key, this.body, { contentType: 'application/json' });
    // Observed by write()/close(); this keeps an early failure from being an unhandled rejection.
    this.upload.catch(() => undefined);
    await this.write(`{"Plan":${JSON.stringify(plan)},\n"MapRun":${JSON.stringify(mapRun)},\n"Items":[`);
  }

  async item(item: ReportItem | DeleteReportItem): Promise<void> {
    await this.write(`${this.items++ === 0 ? '\n' : ',\n'}${JSON.stringify(item)}`);
  }

  async close(summary: ReportSummary): Promise<void> {
    const tail = JSON.stringify(summary).slice(1); // the summary's fields continue the object
    this.body.end(`\n],\n${tail}\n`);
    await this.upload;
  }

  async abort(error: Error): Promise<void> {
    this.body.destroy(error);
    await this.upload?.catch(() => undefined);
  }

  private async write(text: string): Promise<void> {
    if (this.body.write(text)) return;
    await Promise.race([once(this.body, 'drain'), this.upload]);
  }
}
