import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { PURPOSE, credentialKey } from '../../src/grants/issue.js';
import { SCOPES } from '../../src/oauth/scopes.js';
import { createAccount, harness, type Harness } from '../helpers/fixtures.js';
import { DATABASES, skipReason } from '../helpers/databases.js';
import { CONSENT, LOGIN, TestBrowser, authorizeUrl, formOf, signInToConsent, validParameters } from './browser.js';

const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');

for (const database of DATABASES) {
  describe(`${database} database`, { skip: skipReason(database) }, () => {
    describe('consent page', () => {
      let h: Harness;
      before(async () => {
        h = await harness({}, database);
      });
      after(async () => h.close());

      test('names the client, the scopes and the user', async () => {
        const account = await createAccount(h.context);
        const { page } = await signInToConsent(new TestBrowser(h.app), account, { scope: 'profile forms:read' });
        assert.equal(page.statusCode, 200);
        assert.ok(page.body.includes(account.client.name));
        assert.ok(page.body.includes(account.email));
        assert.ok(page.body.includes(SCOPES.profile ?? ''));
        assert.ok(page.body.includes(SCOPES['forms:read'] ?? ''));
        assert.ok(!page.body.includes(SCOPES['forms:write'] ?? ''));
        assert.match(page.body, /<button type="submit" name="decision" value="allow"/);
        assert.match(page.body, /<button type="submit" name="decision" value="deny"/);
        assert.equal(page.body.match(/<h1\b/g)?.length, 1);
      });

      test('allows form posts to the redirect origin', async () => {
        const account = await createAccount(h.context);
        const { page } = await signInToConsent(new TestBrowser(h.app), account);
        assert.match(String(page.headers['content-security-policy']), /form-action 'self' https:\/\/zapier\.example\.test;/);
        assert.equal(page.headers['cache-control'], 'no-store');
        assert.equal(page.headers['x-frame-options'], 'DENY');
      });

      test('allow redirects with code and state', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const { form } = await signInToConsent(browser, account, { state: 'a b&c=d/é?' });
        const response = await browser.post(CONSENT, { ...form.hidden, decision: 'allow' });
        assert.equal(response.statusCode, 302, response.body);
        const location = new URL(String(response.headers.location));
        assert.ok(location.href.startsWith(account.redirectUri));
        assert.match(location.searchParams.get('code') ?? '', /^cod_[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
        assert.equal(location.searchParams.get('state'), 'a b&c=d/é?');
        assert.equal(location.searchParams.has('error'), false);
      });

      test('issued code is stored for the token endpoint', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const { form } = await signInToConsent(browser, account, { scope: 'profile', code_challenge: CHALLENGE, code_challenge_method: 'S256' });
        const response = await browser.post(CONSENT, { ...form.hidden, decision: 'allow' });
        const code = new URL(String(response.headers.location)).searchParams.get('code') ?? '';
        const record = await h.context.store.grants.findCode(credentialKey(h.context.hasher, PURPOSE.code, code));
        assert.ok(record);
        assert.equal(record.clientId, account.client.id);
        assert.equal(record.userId, account.userId);
        assert.equal(record.scope, 'profile');
        assert.equal(record.redirectUri, account.redirectUri);
        assert.equal(record.redirectUriGiven, true);
        assert.equal(record.codeChallenge, CHALLENGE);
        assert.equal(record.expiresAt, h.context.now() + h.context.config.codeTtl * 1000);

        const token = await h.app.inject({
          method: 'POST',
          url: '/api/zapier/token',
          payload: new URLSearchParams({
            grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret,
            redirect_uri: account.redirectUri, code_verifier: VERIFIER,
          }).toString(),
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        assert.equal(token.statusCode, 200, token.body);
        assert.equal(token.json().scope, 'profile');
      });

      test('code without redirect_uri on the request', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const parameters = validParameters(account);
        delete parameters.redirect_uri;
        const login = formOf((await browser.get(authorizeUrl(parameters))).body, LOGIN);
        const signedIn = await browser.post(LOGIN, { ...login.hidden, email: account.email, password: account.password });
        const form = formOf((await browser.get(String(signedIn.headers.location))).body, CONSENT);
        const response = await browser.post(CONSENT, { ...form.hidden, decision: 'allow' });
        const code = new URL(String(response.headers.location)).searchParams.get('code') ?? '';
        const record = await h.context.store.grants.findCode(credentialKey(h.context.hasher, PURPOSE.code, code));
        assert.equal(record?.redirectUriGiven, false);
        assert.equal(record?.redirectUri, account.redirectUri);
      });

      test('deny redirects with access_denied', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const { form } = await signInToConsent(browser, account, { state: 'deny-1' });
        const response = await browser.post(CONSENT, { ...form.hidden, decision: 'deny' });
        assert.equal(response.statusCode, 302);
        const location = new URL(String(response.headers.location));
        assert.equal(location.searchParams.get('error'), 'access_denied');
        assert.equal(location.searchParams.get('state'), 'deny-1');
        assert.equal(location.searchParams.has('code'), false);
      });

      test('request cannot be decided twice', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const { form } = await signInToConsent(browser, account);
        const first = await browser.post(CONSENT, { ...form.hidden, decision: 'allow' });
        assert.equal(first.statusCode, 302);
        for (const decision of ['allow', 'deny']) {
          const again = await browser.post(CONSENT, { ...form.hidden, decision });
          assert.equal(again.statusCode, 400, decision);
          assert.equal(again.headers.location, undefined, decision);
        }
      });

      test('concurrent decisions yield one redirect', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const { form } = await signInToConsent(browser, account);
        const responses = await Promise.all([
          browser.post(CONSENT, { ...form.hidden, decision: 'allow' }),
          browser.post(CONSENT, { ...form.hidden, decision: 'allow' }),
          browser.post(CONSENT, { ...form.hidden, decision: 'deny' }),
        ]);
        assert.deepEqual(responses.map((response) => response.statusCode).sort(), [302, 400, 400]);
      });

      test('stale request is a 400 page', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const { form } = await signInToConsent(browser, account);
        h.clock.advance(16 * 60);
        const response = await browser.post(CONSENT, { ...form.hidden, decision: 'allow' });
        assert.equal(response.statusCode, 400);
        assert.equal(response.headers.location, undefined);
        const page = await browser.get(`${CONSENT}?request=${form.hidden.request}`);
        assert.equal(page.statusCode, 400);
      });

      test('unknown request id is a 400 page', async () => {
        const response = await h.app.inject({ method: 'GET', url: `${CONSENT}?request=req_${'x'.repeat(43)}` });
        assert.equal(response.statusCode, 400);
        assert.match(response.body, /This page has expired/);
      });

      test('signed-out decision is a 400 page', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const { form } = await signInToConsent(browser, account);
        browser.cookies.delete('kiwiform_session');
        const response = await browser.post(CONSENT, { ...form.hidden, decision: 'allow' });
        assert.equal(response.statusCode, 400);
        assert.equal(response.headers.location, undefined);
        assert.ok(await h.context.store.requests.find(form.hidden.request ?? '', h.context.now()), 'the request is still pending');
      });

      test('decision without CSRF token is a 403 page', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const { form } = await signInToConsent(browser, account);
        const response = await browser.post(CONSENT, { request: form.hidden.request ?? '', decision: 'allow' });
        assert.equal(response.statusCode, 403);
        assert.equal(response.headers.location, undefined);
      });

      test('CSRF token from before sign-in is rejected', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const login = formOf((await browser.get(authorizeUrl(validParameters(account)))).body, LOGIN);
        await browser.post(LOGIN, { ...login.hidden, email: account.email, password: account.password });
        const response = await browser.post(CONSENT, { ...login.hidden, decision: 'allow' });
        assert.equal(response.statusCode, 403);
      });

      test('decision other than allow or deny is a 400 page', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const { form } = await signInToConsent(browser, account);
        const response = await browser.post(CONSENT, { ...form.hidden, decision: 'maybe' });
        assert.equal(response.statusCode, 400);
      });

      test('signed-in browser goes straight to consent', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        await signInToConsent(browser, account);
        const page = await browser.get(authorizeUrl(validParameters(account, { state: 'second' })));
        assert.equal(page.statusCode, 200);
        assert.ok(formOf(page.body, CONSENT));
        assert.doesNotMatch(page.body, /name="password"/);
      });

      test('redirect_uri with a query keeps it', async () => {
        const redirectUri = 'https://app.example.test/callback?tenant=a%20b&x=1';
        const account = await createAccount(h.context, { redirectUris: [redirectUri] });
        const browser = new TestBrowser(h.app);
        const { form } = await signInToConsent(browser, { ...account, redirectUri }, { state: 's' });
        const response = await browser.post(CONSENT, { ...form.hidden, decision: 'allow' });
        const location = String(response.headers.location);
        assert.ok(location.startsWith(`${redirectUri}&code=cod_`), location);
        const url = new URL(location);
        assert.equal(url.searchParams.get('tenant'), 'a b');
        assert.equal(url.searchParams.get('x'), '1');
        assert.equal(url.searchParams.get('state'), 's');
      });

      test('client name is HTML-escaped', async () => {
        const name = '<script>alert("x")</script> & \'Co\'';
        const account = await createAccount(h.context, { name });
        const browser = new TestBrowser(h.app);
        const login = await browser.get(authorizeUrl(validParameters(account)));
        const { page } = await signInToConsent(browser, account);
        for (const body of [login.body, page.body]) {
          assert.ok(!body.includes('<script'), 'no raw script tag');
          assert.ok(body.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;'));
        }
      });

      test('decisions are audited', async () => {
        const account = await createAccount(h.context);
        for (const decision of ['allow', 'deny']) {
          const browser = new TestBrowser(h.app);
          const { form } = await signInToConsent(browser, account);
          await browser.post(CONSENT, { ...form.hidden, decision });
          // Flushed each time, because identical events buffered together are written once with a count.
          await h.context.audit.flush();
        }
        const events = await h.context.store.audit.list({ userId: account.userId, limit: 10 });
        const names = events.map((event) => event.event).sort();
        assert.deepEqual(names, ['consent.denied', 'grant.created', 'user.signed_in', 'user.signed_in']);
        const created = events.find((event) => event.event === 'grant.created');
        assert.equal(created?.clientId, account.client.id);
        assert.ok(created?.grantId);
      });

      test('redirect_uri error page does not echo it', async () => {
        const account = await createAccount(h.context, { name: 'Safe App' });
        const response = await h.app.inject({ method: 'GET', url: authorizeUrl(validParameters(account, { redirect_uri: 'https://x.example.test/"><script>' })) });
        assert.equal(response.statusCode, 400);
        assert.ok(!response.body.includes('<script'));
        assert.ok(!response.body.includes('x.example.test'));
      });
    });

    describe('pages during a storage outage', () => {
      let h: Harness;
      before(async () => {
        h = await harness({}, database);
      });
      after(async () => h.close());

      test('database failure is a 503 page', async () => {
        const account = await createAccount(h.context);
        await h.context.store.close();
        const response = await h.app.inject({ method: 'GET', url: authorizeUrl(validParameters(account)) });
        assert.equal(response.statusCode, 503);
        assert.equal(response.headers['retry-after'], '5');
        assert.match(String(response.headers['content-type']), /^text\/html/);
        assert.match(response.body, /temporarily unavailable/);
      });
    });
  });
}
