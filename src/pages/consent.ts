import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { PREFIX, generateId, generateSecret } from '../crypto/secrets.js';
import { PURPOSE } from '../grants/issue.js';
import { findSignedIn, requireCsrf } from './browser-session.js';
import { PageError } from './errors.js';
import { readForm } from './forms.js';
import { findPending, sendNextPage, type Pending } from './pending-request.js';
import { withQuery } from './redirect-uri.js';
import { ACTION } from './views.js';

/** Sends the browser back to the client (RFC 6749 §4.1.2), with the unchanged state when one was sent. */
function redirectToClient(reply: FastifyReply, pending: Pending, parameters: Record<string, string>): FastifyReply {
  const location = withQuery(pending.request.redirectUri, { ...parameters, state: pending.request.state });
  return reply.code(302).header('location', location).header('cache-control', 'no-store').send();
}

/** Creates the grant and its authorization code. Returns the grant id and the code to hand to the client. */
async function issueCode(context: Context, pending: Pending, userId: string): Promise<{ grantId: string; code: string }> {
  const code = generateSecret(PREFIX.code);
  const grantId = generateId();
  const now = context.now();
  await context.store.grants.createWithCode(
    { id: grantId, clientId: pending.client.id, userId, scope: pending.request.scope, createdAt: now },
    {
      hash: context.hasher.hash(PURPOSE.code, code),
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

async function decide(context: Context, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const fields = readForm(request.body);
  requireCsrf(context, request, fields);

  const decision = fields.decision;
  if (decision !== 'allow' && decision !== 'deny') {
    throw new PageError(400, 'No choice was made', 'The form did not say whether to allow or deny access. Go back, reload the page and choose Allow or Deny.');
  }
  const signedIn = await findSignedIn(context, request);
  if (!signedIn) {
    throw new PageError(400, 'You are signed out', 'Your session ended before you made a choice. Go back to the app and start connecting again.');
  }
  const pending = await findPending(context, fields.request);

  // One request yields one decision: of two submissions, only the one that deletes the request goes on.
  if (!(await context.store.requests.consume(pending.request.id))) {
    throw new PageError(400, 'This request was already answered', 'A choice for this request has already been made. Go back to the app to see the result.');
  }

  if (decision === 'deny') {
    request.log.info({ client_id: pending.client.id, user_id: signedIn.user.id }, 'authorization denied');
    context.audit.record({ event: 'consent.denied', outcome: 'success', userId: signedIn.user.id, clientId: pending.client.id, address: request.ip });
    return redirectToClient(reply, pending, { error: 'access_denied', error_description: 'The user denied access.' });
  }

  const { grantId, code } = await issueCode(context, pending, signedIn.user.id);
  request.log.info({ client_id: pending.client.id, user_id: signedIn.user.id, grant_id: grantId, scope: pending.request.scope }, 'authorization granted');
  context.audit.record({
    event: 'grant.created',
    outcome: 'success',
    userId: signedIn.user.id,
    clientId: pending.client.id,
    grantId,
    address: request.ip,
    detail: `scope: ${pending.request.scope}`,
  });
  return redirectToClient(reply, pending, { code });
}

/** Registers the consent page of a pending request (the sign-in form when signed out) and its decision route. */
export function consentRoutes(app: FastifyInstance, context: Context): void {
  app.get(ACTION.consent, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const requestId = query.request;
    const pending = await findPending(context, typeof requestId === 'string' ? requestId : undefined);
    return sendNextPage(context, request, reply, pending);
  });
  app.post(ACTION.consent, async (request, reply) => decide(context, request, reply));
}
