import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { isTemporaryStorageFailure } from '../../src/http/error-mapping.js';
import { openStore } from '../../src/storage/open-store.js';
import {
  DuplicateError, type AuditEvent, type AuthorizationRequest, type Client, type Grant, type NewCode, type NewRefreshToken,
  type Store,
} from '../../src/storage/types.js';
import { DATABASES, createTestDatabase, skipReason, type DatabaseKind, type TestDatabase } from '../helpers/databases.js';

/** A fixed time in milliseconds, so that expiry checks do not depend on the wall clock. */
const NOW = Date.UTC(2030, 0, 1);
const HOUR = 3_600_000;

interface Account {
  readonly userId: string;
  readonly clientId: string;
}

interface RedeemedGrant {
  readonly grantId: string;
  readonly codeHash: string;
  readonly refresh: NewRefreshToken;
}

const accessHash = (): string => `access-${randomUUID()}`;

const refreshRow = (grantId: string, createdAt: number): NewRefreshToken => ({ hash: `refresh-${randomUUID()}`, grantId, createdAt });

/** A pending authorization request of a client for the forms:read scope. */
const requestRow = (clientId: string): AuthorizationRequest => ({
  id: randomUUID(), clientId, redirectUri: 'https://app.example.test/callback', redirectUriGiven: true,
  state: null, scope: 'forms:read', codeChallenge: null, createdAt: NOW, expiresAt: NOW + 600_000,
});

/** Returns a grant for the forms:read scope, with a fresh id unless one is given, and its first code. */
function grantWithCode(account: Account, id = `grant-${randomUUID()}`): { grant: Grant; code: NewCode } {
  return {
    grant: { id, clientId: account.clientId, userId: account.userId, scope: 'forms:read', createdAt: NOW },
    code: {
      hash: `code-${randomUUID()}`, grantId: id, redirectUri: 'https://app.example.test/callback', redirectUriGiven: true,
      codeChallenge: null, createdAt: NOW, expiresAt: NOW + 600_000,
    },
  };
}

function clientRow(overrides: Partial<Client> = {}): Client {
  const id = `client-${randomUUID()}`;
  return {
    id,
    name: `Client ${id}`,
    secretHash: `secret-${id}`,
    secretKind: 'hmac',
    redirectUris: ['https://app.example.test/callback', 'https://app.example.test/other'],
    scopes: ['forms:read', 'profile'],
    requirePkce: false,
    refreshTokenRotation: null,
    createdAt: NOW,
    ...overrides,
  };
}

/** Creates a user and a client, each with fresh ids. */
async function createAccount(store: Store, client: Partial<Client> = {}): Promise<Account> {
  const userId = `user-${randomUUID()}`;
  await store.users.create({ id: userId, email: `${userId}@example.test`, name: 'Test User', passwordHash: 'hash', createdAt: NOW });
  const row = clientRow(client);
  await store.clients.create(row);
  return { userId, clientId: row.id };
}

/** Creates a grant with one authorization code and returns their ids. */
async function createGrant(
  store: Store,
  account: Account,
  options: { readonly createdAt?: number; readonly codeExpiresAt?: number; readonly scope?: string } = {},
): Promise<{ grantId: string; codeHash: string }> {
  const grantId = `grant-${randomUUID()}`;
  const codeHash = `code-${randomUUID()}`;
  const createdAt = options.createdAt ?? NOW;
  await store.grants.createWithCode(
    { id: grantId, clientId: account.clientId, userId: account.userId, scope: options.scope ?? 'profile', createdAt },
    {
      hash: codeHash, grantId, redirectUri: 'https://app.example.test/callback', redirectUriGiven: true,
      codeChallenge: 'challenge', createdAt, expiresAt: options.codeExpiresAt ?? createdAt + 600_000,
    },
  );
  return { grantId, codeHash };
}

/** Creates a grant and redeems its code at `now`, which inserts a refresh token. */
async function createRedeemedGrant(store: Store, account: Account, now = NOW): Promise<RedeemedGrant> {
  const { grantId, codeHash } = await createGrant(store, account, { createdAt: now });
  const refresh = refreshRow(grantId, now);
  assert.equal(await store.grants.redeemCode(codeHash, now, refresh), true);
  return { grantId, codeHash, refresh };
}

/** Opens a store on a database of its own, for tests that count every row or reopen the database. */
async function withFreshDatabase(kind: DatabaseKind, work: (database: TestDatabase) => Promise<void>): Promise<void> {
  const database = await createTestDatabase(kind);
  try {
    await work(database);
  } finally {
    await database.cleanup();
  }
}

async function withStore<T>(url: string, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ databaseUrl: url, databasePoolSize: 5, databaseTimeout: 5 });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

for (const kind of DATABASES) {
  describe(`${kind} store`, { skip: skipReason(kind) }, () => {
    let database: TestDatabase | undefined;
    let store: Store;

    before(async () => {
      database = await createTestDatabase(kind);
      store = await openStore({ databaseUrl: database.url });
    });
    after(async () => {
      await store?.close();
      await database?.cleanup();
    });

    test('ping', async () => {
      await store.ping();
      assert.equal(store.kind, kind);
    });

    test('user create and find', async () => {
      const { userId } = await createAccount(store);
      const user = await store.users.findById(userId);
      assert.deepEqual(user, { id: userId, email: `${userId}@example.test`, name: 'Test User', passwordHash: 'hash', createdAt: NOW });
      assert.deepEqual(await store.users.findByEmail(`${userId}@EXAMPLE.test`.toUpperCase()), user);
      assert.equal(await store.users.findById('user-missing'), undefined);
      assert.equal(await store.users.findByEmail('missing@example.test'), undefined);
    });

    test('user duplicate email', async () => {
      const email = `Someone-${randomUUID()}@Example.test`;
      await store.users.create({ id: randomUUID(), email, name: 'A', passwordHash: 'h', createdAt: NOW });
      await assert.rejects(
        store.users.create({ id: randomUUID(), email: email.toLowerCase(), name: 'B', passwordHash: 'h', createdAt: NOW }),
        (error: unknown) => error instanceof DuplicateError && error.field === 'email',
      );
    });

    test('user emails compare in Unicode NFC', async () => {
      const local = `j\u00fcrgen-${randomUUID()}`;
      await store.users.create({ id: randomUUID(), email: `${local}@example.test`, name: 'A', passwordHash: 'h', createdAt: NOW });
      const decomposed = `${local.normalize('NFD')}@example.test`;
      await assert.rejects(
        store.users.create({ id: randomUUID(), email: decomposed, name: 'B', passwordHash: 'h', createdAt: NOW }),
        (error: unknown) => error instanceof DuplicateError,
      );
      assert.ok(await store.users.findByEmail(decomposed));
    });

    test('client round trip', async () => {
      for (const overrides of [
        { requirePkce: true, refreshTokenRotation: true },
        { requirePkce: false, refreshTokenRotation: false },
        { requirePkce: false, refreshTokenRotation: null, secretKind: 'scrypt' as const },
      ]) {
        const client = clientRow(overrides);
        await store.clients.create(client);
        assert.deepEqual(await store.clients.findById(client.id), { ...client, previousSecret: undefined });
      }
      assert.equal(await store.clients.findById('client-missing'), undefined);
    });

    test('client duplicate id', async () => {
      const client = clientRow();
      await store.clients.create(client);
      await assert.rejects(store.clients.create(client), (error: unknown) => error instanceof DuplicateError && error.field === 'client_id');
    });

    test('client list and count', async () => {
      await withFreshDatabase(kind, async (fresh) => withStore(fresh.url, async (own) => {
        assert.equal(await own.clients.count(), 0);
        assert.deepEqual(await own.clients.list(), []);
        const later = clientRow({ id: 'client-a', createdAt: NOW + 1 });
        const tiedB = clientRow({ id: 'client-c', createdAt: NOW });
        const tiedA = clientRow({ id: 'client-B', createdAt: NOW });
        for (const client of [later, tiedB, tiedA]) await own.clients.create(client);
        assert.equal(await own.clients.count(), 3);
        // Ordered by creation time, then by id compared bytewise ('B' sorts before 'c').
        assert.deepEqual((await own.clients.list()).map((client) => client.id), ['client-B', 'client-c', 'client-a']);
      }));
    });

    test('client update', async () => {
      const client = clientRow({ requirePkce: false, refreshTokenRotation: true });
      await store.clients.create(client);
      const changes = { name: 'Renamed', redirectUris: ['https://new.example.test/cb'], scopes: ['profile'], requirePkce: true, refreshTokenRotation: null };
      assert.equal(await store.clients.update(client.id, changes), true);
      assert.deepEqual(await store.clients.findById(client.id), { ...client, ...changes, previousSecret: undefined });
      assert.equal(await store.clients.update(client.id, { refreshTokenRotation: false }), true);
      assert.equal((await store.clients.findById(client.id))?.refreshTokenRotation, false);
      assert.equal(await store.clients.update(client.id, {}), true);
      assert.equal(await store.clients.update('client-missing', {}), false);
      assert.equal(await store.clients.update('client-missing', { name: 'x' }), false);
    });

    test('client secret rotation', async () => {
      const client = clientRow();
      await store.clients.create(client);
      assert.equal(await store.clients.rotateSecret(client.id, 'second', 'scrypt', NOW + HOUR), true);
      const rotated = await store.clients.findById(client.id);
      assert.equal(rotated?.secretHash, 'second');
      assert.equal(rotated?.secretKind, 'scrypt');
      assert.deepEqual(rotated?.previousSecret, { hash: client.secretHash, kind: 'hmac', expiresAt: NOW + HOUR });

      assert.equal(await store.clients.rotateSecret(client.id, 'third', 'hmac', NOW + 2 * HOUR), true);
      assert.deepEqual((await store.clients.findById(client.id))?.previousSecret, { hash: 'second', kind: 'scrypt', expiresAt: NOW + 2 * HOUR });

      assert.equal(await store.clients.rotateSecret(client.id, 'fourth', 'hmac', null), true);
      const replaced = await store.clients.findById(client.id);
      assert.equal(replaced?.secretHash, 'fourth');
      assert.equal(replaced?.previousSecret, undefined);
      assert.equal(await store.clients.rotateSecret('client-missing', 'x', 'hmac', null), false);
    });

    test('client delete cascades', async () => {
      const account = await createAccount(store);
      const redeemed = await createRedeemedGrant(store, account);
      const pending = await createGrant(store, account);
      await store.consents.remember(account.userId, account.clientId, ['profile'], NOW);
      const requestId = randomUUID();
      await store.requests.create({
        id: requestId, clientId: account.clientId, redirectUri: 'https://app.example.test/callback', redirectUriGiven: true,
        state: null, scope: 'profile', codeChallenge: null, createdAt: NOW, expiresAt: NOW + HOUR,
      });

      assert.equal(await store.clients.delete(account.clientId), true);
      assert.equal(await store.clients.findById(account.clientId), undefined);
      assert.equal(await store.grants.findCode(redeemed.codeHash), undefined);
      assert.equal(await store.grants.findCode(pending.codeHash), undefined);
      assert.equal(await store.grants.findGrantAccess(redeemed.grantId, accessHash()), undefined);
      assert.equal(await store.grants.findRefreshToken(redeemed.refresh.hash), undefined);
      assert.deepEqual(await store.grants.connections(account.userId), []);
      assert.deepEqual(await store.consents.find(account.userId, account.clientId), []);
      assert.equal(await store.requests.find(requestId, NOW), undefined);
      assert.notEqual(await store.users.findById(account.userId), undefined);
      assert.equal(await store.clients.delete(account.clientId), false);
    });

    test('session expiry', async () => {
      const { userId } = await createAccount(store);
      const session = { idHash: `session-${randomUUID()}`, userId, createdAt: NOW, expiresAt: NOW + HOUR };
      await store.sessions.create(session);
      assert.deepEqual(await store.sessions.find(session.idHash, NOW + HOUR - 1), session);
      assert.equal(await store.sessions.find(session.idHash, NOW + HOUR), undefined);
      await store.sessions.delete(session.idHash);
      assert.equal(await store.sessions.find(session.idHash, NOW), undefined);
    });

    test('request consumed once', async () => {
      const { clientId } = await createAccount(store);
      const request = {
        id: randomUUID(), clientId, redirectUri: 'https://app.example.test/callback', redirectUriGiven: false,
        state: 'xyz', scope: 'forms:read profile', codeChallenge: 'challenge', createdAt: NOW, expiresAt: NOW + 600_000,
      };
      await store.requests.create(request);
      assert.deepEqual(await store.requests.find(request.id, NOW), request);
      assert.equal(await store.requests.find(request.id, NOW + 600_000), undefined);
      const results = await Promise.all(Array.from({ length: 10 }, () => store.requests.consume(request.id)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await store.requests.find(request.id, NOW), undefined);
      assert.equal(await store.requests.consume(request.id), false);
    });

    test('consent uses a request once', async () => {
      const account = await createAccount(store);
      const request = requestRow(account.clientId);
      await store.requests.create(request);
      await store.consents.remember(account.userId, account.clientId, ['profile'], NOW);
      const attempts = Array.from({ length: 10 }, () => grantWithCode(account));
      const results = await Promise.all(attempts.map((attempt) => store.grants.createFromConsent(request.id, ['forms:read'], attempt.grant, attempt.code)));
      assert.equal(results.filter(Boolean).length, 1);
      for (const [index, attempt] of attempts.entries()) {
        assert.equal((await store.grants.findCode(attempt.code.hash)) !== undefined, results[index], `attempt ${index}`);
      }
      assert.equal(await store.requests.find(request.id, NOW), undefined);
      assert.deepEqual(await store.consents.find(account.userId, account.clientId), ['forms:read', 'profile']);
    });

    test('failed consent keeps its request', async () => {
      const account = await createAccount(store);
      const request = requestRow(account.clientId);
      await store.requests.create(request);
      // A grant id that is taken makes the grant's insert fail, after the request's deletion and the consent.
      const { grant, code } = grantWithCode(account, (await createGrant(store, account)).grantId);
      await assert.rejects(store.grants.createFromConsent(request.id, ['forms:read'], grant, code));
      assert.deepEqual(await store.requests.find(request.id, NOW), request);
      assert.deepEqual(await store.consents.find(account.userId, account.clientId), []);
      assert.equal(await store.grants.findCode(code.hash), undefined);
    });

    test('code create and find', async () => {
      const account = await createAccount(store);
      const { grantId, codeHash } = await createGrant(store, account, { scope: 'forms:read profile' });
      assert.deepEqual(await store.grants.findCode(codeHash), {
        hash: codeHash, grantId, clientId: account.clientId, userId: account.userId, scope: 'forms:read profile',
        redirectUri: 'https://app.example.test/callback', redirectUriGiven: true, codeChallenge: 'challenge',
        expiresAt: NOW + 600_000, consumedAt: null, grantRevokedAt: null,
      });
      assert.equal(await store.grants.findCode('code-missing'), undefined);
    });

    test('code redeemed exactly once', async () => {
      const account = await createAccount(store);
      const { grantId, codeHash } = await createGrant(store, account);
      const attempts = Array.from({ length: 20 }, () => ({ refresh: refreshRow(grantId, NOW) }));
      const results = await Promise.all(attempts.map((a) => store.grants.redeemCode(codeHash, NOW, a.refresh)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await store.grants.findCode(codeHash))?.consumedAt, NOW);
      for (const [index, attempt] of attempts.entries()) {
        const won = results[index] === true;
        assert.equal((await store.grants.findRefreshToken(attempt.refresh.hash)) !== undefined, won);
      }
    });

    test('writes made together commit apart', async () => {
      const account = await createAccount(store);
      const existing = await createGrant(store, account);
      const grant = (id: string) => ({ id, clientId: account.clientId, userId: account.userId, scope: 'profile', createdAt: NOW });
      const code = (grantId: string) => ({
        hash: `code-${randomUUID()}`, grantId, redirectUri: 'https://app.example.test/callback', redirectUriGiven: true,
        codeChallenge: null, createdAt: NOW, expiresAt: NOW + 600_000,
      });
      const fresh = `grant-${randomUUID()}`;
      const freshCode = code(fresh);
      // Started in one turn of the event loop: the embedded store commits them in one transaction.
      const [duplicate, created, redeemed] = await Promise.allSettled([
        store.grants.createWithCode(grant(existing.grantId), code(existing.grantId)),
        store.grants.createWithCode(grant(fresh), freshCode),
        store.grants.redeemCode(existing.codeHash, NOW, refreshRow(existing.grantId, NOW)),
      ]);
      assert.equal(duplicate.status, 'rejected');
      assert.equal(created.status, 'fulfilled');
      assert.deepEqual(redeemed, { status: 'fulfilled', value: true });
      assert.equal((await store.grants.findCode(freshCode.hash))?.grantId, fresh);
      assert.equal((await store.grants.findCode(existing.codeHash))?.consumedAt, NOW);
    });

    test('changes through another connection are seen', async () => {
      const other = await openStore({ databaseUrl: database!.url });
      // A server process reuses one reading of the change counters for at most a millisecond.
      const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 2));
      try {
        const account = await createAccount(store);
        const { grantId, refresh } = await createRedeemedGrant(store, account);
        const token = accessHash();
        // Read once so that a store that keeps rows in memory has them.
        assert.equal((await store.grants.findGrantAccess(grantId, token))?.tokenRevoked, false);
        assert.equal((await store.grants.findRefreshToken(refresh.hash))?.rotatedAt, null);
        assert.equal((await store.clients.findById(account.clientId))?.secretHash, `secret-${account.clientId}`);

        await other.grants.revokeAccessToken(token, grantId, NOW + HOUR);
        await nextTurn();
        assert.equal((await store.grants.findRefreshToken(refresh.hash))?.rotatedAt, null);
        assert.equal((await store.grants.findGrantAccess(grantId, token))?.tokenRevoked, true);

        assert.equal(await other.grants.rotateRefreshToken(refresh.hash, NOW + 1, refreshRow(grantId, NOW + 1)), true);
        await nextTurn();
        assert.equal((await store.grants.findRefreshToken(refresh.hash))?.rotatedAt, NOW + 1);

        // Each change follows a fresh read, so that an earlier change cannot have emptied the cache already.
        assert.equal((await store.clients.findById(account.clientId))?.secretHash, `secret-${account.clientId}`);
        assert.equal(await other.clients.rotateSecret(account.clientId, 'secret-new', 'hmac', null), true);
        await nextTurn();
        assert.equal((await store.clients.findById(account.clientId))?.secretHash, 'secret-new');

        const probe = accessHash();
        assert.equal((await store.grants.findGrantAccess(grantId, probe))?.revokedAt, null);
        assert.equal((await store.grants.findRefreshToken(refresh.hash))?.grantRevokedAt, null);
        await other.grants.revoke(grantId, NOW + 2);
        await nextTurn();
        assert.equal((await store.grants.findGrantAccess(grantId, probe))?.revokedAt, NOW + 2);
        assert.equal((await store.grants.findRefreshToken(refresh.hash))?.grantRevokedAt, NOW + 2);

        assert.equal((await store.clients.findById(account.clientId))?.secretHash, 'secret-new');
        assert.equal(await other.clients.delete(account.clientId), true);
        await nextTurn();
        assert.equal(await store.clients.findById(account.clientId), undefined);
        assert.equal(await store.grants.findRefreshToken(refresh.hash), undefined);
      } finally {
        await other.close();
      }
    });

    test('own changes are seen at once', async () => {
      const account = await createAccount(store);
      const { grantId, refresh } = await createRedeemedGrant(store, account);
      const token = accessHash();
      assert.equal((await store.grants.findGrantAccess(grantId, token))?.tokenRevoked, false);
      await store.grants.revokeAccessToken(token, grantId, NOW + HOUR);
      assert.equal((await store.grants.findGrantAccess(grantId, token))?.tokenRevoked, true);
      assert.equal((await store.grants.findRefreshToken(refresh.hash))?.rotatedAt, null);
      assert.equal(await store.grants.rotateRefreshToken(refresh.hash, NOW + 1, refreshRow(grantId, NOW + 1)), true);
      assert.equal((await store.grants.findRefreshToken(refresh.hash))?.rotatedAt, NOW + 1);
      assert.equal((await store.clients.findById(account.clientId))?.name, `Client ${account.clientId}`);
      assert.equal(await store.clients.update(account.clientId, { name: 'Renamed' }), true);
      assert.equal((await store.clients.findById(account.clientId))?.name, 'Renamed');
      await store.grants.revoke(grantId, NOW + 2);
      assert.equal((await store.grants.findRefreshToken(refresh.hash))?.grantRevokedAt, NOW + 2);
    });

    test('expired code not redeemable', async () => {
      const account = await createAccount(store);
      const { grantId, codeHash } = await createGrant(store, account, { codeExpiresAt: NOW + 1000 });
      const refresh = refreshRow(grantId, NOW + 1000);
      assert.equal(await store.grants.redeemCode(codeHash, NOW + 1000, refresh), false);
      assert.equal((await store.grants.findCode(codeHash))?.consumedAt, null);
      assert.equal(await store.grants.findRefreshToken(refresh.hash), undefined);
    });

    test('revoked grant code not redeemable', async () => {
      const account = await createAccount(store);
      const { grantId, codeHash } = await createGrant(store, account);
      await store.grants.revoke(grantId, NOW + 1);
      const refresh = refreshRow(grantId, NOW + 2);
      assert.equal(await store.grants.redeemCode(codeHash, NOW + 2, refresh), false);
      const code = await store.grants.findCode(codeHash);
      assert.equal(code?.consumedAt, null);
      assert.equal(code?.grantRevokedAt, NOW + 1);
      assert.equal(await store.grants.findRefreshToken(refresh.hash), undefined);
    });

    test('refresh token find', async () => {
      for (const rotation of [true, false, null]) {
        const account = await createAccount(store, { refreshTokenRotation: rotation });
        const { grantId, refresh } = await createRedeemedGrant(store, account);
        assert.deepEqual(await store.grants.findRefreshToken(refresh.hash), {
          hash: refresh.hash, grantId, clientId: account.clientId, userId: account.userId, scope: 'profile',
          createdAt: NOW, rotatedAt: null, clientRotation: rotation, grantRevokedAt: null,
        });
      }
      assert.equal(await store.grants.findRefreshToken('refresh-missing'), undefined);
    });

    test('refresh rotated exactly once', async () => {
      const account = await createAccount(store);
      const { grantId, refresh } = await createRedeemedGrant(store, account);
      const later = NOW + 5000;
      const attempts = Array.from({ length: 20 }, () => ({ successor: refreshRow(grantId, later) }));
      const results = await Promise.all(attempts.map((a) => store.grants.rotateRefreshToken(refresh.hash, later, a.successor)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await store.grants.findRefreshToken(refresh.hash))?.rotatedAt, later);
      for (const [index, attempt] of attempts.entries()) {
        const won = results[index] === true;
        assert.equal((await store.grants.findRefreshToken(attempt.successor.hash)) !== undefined, won);
      }
    });

    test('rotation refused on revoked grant', async () => {
      const account = await createAccount(store);
      const { grantId, refresh } = await createRedeemedGrant(store, account);
      await store.grants.revoke(grantId, NOW + 1);
      const successor = refreshRow(grantId, NOW + 2);
      assert.equal(await store.grants.rotateRefreshToken(refresh.hash, NOW + 2, successor), false);
      const record = await store.grants.findRefreshToken(refresh.hash);
      assert.equal(record?.rotatedAt, null);
      assert.equal(record?.grantRevokedAt, NOW + 1);
      assert.equal(await store.grants.findRefreshToken(successor.hash), undefined);
    });

    test('grant access and token revocation', async () => {
      const account = await createAccount(store);
      const { grantId } = await createRedeemedGrant(store, account);
      const token = accessHash();
      const user = await store.users.findById(account.userId);
      const expected = { grantId, clientId: account.clientId, userId: account.userId, userEmail: user?.email, userName: user?.name, revokedAt: null, tokenRevoked: false };
      assert.deepEqual(await store.grants.findGrantAccess(grantId, token), expected);
      await store.grants.revokeAccessToken(token, grantId, NOW + HOUR);
      await store.grants.revokeAccessToken(token, grantId, NOW + HOUR);
      assert.deepEqual(await store.grants.findGrantAccess(grantId, token), { ...expected, tokenRevoked: true });
      assert.deepEqual(await store.grants.findGrantAccess(grantId, accessHash()), expected);
      await store.grants.revoke(grantId, NOW + 5);
      await store.grants.revoke(grantId, NOW + 9);
      assert.equal((await store.grants.findGrantAccess(grantId, accessHash()))?.revokedAt, NOW + 5);
      assert.equal(await store.grants.findGrantAccess('grant-missing', token), undefined);
    });

    test('revoke for user and client', async () => {
      const account = await createAccount(store);
      const other = await createAccount(store);
      const first = await createRedeemedGrant(store, account);
      const second = await createRedeemedGrant(store, account);
      const otherClientGrant = await createGrant(store, { userId: account.userId, clientId: other.clientId });
      assert.equal(await store.grants.revokeForUserAndClient(account.userId, account.clientId, NOW + 1), 2);
      assert.equal(await store.grants.revokeForUserAndClient(account.userId, account.clientId, NOW + 2), 0);
      assert.equal((await store.grants.findRefreshToken(first.refresh.hash))?.grantRevokedAt, NOW + 1);
      assert.equal((await store.grants.findRefreshToken(second.refresh.hash))?.grantRevokedAt, NOW + 1);
      assert.equal((await store.grants.findCode(otherClientGrant.codeHash))?.grantRevokedAt, null);
    });

    test('touch throttled to a minute', async () => {
      const account = await createAccount(store);
      const { grantId } = await createGrant(store, account);
      const lastUsed = async () => (await store.grants.connections(account.userId))[0]?.lastUsedAt;
      assert.equal(await lastUsed(), null);
      await store.grants.touch(grantId, NOW);
      assert.equal(await lastUsed(), NOW);
      await store.grants.touch(grantId, NOW + 59_999);
      assert.equal(await lastUsed(), NOW);
      await store.grants.touch(grantId, NOW + 60_001);
      assert.equal(await lastUsed(), NOW + 60_001);
    });

    test('connections list live grants', async () => {
      const { userId, clientId: zuluId } = await createAccount(store, { name: 'Zulu' });
      const alpha = clientRow({ name: 'Alpha' });
      const revokedOnly = clientRow({ name: 'Mike' });
      await store.clients.create(alpha);
      await store.clients.create(revokedOnly);
      await createGrant(store, { userId, clientId: zuluId }, { createdAt: NOW + 100, scope: 'profile forms:read' });
      await createRedeemedGrant(store, { userId, clientId: zuluId }, NOW + 200);
      await createGrant(store, { userId, clientId: alpha.id }, { createdAt: NOW + 300, scope: 'forms:read' });
      const revoked = await createGrant(store, { userId, clientId: revokedOnly.id });
      await store.grants.revoke(revoked.grantId, NOW + 400);

      assert.deepEqual(await store.grants.connections(userId), [
        { clientId: alpha.id, clientName: 'Alpha', scope: 'forms:read', firstAuthorizedAt: NOW + 300, lastUsedAt: null },
        { clientId: zuluId, clientName: 'Zulu', scope: 'forms:read profile', firstAuthorizedAt: NOW + 100, lastUsedAt: NOW + 200 },
      ]);
      assert.deepEqual(await store.grants.connections('user-missing'), []);
    });

    test('consent remember and forget', async () => {
      const { userId, clientId } = await createAccount(store);
      assert.deepEqual(await store.consents.find(userId, clientId), []);
      await store.consents.remember(userId, clientId, ['profile', 'forms:read'], NOW);
      assert.deepEqual(await store.consents.find(userId, clientId), ['forms:read', 'profile']);
      await store.consents.remember(userId, clientId, ['forms:write', 'profile'], NOW + 1);
      assert.deepEqual(await store.consents.find(userId, clientId), ['forms:read', 'forms:write', 'profile']);
      await store.consents.forget(userId, clientId);
      assert.deepEqual(await store.consents.find(userId, clientId), []);
    });

    test('audit record and list', async () => {
      await withFreshDatabase(kind, async (fresh) => withStore(fresh.url, async (own) => {
        const event = (at: number, name: string, userId: string | null, clientId: string | null): AuditEvent =>
          ({ at, event: name, outcome: 'success', userId, clientId, grantId: null, address: '127.0.0.1', detail: null });
        await own.audit.record([]);
        await own.audit.record([
          event(NOW, 'first', 'u1', 'c1'),
          event(NOW + 2, 'newest', 'u2', 'c1'),
          event(NOW + 1, 'tie-inserted-first', 'u1', 'c2'),
          { ...event(NOW + 1, 'tie-inserted-second', null, null), outcome: 'failure', grantId: 'g1', address: null, detail: 'reason' },
        ]);
        const names = async (filter: { userId?: string; clientId?: string; limit: number }) =>
          (await own.audit.list(filter)).map((e) => e.event);
        assert.deepEqual(await names({ limit: 10 }), ['newest', 'tie-inserted-second', 'tie-inserted-first', 'first']);
        assert.deepEqual(await names({ limit: 2 }), ['newest', 'tie-inserted-second']);
        assert.deepEqual(await names({ userId: 'u1', limit: 10 }), ['tie-inserted-first', 'first']);
        assert.deepEqual(await names({ clientId: 'c1', limit: 10 }), ['newest', 'first']);
        assert.deepEqual(await names({ userId: 'u1', clientId: 'c2', limit: 10 }), ['tie-inserted-first']);
        assert.deepEqual((await own.audit.list({ limit: 10 }))[1], {
          at: NOW + 1, event: 'tie-inserted-second', outcome: 'failure', userId: null, clientId: null, grantId: 'g1', address: null, detail: 'reason',
        });
      }));
    });

    test('purge in batches', async () => {
      await withFreshDatabase(kind, async (fresh) => withStore(fresh.url, async (own) => {
        const account = await createAccount(own);
        const retiredBefore = NOW - 5000;
        const earlier = NOW - 20_000;

        // Codes: three expired and one of a revoked grant go, two live ones stay (one of them consumed).
        const expiredCodes = [];
        for (let i = 0; i < 3; i++) expiredCodes.push(await createGrant(own, account, { createdAt: earlier, codeExpiresAt: NOW }));
        const liveCode = await createGrant(own, account);
        const consumed = await createRedeemedGrant(own, account, earlier);
        const revoked = await createRedeemedGrant(own, account, earlier);
        await own.grants.revoke(revoked.grantId, earlier + 1);

        // Revoked access tokens: rows for two that expire by now go, the one still valid stays.
        const expiredAccess = [accessHash(), accessHash()];
        await own.grants.revokeAccessToken(expiredAccess[0]!, liveCode.grantId, NOW);
        await own.grants.revokeAccessToken(expiredAccess[1]!, liveCode.grantId, NOW - 10);
        const liveAccess = accessHash();
        await own.grants.revokeAccessToken(liveAccess, liveCode.grantId, NOW + 1);

        // Refresh tokens: one retired before retiredBefore goes, one retired after it stays, current ones stay.
        const oldRotation = await createRedeemedGrant(own, account, earlier);
        const oldSuccessor = refreshRow(oldRotation.grantId, retiredBefore - 1);
        assert.equal(await own.grants.rotateRefreshToken(oldRotation.refresh.hash, retiredBefore - 1, oldSuccessor), true);
        const recentRotation = await createRedeemedGrant(own, account, earlier);
        const recentSuccessor = refreshRow(recentRotation.grantId, retiredBefore + 1);
        assert.equal(await own.grants.rotateRefreshToken(recentRotation.refresh.hash, retiredBefore + 1, recentSuccessor), true);

        const sessions = [NOW - 1, NOW, NOW - HOUR, NOW + 1].map((expiresAt) => ({ idHash: randomUUID(), userId: account.userId, createdAt: earlier, expiresAt }));
        for (const session of sessions) await own.sessions.create(session);
        const requests = [NOW, NOW - 1, NOW - 2, NOW + 1].map((expiresAt) => ({
          id: randomUUID(), clientId: account.clientId, redirectUri: 'https://app.example.test/callback', redirectUriGiven: true,
          state: null, scope: 'profile', codeChallenge: null, createdAt: earlier, expiresAt,
        }));
        for (const request of requests) await own.requests.create(request);

        assert.deepEqual(await own.purge(NOW, retiredBefore, 2), { codes: 4, accessTokenRevocations: 2, refreshTokens: 2, sessions: 3, requests: 3 });
        assert.deepEqual(await own.purge(NOW, retiredBefore, 2), { codes: 0, accessTokenRevocations: 0, refreshTokens: 0, sessions: 0, requests: 0 });

        for (const { codeHash } of expiredCodes) assert.equal(await own.grants.findCode(codeHash), undefined);
        assert.equal(await own.grants.findCode(revoked.codeHash), undefined);
        assert.notEqual(await own.grants.findCode(liveCode.codeHash), undefined);
        assert.notEqual(await own.grants.findCode(consumed.codeHash), undefined);
        for (const hash of expiredAccess) assert.equal((await own.grants.findGrantAccess(liveCode.grantId, hash))?.tokenRevoked, false);
        assert.equal((await own.grants.findGrantAccess(liveCode.grantId, liveAccess))?.tokenRevoked, true);
        assert.equal(await own.grants.findRefreshToken(oldRotation.refresh.hash), undefined);
        assert.equal(await own.grants.findRefreshToken(revoked.refresh.hash), undefined);
        for (const { hash } of [oldSuccessor, recentRotation.refresh, recentSuccessor, consumed.refresh]) {
          assert.notEqual(await own.grants.findRefreshToken(hash), undefined);
        }
        assert.deepEqual(await own.sessions.find(sessions[3]!.idHash, NOW), sessions[3]);
        assert.deepEqual(await own.requests.find(requests[3]!.id, NOW), requests[3]);
      }));
    });

    test('hash key stable across reopen', async () => {
      await withFreshDatabase(kind, async (fresh) => {
        const key = await withStore(fresh.url, async (own) => {
          const first = await own.storedHashKey();
          assert.equal(first.length, 32);
          assert.deepEqual(await own.storedHashKey(), first);
          return first;
        });
        assert.deepEqual(await withStore(fresh.url, (own) => own.storedHashKey()), key);
      });
    });

    test('migrate idempotent', async () => {
      await withFreshDatabase(kind, async (fresh) => {
        // Stores opened at once on an empty database apply each migration exactly once between them.
        const opened = await Promise.all(Array.from({ length: 3 }, () => openStore({ databaseUrl: fresh.url })));
        try {
          const applied = await Promise.all(opened.map((own) => own.migrate()));
          assert.deepEqual(applied.flat().sort(), kind === 'sqlite' ? [1, 2] : [1]);
          assert.deepEqual(await opened[0]!.migrate(), applied[0]);
        } finally {
          await Promise.all(opened.map((own) => own.close()));
        }
        assert.deepEqual(await withStore(fresh.url, (own) => own.migrate()), []);
        await withStore(fresh.url, async (own) => {
          await createAccount(own);
          assert.equal(await own.clients.count(), 1);
        });
      });
    });
  });
}

describe('postgres store settings', { skip: skipReason('postgres') }, () => {
  test('description hides credentials', async () => {
    await withFreshDatabase('postgres', async (fresh) => {
      const url = new URL(fresh.url);
      url.password = 'not-a-real-password';
      url.searchParams.set('application_name', 'kiwiform-test');
      await withStore(url.toString(), async (own) => {
        assert.equal(own.description, `postgres://${url.host}${url.pathname}`);
      });
    });
  });

  test('pool stats', async () => {
    await withFreshDatabase('postgres', (fresh) => withStore(fresh.url, async (own) => {
      await Promise.all(Array.from({ length: 8 }, () => own.ping()));
      const stats = own.poolStats?.();
      assert.ok(stats, 'a PostgreSQL store reports pool stats');
      assert.ok(stats.total >= 1, `total ${stats.total} counts the connections just used`);
      assert.ok(stats.total <= 5, `total ${stats.total} exceeds the pool size of 5`);
      assert.equal(stats.idle, stats.total);
      assert.equal(stats.waiting, 0);
    }));
  });

  test('statement timeout fails fast', async () => {
    await withFreshDatabase('postgres', async (fresh) => {
      const store = await openStore({ databaseUrl: fresh.url, databaseTimeout: 1 });
      const locker = new pg.Client({ connectionString: fresh.url });
      await locker.connect();
      try {
        const account = await createAccount(store);
        const { grantId, codeHash } = await createGrant(store, account);
        await locker.query('begin');
        await locker.query('select * from authorization_codes where hash = $1 for update', [codeHash]);
        const started = Date.now();
        const error = await store.grants.redeemCode(codeHash, NOW, refreshRow(grantId, NOW)).then(
          () => assert.fail('redeemCode waited out the lock instead of timing out'),
          (reason: unknown) => reason,
        );
        assert.equal((error as { code?: string }).code, '57014');
        assert.equal(isTemporaryStorageFailure(error), true);
        assert.ok(Date.now() - started < 4000, `failed after ${Date.now() - started} ms`);
        await locker.query('rollback');
        assert.equal(await store.grants.redeemCode(codeHash, NOW, refreshRow(grantId, NOW)), true);
      } finally {
        await locker.end();
        await store.close();
      }
    });
  });

  test('unreachable server is temporary', async () => {
    // Port 1 on the loopback interface has no listener, so the connection is refused at once.
    const error = await openStore({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', databaseTimeout: 1 }).then(
      () => assert.fail('opened a store on a closed port'),
      (reason: unknown) => reason,
    );
    assert.equal(isTemporaryStorageFailure(error), true, String(error));
  });

  test('close is idempotent', async () => {
    await withFreshDatabase('postgres', async (fresh) => {
      const store = await openStore({ databaseUrl: fresh.url });
      await Promise.all([store.close(), store.close()]);
      await store.close();
      await assert.rejects(store.ping());
    });
  });
});
