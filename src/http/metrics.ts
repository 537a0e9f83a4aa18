import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { Store } from '../storage/types.js';

/** Prometheus metrics of one server process, in a registry of its own so that apps built in tests do not collide. */
export class Metrics {
  readonly registry = new Registry();
  /** Token endpoint outcomes not yet added to their counter. The counter adds them when the registry is scraped. */
  readonly #tokenOutcomes = new Map<string, { labels: { grant_type: string; outcome: string }; count: number }>();
  readonly #tokens = new Counter({
    name: 'kiwiform_oauth_tokens_total',
    help: 'Token endpoint outcomes by grant type: "issued" or the OAuth error code.',
    labelNames: ['grant_type', 'outcome'] as const,
    registers: [this.registry],
    collect: () => {
      for (const pending of this.#tokenOutcomes.values()) {
        if (pending.count === 0) continue;
        this.#tokens.inc(pending.labels, pending.count);
        pending.count = 0;
      }
    },
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

  readonly #responses = new ResponseTallies(this.registry);

  /**
   * Counts an outcome of the token endpoint: "issued" or the OAuth error code. The counter itself rebuilds its
   * label key on every increment, so the counts wait in plain numbers until the next scrape.
   */
  countToken(grantType: string, outcome: string): void {
    const key = `${grantType} ${outcome}`;
    const pending = this.#tokenOutcomes.get(key);
    if (pending === undefined) this.#tokenOutcomes.set(key, { labels: { grant_type: grantType, outcome }, count: 1 });
    else pending.count += 1;
  }

  /** Counts a response by its route pattern, so that ids in URLs do not create new series. */
  observeResponse(route: string | undefined, method: string, status: number, seconds: number): void {
    this.#responses.observe(route, method, status, seconds);
  }
}

/** Upper bounds of the request latency buckets, in seconds. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The responses of one route, method and status so far. */
interface ResponseSeries {
  readonly labels: Readonly<{ route: string; method: string; status: string }>;
  count: number;
  sum: number;
  /** Responses per bucket, not summed up. The last entry counts those slower than every bound. */
  readonly buckets: Float64Array;
}

/**
 * The request counter and latency histogram, tallied in plain numbers and handed to the registry as two
 * metrics when it is scraped. prom-client's own Counter and Histogram rebuild the key of a labelled series on
 * every observation, which cost about 3 % of a bearer-token request. The output is the same.
 */
class ResponseTallies {
  readonly #series = new Map<string, ResponseSeries>();

  constructor(registry: Registry) {
    const requests = 'kiwiform_http_requests_total';
    const duration = 'kiwiform_http_request_duration_seconds';
    this.#register(registry, requests, 'counter', 'HTTP requests by route, method and status code.',
      () => [...this.#series.values()].map((series) => ({ labels: series.labels, value: series.count })));
    this.#register(registry, duration, 'histogram', 'HTTP request latency in seconds, by route, method and status code.',
      () => [...this.#series.values()].flatMap((series) => {
        let below = 0;
        const buckets = DURATION_BUCKETS.map((bound, index) => {
          below += series.buckets[index] ?? 0;
          return { labels: { le: bound }, sharedLabels: series.labels, value: below, metricName: `${duration}_bucket` };
        });
        return [
          ...buckets,
          { labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: `${duration}_bucket` },
          { labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${duration}_sum` },
          { labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${duration}_count` },
        ];
      }));
  }

  observe(route: string | undefined, method: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route ?? ''}`;
    let series = this.#series.get(key);
    if (series === undefined) {
      series = {
        labels: Object.freeze({ route: route ?? 'unmatched', method, status: String(status) }),
        count: 0,
        sum: 0,
        buckets: new Float64Array(DURATION_BUCKETS.length + 1),
      };
      this.#series.set(key, series);
    }
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[bucket] as number)) bucket += 1;
    series.buckets[bucket] = (series.buckets[bucket] ?? 0) + 1;
    series.count += 1;
    series.sum += seconds;
  }

  /** Adds a metric the registry formats like its own: it calls `get()` for the values on every scrape. */
  #register(registry: Registry, name: string, type: 'counter' | 'histogram', help: string, values: () => object[]): void {
    const metric = { name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: values() }) };
    registry.registerMetric(metric as unknown as Metric);
  }
}
