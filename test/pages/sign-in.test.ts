import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashPassword } from '../../src/crypto/secrets.js';
import { PURPOSE } from '../../src/grants/issue.js';
import { createAccount, harness, type Harness } from '../helpers/fixtures.js';
import { DATABASES, skipReason } from '../helpers/databases.js';
import { CONSENT, LOGIN, LOGOUT, TestBrowser, authorizeUrl, formOf, signInToConsent, validParameters } from './browser.js';

interface SetCookie {
  readonly name: string;
  readonly value: string;
  readonly httpOnly?: boolean;
  readonly secure?: boolean;
  readonly sameSite?: string;
  readonly path?: string;
  readonly maxAge?: number;
}

const GENERIC_ERROR = 'The email or password is incorrect.';

for (const database of DATABASES) {
  describe(`${database} database`, { skip: skipReason(database) }, () => {
    describe('sign-in form', () => {
      let h: Harness;
      before(async () => {
        h = await harness({}, database);
      });
      after(async () => h.close());

      /** Opens a valid authorize URL in a fresh browser and returns the browser and the login form. */
      async function openLogin() {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const page = await browser.get(authorizeUrl(validParameters(account)));
        return { account, browser, form: formOf(page.body, LOGIN) };
      }

      test('wrong password shows the generic error', async () => {
        const { account, browser, form } = await openLogin();
        const response = await browser.post(LOGIN, { ...form.hidden, email: account.email, password: 'wrong password' });
        assert.equal(response.statusCode, 200);
        assert.ok(response.body.includes(GENERIC_ERROR));
        assert.ok(formOf(response.body, LOGIN));
        assert.ok(response.body.includes(`value="${account.email}"`), 'the email is filled in again');
        assert.ok(!response.body.includes('wrong password'), 'the password is not filled in again');
        assert.equal(browser.cookies.has('kiwiform_session'), false);
      });

      test('unknown email shows the same error', async () => {
        const { browser, form } = await openLogin();
        const response = await browser.post(LOGIN, { ...form.hidden, email: 'nobody@example.test', password: 'whatever' });
        assert.equal(response.statusCode, 200);
        assert.ok(response.body.includes(GENERIC_ERROR));
      });

      test('email comparison ignores case', async () => {
        const { account, browser, form } = await openLogin();
        const response = await browser.post(LOGIN, { ...form.hidden, email: account.email.toUpperCase(), password: account.password });
        assert.equal(response.statusCode, 303, response.body);
      });

      test('decomposed email signs in', async () => {
        const { account, browser, form } = await openLogin();
        const suffix = account.userId.slice(0, 8);
        const composed = `jos\u00e9-${suffix}@example.test`;
        const decomposed = composed.normalize('NFD');
        assert.notEqual(decomposed, composed);
        await h.context.store.users.create({
          id: `user-nfc-${suffix}`, email: composed, name: 'José', passwordHash: await hashPassword(account.password), createdAt: h.context.now(),
        });
        const failed = await browser.post(LOGIN, { ...form.hidden, email: decomposed, password: 'wrong password' });
        assert.equal(failed.statusCode, 200);
        assert.ok(failed.body.includes(`value="${composed}"`), 'the email is filled in again in NFC');
        const signedIn = await browser.post(LOGIN, { ...form.hidden, email: decomposed, password: account.password });
        assert.equal(signedIn.statusCode, 303, signedIn.body);
      });

      test('NUL in a form field is a 400 page', async () => {
        const { account, browser, form } = await openLogin();
        const cases: Record<string, string>[] = [
          { email: 'a\u0000@b.c', password: account.password },
          { email: account.email, password: `${account.password}\u0000` },
          { email: account.email, password: account.password, request: `${form.hidden.request ?? ''}\u0000` },
          { email: account.email, password: account.password, 'extra\u0000': 'x' },
        ];
        for (const fields of cases) {
          const response = await browser.post(LOGIN, { ...form.hidden, ...fields });
          assert.equal(response.statusCode, 400, JSON.stringify(fields));
          assert.match(response.body, /A field of the form contains a NUL character\./, JSON.stringify(fields));
        }
        assert.equal(browser.cookies.has('kiwiform_session'), false);
      });

      test('NUL in the sign-out form is a 400 page', async () => {
        const { browser, form } = await openLogin();
        const response = await browser.post(LOGOUT, { csrf: form.hidden.csrf ?? '', request: `${form.hidden.request ?? ''}\u0000` });
        assert.equal(response.statusCode, 400);
        assert.match(response.body, /NUL character/);
      });

      test('missing password re-renders the form', async () => {
        const { account, browser, form } = await openLogin();
        const response = await browser.post(LOGIN, { ...form.hidden, email: account.email });
        assert.equal(response.statusCode, 200);
        assert.match(response.body, /Enter your email and password\./);
      });

      test('missing CSRF token is a 403 page', async () => {
        const { account, browser, form } = await openLogin();
        const response = await browser.post(LOGIN, { request: form.hidden.request ?? '', email: account.email, password: account.password });
        assert.equal(response.statusCode, 403);
        assert.match(String(response.headers['content-type']), /^text\/html/);
        assert.equal(browser.cookies.has('kiwiform_session'), false);
      });

      test('missing CSRF cookie is a 403 page', async () => {
        const { account, browser, form } = await openLogin();
        browser.cookies.clear();
        const response = await browser.post(LOGIN, { ...form.hidden, email: account.email, password: account.password });
        assert.equal(response.statusCode, 403);
      });

      test('CSRF token of another request is rejected', async () => {
        const { account, browser, form } = await openLogin();
        const other = formOf((await browser.get(authorizeUrl(validParameters(account)))).body, LOGIN);
        const response = await browser.post(LOGIN, { ...form.hidden, csrf: other.hidden.csrf ?? '', email: account.email, password: account.password });
        assert.equal(response.statusCode, 403);
      });

      test('stale request id is a 400 page', async () => {
        const { account, browser, form } = await openLogin();
        h.clock.advance(16 * 60);
        const response = await browser.post(LOGIN, { ...form.hidden, email: account.email, password: account.password });
        assert.equal(response.statusCode, 400);
        assert.match(response.body, /This page has expired/);
      });

      test('sign-in sets a session cookie and redirects', async () => {
        const { account, browser, form } = await openLogin();
        const response = await browser.post(LOGIN, { ...form.hidden, email: account.email, password: account.password });
        assert.equal(response.statusCode, 303);
        assert.equal(response.headers.location, `${CONSENT}?request=${form.hidden.request}`);
        const session = (response.cookies as SetCookie[]).find((cookie) => cookie.name === 'kiwiform_session');
        assert.ok(session);
        assert.match(session.value, /^ses_[A-Za-z0-9_-]{43}$/);
        assert.equal(session.httpOnly, true);
        assert.equal(session.sameSite, 'Lax');
        assert.equal(session.path, '/');
        assert.equal(session.secure, undefined);
        assert.equal(session.maxAge, h.context.config.sessionTtl);
        const stored = await h.context.store.sessions.find(h.context.hasher.hash(PURPOSE.session, session.value), h.context.now());
        assert.equal(stored?.userId, account.userId);
      });

      test('sign-in replaces an existing session id', async () => {
        const { account, browser } = await openLogin();
        await signInToConsent(browser, account);
        const first = browser.cookies.get('kiwiform_session') ?? '';
        // A signed-in browser posts the sign-in form again, with the hidden fields of a new request.
        const form = formOf((await browser.get(authorizeUrl(validParameters(account)))).body, CONSENT);
        const login = await browser.post(LOGIN, { ...form.hidden, email: account.email, password: account.password });
        assert.equal(login.statusCode, 303);
        const second = browser.cookies.get('kiwiform_session') ?? '';
        assert.notEqual(second, first);
        assert.equal(await h.context.store.sessions.find(h.context.hasher.hash(PURPOSE.session, first), h.context.now()), undefined);
      });

      test('planted session id is never signed in', async () => {
        const { account, browser, form } = await openLogin();
        const planted = `ses_${'A'.repeat(43)}`;
        browser.cookies.set('kiwiform_session', planted);
        await browser.post(LOGIN, { ...form.hidden, email: account.email, password: account.password });
        assert.notEqual(browser.cookies.get('kiwiform_session'), planted);
        assert.equal(await h.context.store.sessions.find(h.context.hasher.hash(PURPOSE.session, planted), h.context.now()), undefined);
      });

      test('session expires after its lifetime', async () => {
        const { account, browser } = await openLogin();
        await signInToConsent(browser, account);
        h.clock.advance(h.context.config.sessionTtl + 1);
        const page = await browser.get(authorizeUrl(validParameters(account)));
        assert.ok(formOf(page.body, LOGIN));
      });

      test('sign out ends the session', async () => {
        const { account, browser } = await openLogin();
        const { page } = await signInToConsent(browser, account);
        const session = browser.cookies.get('kiwiform_session') ?? '';
        const logout = formOf(page.body, LOGOUT);
        const response = await browser.post(LOGOUT, logout.hidden);
        assert.equal(response.statusCode, 303);
        assert.equal(browser.cookies.has('kiwiform_session'), false);
        assert.equal(await h.context.store.sessions.find(h.context.hasher.hash(PURPOSE.session, session), h.context.now()), undefined);
        const next = await browser.get(String(response.headers.location));
        assert.ok(formOf(next.body, LOGIN), 'the same request asks for sign-in again');
        await h.context.audit.flush();
        const events = await h.context.store.audit.list({ userId: account.userId, limit: 10 });
        assert.ok(events.some((event) => event.event === 'user.signed_out'));
      });

      test('sign-in attempts are audited', async () => {
        const { account, browser, form } = await openLogin();
        await browser.post(LOGIN, { ...form.hidden, email: account.email, password: 'attempted-password' });
        await browser.post(LOGIN, { ...form.hidden, email: account.email, password: account.password });
        await h.context.audit.flush();
        const events = await h.context.store.audit.list({ userId: account.userId, limit: 10 });
        const failed = events.find((event) => event.event === 'user.sign_in_failed');
        assert.equal(failed?.outcome, 'failure');
        assert.equal(failed?.clientId, account.client.id);
        const succeeded = events.find((event) => event.event === 'user.signed_in');
        assert.equal(succeeded?.outcome, 'success');
        const serialized = JSON.stringify(events);
        assert.ok(!serialized.includes('attempted-password'));
        assert.ok(!serialized.includes(account.password));
      });

      test('sign out without CSRF token is a 403 page', async () => {
        const { account, browser } = await openLogin();
        const { page } = await signInToConsent(browser, account);
        const logout = formOf(page.body, LOGOUT);
        const response = await browser.post(LOGOUT, { request: logout.hidden.request ?? '' });
        assert.equal(response.statusCode, 403);
        assert.equal(browser.cookies.has('kiwiform_session'), true);
      });

      test('form body errors are 4xx pages', async () => {
        const { account, browser, form } = await openLogin();
        const cases: readonly { description: string; payload: string; type: string; status: number }[] = [
          { description: 'repeated field', payload: new URLSearchParams([...Object.entries(form.hidden), ['email', account.email], ['email', 'b@example.test'], ['password', 'x']]).toString(), type: 'application/x-www-form-urlencoded', status: 400 },
          { description: 'JSON body', payload: JSON.stringify({ ...form.hidden, email: account.email, password: account.password }), type: 'application/json', status: 400 },
          { description: 'text body', payload: 'email=a', type: 'text/plain', status: 400 },
          { description: 'too large', payload: `email=${'a'.repeat(70_000)}`, type: 'application/x-www-form-urlencoded', status: 413 },
          { description: 'bad percent-encoding', payload: '%E0%A4%A=%zz', type: 'application/x-www-form-urlencoded', status: 403 },
        ];
        for (const { description, payload, type, status } of cases) {
          const response = await browser.send({ method: 'POST', url: LOGIN, payload, headers: { 'content-type': type } });
          assert.equal(response.statusCode, status, `${description}: ${response.body.slice(0, 200)}`);
          assert.match(String(response.headers['content-type']), /^text\/html/, description);
          assert.equal(response.headers['cache-control'], 'no-store', description);
        }
      });

      test('logs hold no password, session or CSRF value', async () => {
        const { account, browser, form } = await openLogin();
        await browser.post(LOGIN, { ...form.hidden, email: account.email, password: 'wrong-password-in-logs' });
        await browser.post(LOGIN, { ...form.hidden, email: account.email, password: account.password });
        const logs = h.logs();
        assert.ok(!logs.includes('wrong-password-in-logs'));
        assert.ok(!logs.includes(account.password));
        for (const value of browser.cookies.values()) assert.ok(!logs.includes(value));
        assert.ok(!logs.includes(form.hidden.csrf ?? ''));
      });
    });

    describe('sign-in over HTTPS', () => {
      let h: Harness;
      before(async () => {
        h = await harness({ KIWIFORM_ISSUER: 'https://auth.example.test' }, database);
      });
      after(async () => h.close());

      test('cookies are Secure with the __Host- prefix', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        const page = await browser.get(authorizeUrl(validParameters(account)));
        const form = formOf(page.body, LOGIN);
        const response = await browser.post(LOGIN, { ...form.hidden, email: account.email, password: account.password });
        assert.equal(response.statusCode, 303, response.body);
        const cookies = response.cookies as SetCookie[];
        const session = cookies.find((cookie) => cookie.name === '__Host-kiwiform_session');
        assert.ok(session);
        assert.equal(session.secure, true);
        assert.equal(session.httpOnly, true);
        assert.equal(session.sameSite, 'Lax');
        assert.equal(session.path, '/');
        for (const cookie of cookies) assert.equal(cookie.secure, true, cookie.name);
      });
    });
  });
}
