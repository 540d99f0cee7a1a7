/**
 * Contacts over real HTTP (reference §2, §3, §5, §9): list filters, search, sort and paging; get;
 * create; update; delete; the status actions; the activity history; and the rule that an inactive
 * contact cannot be put on a new invoice, sales order or bill.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestEmulator, type CallOptions, type TestEmulator } from '../helpers/emulator.js';

interface Contact {
  contact_id: string;
  contact_name: string;
  company_name: string;
  contact_type: string;
  customer_sub_type: string;
  status: string;
  email: string;
  phone: string;
  currency_code: string;
  outstanding_receivable_amount: number;
  outstanding_payable_amount: number;
  unused_credits_receivable_amount: number;
  unused_credits_payable_amount: number;
  created_time: string;
  last_modified_time: string;
  custom_fields: Array<Record<string, unknown>>;
  tags: Array<Record<string, unknown>>;
  zcrm_account_id: string;
  zcrm_contact_id: string;
  is_linked_with_zohocrm: boolean;
  has_transaction?: boolean;
  credit_limit?: number;
  is_portal_enabled?: boolean;
  notes?: string;
  website?: string;
}

interface PageContext {
  page: number;
  per_page: number;
  has_more_page: boolean;
  applied_filter: string;
  sort_column: string;
  sort_order: string;
}

interface ContactList {
  code: number;
  message: string;
  contacts: Contact[];
  page_context: PageContext;
}

interface ContactBody {
  code: number;
  message: string;
  contact: Contact;
}

interface HistoryEntry {
  comment_id: string;
  contact_id: string;
  description: string;
  operation_type: string;
  date: string;
  date_description: string;
  transaction_id: string;
  transaction_type: string;
}

interface HistoryList {
  code: number;
  message: string;
  contact_comments: HistoryEntry[];
  page_context: PageContext;
}

const ZOHO_ID = /^[0-9]{15,19}$/;
/** A 19-digit id no emulator ever hands out (ids start at 3185434…). */
const UNKNOWN_ID = '9999999999999999999';
const TEN_YEARS = 10 * 365 * 86_400;

/** `2024-03-05T12:06:10+0530` → epoch ms. */
function zohoTime(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-])(\d{2})(\d{2})$/.exec(text);
  if (!m) throw new Error(`not a Zoho timestamp: ${text}`);
  const offset = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) - offset * 60_000;
}

function expectZohoId(value: unknown): void {
  expect(typeof value).toBe('string');
  expect(value).toMatch(ZOHO_ID);
}

/** Every `*_id` key anywhere in a JSON value, with where it was found. */
function idFields(value: unknown, path = '$', out: Array<{ path: string; value: unknown }> = []): Array<{ path: string; value: unknown }> {
  if (Array.isArray(value)) value.forEach((item, i) => idFields(item, `${path}[${i}]`, out));
  else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key.endsWith('_id') && (v === null || typeof v !== 'object')) out.push({ path: `${path}.${key}`, value: v });
      else idFields(v, `${path}.${key}`, out);
    }
  }
  return out;
}

function ids(contacts: Contact[]): string[] {
  return contacts.map((c) => c.contact_id);
}

type EmulatorOptions = NonNullable<Parameters<typeof startTestEmulator>[0]>;
/**
 * Small demo data keeps the file fast; a long token life means moving the emulated clock by days
 * does not expire the ready-made token.
 */
const SMALL: EmulatorOptions = { contacts: 60, tokenTtlSeconds: TEN_YEARS };

describe('contacts', () => {
  let t: TestEmulator;
  let fixture = 0;

  /** A fresh emulator per test in the enclosing describe. */
  function withEmulator(options: EmulatorOptions): void {
    beforeEach(async () => {
      t = await startTestEmulator(options);
      fixture = 0;
    });
    afterEach(async () => {
      await t.close();
    });
  }

  const uniqueName = (label = 'Fixture'): string => `Qa ${label} ${String(++fixture).padStart(3, '0')}`;

  async function create(body: Record<string, unknown> = {}, options: CallOptions = {}): Promise<Contact> {
    const res = await t.call<ContactBody>('POST', '/contacts', { ...options, body: { contact_name: uniqueName(), ...body } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.code).toBe(0);
    return res.body.contact;
  }

  async function get(id: string): Promise<Contact> {
    const res = await t.call<ContactBody>('GET', `/contacts/${id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.contact;
  }

  async function list(query: CallOptions['query']): Promise<ContactList> {
    const res = await t.call<ContactList>('GET', '/contacts', { query });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.code).toBe(0);
    expect(res.body.message).toBe('success');
    return res.body;
  }

  /** Walks every page of a list and returns all contacts. */
  async function listAll(query: CallOptions['query'] = {}, perPage = 200): Promise<Contact[]> {
    const all: Contact[] = [];
    for (let page = 1; ; page++) {
      const body = await list({ ...query, page, per_page: perPage });
      expect(body.page_context.page).toBe(page);
      expect(body.page_context.per_page).toBe(perPage);
      expect(body.contacts.length).toBeLessThanOrEqual(perPage);
      all.push(...body.contacts);
      if (!body.page_context.has_more_page) break;
      expect(body.contacts.length).toBe(perPage);
      if (page > 100) throw new Error('has_more_page never became false');
    }
    return all;
  }

  async function status(id: string, target: 'active' | 'inactive') {
    return t.call<{ code: number; message: string }>('POST', `/contacts/${id}/${target}`);
  }

  async function history(id: string): Promise<HistoryEntry[]> {
    const res = await t.call<HistoryList>('GET', `/contacts/${id}/comments`);
    expect(res.status).toBe(200);
    return res.body.contact_comments;
  }

  async function transaction(path: string, body: Record<string, unknown>) {
    return t.call<Record<string, unknown> & { code: number; message: string }>('POST', path, { body });
  }

  async function invoice(customerId: string, total: number, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await transaction('/invoices', { customer_id: customerId, line_items: [{ name: 'Widget', rate: total, quantity: 1 }], ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const id = (res.body.invoice as { invoice_id: string }).invoice_id;
    expectZohoId(id);
    return id;
  }

  async function clock(body: Record<string, unknown>): Promise<void> {
    const res = await t.admin('POST', '/__emulator/clock', body);
    expect(res.status).toBe(200);
  }

  describe('GET /contacts filters', () => {
    withEmulator(SMALL);

    it('defaults to Status.All, sorted by contact_name ascending, and includes inactive contacts', async () => {
      const dormant = await create();
      expect((await status(dormant.contact_id, 'inactive')).body.code).toBe(0);

      const first = await list({ per_page: 5 });
      expect(first.page_context).toEqual({ page: 1, per_page: 5, has_more_page: true, applied_filter: 'Status.All', sort_column: 'contact_name', sort_order: 'A' });

      const byDefault = await listAll();
      const explicit = await listAll({ filter_by: 'Status.All' });
      expect(ids(byDefault)).toEqual(ids(explicit));
      expect(ids(byDefault)).toContain(dormant.contact_id);
      expect(byDefault.some((c) => c.status === 'active')).toBe(true);
      expect(byDefault.find((c) => c.contact_id === dormant.contact_id)?.status).toBe('inactive');
      expect(byDefault.every((c) => c.status === 'active' || c.status === 'inactive')).toBe(true);
    });

    it('Status.Active and Status.Inactive split the contacts by status', async () => {
      const dormant = await create();
      const live = await create();
      expect((await status(dormant.contact_id, 'inactive')).status).toBe(200);

      const all = await listAll();
      const active = await listAll({ filter_by: 'Status.Active' });
      const inactive = await listAll({ filter_by: 'Status.Inactive' });
      expect((await list({ filter_by: 'Status.Inactive', per_page: 1 })).page_context.applied_filter).toBe('Status.Inactive');

      expect(active.every((c) => c.status === 'active')).toBe(true);
      expect(inactive.every((c) => c.status === 'inactive')).toBe(true);
      expect(new Set(ids(active))).toEqual(new Set(all.filter((c) => c.status === 'active').map((c) => c.contact_id)));
      expect(new Set(ids(inactive))).toEqual(new Set(all.filter((c) => c.status === 'inactive').map((c) => c.contact_id)));
      expect(active.length + inactive.length).toBe(all.length);
      expect(ids(inactive)).toContain(dormant.contact_id);
      expect(ids(active)).not.toContain(dormant.contact_id);
      expect(ids(active)).toContain(live.contact_id);
    });

    it('Status.Crm returns exactly the contacts linked to Zoho CRM', async () => {
      const account = await create({ zcrm_account_id: '4876000000123456789' });
      const person = await create({ zcrm_contact_id: '4876100000123456789' });
      const plain = await create();
      expect(account.is_linked_with_zohocrm).toBe(true);
      expect(person.is_linked_with_zohocrm).toBe(true);
      expect(plain.is_linked_with_zohocrm).toBe(false);

      const all = await listAll();
      const crm = await listAll({ filter_by: 'Status.Crm' });
      const expected = all.filter((c) => c.zcrm_account_id !== '' || c.zcrm_contact_id !== '').map((c) => c.contact_id);
      expect(expected.length).toBeGreaterThanOrEqual(2);
      expect(new Set(ids(crm))).toEqual(new Set(expected));
      expect(crm.every((c) => c.is_linked_with_zohocrm)).toBe(true);
      expect(ids(crm)).toEqual(expect.arrayContaining([account.contact_id, person.contact_id]));
      expect(ids(crm)).not.toContain(plain.contact_id);
    });

    it('Invoice.Unpaid returns exactly the contacts with an outstanding receivable', async () => {
      const owes = await create();
      const paid = await create();
      const none = await create();
      await invoice(owes.contact_id, 150);
      const paidInvoice = await invoice(paid.contact_id, 80);
      const payment = await transaction('/customerpayments', {
        customer_id: paid.contact_id, amount: 80, invoices: [{ invoice_id: paidInvoice, amount_applied: 80 }],
      });
      expect(payment.status, JSON.stringify(payment.body)).toBe(201);
      expect((await get(owes.contact_id)).outstanding_receivable_amount).toBe(150);
      expect((await get(paid.contact_id)).outstanding_receivable_amount).toBe(0);

      const all = await listAll();
      const unpaid = await listAll({ filter_by: 'Invoice.Unpaid' });
      expect(new Set(ids(unpaid))).toEqual(new Set(all.filter((c) => c.outstanding_receivable_amount > 0).map((c) => c.contact_id)));
      expect(ids(unpaid)).toContain(owes.contact_id);
      expect(ids(unpaid)).not.toContain(paid.contact_id);
      expect(ids(unpaid)).not.toContain(none.contact_id);
    });

    it('Invoice.OverDue returns contacts with an open invoice past its due date, following the emulated clock', async () => {
      const late = await create();
      const current = await create();
      const settled = await create();
      await invoice(late.contact_id, 100, { date: '2020-01-01', due_date: '2020-01-31' });
      await invoice(current.contact_id, 100); // dated today, due in 15 days
      const oldPaid = await invoice(settled.contact_id, 60, { date: '2020-01-01', due_date: '2020-01-31' });
      expect((await transaction('/customerpayments', {
        customer_id: settled.contact_id, amount: 60, invoices: [{ invoice_id: oldPaid, amount_applied: 60 }],
      })).status).toBe(201);

      const overdue = await listAll({ filter_by: 'Invoice.OverDue' });
      const unpaid = new Set(ids(await listAll({ filter_by: 'Invoice.Unpaid' })));
      expect(ids(overdue)).toContain(late.contact_id);
      expect(ids(overdue)).not.toContain(current.contact_id);
      expect(ids(overdue)).not.toContain(settled.contact_id);
      expect(overdue.every((c) => c.outstanding_receivable_amount > 0 && unpaid.has(c.contact_id))).toBe(true);

      await clock({ advanceSeconds: 30 * 86_400 });
      const later = ids(await listAll({ filter_by: 'Invoice.OverDue' }));
      expect(later).toContain(late.contact_id);
      expect(later).toContain(current.contact_id);
      expect(later).not.toContain(settled.contact_id);
    });

    it('Status.CreditLimitExceed returns contacts owing more than their credit limit', async () => {
      const over = await create({ credit_limit: 100 });
      const under = await create({ credit_limit: 500 });
      const noLimit = await create();
      for (const c of [over, under, noLimit]) await invoice(c.contact_id, 150);
      expect((await get(over.contact_id)).credit_limit).toBe(100);

      const exceeded = await listAll({ filter_by: 'Status.CreditLimitExceed' });
      expect(ids(exceeded)).toContain(over.contact_id);
      expect(ids(exceeded)).not.toContain(under.contact_id);
      expect(ids(exceeded)).not.toContain(noLimit.contact_id);
      for (const c of exceeded) {
        const detail = await get(c.contact_id);
        expect(detail.credit_limit).toBeGreaterThan(0);
        expect(detail.outstanding_receivable_amount).toBeGreaterThan(detail.credit_limit as number);
      }
    });

    it('Status.Duplicate returns exactly the contacts sharing an email with another contact', async () => {
      const a = await create({ email: 'twin@duplicate.example' });
      const b = await create({ email: 'twin@duplicate.example' });
      const single = await create({ email: 'only-one@unique.example' });

      const all = await listAll();
      const count = new Map<string, number>();
      for (const c of all) if (c.email !== '') count.set(c.email.toLowerCase(), (count.get(c.email.toLowerCase()) ?? 0) + 1);
      const expected = all.filter((c) => c.email !== '' && (count.get(c.email.toLowerCase()) ?? 0) > 1).map((c) => c.contact_id);

      const duplicates = await listAll({ filter_by: 'Status.Duplicate' });
      expect(new Set(ids(duplicates))).toEqual(new Set(expected));
      expect(ids(duplicates)).toEqual(expect.arrayContaining([a.contact_id, b.contact_id]));
      expect(ids(duplicates)).not.toContain(single.contact_id);
    });

    it('Status.PortalEnabled and Status.PortalDisabled partition the contacts by portal access', async () => {
      const portal = await create({ is_portal_enabled: true });
      const closed = await create();
      expect((await get(portal.contact_id)).is_portal_enabled).toBe(true);
      expect((await get(closed.contact_id)).is_portal_enabled).toBe(false);

      const all = await listAll();
      const enabled = await listAll({ filter_by: 'Status.PortalEnabled' });
      const disabled = await listAll({ filter_by: 'Status.PortalDisabled' });
      expect(ids(enabled)).toContain(portal.contact_id);
      expect(ids(enabled)).not.toContain(closed.contact_id);
      expect(ids(disabled)).toContain(closed.contact_id);
      expect(ids(disabled)).not.toContain(portal.contact_id);
      expect(ids(enabled).filter((id) => ids(disabled).includes(id))).toEqual([]);
      expect(new Set([...ids(enabled), ...ids(disabled)])).toEqual(new Set(ids(all)));
      for (const c of enabled) expect((await get(c.contact_id)).is_portal_enabled).toBe(true);
    });

    it('contact_type returns only customers or only vendors; a bad value or filter answers 400 code 2', async () => {
      const vendor = await create({ contact_type: 'vendor' });
      const customer = await create({ contact_type: 'customer' });
      const all = await listAll();
      const customers = await listAll({ contact_type: 'customer' });
      const vendors = await listAll({ contact_type: 'vendor' });
      expect(customers.every((c) => c.contact_type === 'customer')).toBe(true);
      expect(vendors.every((c) => c.contact_type === 'vendor')).toBe(true);
      expect(customers.length + vendors.length).toBe(all.length);
      expect(ids(vendors)).toContain(vendor.contact_id);
      expect(ids(customers)).toContain(customer.contact_id);

      const badType = await t.call('GET', '/contacts', { query: { contact_type: 'supplier' } });
      expect(badType.status).toBe(400);
      expect(badType.body).toEqual({ code: 2, message: 'Invalid value passed for contact_type' });
      const badFilter = await t.call('GET', '/contacts', { query: { filter_by: 'Status.Nope' } });
      expect(badFilter.status).toBe(400);
      expect(badFilter.body).toEqual({ code: 2, message: 'Invalid value passed for filter_by' });
    });

    it('search_text finds contacts by part of their name or company name', async () => {
      const a = await create({ contact_name: 'Quillfeather Exports' });
      const b = await create({ contact_name: 'Northern Quillfeather Mills' });
      const c = await create({ contact_name: 'Plain Person Trading', company_name: 'Zanzibarite Holdings' });
      const found = await listAll({ search_text: 'Quillfeath' });
      expect(new Set(ids(found))).toEqual(new Set([a.contact_id, b.contact_id]));
      expect(ids(await listAll({ search_text: 'Zanzibarite' }))).toEqual([c.contact_id]);
      const none = await list({ search_text: 'Nothingmatchesthis', per_page: 200 });
      expect(none.contacts).toEqual([]);
      expect(none.page_context.has_more_page).toBe(false);
    });

    it('contact_name matches exactly; _startswith and _contains match a prefix or a part', async () => {
      const exact = await create({ contact_name: 'Marigold Vantage' });
      const longer = await create({ contact_name: 'Marigold Vantage Traders' });
      const inner = await create({ contact_name: 'Old Marigold Vantage Mills' });
      expect(ids(await listAll({ contact_name: 'Marigold Vantage' }))).toEqual([exact.contact_id]);
      expect(new Set(ids(await listAll({ contact_name_startswith: 'Marigold Vantage' })))).toEqual(new Set([exact.contact_id, longer.contact_id]));
      expect(new Set(ids(await listAll({ contact_name_contains: 'Marigold Vantage' }))))
        .toEqual(new Set([exact.contact_id, longer.contact_id, inner.contact_id]));
      expect(await listAll({ contact_name: 'Marigold' })).toEqual([]);
    });

    it('company_name, email and phone filter on those fields', async () => {
      const target = await create({ company_name: 'Tamarind Logistics Pvt Ltd', email: 'ops@tamarind-logistics.example', phone: '+91-11111-22222' });
      await create({ company_name: 'Tamarind Logistics', email: 'ops2@tamarind-logistics.example', phone: '+91-11111-22223' });
      expect(ids(await listAll({ company_name: 'Tamarind Logistics Pvt Ltd' }))).toEqual([target.contact_id]);
      expect(ids(await listAll({ email: 'ops@tamarind-logistics.example' }))).toEqual([target.contact_id]);
      expect(ids(await listAll({ phone: '+91-11111-22222' }))).toEqual([target.contact_id]);
      const both = new Set([target.contact_id, (await listAll({ company_name: 'Tamarind Logistics' }))[0]?.contact_id]);
      expect(both.size).toBe(2);
      expect(new Set(ids(await listAll({ company_name_startswith: 'Tamarind Logist' })))).toEqual(both);
      expect(new Set(ids(await listAll({ email_contains: '@tamarind-logistics.' })))).toEqual(both);
      expect(new Set(ids(await listAll({ phone_startswith: '+91-11111-2222' })))).toEqual(both);

      // A demo contact is found by its own email and phone.
      const demo = (await list({ per_page: 1, filter_by: 'Status.Active' })).contacts[0] as Contact;
      const byEmail = await listAll({ email: demo.email });
      expect(ids(byEmail)).toContain(demo.contact_id);
      expect(byEmail.every((c) => c.email.toLowerCase() === demo.email.toLowerCase())).toBe(true);
      const byPhone = await listAll({ phone: demo.phone });
      expect(ids(byPhone)).toContain(demo.contact_id);
      expect(byPhone.every((c) => c.phone === demo.phone)).toBe(true);
    });

    it('zcrm_account_id and zcrm_contact_id find the linked contacts', async () => {
      const linked = await create({ zcrm_account_id: '4876000000999999001', zcrm_contact_id: '4876100000999999001' });
      await create({ zcrm_account_id: '4876000000999999002' });
      expect(ids(await listAll({ zcrm_account_id: '4876000000999999001' }))).toEqual([linked.contact_id]);
      expect(ids(await listAll({ zcrm_contact_id: '4876100000999999001' }))).toEqual([linked.contact_id]);

      const demo = (await listAll({ filter_by: 'Status.Crm' })).find((c) => c.zcrm_account_id !== '' && c.contact_id !== linked.contact_id);
      expect(demo).toBeDefined();
      const found = await listAll({ zcrm_account_id: demo!.zcrm_account_id });
      expect(ids(found)).toContain(demo!.contact_id);
      expect(found.every((c) => c.zcrm_account_id === demo!.zcrm_account_id)).toBe(true);
    });

    it('last_modified_time returns the contacts modified at or after that time', async () => {
      await clock({ freeze: true });
      await clock({ advanceSeconds: 86_400 });
      const first = await create();
      await clock({ advanceSeconds: 3_600 });
      const second = await create();

      expect(new Set(ids(await listAll({ last_modified_time: first.last_modified_time })))).toEqual(new Set([first.contact_id, second.contact_id]));
      expect(ids(await listAll({ last_modified_time: second.last_modified_time }))).toEqual([second.contact_id]);

      await clock({ advanceSeconds: 60 });
      const touched = await t.call<ContactBody>('PUT', `/contacts/${first.contact_id}`, { body: { notes: 'touched' } });
      expect(touched.status).toBe(200);
      expect(new Set(ids(await listAll({ last_modified_time: second.last_modified_time })))).toEqual(new Set([first.contact_id, second.contact_id]));
      expect(ids(await listAll({ last_modified_time: touched.body.contact.last_modified_time }))).toEqual([first.contact_id]);
    });
  });

  describe('GET /contacts sorting and paging', () => {
    withEmulator(SMALL);

    const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    const columns: Array<[keyof Contact, (a: Contact, b: Contact) => number]> = [
      ['contact_name', (a, b) => compareText(a.contact_name, b.contact_name)],
      ['company_name', (a, b) => compareText(a.company_name, b.company_name)],
      ['email', (a, b) => compareText(a.email, b.email)],
      ['created_time', (a, b) => zohoTime(a.created_time) - zohoTime(b.created_time)],
      ['last_modified_time', (a, b) => zohoTime(a.last_modified_time) - zohoTime(b.last_modified_time)],
      ['outstanding_receivable_amount', (a, b) => a.outstanding_receivable_amount - b.outstanding_receivable_amount],
      ['outstanding_payable_amount', (a, b) => a.outstanding_payable_amount - b.outstanding_payable_amount],
    ];

    it('sorts by every sort_column in both orders, across pages', async () => {
      // Fixtures that make every column take several distinct values.
      const owes = await create({ contact_name: 'Aaa Early Sort', email: 'aaa@sort.example' });
      await invoice(owes.contact_id, 1234.5);
      const vendor = await create({ contact_name: 'Zzz Late Sort', contact_type: 'vendor', company_name: 'Zzz Late Sort Ltd' });
      const bill = await transaction('/bills', { vendor_id: vendor.contact_id, total: 987.25 });
      expect(bill.status).toBe(201);

      const everyone = new Set(ids(await listAll()));
      const perPage = 25;
      expect(everyone.size).toBeGreaterThan(2 * perPage);
      for (const [column, compare] of columns) {
        for (const order of ['A', 'D'] as const) {
          const first = await list({ sort_column: column, sort_order: order, per_page: perPage });
          expect(first.page_context.sort_column).toBe(column);
          expect(first.page_context.sort_order).toBe(order);
          const sorted = await listAll({ sort_column: column, sort_order: order }, perPage);
          expect(sorted.length).toBe(everyone.size);
          expect(new Set(ids(sorted))).toEqual(everyone);
          const distinct = new Set(sorted.map((c) => JSON.stringify(c[column])));
          expect(distinct.size, `${column} needs distinct values to show an order`).toBeGreaterThan(1);
          for (let i = 1; i < sorted.length; i++) {
            const diff = compare(sorted[i - 1] as Contact, sorted[i] as Contact);
            if (order === 'A') expect(diff, `${column} A at ${i}`).toBeLessThanOrEqual(0);
            else expect(diff, `${column} D at ${i}`).toBeGreaterThanOrEqual(0);
          }
        }
      }
      const bad = await t.call('GET', '/contacts', { query: { sort_order: 'X' } });
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ code: 2, message: 'Invalid value passed for sort_order' });
      const badColumn = await t.call('GET', '/contacts', { query: { sort_column: 'favourite_colour' } });
      expect(badColumn.status).toBe(400);
      expect(badColumn.body).toEqual({ code: 2, message: 'Invalid value passed for sort_column' });
    });

    it('walking every page returns every contact exactly once', async () => {
      const mine = await create();
      const reference = ids(await listAll());
      expect(reference.length).toBeGreaterThan(30);
      expect(new Set(reference).size).toBe(reference.length);
      for (const query of [{}, { sort_column: 'created_time', sort_order: 'D' }, { filter_by: 'Status.Active', sort_column: 'email' }]) {
        const walked = ids(await listAll(query, 7));
        const expected = query.filter_by ? ids(await listAll({ filter_by: query.filter_by })) : reference;
        expect(walked.length).toBe(expected.length);
        expect(new Set(walked).size).toBe(walked.length);
        expect(new Set(walked)).toEqual(new Set(expected));
        expect(walked).toContain(mine.contact_id);
      }
    });

    it('rejects a page or per_page that is not a positive integer with 400 code 2', async () => {
      for (const bad of [{ per_page: 0 }, { per_page: 'ten' }, { page: 0 }, { page: -1 }]) {
        const res = await t.call<{ code: number; message: string }>('GET', '/contacts', { query: bad });
        expect(res.status, JSON.stringify(bad)).toBe(400);
        expect(res.body).toEqual({ code: 2, message: `Invalid value passed for ${Object.keys(bad)[0]}` });
      }
    });
  });

  describe('GET /contacts per_page cap (200 demo contacts)', () => {
    withEmulator({ contacts: 200 });

    it('caps per_page at 200 and says has_more_page until the last page', async () => {
      await create(); // the first organization now has 201 contacts
      const capped = await list({ per_page: 1000 });
      expect(capped.contacts.length).toBe(200);
      expect(capped.page_context).toEqual({
        page: 1, per_page: 200, has_more_page: true, applied_filter: 'Status.All', sort_column: 'contact_name', sort_order: 'A',
      });
      const second = await list({ per_page: 1000, page: 2 });
      expect(second.contacts.length).toBe(1);
      expect(second.page_context).toMatchObject({ page: 2, per_page: 200, has_more_page: false });
      const beyond = await list({ per_page: 200, page: 3 });
      expect(beyond.contacts).toEqual([]);
      expect(beyond.page_context.has_more_page).toBe(false);
      expect((await list({ per_page: 201 })).contacts.length).toBe(200);
      const all = [...capped.contacts, ...second.contacts];
      expect(new Set(ids(all)).size).toBe(201);
    });
  });

  describe('GET /contacts/{id}', () => {
    withEmulator(SMALL);

    it('returns the contact; has_transaction appears on the single GET only', async () => {
      const trading = await create();
      const quiet = await create();
      await invoice(trading.contact_id, 10);

      const one = await t.call<ContactBody>('GET', `/contacts/${trading.contact_id}`);
      expect(one.status).toBe(200);
      expect(one.body.code).toBe(0);
      expect(one.body.message).toBe('success');
      expect(one.body.contact.contact_id).toBe(trading.contact_id);
      expect(one.body.contact.has_transaction).toBe(true);
      expect((await get(quiet.contact_id)).has_transaction).toBe(false);

      const pages = [await list({ per_page: 200 }), await list({ per_page: 200, page: 2 })];
      for (const page of pages) for (const c of page.contacts) expect(Object.keys(c)).not.toContain('has_transaction');
      const listed = pages.flatMap((p) => p.contacts).find((c) => c.contact_id === trading.contact_id);
      expect(listed).toBeDefined();
      for (const key of ['contact_id', 'contact_name', 'company_name', 'contact_type', 'customer_sub_type', 'status', 'email', 'phone',
        'outstanding_receivable_amount', 'outstanding_payable_amount', 'unused_credits_receivable_amount', 'unused_credits_payable_amount',
        'created_time', 'last_modified_time', 'custom_fields', 'tags', 'zcrm_account_id', 'zcrm_contact_id', 'is_linked_with_zohocrm']) {
        expect(Object.keys(listed as Contact), key).toContain(key);
        expect(Object.keys(one.body.contact), key).toContain(key);
      }

      const missing = await t.call('GET', `/contacts/${UNKNOWN_ID}`);
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ code: 1002, message: 'Contact does not exist.' });
    });

    it('contact, comment, transaction and CRM ids are 15–19 digit strings in every response', async () => {
      const created = await create({ zcrm_account_id: '4876000000555555555', zcrm_contact_id: '4876100000555555555' });
      const invoiceId = await invoice(created.contact_id, 20);
      const updated = await t.call<ContactBody>('PUT', `/contacts/${created.contact_id}`, { body: { notes: 'x' } });
      const fetched = await get(created.contact_id);
      const listed = await list({ per_page: 200 });
      const comments = await history(created.contact_id);

      for (const c of [created, updated.body.contact, fetched, ...listed.contacts]) {
        expectZohoId(c.contact_id);
        for (const key of ['zcrm_account_id', 'zcrm_contact_id'] as const) {
          expect(typeof c[key]).toBe('string');
          if (c[key] !== '') expect(c[key]).toMatch(ZOHO_ID);
        }
      }
      expect(created.zcrm_account_id).toBe('4876000000555555555');
      expect(comments.length).toBe(3);
      for (const entry of comments) {
        expectZohoId(entry.comment_id);
        expect(entry.contact_id).toBe(created.contact_id);
        expect(typeof entry.transaction_id).toBe('string');
      }
      expect(comments.map((c) => c.transaction_id)).toContain(invoiceId);
    });

    it('every *_id field in contact lists (custom fields and tags included) is a 15–19 digit string, or empty when unset', async () => {
      await create({ tags: [{ tag_name: 'Channel', tag_option_name: 'Retail' }] });
      const all = await listAll();
      const bad = idFields(all).filter(({ value }) => typeof value !== 'string' || (value !== '' && !ZOHO_ID.test(value)));
      expect(bad.slice(0, 5)).toEqual([]);
    });
  });

  describe('POST /contacts', () => {
    withEmulator(SMALL);

    it('answers 201 with defaults; a new contact is active even when the body says inactive', async () => {
      const name = uniqueName('Create');
      const res = await t.call<ContactBody>('POST', '/contacts', { body: { contact_name: name, status: 'inactive' } });
      expect(res.status).toBe(201);
      expect(res.body.code).toBe(0);
      expect(res.body.message).toBe('The contact has been created');
      const c = res.body.contact;
      expectZohoId(c.contact_id);
      expect(c).toMatchObject({
        contact_name: name, company_name: '', contact_type: 'customer', customer_sub_type: 'business', status: 'active',
        email: '', phone: '', currency_code: 'INR', outstanding_receivable_amount: 0, outstanding_payable_amount: 0,
        unused_credits_receivable_amount: 0, unused_credits_payable_amount: 0, custom_fields: [], tags: [],
        zcrm_account_id: '', zcrm_contact_id: '', is_linked_with_zohocrm: false, has_transaction: false,
      });
      expect(c.created_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0530$/);
      expect(c.last_modified_time).toBe(c.created_time);

      const read = await get(c.contact_id);
      expect(read.status).toBe('active');
      expect(read.contact_name).toBe(name);
      expect(ids(await listAll({ filter_by: 'Status.Active', contact_name: name }))).toEqual([c.contact_id]);
      expect(await listAll({ filter_by: 'Status.Inactive', contact_name: name })).toEqual([]);
      const entries = await history(c.contact_id);
      expect(entries.map((e) => [e.description, e.operation_type])).toEqual([['Contact created', 'Added']]);
    });

    it('stores the given fields, custom_fields and tags', async () => {
      const c = await create({
        contact_name: 'Saffron Vendor Works', company_name: 'Saffron Vendor Works Pvt Ltd', contact_type: 'vendor',
        email: 'accounts@saffron.example', phone: '+91-22222-33333',
        custom_fields: [{ api_name: 'cf_region', value: 'West' }, { api_name: 'cf_do_not_sunset', value: 'true' }],
        tags: [{ tag_name: 'Channel', tag_option_name: 'Distributor' }],
      });
      const read = await get(c.contact_id);
      for (const contact of [c, read]) {
        expect(contact).toMatchObject({
          contact_name: 'Saffron Vendor Works', company_name: 'Saffron Vendor Works Pvt Ltd', contact_type: 'vendor',
          email: 'accounts@saffron.example', phone: '+91-22222-33333', status: 'active',
        });
        expect(contact.custom_fields.map((f) => [f.api_name, f.value])).toEqual([['cf_region', 'West'], ['cf_do_not_sunset', 'true']]);
        expect(contact.tags.map((tag) => [tag.tag_name, tag.tag_option_name])).toEqual([['Channel', 'Distributor']]);
      }
    });

    it('validation errors answer 400 code 2 naming the field, and create nothing', async () => {
      const cases: Array<[string, CallOptions, string]> = [
        ['missing name', { body: { company_name: 'No Name Ltd' } }, 'contact_name'],
        ['blank name', { body: { contact_name: '   ' } }, 'contact_name'],
        ['non-string name', { body: { contact_name: 42 } }, 'contact_name'],
        ['bad email', { body: { contact_name: 'Bad Email Co', email: 'not-an-email' } }, 'email'],
        ['bad contact_type', { body: { contact_name: 'Bad Type Co', contact_type: 'supplier' } }, 'contact_type'],
        ['bad custom_fields', { body: { contact_name: 'Bad Fields Co', custom_fields: 'cf_region=West' } }, 'custom_fields'],
        ['bad tags', { body: { contact_name: 'Bad Tags Co', tags: [{}] } }, 'tags'],
        ['bad crm id', { body: { contact_name: 'Bad Crm Co', zcrm_account_id: 'abc' } }, 'zcrm_account_id'],
        ['malformed JSON', { rawBody: '{"contact_name": "Broken' }, 'JSONString'],
        ['JSON array', { rawBody: '[{"contact_name": "Array Co"}]' }, 'JSONString'],
      ];
      const before = (await listAll()).length;
      for (const [label, options, field] of cases) {
        const res = await t.call<{ code: number; message: string }>('POST', '/contacts', options);
        expect(res.status, label).toBe(400);
        expect(res.body.code, label).toBe(2);
        expect(res.body.message, label).toMatch(new RegExp(`^Invalid value passed for ${field}`));
      }
      expect((await listAll()).length).toBe(before);
    });

    it('a duplicate contact name answers 400 code 3062', async () => {
      const first = await create({ contact_name: 'Juniper Duplicate Traders' });
      const again = await t.call('POST', '/contacts', { body: { contact_name: 'Juniper Duplicate Traders', email: 'x@y.example' } });
      expect(again.status).toBe(400);
      expect(again.body).toEqual({ code: 3062, message: 'The contact name already exists.' });
      expect(ids(await listAll({ contact_name: 'Juniper Duplicate Traders' }))).toEqual([first.contact_id]);
    });

    it('accepts a form body (and a query parameter) carrying a JSONString field', async () => {
      const form = await t.call<ContactBody>('POST', '/contacts', {
        rawBody: `JSONString=${encodeURIComponent(JSON.stringify({ contact_name: 'Form Body Traders', email: 'form@body.example' }))}`,
        contentType: 'application/x-www-form-urlencoded',
      });
      expect(form.status).toBe(201);
      expect(form.body.message).toBe('The contact has been created');
      expect(form.body.contact).toMatchObject({ contact_name: 'Form Body Traders', email: 'form@body.example', status: 'active' });
      expect((await get(form.body.contact.contact_id)).email).toBe('form@body.example');

      const query = await t.call<ContactBody>('POST', '/contacts', { query: { JSONString: JSON.stringify({ contact_name: 'Query Param Traders' }) } });
      expect(query.status).toBe(201);
      expect(query.body.contact.contact_name).toBe('Query Param Traders');

      const missing = await t.call<{ code: number; message: string }>('POST', '/contacts', {
        rawBody: 'contact_name=Nope', contentType: 'application/x-www-form-urlencoded',
      });
      expect(missing.status).toBe(400);
      expect(missing.body.code).toBe(2);
      expect(missing.body.message).toMatch(/^Invalid value passed for JSONString/);
    });
  });

  describe('PUT /contacts/{id}', () => {
    withEmulator(SMALL);

    it('changes only the given fields, ignores status, records history and moves last_modified_time', async () => {
      await clock({ freeze: true });
      const c = await create({ company_name: 'Keep Me Ltd', email: 'keep@me.example', phone: '+91-1', custom_fields: [{ api_name: 'cf_region', value: 'East' }] });
      await clock({ advanceSeconds: 120 });
      const res = await t.call<ContactBody>('PUT', `/contacts/${c.contact_id}`, { body: { phone: '+91-2', status: 'inactive' } });
      expect(res.status).toBe(200);
      expect(res.body.code).toBe(0);
      expect(res.body.message).toBe('Contact has been updated successfully');
      const read = await get(c.contact_id);
      for (const contact of [res.body.contact, read]) {
        expect(contact).toMatchObject({
          contact_id: c.contact_id, contact_name: c.contact_name, company_name: 'Keep Me Ltd', email: 'keep@me.example',
          phone: '+91-2', status: 'active', created_time: c.created_time,
        });
        expect(contact.custom_fields.map((f) => [f.api_name, f.value])).toEqual([['cf_region', 'East']]);
        expect(zohoTime(contact.last_modified_time) - zohoTime(c.last_modified_time)).toBe(120_000);
      }
      const entries = await history(c.contact_id);
      expect(entries.map((e) => [e.description, e.operation_type])).toEqual([['Contact details updated', 'Updated'], ['Contact created', 'Added']]);
    });

    it('answers 404 code 1002 for an unknown id and 3062 when renaming onto another contact', async () => {
      const a = await create({ contact_name: 'Rename Source' });
      await create({ contact_name: 'Rename Target' });
      const unknown = await t.call('PUT', `/contacts/${UNKNOWN_ID}`, { body: { phone: '1' } });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ code: 1002, message: 'Contact does not exist.' });
      const clash = await t.call('PUT', `/contacts/${a.contact_id}`, { body: { contact_name: 'Rename Target' } });
      expect(clash.status).toBe(400);
      expect(clash.body).toEqual({ code: 3062, message: 'The contact name already exists.' });
      expect((await get(a.contact_id)).contact_name).toBe('Rename Source');
    });
  });

  describe('DELETE /contacts/{id}', () => {
    withEmulator(SMALL);

    it('deletes a contact without transactions; it is then gone for reads (1002) and status actions (code 2)', async () => {
      const c = await create();
      const res = await t.call('DELETE', `/contacts/${c.contact_id}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ code: 0, message: 'The contact has been deleted.' });

      for (const [method, path] of [['GET', ''], ['PUT', ''], ['DELETE', ''], ['GET', '/comments']] as const) {
        const gone = await t.call(method, `/contacts/${c.contact_id}${path}`, method === 'PUT' ? { body: { phone: '1' } } : {});
        expect(gone.status, `${method} ${path}`).toBe(404);
        expect(gone.body, `${method} ${path}`).toEqual({ code: 1002, message: 'Contact does not exist.' });
      }
      for (const target of ['active', 'inactive'] as const) {
        const action = await status(c.contact_id, target);
        expect(action.status).toBe(400);
        expect(action.body).toEqual({ code: 2, message: 'Invalid value passed for contact_id' });
      }
      expect(ids(await listAll())).not.toContain(c.contact_id);
    });

    it('refuses to delete a contact with transactions (1071), active or inactive, and keeps it', async () => {
      const c = await create();
      const est = await transaction('/estimates', { customer_id: c.contact_id, total: 5 });
      expect(est.status).toBe(201);
      const res = await t.call('DELETE', `/contacts/${c.contact_id}`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        code: 1071, message: 'The contact cannot be deleted as it has transactions associated with it. Mark it as inactive instead.',
      });
      expect((await status(c.contact_id, 'inactive')).status).toBe(200);
      const again = await t.call<{ code: number }>('DELETE', `/contacts/${c.contact_id}`);
      expect(again.status).toBe(400);
      expect(again.body.code).toBe(1071);
      const read = await get(c.contact_id);
      expect(read.status).toBe('inactive');
      expect(read.has_transaction).toBe(true);
    });
  });

  describe('status actions', () => {
    withEmulator(SMALL);

    it('mark inactive and active answer 0, repeats answer 3032 / 3031, and each change is recorded', async () => {
      await clock({ freeze: true });
      const c = await create();

      await clock({ advanceSeconds: 60 });
      const off = await status(c.contact_id, 'inactive');
      expect(off.status).toBe(200);
      expect(off.body).toEqual({ code: 0, message: 'The contact has been marked as inactive.' });
      const afterOff = await get(c.contact_id);
      expect(afterOff.status).toBe('inactive');
      expect(zohoTime(afterOff.last_modified_time) - zohoTime(c.last_modified_time)).toBe(60_000);

      await clock({ advanceSeconds: 60 });
      const offAgain = await status(c.contact_id, 'inactive');
      expect(offAgain.status).toBe(400);
      expect(offAgain.body).toEqual({ code: 3032, message: 'The contact is already inactive.' });
      expect((await get(c.contact_id)).last_modified_time).toBe(afterOff.last_modified_time);

      await clock({ advanceSeconds: 60 });
      const on = await status(c.contact_id, 'active');
      expect(on.status).toBe(200);
      expect(on.body).toEqual({ code: 0, message: 'The contact has been marked as active.' });
      const afterOn = await get(c.contact_id);
      expect(afterOn.status).toBe('active');
      expect(zohoTime(afterOn.last_modified_time) - zohoTime(afterOff.last_modified_time)).toBe(120_000);

      const onAgain = await status(c.contact_id, 'active');
      expect(onAgain.status).toBe(400);
      expect(onAgain.body).toEqual({ code: 3031, message: 'The contact is already active.' });

      expect((await status(c.contact_id, 'inactive')).body.code).toBe(0);
      const entries = await history(c.contact_id);
      expect(entries.map((e) => [e.description, e.operation_type])).toEqual([
        ['Contact marked as inactive.', 'Marked as Inactive'],
        ['Contact marked as active.', 'Marked as Active'],
        ['Contact marked as inactive.', 'Marked as Inactive'],
        ['Contact created', 'Added'],
      ]);
    });

    it('an inactive contact stays in Status.All and Status.Inactive and leaves Status.Active', async () => {
      const demo = (await list({ filter_by: 'Status.Active', per_page: 1 })).contacts[0] as Contact;
      expect((await status(demo.contact_id, 'inactive')).body.code).toBe(0);
      expect(ids(await listAll())).toContain(demo.contact_id);
      expect(ids(await listAll({ filter_by: 'Status.Inactive' }))).toContain(demo.contact_id);
      expect(ids(await listAll({ filter_by: 'Status.Active' }))).not.toContain(demo.contact_id);
      const listed = (await listAll()).find((c) => c.contact_id === demo.contact_id);
      expect(listed?.status).toBe('inactive');
      // History and balances are kept.
      const read = await get(demo.contact_id);
      expect(read.outstanding_receivable_amount).toBe(demo.outstanding_receivable_amount);
      expect(read.outstanding_payable_amount).toBe(demo.outstanding_payable_amount);
      expect((await history(demo.contact_id))[0]?.description).toBe('Contact marked as inactive.');
    });

    it('unknown, malformed and deleted contact ids answer 400 code 2 on both actions', async () => {
      const deleted = await create();
      expect((await t.call('DELETE', `/contacts/${deleted.contact_id}`)).status).toBe(200);
      for (const id of [UNKNOWN_ID, 'abc', '12345', '12345678901234567890', '3185434000000000001x', deleted.contact_id]) {
        for (const target of ['active', 'inactive'] as const) {
          const res = await status(encodeURIComponent(id), target);
          expect(res.status, `${target} ${id}`).toBe(400);
          expect(res.body, `${target} ${id}`).toEqual({ code: 2, message: 'Invalid value passed for contact_id' });
        }
      }
    });

    it('an inactive customer cannot get a new invoice or sales order (1072) but can get a payment or estimate; after re-activation it can', async () => {
      const c = await create();
      expect((await status(c.contact_id, 'inactive')).body.code).toBe(0);
      const blocked = { code: 1072, message: 'The contact is inactive. Mark it as active to create new transactions.' };

      const inv = await transaction('/invoices', { customer_id: c.contact_id, total: 100 });
      expect(inv.status).toBe(400);
      expect(inv.body).toEqual(blocked);
      const so = await transaction('/salesorders', { customer_id: c.contact_id, total: 100 });
      expect(so.status).toBe(400);
      expect(so.body).toEqual(blocked);
      const invoices = await t.call<{ invoices: unknown[] }>('GET', '/invoices', { query: { customer_id: c.contact_id } });
      expect(invoices.body.invoices).toEqual([]);

      const pay = await transaction('/customerpayments', { customer_id: c.contact_id, amount: 25 });
      expect(pay.status).toBe(201);
      expect(pay.body.code).toBe(0);
      const est = await transaction('/estimates', { customer_id: c.contact_id, total: 40 });
      expect(est.status).toBe(201);
      expect(est.body.code).toBe(0);
      const read = await get(c.contact_id);
      expect(read.status).toBe('inactive');
      expect(read.unused_credits_receivable_amount).toBe(25);

      expect((await status(c.contact_id, 'active')).body.code).toBe(0);
      const inv2 = await transaction('/invoices', { customer_id: c.contact_id, total: 100 });
      expect(inv2.status).toBe(201);
      expect(inv2.body.code).toBe(0);
      const so2 = await transaction('/salesorders', { customer_id: c.contact_id, total: 100 });
      expect(so2.status).toBe(201);
      expect((await get(c.contact_id)).outstanding_receivable_amount).toBe(100);
    });

    it('an inactive vendor cannot get a new bill (1072); after re-activation it can', async () => {
      const v = await create({ contact_type: 'vendor' });
      expect((await status(v.contact_id, 'inactive')).body.code).toBe(0);
      const bill = await transaction('/bills', { vendor_id: v.contact_id, total: 70 });
      expect(bill.status).toBe(400);
      expect(bill.body).toEqual({ code: 1072, message: 'The contact is inactive. Mark it as active to create new transactions.' });
      expect((await get(v.contact_id)).outstanding_payable_amount).toBe(0);
      expect((await status(v.contact_id, 'active')).body.code).toBe(0);
      const bill2 = await transaction('/bills', { vendor_id: v.contact_id, total: 70 });
      expect(bill2.status).toBe(201);
      expect((await get(v.contact_id)).outstanding_payable_amount).toBe(70);
    });
  });

  describe('GET /contacts/{id}/comments', () => {
    withEmulator(SMALL);

    it('pages the history newest first; walking the pages returns every entry once', async () => {
      await clock({ freeze: true });
      const c = await create();
      for (let i = 0; i < 3; i++) {
        await clock({ advanceSeconds: 60 });
        expect((await status(c.contact_id, 'inactive')).status).toBe(200);
        await clock({ advanceSeconds: 60 });
        expect((await status(c.contact_id, 'active')).status).toBe(200);
      }
      const all = await history(c.contact_id);
      expect(all.length).toBe(7);
      expect(all[6]?.description).toBe('Contact created');
      for (let i = 1; i < all.length; i++) {
        expect(zohoTime((all[i - 1] as HistoryEntry).date_description)).toBeGreaterThanOrEqual(zohoTime((all[i] as HistoryEntry).date_description));
      }

      const walked: HistoryEntry[] = [];
      for (let page = 1; ; page++) {
        const res = await t.call<HistoryList>('GET', `/contacts/${c.contact_id}/comments`, { query: { page, per_page: 3 } });
        expect(res.status).toBe(200);
        expect(res.body.code).toBe(0);
        expect(res.body.page_context.page).toBe(page);
        expect(res.body.page_context.per_page).toBe(3);
        walked.push(...res.body.contact_comments);
        if (!res.body.page_context.has_more_page) break;
        expect(res.body.contact_comments.length).toBe(3);
        if (page > 10) throw new Error('has_more_page never became false');
      }
      expect(walked.map((e) => e.comment_id)).toEqual(all.map((e) => e.comment_id));
      expect(new Set(walked.map((e) => e.comment_id)).size).toBe(7);
      for (const entry of walked) {
        expectZohoId(entry.comment_id);
        expect(entry.contact_id).toBe(c.contact_id);
      }
    });
  });
});
