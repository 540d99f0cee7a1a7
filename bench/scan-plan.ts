/**
 * API calls, memory and time of scan + plan on a demo organization.
 *
 * The emulator runs as a separate child process (`sunset emulator start --json`), so the memory
 * figures printed here belong to the scanning process alone. In this process: the client (calls
 * counted by its onResponse hook) → createZohoAdapter → a journal on a temporary SQLite file → scan
 * with the default policy → buildPlan over journal.snapshotContacts (page by page, exclusions
 * written to a journal plan draft as decided, as `sunset plan` and `sunset demo` do) → the draft saved.
 *
 * Then, with a second client whose calls are not counted, it counts independently what the bound
 * is made of: the active contacts, and per transaction type every transaction (the scan reads the
 * whole history: it gives each contact's real last activity and the "before" counts of a run) and
 * those dated on or after the cutoff (what a scan of the window alone would read), by probing pages
 * for the last one, plus each type's earliest and latest date for the history's span. The
 * emulator's request log gives a server-side count of the scan's calls.
 *
 *   npx tsx bench/scan-plan.ts                      # 10,000 contacts: the call counts
 *   npx tsx bench/scan-plan.ts --contacts 100000    # 100,000 contacts: peak memory
 *   npx tsx bench/scan-plan.ts --full-history       # also page through every transaction (total, last 3 years; checks the probed counts)
 *   npx tsx bench/scan-plan.ts --json               # also print one JSON line with every figure
 *   npx tsx bench/scan-plan.ts --database postgres  # the journal on PostgreSQL (a schema of its own, dropped after)
 *
 * Lower bound = 1 (the organization: its name and currency) + ceil(active contacts / 200)
 *               + Σ_type ceil(transactions of that type / 200).
 * Window only = ceil(active contacts / 200) + Σ_type ceil(transactions since the cutoff / 200): what
 *               the scan read before it read whole histories (issue 10).
 * Naive      = active contacts × activity types + ceil(active contacts / 200) to list them.
 * Targets (the issue): calls within 5% of the bound, at least 50× fewer than naive, peak RSS of
 * scan + plan under 300 MB at 100,000 contacts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { createMemoryTokenStore, createZohoBooksClient, type ZohoBooksClient } from '../src/client/index.js';
import {
  activityTypesFor, buildPlan, createJournal, createZohoAdapter, cutoffFor, defaultPolicyText, emulatorTarget, historyTypesFor, openPostgres, openSqlite, parsePolicy,
  scan,
} from '../src/engine/index.js';
import { TRANSACTION_TYPES, type TransactionType } from '../src/zoho/index.js';
import { storageChoice } from './storage-choice.js';

const { values } = parseArgs({
  options: {
    contacts: { type: 'string' },
    'full-history': { type: 'boolean' },
    database: { type: 'string' },
    json: { type: 'boolean' },
  },
});
const N = Number(values.contacts ?? 10_000);
if (!Number.isInteger(N) || N < 50) throw new Error('--contacts must be a whole number >= 50');
const PAGE = 200;

interface Info {
  baseUrl: string;
  accountsUrl: string;
  organizations: Array<{ organization_id: string; name: string; plan: string }>;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
/** process.resourceUsage().maxRSS is in kilobytes. */
const maxRss = (): number => process.resourceUsage().maxRSS * 1024;
let peakHeap = 0;
let phasePeakHeap = 0;
const sampleHeap = (): void => {
  const used = getHeapStatistics().used_heap_size;
  peakHeap = Math.max(peakHeap, used);
  phasePeakHeap = Math.max(phasePeakHeap, used);
};
/** Memory at the end of each phase; `phaseHeap` is the most heap in use seen during the phase (sampled). */
const memAt: Array<{ label: string; maxRss: number; rss: number; heap: number; phaseHeap: number; heapTotal: number; external: number }> = [];
const mark = (label: string): void => {
  sampleHeap();
  const m = process.memoryUsage();
  memAt.push({ label, maxRss: maxRss(), rss: m.rss, heap: getHeapStatistics().used_heap_size, phaseHeap: phasePeakHeap, heapTotal: m.heapTotal, external: m.external });
  phasePeakHeap = 0;
};
mark('start (imports loaded)');

const seedStarted = performance.now();
// High limits rather than --no-limits: with --no-limits the X-Rate-Limit headers still count down
// the plan's daily quota (10,000), and the client stops itself near it (its 5% headroom).
const child = spawn(process.execPath, [
  '--import', 'tsx', 'src/cli/main.ts', 'emulator', 'start', '--port', '0', '--json',
  '--per-minute', '1000000000', '--daily', '1000000000', '--in-flight', '1000', '--contacts', String(N),
], { stdio: ['ignore', 'pipe', 'pipe'] });
let childErr = '';
child.stderr.on('data', (d: Buffer) => {
  childErr = (childErr + d.toString()).slice(-4000);
});

const dir = mkdtempSync(join(tmpdir(), 'sunset-scan-plan-'));
const storage = storageChoice(values.database, dir, 'scan_plan');
try {
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}: ${childErr}`)));
  });
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  const info = JSON.parse(line) as Info;
  const organization = info.organizations[0]!.organization_id;
  const admin = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(`${info.accountsUrl}/__emulator/${path}`, init);
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  };
  const makeClient = (onCall: (r: { durationMs: number }) => void): ZohoBooksClient => createZohoBooksClient({
    baseUrl: info.baseUrl,
    accountsUrl: info.accountsUrl,
    credentials: { clientId: info.clientId, clientSecret: info.clientSecret, refreshToken: info.refreshToken },
    tokenStore: createMemoryTokenStore(),
    limits: { perMinute: 1_000_000_000, burst: 1_000_000_000 },
    hooks: { onResponse: onCall },
  });

  // ---- scan + plan, measured ----
  let calls = 0;
  let clientMs = 0;
  const client = makeClient((r) => {
    calls++;
    clientMs += r.durationMs;
  });
  const port = createZohoAdapter(client, organization, () => calls, emulatorTarget(info.baseUrl));
  const journal = createJournal(storage.kind === 'sqlite' ? openSqlite(storage.location) : openPostgres(storage.location));
  await journal.migrate();
  const policyText = defaultPolicyText(organization);
  const policy = parsePolicy(policyText, 'default-policy.yaml');
  const activityTypes = activityTypesFor(policy);
  const now = (await admin<{ epochMs: number }>('clock')).epochMs;
  await admin('requests', { method: 'DELETE' });
  mark('emulator ready, journal open');

  const sampler = setInterval(sampleHeap, 20);
  const t0 = performance.now();
  const snapshot = await scan({ port, journal, policy, now, onProgress: sampleHeap });
  const t1 = performance.now();
  const scanCalls = calls;
  mark('after scan');

  // As `sunset plan` does: the planner fed page by page from the journal, never the whole snapshot.
  const t2 = performance.now();
  const draft = journal.planDraft(Date.now());
  const plan = await buildPlan(policy, policyText, snapshot, journal.snapshotContacts(snapshot.snapshotId), draft);
  const t3 = performance.now();
  mark('after buildPlan (pages from the journal)');
  await draft.save(plan);
  const t4 = performance.now();
  clearInterval(sampler);
  mark('after savePlan');
  const planCalls = calls - scanCalls;
  const peakRss = maxRss();
  const heapAfter = getHeapStatistics().used_heap_size;
  const contactsLoaded = plan.summary.contactsConsidered;
  await journal.close();
  const dbBytes = storage.kind === 'sqlite' ? statSync(storage.location).size : undefined;

  // ---- server-side count of the scan's calls ----
  const log = await admin<{ requests: Array<{ path: string; status: number; duration_ms: number }>; dropped: number }>(
    'requests?path_prefix=/books/v3&limit=100000',
  );
  const serverCalls = log.requests.length;
  const non200 = log.requests.filter((r) => r.status !== 200).length;
  const serverMs = log.requests.reduce((s, r) => s + r.duration_ms, 0);
  const callsByPath = new Map<string, { n: number; ms: number }>();
  for (const r of log.requests) {
    const e = callsByPath.get(r.path) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += r.duration_ms;
    callsByPath.set(r.path, e);
  }

  // ---- independent counts (not part of the measured calls) ----
  const counter = makeClient(() => undefined).organization(organization);
  const cutoff = cutoffFor(policy, now);
  // Counted by probing pages (a binary search for the last page: a dozen calls a list) rather than
  // paging through everything; --full-history pages through every transaction instead.
  let probes = 0;
  const countPages = async (fetchPage: (page: number) => Promise<{ n: number; hasMore: boolean }>): Promise<number> => {
    const probe = (page: number): Promise<{ n: number; hasMore: boolean }> => {
      probes++;
      return fetchPage(page);
    };
    let r = await probe(1);
    if (!r.hasMore) return r.n;
    let lo = 1; // a page with more after it
    let hi = 2;
    while ((r = await probe(hi)).hasMore) {
      lo = hi;
      hi *= 2;
    }
    if (r.n > 0) return (hi - 1) * PAGE + r.n;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      r = await probe(mid);
      if (r.hasMore) lo = mid;
      else if (r.n > 0) return (mid - 1) * PAGE + r.n;
      else hi = mid;
    }
    throw new Error(`page ${lo} says there is more, page ${hi} is empty`);
  };
  const firstPage = async <T>(list: { pages(): AsyncGenerator<{ items: T[]; hasMore: boolean }> }): Promise<{ items: T[]; hasMore: boolean }> => {
    for await (const page of list.pages()) return page;
    throw new Error('no page');
  };
  const pageOf = async <T>(list: { pages(): AsyncGenerator<{ items: T[]; hasMore: boolean }> }): Promise<{ n: number; hasMore: boolean }> => {
    const page = await firstPage(list);
    return { n: page.items.length, hasMore: page.hasMore };
  };
  const active = await countPages((page) => pageOf(counter.contacts.list({ filterBy: 'Status.Active', page })));
  const customers = await countPages((page) => pageOf(counter.contacts.list({ filterBy: 'Status.Active', contactType: 'customer', page })));
  const vendors = active - customers;
  const perType: Array<{
    type: TransactionType; all: number; recent: number; earliest: string | undefined; latest: string | undefined; total?: number; last3y?: number;
  }> = [];
  const threeYearsAgo = new Date(now);
  threeYearsAgo.setUTCFullYear(threeYearsAgo.getUTCFullYear() - 3);
  const since3y = threeYearsAgo.toISOString().slice(0, 10);
  const fullHistory = values['full-history'] === true;
  for (const type of historyTypesFor(policy)) {
    const tx = counter.transactions(type);
    const all = await countPages((page) => pageOf(tx.list({ page })));
    const recent = await countPages((page) => pageOf(tx.list({ dateStart: cutoff, page })));
    const first = async (order: 'A' | 'D'): Promise<string | undefined> => {
      probes++;
      return (await firstPage(tx.list({ sortColumn: 'date', sortOrder: order, perPage: 1 }))).items[0]?.date;
    };
    const row: (typeof perType)[number] = { type, all, recent, earliest: await first('A'), latest: await first('D') };
    if (fullHistory) {
      let total = 0;
      let last3y = 0;
      let recentPaged = 0;
      for await (const t of tx.list({})) {
        total++;
        if (t.date >= since3y) last3y++;
        if (t.date >= cutoff) recentPaged++;
      }
      if (recentPaged !== recent) throw new Error(`${type}: ${recentPaged} since the cutoff by paging, ${recent} by probing`);
      if (total !== all) throw new Error(`${type}: ${total} in all by paging, ${all} by probing`);
      row.total = total;
      row.last3y = last3y;
    }
    perType.push(row);
  }
  const recentTotal = perType.reduce((s, t) => s + t.recent, 0);
  const allTotal = perType.reduce((s, t) => s + t.all, 0);
  const bound = 1 + Math.ceil(active / PAGE) + perType.reduce((s, t) => s + Math.ceil(t.all / PAGE), 0);
  const windowOnly = Math.ceil(active / PAGE) + perType.reduce((s, t) => s + Math.max(1, Math.ceil(t.recent / PAGE)), 0);
  const emptyTypes = perType.filter((t) => t.all === 0).length;
  const naive = active * activityTypes.length + Math.ceil(active / PAGE);
  const customerTypes = policy.activity.customer.length;
  const vendorTypes = policy.activity.vendor.length;
  const naiveByKind = customers * customerTypes + vendors * vendorTypes + Math.ceil(active / PAGE);
  const totalCalls = scanCalls + planCalls;
  const overBound = totalCalls / bound;
  const underNaive = naive / totalCalls;
  const earliest = perType.map((t) => t.earliest).filter((d): d is string => d !== undefined).sort()[0];
  const latest = perType.map((t) => t.latest).filter((d): d is string => d !== undefined).sort().at(-1);
  const spanYears = earliest && latest ? (Date.parse(latest) - Date.parse(earliest)) / (365.25 * 86_400_000) : 0;
  const met = (ok: boolean): string => (ok ? 'met' : 'MISSED');

  const secs = (a: number, b: number): string => `${((b - a) / 1000).toFixed(2)} s`;
  console.log(`scan + plan${storage.kind === 'postgres' ? ' (journal on PostgreSQL)' : ''} — node ${process.version}, ${cpus().length} cpus, ${mb(totalmem())} RAM, load ${loadavg()[0]!.toFixed(1)}, emulator --contacts ${N} (separate process, seeded in ${seedSeconds.toFixed(1)} s)`);
  console.log(`  organization              ${organization} (${info.organizations[0]!.name}); emulated now ${new Date(now).toISOString()}; default policy: ${policy.inactivity.text}, cutoff ${cutoff}, ${activityTypes.length} activity types`);
  console.log(`  history                   ${earliest ?? '-'} … ${latest ?? '-'} (${spanYears.toFixed(1)} years)`);
  console.log(`  active contacts           ${active} (${customers} customers, ${vendors} vendors); snapshot holds ${snapshot.contactCount}   [independent counts: ${probes} uncounted probe calls]`);
  console.log(`  transactions              ${allTotal} in all (scan read ${snapshot.transactionCount}), ${recentTotal} since the cutoff`);
  for (const t of perType) {
    const hist = t.total === undefined ? '' : `   paged: all-time ${String(t.total).padStart(7)}, last 3 years ${String(t.last3y).padStart(7)}`;
    console.log(`    ${t.type.padEnd(17)} ${String(t.all).padStart(7)} → ${String(Math.ceil(t.all / PAGE)).padStart(4)} pages   (since the cutoff ${String(t.recent).padStart(7)}; ${TRANSACTION_TYPES[t.type].contactType}; ${t.earliest ?? '-'} … ${t.latest ?? '-'})${hist}`);
  }
  if (fullHistory) {
    const total = perType.reduce((s, t) => s + (t.total ?? 0), 0);
    const last3y = perType.reduce((s, t) => s + (t.last3y ?? 0), 0);
    console.log(`    all types: ${total} transactions in all, ${last3y} since ${since3y} (3 years)`);
  }
  console.log(`  API calls: scan           ${scanCalls} (emulator's log: ${serverCalls} Books requests, ${non200} not 200, ${log.dropped} dropped from the log)`);
  console.log(`             plan           ${planCalls}`);
  console.log(`             by path        ${[...callsByPath].map(([p, e]) => `${p.replace('/books/v3/', '')} ${e.n} (${(e.ms / 1000).toFixed(1)} s)`).join(', ')}`);
  console.log(`  lower bound               ${bound} = 1 + ceil(${active}/200) + Σ ceil(all/200)${emptyTypes > 0 ? ` (${emptyTypes} types with none: 0 pages each in the bound, but 1 call each to learn that)` : ''}`);
  console.log(`  window only               ${windowOnly} = ceil(${active}/200) + Σ ceil(recent/200): what a scan of the window alone reads (before issue 10)`);
  console.log(`  naive                     ${naive} = ${active} × ${activityTypes.length} + ${Math.ceil(active / PAGE)}   (per kind: ${customers} × ${customerTypes} + ${vendors} × ${vendorTypes} + ${Math.ceil(active / PAGE)} = ${naiveByKind})`);
  console.log(`  calls / bound             ${overBound.toFixed(3)}   target <= 1.05: ${met(overBound <= 1.05)}`);
  console.log(`  naive / calls             ${underNaive.toFixed(1)}×   target >= 50×: ${met(underNaive >= 50)}   (per-kind naive: ${(naiveByKind / totalCalls).toFixed(1)}×)`);
  console.log(`  wall time                 scan ${secs(t0, t1)}; plan ${secs(t1, t4)} (buildPlan over the journal's pages ${secs(t2, t3)}, savePlan ${secs(t3, t4)}); total ${secs(t0, t4)}`);
  console.log(`  scan time spent           ${(clientMs / 1000).toFixed(2)} s waiting for responses (client), of which ${(serverMs / 1000).toFixed(2)} s handling in the emulator (its log)`);
  console.log(`  plan                      ${plan.summary.contactsConsidered} considered, ${plan.summary.dormant} dormant, ${plan.steps.length} steps, ${plan.exclusionCount} excluded (${Object.entries(plan.summary.excluded).map(([r, n]) => `${n} ${r}`).join(', ')}), ${plan.summary.recentlyActive} recently active; ${dbBytes === undefined ? 'journal on PostgreSQL' : `journal file ${mb(dbBytes)}`}`);
  console.log(`  peak RSS (this process)   ${mb(peakRss)}   target < 300 MB: ${met(peakRss < 300 * 1024 * 1024)}   (${contactsLoaded} snapshot contacts planned, page by page)`);
  console.log(`  peak heap used (sampled)  ${mb(peakHeap)}; after savePlan ${mb(heapAfter)}`);
  console.log(`    ${'at the end of'.padEnd(36)} ${'maxRSS'.padStart(7)} ${'rss'.padStart(7)}   heap: ${'used'.padStart(7)} ${'peak'.padStart(7)} ${'total'.padStart(7)}   ${'external'.padStart(8)}`);
  for (const m of memAt) {
    console.log(`    ${m.label.padEnd(36)} ${mb(m.maxRss).padStart(7)} ${mb(m.rss).padStart(7)}         ${mb(m.heap).padStart(7)} ${mb(m.phaseHeap).padStart(7)} ${mb(m.heapTotal).padStart(7)}   ${mb(m.external).padStart(8)}`);
  }
  if (values.json) {
    console.log(JSON.stringify({
      contacts: N, database: storage.kind, active, customers, vendors, cutoff, earliest, latest, spanYears, perType, allTotal, recentTotal, scanCalls, planCalls,
      serverCalls, bound, windowOnly, naive, naiveByKind, overBound, underNaive, peakRssMb: peakRss / 1048576, peakHeapMb: peakHeap / 1048576,
      scanSeconds: (t1 - t0) / 1000, clientSeconds: clientMs / 1000, serverSeconds: serverMs / 1000, planSeconds: (t4 - t1) / 1000, memAt,
    }));
  }
} finally {
  child.kill('SIGTERM');
  await storage.drop().catch((error: unknown) => console.error(`could not drop the bench's schema: ${String(error)}`));
  rmSync(dir, { recursive: true, force: true });
}
