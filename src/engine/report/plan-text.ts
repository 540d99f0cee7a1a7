/**
 * The plan as a terminal summary (the dry run's output): what the plan looked at, what it would
 * change, what it leaves alone and why, and a small histogram of active contacts by months since
 * their last activity. ANSI colour only when asked; no trailing spaces; contact names are made
 * safe for a terminal (control characters cannot move the cursor or recolour the screen).
 */
import type { HistogramBucket, Plan } from '../types.js';
import { EXCLUSION_REASONS, EXCLUSION_REASON_LABELS } from './plan-json.js';

export interface PlanTextOptions {
  color: boolean;
  /** How many steps to list; default 10. */
  limit?: number;
}

const STYLES = {
  bold: '\u001b[1m',
  dim: '\u001b[2m',
  red: '\u001b[31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
  blue: '\u001b[34m',
} as const;
const RESET = '\u001b[0m';

export type TextStyle = keyof typeof STYLES;
export type Paint = (style: TextStyle, text: string) => string;

/** A function that wraps text in an ANSI style, or returns it as is when colour is off. */
export function painter(color: boolean): Paint {
  return (style, text) => (color && text !== '' ? `${STYLES[style]}${text}${RESET}` : text);
}

/** Text from data made safe for a terminal: no control characters, no bidirectional overrides. */
export function terminalSafe(text: string): string {
  return text
    .replace(/[\t\n\r]+/g, ' ')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '\ufffd');
}

/** At most `max` characters (code points), with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** 12345 → `12,345`. */
export function formatCount(n: number): string {
  const sign = n < 0 ? '-' : '';
  return sign + String(Math.abs(Math.trunc(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 1234.5 → `1,234.50`; -3 → `-3.00`. */
export function formatMoney(n: number): string {
  const fixed = Math.abs(n).toFixed(2);
  const [whole = '0', cents = '00'] = fixed.split('.');
  const sign = n < 0 && fixed !== '0.00' ? '-' : '';
  return `${sign}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${cents}`;
}

/** Epoch ms → `2024-06-01 09:30 UTC`. */
export function formatInstant(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** A whole number from an option, at least 0; `fallback` when absent or not a number. */
export function resolveLimit(limit: number | undefined, fallback = 10): number {
  return limit === undefined || !Number.isFinite(limit) ? fallback : Math.max(0, Math.floor(limit));
}

/** Lines joined with LF, trailing whitespace removed, one final newline. */
export function joinLines(lines: string[]): string {
  return `${lines.map((l) => l.replace(/[ \t]+$/, '')).join('\n')}\n`;
}

const BAR_WIDTH = 40;
const BAR = { deactivate: '█', excluded: '▓', kept: '░' } as const;
const BAR_STYLE: Record<keyof typeof BAR, TextStyle> = { deactivate: 'red', excluded: 'blue', kept: 'green' };
export const NONE_BUCKET_LABEL = 'no activity in window';

function histogramLines(buckets: HistogramBucket[], paint: Paint): string[] {
  const lines = [
    paint('bold', 'Active contacts by months since last activity'),
    `  ${paint(BAR_STYLE.deactivate, BAR.deactivate)} deactivate  ${paint(BAR_STYLE.excluded, BAR.excluded)} excluded  ${paint(BAR_STYLE.kept, BAR.kept)} kept`,
  ];
  const max = Math.max(0, ...buckets.map((b) => b.deactivate + b.excluded + b.kept));
  if (max === 0) return [...lines, '  (no active contacts)'];
  // Runs of empty month buckets are folded into one line ("3-7").
  const rows: Array<{ label: string; bucket: HistogramBucket | undefined }> = [];
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i]!;
    const total = b.deactivate + b.excluded + b.kept;
    if (b.label === 'none') {
      rows.push({ label: NONE_BUCKET_LABEL, bucket: b });
      continue;
    }
    if (total > 0) {
      rows.push({ label: b.label, bucket: b });
      continue;
    }
    let j = i;
    while (j + 1 < buckets.length && buckets[j + 1]!.label !== 'none' && buckets[j + 1]!.deactivate + buckets[j + 1]!.excluded + buckets[j + 1]!.kept === 0) j++;
    rows.push({ label: j === i ? b.label : `${b.label}-${buckets[j]!.label}`, bucket: undefined });
    i = j;
  }
  const width = Math.max(...rows.map((r) => r.label.length));
  for (const { label, bucket } of rows) {
    const parts = (['deactivate', 'excluded', 'kept'] as const).filter((k) => (bucket?.[k] ?? 0) > 0);
    const bar = parts
      .map((k) => paint(BAR_STYLE[k], BAR[k].repeat(Math.max(1, Math.round((bucket![k] * BAR_WIDTH) / max)))))
      .join('');
    const total = bucket ? bucket.deactivate + bucket.excluded + bucket.kept : 0;
    const described = parts.length === 0 ? '0' : parts.length === 1 ? `${formatCount(total)} ${parts[0]}` : `${formatCount(total)} (${parts.map((k) => `${formatCount(bucket![k])} ${k}`).join(', ')})`;
    lines.push(`  ${label.padEnd(width)}  ${bar}${bar ? ' ' : ''}${described}`);
  }
  return lines;
}

export function renderPlanText(plan: Plan, options: PlanTextOptions): string {
  const paint = painter(options.color);
  const limit = resolveLimit(options.limit);
  const s = plan.summary;
  const numbers = [s.contactsConsidered, s.active, s.inactive, s.recentlyActive, s.dormant, s.steps.deactivate, s.steps.activate, plan.exclusionCount,
    ...Object.values(s.excluded)];
  const numberWidth = Math.max(...numbers.map((n) => formatCount(n ?? 0).length));
  const labelWidth = Math.max(18, ...EXCLUSION_REASONS.map((r) => EXCLUSION_REASON_LABELS[r].length + 6));
  const count = (label: string, n: number, indent = 2): string => `${' '.repeat(indent)}${label.padEnd(labelWidth - indent)}${formatCount(n).padStart(numberWidth)}`;
  const field = (label: string, value: string): string => `  ${label.padEnd(labelWidth - 2)}${value}`;

  const lines: string[] = [
    `${paint('bold', 'Sunset plan')} ${plan.planId}`,
    field('organization', plan.organizationId),
    field('as of', formatInstant(plan.asOf)),
    field('cutoff date', `${plan.cutoffDate} (activity on or after it counts)`),
    field('snapshot', plan.snapshotId),
    '',
    paint('bold', 'Contacts'),
    count('considered', s.contactsConsidered),
    count('active', s.active),
    count('inactive', s.inactive),
    count('recently active', s.recentlyActive),
    count('dormant', s.dormant),
    '',
    paint('bold', 'Steps'),
    count('deactivate', s.steps.deactivate),
    count('activate', s.steps.activate),
    '',
    // Padded before painting, so escape codes do not count towards the width.
    `${paint('bold', 'Excluded contacts'.padEnd(labelWidth))}${formatCount(plan.exclusionCount).padStart(numberWidth)}`,
  ];
  for (const reason of EXCLUSION_REASONS) {
    const n = s.excluded[reason];
    if (n) lines.push(count(EXCLUSION_REASON_LABELS[reason], n, 4));
  }
  if (plan.exclusionCount > 0 && Object.values(s.excluded).reduce((a, b) => a + (b ?? 0), 0) > plan.exclusionCount) {
    lines.push(paint('dim', '    (a contact can be excluded for more than one reason)'));
  }
  lines.push('', ...histogramLines(s.histogram, paint), '');

  if (plan.steps.length === 0) {
    lines.push(paint('bold', 'No steps: this plan changes nothing.'));
  } else {
    const shown = plan.steps.slice(0, limit);
    lines.push(paint('bold', shown.length < plan.steps.length ? `Steps (first ${formatCount(shown.length)} of ${formatCount(plan.steps.length)})` : `Steps (${formatCount(plan.steps.length)})`));
    const idWidth = Math.max(0, ...shown.map((st) => st.contactId.length));
    for (const st of shown) {
      const action = paint(st.action === 'deactivate' ? 'red' : 'green', st.action.padEnd(10));
      lines.push(`  ${action}  ${st.contactId.padEnd(idWidth)}  ${truncate(terminalSafe(st.contactName), 40)}  ${paint('dim', `- ${terminalSafe(st.reason)}`)}`);
    }
    if (shown.length < plan.steps.length) lines.push(`  … and ${formatCount(plan.steps.length - shown.length)} more`);
  }
  return joinLines(lines);
}
