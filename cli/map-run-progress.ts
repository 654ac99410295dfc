import { SingleBar } from 'cli-progress';
import { formatDuration } from './progress';

/** Objects (Distributed Map items) of a map run by state, as DescribeMapRun's `itemCounts` gives them. */
export interface MapRunCounts {
  succeeded: number;
  /** Failed, timed out or aborted: the objects of batches whose CopyBatch failed. */
  failed: number;
  running: number;
  pending: number;
  total: number;
}

export interface MapRunSnapshot {
  counts: MapRunCounts;
  /** Epoch milliseconds. */
  executionStart: number;
  mapRunStart: number;
}

export interface MapRunProgressOptions {
  /** stderr: stdout is reserved for the result JSON. */
  stream: { write(text: string): unknown; isTTY?: boolean };
  /** A bar on a terminal, plain lines otherwise. @default stream.isTTY */
  tty?: boolean;
  /** Least seconds between two plain lines. @default 5 */
  intervalSeconds?: number;
  /** A plain line at least this often, even when nothing changed. @default 60 */
  heartbeatSeconds?: number;
  now: () => number;
}

/**
 * The line shown for a map run: objects only, since the map run's counts carry no bytes. Elapsed time is
 * the execution's (planning included); the ETA extrapolates the map run's own rate.
 */
export function describeMapRunProgress(snapshot: MapRunSnapshot, now: number): string {
  const { succeeded, failed, running, total } = snapshot.counts;
  const done = succeeded + failed;
  const mapSeconds = (now - snapshot.mapRunStart) / 1000;
  const eta =
    total > 0 && done >= total ? 0 : done > 0 && mapSeconds > 0 ? ((total - done) * mapSeconds) / done : NaN;
  return (
    `${done}/${total} objects` +
    (failed > 0 ? `, ${failed} failed` : '') +
    (running > 0 ? `, ${running} running` : '') +
    `, elapsed ${formatDuration((now - snapshot.executionStart) / 1000)}, ETA ${formatDuration(eta)}`
  );
}

/**
 * Shows a map run's progress like {@link ProgressReporter} does a local run's: a bar on a terminal, a
 * `progress:` line otherwise. Driven by the caller's polls, so it needs no timer of its own.
 */
export class MapRunProgress {
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly heartbeatMs: number;
  private bar?: SingleBar;
  private last?: MapRunSnapshot;
  private lastLine?: { at: number; key: string };

  constructor(private readonly options: MapRunProgressOptions) {
    this.tty = options.tty ?? Boolean(options.stream.isTTY);
    this.intervalMs = (options.intervalSeconds ?? 5) * 1000;
    this.heartbeatMs = (options.heartbeatSeconds ?? 60) * 1000;
  }

  update(snapshot: MapRunSnapshot): void {
    this.last = snapshot;
    const now = this.options.now();
    const { counts } = snapshot;
    const done = counts.succeeded + counts.failed;
    if (this.tty) {
      const text = describeMapRunProgress(snapshot, now);
      if (!this.bar) {
        this.bar = new SingleBar({
          stream: this.options.stream as NodeJS.WritableStream,
          format: '{bar} {percentage}% | {text}',
          hideCursor: true,
          barsize: 30,
        });
        this.bar.start(Math.max(counts.total, 1), done, { text });
      } else {
        this.bar.setTotal(Math.max(counts.total, 1));
        this.bar.update(done, { text });
      }
      return;
    }
    const key = countsKey(counts);
    const since = this.lastLine ? now - this.lastLine.at : Infinity;
    const due = key === this.lastLine?.key ? since >= this.heartbeatMs : since >= this.intervalMs;
    if (due) this.line(now, key);
  }

  /** Shows the last counts once more (if not shown yet) and ends the bar. */
  stop(): void {
    if (!this.last) return;
    const now = this.options.now();
    if (this.bar) {
      const { counts } = this.last;
      this.bar.update(counts.succeeded + counts.failed, { text: describeMapRunProgress(this.last, now) });
      this.bar.stop();
      this.bar = undefined;
    } else {
      const key = countsKey(this.last.counts);
      if (key !== this.lastLine?.key) this.line(now, key);
    }
    this.last = undefined;
  }

  private line(now: number, key: string): void {
    if (!this.last) return;
    this.options.stream.write(`progress: ${describeMapRunProgress(this.last, now)}\n`);
    this.lastLine = { at: now, key };
  }
}

function countsKey(c: MapRunCounts): string {
  return `${c.succeeded}/${c.failed}/${c.running}/${c.pending}/${c.total}`;
}
