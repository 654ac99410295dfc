import { PassThrough } from 'node:stream';
import type { StagingStore } from './staging';

/** Bytes buffered between the writer and the staging upload before the writer waits. @default */
const HIGH_WATER_MARK = 1024 * 1024;

/**
 * A JSONL file of a run (the manifest of units, the list of giant objects, a Sync plan's skipped objects
 * and deletions) streamed into the staging store while it is being written: one upload, fed page by page,
 * with backpressure, so that memory stays flat whatever the number of lines. Exclusive: a run never
 * replaces another run's file.
 */
export class JsonlWriter<Line = unknown> {
  private readonly stream: PassThrough;
  private readonly upload: Promise<void>;
  private ended = false;
  /** Lines written. */
  count = 0;

  constructor(
    private readonly staging: StagingStore,
    readonly key: string,
    bufferedBytes = HIGH_WATER_MARK,
  ) {
    this.stream = new PassThrough({ highWaterMark: bufferedBytes });
    // abort() may destroy the stream before the store attached its own listeners.
    this.stream.on('error', () => undefined);
    this.upload = staging.put(key, this.stream, { contentType: 'application/jsonl', exclusive: true });
    // An upload that stops early stops the stream, which wakes a writer waiting for 'drain'.
    this.upload.then(
      () => {
        if (!this.ended) this.stream.destroy();
      },
      (error: unknown) => this.stream.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  }

  /** Appends lines; resolves once the upload can take more. Rejects when the upload failed. */
  async write(lines: readonly Line[]): Promise<void> {
    if (lines.length === 0) return;
    if (this.stream.destroyed) return this.stopped();
    let text = '';
    for (const line of lines) text += `${JSON.stringify(line)}\n`;
    this.count += lines.length;
    if (this.stream.write(text)) return;
    const drained = await new Promise<boolean>((resolve) => {
      const onDrain = (): void => {
        this.stream.off('close', onClose);
        resolve(true);
      };
      const onClose = (): void => {
        this.stream.off('drain', onDrain);
        resolve(false);
      };
      this.stream.once('drain', onDrain);
      this.stream.once('close', onClose);
    });
    if (!drained) return this.stopped();
  }

  /** The upload's error, once the stream stopped before the file was complete. */
  private async stopped(): Promise<never> {
    await this.upload;
    throw new Error(`the staging store stopped reading ${this.key} before it was complete`);
  }

  /** Ends the file and waits until the staging store holds all of it. */
  async close(): Promise<void> {
    this.ended = true;
    this.stream.end();
    await this.upload;
  }

  /** Abandons the file: stops the upload and removes whatever part of it was stored. */
  async abort(reason: Error): Promise<void> {
    this.ended = true;
    this.stream.destroy(reason);
    await this.upload.catch(() => undefined);
    await this.staging.delete(this.key).catch(() => undefined);
  }
}
