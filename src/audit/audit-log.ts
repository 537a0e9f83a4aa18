import type { FastifyBaseLogger } from 'fastify';
import type { AuditEvent, AuditOutcome, AuditStore } from '../storage/types.js';

/** Names of the events the audit trail records. */
export type AuditEventName =
  | 'grant.created'
  | 'consent.denied'
  | 'token.issued'
  | 'token.refreshed'
  | 'token.revoked'
  | 'grant.revoked'
  | 'code.replayed'
  | 'refresh_token.reused'
  | 'client.authentication_failed'
  | 'user.signed_in'
  | 'user.sign_in_failed'
  | 'user.signed_out'
  | 'connection.revoked'
  | 'client.secret_rotated'
  | 'client.deleted';

export interface AuditEntry {
  readonly event: AuditEventName;
  readonly outcome: AuditOutcome;
  readonly userId?: string | null | undefined;
  readonly clientId?: string | null | undefined;
  readonly grantId?: string | null | undefined;
  readonly address?: string | null | undefined;
  /** Free text for the operator; never a token, code, secret or password. */
  readonly detail?: string | null | undefined;
}

/**
 * Buffers audit events and writes them in batches, so that recording an event costs the hot path no database
 * write of its own. Events still in the buffer when the process dies without close() are lost.
 */
export class AuditLog {
  /** Buffered events by identity; repeats of one event within a flush interval are written once with a count. */
  #buffer = new Map<string, { event: AuditEvent; count: number }>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #log: FastifyBaseLogger | undefined;

  constructor(
    private readonly store: AuditStore,
    private readonly now: () => number,
    private readonly flushDelayMs = 200,
  ) {}

  /** Sets the logger that reports failed writes. */
  useLogger(log: FastifyBaseLogger): void {
    this.#log = log;
  }

  record(entry: AuditEntry): void {
    const event: AuditEvent = {
      at: this.now(),
      event: entry.event,
      outcome: entry.outcome,
      userId: entry.userId ?? null,
      clientId: entry.clientId ?? null,
      grantId: entry.grantId ?? null,
      address: entry.address ?? null,
      detail: entry.detail ?? null,
    };
    const key = JSON.stringify([event.event, event.outcome, event.userId, event.clientId, event.grantId, event.address, event.detail]);
    const buffered = this.#buffer.get(key);
    if (buffered) buffered.count++;
    else this.#buffer.set(key, { event, count: 1 });
    if (this.#buffer.size >= 500) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.flushDelayMs).unref();
  }

  /** Writes every buffered event; failures are logged, never thrown, so auditing cannot break a request. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = [...this.#buffer.values()].map(({ event, count }) =>
      count === 1 ? event : { ...event, detail: `${event.detail ? `${event.detail}; ` : ''}${count} times since ${new Date(event.at).toISOString()}` });
    this.#buffer = new Map();
    if (batch.length === 0) return this.#flushing;
    this.#flushing = this.#flushing.then(async () => {
      try {
        await this.store.record(batch);
      } catch (error) {
        this.#log?.error({ err: error, events: batch.length }, 'writing audit events failed; they are lost');
      }
    });
    await this.#flushing;
  }
}
