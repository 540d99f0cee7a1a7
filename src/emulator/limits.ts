/**
 * Per-organization limits (reference §6): requests per minute (code 44), per day (code 45) and in
 * flight (code 1070), with the `X-Rate-Limit-*` headers. The minute is a fixed window on the
 * emulated clock; the day ends at midnight in the organization's offset.
 */
import { PLAN_LIMITS, isPlan, ZohoCode, type PlanLimits } from '../zoho/index.js';
import type { OrganizationRow } from './store/rows.js';

export interface LimitSettings {
  /** False: count and report, never refuse. */
  enabled: boolean;
  /** Overrides for every organization (take precedence over the plan). */
  perMinute?: number;
  daily?: number;
  inFlight?: number;
  /** Overrides per organization id. */
  organizations?: Record<string, Partial<PlanLimits>>;
}

export interface OrganizationLimitCounters {
  organization_id: string;
  plan: string;
  limits: PlanLimits;
  minute: { used: number; resetsInSeconds: number };
  day: { used: number; remaining: number; resetsInSeconds: number };
  inFlight: { current: number; peak: number };
  /** The most requests accepted in any one minute window so far. */
  peakPerMinute: number;
  refused: { rate_limited: number; quota_exhausted: number; too_many_in_flight: number };
}

export type Admission =
  | { ok: true; headers: Record<string, string>; release: () => void }
  | { ok: false; code: number; message?: string; headers: Record<string, string> };

interface OrganizationState {
  minuteKey: number;
  minuteUsed: number;
  dayKey: number;
  dayUsed: number;
  inFlight: number;
  peakInFlight: number;
  peakPerMinute: number;
  refused: OrganizationLimitCounters['refused'];
}

export interface Limiter {
  admit(organization: OrganizationRow, nowMs: number): Admission;
  /** Headers for a response that was not admitted through `admit` (e.g. an auth failure after routing). */
  counters(organizations: OrganizationRow[], nowMs: number): OrganizationLimitCounters[];
  settings(): LimitSettings;
  configure(settings: Partial<LimitSettings>): void;
  reset(): void;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

export function createLimiter(initial: LimitSettings): Limiter {
  let settings: LimitSettings = { ...initial };
  const states = new Map<string, OrganizationState>();

  const limitsFor = (organization: OrganizationRow): PlanLimits => {
    const plan = isPlan(organization.plan) ? PLAN_LIMITS[organization.plan] : PLAN_LIMITS.free;
    const perOrganization = settings.organizations?.[organization.organization_id] ?? {};
    return {
      perMinute: perOrganization.perMinute ?? settings.perMinute ?? plan.perMinute,
      daily: perOrganization.daily ?? settings.daily ?? plan.daily,
      inFlight: perOrganization.inFlight ?? settings.inFlight ?? plan.inFlight,
    };
  };

  const stateFor = (organization: OrganizationRow, nowMs: number): OrganizationState => {
    let s = states.get(organization.organization_id);
    if (!s) {
      s = { minuteKey: 0, minuteUsed: 0, dayKey: 0, dayUsed: 0, inFlight: 0, peakInFlight: 0, peakPerMinute: 0, refused: { rate_limited: 0, quota_exhausted: 0, too_many_in_flight: 0 } };
      states.set(organization.organization_id, s);
    }
    const minuteKey = Math.floor(nowMs / MINUTE);
    if (minuteKey !== s.minuteKey) {
      s.minuteKey = minuteKey;
      s.minuteUsed = 0;
    }
    const dayKey = Math.floor((nowMs + organization.utc_offset_minutes * MINUTE) / DAY);
    if (dayKey !== s.dayKey) {
      s.dayKey = dayKey;
      s.dayUsed = 0;
    }
    return s;
  };

  const secondsToMidnight = (organization: OrganizationRow, nowMs: number): number => {
    const local = nowMs + organization.utc_offset_minutes * MINUTE;
    return Math.ceil((DAY - (((local % DAY) + DAY) % DAY)) / 1000);
  };

  // With the limits off, the headers say the whole quota is left: a client that paces itself by
  // them (as Sunset's does) must not stop for a quota that is not enforced. The counters still count.
  const headersFor = (limits: PlanLimits, s: OrganizationState, organization: OrganizationRow, nowMs: number): Record<string, string> => ({
    'x-rate-limit-limit': String(limits.daily),
    'x-rate-limit-remaining': String(settings.enabled ? Math.max(0, limits.daily - s.dayUsed) : limits.daily),
    'x-rate-limit-reset': String(secondsToMidnight(organization, nowMs)),
  });

  return {
    admit(organization, nowMs) {
      const limits = limitsFor(organization);
      const s = stateFor(organization, nowMs);
      if (settings.enabled) {
        if (s.dayUsed >= limits.daily) {
          s.refused.quota_exhausted++;
          return {
            ok: false,
            code: ZohoCode.QUOTA_EXHAUSTED,
            message: `The API call for this organization has exceeded the maximum call rate limit of ${limits.daily}.`,
            headers: headersFor(limits, s, organization, nowMs),
          };
        }
        if (s.minuteUsed >= limits.perMinute) {
          s.refused.rate_limited++;
          return { ok: false, code: ZohoCode.RATE_LIMITED, headers: headersFor(limits, s, organization, nowMs) };
        }
        if (s.inFlight >= limits.inFlight) {
          s.refused.too_many_in_flight++;
          return { ok: false, code: ZohoCode.TOO_MANY_IN_FLIGHT, headers: headersFor(limits, s, organization, nowMs) };
        }
      }
      s.minuteUsed++;
      s.dayUsed++;
      s.inFlight++;
      if (s.inFlight > s.peakInFlight) s.peakInFlight = s.inFlight;
      if (s.minuteUsed > s.peakPerMinute) s.peakPerMinute = s.minuteUsed;
      let released = false;
      return {
        ok: true,
        headers: headersFor(limits, s, organization, nowMs),
        release: () => {
          if (!released) {
            released = true;
            s.inFlight--;
          }
        },
      };
    },
    counters(organizations, nowMs) {
      return organizations.map((organization) => {
        const limits = limitsFor(organization);
        const s = stateFor(organization, nowMs);
        return {
          organization_id: organization.organization_id,
          plan: organization.plan,
          limits,
          minute: { used: s.minuteUsed, resetsInSeconds: Math.ceil((MINUTE - (nowMs % MINUTE)) / 1000) },
          day: { used: s.dayUsed, remaining: Math.max(0, limits.daily - s.dayUsed), resetsInSeconds: secondsToMidnight(organization, nowMs) },
          inFlight: { current: s.inFlight, peak: s.peakInFlight },
          peakPerMinute: s.peakPerMinute,
          refused: { ...s.refused },
        };
      });
    },
    settings: () => ({ ...settings }),
    configure(next) {
      settings = { ...settings, ...next };
    },
    reset() {
      states.clear();
    },
  };
}
