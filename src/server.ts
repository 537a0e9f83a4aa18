import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { AuditLog } from './audit/audit-log.js';
import { AbuseLimits } from './security/abuse-limits.js';
import { Metrics } from './http/metrics.js';
import type { Config } from './config/config.js';
import type { Clock, Context } from './context.js';
import { KeyedHasher } from './crypto/secrets.js';
import { ClientAuthenticator } from './oauth/client-auth.js';
import { openStore } from './storage/open-store.js';
import type { Store } from './storage/types.js';

/** Builds the shared context: opens and migrates the database, then loads the hash key. */
export async function createContext(config: Config, store?: Store, now: Clock = Date.now): Promise<Context> {
  const opened = store ?? (await openStore(config));
  const key = config.secret !== undefined ? Buffer.from(config.secret, 'utf8') : await opened.storedHashKey();
  const limits = new AbuseLimits();
  const hasher = new KeyedHasher(key.length >= 32 ? key : Buffer.concat([key, Buffer.alloc(32 - key.length)]));
  return {
    config,
    store: opened,
    hasher,
    clients: new ClientAuthenticator(opened.clients, hasher, limits, () => now()),
    now,
    audit: new AuditLog(opened.audit, () => now()),
    limits,
    metrics: new Metrics(opened),
    lifecycle: { draining: false },
  };
}

/** Starts the HTTP server and stops it cleanly on SIGTERM or SIGINT. */
export async function runServer(config: Config): Promise<FastifyInstance> {
  const context = await createContext(config);
  const app = await buildApp(context);
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    context.lifecycle.draining = true;
    // A request that never ends must not keep the process alive forever.
    setTimeout(() => {
      app.log.error('shutdown did not finish within 10 s; exiting');
      process.exit(1);
    }, 10_000).unref();
    await app.close();
    await context.audit.flush();
    await context.store.close();
    app.log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  const address = await app.listen({ host: config.host, port: config.port });
  app.log.info({ address, issuer: config.issuer, database: context.store.description }, `Kiwiform API listening on ${address}, database ${context.store.description}`);
  if (config.production && config.issuer.startsWith('http://')) {
    app.log.warn({ issuer: config.issuer }, 'KIWIFORM_ISSUER is plain HTTP in production: cookies are sent without Secure and tokens travel in clear');
  }
  if ((await context.store.clients.count()) === 0) {
    app.log.info('No OAuth client exists yet. Create a user with "npx kiwiform users create --email you@example.com --password-stdin" and a client with "npx kiwiform clients create --name Zapier --redirect-uri https://zapier.com/dashboard/auth/oauth/return/App123CLIAPI/", then open the authorize URL shown in the README.');
  }
  return app;
}
