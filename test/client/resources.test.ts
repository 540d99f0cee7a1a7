/**
 * Every resource method of the Zoho Books client against the real emulator over HTTP: organizations
 * (and the plan they feed to the limiter), contacts (each list filter under its wire name, paging,
 * get, create, update, delete, the status actions, the history) and every transaction type (list
 * filters, get, create). What the client sends is checked in the emulator's request log; what it
 * returns is checked against the data. IDs stay strings end to end.
 *
 * The emulator's rate limits are off here (they are the subject of error-kinds.test.ts and
 * fault-run.test.ts); each test builds its own client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContactListParams, OrganizationClient, ResponseInfo, TransactionListParams } from '../../src/client/index.js';
import {
  parseZohoTime, TRANSACTION_TYPE_NAMES, TRANSACTION_TYPES, type ContactListItem, type TransactionRecord, type TransactionType,
} from '../../src/zoho/index.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createTestClient } from '../helpers/client.js';

const START = Date.UTC(2026, 2, 2, 6, 0, 5);
const TWO_POW_53 = 2n ** 53n;

interface LogEntry {
  seq: number;
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  code: number | null;
}

async function requestLog(t: TestEmulator, filter: { method?: string; pathPrefix?: string; since?: number } = {}): Promise<LogEntry[]> {
  const params = new URLSearchParams({ limit: '100000' });
  if (filter.method) params.set('method', filter.method);
  if (filter.pathPrefix) params.set('path_prefix', filter.pathPrefix);
  if (filter.since !== undefined) params.set('since', String(filter.since));
  const res = await t.admin<{ requests: LogEntry[] }>('GET', `/__emulator/requests?${params.toString()}`);
  return res.body.requests;
}

async function lastSeq(t: TestEmulator): Promise<number> {
  const res = await t.admin<{ next_seq: number }>('GET', '/__emulator/requests?limit=1');
  return res.body.next_seq;
}

/** Every item of a list endpoint, read raw (not through the client), 200 a page. */
async function rawAll<T>(t: TestEmulator, path: string, key: string, query: Record<string, string> = {}, organization = t.organization): Promise<T[]> {
  const all: T[] = [];
  for (let page = 1; ; page++) {
    const res = await t.call<Record<string, unknown>>('GET', path, { query: { ...query, page, per_page: 200 }, organization });
    expect(res.status).toBe(200);
    all.push(...(res.body[key] as T[]));
    if (!(res.body.page_context as { has_more_page: boolean }).has_more_page) return all;
  }
}

const ids = (items: Array<{ contact_id: string }>): string[] => items.map((c) => c.contact_id);
const epoch = (zohoTime: string): number => {
  const ms = parseZohoTime(zohoTime);
  if (ms === undefined) throw new Error(`not a Zoho time: ${zohoTime}`);
  return ms;
};
const isBigId = (id: unknown): boolean => typeof id === 'string' && /^[0-9]{19}$/.test(id) && BigInt(id) > TWO_POW_53;

describe('organizations.list', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator({ contacts: 20, startAt: START, limits: false });
  });
  afterAll(async () => {
    await t.close();
  });

  it('lists the organizations the token reaches and feeds each plan to the limiter (10 in flight for paid, 5 for free)', async () => {
    const { client } = createTestClient(t);
    const [professional, free] = t.organizations as [string, string];
    expect(client.organization(professional).limits().inFlightCap).toBe(5);
    expect(client.organization(free).limits().inFlightCap).toBe(5);
    const since = await lastSeq(t);

    const organizations = await client.organizations.list();

    expect(organizations.map((o) => [o.organization_id, o.name, o.plan_name, o.plan_type])).toEqual([
      [professional, 'Sunrise Traders Pvt Ltd', 'Professional', 2],
      [free, 'Harbor Supply Co', 'Free', 0],
    ]);
    expect(organizations.every((o) => typeof o.organization_id === 'string')).toBe(true);
    expect(client.organization(professional).limits().inFlightCap).toBe(10);
    expect(client.organization(free).limits().inFlightCap).toBe(5);
    // Account-level: no organization_id on the wire.
    const log = await requestLog(t, { since, pathPrefix: '/books/v3/organizations' });
    expect(log.map((e) => [e.method, e.path, e.query, e.status])).toEqual([['GET', '/books/v3/organizations', {}, 200]]);
  });
});

describe('contacts.list', () => {
  let t: TestEmulator;
  let all: ContactListItem[];
  let allIds: string[];
  beforeAll(async () => {
    t = await startTestEmulator({ contacts: 450, startAt: START, limits: false });
    all = await rawAll<ContactListItem>(t, '/contacts', 'contacts');
    allIds = ids(all);
  });
  afterAll(async () => {
    await t.close();
  });

  const pick = (predicate: (c: ContactListItem) => boolean, nth = 0): ContactListItem => {
    const found = all.filter(predicate)[nth];
    if (!found) throw new Error('the demo data has no such contact');
    return found;
  };
  const lower = (s: string): string => s.toLowerCase();

  interface Case {
    name: string;
    /** Built from the data once it is loaded. */
    build(): { params: ContactListParams; wire: Record<string, string>; expected: string[] };
  }

  const cases: Case[] = [
    {
      name: 'contactType → contact_type',
      build: () => ({ params: { contactType: 'vendor' }, wire: { contact_type: 'vendor' }, expected: ids(all.filter((c) => c.contact_type === 'vendor')) }),
    },
    {
      name: 'filterBy → filter_by',
      build: () => ({ params: { filterBy: 'Status.Inactive' }, wire: { filter_by: 'Status.Inactive' }, expected: ids(all.filter((c) => c.status === 'inactive')) }),
    },
    {
      name: 'searchText → search_text',
      build: () => {
        const text = pick((c) => c.company_name.length > 8, 3).company_name.slice(0, 6);
        const match = (c: ContactListItem): boolean => lower(c.contact_name).includes(lower(text)) || lower(c.company_name).includes(lower(text));
        return { params: { searchText: text }, wire: { search_text: text }, expected: ids(all.filter(match)) };
      },
    },
    {
      name: 'contactName → contact_name',
      build: () => {
        const name = pick(() => true, 17).contact_name;
        return { params: { contactName: name }, wire: { contact_name: name }, expected: ids(all.filter((c) => lower(c.contact_name) === lower(name))) };
      },
    },
    {
      name: 'contactNameStartsWith → contact_name_startswith',
      build: () => {
        const prefix = pick(() => true, 40).contact_name.slice(0, 3);
        return {
          params: { contactNameStartsWith: prefix },
          wire: { contact_name_startswith: prefix },
          expected: ids(all.filter((c) => lower(c.contact_name).startsWith(lower(prefix)))),
        };
      },
    },
    {
      name: 'contactNameContains → contact_name_contains',
      build: () => {
        const part = pick((c) => c.contact_name.length > 8, 60).contact_name.slice(2, 6);
        return {
          params: { contactNameContains: part },
          wire: { contact_name_contains: part },
          expected: ids(all.filter((c) => lower(c.contact_name).includes(lower(part)))),
        };
      },
    },
    {
      name: 'companyName → company_name',
      build: () => {
        const company = pick((c) => c.company_name !== '', 5).company_name;
        return { params: { companyName: company }, wire: { company_name: company }, expected: ids(all.filter((c) => lower(c.company_name) === lower(company))) };
      },
    },
    {
      name: 'companyNameStartsWith → company_name_startswith',
      build: () => {
        const prefix = pick((c) => c.company_name !== '', 30).company_name.slice(0, 3);
        return {
          params: { companyNameStartsWith: prefix },
          wire: { company_name_startswith: prefix },
          expected: ids(all.filter((c) => lower(c.company_name).startsWith(lower(prefix)))),
        };
      },
    },
    {
      name: 'companyNameContains → company_name_contains',
      build: () => {
        const part = pick((c) => c.company_name.length > 8, 12).company_name.slice(3, 7);
        return {
          params: { companyNameContains: part },
          wire: { company_name_contains: part },
          expected: ids(all.filter((c) => lower(c.company_name).includes(lower(part)))),
        };
      },
    },
    {
      name: 'email → email',
      build: () => {
        const email = pick((c) => c.email !== '', 9).email;
        return { params: { email }, wire: { email }, expected: ids(all.filter((c) => lower(c.email) === lower(email))) };
      },
    },
    {
      name: 'phone → phone',
      build: () => {
        const phone = pick((c) => c.phone !== '', 11).phone;
        return { params: { phone }, wire: { phone }, expected: ids(all.filter((c) => c.phone === phone)) };
      },
    },
    {
      name: 'zcrmAccountId → zcrm_account_id',
      build: () => {
        const id = pick((c) => c.zcrm_account_id !== '', 2).zcrm_account_id;
        return { params: { zcrmAccountId: id }, wire: { zcrm_account_id: id }, expected: ids(all.filter((c) => c.zcrm_account_id === id)) };
      },
    },
    {
      name: 'zcrmContactId → zcrm_contact_id',
      build: () => {
        const id = pick((c) => c.zcrm_contact_id !== '', 1).zcrm_contact_id;
        return { params: { zcrmContactId: id }, wire: { zcrm_contact_id: id }, expected: ids(all.filter((c) => c.zcrm_contact_id === id)) };
      },
    },
    {
      name: 'lastModifiedTime (a Date) → last_modified_time in Zoho format',
      build: () => {
        const times = all.map((c) => epoch(c.last_modified_time)).sort((a, b) => a - b);
        const cut = new Date(times[Math.floor(times.length / 2)] as number);
        const wire = `${cut.toISOString().slice(0, 19)}+0000`;
        return { params: { lastModifiedTime: cut }, wire: { last_modified_time: wire }, expected: ids(all.filter((c) => epoch(c.last_modified_time) >= cut.getTime())) };
      },
    },
    {
      name: 'lastModifiedTime (Zoho text) → last_modified_time as given',
      build: () => {
        const times = [...all].sort((a, b) => epoch(a.last_modified_time) - epoch(b.last_modified_time));
        const text = (times[Math.floor(times.length / 3)] as ContactListItem).last_modified_time;
        return { params: { lastModifiedTime: text }, wire: { last_modified_time: text }, expected: ids(all.filter((c) => epoch(c.last_modified_time) >= epoch(text))) };
      },
    },
    {
      name: 'sortColumn → sort_column',
      build: () => {
        const sorted = [...all].sort((a, b) => epoch(a.created_time) - epoch(b.created_time) || (BigInt(a.contact_id) < BigInt(b.contact_id) ? -1 : 1));
        return { params: { sortColumn: 'created_time' }, wire: { sort_column: 'created_time' }, expected: ids(sorted) };
      },
    },
    {
      name: 'sortOrder → sort_order',
      build: () => ({ params: { sortOrder: 'D' }, wire: { sort_order: 'D' }, expected: [...allIds].reverse() }),
    },
  ];

  it.each(cases)('$name: the results and the request on the wire', async ({ build }) => {
    const { params, wire, expected } = build();
    expect(expected.length).toBeGreaterThan(0);
    expect(expected).not.toEqual(allIds); // the parameter changes the answer, so a wrong wire name would show
    const { client } = createTestClient(t);
    const since = await lastSeq(t);

    const got = await client.organization(t.organization).contacts.list(params).toArray();

    expect(ids(got)).toEqual(expected);
    const log = await requestLog(t, { since, pathPrefix: '/books/v3/contacts' });
    expect(log.length).toBe(Math.ceil(expected.length / 200) || 1);
    expect(log[0]?.query).toEqual({ organization_id: t.organization, ...wire, page: '1', per_page: '200' });
  });

  it('perPage → per_page and page → page: the pages asked for, and nothing else', async () => {
    const { client } = createTestClient(t);
    const since = await lastSeq(t);

    const pages = client.organization(t.organization).contacts.list({ perPage: 7, page: 3 }).pages();
    const first = await pages.next();

    expect(first.done).toBe(false);
    expect(first.value && { page: first.value.page, hasMore: first.value.hasMore, ids: ids(first.value.items) }).toEqual({
      page: 3, hasMore: true, ids: allIds.slice(14, 21),
    });
    const log = await requestLog(t, { since, pathPrefix: '/books/v3/contacts' });
    expect(log.map((e) => e.query)).toEqual([{ organization_id: t.organization, page: '3', per_page: '7' }]);
  });

  it('page → page: iteration starts there and runs to the end', async () => {
    const { client } = createTestClient(t);
    const got = await client.organization(t.organization).contacts.list({ page: 2 }).toArray();
    expect(ids(got)).toEqual(allIds.slice(200));
  });

  it(`pages through more than 200 contacts with per_page=200, each contact once, in ceil(n/200) calls`, async () => {
    const n = t.emulator.store.contacts.count(t.organization);
    expect(n).toBe(450);
    const responses: ResponseInfo[] = [];
    const { client } = createTestClient(t, { hooks: { onResponse: (info) => responses.push(info) } });
    const since = await lastSeq(t);

    const got = await client.organization(t.organization).contacts.list().toArray();

    expect(got.length).toBe(n);
    expect(new Set(ids(got)).size).toBe(n);
    expect(ids(got)).toEqual(allIds);
    expect(responses.filter((r) => r.path === '/contacts').map((r) => [r.method, r.status, r.code])).toEqual(
      Array.from({ length: Math.ceil(n / 200) }, () => ['GET', 200, 0]),
    );
    const log = await requestLog(t, { since, pathPrefix: '/books/v3/contacts' });
    expect(log.map((e) => [e.query.page, e.query.per_page])).toEqual([['1', '200'], ['2', '200'], ['3', '200']]);
  });

  it('keeps 19-digit ids above 2^53 intact, as strings, from the wire to the next call', async () => {
    const { client } = createTestClient(t);
    const res = await fetch(`${t.baseUrl}/contacts?organization_id=${t.organization}&per_page=200`, { headers: { authorization: `Zoho-oauthtoken ${t.token}` } });
    const text = await res.text();
    const wireIds = [...text.matchAll(/"contact_id":"([0-9]+)"/g)].map((m) => m[1] as string);
    expect(wireIds.length).toBe(200);

    const got = await client.organization(t.organization).contacts.list().toArray();

    expect(ids(got).slice(0, 200)).toEqual(wireIds);
    expect(got.every((c) => isBigId(c.contact_id))).toBe(true);
    const id = wireIds[123] as string;
    expect(String(Number(id))).not.toBe(id); // a number would lose it
    const since = await lastSeq(t);
    const contact = await client.organization(t.organization).contacts.get(id);
    expect(contact.contact_id).toBe(id);
    const log = await requestLog(t, { since });
    expect(log.map((e) => e.path)).toEqual([`/books/v3/contacts/${id}`]);
  });
});

describe('contacts: get, create, update, delete, status, comments', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator({ contacts: 40, startAt: START, limits: false });
  });
  afterAll(async () => {
    await t.close();
  });

  const rawGet = async (id: string): Promise<{ status: number; body: { code: number; contact?: Record<string, unknown> } }> =>
    t.call<{ code: number; contact?: Record<string, unknown> }>('GET', `/contacts/${id}`);

  it('get returns the contact as the emulator holds it, has_transaction included', async () => {
    const { client } = createTestClient(t);
    const list = await rawAll<ContactListItem>(t, '/contacts', 'contacts');
    const target = list[5] as ContactListItem;

    const contact = await client.organization(t.organization).contacts.get(target.contact_id);

    const raw = await rawGet(target.contact_id);
    expect(contact).toEqual(raw.body.contact);
    expect(typeof contact.has_transaction).toBe('boolean');
    expect(isBigId(contact.contact_id)).toBe(true);
  });

  it('create makes an active contact with the given fields and a string id', async () => {
    const { client } = createTestClient(t);
    const before = t.emulator.store.contacts.count(t.organization);

    const created = await client.organization(t.organization).contacts.create({
      contact_name: 'Resource Test Vendor',
      company_name: 'Resource Test Ltd',
      contact_type: 'vendor',
      email: 'rt@vendor.example',
      phone: '+91-70000-00001',
      custom_fields: [{ api_name: 'cf_region', value: 'North' }],
      tags: [{ tag_name: 'Channel', tag_option_name: 'Direct' }],
    });

    expect(isBigId(created.contact_id)).toBe(true);
    expect({
      name: created.contact_name, company: created.company_name, type: created.contact_type, status: created.status,
      email: created.email, phone: created.phone, region: created.custom_fields.map((f) => [f.api_name, f.value]),
      tags: created.tags.map((tag) => [tag.tag_name, tag.tag_option_name]), has: created.has_transaction,
    }).toEqual({
      name: 'Resource Test Vendor', company: 'Resource Test Ltd', type: 'vendor', status: 'active', email: 'rt@vendor.example',
      phone: '+91-70000-00001', region: [['cf_region', 'North']], tags: [['Channel', 'Direct']], has: false,
    });
    expect(t.emulator.store.contacts.count(t.organization)).toBe(before + 1);
    expect((await rawGet(created.contact_id)).body.contact).toEqual(created);
  });

  it('update changes the given fields and returns the updated contact', async () => {
    const { client } = createTestClient(t);
    const books = client.organization(t.organization);
    const created = await books.contacts.create({ contact_name: 'Resource Test Update' });

    const updated = await books.contacts.update(created.contact_id, { email: 'new@update.example', phone: '555-0101', notes: 'moved' });

    expect(updated.contact_id).toBe(created.contact_id);
    expect([updated.contact_name, updated.email, updated.phone, updated.notes]).toEqual(['Resource Test Update', 'new@update.example', '555-0101', 'moved']);
    expect((await rawGet(created.contact_id)).body.contact).toEqual(updated);
  });

  it('delete removes a contact without transactions', async () => {
    const { client } = createTestClient(t);
    const books = client.organization(t.organization);
    const created = await books.contacts.create({ contact_name: 'Resource Test Delete' });
    const before = t.emulator.store.contacts.count(t.organization);

    await expect(books.contacts.delete(created.contact_id)).resolves.toBeUndefined();

    expect(t.emulator.store.contacts.count(t.organization)).toBe(before - 1);
    const raw = await rawGet(created.contact_id);
    expect([raw.status, raw.body.code]).toEqual([404, 1002]);
  });

  it('markInactive and markActive report changed, then unchanged on a repeat, and move the contact', async () => {
    const { client } = createTestClient(t);
    const books = client.organization(t.organization);
    const { contact_id: id } = await books.contacts.create({ contact_name: 'Resource Test Status' });
    const since = await lastSeq(t);
    const status = async (): Promise<unknown> => (await rawGet(id)).body.contact?.status;

    expect(await books.contacts.markInactive(id)).toEqual({ contactId: id, status: 'inactive', outcome: 'changed' });
    expect(await status()).toBe('inactive');
    expect(await books.contacts.markInactive(id)).toEqual({ contactId: id, status: 'inactive', outcome: 'unchanged' });
    expect(await status()).toBe('inactive');
    expect(await books.contacts.markActive(id)).toEqual({ contactId: id, status: 'active', outcome: 'changed' });
    expect(await status()).toBe('active');
    expect(await books.contacts.markActive(id)).toEqual({ contactId: id, status: 'active', outcome: 'unchanged' });
    expect(await status()).toBe('active');

    const log = await requestLog(t, { since, method: 'POST' });
    expect(log.map((e) => [e.path, e.query, e.status, e.code])).toEqual([
      [`/books/v3/contacts/${id}/inactive`, { organization_id: t.organization }, 200, 0],
      [`/books/v3/contacts/${id}/inactive`, { organization_id: t.organization }, 400, 3032],
      [`/books/v3/contacts/${id}/active`, { organization_id: t.organization }, 200, 0],
      [`/books/v3/contacts/${id}/active`, { organization_id: t.organization }, 400, 3031],
    ]);
  });

  it('comments lists the history, newest first, as the emulator records it', async () => {
    const { client } = createTestClient(t);
    const books = client.organization(t.organization);
    const { contact_id: id } = await books.contacts.create({ contact_name: 'Resource Test History' });
    await books.contacts.update(id, { email: 'h@history.example' });
    await books.contacts.markInactive(id);
    await books.contacts.markActive(id);
    const since = await lastSeq(t);

    const comments = await books.contacts.comments(id).toArray();

    expect(comments.map((c) => [c.contact_id, c.description, c.operation_type])).toEqual([
      [id, 'Contact marked as active.', 'Marked as Active'],
      [id, 'Contact marked as inactive.', 'Marked as Inactive'],
      [id, 'Contact details updated', 'Updated'],
      [id, 'Contact created', 'Added'],
    ]);
    expect(comments.every((c) => isBigId(c.comment_id))).toBe(true);
    const log = await requestLog(t, { since });
    expect(log.map((e) => [e.path, e.query])).toEqual([[`/books/v3/contacts/${id}/comments`, { organization_id: t.organization, page: '1', per_page: '200' }]]);
    const raw = await t.call<{ contact_comments: unknown[] }>('GET', `/contacts/${id}/comments`);
    expect(comments).toEqual(raw.body.contact_comments);
  });
});

describe('transactions', () => {
  let t: TestEmulator;
  let customer: string;
  let vendor: string;
  beforeAll(async () => {
    t = await startTestEmulator({ contacts: 120, startAt: START, limits: false });
    const active = await rawAll<ContactListItem>(t, '/contacts', 'contacts', { filter_by: 'Status.Active' });
    const customers = active.filter((c) => c.contact_type === 'customer').map((c) => c.contact_id);
    const vendors = active.filter((c) => c.contact_type === 'vendor').map((c) => c.contact_id);
    customer = customers[0] as string;
    vendor = vendors[0] as string;
    // A few more of every type, on two contacts and four dates, so every filter picks a proper subset.
    for (const type of TRANSACTION_TYPE_NAMES) {
      const info = TRANSACTION_TYPES[type];
      const side = info.contactType === 'customer' ? customers : vendors;
      for (const [i, date] of ['2025-01-10', '2025-06-15', '2025-12-20', '2025-03-03'].entries()) {
        const body: Record<string, unknown> = { [info.contactIdField]: side[(i % 2) + 1], date };
        if (info.amountField === 'amount') body.amount = 5 + i;
        else body.line_items = [{ name: 'Seed', rate: 10 + i, quantity: 1 }];
        const res = await t.call('POST', info.path, { body });
        expect(res.status).toBe(201);
      }
    }
  });
  afterAll(async () => {
    await t.close();
  });

  const resourceOf = (books: OrganizationClient, type: TransactionType) =>
    ({
      invoices: books.invoices, salesorders: books.salesOrders, estimates: books.estimates, creditnotes: books.creditNotes,
      customerpayments: books.customerPayments, salesreceipts: books.salesReceipts, bills: books.bills,
      purchaseorders: books.purchaseOrders, vendorpayments: books.vendorPayments, vendorcredits: books.vendorCredits,
    })[type];

  it.each(TRANSACTION_TYPE_NAMES)('%s: list with every filter, get and create', async (type) => {
    const info = TRANSACTION_TYPES[type];
    const { client } = createTestClient(t);
    const books = client.organization(t.organization);
    const resource = resourceOf(books, type);
    expect(resource).toBe(books.transactions(type));
    expect(resource.type).toBe(type);
    const idOf = (r: TransactionRecord): string => r[info.idField] as string;
    const contactOf = (r: TransactionRecord): string => r[info.contactIdField] as string;

    // The whole list, against the emulator's own answer.
    const all = await resource.list().toArray();
    const raw = await rawAll<TransactionRecord>(t, info.path, info.listKey);
    expect(all.map(idOf)).toEqual(raw.map(idOf));
    expect(all.length).toBeGreaterThan(2);
    expect(all.every((r) => isBigId(idOf(r)) && isBigId(contactOf(r)))).toBe(true);

    const check = async (params: TransactionListParams, wire: Record<string, string>, keep: (r: TransactionRecord) => boolean): Promise<void> => {
      const expected = all.filter(keep).map(idOf);
      expect(expected.length, JSON.stringify(wire)).toBeGreaterThan(0);
      expect(expected.length, JSON.stringify(wire)).toBeLessThan(all.length);
      const since = await lastSeq(t);
      const got = await resource.list(params).toArray();
      expect(got.map(idOf), JSON.stringify(wire)).toEqual(expected);
      const log = await requestLog(t, { since });
      expect(log[0]?.path).toBe(`/books/v3${info.path}`);
      expect(log[0]?.query).toEqual({ organization_id: t.organization, ...wire, page: '1', per_page: '200' });
    };

    // contactId → customer_id or vendor_id.
    const someContact = contactOf(all[Math.floor(all.length / 2)] as TransactionRecord);
    await check({ contactId: someContact }, { [info.contactIdField]: someContact }, (r) => contactOf(r) === someContact);

    // Dates, each under its own name.
    const dates = [...new Set(all.map((r) => r.date))].sort();
    const mid = dates[Math.floor(dates.length / 2)] as string;
    await check({ date: mid }, { date: mid }, (r) => r.date === mid);
    await check({ dateStart: mid }, { date_start: mid }, (r) => r.date >= mid);
    await check({ dateEnd: mid }, { date_end: mid }, (r) => r.date <= mid);
    await check({ dateBefore: mid }, { date_before: mid }, (r) => r.date < mid);
    await check({ dateAfter: mid }, { date_after: mid }, (r) => r.date > mid);

    // lastModifiedTime → last_modified_time (modified at or after).
    const modified = all.map((r) => epoch(r.last_modified_time)).sort((a, b) => a - b);
    const cut = new Date(modified[Math.floor(modified.length / 2)] as number);
    await check({ lastModifiedTime: cut }, { last_modified_time: `${cut.toISOString().slice(0, 19)}+0000` }, (r) => epoch(r.last_modified_time) >= cut.getTime());

    // get(id) answers what the emulator holds.
    const one = all[1] as TransactionRecord;
    const got = await resource.get(idOf(one));
    const rawOne = await t.call<Record<string, unknown>>('GET', `${info.path}/${idOf(one)}`);
    expect(got).toEqual(rawOne.body[info.singleKey]);
    expect(idOf(got)).toBe(idOf(one));

    // create, for a contact of the right side.
    const contactId = info.contactType === 'customer' ? customer : vendor;
    const body: Record<string, unknown> = { [info.contactIdField]: contactId, date: '2026-03-01', reference_number: `RT-${type}` };
    if (info.amountField === 'amount') body.amount = 10;
    else body.line_items = [{ name: 'Widget', rate: 12.5, quantity: 2 }];
    const created = await resource.create(body);
    expect(isBigId(idOf(created))).toBe(true);
    expect([contactOf(created), created.date, created.reference_number, created[info.amountField]]).toEqual([
      contactId, '2026-03-01', `RT-${type}`, info.amountField === 'amount' ? 10 : 25,
    ]);
    expect(await resource.get(idOf(created))).toEqual(created);
    const after = await rawAll<TransactionRecord>(t, info.path, info.listKey, { [info.contactIdField]: contactId });
    expect(after.map(idOf)).toContain(idOf(created));
  });

  it('invoices: status, sortColumn and sortOrder go out as status, sort_column and sort_order', async () => {
    const { client } = createTestClient(t);
    const invoices = client.organization(t.organization).invoices;
    const all = await invoices.list().toArray();
    const paid = all.filter((r) => r.status === 'paid');
    expect(paid.length).toBeGreaterThan(0);
    expect(paid.length).toBeLessThan(all.length);
    const since = await lastSeq(t);

    const got = await invoices.list({ status: 'paid', sortColumn: 'total', sortOrder: 'A' }).toArray();

    const byTotal = [...paid].sort((a, b) => (a.total as number) - (b.total as number) || (BigInt(a.invoice_id as string) < BigInt(b.invoice_id as string) ? -1 : 1));
    expect(got.map((r) => r.invoice_id)).toEqual(byTotal.map((r) => r.invoice_id));
    const log = await requestLog(t, { since });
    expect(log[0]?.query).toEqual({ organization_id: t.organization, status: 'paid', sort_column: 'total', sort_order: 'A', page: '1', per_page: '200' });
  });
});
