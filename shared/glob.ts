/**
 * Glob matching in linear time. Include/Exclude patterns come from whoever may start an execution, and
 * a regex-based matcher can be made to backtrack for minutes on one 1 KiB key (`*a*a*a*b`: 44 s with
 * picomatch). Here a pattern is matched segment by segment with the classic single-backtrack wildcard
 * algorithm, so a key costs O(pattern length x key length) whatever the pattern.
 *
 * Syntax (picomatch's with `dot: true`, without extglobs): `*` any run of characters within one `/`
 * segment (dots included), `?` one character, `[abc]` `[a-z]` `[!a]` `[^a]` one character of a class,
 * `**` as a whole segment any number of segments (none included), `{a,b}` alternatives, `\` escapes
 * the next character. Anything else is literal. As in picomatch, a key may end with one extra `/`, and
 * wildcards never match a `.` or `..` segment. Unlike picomatch, `[!a]` is a negated class (POSIX).
 * An empty key matches no pattern.
 */

/** Longest pattern accepted. */
export const MAX_PATTERN_LENGTH = 256;
/** Most alternatives one pattern's braces may expand to. */
export const MAX_BRACE_EXPANSIONS = 64;

type Token =
  | { kind: 'char'; char: string }
  | { kind: 'any' }
  | { kind: 'star' }
  | { kind: 'class'; negate: boolean; ranges: [string, string][] };

const GLOBSTAR = 'globstar';
type SegmentPattern = Token[] | typeof GLOBSTAR;

/** A pattern that cannot be compiled; the message says why without quoting it. */
export class GlobSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GlobSyntaxError';
  }
}

const EXTGLOB = /(^|[^\\])[@!+*?]\(/;

/** Why `pattern` is not accepted ("but it ..."), or undefined. */
export function globProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) return `but it is ${pattern.length} characters long`;
  if (EXTGLOB.test(pattern)) return 'but extglob patterns such as +(a|b) are not supported';
  try {
    expandBraces(pattern).forEach(compileOne);
  } catch (error) {
    if (error instanceof GlobSyntaxError) return `but ${error.message}`;
    throw error;
  }
  return undefined;
}

/** `{a,b}c` -> [`ac`, `bc`], nested braces included, at most {@link MAX_BRACE_EXPANSIONS}. */
function expandBraces(pattern: string): string[] {
  const open = findUnescaped(pattern, '{', 0);
  if (open < 0) return [pattern];
  let depth = 0;
  const commas: number[] = [];
  let close = -1;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
    } else if (c === '{') {
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) {
        close = i;
        break;
      }
    } else if (c === ',' && depth === 1) {
      commas.push(i);
    }
  }
  // An unclosed brace, or one without a comma, is literal (as in picomatch).
  if (close < 0) return [pattern];
  const head = pattern.slice(0, open);
  const rest = expandBraces(pattern.slice(close + 1));
  if (commas.length === 0) return rest.map((tail) => `${head}{${pattern.slice(open + 1, close)}}${tail}`);
  const bounds = [open, ...commas, close];
  const out: string[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    for (const middle of expandBraces(pattern.slice(bounds[i] + 1, bounds[i + 1]))) {
      for (const tail of rest) {
        out.push(head + middle + tail);
        if (out.length > MAX_BRACE_EXPANSIONS) {
          throw new GlobSyntaxError(`its braces expand to more than ${MAX_BRACE_EXPANSIONS} patterns`);
        }
      }
    }
  }
  return out;
}

function findUnescaped(text: string, char: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === char) return i;
  }
  return -1;
}

function compileSegment(segment: string): SegmentPattern {
  if (segment === '**') return GLOBSTAR;
  const chars = Array.from(segment);
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '\\' && i + 1 < chars.length) tokens.push({ kind: 'char', char: chars[++i] });
    else if (c === '*') {
      // Consecutive stars are one star within a segment.
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '?') tokens.push({ kind: 'any' });
    else if (c === '[') {
      const parsed = parseClass(chars, i);
      if (parsed) {
        tokens.push(parsed.token);
        i = parsed.end;
      } else tokens.push({ kind: 'char', char: c });
    } else tokens.push({ kind: 'char', char: c });
  }
  return tokens;
}

/** `[...]` starting at `start`; undefined when unclosed (then `[` is literal). */
function parseClass(chars: string[], start: number): { token: Token; end: number } | undefined {
  let i = start + 1;
  const negate = chars[i] === '!' || chars[i] === '^';
  if (negate) i++;
  const ranges: [string, string][] = [];
  let first = true;
  for (; i < chars.length; i++) {
    if (chars[i] === ']' && !first) return { token: { kind: 'class', negate, ranges }, end: i };
    first = false;
    let low = chars[i];
    if (low === '\\' && i + 1 < chars.length) low = chars[++i];
    if (low === '[' && chars[i + 1] === ':')
      throw new GlobSyntaxError('POSIX classes such as [:alpha:] are not supported');
    if (chars[i + 1] === '-' && i + 2 < chars.length && chars[i + 2] !== ']') {
      let high = chars[i + 2];
      i += 2;
      if (high === '\\' && i + 1 < chars.length) high = chars[++i];
      if (high < low) throw new GlobSyntaxError('it has a character range whose end comes before its start');
      ranges.push([low, high]);
    } else {
      ranges.push([low, low]);
    }
  }
  return undefined;
}

function compileOne(pattern: string): SegmentPattern[] {
  return pattern.split('/').map(compileSegment);
}

function matchToken(token: Token, char: string): boolean {
  switch (token.kind) {
    case 'char':
      return token.char === char;
    case 'any':
      return true;
    case 'class':
      return token.ranges.some(([low, high]) => char >= low && char <= high) !== token.negate;
    default:
      return false;
  }
}

/**
 * The single-backtrack wildcard algorithm over any sequence: `isStar(p)` elements match any run of
 * items, others exactly one item for which `matchOne` holds. Linear in `items` per star.
 */
function matchSequence<P, I>(
  patterns: readonly P[],
  items: readonly I[],
  isStar: (p: P) => boolean,
  matchOne: (p: P, item: I) => boolean,
  absorbs: (item: I) => boolean = () => true,
): boolean {
  let p = 0;
  let i = 0;
  let starP = -1;
  let starI = 0;
  while (i < items.length) {
    if (p < patterns.length && !isStar(patterns[p]) && matchOne(patterns[p], items[i])) {
      p++;
      i++;
    } else if (p < patterns.length && isStar(patterns[p])) {
      starP = p++;
      starI = i;
    } else if (starP >= 0 && absorbs(items[starI])) {
      p = starP + 1;
      i = ++starI;
    } else {
      return false;
    }
  }
  while (p < patterns.length && isStar(patterns[p])) p++;
  return p === patterns.length;
}

const isDotSegment = (segment: string): boolean => segment === '.' || segment === '..';

function matchSegment(tokens: Token[], segment: string): boolean {
  if (isDotSegment(segment))
    return tokens.length === segment.length && tokens.every((t) => t.kind === 'char' && t.char === '.');
  return matchSequence(tokens, Array.from(segment), (t) => t.kind === 'star', matchToken);
}

function matchPath(pattern: SegmentPattern[], segments: string[]): boolean {
  return matchSequence(
    pattern,
    segments,
    (p) => p === GLOBSTAR,
    (p, segment) => p !== GLOBSTAR && matchSegment(p, segment),
    (segment) => !isDotSegment(segment),
  );
}

/**
 * A predicate that is true when a key matches any of `patterns`.
 * @throws GlobSyntaxError for a pattern {@link globProblem} refuses.
 */
export function globMatcher(patterns: readonly string[]): (key: string) => boolean {
  const compiled = patterns.flatMap((pattern) => {
    const problem = globProblem(pattern);
    if (problem !== undefined) throw new GlobSyntaxError(`a glob pattern is not accepted, ${problem}`);
    return expandBraces(pattern).map(compileOne);
  });
  const matches = (key: string): boolean => {
    const segments = key.split('/');
    return compiled.some((pattern) => matchPath(pattern, segments));
  };
  return (key) =>
    key !== '' && (matches(key) || (key.endsWith('/') && key !== '/' && matches(key.slice(0, -1))));
}
