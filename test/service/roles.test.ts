/**
 * People and access (docs/agency.md, "People: roles and access"), through the in-process service
 * against a real emulator: an admin groups the two organizations under two clients and invites an
 * approver limited to one client and a viewer; the invitation's link sets a password once; the
 * approver sees only their client's organization, plans, runs, events and audit rows (everything
 * else answers 404, as if it did not exist) and approves a plan; the viewer reads but cannot scan,
 * approve, undo or change settings (403 naming the role); the activity log names the person for
 * every approval (with the contacts it excluded), undo, settings change, grouping and user change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionView, InviteCreated, OrganizationView, PlanDetail, RunDetail, RunListItem, SessionView, UserListItem } from '../../src/service/index.js';
import { PASSWORD, passwordHash, policyFor, startTestService, until, type SignedIn, type SseStream, type TestService } from '../helpers/service.js';

let s: TestService;
let admin: SignedIn;
let acme: string;
let globex: string;
beforeAll(async () => {
  s = await startTestService({ contacts: 60 });
  admin = await s.login();
  [acme, globex] = s.organizations as [string, string];
});
afterAll(async () => s.close());

/** Invites a user through the API and accepts the invitation with the form, as the person would. */
async function invite(username: string, role: string, clients: string[] | null): Promise<SignedIn> {
  const made = await admin.request<InviteCreated>('POST', '/api/users', { body: { username, role, clients } });
  expect(made.status, made.text).toBe(201);
  expect(made.json.user).toMatchObject({ username, role, clients, signIn: 'open' });
  expect(made.json.user.invitedUntil).toBe(made.json.expiresAt);
  const path = new URL(made.json.inviteUrl).pathname;
  expect(path).toMatch(/^\/invite\/[A-Za-z0-9_-]{40,}$/);
  // Before the password is set, nothing signs in as them: not even an empty password.
  expect((await s.postLogin(username, '')).headers.get('location')).toBe('/login?error=1');
  const page = await s.fetch('GET', path);
  expect(page.status).toBe(200);
  expect(page.text).toContain(`data-testid="invite-username">${username}<`);
  const form = (password: string, again = password) => ({
    body: new URLSearchParams({ password, again }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: s.origin },
  });
  // The form is open (the link's token is the key) but refuses another site's post.
  const foreign = await s.fetch('POST', path, { body: new URLSearchParams({ password: PASSWORD, again: PASSWORD }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' } });
  expect(foreign.status).toBe(403);
  // A token that is not one: the page says the link does not work.
  expect((await s.fetch('GET', '/invite/not-a-real-token')).status).toBe(404);
  // A short password or two that differ: the page says so, nothing is set.
  const short = await s.fetch('POST', path, form('short'));
  expect(short.status).toBe(400);
  expect(short.text).toContain('at least 12 characters');
  expect((await s.fetch('POST', path, form(PASSWORD, `${PASSWORD}!`))).text).toContain('The two passwords differ');
  const accepted = await s.fetch('POST', path, form(PASSWORD));
  expect(accepted.status).toBe(303);
  expect(accepted.headers.get('set-cookie')).toMatch(/sunset_session=/);
  // Once only.
  const again = await s.fetch('POST', path, form(PASSWORD));
  expect(again.status).toBe(404);
  expect(again.text).toContain('does not work');
  return s.login(username, PASSWORD);
}

let approver: SignedIn;
let viewer: SignedIn;

describe('an admin groups organizations and invites people', () => {
  it('groups each organization under a client; bad names are refused and change nothing', async () => {
    for (const [organization, client] of [[acme, 'Acme Ltd'], [globex, 'Globex']] as const) {
      const r = await admin.request<OrganizationView>('PUT', `/api/orgs/${organization}/client`, { body: { client: `  ${client} ` } });
      expect(r.status, r.text).toBe(200);
      expect(r.json.client).toBe(client);
    }
    for (const body of [{ client: 42 }, { client: 'x'.repeat(81) }, { client: 'tab\there' }]) {
      const r = await admin.request('PUT', `/api/orgs/${acme}/client`, { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    const list = await admin.get<OrganizationView[]>('/api/orgs');
    expect(list.json.map((o) => [o.organizationId, o.client])).toEqual([[acme, 'Acme Ltd'], [globex, 'Globex']]);
  });

  it('invites an approver limited to one client and a viewer; bad invitations are refused', async () => {
    for (const body of [
      { username: 'has space', role: 'viewer' },
      { username: 'ann', role: 'owner' },
      { username: 'ann', role: 'admin', clients: ['Acme Ltd'] },
      { username: 'ann', role: 'viewer', clients: 'Acme Ltd' },
    ]) {
      const r = await admin.request('POST', '/api/users', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json).toMatchObject({ error: expect.stringContaining('nothing was changed') });
    }
    expect((await admin.get<UserListItem[]>('/api/users')).json.map((u) => u.username)).toEqual(['admin']);
    approver = await invite('ann', 'approver', ['Acme Ltd']);
    viewer = await invite('victor', 'viewer', null);
    expect((await admin.request('POST', '/api/users', { body: { username: 'ann', role: 'viewer' } })).status).toBe(409);
    const session = await approver.get<SessionView>('/api/session');
    expect(session.json).toMatchObject({ user: 'ann', role: 'approver', clients: ['Acme Ltd'] });
    const users = await admin.get<UserListItem[]>('/api/users');
    expect(users.json.map((u) => [u.username, u.role, u.clients, u.invitedUntil])).toEqual([
      ['admin', 'admin', null, null], ['ann', 'approver', ['Acme Ltd'], null], ['victor', 'viewer', null, null],
    ]);
  });

  it('users, connections and the metrics are an admin\'s: others get 403 naming their role', async () => {
    for (const who of [approver, viewer]) {
      const r = await who.get('/api/users');
      expect(r.status).toBe(403);
      expect(r.json).toMatchObject({ error: expect.stringMatching(/is an? (approver|viewer) and cannot manage users/) });
      expect((await who.request('POST', '/api/users', { body: { username: 'mallory', role: 'admin' } })).status).toBe(403);
      expect((await who.get('/metrics')).status).toBe(403);
      expect((await who.get('/api/connections')).status).toBe(403);
      expect((await who.request('POST', '/api/connections', { body: { name: 'theirs', emulator: 'http://127.0.0.1:1' } })).status).toBe(403);
    }
    expect((await admin.get('/metrics')).status).toBe(200);
    expect((await admin.get<UserListItem[]>('/api/users')).json.map((u) => u.username)).not.toContain('mallory');
  });
});

describe('what each person sees and may do', () => {
  let planId: string;
  let runId: string;
  let sse: SseStream;

  it('the limited approver sees only their client\'s organization; the others are 404', async () => {
    expect((await approver.get<OrganizationView[]>('/api/orgs')).json.map((o) => o.organizationId)).toEqual([acme]);
    expect((await viewer.get<OrganizationView[]>('/api/orgs')).json.map((o) => o.organizationId)).toEqual([acme, globex]);
    for (const path of [`/api/cron?expr=0+2+*+*+*&org=${globex}`, `/api/runs?org=${globex}`, `/api/audit?org=${globex}`, `/api/webhooks?org=${globex}`, `/api/actions?org=${globex}`]) {
      const r = await approver.get(path);
      expect(r.status, path).toBe(404);
      expect(r.json).toEqual({ error: `no organization ${globex} is reachable` });
    }
    // A change to an organization they cannot see is a 404 too, whatever the role would allow.
    const scan = await approver.request('POST', `/api/orgs/${globex}/scan`);
    expect(scan.status).toBe(404);
    expect(scan.json).toEqual({ error: `no organization ${globex} is reachable` });
  });

  it('settings are an admin\'s; the approver scans, the viewer cannot', async () => {
    for (const who of [approver, viewer]) {
      const policy = await who.request('PUT', `/api/orgs/${acme}/policy`, { body: { text: policyFor(acme) } });
      expect(policy.status).toBe(403);
      expect(policy.json).toMatchObject({ error: expect.stringContaining("cannot change an organization's settings: that needs the admin role") });
      expect((await who.request('PUT', `/api/orgs/${acme}/schedule`, { body: { cron: '0 2 * * *' } })).status).toBe(403);
      expect((await who.request('PUT', `/api/orgs/${acme}/webhook`, { body: { mode: 'hmac' } })).status).toBe(403);
      expect((await who.request('PUT', `/api/orgs/${acme}/client`, { body: { client: 'Mine' } })).status).toBe(403);
    }
    for (const organization of [acme, globex]) {
      expect((await admin.request('PUT', `/api/orgs/${organization}/policy`, { body: { text: policyFor(organization) } })).status).toBe(200);
    }
    expect((await viewer.request('POST', `/api/orgs/${acme}/scan`)).status).toBe(403);
    sse = await s.events(approver);
    const started = await approver.request<{ jobId: string }>('POST', `/api/orgs/${acme}/scan`);
    expect(started.status, started.text).toBe(202);
    const done = await sse.waitFor((e) => e.type === 'job' && e.data.jobId === started.json.jobId && e.data.state !== 'running', 'the scan ends');
    expect(done.data.state, JSON.stringify(done.data)).toBe('done');
    planId = done.data.planId as string;
  });

  it('the approver\'s event stream carries only their organizations\' events', async () => {
    const adminSse = await s.events(admin);
    const other = await admin.request<{ jobId: string }>('POST', `/api/orgs/${globex}/scan`);
    expect(other.status).toBe(202);
    const finished = await adminSse.waitFor((e) => e.type === 'job' && e.data.jobId === other.json.jobId && e.data.state !== 'running', 'the other scan ends');
    expect(finished.data.state).toBe('done');
    adminSse.close();
    expect(sse.events.filter((e) => e.data.organizationId === globex)).toEqual([]);
    expect(sse.events.some((e) => e.data.organizationId === acme)).toBe(true);
    // The other client's plan does not exist for them.
    const globexPlan = finished.data.planId as string;
    expect((await approver.get(`/api/plans/${globexPlan}`)).status).toBe(404);
    expect((await approver.request('POST', `/api/plans/${globexPlan}/approve`, { body: {} })).status).toBe(404);
    expect((await viewer.get(`/api/plans/${globexPlan}`)).status).toBe(200);
  });

  it('the viewer reads the plan but cannot approve it; the approver approves, excluding a contact', async () => {
    const plan = await viewer.get<PlanDetail>(`/api/plans/${planId}`);
    expect(plan.status).toBe(200);
    const refused = await viewer.request('POST', `/api/plans/${planId}/approve`, { body: {} });
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ error: 'victor is a viewer and cannot approve plans: that needs the approver role (a viewer may read)' });
    expect((await viewer.get<PlanDetail>(`/api/plans/${planId}`)).json.runId).toBeNull();
    const rows = await approver.get<{ rows: unknown[][] }>(`/api/plans/${planId}/rows`);
    const firstStep = rows.json.rows.find((r) => r[3] !== 'excluded')!;
    const approved = await approver.request<{ runId: string }>('POST', `/api/plans/${planId}/approve`, { body: { exclude: [firstStep[0]] } });
    expect(approved.status, approved.text).toBe(202);
    runId = approved.json.runId;
    await until(async () => ((await approver.get<RunDetail>(`/api/runs/${runId}`)).json.run.state === 'done' && !s.service.runner.activeJobs().length ? true : undefined), 'the run ends');
    const run = await approver.get<RunDetail>(`/api/runs/${runId}`);
    expect(run.json.run.createdBy).toBe('ann');
    expect((await approver.get<RunListItem[]>('/api/runs')).json.every((r) => r.run.organizationId === acme)).toBe(true);
    expect((await approver.get<Array<{ organization_id: string }>>('/api/audit')).json.every((r) => r.organization_id === acme)).toBe(true);
    // The organizations page shows the last run and who ran it.
    const view = (await approver.get<OrganizationView[]>('/api/orgs')).json[0]!;
    expect(view.lastRun).toMatchObject({ runId, kind: 'plan', status: 'done', createdBy: 'ann' });
  });

  it('the viewer cannot undo, stop, resume or verify; the approver undoes', async () => {
    for (const action of ['undo', 'stop', 'resume', 'verify']) {
      const r = await viewer.request('POST', `/api/runs/${runId}/${action}`);
      expect(r.status, action).toBe(403);
    }
    const undo = await approver.request<{ runId: string }>('POST', `/api/runs/${runId}/undo`);
    expect(undo.status, undo.text).toBe(202);
    await until(async () => ((await admin.get<RunDetail>(`/api/runs/${undo.json.runId}`)).json.run.state === 'done' && !s.service.runner.activeJobs().length ? true : undefined), 'the undo ends');
  });

  it('the activity log names the person for every approval, exclusion, undo, grouping, setting and user change', async () => {
    const all = (await admin.get<ActionView[]>('/api/actions')).json;
    const summary = all.map((a) => `${a.who} ${a.action} ${a.organizationId ?? '-'} ${a.subject ?? '-'}`).reverse();
    expect(summary).toEqual([
      `admin organization.client ${acme} -`,
      `admin organization.client ${globex} -`,
      'admin user.invite - ann',
      'ann user.joined - ann',
      'admin user.invite - victor',
      'victor user.joined - victor',
      `admin settings.policy ${acme} -`,
      `admin settings.policy ${globex} -`,
      `ann plan.approve ${acme} ${planId}`,
      `ann run.undo ${acme} ${runId}`,
    ]);
    const approval = all.find((a) => a.action === 'plan.approve')!;
    expect(approval.detail).toMatchObject({ runId, excluded: [{ contactId: expect.any(String), contactName: expect.any(String) }] });
    expect(all.find((a) => a.action === 'organization.client' && a.organizationId === acme)!.detail).toEqual({ from: null, to: 'Acme Ltd' });
    // The approver reads what was done to their client's organization only: no user changes, nothing of Globex.
    const theirs = (await approver.get<ActionView[]>('/api/actions')).json;
    expect(theirs.map((a) => a.action).reverse()).toEqual(['organization.client', 'settings.policy', 'plan.approve', 'run.undo']);
    expect(theirs.every((a) => a.organizationId === acme)).toBe(true);
  });
});

describe('changing and removing people', () => {
  it('regrouping an organization changes who sees it at once; access changes apply to open sessions', async () => {
    expect((await admin.request('PUT', `/api/orgs/${globex}/client`, { body: { client: 'Acme Ltd' } })).status).toBe(200);
    expect((await approver.get<OrganizationView[]>('/api/orgs')).json.map((o) => o.organizationId)).toEqual([acme, globex]);
    const changed = await admin.request<UserListItem>('PUT', '/api/users/ann', { body: { role: 'viewer', clients: ['Globex'] } });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.json).toMatchObject({ role: 'viewer', clients: ['Globex'] });
    expect((await approver.get<OrganizationView[]>('/api/orgs')).json).toEqual([]);
    expect((await approver.get<SessionView>('/api/session')).json).toMatchObject({ role: 'viewer', clients: ['Globex'] });
    expect((await admin.request('PUT', '/api/users/nobody', { body: { role: 'viewer' } })).status).toBe(404);
  });

  it('the last admin can be neither demoted nor removed; a removed user\'s session ends', async () => {
    const demote = await admin.request('PUT', '/api/users/admin', { body: { role: 'viewer' } });
    expect(demote.status).toBe(409);
    expect(demote.json).toMatchObject({ error: 'admin is the last admin: make another user an admin first' });
    expect((await admin.request('DELETE', '/api/users/admin')).status).toBe(409);
    expect((await admin.request('DELETE', '/api/users/victor')).status).toBe(204);
    expect((await viewer.get('/api/orgs')).status).toBe(401);
    expect((await admin.request('DELETE', '/api/users/victor')).status).toBe(404);
    expect((await admin.get<UserListItem[]>('/api/users')).json.map((u) => u.username)).toEqual(['admin', 'ann']);
  });

  it('two admins demoting (or removing) each other at the same moment leave one admin: the store checks inside the change', async () => {
    const store = s.service.store;
    await store.addUser('zed', await passwordHash(), s.h.clock.now(), { role: 'admin', clients: null });
    const admins = async (): Promise<string[]> => (await store.users()).filter((u) => u.role === 'admin').map((u) => u.username);
    for (let round = 0; round < 5; round++) {
      expect(await admins()).toEqual(['admin', 'zed']);
      const results = await Promise.all([store.setAccess('admin', { role: 'viewer', clients: null }), store.setAccess('zed', { role: 'viewer', clients: null })]);
      expect([...results].sort(), `round ${round}`).toEqual(['changed', 'last-admin']);
      const left = await admins();
      expect(left).toHaveLength(1);
      // Made an admin again for the next round (a promotion is never refused).
      expect(await store.setAccess(left[0] === 'admin' ? 'zed' : 'admin', { role: 'admin', clients: null })).toBe('changed');
    }
    const removed = await Promise.all([store.removeUser('zed'), store.setAccess('admin', { role: 'approver', clients: null })]);
    expect(removed.filter((r) => r === 'removed' || r === 'changed')).toHaveLength(1);
    expect(await admins()).toHaveLength(1);
    if (removed[0] === 'last-admin') expect(await store.removeUser('zed')).toBe('last-admin');
    expect(await store.setAccess('nobody', { role: 'viewer', clients: null })).toBe('missing');
    // The signed-in admin is still one when the remove won; else zed is, and admin is made one again.
    if (removed[0] === 'last-admin') {
      expect(await store.setAccess('admin', { role: 'admin', clients: null })).toBe('changed');
      expect(await store.removeUser('zed')).toBe('removed');
    }
    expect(await admins()).toEqual(['admin']);
  });
});
