/** `sunset runs` and `sunset runs show RUN`. */
import { parseArgs } from 'node:util';
import { checkJournal, runStatus, type Journal, type SqlDatabase, databaseLabel } from '../../engine/index.js';
import { renderRunText } from '../../engine/report/index.js';
import { isDeadOwner } from '../actor.js';
import { intFlag, parseFlags } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { COMMON_FLAGS, NoJournalError, openStorage, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset runs [--org ID] [--json]
       sunset runs show RUN_ID [--json]
       sunset runs check [--json]

Lists the runs in the journal with their counts, or shows one run with its skipped and failed steps.
\`runs check\` checks the journal itself: the database file (SQLite's integrity check; PostgreSQL
checks its own pages) and what resume and undo rely on (counts match steps, a finished run has
nothing left, plan runs follow their plan, undo runs only reverse what their run changed). Exit 0
when it is sound, 4 with each problem.

Options:
  --database URL|FILE   The journal: a SQLite file (default ./sunset.db) or a       SUNSET_DATABASE_URL
                        postgres:// URL
  --db FILE             The same as --database (its older name)                    SUNSET_DB
  --org ID              Only this organization's runs                              SUNSET_ORG
  --limit N             Steps to list with show (default 20)
  --json                Print JSON on stdout; a failure is {"error": {...}} there
`;

export const OPTIONS = { ...COMMON_FLAGS, limit: { type: 'string' } } as const;

export const SUBCOMMANDS = ['show', 'check'] as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS }), 'runs');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const values = withEnvTwins(given, io.env, OPTIONS);
  const limit = intFlag(values.limit, 'limit', 0, 1_000_000) ?? 20;
  const [subcommand, runId] = positionals;
  if (subcommand === 'show' && !runId) throw new ExitError('Name the run: sunset runs show RUN_ID', EXIT.usage);
  if (subcommand !== undefined && subcommand !== 'show' && !(subcommand === 'check' && positionals.length === 1)) {
    throw new ExitError(`Unknown argument "${subcommand}": use sunset runs, sunset runs show RUN_ID or sunset runs check.`, EXIT.usage);
  }
  let journal: Journal;
  let database: SqlDatabase;
  try {
    ({ journal, database } = await openStorage(values.db ?? 'sunset.db', { create: false }));
  } catch (error) {
    // No journal means no runs yet; showing or checking one that is not there is an error.
    if (!(error instanceof NoJournalError) || subcommand !== undefined) throw error;
    io.stdout.write(values.json ? '[]\n' : `No runs yet: there is no journal at ${error.path} (\`sunset scan\` or \`sunset contacts\` makes one).\n`);
    return 0;
  }
  try {
    if (subcommand === 'show' && runId) {
      const runRecord = await journal.getRun(runId);
      if (!runRecord) throw new ExitError(`There is no run ${runId} in ${databaseLabel(values.db ?? 'sunset.db')}. \`sunset runs\` lists them.`, EXIT.notFound);
      const counts = await journal.runCounts(runId);
      const steps = await journal.steps(runId);
      const status = runStatus(runRecord, Date.now(), isDeadOwner);
      const verification = await journal.latestVerification(runId);
      if (values.json) io.stdout.write(`${JSON.stringify({ run: runRecord, status, counts, steps, verification: verification ?? null })}\n`);
      else io.stdout.write(renderRunText(runRecord, counts, steps, { color: io.color, limit, status, verification }));
      return 0;
    }
    if (subcommand === 'check') {
      const problems = await checkJournal(journal, database);
      const runs = (await journal.listRuns()).length;
      if (values.json) io.stdout.write(`${JSON.stringify({ ok: problems.length === 0, runs, problems })}\n`);
      else if (problems.length === 0) io.stdout.write(`The journal is sound: ${runs} run${runs === 1 ? '' : 's'} checked${database.dialect === 'sqlite' ? ", the database file passes SQLite's integrity check" : ''}.\n`);
      else io.stdout.write(`The journal has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
      return problems.length === 0 ? EXIT.ok : EXIT.differences;
    }
    const runs = await journal.listRuns(values.org);
    const rows = await Promise.all(runs.map(async (r) => ({ run: r, status: runStatus(r, Date.now(), isDeadOwner), counts: await journal.runCounts(r.runId) })));
    if (values.json) {
      io.stdout.write(`${JSON.stringify(rows)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      io.stdout.write('No runs yet.\n');
      return 0;
    }
    const header = ['RUN', 'KIND', 'ORGANIZATION', 'STATE', 'CREATED', 'STEPS', 'CHANGED', 'UNCHANGED', 'SKIPPED', 'FAILED', 'LEFT'];
    const table = rows.map(({ run: r, status, counts: c }) => [
      r.runId, r.kind + (r.undoOf ? ` of ${r.undoOf}` : ''), r.organizationId, status, new Date(r.createdAt).toISOString().slice(0, 16).replace('T', ' '),
      String(c.total), String(c.changed), String(c.unchanged), String(c.skipped), String(c.failed), String(c.pending + c.inFlight),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
    const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    io.stdout.write(`${[line(header), ...table.map(line)].join('\n')}\n`);
    return 0;
  } finally {
    await journal.close();
  }
}
