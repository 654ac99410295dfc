/**
 * Building blocks of the event schema: string fields with our own messages, cross-field checks, and
 * distinct lists. Every message is built from field names and our own phrases, never from the input.
 */
import { z } from 'zod';
import { typeError } from './messages';

/** A string field: `expected` says what it should be, `problem` why a value is not that ("but it ..."). */
export function text(expected: string, problem: (value: string) => string | undefined = () => undefined) {
  return z.string({ error: typeError(expected) }).superRefine((value, ctx) => {
    const found = value.length === 0 ? 'got an empty string' : problem(value);
    if (found !== undefined) ctx.addIssue({ code: 'custom', message: `expected ${expected}, ${found}` });
  });
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Names of `fields` present (defined) in `value`, which may be anything: cross-field checks run on invalid input too. */
export const presentFields = (value: unknown, fields: readonly string[]): string[] =>
  isRecord(value) ? fields.filter((f) => value[f] !== undefined) : [];

export const listing = (names: readonly string[]): string =>
  names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;

/** Adds an issue unless exactly one of the alternatives is present. */
export function exactlyOne(ctx: z.RefinementCtx, present: string[], alternatives: string): void {
  if (present.length === 1) return;
  ctx.addIssue({
    code: 'custom',
    message:
      `expected exactly one of ${alternatives}, ` +
      (present.length === 0 ? 'got none' : `got ${listing(present)}`),
  });
}

/** Adds `message` at each of `fields` present in `value` (a field that is not allowed in this form). */
export function refuseFields(
  ctx: z.RefinementCtx,
  value: unknown,
  fields: readonly string[],
  message: string,
): void {
  for (const field of presentFields(value, fields)) ctx.addIssue({ code: 'custom', path: [field], message });
}

// Cross-field checks also run when a field is invalid, so that one event shows all of its problems.
export const always = { when: () => true };

/**
 * A non-empty list of at most `max` distinct strings, each checked by `item`; a duplicate is named by
 * the index of its first occurrence (`duplicate of <path>[i]`), never by its value.
 */
export function distinctList(item: z.ZodType<string>, expected: string, max: number, path: string) {
  return z
    .array(item, { error: typeError(expected) })
    .min(1, { error: `expected ${expected}, got an empty list` })
    .max(max, { error: `expected ${expected}, got more than ${max}` })
    .superRefine((values, ctx) => {
      if (!Array.isArray(values)) return;
      const firstIndex = new Map<unknown, number>();
      values.forEach((value, index) => {
        if (typeof value !== 'string') return;
        const first = firstIndex.get(value);
        if (first === undefined) firstIndex.set(value, index);
        else ctx.addIssue({ code: 'custom', path: [index], message: `duplicate of ${path}[${first}]` });
      });
    }, always);
}
