import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.js';
import { ALL_SCOPES } from '../oauth/scopes.js';

/** Builds the authorization server metadata (RFC 8414 §2), listing only what this server implements. */
export function serverMetadata(issuer: string): Record<string, unknown> {
  const authMethods = ['client_secret_basic', 'client_secret_post'];
  return {
    issuer,
    authorization_endpoint: `${issuer}/api/zapier/authorize`,
    token_endpoint: `${issuer}/api/zapier/token`,
    revocation_endpoint: `${issuer}/api/zapier/revoke`,
    introspection_endpoint: `${issuer}/api/zapier/introspect`,
    scopes_supported: ALL_SCOPES,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_methods_supported: authMethods,
    code_challenge_methods_supported: ['S256'],
    service_documentation: `${issuer}/openapi.json`,
  };
}

/** GET /.well-known/oauth-authorization-server, built once at start-up. */
export function metadataRoute(app: FastifyInstance, context: Context): void {
  const body = JSON.stringify(serverMetadata(context.config.issuer));
  app.get('/.well-known/oauth-authorization-server', async (_request, reply) =>
    reply.type('application/json; charset=utf-8').header('cache-control', 'public, max-age=3600').send(body));
}
