/**
 * Reading a credentials endpoint's answer with distrust: the endpoint may be anyone's (a typo, an
 * allowlisted host gone bad), its body ends up in an execution's Cause, and its links in a message a
 * person will follow.
 */
import { redactText } from '../log';

/** Most bytes of an answer read: credentials are about 2 KiB, an error page a few. */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** Most characters of an answer quoted in a message. */
export const MAX_EXCERPT = 120;

/** The hosts of Earthdata Login (production, UAT, SIT): the only pages a message sends a person to. */
export const EARTHDATA_LOGIN_HOSTS: readonly string[] = [
  'urs.earthdata.nasa.gov',
  'uat.urs.earthdata.nasa.gov',
  'sit.urs.earthdata.nasa.gov',
];

/** The body as text, read up to `max` bytes; `truncated` when there was more (the rest is not read). */
export async function readCappedBody(
  response: Response,
  max = MAX_ANSWER_BYTES,
): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > max) {
      chunks.push(value.subarray(0, max - size));
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated };
}

/** A short, printable, redacted excerpt of an answer for a message: what a person needs, no more. */
export function excerpt(text: string, max = MAX_EXCERPT): string {
  const printable = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const redacted = redactText(printable);
  return redacted.length <= max ? redacted : `${redacted.slice(0, max - 1)}…`;
}

/** `url` as shown to a person when it is an https page of Earthdata Login (at most 512 characters), else undefined. */
export function earthdataLoginPage(url: string): string | undefined {
  if (url.length > 2048) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' || parsed.username || parsed.password || parsed.port) return undefined;
  if (!EARTHDATA_LOGIN_HOSTS.includes(parsed.hostname)) return undefined;
  const shown = `${parsed.origin}${parsed.pathname}${parsed.search}`;
  return shown.length <= 512 && /^[\x21-\x7e]+$/.test(shown) ? shown : undefined;
}
