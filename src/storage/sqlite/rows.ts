import type { Client, CodeRecord, GrantAccess, RefreshTokenRecord } from '../types.js';

/** A row as better-sqlite3 or pg returns it; the mappers below serve both stores. */
export type Row = Record<string, unknown>;

/** Reports whether an error is a violated primary key or unique constraint. */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof Error) || !('code' in error)) return false;
  return error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || error.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

export const nullableString = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

/** Converts an optional boolean to SQLite's 1, 0 or null. */
export function flag(value: boolean | null): number | null {
  if (value === null) return null;
  return value ? 1 : 0;
}

export function toClient(row: Row): Client {
  const rotation = row.refresh_token_rotation;
  const previousExpiresAt = nullableNumber(row.previous_secret_expires_at);
  return {
    id: row.id as string,
    name: row.name as string,
    secretHash: row.secret_hash as string,
    secretKind: row.secret_kind as Client['secretKind'],
    redirectUris: JSON.parse(row.redirect_uris as string) as string[],
    scopes: JSON.parse(row.scopes as string) as string[],
    requirePkce: Boolean(row.require_pkce),
    refreshTokenRotation: rotation === null || rotation === undefined ? null : Boolean(rotation),
    createdAt: Number(row.created_at),
    previousSecret:
      row.previous_secret_hash && previousExpiresAt !== null
        ? { hash: row.previous_secret_hash as string, kind: row.previous_secret_kind as Client['secretKind'], expiresAt: previousExpiresAt }
        : undefined,
  };
}

/** Maps an authorization code row, joined with its grant, to a CodeRecord. */
export function toCodeRecord(row: Row): CodeRecord {
  return {
    hash: row.hash as string,
    grantId: row.grant_id as string,
    clientId: row.client_id as string,
    userId: row.user_id as string,
    scope: row.scope as string,
    redirectUri: row.redirect_uri as string,
    redirectUriGiven: Boolean(row.redirect_uri_given),
    codeChallenge: nullableString(row.code_challenge),
    expiresAt: Number(row.expires_at),
    consumedAt: nullableNumber(row.consumed_at),
    grantRevokedAt: nullableNumber(row.grant_revoked_at),
  };
}

/** Maps a refresh token row, joined with its grant and client, to a RefreshTokenRecord. */
export function toRefreshTokenRecord(row: Row): RefreshTokenRecord {
  const rotation = row.client_rotation;
  return {
    hash: row.hash as string,
    grantId: row.grant_id as string,
    clientId: row.client_id as string,
    userId: row.user_id as string,
    scope: row.scope as string,
    createdAt: Number(row.created_at),
    rotatedAt: nullableNumber(row.rotated_at),
    clientRotation: rotation === null || rotation === undefined ? null : Boolean(rotation),
    grantRevokedAt: nullableNumber(row.grant_revoked_at),
  };
}

/** Maps a grant row, joined with its user and the token's revocation flag, to a GrantAccess. */
export function toGrantAccess(row: Row): GrantAccess {
  return {
    grantId: row.id as string,
    clientId: row.client_id as string,
    userId: row.user_id as string,
    userEmail: row.email as string,
    userName: row.name as string,
    revokedAt: nullableNumber(row.revoked_at),
    tokenRevoked: Boolean(row.token_revoked),
  };
}
