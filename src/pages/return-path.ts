/** Paths a sign-in that belongs to no authorization request may return to. */
const RETURN_PREFIX = '/account/';

const RETURN_PATH_SHAPE = /^\/[A-Za-z0-9\-._~/?=&%]*$/;
const MAX_RETURN_PATH_LENGTH = 200;

/** Base for resolving a path. Only its origin is compared, and nothing is ever requested from it. */
const PARSE_BASE = 'http://return-path.invalid';

/**
 * Returns `value` when it is a path on this server under /account/, or undefined. An absolute URL, a
 * protocol-relative `//host` or `/\host`, and a path that dot segments or their percent-encoded forms would
 * move elsewhere are all rejected, so a sign-in form can never become an open redirect.
 */
export function safeReturnPath(value: string | undefined): string | undefined {
  if (value === undefined || value.length > MAX_RETURN_PATH_LENGTH) return undefined;
  if (!RETURN_PATH_SHAPE.test(value) || value.startsWith('//')) return undefined;
  let url: URL;
  try {
    url = new URL(value, PARSE_BASE);
  } catch {
    return undefined;
  }
  // Parsing resolves dot segments, so a path that changes on the way is not the path it looks like.
  if (url.origin !== PARSE_BASE || `${url.pathname}${url.search}` !== value) return undefined;
  return url.pathname.startsWith(RETURN_PREFIX) ? value : undefined;
}
