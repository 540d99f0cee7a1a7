/**
 * The planner: policy + snapshot → plan. Pure: no I/O, no clock (the snapshot's time is "now"),
 * so the same inputs always give the same plan. The dry run is this plus a renderer. Its memory
 * does not grow with the organization: the snapshot comes in pages, each exclusion leaves as it is
 * decided (buildPlan writes them to a sink, the journal's), and a capped plan holds only its steps.
 */
import { createHash } from 'node:crypto';
import { formatZohoDate, formatZohoTimestamp, TRANSACTION_TYPES, type TransactionType } from '../zoho/index.js';
import { activityTypesFor, globToRegExp, subtractDuration, type FieldCondition, type Policy } from './policy.js';
import { MONTH_MS, monthsSince } from './report/histogram.js';
import type {
  Evidence, Exclusion, ExclusionReason, ExclusionSink, HistogramBucket, InMemoryPlan, Plan, PlanStep, PlanSummary, SnapshotContact, SnapshotInfo,
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

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * At most `capacity` items, the least by `order`: `push` returns the item pushed out (the greatest),
 * if any. A binary max-heap; without a capacity, a plain list sorted at the end.
 */
function createBoundedHeap<T>(capacity: number, order: (a: T, b: T) => number): { push(item: T): T | undefined; pop(): T | undefined; size(): number; sorted(): T[] } {
  const items: T[] = [];
  const bounded = Number.isFinite(capacity);
  const up = (i: number): void => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (order(items[i]!, items[parent]!) <= 0) return;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < items.length && order(items[l]!, items[top]!) > 0) top = l;
      if (r < items.length && order(items[r]!, items[top]!) > 0) top = r;
      if (top === i) return;
      [items[i], items[top]] = [items[top]!, items[i]!];
      i = top;
    }
  };
  const pop = (): T | undefined => {
    if (!bounded) {
      items.sort(order);
      return items.pop();
    }
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      down(0);
    }
    return top;
  };
  return {
    push(item) {
      items.push(item);
      if (!bounded) return undefined;
      up(items.length - 1);
      return items.length > capacity ? pop() : undefined;
    },
    pop,
    size: () => items.length,
    sorted: () => [...items].sort(order),
  };
}

/** The planner, one contact at a time (see createPlanner). */
export interface Planner {
  add(contact: SnapshotContact): void;
  /** The exclusions decided since the last call (in no particular order). */
  drain(): Exclusion[];
  /** The plan; its last exclusions (over the cap) are then left to `drain`. */
  finish(): Plan;
}

/**
 * The planner, one contact at a time: `add` each contact of the snapshot, take its exclusions with
 * `drain` as they come, then `finish`. The plan is the same whatever the contacts' order (steps and
 * exclusions have their own order); the journal gives them in contact-id order.
 */
export function createPlanner(policy: Policy, policyText: string, snapshot: SnapshotInfo): Planner {
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

  // The cap keeps the first `max_changes` activations (by contact id) and the longest-known dormant
  // contacts (by created time): each kind in a heap of at most the cap, so a capped plan holds at
  // most the cap's steps whatever the organization's size. A contact pushed out is over the cap.
  const cap = policy.maxChanges ?? Infinity;
  const deactivations = createBoundedHeap<PlanStep & { sortKey: string }>(cap, (a, b) => compare(a.sortKey, b.sortKey));
  const activations = createBoundedHeap<PlanStep>(cap, (a, b) => compare(a.contactId, b.contactId));
  // Exclusions decided and not yet taken by `drain`.
  let pending: Exclusion[] = [];
  let exclusionCount = 0;
  let overCap = 0;
  const exclude = (e: Exclusion): void => {
    pending.push(e);
    exclusionCount++;
  };
  const overTheCap = (step: PlanStep): void => {
    overCap++;
    exclude({
      contactId: step.contactId, contactName: step.contactName, contactType: step.contactType, reasons: ['cap'],
      detail: `over the cap of ${policy.maxChanges} changes per run`, evidence: { ...step.evidence, rule: 'cap' },
    });
  };
  const overTheCapDormant = (step: PlanStep): void => {
    overTheCap(step);
    none.deactivate--;
    none.excluded++;
  };
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
            const over = activations.push({
              contactId: c.contactId, contactName: c.contactName, contactType: c.contactType, action: 'activate',
              reason: `inactive, but traded on ${last?.date} (${last?.type})`,
              evidence: evidenceOf(c, snapshot, cutoffDate, 'reactivate', last),
            });
            if (over) overTheCap(over);
          } else {
            for (const r of filterReasons) count(r);
            exclude({
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
        exclude({
          contactId: c.contactId, contactName: c.contactName, contactType: c.contactType, reasons,
          detail: details.join('; '), evidence: evidenceOf(c, snapshot, cutoffDate, reasons[0]!, last),
        });
        return;
      }
      bucket.deactivate++;
      const over = deactivations.push({
        contactId: c.contactId, contactName: c.contactName, contactType: c.contactType, action: 'deactivate',
        reason: c.activityCount === 0 ? `no ${c.contactType === 'customer' ? 'customer' : 'vendor'} activity since ${cutoffDate} (${policy.inactivity.text})` : `no counted activity since ${cutoffDate}`,
        evidence: evidenceOf(c, snapshot, cutoffDate, 'dormant', last),
        // The longest-known contacts go first when a cap applies.
        sortKey: `${String(c.createdAt).padStart(16, '0')}:${c.contactId}`,
      });
      if (over) overTheCapDormant(over);
  };

  const drain = (): Exclusion[] => {
    const taken = pending;
    pending = [];
    return taken;
  };

  const finish = (): Plan => {
    // The cap: activations first (a trading contact should not stay blocked), then the longest-known dormant ones.
    const keptActivations = activations.sorted();
    const room = Math.max(0, cap - keptActivations.length);
    while (deactivations.size() > room) overTheCapDormant(deactivations.pop()!);
    const kept = deactivations.sorted();
    const steps: PlanStep[] = [...keptActivations, ...kept.map(({ sortKey: _sortKey, ...step }) => step)];
    if (overCap > 0) summary.excluded.cap = (summary.excluded.cap ?? 0) + overCap;
    summary.steps.deactivate = kept.length;
    summary.steps.activate = keptActivations.length;

    const planId = `plan_${createHash('sha256')
      .update(JSON.stringify({ snapshot: snapshot.snapshotId, policy, steps: steps.map((s) => [s.contactId, s.action]) }))
      .digest('hex')
      .slice(0, 16)}`;
    return { planId, organizationId: policy.organizationId, target: snapshot.target, snapshotId: snapshot.snapshotId, asOf, cutoffDate, policyText, steps, exclusionCount, summary };
  };
  return { add, drain, finish };
}

/** Builds the plan from contacts held in memory, with its exclusions in contact-id order (tests, small inputs). */
export function planContacts(policy: Policy, policyText: string, snapshot: SnapshotInfo, contacts: Iterable<SnapshotContact>): InMemoryPlan {
  const planner = createPlanner(policy, policyText, snapshot);
  const excluded: Exclusion[] = [];
  for (const c of contacts) {
    planner.add(c);
    excluded.push(...planner.drain());
  }
  const plan = planner.finish();
  excluded.push(...planner.drain());
  return { ...plan, excluded: excluded.sort((a, b) => compare(a.contactId, b.contactId)) };
}

/** Exclusions written in batches of this many while planning. */
const EXCLUSION_BATCH = 500;

/**
 * Builds the plan from pages of the snapshot as the journal gives them (`journal.snapshotContacts`),
 * writing each exclusion to `exclusions` as it is decided (a journal's `planDraft()`), in batches:
 * neither the organization nor its exclusions are held in memory. The plan carries their count;
 * the journal gives them back in contact-id order (`journal.planExclusions`).
 */
export async function buildPlan(
  policy: Policy, policyText: string, snapshot: SnapshotInfo, pages: AsyncIterable<readonly SnapshotContact[]> | Iterable<readonly SnapshotContact[]>, exclusions: ExclusionSink,
): Promise<Plan> {
  const planner = createPlanner(policy, policyText, snapshot);
  let batch: Exclusion[] = [];
  const flush = async (atLeast: number): Promise<void> => {
    batch.push(...planner.drain());
    if (batch.length === 0 || batch.length < atLeast) return;
    const written = batch;
    batch = [];
    await exclusions.writeExclusions(written);
  };
  for await (const page of pages) {
    for (const c of page) planner.add(c);
    await flush(EXCLUSION_BATCH);
  }
  const plan = planner.finish();
  await flush(0);
  return plan;
}
