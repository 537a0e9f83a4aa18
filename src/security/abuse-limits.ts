import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract, type RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import { detachedCopy } from '../http/strings.js';

/** The kind of failure a limit counts. Only failures count, so healthy traffic never uses up a limit. */
export type LimitKind = 'clientAuthFailure' | 'signInFailure' | 'unknownToken';

/** Failures allowed per key within the window, and the window in seconds. */
const LIMITS: Record<LimitKind, { readonly points: number; readonly duration: number }> = {
  // Per client id and per address. Generated secrets cannot be guessed; this slows guessing imported ones.
  clientAuthFailure: { points: 20, duration: 300 },
  // Per account and per address: about one guess a minute once exhausted.
  signInFailure: { points: 10, duration: 900 },
  // Per address: tokens and codes that were never issued, presented at the token, introspection or me endpoints.
  unknownToken: { points: 100, duration: 300 },
};

/** A request refused by an abuse limit; it carries the seconds to wait. */
export class LimitExceeded extends Error {
  constructor(readonly kind: LimitKind, readonly retryAfterSeconds: number) {
    super(`too many failed attempts (${kind}); retry after ${retryAfterSeconds} s`);
    this.name = 'LimitExceeded';
  }
}

const isRateLimiterRes = (value: unknown): value is RateLimiterRes =>
  typeof value === 'object' && value !== null && 'msBeforeNext' in value && !(value instanceof Error);

/**
 * Failure counters on rate-limiter-flexible: in process memory by default, in Redis when one is configured so
 * that every instance shares them. A key is "blocked" once its failures in the window reach the limit.
 */
export class AbuseLimits {
  readonly #limiters: Record<LimitKind, RateLimiterAbstract>;

  readonly #redis: Redis | undefined;

  constructor(redis?: Redis) {
    this.#redis = redis;
    const make = (kind: LimitKind): RateLimiterAbstract => {
      const options = { keyPrefix: `kiwiform:${kind}`, ...LIMITS[kind] };
      if (!redis) return new RateLimiterMemory(options);
      // If Redis fails, counting falls back to this process's memory instead of failing the request.
      return new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: new RateLimiterMemory(options) });
    };
    this.#limiters = { clientAuthFailure: make('clientAuthFailure'), signInFailure: make('signInFailure'), unknownToken: make('unknownToken') };
  }

  /** Returns the seconds until the first of `keys` is unblocked, or 0 when none is blocked. */
  async blockedFor(kind: LimitKind, keys: readonly string[]): Promise<number> {
    const limiter = this.#limiters[kind];
    let wait = 0;
    for (const key of keys) {
      const state = await limiter.get(key);
      if (state && state.consumedPoints >= LIMITS[kind].points) wait = Math.max(wait, Math.ceil(state.msBeforeNext / 1000));
    }
    return wait;
  }

  /** Returns how many failures a key has in its current window. */
  async failures(kind: LimitKind, key: string): Promise<number> {
    return (await this.#limiters[kind].get(key))?.consumedPoints ?? 0;
  }

  /** Counts one failure for each key; returns the seconds to wait when any key went over its limit, else 0. */
  async fail(kind: LimitKind, keys: readonly string[]): Promise<number> {
    const limiter = this.#limiters[kind];
    let wait = 0;
    for (const key of keys) {
      try {
        // A counter in memory lives for its whole window (5 or 15 minutes), so it keeps a copy of its key.
        await limiter.consume(detachedCopy(key));
      } catch (rejection) {
        if (!isRateLimiterRes(rejection)) throw rejection;
        wait = Math.max(wait, Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
      }
    }
    return wait;
  }

  /** Counts a failure and throws LimitExceeded when a key went over its limit. */
  async failOrThrow(kind: LimitKind, keys: readonly string[]): Promise<void> {
    const wait = await this.fail(kind, keys);
    if (wait > 0) throw new LimitExceeded(kind, wait);
  }

  /** Closes the Redis connection, if any. */
  async close(): Promise<void> {
    if (this.#redis && this.#redis.status !== 'end') await this.#redis.quit().catch(() => this.#redis?.disconnect());
  }

  /** Forgets the failures of the keys, as after a successful sign-in. */
  async reset(kind: LimitKind, keys: readonly string[]): Promise<void> {
    for (const key of keys) await this.#limiters[kind].delete(key);
  }
}
