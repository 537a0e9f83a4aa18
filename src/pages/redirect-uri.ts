/** Helpers for a redirect_uri that has already been matched against the client's registration. */

/**
 * Adds parameters to the query of a redirect URI. RFC 6749 §3.1.2 requires keeping any query the URI already
 * has, so the existing query is kept byte for byte and the new parameters are appended after it.
 */
export function withQuery(redirectUri: string, parameters: Readonly<Record<string, string | null>>): string {
  const added = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== null) added.append(name, value);
  }
  const url = new URL(redirectUri);
  const existing = url.search.slice(1);
  url.search = existing === '' ? added.toString() : `${existing}&${added.toString()}`;
  return url.href;
}

const HTTP_ORIGIN = /^https?:\/\/[A-Za-z0-9.\-[\]:]+$/;
const SCHEME = /^[a-z][a-z0-9+.-]*:$/;

/**
 * Returns the Content-Security-Policy source that lets a form POST be redirected to the URI: its origin for
 * http(s), its scheme for an app's custom scheme. Returns undefined for anything that does not fit the source
 * grammar, so a strange registered URI can never add directives to the policy.
 */
export function formActionSource(redirectUri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    return undefined;
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    return HTTP_ORIGIN.test(url.origin) ? url.origin : undefined;
  }
  return SCHEME.test(url.protocol) ? url.protocol : undefined;
}

/** Returns the host of a redirect URI for display, or an empty string for a custom scheme without a host. */
export function displayHost(redirectUri: string): string {
  try {
    return new URL(redirectUri).host;
  } catch {
    return '';
  }
}
