import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { hashPassword } from '../../src/crypto/secrets.js';
import { basicAuth, createAccount, harness } from '../helpers/fixtures.js';
import { FetchBrowser, authorizeInBrowser, cliJson, startServer } from '../helpers/process.js';

describe('worker processes', () => {
  test('two workers serve the flow and stop on SIGTERM', async () => {
    const server = await startServer({ KIWIFORM_WORKERS: '2' });
    try {
      const email = 'workers@example.test';
      const password = 'password for workers';
      cliJson(['users', 'create', '--email', email, '--password-stdin'], server.env, `${password}\n`);
      const redirectUri = 'https://zapier.example.test/return/workers';
      const client = cliJson<{ client_id: string; client_secret: string }>(['clients', 'create', '--name', 'Workers', '--redirect-uri', redirectUri], server.env);
      const url = `${server.base}/api/zapier/authorize?${new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, state: 'w' })}`;
      const code = (await authorizeInBrowser(new FetchBrowser(), server.base, url, { email, password })).searchParams.get('code')!;
      const issued = await fetch(`${server.base}/api/zapier/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: client.client_id, client_secret: client.client_secret, redirect_uri: redirectUri }) });
      assert.equal(issued.status, 200);
      const tokens = (await issued.json()) as { refresh_token: string };
      const refreshes = await Promise.all(Array.from({ length: 40 }, () => fetch(`${server.base}/api/zapier/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }) })));
      for (const response of refreshes) assert.equal(response.status, 200);
      assert.match(server.output(), /started 2 workers/);
      assert.equal(server.output().match(/listening on/g)?.length, 2);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});

describe('abuse limits in Redis', () => {
  test('instances share failure counts through Redis', async () => {
    const redis = { KIWIFORM_REDIS_URL: process.env.KIWIFORM_TEST_REDIS_URL || 'redis://127.0.0.1:6379' };
    const first = await harness(redis);
    const second = await harness(redis);
    try {
      const secret = `imported-${randomBytes(8).toString('hex')}`;
      // Both instances know the same client id, as they would on one shared database.
      const account = await createAccount(first.context, { id: `redis-${randomBytes(8).toString('hex')}`, secretKind: 'scrypt', secretHash: await hashPassword(secret) });
      await second.context.store.clients.create(account.client);
      const attempt = (h: typeof first, candidate: string, address: string) =>
        h.app.inject({ method: 'POST', url: '/api/zapier/introspect', remoteAddress: address, payload: 'token=atk_x', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(account.client.id, candidate) } });
      for (let i = 0; i < 20; i++) assert.equal((await attempt(first, `guess-${i}`, `10.4.0.${i + 1}`)).statusCode, 401);
      const limited = await attempt(second, 'guess-x', '10.4.1.1');
      assert.equal(limited.statusCode, 429, 'the second instance sees the first one\'s failures');
    } finally {
      await first.close();
      await second.close();
    }
  });
});
