import type { Context } from '../context.js';
import { encodeAccessToken } from './access-token.js';

/** Purpose strings of the keyed hashes under which each kind of credential is stored. */
export const PURPOSE = {
  accessToken: 'access-token',
  refreshToken: 'refresh-token',
  code: 'authorization-code',
  session: 'session',
} as const;

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
