import type Database from 'better-sqlite3';

interface Pending {
  readonly write: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Commits the writes that requests make in one turn of the event loop together, in one transaction. A commit
 * costs far more than the statements in it (the write lock, the WAL frames, the header update), so requests
 * that arrive together share it. Each write runs in its own savepoint: one that throws is rolled back alone
 * and rejects only its own promise, and the others still commit. Every promise settles after the commit, so
 * no response reports a write that is not yet durable. Writes run in the order they were queued, and the
 * conditional updates that decide between concurrent redemptions keep deciding, one write after another.
 */
export class GroupCommit {
  #queue: Pending[] = [];
  #scheduled = false;
  #holds = 0;
  readonly #transaction;
  readonly #savepoint;

  /**
   * @param committed called after every commit, so that readings of what the batch may have changed are dropped
   */
  constructor(db: Database.Database, private readonly committed: () => void) {
    this.#savepoint = db.transaction((write: () => unknown) => write());
    this.#transaction = db.transaction((batch: readonly Pending[], outcomes: { ok: boolean; value: unknown }[]) => {
      for (const pending of batch) {
        try {
          outcomes.push({ ok: true, value: this.#savepoint(pending.write) });
        } catch (error) {
          outcomes.push({ ok: false, value: error });
        }
      }
    });
  }

  /** Queues a write; it runs and commits with the others queued before the event loop's next check phase. */
  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
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
      if (this.#holds === 0 && this.#queue.length > 0 && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    };
  }

  /** Runs and commits every queued write now, unless writes are held; `force` commits them even then. */
  flush(force = false): void {
    this.#scheduled = false;
    if (this.#holds > 0 && !force) return;
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.#transaction.immediate(batch, outcomes);
    } catch (error) {
      // The commit itself failed (a busy or full database): nothing of the batch was written.
      for (const pending of batch) pending.reject(error);
      return;
    } finally {
      this.committed();
    }
    batch.forEach((pending, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) pending.resolve(outcome.value);
      else pending.reject(outcome?.value);
    });
  }
}
