/**
 * InvalidInput messages: one line per problem, `path: expectation`, built from field names and our own
 * phrases only, so that no input value (a token) can leak into an execution's history or a terminal.
 */
import type { z } from 'zod';

/** Most problems listed in one InvalidInput message; the rest are counted. */
const MAX_LISTED_ISSUES = 20;

export type RawIssue = z.core.$ZodRawIssue;

export function kindOf(value: unknown): string {
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
export const typeError =
  (expected: string) =>
  (issue: RawIssue): string | undefined => {
    if (issue.code !== 'invalid_type') return undefined;
    return issue.input === undefined
      ? `required: expected ${expected}`
      : `expected ${expected}, got ${kindOf(issue.input)}`;
  };

/** Last resort for issues without a message of ours; still never quotes the input. */
export const fallbackError = (issue: RawIssue): string => {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}, got ${kindOf(issue.input)}`;
    case 'unrecognized_keys':
      return 'unknown field';
    default:
      return 'invalid value';
  }
};

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

/** The fields each object of the event accepts, by path (`''` for the event itself). */
export type FieldsByObject = Readonly<Record<string, readonly string[]>>;

function unknownFieldMessage(
  objectPath: readonly PropertyKey[],
  field: string,
  fieldsByObject: FieldsByObject,
): string {
  const known = fieldsByObject[objectPath.join('.')];
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
export function formatIssues(issues: readonly z.core.$ZodIssue[], fieldsByObject: FieldsByObject): string {
  const lines = issues.flatMap((issue): string[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map(
        (key) =>
          `${formatPath([...issue.path, key])}: ${unknownFieldMessage(issue.path, key, fieldsByObject)}`,
      );
    }
    return [issue.path.length === 0 ? issue.message : `${formatPath(issue.path)}: ${issue.message}`];
  });
  const shown = lines.slice(0, MAX_LISTED_ISSUES);
  if (lines.length > shown.length) shown.push(`and ${lines.length - shown.length} more problems`);
  return shown.join('; ');
}
