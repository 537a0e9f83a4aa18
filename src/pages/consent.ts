import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { parseScope } from '../oauth/scopes.js';
import { grantAuthorization, redirectToClient } from './authorization-response.js';
import { findSignedIn, requireCsrf } from './browser-session.js';
import { PageError } from './errors.js';
import { readForm, readQuery } from './forms.js';
import { findPending, sendNextPage } from './pending-request.js';
import { ACTION } from './views.js';

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

  // Remembered so that the next request for these scopes, from a browser that is already signed in, skips
  // this page. Revoking the connection on the connected-apps page forgets it.
  await context.store.consents.remember(signedIn.user.id, pending.client.id, parseScope(pending.request.scope), context.now());
  return grantAuthorization(context, request, reply, pending, signedIn.user, `scope: ${pending.request.scope}`);
}

/** Registers the consent page of a pending request (the sign-in form when signed out) and its decision route. */
export function consentRoutes(app: FastifyInstance, context: Context): void {
  app.get(ACTION.consent, async (request, reply) => {
    const pending = await findPending(context, readQuery(request.query).request);
    return sendNextPage(context, request, reply, pending);
  });
  app.post(ACTION.consent, async (request, reply) => decide(context, request, reply));
}
