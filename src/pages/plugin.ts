import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Context } from '../context.js';
import { authorizeRoute } from '../endpoints/authorize.js';
import { connectionsRoutes } from './connections.js';
import { consentRoutes } from './consent.js';
import { sendErrorPage } from './errors.js';
import { STYLESHEET_PATH } from './html.js';
import { signInRoutes } from './sign-in.js';
import { STYLESHEET, STYLESHEET_ETAG } from './stylesheet.js';

/**
 * HTML pages: the authorize endpoint, sign-in, consent, sign-out and connected apps, plus their stylesheet.
 * The plugin is encapsulated, so its cookie support, form parser and HTML error handler stay out of the JSON API.
 */
export async function pagesPlugin(app: FastifyInstance, context: Context): Promise<void> {
  await app.register(cookie);
  // The forms post application/x-www-form-urlencoded. Any other body, JSON included, gets a 400 page.
  app.removeAllContentTypeParsers();
  await app.register(formbody);
  app.setErrorHandler((error: FastifyError, request, reply) => sendErrorPage(error, request, reply));

  authorizeRoute(app, context);
  signInRoutes(app, context);
  consentRoutes(app, context);
  connectionsRoutes(app, context);

  app.get(STYLESHEET_PATH, async (request, reply) => {
    reply
      .header('cache-control', 'public, max-age=3600')
      .header('etag', STYLESHEET_ETAG)
      .header('x-content-type-options', 'nosniff');
    if (request.headers['if-none-match'] === STYLESHEET_ETAG) return reply.code(304).send();
    return reply.type('text/css; charset=utf-8').send(STYLESHEET);
  });
}
