import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Context } from '../../src/context.js';
import { basicAuth, createAccount, harness, issueCode, type Harness, type TestAccount } from '../helpers/fixtures.js';
import { DATABASES, skipReason } from '../helpers/databases.js';

interface RequestSpec {
  readonly body?: string | Record<string, unknown>;
  readonly json?: boolean;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
}

interface Row {
  readonly name: string;
  /** Builds the request from fresh fixtures; may change the clock or the store first. */
  readonly request: (h: Harness, account: TestAccount) => Promise<RequestSpec>;
  readonly status: number;
  readonly error: string;
  /** Whether the response must carry WWW-Authenticate: Basic (RFC 6749 §5.2). */
  readonly basicChallenge?: boolean;
}

const codeBody = (account: TestAccount, code: string, extra: Record<string, string> = {}) => ({
  grant_type: 'authorization_code',
  code,
  client_id: account.client.id,
  client_secret: account.clientSecret,
  redirect_uri: account.redirectUri,
  ...extra,
});

async function tokensFor(h: Harness, account: TestAccount): Promise<{ access_token: string; refresh_token: string }> {
  const code = await issueCode(h.context, account);
  const response = await h.app.inject({ method: 'POST', url: '/api/zapier/token', payload: new URLSearchParams(codeBody(account, code)).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(response.statusCode, 200, response.body);
  return response.json();
}

const challengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const VERIFIER = 'v'.repeat(43);

const ROWS: readonly Row[] = [
  { name: 'missing grant_type', request: async () => ({ body: { code: 'x' } }), status: 400, error: 'invalid_request' },
  {
    name: 'repeated parameter',
    request: async () => ({ body: 'grant_type=refresh_token&refresh_token=rtk_a&refresh_token=rtk_a', contentType: 'application/x-www-form-urlencoded' }),
    status: 400,
    error: 'invalid_request',
  },
  { name: 'unsupported content type', request: async () => ({ body: 'grant_type=refresh_token', contentType: 'text/plain' }), status: 400, error: 'invalid_request' },
  { name: 'multipart body', request: async () => ({ body: '--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nrefresh_token\r\n--x--', contentType: 'multipart/form-data; boundary=x' }), status: 400, error: 'invalid_request' },
  { name: 'malformed JSON', request: async () => ({ body: '{"grant_type": "refresh_token",', contentType: 'application/json' }), status: 400, error: 'invalid_request' },
  { name: 'empty JSON body', request: async () => ({ body: '', contentType: 'application/json' }), status: 400, error: 'invalid_request' },
  { name: 'JSON null body', request: async () => ({ body: 'null', contentType: 'application/json' }), status: 400, error: 'invalid_request' },
  { name: 'JSON array body', request: async () => ({ body: '["grant_type"]', contentType: 'application/json' }), status: 400, error: 'invalid_request' },
  { name: 'non-string JSON value', request: async () => ({ body: { grant_type: 'refresh_token', refresh_token: 12345 }, json: true }), status: 400, error: 'invalid_request' },
  { name: 'JSON null value', request: async () => ({ body: { grant_type: null }, json: true }), status: 400, error: 'invalid_request' },
  { name: 'JSON __proto__ key', request: async () => ({ body: '{"__proto__":{"x":1},"grant_type":"refresh_token"}', contentType: 'application/json' }), status: 400, error: 'invalid_request' },
  { name: 'empty form body', request: async () => ({ body: '', contentType: 'application/x-www-form-urlencoded' }), status: 400, error: 'invalid_request' },
  { name: 'body over 64 KiB', request: async () => ({ body: 'a'.repeat(70_000), contentType: 'application/x-www-form-urlencoded' }), status: 413, error: 'invalid_request' },
  { name: 'unknown grant_type', request: async () => ({ body: { grant_type: 'password', username: 'a', password: 'b' } }), status: 400, error: 'unsupported_grant_type' },
  {
    name: 'code exchange without code',
    request: async (_h, a) => ({ body: { grant_type: 'authorization_code', client_id: a.client.id, client_secret: a.clientSecret } }),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'code exchange without client_secret',
    request: async (h, a) => ({ body: { grant_type: 'authorization_code', code: await issueCode(h.context, a), client_id: a.client.id, redirect_uri: a.redirectUri } }),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'code exchange without any client credentials',
    request: async (h, a) => ({ body: { grant_type: 'authorization_code', code: await issueCode(h.context, a), redirect_uri: a.redirectUri } }),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'client_secret without client_id',
    request: async (h, a) => ({ body: { grant_type: 'authorization_code', code: await issueCode(h.context, a), client_secret: a.clientSecret } }),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'wrong client_secret in body',
    request: async (h, a) => ({ body: codeBody(a, await issueCode(h.context, a), { client_secret: 'wrong' }) }),
    status: 400,
    error: 'invalid_client',
  },
  {
    name: 'unknown client_id in body',
    request: async (h, a) => ({ body: codeBody(a, await issueCode(h.context, a), { client_id: 'no-such-client' }) }),
    status: 400,
    error: 'invalid_client',
  },
  {
    name: 'wrong client_secret in Basic',
    request: async (h, a) => ({
      body: { grant_type: 'authorization_code', code: await issueCode(h.context, a), redirect_uri: a.redirectUri },
      headers: { authorization: basicAuth(a.client.id, 'wrong') },
    }),
    status: 401,
    error: 'invalid_client',
    basicChallenge: true,
  },
  {
    name: 'malformed Basic header',
    request: async (h, a) => ({
      body: { grant_type: 'authorization_code', code: await issueCode(h.context, a), redirect_uri: a.redirectUri },
      headers: { authorization: 'Basic !!!notbase64' },
    }),
    status: 401,
    error: 'invalid_client',
    basicChallenge: true,
  },
  {
    name: 'Basic and body credentials together',
    request: async (h, a) => ({
      body: codeBody(a, await issueCode(h.context, a)),
      headers: { authorization: basicAuth(a.client.id, a.clientSecret) },
    }),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'Basic with a different body client_id',
    request: async (h, a) => ({
      body: { grant_type: 'authorization_code', code: await issueCode(h.context, a), client_id: 'someone-else', redirect_uri: a.redirectUri },
      headers: { authorization: basicAuth(a.client.id, a.clientSecret) },
    }),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'code used twice',
    request: async (h, a) => {
      const code = await issueCode(h.context, a);
      const first = await h.app.inject({ method: 'POST', url: '/api/zapier/token', payload: codeBody(a, code) });
      assert.equal(first.statusCode, 200, first.body);
      return { body: codeBody(a, code) };
    },
    status: 400,
    error: 'invalid_grant',
  },
  {
    name: 'expired code',
    request: async (h, a) => {
      const code = await issueCode(h.context, a);
      h.clock.advance(h.context.config.codeTtl + 1);
      return { body: codeBody(a, code) };
    },
    status: 400,
    error: 'invalid_grant',
  },
  { name: 'unknown code', request: async (_h, a) => ({ body: codeBody(a, 'cod_unknown') }), status: 400, error: 'invalid_grant' },
  {
    name: 'redirect_uri mismatch',
    request: async (h, a) => ({ body: codeBody(a, await issueCode(h.context, a), { redirect_uri: a.redirectUri + 'x' }) }),
    status: 400,
    error: 'invalid_grant',
  },
  {
    name: 'redirect_uri missing though it was in the request',
    request: async (h, a) => ({ body: { grant_type: 'authorization_code', code: await issueCode(h.context, a), client_id: a.client.id, client_secret: a.clientSecret } }),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: "another client's code",
    request: async (h, a) => {
      const other = await createAccount(h.context);
      return { body: codeBody(a, await issueCode(h.context, other)) };
    },
    status: 400,
    error: 'invalid_grant',
  },
  {
    name: 'PKCE verifier missing',
    request: async (h, a) => ({ body: codeBody(a, await issueCode(h.context, a, { codeChallenge: challengeOf(VERIFIER) })) }),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'PKCE verifier wrong',
    request: async (h, a) => ({ body: codeBody(a, await issueCode(h.context, a, { codeChallenge: challengeOf(VERIFIER) }), { code_verifier: 'w'.repeat(43) }) }),
    status: 400,
    error: 'invalid_grant',
  },
  {
    name: 'PKCE verifier without a challenge',
    request: async (h, a) => ({ body: codeBody(a, await issueCode(h.context, a), { code_verifier: VERIFIER }) }),
    status: 400,
    error: 'invalid_grant',
  },
  { name: 'refresh without refresh_token', request: async () => ({ body: { grant_type: 'refresh_token' } }), status: 400, error: 'invalid_request' },
  { name: 'unknown refresh token', request: async () => ({ body: { grant_type: 'refresh_token', refresh_token: 'rtk_doesnotexist' } }), status: 400, error: 'invalid_grant' },
  {
    name: "another client's refresh token",
    request: async (h, a) => {
      const other = await createAccount(h.context);
      const tokens = await tokensFor(h, other);
      return { body: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: a.client.id, client_secret: a.clientSecret } };
    },
    status: 400,
    error: 'invalid_grant',
  },
  {
    name: 'refresh with wrong client_secret',
    request: async (h, a) => {
      const tokens = await tokensFor(h, a);
      return { body: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: a.client.id, client_secret: 'wrong' }, json: true };
    },
    status: 400,
    error: 'invalid_client',
  },
  {
    name: 'refresh token of a revoked grant',
    request: async (h, a) => {
      const code = await issueCode(h.context, a);
      const first = await h.app.inject({ method: 'POST', url: '/api/zapier/token', payload: codeBody(a, code) });
      await h.app.inject({ method: 'POST', url: '/api/zapier/token', payload: codeBody(a, code) });
      return { body: { grant_type: 'refresh_token', refresh_token: first.json().refresh_token } };
    },
    status: 400,
    error: 'invalid_grant',
  },
  {
    name: 'refresh widening the scope',
    request: async (h, a) => {
      const code = await issueCode(h.context, a, { scope: 'profile' });
      const tokens = (await h.app.inject({ method: 'POST', url: '/api/zapier/token', payload: codeBody(a, code) })).json();
      return { body: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, scope: 'profile forms:write' } };
    },
    status: 400,
    error: 'invalid_scope',
  },
];

function encode(spec: RequestSpec): { payload: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { ...spec.headers };
  let payload: string;
  if (typeof spec.body === 'string') {
    payload = spec.body;
  } else if (spec.json) {
    payload = JSON.stringify(spec.body ?? {});
    headers['content-type'] = 'application/json';
  } else {
    payload = new URLSearchParams(spec.body as Record<string, string>).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (spec.contentType !== undefined) headers['content-type'] = spec.contentType;
  return { payload, headers };
}

for (const database of DATABASES) {
  describe(`${database} database`, { skip: skipReason(database) }, () => {
    describe('token endpoint error rows', () => {
      let h: Harness;
      before(async () => {
        h = await harness({}, database);
      });
      after(async () => h.close());

      for (const row of ROWS) {
        test(row.name, async () => {
          const account = await createAccount(h.context as Context);
          const { payload, headers } = encode(await row.request(h, account));
          const response = await h.app.inject({ method: 'POST', url: '/api/zapier/token', payload, headers });
          assert.equal(response.statusCode, row.status, response.body);
          assert.match(String(response.headers['content-type'] ?? ''), /^application\/json/);
          assert.equal(response.headers['cache-control'], 'no-store');
          const body = response.json();
          assert.equal(body.error, row.error, response.body);
          assert.equal(typeof body.error_description, 'string');
          assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
          if (row.basicChallenge) assert.match(String(response.headers['www-authenticate']), /^Basic /);
          else assert.equal(response.headers['www-authenticate'], undefined);
        });
      }
    });
  });
}
