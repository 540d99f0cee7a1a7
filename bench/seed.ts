/**
 * Times the emulator's demo-data generation: `createEmulator({ contacts: N })` for each size, in
 * memory and with a temporary SQLite file (`--db`). Each (size, store) pair runs in a fresh child
 * process of this script, so the peak RSS it prints belongs to that run alone.
 *
 *   npx tsx bench/seed.ts                         # N = 10,000 and 100,000
 *   npx tsx bench/seed.ts --sizes 1000,100000     # other sizes
 *   npx tsx bench/seed.ts --stores memory         # memory | file | memory,file
 *
 * `--contacts N` is the first organization's count; the second organization gets 20% of that on
 * top, so the table's "Contacts" column is the total across both.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createEmulator } from '../src/emulator/index.js';

type StoreKind = 'memory' | 'file';

interface SeedResult {
  firstOrgContacts: number;
  store: StoreKind;
  contacts: number;
  transactions: number;
  seconds: number;
  peakRssMb: number;
  dbMb: number | null;
  /** Cores the rest of the machine kept busy meanwhile (Linux /proc/stat), or null elsewhere. */
  otherCores: number | null;
}

/** Busy CPU seconds of the whole machine so far, from /proc/stat (Linux); undefined elsewhere. */
function machineBusySeconds(): number | undefined {
  try {
    const ticks = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
    // idle and iowait are the 4th and 5th numbers; USER_HZ is 100 on Linux.
    return (ticks.reduce((a, b) => a + b, 0) - (ticks[3] ?? 0) - (ticks[4] ?? 0)) / 100;
  } catch {
    return undefined;
  }
}

const RESULT_PREFIX = 'SEED_RESULT ';

/** One measurement, in this process: what the child does. */
function measure(firstOrgContacts: number, store: StoreKind): SeedResult {
  const dir = store === 'file' ? mkdtempSync(join(tmpdir(), 'sunset-seed-bench-')) : undefined;
  const db = dir ? join(dir, 'emulator.db') : undefined;
  try {
    const busyBefore = machineBusySeconds();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const emulator = createEmulator({ contacts: firstOrgContacts, db, limits: false });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const busyAfter = machineBusySeconds();
    const otherCores = busyBefore === undefined || busyAfter === undefined
      ? null
      : Math.max(0, (busyAfter - busyBefore - (cpu.user + cpu.system) / 1e6) / seconds);
    const count = (sql: string): number => (emulator.store.db.prepare(sql).get() as { n: number }).n;
    const contacts = count('SELECT COUNT(*) AS n FROM contacts');
    const transactions = count('SELECT COUNT(*) AS n FROM transactions');
    emulator.close();
    let dbMb: number | null = null;
    if (db) {
      let bytes = statSync(db).size;
      try {
        bytes += statSync(`${db}-wal`).size;
      } catch {
        // no WAL left after a clean close
      }
      dbMb = bytes / 1024 / 1024;
    }
    // maxRSS is in kilobytes.
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    return { firstOrgContacts, store, contacts, transactions, seconds, peakRssMb, dbMb, otherCores };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(firstOrgContacts: number, store: StoreKind): Promise<SeedResult> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, script, '--child', String(firstOrgContacts), '--store', store], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || !line) {
        reject(new Error(`seed child (${firstOrgContacts}, ${store}) exited with ${code}: ${out.trim()}`));
        return;
      }
      resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as SeedResult);
    });
  });
}

function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const [index, row] of rows.entries()) {
    console.log(row.map((cell, i) => (i === 0 || i === 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
    if (index === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      store: { type: 'string' },
      stores: { type: 'string', default: process.env.SEED_BENCH_STORES ?? 'memory,file' },
      sizes: { type: 'string', default: process.env.SEED_BENCH_SIZES ?? '10000,100000' },
    },
  });

  if (values.child !== undefined) {
    const result = measure(Number(values.child), values.store === 'file' ? 'file' : 'memory');
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
    return;
  }

  const sizes = values.sizes.split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 1_000_000)) throw new Error(`--sizes: whole numbers from 1 to 1,000,000 (got "${values.sizes}")`);
  const stores = values.stores.split(',').map((s) => s.trim());
  if (stores.some((s) => s !== 'memory' && s !== 'file')) throw new Error(`--stores: memory, file or both (got "${values.stores}")`);

  console.log(`Demo-data generation: createEmulator({ contacts: N }), one child process per run`);
  console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${process.platform}/${process.arch}\n`);

  const results: SeedResult[] = [];
  for (const size of sizes) {
    for (const store of stores as StoreKind[]) {
      const r = await runChild(size, store);
      console.error(`  ${fmtInt(size)} (${store}): ${r.seconds.toFixed(1)} s`);
      results.push(r);
    }
  }

  console.log('');
  printTable([
    ['--contacts', 'Store', 'Contacts (both orgs)', 'Transactions', 'Seconds', 'Peak RSS (MB)', 'DB file (MB)', 'Other CPU'],
    ...results.map((r) => [
      fmtInt(r.firstOrgContacts),
      r.store === 'file' ? 'file (--db)' : 'memory',
      fmtInt(r.contacts),
      fmtInt(r.transactions),
      r.seconds.toFixed(1),
      r.peakRssMb.toFixed(0),
      r.dbMb === null ? '-' : r.dbMb.toFixed(0),
      r.otherCores === null ? '-' : `${Math.round(r.otherCores * 100)}%`,
    ]),
  ]);
  const big = results.filter((r) => r.firstOrgContacts >= 100_000);
  console.log(`\nOther CPU: cores the rest of the machine used meanwhile (100% = one of the ${cpus().length}); the seed itself runs on one.`);
  for (const r of big) {
    console.log(`\nTarget: 100,000 contacts with their transactions in under a minute (${r.store}): ${r.seconds < 60 ? 'MET' : 'MISSED'} (${r.seconds.toFixed(1)} s)`);
  }
}

await main();
