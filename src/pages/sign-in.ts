import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { verifyNothing, verifyPassword } from '../crypto/secrets.js';
import type { AbuseLimits } from '../security/abuse-limits.js';
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

/** Keys of the sign-in failure limit for one attempt. */
export interface SignInLimitKeys {
  /** Failures for the account, from any address. */
  readonly account: string | undefined;
  /** Failures for the account from this address. */
  readonly accountAddress: string | undefined;
  /** Failures from this address, for any account. */
  readonly address: string;
}

/**
 * Builds the keys of the sign-in failure limit from the email as typed and the client address. The email is
 * compared in NFC and lower case, like the user store does, so each spelling of one address counts once.
 * Every key is counted whether or not the account exists. An email too long to be an account's has no
 * account keys and is counted by address only.
 */
export function signInLimitKeys(email: string, address: string): SignInLimitKeys {
  const byAddress = `address:${address}`;
  if (email.length > MAX_EMAIL_LENGTH) return { account: undefined, accountAddress: undefined, address: byAddress };
  const normalized = email.normalize('NFC').toLowerCase();
  return { account: `account:${normalized}`, accountAddress: `account-address:${normalized}|${address}`, address: byAddress };
}

/**
 * Returns the seconds this attempt must wait before its password is checked, or 0. An address waits while it
 * is over the limit for all accounts together, or for this account. It never waits only because the account
 * is over its limit, so a guesser elsewhere cannot lock the account's owner out.
 */
async function signInWait(limits: AbuseLimits, keys: SignInLimitKeys): Promise<number> {
  const wait = await limits.blockedFor('signInFailure', keysOfThisAddress(keys));
  if (wait > 0 || keys.account === undefined || keys.accountAddress === undefined) return wait;
  // An account over its limit stays open to addresses that never failed for it, so the owner can still sign
  // in, while every address that has guessed at it waits: a guesser spread over many addresses gets one try each.
  const accountWait = await limits.blockedFor('signInFailure', [keys.account]);
  if (accountWait > 0 && (await limits.failures('signInFailure', keys.accountAddress)) > 0) return accountWait;
  return 0;
}

/** Returns the keys that count this address's failures: for every account, and for this account if any. */
function keysOfThisAddress(keys: SignInLimitKeys): string[] {
  return keys.accountAddress === undefined ? [keys.address] : [keys.accountAddress, keys.address];
}

async function signIn(context: Context, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const fields = readForm(request.body);
  requireCsrf(context, request, fields);
  const target = await signInTarget(context, fields);
  const clientId = target.kind === 'authorization' ? target.pending.client.id : undefined;

  // NFC, so that an address typed with combining accents finds the account and counts under the same keys.
  const email = (fields.email ?? '').trim().normalize('NFC');
  const password = fields.password;
  if (email === '' || password === undefined) {
    return sendLogin(context, request, reply, target, { email, error: 'Enter your email and password.' });
  }

  const keys = signInLimitKeys(email, request.ip);
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
  const wait = await signInWait(context.limits, keys);
  if (wait > 0) return rejectLimited(wait);

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
    // The account's count alone rejects nobody (see signInWait), so only the other two keys decide whether
    // this failure went over the limit.
    if (keys.account !== undefined) await context.limits.fail('signInFailure', [keys.account]);
    const overLimit = await context.limits.fail('signInFailure', keysOfThisAddress(keys));
    if (overLimit > 0) return rejectLimited(overLimit);
    return sendLogin(context, request, reply, target, { email, error: SIGN_IN_FAILED });
  }

  // The address's count is kept, because clearing it would let one guesser reset it with an account of their own.
  const cleared = [keys.account, keys.accountAddress].filter((key): key is string => key !== undefined);
  await context.limits.reset('signInFailure', cleared);
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
