import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, harness, type Harness, type TestAccount } from '../helpers/fixtures.js';
import { DATABASES, skipReason } from '../helpers/databases.js';
import { LOGIN, TestBrowser, authorizeUrl, formOf, validParameters } from './browser.js';

const WEIRD_STATE = 'a b&c=d/é?+%';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

for (const database of DATABASES) {
  describe(`${database} database`, { skip: skipReason(database) }, () => {
    describe('authorize endpoint', () => {
      let h: Harness;
      before(async () => {
        h = await harness({}, database);
      });
      after(async () => h.close());

      const get = (url: string) => h.app.inject({ method: 'GET', url });

      test('unknown client is a 400 page', async () => {
        const account = await createAccount(h.context);
        const response = await get(authorizeUrl(validParameters(account, { client_id: 'no-such-client' })));
        assert.equal(response.statusCode, 400);
        assert.equal(response.headers.location, undefined);
        assert.match(String(response.headers['content-type']), /^text\/html/);
        assert.match(response.body, /This app is not registered/);
      });

      test('missing client_id is a 400 page', async () => {
        const account = await createAccount(h.context);
        const parameters = validParameters(account);
        delete parameters.client_id;
        const response = await get(authorizeUrl(parameters));
        assert.equal(response.statusCode, 400);
        assert.equal(response.headers.location, undefined);
      });

      test('unregistered redirect_uri is a 400 page', async () => {
        const account = await createAccount(h.context);
        const bad = 'https://evil.example.test/callback';
        const response = await get(authorizeUrl(validParameters(account, { redirect_uri: bad })));
        assert.equal(response.statusCode, 400);
        assert.equal(response.headers.location, undefined);
        assert.match(response.body, /The redirect address is not registered for this app/);
        assert.doesNotMatch(response.body, /evil\.example\.test/);
      });

      test('redirect_uri differing by a slash is rejected', async () => {
        const account = await createAccount(h.context);
        const response = await get(authorizeUrl(validParameters(account, { redirect_uri: account.redirectUri.replace(/\/$/, '') })));
        assert.equal(response.statusCode, 400);
        assert.equal(response.headers.location, undefined);
      });

      test('repeated client_id or redirect_uri is a 400 page', async () => {
        const account = await createAccount(h.context);
        for (const name of ['client_id', 'redirect_uri']) {
          const parameters = Object.entries(validParameters(account));
          const own = parameters.find(([key]) => key === name);
          assert.ok(own);
          const response = await get(authorizeUrl([...parameters, own]));
          assert.equal(response.statusCode, 400, name);
          assert.equal(response.headers.location, undefined, name);
        }
      });

      test('absent redirect_uri uses the only registered one', async () => {
        const account = await createAccount(h.context);
        const parameters = validParameters(account);
        delete parameters.redirect_uri;
        const response = await get(authorizeUrl(parameters));
        assert.equal(response.statusCode, 200);
        assert.ok(formOf(response.body, LOGIN));
      });

      test('absent redirect_uri with two registered is a 400 page', async () => {
        const account = await createAccount(h.context, { redirectUris: ['https://a.example.test/cb', 'https://b.example.test/cb'] });
        const response = await get(authorizeUrl({ response_type: 'code', client_id: account.client.id, state: 'x' }));
        assert.equal(response.statusCode, 400);
        assert.equal(response.headers.location, undefined);
      });

      const redirectCases: readonly {
        description: string;
        parameters: (account: TestAccount) => readonly (readonly [string, string])[];
        client?: { requirePkce?: boolean; scopes?: string[] };
        error: string;
      }[] = [
        { description: 'missing response_type', parameters: (a) => without(validParameters(a, { state: WEIRD_STATE }), 'response_type'), error: 'invalid_request' },
        { description: 'empty response_type', parameters: (a) => Object.entries(validParameters(a, { state: WEIRD_STATE, response_type: '' })), error: 'invalid_request' },
        { description: 'token response_type', parameters: (a) => Object.entries(validParameters(a, { state: WEIRD_STATE, response_type: 'token' })), error: 'unsupported_response_type' },
        { description: 'unknown scope', parameters: (a) => Object.entries(validParameters(a, { state: WEIRD_STATE, scope: 'profile admin' })), error: 'invalid_scope' },
        { description: 'scope outside the client', parameters: (a) => Object.entries(validParameters(a, { state: WEIRD_STATE, scope: 'forms:write' })), client: { scopes: ['profile'] }, error: 'invalid_scope' },
        { description: 'challenge without method', parameters: (a) => Object.entries(validParameters(a, { state: WEIRD_STATE, code_challenge: CHALLENGE })), error: 'invalid_request' },
        { description: 'plain challenge method', parameters: (a) => Object.entries(validParameters(a, { state: WEIRD_STATE, code_challenge: CHALLENGE, code_challenge_method: 'plain' })), error: 'invalid_request' },
        { description: 'malformed challenge', parameters: (a) => Object.entries(validParameters(a, { state: WEIRD_STATE, code_challenge: 'short', code_challenge_method: 'S256' })), error: 'invalid_request' },
        { description: 'method without challenge', parameters: (a) => Object.entries(validParameters(a, { state: WEIRD_STATE, code_challenge_method: 'S256' })), error: 'invalid_request' },
        { description: 'PKCE required but absent', parameters: (a) => Object.entries(validParameters(a, { state: WEIRD_STATE })), client: { requirePkce: true }, error: 'invalid_request' },
        { description: 'repeated scope', parameters: (a) => [...Object.entries(validParameters(a, { state: WEIRD_STATE, scope: 'profile' })), ['scope', 'profile']], error: 'invalid_request' },
      ];

      for (const { description, parameters, client, error } of redirectCases) {
        test(`${description} redirects with ${error}`, async () => {
          const account = await createAccount(h.context, client ?? {});
          const response = await get(authorizeUrl(parameters(account)));
          assert.equal(response.statusCode, 302, response.body);
          const location = new URL(String(response.headers.location));
          assert.ok(location.href.startsWith(account.redirectUri), location.href);
          assert.equal(location.searchParams.get('error'), error);
          assert.ok(location.searchParams.get('error_description'));
          assert.equal(location.searchParams.get('state'), WEIRD_STATE);
          assert.equal(location.searchParams.get('code'), null);
        });
      }

      test('error redirect without state has no state', async () => {
        const account = await createAccount(h.context);
        const response = await get(authorizeUrl(without(validParameters(account, { response_type: 'token' }), 'state')));
        assert.equal(response.statusCode, 302);
        const location = new URL(String(response.headers.location));
        assert.equal(location.searchParams.get('error'), 'unsupported_response_type');
        assert.equal(location.searchParams.has('state'), false);
      });

      test('repeated state is not echoed', async () => {
        const account = await createAccount(h.context);
        const response = await get(authorizeUrl([...Object.entries(validParameters(account)), ['state', 'other']]));
        assert.equal(response.statusCode, 302);
        const location = new URL(String(response.headers.location));
        assert.equal(location.searchParams.get('error'), 'invalid_request');
        assert.equal(location.searchParams.has('state'), false);
      });

      test('error redirect keeps an existing query', async () => {
        const redirectUri = 'https://app.example.test/callback?tenant=a%20b&x=1';
        const account = await createAccount(h.context, { redirectUris: [redirectUri] });
        const response = await get(authorizeUrl({ response_type: 'token', client_id: account.client.id, redirect_uri: redirectUri, state: 's' }));
        assert.equal(response.statusCode, 302);
        const location = String(response.headers.location);
        assert.ok(location.startsWith(`${redirectUri}&error=unsupported_response_type&`), location);
        assert.equal(new URL(location).searchParams.get('tenant'), 'a b');
      });

      test('valid request serves the login page', async () => {
        const account = await createAccount(h.context);
        const response = await get(authorizeUrl(validParameters(account, { scope: 'profile', code_challenge: CHALLENGE, code_challenge_method: 'S256' })));
        assert.equal(response.statusCode, 200, response.body);
        const form = formOf(response.body, LOGIN);
        assert.equal(form.method, 'post');
        assert.match(form.body, /<label for="email">/);
        assert.match(form.body, /<input id="email" name="email" type="email" autocomplete="username"/);
        assert.match(form.body, /<label for="password">/);
        assert.match(form.body, /<input id="password" name="password" type="password" autocomplete="current-password"/);
        assert.match(form.hidden.request ?? '', /^req_[A-Za-z0-9_-]{43}$/);
        assert.ok(form.hidden.csrf);
        assert.equal(Object.keys(form.hidden).length, 2, 'no raw request parameters in the form');
        assert.match(response.body, /<html lang="en">/);
        assert.equal(response.body.match(/<h1\b/g)?.length, 1);
      });

      test('pending request is stored server-side', async () => {
        const account = await createAccount(h.context);
        const response = await get(authorizeUrl(validParameters(account, { scope: 'forms:read profile', code_challenge: CHALLENGE, code_challenge_method: 'S256' })));
        const requestId = formOf(response.body, LOGIN).hidden.request ?? '';
        const stored = await h.context.store.requests.find(requestId, h.context.now());
        assert.ok(stored);
        assert.equal(stored.clientId, account.client.id);
        assert.equal(stored.redirectUri, account.redirectUri);
        assert.equal(stored.redirectUriGiven, true);
        assert.equal(stored.state, 'state-1');
        assert.equal(stored.scope, 'forms:read profile');
        assert.equal(stored.codeChallenge, CHALLENGE);
        assert.ok(stored.expiresAt - h.context.now() <= 15 * 60 * 1000);
      });

      test('NUL in client_id or redirect_uri is a 400 page', async () => {
        const account = await createAccount(h.context);
        const cases: Record<string, string> = { client_id: 'a\u0000b', redirect_uri: `${account.redirectUri}\u0000` };
        for (const [name, value] of Object.entries(cases)) {
          const response = await get(authorizeUrl(validParameters(account, { [name]: value })));
          assert.equal(response.statusCode, 400, name);
          assert.equal(response.headers.location, undefined, name);
          assert.match(String(response.headers['content-type']), /^text\/html/, name);
          assert.ok(response.body.includes(`${name} contains a NUL character`), name);
        }
      });

      test('NUL in another parameter redirects with invalid_request', async () => {
        const account = await createAccount(h.context);
        const cases: Record<string, string>[] = [
          { state: 'a\u0000b' },
          { scope: 'profile\u0000' },
          { response_type: 'code\u0000' },
          { code_challenge: `${CHALLENGE}\u0000`, code_challenge_method: 'S256' },
          { unknown_parameter: '\u0000' },
        ];
        for (const extra of cases) {
          const label = Object.keys(extra)[0] ?? '';
          const response = await get(authorizeUrl(validParameters(account, extra)));
          assert.equal(response.statusCode, 302, `${label}: ${response.body}`);
          const location = new URL(String(response.headers.location));
          assert.ok(location.href.startsWith(account.redirectUri), label);
          assert.equal(location.searchParams.get('error'), 'invalid_request', label);
          assert.match(location.searchParams.get('error_description') ?? '', /NUL character/, label);
          if (label === 'state') assert.equal(location.searchParams.has('state'), false, 'a rejected state is not echoed');
          else assert.equal(location.searchParams.get('state'), 'state-1', label);
        }
      });

      test('overlong stored parameters redirect with invalid_request', async () => {
        const account = await createAccount(h.context);
        const cases: [string, Record<string, string>][] = [
          ['state', { state: 's'.repeat(1025) }],
          ['scope', { scope: Array(200).fill('profile').join(' ') }],
          ['code_challenge', { code_challenge: 'A'.repeat(129), code_challenge_method: 'S256' }],
        ];
        for (const [name, extra] of cases) {
          const response = await get(authorizeUrl(validParameters(account, extra)));
          assert.equal(response.statusCode, 302, `${name}: ${response.body}`);
          const location = new URL(String(response.headers.location));
          assert.equal(location.searchParams.get('error'), 'invalid_request', name);
          assert.match(location.searchParams.get('error_description') ?? '', new RegExp(`${name} is \\d+ characters long`), name);
          if (name === 'state') assert.equal(location.searchParams.has('state'), false, 'an overlong state is not echoed');
        }
      });

      test('state of 1024 characters is stored', async () => {
        const account = await createAccount(h.context);
        const state = 's'.repeat(1024);
        const response = await get(authorizeUrl(validParameters(account, { state })));
        assert.equal(response.statusCode, 200, response.body);
        const stored = await h.context.store.requests.find(formOf(response.body, LOGIN).hidden.request ?? '', h.context.now());
        assert.equal(stored?.state, state);
      });

      test('pages carry the security headers', async () => {
        const account = await createAccount(h.context);
        const pages = [
          await get(authorizeUrl(validParameters(account))),
          await get(authorizeUrl(validParameters(account, { client_id: 'no-such-client' }))),
        ];
        for (const page of pages) {
          assert.equal(page.headers['content-security-policy'], "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
          assert.equal(page.headers['x-frame-options'], 'DENY');
          assert.equal(page.headers['referrer-policy'], 'no-referrer');
          assert.equal(page.headers['cache-control'], 'no-store');
          assert.equal(page.headers['x-content-type-options'], 'nosniff');
        }
      });

      test('stylesheet is served and cacheable', async () => {
        const response = await get('/assets/kiwiform.css');
        assert.equal(response.statusCode, 200);
        assert.match(String(response.headers['content-type']), /^text\/css/);
        assert.match(String(response.headers['cache-control']), /^public, max-age=\d+$/);
        assert.match(response.body, /:focus-visible/);
        const again = await h.app.inject({ method: 'GET', url: '/assets/kiwiform.css', headers: { 'if-none-match': String(response.headers.etag) } });
        assert.equal(again.statusCode, 304);
      });

      test('no page contains inline script or style', async () => {
        const account = await createAccount(h.context);
        const page = await get(authorizeUrl(validParameters(account)));
        assert.doesNotMatch(page.body, /<script|<style|\sstyle=|\son[a-z]+=/i);
      });

      test('a new browser gets a CSRF cookie', async () => {
        const account = await createAccount(h.context);
        const browser = new TestBrowser(h.app);
        await browser.get(authorizeUrl(validParameters(account)));
        assert.equal(browser.cookies.size, 1);
      });
    });

    describe('authorize endpoint HEAD', () => {
      test('HEAD is 405 and stores nothing', async () => {
        const h = await harness({}, database);
        try {
          const account = await createAccount(h.context);
          const url = authorizeUrl(validParameters(account));
          const head = await h.app.inject({ method: 'HEAD', url });
          assert.equal(head.statusCode, 405);
          assert.equal(head.headers.allow, 'GET');
          assert.equal(head.headers.location, undefined);
          // One GET for comparison: after the requests expire, a purge deletes exactly the one it stored.
          const get = await h.app.inject({ method: 'GET', url });
          assert.equal(get.statusCode, 200);
          h.clock.advance(16 * 60);
          const now = h.context.now();
          const purged = await h.context.store.purge(now, now, 1000);
          assert.equal(purged.requests, 1);
        } finally {
          await h.close();
        }
      });
    });

    /** Returns the parameters without one of them, as a list. */
    function without(parameters: Record<string, string>, name: string): [string, string][] {
      return Object.entries(parameters).filter(([key]) => key !== name);
    }
  });
}
