/**
 * One budget per organization across processes: three child processes (test/helpers/budget-caller.ts,
 * each its own client) call one organization of a real emulator over HTTP as hard as they may, on
 * one database (a SQLite file, or one PostgreSQL schema in the postgres project). With the shared
 * budget the emulator refuses nothing (no 44, 45 or 1070) and its busiest minute and its peak in
 * flight stay within its limits; with three in-memory limiters instead, the same load is refused:
 * the test can fail.
 *
 * The emulator's clock is frozen, so its minute never ends during the test: every call of the test
 * falls in one minute, whatever the machine's speed. Its limits are lowered to 20 a minute and 3 in
 * flight (with 40 ms per call, so calls overlap), and the clients are told the same.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateBudget, openPostgres, openSqlite, isPostgresUrl } from '../../src/engine/index.js';
import type { OrganizationLimitCounters } from '../../src/emulator/index.js';
import { ROOT } from '../helpers/cli.js';
import { testLocation } from '../helpers/database.js';
import { startTestEmulator, tempDir, type TestEmulator } from '../helpers/emulator.js';

const PER_MINUTE = 20;
const IN_FLIGHT = 3;
const PROCESSES = 3;
const CALLER = join(ROOT, 'test', 'helpers', 'budget-caller.ts');

interface CallerResult {
  pid: number;
  codes: Record<string, number>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Caller {
  ready: Promise<void>;
  go(): void;
  result: Promise<CallerResult>;
}

/** A caller process: `ready` once it has its client, `go` starts it, `result` when it is done. */
function startCaller(task: Record<string, unknown>): Caller {
  const child = spawn(process.execPath, ['--import', 'tsx', CALLER], {
    cwd: ROOT,
    env: { ...process.env, SUNSET_BUDGET_TASK: JSON.stringify(task) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  cleanups.push(() => void child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.startsWith('ready\n')) onReady();
  });
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const result = new Promise<CallerResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`the caller exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as CallerResult);
    });
  });
  return { ready: Promise.race([ready, result.then(() => undefined)]), go: () => void child.stdin.end('go\n'), result };
}

async function load(mode: 'shared' | 'memory'): Promise<{ results: CallerResult[]; counters: OrganizationLimitCounters; emulator: TestEmulator }> {
  const emulator = await startTestEmulator({
    contacts: 20,
    startAt: Date.UTC(2026, 10, 21, 12, 0, 0),
    limits: { perMinute: PER_MINUTE, inFlight: IN_FLIGHT, daily: 10_000 },
    baseLatencyMs: 40,
  });
  cleanups.push(() => emulator.close());
  await emulator.admin('POST', '/__emulator/clock', { freeze: true });
  const dir = tempDir('sunset-budget-processes-');
  cleanups.push(dir.cleanup);
  const database = testLocation(join(dir.path, `${mode}.db`));
  const db = isPostgresUrl(database) ? openPostgres(database, { maxConnections: 2 }) : openSqlite(database);
  await migrateBudget(db);
  await db.close();
  const task = {
    mode, database, baseUrl: emulator.baseUrl, accountsUrl: emulator.info.accountsUrl, clientId: emulator.info.clientId,
    clientSecret: emulator.info.clientSecret, refreshToken: emulator.info.refreshToken, organizationId: emulator.organization,
    perMinute: PER_MINUTE, windowMs: 61_000, inFlight: IN_FLIGHT, concurrency: 6, durationMs: 4_000,
  };
  const callers = Array.from({ length: PROCESSES }, () => startCaller(task));
  await Promise.all(callers.map((c) => c.ready));
  for (const c of callers) c.go();
  const results = await Promise.all(callers.map((c) => c.result));
  const limits = await emulator.admin<{ organizations: OrganizationLimitCounters[] }>('GET', '/__emulator/limits');
  const counters = limits.body.organizations.find((o) => o.organization_id === emulator.organization)!;
  return { results, counters, emulator };
}

const total = (results: CallerResult[], code: string): number => results.reduce((n, r) => n + (r.codes[code] ?? 0), 0);

describe('one budget per organization, whatever process asks', () => {
  it('three processes on the shared budget: no 44, 45 or 1070, and the busiest minute within the limit', async () => {
    const { results, counters } = await load('shared');
    expect(results.map((r) => r.pid)).toHaveLength(PROCESSES);
    expect({ rateLimited: total(results, '44'), quota: total(results, '45'), inFlight: total(results, '1070') }).toEqual({ rateLimited: 0, quota: 0, inFlight: 0 });
    expect(counters.refused).toEqual({ rate_limited: 0, quota_exhausted: 0, too_many_in_flight: 0 });
    expect(counters.peakPerMinute).toBeLessThanOrEqual(PER_MINUTE);
    expect(counters.inFlight.peak).toBeLessThanOrEqual(IN_FLIGHT);
    // They used the minute's whole budget between them. (Not how they shared it: a process's own
    // waiters are woken by its answers, the others' poll, so the first to start may take it all.)
    expect(total(results, '0')).toBe(PER_MINUTE);
  });

  it('the same load on three in-memory limiters is refused (the test above can fail)', async () => {
    const { results, counters } = await load('memory');
    expect(total(results, '44') + total(results, '1070')).toBeGreaterThan(0);
    expect(counters.refused.rate_limited + counters.refused.too_many_in_flight).toBeGreaterThan(0);
  });
});
