import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { FetchBrowser, authorizeInBrowser, cliJson, startServer, type ServerProcess } from '../helpers/process.js';

interface Provisioned {
  readonly email: string;
  readonly password: string;
  readonly userId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
}

/** Creates a user and a client through the real CLI, as the README instructs a newcomer. */
function provision(server: ServerProcess, suffix: string): Provisioned {
  const email = `e2e-${suffix}@example.test`;
  const password = `correct horse battery ${suffix}`;
  const user = cliJson<{ id: string }>(['users', 'create', '--email', email, '--password-stdin'], server.env, `${password}\n`);
  const redirectUri = `https://zapier.example.test/dashboard/auth/oauth/return/App${suffix}CLIAPI/`;
  const client = cliJson<{ client_id: string; client_secret: string }>(['clients', 'create', '--name', `Zapier ${suffix}`, '--redirect-uri', redirectUri], server.env);
  return { email, password, userId: user.id, clientId: client.client_id, clientSecret: client.client_secret, redirectUri };
}

describe('end to end on a real server process', () => {
  let server: ServerProcess;
  const secrets: string[] = [];

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    assert.equal(await server.stop(), 0, 'the server exits cleanly on SIGTERM');
  });

  test('flow with curl-like requests', async () => {
    const account = provision(server, 'plain');
    secrets.push(account.password, account.clientSecret);
    const state = 'state with spaces & symbols é';
    const url = `${server.base}/api/zapier/authorize?${new URLSearchParams({ response_type: 'code', client_id: account.clientId, redirect_uri: account.redirectUri, state })}`;
    const redirect = await authorizeInBrowser(new FetchBrowser(), server.base, url, account);
    assert.equal(redirect.origin + redirect.pathname, account.redirectUri);
    assert.equal(redirect.searchParams.get('state'), state);
    const code = redirect.searchParams.get('code');
    assert.ok(code);
    secrets.push(code);

    const token = async (fields: Record<string, string>) => {
      const response = await fetch(`${server.base}/api/zapier/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
      return { status: response.status, body: (await response.json()) as Record<string, string> & { access_token: string; refresh_token: string } };
    };
    const issued = await token({ grant_type: 'authorization_code', code, client_id: account.clientId, client_secret: account.clientSecret, redirect_uri: account.redirectUri });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    secrets.push(issued.body.access_token, issued.body.refresh_token);

    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: issued.body.refresh_token, client_id: account.clientId, client_secret: account.clientSecret });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal(refreshed.body.refresh_token, issued.body.refresh_token);
    secrets.push(refreshed.body.access_token);

    const me = await fetch(`${server.base}/api/zapier/me`, { headers: { authorization: `Bearer ${refreshed.body.access_token}` } });
    assert.equal(me.status, 200);
    assert.deepEqual(await me.json(), { id: account.userId, email: account.email, name: 'e2e-plain' });
  });

  test('flow with openid-client, PKCE and metadata discovery', async () => {
    const account = provision(server, 'library');
    secrets.push(account.password, account.clientSecret);
    const config = await oidc.discovery(new URL(server.base), account.clientId, account.clientSecret, oidc.ClientSecretBasic(account.clientSecret), {
      algorithm: 'oauth2',
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorizationUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: account.redirectUri,
      scope: 'profile forms:read',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const redirect = await authorizeInBrowser(new FetchBrowser(), server.base, authorizationUrl.href, account);
    secrets.push(redirect.searchParams.get('code') ?? '');

    const tokens = await oidc.authorizationCodeGrant(config, redirect, { pkceCodeVerifier: verifier, expectedState: state });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.scope, 'forms:read profile');
    assert.ok(tokens.refresh_token);
    secrets.push(tokens.access_token, tokens.refresh_token);

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    secrets.push(refreshed.access_token);
    const me = await oidc.fetchProtectedResource(config, refreshed.access_token, new URL(`${server.base}/api/zapier/me`), 'GET');
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { email: string }).email, account.email);

    const introspection = await oidc.tokenIntrospection(config, refreshed.access_token);
    assert.equal(introspection.active, true);
    assert.equal(introspection.client_id, account.clientId);

    await oidc.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });
    assert.equal((await oidc.tokenIntrospection(config, refreshed.access_token)).active, false);
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (error: Error & { error?: string }) => error.error === 'invalid_grant');
  });

  test('no secret in the database files or the server output', async () => {
    assert.ok(secrets.length >= 10);
    // Give the server a moment to flush buffered audit events and WAL pages.
    await new Promise((done) => setTimeout(done, 500));
    const files = readdirSync(server.directory).map((name) => readFileSync(join(server.directory, name)));
    const output = server.output();
    assert.match(output, /listening/);
    for (const secret of secrets.filter(Boolean)) {
      assert.ok(!files.some((file) => file.includes(Buffer.from(secret))), `a database file contains ${secret.slice(0, 6)}…`);
      assert.ok(!output.includes(secret), `the server output contains ${secret.slice(0, 6)}…`);
    }
  });
});
