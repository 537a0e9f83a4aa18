import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { hashPassword } from '../../src/crypto/secrets.js';
import { PURPOSE } from '../../src/grants/issue.js';
import { basicAuth, createAccount, harness, issueCode, type Harness, type TestAccount } from '../helpers/fixtures.js';
import { DATABASES, skipReason } from '../helpers/databases.js';

const form = (fields: Record<string, string>) => ({
  payload: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

for (const database of DATABASES) {
  describe(`${database} database`, { skip: skipReason(database) }, () => {
    describe('token endpoint grants', () => {
      let h: Harness;
      before(async () => {
        h = await harness({}, database);
      });
      after(async () => h.close());

      const token = (options: { payload: string | object; headers?: Record<string, string> }) =>
        h.app.inject({ method: 'POST', url: '/api/zapier/token', ...options });
      const me = (accessToken: string) =>
        h.app.inject({ method: 'GET', url: '/api/zapier/me', headers: { authorization: `Bearer ${accessToken}` } });
      const exchange = async (account: TestAccount, code: string) =>
        token(form({ grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri }));

      test('code exchange returns the published shape', async () => {
        const account = await createAccount(h.context);
        const response = await exchange(account, await issueCode(h.context, account));
        assert.equal(response.statusCode, 200, response.body);
        assert.equal(response.headers['cache-control'], 'no-store');
        const body = response.json();
        assert.match(body.access_token, /^atk_[A-Za-z0-9_-]{60,}$/);
        assert.match(body.refresh_token, /^rtk_[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
        assert.equal(body.expires_in, 3600);
        assert.equal(body.token_type, 'Bearer');
        assert.equal(typeof body.scope, 'string');
      });

      test('code exchange with a JSON body', async () => {
        const account = await createAccount(h.context);
        const code = await issueCode(h.context, account);
        const response = await token({ payload: { grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri } });
        assert.equal(response.statusCode, 200, response.body);
      });

      test('code exchange with HTTP Basic and an imported secret', async () => {
        const secret = 's3cr3tK3y!@# +:%';
        const account = await createAccount(h.context, { secretKind: 'scrypt', secretHash: await hashPassword(secret) });
        for (let round = 0; round < 2; round++) {
          const code = await issueCode(h.context, account);
          const response = await token({ ...form({ grant_type: 'authorization_code', code, redirect_uri: account.redirectUri }), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(account.client.id, secret) } });
          assert.equal(response.statusCode, 200, response.body);
        }
        const wrong = await token({ ...form({ grant_type: 'authorization_code', code: await issueCode(h.context, account), redirect_uri: account.redirectUri }), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(account.client.id, secret + 'x') } });
        assert.equal(wrong.statusCode, 401);
      });

      test('code exchange without redirect_uri when the request had none', async () => {
        const account = await createAccount(h.context);
        const code = await issueCode(h.context, account, { redirectUriGiven: false });
        const response = await token(form({ grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret }));
        assert.equal(response.statusCode, 200, response.body);
      });

      test('code exchange with a PKCE verifier', async () => {
        const account = await createAccount(h.context);
        const verifier = 'abcdefghijklmnopqrstuvwxyz-._~ABCDEFGHIJKLMNOP';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        const code = await issueCode(h.context, account, { codeChallenge: challenge });
        const response = await token(form({ grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri, code_verifier: verifier }));
        assert.equal(response.statusCode, 200, response.body);
      });

      test('refresh returns the same refresh token and a new access token', async () => {
        const account = await createAccount(h.context);
        const first = (await exchange(account, await issueCode(h.context, account))).json();
        const refreshed = await token(form({ grant_type: 'refresh_token', refresh_token: first.refresh_token }));
        assert.equal(refreshed.statusCode, 200, refreshed.body);
        assert.equal(refreshed.json().refresh_token, first.refresh_token);
        assert.notEqual(refreshed.json().access_token, first.access_token);
        assert.equal((await me(refreshed.json().access_token)).statusCode, 200);
        assert.equal((await me(first.access_token)).statusCode, 200);
      });

      test('refresh ignores a Bearer header and accepts a charset', async () => {
        const account = await createAccount(h.context);
        const first = (await exchange(account, await issueCode(h.context, account))).json();
        const response = await token({
          payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: account.client.id, client_secret: account.clientSecret }).toString(),
          headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8', authorization: 'Bearer atk_expired' },
        });
        assert.equal(response.statusCode, 200, response.body);
      });

      test('refresh narrows the scope', async () => {
        const account = await createAccount(h.context);
        const first = (await exchange(account, await issueCode(h.context, account, { scope: 'forms:read profile' }))).json();
        const response = await token(form({ grant_type: 'refresh_token', refresh_token: first.refresh_token, scope: 'profile' }));
        assert.equal(response.statusCode, 200, response.body);
        assert.equal(response.json().scope, 'profile');
      });

      test('code replay revokes the first tokens', async () => {
        const account = await createAccount(h.context);
        const code = await issueCode(h.context, account);
        const first = (await exchange(account, code)).json();
        assert.equal((await me(first.access_token)).statusCode, 200);
        assert.equal((await exchange(account, code)).statusCode, 400);
        assert.equal((await me(first.access_token)).statusCode, 401);
        const refresh = await token(form({ grant_type: 'refresh_token', refresh_token: first.refresh_token }));
        assert.equal(refresh.json().error, 'invalid_grant');
      });

      test('refresh token carries its issue time', async () => {
        const account = await createAccount(h.context);
        const issued = (await exchange(account, await issueCode(h.context, account))).json();
        assert.match(issued.refresh_token, /^rtk_[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
        assert.equal(parseInt(issued.refresh_token.slice(4, 16), 16), h.clock.now());
      });

      test('old-shape code and refresh token work', async () => {
        const account = await createAccount(h.context);
        const code = await issueCode(h.context, account, { withoutTime: true });
        assert.match(code, /^cod_[A-Za-z0-9_-]{43}$/);
        const issued = (await exchange(account, code)).json();
        assert.equal((await me(issued.access_token)).statusCode, 200);
        // A refresh token stored under its hash alone, as one issued before the time was added.
        const older = await issueCode(h.context, account, { withoutTime: true });
        const olderKey = h.context.hasher.hash(PURPOSE.code, older);
        const record = await h.context.store.grants.findCode(olderKey);
        assert.ok(record);
        const legacy = `rtk_${randomBytes(32).toString('base64url')}`;
        const now = h.clock.now();
        assert.ok(await h.context.store.grants.redeemCode(olderKey, now,
          { hash: h.context.hasher.hash(PURPOSE.refreshToken, legacy), grantId: record.grantId, createdAt: now }));
        const refreshed = await token(form({ grant_type: 'refresh_token', refresh_token: legacy }));
        assert.equal(refreshed.statusCode, 200, refreshed.body);
        assert.equal(refreshed.json().refresh_token, legacy);
        assert.equal((await exchange(account, code)).json().error, 'invalid_grant');
      });

      test('concurrent exchanges of one code: exactly one wins', async () => {
        const account = await createAccount(h.context);
        const code = await issueCode(h.context, account);
        const responses = await Promise.all(Array.from({ length: 20 }, () => exchange(account, code)));
        const winners = responses.filter((r) => r.statusCode === 200);
        assert.equal(winners.length, 1);
        for (const loser of responses.filter((r) => r.statusCode !== 200)) assert.equal(loser.json().error, 'invalid_grant');
        // The losers' replays revoked what the winner received.
        assert.equal((await me(winners[0]!.json().access_token)).statusCode, 401);
      });

      test('me records when the grant was last used', async () => {
        const account = await createAccount(h.context);
        const first = (await exchange(account, await issueCode(h.context, account))).json();
        h.clock.advance(120);
        assert.equal((await me(first.access_token)).statusCode, 200);
        // The use is recorded after the response, by a write that no request waits for.
        let lastUsedAt: number | null | undefined;
        for (let attempt = 0; attempt < 100 && lastUsedAt !== h.clock.time; attempt++) {
          await new Promise((done) => setTimeout(done, 10));
          lastUsedAt = (await h.context.store.grants.connections(account.userId))[0]?.lastUsedAt;
        }
        assert.equal(lastUsedAt, h.clock.time);
      });

      test('access token expires after its lifetime', async () => {
        const account = await createAccount(h.context);
        const first = (await exchange(account, await issueCode(h.context, account))).json();
        h.clock.advance(3599);
        assert.equal((await me(first.access_token)).statusCode, 200);
        h.clock.advance(1);
        const expired = await me(first.access_token);
        assert.equal(expired.statusCode, 401);
        assert.match(String(expired.headers['www-authenticate']), /error="invalid_token"/);
        assert.equal((await token(form({ grant_type: 'refresh_token', refresh_token: first.refresh_token }))).statusCode, 200);
      });
    });

    describe('protected resource', () => {
      let h: Harness;
      before(async () => {
        h = await harness({}, database);
      });
      after(async () => h.close());

      test('me returns the user', async () => {
        const account = await createAccount(h.context);
        const code = await issueCode(h.context, account);
        const tokens = (await h.app.inject({ method: 'POST', url: '/api/zapier/token', payload: { grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri } })).json();
        const response = await h.app.inject({ method: 'GET', url: '/api/zapier/me', headers: { authorization: `Bearer ${tokens.access_token}` } });
        assert.equal(response.statusCode, 200);
        assert.deepEqual(Object.keys(response.json()).sort(), ['email', 'id', 'name']);
        assert.equal(response.json().id, account.userId);
        assert.equal(response.json().email, account.email);
      });

      for (const [name, authorization, status, error] of [
        ['no Authorization header', undefined, 401, null],
        ['Basic scheme', 'Basic abc', 401, null],
        ['empty Bearer', 'Bearer', 401, 'invalid_token'],
        ['unknown token', 'Bearer atk_garbage', 401, 'invalid_token'],
        ['token with spaces', 'Bearer a b', 401, 'invalid_token'],
        ['refresh token as bearer', 'Bearer rtk_x', 401, 'invalid_token'],
      ] as const) {
        test(`me rejects ${name}`, async () => {
          const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
          const response = await h.app.inject({ method: 'GET', url: '/api/zapier/me', headers });
          assert.equal(response.statusCode, status);
          const challenge = String(response.headers['www-authenticate']);
          assert.match(challenge, /^Bearer realm="kiwiform"/);
          if (error === null) assert.doesNotMatch(challenge, /error=/);
          else assert.match(challenge, new RegExp(`error="${error}"`));
        });
      }

      test('unknown API path is a JSON 404', async () => {
        const response = await h.app.inject({ method: 'GET', url: '/api/zapier/nothing' });
        assert.equal(response.statusCode, 404);
        assert.equal(response.json().error, 'not_found');
      });
    });
  });
}
