/**
 * Credentials endpoint URLs: how they are shown in messages, and which ones a deployment may send a
 * token to. The token is a 60-day Earthdata Login credential, and an endpoint's answer decides whose
 * keys read the source: an endpoint outside the allowlist is refused before any token is resolved.
 */
import { isIP } from 'node:net';
import { invalidInput } from '../errors';

/** The Earthdata Cloud TEA hosts: what a deployment allows unless it is configured otherwise. */
export const DEFAULT_CREDENTIALS_ENDPOINTS: readonly string[] = [
  'https://*.earthdata.nasa.gov',
  'https://*.earthdatacloud.nasa.gov',
  'https://*.asf.alaska.edu',
];

/** Where a token may be sent. */
export interface EndpointPolicy {
  /** Exact URLs (`https://host/path`) or `https://*.host.suffix` patterns. */
  readonly allowed: readonly string[];
  /**
   * Loopback hosts (plain http too): only the one-machine runner, where they are the user's own test
   * servers. In a Lambda, 127.0.0.1:9001 is the Runtime API.
   */
  readonly allowLoopback: boolean;
}

/** The endpoint as it may appear in messages: no query string, no fragment, no user info. */
export function describeEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** `localhost`, 127.0.0.0/8 or `[::1]`, as a URL's hostname spells them. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

const isIpLiteral = (hostname: string): boolean => isIP(hostname.replace(/^\[|\]$/g, '')) !== 0;

/** A DNS name of letters, digits and hyphens, at least two labels. */
const HOST_SUFFIX = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

type Pattern = { kind: 'suffix'; suffix: string } | { kind: 'exact'; origin: string; path: string };

/**
 * Checks one allowlist entry: `https://*.host.suffix` (any host under the suffix, port 443, any path) or
 * an exact `https://host[:port]/path` (that URL only, query ignored).
 * @throws Error saying what is wrong with the entry.
 */
export function parseEndpointPattern(entry: string): Pattern {
  const wildcard = /^https:\/\/\*\.([^/:?#]+)\/?$/.exec(entry);
  if (wildcard) {
    const suffix = wildcard[1].toLowerCase();
    if (!HOST_SUFFIX.test(suffix) || isIpLiteral(suffix)) {
      throw new Error(
        `credentials endpoint pattern ${entry}: expected https://*.host.suffix with a DNS suffix`,
      );
    }
    return { kind: 'suffix', suffix };
  }
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    throw new Error(`credentials endpoint ${entry}: not an absolute URL or an https://*.host.suffix pattern`);
  }
  if (url.protocol !== 'https:') throw new Error(`credentials endpoint ${entry}: only https: is allowed`);
  if (url.username || url.password || url.search || url.hash || entry.includes('*')) {
    throw new Error(`credentials endpoint ${entry}: no user info, query, fragment or other wildcard`);
  }
  if (isIpLiteral(url.hostname) || isLoopbackHost(url.hostname)) {
    throw new Error(`credentials endpoint ${entry}: IP literals and loopback hosts are not allowed`);
  }
  return { kind: 'exact', origin: url.origin, path: url.pathname };
}

function matches(url: URL, pattern: Pattern): boolean {
  if (url.protocol !== 'https:') return false;
  if (pattern.kind === 'exact') return url.origin === pattern.origin && url.pathname === pattern.path;
  return url.port === '' && url.hostname.endsWith(`.${pattern.suffix}`);
}

/** Why `endpoint` may not receive a token under `policy` ("but ..."), or undefined when it may. */
export function endpointRefusal(endpoint: string, policy: EndpointPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'but it is not an absolute URL';
  }
  if (url.username || url.password) return 'but it contains user info';
  if (isLoopbackHost(url.hostname)) {
    if (policy.allowLoopback && (url.protocol === 'http:' || url.protocol === 'https:')) return undefined;
    return 'but it is a loopback address, which only the one-machine runner (run, demo) allows';
  }
  if (isIpLiteral(url.hostname)) return 'but it is an IP address; name the archive by its host name';
  if (url.protocol !== 'https:') return 'but its scheme is not https:';
  const patterns = policy.allowed.map(parseEndpointPattern);
  return patterns.some((p) => matches(url, p)) ? undefined : 'but its host is not on the allowlist';
}

/**
 * Refuses an endpoint the policy does not allow, with an `InvalidInput` error that names the field and
 * the allowlist. Called before any token is resolved or any request is sent.
 */
export function checkEndpoint(endpoint: string, policy: EndpointPolicy, field = 'CredentialsEndpoint'): void {
  const refusal = endpointRefusal(endpoint, policy);
  if (refusal === undefined) return;
  const allowed = [...policy.allowed, ...(policy.allowLoopback ? ['loopback (this machine)'] : [])];
  throw invalidInput(
    `${field}: expected a credentials endpoint this deployment allows (${allowed.join(', ') || 'none'}), ` +
      `${refusal}. The token is sent to this endpoint, so only the archives' own endpoints are allowed; ` +
      'a deployment adds others with its credentialsEndpoints setting.',
  );
}
