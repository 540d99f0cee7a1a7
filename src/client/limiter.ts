/**
 * One limiter per organization, on the client instance: requests per minute (a sliding window,
 * default 100), requests in flight (default 5, 10 once a paid plan is seen), and the daily quota
 * read from `X-Rate-Limit-*` headers with a headroom left for the organization's other
 * integrations. A 44 pauses the organization until its window reopens; a 45 (or the headroom)
 * makes further requests fail fast with QuotaExhaustedError until the reset.
 */
import type { Clock } from './clock.js';
import { QuotaExhaustedError } from './errors.js';

export interface LimiterOptions {
  /** Requests per minute per organization (default 100). */
  perMinute?: number;
  /** In-flight requests per organization: a number for all, or per organization id (default 5). */
  inFlight?: number | Record<string, number>;
  /**
   * Daily-quota headroom left for other integrations: a fraction of the quota (< 1, e.g. 0.05) or a
   * number of calls (>= 1). Default 0.05.
   */
  dailyHeadroom?: number;
  /** Length of the per-minute window (default 61,000 ms). */
  windowMs?: number;
  /**
   * Requests that may start back to back before the limiter spreads the rest evenly over the
   * window (perMinute per windowMs). Default: a sixth of perMinute (10 s of traffic), so long runs
   * leave room in every minute for the organization's other integrations.
   */
  burst?: number;
}

export interface ResolvedLimiterOptions {
  perMinute: number;
  /** Undefined: 5, or 10 once a paid plan is seen. */
  inFlight: number | Record<string, number> | undefined;
  dailyHeadroom: number;
  windowMs: number;
  /** Undefined: a sixth of perMinute. */
  burst: number | undefined;
}

/**
 * The window is a second longer than Zoho's minute: requests reach Zoho a little after they leave,
 * and the slack keeps a client that runs at the limit from ever meeting a 44.
 */
export const DEFAULT_LIMITS: ResolvedLimiterOptions = { perMinute: 100, inFlight: undefined, dailyHeadroom: 0.05, windowMs: 61_000, burst: undefined };

/** In flight per organization until its plan is known. */
const DEFAULT_IN_FLIGHT = 5;

export interface Permit {
  /** Feeds the response headers back (quota) and frees the in-flight slot. */
  release(headers?: Headers): void;
}

export interface QuotaState {
  limit: number;
  remaining: number;
  resetAt: number;
}

export interface OrgLimitState {
  organizationId: string;
  inFlight: number;
  inFlightCap: number;
  usedInWindow: number;
  perMinute: number;
  pausedUntil: number;
  quota: QuotaState | undefined;
}

export interface Limiter {
  /** Waits until a request for this organization may go out. Throws QuotaExhaustedError when it may not today. */
  acquire(organizationId: string, signal?: AbortSignal): Promise<Permit>;
  /** Zoho said 44: hold this organization until its window reopens. */
  pause(organizationId: string): void;
  /** Zoho said 45: no more requests for this organization until the reset. */
  exhausted(organizationId: string, resetAt: number | undefined): void;
  /** A plan was seen (from GET /organizations): paid plans allow 10 in flight. */
  setPlan(organizationId: string, plan: 'free' | 'paid'): void;
  state(organizationId: string): OrgLimitState;
}

interface Org {
  /**
   * When each answered request of the window was answered, oldest first. A request counts from the
   * moment it is let go (as one in flight) until a window after its answer: it reaches Zoho somewhere
   * in between, and that can be long after it was let go (it may wait for an access token first).
   */
  starts: number[];
  /** Pacing bucket: whole requests that may start now, refilled at perMinute per window. */
  tokens: number;
  refilledAt: number;
  inFlight: number;
  planCap: number | undefined;
  pausedUntil: number;
  quota: QuotaState | undefined;
  /** Wakes waiters when a slot frees. */
  wake: Array<() => void>;
}

export function createLimiter(options: ResolvedLimiterOptions, clock: Clock): Limiter {
  const orgs = new Map<string, Org>();
  const burst = Math.max(1, Math.floor(options.burst ?? Math.ceil(options.perMinute / 6)));
  const refillPerMs = options.perMinute / options.windowMs;
  const get = (id: string): Org => {
    let org = orgs.get(id);
    if (!org) {
      org = { starts: [], tokens: burst, refilledAt: clock.now(), inFlight: 0, planCap: undefined, pausedUntil: 0, quota: undefined, wake: [] };
      orgs.set(id, org);
    }
    return org;
  };
  const capFor = (id: string, org: Org): number => {
    const configured = typeof options.inFlight === 'number' ? options.inFlight : options.inFlight?.[id];
    return configured ?? org.planCap ?? DEFAULT_IN_FLIGHT;
  };
  const headroom = (quota: QuotaState): number =>
    options.dailyHeadroom >= 1 ? Math.floor(options.dailyHeadroom) : Math.ceil(quota.limit * options.dailyHeadroom);
  const prune = (org: Org, now: number): void => {
    const edge = now - options.windowMs;
    let drop = 0;
    while (drop < org.starts.length && (org.starts[drop] as number) <= edge) drop++;
    if (drop > 0) org.starts.splice(0, drop);
  };
  // Any change wakes every waiter; each re-checks and waits again if it still cannot go. (Waking
  // one is not enough: a woken waiter may give up — quota, abort — without taking the slot.)
  const wakeAll = (org: Org): void => {
    const waiters = org.wake.splice(0);
    for (const wake of waiters) wake();
  };

  return {
    async acquire(id, signal) {
      const org = get(id);
      for (;;) {
        signal?.throwIfAborted();
        const now = clock.now();
        if (org.quota && now >= org.quota.resetAt) org.quota = undefined;
        if (org.quota && org.quota.remaining <= headroom(org.quota)) {
          const reserved = headroom(org.quota);
          throw new QuotaExhaustedError(
            org.quota.remaining <= 0
              ? `The daily API quota of organization ${id} (${org.quota.limit} calls) is used up until ${new Date(org.quota.resetAt).toISOString()}.`
              : `Only ${org.quota.remaining} of organization ${id}'s ${org.quota.limit} daily calls are left, and ${reserved} are kept for its other integrations; waiting for the reset at ${new Date(org.quota.resetAt).toISOString()}.`,
            { organizationId: id, resetAt: org.quota.resetAt, local: true },
          );
        }
        if (org.pausedUntil > now) {
          await clock.sleep(org.pausedUntil - now, signal);
          continue;
        }
        prune(org, now);
        // The requests in flight count too; none of them leaves the window before a window from now.
        if (org.starts.length + org.inFlight >= options.perMinute) {
          await clock.sleep((org.starts[0] ?? now) + options.windowMs - now + 1, signal);
          continue;
        }
        org.tokens = Math.min(burst, org.tokens + (now - org.refilledAt) * refillPerMs);
        org.refilledAt = now;
        if (org.tokens < 1) {
          await clock.sleep(Math.ceil((1 - org.tokens) / refillPerMs), signal);
          continue;
        }
        if (org.inFlight >= capFor(id, org)) {
          await new Promise<void>((resolve, reject) => {
            const onAbort = (): void => {
              const i = org.wake.indexOf(done);
              if (i >= 0) org.wake.splice(i, 1);
              reject(signal?.reason);
            };
            const done = (): void => {
              signal?.removeEventListener('abort', onAbort);
              resolve();
            };
            org.wake.push(done);
            signal?.addEventListener('abort', onAbort, { once: true });
          });
          continue;
        }
        org.tokens -= 1;
        org.inFlight++;
        if (org.quota) org.quota.remaining--;
        let released = false;
        return {
          release(headers) {
            if (released) return;
            released = true;
            org.inFlight--;
            org.starts.push(clock.now());
            if (headers) {
              const limit = Number(headers.get('x-rate-limit-limit'));
              const remaining = Number(headers.get('x-rate-limit-remaining'));
              const reset = Number(headers.get('x-rate-limit-reset'));
              if (headers.has('x-rate-limit-remaining') && Number.isFinite(limit) && Number.isFinite(remaining) && Number.isFinite(reset)) {
                const at = clock.now();
                const resetAt = at + reset * 1000;
                const known = org.quota;
                // A later reset (by more than an hour) is a new day: take it as is. Within a day, keep the lowest count seen.
                if (!known || resetAt > known.resetAt + 3_600_000 || at >= known.resetAt) {
                  org.quota = { limit, remaining, resetAt };
                } else {
                  known.limit = limit;
                  known.remaining = Math.min(known.remaining, remaining);
                }
              }
            }
            wakeAll(org);
          },
        };
      }
    },
    pause(id) {
      const org = get(id);
      const now = clock.now();
      prune(org, now);
      const oldest = org.starts[0];
      // Our own window reopens when its oldest request leaves it; if the window was not ours to
      // fill (other integrations share it), wait a whole window.
      const until = oldest !== undefined && org.starts.length + org.inFlight >= options.perMinute ? oldest + options.windowMs : now + options.windowMs;
      org.pausedUntil = Math.max(org.pausedUntil, Math.min(until, now + options.windowMs));
    },
    exhausted(id, resetAt) {
      const org = get(id);
      const now = clock.now();
      const at = resetAt ?? now + 3_600_000;
      org.quota = { limit: org.quota?.limit ?? 0, remaining: 0, resetAt: at };
      wakeAll(org);
    },
    setPlan(id, plan) {
      const org = get(id);
      org.planCap = plan === 'paid' ? 10 : 5;
      wakeAll(org);
    },
    state(id) {
      const org = get(id);
      prune(org, clock.now());
      return {
        organizationId: id,
        inFlight: org.inFlight,
        inFlightCap: capFor(id, org),
        usedInWindow: org.starts.length + org.inFlight,
        perMinute: options.perMinute,
        pausedUntil: org.pausedUntil,
        quota: org.quota ? { ...org.quota } : undefined,
      };
    },
  };
}
