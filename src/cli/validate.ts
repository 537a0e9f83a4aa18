import { ALL_SCOPES, parseScope, scopesOutside } from '../oauth/scopes.js';
import { UsageError } from './errors.js';

const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;

/** Maximum length of an email address that the CLI accepts. */
const MAX_EMAIL_LENGTH = 254;
const MAX_NAME_LENGTH = 200;
const MAX_CLIENT_ID_LENGTH = 200;
/** Hosts on which a redirect URI may use plain http, because the traffic never leaves the machine. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Returns `value` when it is present, otherwise throws a UsageError naming the option. */
export function required<T>(value: T | undefined, option: string, example: string): T {
  if (value === undefined) throw new UsageError(`${option} is required; add ${option} ${example}`);
  return value;
}

/**
 * Characters an email address must not contain: whitespace, control characters (Unicode category Cc) and
 * invisible ones (Cf such as U+200B ZERO WIDTH SPACE, Zl, Zp), which would make two accounts look alike.
 */
const INVISIBLE_OR_CONTROL = /[\s\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/**
 * Returns the email in Unicode NFC, so that one address typed with composed or combining accents names one
 * account. Throws UsageError unless it has one @, non-empty parts, at most 254 characters, and no whitespace,
 * control or invisible character.
 */
export function normalizeEmail(email: string): string {
  const normalized = email.normalize('NFC');
  const invisible = INVISIBLE_OR_CONTROL.exec(normalized)?.[0];
  if (invisible !== undefined) {
    throw new UsageError(
      `--email ${quoteVisibly(normalized)} contains ${codePoint(invisible)}, a whitespace, control or invisible character; remove it`);
  }
  if (normalized.length > MAX_EMAIL_LENGTH) {
    throw new UsageError(`--email is ${normalized.length} characters long; an email address has at most ${MAX_EMAIL_LENGTH}`);
  }
  if (!/^[^@]+@[^@]+$/.test(normalized)) {
    throw new UsageError(`--email ${JSON.stringify(normalized)} is not a valid email address; use the form name@example.com`);
  }
  return normalized;
}

/** Returns a character's code point in U+XXXX notation. */
function codePoint(character: string): string {
  return `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Quotes a value for a message, with each whitespace, control or invisible character shown as <U+XXXX>. */
function quoteVisibly(value: string): string {
  const shown = [...value].map((character) => (INVISIBLE_OR_CONTROL.test(character) ? `<${codePoint(character)}>` : character));
  return `"${shown.join('')}"`;
}

/** Throws UsageError unless a display name is non-blank, free of control characters and at most 200 characters. */
export function validateName(name: string, option: string): void {
  if (name.trim() === '') throw new UsageError(`${option} is empty; give a non-empty name`);
  if (CONTROL_CHARACTER.test(name)) throw new UsageError(`${option} contains a control character; remove it`);
  if (name.length > MAX_NAME_LENGTH) {
    throw new UsageError(`${option} is ${name.length} characters long; use at most ${MAX_NAME_LENGTH}`);
  }
}

/**
 * Throws UsageError unless `uri` can serve as a redirect URI: an absolute http(s) URL without a fragment
 * (RFC 6749 §3.1.2) or user credentials, using https unless the host is a loopback name. The URI is later compared
 * as an exact string, so it is checked as given and never normalized.
 */
export function validateRedirectUri(uri: string): void {
  const quoted = JSON.stringify(uri);
  if (WHITESPACE_OR_CONTROL.test(uri)) {
    throw new UsageError(`--redirect-uri ${quoted} contains whitespace or a control character; remove it`);
  }
  if (!/^https?:\/\//i.test(uri)) {
    throw new UsageError(`--redirect-uri ${quoted} is not an http(s) URL; use https://HOST/PATH`);
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new UsageError(`--redirect-uri ${quoted} is not a valid URL; use https://HOST/PATH`);
  }
  if (uri.includes('#')) {
    throw new UsageError(`--redirect-uri ${quoted} contains a fragment (#...); redirect URIs must not have one`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new UsageError(`--redirect-uri ${quoted} contains user credentials; remove the part before @`);
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw new UsageError(
      `--redirect-uri ${quoted} uses plain http; use https://, because http is allowed only for localhost, 127.0.0.1 and [::1]`);
  }
}

/** Throws UsageError unless a client id is 1 to 200 printable ASCII characters without spaces. */
export function validateClientId(clientId: string): void {
  if (!/^[\x21-\x7e]+$/.test(clientId) || clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw new UsageError(
      `--client-id ${JSON.stringify(clientId)} is invalid; use 1 to ${MAX_CLIENT_ID_LENGTH} printable ASCII characters without spaces`);
  }
}

/** Parses `--scope`, which is space-separated like the OAuth scope parameter, into sorted unique known scopes. */
export function parseScopeOption(value: string): string[] {
  const scopes = parseScope(value);
  if (scopes.length === 0) {
    throw new UsageError(`--scope is empty; give space-separated scopes from: ${ALL_SCOPES.join(' ')}`);
  }
  const unknown = scopesOutside(scopes, ALL_SCOPES);
  if (unknown.length > 0) {
    throw new UsageError(`--scope contains unknown scope ${JSON.stringify(unknown[0])}; choose from: ${ALL_SCOPES.join(' ')}`);
  }
  return scopes;
}

/** Parses a true/false option value. */
export function parseBooleanOption(value: string, option: string): boolean {
  const normalized = value.trim().toLowerCase();
  if (normalized === 'true') return true;
  if (normalized === 'false') return false;
  throw new UsageError(`${option} ${JSON.stringify(value)} is invalid; use true or false`);
}

/** Parses a whole number from `min` to `max` given to `option`. */
export function parseWholeNumberOption(value: string, option: string, min: number, max: number): number {
  const number = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new UsageError(`${option} ${JSON.stringify(value)} is invalid; use a whole number from ${min} to ${max}`);
  }
  return number;
}

const DURATION_UNITS_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Parses a duration such as `30s`, `15m`, `24h`, `7d` or plain seconds into seconds, at most `maxSeconds`. */
export function parseDurationOption(value: string, option: string, maxSeconds: number): number {
  const match = /^(\d+)([smhd]?)$/.exec(value);
  const unitSeconds = DURATION_UNITS_SECONDS[match?.[2] || 's'];
  const seconds = match && unitSeconds !== undefined ? Number(match[1]) * unitSeconds : NaN;
  if (!Number.isSafeInteger(seconds) || seconds > maxSeconds) {
    throw new UsageError(
      `${option} ${JSON.stringify(value)} is invalid; use a duration of at most ${maxSeconds / 86_400}d, as in 30s, 15m, 24h, 7d or plain seconds`);
  }
  return seconds;
}
