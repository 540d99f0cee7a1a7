/**
 * The journal on real SQLite files, one fresh file per test in its own temp dir (removed after), and
 * in the postgres project on the real PostgreSQL server, a fresh schema per test (helpers/database.ts):
 * snapshots paged in contact-id order, plans, runs and their steps as leased work items (claims in
 * seq order, leases that only expire or die once, fenced finishes, attempts), counts, the audit
 * trail, latest changes, fingerprints, the async SQL port's transactions, and the schema version.
 * Times are plain numbers passed in: nothing here reads a clock.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildPlan, planContacts, checkJournal, createJournal, DRAFT_LEFTOVER_MS, JournalError, parsePolicy, RunExistsError, runStatus, SNAPSHOT_LEFTOVER_MS,
  type Journal, type Policy, type NewStep, type ScanActivityRow, type SnapshotContact, type SnapshotInfo, type SqlDatabase, type Exclusion,
} from '../../src/engine/index.js';
import { openTestDatabase, TEST_DATABASE } from '../helpers/database.js';
import { tempDir } from '../helpers/emulator.js';

const ORG = '701000001';
const T0 = Date.UTC(2026, 2, 2, 6, 0, 0);
const DAY = 86_400_000;

/** A 19-digit contact id; `n` keeps them distinct and sortable. */
const cid = (n: number): string => `31854340000${String(n).padStart(8, '0')}`;

function contact(n: number, overrides: Partial<SnapshotContact> = {}): SnapshotContact {
  return {
    contactId: cid(n),
    contactName: `Contact ${n}`,
    companyName: n % 2 === 0 ? `Company ${n}` : '',
    contactType: n % 3 === 0 ? 'vendor' : 'customer',
    status: 'active',
    createdAt: T0 - 2000 * DAY,
    modifiedAt: T0 - 900 * DAY + n,
    receivableCents: 0,
    payableCents: 0,
    creditsReceivableCents: 0,
    creditsPayableCents: 0,
    customFields: { cf_region: n % 2 === 0 ? 'North' : 'South' },
    tags: n % 4 === 0 ? ['Channel: Online'] : [],
    zcrmAccountId: '',
    zcrmContactId: '',
    lastActivityDate: undefined,
    lastActivityType: undefined,
    lastActivityId: undefined,
    activityCount: 0,
    activityByType: {},
    ...overrides,
  };
}

function step(n: number, action: NewStep['action'] = 'deactivate'): NewStep {
  return { contactId: cid(n), contactName: `Contact ${n}`, contactType: 'customer', action, reason: `reason ${n}`, evidence: null };
}

let dir: { path: string; cleanup: () => void };
let dbPath: string;
let db: SqlDatabase;
let journal: Journal;
const opened: SqlDatabase[] = [];
/** The database each journal of this file was opened on (the journal does not expose it). */
const databaseOf = new Map<Journal, SqlDatabase>();

async function open(path = dbPath): Promise<Journal> {
  const handle = openTestDatabase(path);
  opened.push(handle);
  const j = createJournal(handle);
  databaseOf.set(j, handle);
  await j.migrate();
  return j;
}

const check = (j: Journal): Promise<string[]> => checkJournal(j, databaseOf.get(j)!);

beforeEach(async () => {
  dir = tempDir('sunset-journal-');
  dbPath = join(dir.path, 'journal.db');
  journal = await open();
  db = databaseOf.get(journal)!;
});

afterEach(async () => {
  for (const handle of opened.splice(0)) await handle.close().catch(() => undefined);
  dir.cleanup();
});

async function makeRun(j: Journal, count: number, extra: { runId?: string; createdBy?: string; kind?: 'plan' | 'undo' | 'manual'; at?: number } = {}): Promise<string> {
  const steps = Array.from({ length: count }, (_, i) => step(i + 1));
  const run = await j.createRun(
    {
      runId: extra.runId, organizationId: ORG, target: 'embedded', kind: extra.kind ?? 'plan', planId: null, undoOf: null, createdAt: extra.at ?? T0,
      createdBy: extra.createdBy ?? 'ana@example.com', baselineAt: T0 - DAY, note: 'test run',
    },
    steps,
  );
  return run.runId;
}

describe.skipIf(TEST_DATABASE !== 'sqlite')('the SQLite file', () => {
  it('is created owner-only (0600), WAL files too, and survives a reopen', async () => {
    expect(statSync(dbPath).mode & 0o777).toBe(0o600);
    const runId = await makeRun(journal, 2);
    // WAL and shared-memory files hold journal data too; SQLite gives them the main file's mode.
    for (const suffix of ['-wal', '-shm']) {
      if (existsSync(dbPath + suffix)) expect(statSync(dbPath + suffix).mode & 0o777, suffix).toBe(0o600);
    }
    await db.close();
    const again = await open();
    expect((await again.getRun(runId))?.note).toBe('test run');
    expect(await again.steps(runId)).toHaveLength(2);
  });
});

describe('snapshots', () => {
  const info = (snapshotId: string, takenAt = T0): Omit<SnapshotInfo, 'apiCalls' | 'contactCount' | 'transactionCount' | 'historyCalls'> => ({
    snapshotId, organizationId: ORG, target: 'embedded', organizationName: 'Test Org', currencyCode: 'INR', takenAt, cutoffDate: '2024-03-02',
    activityTypes: ['invoices', 'bills'], statuses: 'active', history: 'full', historyTypes: ['invoices', 'bills'],
  });

  it('writes in any order and reads back every contact, field for field, in contact-id order, page by page', async () => {
    await journal.beginSnapshot(info('snap-1'));
    const contacts = [7, 3, 11, 1, 9, 5, 2, 10, 4, 8, 6].map((n) =>
      contact(n, n === 4 ? { lastActivityDate: '2025-01-31', lastActivityType: 'invoices', lastActivityId: cid(9000 + n), activityCount: 3, activityByType: { invoices: '2025-01-31', estimates: '2024-12-01' }, receivableCents: 12345, zcrmAccountId: '4876000000000000001' } : {}),
    );
    await journal.addSnapshotContacts('snap-1', contacts.slice(0, 6));
    await journal.addSnapshotContacts('snap-1', contacts.slice(6));
    // A repeated page (a retried write) adds nothing.
    await journal.addSnapshotContacts('snap-1', contacts.slice(0, 2));
    // Not complete yet: not visible.
    expect(await journal.getSnapshot('snap-1')).toBeUndefined();
    await journal.finishSnapshot('snap-1', { apiCalls: 14, contactCount: 11, transactionCount: 40, historyCalls: 1 });

    const got = await journal.getSnapshot('snap-1');
    expect(got).toEqual({ ...info('snap-1'), apiCalls: 14, contactCount: 11, transactionCount: 40, historyCalls: 1 });

    const pages: SnapshotContact[][] = [];
    for await (const page of journal.snapshotContacts('snap-1', 3)) pages.push(page);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 2]);
    const read = pages.flat();
    const sorted = [...contacts].sort((a, b) => (a.contactId < b.contactId ? -1 : 1));
    expect(read.map((c) => c.contactId)).toEqual(sorted.map((c) => c.contactId));
    expect(read).toEqual(sorted);
  });

  it('keeps snapshots apart and finds the latest complete one per organization', async () => {
    await journal.beginSnapshot(info('snap-a', T0));
    await journal.addSnapshotContacts('snap-a', [contact(1), contact(2)]);
    await journal.finishSnapshot('snap-a', { apiCalls: 2, contactCount: 2, transactionCount: 0, historyCalls: 1 });
    await journal.beginSnapshot(info('snap-b', T0 + 1000));
    await journal.addSnapshotContacts('snap-b', [contact(3)]);
    await journal.finishSnapshot('snap-b', { apiCalls: 1, contactCount: 1, transactionCount: 0, historyCalls: 1 });
    await journal.beginSnapshot(info('snap-c', T0 + 2000)); // never finished

    expect((await journal.latestSnapshot(ORG))?.snapshotId).toBe('snap-b');
    expect((await journal.latestSnapshot())?.snapshotId).toBe('snap-b');
    expect(await journal.latestSnapshot('709999999')).toBeUndefined();
    const a: string[] = [];
    for await (const page of journal.snapshotContacts('snap-a')) a.push(...page.map((c) => c.contactId));
    expect(a).toEqual([cid(1), cid(2)]);
  });

  it('sweeps what cut-off scans left once a later scan of the organization finishes more than a week after them, and nothing else', async () => {
    const rows = async (table: string, snapshotId: string): Promise<number> =>
      Number((await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE snapshot_id = ?`, [snapshotId]))?.n);
    const activity = (n: number): ScanActivityRow => ({ contactId: cid(n), transactionType: 'invoices', count: 1, totalCents: 100, recent: 0, latestDate: '2024-01-01', latestId: cid(5000 + n), latestNumber: `INV-${n}` });
    const cutOff = async (snapshotId: string, takenAt: number, organizationId = ORG): Promise<void> => {
      await journal.beginSnapshot({ ...info(snapshotId, takenAt), organizationId });
      await journal.addSnapshotContacts(snapshotId, [contact(1), contact(2)]);
      await journal.addScanActivity(snapshotId, [activity(1)]);
    };
    await cutOff('snap-old', T0 - 8 * DAY);
    await cutOff('snap-week', T0 - SNAPSHOT_LEFTOVER_MS); // exactly a week: not yet
    await cutOff('snap-other-org', T0 - 30 * DAY, '709999999');
    await journal.beginSnapshot(info('snap-done', T0 - 9 * DAY));
    await journal.addSnapshotContacts('snap-done', [contact(3)]);
    await journal.finishSnapshot('snap-done', { apiCalls: 1, contactCount: 1, transactionCount: 0, historyCalls: 1 });

    await journal.beginSnapshot(info('snap-now', T0));
    await journal.addSnapshotContacts('snap-now', [contact(4)]);
    await journal.addScanActivity('snap-now', [activity(4)]);
    await journal.finishSnapshot('snap-now', { apiCalls: 1, contactCount: 1, transactionCount: 1, historyCalls: 1 });

    for (const table of ['snapshots', 'snapshot_contacts', 'scan_activity']) expect(await rows(table, 'snap-old'), table).toBe(0);
    expect([await rows('snapshots', 'snap-week'), await rows('snapshot_contacts', 'snap-week'), await rows('scan_activity', 'snap-week')]).toEqual([1, 2, 1]);
    expect([await rows('snapshots', 'snap-other-org'), await rows('snapshot_contacts', 'snap-other-org'), await rows('scan_activity', 'snap-other-org')]).toEqual([1, 2, 1]);
    // Finished snapshots stay, however old; the new one lost only its scan's activity, as ever.
    expect((await journal.getSnapshot('snap-done'))?.contactCount).toBe(1);
    expect([await rows('snapshot_contacts', 'snap-now'), await rows('scan_activity', 'snap-now')]).toEqual([1, 0]);
  });
});

describe('plans', () => {
  /** A snapshot of the policy's window, of active contacts, as the plans below are made from. */
  const windowSnapshot = (snapshotId: string, policy: Policy, counts: { contactCount: number; transactionCount: number }): SnapshotInfo => ({
    snapshotId, organizationId: ORG, target: 'embedded', organizationName: '', currencyCode: '', takenAt: T0, cutoffDate: '2024-03-02',
    activityTypes: [...policy.activity.customer, ...policy.activity.vendor], statuses: 'active', history: 'window', historyTypes: [], historyCalls: 0,
    apiCalls: 3, ...counts,
  });

  it('builds the same plan from the snapshot\'s pages, exclusions written as decided, as from the contacts in memory; exclusions read back in pages, in order', async () => {
    const text = `organization_id: "${ORG}"\ninactivity: 24 months\nmax_changes: 40\nreactivate: true\nfilters:\n  deny: ["${cid(7)}"]\n`;
    const policy = parsePolicy(text);
    const snapshot: SnapshotInfo = {
      snapshotId: 'snap-stream', organizationId: ORG, target: 'embedded', organizationName: '', currencyCode: '', takenAt: T0, cutoffDate: '2024-03-02',
      activityTypes: [...policy.activity.customer, ...policy.activity.vendor], statuses: 'all', history: 'window', historyTypes: [], historyCalls: 0,
      apiCalls: 3, contactCount: 1500, transactionCount: 0,
    };
    // Dormant ones, ones with balances or credits, new ones, traders, and inactive traders (re-activated, over the cap too).
    const contacts = Array.from({ length: 1500 }, (_, i) => {
      const n = i + 1;
      return contact(n, {
        createdAt: n % 11 === 0 ? T0 - 10 * DAY : T0 - (4000 - n) * DAY,
        receivableCents: n % 5 === 0 ? 1000 + n : 0,
        creditsPayableCents: n % 13 === 0 ? 50 : 0,
        status: n % 17 === 0 ? 'inactive' : 'active',
        ...(n % 4 === 0 || n % 17 === 0 ? { lastActivityDate: '2025-06-01', lastActivityType: 'invoices' as const, lastActivityId: cid(9000 + n), activityCount: 1 } : {}),
      });
    });
    await journal.beginSnapshot(snapshot);
    await journal.addSnapshotContacts('snap-stream', contacts);
    await journal.finishSnapshot('snap-stream', { apiCalls: 3, contactCount: 1500, transactionCount: 0, historyCalls: 0 });

    // In memory, as plans were built before (the whole snapshot in contact-id order); from another order, the same plan.
    const inMemory = planContacts(policy, text, snapshot, contacts);
    expect(planContacts(policy, text, snapshot, [...contacts].reverse())).toStrictEqual(inMemory);
    expect(inMemory.steps).toHaveLength(40);
    expect(inMemory.summary.excluded.cap).toBeGreaterThan(0);
    expect(inMemory.excluded.length).toBeGreaterThan(200);

    const written: number[] = [];
    const draft = journal.planDraft(T0);
    const streamed = await buildPlan(policy, text, snapshot, journal.snapshotContacts('snap-stream', 37), {
      async writeExclusions(batch) {
        written.push(batch.length);
        await draft.writeExclusions(batch);
      },
    });
    await draft.save(streamed);
    // Written as they were decided, in more than one batch, none left in the plan.
    expect(written.length).toBeGreaterThan(1);
    expect(written.reduce((a, b) => a + b, 0)).toBe(inMemory.excluded.length);
    expect(streamed).not.toHaveProperty('excluded');

    const { excluded, ...header } = inMemory;
    expect(streamed).toStrictEqual({ ...header, exclusionCount: excluded.length });
    expect(JSON.stringify(streamed.summary)).toBe(JSON.stringify(inMemory.summary));
    expect(await journal.getPlan(streamed.planId)).toEqual(streamed);
    const pages: Exclusion[][] = [];
    for await (const page of journal.planExclusions(streamed.planId, 100)) pages.push(page);
    expect(pages.slice(0, -1).every((page) => page.length === 100)).toBe(true);
    expect(pages.flat()).toEqual(excluded);
    const ids = pages.flat().map((e) => e.contactId);
    expect(ids).toEqual([...ids].sort());

    // Planned again: the same plan; its draft is dropped and the saved exclusions stay as they were.
    const again = journal.planDraft(T0);
    expect(await buildPlan(policy, text, snapshot, journal.snapshotContacts('snap-stream'), again)).toStrictEqual(streamed);
    await again.save(streamed);
    expect(Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM plan_exclusions'))?.n)).toBe(excluded.length);
  });

  it('drops the drafts of plans cut off more than a day before a plan is saved; a draft still being written stays', async () => {
    const text = `organization_id: "${ORG}"\ninactivity: 24 months\n`;
    const policy = parsePolicy(text);
    const snapshot = windowSnapshot('snap-d', policy, { contactCount: 4, transactionCount: 0 });
    const { excluded, ...plan } = planContacts(policy, text, snapshot, [contact(1), contact(2, { receivableCents: 5000 }), contact(3, { creditsPayableCents: 700 }), contact(4, { createdAt: T0 - 10 * DAY })]);
    expect(excluded).toHaveLength(3);
    const drafts = async (): Promise<Record<string, number>> => Object.fromEntries((await db.all<{ plan_id: string; n: number }>(
      'SELECT plan_id, COUNT(*) AS n FROM plan_exclusions GROUP BY plan_id ORDER BY plan_id',
    )).map((r) => [r.plan_id === plan.planId ? 'the plan' : r.plan_id.replace(/^(draft-t\d{15})-[0-9a-f]{16}$/, '$1'), Number(r.n)]));
    const at = (t: number): string => `draft-t${String(t).padStart(15, '0')}`;
    // Started a day and a millisecond before, and a day before exactly (perhaps still being made).
    await journal.planDraft(T0 - DRAFT_LEFTOVER_MS - 1).writeExclusions(excluded.slice(0, 2));
    const recent = journal.planDraft(T0 - DRAFT_LEFTOVER_MS);
    await recent.writeExclusions(excluded.slice(2));
    // A draft as an earlier Sunset named it (no time in it): not recognised, left.
    await db.run("INSERT INTO plan_exclusions (plan_id, contact_id, contact_name, contact_type, reasons, detail, evidence) VALUES ('draft-0a1b2c3d4e5f6a7b', ?, 'x', 'customer', '[]', '', '{}')", [cid(9)]);
    expect(await drafts()).toEqual({ [at(T0 - DRAFT_LEFTOVER_MS - 1)]: 2, [at(T0 - DRAFT_LEFTOVER_MS)]: 1, 'draft-0a1b2c3d4e5f6a7b': 1 });

    const draft = journal.planDraft(T0);
    await draft.writeExclusions(excluded);
    await draft.save({ ...plan, exclusionCount: excluded.length }, T0);
    expect(await drafts()).toEqual({ 'the plan': 3, [at(T0 - DRAFT_LEFTOVER_MS)]: 1, 'draft-0a1b2c3d4e5f6a7b': 1 });
    // The recent one is whole, and is dropped when its own plan fails.
    await recent.discard();
    expect(await drafts()).toEqual({ 'the plan': 3, 'draft-0a1b2c3d4e5f6a7b': 1 });
  });

  it('round-trips a plan built by the planner (steps in order, exclusions, summary) and saves it once', async () => {
    const text = `organization_id: "${ORG}"\ninactivity: 24 months\n`;
    const policy = parsePolicy(text);
    const snapshot = windowSnapshot('snap-p', policy, { contactCount: 6, transactionCount: 1 });
    const contacts = [
      contact(1),
      contact(2, { receivableCents: 5000 }),
      contact(3, { creditsPayableCents: 700 }),
      contact(4, { lastActivityDate: '2025-06-01', lastActivityType: 'invoices', lastActivityId: cid(9004), activityCount: 1 }),
      contact(5, { createdAt: T0 - 10 * DAY }),
      contact(6),
    ];
    const plan = planContacts(policy, text, snapshot, contacts);
    expect(plan.steps.length).toBeGreaterThan(0);
    expect(plan.excluded.length).toBeGreaterThan(0);
    await journal.savePlan(plan);
    await journal.savePlan(plan);
    // The plan comes back with its exclusions' count; the exclusions themselves page by page, in order.
    const { excluded, ...header } = plan;
    expect(await journal.getPlan(plan.planId)).toEqual({ ...header, exclusionCount: excluded.length });
    const pages: Exclusion[][] = [];
    for await (const page of journal.planExclusions(plan.planId, 1)) pages.push(page);
    expect(pages.flat()).toEqual(excluded);
    expect(pages.every((p) => p.length === 1)).toBe(true);
    expect((await journal.latestPlan(ORG))?.planId).toBe(plan.planId);
    expect(await journal.getPlan('plan_missing')).toBeUndefined();
    const rows = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM plan_steps WHERE plan_id = ?', [plan.planId]);
    expect(Number(rows?.n)).toBe(plan.steps.length);
  });
});

describe('runs and steps', () => {
  it('creates a run with its steps numbered in order, pending, never attempted', async () => {
    const runId = await makeRun(journal, 3, { runId: 'run-x' });
    expect(runId).toBe('run-x');
    const run = await journal.getRun(runId);
    expect(run).toMatchObject({ runId, organizationId: ORG, kind: 'plan', state: 'pending', startedAt: null, finishedAt: null, baselineAt: T0 - DAY });
    const steps = await journal.steps(runId);
    expect(steps.map((s) => [s.seq, s.contactId, s.state, s.attempts, s.leaseOwner, s.outcome])).toEqual([
      [1, cid(1), 'pending', 0, null, null],
      [2, cid(2), 'pending', 0, null, null],
      [3, cid(3), 'pending', 0, null, null],
    ]);
    await journal.setRunState(runId, 'running', T0 + 5);
    await journal.setRunState(runId, 'paused', T0 + 6);
    await journal.setRunState(runId, 'running', T0 + 7);
    await journal.setRunState(runId, 'done', T0 + 8);
    expect(await journal.getRun(runId)).toMatchObject({ state: 'done', startedAt: T0 + 5, finishedAt: T0 + 8 });
    const ids = (await journal.listRuns(ORG)).map((r) => r.runId);
    expect(ids).toEqual([runId]);
  });

  it('leases steps in seq order; another owner cannot take leased steps', async () => {
    const runId = await makeRun(journal, 5);
    const a = await journal.claimSteps(runId, 'host:1:a', T0, 100, 2);
    expect(a.map((s) => [s.seq, s.state, s.leaseOwner, s.leaseExpiresAt, s.attempts, s.startedAt])).toEqual([
      [1, 'in_flight', 'host:1:a', T0 + 100, 1, T0],
      [2, 'in_flight', 'host:1:a', T0 + 100, 1, T0],
    ]);
    const b = await journal.claimSteps(runId, 'host:2:b', T0 + 10, 100, 10);
    expect(b.map((s) => s.seq)).toEqual([3, 4, 5]);
    expect(await journal.claimSteps(runId, 'host:3:c', T0 + 20, 100, 10)).toEqual([]);
    // What the returned records say is what the journal holds.
    expect((await journal.steps(runId)).map((s) => [s.seq, s.leaseOwner, s.attempts])).toEqual([
      [1, 'host:1:a', 1], [2, 'host:1:a', 1], [3, 'host:2:b', 1], [4, 'host:2:b', 1], [5, 'host:2:b', 1],
    ]);
  });

  it('takes over an expired lease exactly once, counting the attempt', async () => {
    const runId = await makeRun(journal, 3);
    await journal.claimSteps(runId, 'a', T0, 100, 2);
    await journal.claimSteps(runId, 'b', T0 + 50, 100, 1);
    // At T0 + 100 nothing has expired yet (expiry is strictly after).
    expect(await journal.claimSteps(runId, 'c', T0 + 100, 100, 10)).toEqual([]);
    const c = await journal.claimSteps(runId, 'c', T0 + 101, 1000, 10);
    expect(c.map((s) => [s.seq, s.leaseOwner, s.attempts, s.startedAt])).toEqual([[1, 'c', 2, T0], [2, 'c', 2, T0]]);
    expect(await journal.claimSteps(runId, 'd', T0 + 102, 1000, 10)).toEqual([]);
    // b's lease (until T0 + 150) is now expired as well; a's steps belong to c until T0 + 1101.
    const d = await journal.claimSteps(runId, 'd', T0 + 151, 1000, 10);
    expect(d.map((s) => [s.seq, s.attempts])).toEqual([[3, 2]]);
  });

  it('takes over a dead owner\'s steps at once, exactly once, even with two claimers racing', async () => {
    const runId = await makeRun(journal, 6);
    await journal.claimSteps(runId, 'dead', T0, 600_000, 4);
    await journal.claimSteps(runId, 'alive', T0, 600_000, 1);
    const isDead = (owner: string): boolean => owner === 'dead';
    // Without isDead, unexpired leases stay put.
    expect((await journal.claimSteps(runId, 'x', T0 + 1, 600_000, 10)).map((s) => s.seq)).toEqual([6]);
    const [x, y] = await Promise.all([
      journal.claimSteps(runId, 'x2', T0 + 2, 600_000, 10, isDead),
      journal.claimSteps(runId, 'y', T0 + 2, 600_000, 10, isDead),
    ]);
    const taken = [...x!, ...y!].map((s) => s.seq).sort((p, q) => p - q);
    expect(taken).toEqual([1, 2, 3, 4]);
    expect([...x!, ...y!].every((s) => s.attempts === 2)).toBe(true);
    // The new owners are alive: nobody takes them again; 'alive' keeps its step.
    expect(await journal.claimSteps(runId, 'z', T0 + 3, 600_000, 10, isDead)).toEqual([]);
    const steps = await journal.steps(runId);
    expect(steps.find((s) => s.seq === 5)?.leaseOwner).toBe('alive');
    expect(steps.filter((s) => s.leaseOwner === 'dead')).toEqual([]);
  });

  it('fences finishes on the lease: a stale owner\'s finish returns false and changes nothing', async () => {
    const runId = await makeRun(journal, 2);
    await journal.claimSteps(runId, 'old', T0, 100, 2);
    await journal.claimSteps(runId, 'new', T0 + 200, 1000, 1);
    const before = (await journal.steps(runId))[0];
    expect(await journal.finishStep(runId, 1, 'old', { state: 'done', outcome: 'changed', finishedAt: T0 + 300 })).toBe(false);
    expect((await journal.steps(runId))[0]).toEqual(before);
    expect(await journal.finishStep(runId, 1, 'new', { state: 'done', outcome: 'changed', finishedAt: T0 + 301 })).toBe(true);
    // Done is final: a second finish (even by the owner) is refused.
    expect(await journal.finishStep(runId, 1, 'new', { state: 'failed', lastError: 'late', finishedAt: T0 + 302 })).toBe(false);
    expect((await journal.steps(runId))[0]).toMatchObject({ state: 'done', outcome: 'changed', finishedAt: T0 + 301, lastError: null });
    // Step 2's lease expired but nobody took it over yet: only its holder may finish it, not someone else.
    expect(await journal.finishStep(runId, 2, 'new', { state: 'done', outcome: 'changed', finishedAt: T0 })).toBe(false);
  });

  it('gives a step back (pending) without its lease, to be claimed again with the attempt counted', async () => {
    const runId = await makeRun(journal, 1);
    await journal.claimSteps(runId, 'a', T0, 600_000, 1);
    expect(await journal.finishStep(runId, 1, 'a', { state: 'pending', lastError: 'HTTP 503', finishedAt: T0 + 1 })).toBe(true);
    expect((await journal.steps(runId))[0]).toMatchObject({ state: 'pending', leaseOwner: null, leaseExpiresAt: null, finishedAt: null, lastError: 'HTTP 503', attempts: 1 });
    const again = await journal.claimSteps(runId, 'b', T0 + 2, 600_000, 1);
    expect(again.map((s) => [s.leaseOwner, s.attempts])).toEqual([['b', 2]]);
  });

  it('renews only the owner\'s leases', async () => {
    const runId = await makeRun(journal, 2);
    await journal.claimSteps(runId, 'a', T0, 100, 1);
    await journal.claimSteps(runId, 'b', T0, 100, 1);
    await journal.renewLeases(runId, 'a', T0 + 10_000);
    expect((await journal.claimSteps(runId, 'c', T0 + 500, 100, 10)).map((s) => s.seq)).toEqual([2]);
  });

  it('counts steps by state and outcome', async () => {
    const runId = await makeRun(journal, 7);
    await journal.claimSteps(runId, 'w', T0, 600_000, 6);
    await journal.finishStep(runId, 1, 'w', { state: 'done', outcome: 'changed', finishedAt: T0 });
    await journal.finishStep(runId, 2, 'w', { state: 'done', outcome: 'changed', finishedAt: T0 });
    await journal.finishStep(runId, 3, 'w', { state: 'done', outcome: 'unchanged', finishedAt: T0 });
    await journal.finishStep(runId, 4, 'w', { state: 'skipped', skipReason: 'traded', finishedAt: T0 });
    await journal.finishStep(runId, 5, 'w', { state: 'failed', lastError: 'HTTP 400', finishedAt: T0 });
    expect(await journal.runCounts(runId)).toEqual({ total: 7, pending: 1, inFlight: 1, changed: 2, unchanged: 1, skipped: 1, failed: 1 });
    expect(await journal.runCounts('run-none')).toEqual({ total: 0, pending: 0, inFlight: 0, changed: 0, unchanged: 0, skipped: 0, failed: 0 });
  });
});

describe('audit and latest changes', () => {
  it('lists only the steps that changed a contact, with from, to, why and who', async () => {
    const runA = await makeRun(journal, 3, { runId: 'run-a', createdBy: 'ana@example.com' });
    await journal.claimSteps(runA, 'w', T0, 600_000, 3);
    await journal.finishStep(runA, 1, 'w', { state: 'done', outcome: 'changed', finishedAt: T0 + 10 });
    await journal.finishStep(runA, 2, 'w', { state: 'done', outcome: 'unchanged', finishedAt: T0 + 11 });
    await journal.finishStep(runA, 3, 'w', { state: 'skipped', skipReason: 'traded', finishedAt: T0 + 12 });
    const runB = (await journal.createRun(
      { runId: 'run-b', organizationId: '701000002', target: 'embedded', kind: 'undo', planId: null, undoOf: runA, createdAt: T0 + 20, createdBy: 'bo@example.com', baselineAt: T0, note: 'undo' },
      [{ ...step(1, 'activate'), reason: 'undo of run-a: reason 1' }],
    )).runId;
    await journal.claimSteps(runB, 'w', T0 + 20, 600_000, 1);
    await journal.finishStep(runB, 1, 'w', { state: 'done', outcome: 'changed', finishedAt: T0 + 30 });

    const all = await journal.audit();
    expect(all).toEqual([
      { runId: 'run-a', runKind: 'plan', actor: 'ana@example.com', when: T0 + 10, organizationId: ORG, contactId: cid(1), contactName: 'Contact 1', from: 'active', to: 'inactive', why: 'reason 1' },
      { runId: 'run-b', runKind: 'undo', actor: 'bo@example.com', when: T0 + 30, organizationId: '701000002', contactId: cid(1), contactName: 'Contact 1', from: 'inactive', to: 'active', why: 'undo of run-a: reason 1' },
    ]);
    expect((await journal.audit({ runId: 'run-b' })).map((r) => r.runId)).toEqual(['run-b']);
    expect((await journal.audit({ organizationId: ORG })).map((r) => r.runId)).toEqual(['run-a']);
  });

  it('finds the latest change of each contact across runs, in chunks past 500 ids', async () => {
    const many = Array.from({ length: 620 }, (_, i) => step(i + 1));
    const first = (await journal.createRun(
      { runId: 'run-1', organizationId: ORG, target: 'embedded', kind: 'plan', planId: null, undoOf: null, createdAt: T0, createdBy: 'a', baselineAt: T0, note: '' }, many,
    )).runId;
    const claimed = await journal.claimSteps(first, 'w', T0, 600_000, 700);
    expect(claimed).toHaveLength(620);
    for (const s of claimed) await journal.finishStep(first, s.seq, 'w', { state: 'done', outcome: s.seq === 3 ? 'unchanged' : 'changed', finishedAt: T0 + s.seq });
    const second = (await journal.createRun(
      { runId: 'run-2', organizationId: ORG, target: 'embedded', kind: 'manual', planId: null, undoOf: null, createdAt: T0 + 5000, createdBy: 'a', baselineAt: T0, note: '' },
      [step(2, 'activate'), step(600, 'activate')],
    )).runId;
    await journal.claimSteps(second, 'w', T0 + 5000, 600_000, 2);
    await journal.finishStep(second, 1, 'w', { state: 'done', outcome: 'changed', finishedAt: T0 + 6000 });
    await journal.finishStep(second, 2, 'w', { state: 'skipped', skipReason: 'already active', finishedAt: T0 + 6000 });

    const ids = [...many.map((s) => s.contactId), cid(99_999)];
    const latest = await journal.latestChanges(ids);
    expect(latest.size).toBe(619); // 620 minus the unchanged one; the unknown id has none
    expect(latest.get(cid(1))).toEqual({ runId: 'run-1', to: 'inactive', at: T0 + 1 });
    expect(latest.get(cid(2))).toEqual({ runId: 'run-2', to: 'active', at: T0 + 6000 });
    expect(latest.get(cid(3))).toBeUndefined();
    expect(latest.get(cid(600))).toEqual({ runId: 'run-1', to: 'inactive', at: T0 + 600 });
    expect(latest.get(cid(620))).toEqual({ runId: 'run-1', to: 'inactive', at: T0 + 620 });
    expect(latest.has(cid(99_999))).toBe(false);
  });
});

describe('fingerprints', () => {
  it('saves, replaces and reads per phase; an empty one still counts as saved', async () => {
    expect(await journal.hasFingerprint('run-f', 'before')).toBe(false);
    await journal.saveFingerprint('run-f', 'before', [], { takenAt: T0, source: 'read' });
    expect(await journal.hasFingerprint('run-f', 'before')).toBe(true);
    expect(await journal.hasFingerprint('run-f', 'after')).toBe(false);
    expect(await journal.getFingerprint('run-f', 'before')).toEqual([]);

    const rows = [
      { contactId: cid(2), transactionType: 'invoices' as const, count: 3, totalCents: 1_000_000_000_001 },
      { contactId: cid(1), transactionType: 'estimates' as const, count: 1, totalCents: 5 },
      { contactId: cid(1), transactionType: 'creditnotes' as const, count: 2, totalCents: 0 },
    ];
    await journal.saveFingerprint('run-f', 'after', rows, { takenAt: T0, source: 'read' });
    expect(await journal.getFingerprint('run-f', 'after')).toEqual([rows[2], rows[1], rows[0]]);
    await journal.saveFingerprint('run-f', 'after', [rows[0]!], { takenAt: T0, source: 'read' });
    expect(await journal.getFingerprint('run-f', 'after')).toEqual([rows[0]]);
    expect(await journal.getFingerprint('run-f', 'before')).toEqual([]);
  });
});

describe('the async SQL port', () => {
  beforeEach(async () => {
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)');
  });
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('rolls a transaction back when it throws', async () => {
    await db.run('INSERT INTO t (id, v) VALUES (1, 1)');
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO t (id, v) VALUES (2, 2)');
        await tx.run('UPDATE t SET v = 100 WHERE id = 1');
        await tick();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.all('SELECT id, v FROM t ORDER BY id')).toEqual([{ id: 1, v: 1 }]);
    // The connection is usable afterwards (no transaction left open).
    await db.transaction(async (tx) => void (await tx.run('INSERT INTO t (id, v) VALUES (3, 3)')));
    expect(await db.all('SELECT id FROM t ORDER BY id')).toEqual([{ id: 1 }, { id: 3 }]);
  });

  it('never lets another async caller in while a transaction is open', async () => {
    const seen: number[] = [];
    const inside = db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (id, v) VALUES (1, 1)');
      for (let i = 0; i < 5; i++) await tick();
      await tx.run('INSERT INTO t (id, v) VALUES (2, 2)');
      for (let i = 0; i < 5; i++) await tick();
      throw new Error('rolled back');
    });
    // Callers that arrive while the transaction awaits must neither see its rows nor write into it.
    const readers = Array.from({ length: 5 }, async () => {
      await tick();
      // The transaction's own rows (ids under 10): the writer's row may be seen where it commits first (PostgreSQL).
      const row = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM t WHERE id < 10');
      seen.push(Number(row?.n));
    });
    const writer = (async () => {
      await tick();
      await db.run('INSERT INTO t (id, v) VALUES (10, 10)');
    })();
    await expect(inside).rejects.toThrow('rolled back');
    await Promise.all([...readers, writer]);
    expect(seen).toEqual([0, 0, 0, 0, 0]);
    expect(await db.all('SELECT id FROM t ORDER BY id')).toEqual([{ id: 10 }]);
  });

  // SQLite runs transactions one at a time. PostgreSQL (READ COMMITTED) does not: there a read
  // then a write is fenced instead (a WHERE on what was read, a constraint, ON CONFLICT), as the
  // journal's claims are; the next test holds on both.
  it.skipIf(TEST_DATABASE !== 'sqlite')('runs concurrent read-modify-write transactions one after another (no lost update)', async () => {
    await db.run('INSERT INTO t (id, v) VALUES (1, 0)');
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.transaction(async (tx) => {
          const row = await tx.get<{ v: number }>('SELECT v FROM t WHERE id = 1');
          await tick();
          await tx.run('UPDATE t SET v = ? WHERE id = 1', [Number(row?.v) + 1]);
        }),
      ),
    );
    expect(await db.get('SELECT v FROM t WHERE id = 1')).toEqual({ v: 20 });
  });
});

describe('schema version', () => {
  it('refuses a journal written by another schema version, with a clear error, and leaves it as it was', async () => {
    await makeRun(journal, 1, { runId: 'run-keep' });
    await db.run("UPDATE journal_meta SET value = '99' WHERE key = 'schema_version'");
    await db.close();
    const other = openTestDatabase(dbPath);
    opened.push(other);
    const error = await createJournal(other).migrate().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(JournalError);
    expect((error as Error).message).toMatch(/schema version 99, newer than this Sunset knows \(3\)/);
    expect(await other.get("SELECT value FROM journal_meta WHERE key = 'schema_version'")).toEqual({ value: '99' });
    expect(await other.get("SELECT run_id FROM runs WHERE run_id = 'run-keep'")).toEqual({ run_id: 'run-keep' });
  });

  it('migrates a fresh file and re-migrates an existing one without loss', async () => {
    await makeRun(journal, 2, { runId: 'run-again' });
    await journal.migrate();
    expect(await journal.steps('run-again')).toHaveLength(2);
    expect(await db.get("SELECT value FROM journal_meta WHERE key = 'schema_version'")).toEqual({ value: '3' });
  });

  /** The schema of version 1 exactly as Sunset 0.1 wrote it (a fixture: it never changes). */
  const V1 = [
    'CREATE TABLE journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
    `CREATE TABLE snapshots (snapshot_id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, taken_at BIGINT NOT NULL, cutoff_date TEXT NOT NULL,
      activity_types TEXT NOT NULL, statuses TEXT NOT NULL, api_calls INTEGER NOT NULL, contact_count INTEGER NOT NULL, transaction_count INTEGER NOT NULL, complete INTEGER NOT NULL)`,
    `CREATE TABLE snapshot_contacts (snapshot_id TEXT NOT NULL, contact_id TEXT NOT NULL, contact_name TEXT NOT NULL, company_name TEXT NOT NULL,
      contact_type TEXT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL, modified_at BIGINT NOT NULL, receivable_cents BIGINT NOT NULL,
      payable_cents BIGINT NOT NULL, credits_receivable_cents BIGINT NOT NULL, credits_payable_cents BIGINT NOT NULL, custom_fields TEXT NOT NULL,
      tags TEXT NOT NULL, zcrm_account_id TEXT NOT NULL, zcrm_contact_id TEXT NOT NULL, last_activity_date TEXT, last_activity_type TEXT,
      last_activity_id TEXT, activity_count INTEGER NOT NULL, activity_by_type TEXT NOT NULL, PRIMARY KEY (snapshot_id, contact_id))`,
    `CREATE TABLE plans (plan_id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, snapshot_id TEXT NOT NULL, as_of BIGINT NOT NULL, cutoff_date TEXT NOT NULL,
      policy_text TEXT NOT NULL, summary TEXT NOT NULL, created_at BIGINT NOT NULL)`,
    `CREATE TABLE plan_steps (plan_id TEXT NOT NULL, seq INTEGER NOT NULL, contact_id TEXT NOT NULL, contact_name TEXT NOT NULL, contact_type TEXT NOT NULL,
      action TEXT NOT NULL, reason TEXT NOT NULL, evidence TEXT NOT NULL, PRIMARY KEY (plan_id, seq))`,
    `CREATE TABLE plan_exclusions (plan_id TEXT NOT NULL, contact_id TEXT NOT NULL, contact_name TEXT NOT NULL, contact_type TEXT NOT NULL, reasons TEXT NOT NULL,
      detail TEXT NOT NULL, evidence TEXT NOT NULL, PRIMARY KEY (plan_id, contact_id))`,
    `CREATE TABLE runs (run_id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, kind TEXT NOT NULL, plan_id TEXT, undo_of TEXT, created_at BIGINT NOT NULL,
      created_by TEXT NOT NULL, state TEXT NOT NULL, started_at BIGINT, finished_at BIGINT, baseline_at BIGINT NOT NULL, note TEXT NOT NULL)`,
    `CREATE TABLE steps (run_id TEXT NOT NULL, seq INTEGER NOT NULL, contact_id TEXT NOT NULL, contact_name TEXT NOT NULL, contact_type TEXT NOT NULL,
      action TEXT NOT NULL, reason TEXT NOT NULL, evidence TEXT, state TEXT NOT NULL, outcome TEXT, skip_reason TEXT, attempts INTEGER NOT NULL,
      last_error TEXT, lease_owner TEXT, lease_expires_at BIGINT, started_at BIGINT, finished_at BIGINT, PRIMARY KEY (run_id, seq))`,
    'CREATE INDEX steps_run_state ON steps (run_id, state, seq)',
    'CREATE INDEX steps_contact ON steps (contact_id, finished_at)',
    `CREATE TABLE fingerprints (run_id TEXT NOT NULL, phase TEXT NOT NULL, contact_id TEXT NOT NULL, transaction_type TEXT NOT NULL, count INTEGER NOT NULL,
      total_cents BIGINT NOT NULL, PRIMARY KEY (run_id, phase, contact_id, transaction_type))`,
    "INSERT INTO journal_meta (key, value) VALUES ('schema_version', '1')",
  ];

  async function v1Journal(name: string, runs: Array<[runId: string, planId: string]>): Promise<string> {
    const path = join(dir.path, name);
    const raw = openTestDatabase(path);
    for (const sql of V1) await raw.exec(sql);
    for (const [runId, planId] of runs) {
      await raw.run(`INSERT INTO runs VALUES (?, ?, 'plan', ?, NULL, ?, 'ana', 'done', ?, ?, ?, 'v1 run')`, [runId, ORG, planId, T0, T0 + 1, T0 + 2, T0 - DAY]);
      await raw.run(`INSERT INTO steps VALUES (?, 1, ?, 'Contact 1', 'customer', 'deactivate', 'dormant', NULL, 'done', 'changed', NULL, 1, NULL, 'w', ?, ?, ?)`,
        [runId, cid(1), T0 + 600_000, T0 + 1, T0 + 1]);
      await raw.run("INSERT INTO fingerprints VALUES (?, 'before', ?, 'invoices', 3, 12000)", [runId, cid(1)]);
      await raw.run("INSERT INTO journal_meta (key, value) VALUES (?, '1')", [`fingerprint:${runId}:before`]);
    }
    await raw.close();
    return path;
  }

  it('brings a version 1 journal forward: its runs, steps and fingerprints kept, targets unknown, fingerprint times recorded', async () => {
    const path = await v1Journal('v1.db', [['run-old', 'plan_a']]);
    const j = await open(path);
    const run = await j.getRun('run-old');
    expect(run).toMatchObject({ runId: 'run-old', target: '', driver: null, state: 'done', note: 'v1 run' });
    expect(await j.steps('run-old')).toHaveLength(1);
    expect(await j.fingerprintSet('run-old', 'before')).toEqual({ takenAt: T0 + 1, source: 'read', rows: 1 });
    expect(await j.getFingerprint('run-old', 'before')).toEqual([{ contactId: cid(1), transactionType: 'invoices', count: 3, totalCents: 12000 }]);
    expect(await j.hasFingerprint('run-old', 'after')).toBe(false);
    expect(await databaseOf.get(j)!.get("SELECT COUNT(*) AS n FROM journal_meta WHERE key LIKE 'fingerprint:%'")).toEqual({ n: 0 });
    expect(await databaseOf.get(j)!.get("SELECT value FROM journal_meta WHERE key = 'schema_version'")).toEqual({ value: '3' });
    // The constraint is in place: a second run of that plan is refused.
    await expect(j.createRun({ organizationId: ORG, target: '', kind: 'plan', planId: 'plan_a', undoOf: null, createdAt: T0, createdBy: 'bo', baselineAt: T0, note: '' }, [step(2)]))
      .rejects.toBeInstanceOf(RunExistsError);
    expect((await check(j)).filter((p) => /has \d+ runs|undone by/.test(p))).toEqual([]);
  });

  it('brings forward a version 1 journal that already holds two runs of one plan: runs check names them', async () => {
    const path = await v1Journal('v1-twice.db', [['run-1', 'plan_b'], ['run-2', 'plan_b']]);
    const j = await open(path);
    expect(await j.listRuns()).toHaveLength(2);
    expect(await check(j)).toContain('plan plan_b has 2 runs (run-1, run-2); a plan is applied once');
    // The look before the insert still refuses a third.
    await expect(j.createRun({ organizationId: ORG, target: '', kind: 'plan', planId: 'plan_b', undoOf: null, createdAt: T0, createdBy: 'bo', baselineAt: T0, note: '' }, [step(2)]))
      .rejects.toThrow(/Plan plan_b already has a run: run-1/);
  });
});

describe('one run per plan, one undo per run', () => {
  const planRun = (j: Journal, planId: string, runId?: string) => j.createRun(
    { runId, organizationId: ORG, target: 'embedded', kind: 'plan', planId, undoOf: null, createdAt: T0, createdBy: 'ana', baselineAt: T0, note: '' }, [step(1), step(2)],
  );

  it('refuses a second run of a plan and a second undo of a run, naming the first, and writes nothing', async () => {
    const first = await planRun(journal, 'plan_x', 'run-x1');
    const again = await planRun(journal, 'plan_x', 'run-x2').then(() => undefined, (e: unknown) => e);
    expect(again).toBeInstanceOf(RunExistsError);
    expect((again as RunExistsError).existing.runId).toBe(first.runId);
    expect((again as Error).message).toMatch(/Plan plan_x already has a run: run-x1 \(pending\)/);
    const undo = (runId: string) => journal.createRun(
      { runId, organizationId: ORG, target: 'embedded', kind: 'undo', planId: null, undoOf: 'run-x1', createdAt: T0, createdBy: 'ana', baselineAt: T0, note: '' }, [step(1, 'activate')],
    );
    await undo('run-u1');
    await expect(undo('run-u2')).rejects.toThrow(/Run run-x1 is already being undone by run run-u1/);
    expect((await journal.listRuns()).map((r) => r.runId).sort()).toEqual(['run-u1', 'run-x1']);
    expect(await db.get("SELECT COUNT(*) AS n FROM steps WHERE run_id IN ('run-x2', 'run-u2')")).toEqual({ n: 0 });
    expect((await check(journal)).filter((p) => /has \d+ runs|undone by \d+/.test(p))).toEqual([]);
  });

  // The defect: two `apply PLAN` started together both passed the "already applied" check. Here both
  // look before either writes (their calls interleave), so the constraint is what refuses the
  // second; test/cli/run-lease.test.ts races two processes.
  it('lets exactly one of two racing creations make the run: the constraint decides, not the look before', async () => {
    for (let trial = 0; trial < 15; trial++) {
      const planId = `plan_race_${trial}`;
      const results = await Promise.allSettled([planRun(journal, planId), planRun(journal, planId)]);
      expect(results.filter((r) => r.status === 'fulfilled'), `trial ${trial}`).toHaveLength(1);
      const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      expect(refused.reason).toBeInstanceOf(RunExistsError);
    }
    expect((await check(journal)).filter((p) => /has \d+ runs/.test(p))).toEqual([]);
  });

  it('is what runs check reports when the constraint is missing (two runs of one plan, two undos of one run)', async () => {
    await db.exec('DROP INDEX runs_one_per_plan');
    await db.exec('DROP INDEX runs_one_undo_per_run');
    await db.run("INSERT INTO runs (run_id, organization_id, target, kind, plan_id, undo_of, created_at, created_by, state, baseline_at, note) VALUES ('r1', ?, '', 'plan', 'plan_d', NULL, 1, 'a', 'pending', 1, '')", [ORG]);
    await db.run("INSERT INTO runs (run_id, organization_id, target, kind, plan_id, undo_of, created_at, created_by, state, baseline_at, note) VALUES ('r2', ?, '', 'plan', 'plan_d', NULL, 2, 'a', 'pending', 1, '')", [ORG]);
    await db.run("INSERT INTO runs (run_id, organization_id, target, kind, plan_id, undo_of, created_at, created_by, state, baseline_at, note) VALUES ('u1', ?, '', 'undo', NULL, 'r1', 3, 'a', 'pending', 1, '')", [ORG]);
    await db.run("INSERT INTO runs (run_id, organization_id, target, kind, plan_id, undo_of, created_at, created_by, state, baseline_at, note) VALUES ('u2', ?, '', 'undo', NULL, 'r1', 4, 'a', 'pending', 1, '')", [ORG]);
    const problems = await check(journal);
    expect(problems).toContain('plan plan_d has 2 runs (r1, r2); a plan is applied once');
    expect(problems).toContain('run r1 is undone by 2 runs (u1, u2); a run is undone once');
  });
});

describe('run drivers', () => {
  it('lets one owner drive a run: a second is refused with the holder until the lease runs out or the holder is gone', async () => {
    const runId = await makeRun(journal, 1);
    const a = await journal.claimRun(runId, 'host-a:11:aa', T0, 30_000);
    expect(a).toMatchObject({ ok: true, run: { driver: { owner: 'host-a:11:aa', since: T0, until: T0 + 30_000 } } });
    expect(runStatus((a as { run: Parameters<typeof runStatus>[0] }).run, T0)).toBe('pending');
    // Renewing keeps "since".
    expect(await journal.claimRun(runId, 'host-a:11:aa', T0 + 10_000, 30_000)).toMatchObject({ ok: true, run: { driver: { since: T0, until: T0 + 40_000 } } });
    expect(await journal.claimRun(runId, 'host-b:22:bb', T0 + 20_000, 30_000)).toEqual({ ok: false, holder: { owner: 'host-a:11:aa', since: T0, until: T0 + 40_000 } });
    // Known dead: taken over at once.
    expect(await journal.claimRun(runId, 'host-b:22:bb', T0 + 20_000, 30_000, (o) => o === 'host-a:11:aa')).toMatchObject({ ok: true, run: { driver: { owner: 'host-b:22:bb', since: T0 + 20_000 } } });
    // The old driver's release changes nothing now.
    expect(await journal.releaseRun(runId, 'host-a:11:aa', 'paused', T0 + 21_000)).toBe(false);
    expect((await journal.getRun(runId))?.driver?.owner).toBe('host-b:22:bb');
    // Lease run out: anyone may take it.
    expect(await journal.claimRun(runId, 'host-c:33:cc', T0 + 50_001, 30_000)).toMatchObject({ ok: true });
    expect(await journal.releaseRun(runId, 'host-c:33:cc', 'done', T0 + 60_000)).toBe(true);
    expect(await journal.getRun(runId)).toMatchObject({ state: 'done', finishedAt: T0 + 60_000, driver: null });
  });

  it('reads as interrupted when it says running but its driver is gone or its lease ran out', async () => {
    const runId = await makeRun(journal, 1);
    await journal.claimRun(runId, 'host-a:11:aa', T0, 30_000);
    await journal.setRunState(runId, 'running', T0);
    const run = (await journal.getRun(runId))!;
    expect(runStatus(run, T0 + 1_000)).toBe('running');
    expect(runStatus(run, T0 + 1_000, () => true)).toBe('interrupted');
    expect(runStatus(run, T0 + 30_001)).toBe('interrupted');
    await journal.releaseRun(runId, 'host-a:11:aa', 'running', T0 + 2_000);
    expect(runStatus((await journal.getRun(runId))!, T0 + 2_000)).toBe('interrupted');
  });

  it('renews only a drive still held, even past its lease; a drive taken over, or let go by the one who took it, is lost', async () => {
    const runId = await makeRun(journal, 1);
    await journal.claimRun(runId, 'host-a:11:aa', T0, 30_000);
    // Past the lease, nobody else came: still a's.
    expect(await journal.renewRun(runId, 'host-a:11:aa', T0 + 40_000, 30_000)).toBe(true);
    expect((await journal.getRun(runId))?.driver).toEqual({ owner: 'host-a:11:aa', since: T0, until: T0 + 70_000 });
    expect(await journal.renewRun(runId, 'host-b:22:bb', T0 + 40_000, 30_000)).toBe(false);
    // Taken over by b, who ends the run: a's renewal neither takes it back nor touches the run.
    expect(await journal.claimRun(runId, 'host-b:22:bb', T0 + 70_001, 30_000)).toMatchObject({ ok: true });
    expect(await journal.renewRun(runId, 'host-a:11:aa', T0 + 71_000, 30_000)).toBe(false);
    expect(await journal.releaseRun(runId, 'host-b:22:bb', 'done', T0 + 72_000)).toBe(true);
    expect(await journal.renewRun(runId, 'host-a:11:aa', T0 + 73_000, 30_000)).toBe(false);
    expect(await journal.getRun(runId)).toMatchObject({ state: 'done', finishedAt: T0 + 72_000, driver: null });
  });

  it('lets exactly one of many racing claimants win', async () => {
    const runId = await makeRun(journal, 1);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => journal.claimRun(runId, `host:${100 + i}:x`, T0, 30_000)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });
});

describe('policies', () => {
  it('keeps one policy per organization, replaced by the latest save', async () => {
    expect(await journal.policy(ORG)).toBeUndefined();
    await journal.savePolicy({ organizationId: ORG, text: 'a: 1\n', updatedAt: T0, updatedBy: 'cli' });
    await journal.savePolicy({ organizationId: ORG, text: 'a: 2\n', updatedAt: T0 + 1, updatedBy: 'ui' });
    await journal.savePolicy({ organizationId: '701000002', text: 'b\n', updatedAt: T0, updatedBy: 'cli' });
    expect(await journal.policy(ORG)).toEqual({ organizationId: ORG, text: 'a: 2\n', updatedAt: T0 + 1, updatedBy: 'ui' });
    expect(await journal.policyOrganizations()).toEqual([ORG, '701000002']);
  });
});
