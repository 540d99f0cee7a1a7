/** `sunset db status|migrate|schema|copy`: the database's schema versions, migrations, schema dump and copy. */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BUDGET_COMPONENT, CONNECTIONS_COMPONENT, copyDatabase, CopyError, databaseLabel, dumpSchema, isPostgresUrl, JOURNAL_COMPONENT, migrate, MigrationError, migrationStatus, openPostgres, openSqlite,
  tableCounts, type Component, type SqlDatabase,
} from '../../engine/index.js';
import { NOTIFICATIONS_COMPONENT, SERVICE_COMPONENT } from '../../service/index.js';
import { parseFlags } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { createProgress } from '../terminal.js';
import { NoJournalError, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset db status  [--database URL|FILE] [--json]
       sunset db migrate [--database URL|FILE] [--json]
       sunset db schema  [--database URL|FILE]
       sunset db copy --from URL|FILE --to URL|FILE [--json]

Sunset keeps its journal and the service's tables in one database: a SQLite file (the default,
./sunset.db) or PostgreSQL (postgres://USER@HOST:PORT/DB, optionally ?schema=NAME). Its schema
moves forward in numbered migrations, per component (journal, service); every command applies
the missing ones when it opens the database, and refuses a database a newer Sunset has moved on.

  status    Each component's version, this Sunset's, and the migrations not applied yet. Changes
            nothing. Exit 0 when up to date, 4 when migrations are pending.
  migrate   Applies the missing migrations (all of a component or none), for example before
            starting several processes of a new version.
  schema    Prints the migrated schema (tables, columns, keys, indexes), as docs/schema/ keeps it.
  copy      Copies everything (runs, steps, audit, snapshots, plans, users, settings, webhook
            events) from one database into a new, empty one, in one transaction, and checks every
            table's row count after: a grown-up user's history moved from SQLite to PostgreSQL,
            or back. Both are migrated first; the target must hold no rows.

Options:
  --database URL|FILE   The database (default ./sunset.db)                         SUNSET_DATABASE_URL
  --db FILE             The same as --database (its older name)                    SUNSET_DB
  --from URL|FILE       copy: where from
  --to URL|FILE         copy: where to
  --json                Print the result as JSON on stdout; a failure is {"error": {...}} there
  --quiet               No progress on stderr
  --help, -h            Show this help

A password belongs in PGPASSWORD or ~/.pgpass, not on the command line; what Sunset prints of a
URL never shows one.
`;

export const OPTIONS = {
  database: { type: 'string' }, db: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

export const SUBCOMMANDS = ['status', 'migrate', 'schema', 'copy'] as const;

/** Every component that keeps tables, in the order they are migrated. */
const COMPONENTS: readonly Component[] = [JOURNAL_COMPONENT, CONNECTIONS_COMPONENT, SERVICE_COMPONENT, NOTIFICATIONS_COMPONENT, BUDGET_COMPONENT];

/** Opens a database without migrating it; `mustExist` refuses a SQLite file that is not there. */
function openRaw(location: string, mustExist: boolean): SqlDatabase {
  if (isPostgresUrl(location)) return openPostgres(location, { maxConnections: 2 });
  const full = resolve(location);
  if (mustExist && !existsSync(full)) throw new NoJournalError(full);
  if (!existsSync(dirname(full))) throw new ExitError(`${location}: the directory ${dirname(full)} does not exist.`, EXIT.usage);
  return openSqlite(full);
}

async function migrated(db: SqlDatabase, label: string): Promise<Array<{ component: string; version: number; name: string }>> {
  try {
    return await migrate(db, COMPONENTS);
  } catch (error) {
    if (error instanceof MigrationError) throw new ExitError(`${label}: ${error.message}`);
    throw error;
  }
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS }), 'db');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const [subcommand, ...rest] = positionals;
  if (!subcommand) throw new ExitError(`\`sunset db\` needs a subcommand: status, migrate, schema or copy.\n\n${HELP}`, EXIT.usage);
  if (!(SUBCOMMANDS as readonly string[]).includes(subcommand)) throw new ExitError(`Unknown: sunset db ${subcommand}. It is one of: ${SUBCOMMANDS.join(', ')}.`, EXIT.usage);
  if (rest.length > 0) throw new ExitError(`\`sunset db ${subcommand}\` takes no ${rest[0]}.`, EXIT.usage);
  if (subcommand === 'copy') return copy(given, io);
  if (given.from !== undefined || given.to !== undefined) throw new ExitError(`--from and --to are for \`sunset db copy\`; \`sunset db ${subcommand}\` takes --database.`, EXIT.usage);

  const values = withEnvTwins(given, io.env, OPTIONS);
  const location = values.db ?? 'sunset.db';
  const label = databaseLabel(location);
  const db = openRaw(location, subcommand === 'status' || subcommand === 'schema');
  try {
    if (subcommand === 'status') {
      const status = await migrationStatus(db, COMPONENTS);
      const pending = status.reduce((n, s) => n + s.pending.length, 0);
      const newer = status.filter((s) => s.current > s.known);
      if (values.json) io.stdout.write(`${JSON.stringify({ database: label, dialect: db.dialect, components: status, upToDate: pending === 0 && newer.length === 0 })}\n`);
      else {
        io.stdout.write(`${label} (${db.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'})\n`);
        for (const s of status) {
          const state = s.current > s.known ? `NEWER than this Sunset knows (${s.known}): use a newer Sunset`
            : s.pending.length === 0 ? 'up to date' : `${s.pending.length} pending: ${s.pending.map((p) => `${p.version} ${p.name}`).join('; ')}`;
          io.stdout.write(`  ${s.component.padEnd(8)} version ${s.current} of ${s.known}: ${state}\n`);
        }
        if (pending > 0 && newer.length === 0) io.stdout.write(`\`sunset db migrate${location === 'sunset.db' ? '' : ` --database ${label}`}\` applies them (every command also does, when it opens the database).\n`);
      }
      return newer.length > 0 ? EXIT.failure : pending > 0 ? EXIT.differences : EXIT.ok;
    }
    if (subcommand === 'migrate') {
      const applied = await migrated(db, label);
      if (values.json) io.stdout.write(`${JSON.stringify({ database: label, applied })}\n`);
      else if (applied.length === 0) io.stdout.write(`${label} is up to date; nothing to apply.\n`);
      else io.stdout.write(`${label}: applied ${applied.map((a) => `${a.component} ${a.version} (${a.name})`).join(', ')}.\n`);
      return EXIT.ok;
    }
    // schema: of a database brought up to date (a file that is not there was refused above).
    await migrated(db, label);
    io.stdout.write(await dumpSchema(db));
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

async function copy(values: { from?: string; to?: string; json?: boolean; quiet?: boolean; database?: string; db?: string }, io: CliIO): Promise<number> {
  if (values.database !== undefined || values.db !== undefined) throw new ExitError('`sunset db copy` takes --from and --to, not --database.', EXIT.usage);
  if (!values.from || !values.to) throw new ExitError('Name both databases: sunset db copy --from sunset.db --to postgres://USER@HOST/DB', EXIT.usage);
  const fromLabel = databaseLabel(values.from);
  const toLabel = databaseLabel(values.to);
  if (resolveLocation(values.from) === resolveLocation(values.to)) throw new ExitError('--from and --to name the same database.', EXIT.usage);
  const from = openRaw(values.from, true);
  let to: SqlDatabase | undefined;
  try {
    to = openRaw(values.to, false);
    const progress = createProgress(io, values.quiet || values.json === true);
    await migrated(from, fromLabel);
    await migrated(to, toLabel);
    const started = Date.now();
    let counts: Record<string, number>;
    try {
      counts = await copyDatabase(from, to, { onProgress: (p) => progress.update(`copying ${p.table}: ${p.copied} of ${p.total} rows`) });
    } catch (error) {
      if (error instanceof CopyError) throw new ExitError(`Nothing was copied: ${error.message}`);
      throw error;
    } finally {
      progress.done();
    }
    const source = await tableCounts(from);
    const rows = Object.values(counts).reduce((a, b) => a + b, 0);
    if (values.json) io.stdout.write(`${JSON.stringify({ from: fromLabel, to: toLabel, tables: counts, rows, ms: Date.now() - started })}\n`);
    else {
      io.stdout.write(`Copied ${rows} rows from ${fromLabel} to ${toLabel} in ${((Date.now() - started) / 1000).toFixed(1)} s; every table has as many rows on both sides:\n`);
      for (const [table, n] of Object.entries(counts)) io.stdout.write(`  ${table.padEnd(22)} ${String(n).padStart(9)}${source[table] === n ? '' : `  (source: ${source[table]})`}\n`);
      io.stdout.write(`Use it with --database ${toLabel} (or SUNSET_DATABASE_URL); ${fromLabel} is unchanged.\n`);
    }
    return EXIT.ok;
  } finally {
    await from.close();
    await to?.close();
  }
}

function resolveLocation(location: string): string {
  return isPostgresUrl(location) ? location : resolve(location);
}
