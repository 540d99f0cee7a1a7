/** The engine's vocabulary (docs/glossary.md): snapshot, plan, step, run. IDs are strings. */
import type { ContactType, TransactionType } from '../zoho/index.js';
import type { PortContact } from './port.js';

/** A contact as the scan saw it (the port's view, plus its activity). Money in integer cents. */
export interface SnapshotContact extends PortContact {
  /** The latest activity the scan saw (only activity since the snapshot's cutoff is read). */
  lastActivityDate: string | undefined;
  lastActivityType: TransactionType | undefined;
  lastActivityId: string | undefined;
  /** Activity seen since the cutoff. */
  activityCount: number;
  /** The latest activity date per type seen since the cutoff, so a policy counting fewer types still sees its own. */
  activityByType?: Partial<Record<TransactionType, string>>;
}

export interface SnapshotInfo {
  snapshotId: string;
  organizationId: string;
  /** Epoch ms when the scan started: the plan's "now". */
  takenAt: number;
  /** Activity on or after this date (yyyy-mm-dd) was read. */
  cutoffDate: string;
  activityTypes: TransactionType[];
  /** Which contacts were read. */
  statuses: 'active' | 'all';
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
  /** Activity was looked for on or after this date. */
  activitySince: string;
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
  snapshotId: string;
  /** The snapshot's time: the plan's "now". */
  asOf: number;
  cutoffDate: string;
  policyText: string;
  steps: PlanStep[];
  excluded: Exclusion[];
  summary: PlanSummary;
}

export type RunKind = 'plan' | 'undo' | 'manual' | 'crm';
export type RunState = 'pending' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';
export type StepState = 'pending' | 'in_flight' | 'done' | 'skipped' | 'failed';

export interface RunRecord {
  runId: string;
  organizationId: string;
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
