import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export type DatabaseKind = 'sqlite' | 'postgres';

/** Every database the store supports; suites loop over it to run the same tests on each. */
export const DATABASES: readonly DatabaseKind[] = ['sqlite', 'postgres'];

/** The PostgreSQL server tests create their databases on, reached through an existing database. */
export const POSTGRES_BASE_URL = process.env.KIWIFORM_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Returns why the tests on `kind` are skipped, or false to run them. PostgreSQL tests run unless
 * KIWIFORM_TEST_SKIP_POSTGRES=1; without a reachable server they fail instead of skipping.
 */
export function skipReason(kind: DatabaseKind): string | false {
  return kind === 'postgres' && process.env.KIWIFORM_TEST_SKIP_POSTGRES === '1' ? 'KIWIFORM_TEST_SKIP_POSTGRES=1' : false;
}

export interface TestDatabase {
  /** A KIWIFORM_DATABASE_URL for the new, empty database. */
  readonly url: string;
  /** Deletes the database. For PostgreSQL it first terminates the connections that are still open. */
  cleanup(): Promise<void>;
}

/** Creates an empty database of `kind`: a SQLite file in a temporary folder, or a new PostgreSQL database. */
export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const directory = mkdtempSync(join(tmpdir(), 'kiwiform-test-'));
    return {
      url: `sqlite:${join(directory, 'kiwiform.db')}`,
      cleanup: async () => rmSync(directory, { recursive: true, force: true }),
    };
  }

  const name = `kiwiform_test_${randomBytes(6).toString('hex')}`;
  await withAdminClient((client) => client.query(`create database ${name}`));
  const url = new URL(POSTGRES_BASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    cleanup: () => withAdminClient((client) => client.query(`drop database if exists ${name} with (force)`)),
  };
}

/** Runs `work` on a connection to POSTGRES_BASE_URL. An unreachable server raises an error that names the fix. */
async function withAdminClient(work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_BASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    const reason = error instanceof Error ? `${'code' in error ? `${String(error.code)} ` : ''}${error.message}` : String(error);
    throw new Error(
      `PostgreSQL at ${new URL(POSTGRES_BASE_URL).host} is not reachable (${reason}). Start it, point ` +
        'KIWIFORM_TEST_POSTGRES_URL at a server that accepts CREATE DATABASE, or set KIWIFORM_TEST_SKIP_POSTGRES=1 ' +
        'to skip the PostgreSQL tests.',
      { cause: error },
    );
  }
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
