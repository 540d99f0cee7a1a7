/**
 * CRM webhooks under load while a run applies: none lost, none applied twice, and how fast they are
 * accepted.
 *
 * Three processes on loopback: the emulator (`sunset emulator start`), the service
 * (`sunset serve --emulator URL`, from dist/: run `npm run build` first) and this one, which acts
 * as the operator and as Zoho CRM over plain HTTP. Steps:
 *
 *   1. sign in, save the starter policy, scan and plan (API), approve the whole plan: a run starts;
 *   2. while it applies, send EVENTS signed "Churned" webhooks (HMAC) in bursts of BURST
 *      concurrent requests every GAP ms, each naming a CRM account (`crm_account_id`), so the
 *      service looks up the Books contact with `zcrm_account_id`; OVERLAP of them name contacts
 *      that the run is also deactivating; each burst also re-sends a tenth of the previous one (same
 *      event_id, signed again), which must answer 200 {"duplicate": true};
 *   3. wait until no event is accepted or processing and the run is done;
 *   4. check from the emulator's request log and contact statuses: every event's contact is
 *      inactive, no contact had two successful status changes, every plan step is settled, and
 *      the events' states (from /metrics) account for every unique event.
 *
 * Each status change takes LATENCY ms in the emulator (a fault rule), so the run and the events
 * share the organization's concurrency for a while, as they would against Zoho. Limits are raised
 * (60,000 calls a minute) so that the figures are the service's, not Zoho's 100 a minute.
 *
 *   npm run build && npx tsx bench/webhook-load.ts
 *   npx tsx bench/webhook-load.ts --events 1000 --burst 100 --gap 200 --contacts 8000 --json
 */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createMemoryTokenStore, createZohoBooksClient } from '../src/client/index.js';
import { children, signInApi } from './service-children.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string' },
    burst: { type: 'string' },
    gap: { type: 'string' },
    contacts: { type: 'string' },
    latency: { type: 'string' },
    json: { type: 'boolean' },
  },
});
const num = (v: string | undefined, fallback: number, name: string): number => {
  const n = Number(v ?? fallback);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number`);
  return n;
};
const EVENTS = num(values.events, 1000, 'events');
const BURST = Math.max(1, num(values.burst, 100, 'burst'));
const GAP = num(values.gap, 200, 'gap');
const CONTACTS = num(values.contacts, 8000, 'contacts');
const LATENCY = num(values.latency, 40, 'latency');
const OVERLAP = Math.round(EVENTS / 10);

const dir = mkdtempSync(join(tmpdir(), 'sunset-webhook-load-'));
const procs = children(dir);
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const ms = (x: number): string => `${x.toFixed(1)} ms`;

interface Info { baseUrl: string; accountsUrl: string; clientId: string; clientSecret: string; refreshToken: string; organizations: Array<{ organization_id: string }> }

try {
  // ---- the emulator and the service ----
  const emuLine = await procs.start([
    'emulator', 'start', '--port', '0', '--json', '--contacts', String(CONTACTS),
    '--per-minute', '60000', '--daily', '100000000', '--in-flight', '10',
    '--fault', `latency:${LATENCY},method=post,path=/contacts/*/inactive`,
  ], /^\{/);
  const info = JSON.parse(emuLine) as Info;
  const organization = info.organizations[0]!.organization_id;
  const origin = await procs.serve(new URL(info.baseUrl).origin, join(dir, 'sunset.db'), ['--per-minute', '60000']);

  // ---- the operator: sign in, policy, scan, plan ----
  const api = await signInApi(origin);
  const organizationView = async (): Promise<{ policy: { draft?: string }; latestPlan: { planId: string; steps: number } | null; activeJob: unknown }> =>
    (await api<Array<{ organizationId: string }>>('GET', '/api/orgs')).find((o) => o.organizationId === organization) as never;
  const draft = (await organizationView()).policy.draft!.replace('max_changes: 1000', 'max_changes: 100000');
  await api('PUT', `/api/orgs/${organization}/policy`, { text: draft });
  const { secret } = await api<{ secret: string }>('PUT', `/api/orgs/${organization}/webhook`, { mode: 'hmac' });
  await api('POST', `/api/orgs/${organization}/scan`);
  let plan: { planId: string; steps: number } | null = null;
  while (!plan) {
    await new Promise((r) => setTimeout(r, 100));
    const v = await organizationView();
    if (v.latestPlan && !v.activeJob) plan = v.latestPlan;
  }
  const planRows = (await api<{ rows: unknown[][] }>('GET', `/api/plans/${plan.planId}/rows`)).rows;
  const stepIds = new Set(planRows.filter((r) => r[3] === 'deactivate').map((r) => String(r[0])));

  // ---- the CRM side: contacts linked to a CRM account ----
  const reader = createZohoBooksClient({
    baseUrl: info.baseUrl, accountsUrl: info.accountsUrl,
    credentials: { clientId: info.clientId, clientSecret: info.clientSecret, refreshToken: info.refreshToken },
    tokenStore: createMemoryTokenStore(), limits: { perMinute: 50_000, burst: 50_000 },
  }).organization(organization);
  const linked: Array<{ id: string; crm: string; inPlan: boolean }> = [];
  for await (const c of reader.contacts.list({ filterBy: 'Status.Active' })) {
    const crm = (c as { zcrm_account_id?: string }).zcrm_account_id;
    if (crm) linked.push({ id: String(c.contact_id), crm, inPlan: stepIds.has(String(c.contact_id)) });
  }
  const inPlan = linked.filter((c) => c.inPlan).slice(0, OVERLAP);
  const outside = linked.filter((c) => !c.inPlan).slice(0, EVENTS - inPlan.length);
  const targets = [...inPlan, ...outside];
  if (targets.length < EVENTS) throw new Error(`only ${targets.length} CRM-linked active contacts for ${EVENTS} events: raise --contacts`);
  targets.sort(() => Math.random() - 0.5);

  // ---- approve, then the bursts while the run applies ----
  const reqStart = ((await (await fetch(`${info.accountsUrl}/__emulator/requests?limit=1`)).json()) as { next_seq: number }).next_seq;
  const t0 = performance.now();
  const { runId } = await api<{ runId: string }>('POST', `/api/plans/${plan.planId}/approve`, { exclude: [] });
  // The run first takes its fingerprint and revalidates; the bursts start once it is changing contacts.
  let startedAfter = 0;
  for (;;) {
    const d = await api<{ run: { state: string }; counts: Record<string, number> }>('GET', `/api/runs/${runId}`);
    if (d.run.state === 'running' && (d.counts['changed'] ?? 0) > 0) break;
    if (d.run.state === 'done' || d.run.state === 'failed') throw new Error(`the run ended (${d.run.state}) before the first burst: use more --contacts or --latency`);
    await new Promise((r) => setTimeout(r, 20));
  }
  startedAfter = (performance.now() - t0) / 1000;
  const tBursts = performance.now();
  const latencies: number[] = [];
  const answers = new Map<number, number>();
  let duplicatesConfirmed = 0;
  const sentAt = new Map<string, number>();
  const post = async (body: string): Promise<{ status: number; json: Record<string, unknown> }> => {
    // A re-sent event is signed again, as a sender retrying would: with its own timestamp (one
    // second before the first send's, so that the signature differs even within the same second).
    const first = sentAt.get(body);
    const ts = first === undefined ? Math.floor(Date.now() / 1000) : first - 1;
    if (first === undefined) sentAt.set(body, ts);
    const signature = createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
    const s = performance.now();
    const res = await fetch(`${origin}/hooks/crm/${organization}`, {
      method: 'POST', body,
      headers: { 'content-type': 'application/json', 'x-sunset-timestamp': String(ts), 'x-sunset-signature': `sha256=${signature}` },
    });
    const json = (await res.json()) as Record<string, unknown>;
    latencies.push(performance.now() - s);
    answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
    return { status: res.status, json };
  };
  const bodies = targets.map((c) => JSON.stringify({ crm_account_id: c.crm, status: 'Churned', event_id: `bench-${randomUUID()}` }));
  let runStateAtLastBurst = '';
  let changedAtLastBurst = 0;
  for (let i = 0; i < bodies.length; i += BURST) {
    const burst = bodies.slice(i, i + BURST);
    // Each burst also re-sends a tenth of the previous burst's events: duplicates.
    const again = i === 0 ? [] : bodies.slice(i - BURST, i - BURST + Math.round(BURST / 10));
    const results = await Promise.all([...burst.map(post), ...again.map(async (b) => {
      const r = await post(b);
      if (r.status === 200 && r.json['duplicate'] === true) duplicatesConfirmed++;
      return r;
    })]);
    for (const r of results) if (r.status !== 202 && r.status !== 200) throw new Error(`a webhook answered ${r.status}: ${JSON.stringify(r.json)}`);
    const d = await api<{ run: { state: string }; counts: Record<string, number> }>('GET', `/api/runs/${runId}`);
    runStateAtLastBurst = d.run.state;
    changedAtLastBurst = d.counts['changed'] ?? 0;
    if (GAP > 0) await new Promise((r) => setTimeout(r, GAP));
  }
  const sentSeconds = (performance.now() - tBursts) / 1000;

  // ---- wait until everything settles ----
  const metric = (text: string, name: string, labels: Record<string, string>): number => {
    let total = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name}{`)) continue;
      if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').pop());
    }
    return total;
  };
  let states: Record<string, number> = {};
  let runDetail: { run: { state: string }; counts: Record<string, number> };
  for (;;) {
    const m = await api<string>('GET', '/metrics');
    states = Object.fromEntries(['accepted', 'processing', 'applied', 'unchanged', 'unmatched', 'ignored', 'failed', 'duplicate'].map((st) => [st, metric(m, 'sunset_webhook_events', { organization_id: organization, state: st })]));
    runDetail = await api('GET', `/api/runs/${runId}`);
    if (states['accepted'] === 0 && states['processing'] === 0 && ['done', 'failed'].includes(runDetail.run.state)) break;
    if (performance.now() - t0 > 15 * 60_000) throw new Error(`not settled after 15 minutes: ${JSON.stringify(states)} run ${runDetail.run.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const settledSeconds = (performance.now() - t0) / 1000;

  // ---- the emulator's view ----
  const successes = new Map<string, number>();
  let statusCalls = 0;
  let dropped = 0;
  for (let since = reqStart; ;) {
    const page = (await (await fetch(`${info.accountsUrl}/__emulator/requests?since=${since}&limit=5000&method=POST&path_prefix=/books/v3/contacts`)).json()) as { requests: Array<{ path: string; status: number; code: number }>; next_seq: number; dropped: number };
    dropped = page.dropped;
    for (const r of page.requests) {
      const m = /\/contacts\/(\d+)\/(active|inactive)$/.exec(r.path);
      if (!m) continue;
      statusCalls++;
      if (r.status === 200 && r.code === 0) successes.set(m[1]!, (successes.get(m[1]!) ?? 0) + 1);
    }
    if (page.requests.length === 0 || page.next_seq <= since) break;
    since = page.next_seq;
  }
  const twice = [...successes.values()].filter((n) => n > 1).length;
  let notInactive = 0;
  for (const c of targets) if ((await reader.contacts.get(c.id)).status !== 'inactive') notInactive++;
  const unique = states['applied']! + states['unchanged']! + states['unmatched']! + states['ignored']! + states['failed']!;
  const sorted = [...latencies].sort((a, b) => a - b);
  const figures = {
    events: EVENTS, duplicatesSent: latencies.length - EVENTS, duplicatesConfirmed, burst: BURST, gapMs: GAP, contacts: CONTACTS, planSteps: plan.steps, overlap: inPlan.length,
    answers: Object.fromEntries(answers), states, runState: runDetail.run.state, runStartedAfterSeconds: startedAfter, runStateAtLastBurst, changedAtLastBurst, runCounts: runDetail.counts,
    acceptMs: { p50: pct(sorted, 50), p95: pct(sorted, 95), p99: pct(sorted, 99), max: sorted[sorted.length - 1]! },
    sentSeconds, settledSeconds, statusCalls, contactsChangedTwice: twice, eventContactsNotInactive: notInactive, requestLogDropped: dropped,
    cpus: cpus().length,
  };
  // One at a time, the events outlast the run: the later ones no longer overlap it. That is a
  // figure to read, not a failure: every event still has to be accounted for.
  const overlapped = runStateAtLastBurst === 'running';
  const ok = unique === EVENTS && states['failed'] === 0 && states['unmatched'] === 0 && twice === 0 && notInactive === 0 && dropped === 0
    && duplicatesConfirmed === latencies.length - EVENTS && runDetail.run.state === 'done' && (runDetail.counts['failed'] ?? 0) === 0;

  console.log(`webhook load: ${EVENTS} events (+${figures.duplicatesSent} duplicates) in bursts of ${BURST} every ${GAP} ms, while a ${plan.steps}-step run applied (${CONTACTS} contacts; ${inPlan.length} events name a contact the run also changes; ${LATENCY} ms per status change)`);
  console.log(`  answers: ${JSON.stringify(figures.answers)}; duplicates recognised ${duplicatesConfirmed}/${figures.duplicatesSent}`);
  console.log(`  acceptance latency: p50 ${ms(figures.acceptMs.p50)}, p95 ${ms(figures.acceptMs.p95)}, p99 ${ms(figures.acceptMs.p99)}, max ${ms(figures.acceptMs.max)}`);
  console.log(`  the run was changing contacts ${startedAfter.toFixed(1)} s after approval; the bursts took ${sentSeconds.toFixed(1)} s; after the last one the run was ${runStateAtLastBurst} with ${changedAtLastBurst}/${plan.steps} changed; everything settled ${settledSeconds.toFixed(1)} s after approval`);
  console.log(`  event states: ${JSON.stringify(states)} (unique events accounted for: ${unique}/${EVENTS})`);
  console.log(`  run: ${runDetail.run.state} ${JSON.stringify(runDetail.counts)}`);
  console.log(`  emulator: ${statusCalls} status-change calls, contacts changed twice: ${twice}, event contacts not inactive: ${notInactive}, log entries dropped: ${dropped}`);
  if (!overlapped) console.log('  (the run ended before the last event: the later events did not overlap it)');
  console.log(ok ? '  OK: none lost, none applied twice' : '  FAILED: see the figures above');
  if (values.json) console.log(JSON.stringify(figures));
  if (!ok) process.exitCode = 1;
} finally {
  await procs.stopAll();
  rmSync(dir, { recursive: true, force: true });
}
