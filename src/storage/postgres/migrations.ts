import type pg from 'pg';
import { transaction } from './rows.js';

/**
 * Versioned schema migrations for PostgreSQL. Tables, columns and indexes match the SQLite migrations of the
 * same version, except that flags are boolean columns and audit_events.id is a bigserial.
 */
export const MIGRATIONS: readonly { readonly version: number; readonly sql: string }[] = [
  {
    version: 1,
    sql: `
      create table server_keys (
        name text primary key,
        value text not null,
        created_at bigint not null
      );

      create table users (
        id text primary key,
        email text not null,
        email_normalized text not null unique,
        name text not null,
        password_hash text not null,
        created_at bigint not null
      );

      create table clients (
        id text primary key,
        name text not null,
        secret_hash text not null,
        secret_kind text not null check (secret_kind in ('hmac', 'scrypt')),
        redirect_uris text not null,
        scopes text not null,
        require_pkce boolean not null default false,
        refresh_token_rotation boolean,
        created_at bigint not null,
        previous_secret_hash text,
        previous_secret_kind text check (previous_secret_kind in ('hmac', 'scrypt')),
        previous_secret_expires_at bigint
      );

      create table sessions (
        id_hash text primary key,
        user_id text not null references users(id) on delete cascade,
        created_at bigint not null,
        expires_at bigint not null
      );
      create index sessions_expires_at on sessions (expires_at);

      create table authorization_requests (
        id text primary key,
        client_id text not null references clients(id) on delete cascade,
        redirect_uri text not null,
        redirect_uri_given boolean not null,
        state text,
        scope text not null,
        code_challenge text,
        created_at bigint not null,
        expires_at bigint not null
      );
      create index authorization_requests_expires_at on authorization_requests (expires_at);

      create table grants (
        id text primary key,
        client_id text not null references clients(id) on delete cascade,
        user_id text not null references users(id) on delete cascade,
        scope text not null,
        created_at bigint not null,
        revoked_at bigint,
        last_used_at bigint
      );
      create index grants_client_id on grants (client_id);
      create index grants_user_id on grants (user_id);

      create table authorization_codes (
        hash text primary key,
        grant_id text not null references grants(id) on delete cascade,
        redirect_uri text not null,
        redirect_uri_given boolean not null,
        code_challenge text,
        created_at bigint not null,
        expires_at bigint not null,
        consumed_at bigint
      );
      create index authorization_codes_grant_id on authorization_codes (grant_id);
      create index authorization_codes_expires_at on authorization_codes (expires_at);

      -- Access tokens are self-contained (see grants/access-token.ts); only those revoked one by one are listed.
      create table access_token_revocations (
        hash text primary key,
        grant_id text not null references grants(id) on delete cascade,
        expires_at bigint not null
      );
      create index access_token_revocations_expires_at on access_token_revocations (expires_at);

      create table refresh_tokens (
        hash text primary key,
        grant_id text not null references grants(id) on delete cascade,
        created_at bigint not null,
        rotated_at bigint
      );
      create index refresh_tokens_grant_id on refresh_tokens (grant_id);
      create index refresh_tokens_rotated_at on refresh_tokens (rotated_at) where rotated_at is not null;

      create table consents (
        user_id text not null references users(id) on delete cascade,
        client_id text not null references clients(id) on delete cascade,
        scope text not null,
        granted_at bigint not null,
        primary key (user_id, client_id)
      );

      create table audit_events (
        id bigserial primary key,
        at bigint not null,
        event text not null,
        outcome text not null,
        user_id text,
        client_id text,
        grant_id text,
        address text,
        detail text
      );
      create index audit_events_user on audit_events (user_id, at);
      create index audit_events_client on audit_events (client_id, at);
    `,
  },
];

/** Advisory lock key that serializes migrations across processes: the ASCII bytes of "kiwi". */
const MIGRATION_LOCK = 0x6b697769;

/**
 * Applies pending migrations in one transaction and returns their versions. The transaction first takes an
 * advisory lock, so instances that start at once wait for each other and each migration runs once.
 * NOTE: every statement here is bound by KIWIFORM_DATABASE_TIMEOUT, which a long future migration may need
 * raised while `kiwiform migrate` runs.
 */
export async function applyMigrations(pool: pg.Pool): Promise<number[]> {
  return transaction(pool, async (client) => {
    await client.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('create table if not exists schema_migrations (version integer primary key, applied_at bigint not null)');
    const done = new Set((await client.query<{ version: number }>('select version from schema_migrations')).rows.map((row) => row.version));
    const versions: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('insert into schema_migrations (version, applied_at) values ($1, $2)', [migration.version, Date.now()]);
      versions.push(migration.version);
    }
    return versions;
  });
}
