/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC:
 * `*`, lists `1,15`, ranges `1-5`, steps `*\/15` and `10-50/10`, month and day names (`jan`,
 * `mon`). Day of week 7 is Sunday, like 0, in every form (`7`, `5-7`, `0-7`, `1-7/2`). As in
 * classic cron, when both day fields are restricted a day matching either counts.
 */

export class CronError extends Error {
  override name = 'CronError';
}

interface Field {
  values: Set<number>;
  any: boolean;
}

export interface Cron {
  text: string;
  minute: Field;
  hour: Field;
  day: Field;
  month: Field;
  weekday: Field;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** The number of names[0] (1 for months). */
  nameBase?: number;
  /**
   * Day of week: 7 is Sunday as well as 0, so the field's numbers run 0-7 (as in classic cron): a
   * lone 7, a range ending in 7 (`5-7` is Fri, Sat, Sun), `7-7`, `0-7` (every day) and a step
   * from a start (`1/2` is `1-7/2`) are read over 0-7, then 7 is stored as 0.
   */
  sundayIsSeven?: boolean;
}

function parseField(text: string, spec: FieldSpec): Field {
  const { name, min, max, names, nameBase = 0, sundayIsSeven = false } = spec;
  // The largest number the field accepts: 7 on the day of week, which is Sunday.
  const top = sundayIsSeven ? 7 : max;
  const values = new Set<number>();
  const num = (s: string): number => {
    const lower = s.toLowerCase();
    const i = names?.indexOf(lower) ?? -1;
    if (i >= 0) return i + nameBase;
    if (!/^\d+$/.test(s)) throw new CronError(`${name}: "${s}" is not a number${names ? ` or a name (${names.slice(0, 3).join(', ')}, ...)` : ''}`);
    return Number(s);
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    if (range === undefined || range === '') throw new CronError(`${name}: empty part in "${text}"`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new CronError(`${name}: step "${stepText}" must be a whole number of at least 1`);
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = min;
      hi = top;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      lo = num(a ?? '');
      hi = num(b ?? '');
    } else {
      lo = num(range);
      hi = stepText === undefined ? lo : top;
    }
    if (lo < min || hi > top || lo > hi) {
      throw new CronError(`${name}: ${range} is outside ${min}-${max}${sundayIsSeven ? ' (7 is Sunday too)' : ''}`);
    }
    for (let v = lo; v <= hi; v += step) values.add(sundayIsSeven && v === 7 ? 0 : v);
  }
  return { values, any: text === '*' || text === '*/1' };
}

export function parseCron(text: string): Cron {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 5) throw new CronError(`a cron expression has 5 fields (minute hour day month weekday), e.g. "0 2 * * *"; got ${parts.length}`);
  const [m, h, dom, mon, dow] = parts as [string, string, string, string, string];
  return {
    text: parts.join(' '),
    minute: parseField(m, { name: 'minute', min: 0, max: 59 }),
    hour: parseField(h, { name: 'hour', min: 0, max: 23 }),
    day: parseField(dom, { name: 'day of month', min: 1, max: 31 }),
    month: parseField(mon, { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 }),
    weekday: parseField(dow, { name: 'day of week', min: 0, max: 6, names: DAYS, sundayIsSeven: true }),
  };
}

function dayMatches(cron: Cron, d: Date): boolean {
  const dom = cron.day.values.has(d.getUTCDate());
  const dow = cron.weekday.values.has(d.getUTCDay());
  if (cron.day.any && cron.weekday.any) return true;
  if (cron.day.any) return dow;
  if (cron.weekday.any) return dom;
  return dom || dow;
}

/** The first matching minute strictly after `after` (epoch ms), or undefined within 5 years. */
export function nextRun(cron: Cron, after: number): number | undefined {
  const d = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
  const limit = after + 5 * 366 * 86_400_000;
  while (d.getTime() <= limit) {
    if (!cron.month.values.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(cron, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!cron.hour.values.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!cron.minute.values.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    return d.getTime();
  }
  return undefined;
}
