import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { KeyedHasher, verifyPassword } from '../../src/crypto/secrets.js';
import { CLIENT_SECRET_PURPOSE } from '../../src/oauth/client-auth.js';
import {
  assertOneLineError, buildBinary, createClient, createUser, freshDatabase, jsonObject, kiwiform, PASSWORD, readRow,
  REDIRECT_URI, removeDatabases,
} from './helpers.js';

before(buildBinary);
after(removeDatabases);

describe('kiwiform help', () => {
  for (const args of [[], ['help'], ['--help'], ['clients', 'create', '--help']]) {
    test(`prints usage for "${args.join(' ')}"`, () => {
      const run = kiwiform(args);
      assert.equal(run.status, 0);
      assert.match(run.stdout, /^Usage: kiwiform/);
      assert.match(run.stdout, /users create --email EMAIL --password-stdin/);
      assert.match(run.stdout, /--access-token-ttl SECONDS/);
      assert.equal(run.stderr, '');
    });
  }
});

describe('kiwiform arguments', () => {
  test('unknown option exits 2', () => {
    assertOneLineError(kiwiform(['users', 'create', '--emial', 'a@example.com']), 2, '--emial');
  });

  test('unknown command exits 2', () => {
    assertOneLineError(kiwiform(['frobnicate']), 2, 'frobnicate');
  });

  test('missing option value exits 2', () => {
    assertOneLineError(kiwiform(['users', 'create', '--email']), 2, '--email');
  });

  test('repeated single option exits 2', () => {
    const run = kiwiform(['users', 'create', '--email', 'a@example.com', '--email', 'b@example.com', '--password-stdin']);
    assertOneLineError(run, 2, '--email');
  });

  test('invalid environment setting exits 2', () => {
    const { env } = freshDatabase();
    const run = createUser({ ...env, KIWIFORM_ACCESS_TOKEN_TTL: 'soon' }, 'a@example.com');
    assertOneLineError(run, 2, 'KIWIFORM_ACCESS_TOKEN_TTL');
  });

  test('invalid --database-url exits 2', () => {
    assertOneLineError(kiwiform(['clients', 'list', '--database-url', 'mysql://db']), 2, '--database-url');
  });
});

describe('kiwiform migrate', () => {
  test('second run is a no-op', () => {
    const { path, env } = freshDatabase();
    const first = kiwiform(['migrate'], { env });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^Applied migrations? \d+/);
    assert.ok(first.stdout.includes(path), 'names the database');

    const second = kiwiform(['migrate'], { env });
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /already up to date/);
    assert.equal(second.stdout.split('\n').filter(Boolean).length, 1);
  });

  test('accepts --database-url', () => {
    const { path } = freshDatabase();
    const run = kiwiform(['migrate', '--database-url', `sqlite:${path}`]);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(existsSync(path), 'database file created');
  });
});

describe('kiwiform users create', () => {
  test('prints id, email and name as JSON', () => {
    const { env } = freshDatabase();
    const user = jsonObject(createUser(env, 'ada@example.com'));
    assert.equal(typeof user.id, 'string');
    assert.notEqual(user.id, '');
    assert.equal(user.email, 'ada@example.com');
    assert.equal(user.name, 'ada');
  });

  test('stores --name and a verifiable password hash', async () => {
    const { path, env } = freshDatabase();
    const user = jsonObject(createUser(env, 'grace@example.com', `${PASSWORD}\r\n`, ['--name', 'Grace Hopper']));
    assert.equal(user.name, 'Grace Hopper');
    const row = readRow(path, 'select name, password_hash from users where id = ?', String(user.id));
    assert.equal(row?.name, 'Grace Hopper');
    assert.equal(await verifyPassword(PASSWORD, String(row?.password_hash)), true, 'one trailing \\r\\n is stripped');
  });

  test('duplicate email exits 1', () => {
    const { env } = freshDatabase();
    jsonObject(createUser(env, 'ada@example.com'));
    assertOneLineError(createUser(env, 'ADA@example.com'), 1, 'ADA@example.com', 'already registered');
  });

  for (const email of ['not-an-email', 'a@b@example.com', 'a b@example.com', '@example.com', `${'x'.repeat(250)}@example.com`]) {
    test(`rejects email ${email.slice(0, 24)}`, () => {
      const { env } = freshDatabase();
      assertOneLineError(createUser(env, email), 2, '--email');
    });
  }

  const invisible: [string, string][] = [
    ['zero-width space', '\u200b'],
    ['right-to-left override', '\u202e'],
    ['no-break space', '\u00a0'],
    ['line separator', '\u2028'],
    ['tab', '\t'],
    ['byte order mark', '\ufeff'],
  ];
  for (const [name, character] of invisible) {
    test(`rejects email with a ${name}`, () => {
      const { env } = freshDatabase();
      const code = `U+${character.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
      const run = createUser(env, `admin@example.com${character}`);
      assertOneLineError(run, 2, '--email', code, `admin@example.com<${code}>`);
    });
  }

  test('NFC and NFD forms are one account', () => {
    const { env, path } = freshDatabase();
    const composed = 'jos\u00e9@example.com';
    const created = jsonObject(createUser(env, composed.normalize('NFD')));
    assert.equal(created.email, composed, 'printed in NFC');
    assert.equal(readRow(path, 'select email from users where id = ?', String(created.id))?.email, composed, 'stored in NFC');
    assertOneLineError(createUser(env, composed), 1, 'already registered');
  });

  const badPasswords: [string, string, string][] = [
    ['empty password', '', 'empty'],
    ['newline only', '\n', 'empty'],
    ['short password', 'short1\n', '8 characters'],
    ['two lines', `${PASSWORD}\n\n`, 'one line'],
  ];
  for (const [name, input, fragment] of badPasswords) {
    test(`rejects ${name}`, () => {
      const { env } = freshDatabase();
      assertOneLineError(createUser(env, 'ada@example.com', input), 2, '--password-stdin', fragment);
    });
  }

  test('requires --password-stdin', () => {
    const { env } = freshDatabase();
    const run = kiwiform(['users', 'create', '--email', 'ada@example.com'], { env, input: `${PASSWORD}\n` });
    assertOneLineError(run, 2, '--password-stdin');
  });
});

describe('kiwiform clients create', () => {
  test('generates id and secret', () => {
    const { path, env } = freshDatabase();
    const serverKey = 'k'.repeat(40);
    const client = jsonObject(createClient({ ...env, KIWIFORM_SECRET: serverKey }));
    assert.equal(typeof client.client_id, 'string');
    assert.notEqual(client.client_id, '');
    assert.match(String(client.client_secret), /^kfs_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(client.redirect_uris, [REDIRECT_URI]);

    const row = readRow(path, 'select secret_hash, secret_kind from clients where id = ?', String(client.client_id));
    assert.equal(row?.secret_kind, 'hmac');
    const hasher = new KeyedHasher(Buffer.from(serverKey, 'utf8'));
    assert.equal(row?.secret_hash, hasher.hash(CLIENT_SECRET_PURPOSE, String(client.client_secret)));
  });

  test('imports an existing id and secret', async () => {
    const { path, env } = freshDatabase();
    const client = jsonObject(createClient(env, ['--client-id', 'abc123xyz789', '--client-secret-stdin'], 's3cr3tK3y!@#\n'));
    assert.equal(client.client_id, 'abc123xyz789');
    assert.deepEqual(client.redirect_uris, [REDIRECT_URI]);

    const row = readRow(path, 'select secret_hash, secret_kind from clients where id = ?', 'abc123xyz789');
    assert.equal(row?.secret_kind, 'scrypt');
    assert.equal(await verifyPassword('s3cr3tK3y!@#', String(row?.secret_hash)), true);
  });

  test('stores several redirect URIs exactly', () => {
    const { env } = freshDatabase();
    const uris = ['https://Example.test/cb?x=1', 'http://localhost:8080/callback', 'http://127.0.0.1/cb', 'http://[::1]:3000/cb'];
    const args = ['clients', 'create', '--name', 'Local', '--json', ...uris.flatMap((uri) => ['--redirect-uri', uri])];
    const client = jsonObject(kiwiform(args, { env }));
    assert.deepEqual(client.redirect_uris, uris);
  });

  test('stores scope, PKCE and rotation settings', () => {
    const { path, env } = freshDatabase();
    const client = jsonObject(createClient(env, ['--scope', 'profile forms:read', '--require-pkce', '--refresh-token-rotation', 'true']));
    const row = readRow(path, 'select scopes, require_pkce, refresh_token_rotation from clients where id = ?', String(client.client_id));
    assert.deepEqual(JSON.parse(String(row?.scopes)), ['forms:read', 'profile']);
    assert.equal(row?.require_pkce, 1);
    assert.equal(row?.refresh_token_rotation, 1);
  });

  test('duplicate client id exits 1', () => {
    const { env } = freshDatabase();
    const args = ['--client-id', 'abc123xyz789', '--client-secret-stdin'];
    jsonObject(createClient(env, args, 's3cr3tK3y!@#\n'));
    assertOneLineError(createClient(env, args, 'another-secret-value\n'), 1, 'abc123xyz789', 'already registered');
  });

  const badRedirectUris: [string, string][] = [
    ['ftp://files.example.test/cb', 'http(s)'],
    ['http://zapier.example.test/cb', 'https'],
    ['https://zapier.example.test/cb#done', 'fragment'],
    ['/relative/path', 'http(s)'],
    ['https://user:pw@zapier.example.test/cb', 'credentials'],
  ];
  for (const [uri, fragment] of badRedirectUris) {
    test(`rejects redirect URI ${uri}`, () => {
      const { env } = freshDatabase();
      const run = kiwiform(['clients', 'create', '--name', 'Zapier', '--redirect-uri', uri, '--json'], { env });
      assertOneLineError(run, 2, '--redirect-uri', JSON.stringify(uri), fragment);
      const list = jsonObject(kiwiform(['clients', 'list', '--json'], { env }));
      assert.deepEqual(list.clients, []);
    });
  }

  const badOptions: [string, string[], string, string][] = [
    ['unknown scope', ['--scope', 'profile admin'], '', '--scope'],
    ['invalid rotation value', ['--refresh-token-rotation', 'yes'], '', '--refresh-token-rotation'],
    ['client id without secret', ['--client-id', 'abc123xyz789'], '', '--client-secret-stdin'],
    ['secret without client id', ['--client-secret-stdin'], 'secret\n', '--client-id'],
    ['client id with a space', ['--client-id', 'abc 123', '--client-secret-stdin'], 'secret\n', '--client-id'],
    ['empty imported secret', ['--client-id', 'abc123xyz789', '--client-secret-stdin'], '\n', '--client-secret-stdin'],
  ];
  for (const [name, extra, input, option] of badOptions) {
    test(`rejects ${name}`, () => {
      const { env } = freshDatabase();
      assertOneLineError(createClient(env, extra, input), 2, option);
    });
  }
});

describe('kiwiform clients list', () => {
  test('never shows a secret', () => {
    const { env } = freshDatabase();
    const generated = jsonObject(createClient(env));
    jsonObject(createClient(env, ['--client-id', 'abc123xyz789', '--client-secret-stdin'], 's3cr3tK3y!@#\n'));

    const listed = kiwiform(['clients', 'list', '--json'], { env });
    const list = jsonObject(listed);
    assert.ok(Array.isArray(list.clients));
    assert.deepEqual((list.clients as { client_id: string }[]).map((client) => client.client_id), [generated.client_id, 'abc123xyz789']);
    const human = kiwiform(['clients', 'list'], { env });
    assert.equal(human.status, 0, human.stderr);
    for (const output of [listed.stdout, human.stdout]) {
      assert.ok(!output.includes(String(generated.client_secret)), 'generated secret absent');
      assert.ok(!output.includes('s3cr3tK3y!@#'), 'imported secret absent');
      assert.ok(!output.includes('client_secret'), 'no client_secret field');
    }
  });
});

describe('database at rest', () => {
  test('holds no password or secret in clear', () => {
    const { path, env } = freshDatabase();
    jsonObject(createUser(env, 'ada@example.com'));
    const generated = jsonObject(createClient(env));
    jsonObject(createClient(env, ['--client-id', 'abc123xyz789', '--client-secret-stdin'], 's3cr3tK3y!@#\n'));

    const files = [path, `${path}-wal`, `${path}-shm`].filter((file) => existsSync(file));
    const contents = Buffer.concat(files.map((file) => readFileSync(file)));
    for (const secret of [PASSWORD, String(generated.client_secret), 's3cr3tK3y!@#']) {
      assert.equal(contents.includes(Buffer.from(secret, 'utf8')), false, `${secret.slice(0, 6)}... not stored in clear`);
    }
    assert.ok(contents.includes(Buffer.from('abc123xyz789', 'utf8')), 'the search can find stored text');
  });
});
