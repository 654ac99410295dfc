import picomatch from 'picomatch';
import { globMatcher, globProblem, MAX_BRACE_EXPANSIONS, MAX_PATTERN_LENGTH } from '../../shared/glob';

// picomatch (with dot: true) is the reference for every pattern both accept: the matcher must agree.
const PATTERNS = [
  '*',
  '**',
  '*.h5',
  '**/*.h5',
  'a/*',
  'a/**',
  'a/**/b',
  '**/b/**',
  '?.nc',
  'a?c',
  '[abc].h5',
  '[a-c]*',
  '[^a]*',
  'x[0-9][0-9].nc',
  '{2023,2024}/**',
  'a/{b,c}/*.nc',
  '{a,{b,c}}',
  'a\\*b',
  'a*b*c',
  '**/tmp/**',
  '**/',
  'sub/**',
  'données/*',
  '**/été.h5',
  'a+b.h5',
  '*%2F*',
  'a//b.h5',
  '*/*/*',
  '**/.hidden/*',
  '.*',
  '**/*.{nc,h5}',
  '[.]x',
  '**/a*b*c*d',
  'a/*/b',
];
const KEYS = [
  'a',
  'b',
  'a.h5',
  'a/b.h5',
  'a/b/c.h5',
  '.hidden/.c.h5',
  'x.nc',
  'abc',
  'acc',
  'a/b',
  'a/c/d.nc',
  'a/b/x.nc',
  '2023/01/a.nc',
  '2022/01/a.nc',
  'a*b',
  'axb',
  'tmp/x',
  'a/tmp/x',
  'sub/',
  'sub',
  'données/été.h5',
  'a+b.h5',
  'a%2Fb',
  'a//b.h5',
  'a/b/c',
  'x01.nc',
  'xab.nc',
  '.x',
  'b',
  'c',
  'aXbYcZd',
  'q/aXbYcZd',
  'a//b',
  'a/x/b',
];

describe('globMatcher', () => {
  it.each(PATTERNS)('agrees with picomatch (dot: true) on %s', (pattern) => {
    const reference = picomatch(pattern, { dot: true, windows: false });
    const ours = globMatcher([pattern]);
    const disagreements = KEYS.filter((key) => ours(key) !== reference(key));
    expect(disagreements).toEqual([]);
  });

  it('matches any of several patterns, and never an empty key', () => {
    const match = globMatcher(['**/*.nc', '**/*.h5']);
    expect(match('a/b.h5')).toBe(true);
    expect(match('a/b.txt')).toBe(false);
    expect(globMatcher(['**'])('')).toBe(false);
  });

  it('stays linear on patterns that make a backtracking matcher hang', () => {
    // picomatch's regex for the first takes 44 s on one such key (measured); here 1000 keys take ms.
    const hostile = ['*a*a*a*a*a*a*a*a*a*a*a*a*b', '**/a*/**/a*/**/a*/**/a*b', '?*?*?*?*?*?*?*?*b'];
    const keys = Array.from({ length: 1000 }, (_, i) => `${'a'.repeat(1000)}${i}!`);
    const started = process.hrtime.bigint();
    for (const pattern of hostile) {
      const match = globMatcher([pattern]);
      expect(keys.some(match)).toBe(false);
    }
    // A generous bound: the point is "finishes", not how fast (a backtracking matcher would not).
    expect(Number(process.hrtime.bigint() - started) / 1e9).toBeLessThan(30);
  });
});

describe('globProblem', () => {
  it.each([
    ['an extglob', '+(a|b).nc', 'extglob'],
    ['a negated extglob', '!(a).nc', 'extglob'],
    ['an at extglob', 'x/@(a|b)', 'extglob'],
    ['a too long pattern', `${'a'.repeat(MAX_PATTERN_LENGTH)}*`, 'characters long'],
    ['too many brace expansions', '{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}', `more than ${MAX_BRACE_EXPANSIONS}`],
    ['a POSIX class', '[[:alpha:]]*', 'POSIX'],
    ['a reversed range', '[z-a]', 'range'],
  ])('refuses %s', (_what, pattern, fragment) => {
    expect(globProblem(pattern)).toContain(fragment);
    expect(() => globMatcher([pattern])).toThrow(fragment);
  });

  it('accepts escaped extglob characters and ordinary patterns', () => {
    expect(globProblem('a\\+(b).nc')).toBeUndefined();
    expect(globProblem('**/*.{nc,h5}')).toBeUndefined();
    expect(globProblem('a'.repeat(MAX_PATTERN_LENGTH))).toBeUndefined();
  });
});

describe('where it differs from picomatch on purpose', () => {
  it('reads [!a] as a negated class, as POSIX globs do (picomatch reads it as the characters ! and a)', () => {
    const match = globMatcher(['[!a]*']);
    expect(match('b')).toBe(true);
    expect(match('a')).toBe(false);
  });
});
