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

export interface OrganizationLimitState {
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
  state(organizationId: string): OrganizationLimitState;
}

interface OrganizationBudget {
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
  const organizations = new Map<string, OrganizationBudget>();
  const burst = Math.max(1, Math.floor(options.burst ?? Math.ceil(options.perMinute / 6)));
  const refillPerMs = options.perMinute / options.windowMs;
  const get = (id: string): OrganizationBudget => {
    let organization = organizations.get(id);
    if (!organization) {
      organization = { starts: [], tokens: burst, refilledAt: clock.now(), inFlight: 0, planCap: undefined, pausedUntil: 0, quota: undefined, wake: [] };
      organizations.set(id, organization);
    }
    return organization;
  };
  const capFor = (id: string, organization: OrganizationBudget): number => {
    const configured = typeof options.inFlight === 'number' ? options.inFlight : options.inFlight?.[id];
    return configured ?? organization.planCap ?? DEFAULT_IN_FLIGHT;
  };
  const headroom = (quota: QuotaState): number =>
    options.dailyHeadroom >= 1 ? Math.floor(options.dailyHeadroom) : Math.ceil(quota.limit * options.dailyHeadroom);
  const prune = (organization: OrganizationBudget, now: number): void => {
    const edge = now - options.windowMs;
    let drop = 0;
    while (drop < organization.starts.length && (organization.starts[drop] as number) <= edge) drop++;
    if (drop > 0) organization.starts.splice(0, drop);
  };
  // Any change wakes every waiter; each re-checks and waits again if it still cannot go. (Waking
  // one is not enough: a woken waiter may give up — quota, abort — without taking the slot.)
  const wakeAll = (organization: OrganizationBudget): void => {
    const waiters = organization.wake.splice(0);
    for (const wake of waiters) wake();
  };

  return {
    async acquire(id, signal) {
      const organization = get(id);
      for (;;) {
        signal?.throwIfAborted();
        const now = clock.now();
        if (organization.quota && now >= organization.quota.resetAt) organization.quota = undefined;
        if (organization.quota && organization.quota.remaining <= headroom(organization.quota)) {
          const reserved = headroom(organization.quota);
          throw new QuotaExhaustedError(
            organization.quota.remaining <= 0
              ? `The daily API quota of organization ${id} (${organization.quota.limit} calls) is used up until ${new Date(organization.quota.resetAt).toISOString()}.`
              : `Only ${organization.quota.remaining} of organization ${id}'s ${organization.quota.limit} daily calls are left, and ${reserved} are kept for its other integrations; waiting for the reset at ${new Date(organization.quota.resetAt).toISOString()}.`,
            { organizationId: id, resetAt: organization.quota.resetAt, local: true },
          );
        }
        if (organization.pausedUntil > now) {
          await clock.sleep(organization.pausedUntil - now, signal);
          continue;
        }
        prune(organization, now);
        // The requests in flight count too; none of them leaves the window before a window from now.
        if (organization.starts.length + organization.inFlight >= options.perMinute) {
          await clock.sleep((organization.starts[0] ?? now) + options.windowMs - now + 1, signal);
          continue;
        }
        organization.tokens = Math.min(burst, organization.tokens + (now - organization.refilledAt) * refillPerMs);
        organization.refilledAt = now;
        if (organization.tokens < 1) {
          await clock.sleep(Math.ceil((1 - organization.tokens) / refillPerMs), signal);
          continue;
        }
        if (organization.inFlight >= capFor(id, organization)) {
          await new Promise<void>((resolve, reject) => {
            const onAbort = (): void => {
              const i = organization.wake.indexOf(done);
              if (i >= 0) organization.wake.splice(i, 1);
              reject(signal?.reason);
            };
            const done = (): void => {
              signal?.removeEventListener('abort', onAbort);
              resolve();
            };
            organization.wake.push(done);
            signal?.addEventListener('abort', onAbort, { once: true });
          });
          continue;
        }
        organization.tokens -= 1;
        organization.inFlight++;
        if (organization.quota) organization.quota.remaining--;
        let released = false;
        return {
          release(headers) {
            if (released) return;
            released = true;
            organization.inFlight--;
            organization.starts.push(clock.now());
            if (headers) {
              const limit = Number(headers.get('x-rate-limit-limit'));
              const remaining = Number(headers.get('x-rate-limit-remaining'));
              const reset = Number(headers.get('x-rate-limit-reset'));
              if (headers.has('x-rate-limit-remaining') && Number.isFinite(limit) && Number.isFinite(remaining) && Number.isFinite(reset)) {
                const at = clock.now();
                const resetAt = at + reset * 1000;
                const known = organization.quota;
                // A later reset (by more than an hour) is a new day: take it as is. Within a day, keep the lowest count seen.
                if (!known || resetAt > known.resetAt + 3_600_000 || at >= known.resetAt) {
                  organization.quota = { limit, remaining, resetAt };
                } else {
                  known.limit = limit;
                  known.remaining = Math.min(known.remaining, remaining);
                }
              }
            }
            wakeAll(organization);
          },
        };
      }
    },
    pause(id) {
      const organization = get(id);
      const now = clock.now();
      prune(organization, now);
      const oldest = organization.starts[0];
      // Our own window reopens when its oldest request leaves it; if the window was not ours to
      // fill (other integrations share it), wait a whole window.
      const until = oldest !== undefined && organization.starts.length + organization.inFlight >= options.perMinute ? oldest + options.windowMs : now + options.windowMs;
      organization.pausedUntil = Math.max(organization.pausedUntil, Math.min(until, now + options.windowMs));
    },
    exhausted(id, resetAt) {
      const organization = get(id);
      const now = clock.now();
      const at = resetAt ?? now + 3_600_000;
      organization.quota = { limit: organization.quota?.limit ?? 0, remaining: 0, resetAt: at };
      wakeAll(organization);
    },
    setPlan(id, plan) {
      const organization = get(id);
      organization.planCap = plan === 'paid' ? 10 : 5;
      wakeAll(organization);
    },
    state(id) {
      const organization = get(id);
      prune(organization, clock.now());
      return {
        organizationId: id,
        inFlight: organization.inFlight,
        inFlightCap: capFor(id, organization),
        usedInWindow: organization.starts.length + organization.inFlight,
        perMinute: options.perMinute,
        pausedUntil: organization.pausedUntil,
        quota: organization.quota ? { ...organization.quota } : undefined,
      };
    },
  };
}
