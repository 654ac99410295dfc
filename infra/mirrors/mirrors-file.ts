/**
 * Mirrors: transfer events the pipeline runs on a schedule (EventBridge Scheduler). They are read from a
 * JSON file at synth time (`-c mirrorsFile=mirrors.json`) and validated there, so that a mistake fails
 * `cdk synth` instead of a run at 3 a.m. Messages name the mirror and the field, never a value that could
 * be a secret. See docs/mirroring.md.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_CREDENTIALS_ENDPOINTS, endpointRefusal } from '../../shared/credentials/endpoint';
import { formatPath, parseEvent } from '../../shared/event';
import { parseJsonText } from '../../shared/json-text';
import { mirrorDeletesProblem, withMirrorDefaults } from './mirror-deletes';

/** A mirror as written in the mirrors file (or given to the construct). */
export interface MirrorSpec {
  /** Names the schedule: 1-64 characters from A-Z, a-z, 0-9, `.`, `_`, `-`. */
  readonly name: string;
  /** `rate(1 day)`, `cron(0 6 * * ? *)` or `at(2030-01-31T06:00:00)`. */
  readonly schedule: string;
  /**
   * IANA time zone for `cron(...)` and `at(...)`, e.g. `America/New_York`.
   * @default UTC
   */
  readonly timezone?: string;
  /**
   * A disabled mirror keeps its schedule, which starts nothing.
   * @default true
   */
  readonly enabled?: boolean;
  /** Shown on the schedule. */
  readonly description?: string;
  /**
   * Minutes after the scheduled time within which the run may start (EventBridge Scheduler's flexible
   * time window spreads starts out); 0 starts on the minute.
   * @default 15
   */
  readonly flexibleWindowMinutes?: number;
  /**
   * The transfer event, authenticated with `BearerTokenParameter` (under the stack's token path).
   * `Options.Sync` defaults to true. `Options.Delete` needs the stack's `allowMirrorDeletes`.
   */
  readonly event: unknown;
}

/** A validated mirror with its defaults applied: itself a valid {@link MirrorSpec}. */
export interface Mirror extends MirrorSpec {
  readonly enabled: boolean;
  readonly flexibleWindowMinutes: number;
  /** The state machine input: the event as written, with `Options.Sync` defaulted to true. */
  readonly event: Record<string, unknown>;
}

/** The mirrors file: `{ "mirrors": [ ... ] }`. */
export interface MirrorsFile {
  readonly mirrors: MirrorSpec[];
}

export const DEFAULT_FLEXIBLE_WINDOW_MINUTES = 15;
const MAX_FLEXIBLE_WINDOW_MINUTES = 1440;

const MIRROR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MIRROR_FIELDS = [
  'name',
  'schedule',
  'timezone',
  'enabled',
  'description',
  'flexibleWindowMinutes',
  'event',
];

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// ---------------------------------------------------------------------------------------------------
// Field rules: each returns what is wrong, or undefined.

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((.*)\)$/;
const AT = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/;
const CRON_FIELD = /^[0-9A-Za-z*?,/#-]+$/;
const CRON_FIELD_NAMES = ['minutes', 'hours', 'day-of-month', 'month', 'day-of-week', 'year'];

/** Why `expression` is not an EventBridge Scheduler expression, or undefined when it is one. */
export function scheduleProblem(expression: string): string | undefined {
  const expected =
    'expected rate(value unit) such as rate(1 day), cron(minutes hours day-of-month month day-of-week year) ' +
    'such as cron(0 6 * * ? *), or at(yyyy-mm-ddThh:mm:ss)';
  const rate = RATE.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2];
    if (value < 1) return `${expected}: a rate must be at least 1`;
    if ((value === 1) !== !unit.endsWith('s')) {
      return `${expected}: the unit is singular for 1 and plural otherwise, as in rate(1 day) and rate(2 days)`;
    }
    return undefined;
  }
  const cron = CRON.exec(expression);
  if (cron) {
    const fields = cron[1].trim().split(/\s+/);
    if (fields.length !== 6)
      return `${expected}: a cron expression has 6 fields, this one has ${fields.length}`;
    const bad = fields.findIndex((f) => !CRON_FIELD.test(f));
    if (bad >= 0) return `${expected}: the ${CRON_FIELD_NAMES[bad]} field has characters cron does not use`;
    if ((fields[2] === '?') === (fields[4] === '?')) {
      return `${expected}: exactly one of day-of-month and day-of-week must be ? (e.g. cron(0 6 * * ? *))`;
    }
    return undefined;
  }
  const at = AT.exec(expression);
  if (at) {
    const [year, month, day, hour, minute, second] = at.slice(1).map(Number);
    const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
    const valid =
      date.getUTCFullYear() === year &&
      date.getUTCMonth() === month - 1 &&
      date.getUTCDate() === day &&
      hour < 24 &&
      minute < 60 &&
      second < 60;
    return valid ? undefined : `${expected}: not a valid date and time`;
  }
  return expected;
}

const TIME_ZONE_SPELLING = /^[A-Z][A-Za-z0-9_+-]*(\/[A-Z0-9][A-Za-z0-9_+-]*)*$/;

/** Why `name` is not an IANA time zone name, or undefined when it is one. */
export function timeZoneProblem(name: string): string | undefined {
  const expected = 'expected an IANA time zone name such as America/New_York, Europe/Paris or UTC';
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return expected;
  }
  // Intl ignores case; EventBridge Scheduler does not.
  if (TIME_ZONE_SPELLING.test(name)) return undefined;
  return `${expected} (did you mean ${resolved}?)`;
}

// ---------------------------------------------------------------------------------------------------
// Schema of a mirror's own fields (the event is checked with the event contract's parseEvent).

type RawIssue = z.core.$ZodRawIssue;

const typeError =
  (expected: string) =>
  (issue: RawIssue): string | undefined => {
    if (issue.code !== 'invalid_type') return undefined;
    return issue.input === undefined ? `required: expected ${expected}` : `expected ${expected}`;
  };

const checked = (expected: string, problem: (value: string) => string | undefined) =>
  z.string({ error: typeError(expected) }).superRefine((value, ctx) => {
    const found = problem(value);
    if (found !== undefined) ctx.addIssue({ code: 'custom', message: found });
  });

const mirrorSchema = z.strictObject(
  {
    name: checked('a mirror name', (name) =>
      MIRROR_NAME.test(name)
        ? undefined
        : 'expected 1-64 characters from A-Z, a-z, 0-9, ".", "_" and "-", starting with a letter or digit',
    ),
    schedule: checked('a schedule expression such as rate(1 day) or cron(0 6 * * ? *)', scheduleProblem),
    timezone: checked('an IANA time zone name such as America/New_York', timeZoneProblem).optional(),
    enabled: z.boolean({ error: typeError('true or false') }).optional(),
    description: z
      .string({ error: typeError('a string') })
      .max(512, { error: 'expected at most 512 characters' })
      .optional(),
    flexibleWindowMinutes: z
      .number({ error: typeError(`a whole number of minutes from 0 to ${MAX_FLEXIBLE_WINDOW_MINUTES}`) })
      .int({ error: `expected a whole number of minutes from 0 to ${MAX_FLEXIBLE_WINDOW_MINUTES}` })
      .min(0, { error: `expected a whole number of minutes from 0 to ${MAX_FLEXIBLE_WINDOW_MINUTES}` })
      .max(MAX_FLEXIBLE_WINDOW_MINUTES, {
        error: `expected a whole number of minutes from 0 to ${MAX_FLEXIBLE_WINDOW_MINUTES}`,
      })
      .optional(),
    event: z.custom<Record<string, unknown>>(isRecord, {
      error: (issue) =>
        issue.input === undefined
          ? 'required: expected the transfer event (an object)'
          : 'expected the transfer event (an object)',
    }),
  },
  { error: typeError('an object with name, schedule and event') },
);

function formatMirrorIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map(
          (key) => `${formatPath([key])}: unknown field (a mirror has ${MIRROR_FIELDS.join(', ')})`,
        )
      : [issue.path.length === 0 ? issue.message : `${formatPath(issue.path)}: ${issue.message}`],
  );
}

/** The checks on a mirror's event beyond the event contract; `undefined` when it is fine. */
function eventProblem(event: Record<string, unknown>, tokenParameterPath: string): string | undefined {
  const inline = ['BearerToken', 'JwtCookie'].filter((field) => event[field] !== undefined);
  if (inline.length > 0) {
    return (
      `event.${inline[0]}: a mirror may not hold a token inline: a schedule's input is readable by anyone ` +
      'who may read the schedule (scheduler:GetSchedule), and it stays there for as long as the schedule. ' +
      `Store the token as an SSM SecureString under ${tokenParameterPath} and name it in ` +
      'event.BearerTokenParameter (see docs/mirroring.md)'
    );
  }
  try {
    parseEvent(event);
  } catch (error) {
    const e = error as Error;
    return `${e.name}: ${e.message}`;
  }
  // A valid event without an inline token names a parameter.
  const parameter = event.BearerTokenParameter as string;
  if (!parameter.startsWith(tokenParameterPath)) {
    return (
      `event.BearerTokenParameter: "${parameter}" is not under ${tokenParameterPath}, the only path the ` +
      `pipeline's Plan role may read token parameters from: store the token as ` +
      `${tokenParameterPath}<name>, or deploy with -c tokenParameterPath=<its path>`
    );
  }
  return undefined;
}

/** A mirror's credentials endpoint must be one the deployed Lambdas accept. */
function endpointProblem(event: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  const refusal = endpointRefusal(event.CredentialsEndpoint as string, { allowed, allowLoopback: false });
  return refusal === undefined
    ? undefined
    : `event.CredentialsEndpoint: expected an endpoint the pipeline allows (${allowed.join(', ')}), ${refusal}: ` +
        'every run would fail with InvalidInput; add it to credentialsEndpoints';
}

/** A bucket the pipeline may write, optionally only under a key prefix. */
export interface MirrorDestination {
  readonly bucketName: string;
  readonly prefix?: string;
}

/**
 * Why the pipeline could write none of the mirror's objects, or undefined. Only what is certain: a
 * destination without Dest.Prefix or Dest.Key may still fit a prefix-limited bucket, by its source keys.
 */
function destinationProblem(
  event: Record<string, unknown>,
  destinations: readonly MirrorDestination[],
): string | undefined {
  const dest = event.Dest as { Bucket: string; Prefix?: string; Key?: string };
  const allowed = destinations.filter((d) => d.bucketName === dest.Bucket);
  const keyStart = dest.Prefix ?? dest.Key;
  const fits = (prefix = '') =>
    keyStart === undefined || prefix.startsWith(keyStart) || keyStart.startsWith(prefix);
  if (allowed.some((d) => fits(d.prefix))) return undefined;
  const list = destinations.map((d) => `${d.bucketName}${d.prefix ? `/${d.prefix}` : ''}`).join(', ');
  const field = allowed.length === 0 ? 'Bucket' : dest.Prefix !== undefined ? 'Prefix' : 'Key';
  return (
    `event.Dest.${field}: the pipeline may not write there (its destinationBuckets: ${list || 'none'}), so ` +
    'every object would fail with DestinationAccessDenied: add the bucket (and prefix) to destinationBuckets'
  );
}

export interface ValidateMirrorsOptions {
  /** Names where the mirrors come from, at the start of every message (e.g. the file). @default 'mirrors' */
  readonly source?: string;
  /** The pipeline's destinations: a mirror writing elsewhere is refused. @default - not checked */
  readonly destinations?: readonly MirrorDestination[];
  /** The credentials endpoints the pipeline allows: a mirror naming another is refused. @default the defaults */
  readonly credentialsEndpoints?: readonly string[];
  /** The stack lets mirrors delete (`Options.Delete`); a mirror that deletes is refused otherwise. @default false */
  readonly allowMirrorDeletes?: boolean;
}

/**
 * Validates mirrors and applies their defaults (`enabled` true, `flexibleWindowMinutes` 15,
 * `Options.Sync` true). A mirror with `Options.Delete` needs `allowMirrorDeletes`. Validating a validated
 * list returns it unchanged.
 *
 * @throws Error listing every problem, one per line: `<source>: mirror "<name>": <field>: <problem>`
 */
export function validateMirrors(
  specs: unknown,
  tokenParameterPath: string,
  options: ValidateMirrorsOptions = {},
): Mirror[] {
  const source = options.source ?? 'mirrors';
  if (!Array.isArray(specs)) throw new Error(`${source}: expected a list of mirrors`);
  const problems: string[] = [];
  const mirrors: Mirror[] = [];
  const seen = new Map<string, number>();
  specs.forEach((spec: unknown, index) => {
    const name = isRecord(spec) && typeof spec.name === 'string' ? spec.name : undefined;
    const label = name !== undefined && MIRROR_NAME.test(name) ? `mirror "${name}"` : `mirrors[${index}]`;
    const report = (problem: string) => problems.push(`${label}: ${problem}`);

    const parsed = mirrorSchema.safeParse(spec);
    if (!parsed.success) {
      formatMirrorIssues(parsed.error.issues).forEach(report);
      return;
    }
    const mirror = parsed.data;
    const key = mirror.name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      report(`name: used by mirrors[${first}] already (names are compared ignoring case)`);
      return;
    }
    seen.set(key, index);
    // Checked as the schedule will send it: Delete, say, needs the Sync a mirror defaults to.
    const event = withMirrorDefaults(mirror.event);
    const problem =
      eventProblem(event, tokenParameterPath) ??
      endpointProblem(event, options.credentialsEndpoints ?? DEFAULT_CREDENTIALS_ENDPOINTS) ??
      (options.destinations && destinationProblem(event, options.destinations)) ??
      mirrorDeletesProblem(event, options.allowMirrorDeletes ?? false);
    if (problem !== undefined) {
      report(problem);
      return;
    }
    mirrors.push({
      name: mirror.name,
      schedule: mirror.schedule,
      ...(mirror.timezone !== undefined && { timezone: mirror.timezone }),
      enabled: mirror.enabled ?? true,
      ...(mirror.description !== undefined && { description: mirror.description }),
      flexibleWindowMinutes: mirror.flexibleWindowMinutes ?? DEFAULT_FLEXIBLE_WINDOW_MINUTES,
      event,
    });
  });
  if (problems.length > 0) throw new Error(problems.map((p) => `${source}: ${p}`).join('\n'));
  return mirrors;
}

/** Parses the contents of a mirrors file (`{ "mirrors": [...] }`) and validates its mirrors. */
export function parseMirrorsFile(
  text: string,
  tokenParameterPath: string,
  options: ValidateMirrorsOptions & { source: string },
): Mirror[] {
  const { source } = options;
  let content: unknown;
  try {
    content = parseJsonText(text);
  } catch (error) {
    throw new Error(`${source}: ${(error as Error).message}`, { cause: error });
  }
  if (!isRecord(content) || !Array.isArray(content.mirrors)) {
    throw new Error(`${source}: expected an object { "mirrors": [ ... ] }`);
  }
  const unknown = Object.keys(content).filter((k) => k !== 'mirrors');
  if (unknown.length > 0) {
    throw new Error(`${source}: ${formatPath([unknown[0]])}: unknown field (the file has only "mirrors")`);
  }
  return validateMirrors(content.mirrors, tokenParameterPath, options);
}

/** Reads and validates a mirrors file; a relative path is taken from the current directory. */
export function readMirrorsFile(
  path: string,
  tokenParameterPath: string,
  options: Omit<ValidateMirrorsOptions, 'source'> = {},
): Mirror[] {
  const source = `mirrorsFile ${path}`;
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (error) {
    throw new Error(`${source}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: error,
    });
  }
  return parseMirrorsFile(text, tokenParameterPath, { ...options, source });
}
