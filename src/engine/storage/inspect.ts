/**
 * What a database holds, read from the database itself: its tables, a normalized schema dump
 * (committed per dialect under docs/schema/, compared with a freshly migrated database by a test),
 * and a whole-database copy from one database to another (`sunset db copy`).
 */
import type { SqlDatabase, SqlValue } from './sql.js';

/** Tables kept by the migrations themselves, made by `migrate` on each side and not copied. */
const BOOKKEEPING = new Set(['schema_migrations', 'journal_meta']);

/** Whether the database (its current schema for PostgreSQL) has the table. */
export async function hasTable(db: SqlDatabase, table: string): Promise<boolean> {
  const row = db.dialect === 'sqlite'
    ? await db.get("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", [table])
    : await db.get('SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?', [table]);
  return row !== undefined;
}

/** The tables in the database (its current schema for PostgreSQL), sorted. */
export async function tableNames(db: SqlDatabase): Promise<string[]> {
  const rows = db.dialect === 'sqlite'
    ? await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    : await db.all<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name");
  return rows.map((r) => String(r.name));
}

const squash = (sql: string): string => sql.replace(/\s+/g, ' ').trim();

/**
 * The schema as text, one table at a time: columns (sorted by name, so a table that gained a
 * column later dumps like a fresh one), primary key, indexes. Dialect-specific: each dialect's
 * dump is compared with its own committed file.
 */
export async function dumpSchema(db: SqlDatabase): Promise<string> {
  const out: string[] = [`-- Sunset's schema on ${db.dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, as \`sunset db schema\` prints it (columns sorted by name).`];
  for (const table of await tableNames(db)) {
    out.push('', `table ${table}`);
    if (db.dialect === 'sqlite') {
      const columns = await db.all<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>(`PRAGMA table_info(${table})`);
      for (const c of [...columns].sort((a, b) => (a.name < b.name ? -1 : 1))) {
        out.push(`  column ${c.name} ${c.type}${Number(c.notnull) ? ' NOT NULL' : ''}${c.dflt_value !== null ? ` DEFAULT ${c.dflt_value}` : ''}`);
      }
      const pk = columns.filter((c) => Number(c.pk) > 0).sort((a, b) => Number(a.pk) - Number(b.pk)).map((c) => c.name);
      if (pk.length > 0) out.push(`  primary key (${pk.join(', ')})`);
      const indexes = await db.all<{ name: string; sql: string | null }>("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name", [table]);
      for (const i of indexes) out.push(`  ${squash(String(i.sql)).replace(/ IF NOT EXISTS/i, '')}`);
    } else {
      const columns = await db.all<{ name: string; type: string; nullable: string; dflt: string | null }>(
        `SELECT column_name AS name, data_type AS type, is_nullable AS nullable, column_default AS dflt FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = ? ORDER BY column_name`,
        [table],
      );
      for (const c of columns) out.push(`  column ${c.name} ${c.type}${c.nullable === 'NO' ? ' NOT NULL' : ''}${c.dflt !== null ? ` DEFAULT ${c.dflt}` : ''}`);
      const indexes = await db.all<{ name: string; def: string }>(
        'SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ? ORDER BY indexname',
        [table],
      );
      // The schema's own name is the deployment's, not the schema's.
      for (const i of indexes) out.push(`  ${squash(i.def).replace(/ ON [a-z0-9_]+\./i, ' ON ')}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** The rows of each table (but the migrations' own bookkeeping). */
export async function tableCounts(db: SqlDatabase): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of await tableNames(db)) {
    if (BOOKKEEPING.has(table)) continue;
    counts[table] = Number((await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n ?? 0);
  }
  return counts;
}

export class CopyError extends Error {
  override name = 'CopyError';
}

export interface CopyProgress {
  table: string;
  copied: number;
  total: number;
}

/**
 * Copies every row of every table from `from` into `to`, in one transaction on `to`: all of it or
 * nothing. Both must already be at the same schema versions (the caller migrates them), and `to`
 * must hold no rows. Returns each table's count, checked equal on both sides after the commit.
 */
export async function copyDatabase(
  from: SqlDatabase,
  to: SqlDatabase,
  options: { pageSize?: number; onProgress?: (p: CopyProgress) => void } = {},
): Promise<Record<string, number>> {
  const pageSize = options.pageSize ?? 2000;
  const tables = await tableNames(from);
  const targetTables = new Set(await tableNames(to));
  const missing = tables.filter((t) => !targetTables.has(t));
  if (missing.length > 0) throw new CopyError(`The target has no table ${missing.join(', ')}: both databases must be at the same schema version (\`sunset db status\`).`);
  const before = await tableCounts(to);
  const full = Object.entries(before).filter(([, n]) => n > 0);
  if (full.length > 0) {
    throw new CopyError(`The target already holds data (${full.map(([t, n]) => `${n} ${t}`).join(', ')}): a copy goes only into a new, empty database, so nothing there is mixed or overwritten.`);
  }
  const sourceCounts = await tableCounts(from);
  await to.transaction(async (tx) => {
    for (const table of tables) {
      if (BOOKKEEPING.has(table)) continue;
      const total = sourceCounts[table] ?? 0;
      const order = await primaryKeyOf(from, table);
      let copied = 0;
      options.onProgress?.({ table, copied, total });
      for (let offset = 0; ; offset += pageSize) {
        const rows = await from.all<Record<string, SqlValue>>(`SELECT * FROM ${table} ORDER BY ${order} LIMIT ? OFFSET ?`, [pageSize, offset]);
        if (rows.length === 0) break;
        const columns = Object.keys(rows[0]!);
        // Several rows a statement, within both databases' limits on parameters.
        const perInsert = Math.max(1, Math.min(500, Math.floor(30_000 / columns.length)));
        for (let i = 0; i < rows.length; i += perInsert) {
          const chunk = rows.slice(i, i + perInsert);
          await tx.run(
            `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ')}`,
            chunk.flatMap((r) => columns.map((c) => r[c] ?? null)),
          );
        }
        copied += rows.length;
        options.onProgress?.({ table, copied, total });
        if (rows.length < pageSize) break;
      }
    }
  });
  const after = await tableCounts(to);
  const differ = Object.keys(sourceCounts).filter((t) => sourceCounts[t] !== after[t]);
  if (differ.length > 0) throw new CopyError(`After the copy, ${differ.map((t) => `${t} has ${after[t]} rows, not ${sourceCounts[t]}`).join('; ')}.`);
  return after;
}

/** The columns to page a table by: its primary key, or every column. */
async function primaryKeyOf(db: SqlDatabase, table: string): Promise<string> {
  if (db.dialect === 'sqlite') {
    const columns = await db.all<{ name: string; pk: number }>(`PRAGMA table_info(${table})`);
    const pk = columns.filter((c) => Number(c.pk) > 0).sort((a, b) => Number(a.pk) - Number(b.pk)).map((c) => c.name);
    return (pk.length > 0 ? pk : columns.map((c) => c.name)).join(', ');
  }
  const pk = await db.all<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey::int2[])
     WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident(?))::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [table],
  );
  if (pk.length > 0) return pk.map((r) => r.name).join(', ');
  const all = await db.all<{ name: string }>('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position', [table]);
  return all.map((r) => r.name).join(', ');
}
