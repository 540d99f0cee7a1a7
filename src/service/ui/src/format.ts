/**
 * Numbers, money, dates and durations in the reader's language and time zone. Ids are never
 * formatted: they are strings end to end.
 */

/** Epoch ms, an ISO string or a `yyyy-mm-dd` day; `day` is true for date-only values. */
export interface ParsedTime {
  date: Date;
  day: boolean;
}

export function toDate(value: string | number | null | undefined): ParsedTime | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? { date: new Date(value), day: false } : null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const d = new Date(`${value}T00:00:00Z`);
    return Number.isNaN(d.getTime()) ? null : { date: d, day: true };
  }
  // Zoho writes offsets as +0000; Date.parse wants +00:00.
  const d = new Date(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(d.getTime()) ? null : { date: d, day: false };
}

/** "42 s", "3 min", "2 h 5 min"; "—" for no time. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export interface Format {
  count(n: number | null | undefined): string;
  /** "3 contacts", "1 contact". */
  plural(n: number, one: string, many?: string): string;
  /** Steps per minute: one decimal at most. */
  rate(n: number): string;
  /** Money in the organization's currency, always two decimals; '' for none. */
  money(n: number | null | undefined): string;
  /** Whole cents as money. */
  cents(n: number | null | undefined): string;
  /** A time as the reader says it: `datetime` (date and time), `date`, and `yyyy-mm-dd` days as days (in UTC). */
  time(t: ParsedTime, style?: 'datetime' | 'date'): string;
  /** "in 3 hours", "2 days ago". */
  relative(ms: number): string;
  /** An instant as a clock in `timeZone` (IANA): "Tue, 3 Mar 2026, 02:00 GMT+5:30"; the reader's own zone without one. */
  zoned(ms: number, timeZone?: string): string;
  /** The reader's time zone (the browser's), e.g. "Europe/London". */
  readonly viewerTimeZone: string;
  /** Names compared as people sort them (case-insensitive, numbers by value). */
  compare(a: string, b: string): number;
}

/**
 * The reader's formatters. Each Intl object is made on first use: the first one loads the locale
 * data (tens of ms), which should happen while a view's requests are in flight, not before they go.
 */
export function createFormat(locale?: string): Format {
  const made = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat | Intl.Collator>();
  const once = <T extends Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat | Intl.Collator>(key: string, make: () => T): T => {
    let value = made.get(key) as T | undefined;
    if (!value) {
      value = make();
      made.set(key, value);
    }
    return value;
  };
  const countFmt = () => once('count', () => new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }));
  const rateFmt = () => once('rate', () => new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }));
  const moneyFmt = () => once('money', () => new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
  const dateTimeFmt = () => once('datetime', () => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }));
  const dateFmt = () => once('date', () => new Intl.DateTimeFormat(locale, { dateStyle: 'medium' }));
  const dayFmt = () => once('day', () => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' }));
  const relFmt = () => once('relative', () => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }));
  const collator = () => once('collator', () => new Intl.Collator(locale, { sensitivity: 'base', numeric: true }));

  // One per zone: the settings page shows a schedule's runs in its organization's zone and the reader's.
  const zonedFmt = (timeZone: string | undefined) => once(`zoned:${timeZone ?? ''}`, () => {
    const options: Intl.DateTimeFormatOptions = { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'shortOffset' };
    try {
      return new Intl.DateTimeFormat(locale, { ...options, ...(timeZone ? { timeZone } : {}) });
    } catch {
      // A zone this browser does not know: say the time in UTC (with its offset) rather than nothing.
      return new Intl.DateTimeFormat(locale, { ...options, timeZone: 'UTC' });
    }
  });
  const count = (n: number | null | undefined): string => countFmt().format(typeof n === 'number' && Number.isFinite(n) ? n : 0);
  const money = (n: number | null | undefined): string => (typeof n === 'number' && Number.isFinite(n) ? moneyFmt().format(n) : '');
  return {
    count,
    plural: (n, one, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`,
    rate: (n) => rateFmt().format(n),
    money,
    cents: (n) => money((Number(n) || 0) / 100),
    time: (t, style = 'datetime') => (t.day ? dayFmt() : style === 'date' ? dateFmt() : dateTimeFmt()).format(t.date),
    relative(ms) {
      const diff = ms - Date.now();
      const abs = Math.abs(diff);
      if (abs < 60_000) return relFmt().format(Math.round(diff / 1000), 'second');
      if (abs < 3_600_000) return relFmt().format(Math.round(diff / 60_000), 'minute');
      if (abs < 172_800_000) return relFmt().format(Math.round(diff / 3_600_000), 'hour');
      return relFmt().format(Math.round(diff / 86_400_000), 'day');
    },
    compare: (a, b) => collator().compare(a, b),
    zoned: (ms, timeZone) => zonedFmt(timeZone).format(ms),
    get viewerTimeZone() {
      return dateTimeFmt().resolvedOptions().timeZone;
    },
  };
}
