/**
 * HTTP benchmark of the Zoho Books emulator at 100,000 contacts.
 *
 * Starts `sunset emulator start` as a separate child process (so the load generator does not share
 * its event loop), collects contact ids of the first organization by paging GET /contacts, then
 * drives it with autocannon (programmatically) through three scenarios:
 *
 *   get-by-id  GET  /contacts/{id}                         random ids
 *   status     POST /contacts/{id}/inactive | /active      alternating, each a real state change (code 0)
 *   list       GET  /contacts?per_page=200&page=P          random pages
 *
 * and prints req/s (mean of the per-second samples), p50 / p99 latency, non-2xx and errors, and
 * whether each target of the issue is met.
 *
 *   npx tsx bench/emulator-http.ts
 *   npx tsx bench/emulator-http.ts --duration 5 --connections 20 --scenarios get-by-id,status
 *   npx tsx bench/emulator-http.ts --cpu-prof /tmp/prof     # V8 CPU profile of the emulator child
 *   npx tsx bench/emulator-http.ts --entry dist/cli/main.js # the built CLI instead of src/ through tsx
 *   npx tsx bench/emulator-http.ts --quiet-wait 300         # before each scenario, wait up to 300 s for an idle machine
 *   npx tsx bench/emulator-http.ts --scenarios get-by-id,status,list,baseline
 *                                     # baseline: a bare node:http server answering the same bytes
 *
 * Every flag has an environment twin: BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS,
 * BENCH_CONTACTS, BENCH_IDS, BENCH_STATUS_POOL, BENCH_SCENARIOS, BENCH_CPU_PROF, BENCH_ENTRY,
 * BENCH_QUIET_WAIT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

// ---- autocannon: CommonJS without bundled types; the slice of its API this script uses ----

interface AcRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: AcRequest, context: Record<string, unknown>) => AcRequest | undefined;
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
}

interface AcHistogram {
  mean: number;
  stddev: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
  p99_9: number;
}

interface AcResult {
  requests: AcHistogram & { total: number; sent: number };
  latency: AcHistogram;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  resets: number;
  duration: number;
  statusCodeStats: Record<string, { count: number }>;
}

interface AcOptions {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
  timeout?: number;
  headers?: Record<string, string>;
  requests: AcRequest[];
}

type Autocannon = (options: AcOptions) => PromiseLike<AcResult> & { on(event: string, listener: (...args: unknown[]) => void): void };

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

// ---- options ----

const SCENARIOS = ['get-by-id', 'status', 'list', 'baseline'] as const;
type Scenario = (typeof SCENARIOS)[number];
const DEFAULT_SCENARIOS: readonly Scenario[] = ['get-by-id', 'status', 'list'];

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: process.env.BENCH_DURATION ?? '10' },
    warmup: { type: 'string', default: process.env.BENCH_WARMUP ?? '2' },
    connections: { type: 'string', default: process.env.BENCH_CONNECTIONS ?? '50' },
    contacts: { type: 'string', default: process.env.BENCH_CONTACTS ?? '100000' },
    ids: { type: 'string', default: process.env.BENCH_IDS ?? '20000' },
    'status-pool': { type: 'string', default: process.env.BENCH_STATUS_POOL ?? '10000' },
    scenarios: { type: 'string', default: process.env.BENCH_SCENARIOS ?? DEFAULT_SCENARIOS.join(',') },
    'quiet-wait': { type: 'string', default: process.env.BENCH_QUIET_WAIT ?? '0' },
    'cpu-prof': { type: 'string', default: process.env.BENCH_CPU_PROF },
    entry: { type: 'string', default: process.env.BENCH_ENTRY ?? 'src/cli/main.ts' },
    help: { type: 'boolean' },
  },
});

if (flags.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
  process.exit(0);
}

function intOption(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: a whole number from ${min} to ${max} (got "${raw}")`);
  return n;
}

const DURATION_S = intOption('duration', flags.duration, 1, 3600);
const WARMUP_S = intOption('warmup', flags.warmup, 0, 600);
const CONNECTIONS = intOption('connections', flags.connections, 1, 10_000);
const CONTACTS = intOption('contacts', flags.contacts, 1, 1_000_000);
const ID_COUNT = Math.min(intOption('ids', flags.ids, 1, 1_000_000), CONTACTS);
const STATUS_POOL = intOption('status-pool', flags['status-pool'], 1, 1_000_000);
const QUIET_WAIT_S = intOption('quiet-wait', flags['quiet-wait'], 0, 3600);
if (STATUS_POOL < 4 * CONNECTIONS) throw new Error(`--status-pool must be at least 4 × --connections (${4 * CONNECTIONS}), so no contact is changed twice at once`);
const scenarios = flags.scenarios.split(',').map((s) => s.trim()).filter((s) => s !== '');
for (const s of scenarios) {
  if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--scenarios: ${SCENARIOS.join(', ')} (got "${s}")`);
}

const PER_PAGE = 200;
const TARGET_P99_MS = 25;
const TARGETS: Record<Scenario, number | undefined> = { 'get-by-id': 5000, status: 2000, list: undefined, baseline: undefined };

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---- a small seeded PRNG, so runs pick the same ids and pages ----

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(20261121);
const randomInt = (n: number): number => Math.floor(random() * n);

// ---- the emulator child ----

interface EmulatorInfo {
  baseUrl: string;
  accessToken: string;
  organizations: Array<{ organization_id: string; name: string; plan: string }>;
}

let child: ChildProcess | undefined;
let childStderr = '';

function startEmulator(): Promise<EmulatorInfo> {
  // TypeScript sources run through tsx; a built entry (dist/cli/main.js) runs on plain node.
  const nodeArgs = flags.entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  if (flags['cpu-prof']) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', resolve(flags['cpu-prof']));
  const args = [...nodeArgs, flags.entry, 'emulator', 'start', '--port', '0', '--json', '--no-limits', '--contacts', String(CONTACTS)];
  console.log(`Starting: node ${args.join(' ')}`);
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  return new Promise((resolvePromise, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the emulator printed no JSON line within 300 s\n${childStderr}`)), 300_000);
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      childStderr = (childStderr + chunk).slice(-20_000);
    });
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => {
      if (out.includes('\n')) return;
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolvePromise(JSON.parse(out.slice(0, nl)) as EmulatorInfo);
      } catch (error) {
        reject(new Error(`the emulator's first line is not JSON: ${out.slice(0, nl)} (${String(error)})`));
      }
    });
    proc.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited early (code ${code}, signal ${signal})\n${childStderr}`));
    });
  });
}

/** SIGTERM, wait for the exit (the CPU profile is written then), SIGKILL after 15 s. */
async function stopEmulator(): Promise<void> {
  const proc = child;
  child = undefined;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((done) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
    }, 15_000);
    proc.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    proc.kill('SIGTERM');
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    child?.kill('SIGTERM');
    process.exit(130);
  });
}
process.once('exit', () => {
  child?.kill('SIGTERM');
});

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
function processCpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] and [12] are utime and stime (fields 14 and 15 of proc(5)), in clock ticks (100/s on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Busy CPU seconds of the whole machine so far, from /proc/stat (Linux); undefined elsewhere. */
function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    // idle and iowait are the 4th and 5th numbers.
    return (total - (ticks[3] ?? 0) - (ticks[4] ?? 0)) / 100;
  } catch {
    return undefined;
  }
}

interface CpuSplit {
  /** Cores used by the server under test, on average over the run (1 = one core busy all the time). */
  server: number | undefined;
  loadGenerator: number;
  /** Everything else on the machine: other processes, the kernel's share not charged to these two. */
  other: number | undefined;
}

function cpuSnapshot(pid: number | undefined): { child: number | undefined; self: NodeJS.CpuUsage; machine: number | undefined; at: number } {
  return { child: processCpuSeconds(pid), self: process.cpuUsage(), machine: machineBusySeconds(), at: performance.now() };
}

function cpuSplit(before: ReturnType<typeof cpuSnapshot>, after: ReturnType<typeof cpuSnapshot>): CpuSplit {
  const wall = (after.at - before.at) / 1000;
  const loadGenerator = (after.self.user + after.self.system - before.self.user - before.self.system) / 1e6 / wall;
  const server = before.child !== undefined && after.child !== undefined ? (after.child - before.child) / wall : undefined;
  const machine = before.machine !== undefined && after.machine !== undefined ? (after.machine - before.machine) / wall : undefined;
  const other = machine !== undefined && server !== undefined ? Math.max(0, machine - server - loadGenerator) : undefined;
  return { server, loadGenerator, other };
}

// ---- HTTP helpers for setup ----

let origin = '';
let booksPath = '';
let auth: Record<string, string> = {};
let organizationId = '';

async function api<T>(method: string, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${origin}${booksPath}${path}`, { method, headers: auth });
  return { status: res.status, body: (await res.json()) as T };
}

interface ListedContact {
  contact_id: string;
  status: string;
}

/** Ids (and statuses) of the first organization, from `count / 200` random distinct pages. */
async function collectContacts(count: number): Promise<ListedContact[]> {
  const totalPages = Math.ceil(CONTACTS / PER_PAGE);
  const wanted = Math.min(totalPages, Math.ceil(count / PER_PAGE));
  const pages = Array.from({ length: totalPages }, (_, i) => i + 1);
  for (let i = pages.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [pages[i], pages[j]] = [pages[j]!, pages[i]!];
  }
  const out: ListedContact[] = [];
  for (const page of pages.slice(0, wanted)) {
    const { status, body } = await api<{ code: number; contacts?: ListedContact[] }>(
      'GET', `/contacts?organization_id=${organizationId}&per_page=${PER_PAGE}&page=${page}`,
    );
    if (status !== 200 || body.code !== 0 || !body.contacts) throw new Error(`GET /contacts page ${page}: HTTP ${status} ${JSON.stringify(body).slice(0, 200)}`);
    out.push(...body.contacts.map((c) => ({ contact_id: c.contact_id, status: c.status })));
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out.slice(0, count);
}

// ---- scenarios ----

interface ScenarioRun {
  requests: AcRequest[];
  /** Called after each autocannon run (warm-up and measured): settle state, return notes. */
  after?: () => Promise<string[]>;
}

function getByIdScenario(ids: string[]): ScenarioRun {
  return {
    requests: [{
      method: 'GET',
      setupRequest: (request) => {
        request.path = `${booksPath}/contacts/${ids[randomInt(ids.length)]!}?organization_id=${organizationId}`;
        return request;
      },
    }],
  };
}

function listScenario(): ScenarioRun {
  const totalPages = Math.ceil(CONTACTS / PER_PAGE);
  return {
    requests: [{
      method: 'GET',
      setupRequest: (request) => {
        request.path = `${booksPath}/contacts?organization_id=${organizationId}&per_page=${PER_PAGE}&page=${1 + randomInt(totalPages)}`;
        return request;
      },
    }],
  };
}

/** A FIFO of contact ids. */
class Queue {
  private items: string[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(id: string): void {
    this.items.push(id);
  }
  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const id = this.items[this.head++];
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return id;
  }
}

/**
 * Inactive and active requests alternate. Each request takes a contact whose status is known and
 * that has no request in flight — from the active queue for /inactive, from the inactive queue for
 * /active — and the answer puts it on the other queue. So no request repeats a status (3031/3032)
 * unless the emulator got it wrong. Requests still in flight when a run stops are settled by
 * reading those contacts back before the next run.
 */
function statusScenario(contacts: ListedContact[]): ScenarioRun & { codes: Map<string, number> } {
  const active = new Queue();
  const inactive = new Queue();
  for (const c of contacts) (c.status === 'active' ? active : inactive).push(c.contact_id);
  const inFlight = new Set<string>();
  const codes = new Map<string, number>();
  let nextInactive = true;
  return {
    codes,
    requests: [{
      method: 'POST',
      setupRequest: (request, context) => {
        let target: 'inactive' | 'active' = nextInactive ? 'inactive' : 'active';
        nextInactive = !nextInactive;
        let id = (target === 'inactive' ? active : inactive).shift();
        if (id === undefined) {
          target = target === 'inactive' ? 'active' : 'inactive';
          id = (target === 'inactive' ? active : inactive).shift();
        }
        if (id === undefined) throw new Error('status scenario: every contact of the pool is in flight; raise --status-pool');
        inFlight.add(id);
        context.id = id;
        context.target = target;
        request.path = `${booksPath}/contacts/${id}/${target}?organization_id=${organizationId}`;
        return request;
      },
      onResponse: (status, body, context) => {
        const id = context.id as string;
        const target = context.target as 'inactive' | 'active';
        inFlight.delete(id);
        let code = '?';
        const match = /^\{"code":(-?\d+)/.exec(body);
        if (match) code = match[1]!;
        const key = `${status}/${code}`;
        codes.set(key, (codes.get(key) ?? 0) + 1);
        if (status === 200 && code === '0') (target === 'inactive' ? inactive : active).push(id);
        else if (code === '3031') active.push(id);
        else if (code === '3032') inactive.push(id);
        else inFlight.add(id); // unknown outcome: read it back after the run
      },
    }],
    async after() {
      // Give the emulator a moment to finish the requests autocannon stopped waiting for.
      await new Promise((r) => setTimeout(r, 300));
      const settled = [...inFlight];
      inFlight.clear();
      for (const id of settled) {
        const { body } = await api<{ contact?: { status: string } }>('GET', `/contacts/${id}?organization_id=${organizationId}`);
        (body.contact?.status === 'inactive' ? inactive : active).push(id);
      }
      return settled.length > 0 ? [`${settled.length} contacts in flight at the stop were read back`] : [];
    },
  };
}

/**
 * The transport ceiling: a bare node:http server (its own child process) answering every request
 * with the bytes the emulator answers GET /contacts/{id} with, the same way (writeHead, then end).
 */
async function runBaseline(sampleId: string): Promise<Row> {
  const sample = await fetch(`${origin}${booksPath}/contacts/${sampleId}?organization_id=${organizationId}`, { headers: auth });
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'x-rate-limit-limit', 'x-rate-limit-remaining', 'x-rate-limit-reset']) headers[name] = sample.headers.get(name) ?? '';
  const body = await sample.text();
  const code = `const http = require('node:http');
const headers = ${JSON.stringify(headers)};
const body = ${JSON.stringify(body)};
const server = http.createServer((req, res) => { req.resume(); res.writeHead(200, headers); res.end(body); });
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('SIGTERM', () => process.exit(0));`;
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolvePort, reject) => {
      proc.stdout.setEncoding('utf8');
      proc.stdout.once('data', (chunk: string) => resolvePort(Number(chunk.trim())));
      proc.once('exit', (c) => reject(new Error(`baseline server exited (${c})`)));
    });
    const row = await runScenario('baseline', 'baseline: bare node:http, same bytes', { requests: [{ method: 'GET', path: '/' }] }, `http://127.0.0.1:${port}`, proc.pid);
    row.notes.push(`${body.length} bytes per answer`);
    return row;
  } finally {
    proc.kill('SIGTERM');
  }
}

interface Row {
  scenario: Scenario;
  label: string;
  result: AcResult;
  cpu: CpuSplit;
  notes: string[];
}

/**
 * Waits (up to `maxSeconds`) until the rest of the machine is quiet: under 0.15 of a core busy over
 * 3 s, measured from /proc/stat while neither the emulator nor autocannon has work. Returns whether it was.
 */
async function waitForQuiet(maxSeconds: number): Promise<boolean> {
  if (maxSeconds <= 0) return true;
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const before = machineBusySeconds();
    await new Promise((r) => setTimeout(r, 3000));
    const after = machineBusySeconds();
    if (before === undefined || after === undefined) return true;
    if ((after - before) / 3 < 0.15) return true;
    if (Date.now() >= deadline) return false;
  }
}

async function runScenario(name: Scenario, label: string, run: ScenarioRun, url = origin, serverPid = child?.pid): Promise<Row> {
  const base: Omit<AcOptions, 'duration'> = {
    url,
    connections: CONNECTIONS,
    pipelining: 1,
    timeout: 10,
    headers: { ...auth },
    requests: run.requests,
  };
  const quiet = await waitForQuiet(QUIET_WAIT_S);
  if (!quiet) process.stdout.write(`  ${name}: the machine did not get quiet within ${QUIET_WAIT_S} s; measuring anyway.\n`);
  if (WARMUP_S > 0) {
    process.stdout.write(`  ${name}: warm-up ${WARMUP_S} s... `);
    await autocannon({ ...base, duration: WARMUP_S });
    if (run.after) await run.after();
  }
  else process.stdout.write(`  ${name}: `);
  process.stdout.write(`measuring ${DURATION_S} s... `);
  const cpuBefore = cpuSnapshot(serverPid);
  const result = await autocannon({ ...base, duration: DURATION_S });
  const cpu = cpuSplit(cpuBefore, cpuSnapshot(serverPid));
  const notes = run.after ? await run.after() : [];
  console.log(`${Math.round(result.requests.mean)} req/s`);
  return { scenario: name, label, result, cpu, notes };
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const [index, row] of rows.entries()) {
    console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
    if (index === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

function pct(cores: number | undefined): string {
  return cores === undefined ? '-' : `${Math.round(cores * 100)}%`;
}

function verdict(row: Row): string {
  const target = TARGETS[row.scenario];
  const p99ok = row.result.latency.p99 < TARGET_P99_MS;
  const clean = row.result.non2xx === 0 && row.result.errors === 0 && row.result.timeouts === 0;
  if (target === undefined) return `no req/s target; p99 ${p99ok ? '<' : '>='} ${TARGET_P99_MS} ms`;
  const rpsOk = row.result.requests.mean >= target;
  const parts = [`>= ${target.toLocaleString('en-US')} req/s ${rpsOk ? 'MET' : 'MISSED'}`, `p99 < ${TARGET_P99_MS} ms ${p99ok ? 'MET' : 'MISSED'}`];
  if (!clean) parts.push('NOT CLEAN (non-2xx/errors)');
  return parts.join(', ');
}

async function main(): Promise<void> {
  const cpuList = cpus();
  console.log(`Emulator HTTP benchmark — ${new Date().toISOString()}`);
  console.log(`Machine: ${cpuList.length} × ${cpuList[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${process.platform}/${process.arch}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`Load: autocannon in this process, ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per scenario; the emulator in a child process; both share the machine's ${cpuList.length} cores.\n`);

  const started = Date.now();
  const info = await startEmulator();
  const seedSeconds = (Date.now() - started) / 1000;
  const base = new URL(info.baseUrl);
  origin = base.origin;
  booksPath = base.pathname.replace(/\/$/, '');
  auth = { authorization: `Zoho-oauthtoken ${info.accessToken}` };
  organizationId = info.organizations[0]?.organization_id ?? '';
  if (!organizationId) throw new Error('the emulator reported no organization');
  console.log(`Emulator up at ${origin} after ${seedSeconds.toFixed(1)} s (seed of ${CONTACTS.toLocaleString('en-US')} contacts in ${organizationId}, pid ${child?.pid ?? '?'})`);

  const collectStarted = Date.now();
  const contacts = await collectContacts(Math.max(ID_COUNT, Math.min(STATUS_POOL, CONTACTS)));
  const ids = contacts.slice(0, ID_COUNT).map((c) => c.contact_id);
  console.log(`Collected ${contacts.length.toLocaleString('en-US')} contact ids from ${Math.ceil(contacts.length / PER_PAGE)} random pages in ${((Date.now() - collectStarted) / 1000).toFixed(1)} s\n`);

  const rows: Row[] = [];
  let statusCodes: Map<string, number> | undefined;
  for (const name of scenarios as Scenario[]) {
    if (name === 'get-by-id') {
      rows.push(await runScenario(name, 'GET /contacts/{id}', getByIdScenario(ids)));
    } else if (name === 'status') {
      const run = statusScenario(contacts.slice(0, STATUS_POOL));
      rows.push(await runScenario(name, 'POST /contacts/{id}/inactive|active', run));
      statusCodes = run.codes;
    } else if (name === 'list') {
      rows.push(await runScenario(name, `GET /contacts?per_page=${PER_PAGE}&page=P`, listScenario()));
    } else {
      rows.push(await runBaseline(ids[0]!));
    }
  }

  console.log('');
  printTable([
    ['Scenario', 'req/s (mean)', 'p50 ms', 'p99 ms', 'max ms', 'requests', 'non-2xx', 'errors', 'timeouts', 'CPU: server', 'autocannon', 'other', 'server µs/req'],
    ...rows.map((r) => [
      r.label,
      Math.round(r.result.requests.mean).toLocaleString('en-US'),
      String(r.result.latency.p50),
      String(r.result.latency.p99),
      String(r.result.latency.max),
      r.result.requests.total.toLocaleString('en-US'),
      String(r.result.non2xx),
      String(r.result.errors),
      String(r.result.timeouts),
      pct(r.cpu.server),
      pct(r.cpu.loadGenerator),
      pct(r.cpu.other),
      r.cpu.server === undefined || r.result.requests.mean === 0 ? '-' : String(Math.round((r.cpu.server * 1e6) / r.result.requests.mean)),
    ]),
  ]);
  console.log('');
  for (const r of rows) console.log(`${r.label}: ${verdict(r)}`);
  for (const r of rows) for (const note of r.notes) console.log(`${r.label}: ${note}`);
  if (statusCodes) {
    const summary = [...statusCodes.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', ');
    console.log(`Status changes, HTTP status/Zoho code over warm-up and measured runs: ${summary}`);
  }
  console.log(`\nLatency has autocannon's 1 ms resolution. CPU columns: cores used on average during the measured run (100% = one`);
  console.log(`core): the server under test (the emulator child), this process (autocannon), and everything else on the machine`);
  console.log(`(/proc/stat minus both). The emulator runs on one thread, so "server" cannot exceed about 100%.`);
  console.log(`"server µs/req" is the server's CPU time per answered request: it moves less than req/s when other processes compete.`);
}

try {
  await main();
} catch (error) {
  process.exitCode = 1;
  console.error(`\nbench failed: ${error instanceof Error ? error.message : String(error)}`);
  if (childStderr) console.error(`emulator stderr (tail):\n${childStderr.slice(-4000)}`);
} finally {
  await stopEmulator();
}
