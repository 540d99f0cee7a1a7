/**
 * Versioned, forward-only migrations, for both databases. Each component that keeps tables (the
 * journal, the service) has its own numbered list; the `schema_migrations` table records which of
 * them a database has, when, and under what name. A database with a version newer than this
 * Sunset knows is refused: a newer Sunset wrote it, and this one would misread it.
 *
 * Migrations of one component run in order, in one transaction; on PostgreSQL an advisory lock
 * first makes several processes starting at once wait for the one that migrates.
 */
import { hasTable } from './inspect.js';
import type { SqlDatabase } from './sql.js';

export interface Migration {
  version: number;
  name: string;
  /** The statements (or a function for work that reads first); both databases unless `postgres`/`sqlite` is given. */
  up: readonly string[] | ((tx: SqlDatabase) => Promise<void>);
}

export interface Component {
  name: string;
  migrations: readonly Migration[];
  /**
   * The version the component's own marker records, if it keeps one (the journal's
   * `journal_meta.schema_version`, written before the migrations table existed and kept since).
   * A marker newer than this Sunset knows is refused like a newer migration; a database with the
   * marker but no migration rows (made before the table existed) is adopted at that version: the
   * versions up to it are recorded as applied, and the rest run as usual.
   */
  recorded?: (tx: SqlDatabase) => Promise<number>;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export interface ComponentStatus {
  component: string;
  /** The highest version this database has (0: none). */
  current: number;
  /** The highest version this Sunset knows. */
  known: number;
  applied: Array<{ version: number; name: string; appliedAt: number }>;
  pending: Array<{ version: number; name: string }>;
}

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  component TEXT NOT NULL,
  version INTEGER NOT NULL,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL,
  PRIMARY KEY (component, version)
)`;

/** A number for PostgreSQL's advisory lock: "migrating Sunset's schema". */
const MIGRATION_LOCK = 0x53554e53; // "SUNS"

function known(component: Component): number {
  return component.migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

function newerThanKnown(component: Component, version: number): MigrationError {
  return new MigrationError(
    `This database's ${component.name} has schema version ${version}, newer than this Sunset knows (${known(component)}): `
    + 'a newer Sunset has used it. Use that Sunset (or a newer one); this one changes nothing.',
  );
}

async function appliedOf(db: SqlDatabase, component: string): Promise<ComponentStatus['applied']> {
  if (!(await hasTable(db, 'schema_migrations'))) return [];
  const rows = await db.all<{ version: number; name: string; applied_at: number }>(
    'SELECT version, name, applied_at FROM schema_migrations WHERE component = ? ORDER BY version',
    [component],
  );
  return rows.map((r) => ({ version: Number(r.version), name: String(r.name), appliedAt: Number(r.applied_at) }));
}

/** What a database has and lacks of each component, without changing it. */
export async function migrationStatus(db: SqlDatabase, components: readonly Component[]): Promise<ComponentStatus[]> {
  const out: ComponentStatus[] = [];
  for (const c of components) {
    const applied = await appliedOf(db, c.name);
    // The component's own marker, if it keeps one: a database from before the migrations table is
    // at that version (adopted at the next migrate); one above what this Sunset knows is newer.
    const marked = (await c.recorded?.(db)) ?? 0;
    const adopted = applied.length === 0 ? marked : 0;
    const current = Math.max(marked, ...applied.map((a) => a.version));
    out.push({
      component: c.name,
      current,
      known: known(c),
      applied,
      pending: c.migrations.filter((m) => m.version > adopted && !applied.some((a) => a.version === m.version)).map((m) => ({ version: m.version, name: m.name })),
    });
  }
  return out;
}

/** Brings each component forward to the newest version this Sunset knows; returns the migrations applied. */
export async function migrate(db: SqlDatabase, components: readonly Component[], now = Date.now()): Promise<Array<{ component: string; version: number; name: string }>> {
  const done: Array<{ component: string; version: number; name: string }> = [];
  // A database a newer Sunset has moved on is refused before any component changes; one that is
  // up to date (every command opens the database this way) is left without a transaction.
  const statuses = await migrationStatus(db, components);
  statuses.forEach((status, i) => {
    if (status.current > status.known) throw newerThanKnown(components[i]!, status.current);
  });
  if (statuses.every((status) => status.pending.length === 0 && status.applied.length > 0)) return done;
  for (const component of components) {
    await db.transaction(async (tx) => {
      if (tx.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
      await tx.exec(MIGRATIONS_TABLE);
      let applied = await appliedOf(tx, component.name);
      // Again inside the transaction: another process may have moved on meanwhile.
      const marked = (await component.recorded?.(tx)) ?? 0;
      if (marked > known(component)) throw newerThanKnown(component, marked);
      if (applied.length === 0 && marked > 0) {
        const at = marked;
        for (const m of component.migrations.filter((x) => x.version <= at)) {
          await tx.run('INSERT INTO schema_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)', [component.name, m.version, `${m.name} (adopted)`, now]);
        }
        applied = await appliedOf(tx, component.name);
      }
      const current = applied.reduce((max, a) => Math.max(max, a.version), 0);
      if (current > known(component)) throw newerThanKnown(component, current);
      for (const m of [...component.migrations].sort((a, b) => a.version - b.version)) {
        if (applied.some((a) => a.version === m.version)) continue;
        if (typeof m.up === 'function') await m.up(tx);
        else for (const sql of m.up) await tx.exec(sql);
        await tx.run('INSERT INTO schema_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)', [component.name, m.version, m.name, now]);
        done.push({ component: component.name, version: m.version, name: m.name });
      }
    });
  }
  return done;
}
