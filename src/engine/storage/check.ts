/**
 * The journal's integrity check: the database file itself (SQLite's `PRAGMA integrity_check`) and
 * the invariants the engine relies on to resume and undo. `sunset runs check` prints it; the crash
 * suite runs it after every trial. An empty list means the journal is sound.
 *
 * Invariants:
 * - a run's counts are its steps' states; a finished (done) run has no pending or in-flight step;
 * - a step's fields agree with its state: an outcome only on done steps, a finish time on every
 *   settled step, a lease only on in-flight ones; contact ids are Zoho ids; no contact twice in a run;
 * - a plan run's steps are steps of its plan, with the same action; a plan has at most one run;
 * - an undo run only reverses contacts its run changed, in the opposite direction; a run has at
 *   most one undo run;
 * - a finished run has no driver;
 * - a plan has no contact both as a step and as an exclusion.
 */
import { isZohoId } from '../../zoho/index.js';
import type { Journal } from './journal.js';
import type { SqlDatabase } from './sql.js';

/** The database itself (SQLite's own checks; nothing yet for another database): problems, or none. */
export async function checkDatabase(db: SqlDatabase): Promise<string[]> {
  const problems: string[] = [];
  if (db.dialect === 'sqlite') {
    const rows = await db.all<Record<string, unknown>>('PRAGMA integrity_check');
    const messages = rows.map((r) => String(Object.values(r)[0]));
    if (messages.length !== 1 || messages[0] !== 'ok') problems.push(...messages.map((m) => `database file: ${m}`));
    const foreign = await db.all<Record<string, unknown>>('PRAGMA foreign_key_check');
    if (foreign.length > 0) problems.push(`database file: ${foreign.length} rows break a foreign key`);
  }
  return problems;
}

/** The database (`checkDatabase`), then the journal's invariants through its own interface. */
export async function checkJournal(journal: Journal, db: SqlDatabase): Promise<string[]> {
  const problems: string[] = await checkDatabase(db);

  const plans = new Map<string, Map<string, string> | null>();
  const planSteps = async (planId: string): Promise<Map<string, string> | null> => {
    if (!plans.has(planId)) {
      const plan = await journal.getPlan(planId);
      if (!plan) plans.set(planId, null);
      else {
        plans.set(planId, new Map(plan.steps.map((s) => [s.contactId, s.action])));
        const stepIds = new Set(plan.steps.map((s) => s.contactId));
        const both = [];
        for await (const page of journal.planExclusions(planId)) both.push(...page.filter((e) => stepIds.has(e.contactId)));
        if (both.length > 0) problems.push(`plan ${planId}: ${both.length} contacts are both a step and an exclusion (${both[0]!.contactId})`);
      }
    }
    return plans.get(planId)!;
  };

  const allRuns = await journal.listRuns();
  const twice = (key: (r: (typeof allRuns)[number]) => string | null, what: (k: string, ids: string[]) => string): void => {
    const by = new Map<string, string[]>();
    for (const r of allRuns) {
      const k = key(r);
      if (k !== null) by.set(k, [...(by.get(k) ?? []), r.runId]);
    }
    for (const [k, ids] of by) if (ids.length > 1) problems.push(what(k, ids.sort()));
  };
  twice((r) => (r.kind === 'plan' ? r.planId : null), (planId, ids) => `plan ${planId} has ${ids.length} runs (${ids.join(', ')}); a plan is applied once`);
  twice((r) => (r.kind === 'undo' ? r.undoOf : null), (runId, ids) => `run ${runId} is undone by ${ids.length} runs (${ids.join(', ')}); a run is undone once`);

  for (const run of allRuns) {
    const where = `run ${run.runId}`;
    const steps = await journal.steps(run.runId);
    const counts = await journal.runCounts(run.runId);
    const by = (state: string, outcome?: string): number => steps.filter((s) => s.state === state && (outcome === undefined || s.outcome === outcome)).length;
    const expected = {
      total: steps.length, pending: by('pending'), inFlight: by('in_flight'), changed: by('done', 'changed'),
      unchanged: by('done', 'unchanged'), skipped: by('skipped'), failed: by('failed'),
    };
    for (const [key, value] of Object.entries(expected)) {
      if ((counts as unknown as Record<string, number>)[key] !== value) problems.push(`${where}: counts say ${key} ${(counts as unknown as Record<string, number>)[key]}, its steps ${value}`);
    }
    if (run.state === 'done' && expected.pending + expected.inFlight > 0) problems.push(`${where}: done, but ${expected.pending} steps pending and ${expected.inFlight} in flight`);
    if (run.state === 'done' && run.finishedAt === null) problems.push(`${where}: done without a finish time`);
    if ((run.state === 'done' || run.state === 'failed' || run.state === 'cancelled') && run.driver !== null) problems.push(`${where}: ${run.state}, yet driven by ${run.driver.owner}`);

    const seen = new Set<string>();
    for (const s of steps) {
      const at = `${where} step ${s.seq} (${s.contactId})`;
      if (!isZohoId(s.contactId)) problems.push(`${at}: the contact id is not a Zoho id`);
      if (seen.has(s.contactId)) problems.push(`${at}: the contact appears twice in the run`);
      seen.add(s.contactId);
      if (s.action !== 'activate' && s.action !== 'deactivate') problems.push(`${at}: unknown action ${String(s.action)}`);
      const settled = s.state === 'done' || s.state === 'skipped' || s.state === 'failed';
      if (s.state === 'done' && s.outcome !== 'changed' && s.outcome !== 'unchanged') problems.push(`${at}: done without an outcome`);
      if (s.state !== 'done' && s.outcome !== null) problems.push(`${at}: ${s.state} but has the outcome ${s.outcome}`);
      if (settled && s.finishedAt === null) problems.push(`${at}: ${s.state} without a finish time`);
      if (!settled && s.finishedAt !== null) problems.push(`${at}: ${s.state} with a finish time`);
      if (s.state === 'in_flight' && (s.leaseOwner === null || s.leaseExpiresAt === null)) problems.push(`${at}: in flight without a lease`);
      if (s.state === 'pending' && s.leaseOwner !== null) problems.push(`${at}: pending but leased by ${s.leaseOwner}`);
      if (s.state === 'skipped' && !s.skipReason) problems.push(`${at}: skipped without a reason`);
      if (s.state === 'done' && s.outcome === 'changed' && s.attempts < 1) problems.push(`${at}: changed without an attempt`);
    }

    if (run.kind === 'plan' && run.planId) {
      const planned = await planSteps(run.planId);
      if (planned === null) problems.push(`${where}: its plan ${run.planId} is missing`);
      else {
        for (const s of steps) {
          const action = planned.get(s.contactId);
          if (action === undefined) problems.push(`${where}: contact ${s.contactId} is not in plan ${run.planId}`);
          else if (action !== s.action) problems.push(`${where}: contact ${s.contactId} is to ${s.action}, the plan says ${action}`);
        }
      }
    }
    if (run.kind === 'undo' && run.undoOf) {
      const original = new Map((await journal.steps(run.undoOf)).filter((s) => s.state === 'done' && s.outcome === 'changed').map((s) => [s.contactId, s.action]));
      for (const s of steps) {
        const did = original.get(s.contactId);
        if (did === undefined) problems.push(`${where}: undoes contact ${s.contactId}, which run ${run.undoOf} did not change`);
        else if (did === s.action) problems.push(`${where}: contact ${s.contactId} is to ${s.action} again, not reversed`);
      }
    }
  }
  return problems;
}
