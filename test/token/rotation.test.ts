import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { PURPOSE } from '../../src/grants/issue.js';
import { createAccount, harness, issueCode, type Harness, type TestAccount } from '../helpers/fixtures.js';
import { DATABASES, skipReason } from '../helpers/databases.js';

const form = (fields: Record<string, string>) => ({
  method: 'POST' as const,
  url: '/api/zapier/token',
  payload: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

async function connect(h: Harness, account: TestAccount): Promise<{ access_token: string; refresh_token: string }> {
  const code = await issueCode(h.context, account);
  const response = await h.app.inject(form({ grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri }));
  assert.equal(response.statusCode, 200, response.body);
  return response.json();
}

const refresh = (h: Harness, token: string) => h.app.inject(form({ grant_type: 'refresh_token', refresh_token: token }));
const me = (h: Harness, token: string) => h.app.inject({ method: 'GET', url: '/api/zapier/me', headers: { authorization: `Bearer ${token}` } });

for (const database of DATABASES) {
  describe(`${database} database`, { skip: skipReason(database) }, () => {
    describe('refresh token rotation, server-wide', () => {
      let h: Harness;
      before(async () => {
        h = await harness({ KIWIFORM_REFRESH_TOKEN_ROTATION: 'true', KIWIFORM_REFRESH_TOKEN_GRACE: '60' }, database);
      });
      after(async () => h.close());

      test('refresh returns a new refresh token', async () => {
        const account = await createAccount(h.context);
        const first = await connect(h, account);
        const second = await refresh(h, first.refresh_token);
        assert.equal(second.statusCode, 200, second.body);
        assert.notEqual(second.json().refresh_token, first.refresh_token);
        assert.match(second.json().refresh_token, /^rtk_/);
        const third = await refresh(h, second.json().refresh_token);
        assert.equal(third.statusCode, 200, third.body);
        assert.notEqual(third.json().refresh_token, second.json().refresh_token);
      });

      test('retired token within the grace window returns the same successor', async () => {
        const account = await createAccount(h.context);
        const first = await connect(h, account);
        const second = (await refresh(h, first.refresh_token)).json();
        h.clock.advance(59);
        const again = await refresh(h, first.refresh_token);
        assert.equal(again.statusCode, 200, again.body);
        assert.equal(again.json().refresh_token, second.refresh_token);
        assert.equal((await me(h, again.json().access_token)).statusCode, 200);
      });

      /**
       * Stores a refresh token as the version before ordered credentials did, under its hash alone, and
       * retires it in favour of `successorOf(token)`, also stored under its hash alone.
       */
      async function retireOldShapeToken(successorOf: (token: string) => string): Promise<string> {
        const account = await createAccount(h.context);
        const { store, hasher } = h.context;
        const code = await issueCode(h.context, account, { withoutTime: true });
        const record = await store.grants.findCode(hasher.hash(PURPOSE.code, code));
        assert.ok(record);
        const token = `rtk_${randomBytes(32).toString('base64url')}`;
        const now = h.clock.now();
        const row = (value: string) => ({ hash: hasher.hash(PURPOSE.refreshToken, value), grantId: record.grantId, createdAt: now });
        assert.ok(await store.grants.redeemCode(hasher.hash(PURPOSE.code, code), now, row(token)));
        assert.ok(await store.grants.rotateRefreshToken(hasher.hash(PURPOSE.refreshToken, token), now, row(successorOf(token))));
        return token;
      }

      test('old-shape successor within grace window', async () => {
        // The successor the earlier version derived: without the time.
        const successorOf = (token: string) => `rtk_${h.context.hasher.hash('refresh-successor', token)}`;
        const token = await retireOldShapeToken(successorOf);
        h.clock.advance(30);
        const again = await refresh(h, token);
        assert.equal(again.statusCode, 200, again.body);
        assert.equal(again.json().refresh_token, successorOf(token));
        const next = await refresh(h, successorOf(token));
        assert.equal(next.statusCode, 200, next.body);
        assert.match(next.json().refresh_token, /^rtk_[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
      });

      test('retired token without a stored successor', async () => {
        // A successor that neither shape of derived successor matches.
        const token = await retireOldShapeToken(() => `rtk_${randomBytes(32).toString('base64url')}`);
        h.clock.advance(30);
        const again = await refresh(h, token);
        assert.equal(again.statusCode, 400, again.body);
        assert.equal(again.json().error, 'invalid_grant');
      });

      test('retired token after the grace window revokes the grant', async () => {
        const account = await createAccount(h.context);
        const first = await connect(h, account);
        const second = (await refresh(h, first.refresh_token)).json();
        h.clock.advance(61);
        const replay = await refresh(h, first.refresh_token);
        assert.equal(replay.statusCode, 400);
        assert.equal(replay.json().error, 'invalid_grant');
        assert.equal((await me(h, second.access_token)).statusCode, 401);
        assert.equal((await refresh(h, second.refresh_token)).json().error, 'invalid_grant');
        await h.context.audit.flush();
        const events = await h.context.store.audit.list({ clientId: account.client.id, limit: 20 });
        assert.ok(events.some((e) => e.event === 'refresh_token.reused'), JSON.stringify(events));
      });

      test('refresh racing a revocation is no reuse', async () => {
        const account = await createAccount(h.context);
        for (let attempt = 0; attempt < 20; attempt++) {
          const tokens = await connect(h, account);
          const [refreshed, revoked] = await Promise.all([
            refresh(h, tokens.refresh_token),
            h.app.inject({
              ...form({ token: tokens.refresh_token, client_id: account.client.id, client_secret: account.clientSecret }),
              url: '/api/zapier/revoke',
            }),
          ]);
          assert.equal(revoked.statusCode, 200, revoked.body);
          if (refreshed.statusCode !== 200) {
            assert.equal(refreshed.statusCode, 400, refreshed.body);
            assert.doesNotMatch(refreshed.json().error_description, /already been used/);
          }
        }
        await h.context.audit.flush();
        const events = await h.context.store.audit.list({ clientId: account.client.id, limit: 200 });
        assert.ok(!events.some((e) => e.event === 'refresh_token.reused'), JSON.stringify(events.filter((e) => e.event === 'refresh_token.reused')));
      });

      test('50 concurrent refreshes of one token all succeed with one successor', async () => {
        const account = await createAccount(h.context);
        const first = await connect(h, account);
        const responses = await Promise.all(Array.from({ length: 50 }, () => refresh(h, first.refresh_token)));
        for (const response of responses) assert.equal(response.statusCode, 200, response.body);
        assert.equal(new Set(responses.map((r) => r.json().refresh_token)).size, 1);
        assert.equal(new Set(responses.map((r) => r.json().access_token)).size, 50);
      });
    });

    describe('refresh token rotation, per client', () => {
      let h: Harness;
      before(async () => {
        h = await harness({}, database);
      });
      after(async () => h.close());

      test('off by default', async () => {
        const account = await createAccount(h.context);
        const first = await connect(h, account);
        const responses = await Promise.all(Array.from({ length: 50 }, () => refresh(h, first.refresh_token)));
        for (const response of responses) {
          assert.equal(response.statusCode, 200, response.body);
          assert.equal(response.json().refresh_token, first.refresh_token);
        }
      });

      test('client setting turns it on', async () => {
        const account = await createAccount(h.context, { refreshTokenRotation: true });
        const first = await connect(h, account);
        const second = await refresh(h, first.refresh_token);
        assert.notEqual(second.json().refresh_token, first.refresh_token);
      });

      test('client setting turns it off against the server default', async () => {
        const rotating = await harness({ KIWIFORM_REFRESH_TOKEN_ROTATION: 'true' }, database);
        try {
          const account = await createAccount(rotating.context, { refreshTokenRotation: false });
          const first = await connect(rotating, account);
          const second = await refresh(rotating, first.refresh_token);
          assert.equal(second.json().refresh_token, first.refresh_token);
        } finally {
          await rotating.close();
        }
      });
    });
  });
}
