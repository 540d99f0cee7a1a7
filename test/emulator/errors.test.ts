/**
 * The error table of the reference (§5, with the decisions of §9) over real HTTP: one test per
 * row, asserting the HTTP status, the Zoho `code` and the message. Also the two auth schemes and
 * the `X-Rate-Limit-*` headers (§6).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';

interface Contact {
  contact_id: string;
  contact_name: string;
  status: string;
  last_modified_time: string;
  created_time: string;
}

const MESSAGES = {
  2: 'Invalid value passed for contact_id',
  14: 'The request could not be authenticated.',
  57: 'You are not authorized to perform this operation',
  5: 'Invalid URL Passed',
  1002: 'Contact does not exist.',
  37: 'The HTTP method is not allowed for the requested resource',
  3031: 'The contact is already active.',
  3032: 'The contact is already inactive.',
  6024: 'Invalid organization.',
  1071: 'The contact cannot be deleted as it has transactions associated with it. Mark it as inactive instead.',
  1072: 'The contact is inactive. Mark it as active to create new transactions.',
  44: 'The organization has exceeded the maximum number of requests per minute.',
  1070: 'You have reached the maximum number of in process requests allowed.',
  1000: 'Internal error',
} as const;

const err = (code: keyof typeof MESSAGES) => ({ code, message: MESSAGES[code] });
const UNKNOWN_ID = '9999999999999999999';
const DAY_MS = 86_400_000;

type EmulatorOptions = NonNullable<Parameters<typeof startTestEmulator>[0]>;

describe('errors', () => {
  let t: TestEmulator;
  let fixture = 0;

  function withEmulator(options: EmulatorOptions): void {
    beforeEach(async () => {
      t = await startTestEmulator(options);
      fixture = 0;
    });
    afterEach(async () => {
      await t.close();
    });
  }

  async function create(body: Record<string, unknown> = {}): Promise<Contact> {
    const res = await t.call<{ contact: Contact }>('POST', '/contacts', { body: { contact_name: `Qa Errors ${++fixture}`, ...body } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.contact;
  }

  async function get(id: string): Promise<Contact> {
    const res = await t.call<{ contact: Contact }>('GET', `/contacts/${id}`);
    expect(res.status).toBe(200);
    return res.body.contact;
  }

  async function clock(body: Record<string, unknown>): Promise<{ epochMs: number }> {
    const res = await t.admin<{ epochMs: number }>('POST', '/__emulator/clock', body);
    expect(res.status).toBe(200);
    return res.body;
  }

  async function limits(body: Record<string, unknown>): Promise<void> {
    const res = await t.admin('POST', '/__emulator/limits', body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }

  /** A self-client grant exchanged for tokens, keeping the refresh token (the harness keeps only the access token). */
  async function grant(scopes: string[]): Promise<{ access_token: string; refresh_token: string }> {
    const code = await t.admin<{ code: string }>('POST', '/__emulator/grants', { scopes });
    const res = await fetch(`${t.origin}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: t.info.clientId, client_secret: t.info.clientSecret, code: code.body.code }),
    });
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as { access_token: string; refresh_token: string };
    expect(typeof tokens.refresh_token).toBe('string');
    return tokens;
  }

  describe('with the default emulator', () => {
    withEmulator({ contacts: 40 });

    it('400 code 2: an invalid parameter value, and a status action on an unknown, deleted or malformed contact_id', async () => {
      const badFilter = await t.call('GET', '/contacts', { query: { filter_by: 'Status.Sleeping' } });
      expect(badFilter.status).toBe(400);
      expect(badFilter.body).toEqual({ code: 2, message: 'Invalid value passed for filter_by' });

      const deleted = await create();
      expect((await t.call('DELETE', `/contacts/${deleted.contact_id}`)).status).toBe(200);
      for (const id of [UNKNOWN_ID, deleted.contact_id, 'not-a-number', '42']) {
        for (const action of ['active', 'inactive']) {
          const res = await t.call('POST', `/contacts/${id}/${action}`);
          expect(res.status, `${action} ${id}`).toBe(400);
          expect(res.body, `${action} ${id}`).toEqual(err(2));
        }
      }
    });

    it('401 code 14: no Authorization header', async () => {
      const c = await create();
      for (const [method, path] of [['GET', '/contacts'], ['GET', `/contacts/${c.contact_id}`], ['POST', `/contacts/${c.contact_id}/inactive`]] as const) {
        const res = await t.call(method, path, { token: null });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.body, `${method} ${path}`).toEqual(err(14));
      }
      expect((await get(c.contact_id)).status).toBe('active');
    });

    it('401 code 57: an unknown token', async () => {
      for (const token of ['1000.0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef', 'garbage']) {
        const res = await t.call('GET', '/contacts', { token });
        expect(res.status).toBe(401);
        expect(res.body).toEqual(err(57));
      }
    });

    it('401 code 57: a token expired through POST /__emulator/tokens/expire', async () => {
      const other = await t.tokenFor(['ZohoBooks.fullaccess.all']);
      expect((await t.call('GET', '/contacts')).status).toBe(200);
      const expired = await t.admin('POST', '/__emulator/tokens/expire', { access_token: t.token });
      expect(expired.status).toBe(200);
      const res = await t.call('GET', '/contacts');
      expect(res.status).toBe(401);
      expect(res.body).toEqual(err(57));
      // Only that token expired.
      expect((await t.call('GET', '/contacts', { token: other })).status).toBe(200);
    });

    it('401 code 57: a token expired by the emulated clock (3600 s lifetime)', async () => {
      const c = await create();
      await clock({ advanceSeconds: 3601 });
      for (const [method, path] of [['GET', '/contacts'], ['POST', `/contacts/${c.contact_id}/inactive`]] as const) {
        const res = await t.call(method, path);
        expect(res.status, path).toBe(401);
        expect(res.body, path).toEqual(err(57));
      }
      const fresh = await t.tokenFor(['ZohoBooks.fullaccess.all']);
      const res = await t.call<{ contact: Contact }>('GET', `/contacts/${c.contact_id}`, { token: fresh });
      expect(res.status).toBe(200);
      expect(res.body.contact.status).toBe('active');
    });

    it('401 code 57: a token whose refresh token was revoked', async () => {
      const tokens = await grant(['ZohoBooks.contacts.ALL']);
      expect((await t.call('GET', '/contacts', { token: tokens.access_token })).status).toBe(200);
      const revoke = await fetch(`${t.origin}/oauth/v2/token/revoke?token=${encodeURIComponent(tokens.refresh_token)}`, { method: 'POST' });
      expect(revoke.status).toBe(200);
      expect(await revoke.json()).toEqual({ status: 'success' });

      const res = await t.call('GET', '/contacts', { token: tokens.access_token });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(err(57));
      // The revoked refresh token cannot mint another access token (HTTP 200, invalid_code).
      const refresh = await fetch(`${t.origin}/oauth/v2/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: t.info.clientId, client_secret: t.info.clientSecret, refresh_token: tokens.refresh_token }),
      });
      expect(refresh.status).toBe(200);
      expect(await refresh.json()).toEqual({ error: 'invalid_code' });
      // Other tokens are unaffected.
      expect((await t.call('GET', '/contacts')).status).toBe(200);
    });

    it('401 code 57: a token lacking the scope; contacts.CREATE or UPDATE may change status (§9)', async () => {
      const c = await create();
      const readOnly = await t.tokenFor(['ZohoBooks.contacts.READ']);
      expect((await t.call('GET', `/contacts/${c.contact_id}`, { token: readOnly })).status).toBe(200);
      const refusals: Array<[string, string, unknown]> = [
        ['POST', `/contacts/${c.contact_id}/inactive`, undefined],
        ['POST', `/contacts/${c.contact_id}/active`, undefined],
        ['PUT', `/contacts/${c.contact_id}`, { phone: '1' }],
        ['DELETE', `/contacts/${c.contact_id}`, undefined],
        ['POST', '/contacts', { contact_name: 'Read Only Attempt' }],
        ['POST', '/invoices', { customer_id: c.contact_id, total: 1 }],
      ];
      for (const [method, path, body] of refusals) {
        const res = await t.call(method, path, { token: readOnly, body });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.body, `${method} ${path}`).toEqual(err(57));
      }
      const deleteOnly = await t.tokenFor(['ZohoBooks.contacts.DELETE']);
      const del = await t.call('POST', `/contacts/${c.contact_id}/inactive`, { token: deleteOnly });
      expect(del.status).toBe(401);
      expect(del.body).toEqual(err(57));
      const read = await get(c.contact_id);
      expect(read.status).toBe('active');
      expect(read.last_modified_time).toBe(c.last_modified_time);

      const createOnly = await t.tokenFor(['ZohoBooks.contacts.CREATE']);
      const off = await t.call('POST', `/contacts/${c.contact_id}/inactive`, { token: createOnly });
      expect(off.status).toBe(200);
      expect(off.body).toEqual({ code: 0, message: 'The contact has been marked as inactive.' });
      expect((await get(c.contact_id)).status).toBe('inactive');
      const updateOnly = await t.tokenFor(['ZohoBooks.contacts.UPDATE']);
      const on = await t.call('POST', `/contacts/${c.contact_id}/active`, { token: updateOnly });
      expect(on.status).toBe(200);
      expect(on.body).toEqual({ code: 0, message: 'The contact has been marked as active.' });
      expect((await get(c.contact_id)).status).toBe('active');
    });

    it('404 code 5: an unknown URL path, before authentication', async () => {
      const c = await create();
      for (const path of ['/nothing', '/contact', `/contacts/${c.contact_id}/archive`, `/contacts/${c.contact_id}/active/now`]) {
        for (const token of [undefined, null]) {
          const res = await t.call('GET', path, { token });
          expect(res.status, path).toBe(404);
          expect(res.body, path).toEqual(err(5));
        }
      }
      const otherVersion = await t.call('GET', `${t.origin}/books/v2/contacts`);
      expect(otherVersion.status).toBe(404);
      expect(otherVersion.body).toEqual(err(5));
    });

    it('404 code 1002: read, update, delete or history of an unknown contact', async () => {
      for (const [method, path, body] of [
        ['GET', `/contacts/${UNKNOWN_ID}`, undefined],
        ['PUT', `/contacts/${UNKNOWN_ID}`, { phone: '1' }],
        ['DELETE', `/contacts/${UNKNOWN_ID}`, undefined],
        ['GET', `/contacts/${UNKNOWN_ID}/comments`, undefined],
      ] as const) {
        const res = await t.call(method, path, { body });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body, `${method} ${path}`).toEqual(err(1002));
      }
    });

    it('405 code 37 with an Allow header: GET, PUT or DELETE on /active and /inactive', async () => {
      const c = await create();
      for (const action of ['active', 'inactive']) {
        for (const method of ['GET', 'PUT', 'DELETE']) {
          const res = await t.call(method, `/contacts/${c.contact_id}/${action}`);
          expect(res.status, `${method} ${action}`).toBe(405);
          expect(res.body, `${method} ${action}`).toEqual(err(37));
          expect(res.headers.get('allow'), `${method} ${action}`).toBe('POST');
        }
      }
      // The method is checked before authentication.
      const anonymous = await t.call('GET', `/contacts/${c.contact_id}/inactive`, { token: null });
      expect(anonymous.status).toBe(405);
      expect(anonymous.body).toEqual(err(37));
      const patch = await t.call('PATCH', '/contacts');
      expect(patch.status).toBe(405);
      expect(patch.body).toEqual(err(37));
      expect(patch.headers.get('allow')?.split(/,\s*/).sort()).toEqual(['GET', 'POST']);
      const read = await get(c.contact_id);
      expect(read.status).toBe('active');
      expect(read.last_modified_time).toBe(c.last_modified_time);
    });

    it('400 code 3031: mark active on an already active contact', async () => {
      const c = await create();
      const res = await t.call('POST', `/contacts/${c.contact_id}/active`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(err(3031));
      expect((await get(c.contact_id)).last_modified_time).toBe(c.last_modified_time);
    });

    it('400 code 3032: mark inactive on an already inactive contact', async () => {
      const c = await create();
      expect((await t.call('POST', `/contacts/${c.contact_id}/inactive`)).status).toBe(200);
      const res = await t.call('POST', `/contacts/${c.contact_id}/inactive`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(err(3032));
      expect((await get(c.contact_id)).status).toBe('inactive');
    });

    it('400 code 6024: organization_id missing with several organizations, or not one the token reaches', async () => {
      const [orgA, orgB] = t.organizations as [string, string];
      const missing = await t.call<Record<string, unknown>>('GET', '/contacts', { organization: null });
      expect(missing.status).toBe(400);
      expect(missing.body.code).toBe(6024);
      expect(missing.body.message).toBe('This user belongs to multiple organizations, hence the parameter organization_id is required.');
      expect(missing.body.error_info).toEqual([
        { organization_id: orgA, name: t.info.organizations[0]?.name, is_default_org: true },
        { organization_id: orgB, name: t.info.organizations[1]?.name, is_default_org: false },
      ]);
      for (const organization of ['123456789', 'abc']) {
        const res = await t.call<Record<string, unknown>>('GET', '/contacts', { organization });
        expect(res.status, organization).toBe(400);
        expect(res.body.code, organization).toBe(6024);
        expect(res.body.message, organization).toBe(MESSAGES[6024]);
      }
    });

    it('6041 row: an organization the user is not associated with answers 6024 in the emulator (§9), never 6041', async () => {
      const [orgA, orgB] = t.organizations as [string, string];
      const onlyA = await t.tokenFor(['ZohoBooks.contacts.ALL'], [orgA]);
      const res = await t.call<Record<string, unknown>>('GET', '/contacts', { organization: orgB, token: onlyA });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(6024);
      expect(res.body.message).toBe(MESSAGES[6024]);
      expect((await t.call('GET', '/contacts', { organization: orgA, token: onlyA })).status).toBe(200);
    });

    it('400 code 1071: delete of a contact that has transactions', async () => {
      const c = await create();
      const inv = await t.call('POST', '/invoices', { body: { customer_id: c.contact_id, total: 12.5 } });
      expect(inv.status).toBe(201);
      const res = await t.call('DELETE', `/contacts/${c.contact_id}`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(err(1071));
      expect((await get(c.contact_id)).contact_id).toBe(c.contact_id);
    });

    it('400 code 1072: a new invoice, sales order or bill for an inactive contact', async () => {
      const customer = await create();
      const vendor = await create({ contact_type: 'vendor' });
      for (const c of [customer, vendor]) expect((await t.call('POST', `/contacts/${c.contact_id}/inactive`)).status).toBe(200);
      for (const [path, body] of [
        ['/invoices', { customer_id: customer.contact_id, total: 10 }],
        ['/salesorders', { customer_id: customer.contact_id, total: 10 }],
        ['/bills', { vendor_id: vendor.contact_id, total: 10 }],
      ] as const) {
        const res = await t.call('POST', path, { body });
        expect(res.status, path).toBe(400);
        expect(res.body, path).toEqual(err(1072));
      }
    });

    it('429 code 44: more requests in a minute than the per-minute limit', async () => {
      const [orgA, orgB] = t.organizations as [string, string];
      await clock({ freeze: true });
      await limits({ perMinute: 3 });
      for (let i = 0; i < 3; i++) expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);
      const refused = await t.call('GET', '/contacts', { query: { per_page: 1 } });
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual(err(44));
      const refusedAction = await t.call('POST', `/contacts/${UNKNOWN_ID}/inactive`);
      expect(refusedAction.status).toBe(429);
      expect(refusedAction.body).toEqual(err(44));
      // The limit is per organization.
      expect((await t.call('GET', '/contacts', { organization: orgB, query: { per_page: 1 } })).status).toBe(200);
      // The next minute of the emulated clock admits again.
      await clock({ advanceSeconds: 60 });
      expect((await t.call('GET', '/contacts', { organization: orgA, query: { per_page: 1 } })).status).toBe(200);
    });

    it('429 code 45: the daily quota is used up, until the organization\'s midnight', async () => {
      await clock({ freeze: true });
      await limits({ daily: 2 });
      const first = await t.call('GET', '/contacts', { query: { per_page: 1 } });
      expect(first.status).toBe(200);
      expect(first.headers.get('x-rate-limit-limit')).toBe('2');
      expect(first.headers.get('x-rate-limit-remaining')).toBe('1');
      expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);
      const refused = await t.call('GET', '/contacts', { query: { per_page: 1 } });
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({ code: 45, message: 'The API call for this organization has exceeded the maximum call rate limit of 2.' });
      expect(refused.headers.get('x-rate-limit-remaining')).toBe('0');
      // Still refused a minute later (it is not the per-minute limit).
      await clock({ advanceSeconds: 60 });
      const stillRefused = await t.call<{ code: number }>('GET', '/contacts', { query: { per_page: 1 } });
      expect(stillRefused.status).toBe(429);
      expect(stillRefused.body.code).toBe(45);
      // After the organization's midnight the quota is fresh.
      const reset = Number(stillRefused.headers.get('x-rate-limit-reset'));
      expect(reset).toBeGreaterThan(0);
      await clock({ advanceSeconds: reset });
      const token = await t.tokenFor(['ZohoBooks.fullaccess.all']);
      const next = await t.call('GET', '/contacts', { token, query: { per_page: 1 } });
      expect(next.status).toBe(200);
      expect(next.headers.get('x-rate-limit-remaining')).toBe('1');
    });

    it('500 code 1000: an injected fault answers instead of the handler', async () => {
      const c = await create();
      const added = await t.admin('POST', '/__emulator/faults', {
        faults: ['500,count=1,path=/contacts', { kind: 'status', status: 500, count: 1, path: '/contacts/*/inactive' }],
      });
      expect(added.status).toBe(200);
      const list = await t.call('GET', '/contacts', { query: { per_page: 1 } });
      expect(list.status).toBe(500);
      expect(list.body).toEqual(err(1000));
      const action = await t.call('POST', `/contacts/${c.contact_id}/inactive`);
      expect(action.status).toBe(500);
      expect(action.body).toEqual(err(1000));
      expect((await get(c.contact_id)).status).toBe('active');
      // count=1: the next requests are handled.
      expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);
      expect((await t.call('POST', `/contacts/${c.contact_id}/inactive`)).status).toBe(200);
      expect((await get(c.contact_id)).status).toBe('inactive');
    });

    it('accepts both the Zoho-oauthtoken and the Bearer scheme', async () => {
      for (const scheme of ['Zoho-oauthtoken', 'Bearer']) {
        const res = await t.call<{ code: number; contacts: unknown[] }>('GET', '/contacts', {
          token: null, headers: { authorization: `${scheme} ${t.token}` }, query: { per_page: 2 },
        });
        expect(res.status, scheme).toBe(200);
        expect(res.body.code, scheme).toBe(0);
        expect(res.body.contacts.length, scheme).toBe(2);
      }
      const c = await create();
      const bearer = await t.call('POST', `/contacts/${c.contact_id}/inactive`, { token: null, headers: { authorization: `Bearer ${t.token}` } });
      expect(bearer.status).toBe(200);
      expect(bearer.body).toEqual({ code: 0, message: 'The contact has been marked as inactive.' });
    });

    it('X-Rate-Limit-Limit, -Remaining and -Reset are present and Remaining decreases', async () => {
      const [orgA, orgB] = t.organizations as [string, string];
      const { epochMs } = await clock({ freeze: true });
      const first = await t.call<{ contacts: Contact[] }>('GET', '/contacts', { organization: orgA, query: { per_page: 1 } });
      expect(first.status).toBe(200);
      expect(first.headers.get('x-rate-limit-limit')).toBe('5000'); // Professional plan
      expect(first.headers.get('x-rate-limit-remaining')).toBe('4999');

      // Seconds to the organization's midnight, from the frozen emulated clock and the org's offset.
      const stamp = (first.body.contacts[0] as Contact).created_time;
      const m = /([+-])(\d{2})(\d{2})$/.exec(stamp);
      expect(m).not.toBeNull();
      const offsetMs = (m?.[1] === '-' ? -1 : 1) * (Number(m?.[2]) * 60 + Number(m?.[3])) * 60_000;
      const local = (((epochMs + offsetMs) % DAY_MS) + DAY_MS) % DAY_MS;
      expect(first.headers.get('x-rate-limit-reset')).toBe(String(Math.ceil((DAY_MS - local) / 1000)));

      const second = await t.call('GET', '/contacts', { organization: orgA, query: { per_page: 1 } });
      expect(second.headers.get('x-rate-limit-remaining')).toBe('4998');
      const missing = await t.call('GET', `/contacts/${UNKNOWN_ID}`, { organization: orgA });
      expect(missing.status).toBe(404);
      expect(missing.headers.get('x-rate-limit-limit')).toBe('5000');
      expect(missing.headers.get('x-rate-limit-remaining')).toBe('4997');
      const other = await t.call('GET', '/contacts', { organization: orgB, query: { per_page: 1 } });
      expect(other.headers.get('x-rate-limit-limit')).toBe('1000'); // Free plan
      expect(other.headers.get('x-rate-limit-remaining')).toBe('999');
    });
  });

  describe('with 300 ms of processing per request and at most 2 in flight', () => {
    withEmulator({ contacts: 20, baseLatencyMs: 300, limits: { inFlight: 2 } });

    it('429 code 1070: too many requests in flight for the organization', async () => {
      const results = await Promise.all(
        Array.from({ length: 5 }, () => t.call<{ code: number; message: string }>('GET', '/contacts', { query: { per_page: 1 } })),
      );
      const ok = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status === 429);
      expect(ok.length).toBe(2);
      expect(refused.length).toBe(3);
      for (const r of refused) expect(r.body).toEqual(err(1070));
      for (const r of ok) expect(r.body.code).toBe(0);

      const counters = await t.admin<{ organizations: Array<{ organization_id: string; inFlight: { current: number; peak: number }; refused: { too_many_in_flight: number } }> }>(
        'GET', '/__emulator/limits',
      );
      const a = counters.body.organizations.find((o) => o.organization_id === t.organization);
      expect(a?.inFlight).toEqual({ current: 0, peak: 2 });
      expect(a?.refused.too_many_in_flight).toBe(3);
      // Once the first ones are answered, the next request is admitted.
      expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);
    });
  });
});
