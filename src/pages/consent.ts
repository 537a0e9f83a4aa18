import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { grantAuthorization, requestAlreadyUsed, redirectToClient } from './authorization-response.js';
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
  if (decision === 'deny') {
    if (!(await context.store.requests.consume(pending.request.id))) throw requestAlreadyUsed();
    request.log.info({ client_id: pending.client.id, user_id: signedIn.user.id }, 'authorization denied');
    context.audit.record({ event: 'consent.denied', outcome: 'success', userId: signedIn.user.id, clientId: pending.client.id, address: request.ip });
    return redirectToClient(reply, pending, { error: 'access_denied', error_description: 'The user denied access.' });
  }

  // The request is used up, the consent remembered and the code created in one transaction. The consent lets
  // the next request for these scopes, from a browser that is already signed in, skip this page. Revoking
  // the connection on the connected-apps page deletes it.
  return grantAuthorization(context, request, reply, pending, signedIn.user, `scope: ${pending.request.scope}`, true);
}

/** Registers the consent page of a pending request (the sign-in form when signed out) and its decision route. */
export function consentRoutes(app: FastifyInstance, context: Context): void {
  app.get(ACTION.consent, async (request, reply) => {
    const pending = await findPending(context, readQuery(request.query).request);
    return sendNextPage(context, request, reply, pending);
  });
  app.post(ACTION.consent, async (request, reply) => decide(context, request, reply));
}
