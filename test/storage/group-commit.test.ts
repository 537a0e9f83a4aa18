import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { GroupCommit } from '../../src/storage/sqlite/group-commit.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';

let directory: string;

before(() => {
  directory = mkdtempSync(join(tmpdir(), 'kiwiform-group-commit-'));
});

after(() => {
  rmSync(directory, { recursive: true, force: true });
});

/** Opens two connections to a new file: one for the batches, one standing in for another process. */
function openPair(name: string): { db: Database.Database; other: Database.Database } {
  const file = join(directory, `${name}.db`);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec('create table items (id integer primary key, value text not null unique)');
  const other = new Database(file);
  other.pragma('busy_timeout = 5000');
  return { db, other };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('batch waits without blocking', async () => {
  const { db, other } = openPair('waits');
  try {
    const writes = new GroupCommit(db, () => {});
    const insert = db.prepare('insert into items (value) values (?)');
    other.exec('begin immediate');
    let ticks = 0;
    const ticker = setInterval(() => {
      ticks += 1;
    }, 1);
    let settled = false;
    const written = writes.run(() => insert.run('first').changes).finally(() => {
      settled = true;
    });
    await sleep(100);
    assert.equal(settled, false, 'the write waits while the lock is held');
    // A blocked event loop would not have run the ticker at all.
    assert.ok(ticks >= 10, `event loop turns while waiting: ${ticks}`);
    other.exec('commit');
    assert.equal(await written, 1);
    clearInterval(ticker);
    assert.equal(other.prepare('select count(*) from items').pluck().get(), 1);
  } finally {
    other.close();
    db.close();
  }
});

test('batch fails past the limit', async () => {
  const { db, other } = openPair('limit');
  try {
    const writes = new GroupCommit(db, () => {}, { busyLimitMs: 50, busyTimeoutMs: 5000 });
    const insert = db.prepare('insert into items (value) values (?)');
    other.exec('begin immediate');
    await assert.rejects(writes.run(() => insert.run('late')), (error: { code?: string }) => error.code === 'SQLITE_BUSY');
    other.exec('commit');
    assert.equal(await writes.run(() => insert.run('after').changes), 1);
    assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
  } finally {
    other.close();
    db.close();
  }
});

test('each write has its own limit', async () => {
  const { db, other } = openPair('own-limit');
  try {
    const writes = new GroupCommit(db, () => {}, { busyLimitMs: 200, busyTimeoutMs: 5000 });
    const insert = db.prepare('insert into items (value) values (?)');
    other.exec('begin immediate');
    const early = writes.run(() => insert.run('early').changes);
    const earlyFailed = assert.rejects(early, (error: { code?: string }) => error.code === 'SQLITE_BUSY');
    await sleep(150);
    // Queued while the early write is still retrying; it has waited only a little when the early one gives up.
    const late = writes.run(() => insert.run('late').changes);
    await earlyFailed;
    other.exec('commit');
    assert.equal(await late, 1);
    assert.deepEqual(other.prepare('select value from items').pluck().all(), ['late']);
  } finally {
    other.close();
    db.close();
  }
});

test('failing write rolls back alone', async () => {
  const { db, other } = openPair('failing');
  try {
    const writes = new GroupCommit(db, () => {});
    const insert = db.prepare('insert into items (value) values (?)');
    const runs: string[] = [];
    const write = (value: string) => () => {
      runs.push(value);
      return insert.run(value).changes;
    };
    const [first, duplicate, third] = await Promise.allSettled([
      writes.run(write('one')),
      writes.run(write('one')),
      writes.run(write('three')),
    ]);
    assert.deepEqual(first, { status: 'fulfilled', value: 1 });
    assert.equal(duplicate.status, 'rejected');
    assert.match(String((duplicate as PromiseRejectedResult).reason), /UNIQUE/);
    assert.deepEqual(third, { status: 'fulfilled', value: 1 });
    assert.deepEqual(other.prepare('select value from items order by id').pluck().all(), ['one', 'three']);
    // The batch ran together first and, after the duplicate failed, once more write by write.
    assert.deepEqual(runs, ['one', 'one', 'one', 'one', 'three']);
  } finally {
    other.close();
    db.close();
  }
});

test('request writes wait without blocking', async () => {
  const file = join(directory, 'store.db');
  const store = new SqliteStore(file);
  const other = new Database(file);
  try {
    await store.users.create({ id: 'user', email: 'user@example.test', name: 'User', passwordHash: 'hash', createdAt: 0 });
    await store.clients.create({
      id: 'client', name: 'Client', secretHash: 'hash', secretKind: 'hmac', redirectUris: ['https://app.example.test/cb'],
      scopes: ['profile'], requirePkce: false, refreshTokenRotation: null, createdAt: 0,
    });
    await store.grants.createWithCode(
      { id: 'grant', clientId: 'client', userId: 'user', scope: 'profile', createdAt: 0 },
      { hash: 'code', grantId: 'grant', redirectUri: 'https://app.example.test/cb', redirectUriGiven: true, codeChallenge: null, createdAt: 0, expiresAt: 600_000 },
    );
    other.exec('begin immediate');
    let ticks = 0;
    const ticker = setInterval(() => {
      ticks += 1;
    }, 1);
    // A sign-in, a consent and a revocation, each of which once waited in SQLite's busy handler.
    const writes = Promise.all([
      store.sessions.create({ idHash: 'session', userId: 'user', createdAt: 0, expiresAt: Date.now() + 60_000 }),
      store.consents.remember('user', 'client', ['profile'], 0),
      store.grants.revoke('grant', 1),
    ]);
    await sleep(100);
    assert.ok(ticks >= 10, `event loop turns while waiting: ${ticks}`);
    other.exec('commit');
    await writes;
    clearInterval(ticker);
    assert.equal((await store.sessions.find('session', 0))?.userId, 'user');
    assert.deepEqual(await store.consents.find('user', 'client'), ['profile']);
    assert.equal((await store.grants.findCode('code'))?.grantRevokedAt, 1);
  } finally {
    other.close();
    await store.close();
  }
});
