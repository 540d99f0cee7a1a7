/**
 * Running a run from the command line: the confirmation, the before-fingerprint, apply with
 * progress, Ctrl-C, another process driving it, and what verification costs, said up front.
 */
import {
  applyRun, contactsToRead, databaseLabel, describeDriver, fingerprintCost, recordBefore, RunBusyError,
  type ApplyProgress, type BooksPort, type Journal, type RunRecord,
} from '../engine/index.js';
import { renderRunText } from '../engine/report/index.js';
import { systemClock } from '../client/index.js';
import type { ContactType } from '../zoho/index.js';
import { isDeadOwner, ownerId } from './actor.js';
import { explain } from './connection.js';
import { EXIT, ExitError } from './exit-codes.js';
import type { CliIO } from './io.js';
import { confirm, createProgress, formatDuration, formatInstant } from './terminal.js';
import type { Workspace } from './workspace.js';

/** What reading a fingerprint of these contacts costs: how it reads, and its calls in time and in today's quota. */
export async function readCost(journal: Journal, port: BooksPort, contacts: Map<string, ContactType>): Promise<{ how: string; cost: string }> {
  const estimate = await fingerprintCost(journal, port.organizationId, contactsToRead(contacts));
  const quota = port.quota();
  const n = estimate.calls;
  const parts = [`${estimate.estimated ? '' : 'at least '}${n} call${n === 1 ? '' : 's'}`, `about ${formatDuration((n / quota.perMinute) * 60_000)} at ${quota.perMinute} a minute`];
  if (quota.remaining !== undefined) parts.push(`${Math.max(1, Math.round((n / Math.max(1, quota.remaining)) * 100))}% of the ${quota.remaining} calls left today`);
  return { how: estimate.method === 'pages' ? 'whole transaction lists' : `one list per contact and type (${contacts.size} contacts)`, cost: parts.join(', ') };
}

/**
 * What verification costs, said before a run starts: where its "before" counts come from (the
 * scan's snapshot: nothing now; else a read now, before any change) and what `sunset verify` will
 * read afterwards, in calls, time at the organization's limit and share of today's quota.
 */
export async function verificationCost(
  journal: Journal,
  port: BooksPort,
  run: { contacts: Map<string, ContactType>; before: { source: 'read' | 'snapshot'; takenAt: number } | undefined; runId?: string },
): Promise<string> {
  const { how, cost } = await readCost(journal, port, run.contacts);
  const head = run.before
    ? `Verification: the "before" counts come from ${run.before.source === 'snapshot' ? `the scan of ${formatInstant(run.before.takenAt)}` : 'an earlier read'} (no calls now);`
    : `Verification: the "before" counts are read first, before any change (${how}: ${cost});`;
  return `${head} \`sunset verify${run.runId ? ` ${run.runId}` : ''}\` reads ${how} afterwards (${cost}).`;
}

function progressLine(p: ApplyProgress, now: number): string {
  if (p.phase === 'revalidating') return `Checking what changed since the ${p.counts.total > 0 ? 'snapshot' : 'run was made'} (incremental reads, ${p.apiCalls} calls so far)...`;
  const c = p.counts;
  const done = c.changed + c.unchanged + c.skipped + c.failed;
  const parts = [`${done}/${c.total} steps`, `${c.changed} changed`];
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  if (c.failed) parts.push(`${c.failed} failed`);
  if (p.ratePerMinute > 0) parts.push(`${p.ratePerMinute.toFixed(0)}/min`);
  if (p.waitingUntil) parts.push(`daily quota used up: waiting for its reset at ${new Date(p.waitingUntil).toISOString()} (${formatDuration(p.waitingUntil - now)})`);
  else if (p.etaMs !== undefined && p.etaMs > 0) parts.push(`ETA ${formatDuration(p.etaMs)}`);
  if (p.quota.remaining !== undefined) parts.push(`quota left ${p.quota.remaining}`);
  return parts.join(', ');
}

export interface ExecuteOptions {
  yes: boolean;
  question: string;
  concurrency?: number;
  fingerprint: boolean;
  quiet: boolean;
  json: boolean;
  /** When another process drives the run: wait for it to let go (true), or refuse (false). */
  wait?: boolean;
  /** Crash injection for tests (from SUNSET_FAILPOINT). */
  failpoint?: string;
}

/**
 * Confirms, records the before-fingerprint, applies with progress, and stops cleanly on Ctrl-C.
 * Returns the exit code.
 */
export async function executeRun(io: CliIO, workspace: Workspace, run: RunRecord, options: ExecuteOptions): Promise<number> {
  const { journal, connection } = workspace;
  const port = connection.port(run.organizationId);
  const counts = await journal.runCounts(run.runId);
  const remaining = counts.pending + counts.inFlight;
  const progress = createProgress(io, options.quiet || options.json);
  if (remaining > 0 && !(await confirm(io, options.question, options.yes))) {
    throw new ExitError(`Nothing was changed. The run ${run.runId} is saved; \`sunset apply --resume ${run.runId}\` starts it later.`);
  }
  if (options.fingerprint && !(await journal.hasFingerprint(run.runId, 'before'))) {
    try {
      await recordBefore(journal, port, run.runId, {
        now: Date.now(),
        onProgress: (p) => progress.update(`Recording the run's contacts' transaction counts and totals for \`sunset verify\`: ${p.done}${p.expected ? ` of about ${p.expected}` : ''} ${p.method === 'pages' ? 'pages' : 'lists'}...`),
      });
    } catch (error) {
      progress.done();
      throw explain(error, 'recording the before-fingerprint');
    }
  }
  const controller = new AbortController();
  let stopping = false;
  io.onStop(() => {
    stopping = true;
    progress.done('Stopping after the calls in flight...');
    controller.abort(new Error('stopped by the user'));
  });
  const owner = ownerId();
  const failpoint = parseFailpoint(options.failpoint);
  const resume = `sunset apply --resume ${run.runId}${workspace.dbPath !== 'sunset.db' ? ` --database ${databaseLabel(workspace.dbPath)}` : ''}`;
  let result;
  for (;;) {
    try {
      result = await applyRun({
        journal, port, runId: run.runId, owner, clock: systemClock,
        concurrency: options.concurrency, isDead: isDeadOwner, signal: controller.signal,
        onProgress: (p) => progress.update(progressLine(p, Date.now())),
        failpoint,
      });
      break;
    } catch (error) {
      if (error instanceof RunBusyError && options.wait && !controller.signal.aborted) {
        progress.update(`Waiting: run ${run.runId} is being applied by ${describeDriver(error.holder)}...`);
        const waited = await systemClock.sleep(2_000, controller.signal).then(() => true, () => false);
        if (waited) continue;
        progress.done();
        throw new ExitError(`Stopped while waiting for run ${run.runId}; nothing was done here.`, EXIT.interrupted);
      }
      progress.done();
      if (error instanceof RunBusyError) {
        throw new ExitError(`${error.message} Nothing was done here; wait for it (add --wait), or stop that process first.`);
      }
      const base = explain(error, `applying run ${run.runId}`);
      throw new ExitError(`${base.message}\nThe run is paused; continue with: ${resume}`);
    }
  }
  progress.done();
  const steps = await journal.steps(run.runId);
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ run: result.run, counts: result.counts, interrupted: result.interrupted, apiCalls: result.apiCalls })}\n`);
  } else {
    io.stdout.write(renderRunText(result.run, result.counts, steps, { color: io.color, limit: 10 }));
    io.stdout.write(`API calls: ${result.apiCalls}\n`);
  }
  if (result.interrupted && !stopping && result.run.driver !== null && result.run.driver.owner !== owner) {
    io.stderr.write(`Stopped: ${describeDriver(result.run.driver)} took over run ${run.runId} (this process had stalled past its lease). Nothing is half-done.\n`);
    return EXIT.failure;
  }
  if (result.interrupted || stopping) {
    io.stderr.write(`Stopped. Nothing is half-done: continue with: ${resume}\n`);
    return EXIT.interrupted;
  }
  return result.counts.failed > 0 ? EXIT.failedSteps : EXIT.ok;
}

/**
 * `SUNSET_FAILPOINT=after-call:7` kills this process with SIGKILL at that point of the 7th step it
 * handles (crash tests). Not for users.
 */
export function parseFailpoint(spec: string | undefined): Parameters<typeof applyRun>[0]['failpoint'] {
  if (!spec) return undefined;
  const [name, nth] = spec.split(':');
  const target = Number(nth ?? '1');
  let seen = 0;
  return (point) => {
    if (point !== name) return;
    seen++;
    if (seen === target) process.kill(process.pid, 'SIGKILL');
  };
}
