/**
 * Several accounts in one emulator (issue 12, docs/emulator.md "Accounts"): accounts made by the
 * `accounts` option, each with its own organizations, self-client and refresh token; isolation
 * between them as Zoho isolates users (GET /organizations, 6041 on another account's organization,
 * grants, codes and refresh tokens that never cross); the default account unchanged. Over real
 * HTTP on loopback.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TRANSACTION_TYPES } from '../../src/zoho/index.js';
import { createEmulator, defaultCredentials, type AccountInfo, type EmulatorInfo, type EmulatorOptions } from '../../src/emulator/index.js';
import { startTestEmulator, tempDir, type TestEmulator } from '../helpers/emulator.js';

interface Organization {
  organization_id: string;
  name: string;
  is_default_org: boolean;
  time_zone: string;
  currency_code: string;
  plan_name: string;
}
interface Contact {
  contact_id: string;
  contact_name: string;
  status: string;
  created_time: string;
}
interface TokenBody {
  access_token?: string;
  refresh_token?: string;
  api_domain?: string;
  error?: string;
}

const NOT_ASSOCIATED = { code: 6041, message: 'This user is not associated with the organization_id' };
/** Mid-January: Berlin is at +01:00 and London at +00:00 (no summer time). */
const START = Date.UTC(2030, 0, 15, 12, 0, 0);

const ACME = {
  name: 'Acme Group',
  organizations: [
    { name: 'Acme GmbH', plan: 'standard' as const, currency: 'EUR', timeZone: 'Europe/Berlin', contacts: 30 },
    { name: 'Acme Ltd', plan: 'free' as const, currency: 'GBP', timeZone: 'Europe/London', contacts: 12 },
  ],
};

const running: TestEmulator[] = [];

afterEach(async () => {
  for (const t of running.splice(0)) await t.close();
});

async function start(options: EmulatorOptions = {}): Promise<TestEmulator> {
  const t = await startTestEmulator({ contacts: 40, startAt: START, limits: false, ...options });
  running.push(t);
  return t;
}

async function tokenCall(t: TestEmulator, params: Record<string, string>): Promise<{ status: number; body: TokenBody }> {
  const response = await fetch(`${t.origin}/oauth/v2/token`, { method: 'POST', body: new URLSearchParams(params) });
  return { status: response.status, body: (await response.json()) as TokenBody };
}

async function allContacts(t: TestEmulator, organization: string, token: string): Promise<Contact[]> {
  const out: Contact[] = [];
  for (let page = 1; ; page++) {
    const res = await t.call<{ contacts: Contact[]; page_context: { has_more_page: boolean } }>('GET', '/contacts', { organization, token, query: { per_page: 200, page } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    out.push(...res.body.contacts);
    if (!res.body.page_context.has_more_page) return out;
  }
}

async function organizationsSeenBy(t: TestEmulator, token: string): Promise<Organization[]> {
  const res = await t.call<{ organizations: Organization[] }>('GET', '/organizations', { organization: null, token });
  expect(res.status).toBe(200);
  return res.body.organizations;
}

/** Every Books call that names an organization: contacts (each kind) and every transaction type (list, get, create). */
function everyOrganizationCall(contactId: string, transactions: Record<string, string>): Array<[string, string, unknown]> {
  const calls: Array<[string, string, unknown]> = [
    ['GET', '/contacts', undefined],
    ['POST', '/contacts', { contact_name: 'Planted Elsewhere' }],
    ['GET', `/contacts/${contactId}`, undefined],
    ['PUT', `/contacts/${contactId}`, { phone: 'hijacked' }],
    ['DELETE', `/contacts/${contactId}`, undefined],
    ['POST', `/contacts/${contactId}/active`, undefined],
    ['POST', `/contacts/${contactId}/inactive`, undefined],
    ['GET', `/contacts/${contactId}/comments`, undefined],
  ];
  for (const info of Object.values(TRANSACTION_TYPES)) {
    calls.push(['GET', info.path, undefined]);
    calls.push(['GET', `${info.path}/${transactions[info.type] ?? '3185434000000000001'}`, undefined]);
    calls.push(['POST', info.path, { [info.contactIdField]: contactId, [info.amountField]: 10 }]);
  }
  return calls;
}

describe('accounts made by the accounts option', () => {
  it('leave the default account exactly as it is, and add accounts with their own organizations and credentials', async () => {
    const plain = await start();
    const t = await start({ accounts: [ACME, {}] });

    // The default account: the same info (but for the minted access token), the same organizations and contacts.
    const { accessToken: _a, accounts, ...defaultInfo } = t.info;
    const { accessToken: _b, ...plainInfo } = plain.info;
    const origin = (info: Omit<EmulatorInfo, 'accessToken'>, from: string, to: string): string => JSON.stringify(info).replaceAll(from, to);
    expect(origin(defaultInfo, t.origin, 'ORIGIN')).toBe(origin(plainInfo, plain.origin, 'ORIGIN'));
    expect(t.info.clientId).toBe(defaultCredentials(42).clientId);
    expect(t.info.organizations.map((o) => o.name)).toEqual(['Sunrise Traders Pvt Ltd', 'Harbor Supply Co']);
    for (const organization of t.organizations) {
      expect(await allContacts(t, organization, t.token)).toEqual(await allContacts(plain, organization, plain.token));
    }
    expect(plain.info.accounts).toBeUndefined();

    // Three accounts, the default first; info lists the same as the admin API.
    expect(accounts).toBeDefined();
    expect(accounts).toEqual(await t.accounts());
    const [first, acme, generated] = accounts as [AccountInfo, AccountInfo, AccountInfo];
    expect(accounts).toHaveLength(3);
    expect(first).toMatchObject({ clientId: t.info.clientId, clientSecret: t.info.clientSecret, refreshToken: t.info.refreshToken });
    expect(first.organizations.map((o) => o.organization_id)).toEqual(t.organizations);
    expect(acme.name).toBe('Acme Group');
    expect(acme.organizations.map(({ organization_id: _, ...o }) => o)).toEqual([
      { name: 'Acme GmbH', plan: 'standard', currency_code: 'EUR', time_zone: 'Europe/Berlin' },
      { name: 'Acme Ltd', plan: 'free', currency_code: 'GBP', time_zone: 'Europe/London' },
    ]);
    expect(generated.name).toBe('Client account 2');
    expect(generated.organizations).toHaveLength(2);

    // Ids are numeric strings, all distinct; credentials are distinct per account.
    const organizationIds = accounts!.flatMap((a) => a.organizations.map((o) => o.organization_id));
    for (const id of organizationIds) expect(id).toMatch(/^\d{9,10}$/);
    expect(new Set(organizationIds).size).toBe(6);
    for (const a of accounts!) expect(a.account_id).toMatch(/^\d{11}$/);
    for (const key of ['account_id', 'clientId', 'clientSecret', 'refreshToken'] as const) {
      expect(new Set(accounts!.map((a) => a[key])).size, key).toBe(3);
    }
    expect(acme.clientId).toMatch(/^1000\.[0-9A-F]{30}$/);
    expect(acme.refreshToken).toMatch(/^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$/);

    // Each account's refresh token gives a token that lists that account's organizations, with their plans, currencies and zones.
    const acmeToken = await t.accessTokenFor(acme);
    const seen = await organizationsSeenBy(t, acmeToken);
    expect(seen.map((o) => [o.organization_id, o.name, o.plan_name, o.currency_code, o.time_zone, o.is_default_org])).toEqual([
      [acme.organizations[0]!.organization_id, 'Acme GmbH', 'Standard', 'EUR', 'Europe/Berlin', true],
      [acme.organizations[1]!.organization_id, 'Acme Ltd', 'Free', 'GBP', 'Europe/London', false],
    ]);
    const generatedToken = await t.accessTokenFor(generated);
    expect((await organizationsSeenBy(t, generatedToken)).map((o) => o.organization_id)).toEqual(generated.organizations.map((o) => o.organization_id));

    // Their contacts: as many as asked, in the organization's own offset.
    const gmbh = await allContacts(t, acme.organizations[0]!.organization_id, acmeToken);
    const ltd = await allContacts(t, acme.organizations[1]!.organization_id, acmeToken);
    expect(gmbh).toHaveLength(30);
    expect(ltd).toHaveLength(12);
    // (Offsets are fixed at creation today: +0100 and +0000 in January; a zone's summer offset is allowed for.)
    for (const c of gmbh) expect(c.created_time).toMatch(/\+0[12]00$/);
    for (const c of ltd) expect(c.created_time).toMatch(/\+0[01]00$/);
    expect(gmbh.some((c) => c.created_time.endsWith('+0100'))).toBe(true);
    // Generated organizations get a fifth of the seed's contacts (40 / 5, at least 10).
    for (const o of generated.organizations) expect(await allContacts(t, o.organization_id, generatedToken)).toHaveLength(10);
    expect((await t.admin('GET', '/__emulator/check')).body).toEqual({ ok: true, mismatches: [] });
  });

  it('are the same for the same random seed, and differ for another', async () => {
    const [a, b, c] = await Promise.all([
      start({ accounts: [ACME, {}], randomSeed: 7 }),
      start({ accounts: [ACME, {}], randomSeed: 7 }),
      start({ accounts: [ACME, {}], randomSeed: 8 }),
    ]);
    const [accountsA, accountsB, accountsC] = await Promise.all([a.accounts(), b.accounts(), c.accounts()]);
    expect(accountsB).toEqual(accountsA);
    expect(accountsC[1]!.clientId).not.toBe(accountsA[1]!.clientId);
    expect(accountsC[1]!.organizations[0]!.organization_id).not.toBe(accountsA[1]!.organizations[0]!.organization_id);
    const names = async (t: TestEmulator, account: AccountInfo): Promise<string[]> =>
      (await allContacts(t, account.organizations[0]!.organization_id, await t.accessTokenFor(account))).map((x) => x.contact_name);
    expect(await names(b, accountsB[1]!)).toEqual(await names(a, accountsA[1]!));
    expect(await names(c, accountsC[1]!)).not.toEqual(await names(a, accountsA[1]!));
  });

  it('refuses a bad spec with a message naming the field, and creates nothing', () => {
    const dir = tempDir();
    const cases: Array<[unknown, string]> = [
      [[{ organizations: [{ plan: 'gold' }] }], 'accounts[0].organizations[0].plan must be one of free, standard, professional, premium (got "gold")'],
      [[{}, { organizations: [{ name: 'Ok' }, { timeZone: 'Mars/Base' }] }], 'accounts[1].organizations[1].timeZone must be an IANA time zone like "Europe/Berlin" (got "Mars/Base")'],
      [[{ organizations: [] }], 'accounts[0].organizations must be an array of 1 to 20 organizations'],
      [[{ time_zone: 'UTC' }], 'accounts[0].unknown field "time_zone"; use name, organizations'],
      [['Acme'], 'accounts[0] must be an object'],
      ['Acme', 'accounts must be an array of account specs'],
    ];
    try {
      const db = join(dir.path, 'emulator.db');
      for (const [accounts, message] of cases) {
        expect(() => createEmulator({ db, accounts: accounts as EmulatorOptions['accounts'] }), JSON.stringify(accounts)).toThrow(message);
        expect(existsSync(db)).toBe(false);
      }
    } finally {
      dir.cleanup();
    }
  });
});

describe('createAccount in process', () => {
  it('makes the same account as the admin API, and checks its spec first', () => {
    const emulator = createEmulator({ contacts: 10, limits: false });
    try {
      expect(() => emulator.createAccount({ organizations: [{ name: 'Fine' }, { plan: 'gold' as never }] })).toThrow(
        'organizations[1].plan must be one of free, standard, professional, premium (got "gold")',
      );
      expect(emulator.accounts()).toHaveLength(1);
      const made = emulator.createAccount({ name: 'In Process', organizations: [{ name: 'Solo Org', contacts: 3 }] });
      expect(made.organizations.map((o) => o.name)).toEqual(['Solo Org']);
      expect(emulator.accounts()).toEqual([emulator.accounts()[0], made]);
      const contacts = emulator.store.db.prepare('SELECT COUNT(*) AS n FROM contacts WHERE organization_id = ?').get(made.organizations[0]!.organization_id);
      expect(contacts).toEqual({ n: 3 });
    } finally {
      emulator.close();
    }
  });
});

describe('isolation between accounts', () => {
  it('each token lists and reaches only its own account\'s organizations; any call on another account\'s is 400 code 6041 and changes nothing', async () => {
    const t = await start({ accounts: [ACME] });
    const [home, acme] = (await t.accounts()) as [AccountInfo, AccountInfo];
    const homeToken = t.token;
    const acmeToken = await t.accessTokenFor(acme);
    const acmeOrganization = acme.organizations[0]!.organization_id;

    expect((await organizationsSeenBy(t, homeToken)).map((o) => o.organization_id)).toEqual(home.organizations.map((o) => o.organization_id));
    expect((await organizationsSeenBy(t, acmeToken)).map((o) => o.organization_id)).toEqual(acme.organizations.map((o) => o.organization_id));

    // Without organization_id, each token's 6024 names only its own account's organizations.
    const missing = await t.call<{ code: number; error_info: Array<{ organization_id: string }> }>('GET', '/contacts', { organization: null, token: acmeToken });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe(6024);
    expect(missing.body.error_info.map((o) => o.organization_id)).toEqual(acme.organizations.map((o) => o.organization_id));

    // One victim per direction, with a transaction of each type where the contact type allows.
    const victims = [
      { organization: t.organization, token: homeToken, intruder: acmeToken },
      { organization: acmeOrganization, token: acmeToken, intruder: homeToken },
    ];
    for (const { organization, token, intruder } of victims) {
      const contacts = await allContacts(t, organization, token);
      const customer = (await t.call<{ contact: Contact }>('POST', '/contacts', { organization, token, body: { contact_name: 'Victim Customer' } })).body.contact;
      const transactions: Record<string, string> = {};
      const invoice = await t.call<{ invoice: { invoice_id: string } }>('POST', '/invoices', { organization, token, body: { customer_id: customer.contact_id, total: 50 } });
      expect(invoice.status).toBe(201);
      transactions.invoices = invoice.body.invoice.invoice_id;
      const before = {
        contact: (await t.call('GET', `/contacts/${customer.contact_id}`, { organization, token })).body,
        history: (await t.call('GET', `/contacts/${customer.contact_id}/comments`, { organization, token })).body,
        invoices: (await t.call('GET', '/invoices', { organization, token, query: { customer_id: customer.contact_id } })).body,
        count: contacts.length + 1,
      };

      for (const [method, path, body] of everyOrganizationCall(customer.contact_id, transactions)) {
        const res = await t.call(method, path, { organization, token: intruder, body });
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(res.body, `${method} ${path}`).toEqual(NOT_ASSOCIATED);
        expect(res.headers.get('x-rate-limit-limit'), `${method} ${path}`).toBeNull();
      }

      // Nothing changed, read back by the owner.
      expect((await t.call('GET', `/contacts/${customer.contact_id}`, { organization, token })).body).toEqual(before.contact);
      expect((await t.call('GET', `/contacts/${customer.contact_id}/comments`, { organization, token })).body).toEqual(before.history);
      expect((await t.call('GET', '/invoices', { organization, token, query: { customer_id: customer.contact_id } })).body).toEqual(before.invoices);
      expect(await allContacts(t, organization, token)).toHaveLength(before.count);
    }

    // An organization no account has, and one of the account outside the grant, stay 6024.
    expect((await t.call('GET', '/contacts', { organization: '999999999', token: acmeToken })).body).toMatchObject({ code: 6024, message: 'Invalid organization.' });
    const grant = await t.admin<{ code: string }>('POST', '/__emulator/grants', { client_id: acme.clientId, scopes: ['ZohoBooks.contacts.ALL'], organization_ids: [acmeOrganization] });
    expect(grant.status).toBe(200);
    const limited = await tokenCall(t, { grant_type: 'authorization_code', client_id: acme.clientId, client_secret: acme.clientSecret, code: grant.body.code });
    const limitedToken = limited.body.access_token as string;
    expect((await t.call('GET', '/contacts', { organization: acme.organizations[1]!.organization_id, token: limitedToken })).body).toMatchObject({ code: 6024 });
    expect((await t.call('GET', '/contacts', { organization: t.organization, token: limitedToken })).body).toEqual(NOT_ASSOCIATED);
    expect((await t.call('GET', '/contacts', { organization: acmeOrganization, token: limitedToken, query: { per_page: 1 } })).status).toBe(200);

    // The request log shows the refusals, and no token or secret.
    const log = await t.admin<{ requests: Array<{ code: number | null; organization_id: string | null }> }>('GET', '/__emulator/requests');
    expect(log.body.requests.filter((r) => r.code === 6041).length).toBeGreaterThan(2 * 30);
    for (const r of log.body.requests.filter((x) => x.code === 6041)) expect(r.organization_id).toBeNull();
    const logText = JSON.stringify(log.body);
    for (const secret of [acme.clientSecret, acme.refreshToken, acmeToken, limitedToken, homeToken, t.info.clientSecret, t.info.refreshToken]) {
      expect(logText).not.toContain(secret);
    }
  });

  it('grant codes, refresh tokens and clients never cross accounts', async () => {
    const t = await start({ accounts: [ACME] });
    const [home, acme] = (await t.accounts()) as [AccountInfo, AccountInfo];

    // A grant may only name organizations of its client's account.
    const crossed = await t.admin<{ error: string }>('POST', '/__emulator/grants', { client_id: acme.clientId, scopes: ['ZohoBooks.contacts.ALL'], organization_ids: [t.organization] });
    expect(crossed.status).toBe(400);
    expect(crossed.body.error).toBe(`organization_ids ${t.organization} belong to another account than client_id ${acme.clientId}; a grant reaches only its client's account`);

    // Acme's code, exchanged with the default account's client: invalid_code, and the code is not used up.
    const code = (await t.admin<{ code: string }>('POST', '/__emulator/grants', { client_id: acme.clientId, scopes: ['ZohoBooks.fullaccess.all'] })).body.code;
    const wrongClient = await tokenCall(t, { grant_type: 'authorization_code', client_id: home.clientId, client_secret: home.clientSecret, code });
    expect(wrongClient).toEqual({ status: 200, body: { error: 'invalid_code' } });
    const mixed = await tokenCall(t, { grant_type: 'authorization_code', client_id: acme.clientId, client_secret: home.clientSecret, code });
    expect(mixed).toEqual({ status: 200, body: { error: 'invalid_client' } });
    const own = await tokenCall(t, { grant_type: 'authorization_code', client_id: acme.clientId, client_secret: acme.clientSecret, code });
    expect(own.status).toBe(200);
    expect(own.body.api_domain).toBe(t.origin);
    expect((await organizationsSeenBy(t, own.body.access_token as string)).map((o) => o.organization_id)).toEqual(acme.organizations.map((o) => o.organization_id));
    // The default account's code, with Acme's client: refused too.
    const homeCode = (await t.admin<{ code: string }>('POST', '/__emulator/grants', { scopes: ['ZohoBooks.fullaccess.all'] })).body.code;
    expect(await tokenCall(t, { grant_type: 'authorization_code', client_id: acme.clientId, client_secret: acme.clientSecret, code: homeCode })).toEqual({ status: 200, body: { error: 'invalid_code' } });

    // Refresh tokens work only with their own client.
    const refresh = (account: AccountInfo, token: string): Promise<{ status: number; body: TokenBody }> =>
      tokenCall(t, { grant_type: 'refresh_token', client_id: account.clientId, client_secret: account.clientSecret, refresh_token: token });
    expect(await refresh(home, acme.refreshToken)).toEqual({ status: 200, body: { error: 'invalid_code' } });
    expect(await refresh(acme, home.refreshToken)).toEqual({ status: 200, body: { error: 'invalid_code' } });
    expect(await refresh(acme, own.body.refresh_token as string)).toMatchObject({ status: 200, body: { api_domain: t.origin } });
    expect(await refresh(home, own.body.refresh_token as string)).toEqual({ status: 200, body: { error: 'invalid_code' } });

    // Revoking Acme's refresh token leaves the default account's credentials working.
    const revoked = await fetch(`${t.origin}/oauth/v2/token/revoke`, { method: 'POST', body: new URLSearchParams({ token: acme.refreshToken }) });
    expect(await revoked.json()).toEqual({ status: 'success' });
    expect(await refresh(acme, acme.refreshToken)).toEqual({ status: 200, body: { error: 'invalid_code' } });
    expect((await refresh(home, home.refreshToken)).status).toBe(200);
    expect((await t.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);
  });
});

describe('the admin API: GET and POST /__emulator/accounts', () => {
  it('POST creates an account that works at once; GET and info list it after the default one', async () => {
    const t = await start();
    // The default account: the ready-made credentials, and the demo organizations as GET /organizations shows them.
    const demo = (await organizationsSeenBy(t, t.token)).map((o) => ({
      organization_id: o.organization_id,
      name: o.name,
      plan: o.plan_name.toLowerCase(),
      currency_code: o.currency_code,
      time_zone: o.time_zone,
    }));
    expect(demo.map((o) => o.organization_id)).toEqual(t.organizations);
    expect(await t.accounts()).toEqual([
      {
        account_id: expect.stringMatching(/^\d{11}$/) as unknown as string,
        name: 'Sunset Emulator',
        clientId: t.info.clientId,
        clientSecret: t.info.clientSecret,
        refreshToken: t.info.refreshToken,
        organizations: demo,
      },
    ]);
    const listing = await t.admin('GET', '/__emulator/accounts');
    expect(listing.body).toMatchObject({ dataCentre: null });

    const created = await t.admin<AccountInfo>('POST', '/__emulator/accounts', {
      name: '  Koala Books  ',
      organizations: [{ name: 'Koala Pty Ltd', plan: 'premium', currency: 'aud', timeZone: 'Australia/Sydney', contacts: 25 }, { contacts: 0 }],
    });
    expect(created.status).toBe(200);
    expect(Object.keys(created.body).sort()).toEqual(['account_id', 'clientId', 'clientSecret', 'name', 'organizations', 'refreshToken']);
    expect(created.body.name).toBe('Koala Books');
    expect(created.body.organizations[0]).toEqual({
      organization_id: expect.stringMatching(/^\d{9}$/) as unknown as string,
      name: 'Koala Pty Ltd',
      plan: 'premium',
      currency_code: 'AUD',
      time_zone: 'Australia/Sydney',
    });
    expect(created.body.organizations).toHaveLength(2);

    const accounts = await t.accounts();
    expect(accounts).toHaveLength(2);
    expect(accounts[1]).toEqual(created.body);
    const info = await t.admin<EmulatorInfo>('GET', '/__emulator/info');
    expect(info.body.accounts).toEqual(accounts);
    expect(info.body.clientId).toBe(t.info.clientId);
    expect(info.body.organizations.map((o) => o.organization_id)).toEqual(t.organizations);

    // Its refresh token works with its client; its organizations hold the contacts asked for, in Sydney's offset.
    const token = await t.accessTokenFor(created.body);
    expect((await organizationsSeenBy(t, token)).map((o) => o.organization_id)).toEqual(created.body.organizations.map((o) => o.organization_id));
    const koala = await allContacts(t, created.body.organizations[0]!.organization_id, token);
    expect(koala).toHaveLength(25);
    for (const c of koala) expect(c.created_time).toMatch(/\+1[01]00$/);
    expect(await allContacts(t, created.body.organizations[1]!.organization_id, token)).toEqual([]);
    // It is isolated like any other account.
    expect((await t.call('GET', '/contacts', { organization: created.body.organizations[0]!.organization_id })).body).toEqual(NOT_ASSOCIATED);
    expect((await t.call('GET', '/contacts', { organization: t.organization, token })).body).toEqual(NOT_ASSOCIATED);
    // The new account's contacts can be changed, and the derived amounts stay sound.
    const customer = (await t.call<{ contact: Contact }>('POST', '/contacts', { organization: created.body.organizations[1]!.organization_id, token, body: { contact_name: 'First Customer' } })).body.contact;
    expect((await t.call('POST', '/invoices', { organization: created.body.organizations[1]!.organization_id, token, body: { customer_id: customer.contact_id, total: 9 } })).status).toBe(201);
    expect((await t.admin('GET', '/__emulator/check')).body).toEqual({ ok: true, mismatches: [] });

    // An empty body is an account with two generated organizations.
    const generated = await t.admin<AccountInfo>('POST', '/__emulator/accounts');
    expect(generated.status).toBe(200);
    expect(generated.body.name).toBe('Client account 2');
    expect(generated.body.organizations).toHaveLength(2);
    expect(await t.accounts()).toHaveLength(3);
    // The admin calls are not in the request log (so neither are the secrets they return).
    const log = JSON.stringify((await t.admin('GET', '/__emulator/requests')).body);
    expect(log).not.toContain('/__emulator/accounts');
    expect(log).not.toContain(created.body.clientSecret);
  });

  it('refuses bad input with 400 and a message naming the field, and changes nothing', async () => {
    const t = await start();
    const created = await t.admin<AccountInfo>('POST', '/__emulator/accounts', { name: 'Existing' });
    expect(created.status).toBe(200);
    const before = await t.accounts();
    const organizationsBefore = (await t.admin<{ organizations: unknown[] }>('GET', '/__emulator/limits')).body.organizations;
    const cases: Array<[unknown, string]> = [
      [[{ name: 'x' }], 'the body must be a JSON object'],
      ['Acme', 'the body must be a JSON object'],
      [null, 'the body must be a JSON object'],
      [{ name: '' }, 'name must be a non-empty string of at most 100 characters'],
      [{ name: 'x'.repeat(101) }, 'name must be a non-empty string of at most 100 characters'],
      [{ name: 7 }, 'name must be a non-empty string of at most 100 characters'],
      [{ nam: 'Typo' }, 'unknown field "nam"; use name, organizations'],
      [{ organizations: [] }, 'organizations must be an array of 1 to 20 organizations (leave it out for two generated ones)'],
      [{ organizations: {} }, 'organizations must be an array of 1 to 20 organizations (leave it out for two generated ones)'],
      [{ organizations: Array.from({ length: 21 }, () => ({})) }, 'organizations must be an array of 1 to 20 organizations (leave it out for two generated ones)'],
      [{ organizations: ['Acme GmbH'] }, 'organizations[0] must be an object like {"name": "Acme GmbH", "plan": "standard", "currency": "EUR", "timeZone": "Europe/Berlin"}'],
      [{ organizations: [{ name: 'Fine' }, { plan: 'gold' }] }, 'organizations[1].plan must be one of free, standard, professional, premium (got "gold")'],
      [{ organizations: [{ currency: 'EURO' }] }, 'organizations[0].currency must be a three-letter ISO 4217 code like "EUR" (got "EURO")'],
      [{ organizations: [{ currency: 978 }] }, 'organizations[0].currency must be a three-letter ISO 4217 code like "EUR" (got 978)'],
      [{ organizations: [{ timeZone: 'Mars/Base' }] }, 'organizations[0].timeZone must be an IANA time zone like "Europe/Berlin" (got "Mars/Base")'],
      [{ organizations: [{ timeZone: '+05:30' }] }, 'organizations[0].timeZone must be an IANA time zone like "Europe/Berlin" (got "+05:30")'],
      [{ organizations: [{ contacts: -1 }] }, 'organizations[0].contacts must be a whole number from 0 to 100000 (got -1)'],
      [{ organizations: [{ contacts: 2.5 }] }, 'organizations[0].contacts must be a whole number from 0 to 100000 (got 2.5)'],
      [{ organizations: [{ contacts: 100_001 }] }, 'organizations[0].contacts must be a whole number from 0 to 100000 (got 100001)'],
      [{ organizations: [{ contacts: '5' }] }, 'organizations[0].contacts must be a whole number from 0 to 100000 (got "5")'],
      [{ organizations: [{ time_zone: 'Europe/Berlin' }] }, 'organizations[0].unknown field "time_zone"; use name, plan, currency, timeZone, contacts'],
    ];
    for (const [body, message] of cases) {
      const res = await t.admin<{ error: string }>('POST', '/__emulator/accounts', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body, JSON.stringify(body)).toEqual({ error: message });
    }
    const notJson = await fetch(`${t.origin}/__emulator/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": ' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: 'the body is not valid JSON' });
    const wrongMethod = await fetch(`${t.origin}/__emulator/accounts`, { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(await wrongMethod.json()).toEqual({ error: 'DELETE is not allowed on /__emulator/accounts; use GET or POST' });

    // Nothing was created: the same accounts, the same organizations.
    expect(await t.accounts()).toEqual(before);
    expect((await t.admin<{ organizations: unknown[] }>('GET', '/__emulator/limits')).body.organizations).toEqual(organizationsBefore);
    // And the next account is the one that would have come next.
    const next = await t.admin<AccountInfo>('POST', '/__emulator/accounts', {});
    expect(next.body.name).toBe('Client account 2');
  });

  it('reset keeps the accounts of the start-up options, the same, and removes those made since', async () => {
    const t = await start({ accounts: [ACME] });
    const startup = await t.accounts();
    const added = (await t.admin<AccountInfo>('POST', '/__emulator/accounts', { name: 'Temporary' })).body;
    expect(await t.accounts()).toHaveLength(3);
    const reset = await t.admin<EmulatorInfo>('POST', '/__emulator/reset');
    expect(reset.status).toBe(200);
    expect(reset.body.accounts).toEqual(startup);
    expect(await t.accounts()).toEqual(startup);
    // The removed account's credentials are gone with it; the kept ones work.
    expect((await tokenCall(t, { grant_type: 'refresh_token', client_id: added.clientId, client_secret: added.clientSecret, refresh_token: added.refreshToken })).body).toEqual({ error: 'invalid_client' });
    expect((await organizationsSeenBy(t, await t.accessTokenFor(startup[1]!))).map((o) => o.name)).toEqual(['Acme GmbH', 'Acme Ltd']);
    // POST /__emulator/seed re-makes them with the new random seed.
    const reseeded = await t.admin<EmulatorInfo>('POST', '/__emulator/seed', { randomSeed: 9 });
    expect(reseeded.body.accounts).toHaveLength(2);
    expect(reseeded.body.accounts![1]!.organizations.map((o) => o.name)).toEqual(['Acme GmbH', 'Acme Ltd']);
    expect(reseeded.body.accounts![1]!.clientId).not.toBe(startup[1]!.clientId);
  });
});

describe('data centres', () => {
  it('an emulator without one says none, and is as before', async () => {
    const t = await start();
    expect('dataCentre' in t.info).toBe(false);
    expect(t.info.clientId).toBe(defaultCredentials(42).clientId);
    expect((await t.admin('GET', '/__emulator/accounts')).body).toMatchObject({ dataCentre: null });
  });

  it('two emulators for two data centres share no credential, token or organization', async () => {
    const [eu, us] = await Promise.all([start({ dataCentre: 'EU', accounts: [{}] }), start({ dataCentre: 'US', accounts: [{}] })]);
    expect(eu.info.dataCentre).toBe('EU');
    expect(us.info.dataCentre).toBe('US');
    expect((await eu.admin('GET', '/__emulator/accounts')).body).toMatchObject({ dataCentre: 'EU' });
    // The same demo data, under other ids and credentials.
    expect(eu.info.organizations.map((o) => o.name)).toEqual(us.info.organizations.map((o) => o.name));
    expect(eu.info.clientId).toBe(defaultCredentials(42, 'EU').clientId);
    expect(eu.info.clientId).not.toBe(defaultCredentials(42).clientId);
    const euAccounts = await eu.accounts();
    const usAccounts = await us.accounts();
    const everything = (accounts: AccountInfo[]): string[] =>
      accounts.flatMap((a) => [a.account_id, a.clientId, a.clientSecret, a.refreshToken, ...a.organizations.map((o) => o.organization_id)]);
    expect(everything(euAccounts).filter((x) => everything(usAccounts).includes(x))).toEqual([]);

    // EU's credentials at the US accounts server, EU's token and organization at the US Books API: all refused.
    for (const account of euAccounts) {
      const res = await tokenCall(us, { grant_type: 'refresh_token', client_id: account.clientId, client_secret: account.clientSecret, refresh_token: account.refreshToken });
      expect(res).toEqual({ status: 200, body: { error: 'invalid_client' } });
      const withUsClient = await tokenCall(us, { grant_type: 'refresh_token', client_id: us.info.clientId, client_secret: us.info.clientSecret, refresh_token: account.refreshToken });
      expect(withUsClient).toEqual({ status: 200, body: { error: 'invalid_code' } });
    }
    const euToken = eu.token;
    expect((await us.call('GET', '/organizations', { organization: null, token: euToken })).body).toMatchObject({ code: 57 });
    expect((await us.call('GET', '/contacts', { organization: eu.organization })).body).toMatchObject({ code: 6024, message: 'Invalid organization.' });
    // At home, each works; the token response's api_domain is the emulator's own origin.
    const own = await tokenCall(eu, { grant_type: 'refresh_token', client_id: eu.info.clientId, client_secret: eu.info.clientSecret, refresh_token: eu.info.refreshToken });
    expect(own.body.api_domain).toBe(eu.origin);
    expect((await eu.call('GET', '/contacts', { token: own.body.access_token, query: { per_page: 1 } })).status).toBe(200);
  });

  it('an unknown data centre is refused before anything is made', () => {
    expect(() => createEmulator({ dataCentre: 'XX' as never })).toThrow('dataCentre must be one of US, EU, IN, AU, JP, CA, SA, CN (got "XX")');
  });
});
