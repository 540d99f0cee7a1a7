/**
 * `sunset serve` stopped and started again, as real processes (issue 10): the built CLI against a
 * `sunset emulator start` process, on one journal; signals are real.
 *
 * Before: a service stopped with Ctrl-C during a run left it paused (docs/service.md says a
 * restarted service resumes its runs); an approval followed by a SIGTERM 0.3 s later left the run
 * pending for good; a second `serve` on a taken port opened the journal, made list calls for the
 * live run, printed a TypeError stack trace and stalled the run; `apply --resume` from the CLI was
 * accepted while the service applied the run.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanRefusal, createHarness, type ChildProc, type EmulatorProcess, type Exit } from '../helpers/cli.js';
import { PASSWORD, sessionFor, signIn, until, USER, type SignedIn } from '../helpers/service.js';

const h = createHarness();
const FAST = ['--per-minute', '6000', '--daily', '100000'];
let emu: EmulatorProcess;

beforeAll(async () => {
  emu = await h.startEmulator(['--contacts', '400', ...FAST], true);
});
afterEach(async () => {
  await emu.admin('DELETE', '/__emulator/faults');
  await h.cleanup();
});
afterAll(() => h.cleanupAll());

const show = (e: Exit): string => `code ${e.code}\nstdout: ${e.stdout}\nstderr: ${e.stderr}`;

interface Place {
  dir: string;
  db: string;
  env: Record<string, string>;
  cli(args: string[]): Promise<Exit>;
  planId: string;
}

/** A journal with a user and a plan of `changes` steps made against the shared emulator. */
async function place(changes: number): Promise<Place> {
  const dir = h.temp('sunset-restart-');
  const db = join(dir, 'sunset.db');
  const env = { SUNSET_HOME: join(dir, 'home'), SUNSET_PASSWORD: PASSWORD };
  const cli = (args: string[]): Promise<Exit> => h.run([...args, '--db', db], { cwd: dir, env, timeoutMs: 60_000 });
  expect((await cli(['users', 'add', USER])).code).toBe(0);
  expect((await cli(['policy', 'init', 'policy.yaml', '--org', emu.organization, '--emulator', emu.origin])).code).toBe(0);
  writeFileSync(join(dir, 'policy.yaml'), readFileSync(join(dir, 'policy.yaml'), 'utf8').replace(/^max_changes: \d+$/m, `max_changes: ${changes}`));
  expect((await cli(['scan', '--policy', 'policy.yaml', '--emulator', emu.origin, '--per-minute', '6000'])).code).toBe(0);
  const plan = await cli(['plan', '--org', emu.organization, '--json']);
  expect(plan.code, show(plan)).toBe(0);
  return { dir, db, env, cli, planId: (JSON.parse(plan.stdout) as { planId: string }).planId };
}

async function serve(p: Place, port = 0): Promise<{ proc: ChildProc; origin: string }> {
  const proc = h.spawn(['serve', '--emulator', emu.origin, '--db', p.db, '--port', String(port), '--per-minute', '6000'], { cwd: p.dir, env: p.env, timeoutMs: 90_000 });
  await proc.waitFor((out) => /Sunset is serving http:\/\/\S+/.test(out));
  return { proc, origin: /Sunset is serving (http:\/\/[^\s]+)/.exec(proc.stdout)![1]! };
}

type RunView = { run: { state: string; status: string; driver: { owner: string } | null }; counts: { total: number; changed: number; pending: number; inFlight: number } };

async function slowStatusChanges(ms: number): Promise<void> {
  expect((await emu.admin('POST', '/__emulator/faults', { faults: [`latency:${ms},method=POST,path=/contacts/*/inactive`] })).status).toBe(200);
}

async function approve(session: SignedIn, planId: string): Promise<string> {
  const approved = await session.request<{ runId: string }>('POST', `/api/plans/${planId}/approve`, { body: {} });
  expect(approved.status, approved.text).toBe(202);
  return approved.json.runId;
}

describe('a service stopped during a run', () => {
  it('stopped with Ctrl-C (SIGINT): the run is left for the next start, which resumes it without a click', async () => {
    const p = await place(25);
    await slowStatusChanges(400);
    const since = await emu.seq();
    const first = await serve(p);
    const session = await signIn(first.origin);
    const runId = await approve(session, p.planId);
    await until(async () => ((await emu.statusPosts(since)).filter((x) => x.status === 200).length >= 2 ? true : undefined), 'two status changes');
    first.proc.kill('SIGINT');
    const stopped = await first.proc.exited;
    expect(stopped.code, `${stopped.stdout}\n${stopped.stderr}`).toBe(0);
    const left = JSON.parse((await p.cli(['runs', 'show', runId, '--json'])).stdout) as RunView & { status: string };
    expect(left.run).toMatchObject({ state: 'running', driver: null });
    expect(left.status).toBe('interrupted');
    expect(left.counts.pending + left.counts.inFlight).toBeGreaterThan(0);

    await emu.admin('DELETE', '/__emulator/faults');
    const second = await serve(p);
    const again = await sessionFor(second.origin, session.token);
    const done = await until(async () => {
      const r = await again.get<RunView>(`/api/runs/${runId}`);
      return r.json.run.state === 'done' ? r.json : undefined;
    }, 'the run resumed and done');
    expect(done.counts).toMatchObject({ total: 25, changed: 25 });
    const posts = (await emu.statusPosts(since)).filter((x) => x.status === 200);
    expect(new Set(posts.map((x) => x.contactId)).size).toBe(posts.length);
  });

  it('stopped with SIGTERM 0.3 s after an approval: the next start applies the approved run (not pending for good)', async () => {
    const p = await place(5);
    await slowStatusChanges(1_500);
    const first = await serve(p);
    const session = await signIn(first.origin);
    const runId = await approve(session, p.planId);
    await new Promise((r) => setTimeout(r, 300));
    first.proc.kill('SIGTERM');
    expect((await first.proc.exited).code).toBe(0);
    await emu.admin('DELETE', '/__emulator/faults');

    const second = await serve(p);
    const again = await sessionFor(second.origin, session.token);
    const done = await until(async () => {
      const r = await again.get<RunView>(`/api/runs/${runId}`);
      return r.json.run.state === 'done' ? r.json : undefined;
    }, 'the approved run applied after the restart');
    expect(done.counts).toMatchObject({ total: 5, changed: 5 });
    // Approving again is refused: it was approved once, and applied.
    const twice = await again.request('POST', `/api/plans/${p.planId}/approve`, { body: {} });
    expect(twice.status).toBe(409);
  });
});

describe('a second process on a live service\'s journal', () => {
  it('a second `serve` on the taken port stops before it opens the journal: a clear message, no call, the live run unharmed', async () => {
    const p = await place(6);
    await slowStatusChanges(400);
    const first = await serve(p);
    const port = Number(new URL(first.origin).port);
    const session = await signIn(first.origin);
    const since = await emu.seq();
    const runId = await approve(session, p.planId);
    await until(async () => ((await emu.statusPosts(since)).length > 0 ? true : undefined), 'the run under way');
    const journalBefore = statSync(p.db).mtimeMs;
    const seqBefore = await emu.seq();

    const second = await h.run(['serve', '--emulator', emu.origin, '--db', p.db, '--port', String(port)], { cwd: p.dir, env: p.env, timeoutMs: 30_000 });
    expect(second.code, show(second)).toBe(1);
    expect(cleanRefusal(second)).toEqual([]);
    expect(second.stderr).toContain(`Port ${port} is already in use (another Sunset?); pick another with --port. Nothing was started.`);
    expect(second.stderr).not.toMatch(/TypeError|database connection is not open/);
    // The second process made no call: every Books request since came from the first, which
    // drives the run: its status changes and nothing of the second's list calls.
    const lists = (await emu.requests(seqBefore)).filter((r) => r.method === 'GET' && r.path.startsWith('/books/'));
    expect(lists.filter((r) => r.query.last_modified_time === undefined && r.path === '/books/v3/contacts')).toEqual([]);

    const done = await until(async () => {
      const r = await session.get<RunView>(`/api/runs/${runId}`);
      return r.json.run.state === 'done' ? r.json : undefined;
    }, 'the live run done');
    expect(done.counts.changed).toBe(6);
    expect(statSync(p.db).mtimeMs).toBeGreaterThanOrEqual(journalBefore);
  });

  it('`sunset apply --resume RUN` while the service applies it is refused, naming the service\'s process; the run stays the service\'s', async () => {
    const p = await place(6);
    await // Slow enough that the run still applies after the CLI has started, been refused and exited
    // (a few seconds on a loaded machine: at 400 ms the run was sometimes done first).
    await slowStatusChanges(2000);
    const first = await serve(p);
    const session = await signIn(first.origin);
    const since = await emu.seq();
    const runId = await approve(session, p.planId);
    await until(async () => ((await emu.statusPosts(since)).length > 0 ? true : undefined), 'the run under way');

    const resume = await p.cli(['apply', '--resume', runId, '--yes', '--emulator', emu.origin]);
    expect(resume.code, show(resume)).toBe(1);
    expect(cleanRefusal(resume)).toEqual([]);
    expect(resume.stderr).toContain(`is being applied by process ${first.proc.child.pid} on`);
    // The state is still the service's: running, not paused.
    const view = await session.get<RunView>(`/api/runs/${runId}`);
    expect(view.json.run.status).toBe('running');
    const done = await until(async () => {
      const r = await session.get<RunView>(`/api/runs/${runId}`);
      return r.json.run.state === 'done' ? r.json : undefined;
    }, 'the run done');
    expect(done.counts.changed).toBe(6);
  });
});

describe('one policy per organization, shared by the CLI and the service', () => {
  // The defect: after a whole CLI flow the UI still said "Write a policy first".
  it('the UI shows the policy the CLI scanned with, and the CLI scans with the one the UI saved', async () => {
    const p = await place(7);
    const fileText = readFileSync(join(p.dir, 'policy.yaml'), 'utf8');
    const service = await serve(p);
    const session = await signIn(service.origin);
    const organizations = await session.get<Array<{ organizationId: string; policy: { text: string; saved: boolean } }>>('/api/orgs');
    expect(organizations.json.find((o) => o.organizationId === emu.organization)?.policy).toMatchObject({ text: fileText, saved: true });

    const uiText = fileText.replace(/^max_changes: \d+$/m, 'max_changes: 2');
    expect((await session.request('PUT', `/api/orgs/${emu.organization}/policy`, { body: { text: uiText } })).status).toBe(200);
    service.proc.kill('SIGTERM');
    await service.proc.exited;

    const scanned = await p.cli(['scan', '--org', emu.organization, '--emulator', emu.origin, '--per-minute', '6000']);
    expect(scanned.code, show(scanned)).toBe(0);
    const planned = await p.cli(['plan', '--org', emu.organization, '--json']);
    expect(planned.code, show(planned)).toBe(0);
    const plan = JSON.parse(planned.stdout) as { policyText: string; steps: unknown[] };
    expect(plan.policyText).toBe(uiText);
    expect(plan.steps.length).toBeLessThanOrEqual(2);
  });
});
