/**
 * The requests scripts/rgw/probe-differences.ts sends to both backends, in report order, by area (one
 * file each under probes/); what they share is in probes/kit.ts.
 */
import { WRITES_PROBES } from './probes/writes';
import { MULTIPART_PROBES } from './probes/multipart';
import { READS_PROBES } from './probes/reads';
import { AUTH_PROBES } from './probes/auth';
import { LISTINGS_PROBES } from './probes/listings';
import { DELETES_PROBES } from './probes/deletes';
import type { Probe } from './probes/kit';

export { seed, type Answer, type Backend, type Probe } from './probes/kit';

export const PROBES: Probe[] = [
  ...WRITES_PROBES,
  ...MULTIPART_PROBES,
  ...READS_PROBES,
  ...AUTH_PROBES,
  ...LISTINGS_PROBES,
  ...DELETES_PROBES,
];
