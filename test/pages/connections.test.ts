import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SCOPES } from '../../src/oauth/scopes.js';
import { safeReturnPath } from '../../src/pages/return-path.js';
import { createAccount, harness, type Harness, type TestAccount } from '../helpers/fixtures.js';
import { DATABASES, skipReason } from '../helpers/databases.js';
import {
  CONNECTIONS, LOGIN, LOGOUT, REVOKE, TestBrowser, allowAccess, exchangeCode, formOf,
} from './browser.js';

for (const database of DATABASES) {
  describe(`${database} database`, { skip: skipReason(database) }, () => {
    describe('connected apps page', () => {
      let h: Harness;
      before(async () => {
        h = await harness({}, database);
      });
      after(async () => h.close());

      /** Authorizes the account's client in a new browser and returns that signed-in browser and the tokens. */
      async function connect(account: TestAccount, scope = 'profile forms:read') {
        const browser = new TestBrowser(h.app);
        const location = await allowAccess(browser, account, { scope });
        const token = await exchangeCode(h.app, account, location.searchParams.get('code') ?? '');
        assert.equal(token.statusCode, 200, token.body);
        return { browser, tokens: token.json() as { access_token: string; refresh_token: string } };
      }

      const me = (accessToken: string) => h.app.inject({ method: 'GET', url: '/api/zapier/me', headers: { authorization: `Bearer ${accessToken}` } });
      const refresh = (refreshToken: string) => h.app.inject({
        method: 'POST',
        url: '/api/zapier/token',
        payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });

      test('signed out shows the sign-in form', async () => {
        const response = await new TestBrowser(h.app).get(CONNECTIONS);
        assert.equal(response.statusCode, 200);
        const form = formOf(response.body, LOGIN);
        assert.equal(form.hidden.return_to, CONNECTIONS);
        assert.ok(form.hidden.csrf);
        assert.equal(form.hidden.request, undefined);
        assert.match(response.body, /Sign in to your Kiwiform account/);
      });

      test('sign-in returns to the page', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const form = formOf((await browser.get(CONNECTIONS)).body, LOGIN);
        const signedIn = await browser.post(LOGIN, { ...form.hidden, email: account.email, password: account.password });
        assert.equal(signedIn.statusCode, 303, signedIn.body);
        assert.equal(signedIn.headers.location, CONNECTIONS);
        const page = await browser.get(CONNECTIONS);
        assert.equal(page.statusCode, 200);
        assert.match(page.body, /<h1>Connected apps<\/h1>/);
        assert.match(page.body, /No apps are connected to your account\./);
        assert.ok(page.body.includes(account.email));
      });

      test('wrong password shows the generic error', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app, '10.2.0.1');
        const form = formOf((await browser.get(CONNECTIONS)).body, LOGIN);
        const response = await browser.post(LOGIN, { ...form.hidden, email: account.email, password: 'wrong' });
        assert.equal(response.statusCode, 200);
        assert.match(response.body, /The email or password is incorrect\./);
        assert.equal(formOf(response.body, LOGIN).hidden.return_to, CONNECTIONS);
      });

      test('unsafe return_to falls back to the page', async () => {
        const account = await createAccount(h.context);
        const cases = [
          'https://evil.example.test/',
          '//evil.example.test/account/connections',
          '/\\evil.example.test',
          '/account/../api/zapier/authorize',
          '/account/%2e%2e/api/zapier/me',
          '/api/zapier/me',
          'javascript:alert(1)',
          '/account/connections\r\nLocation: https://evil.example.test/',
        ];
        for (const returnTo of cases) {
          const browser = new TestBrowser(h.app);
          const form = formOf((await browser.get(CONNECTIONS)).body, LOGIN);
          const response = await browser.post(LOGIN, { ...form.hidden, return_to: returnTo, email: account.email, password: account.password });
          assert.equal(response.statusCode, 303, returnTo);
          assert.equal(response.headers.location, CONNECTIONS, returnTo);
        }
      });

      test('safe return paths are kept', () => {
        assert.equal(safeReturnPath('/account/connections'), '/account/connections');
        assert.equal(safeReturnPath('/account/connections?revoked=abc'), '/account/connections?revoked=abc');
        assert.equal(safeReturnPath(undefined), undefined);
        assert.equal(safeReturnPath('/account/' + 'a'.repeat(300)), undefined);
      });

      test('account sign-in without CSRF token is a 403 page', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const form = formOf((await browser.get(CONNECTIONS)).body, LOGIN);
        const response = await browser.post(LOGIN, { return_to: form.hidden.return_to ?? '', email: account.email, password: account.password });
        assert.equal(response.statusCode, 403);
        assert.equal(browser.cookies.has('kiwiform_session'), false);
      });

      test('lists each authorized app', async () => {
        const account = await createAccount(h.context, { name: 'Forms <Sync> & Co' });
        // The code is never exchanged, so the app has not used its access yet.
        const browser = new TestBrowser(h.app);
        await allowAccess(browser, account, { scope: 'profile forms:read' });
        const page = await browser.get(CONNECTIONS);
        assert.equal(page.statusCode, 200);
        assert.ok(page.body.includes('Forms &lt;Sync&gt; &amp; Co'), 'the client name is escaped');
        assert.ok(page.body.includes(SCOPES.profile ?? ''));
        assert.ok(page.body.includes(SCOPES['forms:read'] ?? ''));
        assert.ok(!page.body.includes(SCOPES['forms:write'] ?? ''));
        assert.match(page.body, /First authorized<\/dt><dd><time datetime="\d{4}-\d\d-\d\dT[^"]+">[^<]+ UTC<\/time>/);
        assert.match(page.body, /Last used<\/dt><dd>never<\/dd>/);
        const revoke = formOf(page.body, REVOKE);
        assert.equal(revoke.method, 'post');
        assert.equal(revoke.hidden.client_id, account.client.id);
        assert.ok(revoke.hidden.csrf);
        assert.match(revoke.body, /Revoke access/);
        assert.ok(formOf(page.body, LOGOUT));
      });

      test('shows when an app was last used', async () => {
        const account = await createAccount(h.context);
        const { browser } = await connect(account);
        await h.context.audit.flush();
        const events = await h.context.store.audit.list({ userId: account.userId, limit: 10 });
        const created = events.find((event) => event.event === 'grant.created');
        assert.ok(created?.grantId, JSON.stringify(events));
        await h.context.store.grants.touch(created.grantId, Date.UTC(2030, 0, 2, 3, 4));
        const page = await browser.get(CONNECTIONS);
        assert.match(page.body, /Last used<\/dt><dd><time datetime="2030-01-02T03:04:00.000Z">2 Jan 2030, 03:04 UTC<\/time>/);
      });

      test('lists only the signed-in user\'s apps', async () => {
        const mine = await createAccount(h.context);
        const theirs = await createAccount(h.context);
        const { browser } = await connect(mine);
        await connect(theirs);
        const page = await browser.get(CONNECTIONS);
        assert.ok(page.body.includes(mine.client.name));
        assert.ok(!page.body.includes(theirs.client.name));
      });

      test('page carries the page headers', async () => {
        const account = await createAccount(h.context);
        const { browser } = await connect(account);
        const page = await browser.get(CONNECTIONS);
        assert.match(String(page.headers['content-type']), /^text\/html/);
        assert.match(String(page.headers['content-security-policy']), /default-src 'none'.*form-action 'self';.*frame-ancestors 'none'/);
        assert.equal(page.headers['cache-control'], 'no-store');
        assert.equal(page.headers['x-frame-options'], 'DENY');
        assert.equal(page.headers['referrer-policy'], 'no-referrer');
      });

      test('revoke kills the tokens at once', async () => {
        const account = await createAccount(h.context);
        const { browser, tokens } = await connect(account);
        assert.equal((await me(tokens.access_token)).statusCode, 200);

        const revoke = formOf((await browser.get(CONNECTIONS)).body, REVOKE);
        const response = await browser.post(REVOKE, revoke.hidden);
        assert.equal(response.statusCode, 303);
        const location = new URL(String(response.headers.location), 'http://127.0.0.1');
        assert.equal(location.pathname, CONNECTIONS);
        assert.equal(location.searchParams.get('revoked'), account.client.id);

        assert.equal((await me(tokens.access_token)).statusCode, 401);
        const refreshed = await refresh(tokens.refresh_token);
        assert.equal(refreshed.statusCode, 400, refreshed.body);
        assert.equal(refreshed.json().error, 'invalid_grant');
        assert.deepEqual(await h.context.store.grants.connections(account.userId), []);
      });

      test('revoke shows a confirmation', async () => {
        const account = await createAccount(h.context);
        const { browser } = await connect(account);
        const revoke = formOf((await browser.get(CONNECTIONS)).body, REVOKE);
        const response = await browser.post(REVOKE, revoke.hidden);
        const page = await browser.get(String(response.headers.location));
        assert.equal(page.statusCode, 200);
        assert.ok(page.body.includes(`<p class="notice" role="status">${account.client.name} no longer has access to your account.</p>`));
        assert.match(page.body, /No apps are connected to your account\./);
      });

      test('confirmation needs a revoked app', async () => {
        const account = await createAccount(h.context);
        const neverConnected = await createAccount(h.context);
        const { browser } = await connect(account);
        for (const revoked of [account.client.id, neverConnected.client.id, 'no-such-client']) {
          const page = await browser.get(`${CONNECTIONS}?revoked=${encodeURIComponent(revoked)}`);
          assert.equal(page.statusCode, 200, revoked);
          assert.doesNotMatch(page.body, /class="notice"/, revoked);
        }
      });

      test('confirmation link works only in its browser', async () => {
        const account = await createAccount(h.context);
        const { browser } = await connect(account);
        const revoke = formOf((await browser.get(CONNECTIONS)).body, REVOKE);
        const confirmation = String((await browser.post(REVOKE, revoke.hidden)).headers.location);

        // Another user, signed in elsewhere, who never connected the app, follows the same link.
        const other = await createAccount(h.context);
        const elsewhere = new TestBrowser(h.app);
        const login = formOf((await elsewhere.get(CONNECTIONS)).body, LOGIN);
        await elsewhere.post(LOGIN, { ...login.hidden, email: other.email, password: other.password });
        const page = await elsewhere.get(confirmation);
        assert.equal(page.statusCode, 200);
        assert.match(page.body, /Connected apps/);
        assert.doesNotMatch(page.body, /class="notice"/);
      });

      test('revoke of an unconnected app shows no confirmation', async () => {
        const account = await createAccount(h.context);
        const neverConnected = await createAccount(h.context);
        const { browser } = await connect(account);
        const revoke = formOf((await browser.get(CONNECTIONS)).body, REVOKE);
        const response = await browser.post(REVOKE, { ...revoke.hidden, client_id: neverConnected.client.id });
        assert.equal(response.statusCode, 303);
        assert.equal(response.headers.location, CONNECTIONS);
        const page = await browser.get(CONNECTIONS);
        assert.doesNotMatch(page.body, /class="notice"/);
      });

      test('NUL in the query or the revoke form is a 400 page', async () => {
        const account = await createAccount(h.context);
        const { browser } = await connect(account);
        const revoke = formOf((await browser.get(CONNECTIONS)).body, REVOKE);
        const responses = {
          query: await browser.get(`${CONNECTIONS}?revoked=a%00b`),
          form: await browser.post(REVOKE, { ...revoke.hidden, client_id: 'a\u0000b' }),
          consent: await browser.get('/api/zapier/authorize/consent?request=a%00b'),
        };
        for (const [name, response] of Object.entries(responses)) {
          assert.equal(response.statusCode, 400, `${name}: ${response.body.slice(0, 300)}`);
          assert.match(response.body, /NUL character/, name);
        }
        assert.equal((await h.context.store.grants.connections(account.userId)).length, 1, 'nothing revoked');
      });

      test('revoke is audited', async () => {
        const account = await createAccount(h.context);
        const { browser } = await connect(account);
        const revoke = formOf((await browser.get(CONNECTIONS)).body, REVOKE);
        await browser.post(REVOKE, revoke.hidden);
        await h.context.audit.flush();
        const events = await h.context.store.audit.list({ userId: account.userId, limit: 10 });
        const revoked = events.find((event) => event.event === 'connection.revoked');
        assert.ok(revoked, JSON.stringify(events));
        assert.equal(revoked.outcome, 'success');
        assert.equal(revoked.clientId, account.client.id);
        assert.equal(revoked.detail, '1 grant revoked');
      });

      test('revoke without CSRF token is a 403 page', async () => {
        const account = await createAccount(h.context);
        const { browser, tokens } = await connect(account);
        const response = await browser.post(REVOKE, { client_id: account.client.id });
        assert.equal(response.statusCode, 403);
        assert.match(String(response.headers['content-type']), /^text\/html/);
        assert.equal((await me(tokens.access_token)).statusCode, 200);
      });

      test('revoke with a consent-page token is rejected', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const { tokens } = await connect(account);
        // A CSRF token bound to an authorization request is not valid for the account forms.
        const login = formOf((await browser.get(CONNECTIONS)).body, LOGIN);
        await browser.post(LOGIN, { ...login.hidden, email: account.email, password: account.password });
        // forms:write was never allowed, so the consent page is shown instead of a remembered consent.
        const page = await browser.get(`/api/zapier/authorize?response_type=code&client_id=${account.client.id}&state=s&scope=forms:write`);
        const consentToken = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
        assert.ok(consentToken);
        const response = await browser.post(REVOKE, { client_id: account.client.id, csrf: consentToken });
        assert.equal(response.statusCode, 403);
        assert.equal((await me(tokens.access_token)).statusCode, 200);
      });

      test('revoke while signed out revokes nothing', async () => {
        const account = await createAccount(h.context);
        const { browser, tokens } = await connect(account);
        const revoke = formOf((await browser.get(CONNECTIONS)).body, REVOKE);
        browser.cookies.delete('kiwiform_session');
        const response = await browser.post(REVOKE, revoke.hidden);
        assert.equal(response.statusCode, 303);
        assert.equal(response.headers.location, CONNECTIONS);
        assert.equal((await me(tokens.access_token)).statusCode, 200);
      });

      test('revoke of another user\'s app changes nothing', async () => {
        const mine = await createAccount(h.context);
        const theirs = await createAccount(h.context);
        const { browser } = await connect(mine);
        const other = await connect(theirs);
        const revoke = formOf((await browser.get(CONNECTIONS)).body, REVOKE);
        const response = await browser.post(REVOKE, { ...revoke.hidden, client_id: theirs.client.id });
        assert.equal(response.statusCode, 303);
        assert.equal(response.headers.location, CONNECTIONS, 'no confirmation for a grant never held');
        assert.equal((await me(other.tokens.access_token)).statusCode, 200);
        assert.equal((await h.context.store.grants.connections(theirs.userId)).length, 1);
      });

      test('revoke without client_id is a 400 page', async () => {
        const account = await createAccount(h.context);
        const { browser } = await connect(account);
        const revoke = formOf((await browser.get(CONNECTIONS)).body, REVOKE);
        const response = await browser.post(REVOKE, { csrf: revoke.hidden.csrf ?? '' });
        assert.equal(response.statusCode, 400);
        assert.match(response.body, /No app was chosen/);
      });

      test('sign out from the page', async () => {
        const account = await createAccount(h.context);
        const { browser } = await connect(account);
        const logout = formOf((await browser.get(CONNECTIONS)).body, LOGOUT);
        assert.equal(logout.hidden.request, undefined);
        const response = await browser.post(LOGOUT, logout.hidden);
        assert.equal(response.statusCode, 200);
        assert.match(response.body, /You are signed out/);
        assert.equal(browser.cookies.has('kiwiform_session'), false);
        const page = await browser.get(CONNECTIONS);
        assert.ok(formOf(page.body, LOGIN), 'the page asks for sign-in again');
      });
    });
  });
}
