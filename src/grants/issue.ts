import { PREFIX, generateSecret } from '../crypto/secrets.js';
import type { Context } from '../context.js';
import type { NewAccessToken } from '../storage/types.js';

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

/** Creates a new access token for a grant: the value to hand out and the row to store. */
export function newAccessToken(context: Context, grantId: string, scope: string, now: number) {
  const value = generateSecret(PREFIX.accessToken);
  const row: NewAccessToken = {
    hash: context.hasher.hash(PURPOSE.accessToken, value),
    grantId,
    scope,
    createdAt: now,
    expiresAt: now + context.config.accessTokenTtl * 1000,
  };
  return { value, row };
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
