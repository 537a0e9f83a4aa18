import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { constantTimeEqual } from '../crypto/secrets.js';
import type { Connection } from '../storage/types.js';
import { ACCOUNT_FORMS, browserBoundHash, csrfToken, findSignedIn, requireCsrf } from './browser-session.js';
import { connectionsPage } from './connections-view.js';
import { PageError } from './errors.js';
import { readForm, readQuery, type FormFields } from './forms.js';
import { sendPage } from './html.js';
import { sendLogin } from './login-page.js';
import { ACTION } from './views.js';

/** Purpose of the keyed hash that proves a `revoked` confirmation link came from this browser's own revoke. */
const REVOKED_PURPOSE = 'revoked-notice';

/**
 * Returns the URL the revoke form redirects to. After a revoke that ended at least one grant it carries the
 * client id and a proof bound to this browser, so that the page can confirm the revocation.
 */
function afterRevokeUrl(context: Context, request: FastifyRequest, clientId: string, revoked: number): string {
  const proof = revoked > 0 ? browserBoundHash(context, request, REVOKED_PURPOSE, clientId) : undefined;
  if (proof === undefined) return ACTION.connections;
  return `${ACTION.connections}?${new URLSearchParams({ revoked: clientId, proof }).toString()}`;
}

/**
 * Returns the confirmation for the `revoked` and `proof` query parameters of afterRevokeUrl. It is shown only
 * when the proof shows that this browser revoked a grant of that client, and the client is not connected again
 * since. A crafted link therefore cannot make the page claim a revocation that did not happen.
 */
async function revokedNotice(
  context: Context,
  request: FastifyRequest,
  query: FormFields,
  connections: readonly Connection[],
): Promise<string | undefined> {
  const clientId = query.revoked;
  const proof = query.proof;
  if (clientId === undefined || proof === undefined) return undefined;
  const expected = browserBoundHash(context, request, REVOKED_PURPOSE, clientId);
  if (expected === undefined || !constantTimeEqual(expected, proof)) return undefined;
  if (connections.some((connection) => connection.clientId === clientId)) return undefined;
  const client = await context.store.clients.findById(clientId);
  // The client may have been deleted since the revoke, but the revocation still happened.
  return `${client?.name ?? 'The app'} no longer has access to your account.`;
}

async function showConnections(context: Context, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const query = readQuery(request.query);
  const signedIn = await findSignedIn(context, request);
  if (!signedIn) return sendLogin(context, request, reply, { kind: 'account', returnTo: ACTION.connections });

  const connections = await context.store.grants.connections(signedIn.user.id);
  const page = connectionsPage({
    csrfToken: csrfToken(context, request, reply, ACCOUNT_FORMS),
    userEmail: signedIn.user.email,
    connections,
    notice: await revokedNotice(context, request, query, connections),
  });
  return sendPage(reply, 200, page);
}

/**
 * Revokes every grant of the signed-in user to one client, which kills its codes and tokens at once, and
 * forgets the remembered consent so that reconnecting asks again.
 */
async function revokeConnection(context: Context, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const fields = readForm(request.body);
  requireCsrf(context, request, fields);
  const back = (location: string): FastifyReply => reply.code(303).header('location', location).header('cache-control', 'no-store').send();

  const signedIn = await findSignedIn(context, request);
  // Signed out meanwhile: the connections page shows the sign-in form, then the list to choose from again.
  if (!signedIn) return back(ACTION.connections);
  const clientId = fields.client_id;
  if (clientId === undefined) {
    throw new PageError(400, 'No app was chosen', 'The form did not say which app to revoke. Go back, reload the page and try again.');
  }

  const userId = signedIn.user.id;
  // The remembered consent goes first: should the revocation then fail, the app must still ask the user again
  // before it gets a new code, and the user can revoke once more.
  await context.store.consents.forget(userId, clientId);
  const revoked = await context.store.grants.revokeForUserAndClient(userId, clientId, context.now());
  if (revoked > 0) {
    request.log.info({ user_id: userId, client_id: clientId, grants: revoked }, 'connection revoked');
    context.audit.record({
      event: 'connection.revoked',
      outcome: 'success',
      userId,
      clientId,
      address: request.ip,
      detail: `${revoked} ${revoked === 1 ? 'grant' : 'grants'} revoked`,
    });
  } else {
    request.log.info({ user_id: userId, client_id: clientId }, 'connection revoke found no live grant');
  }
  return back(afterRevokeUrl(context, request, clientId, revoked));
}

/** Registers the connected-apps page and its revoke form. */
export function connectionsRoutes(app: FastifyInstance, context: Context): void {
  app.get(ACTION.connections, async (request, reply) => showConnections(context, request, reply));
  app.post(ACTION.revokeConnection, async (request, reply) => revokeConnection(context, request, reply));
}
