import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DATABASES, skipReason } from './helpers/databases.js';
import { basicAuth, createAccount, harness, issueCode, type Harness, type TestAccount } from './helpers/fixtures.js';

const form = (url: string, body: string, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url,
  payload: body,
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
});

for (const database of DATABASES) {
  describe(`${database} database`, { skip: skipReason(database) }, () => {
    describe('hardening against hostile input', () => {
      let h: Harness;
      before(async () => {
        h = await harness({ KIWIFORM_ISSUER: 'https://auth.example.test' }, database);
      });
      after(async () => h.close());

      async function connect(account: TestAccount, scope?: string) {
        const code = await issueCode(h.context, account, scope === undefined ? {} : { scope });
        const body = new URLSearchParams({ grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri });
        return (await h.app.inject(form('/api/zapier/token', body.toString()))).json() as { access_token: string; refresh_token: string };
      }

      for (const [name, body, headers] of [
        ['NUL in client_id', 'grant_type=authorization_code&code=x&client_id=a%00b&client_secret=x', {}],
        ['NUL in a refresh token', 'grant_type=refresh_token&refresh_token=rtk_a%00b', {}],
        ['NUL in a parameter name', 'grant_type=refresh_token&refresh_token=rtk_a&x%00y=1', {}],
        ['NUL in Basic credentials', 'grant_type=refresh_token&refresh_token=rtk_a', { authorization: basicAuth('a\u0000b', 'x') }],
      ] as const) {
        test(`${name} is a 4xx`, async () => {
          for (const url of ['/api/zapier/token', '/api/zapier/introspect', '/api/zapier/revoke']) {
            const response = await h.app.inject(form(url, body, headers));
            assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${url}: ${response.statusCode} ${response.body}`);
          }
        });
      }

      test('compressed body is rejected', async () => {
        const response = await h.app.inject(form('/api/zapier/token', 'grant_type=refresh_token&refresh_token=rtk_x', { 'content-encoding': 'gzip' }));
        assert.equal(response.statusCode, 400);
        assert.equal(response.json().error, 'invalid_request');
      });

      test('error descriptions keep to the RFC 6749 characters', async () => {
        const response = await h.app.inject(form('/api/zapier/token', `grant_type=${encodeURIComponent('"é\\…x')}`));
        assert.equal(response.statusCode, 400);
        assert.match(response.json().error_description, /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/);
      });

      test('me needs the profile scope', async () => {
        const account = await createAccount(h.context);
        const tokens = await connect(account, 'forms:read');
        const response = await h.app.inject({ method: 'GET', url: '/api/zapier/me', headers: { authorization: `Bearer ${tokens.access_token}` } });
        assert.equal(response.statusCode, 403);
        assert.equal(response.json().error, 'insufficient_scope');
        assert.match(String(response.headers['www-authenticate']), /error="insufficient_scope", .*scope="profile"/);
      });

      test('refresh with an empty scope is invalid_scope', async () => {
        const account = await createAccount(h.context);
        const tokens = await connect(account);
        const response = await h.app.inject(form('/api/zapier/token', `grant_type=refresh_token&refresh_token=${tokens.refresh_token}&scope=%20`));
        assert.equal(response.statusCode, 400);
        assert.equal(response.json().error, 'invalid_scope');
      });

      test('wrong method is a 405 with Allow', async () => {
        const response = await h.app.inject({ method: 'GET', url: '/api/zapier/token' });
        assert.equal(response.statusCode, 405);
        assert.equal(response.headers.allow, 'POST');
        assert.equal(response.json().error, 'method_not_allowed');
      });

      test('undecodable path keeps route format', async () => {
        const api = await h.app.inject({ method: 'POST', url: '/api/zapier/token%ff' });
        assert.equal(api.statusCode, 400);
        assert.equal(api.headers['cache-control'], 'no-store');
        assert.equal(api.json().error, 'invalid_request');
        for (const url of ['/api/zapier/authorize%ff?client_id=x', '/api/zapier/authorize/consent%zz', '/connections%ff']) {
          const page = await h.app.inject({ method: 'GET', url });
          assert.equal(page.statusCode, 400, url);
          assert.match(String(page.headers['content-type']), /^text\/html/, url);
          assert.match(page.body, /Bad address/, url);
        }
        const metrics = await h.app.inject({ method: 'GET', url: '/metrics' });
        assert.match(metrics.body, /kiwiform_http_requests_total\{route="unmatched",method="POST",status="400"\} [1-9]/);
      });

      test('browser path errors are pages', async () => {
        for (const [method, url, status, allow] of [
          ['PUT', '/api/zapier/authorize', 405, 'GET'],
          ['DELETE', '/account/connections', 405, 'GET, HEAD'],
          ['GET', '/no-such-page', 404, undefined],
          ['GET', '/%ff', 400, undefined],
        ] as const) {
          const response = await h.app.inject({ method, url });
          assert.equal(response.statusCode, status, `${method} ${url}`);
          assert.equal(response.headers.allow, allow, `${method} ${url}`);
          assert.match(String(response.headers['content-type']), /^text\/html/, `${method} ${url}`);
          assert.match(String(response.headers['content-security-policy']), /default-src 'none'/, `${method} ${url}`);
          assert.equal(response.headers['x-frame-options'], 'DENY', `${method} ${url}`);
          assert.equal(response.headers['cache-control'], 'no-store', `${method} ${url}`);
        }
      });

      test('HTTPS issuer adds Strict-Transport-Security', async () => {
        const response = await h.app.inject({ method: 'GET', url: '/healthz' });
        assert.match(String(response.headers['strict-transport-security']), /max-age=\d+/);
      });

      test('handler log lines carry the request id', async () => {
        const response = await h.app.inject(form('/account/connections/revoke', 'client_id=unknown'));
        const lines = h.logs().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
        const access = lines.findLast((line) => line.msg === 'request completed');
        const rejected = lines.findLast((line) => line.msg === 'form rejected: CSRF token missing or invalid');
        assert.equal(response.statusCode, 403);
        assert.ok(access, 'the access line is logged');
        assert.ok(rejected, 'the handler line is logged');
        assert.equal(typeof access.reqId, 'string');
        assert.equal(rejected.reqId, access.reqId);
        assert.deepEqual(access.res, { statusCode: 403 });
      });

      test('credentials in any part of a URL stay out of the log', async () => {
        const account = await createAccount(h.context);
        const tokens = await connect(account);
        for (const url of [
          `/api/zapier/me?x=${tokens.access_token}`,
          `/api/zapier/me?acc%65ss_token=${tokens.access_token}`,
          `/api/zapier/${tokens.access_token}`,
          `/healthz;access_token=${tokens.refresh_token}`,
        ]) {
          await h.app.inject({ method: 'GET', url });
        }
        await h.app.inject(form('/api/zapier/token', `grant_type=${tokens.refresh_token}`));
        await h.app.inject(form('/api/zapier/token', `grant_type=refresh_token&refresh_token=${tokens.refresh_token}&scope=${tokens.access_token}`));
        // One malformed escape must not leave the encoded parameter names undecoded.
        await h.app.inject({ method: 'GET', url: '/api/zapier/me?x=%zz&client%5Fsecret=kept-out-of-logs&pass%77ord=kept-out-of-logs' });
        const logs = h.logs();
        assert.ok(!logs.includes('kept-out-of-logs'), 'an encoded secret parameter is logged');
        assert.ok(!logs.includes(tokens.access_token), 'the access token is logged');
        assert.ok(!logs.includes(tokens.refresh_token.slice(0, 20)), 'the refresh token is logged');
      });
    });
  });
}

/** Sends raw bytes to a listening server and returns everything the server sends before closing. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('requests the HTTP parser rejects', () => {
  let h: Harness;
  let port = 0;
  before(async () => {
    h = await harness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const address = h.app.server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  after(async () => h.close());

  for (const [name, request, status] of [
    ['oversized headers', `GET /api/zapier/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['a malformed request line', 'GET /api/zapier/me HTTP/9\r\n\r\n', 400],
    ['a malformed chunk', 'POST /api/zapier/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
  ] as const) {
    test(`parser rejects ${name}`, async () => {
      const answer = await rawExchange(port, request);
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.match(answer, /\r\ncache-control: no-store\r\n/i);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: string; error_description: string };
      assert.equal(body.error, 'invalid_request');
      assert.ok(body.error_description.length > 0);
    });
  }
});
