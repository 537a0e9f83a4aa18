import type Database from 'better-sqlite3';
import type {
  CodeRecord, Connection, Grant, GrantAccess, GrantStore, NewCode, NewRefreshToken, RefreshTokenRecord,
} from '../types.js';
import { GenerationCache, type AccessGeneration } from './generation-cache.js';
import type { SqliteRequests } from './accounts.js';
import type { GroupCommit } from './group-commit.js';
import type { SqliteConsents } from './records.js';
import { nullableNumber, toCodeRecord, toGrantAccess, toRefreshTokenRecord, type Row } from './rows.js';

/** Minimum time between two writes of a grant's last_used_at. */
const TOUCH_INTERVAL_MS = 60_000;

/** Grants with their codes and tokens. Statements are prepared once; multi-row writes are transactions. */
export class SqliteGrants implements GrantStore {
  readonly #db: Database.Database;
  readonly #q;
  readonly #access;
  readonly #refreshTokens;
  readonly #writes;
  readonly #requests;
  readonly #consents;

  constructor(
    db: Database.Database,
    generation: AccessGeneration,
    writes: GroupCommit,
    answered: { readonly requests: SqliteRequests; readonly consents: SqliteConsents },
  ) {
    this.#db = db;
    this.#writes = writes;
    this.#requests = answered.requests;
    this.#consents = answered.consents;
    this.#access = new GenerationCache<GrantAccess>(generation, false);
    this.#refreshTokens = new GenerationCache<RefreshTokenRecord>(generation, true);
    this.#q = {
      grantInsert: db.prepare(
        'insert into grants (id, client_id, user_id, scope, created_at, revoked_at) values (?, ?, ?, ?, ?, null)'),
      grantRevoke: db.prepare('update grants set revoked_at = ? where id = ? and revoked_at is null'),
      grantRevokeForUserAndClient: db.prepare(
        'update grants set revoked_at = ? where user_id = ? and client_id = ? and revoked_at is null'),
      grantTouch: db.prepare(
        'update grants set last_used_at = ? where id = ? and (last_used_at is null or last_used_at < ?)'),
      codeInsert: db.prepare(
        `insert into authorization_codes (hash, grant_id, redirect_uri, redirect_uri_given, code_challenge,
          created_at, expires_at, consumed_at) values (?, ?, ?, ?, ?, ?, ?, null)`),
      codeFind: db.prepare(
        `select c.*, g.client_id, g.user_id, g.scope, g.revoked_at as grant_revoked_at
           from authorization_codes c join grants g on g.id = c.grant_id where c.hash = ?`),
      // The condition on consumed_at makes this update the arbiter between concurrent redemptions.
      codeConsume: db.prepare(
        `update authorization_codes set consumed_at = ?
          where hash = ? and consumed_at is null and expires_at > ?
            and exists (select 1 from grants g where g.id = grant_id and g.revoked_at is null)`),
      grantAccess: db.prepare(
        `select g.id, g.client_id, g.user_id, g.revoked_at, u.email, u.name,
                exists (select 1 from access_token_revocations r where r.hash = ?) as token_revoked
           from grants g join users u on u.id = g.user_id where g.id = ?`),
      accessRevoke: db.prepare(
        'insert or ignore into access_token_revocations (hash, grant_id, expires_at) values (?, ?, ?)'),
      refreshInsert: db.prepare('insert into refresh_tokens (hash, grant_id, created_at, rotated_at) values (?, ?, ?, null)'),
      refreshFind: db.prepare(
        `select r.hash, r.grant_id, r.created_at, r.rotated_at, g.client_id, g.user_id, g.scope,
                g.revoked_at as grant_revoked_at, c.refresh_token_rotation as client_rotation
           from refresh_tokens r join grants g on g.id = r.grant_id join clients c on c.id = g.client_id
          where r.hash = ?`),
      // Like codeConsume, the condition on rotated_at decides which of concurrent rotations wins.
      refreshRetire: db.prepare(
        `update refresh_tokens set rotated_at = ?
          where hash = ? and rotated_at is null
            and exists (select 1 from grants g where g.id = grant_id and g.revoked_at is null)`),
      connections: db.prepare(
        `select g.client_id, c.name as client_name, group_concat(g.scope, ' ') as scopes,
                min(g.created_at) as first_authorized_at, max(g.last_used_at) as last_used_at
           from grants g join clients c on c.id = g.client_id
          where g.user_id = ? and g.revoked_at is null
          group by g.client_id, c.name
          order by c.name, g.client_id`),
    };
  }

  async createWithCode(grant: Grant, code: NewCode): Promise<void> {
    await this.#writes.run(() => this.#insertWithCode(grant, code));
  }

  async createFromConsent(requestId: string, scopes: readonly string[], grant: Grant, code: NewCode): Promise<boolean> {
    // One write of a batch: should a later statement fail, the batch rolls the request's deletion back too.
    return this.#writes.run(() => {
      if (!this.#requests.deleteNow(requestId)) return false;
      this.#consents.rememberNow(grant.userId, grant.clientId, scopes, grant.createdAt);
      this.#insertWithCode(grant, code);
      return true;
    });
  }

  #insertWithCode(grant: Grant, code: NewCode): void {
    const q = this.#q;
    q.grantInsert.run(grant.id, grant.clientId, grant.userId, grant.scope, grant.createdAt);
    q.codeInsert.run(code.hash, code.grantId, code.redirectUri, code.redirectUriGiven ? 1 : 0, code.codeChallenge,
      code.createdAt, code.expiresAt);
  }

  async findCode(hash: string): Promise<CodeRecord | undefined> {
    const row = this.#q.codeFind.get(hash) as Row | undefined;
    return row && toCodeRecord(row);
  }

  async redeemCode(hash: string, now: number, refresh: NewRefreshToken): Promise<boolean> {
    const q = this.#q;
    return this.#writes.run(() => {
      if (q.codeConsume.run(now, hash, now).changes !== 1) return false;
      q.refreshInsert.run(refresh.hash, refresh.grantId, refresh.createdAt);
      q.grantTouch.run(now, refresh.grantId, now - TOUCH_INTERVAL_MS);
      return true;
    });
  }

  /**
   * Read on every refresh. A record can only change when its token is retired or deleted, its grant revoked or
   * its client changed, each of which moves a generation, so this process returns the kept record until one moves.
   */
  async findRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    return this.#refreshTokens.get(hash, () => {
      const row = this.#q.refreshFind.get(hash) as Row | undefined;
      return row && Object.freeze(toRefreshTokenRecord(row));
    });
  }

  async rotateRefreshToken(hash: string, now: number, successor: NewRefreshToken): Promise<boolean> {
    const q = this.#q;
    return this.#writes.run(() => {
      if (q.refreshRetire.run(now, hash).changes !== 1) return false;
      q.refreshInsert.run(successor.hash, successor.grantId, successor.createdAt);
      return true;
    });
  }

  /**
   * Checked on every bearer request. The result can only change with a revocation, a user change or a client
   * change, each of which moves the access generation, so this process returns the kept result until it moves.
   */
  async findGrantAccess(grantId: string, accessTokenHash: string): Promise<GrantAccess | undefined> {
    return this.#access.get(`${grantId}\0${accessTokenHash}`, () => {
      const row = this.#q.grantAccess.get(accessTokenHash, grantId) as Row | undefined;
      return row && Object.freeze(toGrantAccess(row));
    });
  }

  // Revocations go through the batched writes too, which drop the reading of the counters after the commit,
  // so the next request of this process reads the revocation.
  async revokeAccessToken(hash: string, grantId: string, expiresAt: number): Promise<void> {
    await this.#writes.run(() => this.#q.accessRevoke.run(hash, grantId, expiresAt));
  }

  async revoke(grantId: string, now: number): Promise<void> {
    await this.#writes.run(() => this.#q.grantRevoke.run(now, grantId));
  }

  async revokeForUserAndClient(userId: string, clientId: string, now: number): Promise<number> {
    return this.#writes.run(() => this.#q.grantRevokeForUserAndClient.run(now, userId, clientId).changes);
  }

  async touch(grantId: string, now: number): Promise<void> {
    await this.#writes.run(() => this.#q.grantTouch.run(now, grantId, now - TOUCH_INTERVAL_MS));
  }

  async connections(userId: string): Promise<Connection[]> {
    return (this.#q.connections.all(userId) as Row[]).map((row) => ({
      clientId: row.client_id as string,
      clientName: row.client_name as string,
      scope: [...new Set(String(row.scopes).split(' ').filter(Boolean))].sort().join(' '),
      firstAuthorizedAt: Number(row.first_authorized_at),
      lastUsedAt: nullableNumber(row.last_used_at),
    }));
  }
}
