import type { Config } from './config/config.js';
import type { KeyedHasher } from './crypto/secrets.js';
import type { Store } from './storage/types.js';
import type { ClientAuthenticator } from './oauth/client-auth.js';
import type { AuditLog } from './audit/audit-log.js';
import type { AbuseLimits } from './security/abuse-limits.js';
import type { Metrics } from './http/metrics.js';
import type { GrantUseRecorder } from './grants/grant-use.js';

/** Returns the current time in milliseconds since the Unix epoch; tests pass a fake one. */
export type Clock = () => number;

/** The services every endpoint needs, built once at start-up and shared by the routes. */
export interface Context {
  readonly config: Config;
  readonly store: Store;
  readonly hasher: KeyedHasher;
  readonly clients: ClientAuthenticator;
  readonly now: Clock;
  readonly audit: AuditLog;
  readonly limits: AbuseLimits;
  readonly metrics: Metrics;
  readonly uses: GrantUseRecorder;
  /** Set when the server stops accepting traffic, so /readyz turns unready before the listener closes. */
  readonly lifecycle: { draining: boolean };
}
