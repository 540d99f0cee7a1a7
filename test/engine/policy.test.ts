/**
 * The policy parser (src/engine/policy.ts): defaults, every key and form, the JSON form, the
 * starter file, and refusals with the file, line, column, dotted path and what to write instead.
 * Pure: no I/O, no clock.
 */
import { describe, expect, it } from 'vitest';
import {
  defaultPolicyText, globToRegExp, parseDuration, parsePolicy, PolicyError, subtractDuration,
  type Duration, type Policy, type PolicyProblem,
} from '../../src/engine/policy.js';

const ORG = '10234695';
const ORG_LINE = `organization_id: "${ORG}"\n`;
const QUOTED_ID_HINT = ' — ids are strings (Zoho ids have up to 19 digits and lose precision as numbers)';
const TOP_ALLOWED = 'allowed here: organization_id, inactivity, activity, safety, filters, max_changes, reactivate';
const SAFETY_ALLOWED = 'allowed here: open_balance, unused_credits, grace_period';
const CUSTOMER_TYPES_HINT = 'use invoices, salesorders, estimates, creditnotes, customerpayments, salesreceipts';
const DURATION_HINT = 'is not a duration; write e.g. "24 months", "2 years" or "90 days"';

/** The policy every key of which is left out. */
function defaults(organizationId = ORG): Policy {
  return {
    organizationId,
    inactivity: { amount: 24, unit: 'months', text: '24 months' },
    activity: {
      customer: ['invoices', 'salesorders', 'salesreceipts', 'customerpayments', 'creditnotes', 'estimates'],
      vendor: ['bills', 'purchaseorders', 'vendorpayments', 'vendorcredits'],
    },
    safety: { openBalance: true, unusedCredits: true, gracePeriod: { amount: 90, unit: 'days', text: '90 days' } },
    filters: {
      contactTypes: ['customer', 'vendor'],
      customFields: {},
      tags: { include: [], exclude: [] },
      name: { include: [], exclude: [] },
      crm: 'any',
      allow: undefined,
      deny: [],
    },
    maxChanges: undefined,
    reactivate: false,
  };
}

/** The PolicyError a text raises (fails the test when it parses). */
function refusal(text: string, file = 'policy.yaml'): PolicyError {
  try {
    parsePolicy(text, file);
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error(`expected a PolicyError for:\n${text}`);
}

const problemsOf = (text: string): PolicyProblem[] => refusal(text).problems;

describe('defaults', () => {
  it('fills every omitted key with its default', () => {
    expect(parsePolicy(ORG_LINE)).toStrictEqual(defaults());
  });

  it('keeps the defaults of the keys left out of a section', () => {
    const policy = parsePolicy(`${ORG_LINE}safety:\n  open_balance: false\nfilters:\n  crm: linked\n`);
    expect(policy.safety).toStrictEqual({ openBalance: false, unusedCredits: true, gracePeriod: { amount: 90, unit: 'days', text: '90 days' } });
    expect(policy.filters).toStrictEqual({ ...defaults().filters, crm: 'linked' });
    expect(policy.activity).toStrictEqual(defaults().activity);
  });

  it('replaces only the activity list of the contact type given', () => {
    const policy = parsePolicy(`${ORG_LINE}activity:\n  vendor: [bills]\n`);
    expect(policy.activity).toStrictEqual({ customer: defaults().activity.customer, vendor: ['bills'] });
  });

  it('accepts the starter file of defaultPolicyText as it is', () => {
    const text = defaultPolicyText('20000001');
    const expected = defaults('20000001');
    expected.filters.customFields = { cf_do_not_sunset: { not: ['true'] } };
    expected.maxChanges = 1000;
    expect(parsePolicy(text, 'sunset.policy.yaml')).toStrictEqual(expected);
  });
});

describe('durations', () => {
  const cases: Array<[string, Duration]> = [
    ['90 days', { amount: 90, unit: 'days', text: '90 days' }],
    ['1 day', { amount: 1, unit: 'days', text: '1 day' }],
    ['45d', { amount: 45, unit: 'days', text: '45 days' }],
    ['6 weeks', { amount: 6, unit: 'weeks', text: '6 weeks' }],
    ['1 week', { amount: 1, unit: 'weeks', text: '1 week' }],
    ['2 w', { amount: 2, unit: 'weeks', text: '2 weeks' }],
    ['18 months', { amount: 18, unit: 'months', text: '18 months' }],
    ['1 month', { amount: 1, unit: 'months', text: '1 month' }],
    ['9mo', { amount: 9, unit: 'months', text: '9 months' }],
    ['2 years', { amount: 2, unit: 'years', text: '2 years' }],
    ['1 year', { amount: 1, unit: 'years', text: '1 year' }],
    ['3y', { amount: 3, unit: 'years', text: '3 years' }],
    ['24 MONTHS', { amount: 24, unit: 'months', text: '24 months' }],
    ['  12   Months ', { amount: 12, unit: 'months', text: '12 months' }],
  ];

  it.each(cases)('parseDuration(%j)', (text, expected) => {
    expect(parseDuration(text)).toStrictEqual(expected);
  });

  it.each(cases)('inactivity: %j in a policy', (text, expected) => {
    expect(parsePolicy(`${ORG_LINE}inactivity: "${text}"\n`).inactivity).toStrictEqual(expected);
  });

  it.each(['24 moths', '24', 'months', '1.5 years', '-3 days', '3 m', '123456 days', '2 years 3 months', ''])(
    'parseDuration(%j) is not a duration',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  it('subtracts days and weeks as exact spans and months and years by the calendar (UTC)', () => {
    const now = Date.UTC(2026, 10, 21, 9, 30);
    expect(subtractDuration(now, { amount: 90, unit: 'days', text: '90 days' })).toBe(Date.UTC(2026, 7, 23, 9, 30));
    expect(subtractDuration(now, { amount: 2, unit: 'weeks', text: '2 weeks' })).toBe(Date.UTC(2026, 10, 7, 9, 30));
    expect(subtractDuration(now, { amount: 24, unit: 'months', text: '24 months' })).toBe(Date.UTC(2024, 10, 21, 9, 30));
    expect(subtractDuration(now, { amount: 14, unit: 'months', text: '14 months' })).toBe(Date.UTC(2025, 8, 21, 9, 30));
    expect(subtractDuration(now, { amount: 3, unit: 'years', text: '3 years' })).toBe(Date.UTC(2023, 10, 21, 9, 30));
  });

  it('clamps a calendar month to its last day instead of overflowing into the next month', () => {
    // 31 March minus one month is 28 February, not 3 March (which would shorten the window).
    expect(subtractDuration(Date.UTC(2026, 2, 31), { amount: 1, unit: 'months', text: '1 month' })).toBe(Date.UTC(2026, 1, 28));
    // 29 February 2028 minus two years is 28 February 2026, not 1 March 2026.
    expect(subtractDuration(Date.UTC(2028, 1, 29), { amount: 2, unit: 'years', text: '2 years' })).toBe(Date.UTC(2026, 1, 28));
  });
});

describe('globToRegExp', () => {
  it('matches * and ? over the whole name, ignoring case', () => {
    const re = globToRegExp('Acme*');
    expect(re.test('ACME Corp')).toBe(true);
    expect(re.test('acme')).toBe(true);
    expect(re.test('The Acme Corp')).toBe(false);
    const q = globToRegExp('Test ?');
    expect(q.test('test 1')).toBe(true);
    expect(q.test('Test 10')).toBe(false);
    expect(q.test('Test ')).toBe(false);
  });

  it('takes every other character literally', () => {
    expect(globToRegExp('A.B (old)').test('A.B (old)')).toBe(true);
    expect(globToRegExp('A.B (old)').test('AxB (old)')).toBe(false);
    expect(globToRegExp('[x]+$').test('[x]+$')).toBe(true);
    expect(globToRegExp('[x]+$').test('x')).toBe(false);
  });
});

describe('every key and form', () => {
  const yaml = `organization_id: "${ORG}"
inactivity: 18 months
activity:
  customer: [invoices, customerpayments]
  vendor: bills
safety:
  open_balance: false
  unused_credits: false
  grace_period: 30 days
filters:
  contact_type: [customer]
  custom_fields:
    cf_region: North
    cf_tier: { equals: 2 }
    cf_do_not_sunset: { not: ["true", "yes"] }
    cf_segment: { in: [retail, wholesale] }
    cf_channel: { in: web }
    cf_vat_number: { empty: true }
    cf_account_manager: { empty: false }
    cf_notes:
  tags:
    include: ["Channel: Online", Priority]
    exclude: "Status: Disputed"
  name:
    include: ["Acme*", "Bolt ?"]
    exclude: "* (old)"
  crm: unlinked
  allow: ["3185434000000001581", "3185434000000001582"]
  deny: "3185434000000001599"
max_changes: 250
reactivate: true
`;
  const expected: Policy = {
    organizationId: ORG,
    inactivity: { amount: 18, unit: 'months', text: '18 months' },
    activity: { customer: ['invoices', 'customerpayments'], vendor: ['bills'] },
    safety: { openBalance: false, unusedCredits: false, gracePeriod: { amount: 30, unit: 'days', text: '30 days' } },
    filters: {
      contactTypes: ['customer'],
      customFields: {
        cf_region: { equals: 'North' },
        cf_tier: { equals: '2' },
        cf_do_not_sunset: { not: ['true', 'yes'] },
        cf_segment: { in: ['retail', 'wholesale'] },
        cf_channel: { in: ['web'] },
        cf_vat_number: { empty: true },
        cf_account_manager: { empty: false },
        cf_notes: { empty: true },
      },
      tags: { include: ['Channel: Online', 'Priority'], exclude: ['Status: Disputed'] },
      name: { include: ['Acme*', 'Bolt ?'], exclude: ['* (old)'] },
      crm: 'unlinked',
      allow: ['3185434000000001581', '3185434000000001582'],
      deny: ['3185434000000001599'],
    },
    maxChanges: 250,
    reactivate: true,
  };

  it('parses a YAML policy that uses every key', () => {
    expect(parsePolicy(yaml, 'acme.yaml')).toStrictEqual(expected);
  });

  it('parses the same policy written as JSON to the same Policy', () => {
    const json = JSON.stringify({
      organization_id: ORG,
      inactivity: '18 months',
      activity: { customer: ['invoices', 'customerpayments'], vendor: 'bills' },
      safety: { open_balance: false, unused_credits: false, grace_period: '30 days' },
      filters: {
        contact_type: ['customer'],
        custom_fields: {
          cf_region: 'North',
          cf_tier: { equals: 2 },
          cf_do_not_sunset: { not: ['true', 'yes'] },
          cf_segment: { in: ['retail', 'wholesale'] },
          cf_channel: { in: 'web' },
          cf_vat_number: { empty: true },
          cf_account_manager: { empty: false },
          cf_notes: null,
        },
        tags: { include: ['Channel: Online', 'Priority'], exclude: 'Status: Disputed' },
        name: { include: ['Acme*', 'Bolt ?'], exclude: '* (old)' },
        crm: 'unlinked',
        allow: ['3185434000000001581', '3185434000000001582'],
        deny: '3185434000000001599',
      },
      max_changes: 250,
      reactivate: true,
    }, null, 2);
    expect(parsePolicy(json, 'acme.json')).toStrictEqual(expected);
    expect(parsePolicy(json, 'acme.json')).toStrictEqual(parsePolicy(yaml, 'acme.yaml'));
  });

  it('takes contact_type as a single string', () => {
    expect(parsePolicy(`${ORG_LINE}filters:\n  contact_type: vendor\n`).filters.contactTypes).toStrictEqual(['vendor']);
    expect(parsePolicy(`${ORG_LINE}filters:\n  contact_type: [vendor, customer]\n`).filters.contactTypes).toStrictEqual(['vendor', 'customer']);
  });

  it.each([
    ['0', { amount: 0, unit: 'days', text: 'none' }],
    ['"0"', { amount: 0, unit: 'days', text: 'none' }],
    ['none', { amount: 0, unit: 'days', text: 'none' }],
    ['2 weeks', { amount: 2, unit: 'weeks', text: '2 weeks' }],
    ['6mo', { amount: 6, unit: 'months', text: '6 months' }],
  ] as Array<[string, Duration]>)('grace_period: %s', (written, expected) => {
    expect(parsePolicy(`${ORG_LINE}safety:\n  grace_period: ${written}\n`).safety.gracePeriod).toStrictEqual(expected);
  });

  it.each(['any', 'linked', 'unlinked'] as const)('crm: %s', (crm) => {
    expect(parsePolicy(`${ORG_LINE}filters:\n  crm: ${crm}\n`).filters.crm).toBe(crm);
  });

  it('takes allow and deny as single strings or lists, and an empty allow list as "no contact"', () => {
    const one = parsePolicy(`${ORG_LINE}filters:\n  allow: "3185434000000001581"\n  deny: ["3185434000000001582", "318543400000000"]\n`);
    expect(one.filters.allow).toStrictEqual(['3185434000000001581']);
    expect(one.filters.deny).toStrictEqual(['3185434000000001582', '318543400000000']);
    expect(parsePolicy(`${ORG_LINE}filters:\n  allow: []\n`).filters.allow).toStrictEqual([]);
  });

  it('reads max_changes and reactivate', () => {
    expect(parsePolicy(`${ORG_LINE}max_changes: 1\nreactivate: false\n`)).toMatchObject({ maxChanges: 1, reactivate: false });
    expect(parsePolicy(`${ORG_LINE}max_changes: 5000\nreactivate: true\n`)).toMatchObject({ maxChanges: 5000, reactivate: true });
  });

  it('accepts the keys in any order, and comments', () => {
    const policy = parsePolicy(`# a comment\nmax_changes: 3 # at most three\ninactivity: 1 year\n${ORG_LINE}`);
    expect(policy).toStrictEqual({ ...defaults(), maxChanges: 3, inactivity: { amount: 1, unit: 'years', text: '1 year' } });
  });
});

describe('refusals: one problem', () => {
  it('names the line, column and key of an unknown key, with a "did you mean" for another spelling of a known key', () => {
    expect(problemsOf(`${ORG_LINE}maxChanges: 5\n`)).toStrictEqual([
      { line: 2, column: 1, path: 'maxChanges', message: `unknown key "maxChanges" (did you mean "max_changes"?); ${TOP_ALLOWED}` },
    ]);
    expect(problemsOf(`${ORG_LINE}safety:\n  unused-credits: false\n`)).toStrictEqual([
      { line: 3, column: 3, path: 'safety.unused-credits', message: `unknown key "unused-credits" (did you mean "unused_credits"?); ${SAFETY_ALLOWED}` },
    ]);
    expect(problemsOf(`${ORG_LINE}colour: blue\n`)).toStrictEqual([
      { line: 2, column: 1, path: 'colour', message: `unknown key "colour"; ${TOP_ALLOWED}` },
    ]);
  });

  it('suggests the key a misspelt key was meant to be', () => {
    // A misspelt safety rule is the mistake the strict keys are there for; the hint should name it.
    const [problem] = problemsOf(`${ORG_LINE}safety:\n  grace_peroid: 30 days\n`);
    expect(problem).toMatchObject({ line: 3, column: 3, path: 'safety.grace_peroid' });
    expect(problem?.message).toContain('did you mean "grace_period"?');
    expect(problemsOf(`${ORG_LINE}inactivty: 2 years\n`)[0]?.message).toContain('did you mean "inactivity"?');
  });

  it('refuses an unknown key inside filters and tags', () => {
    expect(problemsOf(`${ORG_LINE}filters:\n  tags:\n    includes: [VIP]\n`)).toStrictEqual([
      { line: 4, column: 5, path: 'filters.tags.includes', message: 'unknown key "includes" (did you mean "include"?); allowed here: include, exclude' },
    ]);
  });

  it('asks for an unquoted organization id to be quoted', () => {
    expect(problemsOf('organization_id: 10234695\n')).toStrictEqual([
      { line: 1, column: 18, path: 'organization_id', message: `an organization id must be quoted: write "10234695"${QUOTED_ID_HINT}` },
    ]);
  });

  it('requires an organization id made of digits', () => {
    expect(problemsOf('inactivity: 2 years\n')).toStrictEqual([
      { line: 1, column: 1, path: 'organization_id', message: 'organization_id is required: the Zoho organization this policy is for, as a quoted string' },
    ]);
    expect(problemsOf('organization_id: "acme-books"\n')).toStrictEqual([
      { line: 1, column: 18, path: 'organization_id', message: '"acme-books" is not a Zoho organization id (digits only)' },
    ]);
  });

  it('asks for an unquoted contact id to be quoted, quoting the digits as written', () => {
    const problems = problemsOf(`${ORG_LINE}filters:\n  deny: [3185434000000001581]\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 3, column: 10, path: 'filters.deny[0]' });
    expect(problems[0]?.message).toContain('must be quoted');
    // A 19-digit number loses its last digits as a JavaScript number: the hint must not name another contact.
    expect(problems[0]?.message).toContain('write "3185434000000001581"');
  });

  it('refuses an id that is not a Zoho contact id', () => {
    expect(problemsOf(`${ORG_LINE}filters:\n  allow: ["12345"]\n`)).toStrictEqual([
      { line: 3, column: 11, path: 'filters.allow[0]', message: '"12345" is not a Zoho contact id (15 to 19 digits, quoted)' },
    ]);
  });

  it('points at the list item that is wrong when an earlier item is also wrong', () => {
    const problems = problemsOf(`${ORG_LINE}filters:\n  allow: [3185434000000001581, "12345"]\n`);
    expect(problems.map((p) => [p.line, p.column, p.path])).toStrictEqual([
      [3, 11, 'filters.allow[0]'],
      [3, 32, 'filters.allow[1]'],
    ]);
    expect(problems[1]?.message).toBe('"12345" is not a Zoho contact id (15 to 19 digits, quoted)');
  });

  it('points at the transaction type that is wrong when an earlier item is not text', () => {
    const problems = problemsOf(`${ORG_LINE}activity:\n  customer: [7, invoice]\n`);
    const unknown = problems.find((p) => p.message.startsWith('unknown transaction type'));
    expect(unknown).toStrictEqual({ line: 3, column: 17, path: 'activity.customer[1]', message: `unknown transaction type "invoice"; ${CUSTOMER_TYPES_HINT}` });
  });

  it('refuses a bad duration with what to write', () => {
    expect(problemsOf(`${ORG_LINE}inactivity: 24 moths\n`)).toStrictEqual([
      { line: 2, column: 13, path: 'inactivity', message: `"24 moths" ${DURATION_HINT}` },
    ]);
    expect(problemsOf(`${ORG_LINE}inactivity: 24\n`)).toStrictEqual([
      { line: 2, column: 13, path: 'inactivity', message: `24 ${DURATION_HINT}` },
    ]);
    expect(problemsOf(`${ORG_LINE}inactivity: 0 days\n`)).toStrictEqual([
      { line: 2, column: 13, path: 'inactivity', message: `"0 days" ${DURATION_HINT}` },
    ]);
    expect(problemsOf(`${ORG_LINE}safety:\n  grace_period: forever\n`)).toStrictEqual([
      { line: 3, column: 17, path: 'safety.grace_period', message: `"forever" ${DURATION_HINT}` },
    ]);
  });

  it('refuses an unknown transaction type, naming the valid ones', () => {
    expect(problemsOf(`${ORG_LINE}activity:\n  customer: [invoices, invoice]\n`)).toStrictEqual([
      { line: 3, column: 24, path: 'activity.customer[1]', message: `unknown transaction type "invoice"; ${CUSTOMER_TYPES_HINT}` },
    ]);
    expect(problemsOf(`${ORG_LINE}activity:\n  vendor: expenses\n`)).toStrictEqual([
      { line: 3, column: 11, path: 'activity.vendor', message: 'unknown transaction type "expenses"; use bills, purchaseorders, vendorpayments, vendorcredits' },
    ]);
  });

  it('refuses a transaction type of the other contact type', () => {
    expect(problemsOf(`${ORG_LINE}activity:\n  customer:\n    - invoices\n    - bills\n`)).toStrictEqual([
      { line: 5, column: 7, path: 'activity.customer[1]', message: '"bills" belongs to vendors, not customers' },
    ]);
    expect(problemsOf(`${ORG_LINE}activity:\n  vendor: [estimates]\n`)).toStrictEqual([
      { line: 3, column: 12, path: 'activity.vendor[0]', message: '"estimates" belongs to customers, not vendors' },
    ]);
  });

  it('refuses an empty activity list and an unknown contact type under activity', () => {
    expect(problemsOf(`${ORG_LINE}activity:\n  customer: []\n`)).toStrictEqual([
      { line: 3, column: 13, path: 'activity.customer', message: 'name at least one transaction type, or every contact of this type would look dormant' },
    ]);
    expect(problemsOf(`${ORG_LINE}activity:\n  supplier: [bills]\n`)).toStrictEqual([
      { line: 3, column: 3, path: 'activity.supplier', message: 'unknown key "supplier"; allowed here: customer, vendor' },
    ]);
  });

  it('refuses a bad contact_type', () => {
    expect(problemsOf(`${ORG_LINE}filters:\n  contact_type: [customer, supplier]\n`)).toStrictEqual([
      { line: 3, column: 17, path: 'filters.contact_type', message: 'unknown contact type "supplier"; use customer or vendor' },
    ]);
    expect(problemsOf(`${ORG_LINE}filters:\n  contact_type: both\n`)).toStrictEqual([
      { line: 3, column: 17, path: 'filters.contact_type', message: 'unknown contact type "both"; use customer or vendor' },
    ]);
  });

  it.each(['0', '1.5', '-3', '"10"', 'lots', '10000001', '99999999999999999999'])('refuses max_changes: %s', (written) => {
    expect(problemsOf(`${ORG_LINE}max_changes: ${written}\n`)).toStrictEqual([
      { line: 2, column: 14, path: 'max_changes', message: 'expected a whole number of changes, from 1 to 10000000' },
    ]);
  });

  it('refuses a flag that is not true or false (YAML 1.2: "no" is text)', () => {
    expect(problemsOf(`${ORG_LINE}safety:\n  open_balance: no\n`)).toStrictEqual([
      { line: 3, column: 17, path: 'safety.open_balance', message: 'expected true or false' },
    ]);
    expect(problemsOf(`${ORG_LINE}reactivate: "true"\n`)).toStrictEqual([
      { line: 2, column: 13, path: 'reactivate', message: 'expected true or false' },
    ]);
  });

  it('refuses a bad crm value', () => {
    expect(problemsOf(`${ORG_LINE}filters:\n  crm: yes\n`)).toStrictEqual([
      { line: 3, column: 8, path: 'filters.crm', message: 'expected any, linked or unlinked' },
    ]);
  });

  it('refuses a custom field condition with two operators, and a custom field named without cf_', () => {
    expect(problemsOf(`${ORG_LINE}filters:\n  custom_fields:\n    cf_region: { in: [North], not: [South] }\n`)).toStrictEqual([
      { line: 4, column: 16, path: 'filters.custom_fields.cf_region', message: 'give exactly one of equals, not, in, empty' },
    ]);
    expect(problemsOf(`${ORG_LINE}filters:\n  custom_fields:\n    region: { equals: North }\n`)).toStrictEqual([
      { line: 4, column: 5, path: 'filters.custom_fields.region', message: 'custom fields are named by their api name, like cf_region (got "region")' },
    ]);
  });

  it('refuses a custom field named without cf_ in the short form too', () => {
    expect(problemsOf(`${ORG_LINE}filters:\n  custom_fields:\n    region: North\n`)).toStrictEqual([
      { line: 4, column: 5, path: 'filters.custom_fields.region', message: 'custom fields are named by their api name, like cf_region (got "region")' },
    ]);
  });

  it('refuses a section that is not a mapping', () => {
    expect(problemsOf(`${ORG_LINE}safety: true\n`)).toStrictEqual([
      { line: 2, column: 9, path: 'safety', message: 'expected a mapping (key: value lines)' },
    ]);
    expect(problemsOf(`${ORG_LINE}filters:\n  custom_fields: [cf_region]\n`)).toStrictEqual([
      { line: 3, column: 18, path: 'filters.custom_fields', message: 'expected a mapping of custom field api names (cf_...) to conditions' },
    ]);
  });

  it.each([
    ['a list', '- organization_id: "10234695"\n'],
    ['a scalar', 'just some text\n'],
    ['an empty file', ''],
    ['a JSON array', '[{"organization_id": "10234695"}]'],
  ])('refuses a document that is %s', (_what, text) => {
    expect(problemsOf(text)).toStrictEqual([
      { line: 1, column: 1, path: '', message: 'a policy is a mapping of keys such as organization_id, inactivity, safety, filters' },
    ]);
  });
});

describe('refusals: malformed YAML and JSON at their line', () => {
  it('reports malformed YAML at the line and column of the fault', () => {
    const problems = problemsOf(`${ORG_LINE}safety:\n\topen_balance: true\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 3, column: 1, path: '' });
    expect(problems[0]?.message).toMatch(/^not valid YAML or JSON: Tabs are not allowed as indentation/);
  });

  it('reports malformed JSON at the line and column of the fault', () => {
    const problems = problemsOf(`{\n  "organization_id": "${ORG}"\n  "inactivity": "24 months"\n}\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 3, column: 3, path: '' });
    expect(problems[0]?.message).toMatch(/^not valid YAML or JSON: Missing , between flow map items/);
  });

  it('reports a duplicate key at the line of its second occurrence', () => {
    const top = problemsOf(`${ORG_LINE}inactivity: 24 months\nmax_changes: 10\ninactivity: 12 months\n`);
    expect(top).toHaveLength(1);
    expect(top[0]).toMatchObject({ line: 4, column: 1, path: '' });
    expect(top[0]?.message).toMatch(/^not valid YAML or JSON: Map keys must be unique/);
    const nested = problemsOf(`${ORG_LINE}safety:\n  open_balance: true\n  open_balance: false\n`);
    expect(nested.map((p) => [p.line, p.column])).toStrictEqual([[4, 3]]);
  });

  it('does not go on to check the content of a document that is not well-formed', () => {
    // The unquoted id on line 1 is not reported: the file is refused for its syntax alone.
    const problems = problemsOf('organization_id: 10234695\ninactivity: [24 months\nmax_changes: 5\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe('');
    expect(problems[0]?.message).toMatch(/^not valid YAML or JSON: /);
  });
});

describe('refusals: several problems at once', () => {
  const text = `organization_id: 10234695
inactivity: 24 moths
activity:
  customer: [invoices, bills, invoice]
safety:
  unused-credits: true
filters:
  contact_type: [customer, supplier]
  crm: yes
max_changes: 1.5
`;
  const expected: PolicyProblem[] = [
    { line: 1, column: 18, path: 'organization_id', message: `an organization id must be quoted: write "10234695"${QUOTED_ID_HINT}` },
    { line: 2, column: 13, path: 'inactivity', message: `"24 moths" ${DURATION_HINT}` },
    { line: 4, column: 24, path: 'activity.customer[1]', message: '"bills" belongs to vendors, not customers' },
    { line: 4, column: 31, path: 'activity.customer[2]', message: `unknown transaction type "invoice"; ${CUSTOMER_TYPES_HINT}` },
    { line: 6, column: 3, path: 'safety.unused-credits', message: `unknown key "unused-credits" (did you mean "unused_credits"?); ${SAFETY_ALLOWED}` },
    { line: 8, column: 17, path: 'filters.contact_type', message: 'unknown contact type "supplier"; use customer or vendor' },
    { line: 9, column: 8, path: 'filters.crm', message: 'expected any, linked or unlinked' },
    { line: 10, column: 14, path: 'max_changes', message: 'expected a whole number of changes, from 1 to 10000000' },
  ];

  it('lists every problem, in file order', () => {
    const error = refusal(text, 'policies/acme.yaml');
    expect(error).toBeInstanceOf(PolicyError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('PolicyError');
    expect(error.file).toBe('policies/acme.yaml');
    expect(error.problems).toStrictEqual(expected);
  });

  it('formats each problem as FILE:LINE:COL: path: message, one a line', () => {
    expect(refusal(text, 'policies/acme.yaml').message.split('\n')).toStrictEqual(
      expected.map((p) => `policies/acme.yaml:${p.line}:${p.column}: ${p.path}: ${p.message}`),
    );
    expect(refusal(text, 'policies/acme.yaml').message.split('\n')[0]).toBe(
      `policies/acme.yaml:1:18: organization_id: an organization id must be quoted: write "10234695"${QUOTED_ID_HINT}`,
    );
  });

  it('sorts problems by line even when keys are checked in another order', () => {
    const problems = problemsOf(`max_changes: 0\nreactivate: maybe\nfilters:\n  crm: all\nsafety:\n  open_balance: 1\n${ORG_LINE}inactivity: soon\n`);
    expect(problems.map((p) => `${p.line}:${p.column} ${p.path}`)).toStrictEqual([
      '1:14 max_changes',
      '2:13 reactivate',
      '4:8 filters.crm',
      '6:17 safety.open_balance',
      '8:13 inactivity',
    ]);
  });

  it('leaves out the path for a problem with the whole document', () => {
    expect(refusal('[]', 'p.json').message).toBe('p.json:1:1: a policy is a mapping of keys such as organization_id, inactivity, safety, filters');
  });

  it('uses "policy" as the file name when none is given', () => {
    let caught: unknown;
    try {
      parsePolicy('organization_id: 1\n');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PolicyError);
    expect((caught as PolicyError).message).toBe(`policy:1:18: organization_id: an organization id must be quoted: write "1"${QUOTED_ID_HINT}`);
  });
});
