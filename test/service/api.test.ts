/**
 * The JSON API of `sunset serve` (docs/service-api.md), signed in, through the in-process service's
 * fetch (test/helpers/service.ts) against a real emulator over HTTP; answers are read as the
 * shapes of src/service/api-types.ts: policies, schedules and webhook settings, scan → plan in
 * the background (followed on the SSE stream), the review rows, approve with an exclude list,
 * run details, undo, stop and resume, the audit trail, /api/webhooks and /metrics. What changed in
 * Books is judged from the emulator (contact statuses and its request log), not from the service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunFromPlan, parsePolicy, withExclusions, type RunCounts, type RunRecord } from '../../src/engine/index.js';
import {
  nextRun, parseCron, type CronAnswer, type ErrorBody, type OrganizationView, type PlanDetail, type PlanRows, type RunDetail, type RunListItem, type RunView, type WebhookEventView, type WebhookSaved,
} from '../../src/service/index.js';
import { parseCsvText } from '../helpers/cli.js';
import { successfulStatusChanges } from '../helpers/engine.js';
import { policyFor, signHook, startTestService, until, type HttpResult, type SignedIn, type SseEvent, type SseStream, type TestService } from '../helpers/service.js';

let s: TestService;
let session: SignedIn;
let sse: SseStream;
beforeAll(async () => {
  s = await startTestService({ contacts: 150 });
  session = await s.login();
  sse = await s.events(session);
});
afterAll(async () => s.close());

const organizationView = async (organization: string): Promise<OrganizationView> => {
  const r = await session.get<OrganizationView[]>('/api/orgs');
  expect(r.status).toBe(200);
  const found = r.json.find((o) => o.organizationId === organization);
  if (!found) throw new Error(`no org ${organization} in /api/orgs`);
  return found;
};

const runDetail = async (runId: string): Promise<RunDetail> => {
  const r = await session.get<RunDetail>(`/api/runs/${runId}`);
  expect(r.status, r.text).toBe(200);
  return r.json;
};

/** Waits until the run is in `state` and no job of the service is applying it any more. */
const settled = (runId: string, state = 'done'): Promise<RunDetail> =>
  until(async () => {
    const d = await runDetail(runId);
    const active = s.service.runner.activeJobs().some((j) => j.runId === runId);
    return d.run.state === state && !active ? d : undefined;
  }, `run ${runId} ${state}`);

/** Runs scan + plan through the API and waits for the job's `done` event; returns the plan id. */
const scanToPlan = async (organization: string): Promise<string> => {
  const r = await session.request<{ jobId: string }>('POST', `/api/orgs/${organization}/scan`);
  expect(r.status, r.text).toBe(202);
  const jobId = r.json.jobId;
  expect(jobId).toEqual(expect.any(String));
  const done = await sse.waitFor((e) => e.type === 'job' && e.data.jobId === jobId && (e.data.state === 'done' || e.data.state === 'failed'), `job ${jobId} ends`);
  expect(done.data.state, JSON.stringify(done.data)).toBe('done');
  expect(done.data.organizationId).toBe(organization);
  expect(done.data.kind).toBe('scan');
  return done.data.planId as string;
};

describe('organizations', () => {
  it('lists every reachable organization in the documented shape, nothing configured yet', async () => {
    const r = await session.get<OrganizationView[]>('/api/orgs');
    expect(r.status).toBe(200);
    expect(r.json.map((o) => o.organizationId)).toEqual(s.organizations);
    // Each organization's time zone, as Zoho names it (the emulator's demo: India and Colombia).
    expect(r.json.map((o) => o.timeZone)).toEqual([
      { zone: 'Asia/Kolkata', zoho: 'Asia/Calcutta', problem: null },
      { zone: 'America/Bogota', zoho: 'America/Bogota', problem: null },
    ]);
    for (const o of r.json) {
      expect(Object.keys(o).sort()).toEqual(['activeJob', 'client', 'contactUrl', 'lastRun', 'latestPlan', 'latestSnapshot', 'name', 'organizationId', 'plan', 'policy', 'quota', 'schedule', 'target', 'timeZone', 'webhook']);
      // On an emulator there is no Zoho Books web app to link to; nothing grouped or run yet.
      expect(o).toMatchObject({ target: s.h.port.target, contactUrl: null, client: null, lastRun: null });
      expect(o.name).toEqual(expect.any(String));
      expect(o.policy).toMatchObject({ text: '', problems: [], saved: false });
      // The starter draft is a usable policy for this organization (what `sunset policy init` writes).
      expect(parsePolicy(o.policy.draft ?? '', 'draft').organizationId).toBe(o.organizationId);
      expect(o.schedule).toEqual({ cron: null, autoApplyMax: null, nextRunAt: null, nextRuns: [], lastRunAt: null, description: null });
      expect(o.webhook.mode).toBeNull();
      expect(o.webhook.configured).toBe(false);
      expect(o.webhook.mapping.inactive.length).toBeGreaterThan(0);
      expect(o.latestSnapshot).toBeNull();
      expect(o.latestPlan).toBeNull();
      expect(o.activeJob).toBeNull();
    }
  });

  it('answers 404 for an organization that is not reachable, and 405 for a wrong method', async () => {
    for (const organization of ['123456789', 'not-an-org']) {
      const r = await session.request('PUT', `/api/orgs/${organization}/policy`, { body: { text: policyFor('123456789') } });
      expect(r.status, organization).toBe(404);
      expect((r.json as { error: string }).error).toEqual(expect.any(String));
    }
    expect((await session.request('DELETE', `/api/orgs/${s.organization}/policy`)).status).toBe(405);
    expect((await session.get('/api/nothing-here')).status).toBe(404);
  });

  it('a wrong method says which methods the path takes (Allow); a path that is not percent-encoding answers 400, not a lookup', async () => {
    const wrong = await session.request<ErrorBody>('DELETE', `/api/orgs/${s.organization}/policy`);
    expect(wrong.status).toBe(405);
    expect(wrong.json.error).toBe('DELETE is not allowed here');
    expect(wrong.headers.get('allow')).toBe('PUT');
    expect((await session.request('PUT', '/api/runs')).headers.get('allow')).toBe('GET, HEAD');
    for (const path of ['/api/runs/%E0%A4%A', '/api/plans/%ZZ/rows', `/api/orgs/${s.organization}%E0/policy`]) {
      const r = await session.get<ErrorBody>(path);
      expect(r.status, path).toBe(400);
      expect(r.json.error, path).toBe('the path is not valid percent-encoding');
    }
    // Without a session it is the same 401 as any other API path.
    expect((await s.fetch('GET', '/api/runs/%E0%A4%A')).status).toBe(401);
  });
});

describe('policy', () => {
  it('a policy with problems answers 400 with every problem and saves nothing', async () => {
    const bad = `organization_id: "${s.organization}"\ninactivity: forever\nmax_chanegs: 5\n`;
    const r = await session.request<{ error: string; problems: Array<{ line: number; column: number; path: string; message: string }> }>('PUT', `/api/orgs/${s.organization}/policy`, { body: { text: bad } });
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual(expect.any(String));
    expect(r.json.problems.length).toBeGreaterThanOrEqual(2);
    for (const p of r.json.problems) {
      expect(p).toEqual({ line: expect.any(Number), column: expect.any(Number), path: expect.any(String), message: expect.any(String) });
    }
    expect(r.json.problems.map((p) => p.line).sort()).toEqual(expect.arrayContaining([2, 3]));
    expect((await organizationView(s.organization)).policy.text).toBe('');
    expect((await s.h.journal.policy(s.organization))?.text ?? null).toBeNull();
  });

  it('a policy naming another organization, or a body without text, answers 400 and saves nothing', async () => {
    const other = await session.request('PUT', `/api/orgs/${s.organization}/policy`, { body: { text: policyFor(s.organizations[1]!) } });
    expect(other.status).toBe(400);
    expect((other.json as { error: string }).error).toContain(s.organizations[1]!);
    expect((await session.request('PUT', `/api/orgs/${s.organization}/policy`, { body: { policy: 'x' } })).status).toBe(400);
    expect((await session.request('PUT', `/api/orgs/${s.organization}/policy`, { body: '{not json' })).status).toBe(400);
    expect((await session.request('PUT', `/api/orgs/${s.organization}/policy`, { body: '[1]' })).status).toBe(400);
    expect((await s.h.journal.policy(s.organization))?.text ?? null).toBeNull();
  });

  it('a good policy is saved and shown with no problems', async () => {
    const text = policyFor(s.organization, 'max_changes: 4\n');
    const r = await session.request('PUT', `/api/orgs/${s.organization}/policy`, { body: { text } });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ policy: { text, problems: [], saved: true } });
    expect((await organizationView(s.organization)).policy).toEqual({ text, problems: [], saved: true });
  });
});

describe('schedule', () => {
  it('refuses a bad cron, a bad cap, and a schedule without a policy (400), saving nothing', async () => {
    const cases: Array<[string, unknown]> = [
      ['six fields', { cron: '0 0 2 * * *' }],
      ['three fields', { cron: '* * *' }],
      ['minute 60', { cron: '60 2 * * *' }],
      ['hour 24', { cron: '0 24 * * *' }],
      ['a word', { cron: 'daily' }],
      ['step 0', { cron: '*/0 * * * *' }],
      ['a number', { cron: 5 }],
      ['cap 0', { cron: '0 2 * * *', autoApplyMax: 0 }],
      ['cap 1.5', { cron: '0 2 * * *', autoApplyMax: 1.5 }],
      ['cap as text', { cron: '0 2 * * *', autoApplyMax: '5' }],
    ];
    for (const [name, body] of cases) {
      const r = await session.request('PUT', `/api/orgs/${s.organization}/schedule`, { body });
      expect(r.status, `${name}: ${r.text}`).toBe(400);
      expect((r.json as { error: string }).error, name).toEqual(expect.any(String));
    }
    const noPolicy = await session.request('PUT', `/api/orgs/${s.organizations[1]}/schedule`, { body: { cron: '0 2 * * *' } });
    expect(noPolicy.status).toBe(400);
    expect((await s.store.settings(s.organization)).cron).toBeNull();
    expect((await s.store.settings(s.organizations[1]!)).cron).toBeNull();
  });

  it('saves a cron (in the organization\'s time zone, Asia/Kolkata) with its next runs, and clears it with null', async () => {
    const now = s.h.clock.now();
    const r = await session.request<OrganizationView>('PUT', `/api/orgs/${s.organization}/schedule`, { body: { cron: '0 2 * * *', autoApplyMax: 50 } });
    expect(r.status, r.text).toBe(200);
    // 02:00 in Kolkata (+05:30, no daylight saving) is 20:30 UTC the day before.
    const d = new Date(now);
    const at2030 = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 20, 30, 0);
    const expected = at2030 > now ? at2030 : at2030 + 86_400_000;
    expect(r.json.organizationId).toBe(s.organization);
    // Saved, not run: no scan has run, so no last run (it showed the time of the save).
    expect(r.json.schedule).toEqual({
      cron: '0 2 * * *', autoApplyMax: 50, nextRunAt: expected, nextRuns: [expected, expected + 86_400_000, expected + 2 * 86_400_000],
      lastRunAt: null, description: 'Every day at 02:00 Asia/Kolkata time.',
    });
    expect((await organizationView(s.organization)).schedule.lastRunAt).toBeNull();
    expect((await organizationView(s.organization)).schedule.nextRunAt).toBe(expected);
    const cleared = await session.request<OrganizationView>('PUT', `/api/orgs/${s.organization}/schedule`, { body: { cron: null, autoApplyMax: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.json.schedule.cron).toBeNull();
    expect(cleared.json.schedule.nextRunAt).toBeNull();
    expect(await s.service.tick()).toEqual([]);
  });
});

describe('the cron helper (GET /api/cron)', () => {
  const ask = async (expr: string): Promise<CronAnswer> => {
    const r = await session.get<CronAnswer>(`/api/cron?expr=${encodeURIComponent(expr)}`);
    expect(r.status, r.text).toBe(200);
    return r.json;
  };

  it('describes a valid expression with its next three runs, from the service\'s clock', async () => {
    const answer = await ask(' 30  6 * * 1-5 ');
    const first = nextRun(parseCron('30 6 * * 1-5'), s.h.clock.now())!;
    const second = nextRun(parseCron('30 6 * * 1-5'), first)!;
    expect(answer).toEqual({
      valid: true, expression: '30 6 * * 1-5', description: 'Every Monday to Friday at 06:30 UTC.',
      next: [first, second, nextRun(parseCron('30 6 * * 1-5'), second)!], timeZone: 'UTC',
    });
    const daily = await ask('0 2 * * *');
    expect(daily.valid).toBe(true);
    expect(daily.valid && daily.description).toBe('Every day at 02:00 UTC.');
  });

  it('with ?org=, in that organization\'s time zone; an organization out of reach is a 404', async () => {
    const r = await session.get<CronAnswer>(`/api/cron?expr=${encodeURIComponent('30 6 * * 1-5')}&org=${s.organization}`);
    expect(r.status, r.text).toBe(200);
    const cron = parseCron('30 6 * * 1-5');
    const first = nextRun(cron, s.h.clock.now(), 'Asia/Kolkata')!;
    // 06:30 in Kolkata is 01:00 UTC.
    expect(new Date(first).getUTCHours()).toBe(1);
    expect(r.json).toEqual({
      valid: true, expression: '30 6 * * 1-5', description: 'Every Monday to Friday at 06:30 Asia/Kolkata time.', timeZone: 'Asia/Kolkata',
      next: [first, nextRun(cron, first, 'Asia/Kolkata')!, nextRun(cron, nextRun(cron, first, 'Asia/Kolkata')!, 'Asia/Kolkata')!],
    });
    expect((await session.get(`/api/cron?expr=0+2+*+*+*&org=999999999`)).status).toBe(404);
  });

  it('says what is wrong with an invalid expression, and never describes it', async () => {
    for (const [expr, error] of [
      ['61 2 * * *', /minute: 61 is outside 0-59/],
      ['0 24 * * *', /hour: 24 is outside 0-23/],
      ['0 2 * *', /5 fields.*got 4/],
      ['', /5 fields.*got 0/],
      ['daily', /5 fields.*got 1/],
      ['0 2 * * funday', /day of week: "funday" is not a number or a name/],
      ['*/0 * * * *', /minute: step "0"/],
    ] as const) {
      const answer = await ask(expr);
      expect(answer, expr).toEqual({ valid: false, error: expect.stringMatching(error) });
    }
  });

  it('agrees with Save: what it calls valid saves, what it calls invalid is refused', async () => {
    const before = await s.store.settings(s.organization);
    expect(await s.h.journal.policy(s.organization), 'a schedule needs the policy saved above').toBeDefined();
    for (const expr of ['0 2 * * *', '61 2 * * *', '0 0 31 4 *', '5/20 3 * * *', '0 0 * * 8', '1,,2 * * * *', '0 0 29 2 mon', '*/15 9-17 * jan-mar 1-5']) {
      const answer = await ask(expr);
      const saved = await session.request('PUT', `/api/orgs/${s.organization}/schedule`, { body: { cron: expr, autoApplyMax: null } });
      expect(saved.status, `${expr}: ${saved.text}`).toBe(answer.valid ? 200 : 400);
      if (!answer.valid) expect((saved.json as { error: string }).error).toBe(`cron: ${answer.error}`);
    }
    // A date that never comes is valid but never runs: no next times.
    expect(await ask('0 0 31 4 *')).toMatchObject({ valid: true, description: 'On day 31 of April at 00:00 UTC.', next: [] });
    expect((await session.request('PUT', `/api/orgs/${s.organization}/schedule`, { body: { cron: before.cron, autoApplyMax: before.autoApplyMax } })).status).toBe(200);
    expect(await s.service.tick()).toEqual([]);
  });

  it('without ?expr answers 400', async () => {
    const r = await session.get<{ error: string }>('/api/cron');
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/expr/);
  });
});

describe('webhook settings', () => {
  let secret = '';
  it('the first save creates a secret, shown only in that answer', async () => {
    const r = await session.request<WebhookSaved>('PUT', `/api/orgs/${s.organization}/webhook`, { body: { mode: 'hmac' } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.secret).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    secret = r.json.secret!;
    expect(r.json.webhook.mode).toBe('hmac');
    expect(r.json.webhook.configured).toBe(true);
    const list = await session.get<OrganizationView[]>('/api/orgs');
    expect(list.text).not.toContain(secret);
    expect(list.json.find((o) => o.organizationId === s.organization)!.webhook).toMatchObject({ mode: 'hmac', configured: true });
    // A later save without rotateSecret keeps it and does not show it.
    const mapping = { inactive: ['Churned', 'Gone'], active: ['Active'] };
    const again = await session.request<WebhookSaved>('PUT', `/api/orgs/${s.organization}/webhook`, { body: { mapping } });
    expect(again.status).toBe(200);
    expect(again.json.secret).toBeUndefined();
    expect(again.text).not.toContain(secret);
    expect(again.json.webhook).toEqual({ mode: 'hmac', configured: true, mapping, mappingFile: null });
    expect((await s.store.settings(s.organization)).webhookSecret).toBe(secret);
    expect((await organizationView(s.organization)).webhook.mapping).toEqual(mapping);
  });

  it('refuses a bad mode or mapping (400) and keeps the settings', async () => {
    const before = await s.store.settings(s.organization);
    const cases: unknown[] = [
      { mode: 'plain' },
      { mapping: { inactive: 'Churned', active: [] } },
      { mapping: { inactive: ['Churned'], active: ['churned'] } },
      { mapping: { inactive: [''], active: [] } },
      { mapping: { inactive: [5], active: [] } },
    ];
    for (const body of cases) {
      const r = await session.request('PUT', `/api/orgs/${s.organization}/webhook`, { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect(await s.store.settings(s.organization)).toEqual(before);
  });

  it('rotating makes a new secret; the old one stops working', async () => {
    const post = (key: string, eventId: string): Promise<HttpResult> => {
      const body = JSON.stringify({ crm_account_id: '4876000000000001', status: 'Prospect', event_id: eventId });
      return s.fetch('POST', `/hooks/crm/${s.organization}`, { body, headers: { 'content-type': 'application/json', ...signHook(key, body, Math.floor(s.h.clock.now() / 1000)) } });
    };
    expect((await post(secret, 'rot-1')).status).toBe(202);
    const r = await session.request<WebhookSaved>('PUT', `/api/orgs/${s.organization}/webhook`, { body: { rotateSecret: true } });
    expect(r.status).toBe(200);
    expect(r.json.secret).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(r.json.secret).not.toBe(secret);
    expect((await post(secret, 'rot-2')).status).toBe(401);
    expect((await post(r.json.secret!, 'rot-3')).status).toBe(202);
    secret = r.json.secret!;
    const events = await session.get<WebhookEventView[]>(`/api/webhooks?org=${s.organization}`);
    expect(events.status).toBe(200);
    expect(events.json).toHaveLength(2);
    expect(events.json.every((e) => e.state === 'ignored' && e.status === 'Prospect' && e.organizationId === s.organization)).toBe(true);
    expect(events.text).not.toContain(secret);
    expect((await session.get<unknown[]>(`/api/webhooks?org=${s.organizations[1]}`)).json).toEqual([]);
  });
});

describe('scan, plan, approve, undo', () => {
  let planId = '';
  let runId = '';
  let excludedId = '';

  it('a scan without a policy answers 400', async () => {
    const r = await session.request('POST', `/api/orgs/${s.organizations[1]}/scan`);
    expect(r.status).toBe(400);
  });

  it('scan → plan runs in the background, reported on the SSE stream and in /api/orgs', async () => {
    const metricsBefore = await metrics();
    const seq = await s.h.lastSeq();
    planId = await scanToPlan(s.organization);
    expect(planId).toMatch(/^plan_/);
    const view = await organizationView(s.organization);
    expect(view.latestPlan).toMatchObject({ planId, steps: 4, runId: null });
    expect(view.latestSnapshot?.contactCount).toBeGreaterThan(0);
    expect(view.activeJob).toBeNull();
    expect(view.quota?.remaining).toEqual(expect.any(Number));
    const running = sse.events.filter((e) => e.type === 'job' && e.data.state === 'running' && e.data.organizationId === s.organization);
    expect(running.length).toBeGreaterThan(0);
    // The API calls metric counts exactly the Books calls the scan made (the emulator's log).
    const calls = (await s.h.requests({ since: seq })).filter((e) => e.path.startsWith('/books/v3/')).length;
    const metricsAfter = await metrics();
    expect(calls).toBeGreaterThan(0);
    expect(sample(metricsAfter, 'sunset_api_calls_total') - sample(metricsBefore, 'sunset_api_calls_total')).toBe(calls);
  });

  it('the plan and its review rows', async () => {
    const r = await session.get<PlanDetail>(`/api/plans/${planId}`);
    expect(r.status).toBe(200);
    expect(r.json.runId).toBeNull();
    expect(r.json.plan).toMatchObject({ planId, organizationId: s.organization, policyText: policyFor(s.organization, 'max_changes: 4\n') });
    expect(r.json.plan).toHaveProperty('asOf');
    expect(r.json.plan).toHaveProperty('cutoffDate');
    expect(r.json.plan).toHaveProperty('summary');
    expect(r.json.plan).not.toHaveProperty('steps');
    const rows = await session.get<PlanRows>(`/api/plans/${planId}/rows`);
    expect(rows.status).toBe(200);
    expect(rows.json.columns).toEqual(['contactId', 'contactName', 'contactType', 'effect', 'reasons', 'lastActivityDate', 'lastActivityType', 'receivable', 'payable', 'credits', 'createdTime', 'detail', 'lastActivity']);
    const plan = await withExclusions(s.h.journal, (await s.h.journal.getPlan(planId))!);
    expect(rows.json.rows).toHaveLength(plan.steps.length + plan.excluded.length);
    for (const row of rows.json.rows) {
      expect(row).toHaveLength(13);
      expect(['deactivate', 'activate', 'excluded']).toContain(row[3]);
      // The last activity in words: a real one from the whole history, or "never traded".
      expect(String(row[12])).toMatch(/^(never traded|[a-z ]+ \S* ?on \d{4}-\d{2}-\d{2})$/);
    }
    const steps = rows.json.rows.filter((row) => row[3] !== 'excluded');
    expect(steps.map((row) => row[0])).toEqual(plan.steps.map((st) => st.contactId));
    const excluded = rows.json.rows.filter((row) => row[3] === 'excluded');
    expect(excluded.map((row) => row[4])).toEqual(plan.excluded.map((e) => e.reasons.join(';')));
    expect((await session.get(`/api/plans/plan_nope`)).status).toBe(404);
    expect((await session.get(`/api/plans/plan_nope/rows`)).status).toBe(404);
  });

  it('approve with an exclude list applies the other steps and leaves the excluded contact alone', async () => {
    const plan = (await s.h.journal.getPlan(planId))!;
    expect(plan.steps.length).toBe(4);
    excludedId = plan.steps[1]!.contactId;
    const others = plan.steps.filter((st) => st.contactId !== excludedId).map((st) => st.contactId);
    for (const st of plan.steps) expect(await s.status(st.contactId)).toBe('active');
    const badExclude = await session.request('POST', `/api/plans/${planId}/approve`, { body: { exclude: 'x' } });
    expect(badExclude.status).toBe(400);
    const seq = await s.h.lastSeq();
    const r = await session.request<{ runId: string }>('POST', `/api/plans/${planId}/approve`, { body: { exclude: [excludedId] } });
    expect(r.status, r.text).toBe(202);
    runId = r.json.runId;
    const detail = await settled(runId);
    expect(detail.run).toMatchObject({ runId, planId, organizationId: s.organization, kind: 'plan', createdBy: 'admin' });
    expect(detail.counts).toMatchObject({ total: 3, changed: 3, pending: 0, inFlight: 0, failed: 0 });
    expect(detail.steps.map((st) => st.contactId).sort()).toEqual([...others].sort());
    for (const id of others) expect(await s.status(id)).toBe('inactive');
    expect(await s.status(excludedId)).toBe('active');
    const changes = successfulStatusChanges(await s.h.requests({ since: seq }));
    expect(changes.has(excludedId)).toBe(false);
    expect([...changes.keys()].sort()).toEqual([...others].sort());
    await sse.waitFor((e) => e.type === 'run' && e.data.runId === runId && e.data.state === 'done', 'the run done event');
    const runEvent = sse.events.find((e) => e.type === 'run' && e.data.runId === runId)!;
    expect(runEvent.data).toMatchObject({ runId, organizationId: s.organization });
    expect(runEvent.data.counts).toEqual(expect.objectContaining({ total: 3 }));
    expect((await session.get<{ runId: string }>(`/api/plans/${planId}`)).json.runId).toBe(runId);
    expect((await organizationView(s.organization)).latestPlan?.runId).toBe(runId);
  });

  it('a second approve answers 409 and creates nothing', async () => {
    const before = (await s.h.journal.listRuns(s.organization)).length;
    const r = await session.request<{ error: string; runId: string }>('POST', `/api/plans/${planId}/approve`, { body: { exclude: [] } });
    expect(r.status).toBe(409);
    expect(r.json.runId).toBe(runId);
    expect((await s.h.journal.listRuns(s.organization)).length).toBe(before);
    expect((await session.request('POST', '/api/plans/plan_nope/approve', { body: {} })).status).toBe(404);
  });

  it('run list and run details', async () => {
    const list = await session.get<RunListItem[]>(`/api/runs?org=${s.organization}`);
    expect(list.status).toBe(200);
    expect(list.json.map((x) => x.run.runId)).toContain(runId);
    expect(list.json.find((x) => x.run.runId === runId)!.counts.changed).toBe(3);
    expect((await session.get<unknown[]>(`/api/runs?org=${s.organizations[1]}`)).json).toEqual([]);
    const d = await runDetail(runId);
    expect(d.steps).toHaveLength(3);
    expect(d.steps.every((st) => st.state === 'done' && st.outcome === 'changed')).toBe(true);
    expect(d.undoneBy).toBeNull();
    expect((await session.get('/api/runs/run-nope')).status).toBe(404);
  });

  it('undo reverts the run\'s changes, once: a second undo (even sent at the same moment) is refused', async () => {
    // The defect: POST /api/runs/X/undo twice made two undo runs.
    const both = await Promise.all([0, 1].map(() => session.request<{ runId: string; error?: string }>('POST', `/api/runs/${runId}/undo`)));
    expect(both.map((x) => x.status).sort()).toEqual([202, 409]);
    const r = both.find((x) => x.status === 202)!;
    const refused = both.find((x) => x.status === 409)!;
    expect(refused.json.error).toMatch(new RegExp(`^Run ${runId} is already being undone by run ${r.json.runId}|^Run ${runId} was already undone by run ${r.json.runId}`));
    expect((await s.h.journal.listRuns(s.organization)).filter((x) => x.undoOf === runId)).toHaveLength(1);
    expect(r.json.runId).not.toBe(runId);
    const d = await settled(r.json.runId);
    expect(d.run).toMatchObject({ kind: 'undo', undoOf: runId, createdBy: 'admin' });
    expect(d.counts).toMatchObject({ total: 3, changed: 3 });
    // The run names its undo, so the UI offers no second one; the undo has none.
    expect((await runDetail(runId)).undoneBy).toBe(r.json.runId);
    expect(d.undoneBy).toBeNull();
    for (const st of d.steps) expect(await s.status(st.contactId)).toBe('active');
    expect([400, 404]).toContain((await session.request('POST', '/api/runs/run-nope/undo')).status);
  });

  it('the audit trail as JSON and CSV, the same rows as the journal', async () => {
    const json = await session.get<Array<Record<string, string>>>(`/api/audit?org=${s.organization}&format=json`);
    expect(json.status).toBe(200);
    const journalRows = await s.h.journal.audit({ organizationId: s.organization });
    expect(json.json).toHaveLength(journalRows.length);
    expect(json.json).toHaveLength(6);
    expect(json.json.filter((row) => row.run_id === runId).every((row) => row.to === 'inactive' && row.who === 'admin')).toBe(true);
    expect(json.json.map((row) => row.contact_id)).not.toContain(excludedId);
    const csv = await session.get(`/api/audit?org=${s.organization}&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const table = parseCsvText(csv.text);
    expect(table[0]).toEqual(['who', 'when', 'organization_id', 'run_id', 'run_kind', 'contact_id', 'contact_name', 'from', 'to', 'why']);
    expect(table.slice(1).map((row) => row[3])).toEqual(json.json.map((row) => row.run_id));
    expect((await session.get<unknown[]>(`/api/audit?org=${s.organizations[1]}&format=json`)).json).toEqual([]);
  });
});

describe('stop and resume', () => {
  it('stop pauses a run after the calls in flight; resume finishes it', async () => {
    const text = policyFor(s.organization, 'max_changes: 15\n');
    expect((await session.request('PUT', `/api/orgs/${s.organization}/policy`, { body: { text } })).status).toBe(200);
    const planId = await scanToPlan(s.organization);
    const plan = (await s.h.journal.getPlan(planId))!;
    expect(plan.steps.length).toBe(15);
    // Each status change takes a while, so the run is still going when the stop arrives.
    const fault = await s.h.t.admin('POST', '/__emulator/faults', { faults: ['latency:250,method=POST,path=/contacts/*/inactive'] });
    expect(fault.status).toBe(200);
    const approved = await session.request<{ runId: string }>('POST', `/api/plans/${planId}/approve`, { body: { exclude: [] } });
    expect(approved.status).toBe(202);
    const runId = approved.json.runId;
    await sse.waitFor((e) => e.type === 'run' && e.data.runId === runId && ((e.data.counts as RunCounts | undefined)?.changed ?? 0) > 0, 'the first changes');
    expect((await organizationView(s.organization)).activeJob).toEqual({ kind: 'apply', id: runId });
    const stop = await session.request('POST', `/api/runs/${runId}/stop`);
    expect(stop.status, stop.text).toBe(202);
    const paused = await settled(runId, 'paused');
    expect(paused.counts.pending).toBeGreaterThan(0);
    expect(paused.counts.inFlight).toBe(0);
    expect(paused.counts.changed).toBeGreaterThan(0);
    expect((await session.request('POST', `/api/runs/${runId}/stop`)).status, 'stopping a run that is not running').toBe(409);
    await s.h.t.admin('DELETE', '/__emulator/faults');
    const seq = await s.h.lastSeq();
    const resumed = await session.request('POST', `/api/runs/${runId}/resume`);
    expect(resumed.status, resumed.text).toBe(202);
    const done = await settled(runId);
    expect(done.counts).toMatchObject({ total: 15, changed: 15, pending: 0 });
    // The resume did only what was left.
    const changes = successfulStatusChanges(await s.h.requests({ since: seq }));
    expect(changes.size).toBe(paused.counts.pending);
    expect((await session.request('POST', `/api/runs/${runId}/resume`)).status, 'resuming a finished run').toBe(409);
    expect((await session.request('POST', '/api/runs/run-nope/resume')).status).toBe(404);
  });
});

describe('webhook list, SSE and metrics', () => {
  it('the SSE stream carried run, job and webhook events in the documented shapes', () => {
    const job = sse.events.find((e) => e.type === 'job');
    expect(job?.data).toEqual(expect.objectContaining({ jobId: expect.any(String), organizationId: s.organization, kind: 'scan', state: expect.any(String) }));
    const run = sse.events.find((e) => e.type === 'run');
    expect(run?.data).toEqual(expect.objectContaining({ runId: expect.any(String), organizationId: s.organization, state: expect.any(String), counts: expect.any(Object) }));
    const webhook = sse.events.find((e) => e.type === 'webhook');
    expect(webhook?.data).toEqual({ eventId: expect.stringMatching(/^evt_/), organizationId: s.organization, state: 'ignored' });
  });

  it('/metrics has the documented metrics, and the numbers match the journal and the events', async () => {
    await s.h.t.admin('POST', '/__emulator/faults', { faults: ['429,code=1070,count=1,method=GET,path=/contacts'] });
    const before = await metrics();
    await scanToPlan(s.organization);
    const text = await metrics();
    expect(sample(text, 'sunset_api_rate_limited_total') - sample(before, 'sunset_api_rate_limited_total')).toBe(1);
    for (const [name, type] of [
      ['sunset_runs', 'gauge'], ['sunset_steps', 'gauge'], ['sunset_api_calls_total', 'counter'], ['sunset_api_rate_limited_total', 'counter'],
      ['sunset_quota_remaining', 'gauge'], ['sunset_webhook_events', 'gauge'],
    ]) {
      expect(text, name).toMatch(new RegExp(`^# HELP ${name} .+$`, 'm'));
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name} ${type}$`, 'm'));
    }
    // Runs by organization, kind and state.
    const runs = await s.h.journal.listRuns();
    const byKind = new Map<string, number>();
    for (const r of runs) byKind.set(`${r.organizationId}|${r.kind}|${r.state}`, (byKind.get(`${r.organizationId}|${r.kind}|${r.state}`) ?? 0) + 1);
    expect(byKind.get(`${s.organization}|plan|done`)).toBe(2);
    expect(byKind.get(`${s.organization}|undo|done`)).toBe(1);
    for (const [key, n] of byKind) {
      const [organization, kind, state] = key.split('|');
      expect(sample(text, `sunset_runs{organization_id="${organization}",kind="${kind}",state="${state}"}`), key).toBe(n);
    }
    expect(lines(text, 'sunset_runs{')).toHaveLength(byKind.size);
    // Steps by outcome.
    const outcomes = new Map<string, number>();
    for (const r of runs) {
      for (const st of await s.h.journal.steps(r.runId)) {
        const outcome = st.state === 'done' ? st.outcome ?? 'unchanged' : st.state;
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    }
    expect(outcomes.get('changed')).toBe(3 + 3 + 15);
    for (const [outcome, n] of outcomes) expect(sample(text, `sunset_steps{organization_id="${s.organization}",outcome="${outcome}"}`), outcome).toBe(n);
    // API calls and quota.
    expect(sample(text, 'sunset_api_calls_total')).toBe(s.stats().apiCalls);
    const view = await organizationView(s.organization);
    expect(sample(text, `sunset_quota_remaining{organization_id="${s.organization}"}`)).toBe(view.quota!.remaining);
    // Webhook events by state, as /api/webhooks lists them.
    const events = (await session.get<Array<{ state: string }>>('/api/webhooks')).json;
    expect(events.length).toBe(2);
    expect(sample(text, `sunset_webhook_events{organization_id="${s.organization}",state="ignored"}`)).toBe(events.length);
  });

  it('/metrics also has Node\'s own metrics and latency histograms per route and per Zoho call outcome (prom-client)', async () => {
    await session.get('/api/orgs');
    const text = await metrics();
    // Process, event loop and GC, from prom-client's default collectors.
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds_count']) {
      expect(text, name).toMatch(new RegExp(`^${name}(\\{[^}]*\\})? \\S+$`, 'm'));
    }
    // Answers by route pattern (never by path: an id is not a label), method and status.
    expect(text).toMatch(/^# TYPE sunset_http_request_duration_seconds histogram$/m);
    expect(sample(text, 'sunset_http_request_duration_seconds_count{method="GET",route="/api/orgs",status="200"}')).toBeGreaterThanOrEqual(1);
    expect(lines(text, 'sunset_http_request_duration_seconds_count{').some((l) => /route="\/api\/runs\/:run"/.test(l))).toBe(true);
    expect(lines(text, 'sunset_http_request_duration_seconds_count{').filter((l) => /route="[^"]*\d{6,}/.test(l))).toEqual([]);
    // Zoho calls by outcome: the scans above were answered 200, and one 429 (1070) was injected.
    expect(text).toMatch(/^# TYPE sunset_zoho_call_duration_seconds histogram$/m);
    expect(sample(text, 'sunset_zoho_call_duration_seconds_count{outcome="2xx",code="0"}')).toBeGreaterThan(10);
    expect(sample(text, 'sunset_zoho_call_duration_seconds_count{outcome="429",code="1070"}')).toBe(1);
    expect(sample(text, 'sunset_zoho_call_duration_seconds_count{outcome="2xx",code="0"}') + 1).toBeLessThanOrEqual(sample(text, 'sunset_api_calls_total'));
  });
});

describe('verify, true run states and links to Zoho Books', () => {
  const page = async (runId: string): Promise<RunDetail> => {
    const r = await session.get<RunDetail>(`/api/runs/${runId}`);
    expect(r.status, r.text).toBe(200);
    return r.json;
  };
  /** The done plan run with the most steps (the one stopped and resumed above). */
  const biggestDoneRun = async (): Promise<RunRecord> => {
    const runs = (await s.h.journal.listRuns(s.organization)).filter((r) => r.kind === 'plan' && r.state === 'done');
    const sized = await Promise.all(runs.map(async (r) => ({ r, n: (await s.h.journal.runCounts(r.runId)).total })));
    return sized.sort((a, b) => b.n - a.n)[0]!.r;
  };
  const verifyAndWait = async (runId: string): Promise<SseEvent> => {
    const r = await session.request<{ jobId: string; runId: string }>('POST', `/api/runs/${runId}/verify`);
    expect(r.status, r.text).toBe(202);
    expect(r.json).toEqual({ jobId: expect.any(String), runId });
    return sse.waitFor((e) => e.type === 'job' && e.data.jobId === r.json.jobId && e.data.state !== 'running', `verify job ${r.json.jobId} ends`);
  };

  it('verify of a done plan run: 202, its progress and verdict on the event stream, the result kept on the run', async () => {
    const run = await biggestDoneRun();
    const before = await page(run.runId);
    expect(before).toMatchObject({ verification: null, verifiable: true, contactUrl: null });
    expect(before.run).toMatchObject({ state: 'done', status: 'done', applying: false });
    // The first read is slow, so the job is still at work when a second request comes.
    await s.h.t.admin('POST', '/__emulator/faults', { faults: ['latency:1000,method=GET,count=1'] });
    const r = await session.request<{ jobId: string; runId: string }>('POST', `/api/runs/${run.runId}/verify`);
    expect(r.status, r.text).toBe(202);
    const twice = await session.request<{ error: string }>('POST', `/api/runs/${run.runId}/verify`);
    expect(twice.status).toBe(409);
    expect(twice.json.error).toBe(`run ${run.runId} is already being verified`);
    const done = await sse.waitFor((e) => e.type === 'job' && e.data.jobId === r.json.jobId && e.data.state !== 'running', 'the verify job ends');
    await s.h.t.admin('DELETE', '/__emulator/faults');
    expect(done.data).toEqual({ jobId: r.json.jobId, kind: 'verify', runId: run.runId, organizationId: s.organization, state: 'done', ok: true, message: 'no history lost' });
    const progress = sse.events.filter((e) => e.type === 'job' && e.data.jobId === r.json.jobId && e.data.state === 'running');
    expect(progress.length).toBeGreaterThan(0);
    for (const e of progress) expect(e.data).toMatchObject({ kind: 'verify', runId: run.runId, organizationId: s.organization, message: expect.any(String) });
    // Nothing traded: what it read now is what the scan counted before the run.
    const counted = await s.h.journal.getFingerprint(run.runId, 'before');
    const after = await page(run.runId);
    expect(after.verification).toMatchObject({
      verifiedAt: expect.any(Number), ok: true,
      result: {
        runId: run.runId, ok: true, hasBefore: true, differences: [], before: { source: 'snapshot' },
        transactions: counted.reduce((n, row) => n + row.count, 0), totalCents: counted.reduce((n, row) => n + row.totalCents, 0),
        contacts: new Set(counted.map((row) => row.contactId)).size,
      },
    });
    expect(counted.length).toBeGreaterThan(0);
  });

  it('a document created since is explained; one deleted is a loss: the verdict and the kept result say which', async () => {
    const run = await biggestDoneRun();
    const counted = await s.h.journal.getFingerprint(run.runId, 'before');
    const steps = await s.h.journal.steps(run.runId);
    const customer = steps.find((st) => st.contactType === 'customer')!;
    const lostRow = counted.find((row) => row.count > 0 && row.contactId !== customer.contactId)!;
    expect(lostRow, 'a contact of the run with a transaction').toBeDefined();
    await s.advance(5);
    // An estimate is allowed for an inactive customer: trading, not a loss.
    const created = await s.h.t.call('POST', '/estimates', { body: { customer_id: customer.contactId, line_items: [{ name: 'Quote', rate: 42.5, quantity: 2 }] } });
    expect([200, 201]).toContain(created.status);
    // A transaction deleted with nothing modified to explain it.
    const db = s.h.t.emulator.store.db;
    const gone = db.prepare('SELECT transaction_id FROM transactions WHERE contact_id = ? AND type = ? LIMIT 1').get(lostRow.contactId, lostRow.transactionType) as { transaction_id: string };
    db.prepare('DELETE FROM transactions WHERE transaction_id = ?').run(gone.transaction_id);

    const done = await verifyAndWait(run.runId);
    expect(done.data).toMatchObject({ state: 'done', ok: false, message: '1 unexplained differences' });
    const v = (await page(run.runId)).verification!;
    expect(v.ok).toBe(false);
    const estimatesBefore = counted.find((row) => row.contactId === customer.contactId && row.transactionType === 'estimates');
    expect(v.result.differences).toEqual(expect.arrayContaining([
      {
        contactId: customer.contactId, transactionType: 'estimates',
        before: { count: estimatesBefore?.count ?? 0, totalCents: estimatesBefore?.totalCents ?? 0 },
        after: { count: (estimatesBefore?.count ?? 0) + 1, totalCents: (estimatesBefore?.totalCents ?? 0) + 8500 },
        explained: expect.stringMatching(/^traded since .*: estimate .* was created or changed$/),
      },
      expect.objectContaining({ contactId: lostRow.contactId, transactionType: lostRow.transactionType, before: { count: lostRow.count, totalCents: lostRow.totalCents }, explained: null }),
    ]));
    expect(v.result.differences).toHaveLength(2);
  });

  it('a CRM run has no count from before it: not verifiable, and verify answers 409 and starts nothing', async () => {
    const setup = await session.request<{ secret: string }>('PUT', `/api/orgs/${s.organization}/webhook`, { body: { rotateSecret: true } });
    expect(setup.status, setup.text).toBe(200);
    // An active contact: a step of a fresh plan (plans made at one emulated instant tie for "latest").
    const fresh = (await s.h.journal.getPlan(await scanToPlan(s.organization)))!;
    const contactId = fresh.steps[0]!.contactId;
    expect(await s.status(contactId)).toBe('active');
    const body = JSON.stringify({ books_contact_id: contactId, status: 'Churned', event_id: 'api-verify-crm-1' });
    const hook = await s.fetch('POST', `/hooks/crm/${s.organization}`, { body, headers: { 'content-type': 'application/json', ...signHook(setup.json.secret, body, Math.floor(s.h.clock.now() / 1000)) } });
    expect(hook.status, hook.text).toBe(202);
    await s.service.processWebhooks();
    expect(await s.status(contactId)).toBe('inactive');
    const crm = (await s.h.journal.listRuns(s.organization)).find((r) => r.kind === 'crm')!;
    const view = await page(crm.runId);
    expect(view).toMatchObject({ verifiable: false, verification: null });
    const jobsBefore = sse.events.filter((e) => e.type === 'job' && e.data.kind === 'verify').length;
    const r = await session.request<{ error: string }>('POST', `/api/runs/${crm.runId}/verify`);
    expect(r.status).toBe(409);
    expect(r.json.error).toMatch(/no record of its contacts' transactions from before it ran/);
    expect(s.service.runner.activeJobs()).toEqual([]);
    expect(await s.h.journal.latestVerification(crm.runId)).toBeUndefined();
    expect(sse.events.filter((e) => e.type === 'job' && e.data.kind === 'verify').length).toBe(jobsBefore);
    expect((await session.request('POST', '/api/runs/run-nope/verify')).status).toBe(404);
  });

  it('a run approved but applied by no process is pending and not applying; left running without a driver it is interrupted; Resume applies it', async () => {
    const plan = (await s.h.journal.getPlan(await scanToPlan(s.organization)))!;
    expect(plan.steps.length).toBeGreaterThanOrEqual(2);
    // What a service stopped right after an approval leaves: the run, and nobody applying it.
    const run = await createRunFromPlan(s.h.journal, { ...plan, steps: plan.steps.slice(0, 2) }, 'admin', s.h.clock.now());
    let view = await page(run.runId);
    expect(view.run).toMatchObject({ state: 'pending', status: 'pending', applying: false, driver: null });
    const listed = await session.get<Array<{ run: RunView }>>(`/api/runs?org=${s.organization}`);
    expect(listed.json.find((x) => x.run.runId === run.runId)!.run).toMatchObject({ status: 'pending', applying: false });
    expect((await session.request('POST', `/api/runs/${run.runId}/stop`)).status, 'no process to stop').toBe(409);
    // What a process killed while applying leaves: running in the journal, no live driver.
    await s.h.journal.setRunState(run.runId, 'running', s.h.clock.now());
    view = await page(run.runId);
    expect(view.run).toMatchObject({ state: 'running', status: 'interrupted', applying: false });
    expect((await session.get<Array<{ run: RunView }>>(`/api/runs?org=${s.organization}`)).json.find((x) => x.run.runId === run.runId)!.run.status).toBe('interrupted');

    await s.h.t.admin('POST', '/__emulator/faults', { faults: ['latency:400,method=POST,path=/contacts/*/inactive'] });
    const resumed = await session.request('POST', `/api/runs/${run.runId}/resume`);
    expect(resumed.status, resumed.text).toBe(202);
    // This service's job applies it now: the run says so (and Stop would reach it).
    const applying = await until(async () => {
      const v = await page(run.runId);
      return v.run.applying ? v : undefined;
    }, 'the run applied by this service');
    expect(['pending', 'running']).toContain(applying.run.status);
    const done = await settled(run.runId);
    await s.h.t.admin('DELETE', '/__emulator/faults');
    expect(done.counts).toMatchObject({ total: 2, changed: 2 });
    expect((await page(run.runId)).run).toMatchObject({ status: 'done', applying: false });
  });

  it('a job is registered as apply() and verify() return: activeJobs shows it at once, so Stop and the run\'s page see it', async () => {
    // The defect: apply() read the run from the journal before it queued the job, so for a moment
    // an approved run was applied by no job the service knew of.
    const plan = (await s.h.journal.getPlan(await scanToPlan(s.organization)))!;
    expect(plan.steps.length).toBeGreaterThanOrEqual(1);
    const run = await createRunFromPlan(s.h.journal, { ...plan, steps: plan.steps.slice(0, 1) }, 'admin', s.h.clock.now());
    const applied = s.service.runner.apply(run);
    expect(s.service.runner.activeJobs()).toContainEqual(expect.objectContaining({ kind: 'apply', runId: run.runId, organizationId: run.organizationId }));
    await applied.done;
    const verified = s.service.runner.verify(run);
    expect(s.service.runner.activeJobs()).toContainEqual(expect.objectContaining({ kind: 'verify', runId: run.runId, jobId: verified.jobId }));
    expect((await verified.done)?.ok).toBe(true);
    expect(s.service.runner.activeJobs().filter((j) => j.runId === run.runId)).toEqual([]);
  });
});

describe('links to the Zoho Books web app', () => {
  it('a service on a zoho: target gives each organization, plan and run the books.zoho.<tld> link base for contacts', async () => {
    const zoho = await startTestService({ contacts: 30, target: 'zoho:EU' });
    try {
      const admin = await zoho.login();
      const organizations = await admin.get<OrganizationView[]>('/api/orgs');
      expect(organizations.status).toBe(200);
      for (const o of organizations.json) {
        expect(o.target).toBe('zoho:EU');
        expect(o.contactUrl).toBe(`https://books.zoho.eu/app/${o.organizationId}#/contacts/`);
      }
      expect((await admin.request('PUT', `/api/orgs/${zoho.organization}/policy`, { body: { text: policyFor(zoho.organization, 'max_changes: 2\n') } })).status).toBe(200);
      const stream = await zoho.events(admin);
      const scan = await admin.request<{ jobId: string }>('POST', `/api/orgs/${zoho.organization}/scan`);
      const job = await stream.waitFor((e) => e.type === 'job' && e.data.jobId === scan.json.jobId && e.data.state !== 'running', 'the scan ends');
      stream.close();
      expect(job.data.state, JSON.stringify(job.data)).toBe('done');
      const plan = await admin.get<{ contactUrl: string | null }>(`/api/plans/${String(job.data.planId)}`);
      expect(plan.json.contactUrl).toBe(`https://books.zoho.eu/app/${zoho.organization}#/contacts/`);
      const approved = await admin.request<{ runId: string }>('POST', `/api/plans/${String(job.data.planId)}/approve`, { body: {} });
      expect(approved.status, approved.text).toBe(202);
      const run = await admin.get<{ contactUrl: string | null }>(`/api/runs/${approved.json.runId}`);
      expect(run.json.contactUrl).toBe(`https://books.zoho.eu/app/${zoho.organization}#/contacts/`);
      await until(async () => ((await zoho.h.journal.getRun(approved.json.runId))?.state === 'done' && zoho.service.runner.activeJobs().length === 0 ? true : undefined), 'the run done');
    } finally {
      await zoho.close();
    }
  });
});

async function metrics(): Promise<string> {
  const r = await session.get('/metrics');
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
  return r.text;
}

function lines(text: string, prefix: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(prefix));
}

/** The value of one sample (`name` or `name{labels}` exactly as printed); fails when it is missing. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no sample ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}
