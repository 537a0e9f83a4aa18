import { randomUUID } from 'node:crypto';
import { STATUS_CODES, maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';
import type { Context } from './context.js';
import { meRoute } from './endpoints/me.js';
import { tokenRoute } from './endpoints/token.js';
import { toOAuthError } from './http/error-mapping.js';
import { LimitExceeded } from './security/abuse-limits.js';
import { createLoggers, logAccess, requestLoggerFactory, type Loggers } from './http/logging.js';
import { AUTHORIZE_PATH } from './endpoints/authorize.js';
import { sendPage } from './pages/html.js';
import { ACTION, messagePage } from './pages/views.js';
import { pagesPlugin } from './pages/plugin.js';
import { openapiRoute } from './endpoints/openapi.js';
import { introspectionRoute } from './endpoints/introspection.js';
import { metadataRoute } from './endpoints/metadata.js';
import { revocationRoute } from './endpoints/revocation.js';
import { operationsRoutes } from './endpoints/operations.js';

/** Milliseconds a request may take to arrive in full. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface AppOptions {
  /** Log destination; defaults to stdout. Tests pass a stream to capture lines. */
  readonly logStream?: NodeJS.WritableStream;
}

/** Sends an OAuthError as RFC 6749 §5.2 JSON, logging 4xx at info and 5xx with the cause at error. */
export function sendOAuthError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const oauthError = toOAuthError(error);
  if (oauthError.status === 429 && oauthError.cause instanceof LimitExceeded) {
    request.server.context.metrics.limitRejections.inc({ limit: oauthError.cause.kind });
  }
  if (oauthError.status >= 500) {
    request.log.error({ err: oauthError.cause ?? oauthError, code: oauthError.code }, 'request failed');
  } else {
    request.logDetails = { ...request.logDetails, error: oauthError.code, description: oauthError.description };
  }
  reply.code(oauthError.status).headers(oauthError.headers).header('cache-control', 'no-store');
  return reply.type('application/json; charset=utf-8').send(oauthError.toJSON());
}

/** JSON API routes with their own RFC 6749-shaped error handler. */
async function apiPlugin(app: FastifyInstance, context: Context): Promise<void> {
  await app.register(formbody);
  // Without this, Fastify's own text/plain parser would hand the endpoints a string instead of rejecting it.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((error: FastifyError, request, reply) => sendOAuthError(error, request, reply));
  tokenRoute(app, context);
  revocationRoute(app, context);
  introspectionRoute(app, context);
  meRoute(app, context);
  metadataRoute(app, context);
  openapiRoute(app, context);
}

/** Builds the Fastify application without listening, so tests can use inject(). */
export async function buildApp(context: Context, options: AppOptions = {}): Promise<FastifyInstance> {
  // Fastify infers a logger type from these options that no plugin signature expects; the base type is enough.
  const loggers = createLoggers(context.config.logLevel, options.logStream);
  const app: FastifyInstance = Fastify({
    loggerInstance: loggers.app,
    childLoggerFactory: requestLoggerFactory,
    genReqId: () => randomUUID(),
    trustProxy: typeof context.config.trustProxy === 'number'
      ? ((hops: number) => (_address: string, hop: number) => hop < hops)(context.config.trustProxy)
      : context.config.trustProxy,
    bodyLimit: 64 * 1024,
    // Reject __proto__ and constructor.prototype keys in JSON bodies instead of silently stripping them.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // A body that trickles in must not hold a connection for Node's default five minutes.
    requestTimeout: REQUEST_TIMEOUT_MS,
    // One line per request, written when the response is sent (see logRequests below).
    logController: new LogController({ disableRequestLogging: true }),
    clientErrorHandler: sendClientError,
    // A path that does not decode (such as %ff) reaches no route and no hook, so this handler gives it the
    // routes' error format, counts it and writes its access line.
    frameworkErrors: (_error, rawRequest, rawReply) => {
      const request = rawRequest as unknown as FastifyRequest;
      const reply = rawReply as unknown as FastifyReply;
      reply.raw.once('finish', () => observeResponse(context, loggers, request, reply));
      const path = request.url.split('?')[0] ?? '';
      if (!isApiPath(path)) {
        return sendPage(reply, 400, messagePage('Bad address', 'The address is not valid: check it for a stray % sign.'));
      }
      return reply.code(400).header('cache-control', 'no-store')
        .send({ error: 'invalid_request', error_description: 'The request path is not valid percent-encoded UTF-8.' });
    },
  }) as unknown as FastifyInstance;
  app.decorate('context', context);
  app.decorate('flushLogs', loggers.flush);
  app.decorateRequest('logDetails', null);
  observeResponses(app, context, loggers);
  context.audit.useLogger(app.log);
  app.addHook('onClose', async () => context.audit.flush());

  await app.register(apiPlugin, context);
  operationsRoutes(app, context);
  await app.register(pagesPlugin, context);

  if (context.config.issuer.startsWith('https://')) {
    // Browsers that reached the server over HTTPS once keep using it (RFC 6797).
    app.addHook('onSend', async (_request, reply) => {
      reply.header('strict-transport-security', 'max-age=31536000');
    });
  }

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    // The authorize endpoint has a HEAD route only to refuse HEAD (see authorizeRoute).
    const methods = (['GET', 'HEAD', 'POST'] as const)
      .filter((method) => app.hasRoute({ method, url: path }) && !(method === 'HEAD' && path === AUTHORIZE_PATH));
    if (methods.length > 0) {
      reply.header('allow', methods.join(', '));
      if (!isApiPath(path)) {
        const explanation = `This address takes ${methods.join(' or ')} only. Follow the link or form that led here again.`;
        return sendPage(reply, 405, messagePage('Method not allowed', explanation));
      }
      return reply.code(405).header('cache-control', 'no-store')
        .send({ error: 'method_not_allowed', error_description: `Use ${methods.join(' or ')} for ${path}.` });
    }
    if (isApiPath(path)) {
      return reply.code(404).header('cache-control', 'no-store').send({ error: 'not_found', error_description: `No endpoint at ${request.method} ${path}.` });
    }
    return sendPage(reply, 404, messagePage('Page not found', 'There is nothing at this address.'));
  });
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => sendOAuthError(error, request, reply));
  return app;
}

/**
 * Sends an RFC 6749-style JSON error for a request that Node's HTTP parser rejected before any route saw it,
 * then closes the connection. The path is unknown at that point, so browser paths get JSON too. As Node's own
 * handler does, it writes nothing on a connection that already carried a response.
 */
function sendClientError(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  // After a reset the socket is gone, so there is nothing to send.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let description = 'The request could not be parsed as HTTP/1.1.';
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    description = `The request headers are larger than ${maxHeaderSize / 1024} KiB.`;
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    description = `The request did not arrive in full within ${REQUEST_TIMEOUT_MS / 1000} s.`;
  }
  this.log.debug({ err: error, status }, 'request rejected by the HTTP parser');
  if (socket.writable && socket.bytesWritten === 0) {
    const body = JSON.stringify({ error: 'invalid_request', error_description: description });
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/** Returns whether errors on a path are JSON. The rest get HTML, the sign-in and consent pages under /api/zapier too. */
function isApiPath(path: string): boolean {
  if (path.startsWith(AUTHORIZE_PATH) || path.startsWith(ACTION.logout)) return false;
  return path.startsWith('/api/') || path.startsWith('/.well-known/') || path === '/openapi.json';
}

/**
 * When a response is sent: counts it in the metrics and logs its one line, with what the handler added to
 * request.logDetails. One hook without a promise does both, because it runs on every request.
 */
function observeResponses(app: FastifyInstance, context: Context, loggers: Loggers): void {
  app.addHook('onResponse', (request, reply, done) => {
    observeResponse(context, loggers, request, reply);
    done();
  });
}

/** Counts a sent response in the metrics and writes its access line. */
function observeResponse(context: Context, loggers: Loggers, request: FastifyRequest, reply: FastifyReply): void {
  const elapsed = reply.elapsedTime;
  context.metrics.observeResponse(request.routeOptions.url, request.method, reply.statusCode, elapsed / 1000);
  logAccess(loggers.access, {
    reqId: request.id,
    method: request.method,
    url: request.url,
    remoteAddress: request.ip,
    statusCode: reply.statusCode,
    responseTime: elapsed,
    details: request.logDetails,
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    context: Context;
    /** Writes out log lines still buffered; the server calls it before the process exits. */
    flushLogs: () => void;
  }
  interface FastifyRequest {
    /** Fields a handler adds to the request's one log line, such as the client id or the OAuth error. */
    logDetails: Record<string, unknown> | null;
  }
}
