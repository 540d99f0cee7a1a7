/**
 * The report renderers, fed by real plans from the real planner. Contacts with hostile names
 * (markup, quotes, commas, newlines, formula starts, non-ASCII) check the escaping of every format.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { planContacts } from '../../src/engine/plan.js';
import { parsePolicy } from '../../src/engine/policy.js';
import type { AuditRow } from '../../src/engine/storage/journal.js';
import type { Evidence, InMemoryPlan as Plan, RunCounts, RunRecord, SnapshotContact, SnapshotInfo, StepRecord } from '../../src/engine/types.js';
import {
  auditToCsv, auditToJson, csvCell, csvRow, describeLastActivity, planCsvChunks, planHtmlChunks, planJsonChunks, planToCsv, planToHtml, planToJson, renderPlanText, renderRunText,
} from '../../src/engine/report/index.js';

const ORG = '600123456';
const TAKEN_AT = Date.UTC(2024, 5, 1, 9, 30, 0);
const DAY = 86_400_000;

const POLICY_TEXT = `organization_id: "${ORG}"
inactivity: 24 months
safety:
  open_balance: true
  unused_credits: true
  grace_period: 90 days
filters:
  deny: ["3185434000000001010"]
max_changes: 6
reactivate: true
`;

const SNAPSHOT: SnapshotInfo = {
  snapshotId: 'snap_test_1',
  organizationId: ORG,
  target: 'embedded',
  organizationName: '',
  currencyCode: '',
  history: 'window',
  historyTypes: [],
  historyCalls: 0,
  takenAt: TAKEN_AT,
  cutoffDate: '2022-01-01',
  activityTypes: ['invoices', 'salesorders', 'salesreceipts', 'customerpayments', 'creditnotes', 'estimates', 'bills', 'purchaseorders', 'vendorpayments', 'vendorcredits'],
  statuses: 'all',
  apiCalls: 12,
  contactCount: 17,
  transactionCount: 40,
};

function contact(n: number, name: string, over: Partial<SnapshotContact> = {}): SnapshotContact {
  return {
    contactId: `31854340000000010${String(n).padStart(2, '0')}`,
    contactName: name,
    companyName: '',
    contactType: 'customer',
    status: 'active',
    createdAt: Date.UTC(2019, 0, 1) + n * DAY,
    modifiedAt: Date.UTC(2023, 0, 1),
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

const HOSTILE_SCRIPT = '<script>alert("pwned")</script>';
const HYPERLINK = '=HYPERLINK("http://evil.example/x","click")';
const QUOTED = '-5 Acme, "Quoted" & Sons';
const MULTILINE = 'Line one\nLine two, Ltd';
const UNICODE = 'Ünïcødé 株式会社 — Café';

function activity(date: string, type: SnapshotContact['lastActivityType'] = 'invoices'): Partial<SnapshotContact> {
  return { lastActivityDate: date, lastActivityType: type, lastActivityId: '3185434000000099001', activityCount: 1 };
}

const CONTACTS: SnapshotContact[] = [
  contact(1, HOSTILE_SCRIPT),
  contact(2, HYPERLINK),
  contact(3, QUOTED, { contactType: 'vendor', receivableCents: -1250, payableCents: -99 }),
  contact(4, MULTILINE, { receivableCents: 123456 }),
  contact(5, UNICODE, { contactType: 'vendor', creditsPayableCents: 5000, createdAt: TAKEN_AT - 10 * DAY }),
  contact(6, '@admin', { createdAt: TAKEN_AT - 30 * DAY }),
  contact(7, '\tTabbed +1', activity('2022-03-01')),
  contact(8, "O'Brien & <Partners>", activity('2024-05-20')),
  contact(9, 'Recent Four', activity('2024-01-15')),
  contact(10, 'Denied Co', { receivableCents: 100 }),
  contact(11, 'Vendor Bills', { contactType: 'vendor', ...activity('2022-07-01', 'bills') }),
  contact(12, 'Back Again', { status: 'inactive', ...activity('2024-04-02') }),
  contact(13, 'Still Asleep', { status: 'inactive' }),
  contact(14, '\rCarriage', {}),
  contact(15, 'Newest Dormant', { createdAt: Date.UTC(2023, 0, 1) }),
  contact(16, 'Mid Year', activity('2023-06-10', 'estimates')),
  contact(17, '+Plus Minus-', { receivableCents: 0, payableCents: 0 }),
];

function makePlan(contacts: SnapshotContact[] = CONTACTS, policyText = POLICY_TEXT): Plan {
  return planContacts(parsePolicy(policyText), policyText, SNAPSHOT, contacts);
}

const ID = (n: number): string => `31854340000000010${String(n).padStart(2, '0')}`;

/** A strict RFC 4180 reader: CRLF records, quoted fields with doubled quotes, a final CRLF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch !== '"') cell += ch;
      else if (text[i + 1] === '"') {
        cell += '"';
        i++;
      } else {
        quoted = false;
        const next = text[i + 1];
        if (next !== ',' && next !== '\r') throw new Error(`text after a closing quote at ${i}`);
      }
    } else if (ch === '"') {
      if (cell !== '' || wasQuoted) throw new Error(`quote inside an unquoted cell at ${i}`);
      quoted = true;
      wasQuoted = true;
    } else if (ch === ',') {
      row.push(cell);
      cell = '';
      wasQuoted = false;
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      wasQuoted = false;
      i++;
    } else if (ch === '\r' || ch === '\n') {
      throw new Error(`bare line break outside quotes at ${i}`);
    } else {
      cell += ch;
    }
  }
  if (quoted) throw new Error('unterminated quoted cell');
  if (cell !== '' || row.length > 0) throw new Error('the last record has no CRLF');
  return rows;
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/** The same escaping the page must use, written out independently. */
function htmlEscaped(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

const DEACTIVATE_REASON = 'no customer activity since 2022-06-01 (24 months)';

/** Exclusions as the journal pages them, with the empty page it ends on. */
async function* pagesOf<T>(items: T[], size: number): AsyncGenerator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
  yield [];
}

describe('the plan the tests use', () => {
  it('has the steps, exclusions and summary the reports are checked against', () => {
    const plan = makePlan();
    expect(plan.steps.map((s) => [s.contactId, s.action])).toEqual([
      [ID(12), 'activate'], [ID(1), 'deactivate'], [ID(2), 'deactivate'], [ID(3), 'deactivate'], [ID(7), 'deactivate'], [ID(14), 'deactivate'],
    ]);
    expect(plan.excluded.map((e) => [e.contactId, e.reasons])).toEqual([
      [ID(4), ['open_balance']], [ID(5), ['unused_credits', 'grace_period']], [ID(6), ['grace_period']], [ID(10), ['denied', 'open_balance']],
      [ID(15), ['cap']], [ID(17), ['cap']],
    ]);
    const { histogram, ...rest } = plan.summary;
    expect(rest).toEqual({
      contactsConsidered: 17, active: 15, inactive: 2, dormant: 11, steps: { deactivate: 5, activate: 1 },
      excluded: { open_balance: 2, unused_credits: 1, grace_period: 2, denied: 1, cap: 2 }, recentlyActive: 4,
    });
    expect(histogram).toHaveLength(25);
    expect(histogram.filter((b) => b.deactivate + b.excluded + b.kept > 0)).toEqual([
      { label: '0', deactivate: 0, excluded: 0, kept: 1 },
      { label: '4', deactivate: 0, excluded: 0, kept: 1 },
      { label: '11', deactivate: 0, excluded: 0, kept: 1 },
      { label: '23', deactivate: 0, excluded: 0, kept: 1 },
      { label: 'none', deactivate: 5, excluded: 6, kept: 0 },
    ]);
  });
});

describe('csv helper', () => {
  it('quotes, neutralises formulas in text and leaves numbers alone', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('=1+2')).toBe("'=1+2");
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('\rx')).toBe('"\'\rx"');
    expect(csvCell('=A1,"b"')).toBe('"\'=A1,""b"""');
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell(-12.5)).toBe('-12.5');
    expect(csvCell(0)).toBe('0');
    expect(csvCell(Number.NaN)).toBe('');
    expect(csvCell(null)).toBe('');
    expect(csvCell('')).toBe('');
    expect(csvRow(['3185434000000001001', -0.99, null, '=x'])).toBe("3185434000000001001,-0.99,,'=x");
  });
});

describe('planToCsv', () => {
  const plan = makePlan();
  const text = planToCsv(plan);
  const rows = parseCsv(text);

  it('has a header and one row per step and per exclusion, with CRLF endings', () => {
    expect(rows[0]).toEqual([
      'contact_id', 'contact_name', 'contact_type', 'effect', 'reasons', 'detail', 'last_activity_date', 'last_activity_type', 'activity_since',
      'created_time', 'receivable', 'payable', 'unused_credits_receivable', 'unused_credits_payable', 'last_activity_number', 'last_activity',
    ]);
    expect(rows).toHaveLength(1 + 6 + 6);
    expect(rows.every((r) => r.length === 16)).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
    // Outside quoted cells every line break is CRLF.
    expect(/[^\r]\n/.test(text.replace(/"(?:[^"]|"")*"/g, '""'))).toBe(false);
  });

  it('reads back to the plan: ids intact, names neutralised only when they start a formula', () => {
    const expectedIds = [...plan.steps.map((s) => s.contactId), ...plan.excluded.map((e) => e.contactId)];
    expect(rows.slice(1).map((r) => r[0])).toEqual(expectedIds);
    expect(rows.slice(1).every((r) => /^\d{19}$/.test(r[0]!))).toBe(true);
    expect(rows.slice(1).map((r) => r[1])).toEqual([
      'Back Again', HOSTILE_SCRIPT, `'${HYPERLINK}`, `'${QUOTED}`, "'\tTabbed +1", "'\rCarriage",
      MULTILINE, UNICODE, "'@admin", 'Denied Co', 'Newest Dormant', "'+Plus Minus-",
    ]);
    expect(rows.slice(1).map((r) => r[3])).toEqual(['activate', 'deactivate', 'deactivate', 'deactivate', 'deactivate', 'deactivate',
      'excluded', 'excluded', 'excluded', 'excluded', 'excluded', 'excluded']);
  });

  it('writes every column of a step and of an exclusion', () => {
    expect(rows[3]).toEqual([ID(2), `'${HYPERLINK}`, 'customer', 'deactivate', '', DEACTIVATE_REASON, '', '', '2022-06-01', '2019-01-03T00:00:00+0000', '0', '0', '0', '0', '', 'none since 2022-06-01 (earlier history not read)']);
    expect(rows[5]).toEqual([ID(7), "'\tTabbed +1", 'customer', 'deactivate', '', 'no counted activity since 2022-06-01', '2022-03-01', 'invoices', '2022-06-01',
      '2019-01-08T00:00:00+0000', '0', '0', '0', '0', '', 'invoice on 2022-03-01']);
    expect(rows[8]).toEqual([ID(5), UNICODE, 'vendor', 'excluded', 'unused_credits;grace_period', 'unused credits 50.00; created 2024-05-22, within 90 days',
      '', '', '2022-06-01', '2024-05-22T09:30:00+0000', '0', '0', '0', '50', '', 'none since 2022-06-01 (earlier history not read)']);
    expect(rows[7]).toEqual([ID(4), MULTILINE, 'customer', 'excluded', 'open_balance', 'owes 1234.56 / is owed 0.00', '', '', '2022-06-01',
      '2019-01-05T00:00:00+0000', '1234.56', '0', '0', '0', '', 'none since 2022-06-01 (earlier history not read)']);
  });

  it('keeps negative money as numbers, not as neutralised text', () => {
    const row = rows.find((r) => r[0] === ID(3))!;
    expect(row.slice(10, 14)).toEqual(['-12.5', '-0.99', '0', '0']);
    expect(text).toContain(',-12.5,-0.99,0,0,,none since 2022-06-01 (earlier history not read)\r\n');
  });

  it('neutralises every text cell that starts a formula', () => {
    for (const r of rows.slice(1)) {
      for (const cell of r.slice(0, 10)) expect(/^[=+\-@\t\r]/.test(cell)).toBe(false);
    }
  });

  it('is only a header for a plan without steps or exclusions', () => {
    expect(planToCsv(makePlan([]))).toBe(`${rows[0]!.join(',')}\r\n`);
  });

  it('planCsvChunks makes the same document page by page: the header and the steps, then one piece per page of exclusions', async () => {
    const { excluded, ...rest } = plan;
    async function* pages(size: number): AsyncGenerator<typeof excluded> {
      for (let i = 0; i < excluded.length; i += size) yield excluded.slice(i, i + size);
      yield [];
    }
    for (const size of [1, 4, 100]) {
      const pieces: string[] = [];
      for await (const piece of planCsvChunks(rest, pages(size))) pieces.push(piece);
      expect(pieces.join(''), `pages of ${size}`).toBe(text);
      expect(pieces, `pages of ${size}`).toHaveLength(1 + Math.ceil(excluded.length / size));
    }
  });
});

describe('planToJson', () => {
  const plan = makePlan();
  const doc = planToJson(plan);

  it('has the documented shape and survives a JSON round trip', () => {
    expect(Object.keys(doc)).toEqual(['version', 'planId', 'organizationId', 'snapshotId', 'asOf', 'cutoffDate', 'summary', 'steps', 'excluded', 'policyText']);
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
    expect(doc.version).toBe(1);
    expect(doc.planId).toBe(plan.planId);
    expect(doc.organizationId).toBe('600123456');
    expect(doc.snapshotId).toBe('snap_test_1');
    expect(doc.asOf).toBe('2024-06-01T09:30:00.000Z');
    expect(Date.parse(doc.asOf)).toBe(plan.asOf);
    expect(doc.cutoffDate).toBe('2022-06-01');
    expect(doc.policyText).toBe(POLICY_TEXT);
  });

  it('carries the steps, exclusions and evidence unchanged, ids as strings and money as numbers', () => {
    // The evidence as the plan holds it, plus the last activity in words.
    const withWords = <T extends { evidence: Evidence }>(x: T): T => ({
      ...x, evidence: { ...x.evidence, lastActivityNumber: x.evidence.lastActivityNumber ?? null, lastActivity: describeLastActivity(x.evidence), wholeHistory: x.evidence.wholeHistory === true },
    });
    expect(doc.steps).toEqual(plan.steps.map(withWords));
    expect(doc.excluded).toEqual(plan.excluded.map(withWords));
    expect(doc.steps[1]!.evidence.lastActivity).toBe('none since 2022-06-01 (earlier history not read)');
    const parsed = JSON.parse(JSON.stringify(doc)) as typeof doc;
    expect(parsed.steps.map((s) => s.contactId)).toEqual([ID(12), ID(1), ID(2), ID(3), ID(7), ID(14)]);
    expect(parsed.steps[3]!.evidence.receivable).toBe(-12.5);
    expect(parsed.steps[3]!.evidence.payable).toBe(-0.99);
    expect(parsed.excluded[0]!.evidence.receivable).toBe(1234.56);
    expect(parsed.steps[1]!.contactName).toBe(HOSTILE_SCRIPT);
  });

  it('lists every exclusion reason in the summary and counts excluded contacts', () => {
    expect(doc.summary.excluded).toEqual({
      open_balance: 2, unused_credits: 1, grace_period: 2, cap: 2, not_allowed: 0, denied: 1, contact_type: 0, crm: 0, name: 0, tags: 0, custom_field: 0,
    });
    expect(Object.keys(doc.summary.excluded)).toEqual(['open_balance', 'unused_credits', 'grace_period', 'cap', 'not_allowed', 'denied', 'contact_type', 'crm', 'name', 'tags', 'custom_field']);
    expect(doc.summary.excludedContacts).toBe(6);
    expect(doc.summary.steps).toEqual({ deactivate: 5, activate: 1 });
    expect(doc.summary.histogram).toEqual(plan.summary.histogram);
  });

  it('shares nothing with the plan', () => {
    const copy = planToJson(plan);
    copy.steps[0]!.evidence.receivable = 999;
    copy.excluded[1]!.reasons.push('cap');
    copy.summary.histogram[0]!.kept = 99;
    expect(plan.steps[0]!.evidence.receivable).toBe(0);
    expect(plan.excluded[1]!.reasons).toEqual(['unused_credits', 'grace_period']);
    expect(plan.summary.histogram[0]!.kept).toBe(1);
  });
});

describe('planJsonChunks', () => {
  it('makes JSON.stringify(planToJson(plan)) page by page: the head, one piece a page of exclusions, then the policy', async () => {
    for (const whole of [makePlan(), makePlan([])]) {
      const { excluded, ...rest } = whole;
      for (const size of [1, 4, 100]) {
        const pieces: string[] = [];
        for await (const piece of planJsonChunks(rest, pagesOf(excluded, size))) pieces.push(piece);
        expect(pieces.join(''), `pages of ${size}`).toBe(JSON.stringify(planToJson(whole)));
        expect(pieces, `pages of ${size}`).toHaveLength(2 + Math.ceil(excluded.length / size));
      }
    }
  });
});

describe('planToHtml', () => {
  const plan = makePlan();
  const html = planToHtml(plan, { generatedAt: Date.UTC(2024, 5, 2, 8, 0, 0) });

  it('is one self-contained page with no external address', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html.endsWith('</html>\n')).toBe(true);
    // The only address is inside the escaped name of contact 2.
    const withoutData = html.split(htmlEscaped(HYPERLINK)).join('');
    expect(count(html, htmlEscaped(HYPERLINK))).toBe(1);
    expect(/https?:/i.test(withoutData)).toBe(false);
    expect(/\s(?:src|href|action|xlink:href)=/i.test(html)).toBe(false);
    expect(html).not.toMatch(/url\(|@import|<link|<iframe|<img/i);
  });

  it('allows only its own script, by hash', () => {
    expect(count(html, '<script')).toBe(1);
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const hash = createHash('sha256').update(script, 'utf8').digest('base64');
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'">`);
  });

  it('escapes hostile names', () => {
    expect(html).not.toContain(HOSTILE_SCRIPT);
    expect(html).not.toContain('alert("pwned")');
    expect(count(html, '&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;')).toBe(1);
    expect(count(html, '-5 Acme, &quot;Quoted&quot; &amp; Sons')).toBe(1);
    expect(count(html, 'Line one\nLine two, Ltd')).toBe(1);
    expect(count(html, UNICODE)).toBe(1);
    expect(count(html, '<td class="name">=HYPERLINK(&quot;http://evil.example/x&quot;,&quot;click&quot;)</td>')).toBe(1);
  });

  it('is well nested', () => {
    const body = html.replace(/<script>[\s\S]*?<\/script>/, '').replace(/<style>[\s\S]*?<\/style>/, '').replace(/<!DOCTYPE html>/, '');
    const voids = new Set(['meta', 'input', 'br', 'hr', 'img', 'link']);
    const stack: string[] = [];
    for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*)>/g)) {
      const [, closing, name, rest] = m;
      if (voids.has(name!) || rest!.endsWith('/')) continue;
      if (closing) expect(stack.pop()).toBe(name);
      else stack.push(name!);
    }
    expect(stack).toEqual([]);
    expect(body).not.toMatch(/<(?![/a-zA-Z!])/);
  });

  it('shows the organization, the dates and the summary cards', () => {
    expect(html).toContain('<dd>600123456</dd>');
    expect(html).toContain('<dt>Snapshot as of</dt><dd>2024-06-01 09:30 UTC</dd>');
    expect(html).toContain('<dt>Activity counted since</dt><dd>2022-06-01</dd>');
    expect(html).toContain('<dt>Report generated</dt><dd>2024-06-02 08:00 UTC</dd>');
    const cards = Object.fromEntries([...html.matchAll(/data-metric="([\w-]+)"><span class="value">([\d,]+)<\/span>/g)].map((m) => [m[1], Number(m[2]!.replace(/,/g, ''))]));
    expect(cards).toEqual({ considered: 17, deactivate: 5, activate: 1, excluded: 6, 'recently-active': 4 });
  });

  it('draws one stacked bar group per histogram bucket, with the bucket\'s numbers', () => {
    expect(count(html, '<svg')).toBe(1);
    const svg = /<svg[\s\S]*<\/svg>/.exec(html)![0];
    expect(svg).not.toContain('xmlns');
    const groups = [...svg.matchAll(/<g class="bar" data-bucket="([^"]+)" data-deactivate="(\d+)" data-excluded="(\d+)" data-kept="(\d+)">([\s\S]*?)<\/g>/g)];
    expect(groups).toHaveLength(25);
    expect(groups.map((g) => ({ label: g[1], deactivate: Number(g[2]), excluded: Number(g[3]), kept: Number(g[4]) }))).toEqual(plan.summary.histogram);
    for (const g of groups) {
      const b = plan.summary.histogram.find((h) => h.label === g[1])!;
      const totalShown = /<text class="total"[^>]*>(\d+)<\/text>/.exec(g[5]!);
      const sum = b.deactivate + b.excluded + b.kept;
      expect(totalShown ? Number(totalShown[1]) : 0).toBe(sum);
      expect(count(g[5]!, '<rect')).toBe([b.deactivate, b.excluded, b.kept].filter((n) => n > 0).length);
      expect(count(g[5]!, '<title>')).toBe(1 + count(g[5]!, '<rect'));
    }
    const none = groups.at(-1)!;
    expect(none[5]).toContain('<title>No activity in window: 11 contacts (5 to deactivate, 6 excluded)</title>');
    // y axis 0..15 over 220 px: 5 contacts are 73.3 px, 6 are 88 px, stacked from the axis at y=264;
    // 24 month slots of 26 px after a 56 px margin, a 18 px gap, then the 44 px bar centred in a 96 px slot.
    expect(none[5]).toContain('<rect class="deactivate" x="724" y="190.7" width="44" height="73.3" fill="#d55e00">');
    expect(none[5]).toContain('<rect class="excluded" x="724" y="102.7" width="44" height="88" fill="#0072b2">');
    expect(none[5]).toContain('<tspan x="746" dy="0">no activity</tspan><tspan x="746" dy="13">in window</tspan>');
    expect(groups[4]![5]).toContain('<title>4 months since last activity: 1 contact (1 kept)</title>');
    expect(svg).toContain('<title id="chart-title">Active contacts by months since last activity</title>');
    expect(svg).toContain('>months since last activity</text>');
    expect(svg).toContain('>contacts</text>');
    expect([...svg.matchAll(/<g class="legend-item">[\s\S]*?<text[^>]*>([^<]+)<\/text><\/g>/g)].map((m) => m[1])).toEqual(['to deactivate', 'excluded', 'kept (recently active)']);
    expect([...svg.matchAll(/text-anchor="end">(\d+)<\/text>/g)].map((m) => m[1])).toEqual(['0', '5', '10', '15']);
  });

  // The defect: titled by the organization's id, amounts with no currency.
  it('is titled by the organization\'s name and says its currency on every amount', () => {
    const named = planToHtml(plan, { organizationName: 'Sunrise Traders <Pvt> Ltd', currencyCode: 'INR' });
    expect(named).toContain(`<title>Sunset plan for Sunrise Traders &lt;Pvt&gt; Ltd (${ORG})</title>`);
    expect(named).toContain(`<h1>Sunset plan for Sunrise Traders &lt;Pvt&gt; Ltd (${ORG})</h1>`);
    expect(named).toContain('<th class="num">Receivable (INR)</th><th class="num">Payable (INR)</th><th class="num">Unused credits (INR)</th>');
    expect(named).toContain('Balances on the contacts to deactivate: receivable INR -12.50, payable INR -0.99, unused credits INR 0.00.');
    expect(named).toContain('Amounts are in INR.');
    expect(html).toContain(`<title>Sunset plan for organization ${ORG}</title>`);
  });

  it('shows the effect, the exclusions by reason and the two tables', () => {
    expect(html).toContain('<tr data-effect="active"><th>Active contacts</th><td class="num">15</td><td class="num">11</td><td class="num">-4</td></tr>');
    expect(html).toContain('<tr data-effect="inactive"><th>Inactive contacts</th><td class="num">2</td><td class="num">6</td><td class="num">+4</td></tr>');
    expect(html).toContain('Balances on the contacts to deactivate: receivable -12.50, payable -0.99, unused credits 0.00.');
    const reasons = [...html.matchAll(/<tr data-reason="(\w+)"><td>[^<]+<\/td><td class="id">\w+<\/td><td class="num">(\d+)<\/td><\/tr>/g)].map((m) => [m[1], Number(m[2])]);
    expect(reasons).toEqual([['open_balance', 2], ['unused_credits', 1], ['grace_period', 2], ['cap', 2], ['denied', 1]]);
    expect(html).toContain('these add up to 8 for 6 excluded contacts');
    const tbodies = [...html.matchAll(/<tbody class="filterable">([\s\S]*?)<\/tbody>/g)].map((m) => m[1]!);
    expect(tbodies).toHaveLength(2);
    expect(count(tbodies[0]!, '<tr>')).toBe(6);
    expect(count(tbodies[1]!, '<tr>')).toBe(6);
    expect(tbodies[0]).toContain(`<td class="id">${ID(3)}</td><td>vendor</td><td>no vendor activity since 2022-06-01 (24 months)</td><td>none since 2022-06-01 (earlier history not read)</td><td>2019-01-04</td><td class="num negative">-12.50</td><td class="num negative">-0.99</td><td class="num">0.00</td>`);
    expect(tbodies[1]).toContain(`<td class="id">${ID(4)}</td><td>customer</td><td>open balance</td><td>owes 1234.56 / is owed 0.00</td><td>none since 2022-06-01 (earlier history not read)</td><td>2019-01-05</td><td class="num">1,234.56</td>`);
    expect(tbodies[1]).toContain('<td>unused credits<br>grace period (new contact)</td>');
    expect(html).toContain('<h2 id="steps-heading">Steps (6)</h2>');
    expect(html).toContain('<h2 id="excluded-heading">Excluded contacts (6)</h2>');
    // The filter box is hidden until the script shows it.
    expect(html).toContain('<div class="filter" id="filter" hidden>');
  });

  it('is the same for the same inputs and shows no time it was not given', () => {
    expect(planToHtml(plan, { generatedAt: Date.UTC(2024, 5, 2, 8, 0, 0) })).toBe(html);
    const plain = planToHtml(plan, { title: 'Q2 <clean-up> & "review"' });
    expect(plain).not.toContain('Report generated');
    expect(plain).toContain('<title>Q2 &lt;clean-up&gt; &amp; &quot;review&quot;</title>');
    expect(plain).toContain('<h1>Q2 &lt;clean-up&gt; &amp; &quot;review&quot;</h1>');
  });

  it('planHtmlChunks makes the same document page by page: all before the excluded rows, one piece a page, then the rest', async () => {
    const options = { generatedAt: Date.UTC(2024, 5, 2, 8, 0, 0), organizationName: 'Acme <Ltd>', currencyCode: 'EUR' };
    for (const whole of [plan, makePlan([])]) {
      const { excluded, ...rest } = whole;
      for (const size of [1, 4, 100]) {
        const pieces: string[] = [];
        for await (const piece of planHtmlChunks(rest, pagesOf(excluded, size), options)) pieces.push(piece);
        expect(pieces.join(''), `pages of ${size}`).toBe(planToHtml(whole, options));
        expect(pieces, `pages of ${size}`).toHaveLength(excluded.length === 0 ? 1 : 2 + Math.ceil(excluded.length / size));
      }
    }
  });

  it('renders an empty plan', () => {
    const empty = planToHtml(makePlan([]));
    expect(count(empty, '<g class="bar"')).toBe(25);
    expect(empty).toContain('<p>No steps: this plan changes nothing.</p>');
    expect(empty).not.toContain('<tbody class="filterable">');
    expect(empty).toContain('<desc id="chart-desc">No active contacts.</desc>');
  });
});

describe('renderPlanText', () => {
  const plan = makePlan();

  it('lists the counts, the histogram and the first steps', () => {
    const text = renderPlanText(plan, { color: false, limit: 3 });
    expect(text).not.toContain('\u001b');
    expect(text.split('\n')).toEqual([
      `Sunset plan ${plan.planId}`,
      '  organization                  600123456',
      '  as of                         2024-06-01 09:30 UTC',
      '  cutoff date                   2022-06-01 (activity on or after it counts)',
      '  snapshot                      snap_test_1',
      '',
      'Contacts',
      '  considered                    17',
      '  active                        15',
      '  inactive                       2',
      '  recently active                4',
      '  dormant                       11',
      '',
      'Steps',
      '  deactivate                     5',
      '  activate                       1',
      '',
      'Excluded contacts                6',
      '    open balance                 2',
      '    unused credits               1',
      '    grace period (new contact)   2',
      '    over the change cap          2',
      '    on the deny list             1',
      '    (a contact can be excluded for more than one reason)',
      '',
      'Active contacts by months since last activity',
      '  █ deactivate  ▓ excluded  ░ kept',
      '  0                      ░░░░ 1 kept',
      '  1-3                    0',
      '  4                      ░░░░ 1 kept',
      '  5-10                   0',
      '  11                     ░░░░ 1 kept',
      '  12-22                  0',
      '  23                     ░░░░ 1 kept',
      `  no activity in window  ${'█'.repeat(18)}${'▓'.repeat(22)} 11 (5 deactivate, 6 excluded)`,
      '',
      'Steps (first 3 of 6)',
      `  activate    ${ID(12)}  Back Again  - inactive, but traded on 2024-04-02 (invoices)`,
      `  deactivate  ${ID(1)}  <script>alert("pwned")</script>  - ${DEACTIVATE_REASON}`,
      `  deactivate  ${ID(2)}  =HYPERLINK("http://evil.example/x","cli…  - ${DEACTIVATE_REASON}`,
      '  … and 3 more',
      '',
    ]);
  });

  it('lists up to 10 steps by default and has no trailing spaces', () => {
    const text = renderPlanText(plan, { color: false });
    expect(text).toContain('Steps (6)\n');
    expect(text).not.toContain('… and');
    expect(text).toContain(`  deactivate  ${ID(7)}   Tabbed +1  - no counted activity since 2022-06-01\n`);
    expect(text).toContain(`  deactivate  ${ID(14)}   Carriage  - ${DEACTIVATE_REASON}\n`);
    for (const line of text.split('\n')) expect(line).not.toMatch(/[ \t]$/);
  });

  it('colours only when asked, with the same text underneath', () => {
    const colored = renderPlanText(plan, { color: true, limit: 2 });
    expect(colored).toContain('\u001b[1mContacts\u001b[0m');
    expect(colored).toContain('\u001b[31mdeactivate\u001b[0m');
    expect(stripAnsi(colored)).toBe(renderPlanText(plan, { color: false, limit: 2 }));
    for (const line of colored.split('\n')) expect(stripAnsi(line)).not.toMatch(/[ \t]$/);
  });

  it('keeps terminal control sequences in names from reaching the terminal', () => {
    const evil = makePlan([contact(1, 'Evil\u001b[2J\u001b]0;title\u0007 Co\u202eexe.txt')]);
    const text = renderPlanText(evil, { color: false });
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u202e]/);
    expect(text).toContain(`  deactivate  ${ID(1)}  Evil\ufffd[2J\ufffd]0;title\ufffd Co\ufffdexe.txt  - ${DEACTIVATE_REASON}\n`);
  });

  it('says so when nothing changes', () => {
    const text = renderPlanText(makePlan([]), { color: false });
    expect(text).toContain('\n  considered                    0\n');
    expect(text).toContain('\n  (no active contacts)\n');
    expect(text.endsWith('No steps: this plan changes nothing.\n')).toBe(true);
  });
});

describe('renderRunText', () => {
  const run: RunRecord = {
    runId: 'run_01', organizationId: ORG, kind: 'plan', planId: 'plan_abc', undoOf: null,
    createdAt: Date.UTC(2024, 5, 3, 10, 0, 0), createdBy: 'ana@example.com', state: 'done',
    startedAt: Date.UTC(2024, 5, 3, 10, 1, 0), finishedAt: Date.UTC(2024, 5, 3, 10, 2, 5), baselineAt: Date.UTC(2024, 5, 3, 10, 0, 0), note: '',
    target: '', driver: null,
  };
  const counts: RunCounts = { total: 5, pending: 0, inFlight: 0, changed: 2, unchanged: 0, skipped: 2, failed: 1 };
  const step = (seq: number, over: Partial<StepRecord>): StepRecord => ({
    runId: 'run_01', seq, contactId: ID(seq), contactName: `Contact ${seq}`, contactType: 'customer', action: 'deactivate', reason: 'dormant',
    evidence: null, state: 'done', outcome: 'changed', skipReason: null, attempts: 1, lastError: null, leaseOwner: null, leaseExpiresAt: null,
    startedAt: null, finishedAt: null, ...over,
  });
  const steps = [
    step(1, {}),
    step(2, { state: 'skipped', outcome: null, skipReason: 'new activity since the plan: invoice on 2024-06-02', contactName: '<b>New\nActivity</b>' }),
    step(3, { state: 'failed', outcome: null, attempts: 3, lastError: 'HTTP 503 from Zoho' }),
    step(4, { state: 'skipped', outcome: null, skipReason: null }),
    step(5, {}),
  ];

  it('summarises the run and lists skipped and failed steps', () => {
    expect(renderRunText(run, counts, steps, { color: false }).split('\n')).toEqual([
      'Sunset run run_01  done',
      '  kind          plan',
      '  organization  600123456',
      '  plan          plan_abc',
      '  created       2024-06-03 10:00 UTC by ana@example.com',
      '  started       2024-06-03 10:01 UTC',
      '  finished      2024-06-03 10:02 UTC (took 1m 5s)',
      '',
      'Steps',
      '  total         5',
      '  changed       2',
      '  unchanged     0',
      '  skipped       2',
      '  failed        1',
      '  pending       0',
      '  in flight     0',
      '',
      'Skipped (2)',
      `  #2     deactivate  ${ID(2)}  <b>New Activity</b>`,
      '         new activity since the plan: invoice on 2024-06-02',
      `  #4     deactivate  ${ID(4)}  Contact 4`,
      '         no reason recorded',
      '',
      'Failed (1)',
      `  #3     deactivate  ${ID(3)}  Contact 3`,
      '         HTTP 503 from Zoho (attempts: 3)',
      '',
    ]);
  });

  it('limits the lists, colours only when asked, and works without steps', () => {
    const limited = renderRunText(run, counts, steps, { color: false, limit: 1 });
    expect(limited).toContain('Skipped (first 1 of 2)\n');
    expect(limited).toContain('  … and 1 more\n');
    expect(limited).not.toContain(ID(4));
    const colored = renderRunText(run, counts, steps, { color: true, limit: 1 });
    expect(colored).toContain('\u001b[32mdone\u001b[0m');
    expect(stripAnsi(colored)).toBe(limited);
    const bare = renderRunText({ ...run, state: 'running', finishedAt: null, undoOf: 'run_00', note: 'undo\tof June' }, counts);
    expect(bare).not.toContain('\u001b');
    expect(bare).toContain('\n  undo of       run_00\n');
    expect(bare).toContain('\n  finished      not yet\n');
    expect(bare).toContain('\n  note          undo of June\n');
    expect(bare).not.toContain('Skipped');
    for (const line of [...bare.split('\n'), ...colored.split('\n')]) expect(stripAnsi(line)).not.toMatch(/[ \t]$/);
  });
});

describe('audit', () => {
  const rows: AuditRow[] = [
    {
      runId: 'run_01', runKind: 'plan', actor: 'ana@example.com', when: Date.UTC(2024, 5, 3, 10, 1, 30), organizationId: ORG,
      contactId: ID(2), contactName: HYPERLINK, from: 'active', to: 'inactive', why: DEACTIVATE_REASON,
    },
    {
      runId: 'run_02', runKind: 'undo', actor: '-bob', when: Date.UTC(2024, 5, 4, 0, 0, 0), organizationId: ORG,
      contactId: ID(2), contactName: HYPERLINK, from: 'inactive', to: 'active', why: 'undo of run_01, "as asked"',
    },
  ];

  it('gives JSON rows with ISO times and string ids', () => {
    const json = auditToJson(rows);
    expect(json).toEqual([
      {
        who: 'ana@example.com', when: '2024-06-03T10:01:30.000Z', organization_id: ORG, run_id: 'run_01', run_kind: 'plan',
        contact_id: '3185434000000001002', contact_name: HYPERLINK, from: 'active', to: 'inactive', why: DEACTIVATE_REASON,
      },
      {
        who: '-bob', when: '2024-06-04T00:00:00.000Z', organization_id: ORG, run_id: 'run_02', run_kind: 'undo',
        contact_id: '3185434000000001002', contact_name: HYPERLINK, from: 'inactive', to: 'active', why: 'undo of run_01, "as asked"',
      },
    ]);
    expect(Object.keys(json[0]!)).toEqual(['who', 'when', 'organization_id', 'run_id', 'run_kind', 'contact_id', 'contact_name', 'from', 'to', 'why']);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('gives CSV that reads back, with formula cells neutralised', () => {
    const parsed = parseCsv(auditToCsv(rows));
    expect(parsed).toEqual([
      ['who', 'when', 'organization_id', 'run_id', 'run_kind', 'contact_id', 'contact_name', 'from', 'to', 'why'],
      ['ana@example.com', '2024-06-03T10:01:30.000Z', ORG, 'run_01', 'plan', '3185434000000001002', `'${HYPERLINK}`, 'active', 'inactive', DEACTIVATE_REASON],
      ["'-bob", '2024-06-04T00:00:00.000Z', ORG, 'run_02', 'undo', '3185434000000001002', `'${HYPERLINK}`, 'inactive', 'active', 'undo of run_01, "as asked"'],
    ]);
    expect(auditToCsv([])).toBe('who,when,organization_id,run_id,run_kind,contact_id,contact_name,from,to,why\r\n');
  });
});
