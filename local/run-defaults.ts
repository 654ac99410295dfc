/**
 * The settings `s3-direct-transfer run` copies with on one machine. They differ from the copy Lambda's
 * (the engine's COPY_DEFAULTS and CopyBatch's 4 objects at once) where the host does: a large instance
 * has a network far wider than one S3 connection, so one object is read over several ranged GETs and
 * written over more parts in flight, while a Lambda's network is about one connection wide.
 * Chosen from the sweep in docs/PERFORMANCE.md.
 */
import type { CopyOptions } from '../shared/copy';

const MiB = 1024 * 1024;

export const RUN_DEFAULTS: {
  /** Batches copied at once (the Distributed Map's MaxConcurrency, capped). */
  readonly batches: number;
  /** Objects copied at once within a batch. */
  readonly objectsPerBatch: number;
  readonly copyOptions: Omit<CopyOptions, 'signal' | 'sync'>;
} = {
  batches: 8,
  objectsPerBatch: 4,
  copyOptions: { readAhead: 8, rangeSize: 8 * MiB, partSize: 8 * MiB, queueSize: 8 },
};
