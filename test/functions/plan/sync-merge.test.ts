import {
  compareListed,
  KeyOrderError,
  syncMerge,
  type DestEntry,
  type SourceEntry,
  type SyncDecision,
  type SyncMergeOptions,
  type SyncMergeStats,
} from '../../../functions/plan/sync-merge';
import { mappedPrefix, prefixMapping } from '../../../functions/plan/destination-listing';
import { compareKeys } from '../../../shared/mirror/key-order';

const T0 = Date.UTC(2026, 0, 1, 6, 0, 0);
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);

const src = (key: string, size = 10, lastModified = at(0)): SourceEntry => ({
  key,
  size,
  lastModified,
  eTag: `etag-${key}`,
});
const dst = (key: string, size = 10, lastModified = at(60)): DestEntry => ({
  key,
  size,
  lastModified,
});

/** `entries` as pages of the given sizes, cycling through them (0 gives an empty page). */
async function* paged<T>(entries: readonly T[], sizes: readonly number[] = [1000]): AsyncGenerator<T[]> {
  let at = 0;
  for (let i = 0; at < entries.length; i++) {
    const size = sizes[i % sizes.length];
    yield entries.slice(at, at + size);
    at += size;
  }
}

const identity: SyncMergeOptions<SourceEntry> = { destKey: (s) => s.key };

async function run(
  sources: AsyncIterable<readonly SourceEntry[]>,
  dests: AsyncIterable<readonly DestEntry[]>,
  options: Partial<SyncMergeOptions<SourceEntry>> = {},
): Promise<{ decisions: string[]; stats: SyncMergeStats }> {
  const merge = syncMerge(sources, dests, { ...identity, ...options });
  const decisions: string[] = [];
  for (;;) {
    const next = await merge.next();
    if (next.done) return { decisions, stats: next.value };
    decisions.push(show(next.value));
  }
}

function show(d: SyncDecision): string {
  if (d.kind === 'copy') return `copy:${d.reason}:${d.source.key}`;
  if (d.kind === 'skip') return `skip:${d.source.key}`;
  return `delete:${d.destKey}`;
}

/** Keys sorted the way S3 lists them: by their UTF-8 bytes. */
const s3Sorted = (keys: string[]): string[] =>
  [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

describe('compareListed: the comparison rule', () => {
  it.each<[string, SourceEntry, DestEntry, string]>([
    ['same size, destination written later', src('k', 5, at(0)), dst('k', 5, at(1)), 'skip'],
    ['same size, same LastModified', src('k', 5, at(0)), dst('k', 5, at(0)), 'skip'],
    ['same size, destination 1 ms older', src('k', 5, at(1)), dst('k', 5, new Date(T0 + 999)), 'older'],
    ['another size, destination newer', src('k', 5, at(0)), dst('k', 6, at(9)), 'size'],
    ['another size and older', src('k', 5, at(9)), dst('k', 0, at(0)), 'size'],
    ['no LastModified on the destination', src('k', 5), { key: 'k', size: 5 }, 'older'],
    ['no LastModified on the source', { key: 'k', size: 5 }, dst('k', 5), 'older'],
  ])('%s: %s', (_name, source, dest, expected) => {
    expect(compareListed(source, dest)).toBe(expected);
  });
});

describe('syncMerge', () => {
  it('decides every kind, in key order, interleaved', async () => {
    const sources = [
      src('a/1'), // same size, destination newer: skip
      src('a/2', 10, at(100)), // destination older: copy
      src('a/3', 11), // another size: copy
      src('b/1'), // missing: copy
      src('c/1', 10, at(60)), // equal LastModified: skip
      src('d/1'), // missing at the end: copy
    ];
    const dests = [
      dst('a/0'), // no source: delete
      dst('a/1'),
      dst('a/2'),
      dst('a/3'),
      dst('a/4'), // no source, between two sources: delete
      dst('c/1'),
      dst('c/2'), // no source: delete
    ];
    const { decisions, stats } = await run(paged(sources), paged(dests), { deletions: true });
    expect(decisions).toEqual([
      'delete:a/0',
      'skip:a/1',
      'copy:older:a/2',
      'copy:size:a/3',
      'delete:a/4',
      'copy:missing:b/1',
      'skip:c/1',
      'delete:c/2',
      'copy:missing:d/1',
    ]);
    expect(stats).toEqual({
      sourceObjects: 6,
      destObjects: 7,
      copy: { missing: 2, size: 1, older: 1 },
      skip: 2,
      unmatched: 3,
    });
  });

  it('yields no deletions unless asked, and still counts the unmatched', async () => {
    const { decisions, stats } = await run(paged([src('b')]), paged([dst('a'), dst('b'), dst('c')]));
    expect(decisions).toEqual(['skip:b']);
    expect(stats.unmatched).toBe(2);
  });

  it('handles empty sides', async () => {
    const empty = { sourceObjects: 0, destObjects: 0, copy: { missing: 0, size: 0, older: 0 }, skip: 0 };
    expect(await run(paged([]), paged([]), { deletions: true })).toEqual({
      decisions: [],
      stats: { ...empty, unmatched: 0 },
    });
    expect((await run(paged([src('a'), src('b')]), paged([]), { deletions: true })).decisions).toEqual([
      'copy:missing:a',
      'copy:missing:b',
    ]);
    expect((await run(paged([]), paged([dst('a'), dst('b')]), { deletions: true })).decisions).toEqual([
      'delete:a',
      'delete:b',
    ]);
    // Listings made of empty pages only (a filter that matched nothing on a page).
    expect((await run(paged([], [0]), paged([]))).decisions).toEqual([]);
    async function* emptyPages<T>(): AsyncGenerator<T[]> {
      yield [];
      yield [];
    }
    expect((await run(emptyPages(), emptyPages(), { deletions: true })).decisions).toEqual([]);
  });

  it('decides the same whatever the page sizes of either side', async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `k/${String(i).padStart(3, '0')}`);
    const sources = keys.filter((_, i) => i % 3 !== 0).map((k, i) => src(k, 10 + (i % 5 === 0 ? 1 : 0)));
    const dests = keys.filter((_, i) => i % 4 !== 0).map((k, i) => dst(k, 10, at(i % 7 === 0 ? -5 : 5)));
    const expected = await run(paged(sources, [10_000]), paged(dests, [10_000]), { deletions: true });
    expect(new Set(expected.decisions.map((d) => d.split(':')[0]))).toEqual(
      new Set(['copy', 'skip', 'delete']),
    );
    const layouts: number[][] = [[1], [0, 1, 0, 3], [7, 0, 0, 2, 50], [1000], [13, 1]];
    for (const sourceSizes of layouts) {
      for (const destSizes of layouts) {
        const got = await run(paged(sources, sourceSizes), paged(dests, destSizes), { deletions: true });
        expect(got).toEqual(expected);
      }
    }
  });

  it('maps source keys onto Dest.Prefix and pairs them with the destination listing', async () => {
    const source = { Bucket: 'src-bucket', Prefix: 'MUR/v4.1/' };
    const dest = { Bucket: 'dst-bucket', Prefix: 'mirror/mur/' };
    expect(mappedPrefix(source, dest)).toBe('mirror/mur/');
    expect(mappedPrefix(source, { Bucket: 'dst-bucket' })).toBe('MUR/v4.1/');
    const map = prefixMapping(source, dest);
    const { decisions } = await run(
      paged([src('MUR/v4.1/2024/a.nc'), src('MUR/v4.1/2024/b.nc'), src('MUR/v4.1/2025/a.nc')]),
      paged([dst('mirror/mur/2024/a.nc'), dst('mirror/mur/2024/c.nc'), dst('mirror/mur/2025/a.nc', 3)]),
      { destKey: (s) => map(s.key), deletions: true },
    );
    expect(decisions).toEqual([
      'skip:MUR/v4.1/2024/a.nc',
      'copy:missing:MUR/v4.1/2024/b.nc',
      'delete:mirror/mur/2024/c.nc',
      'copy:size:MUR/v4.1/2025/a.nc',
    ]);
  });

  it('copies an object whose destination key cannot be formed, without upsetting the order check', async () => {
    const source = { Bucket: 'src-bucket', Prefix: 'p/' };
    const map = prefixMapping(source, { Bucket: 'dst-bucket', Prefix: 'x'.repeat(1000) });
    const long = `p/${'y'.repeat(100)}`;
    expect(map(long)).toBeUndefined();
    expect(map('p/a')).toBe(`${'x'.repeat(1000)}a`);
    const { decisions, stats } = await run(paged([src('p/a'), src(long), src('p/z')]), paged([]), {
      destKey: (s) => map(s.key),
    });
    expect(decisions).toEqual(['copy:missing:p/a', `copy:missing:${long}`, 'copy:missing:p/z']);
    expect(stats.copy.missing).toBe(3);
  });

  it('hands back the caller’s own source objects', async () => {
    const item = { ...src('a'), manifestLine: 7 };
    const merge = syncMerge(paged([item]), paged([]), { destKey: (s) => s.key });
    const first = await merge.next();
    expect(first.done === false && first.value.kind === 'copy' && first.value.source).toBe(item);
  });

  it('stops both listings when the consumer stops early', async () => {
    const closed: string[] = [];
    async function* listing<T>(name: string, entries: T[]): AsyncGenerator<T[]> {
      try {
        for (const entry of entries) yield [entry];
      } finally {
        closed.push(name);
      }
    }
    const merge = syncMerge(listing('source', [src('a'), src('b')]), listing('dest', [dst('a'), dst('b')]), {
      destKey: (s) => s.key,
    });
    for await (const decision of merge) {
      expect(decision.kind).toBe('skip');
      break;
    }
    expect(closed.sort()).toEqual(['dest', 'source']);
  });
});

describe('syncMerge: S3 key order (UTF-8 bytes), not JavaScript string order', () => {
  // U+E000 (private use) and U+FFFF are 3 UTF-8 bytes (EE/EF ..); U+1F600 is 4 bytes (F0 ..) but its
  // UTF-16 form starts with the surrogate D83D, which JavaScript's < puts before E000.
  const keys = ['p/a', 'p/\u00e9', 'p/\u4e2d', 'p/\ue000', 'p/\uffff', 'p/\u{1f600}', 'p/\u{10ffff}'];

  it('S3 order and JavaScript order differ for these keys', () => {
    expect(s3Sorted(keys)).toEqual(keys);
    expect([...keys].sort()).not.toEqual(keys);
    expect('p/\u{1f600}' < 'p/\ue000').toBe(true);
    expect(compareKeys('p/\u{1f600}', 'p/\ue000')).toBeGreaterThan(0);
  });

  it('compareKeys agrees with a comparison of the UTF-8 bytes', () => {
    const alphabet = ['a', 'z', '/', '\u007f', '\u00e9', '\u07ff', '\u0800', '\u4e2d', '\ud7ff', '\ue000'];
    alphabet.push('\uf8ff', '\ufffd', '\uffff', '\u{10000}', '\u{1f600}', '\u{1f601}', '\u{10ffff}');
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const word = (): string =>
      Array.from({ length: random(5) }, () => alphabet[random(alphabet.length)]).join('');
    for (let i = 0; i < 20_000; i++) {
      const common = word();
      const a = common + word();
      const b = common + word();
      const bytes = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect([a, b, Math.sign(compareKeys(a, b))]).toEqual([a, b, bytes]);
    }
  });

  it('pairs keys above U+FFFF with the same keys listed in S3 order', async () => {
    const { decisions } = await run(
      paged(
        keys.map((k) => src(k)),
        [2],
      ),
      paged(
        keys.map((k) => dst(k)),
        [3],
      ),
      { deletions: true },
    );
    expect(decisions).toEqual(keys.map((k) => `skip:${k}`));
  });

  it('keeps the order through a Dest.Prefix mapping, astral keys included', async () => {
    const map = prefixMapping(
      { Bucket: 'src-bucket', Prefix: 'p/' },
      { Bucket: 'dst-bucket', Prefix: 'q\uffff/' },
    );
    const mapped = keys.map((k) => map(k) as string);
    expect(s3Sorted(mapped)).toEqual(mapped);
    const { decisions } = await run(paged(keys.map((k) => src(k))), paged(mapped.map((k) => dst(k))), {
      destKey: (s) => map(s.key),
      deletions: true,
    });
    expect(decisions).toEqual(keys.map((k) => `skip:${k}`));
  });
});

describe('syncMerge: the order check', () => {
  const failure = async (
    sources: SourceEntry[],
    dests: DestEntry[],
    options: Partial<SyncMergeOptions<SourceEntry>> = {},
  ): Promise<KeyOrderError> => {
    const error = await run(paged(sources, [2]), paged(dests, [2]), { deletions: true, ...options }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KeyOrderError);
    return error as KeyOrderError;
  };

  it('refuses a source listing out of order, or with a key twice', async () => {
    const error = await failure([src('a'), src('c'), src('b')], [dst('a')]);
    expect(error.message).toMatch(/source key "b" maps to "b", which does not sort after "c"/);
    expect(error.message).toMatch(/UTF-8 bytes/);
    await failure([src('a'), src('a')], []);
  });

  it('refuses a destination listing out of order, or with a key twice', async () => {
    const error = await failure([src('a')], [dst('a'), dst('c'), dst('b')]);
    expect(error.message).toMatch(/destination key "b" is listed after "c"/);
    await failure([], [dst('x'), dst('x')]);
  });

  it('refuses a listing sorted in JavaScript (UTF-16) order instead of S3 order', async () => {
    const utf16 = ['p/\u{1f600}', 'p/\ue000'];
    await failure(
      [],
      utf16.map((k) => dst(k)),
    );
    await failure(
      utf16.map((k) => src(k)),
      [],
    );
  });

  it('refuses a mapping that does not preserve the order', async () => {
    const reversed = (s: SourceEntry): string => `d/${[...s.key].reverse().join('')}`;
    const error = await failure([src('ab'), src('ba'), src('ca')], [], { destKey: reversed });
    expect(error.message).toMatch(/source key "ba" maps to "d\/ab", which does not sort after "d\/ba"/);
    await failure([src('a'), src('b')], [], { destKey: () => 'same' });
  });

  it('fails before deciding anything past the disorder', async () => {
    const seen: string[] = [];
    const merge = syncMerge(paged([src('a'), src('c'), src('b'), src('d')]), paged([]), identity);
    await expect(
      (async () => {
        for await (const d of merge) seen.push(show(d));
      })(),
    ).rejects.toThrow(KeyOrderError);
    expect(seen).toEqual(['copy:missing:a', 'copy:missing:c']);
  });
});
