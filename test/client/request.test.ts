/**
 * The composed client: createZohoBooksClient with a scripted fetch, the fake clock, a memory token
 * store and a fixed random. Checks the wire (Authorization, organization_id), retries, the 57
 * refresh, the limiter in the path (44, 45, headroom), hooks, pagination and the status actions.
 */
import { describe, expect, it } from 'vitest';
import {
  createMemoryTokenStore, createZohoBooksClient, NetworkError, NotFoundError, QuotaExhaustedError, ServerError, TimeoutError,
  UnauthorizedError, ValidationError, type RequestInfo, type ResponseInfo, type RetryInfo, type ZohoClientOptions,
} from '../../src/client/index.js';
import { createFakeClock, flush, type FakeClock } from '../helpers/fake-clock.js';
import {
  createZohoFetch, networkError, ok, sequenceRandom, settle, track, zohoError, type Answer, type RecordedRequest, type Script,
} from '../helpers/scripted-fetch.js';

const ORG = '10234695';
const CONTACT_ID = '460000000026049';
const CLIENT_SECRET = 'client-secret-77aa';
const REFRESH_TOKEN = '1000.refresh.2b9c';
const CREDENTIALS = { clientId: '1000.CLIENT', clientSecret: CLIENT_SECRET, refreshToken: REFRESH_TOKEN };
const API = 'https://www.zohoapis.com/books/v3';
const CONTACT_URL = `${API}/contacts/${CONTACT_ID}?organization_id=${ORG}`;
const CONTACT = { contact_id: CONTACT_ID, contact_name: 'Acme', status: 'active' };

function setup(scripts: { api?: Script; token?: Script } = {}, options: Partial<Omit<ZohoClientOptions, 'clock'>> & { clock?: FakeClock } = {}) {
  const clock = options.clock ?? createFakeClock();
  const zf = createZohoFetch(scripts);
  const events = {
    request: [] as RequestInfo[],
    response: [] as ResponseInfo[],
    retry: [] as RetryInfo[],
    refresh: [] as Array<{ ok: boolean; error?: string }>,
    throttle: [] as Array<{ organizationId: string; waitedMs: number }>,
  };
  const client = createZohoBooksClient({
    credentials: CREDENTIALS,
    tokenStore: createMemoryTokenStore(),
    fetch: zf.fetch,
    clock,
    random: sequenceRandom(0.5),
    hooks: {
      onRequest: (info) => events.request.push(info),
      onResponse: (info) => events.response.push(info),
      onRetry: (info) => events.retry.push(info),
      onRefresh: (info) => events.refresh.push(info),
      onThrottle: (info) => events.throttle.push(info),
    },
    ...options,
  });
  return { client, books: client.organization(ORG), clock, zf, events, t0: clock.now() };
}

/** A script from a queue that fails loudly when it runs dry. */
const queue = (...answers: Answer[]): Script => answers;

async function caught(clock: FakeClock, promise: Promise<unknown>): Promise<unknown> {
  return settle(clock, promise).then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

function expectNoSecrets(error: unknown, tokens: string[]): void {
  for (const text of [(error as Error).message, JSON.stringify(error)]) {
    for (const secret of [CLIENT_SECRET, REFRESH_TOKEN, ...tokens]) expect(text).not.toContain(secret);
    expect(text).not.toContain('Zoho-oauthtoken');
  }
}

describe('the wire', () => {
  it('gets a token first, then sends Authorization: Zoho-oauthtoken and organization_id', async () => {
    const s = setup({ api: queue(ok({ contact: CONTACT })) });
    const contact = await settle(s.clock, s.books.contacts.get(CONTACT_ID));
    expect(contact).toEqual(CONTACT);
    expect(s.zf.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`POST https://accounts.zoho.com/oauth/v2/token`, `GET ${CONTACT_URL}`]);
    const api = s.zf.api[0] as RecordedRequest;
    expect(api.headers.authorization).toBe('Zoho-oauthtoken access-1');
    expect(api.headers.accept).toBe('application/json');
    expect(api.query).toEqual({ organization_id: ORG });
    expect(api.body).toBeUndefined();
  });

  it('sends JSON bodies with Content-Type application/json', async () => {
    const s = setup({ api: queue({ status: 201, body: { code: 0, message: 'The contact has been created', contact: CONTACT } }) });
    await settle(s.clock, s.books.contacts.create({ contact_name: 'Acme' }));
    const api = s.zf.api[0] as RecordedRequest;
    expect(api.method).toBe('POST');
    expect(api.url).toBe(`${API}/contacts?organization_id=${ORG}`);
    expect(api.headers['content-type']).toBe('application/json');
    expect(JSON.parse(api.body as string)).toEqual({ contact_name: 'Acme' });
  });

  it('GET /organizations carries no organization_id and feeds the plan to the limiter', async () => {
    const s = setup({
      api: queue(ok({ organizations: [{ organization_id: ORG, name: 'Paid Co', plan_name: 'Premium' }, { organization_id: '20000001', name: 'Free Co', plan_name: 'Free' }] })),
    });
    const organizations = await settle(s.clock, s.client.organizations.list());
    expect(organizations).toHaveLength(2);
    expect(s.zf.api[0]?.url).toBe(`${API}/organizations`);
    expect(s.books.limits().inFlightCap).toBe(10);
    expect(s.client.organization('20000001').limits().inFlightCap).toBe(5);
  });

  it('reuses the token across calls', async () => {
    const s = setup({ api: () => ok({ contact: CONTACT }) });
    for (let i = 0; i < 3; i++) await settle(s.clock, s.books.contacts.get(CONTACT_ID));
    expect(s.zf.token).toHaveLength(1);
    expect(s.zf.api.map((r) => r.headers.authorization)).toEqual(['Zoho-oauthtoken access-1', 'Zoho-oauthtoken access-1', 'Zoho-oauthtoken access-1']);
  });
});

describe('retries', () => {
  it('retries a 503 after the jittered backoff, then succeeds', async () => {
    const s = setup({ api: queue({ status: 503, text: '<html>503 Service Unavailable</html>' }, ok({ contact: CONTACT })) });
    const contact = await settle(s.clock, s.books.contacts.get(CONTACT_ID));
    expect(contact).toEqual(CONTACT);
    expect(s.zf.api.map((r) => r.url)).toEqual([CONTACT_URL, CONTACT_URL]);
    expect(s.events.retry).toEqual([{ method: 'GET', path: `/contacts/${CONTACT_ID}`, organizationId: ORG, attempt: 1, delayMs: 375, reason: 'HTTP 503' }]);
    expect(s.clock.now() - s.t0).toBe(375);
  });

  it('does not retry a 400', async () => {
    const s = setup({ api: queue(zohoError(400, 2, 'Invalid value passed for contact_id')) });
    const error = await caught(s.clock, s.books.contacts.get(CONTACT_ID));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ status: 400, code: 2, organizationId: ORG, request: { method: 'GET', url: CONTACT_URL }, retryable: false });
    expect(s.zf.api).toHaveLength(1);
    expect(s.events.retry).toEqual([]);
  });

  it('raises the typed error after maxAttempts', async () => {
    const s = setup({ api: () => zohoError(503, 1000, 'Internal error') }, { retry: { maxAttempts: 3 } });
    const error = await caught(s.clock, s.books.contacts.get(CONTACT_ID));
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ kind: 'server', status: 503, code: 1000, organizationId: ORG, request: { method: 'GET', url: CONTACT_URL }, retryable: true });
    expect(s.zf.api).toHaveLength(3);
    expect(s.events.retry.map((r) => [r.attempt, r.delayMs])).toEqual([[1, 375], [2, 750]]);
    expect(s.clock.now() - s.t0).toBe(1125);
  });

  it('retries a GET after ECONNRESET', async () => {
    const s = setup({ api: queue({ error: networkError('ECONNRESET') }, ok({ contact: CONTACT })) });
    await expect(settle(s.clock, s.books.contacts.get(CONTACT_ID))).resolves.toEqual(CONTACT);
    expect(s.zf.api).toHaveLength(2);
    expect(s.events.response[0]).toMatchObject({ status: 0, code: undefined, outcome: 'network' });
  });

  it('does not repeat a create that may have reached Zoho (ECONNRESET): NetworkError after one attempt', async () => {
    const s = setup({ api: queue({ error: networkError('ECONNRESET') }) });
    const error = await caught(s.clock, s.books.contacts.create({ contact_name: 'Acme' }));
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ kind: 'network', organizationId: ORG, request: { method: 'POST', url: `${API}/contacts?organization_id=${ORG}` }, retryable: true });
    expect((error as Error).message).toContain('ECONNRESET');
    expect(s.zf.api).toHaveLength(1);
  });

  it('repeats a create that never left (ECONNREFUSED)', async () => {
    const s = setup({ api: queue({ error: networkError('ECONNREFUSED') }, { status: 201, body: { code: 0, message: 'created', contact: CONTACT } }) });
    await expect(settle(s.clock, s.books.contacts.create({ contact_name: 'Acme' }))).resolves.toEqual(CONTACT);
    expect(s.zf.api).toHaveLength(2);
  });

  it('a GET with no answer times out on the clock and is retried', async () => {
    const s = setup({ api: queue({ hang: true }, ok({ contact: CONTACT })) });
    await expect(settle(s.clock, s.books.contacts.get(CONTACT_ID))).resolves.toEqual(CONTACT);
    expect(s.events.response[0]).toMatchObject({ attempt: 1, status: 0, outcome: 'timeout', durationMs: 30_000 });
    expect(s.events.retry).toEqual([{ method: 'GET', path: `/contacts/${CONTACT_ID}`, organizationId: ORG, attempt: 1, delayMs: 375, reason: 'timeout' }]);
  });

  it('a create with no answer is a TimeoutError after one attempt', async () => {
    const s = setup({ api: queue({ hang: true }) }, { timeoutMs: 5_000 });
    const error = await caught(s.clock, s.books.contacts.create({ contact_name: 'Acme' }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain('5000 ms');
    expect(s.zf.api).toHaveLength(1);
  });

  it('an aborted signal stops a request waiting for its backoff', async () => {
    const s = setup({ api: queue(zohoError(503, 1000)) });
    const controller = new AbortController();
    const result = track(s.books.contacts.markInactive(CONTACT_ID, { signal: controller.signal }));
    await flush();
    expect(s.zf.api).toHaveLength(1);
    const reason = new Error('user cancelled');
    controller.abort(reason);
    await flush();
    expect(result.done).toBe(true);
    expect(result.error).toBe(reason);
    expect(s.zf.api).toHaveLength(1);
  });
});

describe('a 57 refreshes once and resends', () => {
  it('refreshes, resends with the new token, succeeds', async () => {
    const s = setup({ api: queue(zohoError(401, 57, 'You are not authorized to perform this operation'), ok({ contact: CONTACT })) });
    await expect(settle(s.clock, s.books.contacts.get(CONTACT_ID))).resolves.toEqual(CONTACT);
    expect(s.zf.requests.map((r) => (r.path.startsWith('/oauth') ? 'token' : r.headers.authorization))).toEqual([
      'token', 'Zoho-oauthtoken access-1', 'token', 'Zoho-oauthtoken access-2',
    ]);
    expect(s.events.refresh).toEqual([{ ok: true }, { ok: true }]);
    expect(s.events.retry).toEqual([]);
  });

  it('a second 57 with the new token is an UnauthorizedError (no refresh loop)', async () => {
    const s = setup({ api: () => zohoError(401, 57, 'You are not authorized to perform this operation') });
    const error = await caught(s.clock, s.books.contacts.get(CONTACT_ID));
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error).toMatchObject({ kind: 'unauthorized', status: 401, code: 57, organizationId: ORG, request: { method: 'GET', url: CONTACT_URL }, retryable: false });
    expect(s.zf.token).toHaveLength(2);
    expect(s.zf.api).toHaveLength(2);
    expectNoSecrets(error, ['access-1', 'access-2']);
  });

  it('two requests refused with the same token cause one refresh', async () => {
    let revoked = false;
    let refused = 0;
    const s = setup({
      api: (r) => (revoked && r.headers.authorization === 'Zoho-oauthtoken access-1' ? (refused++, zohoError(401, 57)) : ok({ contact: CONTACT })),
    });
    await settle(s.clock, s.books.contacts.get(CONTACT_ID)); // access-1 cached
    revoked = true;
    const both = Promise.all([s.books.contacts.get(CONTACT_ID), s.books.contacts.get(CONTACT_ID)]);
    await expect(settle(s.clock, both)).resolves.toEqual([CONTACT, CONTACT]);
    expect(refused).toBe(2);
    expect(s.zf.token).toHaveLength(2);
    expect(s.zf.api.map((r) => r.headers.authorization)).toEqual([
      'Zoho-oauthtoken access-1', 'Zoho-oauthtoken access-1', 'Zoho-oauthtoken access-1', 'Zoho-oauthtoken access-2', 'Zoho-oauthtoken access-2',
    ]);
  });

  it('with a static access token a 57 is an UnauthorizedError and the accounts server is never called', async () => {
    const s = setup({ api: queue(zohoError(401, 57)) }, { credentials: { accessToken: '1000.static.abc' } });
    const error = await caught(s.clock, s.books.contacts.get(CONTACT_ID));
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(s.zf.token).toHaveLength(0);
    expect(s.zf.api[0]?.headers.authorization).toBe('Zoho-oauthtoken 1000.static.abc');
    expectNoSecrets(error, ['1000.static.abc']);
  });

  it('an invalid refresh token surfaces as AuthError before any API call', async () => {
    const s = setup({ token: () => ({ status: 200, body: { error: 'invalid_code' } }) });
    const error = await caught(s.clock, s.books.contacts.get(CONTACT_ID));
    expect(error).toMatchObject({ name: 'AuthError', oauthError: 'invalid_code' });
    expect(s.zf.api).toHaveLength(0);
    expectNoSecrets(error, []);
  });
});

describe('hooks', () => {
  it('onRequest, onResponse, onRetry and onRefresh fire with the right data', async () => {
    const clock = createFakeClock();
    const answers: Answer[] = [zohoError(503, 1000, 'Internal error'), ok({ contact: CONTACT })];
    const s = setup({ api: async () => (await clock.sleep(250), answers.shift()) }, { clock });
    await settle(s.clock, s.books.contacts.get(CONTACT_ID));
    const info = { method: 'GET', path: `/contacts/${CONTACT_ID}`, organizationId: ORG };
    expect(s.events.request).toEqual([{ ...info, attempt: 1 }, { ...info, attempt: 2 }]);
    expect(s.events.response).toEqual([
      { ...info, attempt: 1, status: 503, code: 1000, durationMs: 250, outcome: 'response' },
      { ...info, attempt: 2, status: 200, code: 0, durationMs: 250, outcome: 'response' },
    ]);
    expect(s.events.retry).toEqual([{ ...info, attempt: 1, delayMs: 375, reason: 'HTTP 503' }]);
    expect(s.events.refresh).toEqual([{ ok: true }]);
    expect(s.clock.now() - s.t0).toBe(250 + 375 + 250);
  });
});

describe('limits in the request path', () => {
  it('a 44 pauses the organization: the retry goes out when the window reopens', async () => {
    const clock = createFakeClock();
    const sentAt: number[] = [];
    const answers: Answer[] = [zohoError(429, 44, 'The organization has exceeded the maximum number of requests per minute.'), ok({ contact: CONTACT })];
    const s = setup({ api: () => (sentAt.push(clock.now()), answers.shift()) }, { clock });
    await expect(settle(s.clock, s.books.contacts.get(CONTACT_ID))).resolves.toEqual(CONTACT);
    expect(sentAt.map((t) => t - s.t0)).toEqual([0, 61_000]);
    expect(s.events.retry).toEqual([
      { method: 'GET', path: `/contacts/${CONTACT_ID}`, organizationId: ORG, attempt: 1, delayMs: 0, reason: 'per-minute limit: wait for the next window' },
    ]);
    expect(s.events.throttle).toEqual([{ organizationId: ORG, waitedMs: 61_000 }]);
  });

  it('a 45 is a QuotaExhaustedError with the reset time; later calls fail locally without a request until the reset', async () => {
    const s = setup({ api: queue(zohoError(429, 45, 'The API call for this organization has exceeded the maximum call rate limit of 1000.', { 'x-rate-limit-reset': '600' }), ok({ contact: CONTACT })) });
    const first = await caught(s.clock, s.books.contacts.get(CONTACT_ID));
    expect(first).toBeInstanceOf(QuotaExhaustedError);
    expect(first).toMatchObject({ status: 429, code: 45, local: false, resetAt: s.t0 + 600_000, organizationId: ORG, retryable: false });
    expect(s.zf.api).toHaveLength(1);
    const second = await caught(s.clock, s.books.contacts.get(CONTACT_ID));
    expect(second).toBeInstanceOf(QuotaExhaustedError);
    expect(second).toMatchObject({ local: true, resetAt: s.t0 + 600_000 });
    expect(s.zf.api).toHaveLength(1);
    await s.clock.advance(600_000);
    await expect(settle(s.clock, s.books.contacts.get(CONTACT_ID))).resolves.toEqual(CONTACT);
    expect(s.zf.api).toHaveLength(2);
  });

  it('the daily headroom refuses locally before the API is called', async () => {
    let remaining = 52;
    const s = setup({ api: () => ok({ contact: CONTACT }, { 'x-rate-limit-limit': '1000', 'x-rate-limit-remaining': String(--remaining), 'x-rate-limit-reset': '3600' }) });
    await settle(s.clock, s.books.contacts.get(CONTACT_ID)); // 51 left
    await settle(s.clock, s.books.contacts.get(CONTACT_ID)); // 50 left = the 5 % kept for others
    expect(s.books.limits().quota).toEqual({ limit: 1000, remaining: 50, resetAt: s.t0 + 3_600_000 });
    const error = await caught(s.clock, s.books.contacts.get(CONTACT_ID));
    expect(error).toBeInstanceOf(QuotaExhaustedError);
    expect(error).toMatchObject({ local: true, resetAt: s.t0 + 3_600_000, organizationId: ORG });
    expect(s.zf.api).toHaveLength(2);
  });
});

describe('pagination', () => {
  it('follows has_more_page with per_page=200 and sends only known filters', async () => {
    const pages: Record<string, { ids: string[]; more: boolean }> = {
      '1': { ids: ['460000000000001', '460000000000002'], more: true },
      '2': { ids: ['460000000000003', '460000000000004'], more: true },
      '3': { ids: ['460000000000005'], more: false },
    };
    const s = setup({
      api: (r) => {
        const page = pages[r.query.page as string] as { ids: string[]; more: boolean };
        return ok({ contacts: page.ids.map((contact_id) => ({ contact_id })), page_context: { page: Number(r.query.page), per_page: 200, has_more_page: page.more } });
      },
    });
    const all = await settle(s.clock, s.books.contacts.list({ filterBy: 'Status.Active', sortColumn: 'created_time' }).toArray());
    expect(all.map((c) => c.contact_id)).toEqual(['460000000000001', '460000000000002', '460000000000003', '460000000000004', '460000000000005']);
    expect(s.zf.api.map((r) => r.query)).toEqual(
      ['1', '2', '3'].map((page) => ({ organization_id: ORG, filter_by: 'Status.Active', sort_column: 'created_time', page, per_page: '200' })),
    );
    expect(s.zf.api.every((r) => r.path === '/books/v3/contacts')).toBe(true);
    expect(s.zf.token).toHaveLength(1);
  });

  it('per_page never exceeds 200, and a start page is honoured', async () => {
    const s = setup({ api: queue(ok({ contacts: [], page_context: { has_more_page: false } })) });
    await settle(s.clock, s.books.contacts.list({ perPage: 500, page: 4 }).toArray());
    expect(s.zf.api[0]?.query).toEqual({ organization_id: ORG, page: '4', per_page: '200' });
  });

  it('a list without page_context is one page', async () => {
    const s = setup({ api: queue(ok({ contacts: [{ contact_id: '460000000000001' }] })) });
    expect(await settle(s.clock, s.books.contacts.list().toArray())).toHaveLength(1);
    expect(s.zf.api).toHaveLength(1);
  });

  it('transaction lists page the same way', async () => {
    const s = setup({
      api: (r) => ok({ invoices: [{ invoice_id: `46000000000010${r.query.page}` }], page_context: { has_more_page: r.query.page === '1' } }),
    });
    const all = await settle(s.clock, s.books.invoices.list({ dateStart: '2025-01-01' }).toArray());
    expect(all).toHaveLength(2);
    expect(s.zf.api.map((r) => [r.path, r.query.page, r.query.per_page, r.query.date_start])).toEqual([
      ['/books/v3/invoices', '1', '200', '2025-01-01'],
      ['/books/v3/invoices', '2', '200', '2025-01-01'],
    ]);
  });
});

describe('status actions', () => {
  const INACTIVE_URL = `${API}/contacts/${CONTACT_ID}/inactive?organization_id=${ORG}`;

  it("markInactive: code 0 is 'changed'; a POST with no body", async () => {
    const s = setup({ api: queue(ok({ message: 'The contact has been marked as inactive.' })) });
    await expect(settle(s.clock, s.books.contacts.markInactive(CONTACT_ID))).resolves.toEqual({ contactId: CONTACT_ID, status: 'inactive', outcome: 'changed' });
    const api = s.zf.api[0] as RecordedRequest;
    expect(`${api.method} ${api.url}`).toBe(`POST ${INACTIVE_URL}`);
    expect(api.body).toBeUndefined();
  });

  it("markInactive: 3032 is 'unchanged', not an error, and not retried", async () => {
    const s = setup({ api: queue(zohoError(400, 3032, 'The contact is already inactive.')) });
    await expect(settle(s.clock, s.books.contacts.markInactive(CONTACT_ID))).resolves.toEqual({ contactId: CONTACT_ID, status: 'inactive', outcome: 'unchanged' });
    expect(s.zf.api).toHaveLength(1);
  });

  it("markInactive: code 0 on a contact already known to be inactive is 'unchanged'", async () => {
    const s = setup({ api: queue(ok()) });
    await expect(settle(s.clock, s.books.contacts.markInactive(CONTACT_ID, { knownStatus: 'inactive' }))).resolves.toEqual({
      contactId: CONTACT_ID, status: 'inactive', outcome: 'unchanged',
    });
  });

  it("markInactive: code 0 on a contact known to be active is 'changed'", async () => {
    const s = setup({ api: queue(ok()) });
    await expect(settle(s.clock, s.books.contacts.markInactive(CONTACT_ID, { knownStatus: 'active' }))).resolves.toMatchObject({ outcome: 'changed' });
  });

  it("markActive: 3031 is 'unchanged'", async () => {
    const s = setup({ api: queue(zohoError(400, 3031, 'The contact is already active.')) });
    await expect(settle(s.clock, s.books.contacts.markActive(CONTACT_ID))).resolves.toEqual({ contactId: CONTACT_ID, status: 'active', outcome: 'unchanged' });
    expect(s.zf.api[0]?.path).toBe(`/books/v3/contacts/${CONTACT_ID}/active`);
  });

  it('code 2 on a status action is NotFoundError', async () => {
    const s = setup({ api: queue(zohoError(400, 2, 'Invalid value passed for contact_id')) });
    const error = await caught(s.clock, s.books.contacts.markInactive(CONTACT_ID));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 400, code: 2, organizationId: ORG, request: { method: 'POST', url: INACTIVE_URL }, retryable: false });
    expect(s.zf.api).toHaveLength(1);
  });

  it('a malformed contact id fails before any request', async () => {
    const s = setup();
    await expect(s.books.contacts.markInactive('12345')).rejects.toBeInstanceOf(ValidationError);
    expect(s.zf.requests).toHaveLength(0);
  });
});
