/**
 * The crash suite's storage and dependency failures:
 *
 * - The journal's disk fills up, or the file turns read-only, in the middle of an apply. SQLite's
 *   own errors (SQLITE_FULL "database or disk is full", SQLITE_READONLY) are injected at the
 *   journal's SQL port after N successful writes (a failpoint: the machine's disk cannot be filled
 *   safely from a test). The apply must stop with that error, no contact may have been changed in
 *   the emulator without its step being recorded (in flight or done), and once the journal can be
 *   written again a resume finishes the run with no contact changed twice; the journal is sound.
 * - The emulator (standing in for Zoho) is killed with SIGKILL and restarted on the same port and
 *   state file while `sunset apply` runs: the apply (resumed if it had to give up) ends with every
 *   planned contact inactive and each marked inactive exactly once, by the contact's own history
 *   (its comments, which the emulator keeps in its state file across the restart).
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { applyRun, checkJournal, createJournal, createRunFromPlan, type SqlDatabase, type SqlValue } from '../../src/engine/index.js';
import { createHarness, type ChildProc, type Exit } from '../helpers/cli.js';
import { scanAndPlan, startEngineHarness, successfulStatusChanges, type EngineHarness } from '../helpers/engine.js';
import { until } from '../helpers/service.js';
import { testLocation } from '../helpers/database.js';

/** The journal's SQL port, failing every write with a SQLite error once `afterWrites` writes went through, until healed. */
function failingWrites(inner: SqlDatabase, code: 'SQLITE_FULL' | 'SQLITE_READONLY', afterWrites: number): { db: SqlDatabase; heal(): void; failures(): number } {
  let writes = 0;
  let failures = 0;
  let healed = false;
  const message = code === 'SQLITE_FULL' ? 'database or disk is full' : 'attempt to write a readonly database';
  const write = (): void => {
    if (healed) return;
    writes++;
    if (writes > afterWrites) {
      failures++;
      throw Object.assign(new Error(message), { code });
    }
  };
  const wrap = (db: SqlDatabase): SqlDatabase => ({
    dialect: db.dialect,
    all: <T>(sql: string, params?: readonly SqlValue[]) => db.all<T>(sql, params),
    get: <T>(sql: string, params?: readonly SqlValue[]) => db.get<T>(sql, params),
    async run(sql, params) {
      write();
      return db.run(sql, params);
    },
    async exec(sql) {
      write();
      return db.exec(sql);
    },
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    close: () => db.close(),
  });
  return { db: wrap(inner), heal: () => void (healed = true), failures: () => failures };
}

describe('the journal\'s disk fills up or turns read-only during an apply', () => {
  const harnesses: EngineHarness[] = [];
  afterAll(async () => {
    for (const h of harnesses) await h.close();
  });

  it.each([
    ['SQLITE_FULL', 9],
    ['SQLITE_READONLY', 4],
    ['SQLITE_FULL', 17],
  ] as const)('%s after %i writes: stops, nothing changed unrecorded, the resume finishes with no contact changed twice', async (code, afterWrites) => {
    const h = await startEngineHarness({ contacts: 200, randomSeed: afterWrites });
    harnesses.push(h);
    const { plan } = await scanAndPlan(h);
    expect(plan.steps.length).toBeGreaterThanOrEqual(10);
    const run = await createRunFromPlan(h.journal, plan, 'ana@example.com', h.clock.now());
    const since = await h.lastSeq();

    const failing = failingWrites(h.db, code, afterWrites);
    const broken = createJournal(failing.db);
    const error = await applyRun({ journal: broken, port: h.port, runId: run.runId, owner: 'host:1:a', clock: h.clock, concurrency: 3 }).then(() => undefined, (e: unknown) => e);
    expect(error, 'the apply stopped with the storage error').toMatchObject({ code });
    expect(failing.failures()).toBeGreaterThan(0);

    // Every contact Zoho changed has its step recorded: in flight (to be settled) or done.
    const steps = new Map((await h.journal.steps(run.runId)).map((s) => [s.contactId, s]));
    const changedAtStop = successfulStatusChanges(await h.requests({ since }));
    for (const id of changedAtStop.keys()) expect(['in_flight', 'done'], `step of ${id}`).toContain(steps.get(id)?.state);
    const pendingAtStop = [...steps.values()].filter((s) => s.state === 'pending').length;
    expect(pendingAtStop, 'the stop came before the end').toBeGreaterThan(0);

    // Space is freed: a new process resumes on the same file.
    failing.heal();
    await new Promise((r) => setTimeout(r, 50)); // let the stopped worker's last writes settle
    const c = h.newSide();
    const result = await applyRun({ journal: h.journal, port: c.port, runId: run.runId, owner: 'host:2:b', clock: h.clock, isDead: (o) => o === 'host:1:a' });
    expect(result.counts).toMatchObject({ total: plan.steps.length, changed: plan.steps.length, pending: 0, inFlight: 0, failed: 0, skipped: 0 });
    const changes = successfulStatusChanges(await h.requests({ since }));
    expect([...changes.keys()].sort()).toEqual(plan.steps.map((s) => s.contactId).sort());
    for (const [id, statuses] of changes) expect(statuses, `contact ${id}`).toEqual(['inactive']);
    expect(await checkJournal(h.journal, h.db)).toEqual([]);
    console.log(`[storage] ${code} after ${afterWrites} writes: ${changedAtStop.size} of ${plan.steps.length} changed at the stop, ${pendingAtStop} pending; resumed to ${result.counts.changed} changed, none twice`);
  });
});

describe('the emulator is killed and restarted while `sunset apply` runs', () => {
  const cli = createHarness();
  afterEach(async () => cli.cleanup());
  afterAll(async () => cli.cleanupAll());

  const freePort = (): Promise<number> => new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

  it('every planned contact ends inactive, marked inactive once by its own history', async () => {
    const dir = cli.temp('sunset-emulator-restart-');
    const port = await freePort();
    const state = join(dir, 'books.db');
    const startEmulator = async (extra: string[]): Promise<{ proc: ChildProc; info: { baseUrl: string; organizations: Array<{ organization_id: string }> } }> => {
      const proc = cli.spawn(['emulator', 'start', '--port', String(port), '--db', state, '--json', '--contacts', '300', '--per-minute', '6000', '--daily', '100000', ...extra], { timeoutMs: 120_000 });
      await proc.waitFor((out) => out.includes('\n'));
      return { proc, info: JSON.parse(proc.stdout.split('\n')[0]!) as never };
    };
    const first = await startEmulator(['--fault', 'latency:200,method=post,path=/contacts/*/inactive']);
    const origin = `http://127.0.0.1:${port}`;
    const organization = first.info.organizations[0]!.organization_id;
    const admin = async <T>(path: string): Promise<T> => (await (await fetch(`${origin}/__emulator/${path}`)).json()) as T;
    const db = testLocation(join(dir, 'sunset.db'));
    const env = { SUNSET_HOME: join(dir, 'home'), SUNSET_EMULATOR_URL: origin };
    const run = (args: string[]): Promise<Exit> => cli.run([...args, '--database', db], { cwd: dir, env, timeoutMs: 120_000 });
    writeFileSync(join(dir, 'policy.yaml'), `organization_id: "${organization}"\ninactivity: 24 months\nfilters:\n  contact_type: [vendor]\nmax_changes: 30\n`);
    expect((await run(['scan', '--policy', 'policy.yaml', '--quiet'])).code).toBe(0);
    const planned = await run(['plan', '--policy', 'policy.yaml', '--json']);
    const plan = JSON.parse(planned.stdout) as { planId: string; steps: Array<{ contactId: string }> };
    expect(plan.steps.length).toBe(30);

    const apply = cli.spawn(['apply', plan.planId, '--yes', '--concurrency', '2', '--no-fingerprint', '--database', db], { cwd: dir, env, timeoutMs: 120_000 });
    // Killed once a few changes went through, restarted a moment later on the same port and file.
    await until(async () => {
      const log = await admin<{ requests: Array<{ method: string; path: string; status: number }> }>('requests?method=POST&limit=1000');
      return log.requests.filter((r) => r.path.endsWith('/inactive') && r.status === 200).length >= 5 ? true : undefined;
    }, 'five status changes before the kill', 60_000);
    first.proc.kill('SIGKILL');
    expect((await first.proc.exited).signal).toBe('SIGKILL');
    await new Promise((r) => setTimeout(r, 1_500));
    const second = await startEmulator([]);

    const applied = await apply.exited;
    let resumed: Exit | undefined;
    if (applied.code !== 0) {
      // It gave up while Zoho was away: a clear message naming the resume, then the resume.
      expect(applied.signal).toBeNull();
      expect(applied.stderr).toMatch(/--resume/);
      const runId = /Run (run-\S+) started\./.exec(applied.stderr)![1]!;
      resumed = await run(['apply', '--resume', runId, '--yes', '--quiet']);
      expect(resumed.code, resumed.stderr).toBe(0);
    }

    // The contacts' own history (kept in the emulator's file across the restart).
    let once = 0;
    for (const step of plan.steps) {
      const contact = (await (await fetch(`${origin}/books/v3/contacts/${step.contactId}?organization_id=${organization}`, { headers: { authorization: `Zoho-oauthtoken ${(second.info as unknown as { accessToken: string }).accessToken}` } })).json()) as { contact: { status: string } };
      expect(contact.contact.status, `contact ${step.contactId}`).toBe('inactive');
      const comments = (await (await fetch(`${origin}/books/v3/contacts/${step.contactId}/comments?organization_id=${organization}`, { headers: { authorization: `Zoho-oauthtoken ${(second.info as unknown as { accessToken: string }).accessToken}` } })).json()) as { contact_comments: Array<{ description: string }> };
      const marks = comments.contact_comments.filter((c) => c.description === 'Contact marked as inactive.').length;
      expect(marks, `times contact ${step.contactId} was marked inactive`).toBe(1);
      once++;
    }
    const checked = await run(['runs', 'check']);
    expect(checked.code, checked.stdout).toBe(0);
    console.log(`[storage] emulator killed and restarted mid-apply: the apply ${applied.code === 0 ? 'carried on by itself' : 'stopped and was resumed'}; ${once} contacts inactive, each marked inactive once; journal sound`);
    second.proc.kill('SIGTERM');
  });
});
