import type pg from 'pg';
import type { AuditEvent, AuditStore, ConsentStore } from '../types.js';
import { nullableString, type Row } from '../sqlite/rows.js';
import { transaction } from './rows.js';

/**
 * SQL that adds scopes to a consent, merging inside the upsert so that two concurrent consents for the same
 * client both keep their scopes. Scope tokens are ASCII (RFC 6749 §3.3), so the bytewise "C" order equals
 * the JavaScript sort of the new row. Parameters: user id, client id, the scopes joined by spaces, the time.
 */
export const CONSENT_MERGE = `insert into consents (user_id, client_id, scope, granted_at) values ($1, $2, $3, $4)
  on conflict (user_id, client_id) do update
    set scope = (select coalesce(string_agg(distinct token collate "C", ' ' order by token collate "C"), '')
                   from unnest(string_to_array(consents.scope || ' ' || excluded.scope, ' ')) as token
                  where token <> ''),
        granted_at = excluded.granted_at`;

/** Returns the scopes without repeats, sorted and joined by spaces, as CONSENT_MERGE expects them. */
export function consentScopes(scopes: readonly string[]): string {
  return [...new Set(scopes)].sort().join(' ');
}

export class PostgresConsents implements ConsentStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async find(userId: string, clientId: string): Promise<string[]> {
    const { rows } = await this.#pool.query<{ scope: string }>(
      'select scope from consents where user_id = $1 and client_id = $2', [userId, clientId]);
    const scope = rows[0]?.scope;
    return scope ? scope.split(' ').filter(Boolean) : [];
  }

  async remember(userId: string, clientId: string, scopes: readonly string[], now: number): Promise<void> {
    await this.#pool.query(CONSENT_MERGE, [userId, clientId, consentScopes(scopes), now]);
  }

  async forget(userId: string, clientId: string): Promise<void> {
    await this.#pool.query('delete from consents where user_id = $1 and client_id = $2', [userId, clientId]);
  }
}

export class PostgresAudit implements AuditStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async record(events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    await transaction(this.#pool, async (client) => {
      for (const e of events) {
        await client.query(
          `insert into audit_events (at, event, outcome, user_id, client_id, grant_id, address, detail)
           values ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [e.at, e.event, e.outcome, e.userId, e.clientId, e.grantId, e.address, e.detail]);
      }
    });
  }

  async list(filter: { readonly userId?: string; readonly clientId?: string; readonly limit: number }): Promise<AuditEvent[]> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    if (filter.userId !== undefined) {
      values.push(filter.userId);
      conditions.push(`user_id = $${values.length}`);
    }
    if (filter.clientId !== undefined) {
      values.push(filter.clientId);
      conditions.push(`client_id = $${values.length}`);
    }
    const where = conditions.length ? `where ${conditions.join(' and ')}` : '';
    values.push(filter.limit);
    const { rows } = await this.#pool.query(
      `select * from audit_events ${where} order by at desc, id desc limit $${values.length}`, values);
    return rows.map((row: Row) => ({
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
