/**
 * A consultancy's day in Chromium (issue 12's "done when"), on a service that works through the
 * database's connections, two emulators standing for two Zoho data centres (EU and IN), a real
 * SMTP server on loopback and the service's clock under the test's hand (the emulated clock):
 * - the admin adds two connections from the Connections page, groups the four organizations under
 *   two clients on the organizations page, and invites an approver limited to one client and a
 *   viewer from the Users page;
 * - the approver takes the invitation's link, chooses a password, sees only their client's two
 *   organizations (the others answer 404), and subscribes to e-mail;
 * - a schedule of `0 2 * * *` fires at 02:00 in the organization's own time zone (not a moment
 *   before), scans and plans, and the plan waiting for review reaches the SMTP server as an e-mail
 *   to the approver;
 * - the approver reviews and approves the plan, and its run applies; the viewer reads the plan but
 *   is offered no approval, and the server refuses theirs (403).
 */
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineClock } from '../../src/engine/index.js';
import { nextRun, parseCron, parseSmtpUrl, type OrganizationView, type RunDetail } from '../../src/service/index.js';
import { browserUnavailable, launchBrowser, screenshot, watchErrors } from '../helpers/browser.js';
import { startManagedService, type ManagedService } from '../helpers/connections.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { PASSWORD, policyFor, until, USER } from '../helpers/service.js';

const unavailable = browserUnavailable();

interface Mail {
  to: string[];
  raw: string;
}

/** A real SMTP server on loopback that keeps what it receives. */
async function startSmtp(): Promise<{ server: SMTPServer; port: number; mails: Mail[] }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.server.address() as AddressInfo).port, mails };
}

/** The service's clock: real time plus an offset the test moves (sleeps are real). */
function movableClock(start: number): EngineClock & { advance(ms: number): void } {
  let offset = start - Date.now();
  return {
    now: () => Date.now() + offset,
    sleep: (ms, signal) => new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    }),
    advance(ms) {
      offset += ms;
    },
  };
}

/** `2026-12-03 02:00` of an instant in a zone. */
const wallClock = (t: number, timeZone: string): string => new Intl.DateTimeFormat('sv-SE', { timeZone, dateStyle: 'short', timeStyle: 'short' }).format(t);

describe.skipIf(unavailable !== undefined)('a consultancy\'s day in Chromium', () => {
  let eu: TestEmulator;
  let india: TestEmulator;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let clock: ReturnType<typeof movableClock>;
  let m: ManagedService;
  let browser: Browser;
  let admin: Page;
  let approver: Page;
  let viewer: Page;
  let errors: string[];
  const contexts: BrowserContext[] = [];
  /** The zone of the organization the schedule runs for, as the emulator's seed gives it (Zoho's Asia/Calcutta). */
  const ZONE = 'Asia/Kolkata';
  const schedule = parseCron('0 2 * * *');
  let fireAt = 0;
  let inviteApprover = '';
  let inviteViewer = '';
  let acme: OrganizationView[] = [];
  let initech: OrganizationView[] = [];
  let planId = '';

  beforeAll(async () => {
    eu = await startTestEmulator({ contacts: 40, dataCentre: 'EU' });
    india = await startTestEmulator({ contacts: 40, dataCentre: 'IN' });
    smtp = await startSmtp();
    // The day starts twenty minutes before the next 02:00 in Kolkata.
    fireAt = nextRun(schedule, Date.now() + 3_600_000, ZONE)!;
    clock = movableClock(fireAt - 20 * 60_000);
    m = await startManagedService({
      socket: true, clock,
      notifications: { smtp: parseSmtpUrl(`smtp://127.0.0.1:${smtp.port}`), from: 'Sunset <sunset@consultancy.test>', intervalMs: 0, timeoutMs: 5_000 },
    });
    browser = await launchBrowser();
    const page = async (): Promise<Page> => {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
      contexts.push(context);
      const p = await context.newPage();
      p.setDefaultTimeout(20_000);
      return p;
    };
    admin = await page();
    approver = await page();
    viewer = await page();
    errors = [...watchErrors(admin), ...watchErrors(approver), ...watchErrors(viewer)];
  }, 120_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await m?.close();
    await new Promise<void>((resolve) => (smtp ? smtp.server.close(() => resolve()) : resolve()));
    await eu?.close();
    await india?.close();
  });

  const cardIds = (page: Page): Promise<string[]> =>
    page.getByTestId('organization-card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-organization-id') ?? ''));

  it('the admin adds a connection on each data centre from the Connections page', async () => {
    await admin.goto(`${m.origin}/login`);
    await admin.getByTestId('login-username').fill(USER);
    await admin.getByTestId('login-password').fill(PASSWORD);
    await admin.getByTestId('login-submit').click();
    await admin.getByTestId('nav-connections').click();
    for (const [name, emulator] of [['acme-eu', eu], ['initech-in', india]] as const) {
      await admin.getByTestId('cx-name').fill(name);
      await admin.getByTestId('cx-where').selectOption('emulator');
      await admin.getByTestId('cx-emulator').fill(emulator.origin);
      await admin.getByTestId('cx-add').click();
      await expect.poll(() => admin.getByTestId('cx-status').textContent()).toMatch(new RegExp(`Added ${name}: it reaches 2 organizations`));
    }
    await screenshot(admin, 'consultancy-connections');
  });

  it('the admin groups the four organizations under two clients', async () => {
    await admin.getByTestId('nav-orgs').click();
    await expect.poll(() => admin.getByTestId('organization-card').count()).toBe(4);
    for (const [emulator, client] of [[eu, 'Acme Group'], [india, 'Initech']] as const) {
      for (const id of emulator.organizations) {
        const card = admin.locator(`[data-testid="organization-card"][data-organization-id="${id}"]`);
        await card.getByTestId('client-input').fill(client);
        await card.getByTestId('client-save').click();
        await expect.poll(() => card.getAttribute('data-client')).toBe(client);
      }
    }
    // Grouped under their clients, and filtered by one.
    expect(await admin.getByTestId('client-group').evaluateAll((els) => els.map((e) => e.getAttribute('data-client')))).toEqual(['Acme Group', 'Initech']);
    await admin.getByTestId('client-filter').selectOption('Initech');
    expect(await cardIds(admin)).toEqual(india.organizations);
    await admin.getByTestId('client-filter').selectOption('');
    const all = (await m.session.get<OrganizationView[]>('/api/orgs')).json;
    acme = all.filter((o) => o.client === 'Acme Group');
    initech = all.filter((o) => o.client === 'Initech');
    expect(acme.map((o) => o.organizationId).sort()).toEqual([...eu.organizations].sort());
    expect(acme.map((o) => o.connection)).toEqual(['acme-eu', 'acme-eu']);
    expect(initech.map((o) => o.connection)).toEqual(['initech-in', 'initech-in']);
    await screenshot(admin, 'consultancy-organizations');
  });

  it('the admin invites an approver limited to Acme Group, and a viewer', async () => {
    await admin.getByTestId('nav-users').click();
    const invite = async (name: string, role: string, clients: string): Promise<string> => {
      await admin.getByTestId('invite-name').fill(name);
      await admin.getByTestId('invite-role').selectOption(role);
      await admin.getByTestId('invite-clients').fill(clients);
      await admin.getByTestId('invite-submit').click();
      await expect.poll(() => admin.getByTestId('invite-link').count()).toBe(1);
      const link = (await admin.getByTestId('invite-link').textContent()) ?? '';
      expect(link).toMatch(new RegExp(`^${m.origin}/invite/[A-Za-z0-9_-]{40,}$`));
      return link;
    };
    inviteApprover = await invite('priya', 'approver', 'Acme Group');
    inviteViewer = await invite('victor', 'viewer', '');
    const rows = await admin.getByTestId('user-row').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-username')}:${e.getAttribute('data-role')}`));
    expect(rows).toEqual(['admin:admin', 'priya:approver', 'victor:viewer']);
  });

  it('the approver takes the link, chooses a password, and sees only Acme Group\'s organizations', async () => {
    await approver.goto(inviteApprover);
    expect(await approver.getByTestId('invite-username').textContent()).toBe('priya');
    await approver.getByTestId('invite-password').fill(PASSWORD);
    await approver.getByTestId('invite-again').fill(PASSWORD);
    await approver.getByTestId('invite-submit').click();
    await approver.waitForURL(`${m.origin}/`);
    await expect.poll(() => approver.getByTestId('organization-card').count()).toBe(2);
    expect((await cardIds(approver)).sort()).toEqual([...eu.organizations].sort());
    expect(await approver.getByTestId('user-role').textContent()).toBe('approver');
    // No Users or Connections for them, and another client's organization does not exist.
    expect(await approver.getByTestId('nav-users').isVisible()).toBe(false);
    expect(await approver.getByTestId('nav-connections').isVisible()).toBe(false);
    await approver.goto(`${m.origin}/#/orgs/${initech[0]!.organizationId}`);
    await expect.poll(() => approver.locator('h1').first().textContent()).toBe('Organization not found');
    const other = await approver.evaluate(async (id) => (await fetch(`/api/runs?org=${id}`)).status, initech[0]!.organizationId);
    expect(other).toBe(404);
  });

  it('the approver subscribes to e-mail about their clients', async () => {
    await approver.goto(`${m.origin}/#/notifications`);
    await approver.getByTestId('subscription-channel').selectOption('email');
    await approver.getByTestId('subscription-address').fill('priya@acme.test');
    await approver.getByTestId('subscription-add').click();
    await expect.poll(() => approver.getByTestId('subscription-row').count()).toBe(1);
  });

  it('a schedule of 0 2 * * * fires at 02:00 in the organization\'s time zone, and the plan waiting for review reaches the SMTP server', async () => {
    const organization = acme.find((o) => o.timeZone.zoho === 'Asia/Calcutta') ?? acme[0]!;
    expect(organization.timeZone.zone).toBe(ZONE);
    const id = organization.organizationId;
    expect((await m.session.request('PUT', `/api/orgs/${id}/policy`, { body: { text: policyFor(id) } })).status).toBe(200);
    const saved = await m.session.request<OrganizationView>('PUT', `/api/orgs/${id}/schedule`, { body: { cron: '0 2 * * *' } });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.json.schedule.nextRunAt).toBe(fireAt);
    expect(wallClock(fireAt, ZONE)).toMatch(/ 02:00$/);

    // Ten seconds before 02:00 in Kolkata: nothing runs.
    clock.advance(fireAt - 10_000 - clock.now());
    expect(await m.service.tick()).toEqual([]);
    // 02:00:05 in Kolkata: the schedule runs, once.
    clock.advance(15_000);
    expect(await m.service.tick()).toEqual([id]);
    expect(await m.service.tick()).toEqual([]);
    const view = await until(async () => {
      const o = (await m.session.get<OrganizationView[]>('/api/orgs')).json.find((x) => x.organizationId === id);
      return o?.latestPlan && !o.activeJob ? o : undefined;
    }, 'the scheduled plan', 60_000);
    planId = view.latestPlan!.planId;
    expect(view.latestPlan!.runId).toBeNull();
    expect(wallClock(view.schedule.lastRunAt!, ZONE)).toMatch(/ 02:00$/);

    // The notice is in the outbox before it is sent; the delivery reaches the local SMTP server.
    await m.service.notifications.deliverDue();
    const mail = await until(() => smtp.mails.find((x) => x.to.includes('priya@acme.test')), 'the e-mail to priya');
    expect(mail.raw).toContain(planId);
    expect(mail.raw).toMatch(/review/i);
    // Nobody subscribed for Initech, and the viewer subscribed to nothing: one e-mail.
    expect(smtp.mails.map((x) => x.to)).toEqual([['priya@acme.test']]);
  });

  it('the approver reviews the plan from the card and approves it; its run applies', async () => {
    await approver.goto(`${m.origin}/#/`);
    const card = approver.locator(`[data-testid="organization-card"][data-organization-id="${acme.find((o) => o.timeZone.zone === ZONE)?.organizationId ?? acme[0]!.organizationId}"]`);
    await card.getByTestId('review-link').click();
    await approver.waitForURL(new RegExp(`#/plans/${planId}$`));
    await expect.poll(() => approver.getByTestId('approve-button').isEnabled()).toBe(true);
    expect(await approver.getByTestId('approve-role-note').isVisible()).toBe(false);
    await approver.getByTestId('approve-button').click();
    await approver.getByTestId('confirm-ok').click();
    await approver.waitForURL(/#\/runs\/run-/);
    const runId = decodeURIComponent(approver.url().split('#/runs/')[1]!);
    const done = await until(async () => {
      const r = await m.session.get<RunDetail>(`/api/runs/${runId}`);
      return r.json.run.state === 'done' ? r.json : undefined;
    }, 'the run to finish', 60_000);
    expect(done.run.createdBy).toBe('priya');
    expect(done.counts.changed).toBeGreaterThan(0);
    await screenshot(approver, 'consultancy-run');
  });

  it('the viewer reads the plan but is offered no approval, and the server refuses theirs', async () => {
    await viewer.goto(inviteViewer);
    await viewer.getByTestId('invite-password').fill(PASSWORD);
    await viewer.getByTestId('invite-again').fill(PASSWORD);
    await viewer.getByTestId('invite-submit').click();
    await viewer.waitForURL(`${m.origin}/`);
    // A viewer limited to no client sees all four, and cannot scan.
    await expect.poll(() => viewer.getByTestId('organization-card').count()).toBe(4);
    expect(await viewer.getByTestId('scan-button').first().isVisible().catch(() => false)).toBe(false);
    await viewer.goto(`${m.origin}/#/plans/${planId}`);
    await viewer.getByTestId('approve-role-note').waitFor();
    expect(await viewer.getByTestId('approve-bar').isVisible()).toBe(false);
    const refused = await viewer.evaluate(async (plan) => {
      const session = (await (await fetch('/api/session')).json()) as { csrfToken: string };
      const r = await fetch(`/api/plans/${plan}/approve`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken }, body: '{}' });
      return { status: r.status, body: await r.text() };
    }, planId);
    expect(refused.status).toBe(403);
    expect(refused.body).toContain('victor is a viewer and cannot approve plans');
  });

  it('the admin reads who did what, by name', async () => {
    const actions = (await m.session.get<Array<{ who: string; action: string }>>('/api/actions')).json.map((a) => `${a.who} ${a.action}`).reverse();
    expect(actions).toEqual(expect.arrayContaining(['admin connection.add', 'admin organization.client', 'admin user.invite', 'priya user.joined', 'admin settings.schedule', 'priya plan.approve', 'victor user.joined']));
    expect(actions.indexOf('priya plan.approve')).toBeGreaterThan(actions.indexOf('admin settings.schedule'));
  });

  it('no script error; the failed requests are the ones refused on purpose', () => {
    expect(errors.filter((e) => !/403|404/.test(e))).toEqual([]);
  });
});
