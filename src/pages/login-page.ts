import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { ACCOUNT_FORMS, csrfToken } from './browser-session.js';
import { sendPage } from './html.js';
import type { Pending } from './pending-request.js';
import { continueUrl, loginPage } from './views.js';

/** Destination of a sign-in: a pending authorization request, or a page of the account such as connected apps. */
export type SignInTarget =
  | { readonly kind: 'authorization'; readonly pending: Pending }
  | { readonly kind: 'account'; readonly returnTo: string };

/** Input and error shown again after a rejected sign-in attempt, with the status and headers of the response. */
export interface LoginRetry {
  readonly email: string;
  readonly error: string;
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Returns the URL the browser goes to after signing in. */
export function afterSignInUrl(target: SignInTarget): string {
  return target.kind === 'authorization' ? continueUrl(target.pending.request.id) : target.returnTo;
}

/** Sends the sign-in page for a target, by default with status 200. */
export function sendLogin(
  context: Context,
  request: FastifyRequest,
  reply: FastifyReply,
  target: SignInTarget,
  retry?: LoginRetry,
): FastifyReply {
  const entered = retry === undefined ? {} : { email: retry.email, error: retry.error };
  if (target.kind === 'authorization') {
    const requestId = target.pending.request.id;
    const form = { requestId, csrfToken: csrfToken(context, request, reply, requestId) };
    const page = loginPage({ ...form, destination: `continue to ${target.pending.client.name}`, ...entered });
    return sendPage(reply, retry?.status ?? 200, page, { headers: retry?.headers ?? {} });
  }
  const form = { returnTo: target.returnTo, csrfToken: csrfToken(context, request, reply, ACCOUNT_FORMS) };
  const page = loginPage({ ...form, destination: 'your Kiwiform account', ...entered });
  return sendPage(reply, retry?.status ?? 200, page, { headers: retry?.headers ?? {} });
}
