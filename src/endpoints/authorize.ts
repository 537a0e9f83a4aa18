import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.js';
import { PREFIX, generateSecret } from '../crypto/secrets.js';
import { OAuthError } from '../oauth/errors.js';
import { parseScope, scopesOutside } from '../oauth/scopes.js';
import { AuthorizationQuery, checkParameters, verifyTarget, type CheckedParameters } from '../pages/authorization-request.js';
import { grantAuthorization } from '../pages/authorization-response.js';
import { findSignedIn } from '../pages/browser-session.js';
import { REQUEST_LIFETIME_MS, sendNextPage } from '../pages/pending-request.js';
import { withQuery } from '../pages/redirect-uri.js';

/** Returns whether the user's remembered consent to the client covers every scope of `scope`. */
async function consentCovers(context: Context, userId: string, clientId: string, scope: string): Promise<boolean> {
  const remembered = await context.store.consents.find(userId, clientId);
  return remembered.length > 0 && scopesOutside(parseScope(scope), remembered).length === 0;
}

export const AUTHORIZE_PATH = '/api/zapier/authorize';

/**
 * GET /api/zapier/authorize (RFC 6749 §4.1.1). Errors about the client or redirect_uri are pages; later errors
 * redirect to the client. A browser that is already signed in, whose user has consented to every requested
 * scope before, is redirected with a code at once. Any other valid request is stored server-side under a
 * random id, and the browser continues with the sign-in form or, when already signed in, the consent page.
 *
 * HEAD gets 405 instead of running the GET handler, because a GET stores a pending request or even issues a
 * code, which a link checker's HEAD must not do.
 */
export function authorizeRoute(app: FastifyInstance, context: Context): void {
  app.head(AUTHORIZE_PATH, async (_request, reply) => {
    return reply.code(405).header('allow', 'GET').header('cache-control', 'no-store').send();
  });

  app.get(AUTHORIZE_PATH, { exposeHeadRoute: false }, async (request, reply) => {
    const query = new AuthorizationQuery(request.url);
    const target = await verifyTarget(context, query);
    // RFC 6749 §4.1.2.1: state goes back unchanged whenever the request carried it. A repeated, oversized or
    // NUL-bearing state is rejected by checkParameters and left out of the error redirect.
    const state = query.returnableState();

    let checked: CheckedParameters;
    try {
      checked = checkParameters(query, target.client);
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      request.log.info({ client_id: target.client.id, error: error.code, description: error.description }, 'authorization request rejected');
      const location = withQuery(target.redirectUri, { error: error.code, error_description: error.description, state });
      return reply.code(302).header('location', location).header('cache-control', 'no-store').send();
    }

    const now = context.now();
    const pending = {
      request: {
        id: generateSecret(PREFIX.request),
        clientId: target.client.id,
        redirectUri: target.redirectUri,
        redirectUriGiven: target.redirectUriGiven,
        state,
        scope: checked.scope,
        codeChallenge: checked.codeChallenge,
        createdAt: now,
        expiresAt: now + REQUEST_LIFETIME_MS,
      },
      client: target.client,
    };

    // This route never signs anyone in, so a session found here existed before the request. A person who signs
    // in during the request always sees the consent page, and so approves as the account they just chose.
    const signedIn = await findSignedIn(context, request);
    if (signedIn && (await consentCovers(context, signedIn.user.id, target.client.id, checked.scope))) {
      return grantAuthorization(context, request, reply, pending, signedIn.user, 'consent remembered');
    }

    await context.store.requests.create(pending.request);
    return sendNextPage(context, request, reply, pending, signedIn ?? null);
  });
}
