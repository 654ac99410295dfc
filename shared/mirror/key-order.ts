/**
 * S3's key order. ListObjectsV2 returns keys in ascending order of their UTF-8 bytes, which is the order
 * of their code points. JavaScript's `<` compares UTF-16 code units instead, and the two disagree when a
 * code point above U+FFFF (a surrogate pair, D800-DFFF) meets one from U+E000 to U+FFFF: UTF-16 puts the
 * pair first, UTF-8 (F0.. against EE../EF..) puts it last.
 */

/** Where a UTF-16 code unit at the first difference of two valid strings sorts in code point order. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  // A surrogate stands for a code point above U+FFFF: it sorts after every unit from U+E000 up.
  return unit <= 0xdfff ? unit + 0x2000 : unit - 0x800;
}

/**
 * Negative when `a` sorts before `b` in S3's key order (UTF-8 byte order), 0 when equal, positive after.
 * Valid Unicode only (S3 keys are UTF-8): a surrogate pair is compared by its high surrogate, which
 * orders the code points above U+FFFF among themselves as UTF-8 does.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const shorter = Math.min(a.length, b.length);
  let i = 0;
  while (i < shorter && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === shorter) return a.length - b.length;
  return codePointRank(a.charCodeAt(i)) - codePointRank(b.charCodeAt(i));
}
