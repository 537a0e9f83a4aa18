import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import type { Context } from '../../src/context.js';
import { PREFIX, generateId, generateOrderedId, generateOrderedSecret, generateSecret, hashPassword } from '../../src/crypto/secrets.js';
import { PURPOSE, credentialKey } from '../../src/grants/issue.js';
import { CLIENT_SECRET_PURPOSE } from '../../src/oauth/client-auth.js';
import { ALL_SCOPES } from '../../src/oauth/scopes.js';
import { closeContext, createContext } from '../../src/server.js';
import type { Client } from '../../src/storage/types.js';
import { createTestDatabase, type DatabaseKind } from './databases.js';

/** A fake clock that tests move forward by hand. */
export class FakeClock {
  constructor(public time = Date.now()) {}
  readonly now = (): number => this.time;
  advance(seconds: number): void {
    this.time += seconds * 1000;
  }
}

export interface Harness {
  readonly app: FastifyInstance;
  readonly context: Context;
  readonly clock: FakeClock;
  readonly directory: string;
  /** Every log line the app wrote. */
  readonly logs: () => string;
  close(): Promise<void>;
}

/**
 * Builds the app on a fresh database with a fake clock and captured logs. The database is a SQLite file in a
 * temporary folder, or a new PostgreSQL database when `database` is 'postgres'; close() deletes either. A
 * KIWIFORM_DATABASE_URL in `env` is used as given and left in place, so its creator cleans it up.
 */
export async function harness(env: Record<string, string> = {}, database: DatabaseKind = 'sqlite'): Promise<Harness> {
  const owned = env.KIWIFORM_DATABASE_URL === undefined && database === 'postgres' ? await createTestDatabase('postgres') : undefined;
  const directory = mkdtempSync(join(tmpdir(), 'kiwiform-test-'));
  const cleanup = async (): Promise<void> => {
    try {
      await owned?.cleanup();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  };

  let context: Context;
  const clock = new FakeClock();
  try {
    const databaseUrl = owned?.url ?? `sqlite:${join(directory, 'kiwiform.db')}`;
    const config = loadConfig({ KIWIFORM_DATABASE_URL: databaseUrl, KIWIFORM_LOG_LEVEL: 'info', ...env });
    context = await createContext(config, undefined, clock.now);
  } catch (error) {
    await cleanup();
    throw error;
  }
  let output = '';
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      output += String(chunk);
      done();
    },
  });
  const app = await buildApp(context, { logStream });
  await app.ready();
  return {
    app,
    context,
    clock,
    directory,
    logs: () => output,
    async close() {
      try {
        await app.close();
        await closeContext(context);
      } finally {
        await cleanup();
      }
    },
  };
}

export interface TestAccount {
  readonly userId: string;
  readonly email: string;
  readonly password: string;
  readonly client: Client;
  readonly clientSecret: string;
  readonly redirectUri: string;
}

/** Creates a user and a confidential client with a generated secret, straight in the store. */
export async function createAccount(context: Context, overrides: Partial<Client> = {}): Promise<TestAccount> {
  const suffix = generateId().slice(0, 8);
  const email = `user-${suffix}@example.test`;
  const password = `password-${suffix}`;
  const userId = generateId();
  await context.store.users.create({ id: userId, email, name: `User ${suffix}`, passwordHash: await hashPassword(password), createdAt: context.now() });
  const clientSecret = generateSecret(PREFIX.clientSecret);
  const redirectUri = `https://zapier.example.test/dashboard/auth/oauth/return/App${suffix}CLIAPI/`;
  const client: Client = {
    id: `client-${suffix}`,
    name: `Zapier ${suffix}`,
    secretHash: context.hasher.hash(CLIENT_SECRET_PURPOSE, clientSecret),
    secretKind: 'hmac',
    redirectUris: [redirectUri],
    scopes: ALL_SCOPES,
    requirePkce: false,
    refreshTokenRotation: null,
    createdAt: context.now(),
    ...overrides,
  };
  await context.store.clients.create(client);
  return { userId, email, password, client, clientSecret, redirectUri };
}

/**
 * Issues an authorization code straight in the store, as a completed consent would. With `withoutTime` the
 * code has the shape codes had before they carried their creation time, and is stored under its hash alone.
 */
export async function issueCode(
  context: Context,
  account: TestAccount,
  options: { scope?: string; codeChallenge?: string | null; redirectUriGiven?: boolean; withoutTime?: boolean } = {},
): Promise<string> {
  const now = context.now();
  const code = options.withoutTime ? generateSecret(PREFIX.code) : generateOrderedSecret(PREFIX.code, now);
  const grantId = options.withoutTime ? generateId() : generateOrderedId(now);
  await context.store.grants.createWithCode(
    { id: grantId, clientId: account.client.id, userId: account.userId, scope: options.scope ?? ALL_SCOPES.join(' '), createdAt: now },
    {
      hash: credentialKey(context.hasher, PURPOSE.code, code),
      grantId,
      redirectUri: account.redirectUri,
      redirectUriGiven: options.redirectUriGiven ?? true,
      codeChallenge: options.codeChallenge ?? null,
      createdAt: now,
      expiresAt: now + context.config.codeTtl * 1000,
    },
  );
  return code;
}

/** Encodes client credentials for HTTP Basic as RFC 6749 §2.3.1 requires: form-urlencoded, then base64. */
export function basicAuth(id: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}
