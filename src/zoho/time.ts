/**
 * Zoho's time formats (reference §1): timestamps `2024-03-05T12:06:10+0530` (offset without a
 * colon) and dates `yyyy-mm-dd`. Offsets are given in minutes east of UTC.
 */

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Formats an epoch-millisecond instant in the given offset: `2024-03-05T12:06:10+0530`. */
export function formatZohoTimestamp(epochMs: number, offsetMinutes: number): string {
  const local = new Date(epochMs + offsetMinutes * 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return (
    `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/** The calendar date (`yyyy-mm-dd`) of an instant in the given offset. */
export function formatZohoDate(epochMs: number, offsetMinutes: number): string {
  const local = new Date(epochMs + offsetMinutes * 60_000);
  return `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Parses a Zoho timestamp, an ISO 8601 timestamp or a bare date. A value without an offset is read
 * in `defaultOffsetMinutes`. Returns epoch milliseconds, or undefined when the text is not a time.
 */
export function parseZohoTime(text: string, defaultOffsetMinutes = 0): number | undefined {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', zone] = m;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = defaultOffsetMinutes;
  if (zone === 'Z') offset = 0;
  else if (zone !== undefined) {
    const digits = zone.replace(':', '');
    const sign = digits.startsWith('-') ? -1 : 1;
    offset = sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCDate() !== day) return undefined; // 2024-02-31 and the like
  return utc - offset * 60_000;
}

/** True when the text is a real calendar date `yyyy-mm-dd`. */
export function isZohoDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && parseZohoTime(text) !== undefined;
}
