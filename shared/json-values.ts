import { StringDecoder } from 'node:string_decoder';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

const STRING_SPECIAL = /["\\]/g;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

type ValueKind = 'composite' | 'string' | 'scalar';

/**
 * Yields the values of a JSON document streamed in chunks, one at a time: the elements of a top-level
 * array (a ResultWriter `SUCCEEDED_n.json` file), or each value of a JSON Lines / concatenated JSON
 * stream. Memory holds one element at a time, never the whole file (result files reach gigabytes).
 */
export async function* jsonValues(source: AsyncIterable<Buffer | string>): AsyncGenerator<unknown> {
  const decoder = new StringDecoder('utf8');
  let arrayMode: boolean | undefined;
  let arrayClosed = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let kind: ValueKind | undefined;
  let pieces: string[] = [];

  const base = (): number => (arrayMode ? 1 : 0);
  const take = (chunk: string, start: number, end: number): unknown => {
    pieces.push(chunk.slice(start, end));
    const text = pieces.join('');
    pieces = [];
    kind = undefined;
    return JSON.parse(text);
  };

  const scan = function* (chunk: string): Generator<unknown> {
    let start = kind ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (kind === undefined) {
        if (isSpace(c)) continue;
        if (arrayClosed) throw new SyntaxError('unexpected data after the end of the JSON array');
        if (arrayMode === undefined) {
          arrayMode = c === OPEN_BRACKET;
          if (arrayMode) {
            depth = 1;
            continue;
          }
        }
        if (arrayMode && c === COMMA) continue;
        if (arrayMode && c === CLOSE_BRACKET) {
          depth = 0;
          arrayClosed = true;
          continue;
        }
        start = i;
        if (c === OPEN_BRACE || c === OPEN_BRACKET) {
          kind = 'composite';
          depth++;
        } else if (c === QUOTE) {
          kind = 'string';
          inString = true;
        } else {
          kind = 'scalar';
        }
        continue;
      }
      if (inString) {
        if (escaped) {
          escaped = false;
          continue;
        }
        if (c !== QUOTE && c !== BACKSLASH) {
          // Most bytes are inside strings (Input/Output are JSON strings): jump to the next special one.
          STRING_SPECIAL.lastIndex = i;
          const found = STRING_SPECIAL.exec(chunk);
          if (!found) break;
          i = found.index;
        }
        if (chunk.charCodeAt(i) === BACKSLASH) escaped = true;
        else {
          inString = false;
          if (kind === 'string') yield take(chunk, start, i + 1);
        }
        continue;
      }
      if (kind === 'scalar') {
        if (isSpace(c) || c === COMMA || c === CLOSE_BRACKET || c === CLOSE_BRACE) {
          yield take(chunk, start, i);
          i--; // let the delimiter be seen at element level (it may close the array)
        }
        continue;
      }
      if (c === QUOTE) inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === base()) yield take(chunk, start, i + 1);
      }
    }
    if (kind !== undefined) pieces.push(chunk.slice(start));
  };

  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? raw : decoder.write(raw);
    yield* scan(chunk);
  }
  yield* scan(decoder.end());
  if (kind === 'scalar') {
    yield take('', 0, 0);
  } else if (kind !== undefined || (arrayMode && !arrayClosed)) {
    throw new SyntaxError('unexpected end of JSON input (truncated file)');
  }
}
