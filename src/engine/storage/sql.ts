/**
 * The journal's storage port: an async SQL database with portable statements (`?` placeholders,
 * standard types, INSERT ... ON CONFLICT). SQLite implements it today; PostgreSQL is next, so that
 * several workers can share one journal.
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
