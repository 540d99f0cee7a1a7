/**
 * `sunset worker`s on one PostgreSQL database (the postgres project), through the built CLI, real
 * processes and real signals: `sunset serve --no-work` queues a scan and an approved run; two
 * workers share the queue; the one holding the run is killed with SIGKILL in the middle of it and
 * the other finishes it, with no contact changed twice and `sunset runs check` sound; SIGUSR2 makes
 * a worker say what it holds; SIGTERM stops a worker gracefully. On SQLite (the sqlite project)
 * a worker refuses with a clear message: there is no queue to share.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultPolicyText } from '../../src/engine/index.js';
import type { OrganizationView, PlanDetail, RunDetail, RunStarted } from '../../src/service/index.js';
import { createHarness, pollUntil, type ChildProc, type Exit } from '../helpers/cli.js';
import { POSTGRES_TEST_URL, TEST_DATABASE, testLocation } from '../helpers/database.js';
import { PASSWORD, signIn, USER, type HttpResult, type SignedIn } from '../helpers/service.js';

const h = createHarness();
afterAll(async () => h.cleanupAll());

/**
 * A GET that asks once more when the connection was reset under it (a kept-alive socket closed as
 * it was reused, seen now and then while workers freeze); any other failure is the test's.
 */
async function steady<T>(session: SignedIn, path: string): Promise<HttpResult<T>> {
  try {
    return await session.get<T>(path);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    await new Promise((r) => setTimeout(r, 100));
    return session.get<T>(path);
  }
}

/** The notices a webhook on loopback received, in order. */
interface Notice {
  type: string;
  subject: string;
  url: string | null;
  data: { runId?: string; planId?: string; steps?: number };
}

/** A webhook receiver on loopback, subscribed by the signed-in user to one kind of notice. */
async function subscribeWebhook(session: SignedIn, kind: string): Promise<{ received: Notice[]; close(): void }> {
  const received: Notice[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push(JSON.parse(body) as Notice);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sunset`;
  const subscribed = await session.request('POST', '/api/notifications/subscriptions', { body: { channel: 'webhook', address, events: [kind] } });
  expect(subscribed.status, subscribed.text).toBe(201);
  return { received, close: () => server.close() };
}

const show = (what: string, e: Exit): string => `${what}: exit ${e.code} (${e.signal})\n${e.stdout}\n${e.stderr}`;

/**
 * A test's own database with its first user, and the environment its processes share: short queue
 * heartbeats, so a test sees a takeover in seconds, as an operator may set them. `serve` and
 * `worker` start those processes (for as long as the test: the harness's 60 s kill is off) and
 * wait until they say they are ready; `serve` also signs in.
 */
async function clusterHome(prefix: string, extraEnv: Record<string, string> = {}) {
  const dir = h.temp(prefix);
  const database = testLocation(join(dir, 'sunset.db'));
  const env = { SUNSET_HOME: join(dir, 'home'), SUNSET_QUEUE_HEARTBEAT_S: '10', SUNSET_QUEUE_SUPERVISE_S: '2', ...extraEnv };
  const user = await h.run(['users', 'add', USER, '--database', database], { cwd: dir, env: { ...env, SUNSET_PASSWORD: PASSWORD } });
  expect(user.code, show('users add', user)).toBe(0);
  return {
    dir, database, env,
    async serve(args: string[]): Promise<{ serve: ChildProc; origin: string; session: SignedIn }> {
      const serve = h.spawn(['serve', '--port', '0', '--no-work', ...args], { cwd: dir, env, timeoutMs: 0 });
      await serve.waitFor((out) => /Sunset is serving http:\/\/\S+/.test(out));
      const origin = /Sunset is serving (http:\/\/[^\s]+)/.exec(serve.stdout)![1]!;
      return { serve, origin, session: await signIn(origin) };
    },
    async worker(args: string[], ready = /is working the job queue/): Promise<ChildProc> {
      const worker = h.spawn(['worker', ...args], { cwd: dir, env, timeoutMs: 0 });
      await worker.waitFor((out) => ready.test(out));
      return worker;
    },
  };
}

describe.runIf(TEST_DATABASE === 'sqlite')('sunset worker on SQLite', () => {
  it('refuses, saying a worker needs PostgreSQL, and changes nothing', async () => {
    const dir = h.temp('sunset-worker-sqlite-');
    const exit = await h.run(['worker', '--database', join(dir, 'sunset.db')], { cwd: dir });
    expect(exit.code, show('worker', exit)).toBe(2);
    expect(exit.stderr).toMatch(/A worker shares the work through a PostgreSQL database/);
    expect(exit.stderr).not.toMatch(/\n\s+at /);
  });
  it('--public-url (and its twin SUNSET_PUBLIC_URL) must be a scheme and a host, for serve and worker alike', async () => {
    const dir = h.temp('sunset-worker-public-url-');
    for (const [command, args, env, label] of [
      ['worker', ['--public-url', 'ftp://sunset.example.com'], {}, '--public-url'],
      ['worker', [], { SUNSET_PUBLIC_URL: 'https://sunset.example.com/sunset' }, 'SUNSET_PUBLIC_URL'],
      ['serve', ['--public-url', 'not a url'], {}, '--public-url'],
    ] as const) {
      const exit = await h.run([command, '--database', join(dir, 'sunset.db'), ...args], { cwd: dir, env: { ...process.env, ...env } });
      expect(exit.code, show(command, exit)).toBe(2);
      expect(exit.stderr).toContain(`${label}: "`);
      expect(exit.stderr).toMatch(/is not an address like https:\/\/sunset\.example\.com \(scheme and host, no path\)/);
      expect(exit.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe.runIf(TEST_DATABASE === 'postgres')('sunset workers on one PostgreSQL database', () => {
  it('share the queue; a worker killed mid-run is replaced by another within a minute; SIGUSR2 reports; SIGTERM stops gracefully', { timeout: 180_000 }, async () => {
    // Slow answers, so the run is still going when its worker is killed.
    const emu = await h.startEmulator(['--contacts', '300', '--per-minute', '6000', '--daily', '100000', '--latency', '120']);
    const organization = emu.organization;
    const home = await clusterHome('sunset-worker-cluster-', { LOG_LEVEL: 'info' });
    const { dir, database, env } = home;
    const common = ['--database', database, '--emulator', emu.origin, '--per-minute', '6000'];

    const { serve, session } = await home.serve(common);
    const saved = await session.request('PUT', `/api/orgs/${organization}/policy`, { body: { text: defaultPolicyText(organization) } });
    expect(saved.status, saved.text).toBe(200);

    // No worker yet: the scan waits in the queue, shown as the organization's job.
    const scan = await session.request<{ jobId: string }>('POST', `/api/orgs/${organization}/scan`);
    expect(scan.status, scan.text).toBe(202);
    const waiting = await steady<OrganizationView[]>(session, '/api/orgs');
    expect(waiting.json.find((o) => o.organizationId === organization)?.activeJob).toMatchObject({ kind: 'scan' });

    const workers: ChildProc[] = [];
    for (let i = 0; i < 2; i++) {
      workers.push(await home.worker([...common, '--concurrency', '2', '--metrics-port', '0'], /Sunset worker \S+ is working the job queue.* Metrics: http:\/\/\S+\/metrics\./));
    }
    // Metrics away from loopback need a token: refused, before anything starts.
    const open = await h.run(['worker', ...common, '--metrics-port', '0', '--metrics-host', '0.0.0.0'], { cwd: dir, env });
    expect(open.code, show('worker --metrics-host 0.0.0.0', open)).toBe(2);
    expect(open.stderr).toMatch(/not a loopback address: give Prometheus a token/);
    const plan = await pollUntil(async () => {
      const orgs = await steady<OrganizationView[]>(session, '/api/orgs');
      return orgs.json.find((o) => o.organizationId === organization)?.latestPlan ?? undefined;
    }, 'the plan of the queued scan', 60_000);
    expect(plan.steps).toBeGreaterThan(20);

    const seq0 = await emu.seq();
    const approved = await session.request<RunStarted>('POST', `/api/plans/${plan.planId}/approve`, { body: {} });
    expect(approved.status, approved.text).toBe(202);
    const runId = approved.json.runId;

    // Wait until some steps are done, then kill the worker that drives the run.
    const holder = await pollUntil(async () => {
      const detail = await steady<RunDetail>(session, `/api/runs/${runId}`);
      const driver = detail.json.run.driver?.owner;
      return detail.json.counts.changed + detail.json.counts.unchanged >= 5 && driver ? driver : undefined;
    }, 'the run under way', 60_000);
    const pid = Number(holder.split(':')[1]);
    const victim = workers.find((w) => w.child.pid === pid);
    expect(victim, `the driver ${holder} is one of the workers (${workers.map((w) => w.child.pid).join(', ')})`).toBeDefined();
    const survivor = workers.find((w) => w !== victim)!;
    victim!.kill('SIGKILL');
    const killedAt = Date.now();
    await victim!.exited;

    // SIGUSR2: the survivor says what it holds, one JSON line.
    survivor.child.kill('SIGUSR2');
    await survivor.waitFor((_out, err) => /\{"worker":"[^"]+","held":\[/.test(err));

    const finished = await pollUntil(async () => {
      const detail = await steady<RunDetail>(session, `/api/runs/${runId}`);
      return detail.json.run.state === 'done' ? detail.json : undefined;
    }, 'the run finished by the other worker', 90_000);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(60_000 + 30_000);
    expect(finished.counts.changed + finished.counts.unchanged + finished.counts.skipped).toBe(plan.steps);
    expect(finished.steps.every((s) => s.state === 'done' || s.state === 'skipped')).toBe(true);
    expect(finished.run.driver).toBeNull();

    // The survivor's /metrics: the run's job done there, its Zoho calls counted; no organization named.
    const metricsUrl = /Metrics: (http:\/\/\S+\/metrics)\./.exec(survivor.stdout)![1]!;
    const scraped = await (await fetch(metricsUrl)).text();
    expect(Number(/^sunset_worker_jobs_total\{result="done"\} (\d+)/m.exec(scraped)?.[1] ?? 0), scraped.slice(0, 2000)).toBeGreaterThanOrEqual(1);
    expect(Number(/^sunset_zoho_call_duration_seconds_count\{outcome="2xx",code="0"\} (\d+)/m.exec(scraped)?.[1] ?? 0)).toBeGreaterThan(0);
    expect(scraped).toMatch(/^sunset_worker_jobs_held\{kind="apply"\} 0$/m);
    expect(scraped).not.toContain(organization);

    // No contact changed twice: at most one successful status change per contact.
    const changes = new Map<string, number>();
    for (const p of (await emu.statusPosts(seq0)).filter((x) => x.code === 0)) changes.set(p.contactId, (changes.get(p.contactId) ?? 0) + 1);
    expect([...changes.entries()].filter(([, n]) => n > 1)).toEqual([]);
    const inactive = await emu.inactiveIds();
    for (const s of finished.steps) expect(inactive.has(s.contactId), s.contactId).toBe(true);

    const check = await h.run(['runs', 'check', '--database', database], { cwd: dir, env });
    expect(check.code, show('runs check', check)).toBe(0);

    // SIGTERM: the survivor stops gracefully, within its stop timeout.
    const stoppedAt = Date.now();
    survivor.kill('SIGTERM');
    const exit = await survivor.exited;
    expect(exit.code, show('worker', exit)).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(32_000);
    expect(exit.stderr).toMatch(/Stopping: no new job/);
    for (const secret of h.secrets) expect(`${exit.stdout}${exit.stderr}${serve.stderr}`).not.toContain(secret);
    serve.kill('SIGINT');
    expect((await serve.exited).code).toBe(0);
  });
  it('CRM events are jobs: accepted while no worker is up, they wait; a worker that starts applies them, each once', { timeout: 120_000 }, async () => {
    const emu = await h.startEmulator(['--contacts', '200', '--per-minute', '6000', '--daily', '100000']);
    const organization = emu.organization;
    const home = await clusterHome('sunset-worker-crm-');
    const { dir, database, env } = home;
    const common = ['--database', database, '--emulator', emu.origin, '--per-minute', '6000'];
    const { serve, origin, session } = await home.serve(common);
    const hook = await session.request<{ secret: string }>('PUT', `/api/orgs/${organization}/webhook`, { body: { mode: 'secret' } });
    expect(hook.status, hook.text).toBe(200);
    const seq0 = await emu.seq();
    const targets = (await emu.contacts()).filter((c) => c.status === 'active').slice(0, 3);
    expect(targets).toHaveLength(3);
    for (const [i, c] of targets.entries()) {
      const accepted = await fetch(`${origin}/hooks/crm/${organization}`, {
        method: 'POST', body: JSON.stringify({ books_contact_id: c.contact_id, status: 'Churned', event_id: `crm-job-${i}` }),
        headers: { 'content-type': 'application/json', 'x-sunset-secret': hook.json.secret },
      });
      expect(accepted.status).toBe(202);
    }
    // No worker: serve applies nothing itself; the events wait, durable.
    await new Promise((r) => setTimeout(r, 3_000));
    const waiting = await steady<Array<{ state: string }>>(session, `/api/webhooks?org=${organization}`);
    expect(waiting.json.map((e) => e.state)).toEqual(['accepted', 'accepted', 'accepted']);
    for (const c of targets) expect(await emu.status(c.contact_id)).toBe('active');

    const worker = await home.worker(common);
    const settled = await pollUntil(async () => {
      const r = await steady<Array<{ state: string }>>(session, `/api/webhooks?org=${organization}`);
      return r.json.length === 3 && r.json.every((e) => e.state !== 'accepted' && e.state !== 'processing') ? r.json : undefined;
    }, 'the CRM events applied by the worker', 60_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\nworker:\n${worker.stderr.slice(-3000)}\nserve:\n${serve.stderr.slice(-2000)}`);
    });
    expect(settled.map((e) => e.state)).toEqual(['applied', 'applied', 'applied']);
    for (const c of targets) expect(await emu.status(c.contact_id)).toBe('inactive');
    const changes = new Map<string, number>();
    for (const p of (await emu.statusPosts(seq0)).filter((x) => x.code === 0)) changes.set(p.contactId, (changes.get(p.contactId) ?? 0) + 1);
    expect([...changes.values()]).toEqual([1, 1, 1]);
    expect(worker.stderr).toMatch(/"kind":"crm"/);
    expect((await h.run(['runs', 'check', '--database', database], { cwd: dir, env })).code).toBe(0);
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    serve.kill('SIGINT');
    expect((await serve.exited).code).toBe(0);
  });
  it('a schedule on the cluster: pg-boss\'s minute tick queues the scan, the worker that plans it queues the auto-apply within the cap, and the run\'s notice is delivered from the queue', { timeout: 200_000 }, async () => {
    const emu = await h.startEmulator(['--contacts', '200', '--per-minute', '6000', '--daily', '100000']);
    const organization = emu.organization;
    const home = await clusterHome('sunset-worker-schedule-');
    const common = ['--database', home.database, '--emulator', emu.origin, '--per-minute', '6000'];
    const { serve, session } = await home.serve(common);
    expect((await session.request('PUT', `/api/orgs/${organization}/policy`, { body: { text: defaultPolicyText(organization) } })).status).toBe(200);
    const worker = await home.worker(common);
    // A webhook subscription: the run's end is delivered by a pass on the queue (serve works it).
    const { received, close: closeHooks } = await subscribeWebhook(session, 'run.finished');
    const saved = await session.request('PUT', `/api/orgs/${organization}/schedule`, { body: { cron: '* * * * *', autoApplyMax: 100_000 } });
    expect(saved.status, saved.text).toBe(200);
    // Due at the next minute: the tick that finds it (serve's, from pg-boss's cron) queues the scan.
    const run = await pollUntil(async () => {
      const org = (await steady<OrganizationView[]>(session, '/api/orgs')).json.find((o) => o.organizationId === organization);
      return org?.lastRun?.createdBy === 'schedule' && org.lastRun.status === 'done' ? org.lastRun : undefined;
    }, 'the scheduled run applied', 170_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\nworker:\n${worker.stderr.slice(-3000)}\nserve:\n${serve.stderr.slice(-2000)}`);
    });
    expect(worker.stderr).toMatch(/scheduled plan within the auto-apply cap: its run is queued/);
    const detail = await steady<RunDetail>(session, `/api/runs/${run.runId}`);
    expect(detail.json.steps.length).toBeGreaterThan(0);
    const inactive = await emu.inactiveIds();
    for (const step of detail.json.steps) expect(inactive.has(step.contactId), step.contactId).toBe(true);
    const delivered = await pollUntil(async () => received.find((n) => n.type === 'run.finished' && n.data.runId === run.runId), 'the run.finished notice delivered', 30_000);
    expect(delivered).toBeDefined();
    closeHooks();
    expect((await session.request('PUT', `/api/orgs/${organization}/schedule`, { body: { cron: null, autoApplyMax: null } })).status).toBe(200);
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    serve.kill('SIGINT');
    expect((await serve.exited).code).toBe(0);
  });
  it('a scheduled plan left for review is announced though the serve whose tick queued its scan was killed: the worker that made the plan writes the notice, delivered once (by a worker or the other serve)', { timeout: 200_000 }, async () => {
    // Every Books answer takes a second: the scan lasts long enough to lose the serve in it.
    const emu = await h.startEmulator(['--contacts', '200', '--per-minute', '6000', '--daily', '100000', '--latency', '1000']);
    const organization = emu.organization;
    const home = await clusterHome('sunset-worker-review-');
    const common = ['--database', home.database, '--emulator', emu.origin, '--per-minute', '6000'];
    const first = await home.serve(common);
    expect((await first.session.request('PUT', `/api/orgs/${organization}/policy`, { body: { text: defaultPolicyText(organization) } })).status).toBe(200);
    const { received, close: closeHooks } = await subscribeWebhook(first.session, 'plan.review');
    const worker = await home.worker(common);
    // No auto-apply: the plan waits for review.
    expect((await first.session.request('PUT', `/api/orgs/${organization}/schedule`, { body: { cron: '* * * * *', autoApplyMax: null } })).status).toBe(200);
    await worker.waitFor((_out, err) => /"kind":"scan"[^\n]*"msg":"job taken"/.test(err));
    // The serve whose tick queued the scan is lost; another takes its place while the scan goes on.
    first.serve.kill('SIGKILL');
    await first.serve.exited;
    const second = await home.serve(common);
    expect((await second.session.request('PUT', `/api/orgs/${organization}/schedule`, { body: { cron: null, autoApplyMax: null } })).status).toBe(200);
    const notice = await pollUntil(async () => received.find((n) => n.type === 'plan.review'), 'the plan.review notice delivered', 90_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\nworker:\n${worker.stderr.slice(-3000)}\nserve:\n${second.serve.stderr.slice(-2000)}`);
    });
    const planId = notice.data.planId!;
    const plan = await steady<PlanDetail>(second.session, `/api/plans/${planId}`);
    expect(plan.status).toBe(200);
    expect(plan.json.plan.organizationId).toBe(organization);
    expect(plan.json.runId, 'nobody applied it').toBeNull();
    const { deactivate, activate } = plan.json.plan.summary.steps;
    expect(notice.data.steps).toBe(deactivate + activate);
    expect(notice.data.steps).toBeGreaterThan(0);
    // Once, though the worker's word reached every serve listening.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(received.filter((n) => n.type === 'plan.review' && n.data.planId === planId)).toHaveLength(1);
    closeHooks();
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    second.serve.kill('SIGINT');
    expect((await second.serve.exited).code).toBe(0);
  });
  it('with no serve running, a worker takes the minute tick: the schedule due queues its scan (learning the organization\'s time zone), the plan within its cap is applied, and the worker delivers its webhook notice itself', { timeout: 240_000 }, async () => {
    const emu = await h.startEmulator(['--contacts', '120', '--per-minute', '6000', '--daily', '100000']);
    const organization = emu.organization;
    const home = await clusterHome('sunset-worker-ticks-');
    const common = ['--database', home.database, '--emulator', emu.origin, '--per-minute', '6000'];
    // A serve only to save the policy and the schedule; it is gone before the schedule is due.
    const { serve, session } = await home.serve(common);
    expect((await session.request('PUT', `/api/orgs/${organization}/policy`, { body: { text: defaultPolicyText(organization) } })).status).toBe(200);
    expect((await session.request('PUT', `/api/orgs/${organization}/schedule`, { body: { cron: '* * * * *', autoApplyMax: 100_000 } })).status).toBe(200);
    const hooks = await subscribeWebhook(session, 'run.finished');
    serve.kill('SIGINT');
    expect((await serve.exited).code).toBe(0);
    // The serve learned the organization's time zone; forgotten, as by a schedule saved before zones
    // were kept: the worker's tick asks Zoho for it.
    const schema = new URL(home.database).searchParams.get('schema');
    const sql = new pg.Client({ connectionString: POSTGRES_TEST_URL });
    await sql.connect();
    const zoneRow = async (): Promise<string | undefined> =>
      (await sql.query<{ time_zone: string }>(`SELECT time_zone FROM "${schema}".organization_time_zones WHERE organization_id = $1`, [organization])).rows[0]?.time_zone;
    const zone = await zoneRow();
    expect(zone).toBeDefined();
    expect((await sql.query(`DELETE FROM "${schema}".organization_time_zones`)).rowCount).toBeGreaterThan(0);
    const publicUrl = 'https://sunset.example.test';
    const worker = await home.worker([...common, '--public-url', publicUrl]);
    type Row = { run: { runId: string; createdBy: string; organizationId: string }; status: string; counts: { total: number; changed: number } };
    const row = await pollUntil(async () => {
      const runs = await h.run(['runs', '--json', '--database', home.database], { cwd: home.dir, env: home.env });
      expect(runs.code, show('runs', runs)).toBe(0);
      return (JSON.parse(runs.stdout) as Row[]).find((r) => r.run.createdBy === 'schedule' && r.status === 'done');
    }, 'the scheduled run applied by the worker alone', 170_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\nworker:\n${worker.stderr.slice(-3000)}`);
    });
    expect(worker.stderr).toMatch(/schedule due: scanning and planning/);
    expect(worker.stderr).toMatch(/scheduled plan within the auto-apply cap: its run is queued/);
    expect(worker.stderr).toMatch(/organization time zone: schedules run in it/);
    expect(await zoneRow()).toBe(zone);
    await sql.end();
    expect(row.run.organizationId).toBe(organization);
    expect(row.counts.changed).toBeGreaterThan(0);
    const shown = await h.run(['runs', 'show', row.run.runId, '--json', '--database', home.database], { cwd: home.dir, env: home.env });
    const inactive = await emu.inactiveIds();
    const steps = (JSON.parse(shown.stdout) as { steps: Array<{ contactId: string; action: string; outcome: string | null }> }).steps;
    expect(steps.filter((s) => s.outcome === 'changed')).toHaveLength(row.counts.changed);
    for (const step of steps) {
      if (step.outcome === 'changed' && step.action === 'deactivate') expect(inactive.has(step.contactId), step.contactId).toBe(true);
    }
    const check = await h.run(['runs', 'check', '--database', home.database], { cwd: home.dir, env: home.env });
    expect(check.code, show('runs check', check)).toBe(0);

    // The run's end, with no serve to hear of it: the worker wrote its notice (once, with the
    // organization's name and a link to the worker's --public-url), and delivered it (a webhook: no
    // SMTP settings needed), once.
    const delivered = await pollUntil(async () => hooks.received.find((n) => n.type === 'run.finished' && n.data.runId === row.run.runId), 'the notice delivered by the worker alone', 60_000)
      .catch((error: unknown) => {
        throw new Error(`${String(error)}\nworker:\n${worker.stderr.slice(-3000)}`);
      });
    expect(delivered.url).toBe(`${publicUrl}/#/runs/${row.run.runId}`);
    type OutboxRow = { kind: string; state: string; subject: string; body: string };
    const outbox = await h.run(['notifications', 'outbox', '--json', '--database', home.database], { cwd: home.dir, env: home.env });
    expect(outbox.code, show('notifications outbox', outbox)).toBe(0);
    const written = (JSON.parse(outbox.stdout) as OutboxRow[]).filter((n) => n.kind === 'run.finished' && n.subject.includes(row.run.runId));
    expect(written).toHaveLength(1);
    expect(written[0]!.state).toBe('delivered');
    expect(written[0]!.subject).toMatch(new RegExp(`finished in \\S.* \\(${organization}\\)$`));
    expect(written[0]!.subject).not.toContain(`organization ${organization}`);
    expect(written[0]!.body).toContain(`${publicUrl}/#/runs/${row.run.runId}`);
    expect(worker.stderr).toMatch(/notification delivered/);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(hooks.received.filter((n) => n.type === 'run.finished' && n.data.runId === row.run.runId)).toHaveLength(1);
    hooks.close();
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });
  it('a connection added from serve reaches the running workers: they work an organization only it reaches', { timeout: 120_000 }, async () => {
    const first = await h.startEmulator(['--contacts', '50', '--per-minute', '6000']);
    const second = await h.startEmulator(['--dc', 'IN', '--contacts', '60', '--per-minute', '6000']);
    const home = await clusterHome('sunset-worker-connections-');
    const { dir, database, env } = home;
    const added = await h.run(['connections', 'add', 'first', '--emulator', first.origin, '--database', database], { cwd: dir, env });
    expect(added.code, show('connections add', added)).toBe(0);
    // No --emulator: both work through the database's connections (one, so far).
    const { serve, session } = await home.serve(['--database', database]);
    const worker = await home.worker(['--database', database], /is working the job queue .*1 connection/);

    const connection = await session.request('POST', '/api/connections', { body: { name: 'second', emulator: second.origin } });
    expect(connection.status, connection.text).toBe(201);
    await worker.waitFor((_out, err) => /the database's connections changed: read again/.test(err));
    const organization = second.organizations[0]!;
    expect((await session.request('PUT', `/api/orgs/${organization}/policy`, { body: { text: defaultPolicyText(organization) } })).status).toBe(200);
    expect((await session.request('POST', `/api/orgs/${organization}/scan`)).status).toBe(202);
    const plan = await pollUntil(async () => (await steady<OrganizationView[]>(session, '/api/orgs')).json.find((o) => o.organizationId === organization)?.latestPlan ?? undefined, 'the plan of the new connection\'s organization', 60_000)
      .catch((error: unknown) => {
        throw new Error(`${String(error)}\nworker:\n${worker.stderr.slice(-3000)}`);
      });
    expect(plan.planId).toBeTruthy();
    expect(worker.stderr).not.toMatch(/no connection of this service reaches organization/);
    for (const secret of h.secrets) expect(`${worker.stdout}${worker.stderr}${serve.stderr}`).not.toContain(secret);
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    serve.kill('SIGINT');
    expect((await serve.exited).code).toBe(0);
  });
  it('a worker frozen (SIGSTOP) past its leases is replaced; resumed (SIGCONT), its late writes are fenced and it works on', { timeout: 300_000 }, async () => {
    const emu = await h.startEmulator(['--contacts', '300', '--per-minute', '6000', '--daily', '100000', '--latency', '150']);
    const organization = emu.organization;
    const home = await clusterHome('sunset-worker-freeze-');
    const { dir, database, env } = home;
    const common = ['--database', database, '--emulator', emu.origin, '--per-minute', '6000'];
    const { serve, session } = await home.serve(common);
    expect((await session.request('PUT', `/api/orgs/${organization}/policy`, { body: { text: defaultPolicyText(organization) } })).status).toBe(200);
    const workers: ChildProc[] = [];
    for (let i = 0; i < 2; i++) {
      workers.push(await home.worker(common));
    }
    expect((await session.request('POST', `/api/orgs/${organization}/scan`)).status).toBe(202);
    const plan = await pollUntil(async () => (await steady<OrganizationView[]>(session, '/api/orgs')).json.find((o) => o.organizationId === organization)?.latestPlan ?? undefined, 'the plan', 60_000);
    const seq0 = await emu.seq();
    const approved = await session.request<RunStarted>('POST', `/api/plans/${plan.planId}/approve`, { body: {} });
    expect(approved.status, approved.text).toBe(202);
    const runId = approved.json.runId;
    const holder = await pollUntil(async () => {
      const detail = await steady<RunDetail>(session, `/api/runs/${runId}`);
      const driver = detail.json.run.driver?.owner;
      return detail.json.counts.changed + detail.json.counts.unchanged >= 5 && driver ? driver : undefined;
    }, 'the run under way', 60_000);
    const frozen = workers.find((w) => w.child.pid === Number(holder.split(':')[1]))!;
    expect(frozen).toBeDefined();
    frozen.kill('SIGSTOP');
    // The other worker takes the run over once the frozen one's heartbeat and leases lapse.
    const newDriver = await pollUntil(async () => {
      const detail = await steady<RunDetail>(session, `/api/runs/${runId}`);
      const driver = detail.json.run.driver?.owner;
      return driver && driver !== holder ? driver : undefined;
    }, 'another driver', 90_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\nserve (${serve.running ? 'running' : 'ended'}):\n${serve.stderr.slice(-3000)}`);
    });
    expect(newDriver).not.toBe(holder);
    frozen.kill('SIGCONT');
    const finished = await pollUntil(async () => {
      const detail = await steady<RunDetail>(session, `/api/runs/${runId}`);
      return detail.json.run.state === 'done' ? detail.json : undefined;
    }, 'the run finished', 120_000);
    expect(finished.steps.every((s) => s.state === 'done' || s.state === 'skipped')).toBe(true);
    const changes = new Map<string, number>();
    for (const p of (await emu.statusPosts(seq0)).filter((x) => x.code === 0)) changes.set(p.contactId, (changes.get(p.contactId) ?? 0) + 1);
    expect([...changes.entries()].filter(([, n]) => n > 1)).toEqual([]);
    const inactive = await emu.inactiveIds();
    for (const s of finished.steps) expect(inactive.has(s.contactId), s.contactId).toBe(true);
    expect((await h.run(['runs', 'check', '--database', database], { cwd: dir, env })).code).toBe(0);
    // The resumed worker lives on and works: it takes a scan when the other is gone.
    expect(frozen.running).toBe(true);
    const other = workers.find((w) => w !== frozen)!;
    other.kill('SIGTERM');
    expect((await other.exited).code).toBe(0);
    const scan = await session.request<{ jobId: string }>('POST', `/api/orgs/${organization}/scan`);
    expect(scan.status).toBe(202);
    await pollUntil(async () => {
      const latest = (await steady<OrganizationView[]>(session, '/api/orgs')).json.find((o) => o.organizationId === organization)?.latestPlan;
      return latest && latest.planId !== plan.planId ? latest : undefined;
    }, 'a new plan from the resumed worker', 60_000);
    frozen.kill('SIGTERM');
    expect((await frozen.exited).code).toBe(0);
    serve.kill('SIGINT');
    expect((await serve.exited).code).toBe(0);
  });
});
