/**
 * Helpers for the fault suite (test/reliability/faults.test.ts): virtual time driven by the
 * emulator's frozen clock, the fault mix, and readings of the emulator's request log and counters.
 *
 * Virtual time. The emulated clock is frozen and only moves when everything that could make
 * progress is waiting on a sleep: a sleep registers its deadline on the emulated clock, and once
 * no HTTP request is in flight (the client's fetch is wrapped to count them) and nothing new has
 * started for two turns of the event loop, the clock jumps to the earliest deadline and wakes the
 * sleepers that are due. So a request never "lands" later on the emulated clock than the moment it
 * left, a per-minute window, a 44 pause, a backoff, a refresh-limit wait or the wait for the daily
 * quota's reset costs no real time, and two sleeps that overlap in time overlap on the emulated
 * clock too (they are not added up). The per-attempt timeout is the one sleep that stays real: the
 * client arms it with its `timeoutMs` and an abort signal for every attempt and cancels it on the
 * answer; made virtual it would fire at once.
 */
import { systemClock, type Clock } from '../../src/client/index.js';
import type { LogEntry } from '../helpers/engine.js';
import type { TestEmulator } from '../helpers/emulator.js';

interface Sleeper {
  deadline: number;
  resolve: () => void;
}

export interface VirtualTime {
  /** A clock on the emulated time; sleeps are virtual except `sleep(realTimeoutMs, signal)`. `sleeps` records what it was asked for. */
  clock(options?: { realTimeoutMs?: number; sleeps?: number[] }): Clock;
  /** `fetch`, counting the requests in flight (virtual time never moves while one is). */
  readonly fetch: typeof fetch;
  /** How often and by how much the emulated clock was moved. */
  stats(): { jumps: number; advancedMs: number };
}

export function createVirtualTime(t: TestEmulator): VirtualTime {
  const emulated = t.emulator.clock;
  if (!emulated.frozen) throw new Error('virtual time needs the emulator clock frozen');
  const sleepers: Sleeper[] = [];
  let inFlight = 0;
  let started = 0;
  let seenStarted = -1;
  let scheduled = false;
  let jumps = 0;
  let advancedMs = 0;

  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };
  function flush(): void {
    scheduled = false;
    if (inFlight > 0 || sleepers.length === 0) return;
    // Quiet for two turns in a row: nothing started since the last look.
    if (started !== seenStarted) {
      seenStarted = started;
      schedule();
      return;
    }
    let earliest = Infinity;
    for (const s of sleepers) earliest = Math.min(earliest, s.deadline);
    const now = emulated.now();
    if (earliest > now) {
      emulated.advance(earliest - now);
      jumps++;
      advancedMs += earliest - now;
    }
    const at = emulated.now();
    for (let i = sleepers.length - 1; i >= 0; i--) {
      const s = sleepers[i]!;
      if (s.deadline <= at) {
        sleepers.splice(i, 1);
        s.resolve();
      }
    }
    if (sleepers.length > 0) schedule();
  }

  const virtualSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const sleeper: Sleeper = {
        deadline: emulated.now() + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const i = sleepers.indexOf(sleeper);
        if (i >= 0) sleepers.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      sleepers.push(sleeper);
      schedule();
    });

  const countingFetch: typeof fetch = async (input, init) => {
    inFlight++;
    started++;
    try {
      return await globalThis.fetch(input, init);
    } finally {
      inFlight--;
      schedule();
    }
  };

  return {
    clock(options = {}) {
      return {
        now: () => emulated.now(),
        sleep(ms, signal) {
          if (signal && options.realTimeoutMs !== undefined && ms === options.realTimeoutMs) return systemClock.sleep(ms, signal);
          options.sleeps?.push(ms);
          return virtualSleep(ms, signal);
        },
      };
    },
    fetch: countingFetch,
    stats: () => ({ jumps, advancedMs }),
  };
}

/** The fault mix of the suite, as emulator fault specs (Books API only: `/**` is under /books/v3). */
export function faultMix(): string[] {
  return [
    '500,rate=0.05,path=/**',
    '503,rate=0.05,path=/**',
    '429,code=44,rate=0.025,path=/**', // per-minute limit: the client pauses the organization a window
    '429,code=1070,rate=0.025,path=/**', // too many in flight: retried after backoff
    'drop,rate=0.01,path=/**',
    // The status change is made, its answer lost: the client's retry hears "already inactive",
    // and the run must record it as its own change.
    'drop-answer,rate=0.01,method=POST,path=/contacts/*/inactive',
    'latency:300,rate=0.005,path=/**',
    // A token revoked early: answered 57, refreshed and sent again. Spaced (`every`), never twice in
    // a row: a 57 on the fresh token too ends the call with UnauthorizedError by design (a second
    // 57 means a real authorization problem, such as a missing scope, not an expired token).
    'expire-token,every=500,path=/**',
  ];
}

export interface FaultRuleState {
  id: string;
  kind: string;
  status?: number;
  code?: number;
  latencyMs?: number;
  matched: number;
  fired: number;
}

/** `500`, `503`, `429/44`, `429/1070`, `drop`, `drop_answer`, `latency:300`, `expire_token`. */
export function faultLabel(rule: FaultRuleState): string {
  if (rule.kind === 'status') return rule.status === 429 ? `429/${rule.code}` : String(rule.status);
  if (rule.kind === 'latency') return `latency:${rule.latencyMs}`;
  return rule.kind;
}

export interface OrgCounters {
  organization_id: string;
  limits: { perMinute: number; daily: number; inFlight: number };
  day: { used: number; remaining: number; resetsInSeconds: number };
  inFlight: { current: number; peak: number };
  peakPerMinute: number;
  refused: { rate_limited: number; quota_exhausted: number; too_many_in_flight: number };
}

/** The emulator's limit counters for one organization. */
export async function orgCounters(t: TestEmulator, organization: string): Promise<OrgCounters> {
  const res = await t.admin<{ organizations: OrgCounters[] }>('GET', '/__emulator/limits');
  const found = res.body.organizations.find((o) => o.organization_id === organization);
  if (!found) throw new Error(`no limit counters for organization ${organization}`);
  return found;
}

/** Codes the emulator's limiter answers with when it refuses a request. */
const LIMIT_CODES = new Set([44, 45, 1070]);

/** A request the emulator's limiter let through (faulted ones included: faults act after the limits). */
export function admitted(e: LogEntry): boolean {
  return e.fault !== null || e.code === null || !LIMIT_CODES.has(e.code);
}

/**
 * Admitted requests per emulated minute (the emulator's fixed window) and per day in the
 * organization's offset, read from the log: an independent reading of the limiter's counters.
 */
export function perWindow(entries: LogEntry[], organization: string, utcOffsetMinutes: number): { perMinute: Map<number, number>; perDay: Map<string, number> } {
  const perMinute = new Map<number, number>();
  const perDay = new Map<string, number>();
  for (const e of entries) {
    if (e.organization_id !== organization || !admitted(e)) continue;
    const ms = Date.parse(e.time);
    const minute = Math.floor(ms / 60_000);
    perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
    const day = new Date(ms + utcOffsetMinutes * 60_000).toISOString().slice(0, 10);
    perDay.set(day, (perDay.get(day) ?? 0) + 1);
  }
  return { perMinute, perDay };
}

export function maxOf(values: Iterable<number>): number {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  return max;
}

/** Counts of a list of labels, as a sorted plain object (for the summary line). */
export function tally(labels: Iterable<string>): Record<string, number> {
  const out = new Map<string, number>();
  for (const l of labels) out.set(l, (out.get(l) ?? 0) + 1);
  return Object.fromEntries([...out].sort(([a], [b]) => a.localeCompare(b)));
}
