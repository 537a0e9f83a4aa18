import type pg from 'pg';
import type {
  CodeRecord, Connection, Grant, GrantAccess, GrantStore, NewCode, NewRefreshToken, RefreshTokenRecord,
} from '../types.js';
import { nullableNumber, toCodeRecord, toGrantAccess, toRefreshTokenRecord, type Row } from '../sqlite/rows.js';
import { CONSENT_MERGE, consentScopes } from './records.js';
import { transaction } from './rows.js';

/** Minimum time between two writes of a grant's last_used_at. */
const TOUCH_INTERVAL_MS = 60_000;

const SQL = {
  grantInsert: 'insert into grants (id, client_id, user_id, scope, created_at, revoked_at) values ($1, $2, $3, $4, $5, null)',
  grantTouch: 'update grants set last_used_at = $1 where id = $2 and (last_used_at is null or last_used_at < $3)',
  codeInsert: `insert into authorization_codes (hash, grant_id, redirect_uri, redirect_uri_given, code_challenge,
      created_at, expires_at, consumed_at) values ($1, $2, $3, $4, $5, $6, $7, null)`,
  // A concurrent redemption waits for this row's lock, then re-checks consumed_at against the committed row
  // and updates nothing, so the condition on consumed_at decides which redemption wins.
  codeConsume: `update authorization_codes set consumed_at = $1
      where hash = $2 and consumed_at is null and expires_at > $1
        and exists (select 1 from grants g where g.id = grant_id and g.revoked_at is null)`,
  refreshInsert: 'insert into refresh_tokens (hash, grant_id, created_at, rotated_at) values ($1, $2, $3, null)',
  // Like codeConsume, the condition on rotated_at decides which of concurrent rotations wins.
  refreshRetire: `update refresh_tokens set rotated_at = $1
      where hash = $2 and rotated_at is null
        and exists (select 1 from grants g where g.id = grant_id and g.revoked_at is null)`,
  grantAccess: `select g.id, g.client_id, g.user_id, g.revoked_at, u.email, u.name,
        exists (select 1 from access_token_revocations r where r.hash = $2) as token_revoked
      from grants g join users u on u.id = g.user_id where g.id = $1`,
} as const;

/**
 * Grants with their codes and tokens. Multi-row writes run in one transaction on one pooled connection.
 * A grant revoked while a redemption is in flight may still receive that redemption's tokens, but every read
 * checks the grant's revoked_at, so such tokens are never accepted.
 */
export class PostgresGrants implements GrantStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async createWithCode(grant: Grant, code: NewCode): Promise<void> {
    await transaction(this.#pool, (client) => insertWithCode(client, grant, code));
  }

  async createFromConsent(requestId: string, scopes: readonly string[], grant: Grant, code: NewCode): Promise<boolean> {
    return transaction(this.#pool, async (client) => {
      // A concurrent submission waits for this row's lock, then finds it deleted and deletes nothing.
      const deleted = await client.query('delete from authorization_requests where id = $1', [requestId]);
      if (deleted.rowCount !== 1) return false;
      await client.query(CONSENT_MERGE, [grant.userId, grant.clientId, consentScopes(scopes), grant.createdAt]);
      await insertWithCode(client, grant, code);
      return true;
    });
  }

  async findCode(hash: string): Promise<CodeRecord | undefined> {
    const { rows } = await this.#pool.query(
      `select c.*, g.client_id, g.user_id, g.scope, g.revoked_at as grant_revoked_at
         from authorization_codes c join grants g on g.id = c.grant_id where c.hash = $1`, [hash]);
    const row = rows[0] as Row | undefined;
    return row && toCodeRecord(row);
  }

  async redeemCode(hash: string, now: number, refresh: NewRefreshToken): Promise<boolean> {
    return transaction(this.#pool, async (client) => {
      if ((await client.query(SQL.codeConsume, [now, hash])).rowCount !== 1) return false;
      await client.query(SQL.refreshInsert, [refresh.hash, refresh.grantId, refresh.createdAt]);
      await client.query(SQL.grantTouch, [now, refresh.grantId, now - TOUCH_INTERVAL_MS]);
      return true;
    });
  }

  async findRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    const { rows } = await this.#pool.query(
      `select r.hash, r.grant_id, r.created_at, r.rotated_at, g.client_id, g.user_id, g.scope,
              g.revoked_at as grant_revoked_at, c.refresh_token_rotation as client_rotation
         from refresh_tokens r join grants g on g.id = r.grant_id join clients c on c.id = g.client_id
        where r.hash = $1`, [hash]);
    const row = rows[0] as Row | undefined;
    return row && toRefreshTokenRecord(row);
  }

  async rotateRefreshToken(hash: string, now: number, successor: NewRefreshToken): Promise<boolean> {
    return transaction(this.#pool, async (client) => {
      if ((await client.query(SQL.refreshRetire, [now, hash])).rowCount !== 1) return false;
      await client.query(SQL.refreshInsert, [successor.hash, successor.grantId, successor.createdAt]);
      return true;
    });
  }

  async findGrantAccess(grantId: string, accessTokenHash: string): Promise<GrantAccess | undefined> {
    const { rows } = await this.#pool.query(SQL.grantAccess, [grantId, accessTokenHash]);
    const row = rows[0] as Row | undefined;
    return row && toGrantAccess(row);
  }

  async revokeAccessToken(hash: string, grantId: string, expiresAt: number): Promise<void> {
    await this.#pool.query(
      'insert into access_token_revocations (hash, grant_id, expires_at) values ($1, $2, $3) on conflict (hash) do nothing',
      [hash, grantId, expiresAt]);
  }

  async revoke(grantId: string, now: number): Promise<void> {
    await this.#pool.query('update grants set revoked_at = $1 where id = $2 and revoked_at is null', [now, grantId]);
  }

  async revokeForUserAndClient(userId: string, clientId: string, now: number): Promise<number> {
    const result = await this.#pool.query(
      'update grants set revoked_at = $1 where user_id = $2 and client_id = $3 and revoked_at is null', [now, userId, clientId]);
    return result.rowCount ?? 0;
  }

  async touch(grantId: string, now: number): Promise<void> {
    await this.#pool.query(SQL.grantTouch, [now, grantId, now - TOUCH_INTERVAL_MS]);
  }

  async connections(userId: string): Promise<Connection[]> {
    // The "C" collation orders names bytewise, as SQLite does, whatever the database's locale.
    const { rows } = await this.#pool.query(
      `select g.client_id, c.name as client_name, string_agg(g.scope, ' ') as scopes,
              min(g.created_at) as first_authorized_at, max(g.last_used_at) as last_used_at
         from grants g join clients c on c.id = g.client_id
        where g.user_id = $1 and g.revoked_at is null
        group by g.client_id, c.name
        order by c.name collate "C", g.client_id collate "C"`, [userId]);
    return rows.map((row: Row) => ({
      clientId: row.client_id as string,
      clientName: row.client_name as string,
      scope: [...new Set(String(row.scopes).split(' ').filter(Boolean))].sort().join(' '),
      firstAuthorizedAt: Number(row.first_authorized_at),
      lastUsedAt: nullableNumber(row.last_used_at),
    }));
  }
}

async function insertWithCode(client: pg.PoolClient, grant: Grant, code: NewCode): Promise<void> {
  await client.query(SQL.grantInsert, [grant.id, grant.clientId, grant.userId, grant.scope, grant.createdAt]);
  await client.query(SQL.codeInsert, [code.hash, code.grantId, code.redirectUri, code.redirectUriGiven, code.codeChallenge,
    code.createdAt, code.expiresAt]);
}
