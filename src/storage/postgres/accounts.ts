import type pg from 'pg';
import {
  DuplicateError, normalizeEmail, type AuthorizationRequest, type AuthorizationRequestStore, type Client, type ClientChanges,
  type ClientStore, type NewUser, type SecretKind, type Session, type SessionStore, type User, type UserStore,
} from '../types.js';
import { nullableString, toClient, type Row } from '../sqlite/rows.js';
import { isUniqueViolation } from './rows.js';

function toUser(row: Row): User {
  return {
    id: row.id as string,
    email: row.email as string,
    name: row.name as string,
    passwordHash: row.password_hash as string,
    createdAt: Number(row.created_at),
  };
}

export class PostgresUsers implements UserStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async create(user: NewUser): Promise<void> {
    try {
      await this.#pool.query(
        'insert into users (id, email, email_normalized, name, password_hash, created_at) values ($1, $2, $3, $4, $5, $6)',
        [user.id, user.email, normalizeEmail(user.email), user.name, user.passwordHash, user.createdAt]);
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError('email');
      throw error;
    }
  }

  async findById(id: string): Promise<User | undefined> {
    const { rows } = await this.#pool.query('select * from users where id = $1', [id]);
    return rows[0] && toUser(rows[0]);
  }

  async findByEmail(email: string): Promise<User | undefined> {
    const { rows } = await this.#pool.query('select * from users where email_normalized = $1', [normalizeEmail(email)]);
    return rows[0] && toUser(rows[0]);
  }
}

export class PostgresClients implements ClientStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async create(client: Client): Promise<void> {
    try {
      await this.#pool.query(
        `insert into clients (id, name, secret_hash, secret_kind, redirect_uris, scopes, require_pkce,
          refresh_token_rotation, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [client.id, client.name, client.secretHash, client.secretKind, JSON.stringify(client.redirectUris),
          JSON.stringify(client.scopes), client.requirePkce, client.refreshTokenRotation, client.createdAt]);
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError('client_id');
      throw error;
    }
  }

  async findById(id: string): Promise<Client | undefined> {
    const { rows } = await this.#pool.query('select * from clients where id = $1', [id]);
    return rows[0] && toClient(rows[0]);
  }

  async list(): Promise<Client[]> {
    // The "C" collation orders ids bytewise, as SQLite does, whatever the database's locale.
    const { rows } = await this.#pool.query('select * from clients order by created_at, id collate "C"');
    return rows.map(toClient);
  }

  async count(): Promise<number> {
    const { rows } = await this.#pool.query<{ count: number }>('select count(*) as count from clients');
    return Number(rows[0]?.count ?? 0);
  }

  async update(id: string, changes: ClientChanges): Promise<boolean> {
    const columns: string[] = [];
    const values: unknown[] = [];
    const set = (column: string, value: unknown) => {
      values.push(value);
      columns.push(`${column} = $${values.length}`);
    };
    if (changes.name !== undefined) set('name', changes.name);
    if (changes.redirectUris !== undefined) set('redirect_uris', JSON.stringify(changes.redirectUris));
    if (changes.scopes !== undefined) set('scopes', JSON.stringify(changes.scopes));
    if (changes.requirePkce !== undefined) set('require_pkce', changes.requirePkce);
    if (changes.refreshTokenRotation !== undefined) set('refresh_token_rotation', changes.refreshTokenRotation);
    if (columns.length === 0) return (await this.findById(id)) !== undefined;
    values.push(id);
    const result = await this.#pool.query(`update clients set ${columns.join(', ')} where id = $${values.length}`, values);
    return result.rowCount === 1;
  }

  async rotateSecret(id: string, hash: string, kind: SecretKind, previousExpiresAt: number | null): Promise<boolean> {
    // Every right-hand side reads the row as it was before the update, so the old secret moves to previous_*.
    const result = await this.#pool.query(
      `update clients set previous_secret_hash = case when $1::bigint is null then null else secret_hash end,
          previous_secret_kind = case when $1::bigint is null then null else secret_kind end,
          previous_secret_expires_at = $1, secret_hash = $2, secret_kind = $3
        where id = $4`,
      [previousExpiresAt, hash, kind, id]);
    return result.rowCount === 1;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.#pool.query('delete from clients where id = $1', [id])).rowCount === 1;
  }
}

export class PostgresSessions implements SessionStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async create(session: Session): Promise<void> {
    await this.#pool.query('insert into sessions (id_hash, user_id, created_at, expires_at) values ($1, $2, $3, $4)',
      [session.idHash, session.userId, session.createdAt, session.expiresAt]);
  }

  async find(idHash: string, now: number): Promise<Session | undefined> {
    const { rows } = await this.#pool.query('select * from sessions where id_hash = $1 and expires_at > $2', [idHash, now]);
    const row = rows[0] as Row | undefined;
    if (!row) return undefined;
    return { idHash: row.id_hash as string, userId: row.user_id as string, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) };
  }

  async delete(idHash: string): Promise<void> {
    await this.#pool.query('delete from sessions where id_hash = $1', [idHash]);
  }
}

export class PostgresRequests implements AuthorizationRequestStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async create(request: AuthorizationRequest): Promise<void> {
    await this.#pool.query(
      `insert into authorization_requests (id, client_id, redirect_uri, redirect_uri_given, state, scope,
        code_challenge, created_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [request.id, request.clientId, request.redirectUri, request.redirectUriGiven, request.state, request.scope,
        request.codeChallenge, request.createdAt, request.expiresAt]);
  }

  async find(id: string, now: number): Promise<AuthorizationRequest | undefined> {
    const { rows } = await this.#pool.query('select * from authorization_requests where id = $1 and expires_at > $2', [id, now]);
    const row = rows[0] as Row | undefined;
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
    return (await this.#pool.query('delete from authorization_requests where id = $1', [id])).rowCount === 1;
  }
}
