import type { DestSpec, SourceSpec } from '../../shared/event';
import { destinationKey, isFolderMarker, keyFilter, relativeKey } from '../../shared/keys';

const BUCKET = 'podaac-ops-cumulus-protected';
const keySource = (Key: string): SourceSpec => ({ Bucket: BUCKET, Key });
const prefixSource = (Prefix: string): SourceSpec => ({ Bucket: BUCKET, Prefix });
const keysSource = (...Keys: string[]): SourceSpec => ({ Bucket: BUCKET, Keys });
const dest = (fields: Omit<DestSpec, 'Bucket'> = {}): DestSpec => ({ Bucket: 'my-bucket', ...fields });

function invalidInputMessage(run: () => unknown): string {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(Error);
  expect((caught as Error).name).toBe('InvalidInput');
  return (caught as Error).message;
}

describe('relativeKey', () => {
  it.each<[string, SourceSpec, string, string]>([
    ['prefix source strips the prefix', prefixSource('MUR/'), 'MUR/2024/a.nc', '2024/a.nc'],
    ['prefix without a trailing slash', prefixSource('MUR/20'), 'MUR/2024/a.nc', '24/a.nc'],
    ['key equal to the prefix', prefixSource('MUR/a.nc'), 'MUR/a.nc', ''],
    ['unicode prefix', prefixSource('données/'), 'données/été.h5', 'été.h5'],
    ['double slash kept', prefixSource('a/'), 'a//b.h5', '/b.h5'],
    ['+ and % kept literally', prefixSource('a+b%20/'), 'a+b%20/c+d%2F.h5', 'c+d%2F.h5'],
    ['folder marker under the prefix', prefixSource('a/'), 'a/sub/', 'sub/'],
    ['Key source: the whole key', keySource('x/y.h5'), 'x/y.h5', 'x/y.h5'],
    ['Keys source: the whole key', keysSource('x/y.h5', 'z.h5'), 'z.h5', 'z.h5'],
  ])('%s', (_name, source, key, expected) => {
    expect(relativeKey(source, key)).toBe(expected);
  });

  it('rejects a key outside the prefix', () => {
    expect(invalidInputMessage(() => relativeKey(prefixSource('MUR/'), 'OTHER/a.nc'))).toContain(
      '"OTHER/a.nc" is not under Source.Prefix',
    );
  });
});

describe('destinationKey', () => {
  it.each<[string, SourceSpec, DestSpec, string, string]>([
    ['Key source, no Dest key or prefix: unchanged', keySource('a/b.h5'), dest(), 'a/b.h5', 'a/b.h5'],
    [
      'Key source renamed with Dest.Key',
      keySource('a/b.h5'),
      dest({ Key: 'new/c.h5' }),
      'a/b.h5',
      'new/c.h5',
    ],
    [
      'Key source under Dest.Prefix: whole key',
      keySource('a/b.h5'),
      dest({ Prefix: 'in/' }),
      'a/b.h5',
      'in/a/b.h5',
    ],
    ['Keys source, no Dest.Prefix: unchanged', keysSource('a.h5', 'b/c.h5'), dest(), 'b/c.h5', 'b/c.h5'],
    [
      'Keys source under Dest.Prefix',
      keysSource('a.h5', 'b/c.h5'),
      dest({ Prefix: 'in/' }),
      'b/c.h5',
      'in/b/c.h5',
    ],
    [
      'Prefix source, no Dest.Prefix: unchanged',
      prefixSource('MUR/'),
      dest(),
      'MUR/2024/a.nc',
      'MUR/2024/a.nc',
    ],
    [
      'Prefix source re-rooted',
      prefixSource('MUR/'),
      dest({ Prefix: 'sst/' }),
      'MUR/2024/a.nc',
      'sst/2024/a.nc',
    ],
    [
      'Dest.Prefix without a slash is concatenated',
      prefixSource('MUR/'),
      dest({ Prefix: 'sst-' }),
      'MUR/a.nc',
      'sst-a.nc',
    ],
    [
      'key equal to the prefix lands on Dest.Prefix',
      prefixSource('MUR/a.nc'),
      dest({ Prefix: 'x/a.nc' }),
      'MUR/a.nc',
      'x/a.nc',
    ],
    ['unicode', prefixSource('données/'), dest({ Prefix: 'copie/' }), 'données/été €.h5', 'copie/été €.h5'],
    ['+ and % unchanged', prefixSource('p/'), dest({ Prefix: 'q/' }), 'p/a+b%2Fc.h5', 'q/a+b%2Fc.h5'],
    ['// unchanged', prefixSource('p/'), dest({ Prefix: 'q/' }), 'p//b.h5', 'q//b.h5'],
    ['folder marker (trailing slash)', prefixSource('p/'), dest({ Prefix: 'q/' }), 'p/sub/', 'q/sub/'],
  ])('%s', (_name, source, destSpec, key, expected) => {
    expect(destinationKey(source, destSpec, key)).toBe(expected);
  });

  it('accepts a destination key of exactly 1024 UTF-8 bytes', () => {
    const key = 'é'.repeat(510); // 1020 bytes
    expect(destinationKey(keysSource(key), dest({ Prefix: 'abcd' }), key)).toBe(`abcd${key}`);
  });

  it('rejects a destination key over 1024 UTF-8 bytes, naming the source key', () => {
    const key = 'é'.repeat(511); // 1022 bytes, 511 characters
    const message = invalidInputMessage(() => destinationKey(keysSource(key), dest({ Prefix: 'abc/' }), key));
    expect(message).toContain(JSON.stringify(key));
    expect(message).toContain('1026 bytes');
    expect(message).toContain('1024');
  });

  it.each<[string, SourceSpec, DestSpec, string, string]>([
    ['Dest.Key with a Prefix source', prefixSource('p/'), dest({ Key: 'k' }), 'p/a', 'Dest.Key'],
    ['Dest.Key with a Keys source', keysSource('a'), dest({ Key: 'k' }), 'a', 'Dest.Key'],
    ['Dest.Key and Dest.Prefix', keySource('a'), dest({ Key: 'k', Prefix: 'p/' }), 'a', 'Dest.Prefix'],
    ['Dest.Key for a key other than Source.Key', keySource('a'), dest({ Key: 'k' }), 'b', 'Source.Key'],
    ['key outside Source.Prefix', prefixSource('p/'), dest({ Prefix: 'q/' }), 'x/a', 'Source.Prefix'],
    ['key outside Source.Prefix, no Dest.Prefix', prefixSource('p/'), dest(), 'x/a', 'Source.Prefix'],
  ])('rejects %s', (_name, source, destSpec, key, fragment) => {
    expect(invalidInputMessage(() => destinationKey(source, destSpec, key))).toContain(fragment);
  });
});

describe('keyFilter', () => {
  it.each<[string, string[] | undefined, string[] | undefined, string, boolean]>([
    ['no lists: everything', undefined, undefined, 'a/b/c.h5', true],
    ['empty lists count as absent', [], [], 'a/b/c.h5', true],
    ['**/*.h5 matches a nested key', ['**/*.h5'], undefined, 'a/b/c.h5', true],
    ['**/*.h5 matches a top-level key', ['**/*.h5'], undefined, 'c.h5', true],
    ['**/*.h5 does not match another extension', ['**/*.h5'], undefined, 'a/c.nc', false],
    ['*.h5 does not cross /', ['*.h5'], undefined, 'a/c.h5', false],
    ['*.h5 matches a top-level key', ['*.h5'], undefined, 'c.h5', true],
    ['dot files match (dot: true)', ['**/*.h5'], undefined, '.hidden/.c.h5', true],
    ['any Include matches', ['**/*.nc', '**/*.h5'], undefined, 'x/y.h5', true],
    ['Exclude wins over Include', ['**/*.h5'], ['**/tmp/**'], 'a/tmp/c.h5', false],
    ['Exclude alone', undefined, ['**/*.md5'], 'a/c.h5.md5', false],
    ['Exclude alone keeps the rest', undefined, ['**/*.md5'], 'a/c.h5', true],
    ['case-sensitive', ['**/*.nc'], undefined, 'a/X.NC', false],
    ['brace expansion', ['{2023,2024}/**'], undefined, '2024/01/a.nc', true],
    ['brace expansion, no match', ['{2023,2024}/**'], undefined, '2022/01/a.nc', false],
    ['unicode key', ['**/été.h5'], undefined, 'données/été.h5', true],
    ['unicode key under *', ['données/*'], undefined, 'données/été.h5', true],
    ['+ is literal in keys', ['**/*.h5'], undefined, 'a+b/c+d.h5', true],
    ['+ is literal in a plain pattern', ['a+b.h5'], undefined, 'a+b.h5', true],
    ['% is literal', ['**/*%2F*'], undefined, 'a/b%2Fc.h5', true],
    ['// in a key matches **', ['**/*.h5'], undefined, 'a//b.h5', true],
    ['// in a key does not match a single /', ['a/b.h5'], undefined, 'a//b.h5', false],
    ['// in a pattern matches // in a key', ['a//b.h5'], undefined, 'a//b.h5', true],
    ['trailing slash matches a ** pattern', ['sub/**'], undefined, 'sub/', true],
    ['trailing slash excluded with **/', undefined, ['**/'], 'sub/', false],
    ['backslash is an ordinary character in keys', ['*.h5'], undefined, 'a\\b.h5', true],
    ['empty relative key never matches an Include', ['**'], undefined, '', false],
  ])('%s', (_name, include, exclude, key, expected) => {
    expect(keyFilter(include, exclude)(key)).toBe(expected);
  });

  it('does not depend on the caller keeping its arrays unchanged', () => {
    const include = ['**/*.h5'];
    const accept = keyFilter(include);
    include[0] = '**/*.nc';
    expect(accept('a/b.h5')).toBe(true);
  });
});

describe('isFolderMarker', () => {
  it.each<[string, number, boolean]>([
    ['a/', 0, true],
    ['a/b/', 0, true],
    ['/', 0, true],
    ['a//', 0, true],
    ['a/', 1, false],
    ['a', 0, false],
    ['a/b.h5', 0, false],
    ['données/', 0, true],
  ])('%j with size %d -> %s', (key, size, expected) => {
    expect(isFolderMarker(key, size)).toBe(expected);
  });
});
