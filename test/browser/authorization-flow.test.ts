import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { TestAccount } from '../helpers/fixtures.js';
import { ARTIFACTS, BrowserRig, SKIP_BROWSER } from './chromium.js';

const CONSENT_URL = /\/api\/zapier\/authorize\/consent\?request=req_/;
const TEST_OPTIONS = { timeout: 60_000 };
/** Script run in the page. It is a string because the tests are compiled without the DOM types. */
const REMOVE_CSRF_INPUTS = 'for (const input of document.querySelectorAll(\'input[name="csrf"]\')) input.remove();';

describe('authorization flow in Chromium', { skip: SKIP_BROWSER ? 'KIWIFORM_TEST_SKIP_BROWSER=1' : false }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await BrowserRig.start();
  });
  after(async () => {
    await rig?.close();
  });

  /**
   * Runs `steps` on a page of a fresh browser context, then fails the test when the page requested any host
   * other than 127.0.0.1 or broke the Content-Security-Policy.
   */
  async function inBrowser(steps: (page: Page) => Promise<void>): Promise<void> {
    const context = await rig.newContext();
    const policyViolations: string[] = [];
    const page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) policyViolations.push(message.text());
    });
    try {
      await steps(page);
    } finally {
      await context.close();
    }
    assert.deepEqual(rig.blocked, [], 'requests to hosts other than 127.0.0.1');
    assert.deepEqual(policyViolations, [], 'Content-Security-Policy violations');
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
  }

  /** Fills in and submits the sign-in form on the current page. */
  async function signIn(page: Page, account: TestAccount, password = account.password): Promise<void> {
    await page.getByLabel('Email').fill(account.email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState();
  }

  /** Opens the authorize URL, signs in and waits for the consent page. */
  async function reachConsent(page: Page, account: TestAccount, extra: Readonly<Record<string, string>> = {}): Promise<void> {
    await page.goto(rig.authorizeUrl(account, extra));
    await signIn(page, account);
    await page.waitForURL(CONSENT_URL);
  }

  /** Clicks a consent button and returns the URL the callback server was reached at. */
  async function decide(page: Page, decision: 'Allow' | 'Deny'): Promise<URL> {
    await page.getByRole('button', { name: decision, exact: true }).click();
    await page.waitForURL((url) => url.href.startsWith(rig.callbackUrl));
    await page.getByText('Callback received').waitFor();
    return new URL(page.url());
  }

  async function exchange(account: TestAccount, code: string): Promise<{ access_token: string; refresh_token: string; scope: string }> {
    const response = await fetch(`${rig.base}/api/zapier/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri,
      }),
    });
    const body = await response.text();
    assert.equal(response.status, 200, body);
    return JSON.parse(body);
  }

  const me = (accessToken: string) => fetch(`${rig.base}/api/zapier/me`, { headers: { authorization: `Bearer ${accessToken}` } });

  test('sign-in and allow return a code', TEST_OPTIONS, async () => {
    const account = await rig.createAccount('Zapier');
    await inBrowser(async (page) => {
      await page.goto(rig.authorizeUrl(account, { state: 'a b&c=d/é?', scope: 'profile forms:read' }));
      await page.getByRole('heading', { name: 'Sign in to continue to Zapier' }).waitFor();
      await screenshot(page, 'login.png');
      await page.setViewportSize({ width: 390, height: 844 });
      await screenshot(page, 'login-390.png');
      await page.setViewportSize({ width: 1024, height: 800 });

      await signIn(page, account);
      await page.waitForURL(CONSENT_URL);
      await page.getByRole('heading', { name: 'Allow Zapier to access your Kiwiform account?' }).waitFor();
      await screenshot(page, 'consent.png');
      await page.keyboard.press('Tab');
      assert.equal(await page.getByRole('button', { name: 'Allow', exact: true }).evaluate((button) => button.matches(':focus-visible')), true, 'Allow is the first control');
      await screenshot(page, 'consent-focus.png');
      await page.setViewportSize({ width: 390, height: 844 });
      await screenshot(page, 'consent-390.png');

      const callback = await decide(page, 'Allow');
      assert.equal(callback.searchParams.get('state'), 'a b&c=d/é?');
      const code = callback.searchParams.get('code') ?? '';
      assert.match(code, /^cod_/);

      const tokens = await exchange(account, code);
      assert.equal(tokens.scope, 'forms:read profile');
      const profile = await me(tokens.access_token);
      assert.equal(profile.status, 200);
      assert.equal(((await profile.json()) as { email: string }).email, account.email);
    });
  });

  test('deny returns access_denied', TEST_OPTIONS, async () => {
    const account = await rig.createAccount();
    await inBrowser(async (page) => {
      await reachConsent(page, account, { state: 'deny-1' });
      const callback = await decide(page, 'Deny');
      assert.equal(callback.searchParams.get('error'), 'access_denied');
      assert.equal(callback.searchParams.get('state'), 'deny-1');
      assert.equal(callback.searchParams.has('code'), false);
    });
  });

  test('wrong password shows the generic error', TEST_OPTIONS, async () => {
    const account = await rig.createAccount();
    await inBrowser(async (page) => {
      await page.goto(rig.authorizeUrl(account));
      await signIn(page, account, 'not the password');
      const alert = page.getByRole('alert');
      assert.equal((await alert.textContent())?.trim(), 'The email or password is incorrect.');
      assert.equal(await page.getByLabel('Email').inputValue(), account.email);
      assert.equal(await page.getByLabel('Password').inputValue(), '');
      await screenshot(page, 'login-error.png');
    });
  });

  test('missing CSRF token is a 403 page', TEST_OPTIONS, async () => {
    const account = await rig.createAccount();
    await inBrowser(async (page) => {
      await page.goto(rig.authorizeUrl(account));
      await page.evaluate(REMOVE_CSRF_INPUTS);
      await page.getByLabel('Email').fill(account.email);
      await page.getByLabel('Password').fill(account.password);
      const [signInResponse] = await Promise.all([
        page.waitForResponse((response) => response.request().method() === 'POST'),
        page.getByRole('button', { name: 'Sign in' }).click(),
      ]);
      assert.equal(signInResponse.status(), 403);
      await page.getByRole('heading', { name: 'This form has expired' }).waitFor();

      await reachConsent(page, account);
      await page.evaluate(REMOVE_CSRF_INPUTS);
      const [decisionResponse] = await Promise.all([
        page.waitForResponse((response) => response.request().method() === 'POST'),
        page.getByRole('button', { name: 'Allow', exact: true }).click(),
      ]);
      assert.equal(decisionResponse.status(), 403);
      await page.getByRole('heading', { name: 'This form has expired' }).waitFor();
      assert.equal(rig.callbacks.some((path) => path.includes('state-1') && path.includes(account.client.id)), false);
    });
  });

  test('remembered consent skips the consent page', TEST_OPTIONS, async () => {
    const account = await rig.createAccount();
    await inBrowser(async (page) => {
      await reachConsent(page, account, { state: 'first', scope: 'profile' });
      await decide(page, 'Allow');

      const visited: string[] = [];
      page.on('request', (request) => {
        if (request.isNavigationRequest()) visited.push(request.url());
      });
      await page.goto(rig.authorizeUrl(account, { state: 'second', scope: 'profile' }));
      await page.getByText('Callback received').waitFor();
      const callback = new URL(page.url());
      assert.ok(callback.href.startsWith(rig.callbackUrl), callback.href);
      assert.equal(callback.searchParams.get('state'), 'second');
      assert.equal(visited.filter((url) => CONSENT_URL.test(url)).length, 0, visited.join('\n'));
      const tokens = await exchange(account, callback.searchParams.get('code') ?? '');
      assert.equal((await me(tokens.access_token)).status, 200);

      // A scope beyond the remembered ones brings the consent page back.
      // A signed-in browser gets the consent page as the response to the authorize URL itself.
      await page.goto(rig.authorizeUrl(account, { state: 'third', scope: 'profile forms:read' }));
      await page.getByRole('heading', { name: /^Allow .* to access your Kiwiform account\?$/ }).waitFor();
    });
  });

  test('connected apps revoke kills the tokens', TEST_OPTIONS, async () => {
    const account = await rig.createAccount('Zapier');
    const other = await rig.createAccount('Forms Sync');
    await inBrowser(async (page) => {
      await reachConsent(page, account, { scope: 'profile forms:read submissions:read' });
      const tokens = await exchange(account, (await decide(page, 'Allow')).searchParams.get('code') ?? '');
      // The same user also connects a second app, so the page lists two.
      await page.goto(rig.authorizeUrl(other, { scope: 'forms:write' }));
      await page.getByRole('heading', { name: 'Allow Forms Sync to access your Kiwiform account?' }).waitFor();
      await decide(page, 'Allow');

      await page.goto(`${rig.base}/account/connections`);
      await page.getByRole('heading', { name: 'Connected apps' }).waitFor();
      assert.equal(await page.getByRole('heading', { level: 2 }).count(), 2);
      await screenshot(page, 'connections.png');
      await page.setViewportSize({ width: 390, height: 844 });
      await screenshot(page, 'connections-390.png');
      await page.setViewportSize({ width: 1024, height: 800 });

      const zapier = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Zapier', exact: true }) });
      await zapier.getByRole('button', { name: 'Revoke access' }).click();
      await page.waitForURL(/\/account\/connections\?revoked=/);
      const notice = page.getByRole('status');
      assert.equal((await notice.textContent())?.trim(), 'Zapier no longer has access to your account.');
      assert.equal(await page.getByRole('heading', { level: 2 }).count(), 1);
      await screenshot(page, 'connections-revoked.png');

      assert.equal((await me(tokens.access_token)).status, 401);
      const refresh = await fetch(`${rig.base}/api/zapier/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
      });
      assert.equal(refresh.status, 400);
      assert.equal(((await refresh.json()) as { error: string }).error, 'invalid_grant');
    });
  });

  test('sign-in and sign-out on connected apps', TEST_OPTIONS, async () => {
    const account = await rig.createAccount();
    await inBrowser(async (page) => {
      await page.goto(`${rig.base}/account/connections`);
      await page.getByRole('heading', { name: 'Sign in to your Kiwiform account' }).waitFor();
      await signIn(page, account);
      await page.waitForURL(`${rig.base}/account/connections`);
      await page.getByText('No apps are connected to your account.').waitFor();

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
      const cookies = await page.context().cookies();
      assert.equal(cookies.some((cookie) => cookie.name === 'kiwiform_session'), false);

      await page.goto(`${rig.base}/account/connections`);
      await page.getByRole('heading', { name: 'Sign in to your Kiwiform account' }).waitFor();
    });
  });

  test('pages requested only 127.0.0.1', (t) => {
    assert.deepEqual(rig.blocked, []);
    // Chromium's own update and sign-in checks are not requests of a page. They ended at the proxy trap.
    if (rig.backgroundHosts.size > 0) t.diagnostic(`Chromium background requests stopped at the proxy: ${[...rig.backgroundHosts].sort().join(', ')}`);
  });
});
