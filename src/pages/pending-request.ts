import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { PREFIX } from '../crypto/secrets.js';
import { parseScope } from '../oauth/scopes.js';
import type { AuthorizationRequest, Client } from '../storage/types.js';
import { csrfToken, findSignedIn, type SignedIn } from './browser-session.js';
import { PageError } from './errors.js';
import { sendPage } from './html.js';
import { displayHost, formActionSource } from './redirect-uri.js';
import { sendLogin } from './login-page.js';
import { consentPage } from './views.js';

/** How long a person has to sign in and decide before the pending request expires. */
export const REQUEST_LIFETIME_MS = 15 * 60 * 1000;

const REQUEST_ID_SHAPE = new RegExp(`^${PREFIX.request}[A-Za-z0-9_-]{43}$`);

/** A pending authorization request together with its client. */
export interface Pending {
  readonly request: AuthorizationRequest;
  readonly client: Client;
}

/** Finds a pending request that has not expired, or throws the 400 page that sends the person back to the app. */
export async function findPending(context: Context, requestId: string | undefined): Promise<Pending> {
  const stale = new PageError(
    400,
    'This page has expired',
    'The request to connect an app is no longer valid: it was already answered, or it is more than 15 minutes old. Go back to the app: it shows the result of a choice already made, and otherwise lets you start connecting again.',
  );
  if (requestId === undefined || !REQUEST_ID_SHAPE.test(requestId)) throw stale;
  const request = await context.store.requests.find(requestId, context.now());
  if (!request) throw stale;
  const client = await context.store.clients.findById(request.clientId);
  if (!client) {
    throw new PageError(400, 'This app is not registered', 'The app that asked for access is no longer registered with Kiwiform. Contact its developer.');
  }
  return { request, client };
}

/**
 * Sends the next page of a pending request: consent when the browser is signed in, sign-in otherwise. Pass
 * `signedIn` when the caller has already looked the session up.
 */
export async function sendNextPage(
  context: Context,
  request: FastifyRequest,
  reply: FastifyReply,
  pending: Pending,
  signedIn?: SignedIn | null,
): Promise<FastifyReply> {
  const session = signedIn === undefined ? await findSignedIn(context, request) : signedIn;
  if (!session) return sendLogin(context, request, reply, { kind: 'authorization', pending });

  const page = consentPage({
    requestId: pending.request.id,
    csrfToken: csrfToken(context, request, reply, pending.request.id),
    clientName: pending.client.name,
    userEmail: session.user.email,
    scopes: parseScope(pending.request.scope),
    returnHost: displayHost(pending.request.redirectUri),
  });
  return sendPage(reply, 200, page, { formActionSource: formActionSource(pending.request.redirectUri) });
}
