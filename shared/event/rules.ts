/**
 * Rules for the event's string fields. Each returns a phrase saying what is wrong ("but it ..."), or
 * undefined; never the value itself, since events carry tokens.
 */
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
