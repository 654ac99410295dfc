/** Pure key mapping and filtering: which source keys to copy, and where each one lands. */
import { invalidInput } from './errors';
import { globMatcher } from './glob';
import { MAX_KEY_BYTES, utf8ByteLength } from './aws/s3-names';
import type { DestSpec, SourceSpec } from './event';

/**
 * The key relative to `Source.Prefix` for a prefix source (what Include/Exclude match and what
 * `Dest.Prefix` is prepended to), or the whole key for Key/Keys sources.
 */
export function relativeKey(source: SourceSpec, sourceKey: string): string {
  if (!('Prefix' in source)) return sourceKey;
  if (!sourceKey.startsWith(source.Prefix)) {
    throw invalidInput(`key ${JSON.stringify(sourceKey)} is not under Source.Prefix`);
  }
  return sourceKey.slice(source.Prefix.length);
}

/**
 * Where `sourceKey` is written: `Dest.Key` (rename of the single `Source.Key`), else
 * `Dest.Prefix + relativeKey`, else the source key unchanged.
 * @throws TransferError `InvalidInput` when the mapping is not allowed or the result is not a valid S3 key.
 */
export function destinationKey(source: SourceSpec, dest: DestSpec, sourceKey: string): string {
  let key: string;
  if (dest.Key !== undefined) {
    if (dest.Prefix !== undefined) throw invalidInput('Dest.Key cannot be combined with Dest.Prefix');
    if (!('Key' in source)) throw invalidInput('Dest.Key is only allowed with Source.Key');
    if (sourceKey !== source.Key) {
      throw invalidInput(
        `key ${JSON.stringify(sourceKey)} is not Source.Key, Dest.Key renames only that object`,
      );
    }
    key = dest.Key;
  } else {
    const relative = relativeKey(source, sourceKey);
    key = dest.Prefix !== undefined ? dest.Prefix + relative : sourceKey;
  }
  if (key.length === 0) throw invalidInput('empty source key');
  const bytes = utf8ByteLength(key);
  if (bytes > MAX_KEY_BYTES) {
    throw invalidInput(
      `destination key for source key ${JSON.stringify(sourceKey)} would be ${bytes} bytes of UTF-8, ` +
        `S3 allows at most ${MAX_KEY_BYTES}`,
    );
  }
  return key;
}

/**
 * A predicate on relative keys: included when there is no Include list or any Include glob matches,
 * and no Exclude glob matches (see shared/glob.ts for the syntax: `*` never crosses `/`, `**` does,
 * `**\/*.h5` also matches a top-level `c.h5`). An empty list counts as absent.
 */
export function keyFilter(
  include?: readonly string[],
  exclude?: readonly string[],
): (relativeKey: string) => boolean {
  const included = include && include.length > 0 ? globMatcher(include) : () => true;
  const excluded = exclude && exclude.length > 0 ? globMatcher(exclude) : () => false;
  return (key) => included(key) && !excluded(key);
}

/** A zero-byte object whose key ends in `/`: the console's "folder", not data. */
export const isFolderMarker = (key: string, size: number): boolean => key.endsWith('/') && size === 0;
