import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import {
  DuplicateError, type AccessTokenRecord, type AuthorizationRequest, type Client, type CodeRecord, type Grant,
  type NewAccessToken, type NewCode, type NewRefreshToken, type NewUser, type RefreshTokenRecord, type Session,
  type Store, type User,
} from '../types.js';
import { MIGRATIONS } from './migrations.js';

type Row = Record<string, unknown>;

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && 'code' in error && String(error.code).startsWith('SQLITE_CONSTRAINT_PRIMARYKEY')
    || error instanceof Error && 'code' in error && error.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

function toUser(row: Row): User {
  return {
    id: row.id as string,
    email: row.email as string,
    name: row.name as string,
    passwordHash: row.password_hash as string,
    createdAt: Number(row.created_at),
  };
}

function toClient(row: Row): Client {
  const rotation = row.refresh_token_rotation;
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
  };
}

const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/**
 * The embedded store: one SQLite file in WAL mode, every statement prepared once at start-up, and every
 * multi-row write inside an explicit transaction.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly description: string;
  readonly #db: Database.Database;

  constructor(path: string) {
    const file = resolve(path);
    mkdirSync(dirname(file), { recursive: true });
    this.description = `sqlite:${file}`;
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
  }

  /** Applies pending migrations in one immediate transaction, so concurrent processes migrate once. */
  async migrate(): Promise<number[]> {
    const db = this.#db;
    db.exec('create table if not exists schema_migrations (version integer primary key, applied_at bigint not null)');
    const apply = db.transaction(() => {
      const done = new Set(db.prepare('select version from schema_migrations').pluck().all() as number[]);
      const applied: number[] = [];
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue;
        db.exec(migration.sql);
        db.prepare('insert into schema_migrations (version, applied_at) values (?, ?)').run(migration.version, Date.now());
        applied.push(migration.version);
      }
      return applied;
    });
    const applied = apply.immediate();
    this.#prepare();
    return applied;
  }

  async storedHashKey(): Promise<Buffer> {
    const insert = this.#db.prepare('insert or ignore into server_keys (name, value, created_at) values (?, ?, ?)');
    insert.run('token_hash', randomBytes(32).toString('base64url'), Date.now());
    const value = this.#db.prepare('select value from server_keys where name = ?').pluck().get('token_hash') as string;
    return Buffer.from(value, 'base64url');
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #statements: ReturnType<SqliteStore['prepareAll']> | undefined;

  #prepare(): void {
    this.#statements = this.prepareAll();
  }

  get #q(): ReturnType<SqliteStore['prepareAll']> {
    if (!this.#statements) throw new Error('SqliteStore used before migrate()');
    return this.#statements;
  }

  private prepareAll() {
    const db = this.#db;
    return {
      userInsert: db.prepare(
        'insert into users (id, email, email_normalized, name, password_hash, created_at) values (?, ?, ?, ?, ?, ?)'),
      userById: db.prepare('select * from users where id = ?'),
      userByEmail: db.prepare('select * from users where email_normalized = ?'),
      clientInsert: db.prepare(
        `insert into clients (id, name, secret_hash, secret_kind, redirect_uris, scopes, require_pkce,
          refresh_token_rotation, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      clientById: db.prepare('select * from clients where id = ?'),
      clientList: db.prepare('select * from clients order by created_at, id'),
      clientCount: db.prepare('select count(*) from clients').pluck(),
      sessionInsert: db.prepare('insert into sessions (id_hash, user_id, created_at, expires_at) values (?, ?, ?, ?)'),
      sessionFind: db.prepare('select * from sessions where id_hash = ? and expires_at > ?'),
      sessionDelete: db.prepare('delete from sessions where id_hash = ?'),
      requestInsert: db.prepare(
        `insert into authorization_requests (id, client_id, redirect_uri, redirect_uri_given, state, scope,
          code_challenge, created_at, expires_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      requestFind: db.prepare('select * from authorization_requests where id = ? and expires_at > ?'),
      requestDelete: db.prepare('delete from authorization_requests where id = ?'),
      grantInsert: db.prepare(
        'insert into grants (id, client_id, user_id, scope, created_at, revoked_at) values (?, ?, ?, ?, ?, null)'),
      grantRevoke: db.prepare('update grants set revoked_at = ? where id = ? and revoked_at is null'),
      codeInsert: db.prepare(
        `insert into authorization_codes (hash, grant_id, redirect_uri, redirect_uri_given, code_challenge,
          created_at, expires_at, consumed_at) values (?, ?, ?, ?, ?, ?, ?, null)`),
      codeFind: db.prepare(
        `select c.*, g.client_id, g.user_id, g.scope, g.revoked_at as grant_revoked_at
           from authorization_codes c join grants g on g.id = c.grant_id where c.hash = ?`),
      // The condition on consumed_at makes the update the arbiter between concurrent redemptions.
      codeConsume: db.prepare(
        `update authorization_codes set consumed_at = ?
          where hash = ? and consumed_at is null and expires_at > ?
            and exists (select 1 from grants g where g.id = grant_id and g.revoked_at is null)`),
      accessInsert: db.prepare(
        'insert into access_tokens (hash, grant_id, scope, created_at, expires_at) values (?, ?, ?, ?, ?)'),
      accessInsertIfLive: db.prepare(
        `insert into access_tokens (hash, grant_id, scope, created_at, expires_at)
         select ?, id, ?, ?, ? from grants where id = ? and revoked_at is null`),
      accessFind: db.prepare(
        `select a.grant_id, a.scope, a.expires_at, g.client_id, g.user_id
           from access_tokens a join grants g on g.id = a.grant_id
          where a.hash = ? and a.expires_at > ? and g.revoked_at is null`),
      refreshInsert: db.prepare('insert into refresh_tokens (hash, grant_id, created_at) values (?, ?, ?)'),
      refreshFind: db.prepare(
        `select r.hash, r.grant_id, r.created_at, g.client_id, g.user_id, g.scope, g.revoked_at as grant_revoked_at
           from refresh_tokens r join grants g on g.id = r.grant_id where r.hash = ?`),
    };
  }

  readonly users = {
    create: async (user: NewUser): Promise<void> => {
      try {
        this.#q.userInsert.run(user.id, user.email, user.email.toLowerCase(), user.name, user.passwordHash, user.createdAt);
      } catch (error) {
        if (isUniqueViolation(error)) throw new DuplicateError('email');
        throw error;
      }
    },
    findById: async (id: string): Promise<User | undefined> => {
      const row = this.#q.userById.get(id) as Row | undefined;
      return row && toUser(row);
    },
    findByEmail: async (email: string): Promise<User | undefined> => {
      const row = this.#q.userByEmail.get(email.toLowerCase()) as Row | undefined;
      return row && toUser(row);
    },
  };

  readonly clients = {
    create: async (client: Client): Promise<void> => {
      try {
        this.#q.clientInsert.run(
          client.id, client.name, client.secretHash, client.secretKind, JSON.stringify(client.redirectUris),
          JSON.stringify(client.scopes), client.requirePkce ? 1 : 0,
          client.refreshTokenRotation === null ? null : client.refreshTokenRotation ? 1 : 0, client.createdAt);
      } catch (error) {
        if (isUniqueViolation(error)) throw new DuplicateError('client_id');
        throw error;
      }
    },
    findById: async (id: string): Promise<Client | undefined> => {
      const row = this.#q.clientById.get(id) as Row | undefined;
      return row && toClient(row);
    },
    list: async (): Promise<Client[]> => (this.#q.clientList.all() as Row[]).map(toClient),
    count: async (): Promise<number> => Number(this.#q.clientCount.get()),
  };

  readonly sessions = {
    create: async (session: Session): Promise<void> => {
      this.#q.sessionInsert.run(session.idHash, session.userId, session.createdAt, session.expiresAt);
    },
    find: async (idHash: string, now: number): Promise<Session | undefined> => {
      const row = this.#q.sessionFind.get(idHash, now) as Row | undefined;
      if (!row) return undefined;
      return {
        idHash: row.id_hash as string,
        userId: row.user_id as string,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      };
    },
    delete: async (idHash: string): Promise<void> => {
      this.#q.sessionDelete.run(idHash);
    },
  };

  readonly requests = {
    create: async (request: AuthorizationRequest): Promise<void> => {
      this.#q.requestInsert.run(
        request.id, request.clientId, request.redirectUri, request.redirectUriGiven ? 1 : 0, request.state,
        request.scope, request.codeChallenge, request.createdAt, request.expiresAt);
    },
    find: async (id: string, now: number): Promise<AuthorizationRequest | undefined> => {
      const row = this.#q.requestFind.get(id, now) as Row | undefined;
      if (!row) return undefined;
      return {
        id: row.id as string,
        clientId: row.client_id as string,
        redirectUri: row.redirect_uri as string,
        redirectUriGiven: Boolean(row.redirect_uri_given),
        state: (row.state as string | null) ?? null,
        scope: row.scope as string,
        codeChallenge: (row.code_challenge as string | null) ?? null,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      };
    },
    consume: async (id: string): Promise<boolean> => this.#q.requestDelete.run(id).changes === 1,
  };

  readonly grants = {
    createWithCode: async (grant: Grant, code: NewCode): Promise<void> => {
      const q = this.#q;
      this.#db.transaction(() => {
        q.grantInsert.run(grant.id, grant.clientId, grant.userId, grant.scope, grant.createdAt);
        q.codeInsert.run(code.hash, code.grantId, code.redirectUri, code.redirectUriGiven ? 1 : 0, code.codeChallenge,
          code.createdAt, code.expiresAt);
      })();
    },
    findCode: async (hash: string): Promise<CodeRecord | undefined> => {
      const row = this.#q.codeFind.get(hash) as Row | undefined;
      if (!row) return undefined;
      return {
        hash: row.hash as string,
        grantId: row.grant_id as string,
        clientId: row.client_id as string,
        userId: row.user_id as string,
        scope: row.scope as string,
        redirectUri: row.redirect_uri as string,
        redirectUriGiven: Boolean(row.redirect_uri_given),
        codeChallenge: (row.code_challenge as string | null) ?? null,
        expiresAt: Number(row.expires_at),
        consumedAt: nullableNumber(row.consumed_at),
        grantRevokedAt: nullableNumber(row.grant_revoked_at),
      };
    },
    redeemCode: async (hash: string, now: number, access: NewAccessToken, refresh: NewRefreshToken): Promise<boolean> => {
      const q = this.#q;
      return this.#db.transaction(() => {
        if (q.codeConsume.run(now, hash, now).changes !== 1) return false;
        q.accessInsert.run(access.hash, access.grantId, access.scope, access.createdAt, access.expiresAt);
        q.refreshInsert.run(refresh.hash, refresh.grantId, refresh.createdAt);
        return true;
      }).immediate();
    },
    findRefreshToken: async (hash: string): Promise<RefreshTokenRecord | undefined> => {
      const row = this.#q.refreshFind.get(hash) as Row | undefined;
      if (!row) return undefined;
      return {
        hash: row.hash as string,
        grantId: row.grant_id as string,
        clientId: row.client_id as string,
        userId: row.user_id as string,
        scope: row.scope as string,
        createdAt: Number(row.created_at),
        grantRevokedAt: nullableNumber(row.grant_revoked_at),
      };
    },
    issueAccessToken: async (access: NewAccessToken): Promise<boolean> =>
      this.#q.accessInsertIfLive.run(access.hash, access.scope, access.createdAt, access.expiresAt, access.grantId)
        .changes === 1,
    findAccessToken: async (hash: string, now: number): Promise<AccessTokenRecord | undefined> => {
      const row = this.#q.accessFind.get(hash, now) as Row | undefined;
      if (!row) return undefined;
      return {
        grantId: row.grant_id as string,
        clientId: row.client_id as string,
        userId: row.user_id as string,
        scope: row.scope as string,
        expiresAt: Number(row.expires_at),
      };
    },
    revoke: async (grantId: string, now: number): Promise<void> => {
      this.#q.grantRevoke.run(now, grantId);
    },
  };
}
