/**
 * Per-organization schedules: a cron expression (UTC) for scan + plan, and optionally auto-apply
 * when the plan has at most `autoApplyMax` steps. A schedule missed while the service was down
 * runs once at start-up (not once per missed time).
 */
import { createRunFromPlan, type EngineClock, type Journal } from '../engine/index.js';
import { describeCron, nextRun, parseCron } from './cron.js';
import type { Runner } from './runner.js';
import type { ServiceStore } from './store.js';
import type { ServiceLogger } from './logger.js';

export interface SchedulerOptions {
  store: ServiceStore;
  journal: Journal;
  runner: Runner;
  clock: EngineClock;
  logger?: ServiceLogger;
}

export interface Scheduler {
  tick(): Promise<string[]>;
  nextRunAt(cron: string | null, last: number | null): number | null;
  /** A saved cron in English (null: none). */
  describe(cron: string | null): string | null;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { store, journal, runner, clock } = options;
  const nextRunAt = (cron: string | null, last: number | null): number | null => {
    if (!cron) return null;
    try {
      return nextRun(parseCron(cron), last ?? clock.now()) ?? null;
    } catch {
      return null;
    }
  };
  return {
    nextRunAt,
    describe(cron) {
      if (!cron) return null;
      try {
        return describeCron(parseCron(cron));
      } catch {
        return null;
      }
    },
    async tick() {
      const started: string[] = [];
      const now = clock.now();
      for (const s of await store.allSettings()) {
        if (!s.cron) continue;
        const policy = await journal.policy(s.organizationId);
        if (!policy) continue;
        const due = nextRunAt(s.cron, s.lastScheduledAt);
        if (due === null || due > now) continue;
        // Mark first, so a crash during the scan does not run it again and again; a tick that finds
        // the schedule already marked (another tick) or changed (a person) since it read it leaves it.
        if (!(await store.claimSchedule(s.organizationId, s.cron, s.lastScheduledAt, now))) continue;
        started.push(s.organizationId);
        options.logger?.info({ organizationId: s.organizationId, cron: s.cron }, 'schedule due: scanning and planning');
        const { done } = runner.scanAndPlan(s.organizationId, policy.text);
        void done.then(async (plan) => {
          if (!plan || s.autoApplyMax === null || plan.steps.length === 0) return;
          if (plan.steps.length > s.autoApplyMax) {
            options.logger?.info({ organizationId: s.organizationId, planId: plan.planId, steps: plan.steps.length, autoApplyMax: s.autoApplyMax }, 'plan over the auto-apply cap: left for review');
            return;
          }
          const run = await createRunFromPlan(journal, plan, 'schedule', clock.now());
          runner.apply(run);
        });
      }
      return started;
    },
  };
}
