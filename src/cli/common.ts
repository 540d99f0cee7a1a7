/** Flags and steps shared by the engine commands. */
import { closeSync, constants as fsConstants, fchmodSync, fstatSync, ftruncateSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import {
  applyRun, parsePolicy, PolicyError, recordBefore, type ApplyProgress, type Journal, type Policy, type RunRecord,
} from '../engine/index.js';
import { renderRunText } from '../engine/report/index.js';
import { intFlag } from './args.js';
import {
  actorName, confirm, connect, createProgress, explain, formatDuration, isDeadOwner, openJournal, ownerId, resolveOrganization,
  type Connection,
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
  --credentials FILE    Credentials from \`sunset auth login\` (default ~/.sunset/credentials.json)
  --json                Print only the result document, as JSON, on stdout
  --quiet               No progress on stderr
  --per-minute N        The organization's request limit per minute (default 100, Zoho's)
  --help                Show this help
Without credentials, commands use the embedded emulator (state in sunset-emulator.db beside the journal).`;

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

export async function openSession(io: CliIO, values: CommonValues, options: { perMinute?: number } = {}): Promise<Session> {
  const dbPath = values.db ?? 'sunset.db';
  const perMinute = options.perMinute ?? intFlag(values['per-minute'], 'per-minute', 1, 1_000_000);
  const journal = await openJournal(dbPath);
  let connection: Connection;
  try {
    connection = await connect(io, { emulatorUrl: values.emulator, credentialsFile: values.credentials, dbPath, quiet: values.quiet || values.json, perMinute });
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

function progressLine(p: ApplyProgress, now: number): string {
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
    progress.update('Recording each contact\'s transaction counts and totals, so `sunset verify` can prove nothing was lost...');
    try {
      await recordBefore(journal, port, run.runId);
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
  let result;
  try {
    result = await applyRun({
      journal, port, runId: run.runId, owner, clock: { now: Date.now, sleep: (ms, signal) => sleep(ms, signal) },
      concurrency: options.concurrency, isDead: isDeadOwner, signal: controller.signal,
      onProgress: (p) => progress.update(progressLine(p, Date.now())),
      failpoint,
    });
  } catch (error) {
    progress.done();
    const base = explain(error, `applying run ${run.runId}`);
    throw new ExitError(`${base.message}\nThe run is paused; continue with: sunset apply --resume ${run.runId}${session.dbPath !== 'sunset.db' ? ` --db ${session.dbPath}` : ''}`);
  }
  progress.done();
  const steps = await journal.steps(run.runId);
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ run: result.run, counts: result.counts, interrupted: result.interrupted, apiCalls: result.apiCalls })}\n`);
  } else {
    io.stdout.write(renderRunText(result.run, result.counts, steps, { color: io.stdout.isTTY === true, limit: 10 }));
    io.stdout.write(`API calls: ${result.apiCalls}\n`);
  }
  if (result.interrupted || stopping) {
    io.stderr.write(`Stopped. Nothing is half-done: continue with: sunset apply --resume ${run.runId}${session.dbPath !== 'sunset.db' ? ` --db ${session.dbPath}` : ''}\n`);
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
