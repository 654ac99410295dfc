/**
 * The event contract (docs/contracts.md, "The event"): the input of the state machine, of `run` and of
 * schedules, as a zod schema whose output is the normalized {@link TransferEvent}.
 */
import { z } from 'zod';
import { bucketNameProblem } from '../aws/s3-names';
import { globProblem, MAX_PATTERN_LENGTH } from '../glob';
import { invalidInput } from '../errors';
import { fallbackError, formatIssues, typeError } from './messages';
import {
  appNameProblem,
  bearerTokenProblem,
  callerKeyProblem,
  cookieProblem,
  endpointProblem,
  parameterNameProblem,
} from './rules';
import type { EventAuth, EventAuthFields, SourceSpec, TransferEvent } from './types';

/** `Options.MaxDeletes` when the event does not say. */
export const DEFAULT_MAX_DELETES = 1000;

/** Most entries a `Source.Keys` list may hold. */
export const MAX_SOURCE_KEYS = 10_000;

const BUCKET_EXPECTED = "an S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')";

function text(expected: string, problem: (value: string) => string | undefined = () => undefined) {
  return z.string({ error: typeError(expected) }).superRefine((value, ctx) => {
    const found = value.length === 0 ? 'got an empty string' : problem(value);
    if (found !== undefined) ctx.addIssue({ code: 'custom', message: `expected ${expected}, ${found}` });
  });
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Names of `fields` present (defined) in `value`, which may be anything: cross-field checks run on invalid input too. */
const presentFields = (value: unknown, fields: readonly string[]): string[] =>
  isRecord(value) ? fields.filter((f) => value[f] !== undefined) : [];

const listing = (names: readonly string[]): string =>
  names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;

/** Adds an issue unless exactly one of the alternatives is present. */
function exactlyOne(ctx: z.RefinementCtx, present: string[], alternatives: string): void {
  if (present.length === 1) return;
  ctx.addIssue({
    code: 'custom',
    message:
      `expected exactly one of ${alternatives}, ` +
      (present.length === 0 ? 'got none' : `got ${listing(present)}`),
  });
}

// Cross-field checks also run when a field is invalid, so that one event shows all of its problems.
const always = { when: () => true };

const KEY_EXPECTED =
  "an S3 object key (1-1024 bytes of UTF-8, no control characters, no leading '/', no '.' or '..' segment)";
const PREFIX_EXPECTED =
  "a key prefix (1-1024 bytes of UTF-8, no control characters, no leading '/', no '.' or '..' segment)";
const KEYS_EXPECTED = `a non-empty list of at most ${MAX_SOURCE_KEYS} distinct S3 object keys`;
/** Most patterns an Include or Exclude list may hold. */
export const MAX_GLOBS = 50;
const GLOBS_EXPECTED = `a non-empty list of at most ${MAX_GLOBS} glob patterns such as ["**/*.h5"]`;
const BOOLEAN_EXPECTED = 'true or false';

const bucketName = text(BUCKET_EXPECTED, bucketNameProblem);
const objectKey = text(KEY_EXPECTED, callerKeyProblem);
const keyPrefix = text(PREFIX_EXPECTED, callerKeyProblem);

const keyList = z
  .array(objectKey, { error: typeError(KEYS_EXPECTED) })
  .min(1, { error: `expected ${KEYS_EXPECTED}, got an empty list` })
  .max(MAX_SOURCE_KEYS, { error: `expected ${KEYS_EXPECTED}, got more than ${MAX_SOURCE_KEYS}` })
  .superRefine((keys, ctx) => {
    if (!Array.isArray(keys)) return;
    const firstIndex = new Map<unknown, number>();
    keys.forEach((key, index) => {
      if (typeof key !== 'string') return;
      const first = firstIndex.get(key);
      if (first === undefined) firstIndex.set(key, index);
      else ctx.addIssue({ code: 'custom', path: [index], message: `duplicate of Source.Keys[${first}]` });
    });
  }, always);

const globList = z
  .array(
    text(
      `a glob pattern such as **/*.h5 (at most ${MAX_PATTERN_LENGTH} characters, no extglobs)`,
      globProblem,
    ),
    {
      error: typeError(GLOBS_EXPECTED),
    },
  )
  .min(1, { error: `expected ${GLOBS_EXPECTED}, got an empty list` })
  .max(MAX_GLOBS, { error: `expected ${GLOBS_EXPECTED}, got more than ${MAX_GLOBS}` });

const SOURCE_FORMS = ['Key', 'Prefix', 'Keys'] as const;

const sourceShape = {
  Bucket: bucketName,
  Key: objectKey.optional(),
  Prefix: keyPrefix.optional(),
  Keys: keyList.optional(),
  Include: globList.optional(),
  Exclude: globList.optional(),
};
const sourceSchema = z
  .strictObject(sourceShape, {
    error: typeError('an object with Bucket and exactly one of Key, Prefix, Keys'),
  })
  .superRefine((source, ctx) => {
    if (!isRecord(source)) return;
    exactlyOne(
      ctx,
      presentFields(source, SOURCE_FORMS),
      'Key (one object), Prefix (every object under it) or Keys (a list of keys)',
    );
    if (source.Prefix === undefined) {
      for (const field of presentFields(source, ['Include', 'Exclude'])) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: 'only allowed with Source.Prefix (it filters the keys under the prefix)',
        });
      }
    }
  }, always);

const destShape = {
  Bucket: bucketName,
  Key: objectKey.optional(),
  Prefix: keyPrefix.optional(),
};
const destSchema = z
  .strictObject(destShape, { error: typeError('an object with Bucket and optionally Key or Prefix') })
  .superRefine((dest, ctx) => {
    if (presentFields(dest, ['Key', 'Prefix']).length === 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['Key'],
        message:
          'cannot be combined with Dest.Prefix (Dest.Key renames the single Source.Key object, Dest.Prefix places objects under a prefix)',
      });
    }
  }, always);

const MAX_DELETES_EXPECTED = 'a whole number from 0 up (the most objects one run may delete)';

const optionsShape = {
  Sync: z.boolean({ error: typeError(BOOLEAN_EXPECTED) }).optional(),
  DryRun: z.boolean({ error: typeError(BOOLEAN_EXPECTED) }).optional(),
  Delete: z.boolean({ error: typeError(BOOLEAN_EXPECTED) }).optional(),
  MaxDeletes: z
    .number({ error: typeError(MAX_DELETES_EXPECTED) })
    .int({ error: `expected ${MAX_DELETES_EXPECTED}, got a fraction or an unsafe integer` })
    .min(0, { error: `expected ${MAX_DELETES_EXPECTED}, got a negative number` })
    .optional(),
};
const optionsSchema = z.strictObject(optionsShape, {
  error: typeError('an object with optional booleans Sync, DryRun and Delete, and MaxDeletes'),
});

const AUTH_FIELDS = ['BearerToken', 'BearerTokenParameter', 'JwtCookie'] as const;

const eventShape = {
  CredentialsEndpoint: text(
    'an absolute https: URL of a TEA /s3credentials endpoint, such as https://archive.podaac.earthdata.nasa.gov/s3credentials',
    endpointProblem,
  ),
  BearerToken: text(
    'an Earthdata Login token (printable ASCII, the token alone)',
    bearerTokenProblem,
  ).optional(),
  BearerTokenParameter: text(
    'the name of an SSM SecureString parameter holding the token, such as /earthdata/token (at most 2048 characters: a-z, A-Z, 0-9, _ . - /)',
    parameterNameProblem,
  ).optional(),
  JwtCookie: text('the asf-urs JWT cookie value (printable ASCII without ;)', cookieProblem).optional(),
  AppName: text(
    'an application name of 1-64 characters from a-z, A-Z, 0-9 and + = , . @ _ - (the characters an STS RoleSessionName allows)',
    appNameProblem,
  ).optional(),
  Source: sourceSchema,
  Dest: destSchema,
  Options: optionsSchema.optional(),
};

const FIELDS_BY_OBJECT: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(eventShape),
  Source: Object.keys(sourceShape),
  Dest: Object.keys(destShape),
  Options: Object.keys(optionsShape),
};

function toTransferEvent(raw: z.output<typeof eventObjectSchema>): TransferEvent {
  const { Source: s, Dest: d } = raw;
  let source: SourceSpec;
  if (s.Key !== undefined) source = { Bucket: s.Bucket, Key: s.Key };
  else if (s.Keys !== undefined) source = { Bucket: s.Bucket, Keys: s.Keys };
  else {
    source = {
      Bucket: s.Bucket,
      Prefix: s.Prefix as string, // the schema guarantees exactly one form
      ...(s.Include !== undefined && { Include: s.Include }),
      ...(s.Exclude !== undefined && { Exclude: s.Exclude }),
    };
  }
  let auth: EventAuthFields;
  if (raw.BearerToken !== undefined) auth = { BearerToken: raw.BearerToken };
  else if (raw.BearerTokenParameter !== undefined) auth = { BearerTokenParameter: raw.BearerTokenParameter };
  else auth = { JwtCookie: raw.JwtCookie as string };
  return {
    CredentialsEndpoint: raw.CredentialsEndpoint,
    ...auth,
    ...(raw.AppName !== undefined && { AppName: raw.AppName }),
    Source: source,
    Dest: {
      Bucket: d.Bucket,
      ...(d.Key !== undefined && { Key: d.Key }),
      ...(d.Prefix !== undefined && { Prefix: d.Prefix }),
    },
    Options: {
      Sync: raw.Options?.Sync ?? false,
      DryRun: raw.Options?.DryRun ?? false,
      Delete: raw.Options?.Delete ?? false,
      MaxDeletes: raw.Options?.MaxDeletes ?? DEFAULT_MAX_DELETES,
    },
  };
}

/** Source forms whose listing tells which destination objects have no source: the ones Delete may mirror. */
export const DELETE_SOURCE_FORMS = ['Prefix'] as const;

/** Options.Delete only with Sync and a prefix-type source. */
function deletionIssues(ctx: z.RefinementCtx, options: unknown, source: unknown): void {
  if (!isRecord(options)) return;
  // MaxDeletes alone is harmless (a run without Delete deletes nothing), and normalized events carry it.
  if (options.Delete !== true) return;
  if (options.Sync !== true) {
    ctx.addIssue({
      code: 'custom',
      path: ['Options', 'Delete'],
      message:
        'only allowed with Options.Sync true (a mirror deletes what the source no longer has, after comparing both listings)',
    });
  }
  const forms = presentFields(source, SOURCE_FORMS);
  if (forms.length > 0 && !forms.some((form) => (DELETE_SOURCE_FORMS as readonly string[]).includes(form))) {
    const allowed = listing(DELETE_SOURCE_FORMS.map((f) => `Source.${f}`));
    ctx.addIssue({
      code: 'custom',
      path: ['Options', 'Delete'],
      message:
        `only allowed with a prefix-type source (${allowed}), not with ${listing(forms.map((f) => `Source.${f}`))}: ` +
        'only a listing tells which destination objects have no source counterpart',
    });
  }
}

const eventObjectSchema = z
  .strictObject(eventShape, {
    error: typeError(
      'a JSON object with CredentialsEndpoint, Source, Dest and one of BearerToken / BearerTokenParameter / JwtCookie',
    ),
  })
  .superRefine((event, ctx) => {
    if (!isRecord(event)) return;
    exactlyOne(
      ctx,
      presentFields(event, AUTH_FIELDS),
      'BearerToken (an Earthdata Login token), BearerTokenParameter (an SSM parameter name) or JwtCookie (an asf-urs cookie)',
    );
    const { Source: source, Dest: dest } = event;
    deletionIssues(ctx, event.Options, source);
    if (isRecord(source) && isRecord(dest) && dest.Key !== undefined && source.Key === undefined) {
      const forms = presentFields(source, SOURCE_FORMS);
      if (forms.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['Dest', 'Key'],
          message: `only allowed with Source.Key (renaming one object), not with ${listing(forms.map((f) => `Source.${f}`))}: use Dest.Prefix instead`,
        });
      }
    }
  }, always);

/** The event schema; its output is the normalized {@link TransferEvent}. Parse with {@link parseEvent} for readable errors. */
export const transferEventSchema = eventObjectSchema.transform(toTransferEvent);

/** The event as written by a user (before defaults). */
export type TransferEventInput = z.input<typeof transferEventSchema>;

/**
 * Validate an event and return it normalized (`Options` defaulted, unused fields dropped).
 * @throws TransferError named `InvalidInput`, listing every problem by field path.
 */
export function parseEvent(input: unknown): TransferEvent {
  const result = transferEventSchema.safeParse(input, { error: fallbackError });
  if (result.success) return result.data;
  // No `cause`: the ZodError holds the input, tokens included.
  throw invalidInput(`invalid event: ${formatIssues(result.error.issues, FIELDS_BY_OBJECT)}`);
}

/** How to authenticate to the credentials endpoint. */
export function eventAuth(event: EventAuthFields): EventAuth {
  if ('BearerToken' in event) return { kind: 'bearer', token: event.BearerToken };
  if ('BearerTokenParameter' in event) return { kind: 'bearer-parameter', name: event.BearerTokenParameter };
  return { kind: 'cookie', jwt: event.JwtCookie };
}
