import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';

const walBytes = (file: string): number => {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
};

/** Creates a grant with a code and redeems it, as a code exchange does: two batched writes. */
async function exchange(store: SqliteStore): Promise<void> {
  const grantId = randomUUID();
  const hash = randomBytes(32).toString('base64url');
  const now = Date.now();
  await store.grants.createWithCode(
    { id: grantId, clientId: 'client', userId: 'user', scope: 'profile', createdAt: now },
    { hash, grantId, redirectUri: 'https://app.example.test/cb', redirectUriGiven: true, codeChallenge: null, createdAt: now, expiresAt: now + 600_000 },
  );
  const redeemed = await store.grants.redeemCode(hash, now, { hash: randomBytes(32).toString('base64url'), grantId, createdAt: now });
  assert.equal(redeemed, true);
}

test('background checkpoints bound the log', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'kiwiform-checkpoints-'));
  const file = join(directory, 'kiwiform.db');
  const reports: string[] = [];
  try {
    const store = new SqliteStore(file);
    await store.users.create({ id: 'user', email: 'user@example.test', name: 'User', passwordHash: 'hash', createdAt: 0 });
    await store.clients.create({
      id: 'client', name: 'Client', secretHash: 'hash', secretKind: 'hmac', redirectUris: ['https://app.example.test/cb'],
      scopes: ['profile'], requirePkce: false, refreshTokenRotation: null, createdAt: 0,
    });
    // A small rewind size (4 MiB) makes the thread ask for held writes many times within the test.
    const rewindPages = 1024;
    store.startMaintenance((message) => reports.push(message), { intervalMs: 5, rewindPages });

    // Without rewinds the log would keep every page written: about 280 MB for this many exchanges.
    const exchanges = 12_000;
    let started = 0;
    let largestLog = 0;
    const writer = async (): Promise<void> => {
      while (started < exchanges) {
        started += 1;
        await exchange(store);
        largestLog = Math.max(largestLog, walBytes(file));
      }
    };
    await Promise.all(Array.from({ length: 16 }, writer));

    // Once the thread has caught up, the next write starts the log over and cuts its file back.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await exchange(store);
    const settledLog = walBytes(file);
    await store.close();

    assert.deepEqual(reports, []);
    // A rewind starts when the thread finds the log past the rewind size, so the log grows further while
    // the thread waits for a core: up to 70 MB on a machine with eight times more work than cores. The
    // bound leaves room for that and is still less than half of what the log reaches without rewinds.
    assert.ok(largestLog < 32 * rewindPages * 4096, `the log reached ${largestLog} bytes`);
    assert.ok(settledLog <= rewindPages * 4096, `the log stayed at ${settledLog} bytes`);

    // Every write held for a rewind was committed in the end.
    const reopened = new Database(file, { readonly: true });
    try {
      assert.equal(reopened.prepare('select count(*) from refresh_tokens').pluck().get(), exchanges + 1);
      assert.equal(reopened.prepare('select count(*) from authorization_codes where consumed_at is not null').pluck().get(), exchanges + 1);
    } finally {
      reopened.close();
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
