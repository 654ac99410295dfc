/**
 * Rules for the event's string fields. Each returns a phrase saying what is wrong ("but it ..."), or
 * undefined; never the value itself, since events carry tokens.
 */
import { objectKeyProblem } from '../aws/s3-names';
import { isLoopbackHost } from '../credentials/endpoint';

export function endpointProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'but it is not an absolute URL';
  }
  if (url.username !== '' || url.password !== '') {
    return 'but it contains credentials (user:password@): authenticate with BearerToken, BearerTokenParameter or JwtCookie instead';
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname)
      ? undefined
      : 'but plain http: is only allowed for a loopback host (localhost, 127.0.0.0/8, [::1])';
  }
  return 'but its scheme is not https:';
}

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

export function bearerTokenProblem(token: string): string | undefined {
  if (/^bearer\s/i.test(token)) return "but it starts with 'Bearer ' (give the token alone)";
  if (!PRINTABLE_ASCII.test(token)) return 'but it contains line breaks, control or non-ASCII characters';
  return undefined;
}

export function cookieProblem(jwt: string): string | undefined {
  if (!PRINTABLE_ASCII.test(jwt)) return 'but it contains line breaks, control or non-ASCII characters';
  if (jwt.includes(';')) return "but it contains ';', which ends a cookie value";
  return undefined;
}

export function parameterNameProblem(name: string): string | undefined {
  if (name.length > 2048) return `but it is ${name.length} characters long`;
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(name)) return 'but it contains other characters';
  return undefined;
}

export function appNameProblem(name: string): string | undefined {
  if (name.length > 64) return `but it is ${name.length} characters long`;
  if (!/^[\w+=,.@-]+$/.test(name))
    return 'but it contains a character outside that set (such as a space or /)';
  return undefined;
}

// Bidirectional controls make a key display differently from what it is (U+061C, U+200E-F, U+202A-E, U+2066-9).
const BIDI_CONTROL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// DEL and the C1 controls; the C0 controls are S3's own rule (objectKeyProblem).
const OTHER_CONTROL = /[\u007f-\u009f]/;

/**
 * A key or prefix the caller gives (Source.Key, Keys, Prefix, Dest.Key, Dest.Prefix): S3's rules, and no
 * leading `/`, no `.` or `..` segment, no control or bidirectional-control character. Such keys are
 * legal in S3, but they mean something else to every file system and terminal a mirror ends up in.
 */
export function callerKeyProblem(key: string): string | undefined {
  const s3 = objectKeyProblem(key);
  if (s3 !== undefined) return s3;
  if (key.startsWith('/')) return "but it starts with '/'";
  if (key.split('/').some((segment) => segment === '.' || segment === '..')) {
    return "but it has a '.' or '..' segment";
  }
  if (OTHER_CONTROL.test(key)) return 'but it contains a control character (U+007F to U+009F)';
  if (BIDI_CONTROL.test(key)) return 'but it contains a bidirectional control character';
  return undefined;
}
