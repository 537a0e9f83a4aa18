import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { basicAuth, createAccount, harness, issueCode, type Harness, type TestAccount } from '../helpers/fixtures.js';

const NAMES = ['grant_type', 'code', 'redirect_uri', 'client_id', 'client_secret', 'refresh_token', 'scope', 'code_verifier', 'token', 'token_type_hint', '__proto__', 'constructor', ''];
const VALUES = ['authorization_code', 'refresh_token', 'password', 'client_credentials', 'atk_', 'rtk_', 'cod_', '', ' ', '%', '%00', '\u0000', 'é', '😀', '\ud800', 'a'.repeat(300)];

/** One generated request: which endpoint, how the body is encoded, and what headers come with it. */
const requestArbitrary = (account: TestAccount, live: { code: string; refresh: string; access: string }) => {
  const value = fc.oneof(
    fc.constantFrom(...VALUES, account.client.id, account.clientSecret, account.redirectUri, live.code, live.refresh, live.access),
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
  );
  const pair = fc.tuple(fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 12 })), value);
  const jsonValue = fc.oneof(value, fc.integer(), fc.boolean(), fc.constant(null), fc.array(value, { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 4 }), value, { maxKeys: 2 }));
  return fc.record({
    url: fc.constantFrom('/api/zapier/token', '/api/zapier/revoke', '/api/zapier/introspect'),
    // Spread over many addresses so that the abuse limits do not turn most responses into 429.
    address: fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `10.9.${a}.${b}`),
    encoding: fc.constantFrom('form', 'json', 'raw', 'refresh'),
    pairs: fc.array(pair, { maxLength: 8 }),
    jsonPairs: fc.array(fc.tuple(fc.constantFrom(...NAMES), jsonValue), { maxLength: 6 }),
    raw: fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('{', '[]', 'null', '"x"', '{"a":', '%E0%A4%A', 'a=1&a=2')),
    contentType: fc.constantFrom(
      'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=UTF-8', 'application/json',
      'application/json; charset=utf-8', 'text/plain', 'multipart/form-data; boundary=x', 'application/xml', '', 'application/x-www-form-urlencoded; charset=latin1', '*/*',
    ),
    authorization: fc.oneof(
      fc.constant(undefined),
      fc.constantFrom('Basic', 'Basic ', 'Basic !!!', 'Bearer atk_x', `Bearer ${live.access}`, basicAuth(account.client.id, account.clientSecret), basicAuth(account.client.id, 'wrong'), basicAuth('', ''), 'Basic ' + Buffer.from(':').toString('base64')),
      fc.string({ maxLength: 60 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
    ),
  });
};

describe('generated requests to the OAuth endpoints', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ KIWIFORM_LOG_LEVEL: 'silent' });
  });
  after(async () => h.close());

  test('never a 5xx, always the RFC error shape', async () => {
    const account = await createAccount(h.context);
    const code = await issueCode(h.context, account);
    const issued = (await h.app.inject({ method: 'POST', url: '/api/zapier/token', payload: { grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri } })).json();
    const statuses = new Map<number, number>();
    const live = { code: await issueCode(h.context, account), refresh: issued.refresh_token, access: issued.access_token };

    await fc.assert(
      fc.asyncProperty(requestArbitrary(account, live), async (generated) => {
        let payload: string;
        if (generated.encoding === 'form') {
          payload = generated.pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value.replace(/[\ud800-\udfff]/g, '?'))}`).join('&');
        } else if (generated.encoding === 'json') {
          payload = `{${generated.jsonPairs.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`).join(',')}}`;
        } else if (generated.encoding === 'refresh') {
          // A valid refresh with generated extra parameters, so that some requests get all the way through.
          const extra = generated.pairs.filter(([name]) => !['grant_type', 'refresh_token', 'client_id', 'client_secret', 'scope', ''].includes(name));
          payload = new URLSearchParams([['grant_type', 'refresh_token'] as [string, string], ['refresh_token', live.refresh] as [string, string], ...extra.map(([n, v]): [string, string] => [n, v.replace(/[\ud800-\udfff]/g, '?')])]).toString();
        } else {
          payload = generated.raw;
        }
        const headers: Record<string, string> = {};
        if (generated.contentType !== '') headers['content-type'] = generated.contentType;
        if (generated.authorization !== undefined) headers.authorization = generated.authorization;
        const response = await h.app.inject({ method: 'POST', url: generated.url, payload, headers, remoteAddress: generated.address });
        assert.ok(response.statusCode < 500, `${response.statusCode} ${response.body}`);
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        if (response.statusCode >= 400) {
          assert.match(String(response.headers['content-type'] ?? ''), /^application\/json/);
          const body = response.json();
          assert.equal(typeof body.error, 'string');
          assert.equal(response.headers['cache-control'], 'no-store');
        }
      }),
      { numRuns: 3000 },
    );
    // The generator must reach past the first checks: some requests succeed and most are not rate limited.
    assert.ok((statuses.get(200) ?? 0) > 0, JSON.stringify([...statuses]));
    assert.ok((statuses.get(429) ?? 0) < 300, JSON.stringify([...statuses]));
  });

  test('me never answers 5xx to generated Authorization headers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 100 }), fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`), fc.string({ unit: 'binary', maxLength: 60 }).map((s) => `Bearer ${s}`)), async (authorization) => {
        const headers: Record<string, string> = {};
        // Header values must be visible ASCII or HTTP clients refuse to send them at all.
        if (/^[\x20-\x7e]*$/.test(authorization)) headers.authorization = authorization;
        const response = await h.app.inject({ method: 'GET', url: '/api/zapier/me', headers });
        // 429 appears once the never-issued tokens from this one address pass the guessing limit.
        assert.ok([400, 401, 429].includes(response.statusCode), `${response.statusCode} ${response.body}`);
        if (response.statusCode !== 429) assert.match(String(response.headers['www-authenticate']), /^Bearer realm="kiwiform"/);
        assert.equal(typeof response.json().error, 'string');
      }),
      { numRuns: 1000 },
    );
  });

  test('authorize never answers 5xx to generated queries', async () => {
    const account = await createAccount(h.context);
    const value = fc.oneof(fc.constantFrom('code', 'token', account.client.id, account.redirectUri, 'S256', 'plain', 'profile', ''), fc.string({ maxLength: 50 }));
    const names = fc.constantFrom('response_type', 'client_id', 'redirect_uri', 'state', 'scope', 'code_challenge', 'code_challenge_method', 'x');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(names, value), { maxLength: 9 }), async (pairs) => {
        const query = pairs.map(([name, v]) => `${name}=${encodeURIComponent(v.replace(/[\ud800-\udfff]/g, '?'))}`).join('&');
        const response = await h.app.inject({ method: 'GET', url: `/api/zapier/authorize?${query}` });
        assert.ok([200, 302, 400].includes(response.statusCode), `${response.statusCode} ${response.body.slice(0, 200)}`);
        if (response.statusCode === 302) assert.ok(String(response.headers.location).startsWith(account.redirectUri));
      }),
      { numRuns: 1000 },
    );
  });
});
