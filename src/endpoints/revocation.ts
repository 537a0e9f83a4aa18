import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { checkAccessToken } from '../grants/access-token.js';
import { PURPOSE, credentialKey } from '../grants/issue.js';
import { invalidClient, type PresentedCredentials } from '../oauth/client-auth.js';
import { invalidRequest } from '../oauth/errors.js';
import { required } from '../oauth/parameters.js';
import type { Client } from '../storage/types.js';
import { OAUTH_BODY_LIMIT, OAUTH_ROUTE_SCHEMA, auditRejection, readOAuthRequest } from './token.js';

/** Returns the kinds of token to look for, in order: the prefix decides, then the hint (RFC 7009 §2.1), then both. */
export function tokenKinds(token: string, hint: string | undefined): Array<'access' | 'refresh'> {
  if (token.startsWith('atk_')) return ['access'];
  if (token.startsWith('rtk_')) return ['refresh'];
  return hint === 'refresh_token' ? ['refresh', 'access'] : ['access', 'refresh'];
}

/** Authenticates the calling client, which RFC 7009 §2.1 and RFC 7662 §2.1 both require. */
export async function requireClient(context: Context, request: FastifyRequest, credentials: PresentedCredentials | undefined): Promise<Client> {
  if (!credentials) throw invalidClient('basic', 'Client authentication is required: use HTTP Basic or client_id and client_secret.');
  return context.clients.authenticate(credentials, request.ip);
}

/** POST /api/zapier/revoke (RFC 7009). Revoking a refresh token revokes its whole grant, access tokens included. */
export function revocationRoute(app: FastifyInstance, context: Context): void {
  app.post('/api/zapier/revoke', { bodyLimit: OAUTH_BODY_LIMIT, schema: OAUTH_ROUTE_SCHEMA }, async (request, reply) => {
    const { parameters, credentials } = readOAuthRequest(request);
    try {
      const token = required(parameters, 'token');
      const client = await requireClient(context, request, credentials);
      const { store, hasher, now } = context;
      for (const kind of tokenKinds(token, parameters.token_type_hint)) {
        let found: { clientId: string; userId: string; grantId: string } | undefined;
        if (kind === 'access') {
          const checked = await checkAccessToken(context, token);
          // An expired or already revoked token needs nothing more, and an unknown one is not ours to touch.
          if (checked.state !== 'active') continue;
          found = checked.grant;
          if (found.clientId === client.id) {
            await store.grants.revokeAccessToken(hasher.hash(PURPOSE.accessToken, token), found.grantId, checked.claims.expiresAt);
          }
        } else {
          found = await store.grants.findRefreshToken(credentialKey(hasher, PURPOSE.refreshToken, token));
          if (found && found.clientId === client.id) await store.grants.revoke(found.grantId, now());
        }
        if (!found) continue;
        // RFC 7009 §2.1: a client may revoke only tokens issued to it.
        if (found.clientId !== client.id) throw invalidRequest('The token was issued to another client.');
        context.audit.record({
          event: kind === 'access' ? 'token.revoked' : 'grant.revoked',
          outcome: 'success',
          userId: found.userId,
          clientId: client.id,
          grantId: found.grantId,
          address: request.ip,
          detail: `${kind} token revoked by the client`,
        });
        break;
      }
    } catch (error) {
      auditRejection(context, request, error, credentials);
      throw error;
    }
    // RFC 7009 §2.2: 200 whether or not the token existed, so the response reveals nothing about it.
    return reply.code(200).header('cache-control', 'no-store').send();
  });
}
