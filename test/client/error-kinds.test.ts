/**
 * Every typed error of the Zoho Books client, each produced by a real emulator response (or a
 * real closed port, timeout or accounts-server refusal): its class and kind, HTTP status, Zoho
 * code, organization, `retryable`, and the redacted request. No error, serialised or as a message,
 * may carry the access token, the refresh token or the client secret.
 *
 * One emulator per test (closed in afterEach). Where a limit depends on the minute or the day, the
 * emulator's clock is frozen at a known instant so the expected values are exact.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AlreadyInStateError, AuthError, ConfigurationError, createMemoryTokenStore, errorFromOutcome, exchangeCode, InvalidOrganizationError,
  MethodNotAllowedError, NetworkError, NotFoundError, QuotaExhaustedError, RateLimitedError, revokeRefreshToken, ServerError,
  TimeoutError, UnauthorizedError, ValidationError, ZohoError, type ResponseInfo,
} from '../../src/client/index.js';
import type { ContactListItem } from '../../src/zoho/index.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createTestClient, emulatorTimeClock, type TestClient } from '../helpers/client.js';
import type { EmulatorOptions } from '../../src/emulator/index.js';

/** 06:00:05 UTC is 11:30:05 in the Professional organization (+05:30): its day resets in 44,995 s. */
const FROZEN_AT = '2026-03-02T06:00:05Z';
const FROZEN_MS = Date.UTC(2026, 2, 2, 6, 0, 5);
const ORG_MIDNIGHT_MS = Date.UTC(2026, 2, 2, 18, 30, 0);
const UNKNOWN_ID = '3185434999999999999';

interface LogEntry {
  method: string;
  path: string;
  status: number;
  code: number | null;
  fault: string | null;
  organization_id: string | null;
}

let t: TestEmulator | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function start(options: EmulatorOptions = {}): Promise<TestEmulator> {
  t = await startTestEmulator({ contacts: 20, startAt: FROZEN_MS, ...options });
  return t;
}

async function freezeClock(e: TestEmulator): Promise<void> {
  expect((await e.admin('POST', '/__emulator/clock', { freeze: true })).status).toBe(200);
  expect((await e.admin('POST', '/__emulator/clock', { set: FROZEN_AT })).status).toBe(200);
  expect(e.emulator.clock.now()).toBe(FROZEN_MS);
}

async function booksLog(e: TestEmulator, pathPrefix = '/books/v3/'): Promise<LogEntry[]> {
  const res = await e.admin<{ requests: LogEntry[] }>('GET', `/__emulator/requests?limit=100000&path_prefix=${encodeURIComponent(pathPrefix)}`);
  return res.body.requests;
}

async function activeContact(e: TestEmulator, type: 'customer' | 'vendor' = 'customer'): Promise<string> {
  const res = await e.call<{ contacts: ContactListItem[] }>('GET', '/contacts', { query: { filter_by: 'Status.Active', contact_type: type, per_page: 5 } });
  return (res.body.contacts[0] as ContactListItem).contact_id;
}

/**
 * A refresh token for a self-client grant, exchanged over raw HTTP. (The client's exchangeCode and
 * revokeRefreshToken wait out their whole timeout before returning; see the last describe block.)
 */
async function grantRefreshToken(e: TestEmulator, scopes: string[], organizationIds?: string[]): Promise<{ refreshToken: string; accessToken: string }> {
  const grant = await e.admin<{ code: string }>('POST', '/__emulator/grants', { scopes, organization_ids: organizationIds });
  const res = await fetch(`${e.info.accountsUrl}/oauth/v2/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: e.info.clientId, client_secret: e.info.clientSecret, code: grant.body.code }),
  });
  const body = (await res.json()) as { refresh_token: string; access_token: string };
  expect(typeof body.refresh_token).toBe('string');
  return { refreshToken: body.refresh_token, accessToken: body.access_token };
}

async function failure(promise: Promise<unknown>): Promise<ZohoError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ZohoError);
    return error as ZohoError;
  }
  throw new Error('expected the call to fail');
}

/** The fields every error carries, as a plain object. */
function fields(error: ZohoError): Record<string, unknown> {
  return {
    name: error.name, kind: error.kind, status: error.status, code: error.code, organizationId: error.organizationId,
    retryable: error.retryable, request: error.request,
  };
}

/** Serialised and as a message, the error names no secret, and it serialises its fields. */
async function expectNoSecrets(error: ZohoError, e: TestEmulator, client?: TestClient, extra: string[] = []): Promise<void> {
  const secrets = [e.info.clientSecret, e.info.refreshToken, e.info.accessToken, ...extra];
  if (client) {
    const held = await client.accessToken();
    if (held) secrets.push(held);
    if ('refreshToken' in client.credentials) secrets.push(client.credentials.refreshToken, client.credentials.clientSecret);
  }
  const json = JSON.stringify(error);
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThan(10);
    expect(json).not.toContain(secret);
    expect(error.message).not.toContain(secret);
    expect(String(error.stack)).not.toContain(secret);
  }
  const parsed = JSON.parse(json) as Record<string, unknown>;
  expect(parsed.kind).toBe(error.kind);
  expect(parsed.request).toEqual(error.request);
}

const url = (e: TestEmulator, path: string, organization = e.organization): string => `${e.baseUrl}${path}?organization_id=${organization}`;

describe('not found', () => {
  it('NotFoundError from 404 code 1002 on a read of an unknown contact', async () => {
    const e = await start();
    const tc = createTestClient(e);

    const error = await failure(tc.client.organization(e.organization).contacts.get(UNKNOWN_ID));

    expect(error).toBeInstanceOf(NotFoundError);
    expect(fields(error)).toEqual({
      name: 'NotFoundError', kind: 'not_found', status: 404, code: 1002, organizationId: e.organization, retryable: false,
      request: { method: 'GET', url: url(e, `/contacts/${UNKNOWN_ID}`) },
    });
    expect(error.message).toContain('Contact does not exist.');
    await expectNoSecrets(error, e, tc);
  });

  it('NotFoundError from 400 code 2 on a status action for an unknown contact', async () => {
    const e = await start();
    const tc = createTestClient(e);

    const error = await failure(tc.client.organization(e.organization).contacts.markActive(UNKNOWN_ID));

    expect(error).toBeInstanceOf(NotFoundError);
    expect(fields(error)).toEqual({
      name: 'NotFoundError', kind: 'not_found', status: 400, code: 2, organizationId: e.organization, retryable: false,
      request: { method: 'POST', url: url(e, `/contacts/${UNKNOWN_ID}/active`) },
    });
    await expectNoSecrets(error, e, tc);
  });
});

describe('unauthorized and invalid organization', () => {
  it('UnauthorizedError from 401 code 57 when the grant lacks the scope (after one refresh and resend)', async () => {
    const e = await start();
    const id = await activeContact(e);
    const exchanged = await grantRefreshToken(e, ['ZohoBooks.contacts.READ']);
    let refreshes = 0;
    const tc = createTestClient(e, {
      credentials: { clientId: e.info.clientId, clientSecret: e.info.clientSecret, refreshToken: exchanged.refreshToken },
      tokenStore: createMemoryTokenStore(),
      hooks: { onRefresh: () => void refreshes++ },
    });
    const books = tc.client.organization(e.organization);
    expect((await books.contacts.get(id)).contact_id).toBe(id); // READ is granted

    const error = await failure(books.contacts.markInactive(id));

    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(fields(error)).toEqual({
      name: 'UnauthorizedError', kind: 'unauthorized', status: 401, code: 57, organizationId: e.organization, retryable: false,
      request: { method: 'POST', url: url(e, `/contacts/${id}/inactive`) },
    });
    expect(refreshes).toBe(2);
    const log = (await booksLog(e, `/books/v3/contacts/${id}/inactive`)).map((r) => [r.status, r.code]);
    expect(log).toEqual([[401, 57], [401, 57]]);
    expect((await e.call<{ contact: { status: string } }>('GET', `/contacts/${id}`)).body.contact.status).toBe('active');
    await expectNoSecrets(error, e, tc, [exchanged.refreshToken, exchanged.accessToken]);
  });

  it('UnauthorizedError from 401 code 14 (no Authorization header: only reachable raw, classified by the factory)', async () => {
    const e = await start();
    const res = await e.call<unknown>('GET', '/contacts', { token: null });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ code: 14, message: 'The request could not be authenticated.' });

    const error = errorFromOutcome(
      { kind: 'response', status: res.status, headers: res.headers, body: res.body, text: JSON.stringify(res.body) },
      { request: { method: 'GET', url: url(e, '/contacts') }, organizationId: e.organization, now: FROZEN_MS },
    );

    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(fields(error)).toEqual({
      name: 'UnauthorizedError', kind: 'unauthorized', status: 401, code: 14, organizationId: e.organization, retryable: false,
      request: { method: 'GET', url: url(e, '/contacts') },
    });
    await expectNoSecrets(error, e);
  });

  it('InvalidOrganizationError from 400 code 6024 for an organization id the account does not have', async () => {
    const e = await start();
    const tc = createTestClient(e);

    const error = await failure(tc.client.organization('999999999').contacts.get(UNKNOWN_ID));

    expect(error).toBeInstanceOf(InvalidOrganizationError);
    expect(fields(error)).toEqual({
      name: 'InvalidOrganizationError', kind: 'invalid_organization', status: 400, code: 6024, organizationId: '999999999', retryable: false,
      request: { method: 'GET', url: url(e, `/contacts/${UNKNOWN_ID}`, '999999999') },
    });
    await expectNoSecrets(error, e, tc);
  });

  it('InvalidOrganizationError from 400 code 6024 for an organization outside the grant', async () => {
    const e = await start();
    const [first, second] = e.organizations as [string, string];
    const exchanged = await grantRefreshToken(e, ['ZohoBooks.fullaccess.all'], [second]);
    const tc = createTestClient(e, {
      credentials: { clientId: e.info.clientId, clientSecret: e.info.clientSecret, refreshToken: exchanged.refreshToken },
      tokenStore: createMemoryTokenStore(),
    });
    expect((await tc.client.organization(second).contacts.list({ perPage: 1 }).pages().next()).value?.items.length).toBe(1);

    const error = await failure(tc.client.organization(first).contacts.list({ perPage: 1 }).toArray());

    expect(error).toBeInstanceOf(InvalidOrganizationError);
    expect(fields(error)).toEqual({
      name: 'InvalidOrganizationError', kind: 'invalid_organization', status: 400, code: 6024, organizationId: first, retryable: false,
      request: { method: 'GET', url: `${e.baseUrl}/contacts?organization_id=${first}&page=1&per_page=1` },
    });
    await expectNoSecrets(error, e, tc, [exchanged.refreshToken, exchanged.accessToken]);
  });
});

describe('limits', () => {
  it('RateLimitedError from 429 code 44 once the attempts are used up against a per-minute limit', async () => {
    const e = await start();
    await freezeClock(e); // one emulated minute for the whole test
    const id = await activeContact(e);
    await e.admin('POST', '/__emulator/limits', { organizations: { [e.organization]: { perMinute: 2 } }, resetCounters: true });
    // The client's 44 pause lasts its window: 50 ms here instead of a minute.
    const tc = createTestClient(e, { retry: { maxAttempts: 2, baseDelayMs: 1 }, limits: { windowMs: 50 } });
    const books = tc.client.organization(e.organization);
    await books.contacts.get(id);
    await books.contacts.get(id);

    const error = await failure(books.contacts.get(id));

    expect(error).toBeInstanceOf(RateLimitedError);
    expect(fields(error)).toEqual({
      name: 'RateLimitedError', kind: 'rate_limited', status: 429, code: 44, organizationId: e.organization, retryable: true,
      request: { method: 'GET', url: url(e, `/contacts/${id}`) },
    });
    const limits = await e.admin<{ organizations: Array<{ organization_id: string; refused: Record<string, number> }> }>('GET', '/__emulator/limits');
    expect(limits.body.organizations.find((o) => o.organization_id === e.organization)?.refused).toEqual({ rate_limited: 2, quota_exhausted: 0, too_many_in_flight: 0 });
    await expectNoSecrets(error, e, tc);
  });

  it('RateLimitedError from 429 code 1070 when more requests are in flight than the organization allows', async () => {
    const e = await start({ baseLatencyMs: 150, limits: { inFlight: 1 } });
    const id = await activeContact(e);
    const tc = createTestClient(e, { retry: { maxAttempts: 1 }, limits: { inFlight: 5 } });
    await tc.client.organizations.list(); // takes the token first (an account-level call: no latency, no limits)
    const books = tc.client.organization(e.organization);

    const results = await Promise.allSettled(Array.from({ length: 5 }, () => books.contacts.get(id)));

    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ZohoError] : []));
    const successes = results.filter((r) => r.status === 'fulfilled').length;
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(successes).toBeGreaterThanOrEqual(1);
    for (const error of errors) {
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(fields(error)).toEqual({
        name: 'RateLimitedError', kind: 'rate_limited', status: 429, code: 1070, organizationId: e.organization, retryable: true,
        request: { method: 'GET', url: url(e, `/contacts/${id}`) },
      });
      await expectNoSecrets(error, e, tc);
    }
    const limits = await e.admin<{ organizations: Array<{ organization_id: string; refused: Record<string, number>; inFlight: { peak: number } }> }>('GET', '/__emulator/limits');
    const organization = limits.body.organizations.find((o) => o.organization_id === e.organization);
    expect(organization?.refused.too_many_in_flight).toBe(errors.length);
    expect(organization?.inFlight.peak).toBe(1);
  });

  it('QuotaExhaustedError from 429 code 45, with resetAt from X-Rate-Limit-Reset; then refused locally without a request', async () => {
    const e = await start();
    await freezeClock(e);
    const id = await activeContact(e);
    await e.admin('POST', '/__emulator/limits', { organizations: { [e.organization]: { daily: 1 } }, resetCounters: true });
    const raw1 = await e.call('GET', `/contacts/${id}`);
    expect(raw1.status).toBe(200);
    const raw2 = await e.call<{ code: number }>('GET', `/contacts/${id}`);
    expect([raw2.status, raw2.body.code, raw2.headers.get('x-rate-limit-reset')]).toEqual([429, 45, '44995']);
    const tc = createTestClient(e, { clock: emulatorTimeClock(e) });
    const books = tc.client.organization(e.organization);
    const before = (await booksLog(e)).length;

    const error = await failure(books.contacts.get(id));

    expect(error).toBeInstanceOf(QuotaExhaustedError);
    expect({ ...fields(error), resetAt: (error as QuotaExhaustedError).resetAt, local: (error as QuotaExhaustedError).local }).toEqual({
      name: 'QuotaExhaustedError', kind: 'quota_exhausted', status: 429, code: 45, organizationId: e.organization, retryable: false,
      request: { method: 'GET', url: url(e, `/contacts/${id}`) }, resetAt: ORG_MIDNIGHT_MS, local: false,
    });
    expect(error.message).toContain('maximum call rate limit of 1');
    expect((await booksLog(e)).length).toBe(before + 1); // not retried
    await expectNoSecrets(error, e, tc);

    const again = await failure(books.contacts.get(id));
    expect(again).toBeInstanceOf(QuotaExhaustedError);
    expect([again.organizationId, (again as QuotaExhaustedError).resetAt, (again as QuotaExhaustedError).local, again.retryable]).toEqual([e.organization, ORG_MIDNIGHT_MS, true, false]);
    expect((await booksLog(e)).length).toBe(before + 1); // refused without asking
  });

  it('QuotaExhaustedError refused locally to keep the daily headroom for other integrations', async () => {
    const e = await start();
    await freezeClock(e);
    const id = await activeContact(e);
    await e.admin('POST', '/__emulator/limits', { organizations: { [e.organization]: { daily: 5 } }, resetCounters: true });
    const tc = createTestClient(e, { clock: emulatorTimeClock(e), limits: { dailyHeadroom: 2 } });
    const books = tc.client.organization(e.organization);
    const before = (await booksLog(e)).length;
    // 5 a day, 2 kept back: the client sends 3 (remaining 4, 3, 2) and refuses the 4th.
    for (let i = 0; i < 3; i++) await books.contacts.get(id);

    const error = await failure(books.contacts.get(id));

    expect(error).toBeInstanceOf(QuotaExhaustedError);
    expect({ ...fields(error), resetAt: (error as QuotaExhaustedError).resetAt, local: (error as QuotaExhaustedError).local }).toEqual({
      name: 'QuotaExhaustedError', kind: 'quota_exhausted', status: undefined, code: undefined, organizationId: e.organization, retryable: false,
      // The error contract (src/client/errors.ts): every error carries the redacted request.
      request: { method: 'GET', url: url(e, `/contacts/${id}`) },
      resetAt: ORG_MIDNIGHT_MS, local: true,
    });
    expect((await booksLog(e)).length).toBe(before + 3);
    expect(tc.client.organization(e.organization).limits().quota).toEqual({ limit: 5, remaining: 2, resetAt: ORG_MIDNIGHT_MS });
    await expectNoSecrets(error, e, tc);
  });
});

describe('request errors', () => {
  it('MethodNotAllowedError from 405 code 37 (PUT on /contacts/{id}/active through client.request)', async () => {
    const e = await start();
    const id = await activeContact(e);
    const tc = createTestClient(e);

    const error = await failure(tc.client.request({ method: 'PUT', path: `/contacts/${id}/active`, organizationId: e.organization }));

    expect(error).toBeInstanceOf(MethodNotAllowedError);
    expect(fields(error)).toEqual({
      name: 'MethodNotAllowedError', kind: 'method_not_allowed', status: 405, code: 37, organizationId: e.organization, retryable: false,
      request: { method: 'PUT', url: url(e, `/contacts/${id}/active`) },
    });
    await expectNoSecrets(error, e, tc);
  });

  it('AlreadyInStateError from 400 code 3031 on a raw status request (the status methods turn it into "unchanged")', async () => {
    const e = await start();
    const id = await activeContact(e);
    const tc = createTestClient(e);

    const error = await failure(tc.client.request({ method: 'POST', path: `/contacts/${id}/active`, organizationId: e.organization, statusAction: true }));

    expect(error).toBeInstanceOf(AlreadyInStateError);
    expect(fields(error)).toEqual({
      name: 'AlreadyInStateError', kind: 'already_in_state', status: 400, code: 3031, organizationId: e.organization, retryable: false,
      request: { method: 'POST', url: url(e, `/contacts/${id}/active`) },
    });
    expect(await tc.client.organization(e.organization).contacts.markActive(id)).toEqual({ contactId: id, status: 'active', outcome: 'unchanged' });
    await expectNoSecrets(error, e, tc);
  });

  it('ValidationError from 400 code 1071: a contact with transactions cannot be deleted', async () => {
    const e = await start();
    const tc = createTestClient(e);
    const books = tc.client.organization(e.organization);
    const contact = await books.contacts.create({ contact_name: 'Has An Invoice' });
    await books.invoices.create({ customer_id: contact.contact_id, line_items: [{ name: 'x', rate: 10, quantity: 1 }] });

    const error = await failure(books.contacts.delete(contact.contact_id));

    expect(error).toBeInstanceOf(ValidationError);
    expect(fields(error)).toEqual({
      name: 'ValidationError', kind: 'validation', status: 400, code: 1071, organizationId: e.organization, retryable: false,
      request: { method: 'DELETE', url: url(e, `/contacts/${contact.contact_id}`) },
    });
    expect((await books.contacts.get(contact.contact_id)).has_transaction).toBe(true);
    await expectNoSecrets(error, e, tc);
  });

  it('ValidationError from 400 code 1072: no new invoice for an inactive contact', async () => {
    const e = await start();
    const tc = createTestClient(e);
    const books = tc.client.organization(e.organization);
    const contact = await books.contacts.create({ contact_name: 'Gone Quiet' });
    await books.contacts.markInactive(contact.contact_id);

    const error = await failure(books.invoices.create({ customer_id: contact.contact_id, line_items: [{ name: 'x', rate: 10, quantity: 1 }] }));

    expect(error).toBeInstanceOf(ValidationError);
    expect(fields(error)).toEqual({
      name: 'ValidationError', kind: 'validation', status: 400, code: 1072, organizationId: e.organization, retryable: false,
      request: { method: 'POST', url: url(e, '/invoices') },
    });
    expect(await books.invoices.list({ contactId: contact.contact_id }).toArray()).toEqual([]);
    await expectNoSecrets(error, e, tc);
  });

  it('ValidationError from 400 code 2 for a bad field value', async () => {
    const e = await start();
    const tc = createTestClient(e);
    const before = e.emulator.store.contacts.count(e.organization);

    const error = await failure(tc.client.organization(e.organization).contacts.create({ contact_name: 'Bad Email', email: 'not-an-email' }));

    expect(error).toBeInstanceOf(ValidationError);
    expect(fields(error)).toEqual({
      name: 'ValidationError', kind: 'validation', status: 400, code: 2, organizationId: e.organization, retryable: false,
      request: { method: 'POST', url: url(e, '/contacts') },
    });
    expect(error.message).toContain('Invalid value passed for email');
    expect(e.emulator.store.contacts.count(e.organization)).toBe(before);
    await expectNoSecrets(error, e, tc);
  });

  it('ConfigurationError and local ValidationError: refused before any request', async () => {
    const e = await start();
    const tc = createTestClient(e);
    const before = (await booksLog(e)).length;

    const config = await failure(tc.client.organization('org-one').contacts.get(UNKNOWN_ID));
    const local = await failure(tc.client.organization(e.organization).contacts.get('42'));

    expect(config).toBeInstanceOf(ConfigurationError);
    expect([config.kind, config.status, config.code, config.retryable]).toEqual(['configuration', undefined, undefined, false]);
    expect(local).toBeInstanceOf(ValidationError);
    expect([local.kind, local.status, local.code, local.retryable]).toEqual(['validation', undefined, undefined, false]);
    expect((await booksLog(e)).length).toBe(before);
    await expectNoSecrets(config, e, tc);
    await expectNoSecrets(local, e, tc);
  });
});

describe('server, network and timeout', () => {
  it('ServerError from injected 500s once the retries are used up', async () => {
    const e = await start();
    const id = await activeContact(e);
    await e.admin('POST', '/__emulator/faults', { faults: ['500,method=GET,path=/contacts/*'] });
    const tc = createTestClient(e, { retry: { maxAttempts: 3, baseDelayMs: 1 } });

    const error = await failure(tc.client.organization(e.organization).contacts.get(id));

    expect(error).toBeInstanceOf(ServerError);
    expect(fields(error)).toEqual({
      name: 'ServerError', kind: 'server', status: 500, code: 1000, organizationId: e.organization, retryable: true,
      request: { method: 'GET', url: url(e, `/contacts/${id}`) },
    });
    const log = await booksLog(e, `/books/v3/contacts/${id}`);
    expect(log.map((r) => [r.status, r.code, r.fault])).toEqual([[500, 1000, 'fault-1'], [500, 1000, 'fault-1'], [500, 1000, 'fault-1']]);
    await expectNoSecrets(error, e, tc);
  });

  it('NetworkError from a dropped connection on a create, which is not repeated', async () => {
    const e = await start();
    await e.admin('POST', '/__emulator/faults', { faults: ['drop,method=POST,path=/contacts'] });
    const responses: ResponseInfo[] = [];
    const tc = createTestClient(e, { retry: { maxAttempts: 5, baseDelayMs: 1 }, hooks: { onResponse: (r) => responses.push(r) } });
    const before = e.emulator.store.contacts.count(e.organization);

    const error = await failure(tc.client.organization(e.organization).contacts.create({ contact_name: 'Dropped On The Way' }));

    expect(error).toBeInstanceOf(NetworkError);
    expect(fields(error)).toEqual({
      name: 'NetworkError', kind: 'network', status: undefined, code: undefined, organizationId: e.organization, retryable: true,
      request: { method: 'POST', url: url(e, '/contacts') },
    });
    expect(responses.map((r) => [r.path, r.outcome, r.attempt])).toEqual([['/contacts', 'network', 1]]);
    expect((await booksLog(e, '/books/v3/contacts')).map((r) => [r.method, r.status, r.fault])).toEqual([['POST', 0, 'fault-1']]);
    expect(e.emulator.store.contacts.count(e.organization)).toBe(before);
    await expectNoSecrets(error, e, tc);
  });

  it('NetworkError from a closed port, retried (it never left) until the attempts are used up', async () => {
    const e = await start();
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address() as { port: number };
        server.close(() => resolve(address.port));
      });
    });
    const responses: ResponseInfo[] = [];
    const closedBase = `http://127.0.0.1:${port}/books/v3`;
    const tc = createTestClient(e, { baseUrl: closedBase, retry: { maxAttempts: 3, baseDelayMs: 1 }, hooks: { onResponse: (r) => responses.push(r) } });

    const error = await failure(tc.client.organization(e.organization).contacts.create({ contact_name: 'Nobody Home' }));

    expect(error).toBeInstanceOf(NetworkError);
    expect(fields(error)).toEqual({
      name: 'NetworkError', kind: 'network', status: undefined, code: undefined, organizationId: e.organization, retryable: true,
      request: { method: 'POST', url: `${closedBase}/contacts?organization_id=${e.organization}` },
    });
    expect(error.message).toContain('ECONNREFUSED');
    expect(responses.map((r) => [r.outcome, r.attempt])).toEqual([['network', 1], ['network', 2], ['network', 3]]);
    await expectNoSecrets(error, e, tc);
  });

  it('TimeoutError when the answer takes longer than timeoutMs', async () => {
    const e = await start();
    const id = await activeContact(e);
    await e.admin('POST', '/__emulator/faults', { faults: ['latency:400,method=GET,path=/contacts/*'] });
    const responses: ResponseInfo[] = [];
    const tc = createTestClient(e, { timeoutMs: 100, retry: { maxAttempts: 2, baseDelayMs: 1 }, hooks: { onResponse: (r) => responses.push(r) } });

    const error = await failure(tc.client.organization(e.organization).contacts.get(id));

    expect(error).toBeInstanceOf(TimeoutError);
    expect(fields(error)).toEqual({
      name: 'TimeoutError', kind: 'timeout', status: undefined, code: undefined, organizationId: e.organization, retryable: true,
      request: { method: 'GET', url: url(e, `/contacts/${id}`) },
    });
    expect(error.message).toContain('100 ms');
    expect(responses.map((r) => [r.outcome, r.attempt])).toEqual([['timeout', 1], ['timeout', 2]]);
    // Let the emulator finish the two slow requests before it is closed.
    for (let i = 0; i < 50 && (await booksLog(e, `/books/v3/contacts/${id}`)).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await booksLog(e, `/books/v3/contacts/${id}`)).length).toBe(2);
    await expectNoSecrets(error, e, tc);
  });
});

describe('accounts server', () => {
  it('AuthError invalid_code when the refresh token has been revoked', async () => {
    const e = await start();
    const revoked = await fetch(`${e.info.accountsUrl}/oauth/v2/token/revoke`, { method: 'POST', body: new URLSearchParams({ token: e.info.refreshToken }) });
    expect(await revoked.json()).toEqual({ status: 'success' });
    const refreshes: Array<{ ok: boolean; error?: string }> = [];
    const tc = createTestClient(e, { tokenStore: createMemoryTokenStore(), hooks: { onRefresh: (r) => refreshes.push(r) } });

    const error = await failure(tc.client.organization(e.organization).contacts.get(UNKNOWN_ID));

    expect(error).toBeInstanceOf(AuthError);
    expect({ ...fields(error), oauthError: (error as AuthError).oauthError }).toEqual({
      name: 'AuthError', kind: 'auth', status: undefined, code: undefined, organizationId: undefined, retryable: false,
      request: { method: 'POST', url: `${e.info.accountsUrl}/oauth/v2/token` }, oauthError: 'invalid_code',
    });
    expect(refreshes).toEqual([{ ok: false, error: 'invalid_code' }]);
    expect(await booksLog(e)).toEqual([]);
    await expectNoSecrets(error, e, tc);
  });
});

/**
 * exchangeCode and revokeRefreshToken must return when the accounts server answers. The emulator
 * answers in milliseconds; a 5 s test timeout is the failure signal (the functions' own timeout
 * is longer, so a client that waits it out fails here rather than passing slowly).
 */
describe('exchangeCode and revokeRefreshToken', () => {
  it('exchangeCode returns the tokens as soon as the accounts server answers', { timeout: 5_000 }, async () => {
    const e = await start();
    const grant = await e.admin<{ code: string }>('POST', '/__emulator/grants', { scopes: ['ZohoBooks.contacts.READ'] });

    const exchanged = await exchangeCode({
      accountsUrl: e.info.accountsUrl, clientId: e.info.clientId, clientSecret: e.info.clientSecret, code: grant.body.code, timeoutMs: 20_000,
    });

    expect(exchanged.scope).toBe('ZohoBooks.contacts.READ');
    expect(exchanged.expiresIn).toBe(3600);
    expect(exchanged.apiDomain).toBe(e.origin);
    expect(exchanged.refreshToken).toMatch(/^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$/);
  });

  it('exchangeCode refuses a used code with AuthError invalid_code, naming no secret', { timeout: 5_000 }, async () => {
    const e = await start();
    const grant = await e.admin<{ code: string }>('POST', '/__emulator/grants', { scopes: ['ZohoBooks.contacts.READ'] });
    const input = { accountsUrl: e.info.accountsUrl, clientId: e.info.clientId, clientSecret: e.info.clientSecret, code: grant.body.code, timeoutMs: 20_000 };
    await exchangeCode(input);

    const error = await failure(exchangeCode(input));

    expect(error).toBeInstanceOf(AuthError);
    expect({ ...fields(error), oauthError: (error as AuthError).oauthError }).toEqual({
      name: 'AuthError', kind: 'auth', status: undefined, code: undefined, organizationId: undefined, retryable: false,
      request: { method: 'POST', url: `${e.info.accountsUrl}/oauth/v2/token` }, oauthError: 'invalid_code',
    });
    await expectNoSecrets(error, e, undefined, [grant.body.code]);
  });

  it('revokeRefreshToken returns as soon as the accounts server answers', { timeout: 5_000 }, async () => {
    const e = await start();
    const { refreshToken } = await grantRefreshToken(e, ['ZohoBooks.contacts.READ']);

    expect(await revokeRefreshToken({ accountsUrl: e.info.accountsUrl, token: refreshToken })).toBe(true);

    const refused = await fetch(`${e.info.accountsUrl}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: e.info.clientId, client_secret: e.info.clientSecret, refresh_token: refreshToken }),
    });
    expect(await refused.json()).toEqual({ error: 'invalid_code' });
  });
});
