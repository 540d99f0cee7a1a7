/**
 * A run as a terminal summary: who made it and when, where it stands, its step counts, and (when
 * the steps are given) the skipped and failed steps with their reasons and errors.
 */
import type { RunStatus } from '../runs.js';
import { describeTarget } from '../target.js';
import type { RunCounts, RunRecord, StepRecord } from '../types.js';
import { formatCount, formatInstant, joinLines, painter, resolveLimit, terminalSafe, truncate, type TextStyle } from './plan-text.js';

export interface RunTextOptions {
  color: boolean;
  /** How many skipped (and how many failed) steps to list; default 10. */
  limit?: number;
  /** The run's status as people read it (`runStatus`: `interrupted` when no live process drives it); default its state. */
  status?: RunStatus;
  /** The latest verification, when there is one. */
  verification?: { verifiedAt: number; ok: boolean } | undefined;
}

const STATE_STYLE: Record<RunStatus, TextStyle> = {
  pending: 'dim', running: 'yellow', paused: 'yellow', done: 'green', failed: 'red', cancelled: 'dim', interrupted: 'red',
};

/** 65_000 → `1m 5s`. */
function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

export function renderRunText(run: RunRecord, counts: RunCounts, steps?: StepRecord[], options: RunTextOptions = { color: false }): string {
  const paint = painter(options.color);
  const limit = resolveLimit(options.limit);
  const field = (label: string, value: string): string => `  ${label.padEnd(14)}${value}`;
  const status = options.status ?? run.state;
  const lines: string[] = [
    `${paint('bold', 'Sunset run')} ${run.runId}  ${paint(STATE_STYLE[status], status)}`,
    field('kind', run.kind),
    field('organization', run.organizationId),
  ];
  if (run.target !== '') lines.push(field('where', describeTarget(run.target)));
  if (status === 'running' && run.driver) {
    const [host, pid] = run.driver.owner.split(':');
    lines.push(field('applied by', `process ${pid ?? '?'} on ${host ?? '?'} since ${formatInstant(run.driver.since)}`));
  } else if (status === 'interrupted') {
    lines.push(field('interrupted', 'no process is applying it (its process stopped or was killed); `sunset apply --resume` continues it'));
  }
  if (run.planId !== null) lines.push(field('plan', run.planId));
  if (run.undoOf !== null) lines.push(field('undo of', run.undoOf));
  lines.push(field('created', `${formatInstant(run.createdAt)} by ${terminalSafe(run.createdBy)}`));
  lines.push(field('started', run.startedAt === null ? 'not yet' : formatInstant(run.startedAt)));
  if (run.finishedAt !== null) {
    const took = run.startedAt === null ? '' : ` (took ${formatDuration(run.finishedAt - run.startedAt)})`;
    lines.push(field('finished', `${formatInstant(run.finishedAt)}${took}`));
  } else {
    lines.push(field('finished', 'not yet'));
  }
  if (run.note.trim() !== '') lines.push(field('note', terminalSafe(run.note)));
  if (options.verification) {
    lines.push(field('verified', `${formatInstant(options.verification.verifiedAt)}: ${options.verification.ok ? 'no history lost' : 'DIFFERENCES (run sunset verify for them)'}`));
  }

  const width = Math.max(...[counts.total, counts.changed, counts.unchanged, counts.skipped, counts.failed, counts.pending, counts.inFlight].map((n) => formatCount(n).length));
  const count = (label: string, n: number, style?: TextStyle): string => {
    const text = `  ${label.padEnd(14)}${formatCount(n).padStart(width)}`;
    return style && n > 0 ? paint(style, text) : text;
  };
  lines.push(
    '',
    paint('bold', 'Steps'),
    count('total', counts.total),
    count('changed', counts.changed, 'green'),
    count('unchanged', counts.unchanged),
    count('skipped', counts.skipped, 'yellow'),
    count('failed', counts.failed, 'red'),
    count('pending', counts.pending),
    count('in flight', counts.inFlight),
  );

  if (steps) {
    const section = (title: string, style: TextStyle, list: StepRecord[], why: (s: StepRecord) => string): void => {
      if (list.length === 0) return;
      const shown = list.slice(0, limit);
      lines.push('', paint(style, paint('bold', shown.length < list.length ? `${title} (first ${formatCount(shown.length)} of ${formatCount(list.length)})` : `${title} (${formatCount(list.length)})`)));
      const idWidth = Math.max(0, ...shown.map((s) => s.contactId.length));
      for (const s of shown) {
        lines.push(`  #${String(s.seq).padEnd(5)} ${s.action.padEnd(10)}  ${s.contactId.padEnd(idWidth)}  ${truncate(terminalSafe(s.contactName), 40)}`);
        lines.push(`         ${paint('dim', truncate(terminalSafe(why(s)), 200))}`);
      }
      if (shown.length < list.length) lines.push(`  … and ${formatCount(list.length - shown.length)} more`);
    };
    section('Skipped', 'yellow', steps.filter((s) => s.state === 'skipped'), (s) => s.skipReason ?? 'no reason recorded');
    section('Failed', 'red', steps.filter((s) => s.state === 'failed'), (s) => `${s.lastError ?? 'no error recorded'} (attempts: ${s.attempts})`);
  }
  return joinLines(lines);
}
