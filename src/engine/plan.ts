/**
 * The planner: policy + snapshot → plan. Pure: no I/O, no clock (the snapshot's time is "now"),
 * so the same inputs always give the same plan. The dry run is this plus a renderer.
 */
import { createHash } from 'node:crypto';
import { formatZohoDate, formatZohoTimestamp } from '../zoho/index.js';
import { globToRegExp, subtractDuration, type FieldCondition, type Policy } from './policy.js';
import type {
  Evidence, Exclusion, ExclusionReason, HistogramBucket, Plan, PlanStep, PlanSummary, SnapshotContact, SnapshotInfo,
} from './types.js';

const MONTH_MS = 30.44 * 86_400_000;

export class PlanInputError extends Error {
  override name = 'PlanInputError';
}

function fieldMatches(value: string | undefined, condition: FieldCondition): boolean {
  const v = value ?? '';
  if ('equals' in condition) return v === condition.equals;
  if ('not' in condition) return !condition.not.includes(v);
  if ('in' in condition) return condition.in.includes(v);
  return condition.empty ? v === '' : v !== '';
}

function tagMatches(tags: string[], pattern: string): boolean {
  const re = globToRegExp(pattern);
  return tags.some((t) => re.test(t) || re.test(t.split(':')[0]!.trim()));
}

function evidenceOf(c: SnapshotContact, cutoffDate: string, rule: string): Evidence {
  return {
    rule,
    lastActivityDate: c.lastActivityDate ?? null,
    lastActivityType: c.lastActivityType ?? null,
    activitySince: cutoffDate,
    createdTime: formatZohoTimestamp(c.createdAt, 0),
    status: c.status,
    receivable: c.receivableCents / 100,
    payable: c.payableCents / 100,
    unusedCreditsReceivable: c.creditsReceivableCents / 100,
    unusedCreditsPayable: c.creditsPayableCents / 100,
  };
}

/** The first date whose activity counts, for a policy evaluated at `asOf`. */
export function cutoffFor(policy: Policy, asOf: number): string {
  return formatZohoDate(subtractDuration(asOf, policy.inactivity), 0);
}

/** Checks that a snapshot can serve a policy: same organization, read far enough back, the right activity. */
export function checkSnapshotFits(policy: Policy, snapshot: SnapshotInfo): void {
  if (policy.organizationId !== snapshot.organizationId) {
    throw new PlanInputError(`The policy is for organization ${policy.organizationId} but the snapshot ${snapshot.snapshotId} is of organization ${snapshot.organizationId}. Scan that organization first.`);
  }
  const needed = cutoffFor(policy, snapshot.takenAt);
  if (needed < snapshot.cutoffDate) {
    throw new PlanInputError(`The policy looks for activity since ${needed}, but snapshot ${snapshot.snapshotId} only read activity since ${snapshot.cutoffDate}. Scan again with this policy.`);
  }
  const types = new Set(snapshot.activityTypes);
  const missing = [...policy.activity.customer, ...policy.activity.vendor].filter((t) => !types.has(t));
  if (missing.length > 0) {
    throw new PlanInputError(`The policy counts ${missing.join(', ')} as activity, but snapshot ${snapshot.snapshotId} did not read them. Scan again with this policy.`);
  }
  if (policy.reactivate && snapshot.statuses !== 'all') {
    throw new PlanInputError(`The policy re-activates contacts, but snapshot ${snapshot.snapshotId} read only active contacts. Scan again with this policy.`);
  }
}

/**
 * Builds the plan. `contacts` may be any iterable (a database cursor keeps memory flat); they are
 * processed in contact-id order for determinism, which the caller's cursor should provide.
 */
export function buildPlan(policy: Policy, policyText: string, snapshot: SnapshotInfo, contacts: Iterable<SnapshotContact>): Plan {
  checkSnapshotFits(policy, snapshot);
  const asOf = snapshot.takenAt;
  const cutoffDate = cutoffFor(policy, asOf);
  const graceStart = policy.safety.gracePeriod.amount === 0 ? -Infinity : subtractDuration(asOf, policy.safety.gracePeriod);
  const windowMonths = Math.max(1, Math.round((asOf - subtractDuration(asOf, policy.inactivity)) / MONTH_MS));
  const histogram: HistogramBucket[] = Array.from({ length: windowMonths }, (_, i) => ({ label: String(i), deactivate: 0, excluded: 0, kept: 0 }));
  const none: HistogramBucket = { label: 'none', deactivate: 0, excluded: 0, kept: 0 };
  histogram.push(none);
  const allow = policy.filters.allow ? new Set(policy.filters.allow) : undefined;
  const deny = new Set(policy.filters.deny);
  const nameInclude = policy.filters.name.include.map(globToRegExp);
  const nameExclude = policy.filters.name.exclude.map(globToRegExp);
  const activityTypes = { customer: new Set(policy.activity.customer), vendor: new Set(policy.activity.vendor) };

  const deactivations: Array<PlanStep & { sortKey: string }> = [];
  const activations: PlanStep[] = [];
  const excluded: Exclusion[] = [];
  const summary: PlanSummary = {
    contactsConsidered: 0, active: 0, inactive: 0, dormant: 0, steps: { deactivate: 0, activate: 0 }, excluded: {}, recentlyActive: 0, histogram,
  };
  const count = (reason: ExclusionReason): void => {
    summary.excluded[reason] = (summary.excluded[reason] ?? 0) + 1;
  };

  for (const c of contacts) {
    summary.contactsConsidered++;
    if (c.status === 'active') summary.active++;
    else summary.inactive++;
    // Activity in the window that this policy counts for this contact's type.
    const counted = c.lastActivityDate !== undefined && c.lastActivityDate >= cutoffDate && c.lastActivityType !== undefined && activityTypes[c.contactType].has(c.lastActivityType);
    const bucket = counted
      ? histogram[Math.min(windowMonths - 1, Math.max(0, Math.floor((asOf - Date.parse(`${c.lastActivityDate}T00:00:00Z`)) / MONTH_MS)))]!
      : none;

    // Filters decide whether the policy applies to the contact at all.
    const filterReasons: ExclusionReason[] = [];
    const details: string[] = [];
    if (allow && !allow.has(c.contactId)) filterReasons.push('not_allowed');
    if (deny.has(c.contactId)) filterReasons.push('denied');
    if (!policy.filters.contactTypes.includes(c.contactType)) filterReasons.push('contact_type');
    const linked = c.zcrmAccountId !== '' || c.zcrmContactId !== '';
    if ((policy.filters.crm === 'linked' && !linked) || (policy.filters.crm === 'unlinked' && linked)) filterReasons.push('crm');
    if ((nameInclude.length > 0 && !nameInclude.some((re) => re.test(c.contactName))) || nameExclude.some((re) => re.test(c.contactName))) filterReasons.push('name');
    if ((policy.filters.tags.include.length > 0 && !policy.filters.tags.include.some((p) => tagMatches(c.tags, p))) || policy.filters.tags.exclude.some((p) => tagMatches(c.tags, p))) filterReasons.push('tags');
    for (const [field, condition] of Object.entries(policy.filters.customFields)) {
      if (!fieldMatches(c.customFields[field], condition)) {
        filterReasons.push('custom_field');
        details.push(`${field} = ${JSON.stringify(c.customFields[field] ?? '')}`);
        break;
      }
    }

    if (c.status === 'inactive') {
      // Re-activation: an inactive contact that traded in the window.
      if (policy.reactivate && counted && filterReasons.length === 0) {
        activations.push({
          contactId: c.contactId, contactName: c.contactName, contactType: c.contactType, action: 'activate',
          reason: `inactive, but traded on ${c.lastActivityDate} (${c.lastActivityType})`,
          evidence: evidenceOf(c, cutoffDate, 'reactivate'),
        });
      }
      continue;
    }
    if (counted) {
      summary.recentlyActive++;
      bucket.kept++;
      continue;
    }
    summary.dormant++;
    const reasons = [...filterReasons];
    if (policy.safety.openBalance && (c.receivableCents > 0 || c.payableCents > 0)) {
      reasons.push('open_balance');
      details.push(`owes ${(c.receivableCents / 100).toFixed(2)} / is owed ${(c.payableCents / 100).toFixed(2)}`);
    }
    if (policy.safety.unusedCredits && (c.creditsReceivableCents > 0 || c.creditsPayableCents > 0)) {
      reasons.push('unused_credits');
      details.push(`unused credits ${((c.creditsReceivableCents + c.creditsPayableCents) / 100).toFixed(2)}`);
    }
    if (c.createdAt > graceStart) {
      reasons.push('grace_period');
      details.push(`created ${formatZohoDate(c.createdAt, 0)}, within ${policy.safety.gracePeriod.text}`);
    }
    if (reasons.length > 0) {
      for (const r of reasons) count(r);
      bucket.excluded++;
      excluded.push({
        contactId: c.contactId, contactName: c.contactName, contactType: c.contactType, reasons,
        detail: details.join('; '), evidence: evidenceOf(c, cutoffDate, reasons[0]!),
      });
      continue;
    }
    deactivations.push({
      contactId: c.contactId, contactName: c.contactName, contactType: c.contactType, action: 'deactivate',
      reason: c.activityCount === 0 ? `no ${c.contactType === 'customer' ? 'customer' : 'vendor'} activity since ${cutoffDate} (${policy.inactivity.text})` : `no counted activity since ${cutoffDate}`,
      evidence: evidenceOf(c, cutoffDate, 'dormant'),
      // The longest-known contacts go first when a cap applies.
      sortKey: `${String(c.createdAt).padStart(16, '0')}:${c.contactId}`,
    });
    bucket.deactivate++;
  }

  deactivations.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  const cap = policy.maxChanges;
  const kept = cap === undefined ? deactivations : deactivations.slice(0, Math.max(0, cap - activations.length));
  for (const over of deactivations.slice(kept.length)) {
    count('cap');
    none.deactivate--;
    none.excluded++;
    excluded.push({
      contactId: over.contactId, contactName: over.contactName, contactType: over.contactType, reasons: ['cap'],
      detail: `over the cap of ${cap} changes per run`, evidence: { ...over.evidence, rule: 'cap' },
    });
  }
  const steps: PlanStep[] = [...activations.slice(0, cap ?? activations.length), ...kept.map(({ sortKey: _sortKey, ...step }) => step)];
  summary.steps.deactivate = steps.filter((s) => s.action === 'deactivate').length;
  summary.steps.activate = steps.filter((s) => s.action === 'activate').length;
  excluded.sort((a, b) => (a.contactId < b.contactId ? -1 : a.contactId > b.contactId ? 1 : 0));

  const planId = `plan_${createHash('sha256')
    .update(JSON.stringify({ snapshot: snapshot.snapshotId, policy, steps: steps.map((s) => [s.contactId, s.action]) }))
    .digest('hex')
    .slice(0, 16)}`;
  return { planId, organizationId: policy.organizationId, snapshotId: snapshot.snapshotId, asOf, cutoffDate, policyText, steps, excluded, summary };
}
