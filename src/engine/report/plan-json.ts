/**
 * The plan as a JSON document: a stable shape for `--json`, files and other tools.
 *
 * Shape (version 1), keys always present and in this order:
 * - `version`: 1.
 * - `planId`, `organizationId`, `snapshotId`: strings (ids are never numbers).
 * - `asOf`: the snapshot's time, ISO 8601 in UTC (`2024-06-01T00:00:00.000Z`): the plan's "now".
 * - `cutoffDate`: `yyyy-mm-dd`; activity on or after it counts.
 * - `summary`: counts. `excluded` has every exclusion reason (0 when none) in `EXCLUSION_REASONS`
 *   order; a contact can be excluded for several reasons, so `excludedContacts` is the number of
 *   excluded contacts. `histogram` covers active contacts: one bucket per month since the last
 *   activity (`"0"`, `"1"`, …) and a last bucket `"none"` for no counted activity in the window.
 * - `steps[]`: `{ contactId, contactName, contactType, action, reason, evidence }`.
 * - `excluded[]`: `{ contactId, contactName, contactType, reasons, detail, evidence }`.
 * - `evidence`: `{ rule, lastActivityDate, lastActivityType, lastActivityNumber, lastActivity,
 *   wholeHistory, activitySince, createdTime, status, receivable, payable, unusedCreditsReceivable,
 *   unusedCreditsPayable }`; `lastActivity` says it in words ("never traded" only when the whole
 *   history was read, `wholeHistory`); money as numbers in the
 *   organization's currency (two decimals at most), dates as strings, `null` when unknown.
 * - `policyText`: the policy the plan was made with, as written.
 */
import type { ContactType, TransactionType } from '../../zoho/index.js';
import type { Evidence, Exclusion, ExclusionReason, InMemoryPlan, Plan, StepAction } from '../types.js';
import { EXCLUSION_REASONS } from './exclusion-reasons.js';
import { describeLastActivity } from './last-activity.js';

// The reasons and their words live in exclusion-reasons.ts (pure: the web UI shares them).
export { EXCLUSION_REASONS, EXCLUSION_REASON_LABELS } from './exclusion-reasons.js';

export interface EvidenceDocument {
  rule: string;
  lastActivityDate: string | null;
  lastActivityType: TransactionType | null;
  /** The last activity's document number; null when unknown. */
  lastActivityNumber: string | null;
  /** The last activity in words: "invoice INV-000123 on 2024-04-02", "never traded", "none since ... (earlier history not read)". */
  lastActivity: string;
  /** True when the whole history was read (no last activity then means never traded). */
  wholeHistory: boolean;
  activitySince: string;
  createdTime: string;
  status: 'active' | 'inactive';
  receivable: number;
  payable: number;
  unusedCreditsReceivable: number;
  unusedCreditsPayable: number;
}

export interface PlanStepDocument {
  contactId: string;
  contactName: string;
  contactType: ContactType;
  action: StepAction;
  reason: string;
  evidence: EvidenceDocument;
}

export interface ExclusionDocument {
  contactId: string;
  contactName: string;
  contactType: ContactType;
  reasons: ExclusionReason[];
  detail: string;
  evidence: EvidenceDocument;
}

export interface HistogramBucketDocument {
  label: string;
  deactivate: number;
  excluded: number;
  kept: number;
}

export interface PlanSummaryDocument {
  contactsConsidered: number;
  active: number;
  inactive: number;
  recentlyActive: number;
  dormant: number;
  steps: { deactivate: number; activate: number };
  excludedContacts: number;
  excluded: Record<ExclusionReason, number>;
  histogram: HistogramBucketDocument[];
}

export interface PlanDocument {
  version: 1;
  planId: string;
  organizationId: string;
  snapshotId: string;
  asOf: string;
  cutoffDate: string;
  summary: PlanSummaryDocument;
  steps: PlanStepDocument[];
  excluded: ExclusionDocument[];
  policyText: string;
}

function evidenceDocument(e: Evidence): EvidenceDocument {
  return {
    rule: e.rule,
    lastActivityDate: e.lastActivityDate,
    lastActivityType: e.lastActivityType,
    lastActivityNumber: e.lastActivityNumber ?? null,
    lastActivity: describeLastActivity(e),
    wholeHistory: e.wholeHistory === true,
    activitySince: e.activitySince,
    createdTime: e.createdTime,
    status: e.status,
    receivable: e.receivable,
    payable: e.payable,
    unusedCreditsReceivable: e.unusedCreditsReceivable,
    unusedCreditsPayable: e.unusedCreditsPayable,
  };
}

/** The document's fields before `excluded`, in the document's order. */
function documentHead(plan: Plan): Omit<PlanDocument, 'excluded' | 'policyText'> {
  const s = plan.summary;
  const excluded = {} as Record<ExclusionReason, number>;
  for (const reason of EXCLUSION_REASONS) excluded[reason] = s.excluded[reason] ?? 0;
  return {
    version: 1,
    planId: plan.planId,
    organizationId: plan.organizationId,
    snapshotId: plan.snapshotId,
    asOf: new Date(plan.asOf).toISOString(),
    cutoffDate: plan.cutoffDate,
    summary: {
      contactsConsidered: s.contactsConsidered,
      active: s.active,
      inactive: s.inactive,
      recentlyActive: s.recentlyActive,
      dormant: s.dormant,
      steps: { deactivate: s.steps.deactivate, activate: s.steps.activate },
      excludedContacts: plan.exclusionCount,
      excluded,
      histogram: s.histogram.map((b) => ({ label: b.label, deactivate: b.deactivate, excluded: b.excluded, kept: b.kept })),
    },
    steps: plan.steps.map((step) => ({
      contactId: step.contactId,
      contactName: step.contactName,
      contactType: step.contactType,
      action: step.action,
      reason: step.reason,
      evidence: evidenceDocument(step.evidence),
    })),
  };
}

function exclusionDocument(e: Exclusion): ExclusionDocument {
  return {
    contactId: e.contactId,
    contactName: e.contactName,
    contactType: e.contactType,
    reasons: [...e.reasons],
    detail: e.detail,
    evidence: evidenceDocument(e.evidence),
  };
}

/** The plan as a plain JSON-ready object (fresh copies; nothing shared with the plan). */
export function planToJson(plan: InMemoryPlan): PlanDocument {
  return { ...documentHead(plan), excluded: plan.excluded.map(exclusionDocument), policyText: plan.policyText };
}

/**
 * `JSON.stringify(planToJson(plan))`, in pieces: the document up to its `excluded` list, then one
 * piece per page of exclusions as `exclusions` yields them (`journal.planExclusions`), then the
 * rest; so a plan with a hundred thousand exclusions is written without holding them all.
 */
export async function* planJsonChunks(plan: Plan, exclusions: AsyncIterable<Exclusion[]>): AsyncGenerator<string> {
  yield `${JSON.stringify(documentHead(plan)).slice(0, -1)},"excluded":[`;
  let first = true;
  for await (const page of exclusions) {
    if (page.length === 0) continue;
    yield `${first ? '' : ','}${page.map((e) => JSON.stringify(exclusionDocument(e))).join(',')}`;
    first = false;
  }
  yield `],"policyText":${JSON.stringify(plan.policyText)}}`;
}
