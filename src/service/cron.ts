/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC:
 * `*`, lists `1,15`, ranges `1-5`, steps `*\/15` and `10-50/10`, month and day names (`jan`,
 * `mon`). As in classic cron, when both day fields are restricted a day matching either counts.
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

function parseField(text: string, name: string, min: number, max: number, names?: string[], nameBase = 0): Field {
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
      hi = max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      lo = num(a ?? '');
      hi = num(b ?? '');
    } else {
      lo = num(range);
      hi = stepText === undefined ? lo : max;
      // A lone 7 is Sunday, like 0.
      if (name === 'day of week' && lo === 7 && hi === 7) lo = hi = 0;
    }
    if (name === 'day of week') {
      if (lo === 7) lo = 0;
      if (hi === 7 && lo !== 0) hi = 7;
    }
    const top = name === 'day of week' ? 7 : max;
    if (lo < min || hi > top || lo > hi) throw new CronError(`${name}: ${range} is outside ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) values.add(name === 'day of week' && v === 7 ? 0 : v);
  }
  return { values, any: text === '*' || text === '*/1' };
}

export function parseCron(text: string): Cron {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 5) throw new CronError(`a cron expression has 5 fields (minute hour day month weekday), e.g. "0 2 * * *"; got ${parts.length}`);
  const [m, h, dom, mon, dow] = parts as [string, string, string, string, string];
  return {
    text: parts.join(' '),
    minute: parseField(m, 'minute', 0, 59),
    hour: parseField(h, 'hour', 0, 23),
    day: parseField(dom, 'day of month', 1, 31),
    month: parseField(mon, 'month', 1, 12, MONTHS, 1),
    weekday: parseField(dow, 'day of week', 0, 6, DAYS, 0),
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
