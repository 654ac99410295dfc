/**
 * The event contract (design.md, "The event"): the input of the state machine, of `run` and of schedules.
 *
 * Every message this module produces names field paths and expectations only, never a value from the
 * input: events carry tokens, and these messages end up in execution histories, logs and terminals.
 */
import { z } from 'zod';
import { invalidInput } from './errors';

/** S3's limit on an object key, in bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;
/** Most entries a `Source.Keys` list may hold. */
export const MAX_SOURCE_KEYS = 10_000;
/** Most problems listed in one InvalidInput message; the rest are counted. */
const MAX_LISTED_ISSUES = 20;

export const utf8ByteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

// ---------------------------------------------------------------------------------------------------
// Types of the validated event

/** One object. */
export interface KeySource {
  readonly Bucket: string;
  readonly Key: string;
}
/** Every object under a prefix, filtered by globs matched against the key relative to the prefix. */
export interface PrefixSource {
  readonly Bucket: string;
  readonly Prefix: string;
  readonly Include?: readonly string[];
  readonly Exclude?: readonly string[];
}
/** A list of objects. */
export interface KeysSource {
  readonly Bucket: string;
  readonly Keys: readonly string[];
}
/** Narrow with `'Key' in source`, `'Prefix' in source`, `'Keys' in source`. */
export type SourceSpec = KeySource | PrefixSource | KeysSource;

export interface DestSpec {
  readonly Bucket: string;
  /** New key of the single `Source.Key` object (rename). Never together with `Prefix`. */
  readonly Key?: string;
  /** Prepended to the key relative to `Source.Prefix` (or to the whole key for Key/Keys sources). */
  readonly Prefix?: string;
}

export interface TransferOptions {
  readonly Sync: boolean;
  readonly DryRun: boolean;
}

/** Exactly one way to authenticate to the credentials endpoint. */
export type EventAuthFields =
  | { readonly BearerToken: string }
  | { readonly BearerTokenParameter: string }
  | { readonly JwtCookie: string };

export type TransferEvent = {
  readonly CredentialsEndpoint: string;
  readonly AppName?: string;
  readonly Source: SourceSpec;
  readonly Dest: DestSpec;
  readonly Options: TransferOptions;
} & EventAuthFields;

export type EventAuth =
  | { kind: 'bearer'; token: string }
  | { kind: 'bearer-parameter'; name: string }
  | { kind: 'cookie'; jwt: string };

// ---------------------------------------------------------------------------------------------------
// Field rules. Each returns a phrase describing what is wrong, or undefined; never the value itself.

const BUCKET_EXPECTED = "an S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')";
const RESERVED_BUCKET_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_BUCKET_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** Why `name` is not an S3 general-purpose bucket name, or undefined when it is one. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `but it is ${name.length} characters long`;
  if (/[A-Z_]/.test(name)) return 'but it contains uppercase letters or underscores';
  if (/[^a-z0-9.-]/.test(name)) return "but it contains characters other than a-z, 0-9, '.', '-'";
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'but it does not start and end with a letter or digit';
  if (name.includes('..')) return "but it contains '..'";
  if (name.includes('.-') || name.includes('-.')) return "but it contains '.-' or '-.'";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'but it is formatted as an IP address';
  const prefix = RESERVED_BUCKET_PREFIXES.find((p) => name.startsWith(p));
  if (prefix !== undefined) return `but it starts with the reserved prefix '${prefix}'`;
  const suffix = RESERVED_BUCKET_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix !== undefined) return `but it ends with the reserved suffix '${suffix}'`;
  return undefined;
}

const CONTROL_CHARACTER = /[\u0000-\u001f]/; // eslint-disable-line no-control-regex
const LONE_SURROGATE = /\p{Cs}/u;

function keyProblem(key: string): string | undefined {
  if (LONE_SURROGATE.test(key)) return 'but it is not valid Unicode (unpaired surrogate)';
  if (CONTROL_CHARACTER.test(key)) return 'but it contains a control character (U+0000 to U+001F)';
  const bytes = utf8ByteLength(key);
  if (bytes > MAX_KEY_BYTES) return `but it is ${bytes} bytes of UTF-8`;
  return undefined;
}

const isLoopbackHost = (hostname: string): boolean =>
  hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);

function endpointProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'but it is not an absolute URL';
  }
  if (url.username !== '' || url.password !== '') {
    return 'but it contains credentials (user:password@): authenticate with BearerToken, BearerTokenParameter or JwtCookie instead';
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname)
      ? undefined
      : 'but plain http: is only allowed for a loopback host (localhost, 127.0.0.0/8, [::1])';
  }
  return 'but its scheme is not https:';
}

// Header values: a control character or one above U+00FF makes fetch throw an error that quotes the value.
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

function bearerTokenProblem(token: string): string | undefined {
  if (/^bearer\s/i.test(token)) return "but it starts with 'Bearer ' (give the token alone)";
  if (!PRINTABLE_ASCII.test(token)) return 'but it contains line breaks, control or non-ASCII characters';
  return undefined;
}

function cookieProblem(jwt: string): string | undefined {
  if (!PRINTABLE_ASCII.test(jwt)) return 'but it contains line breaks, control or non-ASCII characters';
  if (jwt.includes(';')) return "but it contains ';', which ends a cookie value";
  return undefined;
}

function parameterNameProblem(name: string): string | undefined {
  if (name.length > 2048) return `but it is ${name.length} characters long`;
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(name)) return 'but it contains other characters';
  return undefined;
}

function appNameProblem(name: string): string | undefined {
  if (name.length > 64) return `but it is ${name.length} characters long`;
  if (!/^[\w+=,.@-]+$/.test(name))
    return 'but it contains a character outside that set (such as a space or /)';
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Schema

type RawIssue = z.core.$ZodRawIssue;

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    default:
      return `a value of type ${typeof value}`;
  }
}

/** Message for a missing or mistyped field; other issue codes fall through to their own messages. */
const typeError =
  (expected: string) =>
  (issue: RawIssue): string | undefined => {
    if (issue.code !== 'invalid_type') return undefined;
    return issue.input === undefined
      ? `required: expected ${expected}`
      : `expected ${expected}, got ${kindOf(issue.input)}`;
  };

/** Last resort for issues without a message of ours; still never quotes the input. */
const fallbackError = (issue: RawIssue): string => {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}, got ${kindOf(issue.input)}`;
    case 'unrecognized_keys':
      return 'unknown field';
    default:
      return 'invalid value';
  }
};

/** A string field: present, a string, non-empty, and free of `problem`. */
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

// Cross-field checks also run when a field is invalid, so that one event shows all of its problems.
const always = { when: () => true };

const KEY_EXPECTED = 'an S3 object key (1-1024 bytes of UTF-8, no control characters)';
const PREFIX_EXPECTED = 'a key prefix (1-1024 bytes of UTF-8, no control characters)';
const KEYS_EXPECTED = `a non-empty list of at most ${MAX_SOURCE_KEYS} distinct S3 object keys`;
const GLOBS_EXPECTED = 'a non-empty list of glob patterns such as ["**/*.h5"]';
const BOOLEAN_EXPECTED = 'true or false';

const bucketName = text(BUCKET_EXPECTED, bucketNameProblem);
const objectKey = text(KEY_EXPECTED, keyProblem);
const keyPrefix = text(PREFIX_EXPECTED, keyProblem);

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
  .array(text('a non-empty glob pattern such as **/*.h5'), { error: typeError(GLOBS_EXPECTED) })
  .min(1, { error: `expected ${GLOBS_EXPECTED}, got an empty list` });

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
    const forms = presentFields(source, SOURCE_FORMS);
    if (forms.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          'expected exactly one of Key (one object), Prefix (every object under it) or Keys (a list of keys), ' +
          (forms.length === 0 ? 'got none' : `got ${listing(forms)}`),
      });
    }
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

const optionsShape = {
  Sync: z.boolean({ error: typeError(BOOLEAN_EXPECTED) }).optional(),
  DryRun: z.boolean({ error: typeError(BOOLEAN_EXPECTED) }).optional(),
};
const optionsSchema = z.strictObject(optionsShape, {
  error: typeError('an object with optional booleans Sync and DryRun'),
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
    Options: { Sync: raw.Options?.Sync ?? false, DryRun: raw.Options?.DryRun ?? false },
  };
}

const eventObjectSchema = z
  .strictObject(eventShape, {
    error: typeError(
      'a JSON object with CredentialsEndpoint, Source, Dest and one of BearerToken / BearerTokenParameter / JwtCookie',
    ),
  })
  .superRefine((event, ctx) => {
    if (!isRecord(event)) return;
    const auth = presentFields(event, AUTH_FIELDS);
    if (auth.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          'expected exactly one of BearerToken (an Earthdata Login token), BearerTokenParameter (an SSM parameter name) or JwtCookie (an asf-urs cookie), ' +
          (auth.length === 0 ? 'got none' : `got ${listing(auth)}`),
      });
    }
    const { Source: source, Dest: dest } = event;
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

// ---------------------------------------------------------------------------------------------------
// Messages

function formatSegment(segment: PropertyKey, first: boolean): string {
  if (typeof segment === 'number') return `[${segment}]`;
  if (typeof segment === 'symbol') return '[?]';
  // Field names of the contract are short; a long one is shortened in case it is a pasted token.
  if (segment.length > 24) return `[${JSON.stringify(`${segment.slice(0, 12)}...`)}]`;
  if (/^[A-Za-z_$][\w$]*$/.test(segment)) return first ? segment : `.${segment}`;
  return `[${JSON.stringify(segment)}]`;
}

/** `Source.Keys[3]` style path. */
export const formatPath = (path: readonly PropertyKey[]): string =>
  path.map((segment, index) => formatSegment(segment, index === 0)).join('');

/** Optimal string alignment distance (Levenshtein plus transpositions), for "did you mean". */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

function unknownFieldMessage(objectPath: readonly PropertyKey[], field: string): string {
  const known = FIELDS_BY_OBJECT[objectPath.join('.')];
  if (known === undefined) return 'unknown field';
  const near = known.find(
    (k) => k.toLowerCase() === field.toLowerCase() || editDistance(k.toLowerCase(), field.toLowerCase()) <= 2,
  );
  if (near !== undefined) return `unknown field (did you mean ${formatPath([...objectPath, near])}?)`;
  const where = objectPath.length === 0 ? 'the event' : formatPath(objectPath);
  return `unknown field (${where} accepts ${known.join(', ')})`;
}

/**
 * One line per problem, `path: expectation`, joined with `; `. Built from field names and our own
 * messages only (unknown fields are named from the issue's key list), so no input value can leak.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  const lines = issues.flatMap((issue): string[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map(
        (key) => `${formatPath([...issue.path, key])}: ${unknownFieldMessage(issue.path, key)}`,
      );
    }
    return [issue.path.length === 0 ? issue.message : `${formatPath(issue.path)}: ${issue.message}`];
  });
  const shown = lines.slice(0, MAX_LISTED_ISSUES);
  if (lines.length > shown.length) shown.push(`and ${lines.length - shown.length} more problems`);
  return shown.join('; ');
}

/**
 * Validate an event and return it normalized (`Options` defaulted, unused fields dropped).
 * @throws TransferError named `InvalidInput`, listing every problem by field path.
 */
export function parseEvent(input: unknown): TransferEvent {
  const result = transferEventSchema.safeParse(input, { error: fallbackError });
  if (result.success) return result.data;
  // No `cause`: the ZodError holds the input, tokens included.
  throw invalidInput(`invalid event: ${formatIssues(result.error.issues)}`);
}

/** How to authenticate to the credentials endpoint. */
export function eventAuth(event: EventAuthFields): EventAuth {
  if ('BearerToken' in event) return { kind: 'bearer', token: event.BearerToken };
  if ('BearerTokenParameter' in event) return { kind: 'bearer-parameter', name: event.BearerTokenParameter };
  return { kind: 'cookie', jwt: event.JwtCookie };
}
