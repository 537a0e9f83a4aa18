import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../storage/types.js';

/** Prometheus metrics of one server process, in a registry of its own so that apps built in tests do not collide. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'kiwiform_http_requests_total',
    help: 'HTTP requests by route, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'kiwiform_http_request_duration_seconds',
    help: 'HTTP request latency in seconds, by route, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'kiwiform_oauth_tokens_total',
    help: 'Token endpoint outcomes by grant type: "issued" or the OAuth error code.',
    labelNames: ['grant_type', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly limitRejections = new Counter({
    name: 'kiwiform_abuse_limit_rejections_total',
    help: 'Requests rejected with 429 by an abuse limit, by limit.',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  constructor(store: Store) {
    collectDefaultMetrics({ register: this.registry, prefix: 'kiwiform_' });
    const registry = this.registry;
    new Gauge({
      name: 'kiwiform_database_pool_connections',
      help: 'Database pool connections by state (PostgreSQL only).',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const stats = store.poolStats?.();
        if (!stats) return;
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
  }

  readonly #series = new Map<string, { count: Counter.Internal; duration: Histogram.Internal<'route' | 'method' | 'status'> }>();

  /**
   * Counts a response by its route pattern, so that ids in URLs do not create new series. The labelled series
   * are looked up once per combination, because building their keys costs more than the counting.
   */
  observeResponse(route: string | undefined, method: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route ?? ''}`;
    let series = this.#series.get(key);
    if (series === undefined) {
      const labels = { route: route ?? 'unmatched', method, status: String(status) };
      series = { count: this.requests.labels(labels), duration: this.duration.labels(labels) };
      this.#series.set(key, series);
    }
    series.count.inc();
    series.duration.observe(seconds);
  }
}
