import type { Store } from './types.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/** The database settings of Config that opening a store needs. */
export interface StoreOptions {
  /** sqlite:PATH, postgres://… or postgresql://… */
  readonly databaseUrl: string;
  /** Maximum number of pooled PostgreSQL connections, 10 when unset. */
  readonly databasePoolSize?: number;
  /** Seconds a PostgreSQL connection attempt or statement may take before it fails, 5 when unset. */
  readonly databaseTimeout?: number;
}

/** Opens the database that a KIWIFORM_DATABASE_URL names and brings its schema up to date. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const { databaseUrl } = options;
  if (databaseUrl.startsWith('sqlite:')) {
    return new SqliteStore(databaseUrl.slice('sqlite:'.length));
  }
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    return PostgresStore.open(databaseUrl, { poolSize: options.databasePoolSize ?? 10, timeout: options.databaseTimeout ?? 5 });
  }
  throw new Error(`unsupported database URL "${databaseUrl.replace(/\/\/[^@]*@/, '//')}": expected sqlite:PATH or postgres://...`);
}
