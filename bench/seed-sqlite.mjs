#!/usr/bin/env node
// Writes benchmark rows straight into a Kiwiform SQLite file, much faster than the HTTP flow can. The rows use
// the keyed hashes the server uses: the hash key is read from server_keys, and the hashing code and purpose
// strings are imported from the compiled server in dist/ (run `npm run build` first).
//
//   node bench/seed-sqlite.mjs codes  --database FILE --client-id ID --user-id ID --count N --out FILE
//     one grant and one unused authorization code per line of FILE, valid for 600 s (the server's maximum)
//   node bench/seed-sqlite.mjs tokens --database FILE --client-id ID --count N
//     N users, each with one grant and one refresh token (access tokens are self-contained, never stored)
//   node bench/seed-sqlite.mjs retire-refresh-tokens --database FILE
//     marks every current refresh token as retired by a rotation 31 days ago, so that purge has them to delete
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { KeyedHasher, PREFIX, generateOrderedId, generateOrderedSecret } from '../dist/crypto/secrets.js';
import { PURPOSE, credentialKey } from '../dist/grants/issue.js';

const CODE_TTL_MS = 600_000;
const SEEDED_SPREAD_MS = 600_000;
const BATCH = 20_000;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    database: { type: 'string' },
    'client-id': { type: 'string' },
    'user-id': { type: 'string' },
    count: { type: 'string' },
    out: { type: 'string' },
  },
});

function option(name) {
  const value = values[name];
  if (value === undefined) throw new Error(`--${name} is required; run with no arguments to see the usage at the top of this file`);
  return value;
}

function openDatabase(file) {
  const db = new Database(file);
  db.pragma('busy_timeout = 10000');
  // The server keeps the file in WAL mode; seeding does not need to survive a power loss.
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1048576');
  return db;
}

/** Builds the hasher the server would build from the key in server_keys (see createContext in src/server.ts). */
function hasherFor(db) {
  const stored = db.prepare("select value from server_keys where name = 'token_hash'").pluck().get();
  if (stored === undefined) throw new Error('server_keys has no token_hash key; start the server or run a kiwiform command on this file first');
  const key = Buffer.from(stored, 'base64url');
  return new KeyedHasher(key.length >= 32 ? key : Buffer.concat([key, Buffer.alloc(32 - key.length)]));
}

function ids(count) {
  const random = randomBytes(16 * count);
  return Array.from({ length: count }, (_, i) => random.subarray(16 * i, 16 * i + 16).toString('base64url'));
}

function clientScope(db, clientId) {
  const scopes = db.prepare('select scopes from clients where id = ?').pluck().get(clientId);
  if (scopes === undefined) throw new Error(`no client with id ${clientId} in the database`);
  return [...JSON.parse(scopes)].sort().join(' ');
}

function seedCodes(db) {
  const clientId = option('client-id');
  const userId = option('user-id');
  const count = Number(option('count'));
  const hasher = hasherFor(db);
  const scope = clientScope(db, clientId);
  const grant = db.prepare('insert into grants (id, client_id, user_id, scope, created_at) values (?, ?, ?, ?, ?)');
  const code = db.prepare(`insert into authorization_codes (hash, grant_id, redirect_uri, redirect_uri_given, code_challenge,
    created_at, expires_at) values (?, ?, ?, 1, null, ?, ?)`);
  const redirectUri = JSON.parse(db.prepare('select redirect_uris from clients where id = ?').pluck().get(clientId))[0];
  const now = Date.now();
  const values = [];
  db.transaction(() => {
    for (let i = 0; i < count; i += 1) {
      // One millisecond apart and in the order they are used, like grants made by consents one after another.
      const createdAt = now - count + i;
      const grantId = generateOrderedId(createdAt);
      const value = generateOrderedSecret(PREFIX.code, createdAt);
      values.push(value);
      grant.run(grantId, clientId, userId, scope, createdAt);
      code.run(credentialKey(hasher, PURPOSE.code, value), grantId, redirectUri, createdAt, now + CODE_TTL_MS);
    }
  }).immediate();
  // Copy the seeded pages into the database file now. Otherwise the server's first commit of the round would
  // find the write-ahead log past its checkpoint threshold and copy them itself, inside the measured round.
  db.pragma('wal_checkpoint(TRUNCATE)');
  writeFileSync(option('out'), `${values.join('\n')}\n`);
}

function seedTokens(db) {
  const clientId = option('client-id');
  const count = Number(option('count'));
  const hasher = hasherFor(db);
  const scope = clientScope(db, clientId);
  const user = db.prepare(
    'insert into users (id, email, email_normalized, name, password_hash, created_at) values (?, ?, ?, ?, ?, ?)');
  const grant = db.prepare('insert into grants (id, client_id, user_id, scope, created_at, last_used_at) values (?, ?, ?, ?, ?, ?)');
  const refresh = db.prepare('insert into refresh_tokens (hash, grant_id, created_at) values (?, ?, ?)');
  // Bulk seeding runs while no server has the file open, so the rollback journal can be left out. The file
  // goes back to WAL mode, which the server expects, at the end.
  db.pragma('journal_mode = OFF');
  // Secondary indexes are dropped during the load and rebuilt from their stored definitions afterwards,
  // because one sort is faster than inserting millions of random keys. The schema ends up as migrated.
  const indexes = db.prepare(`select name, sql from sqlite_master where type = 'index' and sql is not null
    and tbl_name in ('users', 'grants', 'refresh_tokens')`).all();
  for (const { name } of indexes) db.exec(`drop index "${name}"`);
  const now = Date.now();
  // A tag per seeding run keeps emails unique when a file is seeded twice.
  const tag = randomBytes(4).toString('hex');
  for (let start = 0; start < count; start += BATCH) {
    const size = Math.min(BATCH, count - start);
    const userIds = ids(size);
    const grantIds = ids(size);
    db.transaction(() => {
      for (let i = 0; i < size; i += 1) {
        const n = start + i;
        // Spread over the last ten minutes, so that every access token stays live for the next 50 minutes,
        // longer than a full benchmark run.
        const issuedAt = now - Math.floor(Math.random() * SEEDED_SPREAD_MS);
        const email = `seeded-${tag}-${n}@example.invalid`;
        // A malformed password hash never matches, so no seeded user can sign in.
        user.run(userIds[i], email, email, `Seeded user ${n}`, 'seeded-no-password', issuedAt);
        grant.run(grantIds[i], clientId, userIds[i], scope, issuedAt, issuedAt);
        const token = generateOrderedSecret(PREFIX.refreshToken, issuedAt);
        refresh.run(credentialKey(hasher, PURPOSE.refreshToken, token), grantIds[i], issuedAt);
      }
    })();
  }
  for (const { sql } of indexes) db.exec(sql);
  db.pragma('journal_mode = WAL');
}

function retireRefreshTokens(db) {
  const longAgo = Date.now() - 31 * 86_400_000;
  const changed = db.prepare('update refresh_tokens set rotated_at = ? where rotated_at is null').run(longAgo).changes;
  db.pragma('wal_checkpoint(TRUNCATE)');
  process.stdout.write(`${JSON.stringify({ retired: changed })}\n`);
}

const commands = { codes: seedCodes, tokens: seedTokens, 'retire-refresh-tokens': retireRefreshTokens };
const command = commands[positionals[0]];
if (!command) {
  process.stderr.write(`seed-sqlite: unknown command ${JSON.stringify(positionals[0])}; use one of: ${Object.keys(commands).join(', ')}\n`);
  process.exit(2);
}
const db = openDatabase(option('database'));
try {
  command(db);
} finally {
  db.close();
}
