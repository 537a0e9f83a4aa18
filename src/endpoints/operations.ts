import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.js';

/** How long /readyz waits for the database before it reports the instance unready. */
const READINESS_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Registers health endpoints for load balancers and orchestrators: /healthz reports that the process runs,
 * /readyz that it can serve traffic (database reachable, not shutting down), and /metrics serves Prometheus metrics.
 */
export function operationsRoutes(app: FastifyInstance, context: Context): void {
  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    if (context.lifecycle.draining) return reply.code(503).send({ status: 'draining' });
    try {
      await withTimeout(context.store.ping(), READINESS_TIMEOUT_MS);
      return reply.send({ status: 'ready', database: 'ok' });
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed: the database did not respond');
      return reply.code(503).header('retry-after', '5').send({ status: 'unavailable', database: 'unreachable' });
    }
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await context.metrics.registry.metrics();
    return reply.type(context.metrics.registry.contentType).header('cache-control', 'no-store').send(body);
  });
}
