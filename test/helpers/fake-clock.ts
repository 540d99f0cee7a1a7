/**
 * A manual clock for unit tests: `sleep` waits until the test moves time with `advance` or
 * `runAll`. Nothing here touches real time.
 */
import type { Clock } from '../../src/client/index.js';

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

export interface FakeClock extends Clock {
  /** Moves time forward by `ms`, waking sleepers in order and letting their promise chains run. */
  advance(ms: number): Promise<void>;
  /** Advances to each pending timer in turn until none is left (or `limit` timers fired). */
  runAll(limit?: number): Promise<number>;
  /** Timers currently waiting. */
  pending(): number;
  /** Every sleep requested so far, in ms, in order. */
  readonly sleeps: number[];
}

/** Lets pending promise callbacks run (several turns, since chains are long). */
export async function flush(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function createFakeClock(start = Date.UTC(2026, 10, 21, 12, 0, 0)): FakeClock {
  let now = start;
  let seq = 0;
  let timers: Timer[] = [];
  const sleeps: number[] = [];
  const fire = async (until: number): Promise<number> => {
    let fired = 0;
    for (;;) {
      timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = timers[0];
      if (!next || next.at > until) break;
      timers = timers.slice(1);
      now = Math.max(now, next.at);
      next.resolve();
      fired++;
      await flush();
    }
    now = Math.max(now, until);
    await flush();
    return fired;
  };
  return {
    now: () => now,
    sleeps,
    sleep(ms, signal) {
      sleeps.push(ms);
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        const timer: Timer = { at: now + Math.max(0, ms), seq: seq++, resolve: () => resolve() };
        timers.push(timer);
        signal?.addEventListener(
          'abort',
          () => {
            timers = timers.filter((t) => t !== timer);
            reject(signal.reason);
          },
          { once: true },
        );
      });
    },
    advance: async (ms) => void (await fire(now + ms)),
    async runAll(limit = 10_000) {
      let total = 0;
      while (timers.length > 0 && total < limit) {
        timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
        total += await fire((timers[0] as Timer).at);
      }
      return total;
    },
    pending: () => timers.length,
  };
}
