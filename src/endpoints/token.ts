import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditEntry } from '../audit/audit-log.js';
import type { Context } from '../context.js';
import { CodeReplay, exchangeCode } from '../grants/authorization-code.js';
import type { Issued, TokenResponse } from '../grants/issue.js';
import { RefreshTokenReuse, refreshAccessToken } from '../grants/refresh-token.js';
import { readClientCredentials, type PresentedCredentials } from '../oauth/client-auth.js';
import { OAuthError, invalidRequest } from '../oauth/errors.js';
import { printable, readParameters, required } from '../oauth/parameters.js';
import { OAUTH_ERROR_SCHEMA, TOKEN_RESPONSE_SCHEMA } from './schemas.js';

const KNOWN_GRANTS = new Set(['authorization_code', 'refresh_token']);

/** Body size limit of the OAuth endpoints; real requests are a few hundred bytes. */
export const OAUTH_BODY_LIMIT = 64 * 1024;

export const OAUTH_ROUTE_SCHEMA = {
  response: { '4xx': OAUTH_ERROR_SCHEMA, '5xx': OAUTH_ERROR_SCHEMA },
} as const;

/** Parses an OAuth endpoint's body and client credentials, the steps the token, revoke and introspect routes share. */
export function readOAuthRequest(request: FastifyRequest) {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw invalidRequest('Content-Encoding is not supported; send the body uncompressed.');
  }
  const json = /^application\/json\b/i.test(request.headers['content-type'] ?? '');
  const parameters = readParameters(request.body, json);
  const credentials = readClientCredentials(request.headers.authorization, parameters);
  return { parameters, credentials };
}

/** Records a rejected request in the audit trail when it is a security event: bad client credentials or a replay. */
export function auditRejection(context: Context, request: FastifyRequest, error: unknown, credentials?: PresentedCredentials): void {
  if (!(error instanceof OAuthError)) return;
  let entry: AuditEntry | undefined;
  if (error.cause instanceof RefreshTokenReuse) {
    entry = { event: 'refresh_token.reused', outcome: 'failure', clientId: error.cause.clientId, grantId: error.cause.grantId, detail: 'grant revoked' };
  } else if (error.cause instanceof CodeReplay) {
    entry = { event: 'code.replayed', outcome: 'failure', clientId: credentials?.clientId, grantId: error.cause.grantId, detail: 'grant revoked' };
  } else if (error.code === 'invalid_client') {
    entry = { event: 'client.authentication_failed', outcome: 'failure', clientId: credentials?.clientId?.slice(0, 200), detail: `${request.url.split('?')[0]} ${credentials?.method ?? ''}`.trim() };
  }
  if (entry) context.audit.record({ ...entry, address: request.ip });
}

/** POST /api/zapier/token (RFC 6749 §3.2): both grants, form and JSON bodies, Basic and body client auth. */
export function tokenRoute(app: FastifyInstance, context: Context): void {
  app.post('/api/zapier/token', {
    bodyLimit: OAUTH_BODY_LIMIT,
    schema: { response: { 200: TOKEN_RESPONSE_SCHEMA, ...OAUTH_ROUTE_SCHEMA.response } },
  }, async (request, reply): Promise<TokenResponse> => {
    const { parameters, credentials } = readOAuthRequest(request);
    const grantType = required(parameters, 'grant_type');
    let issued: Issued;
    try {
      switch (grantType) {
        case 'authorization_code':
          issued = await exchangeCode(context, parameters, credentials, request.ip);
          break;
        case 'refresh_token':
          issued = await refreshAccessToken(context, parameters, credentials, request.ip);
          break;
        default:
          throw new OAuthError('unsupported_grant_type', `The grant type ${printable(grantType)} is not supported; use authorization_code or refresh_token.`);
      }
    } catch (error) {
      auditRejection(context, request, error, credentials);
      const outcome = error instanceof OAuthError ? error.code : 'error';
      context.metrics.countToken(KNOWN_GRANTS.has(grantType) ? grantType : 'other', outcome);
      throw error;
    }
    context.metrics.countToken(grantType, 'issued');
    const { grantId, userId, clientId } = issued;
    context.audit.record({
      event: grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued',
      outcome: 'success',
      userId,
      clientId,
      grantId,
      address: request.ip,
      detail: issued.rotated ? 'refresh token rotated' : null,
    });
    request.logDetails = { grant_type: grantType, client_id: clientId, grant_id: grantId };
    // RFC 6749 §5.1: token responses must not be cached.
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return issued.response;
  });
}
