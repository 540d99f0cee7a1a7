/**
 * A process that calls one organization of an emulator as hard as it may until its time is up,
 * for the shared-budget test (test/engine/budget-processes.test.ts): its own client, and either the
 * budget shared through the database (`shared`) or its own in-memory limiter (`memory`). Reads its
 * task from SUNSET_BUDGET_TASK (JSON), says `ready`, starts at a line on stdin, and prints one JSON
 * line: the code of every answer it got.
 */
import { createMemoryTokenStore, createZohoBooksClient, type LimiterFactory } from '../../src/client/index.js';
import { createSharedBudget, isPostgresUrl, openPostgres, openSqlite, type SharedBudget, type SqlDatabase } from '../../src/engine/index.js';

interface Task {
  mode: 'shared' | 'memory';
  database: string;
  baseUrl: string;
  accountsUrl: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  organizationId: string;
  perMinute: number;
  windowMs: number;
  inFlight: number;
  /** Calls this process keeps going at once. */
  concurrency: number;
  /** How long it keeps calling, from its start. */
  durationMs: number;
}

const task = JSON.parse(process.env.SUNSET_BUDGET_TASK ?? '{}') as Task;
const db: SqlDatabase | undefined = task.mode === 'shared'
  ? (isPostgresUrl(task.database) ? openPostgres(task.database, { maxConnections: 4 }) : openSqlite(task.database))
  : undefined;
const owner = `budget-caller:${process.pid}`;
let budget: SharedBudget | undefined;
const limiter: LimiterFactory | undefined = db ? (limits, clock) => (budget = createSharedBudget(db, limits, clock, { owner })) : undefined;
const codes: Record<string, number> = {};
const client = createZohoBooksClient({
  baseUrl: task.baseUrl,
  accountsUrl: task.accountsUrl,
  credentials: { clientId: task.clientId, clientSecret: task.clientSecret, refreshToken: task.refreshToken },
  tokenStore: createMemoryTokenStore(),
  limits: { perMinute: task.perMinute, windowMs: task.windowMs, burst: task.perMinute, inFlight: task.inFlight },
  // Every answer counts once: no retries, so a refusal is not hidden by a later success.
  retry: { maxAttempts: 1 },
  limiter,
  hooks: { onResponse: (r) => void (codes[String(r.code ?? r.status)] = (codes[String(r.code ?? r.status)] ?? 0) + 1) },
});

// The access token first (an account-level call, outside the budget), so no caller starts later than the others for it.
await client.organizations.list();
for (const code of Object.keys(codes)) delete codes[code];
// Ready: the parent starts every caller at once by a line on stdin.
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
process.stdin.destroy();
const signal = AbortSignal.timeout(task.durationMs);
const loop = async (): Promise<void> => {
  while (!signal.aborted) {
    try {
      await client.request({ method: 'GET', path: '/contacts', query: { per_page: 1 }, organizationId: task.organizationId, signal });
    } catch (error) {
      if (signal.aborted) return;
      // A refusal (counted by its code above) or a quota stop: keep going until the time is up.
      if ((error as { kind?: string }).kind === 'quota_exhausted') return;
    }
  }
};
await Promise.all(Array.from({ length: task.concurrency }, loop));
// Let the budget record the last answers before the database closes.
await budget?.flush();
await db?.close();
process.stdout.write(`${JSON.stringify({ pid: process.pid, codes })}\n`);
