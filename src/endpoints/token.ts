import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.js';
import { exchangeCode } from '../grants/authorization-code.js';
import { refreshAccessToken } from '../grants/refresh-token.js';
import { readClientCredentials } from '../oauth/client-auth.js';
import { OAuthError } from '../oauth/errors.js';
import { printable, readParameters, required } from '../oauth/parameters.js';
import { TOKEN_RESPONSE_SCHEMA, OAUTH_ERROR_SCHEMA } from './schemas.js';

/** POST /api/zapier/token (RFC 6749 §3.2): both grants, form and JSON bodies, Basic and body client auth. */
export function tokenRoute(app: FastifyInstance, context: Context): void {
  app.post('/api/zapier/token', {
    bodyLimit: 64 * 1024,
    schema: {
      response: {
        200: TOKEN_RESPONSE_SCHEMA,
        '4xx': OAUTH_ERROR_SCHEMA,
        '5xx': OAUTH_ERROR_SCHEMA,
      },
    },
  }, async (request, reply) => {
    const parameters = readParameters(request.body);
    const grantType = required(parameters, 'grant_type');
    const credentials = readClientCredentials(request.headers.authorization, parameters);
    let response;
    switch (grantType) {
      case 'authorization_code':
        response = await exchangeCode(context, parameters, credentials);
        break;
      case 'refresh_token':
        response = await refreshAccessToken(context, parameters, credentials);
        break;
      default:
        throw new OAuthError('unsupported_grant_type', `The grant type ${printable(grantType)} is not supported; use authorization_code or refresh_token.`);
    }
    request.log.info({ grant_type: grantType, client_id: credentials?.clientId }, 'token issued');
    // RFC 6749 §5.1: token responses must not be cached.
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return response;
  });
}
