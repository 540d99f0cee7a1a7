/**
 * Signals from other platforms, `POST /hooks/signal/:org` (an e-commerce or billing platform says
 * a customer is back, or gone), through the in-process service against a real emulator over HTTP:
 * the contact named by e-mail, Books id or CRM id; the same signature, replay and duplicate rules
 * as the CRM hook; bad bodies refused with a clear 400 and nothing stored; and what reached Books.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody, HookAccepted, WebhookEvent, WebhookSaved } from '../../src/service/index.js';
import { rawList } from '../helpers/engine.js';
import { signHook, startTestService, until, type HttpResult, type SignedIn, type TestService } from '../helpers/service.js';

interface RawContact {
  contact_id: string;
  contact_name: string;
  status: string;
  email: string;
  zcrm_account_id: string;
}

let s: TestService;
let session: SignedIn;
let secret = '';
let unique: RawContact[] = [];
let shared: RawContact[] = [];

beforeAll(async () => {
  s = await startTestService({ contacts: 150 });
  session = await s.login();
  const saved = await session.request<WebhookSaved>('PUT', `/api/orgs/${s.organization}/webhook`, { body: { mode: 'hmac' } });
  expect(saved.status).toBe(200);
  secret = saved.json.secret ?? '';
  const all = (await rawList<RawContact>(s.h.t, '/contacts', 'contacts', { filter_by: 'Status.All' })).items.filter((c) => c.email);
  const byEmail = new Map<string, RawContact[]>();
  for (const c of all) byEmail.set(c.email.toLowerCase(), [...(byEmail.get(c.email.toLowerCase()) ?? []), c]);
  unique = all.filter((c) => byEmail.get(c.email.toLowerCase())!.length === 1 && c.status === 'active');
  shared = [...byEmail.values()].find((list) => list.length > 1) ?? [];
  if (unique.length < 6) throw new Error(`too few contacts with their own e-mail: ${unique.length}`);
});
afterAll(async () => s.close());

const nowSeconds = (): number => Math.floor(s.h.clock.now() / 1000);

async function signal<T = HookAccepted>(body: unknown, o: { key?: string | null; timestamp?: number; contentType?: string } = {}): Promise<HttpResult<T>> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const key = o.key === undefined ? secret : o.key;
  return s.fetch<T>('POST', `/hooks/signal/${s.organization}`, {
    body: text,
    headers: { 'content-type': o.contentType ?? 'application/json', ...(key === null ? {} : signHook(key, text, o.timestamp ?? nowSeconds())) },
  });
}

async function settle(eventId: string): Promise<WebhookEvent> {
  return until(async () => {
    await s.service.processWebhooks();
    const e = (await s.store.events(undefined, 10_000)).find((x) => x.eventId === eventId);
    return e && e.state !== 'accepted' && e.state !== 'processing' ? e : undefined;
  }, `event ${eventId} settles`);
}

describe('signals from other platforms', () => {
  it('a returning customer named by e-mail is made active again, through a run whose reason names the platform', async () => {
    const c = unique.shift()!;
    expect((await s.h.t.call('POST', `/contacts/${c.contact_id}/inactive`)).status).toBe(200);
    const r = await signal({ email: c.email.toUpperCase(), status: 'active', source: 'shopify', event_id: 'order-1001' });
    expect(r.status, r.text).toBe(202);
    const e = await settle(r.json.eventId);
    expect(e).toMatchObject({ state: 'applied', booksContactId: c.contact_id, email: c.email.toLowerCase(), source: 'shopify', action: 'activate' });
    expect(await s.status(c.contact_id)).toBe('active');
    const run = (await s.h.journal.listRuns(s.organization)).find((x) => x.runId === e.runId)!;
    const steps = await s.h.journal.steps(run.runId);
    expect(steps.map((x) => [x.contactId, x.action])).toEqual([[c.contact_id, 'activate']]);
    expect(steps[0]!.reason).toBe(`shopify says the contact with the e-mail ${c.email.toLowerCase()} is active (${e.eventId})`);
    // The audit trail names it.
    const audit = await s.h.journal.audit({ runId: run.runId });
    expect(audit.map((a) => [a.contactId, a.to, a.why])).toEqual([[c.contact_id, 'active', steps[0]!.reason]]);
  });

  it('a contact named by its Books id is made inactive; a form body works too', async () => {
    const c = unique.shift()!;
    const r = await signal(`books_contact_id=${c.contact_id}&status=inactive&source=billing`, { contentType: 'application/x-www-form-urlencoded' });
    expect(r.status, r.text).toBe(202);
    expect(await settle(r.json.eventId)).toMatchObject({ state: 'applied', source: 'billing', action: 'deactivate' });
    expect(await s.status(c.contact_id)).toBe('inactive');
  });

  it('the same signal again is a duplicate of the first; a replayed signature is refused; an unsigned or stale one too', async () => {
    const c = unique.shift()!;
    const body = { email: c.email, status: 'inactive', source: 'stripe', event_id: 'cus_churn_7' };
    const first = await signal(body);
    expect(first.status).toBe(202);
    const again = await signal(body, { timestamp: nowSeconds() - 1 });
    expect(again.status, again.text).toBe(200);
    expect(again.json).toMatchObject({ eventId: first.json.eventId, duplicate: true });
    // The very same signed request twice: a replay.
    const text = JSON.stringify({ email: c.email, status: 'inactive', source: 'stripe', event_id: 'cus_churn_8' });
    const headers = { 'content-type': 'application/json', ...signHook(secret, text, nowSeconds()) };
    expect((await s.fetch('POST', `/hooks/signal/${s.organization}`, { body: text, headers })).status).toBe(202);
    expect((await s.fetch<ErrorBody>('POST', `/hooks/signal/${s.organization}`, { body: text, headers })).status).toBe(409);
    expect((await signal(body, { key: null })).status).toBe(401);
    expect((await signal(body, { key: 'not-the-secret' })).status).toBe(401);
    expect((await signal(body, { timestamp: nowSeconds() - 600 })).status).toBe(401);
    await settle(first.json.eventId);
    expect(await s.status(c.contact_id)).toBe('inactive');
  });

  it('refuses what it cannot read with a clear 400, storing nothing', async () => {
    const before = (await s.store.events(undefined, 10_000)).length;
    for (const [body, message] of [
      [{ email: 'someone@example.com', status: 'Churned' }, /status must be "active" or "inactive"/],
      [{ status: 'active' }, /no contact named: give books_contact_id, crm_account_id or crm_contact_id, or email/],
      [{ email: 'not an address', status: 'active' }, /email is not an e-mail address/],
      [{ email: 'a@example.com', status: 'active', source: '<script>' }, /source is a name/],
      [{ books_contact_id: '12', status: 'active' }, /books_contact_id must be a numeric id/],
      [{ books_contact_id: '1234567890', status: 'active' }, /books_contact_id must be a Zoho id of 15 to 19 digits/],
      ['[1, 2]', /must be a JSON object/],
    ] as const) {
      const r = await signal<ErrorBody>(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error).toMatch(message);
    }
    expect((await s.store.events(undefined, 10_000)).length).toBe(before);
    expect((await s.fetch('GET', `/hooks/signal/${s.organization}`)).status).toBe(405);
    expect((await s.fetch('POST', `/hooks/signal/${s.organizations[1]}`, { body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(404);
  });

  it('an e-mail no contact has is unmatched; one several contacts share is left for a person', async () => {
    const r = await signal({ email: 'nobody-here@example.org', status: 'inactive' });
    expect(r.status).toBe(202);
    expect(await settle(r.json.eventId)).toMatchObject({ state: 'unmatched', lastError: 'no Books contact has the e-mail nobody-here@example.org' });
    if (shared.length > 1) {
      const both = await signal({ email: shared[0]!.email, status: 'inactive' });
      const e = await settle(both.json.eventId);
      expect(e.state).toBe('failed');
      expect(e.lastError).toBe(`${shared.length} Books contacts have the e-mail ${shared[0]!.email.toLowerCase()}; change them by hand`);
      for (const c of shared) expect(await s.status(c.contact_id)).toBe(c.status);
    }
  });
});
