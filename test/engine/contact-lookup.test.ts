/**
 * The lookup behind `sunset contacts activate|deactivate` (src/engine/contact-lookup.ts) against the
 * real emulator over HTTP: which ids the organization has, and how many calls it took, judged from
 * the emulator's request log. The first demo organization has 1,000 contacts (5 pages of 200), the
 * second 200.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createZohoAdapter, FEW_IDS, lookUpContacts, safetyExclusion, type LookupProgress, type PortContact } from '../../src/engine/index.js';
import { parsePolicy } from '../../src/engine/policy.js';
import { rawList, startEngineHarness, type EngineHarness, type LogEntry } from '../helpers/engine.js';

let h: EngineHarness;
/** The first organization's contact ids in listing order (page p holds [200p, 200p + 200)). */
let listed: string[];
let other: string[];
const NOWHERE = '5555555555555555555';

beforeAll(async () => {
  h = await startEngineHarness({ contacts: 1000 });
  listed = (await rawList<{ contact_id: string }>(h.t, '/contacts', 'contacts', { filter_by: 'Status.All' })).items.map((c) => c.contact_id);
  other = (await rawList<{ contact_id: string }>(h.t, '/contacts', 'contacts', { filter_by: 'Status.All', organization_id: h.t.organizations[1]! })).items.map((c) => c.contact_id);
  expect(listed).toHaveLength(1000);
  expect(other.length).toBeGreaterThan(20);
});
afterAll(async () => h.close());

/** The contact reads in the log since `since`: list pages and single-contact GETs, of the first organization. */
async function reads(since: number): Promise<{ pages: LogEntry[]; gets: LogEntry[] }> {
  const entries = (await h.requests({ since, method: 'GET', pathPrefix: '/books/v3/contacts' })).filter((e) => e.organization_id === h.organization);
  return {
    pages: entries.filter((e) => e.path === '/books/v3/contacts'),
    gets: entries.filter((e) => /^\/books\/v3\/contacts\/\d+$/.test(e.path)),
  };
}

/** Every `step`-th id of the listing, `count` of them. */
function spread(count: number, step: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => listed[from + i * step]!);
}

describe('lookUpContacts', () => {
  it('a few ids: one GET each, no listing; ids of another organization or of no contact are unknown', async () => {
    const since = await h.lastSeq();
    const ids = [listed[900]!, other[3]!, NOWHERE, listed[5]!];
    const result = await lookUpContacts(h.port, ids);
    expect([...result.contacts.keys()].sort()).toEqual([listed[900]!, listed[5]!].sort());
    expect(result.unknown).toEqual([other[3]!, NOWHERE]);
    const log = await reads(since);
    expect(log.pages).toEqual([]);
    expect(log.gets.map((e) => e.path.split('/').pop()).sort()).toEqual([...ids].sort());
    expect(result).toMatchObject({ pages: 0, gets: 4 });
    // What a change needs to know, as Zoho reports it.
    const c = result.contacts.get(listed[5]!)!;
    expect(c).toMatchObject({ contactId: listed[5], status: expect.stringMatching(/^(active|inactive)$/) });
    expect(c.createdAt).toBeGreaterThan(0);
  });

  it(`the same id named twice is read once (${FEW_IDS} distinct ids are still "a few")`, async () => {
    const since = await h.lastSeq();
    const ids = spread(FEW_IDS, 97);
    const result = await lookUpContacts(h.port, [...ids, ids[0]!, ids[1]!]);
    expect(result.unknown).toEqual([]);
    expect(result.contacts.size).toBe(FEW_IDS);
    const log = await reads(since);
    expect(log.pages).toEqual([]);
    expect(log.gets).toHaveLength(FEW_IDS);
  });

  it('many ids on the first page: one page read, no GET (the listing stops once all are found)', async () => {
    const since = await h.lastSeq();
    const ids = spread(60, 3);
    const progress: LookupProgress[] = [];
    const result = await lookUpContacts(h.port, ids, { onProgress: (p) => progress.push(p) });
    expect(result.unknown).toEqual([]);
    expect([...result.contacts.keys()].sort()).toEqual([...ids].sort());
    const log = await reads(since);
    expect(log.pages.map((e) => e.query.page)).toEqual(['1']);
    expect(log.pages[0]!.query.filter_by).toBe('Status.All');
    expect(log.pages[0]!.query.per_page).toBe('200');
    expect(log.gets).toEqual([]);
    expect(progress.at(-1)).toEqual({ total: 60, found: 60, pages: 1, gets: 0 });
  });

  it('many ids across the organization: found with at most twice the calls of the cheaper way', async () => {
    for (const [count, step] of [[40, 25], [200, 5], [15, 66]] as const) {
      const since = await h.lastSeq();
      const ids = spread(count, step);
      const result = await lookUpContacts(h.port, ids);
      expect(result.unknown).toEqual([]);
      expect(result.contacts.size).toBe(count);
      const log = await reads(since);
      const lastPage = Math.floor(listed.indexOf(ids.at(-1)!) / 200) + 1;
      const calls = log.pages.length + log.gets.length;
      expect(calls, `${count} ids, every ${step}th`).toBeLessThanOrEqual(2 * Math.min(count, lastPage));
      expect({ pages: result.pages, gets: result.gets }).toEqual({ pages: log.pages.length, gets: log.gets.length });
    }
  });

  it('many ids, some unknown: the unknown ones are named, and they do not cost a read of the whole organization', async () => {
    const since = await h.lastSeq();
    const ids = [...spread(30, 4), other[0]!, NOWHERE, other[1]!];
    const result = await lookUpContacts(h.port, ids);
    expect(result.unknown).toEqual([other[0]!, NOWHERE, other[1]!]);
    expect(result.contacts.size).toBe(30);
    const log = await reads(since);
    // 30 ids on the first page: after it, 3 missing, more than the 1 page read; after the second
    // page still 3 missing, more than 2; after the third, 3 missing <= 3 pages: GET those 3.
    expect(log.pages.map((e) => e.query.page)).toEqual(['1', '2', '3']);
    expect(log.gets.map((e) => e.path.split('/').pop()).sort()).toEqual([other[0]!, NOWHERE, other[1]!].sort());
  });

  it('a small organization listed to its end proves the rest unknown without a GET', async () => {
    const side = h.newSide();
    const orgPort = createZohoAdapter(side.client, h.t.organizations[1]!, side.calls, side.port.target);
    const since = await h.lastSeq();
    const ids = [...other.slice(0, 20), listed[0]!, NOWHERE];
    const result = await lookUpContacts(orgPort, ids);
    expect(result.unknown).toEqual([listed[0]!, NOWHERE]);
    const entries = (await h.requests({ since, method: 'GET', pathPrefix: '/books/v3/contacts' })).filter((e) => e.organization_id === h.t.organizations[1]);
    expect(entries.map((e) => e.path)).toEqual(['/books/v3/contacts']);
    expect(result).toMatchObject({ pages: 1, gets: 0 });
  });
});

describe('safetyExclusion', () => {
  const policy = parsePolicy('organization_id: "1"\n', 'p.yaml');
  const base: PortContact = {
    contactId: '3185434000000001581', contactName: 'Harbor Freight', companyName: '', contactType: 'vendor', status: 'active',
    createdAt: Date.UTC(2024, 0, 1), modifiedAt: Date.UTC(2024, 0, 1), receivableCents: 0, payableCents: 0,
    creditsReceivableCents: 0, creditsPayableCents: 0, customFields: {}, tags: [], zcrmAccountId: '', zcrmContactId: '',
  };
  const now = Date.UTC(2026, 5, 1);

  it('open balance, unused credits and the grace period, worded as a plan words them', () => {
    expect(safetyExclusion(base, policy.safety, now)).toBeUndefined();
    expect(safetyExclusion({ ...base, payableCents: 82_879 }, policy.safety, now)).toEqual({
      contactId: base.contactId, contactName: 'Harbor Freight', contactType: 'vendor', reasons: ['open_balance'], detail: 'owes 0.00 / is owed 828.79',
    });
    expect(safetyExclusion({ ...base, creditsReceivableCents: 1_000, creditsPayableCents: 50 }, policy.safety, now)?.detail).toBe('unused credits 10.50');
    const recent = Date.UTC(2026, 4, 2);
    expect(safetyExclusion({ ...base, createdAt: recent, receivableCents: 1 }, policy.safety, now)).toMatchObject({
      reasons: ['open_balance', 'grace_period'], detail: 'owes 0.01 / is owed 0.00; created 2026-05-02, within 90 days',
    });
    // 90 days and a minute ago: outside the grace period.
    expect(safetyExclusion({ ...base, createdAt: now - 90 * 86_400_000 - 60_000 }, policy.safety, now)).toBeUndefined();
  });

  it('an inactive contact is never excluded (a deactivation leaves it as it is)', () => {
    expect(safetyExclusion({ ...base, status: 'inactive', payableCents: 82_879 }, policy.safety, now)).toBeUndefined();
  });

  it('the policy turns each rule off', () => {
    const off = parsePolicy('organization_id: "1"\nsafety:\n  open_balance: false\n  unused_credits: false\n  grace_period: none\n', 'p.yaml');
    expect(safetyExclusion({ ...base, payableCents: 1, creditsPayableCents: 1, createdAt: now - 1 }, off.safety, now)).toBeUndefined();
  });
});
