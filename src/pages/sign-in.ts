import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { verifyNothing, verifyPassword } from '../crypto/secrets.js';
import { endSession, findSignedIn, requireCsrf, startSession } from './browser-session.js';
import { readForm, type FormFields } from './forms.js';
import { sendPage } from './html.js';
import { afterSignInUrl, sendLogin, type SignInTarget } from './login-page.js';
import { findPending } from './pending-request.js';
import { safeReturnPath } from './return-path.js';
import { ACTION, continueUrl, messagePage, minutesInWords } from './views.js';

/** The only message a failed sign-in shows, so that it never reveals whether an account exists. */
export const SIGN_IN_FAILED = 'The email or password is incorrect.';

/** Maximum email length looked up: a 64-octet local part, @ and a 255-octet domain (RFC 5321 §4.5.3.1). */
const MAX_EMAIL_LENGTH = 320;

/** Returns the message of a sign-in rejected by the failure limit. It is the same whether or not the account exists. */
export function tooManyAttempts(retryAfterSeconds: number): string {
  return `Too many failed sign-in attempts. Try again in ${minutesInWords(retryAfterSeconds)}.`;
}

/**
 * Reads where the sign-in leads. A form with a request id belongs to that authorization request. Any other
 * form returns to its return_to path when that is a safe path of the account pages, else to connected apps.
 */
async function signInTarget(context: Context, fields: FormFields): Promise<SignInTarget> {
  if (fields.request !== undefined) return { kind: 'authorization', pending: await findPending(context, fields.request) };
  return { kind: 'account', returnTo: safeReturnPath(fields.return_to) ?? ACTION.connections };
}

/**
 * Keys of the sign-in failure limit: the account named by the form and the client address. Both are counted
 * whether or not the account exists. An email too long to be an account's is counted by address only.
 */
function limitKeys(email: string, address: string): { account: string | undefined; all: string[] } {
  const account = email.length <= MAX_EMAIL_LENGTH ? `account:${email.toLowerCase()}` : undefined;
  const byAddress = `address:${address}`;
  return { account, all: account === undefined ? [byAddress] : [account, byAddress] };
}

async function signIn(context: Context, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const fields = readForm(request.body);
  requireCsrf(context, request, fields);
  const target = await signInTarget(context, fields);
  const clientId = target.kind === 'authorization' ? target.pending.client.id : undefined;

  const email = (fields.email ?? '').trim();
  const password = fields.password;
  if (email === '' || password === undefined) {
    return sendLogin(context, request, reply, target, { email, error: 'Enter your email and password.' });
  }

  const keys = limitKeys(email, request.ip);
  const rejectLimited = (retryAfterSeconds: number): FastifyReply => {
    request.log.info({ client_id: clientId, retry_after: retryAfterSeconds }, 'sign-in rejected: too many failed attempts');
    context.metrics.limitRejections.inc({ limit: 'signInFailure' });
    return sendLogin(context, request, reply, target, {
      email,
      error: tooManyAttempts(retryAfterSeconds),
      status: 429,
      headers: { 'retry-after': String(retryAfterSeconds) },
    });
  };
  // Checked before the password, so a blocked guesser learns nothing from further attempts.
  const blockedFor = await context.limits.blockedFor('signInFailure', keys.all);
  if (blockedFor > 0) return rejectLimited(blockedFor);

  const user = email.length <= MAX_EMAIL_LENGTH ? await context.store.users.findByEmail(email) : undefined;
  // An unknown email costs one password hash too, so response times do not reveal which accounts exist.
  const valid = user ? await verifyPassword(password, user.passwordHash) : await verifyNothing(password);
  if (!user || !valid) {
    request.log.info({ client_id: clientId }, 'sign-in failed');
    context.audit.record({
      event: 'user.sign_in_failed',
      outcome: 'failure',
      userId: user?.id,
      clientId,
      address: request.ip,
      detail: user ? 'wrong password' : 'unknown email',
    });
    const wait = await context.limits.fail('signInFailure', keys.all);
    if (wait > 0) return rejectLimited(wait);
    return sendLogin(context, request, reply, target, { email, error: SIGN_IN_FAILED });
  }

  // Only the account's count is cleared: clearing the address's would let one guesser reset it with an
  // account of their own.
  if (keys.account !== undefined) await context.limits.reset('signInFailure', [keys.account]);
  await startSession(context, request, reply, user);
  request.log.info({ user_id: user.id, client_id: clientId }, 'signed in');
  context.audit.record({ event: 'user.signed_in', outcome: 'success', userId: user.id, clientId, address: request.ip });
  // 303 turns the POST into a GET, so reloading the next page does not resubmit the password.
  return reply.code(303).header('location', afterSignInUrl(target)).header('cache-control', 'no-store').send();
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

/** Registers the POST routes of the sign-in form and of the "Sign out" buttons. */
export function signInRoutes(app: FastifyInstance, context: Context): void {
  app.post(ACTION.login, async (request, reply) => signIn(context, request, reply));
  app.post(ACTION.logout, async (request, reply) => signOut(context, request, reply));
}
