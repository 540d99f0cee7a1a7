/** Zoho Books API limits per organization (reference §6), as data. */

export type Plan = 'free' | 'standard' | 'professional' | 'premium';

export interface PlanLimits {
  /** Requests per minute per organization (all apps and tokens share it). */
  readonly perMinute: number;
  /** Requests per day per organization. */
  readonly daily: number;
  /** Requests in flight at once per organization. */
  readonly inFlight: number;
}

export const PLAN_LIMITS: Readonly<Record<Plan, PlanLimits>> = {
  free: { perMinute: 100, daily: 1000, inFlight: 5 },
  standard: { perMinute: 100, daily: 2000, inFlight: 10 },
  professional: { perMinute: 100, daily: 5000, inFlight: 10 },
  premium: { perMinute: 100, daily: 10000, inFlight: 10 },
};

export const PLANS = Object.keys(PLAN_LIMITS) as Plan[];

export function isPlan(value: string): value is Plan {
  return Object.prototype.hasOwnProperty.call(PLAN_LIMITS, value);
}

/** Largest `per_page` Zoho serves. */
export const MAX_PER_PAGE = 200;

/** Access tokens live this long unless told otherwise. */
export const ACCESS_TOKEN_TTL_SECONDS = 3600;

/** Refreshes allowed per refresh token per window. */
export const REFRESH_LIMIT = { count: 10, windowSeconds: 600 } as const;

/** Response headers that carry the daily quota. */
export const RATE_LIMIT_HEADERS = {
  limit: 'x-rate-limit-limit',
  remaining: 'x-rate-limit-remaining',
  reset: 'x-rate-limit-reset',
} as const;
