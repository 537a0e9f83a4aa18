import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { PREFIX, constantTimeEqual, generateSecret } from '../crypto/secrets.js';
import { PURPOSE } from '../grants/issue.js';
import type { User } from '../storage/types.js';
import { PageError } from './errors.js';
import type { FormFields } from './forms.js';

/** Purpose string of the keyed hash that turns the CSRF cookie into a form token. */
const CSRF_PURPOSE = 'csrf';

const SESSION_SHAPE = new RegExp(`^${PREFIX.session}[A-Za-z0-9_-]{43}$`);
const CSRF_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Cookie names and attributes, which depend only on whether the issuer is served over HTTPS. */
export interface CookiePolicy {
  readonly sessionName: string;
  readonly csrfName: string;
  readonly secure: boolean;
}

/**
 * Derives the cookie policy from the issuer. Over HTTPS the cookies are Secure and carry the __Host- prefix,
 * which makes browsers refuse them from a sibling subdomain or over plain HTTP.
 */
export function cookiePolicy(context: Context): CookiePolicy {
  const secure = context.config.issuer.startsWith('https://');
  const prefix = secure ? '__Host-' : '';
  return { sessionName: `${prefix}kiwiform_session`, csrfName: `${prefix}kiwiform_csrf`, secure };
}

function cookieOptions(policy: CookiePolicy, maxAgeSeconds?: number): CookieSerializeOptions {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: policy.secure,
    ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }),
  };
}

/** The signed-in user of a browser session, with the keyed hash under which the session is stored. */
export interface SignedIn {
  readonly user: User;
  readonly sessionHash: string;
}

/** Looks up the session that the request's cookie names. Returns undefined when signed out or expired. */
export async function findSignedIn(context: Context, request: FastifyRequest): Promise<SignedIn | undefined> {
  const sessionId = request.cookies[cookiePolicy(context).sessionName];
  if (sessionId === undefined || !SESSION_SHAPE.test(sessionId)) return undefined;
  const sessionHash = context.hasher.hash(PURPOSE.session, sessionId);
  const session = await context.store.sessions.find(sessionHash, context.now());
  if (!session) return undefined;
  const user = await context.store.users.findById(session.userId);
  return user ? { user, sessionHash } : undefined;
}

/**
 * Starts a session for a user under a new random id, so that an id planted before sign-in never becomes a
 * signed-in one. Any session the browser had is deleted, and the CSRF cookie is replaced as well.
 */
export async function startSession(context: Context, request: FastifyRequest, reply: FastifyReply, user: User): Promise<void> {
  const policy = cookiePolicy(context);
  const previous = request.cookies[policy.sessionName];
  if (previous !== undefined && SESSION_SHAPE.test(previous)) {
    await context.store.sessions.delete(context.hasher.hash(PURPOSE.session, previous));
  }
  const sessionId = generateSecret(PREFIX.session);
  const now = context.now();
  await context.store.sessions.create({
    idHash: context.hasher.hash(PURPOSE.session, sessionId),
    userId: user.id,
    createdAt: now,
    expiresAt: now + context.config.sessionTtl * 1000,
  });
  reply.setCookie(policy.sessionName, sessionId, cookieOptions(policy, context.config.sessionTtl));
  reply.setCookie(policy.csrfName, generateSecret(''), cookieOptions(policy));
}

/** Deletes the browser's session, if any, and clears its cookie. */
export async function endSession(context: Context, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const policy = cookiePolicy(context);
  const sessionId = request.cookies[policy.sessionName];
  if (sessionId !== undefined && SESSION_SHAPE.test(sessionId)) {
    await context.store.sessions.delete(context.hasher.hash(PURPOSE.session, sessionId));
  }
  reply.clearCookie(policy.sessionName, cookieOptions(policy));
}

/**
 * Returns the CSRF token for forms about one authorization request (or, with ACCOUNT_FORMS, for the account
 * pages), setting a fresh CSRF cookie first when the browser has none. The token is a keyed hash of the cookie
 * and the request id, so it is worthless without the cookie, and another site can neither read the cookie nor
 * compute the token.
 */
export function csrfToken(context: Context, request: FastifyRequest, reply: FastifyReply, requestId: string): string {
  const policy = cookiePolicy(context);
  let secret = request.cookies[policy.csrfName];
  if (secret === undefined || !CSRF_SHAPE.test(secret)) {
    secret = generateSecret('');
    reply.setCookie(policy.csrfName, secret, cookieOptions(policy));
    // A later call in the same request must derive its token from the new cookie, not the rejected one.
    request.cookies[policy.csrfName] = secret;
  }
  return context.hasher.hash(CSRF_PURPOSE, `${secret}:${requestId}`);
}

/**
 * Returns a keyed hash of `value` under `purpose`, bound to the browser's CSRF cookie, or undefined when the
 * browser has no valid CSRF cookie. Neither another browser nor another site can compute it. The cookie is
 * replaced at every sign-in, so the hash stops matching after one.
 */
export function browserBoundHash(context: Context, request: FastifyRequest, purpose: string, value: string): string | undefined {
  const secret = request.cookies[cookiePolicy(context).csrfName];
  if (secret === undefined || !CSRF_SHAPE.test(secret)) return undefined;
  return context.hasher.hash(purpose, `${secret}:${value}`);
}

/** Checks a submitted CSRF token against the browser's CSRF cookie, in constant time. */
export function csrfTokenMatches(context: Context, request: FastifyRequest, requestId: string, token: string | undefined): boolean {
  const secret = request.cookies[cookiePolicy(context).csrfName];
  if (secret === undefined || !CSRF_SHAPE.test(secret) || token === undefined) return false;
  return constantTimeEqual(context.hasher.hash(CSRF_PURPOSE, `${secret}:${requestId}`), token);
}

/** Binding of the CSRF tokens of forms that belong to no authorization request: the account pages. */
export const ACCOUNT_FORMS = 'account';

/**
 * Rejects a form whose CSRF token does not belong to this browser with a 403 page. The token must be bound to
 * the form's authorization request, or to the account pages when the form carries no request.
 */
export function requireCsrf(context: Context, request: FastifyRequest, fields: FormFields): void {
  if (!csrfTokenMatches(context, request, fields.request ?? ACCOUNT_FORMS, fields.csrf)) {
    request.log.info({ form: request.routeOptions.url }, 'form rejected: CSRF token missing or invalid');
    throw new PageError(
      403,
      'This form has expired',
      'The form could not be verified: it may have been open too long, or it was sent from another site. Make sure your browser accepts cookies from this site, go back, reload the page and try again.',
    );
  }
}
