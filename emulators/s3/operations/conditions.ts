/** Conditional requests (If-Match and friends, for reads, copies and writes) and byte ranges. */
import { S3Error } from '../errors';
import { headerValue, type RequestContext } from '../request';

/** An ETag without quotes and weak marker, for comparisons. */
export function unquote(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}
function etagMatches(condition: string, etag: string): boolean {
  const current = unquote(etag);
  return condition.split(',').some((c) => c.trim() === '*' || unquote(c) === current);
}
function secondsOf(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}
function parseHttpDate(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const t = Date.parse(v);
  return isNaN(t) ? undefined : Math.floor(t / 1000);
}

/** The header names of the four conditions: plain for GET/HEAD, x-amz-copy-source-* for copies. */
export interface ConditionHeaders {
  match: string;
  noneMatch: string;
  modified: string;
  unmodified: string;
}
const READ_CONDITIONS: ConditionHeaders = {
  match: 'if-match',
  noneMatch: 'if-none-match',
  modified: 'if-modified-since',
  unmodified: 'if-unmodified-since',
};

/** 412/304 per S3 (RFC 7232 order); throws or returns a 304 marker. */
export function checkConditions(
  ctx: RequestContext,
  etag: string,
  lastModified: Date,
  names: ConditionHeaders = READ_CONDITIONS,
): 'not-modified' | undefined {
  const get = (name: string) => headerValue(ctx.req, name);
  const lm = secondsOf(lastModified);
  const ifMatch = get(names.match);
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, etag))
      throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Match' });
  } else {
    const t = parseHttpDate(get(names.unmodified));
    if (t !== undefined && lm > t)
      throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Unmodified-Since' });
  }
  const ifNoneMatch = get(names.noneMatch);
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, etag)) return 'not-modified';
  } else {
    const t = parseHttpDate(get(names.modified));
    if (t !== undefined && !(lm > t)) return 'not-modified';
  }
  return undefined;
}

/** Conditional writes: a check of the current ETag (undefined: no object) the store runs under its lock. */
export function writeConditionCheck(
  ctx: RequestContext,
): ((current: string | undefined) => void) | undefined {
  const ifNoneMatch = headerValue(ctx.req, 'if-none-match');
  const ifMatch = headerValue(ctx.req, 'if-match');
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  return (current) => {
    if (ifNoneMatch !== undefined && current !== undefined && etagMatches(ifNoneMatch, current)) {
      throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-None-Match' });
    }
    if (ifMatch !== undefined) {
      if (current === undefined) throw new S3Error('NoSuchKey', undefined, { Key: ctx.key ?? '' });
      if (!etagMatches(ifMatch, current))
        throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Match' });
    }
  };
}

/** Parses a single `bytes=` range against `size`; undefined = whole object. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const unsatisfiable = () =>
    new S3Error(
      'InvalidRange',
      undefined,
      { RangeRequested: header, ActualObjectSize: size },
      {
        headers: { 'content-range': `bytes */${size}` },
      },
    );
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined; // invalid: S3 ignores it
  if (start >= size) throw unsatisfiable();
  return { start, end };
}
