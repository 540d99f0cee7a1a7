/**
 * Per-organization schedules: a cron expression, read in the organization's time zone (as Zoho
 * last said it: src/service/time-zone.ts), for scan + plan, and optionally auto-apply when the plan
 * has at most `autoApplyMax` steps. A schedule missed while the service was down runs once at
 * start-up (not once per missed time). Daylight saving follows croner (src/service/cron.ts): a
 * clock time runs once on the nights the clocks change.
 */
import { createRunFromPlan, type EngineClock, type Journal, type Plan } from '../engine/index.js';
import type { PlanReview } from './api-types.js';
import type { EventBus } from './events.js';
import { describeCron, nextRun, parseCron, upcomingRuns } from './cron.js';
import { resolveTimeZone } from './time-zone.js';
import type { Runner } from './runner.js';
import type { ServiceStore } from './store.js';
import type { ServiceLogger } from './logger.js';

export interface SchedulerOptions {
  store: ServiceStore;
  journal: Journal;
  runner: Runner;
  clock: EngineClock;
  logger?: ServiceLogger;
  /**
   * Asks Zoho for the organizations' time zones, in the background (it must not hold up a tick);
   * called when a schedule's organization has none saved yet (a schedule from before zones were kept).
   */
  learnTimeZones?: () => void;
  /**
   * Where a scheduled plan with steps that no one applies is said to wait for review (`review`
   * events: the notifications and the live pages hear them).
   */
  bus?: EventBus;
}

export interface Scheduler {
  tick(): Promise<string[]>;
  /** When a saved cron runs next, counted from its last run (or save), in `timeZone` (IANA). */
  nextRunAt(cron: string | null, last: number | null, timeZone: string): number | null;
  /** That run and the ones after it, `count` in all ([] for none); one already due first (cron.ts: upcomingRuns). */
  nextRuns(cron: string | null, last: number | null, timeZone: string, count: number): number[];
  /** A saved cron in English, its clock times in `timeZone` (null: none). */
  describe(cron: string | null, timeZone: string): string | null;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { store, journal, runner, clock } = options;
  const nextRunAt = (cron: string | null, last: number | null, timeZone: string): number | null => {
    if (!cron) return null;
    try {
      return nextRun(parseCron(cron), last ?? clock.now(), timeZone) ?? null;
    } catch {
      return null;
    }
  };
  const review = (plan: Plan): void => options.bus?.emit({ type: 'review', data: reviewOf(plan) });
  return {
    nextRunAt,
    nextRuns(cron, last, timeZone, count) {
      if (!cron) return [];
      try {
        return upcomingRuns(parseCron(cron), last, clock.now(), count, timeZone);
      } catch {
        return [];
      }
    },
    describe(cron, timeZone) {
      if (!cron) return null;
      try {
        return describeCron(parseCron(cron), timeZone);
      } catch {
        return null;
      }
    },
    async tick() {
      const started: string[] = [];
      const now = clock.now();
      const zones = await store.timeZones();
      let unknownZone = false;
      for (const s of await store.allSettings()) {
        if (!s.cron) continue;
        const policy = await journal.policy(s.organizationId);
        if (!policy) continue;
        // Zoho's zone as last learned; UTC (and a note in the views) until one is.
        const zoho = zones.get(s.organizationId);
        if (zoho === undefined) unknownZone = true;
        const timeZone = resolveTimeZone(zoho).zone;
        const due = nextRunAt(s.cron, s.lastScheduledAt, timeZone);
        if (due === null || due > now) continue;
        // Mark first, so a crash during the scan does not run it again and again; a tick that finds
        // the schedule already marked (another tick) or changed (a person) since it read it leaves it.
        if (!(await store.claimSchedule(s.organizationId, s.cron, s.lastScheduledAt, now))) continue;
        started.push(s.organizationId);
        options.logger?.info({ organizationId: s.organizationId, cron: s.cron, timeZone }, 'schedule due: scanning and planning');
        const { done } = runner.scanAndPlan(s.organizationId, policy.text, { autoApplyMax: s.autoApplyMax });
        // On the cluster's queue the worker that makes the plan queues its run, or says it waits
        // for review (an event every serve hears), whatever became of this process meanwhile.
        if (runner.autoAppliesInJob) continue;
        void done.then(async (plan) => {
          if (!plan || plan.steps.length === 0) return;
          if (s.autoApplyMax === null) return review(plan);
          if (plan.steps.length > s.autoApplyMax) {
            options.logger?.info({ organizationId: s.organizationId, planId: plan.planId, steps: plan.steps.length, autoApplyMax: s.autoApplyMax }, 'plan over the auto-apply cap: left for review');
            return review(plan);
          }
          const run = await createRunFromPlan(journal, plan, 'schedule', clock.now());
          runner.apply(run);
        });
      }
      if (unknownZone) options.learnTimeZones?.();
      return started;
    },
  };
}

/** What a `review` event says of a scheduled plan left for review. */
export function reviewOf(plan: Plan): PlanReview {
  return { planId: plan.planId, organizationId: plan.organizationId, steps: plan.steps.length, excluded: plan.exclusionCount };
}
