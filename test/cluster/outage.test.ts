import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { POSTGRES_BASE_URL, createTestDatabase, skipReason, type TestDatabase } from '../helpers/databases.js';
import { FetchBrowser, authorizeInBrowser, cliJson, startServer, type ServerProcess } from '../helpers/process.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const TIMEOUT_SECONDS = 2;

async function post(base: string, path: string, fields: Record<string, string>) {
  const started = Date.now();
  const response = await fetch(`${base}${path}`, { method: 'POST', body: new URLSearchParams(fields) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, elapsed: Date.now() - started };
}

describe('database outage', { skip: skipReason('postgres') }, () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let server: ServerProcess;
  let account: { clientId: string; clientSecret: string; redirectUri: string; email: string; password: string };
  const issued: Array<{ access_token: string; refresh_token: string }> = [];

  before(async () => {
    database = await createTestDatabase('postgres');
    const target = new URL(POSTGRES_BASE_URL);
    proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    const proxied = new URL(database.url);
    proxied.host = `127.0.0.1:${proxy.port}`;
    const env = { KIWIFORM_DATABASE_URL: proxied.toString(), KIWIFORM_DATABASE_TIMEOUT: String(TIMEOUT_SECONDS) };
    server = await startServer(env);
    const email = 'outage@example.test';
    const password = 'password for the outage';
    // The CLI runs synchronously and would block this process's proxy, so it talks to the database directly.
    const direct = { KIWIFORM_DATABASE_URL: database.url };
    cliJson(['users', 'create', '--email', email, '--password-stdin'], direct, `${password}\n`);
    const redirectUri = 'https://zapier.example.test/return/outage';
    const client = cliJson<{ client_id: string; client_secret: string }>(['clients', 'create', '--name', 'Outage', '--redirect-uri', redirectUri], direct);
    account = { clientId: client.client_id, clientSecret: client.client_secret, redirectUri, email, password };
    const browser = new FetchBrowser();
    for (let i = 0; i < 3; i++) {
      const url = `${server.base}/api/zapier/authorize?${new URLSearchParams({ response_type: 'code', client_id: account.clientId, redirect_uri: redirectUri, state: String(i) })}`;
      const code = (await authorizeInBrowser(browser, server.base, url, account)).searchParams.get('code')!;
      const response = await post(server.base, '/api/zapier/token', { grant_type: 'authorization_code', code, client_id: account.clientId, client_secret: account.clientSecret, redirect_uri: redirectUri });
      assert.equal(response.status, 200, response.text);
      issued.push(JSON.parse(response.text));
    }
  });
  after(async () => {
    await server.stop();
    await proxy.stop();
    await database.cleanup();
  });

  /** Asserts that a request made while the database is away gets a prompt, well-formed 503. */
  function assertUnavailable(response: Awaited<ReturnType<typeof post>>): void {
    assert.equal(response.status, 503, response.text);
    assert.match(response.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal(JSON.parse(response.text).error, 'temporarily_unavailable');
    assert.ok(response.elapsed < (TIMEOUT_SECONDS + 5) * 1000, `answered after ${response.elapsed} ms`);
  }

  async function recovered(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const response = await post(server.base, '/api/zapier/token', { grant_type: 'refresh_token', refresh_token: issued[0]!.refresh_token });
      if (response.status === 200) return;
      assert.ok(Date.now() < deadline, `no recovery: ${response.status} ${response.text}`);
      await new Promise((done) => setTimeout(done, 250));
    }
  }

  for (const fault of ['refuse', 'stall'] as const) {
    test(`database ${fault === 'refuse' ? 'down' : 'not answering'}: 503, then recovery`, async () => {
      proxy[fault]();
      try {
        const responses = await Promise.all([
          ...issued.map((tokens) => post(server.base, '/api/zapier/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })),
          post(server.base, '/api/zapier/token', { grant_type: 'refresh_token', refresh_token: issued[0]!.refresh_token, client_id: account.clientId, client_secret: account.clientSecret }),
        ]);
        for (const response of responses) assertUnavailable(response);
        const ready = await fetch(`${server.base}/readyz`);
        assert.equal(ready.status, 503);
        const resource = await fetch(`${server.base}/api/zapier/me`, { headers: { authorization: `Bearer ${issued[0]!.access_token}` } });
        assert.equal(resource.status, 503);
      } finally {
        proxy.restore();
      }
      await recovered();
      assert.equal((await fetch(`${server.base}/readyz`)).status, 200);
      for (const tokens of issued) {
        const resource = await fetch(`${server.base}/api/zapier/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
        assert.equal(resource.status, 200, 'a token answered with 200 before the outage still works');
      }
    });
  }
});
