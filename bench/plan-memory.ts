/**
 * Memory of scan + plan as the organization grows: does it stay flat?
 *
 * For each size, the emulator runs in its own child process (`sunset emulator start --json
 * --contacts N`: the emulator holds the organization, so its memory is not Sunset's), and scan +
 * plan runs in a second, fresh child process (`node --expose-gc`), as `sunset scan` then `sunset
 * plan` do: scan into a journal on a temporary SQLite file, build the plan from the journal's pages,
 * save it. That process measures itself:
 *
 * - start-up RSS: after its modules are loaded and a forced GC, before the journal is opened; then
 *   the kernel's peak-RSS mark is reset (`5` into /proc/self/clear_refs), so
 * - peak RSS: /proc/self/status VmHWM at the end is the highest RSS of scan + plan alone (also
 *   sampled every 10 ms from process.memoryUsage().rss, in case the reset is not allowed);
 * - the difference: what scan + plan of that organization costs in memory.
 *
 *   npm run bench:plan-memory                          # 100,000 and 300,000 contacts
 *   npx tsx bench/plan-memory.ts --sizes 10000,100000  # other sizes
 *   npx tsx bench/plan-memory.ts --json                # also one JSON line per size
 *   npx tsx bench/plan-memory.ts --node-flags=--max-semi-space-size=2   # flags for the measuring node
 *   npx tsx bench/plan-memory.ts --heap speed          # V8's default heap (SUNSET_HEAP=speed), not the CLI's small one
 *   npx tsx bench/plan-memory.ts --reports stream      # then the CSV, HTML and JSON reports, page by page as
 *                                                      # `sunset plan --csv --html --json` writes them
 *   npx tsx bench/plan-memory.ts --reports whole       # ... or each made whole, every exclusion held (the old way)
 *
 * Target (issue 13): scan + plan of 100,000 contacts within 100 MB of the start-up RSS, and the
 * same within 10% at 300,000.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface EmulatorInfo {
  baseUrl: string;
  accountsUrl: string;
  organizations: Array<{ organization_id: string }>;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

interface Result {
  contacts: number;
  snapshotContacts: number;
  transactions: number;
  steps: number;
  excluded: number;
  startRssMb: number;
  peakRssMb: number;
  growthMb: number;
  /** The peak when the scan had finished (before the plan), less the start-up RSS. */
  scanGrowthMb: number;
  /** The peak when the plan was saved (before any report), less the start-up RSS. */
  planGrowthMb: number;
  /** --reports: none, stream (page by page, as the CLI) or whole (every exclusion held). */
  reports: string;
  reportsSeconds: number;
  /** How the peak was read: the kernel's VmHWM after a reset, or sampled RSS. */
  peakFrom: 'VmHWM' | 'sampled';
  scanSeconds: number;
  planSeconds: number;
}

const RESULT_PREFIX = 'PLAN_MEMORY ';
const mb = (bytes: number): number => bytes / 1024 / 1024;

function vmHwmBytes(): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The measuring child: scan + plan against the emulator described by SUNSET_BENCH_EMULATOR. */
async function measure(contacts: number): Promise<void> {
  const { createMemoryTokenStore, createZohoBooksClient } = await import('../src/client/index.js');
  const engine = await import('../src/engine/index.js');
  // As `sunset scan` and `sunset plan` do at their entry (SUNSET_HEAP, from --heap).
  const { preferSmallHeap } = await import('../src/cli/heap.js');
  preferSmallHeap(process.env);
  const info = JSON.parse(process.env.SUNSET_BENCH_EMULATOR ?? '') as EmulatorInfo;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the measuring child with node --expose-gc');
  gc();
  gc();
  const startRss = process.memoryUsage().rss;
  let resetPeak = true;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    resetPeak = false;
  }
  let sampled = startRss;
  const sampler = setInterval(() => {
    sampled = Math.max(sampled, process.memoryUsage().rss);
  }, 10);

  const dir = mkdtempSync(join(tmpdir(), 'sunset-plan-memory-'));
  try {
    const organization = info.organizations[0]!.organization_id;
    let calls = 0;
    const client = createZohoBooksClient({
      baseUrl: info.baseUrl,
      accountsUrl: info.accountsUrl,
      credentials: { clientId: info.clientId, clientSecret: info.clientSecret, refreshToken: info.refreshToken },
      tokenStore: createMemoryTokenStore(),
      limits: { perMinute: 1_000_000_000, burst: 1_000_000_000 },
      hooks: { onResponse: () => { calls++; } },
    });
    const port = engine.createZohoAdapter(client, organization, () => calls, engine.emulatorTarget(info.baseUrl));
    const journal = engine.createJournal(engine.openSqlite(join(dir, 'sunset.db')));
    await journal.migrate();
    const policyText = engine.defaultPolicyText(organization);
    const policy = engine.parsePolicy(policyText, 'default-policy.yaml');
    const clock = (await (await fetch(`${info.accountsUrl}/__emulator/clock`)).json()) as { epochMs: number };

    const t0 = performance.now();
    const snapshot = await engine.scan({ port, journal, policy, now: clock.epochMs });
    const t1 = performance.now();
    const scanPeak = (resetPeak ? vmHwmBytes() : undefined) ?? Math.max(sampled, process.memoryUsage().rss);
    // As `sunset plan` does.
    const plan = await engine.planSnapshot(journal, policy, policyText, snapshot, clock.epochMs);
    const t2 = performance.now();
    const planPeak = (resetPeak ? vmHwmBytes() : undefined) ?? Math.max(sampled, process.memoryUsage().rss);
    // `sunset plan --csv --html --json`: page by page from the journal (stream, as the CLI does), or
    // (whole) with every exclusion read back first and each report made as one string.
    const reports = process.env.SUNSET_BENCH_REPORTS;
    if (reports === 'stream' || reports === 'whole') {
      const report = await import('../src/engine/report/index.js');
      const { writeOutput, writeOutputChunks } = await import('../src/cli/output-file.js');
      const html = { generatedAt: Date.now(), organizationName: snapshot.organizationName, currencyCode: snapshot.currencyCode };
      if (reports === 'stream') {
        await writeOutputChunks(join(dir, 'plan.csv'), report.planCsvChunks(plan, journal.planExclusions(plan.planId)));
        await writeOutputChunks(join(dir, 'plan.html'), report.planHtmlChunks(plan, journal.planExclusions(plan.planId), html));
        await writeOutputChunks(join(dir, 'plan.json'), report.planJsonChunks(plan, journal.planExclusions(plan.planId)));
      } else {
        const listed = await engine.withExclusions(journal, plan);
        writeOutput(join(dir, 'plan.csv'), report.planToCsv(listed));
        writeOutput(join(dir, 'plan.html'), report.planToHtml(listed, html));
        writeOutput(join(dir, 'plan.json'), JSON.stringify(report.planToJson(listed)));
      }
    }
    const t3 = performance.now();
    await journal.close();
    clearInterval(sampler);
    sampled = Math.max(sampled, process.memoryUsage().rss);
    const hwm = resetPeak ? vmHwmBytes() : undefined;
    const peak = hwm ?? sampled;
    const result: Result = {
      contacts,
      snapshotContacts: snapshot.contactCount,
      transactions: snapshot.transactionCount,
      steps: plan.steps.length,
      excluded: plan.exclusionCount,
      startRssMb: mb(startRss),
      peakRssMb: mb(peak),
      growthMb: mb(peak - startRss),
      scanGrowthMb: mb(scanPeak - startRss),
      planGrowthMb: mb(planPeak - startRss),
      reports: reports ?? 'none',
      reportsSeconds: (t3 - t2) / 1000,
      peakFrom: hwm === undefined ? 'sampled' : 'VmHWM',
      scanSeconds: (t1 - t0) / 1000,
      planSeconds: (t2 - t1) / 1000,
    };
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts the emulator with `contacts`, runs the measuring child against it, stops the emulator. */
async function runSize(contacts: number, nodeFlags: string[], heap: string, reports: string | undefined): Promise<Result> {
  const emulator = spawn(process.execPath, [
    '--import', 'tsx', 'src/cli/main.ts', 'emulator', 'start', '--port', '0', '--json',
    '--per-minute', '1000000000', '--daily', '1000000000', '--in-flight', '1000', '--contacts', String(contacts),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let emulatorErr = '';
  emulator.stderr.on('data', (d: Buffer) => {
    emulatorErr = (emulatorErr + d.toString()).slice(-4000);
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: emulator.stdout }).once('line', resolve);
      emulator.once('exit', (code) => reject(new Error(`the emulator exited with ${code}: ${emulatorErr}`)));
    });
    const child = spawn(process.execPath, ['--expose-gc', ...nodeFlags, '--import', 'tsx', fileURLToPath(import.meta.url), '--measure', String(contacts)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, SUNSET_BENCH_EMULATOR: line, SUNSET_HEAP: heap, ...(reports ? { SUNSET_BENCH_REPORTS: reports } : {}) },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const found = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
    if (code !== 0 || !found) throw new Error(`the measuring process exited with ${code}:\n${out}`);
    return JSON.parse(found.slice(RESULT_PREFIX.length)) as Result;
  } finally {
    emulator.kill('SIGTERM');
  }
}

const { values } = parseArgs({ options: { sizes: { type: 'string' }, measure: { type: 'string' }, json: { type: 'boolean' }, 'node-flags': { type: 'string' }, heap: { type: 'string' }, reports: { type: 'string' } } });
/** Extra flags for the measuring process's node (`--node-flags=--max-semi-space-size=2`), to see what V8's sizing costs. */
const nodeFlags = (values['node-flags'] ?? '').split(/\s+/).filter((f) => f !== '');
const heap = values.heap ?? 'small';
if (!['small', 'speed'].includes(heap)) throw new Error('--heap is small (the CLI\'s default) or speed (V8\'s defaults)');
const reports = values.reports;
if (reports !== undefined && !['stream', 'whole'].includes(reports)) throw new Error('--reports is stream (page by page, as the CLI) or whole (every exclusion held)');
if (values.measure !== undefined) {
  await measure(Number(values.measure));
} else {
  const sizes = (values.sizes ?? '100000,300000').split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 50)) throw new Error('--sizes must be whole numbers >= 50, separated by commas');
  console.log(`scan + plan memory — node ${process.version}, ${cpus().length} cpus, heap ${heap} (SUNSET_HEAP)${reports ? `, then the CSV, HTML and JSON reports (${reports})` : ''}; the emulator in its own process; RSS of the scan + plan process`);
  console.log(`  ${'contacts'.padStart(9)} ${'snapshot'.padStart(9)} ${'transactions'.padStart(12)} ${'steps'.padStart(6)} ${'excluded'.padStart(8)}   ${'start-up'.padStart(9)} ${'peak'.padStart(9)} ${'growth'.padStart(9)} ${'(scan)'.padStart(9)}   ${'scan'.padStart(8)} ${'plan'.padStart(8)}`);
  const results: Result[] = [];
  for (const n of sizes) {
    const r = await runSize(n, nodeFlags, heap, reports);
    results.push(r);
    const f = (x: number): string => `${x.toFixed(0)} MB`.padStart(9);
    const s = (x: number): string => `${x.toFixed(1)} s`.padStart(8);
    console.log(`  ${String(r.contacts).padStart(9)} ${String(r.snapshotContacts).padStart(9)} ${String(r.transactions).padStart(12)} ${String(r.steps).padStart(6)} ${String(r.excluded).padStart(8)}   ${f(r.startRssMb)} ${f(r.peakRssMb)} ${f(r.growthMb)} ${f(r.scanGrowthMb)}   ${s(r.scanSeconds)} ${s(r.planSeconds)}${r.peakFrom === 'sampled' ? '  (peak sampled)' : ''}`);
    if (reports) console.log(`  ${' '.repeat(9)} growth by the plan's end ${f(r.planGrowthMb)}; the reports took ${r.reportsSeconds.toFixed(1)} s and the growth to ${f(r.growthMb)}`);
    if (values.json) console.log(JSON.stringify(r));
  }
  if (results.length >= 2) {
    const [first, last] = [results[0]!, results.at(-1)!];
    console.log(`  growth at ${last.contacts} / growth at ${first.contacts}: ${(last.growthMb / first.growthMb).toFixed(2)}   target: 100,000 within 100 MB, 300,000 within 10% of that`);
  }
}
