/**
 * Crash and resume, in process: the applier is stopped dead at one of its failpoints ('after-claim',
 * 'after-call', 'after-finish') at the Nth step (N, the position and the concurrency drawn from a
 * seeded random source). From that moment the crashed worker's every failpoint throws, so the rest
 * of its batch dies too, as in a killed process, and its steps stay leased to it. A new worker (a
 * new client and port: a new process) resumes with `isDead` saying the old owner is gone. Some
 * trials crash the resuming worker as well and resume a third time.
 *
 * After each trial: every planned contact is inactive (the emulator's state equals the plan), the
 * request log shows exactly one successful status change per planned contact (none changed twice,
 * none lost), every step is done and changed, and the steps in flight at the crash were recovered.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { applyRun, createRunFromPlan, createUndoRun, type FailpointName, type StepRecord } from '../../src/engine/index.js';
import { seededRandom } from '../helpers/client.js';
import { rawList, scanAndPlan, startEngineHarness, successfulStatusChanges, type EngineHarness } from '../helpers/engine.js';

class Crash extends Error {
  override name = 'Crash';
}

const POSITIONS: FailpointName[] = ['after-claim', 'after-call', 'after-finish'];
const TRIALS = 12;
const random = seededRandom(0x5eed_2026);

interface CrashPoint {
  position: FailpointName;
  /** Crash the Nth time this worker reaches that failpoint (1-based). */
  nth: number;
  concurrency: number;
}

/** A worker that dies at its crash point and stays dead: every later failpoint of it throws too. */
function crashingFailpoint(point: CrashPoint): { failpoint: (name: FailpointName, step: StepRecord) => void; crashed: () => StepRecord | undefined } {
  let reached = 0;
  let crashedAt: StepRecord | undefined;
  return {
    failpoint(name, step) {
      if (crashedAt) throw new Crash(`dead worker at ${name} of step ${step.seq}`);
      if (name !== point.position) return;
      reached++;
      if (reached === point.nth) {
        crashedAt = step;
        throw new Crash(`crash at ${name} of step ${step.seq}`);
      }
    },
    crashed: () => crashedAt,
  };
}

const summary: string[] = [];
const harnesses: EngineHarness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});
afterAll(() => {
  if (summary.length > 0) console.log(`crash-inprocess: ${summary.length} trials, positions: ${summary.join(', ')}`);
});

const trials = Array.from({ length: TRIALS }, (_, i) => ({
  trial: i + 1,
  position: POSITIONS[i % POSITIONS.length]!,
  concurrency: 1 + Math.floor(random() * 4),
  fraction: random(),
  /** Every fourth trial crashes the resuming worker too. */
  twice: i % 4 === 3,
  secondPosition: POSITIONS[Math.floor(random() * POSITIONS.length)]!,
  secondFraction: random(),
}));

describe('apply crashes at random points and resumes without doing a step twice or losing one', () => {
  it.each(trials)('trial $trial: crash at $position (concurrency $concurrency, twice: $twice)', async (trial) => {
    const h = await startEngineHarness({ contacts: 120, randomSeed: 100 + trial.trial });
    harnesses.push(h);
    const { plan } = await scanAndPlan(h);
    const n = plan.steps.length;
    expect(n).toBeGreaterThan(10);
    const { items: before } = await rawList<{ contact_id: string; status: string }>(h.t, '/contacts', 'contacts', { filter_by: 'Status.All' });
    const run = await createRunFromPlan(h.journal, plan, 'ana@example.com', h.clock.now());
    const since = await h.lastSeq();

    // Worker A crashes.
    const first: CrashPoint = { position: trial.position, nth: 1 + Math.floor(trial.fraction * n), concurrency: trial.concurrency };
    const a = crashingFailpoint(first);
    await expect(applyRun({
      journal: h.journal, port: h.port, runId: run.runId, owner: 'host:101:a', clock: h.clock, concurrency: first.concurrency, failpoint: a.failpoint,
    })).rejects.toBeInstanceOf(Crash);
    const crashStep = a.crashed()!;
    expect(crashStep).toBeDefined();
    const dead = new Set(['host:101:a']);
    let label = `${first.position}#${crashStep.seq}/${n}@c${first.concurrency}`;

    const afterCrash = await h.journal.steps(run.runId);
    const inFlight = afterCrash.filter((s) => s.state === 'in_flight');
    expect(inFlight.every((s) => s.leaseOwner === 'host:101:a')).toBe(true);
    if (first.position === 'after-finish') expect(afterCrash[crashStep.seq - 1]).toMatchObject({ state: 'done', outcome: 'changed' });
    else expect(inFlight.map((s) => s.seq)).toContain(crashStep.seq);
    // Which in-flight steps had already reached Zoho when the worker died.
    const crashLog = await h.requests({ since });
    const calledBeforeCrash = successfulStatusChanges(crashLog);
    const inFlightCalled = new Set(inFlight.filter((s) => calledBeforeCrash.has(s.contactId)).map((s) => s.seq));
    if (first.position === 'after-call') expect(inFlightCalled.has(crashStep.seq)).toBe(true);
    if (first.position === 'after-claim') expect(inFlightCalled.has(crashStep.seq)).toBe(false);
    const inFlightSeqs = new Set(inFlight.map((s) => s.seq));

    let resumeSeq = await h.lastSeq();
    if (trial.twice) {
      // Worker B resumes and dies too.
      const b = h.newSide();
      // Steps left in flight by A are settled with one read on takeover (no call, so no 'after-call'
      // or 'after-finish' point for them): count only the pending ones B must call for.
      const remaining = Math.max(1, afterCrash.filter((s) => s.state === 'pending').length);
      const second: CrashPoint = { position: trial.secondPosition, nth: 1 + Math.floor(trial.secondFraction * remaining), concurrency: 2 };
      const fb = crashingFailpoint(second);
      await expect(applyRun({
        journal: h.journal, port: b.port, runId: run.runId, owner: 'host:202:b', clock: h.clock, concurrency: second.concurrency,
        failpoint: fb.failpoint, isDead: (owner) => dead.has(owner),
      })).rejects.toBeInstanceOf(Crash);
      dead.add('host:202:b');
      label += `+${second.position}#${fb.crashed()!.seq}`;
      for (const s of await h.journal.steps(run.runId)) if (s.state === 'in_flight') inFlightSeqs.add(s.seq);
      resumeSeq = await h.lastSeq();
    }

    // The last worker, a new process, resumes and finishes.
    const c = h.newSide();
    const result = await applyRun({
      journal: h.journal, port: c.port, runId: run.runId, owner: 'host:303:c', clock: h.clock, concurrency: 3, isDead: (owner) => dead.has(owner),
    });
    summary.push(label);

    // The journal: every step done and changed, counts equal to the plan.
    expect(result.interrupted).toBe(false);
    expect(result.run.state).toBe('done');
    expect(result.counts).toEqual({ total: n, pending: 0, inFlight: 0, changed: n, unchanged: 0, skipped: 0, failed: 0 });
    const final = await h.journal.steps(run.runId);
    expect(final.map((s) => s.contactId)).toEqual(plan.steps.map((s) => s.contactId));
    for (const s of final) expect([s.seq, s.state, s.outcome]).toEqual([s.seq, 'done', 'changed']);
    // The steps in flight at the crash were recovered: taken over, and recorded as changed.
    for (const seq of inFlightSeqs) {
      const s = final[seq - 1]!;
      expect(s.attempts, `step ${seq}`).toBeGreaterThanOrEqual(2);
      if (inFlightCalled.has(seq)) expect(s.lastError ?? '', `step ${seq}`).toMatch(/confirmed after a restart/);
    }
    expect((await h.journal.audit({ runId: run.runId })).length).toBe(n);

    // The emulator: its state equals the plan, and no contact was changed twice or lost.
    const { items: after } = await rawList<{ contact_id: string; status: string }>(h.t, '/contacts', 'contacts', { filter_by: 'Status.All' });
    const planned = new Set(plan.steps.map((s) => s.contactId));
    const beforeById = new Map(before.map((x) => [x.contact_id, x.status]));
    for (const x of after) expect(x.status, x.contact_id).toBe(planned.has(x.contact_id) ? 'inactive' : beforeById.get(x.contact_id));
    const log = await h.requests({ since });
    const changes = successfulStatusChanges(log);
    expect([...changes.keys()].sort()).toEqual([...planned].sort());
    for (const [id, list] of changes) expect(list, `contact ${id}`).toEqual(['inactive']);
    // A step first called by the resuming worker was called after the crash, once.
    for (const seq of inFlightSeqs) {
      if (inFlightCalled.has(seq)) continue;
      const id = final[seq - 1]!.contactId;
      const calls = log.filter((e) => e.path === `/books/v3/contacts/${id}/inactive` && e.code === 0);
      expect(calls.length).toBe(1);
      if (!trial.twice) expect(calls[0]!.seq).toBeGreaterThan(resumeSeq);
    }
  });

  it('does not deactivate again a contact that someone re-activated while its step was in flight at a crash', async () => {
    const h = await startEngineHarness({ contacts: 120, randomSeed: 99 });
    harnesses.push(h);
    const { plan } = await scanAndPlan(h);
    const run = await createRunFromPlan(h.journal, plan, 'ana@example.com', h.clock.now());
    const since = await h.lastSeq();
    const a = crashingFailpoint({ position: 'after-call', nth: 3, concurrency: 1 });
    await expect(applyRun({
      journal: h.journal, port: h.port, runId: run.runId, owner: 'host:101:a', clock: h.clock, concurrency: 1, failpoint: a.failpoint,
    })).rejects.toBeInstanceOf(Crash);
    const victim = plan.steps[2]!;
    expect(a.crashed()?.contactId).toBe(victim.contactId);
    // While the crashed worker is gone, someone re-activates that contact in Zoho.
    await h.clock.sleep(1_000);
    const res = await h.t.call('POST', `/contacts/${victim.contactId}/active`, { body: {} });
    expect(res.status).toBe(200);
    await h.clock.sleep(1_000);

    const c = h.newSide();
    const result = await applyRun({
      journal: h.journal, port: c.port, runId: run.runId, owner: 'host:303:c', clock: h.clock, isDead: (owner) => owner === 'host:101:a',
    });
    expect(result.counts).toMatchObject({ total: plan.steps.length, pending: 0, inFlight: 0 });
    // Re-activated by someone since the snapshot: skipped, not deactivated (again).
    const log = await h.requests({ since });
    expect(successfulStatusChanges(log).get(victim.contactId)).toEqual(['inactive', 'active']);
    const rec = (await h.journal.steps(run.runId))[2]!;
    expect(rec.state).toBe('skipped');
    const status = await h.t.call<{ contact: { status: string } }>('GET', `/contacts/${victim.contactId}`);
    expect(status.body.contact.status).toBe('active');
  });

  it('an undo started right after its run, interrupted after a claim, still reverses that contact (Sunset\'s own change is no one else\'s)', async () => {
    // Found by the crash suite (test/reliability/crash.test.ts): the resumed step read the contact,
    // saw it modified a moment before the step started (by the run being undone) and skipped it
    // as "changed by someone else".
    const h = await startEngineHarness({ contacts: 120, randomSeed: 7 });
    harnesses.push(h);
    const { plan } = await scanAndPlan(h);
    const run = await createRunFromPlan(h.journal, plan, 'ana@example.com', h.clock.now());
    await applyRun({ journal: h.journal, port: h.port, runId: run.runId, owner: 'host:100:x', clock: h.clock });
    const { run: undo } = await createUndoRun(h.journal, run.runId, 'ana@example.com', h.clock.now());
    const since = await h.lastSeq();
    const a = crashingFailpoint({ position: 'after-claim', nth: 2, concurrency: 1 });
    await expect(applyRun({
      journal: h.journal, port: h.port, runId: undo.runId, owner: 'host:101:a', clock: h.clock, concurrency: 1, failpoint: a.failpoint,
    })).rejects.toBeInstanceOf(Crash);
    const victim = a.crashed()!;
    const c = h.newSide();
    const result = await applyRun({
      journal: h.journal, port: c.port, runId: undo.runId, owner: 'host:303:c', clock: h.clock, isDead: (owner) => owner === 'host:101:a',
    });
    expect(result.counts).toMatchObject({ total: plan.steps.length, changed: plan.steps.length, skipped: 0, pending: 0, inFlight: 0 });
    const changes = successfulStatusChanges(await h.requests({ since }));
    expect(changes.get(victim.contactId)).toEqual(['active']);
    for (const st of plan.steps) expect(changes.get(st.contactId)).toEqual(['active']);
  });

  it('covers at least 10 crash positions across the three failpoints', () => {
    expect(trials.length).toBeGreaterThanOrEqual(10);
    expect(new Set(trials.map((t) => t.position))).toEqual(new Set(POSITIONS));
  });
});
