/**
 * The journal's storage port: an async SQL database with portable statements (`?` placeholders,
 * standard types, INSERT ... ON CONFLICT). SQLite (a file, the default) and PostgreSQL (a URL, for
 * several people and processes on one database) implement it.
 */
export type SqlValue = string | number | bigint | null;

export interface SqlDatabase {
  readonly dialect: 'sqlite' | 'postgres';
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction; rolls back if it throws. */
  transaction<T>(fn: (tx: SqlDatabase) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * What went wrong with the database itself, as opposed to a statement's own failure (a constraint,
 * which callers handle): each adapter maps its driver's errors to one of these, so a full disk or
 * a Postgres outage is reported as what it is, never as a bug.
 */
export type StorageFailureKind =
  /** The server cannot be reached, refused the connection, or went away (restart, network). */
  | 'unreachable'
  /** The disk (or the server's) is full, or the server is out of connections or memory. */
  | 'full'
  /** The file or database is read-only, or the role may not do this. */
  | 'denied'
  /** The database named does not exist. */
  | 'missing'
  /** The file or the server's data is damaged, or the file is not a database. */
  | 'integrity'
  /** Another process holds the database (SQLite's lock) for longer than the wait. */
  | 'busy';

export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    readonly kind: StorageFailureKind,
    message: string,
    /** The driver's own code (SQLITE_FULL, 57P01, ECONNREFUSED, ...). */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The advice for each kind of storage failure, for the CLI and the service's logs. */
export const STORAGE_ADVICE: Record<StorageFailureKind, string> = {
  unreachable: 'Check that the database server is running and reachable, then run the command again.',
  full: "Free space on the database's disk (or connections on its server), then run the command again.",
  denied: 'Make the database writable by this user (or grant the role what it needs), then run the command again.',
  missing: 'Create the database first (for PostgreSQL: `createdb NAME`), or name one that exists.',
  integrity: 'Restore the database from a backup; `sunset runs check` checks what is left.',
  busy: 'Another process holds the database; wait for it, or stop it, then run the command again.',
};

/** A database location with any password removed, safe to print. */
export function databaseLabel(location: string): string {
  if (!isPostgresUrl(location)) return location;
  try {
    const url = new URL(location);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://…';
  }
}

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}
