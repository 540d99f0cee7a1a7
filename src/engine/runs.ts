/** Making runs: from a plan, as the undo of a run, or from a list of contact ids (CLI, CSV, CRM). */
import { isZohoId, type ContactType } from '../zoho/index.js';
import { RunExistsError, type NewStep, type Journal } from './storage/journal.js';
import type { Plan, RunKind, RunRecord, StepAction } from './types.js';

export class RunInputError extends Error {
  override name = 'RunInputError';
}

/** A run's state as people should read it: `interrupted` when it says running but no live process drives it. */
export type RunStatus = RunRecord['state'] | 'interrupted';

/**
 * `running` only while a driver holds the run's lease and is not known dead (`isDead`: a gone
 * process on this host); a run left running by a killed or stopped process is `interrupted`, to be
 * resumed (`sunset apply --resume`, or the service's start).
 */
export function runStatus(run: RunRecord, now: number, isDead?: (owner: string) => boolean): RunStatus {
  if (run.state !== 'running') return run.state;
  const d = run.driver;
  return d !== null && d.until >= now && isDead?.(d.owner) !== true ? 'running' : 'interrupted';
}

/**
 * The run of a plan (or of the plan's steps a reviewer kept). When the plan's snapshot read the
 * whole history, the run's "before" fingerprint is the snapshot's counts of its contacts, as of the
 * scan: no call now, and `verify` explains any trading since by what was modified after it.
 */
export async function createRunFromPlan(journal: Journal, plan: Plan, createdBy: string, now: number): Promise<RunRecord> {
  if (plan.steps.length === 0) throw new RunInputError(`Plan ${plan.planId} has no steps: nothing to apply.`);
  const run = await journal.createRun(
    { organizationId: plan.organizationId, target: plan.target, kind: 'plan', planId: plan.planId, undoOf: null, createdAt: now, createdBy, baselineAt: plan.asOf, note: `plan ${plan.planId}` },
    plan.steps.map((s) => ({ contactId: s.contactId, contactName: s.contactName, contactType: s.contactType, action: s.action, reason: s.reason, evidence: s.evidence })),
  );
  const snapshot = await journal.getSnapshot(plan.snapshotId);
  if (snapshot?.history === 'full') {
    const rows = await journal.snapshotFingerprint(plan.snapshotId, plan.steps.map((s) => s.contactId));
    await journal.saveFingerprint(run.runId, 'before', rows, { takenAt: snapshot.takenAt, source: 'snapshot' });
  }
  return run;
}

export interface UndoPreview {
  steps: NewStep[];
  /** Changes of the run that are no longer as it left them, and why. */
  skipped: Array<{ contactId: string; contactName: string; reason: string }>;
}

/**
 * The steps that reverse a run's changes which are still as it left them: a later run that changed
 * the contact again rules it out (revalidation during the undo catches changes made outside Sunset).
 */
export async function previewUndo(journal: Journal, runId: string): Promise<{ run: RunRecord; preview: UndoPreview }> {
  const run = await journal.getRun(runId);
  if (!run) throw new RunInputError(`There is no run ${runId}. \`sunset runs\` lists them.`);
  const undone = await journal.undoOf(runId);
  if (undone) {
    throw new RunExistsError(undone.state === 'done'
      ? `Run ${runId} was already undone by run ${undone.runId}.`
      : `Run ${runId} is already being undone by run ${undone.runId} (${undone.state}); continue that one with \`sunset apply --resume ${undone.runId}\`.`, undone);
  }
  const changed = (await journal.steps(runId)).filter((s) => s.state === 'done' && s.outcome === 'changed');
  if (changed.length === 0) throw new RunInputError(`Run ${runId} changed no contacts: nothing to undo.`);
  const latest = await journal.latestChanges(changed.map((s) => s.contactId));
  const preview: UndoPreview = { steps: [], skipped: [] };
  for (const s of changed) {
    const last = latest.get(s.contactId);
    if (last && last.runId !== runId) {
      preview.skipped.push({ contactId: s.contactId, contactName: s.contactName, reason: `changed again by run ${last.runId} (to ${last.to})` });
      continue;
    }
    const action: StepAction = s.action === 'deactivate' ? 'activate' : 'deactivate';
    preview.steps.push({ contactId: s.contactId, contactName: s.contactName, contactType: s.contactType, action, reason: `undo of ${runId}: ${s.reason}`, evidence: null });
  }
  return { run, preview };
}

export async function createUndoRun(journal: Journal, runId: string, createdBy: string, now: number): Promise<{ run: RunRecord; skipped: UndoPreview['skipped'] }> {
  const { run, preview } = await previewUndo(journal, runId);
  if (preview.steps.length === 0) throw new RunInputError(`Every change of run ${runId} has been changed again since; nothing to undo.`);
  const undo = await journal.createRun(
    { organizationId: run.organizationId, target: run.target, kind: 'undo', planId: null, undoOf: runId, createdAt: now, createdBy, baselineAt: run.startedAt ?? run.createdAt, note: `undo of ${runId}` },
    preview.steps,
  );
  // A status change moves no transaction: the history the run started from is the undo's "before"
  // too (verify explains what traded since by what was modified after it was taken).
  const before = await journal.fingerprintSet(runId, 'before');
  if (before) {
    const ids = new Set(preview.steps.map((s) => s.contactId));
    const rows = (await journal.getFingerprint(runId, 'before')).filter((r) => ids.has(r.contactId));
    await journal.saveFingerprint(undo.runId, 'before', rows, { takenAt: before.takenAt, source: before.source });
  }
  return { run: undo, skipped: preview.skipped };
}

export interface ContactChange {
  contactId: string;
  action: StepAction;
  contactName?: string;
  contactType?: ContactType;
  reason?: string;
}

/** A run from explicit changes; every id is checked before anything is written. */
export async function createManualRun(
  journal: Journal,
  input: { organizationId: string; target: string; kind: RunKind; changes: ContactChange[]; createdBy: string; now: number; note: string },
): Promise<RunRecord> {
  if (input.changes.length === 0) throw new RunInputError('No contacts to change.');
  const bad = input.changes.filter((c) => !isZohoId(c.contactId));
  if (bad.length > 0) {
    throw new RunInputError(`${bad.length === 1 ? 'This is not a Zoho contact id' : 'These are not Zoho contact ids'} (15 to 19 digits): ${bad.slice(0, 5).map((c) => JSON.stringify(c.contactId)).join(', ')}${bad.length > 5 ? ', ...' : ''}. Nothing was changed.`);
  }
  const seen = new Map<string, StepAction>();
  for (const c of input.changes) {
    const before = seen.get(c.contactId);
    if (before !== undefined && before !== c.action) throw new RunInputError(`Contact ${c.contactId} is both activated and deactivated in this input. Nothing was changed.`);
    seen.set(c.contactId, c.action);
  }
  const unique = [...new Map(input.changes.map((c) => [c.contactId, c])).values()];
  return journal.createRun(
    { organizationId: input.organizationId, target: input.target, kind: input.kind, planId: null, undoOf: null, createdAt: input.now, createdBy: input.createdBy, baselineAt: input.now, note: input.note },
    unique.map((c) => ({
      contactId: c.contactId,
      contactName: c.contactName ?? '',
      contactType: c.contactType ?? 'customer',
      action: c.action,
      reason: c.reason ?? `${input.kind} ${c.action}`,
      evidence: null,
    })),
  );
}
