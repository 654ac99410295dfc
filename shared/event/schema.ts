/**
 * The event contract (docs/contracts.md, "The event"): the input of the state machine, of `run` and of
 * schedules, as a zod schema whose output is the normalized {@link AnyTransferEvent}.
 */
import { z } from 'zod';
import { bucketNameProblem } from '../aws/s3-names';
import { DEFAULT_CMR_URL } from '../cmr/urls';
import { globProblem, MAX_PATTERN_LENGTH } from '../glob';
import { invalidInput } from '../errors';
import {
  COLLECTION_FIELDS,
  COLLECTION_ONLY_FIELDS,
  collectionSourceShape,
  normalizedTemporal,
  toCollectionRef,
} from './collection';
import {
  always,
  distinctList,
  exactlyOne,
  isRecord,
  listing,
  presentFields,
  refuseFields,
  text,
} from './fields';
import { fallbackError, formatIssues, typeError } from './messages';
import {
  appNameProblem,
  bearerTokenProblem,
  callerKeyProblem,
  cookieProblem,
  endpointProblem,
  parameterNameProblem,
} from './rules';
import type {
  AnyTransferEvent,
  CollectionSource,
  EventAuth,
  EventAuthFields,
  SourceSpec,
  TransferEvent,
} from './types';

/** `Options.MaxDeletes` when the event does not say. */
export const DEFAULT_MAX_DELETES = 1000;

/** Most entries a `Source.Keys` list may hold. */
export const MAX_SOURCE_KEYS = 10_000;

const BUCKET_EXPECTED = "an S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')";
const KEY_EXPECTED =
  "an S3 object key (1-1024 bytes of UTF-8, no control characters, no leading '/', no '.' or '..' segment)";
const PREFIX_EXPECTED =
  "a key prefix (1-1024 bytes of UTF-8, no control characters, no leading '/', no '.' or '..' segment)";
const KEYS_EXPECTED = `a non-empty list of at most ${MAX_SOURCE_KEYS} distinct S3 object keys`;
/** Most patterns an Include or Exclude list may hold. */
export const MAX_GLOBS = 50;
const GLOBS_EXPECTED = `a non-empty list of at most ${MAX_GLOBS} glob patterns such as ["**/*.h5"]`;
const BOOLEAN_EXPECTED = 'true or false';
const ENDPOINT_EXPECTED =
  'an absolute https: URL of a TEA /s3credentials endpoint, such as https://archive.podaac.earthdata.nasa.gov/s3credentials';

const bucketName = text(BUCKET_EXPECTED, bucketNameProblem);
const objectKey = text(KEY_EXPECTED, callerKeyProblem);
const keyPrefix = text(PREFIX_EXPECTED, callerKeyProblem);
const keyList = distinctList(objectKey, KEYS_EXPECTED, MAX_SOURCE_KEYS, 'Source.Keys');

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

const SOURCE_FORMS = ['Key', 'Prefix', 'Keys', 'Collection'] as const;

const sourceShape = {
  Bucket: bucketName.optional(),
  Key: objectKey.optional(),
  Prefix: keyPrefix.optional(),
  Keys: keyList.optional(),
  ...collectionSourceShape,
  Include: globList.optional(),
  Exclude: globList.optional(),
};
const sourceSchema = z
  .strictObject(sourceShape, {
    error: typeError(
      'an object with Bucket and exactly one of Key, Prefix, Keys, or an object with Collection',
    ),
  })
  .superRefine((source, ctx) => {
    if (!isRecord(source)) return;
    exactlyOne(
      ctx,
      presentFields(source, SOURCE_FORMS),
      'Key (one object), Prefix (every object under it), Keys (a list of keys) or Collection (a CMR collection)',
    );
    if (source.Collection !== undefined) {
      refuseFields(
        ctx,
        source,
        ['Bucket'],
        "not allowed with Source.Collection (each file's s3:// URL names its bucket)",
      );
    } else {
      if (source.Bucket === undefined) {
        ctx.addIssue({ code: 'custom', path: ['Bucket'], message: `required: expected ${BUCKET_EXPECTED}` });
      }
      refuseFields(ctx, source, COLLECTION_ONLY_FIELDS, 'only allowed with Source.Collection');
    }
    if (source.Prefix === undefined && source.Collection === undefined) {
      refuseFields(
        ctx,
        source,
        ['Include', 'Exclude'],
        'only allowed with Source.Prefix (it filters the keys under the prefix) or Source.Collection (it filters file names)',
      );
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
  CredentialsEndpoint: text(ENDPOINT_EXPECTED, endpointProblem).optional(),
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
  'Source.Collection': COLLECTION_FIELDS,
  Dest: Object.keys(destShape),
  Options: Object.keys(optionsShape),
};

type RawSource = z.output<typeof sourceSchema>;

function toSource(s: RawSource): SourceSpec | CollectionSource {
  // The schema guarantees exactly one form, and Bucket with every form but Collection.
  if (s.Collection !== undefined) {
    return {
      Collection: toCollectionRef(s.Collection),
      CmrUrl: s.CmrUrl ?? DEFAULT_CMR_URL,
      ...(s.Granules !== undefined && { Granules: s.Granules }),
      ...(s.Temporal !== undefined && { Temporal: normalizedTemporal(s.Temporal) }),
      ...(s.BoundingBox !== undefined && { BoundingBox: s.BoundingBox }),
      ...(s.Include !== undefined && { Include: s.Include }),
      ...(s.Exclude !== undefined && { Exclude: s.Exclude }),
    };
  }
  const bucket = s.Bucket as string;
  if (s.Key !== undefined) return { Bucket: bucket, Key: s.Key };
  if (s.Keys !== undefined) return { Bucket: bucket, Keys: s.Keys };
  return {
    Bucket: bucket,
    Prefix: s.Prefix as string,
    ...(s.Include !== undefined && { Include: s.Include }),
    ...(s.Exclude !== undefined && { Exclude: s.Exclude }),
  };
}

function toTransferEvent(raw: z.output<typeof eventObjectSchema>): AnyTransferEvent {
  const d = raw.Dest;
  let auth: EventAuthFields;
  if (raw.BearerToken !== undefined) auth = { BearerToken: raw.BearerToken };
  else if (raw.BearerTokenParameter !== undefined) auth = { BearerTokenParameter: raw.BearerTokenParameter };
  else auth = { JwtCookie: raw.JwtCookie as string };
  // The schema requires CredentialsEndpoint with every source but Collection.
  return {
    ...(raw.CredentialsEndpoint !== undefined && { CredentialsEndpoint: raw.CredentialsEndpoint }),
    ...auth,
    ...(raw.AppName !== undefined && { AppName: raw.AppName }),
    Source: toSource(raw.Source),
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
  } as AnyTransferEvent;
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
    const collection = isRecord(source) && source.Collection !== undefined;
    if (!collection && event.CredentialsEndpoint === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['CredentialsEndpoint'],
        message: `required: expected ${ENDPOINT_EXPECTED} (only a Source.Collection may leave it to the collection's metadata)`,
      });
    }
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

/** The event schema; its output is the normalized {@link AnyTransferEvent}. Parse with {@link parseAnyEvent} for readable errors. */
export const transferEventSchema = eventObjectSchema.transform(toTransferEvent);

/** The event as written by a user (before defaults). */
export type TransferEventInput = z.input<typeof transferEventSchema>;

/**
 * Validate an event of any source form and return it normalized (`Options` and `Source.CmrUrl`
 * defaulted, `Source.Temporal` in UTC, unused fields dropped).
 * @throws TransferError named `InvalidInput`, listing every problem by field path.
 */
export function parseAnyEvent(input: unknown): AnyTransferEvent {
  const result = transferEventSchema.safeParse(input, { error: fallbackError });
  if (result.success) return result.data;
  // No `cause`: the ZodError holds the input, tokens included.
  throw invalidInput(`invalid event: ${formatIssues(result.error.issues, FIELDS_BY_OBJECT)}`);
}

/**
 * Validate an event whose source is a bucket's objects (Key, Prefix, Keys), for the code that takes only
 * those (scheduled mirrors): a valid `Source.Collection` event is refused, by name.
 * @throws TransferError named `InvalidInput`.
 */
export function parseEvent(input: unknown): TransferEvent {
  const event = parseAnyEvent(input);
  if ('Collection' in event.Source) {
    throw invalidInput(
      'Source.Collection: not accepted here (scheduled mirrors copy Source.Key, Prefix or Keys); run a ' +
        'collection event with s3-direct-transfer run or start, or as an execution of the state machine',
    );
  }
  return event as TransferEvent;
}

/** How to authenticate to the credentials endpoint. */
export function eventAuth(event: EventAuthFields): EventAuth {
  if ('BearerToken' in event) return { kind: 'bearer', token: event.BearerToken };
  if ('BearerTokenParameter' in event) return { kind: 'bearer-parameter', name: event.BearerTokenParameter };
  return { kind: 'cookie', jwt: event.JwtCookie };
}
