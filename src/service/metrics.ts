/** `GET /metrics`: Prometheus text exposition of runs, steps, API calls, 429s, quota and webhook events. */
import type { BooksPort, Journal } from '../engine/index.js';
import type { ServiceStore } from './store.js';

export interface MetricsSources {
  journal: Journal;
  store: ServiceStore;
  organizations(): Promise<string[]>;
  port(organizationId: string): BooksPort;
  stats(): { apiCalls: number; rateLimited: number; httpRequests: number };
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export async function renderMetrics(src: MetricsSources): Promise<string> {
  const lines: string[] = [];
  const metric = (name: string, help: string, type: 'counter' | 'gauge', samples: Array<[Record<string, string>, number]>): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      lines.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 0}`);
    }
  };
  const runs = await src.journal.db.all<{ organization_id: string; kind: string; state: string; n: number }>(
    'SELECT organization_id, kind, state, COUNT(*) AS n FROM runs GROUP BY organization_id, kind, state',
  );
  metric('sunset_runs', 'Runs in the journal by organization, kind and state.', 'gauge', runs.map((r) => [{ organization_id: r.organization_id, kind: r.kind, state: r.state }, Number(r.n)]));
  const steps = await src.journal.db.all<{ organization_id: string; state: string; outcome: string | null; n: number }>(
    'SELECT r.organization_id, s.state, s.outcome, COUNT(*) AS n FROM steps s JOIN runs r ON r.run_id = s.run_id GROUP BY r.organization_id, s.state, s.outcome',
  );
  metric('sunset_steps', 'Steps by organization and outcome (changed, unchanged, skipped, failed, pending, in_flight).', 'gauge', steps.map((s) => [
    { organization_id: s.organization_id, outcome: s.state === 'done' ? (s.outcome ?? 'unchanged') : s.state }, Number(s.n),
  ]));
  const stats = src.stats();
  metric('sunset_api_calls_total', 'Zoho Books API calls made by this process.', 'counter', [[{}, stats.apiCalls]]);
  metric('sunset_api_rate_limited_total', 'HTTP 429 answers received from Zoho by this process.', 'counter', [[{}, stats.rateLimited]]);
  metric('sunset_http_requests_total', 'Requests served by this process.', 'counter', [[{}, stats.httpRequests]]);
  const quota: Array<[Record<string, string>, number]> = [];
  for (const org of await src.organizations()) {
    const q = src.port(org).quota();
    if (q.remaining !== undefined) quota.push([{ organization_id: org }, q.remaining]);
  }
  metric('sunset_quota_remaining', 'Daily API calls left per organization, as Zoho last said (X-Rate-Limit-Remaining).', 'gauge', quota);
  const events = await src.store.eventCounts();
  metric('sunset_webhook_events', 'CRM webhook events by organization and state.', 'gauge', events.map((e) => [{ organization_id: e.organizationId, state: e.state }, e.count]));
  return `${lines.join('\n')}\n`;
}
