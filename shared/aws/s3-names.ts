/**
 * S3's rules for names and values, one copy each: bucket names, object keys, ETags, and the
 * `bucket/prefix` form in which a deployment names where it may write.
 */

/** S3's limit on an object key, in bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;

export const utf8ByteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

const RESERVED_BUCKET_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_BUCKET_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/**
 * Why `name` is not an S3 general-purpose bucket name ("but it ..."), or undefined when it is one.
 * Never quotes the name: callers put these phrases in messages that must not echo input.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `but it is ${name.length} characters long`;
  if (/[A-Z_]/.test(name)) return 'but it contains uppercase letters or underscores';
  if (/[^a-z0-9.-]/.test(name)) return "but it contains characters other than a-z, 0-9, '.', '-'";
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'but it does not start and end with a letter or digit';
  if (name.includes('..')) return "but it contains '..'";
  if (name.includes('.-') || name.includes('-.')) return "but it contains '.-' or '-.'";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'but it is formatted as an IP address';
  const prefix = RESERVED_BUCKET_PREFIXES.find((p) => name.startsWith(p));
  if (prefix !== undefined) return `but it starts with the reserved prefix '${prefix}'`;
  const suffix = RESERVED_BUCKET_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix !== undefined) return `but it ends with the reserved suffix '${suffix}'`;
  return undefined;
}

const CONTROL_CHARACTER = /[\u0000-\u001f]/; // eslint-disable-line no-control-regex
const LONE_SURROGATE = /\p{Cs}/u;

/** Why `key` cannot be an object key ("but it ..."), or undefined. */
export function objectKeyProblem(key: string): string | undefined {
  if (LONE_SURROGATE.test(key)) return 'but it is not valid Unicode (unpaired surrogate)';
  if (CONTROL_CHARACTER.test(key)) return 'but it contains a control character (U+0000 to U+001F)';
  const bytes = utf8ByteLength(key);
  if (bytes > MAX_KEY_BYTES) return `but it is ${bytes} bytes of UTF-8`;
  return undefined;
}

/** S3 quotes ETags (and a weak one starts with `W/`); manifests and copy metadata hold them bare. */
export function stripQuotes(eTag: string | undefined): string | undefined {
  return eTag === undefined ? undefined : eTag.replace(/^"|"$/g, '').replace(/^W\//, '');
}

/** A bucket a deployment may write to, optionally only under a key prefix. */
export interface BucketAndPrefix {
  readonly bucketName: string;
  /** Key prefix (matched as `prefix*`); absent: the whole bucket. */
  readonly prefix?: string;
}

/**
 * `bucket` or `bucket/prefix` (an `s3://` in front is dropped). A prefix always ends with `/`, so that
 * `bucket/earthdata` allows `earthdata/...` and not `earthdata-private/...`.
 * @throws Error naming the entry when the bucket name is invalid or the prefix holds a wildcard.
 */
export function parseBucketAndPrefix(entry: string): BucketAndPrefix {
  const text = entry.trim().replace(/^s3:\/\//, '');
  const slash = text.indexOf('/');
  const bucketName = slash < 0 ? text : text.slice(0, slash);
  const prefix = slash < 0 ? '' : text.slice(slash + 1);
  const problem = bucketNameProblem(bucketName);
  if (problem !== undefined) {
    throw new Error(`"${bucketName}" is not a valid S3 bucket name (${problem.replace(/^but /, '')})`);
  }
  if (/[*?]/.test(prefix)) throw new Error(`"${entry}": wildcards are not allowed in a prefix`);
  return prefix ? { bucketName, prefix: prefix.endsWith('/') ? prefix : `${prefix}/` } : { bucketName };
}

/** True when `key` in `bucket` is inside one of `allowed` (no list: anywhere). */
export function isWithin(
  bucket: string,
  key: string,
  allowed: readonly BucketAndPrefix[] | undefined,
): boolean {
  if (!allowed || allowed.length === 0) return true;
  return allowed.some((entry) => entry.bucketName === bucket && key.startsWith(entry.prefix ?? ''));
}
