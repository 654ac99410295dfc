/** Credentials endpoint URLs: how they are shown in messages, and which hosts are loopback. */

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
