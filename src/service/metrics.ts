/**
 * `GET /metrics` through prom-client, on a registry of this service's own (no module-level
 * registry: two services in one process keep their numbers apart):
 *
 * - Node's own: process CPU and memory, event-loop lag, GC, handles (`collectDefaultMetrics`);
 * - the service's HTTP answers: a latency histogram per method, route and status;
 * - Zoho calls made for the service: a latency histogram per outcome (`2xx`, `4xx`, `429`, `5xx`,
 *   `network`, `timeout`) and Zoho code;
 * - what the journal and the store hold, read when Prometheus scrapes: runs by organization, kind
 *   and state; steps by outcome; quota left per organization; CRM webhook events by state; and the
 *   process's API calls and 429s so far.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BooksPort, Journal } from '../engine/index.js';
import type { ServiceStore } from './store.js';

export interface MetricsSources {
  journal: Journal;
  store: ServiceStore;
  organizations(): Promise<string[]>;
  port(organizationId: string): BooksPort;
  stats(): { apiCalls: number; rateLimited: number; httpRequests: number };
}

/** A Zoho call as the client's `onResponse` hook sees it. */
export interface ZohoCallInfo {
  status: number;
  code: number | undefined;
  durationMs: number;
  outcome: 'response' | 'network' | 'timeout';
}

export interface ServiceMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** An answered HTTP request: its route pattern (not the path: ids would make a series each). */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  observeZohoCall(info: ZohoCallInfo): void;
  render(): Promise<string>;
}

function outcomeOf(info: ZohoCallInfo): string {
  if (info.outcome !== 'response') return info.outcome;
  if (info.status === 429) return '429';
  return `${Math.floor(info.status / 100)}xx`;
}

export function createServiceMetrics(src: MetricsSources): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Histogram({
    name: 'sunset_http_request_duration_seconds', help: 'Time to answer an HTTP request, by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  });
  const zohoCalls = new Histogram({
    name: 'sunset_zoho_call_duration_seconds', help: 'Time of a Zoho Books API call made for this service, by outcome and Zoho code.',
    labelNames: ['outcome', 'code'] as const, buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry],
  });

  new Gauge({
    name: 'sunset_runs', help: 'Runs in the journal by organization, kind and state.', labelNames: ['organization_id', 'kind', 'state'] as const, registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await src.journal.tallies()).runs) this.set({ organization_id: r.organizationId, kind: r.kind, state: r.state }, r.count);
    },
  });
  new Gauge({
    name: 'sunset_steps', help: 'Steps by organization and outcome (changed, unchanged, skipped, failed, pending, in_flight).',
    labelNames: ['organization_id', 'outcome'] as const, registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await src.journal.tallies()).steps) this.set({ organization_id: s.organizationId, outcome: s.state === 'done' ? (s.outcome ?? 'unchanged') : s.state }, s.count);
    },
  });
  // Totals the connection keeps: counters, read as they stand when scraped.
  new Counter({
    name: 'sunset_api_calls_total', help: 'Zoho Books API calls made by this process.', registers: [registry],
    collect() {
      this.reset();
      this.inc(src.stats().apiCalls);
    },
  });
  new Counter({
    name: 'sunset_api_rate_limited_total', help: 'HTTP 429 answers received from Zoho by this process.', registers: [registry],
    collect() {
      this.reset();
      this.inc(src.stats().rateLimited);
    },
  });
  new Counter({
    name: 'sunset_http_requests_total', help: 'Requests served by this process.', registers: [registry],
    collect() {
      this.reset();
      this.inc(src.stats().httpRequests);
    },
  });
  new Gauge({
    name: 'sunset_quota_remaining', help: 'Daily API calls left per organization, as Zoho last said (X-Rate-Limit-Remaining).',
    labelNames: ['organization_id'] as const, registers: [registry],
    async collect() {
      this.reset();
      for (const organization of await src.organizations()) {
        const q = src.port(organization).quota();
        if (q.remaining !== undefined) this.set({ organization_id: organization }, q.remaining);
      }
    },
  });
  new Gauge({
    name: 'sunset_webhook_events', help: 'CRM webhook events by organization and state.', labelNames: ['organization_id', 'state'] as const, registers: [registry],
    async collect() {
      this.reset();
      for (const e of await src.store.eventCounts()) this.set({ organization_id: e.organizationId, state: e.state }, e.count);
    },
  });

  return {
    registry,
    contentType: registry.contentType,
    observeRequest: (method, route, status, seconds) => requests.observe({ method, route, status: String(status) }, seconds),
    observeZohoCall: (info) => zohoCalls.observe({ outcome: outcomeOf(info), code: info.code === undefined ? '' : String(info.code) }, info.durationMs / 1000),
    render: () => registry.metrics(),
  };
}
