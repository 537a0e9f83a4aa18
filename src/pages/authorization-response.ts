import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { PREFIX, generateOrderedId, generateOrderedSecret } from '../crypto/secrets.js';
import { PURPOSE, credentialKey } from '../grants/issue.js';
import type { User } from '../storage/types.js';
import type { Pending } from './pending-request.js';
import { withQuery } from './redirect-uri.js';

/** Sends the browser back to the client (RFC 6749 §4.1.2), with the unchanged state when one was sent. */
export function redirectToClient(reply: FastifyReply, pending: Pending, parameters: Record<string, string>): FastifyReply {
  const location = withQuery(pending.request.redirectUri, { ...parameters, state: pending.request.state });
  return reply.code(302).header('location', location).header('cache-control', 'no-store').send();
}

/** Creates the grant and its authorization code. Returns the grant id and the code to hand to the client. */
async function issueCode(context: Context, pending: Pending, userId: string): Promise<{ grantId: string; code: string }> {
  const now = context.now();
  const code = generateOrderedSecret(PREFIX.code, now);
  const grantId = generateOrderedId(now);
  await context.store.grants.createWithCode(
    { id: grantId, clientId: pending.client.id, userId, scope: pending.request.scope, createdAt: now },
    {
      hash: credentialKey(context.hasher, PURPOSE.code, code),
      grantId,
      redirectUri: pending.request.redirectUri,
      redirectUriGiven: pending.request.redirectUriGiven,
      codeChallenge: pending.request.codeChallenge,
      createdAt: now,
      expiresAt: now + context.config.codeTtl * 1000,
    },
  );
  return { grantId, code };
}

/**
 * Grants an authorization request: creates the grant and its code, records 'grant.created' with `detail` in
 * the audit trail, and redirects the browser to the client with the code.
 */
export async function grantAuthorization(
  context: Context,
  request: FastifyRequest,
  reply: FastifyReply,
  pending: Pending,
  user: User,
  detail: string,
): Promise<FastifyReply> {
  const { grantId, code } = await issueCode(context, pending, user.id);
  request.log.info(
    { client_id: pending.client.id, user_id: user.id, grant_id: grantId, scope: pending.request.scope, reason: detail },
    'authorization granted',
  );
  context.audit.record({
    event: 'grant.created',
    outcome: 'success',
    userId: user.id,
    clientId: pending.client.id,
    grantId,
    address: request.ip,
    detail,
  });
  return redirectToClient(reply, pending, { code });
}
