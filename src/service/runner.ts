/**
 * Background work of the service, one organization at a time: scan + plan jobs, applying runs
 * (plan runs after approval, undo runs, CRM runs) and verifying them. Progress goes to the event bus.
 */
import {
  applyRun, planSnapshot, createRunFromPlan, newId, parsePolicy, PolicyError, recordBefore, RunBusyError, scan, Shutdown, verifyRun,
  type BooksPort, type EngineClock, type Journal, type Plan, type RunRecord, type VerifyResult,
} from '../engine/index.js';
import type { JobProgress, RunProgress } from './api-types.js';
import type { EventBus } from './events.js';
import { errorText, silentLogger, type ServiceLogger } from './logger.js';

export interface RunnerOptions {
  journal: Journal;
  port(organizationId: string): BooksPort;
  clock: EngineClock;
  bus: EventBus;
  /** This process's lease owner name. */
  owner: string;
  isDead?: (owner: string) => boolean;
  logger?: ServiceLogger;
  /** The lease of a step being applied (applyRun's leaseMs; default 10 min): a worker's is short, so another takes over soon. */
  stepLeaseMs?: number;
}

export interface Job {
  jobId: string;
  organizationId: string;
  kind: 'scan' | 'apply' | 'verify';
  /** The run being applied, for apply jobs. */
  runId?: string;
}

/** Which run, and whose: the organization's queue is known without reading the journal first. */
export type RunRef = Pick<RunRecord, 'runId' | 'organizationId'>;

export interface ScanOptions {
  jobId?: string;
  /** A scheduled scan: its plan is applied at once when it has at most this many steps (null: never; see Scheduler). */
  autoApplyMax?: number | null;
}

export interface Runner {
  /** Starts scan + plan with a policy; resolves with the plan (the job keeps running in the background until then). */
  scanAndPlan(organizationId: string, policyText: string, options?: ScanOptions): { jobId: string; done: Promise<Plan | undefined> };
  /**
   * Whether the job that makes a scheduled plan also starts its auto-apply (a worker, on the
   * cluster's queue: the decision is in the job, not in the process that queued it). When false,
   * the scheduler does it once the plan is back.
   */
  readonly autoAppliesInJob?: boolean;
  /**
   * Applies (or resumes) a run in the background. The job is registered before this returns, so
   * `activeJobs()` shows it (and Stop reaches it) at once.
   */
  apply(run: RunRef, options?: { fingerprint?: boolean; owner?: string }): { done: Promise<void> };
  /** Verifies a run in the background (the result is also saved in the journal); registered at once like apply. */
  verify(run: RunRef, options?: { jobId?: string }): { jobId: string; done: Promise<VerifyResult | undefined> };
  stop(runId: string): boolean;
  activeJobs(): Job[];
  /** Stops everything after the calls in flight and waits. */
  close(): Promise<void>;
}

export function createRunner(options: RunnerOptions): Runner {
  const { journal, clock, bus } = options;
  const jobs = new Map<string, Job & { controller: AbortController; done: Promise<unknown> }>();
  /** Work per organization runs one after another. */
  const queues = new Map<string, Promise<unknown>>();
  const logger = options.logger ?? silentLogger;

  const enqueue = <T>(organizationId: string, job: Job, work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const controller = new AbortController();
    const previous = queues.get(organizationId) ?? Promise.resolve();
    // Settles once the job is off the list: whoever awaits it no longer sees it in activeJobs().
    const done = previous.catch(() => undefined).then(() => work(controller.signal)).finally(() => jobs.delete(job.jobId));
    const tail = done.catch(() => undefined);
    queues.set(organizationId, tail);
    jobs.set(job.jobId, { ...job, controller, done: tail });
    return done;
  };

  return {
    scanAndPlan(organizationId, policyText, jobOptions = {}) {
      const jobId = jobOptions.jobId ?? newId('job', clock.now());
      const emit = (state: JobProgress['state'], extra: Pick<JobProgress, 'message' | 'planId'> = {}): void => bus.emit({ type: 'job', data: { jobId, organizationId, kind: 'scan', state, ...extra } });
      const done = enqueue(organizationId, { jobId, organizationId, kind: 'scan' }, async (signal) => {
        let policy;
        try {
          policy = parsePolicy(policyText, `policy of ${organizationId}`);
        } catch (error) {
          emit('failed', { message: error instanceof PolicyError ? error.message : String(error) });
          return undefined;
        }
        emit('running', { message: 'scanning' });
        try {
          const snapshot = await scan({
            port: options.port(organizationId), journal, policy, now: clock.now(), signal,
            onProgress: (p) => emit('running', { message: `${p.phase}: ${p.contacts} contacts, ${p.transactions} transactions, ${p.apiCalls} API calls` }),
          });
          const plan = await planSnapshot(journal, policy, policyText, snapshot, clock.now());
          emit('done', { planId: plan.planId, message: `${plan.steps.length} steps, ${plan.exclusionCount} excluded, ${snapshot.apiCalls} API calls` });
          return plan;
        } catch (error) {
          logger.error({ organizationId, error: errorText(error) }, 'scan and plan failed');
          emit('failed', { message: error instanceof Error ? error.message : String(error) });
          return undefined;
        }
      });
      return { jobId, done };
    },
    apply(run, applyOptions = {}) {
      const { runId } = run;
      const jobId = newId('job', clock.now());
      const done = enqueue(run.organizationId, { jobId, organizationId: run.organizationId, kind: 'apply', runId }, async (signal) => {
        const port = options.port(run.organizationId);
        const emit = async (extra: Pick<RunProgress, 'message' | 'error'>): Promise<void> => {
          const current = await journal.getRun(runId);
          bus.emit({ type: 'run', data: { runId, organizationId: run.organizationId, state: current?.state, counts: await journal.runCounts(runId), ...extra } });
        };
        try {
          if (applyOptions.fingerprint !== false && !(await journal.hasFingerprint(runId, 'before'))) {
            await emit({ message: 'recording transaction counts for verify' });
            await recordBefore(journal, port, runId, {
              now: clock.now(), signal,
              onProgress: (p) => void emit({ message: `recording transaction counts for verify: ${p.done}${p.expected ? ` of about ${p.expected}` : ''} ${p.method === 'pages' ? 'pages' : 'lists'}` }),
            });
          }
          await applyRun({
            journal, port, runId, owner: applyOptions.owner ?? options.owner, clock, signal, isDead: options.isDead,
            ...(options.stepLeaseMs !== undefined ? { leaseMs: options.stepLeaseMs } : {}),
            onProgress: (p) => bus.emit({ type: 'run', data: { runId, organizationId: run.organizationId, state: 'running', phase: p.phase, counts: p.counts, ratePerMinute: p.ratePerMinute, etaMs: p.etaMs, waitingUntil: p.waitingUntil } }),
          });
          await emit({});
        } catch (error) {
          // Another process drives it: nothing of ours to record; the journal shows that driver.
          if (error instanceof RunBusyError) logger.info({ runId, driver: error.holder.owner }, error.message);
          else logger.warn({ runId, error: errorText(error) }, 'run stopped');
          await emit({ error: error instanceof Error ? error.message : String(error) });
        }
      });
      return { done };
    },
    verify(run, jobOptions = {}) {
      const { runId } = run;
      const jobId = jobOptions.jobId ?? newId('job', clock.now());
      const emit = (state: JobProgress['state'], extra: Pick<JobProgress, 'organizationId' | 'message' | 'ok'>): void => bus.emit({ type: 'job', data: { jobId, kind: 'verify', runId, state, ...extra } });
      const done = enqueue(run.organizationId, { jobId, organizationId: run.organizationId, kind: 'verify', runId }, async (signal) => {
        emit('running', { organizationId: run.organizationId, message: 'reading the run\'s contacts\' transactions' });
        try {
          const result = await verifyRun(journal, options.port(run.organizationId), runId, {
            now: clock.now(), signal,
            onProgress: (p) => emit('running', { organizationId: run.organizationId, message: p.phase === 'explain' ? `looking for trading since: ${p.done} pages` : `${p.done}${p.expected ? ` of about ${p.expected}` : ''} ${p.method === 'pages' ? 'pages' : 'lists'} read` }),
          });
          emit('done', { organizationId: run.organizationId, ok: result.ok, message: result.ok ? 'no history lost' : `${result.differences.filter((d) => d.explained === null).length} unexplained differences` });
          return result;
        } catch (error) {
          logger.error({ runId, error: errorText(error) }, 'verify failed');
          emit('failed', { organizationId: run.organizationId, message: error instanceof Error ? error.message : String(error) });
          return undefined;
        }
      });
      return { jobId, done };
    },
    stop(runId) {
      for (const job of jobs.values()) {
        // A person's Stop is for applying; a verification of the run is not stopped by it.
        if (job.runId === runId && job.kind === 'apply') {
          job.controller.abort(new Error('stopped'));
          return true;
        }
      }
      return false;
    },
    activeJobs: () => [...jobs.values()].map(({ jobId, organizationId, kind, runId }) => ({ jobId, organizationId, kind, runId })),
    async close() {
      // A shutdown, not a person's Stop: runs stay running, driverless, and the next start resumes them.
      for (const job of jobs.values()) job.controller.abort(new Shutdown('the service is stopping'));
      await Promise.allSettled([...jobs.values()].map((j) => j.done));
    },
  };
}

export { createRunFromPlan };
