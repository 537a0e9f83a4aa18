import type { Context } from '../context.js';
import { orderedTimeOf, type KeyedHasher } from '../crypto/secrets.js';
import { encodeAccessToken } from './access-token.js';

/** Purpose strings of the keyed hashes under which each kind of credential is stored. */
export const PURPOSE = {
  accessToken: 'access-token',
  refreshToken: 'refresh-token',
  code: 'authorization-code',
  session: 'session',
} as const;

/**
 * Returns the key under which an authorization code or a refresh token is stored and looked up: its keyed
 * hash, preceded by the creation time that the credential carries in clear (see generateOrderedSecret). Keys
 * of credentials issued close together sort together, so storing and finding them touches the few index pages
 * that recent writes touched, instead of a random page each, which on a large table is seldom in the cache.
 * A credential without the time, as issued before it was added, keeps its keyed hash alone as its key.
 *
 * @param recurring whether the credential is presented again and again (a refresh token), so that the hash
 *   of a recent one is remembered (see KeyedHasher.hashRecurring)
 */
export function credentialKey(hasher: KeyedHasher, purpose: string, credential: string, recurring = false): string {
  const hashed = recurring ? hasher.hashRecurring(purpose, credential) : hasher.hash(purpose, credential);
  const time = orderedTimeOf(credential);
  return time === undefined ? hashed : time + hashed;
}

/** The successful token response of RFC 6749 §5.1. */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token: string;
  readonly scope: string;
}

/** Issues a self-contained access token for a grant; nothing is written to the database. */
export function newAccessToken(context: Context, grantId: string, scope: string, now: number): string {
  return encodeAccessToken(context.hasher, { grantId, scope, issuedAt: now, expiresAt: now + context.config.accessTokenTtl * 1000 });
}

export function tokenResponse(context: Context, access: string, refresh: string, scope: string): TokenResponse {
  return {
    access_token: access,
    token_type: 'Bearer',
    expires_in: context.config.accessTokenTtl,
    refresh_token: refresh,
    scope,
  };
}

/**
 * The result of a grant for the token endpoint: the response body and, apart from it, the ids the audit trail
 * and the log need. They are kept apart so that the endpoint sends the body as it is, without copying it.
 */
export interface Issued {
  readonly response: TokenResponse;
  readonly grantId: string;
  readonly userId: string;
  readonly clientId: string;
  /** Whether a new refresh token replaced the presented one. */
  readonly rotated: boolean;
}
