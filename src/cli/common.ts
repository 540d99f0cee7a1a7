/** Flags and steps shared by the engine commands. */
import { closeSync, constants as fsConstants, fchmodSync, fstatSync, ftruncateSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import {
  applyRun, contactsToRead, describeDriver, fingerprintCost, parsePolicy, PolicyError, recordBefore, RunBusyError,
  type ApplyProgress, type BooksPort, type Journal, type Policy, type RunRecord,
} from '../engine/index.js';
import type { ContactType } from '../zoho/index.js';
import { renderRunText } from '../engine/report/index.js';
import { intFlag } from './args.js';
import {
  actorName, confirm, connect, createProgress, explain, formatDuration, isDeadOwner, openJournal, ownerId, resolveOrganization,
  type Binding, type Connection,
} from './context.js';
import { ExitError, EXIT_USAGE } from './exit-error.js';
import type { CliIO } from './main.js';

/** Flags every engine command takes (spread into parseArgs options). */
export const COMMON_FLAGS = {
  db: { type: 'string' },
  org: { type: 'string' },
  emulator: { type: 'string' },
  credentials: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  'per-minute': { type: 'string' },
  help: { type: 'boolean' },
} as const;

export const COMMON_HELP = `Common options:
  --db FILE             The journal (default ./sunset.db)
  --org ID              The organization (default: the policy's, the login's, or the only one)
  --emulator URL        Talk to a running \`sunset emulator start\` instead of Zoho
                        (\`--emulator embedded\`: the embedded one)
  --credentials FILE    Credentials from \`sunset auth login\` (default ~/.sunset/credentials.json)
  --json                Print only the result document, as JSON, on stdout
  --quiet               No progress on stderr
  --per-minute N        The organization's request limit per minute (default 100, Zoho's)
  --help                Show this help
Without credentials, commands use the embedded emulator (state in sunset-emulator.db beside the journal)
while the journal has known no other place. A command on a run or a plan uses the place it was made
(a running emulator at its address, Zoho with your credentials) and refuses any other.`;

export interface CommonValues {
  db?: string;
  org?: string;
  emulator?: string;
  credentials?: string;
  json?: boolean;
  quiet?: boolean;
  'per-minute'?: string;
}

export interface Session {
  journal: Journal;
  connection: Connection;
  dbPath: string;
  close(): Promise<void>;
}

/**
 * Opens the journal, then the connection. `bind` names the record the command acts on (a run, a
 * plan), read from the journal: the connection is the place it was made, or the command is refused.
 */
export async function openSession(
  io: CliIO,
  values: CommonValues,
  options: { perMinute?: number; bind?: (journal: Journal) => Promise<Binding | undefined>; create?: boolean } = {},
): Promise<Session> {
  const dbPath = values.db ?? 'sunset.db';
  const perMinute = options.perMinute ?? intFlag(values['per-minute'], 'per-minute', 1, 1_000_000);
  // A command on a run or a plan reads them from an existing journal: it does not make an empty one.
  const journal = await openJournal(dbPath, { create: options.create ?? options.bind === undefined });
  let connection: Connection;
  try {
    const binding = await options.bind?.(journal);
    connection = await connect(io, {
      emulatorUrl: values.emulator, credentialsFile: values.credentials, dbPath, quiet: values.quiet || values.json, perMinute,
      binding, journalTargets: await journal.targets(),
    });
  } catch (error) {
    await journal.close();
    throw error;
  }
  return {
    journal,
    connection,
    dbPath,
    async close() {
      await connection.close();
      await journal.close();
    },
  };
}

export function loadPolicy(path: string | undefined): { policy: Policy; text: string; path: string } {
  if (!path) throw new ExitError('Give a policy with --policy FILE (`sunset policy init` writes one to start from).', EXIT_USAGE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new ExitError(code === 'ENOENT' ? `${path}: no such file. \`sunset policy init ${path}\` writes one.` : `${path}: cannot read it (${code ?? String(error)}).`, EXIT_USAGE);
  }
  try {
    return { policy: parsePolicy(text, path), text, path };
  } catch (error) {
    if (error instanceof PolicyError) throw new ExitError(`The policy is not usable; nothing was done.\n${error.message}`, EXIT_USAGE);
    throw error;
  }
}

/**
 * The policy a command works with. `--policy FILE` is read and becomes the organization's policy in
 * the journal (the one `sunset serve` shows and schedules use: a file is a way to edit it); without
 * it, the organization's stored policy is used. `organizationId` resolves the organization when no
 * file names it (undefined: only one organization has a policy).
 */
export async function policyFor(
  journal: Journal,
  values: { policy?: string; org?: string },
  actor: string,
): Promise<{ policy: Policy; text: string; source: string }> {
  if (values.policy) {
    const loaded = loadPolicy(values.policy);
    if (values.org !== undefined && values.org !== loaded.policy.organizationId) {
      throw new ExitError(`--org ${values.org} differs from the policy's organization ${loaded.policy.organizationId}; a policy is for one organization. Nothing was done.`, EXIT_USAGE);
    }
    const stored = await journal.policy(loaded.policy.organizationId);
    if (stored?.text !== loaded.text) {
      await journal.savePolicy({ organizationId: loaded.policy.organizationId, text: loaded.text, updatedAt: Date.now(), updatedBy: `${actor} (from ${values.policy})` });
    }
    return { policy: loaded.policy, text: loaded.text, source: values.policy };
  }
  let organizationId = values.org;
  if (organizationId === undefined) {
    const withPolicies = await journal.policyOrganizations();
    if (withPolicies.length === 1) organizationId = withPolicies[0]!;
    else {
      throw new ExitError(withPolicies.length === 0
        ? 'No policy yet: write one with `sunset policy init FILE` and give it with --policy FILE (it is then kept in the journal for the next commands and `sunset serve`).'
        : `Name the organization with --org (policies are kept for ${withPolicies.join(', ')}), or give a policy with --policy FILE.`, EXIT_USAGE);
    }
  }
  const stored = await journal.policy(organizationId);
  if (!stored) throw new ExitError(`Organization ${organizationId} has no policy yet: give one with --policy FILE (\`sunset policy init FILE --org ${organizationId}\` writes one to start from).`, EXIT_USAGE);
  try {
    return { policy: parsePolicy(stored.text, `the stored policy of ${organizationId}`), text: stored.text, source: `the policy of organization ${organizationId} (saved ${formatInstant(stored.updatedAt)} by ${stored.updatedBy})` };
  } catch (error) {
    if (error instanceof PolicyError) throw new ExitError(`The stored policy of organization ${organizationId} is not usable; nothing was done.\n${error.message}`, EXIT_USAGE);
    throw error;
  }
}

/**
 * Writes a report, an export or a policy owner-only (0600), like the journal: reports and audit
 * exports hold customer names and amounts. A new file is created 0600 from its first byte; an
 * existing one is made 0600 before it is emptied and the new content goes in, so if that is not
 * allowed (another user's file) the old content stays as it was. Something that is not a regular
 * file (/dev/stdout, a pipe) is written as it is.
 */
export function writeOutput(path: string, content: string): void {
  const codeOf = (error: unknown): string => (error as { code?: string }).code ?? String(error);
  let fd: number;
  try {
    // No O_TRUNC: an existing file keeps its content until it is owner-only.
    fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_CREAT, 0o600);
  } catch (error) {
    throw new ExitError(`Cannot write ${path}: ${codeOf(error)}`);
  }
  try {
    if (fstatSync(fd).isFile()) {
      try {
        fchmodSync(fd, 0o600);
      } catch (error) {
        throw new ExitError(`Cannot write ${path}: it cannot be made readable by its owner only (${codeOf(error)}), and it would hold customer names and amounts. Write to a file of your own.`);
      }
      ftruncateSync(fd, 0);
    }
    writeFileSync(fd, content);
  } catch (error) {
    if (error instanceof ExitError) throw error;
    throw new ExitError(`Cannot write ${path}: ${codeOf(error)}`);
  } finally {
    closeSync(fd);
  }
}

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

/** `2026-12-02 10:04 UTC`. */
export function formatInstant(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
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
export async function executeRun(io: CliIO, session: Session, run: RunRecord, options: ExecuteOptions): Promise<number> {
  const { journal, connection } = session;
  const port = connection.port(run.organizationId);
  const counts = await journal.runCounts(run.runId);
  const remaining = counts.pending + counts.inFlight;
  const progress = createProgress(io, options.quiet || options.json);
  if (remaining > 0 && !(await confirm(io, options.question, options.yes))) {
    io.stderr.write(`Nothing was changed. The run ${run.runId} is saved; \`sunset apply --resume ${run.runId}\` starts it later.\n`);
    return 1;
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
  const resume = `sunset apply --resume ${run.runId}${session.dbPath !== 'sunset.db' ? ` --db ${session.dbPath}` : ''}`;
  let result;
  for (;;) {
    try {
      result = await applyRun({
        journal, port, runId: run.runId, owner, clock: { now: Date.now, sleep: (ms, signal) => sleep(ms, signal) },
        concurrency: options.concurrency, isDead: isDeadOwner, signal: controller.signal,
        onProgress: (p) => progress.update(progressLine(p, Date.now())),
        failpoint,
      });
      break;
    } catch (error) {
      if (error instanceof RunBusyError && options.wait && !controller.signal.aborted) {
        progress.update(`Waiting: run ${run.runId} is being applied by ${describeDriver(error.holder)}...`);
        const waited = await sleep(2_000, controller.signal).then(() => true, () => false);
        if (waited) continue;
        progress.done();
        return 130;
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
    io.stdout.write(renderRunText(result.run, result.counts, steps, { color: io.stdout.isTTY === true, limit: 10 }));
    io.stdout.write(`API calls: ${result.apiCalls}\n`);
  }
  if (result.interrupted && !stopping && result.run.driver !== null && result.run.driver.owner !== owner) {
    io.stderr.write(`Stopped: ${describeDriver(result.run.driver)} took over run ${run.runId} (this process had stalled past its lease). Nothing is half-done.\n`);
    return 1;
  }
  if (result.interrupted || stopping) {
    io.stderr.write(`Stopped. Nothing is half-done: continue with: ${resume}\n`);
    return 130;
  }
  return result.counts.failed > 0 ? 1 : 0;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
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

export { actorName, resolveOrganization, explain };
