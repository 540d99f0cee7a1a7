/**
 * One budget per organization, whatever process calls Zoho for it: the client's limiter (the same
 * per-minute window, pacing, in-flight cap, daily quota with its headroom, 44 pause and 45
 * exhaustion as src/client/limiter.ts) with its state in the database instead of in memory, so
 * every worker, `sunset serve` and the CLI on one database draw from it together.
 *
 * The state is two tables (the `budget` component of the migrations): one row per organization
 * (pacing tokens, plan, pause, quota) and one row per call (when it was let go, when it was
 * answered, and until when an unanswered one is taken to be in flight: a call of a process that
 * died is never answered, and counts until that time, then a window more). Letting a call go is
 * one transaction that holds the organization's row (PostgreSQL: SELECT ... FOR UPDATE; SQLite:
 * BEGIN IMMEDIATE already holds the whole file), counts the calls, checks, and records the call.
 * A caller that may not go waits on the injected clock: as long as the row says (a pause, the
 * window's oldest call, the pacing), or a short poll for the in-flight cap (another process frees
 * it); a call answered in this process wakes this process's waiters at once. Each call records its
 * process's per-minute limit, and the lowest among the calls in the window binds every process: two
 * processes started with different `--per-minute` never add up to more than the lower one.
 *
 * The Limiter interface is synchronous where the database is not (release, pause, exhausted,
 * setPlan): their writes are queued in order, the next acquire of this instance waits for them,
 * and `flush()` waits for them before the database is closed. `state()` answers from what this
 * instance last read. The tables are made on first use when the database was not migrated.
 */
import { randomUUID } from 'node:crypto';
import {
  QuotaExhaustedError, type Clock, type Limiter, type OrganizationLimitState, type Permit, type QuotaState, type ResolvedLimiterOptions,
} from '../client/index.js';
import { migrate, type Component } from './storage/migrations.js';
import type { SqlDatabase } from './storage/sql.js';

export const BUDGET_COMPONENT: Component = {
  name: 'budget',
  migrations: [
    {
      version: 1,
      name: "each organization's shared request budget and the calls drawn from it",
      up: [
        `CREATE TABLE IF NOT EXISTS budget_organizations (
          organization_id TEXT PRIMARY KEY,
          tokens DOUBLE PRECISION NOT NULL,
          refilled_at BIGINT NOT NULL,
          plan_cap INTEGER,
          paused_until BIGINT NOT NULL,
          quota_limit BIGINT,
          quota_remaining BIGINT,
          quota_reset_at BIGINT
        )`,
        `CREATE TABLE IF NOT EXISTS budget_calls (
          call_id TEXT PRIMARY KEY,
          organization_id TEXT NOT NULL,
          owner TEXT NOT NULL,
          started_at BIGINT NOT NULL,
          answered_at BIGINT,
          expires_at BIGINT NOT NULL
        )`,
        'CREATE INDEX IF NOT EXISTS budget_calls_by_organization ON budget_calls (organization_id, answered_at)',
      ],
    },
    {
      version: 2,
      name: "each call records its process's per-minute limit: the lowest in the window binds every process",
      up: ['ALTER TABLE budget_calls ADD COLUMN per_minute INTEGER'],
    },
  ],
};

export interface SharedBudgetOptions {
  /** Who draws (`host:pid:random`), recorded on each call. */
  owner: string;
  /**
   * How long an unanswered call is taken to be in flight (default 60 s: twice the client's
   * per-attempt timeout, by when the caller, if alive, has given the attempt up, and Zoho has long
   * finished it). A call of a process that died or froze counts in flight until then, and in the
   * window a window longer; longer would hold a frozen worker's slots from the worker that takes
   * its run over.
   */
  callLeaseMs?: number;
  /** The longest wait before looking again when another process holds what is missing (default 250 ms). */
  pollMs?: number;
}

/** The client's Limiter, kept in the database. */
export interface SharedBudget extends Limiter {
  /** Waits until every write queued by release, pause, exhausted and setPlan is in the database. */
  flush(): Promise<void>;
}

/** In flight per organization until its plan is known (as the in-memory limiter). */
const DEFAULT_IN_FLIGHT = 5;

interface OrganizationRow {
  organization_id: string;
  tokens: number;
  refilled_at: number;
  plan_cap: number | null;
  paused_until: number;
  quota_limit: number | null;
  quota_remaining: number | null;
  quota_reset_at: number | null;
}

interface Seen {
  row: OrganizationRow;
  inFlight: number;
  used: number;
  /** The per-minute limit that bound the last decision: this process's, or a lower one another process drew with. */
  perMinute: number;
}

type Decision =
  | { go: true; callId: string }
  | { go: false; waitMs: number }
  | { go: false; quota: QuotaState };

const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function quotaOf(row: OrganizationRow): QuotaState | undefined {
  if (row.quota_remaining === null || row.quota_reset_at === null) return undefined;
  return { limit: row.quota_limit ?? 0, remaining: row.quota_remaining, resetAt: row.quota_reset_at };
}

/** The budget's tables, made if missing (commands that open the database for Zoho work migrate it with the rest). */
export async function migrateBudget(db: SqlDatabase): Promise<void> {
  await migrate(db, [BUDGET_COMPONENT]);
}

export function createSharedBudget(db: SqlDatabase, options: ResolvedLimiterOptions, clock: Clock, shared: SharedBudgetOptions): SharedBudget {
  const burst = Math.max(1, Math.floor(options.burst ?? Math.ceil(options.perMinute / 6)));
  const refillPerMs = options.perMinute / options.windowMs;
  const leaseMs = shared.callLeaseMs ?? 60_000;
  const pollMs = shared.pollMs ?? 250;
  const windowMs = options.windowMs;
  const seen = new Map<string, Seen>();
  const wakers = new Map<string, Set<() => void>>();
  const prunedAt = new Map<string, number>();
  let writes: Promise<void> = Promise.resolve();
  let writeError: unknown;
  // The tables are made on first use if whoever opened the database did not migrate it (a no-op when it did).
  let ready: Promise<void> | undefined;
  const ensureReady = (): Promise<void> => (ready ??= migrateBudget(db).catch((error: unknown) => {
    ready = undefined;
    throw error;
  }));

  const headroom = (quota: QuotaState): number =>
    options.dailyHeadroom >= 1 ? Math.floor(options.dailyHeadroom) : Math.ceil(quota.limit * options.dailyHeadroom);
  const capFor = (id: string, row: OrganizationRow | undefined): number => {
    const configured = typeof options.inFlight === 'number' ? options.inFlight : options.inFlight?.[id];
    return configured ?? row?.plan_cap ?? DEFAULT_IN_FLIGHT;
  };
  const wakeAll = (id: string): void => {
    const set = wakers.get(id);
    if (!set) return;
    wakers.delete(id);
    for (const wake of set) wake();
  };
  /** Queues a write; the next acquire of this instance waits for it and reports its failure. */
  const queue = (id: string, write: () => Promise<void>): void => {
    writes = writes.then(ensureReady).then(write).then(
      () => wakeAll(id),
      (error: unknown) => {
        writeError ??= error;
        wakeAll(id);
      },
    );
  };

  /**
   * The organization's row, made if missing, held until the transaction ends: one statement (an
   * upsert that writes the row, so PostgreSQL locks it; SQLite's BEGIN IMMEDIATE holds the file).
   */
  const lockRow = async (tx: SqlDatabase, id: string, now: number): Promise<OrganizationRow> => {
    const raw = await tx.get<Record<string, unknown>>(
      `INSERT INTO budget_organizations (organization_id, tokens, refilled_at, plan_cap, paused_until, quota_limit, quota_remaining, quota_reset_at)
       VALUES (?, ?, ?, NULL, 0, NULL, NULL, NULL)
       ON CONFLICT (organization_id) DO UPDATE SET organization_id = excluded.organization_id
       RETURNING organization_id, tokens, refilled_at, plan_cap, paused_until, quota_limit, quota_remaining, quota_reset_at`,
      [id, burst, now],
    );
    if (!raw) throw new Error(`the budget row of organization ${id} vanished inside its own transaction`);
    return {
      organization_id: id,
      tokens: num(raw.tokens),
      refilled_at: num(raw.refilled_at),
      plan_cap: numOrNull(raw.plan_cap),
      paused_until: num(raw.paused_until),
      quota_limit: numOrNull(raw.quota_limit),
      quota_remaining: numOrNull(raw.quota_remaining),
      quota_reset_at: numOrNull(raw.quota_reset_at),
    };
  };
  const saveRow = (tx: SqlDatabase, row: OrganizationRow): Promise<number> =>
    tx.run(
      `UPDATE budget_organizations SET tokens = ?, refilled_at = ?, plan_cap = ?, paused_until = ?, quota_limit = ?, quota_remaining = ?, quota_reset_at = ?
       WHERE organization_id = ?`,
      [row.tokens, row.refilled_at, row.plan_cap, row.paused_until, row.quota_limit, row.quota_remaining, row.quota_reset_at, row.organization_id],
    );

  /**
   * The calls that count now: in flight (unanswered, lease not over), used (in flight, answered
   * within a window, or unanswered with a lease over less than a window ago) and when the oldest
   * of the used ones that is not in flight leaves the window.
   */
  const count = async (tx: SqlDatabase, id: string, now: number): Promise<{ inFlight: number; used: number; leavesAt: number | undefined; perMinute: number }> => {
    const edge = now - windowMs;
    const r = await tx.get<{ in_flight: unknown; used: unknown; oldest: unknown; lowest: unknown }>(
      `SELECT
         COALESCE(SUM(CASE WHEN answered_at IS NULL AND expires_at > ? THEN 1 ELSE 0 END), 0) AS in_flight,
         COUNT(*) AS used,
         MIN(CASE WHEN answered_at IS NOT NULL THEN answered_at WHEN expires_at <= ? THEN expires_at END) AS oldest,
         MIN(per_minute) AS lowest
       FROM budget_calls
       WHERE organization_id = ? AND ((answered_at IS NULL AND expires_at > ?) OR answered_at > ?)`,
      [now, now, id, edge, edge],
    );
    const oldest = numOrNull(r?.oldest);
    const lowest = numOrNull(r?.lowest);
    return {
      inFlight: num(r?.in_flight ?? 0),
      used: num(r?.used ?? 0),
      leavesAt: oldest === null ? undefined : oldest + windowMs,
      // Processes configured differently (one --per-minute 100, another 200) must not add up to
      // more than the lowest: a call drawn within the window with a lower limit binds this one too.
      perMinute: lowest === null ? options.perMinute : Math.min(options.perMinute, lowest),
    };
  };

  const prune = async (tx: SqlDatabase, id: string, now: number): Promise<void> => {
    if ((prunedAt.get(id) ?? -Infinity) > now - windowMs / 2) return;
    prunedAt.set(id, now);
    const edge = now - windowMs - 1_000;
    await tx.run(
      'DELETE FROM budget_calls WHERE organization_id = ? AND ((answered_at IS NOT NULL AND answered_at < ?) OR (answered_at IS NULL AND expires_at < ?))',
      [id, edge, edge],
    );
  };

  const decide = (id: string): Promise<Decision> =>
    db.transaction(async (tx) => {
      const now = clock.now();
      const row = await lockRow(tx, id, now);
      await prune(tx, id, now);
      let dirty = false;
      if (row.quota_reset_at !== null && now >= row.quota_reset_at) {
        row.quota_limit = row.quota_remaining = row.quota_reset_at = null;
        dirty = true;
      }
      const counted = await count(tx, id, now);
      const perMinute = counted.perMinute;
      const remember = (): void => void seen.set(id, { row: { ...row }, inFlight: counted.inFlight, used: counted.used, perMinute });
      const quota = quotaOf(row);
      if (quota && quota.remaining <= headroom(quota)) {
        if (dirty) await saveRow(tx, row);
        remember();
        return { go: false, quota };
      }
      if (row.paused_until > now) {
        if (dirty) await saveRow(tx, row);
        remember();
        return { go: false, waitMs: row.paused_until - now };
      }
      // The calls in flight count too; none of them leaves the window before a window from now.
      if (counted.used >= perMinute) {
        if (dirty) await saveRow(tx, row);
        remember();
        return { go: false, waitMs: counted.leavesAt === undefined ? pollMs : Math.max(1, counted.leavesAt - now + 1) };
      }
      // Paced at the binding limit's rate too.
      const refill = perMinute < options.perMinute ? perMinute / windowMs : refillPerMs;
      if (now > row.refilled_at) {
        row.tokens = Math.min(burst, row.tokens + (now - row.refilled_at) * refill);
        row.refilled_at = now;
        dirty = true;
      }
      if (row.tokens < 1) {
        if (dirty) await saveRow(tx, row);
        remember();
        return { go: false, waitMs: Math.max(1, Math.ceil((1 - row.tokens) / refill)) };
      }
      if (counted.inFlight >= capFor(id, row)) {
        if (dirty) await saveRow(tx, row);
        remember();
        return { go: false, waitMs: pollMs };
      }
      row.tokens -= 1;
      if (row.quota_remaining !== null) row.quota_remaining -= 1;
      await saveRow(tx, row);
      const callId = randomUUID();
      await tx.run(
        'INSERT INTO budget_calls (call_id, organization_id, owner, started_at, answered_at, expires_at, per_minute) VALUES (?, ?, ?, ?, NULL, ?, ?)',
        [callId, id, shared.owner, now, now + leaseMs, options.perMinute],
      );
      counted.inFlight++;
      counted.used++;
      remember();
      return { go: true, callId };
    });

  /** Sleeps `ms` on the clock, or until this process frees something of the organization. */
  const wait = async (id: string, ms: number, signal: AbortSignal | undefined): Promise<void> => {
    const stop = new AbortController();
    const onAbort = (): void => stop.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let set = wakers.get(id);
    if (!set) wakers.set(id, (set = new Set()));
    const wake = (): void => stop.abort('woken');
    set.add(wake);
    try {
      await clock.sleep(ms, stop.signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (!stop.signal.aborted) throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      wakers.get(id)?.delete(wake);
    }
  };

  /** Records the answer: the call leaves the window a window from now; the quota headers are folded into the row. */
  const answer = async (id: string, callId: string, at: number, headers: Headers | undefined): Promise<void> => {
    let quota: { limit: number; remaining: number; resetAt: number } | undefined;
    if (headers?.has('x-rate-limit-remaining')) {
      const limit = Number(headers.get('x-rate-limit-limit'));
      const remaining = Number(headers.get('x-rate-limit-remaining'));
      const reset = Number(headers.get('x-rate-limit-reset'));
      if (Number.isFinite(limit) && Number.isFinite(remaining) && Number.isFinite(reset)) quota = { limit, remaining, resetAt: at + reset * 1000 };
    }
    if (!quota) {
      await db.run('UPDATE budget_calls SET answered_at = ? WHERE call_id = ?', [at, callId]);
      return;
    }
    const q = quota;
    await db.transaction(async (tx) => {
      await tx.run('UPDATE budget_calls SET answered_at = ? WHERE call_id = ?', [at, callId]);
      // A later reset (by more than an hour) is a new day: take it as is. Within a day, keep the
      // lowest count seen. One statement, so the row is read and written under its own lock.
      const row = await tx.get<Record<string, unknown>>(
        `UPDATE budget_organizations SET
           quota_remaining = CASE
             WHEN quota_remaining IS NULL OR quota_reset_at IS NULL OR ? > quota_reset_at + 3600000 OR ? >= quota_reset_at THEN ?
             WHEN quota_remaining < ? THEN quota_remaining ELSE ? END,
           quota_reset_at = CASE
             WHEN quota_remaining IS NULL OR quota_reset_at IS NULL OR ? > quota_reset_at + 3600000 OR ? >= quota_reset_at THEN ?
             ELSE quota_reset_at END,
           quota_limit = ?
         WHERE organization_id = ?
         RETURNING quota_limit, quota_remaining, quota_reset_at`,
        [q.resetAt, at, q.remaining, q.remaining, q.remaining, q.resetAt, at, q.resetAt, q.limit, id],
      );
      const known = seen.get(id);
      if (known && row) Object.assign(known.row, { quota_limit: numOrNull(row.quota_limit), quota_remaining: numOrNull(row.quota_remaining), quota_reset_at: numOrNull(row.quota_reset_at) });
    });
  };

  const throwIfWriteFailed = (): void => {
    if (writeError === undefined) return;
    const error = writeError;
    writeError = undefined;
    throw error;
  };

  return {
    async acquire(id, signal) {
      for (;;) {
        signal?.throwIfAborted();
        await writes;
        throwIfWriteFailed();
        await ensureReady();
        const decision = await decide(id);
        if ('quota' in decision) {
          const quota = decision.quota;
          const reserved = headroom(quota);
          throw new QuotaExhaustedError(
            quota.remaining <= 0
              ? `The daily API quota of organization ${id} (${quota.limit} calls) is used up until ${new Date(quota.resetAt).toISOString()}.`
              : `Only ${quota.remaining} of organization ${id}'s ${quota.limit} daily calls are left, and ${reserved} are kept for its other integrations; waiting for the reset at ${new Date(quota.resetAt).toISOString()}.`,
            { organizationId: id, resetAt: quota.resetAt, local: true },
          );
        }
        if (!decision.go) {
          await wait(id, decision.waitMs, signal);
          continue;
        }
        const callId = decision.callId;
        let released = false;
        const permit: Permit = {
          release(headers) {
            if (released) return;
            released = true;
            const at = clock.now();
            const known = seen.get(id);
            if (known) known.inFlight = Math.max(0, known.inFlight - 1);
            queue(id, () => answer(id, callId, at, headers));
          },
        };
        return permit;
      }
    },
    pause(id) {
      const now = clock.now();
      const known = seen.get(id);
      if (known) known.row.paused_until = Math.max(known.row.paused_until, now + windowMs);
      queue(id, () =>
        db.transaction(async (tx) => {
          const row = await lockRow(tx, id, now);
          const counted = await count(tx, id, now);
          // Our own window reopens when its oldest call leaves it; if the window was not ours to
          // fill (other integrations share it), wait a whole window.
          const until = counted.leavesAt !== undefined && counted.used >= counted.perMinute ? counted.leavesAt : now + windowMs;
          row.paused_until = Math.max(row.paused_until, Math.min(until, now + windowMs));
          await saveRow(tx, row);
          seen.set(id, { row: { ...row }, inFlight: counted.inFlight, used: counted.used, perMinute: counted.perMinute });
        }),
      );
    },
    exhausted(id, resetAt) {
      const now = clock.now();
      const at = resetAt ?? now + 3_600_000;
      const known = seen.get(id);
      if (known) Object.assign(known.row, { quota_limit: known.row.quota_limit ?? 0, quota_remaining: 0, quota_reset_at: at });
      queue(id, () =>
        db.transaction(async (tx) => {
          const row = await lockRow(tx, id, now);
          row.quota_limit ??= 0;
          row.quota_remaining = 0;
          row.quota_reset_at = at;
          await saveRow(tx, row);
          const was = seen.get(id);
          seen.set(id, { row: { ...row }, inFlight: was?.inFlight ?? 0, used: was?.used ?? 0, perMinute: was?.perMinute ?? options.perMinute });
        }),
      );
    },
    setPlan(id, plan) {
      const cap = plan === 'paid' ? 10 : 5;
      const known = seen.get(id);
      if (known) known.row.plan_cap = cap;
      const now = clock.now();
      queue(id, async () => {
        await db.transaction(async (tx) => {
          await lockRow(tx, id, now);
          await tx.run('UPDATE budget_organizations SET plan_cap = ? WHERE organization_id = ?', [cap, id]);
        });
      });
    },
    state(id): OrganizationLimitState {
      const known = seen.get(id);
      const quota = known ? quotaOf(known.row) : undefined;
      return {
        organizationId: id,
        inFlight: known?.inFlight ?? 0,
        inFlightCap: capFor(id, known?.row),
        usedInWindow: known?.used ?? 0,
        perMinute: known?.perMinute ?? options.perMinute,
        pausedUntil: known?.row.paused_until ?? 0,
        quota: quota && clock.now() < quota.resetAt ? quota : undefined,
      };
    },
    async flush() {
      await writes;
      throwIfWriteFailed();
    },
  };
}
