import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PurgeResult, Store } from '../types.js';
import { PostgresClients, PostgresRequests, PostgresSessions, PostgresUsers } from './accounts.js';
import { PostgresGrants } from './grants.js';
import { applyMigrations } from './migrations.js';
import { PostgresAudit, PostgresConsents } from './records.js';

export interface PostgresOptions {
  /** Maximum number of pooled connections. */
  readonly poolSize: number;
  /** Seconds to wait for a connection, and for a statement before the server cancels it. */
  readonly timeout: number;
  /** Receives errors of idle pooled connections, such as a server restart. The pool drops such a connection. */
  readonly onIdleError?: (error: Error) => void;
}

/** Strips credentials and query parameters (which may carry a password) from a connection URL. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

function createPool(url: string, options: PostgresOptions): pg.Pool {
  // int8 arrives as a string by default. Times in milliseconds and counts stay far below 2^53, so a Number is
  // exact. The override is per pool, leaving pg's global parsers alone.
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
  const timeoutMs = options.timeout * 1000;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    connectionTimeoutMillis: timeoutMs,
    // The server cancels a statement after statement_timeout (SQLSTATE 57014) and the connection stays usable.
    // The client-side query_timeout, a second later, only fires when the server or network stops responding.
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs + 1000,
    application_name: 'kiwiform',
    keepAlive: true,
    types,
  });
  pool.on('error', options.onIdleError ?? ((error) => {
    process.emitWarning(`an idle PostgreSQL connection failed and was dropped from the pool: ${error.message}`);
  }));
  return pool;
}

/**
 * The networked store: a pg connection pool, every statement parameterized, and every multi-row write inside
 * one transaction on one pooled connection. Open it with `PostgresStore.open`, which applies pending migrations.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly description: string;
  readonly users;
  readonly clients;
  readonly sessions;
  readonly requests;
  readonly grants;
  readonly consents;
  readonly audit;
  readonly #pool: pg.Pool;
  readonly #applied: number[];
  #closing: Promise<void> | undefined;

  private constructor(pool: pg.Pool, description: string, applied: number[]) {
    this.#pool = pool;
    this.description = description;
    this.#applied = applied;
    this.users = new PostgresUsers(pool);
    this.clients = new PostgresClients(pool);
    this.sessions = new PostgresSessions(pool);
    this.requests = new PostgresRequests(pool);
    this.grants = new PostgresGrants(pool);
    this.consents = new PostgresConsents(pool);
    this.audit = new PostgresAudit(pool);
  }

  /** Connects to the database that `url` names and brings its schema up to date. Ends the pool when either fails. */
  static async open(url: string, options: PostgresOptions): Promise<PostgresStore> {
    const pool = createPool(url, options);
    try {
      const applied = await applyMigrations(pool);
      return new PostgresStore(pool, describeUrl(url), applied);
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  /** Returns the migrations applied when this store opened; the schema is always current once it is open. */
  async migrate(): Promise<number[]> {
    return this.#applied;
  }

  async storedHashKey(): Promise<Buffer> {
    await this.#pool.query('insert into server_keys (name, value, created_at) values ($1, $2, $3) on conflict (name) do nothing',
      ['token_hash', randomBytes(32).toString('base64url'), Date.now()]);
    const { rows } = await this.#pool.query<{ value: string }>('select value from server_keys where name = $1', ['token_hash']);
    const value = rows[0]?.value;
    if (value === undefined) throw new Error('the token_hash row of server_keys is missing right after its insert');
    return Buffer.from(value, 'base64url');
  }

  async claimKeyFingerprint(fingerprint: string): Promise<string> {
    await this.#pool.query('insert into server_keys (name, value, created_at) values ($1, $2, $3) on conflict (name) do nothing',
      ['key_fingerprint', fingerprint, Date.now()]);
    const { rows } = await this.#pool.query<{ value: string }>('select value from server_keys where name = $1', ['key_fingerprint']);
    return rows[0]?.value ?? fingerprint;
  }

  async ping(): Promise<void> {
    await this.#pool.query('select 1');
  }

  /** Counts the pool's open connections, the idle ones among them, and the requests waiting for one. */
  poolStats(): { total: number; idle: number; waiting: number } {
    return { total: this.#pool.totalCount, idle: this.#pool.idleCount, waiting: this.#pool.waitingCount };
  }

  async purge(now: number, retiredBefore: number, batchSize: number): Promise<PurgeResult> {
    // Each batch is its own statement. Rows that another transaction has locked, such as a code being redeemed,
    // are skipped until the next purge instead of waited for.
    const drain = async (table: string, key: string, condition: string, value: number): Promise<number> => {
      const sql = `delete from ${table} where ${key} in (
          select ${key} from ${table} where ${condition} limit $2 for update skip locked)`;
      let total = 0;
      for (;;) {
        const deleted = (await this.#pool.query(sql, [value, batchSize])).rowCount ?? 0;
        total += deleted;
        if (deleted < batchSize) return total;
      }
    };
    const revoked = 'grant_id in (select id from grants where revoked_at is not null)';
    return {
      codes: await drain('authorization_codes', 'hash', `expires_at <= $1 or ${revoked}`, now),
      accessTokenRevocations: await drain('access_token_revocations', 'hash', 'expires_at <= $1', now),
      refreshTokens: await drain('refresh_tokens', 'hash', `rotated_at <= $1 or ${revoked}`, retiredBefore),
      sessions: await drain('sessions', 'id_hash', 'expires_at <= $1', now),
      requests: await drain('authorization_requests', 'id', 'expires_at <= $1', now),
    };
  }

  /** Ends the pool once checked-out connections are released; later calls wait for the same end. */
  close(): Promise<void> {
    this.#closing ??= this.#pool.end();
    return this.#closing;
  }
}
