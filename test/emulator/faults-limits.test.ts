/**
 * Fault injection (docs/emulator.md "Faults") and per-organization limits (reference §6), over
 * HTTP and through the in-process fetch adapter. The clock is frozen and moved by the admin API.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulatorFetch, type EmulatorOptions, type OrganizationLimitCounters } from '../../src/emulator/index.js';
import { startTestEmulator, type CallResult, type TestEmulator } from '../helpers/emulator.js';

interface LogEntry {
  seq: number;
  method: string;
  path: string;
  status: number;
  code: number | null;
  organization_id: string | null;
  duration_ms: number;
  fault: string | null;
}
interface FaultRule {
  id: string;
  kind: string;
  matched: number;
  fired: number;
}
interface Contact {
  contact_id: string;
  status: string;
}

/** 11:30:10 on 2030-06-01 in the first organization (+05:30), 01:00:10 in the second (−05:00). */
const NOW = '2030-06-01T06:00:10Z';
const SECONDS_TO_MIDNIGHT_ORG1 = 12 * 3600 + 29 * 60 + 50;
const SECONDS_TO_MIDNIGHT_ORG2 = 22 * 3600 + 59 * 60 + 50;
const PER_MINUTE_MESSAGE = 'The organization has exceeded the maximum number of requests per minute.';
const IN_FLIGHT_MESSAGE = 'You have reached the maximum number of in process requests allowed.';
const MALFORMED = '/contacts/123';

const open: TestEmulator[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

async function start(options: EmulatorOptions = {}): Promise<TestEmulator> {
  const e = await startTestEmulator({ contacts: 20, tokenTtlSeconds: 10 * 365 * 86_400, ...options });
  open.push(e);
  expect((await e.admin('POST', '/__emulator/clock', { freeze: true })).status).toBe(200);
  expect((await e.admin('POST', '/__emulator/clock', { set: NOW })).status).toBe(200);
  return e;
}

async function addFaults(e: TestEmulator, faults: unknown[]): Promise<void> {
  const res = await e.admin('POST', '/__emulator/faults', { faults });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function faultRules(e: TestEmulator): Promise<FaultRule[]> {
  return (await e.admin<{ faults: FaultRule[] }>('GET', '/__emulator/faults')).body.faults;
}

async function logSince(e: TestEmulator, since: number): Promise<LogEntry[]> {
  return (await e.admin<{ requests: LogEntry[] }>('GET', `/__emulator/requests?since=${since}`)).body.requests;
}

async function nextSeq(e: TestEmulator): Promise<number> {
  return (await e.admin<{ next_seq: number }>('GET', '/__emulator/requests?limit=1')).body.next_seq;
}

async function counters(e: TestEmulator): Promise<OrganizationLimitCounters[]> {
  return (await e.admin<{ organizations: OrganizationLimitCounters[] }>('GET', '/__emulator/limits')).body.organizations;
}

async function advance(e: TestEmulator, seconds: number): Promise<void> {
  expect((await e.admin('POST', '/__emulator/clock', { advanceSeconds: seconds })).status).toBe(200);
}

const ping = (e: TestEmulator, organization?: string): Promise<CallResult> => e.call('GET', '/contacts', { organization, query: { per_page: 1 } });

async function firstContact(e: TestEmulator): Promise<string> {
  const res = await e.call<{ contacts: Contact[] }>('GET', '/contacts', { query: { filter_by: 'Status.Active', per_page: 1 } });
  return res.body.contacts[0]?.contact_id as string;
}

describe('status faults', () => {
  it('count: the first N matching requests fail with 503 code 1000, and still count against the limits', async () => {
    const e = await start();
    await addFaults(e, ['503,count=2']);
    const results = [await ping(e), await ping(e), await ping(e)];
    expect(results.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(results[0]?.body).toEqual({ code: 1000, message: 'Internal error' });
    expect(results[0]?.headers.get('x-rate-limit-limit')).toBe('5000');
    expect(results[1]?.headers.get('x-rate-limit-remaining')).toBe('4998');
    const [rule] = await faultRules(e);
    expect(rule).toMatchObject({ kind: 'status', matched: 2, fired: 2 });
    const log = await logSince(e, 0);
    expect(log.map((r) => [r.status, r.code, r.fault])).toEqual([[503, 1000, rule?.id], [503, 1000, rule?.id], [200, 0, null]]);
    expect((await counters(e))[0]?.day.used).toBe(3);
  });

  it('every: every Nth matching request fails with 500', async () => {
    const e = await start();
    await addFaults(e, ['500,every=3']);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await ping(e)).status);
    expect(statuses).toEqual([200, 200, 500, 200, 200, 500, 200]);
    expect((await faultRules(e))[0]).toMatchObject({ matched: 7, fired: 2 });
  });

  it('skip and count: 429 with code 44 after the first N, a set code for another rule', async () => {
    const e = await start();
    await addFaults(e, ['429,skip=2,count=2']);
    const results: CallResult[] = [];
    for (let i = 0; i < 5; i++) results.push(await ping(e));
    expect(results.map((r) => r.status)).toEqual([200, 200, 429, 429, 200]);
    expect(results[2]?.body).toEqual({ code: 44, message: PER_MINUTE_MESSAGE });

    await addFaults(e, [{ kind: 'status', status: 502, code: 9999, count: 1 }]);
    const custom = await ping(e);
    expect(custom.status).toBe(502);
    expect(custom.body).toEqual({ code: 9999, message: 'Internal error' });
    expect((await ping(e)).status).toBe(200);
  });

  it('rate: seeded, so the same requests in the same order meet the same faults', async () => {
    const pattern = async (randomSeed: number): Promise<string> => {
      const e = await start({ randomSeed });
      await addFaults(e, ['500,rate=0.3']);
      let out = '';
      for (let i = 0; i < 30; i++) out += (await ping(e)).status === 500 ? 'x' : '.';
      return out;
    };
    const first = await pattern(42);
    const second = await pattern(42);
    expect(second).toBe(first);
    const failures = first.split('').filter((c) => c === 'x').length;
    expect(failures).toBeGreaterThan(0);
    expect(failures).toBeLessThan(30);
    expect(await pattern(43)).not.toBe(first);
  });

  it('a fault is not used up by a request refused by authentication, organization or limit checks', async () => {
    const e = await start({ limits: { perMinute: 2 } });
    await ping(e);
    await ping(e);
    await addFaults(e, ['503,count=1']);
    // The pipeline checks auth, organization and limits before faults (docs/emulator.md "Faults").
    expect((await e.call('GET', '/contacts', { token: null })).body).toMatchObject({ code: 14 });
    expect((await e.call('GET', '/contacts', { organization: '999' })).body).toMatchObject({ code: 6024 });
    expect((await ping(e)).body).toMatchObject({ code: 44 });
    await advance(e, 60);
    const faulted = await ping(e);
    expect(faulted.status).toBe(503);
    expect(faulted.body).toEqual({ code: 1000, message: 'Internal error' });
    expect((await ping(e)).status).toBe(200);
    expect((await faultRules(e))[0]?.fired).toBe(1);
  });

  it('rate: after POST /__emulator/reset the same requests meet the same faults again', async () => {
    const e = await start();
    const run = async (): Promise<string> => {
      await addFaults(e, ['500,rate=0.3']);
      let out = '';
      for (let i = 0; i < 30; i++) out += (await ping(e)).status === 500 ? 'x' : '.';
      return out;
    };
    const first = await run();
    const reset = await e.admin<{ accessToken: string }>('POST', '/__emulator/reset');
    expect(reset.status).toBe(200);
    const { accessToken } = reset.body;
    let again = '';
    await addFaults(e, ['500,rate=0.3']);
    for (let i = 0; i < 30; i++) again += (await e.call('GET', '/contacts', { token: accessToken, query: { per_page: 1 } })).status === 500 ? 'x' : '.';
    expect(again).toBe(first);
  });

  it('matches by method and path glob, under /books/v3 or /oauth', async () => {
    const e = await start();
    const id = await firstContact(e);
    await addFaults(e, ['503,method=POST,path=/contacts/*/inactive', '500,path=/invoices/**', '503,path=/oauth/v2/token,count=1']);

    expect((await ping(e)).status).toBe(200);
    expect((await e.call('GET', `/contacts/${id}`)).status).toBe(200);
    expect((await e.call('POST', '/contacts', { body: { contact_name: 'Unfaulted' } })).status).toBe(201);
    expect((await e.call('POST', `/contacts/${id}/active`)).body).toMatchObject({ code: 3031 });
    const inactive = await e.call('POST', `/contacts/${id}/inactive`);
    expect(inactive.status).toBe(503);
    expect(inactive.body).toEqual({ code: 1000, message: 'Internal error' });
    expect((await e.call<{ contact: Contact }>('GET', `/contacts/${id}`)).body.contact.status).toBe('active');

    expect((await e.call('GET', '/invoices', { query: { per_page: 1 } })).status).toBe(200);
    expect((await e.call('GET', '/invoices/3185434999999999999')).status).toBe(500);

    const body = new URLSearchParams({ grant_type: 'refresh_token', client_id: e.info.clientId, client_secret: e.info.clientSecret, refresh_token: e.info.refreshToken });
    const faulted = await fetch(`${e.origin}/oauth/v2/token`, { method: 'POST', body });
    expect(faulted.status).toBe(503);
    expect((await fetch(`${e.origin}/oauth/v2/token`, { method: 'POST', body })).status).toBe(200);

    const rules = await faultRules(e);
    expect(rules.map((r) => [r.matched, r.fired])).toEqual([[1, 1], [1, 1], [1, 1]]);
  });
});

describe('latency, drop and expire-token faults', () => {
  it('latency delays the answer (seen in the request log)', async () => {
    const e = await start();
    await addFaults(e, ['latency:50,count=1']);
    const since = await nextSeq(e);
    expect((await ping(e)).status).toBe(200);
    const [entry] = await logSince(e, since);
    expect(entry?.status).toBe(200);
    expect(entry?.duration_ms).toBeGreaterThanOrEqual(50);
    expect((await faultRules(e))[0]).toMatchObject({ fired: 1 });
  });

  it('latency keeps the request in flight: a later fast request answers first', async () => {
    const e = await start();
    await addFaults(e, ['latency:300,count=1,path=/contacts']);
    const order: string[] = [];
    const slow = e.call('GET', '/contacts', { query: { per_page: 1 } }).then((r) => order.push(`slow ${r.status}`));
    await new Promise((resolve) => setImmediate(resolve));
    const fast = e.call('GET', '/invoices', { query: { per_page: 1 } }).then((r) => order.push(`fast ${r.status}`));
    await Promise.all([slow, fast]);
    expect(order).toEqual(['fast 200', 'slow 200']);
    expect((await counters(e))[0]?.inFlight.peak).toBe(2);
  });

  it('drop closes the connection: the client sees a connection error, the log status 0 and the fault', async () => {
    const e = await start();
    await addFaults(e, ['drop,count=1']);
    const since = await nextSeq(e);
    await expect(ping(e)).rejects.toThrow(TypeError);
    expect((await ping(e)).status).toBe(200);
    const [rule] = await faultRules(e);
    const log = await logSince(e, since);
    expect(log.map((r) => ({ status: r.status, code: r.code, fault: r.fault, organization_id: r.organization_id }))).toEqual([
      { status: 0, code: null, fault: rule?.id, organization_id: e.organization },
      { status: 200, code: 0, fault: null, organization_id: e.organization },
    ]);
  });

  it('expire-token: the request answers 57 and changes nothing', async () => {
    const e = await start();
    const id = await firstContact(e);
    const historyBefore = (await e.call<{ contact_comments: unknown[] }>('GET', `/contacts/${id}/comments`)).body.contact_comments;
    await addFaults(e, ['expire-token,count=1,path=/contacts/*/inactive']);
    const since = await nextSeq(e);

    const res = await e.call('POST', `/contacts/${id}/inactive`);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ code: 57, message: 'You are not authorized to perform this operation' });
    const [rule] = await faultRules(e);
    expect((await logSince(e, since))[0]).toMatchObject({ status: 401, code: 57, fault: rule?.id });
    // The token stays expired.
    expect((await ping(e)).body).toMatchObject({ code: 57 });

    const refreshed = await fetch(`${e.origin}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: e.info.clientId, client_secret: e.info.clientSecret, refresh_token: e.info.refreshToken }),
    });
    const token = ((await refreshed.json()) as { access_token: string }).access_token;
    expect((await e.call<{ contact: Contact }>('GET', `/contacts/${id}`, { token })).body.contact.status).toBe('active');
    expect((await e.call<{ contact_comments: unknown[] }>('GET', `/contacts/${id}/comments`, { token })).body.contact_comments).toEqual(historyBefore);
    // The rule has fired its one time: the retry goes through.
    expect((await e.call('POST', `/contacts/${id}/inactive`, { token })).status).toBe(200);
  });
});

describe('limits', () => {
  it('per minute: 44 past the limit, shared by every token of the organization, a new window after 60 s', async () => {
    const e = await start({ limits: { perMinute: 5 } });
    for (let i = 0; i < 5; i++) expect((await ping(e)).status).toBe(200);
    const refused = await ping(e);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ code: 44, message: PER_MINUTE_MESSAGE });
    expect(refused.headers.get('x-rate-limit-limit')).toBe('5000');
    const other = await e.tokenFor(['ZohoBooks.contacts.READ']);
    expect((await e.call('GET', '/contacts', { token: other })).body).toMatchObject({ code: 44 });
    // Another organization has its own window.
    expect((await ping(e, e.organizations[1])).status).toBe(200);

    await advance(e, 49);
    expect((await ping(e)).body).toMatchObject({ code: 44 });
    await advance(e, 1);
    expect((await ping(e)).status).toBe(200);
    const [org1] = await counters(e);
    expect(org1).toMatchObject({ minute: { used: 1 }, day: { used: 6 }, peakPerMinute: 5, refused: { rate_limited: 3, quota_exhausted: 0, too_many_in_flight: 0 } });
  });

  it('daily: 45 naming the quota, X-Rate-Limit-* headers, a new day at the organization\'s midnight', async () => {
    const e = await start({ limits: { daily: 3 } });
    const seen: Array<[number, string | null, string | null, string | null]> = [];
    for (let i = 0; i < 4; i++) {
      const r = await ping(e);
      seen.push([r.status, r.headers.get('x-rate-limit-limit'), r.headers.get('x-rate-limit-remaining'), r.headers.get('x-rate-limit-reset')]);
    }
    const reset = String(SECONDS_TO_MIDNIGHT_ORG1);
    expect(seen).toEqual([[200, '3', '2', reset], [200, '3', '1', reset], [200, '3', '0', reset], [429, '3', '0', reset]]);
    const refused = await ping(e);
    expect(refused.body).toEqual({ code: 45, message: 'The API call for this organization has exceeded the maximum call rate limit of 3.' });
    // The second organization's day ends at its own midnight.
    const org2 = await ping(e, e.organizations[1]);
    expect(org2.status).toBe(200);
    expect(org2.headers.get('x-rate-limit-reset')).toBe(String(SECONDS_TO_MIDNIGHT_ORG2));

    await advance(e, SECONDS_TO_MIDNIGHT_ORG1 - 1);
    const last = await ping(e);
    expect(last.body).toMatchObject({ code: 45 });
    expect(last.headers.get('x-rate-limit-reset')).toBe('1');
    await advance(e, 1);
    const next = await ping(e);
    expect(next.status).toBe(200);
    expect(next.headers.get('x-rate-limit-remaining')).toBe('2');
    expect(next.headers.get('x-rate-limit-reset')).toBe('86400');
    expect((await counters(e))[0]?.refused).toEqual({ rate_limited: 0, quota_exhausted: 3, too_many_in_flight: 0 });
  });

  it('in flight: 1070 while other requests are being processed', async () => {
    const e = await start({ baseLatencyMs: 500, limits: { inFlight: 2 } });
    const results = await Promise.all(Array.from({ length: 4 }, () => ping(e)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 429, 429]);
    for (const r of results.filter((x) => x.status === 429)) expect(r.body).toEqual({ code: 1070, message: IN_FLIGHT_MESSAGE });
    const [org1] = await counters(e);
    expect(org1?.inFlight).toEqual({ current: 0, peak: 2 });
    expect(org1?.refused).toEqual({ rate_limited: 0, quota_exhausted: 0, too_many_in_flight: 2 });
    expect(org1?.day.used).toBe(2);
    expect((await ping(e)).status).toBe(200);
  });

  it('per-plan in-flight defaults: free 5, professional 10', async () => {
    const e = await start({ baseLatencyMs: 800 });
    const [free, pro] = await Promise.all([
      Promise.all(Array.from({ length: 7 }, () => ping(e, e.organizations[1]))),
      Promise.all(Array.from({ length: 12 }, () => ping(e, e.organizations[0]))),
    ]);
    expect(free.filter((r) => r.status === 200)).toHaveLength(5);
    expect(free.filter((r) => r.status === 429).map((r) => r.body)).toEqual([{ code: 1070, message: IN_FLIGHT_MESSAGE }, { code: 1070, message: IN_FLIGHT_MESSAGE }]);
    expect(pro.filter((r) => r.status === 200)).toHaveLength(10);
    expect(pro.filter((r) => r.status === 429)).toHaveLength(2);
    const [c1, c2] = await counters(e);
    expect(c1).toMatchObject({ plan: 'professional', limits: { perMinute: 100, daily: 5000, inFlight: 10 }, inFlight: { current: 0, peak: 10 }, refused: { too_many_in_flight: 2 } });
    expect(c2).toMatchObject({ plan: 'free', limits: { perMinute: 100, daily: 1000, inFlight: 5 }, inFlight: { current: 0, peak: 5 }, refused: { too_many_in_flight: 2 } });
  });

  it('per-plan daily defaults: free 1,000 enforced at 100 a minute; professional 5,000', async () => {
    const e = await start();
    // The bulk of the traffic goes straight into the pipeline (Emulator.handle), without sockets.
    const hit = async (organization: string): Promise<number> => {
      const res = await e.emulator.handle(
        { method: 'GET', rawPath: `/books/v3${MALFORMED}`, query: new URLSearchParams({ organization_id: organization }), headers: { authorization: `Zoho-oauthtoken ${e.token}` }, body: new Uint8Array(0) },
        e.origin,
      );
      return res.status === 429 ? (JSON.parse(res.body) as { code: number }).code : res.status;
    };
    const [pro, free] = e.organizations as [string, string];

    const first = await e.call('GET', MALFORMED, { organization: pro });
    expect(first.body).toMatchObject({ code: 2 });
    expect(first.headers.get('x-rate-limit-limit')).toBe('5000');
    expect(first.headers.get('x-rate-limit-remaining')).toBe('4999');

    for (let minute = 0; minute < 10; minute++) {
      const answers = new Set<number>();
      for (let i = 0; i < 100; i++) answers.add(await hit(free));
      // Every answer is the handler's 400 code 2, never a limit.
      expect(answers, `minute ${minute}`).toEqual(new Set([400]));
      expect(await hit(free)).toBe(minute === 9 ? 45 : 44);
      await advance(e, 60);
    }
    const exhausted = await e.call('GET', MALFORMED, { organization: free });
    expect(exhausted.status).toBe(429);
    expect(exhausted.body).toEqual({ code: 45, message: 'The API call for this organization has exceeded the maximum call rate limit of 1000.' });
    expect(exhausted.headers.get('x-rate-limit-limit')).toBe('1000');
    expect(exhausted.headers.get('x-rate-limit-remaining')).toBe('0');
    // The professional organization is not touched by the free one's quota.
    expect((await e.call('GET', MALFORMED, { organization: pro })).headers.get('x-rate-limit-remaining')).toBe('4998');

    const [c1, c2] = await counters(e);
    expect(c1).toMatchObject({ limits: { perMinute: 100, daily: 5000, inFlight: 10 }, day: { used: 2, remaining: 4998 }, refused: { rate_limited: 0, quota_exhausted: 0 } });
    expect(c2).toMatchObject({ limits: { perMinute: 100, daily: 1000, inFlight: 5 }, day: { used: 1000, remaining: 0 }, peakPerMinute: 100, refused: { rate_limited: 9, quota_exhausted: 2 } });
  });

  it('enabled:false never refuses, counts in GET /__emulator/limits, and its headers show the whole quota left', async () => {
    const e = await start({ baseLatencyMs: 300, limits: { enabled: false, perMinute: 2, daily: 3, inFlight: 1 } });
    const sequential: CallResult[] = [];
    for (let i = 0; i < 4; i++) sequential.push(await ping(e));
    const concurrent = await Promise.all(Array.from({ length: 3 }, () => ping(e)));
    expect([...sequential, ...concurrent].map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 200]);
    expect(sequential.map((r) => r.headers.get('x-rate-limit-remaining'))).toEqual(['3', '3', '3', '3']);
    expect(sequential[0]?.headers.get('x-rate-limit-limit')).toBe('3');
    const [org1] = await counters(e);
    expect(org1).toMatchObject({
      limits: { perMinute: 2, daily: 3, inFlight: 1 },
      minute: { used: 7 },
      day: { used: 7, remaining: 0 },
      inFlight: { current: 0, peak: 3 },
      peakPerMinute: 7,
      refused: { rate_limited: 0, quota_exhausted: 0, too_many_in_flight: 0 },
    });
    expect((await e.admin<{ settings: { enabled: boolean } }>('GET', '/__emulator/limits')).body.settings.enabled).toBe(false);

    // Turned on again at run time, the same counters refuse.
    expect((await e.admin('POST', '/__emulator/limits', { enabled: true })).status).toBe(200);
    expect((await ping(e)).body).toMatchObject({ code: 45 });
  });

  it('counters: used, peak per minute and refusals follow the traffic', async () => {
    const e = await start({ limits: { perMinute: 8 } });
    for (let i = 0; i < 7; i++) await ping(e);
    await advance(e, 60);
    for (let i = 0; i < 3; i++) await ping(e);
    let [org1, org2] = await counters(e);
    expect(org1).toMatchObject({ minute: { used: 3, resetsInSeconds: 50 }, day: { used: 10, remaining: 4990 }, peakPerMinute: 7 });
    expect(org2).toMatchObject({ minute: { used: 0 }, day: { used: 0, remaining: 1000 }, peakPerMinute: 0 });

    await advance(e, 60);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await ping(e)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429]);
    await ping(e, e.organizations[1]);
    [org1, org2] = await counters(e);
    expect(org1).toMatchObject({ minute: { used: 8 }, day: { used: 18 }, peakPerMinute: 8, inFlight: { current: 0, peak: 1 }, refused: { rate_limited: 1, quota_exhausted: 0, too_many_in_flight: 0 } });
    expect(org2).toMatchObject({ minute: { used: 1 }, day: { used: 1 }, peakPerMinute: 1 });
  });
});

describe('in-process fetch adapter', () => {
  it('answers the same as HTTP', async () => {
    const e = await start({ limits: false });
    const fetchIn = createEmulatorFetch(e.emulator);
    const id = await firstContact(e);
    const headers = { authorization: `Zoho-oauthtoken ${e.token}` };
    for (const path of [`/contacts/${id}`, '/contacts/3185434999999999999', '/contacts/abc', '/nope']) {
      const overHttp = await e.call('GET', path);
      const inProcess = await fetchIn(`/books/v3${path}?organization_id=${e.organization}`, { headers });
      expect(inProcess.status, path).toBe(overHttp.status);
      expect(await inProcess.json(), path).toEqual(overHttp.body);
    }
    const created = await fetchIn(`/books/v3/contacts?organization_id=${e.organization}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ contact_name: 'In Process' }),
    });
    expect(created.status).toBe(201);
    const contactId = ((await created.json()) as { contact: Contact }).contact.contact_id;
    expect((await e.call<{ contact: { contact_name: string } }>('GET', `/contacts/${contactId}`)).body.contact.contact_name).toBe('In Process');
    const token = await fetchIn('/oauth/v2/token', {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: e.info.clientId, client_secret: e.info.clientSecret, refresh_token: e.info.refreshToken }),
    });
    expect(await token.json()).toMatchObject({ api_domain: 'http://emulator.local', token_type: 'Bearer', expires_in: 10 * 365 * 86_400 });
  });

  it('a drop fault makes it reject with TypeError: fetch failed', async () => {
    const e = await start();
    const fetchIn = createEmulatorFetch(e.emulator);
    await addFaults(e, ['drop,count=1']);
    const url = `/books/v3/contacts?organization_id=${e.organization}&per_page=1`;
    const headers = { authorization: `Zoho-oauthtoken ${e.token}` };
    await expect(fetchIn(url, { headers })).rejects.toThrow(new TypeError('fetch failed'));
    expect((await fetchIn(url, { headers })).status).toBe(200);
    const [rule] = await faultRules(e);
    expect((await logSince(e, 0)).map((r) => [r.status, r.fault])).toEqual([[0, rule?.id], [200, null]]);
  });
});
