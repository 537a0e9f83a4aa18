/** Server and CLI configuration, read from KIWIFORM_* environment variables and `serve` flags. */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly databaseUrl: string;
  /** Maximum number of pooled PostgreSQL connections. SQLite ignores it. */
  readonly databasePoolSize: number;
  /**
   * Seconds to wait for a PostgreSQL connection or statement before failing, so that a slow database fails
   * requests fast instead of holding them. SQLite ignores it.
   */
  readonly databaseTimeout: number;
  /** Public base URL without a trailing slash, used in metadata and absolute links. */
  readonly issuer: string;
  readonly logLevel: LogLevel;
  /** Access token lifetime in seconds. */
  readonly accessTokenTtl: number;
  /** Authorization code lifetime in seconds, at most 600 (RFC 6749 §4.1.2 recommends 10 minutes). */
  readonly codeTtl: number;
  readonly refreshTokenRotation: boolean;
  /** Seconds a rotated-out refresh token still returns its successor. */
  readonly refreshTokenGrace: number;
  /** Seconds a browser session lasts after sign-in. */
  readonly sessionTtl: number;
  /** Key for the keyed hashes of tokens, codes and secrets; when unset, a key stored in the database is used. */
  readonly secret: string | undefined;
  readonly production: boolean;
  /** Redis URL for abuse-limit counters shared by every instance; unset keeps them in process memory. */
  readonly redisUrl: string | undefined;
  /** Number of server processes on this machine (Node's cluster module). */
  readonly workers: number;
  /** The proxies trusted for the client address (X-Forwarded-For): false, true, a hop count or a list of addresses. */
  readonly trustProxy: boolean | number | string[];
  /** Seconds between purges of expired rows in `serve`; 0 turns the timer off. */
  readonly purgeInterval: number;
  /**
   * Seconds between SIGTERM and closing the listener, during which /readyz returns 503 and requests are still
   * served, so that a load balancer stops sending traffic first.
   */
  readonly shutdownDelay: number;
}

/** A configuration value that cannot be used, named by its variable or flag. */
export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Maps each setting to its environment variable and its `kiwiform serve` flag. */
export const SETTINGS = {
  host: { env: 'KIWIFORM_HOST', flag: '--host' },
  port: { env: 'KIWIFORM_PORT', flag: '--port' },
  databaseUrl: { env: 'KIWIFORM_DATABASE_URL', flag: '--database-url' },
  databasePoolSize: { env: 'KIWIFORM_DATABASE_POOL_SIZE', flag: '--database-pool-size' },
  databaseTimeout: { env: 'KIWIFORM_DATABASE_TIMEOUT', flag: '--database-timeout' },
  issuer: { env: 'KIWIFORM_ISSUER', flag: '--issuer' },
  redisUrl: { env: 'KIWIFORM_REDIS_URL', flag: '--redis-url' },
  workers: { env: 'KIWIFORM_WORKERS', flag: '--workers' },
  trustProxy: { env: 'KIWIFORM_TRUST_PROXY', flag: '--trust-proxy' },
  purgeInterval: { env: 'KIWIFORM_PURGE_INTERVAL', flag: '--purge-interval' },
  shutdownDelay: { env: 'KIWIFORM_SHUTDOWN_DELAY', flag: '--shutdown-delay' },
  logLevel: { env: 'KIWIFORM_LOG_LEVEL', flag: '--log-level' },
  accessTokenTtl: { env: 'KIWIFORM_ACCESS_TOKEN_TTL', flag: '--access-token-ttl' },
  codeTtl: { env: 'KIWIFORM_CODE_TTL', flag: '--code-ttl' },
  refreshTokenRotation: { env: 'KIWIFORM_REFRESH_TOKEN_ROTATION', flag: '--refresh-token-rotation' },
  refreshTokenGrace: { env: 'KIWIFORM_REFRESH_TOKEN_GRACE', flag: '--refresh-token-grace' },
  sessionTtl: { env: 'KIWIFORM_SESSION_TTL', flag: '--session-ttl' },
  secret: { env: 'KIWIFORM_SECRET', flag: '--secret' },
} as const;

export type SettingName = keyof typeof SETTINGS;
export type Overrides = Partial<Record<SettingName, string>>;

function integer(setting: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(setting, `expected a whole number from ${min} to ${max}, got "${raw}"`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new ConfigError(setting, `expected a number from ${min} to ${max}, got ${value}`);
  return value;
}

function parseTrustProxy(setting: string, raw: string | undefined): boolean | number | string[] {
  if (raw === undefined) return false;
  const value = raw.trim();
  if (/^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  if (/^\d+$/.test(value)) return integer(setting, value, 0, 100);
  const entries = value.split(',').map((entry) => entry.trim()).filter(Boolean);
  if (entries.length === 0 || entries.some((entry) => !/^[0-9A-Fa-f.:]+(\/\d{1,3})?$/.test(entry))) {
    throw new ConfigError(setting, `expected true, false, a hop count or comma-separated addresses or CIDR ranges, got "${raw}"`);
  }
  return entries;
}

function boolean(setting: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(setting, `expected true or false, got "${raw}"`);
}

/**
 * Builds the configuration from the environment, with `overrides` (from command-line flags) taking precedence.
 * Throws ConfigError naming the first setting that cannot be used.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Overrides = {}): Config {
  const read = (name: SettingName): string | undefined => {
    const value = overrides[name] ?? env[SETTINGS[name].env];
    return value === undefined || value === '' ? undefined : value;
  };
  const label = (name: SettingName): string => (overrides[name] !== undefined ? SETTINGS[name].flag : SETTINGS[name].env);
  const numberOf = (name: SettingName, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    return raw === undefined ? fallback : integer(label(name), raw, min, max);
  };

  const host = read('host') ?? '127.0.0.1';
  const port = numberOf('port', 3000, 0, 65535);
  const databaseUrl = read('databaseUrl') ?? 'sqlite:./data/kiwiform.db';
  if (!/^sqlite:.+/.test(databaseUrl) && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(label('databaseUrl'), `expected sqlite:PATH or postgres://..., got "${databaseUrl}"`);
  }

  const issuerHost = host.includes(':') ? `[${host}]` : host;
  let issuer = read('issuer') ?? `http://${issuerHost}:${port}`;
  try {
    const url = new URL(issuer);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    if (url.search || url.hash) throw new Error('query or fragment');
  } catch {
    throw new ConfigError(label('issuer'), `expected an http(s) URL without query or fragment, got "${issuer}"`);
  }
  issuer = issuer.replace(/\/+$/, '');

  const logLevel = (read('logLevel') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(label('logLevel'), `expected one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  const rotation = read('refreshTokenRotation');
  const secret = read('secret');
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError(label('secret'), 'expected at least 32 characters of random data');
  }

  const redisUrl = read('redisUrl');
  if (redisUrl !== undefined && !/^rediss?:\/\/.+/.test(redisUrl)) {
    throw new ConfigError(label('redisUrl'), `expected redis://HOST:PORT or rediss://..., got "${redisUrl}"`);
  }

  return {
    redisUrl,
    workers: numberOf('workers', 1, 1, 64),
    trustProxy: parseTrustProxy(label('trustProxy'), read('trustProxy')),
    purgeInterval: numberOf('purgeInterval', 3600, 0, 86_400 * 7),
    shutdownDelay: numberOf('shutdownDelay', 0, 0, 300),
    host,
    port,
    databaseUrl,
    databasePoolSize: numberOf('databasePoolSize', 10, 1, 1000),
    databaseTimeout: numberOf('databaseTimeout', 5, 1, 3600),
    issuer,
    logLevel,
    accessTokenTtl: numberOf('accessTokenTtl', 3600, 1, 86_400 * 30),
    codeTtl: numberOf('codeTtl', 600, 1, 600),
    refreshTokenRotation: rotation === undefined ? false : boolean(label('refreshTokenRotation'), rotation),
    refreshTokenGrace: numberOf('refreshTokenGrace', 60, 0, 86_400),
    sessionTtl: numberOf('sessionTtl', 8 * 3600, 60, 86_400 * 30),
    secret,
    production: env.NODE_ENV === 'production',
  };
}
