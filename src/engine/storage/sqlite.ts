import { chmodSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StorageError, type SqlDatabase, type SqlValue, type StorageFailureKind } from './sql.js';

export interface SqliteOptions {
  /** fsync on every commit (default true): a journal entry survives power loss once written. */
  durable?: boolean;
}

/** The failure kind of a better-sqlite3 error that is about the file itself; undefined for a statement's own error. */
export function sqliteFailure(error: unknown): StorageFailureKind | undefined {
  const code = String((error as { code?: unknown }).code ?? '');
  if (/^SQLITE_(FULL|IOERR)/.test(code)) return 'full';
  if (/^SQLITE_(READONLY|PERM|AUTH)/.test(code)) return 'denied';
  if (/^SQLITE_CANTOPEN/.test(code)) return 'missing';
  if (/^SQLITE_(CORRUPT|NOTADB)/.test(code)) return 'integrity';
  if (/^SQLITE_(BUSY|LOCKED)/.test(code)) return 'busy';
  return undefined;
}

function mapped(error: unknown, path: string): unknown {
  const kind = sqliteFailure(error);
  if (!kind) return error;
  const code = String((error as { code?: unknown }).code);
  return new StorageError(kind, `${path}: ${error instanceof Error ? error.message : String(error)} (${code})`, code, { cause: error });
}

/**
 * SQLite behind the async port. The file is created owner-only (0600). better-sqlite3 is
 * synchronous; the port's promises resolve at once, and transactions run on one connection.
 */
export function openSqlite(path: string, options: SqliteOptions = {}): SqlDatabase {
  const fresh = path !== ':memory:' && !existsSync(path);
  let db: Database.Database;
  try {
    db = new Database(path);
    if (path !== ':memory:') {
      if (fresh) chmodSync(path, 0o600);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.durable === false ? 'NORMAL' : 'FULL'}`);
      db.pragma('busy_timeout = 5000');
    }
  } catch (error) {
    throw mapped(error, path);
  }
  const cache = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      cache.set(sql, stmt);
    }
    return stmt;
  };
  // Every call goes through one queue, so interleaved async work never lands inside someone
  // else's transaction. Inside a transaction, use the `tx` handle it is given (it runs at once).
  let queue: Promise<unknown> = Promise.resolve();
  const enqueue = <T>(op: () => Promise<T> | T): Promise<T> => {
    const result = queue.then(op);
    queue = result.catch(() => undefined);
    return result;
  };
  const guard = <T>(op: () => T): T => {
    try {
      return op();
    } catch (error) {
      throw mapped(error, path);
    }
  };
  const direct: SqlDatabase = {
    dialect: 'sqlite',
    all: async <T>(sql: string, params: readonly SqlValue[] = []) => guard(() => prepare(sql).all(...params) as T[]),
    get: async <T>(sql: string, params: readonly SqlValue[] = []) => guard(() => prepare(sql).get(...params) as T | undefined),
    run: async (sql, params = []) => guard(() => prepare(sql).run(...params).changes),
    exec: async (sql) => guard(() => void db.exec(sql)),
    transaction: (fn) => fn(direct),
    close: async () => undefined,
  };
  const self: SqlDatabase = {
    dialect: 'sqlite',
    all: (sql, params) => enqueue(() => direct.all(sql, params)),
    get: (sql, params) => enqueue(() => direct.get(sql, params)),
    run: (sql, params) => enqueue(() => direct.run(sql, params)),
    exec: (sql) => enqueue(() => direct.exec(sql)),
    transaction: (fn) =>
      enqueue(async () => {
        guard(() => db.exec('BEGIN IMMEDIATE'));
        try {
          const result = await fn(direct);
          guard(() => db.exec('COMMIT'));
          return result;
        } catch (error) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      }),
    close: () => enqueue(() => void db.close()),
  };
  return self;
}
