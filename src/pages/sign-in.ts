import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { verifyNothing, verifyPassword } from '../crypto/secrets.js';
import { endSession, findSignedIn, requireCsrf, startSession } from './browser-session.js';
import { readForm } from './forms.js';
import { sendPage } from './html.js';
import { continueUrl, findPending, sendLogin } from './pending-request.js';
import { ACTION, messagePage } from './views.js';

/** The only message a failed sign-in shows, so that it never reveals whether an account exists. */
export const SIGN_IN_FAILED = 'The email or password is incorrect.';

/** Maximum email length looked up: a 64-octet local part, @ and a 255-octet domain (RFC 5321 §4.5.3.1). */
const MAX_EMAIL_LENGTH = 320;

async function signIn(context: Context, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const fields = readForm(request.body);
  requireCsrf(context, request, fields);
  const pending = await findPending(context, fields.request);

  const email = (fields.email ?? '').trim();
  const password = fields.password;
  if (email === '' || password === undefined) {
    return sendLogin(context, request, reply, pending, { email, error: 'Enter your email and password.' });
  }

  // NOTE: sign-in attempts are not rate limited yet, so the scrypt cost of each check is the only brake.
  const user = email.length <= MAX_EMAIL_LENGTH ? await context.store.users.findByEmail(email) : undefined;
  // An unknown email costs one password hash too, so response times do not reveal which accounts exist.
  const valid = user ? await verifyPassword(password, user.passwordHash) : await verifyNothing(password);
  if (!user || !valid) {
    request.log.info({ client_id: pending.client.id }, 'sign-in failed');
    context.audit.record({
      event: 'user.sign_in_failed',
      outcome: 'failure',
      userId: user?.id,
      clientId: pending.client.id,
      address: request.ip,
      detail: user ? 'wrong password' : 'unknown email',
    });
    return sendLogin(context, request, reply, pending, { email, error: SIGN_IN_FAILED });
  }

  await startSession(context, request, reply, user);
  request.log.info({ user_id: user.id, client_id: pending.client.id }, 'signed in');
  context.audit.record({ event: 'user.signed_in', outcome: 'success', userId: user.id, clientId: pending.client.id, address: request.ip });
  // 303 turns the POST into a GET, so reloading the consent page does not resubmit the password.
  return reply.code(303).header('location', continueUrl(pending.request.id)).header('cache-control', 'no-store').send();
}

async function signOut(context: Context, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const fields = readForm(request.body);
  requireCsrf(context, request, fields);
  const signedIn = await findSignedIn(context, request);
  await endSession(context, request, reply);
  request.log.info({ user_id: signedIn?.user.id }, 'signed out');
  if (signedIn) context.audit.record({ event: 'user.signed_out', outcome: 'success', userId: signedIn.user.id, address: request.ip });

  const requestId = fields.request;
  const pending = requestId === undefined ? undefined : await context.store.requests.find(requestId, context.now());
  if (pending) {
    // Back to the same request, which now shows the sign-in form for another account.
    return reply.code(303).header('location', continueUrl(pending.id)).header('cache-control', 'no-store').send();
  }
  return sendPage(reply, 200, messagePage('You are signed out', 'You can close this page now.'));
}

/** Registers the POST routes of the sign-in form and of the "Sign out" button on the consent page. */
export function signInRoutes(app: FastifyInstance, context: Context): void {
  app.post(ACTION.login, async (request, reply) => signIn(context, request, reply));
  app.post(ACTION.logout, async (request, reply) => signOut(context, request, reply));
}
