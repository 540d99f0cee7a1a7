/**
 * The CRM webhook `POST /hooks/crm/:org`, through the in-process service's fetch against a real
 * emulator over HTTP (the service's clock is the emulator's frozen clock, so timestamps and retry delays are
 * exact): HMAC and secret modes, stale and replayed requests, duplicates, malformed bodies, the
 * mapping, unknown CRM ids, retries after Zoho faults, and what reached Books (the emulator's
 * contacts and request log). No secret or session token may show in the log or in an answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/engine/index.js';
import type { ErrorBody, HookAccepted, WebhookEvent, WebhookEventView, WebhookSaved } from '../../src/service/index.js';
import { rawList, successfulStatusChanges } from '../helpers/engine.js';
import { signHook, startTestService, until, type HttpResult, type SignedIn, type SseStream, type TestService } from '../helpers/service.js';

interface RawContact {
  contact_id: string;
  contact_type: string;
  status: string;
  zcrm_account_id: string;
  zcrm_contact_id: string;
}

let s: TestService;
let session: SignedIn;
let sse: SseStream;
let hmacSecret = '';
let plainSecret = '';
/** Every answer of the webhook endpoint and the API, for the leak check. */
const answers: string[] = [];
/** Active contacts of the first organization linked to a CRM account (some also to a CRM contact). */
let linked: RawContact[] = [];
/** Active contacts of the second organization. */
let secondOrg: RawContact[] = [];

beforeAll(async () => {
  s = await startTestService({ contacts: 150 });
  session = await s.login();
  sse = await s.events(session);
  const all = (await rawList<RawContact>(s.h.t, '/contacts', 'contacts', { filter_by: 'Status.All' })).items;
  linked = all.filter((c) => c.zcrm_account_id && c.status === 'active');
  const b = await rawList<RawContact>(s.h.t, '/contacts', 'contacts', { filter_by: 'Status.All', organization_id: s.organizations[1]! });
  secondOrg = b.items.filter((c) => c.status === 'active');
  if (linked.length < 12 || secondOrg.length < 4) throw new Error(`too few contacts: ${linked.length} linked, ${secondOrg.length} in the second org`);
});
afterAll(async () => s.close());

/** A linked contact no other test uses; `withCrmContact` also needs a CRM contact id. */
function takeLinked(withCrmContact = false): RawContact {
  const i = linked.findIndex((c) => !withCrmContact || c.zcrm_contact_id);
  if (i < 0) throw new Error('no linked contact left');
  return linked.splice(i, 1)[0]!;
}

const nowSeconds = (): number => Math.floor(s.h.clock.now() / 1000);

interface HookOptions {
  organization?: string;
  contentType?: string;
  /** Sign with this key (default: the org's HMAC secret); `null` sends no signature. */
  key?: string | null;
  timestamp?: number;
  headers?: Record<string, string>;
  query?: string;
}

async function hook<T = HookAccepted>(body: string | Buffer, o: HookOptions = {}): Promise<HttpResult<T>> {
  const key = o.key === undefined ? hmacSecret : o.key;
  const headers: Record<string, string> = { 'content-type': o.contentType ?? 'application/json', ...(key === null ? {} : signHook(key, body, o.timestamp ?? nowSeconds())), ...o.headers };
  const r = await s.fetch<T>('POST', `/hooks/crm/${o.organization ?? s.organization}${o.query ?? ''}`, { body, headers });
  answers.push(r.text);
  return r;
}

const json = (value: unknown): string => JSON.stringify(value);

async function allEvents(): Promise<WebhookEvent[]> {
  return s.store.events(undefined, 10_000);
}

/** Drives the processor until the event leaves accepted/processing. */
async function settle(eventId: string): Promise<WebhookEvent> {
  return until(async () => {
    await s.service.processWebhooks();
    const e = (await allEvents()).find((x) => x.eventId === eventId);
    return e && e.state !== 'accepted' && e.state !== 'processing' ? e : undefined;
  }, `event ${eventId} settles`);
}

async function crmRuns(organization = s.organization): Promise<RunRecord[]> {
  return (await s.h.journal.listRuns(organization)).filter((r) => r.kind === 'crm');
}

async function apiEvent(eventId: string): Promise<WebhookEventView> {
  const r = await session.get<WebhookEventView[]>('/api/webhooks');
  answers.push(r.text);
  expect(r.status).toBe(200);
  const found = r.json.find((e) => e.eventId === eventId);
  if (!found) throw new Error(`event ${eventId} is not in /api/webhooks`);
  return found;
}

describe('set-up and unknown organizations', () => {
  it('an organization without a webhook, or an unknown one, answers 404 and stores nothing', async () => {
    const body = json({ crm_account_id: '4876000000000000001', status: 'Churned' });
    for (const organization of [s.organizations[1]!, '123456789', 'not-an-org', '0']) {
      const r = await hook(body, { organization, key: 'whatever' });
      expect(r.status, organization).toBe(404);
    }
    const get = await s.fetch('GET', `/hooks/crm/${s.organization}`);
    expect(get.status).toBe(405);
    expect(await allEvents()).toEqual([]);
  });

  it('configures both organizations: HMAC for the first, a plain secret for the second', async () => {
    const a = await session.request<WebhookSaved>('PUT', `/api/orgs/${s.organization}/webhook`, { body: { mode: 'hmac' } });
    expect(a.status).toBe(200);
    hmacSecret = a.json.secret ?? '';
    const b = await session.request<WebhookSaved>('PUT', `/api/orgs/${s.organizations[1]}/webhook`, { body: { mode: 'secret', mapping: { inactive: ['Gone'], active: ['Back'] } } });
    expect(b.status).toBe(200);
    plainSecret = b.json.secret ?? '';
    expect(hmacSecret).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(plainSecret).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(plainSecret).not.toBe(hmacSecret);
  });
});

describe('HMAC mode', () => {
  it('a valid signed JSON event answers 202, is stored, then applied: the contact inactive, one crm run', async () => {
    const c = takeLinked();
    const seq = await s.h.lastSeq();
    const r = await hook(json({ crm_account_id: c.zcrm_account_id, status: 'Churned', event_id: 'evt-valid-1' }));
    expect(r.status, r.text).toBe(202);
    expect(r.json).toEqual({ eventId: expect.stringMatching(/^evt_/), state: 'accepted' });
    const stored = (await allEvents()).find((e) => e.eventId === r.json.eventId);
    expect(stored).toMatchObject({ organizationId: s.organization, crmAccountId: c.zcrm_account_id, status: 'Churned', action: 'deactivate' });
    const e = await settle(r.json.eventId);
    // Applied at the first try: that try counts.
    expect(e).toMatchObject({ state: 'applied', booksContactId: c.contact_id, lastError: null, attempts: 1 });
    expect(await s.status(c.contact_id)).toBe('inactive');
    const runs = await crmRuns();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ runId: e.runId, kind: 'crm', state: 'done', organizationId: s.organization });
    const steps = await s.h.journal.steps(runs[0]!.runId);
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ contactId: c.contact_id, action: 'deactivate', state: 'done', outcome: 'changed' });
    // Found with the zcrm_* filter of GET /contacts, then one status change.
    const log = await s.h.requests({ since: seq });
    expect(log.some((l) => l.method === 'GET' && l.path === '/books/v3/contacts' && l.query.zcrm_account_id === c.zcrm_account_id)).toBe(true);
    expect(successfulStatusChanges(log)).toEqual(new Map([[c.contact_id, ['inactive']]]));
    // Visible in the UI's list and on the event stream.
    const listed = await apiEvent(r.json.eventId);
    expect(listed).toMatchObject({ eventId: r.json.eventId, organizationId: s.organization, booksContactId: c.contact_id, status: 'Churned', action: 'deactivate', state: 'applied', runId: e.runId, attempts: 1 });
    await sse.waitFor((x) => x.type === 'webhook' && x.data.eventId === r.json.eventId && x.data.state === 'applied', 'the applied event');
    expect(sse.events.find((x) => x.type === 'webhook' && x.data.eventId === r.json.eventId)?.data).toEqual({ eventId: r.json.eventId, organizationId: s.organization, state: 'accepted' });
  });

  it('/api/webhooks lists events with the documented fields', async () => {
    const r = await session.get<WebhookEventView[]>('/api/webhooks');
    expect(r.status).toBe(200);
    expect(r.json.length).toBeGreaterThan(0);
    for (const key of ['eventId', 'organizationId', 'receivedAt', 'crmAccountId', 'crmContactId', 'booksContactId', 'status', 'action', 'state', 'runId', 'attempts', 'nextAttemptAt', 'lastError']) {
      expect(r.json[0], `field ${key} (docs/service-api.md)`).toHaveProperty(key);
    }
  });

  it('a form body (crm_contact_id) is accepted and applied', async () => {
    const c = takeLinked(true);
    const body = new URLSearchParams({ crm_contact_id: c.zcrm_contact_id, Status: 'Lost', event_id: 'evt-form-1' }).toString();
    const r = await hook(body, { contentType: 'application/x-www-form-urlencoded' });
    expect(r.status, r.text).toBe(202);
    const e = await settle(r.json.eventId);
    expect(e).toMatchObject({ state: 'applied', crmContactId: c.zcrm_contact_id, booksContactId: c.contact_id });
    expect(await s.status(c.contact_id)).toBe('inactive');
  });

  it('a Books contact id works without CRM ids, with keys in any case', async () => {
    const c = takeLinked();
    const r = await hook(json({ Books_Contact_Id: c.contact_id, STATUS: 'inactive', event_id: 'evt-books-1' }));
    expect(r.status, r.text).toBe(202);
    const e = await settle(r.json.eventId);
    expect(e).toMatchObject({ state: 'applied', booksContactId: c.contact_id });
    expect(await s.status(c.contact_id)).toBe('inactive');
  });

  it('unsigned, wrongly signed and stale requests answer 401 and store nothing', async () => {
    const c = takeLinked();
    const body = json({ crm_account_id: c.zcrm_account_id, status: 'Churned', event_id: 'evt-401' });
    const before = (await allEvents()).length;
    const ts = nowSeconds();
    const good = signHook(hmacSecret, body, ts);
    const cases: Array<[string, HookOptions]> = [
      ['unsigned', { key: null }],
      ['timestamp only', { key: null, headers: { 'x-sunset-timestamp': String(ts) } }],
      ['signature only', { key: null, headers: { 'x-sunset-signature': good['x-sunset-signature']! } }],
      ['another key', { key: `${hmacSecret}x` }],
      ['the other org\'s secret', { key: plainSecret }],
      ['the secret as a header', { key: null, headers: { 'x-sunset-secret': hmacSecret } }],
      ['the secret in the query', { key: null, query: `?secret=${hmacSecret}` }],
      ['a signature of another body', { key: null, headers: signHook(hmacSecret, `${body} `, ts) }],
      ['a signature for another timestamp', { key: null, headers: { ...good, 'x-sunset-timestamp': String(ts + 1) } }],
      ['a malformed timestamp', { key: null, headers: { ...signHook(hmacSecret, body, ts), 'x-sunset-timestamp': 'yesterday' } }],
      ['stale by 5 min 1 s', { timestamp: ts - 301 }],
      ['5 min 1 s in the future', { timestamp: ts + 301 }],
      ['an hour old', { timestamp: ts - 3600 }],
    ];
    for (const [name, o] of cases) {
      const r = await hook<ErrorBody>(body, o);
      expect(r.status, `${name}: ${r.text}`).toBe(401);
      expect(r.json.error, name).toEqual(expect.any(String));
    }
    expect((await allEvents()).length).toBe(before);
    // Within the 5 minutes it is accepted.
    const fresh = await hook(body, { timestamp: ts - 299 });
    expect(fresh.status).toBe(202);
  });

  it('a replayed signed request answers 409 and is stored once', async () => {
    const c = takeLinked();
    const body = json({ crm_account_id: c.zcrm_account_id, status: 'Churned', event_id: 'evt-replay' });
    const ts = nowSeconds();
    const first = await hook(body, { timestamp: ts });
    expect(first.status).toBe(202);
    const before = (await allEvents()).length;
    const again = await hook(body, { timestamp: ts });
    expect(again.status).toBe(409);
    // Even with the signature in upper case.
    const sig = signHook(hmacSecret, body, ts);
    const upper = await hook(body, { key: null, headers: { ...sig, 'x-sunset-signature': `sha256=${sig['x-sunset-signature']!.slice(7).toUpperCase()}` } });
    expect(upper.status).toBe(409);
    expect((await allEvents()).length).toBe(before);
    expect((await settle(first.json.eventId)).state).toBe('applied');
  });

  it('duplicates (same event_id, or same ids + status + event_time) answer 200 and are applied once', async () => {
    const c = takeLinked();
    const seq = await s.h.lastSeq();
    const body = json({ crm_account_id: c.zcrm_account_id, status: 'Churned', event_id: 'evt-dup-1' });
    const first = await hook(body, { timestamp: nowSeconds() });
    expect(first.status).toBe(202);
    await s.advance(2); // a new timestamp: a new signature, so not a replay
    const second = await hook(body);
    expect(second.status, second.text).toBe(200);
    expect(second.json).toMatchObject({ eventId: first.json.eventId, duplicate: true });
    const e = await settle(first.json.eventId);
    expect(e.state).toBe('applied');
    await s.advance(2);
    const third = await hook(body);
    expect(third.status).toBe(200);
    expect(third.json).toEqual({ eventId: first.json.eventId, state: 'applied', duplicate: true });
    await s.service.processWebhooks();
    expect((await allEvents()).filter((x) => x.crmAccountId === c.zcrm_account_id)).toHaveLength(1);
    expect(successfulStatusChanges(await s.h.requests({ since: seq })).get(c.contact_id)).toEqual(['inactive']);

    // Without an event id: the same CRM id, status and event time is the same event.
    const d = takeLinked();
    const seq2 = await s.h.lastSeq();
    const keyed = { crm_account_id: d.zcrm_account_id, status: 'Lost', event_time: '2026-03-02T05:59:00+0000' };
    const k1 = await hook(json(keyed));
    expect(k1.status).toBe(202);
    await s.advance(2);
    const k2 = await hook(new URLSearchParams(keyed).toString(), { contentType: 'application/x-www-form-urlencoded' });
    expect(k2.status).toBe(200);
    expect(k2.json).toMatchObject({ eventId: k1.json.eventId, duplicate: true });
    // Another event time is another event.
    await s.advance(2);
    const k3 = await hook(json({ ...keyed, event_time: '2026-03-02T06:00:00+0000' }));
    expect(k3.status).toBe(202);
    expect(k3.json.eventId).not.toBe(k1.json.eventId);
    await settle(k1.json.eventId);
    await settle(k3.json.eventId);
    expect(successfulStatusChanges(await s.h.requests({ since: seq2 })).get(d.contact_id)).toEqual(['inactive']);
    expect(await s.status(d.contact_id)).toBe('inactive');
  });

  it('at the same moment: the same signed request twice is one 202 and one 409, the same event_id re-signed is one 202 and one 200, and distinct events all 202 (stored together, as one commit)', async () => {
    const [a, b, c, d, e] = [takeLinked(), takeLinked(), takeLinked(), takeLinked(), takeLinked()];
    const ts = nowSeconds();
    const replayed = json({ crm_account_id: a.zcrm_account_id, status: 'Churned', event_id: 'evt-same-moment-replay' });
    const resent = json({ crm_account_id: b.zcrm_account_id, status: 'Churned', event_id: 'evt-same-moment-dup' });
    const distinct = [c, d, e].map((x, i) => json({ crm_account_id: x.zcrm_account_id, status: 'Churned', event_id: `evt-same-moment-${i}` }));
    const before = (await allEvents()).length;
    const answers = await Promise.all([
      hook(replayed, { timestamp: ts }), hook(replayed, { timestamp: ts }),
      hook(resent, { timestamp: ts }), hook(resent, { timestamp: ts - 1 }),
      ...distinct.map((body) => hook(body, { timestamp: ts })),
    ]);
    expect(answers.slice(0, 2).map((r) => r.status).sort()).toEqual([202, 409]);
    expect(answers.slice(2, 4).map((r) => r.status).sort()).toEqual([200, 202]);
    const firstOfResent = answers.slice(2, 4).find((r) => r.status === 202)!;
    expect(answers.slice(2, 4).find((r) => r.status === 200)!.json).toMatchObject({ eventId: firstOfResent.json.eventId, duplicate: true });
    expect(answers.slice(4).map((r) => r.status)).toEqual([202, 202, 202]);
    const stored = await allEvents();
    expect(stored.length - before).toBe(5);
    for (const r of answers.filter((x) => x.status === 202)) expect((await settle(r.json.eventId)).state).toBe('applied');
    for (const x of [a, b, c, d, e]) expect(await s.status(x.contact_id)).toBe('inactive');
  });

  it('malformed bodies answer 4xx and store nothing', async () => {
    const c = takeLinked();
    const before = (await allEvents()).length;
    const ok = { crm_account_id: c.zcrm_account_id, status: 'Churned' };
    const cases: Array<[string, string | Buffer, number, string?]> = [
      ['not JSON', '{"crm_account_id": ', 400],
      ['empty', '', 400],
      ['a JSON array', json([ok]), 400],
      ['a JSON string', json('Churned'), 400],
      ['JSON null', 'null', 400],
      ['no status', json({ crm_account_id: c.zcrm_account_id }), 400],
      ['an empty status', json({ ...ok, status: '  ' }), 400],
      ['a status object', json({ ...ok, status: { name: 'Churned' } }), 400],
      ['no ids', json({ status: 'Churned', name: 'Acme' }), 400],
      ['a non-numeric CRM id', json({ ...ok, crm_account_id: 'abc123456789' }), 400],
      ['an id with a sign', json({ ...ok, crm_account_id: '-4876000000000001' }), 400],
      ['a non-numeric Books id', json({ books_contact_id: '3185434000000x00060', status: 'Churned' }), 400],
      ['a too short Books id', json({ books_contact_id: '1234567', status: 'Churned' }), 400],
      ['a non-numeric CRM contact id', json({ crm_contact_id: 'DROP TABLE', status: 'Churned' }), 400],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 400],
      ['a form without ids', 'status=Churned', 400, 'application/x-www-form-urlencoded'],
      ['a body over 64 KiB', json({ ...ok, padding: 'x'.repeat(70 * 1024) }), 413],
    ];
    for (const [name, body, status, contentType] of cases) {
      await s.advance(1); // a fresh signature each time
      const r = await hook<ErrorBody | undefined>(body, contentType ? { contentType } : {});
      expect(r.status, `${name}: ${r.text}`).toBe(status);
      expect(r.json?.error, name).toEqual(expect.any(String));
    }
    expect((await allEvents()).length).toBe(before);
    expect(await s.status(c.contact_id)).toBe('active');
  });
});

describe('mapping and matching', () => {
  it('an unmapped status is stored as ignored and changes nothing', async () => {
    const c = takeLinked();
    const runsBefore = (await crmRuns()).length;
    const r = await hook(json({ crm_account_id: c.zcrm_account_id, status: 'Prospect', event_id: 'evt-ignored' }));
    expect(r.status).toBe(202);
    expect(r.json.state).toBe('ignored');
    await s.service.processWebhooks();
    const e = (await allEvents()).find((x) => x.eventId === r.json.eventId)!;
    expect(e).toMatchObject({ state: 'ignored', action: null, runId: null });
    expect(e.lastError).toContain('Prospect');
    expect((await crmRuns()).length).toBe(runsBefore);
    expect(await s.status(c.contact_id)).toBe('active');
  });

  it('an unknown CRM id ends unmatched, with no run', async () => {
    const runsBefore = (await crmRuns()).length;
    const r = await hook(json({ crm_account_id: '4876999999999999999', status: 'Churned', event_id: 'evt-unknown' }));
    expect(r.status).toBe(202);
    const e = await settle(r.json.eventId);
    expect(e.state).toBe('unmatched');
    expect(e.attempts, 'the lookup that found no contact is an attempt').toBe(1);
    expect(e.booksContactId).toBeNull();
    expect(e.lastError).toContain('4876999999999999999');
    expect((await crmRuns()).length).toBe(runsBefore);
    expect(await apiEvent(r.json.eventId)).toMatchObject({ state: 'unmatched', attempts: 1 });
  });

  it('a CRM id Zoho refuses to look up (too short) fails at once, without retries or a run', async () => {
    const runsBefore = (await crmRuns()).length;
    const seq = await s.h.lastSeq();
    const r = await hook(json({ crm_account_id: '1234567', status: 'Churned', event_id: 'evt-short-id' }));
    expect(r.status).toBe(202);
    const e = await settle(r.json.eventId);
    expect(e).toMatchObject({ state: 'failed', attempts: 1, booksContactId: null });
    expect(e.lastError).toBeTruthy();
    const lookups = (await s.h.requests({ since: seq })).filter((l) => l.method === 'GET' && l.path === '/books/v3/contacts');
    expect(lookups).toHaveLength(1);
    expect((await crmRuns()).length).toBe(runsBefore);
  });

  it('an activate event re-activates the contact', async () => {
    const c = takeLinked();
    const r1 = await hook(json({ crm_account_id: c.zcrm_account_id, status: 'Closed Lost', event_id: 'evt-react-1' }));
    expect((await settle(r1.json.eventId)).state).toBe('applied');
    expect(await s.status(c.contact_id)).toBe('inactive');
    const r2 = await hook(json({ crm_account_id: c.zcrm_account_id, status: 'Active', event_id: 'evt-react-2' }));
    expect(r2.status).toBe(202);
    const e2 = await settle(r2.json.eventId);
    expect(e2).toMatchObject({ state: 'applied', action: 'activate' });
    expect(await s.status(c.contact_id)).toBe('active');
    const step = (await s.h.journal.steps(e2.runId!))[0];
    expect(step).toMatchObject({ contactId: c.contact_id, action: 'activate', outcome: 'changed' });
  });

  it('a CRM account linked to two Books contacts is not guessed: the event fails and nothing changes', async () => {
    const c = takeLinked();
    const created = await s.h.t.call<{ contact: { contact_id: string } }>('POST', '/contacts', { body: { contact_name: 'Second Link Pvt Ltd', zcrm_account_id: c.zcrm_account_id } });
    expect(created.status).toBe(201);
    const seq = await s.h.lastSeq();
    const r = await hook(json({ crm_account_id: c.zcrm_account_id, status: 'Churned', event_id: 'evt-two-links' }));
    expect(r.status).toBe(202);
    const e = await settle(r.json.eventId);
    expect(e).toMatchObject({ state: 'failed', attempts: 1 });
    expect(e.lastError).toMatch(/2 Books contacts/);
    expect(successfulStatusChanges(await s.h.requests({ since: seq })).size).toBe(0);
  });

  it('a status that flips back within the hour (no event id or time) is a new event, not a duplicate', async () => {
    const c = takeLinked();
    const send = async (status: string): Promise<HttpResult<HookAccepted>> => {
      await s.advance(60);
      return hook(json({ crm_account_id: c.zcrm_account_id, status }));
    };
    const first = await send('Churned');
    expect(first.status).toBe(202);
    expect((await settle(first.json.eventId)).state).toBe('applied');
    const back = await send('Active');
    expect(back.status).toBe(202);
    expect((await settle(back.json.eventId)).state).toBe('applied');
    expect(await s.status(c.contact_id)).toBe('active');
    // Churned again in CRM: Books must follow, not keep the contact active.
    const again = await send('Churned');
    expect(again.status, `the third event was taken for a duplicate of the first: ${again.text}`).toBe(202);
    expect((await settle(again.json.eventId)).state).toBe('applied');
    expect(await s.status(c.contact_id)).toBe('inactive');
  });

  it('an event for a contact already in that state ends unchanged', async () => {
    const c = takeLinked();
    const r = await hook(json({ crm_account_id: c.zcrm_account_id, status: 'Customer', event_id: 'evt-same' }));
    const e = await settle(r.json.eventId);
    expect(e).toMatchObject({ state: 'unchanged', attempts: 1 });
    expect(await apiEvent(r.json.eventId)).toMatchObject({ state: 'unchanged', attempts: 1 });
    expect(await s.status(c.contact_id)).toBe('active');
  });
});

describe('secret mode (the second organization, its own mapping)', () => {
  it('accepts the secret in X-Sunset-Secret and in ?secret=, and applies the org\'s mapping', async () => {
    const [a, b, c] = secondOrg.splice(0, 3) as [RawContact, RawContact, RawContact];
    const organization = s.organizations[1]!;
    const viaHeader = await hook(json({ books_contact_id: a.contact_id, status: 'Gone', event_id: 'sec-1' }), { organization, key: null, headers: { 'x-sunset-secret': plainSecret } });
    expect(viaHeader.status, viaHeader.text).toBe(202);
    const viaQuery = await hook(new URLSearchParams({ books_contact_id: b.contact_id, status: 'gone', event_id: 'sec-2' }).toString(), {
      organization, key: null, query: `?secret=${encodeURIComponent(plainSecret)}`, contentType: 'application/x-www-form-urlencoded',
    });
    expect(viaQuery.status, viaQuery.text).toBe(202);
    // "Churned" means nothing in this organization's mapping.
    const unmapped = await hook(json({ books_contact_id: c.contact_id, status: 'Churned', event_id: 'sec-3' }), { organization, key: null, headers: { 'x-sunset-secret': plainSecret } });
    expect(unmapped.status).toBe(202);
    expect(unmapped.json.state).toBe('ignored');
    expect((await settle(viaHeader.json.eventId)).state).toBe('applied');
    expect((await settle(viaQuery.json.eventId)).state).toBe('applied');
    const status = (id: string): Promise<string> => s.status(id, organization);
    expect(await status(a.contact_id)).toBe('inactive');
    expect(await status(b.contact_id)).toBe('inactive');
    expect(await status(c.contact_id)).toBe('active');
    // Each 202 starts the processor, so the two events make one or two crm runs: one step each contact.
    const steps = (await Promise.all((await crmRuns(organization)).map((run) => s.h.journal.steps(run.runId)))).flat();
    expect(steps.map((st) => st.contactId).sort()).toEqual([a.contact_id, b.contact_id].sort());
  });

  it('a missing or wrong secret answers 401 and stores nothing; a duplicate answers 200', async () => {
    const organization = s.organizations[1]!;
    const [d] = secondOrg.splice(0, 1) as [RawContact];
    const body = json({ books_contact_id: d.contact_id, status: 'Gone', event_id: 'sec-bad' });
    const before = (await allEvents()).length;
    const cases: Array<[string, HookOptions]> = [
      ['no secret', { organization, key: null }],
      ['a wrong header', { organization, key: null, headers: { 'x-sunset-secret': `${plainSecret}x` } }],
      ['a prefix of the secret', { organization, key: null, headers: { 'x-sunset-secret': plainSecret.slice(0, 10) } }],
      ['a wrong query', { organization, key: null, query: '?secret=nope' }],
      ['the other org\'s secret', { organization, key: null, headers: { 'x-sunset-secret': hmacSecret } }],
      ['an HMAC signature instead', { organization, key: plainSecret }],
    ];
    for (const [name, o] of cases) {
      const r = await hook(body, o);
      expect(r.status, `${name}: ${r.text}`).toBe(401);
    }
    expect((await allEvents()).length).toBe(before);
    const first = await hook(body, { organization, key: null, headers: { 'x-sunset-secret': plainSecret } });
    expect(first.status).toBe(202);
    // A secret-mode request can be sent again as is: only the duplicate check stops it.
    const again = await hook(body, { organization, key: null, headers: { 'x-sunset-secret': plainSecret } });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ eventId: first.json.eventId, duplicate: true });
    expect((await settle(first.json.eventId)).state).toBe('applied');
  });
});

describe('retries', () => {
  it('a 503 while looking up the CRM id: kept, retried after its delay, then applied', async () => {
    const c = takeLinked();
    // The client tries 4 times; all four answer 503.
    expect((await s.h.t.admin('POST', '/__emulator/faults', { faults: ['503,count=4,method=GET,path=/contacts'] })).status).toBe(200);
    const r = await hook(json({ crm_account_id: c.zcrm_account_id, status: 'Churned', event_id: 'evt-retry' }));
    expect(r.status).toBe(202);
    const failedOnce = await until(async () => {
      await s.service.processWebhooks();
      const e = (await allEvents()).find((x) => x.eventId === r.json.eventId);
      return e && e.attempts === 1 ? e : undefined;
    }, 'the first attempt fails');
    expect(failedOnce.state).toBe('accepted');
    expect(failedOnce.lastError).toEqual(expect.any(String));
    expect(failedOnce.nextAttemptAt).toBeGreaterThan(s.h.clock.now());
    expect((await apiEvent(r.json.eventId))).toMatchObject({ state: 'accepted', attempts: 1 });
    // Not due yet: nothing happens.
    expect(await s.service.processWebhooks()).toBe(0);
    expect(await s.status(c.contact_id)).toBe('active');
    await s.advance((failedOnce.nextAttemptAt - s.h.clock.now()) / 1000);
    const e = await settle(r.json.eventId);
    // The failed try and the one that applied it.
    expect(e).toMatchObject({ state: 'applied', attempts: 2 });
    expect(await apiEvent(r.json.eventId)).toMatchObject({ state: 'applied', attempts: 2 });
    expect(await s.status(c.contact_id)).toBe('inactive');
    await s.h.t.admin('DELETE', '/__emulator/faults');
  });

  it('503s on the status change are retried and the change is made once', async () => {
    const c = takeLinked();
    const seq = await s.h.lastSeq();
    expect((await s.h.t.admin('POST', '/__emulator/faults', { faults: ['503,count=6,method=POST,path=/contacts/*/inactive'] })).status).toBe(200);
    const r = await hook(json({ crm_account_id: c.zcrm_account_id, status: 'Churned', event_id: 'evt-retry-2' }));
    expect(r.status).toBe(202);
    const e = await until(async () => {
      await s.advance(120); // past any retry delay
      await s.service.processWebhooks();
      const x = (await allEvents()).find((y) => y.eventId === r.json.eventId);
      return x && x.state !== 'accepted' && x.state !== 'processing' ? x : undefined;
    }, 'the event settles after the faults');
    expect(e.state).toBe('applied');
    expect(await s.status(c.contact_id)).toBe('inactive');
    const log = (await s.h.requests({ since: seq })).filter((l) => l.method === 'POST' && l.path === `/books/v3/contacts/${c.contact_id}/inactive`);
    expect(log.filter((l) => l.status === 503)).toHaveLength(6);
    expect(successfulStatusChanges(log).get(c.contact_id)).toEqual(['inactive']);
    await s.h.t.admin('DELETE', '/__emulator/faults');
  });

  it('a CRM run that keeps failing is logged, kept with its run, and finished on a later attempt', async () => {
    const c = takeLinked();
    const seq = await s.h.lastSeq();
    // 5 rounds of 4 client attempts: the applier gives up on this attempt of the event.
    expect((await s.h.t.admin('POST', '/__emulator/faults', { faults: ['503,count=20,method=POST,path=/contacts/*/inactive'] })).status).toBe(200);
    const logsBefore = s.logs.length;
    const r = await hook(json({ crm_account_id: c.zcrm_account_id, status: 'Churned', event_id: 'evt-retry-3' }));
    expect(r.status).toBe(202);
    const failed = await until(async () => {
      await s.service.processWebhooks();
      const e = (await allEvents()).find((x) => x.eventId === r.json.eventId);
      return e && e.attempts === 1 ? e : undefined;
    }, 'the first attempt of the run fails');
    expect(failed.state).toBe('processing');
    expect(failed.runId).toMatch(/^run-crm-/);
    expect(failed.lastError).toMatch(/503|kept failing/i);
    expect(s.logs.slice(logsBefore).some((l) => l.includes(failed.runId!))).toBe(true);
    expect(await s.status(c.contact_id)).toBe('active');
    await s.advance((failed.nextAttemptAt - s.h.clock.now()) / 1000);
    const e = await settle(r.json.eventId);
    expect(e).toMatchObject({ state: 'applied', runId: failed.runId, attempts: 2 });
    expect(await s.status(c.contact_id)).toBe('inactive');
    expect(successfulStatusChanges(await s.h.requests({ since: seq })).get(c.contact_id)).toEqual(['inactive']);
    expect((await crmRuns()).filter((run) => run.runId === failed.runId)).toHaveLength(1);
    await s.h.t.admin('DELETE', '/__emulator/faults');
  });

  it('after 8 failed attempts the event ends failed, with its last error', async () => {
    const c = takeLinked();
    expect((await s.h.t.admin('POST', '/__emulator/faults', { faults: ['503,count=1000,method=GET,path=/contacts'] })).status).toBe(200);
    const r = await hook(json({ crm_account_id: c.zcrm_account_id, status: 'Churned', event_id: 'evt-gives-up' }));
    expect(r.status).toBe(202);
    const e = await until(async () => {
      await s.service.processWebhooks();
      const x = (await allEvents()).find((y) => y.eventId === r.json.eventId)!;
      if (x.state === 'failed') return x;
      await s.advance(3600); // past the longest backoff
      return undefined;
    }, 'the event fails for good');
    expect(e).toMatchObject({ state: 'failed', attempts: 8 });
    expect(e.lastError).toMatch(/503/);
    expect((await apiEvent(r.json.eventId)).state).toBe('failed');
    // Failed for good: later passes leave it alone.
    await s.advance(7200);
    expect(await s.service.processWebhooks()).toBe(0);
    expect(await s.status(c.contact_id)).toBe('active');
    await s.h.t.admin('DELETE', '/__emulator/faults');
  });
});

describe('secrets stay secret', () => {
  it('no webhook secret, session token or CSRF token appears in the log or in any answer', async () => {
    const other = await s.login();
    // An error answer of the API, to have one more to look at.
    const bad = await session.request('PUT', `/api/orgs/${s.organization}/webhook`, { body: { mode: 'nope' } });
    answers.push(bad.text);
    const organizations = await session.get('/api/orgs');
    answers.push(organizations.text);
    const list = await session.get('/api/webhooks');
    answers.push(list.text);
    expect(s.logs.length, 'the service logged something to look at').toBeGreaterThan(0);
    const secrets = [hmacSecret, plainSecret, session.token, other.token, session.csrfToken, other.csrfToken];
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(16);
      for (const line of s.logs) expect(line).not.toContain(secret);
      for (const text of answers) expect(text).not.toContain(secret);
    }
    // Nor in what the processor recorded as errors.
    for (const e of await allEvents()) for (const secret of secrets) expect(e.lastError ?? '').not.toContain(secret);
  });
});
