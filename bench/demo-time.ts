/**
 * Wall time of `sunset demo`, the built CLI as a user runs it: `node dist/cli/main.js demo`, a few
 * times at the default size (1,000 contacts), then once with `--contacts 10000`. Each run is a fresh
 * child process; its wall time is measured from spawn to exit, and its peak RSS is read from
 * /proc/PID/status (VmHWM, sampled every 50 ms until exit; the demo's emulator runs inside it).
 * Builds first (`npm run build`) when dist/ is missing or older than src/.
 *
 *   npx tsx bench/demo-time.ts                    # 3 runs at the default size, 1 at 10,000
 *   npx tsx bench/demo-time.ts --runs 5 --large 0 # 5 runs, no large run
 *   npx tsx bench/demo-time.ts --no-build         # use dist/ as it is
 *
 * The report the demo writes goes to a temporary folder, not the working directory.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string' }, large: { type: 'string' }, build: { type: 'boolean' } }, allowNegative: true });
const RUNS = Number(values.runs ?? 3);
const LARGE = Number(values.large ?? 10_000);
const ENTRY = 'dist/cli/main.js';

/** The .ts files under src/ whose .js in dist/ is missing or older. */
function staleFiles(dir = 'src'): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...staleFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const built = join('dist', relative('src', path)).replace(/\.ts$/, '.js');
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(path).mtimeMs) out.push(path);
    }
  }
  return out;
}

if (values.build !== false) {
  const stale = staleFiles();
  if (stale.length > 0) {
    console.log(`dist/ is stale (${stale.length} files, e.g. ${stale[0]}): npm run build`);
    execFileSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
}
if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing; run npm run build`);

interface DemoRun {
  seconds: number;
  peakRssMb: number | undefined;
  code: number | null;
  stdout: string;
}

function vmHwmKb(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function runDemo(extra: string[]): Promise<DemoRun> {
  const dir = mkdtempSync(join(tmpdir(), 'sunset-demo-bench-'));
  try {
    const started = performance.now();
    const child = spawn(process.execPath, [ENTRY, 'demo', '--report', join(dir, 'report.html'), ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
    let hwm: number | undefined;
    const timer = setInterval(() => {
      const v = child.pid === undefined ? undefined : vmHwmKb(child.pid);
      if (v !== undefined) hwm = Math.max(hwm ?? 0, v);
    }, 50);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const seconds = (performance.now() - started) / 1000;
    clearInterval(timer);
    if (code !== 0) console.log(`  exit code ${code}; stderr: ${stderr.trim()}`);
    return { seconds, peakRssMb: hwm === undefined ? undefined : hwm / 1024, code, stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const keyLines = (stdout: string): string[] => stdout.split('\n').filter((l) => /^(2\. Scan|3\. Plan|4\. Apply|Done in)/.test(l) || /one call per contact/.test(l));
const rss = (r: DemoRun): string => (r.peakRssMb === undefined ? '?' : `${r.peakRssMb.toFixed(0)} MB`);

console.log(`sunset demo — node ${process.version}, ${cpus().length} cpus, load ${loadavg()[0]!.toFixed(1)}, ${ENTRY}`);
const runs: DemoRun[] = [];
for (let i = 1; i <= RUNS; i++) {
  const r = await runDemo([]);
  runs.push(r);
  console.log(`  run ${i} (1,000 contacts, the default): ${r.seconds.toFixed(2)} s wall, peak RSS ${rss(r)}, exit ${r.code}`);
  if (i === 1) for (const l of r.stdout.trimEnd().split('\n')) console.log(`    | ${l}`);
  else for (const l of keyLines(r.stdout)) console.log(`    | ${l}`);
}
if (runs.length > 0) console.log(`  median of ${runs.length}: ${median(runs.map((r) => r.seconds)).toFixed(2)} s`);
if (LARGE > 0) {
  const r = await runDemo(['--contacts', String(LARGE)]);
  console.log(`  --contacts ${LARGE}: ${r.seconds.toFixed(2)} s wall, peak RSS ${rss(r)}, exit ${r.code}`);
  for (const l of r.stdout.trimEnd().split('\n')) console.log(`    | ${l}`);
}
