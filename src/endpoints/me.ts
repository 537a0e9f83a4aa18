import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { checkAccessToken, type AccessTokenClaims } from '../grants/access-token.js';
import { OAuthError, safeDescription } from '../oauth/errors.js';
import type { GrantAccess } from '../storage/types.js';
import { OAUTH_ERROR_SCHEMA, USER_SCHEMA } from './schemas.js';

const REALM = 'realm="kiwiform"';

/** Builds the RFC 6750 §3 challenge error; without a presented token the challenge carries no error code. */
function bearerError(code: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | null, description: string, scope?: string): OAuthError {
  const challenge = code === null
    ? `Bearer ${REALM}`
    : `Bearer ${REALM}, error="${code}", error_description="${safeDescription(description)}"${scope ? `, scope="${scope}"` : ''}`;
  let status = 401;
  if (code === 'invalid_request') status = 400;
  if (code === 'insufficient_scope') status = 403;
  return new OAuthError(code ?? 'invalid_token', description, { status, headers: { 'www-authenticate': challenge } });
}

/** Scope a token needs for the me endpoint: the user's name and email. */
const PROFILE_SCOPE = 'profile';

/**
 * Resolves the bearer access token of a request (RFC 6750 §2.1) to its active grant, or throws the 401 of
 * RFC 6750 §3.
 */
export async function authenticateBearer(context: Context, request: FastifyRequest): Promise<{ claims: AccessTokenClaims; grant: GrantAccess }> {
  const header = request.headers.authorization;
  const match = header?.match(/^\s*bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i);
  if (!header || !/^\s*bearer(\s|$)/i.test(header)) {
    throw bearerError(null, 'An access token is required: send Authorization: Bearer <token>.');
  }
  if (!match?.[1]) throw bearerError('invalid_token', 'The access token is malformed.');
  const checked = await checkAccessToken(context, match[1]);
  if (checked.state === 'active') return checked;
  // Only tokens that were never issued count as guessing; an expired one is normal traffic before a refresh.
  if (checked.state === 'unknown') await context.limits.failOrThrow('unknownToken', [`address:${request.ip}`]);
  throw bearerError('invalid_token', 'The access token is invalid, expired or revoked.');
}

/** GET /api/zapier/me: the user who authorized the token. */
export function meRoute(app: FastifyInstance, context: Context): void {
  app.get('/api/zapier/me', {
    schema: { response: { 200: USER_SCHEMA, '4xx': OAUTH_ERROR_SCHEMA, '5xx': OAUTH_ERROR_SCHEMA } },
  }, async (request: FastifyRequest, reply: FastifyReply) => {
    const { claims, grant } = await authenticateBearer(context, request);
    // RFC 6750 §3.1: a valid token without the needed scope is insufficient_scope with status 403.
    if (!claims.scope.split(' ').includes(PROFILE_SCOPE)) {
      throw bearerError('insufficient_scope', `The access token lacks the ${PROFILE_SCOPE} scope.`, PROFILE_SCOPE);
    }
    context.uses.record(grant.grantId);
    reply.header('cache-control', 'no-store');
    return { id: grant.userId, email: grant.userEmail, name: grant.userName };
  });
}
