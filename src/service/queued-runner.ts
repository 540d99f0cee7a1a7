/**
 * The service's runner when work goes through the queue (`sunset serve` on PostgreSQL): each
 * scan, apply and verify becomes a job (src/service/work-queue.ts) that any worker of the cluster
 * takes, this process's own (`--work`) or `sunset worker`s elsewhere. What it shows as active comes
 * from the queue (refreshed every second and after each send); a scan's result comes back through
 * the event relay; a person's Stop goes to whichever worker holds the run, and cancels a job still
 * waiting for one.
 */
import { newId, type EngineClock, type Journal, type Plan, type VerifyResult } from '../engine/index.js';
import type { EventRelay } from './event-relay.js';
import type { EventBus } from './events.js';
import { errorText, silentLogger, type ServiceLogger } from './logger.js';
import type { Job, Runner } from './runner.js';
import type { QueuedJob, WorkJob, WorkQueue } from './work-queue.js';

export interface QueuedRunnerOptions {
  journal: Journal;
  clock: EngineClock;
  bus: EventBus;
  queue: WorkQueue;
  relay: EventRelay;
  logger?: ServiceLogger;
  /** How often the view of the queue is read again (default 1,000 ms). */
  refreshMs?: number;
}

/** The organization's job as people see it; CRM events have their own view (the events), not this. */
const toJob = (q: Pick<QueuedJob, 'id' | 'data'>): Job | undefined => {
  const d = q.data;
  if (d.kind === 'crm') return undefined;
  if (d.kind === 'apply') return { jobId: q.id, organizationId: d.organizationId, kind: 'apply', runId: d.runId };
  if (d.kind === 'verify') return { jobId: d.jobId, organizationId: d.organizationId, kind: 'verify', runId: d.runId };
  return { jobId: d.jobId, organizationId: d.organizationId, kind: 'scan' };
};

export function createQueuedRunner(options: QueuedRunnerOptions): Runner & { refresh(): Promise<void> } {
  const { journal, clock, bus, queue, relay } = options;
  const logger = options.logger ?? silentLogger;
  /** The queue as last read, plus what this process sent since. */
  let view: Job[] = [];
  let sentSince: Job[] = [];
  let refreshing: Promise<void> | undefined;
  let closed = false;

  const refresh = (): Promise<void> => {
    refreshing ??= (async () => {
      const marked = sentSince.length;
      try {
        const pending = await queue.pending();
        view = pending.flatMap((q) => toJob(q) ?? []);
        sentSince = sentSince.slice(marked);
      } catch (error) {
        logger.debug({ error: errorText(error) }, 'could not read the job queue');
      }
    })().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };
  const timer = setInterval(() => void refresh(), options.refreshMs ?? 1_000);
  timer.unref();
  void refresh();

  const send = (job: WorkJob, shown: Job): Promise<void> => {
    sentSince.push(shown);
    return queue.send(job).then(() => refresh(), (error: unknown) => {
      sentSince = sentSince.filter((j) => j !== shown);
      logger.error({ kind: job.kind, organizationId: job.organizationId, error: errorText(error) }, 'could not queue the job');
      throw error;
    });
  };

  /** Resolves with the job's last state as a worker reports it through the relay. */
  const jobEnd = (jobId: string): Promise<{ planId?: string; ok?: boolean } | undefined> => new Promise((resolve) => {
    const unsubscribe = bus.subscribe((event) => {
      if (event.type !== 'job' || event.data.jobId !== jobId || event.data.state === 'running') return;
      unsubscribe();
      resolve(event.data.state === 'done' ? { ...(event.data.planId ? { planId: event.data.planId } : {}), ...(event.data.ok !== undefined ? { ok: event.data.ok } : {}) } : undefined);
    });
  });

  return {
    refresh,
    autoAppliesInJob: true,
    scanAndPlan(organizationId, policyText, jobOptions = {}) {
      const jobId = jobOptions.jobId ?? newId('job', clock.now());
      const ended = jobEnd(jobId);
      const queued = send({ kind: 'scan', organizationId, jobId, policyText, ...(jobOptions.autoApplyMax !== undefined ? { autoApplyMax: jobOptions.autoApplyMax } : {}) }, { jobId, organizationId, kind: 'scan' });
      const done = queued.then(() => ended).then(async (end) => (end?.planId ? journal.getPlan(end.planId) : undefined), (error: unknown) => {
        bus.emit({ type: 'job', data: { jobId, organizationId, kind: 'scan', state: 'failed', message: `could not queue the scan: ${error instanceof Error ? error.message : String(error)}` } });
        return undefined;
      });
      return { jobId, done };
    },
    apply(run, applyOptions = {}) {
      const job: WorkJob = { kind: 'apply', organizationId: run.organizationId, runId: run.runId, ...(applyOptions.fingerprint === false ? { fingerprint: false } : {}) };
      const done = send(job, { jobId: `queued:${run.runId}`, organizationId: run.organizationId, kind: 'apply', runId: run.runId }).catch(() => undefined);
      return { done };
    },
    verify(run, jobOptions = {}) {
      const jobId = jobOptions.jobId ?? newId('job', clock.now());
      const ended = jobEnd(jobId);
      const queued = send({ kind: 'verify', organizationId: run.organizationId, runId: run.runId, jobId }, { jobId, organizationId: run.organizationId, kind: 'verify', runId: run.runId });
      const done = queued.then(() => ended).then(async (end): Promise<VerifyResult | undefined> => {
        if (!end) return undefined;
        return (await journal.latestVerification(run.runId))?.result as VerifyResult | undefined;
      }, () => undefined);
      return { jobId, done };
    },
    stop(runId) {
      const applying = [...view, ...sentSince].some((j) => j.kind === 'apply' && j.runId === runId);
      if (!applying) return false;
      void relay.control({ stop: runId }).catch((error: unknown) => logger.warn({ runId, error: errorText(error) }, 'could not send the stop'));
      void queue.cancelQueued({ kind: 'apply', runId }).then(() => refresh(), (error: unknown) => logger.warn({ runId, error: errorText(error) }, 'could not cancel the queued job'));
      return true;
    },
    activeJobs() {
      const seen = new Set<string>();
      const out: Job[] = [];
      for (const j of [...view, ...sentSince]) {
        const key = j.kind === 'apply' ? `apply:${j.runId}` : j.jobId;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(j);
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await refreshing;
    },
  };
}

export type { Plan };
