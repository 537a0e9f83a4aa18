import type Database from 'better-sqlite3';
import {
  DuplicateError, normalizeEmail, type AuthorizationRequest, type AuthorizationRequestStore, type Client, type ClientChanges,
  type ClientStore, type NewUser, type SecretKind, type Session, type SessionStore, type User, type UserStore,
} from '../types.js';
import { GenerationCache, type AccessGeneration } from './generation-cache.js';
import type { GroupCommit } from './group-commit.js';
import { flag, isUniqueViolation, nullableString, toClient, type Row } from './rows.js';

function toUser(row: Row): User {
  return {
    id: row.id as string,
    email: row.email as string,
    name: row.name as string,
    passwordHash: row.password_hash as string,
    createdAt: Number(row.created_at),
  };
}

export class SqliteUsers implements UserStore {
  readonly #insert;
  readonly #byId;
  readonly #byEmail;

  constructor(db: Database.Database) {
    this.#insert = db.prepare(
      'insert into users (id, email, email_normalized, name, password_hash, created_at) values (?, ?, ?, ?, ?, ?)');
    this.#byId = db.prepare('select * from users where id = ?');
    this.#byEmail = db.prepare('select * from users where email_normalized = ?');
  }

  async create(user: NewUser): Promise<void> {
    try {
      this.#insert.run(user.id, user.email, normalizeEmail(user.email), user.name, user.passwordHash, user.createdAt);
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError('email');
      throw error;
    }
  }

  async findById(id: string): Promise<User | undefined> {
    const row = this.#byId.get(id) as Row | undefined;
    return row && toUser(row);
  }

  async findByEmail(email: string): Promise<User | undefined> {
    const row = this.#byEmail.get(normalizeEmail(email)) as Row | undefined;
    return row && toUser(row);
  }
}

/** Freezes a client before it is cached, because every request that reads it shares the object. */
function frozenClient(client: Client): Client {
  Object.freeze(client.redirectUris);
  Object.freeze(client.scopes);
  if (client.previousSecret) Object.freeze(client.previousSecret);
  return Object.freeze(client);
}

export class SqliteClients implements ClientStore {
  readonly #db: Database.Database;
  readonly #insert;
  readonly #byId;
  readonly #list;
  readonly #count;
  readonly #rotate;
  readonly #delete;
  readonly #cache;
  readonly #generation;

  constructor(db: Database.Database, generation: AccessGeneration) {
    this.#db = db;
    this.#generation = generation;
    this.#cache = new GenerationCache<Client>(generation, false, 10_000);
    this.#insert = db.prepare(
      `insert into clients (id, name, secret_hash, secret_kind, redirect_uris, scopes, require_pkce,
        refresh_token_rotation, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#byId = db.prepare('select * from clients where id = ?');
    this.#list = db.prepare('select * from clients order by created_at, id');
    this.#count = db.prepare('select count(*) from clients').pluck();
    this.#rotate = db.prepare(
      `update clients set previous_secret_hash = case when ? is null then null else secret_hash end,
          previous_secret_kind = case when ? is null then null else secret_kind end,
          previous_secret_expires_at = ?, secret_hash = ?, secret_kind = ?
        where id = ?`);
    this.#delete = db.prepare('delete from clients where id = ?');
  }

  async create(client: Client): Promise<void> {
    try {
      this.#insert.run(
        client.id, client.name, client.secretHash, client.secretKind, JSON.stringify(client.redirectUris),
        JSON.stringify(client.scopes), client.requirePkce ? 1 : 0, flag(client.refreshTokenRotation), client.createdAt);
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError('client_id');
      throw error;
    } finally {
      this.#generation.forget();
    }
  }

  /** Clients are read on every token request and change rarely, so this process keeps them until one changes. */
  async findById(id: string): Promise<Client | undefined> {
    return this.#cache.get(id, () => {
      const row = this.#byId.get(id) as Row | undefined;
      return row && frozenClient(toClient(row));
    });
  }

  async list(): Promise<Client[]> {
    return (this.#list.all() as Row[]).map(toClient);
  }

  async count(): Promise<number> {
    return Number(this.#count.get());
  }

  async update(id: string, changes: ClientChanges): Promise<boolean> {
    const columns: string[] = [];
    const values: unknown[] = [];
    const set = (column: string, value: unknown) => {
      columns.push(`${column} = ?`);
      values.push(value);
    };
    if (changes.name !== undefined) set('name', changes.name);
    if (changes.redirectUris !== undefined) set('redirect_uris', JSON.stringify(changes.redirectUris));
    if (changes.scopes !== undefined) set('scopes', JSON.stringify(changes.scopes));
    if (changes.requirePkce !== undefined) set('require_pkce', changes.requirePkce ? 1 : 0);
    if (changes.refreshTokenRotation !== undefined) set('refresh_token_rotation', flag(changes.refreshTokenRotation));
    if (columns.length === 0) return (await this.findById(id)) !== undefined;
    const changed = this.#db.prepare(`update clients set ${columns.join(', ')} where id = ?`).run(...values, id).changes === 1;
    this.#generation.forget();
    return changed;
  }

  async rotateSecret(id: string, hash: string, kind: SecretKind, previousExpiresAt: number | null): Promise<boolean> {
    const changed = this.#rotate.run(previousExpiresAt, previousExpiresAt, previousExpiresAt, hash, kind, id).changes === 1;
    this.#generation.forget();
    return changed;
  }

  async delete(id: string): Promise<boolean> {
    const deleted = this.#delete.run(id).changes === 1;
    this.#generation.forget();
    return deleted;
  }
}

export class SqliteSessions implements SessionStore {
  readonly #insert;
  readonly #find;
  readonly #delete;
  readonly #writes;

  constructor(db: Database.Database, writes: GroupCommit) {
    this.#writes = writes;
    this.#insert = db.prepare('insert into sessions (id_hash, user_id, created_at, expires_at) values (?, ?, ?, ?)');
    this.#find = db.prepare('select * from sessions where id_hash = ? and expires_at > ?');
    this.#delete = db.prepare('delete from sessions where id_hash = ?');
  }

  async create(session: Session): Promise<void> {
    await this.#writes.run(() => this.#insert.run(session.idHash, session.userId, session.createdAt, session.expiresAt));
  }

  async find(idHash: string, now: number): Promise<Session | undefined> {
    const row = this.#find.get(idHash, now) as Row | undefined;
    if (!row) return undefined;
    return { idHash: row.id_hash as string, userId: row.user_id as string, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) };
  }

  async delete(idHash: string): Promise<void> {
    await this.#writes.run(() => this.#delete.run(idHash));
  }
}

export class SqliteRequests implements AuthorizationRequestStore {
  readonly #insert;
  readonly #find;
  readonly #delete;
  readonly #writes;

  constructor(db: Database.Database, writes: GroupCommit) {
    this.#writes = writes;
    this.#insert = db.prepare(
      `insert into authorization_requests (id, client_id, redirect_uri, redirect_uri_given, state, scope,
        code_challenge, created_at, expires_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#find = db.prepare('select * from authorization_requests where id = ? and expires_at > ?');
    this.#delete = db.prepare('delete from authorization_requests where id = ?');
  }

  async create(request: AuthorizationRequest): Promise<void> {
    await this.#writes.run(() => this.#insert.run(
      request.id, request.clientId, request.redirectUri, request.redirectUriGiven ? 1 : 0, request.state,
      request.scope, request.codeChallenge, request.createdAt, request.expiresAt));
  }

  async find(id: string, now: number): Promise<AuthorizationRequest | undefined> {
    const row = this.#find.get(id, now) as Row | undefined;
    if (!row) return undefined;
    return {
      id: row.id as string,
      clientId: row.client_id as string,
      redirectUri: row.redirect_uri as string,
      redirectUriGiven: Boolean(row.redirect_uri_given),
      state: nullableString(row.state),
      scope: row.scope as string,
      codeChallenge: nullableString(row.code_challenge),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    };
  }

  async consume(id: string): Promise<boolean> {
    // Writes of a batch run one after another, so of two concurrent consumptions only the first deletes.
    return this.#writes.run(() => this.deleteNow(id));
  }

  /** Deletes a request straight away; for a write that runs inside a batch of the group commit. */
  deleteNow(id: string): boolean {
    return this.#delete.run(id).changes === 1;
  }
}
