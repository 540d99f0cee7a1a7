/**
 * Agency throughput: many organizations, 1, 2 and 4 `sunset worker`s on one PostgreSQL database.
 *
 * One emulator process holds every organization (`--accounts N`: N accounts of two organizations
 * each, beside the first account's), each with Zoho's limits (100 calls a minute per organization;
 * the daily quota raised so no run waits for tomorrow). For each worker count, on a fresh schema:
 * the database gets one connection per account, `sunset serve --no-work` serves the API, and W
 * workers (each `--concurrency` ceil(orgs / W), so together they can hold every organization) do
 * the work. Every organization is scanned and planned, its plan approved, and when a run ends its
 * undo is approved (then the undo's undo...), so each organization always has Zoho work to do.
 *
 * After a warm-up, a window of --minutes is measured from the emulator's own request log:
 * - calls per minute to the Books API against the sum of the organizations' limits;
 * - answers with Zoho codes 44, 45 and 1070 (target: 0);
 * - each organization's busiest minute (a sliding 60 s over the whole trial) against its 100;
 * - the CPU time (user + system, /proc/PID/stat) of the workers, the emulator, serve and PostgreSQL
 *   in the window, per Books call: so how many organizations one worker core keeps at full rate.
 *
 *   npm run bench:agency                                       # 200 organizations; 1, 2, 4 workers
 *   npx tsx bench/agency.ts --orgs 40 --workers 1,2 --minutes 1
 *   npx tsx bench/agency.ts --json
 *   npx tsx bench/agency.ts --workers 1 --pool 40           # each process with 40 PostgreSQL connections
 *
 * Needs PostgreSQL (SUNSET_TEST_POSTGRES or postgres://postgres@127.0.0.1:5432/postgres); builds
 * first when dist/ is missing. Everything runs on this machine: the emulator and PostgreSQL take
 * their share of its cores, which is part of what the figures show.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { BENCH_PASSWORD, signInApi } from './service-children.js';

const { values } = parseArgs({
  options: {
    orgs: { type: 'string' }, workers: { type: 'string' }, minutes: { type: 'string' }, warmup: { type: 'string' },
    contacts: { type: 'string' }, pool: { type: 'string' }, json: { type: 'boolean' }, entry: { type: 'string' },
  },
});
const ORGS = Number(values.orgs ?? 200);
const WORKER_COUNTS = (values.workers ?? '1,2,4').split(',').map(Number);
const MINUTES = Number(values.minutes ?? 2);
const WARMUP_S = Number(values.warmup ?? 60);
// Each further account's organizations get a fifth of --contacts: 1,500 gives them 300 each.
const CONTACTS = Number(values.contacts ?? 1500);
if (!Number.isInteger(ORGS) || ORGS < 2 || ORGS > 202 || WORKER_COUNTS.some((w) => !Number.isInteger(w) || w < 1) || !(MINUTES > 0)) {
  console.error('usage: npx tsx bench/agency.ts [--orgs 2..202] [--workers 1,2,4] [--minutes M] [--warmup S] [--contacts N] [--json]');
  process.exit(2);
}
const ENTRY = resolve(values.entry ?? 'dist/cli/main.js');
if (!existsSync(ENTRY)) execFileSync('npm', ['run', 'build'], { stdio: 'inherit' });
const SERVER = process.env.SUNSET_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/postgres';
const LIMIT_PER_MINUTE = 100;
const TICK = 100; // clock ticks a second in /proc/PID/stat (USER_HZ)

const dir = mkdtempSync(join(tmpdir(), 'sunset-agency-'));
const baseEnv = {
  ...process.env, SUNSET_HOME: join(dir, 'home'), LOG_LEVEL: 'warn', SUNSET_SECRET_KEY: 'a'.repeat(64),
  // --pool N: each process's PostgreSQL connections (SUNSET_DB_POOL; Sunset's default is 10).
  ...(values.pool !== undefined ? { SUNSET_DB_POOL: values.pool } : {}),
};
const children = new Set<ChildProcess>();
const schemas: string[] = [];

function start(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = baseEnv): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, [ENTRY, ...args], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err = (err + c.toString('utf8')).slice(-4000);
  });
  return new Promise((resolvePromise, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      if (ready.test(line)) resolvePromise({ child, line });
    });
    child.once('exit', (code) => reject(new Error(`sunset ${args[0]} exited (${code}) before it was ready:\n${err}`)));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** user + system CPU seconds of a process (0 once it is gone). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return 0;
  }
}

/** PostgreSQL's backends and server processes: every process named postgres. */
function postgresPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() === 'postgres') out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

interface Logged { seq: number; time: string; method: string; path: string; status: number; code: number | null; organization_id: string | null }

interface TrialResult {
  workers: number;
  organizations: number;
  windowSeconds: number;
  callsPerMinute: number;
  limitPerMinute: number;
  share: number;
  answers44: number;
  answers45: number;
  answers1070: number;
  busiestMinute: { max: number; median: number; overLimit: number };
  cpuPerCallMs: { workers: number; emulator: number; serve: number; postgres: number };
  machineBusy: number;
  organizationsPerWorkerCore: number;
  runsFinished: number;
}

async function trial(emulatorOrigin: string, info: EmulatorInfo, workerCount: number): Promise<TrialResult> {
  const schema = `bench_agency_${workerCount}_${process.pid}`;
  schemas.push(schema);
  const url = new URL(SERVER);
  url.searchParams.set('schema', schema);
  const database = url.toString();
  const env = { ...baseEnv, SUNSET_HOME: join(dir, `home-${workerCount}`) };
  execFileSync(process.execPath, [ENTRY, 'users', 'add', 'bench', '--database', database], { env: { ...env, SUNSET_PASSWORD: BENCH_PASSWORD }, cwd: dir, stdio: 'ignore' });
  // The first account through the CLI; serve then works through the database's connections.
  execFileSync(process.execPath, [ENTRY, 'connections', 'add', 'account-0', '--emulator', emulatorOrigin, '--database', database], { env, cwd: dir, stdio: 'ignore' });
  const serve = await start(['serve', '--port', '0', '--no-work', '--database', database], /Sunset is serving/, env);
  const service = /Sunset is serving (http:\/\/\S+)/.exec(serve.line)![1]!;
  // Signed in as the bench user; a refused request throws with its answer.
  const api = await signInApi(service);
  for (const account of info.accounts.slice(1)) {
    await api('POST', '/api/connections', { name: `account-${account.account_id}`, emulator: emulatorOrigin, account: account.account_id });
  }
  const organizations = allOrganizations(info).slice(0, ORGS);
  const { defaultPolicyText } = await import('../src/engine/index.js');
  for (const id of organizations) {
    await api('PUT', `/api/orgs/${id}/policy`, { text: defaultPolicyText(id) });
  }
  const concurrency = Math.min(256, Math.ceil(organizations.length / workerCount) + 2);
  const workers: ChildProcess[] = [];
  for (let i = 0; i < workerCount; i++) workers.push((await start(['worker', '--database', database, '--concurrency', String(concurrency)], /is working the job queue/, env)).child);

  const seq0 = (await admin<{ next_seq: number }>(emulatorOrigin, '/__emulator/requests?since=999999999999999&limit=1')).next_seq;
  for (const id of organizations) await api('POST', `/api/orgs/${id}/scan`);
  console.error(`[${workerCount} worker${workerCount === 1 ? '' : 's'}] ${organizations.length} organizations scanning; warm-up ${WARMUP_S} s, then ${MINUTES} min measured`);

  // Keep every organization busy: approve each plan, and each finished run's undo.
  const wanted = new Set(organizations);
  const approved = new Set<string>();
  let runsFinished = 0;
  let driving = true;
  const driver = (async () => {
    while (driving) {
      const orgs = await api<Array<{ organizationId: string; latestPlan: { planId: string; steps: number } | null; lastRun: { runId: string; status: string } | null }>>('GET', '/api/orgs');
      for (const o of orgs) {
        if (!wanted.has(o.organizationId)) continue;
        if (o.latestPlan && o.latestPlan.steps > 0 && !approved.has(o.latestPlan.planId)) {
          approved.add(o.latestPlan.planId);
          // Each plan and run is asked once; a refusal (already approved, already undone) is not the bench's failure.
          await api('POST', `/api/plans/${o.latestPlan.planId}/approve`, {}).catch(() => undefined);
        } else if (o.lastRun && o.lastRun.status === 'done' && !approved.has(o.lastRun.runId)) {
          approved.add(o.lastRun.runId);
          runsFinished++;
          await api('POST', `/api/runs/${o.lastRun.runId}/undo`).catch(() => undefined);
        }
      }
      await sleep(2_000);
    }
  })();

  // The emulator's log, read every 10 s (it keeps the last 100,000 requests).
  const log: Logged[] = [];
  let since = seq0 - 1;
  const readLog = async (): Promise<void> => {
    for (;;) {
      const page = await admin<{ requests: Logged[]; dropped: number }>(emulatorOrigin, `/__emulator/requests?since=${since}&limit=100000&path_prefix=/books/v3/`);
      if (page.dropped > 0) throw new Error(`the emulator's request log dropped ${page.dropped} entries: read it more often`);
      log.push(...page.requests);
      if (page.requests.length > 0) since = page.requests[page.requests.length - 1]!.seq;
      if (page.requests.length < 100_000) return;
    }
  };
  const cpuNow = (): { workers: number; emulator: number; serve: number; postgres: number; all: number } => {
    const w = workers.reduce((sum, c) => sum + cpuSeconds(c.pid!), 0);
    const e = cpuSeconds(emulatorPid);
    const s = cpuSeconds(serve.child.pid!);
    const p = postgresPids().reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    return { workers: w, emulator: e, serve: s, postgres: p, all: w + e + s + p };
  };
  const warmEnd = Date.now() + WARMUP_S * 1000;
  while (Date.now() < warmEnd) {
    await sleep(Math.min(10_000, warmEnd - Date.now()));
    await readLog();
  }
  const cpu0 = cpuNow();
  const t0 = Date.now();
  const end = t0 + MINUTES * 60_000;
  while (Date.now() < end) {
    await sleep(Math.min(10_000, end - Date.now()));
    await readLog();
  }
  const t1 = Date.now();
  const cpu1 = cpuNow();
  driving = false;
  await driver;

  const inWindow = log.filter((r) => {
    const at = Date.parse(r.time);
    return at >= t0 && at < t1 && r.organization_id !== null;
  });
  const windowSeconds = (t1 - t0) / 1000;
  const calls = inWindow.length;
  const callsPerMinute = calls / (windowSeconds / 60);
  const limitPerMinute = organizations.length * LIMIT_PER_MINUTE;
  const codes = (c: number): number => log.filter((r) => r.code === c).length;
  // Each organization's busiest 60 s, over the whole trial (a sliding window on its requests).
  const byOrg = new Map<string, number[]>();
  for (const r of log) if (r.organization_id !== null) byOrg.set(r.organization_id, [...(byOrg.get(r.organization_id) ?? []), Date.parse(r.time)]);
  const busiest = organizations.map((id) => {
    const times = (byOrg.get(id) ?? []).sort((a, b) => a - b);
    let best = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! >= 60_000) j++;
      best = Math.max(best, i - j + 1);
    }
    return best;
  }).sort((a, b) => a - b);
  const per = (seconds: number): number => (calls === 0 ? 0 : (seconds * 1000) / calls);
  const cpu = { workers: per(cpu1.workers - cpu0.workers), emulator: per(cpu1.emulator - cpu0.emulator), serve: per(cpu1.serve - cpu0.serve), postgres: per(cpu1.postgres - cpu0.postgres) };
  const result: TrialResult = {
    workers: workerCount,
    organizations: organizations.length,
    windowSeconds,
    callsPerMinute,
    limitPerMinute,
    share: callsPerMinute / limitPerMinute,
    answers44: codes(44),
    answers45: codes(45),
    answers1070: codes(1070),
    busiestMinute: { max: busiest[busiest.length - 1] ?? 0, median: busiest[Math.floor(busiest.length / 2)] ?? 0, overLimit: busiest.filter((b) => b > LIMIT_PER_MINUTE).length },
    cpuPerCallMs: cpu,
    machineBusy: (cpu1.all - cpu0.all) / windowSeconds / cpus().length,
    // A worker core is busy 60 s a minute; an organization at full rate asks LIMIT_PER_MINUTE calls.
    organizationsPerWorkerCore: cpu.workers === 0 ? 0 : 60_000 / (cpu.workers * LIMIT_PER_MINUTE),
    runsFinished,
  };
  for (const w of workers) w.kill('SIGTERM');
  serve.child.kill('SIGINT');
  await Promise.all([...workers, serve.child].map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  return result;
}

interface EmulatorInfo {
  baseUrl: string;
  organizations: Array<{ organization_id: string }>;
  accounts: Array<{ account_id: string; organizations: Array<{ organization_id: string }> }>;
}

function allOrganizations(info: EmulatorInfo): string[] {
  return info.accounts.flatMap((a) => a.organizations.map((o) => o.organization_id));
}

async function admin<T>(origin: string, path: string): Promise<T> {
  const r = await fetch(`${origin}${path}`);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

let emulatorPid = 0;
async function cleanup(): Promise<void> {
  for (const c of children) c.kill('SIGKILL');
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect().catch(() => undefined);
  for (const s of schemas) {
    await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => undefined);
    await client.query(`DROP SCHEMA IF EXISTS "${s}_queue" CASCADE`).catch(() => undefined);
  }
  await client.end().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

const results: TrialResult[] = [];
try {
  // Enough accounts for --orgs: the first account's organizations, then two per further account.
  const emulator = await start(['emulator', 'start', '--port', '0', '--json', '--contacts', String(CONTACTS), '--accounts', String(Math.ceil(Math.max(0, ORGS - 2) / 2)), '--daily', '1000000'], /^\{/);
  emulatorPid = emulator.child.pid!;
  const info = JSON.parse(emulator.line) as EmulatorInfo;
  const origin = info.baseUrl.replace(/\/books\/v3$/, '');
  console.error(`emulator: ${allOrganizations(info).length} organizations over ${info.accounts.length} accounts; ${cpus().length} cores`);
  for (const w of WORKER_COUNTS) {
    const r = await trial(origin, info, w);
    results.push(r);
    const f = (n: number): string => n.toFixed(1);
    console.log(
      `${w} worker${w === 1 ? ' ' : 's'}: ${Math.round(r.callsPerMinute)} calls/min of ${r.limitPerMinute} (${(r.share * 100).toFixed(1)}%); ` +
      `44/45/1070: ${r.answers44}/${r.answers45}/${r.answers1070}; busiest minute max ${r.busiestMinute.max}, median ${r.busiestMinute.median} (over ${LIMIT_PER_MINUTE}: ${r.busiestMinute.overLimit}); ` +
      `CPU ms per call: workers ${f(r.cpuPerCallMs.workers)}, emulator ${f(r.cpuPerCallMs.emulator)}, PostgreSQL ${f(r.cpuPerCallMs.postgres)}, serve ${f(r.cpuPerCallMs.serve)}; ` +
      `machine ${(r.machineBusy * 100).toFixed(0)}% busy; one worker core: ${Math.round(r.organizationsPerWorkerCore)} organizations at full rate; runs finished ${r.runsFinished}`,
    );
  }
  if (values.json) console.log(JSON.stringify({ orgs: ORGS, minutes: MINUTES, warmupSeconds: WARMUP_S, cores: cpus().length, pool: values.pool ?? null, results }));
} finally {
  await cleanup();
}
