/**
 * The per-organization limiter (src/client/limiter.ts) on the fake clock: the sliding per-minute
 * window, the in-flight cap, plans, the daily quota with its headroom, 44 pauses and 45 exhaustion,
 * and aborts. Nothing sleeps for real.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLimiter, DEFAULT_LIMITS, QuotaExhaustedError } from '../../src/client/index.js';
import type { LimiterOptions } from '../../src/client/index.js';
import type { Limiter, Permit, ResolvedLimiterOptions } from '../../src/client/limiter.js';
import { createFakeClock, flush, type FakeClock } from '../helpers/fake-clock.js';
import { settle, track } from '../helpers/scripted-fetch.js';

const ORG = '10234695';
const OTHER = '20000001';

function setup(options: Partial<ResolvedLimiterOptions> & LimiterOptions = {}): { limiter: Limiter; clock: FakeClock; t0: number } {
  const clock = createFakeClock();
  const limiter = createLimiter({ ...DEFAULT_LIMITS, ...options }, clock);
  return { limiter, clock, t0: clock.now() };
}

const quotaHeaders = (limit: number, remaining: number, resetSeconds: number): Headers =>
  new Headers({ 'x-rate-limit-limit': String(limit), 'x-rate-limit-remaining': String(remaining), 'x-rate-limit-reset': String(resetSeconds) });

async function acquireMany(limiter: Limiter, n: number, organization = ORG): Promise<Permit[]> {
  const permits: Permit[] = [];
  for (let i = 0; i < n; i++) permits.push(await limiter.acquire(organization));
  return permits;
}

describe('defaults', () => {
  it('are 100 per minute, a 61 s window, 5 % headroom, an unset in-flight cap and an unset burst', () => {
    expect(DEFAULT_LIMITS).toEqual({ perMinute: 100, inFlight: undefined, dailyHeadroom: 0.05, windowMs: 61_000, burst: undefined });
  });
  it('an unknown organization starts empty with a cap of 5', () => {
    const { limiter } = setup();
    expect(limiter.state(ORG)).toEqual({ organizationId: ORG, inFlight: 0, inFlightCap: 5, usedInWindow: 0, perMinute: 100, pausedUntil: 0, quota: undefined });
  });
});

describe('per-minute sliding window', () => {
  it('lets perMinute requests start at once, holds the next until the oldest leaves the window', async () => {
    const { limiter, clock, t0 } = setup({ perMinute: 3, windowMs: 61_000, burst: 3 });
    for (const p of await acquireMany(limiter, 3)) p.release();
    expect(limiter.state(ORG).usedInWindow).toBe(3);
    let startedAt: number | undefined;
    const fourth = track(limiter.acquire(ORG).then((p) => ((startedAt = clock.now()), p)));
    await flush();
    expect(fourth.done).toBe(false);
    await clock.advance(60_999);
    expect(fourth.done).toBe(false);
    await clock.advance(2);
    expect(fourth.done).toBe(true);
    expect(fourth.error).toBeUndefined();
    expect(startedAt).toBeGreaterThanOrEqual(t0 + 61_000);
    expect(startedAt).toBeLessThanOrEqual(t0 + 61_001);
  });

  it('is sliding, not fixed: each later start waits only for its own oldest predecessor', async () => {
    const { limiter, clock, t0 } = setup({ perMinute: 3, windowMs: 61_000, burst: 3 });
    (await limiter.acquire(ORG)).release(); // t0
    await clock.advance(20_000);
    (await limiter.acquire(ORG)).release(); // t0 + 20 s
    await clock.advance(20_000);
    (await limiter.acquire(ORG)).release(); // t0 + 40 s
    const starts: number[] = [];
    const a = limiter.acquire(ORG).then((p) => (starts.push(clock.now()), p.release()));
    const b = limiter.acquire(ORG).then((p) => (starts.push(clock.now()), p.release()));
    await settle(clock, Promise.all([a, b]));
    expect(starts).toHaveLength(2);
    // The 4th may start when t0 leaves the window (61 s), the 5th when t0 + 20 s does (81 s).
    expect((starts[0] as number) - t0).toBeGreaterThanOrEqual(61_000);
    expect((starts[0] as number) - t0).toBeLessThanOrEqual(61_001);
    expect((starts[1] as number) - t0).toBeGreaterThanOrEqual(81_000);
    expect((starts[1] as number) - t0).toBeLessThanOrEqual(81_001);
  });

  it('counts per organization: one organization\'s window does not hold another\'s', async () => {
    const { limiter } = setup({ perMinute: 2, burst: 2 });
    await acquireMany(limiter, 2, ORG);
    const other = track(limiter.acquire(OTHER));
    await flush();
    expect(other.done).toBe(true);
    expect(limiter.state(ORG).usedInWindow).toBe(2);
    expect(limiter.state(OTHER).usedInWindow).toBe(1);
  });

  it('never starts more than perMinute in any window and never exceeds the in-flight cap (property, fake clock)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 30_000 }), hold: fc.integer({ min: 0, max: 4_000 }) }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        async (arrivals, perMinute, cap, burst) => {
          const windowMs = 10_000;
          const { limiter, clock } = setup({ perMinute, windowMs, inFlight: cap, burst: Math.min(burst, perMinute) });
          const starts: number[] = [];
          let inFlight = 0;
          let maxInFlight = 0;
          const all = arrivals.map(async ({ at, hold }) => {
            await clock.sleep(at);
            const permit = await limiter.acquire(ORG);
            starts.push(clock.now());
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            await clock.sleep(hold);
            inFlight--;
            permit.release();
          });
          await settle(clock, Promise.all(all));
          expect(starts).toHaveLength(arrivals.length);
          expect(maxInFlight).toBeLessThanOrEqual(cap);
          const sorted = [...starts].sort((x, y) => x - y);
          for (let i = 0; i + perMinute < sorted.length; i++) {
            expect((sorted[i + perMinute] as number) - (sorted[i] as number)).toBeGreaterThanOrEqual(windowMs);
          }
        },
      ),
      { numRuns: 40, seed: 42 },
    );
  });
});

describe('pacing after the burst', () => {
  it('lets `burst` requests start back to back, then spreads the rest at perMinute per window', async () => {
    const { limiter, clock, t0 } = setup({ perMinute: 6, windowMs: 60_000, burst: 2 });
    const starts: number[] = [];
    const all = Array.from({ length: 4 }, () => limiter.acquire(ORG).then((p) => (starts.push(clock.now() - t0), p.release())));
    await settle(clock, Promise.all(all));
    expect(starts).toEqual([0, 0, 10_000, 20_000]);
  });

  it('defaults the burst to a sixth of perMinute (17 of 100), then one start per 610 ms', async () => {
    const { limiter, clock } = setup({ inFlight: 100 });
    await acquireMany(limiter, 17);
    const eighteenth = track(limiter.acquire(ORG));
    await flush();
    expect(eighteenth.done).toBe(false);
    await clock.advance(609);
    expect(eighteenth.done).toBe(false);
    await clock.advance(2);
    expect(eighteenth.done).toBe(true);
  });
});

describe('in-flight cap', () => {
  it('holds the 6th request until a permit is released, then wakes exactly one waiter in order', async () => {
    const { limiter } = setup();
    const permits = await acquireMany(limiter, 5);
    expect(limiter.state(ORG).inFlight).toBe(5);
    const sixth = track(limiter.acquire(ORG));
    const seventh = track(limiter.acquire(ORG));
    await flush();
    expect([sixth.done, seventh.done]).toEqual([false, false]);
    permits[0]?.release();
    await flush();
    expect([sixth.done, seventh.done]).toEqual([true, false]);
    expect(limiter.state(ORG).inFlight).toBe(5);
    permits[1]?.release();
    await flush();
    expect(seventh.done).toBe(true);
  });

  it('a permit released twice frees only one slot', async () => {
    const { limiter } = setup({ inFlight: 1 });
    const permit = await limiter.acquire(ORG);
    permit.release();
    permit.release();
    expect(limiter.state(ORG).inFlight).toBe(0);
    await limiter.acquire(ORG);
    const next = track(limiter.acquire(ORG));
    await flush();
    expect(next.done).toBe(false);
    expect(limiter.state(ORG).inFlight).toBe(1);
  });

  it("setPlan('paid') raises the default cap from 5 to 10", async () => {
    const { limiter } = setup();
    expect(limiter.state(ORG).inFlightCap).toBe(5);
    limiter.setPlan(ORG, 'paid');
    expect(limiter.state(ORG).inFlightCap).toBe(10);
    await acquireMany(limiter, 10);
    const eleventh = track(limiter.acquire(ORG));
    await flush();
    expect(eleventh.done).toBe(false);
    expect(limiter.state(OTHER).inFlightCap).toBe(5);
  });

  it("setPlan('paid') lets every queued waiter use the 5 new slots at once", async () => {
    const { limiter } = setup();
    await acquireMany(limiter, 5);
    const waiters = Array.from({ length: 5 }, () => track(limiter.acquire(ORG)));
    await flush();
    expect(waiters.map((w) => w.done)).toEqual([false, false, false, false, false]);
    limiter.setPlan(ORG, 'paid');
    await flush();
    expect(waiters.map((w) => w.done)).toEqual([true, true, true, true, true]);
    expect(limiter.state(ORG).inFlight).toBe(10);
  });

  it("setPlan('free') keeps 5", () => {
    const { limiter } = setup();
    limiter.setPlan(ORG, 'free');
    expect(limiter.state(ORG).inFlightCap).toBe(5);
  });

  it('an explicit inFlight number overrides the plan', async () => {
    const { limiter } = setup({ inFlight: 3 });
    limiter.setPlan(ORG, 'paid');
    expect(limiter.state(ORG).inFlightCap).toBe(3);
    await acquireMany(limiter, 3);
    const fourth = track(limiter.acquire(ORG));
    await flush();
    expect(fourth.done).toBe(false);
  });

  it('a per-organization inFlight record applies to its organization only', () => {
    const { limiter } = setup({ inFlight: { [ORG]: 2 } });
    limiter.setPlan(ORG, 'paid');
    limiter.setPlan(OTHER, 'paid');
    expect(limiter.state(ORG).inFlightCap).toBe(2);
    expect(limiter.state(OTHER).inFlightCap).toBe(10);
    expect(limiter.state('30000002').inFlightCap).toBe(5);
  });
});

describe('daily quota from X-Rate-Limit-* headers', () => {
  it('reads limit, remaining and reset from a released permit, and counts its own calls down', async () => {
    const { limiter, t0 } = setup();
    (await limiter.acquire(ORG)).release(quotaHeaders(1000, 900, 3600));
    expect(limiter.state(ORG).quota).toEqual({ limit: 1000, remaining: 900, resetAt: t0 + 3_600_000 });
    await limiter.acquire(ORG);
    expect(limiter.state(ORG).quota).toEqual({ limit: 1000, remaining: 899, resetAt: t0 + 3_600_000 });
  });

  it('ignores responses without the headers', async () => {
    const { limiter } = setup();
    (await limiter.acquire(ORG)).release(new Headers({ 'content-type': 'application/json' }));
    expect(limiter.state(ORG).quota).toBeUndefined();
  });

  it('within a day keeps the lowest remaining count seen', async () => {
    const { limiter, t0 } = setup();
    const a = await limiter.acquire(ORG);
    const b = await limiter.acquire(ORG);
    a.release(quotaHeaders(1000, 700, 3600));
    b.release(quotaHeaders(1000, 800, 3599)); // an older answer arriving late
    expect(limiter.state(ORG).quota).toEqual({ limit: 1000, remaining: 700, resetAt: t0 + 3_600_000 });
  });

  it('headroom as a fraction: refuses locally with QuotaExhaustedError (local, resetAt) and allows again after the reset', async () => {
    const { limiter, clock, t0 } = setup({ dailyHeadroom: 0.05 });
    (await limiter.acquire(ORG)).release(quotaHeaders(1000, 51, 600));
    // 51 left, 50 (5 % of 1000) kept for other integrations: one more call may go.
    (await limiter.acquire(ORG)).release();
    expect(limiter.state(ORG).quota?.remaining).toBe(50);
    const refused = await limiter.acquire(ORG).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(QuotaExhaustedError);
    const error = refused as QuotaExhaustedError;
    expect(error.local).toBe(true);
    expect(error.resetAt).toBe(t0 + 600_000);
    expect(error.organizationId).toBe(ORG);
    expect(error.kind).toBe('quota_exhausted');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(ORG);
    expect(limiter.state(ORG).inFlight).toBe(0);
    expect(limiter.state(ORG).usedInWindow).toBe(2);
    expect(clock.pending()).toBe(0);

    await clock.advance(599_999);
    await expect(limiter.acquire(ORG)).rejects.toBeInstanceOf(QuotaExhaustedError);
    await clock.advance(1);
    const permit = await limiter.acquire(ORG);
    expect(limiter.state(ORG).quota).toBeUndefined();
    permit.release();
  });

  it('headroom as an absolute number of calls', async () => {
    const { limiter, t0 } = setup({ dailyHeadroom: 20 });
    (await limiter.acquire(ORG)).release(quotaHeaders(1000, 22, 100));
    (await limiter.acquire(ORG)).release();
    (await limiter.acquire(ORG)).release();
    expect(limiter.state(ORG).quota?.remaining).toBe(20);
    await expect(limiter.acquire(ORG)).rejects.toMatchObject({ name: 'QuotaExhaustedError', local: true, resetAt: t0 + 100_000 });
  });

  it('headroom 0 uses the quota to the last call', async () => {
    const { limiter } = setup({ dailyHeadroom: 0 });
    (await limiter.acquire(ORG)).release(quotaHeaders(1000, 1, 100));
    (await limiter.acquire(ORG)).release();
    await expect(limiter.acquire(ORG)).rejects.toMatchObject({ local: true });
  });

  it('a later reset (a new day) replaces the old quota', async () => {
    const { limiter, clock } = setup();
    (await limiter.acquire(ORG)).release(quotaHeaders(1000, 100, 60));
    await clock.advance(60_000);
    (await limiter.acquire(ORG)).release(quotaHeaders(2000, 1999, 86_400));
    expect(limiter.state(ORG).quota).toEqual({ limit: 2000, remaining: 1999, resetAt: clock.now() + 86_400_000 });
  });
});

describe('exhausted() after a 45', () => {
  it('fails fast until the reset, then allows again', async () => {
    const { limiter, clock, t0 } = setup();
    limiter.exhausted(ORG, t0 + 5_000);
    await expect(limiter.acquire(ORG)).rejects.toMatchObject({ name: 'QuotaExhaustedError', resetAt: t0 + 5_000, organizationId: ORG });
    expect(clock.pending()).toBe(0);
    await clock.advance(4_999);
    await expect(limiter.acquire(ORG)).rejects.toBeInstanceOf(QuotaExhaustedError);
    await clock.advance(1);
    await expect(limiter.acquire(ORG)).resolves.toBeDefined();
  });

  it('without a known reset time holds the organization for an hour', async () => {
    const { limiter, clock, t0 } = setup();
    limiter.exhausted(ORG, undefined);
    await expect(limiter.acquire(ORG)).rejects.toMatchObject({ resetAt: t0 + 3_600_000 });
    await clock.advance(3_600_000);
    await expect(limiter.acquire(ORG)).resolves.toBeDefined();
  });

  it('does not affect other organizations', async () => {
    const { limiter, clock } = setup();
    limiter.exhausted(ORG, clock.now() + 60_000);
    await expect(limiter.acquire(OTHER)).resolves.toBeDefined();
  });

  it('every request already waiting for a slot fails too, none is left hanging', async () => {
    const { limiter, clock, t0 } = setup({ inFlight: 1 });
    const holder = await limiter.acquire(ORG);
    const b = limiter.acquire(ORG);
    const c = limiter.acquire(ORG);
    // Both may reject in the same tick: mark them handled now; the expectations below still check them.
    b.catch(() => undefined);
    c.catch(() => undefined);
    await flush();
    limiter.exhausted(ORG, t0 + 60_000);
    holder.release();
    await expect(settle(clock, b)).rejects.toBeInstanceOf(QuotaExhaustedError);
    await expect(settle(clock, c)).rejects.toBeInstanceOf(QuotaExhaustedError);
  });
});

describe('pause() after a 44', () => {
  it('holds requests for a whole window when the window was not ours to fill', async () => {
    const { limiter, clock, t0 } = setup({ windowMs: 61_000 });
    (await limiter.acquire(ORG)).release();
    limiter.pause(ORG);
    expect(limiter.state(ORG).pausedUntil).toBe(t0 + 61_000);
    const next = track(limiter.acquire(ORG));
    await flush();
    expect(next.done).toBe(false);
    await clock.advance(60_999);
    expect(next.done).toBe(false);
    await clock.advance(1);
    expect(next.done).toBe(true);
    expect(next.error).toBeUndefined();
  });

  it('when our own requests filled the window, holds until the oldest leaves it', async () => {
    const { limiter, clock, t0 } = setup({ perMinute: 3, windowMs: 61_000, burst: 3 });
    for (const gap of [0, 10_000, 10_000]) {
      await clock.advance(gap);
      (await limiter.acquire(ORG)).release();
    }
    await clock.advance(10_000); // t0 + 30 s
    limiter.pause(ORG);
    expect(limiter.state(ORG).pausedUntil).toBe(t0 + 61_000);
    let startedAt = 0;
    const next = track(limiter.acquire(ORG).then(() => (startedAt = clock.now())));
    await clock.advance(30_999);
    expect(next.done).toBe(false);
    await clock.advance(1);
    await flush();
    expect(next.done).toBe(true);
    expect(startedAt).toBe(t0 + 61_000);
  });

  it('a second pause never shortens the first', async () => {
    const { limiter, clock, t0 } = setup();
    limiter.pause(ORG);
    await clock.advance(1_000);
    limiter.pause(ORG);
    expect(limiter.state(ORG).pausedUntil).toBe(t0 + 62_000);
  });

  it('pauses only that organization', async () => {
    const { limiter } = setup();
    limiter.pause(ORG);
    const other = track(limiter.acquire(OTHER));
    await flush();
    expect(other.done).toBe(true);
  });
});

describe('abort', () => {
  it('an already aborted signal rejects at once with its reason', async () => {
    const { limiter } = setup();
    const reason = new Error('caller gave up');
    await expect(limiter.acquire(ORG, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(limiter.state(ORG).inFlight).toBe(0);
  });

  it('aborting a request waiting for an in-flight slot rejects it and the slot goes to the next waiter', async () => {
    const { limiter } = setup({ inFlight: 1 });
    const holder = await limiter.acquire(ORG);
    const controller = new AbortController();
    const aborted = track(limiter.acquire(ORG, controller.signal));
    const next = track(limiter.acquire(ORG));
    await flush();
    const reason = new Error('stop');
    controller.abort(reason);
    await flush();
    expect(aborted.done).toBe(true);
    expect(aborted.error).toBe(reason);
    holder.release();
    await flush();
    expect(next.done).toBe(true);
    expect(limiter.state(ORG).inFlight).toBe(1);
  });

  it('a waiter aborted just after being woken passes its turn on', async () => {
    const { limiter, clock } = setup({ inFlight: 1 });
    const holder = await limiter.acquire(ORG);
    const controller = new AbortController();
    const first = limiter.acquire(ORG, controller.signal);
    const second = limiter.acquire(ORG);
    first.catch(() => undefined);
    await flush();
    holder.release();
    controller.abort(new Error('stop'));
    await expect(settle(clock, first)).rejects.toThrow('stop');
    await expect(settle(clock, second)).resolves.toBeDefined();
    expect(limiter.state(ORG).inFlight).toBe(1);
  });

  it('aborting a request waiting for the per-minute window rejects it', async () => {
    const { limiter, clock } = setup({ perMinute: 1, burst: 1 });
    await limiter.acquire(ORG);
    const controller = new AbortController();
    const waiting = track(limiter.acquire(ORG, controller.signal));
    await flush();
    expect(clock.pending()).toBe(1);
    controller.abort(new Error('cancelled'));
    await flush();
    expect(waiting.done).toBe(true);
    expect((waiting.error as Error).message).toBe('cancelled');
    expect(clock.pending()).toBe(0);
    expect(limiter.state(ORG).usedInWindow).toBe(1);
  });

  it('aborting a request held by a 44 pause rejects it', async () => {
    const { limiter } = setup();
    limiter.pause(ORG);
    const controller = new AbortController();
    const waiting = track(limiter.acquire(ORG, controller.signal));
    await flush();
    controller.abort(new Error('cancelled'));
    await flush();
    expect(waiting.done).toBe(true);
    expect((waiting.error as Error).message).toBe('cancelled');
  });
});
