import type Database from 'better-sqlite3';
import type { AuditEvent, AuditStore, ConsentStore } from '../types.js';
import type { GroupCommit } from './group-commit.js';
import { nullableString, type Row } from './rows.js';

export class SqliteConsents implements ConsentStore {
  readonly #find;
  readonly #upsert;
  readonly #delete;
  readonly #writes;

  constructor(db: Database.Database, writes: GroupCommit) {
    this.#writes = writes;
    this.#find = db.prepare('select scope from consents where user_id = ? and client_id = ?').pluck();
    this.#upsert = db.prepare(
      `insert into consents (user_id, client_id, scope, granted_at) values (?, ?, ?, ?)
       on conflict (user_id, client_id) do update set scope = excluded.scope, granted_at = excluded.granted_at`);
    this.#delete = db.prepare('delete from consents where user_id = ? and client_id = ?');
  }

  async find(userId: string, clientId: string): Promise<string[]> {
    const scope = this.#find.get(userId, clientId) as string | undefined;
    return scope ? scope.split(' ').filter(Boolean) : [];
  }

  async remember(userId: string, clientId: string, scopes: readonly string[], now: number): Promise<void> {
    // Read and write in one write of the batch, so that two concurrent consents both keep their scopes.
    await this.#writes.run(() => this.rememberNow(userId, clientId, scopes, now));
  }

  /** Adds scopes to a consent straight away; for a write that runs inside a batch of the group commit. */
  rememberNow(userId: string, clientId: string, scopes: readonly string[], now: number): void {
    const stored = (this.#find.get(userId, clientId) as string | undefined)?.split(' ').filter(Boolean) ?? [];
    this.#upsert.run(userId, clientId, [...new Set([...stored, ...scopes])].sort().join(' '), now);
  }

  async forget(userId: string, clientId: string): Promise<void> {
    await this.#writes.run(() => this.#delete.run(userId, clientId));
  }
}

export class SqliteAudit implements AuditStore {
  readonly #db: Database.Database;
  readonly #insert;
  readonly #writes;

  constructor(db: Database.Database, writes: GroupCommit) {
    this.#db = db;
    this.#writes = writes;
    this.#insert = db.prepare(
      `insert into audit_events (at, event, outcome, user_id, client_id, grant_id, address, detail)
       values (?, ?, ?, ?, ?, ?, ?, ?)`);
  }

  async record(events: readonly AuditEvent[]): Promise<void> {
    await this.#writes.run(() => {
      for (const e of events) this.#insert.run(e.at, e.event, e.outcome, e.userId, e.clientId, e.grantId, e.address, e.detail);
    });
  }

  async list(filter: { readonly userId?: string; readonly clientId?: string; readonly limit: number }): Promise<AuditEvent[]> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    if (filter.userId !== undefined) {
      conditions.push('user_id = ?');
      values.push(filter.userId);
    }
    if (filter.clientId !== undefined) {
      conditions.push('client_id = ?');
      values.push(filter.clientId);
    }
    const where = conditions.length ? `where ${conditions.join(' and ')}` : '';
    const rows = this.#db.prepare(`select * from audit_events ${where} order by at desc, id desc limit ?`).all(...values, filter.limit) as Row[];
    return rows.map((row) => ({
      at: Number(row.at),
      event: row.event as string,
      outcome: row.outcome as AuditEvent['outcome'],
      userId: nullableString(row.user_id),
      clientId: nullableString(row.client_id),
      grantId: nullableString(row.grant_id),
      address: nullableString(row.address),
      detail: nullableString(row.detail),
    }));
  }
}
