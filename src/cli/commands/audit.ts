/** `sunset audit`: every change Sunset made (who, when, which contact, from what to what, why). */
import { parseArgs } from 'node:util';
import { auditToCsv, auditToJson } from '../../engine/report/index.js';
import { choiceFlag, parseFlags } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import { databaseLabel } from '../../engine/index.js';
import type { CliIO } from '../io.js';
import { writeOutput } from '../output-file.js';
import { COMMON_FLAGS, openJournal, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset audit [--org ID] [--run RUN_ID] [--format csv|json] [--output FILE]

Exports every status change the journal records — who made it, when, which contact, from what to
what, and why — as CSV (default) or JSON, to stdout or a file.

Options:
  --database URL|FILE   The journal: a SQLite file (default ./sunset.db) or a       SUNSET_DATABASE_URL
                        postgres:// URL
  --db FILE             The same as --database (its older name)                    SUNSET_DB
  --org ID              Only this organization                                     SUNSET_ORG
  --run RUN_ID          Only this run
  --format csv|json     Output format (default csv; json with --json)
  --output FILE         Write to a file instead of stdout
  --json                The export as JSON on stdout; a failure is {"error": {...}} there
`;

export const OPTIONS = { ...COMMON_FLAGS, run: { type: 'string' }, format: { type: 'string' }, output: { type: 'string' } } as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given } = parseFlags(() => parseArgs({ args: argv, strict: true, options: OPTIONS }), 'audit');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const values = withEnvTwins(given, io.env, OPTIONS);
  const format = choiceFlag(values.format, 'format', ['csv', 'json'] as const) ?? (values.json ? 'json' : 'csv');
  // --json promises JSON on stdout: CSV there would break the script reading it.
  if (values.json && format !== 'json' && !values.output) throw new ExitError('--json and --format csv disagree: give one of them.', EXIT.usage);
  const journal = await openJournal(values.db ?? 'sunset.db', { create: false });
  try {
    // An unknown run is a mistake (a typo, the wrong --db), not an empty export.
    if (values.run !== undefined && !(await journal.getRun(values.run))) {
      throw new ExitError(`There is no run ${values.run} in ${databaseLabel(values.db ?? 'sunset.db')}. \`sunset runs\` lists them.`, EXIT.notFound);
    }
    const rows = await journal.audit({ organizationId: values.org, runId: values.run });
    const text = format === 'json' ? `${JSON.stringify(auditToJson(rows), null, 2)}\n` : auditToCsv(rows);
    if (values.output) {
      writeOutput(values.output, text);
      io.stderr.write(`${rows.length} change${rows.length === 1 ? '' : 's'} written to ${values.output}\n`);
    } else io.stdout.write(text);
    return 0;
  } finally {
    await journal.close();
  }
}
