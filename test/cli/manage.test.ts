import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { openStore } from '../../src/storage/open-store.js';
import type { AuditEvent } from '../../src/storage/types.js';
import { createContext } from '../../src/server.js';
import { FakeClock, issueCode } from '../helpers/fixtures.js';
import {
  assertOneLineError, buildBinary, createClient, createUser, freshDatabase, jsonObject, kiwiform, PASSWORD, readRow,
  REDIRECT_URI, removeDatabases, type Run,
} from './helpers.js';

const DAY_MS = 86_400_000;

before(buildBinary);
after(removeDatabases);

/** A database with one user and one client, both created with the real binary. */
interface Setup {
  readonly path: string;
  readonly env: Record<string, string>;
  readonly userId: string;
  readonly email: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

function setUp(clientArgs: string[] = []): Setup {
  const { path, env } = freshDatabase();
  const email = 'ada@example.com';
  const user = jsonObject(createUser(env, email));
  const client = jsonObject(createClient(env, clientArgs));
  return { path, env, userId: String(user.id), email, clientId: String(client.client_id), clientSecret: String(client.client_secret) };
}

/** Starts the real app in this process on the test's database, with a fake clock. */
async function openServer(path: string, clock: FakeClock) {
  const config = loadConfig({ KIWIFORM_DATABASE_URL: `sqlite:${path}`, KIWIFORM_LOG_LEVEL: 'silent' });
  const context = await createContext(config, undefined, clock.now);
  const app = await buildApp(context);
  await app.ready();
  const postToken = (fields: Record<string, string>) => app.inject({
    method: 'POST',
    url: '/api/zapier/token',
    payload: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  return {
    context,
    app,
    postToken,
    /** Issues a code in the store, as a completed consent would, and redeems it with `secret` as client secret. */
    async exchangeCode(setup: Setup, secret: string) {
      const client = await context.store.clients.findById(setup.clientId);
      assert.ok(client, 'client exists');
      const account = { userId: setup.userId, email: setup.email, password: PASSWORD, client, clientSecret: secret, redirectUri: REDIRECT_URI };
      const code = await issueCode(context, account);
      return postToken({ grant_type: 'authorization_code', code, client_id: setup.clientId, client_secret: secret, redirect_uri: REDIRECT_URI });
    },
    async close() {
      await app.close();
      await context.audit.flush();
      await context.store.close();
    },
  };
}

function countRows(path: string, table: string): number {
  return Number(readRow(path, `select count(*) as n from ${table}`)?.n);
}

function auditEvents(env: Record<string, string>, extra: string[] = []): Record<string, unknown>[] {
  const output = jsonObject(kiwiform(['audit', '--json', ...extra], { env }));
  assert.ok(Array.isArray(output.events), 'events is an array');
  return output.events as Record<string, unknown>[];
}

function showClient(setup: Setup): Record<string, unknown> {
  return jsonObject(kiwiform(['clients', 'show', setup.clientId, '--json'], { env: setup.env }));
}

describe('kiwiform clients show', () => {
  test('prints one client without secret', () => {
    const setup = setUp(['--scope', 'profile forms:read', '--require-pkce', '--refresh-token-rotation', 'true']);
    const storedHash = String(readRow(setup.path, 'select secret_hash from clients where id = ?', setup.clientId)?.secret_hash);

    const jsonRun = kiwiform(['clients', 'show', setup.clientId, '--json'], { env: setup.env });
    const client = jsonObject(jsonRun);
    assert.equal(client.client_id, setup.clientId);
    assert.equal(client.name, 'Zapier');
    assert.deepEqual(client.redirect_uris, [REDIRECT_URI]);
    assert.equal(client.scope, 'forms:read profile');
    assert.equal(client.require_pkce, true);
    assert.equal(client.refresh_token_rotation, true);
    assert.match(String(client.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(client.previous_secret_valid_until, null);

    const human = kiwiform(['clients', 'show', setup.clientId], { env: setup.env });
    assert.equal(human.status, 0, human.stderr);
    assert.ok(human.stdout.includes(setup.clientId), 'names the client id');
    assert.match(human.stdout, /old secret: +not accepted/);
    for (const output of [jsonRun.stdout, human.stdout]) {
      assert.ok(!output.includes(setup.clientSecret), 'secret absent');
      assert.ok(!output.includes(storedHash), 'secret hash absent');
      assert.ok(!output.includes('client_secret'), 'no client_secret field');
    }
  });

  test('shows until when the old secret works', () => {
    const setup = setUp();
    const rotated = jsonObject(kiwiform(['clients', 'rotate-secret', setup.clientId, '--keep-old-for', '1h', '--json'], { env: setup.env }));
    const until = String(rotated.previous_secret_valid_until);
    assert.equal(showClient(setup).previous_secret_valid_until, until);

    const human = kiwiform(['clients', 'show', setup.clientId], { env: setup.env });
    assert.ok(human.stdout.includes(`accepted until ${until}`), human.stdout);
    const listed = kiwiform(['clients', 'list'], { env: setup.env });
    assert.ok(listed.stdout.includes(`accepted until ${until}`), listed.stdout);
  });

  test('takes an id that starts with a dash after --', () => {
    const { env } = freshDatabase();
    jsonObject(createClient(env, ['--client-id=-dash-id', '--client-secret-stdin'], 'imported-secret-value\n'));
    const client = jsonObject(kiwiform(['clients', 'show', '--json', '--', '-dash-id'], { env }));
    assert.equal(client.client_id, '-dash-id');
  });
});

describe('kiwiform clients update', () => {
  test('changes only the name', () => {
    const setup = setUp(['--scope', 'profile']);
    const before = showClient(setup);
    const run = kiwiform(['clients', 'update', setup.clientId, '--name', 'Zapier (production)'], { env: setup.env });
    assert.equal(run.status, 0, run.stderr);
    assert.ok(run.stdout.includes('Zapier (production)'), run.stdout);
    assert.deepEqual(showClient(setup), { ...before, name: 'Zapier (production)' });
  });

  test('replaces the redirect URIs', () => {
    const setup = setUp();
    const uris = ['https://zapier.example.test/new/return/', 'http://localhost:8080/callback'];
    const run = kiwiform(['clients', 'update', setup.clientId, ...uris.flatMap((uri) => ['--redirect-uri', uri])], { env: setup.env });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(showClient(setup).redirect_uris, uris);
  });

  test('sets scope, PKCE and rotation', () => {
    const setup = setUp();
    const args = ['--scope', 'submissions:read forms:read', '--require-pkce', 'true', '--refresh-token-rotation', 'false'];
    assert.equal(kiwiform(['clients', 'update', setup.clientId, ...args], { env: setup.env }).status, 0);
    const changed = showClient(setup);
    assert.equal(changed.scope, 'forms:read submissions:read');
    assert.equal(changed.require_pkce, true);
    assert.equal(changed.refresh_token_rotation, false);

    const reset = kiwiform(['clients', 'update', setup.clientId, '--require-pkce', 'false', '--refresh-token-rotation', 'default'], { env: setup.env });
    assert.equal(reset.status, 0, reset.stderr);
    const restored = showClient(setup);
    assert.equal(restored.require_pkce, false);
    assert.equal(restored.refresh_token_rotation, null);
    assert.equal(restored.scope, 'forms:read submissions:read');
  });

  test('rejected update changes nothing', () => {
    const setup = setUp();
    const before = showClient(setup);
    const run = kiwiform(['clients', 'update', setup.clientId, '--name', 'Renamed', '--scope', 'profile admin'], { env: setup.env });
    assertOneLineError(run, 2, '--scope');
    assert.deepEqual(showClient(setup), before);
  });
});

describe('kiwiform clients rotate-secret', () => {
  test('prints the new secret once as JSON', () => {
    const setup = setUp();
    const run = kiwiform(['clients', 'rotate-secret', setup.clientId, '--json'], { env: setup.env });
    const rotated = jsonObject(run);
    assert.deepEqual(Object.keys(rotated).sort(), ['client_id', 'client_secret', 'previous_secret_valid_until']);
    assert.equal(rotated.client_id, setup.clientId);
    assert.match(String(rotated.client_secret), /^kfs_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(rotated.client_secret, setup.clientSecret);
    assert.equal(rotated.previous_secret_valid_until, null);
    assert.match(run.stderr, /dashboard/, 'reminds to update the integration');
    assert.ok(!kiwiform(['clients', 'show', setup.clientId], { env: setup.env }).stdout.includes(String(rotated.client_secret)));
  });

  test('old secret stops at once by default', async () => {
    const setup = setUp();
    const rotated = jsonObject(kiwiform(['clients', 'rotate-secret', setup.clientId, '--json'], { env: setup.env }));
    const server = await openServer(setup.path, new FakeClock());
    try {
      const old = await server.exchangeCode(setup, setup.clientSecret);
      assert.equal(old.statusCode, 400, old.body);
      assert.equal(old.json().error, 'invalid_client');
      const fresh = await server.exchangeCode(setup, String(rotated.client_secret));
      assert.equal(fresh.statusCode, 200, fresh.body);
    } finally {
      await server.close();
    }
  });

  test('rotation reaches a running server', async () => {
    const setup = setUp();
    const server = await openServer(setup.path, new FakeClock());
    try {
      // The server has read the client, and keeps it in memory, before another process rotates the secret.
      const before = await server.exchangeCode(setup, setup.clientSecret);
      assert.equal(before.statusCode, 200, before.body);
      const rotated = jsonObject(kiwiform(['clients', 'rotate-secret', setup.clientId, '--json'], { env: setup.env }));
      await new Promise((resolve) => setTimeout(resolve, 2));
      const old = await server.exchangeCode(setup, setup.clientSecret);
      assert.equal(old.statusCode, 400, old.body);
      assert.equal(old.json().error, 'invalid_client');
      const fresh = await server.exchangeCode(setup, String(rotated.client_secret));
      assert.equal(fresh.statusCode, 200, fresh.body);
    } finally {
      await server.close();
    }
  });

  test('old secret works during the overlap only', async () => {
    const setup = setUp();
    const started = Date.now();
    const rotated = jsonObject(kiwiform(['clients', 'rotate-secret', setup.clientId, '--keep-old-for', '1h', '--json'], { env: setup.env }));
    const until = Date.parse(String(rotated.previous_secret_valid_until));
    assert.ok(until >= started + 3600_000, 'overlap lasts at least one hour');
    assert.ok(until <= Date.now() + 3600_000, 'overlap lasts at most one hour after the command ended');

    const clock = new FakeClock(until - 60_000);
    const server = await openServer(setup.path, clock);
    try {
      const during = await server.exchangeCode(setup, setup.clientSecret);
      assert.equal(during.statusCode, 200, `old secret one minute before the end: ${during.body}`);
      clock.advance(61);
      const afterEnd = await server.exchangeCode(setup, setup.clientSecret);
      assert.equal(afterEnd.statusCode, 400, afterEnd.body);
      assert.equal(afterEnd.json().error, 'invalid_client');
      const fresh = await server.exchangeCode(setup, String(rotated.client_secret));
      assert.equal(fresh.statusCode, 200, `new secret: ${fresh.body}`);
    } finally {
      await server.close();
    }
  });

  test('second rotation ends the first overlap', async () => {
    const setup = setUp();
    const first = jsonObject(kiwiform(['clients', 'rotate-secret', setup.clientId, '--keep-old-for', '1h', '--json'], { env: setup.env }));
    const second = jsonObject(kiwiform(['clients', 'rotate-secret', setup.clientId, '--keep-old-for', '1h', '--json'], { env: setup.env }));
    const server = await openServer(setup.path, new FakeClock());
    try {
      assert.equal((await server.exchangeCode(setup, setup.clientSecret)).statusCode, 400, 'original secret');
      assert.equal((await server.exchangeCode(setup, String(first.client_secret))).statusCode, 200, 'first rotated secret');
      assert.equal((await server.exchangeCode(setup, String(second.client_secret))).statusCode, 200, 'second rotated secret');
    } finally {
      await server.close();
    }
  });

  const durations: [string, number][] = [['30s', 30], ['15m', 900], ['24h', 86_400], ['7d', 604_800], ['90', 90]];
  for (const [duration, seconds] of durations) {
    test(`keeps the old secret for ${duration}`, () => {
      const { env } = freshDatabase();
      const clientId = String(jsonObject(createClient(env)).client_id);
      const started = Date.now();
      const run = kiwiform(['clients', 'rotate-secret', clientId, '--keep-old-for', duration, '--json'], { env });
      const until = Date.parse(String(jsonObject(run).previous_secret_valid_until));
      assert.ok(until >= started + seconds * 1000, `${until} is at least ${seconds} s after the start`);
      assert.ok(until <= Date.now() + seconds * 1000, `${until} is at most ${seconds} s after the end`);
    });
  }

  test('human output and audit event', () => {
    const setup = setUp();
    const run = kiwiform(['clients', 'rotate-secret', setup.clientId, '--keep-old-for', '15m'], { env: setup.env });
    assert.equal(run.status, 0, run.stderr);
    const secret = /client_secret: +(kfs_\S+)/.exec(run.stdout)?.[1];
    assert.ok(secret, `prints the secret: ${run.stdout}`);
    assert.match(run.stdout, /dashboard/);

    const events = auditEvents(setup.env, ['--client', setup.clientId]);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.event, 'client.secret_rotated');
    assert.equal(events[0]?.outcome, 'success');
    assert.equal(events[0]?.address, null);
    assert.match(String(events[0]?.detail), /accepted until \d{4}-/);
    assert.ok(!JSON.stringify(events).includes(secret), 'secret absent from the audit trail');
  });
});

describe('kiwiform clients delete', () => {
  test('deletes the client and its tokens', async () => {
    const setup = setUp();
    const server = await openServer(setup.path, new FakeClock());
    let tokens: { access_token: string; refresh_token: string };
    try {
      const exchanged = await server.exchangeCode(setup, setup.clientSecret);
      assert.equal(exchanged.statusCode, 200, exchanged.body);
      tokens = exchanged.json();
    } finally {
      await server.close();
    }
    for (const table of ['grants', 'authorization_codes', 'refresh_tokens']) {
      assert.equal(countRows(setup.path, table), 1, `${table} before the deletion`);
    }

    const run = kiwiform(['clients', 'delete', setup.clientId, '--yes'], { env: setup.env });
    assert.equal(run.status, 0, run.stderr);
    assert.ok(run.stdout.includes(setup.clientId), run.stdout);
    assertOneLineError(kiwiform(['clients', 'show', setup.clientId], { env: setup.env }), 1, 'not found');
    for (const table of ['clients', 'grants', 'authorization_codes', 'refresh_tokens']) {
      assert.equal(countRows(setup.path, table), 0, `${table} after the deletion`);
    }
    assert.equal(countRows(setup.path, 'users'), 1, 'the user stays');

    const reopened = await openServer(setup.path, new FakeClock());
    try {
      const me = await reopened.app.inject({ method: 'GET', url: '/api/zapier/me', headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(me.statusCode, 401);
      const refresh = await reopened.postToken({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      assert.equal(refresh.statusCode, 400, refresh.body);
      assert.equal(refresh.json().error, 'invalid_grant');
    } finally {
      await reopened.close();
    }

    const events = auditEvents(setup.env, ['--client', setup.clientId]);
    assert.equal(events[0]?.event, 'client.deleted');
    assert.equal(events[0]?.detail, 'name "Zapier"');
  });

  test('refuses without --yes', () => {
    const setup = setUp();
    assertOneLineError(kiwiform(['clients', 'delete', setup.clientId], { env: setup.env }), 2, '--yes', setup.clientId);
    assert.equal(showClient(setup).client_id, setup.clientId);
  });
});

describe('kiwiform audit', () => {
  const start = Date.UTC(2025, 0, 1);

  /** Two users and two clients made with the binary, and four events written straight to the audit store. */
  async function auditSetUp() {
    const { env, path } = freshDatabase();
    const ada = String(jsonObject(createUser(env, 'ada@example.com')).id);
    const grace = String(jsonObject(createUser(env, 'grace@example.com')).id);
    const first = String(jsonObject(createClient(env)).client_id);
    const second = String(jsonObject(createClient(env)).client_id);
    const event = (offset: number, name: string, userId: string | null, clientId: string | null, extra: Partial<AuditEvent> = {}): AuditEvent => ({
      at: start + offset * 1000, event: name, outcome: 'success', userId, clientId, grantId: null, address: '203.0.113.5', detail: null, ...extra,
    });
    const store = await openStore(loadConfig({ KIWIFORM_DATABASE_URL: `sqlite:${path}` }));
    try {
      await store.audit.record([
        event(1, 'token.issued', ada, first, { grantId: 'grant-1' }),
        event(2, 'token.issued', grace, first, { grantId: 'grant-2' }),
        event(3, 'token.refreshed', ada, second, { grantId: 'grant-3' }),
        event(4, 'client.authentication_failed', null, 'evil\u001b[31m', { outcome: 'failure', address: null, detail: 'two\nlines' }),
      ]);
    } finally {
      await store.close();
    }
    return { env, ada, first };
  }

  const times = (events: Record<string, unknown>[]) => events.map((event) => event.at);
  const iso = (offset: number) => new Date(start + offset * 1000).toISOString();

  test('lists events newest first as JSON', async () => {
    const { env, ada, first } = await auditSetUp();
    const events = auditEvents(env);
    assert.deepEqual(times(events), [iso(4), iso(3), iso(2), iso(1)]);
    assert.deepEqual(events[3], {
      at: iso(1), event: 'token.issued', outcome: 'success', user_id: ada, client_id: first, grant_id: 'grant-1',
      address: '203.0.113.5', detail: null,
    });
  });

  test('filters by user email, user id and client', async () => {
    const { env, ada, first } = await auditSetUp();
    assert.deepEqual(times(auditEvents(env, ['--user', 'ADA@example.com'])), [iso(3), iso(1)], 'by email');
    assert.deepEqual(times(auditEvents(env, ['--user', ada])), [iso(3), iso(1)], 'by id');
    assert.deepEqual(times(auditEvents(env, ['--client', first])), [iso(2), iso(1)], 'by client');
    assert.deepEqual(times(auditEvents(env, ['--user', ada, '--client', first])), [iso(1)], 'by user and client');
    const quiet = String(jsonObject(createClient(env)).client_id);
    assert.deepEqual(auditEvents(env, ['--client', quiet]), [], 'registered client without events');
    assert.equal(auditEvents(env, ['--client', 'evil\u001b[31m']).length, 1, 'events of a client that no longer exists');
  });

  test('--limit keeps the newest', async () => {
    const { env } = await auditSetUp();
    assert.deepEqual(times(auditEvents(env, ['--limit', '2'])), [iso(4), iso(3)]);
  });

  test('human output escapes control characters', async () => {
    const { env } = await auditSetUp();
    const run = kiwiform(['audit'], { env });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.split('\n').filter((line) => line !== '');
    assert.equal(lines.length, 5, 'a heading and one line per event');
    assert.match(lines[0] ?? '', /^TIME +EVENT +OUTCOME +USER +CLIENT +GRANT +ADDRESS +DETAIL$/);
    assert.ok(lines[1]?.startsWith(iso(4)), lines[1]);
    assert.ok(!run.stdout.includes('\u001b'), 'no escape character reaches the terminal');
    assert.ok(lines[1]?.includes('evil\\u001b[31m'), lines[1]);
    assert.ok(lines[1]?.includes('two\\u000alines'), lines[1]);
    assert.match(lines[1] ?? '', /failure +- +evil/, 'a missing user shows as -');
  });

  test('empty trail', () => {
    const { env } = freshDatabase();
    const run = kiwiform(['audit'], { env });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'No audit events match.\n');
    assert.deepEqual(jsonObject(kiwiform(['audit', '--json'], { env })), { events: [] });
  });
});

describe('kiwiform purge', () => {
  const purgeCounts = (setup: Setup, extra: string[] = []) =>
    jsonObject(kiwiform(['purge', '--json', ...extra], { env: setup.env }));
  const counts = (codes: number, revocations: number, refreshTokens: number, sessions: number, requests: number) =>
    ({ codes, access_token_revocations: revocations, refresh_tokens: refreshTokens, sessions, authorization_requests: requests });

  /**
   * Writes one grant 40 days ago (a used code, a refresh token retired by rotation and its successor), an
   * expired session and request, and one live grant, session and request. Access tokens are not stored.
   */
  async function purgeSetUp(): Promise<Setup> {
    const setup = setUp(['--refresh-token-rotation', 'true']);
    const clock = new FakeClock(Date.now() - 40 * DAY_MS);
    const server = await openServer(setup.path, clock);
    const { store } = server.context;
    const pending = (id: string, now: number) => ({
      id, clientId: setup.clientId, redirectUri: REDIRECT_URI, redirectUriGiven: true, state: null, scope: 'profile',
      codeChallenge: null, createdAt: now, expiresAt: now + 600_000,
    });
    try {
      const old = await server.exchangeCode(setup, setup.clientSecret);
      assert.equal(old.statusCode, 200, old.body);
      const refreshed = await server.postToken({ grant_type: 'refresh_token', refresh_token: old.json().refresh_token });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      await store.sessions.create({ idHash: 'expired-session', userId: setup.userId, createdAt: clock.time, expiresAt: clock.time + 3600_000 });
      await store.requests.create(pending('expired-request', clock.time));

      clock.time = Date.now();
      const live = await server.exchangeCode(setup, setup.clientSecret);
      assert.equal(live.statusCode, 200, live.body);
      await store.sessions.create({ idHash: 'live-session', userId: setup.userId, createdAt: clock.time, expiresAt: clock.time + 3600_000 });
      await store.requests.create(pending('live-request', clock.time));
    } finally {
      await server.close();
    }
    return setup;
  }

  test('deletes expired rows and keeps live ones', async () => {
    const setup = await purgeSetUp();
    assert.deepEqual(purgeCounts(setup), counts(1, 0, 1, 1, 1));
    assert.equal(countRows(setup.path, 'authorization_codes'), 1, 'live code');
    assert.equal(countRows(setup.path, 'refresh_tokens'), 2, 'successor and live refresh token');
    assert.equal(countRows(setup.path, 'sessions'), 1, 'live session');
    assert.equal(countRows(setup.path, 'authorization_requests'), 1, 'live request');
    assert.deepEqual(purgeCounts(setup), counts(0, 0, 0, 0, 0), 'second run');
  });

  test('--retired-refresh-token-days keeps recent ones', async () => {
    const setup = await purgeSetUp();
    assert.deepEqual(purgeCounts(setup, ['--retired-refresh-token-days', '60']), counts(1, 0, 0, 1, 1));
    assert.deepEqual(purgeCounts(setup, ['--retired-refresh-token-days', '39']), counts(0, 0, 1, 0, 0));
  });

  test('--batch-size 1 deletes every row', async () => {
    const setup = setUp();
    const store = await openStore(loadConfig({ KIWIFORM_DATABASE_URL: `sqlite:${setup.path}` }));
    try {
      for (const idHash of ['one', 'two', 'three']) {
        await store.sessions.create({ idHash, userId: setup.userId, createdAt: 1000, expiresAt: 2000 });
      }
    } finally {
      await store.close();
    }
    const run = kiwiform(['purge', '--batch-size', '1'], { env: setup.env });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /sessions: +3\n/);
    assert.match(run.stdout, /authorization codes: +0\n/);
    assert.equal(countRows(setup.path, 'sessions'), 0);
  });
});

describe('kiwiform management arguments', () => {
  const ID = '<client id>';
  const cases: [string, string[], number, string[]][] = [
    ['show without id', ['clients', 'show'], 2, ['needs a client id']],
    ['show with two ids', ['clients', 'show', ID, 'other'], 2, ['"other"']],
    ['show unknown id', ['clients', 'show', 'no-such-client'], 1, ['"no-such-client"', 'not found']],
    ['show unknown option', ['clients', 'show', ID, '--yes'], 2, ['--yes']],
    ['update without id', ['clients', 'update', '--name', 'New'], 2, ['needs a client id']],
    ['update without change', ['clients', 'update', ID], 2, ['--name', '--redirect-uri', '--scope']],
    ['update unknown id', ['clients', 'update', 'no-such-client', '--name', 'New'], 1, ['"no-such-client"', 'not found']],
    ['update empty name', ['clients', 'update', ID, '--name', ' '], 2, ['--name']],
    ['update plain http URI', ['clients', 'update', ID, '--redirect-uri', 'http://zapier.example.test/cb'], 2, ['--redirect-uri', 'https']],
    ['update URI with fragment', ['clients', 'update', ID, '--redirect-uri', 'https://zapier.example.test/cb#x'], 2, ['--redirect-uri', 'fragment']],
    ['update unknown scope', ['clients', 'update', ID, '--scope', 'admin'], 2, ['--scope', '"admin"']],
    ['update empty scope', ['clients', 'update', ID, '--scope', ''], 2, ['--scope']],
    ['update PKCE yes', ['clients', 'update', ID, '--require-pkce', 'yes'], 2, ['--require-pkce', 'true or false']],
    ['update PKCE without value', ['clients', 'update', ID, '--require-pkce'], 2, ['--require-pkce']],
    ['update rotation maybe', ['clients', 'update', ID, '--refresh-token-rotation', 'maybe'], 2, ['--refresh-token-rotation', 'default']],
    ['rotate without id', ['clients', 'rotate-secret', '--json'], 2, ['needs a client id']],
    ['rotate unknown id', ['clients', 'rotate-secret', 'no-such-client'], 1, ['"no-such-client"', 'not found']],
    ['rotate overlap in weeks', ['clients', 'rotate-secret', ID, '--keep-old-for', '1w'], 2, ['--keep-old-for', '"1w"']],
    ['rotate fractional overlap', ['clients', 'rotate-secret', ID, '--keep-old-for', '1.5h'], 2, ['--keep-old-for']],
    ['rotate negative overlap', ['clients', 'rotate-secret', ID, '--keep-old-for=-5'], 2, ['--keep-old-for']],
    ['rotate overlap with space', ['clients', 'rotate-secret', ID, '--keep-old-for', '10 m'], 2, ['--keep-old-for']],
    ['rotate overlap over 30 days', ['clients', 'rotate-secret', ID, '--keep-old-for', '31d'], 2, ['--keep-old-for', '30d']],
    ['rotate empty overlap', ['clients', 'rotate-secret', ID, '--keep-old-for', ''], 2, ['--keep-old-for']],
    ['rotate overlap twice', ['clients', 'rotate-secret', ID, '--keep-old-for', '1h', '--keep-old-for', '2h'], 2, ['--keep-old-for', 'more than once']],
    ['delete without id', ['clients', 'delete', '--yes'], 2, ['needs a client id']],
    ['delete unknown id', ['clients', 'delete', 'no-such-client', '--yes'], 1, ['"no-such-client"', 'not found']],
    ['delete with --yes value', ['clients', 'delete', ID, '--yes=true'], 2, ['--yes', 'no value']],
    ['audit zero limit', ['audit', '--limit', '0'], 2, ['--limit', '1 to 10000']],
    ['audit limit too large', ['audit', '--limit', '10001'], 2, ['--limit', '1 to 10000']],
    ['audit limit in words', ['audit', '--limit', 'ten'], 2, ['--limit']],
    ['audit empty user', ['audit', '--user', ''], 2, ['--user']],
    ['audit empty client', ['audit', '--client', ''], 2, ['--client']],
    ['audit unknown email', ['audit', '--user', 'nobody@example.com'], 1, ['--user', 'nobody@example.com']],
    ['audit unknown client', ['audit', '--client', 'no-such-client'], 1, ['--client', '"no-such-client"', 'clients list']],
    ['audit positional argument', ['audit', 'ada@example.com'], 2, ['"ada@example.com"']],
    ['purge zero batch size', ['purge', '--batch-size', '0'], 2, ['--batch-size', '1 to 100000']],
    ['purge batch size too large', ['purge', '--batch-size', '100001'], 2, ['--batch-size']],
    ['purge batch size in words', ['purge', '--batch-size', 'all'], 2, ['--batch-size']],
    ['purge zero days', ['purge', '--retired-refresh-token-days', '0'], 2, ['--retired-refresh-token-days', '1 to 3650']],
    ['purge fractional days', ['purge', '--retired-refresh-token-days', '1.5'], 2, ['--retired-refresh-token-days']],
    ['purge too many days', ['purge', '--retired-refresh-token-days', '3651'], 2, ['--retired-refresh-token-days']],
  ];
  for (const [name, args, status, fragments] of cases) {
    test(`rejects ${name}`, () => {
      const { env } = freshDatabase();
      const clientId = args.includes(ID) ? String(jsonObject(createClient(env)).client_id) : ID;
      const run: Run = kiwiform(args.map((arg) => (arg === ID ? clientId : arg)), { env });
      assertOneLineError(run, status, ...fragments);
      if (args.includes(ID)) {
        const client = jsonObject(kiwiform(['clients', 'show', clientId, '--json'], { env }));
        assert.equal(client.name, 'Zapier', 'client unchanged');
        assert.equal(client.previous_secret_valid_until, null, 'secret not rotated');
      }
    });
  }

  test('clients group lists the new subcommands', () => {
    assertOneLineError(kiwiform(['clients']), 2, 'kiwiform clients show', 'kiwiform clients rotate-secret', 'kiwiform clients delete');
  });

  test('help covers every new command', () => {
    const run = kiwiform(['help']);
    assert.equal(run.status, 0);
    for (const usage of [
      'clients show CLIENT_ID', 'clients update CLIENT_ID', 'clients rotate-secret CLIENT_ID [--keep-old-for DURATION]',
      'clients delete CLIENT_ID --yes', 'audit [--user ID_OR_EMAIL]', 'purge [--batch-size N]',
    ]) {
      assert.ok(run.stdout.includes(`kiwiform ${usage}`), usage);
    }
  });
});
