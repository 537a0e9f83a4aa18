import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.js';
import { checkAccessToken } from '../grants/access-token.js';
import { PURPOSE, credentialKey } from '../grants/issue.js';
import { required } from '../oauth/parameters.js';
import { INTROSPECTION_SCHEMA } from './schemas.js';
import { tokenKinds, requireClient } from './revocation.js';
import { OAUTH_BODY_LIMIT, OAUTH_ROUTE_SCHEMA, auditRejection, readOAuthRequest } from './token.js';

/** An introspection response (RFC 7662 §2.2). */
export interface Introspection {
  readonly active: boolean;
  readonly scope?: string;
  readonly client_id?: string;
  readonly username?: string;
  readonly token_type?: string;
  readonly exp?: number;
  readonly iat?: number;
  readonly sub?: string;
  readonly iss?: string;
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

/**
 * POST /api/zapier/introspect (RFC 7662). The response starts as inactive, and only a token that passes every
 * check is reported active: known, unexpired, its grant live, not retired by rotation, and issued to the caller.
 */
export function introspectionRoute(app: FastifyInstance, context: Context): void {
  app.post('/api/zapier/introspect', {
    bodyLimit: OAUTH_BODY_LIMIT,
    schema: { response: { 200: INTROSPECTION_SCHEMA, ...OAUTH_ROUTE_SCHEMA.response } },
  }, async (request, reply): Promise<Introspection> => {
    const { parameters, credentials } = readOAuthRequest(request);
    let answer: Introspection = { active: false };
    try {
      const token = required(parameters, 'token');
      const client = await requireClient(context, request, credentials);
      const { store, hasher, config } = context;
      for (const kind of tokenKinds(token, parameters.token_type_hint)) {
        if (kind === 'access') {
          const checked = await checkAccessToken(context, token);
          if (checked.state !== 'active' || checked.grant.clientId !== client.id) continue;
          const { claims, grant } = checked;
          answer = {
            active: true, scope: claims.scope, client_id: grant.clientId, username: grant.userEmail, sub: grant.userId,
            token_type: 'Bearer', exp: seconds(claims.expiresAt), iat: seconds(claims.issuedAt), iss: config.issuer,
          };
        } else {
          const found = await store.grants.findRefreshToken(credentialKey(hasher, PURPOSE.refreshToken, token));
          if (!found || found.grantRevokedAt !== null || found.rotatedAt !== null || found.clientId !== client.id) continue;
          const user = await store.users.findById(found.userId);
          if (!user) continue;
          answer = {
            active: true, scope: found.scope, client_id: found.clientId, username: user.email, sub: user.id,
            token_type: 'refresh_token', iat: seconds(found.createdAt), iss: config.issuer,
          };
        }
        break;
      }
    } catch (error) {
      auditRejection(context, request, error, credentials);
      throw error;
    }
    reply.header('cache-control', 'no-store');
    return answer;
  });
}
