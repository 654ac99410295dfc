/**
 * The `Source.Collection` form of the event: a CMR collection (by concept id, or short name and
 * version), optionally narrowed to granules, a time range and an area. Field names and limits follow
 * CMR's search API and UMM (https://cmr.earthdata.nasa.gov/search/site/docs/search/api.html).
 */
import { z } from 'zod';
import { cmrRootProblem, DEFAULT_CMR_URL } from '../cmr/urls';
import { always, distinctList, exactlyOne, isRecord, presentFields, refuseFields, text } from './fields';
import { typeError } from './messages';
import { endpointProblem } from './rules';
import type { CollectionRef } from './types';

/** Most GranuleURs a `Source.Granules` list may hold: CMR's largest page. */
export const MAX_GRANULES = 2000;
/** UMM-G's limit on a GranuleUR. */
const MAX_GRANULE_UR = 250;
/** UMM-C's limits on ShortName and Version. */
const MAX_SHORT_NAME = 85;
const MAX_VERSION = 80;

// CMR concept ids: a type letter, a number, '-', the provider id (upper case letters, digits, '_').
const COLLECTION_CONCEPT_ID = /^C\d{1,30}-[A-Z0-9_]{1,32}$/;
const OTHER_CONCEPT_ID = /^[A-Z]{1,3}\d{1,30}-[A-Z0-9_]{1,32}$/;
const PROVIDER_ID = /^[A-Za-z0-9_]{1,32}$/;
// DEL and the C0 and C1 controls: never part of a name CMR holds.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/; // eslint-disable-line no-control-regex

function conceptIdProblem(value: string): string | undefined {
  if (COLLECTION_CONCEPT_ID.test(value)) return undefined;
  if (value.startsWith('G') && OTHER_CONCEPT_ID.test(value)) {
    return 'but it is a granule concept id: name the collection here and its granules in Source.Granules';
  }
  return 'but it is not of that form';
}

const boundedName = (max: number) => (value: string) => {
  if (value.length > max) return `but it is ${value.length} characters long`;
  return CONTROL.test(value) ? 'but it contains a control character' : undefined;
};

export const COLLECTION_EXPECTED =
  'an object with ConceptId (such as C1996881146-POCLOUD), or ShortName and Version (and optionally Provider)';

const collectionShape = {
  ConceptId: text(
    'a CMR collection concept id such as C1996881146-POCLOUD (C, digits, -, the provider id)',
    conceptIdProblem,
  ).optional(),
  ShortName: text(
    `a collection short name such as MUR-JPL-L4-GLOB-v4.1 (1-${MAX_SHORT_NAME} characters, no control characters)`,
    boundedName(MAX_SHORT_NAME),
  ).optional(),
  Version: text(
    `a collection version such as 4.1 (1-${MAX_VERSION} characters, no control characters)`,
    boundedName(MAX_VERSION),
  ).optional(),
  Provider: text('a CMR provider id such as POCLOUD (letters, digits and _, at most 32)', (value) =>
    PROVIDER_ID.test(value) ? undefined : 'but it is not of that form',
  ).optional(),
};
export const COLLECTION_FIELDS: readonly string[] = Object.keys(collectionShape);

export const collectionRefSchema = z
  .strictObject(collectionShape, { error: typeError(COLLECTION_EXPECTED) })
  .superRefine((ref, ctx) => {
    if (!isRecord(ref)) return;
    exactlyOne(ctx, presentFields(ref, ['ConceptId', 'ShortName']), 'ConceptId or ShortName (with Version)');
    if (ref.ShortName !== undefined && ref.Version === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['Version'],
        message: 'required with ShortName: expected the collection version (a short name can name several)',
      });
    }
    if (ref.ShortName === undefined && ref.ConceptId !== undefined) {
      refuseFields(
        ctx,
        ref,
        ['Version', 'Provider'],
        'only allowed with ShortName (a concept id names one version of one provider)',
      );
    }
  }, always);

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;

/** Milliseconds since the epoch of an ISO-8601 instant with a date, a time and a zone; NaN otherwise. */
export function parseInstant(value: string): number {
  const m = INSTANT.exec(value);
  if (!m) return NaN;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const zoneOk = m[8] === 'Z' || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    return NaN;
  }
  return zoneOk ? Date.parse(value) : NaN;
}

/** An instant as CMR's temporal parameter spells it: UTC, `yyyy-MM-ddTHH:mm:ssZ` (milliseconds when any). */
export const cmrInstant = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

const values = (n: number): string => `${n} value${n === 1 ? '' : 's'}`;

const INSTANT_EXPECTED =
  'an ISO-8601 instant with a date, a time and a time zone, such as 2024-01-01T00:00:00Z';
const TEMPORAL_EXPECTED =
  'a list of two ISO-8601 instants [start, end], such as ["2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"]';

const temporalSchema = z
  .array(
    text(INSTANT_EXPECTED, (value) => (Number.isNaN(parseInstant(value)) ? 'but it is not one' : undefined)),
    { error: typeError(TEMPORAL_EXPECTED) },
  )
  .superRefine((bounds, ctx) => {
    if (!Array.isArray(bounds)) return;
    if (bounds.length !== 2) {
      ctx.addIssue({
        code: 'custom',
        message: `expected ${TEMPORAL_EXPECTED}, got ${values(bounds.length)}`,
      });
      return;
    }
    const [start, end] = bounds.map((b) => (typeof b === 'string' ? parseInstant(b) : NaN));
    if (start > end) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected the start at or before the end, but the start is later',
      });
    }
  }, always);

const BBOX_EXPECTED =
  'a list of four numbers [West, South, East, North] in degrees, such as [-180, -90, 180, 90]';
const coordinate = (what: string, limit: number) =>
  z
    .number({ error: typeError(`a ${what} between -${limit} and ${limit}`) })
    .refine((n) => Number.isFinite(n) && n >= -limit && n <= limit, {
      error: `expected a ${what} between -${limit} and ${limit}, but it is outside that range`,
    });
const longitude = coordinate('longitude', 180);
const latitude = coordinate('latitude', 90);

const boundingBoxSchema = z
  .array(z.unknown(), { error: typeError(BBOX_EXPECTED) })
  .superRefine((box, ctx) => {
    if (!Array.isArray(box)) return;
    if (box.length !== 4) {
      ctx.addIssue({ code: 'custom', message: `expected ${BBOX_EXPECTED}, got ${values(box.length)}` });
      return;
    }
    box.forEach((value, index) => {
      const result = (index % 2 === 0 ? longitude : latitude).safeParse(value);
      for (const issue of result.error?.issues ?? []) {
        ctx.addIssue({ code: 'custom', path: [index], message: issue.message });
      }
    });
    const [, south, , north] = box;
    if (typeof south === 'number' && typeof north === 'number' && south > north) {
      ctx.addIssue({ code: 'custom', message: 'expected South at or below North, but South is greater' });
    }
  }, always)
  .transform((box) => box as [number, number, number, number]);

const GRANULES_EXPECTED = `a non-empty list of at most ${MAX_GRANULES} distinct GranuleURs`;
const granuleList = distinctList(
  text(`a GranuleUR (1-${MAX_GRANULE_UR} characters, no control characters)`, boundedName(MAX_GRANULE_UR)),
  GRANULES_EXPECTED,
  MAX_GRANULES,
  'Source.Granules',
);

const cmrUrl = text(
  `the URL of a CMR search root, such as ${DEFAULT_CMR_URL} (https:, or http: for a loopback host)`,
  (value) => endpointProblem(value) ?? cmrRootProblem(value),
);

/** The fields of `Source` that belong to the Collection form only. */
export const collectionSourceShape = {
  Collection: collectionRefSchema.optional(),
  CmrUrl: cmrUrl.optional(),
  Granules: granuleList.optional(),
  Temporal: temporalSchema.optional(),
  BoundingBox: boundingBoxSchema.optional(),
};
export const COLLECTION_ONLY_FIELDS = ['CmrUrl', 'Granules', 'Temporal', 'BoundingBox'] as const;

/** The validated `Source.Collection`, without fields of the other alternative. */
export function toCollectionRef(raw: z.output<typeof collectionRefSchema>): CollectionRef {
  if (raw.ConceptId !== undefined) return { ConceptId: raw.ConceptId };
  return {
    ShortName: raw.ShortName as string, // the schema guarantees one alternative
    Version: raw.Version as string,
    ...(raw.Provider !== undefined && { Provider: raw.Provider }),
  };
}

/** `Temporal` as CMR takes it: both bounds in UTC. */
export const normalizedTemporal = (bounds: readonly string[]): readonly [string, string] => [
  cmrInstant(parseInstant(bounds[0])),
  cmrInstant(parseInstant(bounds[1])),
];
