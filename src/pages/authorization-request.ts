import type { Context } from '../context.js';
import { OAuthError, invalidRequest } from '../oauth/errors.js';
import { printable } from '../oauth/parameters.js';
import { isWellFormedChallenge } from '../oauth/pkce.js';
import { formatScope, parseScope, scopesOutside } from '../oauth/scopes.js';
import type { Client } from '../storage/types.js';
import { PageError } from './errors.js';
import { containsNul } from './forms.js';

/**
 * Maximum lengths of the parameters a pending request stores, so that one request cannot store an unbounded
 * row. A S256 code_challenge is 43 characters (RFC 7636 §4.2), so its cap only bounds the error path.
 */
export const MAX_STATE_LENGTH = 1024;
export const MAX_SCOPE_LENGTH = 1024;
export const MAX_CODE_CHALLENGE_LENGTH = 128;

/** Query parameters of an authorization request, read from the raw query string. */
export class AuthorizationQuery {
  readonly #parameters: URLSearchParams;

  constructor(url: string) {
    const question = url.indexOf('?');
    this.#parameters = new URLSearchParams(question < 0 ? '' : url.slice(question + 1));
  }

  /** Returns whether a parameter appears more than once, which RFC 6749 §3.1 forbids. */
  isRepeated(name: string): boolean {
    return this.#parameters.getAll(name).length > 1;
  }

  /** Returns the first repeated parameter name, if any. */
  firstRepeated(): string | undefined {
    const seen = new Set<string>();
    for (const name of this.#parameters.keys()) {
      if (seen.has(name)) return name;
      seen.add(name);
    }
    return undefined;
  }

  /** Returns the first parameter whose name or value contains a NUL character, if any. */
  firstWithNul(): string | undefined {
    for (const [name, value] of this.#parameters) {
      if (containsNul(name) || containsNul(value)) return name;
    }
    return undefined;
  }

  /** Returns a parameter's value. RFC 6749 §3.1 treats a parameter sent without a value as omitted. */
  get(name: string): string | undefined {
    const value = this.#parameters.get(name);
    return value === null || value === '' ? undefined : value;
  }

  /**
   * Returns the state to send back on a redirect: the value of a single, valid state parameter, else null. A
   * repeated state has no single value, and one too long or with a NUL character is rejected, not echoed.
   */
  returnableState(): string | null {
    const state = this.get('state');
    if (state === undefined || this.isRepeated('state')) return null;
    return state.length > MAX_STATE_LENGTH || containsNul(state) ? null : state;
  }
}

/** A client and redirect URI that passed the checks that must come before any redirect. */
export interface VerifiedTarget {
  readonly client: Client;
  readonly redirectUri: string;
  /** Whether redirect_uri was on the request, which makes it required at the token endpoint (RFC 6749 §4.1.3). */
  readonly redirectUriGiven: boolean;
}

const unregisteredApp = (): PageError => new PageError(
  400,
  'This app is not registered',
  'The link that brought you here names an app that Kiwiform does not know. Go back to the app and try connecting again, or contact its developer.',
);

/**
 * Verifies client_id and redirect_uri. Until both are known to be good, an error must not redirect anywhere
 * (RFC 6749 §4.1.2.1), so every failure here is a PageError shown in the browser.
 */
export async function verifyTarget(context: Context, query: AuthorizationQuery): Promise<VerifiedTarget> {
  if (query.isRepeated('client_id')) {
    throw new PageError(400, 'This link is not valid', 'The link names the app more than once (client_id is repeated). Go back to the app and try connecting again.');
  }
  if (query.isRepeated('redirect_uri')) {
    throw new PageError(400, 'This link is not valid', 'The link names more than one redirect address (redirect_uri is repeated). Go back to the app and try connecting again.');
  }
  for (const name of ['client_id', 'redirect_uri']) {
    if (containsNul(query.get(name) ?? '')) {
      throw new PageError(400, 'This link is not valid', `The link contains a character that is not allowed (${name} contains a NUL character). Go back to the app and try connecting again.`);
    }
  }
  const clientId = query.get('client_id');
  if (clientId === undefined) {
    throw new PageError(400, 'This link is not valid', 'The link does not say which app is asking for access (client_id is missing). Go back to the app and try connecting again.');
  }
  const client = await context.store.clients.findById(clientId);
  if (!client) throw unregisteredApp();

  const given = query.get('redirect_uri');
  let redirectUri: string;
  if (given !== undefined) {
    // RFC 6749 §3.1.2.3: a redirect_uri on the request must match a registered one, here as an exact string.
    if (!client.redirectUris.includes(given)) {
      throw new PageError(400, 'The redirect address is not registered for this app', `${client.name} asked to send you to an address that is not registered for it, so Kiwiform stopped here. Contact the app's developer.`);
    }
    redirectUri = given;
  } else if (client.redirectUris.length === 1 && client.redirectUris[0] !== undefined) {
    redirectUri = client.redirectUris[0];
  } else {
    throw new PageError(400, 'The redirect address is missing', `${client.name} has several registered redirect addresses and the link does not say which one to use (redirect_uri is missing). Contact the app's developer.`);
  }
  if (!URL.canParse(redirectUri)) {
    throw new PageError(400, 'The redirect address is not valid', `The redirect address registered for ${client.name} is not a valid URL. Contact the app's developer.`);
  }
  return { client, redirectUri, redirectUriGiven: given !== undefined };
}

/** The parts of a valid request that the pending authorization request stores. */
export interface CheckedParameters {
  readonly scope: string;
  readonly codeChallenge: string | null;
}

/**
 * Checks the remaining parameters once the redirect target is trusted. Throws an OAuthError with an RFC 6749
 * §4.1.2.1 code, which the caller sends back to the client on the redirect.
 */
export function checkParameters(query: AuthorizationQuery, client: Client): CheckedParameters {
  const repeated = query.firstRepeated();
  if (repeated !== undefined) throw invalidRequest(`The parameter ${printable(repeated)} is repeated; send it once.`);
  const withNul = query.firstWithNul();
  if (withNul !== undefined) throw invalidRequest(`The parameter ${printable(withNul)} contains a NUL character.`);
  checkLength(query, 'state', MAX_STATE_LENGTH);
  checkLength(query, 'scope', MAX_SCOPE_LENGTH);
  checkLength(query, 'code_challenge', MAX_CODE_CHALLENGE_LENGTH);

  const responseType = query.get('response_type');
  if (responseType === undefined) throw invalidRequest('The parameter response_type is missing; send response_type=code.');
  if (responseType !== 'code') {
    throw new OAuthError('unsupported_response_type', `The response type ${printable(responseType)} is not supported; use code.`);
  }

  const scope = checkScope(query.get('scope'), client);
  const codeChallenge = checkCodeChallenge(query, client);
  return { scope, codeChallenge };
}

function checkLength(query: AuthorizationQuery, name: string, maxLength: number): void {
  const length = query.get(name)?.length ?? 0;
  if (length > maxLength) throw invalidRequest(`The parameter ${name} is ${length} characters long; send at most ${maxLength}.`);
}

function checkScope(requested: string | undefined, client: Client): string {
  // RFC 6749 §3.3: without a scope parameter the server applies a default, here every scope of the client.
  if (requested === undefined) return formatScope(client.scopes);
  const scopes = parseScope(requested);
  if (scopes.length === 0) throw new OAuthError('invalid_scope', 'The scope parameter contains no scope.');
  const unknown = scopesOutside(scopes, client.scopes);
  if (unknown.length > 0) {
    throw new OAuthError('invalid_scope', `The scope ${printable(unknown[0] ?? '')} is unknown or not allowed for this client.`);
  }
  return formatScope(scopes);
}

function checkCodeChallenge(query: AuthorizationQuery, client: Client): string | null {
  const challenge = query.get('code_challenge');
  const method = query.get('code_challenge_method');
  if (challenge === undefined) {
    if (method !== undefined) throw invalidRequest('code_challenge_method was sent without code_challenge.');
    if (client.requirePkce) throw invalidRequest('This client must use PKCE: send code_challenge with code_challenge_method=S256.');
    return null;
  }
  // RFC 7636 §4.3: a missing method means plain, which this server does not accept.
  if (method === undefined) throw invalidRequest('code_challenge_method is missing, which means plain; send code_challenge_method=S256.');
  if (method !== 'S256') {
    throw invalidRequest(`The code challenge method ${printable(method)} is not supported; use S256.`);
  }
  if (!isWellFormedChallenge(challenge)) {
    throw invalidRequest('code_challenge must be the base64url SHA-256 of the verifier: 43 characters of A-Z, a-z, 0-9, - and _.');
  }
  return challenge;
}
