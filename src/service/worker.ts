/**
 * A worker: takes jobs from the work queue (src/service/work-queue.ts) and does them with the
 * service's runner, in this process: scan + plan, apply (plan, undo and resumed runs), verify.
 * `sunset worker` is one; `sunset serve --work` has one too. Progress goes to the event bus, which
 * the relay (src/service/event-relay.ts) carries to every `sunset serve` on the database.
 *
 * A job that ends with its run still to do (this worker is stopping, or another process drives the
 * run) fails, so pg-boss retries it (with backoff) wherever a worker is free; a killed worker's job
 * is retried once its heartbeat lapses, and the run's journal lease decides who may drive it.
 */
import { createRunFromPlan, type BooksPort, type EngineClock, type Journal } from '../engine/index.js';
import type { EventRelay } from './event-relay.js';
import type { EventBus } from './events.js';
import { errorText, silentLogger, type ServiceLogger } from './logger.js';
import { createRunner, type Runner } from './runner.js';
import { reviewOf, type Scheduler } from './scheduler.js';
import { sendLostCrmJobs } from './work-queue.js';
import type { ServiceStore } from './store.js';
import type { WebhookProcessor } from './webhooks.js';
import type { WorkJob, WorkQueue } from './work-queue.js';

export interface WorkerOptions {
  journal: Journal;
  port(organizationId: string): BooksPort;
  clock: EngineClock;
  bus: EventBus;
  queue: WorkQueue;
  relay?: EventRelay;
  /** This process's lease owner name. */
  owner: string;
  isDead?: (owner: string) => boolean;
  logger?: ServiceLogger;
  /** Jobs at a time in this process (each of a different organization); default 4. */
  concurrency?: number;
  /** How often an idle worker asks for a job, in seconds (default 1). */
  pollingIntervalSeconds?: number;
  /**
   * The lease of a step being applied (default 30 s, renewed every 10 s while the worker lives):
   * a frozen or lost worker's steps go to the run's next driver once it lapses.
   */
  stepLeaseMs?: number;
  /**
   * What applies CRM events and signals (`crm` jobs), and the store that says when the next of an
   * organization's events is due. Without it, a `crm` job fails (to be retried by a worker that has it).
   */
  crm?: { processor: WebhookProcessor; store: ServiceStore };
  /**
   * The cluster's minute tick (pg-boss's cron): given, this worker takes it too, so schedules
   * start and lost `crm` jobs are sent again with no `serve` running. The scheduler must queue its
   * scans (a queued runner). A tick taken here asks for delivery passes of the outbox (the e-mails'
   * by a serve, which holds the mail settings; the webhooks' by any process).
   */
  ticks?: { scheduler: Scheduler };
}

/** A job this worker holds, for SIGUSR2 and /metrics. */
export interface HeldJob {
  queueId: string;
  kind: WorkJob['kind'];
  organizationId: string;
  runId?: string;
  /** When this worker took it (ms). */
  since: number;
  /** Attempts before this one. */
  attempt: number;
}

export interface WorkerStats {
  /** Jobs finished here, failed here (to be retried), by kind. */
  done: number;
  retried: number;
  held: HeldJob[];
}

export interface Worker {
  start(): Promise<void>;
  stats(): WorkerStats;
  /**
   * Graceful stop: no new job, the jobs in hand stop after their calls in flight (their runs'
   * leases released, the jobs retried elsewhere), then the queue's connections close.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  readonly runner: Runner;
}

class RetryLater extends Error {
  override name = 'RetryLater';
}

export function createWorker(options: WorkerOptions): Worker {
  const { journal, clock, queue } = options;
  const logger = options.logger ?? silentLogger;
  /** The attempts this process is driving now: any other attempt of this process is over. */
  const live = new Set<string>();
  const isDead = (holder: string): boolean => options.isDead?.(holder) === true || (holder.startsWith(`${options.owner}:`) && !live.has(holder));
  const runner = createRunner({ journal, port: options.port, clock, bus: options.bus, owner: options.owner, logger, stepLeaseMs: options.stepLeaseMs ?? 30_000, isDead });
  /** Runs a person stopped (through the relay): their pause is meant, not a reason to retry. */
  const stoppedByPerson = new Set<string>();
  const held = new Map<string, HeldJob>();
  let stopping = false;
  let done = 0;
  let retried = 0;

  options.relay?.onControl((message) => {
    if (!message.stop) return;
    stoppedByPerson.add(message.stop);
    if (runner.stop(message.stop)) logger.info({ runId: message.stop }, 'stopped by a person');
  });

  const handle = async (job: WorkJob, queueId: string, attempt: number): Promise<void> => {
    switch (job.kind) {
      case 'crm': {
        if (!options.crm) throw new Error('this process does not apply CRM events');
        // The events are leased under this attempt; the queue lets one crm job of an organization be
        // active at a time, so events another crm attempt still holds belong to one that is over.
        const owner = `${options.owner}:crm:${queueId.slice(0, 8)}.${attempt}`;
        await options.crm.processor.processDue({ organizationId: job.organizationId, owner, isDead: (holder) => holder !== owner && holder.includes(':crm:') });
        // Events tried again later (Zoho refused, a run did not finish), or more than one pass
        // takes: a job for when the first of them is due, unless one already waits.
        const next = await options.crm.store.nextEventDue(job.organizationId);
        if (next !== null && !(await queue.crmQueued(job.organizationId))) {
          await queue.sendCrm(job.organizationId, { startAfter: new Date(Math.max(next, clock.now() + 1_000)) });
        }
        return;
      }
      case 'scan': {
        const plan = await runner.scanAndPlan(job.organizationId, job.policyText, { jobId: job.jobId }).done;
        if (stopping) throw new RetryLater('the worker stopped during the scan');
        // A scheduled scan within its auto-apply cap: its run is made here and queued as the
        // organization's next job, whatever became of the process that queued the scan.
        if (!plan || plan.steps.length === 0 || job.autoApplyMax === undefined) return;
        if (job.autoApplyMax !== null && plan.steps.length <= job.autoApplyMax) {
          const run = await createRunFromPlan(journal, plan, 'schedule', clock.now());
          await queue.send({ kind: 'apply', organizationId: run.organizationId, runId: run.runId });
          logger.info({ organizationId: job.organizationId, planId: plan.planId, runId: run.runId, steps: plan.steps.length }, 'scheduled plan within the auto-apply cap: its run is queued');
          return;
        }
        // Left for review: said here, so every serve's notifications hear it (through the relay),
        // not only the serve whose tick queued the scan, which may have stopped since.
        if (job.autoApplyMax !== null) logger.info({ organizationId: job.organizationId, planId: plan.planId, steps: plan.steps.length, autoApplyMax: job.autoApplyMax }, 'plan over the auto-apply cap: left for review');
        options.bus.emit({ type: 'review', data: reviewOf(plan) });
        return;
      }
      case 'verify': {
        await runner.verify({ runId: job.runId, organizationId: job.organizationId }, { jobId: job.jobId }).done;
        if (stopping) throw new RetryLater('the worker stopped during the verification');
        return;
      }
      case 'apply': {
        const run = await journal.getRun(job.runId);
        if (!run) {
          logger.warn({ runId: job.runId, queueId }, 'a job for a run the journal does not have: dropped');
          return;
        }
        if (run.state === 'done' || run.state === 'cancelled') return;
        stoppedByPerson.delete(job.runId);
        // Each attempt drives under a name of its own (host:pid:...:attempt): steps an attempt left
        // in flight (the database went away under it) are another driver's to take once their
        // leases lapse, even when the next attempt runs in this same process.
        const owner = `${options.owner}:${queueId.slice(0, 8)}.${attempt}`;
        live.add(owner);
        try {
          await runner.apply(run, { owner, ...(job.fingerprint === false ? { fingerprint: false } : {}) }).done;
        } finally {
          live.delete(owner);
        }
        const after = await journal.getRun(job.runId);
        // Still to do: this worker is stopping, or another process drives it; try again later.
        if (after && (after.state === 'running' || after.state === 'pending')) {
          throw new RetryLater(stopping ? 'the worker stopped; the run goes on elsewhere' : `run ${job.runId} is not finished (another process may be driving it)`);
        }
        // Paused with steps still leased to a driver that froze or vanished: once their leases
        // lapse the next attempt takes them. A person's Stop (or a failure) is a pause that stays.
        if (after?.state === 'paused' && !stoppedByPerson.has(job.runId) && (await journal.runCounts(job.runId)).inFlight > 0) {
          throw new RetryLater(`run ${job.runId} has steps still leased to a driver that stopped answering; trying again once their leases lapse`);
        }
      }
    }
  };

  return {
    runner,
    async start() {
      await queue.work(async (job, context) => {
        if (stopping) throw new RetryLater('the worker is stopping');
        held.set(context.id, { queueId: context.id, kind: job.kind, organizationId: job.organizationId, ...('runId' in job ? { runId: job.runId } : {}), since: clock.now(), attempt: context.retryCount });
        logger.info({ kind: job.kind, organizationId: job.organizationId, ...('runId' in job ? { runId: job.runId } : {}), attempt: context.retryCount }, 'job taken');
        try {
          await handle(job, context.id, context.retryCount);
          done++;
        } catch (error) {
          retried++;
          if (error instanceof RetryLater) logger.info({ kind: job.kind, organizationId: job.organizationId }, error.message);
          else logger.warn({ kind: job.kind, organizationId: job.organizationId, error: errorText(error) }, 'job failed; it will be retried');
          throw error;
        } finally {
          held.delete(context.id);
        }
      }, {
        ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
        ...(options.pollingIntervalSeconds !== undefined ? { pollingIntervalSeconds: options.pollingIntervalSeconds } : {}),
      });
      const ticks = options.ticks;
      if (ticks) {
        await queue.workTicks(async () => {
          if (stopping) return;
          if (options.crm) await sendLostCrmJobs(options.crm.store, queue, clock.now());
          await queue.sendNotify(clock.now());
          await ticks.scheduler.tick();
        });
      }
    },
    stats: () => ({ done, retried, held: [...held.values()] }),
    async stop({ timeoutMs = 30_000 } = {}) {
      stopping = true;
      // The runner's jobs stop after their calls in flight (runs stay running, driverless); the
      // queue then sees the handlers end, fails them (to be retried elsewhere) and closes.
      const closing = runner.close();
      await Promise.all([closing, queue.stop({ timeoutMs })]);
    },
  };
}
