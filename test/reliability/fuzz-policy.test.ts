/**
 * Bad input, part 1: the policy parser (src/engine/policy.ts `parsePolicy`), property-based with
 * fast-check on a fixed, printed seed. Whatever text it is given — random YAML-ish token soup,
 * random JSON, valid policies with characters flipped, deleted or inserted, values swapped for
 * wrong types, huge numbers, unicode, deep nesting, duplicate keys, anchors and alias "billion
 * laughs" — `parsePolicy` either returns a Policy that keeps the Policy invariants, or throws a
 * PolicyError whose every problem has a line, a column and a message. Never another exception.
 * Inputs are bounded (at most 12,000 characters) so a hang would show as a test timeout, not a slow CI.
 *
 * PolicyError's problems come in file order and each is one line of output (`FILE:LINE:COL: ...`).
 *
 * Round trips that hold by design and are checked here: a Policy written back as YAML or as JSON
 * parses to the same Policy (for generated policies and for every fuzzed text that was accepted);
 * comments and blank lines change nothing; a wrong value on one line of the starter file is
 * reported on that line; and a mapping, list or alias put into any list is reported on its line.
 *
 * Found and fixed (regressions below): YAML errors were listed in the parser's order, not the
 * file's; a mapping, list or alias inside a custom field's `in`/`not` list was read as "" (and
 * `in: ~` as the text "null"); a quoted key with a line break split a problem over two lines.
 *
 * Each property prints `[fuzz NAME] N cases tried (seed S); outcomes: ...`. `SUNSET_SOAK=1` runs
 * 20 times as many cases.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify as yamlStringify } from 'yaml';
import { defaultPolicyText, parsePolicy, PolicyError, type Duration, type FieldCondition, type Policy } from '../../src/engine/policy.js';
import { isOrganizationId, isZohoId, TRANSACTION_TYPES, type TransactionType } from '../../src/zoho/index.js';

const SOAK = process.env.SUNSET_SOAK === '1' ? 20 : 1;
const SEED = 20_260_601;
const FILE = 'fuzz.yaml';
const ORG = '10234695';
/** Upper bound of a fuzzed text, in characters: a hang would show as a timeout, not as a slow run. */
const MAX_TEXT = 12_000;

const CUSTOMER_TYPES = Object.values(TRANSACTION_TYPES).filter((t) => t.contactType === 'customer').map((t) => t.type);
const VENDOR_TYPES = Object.values(TRANSACTION_TYPES).filter((t) => t.contactType === 'vendor').map((t) => t.type);

/** A policy text using every key (the docs' example, comments and all). */
const FULL_POLICY = `organization_id: "${ORG}"      # required; quoted: ids are strings
inactivity: 24 months
activity:
  customer: [invoices, salesorders, salesreceipts, customerpayments, creditnotes, estimates]
  vendor: [bills, purchaseorders, vendorpayments, vendorcredits]
safety:
  open_balance: true
  unused_credits: true
  grace_period: 90 days
filters:
  contact_type: [customer, vendor]
  crm: any
  custom_fields:
    cf_do_not_sunset: { not: ["true"] }
    cf_region: { in: [North, South] }
    cf_segment: Retail
    cf_owner: { empty: false }
  tags: { include: ["Channel: Online"], exclude: ["VIP"] }
  name: { include: ["*"], exclude: ["Test *", "*(internal)"] }
  allow: ["3185434000000001581"]
  deny: ["3185434000000001582"]
max_changes: 1000
reactivate: false
`;
/** The same policy as JSON. */
const FULL_POLICY_JSON = JSON.stringify({
  organization_id: ORG, inactivity: '24 months',
  activity: { customer: CUSTOMER_TYPES, vendor: VENDOR_TYPES },
  safety: { open_balance: true, unused_credits: true, grace_period: '90 days' },
  filters: {
    contact_type: ['customer', 'vendor'], crm: 'any',
    custom_fields: { cf_do_not_sunset: { not: ['true'] }, cf_region: { in: ['North', 'South'] }, cf_segment: 'Retail', cf_owner: { empty: false } },
    tags: { include: ['Channel: Online'], exclude: ['VIP'] }, name: { include: ['*'], exclude: ['Test *', '*(internal)'] },
    allow: ['3185434000000001581'], deny: ['3185434000000001582'],
  },
  max_changes: 1000, reactivate: false,
}, null, 2);
const STARTERS = [defaultPolicyText(ORG), FULL_POLICY, FULL_POLICY_JSON];

// ---------------------------------------------------------------------------------------------
// Writing a Policy back as a policy file (the inverse the round trips use)
// ---------------------------------------------------------------------------------------------

function durationText(d: Duration): string {
  return d.amount === 0 ? 'none' : d.text;
}

function conditionValue(c: FieldCondition): unknown {
  if ('equals' in c) return { equals: c.equals };
  if ('not' in c) return { not: c.not };
  if ('in' in c) return { in: c.in };
  return { empty: c.empty };
}

/** The plain object of a policy file that says exactly `p`. */
function policyObject(p: Policy): Record<string, unknown> {
  const filters: Record<string, unknown> = {
    contact_type: p.filters.contactTypes,
    custom_fields: Object.fromEntries(Object.entries(p.filters.customFields).map(([k, c]) => [k, conditionValue(c)])),
    tags: p.filters.tags,
    name: p.filters.name,
    crm: p.filters.crm,
    deny: p.filters.deny,
  };
  if (p.filters.allow !== undefined) filters.allow = p.filters.allow;
  const out: Record<string, unknown> = {
    organization_id: p.organizationId,
    inactivity: durationText(p.inactivity),
    activity: p.activity,
    safety: { open_balance: p.safety.openBalance, unused_credits: p.safety.unusedCredits, grace_period: durationText(p.safety.gracePeriod) },
    filters,
    reactivate: p.reactivate,
  };
  if (p.maxChanges !== undefined) out.max_changes = p.maxChanges;
  return out;
}

const asYaml = (p: Policy): string => yamlStringify(policyObject(p));
const asJson = (p: Policy): string => JSON.stringify(policyObject(p), null, 2);

// ---------------------------------------------------------------------------------------------
// The checks every outcome must pass
// ---------------------------------------------------------------------------------------------

/** What a returned Policy must always be, whatever the text was. */
function expectPolicyInvariants(p: Policy, shown: string): void {
  expect(isOrganizationId(p.organizationId), shown).toBe(true);
  for (const d of [p.inactivity, p.safety.gracePeriod]) {
    expect(Number.isInteger(d.amount) && d.amount >= 0 && d.amount <= 99_999, shown).toBe(true);
    expect(['days', 'weeks', 'months', 'years'], shown).toContain(d.unit);
  }
  expect(p.inactivity.amount, shown).toBeGreaterThan(0);
  for (const [type, list] of [['customer', CUSTOMER_TYPES], ['vendor', VENDOR_TYPES]] as const) {
    expect(p.activity[type].length, shown).toBeGreaterThan(0);
    for (const t of p.activity[type]) expect(list as readonly string[], shown).toContain(t);
  }
  for (const t of p.filters.contactTypes) expect(['customer', 'vendor'], shown).toContain(t);
  expect(['any', 'linked', 'unlinked'], shown).toContain(p.filters.crm);
  for (const id of [...(p.filters.allow ?? []), ...p.filters.deny]) expect(isZohoId(id), `${shown}\nid ${JSON.stringify(id)}`).toBe(true);
  for (const [name, c] of Object.entries(p.filters.customFields)) {
    expect(name, shown).toMatch(/^cf_[a-z0-9_]+$/i);
    expect(Object.keys(c), shown).toHaveLength(1);
  }
  for (const s of [...p.filters.tags.include, ...p.filters.tags.exclude, ...p.filters.name.include, ...p.filters.name.exclude]) {
    expect(typeof s === 'string' && s !== '' && s === s.trim(), shown).toBe(true);
  }
  if (p.maxChanges !== undefined) expect(Number.isInteger(p.maxChanges) && p.maxChanges >= 1 && p.maxChanges <= 10_000_000, shown).toBe(true);
  expect(typeof p.reactivate, shown).toBe('boolean');
}

function lineCount(text: string): number {
  return text.split(/\r\n|\r|\n/).length;
}

type Outcome = 'policy' | 'syntax' | 'validation';

/**
 * Parses `text` and checks the outcome: a Policy keeping its invariants and surviving the
 * YAML and JSON round trip, or a PolicyError naming FILE:LINE:COL for every problem, in file order.
 * Any other exception fails the property.
 */
function check(text: string): Outcome {
  const shown = `input (${text.length} chars): ${JSON.stringify(text.slice(0, 600))}`;
  let policy: Policy;
  try {
    policy = parsePolicy(text, FILE);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw new Error(`parsePolicy threw ${String(error)} (not a PolicyError)\n${shown}`, { cause: error });
    expect(error.file, shown).toBe(FILE);
    expect(error.problems.length, shown).toBeGreaterThan(0);
    // Plain checks per problem (a file can have thousands), one assertion for all of them.
    const lines = lineCount(text);
    const wrong = error.problems.filter((p) => !(
      Number.isInteger(p.line) && p.line >= 1 && p.line <= lines
      && Number.isInteger(p.column) && p.column >= 1
      && typeof p.message === 'string' && p.message.trim() !== '' && !/\[object |undefined|NaN/.test(p.message)
      && typeof p.path === 'string'
    ));
    expect(wrong, `${shown}\nproblems without a line (1..${lines}), a column or a message`).toEqual([]);
    const inOrder = error.problems.every((p, i, all) => i === 0 || all[i - 1]!.line < p.line || (all[i - 1]!.line === p.line && all[i - 1]!.column <= p.column));
    expect(inOrder, `${shown}\nproblems are not in file order: ${JSON.stringify(error.problems.slice(0, 10))}`).toBe(true);
    const messageLines = error.message.split('\n');
    expect(messageLines.length, `${shown}\none line per problem`).toBe(error.problems.length);
    expect(/[\r\u0085\u2028\u2029]/.test(error.message), `${shown}\na line break inside a problem`).toBe(false);
    expect(messageLines.filter((l) => !/^fuzz\.yaml:\d+:\d+: /.test(l)), shown).toEqual([]);
    return error.problems.every((p) => p.message.startsWith('not valid YAML or JSON')) ? 'syntax' : 'validation';
  }
  expectPolicyInvariants(policy, shown);
  // What was accepted says the same thing written back as YAML and as JSON.
  expect(parsePolicy(asYaml(policy), 'again.yaml'), `${shown}\nYAML round trip`).toStrictEqual(policy);
  expect(parsePolicy(asJson(policy), 'again.json'), `${shown}\nJSON round trip`).toStrictEqual(policy);
  // And the same text again gives the same Policy.
  expect(parsePolicy(text, FILE), shown).toStrictEqual(policy);
  return 'policy';
}

function summary(counts: Map<string, number>): string {
  return [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}×${n}`).join(' ');
}

// ---------------------------------------------------------------------------------------------
// Arbitraries: random texts, and mutations of valid ones
// ---------------------------------------------------------------------------------------------

const KEYS = [
  'organization_id', 'inactivity', 'activity', 'safety', 'filters', 'max_changes', 'reactivate', 'customer', 'vendor',
  'open_balance', 'unused_credits', 'grace_period', 'contact_type', 'custom_fields', 'tags', 'name', 'crm', 'allow', 'deny',
  'include', 'exclude', 'equals', 'not', 'in', 'empty', 'cf_region', 'cf_x', '__proto__', 'constructor', 'toString',
];

/** A value of any type, as YAML text: the wrong types, huge numbers, unicode, tags, aliases. */
const yamlValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '"10234695"', '10234695', '"3185434000000001581"', '3185434000000001581', '31854340000000015819999', '"12345678901234567890"',
    '24 months', '"24 months"', '0 days', '99999 years', '100000 days', '-3 days', '1.5 years', 'none', '0', '"0"', '-0', '.inf', '-.inf', '.nan',
    '1e308', '1e309', '-1e400', '9007199254740993', '0x1F', '0o17', '1_000', '00012', '+12', 'true', 'false', 'True', 'yes', 'no', 'on', 'off', '~', 'null', '""', "''",
    '[]', '{}', '[[[]]]', '{a: {b: {c: 1}}}', '[invoices, bills]', '[customer, vendor, partner]', '["3185434000000001581", 42]',
    'any', 'linked', 'unlinked', 'ANY', '*', '"Tag: opt"', '{ not: ["true"] }', '{ in: [a, b], not: [c] }', '{ empty: maybe }', '{ equals: [1] }',
    '!!binary aGVsbG8=', '!!str 5', '!!int "x"', '!!float abc', '!!map {a: 1}', '!!seq [1]', '!!set {a, b}', '!!omap [a: 1]', '!!timestamp 2001-12-14', '!custom x', '!<tag:yaml.org,2002:str> y',
    '&anchor value', '*anchor', '*nowhere', '&a [*a]', '<<: {a: 1}', '|\n  block\n  text', '>\n  folded', '"\\u0000\\x01\\uFFFF"', '"\\uD800"',
    '日本語', '🙂🙃', 'Ω≈ç√', '\u202Eevil', 'ẞ', '١٢٣٤٥٦٧٨٩٠١٢٣٤٥', '３１８５４３４０００００００００１５８１',
  ),
  fc.integer().map(String),
  fc.double().map((d) => String(d)),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.string({ maxLength: 30, unit: 'binary' }).map((s) => JSON.stringify(s)),
  fc.string({ maxLength: 30, unit: 'grapheme' }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
);

/** YAML-ish token soup: structure characters, keys, indentation, anchors, tags and values. */
const tokenSoup: fc.Arbitrary<string> = fc.array(fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KEYS).map((k) => `${k}: `) },
  { weight: 4, arbitrary: yamlValue },
  { weight: 5, arbitrary: fc.constantFrom('\n', '\n  ', '\n    ', '\n- ', '\n  - ', '\r\n', '\r', '\t', ' ', ': ', ':', '- ', '-', ', ', ',') },
  { weight: 3, arbitrary: fc.constantFrom('[', ']', '{', '}', '"', "'", '#', '# comment', '&a ', '*a', '&b ', '*b', '!!str ', '!!', '!', '? ', '|', '>', '---', '...', '%YAML 1.2', '%TAG ! tag:x,2000:', '@', '`', '\\', '\u0000', '\uFEFF', '\u2028', '\u0085') },
), { maxLength: 120 }).map((parts) => parts.join(''));

/** JSON of a random shape, or an object with the policy's keys holding random values. */
const jsonText: fc.Arbitrary<string> = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.dictionary(fc.constantFrom(...KEYS), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 9 }).map((o) => JSON.stringify({ organization_id: ORG, ...o })),
  fc.dictionary(fc.constantFrom(...KEYS), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 9 }).map((o) => yamlStringify(o)),
);

/** Nesting deep enough to exhaust a recursive parser's stack (flow and block forms), still bounded in size. */
const deepNesting: fc.Arbitrary<string> = fc.tuple(fc.integer({ min: 1, max: 2000 }), fc.constantFrom('[', '{a: ', '- ', '{"a":', 'a:\n'))
  .map(([n, open]) => {
    // Block sequences nest on one line (`- - - x`); block mappings need a line each (quadratic: capped).
    if (open === '- ') return `organization_id: "${ORG}"\nfilters:\n  allow:\n    ${open.repeat(n)}x\n`;
    if (open === 'a:\n') return `organization_id: "${ORG}"\n${Array.from({ length: Math.min(n, 200) }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1\n`;
    const close = open === '[' ? ']' : '}';
    return `organization_id: "${ORG}"\nfilters:\n  allow: ${open.repeat(n)}"3185434000000001581"${close.repeat(n)}\n`;
  });

/** "Billion laughs": each anchor aliases the previous one `fan` times, `depth` levels deep, used where a value goes. */
const aliasBomb: fc.Arbitrary<string> = fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 2, max: 12 }), fc.constantFrom('filters:\n  allow: ', 'activity:\n  customer: ', 'max_changes: ', 'filters:\n  custom_fields:\n    cf_x: ', 'x: ', 'filters:\n  tags:\n    include: '))
  .map(([depth, fan, use]) => {
    const lines = [`organization_id: "${ORG}"`, `l0: &l0 ["lol", "3185434000000001581"]`];
    for (let i = 1; i <= depth; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: fan }, () => `*l${i - 1}`).join(', ')}]`);
    lines.push(`${use}*l${depth}`);
    return `${lines.join('\n')}\n`;
  });

type Mutation =
  | { kind: 'flip'; at: number; ch: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'duplicate-line'; at: number }
  | { kind: 'swap-lines'; at: number; other: number }
  | { kind: 'indent'; at: number; by: number }
  | { kind: 'value'; at: number; value: string }
  | { kind: 'huge'; times: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), ch: fc.oneof(fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }), fc.constantFrom(':', '-', '"', "'", '[', ']', '{', '}', '#', '&', '*', '!', '\n', '\t', ' ', '0', '9', 'x')) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(tokenSoup.map((s) => s.slice(0, 80)), yamlValue, fc.string({ maxLength: 10, unit: 'binary' })) }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap-lines' as const), at: fc.nat(), other: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), at: fc.nat(), by: fc.integer({ min: -4, max: 6 }) }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('value' as const), at: fc.nat(), value: yamlValue }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('huge' as const), times: fc.integer({ min: 2, max: 6 }) }) },
);

function mutate(text: string, m: Mutation): string {
  const lines = text.split('\n');
  const line = (at: number): number => at % Math.max(lines.length, 1);
  switch (m.kind) {
    case 'flip': {
      if (text.length === 0) return m.ch;
      const i = m.at % text.length;
      return text.slice(0, i) + m.ch + text.slice(i + 1);
    }
    case 'delete': {
      const i = m.at % (text.length + 1);
      return text.slice(0, i) + text.slice(i + m.length);
    }
    case 'insert': {
      const i = m.at % (text.length + 1);
      return text.slice(0, i) + m.text + text.slice(i);
    }
    case 'duplicate-line': {
      const i = line(m.at);
      lines.splice(i, 0, lines[i] ?? '');
      return lines.join('\n');
    }
    case 'swap-lines': {
      const i = line(m.at);
      const j = line(m.other);
      [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
      return lines.join('\n');
    }
    case 'indent': {
      const i = line(m.at);
      const l = lines[i] ?? '';
      lines[i] = m.by >= 0 ? ' '.repeat(m.by) + l : l.replace(new RegExp(`^ {0,${-m.by}}`), '');
      return lines.join('\n');
    }
    case 'value': {
      // The value after the first `: ` of a line (the key kept): a wrong type, a huge number, unicode...
      const withValue = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\s*[\w"]+"?\s*:\s*\S/.test(l));
      if (withValue.length === 0) return text;
      const [l, i] = withValue[m.at % withValue.length]!;
      const colon = l.indexOf(':');
      lines[i] = `${l.slice(0, colon)}: ${m.value}`;
      return lines.join('\n');
    }
    case 'huge': {
      // The file repeated: every key duplicated many times (bounded).
      return text.repeat(m.times).slice(0, MAX_TEXT);
    }
  }
}

const mutatedPolicy: fc.Arbitrary<string> = fc.tuple(fc.constantFrom(...STARTERS), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([start, ms]) => ms.reduce(mutate, start).slice(0, MAX_TEXT));

const anyText: fc.Arbitrary<{ source: string; text: string }> = fc.oneof(
  { weight: 2, arbitrary: fc.string({ maxLength: 300, unit: 'binary' }).map((text) => ({ source: 'random', text })) },
  { weight: 3, arbitrary: tokenSoup.map((text) => ({ source: 'token soup', text })) },
  { weight: 2, arbitrary: jsonText.map((text) => ({ source: 'json', text })) },
  { weight: 8, arbitrary: mutatedPolicy.map((text) => ({ source: 'mutated', text })) },
  { weight: 1, arbitrary: deepNesting.map((text) => ({ source: 'deep nesting', text })) },
  { weight: 1, arbitrary: aliasBomb.map((text) => ({ source: 'alias bomb', text })) },
);

// ---------------------------------------------------------------------------------------------
// Generated valid policies (for the round trip)
// ---------------------------------------------------------------------------------------------

const duration: fc.Arbitrary<Duration> = fc.tuple(fc.integer({ min: 1, max: 99_999 }), fc.constantFrom('days', 'weeks', 'months', 'years') as fc.Arbitrary<Duration['unit']>)
  .map(([amount, unit]) => ({ amount, unit, text: `${amount} ${amount === 1 ? unit.slice(0, -1) : unit}` }));
/** A pattern or tag: any text, non-empty and without surrounding whitespace (the parser trims). */
const trimmedText = fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }).filter((s) => s.trim() === s && s !== '');
const anyCellText = fc.string({ maxLength: 20, unit: 'grapheme' });
const zohoId = fc.stringMatching(/^[0-9]{15,19}$/);
const condition: fc.Arbitrary<FieldCondition> = fc.oneof(
  anyCellText.map((equals) => ({ equals })),
  fc.array(anyCellText, { maxLength: 4 }).map((not) => ({ not })),
  fc.array(anyCellText, { maxLength: 4 }).map((values) => ({ in: values })),
  fc.boolean().map((empty) => ({ empty })),
);
/** fc.record with ordinary objects (toStrictEqual tells a null-prototype object apart). */
function rec<T>(shape: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(shape, { noNullPrototype: true }) as fc.Arbitrary<T>;
}
const patterns = rec<{ include: string[]; exclude: string[] }>({ include: fc.array(trimmedText, { maxLength: 3 }), exclude: fc.array(trimmedText, { maxLength: 3 }) });
const validPolicy: fc.Arbitrary<Policy> = rec<Policy>({
  organizationId: fc.stringMatching(/^[0-9]{1,19}$/),
  inactivity: duration,
  activity: rec<Policy['activity']>({
    customer: fc.array(fc.constantFrom(...CUSTOMER_TYPES), { minLength: 1, maxLength: 8 }) as fc.Arbitrary<TransactionType[]>,
    vendor: fc.array(fc.constantFrom(...VENDOR_TYPES), { minLength: 1, maxLength: 6 }) as fc.Arbitrary<TransactionType[]>,
  }),
  safety: rec<Policy['safety']>({
    openBalance: fc.boolean(),
    unusedCredits: fc.boolean(),
    gracePeriod: fc.oneof(duration, fc.constant<Duration>({ amount: 0, unit: 'days', text: 'none' })),
  }),
  filters: rec<Policy['filters']>({
    contactTypes: fc.subarray(['customer', 'vendor'] as Array<'customer' | 'vendor'>),
    customFields: fc.dictionary(fc.stringMatching(/^cf_[a-zA-Z0-9_]{1,12}$/), condition, { maxKeys: 4, noNullPrototype: true }),
    tags: patterns,
    name: patterns,
    crm: fc.constantFrom('any', 'linked', 'unlinked') as fc.Arbitrary<Policy['filters']['crm']>,
    allow: fc.option(fc.array(zohoId, { maxLength: 4 }), { nil: undefined }),
    deny: fc.array(zohoId, { maxLength: 4 }),
  }),
  maxChanges: fc.option(fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 10_000_000 })), { nil: undefined }),
  reactivate: fc.boolean(),
});

// ---------------------------------------------------------------------------------------------

describe('the policy parser under bad input (property-based, fixed seed)', () => {
  const runs = 2000 * SOAK;
  it(`${runs} random and mutated texts (seed ${SEED}): a Policy that round-trips, or a PolicyError with a line and column for every problem`, () => {
    let cases = 0;
    const outcomes = new Map<string, number>();
    const sources = new Map<string, number>();
    fc.assert(
      fc.property(anyText, ({ source, text }) => {
        cases++;
        const outcome = check(text);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        sources.set(`${source}/${outcome}`, (sources.get(`${source}/${outcome}`) ?? 0) + 1);
      }),
      { seed: SEED, numRuns: runs },
    );
    console.log(`[fuzz policy] ${cases} cases tried (seed ${SEED}); outcomes: ${summary(outcomes)} (by source: ${summary(sources)})`);
    expect(cases).toBeGreaterThanOrEqual(runs);
    // The fuzz reaches every outcome: some mutated files still parse, most are refused.
    expect(outcomes.get('policy') ?? 0).toBeGreaterThan(runs / 100);
    expect(outcomes.get('syntax') ?? 0).toBeGreaterThan(runs / 20);
    expect(outcomes.get('validation') ?? 0).toBeGreaterThan(runs / 20);
  });

  it('regressions: deep nesting and alias bombs are refused with a line and column, not a crash or a hang', () => {
    const cases = [
      `organization_id: "${ORG}"\nfilters:\n  allow: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`,
      `organization_id: "${ORG}"\nfilters: ${'{a: '.repeat(5_000)}1${'}'.repeat(5_000)}\n`,
      `organization_id: "${ORG}"\nfilters:\n  allow:\n    ${'- '.repeat(5_000)}x\n`,
      [`organization_id: "${ORG}"`, 'l0: &l0 ["lol"]', ...Array.from({ length: 12 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(12).fill(`*l${i}`).join(', ')}]`), 'filters:\n  allow: *l12', ''].join('\n'),
      `organization_id: "${ORG}"\nfilters:\n  allow: &ids ["3185434000000001581"]\n  deny: *ids\n`,
    ];
    for (const text of cases) expect(check(text)).not.toBe('policy');
  });

  it('regression: YAML errors come in file order (the parser reports some later errors first)', () => {
    // The yaml parser reports errors by phase: these two gave 1:1 1:3 1:5 1:9 1:5 1:11 and
    // 3:14 3:15 3:20 3:22 2:1; a stack overflow from deep nesting is reported innermost first.
    // PolicyError promises file order.
    const texts = [']{- 1b: >,', `%YAML 1.2\norganization_id: "${ORG}"\nfilters: [: ,,>|a: : \n`];
    for (const n of [2000, 20_000]) texts.push(`organization_id: "${ORG}"\nfilters:\n  allow: ${'['.repeat(n)}"1"${']'.repeat(n)}\n`);
    texts.push(`organization_id: "${ORG}"\nfilters: ${'{a: '.repeat(2000)}1${'}'.repeat(2000)}\n`);
    for (const text of texts) {
      let error: unknown;
      try {
        parsePolicy(text, FILE);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PolicyError);
      const at = (error as PolicyError).problems.map((p) => [p.line, p.column]);
      expect(at).toEqual([...at].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!));
      expect(check(text)).toBe('syntax');
    }
  });
});

describe('list items of the wrong kind', () => {
  it(`a mapping, list or alias put into any list of the full policy is reported on its line, never read as a value (seed ${SEED + 4})`, () => {
    const runs = 300 * SOAK;
    const lines = FULL_POLICY.split('\n');
    // Every line holding a flow list: activity, contact_type, not/in, include/exclude, allow/deny.
    const listLines = lines.map((l, i) => [l, i] as const).filter(([l]) => /: \[|\{ (?:not|in): \[/.test(l) || /(?:include|exclude): \[/.test(l));
    expect(listLines.length).toBeGreaterThanOrEqual(9);
    let cases = 0;
    const byList = new Map<string, number>();
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.constantFrom('{ a: 1 }', '[x]', '[]', '{}', '*nowhere', '&a { b: 2 }', '!!map { c: 3 }'), (at, which, item) => {
        cases++;
        const [line, index] = listLines[at % listLines.length]!;
        // Put the item first in one of the line's lists (a line can hold two: include and exclude).
        const opens = [...line.matchAll(/\[/g)].map((m) => m.index);
        const open = opens[which % opens.length]!;
        const edited = [...lines];
        edited[index] = `${line.slice(0, open + 1)}${item}, ${line.slice(open + 1)}`;
        const text = edited.join('\n');
        let error: unknown;
        try {
          parsePolicy(text, FILE);
        } catch (e) {
          error = e;
        }
        expect(error, `${edited[index]}\nwas accepted`).toBeInstanceOf(PolicyError);
        const problems = (error as PolicyError).problems;
        expect(problems.map((p) => p.line), `${edited[index]}\n${(error as Error).message}`).toEqual(problems.map(() => index + 1));
        const key = [...line.slice(0, open + 1).matchAll(/(\w+): \[/g)].at(-1)?.[1] ?? '?';
        byList.set(key, (byList.get(key) ?? 0) + 1);
      }),
      { seed: SEED + 4, numRuns: runs },
    );
    console.log(`[fuzz policy-list-items] ${cases} cases tried (seed ${SEED + 4}); outcomes: refused on the edited line×${cases} over ${byList.size} lists (${summary(byList)})`);
  });

  it('regression: a key or value with a line break is reported on one line (it could fake another problem line)', () => {
    const text = `{"organization_id": "${ORG}", "x\\nfuzz.yaml:1:1: looks fine\\r": 1, "filters": {"allow": ["1\\u2028\\u0000"]}}`;
    let error: unknown;
    try {
      parsePolicy(text, FILE);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).message.split('\n')).toEqual([
      'fuzz.yaml:1:33: x\\nfuzz.yaml:1:1: looks fine\\r: unknown key "x\\nfuzz.yaml:1:1: looks fine\\r"; allowed here: organization_id, inactivity, activity, safety, filters, max_changes, reactivate',
      'fuzz.yaml:1:92: filters.allow[0]: "1\\u2028\\u0000" is not a Zoho contact id (15 to 19 digits, quoted)',
    ]);
    expect(check(text)).toBe('validation');
  });

  it('regression: a mapping or list inside a custom field\'s in/not list is refused, not read as ""', () => {
    for (const [cond, column] of [['{ in: [North, { a: 1 }] }', 30], ['{ not: [[true]] }', 24], ['{ in: [*nowhere] }', 23]] as const) {
      const text = `organization_id: "${ORG}"\nfilters:\n  custom_fields:\n    cf_region: ${cond}\n`;
      const problems = (() => {
        try {
          parsePolicy(text, FILE);
        } catch (e) {
          if (e instanceof PolicyError) return e.problems;
          throw e;
        }
        throw new Error(`accepted: ${cond}`);
      })();
      expect(problems.map((p) => [p.line, p.column]), cond).toEqual([[4, column]]);
    }
    // A null custom field condition value is refused like `equals: ~`, not read as the text "null".
    expect(() => parsePolicy(`organization_id: "${ORG}"\nfilters:\n  custom_fields:\n    cf_region: { in: ~ }\n`, FILE)).toThrow(PolicyError);
  });
});

describe('round trips of valid policies', () => {
  const runs = 500 * SOAK;
  it(`${runs} generated policies (seed ${SEED + 1}) written as YAML and as JSON parse back to the same Policy`, () => {
    let cases = 0;
    fc.assert(
      fc.property(validPolicy, (policy) => {
        cases++;
        const yaml = asYaml(policy);
        expect(parsePolicy(yaml, 'p.yaml'), yaml).toStrictEqual(policy);
        const json = asJson(policy);
        expect(parsePolicy(json, 'p.json'), json).toStrictEqual(policy);
      }),
      { seed: SEED + 1, numRuns: runs },
    );
    console.log(`[fuzz policy-roundtrip] ${cases} cases tried (seed ${SEED + 1}); outcomes: YAML and JSON round trip×${cases}`);
  });

  it(`comments, blank lines and trailing spaces added to the starter files change nothing (seed ${SEED + 2})`, () => {
    const runs2 = 300 * SOAK;
    let cases = 0;
    const yamlStarters = [defaultPolicyText(ORG), FULL_POLICY];
    const comment = fc.oneof(fc.constant(''), fc.constant('   '), fc.string({ maxLength: 30, unit: 'grapheme' }).map((s) => `# ${s.replace(/[\r\n\u0085\u2028\u2029]/g, ' ')}`));
    fc.assert(
      fc.property(fc.constantFrom(0, 1), fc.array(fc.tuple(fc.nat(), comment, fc.boolean()), { maxLength: 12 }), (which, inserts) => {
        cases++;
        const base = yamlStarters[which]!;
        const lines = base.split('\n');
        for (const [at, text, trailing] of inserts) {
          const i = at % lines.length;
          if (trailing && text.startsWith('#') && lines[i] !== '') lines[i] = `${lines[i]}  ${text}`;
          else lines.splice(i, 0, text);
        }
        const text = lines.join('\n');
        expect(parsePolicy(text, 'commented.yaml'), text).toStrictEqual(parsePolicy(base, 'base.yaml'));
      }),
      { seed: SEED + 2, numRuns: runs2 },
    );
    console.log(`[fuzz policy-comments] ${cases} cases tried (seed ${SEED + 2}); outcomes: same Policy×${cases}`);
  });

  it(`a wrong value on one line of the starter file is reported on that line, and only there (seed ${SEED + 3})`, () => {
    const runs3 = 300 * SOAK;
    const base = defaultPolicyText(ORG);
    const lines = base.split('\n');
    // The lines of the starter that hold one scalar or flow value after `key:`, except the custom
    // field (where almost any scalar is a valid `equals`).
    const valueLines = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\s*[a-z_]+:\s*[^\s#]/.test(l) && !l.includes('cf_'));
    expect(valueLines.length).toBeGreaterThanOrEqual(10);
    const universal = ['{ bogus_key_x: 1 }', '[[1]]', '*nowhere', '"🙂"', '-7', '0.5', 'null', '""', '1e400', '[]'];
    let cases = 0;
    const byKey = new Map<string, number>();
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom(...universal), (at, value) => {
        const [line, index] = valueLines[at % valueLines.length]!;
        const key = line.slice(0, line.indexOf(':')).trim();
        // `[]` is a valid (empty) contact_type list: everything else here is wrong for every key.
        if (value === '[]' && key === 'contact_type') return;
        cases++;
        const edited = [...lines];
        edited[index] = `${line.slice(0, line.indexOf(':'))}: ${value}`;
        const text = edited.join('\n');
        let error: unknown;
        try {
          parsePolicy(text, FILE);
        } catch (e) {
          error = e;
        }
        expect(error, text).toBeInstanceOf(PolicyError);
        const problems = (error as PolicyError).problems;
        expect(problems.map((p) => p.line), `${key}: ${value}\n${(error as Error).message}`).toEqual(problems.map(() => index + 1));
        byKey.set(key, (byKey.get(key) ?? 0) + 1);
      }),
      { seed: SEED + 3, numRuns: runs3 },
    );
    console.log(`[fuzz policy-located] ${cases} cases tried (seed ${SEED + 3}); outcomes: refused on the edited line×${cases} over ${byKey.size} keys`);
  });
});
