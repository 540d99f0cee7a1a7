/**
 * The planner: policy + snapshot → plan. Pure: no I/O, no clock (the snapshot's time is "now"),
 * so the same inputs always give the same plan. The dry run is this plus a renderer.
 */
import { createHash } from 'node:crypto';
import { formatZohoDate, formatZohoTimestamp, TRANSACTION_TYPES, type TransactionType } from '../zoho/index.js';
import { activityTypesFor, globToRegExp, subtractDuration, type FieldCondition, type Policy } from './policy.js';
import { MONTH_MS, monthsSince } from './report/histogram.js';
import type {
  Evidence, Exclusion, ExclusionReason, HistogramBucket, Plan, PlanStep, PlanSummary, SnapshotContact, SnapshotInfo,
} from './types.js';

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

interface ActivityView {
  /** The latest activity of a type the policy counts for this contact. */
  counted: { date: string; type: TransactionType } | undefined;
  /** What the evidence shows: the counted activity, else the latest activity of any type. */
  shown: { date: string; type: TransactionType } | undefined;
  /** The snapshot kept only one latest activity, of an uncounted type of this contact's kind: counted activity may hide behind it. */
  ambiguous: boolean;
}

function activityOf(c: SnapshotContact, counted: ReadonlySet<TransactionType>): ActivityView {
  const latest = c.lastActivityDate && c.lastActivityType ? { date: c.lastActivityDate, type: c.lastActivityType } : undefined;
  if (c.activityByType && Object.keys(c.activityByType).length > 0) {
    let best: { date: string; type: TransactionType } | undefined;
    for (const [type, date] of Object.entries(c.activityByType) as Array<[TransactionType, string]>) {
      if (counted.has(type) && (best === undefined || date > best.date)) best = { date, type };
    }
    return { counted: best, shown: best ?? latest, ambiguous: false };
  }
  // Only the single latest activity is known (a snapshot without per-type dates).
  if (latest && counted.has(latest.type)) return { counted: latest, shown: latest, ambiguous: false };
  const ownKind = latest !== undefined && TRANSACTION_TYPES[latest.type].contactType === c.contactType;
  return { counted: undefined, shown: latest, ambiguous: ownKind };
}

/** The document number of the activity shown: the latest of its type, or the latest of all. */
function numberOf(c: SnapshotContact, last: { date: string; type: TransactionType } | undefined): string | null {
  if (!last) return null;
  const doc = c.documentByType?.[last.type];
  if (doc && c.activityByType?.[last.type] === last.date) return doc.number || null;
  if (c.lastActivityType === last.type && c.lastActivityDate === last.date) return c.lastActivityNumber || null;
  return null;
}

function evidenceOf(c: SnapshotContact, snapshot: SnapshotInfo, cutoffDate: string, rule: string, last: { date: string; type: TransactionType } | undefined): Evidence {
  return {
    rule,
    lastActivityDate: last?.date ?? null,
    lastActivityType: last?.type ?? null,
    lastActivityNumber: numberOf(c, last),
    activitySince: cutoffDate,
    wholeHistory: snapshot.history === 'full',
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
  // A snapshot of the whole history serves any inactivity window.
  if (snapshot.history !== 'full' && needed < snapshot.cutoffDate) {
    throw new PlanInputError(`The policy looks for activity since ${needed}, but snapshot ${snapshot.snapshotId} only read activity since ${snapshot.cutoffDate}. Scan again with this policy.`);
  }
  const types = new Set(snapshot.history === 'full' ? [...snapshot.historyTypes, ...snapshot.activityTypes] : snapshot.activityTypes);
  const missing = activityTypesFor(policy).filter((t) => !types.has(t));
  if (missing.length > 0) {
    throw new PlanInputError(`The policy counts ${missing.join(', ')} as activity, but snapshot ${snapshot.snapshotId} did not read them. Scan again with this policy.`);
  }
  if (policy.reactivate && snapshot.statuses !== 'all') {
    throw new PlanInputError(`The policy re-activates contacts, but snapshot ${snapshot.snapshotId} read only active contacts. Scan again with this policy.`);
  }
}

/**
 * The planner, one contact at a time: `add` each contact of the snapshot (in contact-id order, for
 * determinism: the journal's cursor gives that order), then `finish`. A caller that pages through
 * the snapshot never holds the whole organization in memory (buildPlanFromPages).
 */
export function createPlanner(policy: Policy, policyText: string, snapshot: SnapshotInfo): { add(contact: SnapshotContact): void; finish(): Plan } {
  checkSnapshotFits(policy, snapshot);
  const asOf = snapshot.takenAt;
  const cutoffDate = cutoffFor(policy, asOf);
  // No grace period: nothing is recent enough to be protected.
  const graceStart = policy.safety.gracePeriod.amount === 0 ? Infinity : subtractDuration(asOf, policy.safety.gracePeriod);
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

  const add = (c: SnapshotContact): void => {
      summary.contactsConsidered++;
      if (c.status === 'active') summary.active++;
      else summary.inactive++;
      // Activity in the window that this policy counts for this contact's type. When the snapshot
      // cannot tell (see ActivityView.ambiguous), the contact is treated as active: never guess towards a change.
      const view = activityOf(c, activityTypes[c.contactType]);
      const last = view.shown;
      const countedDate = view.counted?.date ?? (view.ambiguous && last && last.date >= cutoffDate ? last.date : undefined);
      const counted = countedDate !== undefined && countedDate >= cutoffDate;
      const bucket = counted
        ? histogram[Math.min(windowMonths - 1, monthsSince(countedDate, asOf))]!
        : none;

      // Filters decide whether the policy applies to the contact at all.
      const filterReasons: ExclusionReason[] = [];
      const details: string[] = [];
      const filtered = (reason: ExclusionReason, detail: string): void => {
        filterReasons.push(reason);
        details.push(detail);
      };
      if (allow && !allow.has(c.contactId)) filtered('not_allowed', 'not on the allow list');
      if (deny.has(c.contactId)) filtered('denied', 'on the deny list');
      if (!policy.filters.contactTypes.includes(c.contactType)) filtered('contact_type', `a ${c.contactType}; the policy covers ${policy.filters.contactTypes.join(' and ')}s`);
      const linked = c.zcrmAccountId !== '' || c.zcrmContactId !== '';
      if ((policy.filters.crm === 'linked' && !linked) || (policy.filters.crm === 'unlinked' && linked)) filtered('crm', linked ? 'linked to Zoho CRM' : 'not linked to Zoho CRM');
      if (nameInclude.length > 0 && !nameInclude.some((re) => re.test(c.contactName))) filtered('name', 'the name matches no include pattern');
      else if (nameExclude.some((re) => re.test(c.contactName))) filtered('name', 'the name matches an exclude pattern');
      if (policy.filters.tags.include.length > 0 && !policy.filters.tags.include.some((p) => tagMatches(c.tags, p))) filtered('tags', 'no included tag');
      else if (policy.filters.tags.exclude.some((p) => tagMatches(c.tags, p))) filtered('tags', 'an excluded tag');
      for (const [field, condition] of Object.entries(policy.filters.customFields)) {
        if (!fieldMatches(c.customFields[field], condition)) {
          filterReasons.push('custom_field');
          details.push(`${field} = ${JSON.stringify(c.customFields[field] ?? '')}`);
          break;
        }
      }

      if (c.status === 'inactive') {
        // Re-activation: an inactive contact that traded in the window.
        if (policy.reactivate && counted) {
          if (filterReasons.length === 0) {
            activations.push({
              contactId: c.contactId, contactName: c.contactName, contactType: c.contactType, action: 'activate',
              reason: `inactive, but traded on ${last?.date} (${last?.type})`,
              evidence: evidenceOf(c, snapshot, cutoffDate, 'reactivate', last),
            });
          } else {
            for (const r of filterReasons) count(r);
            excluded.push({
              contactId: c.contactId, contactName: c.contactName, contactType: c.contactType, reasons: filterReasons,
              detail: `would be re-activated, but ${details.join('; ')}`, evidence: evidenceOf(c, snapshot, cutoffDate, filterReasons[0]!, last),
            });
          }
        }
        return;
      }
      if (counted) {
        summary.recentlyActive++;
        bucket.kept++;
        return;
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
          detail: details.join('; '), evidence: evidenceOf(c, snapshot, cutoffDate, reasons[0]!, last),
        });
        return;
      }
      deactivations.push({
        contactId: c.contactId, contactName: c.contactName, contactType: c.contactType, action: 'deactivate',
        reason: c.activityCount === 0 ? `no ${c.contactType === 'customer' ? 'customer' : 'vendor'} activity since ${cutoffDate} (${policy.inactivity.text})` : `no counted activity since ${cutoffDate}`,
        evidence: evidenceOf(c, snapshot, cutoffDate, 'dormant', last),
        // The longest-known contacts go first when a cap applies.
        sortKey: `${String(c.createdAt).padStart(16, '0')}:${c.contactId}`,
      });
      bucket.deactivate++;
  };

  const finish = (): Plan => {
    deactivations.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    activations.sort((a, b) => (a.contactId < b.contactId ? -1 : a.contactId > b.contactId ? 1 : 0));
    // The cap: activations first (a trading contact should not stay blocked), then the longest-known dormant ones.
    const cap = policy.maxChanges ?? Infinity;
    const keptActivations = activations.slice(0, cap);
    const kept = deactivations.slice(0, Math.max(0, cap - keptActivations.length));
    const overCap = (step: PlanStep): void => {
      count('cap');
      excluded.push({
        contactId: step.contactId, contactName: step.contactName, contactType: step.contactType, reasons: ['cap'],
        detail: `over the cap of ${policy.maxChanges} changes per run`, evidence: { ...step.evidence, rule: 'cap' },
      });
    };
    for (const over of activations.slice(keptActivations.length)) overCap(over);
    for (const over of deactivations.slice(kept.length)) {
      overCap(over);
      none.deactivate--;
      none.excluded++;
    }
    const steps: PlanStep[] = [...keptActivations, ...kept.map(({ sortKey: _sortKey, ...step }) => step)];
    summary.steps.deactivate = steps.filter((s) => s.action === 'deactivate').length;
    summary.steps.activate = steps.filter((s) => s.action === 'activate').length;
    excluded.sort((a, b) => (a.contactId < b.contactId ? -1 : a.contactId > b.contactId ? 1 : 0));

    const planId = `plan_${createHash('sha256')
      .update(JSON.stringify({ snapshot: snapshot.snapshotId, policy, steps: steps.map((s) => [s.contactId, s.action]) }))
      .digest('hex')
      .slice(0, 16)}`;
    return { planId, organizationId: policy.organizationId, target: snapshot.target, snapshotId: snapshot.snapshotId, asOf, cutoffDate, policyText, steps, excluded, summary };
  };
  return { add, finish };
}

/** Builds the plan from contacts in contact-id order (see createPlanner). */
export function buildPlan(policy: Policy, policyText: string, snapshot: SnapshotInfo, contacts: Iterable<SnapshotContact>): Plan {
  const planner = createPlanner(policy, policyText, snapshot);
  for (const c of contacts) planner.add(c);
  return planner.finish();
}

/** Builds the plan from pages of contacts as the journal gives them (`journal.snapshotContacts`): memory stays flat. */
export async function buildPlanFromPages(policy: Policy, policyText: string, snapshot: SnapshotInfo, pages: AsyncIterable<SnapshotContact[]>): Promise<Plan> {
  const planner = createPlanner(policy, policyText, snapshot);
  for await (const page of pages) for (const c of page) planner.add(c);
  return planner.finish();
}
