import { chmodSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { COLUMN_ADDITIONS, SCHEMA_SQL, SCHEMA_VERSION, DATA_TABLES, INDEX_SQL } from './schema.js';

export type Db = Database.Database;

/** Opens (and creates) the emulator database: a file, or memory when `path` is undefined or ':memory:'. */
export function openDb(path: string | undefined): Db {
  const fresh = path !== undefined && path !== ':memory:' && !existsSync(path);
  const db = new Database(path ?? ':memory:');
  // It holds the emulated account's OAuth clients and tokens: owner-only, like any credentials file.
  if (fresh) chmodSync(path, 0o600);
  if (path && path !== ':memory:') {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = OFF');
  db.exec(SCHEMA_SQL);
  const version = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  if (!version) {
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
  } else if (Number(version.value) !== SCHEMA_VERSION) {
    db.close();
    throw new Error(`The emulator database ${path} has schema version ${version.value}; this emulator needs ${SCHEMA_VERSION}. Use a new --db file.`);
  }
  addMissingColumns(db);
  createIndexes(db);
  return db;
}

/** Adds the columns an older file of this schema version lacks (COLUMN_ADDITIONS). */
function addMissingColumns(db: Db): void {
  db.transaction(() => {
    for (const { table, column, sql } of COLUMN_ADDITIONS) {
      const columns = db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
      if (!columns.some((c) => c.name === column)) db.exec(sql);
    }
  })();
}

/** Removes every row of every table (the schema stays). */
export function wipeDb(db: Db): void {
  db.transaction(() => {
    for (const table of DATA_TABLES) db.prepare(`DELETE FROM ${table}`).run();
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
  })();
}

export function getMeta(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}

export function createIndexes(db: Db): void {
  for (const sql of INDEX_SQL) db.exec(sql);
}

export function dropIndexes(db: Db): void {
  for (const sql of INDEX_SQL) {
    const name = /INDEX IF NOT EXISTS (\w+)/.exec(sql)?.[1];
    if (name) db.exec(`DROP INDEX IF EXISTS ${name}`);
  }
}
