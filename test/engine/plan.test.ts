/**
 * The pure planner (src/engine/plan.ts): policy + snapshot → plan. Snapshots are built here by
 * hand (19-digit ids, dates relative to a fixed scan time), so every expectation is exact:
 * dormancy and the cutoff, safety exclusions, filters, the cap, re-activation, the snapshot checks,
 * evidence, the histogram, determinism, and a property-based check over random snapshots.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSnapshotFits, cutoffFor, planContacts, PlanInputError } from '../../src/engine/plan.js';
import { parsePolicy, type Policy } from '../../src/engine/policy.js';
import { activityTypesFor } from '../../src/engine/policy.js';
import type { Evidence, ExclusionReason, HistogramBucket, InMemoryPlan as Plan, SnapshotContact, SnapshotInfo } from '../../src/engine/types.js';
import { describeLastActivity } from '../../src/engine/report/index.js';
import { TRANSACTION_TYPE_NAMES, type TransactionType } from '../../src/zoho/index.js';

const ORG = '10234695';
/** The scan's time, the plan's "now": 2026-11-21T00:00:00Z. */
const TAKEN_AT = Date.UTC(2026, 10, 21);
/** 24 months (the default window) before TAKEN_AT. */
const CUTOFF = '2024-11-21';
const SNAPSHOT_ID = 'snap_0000000001';
const DAY = 86_400_000;

/** A 19-digit contact id. */
const id = (n: number): string => `3185434000000${String(n).padStart(6, '0')}`;

const policyText = (body = ''): string => `organization_id: "${ORG}"\n${body}`;
const policyOf = (body = ''): Policy => parsePolicy(policyText(body), 'test.yaml');

function snapshot(over: Partial<SnapshotInfo> = {}): SnapshotInfo {
  return {
    snapshotId: SNAPSHOT_ID,
    organizationId: ORG,
    target: 'embedded',
    organizationName: '',
    currencyCode: '',
    history: 'window',
    historyTypes: [],
    historyCalls: 0,
    takenAt: TAKEN_AT,
    cutoffDate: CUTOFF,
    activityTypes: [...TRANSACTION_TYPE_NAMES],
    statuses: 'all',
    apiCalls: 14,
    contactCount: 0,
    transactionCount: 0,
    ...over,
  };
}

function contact(n: number, over: Partial<SnapshotContact> = {}): SnapshotContact {
  return {
    contactId: id(n),
    contactName: `Contact ${n}`,
    companyName: `Company ${n} Ltd`,
    contactType: 'customer',
    status: 'active',
    createdAt: Date.UTC(2019, 2, 4, 10, 15),
    modifiedAt: Date.UTC(2023, 0, 5, 8),
    receivableCents: 0,
    payableCents: 0,
    creditsReceivableCents: 0,
    creditsPayableCents: 0,
    customFields: {},
    tags: [],
    zcrmAccountId: '',
    zcrmContactId: '',
    lastActivityDate: undefined,
    lastActivityType: undefined,
    lastActivityId: undefined,
    activityCount: 0,
    ...over,
  };
}

/** The fields of a contact whose latest activity (seen by the scan) is this one. */
function traded(date: string, type: TransactionType, count = 1): Partial<SnapshotContact> {
  return { lastActivityDate: date, lastActivityType: type, lastActivityId: '3185434000009000001', activityCount: count };
}

function plan(body: string, contacts: SnapshotContact[], over: Partial<SnapshotInfo> = {}): Plan {
  return planContacts(policyOf(body), policyText(body), snapshot(over), contacts);
}

/** The evidence of a default contact(), with changes. */
function evidence(over: Partial<Evidence> = {}): Evidence {
  return {
    rule: 'dormant',
    lastActivityDate: null,
    lastActivityType: null,
    lastActivityNumber: null,
    activitySince: CUTOFF,
    wholeHistory: false,
    createdTime: '2019-03-04T10:15:00+0000',
    status: 'active',
    receivable: 0,
    payable: 0,
    unusedCreditsReceivable: 0,
    unusedCreditsPayable: 0,
    ...over,
  };
}

/** Who gets a step and who is excluded, by contact name. */
function outcome(p: Plan): { steps: string[]; excluded: Record<string, ExclusionReason[]> } {
  return {
    steps: p.steps.map((s) => `${s.action} ${s.contactName}`),
    excluded: Object.fromEntries(p.excluded.map((e) => [e.contactName, e.reasons])),
  };
}

function histogram(months: number, set: Record<string, Partial<Omit<HistogramBucket, 'label'>>> = {}): HistogramBucket[] {
  const labels = [...Array.from({ length: months }, (_, i) => String(i)), 'none'];
  return labels.map((label) => ({ label, deactivate: 0, excluded: 0, kept: 0, ...set[label] }));
}

const sum = (buckets: HistogramBucket[], key: 'deactivate' | 'excluded' | 'kept'): number => buckets.reduce((t, b) => t + b[key], 0);

describe('the cutoff and dormancy', () => {
  it('puts the cutoff the inactivity window before the scan, by the calendar', () => {
    expect(cutoffFor(policyOf(), TAKEN_AT)).toBe('2024-11-21');
    expect(cutoffFor(policyOf('inactivity: 1 year\n'), TAKEN_AT)).toBe('2025-11-21');
    expect(cutoffFor(policyOf('inactivity: 14 months\n'), TAKEN_AT)).toBe('2025-09-21');
    expect(cutoffFor(policyOf('inactivity: 90 days\n'), TAKEN_AT)).toBe('2026-08-23');
    expect(cutoffFor(policyOf('inactivity: 6 weeks\n'), TAKEN_AT)).toBe('2026-10-10');
    // The date is the UTC date of that instant.
    expect(cutoffFor(policyOf('inactivity: 1 day\n'), TAKEN_AT + 23 * 3_600_000)).toBe('2026-11-20');
  });

  it('clamps the cutoff to the end of a shorter month instead of moving it into the next', () => {
    // 31 March minus 1 month: 28 February. Overflowing to 3 March would shorten the window by 3 days.
    expect(cutoffFor(policyOf('inactivity: 1 month\n'), Date.UTC(2026, 2, 31, 12))).toBe('2026-02-28');
  });

  it('plans to deactivate an active contact with no activity in the window, with its reason and evidence', () => {
    const text = policyText();
    const p = planContacts(policyOf(), text, snapshot(), [contact(1, { contactName: 'Harbor Supplies' })]);
    expect(p).toStrictEqual({
      planId: p.planId,
      organizationId: ORG,
      target: 'embedded',
      snapshotId: SNAPSHOT_ID,
      asOf: TAKEN_AT,
      cutoffDate: CUTOFF,
      policyText: text,
      steps: [{
        contactId: id(1), contactName: 'Harbor Supplies', contactType: 'customer', action: 'deactivate',
        reason: 'no customer activity since 2024-11-21 (24 months)', evidence: evidence(),
      }],
      excluded: [],
      exclusionCount: 0,
      summary: {
        contactsConsidered: 1, active: 1, inactive: 0, dormant: 1, steps: { deactivate: 1, activate: 0 }, excluded: {},
        recentlyActive: 0, histogram: histogram(24, { none: { deactivate: 1 } }),
      },
    });
    expect(p.planId).toMatch(/^plan_[0-9a-f]{16}$/);
  });

  it('says "vendor activity" for a vendor', () => {
    const p = plan('', [contact(2, { contactType: 'vendor', contactName: 'Bolt Freight' })]);
    expect(p.steps.map((s) => [s.contactName, s.contactType, s.reason])).toStrictEqual([
      ['Bolt Freight', 'vendor', 'no vendor activity since 2024-11-21 (24 months)'],
    ]);
  });

  it('keeps a contact with counted activity in the window', () => {
    const p = plan('', [
      contact(1, { contactName: 'Invoiced', ...traded('2026-10-02', 'invoices', 4) }),
      contact(2, { contactName: 'Estimated', ...traded('2025-01-15', 'estimates') }),
      contact(3, { contactName: 'Billed', contactType: 'vendor', ...traded('2025-07-30', 'vendorpayments', 2) }),
    ]);
    expect(p.steps).toStrictEqual([]);
    expect(p.excluded).toStrictEqual([]);
    expect(p.summary).toMatchObject({ contactsConsidered: 3, active: 3, dormant: 0, recentlyActive: 3, steps: { deactivate: 0, activate: 0 } });
  });

  it('counts activity dated exactly on the cutoff, and not the day before', () => {
    const p = plan('', [
      contact(1, { contactName: 'On the cutoff', ...traded('2024-11-21', 'invoices') }),
      contact(2, { contactName: 'Day before', ...traded('2024-11-20', 'invoices') }),
    ], { cutoffDate: '2023-11-21' });
    expect(outcome(p)).toStrictEqual({ steps: ['deactivate Day before'], excluded: {} });
    expect(p.steps[0]).toStrictEqual({
      contactId: id(2), contactName: 'Day before', contactType: 'customer', action: 'deactivate',
      reason: 'no counted activity since 2024-11-21',
      evidence: evidence({ lastActivityDate: '2024-11-20', lastActivityType: 'invoices' }),
    });
    expect(p.summary.recentlyActive).toBe(1);
  });

  it('treats a customer whose only activity is a vendor-type transaction as dormant (and a vendor with a customer-type one)', () => {
    const p = plan('', [
      contact(1, { contactName: 'Customer with a bill', ...traded('2026-03-10', 'bills', 2) }),
      contact(2, { contactName: 'Vendor with an invoice', contactType: 'vendor', ...traded('2026-09-01', 'invoices') }),
    ]);
    expect(p.steps).toStrictEqual([
      {
        contactId: id(1), contactName: 'Customer with a bill', contactType: 'customer', action: 'deactivate',
        reason: 'no counted activity since 2024-11-21',
        evidence: evidence({ lastActivityDate: '2026-03-10', lastActivityType: 'bills' }),
      },
      {
        contactId: id(2), contactName: 'Vendor with an invoice', contactType: 'vendor', action: 'deactivate',
        reason: 'no counted activity since 2024-11-21',
        evidence: evidence({ lastActivityDate: '2026-09-01', lastActivityType: 'invoices' }),
      },
    ]);
    expect(p.summary).toMatchObject({ dormant: 2, recentlyActive: 0 });
  });

  it('counts only the activity types the policy names', () => {
    const body = 'activity:\n  customer: [invoices, customerpayments]\n  vendor: [bills]\n';
    const policy = policyOf(body);
    // A snapshot that read exactly what this policy counts.
    const snap = snapshot({ activityTypes: ['invoices', 'customerpayments', 'bills'] });
    const p = planContacts(policy, policyText(body), snap, [
      contact(1, { contactName: 'Paid', ...traded('2026-02-02', 'customerpayments') }),
      contact(2, { contactName: 'Billed', contactType: 'vendor', ...traded('2025-12-12', 'bills') }),
      contact(3, { contactName: 'Nothing' }),
    ]);
    expect(outcome(p)).toStrictEqual({ steps: ['deactivate Nothing'], excluded: {} });
  });

  it('does not deactivate a contact whose latest activity is of a type the policy does not count when the snapshot read more types (it may hide counted activity)', () => {
    // The snapshot keeps only the latest activity. It read estimates, which this policy does not
    // count: a customer whose latest activity is an estimate may well have been invoiced in the window.
    const body = 'activity:\n  customer: [invoices, customerpayments]\n';
    const contacts = [contact(1, { contactName: 'Estimated lately', ...traded('2026-10-02', 'estimates', 3) })];
    let p: Plan | undefined;
    try {
      p = plan(body, contacts);
    } catch (error) {
      expect(error).toBeInstanceOf(PlanInputError);
      return;
    }
    expect(p.steps.map((s) => s.contactName)).not.toContain('Estimated lately');
  });

  it('calls a never-traded contact dormant whenever it was created, leaving new ones to the grace period (glossary: dormant)', () => {
    // Created 18 months before the scan, never traded: dormant, and past the 90-day grace period.
    const p = plan('', [
      contact(1, { contactName: 'Young and quiet', createdAt: Date.UTC(2025, 4, 20, 9) }),
      contact(2, { contactName: 'Brand new', createdAt: Date.UTC(2026, 9, 20, 9) }),
    ]);
    expect(p.steps.map((s) => s.contactName)).toStrictEqual(['Young and quiet']);
    expect(p.excluded.map((e) => [e.contactName, e.reasons])).toStrictEqual([['Brand new', ['grace_period']]]);
    expect(p.summary.dormant).toBe(2);
  });
});

describe('safety exclusions', () => {
  it('excludes a dormant contact with an open receivable or payable, and lets it through with open_balance: false', () => {
    const contacts = [
      contact(1, { contactName: 'Owes us', receivableCents: 12_050 }),
      contact(2, { contactName: 'We owe', contactType: 'vendor', payableCents: 99 }),
    ];
    const p = plan('', contacts);
    expect(p.excluded).toStrictEqual([
      {
        contactId: id(1), contactName: 'Owes us', contactType: 'customer', reasons: ['open_balance'],
        detail: 'owes 120.50 / is owed 0.00', evidence: evidence({ rule: 'open_balance', receivable: 120.5 }),
      },
      {
        contactId: id(2), contactName: 'We owe', contactType: 'vendor', reasons: ['open_balance'],
        detail: 'owes 0.00 / is owed 0.99', evidence: evidence({ rule: 'open_balance', payable: 0.99 }),
      },
    ]);
    expect(p.steps).toStrictEqual([]);
    expect(p.summary.excluded).toStrictEqual({ open_balance: 2 });
    expect(p.summary.dormant).toBe(2);

    const off = plan('safety:\n  open_balance: false\n', contacts);
    expect(outcome(off)).toStrictEqual({ steps: ['deactivate Owes us', 'deactivate We owe'], excluded: {} });
    expect(off.steps[0]?.evidence).toStrictEqual(evidence({ receivable: 120.5 }));
  });

  it('excludes a dormant contact with unused credits, and lets it through with unused_credits: false', () => {
    const contacts = [
      contact(1, { contactName: 'Credit note left', creditsReceivableCents: 1_500 }),
      contact(2, { contactName: 'Vendor credit left', contactType: 'vendor', creditsPayableCents: 2_575 }),
    ];
    const p = plan('', contacts);
    expect(p.excluded).toStrictEqual([
      {
        contactId: id(1), contactName: 'Credit note left', contactType: 'customer', reasons: ['unused_credits'],
        detail: 'unused credits 15.00', evidence: evidence({ rule: 'unused_credits', unusedCreditsReceivable: 15 }),
      },
      {
        contactId: id(2), contactName: 'Vendor credit left', contactType: 'vendor', reasons: ['unused_credits'],
        detail: 'unused credits 25.75', evidence: evidence({ rule: 'unused_credits', unusedCreditsPayable: 25.75 }),
      },
    ]);
    expect(p.summary.excluded).toStrictEqual({ unused_credits: 2 });
    const off = plan('safety:\n  unused_credits: false\n', contacts);
    expect(outcome(off)).toStrictEqual({ steps: ['deactivate Credit note left', 'deactivate Vendor credit left'], excluded: {} });
  });

  describe('grace period', () => {
    // A 30-day window, so a contact created 60 days ago is older than the window but within the
    // default 90-day grace period.
    const window = 'inactivity: 30 days\n';
    const created = Date.UTC(2026, 8, 22, 8); // 2026-09-22, 60 days before the scan
    const newcomer = contact(1, { contactName: 'Newcomer', createdAt: created });

    it('excludes a contact created within the grace period', () => {
      const p = plan(window, [newcomer]);
      expect(p.cutoffDate).toBe('2026-10-22');
      expect(p.excluded).toStrictEqual([{
        contactId: id(1), contactName: 'Newcomer', contactType: 'customer', reasons: ['grace_period'],
        detail: 'created 2026-09-22, within 90 days',
        evidence: evidence({ rule: 'grace_period', activitySince: '2026-10-22', createdTime: '2026-09-22T08:00:00+0000' }),
      }]);
      expect(p.summary.excluded).toStrictEqual({ grace_period: 1 });
    });

    it.each(['none', '0', '30 days'])('lets it through with grace_period: %s', (grace) => {
      const p = plan(`${window}safety:\n  grace_period: ${grace}\n`, [newcomer]);
      expect(outcome(p)).toStrictEqual({ steps: ['deactivate Newcomer'], excluded: {} });
    });

    it('ends the grace period exactly the grace period before the scan', () => {
      const graceStart = TAKEN_AT - 90 * DAY; // 2026-08-23T00:00Z
      const p = plan(window, [
        contact(1, { contactName: 'At the start', createdAt: graceStart }),
        contact(2, { contactName: 'Just after', createdAt: graceStart + 1 }),
      ]);
      expect(outcome(p)).toStrictEqual({ steps: ['deactivate At the start'], excluded: { 'Just after': ['grace_period'] } });
      expect(p.excluded[0]?.detail).toBe('created 2026-08-23, within 90 days');
    });

    it('names the grace period as written in the detail', () => {
      const p = plan(`${window}safety:\n  grace_period: 6 months\n`, [contact(1, { contactName: 'Spring', createdAt: Date.UTC(2026, 5, 1) })]);
      expect(p.excluded.map((e) => e.detail)).toStrictEqual(['created 2026-06-01, within 6 months']);
    });
  });

  it('lists every reason, filters first, with one detail per safety reason and the first reason as the rule', () => {
    const body = `inactivity: 30 days\nfilters:\n  deny: ["${id(1)}"]\n  custom_fields:\n    cf_do_not_sunset: { not: ["true"] }\n`;
    const p = plan(body, [contact(1, {
      contactName: 'Everything',
      createdAt: Date.UTC(2026, 9, 1, 12),
      receivableCents: 100_000,
      payableCents: 2_500,
      creditsReceivableCents: 1_000,
      creditsPayableCents: 5,
      customFields: { cf_do_not_sunset: 'true' },
    })]);
    expect(p.excluded).toStrictEqual([{
      contactId: id(1), contactName: 'Everything', contactType: 'customer',
      reasons: ['denied', 'custom_field', 'open_balance', 'unused_credits', 'grace_period'],
      detail: 'on the deny list; cf_do_not_sunset = "true"; owes 1000.00 / is owed 25.00; unused credits 10.05; created 2026-10-01, within 90 days',
      evidence: evidence({
        rule: 'denied', activitySince: '2026-10-22', createdTime: '2026-10-01T12:00:00+0000',
        receivable: 1000, payable: 25, unusedCreditsReceivable: 10, unusedCreditsPayable: 0.05,
      }),
    }]);
    expect(p.summary.excluded).toStrictEqual({ denied: 1, custom_field: 1, open_balance: 1, unused_credits: 1, grace_period: 1 });
  });

  it('does not exclude (or list) a recently active contact, whatever its balances', () => {
    const p = plan('', [contact(1, { receivableCents: 50_000, creditsReceivableCents: 10, createdAt: TAKEN_AT - DAY, ...traded('2026-11-20', 'invoices') })]);
    expect(p.steps).toStrictEqual([]);
    expect(p.excluded).toStrictEqual([]);
    expect(p.summary.recentlyActive).toBe(1);
  });
});

describe('filters', () => {
  it('allow: only the listed contacts', () => {
    const p = plan(`filters:\n  allow: ["${id(1)}", "${id(3)}"]\n`, [contact(1, { contactName: 'A' }), contact(2, { contactName: 'B' }), contact(3, { contactName: 'C' })]);
    expect(outcome(p)).toStrictEqual({ steps: ['deactivate A', 'deactivate C'], excluded: { B: ['not_allowed'] } });
    expect(p.excluded[0]?.evidence.rule).toBe('not_allowed');
    expect(p.summary.excluded).toStrictEqual({ not_allowed: 1 });
  });

  it('allow: [] lets no contact through', () => {
    const p = plan('filters:\n  allow: []\n', [contact(1, { contactName: 'A' })]);
    expect(outcome(p)).toStrictEqual({ steps: [], excluded: { A: ['not_allowed'] } });
  });

  it('deny: never the listed contacts, even when also allowed', () => {
    const p = plan(`filters:\n  allow: ["${id(1)}", "${id(2)}"]\n  deny: ["${id(2)}", "${id(3)}"]\n`, [
      contact(1, { contactName: 'A' }), contact(2, { contactName: 'B' }), contact(3, { contactName: 'C' }),
    ]);
    expect(outcome(p)).toStrictEqual({ steps: ['deactivate A'], excluded: { B: ['denied'], C: ['not_allowed', 'denied'] } });
    expect(p.summary.excluded).toStrictEqual({ denied: 2, not_allowed: 1 });
  });

  it('contact_type: only the listed types', () => {
    const contacts = [contact(1, { contactName: 'Customer' }), contact(2, { contactName: 'Vendor', contactType: 'vendor' })];
    expect(outcome(plan('filters:\n  contact_type: vendor\n', contacts))).toStrictEqual({ steps: ['deactivate Vendor'], excluded: { Customer: ['contact_type'] } });
    expect(outcome(plan('filters:\n  contact_type: [customer]\n', contacts))).toStrictEqual({ steps: ['deactivate Customer'], excluded: { Vendor: ['contact_type'] } });
  });

  it('crm: linked by a CRM account or contact id, or not', () => {
    const contacts = [
      contact(1, { contactName: 'Account', zcrmAccountId: '4876876000000123001' }),
      contact(2, { contactName: 'Contact', zcrmContactId: '4876876000000456002' }),
      contact(3, { contactName: 'Unlinked' }),
    ];
    expect(outcome(plan('filters:\n  crm: linked\n', contacts))).toStrictEqual({
      steps: ['deactivate Account', 'deactivate Contact'], excluded: { Unlinked: ['crm'] },
    });
    expect(outcome(plan('filters:\n  crm: unlinked\n', contacts))).toStrictEqual({
      steps: ['deactivate Unlinked'], excluded: { Account: ['crm'], Contact: ['crm'] },
    });
    expect(outcome(plan('filters:\n  crm: any\n', contacts)).steps).toHaveLength(3);
  });

  it('name: include and exclude globs over the contact name, ignoring case', () => {
    const body = 'filters:\n  name:\n    include: ["acme*", "Bolt ?"]\n    exclude: ["* (old)"]\n';
    const p = plan(body, [
      contact(1, { contactName: 'ACME Corp' }),
      contact(2, { contactName: 'Acme Trading (OLD)' }),
      contact(3, { contactName: 'Bolt 7' }),
      contact(4, { contactName: 'Bolt 77' }),
      contact(5, { contactName: 'Northwind', companyName: 'Acme Holdings' }),
    ]);
    expect(outcome(p)).toStrictEqual({
      steps: ['deactivate ACME Corp', 'deactivate Bolt 7'],
      excluded: { 'Acme Trading (OLD)': ['name'], 'Bolt 77': ['name'], Northwind: ['name'] },
    });
    const excludeOnly = plan('filters:\n  name:\n    exclude: "test*"\n', [contact(1, { contactName: 'Test account' }), contact(2, { contactName: 'Retest' })]);
    expect(outcome(excludeOnly)).toStrictEqual({ steps: ['deactivate Retest'], excluded: { 'Test account': ['name'] } });
  });

  describe('tags', () => {
    const contacts = [
      contact(1, { contactName: 'Online', tags: ['Channel: Online'] }),
      contact(2, { contactName: 'Retail', tags: ['Channel: Retail'] }),
      contact(3, { contactName: 'Online VIP', tags: ['Priority: High', 'Channel: Online'] }),
      contact(4, { contactName: 'Low', tags: ['Priority: Low'] }),
      contact(5, { contactName: 'Untagged', tags: [] }),
    ];

    it('include "Name: option" matches that option, ignoring case', () => {
      expect(outcome(plan('filters:\n  tags:\n    include: ["channel: online"]\n', contacts))).toStrictEqual({
        steps: ['deactivate Online', 'deactivate Online VIP'],
        excluded: { Retail: ['tags'], Low: ['tags'], Untagged: ['tags'] },
      });
    });

    it('include a tag name alone matches any of its options', () => {
      expect(outcome(plan('filters:\n  tags:\n    include: Channel\n', contacts))).toStrictEqual({
        steps: ['deactivate Online', 'deactivate Retail', 'deactivate Online VIP'],
        excluded: { Low: ['tags'], Untagged: ['tags'] },
      });
    });

    it('an option alone is not a tag name', () => {
      expect(outcome(plan('filters:\n  tags:\n    include: [Online]\n', contacts)).steps).toStrictEqual([]);
    });

    it('exclude by tag name or by "Name: option", and globs', () => {
      expect(outcome(plan('filters:\n  tags:\n    exclude: [Priority]\n', contacts))).toStrictEqual({
        steps: ['deactivate Online', 'deactivate Retail', 'deactivate Untagged'],
        excluded: { 'Online VIP': ['tags'], Low: ['tags'] },
      });
      expect(outcome(plan('filters:\n  tags:\n    exclude: ["Priority: High"]\n', contacts)).excluded).toStrictEqual({ 'Online VIP': ['tags'] });
      expect(outcome(plan('filters:\n  tags:\n    include: ["Chan*: On*"]\n    exclude: ["prio*"]\n', contacts))).toStrictEqual({
        steps: ['deactivate Online'],
        excluded: { Retail: ['tags'], 'Online VIP': ['tags'], Low: ['tags'], Untagged: ['tags'] },
      });
    });
  });

  describe('custom fields', () => {
    const contacts = [
      contact(1, { contactName: 'North', customFields: { cf_region: 'North' } }),
      contact(2, { contactName: 'South', customFields: { cf_region: 'South' } }),
      contact(3, { contactName: 'Blank', customFields: { cf_region: '' } }),
      contact(4, { contactName: 'Missing', customFields: {} }),
    ];

    it('a scalar equals', () => {
      const p = plan('filters:\n  custom_fields:\n    cf_region: North\n', contacts);
      expect(outcome(p)).toStrictEqual({
        steps: ['deactivate North'],
        excluded: { South: ['custom_field'], Blank: ['custom_field'], Missing: ['custom_field'] },
      });
      expect(p.excluded.map((e) => e.detail)).toStrictEqual(['cf_region = "South"', 'cf_region = ""', 'cf_region = ""']);
      expect(p.excluded.map((e) => e.evidence.rule)).toStrictEqual(['custom_field', 'custom_field', 'custom_field']);
    });

    it('{ equals } compares as text', () => {
      const p = plan('filters:\n  custom_fields:\n    cf_tier: { equals: 2 }\n', [
        contact(1, { contactName: 'Two', customFields: { cf_tier: '2' } }),
        contact(2, { contactName: 'Three', customFields: { cf_tier: '3' } }),
      ]);
      expect(outcome(p)).toStrictEqual({ steps: ['deactivate Two'], excluded: { Three: ['custom_field'] } });
    });

    it('{ not: [...] }, a missing field being empty', () => {
      const p = plan('filters:\n  custom_fields:\n    cf_region: { not: [South, ""] }\n', contacts);
      expect(outcome(p)).toStrictEqual({
        steps: ['deactivate North'],
        excluded: { South: ['custom_field'], Blank: ['custom_field'], Missing: ['custom_field'] },
      });
      const flag = plan('filters:\n  custom_fields:\n    cf_do_not_sunset: { not: ["true"] }\n', [
        contact(1, { contactName: 'Flagged', customFields: { cf_do_not_sunset: 'true' } }),
        contact(2, { contactName: 'Cleared', customFields: { cf_do_not_sunset: 'false' } }),
        contact(3, { contactName: 'Never set' }),
      ]);
      expect(outcome(flag)).toStrictEqual({ steps: ['deactivate Cleared', 'deactivate Never set'], excluded: { Flagged: ['custom_field'] } });
      expect(flag.excluded[0]?.detail).toBe('cf_do_not_sunset = "true"');
    });

    it('{ in: [...] }', () => {
      expect(outcome(plan('filters:\n  custom_fields:\n    cf_region: { in: [North, South] }\n', contacts))).toStrictEqual({
        steps: ['deactivate North', 'deactivate South'],
        excluded: { Blank: ['custom_field'], Missing: ['custom_field'] },
      });
    });

    it('{ empty: true }, { empty: false } and the short form "cf_x:" with no value', () => {
      expect(outcome(plan('filters:\n  custom_fields:\n    cf_region: { empty: true }\n', contacts))).toStrictEqual({
        steps: ['deactivate Blank', 'deactivate Missing'],
        excluded: { North: ['custom_field'], South: ['custom_field'] },
      });
      expect(outcome(plan('filters:\n  custom_fields:\n    cf_region:\n', contacts)).steps).toStrictEqual(['deactivate Blank', 'deactivate Missing']);
      expect(outcome(plan('filters:\n  custom_fields:\n    cf_region: { empty: false }\n', contacts))).toStrictEqual({
        steps: ['deactivate North', 'deactivate South'],
        excluded: { Blank: ['custom_field'], Missing: ['custom_field'] },
      });
    });

    it('needs every condition to hold; the first one that fails is the detail', () => {
      const body = 'filters:\n  custom_fields:\n    cf_region: North\n    cf_tier: { in: ["1", "2"] }\n';
      const p = plan(body, [
        contact(1, { contactName: 'Both', customFields: { cf_region: 'North', cf_tier: '1' } }),
        contact(2, { contactName: 'Tier only', customFields: { cf_region: 'North', cf_tier: '3' } }),
        contact(3, { contactName: 'Neither', customFields: { cf_region: 'East', cf_tier: '3' } }),
      ]);
      expect(outcome(p)).toStrictEqual({ steps: ['deactivate Both'], excluded: { 'Tier only': ['custom_field'], Neither: ['custom_field'] } });
      expect(p.excluded.map((e) => e.detail)).toStrictEqual(['cf_tier = "3"', 'cf_region = "East"']);
      expect(p.summary.excluded).toStrictEqual({ custom_field: 2 });
    });
  });

  it('leaves a recently active contact out of the exclusions whatever the filters', () => {
    const p = plan(`filters:\n  deny: ["${id(1)}"]\n  contact_type: vendor\n`, [contact(1, { ...traded('2026-01-05', 'salesreceipts') })]);
    expect(p.excluded).toStrictEqual([]);
    expect(p.steps).toStrictEqual([]);
    expect(p.summary.recentlyActive).toBe(1);
  });
});

describe('the cap (max_changes)', () => {
  it('keeps the longest-known contacts (then by id) and excludes the rest with reason "cap"', () => {
    const p = plan('max_changes: 2\n', [
      contact(10, { contactName: 'C2018', createdAt: Date.UTC(2018, 4, 1) }),
      contact(11, { contactName: 'C2017a', createdAt: Date.UTC(2017, 0, 15) }),
      contact(12, { contactName: 'C2020', createdAt: Date.UTC(2020, 6, 7) }),
      contact(13, { contactName: 'C2017b', createdAt: Date.UTC(2017, 0, 15) }),
      contact(14, { contactName: 'Owes', createdAt: Date.UTC(2010, 0, 1), receivableCents: 1 }),
    ]);
    expect(p.steps.map((s) => s.contactName)).toStrictEqual(['C2017a', 'C2017b']);
    expect(p.excluded).toStrictEqual([
      {
        contactId: id(10), contactName: 'C2018', contactType: 'customer', reasons: ['cap'], detail: 'over the cap of 2 changes per run',
        evidence: evidence({ rule: 'cap', createdTime: '2018-05-01T00:00:00+0000' }),
      },
      {
        contactId: id(12), contactName: 'C2020', contactType: 'customer', reasons: ['cap'], detail: 'over the cap of 2 changes per run',
        evidence: evidence({ rule: 'cap', createdTime: '2020-07-07T00:00:00+0000' }),
      },
      {
        contactId: id(14), contactName: 'Owes', contactType: 'customer', reasons: ['open_balance'], detail: 'owes 0.01 / is owed 0.00',
        evidence: evidence({ rule: 'open_balance', createdTime: '2010-01-01T00:00:00+0000', receivable: 0.01 }),
      },
    ]);
    expect(p.summary).toMatchObject({ dormant: 5, steps: { deactivate: 2, activate: 0 }, excluded: { cap: 2, open_balance: 1 } });
    expect(p.summary.histogram).toStrictEqual(histogram(24, { none: { deactivate: 2, excluded: 3 } }));
  });

  it('makes no exclusion when the cap is not reached', () => {
    const p = plan('max_changes: 2\n', [contact(1), contact(2)]);
    expect(p.steps).toHaveLength(2);
    expect(p.excluded).toStrictEqual([]);
    expect(p.summary.excluded).toStrictEqual({});
  });

  it('counts activations against the cap, and lists the activations over it as excluded with reason "cap"', () => {
    const p = plan('reactivate: true\nmax_changes: 1\n', [
      contact(1, { contactName: 'Back A', status: 'inactive', ...traded('2026-04-01', 'invoices') }),
      contact(2, { contactName: 'Back B', status: 'inactive', ...traded('2026-05-01', 'invoices') }),
      contact(3, { contactName: 'Dormant' }),
    ]);
    expect(p.steps).toHaveLength(1);
    expect(p.steps[0]?.action).toBe('activate');
    const all = [...p.steps.map((s) => s.contactName), ...p.excluded.map((e) => e.contactName)].sort();
    expect(all).toStrictEqual(['Back A', 'Back B', 'Dormant']);
    expect(p.excluded.every((e) => e.reasons.length === 1 && e.reasons[0] === 'cap')).toBe(true);
    expect(p.summary.excluded).toStrictEqual({ cap: 2 });
  });
});

describe('re-activation', () => {
  const contacts = [
    contact(20, { contactName: 'Came back', status: 'inactive', ...traded('2026-05-02', 'invoices', 2) }),
    contact(21, { contactName: 'Still gone', status: 'inactive' }),
    contact(22, { contactName: 'Old trade', status: 'inactive', ...traded('2024-06-30', 'invoices') }),
    contact(23, { contactName: 'Wrong side', status: 'inactive', ...traded('2026-05-02', 'purchaseorders') }),
    contact(24, { contactName: 'Sleeping', status: 'active' }),
  ];
  const snap = { cutoffDate: '2023-11-21' };

  it('with reactivate: true, plans to activate inactive contacts with counted activity in the window, before the deactivations', () => {
    const p = plan('reactivate: true\n', contacts, snap);
    expect(p.steps).toStrictEqual([
      {
        contactId: id(20), contactName: 'Came back', contactType: 'customer', action: 'activate',
        reason: 'inactive, but traded on 2026-05-02 (invoices)',
        evidence: evidence({ rule: 'reactivate', status: 'inactive', lastActivityDate: '2026-05-02', lastActivityType: 'invoices' }),
      },
      {
        contactId: id(24), contactName: 'Sleeping', contactType: 'customer', action: 'deactivate',
        reason: 'no customer activity since 2024-11-21 (24 months)', evidence: evidence(),
      },
    ]);
    expect(p.excluded).toStrictEqual([]);
    expect(p.summary).toMatchObject({ contactsConsidered: 5, active: 1, inactive: 4, dormant: 1, steps: { deactivate: 1, activate: 1 }, recentlyActive: 0 });
  });

  it('without it, never touches an inactive contact', () => {
    const p = plan('', contacts, snap);
    expect(outcome(p)).toStrictEqual({ steps: ['deactivate Sleeping'], excluded: {} });
  });

  it('lists an inactive contact that traded but is filtered out as excluded, with the filter as the reason', () => {
    const p = plan(`reactivate: true\nfilters:\n  deny: ["${id(20)}"]\n`, contacts, snap);
    expect(p.steps.map((s) => s.contactName)).toStrictEqual(['Sleeping']);
    expect(p.excluded.map((e) => [e.contactName, e.reasons])).toStrictEqual([['Came back', ['denied']]]);
    expect(p.summary.excluded).toStrictEqual({ denied: 1 });
  });

  it('is refused when the snapshot read only active contacts', () => {
    const policy = policyOf('reactivate: true\n');
    const message = `The policy re-activates contacts, but snapshot ${SNAPSHOT_ID} read only active contacts. Scan again with this policy.`;
    expect(() => checkSnapshotFits(policy, snapshot({ statuses: 'active' }))).toThrow(new PlanInputError(message));
    expect(() => planContacts(policy, policyText('reactivate: true\n'), snapshot({ statuses: 'active' }), [])).toThrow(PlanInputError);
    expect(() => checkSnapshotFits(policyOf(), snapshot({ statuses: 'active' }))).not.toThrow();
  });
});

describe('checkSnapshotFits', () => {
  it('accepts a snapshot of the organization that read far enough back and every counted type', () => {
    expect(() => checkSnapshotFits(policyOf(), snapshot())).not.toThrow();
    expect(() => checkSnapshotFits(policyOf(), snapshot({ cutoffDate: '2020-01-01', statuses: 'active' }))).not.toThrow();
  });

  it('refuses a snapshot of another organization', () => {
    const message = `The policy is for organization ${ORG} but the snapshot ${SNAPSHOT_ID} is of organization 20000001. Scan that organization first.`;
    expect(() => checkSnapshotFits(policyOf(), snapshot({ organizationId: '20000001' }))).toThrow(new PlanInputError(message));
    expect(() => planContacts(policyOf(), policyText(), snapshot({ organizationId: '20000001' }), [contact(1)])).toThrow(PlanInputError);
  });

  it('refuses a snapshot whose cutoff is more recent than the policy needs, even by a day', () => {
    expect(() => checkSnapshotFits(policyOf(), snapshot({ cutoffDate: '2025-11-21' }))).toThrow(new PlanInputError(
      `The policy looks for activity since 2024-11-21, but snapshot ${SNAPSHOT_ID} only read activity since 2025-11-21. Scan again with this policy.`,
    ));
    expect(() => checkSnapshotFits(policyOf(), snapshot({ cutoffDate: '2024-11-22' }))).toThrow(PlanInputError);
    expect(() => checkSnapshotFits(policyOf(), snapshot({ cutoffDate: '2024-11-21' }))).not.toThrow();
    // A 1-year policy can use a snapshot read for 24 months.
    expect(() => checkSnapshotFits(policyOf('inactivity: 1 year\n'), snapshot())).not.toThrow();
  });

  it('refuses a snapshot that did not read every activity type the policy counts', () => {
    const types = TRANSACTION_TYPE_NAMES.filter((t) => t !== 'estimates' && t !== 'vendorcredits');
    expect(() => checkSnapshotFits(policyOf(), snapshot({ activityTypes: types }))).toThrow(new PlanInputError(
      `The policy counts estimates, vendorcredits as activity, but snapshot ${SNAPSHOT_ID} did not read them. Scan again with this policy.`,
    ));
    expect(() => checkSnapshotFits(policyOf('activity:\n  customer: [invoices]\n  vendor: [bills]\n'), snapshot({ activityTypes: ['invoices', 'bills'] }))).not.toThrow();
  });

  it('accepts the snapshot a scan makes for a policy limited to one contact type', () => {
    // scan() reads only the activity types of the contact types the policy applies to.
    const policy = policyOf('filters:\n  contact_type: customer\n');
    expect(activityTypesFor(policy)).toStrictEqual(['invoices', 'salesorders', 'salesreceipts', 'customerpayments', 'creditnotes', 'estimates']);
    expect(() => checkSnapshotFits(policy, snapshot({ activityTypes: activityTypesFor(policy) }))).not.toThrow();
  });
});

describe('evidence', () => {
  it('carries the last activity, the window, the creation time, the status and the balances in currency units', () => {
    const p = plan('', [contact(30, {
      contactName: 'Bolt Freight GmbH',
      contactType: 'vendor',
      createdAt: Date.UTC(2021, 6, 9, 14, 5, 9, 450),
      payableCents: 123_456,
      creditsPayableCents: 2_550,
      receivableCents: 0,
      creditsReceivableCents: 0,
      ...traded('2024-02-29', 'bills', 3),
    })], { cutoffDate: '2023-11-21' });
    expect(p.excluded).toStrictEqual([{
      contactId: id(30), contactName: 'Bolt Freight GmbH', contactType: 'vendor', reasons: ['open_balance', 'unused_credits'],
      detail: 'owes 0.00 / is owed 1234.56; unused credits 25.50',
      evidence: {
        rule: 'open_balance',
        lastActivityDate: '2024-02-29',
        lastActivityType: 'bills',
        lastActivityNumber: null,
        activitySince: '2024-11-21',
        wholeHistory: false,
        createdTime: '2021-07-09T14:05:09+0000',
        status: 'active',
        receivable: 0,
        payable: 1234.56,
        unusedCreditsReceivable: 0,
        unusedCreditsPayable: 25.5,
      },
    }]);
  });

  // The defect: a customer whose 7 invoices ended on 2024-04-02 read "Last activity: none seen", like
  // one that never traded. From a snapshot of the whole history, the evidence says which.
  it('shows a dormant contact\'s real last activity (date, type, number) and says "never traded" only when the whole history was read', () => {
    const full = { history: 'full' as const, historyTypes: [...TRANSACTION_TYPE_NAMES] };
    const sandstone = contact(40, {
      contactName: 'Sandstone Packaging Group', lastActivityDate: '2024-04-02', lastActivityType: 'invoices', lastActivityId: '3185434000009000007',
      lastActivityNumber: 'INV-000107', activityCount: 0, activityByType: { invoices: '2024-04-02', customerpayments: '2024-03-15' },
      documentByType: { invoices: { id: '3185434000009000007', number: 'INV-000107' }, customerpayments: { id: '3185434000009000008', number: 'PAY-000031' } },
      history: { invoices: [7, 812_000], customerpayments: [6, 700_000] },
    });
    const never = contact(41, { contactName: 'Never Traded Ltd', activityByType: {}, documentByType: {}, history: {} });
    const p = plan('', [sandstone, never], full);
    const byName = new Map(p.steps.map((st) => [st.contactName, st.evidence]));
    expect(byName.get('Sandstone Packaging Group')).toMatchObject({ lastActivityDate: '2024-04-02', lastActivityType: 'invoices', lastActivityNumber: 'INV-000107', wholeHistory: true });
    expect(describeLastActivity(byName.get('Sandstone Packaging Group')!)).toBe('invoice INV-000107 on 2024-04-02');
    expect(byName.get('Never Traded Ltd')).toMatchObject({ lastActivityDate: null, lastActivityType: null, lastActivityNumber: null, wholeHistory: true });
    expect(describeLastActivity(byName.get('Never Traded Ltd')!)).toBe('never traded');

    // A policy counting only payments shows the latest payment, with its own number.
    const payments = planContacts(policyOf('activity:\n  customer: [customerpayments]\n'), policyText('activity:\n  customer: [customerpayments]\n'), snapshot(full), [sandstone]);
    expect(describeLastActivity(payments.steps[0]!.evidence)).toBe('customer payment PAY-000031 on 2024-03-15');

    // From a snapshot of the window only (made before whole histories were read), it cannot tell: it says so.
    const windowOnly = plan('', [contact(42, { contactName: 'Window Only' })]);
    expect(describeLastActivity(windowOnly.steps[0]!.evidence)).toBe(`none since ${CUTOFF} (earlier history not read)`);
  });

  it('serves any inactivity window from a snapshot of the whole history, and still refuses one missing a counted type', () => {
    const full = { history: 'full' as const, historyTypes: ['invoices', 'bills'] as TransactionType[], activityTypes: ['invoices', 'bills'] as TransactionType[], cutoffDate: '2026-01-01' };
    // Read since 2026-01-01 in the window sense, but the whole history was read: a 24-month policy fits.
    expect(() => planContacts(policyOf('activity:\n  customer: [invoices]\n  vendor: [bills]\n'), policyText(), snapshot(full), [])).not.toThrow();
    expect(() => planContacts(policyOf(), policyText(), snapshot(full), [])).toThrow(PlanInputError);
  });
});

describe('the histogram', () => {
  it('buckets kept contacts by whole months since their last activity, and the rest under "none"', () => {
    const p = plan('', [
      contact(1, { ...traded('2026-11-10', 'invoices') }), // 11 days: month 0
      contact(2, { ...traded('2026-06-01', 'salesorders') }), // 173 days: month 5
      contact(3, { ...traded('2025-11-20', 'customerpayments') }), // 366 days: month 12
      contact(4, { ...traded('2024-11-21', 'creditnotes') }), // on the cutoff, 730 days: month 23
      contact(5, { contactType: 'vendor', ...traded('2026-10-21', 'bills') }), // 31 days: month 1
      contact(6), // dormant: none, deactivate
      contact(7, { receivableCents: 10 }), // dormant, excluded: none
      contact(8, { status: 'inactive' }), // not in the histogram
      contact(9, { status: 'inactive', ...traded('2026-10-01', 'invoices') }), // not in the histogram
    ]);
    expect(p.summary.histogram).toStrictEqual(histogram(24, {
      0: { kept: 1 }, 1: { kept: 1 }, 5: { kept: 1 }, 12: { kept: 1 }, 23: { kept: 1 }, none: { deactivate: 1, excluded: 1 },
    }));
    expect(sum(p.summary.histogram, 'kept')).toBe(p.summary.recentlyActive);
    expect(sum(p.summary.histogram, 'deactivate')).toBe(p.summary.steps.deactivate);
    expect(sum(p.summary.histogram, 'excluded')).toBe(p.excluded.length);
    expect(p.summary).toMatchObject({ contactsConsidered: 9, active: 7, inactive: 2, dormant: 2, recentlyActive: 5 });
  });

  it('has one bucket per month of the window, and at least one', () => {
    expect(plan('inactivity: 90 days\n', []).summary.histogram.map((b) => b.label)).toStrictEqual(['0', '1', '2', 'none']);
    expect(plan('inactivity: 1 year\n', []).summary.histogram.map((b) => b.label)).toHaveLength(13);
    expect(plan('inactivity: 1 week\n', []).summary.histogram.map((b) => b.label)).toStrictEqual(['0', 'none']);
  });

  it('moves the contacts over the cap from "deactivate" to "excluded"', () => {
    const p = plan('max_changes: 1\n', [contact(1), contact(2), contact(3)]);
    expect(p.summary.histogram.at(-1)).toStrictEqual({ label: 'none', deactivate: 1, excluded: 2, kept: 0 });
  });
});

describe('determinism', () => {
  const mixed = (): SnapshotContact[] => [
    contact(1, { contactName: 'Dormant 2016', createdAt: Date.UTC(2016, 1, 1) }),
    contact(2, { contactName: 'Dormant 2015', createdAt: Date.UTC(2015, 1, 1), contactType: 'vendor' }),
    contact(3, { contactName: 'Active', ...traded('2026-02-02', 'invoices') }),
    contact(4, { contactName: 'Owes', receivableCents: 700 }),
    contact(5, { contactName: 'Denied' }),
    contact(6, { contactName: 'Dormant 2017', createdAt: Date.UTC(2017, 1, 1), tags: ['Channel: Online'] }),
    contact(7, { contactName: 'Dormant 2014', createdAt: Date.UTC(2014, 1, 1) }),
    contact(8, { contactName: 'Gone', status: 'inactive' }),
  ];
  const body = `filters:\n  deny: ["${id(5)}"]\nmax_changes: 3\n`;

  it('gives deep-equal plans with the same planId for the same inputs', () => {
    const a = plan(body, mixed());
    const b = plan(body, mixed());
    expect(b).toStrictEqual(a);
    expect(b.planId).toBe(a.planId);
    expect(a.steps.map((s) => s.contactName)).toStrictEqual(['Dormant 2014', 'Dormant 2015', 'Dormant 2016']);
  });

  it('gives the same plan whatever the order of the contacts', () => {
    const a = plan(body, mixed());
    expect(plan(body, mixed().reverse())).toStrictEqual(a);
    const rotated = mixed();
    rotated.push(...rotated.splice(0, 3));
    expect(plan(body, rotated)).toStrictEqual(a);
  });

  it('gives the same plan whatever the order of the contacts when it re-activates too', () => {
    const contacts = [
      ...mixed(),
      contact(9, { contactName: 'Back 9', status: 'inactive', ...traded('2026-03-03', 'invoices') }),
      contact(10, { contactName: 'Back 10', status: 'inactive', ...traded('2026-04-04', 'bills'), contactType: 'vendor' }),
    ];
    const text = 'reactivate: true\nmax_changes: 4\n';
    const a = plan(text, contacts);
    const b = plan(text, [...contacts].reverse());
    expect(b.steps).toStrictEqual(a.steps);
    expect(b.planId).toBe(a.planId);
  });

  it('gives another planId for another policy or another snapshot, even with the same steps', () => {
    const a = plan(body, mixed());
    const otherPolicy = plan(`filters:\n  deny: ["${id(5)}"]\nmax_changes: 3\nsafety:\n  unused_credits: false\n`, mixed());
    expect(otherPolicy.steps).toStrictEqual(a.steps);
    expect(otherPolicy.planId).not.toBe(a.planId);
    const otherSnapshot = plan(body, mixed(), { snapshotId: 'snap_0000000002' });
    expect(otherSnapshot.steps).toStrictEqual(a.steps);
    expect(otherSnapshot.planId).not.toBe(a.planId);
    expect(plan('max_changes: 2\n', mixed()).planId).not.toBe(a.planId);
  });

  it('does not change its inputs', () => {
    const contacts = mixed();
    const policy = policyOf(body);
    const snap = snapshot();
    const before = JSON.stringify({ contacts, policy, snap });
    planContacts(policy, policyText(body), snap, contacts);
    expect(JSON.stringify({ contacts, policy, snap })).toBe(before);
  });
});

describe('properties over random snapshots', () => {
  const CUSTOMER_TYPES: TransactionType[] = ['invoices', 'salesorders', 'salesreceipts', 'customerpayments', 'creditnotes', 'estimates'];
  const VENDOR_TYPES: TransactionType[] = ['bills', 'purchaseorders', 'vendorpayments', 'vendorcredits'];
  const money = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5_000_000 }));
  const contactArb = fc.record({
    n: fc.integer({ min: 1, max: 60 }),
    vendor: fc.boolean(),
    inactive: fc.boolean(),
    createdDaysAgo: fc.integer({ min: 0, max: 4000 }),
    createdMs: fc.integer({ min: 0, max: DAY - 1 }),
    receivable: money,
    payable: money,
    creditsR: money,
    creditsP: money,
    activity: fc.option(fc.record({ daysAgo: fc.integer({ min: 0, max: 1096 }), type: fc.nat(), count: fc.integer({ min: 1, max: 9 }) }), { nil: undefined }),
    name: fc.constantFrom('Acme Corp', 'Test account', 'Bolt 7', 'Northwind', 'Zed (old)'),
    tags: fc.subarray(['Channel: Online', 'Channel: Retail', 'Priority: High']),
    region: fc.option(fc.constantFrom('North', 'South', ''), { nil: undefined }),
    crm: fc.constantFrom('none', 'account', 'contact'),
  });
  const policyArb = fc.record({
    inactivity: fc.constantFrom('24 months', '12 months', '90 days', '2 years', '6 weeks'),
    customer: fc.subarray(CUSTOMER_TYPES, { minLength: 1 }),
    vendor: fc.subarray(VENDOR_TYPES, { minLength: 1 }),
    openBalance: fc.boolean(),
    unusedCredits: fc.boolean(),
    grace: fc.constantFrom('none', '90 days', '30 days', '1 year'),
    contactTypes: fc.constantFrom(['customer', 'vendor'], ['customer'], ['vendor']),
    crm: fc.constantFrom('any', 'linked', 'unlinked'),
    nameExclude: fc.boolean(),
    tagsInclude: fc.boolean(),
    tagsExclude: fc.boolean(),
    region: fc.option(fc.constantFrom<Record<string, unknown>>({ not: ['South'] }, { in: ['North'] }, { empty: false }), { nil: undefined }),
    deny: fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 5 }),
    allow: fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 45 }), { nil: undefined }),
    maxChanges: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
    reactivate: fc.boolean(),
  });

  it('keeps every contact at most once, steps only where they belong, reasons on every exclusion, and a summary that matches the lists', () => {
    fc.assert(
      fc.property(policyArb, fc.uniqueArray(contactArb, { selector: (c) => c.n, maxLength: 40 }), (pa, raw) => {
        const policyJson = JSON.stringify({
          organization_id: ORG,
          inactivity: pa.inactivity,
          activity: { customer: pa.customer, vendor: pa.vendor },
          safety: { open_balance: pa.openBalance, unused_credits: pa.unusedCredits, grace_period: pa.grace },
          filters: {
            contact_type: pa.contactTypes,
            crm: pa.crm,
            name: { exclude: pa.nameExclude ? ['Test*'] : [] },
            tags: { include: pa.tagsInclude ? ['Channel'] : [], exclude: pa.tagsExclude ? ['Priority'] : [] },
            custom_fields: pa.region ? { cf_region: pa.region } : {},
            deny: pa.deny.map(id),
            ...(pa.allow ? { allow: pa.allow.map(id) } : {}),
          },
          ...(pa.maxChanges !== undefined ? { max_changes: pa.maxChanges } : {}),
          reactivate: pa.reactivate,
        });
        const policy = parsePolicy(policyJson, 'random.json');
        const readTypes = [...pa.customer, ...pa.vendor];
        const contacts: SnapshotContact[] = raw.map((r) => contact(r.n, {
          contactName: r.name,
          contactType: r.vendor ? 'vendor' : 'customer',
          status: r.inactive ? 'inactive' : 'active',
          createdAt: TAKEN_AT - r.createdDaysAgo * DAY - r.createdMs,
          receivableCents: r.receivable,
          payableCents: r.payable,
          creditsReceivableCents: r.creditsR,
          creditsPayableCents: r.creditsP,
          tags: r.tags,
          customFields: r.region === undefined ? {} : { cf_region: r.region },
          zcrmAccountId: r.crm === 'account' ? '4876876000000123001' : '',
          zcrmContactId: r.crm === 'contact' ? '4876876000000456002' : '',
          ...(r.activity
            ? traded(new Date(TAKEN_AT - r.activity.daysAgo * DAY).toISOString().slice(0, 10), readTypes[r.activity.type % readTypes.length]!, r.activity.count)
            : {}),
        }));
        const snap = snapshot({ cutoffDate: '2023-11-21', activityTypes: readTypes });
        const p = planContacts(policy, policyJson, snap, contacts);
        const byId = new Map(contacts.map((c) => [c.contactId, c]));
        const counted = (c: SnapshotContact): boolean =>
          c.lastActivityDate !== undefined && c.lastActivityDate >= p.cutoffDate && c.lastActivityType !== undefined && policy.activity[c.contactType].includes(c.lastActivityType);

        // Every contact at most once across steps and exclusions, and only contacts of the snapshot.
        const ids = [...p.steps.map((s) => s.contactId), ...p.excluded.map((e) => e.contactId)];
        expect(new Set(ids).size).toBe(ids.length);
        for (const i of ids) expect(byId.has(i)).toBe(true);

        for (const s of p.steps) {
          const c = byId.get(s.contactId)!;
          expect(s.evidence.status).toBe(c.status);
          if (s.action === 'deactivate') {
            expect(c.status).toBe('active');
            expect(counted(c)).toBe(false);
            expect(s.evidence.rule).toBe('dormant');
          } else {
            expect(policy.reactivate).toBe(true);
            expect(c.status).toBe('inactive');
            expect(counted(c)).toBe(true);
            expect(s.evidence.rule).toBe('reactivate');
          }
        }
        if (policy.maxChanges !== undefined) expect(p.steps.length).toBeLessThanOrEqual(policy.maxChanges);

        for (const e of p.excluded) {
          expect(e.reasons.length).toBeGreaterThan(0);
          expect(new Set(e.reasons).size).toBe(e.reasons.length);
          expect(e.evidence.rule).toBe(e.reasons[0]);
          expect(counted(byId.get(e.contactId)!) && e.evidence.status === 'active').toBe(false);
        }

        // The summary matches the lists.
        const s = p.summary;
        expect(s.contactsConsidered).toBe(contacts.length);
        expect(s.active).toBe(contacts.filter((c) => c.status === 'active').length);
        expect(s.inactive).toBe(contacts.filter((c) => c.status === 'inactive').length);
        expect(s.steps.deactivate).toBe(p.steps.filter((x) => x.action === 'deactivate').length);
        expect(s.steps.activate).toBe(p.steps.filter((x) => x.action === 'activate').length);
        expect(s.recentlyActive).toBe(contacts.filter((c) => c.status === 'active' && counted(c)).length);
        const reasonCounts: Partial<Record<ExclusionReason, number>> = {};
        for (const e of p.excluded) for (const r of e.reasons) reasonCounts[r] = (reasonCounts[r] ?? 0) + 1;
        expect(s.excluded).toStrictEqual(reasonCounts);
        const activeExcluded = p.excluded.filter((e) => e.evidence.status === 'active').length;
        expect(s.dormant).toBe(s.steps.deactivate + activeExcluded);
        expect(sum(s.histogram, 'deactivate')).toBe(s.steps.deactivate);
        expect(sum(s.histogram, 'excluded')).toBe(activeExcluded);
        expect(sum(s.histogram, 'kept')).toBe(s.recentlyActive);
        for (const b of s.histogram) {
          expect(b.deactivate).toBeGreaterThanOrEqual(0);
          expect(b.excluded).toBeGreaterThanOrEqual(0);
        }

        // Exclusions are listed in contact-id order.
        const excludedIds = p.excluded.map((e) => e.contactId);
        expect(excludedIds).toStrictEqual([...excludedIds].sort());

        // The same inputs give the same plan.
        expect(planContacts(policy, policyJson, snap, contacts)).toStrictEqual(p);
      }),
      { numRuns: 300, seed: 20261121 },
    );
  });
});
