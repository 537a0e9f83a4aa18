import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.js';
import { SCOPES } from '../oauth/scopes.js';
import { INTROSPECTION_SCHEMA, OAUTH_ERROR_SCHEMA, TOKEN_REQUEST_SCHEMA, TOKEN_RESPONSE_SCHEMA, USER_SCHEMA } from './schemas.js';

const json = (schema: unknown) => ({ 'application/json': { schema } });

const errorResponse = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: json({ $ref: '#/components/schemas/OAuthError' }),
});

const NO_STORE = { 'Cache-Control': { schema: { type: 'string', const: 'no-store' } } };
const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } };

/** Builds the OpenAPI 3.1 description of the API from the schemas the routes serialize with. */
export function openapiDocument(issuer: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kiwiform API',
      version: '1.0.0',
      description: 'OAuth 2.0 authorization server for integrations such as Zapier, and the API it protects.',
    },
    servers: [{ url: issuer }],
    paths: {
      '/api/zapier/authorize': {
        get: {
          operationId: 'authorize',
          summary: 'Start the authorization-code flow (RFC 6749 §4.1.1) in a browser',
          parameters: [
            ['response_type', true, 'Must be "code".'],
            ['client_id', true, 'The client identifier.'],
            ['redirect_uri', false, 'One of the client\'s registered redirect URIs, compared as exact strings.'],
            ['state', false, 'Opaque value returned unchanged on the redirect.'],
            ['scope', false, `Space-separated scopes: ${Object.keys(SCOPES).join(', ')}. Defaults to all the client may request.`],
            ['code_challenge', false, 'PKCE S256 challenge (RFC 7636).'],
            ['code_challenge_method', false, 'Must be "S256" when code_challenge is sent.'],
          ].map(([name, required, description]) => ({ name, in: 'query', required, description, schema: { type: 'string' } })),
          responses: {
            200: { description: 'The sign-in or consent page.', content: { 'text/html': { schema: { type: 'string' } } } },
            302: { description: 'Redirect to redirect_uri with code and state, or with error and state.' },
            400: { description: 'Unknown client or unregistered redirect_uri: an HTML page, never a redirect.', content: { 'text/html': { schema: { type: 'string' } } } },
          },
        },
      },
      '/api/zapier/token': {
        post: {
          operationId: 'get-access-token',
          summary: 'Exchange an authorization code or a refresh token for an access token',
          description: 'Client credentials go in the body (client_id, client_secret) or in HTTP Basic (RFC 6749 §2.3.1), never both. An Authorization: Bearer header is ignored.',
          security: [{}, { clientBasic: [] }],
          requestBody: {
            required: true,
            content: {
              'application/x-www-form-urlencoded': { schema: { $ref: '#/components/schemas/TokenRequest' } },
              'application/json': { schema: { $ref: '#/components/schemas/TokenRequest' } },
            },
          },
          responses: {
            200: { description: 'Tokens issued (RFC 6749 §5.1).', headers: NO_STORE, content: json({ $ref: '#/components/schemas/TokenResponse' }) },
            400: errorResponse('invalid_request, invalid_client (credentials in the body), invalid_grant, invalid_scope or unsupported_grant_type (RFC 6749 §5.2).', NO_STORE),
            401: errorResponse('invalid_client when the client authenticated with HTTP Basic.', {
              ...NO_STORE,
              'WWW-Authenticate': { schema: { type: 'string' } },
            }),
            413: errorResponse('invalid_request: the body is larger than 64 KiB.', NO_STORE),
            429: errorResponse('temporarily_unavailable: too many failed attempts from this address or for this client.', { ...NO_STORE, ...RETRY_AFTER }),
            500: errorResponse('server_error: a fault in the server.', NO_STORE),
            503: errorResponse('temporarily_unavailable: the database is unavailable; retry after the given delay.', { ...NO_STORE, ...RETRY_AFTER }),
          },
        },
      },
      '/api/zapier/revoke': {
        post: {
          operationId: 'revoke-token',
          summary: 'Revoke an access or refresh token (RFC 7009); revoking a refresh token revokes its whole grant',
          security: [{ clientBasic: [] }, {}],
          requestBody: {
            required: true,
            content: {
              'application/x-www-form-urlencoded': { schema: { $ref: '#/components/schemas/TokenOperation' } },
              'application/json': { schema: { $ref: '#/components/schemas/TokenOperation' } },
            },
          },
          responses: {
            200: { description: 'Revoked, or the token was unknown (RFC 7009 §2.2). Empty body.', headers: NO_STORE },
            400: errorResponse('invalid_request (missing token, or a token of another client) or invalid_client with credentials in the body.', NO_STORE),
            401: errorResponse('invalid_client: no client credentials, or wrong ones in HTTP Basic.', { ...NO_STORE, 'WWW-Authenticate': { schema: { type: 'string' } } }),
            413: errorResponse('invalid_request: the body is larger than 64 KiB.', NO_STORE),
            429: errorResponse('temporarily_unavailable: too many failed client authentications.', { ...NO_STORE, ...RETRY_AFTER }),
            503: errorResponse('temporarily_unavailable: the database is unavailable.', { ...NO_STORE, ...RETRY_AFTER }),
          },
        },
      },
      '/api/zapier/introspect': {
        post: {
          operationId: 'introspect-token',
          summary: 'Describe a token (RFC 7662); only tokens issued to the calling client can be active',
          security: [{ clientBasic: [] }, {}],
          requestBody: {
            required: true,
            content: {
              'application/x-www-form-urlencoded': { schema: { $ref: '#/components/schemas/TokenOperation' } },
              'application/json': { schema: { $ref: '#/components/schemas/TokenOperation' } },
            },
          },
          responses: {
            200: { description: 'The token\'s state; {"active": false} for anything not usable.', headers: NO_STORE, content: json({ $ref: '#/components/schemas/Introspection' }) },
            400: errorResponse('invalid_request or invalid_client with credentials in the body.', NO_STORE),
            401: errorResponse('invalid_client: no client credentials, or wrong ones in HTTP Basic.', { ...NO_STORE, 'WWW-Authenticate': { schema: { type: 'string' } } }),
            413: errorResponse('invalid_request: the body is larger than 64 KiB.', NO_STORE),
            429: errorResponse('temporarily_unavailable: too many failed client authentications.', { ...NO_STORE, ...RETRY_AFTER }),
            503: errorResponse('temporarily_unavailable: the database is unavailable.', { ...NO_STORE, ...RETRY_AFTER }),
          },
        },
      },
      '/.well-known/oauth-authorization-server': {
        get: {
          operationId: 'get-server-metadata',
          summary: 'Authorization server metadata (RFC 8414)',
          responses: { 200: { description: 'The metadata.', content: json({ type: 'object', required: ['issuer', 'token_endpoint'] }) } },
        },
      },
      '/healthz': {
        get: { operationId: 'get-health', summary: 'Liveness', responses: { 200: { description: 'The process runs.', content: json({ type: 'object' }) } } },
      },
      '/readyz': {
        get: {
          operationId: 'get-readiness',
          summary: 'Readiness: the database answers and the process is not shutting down',
          responses: {
            200: { description: 'Ready for traffic.', content: json({ type: 'object' }) },
            503: { description: 'Not ready: database unreachable or shutting down.', content: json({ type: 'object' }) },
          },
        },
      },
      '/api/zapier/me': {
        get: {
          operationId: 'get-me',
          summary: 'The user who authorized the access token; needs the profile scope',
          security: [{ bearer: [] }, { oauth2: ['profile'] }],
          responses: {
            200: { description: 'The user.', content: json({ $ref: '#/components/schemas/User' }) },
            401: errorResponse('Missing, unknown, expired or revoked token (RFC 6750 §3), with WWW-Authenticate: Bearer.', {
              'WWW-Authenticate': { schema: { type: 'string' } },
            }),
            403: errorResponse('insufficient_scope: the token lacks the profile scope (RFC 6750 §3.1).', {
              'WWW-Authenticate': { schema: { type: 'string' } },
            }),
            429: errorResponse('temporarily_unavailable: too many never-issued tokens from this address.', RETRY_AFTER),
            503: errorResponse('temporarily_unavailable: the database is unavailable.', RETRY_AFTER),
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'get-openapi',
          summary: 'This document',
          responses: { 200: { description: 'OpenAPI 3.1 document.', content: json({ type: 'object' }) } },
        },
      },
    },
    components: {
      schemas: {
        TokenRequest: TOKEN_REQUEST_SCHEMA,
        TokenResponse: TOKEN_RESPONSE_SCHEMA,
        OAuthError: OAUTH_ERROR_SCHEMA,
        User: USER_SCHEMA,
        Introspection: INTROSPECTION_SCHEMA,
        TokenOperation: {
          type: 'object',
          properties: {
            token: { type: 'string' },
            token_type_hint: { type: 'string', enum: ['access_token', 'refresh_token'] },
            client_id: { type: 'string' },
            client_secret: { type: 'string' },
          },
          required: ['token'],
          additionalProperties: { type: 'string' },
        },
      },
      securitySchemes: {
        clientBasic: { type: 'http', scheme: 'basic', description: 'client_id and client_secret, each form-urlencoded first.' },
        bearer: { type: 'http', scheme: 'bearer' },
        oauth2: {
          type: 'oauth2',
          flows: {
            authorizationCode: {
              authorizationUrl: `${issuer}/api/zapier/authorize`,
              tokenUrl: `${issuer}/api/zapier/token`,
              refreshUrl: `${issuer}/api/zapier/token`,
              scopes: SCOPES,
            },
          },
        },
      },
    },
  };
}

/** GET /openapi.json, built once at start-up. */
export function openapiRoute(app: FastifyInstance, context: Context): void {
  const body = JSON.stringify(openapiDocument(context.config.issuer));
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json; charset=utf-8').send(body));
}
