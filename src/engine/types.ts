/** The engine's vocabulary (docs/glossary.md): snapshot, plan, step, run. IDs are strings. */
import type { ContactType, TransactionType } from '../zoho/index.js';
import type { PortContact } from './port.js';

/** Per transaction type, the count and the total (in cents) of a contact's transactions. */
export type HistoryCounts = Partial<Record<TransactionType, [count: number, totalCents: number]>>;

/** A contact as the scan saw it (the port's view, plus its activity). Money in integer cents. */
export interface SnapshotContact extends PortContact {
  /**
   * The latest activity the scan saw: of the whole history when the snapshot read it all
   * (`history: 'full'`), else only since the snapshot's cutoff.
   */
  lastActivityDate: string | undefined;
  lastActivityType: TransactionType | undefined;
  lastActivityId: string | undefined;
  /** Its document number (INV-000123), when known. */
  lastActivityNumber?: string | undefined;
  /** Activity seen since the cutoff. */
  activityCount: number;
  /** The latest activity per type the scan saw, so a policy counting fewer types still sees its own. */
  activityByType?: Partial<Record<TransactionType, string>>;
  /** Documents (id and number) of the latest activity of all and of the latest of a counted type, by their type. */
  documentByType?: Partial<Record<TransactionType, { id: string; number: string }>>;
  /** The whole history's counts and totals per type (full snapshots; written by the scan, read back by snapshotFingerprint). */
  history?: HistoryCounts;
}

export interface SnapshotInfo {
  snapshotId: string;
  organizationId: string;
  /** What the scan read: `zoho:EU`, `emulator:http://127.0.0.1:8742`, `embedded` (see docs/glossary.md, target). */
  target: string;
  /** The organization's name and currency (`INR`) as Zoho gave them at the scan; '' when unknown. */
  organizationName: string;
  currencyCode: string;
  /** Epoch ms when the scan started: the plan's "now". */
  takenAt: number;
  /** Activity on or after this date (yyyy-mm-dd) was read. */
  cutoffDate: string;
  activityTypes: TransactionType[];
  /** Which contacts were read. */
  statuses: 'active' | 'all';
  /**
   * `full`: every transaction of `historyTypes` was read, whatever its date, so each contact's
   * real last activity and its history's counts are known. `window`: only activity since the
   * cutoff (snapshots made before Sunset read whole histories).
   */
  history: 'full' | 'window';
  /** The transaction types whose whole history was read (full snapshots). */
  historyTypes: TransactionType[];
  /** Calls spent on transaction pages: what reading the history again costs (verify estimates it from this). */
  historyCalls: number;
  apiCalls: number;
  contactCount: number;
  transactionCount: number;
}

export type StepAction = 'deactivate' | 'activate';

export interface Evidence {
  /** Which rule made this a step or an exclusion. */
  rule: string;
  lastActivityDate: string | null;
  lastActivityType: TransactionType | null;
  /** The last activity's document number (INV-000123), when known. */
  lastActivityNumber?: string | null;
  /** Activity counted on or after this date. */
  activitySince: string;
  /**
   * True when the whole history was read: no last activity then means the contact never traded.
   * False (or absent, in plans made before whole histories were read): only activity since
   * `activitySince` was looked for.
   */
  wholeHistory?: boolean;
  createdTime: string;
  status: 'active' | 'inactive';
  receivable: number;
  payable: number;
  unusedCreditsReceivable: number;
  unusedCreditsPayable: number;
}

export interface PlanStep {
  contactId: string;
  contactName: string;
  contactType: ContactType;
  action: StepAction;
  reason: string;
  evidence: Evidence;
}

export type ExclusionReason =
  | 'not_allowed'
  | 'denied'
  | 'contact_type'
  | 'crm'
  | 'name'
  | 'tags'
  | 'custom_field'
  | 'open_balance'
  | 'unused_credits'
  | 'grace_period'
  | 'cap';

export interface Exclusion {
  contactId: string;
  contactName: string;
  contactType: ContactType;
  reasons: ExclusionReason[];
  detail: string;
  evidence: Evidence;
}

export interface HistogramBucket {
  /** `0`..`N-1` months since the last activity, or `none` for no activity in the window. */
  label: string;
  deactivate: number;
  excluded: number;
  kept: number;
}

export interface PlanSummary {
  contactsConsidered: number;
  active: number;
  inactive: number;
  dormant: number;
  steps: { deactivate: number; activate: number };
  excluded: Partial<Record<ExclusionReason, number>>;
  /** Active contacts with activity in the window. */
  recentlyActive: number;
  histogram: HistogramBucket[];
}

export interface Plan {
  planId: string;
  organizationId: string;
  /** The snapshot's target: where the plan's contacts live. */
  target: string;
  snapshotId: string;
  /** The snapshot's time: the plan's "now". */
  asOf: number;
  cutoffDate: string;
  policyText: string;
  steps: PlanStep[];
  /**
   * How many contacts the plan excludes. The exclusions themselves are not held by the plan (an
   * organization of 100,000 contacts can have 40,000): buildPlan writes them to the journal as it
   * decides them, and `journal.planExclusions` pages through them in contact-id order.
   */
  exclusionCount: number;
  summary: PlanSummary;
}

/** A plan with its exclusions in memory, in contact-id order (`planContacts`: tests and small inputs). */
export interface InMemoryPlan extends Plan {
  excluded: Exclusion[];
}

/** Where buildPlan writes exclusions as it decides them, in batches (a journal's `planDraft()`). */
export interface ExclusionSink {
  writeExclusions(batch: readonly Exclusion[]): Promise<void>;
}

export type RunKind = 'plan' | 'undo' | 'manual' | 'crm';
export type RunState = 'pending' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';
export type StepState = 'pending' | 'in_flight' | 'done' | 'skipped' | 'failed';

/** The process driving a run: its lease owner (host:pid:random), since when, and until when its lease holds. */
export interface RunDriver {
  owner: string;
  since: number;
  until: number;
}

export interface RunRecord {
  runId: string;
  organizationId: string;
  /** Where the run changes contacts (its plan's target, its original run's, or the connection's). */
  target: string;
  kind: RunKind;
  planId: string | null;
  undoOf: string | null;
  createdAt: number;
  createdBy: string;
  state: RunState;
  startedAt: number | null;
  finishedAt: number | null;
  /** Changes made after this instant are what revalidation looks for. */
  baselineAt: number;
  note: string;
  /** The process applying it now, or null. A lease: a driver whose `until` passed is gone. */
  driver: RunDriver | null;
}

export interface StepRecord {
  runId: string;
  seq: number;
  contactId: string;
  contactName: string;
  contactType: ContactType;
  action: StepAction;
  reason: string;
  evidence: Evidence | null;
  state: StepState;
  outcome: 'changed' | 'unchanged' | null;
  skipReason: string | null;
  attempts: number;
  lastError: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface RunCounts {
  total: number;
  pending: number;
  inFlight: number;
  changed: number;
  unchanged: number;
  skipped: number;
  failed: number;
}
