import type { Store } from '../storage/types.js';

/** Minimum time between two recorded uses of one grant by this process. */
const RECORD_INTERVAL_MS = 60_000;

/**
 * Remembers when this process last recorded use of each grant, so that refreshes and API calls update a
 * grant's last-used time about once a minute instead of writing on every request.
 */
export class GrantUseRecorder {
  readonly #recorded = new Map<string, number>();

  constructor(private readonly store: Store, private readonly now: () => number) {}

  record(grantId: string): void {
    const now = this.now();
    if (now - (this.#recorded.get(grantId) ?? Number.NEGATIVE_INFINITY) < RECORD_INTERVAL_MS) return;
    if (this.#recorded.size >= 100_000) this.#recorded.clear();
    this.#recorded.set(grantId, now);
    this.store.grants.touch(grantId, now).catch(() => {
      // The last-used time is informational; a failed write is retried on a later use.
      this.#recorded.delete(grantId);
    });
  }
}
