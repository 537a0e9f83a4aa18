import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, harness, issueCode, type Harness } from './helpers/fixtures.js';
import { DATABASES, skipReason } from './helpers/databases.js';

for (const database of DATABASES) {
  describe(`${database} database`, { skip: skipReason(database) }, () => {
    describe('operations endpoints', () => {
      let h: Harness;
      before(async () => {
        h = await harness({}, database);
      });
      after(async () => h.close());

      test('healthz answers ok', async () => {
        const response = await h.app.inject({ method: 'GET', url: '/healthz' });
        assert.equal(response.statusCode, 200);
        assert.deepEqual(response.json(), { status: 'ok' });
      });

      test('readyz answers ready with a database', async () => {
        const response = await h.app.inject({ method: 'GET', url: '/readyz' });
        assert.equal(response.statusCode, 200);
        assert.equal(response.json().status, 'ready');
      });

      test('readyz turns unready while draining', async () => {
        h.context.lifecycle.draining = true;
        try {
          const response = await h.app.inject({ method: 'GET', url: '/readyz' });
          assert.equal(response.statusCode, 503);
        } finally {
          h.context.lifecycle.draining = false;
        }
      });

      test('metrics count requests and token outcomes', async () => {
        const account = await createAccount(h.context);
        const code = await issueCode(h.context, account);
        const fields = { grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri };
        await h.app.inject({ method: 'POST', url: '/api/zapier/token', payload: fields });
        await h.app.inject({ method: 'POST', url: '/api/zapier/token', payload: fields });
        const response = await h.app.inject({ method: 'GET', url: '/metrics' });
        assert.equal(response.statusCode, 200);
        assert.match(String(response.headers['content-type'] ?? ''), /^text\/plain/);
        assert.match(response.body, /kiwiform_oauth_tokens_total\{grant_type="authorization_code",outcome="issued"\} 1/);
        assert.match(response.body, /kiwiform_oauth_tokens_total\{grant_type="authorization_code",outcome="invalid_grant"\} 1/);
        assert.match(response.body, /kiwiform_http_requests_total\{route="\/api\/zapier\/token",method="POST",status="200"\} 1/);
        assert.match(response.body, /kiwiform_http_request_duration_seconds_bucket/);
      });

      test('readyz reports a closed database as unavailable', async () => {
        const other = await harness({}, database);
        await other.context.store.close();
        const response = await other.app.inject({ method: 'GET', url: '/readyz' });
        assert.equal(response.statusCode, 503);
        assert.equal(response.json().status, 'unavailable');
        await other.app.close();
      });
    });
  });
}
