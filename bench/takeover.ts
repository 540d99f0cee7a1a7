/**
 * Takeover: how long a run stands still when the worker applying it is killed. The built CLI on one
 * PostgreSQL database: a running emulator, `sunset serve --no-work`, and two `sunset worker`s with
 * the default queue timings (heartbeat 10 s, supervision every 5 s). Each trial approves a run (a
 * plan, then its undo, then the undo's... alternately), waits for a few of its steps to be done,
 * kills the worker driving it with SIGKILL, and measures the time from the kill to the next step
 * finished under another owner (the run's next status change). A new worker replaces the killed
 * one, so two are always up.
 *
 *   npx tsx bench/takeover.ts                       # 20 kills
 *   npx tsx bench/takeover.ts --kills 5 --json
 *
 * All processes are on this machine, so the new worker also sees at once that the killed process
 * is gone (its pid): the driver lease (30 s) does not hold it up. A worker lost with its machine
 * waits for that lease as well; see docs/benchmarks.md. Needs PostgreSQL (SUNSET_TEST_POSTGRES or
 * the machine's postgres://postgres@127.0.0.1:5432/postgres); builds first when dist/ is missing.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values } = parseArgs({ options: { kills: { type: 'string' }, json: { type: 'boolean' }, entry: { type: 'string' } } });
const KILLS = Number(values.kills ?? 20);
const ENTRY = resolve(values.entry ?? 'dist/cli/main.js');
if (!existsSync(ENTRY)) execFileSync('npm', ['run', 'build'], { stdio: 'inherit' });
const SERVER = process.env.SUNSET_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/postgres';
const schema = `bench_takeover_${process.pid}`;
const url = new URL(SERVER);
url.searchParams.set('schema', schema);
const DATABASE = url.toString();
const USER = 'bench';
const PASSWORD = 'correct horse battery staple';

const dir = mkdtempSync(join(tmpdir(), 'sunset-takeover-'));
const env = { ...process.env, SUNSET_HOME: join(dir, 'home'), LOG_LEVEL: 'warn' };
const children: ChildProcess[] = [];

function start(args: string[], ready: RegExp): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, [ENTRY, ...args], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stderr!.resume();
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      if (ready.test(line)) resolve({ child, line });
    });
    child.once('exit', (code) => reject(new Error(`sunset ${args[0]} exited (${code}) before it was ready`)));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

try {
  const emulator = await start(['emulator', 'start', '--port', '0', '--json', '--contacts', '400', '--per-minute', '6000', '--daily', '1000000', '--latency', '200'], /^\{/);
  const info = JSON.parse(emulator.line) as { baseUrl: string; organizations: Array<{ organization_id: string }> };
  const origin = info.baseUrl.replace(/\/books\/v3$/, '');
  const organization = info.organizations[0]!.organization_id;
  const common = ['--database', DATABASE, '--emulator', origin, '--per-minute', '6000'];
  execFileSync(process.execPath, [ENTRY, 'users', 'add', USER, '--database', DATABASE], { env: { ...env, SUNSET_PASSWORD: PASSWORD }, cwd: dir, stdio: 'ignore' });
  const serve = await start(['serve', '--port', '0', '--no-work', ...common], /Sunset is serving/);
  const service = /Sunset is serving (http:\/\/\S+)/.exec(serve.line)![1]!;

  const login = await fetch(`${service}/login`, { method: 'POST', body: new URLSearchParams({ username: USER, password: PASSWORD }), redirect: 'manual' });
  const cookie = `sunset_session=${/sunset_session=([^;]*)/.exec(login.headers.get('set-cookie') ?? '')![1]}`;
  const csrf = ((await (await fetch(`${service}/api/session`, { headers: { cookie } })).json()) as { csrfToken: string }).csrfToken;
  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> => {
    const r = await fetch(`${service}${path}`, { method, headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, json: (await r.json().catch(() => ({}))) as T };
  };
  const { defaultPolicyText } = await import('../src/engine/index.js');
  await api('PUT', `/api/orgs/${organization}/policy`, { text: defaultPolicyText(organization) });

  const workers = new Map<number, ChildProcess>();
  const addWorker = async (): Promise<void> => {
    const w = await start(['worker', ...common, '--concurrency', '2'], /is working the job queue/);
    workers.set(w.child.pid!, w.child);
  };
  await addWorker();
  await addWorker();

  await api('POST', `/api/orgs/${organization}/scan`);
  const plan = await until(async () => {
    const orgs = await api<Array<{ organizationId: string; latestPlan: { planId: string; steps: number } | null }>>('GET', '/api/orgs');
    return orgs.json.find((o) => o.organizationId === organization)?.latestPlan ?? undefined;
  }, 'the plan');
  console.error(`plan ${plan.planId}: ${plan.steps} steps; ${KILLS} kills follow`);

  interface Detail { run: { state: string; driver: { owner: string } | null }; counts: { changed: number; unchanged: number; skipped: number }; steps: Array<{ leaseOwner: string | null; finishedAt: number | null; state: string }> }
  const detail = async (runId: string): Promise<Detail> => (await api<Detail>('GET', `/api/runs/${runId}`)).json;
  const finishedSteps = (d: Detail): number => d.counts.changed + d.counts.unchanged + d.counts.skipped;

  let runId = (await api<{ runId: string }>('POST', `/api/plans/${plan.planId}/approve`, {})).json.runId;
  const takeovers: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    // Far enough into the run for a kill mid-way; a run that finished gives way to its undo.
    let d = await detail(runId);
    if (d.run.state === 'done' || finishedSteps(d) > plan.steps - 40) {
      await until(async () => ((await detail(runId)).run.state === 'done' ? true : undefined), 'the run to finish');
      runId = (await api<{ runId: string }>('POST', `/api/runs/${runId}/undo`)).json.runId;
    }
    const before = await until(async () => {
      d = await detail(runId);
      const done = finishedSteps(d);
      return d.run.driver && done >= 3 ? { owner: d.run.driver.owner, done } : undefined;
    }, 'the run under way');
    const pid = Number(before.owner.split(':')[1]);
    const victim = workers.get(pid);
    if (!victim) throw new Error(`the driver ${before.owner} is not one of the workers`);
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    workers.delete(pid);
    // The next step finished by another process: a step done by an owner other than the victim's.
    await until(async () => {
      const now = await detail(runId);
      const moved = now.steps.some((s) => s.state === 'done' && s.finishedAt !== null && s.finishedAt > killedAt && s.leaseOwner !== null && !s.leaseOwner.includes(`:${pid}:`));
      return moved || now.run.state === 'done' ? true : undefined;
    }, 'a step done by another worker');
    const ms = Date.now() - killedAt;
    takeovers.push(ms);
    console.error(`kill ${k + 1}: ${(ms / 1000).toFixed(1)} s`);
    await addWorker();
  }
  const sorted = [...takeovers].sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  console.log(`takeover after SIGKILL of the driving worker (${KILLS} kills): min ${s(sorted[0]!)}, median ${s(q(0.5))}, p90 ${s(q(0.9))}, max ${s(sorted[sorted.length - 1]!)}`);
  if (values.json) console.log(JSON.stringify({ kills: KILLS, takeoverMs: takeovers }));
} finally {
  for (const c of children) c.kill('SIGKILL');
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.query(`DROP SCHEMA IF EXISTS ${schema}_queue CASCADE`);
  await client.end();
  rmSync(dir, { recursive: true, force: true });
}
