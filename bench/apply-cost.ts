/**
 * What the whole job costs a user, as they run it: the built CLI against a running emulator
 * (`sunset emulator start --json`, its own child process), command by command — `policy init`,
 * `scan`, `plan`, `apply --yes`, `verify` — each a fresh child process on one temporary journal.
 * The emulator's request log (GET /__emulator/requests) counts the Books API calls each command
 * made, and gives the apply's time to its first status change: from the moment the apply process
 * is spawned to the arrival of its first POST /contacts/{id}/inactive (polled every 50 ms).
 *
 *   npx tsx bench/apply-cost.ts                        # 1,000 contacts (the demo's size), apply at 100 calls a minute
 *   npx tsx bench/apply-cost.ts --contacts 10000 --apply-per-minute 6000
 *   npx tsx bench/apply-cost.ts --json                 # also one JSON line with every figure
 *   npx tsx bench/apply-cost.ts --database postgres    # the journal on PostgreSQL (a schema of its own)
 *
 * Scan, plan and verify run with the emulator's and the CLI's limits raised to 6,000 a minute so
 * the bench finishes; the apply runs at --apply-per-minute (default 100, Zoho's limit) on both
 * sides, with the emulator's per-minute counter reset first, so its time to first change is what
 * a user waits against Zoho. The daily quota is raised (--daily 1000000) so no run waits for a reset.
 * Builds first when dist/ is missing (`npm run build`).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { storageChoice } from './storage-choice.js';

const { values } = parseArgs({
  options: {
    contacts: { type: 'string' },
    'apply-per-minute': { type: 'string' },
    database: { type: 'string' },
    json: { type: 'boolean' },
    entry: { type: 'string' },
  },
});
const N = Number(values.contacts ?? 1000);
const APPLY_PER_MINUTE = Number(values['apply-per-minute'] ?? 100);
const FAST = 6000;
const ENTRY = values.entry ?? 'dist/cli/main.js';
if (!existsSync(ENTRY)) execFileSync('npm', ['run', 'build'], { stdio: 'inherit' });

interface Logged { seq: number; method: string; path: string; status: number }

const emulator = spawn(process.execPath, [ENTRY, 'emulator', 'start', '--port', '0', '--json', '--contacts', String(N), '--per-minute', String(FAST), '--daily', '1000000'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const first = await new Promise<string>((resolve, reject) => {
  const rl = createInterface({ input: emulator.stdout! });
  rl.once('line', resolve);
  emulator.once('exit', (code) => reject(new Error(`the emulator exited (${code})`)));
});
const info = JSON.parse(first) as { baseUrl: string; organizations: Array<{ organization_id: string; name: string }> };
const origin = info.baseUrl.replace(/\/books\/v3$/, '');
const organization = info.organizations[0]!.organization_id;
const dir = mkdtempSync(join(tmpdir(), 'sunset-apply-cost-'));
const storage = storageChoice(values.database, dir, 'apply_cost');
const db = storage.location;
const env = { ...process.env, SUNSET_HOME: join(dir, 'home'), SUNSET_ACTOR: 'bench' };

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${origin}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
  return res.json();
}

async function lastSeq(): Promise<number> {
  const page = (await admin('GET', '/__emulator/requests?limit=1&since=999999999')) as { next_seq: number };
  return page.next_seq;
}

/** Books API calls logged after `since`. */
async function booksCalls(since: number): Promise<Logged[]> {
  const out: Logged[] = [];
  let at = since;
  for (;;) {
    const page = (await admin('GET', `/__emulator/requests?since=${at}&limit=5000&path_prefix=/books/v3`)) as { requests: Logged[]; next_seq: number };
    out.push(...page.requests);
    if (page.requests.length < 5000) return out;
    at = page.requests[page.requests.length - 1]!.seq;
  }
}

async function setPerMinute(perMinute: number): Promise<void> {
  await admin('POST', '/__emulator/limits', { perMinute, resetCounters: true });
}

function cli(args: string[], onSpawn?: () => void): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [ENTRY, ...args, '--database', db, '--emulator', origin], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  onSpawn?.();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started })));
}

const figures: Record<string, unknown> = { contacts: N, applyPerMinute: APPLY_PER_MINUTE, database: storage.kind };
const rows: Array<[string, number, string]> = [];
try {
  const policyFile = join(dir, 'policy.yaml');
  const r = await cli(['policy', 'init', policyFile, '--org', organization]);
  if (r.code !== 0) throw new Error(`policy init: ${r.stderr}`);

  const phase = async (name: string, args: string[], perMinute: number): Promise<{ out: typeof r; calls: Logged[]; sinceSeq: number }> => {
    await setPerMinute(perMinute);
    const sinceSeq = await lastSeq();
    const out = await cli([...args, '--per-minute', String(perMinute)]);
    if (out.code !== 0) throw new Error(`${name} exited ${out.code}: ${out.stderr}`);
    const calls = await booksCalls(sinceSeq);
    rows.push([name, calls.length, `${(out.ms / 1000).toFixed(1)} s`]);
    figures[`${name}Calls`] = calls.length;
    figures[`${name}Ms`] = Math.round(out.ms);
    return { out, calls, sinceSeq };
  };

  await phase('scan', ['scan', '--policy', policyFile], FAST);
  await phase('plan', ['plan', '--policy', policyFile], FAST);

  // The apply, at Zoho's pace: watch the log for its first status change.
  await setPerMinute(APPLY_PER_MINUTE);
  const applySince = await lastSeq();
  let spawnedAt = 0;
  let firstChangeMs: number | undefined;
  let callsBeforeFirst: number | undefined;
  const applying = cli(['apply', '--yes', '--per-minute', String(APPLY_PER_MINUTE)], () => (spawnedAt = performance.now()));
  let finished = false;
  void applying.then(() => (finished = true));
  while (firstChangeMs === undefined && !finished) {
    const calls = await booksCalls(applySince);
    const i = calls.findIndex((c) => c.method === 'POST' && /\/contacts\/\d+\/(in)?active$/.test(c.path));
    if (i >= 0) {
      firstChangeMs = performance.now() - spawnedAt;
      callsBeforeFirst = i;
    } else await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const applied = await applying;
  if (applied.code !== 0) throw new Error(`apply exited ${applied.code}: ${applied.stderr}`);
  const applyCalls = await booksCalls(applySince);
  const statusCalls = applyCalls.filter((c) => c.method === 'POST').length;
  rows.push(['apply', applyCalls.length, `${(applied.ms / 1000).toFixed(1)} s (${statusCalls} status changes)`]);
  figures.applyCalls = applyCalls.length;
  figures.applyStatusCalls = statusCalls;
  figures.applyMs = Math.round(applied.ms);
  figures.firstChangeMs = firstChangeMs === undefined ? null : Math.round(firstChangeMs);
  figures.callsBeforeFirstChange = callsBeforeFirst ?? null;

  const runId = /Run (run-[\w-]+)/.exec(applied.stderr)?.[1] ?? /(run-\d{8}-\d{6}-[0-9a-f]{4})/.exec(applied.stdout)?.[1];
  if (!runId) throw new Error(`no run id in the apply's output:\n${applied.stderr}\n${applied.stdout}`);
  const verified = await phase('verify', ['verify', runId], FAST);
  figures.verifyOk = verified.out.code === 0;

  const total = rows.reduce((n, row) => n + row[1], 0);
  figures.totalCalls = total;
  console.log(`apply-cost: ${N} contacts, apply at ${APPLY_PER_MINUTE} calls a minute, journal on ${storage.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'}; ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(2)}`);
  console.log('| Command | Books API calls | Wall time |');
  console.log('|---|---|---|');
  for (const [name, calls, time] of rows) console.log(`| ${name} | ${calls} | ${time} |`);
  console.log(`| all four | ${total} | |`);
  console.log(`Apply: first status change ${firstChangeMs === undefined ? 'never' : `${(firstChangeMs / 1000).toFixed(1)} s`} after the process started, after ${callsBeforeFirst ?? '?'} other calls.`);
  if (values.json) console.log(JSON.stringify(figures));
} finally {
  emulator.kill('SIGTERM');
  await storage.drop().catch((error: unknown) => console.error(`could not drop the bench's schema: ${String(error)}`));
  rmSync(dir, { recursive: true, force: true });
}
