import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { hashPassword } from '../../src/crypto/secrets.js';
import { AbuseLimits } from '../../src/security/abuse-limits.js';
import { basicAuth, createAccount, harness, issueCode, type Harness } from '../helpers/fixtures.js';

const post = (url: string, fields: Record<string, string>, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') => ({
  method: 'POST' as const,
  url,
  remoteAddress,
  payload: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
});

describe('abuse limits', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(async () => h.close());

  test('failed client authentication is limited per client id', async () => {
    const account = await createAccount(h.context);
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      // Each attempt from another address, as a distributed guesser would send them.
      const response = await h.app.inject(post('/api/zapier/revoke', { token: 'rtk_x' }, { authorization: basicAuth(account.client.id, `wrong-${i}`) }, `10.0.0.${i + 1}`));
      statuses.push(response.statusCode);
    }
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
    assert.equal(statuses[20], 429);
    const limited = await h.app.inject(post('/api/zapier/revoke', { token: 'rtk_x' }, { authorization: basicAuth(account.client.id, 'wrong-again') }, '10.0.1.1'));
    assert.equal(limited.statusCode, 429);
    assert.match(String(limited.headers['retry-after']), /^\d+$/);
    assert.equal(limited.json().error, 'temporarily_unavailable');
    // The real client keeps working: only failures are limited.
    const code = await issueCode(h.context, account);
    const ok = await h.app.inject(post('/api/zapier/token', { grant_type: 'authorization_code', code, redirect_uri: account.redirectUri }, { authorization: basicAuth(account.client.id, account.clientSecret) }, '10.0.1.1'));
    assert.equal(ok.statusCode, 200, ok.body);
  });

  test('failures elsewhere never lock out an imported secret', async () => {
    const secret = 'imported-secret-of-unknown-strength';
    const account = await createAccount(h.context, { secretKind: 'scrypt', secretHash: await hashPassword(secret) });
    const attempt = (candidate: string, address: string) =>
      h.app.inject(post('/api/zapier/introspect', { token: 'atk_x' }, { authorization: basicAuth(account.client.id, candidate) }, address));
    for (let i = 0; i < 20; i++) await attempt(`guess-${i}`, `10.1.1.${i + 1}`);
    assert.equal((await attempt('guess-x', '10.1.2.1')).statusCode, 429);
    // This process never verified the secret, and its client id is blocked, yet the right secret passes.
    assert.equal((await attempt(secret, '10.1.2.2')).statusCode, 200);
  });

  test('a blocked address gets no password-hash check', async () => {
    const secret = 'another-imported-secret';
    const account = await createAccount(h.context, { secretKind: 'scrypt', secretHash: await hashPassword(secret) });
    const other = await createAccount(h.context, { secretKind: 'scrypt', secretHash: await hashPassword(secret) });
    const attempt = (client: string, candidate: string) =>
      h.app.inject(post('/api/zapier/introspect', { token: 'atk_x' }, { authorization: basicAuth(client, candidate) }, '10.1.3.1'));
    assert.equal((await attempt(other.client.id, secret)).statusCode, 200);
    for (let i = 0; i < 20; i++) await attempt(account.client.id, `guess-${i}`);
    // Not verified before and asked from the blocked address: refused without checking.
    assert.equal((await attempt(account.client.id, secret)).statusCode, 429);
    // Verified before by this process: the cached check is cheap, so it still passes.
    assert.equal((await attempt(other.client.id, secret)).statusCode, 200);
  });

  test('unknown refresh tokens are limited per address, live ones are not', async () => {
    const account = await createAccount(h.context);
    const code = await issueCode(h.context, account);
    const tokens = (await h.app.inject(post('/api/zapier/token', { grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri }))).json();
    const address = '10.2.0.1';
    let last = 0;
    for (let i = 0; i < 101; i++) {
      last = (await h.app.inject(post('/api/zapier/token', { grant_type: 'refresh_token', refresh_token: `rtk_guess_${i}` }, {}, address))).statusCode;
    }
    assert.equal(last, 429);
    const live = await h.app.inject(post('/api/zapier/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, {}, address));
    assert.equal(live.statusCode, 200, live.body);
    const elsewhere = await h.app.inject(post('/api/zapier/token', { grant_type: 'refresh_token', refresh_token: 'rtk_guess_x' }, {}, '10.2.0.2'));
    assert.equal(elsewhere.statusCode, 400);
  });

  test('expired access tokens at me do not count as guessing', async () => {
    const account = await createAccount(h.context);
    const address = '10.3.0.1';
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) {
      const code = await issueCode(h.context, account);
      tokens.push((await h.app.inject(post('/api/zapier/token', { grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri }))).json().access_token);
    }
    h.clock.advance(3601);
    for (let i = 0; i < 150; i++) {
      const response = await h.app.inject({ method: 'GET', url: '/api/zapier/me', remoteAddress: address, headers: { authorization: `Bearer ${tokens[i % 3]}` } });
      assert.equal(response.statusCode, 401);
    }
  });

  test('unknown client ids count by address only', async () => {
    const address = '10.4.0.1';
    for (let i = 0; i < 21; i++) {
      const response = await h.app.inject(post('/api/zapier/revoke', { token: 'rtk_x' }, { authorization: basicAuth(`kfc_unknown_${i}`, 'guess') }, address));
      assert.equal(response.statusCode, i < 20 ? 401 : 429, `attempt ${i + 1}`);
    }
    assert.equal(await h.context.limits.failures('clientAuthFailure', 'client:kfc_unknown_0'), 0);
    assert.equal(await h.context.limits.failures('clientAuthFailure', `address:${address}`), 21);
  });
});

test('failure counters keep no request body alive', async () => {
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as () => void;
  const limits = new AbuseLimits();
  const padding = 'x'.repeat(60_000);
  collect();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 1_000; i++) {
    // A key cut out of a 60 KB body, as the form parser hands a value over.
    const body = `email=someone-${i}@example.com&pad=${padding}`;
    await limits.fail('signInFailure', [`account:${body.slice(6, body.indexOf('&'))}`]);
  }
  collect();
  const grown = process.memoryUsage().heapUsed - before;
  // Keeping each body would take 1,000 × 60 KB, about 57 MiB; the counters themselves take well under 5 MiB.
  assert.ok(grown < 16 * 1024 * 1024, `the counters grew the heap by ${(grown / 1048576).toFixed(1)} MiB`);
  await limits.close();
});
