/** The state the request pipeline and the operations share, instead of the EmbeddedS3 object itself. */
import type { Counters } from './counters';
import type { EmulatedKms } from './encryption';
import type { FaultInjector } from './faults';
import type { Completions } from './operations/multipart';
import type { RequestContext } from './request';
import type { ObjectStore } from './store';

export interface Gateway {
  readonly store: ObjectStore;
  /** e.g. `http://127.0.0.1:port`, for the Location of completed uploads */
  readonly endpoint: string;
  readonly region: string;
  /** minimum size of every part but the last at CompleteMultipartUpload */
  readonly minPartSize: number;
  readonly counters: Counters;
  readonly faults: FaultInjector;
  readonly completions: Completions;
  /** The keys SSE-KMS may name. */
  readonly kms: EmulatedKms;
}

/** An S3 operation, e.g. GetObject; each module in operations/ lists those it answers. */
export type Operation = (gw: Gateway, ctx: RequestContext) => Promise<void> | void;
