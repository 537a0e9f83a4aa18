/** Scopes this server supports, with the text the consent page shows for each. */
export const SCOPES: Readonly<Record<string, string>> = {
  profile: 'See your name and email address',
  'forms:read': 'See your forms',
  'forms:write': 'Create and edit your forms',
  'submissions:read': 'See the responses to your forms',
};

export const ALL_SCOPES: readonly string[] = Object.keys(SCOPES);

/** Splits a scope parameter (RFC 6749 §3.3: space-delimited, order irrelevant) into a sorted, unique list. */
export function parseScope(value: string): string[] {
  return [...new Set(value.split(' ').filter((s) => s !== ''))].sort();
}

export const formatScope = (scopes: readonly string[]): string => [...scopes].sort().join(' ');

/** Returns the scopes of `requested` that are not in `allowed`. */
export function scopesOutside(requested: readonly string[], allowed: readonly string[]): string[] {
  const set = new Set(allowed);
  return requested.filter((s) => !set.has(s));
}
