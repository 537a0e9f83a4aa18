import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { basicAuth, createAccount, harness, issueCode, type Harness, type TestAccount } from '../helpers/fixtures.js';
import { DATABASES, skipReason } from '../helpers/databases.js';

const post = (url: string, fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url,
  payload: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
});

for (const database of DATABASES) {
  describe(`${database} database`, { skip: skipReason(database) }, () => {
    describe('revocation and introspection', () => {
      let h: Harness;
      before(async () => {
        h = await harness({}, database);
      });
      after(async () => h.close());

      async function connect(account: TestAccount) {
        const code = await issueCode(h.context, account);
        const response = await h.app.inject(post('/api/zapier/token', { grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri }));
        return response.json() as { access_token: string; refresh_token: string };
      }
      const credentials = (account: TestAccount) => ({ client_id: account.client.id, client_secret: account.clientSecret });
      const introspect = async (account: TestAccount, token: string) =>
        (await h.app.inject(post('/api/zapier/introspect', { token, ...credentials(account) }))).json();
      const me = (token: string) => h.app.inject({ method: 'GET', url: '/api/zapier/me', headers: { authorization: `Bearer ${token}` } });

      test('introspection of live tokens', async () => {
        const account = await createAccount(h.context);
        const tokens = await connect(account);
        const access = await introspect(account, tokens.access_token);
        assert.equal(access.active, true);
        assert.equal(access.client_id, account.client.id);
        assert.equal(access.username, account.email);
        assert.equal(access.sub, account.userId);
        assert.equal(access.token_type, 'Bearer');
        assert.equal(access.exp - access.iat, 3600);
        const refresh = await introspect(account, tokens.refresh_token);
        assert.equal(refresh.active, true);
        assert.equal(refresh.token_type, 'refresh_token');
      });

      test('introspection reports only active for unknown, foreign and expired tokens', async () => {
        const account = await createAccount(h.context);
        const other = await createAccount(h.context);
        const tokens = await connect(account);
        assert.deepEqual(await introspect(account, 'atk_unknown'), { active: false });
        assert.deepEqual(await introspect(account, 'not-a-token'), { active: false });
        assert.deepEqual(await introspect(other, tokens.access_token), { active: false });
        h.clock.advance(3600);
        assert.deepEqual(await introspect(account, tokens.access_token), { active: false });
        assert.equal((await introspect(account, tokens.refresh_token)).active, true);
      });

      test('introspection requires client authentication', async () => {
        const response = await h.app.inject(post('/api/zapier/introspect', { token: 'atk_x' }));
        assert.equal(response.statusCode, 401);
        assert.equal(response.json().error, 'invalid_client');
        assert.match(String(response.headers['www-authenticate']), /^Basic /);
        const wrong = await h.app.inject(post('/api/zapier/introspect', { token: 'atk_x' }, { authorization: basicAuth('nobody', 'x') }));
        assert.equal(wrong.statusCode, 401);
      });

      test('revoking a refresh token kills the grant', async () => {
        const account = await createAccount(h.context);
        const tokens = await connect(account);
        const response = await h.app.inject(post('/api/zapier/revoke', { token: tokens.refresh_token, token_type_hint: 'refresh_token' }, { authorization: basicAuth(account.client.id, account.clientSecret) }));
        assert.equal(response.statusCode, 200);
        assert.equal(response.body, '');
        assert.equal((await me(tokens.access_token)).statusCode, 401);
        assert.deepEqual(await introspect(account, tokens.refresh_token), { active: false });
        const refreshed = await h.app.inject(post('/api/zapier/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }));
        assert.equal(refreshed.json().error, 'invalid_grant');
      });

      test('revoking an access token keeps the refresh token', async () => {
        const account = await createAccount(h.context);
        const tokens = await connect(account);
        const response = await h.app.inject(post('/api/zapier/revoke', { token: tokens.access_token, ...credentials(account) }));
        assert.equal(response.statusCode, 200);
        assert.equal((await me(tokens.access_token)).statusCode, 401);
        const refreshed = await h.app.inject(post('/api/zapier/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }));
        assert.equal(refreshed.statusCode, 200);
      });

      test('revoking an unknown token answers 200', async () => {
        const account = await createAccount(h.context);
        const response = await h.app.inject(post('/api/zapier/revoke', { token: 'rtk_unknown', ...credentials(account) }));
        assert.equal(response.statusCode, 200);
      });

      test("revoking another client's token is rejected and changes nothing", async () => {
        const account = await createAccount(h.context);
        const other = await createAccount(h.context);
        const tokens = await connect(account);
        const response = await h.app.inject(post('/api/zapier/revoke', { token: tokens.refresh_token, ...credentials(other) }));
        assert.equal(response.statusCode, 400);
        assert.equal(response.json().error, 'invalid_request');
        assert.equal((await me(tokens.access_token)).statusCode, 200);
      });

      test('revocation requires the token and client authentication', async () => {
        const account = await createAccount(h.context);
        const missing = await h.app.inject(post('/api/zapier/revoke', credentials(account)));
        assert.equal(missing.statusCode, 400);
        assert.equal(missing.json().error, 'invalid_request');
        const anonymous = await h.app.inject(post('/api/zapier/revoke', { token: 'rtk_x' }));
        assert.equal(anonymous.statusCode, 401);
        assert.equal(anonymous.json().error, 'invalid_client');
      });
    });

    describe('authorization server metadata', () => {
      let h: Harness;
      before(async () => {
        h = await harness({ KIWIFORM_ISSUER: 'https://auth.example.test' }, database);
      });
      after(async () => h.close());

      test('metadata names the endpoints under the issuer', async () => {
        const response = await h.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
        assert.equal(response.statusCode, 200);
        const metadata = response.json();
        assert.equal(metadata.issuer, 'https://auth.example.test');
        assert.equal(metadata.token_endpoint, 'https://auth.example.test/api/zapier/token');
        assert.equal(metadata.authorization_endpoint, 'https://auth.example.test/api/zapier/authorize');
        assert.equal(metadata.revocation_endpoint, 'https://auth.example.test/api/zapier/revoke');
        assert.equal(metadata.introspection_endpoint, 'https://auth.example.test/api/zapier/introspect');
        assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
        assert.deepEqual(metadata.grant_types_supported, ['authorization_code', 'refresh_token']);
        assert.deepEqual(metadata.response_types_supported, ['code']);
      });
    });
  });
}
