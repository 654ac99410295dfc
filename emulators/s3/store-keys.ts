/**
 * S3 keys on s3rver's file-system layout: an injective key → path encoding (keys with `//`, trailing
 * `/`, `.`/`..` segments or segments longer than a file name survive, where s3rver's path.join would
 * fold or reject them), and S3's key order (UTF-8 byte order).
 */

const SEGMENT_MAX_BYTES = 200;

function escapeText(s: string): string {
  return s.replace(/%/g, '%25').replace(/\._S3rver_/g, '%2E_S3rver_');
}

/** Splits a segment so that each escaped piece stays well under NAME_MAX (255 bytes). */
function splitSegment(seg: string): string[] {
  const pieces: string[] = [];
  let current = '';
  let bytes = 0;
  for (const ch of seg) {
    const cost = ch === '%' || ch === '.' ? 3 : Buffer.byteLength(ch);
    if (bytes + cost > SEGMENT_MAX_BYTES) {
      pieces.push(current);
      current = '';
      bytes = 0;
    }
    current += ch;
    bytes += cost;
  }
  pieces.push(current);
  return pieces;
}

/** S3 key → s3rver key whose path.join is safe and injective. */
export function encodeKey(key: string): string {
  const out: string[] = [];
  for (const seg of key.split('/')) {
    if (seg === '') {
      out.push('%E');
      continue;
    }
    const pieces = splitSegment(seg);
    pieces.forEach((piece, i) => {
      let e = escapeText(piece);
      if (e === '.') e = '%2E';
      else if (e === '..') e = '%2E%2E';
      out.push(i < pieces.length - 1 ? e + '%C' : e);
    });
  }
  return out.join('/');
}

/** Path components (relative to the bucket) → S3 key; `asDirectory` gives the prefix of keys below. */
export function decodeComponents(components: string[], asDirectory = false): string {
  let out = '';
  components.forEach((c, i) => {
    const cont = c.endsWith('%C');
    const body = cont ? c.slice(0, -2) : c;
    out += body === '%E' ? '' : body.replace(/%(25|2E)/g, (_m, g: string) => (g === '25' ? '%' : '.'));
    if (!cont && (asDirectory || i < components.length - 1)) out += '/';
  });
  return out;
}

export function decodeKey(encoded: string): string {
  return decodeComponents(encoded.split('/'));
}

/** Compares strings in UTF-8 byte order (S3's key order), without encoding them. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return utf8Rank(x) - utf8Rank(y);
  }
  return a.length - b.length;
}
function utf8Rank(u: number): number {
  // surrogates (astral code points, 4 UTF-8 bytes starting F0-F4) sort after U+E000..U+FFFF
  if (u >= 0xd800 && u <= 0xdfff) return u + 0x2000;
  if (u >= 0xe000) return u - 0x800;
  return u;
}
