/**
 * Notifications, end to end with real parts: the service (on SQLite, or PostgreSQL in the postgres
 * project) against the emulator, a real SMTP server on loopback (smtp-server, with a user and a
 * password) and a real webhook receiver on loopback (node:http) that verifies each delivery's
 * signature as docs/notifications.md tells receivers to. The delivery loop is off: the test calls
 * `deliverDue()` and moves the emulated clock for retries.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  NotificationSubscriptionCreated, NotificationSubscriptionView, NotificationView, PlanDetail, RunDetail,
} from '../../src/service/index.js';
import { checkSubscription, createNotificationStore, NotificationInputError, parseSmtpUrl, retryDelay, signNotification } from '../../src/service/index.js';
import { runMain } from '../helpers/cli.js';
import { openTestDatabase, TEST_DATABASE } from '../helpers/database.js';
import { passwordHash, PASSWORD, policyFor, signHook, startTestService, until, type SignedIn, type TestService } from '../helpers/service.js';

const SMTP_USER = 'sunset-mailer';
const SMTP_PASSWORD = `smtp-pw-${randomBytes(12).toString('hex')}`;

interface Mail { from: string; to: string[]; raw: string }
interface Delivery { id: string; body: Record<string, unknown>; verified: boolean }

/** A real SMTP server on loopback that requires the user and password (no TLS: loopback only). */
async function startSmtp(port = 0): Promise<{ server: SMTPServer; port: number; mails: Mail[] }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: false,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
        mails.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.server.address() as AddressInfo).port, mails };
}

const closeSmtp = (server: SMTPServer): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('notifications', () => {
  let s: TestService;
  let admin: SignedIn;
  let bob: SignedIn;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let receiver: Server;
  let receiverUrl = '';
  /** The secret the receiver verifies with (the one the subscription's creation answered). */
  let webhookSecret = '';
  const deliveries: Delivery[] = [];
  /** How many of the next deliveries the receiver answers 500. */
  let failNext = 0;
  let emailSub = '';
  let webhookSub = '';

  beforeAll(async () => {
    smtp = await startSmtp();
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        // What a receiver does (docs/notifications.md): recompute the HMAC over "t.body", compare in constant time, check the age.
        const header = String(req.headers['sunset-signature'] ?? '');
        const t = /(?:^|,)t=(\d+)/.exec(header)?.[1];
        const v1 = /(?:^|,)v1=([0-9a-f]{64})/.exec(header)?.[1];
        const expected = t ? createHmac('sha256', webhookSecret).update(`${t}.${body}`).digest() : Buffer.alloc(32);
        const fresh = t !== undefined && Math.abs(s.h.clock.now() / 1000 - Number(t)) < 300;
        const verified = v1 !== undefined && fresh && timingSafeEqual(expected, Buffer.from(v1, 'hex'));
        if (failNext > 0) {
          failNext--;
          res.writeHead(500).end('down for maintenance');
          return;
        }
        deliveries.push({ id: String(req.headers['sunset-id']), body: JSON.parse(body) as Record<string, unknown>, verified });
        res.writeHead(verified ? 204 : 401).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/sunset`;
    s = await startTestService({
      contacts: 120,
      notifications: { smtp: parseSmtpUrl(`smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${smtp.port}`), from: 'Sunset <sunset@example.test>', timeoutMs: 5_000 },
    });
    await s.setTimeZone('UTC');
    await s.store.addUser('bob', await passwordHash(), s.h.clock.now());
    admin = await s.login();
    bob = await s.login('bob', PASSWORD);
  }, 120_000);

  afterAll(async () => {
    await s?.close();
    await closeSmtp(smtp.server);
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  const outbox = async (session: SignedIn = admin): Promise<NotificationView[]> => {
    const r = await session.get<NotificationView[]>('/api/notifications/outbox');
    expect(r.status, r.text).toBe(200);
    return r.json;
  };
  const subscriptions = async (session: SignedIn = admin): Promise<NotificationSubscriptionView[]> => {
    const r = await session.get<NotificationSubscriptionView[]>('/api/notifications/subscriptions');
    expect(r.status, r.text).toBe(200);
    return r.json;
  };
  const idle = (): boolean => s.service.runner.activeJobs().length === 0;
  /** Waits for the service's jobs to end and their notices to be written. */
  const quiet = async (): Promise<void> => {
    await until(() => (idle() ? true : undefined), 'the jobs to end');
    await s.service.notifications.settled();
  };
  /** Policy, scan, plan, approve, and the run applied to its end: the run's id. */
  const runToTheEnd = async (): Promise<string> => {
    const policy = await admin.request('PUT', `/api/orgs/${s.organization}/policy`, { body: { text: policyFor(s.organization, 'max_changes: 2\n') } });
    expect(policy.status, policy.text).toBe(200);
    // The plan the scan job makes (the same data makes the same plan id as an earlier scan's).
    let planned: string | undefined;
    const off = s.service.bus.subscribe((e) => {
      if (e.type === 'job' && e.data.kind === 'scan' && e.data.state !== 'running') planned = e.data.planId ?? `failed: ${e.data.message}`;
    });
    const scan = await admin.request('POST', `/api/orgs/${s.organization}/scan`);
    expect(scan.status, scan.text).toBe(202);
    const planId = await until(() => (planned !== undefined && idle() ? planned : undefined), 'the plan').finally(off);
    expect(planId).toMatch(/^plan_/);
    const approve = await admin.request<{ runId: string }>('POST', `/api/plans/${planId}/approve`, { body: { exclude: [] } });
    expect(approve.status, approve.text).toBe(202);
    const runId = approve.json.runId;
    await until(async () => ((await s.h.journal.getRun(runId))?.state === 'done' ? true : undefined), 'the run to finish');
    await quiet();
    return runId;
  };
  const mailsAbout = (text: string): Mail[] => smtp.mails.filter((m) => m.raw.includes(text));

  it('refuses a bad subscription (e-mail, URL, event kind, channel) with 400 and a clear error, and changes nothing', async () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ channel: 'email', address: 'not-an-address' }, /not an e-mail address/],
      [{ channel: 'email', address: 'ana@example.com', events: ['run.finished', 'run.exploded'] }, /unknown event kind "run.exploded"/],
      [{ channel: 'webhook', address: 'ftp://example.com/hook' }, /http:\/\/ or https:\/\/ URL/],
      [{ channel: 'webhook', address: 'not a url' }, /http:\/\/ or https:\/\/ URL/],
      [{ channel: 'webhook', address: 'https://user:pw@example.com/' }, /must not carry a user or password/],
      [{ channel: 'pigeon', address: 'ana@example.com' }, /channel must be "email" or "webhook"/],
      [{ channel: 'email', address: 'ana@example.com', events: [] }, /events must be a list/],
      [{ channel: 'email', address: 'ana@example.com', clients: 'Acme' }, /clients must be a list/],
      ['[1, 2]', /must be a JSON object/],
    ];
    for (const [body, message] of bad) {
      const r = await admin.request<{ error: string }>('POST', '/api/notifications/subscriptions', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error).toMatch(message);
      expect(r.text).not.toMatch(/at .*\.ts:\d+/);
    }
    expect(await subscriptions()).toEqual([]);
    expect(() => checkSubscription({ channel: 'email', address: 'a b@example.com' })).toThrow(NotificationInputError);
  });

  it('adds an e-mail and a webhook subscription; the webhook\'s secret is answered once, never listed', async () => {
    const email = await admin.request<NotificationSubscriptionCreated>('POST', '/api/notifications/subscriptions', { body: { channel: 'email', address: 'ops@example.test' } });
    expect(email.status, email.text).toBe(201);
    expect(email.json.secret).toBeUndefined();
    expect(email.json.subscription).toMatchObject({ channel: 'email', address: 'ops@example.test', username: 'admin', clients: null, events: ['plan.review', 'run.finished', 'run.failed', 'run.paused', 'event.failed'] });
    emailSub = email.json.subscription.subscriptionId;
    const hook = await admin.request<NotificationSubscriptionCreated>('POST', '/api/notifications/subscriptions', { body: { channel: 'webhook', address: receiverUrl, events: ['run.finished', 'run.failed'] } });
    expect(hook.status, hook.text).toBe(201);
    expect(hook.json.secret).toMatch(/^whsec_[A-Za-z0-9_-]{32}$/);
    webhookSecret = hook.json.secret!;
    webhookSub = hook.json.subscription.subscriptionId;
    const listed = await subscriptions();
    expect(listed.map((x) => x.subscriptionId).sort()).toEqual([emailSub, webhookSub].sort());
    expect(JSON.stringify(listed)).not.toContain(webhookSecret);
  });

  it('a run that finishes delivers one e-mail and one signed webhook', async () => {
    const runId = await runToTheEnd();
    const written = (await outbox()).filter((n) => n.kind === 'run.finished');
    expect(written.map((n) => [n.subscriptionId, n.state])).toEqual(expect.arrayContaining([[emailSub, 'pending'], [webhookSub, 'pending']]));
    expect(written).toHaveLength(2);
    expect(await s.service.notifications.deliverDue()).toBe(2);
    const mails = mailsAbout(runId);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ from: 'sunset@example.test', to: ['ops@example.test'] });
    expect(mails[0]!.raw).toMatch(/^Subject: Sunset: run \S+ finished/m);
    const hooks = deliveries.filter((d) => (d.body.data as { runId?: string }).runId === runId);
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.verified).toBe(true);
    expect(hooks[0]!.body).toMatchObject({ type: 'run.finished', organization: { id: s.organization, client: null }, data: { runId, counts: { changed: 2 } } });
    expect(hooks[0]!.body.text).toMatch(/finished: 2 contacts changed/);
    const after = (await outbox()).filter((n) => n.kind === 'run.finished');
    expect(after.map((n) => [n.state, n.attempts, n.lastError])).toEqual([['delivered', 1, null], ['delivered', 1, null]]);
    expect(hooks[0]!.id).toBe(after.find((n) => n.subscriptionId === webhookSub)!.notificationId);
    // Delivered once: another pass sends nothing.
    expect(await s.service.notifications.deliverDue()).toBe(0);
    expect(mailsAbout(runId)).toHaveLength(1);
  });

  it('a pass of all but the e-mails (a worker\'s: no SMTP settings) delivers the webhook and leaves the e-mail untried for a serve\'s pass', async () => {
    const runId = await runToTheEnd();
    const written = (await outbox()).filter((n) => n.kind === 'run.finished' && n.subject.includes(runId));
    expect(written.map((n) => n.state)).toEqual(['pending', 'pending']);
    const store = s.service.notifications.store;
    expect(await store.nextDue('webhooks')).not.toBeNull();
    expect(await s.service.notifications.deliverDue('webhooks')).toBe(1);
    expect(deliveries.filter((d) => (d.body.data as { runId?: string }).runId === runId)).toHaveLength(1);
    expect(mailsAbout(runId)).toEqual([]);
    const after = (await outbox()).filter((n) => n.kind === 'run.finished' && n.subject.includes(runId));
    expect(after.find((n) => n.subscriptionId === webhookSub)).toMatchObject({ state: 'delivered', attempts: 1 });
    // The e-mail was not tried (no attempt, no error): nothing is due for a webhooks pass, one is for a serve's.
    expect(after.find((n) => n.subscriptionId === emailSub)).toMatchObject({ state: 'pending', attempts: 0, lastError: null });
    expect(await store.nextDue('webhooks')).toBeNull();
    expect(await store.nextDue()).not.toBeNull();
    expect(await s.service.notifications.deliverDue('webhooks')).toBe(0);
    expect(await s.service.notifications.deliverDue()).toBe(1);
    expect(mailsAbout(runId)).toHaveLength(1);
    expect(deliveries.filter((d) => (d.body.data as { runId?: string }).runId === runId)).toHaveLength(1);
  });

  // CI's worker-cluster run found a plan.review notice delivered twice: a serve works both kinds of
  // pass, and both leased under one name, which may take its own rows again.
  it('both kinds of pass at once in one process (a serve works both) send each notice once', async () => {
    const runId = await runToTheEnd();
    const notifications = s.service.notifications;
    const [all, webhooks] = await Promise.all([notifications.deliverDue(), notifications.deliverDue('webhooks')]);
    expect(all + webhooks).toBe(2);
    expect(deliveries.filter((d) => (d.body.data as { runId?: string }).runId === runId)).toHaveLength(1);
    expect(mailsAbout(runId)).toHaveLength(1);
    const after = (await outbox()).filter((n) => n.kind === 'run.finished' && n.subject.includes(runId));
    expect(after.map((n) => [n.state, n.attempts])).toEqual([['delivered', 1], ['delivered', 1]]);
  });

  it('a scheduled plan left for review notifies (the webhook, which did not ask for plan.review, does not)', async () => {
    const schedule = await admin.request('PUT', `/api/orgs/${s.organization}/schedule`, { body: { cron: '0 * * * *', autoApplyMax: null } });
    expect(schedule.status, schedule.text).toBe(200);
    const now = s.h.clock.now();
    await s.advance((Math.floor(now / 3_600_000) * 3_600_000 + 3_600_000 - now) / 1000 + 1);
    expect(await s.service.tick()).toEqual([s.organization]);
    await quiet();
    const planId = (await s.h.journal.latestPlan(s.organization))!.planId;
    const review = (await outbox()).filter((n) => n.kind === 'plan.review');
    expect(review.map((n) => [n.subscriptionId, n.organizationId])).toEqual([[emailSub, s.organization]]);
    expect(review[0]!.subject).toMatch(/a scheduled plan waits for review \(\d+ steps\)/);
    expect(review[0]!.body).toContain(planId);
    await s.service.notifications.deliverDue();
    expect(mailsAbout(planId)).toHaveLength(1);
    expect((await admin.get<PlanDetail>(`/api/plans/${planId}`)).json.runId).toBeNull();
    await admin.request('PUT', `/api/orgs/${s.organization}/schedule`, { body: { cron: null, autoApplyMax: null } });
  });

  it('with the SMTP server down the run is unaffected, the e-mail waits with its error, and goes once the server is back', async () => {
    const port = smtp.port;
    await closeSmtp(smtp.server);
    const runId = await runToTheEnd();
    expect((await admin.get<RunDetail>(`/api/runs/${runId}`)).json.run.state).toBe('done');
    await s.service.notifications.deliverDue();
    const mine = async (): Promise<NotificationView[]> => (await outbox()).filter((n) => n.kind === 'run.finished' && n.body.includes(runId));
    const [email, hook] = [(await mine()).find((n) => n.subscriptionId === emailSub)!, (await mine()).find((n) => n.subscriptionId === webhookSub)!];
    expect(hook.state, 'the webhook does not wait for the mail server').toBe('delivered');
    expect(email).toMatchObject({ state: 'pending', attempts: 1 });
    expect(email.lastError).toMatch(/ECONNREFUSED|connect/i);
    expect(email.nextAttemptAt).toBe(s.h.clock.now() + 30_000);

    smtp = await startSmtp(port);
    await s.advance(10);
    expect(await s.service.notifications.deliverDue(), 'not due yet').toBe(0);
    await s.advance(20);
    expect(await s.service.notifications.deliverDue()).toBe(1);
    expect((await mine()).find((n) => n.subscriptionId === emailSub)).toMatchObject({ state: 'delivered', attempts: 2, lastError: null });
    expect(mailsAbout(runId)).toHaveLength(1);
  });

  it('a webhook answering 500 is tried again, 30 s then 60 s later, until it is delivered', async () => {
    failNext = 2;
    const test = await admin.request<NotificationView>('POST', `/api/notifications/subscriptions/${webhookSub}/test`);
    expect(test.status, test.text).toBe(200);
    expect(test.json).toMatchObject({ kind: 'test', state: 'pending', attempts: 1, lastError: 'the webhook answered HTTP 500 Internal Server Error' });
    expect(test.json.nextAttemptAt).toBe(s.h.clock.now() + 30_000);
    await s.advance(30);
    expect(await s.service.notifications.deliverDue()).toBe(1);
    let row = (await outbox()).find((n) => n.notificationId === test.json.notificationId)!;
    expect(row).toMatchObject({ state: 'pending', attempts: 2 });
    expect(row.nextAttemptAt).toBe(s.h.clock.now() + 60_000);
    await s.advance(60);
    await s.service.notifications.deliverDue();
    row = (await outbox()).find((n) => n.notificationId === test.json.notificationId)!;
    expect(row).toMatchObject({ state: 'delivered', attempts: 3, lastError: null });
    expect(deliveries.filter((d) => d.id === test.json.notificationId).map((d) => d.verified)).toEqual([true]);
    // The e-mail channel's test goes at once.
    const mail = await admin.request<NotificationView>('POST', `/api/notifications/subscriptions/${emailSub}/test`);
    expect(mail.json).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(mailsAbout(mail.json.notificationId)).toHaveLength(1);
  });

  it('a user sees and changes only their own subscriptions and notices (another\'s are not found)', async () => {
    expect(await subscriptions(bob)).toEqual([]);
    expect(await outbox(bob)).toEqual([]);
    expect((await bob.request('DELETE', `/api/notifications/subscriptions/${emailSub}`)).status).toBe(404);
    expect((await bob.request('POST', `/api/notifications/subscriptions/${webhookSub}/test`)).status).toBe(404);
    const own = await bob.request<NotificationSubscriptionCreated>('POST', '/api/notifications/subscriptions', { body: { channel: 'email', address: 'bob@example.test', clients: ['Acme'] } });
    expect(own.status).toBe(201);
    expect((await subscriptions(bob)).map((x) => x.subscriptionId)).toEqual([own.json.subscription.subscriptionId]);
    expect((await subscriptions()).map((x) => x.subscriptionId).sort()).toEqual([emailSub, webhookSub].sort());
    // Scoped to a client: this service knows no clients, so nothing reaches bob.
    await runToTheEnd();
    expect(await outbox(bob)).toEqual([]);
    expect((await bob.request('DELETE', `/api/notifications/subscriptions/${own.json.subscription.subscriptionId}`)).status).toBe(200);
    expect(await subscriptions(bob)).toEqual([]);
  });

  /** Policy, scan, plan and approve (the run's end is the caller's to wait for): the run's id. */
  const approveNext = async (): Promise<string> => {
    let planned: string | undefined;
    const off = s.service.bus.subscribe((e) => {
      if (e.type === 'job' && e.data.kind === 'scan' && e.data.state !== 'running') planned = e.data.planId ?? `failed: ${e.data.message}`;
    });
    expect((await admin.request('POST', `/api/orgs/${s.organization}/scan`)).status).toBe(202);
    const planId = await until(() => (planned !== undefined && idle() ? planned : undefined), 'the plan').finally(off);
    const approve = await admin.request<{ runId: string }>('POST', `/api/plans/${planId}/approve`, { body: { exclude: [] } });
    expect(approve.status, approve.text).toBe(202);
    return approve.json.runId;
  };

  it('a run that stops on an error notifies run.failed; one that waits for the daily quota notifies run.paused once, then run.finished', async () => {
    // Zoho keeps answering 503 to every change: the applier gives up and pauses the run.
    expect((await s.h.t.admin('POST', '/__emulator/faults', { faults: ['503,count=400,method=POST,path=/contacts/*/inactive'] })).status).toBe(200);
    const failing = await approveNext();
    await quiet();
    expect((await s.h.t.admin('DELETE', '/__emulator/faults')).status).toBe(200);
    expect((await s.h.journal.getRun(failing))?.state).toBe('paused');
    const failed = (await outbox()).filter((n) => n.kind === 'run.failed');
    expect(failed.map((n) => n.subscriptionId).sort()).toEqual([emailSub, webhookSub].sort());
    expect(failed[0]!.body).toMatch(/stopped: Zoho kept failing/);

    // Resumed, it meets the daily quota (Zoho's code 45) once: it waits for the reset, then finishes.
    expect((await s.h.t.admin('POST', '/__emulator/faults', { faults: ['429,code=45,count=1,method=POST,path=/contacts/*/inactive'] })).status).toBe(200);
    expect((await admin.request('POST', `/api/runs/${failing}/resume`)).status).toBe(202);
    await until(async () => ((await s.h.journal.getRun(failing))?.state === 'done' ? true : undefined), 'the resumed run to finish');
    await quiet();
    // The wait moved the emulated clock past the reset, and past the sessions' lifetime.
    admin = await s.login();
    bob = await s.login('bob', PASSWORD);
    const paused = (await outbox()).filter((n) => n.kind === 'run.paused' && n.body.includes(failing));
    expect(paused.map((n) => n.subscriptionId), 'the webhook did not ask for run.paused').toEqual([emailSub]);
    expect(paused[0]!.subject).toMatch(/waits for the daily Zoho quota/);
    expect((await outbox()).filter((n) => n.kind === 'run.finished' && n.body.includes(failing))).toHaveLength(2);
    await s.service.notifications.deliverDue();
    expect(mailsAbout(failing).length).toBe(3);
  });

  it('a CRM event that cannot be applied (no Books contact has its CRM id) notifies by e-mail, with the reason', async () => {
    const hook = await admin.request<{ secret: string }>('PUT', `/api/orgs/${s.organization}/webhook`, { body: { mode: 'hmac' } });
    expect(hook.status, hook.text).toBe(200);
    const body = JSON.stringify({ crm_account_id: '4876999999999999999', status: 'Churned', event_id: 'evt-notify-unknown' });
    const sent = await s.fetch<{ eventId: string }>('POST', `/hooks/crm/${s.organization}`, { body, headers: { 'content-type': 'application/json', ...signHook(hook.json.secret, body, Math.floor(s.h.clock.now() / 1000)) } });
    expect(sent.status, sent.text).toBe(202);
    await s.service.processWebhooks();
    await s.service.notifications.settled();
    const failed = (await outbox()).filter((n) => n.kind === 'event.failed');
    expect(failed.map((n) => n.subscriptionId), 'the webhook did not ask for event.failed').toEqual([emailSub]);
    expect(failed[0]!.subject).toMatch(/a CRM event could not be applied/);
    expect(failed[0]!.body).toContain(sent.json.eventId);
    expect(failed[0]!.body).toMatch(/not matched to a Books contact: no Books contact is linked to CRM account 4876999999999999999/);
    await s.service.notifications.deliverDue();
    expect(mailsAbout('4876999999999999999')).toHaveLength(1);
  });

  it('neither the SMTP password nor a webhook secret is in an outbox row, an answer or the log', async () => {
    await s.service.notifications.deliverDue();
    const rows = await s.h.db.all<Record<string, unknown>>('SELECT * FROM notification_outbox');
    expect(rows.length).toBeGreaterThan(5);
    const subs = await s.h.db.all<Record<string, unknown>>('SELECT subscription_id, username, channel, address, events, clients, created_at FROM notification_subscriptions');
    const text = JSON.stringify([rows, subs, await outbox(), await subscriptions()]) + s.logs.join('\n');
    expect(text).not.toContain(SMTP_PASSWORD);
    expect(text).not.toContain(encodeURIComponent(SMTP_PASSWORD));
    expect(text).not.toContain(webhookSecret);
    expect(s.logs.some((l) => l.includes('notification delivered'))).toBe(true);
    expect(s.logs.some((l) => l.includes('tried again later'))).toBe(true);
  });

  it('sunset notifications list|outbox read them from the database: every user\'s, filtered by user and state, never a secret', async () => {
    const list = await runMain(['notifications', 'list', '--database', s.h.dbPath, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const subs = JSON.parse(list.stdout) as NotificationSubscriptionView[];
    expect(subs.map((x) => x.subscriptionId).sort()).toEqual([emailSub, webhookSub].sort());
    const text = await runMain(['notifications', 'list', '--database', s.h.dbPath, '--user', 'admin']);
    expect(text.stdout).toContain(receiverUrl);
    expect(text.stdout + list.stdout).not.toContain(webhookSecret);
    const delivered = await runMain(['notifications', 'outbox', '--database', s.h.dbPath, '--state', 'delivered', '--json']);
    const notices = JSON.parse(delivered.stdout) as NotificationView[];
    expect(notices.length).toBeGreaterThan(5);
    expect(notices.every((n) => n.state === 'delivered' && n.username === 'admin')).toBe(true);
    expect((await runMain(['notifications', 'outbox', '--database', s.h.dbPath, '--user', 'bob', '--json'])).stdout).toBe('[]\n');
    const shown = await runMain(['notifications', 'outbox', '--database', s.h.dbPath]);
    expect(shown.stdout).toMatch(/ntf-\S+ {2}delivered {2}run\.finished {2}to admin/);
    const bad = await runMain(['notifications', 'outbox', '--database', s.h.dbPath, '--state', 'lost']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--state lost: use pending, delivered or failed/);
  });

  it('two processes claiming due notices at the same moment never take the same one, and leave none behind', async () => {
    // PostgreSQL: a second connection, as another process has; SQLite: one writer per process anyway.
    const other = TEST_DATABASE === 'postgres' ? openTestDatabase(join(s.h.dir, 'journal.db')) : s.h.db;
    try {
      const mine = createNotificationStore(s.h.db);
      const theirs = createNotificationStore(other);
      const subscription = (await mine.subscription(emailSub))!;
      const now = s.h.clock.now();
      const ids = await mine.enqueue(Array.from({ length: 30 }, (_, i) => ({
        subscription, notice: { kind: 'test' as const, organizationId: null, dedupeKey: `race:${now}:${i}`, subject: 'race', body: 'race', payload: {} },
      })), now);
      expect(ids).toHaveLength(30);
      const [a, b] = await Promise.all([
        mine.claimDue({ now, limit: 20, owner: 'host-a:1:x', leaseMs: 60_000 }),
        theirs.claimDue({ now, limit: 20, owner: 'host-b:2:y', leaseMs: 60_000 }),
      ]);
      const taken = [...a, ...b].map((n) => n.notificationId);
      expect(new Set(taken).size, 'no notice taken twice').toBe(taken.length);
      // Each asked for 20 of 30: the one that lost rows to the other looked again, so all 30 went.
      expect(taken.filter((id) => ids.includes(id)).length).toBe(30);
      // A lease held is not taken again until it runs out; then it is.
      expect(await theirs.claimDue({ now: now + 1, limit: 50, owner: 'host-b:2:y', leaseMs: 60_000 })).toHaveLength(30 - a.length);
      expect((await mine.claimDue({ now: now + 61_000, limit: 50, owner: 'host-c:3:z', leaseMs: 60_000 })).length).toBe(30);
      for (const id of ids) await mine.attemptFailed(id, 'host-c:3:z', { attempts: 1, error: 'a test of leases', nextAttemptAt: now, final: true });
    } finally {
      if (other !== s.h.db) await other.close();
    }
  });

  it('the retry waits double from 30 s up to an hour; the signature is HMAC-SHA256 over "t.body"', () => {
    const retry = { firstDelayMs: 30_000, maxDelayMs: 3_600_000, maxAttempts: 10 };
    expect([1, 2, 3, 7, 8, 9].map((n) => retryDelay(n, retry))).toEqual([30_000, 60_000, 120_000, 1_920_000, 3_600_000, 3_600_000]);
    expect(signNotification('whsec_test', '{"a":1}', 1_700_000_000)).toBe(`t=1700000000,v1=${createHmac('sha256', 'whsec_test').update('1700000000.{"a":1}').digest('hex')}`);
    expect(parseSmtpUrl('smtps://mail%40corp:p%40ss@mail.example.com')).toEqual({ host: 'mail.example.com', port: 465, secure: true, user: 'mail@corp', password: 'p@ss' });
    expect(() => parseSmtpUrl('http://mail.example.com')).toThrow(/smtp:\/\/ or smtps:\/\//);
  });
});

describe('sunset serve: the mail settings', () => {
  it('refuses a password in --smtp-url, a URL that is not SMTP and a bad --mail-from, naming the option and never echoing the password', async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--smtp-url', 'smtp://mailer:hunter2-secret@127.0.0.1:2525'], {}, /--smtp-url: a password does not belong on the command line/],
      [['--smtp-url', 'https://mail.example.com'], {}, /--smtp-url: the SMTP URL must start with smtp:\/\/ or smtps:\/\//],
      [[], { SUNSET_SMTP_URL: 'smtp://127.0.0.1:2525', SUNSET_MAIL_FROM: 'not an address' }, /SUNSET_MAIL_FROM: "not an address" is not an address to send from/],
      [['--mail-from', 'sunset@example.com'], {}, /--mail-from is for e-mail notifications: give the mail server with --smtp-url too/],
    ];
    for (const [args, env, message] of cases) {
      const exit = await runMain(['serve', '--port', '0', ...args], { env });
      expect(exit.code, exit.stderr).toBe(2);
      expect(exit.stderr).toMatch(message);
      expect(exit.stderr + exit.stdout).not.toContain('hunter2-secret');
    }
  });
});
