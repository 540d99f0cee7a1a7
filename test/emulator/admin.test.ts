/**
 * The admin API under /__emulator/ (docs/emulator.md "Admin API"): every endpoint, its errors,
 * and the state it changes as seen through the Books API.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatorInfo } from '../../src/emulator/index.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';

interface LogEntry {
  seq: number;
  time: string;
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  code: number | null;
  organization_id: string | null;
  duration_ms: number;
  fault: string | null;
}
interface LogBody {
  requests: LogEntry[];
  next_seq: number;
  dropped: number;
}
interface ClockBody {
  now: string;
  epochMs: number;
  frozen: boolean;
}
interface Contact {
  contact_id: string;
  contact_name: string;
  status: string;
}

const START = Date.UTC(2030, 5, 1, 6, 0, 0);

let t: TestEmulator;

beforeEach(async () => {
  // Scenarios move the clock by days: a long token lifetime keeps the ready-made token valid.
  t = await startTestEmulator({ contacts: 30, startAt: START, tokenTtlSeconds: 10 * 365 * 86_400 });
});

afterEach(async () => {
  await t.close();
});

async function countContacts(organization: string, token?: string): Promise<number> {
  let n = 0;
  for (let page = 1; ; page++) {
    const res = await t.call<{ contacts: Contact[]; page_context: { has_more_page: boolean } }>('GET', '/contacts', { organization, token, query: { per_page: 200, page } });
    expect(res.status).toBe(200);
    n += res.body.contacts.length;
    if (!res.body.page_context.has_more_page) return n;
  }
}

async function log(query = ''): Promise<LogBody> {
  const res = await t.admin<LogBody>('GET', `/__emulator/requests${query}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function refreshReady(info: EmulatorInfo): Promise<Response> {
  return fetch(`${t.origin}/oauth/v2/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: info.clientId, client_secret: info.clientSecret, refresh_token: info.refreshToken }),
  });
}

describe('info', () => {
  it('names the addresses, organizations and ready-made credentials, and they work', async () => {
    const res = await t.admin<EmulatorInfo>('GET', '/__emulator/info');
    expect(res.status).toBe(200);
    const info = res.body;
    expect(Object.keys(info).sort()).toEqual(['accessToken', 'accountsUrl', 'baseUrl', 'clientId', 'clientSecret', 'organizations', 'refreshToken']);
    expect(info.baseUrl).toBe(`${t.origin}/books/v3`);
    expect(info.accountsUrl).toBe(t.origin);
    expect(info.organizations).toEqual([
      { organization_id: t.organizations[0], name: 'Sunrise Traders Pvt Ltd', plan: 'professional' },
      { organization_id: t.organizations[1], name: 'Harbor Supply Co', plan: 'free' },
    ]);
    expect(info.clientId).toMatch(/^1000\.[0-9A-F]{30}$/);
    expect(info.refreshToken).toMatch(/^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$/);
    expect(info.accessToken).toBe(t.token);
    expect((await t.call('GET', '/contacts', { token: info.accessToken, query: { per_page: 1 } })).status).toBe(200);
    const refreshed = await refreshReady(info);
    expect(refreshed.status).toBe(200);
    expect(((await refreshed.json()) as { access_token: string }).access_token).toMatch(/^1000\./);
  });
});

describe('grants', () => {
  it('makes a code that exchanges for a token with those scopes and organizations', async () => {
    const res = await t.admin<{ code: string; client_id: string; expires_in: number }>('POST', '/__emulator/grants', {
      scopes: ['ZohoBooks.contacts.READ'],
      organization_ids: [t.organizations[1]],
    });
    expect(res.status).toBe(200);
    expect(res.body.client_id).toBe(t.info.clientId);
    expect(res.body.expires_in).toBe(600);
    const token = await fetch(`${t.origin}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: t.info.clientId, client_secret: t.info.clientSecret, code: res.body.code }),
    });
    const body = (await token.json()) as { access_token: string; scope: string };
    expect(body.scope).toBe('ZohoBooks.contacts.READ');
    expect((await t.call('GET', '/contacts', { token: body.access_token, organization: t.organizations[1] })).status).toBe(200);
    expect((await t.call('GET', '/contacts', { token: body.access_token, organization: t.organizations[0] })).body).toMatchObject({ code: 6024 });
  });

  it('refuses bad input with 400 and a message', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /scopes must name at least one scope/],
      [{ scopes: [] }, /scopes must name at least one scope/],
      [{ scopes: 'ZohoBooks.contacts.ALL' }, /scopes must be an array of strings/],
      [{ scopes: [1, 2] }, /scopes must be an array of strings/],
      [{ scopes: ['ZohoBooks.contacts.ALL'], organization_ids: ['999'] }, /unknown organization_ids: 999/],
      [{ scopes: ['ZohoBooks.contacts.ALL'], organization_ids: 'x' }, /organization_ids must be an array of strings/],
      [{ scopes: ['ZohoBooks.contacts.ALL'], client_id: '1000.UNKNOWN' }, /unknown client_id/],
      [['ZohoBooks.contacts.ALL'], /the body must be a JSON object/],
    ];
    for (const [body, message] of cases) {
      const res = await t.admin<{ error: string }>('POST', '/__emulator/grants', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error, JSON.stringify(body)).toMatch(message);
    }
    const notJson = await fetch(`${t.origin}/__emulator/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{scopes' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: 'the body is not valid JSON' });
  });
});

describe('requests log', () => {
  it('records each Books request with its fields', async () => {
    const before = await log();
    const list = await t.call<{ contacts: Contact[] }>('GET', '/contacts', { query: { per_page: 2 } });
    const id = list.body.contacts[0]?.contact_id as string;
    await t.call('GET', '/contacts/3185434999999999999');
    await t.call('POST', `/contacts/${id}/inactive`);
    await t.call('GET', '/contacts', { token: null });
    await t.call('GET', '/organizations', { organization: null });
    await t.call('GET', '/nope');

    const body = await log(`?since=${before.next_seq}`);
    expect(body.dropped).toBe(0);
    expect(body.requests).toHaveLength(6);
    expect(body.next_seq).toBe(body.requests[5]?.seq);
    const [r0, r1, r2, r3, r4, r5] = body.requests as [LogEntry, LogEntry, LogEntry, LogEntry, LogEntry, LogEntry];
    expect(Object.keys(r0).sort()).toEqual(['answer_dropped', 'code', 'duration_ms', 'fault', 'method', 'organization_id', 'path', 'query', 'seq', 'status', 'time']);
    expect(r0).toMatchObject({
      method: 'GET', path: '/books/v3/contacts', query: { organization_id: t.organization, per_page: '2' },
      status: 200, code: 0, organization_id: t.organization, fault: null,
    });
    expect(r0.time).toBe(new Date(Date.parse(r0.time)).toISOString());
    expect(Math.abs(Date.parse(r0.time) - START)).toBeLessThan(3_600_000);
    expect(r0.duration_ms).toBeGreaterThanOrEqual(0);
    expect(r1).toMatchObject({ method: 'GET', path: '/books/v3/contacts/3185434999999999999', status: 404, code: 1002, organization_id: t.organization });
    expect(r2).toMatchObject({ method: 'POST', path: `/books/v3/contacts/${id}/inactive`, status: 200, code: 0, organization_id: t.organization });
    expect(r3).toMatchObject({ status: 401, code: 14, organization_id: null });
    expect(r4).toMatchObject({ path: '/books/v3/organizations', status: 200, code: 0, organization_id: null });
    expect(r5).toMatchObject({ path: '/books/v3/nope', status: 404, code: 5 });
    expect(body.requests.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6].map((n) => before.next_seq + n));
  });

  it('filters by since, limit, method and path_prefix', async () => {
    const start = (await log()).next_seq;
    const list = await t.call<{ contacts: Contact[] }>('GET', '/contacts', { query: { per_page: 1 } });
    const id = list.body.contacts[0]?.contact_id as string;
    await t.call('GET', `/contacts/${id}`);
    await t.call('POST', `/contacts/${id}/inactive`);
    await t.call('GET', '/invoices', { query: { per_page: 1 } });
    await t.call('POST', `/contacts/${id}/active`);

    const all = await log(`?since=${start}`);
    expect(all.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /books/v3/contacts',
      `GET /books/v3/contacts/${id}`,
      `POST /books/v3/contacts/${id}/inactive`,
      'GET /books/v3/invoices',
      `POST /books/v3/contacts/${id}/active`,
    ]);
    const seqs = all.requests.map((r) => r.seq);
    expect((await log(`?since=${seqs[2]}`)).requests.map((r) => r.seq)).toEqual(seqs.slice(3));
    expect((await log(`?since=${start}&limit=2`)).requests.map((r) => r.seq)).toEqual(seqs.slice(0, 2));
    expect((await log(`?since=${start}&method=post`)).requests.map((r) => r.path)).toEqual([`/books/v3/contacts/${id}/inactive`, `/books/v3/contacts/${id}/active`]);
    expect((await log(`?since=${start}&path_prefix=/books/v3/invoices`)).requests.map((r) => r.seq)).toEqual([seqs[3]]);
    expect((await log(`?since=${start}&method=GET&path_prefix=/books/v3/contacts/`)).requests.map((r) => r.seq)).toEqual([seqs[1]]);

    for (const bad of ['?since=-1', '?limit=abc', '?since=1.5']) {
      const res = await t.admin<{ error: string }>('GET', `/__emulator/requests${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error, bad).toMatch(/must be a non-negative integer/);
    }
  });

  it('redacts secrets in query strings and records OAuth calls', async () => {
    const start = (await log()).next_seq;
    const params = new URLSearchParams({
      grant_type: 'refresh_token', client_id: t.info.clientId, client_secret: t.info.clientSecret, refresh_token: t.info.refreshToken,
    });
    expect((await fetch(`${t.origin}/oauth/v2/token?${params.toString()}`, { method: 'POST' })).status).toBe(200);
    const code = (await t.admin<{ code: string }>('POST', '/__emulator/grants', { scopes: ['ZohoBooks.contacts.READ'] })).body.code;
    const codeParams = new URLSearchParams({ grant_type: 'authorization_code', client_id: t.info.clientId, client_secret: t.info.clientSecret, code });
    expect((await fetch(`${t.origin}/oauth/v2/token?${codeParams.toString()}`, { method: 'POST' })).status).toBe(200);
    await fetch(`${t.origin}/oauth/v2/token/revoke?token=${encodeURIComponent('1000.secret')}`, { method: 'POST' });
    await t.call('GET', '/contacts', { query: { per_page: 1, access_token: 'leak', password: 'hunter2' } });

    const entries = (await log(`?since=${start}`)).requests;
    expect(entries).toHaveLength(4);
    expect(entries[0]).toMatchObject({
      method: 'POST', path: '/oauth/v2/token', status: 200, code: null, organization_id: null,
      query: { grant_type: 'refresh_token', client_id: t.info.clientId, client_secret: '[redacted]', refresh_token: '[redacted]' },
    });
    expect(entries[1]?.query).toEqual({ grant_type: 'authorization_code', client_id: t.info.clientId, client_secret: '[redacted]', code: '[redacted]' });
    expect(entries[2]).toMatchObject({ path: '/oauth/v2/token/revoke', query: { token: '[redacted]' } });
    expect(entries[3]?.query).toEqual({ organization_id: t.organization, per_page: '1', access_token: '[redacted]', password: '[redacted]' });
    const text = JSON.stringify(entries);
    for (const secret of [t.info.clientSecret, t.info.refreshToken, code, '1000.secret', 'hunter2']) expect(text).not.toContain(secret);
  });

  it('DELETE clears the log; the ring keeps the newest entries and counts the dropped', async () => {
    await t.call('GET', '/contacts', { query: { per_page: 1 } });
    expect((await log()).requests.length).toBeGreaterThan(0);
    const cleared = await t.admin('DELETE', '/__emulator/requests');
    expect(cleared).toMatchObject({ status: 200, body: { cleared: true } });
    const empty = await log();
    expect(empty.requests).toEqual([]);
    expect(empty.dropped).toBe(0);

    const small = await startTestEmulator({ contacts: 10, requestLogSize: 3 });
    try {
      for (let i = 1; i <= 5; i++) await small.call('GET', '/contacts', { query: { per_page: i } });
      const res = await small.admin<LogBody>('GET', '/__emulator/requests');
      expect(res.body.dropped).toBe(2);
      expect(res.body.next_seq).toBe(5);
      expect(res.body.requests.map((r) => r.query.per_page)).toEqual(['3', '4', '5']);
    } finally {
      await small.close();
    }
  });
});

describe('faults', () => {
  it('lists, adds (spec strings and objects), replaces and clears rules', async () => {
    expect((await t.admin('GET', '/__emulator/faults')).body).toEqual({ faults: [] });
    const added = await t.admin<{ added: Array<Record<string, unknown>>; faults: Array<Record<string, unknown>> }>('POST', '/__emulator/faults', {
      faults: ['503,count=2,path=/contacts/*/inactive,method=post', { kind: 'latency', latencyMs: 5, rate: 0.5 }],
    });
    expect(added.status).toBe(200);
    expect(added.body.added).toEqual([
      { id: expect.stringMatching(/^fault-\d+$/), kind: 'status', status: 503, code: 1000, method: 'POST', path: '/contacts/*/inactive', rate: 1, count: 2, skip: 0, matched: 0, fired: 0 },
      { id: expect.stringMatching(/^fault-\d+$/), kind: 'latency', latencyMs: 5, rate: 0.5, skip: 0, matched: 0, fired: 0 },
    ]);
    expect(added.body.faults).toEqual(added.body.added);

    const single = await t.admin<{ added: Array<{ kind: string; status: number; code: number }> }>('POST', '/__emulator/faults', { kind: 'status', status: 429 });
    expect(single.status).toBe(200);
    expect(single.body.added[0]).toMatchObject({ kind: 'status', status: 429, code: 44 });
    expect(((await t.admin<{ faults: unknown[] }>('GET', '/__emulator/faults')).body.faults)).toHaveLength(3);

    const replaced = await t.admin<{ faults: Array<{ kind: string }> }>('POST', '/__emulator/faults', { faults: ['drop,every=100'], replace: true });
    expect(replaced.body.faults.map((f) => f.kind)).toEqual(['drop']);

    const cleared = await t.admin('DELETE', '/__emulator/faults');
    expect(cleared).toMatchObject({ status: 200, body: { faults: [] } });
    expect((await t.admin('GET', '/__emulator/faults')).body).toEqual({ faults: [] });
    expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);
  });

  it('refuses invalid rules with 400 and adds none of the batch', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ faults: ['teapot'] }, /unknown kind "teapot"/],
      [{ faults: ['418'] }, /a status fault needs "status": 429, 500, 502, 503 or 504/],
      [{ faults: ['503,rate=2'] }, /rate=2: expected a number from 0 to 1/],
      [{ faults: ['503,colour=red'] }, /unknown option "colour"/],
      [{ faults: ['latency'] }, /latency needs milliseconds/],
      [{ faults: ['503', { kind: 'explode' }] }, /is not one of status, latency, drop, expire_token/],
      [{ faults: [{ kind: 'latency' }] }, /a latency fault needs "latencyMs"/],
      [{ faults: [{ kind: 'status', status: 500, count: 0 }] }, /count=0/],
      [{ faults: [42] }, /a fault is a spec string or an object/],
      [{}, /send \{"faults": \[\.\.\.\]\}/],
    ];
    for (const [body, message] of cases) {
      const res = await t.admin<{ error: string }>('POST', '/__emulator/faults', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error, JSON.stringify(body)).toMatch(message);
    }
    expect((await t.admin('GET', '/__emulator/faults')).body).toEqual({ faults: [] });
  });
});

describe('clock', () => {
  it('advances, sets and freezes the emulated time', async () => {
    const frozen = await t.admin<ClockBody>('POST', '/__emulator/clock', { freeze: true });
    expect(frozen.status).toBe(200);
    expect(frozen.body.frozen).toBe(true);
    expect(frozen.body.now).toBe(new Date(frozen.body.epochMs).toISOString());
    const read = await t.admin<ClockBody>('GET', '/__emulator/clock');
    expect(read.body).toEqual(frozen.body);

    const advanced = await t.admin<ClockBody>('POST', '/__emulator/clock', { advanceSeconds: 86_400 });
    expect(advanced.body.epochMs).toBe(frozen.body.epochMs + 86_400_000);

    const set = await t.admin<ClockBody>('POST', '/__emulator/clock', { set: '2031-02-03T04:05:06Z' });
    expect(set.body).toEqual({ now: '2031-02-03T04:05:06.000Z', epochMs: Date.UTC(2031, 1, 3, 4, 5, 6), frozen: true });
    const zoho = await t.admin<ClockBody>('POST', '/__emulator/clock', { set: '2031-02-03T09:35:06+0530' });
    expect(zoho.body.epochMs).toBe(Date.UTC(2031, 1, 3, 4, 5, 6));

    // New records take their times from the emulated clock.
    const created = await t.call<{ contact: { contact_id: string; created_time: string } }>('POST', '/contacts', { body: { contact_name: 'Clocked' } });
    expect(created.body.contact.created_time).toBe('2031-02-03T09:35:06+0530');
    const inv = await t.call<{ invoice: { date: string } }>('POST', '/invoices', { body: { customer_id: created.body.contact.contact_id, total: 1 } });
    expect(inv.body.invoice.date).toBe('2031-02-03');

    const back = await t.admin<ClockBody>('POST', '/__emulator/clock', { advanceSeconds: -3600 });
    expect(back.body.epochMs).toBe(Date.UTC(2031, 1, 3, 3, 5, 6));

    const unfrozen = await t.admin<ClockBody>('POST', '/__emulator/clock', { freeze: false });
    expect(unfrozen.body.frozen).toBe(false);
    expect(unfrozen.body.epochMs).toBeGreaterThanOrEqual(Date.UTC(2031, 1, 3, 3, 5, 6));
    const later = await t.admin<ClockBody>('GET', '/__emulator/clock');
    expect(later.body.frozen).toBe(false);
    expect(later.body.epochMs).toBeGreaterThanOrEqual(unfrozen.body.epochMs);
  });

  it('refuses invalid requests with 400', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /send \{"advanceSeconds": N\}/],
      [{ advanceSeconds: '60' }, /advanceSeconds must be a number/],
      [{ set: 'next tuesday' }, /set must be an ISO 8601 time/],
      [{ set: 12345 }, /set must be an ISO 8601 time/],
      [{ freeze: 'yes' }, /freeze must be true or false/],
    ];
    const before = await t.admin<ClockBody>('POST', '/__emulator/clock', { freeze: true });
    for (const [body, message] of cases) {
      const res = await t.admin<{ error: string }>('POST', '/__emulator/clock', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error, JSON.stringify(body)).toMatch(message);
    }
    expect((await t.admin<ClockBody>('GET', '/__emulator/clock')).body.epochMs).toBe(before.body.epochMs);
  });
});

describe('limits', () => {
  it('GET reports per-organization counters; POST changes the settings', async () => {
    await t.admin('POST', '/__emulator/clock', { freeze: true });
    await t.admin('POST', '/__emulator/clock', { set: '2030-06-01T06:00:10Z' });
    for (let i = 0; i < 3; i++) await t.call('GET', '/contacts', { query: { per_page: 1 } });
    await t.call('GET', '/contacts', { organization: t.organizations[1], query: { per_page: 1 } });

    const res = await t.admin<{ settings: Record<string, unknown>; organizations: Array<Record<string, unknown>> }>('GET', '/__emulator/limits');
    expect(res.status).toBe(200);
    expect(res.body.settings).toEqual({ enabled: true });
    expect(res.body.organizations).toEqual([
      {
        organization_id: t.organizations[0], plan: 'professional', limits: { perMinute: 100, daily: 5000, inFlight: 10 },
        minute: { used: 3, resetsInSeconds: 50 }, day: { used: 3, remaining: 4997, resetsInSeconds: 44_990 },
        inFlight: { current: 0, peak: 1 }, peakPerMinute: 3, refused: { rate_limited: 0, quota_exhausted: 0, too_many_in_flight: 0 },
      },
      {
        organization_id: t.organizations[1], plan: 'free', limits: { perMinute: 100, daily: 1000, inFlight: 5 },
        minute: { used: 1, resetsInSeconds: 50 }, day: { used: 1, remaining: 999, resetsInSeconds: 82_790 },
        inFlight: { current: 0, peak: 1 }, peakPerMinute: 1, refused: { rate_limited: 0, quota_exhausted: 0, too_many_in_flight: 0 },
      },
    ]);

    const set = await t.admin('POST', '/__emulator/limits', { perMinute: 50, daily: 2, organizations: { [t.organizations[1] as string]: { daily: 7 } } });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ settings: { enabled: true, perMinute: 50, daily: 2, organizations: { [t.organizations[1] as string]: { daily: 7 } } } });
    const after = await t.admin<{ organizations: Array<{ limits: Record<string, number> }> }>('GET', '/__emulator/limits');
    expect(after.body.organizations.map((o) => o.limits)).toEqual([
      { perMinute: 50, daily: 2, inFlight: 10 },
      { perMinute: 50, daily: 7, inFlight: 5 },
    ]);
    // The first organization has used 3 of 2 today: refused with 45.
    const refused = await t.call('GET', '/contacts', { query: { per_page: 1 } });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 45 });

    const reset = await t.admin('POST', '/__emulator/limits', { resetCounters: true, daily: null });
    expect(reset.body).toEqual({ settings: { enabled: true, perMinute: 50, organizations: { [t.organizations[1] as string]: { daily: 7 } } } });
    const counters = await t.admin<{ organizations: Array<{ day: { used: number }; refused: { quota_exhausted: number } }> }>('GET', '/__emulator/limits');
    expect(counters.body.organizations[0]).toMatchObject({ day: { used: 0 }, refused: { quota_exhausted: 0 } });
    expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);
  });

  it('refuses invalid settings with 400', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ enabled: 'no' }, /enabled must be true or false/],
      [{ perMinute: -1 }, /perMinute must be a non-negative integer or null/],
      [{ daily: 1.5 }, /daily must be a non-negative integer or null/],
      [{ inFlight: '3' }, /inFlight must be a non-negative integer or null/],
      [{ organizations: 'all' }, /organizations must map ids to limits/],
    ];
    for (const [body, message] of cases) {
      const res = await t.admin<{ error: string }>('POST', '/__emulator/limits', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error, JSON.stringify(body)).toMatch(message);
    }
    expect((await t.admin<{ settings: unknown }>('GET', '/__emulator/limits')).body.settings).toEqual({ enabled: true });
  });

  it('validates per-organization settings like the top-level ones', async () => {
    const cases: unknown[] = [
      { organizations: { [t.organization]: { daily: -5 } } },
      { organizations: { [t.organization]: { perMinute: 'many' } } },
      { organizations: { [t.organization]: { inFlight: 1.5 } } },
      { organizations: { [t.organization]: 'fast' } },
    ];
    for (const body of cases) {
      const res = await t.admin<{ error: string }>('POST', '/__emulator/limits', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error, JSON.stringify(body)).toMatch(/must be/);
    }
    expect((await t.admin<{ settings: unknown }>('GET', '/__emulator/limits')).body.settings).toEqual({ enabled: true });
    expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);
  });
});

describe('tokens/expire', () => {
  it('expires one access token, or all of them', async () => {
    const other = await t.tokenFor(['ZohoBooks.contacts.READ']);
    const third = await t.tokenFor(['ZohoBooks.contacts.READ']);
    const one = await t.admin('POST', '/__emulator/tokens/expire', { access_token: other });
    expect(one).toMatchObject({ status: 200, body: { expired: 1 } });
    expect((await t.call('GET', '/contacts', { token: other })).body).toMatchObject({ code: 57 });
    expect((await t.call('GET', '/contacts', { token: third, query: { per_page: 1 } })).status).toBe(200);
    expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);

    const all = await t.admin('POST', '/__emulator/tokens/expire', {});
    expect(all).toMatchObject({ status: 200, body: { expired: 2 } });
    for (const token of [third, t.token]) {
      const res = await t.call('GET', '/contacts', { token });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 57 });
    }
    expect((await refreshReady(t.info)).status).toBe(200);

    const bad = await t.admin<{ error: string }>('POST', '/__emulator/tokens/expire', { access_token: 5 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/access_token must be a string/);
  });
});

describe('reset', () => {
  it('puts the data back to the seed, clears faults, log and counters, keeps the clock and the ready-made refresh token', async () => {
    const seeded = await countContacts(t.organization);
    const made = await t.call<{ contact: Contact }>('POST', '/contacts', { body: { contact_name: 'Temporary' } });
    const list = await t.call<{ contacts: Contact[] }>('GET', '/contacts', { query: { filter_by: 'Status.Active', per_page: 1 } });
    const seededId = list.body.contacts[0]?.contact_id as string;
    await t.call('POST', `/contacts/${seededId}/inactive`);
    await t.admin('POST', '/__emulator/faults', { faults: ['503,path=/invoices'] });
    await t.admin('POST', '/__emulator/clock', { freeze: true });
    await t.admin('POST', '/__emulator/clock', { advanceSeconds: 7 * 86_400 });
    const clockBefore = (await t.admin<ClockBody>('GET', '/__emulator/clock')).body;

    const reset = await t.admin<EmulatorInfo>('POST', '/__emulator/reset');
    expect(reset.status).toBe(200);
    const info = reset.body;
    expect(info.clientId).toBe(t.info.clientId);
    expect(info.refreshToken).toBe(t.info.refreshToken);
    expect(info.organizations).toEqual(t.info.organizations);
    const token = info.accessToken;

    expect(await countContacts(t.organization, token)).toBe(seeded);
    expect((await t.call('GET', `/contacts/${made.body.contact.contact_id}`, { token })).body).toMatchObject({ code: 1002 });
    expect((await t.call<{ contact: Contact }>('GET', `/contacts/${seededId}`, { token })).body.contact.status).toBe('active');
    expect((await t.admin('GET', '/__emulator/faults')).body).toEqual({ faults: [] });
    expect((await t.call('GET', '/invoices', { token, query: { per_page: 1 } })).status).toBe(200);
    const entries = (await log()).requests;
    expect(entries.map((e) => e.status)).toEqual([200, 404, 200, 200]);
    const counters = await t.admin<{ organizations: Array<{ day: { used: number } }> }>('GET', '/__emulator/limits');
    expect(counters.body.organizations[0]?.day.used).toBe(4);
    expect((await t.admin<ClockBody>('GET', '/__emulator/clock')).body).toEqual(clockBefore);

    const refreshed = await refreshReady(info);
    expect(refreshed.status).toBe(200);
    const access = ((await refreshed.json()) as { access_token: string }).access_token;
    expect((await t.call('GET', '/contacts', { token: access, query: { per_page: 1 } })).status).toBe(200);
    expect((await t.admin('GET', '/__emulator/check')).body).toEqual({ ok: true, mismatches: [] });
  });

  it('goes back to the start-up seed even after POST /__emulator/seed', async () => {
    const seeded = await countContacts(t.organization);
    const empty = await t.admin<EmulatorInfo>('POST', '/__emulator/seed', { seed: 'empty' });
    expect(await countContacts(t.organization, empty.body.accessToken)).toBe(0);
    const reset = await t.admin<EmulatorInfo>('POST', '/__emulator/reset');
    expect(await countContacts(t.organization, reset.body.accessToken)).toBe(seeded);
  });
});

describe('seed', () => {
  it('empty: the organizations with no contacts', async () => {
    const res = await t.admin<EmulatorInfo>('POST', '/__emulator/seed', { seed: 'empty' });
    expect(res.status).toBe(200);
    expect(res.body.organizations.map((o) => o.organization_id)).toEqual(t.organizations);
    const token = res.body.accessToken;
    for (const organization of t.organizations) {
      expect(await countContacts(organization, token)).toBe(0);
      const invoices = await t.call<{ invoices: unknown[] }>('GET', '/invoices', { token, organization });
      expect(invoices.body.invoices).toEqual([]);
    }
    expect((await t.admin('GET', '/__emulator/check')).body).toEqual({ ok: true, mismatches: [] });
  });

  it('demo with N contacts; a new random seed gives new credentials', async () => {
    const res = await t.admin<EmulatorInfo>('POST', '/__emulator/seed', { seed: 'demo', contacts: 55 });
    expect(res.status).toBe(200);
    expect(await countContacts(t.organizations[0] as string, res.body.accessToken)).toBe(55);
    expect(await countContacts(t.organizations[1] as string, res.body.accessToken)).toBe(11);
    expect(res.body.clientId).toBe(t.info.clientId);
    // The old access token is gone with the old data.
    expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).body).toMatchObject({ code: 57 });

    const other = await t.admin<EmulatorInfo>('POST', '/__emulator/seed', { seed: 'demo', randomSeed: 7, contacts: 12 });
    expect(other.status).toBe(200);
    expect(other.body.clientId).not.toBe(t.info.clientId);
    expect(other.body.refreshToken).not.toBe(t.info.refreshToken);
    const organizations = other.body.organizations.map((o) => o.organization_id);
    expect(await countContacts(organizations[0] as string, other.body.accessToken)).toBe(12);
    expect((await t.admin('GET', '/__emulator/check')).body).toEqual({ ok: true, mismatches: [] });
  });

  it('refuses invalid options with 400', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ seed: 'full' }, /seed must be "demo" or "empty"/],
      [{ randomSeed: -1 }, /randomSeed must be a non-negative integer/],
      [{ contacts: 0 }, /contacts must be an integer from 1 to 1,000,000/],
      [{ contacts: 'ten' }, /contacts must be an integer/],
    ];
    for (const [body, message] of cases) {
      const res = await t.admin<{ error: string }>('POST', '/__emulator/seed', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error, JSON.stringify(body)).toMatch(message);
    }
    expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);
  });
});

describe('check', () => {
  it('reports ok on consistent data', async () => {
    const res = await t.admin('GET', '/__emulator/check');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, mismatches: [] });
  });

  it('reports a contact whose stored amounts differ from its transactions, stored and recomputed side by side', async () => {
    // Corrupt the data behind the emulator's back: an invoice's balance and a bill's row change
    // without the contacts' derived amounts following.
    const db = t.emulator.store.db;
    const invoice = db.prepare("SELECT transaction_id, contact_id FROM transactions WHERE type = 'invoices' AND balance_cents > 0 ORDER BY transaction_id LIMIT 1").get() as { transaction_id: string; contact_id: string };
    const bill = db.prepare("SELECT transaction_id, contact_id FROM transactions WHERE type = 'bills' ORDER BY transaction_id LIMIT 1").get() as { transaction_id: string; contact_id: string };
    db.prepare('UPDATE transactions SET balance_cents = balance_cents + 1234 WHERE transaction_id = ?').run(invoice.transaction_id);
    db.prepare('DELETE FROM transactions WHERE transaction_id = ?').run(bill.transaction_id);
    const stored = (id: string) => db.prepare('SELECT receivable_cents, payable_cents, credits_receivable_cents, credits_payable_cents, transaction_count FROM contacts WHERE contact_id = ?').get(id) as Record<string, number>;
    const before = { invoice: stored(invoice.contact_id), bill: stored(bill.contact_id) };

    const res = await fetch(`${t.origin}/__emulator/check`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as { ok: boolean; mismatches: Array<Record<string, unknown>> };
    expect(body.ok).toBe(false);
    expect(body.mismatches.map((m) => m.contact_id).sort()).toEqual([invoice.contact_id, bill.contact_id].sort());
    const row = (id: string) => body.mismatches.find((m) => m.contact_id === id);
    // Each row: the stored columns, then what the transactions add up to, in this order.
    expect(Object.keys(row(invoice.contact_id) ?? {})).toEqual([
      'contact_id', 'receivable_cents', 'payable_cents', 'credits_receivable_cents', 'credits_payable_cents', 'transaction_count',
      'receivable', 'payable', 'credits_receivable', 'credits_payable', 'transactions',
    ]);
    expect(row(invoice.contact_id)).toMatchObject({ ...before.invoice, receivable: (before.invoice.receivable_cents as number) + 1234, transactions: before.invoice.transaction_count });
    expect(row(bill.contact_id)).toMatchObject({ ...before.bill, transactions: (before.bill.transaction_count as number) - 1 });
  });
});

describe('routing', () => {
  it('an unknown admin path is 404, a wrong method 405', async () => {
    const unknown = await t.admin<{ error: string }>('GET', '/__emulator/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/no admin endpoint \/__emulator\/nothing-here/);
    const root = await t.admin('GET', '/__emulator');
    expect(root.status).toBe(404);

    const cases: Array<[string, string]> = [
      ['DELETE', '/__emulator/info'],
      ['GET', '/__emulator/grants'],
      ['POST', '/__emulator/requests'],
      ['PUT', '/__emulator/faults'],
      ['DELETE', '/__emulator/clock'],
      ['DELETE', '/__emulator/limits'],
      ['GET', '/__emulator/tokens/expire'],
      ['GET', '/__emulator/reset'],
      ['GET', '/__emulator/seed'],
      ['POST', '/__emulator/check'],
    ];
    for (const [method, path] of cases) {
      const res = await t.admin<{ error: string }>(method, path);
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.body.error, `${method} ${path}`).toMatch(new RegExp(`^${method} is not allowed on ${path}`));
    }
    // Admin calls are not Books requests: they are not in the request log.
    expect((await log()).requests).toEqual([]);
  });
});
