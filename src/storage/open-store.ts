import type { Store } from './types.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/** Opens the database that a KIWIFORM_DATABASE_URL names and brings its schema up to date. */
export async function openStore(databaseUrl: string): Promise<Store> {
  if (databaseUrl.startsWith('sqlite:')) {
    return new SqliteStore(databaseUrl.slice('sqlite:'.length));
  }
  // NOTE: PostgreSQL URLs pass configuration checks, but no PostgreSQL store exists in this build yet.
  throw new Error(`unsupported database URL "${databaseUrl.replace(/\/\/[^@]*@/, '//')}": only sqlite:PATH is available`);
}
