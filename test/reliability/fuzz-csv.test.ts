/**
 * Bad input, part 2: the bulk-change CSV importer (src/engine/csv-input.ts `parseChangesCsv`, behind
 * `sunset contacts activate|deactivate --from FILE.csv`), property-based with fast-check on fixed,
 * printed seeds.
 *
 * 1. Model-based: a CSV is generated as rows of cells (ids valid or not: short, 20+ digits, letters,
 *    formula prefixes, unicode digits, padded; actions; names and reasons with quotes, commas,
 *    line breaks and formula prefixes; wrong cell counts; blank lines; duplicated ids), under
 *    Sunset's header names or Zoho's export's (`Contact ID`, `Display Name`, and Zoho's other
 *    columns), written out with `,`, `;` or tab between cells, random quoting, LF / CRLF / CR line
 *    ends and an optional BOM. An independent oracle (the documented rules: a contact_id header,
 *    names matched ignoring case, spaces and underscores, unknown columns refused except in Zoho's
 *    export, ids of 15 to 19 digits, actions that agree with the command) says whether the file is
 *    usable: the parser must then return exactly those changes (each contact once), or refuse with
 *    a CsvInputError naming exactly the bad lines.
 * 2. Mutation-based: valid files with characters flipped, deleted or inserted (quotes, CR, BOM, NUL,
 *    long digit runs) and random bytes: either a clean list of changes (ids of 15 to 19 digits found
 *    in the text, each once, the command's action) or a CsvInputError naming lines that exist.
 *    Never another exception.
 * 3. End to end: the built CLI (dist/cli/main.js, `npm run build`) runs `sunset contacts deactivate
 *    --from bad.csv --yes` against a `sunset emulator start` subprocess for a few dozen malformed
 *    files whose good lines name real active contacts: exit 2, a clean message naming the file and
 *    line, and the emulator's request log shows no status change. One valid file at the end shows
 *    the check would see a change.
 *
 * Found and fixed (regressions below): a contact listed twice was two changes (the CLI asked to
 * confirm a count too high); a bare CR inside a quoted cell did not count as a line, so later
 * problems named the wrong line; a header cell with a line break split a problem over two lines.
 *
 * Each property prints `[fuzz NAME] N cases tried (seed S); outcomes: ...`. `SUNSET_SOAK=1` runs
 * 20 times as many cases.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvInputError, parseChangesCsv } from '../../src/engine/csv-input.js';
import type { ContactChange } from '../../src/engine/runs.js';
import type { StepAction } from '../../src/engine/types.js';
import { cleanRefusal, createHarness, deactivatable, type EmulatorProcess, type Exit } from '../helpers/cli.js';

const SOAK = process.env.SUNSET_SOAK === '1' ? 20 : 1;
const SEED = 20_260_611;
const FILE = 'fuzz.csv';
const KNOWN = ['contact_id', 'action', 'contact_name', 'reason'];
/** The documented header names: case, spaces and underscores aside, these (Zoho's export's included). */
const COLUMN_NAMES: Record<string, string> = { contactid: 'contact_id', action: 'action', contactname: 'contact_name', displayname: 'contact_name', reason: 'reason' };
function columnOf(name: string): string | undefined {
  const key = [...name].filter((ch) => !/\s/.test(ch) && ch !== '_').join('').toLowerCase();
  return Object.hasOwn(COLUMN_NAMES, key) ? COLUMN_NAMES[key] : undefined;
}
/** Where a header's contact id column is (the first one), or -1. */
function idColumn(header: string[]): number {
  return header.findIndex((h) => columnOf(h) === 'contact_id');
}
/** Zoho's own columns, which only its export (a `Contact ID` header) may carry. */
const ZOHO_OTHERS = ['Contact Type', 'Status', 'Company Name', 'Created Time', 'EmailID', 'Currency Code'];
/** What README and `sunset contacts --help` call a Zoho contact id. */
const ZOHO_ID = /^[0-9]{15,19}$/;

function summary(counts: Map<string, number>): string {
  return [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}×${n}`).join(' ');
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Lines as an editor counts them (CRLF, CR or LF each end one). */
/** What a `FILE:LINE: message` line of a refusal is about. */
function problemKind(line: string): string {
  const kinds: Array<[RegExp, string]> = [
    [/not valid CSV/, 'CSV syntax'], [/is not a Zoho contact id/, 'bad id'], [/cells, but the header has/, 'cell count'],
    [/unknown column/, 'unknown column'], [/needs a contact_id/, 'no contact_id'], [/add an action column/, 'no action column'],
    [/contradicts the command|is not activate or deactivate|is also set to/, 'action'], [/no contacts listed/, 'no rows'], [/not a text file/, 'not text'],
  ];
  return kinds.find(([re]) => re.test(line))?.[1] ?? 'other';
}

function lineCount(text: string): number {
  return text.split(/\r\n|\r|\n/).length;
}

// ---------------------------------------------------------------------------------------------
// The model: a CSV as rows of cells, written out, and what the documented rules make of it
// ---------------------------------------------------------------------------------------------

interface Row {
  cells: string[];
  /** Quote each cell even when it does not need it. */
  quote: boolean[];
  /** The line end after the row. */
  eol: string;
}

interface CsvCase {
  verb: StepAction | undefined;
  /** Between cells; `;` and tab only with two or more columns (the parser reads it from the header line). */
  sep: ',' | ';' | '\t';
  bom: boolean;
  header: Row;
  rows: Row[];
  /** No line end after the last row. */
  noFinalEol: boolean;
}

function renderCell(cell: string, quote: boolean, sep: string): string {
  const must = /["\r\n]/.test(cell) || cell.includes(sep);
  return must || quote ? `"${cell.replace(/"/g, '""')}"` : cell;
}

function renderRow(row: Row, sep: string): string {
  return row.cells.map((c, i) => renderCell(c, row.quote[i] ?? false, sep)).join(sep);
}

/** The file's text, and the line each row starts on (counted in the final text, as an editor would). */
function render(c: CsvCase): { text: string; lines: number[] } {
  let text = c.bom ? '\uFEFF' : '';
  const starts: number[] = [];
  const all = [c.header, ...c.rows];
  all.forEach((row, i) => {
    starts.push(text.length);
    text += renderRow(row, c.sep);
    if (i < all.length - 1 || !c.noFinalEol) text += row.eol;
  });
  const body = c.bom ? text.slice(1) : text;
  const lines = starts.map((s) => lineCount(body.slice(0, Math.max(0, s - (c.bom ? 1 : 0)))));
  return { text, lines };
}

type Expected = { changes: ContactChange[] } | { lines: number[] };

/**
 * The documented rules, written independently of the parser: a header with contact_id (names
 * matched ignoring case, spaces and underscores; the first column of each kind counts), only known
 * columns unless the id column is spelt otherwise than `contact_id` (Zoho's export, whose other
 * columns are ignored), every row as many cells as the header, every id 15 to 19 digits, every
 * action activate or deactivate and the command's (blank means the command's), no contact both
 * activated and deactivated; a contact listed twice is changed once. A row that is one empty cell
 * is a blank line.
 */
function oracle(c: CsvCase, lines: number[]): Expected {
  const isBlank = (r: Row): boolean => r.cells.length === 1 && r.cells[0] === '';
  const columns = c.header.cells.map(columnOf);
  const headerLine = lines[0]!;
  const idAt = idColumn(c.header.cells);
  if (idAt < 0) return { lines: [headerLine] };
  const zohoExport = c.header.cells[idAt]!.trim().toLowerCase() !== 'contact_id';
  const bad = new Set<number>();
  if (!zohoExport && columns.some((h) => h === undefined)) bad.add(headerLine);
  const actionAt = columns.indexOf('action');
  if (actionAt < 0 && c.verb === undefined) bad.add(headerLine);
  const nameAt = columns.indexOf('contact_name');
  const reasonAt = columns.indexOf('reason');
  const changes: ContactChange[] = [];
  const seen = new Map<string, StepAction>();
  c.rows.forEach((row, i) => {
    if (isBlank(row)) return;
    const line = lines[i + 1]!;
    if (row.cells.length !== columns.length) return void bad.add(line);
    const id = row.cells[idAt]!.trim();
    if (!ZOHO_ID.test(id)) return void bad.add(line);
    let action: StepAction | undefined = c.verb;
    if (actionAt >= 0) {
      const a = row.cells[actionAt]!.trim().toLowerCase();
      if (a === 'activate' || a === 'deactivate') {
        if (c.verb !== undefined && a !== c.verb) return void bad.add(line);
        action = a;
      } else if (!(a === '' && c.verb !== undefined)) return void bad.add(line);
    }
    if (action === undefined) return;
    const before = seen.get(id);
    if (before !== undefined && before !== action) return void bad.add(line);
    if (before !== undefined) return;
    seen.set(id, action);
    const name = nameAt >= 0 ? row.cells[nameAt]!.trim() : '';
    const reason = reasonAt >= 0 ? row.cells[reasonAt]!.trim() : '';
    changes.push({ contactId: id, action, contactName: name || undefined, reason: reason || undefined });
  });
  if (bad.size > 0) return { lines: [...bad].sort((a, b) => a - b) };
  if (changes.length === 0) return { lines: [headerLine] };
  return { changes };
}

const ID_POOL = ['318543400000000158', '3185434000000001581', '3185434000000001582', '100000000000000', '9999999999999999999', '0000000000000000'];

const idCell: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ID_POOL) },
  { weight: 4, arbitrary: fc.stringMatching(/^[0-9]{15,19}$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[0-9]{1,14}$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[0-9]{20,60}$/) },
  { weight: 1, arbitrary: fc.constantFrom(...ID_POOL).map((id) => ` ${id}\t`) },
  { weight: 1, arbitrary: fc.constantFrom(...ID_POOL).map((id) => `\u00A0${id}\uFEFF`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('=', '+', '-', '@', '\t', "'", '0x', '#'), fc.constantFrom(...ID_POOL)).map(([p, id]) => `${p}${id}`) },
  { weight: 2, arbitrary: fc.constantFrom(
    '', ' ', 'abc', '3185434000000x01581', '3.185434e18', '3185434000000001581.0', '-3185434000000001581', '3185434000000001581,', '"3185434000000001581"',
    '３１８５４３４０００００００１５８１', '٣١٨٥٤٣٤٠٠٠٠٠٠٠٠١٥٨١', '3185434000000001581\n', '=HYPERLINK("http://x","3185434000000001581")', 'null', 'undefined', 'NaN',
  ) },
  { weight: 1, arbitrary: fc.string({ maxLength: 24, unit: 'binary' }) },
);
const actionCell: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('deactivate', 'activate', '', 'Deactivate', ' DEACTIVATE ', 'activate ') },
  { weight: 1, arbitrary: fc.constantFrom('deactivated', 'inactive', 'delete', '=activate', 'de-activate', 'ACTIVATE\n', 'true', '1') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const textCell: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', 'Acme Ltd', 'Smith, Jones & Co', 'He said "hi"', 'line\nbreak', 'cr\ronly', 'crlf\r\nend', '=cmd|\' /C calc\'!A0', '+SUM(A1)', '-2+3', '@import', ' padded ', '日本語', '🙂'),
  fc.string({ maxLength: 30, unit: 'grapheme' }),
  fc.string({ maxLength: 20, unit: 'binary' }).map((s) => s.split('\u0000').join('')),
);
const headerName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...KNOWN) },
  { weight: 2, arbitrary: fc.constantFrom('Contact_ID', ' contact_id ', 'ACTION', 'Contact_Name ', 'REASON') },
  { weight: 2, arbitrary: fc.constantFrom('Contact ID', 'CONTACT ID', ' contact  id ', 'ContactID', 'Display Name', 'display_name', 'Contact Name', 'Re ason', ...ZOHO_OTHERS) },
  { weight: 1, arbitrary: fc.constantFrom('notes', 'id', 'contactid', 'contact id', '', '\uFEFFcontact_id', 'status', 'contact-id', 'display', 'contact_ids') },
);
const eol = fc.oneof({ weight: 6, arbitrary: fc.constant('\n') }, { weight: 4, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constant('\r') });

const csvCase: fc.Arbitrary<CsvCase> = fc.record({
  verb: fc.constantFrom<StepAction | undefined>('deactivate', 'deactivate', 'activate', undefined),
  bom: fc.boolean(),
  columns: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom<string[]>(['contact_id'], ['contact_id', 'contact_name'], ['contact_id', 'action'], ['contact_id', 'action', 'contact_name', 'reason'], ['reason', 'contact_id']) },
    { weight: 2, arbitrary: fc.uniqueArray(headerName, { minLength: 1, maxLength: 5, selector: (h) => h.trim().toLowerCase() }) },
    { weight: 1, arbitrary: fc.array(headerName, { minLength: 1, maxLength: 5 }) },
  ),
  headerQuote: fc.array(fc.boolean(), { maxLength: 5 }),
  sep: fc.constantFrom<CsvCase['sep']>(',', ',', ';', '\t'),
  headerEol: eol,
  /** Half the files use only good ids and actions, so that some are usable and duplicates meet. */
  clean: fc.boolean(),
  rows: fc.array(fc.record({
    shape: fc.oneof({ weight: 12, arbitrary: fc.constant('ok' as const) }, { weight: 1, arbitrary: fc.constantFrom('blank' as const, 'extra' as const, 'missing' as const) }),
    id: idCell, action: actionCell, text: fc.array(textCell, { minLength: 5, maxLength: 5 }),
    goodId: fc.oneof(fc.constantFrom(...ID_POOL), fc.stringMatching(/^[0-9]{15,19}$/), fc.constantFrom(...ID_POOL).map((id) => ` ${id} `)),
    goodAction: fc.constantFrom('', 'same', ' SAME '),
    quote: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    eol,
  }), { maxLength: 12 }),
  noFinalEol: fc.boolean(),
}).filter((r) => !(r.columns.length === 1 && r.columns[0] === '')).map((r): CsvCase => {
  // Ids under every id column and actions under every action column, whatever their spelling.
  const norm = r.columns.map((h) => columnOf(h) ?? h.trim().toLowerCase());
  const rows: Row[] = r.rows.map((spec) => {
    if (spec.shape === 'blank') return { cells: [''], quote: [false], eol: spec.eol };
    let text = 0;
    // A good action: blank (the command's) or the command's verb in any case; without a verb, deactivate.
    const goodAction = spec.goodAction === '' && r.verb !== undefined ? '' : spec.goodAction.replace(/same/i, (m) => (m === 'SAME' ? (r.verb ?? 'deactivate').toUpperCase() : r.verb ?? 'deactivate'));
    const cells = norm.map((h) => (h === 'contact_id' ? (r.clean ? spec.goodId : spec.id) : h === 'action' ? (r.clean ? goodAction : spec.action) : spec.text[text++ % 5]!));
    if (spec.shape === 'extra' && !r.clean) cells.push(spec.text[4]!);
    if (spec.shape === 'missing' && !r.clean) cells.pop();
    if (cells.length === 0) cells.push('');
    return { cells, quote: spec.quote, eol: spec.eol };
  });
  // A one-column header holds no separator to read, so such a file is read with commas.
  const sep = r.columns.length > 1 ? r.sep : ',';
  return { verb: r.verb, sep, bom: r.bom, header: { cells: r.columns, quote: r.headerQuote, eol: r.headerEol }, rows, noFinalEol: r.noFinalEol };
});

// ---------------------------------------------------------------------------------------------
// The weak property every text must satisfy
// ---------------------------------------------------------------------------------------------

type Outcome = { changes: ContactChange[] } | { error: CsvInputError };

function parse(text: string, verb: StepAction | undefined): Outcome {
  try {
    return { changes: parseChangesCsv(text, FILE, verb) };
  } catch (error) {
    if (error instanceof CsvInputError) return { error };
    throw new Error(`parseChangesCsv threw ${String(error)} (not a CsvInputError) for ${JSON.stringify(text.slice(0, 400))}`, { cause: error });
  }
}

/** A clean list of changes, or a CsvInputError naming lines that exist; returns the outcome's name. */
function checkAny(text: string, verb: StepAction | undefined): string {
  const shown = `verb ${verb}, input (${text.length} chars): ${JSON.stringify(text.slice(0, 500))}`;
  const out = parse(text, verb);
  if ('error' in out) {
    const { problems, message } = out.error;
    expect(out.error.file, shown).toBe(FILE);
    expect(problems.length, shown).toBeGreaterThan(0);
    const lines = lineCount(text);
    const wrong = problems.filter((p) => !(Number.isInteger(p.line) && p.line >= 1 && p.line <= lines && typeof p.message === 'string' && p.message.trim() !== ''));
    expect(wrong, `${shown}\nproblems with a line outside 1..${lines} or no message`).toEqual([]);
    // The message names FILE:LINE for each problem (the first 20, then how many more).
    const shownLines = message.split('\n');
    expect(shownLines[0], shown).toMatch(/^fuzz\.csv:\d+: \S/);
    // One line per problem (a cell with a line break must not start a fake `FILE:LINE:` line).
    expect(shownLines.length, `${shown}\n${message}`).toBe(Math.min(problems.length, 20) + (problems.length > 20 ? 1 : 0));
    expect(/[\r\u0085\u2028\u2029]/.test(message), `${shown}\na line break inside a problem`).toBe(false);
    for (const p of problems.slice(0, 20)) expect(message, shown).toContain(`${FILE}:${p.line}: ${p.message}`);
    if (problems.length > 20) expect(shownLines.at(-1), shown).toBe(`... and ${problems.length - 20} more problems`);
    return 'refused';
  }
  const { changes } = out;
  expect(changes.length, shown).toBeGreaterThan(0);
  const bad = changes.filter((c) => !ZOHO_ID.test(c.contactId) || !text.includes(c.contactId) || (verb !== undefined && c.action !== verb) || (c.action !== 'activate' && c.action !== 'deactivate'));
  expect(bad, `${shown}\nchanges that are not a Zoho id from the file with the command's action`).toEqual([]);
  expect(new Set(changes.map((c) => c.contactId)).size, `${shown}\neach contact once`).toBe(changes.length);
  return 'changes';
}

// ---------------------------------------------------------------------------------------------
// Mutations of valid files
// ---------------------------------------------------------------------------------------------

type Mutation =
  | { kind: 'flip'; at: number; ch: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'duplicate-line'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), ch: fc.oneof(fc.constantFrom('"', ',', '\r', '\n', '\uFEFF', '\u0000', ' ', 'x', '9', '=', '\t'), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(
    fc.constantFrom('"', '""', '","', '\r\n', '\r', '\n\n', '\uFEFF', '\u0000', '=', '+', '@', ',', ',,', 'deactivate', 'activate'),
    fc.stringMatching(/^[0-9]{1,40}$/),
    fc.string({ maxLength: 8, unit: 'binary' }),
  ) }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
);

function mutate(text: string, m: Mutation): string {
  switch (m.kind) {
    case 'flip': {
      if (text.length === 0) return m.ch;
      const i = m.at % text.length;
      return text.slice(0, i) + m.ch + text.slice(i + 1);
    }
    case 'delete': {
      const i = m.at % (text.length + 1);
      return text.slice(0, i) + text.slice(i + m.length);
    }
    case 'insert': {
      const i = m.at % (text.length + 1);
      return text.slice(0, i) + m.text + text.slice(i);
    }
    case 'duplicate-line': {
      const lines = text.split('\n');
      const i = m.at % lines.length;
      lines.splice(i, 0, lines[i]!);
      return lines.join('\n');
    }
  }
}

const VALID_FILES = [
  'contact_id\n3185434000000001581\n3185434000000001582\n',
  'contact_id,action,contact_name,reason\r\n3185434000000001581,deactivate,"Acme, Ltd","closed ""for good"""\r\n100000000000000,,Bob,\r\n',
  '\uFEFFContact_ID,Reason\n3185434000000001581,"multi\nline reason"\n9999999999999999999,=SUM(A1)\n',
  'reason,contact_id\r"why",318543400000000158\r',
  // Zoho's contact export: its header names, `;` (or tab) between cells, a BOM, columns Sunset ignores.
  '\uFEFFCreated Time;Display Name;Company Name;Contact ID;Contact Type;Status\r\n2024-01-05 10:00:00;"Acme; Ltd";Acme;3185434000000001581;vendor;Active\r\n2024-02-05 10:00:00;Bob;;100000000000000;customer;Active\r\n',
  'Contact ID\tContact Name\tOutstanding Payable Amount\n3185434000000001581\tHarbor\t828,79\n9999999999999999999\t"Tab\tName"\t0\n',
];

const mutatedFile: fc.Arbitrary<string> = fc.tuple(fc.constantFrom(...VALID_FILES), fc.array(mutation, { minLength: 1, maxLength: 5 }))
  .map(([start, ms]) => ms.reduce(mutate, start));

const anyFile: fc.Arbitrary<{ source: string; text: string }> = fc.oneof(
  { weight: 5, arbitrary: mutatedFile.map((text) => ({ source: 'mutated', text })) },
  { weight: 2, arbitrary: fc.string({ maxLength: 200, unit: 'binary' }).map((text) => ({ source: 'random', text })) },
  { weight: 2, arbitrary: fc.array(fc.oneof(fc.constantFrom('contact_id', 'action', 'deactivate', ',', '"', '\n', '\r\n', '\r', '\uFEFF', '=', ' '), fc.stringMatching(/^[0-9]{10,22}$/)), { maxLength: 40 }).map((p) => ({ source: 'tokens', text: p.join('') })) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom('3185434000000001581', '12', '"x"', '')).map(([n, id]) => ({ source: 'long', text: `contact_id\n${`${id}\n`.repeat(n)}` })) },
  { weight: 1, arbitrary: fc.stringMatching(/^[0-9]{20,5000}$/).map((id) => ({ source: 'long id', text: `contact_id\n${id}\n` })) },
);

// ---------------------------------------------------------------------------------------------

describe('the CSV importer under bad input (property-based, fixed seed)', () => {
  it(`${2000 * SOAK} generated files (seed ${SEED}): exactly the changes the documented rules give, or a CsvInputError naming exactly the bad lines`, () => {
    const runs = 2000 * SOAK;
    let cases = 0;
    const outcomes = new Map<string, number>();
    const shapes = new Map<string, number>();
    fc.assert(
      fc.property(csvCase, (c) => {
        cases++;
        const { text, lines } = render(c);
        // A NUL anywhere: not a text file (line 1), whatever else the file holds.
        const expected: Expected = text.includes('\u0000') ? { lines: [1] } : oracle(c, lines);
        const shown = `verb ${c.verb}, text ${JSON.stringify(text)}\nexpected ${JSON.stringify(expected)}`;
        const kind = checkAny(text, c.verb);
        const out = parse(text, c.verb);
        if ('changes' in expected) {
          expect('changes' in out ? out.changes : (out as { error: Error }).error.message, shown).toStrictEqual(expected.changes);
        } else {
          expect('error' in out, `${shown}\ngot ${JSON.stringify(out)}`).toBe(true);
          const got = [...new Set((out as { error: CsvInputError }).error.problems.map((p) => p.line))].sort((a, b) => a - b);
          expect(got, `${shown}\n${(out as { error: Error }).error.message}`).toEqual(expected.lines);
        }
        const ids = c.rows.filter((r) => r.cells.length > 1 || r.cells[0] !== '').map((r) => r.cells[idColumn(c.header.cells)]?.trim());
        const duplicated = new Set(ids).size < ids.length;
        bump(outcomes, kind === 'changes' ? (duplicated ? 'changes (an id listed twice)' : 'changes') : 'refused');
        // Which of the new rules the file exercised: its separator, and Zoho's export's header.
        const idAt = idColumn(c.header.cells);
        const format = idAt < 0 ? 'no id column' : c.header.cells[idAt]!.trim().toLowerCase() === 'contact_id' ? 'sunset' : 'zoho export';
        bump(shapes, `${format} ${c.sep === '\t' ? 'tab' : c.sep}/${kind}`);
      }),
      { seed: SEED, numRuns: runs },
    );
    console.log(`[fuzz csv] ${cases} cases tried (seed ${SEED}); outcomes: ${summary(outcomes)}; shapes: ${summary(shapes)}`);
    expect(cases).toBe(runs);
    expect(outcomes.get('changes') ?? 0).toBeGreaterThan(runs / 20);
    expect(outcomes.get('refused') ?? 0).toBeGreaterThan(runs / 20);
    // Usable files of each separator and of Zoho's export reach the oracle's exact comparison.
    for (const shape of ['sunset ,/changes', 'sunset ;/changes', 'sunset tab/changes', 'zoho export ,/changes', 'zoho export ;/changes', 'zoho export tab/changes', 'zoho export ;/refused']) {
      expect(shapes.get(shape) ?? 0, shape).toBeGreaterThan(runs / 400);
    }
  });

  it(`${2000 * SOAK} mutated and random files (seed ${SEED + 1}): a clean list of changes or a CsvInputError naming lines that exist`, () => {
    const runs = 2000 * SOAK;
    let cases = 0;
    const outcomes = new Map<string, number>();
    fc.assert(
      fc.property(anyFile, fc.constantFrom<StepAction | undefined>('deactivate', 'activate', undefined), ({ source, text }, verb) => {
        cases++;
        bump(outcomes, `${source}/${checkAny(text, verb)}`);
      }),
      { seed: SEED + 1, numRuns: runs },
    );
    console.log(`[fuzz csv-mutated] ${cases} cases tried (seed ${SEED + 1}); outcomes: ${summary(outcomes)}`);
    expect(cases).toBe(runs);
  });

  it('regressions: duplicated ids, CR inside a quoted cell, NUL, 20+ digit ids, line breaks in quoted cells', () => {
    // The same contact twice with the same action is one change (the count the CLI asks to confirm).
    const dup = parseChangesCsv('contact_id,reason\n3185434000000001581,first\n3185434000000001582,\n3185434000000001581,second\n', FILE, 'deactivate');
    expect(dup).toStrictEqual([
      { contactId: '3185434000000001581', action: 'deactivate', contactName: undefined, reason: 'first' },
      { contactId: '3185434000000001582', action: 'deactivate', contactName: undefined, reason: undefined },
    ]);
    // A bare CR inside a quoted cell ends a line too: the bad id is on line 3.
    const cr = parse('contact_id,reason\n3185434000000001581,"a\rb"\n12,x\n', 'deactivate');
    expect('error' in cr && cr.error.problems).toEqual([{ line: 4, message: '"12" is not a Zoho contact id (15 to 19 digits)' }]);
    expect('error' in parse('contact_id\n3185434000000001581\u0000\n', 'deactivate')).toBe(true);
    const long = parse('contact_id\n31854340000000015810\n', 'deactivate');
    expect('error' in long && long.error.problems.map((p) => p.line)).toEqual([2]);
    // A line break in a header cell or a cell quoted in a problem is escaped: one problem, one line.
    const header = parse('"contact\nfuzz.csv:9: fake",x\n1,2\n', 'deactivate');
    expect('error' in header && header.error.message).toBe('fuzz.csv:1: the header needs a contact_id column (found: contact\\nfuzz.csv:9: fake, x)');
    const action = parse('contact_id,action\n3185434000000001581,"de\u2028activate"\n', undefined);
    expect('error' in action && action.error.message).toBe('fuzz.csv:2: action "de\\u2028activate" is not activate or deactivate');
  });

  it('Zoho\'s own contact export: BOM, `;` or tab between cells, its header names, its other columns ignored; errors still name the line', () => {
    const zoho = parse('\uFEFFCreated Time;Display Name;Company Name;Contact ID;Contact Type;Outstanding Payable Amount\r\n'
      + '2024-01-05 10:00:00;"Acme; Ltd";Acme;3185434000000001581;customer;0,00\r\n2024-01-06 10:00:00;Harbor;;100000000000000;vendor;828,79\r\n', 'deactivate');
    expect(zoho).toStrictEqual({ changes: [
      { contactId: '3185434000000001581', action: 'deactivate', contactName: 'Acme; Ltd', reason: undefined },
      { contactId: '100000000000000', action: 'deactivate', contactName: 'Harbor', reason: undefined },
    ] });
    const tab = parse('contact  ID\tCONTACT NAME\tStatus\n3185434000000001581\t"Tab\tName"\tActive\n', 'activate');
    expect(tab).toStrictEqual({ changes: [{ contactId: '3185434000000001581', action: 'activate', contactName: 'Tab\tName', reason: undefined }] });
    const semi = parse('Contact ID;Display Name\n3185434000000001581;A\n12;B\n3185434000000001582;C;extra\n', 'deactivate');
    expect('error' in semi && semi.error.problems).toEqual([
      { line: 3, message: '"12" is not a Zoho contact id (15 to 19 digits)' },
      { line: 4, message: '3 cells, but the header has 2' },
    ]);
    // Sunset's own format (`contact_id`) still refuses a column it does not know, whatever the separator.
    const own = parse('contact_id;reasn\n3185434000000001581;x\n', 'deactivate');
    expect('error' in own && own.error.message).toBe('fuzz.csv:1: unknown column reasn; use contact_id, action, contact_name, reason');
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: the real CLI against an emulator
// ---------------------------------------------------------------------------------------------

describe('sunset contacts deactivate --from a malformed CSV, end to end', () => {
  const h = createHarness();
  let emu: EmulatorProcess;
  let dir: string;
  let active: string[] = [];
  let clear: string[] = [];
  let start = 0;
  afterAll(async () => h.cleanupAll());

  beforeAll(async () => {
    emu = await h.startEmulator(['--contacts', '60', '--per-minute', '6000', '--daily', '100000'], true);
    dir = h.temp('sunset-fuzz-csv-', true);
    const contacts = await emu.contacts();
    active = contacts.filter((c) => c.status === 'active').map((c) => c.contact_id);
    clear = contacts.filter((c) => deactivatable(c)).map((c) => c.contact_id);
    expect(active.length).toBeGreaterThan(10);
    expect(clear.length).toBeGreaterThan(2);
    start = await emu.seq();
  });

  const cli = (args: string[]): Promise<Exit> =>
    h.run([...args, '--db', join(dir, 'sunset.db')], { cwd: dir, env: { SUNSET_HOME: join(dir, 'home'), SUNSET_EMULATOR_URL: emu.origin }, timeoutMs: 60_000 });

  /** Model cases the oracle refuses, their good ids replaced by real active contacts. */
  const malformed = (): fc.Arbitrary<{ text: string; lines: number[] }> =>
    fc.tuple(csvCase, fc.array(fc.constantFrom(...active), { minLength: 12, maxLength: 12 }))
      .map(([c, real]) => {
        const idAt = idColumn(c.header.cells);
        const rows = c.rows.map((r, i) => (idAt >= 0 && r.cells.length > idAt && ZOHO_ID.test(r.cells[idAt]!.trim()) ? { ...r, cells: r.cells.map((x, j) => (j === idAt ? real[i % real.length]! : x)) } : r));
        const fixed: CsvCase = { ...c, verb: 'deactivate', rows };
        const { text, lines } = render(fixed);
        const expected = oracle(fixed, lines);
        return { text, lines: 'lines' in expected ? expected.lines : [], ok: 'changes' in expected, nul: text.includes('\u0000') };
      })
      .filter((x) => !x.ok && !x.nul)
      .map(({ text, lines }) => ({ text, lines }));

  it(`${24 * SOAK} malformed files (seed ${SEED + 2}): exit 2, a clean message naming the file and line, no status change in Zoho`, async () => {
    const runs = 24 * SOAK;
    let cases = 0;
    const outcomes = new Map<string, number>();
    const problems = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(malformed(), async ({ text, lines }) => {
        cases++;
        writeFileSync(join(dir, 'bad.csv'), text);
        const seq = await emu.seq();
        const exit = await cli(['contacts', 'deactivate', '--from', 'bad.csv', '--yes']);
        const shown = `file ${JSON.stringify(text)}\ncode ${exit.code}\nstderr: ${exit.stderr}`;
        expect(exit.code, shown).toBe(2);
        expect(cleanRefusal(exit), shown).toEqual([]);
        expect(exit.stderr, shown).toContain('The CSV is not usable; nothing was changed.');
        for (const line of lines.slice(0, 20)) expect(exit.stderr, shown).toContain(`bad.csv:${line}: `);
        expect(await emu.statusPosts(seq), shown).toEqual([]);
        bump(outcomes, `exit ${exit.code}`);
        for (const l of exit.stderr.split('\n').filter((x) => x.startsWith('bad.csv:'))) bump(problems, problemKind(l));
      }),
      { seed: SEED + 2, numRuns: runs },
    );
    // Nothing at all since the start: no status change, and no Books call of any kind.
    expect(await emu.statusPosts(start)).toEqual([]);
    expect((await emu.requests(start)).filter((r) => r.path.startsWith('/books/'))).toEqual([]);
    console.log(`[fuzz csv-cli] ${cases} cases tried (seed ${SEED + 2}); outcomes: ${summary(outcomes)} (lines named: ${summary(problems)}), status changes in Zoho×0`);
    expect(cases).toBe(runs);
    // A process per case: the soak's 20 times as many need more than the default minute.
  }, 60_000 * SOAK);

  it('control: a valid file with the same shape is applied, so the check above would see a change', async () => {
    // Clear of the safety exclusions, which a bulk deactivation applies as a plan does.
    const picks = clear.slice(0, 2);
    writeFileSync(join(dir, 'good.csv'), `\uFEFFcontact_id,contact_name,reason\r\n${picks[0]},"=Acme, Ltd","closed ""for good"""\r\n${picks[1]},,\r\n${picks[0]},,again\r\n`);
    const seq = await emu.seq();
    const exit = await cli(['contacts', 'deactivate', '--from', 'good.csv', '--org', emu.organization, '--yes']);
    expect(exit.code, exit.stderr).toBe(0);
    const posts = await emu.statusPosts(seq);
    expect(posts.filter((p) => p.code === 0).map((p) => `${p.contactId} ${p.to}`).sort()).toEqual(picks.map((id) => `${id} inactive`).sort());
  });
});
