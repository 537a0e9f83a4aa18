import type Database from 'better-sqlite3';

/** The two counters of migration 2 at one moment. */
export interface Generations {
  /** Moves when a client or user changes, a grant is revoked or deleted, or one access token is revoked. */
  readonly access: number;
  /** Moves when a refresh token is retired, or deleted before it was retired. */
  readonly refresh: number;
}

/** Maximum age, in milliseconds, of a reading of the counters that is still used. */
const READING_LIFETIME_MS = 1;

/**
 * Reads the generation counters that triggers move forward in the transaction of every change able to end
 * or alter access (migration 2). A statement costs about as much as the lookups the counters guard, so one
 * reading serves the requests of the next millisecond. A change committed by another process is therefore
 * seen within a millisecond. Writes through this connection call forget(), so this process reads its own
 * changes at once.
 */
export class AccessGeneration {
  readonly #read;
  #current: Generations | undefined;
  #readAt = 0;

  constructor(db: Database.Database) {
    const statement = db.prepare('select access, refresh from access_generation where id = 1').raw();
    this.#read = () => statement.get() as [number, number];
  }

  current(): Generations {
    const now = performance.now();
    if (this.#current === undefined || now - this.#readAt >= READING_LIFETIME_MS) {
      const [access, refresh] = this.#read();
      this.#current = { access, refresh };
      this.#readAt = now;
    }
    return this.#current;
  }

  /** Drops the reading after a write through this connection that may have moved a counter. */
  forget(): void {
    this.#current = undefined;
  }
}

/**
 * Rows kept in this process for as long as the generations they depend on have not moved since they were
 * read. Every instance, worker and CLI process moves the counters with the change itself, so a revocation or
 * a client change made anywhere empties the cache of every process, and no stale row is served after it is
 * seen. The generation is read before the row: a change committed between the two reads then leaves a row
 * stored under a generation that is already past.
 */
export class GenerationCache<V> {
  #access = Number.NaN;
  #refresh = Number.NaN;
  readonly #entries = new Map<string, V>();

  /**
   * @param withRefresh whether a retired or deleted refresh token also empties this cache
   */
  constructor(
    private readonly generation: AccessGeneration,
    private readonly withRefresh: boolean,
    private readonly capacity = 50_000,
  ) {}

  /** Returns the cached value of `key`, or loads it and caches it when it is found. */
  get(key: string, load: () => V | undefined): V | undefined {
    const { access, refresh } = this.generation.current();
    if (access !== this.#access || (this.withRefresh && refresh !== this.#refresh)) {
      this.#entries.clear();
      this.#access = access;
      this.#refresh = refresh;
    } else {
      const cached = this.#entries.get(key);
      if (cached !== undefined) return cached;
    }
    const value = load();
    if (value === undefined) return undefined;
    if (this.#entries.size >= this.capacity) this.#entries.clear();
    this.#entries.set(key, value);
    return value;
  }
}
