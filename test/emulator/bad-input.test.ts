/**
 * Bad input over real HTTP: whatever a client sends, the emulator answers (never crashes or hangs),
 * never with a 500 that was not injected, always with a Zoho-style 4xx JSON envelope
 * `{code: <non-zero>, message}` (the accounts server answers with its own `{error}` shape), and
 * never changes data because of an invalid request.
 *
 * Part 1 sends hand-picked bad requests; after every test the data is compared with a snapshot
 * taken through the API (every contact of both organizations, every transaction list's size, the
 * history of the contact the bad writes aim at) and `GET /__emulator/check` must be ok.
 * Part 2 is a property-based fuzz (fast-check, fixed seed) over methods, paths built from the real
 * route shapes, query parameters, bodies, content types and Authorization headers.
 * No faults are injected anywhere in this file, and the limits are off, so a 5xx is always a bug.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type CallOptions, type CallResult, type TestEmulator } from '../helpers/emulator.js';

const TX_PATHS = [
  '/invoices', '/salesorders', '/estimates', '/creditnotes', '/customerpayments',
  '/salesreceipts', '/bills', '/purchaseorders', '/vendorpayments', '/vendorcredits',
] as const;
const TX_LIST_KEYS: Record<(typeof TX_PATHS)[number], string> = {
  '/invoices': 'invoices', '/salesorders': 'salesorders', '/estimates': 'estimates', '/creditnotes': 'creditnotes',
  '/customerpayments': 'customerpayments', '/salesreceipts': 'salesreceipts', '/bills': 'bills',
  '/purchaseorders': 'purchaseorders', '/vendorpayments': 'vendorpayments', '/vendorcredits': 'vendorcredits',
};

type Body = Record<string, unknown>;
interface ContactLite {
  contact_id: string;
  contact_name: string;
  company_name: string;
  contact_type: string;
  status: string;
  last_modified_time: string;
}

const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A Zoho-style refusal: 4xx, JSON, `{code: non-zero number, message: string}`. */
function expectZohoError(res: CallResult, expected?: { status?: number; code?: number }): void {
  const shown = `HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
  expect(res.status, shown).toBeGreaterThanOrEqual(400);
  expect(res.status, shown).toBeLessThan(500);
  expect(res.headers.get('content-type') ?? '', shown).toMatch(/^application\/json/);
  expect(isObject(res.body), shown).toBe(true);
  const body = res.body as Body;
  expect(typeof body.code, shown).toBe('number');
  expect(body.code, shown).not.toBe(0);
  expect(typeof body.message, shown).toBe('string');
  if (expected?.status !== undefined) expect(res.status, shown).toBe(expected.status);
  if (expected?.code !== undefined) expect(body.code, shown).toBe(expected.code);
}

/** The accounts server's refusal: no 5xx, JSON `{error: string}` and no token. */
function expectOAuthRefusal(res: CallResult): void {
  const shown = `HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
  expect(res.status, shown).toBeLessThan(500);
  expect(isObject(res.body), shown).toBe(true);
  const body = res.body as Body;
  expect(typeof body.error, shown).toBe('string');
  expect(body.access_token, shown).toBeUndefined();
}

const enc = new TextEncoder();
function bytes(...parts: Array<string | number[]>): Uint8Array {
  const chunks = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Percent-encodes the UTF-8 bytes of a string (lone surrogates become U+FFFD), keeping unreserved characters. */
function pct(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** One raw HTTP/1.1 exchange over a socket (for what fetch refuses to send); resolves when the server closes. */
function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (out += d));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    socket.write(request, 'latin1');
  });
}

async function listAll<T>(t: TestEmulator, path: string, key: string, organization: string, query: CallOptions['query'] = {}): Promise<T[]> {
  const out: T[] = [];
  for (let page = 1; page < 1000; page++) {
    const res = await t.call<Body>('GET', path, { organization, query: { ...query, page, per_page: 200 } });
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status} ${JSON.stringify(res.body)}`);
    out.push(...(res.body[key] as T[]));
    if (!(res.body.page_context as { has_more_page: boolean }).has_more_page) return out;
  }
  throw new Error(`GET ${path} did not end`);
}

interface Snapshot {
  contacts: string[];
  transactions: Record<string, number>;
  victimHistory: number;
  check: unknown;
}

/** The number of documents in a list, counted in full (used once, for the baseline). */
async function countAll(t: TestEmulator, organization: string, path: (typeof TX_PATHS)[number]): Promise<number> {
  return (await listAll(t, path, TX_LIST_KEYS[path], organization)).length;
}

/**
 * Cheap exact check that a list still holds `expected` documents: with per_page=1, page `expected`
 * has one document and no next page exactly when the count is `expected`. Returns the count when
 * it matches, or the full count when it does not (so a diff shows the real number).
 */
async function recount(t: TestEmulator, organization: string, path: (typeof TX_PATHS)[number], expected: number): Promise<number> {
  const res = await t.call<Body>('GET', path, { organization, query: { page: Math.max(expected, 1), per_page: 1 } });
  const items = (res.body[TX_LIST_KEYS[path]] as unknown[] | undefined) ?? [];
  const more = (res.body.page_context as { has_more_page?: boolean } | undefined)?.has_more_page;
  if (res.status === 200 && items.length === Math.min(expected, 1) && more === false) return expected;
  return countAll(t, organization, path);
}

/**
 * The data as the API shows it: every contact of both organizations (fields, status, amounts,
 * last_modified_time), the size of every transaction list, the history of the contact that the bad
 * writes aim at, and the emulator's own consistency check. Enough to notice any create, update,
 * status change, payment or delete.
 */
async function snapshot(t: TestEmulator, victimId: string, previous?: Snapshot): Promise<Snapshot> {
  const contactLists = Promise.all(t.organizations.map(async (organization) => {
    const list = await listAll<ContactLite & Record<string, unknown>>(t, '/contacts', 'contacts', organization, { sort_column: 'created_time' });
    return list.map((c) => [organization, c.contact_id, c.contact_name, c.company_name, c.contact_type, c.status, c.last_modified_time,
      c.outstanding_receivable_amount, c.outstanding_payable_amount, c.unused_credits_receivable_amount,
      c.unused_credits_payable_amount, c.email, c.phone].join('|'));
  }));
  const counts = Promise.all(t.organizations.flatMap((organization) => TX_PATHS.map(async (path): Promise<[string, number]> => {
    const key = `${organization}${path}`;
    const known = previous?.transactions[key];
    return [key, known === undefined ? await countAll(t, organization, path) : await recount(t, organization, path, known)];
  })));
  const history = listAll(t, `/contacts/${victimId}/comments`, 'contact_comments', t.organization);
  const check = t.admin<{ ok: boolean; mismatches: unknown[] }>('GET', '/__emulator/check');
  return {
    contacts: (await contactLists).flat().sort(),
    transactions: Object.fromEntries(await counts),
    victimHistory: (await history).length,
    check: (await check).body,
  };
}

// =============================================================================================
// Part 1: hand-picked bad requests
// =============================================================================================

describe('bad input over real HTTP (no faults injected)', () => {
  let t: TestEmulator;
  let baseline: Snapshot;
  /** An active customer and an active vendor that the bad writes aim at. */
  let customer: ContactLite;
  let vendor: ContactLite;
  let invoiceId: string;
  let billId: string;
  /** Contacts whose names look like SQL or LIKE patterns (made before the baseline). */
  const trickyNames = [
    "O'Brien ' OR 1=1 -- Traders",
    'Percent 100% Club',
    'Under_score Ltd',
    '_Leading Underscore Co',
    'Back\\slash Works',
  ];

  beforeAll(async () => {
    // A small seed keeps the after-each snapshot cheap; limits off so no 429 hides an answer.
    t = await startTestEmulator({ limits: false, contacts: 60 });
    for (const name of trickyNames) {
      const res = await t.call('POST', '/contacts', { body: { contact_name: name, company_name: name } });
      if (res.status !== 201) throw new Error(`could not create ${name}: ${JSON.stringify(res.body)}`);
    }
    const pick = async (type: 'customer' | 'vendor'): Promise<ContactLite> => {
      const res = await t.call<{ contacts: ContactLite[] }>('GET', '/contacts', { query: { contact_type: type, filter_by: 'Status.Active', per_page: 1 } });
      const c = res.body.contacts[0];
      if (!c) throw new Error(`no active ${type}`);
      return c;
    };
    customer = await pick('customer');
    vendor = await pick('vendor');
    const invoice = await t.call<{ invoice: { invoice_id: string } }>('POST', '/invoices', {
      body: { customer_id: customer.contact_id, line_items: [{ name: 'Setup', rate: 100, quantity: 1 }] },
    });
    const bill = await t.call<{ bill: { bill_id: string } }>('POST', '/bills', {
      body: { vendor_id: vendor.contact_id, bill_number: 'BAD-INPUT-1', line_items: [{ name: 'Parts', rate: 100, quantity: 1 }] },
    });
    if (invoice.status !== 201 || bill.status !== 201) throw new Error('could not create the setup invoice and bill');
    invoiceId = invoice.body.invoice.invoice_id;
    billId = bill.body.bill.bill_id;
    baseline = await snapshot(t, customer.contact_id);
    expect((baseline.check as { ok: boolean }).ok).toBe(true);
  });

  afterEach(async () => {
    // Nothing in this block may change data: every request in it is invalid. A change fails the
    // test that made it; the new state becomes the baseline so later tests are judged on their own.
    const now = await snapshot(t, customer.contact_id, baseline);
    const before = baseline;
    baseline = now;
    expect(now, 'the data changed').toEqual(before);
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('malformed and non-object JSON bodies', () => {
    const malformed = ['{"contact_name": "Half"', "{contact_name: 'x'}", '{"contact_name": "x",}', '{"a":1}}', 'NaN', '{"contact_name": "x" "y"}', '\u0000', '{"contact_name": undefined}'];
    const notObjects = ['[]', '[{"contact_name":"In Array"}]', '"Just a string"', '42', 'null', 'true', '-0', '1e400'];

    it.each(malformed)('POST /contacts with malformed JSON %j → 400 code 2', async (text) => {
      expectZohoError(await t.call('POST', '/contacts', { rawBody: text }), { status: 400, code: 2 });
    });

    it.each(notObjects)('POST /contacts with JSON that is not an object (%s) → 400 code 2', async (text) => {
      expectZohoError(await t.call('POST', '/contacts', { rawBody: text }), { status: 400, code: 2 });
    });

    it('PUT /contacts/{id}, POST /invoices and POST /customerpayments with malformed or non-object JSON → 400 code 2', async () => {
      for (const text of [...malformed.slice(0, 3), ...notObjects.slice(0, 3)]) {
        expectZohoError(await t.call('PUT', `/contacts/${customer.contact_id}`, { rawBody: text }), { status: 400, code: 2 });
        expectZohoError(await t.call('POST', '/invoices', { rawBody: text }), { status: 400, code: 2 });
        expectZohoError(await t.call('POST', '/customerpayments', { rawBody: text }), { status: 400, code: 2 });
      }
    });
  });

  describe('empty bodies and form bodies', () => {
    it('POST /contacts with no body, an empty body, whitespace or {} → 400 code 2 (contact_name is required)', async () => {
      expectZohoError(await t.call('POST', '/contacts'), { status: 400, code: 2 });
      expectZohoError(await t.call('POST', '/contacts', { rawBody: '' }), { status: 400, code: 2 });
      expectZohoError(await t.call('POST', '/contacts', { rawBody: ' \n\t ' }), { status: 400, code: 2 });
      expectZohoError(await t.call('POST', '/contacts', { body: {} }), { status: 400, code: 2 });
      expectZohoError(await t.call('POST', '/invoices'), { status: 400, code: 2 });
      expectZohoError(await t.call('POST', '/vendorpayments', { body: {} }), { status: 400, code: 2 });
    });

    const form = 'application/x-www-form-urlencoded';
    const multipart = 'multipart/form-data; boundary=XyZ';
    it.each([
      ['a form without JSONString', form, 'contact_name=Form+Only&contact_type=customer'],
      ['an empty JSONString', form, 'JSONString='],
      ['a truncated JSONString', form, 'JSONString=%7B%22contact_name%22'],
      ['a JSONString that is an array', form, `JSONString=${pct('[{"contact_name":"Array Form"}]')}`],
      ['a JSONString that is a string', form, `JSONString=${pct('"Form String"')}`],
      ['jsonstring in the wrong case', form, `jsonstring=${pct('{"contact_name":"Lower Form"}')}`],
      ['a multipart body without a JSONString part', multipart, '--XyZ\r\nContent-Disposition: form-data; name="contact_name"\r\n\r\nMultipart Only\r\n--XyZ--\r\n'],
      ['a multipart JSONString part with malformed JSON', multipart, '--XyZ\r\nContent-Disposition: form-data; name="JSONString"\r\n\r\n{"contact_name":\r\n--XyZ--\r\n'],
      ['a multipart body with no parts at all', multipart, '--XyZ--\r\n'],
    ])('POST /contacts with %s → 400 code 2', async (_label, contentType, text) => {
      expectZohoError(await t.call('POST', '/contacts', { rawBody: text, contentType }), { status: 400, code: 2 });
    });

    it('PUT /contacts/{id} and POST /invoices with a form body without JSONString → 400 code 2', async () => {
      expectZohoError(await t.call('PUT', `/contacts/${customer.contact_id}`, { rawBody: 'contact_name=Renamed+By+Form', contentType: form }), { status: 400, code: 2 });
      expectZohoError(await t.call('POST', '/invoices', { rawBody: `customer_id=${customer.contact_id}&total=10`, contentType: form }), { status: 400, code: 2 });
    });
  });

  describe('wrong types for fields', () => {
    it.each([
      ['contact_name as a number', { contact_name: 42 }],
      ['contact_name as a decimal', { contact_name: 4.2 }],
      ['contact_name as a boolean', { contact_name: true }],
      ['contact_name as an array', { contact_name: ['Array Name'] }],
      ['contact_name as an object', { contact_name: { first: 'Object' } }],
      ['contact_name blank', { contact_name: '   ' }],
      ['contact_name over 200 characters', { contact_name: 'N'.repeat(201) }],
      ['email as a number', { contact_name: 'Typed Email', email: 12345 }],
      ['email malformed', { contact_name: 'Typed Email', email: 'not-an-email' }],
      ['contact_type unknown', { contact_name: 'Typed Type', contact_type: 'both' }],
      ['contact_type as a number', { contact_name: 'Typed Type', contact_type: 1 }],
      ['credit_limit as a word', { contact_name: 'Typed Limit', credit_limit: 'lots' }],
      ['credit_limit with a thousands separator', { contact_name: 'Typed Limit', credit_limit: '1,000.00' }],
      ['credit_limit negative', { contact_name: 'Typed Limit', credit_limit: -1 }],
      ['is_portal_enabled as "yes"', { contact_name: 'Typed Portal', is_portal_enabled: 'yes' }],
      ['custom_fields as a string', { contact_name: 'Typed Fields', custom_fields: 'cf_region=North' }],
      ['custom_fields value as an object', { contact_name: 'Typed Fields', custom_fields: [{ api_name: 'cf_region', value: { x: 1 } }] }],
      ['tags as an object', { contact_name: 'Typed Tags', tags: { tag_id: '1' } }],
      ['tags with neither id nor name', { contact_name: 'Typed Tags', tags: [{ tag_option_name: 'x' }] }],
      ['zcrm_account_id as a number', { contact_name: 'Typed Crm', zcrm_account_id: 123456789 }],
      ['zcrm_account_id with letters', { contact_name: 'Typed Crm', zcrm_account_id: '12ab' }],
      ['currency_code lower case', { contact_name: 'Typed Currency', currency_code: 'inr' }],
    ])('POST /contacts with %s → 400 code 2', async (_label, body) => {
      expectZohoError(await t.call('POST', '/contacts', { body }), { status: 400, code: 2 });
    });

    it('PUT /contacts/{id} with wrong types → 400 code 2, the contact unchanged', async () => {
      for (const body of [{ contact_name: 42 }, { email: 5 }, { contact_type: 'both' }, { credit_limit: 'abc' }, { tags: 'x' }, { custom_fields: {} }, { contact_name: null, email: [] }]) {
        expectZohoError(await t.call('PUT', `/contacts/${customer.contact_id}`, { body }), { status: 400, code: 2 });
      }
    });

    it('transactions: strings for amounts, ids as numbers, malformed line items → 400 code 2', async () => {
      const c = customer.contact_id;
      const v = vendor.contact_id;
      const cases: Array<[string, string | Body]> = [
        ['/invoices', { customer_id: c, total: 'abc' }],
        ['/invoices', { customer_id: c, total: '12,50' }],
        ['/invoices', { customer_id: c, total: 'Infinity' }],
        ['/invoices', { customer_id: c, total: '0x10' }],
        ['/invoices', { customer_id: c, line_items: 'one hammer' }],
        ['/invoices', { customer_id: c, line_items: [] }],
        ['/invoices', { customer_id: c, line_items: [{ name: 'Hammer', rate: 'ten' }] }],
        ['/invoices', { customer_id: c, line_items: [{ name: 'Hammer', rate: 10, quantity: 'two' }] }],
        ['/invoices', { customer_id: c, line_items: [null] }],
        ['/invoices', { customer_id: c, line_items: [['Hammer', 10, 2]] }],
        ['/invoices', { customer_id: c, line_items: [[]] }],
        ['/invoices', `{"customer_id": ${c}, "total": 10}`],
        ['/invoices', { customer_id: [c], total: 10 }],
        ['/invoices', { customer_id: v, total: 10 }],
        ['/invoices', { customer_id: c, total: 10, invoice_number: 12 }],
        ['/customerpayments', { customer_id: c, amount: 'ten' }],
        ['/customerpayments', { customer_id: c, amount: '1e3' }],
        ['/customerpayments', { customer_id: c, amount: true }],
        ['/customerpayments', `{"customer_id": "${c}", "amount": 10, "invoices": [{"invoice_id": ${invoiceId}, "amount_applied": 5}]}`],
        ['/customerpayments', { customer_id: c, amount: 10, invoices: [{ invoice_id: invoiceId, amount_applied: 'five' }] }],
        ['/customerpayments', { customer_id: c, amount: 10, invoices: 'all' }],
        ['/customerpayments', { customer_id: c, amount: 10, invoices: [{ invoice_id: invoiceId, amount_applied: 5 }, { invoice_id: invoiceId, amount_applied: 5 }] }],
        ['/customerpayments', { customer_id: c, amount: 10, invoices: [{ invoice_id: billId, amount_applied: 5 }] }],
        ['/bills', `{"vendor_id": ${v}, "total": 10}`],
        ['/bills', { vendor_id: v, total: '10 USD' }],
        ['/vendorpayments', { vendor_id: v, amount: 10, bills: [{ bill_id: Number(billId), amount_applied: 5 }] }],
        ['/vendorpayments', { vendor_id: v, amount: 10, bills: [{ bill_id: billId, amount_applied: 500 }] }],
        ['/vendorcredits', { vendor_id: c, total: 10 }],
        ['/salesorders', { customer_id: c, total: 10, date: 20240101 }],
        ['/estimates', { customer_id: c, total: 10, reference_number: { ref: 1 } }],
      ];
      for (const [path, body] of cases) {
        const res = typeof body === 'string' ? await t.call('POST', path, { rawBody: body }) : await t.call('POST', path, { body });
        expect.soft(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
        expectZohoError(res, { code: 2 });
      }
    });
  });

  describe('huge numbers and deeply nested JSON', () => {
    it('out-of-range numbers → 400 code 2', async () => {
      const c = customer.contact_id;
      const cases: Array<[string, string]> = [
        ['/contacts', '{"contact_name": "Huge Limit", "credit_limit": 1e308}'],
        ['/contacts', '{"contact_name": "Huge Limit", "credit_limit": 1e400}'],
        ['/contacts', '{"contact_name": "Huge Limit", "credit_limit": -1e400}'],
        ['/contacts', '{"contact_name": "Huge Limit", "credit_limit": 123456789012345678901234567890}'],
        ['/invoices', `{"customer_id": "${c}", "total": 1e13}`],
        ['/invoices', `{"customer_id": "${c}", "total": 1e400}`],
        ['/invoices', `{"customer_id": "${c}", "total": -5}`],
        ['/invoices', `{"customer_id": "${c}", "line_items": [{"rate": 1e11, "quantity": 1}]}`],
        ['/invoices', `{"customer_id": "${c}", "line_items": [{"rate": 1, "quantity": 1e7}]}`],
        ['/invoices', `{"customer_id": "${c}", "line_items": [{"rate": 1e10, "quantity": 1e6}]}`],
        ['/customerpayments', `{"customer_id": "${c}", "amount": 1e13}`],
        ['/customerpayments', `{"customer_id": "${c}", "amount": 0.001}`],
        ['/customerpayments', `{"customer_id": "${c}", "amount": -0.5}`],
        ['/customerpayments', `{"customer_id": "${c}", "amount": 12345678901234567890123}`],
        ['/customerpayments', `{"customer_id": "${c}", "amount": 10, "invoices": [{"invoice_id": "${invoiceId}", "amount_applied": 1e400}]}`],
      ];
      for (const [path, text] of cases) {
        const res = await t.call('POST', path, { rawBody: text });
        expect.soft(res.status, `${path} ${text}`).toBe(400);
        expectZohoError(res, { code: 2 });
      }
    });

    const depth = 100_000;
    const deepArray = (inner: string): string => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
    const deepObject = (inner: string): string => `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;
    it.each([
      ['a body that is a deeply nested array', '/contacts', deepArray('1')],
      ['contact_name deeply nested', '/contacts', `{"contact_name": ${deepArray('"Deep"')}}`],
      ['contact_name a deeply nested object', '/contacts', `{"contact_name": ${deepObject('"Deep"')}}`],
      ['custom_fields deeply nested', '/contacts', `{"contact_name": "Deep Fields", "custom_fields": ${deepArray('')}}`],
      ['tags deeply nested', '/contacts', `{"contact_name": "Deep Tags", "tags": [${deepObject('1')}]}`],
      ['a deeply nested object without contact_name', '/contacts', deepObject('"x"')],
      ['line_items deeply nested', '/invoices', `{"customer_id": "CUSTOMER", "line_items": ${deepArray('')}}`],
    ])('POST with %s (depth 100,000) → 400 code 2', async (_label, path, text) => {
      const res = await t.call('POST', path, { rawBody: text.replace('CUSTOMER', customer.contact_id) });
      expectZohoError(res, { status: 400, code: 2 });
    });
  });

  describe('oversized bodies', () => {
    it('a body over 1 MiB → 413 code 2 on POST /contacts, PUT /contacts/{id} and POST /invoices', async () => {
      const big = JSON.stringify({ contact_name: 'Too Big', notes: 'n'.repeat(1024 * 1024) });
      expectZohoError(await t.call('POST', '/contacts', { rawBody: big }), { status: 413, code: 2 });
      expectZohoError(await t.call('PUT', `/contacts/${customer.contact_id}`, { rawBody: big }), { status: 413, code: 2 });
      expectZohoError(await t.call('POST', '/invoices', { rawBody: 'x'.repeat(1024 * 1024 + 1) }), { status: 413, code: 2 });
    });

    it('a 5 MiB body → 413 code 2, and the server keeps answering', async () => {
      expectZohoError(await t.call('POST', '/contacts', { rawBody: new Uint8Array(5 * 1024 * 1024).fill(0x7b) }), { status: 413, code: 2 });
      expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);
    });

    it('a body of exactly 1 MiB is read (not 413) and refused on its content → 400 code 2', async () => {
      const prefix = '{"contact_name":"';
      const text = `${prefix}${'y'.repeat(1024 * 1024 - prefix.length - 2)}"}`;
      expect(Buffer.byteLength(text)).toBe(1024 * 1024);
      expectZohoError(await t.call('POST', '/contacts', { rawBody: text }), { status: 400, code: 2 });
    });
  });

  describe('malformed ids in paths and query parameters', () => {
    const badIds = ['abc', '1'.repeat(40), '-1', '0', '12345678901234', '1e18', '3185434000000001069abc', '%20123456789012345', '%00', '12345678901234567890', '%EF%BC%91%EF%BC%92%EF%BC%93'];

    it.each(badIds)('contact id %j: status actions → 400 code 2; GET, PUT, DELETE and comments → 400 code 2 or 404 code 1002', async (id) => {
      expectZohoError(await t.call('POST', `/contacts/${id}/active`), { status: 400, code: 2 });
      expectZohoError(await t.call('POST', `/contacts/${id}/inactive`), { status: 400, code: 2 });
      for (const [method, path, body] of [
        ['GET', `/contacts/${id}`, undefined],
        ['PUT', `/contacts/${id}`, { contact_name: 'Renamed Through A Bad Id' }],
        ['DELETE', `/contacts/${id}`, undefined],
        ['GET', `/contacts/${id}/comments`, undefined],
        ['GET', `/invoices/${id}`, undefined],
        ['GET', `/vendorpayments/${id}`, undefined],
      ] as const) {
        const res = await t.call(method, path, { body });
        expectZohoError(res);
        expect([[400, 2], [404, 1002]], `${method} ${path}`).toContainEqual([res.status, (res.body as Body).code]);
      }
    });

    it.each(['abc', '1'.repeat(40), '-1', '1.5', ' ', '12345678901234567890'])('customer_id / vendor_id / zcrm_account_id %j in the query → 400 code 2', async (id) => {
      expectZohoError(await t.call('GET', '/invoices', { query: { customer_id: id } }), { status: 400, code: 2 });
      expectZohoError(await t.call('GET', '/customerpayments', { query: { customer_id: id } }), { status: 400, code: 2 });
      expectZohoError(await t.call('GET', '/bills', { query: { vendor_id: id } }), { status: 400, code: 2 });
      expectZohoError(await t.call('GET', '/contacts', { query: { zcrm_account_id: id } }), { status: 400, code: 2 });
    });

    it.each(['abc', '1'.repeat(40), '-701000001', '701000001.0', ' 701000001', '701000003'])('organization_id %j → 400 code 6024, for reads and writes', async (organization) => {
      expectZohoError(await t.call('GET', '/contacts', { organization }), { status: 400, code: 6024 });
      expectZohoError(await t.call('POST', '/contacts', { organization, body: { contact_name: 'Wrong Org Co' } }), { status: 400, code: 6024 });
      expectZohoError(await t.call('POST', `/contacts/${customer.contact_id}/inactive`, { organization }), { status: 400, code: 6024 });
    });

    it('an empty organization_id with a token for several organizations → 400 code 6024 with error_info', async () => {
      const res = await t.call('GET', `${t.baseUrl}/contacts?organization_id=`, { organization: null });
      expectZohoError(res, { status: 400, code: 6024 });
      expect(Array.isArray((res.body as Body).error_info)).toBe(true);
    });
  });

  describe('unknown query parameters are ignored', () => {
    it('GET /contacts with unknown parameters answers exactly as without them', async () => {
      const plain = await t.call('GET', '/contacts', { query: { per_page: 50, page: 2 } });
      const noisy = await t.call('GET', '/contacts', {
        query: { per_page: 50, page: 2, foo: 'bar', contact_id: 'abc', filter: 'Status.Inactive', Filter_By: 'Status.Inactive', PAGE: 9, 'per page': 1, 'search text': 'zzz', '': 'x', JSONString: '{' },
      });
      expect(plain.status).toBe(200);
      expect(noisy.status).toBe(200);
      expect(noisy.body).toEqual(plain.body);
    });

    it('transaction lists with unknown parameters answer exactly as without them', async () => {
      for (const path of TX_PATHS) {
        const plain = await t.call('GET', path, { query: { per_page: 20 } });
        const noisy = await t.call('GET', path, { query: { per_page: 20, customerid: 'abc', vendor: 'x', datestart: '2024-02-31', Status: 'paid', sort: 'total' } });
        expect(plain.status, path).toBe(200);
        expect(noisy.body, path).toEqual(plain.body);
      }
    });
  });

  describe('SQL-looking and LIKE-pattern strings', () => {
    let all: ContactLite[];
    beforeAll(async () => {
      all = await listAll<ContactLite>(t, '/contacts', 'contacts', t.organization);
    });
    const contains = (hay: string, needle: string): boolean => hay.toLowerCase().includes(needle.toLowerCase());
    const ids = (list: ContactLite[]): string[] => list.map((c) => c.contact_id).sort();

    const needles = ["' OR 1=1 --", "' OR '1'='1", '%', '_', '\\', '%%', '_%_', "'; DROP TABLE contacts; --", '" OR ""="', '*', 'percent 100%'];

    it.each(needles)('search_text=%j finds exactly the contacts whose name or company contains it literally', async (needle) => {
      const expected = all.filter((c) => contains(c.contact_name, needle) || contains(c.company_name, needle));
      const got = await listAll<ContactLite>(t, '/contacts', 'contacts', t.organization, { search_text: needle });
      expect(ids(got)).toEqual(ids(expected));
      expect(got.length).toBeLessThan(all.length);
    });

    it.each(needles)('contact_name_contains / contact_name_startswith / contact_name=%j match literally', async (needle) => {
      const containsGot = await listAll<ContactLite>(t, '/contacts', 'contacts', t.organization, { contact_name_contains: needle });
      expect(ids(containsGot)).toEqual(ids(all.filter((c) => contains(c.contact_name, needle))));
      const startsGot = await listAll<ContactLite>(t, '/contacts', 'contacts', t.organization, { contact_name_startswith: needle });
      expect(ids(startsGot)).toEqual(ids(all.filter((c) => c.contact_name.toLowerCase().startsWith(needle.toLowerCase()))));
      const exactGot = await listAll<ContactLite>(t, '/contacts', 'contacts', t.organization, { contact_name: needle });
      expect(ids(exactGot)).toEqual(ids(all.filter((c) => c.contact_name.toLowerCase() === needle.toLowerCase())));
    });

    it('the tricky names themselves are found by exact, prefix and substring searches', async () => {
      for (const name of trickyNames) {
        const exact = await t.call<{ contacts: ContactLite[] }>('GET', '/contacts', { query: { contact_name: name } });
        expect(exact.body.contacts.map((c) => c.contact_name), name).toEqual([name]);
        const starts = await t.call<{ contacts: ContactLite[] }>('GET', '/contacts', { query: { contact_name_startswith: name.slice(0, 8) } });
        expect(starts.body.contacts.map((c) => c.contact_name), name).toContain(name);
      }
    });

    it('SQL in sort_column, sort_order, filter_by and contact_type → 400 code 2', async () => {
      for (const query of [
        { sort_column: 'contact_name; DROP TABLE contacts' },
        { sort_column: 'contact_name DESC' },
        { sort_column: '__proto__' },
        { sort_order: "A' OR '1'='1" },
        { filter_by: "Status.All' OR '1'='1" },
        { filter_by: 'constructor' },
        { contact_type: "customer' OR 1=1 --" },
      ]) {
        expectZohoError(await t.call('GET', '/contacts', { query }), { status: 400, code: 2 });
      }
      expectZohoError(await t.call('GET', '/invoices', { query: { sort_column: 't.total; DELETE FROM transactions' } }), { status: 400, code: 2 });
      expectZohoError(await t.call('GET', '/invoices', { query: { sort_column: 'toString' } }), { status: 400, code: 2 });
      expectZohoError(await t.call('GET', '/bills', { query: { sort_order: 'DESC; --' } }), { status: 400, code: 2 });
    });

    it('transaction status filter with SQL → an empty list, nothing else', async () => {
      const res = await t.call<{ invoices: unknown[] }>('GET', '/invoices', { query: { status: "sent' OR '1'='1" } });
      expect(res.status).toBe(200);
      expect(res.body.invoices).toEqual([]);
    });
  });

  describe('invalid UTF-8', () => {
    it.each([
      ['raw bytes 0xff 0xfe', bytes([0xff, 0xfe])],
      ['0xff inside a JSON string', bytes('{"contact_name":"Bad ', [0xff], ' Name"}')],
      ['a truncated 3-byte sequence', bytes('{"contact_name":"Bad ', [0xe0, 0xa4], '"}')],
      ['an overlong encoding of "/"', bytes('{"contact_name":"Bad ', [0xc0, 0xaf], '"}')],
      ['an encoded surrogate (CESU-8)', bytes('{"contact_name":"Bad ', [0xed, 0xa0, 0x80], '"}')],
      ['a UTF-16 body with a BOM', bytes([0xff, 0xfe], '{\u0000"\u0000}\u0000')],
    ])('POST /contacts with %s → 400 code 2', async (_label, body) => {
      expectZohoError(await t.call('POST', '/contacts', { rawBody: body }), { status: 400, code: 2 });
    });

    it('PUT /contacts/{id} and a form body with invalid UTF-8 → 400 code 2', async () => {
      expectZohoError(await t.call('PUT', `/contacts/${customer.contact_id}`, { rawBody: bytes('{"contact_name":"', [0xff], '"}') }), { status: 400, code: 2 });
      expectZohoError(await t.call('POST', '/contacts', { rawBody: bytes('JSONString=', [0xff, 0xfe]), contentType: 'application/x-www-form-urlencoded' }), { status: 400, code: 2 });
    });

    it('a JSON \\u escape of a lone surrogate in contact_name is refused like invalid UTF-8 → 400 code 2', async () => {
      // "\ud800" is well-formed JSON text but no Unicode scalar value: it cannot be stored as
      // UTF-8 (SQLite would keep it mangled, and the create response would differ from later reads).
      expectZohoError(await t.call('POST', '/contacts', { rawBody: '{"contact_name":"Lone \\ud800 Surrogate"}' }), { status: 400, code: 2 });
      expectZohoError(await t.call('PUT', `/contacts/${customer.contact_id}`, { rawBody: '{"notes":"Lone \\udfff"}' }), { status: 400, code: 2 });
    });

    it.each(['/contacts/%E0%A4%A', '/contacts/%FF', '/contacts/%FF/active', '/contacts/%E0%A4%A/inactive', '/contacts/%C0%AF', '/contacts/%ED%A0%80', '/invoices/%FE%FF', '/%FF'])('path %s → 4xx Zoho envelope', async (path) => {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE']) expectZohoError(await t.call(method, path));
    });

    it.each([
      ['search_text', '%FF'],
      ['search_text', '%E0%A4%A'],
      ['contact_name_contains', '%C0%AF'],
      ['contact_name', '%ED%A0%80'],
    ])('query %s=%s (invalid UTF-8) → 400 code 2, not a search for U+FFFD', async (name, value) => {
      const res = await t.call('GET', `${t.baseUrl}/contacts?organization_id=${t.organization}&${name}=${value}`, { organization: null });
      expectZohoError(res, { status: 400, code: 2 });
    });

    it('organization_id=%FF → 400 code 2 (the query string is refused as a whole)', async () => {
      expectZohoError(await t.call('GET', `${t.baseUrl}/contacts?organization_id=%FF`, { organization: null }), { status: 400, code: 2 });
    });
  });

  describe('invalid paging', () => {
    const values = ['0', '-1', 'abc', '1e9', '1.5', ' 1', '0x10', '+1', '999999999', '2147483648', '99999999999999999999', '-0', '١'];
    it.each(values)('page=%j and per_page=%j clamp or fail cleanly (200 with sane page_context, or 400 code 2)', async (value) => {
      for (const [path, key] of [['/contacts', 'contacts'], ['/invoices', 'invoices'], [`/contacts/${customer.contact_id}/comments`, 'contact_comments']] as const) {
        for (const param of ['page', 'per_page']) {
          const res = await t.call<Body>('GET', path, { query: { [param]: value } });
          if (res.status === 200) {
            const pc = res.body.page_context as { page: number; per_page: number; has_more_page: boolean };
            expect(Number.isSafeInteger(pc.page) && pc.page >= 1, `${path} ${param}=${value}`).toBe(true);
            expect(pc.per_page >= 1 && pc.per_page <= 200, `${path} ${param}=${value}`).toBe(true);
            expect((res.body[key] as unknown[]).length).toBeLessThanOrEqual(pc.per_page);
          } else {
            expectZohoError(res, { status: 400, code: 2 });
          }
        }
      }
    });

    it('per_page above 200 is clamped to 200', async () => {
      const res = await t.call<{ page_context: { per_page: number }; contacts: unknown[] }>('GET', '/contacts', { query: { per_page: 201 } });
      expect(res.status).toBe(200);
      expect(res.body.page_context.per_page).toBe(200);
      expect(res.body.contacts.length).toBeLessThanOrEqual(200);
    });
  });

  describe('invalid dates', () => {
    it.each([
      ['/invoices', 'date_start', '2024-02-31'],
      ['/invoices', 'date_end', '2023-02-29'],
      ['/invoices', 'date', '2024-00-10'],
      ['/bills', 'date_before', '2024-13-01'],
      ['/bills', 'date_after', '2024-2-1'],
      ['/customerpayments', 'date_start', 'yesterday'],
      ['/vendorcredits', 'date_end', '2024-04-31'],
      ['/invoices', 'last_modified_time', '2024-02-31T10:00:00+0530'],
      ['/contacts', 'last_modified_time', '2024-02-30'],
      ['/contacts', 'last_modified_time', '2024-01-01T25:00:00+0530'],
      ['/contacts', 'last_modified_time', 'now'],
    ])('GET %s?%s=%s → 400 code 2', async (path, name, value) => {
      expectZohoError(await t.call('GET', path, { query: { [name]: value } }), { status: 400, code: 2 });
    });

    it('a real leap day is accepted (the check is not over-eager)', async () => {
      expect((await t.call('GET', '/invoices', { query: { date_start: '2024-02-29' } })).status).toBe(200);
    });

    it('documents with an impossible date or due date → 400 code 2', async () => {
      const c = customer.contact_id;
      for (const [path, body] of [
        ['/invoices', { customer_id: c, total: 10, date: '2024-02-31' }],
        ['/invoices', { customer_id: c, total: 10, date: '2024-01-10', due_date: '2024-02-30' }],
        ['/invoices', { customer_id: c, total: 10, date: '2024-03-10', due_date: '2024-03-01' }],
        ['/bills', { vendor_id: vendor.contact_id, total: 10, date: '31-01-2024' }],
        ['/customerpayments', { customer_id: c, amount: 10, date: '2024-02-31' }],
        ['/vendorpayments', { vendor_id: vendor.contact_id, amount: 10, date: '2024-02-31T00:00:00' }],
      ] as const) {
        expectZohoError(await t.call('POST', path, { body }), { status: 400, code: 2 });
      }
    });
  });

  describe('header oddities', () => {
    it.each([
      ['no Authorization header', undefined],
      ['an empty Authorization header', ''],
      ['the scheme with no token', 'Zoho-oauthtoken'],
      ['the scheme and spaces', 'Zoho-oauthtoken    '],
      ['Bearer with no token', 'Bearer'],
      ['Basic credentials', 'Basic dXNlcjpwYXNz'],
      ['an unknown scheme with a valid token', 'Token VALID'],
      ['a valid token with no scheme', 'VALID'],
      ['the token before the scheme', 'VALID Zoho-oauthtoken'],
    ])('%s → 401 code 14', async (_label, header) => {
      const headers: Record<string, string> = header === undefined ? {} : { authorization: header.replace('VALID', t.token) };
      expectZohoError(await t.call('GET', '/contacts', { token: null, headers }), { status: 401, code: 14 });
      expectZohoError(await t.call('POST', `/contacts/${customer.contact_id}/inactive`, { token: null, headers }), { status: 401, code: 14 });
    });

    it.each([
      ['an unknown token', 'Zoho-oauthtoken 1000.nope.nope'],
      ['a valid token with a suffix', 'Zoho-oauthtoken VALID extra'],
      ['a valid token cut short', 'Zoho-oauthtoken SHORT'],
      ['an 8 KiB token', `Bearer ${'x'.repeat(8192)}`],
      ["a token that looks like SQL", "Zoho-oauthtoken ' OR 1=1 --"],
    ])('%s → 401 code 57', async (_label, header) => {
      const value = header.replace('VALID', t.token).replace('SHORT', t.token.slice(0, -1));
      expectZohoError(await t.call('GET', '/contacts', { token: null, headers: { authorization: value } }), { status: 401, code: 57 });
      expectZohoError(await t.call('POST', '/contacts', { token: null, headers: { authorization: value }, body: { contact_name: 'Unauthorized Co' } }), { status: 401, code: 57 });
    });

    it('a malformed request line (lower-case method) gets a 4xx JSON envelope, and the server keeps answering', async () => {
      const raw = await rawHttp(t.server.port, `get /books/v3/contacts?organization_id=${t.organization} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      expectRawZohoError(raw);
      expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);
    });

    it('a header block over 16 KiB gets a 4xx JSON envelope, and the server keeps answering', async () => {
      const raw = await rawHttp(t.server.port, `GET /books/v3/contacts?organization_id=${t.organization} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Zoho-oauthtoken ${t.token}\r\nX-Padding: ${'p'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
      expectRawZohoError(raw);
      expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);
    });
  });

  describe('the OAuth endpoint answers bad input with its own {error} shape', () => {
    const form = 'application/x-www-form-urlencoded';
    it.each([
      ['invalid UTF-8', bytes('grant_type=refresh_token&refresh_token=', [0xff, 0xfe]), form],
      ['an empty body', '', form],
      ['malformed JSON', '{"grant_type":', 'application/json'],
      ['no grant_type', 'client_id=x&client_secret=y', form],
      ['an unknown grant_type', 'grant_type=password&username=a&password=b', form],
      ['a refresh token that looks like SQL', `grant_type=refresh_token&refresh_token=${pct("' OR 1=1 --")}&client_id=x&client_secret=y`, form],
      ['a grant code with invalid percent-encoding', 'grant_type=authorization_code&code=%FF%E0%A4%A&client_id=x&client_secret=y', form],
      ['a JSON array', '[1,2]', 'application/json'],
    ])('POST /oauth/v2/token with %s → no token, {error}', async (_label, body, contentType) => {
      expectOAuthRefusal(await t.call('POST', `${t.origin}/oauth/v2/token`, { organization: null, token: null, rawBody: body, contentType }));
    });

    it('GET /oauth/v2/token and a revoke with junk → {error}', async () => {
      expectOAuthRefusal(await t.call('GET', `${t.origin}/oauth/v2/token?grant_type=refresh_token`, { organization: null, token: null }));
      expectOAuthRefusal(await t.call('POST', `${t.origin}/oauth/v2/token/revoke?token=%FF`, { organization: null, token: null }));
    });

    it('an oversized body to the token endpoint → 413 and no token', async () => {
      const res = await t.call('POST', `${t.origin}/oauth/v2/token`, { organization: null, token: null, rawBody: `grant_type=refresh_token&refresh_token=${'r'.repeat(1024 * 1024)}`, contentType: form });
      expect(res.status).toBe(413);
      expect(isObject(res.body) && (typeof res.body.error === 'string' || (typeof res.body.code === 'number' && res.body.code !== 0))).toBe(true);
    });
  });

  it('the request log holds no 5xx for anything sent above', async () => {
    const log = await t.admin<{ requests: Array<{ status: number; method: string; path: string }> }>('GET', '/__emulator/requests?limit=100000');
    expect(log.body.requests.length).toBeGreaterThan(500);
    expect(log.body.requests.filter((r) => r.status >= 500 || r.status === 0)).toEqual([]);
  });
});

/** A raw HTTP response that is a 4xx with a Zoho JSON envelope. */
function expectRawZohoError(raw: string): void {
  const [head = '', body = ''] = raw.split('\r\n\r\n', 2);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
  expect(status, head).toBeGreaterThanOrEqual(400);
  expect(status, head).toBeLessThan(500);
  expect(head.toLowerCase(), head).toContain('content-type: application/json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = body;
  }
  expect(isObject(parsed) && typeof parsed.code === 'number' && parsed.code !== 0 && typeof parsed.message === 'string', `body: ${JSON.stringify(body)}`).toBe(true);
}

// =============================================================================================
// Part 2: property-based fuzz over the HTTP surface
// =============================================================================================

const FUZZ_SEED = 20_240_531;
const FUZZ_RUNS = 1000;

interface FuzzRequest {
  method: string;
  path: string;
  query: string;
  body?: string | Uint8Array;
  contentType?: string;
  auth: 'valid' | 'none' | 'garbage' | 'scheme' | 'bearer';
}

describe('property-based fuzz over the HTTP surface (no faults injected)', () => {
  let t: TestEmulator;
  let realIds: string[] = [];

  beforeAll(async () => {
    t = await startTestEmulator({ limits: false, contacts: 60 });
    const contacts = await t.call<{ contacts: ContactLite[] }>('GET', '/contacts', { query: { per_page: 30 } });
    const invoices = await t.call<{ invoices: Array<{ invoice_id: string }> }>('GET', '/invoices', { query: { per_page: 5 } });
    const bills = await t.call<{ bills: Array<{ bill_id: string }> }>('GET', '/bills', { query: { per_page: 5 } });
    realIds = [
      ...contacts.body.contacts.map((c) => c.contact_id),
      ...invoices.body.invoices.map((i) => i.invoice_id),
      ...bills.body.bills.map((b) => b.bill_id),
    ];
    expect(realIds.length).toBeGreaterThan(20);
  });

  afterAll(async () => {
    await t?.close();
  });

  function arbitraries(): fc.Arbitrary<FuzzRequest> {
    const rawGarbage = fc.constantFrom('%FF', '%E0%A4%A', '%', '%ZZ', '%00', '%C0%AF', '%ED%A0%80', '%2F', '..', '.', '%2e%2e', '', ' ', '+', '%20');
    const words = fc.constantFrom(
      'contacts', 'active', 'inactive', 'comments', 'organizations', 'invoices', 'bills', 'customerpayments', 'vendorpayments',
      '__proto__', 'constructor', 'null', 'undefined', '-1', '0', '1e18', 'NaN', "' OR 1=1 --", 'Status.All',
    );
    const segment = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...realIds) },
      { weight: 2, arbitrary: fc.stringMatching(/^[0-9]{1,40}$/) },
      { weight: 2, arbitrary: fc.string({ maxLength: 12, unit: 'binary' }).map(pct) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 6 }).map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')) },
      { weight: 2, arbitrary: rawGarbage },
      { weight: 2, arbitrary: words },
    );
    // Mostly the real routes (method and path shape as the emulator serves them, with a random
    // segment where the id goes), sometimes any method on any shape.
    const tx = TX_PATHS.map((p) => p.slice(1));
    const realRoutes: Array<[string, (seg: string) => string[]]> = [
      ['GET', () => ['organizations']],
      ['GET', () => ['contacts']],
      ['POST', () => ['contacts']],
      ['GET', (x) => ['contacts', x]],
      ['PUT', (x) => ['contacts', x]],
      ['DELETE', (x) => ['contacts', x]],
      ['POST', (x) => ['contacts', x, 'active']],
      ['POST', (x) => ['contacts', x, 'inactive']],
      ['GET', (x) => ['contacts', x, 'comments']],
      ...tx.flatMap((p): Array<[string, (seg: string) => string[]]> => [['GET', () => [p]], ['POST', () => [p]], ['GET', (x) => [p, x]]]),
    ];
    const anyShape = fc.oneof(
      fc.tuple(fc.constantFrom('contacts', ...tx), segment).map(([a, b]) => [a, b]),
      fc.tuple(fc.constant('contacts'), segment, segment).map(([a, b, c]) => [a, b, c]),
      fc.tuple(fc.constantFrom(...tx), segment, fc.constantFrom('active', 'comments', 'inactive')).map(([a, b, c]) => [a, b, c]),
      fc.array(segment, { maxLength: 5 }),
    );
    const anyMethod = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS');
    const route = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...realRoutes), segment).map(([[m, build], seg]) => ({ method: m, parts: build(seg) })) },
      { weight: 1, arbitrary: fc.tuple(anyMethod, anyShape).map(([m, parts]) => ({ method: m, parts })) },
    );
    const prefix = fc.oneof(
      { weight: 15, arbitrary: fc.constant('/books/v3') },
      { weight: 1, arbitrary: fc.constantFrom('', '/books/v2', '/books', '/books/v3/', '//books/v3', '/BOOKS/V3') },
    );
    const target = fc.oneof(
      { weight: 20, arbitrary: fc.tuple(prefix, route, fc.nat({ max: 9 })).map(([p, r, n]) => ({ method: r.method, path: `${p}/${r.parts.join('/')}${n === 0 ? '/' : ''}` })) },
      { weight: 1, arbitrary: fc.tuple(anyMethod, fc.constantFrom('/oauth/v2/token', '/oauth/v2/token/revoke', '/oauth/v2/auth', '/oauth/v2/token/')).map(([m, p]) => ({ method: m, path: p })) },
    ).map((x) => (x.path.startsWith('/__emulator') ? { ...x, path: `/x${x.path}` } : x));

    const queryKey = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(
        'page', 'per_page', 'filter_by', 'search_text', 'contact_name', 'contact_name_contains', 'contact_name_startswith',
        'sort_column', 'sort_order', 'customer_id', 'vendor_id', 'contact_type', 'date', 'date_start', 'date_end',
        'date_before', 'date_after', 'last_modified_time', 'status', 'zcrm_account_id', 'zcrm_contact_id', 'email_contains',
        'JSONString', 'has_transaction', 'organization_id', 'grant_type', 'refresh_token', 'client_id', 'client_secret', 'code', 'token',
      ) },
      { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map(pct) },
    );
    const queryValue = fc.oneof(
      fc.constantFrom(...realIds),
      fc.string({ maxLength: 20, unit: 'binary' }).map(pct),
      fc.stringMatching(/^-?[0-9]{0,25}$/),
      fc.constantFrom('2024-02-29', '2024-02-31', '2024-13-01', 'Status.Active', 'Status.Inactive', 'contact_name', 'A', 'D', 'customer', 'vendor', 'true', '1e9', '0', '-1', 'abc', '201'),
      rawGarbage,
      fc.jsonValue({ maxDepth: 2 }).map((v) => pct(JSON.stringify(v) ?? 'null')),
      fc.string({ minLength: 90, maxLength: 130 }).map(pct),
    );
    const organizationParam = fc.oneof(
      { weight: 10, arbitrary: fc.constant(`organization_id=${t.organization}`) },
      { weight: 1, arbitrary: fc.constant(`organization_id=${t.organizations[1] ?? t.organization}`) },
      { weight: 1, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: queryValue.map((v) => `organization_id=${v}`) },
    );
    const query = fc.tuple(organizationParam, fc.array(fc.tuple(queryKey, queryValue), { maxLength: 6 }))
      .map(([organization, pairs]) => [organization, ...pairs.map(([k, v]) => `${k}=${v}`)].filter((s) => s !== '').join('&'));

    const anyValue = fc.oneof(
      fc.string({ maxLength: 30, unit: 'binary' }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom(...realIds),
      fc.stringMatching(/^-?[0-9]{1,22}(\.[0-9]{1,4})?$/),
      fc.constantFrom('2024-02-29', '2024-02-31', 'customer', 'vendor', 'business', 'a@b.co', 'INR', ''),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const contactLike = fc.record({
      contact_name: anyValue, company_name: anyValue, contact_type: anyValue, email: anyValue, phone: anyValue,
      credit_limit: anyValue, currency_code: anyValue, is_portal_enabled: anyValue, status: anyValue, zcrm_account_id: anyValue,
      custom_fields: fc.oneof(anyValue, fc.array(fc.record({ api_name: anyValue, label: anyValue, value: anyValue }, { requiredKeys: [] }), { maxLength: 3 })),
      tags: fc.oneof(anyValue, fc.array(fc.record({ tag_id: anyValue, tag_name: anyValue }, { requiredKeys: [] }), { maxLength: 3 })),
    }, { requiredKeys: [] });
    const lineItem = fc.record({ name: anyValue, rate: anyValue, quantity: anyValue, description: anyValue }, { requiredKeys: [] });
    const txLike = fc.record({
      customer_id: anyValue, vendor_id: anyValue, date: anyValue, due_date: anyValue, total: anyValue, amount: anyValue,
      reference_number: anyValue, invoice_number: anyValue, bill_number: anyValue, payment_mode: anyValue,
      line_items: fc.oneof(anyValue, fc.array(lineItem, { maxLength: 3 })),
      invoices: fc.oneof(anyValue, fc.array(fc.record({ invoice_id: anyValue, amount_applied: anyValue }, { requiredKeys: [] }), { maxLength: 2 })),
      bills: fc.oneof(anyValue, fc.array(fc.record({ bill_id: anyValue, amount_applied: anyValue }, { requiredKeys: [] }), { maxLength: 2 })),
    }, { requiredKeys: [] });
    // Bodies that are valid or nearly so, so that some requests get past validation and write.
    const contactIds = realIds.slice(0, 30);
    const validContact = fc.record({
      contact_name: fc.string({ minLength: 1, maxLength: 40 }),
      contact_type: fc.constantFrom('customer', 'vendor'),
      email: fc.constantFrom(undefined, 'a@b.co', 'x'),
    }, { requiredKeys: ['contact_name'] });
    const validDocument = fc.record({
      customer_id: fc.constantFrom(...contactIds),
      vendor_id: fc.constantFrom(...contactIds),
      total: fc.double({ min: 0, max: 1e6, noNaN: true }),
      amount: fc.double({ min: 0.01, max: 1e6, noNaN: true }),
      date: fc.constantFrom(undefined, '2024-02-29', '2023-12-31'),
      line_items: fc.constantFrom(undefined, [{ name: 'Item', rate: 12.5, quantity: 2 }]),
    }, { requiredKeys: ['customer_id', 'vendor_id'] });
    const body = fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },

      { weight: 2, arbitrary: fc.string({ maxLength: 60, unit: 'binary' }) },
      { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }) },
      { weight: 3, arbitrary: contactLike.map((o) => JSON.stringify(o)) },
      { weight: 3, arbitrary: txLike.map((o) => JSON.stringify(o)) },
      { weight: 1, arbitrary: fc.oneof(contactLike, txLike).map((o) => `JSONString=${pct(JSON.stringify(o))}`) },
      { weight: 1, arbitrary: fc.tuple(fc.nat({ max: 3000 }), fc.constantFrom('[', '{"a":')).map(([n, open]) => `${open.repeat(n)}1${(open === '[' ? ']' : '}').repeat(n)}`) },
    );
    const contentType = fc.constantFrom(undefined, 'application/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=b', 'text/plain', '', 'application/json; charset=latin1');
    const auth = fc.oneof(
      { weight: 12, arbitrary: fc.constant('valid' as const) },
      { weight: 1, arbitrary: fc.constantFrom('none' as const, 'garbage' as const, 'scheme' as const, 'bearer' as const) },
    );
    return fc.record({ target, query, body, contentType, auth, valid: fc.nat({ max: 3 }), validContact, validDocument }, { requiredKeys: ['target', 'query', 'auth', 'valid', 'validContact', 'validDocument'] })
      .map(({ target: { method, path }, valid, validContact: vc, validDocument: vd, ...r }): FuzzRequest => {
        let chosen = r.body;
        // One write in four to a create or update route carries a valid (or nearly valid) body.
        if (valid === 0 && (method === 'POST' || method === 'PUT')) {
          if (/\/contacts(\/[^/]+)?\/?$/.test(path)) chosen = JSON.stringify(vc);
          else if (TX_PATHS.some((p) => path.endsWith(p) || path.endsWith(`${p}/`))) chosen = JSON.stringify(vd);
        }
        return { ...r, method, path, body: method === 'GET' || method === 'HEAD' ? undefined : chosen };
      });
  }

  async function send(r: FuzzRequest): Promise<CallResult> {
    const headers: Record<string, string> = {};
    if (r.auth === 'valid') headers.authorization = `Zoho-oauthtoken ${t.token}`;
    if (r.auth === 'bearer') headers.authorization = `Bearer ${t.token}`;
    if (r.auth === 'garbage') headers.authorization = 'Zoho-oauthtoken 1000.garbage.garbage';
    if (r.auth === 'scheme') headers.authorization = `Digest ${t.token}`;
    const url = `${t.origin}${r.path}${r.query ? `?${r.query}` : ''}`;
    return t.call(r.method, url, { organization: null, token: null, headers, rawBody: r.body, contentType: r.contentType ?? 'application/json' });
  }

  function checkResponse(r: FuzzRequest, res: CallResult): void {
    const shown = `${r.method} ${r.path}?${r.query} → HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;
    expect(res.status, shown).toBeGreaterThanOrEqual(200);
    expect(res.status, shown).toBeLessThan(500);
    if (r.method === 'HEAD') return;
    expect(res.headers.get('content-type') ?? '', shown).toMatch(/^application\/json/);
    expect(isObject(res.body), shown).toBe(true);
    const body = res.body as Body;
    if (r.path.startsWith('/oauth/') && !('code' in body)) {
      // The accounts server: {error} (any status below 500) or a token grant.
      expect(typeof body.error === 'string' || typeof body.access_token === 'string' || body.status === 'success', shown).toBe(true);
      return;
    }
    expect(typeof body.code, shown).toBe('number');
    expect(typeof body.message, shown).toBe('string');
    if (res.status < 300) expect(body.code, shown).toBe(0);
    else {
      expect(res.status, shown).toBeGreaterThanOrEqual(400);
      expect(body.code, shown).not.toBe(0);
    }
    if (res.status === 405) expect(res.headers.get('allow') ?? '', shown).not.toBe('');
  }

  it(`${FUZZ_RUNS} random requests (seed ${FUZZ_SEED}): never a 5xx, always a JSON envelope, the server keeps answering`, async () => {
    let cases = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(arbitraries(), async (r) => {
        cases++;
        const res = await send(r);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        checkResponse(r, res);
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS },
    );
    console.log(`[bad-input fuzz] ${cases} cases tried (seed ${FUZZ_SEED}); statuses: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
    expect(cases).toBeGreaterThanOrEqual(FUZZ_RUNS);
    // The fuzz must reach handlers, not only the router and the auth check.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(FUZZ_RUNS / 20);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(FUZZ_RUNS / 20);

    // Still answering, still consistent, and no 5xx in the request log.
    const after = await t.call('GET', '/contacts', { query: { per_page: 1 } });
    expect(after.status).toBe(200);
    const check = await t.admin<{ ok: boolean; mismatches: unknown[] }>('GET', '/__emulator/check');
    expect(check.body).toEqual({ ok: true, mismatches: [] });
    const log = await t.admin<{ requests: Array<{ status: number }> }>('GET', '/__emulator/requests?limit=100000');
    expect(log.body.requests.filter((e) => e.status >= 500 || e.status === 0)).toEqual([]);
  });
});
