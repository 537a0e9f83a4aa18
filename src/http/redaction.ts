/** Credentials this server issues, recognised by their prefixes wherever they appear in text. */
const ISSUED_CREDENTIAL = /\b(atk|rtk|cod|kfs|ses|req)_[A-Za-z0-9_-]+/g;

/** Query and path parameters that can carry a credential, also when their name or separator is percent-encoded. */
const SECRET_PARAMETER = /([?&;](?:code|access_token|refresh_token|token|client_secret|password|code_verifier|id_token|session)(?:=|%3d))[^&#;]*/gi;

/** Masks every credential in a piece of text before it is logged or echoed. */
export function redactCredentials(text: string): string {
  return text.replace(ISSUED_CREDENTIAL, '$1_[Redacted]');
}

/** Removes credential values from a URL before it is logged, whatever the parameter or path segment. */
export function redactUrl(url: string): string {
  // Without these characters a URL has no query, no escape and no issued credential, so nothing to mask.
  if (!/[?&;%_]/.test(url)) return url;
  let decoded = url;
  try {
    decoded = decodeURIComponent(url);
  } catch {
    // One malformed escape makes the whole URL undecodable, so the valid escapes are decoded one by one.
    decoded = url.replace(/%[0-9A-Fa-f]{2}/g, (escape) => String.fromCharCode(Number.parseInt(escape.slice(1), 16)));
  }
  const source = decoded === url ? url : decoded;
  return redactCredentials(source.replace(SECRET_PARAMETER, '$1[Redacted]'));
}
