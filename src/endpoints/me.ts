import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { PURPOSE } from '../grants/issue.js';
import { OAuthError, safeDescription } from '../oauth/errors.js';
import type { AccessTokenRecord } from '../storage/types.js';
import { OAUTH_ERROR_SCHEMA, USER_SCHEMA } from './schemas.js';

const REALM = 'realm="kiwiform"';

/** Builds the RFC 6750 §3 challenge error; without a presented token the challenge carries no error code. */
function bearerError(code: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | null, description: string, scope?: string): OAuthError {
  const challenge = code === null
    ? `Bearer ${REALM}`
    : `Bearer ${REALM}, error="${code}", error_description="${safeDescription(description)}"${scope ? `, scope="${scope}"` : ''}`;
  const status = code === 'invalid_request' ? 400 : code === 'insufficient_scope' ? 403 : 401;
  return new OAuthError(code ?? 'invalid_token', description, { status, headers: { 'www-authenticate': challenge } });
}

/** Scope a token needs for the me endpoint: the user's name and email. */
const PROFILE_SCOPE = 'profile';

/**
 * Resolves the bearer access token of a request (RFC 6750 §2.1) or throws the 401 of RFC 6750 §3.
 */
export async function authenticateBearer(context: Context, request: FastifyRequest): Promise<AccessTokenRecord> {
  const header = request.headers.authorization;
  const match = header?.match(/^\s*bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i);
  if (!header || !/^\s*bearer(\s|$)/i.test(header)) {
    throw bearerError(null, 'An access token is required: send Authorization: Bearer <token>.');
  }
  if (!match?.[1]) throw bearerError('invalid_token', 'The access token is malformed.');
  const record = await context.store.grants.findAccessToken(
    context.hasher.hash(PURPOSE.accessToken, match[1]),
    context.now(),
  );
  if (!record) {
    // Only tokens that were never issued count as guessing; an expired one is normal traffic before a refresh.
    const known = await context.store.grants.findAccessTokenAnyState(context.hasher.hash(PURPOSE.accessToken, match[1]));
    if (!known) await context.limits.failOrThrow('unknownToken', [`address:${request.ip}`]);
    throw bearerError('invalid_token', 'The access token is invalid, expired or revoked.');
  }
  return record;
}

/**
 * Remembers when this process last recorded use of each grant, so that API calls update a grant's
 * last-used time about once a minute instead of sending a write per request.
 */
class UseRecorder {
  readonly #recorded = new Map<string, number>();

  constructor(private readonly context: Context) {}

  record(grantId: string): void {
    const now = this.context.now();
    if (now - (this.#recorded.get(grantId) ?? 0) < 60_000) return;
    if (this.#recorded.size >= 100_000) this.#recorded.clear();
    this.#recorded.set(grantId, now);
    this.context.store.grants.touch(grantId, now).catch(() => {
      // The last-used time is informational; a failed write is retried on a later request.
      this.#recorded.delete(grantId);
    });
  }
}

/** GET /api/zapier/me: the user who authorized the token. */
export function meRoute(app: FastifyInstance, context: Context): void {
  const uses = new UseRecorder(context);
  app.get('/api/zapier/me', {
    schema: { response: { 200: USER_SCHEMA, '4xx': OAUTH_ERROR_SCHEMA, '5xx': OAUTH_ERROR_SCHEMA } },
  }, async (request: FastifyRequest, reply: FastifyReply) => {
    const token = await authenticateBearer(context, request);
    // RFC 6750 §3.1: a valid token without the needed scope is insufficient_scope with status 403.
    if (!token.scope.split(' ').includes(PROFILE_SCOPE)) {
      throw bearerError('insufficient_scope', `The access token lacks the ${PROFILE_SCOPE} scope.`, PROFILE_SCOPE);
    }
    uses.record(token.grantId);
    const user = await context.store.users.findById(token.userId);
    if (!user) throw bearerError('invalid_token', 'The access token is invalid, expired or revoked.');
    reply.header('cache-control', 'no-store');
    return { id: user.id, email: user.email, name: user.name };
  });
}
