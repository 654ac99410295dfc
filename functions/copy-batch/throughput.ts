const MiB = 1024 * 1024;

/**
 * What one object copy achieves in bytes per second, learned from the copies this container finished
 * (weighted by bytes, so that small objects dominated by request latency do not skew it).
 */
export class ThroughputEstimator {
  private bytes = 0;
  private millis = 0;

  /**
   * @param priorBytesPerSecond assumed before any copy finished: deliberately low, so that a cold
   *   container defers rather than starts what it may not finish
   * @param safetyFactor estimates are stretched by this much
   * @param perObjectMs fixed cost of an object (requests, multipart bookkeeping)
   */
  constructor(
    private readonly priorBytesPerSecond = 20 * MiB,
    private readonly safetyFactor = 1.5,
    private readonly perObjectMs = 1_000,
  ) {}

  record(bytes: number, durationMs: number): void {
    if (bytes <= 0 || durationMs <= 0) return;
    this.bytes += bytes;
    this.millis += durationMs;
  }

  /** Bytes per second per object copy (the prior until something was measured). */
  get bytesPerSecond(): number {
    // Too little measured to trust: keep the prior.
    if (this.bytes < 8 * MiB) return this.priorBytesPerSecond;
    return (this.bytes / this.millis) * 1000;
  }

  /** Milliseconds one object of `size` bytes is expected to take, with the safety factor. */
  estimateMs(size: number): number {
    return this.perObjectMs + (size / this.bytesPerSecond) * 1000 * this.safetyFactor;
  }
}
