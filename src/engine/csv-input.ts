/**
 * A manual run's changes from a CSV file: a header with `contact_id` (required) and optionally `action`
 * (activate | deactivate), `contact_name`, `reason`. Parsed strictly (RFC 4180); any problem
 * refuses the whole file, with its line numbers.
 *
 * Zoho Books' own contact export is accepted as it is: header names are matched ignoring case,
 * spaces and underscores (`Contact ID` is contact_id; `Display Name` or `Contact Name` is
 * contact_name), the separator is read from the header line (`,`, or `;` or a tab as some locales
 * export), and a leading BOM is skipped. A file whose id column is spelt otherwise than
 * `contact_id` (Zoho's `Contact ID`) is taken as such an export: its other columns, dozens in
 * Zoho's, are ignored. In Sunset's own format (`contact_id`) an unknown column is refused, so a
 * misspelt `reasn` is not silently dropped.
 */
import { isZohoId } from '../zoho/index.js';
import type { ContactChange } from './runs.js';
import type { StepAction } from './types.js';
import { oneLine } from './one-line.js';

export class CsvInputError extends Error {
  override name = 'CsvInputError';
  constructor(readonly file: string, readonly problems: Array<{ line: number; message: string }>) {
    super(problems.slice(0, 20).map((p) => `${file}:${p.line}: ${p.message}`).join('\n') + (problems.length > 20 ? `\n... and ${problems.length - 20} more problems` : ''));
  }
}


export type CsvSeparator = ',' | ';' | '\t';

/**
 * The separator of a CSV file, read from its header line (outside quotes): the most frequent of
 * `,` `;` and tab; on a tie the comma, then the semicolon; a comma when there is none (a one-column file).
 */
export function detectSeparator(text: string): CsvSeparator {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of src) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && (ch === ',' || ch === ';' || ch === '\t')) counts[ch]++;
  }
  if (counts[';'] > counts[','] && counts[';'] >= counts['\t']) return ';';
  if (counts['\t'] > counts[','] && counts['\t'] > counts[';']) return '\t';
  return ',';
}

/** Rows of an RFC 4180 document (with `separator` between cells), each with the line it starts on. */
export function parseCsv(text: string, separator: CsvSeparator = ','): Array<{ line: number; cells: string[] }> | { error: string; line: number } {
  const rows: Array<{ line: number; cells: string[] }> = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let afterQuote = false;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    if (quoted) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          cell += '"';
          i++;
        } else {
          quoted = false;
          afterQuote = true;
        }
      } else {
        // A line break inside a quoted cell still ends a line of the file: LF, CRLF or a bare CR.
        if (ch === '\n' || (ch === '\r' && src[i + 1] !== '\n')) line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (cell !== '' || afterQuote) return { error: 'a quote in the middle of an unquoted cell', line };
      quoted = true;
    } else if (ch === separator) {
      cells.push(cell);
      cell = '';
      afterQuote = false;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && src[i + 1] === '\n') i++;
      cells.push(cell);
      if (!(cells.length === 1 && cells[0] === '')) rows.push({ line: rowLine, cells });
      cells = [];
      cell = '';
      afterQuote = false;
      line++;
      rowLine = line;
    } else {
      if (afterQuote) return { error: 'text after a closing quote', line };
      cell += ch;
    }
  }
  if (quoted) return { error: 'a quoted cell is never closed', line: rowLine };
  cells.push(cell);
  if (!(cells.length === 1 && cells[0] === '')) rows.push({ line: rowLine, cells });
  return rows;
}

type Column = 'contact_id' | 'action' | 'contact_name' | 'reason';
/** Header names without case, spaces and underscores → the column they stand for (Zoho's names included). */
const COLUMNS = new Map<string, Column>([
  ['contactid', 'contact_id'], ['action', 'action'], ['contactname', 'contact_name'], ['displayname', 'contact_name'], ['reason', 'reason'],
]);

function columnOf(name: string): Column | undefined {
  return COLUMNS.get(name.replace(/[\s_]+/g, '').toLowerCase());
}

export function parseChangesCsv(text: string, file: string, defaultAction: StepAction | undefined): ContactChange[] {
  if (text.includes('\u0000')) throw new CsvInputError(file, [{ line: 1, message: 'this is not a text file' }]);
  const parsed = parseCsv(text, detectSeparator(text));
  if (!Array.isArray(parsed)) throw new CsvInputError(file, [{ line: parsed.line, message: `not valid CSV: ${parsed.error}` }]);
  if (parsed.length === 0) throw new CsvInputError(file, [{ line: 1, message: 'the file is empty; it needs a header row with contact_id' }]);
  const header = parsed[0]!.cells.map((h) => h.trim().toLowerCase());
  const columns = parsed[0]!.cells.map(columnOf);
  // Header names quoted in a problem keep it on one line (a quoted cell can hold a line break).
  const names = (list: string[]): string => list.map(oneLine).join(', ');
  // The first column of each kind counts (a later one of the same kind is ignored).
  const col = (name: Column): number => columns.indexOf(name);
  const idCol = col('contact_id');
  const problems: Array<{ line: number; message: string }> = [];
  if (idCol < 0) throw new CsvInputError(file, [{ line: parsed[0]!.line, message: `the header needs a contact_id column (found: ${names(header) || 'nothing'})` }]);
  // Zoho's export (`Contact ID`) has dozens of other columns; Sunset's own format has only its four.
  const zohoExport = header[idCol] !== 'contact_id';
  const known = ['contact_id', 'action', 'contact_name', 'reason'];
  const unknown = zohoExport ? [] : header.filter((_, i) => columns[i] === undefined);
  if (unknown.length > 0) problems.push({ line: parsed[0]!.line, message: `unknown column${unknown.length > 1 ? 's' : ''} ${names(unknown)}; use ${known.join(', ')}` });
  const actionCol = col('action');
  if (actionCol < 0 && defaultAction === undefined) problems.push({ line: parsed[0]!.line, message: 'add an action column (activate or deactivate), or use `sunset contacts activate|deactivate --from`' });
  const changes: ContactChange[] = [];
  const seen = new Map<string, { line: number; action: StepAction }>();
  for (const row of parsed.slice(1)) {
    if (row.cells.length !== header.length) {
      problems.push({ line: row.line, message: `${row.cells.length} cells, but the header has ${header.length}` });
      continue;
    }
    const id = row.cells[idCol]!.trim();
    if (!isZohoId(id)) {
      problems.push({ line: row.line, message: `${oneLine(JSON.stringify(id))} is not a Zoho contact id (15 to 19 digits)` });
      continue;
    }
    let action = defaultAction;
    if (actionCol >= 0) {
      const a = row.cells[actionCol]!.trim().toLowerCase();
      if (a === 'activate' || a === 'deactivate') action = a;
      else if (a === '' && defaultAction) action = defaultAction;
      else {
        problems.push({ line: row.line, message: `action ${oneLine(JSON.stringify(a))} is not activate or deactivate` });
        continue;
      }
      if (defaultAction && action !== defaultAction) {
        problems.push({ line: row.line, message: `action ${action} contradicts the command (${defaultAction})` });
        continue;
      }
    }
    if (!action) continue;
    const before = seen.get(id);
    if (before && before.action !== action) {
      problems.push({ line: row.line, message: `contact ${id} is also set to ${before.action} on line ${before.line}` });
      continue;
    }
    // The same change listed again: one change (its first line's name and reason).
    if (before) continue;
    seen.set(id, { line: row.line, action });
    const name = col('contact_name') >= 0 ? row.cells[col('contact_name')]!.trim() : undefined;
    const reason = col('reason') >= 0 ? row.cells[col('reason')]!.trim() : undefined;
    changes.push({ contactId: id, action, contactName: name || undefined, reason: reason || undefined });
  }
  if (problems.length > 0) throw new CsvInputError(file, problems);
  if (changes.length === 0) throw new CsvInputError(file, [{ line: parsed[0]!.line, message: 'no contacts listed under the header' }]);
  return changes;
}
