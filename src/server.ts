import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pino from 'pino';
import { buildApp } from './app.js';
import { AuditLog } from './audit/audit-log.js';
import { AbuseLimits } from './security/abuse-limits.js';
import { Metrics } from './http/metrics.js';
import { GrantUseRecorder } from './grants/grant-use.js';
import { ConfigError, SETTINGS, type Config } from './config/config.js';
import type { Clock, Context } from './context.js';
import { KeyedHasher } from './crypto/secrets.js';
import { ClientAuthenticator } from './oauth/client-auth.js';
import { openStore } from './storage/open-store.js';
import type { Store } from './storage/types.js';

/** Rows a purge deletes per statement, and how long retired refresh tokens are kept to detect their reuse. */
const PURGE_BATCH_SIZE = 1000;
const RETIRED_REFRESH_TOKEN_RETENTION_MS = 30 * 86_400_000;

/** Builds the shared context: opens and migrates the database, loads the hash key, connects to Redis if set. */
export async function createContext(config: Config, store?: Store, now: Clock = Date.now): Promise<Context> {
  const opened = store ?? (await openStore(config));
  const key = config.secret !== undefined ? Buffer.from(config.secret, 'utf8') : await opened.storedHashKey();
  // Without an offline queue a Redis outage fails fast, and the limiter falls back to process memory.
  const redis = config.redisUrl === undefined ? undefined : new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  redis?.on('error', () => {
    // ioredis reconnects by itself; the limiter's fallback covers the gap, so the event needs no handler.
  });
  const limits = new AbuseLimits(redis);
  const hasher = new KeyedHasher(key.length >= 32 ? key : Buffer.concat([key, Buffer.alloc(32 - key.length)]));
  const fingerprint = hasher.hash('key-fingerprint', 'kiwiform');
  if ((await opened.claimKeyFingerprint(fingerprint)) !== fingerprint) {
    await opened.close();
    throw new ConfigError(
      config.secret === undefined ? SETTINGS.secret.env : `${SETTINGS.secret.env} (or ${SETTINGS.secret.flag})`,
      config.secret === undefined
        ? 'this database was set up with KIWIFORM_SECRET, and without it no stored token, code or client secret matches; set the same value again'
        : 'differs from the key this database was set up with, so no stored token, code or client secret would match; use the original value',
    );
  }
  return {
    config,
    store: opened,
    hasher,
    clients: new ClientAuthenticator(opened.clients, hasher, limits, () => now()),
    now,
    audit: new AuditLog(opened.audit, () => now()),
    limits,
    metrics: new Metrics(opened),
    uses: new GrantUseRecorder(opened, () => now()),
    lifecycle: { draining: false },
  };
}

/** Closes what createContext opened: the audit buffer, the Redis connection and the database. */
export async function closeContext(context: Context): Promise<void> {
  await context.audit.flush();
  await context.limits.close();
  await context.store.close();
}

/** Deletes expired rows in batches now and then; each run is small and logged, a failure only logged. */
function schedulePurge(app: FastifyInstance, context: Context): void {
  const seconds = context.config.purgeInterval;
  if (seconds === 0) return;
  // Jitter keeps several workers or instances from purging in step.
  const delay = (seconds * (0.75 + Math.random() * 0.5)) * 1000;
  const timer = setTimeout(async () => {
    try {
      const now = context.now();
      const deleted = await context.store.purge(now, now - RETIRED_REFRESH_TOKEN_RETENTION_MS, PURGE_BATCH_SIZE);
      app.log.info({ deleted }, 'purged expired rows');
    } catch (error) {
      app.log.error({ err: error }, 'purge failed; it runs again at the next interval');
    }
    if (!context.lifecycle.draining) schedulePurge(app, context);
  }, delay);
  timer.unref();
}

/** Starts the HTTP server in this process and stops it cleanly on SIGTERM or SIGINT. */
async function runWorker(config: Config): Promise<FastifyInstance> {
  const context = await createContext(config);
  const app = await buildApp(context);
  context.store.startMaintenance?.((message) => app.log.warn(`database maintenance failed: ${message}`));
  let stopping = false;
  let endDelay: (() => void) | undefined;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      // Ctrl+C during the delay cuts it short. A repeated SIGTERM changes nothing.
      if (signal === 'SIGINT') endDelay?.();
      return;
    }
    stopping = true;
    context.lifecycle.draining = true;
    // Ctrl+C stops at once. SIGTERM, as a process manager sends it, waits for the balancer to see /readyz fail.
    const delay = signal === 'SIGTERM' ? config.shutdownDelay : 0;
    if (delay > 0) {
      app.log.info({ signal, seconds: delay }, `unready: serving on for ${delay} s before closing`);
      await new Promise<void>((done) => {
        const timer = setTimeout(done, delay * 1000);
        endDelay = () => {
          clearTimeout(timer);
          done();
        };
      });
    }
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    // A request that never ends must not keep the process alive forever.
    setTimeout(() => {
      app.log.error('shutdown did not finish within 10 s; exiting');
      app.flushLogs();
      process.exit(1);
    }, 10_000).unref();
    await app.close();
    await closeContext(context);
    app.log.info('stopped');
    app.flushLogs();
    process.exit(0);
  };
  // A signal sent to the whole process group reaches a worker twice (from the shell and from the primary),
  // so the handlers stay: a second signal must not end the process before the first one's shutdown is done.
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    await closeContext(context);
    throw error;
  }
  app.log.info({ address, issuer: config.issuer, database: context.store.description }, `Kiwiform API listening on ${address}, database ${context.store.description}`);
  if (config.production && config.issuer.startsWith('http://')) {
    app.log.warn({ issuer: config.issuer }, 'KIWIFORM_ISSUER is plain HTTP in production: cookies are sent without Secure and tokens travel in clear');
  }
  if (config.workers > 1 && config.redisUrl === undefined) {
    app.log.warn('abuse limits count failures per process; set KIWIFORM_REDIS_URL so that all workers share them');
  }
  if (!cluster.isWorker || cluster.worker?.id === 1) {
    if ((await context.store.clients.count()) === 0) {
      app.log.info('No OAuth client exists yet. Create a user with `printf \'%s\\n\' "$PASSWORD" | npx kiwiform users create --email you@example.com --password-stdin` (the password is read from stdin) and a client with `npx kiwiform clients create --name Zapier --redirect-uri http://localhost:8080/callback`, then follow the walkthrough in the README, which uses that redirect URI. For Zapier itself, use the redirect URI its OAuth settings show.');
    }
  }
  schedulePurge(app, context);
  return app;
}

/**
 * Runs the server: in this process, or with `workers` above 1 as a primary that forks that many worker
 * processes sharing the port (Node's cluster module), restarts any that die, and passes SIGTERM on.
 */
export async function runServer(config: Config): Promise<FastifyInstance | undefined> {
  if (config.workers <= 1 || cluster.isWorker) return runWorker(config);

  const log = pino({ level: config.logLevel });
  // The primary opens the database once first, so migrations run before any worker starts.
  const store = await openStore(config);
  await store.close();
  let stopping = false;
  let quickExits = 0;
  const started = new Map<number, number>();
  const fork = () => {
    const worker = cluster.fork();
    started.set(worker.id, Date.now());
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    const lived = Date.now() - (started.get(worker.id) ?? 0);
    quickExits = lived < 5000 ? quickExits + 1 : 0;
    // Workers that die right after starting, such as on a port in use, will not do better when restarted.
    if (quickExits >= 3) {
      log.error({ worker: worker.process.pid, code, signal }, 'workers keep exiting right after start; stopping');
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
      process.exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
      return;
    }
    log.error({ worker: worker.process.pid, code, signal }, 'worker exited; starting another');
    setTimeout(fork, lived < 5000 ? 1000 : 0);
  });
  for (let i = 0; i < config.workers; i++) fork();
  log.info({ workers: config.workers }, `started ${config.workers} workers`);
  // The handlers stay for every signal: a second one must not kill the primary, and with it the workers,
  // during their shutdown delay. Each signal is passed on, so Ctrl+C cuts the workers' delay short.
  const stop = (signal: NodeJS.Signals) => {
    if (!stopping) log.info({ signal }, 'stopping workers');
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return undefined;
}
