import { Readable } from 'node:stream';
import { jsonValues } from '../../shared/json-values';

async function collect(chunks: (string | Buffer)[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const v of jsonValues(Readable.from(chunks))) out.push(v);
  return out;
}

/** Splits text into chunks of `size` bytes (Buffers, so multi-byte characters get cut). */
function bytesChunks(text: string, size: number): Buffer[] {
  const buf = Buffer.from(text, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

describe('jsonValues', () => {
  const values = [
    { Key: 'a/b.h5', Output: '{"Results":[{"Key":"x]}\\""}]}', n: [1, [2, { x: '}' }]] },
    { Key: 'ünïcödé/日本語/🚀.nc', Error: 'Lambda.Unknown', Cause: 'a "quoted" \\ back\\slash\nnewline' },
    {},
    [],
    'a string with ] and }',
    12.5e3,
    true,
    null,
  ];

  it('yields the elements of a top-level array, pretty or compact', async () => {
    expect(await collect([JSON.stringify(values)])).toEqual(values);
    expect(await collect([JSON.stringify(values, null, 2)])).toEqual(values);
  });

  it('is indifferent to where chunks are cut, even inside a multi-byte character', async () => {
    const text = JSON.stringify(values, null, 1);
    for (const size of [1, 2, 3, 7, 64]) {
      expect(await collect(bytesChunks(text, size))).toEqual(values);
    }
  });

  it('reads JSON Lines and concatenated values', async () => {
    const lines = values.map((v) => JSON.stringify(v)).join('\n') + '\n';
    expect(await collect(bytesChunks(lines, 5))).toEqual(values);
    expect(await collect(['{"a":1}{"b":2} 3 "x"'])).toEqual([{ a: 1 }, { b: 2 }, 3, 'x']);
  });

  it('handles empty arrays and empty input', async () => {
    expect(await collect(['[', ' ', ']', '\n'])).toEqual([]);
    expect(await collect([])).toEqual([]);
  });

  it('rejects a truncated file instead of dropping its tail silently', async () => {
    await expect(collect(['[{"a":1},{"b":'])).rejects.toThrow(/truncated/);
    await expect(collect(['[{"a":1}'])).rejects.toThrow(/truncated/);
    await expect(collect(['[1] [2]'])).rejects.toThrow(/after the end/);
  });

  it('holds one element at a time: a long array streams without joining everything', async () => {
    const element = { Output: 'x'.repeat(1000) };
    async function* many(): AsyncGenerator<string> {
      yield '[';
      for (let i = 0; i < 5000; i++) yield (i ? ',' : '') + JSON.stringify(element);
      yield ']';
    }
    let n = 0;
    for await (const v of jsonValues(many())) {
      expect(v).toEqual(element);
      n++;
    }
    expect(n).toBe(5000);
  });
});
