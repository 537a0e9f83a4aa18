import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { PurgeResult, Store } from '../types.js';
import { SqliteClients, SqliteRequests, SqliteSessions, SqliteUsers } from './accounts.js';
import { BackgroundCheckpoints, type CheckpointSettings } from './checkpointer.js';
import { AccessGeneration } from './generation-cache.js';
import { SqliteGrants } from './grants.js';
import { GroupCommit } from './group-commit.js';
import { MIGRATIONS } from './migrations.js';
import { SqliteAudit, SqliteConsents } from './records.js';

/** How long a statement waits for another process to release the write lock before it fails. */
const BUSY_TIMEOUT_MS = 5000;

/** Opens a SQLite file in WAL mode, creating its folder, and applies pending migrations. */
function openDatabase(file: string): { db: Database.Database; applied: number[] } {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.exec('create table if not exists schema_migrations (version integer primary key, applied_at bigint not null)');
  // An immediate transaction takes the write lock first, so concurrent processes apply each migration once.
  const applied = db.transaction(() => {
    const done = new Set(db.prepare('select version from schema_migrations').pluck().all() as number[]);
    const versions: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      db.exec(migration.sql);
      db.prepare('insert into schema_migrations (version, applied_at) values (?, ?)').run(migration.version, Date.now());
      versions.push(migration.version);
    }
    return versions;
  }).immediate();
  return { db, applied };
}

/**
 * The embedded store: one SQLite file in WAL mode, every statement prepared once when the store opens, and
 * every multi-row write inside an explicit transaction.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly description: string;
  readonly users;
  readonly clients;
  readonly sessions;
  readonly requests;
  readonly grants;
  readonly consents;
  readonly audit;
  readonly #db: Database.Database;
  readonly #applied: number[];
  readonly #writes: GroupCommit;
  readonly #generation: AccessGeneration;
  readonly #file: string;
  #checkpoints: BackgroundCheckpoints | undefined;

  constructor(path: string) {
    const file = resolve(path);
    this.#file = file;
    this.description = `sqlite:${file}`;
    const { db, applied } = openDatabase(file);
    this.#db = db;
    this.#applied = applied;
    this.users = new SqliteUsers(db);
    const generation = new AccessGeneration(db);
    this.#generation = generation;
    this.#writes = new GroupCommit(db, () => generation.forget(), { busyLimitMs: BUSY_TIMEOUT_MS, busyTimeoutMs: BUSY_TIMEOUT_MS });
    this.clients = new SqliteClients(db, generation);
    this.sessions = new SqliteSessions(db, this.#writes);
    const requests = new SqliteRequests(db, this.#writes);
    const consents = new SqliteConsents(db, this.#writes);
    this.requests = requests;
    this.consents = consents;
    this.grants = new SqliteGrants(db, generation, this.#writes, { requests, consents });
    this.audit = new SqliteAudit(db, this.#writes);
  }

  /** Returns the migrations applied when this store opened; the schema is always current once it is open. */
  async migrate(): Promise<number[]> {
    return this.#applied;
  }

  async storedHashKey(): Promise<Buffer> {
    this.#db.prepare('insert or ignore into server_keys (name, value, created_at) values (?, ?, ?)')
      .run('token_hash', randomBytes(32).toString('base64url'), Date.now());
    const value = this.#db.prepare('select value from server_keys where name = ?').pluck().get('token_hash') as string;
    return Buffer.from(value, 'base64url');
  }

  async claimKeyFingerprint(fingerprint: string): Promise<string> {
    this.#db.prepare('insert or ignore into server_keys (name, value, created_at) values (?, ?, ?)').run('key_fingerprint', fingerprint, Date.now());
    return this.#db.prepare('select value from server_keys where name = ?').pluck().get('key_fingerprint') as string;
  }

  async ping(): Promise<void> {
    this.#db.prepare('select 1').get();
  }

  async purge(now: number, retiredBefore: number, batchSize: number): Promise<PurgeResult> {
    const db = this.#db;
    // better-sqlite3 is synchronous, so the loop yields to the event loop after each batch: a purge run by
    // the timer inside serve lets requests through between batches instead of stalling until it is done.
    const drain = async (sql: string, ...values: unknown[]): Promise<number> => {
      const statement = db.prepare(sql);
      let total = 0;
      for (;;) {
        const deleted = statement.run(...values, batchSize).changes;
        this.#generation.forget();
        total += deleted;
        if (deleted < batchSize) return total;
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const revoked = 'select id from grants where revoked_at is not null';
    return {
      codes: await drain(`delete from authorization_codes where rowid in (select rowid from authorization_codes
        where expires_at <= ? or grant_id in (${revoked}) limit ?)`, now),
      accessTokenRevocations: await drain(`delete from access_token_revocations where rowid in
        (select rowid from access_token_revocations where expires_at <= ? limit ?)`, now),
      refreshTokens: await drain(`delete from refresh_tokens where rowid in (select rowid from refresh_tokens
        where rotated_at <= ? or grant_id in (${revoked}) limit ?)`, retiredBefore),
      sessions: await drain('delete from sessions where rowid in (select rowid from sessions where expires_at <= ? limit ?)', now),
      requests: await drain(`delete from authorization_requests where rowid in (select rowid from authorization_requests
        where expires_at <= ? limit ?)`, now),
    };
  }

  /** Moves the write-ahead log's checkpoints to a thread of their own (see checkpointer.ts). */
  startMaintenance(report: (message: string) => void, settings?: CheckpointSettings): void {
    this.#checkpoints ??= new BackgroundCheckpoints(this.#db, this.#file, () => this.#writes.hold(), report, settings);
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    await this.#checkpoints?.stop();
    this.#writes.flush(true);
    this.#db.close();
  }
}
