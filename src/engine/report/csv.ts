/**
 * CSV cells and rows (RFC 4180) that are safe to open in a spreadsheet.
 *
 * - A string cell is quoted when it holds a comma, a double quote, CR or LF; quotes are doubled.
 * - Formula injection: a string cell starting with `=`, `+`, `-`, `@`, tab or CR gets a leading
 *   apostrophe, so a contact named `=HYPERLINK(...)` is shown as text, not run.
 * - A number cell is written as the number itself (`-12.5`), never prefixed: pass numbers as
 *   numbers, not as pre-formatted strings. Non-finite numbers and `null` give an empty cell.
 * - Rows end with CRLF (`CSV_EOL`), the last one too.
 */

export type CsvValue = string | number | null;

export const CSV_EOL = '\r\n';

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell, quoted and neutralised as needed. */
export function csvCell(value: CsvValue): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row, without its line ending. */
export function csvRow(cells: CsvValue[]): string {
  return cells.map(csvCell).join(',');
}

/** A whole document: every row followed by CRLF. */
export function csvDocument(rows: CsvValue[][]): string {
  return rows.map((cells) => csvRow(cells) + CSV_EOL).join('');
}
