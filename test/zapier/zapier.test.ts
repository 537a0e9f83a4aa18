// Runs the Zapier app in integrations/zapier through Zapier's own runtime (zapier-platform-core's app tester)
// against a real Kiwiform server listening on 127.0.0.1.
//
// zapier-platform-core 19.1.0 reaches the network in three places, all switched off here:
// - Its logger streams every log line to httplogger.zapier.com when LOGGING_TOKEN (or the event's token) is
//   set. The app tester sends no token, so with LOGGING_TOKEN unset the lines stay in memory.
// - Its RPC client (z.stashFile, z.cursor, definition overrides) calls rpc.zapier.com with ZAPIER_DEPLOY_KEY.
//   The app uses none of these, and without a key the client throws instead of connecting.
// - z.generateCallbackUrl() returns a Zapier address, and the app never calls it.
// The suite's after hook checks that every outgoing HTTP request went to 127.0.0.1.
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import type { Bundle } from 'zapier-platform-core';
import { createAccount, harness, issueCode, type Harness, type TestAccount } from '../helpers/fixtures.js';

delete process.env.LOGGING_TOKEN;
delete process.env.ZAPIER_DEPLOY_KEY;
// zapier-platform-core reads NODE_ENV once, when it is first loaded, to decide whether failed checks throw.
process.env.NODE_ENV ??= 'test';
// The app falls back to the production address when KIWIFORM_BASE_URL is unset. This placeholder keeps a call
// made outside a test's setup on the loopback address, where nothing listens on port 1, so it fails locally.
const UNREACHABLE_BASE_URL = 'http://127.0.0.1:1';
process.env.KIWIFORM_BASE_URL = UNREACHABLE_BASE_URL;

/** Every host that an HTTP request in this process was addressed to, recorded when the request is created. */
const contactedHosts: string[] = [];
dc.subscribe('http.client.request.start', (message) => {
  contactedHosts.push((message as { request: ClientRequest }).request.host);
});
dc.subscribe('undici:request:create', (message) => {
  contactedHosts.push(new URL((message as { request: { origin: string } }).request.origin).hostname);
});

const require = createRequire(import.meta.url);
const zapier = require('zapier-platform-core') as typeof import('zapier-platform-core');
const App = require('../../integrations/zapier/index.js');
const appTester = zapier.createAppTester(App);

interface TokenPair {
  readonly access_token: string;
  readonly refresh_token: string;
}

interface SeenRequest {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

/**
 * Renders a connection label template as the Zapier CLI does for `zapier invoke auth label`: a lodash template
 * with {{…}} placeholders over the auth test's result.
 */
function renderConnectionLabel(template: string, testResult: Record<string, unknown>, authData: Record<string, string>): string {
  const lodash = createRequire(require.resolve('zapier-platform-core'))('lodash');
  return lodash.template(template, { interpolate: /{{([\s\S]+?)}}/g })({ ...testResult, bundle: { authData, inputData: testResult } });
}

describe('Zapier app on zapier-platform-core', () => {
  let h: Harness;
  let baseUrl: string;
  let account: TestAccount;
  let seen: SeenRequest[];

  beforeEach(async () => {
    h = await harness();
    baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
    seen = [];
    // The Node server's own request event, so the test sees headers exactly as they arrived. The logs redact
    // Authorization, and Fastify takes no new hooks once the harness has made it ready.
    h.app.server.on('request', (request: IncomingMessage) => {
      seen.push({ method: request.method, url: request.url, headers: request.headers });
    });
    account = await createAccount(h.context);
    // What `zapier env:set` provides in production. The app tester ignores bundle.environment: core copies
    // only the event's top-level environment into process.env, and the tester builds no such field.
    process.env.KIWIFORM_BASE_URL = baseUrl;
    process.env.CLIENT_ID = account.client.id;
    process.env.CLIENT_SECRET = account.clientSecret;
  });

  afterEach(async () => {
    await h.close();
    process.env.KIWIFORM_BASE_URL = UNREACHABLE_BASE_URL;
    delete process.env.CLIENT_ID;
    delete process.env.CLIENT_SECRET;
  });

  after(() => {
    assert.ok(contactedHosts.length > 0, 'no HTTP request was recorded, so the host check below proves nothing');
    assert.deepEqual([...new Set(contactedHosts)], ['127.0.0.1'], 'an HTTP request left 127.0.0.1');
  });

  const bundleWith = (parts: Partial<Pick<Bundle, 'authData' | 'inputData'>>) => ({ authData: {}, inputData: {}, ...parts });

  const exchangeCode = async (): Promise<TokenPair> => {
    const code = await issueCode(h.context, account);
    return appTester(App.authentication.oauth2Config.getAccessToken, bundleWith({ inputData: { code, redirect_uri: account.redirectUri } }));
  };

  const refresh = (authData: TokenPair): Promise<TokenPair> =>
    appTester(App.authentication.oauth2Config.refreshAccessToken, bundleWith({ authData: { ...authData } }));

  const runAuthTest = (authData: TokenPair): Promise<Record<string, unknown>> =>
    appTester(App.authentication.test, bundleWith({ authData: { ...authData } }));

  const tokenRequests = () => seen.filter((request) => request.method === 'POST' && request.url === '/api/zapier/token');

  test('app definition passes schema validation', async () => {
    // zapier-platform-core's own check of the definition against zapier-platform-schema 19.1.0.
    // createAppHandler is exported at run time but missing from the package's type declarations.
    type AppHandler = (event: { command: string; bundle: object }) => Promise<{ results: unknown[] }>;
    const { createAppHandler } = zapier as unknown as { createAppHandler: (app: object) => AppHandler };
    const handler = createAppHandler(App);
    const output = await handler({ command: 'validate', bundle: {} });
    assert.deepEqual(output.results, []);
  });

  test('authorize URL names the client and redirect', async () => {
    const url: string = await appTester(
      App.authentication.oauth2Config.authorizeUrl,
      bundleWith({ inputData: { state: 'state-1234', redirect_uri: account.redirectUri } }),
    );
    const parsed = new URL(url);
    assert.equal(`${parsed.origin}${parsed.pathname}`, `${baseUrl}/api/zapier/authorize`);
    assert.equal(parsed.searchParams.get('client_id'), account.client.id);
    assert.equal(parsed.searchParams.get('state'), 'state-1234');
    assert.equal(parsed.searchParams.get('redirect_uri'), account.redirectUri);
    assert.equal(parsed.searchParams.get('response_type'), 'code');

    // An unknown client or redirect URI gets the 400 error page, and other request errors redirect back to
    // redirect_uri with an error. A good request leads to the sign-in form, directly or by a redirect.
    const response = await fetch(url, { redirect: 'manual' });
    assert.ok([200, 302, 303].includes(response.status), `status ${response.status}: ${await response.text()}`);
    const location = response.headers.get('location') ?? '';
    assert.ok(!location.startsWith(account.redirectUri), `redirected back to Zapier: ${location}`);
  });

  test('code exchange returns both tokens', async () => {
    const tokens = await exchangeCode();
    assert.match(tokens.access_token, /^atk_/);
    assert.match(tokens.refresh_token, /^rtk_/);
  });

  test('refresh returns a new access token', async () => {
    const first = await exchangeCode();
    const refreshed = await refresh(first);
    assert.match(refreshed.access_token, /^atk_/);
    assert.notEqual(refreshed.access_token, first.access_token);
    assert.equal(refreshed.refresh_token, first.refresh_token);
  });

  test('auth test returns the user and label', async () => {
    const tokens = await exchangeCode();
    const result = await runAuthTest(tokens);
    assert.equal(result.email, account.email);
    assert.equal(result.id, account.userId);
    assert.equal(renderConnectionLabel(App.authentication.connectionLabel, result, { ...tokens }), account.email);
  });

  test('expired token raises RefreshAuthError, refresh recovers', async () => {
    const first = await exchangeCode();
    h.clock.advance(3601);
    await assert.rejects(runAuthTest(first), { name: 'RefreshAuthError' });

    // The app tester stops at RefreshAuthError. Zapier's backend would now refresh and retry the step.
    const refreshed = await refresh(first);
    const result = await runAuthTest(refreshed);
    assert.equal(result.email, account.email);
  });

  test('token request with a stale Bearer header succeeds', async () => {
    const first = await exchangeCode();
    h.clock.advance(3601);
    const expired = await h.app.inject({ method: 'GET', url: '/api/zapier/me', headers: { authorization: `Bearer ${first.access_token}` } });
    assert.equal(expired.statusCode, 401, 'the access token should have expired');
    const refreshed = await refresh(first);
    assert.match(refreshed.access_token, /^atk_/);

    const requests = tokenRequests();
    assert.equal(requests.length, 2);
    assert.equal(requests[0]?.headers.authorization, undefined, 'the code exchange had no token to send');
    assert.equal(requests[1]?.headers.authorization, `Bearer ${first.access_token}`);
  });

  test('wrong client secret is a 400, not a refresh', async () => {
    // Zapier's runtime turns a 401 into RefreshAuthError, which would hide the real cause.
    const code = await issueCode(h.context, account);
    process.env.CLIENT_SECRET = `${account.clientSecret}x`;
    const bundle = bundleWith({ inputData: { code, redirect_uri: account.redirectUri } });
    const error: Error = await appTester(App.authentication.oauth2Config.getAccessToken, bundle).then(
      () => assert.fail('the exchange succeeded with a wrong secret'),
      (rejection: Error) => rejection,
    );
    assert.equal(error.name, 'ResponseError');
    const details = JSON.parse(error.message);
    assert.equal(details.status, 400);
    assert.equal(JSON.parse(details.content).error, 'invalid_client');
  });

  test('unknown refresh token is a 400 invalid_grant', async () => {
    const error: Error = await refresh({ access_token: 'atk_unknown', refresh_token: 'rtk_unknown' }).then(
      () => assert.fail('the refresh succeeded with an unknown refresh token'),
      (rejection: Error) => rejection,
    );
    assert.equal(error.name, 'ResponseError');
    const details = JSON.parse(error.message);
    assert.equal(details.status, 400);
    assert.equal(JSON.parse(details.content).error, 'invalid_grant');
  });

  test('401 raises RefreshAuthError without autoRefresh', async () => {
    const oauth2Config = { ...App.authentication.oauth2Config, autoRefresh: false };
    const withoutAutoRefresh = { ...App, authentication: { ...App.authentication, oauth2Config } };
    const tester = zapier.createAppTester(withoutAutoRefresh);
    const tokens = await exchangeCode();
    h.clock.advance(3601);
    await assert.rejects(
      tester(withoutAutoRefresh.authentication.test, bundleWith({ authData: { ...tokens } })),
      { name: 'RefreshAuthError', message: /rejected the access token/ },
    );
  });
});
