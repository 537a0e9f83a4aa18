/**
 * Versioned schema migrations for SQLite. The SQL stays within what PostgreSQL also accepts (text keys, bigint
 * milliseconds, conditional updates) so that both databases share one schema shape.
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
        require_pkce integer not null default 0,
        refresh_token_rotation integer,
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
        redirect_uri_given integer not null,
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
        redirect_uri_given integer not null,
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
        id integer primary key,
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
  {
    // Two counters that triggers move forward in the transaction of each change. `access` moves when a client
    // or a user changes, a grant is revoked or deleted, or one access token is revoked. `refresh` moves when a
    // refresh token is retired, or deleted before it was retired. Purging tokens retired long ago moves
    // nothing, because a kept copy of such a token is rejected too (as a reuse, beyond the grace window),
    // while a counter update per deleted row would slow a large purge. Each process
    // keeps clients, token checks and refresh tokens in memory while the counters it read with them are
    // current (see generation-cache.ts).
    version: 2,
    sql: `
      create table access_generation (
        id integer primary key check (id = 1),
        access integer not null,
        refresh integer not null
      );
      insert into access_generation (id, access, refresh) values (1, 0, 0);

      create trigger clients_inserted after insert on clients
        begin update access_generation set access = access + 1 where id = 1; end;
      create trigger clients_updated after update on clients
        begin update access_generation set access = access + 1 where id = 1; end;
      create trigger clients_deleted after delete on clients
        begin update access_generation set access = access + 1 where id = 1; end;
      create trigger users_updated after update on users
        begin update access_generation set access = access + 1 where id = 1; end;
      create trigger users_deleted after delete on users
        begin update access_generation set access = access + 1 where id = 1; end;
      create trigger grants_changed after update of revoked_at, user_id, client_id, scope on grants
        begin update access_generation set access = access + 1 where id = 1; end;
      create trigger grants_deleted after delete on grants
        begin update access_generation set access = access + 1 where id = 1; end;
      create trigger access_token_revoked after insert on access_token_revocations
        begin update access_generation set access = access + 1 where id = 1; end;
      create trigger refresh_tokens_updated after update on refresh_tokens
        begin update access_generation set refresh = refresh + 1 where id = 1; end;
      create trigger refresh_tokens_deleted after delete on refresh_tokens when old.rotated_at is null
        begin update access_generation set refresh = refresh + 1 where id = 1; end;
    `,
  },
];
