/** Per-operation and per-fault counters of the embedded S3, read by tests and benchmarks. */
import type { CredentialKind } from './credentials';

export interface Counters {
  /** requests per operation (GetObject, HeadObject, PutObject, UploadPart, ListObjectsV2, ...) */
  requests: Record<string, number>;
  /** the same, per kind of credentials (counted once authenticated) */
  requestsByCredential: Record<CredentialKind, Record<string, number>>;
  /** error responses per S3 error code */
  errors: Record<string, number>;
  faults: {
    slowDown: number;
    cutGetBody: number;
    replacedSource: number;
    delayed: number;
    throttled: number;
  };
  /** GET body bytes sent */
  bytesServed: number;
  /** decoded PUT/UploadPart body bytes received */
  bytesReceived: number;
  credentialsIssued: number;
}

export function emptyCounters(): Counters {
  return {
    requests: {},
    requestsByCredential: { admin: {}, destination: {}, issued: {}, anonymous: {} },
    errors: {},
    faults: { slowDown: 0, cutGetBody: 0, replacedSource: 0, delayed: 0, throttled: 0 },
    bytesServed: 0,
    bytesReceived: 0,
    credentialsIssued: 0,
  };
}

export function bump(map: Record<string, number>, name: string): void {
  map[name] = (map[name] ?? 0) + 1;
}
