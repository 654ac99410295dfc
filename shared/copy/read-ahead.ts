import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import type { SourceReader } from './source-reader';

export interface ReadAheadOptions {
  /** Bytes per ranged GET. */
  rangeSize: number;
  /** Ranged GETs in flight at once (the one being passed on not included). */
  depth: number;
  /** Size of the pieces each range is handed on in (smaller pieces keep the uploader's copies small). */
  sliceSize?: number;
}

const DEFAULT_SLICE = 1024 * 1024;

/**
 * The object's bytes, in order, fetched as `depth` ranged GETs in flight, each buffered and resumed on
 * its own. `first` is the answer to the GET of the first range ({@link SourceReader.open}).
 * Memory: (depth + 1) x rangeSize.
 */
export async function* readAhead(
  reader: SourceReader,
  first: GetObjectCommandOutput,
  options: ReadAheadOptions,
): AsyncGenerator<Buffer> {
  const size = reader.info.size;
  const rangeSize = Math.max(1, options.rangeSize);
  const depth = Math.max(1, options.depth);
  const slice = options.sliceSize ?? DEFAULT_SLICE;
  const pending: Promise<Buffer>[] = [];
  let next = 0;
  const launch = (): void => {
    while (pending.length < depth && next < size) {
      const start = next;
      const end = Math.min(size, start + rangeSize);
      const range = reader.readRange(start, end, start === 0 ? first : undefined);
      // Awaited in order below; until then a failure must not count as unhandled.
      range.catch(() => undefined);
      pending.push(range);
      next = end;
    }
  };
  launch();
  while (pending.length > 0) {
    const buffer = await pending.shift()!;
    launch();
    for (let offset = 0; offset < buffer.length; offset += slice) {
      yield buffer.subarray(offset, Math.min(buffer.length, offset + slice));
    }
  }
}
