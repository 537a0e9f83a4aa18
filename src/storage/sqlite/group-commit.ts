import type Database from 'better-sqlite3';

interface Pending {
  readonly write: () => unknown;
  /** Time the write was queued. From then on it waits for the write lock for at most the busy limit. */
  readonly queuedAt: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** Carries the error of one write out of a batch, so that the batch is rolled back and run again write by write. */
class WriteFailed extends Error {
  constructor(cause: unknown) {
    super('a write of the batch failed', { cause });
  }
}

export interface GroupCommitOptions {
  /** How long a write waits, from when it is queued, for another process to release the write lock. */
  readonly busyLimitMs?: number;
  /** The busy_timeout the connection uses outside of group commits, restored after each attempt. */
  readonly busyTimeoutMs?: number;
}

/** Delay between two attempts to take the write lock while another process holds it. */
const RETRY_DELAY_MS = 1;

/**
 * Commits the writes that requests make in one turn of the event loop together, in one transaction. A commit
 * costs far more than the statements in it (the write lock, the WAL frames, the header update), so requests
 * that arrive together share it. Every promise settles after the commit, so no response reports a write that
 * is not yet durable. Writes run in the order they were queued, and the conditional updates that decide
 * between concurrent redemptions keep deciding, one write after another.
 *
 * The writes of a batch run one after another without savepoints, which cost about a third of a write. When
 * one throws, the whole transaction is rolled back and the batch runs again with each write in its own
 * savepoint: the failing one is rolled back alone and rejects only its own promise, and the others commit.
 *
 * The write lock is taken without waiting. When another process has it, the batch is tried again a
 * millisecond later, and the event loop keeps serving requests meanwhile. Writes queued in between join it.
 */
export class GroupCommit {
  #queue: Pending[] = [];
  #scheduled = false;
  #holds = 0;
  readonly #together;
  readonly #oneByOne;
  readonly #noWait;
  readonly #wait;
  readonly #busyLimitMs: number;

  /**
   * @param committed called after every attempt to commit, so that readings of what the batch may have changed
   *   are dropped
   */
  constructor(db: Database.Database, private readonly committed: () => void, options: GroupCommitOptions = {}) {
    this.#busyLimitMs = options.busyLimitMs ?? 5000;
    // SQLite applies this pragma when the statement is compiled, so a prepared statement would set it only once.
    this.#noWait = () => db.pragma('busy_timeout = 0');
    const busyTimeout = `busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`;
    this.#wait = () => db.pragma(busyTimeout);
    this.#together = db.transaction((batch: readonly Pending[], values: unknown[]) => {
      for (const pending of batch) {
        try {
          values.push(pending.write());
        } catch (error) {
          throw new WriteFailed(error);
        }
      }
    });
    const savepoint = db.transaction((write: () => unknown) => write());
    this.#oneByOne = db.transaction((batch: readonly Pending[], outcomes: { ok: boolean; value: unknown }[]) => {
      for (const pending of batch) {
        try {
          outcomes.push({ ok: true, value: savepoint(pending.write) });
        } catch (error) {
          outcomes.push({ ok: false, value: error });
        }
      }
    });
  }

  /**
   * Queues a write; it runs and commits with the others queued before the event loop's next check phase. The
   * write must do nothing but statements on this connection, because a batch with a failing write runs again.
   */
  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ write, queuedAt: performance.now(), resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /**
   * Keeps queued writes waiting until the returned function is called, without blocking the event loop. The
   * checkpoint thread pauses them while it needs a write-ahead log that nothing appends to.
   */
  hold(): () => void {
    this.#holds += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds -= 1;
      if (this.#holds === 0 && this.#queue.length > 0) this.#schedule();
    };
  }

  #schedule(delayMs = 0): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    if (delayMs === 0) setImmediate(() => this.flush());
    else setTimeout(() => this.flush(), delayMs);
  }

  /**
   * Runs and commits every queued write now, unless writes are held. With `force` it commits them even when
   * they are held, and waits for the write lock as the other statements of the connection do.
   */
  flush(force = false): void {
    this.#scheduled = false;
    if (this.#holds > 0 && !force) return;
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    const values: unknown[] = [];
    try {
      this.#immediate(force, () => this.#together.immediate(batch, values));
    } catch (error) {
      if (error instanceof WriteFailed) {
        this.#settleOneByOne(batch, force);
      } else if (isBusy(error) && !force) {
        this.#retryLater(batch, error);
      } else {
        // The commit itself failed (a full disk, for one), so nothing of the batch was written.
        for (const pending of batch) pending.reject(error);
      }
      return;
    } finally {
      this.committed();
    }
    batch.forEach((pending, index) => pending.resolve(values[index]));
  }

  /** Runs an immediate transaction, taking the write lock without waiting unless `force` is set. */
  #immediate(force: boolean, run: () => void): void {
    if (force) {
      run();
      return;
    }
    this.#noWait();
    try {
      run();
    } finally {
      this.#wait();
    }
  }

  /**
   * Puts a batch that found the write lock taken back in front of the queue, to be tried shortly. Nothing of
   * it was written. Writes that have waited as long as a statement would fail.
   */
  #retryLater(batch: readonly Pending[], error: unknown): void {
    const now = performance.now();
    const waiting: Pending[] = [];
    for (const pending of batch) {
      if (now - pending.queuedAt < this.#busyLimitMs) waiting.push(pending);
      else pending.reject(error);
    }
    this.#queue = waiting.concat(this.#queue);
    if (this.#queue.length > 0) this.#schedule(RETRY_DELAY_MS);
  }

  #settleOneByOne(batch: readonly Pending[], force: boolean): void {
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      // Another process may take the lock between the rollback and this run. The batch then waits its turn
      // again like any other.
      this.#immediate(force, () => this.#oneByOne.immediate(batch, outcomes));
    } catch (error) {
      if (isBusy(error) && !force) {
        this.#retryLater(batch, error);
        return;
      }
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) pending.resolve(outcome.value);
      else pending.reject(outcome?.value);
    });
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || (typeof code === 'string' && code.startsWith('SQLITE_BUSY_'));
}
