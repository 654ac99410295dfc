import { parseBucketAndPrefix, type BucketAndPrefix } from '../shared/aws/s3-names';
import { DEFAULT_CREDENTIALS_ENDPOINTS, parseEndpointPattern } from '../shared/credentials/endpoint';
import { DEFAULT_OBJECTS_PER_PACK, DEFAULT_PART_FAN_OUT_BYTES } from '../shared/units';
import { readMirrorsFile, type Mirror, type ValidateMirrorsOptions } from './mirrors/mirrors-file';

/**
 * Pipeline settings read from the CDK context (cdk.json `context`, or `-c key=value` on the command
 * line, where every value arrives as a string).
 */

/** A bucket CopyBatch may write to, optionally only under a key prefix. */
export type DestinationSpec = BucketAndPrefix;

export interface PipelineConfig {
  readonly destinationBuckets: DestinationSpec[];
  readonly maxConcurrency: number;
  /** Small objects per pack (one child execution). */
  readonly objectsPerPack: number;
  /** Objects above this many bytes are copied as part ranges in parallel. */
  readonly partFanOutBytes: number;
  readonly toleratedFailurePercentage: number;
  readonly copyMemoryMb: number;
  readonly copyTimeoutMinutes: number;
  readonly tokenParameterPath: string;
  /** Scheduled transfers, from the file named by `mirrorsFile`. */
  readonly mirrors: readonly Mirror[];
  /** Build the CloudWatch dashboard. */
  readonly dashboard: boolean;
  /** Where alarms are e-mailed; absent: alarms without actions. */
  readonly alarmEmail?: string;
  /** The credentials endpoints a token may be sent to (URLs or `https://*.suffix` patterns). */
  readonly credentialsEndpoints: readonly string[];
  /** Accept tokens inline in the event. */
  readonly allowInlineTokens: boolean;
  /** Let mirrors delete destination objects the source no longer has (`Options.Delete`). */
  readonly allowMirrorDeletes: boolean;
  /** The state machine's TimeoutSeconds. */
  readonly executionTimeout: number;
  /** The account that must own destination buckets; `any` turns the check off; absent: the stack's. */
  readonly destinationBucketOwner?: string;
  /** KMS keys of SSE-KMS destination buckets. */
  readonly destinationKmsKeys: readonly string[];
}

export const DEFAULT_CONFIG: Omit<PipelineConfig, 'destinationBuckets'> = {
  // 100 CopyBatch Lambdas x 8 objects each: 800 streams, far below S3's per-prefix rates, and one TEA
  // credentials call per container-hour.
  maxConcurrency: 100,
  // Units (shared/units.ts, docs/cost.md): 500 small objects per child execution put Step Functions at
  // ~$0.20 per million objects; packs are also capped by bytes (a few minutes of one Lambda) and JSON.
  objectsPerPack: DEFAULT_OBJECTS_PER_PACK,
  // An object above 4 GiB takes one Lambda about a minute: in ranges it goes as fast as the Map's width.
  partFanOutBytes: DEFAULT_PART_FAN_OUT_BYTES,
  // Only whole failed batches count (item failures are reported, not thrown): a crash, an out-of-memory
  // or a timeout after the retries. 10% tolerates the odd one and stops a systematically broken run
  // early; Summarize reports every item either way.
  toleratedFailurePercentage: 10,
  // 8 MiB parts x (4 in flight + 1 being filled) x 8 objects = 320 MiB of buffers, plus the runtime;
  // 1769 MiB is also where Lambda gives one full vCPU (and more network bandwidth).
  copyMemoryMb: 1769,
  copyTimeoutMinutes: 15,
  tokenParameterPath: '/s3-direct-transfer/',
  mirrors: [],
  dashboard: true,
  credentialsEndpoints: DEFAULT_CREDENTIALS_ENDPOINTS,
  allowInlineTokens: false,
  allowMirrorDeletes: false,
  // A day: runs of a million objects take hours; a stuck one holds its token no longer than this.
  executionTimeout: 24 * 3600,
  destinationKmsKeys: [],
};

/** The context keys this app reads. */
export const CONTEXT_KEYS = [
  'destinationBuckets',
  'maxConcurrency',
  'objectsPerPack',
  'itemsPerBatch',
  'partFanOutBytes',
  'toleratedFailurePercentage',
  'copyMemoryMb',
  'copyTimeoutMinutes',
  'tokenParameterPath',
  'mirrorsFile',
  'dashboard',
  'alarmEmail',
  'credentialsEndpoints',
  'allowInlineTokens',
  'allowMirrorDeletes',
  'executionTimeout',
  'destinationBucketOwner',
  'destinationKmsKeys',
] as const;

export type ContextReader = (key: string) => unknown;

/** Reads and validates the pipeline settings; throws with the offending key named. */
export function configFromContext(context: ContextReader): PipelineConfig {
  const tokenParameterPath = parseParameterPath(
    context('tokenParameterPath') ?? DEFAULT_CONFIG.tokenParameterPath,
  );
  const alarmEmail = optionalString(context, 'alarmEmail');
  const destinationBuckets = parseDestinations(context('destinationBuckets'));
  const credentialsEndpoints = parseCredentialsEndpoints(context('credentialsEndpoints'));
  const destinationBucketOwner = optionalString(context, 'destinationBucketOwner');
  const allowMirrorDeletes = boolean(context, 'allowMirrorDeletes');
  if (destinationBucketOwner !== undefined && !/^(\d{12}|any)$/.test(destinationBucketOwner)) {
    throw new Error(
      `destinationBucketOwner: expected a 12-digit account id or "any", got ${JSON.stringify(destinationBucketOwner)}`,
    );
  }
  return {
    destinationBuckets,
    maxConcurrency: integer(context, 'maxConcurrency', 1, 10_000),
    // itemsPerBatch: the name of earlier versions.
    objectsPerPack: integer(
      (key) => context(key) ?? (key === 'objectsPerPack' ? context('itemsPerBatch') : undefined),
      'objectsPerPack',
      1,
      10_000,
    ),
    partFanOutBytes: integer(context, 'partFanOutBytes', 16 * 1024 * 1024, 5 * 1024 ** 4),
    toleratedFailurePercentage: number(context, 'toleratedFailurePercentage', 0, 100),
    copyMemoryMb: integer(context, 'copyMemoryMb', 128, 10_240),
    copyTimeoutMinutes: integer(context, 'copyTimeoutMinutes', 1, 15),
    tokenParameterPath,
    mirrors: mirrorsFrom(context, tokenParameterPath, {
      destinations: destinationBuckets,
      credentialsEndpoints,
      allowMirrorDeletes,
    }),
    dashboard: boolean(context, 'dashboard'),
    ...(alarmEmail !== undefined && { alarmEmail: parseAlarmEmail(alarmEmail) }),
    credentialsEndpoints,
    allowInlineTokens: boolean(context, 'allowInlineTokens'),
    allowMirrorDeletes,
    executionTimeout: integer(context, 'executionTimeout', 60, 365 * 24 * 3600),
    ...(destinationBucketOwner !== undefined && { destinationBucketOwner }),
    destinationKmsKeys: listOf(context('destinationKmsKeys'), 'destinationKmsKeys').map((arn) => {
      if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(arn)) {
        throw new Error(`destinationKmsKeys: expected KMS key ARNs, got ${JSON.stringify(arn)}`);
      }
      return arn;
    }),
  };
}

/** The mirrors of the file named by `mirrorsFile` (relative to the current directory), validated. */
function mirrorsFrom(
  context: ContextReader,
  tokenParameterPath: string,
  options: Omit<ValidateMirrorsOptions, 'source'>,
): Mirror[] {
  const file = optionalString(context, 'mirrorsFile');
  return file === undefined ? [] : readMirrorsFile(file, tokenParameterPath, options);
}

/** An e-mail address, checked for its shape only (SNS asks the address to confirm). */
export function parseAlarmEmail(value: string): string {
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
    throw new Error(`alarmEmail: expected an e-mail address, got ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalString(context: ContextReader, key: (typeof CONTEXT_KEYS)[number]): string | undefined {
  const raw = context(key);
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') throw new Error(`${key}: expected a string, got ${JSON.stringify(raw)}`);
  return raw.trim() || undefined;
}

function boolean(
  context: ContextReader,
  key: 'dashboard' | 'allowInlineTokens' | 'allowMirrorDeletes',
): boolean {
  const raw = context(key);
  if (raw === undefined || raw === null || raw === '') return DEFAULT_CONFIG[key];
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new Error(`${key}: expected true or false, got ${JSON.stringify(raw)}`);
}

/**
 * A list setting: a list (cdk.json), a JSON list in a string, or a comma- or whitespace-separated string
 * (`-c key=a,b`). Blank entries are dropped.
 */
function listOf(value: unknown, key: string): string[] {
  if (value === undefined || value === null || value === '') return [];
  let entries: unknown;
  if (Array.isArray(value)) entries = value;
  else if (typeof value === 'string' && value.trim().startsWith('[')) {
    try {
      entries = JSON.parse(value);
    } catch {
      throw new Error(`${key}: not a JSON list: ${value}`);
    }
    if (!Array.isArray(entries)) throw new Error(`${key}: expected a list`);
  } else if (typeof value === 'string') entries = value.split(/[\s,]+/);
  else throw new Error(`${key}: expected a list or a comma-separated string`);
  return (entries as unknown[])
    .map((entry) => {
      if (typeof entry !== 'string')
        throw new Error(`${key}: expected strings, got ${JSON.stringify(entry)}`);
      return entry.trim();
    })
    .filter((entry) => entry !== '');
}

/**
 * Destination buckets from a list (`["a", "b/prefix"]`), a JSON list in a string, or a comma- or
 * whitespace-separated string (`-c destinationBuckets=a,b/prefix`). `s3://` is accepted and dropped.
 */
export function parseDestinations(value: unknown): DestinationSpec[] {
  return listOf(value, 'destinationBuckets')
    .filter((entry) => entry.replace(/^s3:\/\//, '') !== '')
    .map((entry) => {
      try {
        return parseBucketAndPrefix(entry);
      } catch (error) {
        throw new Error(`destinationBuckets: ${(error as Error).message}`, { cause: error });
      }
    });
}

/** Credentials endpoint entries (see shared/credentials/endpoint.ts); unset: the Earthdata Cloud hosts. */
export function parseCredentialsEndpoints(value: unknown): readonly string[] {
  const entries = listOf(value, 'credentialsEndpoints');
  if (entries.length === 0) return DEFAULT_CREDENTIALS_ENDPOINTS;
  for (const entry of entries) {
    try {
      parseEndpointPattern(entry);
    } catch (error) {
      throw new Error(`credentialsEndpoints: ${(error as Error).message}`, { cause: error });
    }
  }
  return entries;
}

/** An SSM parameter path: starts and ends with "/", e.g. "/s3-direct-transfer/". */
export function parseParameterPath(value: unknown): string {
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9_.\-/]*$/.test(value)) {
    throw new Error(
      `tokenParameterPath: expected a path like "/s3-direct-transfer/", got ${JSON.stringify(value)}`,
    );
  }
  return value.endsWith('/') ? value : `${value}/`;
}

function number(context: ContextReader, key: keyof typeof DEFAULT_CONFIG, min: number, max: number): number {
  const raw = context(key);
  if (raw === undefined || raw === null || raw === '') return DEFAULT_CONFIG[key] as number;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new Error(`${key}: expected a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function integer(context: ContextReader, key: keyof typeof DEFAULT_CONFIG, min: number, max: number): number {
  const n = number(context, key, min, max);
  if (!Number.isInteger(n)) throw new Error(`${key}: expected a whole number, got ${n}`);
  return n;
}
