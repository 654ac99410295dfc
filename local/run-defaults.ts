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
  // 4 ranged GETs of 4 MiB and 4 parts of 5 MiB in flight: 2 x rclone's single stream where one
  // connection is capped, in ~160 MiB; 8 MiB ranges and parts cost ~35 MiB more for no measured gain.
  copyOptions: { readAhead: 4, rangeSize: 4 * MiB, partSize: 5 * MiB, queueSize: 4 },
};
