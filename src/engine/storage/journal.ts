/**
 * The journal: snapshots, plans, runs and steps, durable. Steps are leased work items (explicit
 * state, lease owner and expiry, attempts, last error); every state change of a step is fenced on
 * its lease, so a crashed worker's step is taken over exactly once.
 */
import { randomBytes } from 'node:crypto';
import type { ContactType, TransactionType } from '../../zoho/index.js';
import type {
  Evidence, Exclusion, ExclusionSink, HistoryCounts, InMemoryPlan, Plan, PlanStep, PlanSummary, RunCounts, RunDriver, RunKind, RunRecord, RunState, SnapshotContact,
  SnapshotInfo, StepAction, StepRecord, StepState,
} from '../types.js';
import { migrate, MigrationError } from './migrations.js';
import { JOURNAL_COMPONENT } from './schema.js';
import type { SqlDatabase, SqlValue } from './sql.js';

export class JournalError extends Error {
  override name = 'JournalError';
}

/** A second run for a plan that already has one, or a second undo of a run: refused by the journal's constraints. */
export class RunExistsError extends JournalError {
  override name = 'RunExistsError';
  constructor(message: string, readonly existing: RunRecord) {
    super(message);
  }
}

/** SQLite's and PostgreSQL's "unique constraint violated". */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** A plan draft not saved a day after it started was cut off (plans take seconds to minutes). */
export const DRAFT_LEFTOVER_MS = 86_400_000;
/**
 * A snapshot never finished, taken more than a week before a later scan of its organization
 * finished, was cut off: a scan stops rather than waits when the daily quota runs out, and one
 * organization's scans do not overlap on a cluster (one job per organization at a time).
 */
export const SNAPSHOT_LEFTOVER_MS = 7 * 86_400_000;
const DRAFT_PREFIX = 'draft-t';
/** `draft-t` and the start time in 15 digits (so ids sort by time), then a random part. */
function draftIdAt(at: number, random: string): string {
  return `${DRAFT_PREFIX}${String(Math.max(0, Math.floor(at))).padStart(15, '0')}${random ? `-${random}` : ''}`;
}

/** `run-20261121-231605-3fa2`: sortable, readable, unique. */
export function newId(prefix: string, now: number): string {
  const iso = new Date(now).toISOString();
  return `${prefix}-${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${randomBytes(2).toString('hex')}`;
}

interface ContactRow {
  contact_id: string;
  contact_name: string;
  company_name: string;
  contact_type: string;
  status: string;
  created_at: number;
  modified_at: number;
  receivable_cents: number;
  payable_cents: number;
  credits_receivable_cents: number;
  credits_payable_cents: number;
  custom_fields: string;
  tags: string;
  zcrm_account_id: string;
  zcrm_contact_id: string;
  last_activity_date: string | null;
  last_activity_type: string | null;
  last_activity_id: string | null;
  last_activity_number: string | null;
  activity_count: number;
  activity_by_type: string;
  document_by_type: string | null;
  history: string | null;
}

interface StepRow {
  run_id: string;
  seq: number;
  contact_id: string;
  contact_name: string;
  contact_type: string;
  action: string;
  reason: string;
  evidence: string | null;
  state: string;
  outcome: string | null;
  skip_reason: string | null;
  attempts: number;
  last_error: string | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  started_at: number | null;
  finished_at: number | null;
}

interface RunRow {
  run_id: string;
  organization_id: string;
  target: string;
  kind: string;
  plan_id: string | null;
  undo_of: string | null;
  created_at: number;
  created_by: string;
  state: string;
  started_at: number | null;
  finished_at: number | null;
  baseline_at: number;
  note: string;
  driver: string | null;
  driver_since: number | null;
  driver_until: number | null;
}

function toContact(r: ContactRow): SnapshotContact {
  return {
    contactId: r.contact_id,
    contactName: r.contact_name,
    companyName: r.company_name,
    contactType: r.contact_type as ContactType,
    status: r.status as 'active' | 'inactive',
    createdAt: Number(r.created_at),
    modifiedAt: Number(r.modified_at),
    receivableCents: Number(r.receivable_cents),
    payableCents: Number(r.payable_cents),
    creditsReceivableCents: Number(r.credits_receivable_cents),
    creditsPayableCents: Number(r.credits_payable_cents),
    customFields: JSON.parse(r.custom_fields) as Record<string, string>,
    tags: JSON.parse(r.tags) as string[],
    zcrmAccountId: r.zcrm_account_id,
    zcrmContactId: r.zcrm_contact_id,
    lastActivityDate: r.last_activity_date ?? undefined,
    lastActivityType: (r.last_activity_type ?? undefined) as TransactionType | undefined,
    lastActivityId: r.last_activity_id ?? undefined,
    lastActivityNumber: r.last_activity_number ?? undefined,
    activityCount: r.activity_count,
    activityByType: JSON.parse(r.activity_by_type) as SnapshotContact['activityByType'],
    ...(r.document_by_type ? { documentByType: JSON.parse(r.document_by_type) as SnapshotContact['documentByType'] } : {}),
    // The history's counts are read by snapshotFingerprint, for a run's contacts only: a plan over
    // 100,000 contacts does not need them in memory.
  };
}

function toStep(r: StepRow): StepRecord {
  return {
    runId: r.run_id,
    seq: r.seq,
    contactId: r.contact_id,
    contactName: r.contact_name,
    contactType: r.contact_type as ContactType,
    action: r.action as StepAction,
    reason: r.reason,
    evidence: r.evidence ? (JSON.parse(r.evidence) as Evidence) : null,
    state: r.state as StepState,
    outcome: r.outcome as StepRecord['outcome'],
    skipReason: r.skip_reason,
    attempts: r.attempts,
    lastError: r.last_error,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at === null ? null : Number(r.lease_expires_at),
    startedAt: r.started_at === null ? null : Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

function toRun(r: RunRow): RunRecord {
  return {
    runId: r.run_id,
    organizationId: r.organization_id,
    target: r.target ?? '',
    kind: r.kind as RunKind,
    planId: r.plan_id,
    undoOf: r.undo_of,
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
    state: r.state as RunState,
    startedAt: r.started_at === null ? null : Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
    baselineAt: Number(r.baseline_at),
    note: r.note,
    driver: r.driver === null || r.driver === undefined ? null : { owner: r.driver, since: Number(r.driver_since), until: Number(r.driver_until) },
  };
}

export interface NewStep {
  contactId: string;
  contactName: string;
  contactType: ContactType;
  action: StepAction;
  reason: string;
  evidence: Evidence | null;
}

export interface StepFinish {
  state: 'done' | 'skipped' | 'failed' | 'pending';
  outcome?: 'changed' | 'unchanged';
  skipReason?: string;
  lastError?: string;
  finishedAt: number;
}

export interface AuditRow {
  runId: string;
  runKind: RunKind;
  /** The actor (docs/glossary.md): the run's creator. The audit export calls it `who`. */
  actor: string;
  when: number;
  organizationId: string;
  contactId: string;
  contactName: string;
  from: 'active' | 'inactive';
  to: 'active' | 'inactive';
  why: string;
}

/**
 * What a scan gathered for one contact and transaction type while reading the history: the count
 * and total, the counted activity since the cutoff, and the latest document (the later date, then
 * the greater id).
 */
export interface ScanActivityRow {
  contactId: string;
  transactionType: TransactionType;
  count: number;
  totalCents: number;
  recent: number;
  latestDate: string;
  latestId: string;
  latestNumber: string;
}

export interface FingerprintRow {
  contactId: string;
  transactionType: TransactionType;
  count: number;
  totalCents: number;
}

/** When a fingerprint was taken, and how: read from Zoho, or copied from the snapshot the run's plan was made from. */
export interface FingerprintSet {
  takenAt: number;
  source: 'read' | 'snapshot';
  rows: number;
}

/** The outcome of trying to drive a run: `ok`, or refused because another live process drives it. */
export type RunClaim = { ok: true; run: RunRecord } | { ok: false; holder: RunDriver };

export interface StoredPolicy {
  organizationId: string;
  text: string;
  updatedAt: number;
  updatedBy: string;
}

/** A plan being made (Journal.planDraft). */
export interface PlanDraft extends ExclusionSink {
  /** Records the plan and the exclusions written so far; `createdAt` defaults to the plan's time. */
  save(plan: Plan, createdAt?: number): Promise<void>;
  /** Drops the exclusions written so far (a plan that failed). */
  discard(): Promise<void>;
}

/** Counts for the service's metrics: runs by organization, kind and state; steps by organization, state and outcome. */
export interface JournalTallies {
  runs: Array<{ organizationId: string; kind: string; state: string; count: number }>;
  steps: Array<{ organizationId: string; state: string; outcome: string | null; count: number }>;
}

/**
 * The durable record of snapshots, plans, runs and steps. Its database is its own: other parts
 * (the service's store, the integrity check of the file) get the database from whoever opened it,
 * never through the journal.
 */
export interface Journal {
  migrate(): Promise<void>;
  /** Counts for metrics (one query each, whatever the size of the journal). */
  tallies(): Promise<JournalTallies>;

  beginSnapshot(info: Omit<SnapshotInfo, 'apiCalls' | 'contactCount' | 'transactionCount' | 'historyCalls'>): Promise<void>;
  addSnapshotContacts(snapshotId: string, contacts: SnapshotContact[]): Promise<void>;
  /**
   * Merges a scan's activity into what the journal holds for the snapshot (counts and totals add up,
   * the latest document wins), so the scan need not keep the organization's history in memory.
   * Each (contact, type) at most once per call.
   */
  addScanActivity(snapshotId: string, rows: readonly ScanActivityRow[]): Promise<void>;
  /** The activity gathered for these contacts, by contact id and type. */
  scanActivity(snapshotId: string, contactIds: readonly string[]): Promise<ScanActivityRow[]>;
  /**
   * Marks the snapshot complete with its counts, and drops the scan's activity rows. Then sweeps what
   * cut-off scans of the same organization left (SNAPSHOT_LEFTOVER_MS): snapshots never finished
   * and taken more than a week before this one, with their contacts and activity.
   */
  finishSnapshot(snapshotId: string, counts: { apiCalls: number; contactCount: number; transactionCount: number; historyCalls: number }): Promise<void>;
  getSnapshot(snapshotId: string): Promise<SnapshotInfo | undefined>;
  latestSnapshot(organizationId?: string): Promise<SnapshotInfo | undefined>;
  /** Pages through a snapshot's contacts in contact-id order (memory stays flat); without their history counts (snapshotFingerprint). */
  snapshotContacts(snapshotId: string, pageSize?: number): AsyncGenerator<SnapshotContact[]>;
  /** The history counts the snapshot holds for these contacts, as fingerprint rows (full snapshots only). */
  snapshotFingerprint(snapshotId: string, contactIds: string[]): Promise<FingerprintRow[]>;
  /** Every target this journal has worked with (snapshots, plans, runs), known ones only. */
  targets(): Promise<string[]>;

  /**
   * A plan being made from `startedAt` on: buildPlan writes its exclusions here as it decides them,
   * then `save` records the plan with them (a plan already saved keeps what it has, and the draft
   * is dropped). A save also drops the drafts that plans cut off by a crash left, once they are
   * more than a day old (DRAFT_LEFTOVER_MS).
   */
  planDraft(startedAt: number): PlanDraft;
  /** Records a plan made in memory (`planContacts`) with its exclusions; a second save changes nothing. */
  savePlan(plan: InMemoryPlan, createdAt?: number): Promise<void>;
  /** A plan with its steps; its exclusions are read with planExclusions. */
  getPlan(planId: string): Promise<Plan | undefined>;
  /** Pages through a plan's exclusions in contact-id order (memory stays flat). */
  planExclusions(planId: string, pageSize?: number): AsyncGenerator<Exclusion[]>;
  latestPlan(organizationId?: string): Promise<Plan | undefined>;
  /** The latest plan's id alone (no steps read). */
  latestPlanId(organizationId: string): Promise<string | undefined>;

  /**
   * Records a run and its steps. A second plan run of one plan, or a second undo of one run, is
   * refused by a constraint (RunExistsError naming the first), whatever the race.
   */
  createRun(run: Omit<RunRecord, 'runId' | 'state' | 'startedAt' | 'finishedAt' | 'driver'> & { runId?: string }, steps: NewStep[]): Promise<RunRecord>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** The undo of a run, if it has one (a run has at most one; the oldest, in a journal from before that rule). */
  undoOf(runId: string): Promise<RunRecord | undefined>;
  listRuns(organizationId?: string): Promise<RunRecord[]>;
  setRunState(runId: string, state: RunState, at: number): Promise<void>;
  /**
   * Makes `owner` the run's driver until `now + leaseMs`, unless another driver holds it: one
   * whose lease has not run out and that `isDead` does not declare gone. Fenced: two claimants
   * racing cannot both win. Renewing one's own lease is a claim too.
   */
  claimRun(runId: string, owner: string, now: number, leaseMs: number, isDead?: (owner: string) => boolean): Promise<RunClaim>;
  /**
   * Extends `owner`'s drive to `now + leaseMs`, only while `owner` still drives the run (its lease
   * may have run out unnoticed). False once the drive is lost: another driver claimed the run, or
   * took it over and let it go (paused, ended); a driver that wakes from a freeze never claims the
   * run back that way.
   */
  renewRun(runId: string, owner: string, now: number, leaseMs: number): Promise<boolean>;
  /** Ends `owner`'s drive: sets the run's state (and finish time) and clears the driver, only if `owner` still drives it. */
  releaseRun(runId: string, owner: string, state: RunState, at: number): Promise<boolean>;
  runCounts(runId: string): Promise<RunCounts>;
  steps(runId: string): Promise<StepRecord[]>;
  /**
   * Leases up to `limit` steps of a run to `owner`, in order: pending ones, and in-flight ones whose
   * lease expired or whose owner `isDead` says is gone. Returns them with their new lease.
   */
  claimSteps(runId: string, owner: string, now: number, leaseMs: number, limit: number, isDead?: (owner: string) => boolean): Promise<StepRecord[]>;
  /** Records a step's end; fenced on the lease (false if the lease was lost). */
  finishStep(runId: string, seq: number, owner: string, finish: StepFinish): Promise<boolean>;
  /** Extends the leases `owner` holds on a run. */
  renewLeases(runId: string, owner: string, until: number): Promise<void>;
  audit(options?: { organizationId?: string; runId?: string }): Promise<AuditRow[]>;
  /** The latest change a run made to each of these contacts, from any run. */
  latestChanges(contactIds: string[]): Promise<Map<string, { runId: string; to: 'active' | 'inactive'; at: number }>>;
  saveFingerprint(runId: string, phase: 'before' | 'after', rows: FingerprintRow[], set: Omit<FingerprintSet, 'rows'>): Promise<void>;
  getFingerprint(runId: string, phase: 'before' | 'after'): Promise<FingerprintRow[]>;
  /** When and how that fingerprint was taken; undefined until one was saved (even an empty one). */
  fingerprintSet(runId: string, phase: 'before' | 'after'): Promise<FingerprintSet | undefined>;
  /** True once a fingerprint of that phase was saved (even an empty one). */
  hasFingerprint(runId: string, phase: 'before' | 'after'): Promise<boolean>;
  /** Records a verification's result (a JSON document) and reads the latest. */
  saveVerification(runId: string, verifiedAt: number, ok: boolean, result: unknown): Promise<void>;
  latestVerification(runId: string): Promise<{ verifiedAt: number; ok: boolean; result: unknown } | undefined>;
  /** The organization's policy, shared by the CLI and the service. */
  policy(organizationId: string): Promise<StoredPolicy | undefined>;
  savePolicy(policy: StoredPolicy): Promise<void>;
  /** The organizations that have a policy. */
  policyOrganizations(): Promise<string[]>;
  close(): Promise<void>;
}

export function createJournal(db: SqlDatabase): Journal {
  const undoOf = async (runId: string): Promise<RunRecord | undefined> => {
    const row = await db.get<RunRow>("SELECT * FROM runs WHERE kind = 'undo' AND undo_of = ? ORDER BY created_at, run_id LIMIT 1", [runId]);
    return row ? toRun(row) : undefined;
  };
  const insertContacts = async (tx: SqlDatabase, snapshotId: string, contacts: SnapshotContact[]): Promise<void> => {
    for (const c of contacts) {
      await tx.run(
        `INSERT INTO snapshot_contacts (snapshot_id, contact_id, contact_name, company_name, contact_type, status, created_at, modified_at,
          receivable_cents, payable_cents, credits_receivable_cents, credits_payable_cents, custom_fields, tags, zcrm_account_id,
          zcrm_contact_id, last_activity_date, last_activity_type, last_activity_id, last_activity_number, activity_count, activity_by_type,
          document_by_type, history)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (snapshot_id, contact_id) DO NOTHING`,
        [snapshotId, c.contactId, c.contactName, c.companyName, c.contactType, c.status, c.createdAt, c.modifiedAt, c.receivableCents,
          c.payableCents, c.creditsReceivableCents, c.creditsPayableCents, JSON.stringify(c.customFields), JSON.stringify(c.tags),
          c.zcrmAccountId, c.zcrmContactId, c.lastActivityDate ?? null, c.lastActivityType ?? null, c.lastActivityId ?? null,
          c.lastActivityNumber ?? null, c.activityCount, JSON.stringify(c.activityByType ?? {}),
          c.documentByType ? JSON.stringify(c.documentByType) : null, c.history ? JSON.stringify(c.history) : null],
      );
    }
  };
  const snapshotFrom = (r: Record<string, unknown>): SnapshotInfo => ({
    snapshotId: String(r.snapshot_id),
    organizationId: String(r.organization_id),
    target: String(r.target ?? ''),
    organizationName: String(r.organization_name ?? ''),
    currencyCode: String(r.currency_code ?? ''),
    takenAt: Number(r.taken_at),
    cutoffDate: String(r.cutoff_date),
    activityTypes: JSON.parse(String(r.activity_types)) as TransactionType[],
    statuses: String(r.statuses) as 'active' | 'all',
    history: String(r.history) === 'full' ? 'full' : 'window',
    historyTypes: JSON.parse(String(r.history_types ?? '[]')) as TransactionType[],
    historyCalls: Number(r.history_calls ?? 0),
    apiCalls: Number(r.api_calls),
    contactCount: Number(r.contact_count),
    transactionCount: Number(r.transaction_count),
  });
  const loadPlan = async (row: Record<string, unknown> | undefined): Promise<Plan | undefined> => {
    if (!row) return undefined;
    const planId = String(row.plan_id);
    const steps = await db.all<Record<string, unknown>>('SELECT * FROM plan_steps WHERE plan_id = ? ORDER BY seq', [planId]);
    const excluded = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM plan_exclusions WHERE plan_id = ?', [planId]);
    return {
      planId,
      organizationId: String(row.organization_id),
      target: String(row.target ?? ''),
      snapshotId: String(row.snapshot_id),
      asOf: Number(row.as_of),
      cutoffDate: String(row.cutoff_date),
      policyText: String(row.policy_text),
      summary: JSON.parse(String(row.summary)) as PlanSummary,
      steps: steps.map((s): PlanStep => ({
        contactId: String(s.contact_id),
        contactName: String(s.contact_name),
        contactType: String(s.contact_type) as ContactType,
        action: String(s.action) as StepAction,
        reason: String(s.reason),
        evidence: JSON.parse(String(s.evidence)) as Evidence,
      })),
      exclusionCount: Number(excluded?.n ?? 0),
    };
  };
  const toExclusion = (e: Record<string, unknown>): Exclusion => ({
    contactId: String(e.contact_id),
    contactName: String(e.contact_name),
    contactType: String(e.contact_type) as ContactType,
    reasons: JSON.parse(String(e.reasons)) as Exclusion['reasons'],
    detail: String(e.detail),
    evidence: JSON.parse(String(e.evidence)) as Evidence,
  });
  const insertExclusions = async (tx: SqlDatabase, planId: string, batch: readonly Exclusion[]): Promise<void> => {
    for (const e of batch) {
      await tx.run('INSERT INTO plan_exclusions (plan_id, contact_id, contact_name, contact_type, reasons, detail, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        planId, e.contactId, e.contactName, e.contactType, JSON.stringify(e.reasons), e.detail, JSON.stringify(e.evidence),
      ]);
    }
  };
  /**
   * Records a plan whose exclusions were written under `draftId`: they move to the plan's id. The
   * plan's id is known only at the end (it is a hash of its steps), hence the draft.
   */
  const savePlanFromDraft = async (plan: Plan, createdAt: number, draftId: string): Promise<void> => {
    await db.transaction(async (tx) => {
      // A plan is saved once: whoever inserts it first writes its steps, a second save changes nothing.
      const inserted = await tx.run(
        `INSERT INTO plans (plan_id, organization_id, target, snapshot_id, as_of, cutoff_date, policy_text, summary, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (plan_id) DO NOTHING`,
        [plan.planId, plan.organizationId, plan.target, plan.snapshotId, plan.asOf, plan.cutoffDate, plan.policyText, JSON.stringify(plan.summary), createdAt],
      );
      if (inserted === 0) {
        await tx.run('DELETE FROM plan_exclusions WHERE plan_id = ?', [draftId]);
        return;
      }
      let seq = 0;
      for (const s of plan.steps) {
        await tx.run('INSERT INTO plan_steps (plan_id, seq, contact_id, contact_name, contact_type, action, reason, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
          plan.planId, ++seq, s.contactId, s.contactName, s.contactType, s.action, s.reason, JSON.stringify(s.evidence),
        ]);
      }
      const moved = await tx.run('UPDATE plan_exclusions SET plan_id = ? WHERE plan_id = ?', [plan.planId, draftId]);
      if (moved !== plan.exclusionCount) {
        throw new JournalError(`Plan ${plan.planId} counts ${plan.exclusionCount} exclusions but ${moved} were written; it was not saved.`);
      }
    });
  };
  /**
   * Drops the exclusions of plan drafts started before `before` that were neither saved nor
   * discarded (a process killed while planning). Drafts from before drafts held their time
   * (`draft-` and hex alone) are not recognised and stay.
   */
  const sweepDrafts = async (before: number): Promise<void> => {
    await db.run('DELETE FROM plan_exclusions WHERE plan_id >= ? AND plan_id < ?', [DRAFT_PREFIX, draftIdAt(before, '')]);
  };
  /** Drops the never-finished snapshots of an organization taken before `before`, with their rows. */
  const sweepSnapshots = async (organizationId: string, before: number): Promise<void> => {
    const stale = await db.all<{ snapshot_id: string }>('SELECT snapshot_id FROM snapshots WHERE organization_id = ? AND complete = 0 AND taken_at < ?', [organizationId, before]);
    for (const { snapshot_id: id } of stale) {
      await db.transaction(async (tx) => {
        await tx.run('DELETE FROM scan_activity WHERE snapshot_id = ?', [id]);
        await tx.run('DELETE FROM snapshot_contacts WHERE snapshot_id = ?', [id]);
        await tx.run('DELETE FROM snapshots WHERE snapshot_id = ? AND complete = 0', [id]);
      });
    }
  };
  const planDraft = (startedAt: number): PlanDraft => {
    // Not a plan id (those start with plan_): a draft left by a crash is never read as a plan's.
    // Its time is in its id, so a crash's leftover is known by its age.
    const draftId = draftIdAt(startedAt, randomBytes(8).toString('hex'));
    let done = false;
    const open = (): void => {
      if (done) throw new JournalError(`Plan draft ${draftId} was already saved or discarded.`);
    };
    return {
      async writeExclusions(batch) {
        open();
        await db.transaction((tx) => insertExclusions(tx, draftId, batch));
      },
      async save(plan, createdAt = plan.asOf) {
        open();
        done = true;
        await savePlanFromDraft(plan, createdAt, draftId);
        // Housekeeping after the plan is safe: a failure here leaves the leftovers to the next save.
        await sweepDrafts(startedAt - DRAFT_LEFTOVER_MS).catch(() => undefined);
      },
      async discard() {
        if (done) return;
        done = true;
        await db.run('DELETE FROM plan_exclusions WHERE plan_id = ?', [draftId]);
      },
    };
  };

  const journal: Journal = {
    async tallies() {
      const runs = await db.all<{ organization_id: string; kind: string; state: string; n: number }>(
        'SELECT organization_id, kind, state, COUNT(*) AS n FROM runs GROUP BY organization_id, kind, state',
      );
      const steps = await db.all<{ organization_id: string; state: string; outcome: string | null; n: number }>(
        'SELECT r.organization_id, s.state, s.outcome, COUNT(*) AS n FROM steps s JOIN runs r ON r.run_id = s.run_id GROUP BY r.organization_id, s.state, s.outcome',
      );
      return {
        runs: runs.map((r) => ({ organizationId: String(r.organization_id), kind: String(r.kind), state: String(r.state), count: Number(r.n) })),
        steps: steps.map((r) => ({ organizationId: String(r.organization_id), state: String(r.state), outcome: r.outcome === null ? null : String(r.outcome), count: Number(r.n) })),
      };
    },
    async migrate() {
      try {
        await migrate(db, [JOURNAL_COMPONENT]);
      } catch (error) {
        if (error instanceof MigrationError) throw new JournalError(error.message);
        throw error;
      }
    },

    async beginSnapshot(info) {
      await db.run(
        `INSERT INTO snapshots (snapshot_id, organization_id, target, organization_name, currency_code, taken_at, cutoff_date, activity_types,
           statuses, history, history_types, history_calls, api_calls, contact_count, transaction_count, complete)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0)`,
        [info.snapshotId, info.organizationId, info.target, info.organizationName, info.currencyCode, info.takenAt, info.cutoffDate,
          JSON.stringify(info.activityTypes), info.statuses, info.history, JSON.stringify(info.historyTypes)],
      );
    },
    async addSnapshotContacts(snapshotId, contacts) {
      await db.transaction((tx) => insertContacts(tx, snapshotId, contacts));
    },
    async addScanActivity(snapshotId, rows) {
      const BATCH = 100;
      // The later document wins: a later date, or on the same date the greater id.
      const later = '(excluded.latest_date > scan_activity.latest_date OR (excluded.latest_date = scan_activity.latest_date AND excluded.latest_id > scan_activity.latest_id))';
      await db.transaction(async (tx) => {
        for (let i = 0; i < rows.length; i += BATCH) {
          const chunk = rows.slice(i, i + BATCH);
          await tx.run(
            `INSERT INTO scan_activity (snapshot_id, contact_id, transaction_type, count, total_cents, recent, latest_date, latest_id, latest_number)
             VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
             ON CONFLICT (snapshot_id, contact_id, transaction_type) DO UPDATE SET
               count = scan_activity.count + excluded.count,
               total_cents = scan_activity.total_cents + excluded.total_cents,
               recent = scan_activity.recent + excluded.recent,
               latest_date = CASE WHEN ${later} THEN excluded.latest_date ELSE scan_activity.latest_date END,
               latest_id = CASE WHEN ${later} THEN excluded.latest_id ELSE scan_activity.latest_id END,
               latest_number = CASE WHEN ${later} THEN excluded.latest_number ELSE scan_activity.latest_number END`,
            chunk.flatMap((r) => [snapshotId, r.contactId, r.transactionType, r.count, r.totalCents, r.recent, r.latestDate, r.latestId, r.latestNumber]),
          );
        }
      });
    },
    async scanActivity(snapshotId, contactIds) {
      const out: ScanActivityRow[] = [];
      for (let i = 0; i < contactIds.length; i += 500) {
        const chunk = contactIds.slice(i, i + 500);
        const rows = await db.all<Record<string, unknown>>(
          `SELECT * FROM scan_activity WHERE snapshot_id = ? AND contact_id IN (${chunk.map(() => '?').join(', ')})`,
          [snapshotId, ...chunk],
        );
        for (const r of rows) {
          out.push({
            contactId: String(r.contact_id), transactionType: String(r.transaction_type) as TransactionType, count: Number(r.count), totalCents: Number(r.total_cents),
            recent: Number(r.recent), latestDate: String(r.latest_date), latestId: String(r.latest_id), latestNumber: String(r.latest_number),
          });
        }
      }
      return out;
    },
    async finishSnapshot(snapshotId, counts) {
      await db.run('DELETE FROM scan_activity WHERE snapshot_id = ?', [snapshotId]);
      await db.run('UPDATE snapshots SET api_calls = ?, contact_count = ?, transaction_count = ?, history_calls = ?, complete = 1 WHERE snapshot_id = ?', [
        counts.apiCalls, counts.contactCount, counts.transactionCount, counts.historyCalls, snapshotId,
      ]);
      const row = await db.get<{ organization_id: string; taken_at: number | string }>('SELECT organization_id, taken_at FROM snapshots WHERE snapshot_id = ?', [snapshotId]);
      // Housekeeping after the snapshot is complete: a failure leaves the leftovers to the next scan.
      if (row) await sweepSnapshots(row.organization_id, Number(row.taken_at) - SNAPSHOT_LEFTOVER_MS).catch(() => undefined);
    },
    async getSnapshot(snapshotId) {
      const row = await db.get<Record<string, unknown>>('SELECT * FROM snapshots WHERE snapshot_id = ? AND complete = 1', [snapshotId]);
      return row ? snapshotFrom(row) : undefined;
    },
    async latestSnapshot(organizationId) {
      const row = organizationId
        ? await db.get<Record<string, unknown>>('SELECT * FROM snapshots WHERE complete = 1 AND organization_id = ? ORDER BY taken_at DESC, snapshot_id DESC LIMIT 1', [organizationId])
        : await db.get<Record<string, unknown>>('SELECT * FROM snapshots WHERE complete = 1 ORDER BY taken_at DESC, snapshot_id DESC LIMIT 1');
      return row ? snapshotFrom(row) : undefined;
    },
    async *snapshotContacts(snapshotId, pageSize = 2000) {
      let after = '';
      for (;;) {
        const rows = await db.all<ContactRow>(
          'SELECT * FROM snapshot_contacts WHERE snapshot_id = ? AND contact_id > ? ORDER BY contact_id LIMIT ?',
          [snapshotId, after, pageSize],
        );
        if (rows.length === 0) return;
        yield rows.map(toContact);
        after = rows[rows.length - 1]!.contact_id;
      }
    },

    async snapshotFingerprint(snapshotId, contactIds) {
      const rows: FingerprintRow[] = [];
      for (let i = 0; i < contactIds.length; i += 500) {
        const chunk = contactIds.slice(i, i + 500);
        const found = await db.all<{ contact_id: string; history: string | null }>(
          `SELECT contact_id, history FROM snapshot_contacts WHERE snapshot_id = ? AND contact_id IN (${chunk.map(() => '?').join(', ')})`,
          [snapshotId, ...chunk],
        );
        for (const r of found) {
          const history = r.history ? (JSON.parse(r.history) as HistoryCounts) : {};
          for (const [type, counts] of Object.entries(history) as Array<[TransactionType, [number, number]]>) {
            rows.push({ contactId: r.contact_id, transactionType: type, count: counts[0], totalCents: counts[1] });
          }
        }
      }
      return rows.sort((a, b) => (a.contactId + a.transactionType < b.contactId + b.transactionType ? -1 : 1));
    },
    async targets() {
      const rows = await db.all<{ target: string }>(
        "SELECT target FROM snapshots WHERE target <> '' UNION SELECT target FROM plans WHERE target <> '' UNION SELECT target FROM runs WHERE target <> ''",
      );
      return rows.map((r) => r.target).sort();
    },

    planDraft,
    async savePlan(plan, createdAt = plan.asOf) {
      const draft = planDraft(createdAt);
      try {
        await draft.writeExclusions(plan.excluded);
        const { excluded: _excluded, ...rest } = plan;
        await draft.save({ ...rest, exclusionCount: plan.excluded.length }, createdAt);
      } catch (error) {
        await draft.discard();
        throw error;
      }
    },
    async *planExclusions(planId, pageSize = 1000) {
      let after = '';
      for (;;) {
        const rows = await db.all<Record<string, unknown>>(
          'SELECT * FROM plan_exclusions WHERE plan_id = ? AND contact_id > ? ORDER BY contact_id LIMIT ?',
          [planId, after, pageSize],
        );
        if (rows.length === 0) return;
        yield rows.map(toExclusion);
        after = String(rows[rows.length - 1]!.contact_id);
      }
    },
    getPlan: async (planId) => loadPlan(await db.get<Record<string, unknown>>('SELECT * FROM plans WHERE plan_id = ?', [planId])),
    latestPlanId: async (organizationId) => {
      const row = await db.get<{ plan_id: string }>('SELECT plan_id FROM plans WHERE organization_id = ? ORDER BY created_at DESC, plan_id DESC LIMIT 1', [organizationId]);
      return row ? String(row.plan_id) : undefined;
    },
    latestPlan: async (organizationId) =>
      loadPlan(
        organizationId
          ? await db.get<Record<string, unknown>>('SELECT * FROM plans WHERE organization_id = ? ORDER BY created_at DESC, plan_id DESC LIMIT 1', [organizationId])
          : await db.get<Record<string, unknown>>('SELECT * FROM plans ORDER BY created_at DESC, plan_id DESC LIMIT 1'),
      ),

    async createRun(run, steps) {
      const runId = run.runId ?? newId('run', run.createdAt);
      const existing = async (): Promise<RunRecord | undefined> => {
        if (run.kind === 'plan' && run.planId) return (await db.all<RunRow>("SELECT * FROM runs WHERE kind = 'plan' AND plan_id = ? ORDER BY created_at, run_id", [run.planId])).map(toRun)[0];
        if (run.kind === 'undo' && run.undoOf) return undoOf(run.undoOf);
        return undefined;
      };
      const refuse = (first: RunRecord): never => {
        throw new RunExistsError(run.kind === 'plan'
          ? `Plan ${run.planId} already has a run: ${first.runId} (${first.state}). A plan is applied once; continue that run with \`sunset apply --resume ${first.runId}\`, or scan and plan again.`
          : `Run ${run.undoOf} is already being undone by run ${first.runId} (${first.state}); continue that one with \`sunset apply --resume ${first.runId}\`.`, first);
      };
      // The constraint decides races; this look first only gives journals without it (see migrate) the same answer.
      const before = await existing();
      if (before) refuse(before);
      try {
        await db.transaction(async (tx) => {
        await tx.run(
          `INSERT INTO runs (run_id, organization_id, target, kind, plan_id, undo_of, created_at, created_by, state, started_at, finished_at, baseline_at, note)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', NULL, NULL, ?, ?)`,
          [runId, run.organizationId, run.target, run.kind, run.planId, run.undoOf, run.createdAt, run.createdBy, run.baselineAt, run.note],
        );
        let seq = 0;
        for (const s of steps) {
          await tx.run(
            `INSERT INTO steps (run_id, seq, contact_id, contact_name, contact_type, action, reason, evidence, state, outcome, skip_reason, attempts,
              last_error, lease_owner, lease_expires_at, started_at, finished_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL)`,
            [runId, ++seq, s.contactId, s.contactName, s.contactType, s.action, s.reason, s.evidence ? JSON.stringify(s.evidence) : null],
          );
        }
        });
      } catch (error) {
        if (isUniqueViolation(error)) {
          const first = await existing();
          if (first && first.runId !== runId) refuse(first);
        }
        throw error;
      }
      return (await journal.getRun(runId))!;
    },
    undoOf,
    async getRun(runId) {
      const row = await db.get<RunRow>('SELECT * FROM runs WHERE run_id = ?', [runId]);
      return row ? toRun(row) : undefined;
    },
    async listRuns(organizationId) {
      const rows = organizationId
        ? await db.all<RunRow>('SELECT * FROM runs WHERE organization_id = ? ORDER BY created_at DESC, run_id DESC', [organizationId])
        : await db.all<RunRow>('SELECT * FROM runs ORDER BY created_at DESC, run_id DESC');
      return rows.map(toRun);
    },
    async setRunState(runId, state, at) {
      const fields: string[] = ['state = ?'];
      const params: SqlValue[] = [state];
      if (state === 'running') {
        fields.push('started_at = COALESCE(started_at, ?)');
        params.push(at);
      }
      if (state === 'done' || state === 'failed' || state === 'cancelled') {
        fields.push('finished_at = ?');
        params.push(at);
      }
      await db.run(`UPDATE runs SET ${fields.join(', ')} WHERE run_id = ?`, [...params, runId]);
    },
    async claimRun(runId, owner, now, leaseMs, isDead) {
      return db.transaction(async (tx) => {
        const row = await tx.get<RunRow>('SELECT * FROM runs WHERE run_id = ?', [runId]);
        if (!row) throw new JournalError(`There is no run ${runId}.`);
        const holder = toRun(row).driver;
        const free = holder === null || holder.owner === owner || holder.until < now || isDead?.(holder.owner) === true;
        if (!free) return { ok: false, holder };
        const since = holder !== null && holder.owner === owner ? holder.since : now;
        // Fenced on the driver seen: a claimant that lost a race changes nothing.
        const changed = row.driver === null
          ? await tx.run('UPDATE runs SET driver = ?, driver_since = ?, driver_until = ? WHERE run_id = ? AND driver IS NULL', [owner, since, now + leaseMs, runId])
          : await tx.run('UPDATE runs SET driver = ?, driver_since = ?, driver_until = ? WHERE run_id = ? AND driver = ?', [owner, since, now + leaseMs, runId, row.driver]);
        if (changed !== 1) {
          const again = toRun((await tx.get<RunRow>('SELECT * FROM runs WHERE run_id = ?', [runId]))!);
          return again.driver && again.driver.owner !== owner ? { ok: false, holder: again.driver } : { ok: true, run: again };
        }
        return { ok: true, run: toRun((await tx.get<RunRow>('SELECT * FROM runs WHERE run_id = ?', [runId]))!) };
      });
    },
    async renewRun(runId, owner, now, leaseMs) {
      return (await db.run('UPDATE runs SET driver_until = ? WHERE run_id = ? AND driver = ?', [now + leaseMs, runId, owner])) === 1;
    },
    async releaseRun(runId, owner, state, at) {
      const finished = state === 'done' || state === 'failed' || state === 'cancelled';
      const changed = await db.run(
        `UPDATE runs SET state = ?, driver = NULL, driver_since = NULL, driver_until = NULL${finished ? ', finished_at = ?' : ''} WHERE run_id = ? AND driver = ?`,
        finished ? [state, at, runId, owner] : [state, runId, owner],
      );
      return changed === 1;
    },
    async runCounts(runId) {
      const rows = await db.all<{ state: string; outcome: string | null; n: number }>(
        'SELECT state, outcome, COUNT(*) AS n FROM steps WHERE run_id = ? GROUP BY state, outcome',
        [runId],
      );
      const counts: RunCounts = { total: 0, pending: 0, inFlight: 0, changed: 0, unchanged: 0, skipped: 0, failed: 0 };
      for (const r of rows) {
        const n = Number(r.n);
        counts.total += n;
        if (r.state === 'pending') counts.pending += n;
        else if (r.state === 'in_flight') counts.inFlight += n;
        else if (r.state === 'skipped') counts.skipped += n;
        else if (r.state === 'failed') counts.failed += n;
        else if (r.outcome === 'changed') counts.changed += n;
        else counts.unchanged += n;
      }
      return counts;
    },
    async steps(runId) {
      return (await db.all<StepRow>('SELECT * FROM steps WHERE run_id = ? ORDER BY seq', [runId])).map(toStep);
    },
    async claimSteps(runId, owner, now, leaseMs, limit, isDead) {
      return db.transaction(async (tx) => {
        const candidates = await tx.all<StepRow>(
          `SELECT * FROM steps WHERE run_id = ? AND (state = 'pending' OR (state = 'in_flight' AND lease_owner <> ?)) ORDER BY seq LIMIT ?`,
          [runId, owner, limit * 4 + 16],
        );
        const claimed: StepRecord[] = [];
        for (const row of candidates) {
          if (claimed.length >= limit) break;
          if (row.state === 'in_flight') {
            const expired = row.lease_expires_at !== null && Number(row.lease_expires_at) < now;
            const dead = row.lease_owner !== null && isDead?.(row.lease_owner) === true;
            if (!expired && !dead) continue;
          }
          const changed = await tx.run(
            `UPDATE steps SET state = 'in_flight', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1, started_at = COALESCE(started_at, ?)
             WHERE run_id = ? AND seq = ? AND state = ? AND (lease_owner IS NULL OR lease_owner = ?)`,
            [owner, now + leaseMs, now, runId, row.seq, row.state, row.lease_owner ?? ''],
          );
          if (changed === 1) {
            claimed.push(toStep({ ...row, state: 'in_flight', lease_owner: owner, lease_expires_at: now + leaseMs, attempts: row.attempts + 1, started_at: row.started_at ?? now }));
          }
        }
        return claimed;
      });
    },
    async finishStep(runId, seq, owner, finish) {
      const changed = await db.run(
        `UPDATE steps SET state = ?, outcome = ?, skip_reason = ?, last_error = ?, finished_at = ?,
           lease_owner = CASE WHEN ? = 'pending' THEN NULL ELSE lease_owner END,
           lease_expires_at = CASE WHEN ? = 'pending' THEN NULL ELSE lease_expires_at END
         WHERE run_id = ? AND seq = ? AND state = 'in_flight' AND lease_owner = ?`,
        [finish.state, finish.outcome ?? null, finish.skipReason ?? null, finish.lastError ?? null, finish.state === 'pending' ? null : finish.finishedAt,
          finish.state, finish.state, runId, seq, owner],
      );
      return changed === 1;
    },
    async renewLeases(runId, owner, until) {
      await db.run("UPDATE steps SET lease_expires_at = ? WHERE run_id = ? AND lease_owner = ? AND state = 'in_flight'", [until, runId, owner]);
    },
    async audit(options = {}) {
      const where = ["s.state = 'done'", "s.outcome = 'changed'"];
      const params: SqlValue[] = [];
      if (options.organizationId) {
        where.push('r.organization_id = ?');
        params.push(options.organizationId);
      }
      if (options.runId) {
        where.push('r.run_id = ?');
        params.push(options.runId);
      }
      const rows = await db.all<Record<string, unknown>>(
        `SELECT r.run_id, r.kind, r.created_by, r.organization_id, s.finished_at, s.contact_id, s.contact_name, s.action, s.reason
         FROM steps s JOIN runs r ON r.run_id = s.run_id WHERE ${where.join(' AND ')} ORDER BY s.finished_at, r.run_id, s.seq`,
        params,
      );
      return rows.map((r) => {
        const to = r.action === 'deactivate' ? 'inactive' : 'active';
        return {
          runId: String(r.run_id),
          runKind: String(r.kind) as RunKind,
          actor: String(r.created_by),
          when: Number(r.finished_at),
          organizationId: String(r.organization_id),
          contactId: String(r.contact_id),
          contactName: String(r.contact_name),
          from: to === 'inactive' ? 'active' : 'inactive',
          to,
          why: String(r.reason),
        };
      });
    },
    async latestChanges(contactIds) {
      const out = new Map<string, { runId: string; to: 'active' | 'inactive'; at: number }>();
      for (let i = 0; i < contactIds.length; i += 500) {
        const chunk = contactIds.slice(i, i + 500);
        const rows = await db.all<{ contact_id: string; run_id: string; action: string; finished_at: number }>(
          `SELECT contact_id, run_id, action, finished_at FROM steps WHERE state = 'done' AND outcome = 'changed'
           AND contact_id IN (${chunk.map(() => '?').join(', ')}) ORDER BY finished_at, run_id, seq`,
          chunk,
        );
        for (const r of rows) out.set(r.contact_id, { runId: r.run_id, to: r.action === 'deactivate' ? 'inactive' : 'active', at: Number(r.finished_at) });
      }
      return out;
    },
    async saveFingerprint(runId, phase, rows, set) {
      await db.transaction(async (tx) => {
        await tx.run('DELETE FROM fingerprints WHERE run_id = ? AND phase = ?', [runId, phase]);
        await tx.run(
          `INSERT INTO fingerprint_sets (run_id, phase, taken_at, source, row_count) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (run_id, phase) DO UPDATE SET taken_at = excluded.taken_at, source = excluded.source, row_count = excluded.row_count`,
          [runId, phase, set.takenAt, set.source, rows.length],
        );
        for (const r of rows) {
          await tx.run('INSERT INTO fingerprints (run_id, phase, contact_id, transaction_type, count, total_cents) VALUES (?, ?, ?, ?, ?, ?)', [
            runId, phase, r.contactId, r.transactionType, r.count, r.totalCents,
          ]);
        }
      });
    },
    async getFingerprint(runId, phase) {
      const rows = await db.all<{ contact_id: string; transaction_type: string; count: number; total_cents: number }>(
        'SELECT * FROM fingerprints WHERE run_id = ? AND phase = ? ORDER BY contact_id, transaction_type',
        [runId, phase],
      );
      return rows.map((r) => ({ contactId: r.contact_id, transactionType: r.transaction_type as TransactionType, count: Number(r.count), totalCents: Number(r.total_cents) }));
    },
    async fingerprintSet(runId, phase) {
      const row = await db.get<{ taken_at: number; source: string; row_count: number }>('SELECT taken_at, source, row_count FROM fingerprint_sets WHERE run_id = ? AND phase = ?', [runId, phase]);
      return row ? { takenAt: Number(row.taken_at), source: row.source === 'snapshot' ? 'snapshot' : 'read', rows: Number(row.row_count) } : undefined;
    },
    async hasFingerprint(runId, phase) {
      return (await journal.fingerprintSet(runId, phase)) !== undefined;
    },
    async saveVerification(runId, verifiedAt, ok, result) {
      await db.run(
        'INSERT INTO verifications (run_id, verified_at, ok, result) VALUES (?, ?, ?, ?) ON CONFLICT (run_id, verified_at) DO UPDATE SET ok = excluded.ok, result = excluded.result',
        [runId, verifiedAt, ok ? 1 : 0, JSON.stringify(result)],
      );
    },
    async latestVerification(runId) {
      const row = await db.get<{ verified_at: number; ok: number; result: string }>('SELECT verified_at, ok, result FROM verifications WHERE run_id = ? ORDER BY verified_at DESC LIMIT 1', [runId]);
      return row ? { verifiedAt: Number(row.verified_at), ok: Number(row.ok) === 1, result: JSON.parse(row.result) as unknown } : undefined;
    },
    async policy(organizationId) {
      const row = await db.get<{ policy_text: string; updated_at: number; updated_by: string }>('SELECT policy_text, updated_at, updated_by FROM policies WHERE organization_id = ?', [organizationId]);
      return row ? { organizationId, text: row.policy_text, updatedAt: Number(row.updated_at), updatedBy: row.updated_by } : undefined;
    },
    async policyOrganizations() {
      return (await db.all<{ organization_id: string }>('SELECT organization_id FROM policies ORDER BY organization_id')).map((r) => r.organization_id);
    },
    async savePolicy(p) {
      await db.run(
        `INSERT INTO policies (organization_id, policy_text, updated_at, updated_by) VALUES (?, ?, ?, ?)
         ON CONFLICT (organization_id) DO UPDATE SET policy_text = excluded.policy_text, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        [p.organizationId, p.text, p.updatedAt, p.updatedBy],
      );
    },
    close: () => db.close(),
  };
  return journal;
}
