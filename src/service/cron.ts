/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in an
 * organization's time zone (IANA, e.g. `Asia/Kolkata`; UTC by default): `*`, lists `1,15`, ranges
 * `1-5`, steps `*\/15` and `10-50/10`, month and day names (`jan`, `mon`). Day of week 7 is
 * Sunday, like 0, in every form (`7`, `5-7`, `0-7`, `1-7/2`). As in classic cron, when both day
 * fields are restricted a day matching either counts. `describeCron` says a parsed expression in
 * English (the settings page shows it as you type).
 *
 * Two parts, each doing what it is good at. Sunset's own parser decides what an expression means:
 * which minutes, hours, days and months (its errors and its English are the product's; croner
 * accepts more, such as `L`, `#`, `?`, seconds and nicknames, that Sunset neither says in English
 * nor wants saved). croner, a kept library, decides when that is in a time zone: calendars, time
 * zone offsets and daylight saving. It is handed the parsed values as plain lists, never the text,
 * so the two cannot read an expression differently.
 *
 * Daylight saving (croner's rules, which are Vixie cron's): an expression whose minute and hour
 * fields name clock times (no `*`: `30 2 * * *`, `0 2,14 * * *`, `0 9-17 * * 1-5`) runs each of
 * those times once a day: a time the clock skips (spring forward) runs when the clock jumps, at
 * 03:00 for 02:30; a time the clock repeats (fall back) runs at its first occurrence. An expression
 * with `*` in its minute or hour field (`*\/15 * * * *`, `0 * * * *`) is a rhythm in real time:
 * skipped times do not run, a repeated hour runs twice.
 */
import { Cron as Croner } from 'croner';

export class CronError extends Error {
  override name = 'CronError';
}

interface Field {
  values: Set<number>;
  any: boolean;
  /** The field has a `*` (`*`, `*\/15`): in the minute or hour field, the schedule is a rhythm, not clock times. */
  star: boolean;
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
  return { values, any: text === '*' || text === '*/1', star: text.includes('*') };
}

export function parseCron(text: string): Cron {
  const parts = text.trim() === '' ? [] : text.trim().split(/\s+/);
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

/** The zone schedules are evaluated in when an organization's is not known. */
export const UTC = 'UTC';

const list0 = (values: Set<number>): string => [...values].sort((a, b) => a - b).join(',');

/**
 * The expression as croner reads it: six fields (seconds first), each a plain list of the values
 * Sunset's parser found, or `*` where Sunset's field is "any" (so the day fields combine as in
 * classic cron). Seconds are always 0; for a rhythm they are written `0-0/1`, which is 0 as well,
 * because croner tells clock times from rhythms by a `*` or `/` in those three fields
 * (`fixedTimeRule: 'no-wildcard'`).
 */
function cronerPattern(cron: Cron): string {
  const seconds = cron.minute.star || cron.hour.star ? '0-0/1' : '0';
  const field = (f: Field): string => (f.any ? '*' : list0(f.values));
  return [seconds, list0(cron.minute.values), list0(cron.hour.values), field(cron.day), field(cron.month), field(cron.weekday)].join(' ');
}

/** How far ahead a next time is looked for: an expression with nothing in 5 years (31 April) never runs. */
const HORIZON_MS = 5 * 366 * 86_400_000;

/**
 * The first time the expression names strictly after `after` (epoch ms), read in `timeZone` (an
 * IANA name), or undefined within 5 years.
 */
export function nextRun(cron: Cron, after: number, timeZone: string = UTC): number | undefined {
  const job = new Croner(cronerPattern(cron), { timezone: timeZone, mode: '6-part', domAndDow: false, fixedTimeRule: 'no-wildcard', stopAt: new Date(after + HORIZON_MS) });
  const next = job.nextRun(new Date(after));
  return next === null ? undefined : next.getTime();
}

/** The next `count` times after `after` (fewer when the expression runs less often than that in 5 years). */
export function nextRuns(cron: Cron, after: number, count: number, timeZone: string = UTC): number[] {
  const times: number[] = [];
  for (let t = nextRun(cron, after, timeZone); t !== undefined && times.length < count; t = nextRun(cron, t, timeZone)) times.push(t);
  return times;
}

/**
 * A schedule's next `count` runs as they will happen: counted from its last run (or its save,
 * `last`; null: from now). A run already due (the service was down, or has not checked since) comes
 * first, at the time it was due; the service runs it at its next check and counts on from then, so
 * the runs after it are those after `now`.
 */
export function upcomingRuns(cron: Cron, last: number | null, now: number, count: number, timeZone: string = UTC): number[] {
  const first = count > 0 ? nextRun(cron, last ?? now, timeZone) : undefined;
  if (first === undefined) return [];
  return [first, ...nextRuns(cron, Math.max(first, now), count - 1, timeZone)];
}

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
/** Monday first: people say "Saturday and Sunday", not "Sunday and Saturday". */
const WEEK = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

const sorted = (values: Iterable<number>): number[] => [...values].sort((a, b) => a - b);
const two = (n: number): string => String(n).padStart(2, '0');

/** "a", "a and b", "a, b and c". */
function joinAnd(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The step of three or more evenly spaced values (0, 15, 30, 45 → 15), else undefined. */
function stepOf(values: number[]): number | undefined {
  if (values.length < 3) return undefined;
  const step = values[1]! - values[0]!;
  return step > 1 && values.every((v, i) => i === 0 || v - values[i - 1]! === step) ? step : undefined;
}

/** Consecutive values (one counts). */
const isRun = (values: number[]): boolean => values.length > 0 && values[values.length - 1]! - values[0]! === values.length - 1;

/**
 * Sorted values in words: runs of three or more read "X to Y" (Monday to Friday, 1 to 7 and 15),
 * a long evenly spaced list is cut short (1, 3, 5, …, 31).
 */
function list(values: number[], name: (n: number) => string = String): string {
  if (values.length > 5 && stepOf(values) !== undefined) return `${values.slice(0, 3).map(name).join(', ')}, …, ${name(values[values.length - 1]!)}`;
  const parts: string[] = [];
  for (let i = 0; i < values.length;) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    if (j - i >= 2) parts.push(`${name(values[i]!)} to ${name(values[j]!)}`);
    else for (let k = i; k <= j; k++) parts.push(name(values[k]!));
    i = j + 1;
  }
  return joinAnd(parts);
}

/**
 * When in the day: clock times ("at 02:00 UTC") or a repeating phrase ("every 15 minutes"); clock
 * times name their zone (`zone` is " UTC" or " Asia/Kolkata time").
 */
function timeOfDay(cron: Cron, zone: string): { at: string } | { repeat: string } {
  const minutes = sorted(cron.minute.values);
  const hours = sorted(cron.hour.values);
  const m0 = minutes[0]!;
  const mLast = minutes[minutes.length - 1]!;
  const h0 = hours[0]!;
  const hLast = hours[hours.length - 1]!;
  const clock = (h: number, m: number): string => `${two(h)}:${two(m)}`;
  if (!cron.minute.any && !cron.hour.any && minutes.length * hours.length <= 6) {
    return { at: `at ${joinAnd(hours.flatMap((h) => minutes.map((m) => clock(h, m))))}${zone}` };
  }
  // Within an hour. Evenly spaced minutes that also space evenly into the next hour are a rhythm.
  const minuteStep = stepOf(minutes);
  const rhythm = minuteStep !== undefined && m0 + 60 - mLast === minuteStep;
  let within: string;
  if (cron.minute.any) within = 'every minute';
  else if (rhythm) within = m0 === 0 ? `every ${minuteStep} minutes` : `every ${minuteStep} minutes from minute ${m0}`;
  else within = `at minute${minutes.length > 1 ? 's' : ''} ${list(minutes)}`;
  if (cron.hour.any) return { repeat: cron.minute.any || rhythm ? within : `every hour ${within}` };
  if (minutes.length === 1) {
    const hourStep = stepOf(hours);
    if (hourStep !== undefined && h0 + 24 - hLast === hourStep) return { repeat: `every ${hourStep} hours at minute ${m0}${h0 === 0 ? '' : `, from ${clock(h0, m0)}${zone}`}` };
    // (A single hour has at most 6 times here, so it was said as clock times above.)
    if (isRun(hours)) return { repeat: `every hour from ${clock(h0, m0)} to ${clock(hLast, m0)}${zone}` };
    if (hourStep !== undefined) return { repeat: `every ${hourStep} hours from ${clock(h0, m0)} to ${clock(hLast, m0)}${zone}` };
    return { at: `at ${list(hours, (h) => clock(h, m0))}${zone}` };
  }
  if (isRun(hours)) return { repeat: `${within} from ${clock(h0, m0)} to ${clock(hLast, mLast)}${zone}` };
  return { repeat: `${within} in the hours starting ${list(hours, (h) => clock(h, 0))}${zone}` };
}

/** Which days: "every day", "every Monday to Friday", "on day 1 of every month", with months. */
function daysOf(cron: Cron): string {
  const months = cron.month.any ? '' : list(sorted(cron.month.values), (m) => MONTH_NAMES[m - 1]!);
  const dayList = sorted(cron.day.values);
  const days = `${dayList.length > 1 ? 'days' : 'day'} ${list(dayList)}`;
  const weekdays = list(sorted([...cron.weekday.values].map((d) => (d + 6) % 7)), (i) => WEEK[i]!);
  const inMonths = months ? ` in ${months}` : '';
  if (cron.day.any && cron.weekday.any) return `every day${inMonths}`;
  if (cron.day.any) return `every ${weekdays}${inMonths}`;
  const ofMonths = months ? `of ${months}` : 'of every month';
  // Both day fields restricted: as in classic cron, a day matching either counts.
  if (!cron.weekday.any) return `on ${days} ${ofMonths} and every ${weekdays}${inMonths}`;
  return `on ${days} ${ofMonths}`;
}

const capital = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/** How a clock time names its zone: "02:00 UTC", "02:00 Asia/Kolkata time". */
const zoneSuffix = (timeZone: string): string => (timeZone === UTC ? ' UTC' : ` ${timeZone} time`);

/**
 * A parsed expression in English, its clock times in `timeZone`: "Every Monday to Friday at 06:30
 * UTC.", "Every day at 02:00 Australia/Sydney time."
 */
export function describeCron(cron: Cron, timeZone: string = UTC): string {
  const time = timeOfDay(cron, zoneSuffix(timeZone));
  const days = daysOf(cron);
  if ('at' in time) return `${capital(days)} ${time.at}.`;
  return days === 'every day' ? `${capital(time.repeat)}.` : `${capital(time.repeat)}, ${days}.`;
}
