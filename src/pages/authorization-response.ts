import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { PREFIX, generateOrderedId, generateOrderedSecret } from '../crypto/secrets.js';
import { PURPOSE, credentialKey } from '../grants/issue.js';
import { parseScope } from '../oauth/scopes.js';
import type { User } from '../storage/types.js';
import { PageError } from './errors.js';
import type { Pending } from './pending-request.js';
import { withQuery } from './redirect-uri.js';

/** Sends the browser back to the client (RFC 6749 §4.1.2), with the unchanged state when one was sent. */
export function redirectToClient(reply: FastifyReply, pending: Pending, parameters: Record<string, string>): FastifyReply {
  const location = withQuery(pending.request.redirectUri, { ...parameters, state: pending.request.state });
  return reply.code(302).header('location', location).header('cache-control', 'no-store').send();
}

/** Returns the error page for a consent form whose request was already used up. */
export function requestAlreadyUsed(): PageError {
  return new PageError(400, 'This request was already answered', 'A choice for this request has already been made. Go back to the app to see the result.');
}

/**
 * Creates the grant and its authorization code. Returns the grant id and the code to hand to the client.
 * With `consumesRequest`, the pending request is a stored one that a consent form submits: using it up
 * and remembering the consent happen in the same transaction, and a request already used up throws.
 */
async function issueCode(context: Context, pending: Pending, userId: string, consumesRequest: boolean): Promise<{ grantId: string; code: string }> {
  const now = context.now();
  const code = generateOrderedSecret(PREFIX.code, now);
  const grantId = generateOrderedId(now);
  const grant = { id: grantId, clientId: pending.client.id, userId, scope: pending.request.scope, createdAt: now };
  const stored = {
    hash: credentialKey(context.hasher, PURPOSE.code, code),
    grantId,
    redirectUri: pending.request.redirectUri,
    redirectUriGiven: pending.request.redirectUriGiven,
    codeChallenge: pending.request.codeChallenge,
    createdAt: now,
    expiresAt: now + context.config.codeTtl * 1000,
  };
  if (!consumesRequest) {
    await context.store.grants.createWithCode(grant, stored);
  } else if (!(await context.store.grants.createFromConsent(pending.request.id, parseScope(pending.request.scope), grant, stored))) {
    throw requestAlreadyUsed();
  }
  return { grantId, code };
}

/**
 * Grants an authorization request: creates the grant and its code, records 'grant.created' with `detail` in
 * the audit trail, and redirects the browser to the client with the code. With `consumesRequest`, the
 * request is a stored one that the consent form uses up (see issueCode).
 */
export async function grantAuthorization(
  context: Context,
  request: FastifyRequest,
  reply: FastifyReply,
  pending: Pending,
  user: User,
  detail: string,
  consumesRequest = false,
): Promise<FastifyReply> {
  const { grantId, code } = await issueCode(context, pending, user.id, consumesRequest);
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
