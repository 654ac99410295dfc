import { ErrorName, TransferError } from '../errors';
import { redactText } from '../log';

/**
 * Parses an expiration as TEA sends it (Python `str(datetime)`: `2021-01-27 00:50:09+00:00`, maybe with
 * microseconds) or as ISO-8601 (`2021-01-27T00:50:09Z`, `...+02:00`). A missing offset means UTC (STS
 * times are UTC). Throws `CredentialsEndpointError` for anything else.
 */
export function parseExpiration(text: string): Date {
  const match =
    /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
      typeof text === 'string' ? text.trim() : '',
    );
  const fail = (): never => {
    const shown = typeof text === 'string' ? JSON.stringify(redactText(text.slice(0, 64))) : typeof text;
    throw new TransferError(
      ErrorName.CredentialsEndpointError,
      `the credentials endpoint returned an unparseable expiration ${shown} (expected "YYYY-MM-DD HH:MM:SS+00:00" or ISO-8601)`,
    );
  };
  if (!match) return fail();
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number);
  const millis = fraction ? Number(fraction.padEnd(3, '0').slice(0, 3)) : 0;
  let offsetMinutes = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const offsetHours = Number(digits.slice(0, 2));
    const offsetMins = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (offsetHours > 23 || offsetMins > 59) return fail();
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls over (Feb 30 -> Mar 2); a round trip catches impossible dates and times.
  const check = new Date(utc);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  ) {
    return fail();
  }
  return new Date(utc - offsetMinutes * 60_000);
}
