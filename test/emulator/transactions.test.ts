/**
 * Transactions over HTTP (reference §4): list filters, get one, create, scopes, and the derived
 * amounts they move on contacts. Every scenario ends with `GET /__emulator/check` returning ok.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TRANSACTION_TYPES, TRANSACTION_TYPE_NAMES, type TransactionTypeInfo } from '../../src/zoho/transaction-types.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';

type Doc = Record<string, unknown>;
interface PageContext {
  page: number;
  per_page: number;
  has_more_page: boolean;
  applied_filter: string;
  sort_column: string;
  sort_order: string;
}
type ListBody = { code: number; message: string; page_context: PageContext } & Record<string, unknown>;
interface ContactBody {
  code: number;
  contact: {
    contact_id: string;
    contact_name: string;
    status: string;
    outstanding_receivable_amount: number;
    outstanding_payable_amount: number;
    unused_credits_receivable_amount: number;
    unused_credits_payable_amount: number;
    has_transaction: boolean;
  };
}

/** 2030-06-01 11:30 in the first organization (+05:30), 01:00 in the second (−05:00). */
const START = Date.UTC(2030, 5, 1, 6, 0, 0);
const TODAY = '2030-06-01';
/** Well before any seeded history, so lists filtered by these dates hold only our fixtures. */
const JAN = '2001-01-10';
const FEB = '2001-02-10';
const MAR = '2001-03-10';
/** A due date after the clock, so fixture invoices and bills do not read as overdue. */
const FAR_DUE = '2031-12-31';
const UNKNOWN_ID = '3185434999999999999';

const INITIAL_STATUS: Record<string, string> = {
  invoices: 'sent',
  salesorders: 'open',
  estimates: 'sent',
  creditnotes: 'open',
  customerpayments: 'paid',
  salesreceipts: 'paid',
  bills: 'open',
  purchaseorders: 'open',
  vendorpayments: 'paid',
  vendorcredits: 'open',
};

const hasDueDate = (info: TransactionTypeInfo): boolean => info.ledger === 'receivable' || info.ledger === 'payable';
const label = (info: TransactionTypeInfo): string => info.label.charAt(0).toUpperCase() + info.label.slice(1);

let t: TestEmulator;
let fixtureCount = 0;

beforeEach(async () => {
  // Scenarios move the clock by days: a long token lifetime keeps the ready-made token valid.
  t = await startTestEmulator({ startAt: START, contacts: 20, limits: false, tokenTtlSeconds: 10 * 365 * 86_400 });
  const frozen = await t.admin('POST', '/__emulator/clock', { freeze: true });
  expect(frozen.status).toBe(200);
});

afterEach(async () => {
  try {
    const check = await t.admin('GET', '/__emulator/check');
    expect(check.status).toBe(200);
    expect(check.body).toEqual({ ok: true, mismatches: [] });
  } finally {
    await t.close();
  }
});

async function newContact(type: 'customer' | 'vendor', organization?: string): Promise<{ id: string; name: string }> {
  fixtureCount++;
  const name = `Fixture ${type} ${fixtureCount}`;
  const res = await t.call<ContactBody>('POST', '/contacts', { body: { contact_name: name, contact_type: type }, organization });
  expect(res.status).toBe(201);
  return { id: res.body.contact.contact_id, name };
}

async function contact(id: string, organization?: string): Promise<ContactBody['contact']> {
  const res = await t.call<ContactBody>('GET', `/contacts/${id}`, { organization });
  expect(res.status).toBe(200);
  return res.body.contact;
}

function bodyFor(info: TransactionTypeInfo, contactId: string, money: number, extra: Doc = {}): Doc {
  const body: Doc = { [info.contactIdField]: contactId };
  if (info.amountField === 'amount') body.amount = money;
  else body.line_items = [{ name: 'Widget', rate: money / 2, quantity: 2 }];
  if (hasDueDate(info)) body.due_date = FAR_DUE;
  return { ...body, ...extra };
}

async function create(info: TransactionTypeInfo, body: Doc, token?: string, organization?: string): Promise<Doc> {
  const res = await t.call<Doc>('POST', info.path, { body, token, organization });
  expect(res.body, JSON.stringify(res.body)).toMatchObject({ code: 0 });
  expect(res.status).toBe(201);
  return res.body[info.singleKey] as Doc;
}

async function list(info: TransactionTypeInfo, query: Record<string, string | number>): Promise<{ docs: Doc[]; page: PageContext }> {
  const res = await t.call<ListBody>('GET', info.path, { query });
  expect(res.body, JSON.stringify(res.body)).toMatchObject({ code: 0, message: 'success' });
  expect(res.status).toBe(200);
  return { docs: res.body[info.listKey] as Doc[], page: res.body.page_context };
}

async function listAll(info: TransactionTypeInfo, query: Record<string, string | number> = {}): Promise<Doc[]> {
  const out: Doc[] = [];
  for (let page = 1; ; page++) {
    const { docs, page: ctx } = await list(info, { ...query, per_page: 200, page });
    out.push(...docs);
    if (!ctx.has_more_page) return out;
  }
}

const ids = (info: TransactionTypeInfo, docs: Doc[]): string[] => docs.map((d) => d[info.idField] as string);

async function expectConsistent(): Promise<void> {
  const check = await t.admin('GET', '/__emulator/check');
  expect(check.body).toEqual({ ok: true, mismatches: [] });
}

describe.each(TRANSACTION_TYPE_NAMES.map((type) => [type, TRANSACTION_TYPES[type]] as const))('%s', (_type, info) => {
  const otherType = info.contactType === 'customer' ? 'vendor' : 'customer';

  it('creates with 201, numbers automatically, and reads the record back', async () => {
    const c = await newContact(info.contactType);
    const res = await t.call<Doc>('POST', info.path, { body: bodyFor(info, c.id, 120.5, { date: FEB, reference_number: 'REF-1' }) });
    expect(res.status).toBe(201);
    expect(res.body.code).toBe(0);
    expect(res.body.message).toBe(`The ${info.label} has been created.`);
    const first = res.body[info.singleKey] as Doc;
    expect(first[info.idField]).toMatch(/^\d{15,19}$/);
    expect(first).toMatchObject({
      [info.contactIdField]: c.id,
      [info.contactNameField]: c.name,
      [info.amountField]: 120.5,
      balance: info.ledger === 'none' ? 0 : 120.5,
      status: INITIAL_STATUS[info.type],
      date: FEB,
      reference_number: 'REF-1',
    });
    if (info.numberIsInteger) expect(Number.isInteger(first[info.numberField]) && (first[info.numberField] as number) > 0).toBe(true);
    else expect(first[info.numberField]).toMatch(new RegExp(`^${info.numberPrefix}\\d{6}$`));
    if (hasDueDate(info)) expect(first.due_date).toBe(FAR_DUE);
    if (info.amountField === 'amount') expect(first.unused_amount).toBe(120.5);
    else expect(first.line_items).toEqual([{ name: 'Widget', rate: 60.25, quantity: 2, item_total: 120.5 }]);

    const second = await create(info, bodyFor(info, c.id, 10));
    expect(second.date).toBe(TODAY);
    const n1 = Number(String(first[info.numberField]).slice(info.numberPrefix.length));
    expect(second[info.numberField]).toBe(info.numberIsInteger ? n1 + 1 : `${info.numberPrefix}${String(n1 + 1).padStart(6, '0')}`);
    const named = await create(info, bodyFor(info, c.id, 10, { [info.numberField]: 'CUSTOM-7' }));
    expect(named[info.numberField]).toBe('CUSTOM-7');
    const third = await create(info, bodyFor(info, c.id, 10));
    expect(third[info.numberField]).toBe(info.numberIsInteger ? n1 + 2 : `${info.numberPrefix}${String(n1 + 2).padStart(6, '0')}`);

    const got = await t.call<Doc>('GET', `${info.path}/${first[info.idField] as string}`);
    expect(got.status).toBe(200);
    expect(got.body.code).toBe(0);
    expect(got.body[info.singleKey]).toEqual(first);

    const after = await contact(c.id);
    expect(after.has_transaction).toBe(true);
  });

  it('lists with contact, date, status, sort and paging filters', async () => {
    const a = await newContact(info.contactType);
    const b = await newContact(info.contactType);
    const jan = await create(info, bodyFor(info, a.id, 10, { date: JAN }));
    await t.admin('POST', '/__emulator/clock', { advanceSeconds: 3600 });
    const feb = await create(info, bodyFor(info, a.id, 20, { date: FEB }));
    await t.admin('POST', '/__emulator/clock', { advanceSeconds: 3600 });
    const mar = await create(info, bodyFor(info, a.id, 30, { date: MAR }));
    const other = await create(info, bodyFor(info, b.id, 40, { date: FEB }));
    const id = (d: Doc): string => d[info.idField] as string;
    const byA = { [info.contactIdField]: a.id, sort_column: 'date', sort_order: 'A' };

    const all = await list(info, byA);
    expect(ids(info, all.docs)).toEqual([id(jan), id(feb), id(mar)]);
    expect(all.page).toEqual({ page: 1, per_page: 200, has_more_page: false, applied_filter: 'Status.All', sort_column: 'date', sort_order: 'A' });
    for (const d of all.docs) {
      expect(d).toMatchObject({ [info.contactIdField]: a.id, [info.contactNameField]: a.name, status: INITIAL_STATUS[info.type] });
      expect(typeof d.created_time).toBe('string');
      expect(d.last_modified_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0530$/);
    }

    expect(ids(info, (await list(info, { ...byA, date: FEB })).docs)).toEqual([id(feb)]);
    expect(ids(info, (await list(info, { ...byA, date_start: FEB })).docs)).toEqual([id(feb), id(mar)]);
    expect(ids(info, (await list(info, { ...byA, date_end: FEB })).docs)).toEqual([id(jan), id(feb)]);
    expect(ids(info, (await list(info, { ...byA, date_before: FEB })).docs)).toEqual([id(jan)]);
    expect(ids(info, (await list(info, { ...byA, date_after: FEB })).docs)).toEqual([id(mar)]);
    expect(ids(info, (await list(info, { ...byA, date_start: FEB, date_end: FEB })).docs)).toEqual([id(feb)]);
    // Without the contact filter, the date still selects across contacts (the seed has nothing in 2001).
    expect(ids(info, (await list(info, { date: FEB, sort_column: 'date', sort_order: 'A' })).docs).sort()).toEqual([id(feb), id(other)].sort());
    expect(ids(info, (await list(info, { [info.contactIdField]: b.id })).docs)).toEqual([id(other)]);

    // last_modified_time: modified at or after the given time.
    expect(ids(info, (await list(info, { ...byA, last_modified_time: feb.last_modified_time as string })).docs)).toEqual([id(feb), id(mar)]);
    expect(ids(info, (await list(info, { ...byA, last_modified_time: mar.last_modified_time as string })).docs)).toEqual([id(mar)]);

    // status
    expect((await list(info, { ...byA, status: INITIAL_STATUS[info.type] as string })).docs).toHaveLength(3);
    expect((await list(info, { ...byA, status: 'void' })).docs).toHaveLength(0);

    // sort
    expect(ids(info, (await list(info, { ...byA, sort_order: 'D' })).docs)).toEqual([id(mar), id(feb), id(jan)]);
    expect(ids(info, (await list(info, { ...byA, sort_column: info.amountField, sort_order: 'D' })).docs)).toEqual([id(mar), id(feb), id(jan)]);
    const byCreated = await list(info, { [info.contactIdField]: a.id });
    expect(byCreated.page.sort_column).toBe('created_time');
    expect(byCreated.page.sort_order).toBe('D');
    expect(ids(info, byCreated.docs)).toEqual([id(mar), id(feb), id(jan)]);

    // paging
    const p1 = await list(info, { ...byA, per_page: 2, page: 1 });
    expect(ids(info, p1.docs)).toEqual([id(jan), id(feb)]);
    expect(p1.page).toMatchObject({ page: 1, per_page: 2, has_more_page: true });
    const p2 = await list(info, { ...byA, per_page: 2, page: 2 });
    expect(ids(info, p2.docs)).toEqual([id(mar)]);
    expect(p2.page).toMatchObject({ page: 2, per_page: 2, has_more_page: false });
    const exact = await list(info, { ...byA, per_page: 3, page: 1 });
    expect(exact.docs).toHaveLength(3);
    expect(exact.page.has_more_page).toBe(false);

    // invalid filter values are code 2
    for (const [key, value] of [['date_start', '2001-13-01'], ['date', 'yesterday'], [info.contactIdField, 'abc'], ['sort_order', 'X'], ['sort_column', 'nope'], ['page', '0']] as const) {
      const bad = await t.call('GET', info.path, { query: { [key]: value } });
      expect(bad.status, key).toBe(400);
      expect(bad.body, key).toEqual({ code: 2, message: `Invalid value passed for ${key}` });
    }
  });

  it('answers 1002 for an unknown id and code 2 for a malformed one', async () => {
    const missing = await t.call('GET', `${info.path}/${UNKNOWN_ID}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ code: 1002, message: `${label(info)} does not exist.` });

    const malformed = await t.call('GET', `${info.path}/12345`);
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({ code: 2, message: `Invalid value passed for ${info.idField}` });

    // A record of another type is not found under this path.
    const otherInfo = info.type === 'estimates' ? TRANSACTION_TYPES.salesorders : TRANSACTION_TYPES.estimates;
    const c = await newContact('customer');
    const foreign = await create(otherInfo, bodyFor(otherInfo, c.id, 5));
    const wrongPath = await t.call('GET', `${info.path}/${foreign[otherInfo.idField] as string}`);
    expect(wrongPath.status).toBe(404);
    expect(wrongPath.body).toMatchObject({ code: 1002 });
  });

  it('refuses a missing, unknown or wrong-type contact and missing amounts with code 2', async () => {
    const right = await newContact(info.contactType);
    const wrong = await newContact(otherType);
    const elsewhere = await newContact(info.contactType, t.organizations[1]);

    const cases: Array<[Doc, string]> = [
      [{ ...bodyFor(info, right.id, 10), [info.contactIdField]: undefined }, `Invalid value passed for ${info.contactIdField}: it is required`],
      [bodyFor(info, wrong.id, 10), `Invalid value passed for ${info.contactIdField}`],
      [bodyFor(info, UNKNOWN_ID, 10), `Invalid value passed for ${info.contactIdField}`],
      [bodyFor(info, elsewhere.id, 10), `Invalid value passed for ${info.contactIdField}`],
      [bodyFor(info, 'not-an-id', 10), `Invalid value passed for ${info.contactIdField}`],
      [
        { [info.contactIdField]: right.id },
        info.amountField === 'amount' ? 'Invalid value passed for amount: it is required' : 'Invalid value passed for line_items: it is required',
      ],
      [bodyFor(info, right.id, 10, { date: '2001-02-30' }), 'Invalid value passed for date'],
    ];
    for (const [body, message] of cases) {
      const res = await t.call('POST', info.path, { body });
      expect(res.status, message).toBe(400);
      expect(res.body, message).toEqual({ code: 2, message });
    }
    expect((await list(info, { [info.contactIdField]: right.id })).docs).toEqual([]);
    expect((await contact(right.id)).has_transaction).toBe(false);
    expect((await contact(wrong.id)).has_transaction).toBe(false);
  });

  it(`enforces the ZohoBooks.${info.scopeModule}.* scope`, async () => {
    const c = await newContact(info.contactType);
    const existing = await create(info, bodyFor(info, c.id, 10));
    const readOnly = await t.tokenFor([`ZohoBooks.${info.scopeModule}.READ`]);
    const createOnly = await t.tokenFor([`ZohoBooks.${info.scopeModule}.CREATE`]);
    const contactsOnly = await t.tokenFor(['ZohoBooks.contacts.ALL']);

    expect((await t.call('GET', info.path, { token: readOnly })).status).toBe(200);
    expect((await t.call('GET', `${info.path}/${existing[info.idField] as string}`, { token: readOnly })).status).toBe(200);
    const denied = await t.call('POST', info.path, { token: readOnly, body: bodyFor(info, c.id, 10) });
    expect(denied.status).toBe(401);
    expect(denied.body).toEqual({ code: 57, message: 'You are not authorized to perform this operation' });

    await create(info, bodyFor(info, c.id, 10), createOnly);
    expect((await t.call('GET', info.path, { token: createOnly })).body).toMatchObject({ code: 57 });
    expect((await t.call('GET', info.path, { token: contactsOnly })).body).toMatchObject({ code: 57 });

    const all = await t.tokenFor([`ZohoBooks.${info.scopeModule}.ALL`]);
    expect((await t.call('GET', info.path, { token: all })).status).toBe(200);
    await create(info, bodyFor(info, c.id, 10), all);
    expect((await list(info, { [info.contactIdField]: c.id })).docs).toHaveLength(3);
  });

  it(info.blockedForInactiveContact ? 'refuses an inactive contact with 1072' : 'accepts an inactive contact', async () => {
    const c = await newContact(info.contactType);
    expect((await t.call('POST', `/contacts/${c.id}/inactive`)).status).toBe(200);
    const res = await t.call('POST', info.path, { body: bodyFor(info, c.id, 10) });
    if (info.blockedForInactiveContact) {
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: 1072, message: 'The contact is inactive. Mark it as active to create new transactions.' });
      expect((await contact(c.id)).has_transaction).toBe(false);
    } else {
      expect(res.status).toBe(201);
      expect((await contact(c.id)).has_transaction).toBe(true);
    }
  });
});

it('vendor credits use the ZohoBooks.debitnotes scope, not a vendorcredits one', async () => {
  const v = await newContact('vendor');
  const debitnotes = await t.tokenFor(['ZohoBooks.debitnotes.CREATE', 'ZohoBooks.debitnotes.READ']);
  const made = await create(TRANSACTION_TYPES.vendorcredits, bodyFor(TRANSACTION_TYPES.vendorcredits, v.id, 15), debitnotes);
  expect((await t.call('GET', `/vendorcredits/${made.vendor_credit_id as string}`, { token: debitnotes })).status).toBe(200);
  const bills = await t.tokenFor(['ZohoBooks.bills.ALL', 'ZohoBooks.vendorpayments.ALL']);
  expect((await t.call('GET', '/vendorcredits', { token: bills })).body).toMatchObject({ code: 57 });
});

describe('derived amounts', () => {
  it('an invoice raises outstanding_receivable_amount and has_transaction, and writes history', async () => {
    const c = await newContact('customer');
    const before = await contact(c.id);
    expect(before).toMatchObject({ outstanding_receivable_amount: 0, unused_credits_receivable_amount: 0, has_transaction: false });

    const inv = await t.call<{ invoice: Doc }>('POST', '/invoices', { body: { customer_id: c.id, line_items: [{ name: 'A', rate: 100.25, quantity: 1 }, { name: 'B', rate: 25, quantity: 2 }] } });
    expect(inv.status).toBe(201);
    expect(inv.body.invoice).toMatchObject({ total: 150.25, balance: 150.25, status: 'sent', date: TODAY, due_date: '2030-06-16' });
    const after = await contact(c.id);
    expect(after).toMatchObject({ outstanding_receivable_amount: 150.25, has_transaction: true });

    const listed = await t.call<{ contacts: Array<{ contact_id: string; outstanding_receivable_amount: number }> }>('GET', '/contacts', { query: { contact_name: c.name } });
    expect(listed.body.contacts).toEqual([expect.objectContaining({ contact_id: c.id, outstanding_receivable_amount: 150.25 })]);

    const history = await t.call<{ contact_comments: Array<{ description: string; transaction_id: string }> }>('GET', `/contacts/${c.id}/comments`);
    expect(history.body.contact_comments[0]).toMatchObject({
      description: `Invoice ${inv.body.invoice.invoice_number as string} created for 150.25`,
      transaction_id: inv.body.invoice.invoice_id,
    });
    await expectConsistent();
  });

  it('customer payments lower the invoice balance and the receivable; status goes partially_paid then paid', async () => {
    const c = await newContact('customer');
    const inv1 = await create(TRANSACTION_TYPES.invoices, { customer_id: c.id, total: 100 });
    const inv2 = await create(TRANSACTION_TYPES.invoices, { customer_id: c.id, total: 50 });
    expect((await contact(c.id)).outstanding_receivable_amount).toBe(150);

    const pay1 = await t.call<{ payment: Doc }>('POST', '/customerpayments', {
      body: { customer_id: c.id, amount: 30, invoices: [{ invoice_id: inv1.invoice_id, amount_applied: 30 }] },
    });
    expect(pay1.status).toBe(201);
    expect(pay1.body.payment).toMatchObject({ amount: 30, balance: 0, unused_amount: 0, status: 'paid', invoices: [{ invoice_id: inv1.invoice_id, amount_applied: 30 }] });
    const inv1a = (await t.call<{ invoice: Doc }>('GET', `/invoices/${inv1.invoice_id as string}`)).body.invoice;
    expect(inv1a).toMatchObject({ balance: 70, status: 'partially_paid' });
    expect(await contact(c.id)).toMatchObject({ outstanding_receivable_amount: 120, unused_credits_receivable_amount: 0 });
    expect((await list(TRANSACTION_TYPES.invoices, { customer_id: c.id, status: 'partially_paid' })).docs.map((d) => d.invoice_id)).toEqual([inv1.invoice_id]);
    await expectConsistent();

    await create(TRANSACTION_TYPES.customerpayments, {
      customer_id: c.id, amount: 120, invoices: [{ invoice_id: inv1.invoice_id, amount_applied: 70 }, { invoice_id: inv2.invoice_id, amount_applied: 50 }],
    });
    for (const id of [inv1.invoice_id, inv2.invoice_id]) {
      expect((await t.call<{ invoice: Doc }>('GET', `/invoices/${id as string}`)).body.invoice).toMatchObject({ balance: 0, status: 'paid' });
    }
    expect(await contact(c.id)).toMatchObject({ outstanding_receivable_amount: 0, unused_credits_receivable_amount: 0, has_transaction: true });
    await expectConsistent();
  });

  it('refuses an overpayment, a payment smaller than its applications, and another customer\'s invoice, changing nothing', async () => {
    const c = await newContact('customer');
    const other = await newContact('customer');
    const inv = await create(TRANSACTION_TYPES.invoices, { customer_id: c.id, total: 50 });
    const foreign = await create(TRANSACTION_TYPES.invoices, { customer_id: other.id, total: 10 });

    const over = await t.call('POST', '/customerpayments', { body: { customer_id: c.id, amount: 60, invoices: [{ invoice_id: inv.invoice_id, amount_applied: 50.01 }] } });
    expect(over.status).toBe(400);
    expect(over.body).toEqual({ code: 2, message: 'Invalid value passed for amount_applied: more than the balance of 50' });

    const short = await t.call('POST', '/customerpayments', { body: { customer_id: c.id, amount: 20, invoices: [{ invoice_id: inv.invoice_id, amount_applied: 30 }] } });
    expect(short.status).toBe(400);
    expect(short.body).toEqual({ code: 2, message: 'Invalid value passed for amount: less than the amounts applied' });

    const wrong = await t.call('POST', '/customerpayments', { body: { customer_id: c.id, amount: 10, invoices: [{ invoice_id: foreign.invoice_id, amount_applied: 10 }] } });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual({ code: 2, message: 'Invalid value passed for invoice_id' });

    const twice = await t.call('POST', '/customerpayments', {
      body: { customer_id: c.id, amount: 40, invoices: [{ invoice_id: inv.invoice_id, amount_applied: 20 }, { invoice_id: inv.invoice_id, amount_applied: 20 }] },
    });
    expect(twice.status).toBe(400);
    expect(twice.body).toMatchObject({ code: 2 });

    // A partial payment, then the remainder plus a cent is too much.
    await create(TRANSACTION_TYPES.customerpayments, { customer_id: c.id, amount: 20, invoices: [{ invoice_id: inv.invoice_id, amount_applied: 20 }] });
    const rest = await t.call('POST', '/customerpayments', { body: { customer_id: c.id, amount: 30.01, invoices: [{ invoice_id: inv.invoice_id, amount_applied: 30.01 }] } });
    expect(rest.body).toEqual({ code: 2, message: 'Invalid value passed for amount_applied: more than the balance of 30' });

    expect((await t.call<{ invoice: Doc }>('GET', `/invoices/${inv.invoice_id as string}`)).body.invoice).toMatchObject({ balance: 30, status: 'partially_paid' });
    expect((await list(TRANSACTION_TYPES.customerpayments, { customer_id: c.id })).docs).toHaveLength(1);
    expect(await contact(c.id)).toMatchObject({ outstanding_receivable_amount: 30, unused_credits_receivable_amount: 0 });
    expect(await contact(other.id)).toMatchObject({ outstanding_receivable_amount: 10 });
    await expectConsistent();
  });

  it('an unapplied payment amount and credit notes become unused_credits_receivable_amount', async () => {
    const c = await newContact('customer');
    const inv = await create(TRANSACTION_TYPES.invoices, { customer_id: c.id, total: 50 });
    const pay = await create(TRANSACTION_TYPES.customerpayments, { customer_id: c.id, amount: 80, invoices: [{ invoice_id: inv.invoice_id, amount_applied: 50 }] });
    expect(pay).toMatchObject({ amount: 80, balance: 30, unused_amount: 30 });
    expect(await contact(c.id)).toMatchObject({ outstanding_receivable_amount: 0, unused_credits_receivable_amount: 30 });

    await create(TRANSACTION_TYPES.customerpayments, { customer_id: c.id, amount: 12.5 });
    expect((await contact(c.id)).unused_credits_receivable_amount).toBe(42.5);

    const cn = await create(TRANSACTION_TYPES.creditnotes, { customer_id: c.id, total: 25 });
    expect(cn).toMatchObject({ total: 25, balance: 25, status: 'open' });
    expect(await contact(c.id)).toMatchObject({ outstanding_receivable_amount: 0, unused_credits_receivable_amount: 67.5, outstanding_payable_amount: 0, unused_credits_payable_amount: 0 });
    await expectConsistent();
  });

  it('documents without a ledger effect move no amounts but count as transactions', async () => {
    for (const type of ['estimates', 'salesorders', 'salesreceipts'] as const) {
      const c = await newContact('customer');
      await create(TRANSACTION_TYPES[type], { customer_id: c.id, total: 99 });
      expect(await contact(c.id)).toMatchObject({ outstanding_receivable_amount: 0, unused_credits_receivable_amount: 0, has_transaction: true });
    }
    const v = await newContact('vendor');
    await create(TRANSACTION_TYPES.purchaseorders, { vendor_id: v.id, total: 99 });
    expect(await contact(v.id)).toMatchObject({ outstanding_payable_amount: 0, unused_credits_payable_amount: 0, has_transaction: true });
    const del = await t.call('DELETE', `/contacts/${v.id}`);
    expect(del.status).toBe(400);
    expect(del.body).toMatchObject({ code: 1071 });
    await expectConsistent();
  });

  it('bills, vendor payments and vendor credits move the payable side', async () => {
    const v = await newContact('vendor');
    const bill = await create(TRANSACTION_TYPES.bills, { vendor_id: v.id, total: 200 });
    expect(bill).toMatchObject({ total: 200, balance: 200, status: 'open', due_date: '2030-06-16' });
    expect(await contact(v.id)).toMatchObject({ outstanding_payable_amount: 200, unused_credits_payable_amount: 0, has_transaction: true, outstanding_receivable_amount: 0 });

    const vp1 = await create(TRANSACTION_TYPES.vendorpayments, { vendor_id: v.id, amount: 120, bills: [{ bill_id: bill.bill_id, amount_applied: 120 }] });
    expect(vp1).toMatchObject({ amount: 120, balance: 0, bills: [{ bill_id: bill.bill_id, amount_applied: 120 }] });
    expect((await t.call<{ bill: Doc }>('GET', `/bills/${bill.bill_id as string}`)).body.bill).toMatchObject({ balance: 80, status: 'partially_paid' });
    expect((await contact(v.id)).outstanding_payable_amount).toBe(80);
    await expectConsistent();

    const over = await t.call('POST', '/vendorpayments', { body: { vendor_id: v.id, amount: 100, bills: [{ bill_id: bill.bill_id, amount_applied: 81 }] } });
    expect(over.status).toBe(400);
    expect(over.body).toEqual({ code: 2, message: 'Invalid value passed for amount_applied: more than the balance of 80' });

    const vp2 = await create(TRANSACTION_TYPES.vendorpayments, { vendor_id: v.id, amount: 100, bills: [{ bill_id: bill.bill_id, amount_applied: 80 }] });
    expect(vp2).toMatchObject({ balance: 20, unused_amount: 20 });
    expect((await t.call<{ bill: Doc }>('GET', `/bills/${bill.bill_id as string}`)).body.bill).toMatchObject({ balance: 0, status: 'paid' });
    expect(await contact(v.id)).toMatchObject({ outstanding_payable_amount: 0, unused_credits_payable_amount: 20 });

    const vc = await create(TRANSACTION_TYPES.vendorcredits, { vendor_id: v.id, total: 40 });
    expect(vc).toMatchObject({ balance: 40, status: 'open' });
    expect(await contact(v.id)).toMatchObject({ outstanding_payable_amount: 0, unused_credits_payable_amount: 60, unused_credits_receivable_amount: 0 });
    await expectConsistent();
  });

  it('an invoice or bill past its due date with a balance reads overdue after the clock moves', async () => {
    const c = await newContact('customer');
    const v = await newContact('vendor');
    const open = await create(TRANSACTION_TYPES.invoices, { customer_id: c.id, total: 100 });
    const partial = await create(TRANSACTION_TYPES.invoices, { customer_id: c.id, total: 100 });
    const paid = await create(TRANSACTION_TYPES.invoices, { customer_id: c.id, total: 100 });
    const bill = await create(TRANSACTION_TYPES.bills, { vendor_id: v.id, total: 100 });
    await create(TRANSACTION_TYPES.customerpayments, {
      customer_id: c.id, amount: 140, invoices: [{ invoice_id: partial.invoice_id, amount_applied: 40 }, { invoice_id: paid.invoice_id, amount_applied: 100 }],
    });
    expect(open.due_date).toBe('2030-06-16');

    const statusOf = async (path: string, key: string): Promise<string> => (await t.call<Record<string, Doc>>('GET', path)).body[key]?.status as string;
    const overdueCustomers = async (): Promise<string[]> =>
      (await t.call<{ contacts: Array<{ contact_id: string }> }>('GET', '/contacts', { query: { filter_by: 'Invoice.OverDue', contact_name_startswith: 'Fixture' } })).body.contacts.map((x) => x.contact_id);

    // On the due date itself: not yet overdue.
    await t.admin('POST', '/__emulator/clock', { advanceSeconds: 15 * 86_400 });
    expect(await statusOf(`/invoices/${open.invoice_id as string}`, 'invoice')).toBe('sent');
    expect(await statusOf(`/bills/${bill.bill_id as string}`, 'bill')).toBe('open');
    expect(await overdueCustomers()).toEqual([]);

    await t.admin('POST', '/__emulator/clock', { advanceSeconds: 86_400 });
    expect(await statusOf(`/invoices/${open.invoice_id as string}`, 'invoice')).toBe('overdue');
    expect(await statusOf(`/invoices/${partial.invoice_id as string}`, 'invoice')).toBe('overdue');
    expect(await statusOf(`/invoices/${paid.invoice_id as string}`, 'invoice')).toBe('paid');
    expect(await statusOf(`/bills/${bill.bill_id as string}`, 'bill')).toBe('overdue');
    const listed = await list(TRANSACTION_TYPES.invoices, { customer_id: c.id, sort_column: 'number', sort_order: 'A' });
    expect(listed.docs.map((d) => d.status)).toEqual(['overdue', 'overdue', 'paid']);
    expect(await overdueCustomers()).toEqual([c.id]);
    await expectConsistent();
  });

  it('status=overdue lists the invoices and bills that read overdue', async () => {
    const c = await newContact('customer');
    const v = await newContact('vendor');
    const inv = await create(TRANSACTION_TYPES.invoices, { customer_id: c.id, total: 100 });
    const bill = await create(TRANSACTION_TYPES.bills, { vendor_id: v.id, total: 100 });
    await t.admin('POST', '/__emulator/clock', { advanceSeconds: 16 * 86_400 });
    expect((await list(TRANSACTION_TYPES.invoices, { customer_id: c.id })).docs.map((d) => d.status)).toEqual(['overdue']);
    expect((await list(TRANSACTION_TYPES.invoices, { customer_id: c.id, status: 'overdue' })).docs.map((d) => d.invoice_id)).toEqual([inv.invoice_id]);
    expect((await list(TRANSACTION_TYPES.bills, { vendor_id: v.id, status: 'overdue' })).docs.map((d) => d.bill_id)).toEqual([bill.bill_id]);
    // A status filter returns only documents that read that status.
    expect((await list(TRANSACTION_TYPES.invoices, { customer_id: c.id, status: 'sent' })).docs).toEqual([]);
    expect((await list(TRANSACTION_TYPES.bills, { vendor_id: v.id, status: 'open' })).docs).toEqual([]);
  });

  it('a payment moves the invoice\'s last_modified_time so modified-since lists pick it up', async () => {
    const c = await newContact('customer');
    const inv = await create(TRANSACTION_TYPES.invoices, { customer_id: c.id, total: 100 });
    await t.admin('POST', '/__emulator/clock', { advanceSeconds: 86_400 });
    const pay = await create(TRANSACTION_TYPES.customerpayments, { customer_id: c.id, amount: 10, invoices: [{ invoice_id: inv.invoice_id, amount_applied: 10 }] });
    const since = pay.created_time as string;
    const modified = await list(TRANSACTION_TYPES.invoices, { customer_id: c.id, last_modified_time: since });
    expect(modified.docs.map((d) => d.invoice_id)).toEqual([inv.invoice_id]);
    expect(modified.docs[0]?.last_modified_time).toBe(since);
  });
});

describe('the cheap dormancy query (reference §4)', () => {
  it('invoices with date_start=<cutoff> are exactly those dated on or after the cutoff', async () => {
    const info = TRANSACTION_TYPES.invoices;
    const before = await listAll(info);
    expect(before.length).toBeGreaterThan(20);
    const dates = before.map((d) => d.date as string).sort();
    const cutoff = dates[Math.floor(dates.length / 2)] as string;
    const dayBefore = new Date(Date.parse(`${cutoff}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    // Boundary fixtures: one on the cutoff, one the day before.
    const onCutoff = await newContact('customer');
    const justBefore = await newContact('customer');
    const on = await create(info, { customer_id: onCutoff.id, total: 1, date: cutoff });
    await create(info, { customer_id: justBefore.id, total: 1, date: dayBefore });

    const all = await listAll(info);
    const expected = all.filter((d) => (d.date as string) >= cutoff);
    const got = await listAll(info, { date_start: cutoff });
    expect(ids(info, got).sort()).toEqual(ids(info, expected).sort());
    expect(ids(info, got)).toContain(on.invoice_id);
    expect(got.every((d) => (d.date as string) >= cutoff)).toBe(true);
    const contacts = new Set(got.map((d) => d.customer_id as string));
    expect(contacts.has(onCutoff.id)).toBe(true);
    expect(contacts.has(justBefore.id)).toBe(false);
    expect(contacts).toEqual(new Set(expected.map((d) => d.customer_id as string)));
  });

  it.each(TRANSACTION_TYPE_NAMES)('%s with date_start=<cutoff> match a full listing filtered by date', async (type) => {
    const info = TRANSACTION_TYPES[type];
    const c = await newContact(info.contactType);
    for (const date of [JAN, FEB, TODAY]) await create(info, bodyFor(info, c.id, 5, { date }));
    const all = await listAll(info);
    expect(all.length).toBeGreaterThanOrEqual(3);
    const dates = all.map((d) => d.date as string).sort();
    const cutoff = dates[Math.floor(dates.length / 2)] as string;
    const got = await listAll(info, { date_start: cutoff });
    expect(ids(info, got).sort()).toEqual(ids(info, all.filter((d) => (d.date as string) >= cutoff)).sort());
  });
});
