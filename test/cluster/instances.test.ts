import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, skipReason, type TestDatabase } from '../helpers/databases.js';
import { FetchBrowser, cliJson, findForm, startServer, type ServerProcess } from '../helpers/process.js';

interface Account {
  readonly email: string;
  readonly password: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
}

function provision(env: Record<string, string>, suffix: string, extra: string[] = []): Account {
  const email = `cluster-${suffix}@example.test`;
  const password = `password for ${suffix}`;
  cliJson(['users', 'create', '--email', email, '--password-stdin'], env, `${password}\n`);
  const redirectUri = `https://zapier.example.test/return/${suffix}`;
  const client = cliJson<{ client_id: string; client_secret: string }>(['clients', 'create', '--name', `Zapier ${suffix}`, '--redirect-uri', redirectUri, ...extra], env);
  return { email, password, clientId: client.client_id, clientSecret: client.client_secret, redirectUri };
}

async function token(base: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, string> }> {
  const response = await fetch(`${base}/api/zapier/token`, { method: 'POST', body: new URLSearchParams(fields) });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

const me = async (base: string, accessToken: string) =>
  (await fetch(`${base}/api/zapier/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status;

describe('several instances on one PostgreSQL database', { skip: skipReason('postgres') }, () => {
  let database: TestDatabase;
  let instances: ServerProcess[];
  let env: Record<string, string>;

  before(async () => {
    database = await createTestDatabase('postgres');
    env = { KIWIFORM_DATABASE_URL: database.url };
    instances = await Promise.all([startServer(env), startServer(env), startServer(env)]);
  });
  after(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await database.cleanup();
  });

  /** Runs the browser flow with each step sent to the next instance in turn; returns a fresh code. */
  async function codeAcrossInstances(account: Account): Promise<string> {
    const browser = new FetchBrowser();
    const [a, b, c] = instances.map((instance) => instance.base) as [string, string, string];
    const query = new URLSearchParams({ response_type: 'code', client_id: account.clientId, redirect_uri: account.redirectUri, state: 's' });
    const login = await browser.request(`${a}/api/zapier/authorize?${query}`);
    if (/name="password"/.test(login.text)) {
      const form = findForm(login.text, /login/);
      const signedIn = await browser.request(new URL(form.action, b).toString(), { method: 'POST', form: { ...form.fields, email: account.email, password: account.password } });
      assert.ok(signedIn.location, `sign-in at another instance redirects: ${signedIn.status}`);
      const consentPage = await browser.request(new URL(signedIn.location, c).toString());
      const consent = findForm(consentPage.text, /consent/);
      const decided = await browser.request(new URL(consent.action, a).toString(), { method: 'POST', form: { ...consent.fields, decision: 'allow' } });
      assert.equal(decided.status, 302);
      return new URL(decided.location!).searchParams.get('code')!;
    }
    assert.equal(login.status, 302, 'a remembered consent redirects at once');
    return new URL(login.location!).searchParams.get('code')!;
  }

  test('flow steps on alternating instances', async () => {
    const account = provision(env, 'alternate');
    const [a, b, c] = instances.map((instance) => instance.base) as [string, string, string];
    const code = await codeAcrossInstances(account);
    const issued = await token(b, { grant_type: 'authorization_code', code, client_id: account.clientId, client_secret: account.clientSecret, redirect_uri: account.redirectUri });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal(await me(c, issued.body.access_token!), 200);
    const refreshed = await token(c, { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token! });
    assert.equal(refreshed.status, 200);
    assert.equal(await me(a, refreshed.body.access_token!), 200);
    const revoked = await fetch(`${a}/api/zapier/revoke`, { method: 'POST', body: new URLSearchParams({ token: issued.body.refresh_token!, client_id: account.clientId, client_secret: account.clientSecret }) });
    assert.equal(revoked.status, 200);
    assert.equal(await me(b, refreshed.body.access_token!), 401);
    assert.equal((await token(c, { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token! })).body.error, 'invalid_grant');
  });

  test('concurrent code exchanges across instances: one wins', async () => {
    const account = provision(env, 'race-code');
    const code = await codeAcrossInstances(account);
    const fields = { grant_type: 'authorization_code', code, client_id: account.clientId, client_secret: account.clientSecret, redirect_uri: account.redirectUri };
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => token(instances[i % instances.length]!.base, fields)));
    const winners = results.filter((result) => result.status === 200);
    assert.equal(winners.length, 1, JSON.stringify(results.map((result) => result.status)));
    for (const loser of results.filter((result) => result.status !== 200)) assert.equal(loser.body.error, 'invalid_grant');
    // The losers' replays revoked what the winner received.
    assert.equal(await me(instances[0]!.base, winners[0]!.body.access_token!), 401);
  });

  test('concurrent refreshes across instances without rotation', async () => {
    const account = provision(env, 'race-plain');
    const code = await codeAcrossInstances(account);
    const issued = await token(instances[0]!.base, { grant_type: 'authorization_code', code, client_id: account.clientId, client_secret: account.clientSecret, redirect_uri: account.redirectUri });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => token(instances[i % instances.length]!.base, { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token! })));
    for (const result of results) {
      assert.equal(result.status, 200, JSON.stringify(result.body));
      assert.equal(result.body.refresh_token, issued.body.refresh_token);
    }
  });

  test('concurrent refreshes across instances with rotation', async () => {
    const account = provision(env, 'race-rotate', ['--refresh-token-rotation', 'true']);
    const code = await codeAcrossInstances(account);
    const issued = await token(instances[0]!.base, { grant_type: 'authorization_code', code, client_id: account.clientId, client_secret: account.clientSecret, redirect_uri: account.redirectUri });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => token(instances[i % instances.length]!.base, { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token! })));
    for (const result of results) assert.equal(result.status, 200, JSON.stringify(result.body));
    const successors = new Set(results.map((result) => result.body.refresh_token));
    assert.equal(successors.size, 1);
    assert.ok(!successors.has(issued.body.refresh_token));
  });

  test('killing one instance under load loses no token', async () => {
    const account = provision(env, 'crash');
    const code = await codeAcrossInstances(account);
    const issued = await token(instances[1]!.base, { grant_type: 'authorization_code', code, client_id: account.clientId, client_secret: account.clientSecret, redirect_uri: account.redirectUri });
    const victim = await startServer(env);
    const answered: string[] = [];
    const load = (base: string) => (async () => {
      for (let i = 0; i < 40; i++) {
        try {
          const result = await token(base, { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token! });
          if (result.status === 200) answered.push(result.body.access_token!);
        } catch {
          // Connections to the killed instance fail; that request never got a token.
        }
      }
    })();
    const running = [load(victim.base), load(victim.base), load(instances[2]!.base)];
    await new Promise((done) => setTimeout(done, 150));
    victim.kill();
    await Promise.all(running);
    assert.ok(answered.length > 40, `only ${answered.length} refreshes answered`);
    for (const accessToken of answered) assert.equal(await me(instances[0]!.base, accessToken), 200);
    assert.equal(await me(instances[2]!.base, answered.at(-1)!), 200);
  });
});
