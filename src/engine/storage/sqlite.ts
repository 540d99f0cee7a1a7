import { chmodSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { SqlDatabase, SqlValue } from './sql.js';

export interface SqliteOptions {
  /** fsync on every commit (default true): a journal entry survives power loss once written. */
  durable?: boolean;
}

/**
 * SQLite behind the async port. The file is created owner-only (0600). better-sqlite3 is
 * synchronous; the port's promises resolve at once, and transactions run on one connection.
 */
export function openSqlite(path: string, options: SqliteOptions = {}): SqlDatabase {
  const fresh = path !== ':memory:' && !existsSync(path);
  const db = new Database(path);
  if (path !== ':memory:') {
    if (fresh) chmodSync(path, 0o600);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.durable === false ? 'NORMAL' : 'FULL'}`);
    db.pragma('busy_timeout = 5000');
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
  const direct: SqlDatabase = {
    dialect: 'sqlite',
    all: async <T>(sql: string, params: readonly SqlValue[] = []) => prepare(sql).all(...params) as T[],
    get: async <T>(sql: string, params: readonly SqlValue[] = []) => prepare(sql).get(...params) as T | undefined,
    run: async (sql, params = []) => prepare(sql).run(...params).changes,
    exec: async (sql) => void db.exec(sql),
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
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(direct);
          db.exec('COMMIT');
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
