import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { basicAuth, createAccount, harness, issueCode, type Harness } from './helpers/fixtures.js';

type Document = {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
  components: { schemas: Record<string, unknown> };
};

describe('OpenAPI document', () => {
  let h: Harness;
  let document: Document;
  let ajv: Ajv2020;

  before(async () => {
    h = await harness();
    const response = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(response.statusCode, 200);
    document = response.json();
    ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'openapi', components: document.components });
  });
  after(async () => h.close());

  /** Asserts that a real response is one the document lists for that operation, with a matching body. */
  function conforms(path: string, method: string, response: { statusCode: number; headers: Record<string, unknown>; body: string }): void {
    const operation = document.paths[path]?.[method];
    assert.ok(operation, `${method} ${path} is documented`);
    const described = operation.responses[String(response.statusCode)];
    assert.ok(described, `${method} ${path} documents status ${response.statusCode}`);
    const type = String(response.headers['content-type'] ?? '').split(';')[0]!;
    if (type === 'application/json') {
      const media = described.content?.['application/json'];
      assert.ok(media, `${method} ${path} ${response.statusCode} documents a JSON body`);
      const schema = JSON.parse(JSON.stringify(media.schema).replaceAll('"#/components', '"openapi#/components'));
      const validate = ajv.compile(schema);
      assert.ok(validate(JSON.parse(response.body)), `${response.body} :: ${ajv.errorsText(validate.errors)}`);
    }
  }

  test('document is OpenAPI 3.1 with every route', () => {
    assert.equal(document.openapi, '3.1.0');
    for (const path of ['/api/zapier/authorize', '/api/zapier/token', '/api/zapier/revoke', '/api/zapier/introspect', '/api/zapier/me', '/.well-known/oauth-authorization-server', '/openapi.json', '/healthz', '/readyz']) {
      assert.ok(document.paths[path], path);
    }
  });

  test('token responses match the document', async () => {
    const account = await createAccount(h.context);
    const code = await issueCode(h.context, account);
    const requests = [
      { payload: { grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri } },
      { payload: { grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri } },
      { payload: 'grant_type=refresh_token', headers: { 'content-type': 'text/plain' } },
      { payload: 'x'.repeat(70_000), headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      { payload: 'grant_type=refresh_token&refresh_token=rtk_x', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(account.client.id, 'wrong') } },
      { payload: { grant_type: 'client_credentials' } },
    ];
    const statuses = new Set<number>();
    for (const request of requests) {
      const response = await h.app.inject({ method: 'POST', url: '/api/zapier/token', ...request });
      statuses.add(response.statusCode);
      conforms('/api/zapier/token', 'post', response);
    }
    assert.deepEqual([...statuses].sort(), [200, 400, 401, 413]);
  });

  test('revocation and introspection responses match the document', async () => {
    const account = await createAccount(h.context);
    const code = await issueCode(h.context, account);
    const tokens = (await h.app.inject({ method: 'POST', url: '/api/zapier/token', payload: { grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri } })).json();
    const credentials = { client_id: account.client.id, client_secret: account.clientSecret };
    for (const url of ['/api/zapier/introspect', '/api/zapier/revoke']) {
      const path = url;
      for (const payload of [{ token: tokens.access_token, ...credentials }, { token: 'rtk_unknown', ...credentials }, { ...credentials }, { token: 'x' }, { token: 'x', client_id: account.client.id, client_secret: 'wrong' }]) {
        const response = await h.app.inject({ method: 'POST', url, payload });
        conforms(path, 'post', response);
      }
    }
  });

  test('me responses match the document', async () => {
    const account = await createAccount(h.context);
    const code = await issueCode(h.context, account);
    const tokens = (await h.app.inject({ method: 'POST', url: '/api/zapier/token', payload: { grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri } })).json();
    for (const authorization of [`Bearer ${tokens.access_token}`, 'Bearer atk_unknown', undefined]) {
      const response = await h.app.inject({ method: 'GET', url: '/api/zapier/me', headers: authorization ? { authorization } : {} });
      conforms('/api/zapier/me', 'get', response);
    }
  });
});
