/**
 * The database a test's journal and service tables live in. The same suites run twice (the vitest
 * projects `sqlite` and `postgres`, vitest.config.ts): on SQLite files, and with
 * SUNSET_TEST_DATABASE=postgres on the machine's real PostgreSQL server (SUNSET_TEST_POSTGRES, by
 * default postgres://postgres@127.0.0.1:5432/postgres), where each SQLite file a test would have
 * made becomes a schema of its own, named after the file, and dropped when the test file ends.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import pg from 'pg';
import { openPostgres, openSqlite, type SqlDatabase } from '../../src/engine/index.js';

export const POSTGRES_TEST_URL = process.env.SUNSET_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/postgres';

/** Which database this run of the suites uses. */
export const TEST_DATABASE: 'sqlite' | 'postgres' = process.env.SUNSET_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';

const schemas = new Set<string>();

/** A new schema name on the test server, unique to this process and call. */
export function newTestSchema(hint = 'db'): string {
  const name = `t_${hint.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  schemas.add(name);
  return name;
}

/** A PostgreSQL URL of a fresh schema on the test server (created on first use). */
export function postgresTestLocation(hint?: string): string {
  const url = new URL(POSTGRES_TEST_URL);
  url.searchParams.set('schema', newTestSchema(hint));
  return url.toString();
}

/**
 * Where the journal for a SQLite file `path` lives in this run: the file itself, or (postgres) a
 * schema named after the file's path, the same for every process of the test that names it.
 */
export function testLocation(path: string): string {
  if (TEST_DATABASE === 'sqlite') return path;
  const name = `t_${createHash('sha256').update(resolve(path)).digest('hex').slice(0, 16)}`;
  schemas.add(name);
  const url = new URL(POSTGRES_TEST_URL);
  url.searchParams.set('schema', name);
  return url.toString();
}

/** Opens the database for the SQLite file `path` (see testLocation). */
export function openTestDatabase(path: string, options: { durable?: boolean } = {}): SqlDatabase {
  const location = testLocation(path);
  return TEST_DATABASE === 'sqlite' ? openSqlite(location, options) : openPostgres(location, { maxConnections: 4 });
}

/** Drops every schema this test file made, and its job queue's (the postgres project's setup file calls it after each file). */
export async function dropTestSchemas(): Promise<void> {
  if (schemas.size === 0) return;
  const client = new pg.Client({ connectionString: POSTGRES_TEST_URL });
  await client.connect();
  try {
    // The job queue's schema beside each (pg-boss's tables, when a serve or worker ran on it).
    for (const name of schemas) {
      await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      await client.query(`DROP SCHEMA IF EXISTS ${name}_queue CASCADE`);
    }
    schemas.clear();
  } finally {
    await client.end();
  }
}
