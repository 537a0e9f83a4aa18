import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import type { Connection } from '../storage/types.js';
import { ACCOUNT_FORMS, csrfToken, findSignedIn, requireCsrf } from './browser-session.js';
import { connectionsPage } from './connections-view.js';
import { PageError } from './errors.js';
import { readForm } from './forms.js';
import { sendPage } from './html.js';
import { sendLogin } from './login-page.js';
import { ACTION } from './views.js';

/**
 * Returns the confirmation for the `revoked` query parameter the revoke form redirects with. It names the app
 * only when the app exists and is no longer connected, so a crafted link cannot show a false statement.
 */
async function revokedNotice(context: Context, query: unknown, connections: readonly Connection[]): Promise<string | undefined> {
  const clientId = (query as Record<string, unknown>).revoked;
  if (typeof clientId !== 'string' || connections.some((connection) => connection.clientId === clientId)) return undefined;
  const client = await context.store.clients.findById(clientId);
  return client === undefined ? undefined : `${client.name} no longer has access to your account.`;
}

async function showConnections(context: Context, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const signedIn = await findSignedIn(context, request);
  if (!signedIn) return sendLogin(context, request, reply, { kind: 'account', returnTo: ACTION.connections });

  const connections = await context.store.grants.connections(signedIn.user.id);
  const page = connectionsPage({
    csrfToken: csrfToken(context, request, reply, ACCOUNT_FORMS),
    userEmail: signedIn.user.email,
    connections,
    notice: await revokedNotice(context, request.query, connections),
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
  const revoked = await context.store.grants.revokeForUserAndClient(userId, clientId, context.now());
  await context.store.consents.forget(userId, clientId);
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
  return back(`${ACTION.connections}?${new URLSearchParams({ revoked: clientId }).toString()}`);
}

/** Registers the connected-apps page and its revoke form. */
export function connectionsRoutes(app: FastifyInstance, context: Context): void {
  app.get(ACTION.connections, async (request, reply) => showConnections(context, request, reply));
  app.post(ACTION.revokeConnection, async (request, reply) => revokeConnection(context, request, reply));
}
