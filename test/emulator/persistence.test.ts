/**
 * The --db file (docs/emulator-fidelity.md "Approximated"): contacts, transactions, history, tokens
 * and the clock offset survive a restart; an existing file is not seeded again; a file of another
 * schema version is refused.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmulator, type AccountInfo, type EmulatorOptions } from '../../src/emulator/index.js';
import { startTestEmulator, tempDir, type TestEmulator } from '../helpers/emulator.js';

interface Contact {
  contact_id: string;
  contact_name: string;
  status: string;
}
interface Comment {
  description: string;
  operation_type: string;
}
interface ClockBody {
  epochMs: number;
  frozen: boolean;
}

const DAY = 86_400;

let dir: { path: string; cleanup: () => void };
let dbPath: string;
let running: TestEmulator | undefined;
/** The real clock under the emulated one, moved by the test (the emulator's `realNow` option). */
let realNow = Date.UTC(2030, 5, 1, 6, 0, 0);

beforeEach(() => {
  dir = tempDir();
  dbPath = join(dir.path, 'emulator.db');
  realNow = Date.UTC(2030, 5, 1, 6, 0, 0);
});

afterEach(async () => {
  try {
    await running?.close();
  } finally {
    running = undefined;
    dir.cleanup();
  }
});

async function open(options: EmulatorOptions = {}): Promise<TestEmulator> {
  running = await startTestEmulator({ db: dbPath, contacts: 40, tokenTtlSeconds: 3 * 365 * DAY, realNow: () => realNow, ...options });
  return running;
}

async function shut(): Promise<void> {
  await running?.close();
  running = undefined;
}

async function allContacts(t: TestEmulator, organization: string, token = t.token): Promise<Contact[]> {
  const out: Contact[] = [];
  for (let page = 1; ; page++) {
    const res = await t.call<{ contacts: Contact[]; page_context: { has_more_page: boolean } }>('GET', '/contacts', { organization, token, query: { per_page: 200, page } });
    expect(res.status).toBe(200);
    out.push(...res.body.contacts);
    if (!res.body.page_context.has_more_page) return out;
  }
}

async function refreshWith(t: TestEmulator): Promise<{ status: number; body: { access_token?: string; error?: string } }> {
  const res = await fetch(`${t.origin}/oauth/v2/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: t.info.clientId, client_secret: t.info.clientSecret, refresh_token: t.info.refreshToken }),
  });
  return { status: res.status, body: (await res.json()) as { access_token?: string; error?: string } };
}

describe('a --db file', () => {
  it('keeps status changes, history, transactions, tokens and the clock offset across a restart, without seeding again', async () => {
    let t = await open();
    const firstInfo = t.info;
    const before = await allContacts(t, t.organization);
    const beforeOrg2 = await allContacts(t, t.organizations[1] as string);
    expect(before).toHaveLength(40);
    const target = before.find((c) => c.status === 'active') as Contact;
    expect((await t.call('POST', `/contacts/${target.contact_id}/inactive`)).status).toBe(200);
    const fixture = await t.call<{ contact: Contact }>('POST', '/contacts', { body: { contact_name: 'Persisted Customer' } });
    const invoice = await t.call<{ invoice: { invoice_id: string; invoice_number: string } }>('POST', '/invoices', {
      body: { customer_id: fixture.body.contact.contact_id, total: 75 },
    });
    expect(invoice.status).toBe(201);
    const grantToken = await t.tokenFor(['ZohoBooks.contacts.READ']);
    const historyBefore = (await t.call<{ contact_comments: Comment[] }>('GET', `/contacts/${target.contact_id}/comments`)).body.contact_comments;
    expect(historyBefore[0]).toMatchObject({ description: 'Contact marked as inactive.', operation_type: 'Marked as Inactive' });

    expect((await t.admin('POST', '/__emulator/clock', { advanceSeconds: 400 * DAY })).status).toBe(200);
    const clockBefore = (await t.admin<ClockBody>('GET', '/__emulator/clock')).body;
    expect(clockBefore).toMatchObject({ epochMs: realNow + 400 * DAY * 1000, frozen: false });
    await shut();

    // An hour of real time passes while it is down; the emulated clock keeps its offset.
    realNow += 3_600_000;
    t = await open({ contacts: 5 });
    expect(t.info.clientId).toBe(firstInfo.clientId);
    expect(t.info.refreshToken).toBe(firstInfo.refreshToken);
    expect(t.organizations).toEqual(firstInfo.organizations.map((o) => o.organization_id));

    const clockAfter = (await t.admin<ClockBody>('GET', '/__emulator/clock')).body;
    expect(clockAfter.epochMs).toBe(clockBefore.epochMs + 3_600_000);
    expect(clockAfter.frozen).toBe(false);

    // Not seeded again: the same contacts plus ours, the second organization unchanged.
    const after = await allContacts(t, t.organization);
    expect(after).toHaveLength(41);
    expect(after.filter((c) => c.contact_id !== fixture.body.contact.contact_id).map((c) => c.contact_id).sort()).toEqual(before.map((c) => c.contact_id).sort());
    expect((await allContacts(t, t.organizations[1] as string)).map((c) => c.contact_id).sort()).toEqual(beforeOrg2.map((c) => c.contact_id).sort());

    const reread = await t.call<{ contact: Contact }>('GET', `/contacts/${target.contact_id}`);
    expect(reread.body.contact.status).toBe('inactive');
    const historyAfter = (await t.call<{ contact_comments: Comment[] }>('GET', `/contacts/${target.contact_id}/comments`)).body.contact_comments;
    expect(historyAfter).toEqual(historyBefore);
    expect((await t.call('POST', `/contacts/${target.contact_id}/inactive`)).body).toMatchObject({ code: 3032 });

    const inv = await t.call<{ invoice: { invoice_id: string; balance: number } }>('GET', `/invoices/${invoice.body.invoice.invoice_id}`);
    expect(inv.body.invoice.balance).toBe(75);
    const fixtureAfter = await t.call<{ contact: { outstanding_receivable_amount: number; has_transaction: boolean } }>('GET', `/contacts/${fixture.body.contact.contact_id}`);
    expect(fixtureAfter.body.contact).toMatchObject({ outstanding_receivable_amount: 75, has_transaction: true });
    // Document numbers carry on.
    const next = await t.call<{ invoice: { invoice_number: string } }>('POST', '/invoices', { body: { customer_id: fixture.body.contact.contact_id, total: 1 } });
    const n = Number(invoice.body.invoice.invoice_number.slice('INV-'.length));
    expect(next.body.invoice.invoice_number).toBe(`INV-${String(n + 1).padStart(6, '0')}`);

    // Tokens persist: the ready-made refresh token exchanges, a granted access token still works.
    const refreshed = await refreshWith(t);
    expect(refreshed.status).toBe(200);
    expect((await t.call('GET', '/contacts', { token: refreshed.body.access_token, query: { per_page: 1 } })).status).toBe(200);
    expect((await t.call('GET', '/contacts', { token: grantToken, query: { per_page: 1 } })).status).toBe(200);
    expect((await t.admin('GET', '/__emulator/check')).body).toEqual({ ok: true, mismatches: [] });
  });

  it('keeps a frozen clock frozen at the same instant', async () => {
    let t = await open();
    await t.admin('POST', '/__emulator/clock', { freeze: true });
    await t.admin('POST', '/__emulator/clock', { set: '2033-03-03T03:03:03Z' });
    await shut();
    realNow += 86_400_000;
    t = await open();
    expect((await t.admin<ClockBody>('GET', '/__emulator/clock')).body).toMatchObject({ epochMs: Date.UTC(2033, 2, 3, 3, 3, 3), frozen: true });
  });

  it('is created and seeded when the file does not exist yet', async () => {
    const t = await open({ contacts: 12 });
    expect(await allContacts(t, t.organization)).toHaveLength(12);
    await shut();
    const db = new Database(dbPath, { readonly: true });
    try {
      expect(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({ value: '1' });
      expect(db.prepare("SELECT COUNT(*) AS n FROM contacts").get()).toEqual({ n: 12 + 10 });
    } finally {
      db.close();
    }
  });

  it('of another schema version is refused with a clear error', async () => {
    await open();
    await shut();
    const db = new Database(dbPath);
    db.prepare("UPDATE meta SET value = '99' WHERE key = 'schema_version'").run();
    db.close();
    expect(() => createEmulator({ db: dbPath })).toThrow(
      `The emulator database ${dbPath} has schema version 99; this emulator needs 1. Use a new --db file.`,
    );
    // The file is left as it was.
    const check = new Database(dbPath, { readonly: true });
    try {
      expect(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({ value: '99' });
    } finally {
      check.close();
    }
  });
});

describe('accounts in a --db file', () => {
  it('survive a restart, made by option or by the admin API, with their credentials, data and isolation', async () => {
    let t = await open({ accounts: [{ name: 'Option Account' }] });
    const made = await t.admin<AccountInfo>('POST', '/__emulator/accounts', { name: 'Admin Account', organizations: [{ name: 'Admin Org', contacts: 15 }] });
    expect(made.status).toBe(200);
    const accounts = await t.accounts();
    expect(accounts.map((a) => a.name)).toEqual(['Sunset Emulator', 'Option Account', 'Admin Account']);
    const adminOrganization = made.body.organizations[0]!.organization_id;
    const token = await t.accessTokenFor(made.body);
    const target = (await allContacts(t, adminOrganization, token)).find((c) => c.status === 'active') as Contact;
    expect((await t.call('POST', `/contacts/${target.contact_id}/inactive`, { organization: adminOrganization, token })).status).toBe(200);
    await shut();

    // Started again without the option: the file's accounts, as they were.
    t = await open();
    expect(await t.accounts()).toEqual(accounts);
    expect(t.info.accounts).toEqual(accounts);
    const contacts = await allContacts(t, adminOrganization, token);
    expect(contacts).toHaveLength(15);
    expect(contacts.find((c) => c.contact_id === target.contact_id)?.status).toBe('inactive');
    // Each account's refresh token still works, for its own organizations only.
    for (const account of accounts) {
      const fresh = await t.accessTokenFor(account);
      const listed = await t.call<{ organizations: Array<{ organization_id: string }> }>('GET', '/organizations', { organization: null, token: fresh });
      expect(listed.body.organizations.map((o) => o.organization_id)).toEqual(account.organizations.map((o) => o.organization_id));
    }
    expect((await t.call('GET', '/contacts', { organization: adminOrganization })).body).toEqual({ code: 6041, message: 'This user is not associated with the organization_id' });
    expect((await t.call('GET', '/contacts', { organization: t.organization, token })).body).toMatchObject({ code: 6041 });

    // A reset goes back to the start-up seed the file recorded: the option's account, not the admin one.
    const reset = await t.admin<{ accounts: AccountInfo[] }>('POST', '/__emulator/reset');
    expect(reset.body.accounts.map((a) => a.name)).toEqual(['Sunset Emulator', 'Option Account']);
    expect(reset.body.accounts).toEqual(accounts.slice(0, 2));
  });

  it('keep the data centre the file was made for; another one is refused with a clear error', async () => {
    const eu = createEmulator({ db: dbPath, dataCentre: 'EU', contacts: 10 });
    const info = eu.info('http://x');
    eu.close();
    expect(info.dataCentre).toBe('EU');
    expect(() => createEmulator({ db: dbPath, dataCentre: 'US' })).toThrow(
      `The emulator database ${dbPath} stands for data centre EU; start it with --dc EU, or use another --db file.`,
    );
    for (const options of [{}, { dataCentre: 'EU' as const }]) {
      const again = createEmulator({ db: dbPath, ...options });
      try {
        const { accessToken: _, ...rest } = again.info('http://x');
        const { accessToken: __, ...before } = info;
        expect(rest).toEqual(before);
      } finally {
        again.close();
      }
    }
    const other = join(dir.path, 'none.db');
    createEmulator({ db: other, contacts: 10 }).close();
    expect(() => createEmulator({ db: other, dataCentre: 'IN' })).toThrow(
      `The emulator database ${other} stands for no data centre; start it without --dc, or use another --db file.`,
    );
  });

  it('a file written before accounts existed is the default account\'s, with its tokens and data', async () => {
    let t = await open();
    const before = t.info;
    const grantToken = await t.tokenFor(['ZohoBooks.contacts.READ']);
    const contacts = await allContacts(t, t.organization);
    await shut();
    // Take the file back to its shape before accounts: no accounts table, no account columns.
    const db = new Database(dbPath);
    db.exec('DROP TABLE accounts; ALTER TABLE organizations DROP COLUMN account_id; ALTER TABLE oauth_clients DROP COLUMN account_id;');
    db.close();

    t = await open();
    expect(t.info.clientId).toBe(before.clientId);
    expect(t.info.refreshToken).toBe(before.refreshToken);
    expect(t.info.organizations).toEqual(before.organizations);
    expect(t.info.accounts).toBeUndefined();
    const accounts = await t.accounts();
    expect(accounts).toHaveLength(1);
    expect(accounts[0]!.organizations.map((o) => o.organization_id)).toEqual(before.organizations.map((o) => o.organization_id));
    expect(await allContacts(t, t.organization, grantToken)).toEqual(contacts);
    expect((await refreshWith(t)).status).toBe(200);
    // New accounts come after it and are kept apart from it.
    const added = await t.admin<AccountInfo>('POST', '/__emulator/accounts', {});
    expect(added.status).toBe(200);
    expect((await t.call('GET', '/contacts', { organization: added.body.organizations[0]!.organization_id })).body).toMatchObject({ code: 6041 });
  });
});
