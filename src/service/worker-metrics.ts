/**
 * `GET /metrics` of a `sunset worker` (`--metrics-port`), through prom-client on a registry of the
 * worker's own, served by hono: what the worker holds and has done, its Zoho calls, and Node's own
 * figures. No label names an organization or a run (a scrape is not the place for them; SIGUSR2
 * prints those): jobs are counted by kind.
 *
 * - `sunset_worker_jobs_held{kind}`: jobs in hand now (scan, apply, verify, crm);
 * - `sunset_worker_oldest_job_seconds`: how long the oldest of them has been held (0: none);
 * - `sunset_worker_jobs_total{result}`: jobs finished here (`done`) or given back to be retried (`retried`);
 * - `sunset_zoho_call_duration_seconds{outcome,code}`: each Zoho call, as `sunset serve` counts them.
 */
import { Hono } from 'hono';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { sha256 } from './store.js';
import type { ZohoCallInfo } from './metrics.js';
import type { Worker } from './worker.js';

const KINDS = ['scan', 'apply', 'verify', 'crm'] as const;

export interface WorkerMetrics {
  readonly registry: Registry;
  observeZohoCall(info: ZohoCallInfo): void;
  /** The HTTP app: `GET /metrics` (with `Authorization: Bearer TOKEN` when a token is set), 404 else. */
  readonly app: Hono;
}

export function createWorkerMetrics(worker: Pick<Worker, 'stats'>, options: { token?: string; now?: () => number } = {}): WorkerMetrics {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'sunset_worker_jobs_held', help: 'Jobs this worker holds now, by kind.', labelNames: ['kind'] as const, registers: [registry],
    collect() {
      const held = worker.stats().held;
      for (const kind of KINDS) this.set({ kind }, held.filter((h) => h.kind === kind).length);
    },
  });
  new Gauge({
    name: 'sunset_worker_oldest_job_seconds', help: 'How long the oldest job this worker holds has been held (0: none).', registers: [registry],
    collect() {
      const held = worker.stats().held;
      this.set(held.length === 0 ? 0 : (now() - Math.min(...held.map((h) => h.since))) / 1000);
    },
  });
  // The worker keeps its own totals; the counter follows them at each scrape.
  const seen = { done: 0, retried: 0 };
  new Counter({
    name: 'sunset_worker_jobs_total', help: 'Jobs finished by this worker (done) or given back to the queue to be retried (retried).', labelNames: ['result'] as const, registers: [registry],
    collect() {
      const stats = worker.stats();
      for (const result of ['done', 'retried'] as const) {
        if (stats[result] > seen[result]) this.inc({ result }, stats[result] - seen[result]);
        seen[result] = stats[result];
      }
    },
  });
  const zohoCalls = new Histogram({
    name: 'sunset_zoho_call_duration_seconds', help: 'Time of a Zoho Books API call made by this worker, by outcome and Zoho code.',
    labelNames: ['outcome', 'code'] as const, buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry],
  });

  const tokenHash = options.token !== undefined ? sha256(options.token) : undefined;
  const app = new Hono()
    .get('/metrics', async (c) => {
      if (tokenHash !== undefined) {
        const bearer = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
        if (bearer === undefined || sha256(bearer) !== tokenHash) return c.json({ error: 'send the metrics token: Authorization: Bearer TOKEN' }, 401);
      }
      return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType });
    })
    .all('*', (c) => c.json({ error: 'a worker answers GET /metrics only' }, 404));

  return {
    registry,
    app,
    observeZohoCall(info) {
      const outcome = info.outcome !== 'response' ? info.outcome : info.status === 429 ? '429' : `${Math.floor(info.status / 100)}xx`;
      zohoCalls.observe({ outcome, code: info.code === undefined ? '' : String(info.code) }, info.durationMs / 1000);
    },
  };
}
