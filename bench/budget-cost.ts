/**
 * What the shared budget costs per Zoho call: the same calls through the client with the in-memory
 * limiter, and with the budget kept in the database (a SQLite file as the CLI opens it, fsync on
 * every commit; and PostgreSQL), against an in-process emulator with its limits off, so only the
 * limiter differs. Prints the time per call of each and the extra time of the shared budget.
 * Run: npx tsx bench/budget-cost.ts [--calls N] [--concurrency C] [--postgres URL]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createMemoryTokenStore, createZohoBooksClient, type LimiterFactory } from '../src/client/index.js';
import { createEmulator, createEmulatorFetch } from '../src/emulator/index.js';
import { createSharedBudget, migrateBudget, openPostgres, openSqlite, type SharedBudget, type SqlDatabase } from '../src/engine/index.js';

const { values } = parseArgs({ options: { calls: { type: 'string' }, concurrency: { type: 'string' }, postgres: { type: 'string' } } });
const CALLS = Number(values.calls ?? 2000);
const CONCURRENCY = Number(values.concurrency ?? 1);
const POSTGRES = values.postgres ?? process.env.SUNSET_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const emulator = createEmulator({ seed: 'demo', contacts: 20, limits: false });
const origin = 'http://bench.emulator';
const info = emulator.info(origin);
const organizationId = info.organizations[0]!.organization_id;

async function run(label: string, db: SqlDatabase | undefined): Promise<number> {
  let budget: SharedBudget | undefined;
  const limiter: LimiterFactory | undefined = db ? (limits, clock) => (budget = createSharedBudget(db, limits, clock, { owner: `bench:${process.pid}` })) : undefined;
  const client = createZohoBooksClient({
    baseUrl: info.baseUrl, accountsUrl: info.accountsUrl, fetch: createEmulatorFetch(emulator, origin),
    credentials: { clientId: info.clientId, clientSecret: info.clientSecret, refreshToken: info.refreshToken },
    tokenStore: createMemoryTokenStore(),
    limits: { perMinute: 1_000_000_000, burst: 1_000_000_000, inFlight: 1_000 },
    limiter,
  });
  const call = () => client.request({ method: 'GET', path: '/contacts', query: { per_page: 1 }, organizationId });
  for (let i = 0; i < 50; i++) await call(); // warm up: the token, the statements, the JIT
  let left = CALLS;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (left-- > 0) await call();
  }));
  await budget?.flush();
  const perCall = (performance.now() - started) / CALLS;
  console.log(`${label.padEnd(34)} ${perCall.toFixed(3)} ms a call (${CALLS} calls, ${CONCURRENCY} at once)`);
  return perCall;
}

const dir = mkdtempSync(join(tmpdir(), 'sunset-budget-bench-'));
try {
  const memory = await run('in-memory limiter', undefined);
  const sqlite = openSqlite(join(dir, 'budget.db'));
  await migrateBudget(sqlite);
  const onSqlite = await run('shared budget, SQLite (durable)', sqlite);
  await sqlite.close();
  const url = new URL(POSTGRES);
  const schema = `bench_budget_${process.pid}`;
  url.searchParams.set('schema', schema);
  const pg = openPostgres(url.toString(), { maxConnections: 10 });
  try {
    await migrateBudget(pg);
    const onPostgres = await run('shared budget, PostgreSQL (local)', pg);
    console.log(`extra per call: SQLite +${(onSqlite - memory).toFixed(3)} ms, PostgreSQL +${(onPostgres - memory).toFixed(3)} ms`);
    await pg.exec(`DROP SCHEMA ${schema} CASCADE`);
  } finally {
    await pg.close();
  }
} finally {
  emulator.close();
  rmSync(dir, { recursive: true, force: true });
}
