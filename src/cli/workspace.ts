/**
 * A workspace: what an engine command works in, the journal and the connection to Zoho Books,
 * opened together from the common flags (--db, --org, --emulator, --credentials, ...).
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  BUDGET_COMPONENT, CONNECTIONS_COMPONENT, createConnectionStore, createJournal, databaseLabel, isPostgresUrl, JOURNAL_COMPONENT, JournalError, migrate, MigrationError, migrationStatus, openPostgres, openSqlite,
  StorageError, type Journal, type SqlDatabase,
} from '../engine/index.js';
import { isOrganizationId } from '../zoho/index.js';
import { intFlag } from './args.js';
import { connect, type Binding, type Connection } from './connection.js';
import { EXIT, ExitError } from './exit-codes.js';
import type { CliIO } from './io.js';
// The service's tables' migrations only (not the service itself): every command starts quickly.
import { NOTIFICATIONS_COMPONENT } from '../service/notification-store.js';
import { SERVICE_COMPONENT } from '../service/store.js';
import { secretKeys } from './secret-key.js';

/** There is no journal where a command that only reads one looked: nothing was created. */
export class NoJournalError extends ExitError {
  constructor(readonly path: string) {
    super(`There is no journal ${isPostgresUrl(path) ? 'in' : 'at'} ${databaseLabel(path)}: nothing was scanned, planned or changed with it yet. \`sunset scan --policy FILE\` (or \`sunset contacts\`) makes one; --database names another.`, EXIT.notFound);
  }
}

export interface OpenJournalOptions {
  /**
   * false for commands that only read the journal: a missing file is a NoJournalError instead of a
   * new empty journal left behind (a typo in --db, or the wrong directory, would otherwise look
   * like "no runs yet" and leave a stray sunset.db).
   */
  create?: boolean;
  /** PostgreSQL: the connections this process's pool may open (default 10; SUNSET_DB_POOL for serve and workers). */
  maxConnections?: number;
}

/** The journal and the database it lives in (the service's store and the integrity check use the database). */
export interface Storage {
  journal: Journal;
  database: SqlDatabase;
}

export async function openJournal(location: string, options: OpenJournalOptions = {}): Promise<Journal> {
  return (await openStorage(location, options)).journal;
}

/**
 * Opens (creating, unless `create: false`) the journal in a SQLite file or a PostgreSQL database
 * (a `postgres://` URL) and brings its schema forward. A file that is not a journal is a clear
 * error; a database that cannot be reached is a StorageError (main says what to do about it).
 */
export async function openStorage(location: string, options: OpenJournalOptions = {}): Promise<Storage> {
  const label = databaseLabel(location);
  let database: SqlDatabase | undefined;
  if (isPostgresUrl(location)) {
    database = openPostgres(location, options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {});
  } else {
    const full = resolve(location);
    if (options.create === false && !existsSync(full)) throw new NoJournalError(full);
    if (!existsSync(dirname(full))) throw new ExitError(`--database ${location}: the directory ${dirname(full)} does not exist.`);
  }
  let journal: Journal | undefined;
  try {
    database ??= openSqlite(resolve(location));
    if (options.create === false && database.dialect === 'postgres') {
      const [status] = await migrationStatus(database, [JOURNAL_COMPONENT]);
      if (status!.current === 0) throw new NoJournalError(location);
    }
    journal = createJournal(database);
    // Every component at once: a database a newer Sunset moved on is refused before any changes.
    await migrate(database, [JOURNAL_COMPONENT, CONNECTIONS_COMPONENT, SERVICE_COMPONENT, NOTIFICATIONS_COMPONENT, BUDGET_COMPONENT]);
    return { journal, database };
  } catch (error) {
    if (journal) await journal.close().catch(() => undefined);
    else await database?.close().catch(() => undefined);
    if (error instanceof ExitError || error instanceof StorageError) throw error;
    if (error instanceof JournalError || error instanceof MigrationError) throw new ExitError(`${label}: ${error.message}`);
    throw new ExitError(`Cannot open the journal ${label}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Flags every engine command takes (spread into parseArgs options). */
export const COMMON_FLAGS = {
  database: { type: 'string' },
  db: { type: 'string' },
  org: { type: 'string' },
  emulator: { type: 'string' },
  credentials: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  'per-minute': { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** The common options' help: [option, its lines]. */
const COMMON_OPTION_HELP: ReadonlyArray<readonly [string, string]> = [
  ['database', `  --database URL|FILE   Where the journal is: a SQLite file (default ./sunset.db)  SUNSET_DATABASE_URL
                        or PostgreSQL, postgres://USER@HOST:PORT/DB[?schema=NAME]
                        (a password from PGPASSWORD or ~/.pgpass, not the command line)`],
  ['db', '  --db FILE             The same as --database (its older name)                    SUNSET_DB'],
  ['org', `  --org ID              The organization (default: the policy's, the login's,      SUNSET_ORG
                        or the only one)`],
  ['emulator', `  --emulator URL        Talk to a running \`sunset emulator start\` instead of Zoho  SUNSET_EMULATOR
                        (\`--emulator embedded\`: the embedded one)`],
  ['credentials', `  --credentials FILE    Credentials from \`sunset auth login\`                      SUNSET_CREDENTIALS
                        (default ~/.sunset/credentials.json; SUNSET_HOME moves ~/.sunset)`],
  ['json', `  --json                Print only the result document, as JSON, on stdout; a failure is
                        {"error": {"code", "message"}} there`],
  ['quiet', '  --quiet               No progress on stderr'],
  ['per-minute', "  --per-minute N        The organization's request limit per minute (default 100, Zoho's)"],
  ['help', '  --help, -h            Show this help'],
];

/** The common options' help, listing only those a command accepts (`options`: its parseArgs options). */
export function commonHelp(options: object): string {
  return `Common options (a flag beats its environment twin, named on the right):
${COMMON_OPTION_HELP.filter(([option]) => option in options).map(([, lines]) => lines).join('\n')}
A connection named on the command line (--emulator, --credentials) beats one in the environment.
Without credentials, commands use the embedded emulator (state in sunset-emulator.db beside the journal)
while the journal has known no other place. A command on a run or a plan uses the place it was made
(a running emulator at its address, Zoho with your credentials) and refuses any other.`;
}

/** The help of every common option (for a command that accepts them all: COMMON_FLAGS). */
export const COMMON_HELP = commonHelp(COMMON_FLAGS);

export interface CommonValues {
  database?: string;
  /** Where the journal is (a file or a postgres:// URL): --database or --db, after withEnvTwins. */
  db?: string;
  org?: string;
  emulator?: string;
  credentials?: string;
  json?: boolean;
  quiet?: boolean;
  'per-minute'?: string;
  /** The options withEnvTwins took from the environment, and the variable each came from. */
  fromEnv?: Partial<Record<'db' | 'database' | 'org' | 'emulator' | 'credentials', string>>;
}

/**
 * The common flags a command was not given, from their environment twins (an empty variable is
 * unset): SUNSET_DATABASE_URL or SUNSET_DB, SUNSET_ORG, and for the connection SUNSET_EMULATOR (or its older name
 * SUNSET_EMULATOR_URL) or SUNSET_CREDENTIALS, used only when the command line names no connection
 * at all, so `--credentials FILE` is not overridden by an emulator in the environment. Only the
 * options the command takes (`options`, its parseArgs options) are filled. A value from the
 * environment that cannot be right is refused here, naming the variable.
 */
export function withEnvTwins<T extends CommonValues>(values: T, env: NodeJS.ProcessEnv, options: object): T {
  const filled: T = { ...values, fromEnv: {} };
  const from = filled.fromEnv!;
  if (filled.database !== undefined && filled.db !== undefined) throw new ExitError('--database and --db name the same thing: give one.', EXIT.usage);
  // --database is the name; --db stays as its older spelling. Either way the location is in `db`.
  if (filled.database !== undefined) filled.db = filled.database;
  const take = (option: 'db' | 'org' | 'emulator' | 'credentials', name: string): void => {
    const value = env[name];
    if (!(option in options) || filled[option] !== undefined || value === undefined || value === '') return;
    filled[option] = value;
    from[option] = name;
  };
  take('db', 'SUNSET_DATABASE_URL');
  take('db', 'SUNSET_DB');
  take('org', 'SUNSET_ORG');
  if (filled.emulator === undefined && filled.credentials === undefined) {
    take('emulator', 'SUNSET_EMULATOR');
    take('emulator', 'SUNSET_EMULATOR_URL');
    take('credentials', 'SUNSET_CREDENTIALS');
  }
  if (from.org && !isOrganizationId(filled.org!)) throw new ExitError(`${from.org}=${filled.org}: an organization id is digits only.`, EXIT.usage);
  if (from.db && !isPostgresUrl(filled.db!) && !existsSync(dirname(resolve(filled.db!)))) {
    throw new ExitError(`${from.db}=${filled.db}: the directory ${dirname(resolve(filled.db!))} does not exist.`, EXIT.usage);
  }
  return filled;
}

export interface Workspace {
  journal: Journal;
  /** The database the journal lives in (the service's own tables go there too). */
  database: SqlDatabase;
  connection: Connection;
  dbPath: string;
  close(): Promise<void>;
}

/**
 * Opens the journal, then the connection. `bind` names the record the command acts on (a run, a
 * plan), read from the journal: the connection is the place it was made, or the command is refused.
 */
export async function openWorkspace(
  io: CliIO,
  values: CommonValues,
  options: {
    perMinute?: number; bind?: (journal: Journal) => Promise<Binding | undefined>; create?: boolean;
    /** What to say when the database has several connections and the command names no organization. */
    whenSeveralConnections?: string;
    /** The journal and database, when the command opened them already (the workspace then owns them). */
    storage?: Storage;
  } = {},
): Promise<Workspace> {
  const dbPath = values.db ?? 'sunset.db';
  const perMinute = options.perMinute ?? intFlag(values['per-minute'], 'per-minute', 1, 1_000_000);
  // A command on a run or a plan reads them from an existing journal: it does not make an empty one.
  const { journal, database } = options.storage ?? await openStorage(dbPath, { create: options.create ?? options.bind === undefined });
  let connection: Connection;
  try {
    const binding = await options.bind?.(journal);
    connection = await connect(io, {
      emulatorUrl: values.emulator, credentialsFile: values.credentials, from: values.fromEnv, dbPath, quiet: values.quiet || values.json, perMinute,
      binding, journalTargets: await journal.targets(),
      connections: { store: createConnectionStore(database, secretKeys(io.env)), organizationId: values.org, whenSeveral: options.whenSeveralConnections },
      database,
    });
  } catch (error) {
    await journal.close();
    throw error;
  }
  return {
    journal,
    database,
    connection,
    dbPath,
    async close() {
      await connection.close();
      await journal.close();
    },
  };
}
