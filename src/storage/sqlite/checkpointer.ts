import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** SQLite's default threshold, in pages, for the checkpoint that a committing connection runs itself. */
const AUTOCHECKPOINT_PAGES = 1000;

/** SQLite's default page size, which the schema keeps. */
const PAGE_BYTES = 4096;

/** Settings of the background checkpoints. */
export interface CheckpointSettings {
  /** Milliseconds between two checkpoints. */
  readonly intervalMs: number;
  /**
   * Size of the write-ahead log, in pages, from which the server pauses its writes once so that the thread
   * can catch up. SQLite starts the log over only when a write begins while every page of it has been copied
   * back. Under steady writes the thread never catches up by itself, so without this the log file would keep
   * growing. At four times this size, which only writes from other processes can reach, the thread makes
   * every writer wait until the log starts over.
   */
  readonly rewindPages: number;
}

const DEFAULTS: CheckpointSettings = { intervalMs: 100, rewindPages: 16_384 };

/** Maximum time the server pauses its writes for the thread's catching-up checkpoint. */
const HOLD_LIMIT_MS = 2000;

/**
 * How long the catching-up checkpoint waits for another process's write or read to end. Past it, the
 * server's writes resume and the log goes on growing until the next attempt.
 */
const REWIND_WAIT_MS = 200;

// The worker runs as a script of its own, so that it needs neither the compiled code nor a TypeScript loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 0');
let timer;
// Size of the log when this process last held its writes for a rewind that did not finish, or 0.
let heldAt = 0;
function checkpoint() {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    const log = result ? result.log : 0;
    // A log smaller than at the last hold has started over since.
    if (log < heldAt) heldAt = 0;
    if (log >= workerData.rewindPages && heldAt === 0) {
      // Ask the server to hold its writes; the checkpoint that catches up runs when it replies.
      heldAt = log;
      parentPort.postMessage({ rewind: 'hold' });
      return;
    }
    if (log >= 4 * workerData.rewindPages) {
      // Holding this process's writes did not let the log start over, so another process keeps writing
      // (serve --workers, or the CLI). A restart checkpoint makes every writer wait until the log starts over.
      heldAt = 0;
      db.pragma('busy_timeout = 1000');
      try {
        db.pragma('wal_checkpoint(RESTART)');
      } finally {
        db.pragma('busy_timeout = 0');
      }
    }
  } catch (error) {
    report(error);
  }
  timer = setTimeout(checkpoint, workerData.intervalMs);
}
function report(error) {
  // A checkpoint that finds the database busy is tried again at the next interval.
  if (error.code !== 'SQLITE_BUSY' && error.code !== 'SQLITE_LOCKED') parentPort.postMessage({ failed: String(error.message) });
}
parentPort.on('message', (message) => {
  if (message === 'held') {
    // With this process's writes held, a restart checkpoint copies the last pages and waits the moment it
    // takes for reads to leave the log, so the next write starts it over. A passive one left the restart to
    // the next write, which takes the write lock without waiting and so gave up whenever another connection
    // held a read lock at that moment.
    db.pragma('busy_timeout = ' + workerData.rewindWaitMs);
    try {
      const [result] = db.pragma('wal_checkpoint(RESTART)');
      // When it completes, the log starts over with the next write, so the next long log gets its own hold.
      // When another process kept a transaction open, the check at four times the size takes over.
      if (result && result.busy === 0) heldAt = 0;
    } catch (error) {
      report(error);
    } finally {
      db.pragma('busy_timeout = 0');
    }
    parentPort.postMessage({ rewind: 'release' });
    timer = setTimeout(checkpoint, workerData.intervalMs);
  } else if (message === 'stop') {
    clearTimeout(timer);
    db.close();
    parentPort.close();
  }
});
checkpoint();
`;

/**
 * Runs the write-ahead log's checkpoints in a worker thread with a connection of its own, instead of inside
 * the commit that crosses SQLite's threshold. A checkpoint copies pages into the database file and syncs both
 * files. Run by a commit, it stalls the event loop: in the code-exchange benchmark it took half of each
 * write's time and made the slowest responses wait tens of milliseconds. In passive mode it runs beside the
 * server's reads and writes.
 *
 * SQLite starts the log file over only when a write begins while every page of the log has been copied back.
 * Under steady writes the thread never catches up, so once the log reaches `rewindPages` the server pauses its
 * batched writes (the event loop keeps running) while the thread copies the last pages. Should the thread
 * stop, the server's connection checkpoints by itself again.
 */
export class BackgroundCheckpoints {
  readonly #worker: Worker;
  readonly #exited: Promise<unknown>;
  #stopping = false;
  #release: (() => void) | undefined;
  #releaseTimer: NodeJS.Timeout | undefined;

  constructor(
    db: Database.Database,
    file: string,
    hold: () => () => void,
    onFailure: (message: string) => void,
    settings = DEFAULTS,
  ) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file, rewindWaitMs: REWIND_WAIT_MS, ...settings } });
    this.#worker.unref();
    this.#exited = new Promise((resolve) => this.#worker.once('exit', resolve));
    db.pragma('wal_autocheckpoint = 0');
    // After the log starts over, its file is cut back to this size instead of keeping its largest size.
    db.pragma(`journal_size_limit = ${settings.rewindPages * PAGE_BYTES}`);
    this.#worker.on('message', (message: { failed?: string; rewind?: 'hold' | 'release' }) => {
      if (message.failed !== undefined) onFailure(message.failed);
      if (message.rewind === 'hold') {
        this.#release = hold();
        // Writes wait at most this long, even if the thread never replies.
        this.#releaseTimer = setTimeout(() => this.#resume(), HOLD_LIMIT_MS);
        this.#worker.postMessage('held');
      }
      if (message.rewind === 'release') this.#resume();
    });
    const fallBack = (): void => {
      this.#resume();
      if (this.#stopping || !db.open) return;
      db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
      onFailure('the checkpoint thread stopped; commits checkpoint the write-ahead log themselves again');
    };
    this.#worker.on('error', fallBack);
    this.#worker.on('exit', fallBack);
  }

  #resume(): void {
    clearTimeout(this.#releaseTimer);
    this.#release?.();
    this.#release = undefined;
  }

  /** Lets a checkpoint in progress finish, then stops the thread. */
  async stop(): Promise<void> {
    this.#stopping = true;
    // A thread that already stopped has nothing to finish; postMessage to it is a no-op.
    this.#worker.postMessage('stop');
    const timer = setTimeout(() => void this.#worker.terminate(), 5000);
    await this.#exited;
    clearTimeout(timer);
    this.#resume();
  }
}
