import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.js';
import { PREFIX, generateSecret } from '../crypto/secrets.js';
import { OAuthError } from '../oauth/errors.js';
import { AuthorizationQuery, checkParameters, verifyTarget, type CheckedParameters } from '../pages/authorization-request.js';
import { REQUEST_LIFETIME_MS, sendNextPage } from '../pages/pending-request.js';
import { withQuery } from '../pages/redirect-uri.js';

/**
 * GET /api/zapier/authorize (RFC 6749 §4.1.1). Errors about the client or redirect_uri are pages; later errors
 * redirect to the client. A valid request is stored server-side under a random id, and the browser continues
 * with the sign-in form or, when already signed in, the consent page.
 */
export function authorizeRoute(app: FastifyInstance, context: Context): void {
  app.get('/api/zapier/authorize', async (request, reply) => {
    const query = new AuthorizationQuery(request.url);
    const target = await verifyTarget(context, query);
    // RFC 6749 §4.1.2.1: state goes back unchanged whenever the request carried it. A repeated state has no
    // single value to return, so it is left out.
    const state = query.isRepeated('state') ? null : query.get('state') ?? null;

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
      id: generateSecret(PREFIX.request),
      clientId: target.client.id,
      redirectUri: target.redirectUri,
      redirectUriGiven: target.redirectUriGiven,
      state,
      scope: checked.scope,
      codeChallenge: checked.codeChallenge,
      createdAt: now,
      expiresAt: now + REQUEST_LIFETIME_MS,
    };
    await context.store.requests.create(pending);
    return sendNextPage(context, request, reply, { request: pending, client: target.client });
  });
}
