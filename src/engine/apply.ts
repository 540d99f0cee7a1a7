/**
 * The applier: executes a run's steps from the journal. One process drives a run at a time (a
 * run-level lease with a heartbeat, `claimRun`); every step is leased (recorded) before its call
 * and finished (recorded) after it, so a crash at any point resumes without doing a step twice or
 * losing one. Before acting, it revalidates with incremental reads — contacts and activity
 * modified since the run's baseline, refreshed as the run goes on — and skips a contact that
 * traded, changed balance or changed status meanwhile.
 */
import { TRANSACTION_TYPES, type TransactionType } from '../zoho/index.js';
import { QuotaWait, type BooksPort } from './port.js';
import type { Journal } from './storage/journal.js';
import type { RunCounts, RunDriver, RunRecord, StepRecord } from './types.js';

export interface EngineClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Names of the points where tests may crash the applier. */
export type FailpointName = 'after-claim' | 'after-call' | 'after-finish';
export type Failpoint = (name: FailpointName, step: StepRecord) => void | Promise<void>;

export interface ApplyProgress {
  runId: string;
  /** `revalidating`: reading what changed since the baseline; `applying`: changing contacts; `waiting`: for the daily quota. */
  phase: 'revalidating' | 'applying' | 'waiting';
  counts: RunCounts;
  /** Steps finished per minute over the recent past. */
  ratePerMinute: number;
  /** Time to finish at this rate, counting waits for the daily quota. */
  etaMs: number | undefined;
  quota: { remaining: number | undefined; resetAt: number | undefined; limit: number | undefined };
  apiCalls: number;
  /** Set while waiting for the daily quota to reset. */
  waitingUntil?: number;
}

export interface ApplyOptions {
  journal: Journal;
  port: BooksPort;
  runId: string;
  /** This worker's name in leases (host:pid:random). */
  owner: string;
  clock: EngineClock;
  /** Steps in flight at once (default 5; the client also enforces the organization's cap). */
  concurrency?: number;
  /** Lease length (default 10 min); renewed while working. */
  leaseMs?: number;
  /** The run's driver lease (default 30 s), renewed every third of it: how soon another process may take over a run whose driver vanished. */
  runLeaseMs?: number;
  /** Revalidate at least this often (default 60 s). */
  refreshEveryMs?: number;
  /** Activity types whose changes make a contact ineligible (default: all of the contact's type). */
  activityTypes?: TransactionType[];
  /** Says whether a lease owner is gone (a dead pid on this host), so its steps are taken over at once. */
  isDead?: (owner: string) => boolean;
  /** Stop after the calls in flight; the run stays resumable. */
  signal?: AbortSignal;
  onProgress?: (progress: ApplyProgress) => void;
  failpoint?: Failpoint;
  /** Longest wait for a daily-quota reset before giving up (default 36 h). */
  maxQuotaWaitMs?: number;
  /**
   * Look for contacts changed since the baseline and skip them (default: for plan and undo runs;
   * explicit changes — `contacts`, CRM events — are what someone asked for now, and a contact
   * already in the asked state is simply reported unchanged).
   */
  revalidate?: boolean;
}

export interface ApplyResult {
  run: RunRecord;
  counts: RunCounts;
  /** True when stopped by the signal before finishing. */
  interrupted: boolean;
  apiCalls: number;
}

export class ApplyError extends Error {
  override name = 'ApplyError';
}

/** Another live process drives the run; `holder` says which, since when. */
export class RunBusyError extends ApplyError {
  override name = 'RunBusyError';
  constructor(readonly runId: string, readonly holder: RunDriver) {
    super(`Run ${runId} is being applied by ${describeDriver(holder)}. Only one process drives a run at a time.`);
  }
}

/** `process 4242 on host-a (since 2026-12-02 10:04:05 UTC)`. */
export function describeDriver(driver: RunDriver): string {
  const [host, pid] = driver.owner.split(':');
  return `process ${pid ?? '?'} on ${host ?? '?'} (since ${new Date(driver.since).toISOString().slice(0, 19).replace('T', ' ')} UTC)`;
}

/**
 * Abort reason for stopping because the process itself stops (a service shutting down): the run
 * is left running, without a driver, so the next start resumes it — unlike a person's Stop, which
 * pauses it until someone resumes it.
 */
export class Shutdown extends Error {
  override name = 'Shutdown';
}

interface Revalidated {
  reason: string;
}

/**
 * Revalidation state: contacts that changed since the run's baseline, found by listing what was
 * modified since the last refresh (contacts, and each activity type).
 */
class RevalidationCache {
  private readonly blocked = new Map<string, Revalidated>();
  private watermark: number;
  private lastRefresh = -Infinity;
  constructor(
    private readonly port: BooksPort,
    private readonly steps: Map<string, StepRecord>,
    private readonly types: TransactionType[],
    baselineAt: number,
  ) {
    this.watermark = baselineAt;
  }

  due(now: number, everyMs: number): boolean {
    return now - this.lastRefresh >= everyMs;
  }

  async refresh(now: number, signal?: AbortSignal): Promise<void> {
    // A little overlap: modified-since filters are inclusive and clocks differ slightly.
    const since = this.watermark - 2_000;
    for await (const page of this.port.listContacts({ status: 'all', modifiedSince: since, signal })) {
      for (const c of page) {
        const step = this.steps.get(c.contactId);
        if (!step || step.state !== 'pending') continue;
        const expected = step.action === 'deactivate' ? 'active' : 'inactive';
        // A step tried before (its answer lost, its process killed) may have made this change
        // itself: the step settles that with one read of the contact, not the refresh.
        if (c.status !== expected && step.startedAt === null) {
          this.blocked.set(c.contactId, { reason: `already ${c.status}: changed by someone else since the ${step.evidence ? 'snapshot' : 'run was made'}` });
          continue;
        }
        const e = step.evidence;
        if (step.action === 'deactivate' && e) {
          const balances = [c.receivableCents, c.payableCents, c.creditsReceivableCents, c.creditsPayableCents];
          const before = [e.receivable, e.payable, e.unusedCreditsReceivable, e.unusedCreditsPayable].map((v) => Math.round(v * 100));
          if (balances.some((v, i) => v !== before[i])) {
            this.blocked.set(c.contactId, { reason: 'its balance changed since the snapshot' });
          }
        }
      }
    }
    for (const type of this.types) {
      for await (const page of this.port.listTransactions(type, { modifiedSince: since, signal })) {
        for (const t of page) {
          const step = this.steps.get(t.contactId);
          if (!step || step.action !== 'deactivate') continue;
          if (!this.blocked.has(t.contactId)) {
            this.blocked.set(t.contactId, { reason: `traded since the snapshot: ${TRANSACTION_TYPES[type].label} dated ${t.date}` });
          }
        }
      }
    }
    this.watermark = now;
    this.lastRefresh = now;
  }

  reasonFor(contactId: string): string | undefined {
    return this.blocked.get(contactId)?.reason;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export async function applyRun(options: ApplyOptions): Promise<ApplyResult> {
  const { journal, port, runId, owner, clock, signal } = options;
  const concurrency = Math.max(1, options.concurrency ?? 5);
  const leaseMs = options.leaseMs ?? 600_000;
  const refreshEveryMs = options.refreshEveryMs ?? 60_000;
  const maxQuotaWaitMs = options.maxQuotaWaitMs ?? 36 * 3_600_000;
  const runLeaseMs = options.runLeaseMs ?? 30_000;
  const run = await journal.getRun(runId);
  if (!run) throw new ApplyError(`There is no run ${runId}. \`sunset runs\` lists them.`);
  if (run.organizationId !== port.organizationId) {
    throw new ApplyError(`Run ${runId} is for organization ${run.organizationId}, but these credentials are for ${port.organizationId}.`);
  }
  if (run.target !== '' && run.target !== port.target) {
    throw new ApplyError(`Run ${runId} was made against ${run.target}; this connection reaches ${port.target}. Nothing was changed.`);
  }
  if (run.state === 'done' || run.state === 'cancelled') {
    return { run, counts: await journal.runCounts(runId), interrupted: false, apiCalls: 0 };
  }
  const claim = await journal.claimRun(runId, owner, clock.now(), runLeaseMs, options.isDead);
  if (!claim.ok) throw new RunBusyError(runId, claim.holder);
  if (claim.run.state === 'done' || claim.run.state === 'cancelled') {
    // Ended by another driver between the look above and the claim: let it go as it was.
    await journal.releaseRun(runId, owner, claim.run.state, claim.run.finishedAt ?? clock.now());
    return { run: (await journal.getRun(runId))!, counts: await journal.runCounts(runId), interrupted: false, apiCalls: 0 };
  }
  const callsAtStart = port.apiCalls();
  await journal.setRunState(runId, 'running', clock.now());

  const allSteps = await journal.steps(runId);
  const byContact = new Map(allSteps.map((s) => [s.contactId, s]));
  const contactTypes = new Set(allSteps.filter((s) => s.action === 'deactivate').map((s) => s.contactType));
  const types = options.activityTypes ?? Object.values(TRANSACTION_TYPES).filter((t) => contactTypes.has(t.contactType)).map((t) => t.type);
  const revalidation = new RevalidationCache(port, byContact, types, run.baselineAt);

  const finishedTimes: number[] = [];
  let waitingUntil: number | undefined;
  const revalidate = options.revalidate ?? (run.kind === 'plan' || run.kind === 'undo');
  let phase: ApplyProgress['phase'] = revalidate ? 'revalidating' : 'applying';
  const report = async (): Promise<void> => {
    if (!options.onProgress) return;
    const counts = await journal.runCounts(runId);
    const now = clock.now();
    const quota = port.quota();
    while (finishedTimes.length > 0 && finishedTimes[0]! < now - 120_000) finishedTimes.shift();
    // Over at least 5 s, and never above the organization's per-minute limit (a step is a call at
    // least): right after a start, a burst of a few steps in a second is no rate to extrapolate.
    const windowMs = finishedTimes.length > 1 ? Math.max(5_000, now - finishedTimes[0]!) : 0;
    const ratePerMinute = windowMs > 0 ? Math.min(quota.perMinute, (finishedTimes.length / windowMs) * 60_000) : 0;
    const remaining = counts.pending + counts.inFlight;
    let etaMs: number | undefined;
    if (remaining === 0) etaMs = 0;
    else if (ratePerMinute > 0) {
      etaMs = (remaining / ratePerMinute) * 60_000;
      // Each step is a call; past today's quota the run waits for resets.
      if (quota.remaining !== undefined && quota.resetAt !== undefined && quota.limit && remaining > quota.remaining) {
        const days = Math.ceil((remaining - quota.remaining) / quota.limit);
        etaMs = Math.max(etaMs, quota.resetAt - now + (days - 1) * 86_400_000 + ((remaining - quota.remaining - (days - 1) * quota.limit) / ratePerMinute) * 60_000);
      }
    }
    options.onProgress({ runId, phase: waitingUntil !== undefined ? 'waiting' : phase, counts, ratePerMinute, etaMs, quota: { remaining: quota.remaining, resetAt: quota.resetAt, limit: quota.limit }, apiCalls: port.apiCalls() - callsAtStart, waitingUntil });
  };

  const waitForQuota = async (error: QuotaWait): Promise<void> => {
    const now = clock.now();
    const until = error.resetAt ?? now + 3_600_000;
    if (until - now > maxQuotaWaitMs) throw new ApplyError(`${error.message} That is more than the longest wait allowed; resume later.`);
    waitingUntil = until;
    await report();
    await clock.sleep(Math.max(0, until - now) + 1_000, signal);
    waitingUntil = undefined;
  };

  const runStep = async (step: StepRecord): Promise<void> => {
    await options.failpoint?.('after-claim', step);
    const target = step.action === 'deactivate' ? 'inactive' : 'active';
    // Settle an earlier attempt first: if it made the change, that is this run's change (to undo
    // later), whatever else the contact did since; only then may revalidation skip it.
    if (step.attempts > 1 && step.startedAt !== null) {
      // Taken over after an interruption: an earlier attempt may or may not have made the call.
      // One read settles it: already at the target → that attempt's change; modified since the
      // step first started but not at the target → someone else changed it meanwhile: leave it.
      const now = await port.getContact(step.contactId);
      if (!now) {
        await journal.finishStep(runId, step.seq, owner, { state: 'skipped', skipReason: 'the contact no longer exists', finishedAt: clock.now() });
        return;
      }
      if (now.status === target) {
        await journal.finishStep(runId, step.seq, owner, {
          state: 'done', outcome: 'changed', lastError: 'confirmed after a restart: the earlier attempt had changed it', finishedAt: clock.now(),
        });
        finishedTimes.push(clock.now());
        return;
      }
      // A modification that Sunset itself made just before (an undo started right after its run,
      // say) is no one else's: the journal knows when it put the contact in its present status.
      const own = (await journal.latestChanges([step.contactId])).get(step.contactId);
      const ours = own !== undefined && own.to === now.status && now.modifiedAt <= own.at + 2_000;
      if (now.modifiedAt >= step.startedAt - 2_000 && !ours && !revalidation.reasonFor(step.contactId)) {
        await journal.finishStep(runId, step.seq, owner, {
          state: 'skipped', skipReason: `changed by someone else while this step was interrupted (now ${now.status}); left as it is`, finishedAt: clock.now(),
        });
        return;
      }
    }
    const blocked = revalidation.reasonFor(step.contactId);
    if (blocked) {
      await journal.finishStep(runId, step.seq, owner, { state: 'skipped', skipReason: blocked, finishedAt: clock.now() });
      return;
    }
    let outcome: 'changed' | 'unchanged';
    try {
      outcome = await port.setStatus(step.contactId, target);
    } catch (error) {
      if (error instanceof QuotaWait) {
        await journal.finishStep(runId, step.seq, owner, { state: 'pending', lastError: error.message, finishedAt: clock.now() });
        throw error;
      }
      const name = error instanceof Error ? error.name : '';
      if (name === 'NotFoundError') {
        await journal.finishStep(runId, step.seq, owner, { state: 'skipped', skipReason: 'the contact no longer exists', finishedAt: clock.now() });
        return;
      }
      // The database failing around the call (the shared budget is kept there) says nothing about
      // the contact: the step is tried again, and the retry first reads whether this call was made.
      const retryable = (error as { retryable?: boolean }).retryable === true || name === 'StorageError';
      await journal.finishStep(runId, step.seq, owner, { state: retryable ? 'pending' : 'failed', lastError: errorText(error), finishedAt: clock.now() });
      if (retryable) throw error;
      return;
    }
    await options.failpoint?.('after-call', step);
    await journal.finishStep(runId, step.seq, owner, { state: 'done', outcome, finishedAt: clock.now() });
    finishedTimes.push(clock.now());
    await options.failpoint?.('after-finish', step);
  };

  // Leases are renewed while this worker lives, so a slow step is never taken over by another;
  // the run's own lease more often, so a vanished driver is replaced within a run lease. A renewal
  // only extends a drive still held: after a freeze, the run may have been taken over, and even
  // paused or ended and let go by its new driver; that is lost, not free to claim again.
  let lost = false;
  const holdRun = async (): Promise<boolean> => {
    if (lost) return false;
    if (!(await journal.renewRun(runId, owner, clock.now(), runLeaseMs))) lost = true;
    return !lost;
  };
  const renewSteps = setInterval(() => {
    void journal.renewLeases(runId, owner, clock.now() + leaseMs).catch(() => undefined);
  }, Math.max(1_000, Math.floor(leaseMs / 3)));
  renewSteps.unref();
  const renewRun = setInterval(() => void holdRun().catch(() => undefined), Math.max(1_000, Math.floor(runLeaseMs / 3)));
  renewRun.unref();

  let interrupted = false;
  let transientFailures = 0;
  try {
    await report();
    for (;;) {
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      try {
        // Each round holds the run: after a long wait (a quota reset) or a freeze, another driver
        // may have taken over; then this one stops before touching a step.
        if (!(await holdRun())) {
          interrupted = true;
          break;
        }
        if (revalidate && revalidation.due(clock.now(), refreshEveryMs)) {
          const started = clock.now();
          await revalidation.refresh(started, signal);
          // Refresh the in-memory view of which steps are still pending.
          for (const s of await journal.steps(runId)) byContact.set(s.contactId, s);
        }
        phase = 'applying';
        const claimed = await journal.claimSteps(runId, owner, clock.now(), leaseMs, concurrency, options.isDead);
        if (claimed.length === 0) break;
        const results = await Promise.allSettled(claimed.map(runStep));
        const quota = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason instanceof QuotaWait);
        if (quota) {
          await waitForQuota(quota.reason as QuotaWait);
          continue;
        }
        const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failure) {
          if (!((failure.reason as { retryable?: boolean }).retryable)) throw failure.reason;
          transientFailures++;
          if (transientFailures >= 5) throw new ApplyError(`Zoho kept failing (${errorText(failure.reason)}); the run is paused and can be resumed.`);
          await clock.sleep(Math.min(60_000, 2_000 * 2 ** transientFailures), signal);
        } else transientFailures = 0;
        await report();
      } catch (error) {
        if (signal?.aborted) {
          interrupted = true;
          break;
        }
        if (error instanceof QuotaWait) {
          await waitForQuota(error);
          continue;
        }
        let stop = error;
        // A revalidation read that failed after the client's own retries: back off and try again,
        // as for a step that failed that way (the refresh starts again from its last watermark).
        if ((error as { retryable?: boolean }).retryable === true) {
          transientFailures++;
          if (transientFailures < 5) {
            const slept = await clock.sleep(Math.min(60_000, 2_000 * 2 ** transientFailures), signal).then(() => true, () => false);
            if (!slept && signal?.aborted) {
              interrupted = true;
              break;
            }
            continue;
          }
          stop = new ApplyError(`Zoho kept failing (${errorText(error)}); the run is paused and can be resumed.`);
        }
        await journal.releaseRun(runId, owner, 'paused', clock.now());
        throw stop;
      }
    }
  } finally {
    clearInterval(renewSteps);
    clearInterval(renewRun);
  }
  const counts = await journal.runCounts(runId);
  if (lost) {
    // Another driver holds the run now: its state is theirs to set.
    return { run: (await journal.getRun(runId))!, counts, interrupted: true, apiCalls: port.apiCalls() - callsAtStart };
  }
  const finished = !interrupted && counts.pending === 0 && counts.inFlight === 0;
  // A shutdown leaves the run running, driverless, for the next start to resume; a person's stop pauses it.
  const state = finished ? 'done' : signal?.reason instanceof Shutdown ? 'running' : 'paused';
  await journal.releaseRun(runId, owner, state, clock.now());
  await report();
  return { run: (await journal.getRun(runId))!, counts, interrupted, apiCalls: port.apiCalls() - callsAtStart };
}
