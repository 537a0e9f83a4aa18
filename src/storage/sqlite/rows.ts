import type { Client } from '../types.js';

/** A row as better-sqlite3 returns it. */
export type Row = Record<string, unknown>;

/** Whether an error is a violated primary key or unique constraint. */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof Error) || !('code' in error)) return false;
  return error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || error.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

export const nullableString = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

export const flag = (value: boolean | null): number | null => (value === null ? null : value ? 1 : 0);

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
