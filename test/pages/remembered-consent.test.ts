import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, harness, type Harness } from '../helpers/fixtures.js';
import { DATABASES, skipReason } from '../helpers/databases.js';
import {
  CONNECTIONS, CONSENT, LOGIN, REVOKE, TestBrowser, allowAccess, authorizeUrl, exchangeCode, formOf, signInToConsent, validParameters,
} from './browser.js';

for (const database of DATABASES) {
  describe(`${database} database`, { skip: skipReason(database) }, () => {
    describe('remembered consent', () => {
      let h: Harness;
      before(async () => {
        h = await harness({}, database);
      });
      after(async () => h.close());

      test('allow remembers the scopes', async () => {
        const account = await createAccount(h.context);
        await allowAccess(new TestBrowser(h.app), account, { scope: 'profile forms:read' });
        assert.deepEqual((await h.context.store.consents.find(account.userId, account.client.id)).sort(), ['forms:read', 'profile']);
      });

      test('deny remembers nothing', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const { form } = await signInToConsent(browser, account);
        await browser.post(CONSENT, { ...form.hidden, decision: 'deny' });
        assert.deepEqual(await h.context.store.consents.find(account.userId, account.client.id), []);
      });

      test('signed-in browser skips the consent page', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        await allowAccess(browser, account, { scope: 'profile' });
        const response = await browser.get(authorizeUrl(validParameters(account, { scope: 'profile', state: 'second try' })));
        assert.equal(response.statusCode, 302, response.body.slice(0, 300));
        assert.equal(response.headers['cache-control'], 'no-store');
        const location = new URL(String(response.headers.location));
        assert.ok(location.href.startsWith(account.redirectUri), location.href);
        assert.equal(location.searchParams.get('state'), 'second try');
        const code = location.searchParams.get('code') ?? '';
        assert.match(code, /^cod_[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);

        const token = await exchangeCode(h.app, account, code);
        assert.equal(token.statusCode, 200, token.body);
        assert.equal(token.json().scope, 'profile');
      });

      test('skipped consent is audited', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        await allowAccess(browser, account);
        await browser.get(authorizeUrl(validParameters(account)));
        await h.context.audit.flush();
        const events = await h.context.store.audit.list({ userId: account.userId, limit: 10 });
        const created = events.filter((event) => event.event === 'grant.created');
        assert.equal(created.length, 2);
        const remembered = created.find((event) => event.detail === 'consent remembered');
        assert.ok(remembered, JSON.stringify(created));
        assert.equal(remembered.clientId, account.client.id);
        assert.ok(remembered.grantId);
      });

      test('fresh sign-in still shows consent', async () => {
        const account = await createAccount(h.context);
        await allowAccess(new TestBrowser(h.app), account);
        const browser = new TestBrowser(h.app);
        const { page, form } = await signInToConsent(browser, account, { state: 'deny-after-allow' });
        assert.equal(page.statusCode, 200);
        const denied = await browser.post(CONSENT, { ...form.hidden, decision: 'deny' });
        assert.equal(denied.statusCode, 302);
        const location = new URL(String(denied.headers.location));
        assert.equal(location.searchParams.get('error'), 'access_denied');
        assert.equal(location.searchParams.get('state'), 'deny-after-allow');
      });

      test('signed-out browser sees the sign-in form', async () => {
        const account = await createAccount(h.context);
        await allowAccess(new TestBrowser(h.app), account);
        const response = await new TestBrowser(h.app).get(authorizeUrl(validParameters(account)));
        assert.equal(response.statusCode, 200);
        assert.ok(formOf(response.body, LOGIN));
      });

      test('more scopes ask again', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        await allowAccess(browser, account, { scope: 'profile' });

        const wider = await browser.get(authorizeUrl(validParameters(account, { scope: 'profile forms:read' })));
        assert.equal(wider.statusCode, 200);
        const form = formOf(wider.body, CONSENT);
        const allowed = await browser.post(CONSENT, { ...form.hidden, decision: 'allow' });
        assert.equal(allowed.statusCode, 302);

        // Both consents add up, so a request for either scope alone is covered now.
        const narrower = await browser.get(authorizeUrl(validParameters(account, { scope: 'forms:read' })));
        assert.equal(narrower.statusCode, 302);
        assert.ok(new URL(String(narrower.headers.location)).searchParams.has('code'));
      });

      test('consent to one client does not cover another', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        await allowAccess(browser, account);
        const other = await createAccount(h.context);
        const response = await browser.get(authorizeUrl({ response_type: 'code', client_id: other.client.id, redirect_uri: other.redirectUri, state: 's' }));
        assert.equal(response.statusCode, 200);
        assert.ok(formOf(response.body, CONSENT));
      });

      test('invalid request still redirects with an error', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        await allowAccess(browser, account);
        const response = await browser.get(authorizeUrl(validParameters(account, { scope: 'admin' })));
        assert.equal(response.statusCode, 302);
        const location = new URL(String(response.headers.location));
        assert.equal(location.searchParams.get('error'), 'invalid_scope');
        assert.equal(location.searchParams.has('code'), false);
      });

      test('revoked connection asks again', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        await allowAccess(browser, account);
        const connections = await browser.get(CONNECTIONS);
        const revoke = formOf(connections.body, REVOKE);
        const revoked = await browser.post(REVOKE, revoke.hidden);
        assert.equal(revoked.statusCode, 303);
        assert.deepEqual(await h.context.store.consents.find(account.userId, account.client.id), []);

        const response = await browser.get(authorizeUrl(validParameters(account)));
        assert.equal(response.statusCode, 200);
        assert.ok(formOf(response.body, CONSENT));
      });

      test('expired session shows the sign-in form', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        await allowAccess(browser, account);
        h.clock.advance(h.context.config.sessionTtl + 1);
        const response = await browser.get(authorizeUrl(validParameters(account)));
        assert.equal(response.statusCode, 200);
        assert.ok(formOf(response.body, LOGIN));
      });
    });
  });
}
