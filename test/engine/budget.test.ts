/**
 * The shared budget (src/engine/budget.ts) on the fake clock, with two budgets on one database
 * standing for two processes (two handles of one SQLite file, or two pools on one PostgreSQL
 * schema): the window, the pacing and the in-flight cap are one for both; a pause, the quota's
 * headroom, an exhaustion and a plan seen by one hold for the other; a call whose process died
 * counts until its lease is over, then a window more. Runs in the sqlite and postgres projects.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LIMITS, QuotaExhaustedError, type Permit, type ResolvedLimiterOptions } from '../../src/client/index.js';
import { createSharedBudget, migrateBudget, type SharedBudget, type SqlDatabase } from '../../src/engine/index.js';
import { openTestDatabase } from '../helpers/database.js';
import { tempDir } from '../helpers/emulator.js';
import { createFakeClock, type FakeClock } from '../helpers/fake-clock.js';
import { track } from '../helpers/scripted-fetch.js';

const ORG = '10234695';

const quotaHeaders = (limit: number, remaining: number, resetSeconds: number): Headers =>
  new Headers({ 'x-rate-limit-limit': String(limit), 'x-rate-limit-remaining': String(remaining), 'x-rate-limit-reset': String(resetSeconds) });

const opened: SqlDatabase[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close();
  for (const cleanup of dirs.splice(0)) cleanup();
});

interface Pair {
  a: SharedBudget;
  b: SharedBudget;
  clock: FakeClock;
  t0: number;
  db: SqlDatabase;
}

/** Two budgets ("two processes") on one database, each through its own handle (b with `limitsOfB` over `limits`, if given). */
async function pair(limits: Partial<ResolvedLimiterOptions>, callLeaseMs?: number, limitsOfB?: Partial<ResolvedLimiterOptions>): Promise<Pair> {
  const dir = tempDir('sunset-budget-');
  dirs.push(dir.cleanup);
  const path = `${dir.path}/budget.db`;
  const first = openTestDatabase(path);
  const second = openTestDatabase(path);
  opened.push(first, second);
  await migrateBudget(first);
  const clock = createFakeClock();
  const options: ResolvedLimiterOptions = { ...DEFAULT_LIMITS, ...limits };
  return {
    a: createSharedBudget(first, options, clock, { owner: 'host:1:a', callLeaseMs }),
    b: createSharedBudget(second, { ...options, ...limitsOfB }, clock, { owner: 'host:2:b', callLeaseMs }),
    clock,
    t0: clock.now(),
    db: first,
  };
}

/** Waits (in real time: the database answers asynchronously) until `check` holds. */
const until = (check: () => boolean, what: string): Promise<void> =>
  vi.waitFor(() => {
    if (!check()) throw new Error(`still waiting: ${what}`);
  }, { timeout: 10_000, interval: 5 });

/** Waits until a waiting acquire sleeps on the clock (it has read the database and decided to wait). */
const sleeping = (clock: FakeClock, n = 1): Promise<void> => until(() => clock.pending() >= n, `${n} sleeper(s) on the clock`);

async function releaseAll(budget: SharedBudget, permits: Permit[], headers?: Headers): Promise<void> {
  for (const p of permits) p.release(headers);
  await budget.flush();
}

describe('the shared budget', () => {
  it('makes the tables it keeps (migrateBudget) and records each call with its owner', async () => {
    const { a, db } = await pair({ perMinute: 10, burst: 10 });
    const permit = await a.acquire(ORG);
    const rows = await db.all<{ owner: string; answered_at: number | null }>('SELECT owner, answered_at FROM budget_calls');
    expect(rows).toEqual([{ owner: 'host:1:a', answered_at: null }]);
    await releaseAll(a, [permit]);
    const answered = await db.all<{ answered_at: number | null }>('SELECT answered_at FROM budget_calls');
    expect(answered.map((r) => r.answered_at === null)).toEqual([false]);
  });

  it('one per-minute window for both: the 4th call, whoever asks, waits until the oldest leaves it', async () => {
    const { a, b, clock, t0 } = await pair({ perMinute: 3, windowMs: 61_000, burst: 3 });
    await releaseAll(a, [await a.acquire(ORG), await a.acquire(ORG)]);
    await releaseAll(b, [await b.acquire(ORG)]);
    expect(b.state(ORG).usedInWindow).toBe(3);
    let startedAt: number | undefined;
    const fourth = track(a.acquire(ORG).then((p) => ((startedAt = clock.now()), p)));
    await sleeping(clock);
    await clock.advance(60_999);
    await sleeping(clock);
    expect(fourth.done).toBe(false);
    await clock.advance(2);
    await until(() => fourth.done, 'the fourth call');
    expect(fourth.error).toBeUndefined();
    expect(startedAt! - t0).toBeGreaterThanOrEqual(61_000);
    expect(startedAt! - t0).toBeLessThanOrEqual(61_001);
  });

  it('processes started with different per-minute limits never add up to more than the lowest: b (6 a minute) stops at a\'s 3 while a\'s call is in the window, then has its own 6', async () => {
    const { a, b, clock, t0 } = await pair({ perMinute: 3, windowMs: 61_000, burst: 6 }, undefined, { perMinute: 6 });
    await releaseAll(a, [await a.acquire(ORG)]);
    await clock.advance(30_000);
    await releaseAll(b, [await b.acquire(ORG), await b.acquire(ORG)]);
    expect(b.state(ORG)).toMatchObject({ usedInWindow: 3, perMinute: 3 });
    let startedAt: number | undefined;
    const fourth = track(b.acquire(ORG).then((p) => ((startedAt = clock.now()), p)));
    await sleeping(clock);
    expect(fourth.done, 'b waits: 3 calls in the window, and a drew with 3 a minute').toBe(false);
    // a's call leaves the window at 61 s; then only b's own limit is in it.
    await clock.advance(31_001);
    await until(() => fourth.done, 'the fourth call');
    expect(startedAt! - t0).toBeGreaterThanOrEqual(61_000);
    expect(startedAt! - t0).toBeLessThanOrEqual(61_001);
    const more = [await b.acquire(ORG), await b.acquire(ORG), await b.acquire(ORG)];
    expect(b.state(ORG)).toMatchObject({ usedInWindow: 6, perMinute: 6 });
    await releaseAll(b, [fourth.value!, ...more]);
  });

  it('one pacing bucket: after the burst, the other process waits for the refill', async () => {
    const { a, b, clock, t0 } = await pair({ perMinute: 60, windowMs: 60_000, burst: 2 });
    await releaseAll(a, [await a.acquire(ORG), await a.acquire(ORG)]);
    let startedAt: number | undefined;
    const third = track(b.acquire(ORG).then((p) => ((startedAt = clock.now()), p)));
    await sleeping(clock);
    expect(third.done).toBe(false);
    expect(clock.sleeps.at(-1)).toBe(1_000);
    await clock.advance(1_000);
    await until(() => third.done, 'the third call');
    expect(startedAt! - t0).toBe(1_000);
  });

  it('one in-flight cap: the other process polls until a slot frees; this one is woken by its own release', async () => {
    const { a, b, clock } = await pair({ perMinute: 100, burst: 100, inFlight: 2 });
    const held = [await a.acquire(ORG), await a.acquire(ORG)];
    const fromB = track(b.acquire(ORG));
    await sleeping(clock);
    expect(clock.sleeps.at(-1)).toBe(250);
    expect(fromB.done).toBe(false);
    // Another of A's own waits too; A's release wakes it without the clock moving.
    const fromA = track(a.acquire(ORG));
    await sleeping(clock, 2);
    held[0]!.release();
    await until(() => fromA.done, "A's own waiter, woken by A's release");
    expect(fromA.error).toBeUndefined();
    expect(fromB.done).toBe(false);
    // B sees the slot only when a slot is free when it looks again.
    held[1]!.release();
    await a.flush();
    await clock.advance(250);
    await until(() => fromB.done, "B's waiter, after its poll");
    expect(fromB.error).toBeUndefined();
    expect(b.state(ORG).inFlight).toBe(2);
  });

  it('a 44 seen by one process pauses the organization for the other', async () => {
    const { a, b, clock, t0 } = await pair({ perMinute: 100, burst: 100, windowMs: 61_000 });
    const p = await a.acquire(ORG);
    p.release();
    a.pause(ORG);
    await a.flush();
    let startedAt: number | undefined;
    const next = track(b.acquire(ORG).then((x) => ((startedAt = clock.now()), x)));
    await sleeping(clock);
    expect(next.done).toBe(false);
    expect(b.state(ORG).pausedUntil).toBe(t0 + 61_000);
    await clock.advance(61_000);
    await until(() => next.done, 'the call after the pause');
    expect(startedAt).toBe(t0 + 61_000);
  });

  it("the quota's headroom is shared: the quota one process read stops the other", async () => {
    const { a, b } = await pair({ perMinute: 100, burst: 100, dailyHeadroom: 0.05 });
    await releaseAll(a, [await a.acquire(ORG)], quotaHeaders(1000, 50, 3600));
    const error = await b.acquire(ORG).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(QuotaExhaustedError);
    expect((error as QuotaExhaustedError).message).toMatch(/Only 50 of organization 10234695's 1000 daily calls are left, and 50 are kept/);
    expect(b.state(ORG).quota).toMatchObject({ limit: 1000, remaining: 50 });
  });

  it('keeps the lowest remaining count within a day, whichever process read it', async () => {
    const { a, b } = await pair({ perMinute: 100, burst: 100, dailyHeadroom: 1 });
    await releaseAll(a, [await a.acquire(ORG)], quotaHeaders(1000, 400, 3600));
    await releaseAll(b, [await b.acquire(ORG)], quotaHeaders(1000, 700, 3599));
    // b's acquire took one more from the 400 it read in the row, and the later, higher header does not raise it.
    await releaseAll(b, [await b.acquire(ORG)]);
    expect(b.state(ORG).quota?.remaining).toBe(398);
  });

  it('a 45 seen by one process closes the organization for the other until the reset', async () => {
    const { a, b, clock, t0 } = await pair({ perMinute: 100, burst: 100 });
    await releaseAll(a, [await a.acquire(ORG)]);
    a.exhausted(ORG, t0 + 3_600_000);
    await a.flush();
    const error = await b.acquire(ORG).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(QuotaExhaustedError);
    expect((error as QuotaExhaustedError).resetAt).toBe(t0 + 3_600_000);
    await clock.advance(3_600_000);
    const after = await b.acquire(ORG);
    await releaseAll(b, [after]);
    expect(b.state(ORG).quota).toBeUndefined();
  });

  it('a plan seen by one process raises the in-flight cap for both', async () => {
    const { a, b } = await pair({ perMinute: 100, burst: 100 });
    a.setPlan(ORG, 'paid');
    await a.flush();
    const permit = await b.acquire(ORG);
    expect(b.state(ORG).inFlightCap).toBe(10);
    await releaseAll(b, [permit]);
  });

  it("a call of a process that died holds its in-flight slot until its lease is over, and the window a window longer", async () => {
    const { a, b, clock, t0 } = await pair({ perMinute: 2, burst: 2, inFlight: 1, windowMs: 61_000 }, 10_000);
    await a.acquire(ORG); // a dies with it in flight: never released
    const fromB = track(b.acquire(ORG));
    await sleeping(clock);
    await clock.advance(9_999);
    await sleeping(clock);
    expect(fromB.done).toBe(false);
    await clock.advance(251);
    await until(() => fromB.done, 'the call after the lease');
    expect(clock.now() - t0).toBeGreaterThanOrEqual(10_000);
    await releaseAll(b, [(fromB as { value: Permit }).value]);
    // The dead call still counts in the window until its lease + a window: the third waits for it.
    let startedAt: number | undefined;
    const third = track(b.acquire(ORG).then((p) => ((startedAt = clock.now()), p)));
    await sleeping(clock);
    expect(third.done).toBe(false);
    await clock.advance(t0 + 71_001 - clock.now());
    await until(() => third.done, 'the third call');
    expect(startedAt! - t0).toBe(71_001);
  });

  it('forgets answered calls a window after their answer', async () => {
    const { a, clock, db } = await pair({ perMinute: 100, burst: 100, windowMs: 61_000 });
    await releaseAll(a, [await a.acquire(ORG), await a.acquire(ORG)]);
    await clock.advance(200_000);
    await releaseAll(a, [await a.acquire(ORG)]);
    expect(await db.all('SELECT call_id FROM budget_calls')).toHaveLength(1);
  });

  it('an abort ends the wait with the signal\'s reason', async () => {
    const { a, b, clock } = await pair({ perMinute: 1, burst: 1 });
    await releaseAll(a, [await a.acquire(ORG)]);
    const stop = new AbortController();
    const waiting = track(b.acquire(ORG, stop.signal));
    await sleeping(clock);
    stop.abort(new Error('stopped'));
    await until(() => waiting.done, 'the aborted wait');
    expect((waiting.error as Error).message).toBe('stopped');
  });
});
