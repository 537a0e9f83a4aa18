import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { sendErrorPage } from '../../src/pages/errors.js';
import { signInLimitKeys } from '../../src/pages/sign-in.js';
import { LimitExceeded } from '../../src/security/abuse-limits.js';
import { createAccount, harness, type Harness, type TestAccount } from '../helpers/fixtures.js';
import { DATABASES, skipReason } from '../helpers/databases.js';
import { CONNECTIONS, LOGIN, TestBrowser, authorizeUrl, formOf, validParameters } from './browser.js';

/** Failures the sign-in limit allows per address, and per address and account, before it blocks. */
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

      test('correct password works from a fresh address', async () => {
        const account = await createAccount(h.context);
        const attacker = freshBrowser();
        for (let i = 0; i < ALLOWED_FAILURES; i++) await attempt(attacker, account, account.email, `wrong-${i}`);
        // Failures spread over other addresses too, so the account's own count is well over the limit.
        for (let i = 0; i < ALLOWED_FAILURES; i++) await attempt(freshBrowser(), account, account.email.toUpperCase(), `wrong-${i}`);
        const owner = await attempt(freshBrowser(), account, account.email, account.password);
        assert.equal(owner.statusCode, 303, owner.body);
      });

      test('spread guessers get one try per address', async () => {
        const account = await createAccount(h.context);
        const guessers = Array.from({ length: ALLOWED_FAILURES }, () => freshBrowser());
        // Each address fails once, which takes the account over its limit.
        for (const [i, guesser] of guessers.entries()) await attempt(guesser, account, account.email, `wrong-${i}`);
        const second = await attempt(guessers[0]!, account, account.email, 'wrong-again');
        assert.equal(second.statusCode, 429, 'an address that already failed for the account waits');
        const owner = await attempt(freshBrowser(), account, account.email, account.password);
        assert.equal(owner.statusCode, 303, 'an address that never failed still signs in');
      });

      test('attacker address stays blocked', async () => {
        const account = await createAccount(h.context);
        const attacker = freshBrowser();
        for (let i = 0; i < ALLOWED_FAILURES; i++) await attempt(attacker, account, account.email, `wrong-${i}`);
        const owner = await attempt(freshBrowser(), account, account.email, account.password);
        assert.equal(owner.statusCode, 303, 'the owner signs in elsewhere');

        const guess = await attempt(attacker, account, account.email, 'wrong-again');
        assert.equal(guess.statusCode, 429, 'a further guess');
        const correct = await attempt(attacker, account, account.email, account.password);
        assert.equal(correct.statusCode, 429, 'even the correct password');
        assert.equal(attacker.cookies.has('kiwiform_session'), false);
      });

      test('limit keys ignore case and Unicode form', () => {
        const composed = signInLimitKeys('Jos\u00e9@Example.test', '192.0.2.1');
        const decomposed = signInLimitKeys('jose\u0301@example.TEST', '192.0.2.1');
        assert.deepEqual(decomposed, composed);
        assert.equal(composed.account, 'account:jos\u00e9@example.test');
        assert.equal(composed.accountAddress, 'account-address:jos\u00e9@example.test|192.0.2.1');
        assert.equal(composed.address, 'address:192.0.2.1');
      });

      test('overlong email counts by address only', () => {
        const keys = signInLimitKeys(`${'a'.repeat(320)}@example.test`, '192.0.2.1');
        assert.equal(keys.account, undefined);
        assert.equal(keys.accountAddress, undefined);
        assert.equal(keys.address, 'address:192.0.2.1');
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
        const attacker = freshBrowser();
        for (let i = 0; i < ALLOWED_FAILURES; i++) await attempt(attacker, account, account.email, `wrong-${i}`);
        const accountKey = signInLimitKeys(account.email, attacker.remoteAddress).account ?? '';
        const attackerKey = signInLimitKeys(account.email, attacker.remoteAddress).accountAddress ?? '';
        assert.ok((await h.context.limits.blockedFor('signInFailure', [accountKey])) > 0, 'account blocked before');

        const signedIn = await attempt(freshBrowser(), account, account.email, account.password);
        assert.equal(signedIn.statusCode, 303);
        assert.equal(await h.context.limits.blockedFor('signInFailure', [accountKey]), 0, 'account cleared');
        assert.ok((await h.context.limits.blockedFor('signInFailure', [attackerKey])) > 0, 'attacker address kept');
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
