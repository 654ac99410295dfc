import { SingleBar } from 'cli-progress';

export interface ProgressState {
  objectsDone: number;
  objectsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  failed: number;
}

export interface ProgressOptions {
  /** Where progress goes; stdout is reserved for the result JSON. */
  stream?: NodeJS.WriteStream;
  /** A bar on a terminal, plain periodic lines otherwise. */
  tty?: boolean;
  /** Seconds between plain lines. @default 5 */
  intervalSeconds?: number;
  now?: () => number;
}

const MiB = 1024 * 1024;

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * MiB) return `${(bytes / 1024 / MiB).toFixed(2)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Rate and ETA from bytes when sizes are known, from objects otherwise. */
export function describeProgress(state: ProgressState, elapsedSeconds: number): string {
  const rate = elapsedSeconds > 0 ? state.bytesDone / MiB / elapsedSeconds : 0;
  const fraction =
    state.bytesTotal > 0
      ? state.bytesDone / state.bytesTotal
      : state.objectsTotal > 0
        ? state.objectsDone / state.objectsTotal
        : 1;
  const eta =
    fraction > 0 && fraction < 1 ? (elapsedSeconds * (1 - fraction)) / fraction : fraction >= 1 ? 0 : NaN;
  const failed = state.failed > 0 ? `, ${state.failed} failed` : '';
  return (
    `${state.objectsDone}/${state.objectsTotal} objects${failed}, ` +
    `${formatBytes(state.bytesDone)}/${formatBytes(state.bytesTotal)}, ` +
    `${rate.toFixed(1)} MB/s, ETA ${formatDuration(eta)}`
  );
}

/** Shows how a transfer goes, on stderr: a progress bar on a terminal, a line every few seconds otherwise. */
export class ProgressReporter {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private bar?: SingleBar;
  private timer?: NodeJS.Timeout;
  private started = 0;
  private state: ProgressState = { objectsDone: 0, objectsTotal: 0, bytesDone: 0, bytesTotal: 0, failed: 0 };

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? Boolean(this.stream.isTTY);
    this.now = options.now ?? Date.now;
    this.intervalMs = (options.intervalSeconds ?? 5) * 1000;
  }

  start(objectsTotal: number, bytesTotal: number): void {
    this.started = this.now();
    this.state = { ...this.state, objectsTotal, bytesTotal };
    if (this.tty) {
      this.bar = new SingleBar({
        stream: this.stream,
        format: '{bar} {percentage}% | {text}',
        hideCursor: true,
        barsize: 30,
      });
      this.bar.start(Math.max(objectsTotal, 1), 0, { text: this.text() });
    } else {
      this.line();
      this.timer = setInterval(() => this.line(), this.intervalMs);
      this.timer.unref();
    }
  }

  update(change: Partial<ProgressState>): void {
    this.state = { ...this.state, ...change };
    this.bar?.update(this.state.objectsDone, { text: this.text() });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.bar) {
      this.bar.update(this.state.objectsDone, { text: this.text() });
      this.bar.stop();
      this.bar = undefined;
    } else if (this.started) {
      this.line();
    }
    this.started = 0;
  }

  private text(): string {
    return describeProgress(this.state, (this.now() - this.started) / 1000);
  }

  private line(): void {
    this.stream.write(`progress: ${this.text()}\n`);
  }
}
