/**
 * Scan, plan, apply, revalidate, wait for the quota, undo and verify against the real emulator over
 * HTTP, with the journal on a real SQLite file. What the engine did is judged from outside: the
 * emulator's request log (what was called, how often, with which filters) and the contacts as the
 * API reports them afterwards. The emulator's clock is frozen; the engine's clock reads it and its
 * sleeps move it (test/helpers/engine.ts), so quota waits take no real time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyRun, createManualRun, createRunFromPlan, createUndoRun, recordBefore, RunInputError, verifyRun,
  type ApplyOptions, type ApplyProgress, type FingerprintRow, type Plan, type PlanStep,
} from '../../src/engine/index.js';
import { parseZohoTime, TRANSACTION_TYPES, type TransactionType } from '../../src/zoho/index.js';
import {
  contactStatus, rawList, scanAndPlan, startEngineHarness, successfulStatusChanges,
  type EngineHarness, type LogEntry,
} from '../helpers/engine.js';

const harnesses: EngineHarness[] = [];
async function harness(contacts = 400): Promise<EngineHarness> {
  const h = await startEngineHarness({ contacts });
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

const ALL_TYPES = Object.keys(TRANSACTION_TYPES) as TransactionType[];
const LIST_PATHS = new Set(['/books/v3/contacts', ...ALL_TYPES.map((t) => `/books/v3${TRANSACTION_TYPES[t].path}`)]);
const books = (entries: LogEntry[]): LogEntry[] => entries.filter((e) => e.path.startsWith('/books/v3/'));
const perContactGets = (entries: LogEntry[]): LogEntry[] => entries.filter((e) => e.method === 'GET' && /^\/books\/v3\/contacts\/\d+/.test(e.path));

function options(h: EngineHarness, runId: string, extra: Partial<ApplyOptions> = {}): ApplyOptions {
  return { journal: h.journal, port: h.port, runId, owner: 'test-host:1:aaaa', clock: h.clock, ...extra };
}

async function post(h: EngineHarness, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await h.t.call<Record<string, unknown>>('POST', path, { body });
  if (res.status !== 200 && res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function put(h: EngineHarness, path: string, body: unknown): Promise<void> {
  const res = await h.t.call('PUT', path, { body });
  if (res.status !== 200) throw new Error(`PUT ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
}

function pick(plan: Plan, type: 'customer' | 'vendor', count: number): PlanStep[] {
  const found = plan.steps.filter((s) => s.contactType === type).slice(0, count);
  if (found.length < count) throw new Error(`the demo plan has fewer than ${count} ${type} steps`);
  return found;
}

/** Every contact's status, read raw (all statuses), by id. */
async function statuses(h: EngineHarness): Promise<Map<string, string>> {
  const { items } = await rawList<{ contact_id: string; status: string }>(h.t, '/contacts', 'contacts', { filter_by: 'Status.All' });
  return new Map(items.map((c) => [c.contact_id, c.status]));
}

describe('scan', () => {
  it('reads the organization in whole pages: its organization once, ceil(active/200) contact pages and ceil(n/200) pages per transaction type over the whole history, nothing per contact', async () => {
    const h = await harness(400);
    const since = await h.lastSeq();
    const { snapshot, policy } = await scanAndPlan(h);
    const scanLog = books(await h.requests({ since }));

    // The expected numbers, computed through the API itself (after the scan's slice of the log).
    const { items: active } = await rawList<{ contact_id: string }>(h.t, '/contacts', 'contacts', { filter_by: 'Status.Active' });
    expect(active.length).toBeGreaterThan(200); // more than one page, or the test proves little
    const pages = (n: number): number => Math.max(1, Math.ceil(n / 200));
    const expected = new Map<string, number>([['/books/v3/contacts', pages(active.length)], ['/books/v3/organizations', 1]]);
    let transactions = 0;
    let historyCalls = 0;
    const types = [...policy.activity.customer, ...policy.activity.vendor];
    expect(new Set(types)).toEqual(new Set(ALL_TYPES));
    for (const type of types) {
      const info = TRANSACTION_TYPES[type];
      const { items } = await rawList(h.t, info.path, info.listKey);
      transactions += items.length;
      expected.set(`/books/v3${info.path}`, pages(items.length));
      historyCalls += pages(items.length);
    }
    expect(transactions).toBeGreaterThan(200);

    const actual = new Map<string, number>();
    for (const e of scanLog) {
      expect(e.method, `${e.method} ${e.path}`).toBe('GET');
      expect(e.status).toBe(200);
      actual.set(e.path, (actual.get(e.path) ?? 0) + 1);
    }
    expect(actual).toEqual(expected);
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    expect(scanLog).toHaveLength(total);
    expect(perContactGets(scanLog)).toEqual([]);
    // Every page is a full 200, and transactions are read whatever their date.
    for (const e of scanLog) {
      if (e.path === '/books/v3/organizations') continue;
      expect(e.query.per_page).toBe('200');
      if (e.path === '/books/v3/contacts') expect(e.query.filter_by).toBe('Status.Active');
      else expect(e.query.date_start).toBeUndefined();
    }
    // And the scan reports what it used.
    expect(snapshot).toMatchObject({
      apiCalls: total, contactCount: active.length, transactionCount: transactions, statuses: 'active', history: 'full', historyTypes: ALL_TYPES,
      historyCalls: historyCalls + 1, target: h.port.target, organizationName: expect.any(String), currencyCode: expect.stringMatching(/^[A-Z]{3}$/),
    });
  });

  it('stores each active contact with its real last activity, counted activity since the cutoff, its history\'s counts and totals, and the balances the API shows', async () => {
    const h = await harness(400);
    const { snapshot, contacts } = await scanAndPlan(h);
    const cutoff = snapshot.cutoffDate;

    const { items: active } = await rawList<Record<string, unknown>>(h.t, '/contacts', 'contacts', { filter_by: 'Status.Active' });
    expect(contacts.map((c) => c.contactId).sort()).toEqual(active.map((c) => String(c.contact_id)).sort());

    // Per contact, from every transaction list read raw: the latest transaction of all time, the
    // count since the cutoff, and the count and total per type.
    interface Seen { date: string; id: string; number: string; type: TransactionType; recent: number; history: Record<string, [number, number]> }
    const seenBy = new Map<string, Seen>();
    for (const type of ALL_TYPES) {
      const info = TRANSACTION_TYPES[type];
      const { items } = await rawList<Record<string, unknown>>(h.t, info.path, info.listKey);
      for (const t of items) {
        const date = String(t.date);
        const id = String(t[info.idField]);
        const contactId = String(t[info.contactIdField]);
        const seen = seenBy.get(contactId) ?? { date: '', id: '', number: '', type, recent: 0, history: {} };
        if (date > seen.date || (date === seen.date && id > seen.id)) Object.assign(seen, { date, id, type, number: String(t[info.numberField]) });
        if (date >= cutoff) seen.recent++;
        const h2 = seen.history[type] ?? [0, 0];
        seen.history[type] = [h2[0] + 1, h2[1] + Math.round(Number(t[info.amountField]) * 100)];
        seenBy.set(contactId, seen);
      }
    }
    let traded = 0;
    let dormantWithHistory = 0;
    const byId = new Map(active.map((c) => [String(c.contact_id), c]));
    for (const c of contacts) {
      const api = byId.get(c.contactId)!;
      expect(c.receivableCents, c.contactId).toBe(Math.round(Number(api.outstanding_receivable_amount) * 100));
      expect(c.payableCents).toBe(Math.round(Number(api.outstanding_payable_amount) * 100));
      expect(c.creditsReceivableCents).toBe(Math.round(Number(api.unused_credits_receivable_amount) * 100));
      expect(c.creditsPayableCents).toBe(Math.round(Number(api.unused_credits_payable_amount) * 100));
      expect(c.status).toBe('active');
      const seen = seenBy.get(c.contactId);
      if (!seen) {
        expect(c.lastActivityDate, c.contactId).toBeUndefined();
        expect(c.activityCount).toBe(0);
        continue;
      }
      traded++;
      if (seen.recent === 0) dormantWithHistory++;
      expect({ date: c.lastActivityDate, id: c.lastActivityId, type: c.lastActivityType, number: c.lastActivityNumber }, c.contactId)
        .toEqual({ date: seen.date, id: seen.id, type: seen.type, number: seen.number });
      expect(c.activityCount).toBe(seen.recent);
    }
    // The history's counts and totals, as the journal gives them for a run's "before".
    const rows = await h.journal.snapshotFingerprint(snapshot.snapshotId, contacts.map((c) => c.contactId));
    const expectedRows = contacts.flatMap((c) => Object.entries(seenBy.get(c.contactId)?.history ?? {})
      .map(([type, [count, totalCents]]) => ({ contactId: c.contactId, transactionType: type, count, totalCents })))
      .sort((a, b) => (a.contactId + a.transactionType < b.contactId + b.transactionType ? -1 : 1));
    expect(rows).toEqual(expectedRows);
    expect(traded).toBeGreaterThan(50);
    // Dormant contacts that did trade once: their evidence now has a real last activity.
    expect(dormantWithHistory).toBeGreaterThan(10);
  });
});

describe('apply', () => {
  it('deactivates exactly the plan\'s contacts, one successful POST /inactive each, revalidating with list calls only', async () => {
    const h = await harness(400);
    const { plan } = await scanAndPlan(h);
    expect(plan.steps.length).toBeGreaterThan(50);
    const before = await statuses(h);
    const run = await createRunFromPlan(h.journal, plan, 'ana@example.com', h.clock.now());
    const since = await h.lastSeq();

    const result = await applyRun(options(h, run.runId));
    const log = books(await h.requests({ since }));

    expect(result.interrupted).toBe(false);
    expect(result.run.state).toBe('done');
    expect(result.counts).toEqual({ total: plan.steps.length, pending: 0, inFlight: 0, changed: plan.steps.length, unchanged: 0, skipped: 0, failed: 0 });
    for (const s of plan.steps) expect(await contactStatus(h.t, s.contactId), s.contactId).toBe('inactive');
    const after = await statuses(h);
    const planned = new Set(plan.steps.map((s) => s.contactId));
    for (const [id, status] of before) if (!planned.has(id)) expect(after.get(id), id).toBe(status);

    // Exactly one successful status change per step, all to inactive, and no other writes.
    const changes = successfulStatusChanges(log);
    expect([...changes.keys()].sort()).toEqual([...planned].sort());
    for (const [id, list] of changes) expect(list, id).toEqual(['inactive']);
    expect(log.filter((e) => e.method !== 'GET')).toHaveLength(plan.steps.length);
    // Revalidation: list calls filtered on last_modified_time (from the snapshot on), never a GET per contact.
    const gets = log.filter((e) => e.method === 'GET');
    expect(perContactGets(log)).toEqual([]);
    expect(gets.length).toBeGreaterThan(0);
    expect(gets.length).toBeLessThan(plan.steps.length / 4);
    for (const e of gets) {
      expect(LIST_PATHS.has(e.path), e.path).toBe(true);
      const modified = parseZohoTime(e.query.last_modified_time ?? '');
      expect(modified, JSON.stringify(e.query)).toBeDefined();
      expect(modified!).toBeLessThanOrEqual(plan.asOf);
    }
    expect(new Set(gets.map((e) => e.path))).toEqual(LIST_PATHS);
    // The API call count the engine reports is what the emulator saw.
    expect(result.apiCalls).toBe(log.length);

    const audit = await h.journal.audit({ runId: run.runId });
    expect(audit).toHaveLength(plan.steps.length);
    expect(audit.every((a) => a.from === 'active' && a.to === 'inactive' && a.actor === 'ana@example.com' && a.why !== '')).toBe(true);
  });

  it('skips contacts that traded, changed balance or changed status since the snapshot, found by incremental reads', async () => {
    const h = await harness(400);
    const { plan } = await scanAndPlan(h);
    const [invoiced, paid, credited, renamed] = pick(plan, 'customer', 4) as [PlanStep, PlanStep, PlanStep, PlanStep];
    const [marked, billed] = pick(plan, 'vendor', 2) as [PlanStep, PlanStep];

    // Someone works in Zoho between the plan and the apply.
    await post(h, '/invoices', { customer_id: invoiced.contactId, line_items: [{ name: 'Late order', rate: 120, quantity: 1 }] });
    await post(h, '/customerpayments', { customer_id: paid.contactId, amount: 50 });
    const after = await h.t.call<{ contact: { unused_credits_receivable_amount: number } }>('GET', `/contacts/${paid.contactId}`);
    expect(after.body.contact.unused_credits_receivable_amount).toBe(50); // its balance did change
    // A credit note, and an edit of the contact (so its own last_modified_time moves, which the
    // emulator only does for edits of the contact itself): the balance check on the contact sees it.
    await post(h, '/creditnotes', { customer_id: credited.contactId, line_items: [{ name: 'Goodwill', rate: 30, quantity: 1 }] });
    await put(h, `/contacts/${credited.contactId}`, { notes: 'credit agreed by phone' });
    // An edit that changes neither status, balance nor activity must not stop the step.
    await put(h, `/contacts/${renamed.contactId}`, { notes: 'still dormant' });
    await post(h, `/contacts/${marked.contactId}/inactive`, {});
    await post(h, '/bills', { vendor_id: billed.contactId, line_items: [{ name: 'Parts', rate: 75, quantity: 2 }] });

    const run = await createRunFromPlan(h.journal, plan, 'ana@example.com', h.clock.now());
    const since = await h.lastSeq();
    const result = await applyRun(options(h, run.runId));
    const log = books(await h.requests({ since }));

    const steps = new Map((await h.journal.steps(run.runId)).map((s) => [s.contactId, s]));
    const expectSkip = (s: PlanStep, reason: RegExp): void => {
      const rec = steps.get(s.contactId)!;
      expect(rec.state, s.contactId).toBe('skipped');
      expect(rec.skipReason ?? '').toMatch(reason);
    };
    expectSkip(invoiced, /^traded since the snapshot: invoice dated \d{4}-\d{2}-\d{2}$/);
    expectSkip(paid, /^traded since the snapshot: customer payment dated \d{4}-\d{2}-\d{2}$|balance changed/);
    expectSkip(credited, /^its balance changed since the snapshot$/);
    expectSkip(marked, /^already inactive: changed by someone else since the snapshot$/);
    expectSkip(billed, /^traded since the snapshot: bill dated \d{4}-\d{2}-\d{2}$/);
    expect(steps.get(renamed.contactId)).toMatchObject({ state: 'done', outcome: 'changed' });
    expect(result.counts).toMatchObject({ total: plan.steps.length, skipped: 5, changed: plan.steps.length - 5, pending: 0, inFlight: 0, failed: 0 });

    for (const s of [invoiced, paid, credited, billed]) expect(await contactStatus(h.t, s.contactId), s.contactName).toBe('active');
    const changes = successfulStatusChanges(log);
    for (const s of [invoiced, paid, credited, marked, billed]) expect(changes.has(s.contactId), s.contactName).toBe(false);
    expect(changes.size).toBe(plan.steps.length - 5);
    // Found with incremental list reads, not one call per contact.
    expect(perContactGets(log)).toEqual([]);
    const gets = log.filter((e) => e.method === 'GET');
    expect(gets.length).toBeGreaterThan(0);
    for (const e of gets) {
      expect(LIST_PATHS.has(e.path), e.path).toBe(true);
      expect(e.query.last_modified_time, e.path).toBeDefined();
    }
    expect(gets.length).toBeLessThanOrEqual(LIST_PATHS.size * 2);
  });

  it('catches a change made while the run is going on at a later refresh', async () => {
    const h = await harness(400);
    const { plan } = await scanAndPlan(h);
    const target = plan.steps.find((s, i) => i >= 5 && s.contactType === 'customer')!;
    const targetSeq = plan.steps.indexOf(target) + 1;
    let changedAtSeq = 0;
    let changeLogSeq = 0;

    const run = await createRunFromPlan(h.journal, plan, 'ana@example.com', h.clock.now());
    const since = await h.lastSeq();
    const result = await applyRun(options(h, run.runId, {
      concurrency: 1,
      refreshEveryMs: 1_000,
      failpoint: async (name, step) => {
        if (name !== 'after-finish' || step.seq !== 2) return;
        // The run has revalidated once (at its start) and done two steps; now someone invoices a
        // contact further down the plan, and time moves on past the refresh interval.
        await post(h, '/invoices', { customer_id: target.contactId, line_items: [{ name: 'Rush order', rate: 999, quantity: 1 }] });
        changeLogSeq = await h.lastSeq();
        changedAtSeq = step.seq;
        await h.clock.sleep(2_000);
      },
    }));
    expect(changedAtSeq).toBe(2);
    const log = books(await h.requests({ since }));

    const rec = (await h.journal.steps(run.runId)).find((s) => s.seq === targetSeq)!;
    expect(rec.contactId).toBe(target.contactId);
    expect(rec.state).toBe('skipped');
    expect(rec.skipReason).toMatch(/^traded since the snapshot: invoice dated /);
    expect(await contactStatus(h.t, target.contactId)).toBe('active');
    expect(successfulStatusChanges(log).has(target.contactId)).toBe(false);
    expect(result.counts).toMatchObject({ changed: plan.steps.length - 1, skipped: 1, pending: 0, inFlight: 0 });
    // A refresh ran after the change, with incremental list calls.
    const laterRefresh = log.filter((e) => e.seq > changeLogSeq && e.method === 'GET' && e.path === '/books/v3/invoices');
    expect(laterRefresh.length).toBeGreaterThan(0);
    expect(laterRefresh.every((e) => e.query.last_modified_time !== undefined)).toBe(true);
    expect(perContactGets(log)).toEqual([]);
  });

  it('waits for the daily quota to reset and then finishes, without repeating a step', async () => {
    const h = await harness(400);
    const { plan } = await scanAndPlan(h);
    const n = plan.steps.length;
    const run = await createRunFromPlan(h.journal, plan, 'ana@example.com', h.clock.now());
    const daily = 60;
    expect(n).toBeGreaterThan(daily); // the run cannot finish within one day's quota
    const set = await h.t.admin('POST', '/__emulator/limits', { organizations: { [h.organization]: { daily } }, resetCounters: true });
    expect(set.status).toBe(200);
    const startedAt = h.clock.now();
    const since = await h.lastSeq();
    const progress: ApplyProgress[] = [];

    const result = await applyRun(options(h, run.runId, { onProgress: (p) => progress.push(p) }));

    expect(result.run.state).toBe('done');
    expect(result.counts).toMatchObject({ total: n, changed: n, pending: 0, inFlight: 0, failed: 0, skipped: 0 });
    // It slept on the engine's clock until the organization's midnight (+05:30), a day or more later.
    expect(h.clock.sleeps.length).toBeGreaterThan(0);
    const midnight = Date.UTC(2026, 2, 2, 18, 30, 0); // 2026-03-03 00:00 +05:30
    const waits = progress.map((p) => p.waitingUntil).filter((w): w is number => w !== undefined);
    expect(waits.length).toBeGreaterThan(0);
    expect(Math.abs(waits[0]! - midnight)).toBeLessThanOrEqual(1_000);
    expect(h.clock.now()).toBeGreaterThan(midnight);
    expect(h.clock.now() - startedAt).toBeLessThan(4 * 86_400_000);

    const log = books(await h.requests({ since }));
    const changes = successfulStatusChanges(log);
    expect(changes.size).toBe(n);
    for (const [id, list] of changes) expect(list, id).toEqual(['inactive']);
    // No day's successful calls exceeded the quota.
    const perDay = new Map<string, number>();
    for (const e of log) {
      if (e.status !== 200) continue;
      const day = new Date(Date.parse(e.time) + 330 * 60_000).toISOString().slice(0, 10);
      perDay.set(day, (perDay.get(day) ?? 0) + 1);
    }
    expect(perDay.size).toBeGreaterThanOrEqual(2);
    for (const [day, count] of perDay) expect(count, day).toBeLessThanOrEqual(daily);

    await h.t.admin('POST', '/__emulator/limits', { organizations: {}, resetCounters: true });
    // A day has passed on the emulated clock: the ready-made access token has expired.
    const token = await h.t.tokenFor(['ZohoBooks.contacts.READ']);
    for (const s of plan.steps) expect(await contactStatus(h.t, s.contactId, token)).toBe('inactive');
  });
});

describe('apply when an answer is lost', () => {
  it('records a status change whose answer was lost (the retry hears "already inactive") as this run\'s change', async () => {
    const h = await harness(60);
    const { plan } = await scanAndPlan(h);
    const run = await createRunFromPlan(h.journal, plan, 'ana@example.com', h.clock.now());
    // The first status call is held 400 ms before it is handled; the client gives up after 200 ms and
    // retries 0.6–1.2 s later, when the first call has already taken effect. (Real time: the
    // client's own timeout and backoff, about 1.4 s at most.)
    const fault = await h.t.admin('POST', '/__emulator/faults', {
      faults: [{ kind: 'latency', latencyMs: 400, method: 'POST', path: '/contacts/*/inactive', count: 1 }],
    });
    expect(fault.status).toBe(200);
    const slow = h.newSide({}, { timeoutMs: 200, retry: { maxAttempts: 3, baseDelayMs: 1_200, maxDelayMs: 1_200 } });
    const since = await h.lastSeq();

    const result = await applyRun({ ...options(h, run.runId), port: slow.port, concurrency: 1 });

    const first = plan.steps[0]!;
    const log = books(await h.requests({ since }));
    const calls = log.filter((e) => e.path === `/books/v3/contacts/${first.contactId}/inactive`);
    // Precondition: the first attempt changed the contact, the retry was told it already was inactive.
    expect(calls.map((e) => e.code).sort()).toEqual([0, 3032]);
    expect(successfulStatusChanges(log).get(first.contactId)).toEqual(['inactive']);
    // The run made that change: the journal, the audit trail and so an undo must know it.
    const rec = (await h.journal.steps(run.runId))[0]!;
    expect([rec.state, rec.outcome]).toEqual(['done', 'changed']);
    expect(result.counts.changed).toBe(plan.steps.length);
    expect((await h.journal.audit({ runId: run.runId })).map((a) => a.contactId)).toContain(first.contactId);
  });
});

describe('undo', () => {
  it('restores exactly the contacts a run changed that are still as it left them, as a new journaled run', async () => {
    const h = await harness(300);
    const { plan } = await scanAndPlan(h);
    const run = await createRunFromPlan(h.journal, plan, 'ana@example.com', h.clock.now());
    await applyRun(options(h, run.runId));
    await h.clock.sleep(1_000);

    // Contact X is changed again by later runs (activated, then deactivated): the undo leaves it alone.
    const x = plan.steps[0]!;
    const y = plan.steps[1]!;
    const again = await createManualRun(h.journal, { organizationId: h.organization, target: h.port.target, kind: 'manual', changes: [{ contactId: x.contactId, action: 'activate' }], createdBy: 'bo', now: h.clock.now(), note: 'back' });
    expect((await applyRun(options(h, again.runId))).counts.changed).toBe(1);
    await h.clock.sleep(1_000);
    const third = await createManualRun(h.journal, { organizationId: h.organization, target: h.port.target, kind: 'manual', changes: [{ contactId: x.contactId, action: 'deactivate' }], createdBy: 'bo', now: h.clock.now(), note: 'off again' });
    expect((await applyRun(options(h, third.runId))).counts.changed).toBe(1);
    await h.clock.sleep(1_000);
    // Contact Y is re-activated outside Sunset: revalidation during the undo skips it.
    await post(h, `/contacts/${y.contactId}/active`, {});

    const { run: undo, skipped } = await createUndoRun(h.journal, run.runId, 'ana@example.com', h.clock.now());
    expect(undo).toMatchObject({ kind: 'undo', undoOf: run.runId, state: 'pending' });
    expect(skipped).toEqual([{ contactId: x.contactId, contactName: x.contactName, reason: `changed again by run ${third.runId} (to inactive)` }]);
    const undoSteps = await h.journal.steps(undo.runId);
    expect(undoSteps.map((s) => s.contactId).sort()).toEqual(plan.steps.slice(1).map((s) => s.contactId).sort());
    expect(undoSteps.every((s) => s.action === 'activate')).toBe(true);

    const since = await h.lastSeq();
    const result = await applyRun(options(h, undo.runId));
    const log = books(await h.requests({ since }));
    expect(result.counts).toMatchObject({ total: plan.steps.length - 1, changed: plan.steps.length - 2, skipped: 1, pending: 0, inFlight: 0, failed: 0 });
    expect(undoSteps.length).toBe(plan.steps.length - 1);
    const ySkip = (await h.journal.steps(undo.runId)).find((s) => s.contactId === y.contactId)!;
    expect(ySkip.state).toBe('skipped');
    expect(ySkip.skipReason).toMatch(/^already active: changed by someone else/);

    expect(await contactStatus(h.t, x.contactId)).toBe('inactive');
    for (const s of plan.steps.slice(1)) expect(await contactStatus(h.t, s.contactId), s.contactId).toBe('active');
    const changes = successfulStatusChanges(log);
    expect(changes.size).toBe(plan.steps.length - 2);
    expect(changes.has(x.contactId)).toBe(false);
    expect(changes.has(y.contactId)).toBe(false);
    for (const [id, list] of changes) expect(list, id).toEqual(['active']);
    expect(perContactGets(log)).toEqual([]);

    const audit = await h.journal.audit({ runId: undo.runId });
    expect(audit).toHaveLength(plan.steps.length - 2);
    expect(audit.every((a) => a.runKind === 'undo' && a.from === 'inactive' && a.to === 'active')).toBe(true);
  });
});

describe('verify', () => {
  /** Counted independently, from raw lists: the run's contacts' transactions, in total and per contact and type. */
  async function expectedFingerprint(h: EngineHarness, ids: Set<string>): Promise<{ contacts: number; transactions: number; totalCents: number; rows: FingerprintRow[] }> {
    const contacts = new Set<string>();
    let transactions = 0;
    let totalCents = 0;
    const rows = new Map<string, FingerprintRow>();
    for (const type of ALL_TYPES) {
      const info = TRANSACTION_TYPES[type];
      const { items } = await rawList<Record<string, unknown>>(h.t, info.path, info.listKey);
      for (const t of items) {
        const id = String(t[info.contactIdField]);
        if (!ids.has(id)) continue;
        contacts.add(id);
        transactions++;
        const cents = Math.round(Number(t[info.amountField]) * 100);
        totalCents += cents;
        const row = rows.get(`${id}:${type}`) ?? { contactId: id, transactionType: type, count: 0, totalCents: 0 };
        row.count++;
        row.totalCents += cents;
        rows.set(`${id}:${type}`, row);
      }
    }
    const sorted = [...rows.values()].sort((a, b) => (a.contactId + a.transactionType < b.contactId + b.transactionType ? -1 : 1));
    return { contacts: contacts.size, transactions, totalCents, rows: sorted };
  }

  it('proves per-contact transaction counts and totals are the same before and after, and reports a difference', async () => {
    const h = await harness(300);
    const { plan } = await scanAndPlan(h);
    const run = await createRunFromPlan(h.journal, plan, 'ana@example.com', h.clock.now());
    const ids = new Set(plan.steps.map((s) => s.contactId));
    const expected = await expectedFingerprint(h, ids);
    expect(expected.transactions).toBeGreaterThan(20);

    // The scan read the whole history: the run's "before" is the snapshot's, taken with no call now.
    expect(await h.journal.fingerprintSet(run.runId, 'before')).toMatchObject({ source: 'snapshot', takenAt: plan.asOf });
    expect(await h.journal.getFingerprint(run.runId, 'before')).toEqual(expected.rows);
    // A read when the run starts (runs without such a snapshot) gives the same, with no per-contact GET.
    const since = await h.lastSeq();
    await recordBefore(h.journal, h.port, run.runId, { now: h.clock.now() });
    expect(perContactGets(books(await h.requests({ since })))).toEqual([]);
    expect(await h.journal.getFingerprint(run.runId, 'before')).toEqual(expected.rows);
    await applyRun(options(h, run.runId));
    const ok = await verifyRun(h.journal, h.port, run.runId, { now: h.clock.now() });
    expect(ok).toMatchObject({ runId: run.runId, ok: true, hasBefore: true, differences: [], transactions: expected.transactions, totalCents: expected.totalCents, contacts: expected.contacts });
    expect(await h.journal.getFingerprint(run.runId, 'after')).toEqual(await h.journal.getFingerprint(run.runId, 'before'));
    expect((await h.journal.latestVerification(run.runId))?.ok).toBe(true);

    // A new document for a deactivated customer (estimates are allowed for inactive contacts):
    // a difference, explained by trading since "before" — not a loss.
    await h.clock.sleep(5_000);
    const customer = plan.steps.find((s) => s.contactType === 'customer')!;
    const before = (await h.journal.getFingerprint(run.runId, 'before')).find((r) => r.contactId === customer.contactId && r.transactionType === 'estimates');
    await post(h, '/estimates', { customer_id: customer.contactId, line_items: [{ name: 'Quote', rate: 42.5, quantity: 2 }] });
    const traded = await verifyRun(h.journal, h.port, run.runId, { now: h.clock.now() });
    expect(traded.ok).toBe(true);
    expect(traded.differences).toEqual([{
      contactId: customer.contactId, transactionType: 'estimates',
      before: { count: before?.count ?? 0, totalCents: before?.totalCents ?? 0 },
      after: { count: (before?.count ?? 0) + 1, totalCents: (before?.totalCents ?? 0) + 8500 },
      explained: expect.stringMatching(/^traded since .*: estimate EST-\d+ dated \d{4}-\d{2}-\d{2} was created or changed$/),
    }]);
    expect(traded.transactions).toBe(expected.transactions + 1);

    // A transaction deleted in Zoho (nothing modified to explain it): a loss, and verify says so.
    const vendor = plan.steps.find((s) => s.contactType === 'vendor' && expected.rows.some((r) => r.contactId === s.contactId && r.transactionType === 'bills'))!;
    const bill = h.t.emulator.store.db.prepare("SELECT transaction_id FROM transactions WHERE contact_id = ? AND type = 'bills' LIMIT 1").get(vendor.contactId) as { transaction_id: string };
    h.t.emulator.store.db.prepare('DELETE FROM transactions WHERE transaction_id = ?').run(bill.transaction_id);
    const lost = await verifyRun(h.journal, h.port, run.runId, { now: h.clock.now() });
    expect(lost.ok).toBe(false);
    expect(lost.differences.filter((d) => d.explained === null)).toEqual([expect.objectContaining({ contactId: vendor.contactId, transactionType: 'bills' })]);
    expect((await h.journal.latestVerification(run.runId))?.ok).toBe(false);
  });

  it('is not ok without a fingerprint taken before the run', async () => {
    const h = await harness(150);
    const { plan } = await scanAndPlan(h);
    const run = await createRunFromPlan(h.journal, plan, 'ana@example.com', h.clock.now());
    await h.db.run('DELETE FROM fingerprint_sets WHERE run_id = ?', [run.runId]);
    await h.db.run('DELETE FROM fingerprints WHERE run_id = ?', [run.runId]);
    await applyRun(options(h, run.runId));
    const result = await verifyRun(h.journal, h.port, run.runId, { now: h.clock.now() });
    expect(result.hasBefore).toBe(false);
    expect(result.ok).toBe(false);
  });
});

describe('createManualRun', () => {
  it('refuses bad ids as a whole and conflicting actions, writing nothing', async () => {
    const h = await harness(20);
    const good = '3185434000000001581';
    const input = (changes: Array<{ contactId: string; action: 'activate' | 'deactivate' }>) => ({
      organizationId: h.organization, target: h.port.target, kind: 'manual' as const, changes, createdBy: 'ana', now: h.clock.now(), note: 'csv',
    });
    const count = async (): Promise<number> => Number((await h.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM steps'))?.n);

    const bad = createManualRun(h.journal, input([{ contactId: good, action: 'deactivate' }, { contactId: '12345', action: 'deactivate' }, { contactId: 'abc', action: 'activate' }]));
    await expect(bad).rejects.toBeInstanceOf(RunInputError);
    await expect(bad).rejects.toThrow(/These are not Zoho contact ids.*"12345", "abc".*Nothing was changed/);
    const conflict = createManualRun(h.journal, input([{ contactId: good, action: 'deactivate' }, { contactId: good, action: 'activate' }]));
    await expect(conflict).rejects.toThrow(/both activated and deactivated.*Nothing was changed/);
    await expect(createManualRun(h.journal, input([]))).rejects.toBeInstanceOf(RunInputError);
    expect(await h.journal.listRuns()).toEqual([]);
    expect(await count()).toBe(0);

    // Repeats of the same change collapse into one step.
    const run = await createManualRun(h.journal, input([{ contactId: good, action: 'deactivate' }, { contactId: good, action: 'deactivate' }]));
    expect((await h.journal.steps(run.runId)).map((s) => [s.contactId, s.action])).toEqual([[good, 'deactivate']]);
  });
});
