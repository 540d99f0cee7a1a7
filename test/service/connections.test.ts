/**
 * The service on many connections (docs/agency.md, docs/service-api.md "Connections"): two
 * emulators stand for two data centres (EU with two accounts, IN with one); connections are added
 * through the API (an emulator's ready-made account, a refresh token, a self-client's grant code),
 * the organizations page lists every connection's organizations, each is scanned and planned
 * through its own connection (another account's token would answer 6041), a connection that fails
 * is shown with its error without hiding the others', and bad input is a 400 that keeps nothing.
 * Real parts throughout: the CLI's connection manager over the connection store, the service
 * in-process, the emulators over loopback HTTP; on SQLite and (the postgres project) PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountInfo } from '../../src/emulator/index.js';
import { emulatorTarget, type ConnectionStore, type Journal } from '../../src/engine/index.js';
import type { ConnectionsView, ConnectionTested, ConnectionView, OrganizationView } from '../../src/service/index.js';
import { startManagedService, type ManagedService } from '../helpers/connections.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { policyFor, startTestService, USER, type SignedIn } from '../helpers/service.js';

let eu: TestEmulator;
let india: TestEmulator;
let globex: AccountInfo;
let managed: ManagedService;
let journal: Journal;
let connections: ConnectionStore;
let session: SignedIn;
/** Every line the service logged. */
let logs: string[];

beforeAll(async () => {
  eu = await startTestEmulator({ contacts: 30, dataCentre: 'EU', accounts: [{}] });
  india = await startTestEmulator({ contacts: 30, dataCentre: 'IN' });
  globex = (await eu.accounts())[1]!;
  managed = await startManagedService();
  ({ journal, connections, session, logs } = managed);
}, 60_000);

afterAll(async () => {
  await managed?.close();
  await eu?.close();
  await india?.close();
});

const listConnections = async (): Promise<ConnectionsView> => {
  const r = await session.get<ConnectionsView>('/api/connections');
  expect(r.status, r.text).toBe(200);
  return r.json;
};
const organizations = async (): Promise<OrganizationView[]> => {
  const r = await session.get<OrganizationView[]>('/api/orgs');
  expect(r.status, r.text).toBe(200);
  return r.json;
};
/** Every secret any of the accounts has: none may appear in an answer. */
const secrets = (): string[] => [eu.info.clientSecret, eu.info.refreshToken, india.info.clientSecret, india.info.refreshToken, globex.clientSecret, globex.refreshToken];

describe('the service on many connections', () => {
  it('refuses bad input with a 400 that names the problem, and keeps nothing', async () => {
    for (const [body, message] of [
      [{}, /name the connection/],
      [{ name: 'bad name!', emulator: eu.origin }, /a connection's name is 1 to 40/],
      [{ name: 'x' }, /a data centre .* or an emulator's address/],
      [{ name: 'x', dataCentre: 'EU', emulator: eu.origin }, /one of them/],
      [{ name: 'x', dataCentre: 'MARS', clientId: '1000.X', clientSecret: 's', code: 'c' }, /dataCentre MARS is not one of US, EU, IN/],
      [{ name: 'x', dataCentre: 'EU', clientSecret: 's', code: 'c' }, /clientId/],
      [{ name: 'x', dataCentre: 'EU', clientId: '1000.X', code: 'c' }, /clientSecret/],
      [{ name: 'x', dataCentre: 'EU', clientId: '1000.X', clientSecret: 's' }, /either a grant code \(code\) .* or a refresh token/],
      [{ name: 'x', dataCentre: 'EU', clientId: '1000.X', clientSecret: 's', code: 'c', refreshToken: 'r' }, /one of them/],
      [{ name: 'x', emulator: 'not a url at all:::' }, /is not an address/],
      [{ name: 'x', emulator: eu.origin, clientSecret: 's' }, /clientId/],
      [{ name: 'x', dataCentre: 'EU', account: '1' }, /account names an emulator's account/],
      [{ name: 'x', emulator: eu.origin, password: 'p' }, /unknown field password/],
      [{ name: 7, emulator: eu.origin }, /name must be a string/],
    ] as const) {
      const r = await session.request<{ error: string }>('POST', '/api/connections', { body });
      expect(r.status, `${JSON.stringify(body)}: ${r.text}`).toBe(400);
      expect(r.json.error).toMatch(message);
    }
    const notJson = await session.request('POST', '/api/connections', { body: '[1]' });
    expect(notJson.status).toBe(400);
    // An unknown account of a real emulator: 400; a code the accounts server refuses: 400 with its answer.
    const noAccount = await session.request<{ error: string }>('POST', '/api/connections', { body: { name: 'x', emulator: eu.origin, account: '999' } });
    expect(noAccount.status, noAccount.text).toBe(400);
    expect(noAccount.json.error).toMatch(/has no account 999/);
    const badCode = await session.request<{ error: string }>('POST', '/api/connections', {
      body: { name: 'x', emulator: eu.origin, clientId: globex.clientId, clientSecret: globex.clientSecret, code: '1000.not-a-code' },
    });
    expect(badCode.status, badCode.text).toBe(400);
    expect(badCode.json.error).toMatch(/The grant code was not accepted, so nothing was kept: .+/);
    expect(badCode.text).not.toContain('1000.not-a-code');
    // A wrong secret with a real refresh token: the account refuses, Zoho's answer is passed on (502).
    const wrongSecret = await session.request<{ error: string }>('POST', '/api/connections', {
      body: { name: 'x', emulator: eu.origin, clientId: globex.clientId, clientSecret: 'not-the-secret', refreshToken: globex.refreshToken },
    });
    expect(wrongSecret.status, wrongSecret.text).toBe(502);
    expect(wrongSecret.json.error).toMatch(/The account did not answer, so nothing was kept/);
    // Nobody answers there.
    const nobody = await session.request<{ error: string }>('POST', '/api/connections', { body: { name: 'x', emulator: 'http://127.0.0.1:9' } });
    expect(nobody.status, nobody.text).toBe(502);
    expect(await listConnections()).toEqual({ managed: true, connections: [] });
    expect(await connections.list()).toEqual([]);
    expect(await organizations()).toEqual([]);
  });

  it('adds two connections on two data centres; the organizations page lists all four, each with its connection and target', async () => {
    const acme = await session.request<ConnectionView>('POST', '/api/connections', { body: { name: 'acme-eu', emulator: eu.origin } });
    expect(acme.status, acme.text).toBe(201);
    expect(acme.json).toMatchObject({ name: 'acme-eu', target: emulatorTarget(eu.info.baseUrl), dataCentre: null, createdBy: USER, testError: null, error: null });
    expect(acme.json.organizations.map((o) => o.organizationId).sort()).toEqual([...eu.organizations].sort());
    // A refresh token pasted with its self-client.
    const initech = await session.request<ConnectionView>('POST', '/api/connections', {
      body: { name: 'initech-in', emulator: india.origin, clientId: india.info.clientId, clientSecret: india.info.clientSecret, refreshToken: india.info.refreshToken },
    });
    expect(initech.status, initech.text).toBe(201);
    for (const text of [acme.text, initech.text]) for (const secret of secrets()) expect(text).not.toContain(secret);
    expect(initech.json.clientId).not.toBe(india.info.clientId);

    // The same name again, or the same account under another name: 409, nothing kept.
    const sameName = await session.request<{ error: string }>('POST', '/api/connections', { body: { name: 'acme-eu', emulator: india.origin } });
    expect(sameName.status, sameName.text).toBe(409);
    const sameAccount = await session.request<{ error: string }>('POST', '/api/connections', { body: { name: 'acme-again', emulator: eu.origin } });
    expect(sameAccount.status, sameAccount.text).toBe(409);
    expect(sameAccount.json.error).toMatch(/already belongs to the connection acme-eu/);

    const listed = await listConnections();
    expect(listed.connections.map((c) => [c.name, c.target, c.error])).toEqual([
      ['acme-eu', emulatorTarget(eu.info.baseUrl), null], ['initech-in', emulatorTarget(india.info.baseUrl), null],
    ]);
    for (const secret of secrets()) expect(JSON.stringify(listed)).not.toContain(secret);

    const orgs = await organizations();
    expect(orgs).toHaveLength(4);
    const byConnection = (name: string): string[] => orgs.filter((o) => o.connection === name).map((o) => o.organizationId).sort();
    expect(byConnection('acme-eu')).toEqual([...eu.organizations].sort());
    expect(byConnection('initech-in')).toEqual([...india.organizations].sort());
    for (const o of orgs) {
      expect(o.target).toBe(o.connection === 'acme-eu' ? emulatorTarget(eu.info.baseUrl) : emulatorTarget(india.info.baseUrl));
      expect(o.connectionError).toBeNull();
    }
  });

  it('scans and plans each organization through its own connection (a wrong one would answer 6041)', async () => {
    for (const organization of [...eu.organizations, ...india.organizations]) {
      const saved = await session.request('PUT', `/api/orgs/${organization}/policy`, { body: { text: policyFor(organization) } });
      expect(saved.status, saved.text).toBe(200);
      const started = await session.request<{ jobId: string }>('POST', `/api/orgs/${organization}/scan`);
      expect(started.status, started.text).toBe(202);
    }
    // Each job ends with a plan made against its organization's connection's target.
    const deadline = Date.now() + 60_000;
    let views: OrganizationView[] = [];
    while (Date.now() < deadline) {
      views = await organizations();
      if (views.every((o) => o.latestPlan !== null && o.activeJob === null)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const o of views) {
      expect(o.latestPlan, `organization ${o.organizationId} was planned`).not.toBeNull();
      const plan = (await journal.getPlan(o.latestPlan!.planId))!;
      expect(plan.target, o.organizationId).toBe(o.target);
    }
  });

  it('adds one by a self-client\'s grant code; one that fails is shown with its error without hiding the others; test and remove', async () => {
    const grant = await eu.admin<{ code: string }>('POST', '/__emulator/grants', {
      scopes: ['ZohoBooks.fullaccess.all'], organization_ids: globex.organizations.map((o) => o.organization_id), client_id: globex.clientId,
    });
    expect(grant.status).toBe(200);
    const added = await session.request<ConnectionView>('POST', '/api/connections', {
      body: { name: 'globex-eu', emulator: eu.origin, clientId: globex.clientId, clientSecret: globex.clientSecret, code: grant.body.code },
    });
    expect(added.status, added.text).toBe(201);
    expect(added.text).not.toContain(grant.body.code);
    expect(await organizations()).toHaveLength(6);

    // The account withdraws the refresh token the code was exchanged for: that connection fails.
    const token = (await connections.open('globex-eu'))!.refreshToken;
    const revoked = await fetch(`${eu.info.accountsUrl}/oauth/v2/token/revoke`, { method: 'POST', body: new URLSearchParams({ token }) });
    expect(revoked.status).toBe(200);
    const tested = await session.request<ConnectionTested>('POST', '/api/connections/globex-eu/test');
    expect(tested.status, tested.text).toBe(200);
    expect(tested.json).toMatchObject({ name: 'globex-eu', ok: false, error: expect.any(String) });
    expect(tested.json.connection.testError).toBe(tested.json.error);

    const orgs = await organizations();
    expect(orgs).toHaveLength(6);
    for (const o of orgs) {
      if (o.connection === 'globex-eu') expect(o.connectionError, o.organizationId).toEqual(expect.any(String));
      else expect(o.connectionError, o.organizationId).toBeNull();
    }
    const listed = await listConnections();
    expect(listed.connections.map((c) => [c.name, c.error === null])).toEqual([['acme-eu', true], ['globex-eu', false], ['initech-in', true]]);
    for (const secret of [...secrets(), token, grant.body.code]) expect(JSON.stringify([listed, orgs, tested.json, logs])).not.toContain(secret);
    expect(logs.join('')).toMatch(/connection added/);

    // A working one tests fine; removing one takes its organizations away at once; an unknown one is 404.
    const ok = await session.request<ConnectionTested>('POST', '/api/connections/acme-eu/test');
    expect(ok.json).toMatchObject({ name: 'acme-eu', ok: true, error: null });
    expect((await session.request('POST', '/api/connections/nobody/test')).status).toBe(404);
    const removed = await session.request('DELETE', '/api/connections/globex-eu');
    expect(removed.status, removed.text).toBe(200);
    expect((await session.request('DELETE', '/api/connections/globex-eu')).status).toBe(404);
    expect((await organizations()).map((o) => o.connection).sort()).toEqual(['acme-eu', 'acme-eu', 'initech-in', 'initech-in']);
    expect((await listConnections()).connections.map((c) => c.name)).toEqual(['acme-eu', 'initech-in']);
  });
});

describe('the service on the one connection it was started with', () => {
  it('lists no managed connections and refuses to add one (409)', async () => {
    const s = await startTestService({ contacts: 10 });
    try {
      const one = await s.login();
      expect((await one.get<ConnectionsView>('/api/connections')).json).toEqual({ managed: false, connections: [] });
      const add = await one.request<{ error: string }>('POST', '/api/connections', { body: { name: 'x', emulator: s.h.t.origin } });
      expect(add.status, add.text).toBe(409);
      expect(add.json.error).toMatch(/started with/);
      const orgs = (await one.get<OrganizationView[]>('/api/orgs')).json;
      for (const o of orgs) expect(o).not.toHaveProperty('connection');
    } finally {
      await s.close();
    }
  });
});
