import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { sendErrorPage } from '../../src/pages/errors.js';
import { LimitExceeded } from '../../src/security/abuse-limits.js';
import { createAccount, harness, type Harness, type TestAccount } from '../helpers/fixtures.js';
import { DATABASES, skipReason } from '../helpers/databases.js';
import { CONNECTIONS, LOGIN, TestBrowser, authorizeUrl, formOf, validParameters } from './browser.js';

/** Failures the sign-in limit allows per account and per address before it blocks. */
const ALLOWED_FAILURES = 10;
const GENERIC_ERROR = 'The email or password is incorrect.';
const LIMIT_MESSAGE = /Too many failed sign-in attempts\. Try again in \d+ minutes?\./;

for (const database of DATABASES) {
  describe(`${database} database`, { skip: skipReason(database) }, () => {
    describe('sign-in failure limit', () => {
      let h: Harness;
      let addresses = 0;
      before(async () => {
        h = await harness({}, database);
      });
      after(async () => h.close());
      afterEach(async () => {
        await h.context.audit.flush();
      });

      /** Returns a browser at an address no other test uses, so the per-address counts start at zero. */
      function freshBrowser(): TestBrowser {
        addresses += 1;
        return new TestBrowser(h.app, `10.1.${Math.floor(addresses / 250)}.${(addresses % 250) + 1}`);
      }

      /** Opens the sign-in form of a new authorization request and submits the credentials once. */
      async function attempt(browser: TestBrowser, account: TestAccount, email: string, password: string) {
        const page = await browser.get(authorizeUrl(validParameters(account)));
        const form = formOf(page.body, LOGIN);
        return browser.post(LOGIN, { ...form.hidden, email, password });
      }

      test('blocks after repeated failures', async () => {
        const account = await createAccount(h.context);
        const browser = freshBrowser();
        for (let i = 0; i < ALLOWED_FAILURES; i++) {
          const failed = await attempt(browser, account, account.email, `wrong-${i}`);
          assert.equal(failed.statusCode, 200, `attempt ${i + 1}`);
          assert.ok(failed.body.includes(GENERIC_ERROR), `attempt ${i + 1}`);
        }
        const blocked = await attempt(browser, account, account.email, 'wrong-again');
        assert.equal(blocked.statusCode, 429);
        assert.match(String(blocked.headers['retry-after']), /^[1-9]\d*$/);
        assert.match(blocked.body, LIMIT_MESSAGE);
        assert.ok(!blocked.body.includes(GENERIC_ERROR));
        assert.ok(formOf(blocked.body, LOGIN), 'the sign-in form is shown again');
        assert.match(String(blocked.headers['content-security-policy']), /default-src 'none'/);
        assert.equal(blocked.headers['cache-control'], 'no-store');
      });

      test('blocked sign-in does not check the password', async () => {
        const account = await createAccount(h.context);
        const browser = freshBrowser();
        for (let i = 0; i < ALLOWED_FAILURES; i++) await attempt(browser, account, account.email, `wrong-${i}`);
        const correct = await attempt(browser, account, account.email, account.password);
        assert.equal(correct.statusCode, 429);
        assert.equal(browser.cookies.has('kiwiform_session'), false);
      });

      test('account limit holds across addresses', async () => {
        const account = await createAccount(h.context);
        for (let i = 0; i < ALLOWED_FAILURES; i++) await attempt(freshBrowser(), account, account.email.toUpperCase(), `wrong-${i}`);
        const blocked = await attempt(freshBrowser(), account, account.email, account.password);
        assert.equal(blocked.statusCode, 429);
      });

      test('address limit holds across accounts', async () => {
        const account = await createAccount(h.context);
        const browser = freshBrowser();
        for (let i = 0; i < ALLOWED_FAILURES; i++) await attempt(browser, account, `guess-${i}@example.test`, 'guess');
        const blocked = await attempt(browser, account, account.email, account.password);
        assert.equal(blocked.statusCode, 429);
        const elsewhere = await attempt(freshBrowser(), account, account.email, account.password);
        assert.equal(elsewhere.statusCode, 303, 'the account itself is not blocked');
      });

      test('unknown email is blocked the same way', async () => {
        const account = await createAccount(h.context);
        const responses = [];
        for (const email of [account.email, `nobody-${account.userId}@example.test`]) {
          const browser = freshBrowser();
          for (let i = 0; i < ALLOWED_FAILURES; i++) await attempt(browser, account, email, `wrong-${i}`);
          responses.push(await attempt(browser, account, email, 'wrong-again'));
        }
        const [known, unknown] = responses;
        assert.ok(known);
        assert.ok(unknown);
        assert.equal(unknown.statusCode, 429);
        assert.equal(known.statusCode, 429);
        // The two Retry-After values may differ by the second that passed between the two runs.
        assert.ok(Math.abs(Number(unknown.headers['retry-after']) - Number(known.headers['retry-after'])) <= 1);
        const withoutVariables = (body: string) => body.replace(/value="[^"]*"/g, 'value=""');
        assert.equal(withoutVariables(unknown.body), withoutVariables(known.body));
      });

      test('success clears the account count', async () => {
        const account = await createAccount(h.context);
        for (let i = 0; i < ALLOWED_FAILURES - 1; i++) await attempt(freshBrowser(), account, account.email, `wrong-${i}`);
        const signedIn = await attempt(freshBrowser(), account, account.email, account.password);
        assert.equal(signedIn.statusCode, 303);
        for (let i = 0; i < ALLOWED_FAILURES - 1; i++) {
          const failed = await attempt(freshBrowser(), account, account.email, `wrong-later-${i}`);
          assert.equal(failed.statusCode, 200, `failure ${i + 1} after the sign-in`);
        }
      });

      test('success keeps the address count', async () => {
        const account = await createAccount(h.context);
        const browser = freshBrowser();
        for (let i = 0; i < ALLOWED_FAILURES - 1; i++) await attempt(browser, account, `guess-${i}@example.test`, 'guess');
        const signedIn = await attempt(browser, account, account.email, account.password);
        assert.equal(signedIn.statusCode, 303);
        // Signed in now, so the next attempts come from a new browser at the same address.
        const sameAddress = new TestBrowser(h.app, browser.remoteAddress);
        await attempt(sameAddress, account, 'one-more@example.test', 'guess');
        const blocked = await attempt(sameAddress, account, 'another@example.test', 'guess');
        assert.equal(blocked.statusCode, 429);
      });

      test('account sign-in form is limited too', async () => {
        const account = await createAccount(h.context);
        const browser = freshBrowser();
        for (let i = 0; i < ALLOWED_FAILURES; i++) {
          const form = formOf((await browser.get(CONNECTIONS)).body, LOGIN);
          await browser.post(LOGIN, { ...form.hidden, email: account.email, password: `wrong-${i}` });
        }
        const form = formOf((await browser.get(CONNECTIONS)).body, LOGIN);
        const blocked = await browser.post(LOGIN, { ...form.hidden, email: account.email, password: account.password });
        assert.equal(blocked.statusCode, 429);
        assert.match(blocked.body, LIMIT_MESSAGE);
        assert.equal(formOf(blocked.body, LOGIN).hidden.return_to, CONNECTIONS);
      });

      test('blocked attempts are logged and counted', async () => {
        const account = await createAccount(h.context);
        const browser = freshBrowser();
        for (let i = 0; i < ALLOWED_FAILURES + 1; i++) await attempt(browser, account, account.email, `wrong-${i}`);
        assert.match(h.logs(), /sign-in rejected: too many failed attempts/);
        const metrics = await h.context.metrics.registry.metrics();
        assert.match(metrics, /kiwiform_abuse_limit_rejections_total\{limit="signInFailure"\} [1-9]/);
      });
    });

    describe('page error handler', () => {
      test('LimitExceeded is a 429 page', async () => {
        const h = await harness({}, database);
        const app = Fastify();
        try {
          app.decorate('context', h.context);
          app.setErrorHandler(sendErrorPage);
          app.get('/limited', async () => {
            throw new LimitExceeded('signInFailure', 125);
          });
          const response = await app.inject({ method: 'GET', url: '/limited' });
          assert.equal(response.statusCode, 429);
          assert.equal(response.headers['retry-after'], '125');
          assert.match(String(response.headers['content-type']), /^text\/html/);
          assert.match(response.body, /Try again in 3 minutes\./);
          assert.match(String(response.headers['content-security-policy']), /frame-ancestors 'none'/);
        } finally {
          await app.close();
          await h.close();
        }
      });
    });
  });
}
