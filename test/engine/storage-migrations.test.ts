/**
 * The storage's versioned migrations, constraints and adapters, on SQLite files and (the postgres
 * project) the real PostgreSQL server: a fresh database's schema is the committed dump of its
 * dialect; a database from before the migrations table is adopted and ends with the same schema; a
 * newer one is refused and left as it was; processes migrating at once apply each migration once;
 * the webhook dedupe and the due-event pick hold between two stores on one database; the adapters
 * report an unreachable server, a missing database and a file that is not a database as storage
 * failures of their kind.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BUDGET_COMPONENT, CONNECTIONS_COMPONENT, createJournal, dumpSchema, JOURNAL_COMPONENT, migrate, migrationStatus, MigrationError, openPostgres, openSqlite, StorageError, type Component,
  type SqlDatabase,
} from '../../src/engine/index.js';
import { createServiceStore, NOTIFICATIONS_COMPONENT, SERVICE_COMPONENT } from '../../src/service/index.js';
import { openTestDatabase, POSTGRES_TEST_URL, postgresTestLocation, TEST_DATABASE } from '../helpers/database.js';
import { tempDir } from '../helpers/emulator.js';

const COMPONENTS = [JOURNAL_COMPONENT, CONNECTIONS_COMPONENT, SERVICE_COMPONENT, NOTIFICATIONS_COMPONENT, BUDGET_COMPONENT];
/** The newest version of the service's tables this Sunset knows. */
const SERVICE_VERSION = Math.max(...SERVICE_COMPONENT.migrations.map((m) => m.version));
const DUMP = join(import.meta.dirname, '..', '..', 'docs', 'schema', `${TEST_DATABASE}.sql`);

let dir: { path: string; cleanup: () => void };
const opened: SqlDatabase[] = [];
const open = (name = 'sunset.db'): SqlDatabase => {
  const db = openTestDatabase(join(dir.path, name));
  opened.push(db);
  return db;
};
/**
 * Another process's connection to the same database. On SQLite, connections of one process would
 * wait on each other's lock inside one thread (better-sqlite3 is synchronous), so there one
 * connection stands for both: separate processes on one file are raced in test/cli/run-lease.test.ts.
 */
const another = (first: SqlDatabase): SqlDatabase => (TEST_DATABASE === 'postgres' ? open() : first);

beforeEach(() => {
  dir = tempDir('sunset-migrations-');
});
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close().catch(() => undefined);
  dir.cleanup();
});

describe('versioned migrations', () => {
  it('migrate a fresh database to the committed schema dump of its dialect, and list nothing pending after', async () => {
    const db = open();
    const before = await migrationStatus(db, COMPONENTS);
    const names = (c: Component): string[] => c.migrations.map((m) => `${c.name} ${m.version}`);
    expect(before.map((s) => [s.component, s.current, s.pending.length])).toEqual(COMPONENTS.map((c) => [c.name, 0, c.migrations.length]));
    const applied = await migrate(db, COMPONENTS);
    expect(applied.map((a) => `${a.component} ${a.version}`)).toEqual(COMPONENTS.flatMap(names));
    const after = await migrationStatus(db, COMPONENTS);
    expect(after.map((s) => [s.component, s.current, s.known, s.pending.length])).toEqual(COMPONENTS.map((c) => [c.name, Math.max(...c.migrations.map((m) => m.version)), Math.max(...c.migrations.map((m) => m.version)), 0]));
    const dump = await dumpSchema(db);
    if (process.env.SUNSET_WRITE_SCHEMA) writeFileSync(DUMP, dump);
    // A change to the schema is a new migration and a new dump: `sunset db schema > docs/schema/DIALECT.sql`.
    expect(dump).toBe(readFileSync(DUMP, 'utf8'));
    expect(await migrate(db, COMPONENTS), 'a second migrate applies nothing').toEqual([]);
  });

  it('adopts a database from before the migrations table (a version 1 journal, the old org_settings) and ends with the same schema', async () => {
    const db = open();
    // What Sunset 0.1 and the first service made: the journal of version 1, and org_settings without last_run_at.
    // (Version 1 of the journal makes those tables exactly, with schema_version 1 in journal_meta.)
    const v1 = JOURNAL_COMPONENT.migrations[0]!.up;
    if (typeof v1 !== 'function') throw new Error('version 1 of the journal is a function');
    await v1(db);
    await db.exec(`CREATE TABLE org_settings (organization_id TEXT PRIMARY KEY, policy_text TEXT, cron TEXT, auto_apply_max INTEGER, last_scheduled_at BIGINT,
      webhook_mode TEXT, webhook_secret TEXT, webhook_mapping TEXT NOT NULL)`);
    await db.run("INSERT INTO org_settings (organization_id, policy_text, cron, webhook_mapping) VALUES ('701000001', NULL, '0 2 * * *', '{\"inactive\":[],\"active\":[]}')");
    await db.run("INSERT INTO runs (run_id, organization_id, kind, plan_id, undo_of, created_at, created_by, state, baseline_at, note) VALUES ('run-old', '701000001', 'plan', 'plan_a', NULL, 1, 'ana', 'done', 0, '')");

    const status = await migrationStatus(db, COMPONENTS);
    expect(status[0]).toMatchObject({ component: 'journal', current: 1, pending: [{ version: 2 }, { version: 3 }] });
    const applied = await migrate(db, COMPONENTS);
    expect(applied.map((a) => `${a.component} ${a.version}`)).toEqual(['journal 2', 'journal 3', 'connections 1', ...SERVICE_COMPONENT.migrations.map((m) => `service ${m.version}`), 'notifications 1', 'budget 1', 'budget 2']);
    const recorded = await db.all<{ component: string; version: number; name: string }>('SELECT component, version, name FROM schema_migrations ORDER BY component, version');
    expect(recorded.find((r) => r.component === 'journal' && Number(r.version) === 1)?.name).toMatch(/\(adopted\)$/);
    expect(await dumpSchema(db)).toBe(readFileSync(DUMP, 'utf8'));
    // Its rows came along: the run, and the settings under the table's new name.
    expect(await db.get("SELECT run_id, target FROM runs WHERE run_id = 'run-old'")).toEqual({ run_id: 'run-old', target: '' });
    expect((await createServiceStore(db).settings('701000001')).cron).toBe('0 2 * * *');
  });

  it('refuses a database a newer Sunset migrated (a version it does not know), and changes nothing', async () => {
    const db = open();
    await migrate(db, COMPONENTS);
    await db.run("INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ('service', 99, 'from the future', 1)");
    const error = await migrate(db, COMPONENTS).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(new RegExp(`service has schema version 99, newer than this Sunset knows \\(${SERVICE_VERSION}\\)`));
    const status = await migrationStatus(db, COMPONENTS);
    expect(status[2]).toMatchObject({ component: 'service', current: 99, known: SERVICE_VERSION });
    // The journal alone (the engine's own commands) still opens: its component is not newer.
    await expect(createJournal(db).migrate()).resolves.toBeUndefined();
  });

  it('applies each migration once when several processes open a fresh database at the same moment', async () => {
    const first = open();
    const others = [first, another(first), another(first), another(first)];
    const results = await Promise.all(others.map((db) => migrate(db, COMPONENTS)));
    expect(results.flat().map((a) => `${a.component} ${a.version}`).sort()).toEqual(COMPONENTS.flatMap((c) => c.migrations.map((m) => `${c.name} ${m.version}`)).sort());
    const rows = await first.all<{ n: number }>('SELECT COUNT(*) AS n FROM schema_migrations');
    expect(rows).toEqual([{ n: COMPONENTS.reduce((n, c) => n + c.migrations.length, 0) }]);
  });
});

describe('constraints instead of a look before the write', () => {
  const event = (n: number, key: string, subject = 'crm:acct1') => ({
    eventId: `evt-${n}`, organizationId: '701000001', receivedAt: 1_000 + n, crmAccountId: 'acct1', crmContactId: null, booksContactId: null, email: null, source: 'crm', status: 'Churned',
    action: 'deactivate' as const, state: 'accepted' as const, runId: null, attempts: 0, nextAttemptAt: 0, lastError: null, dedupeKey: key, subject, payload: '{}',
  });

  it('stores a named event once when two stores receive it at the same moment, and a repeat of a contact\'s latest event once', async () => {
    const db = open();
    const a = createServiceStore(db);
    const b = createServiceStore(another(db));
    await a.migrate();
    const named = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).addEvent(event(i, 'id:crm-event-77'))));
    expect(named.filter((r) => !r.duplicate)).toHaveLength(1);
    const stored = named.find((r) => !r.duplicate)!.event.eventId;
    for (const r of named.filter((x) => x.duplicate)) expect(r.event.eventId).toBe(stored);

    const unnamed = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).addEvent(event(100 + i, 'status:churned', 'crm:acct2'))));
    expect(unnamed.filter((r) => !r.duplicate)).toHaveLength(1);
    // A different status about the same contact is a new event; its repeat is not.
    expect((await a.addEvent(event(200, 'status:active', 'crm:acct2'))).duplicate).toBe(false);
    expect((await b.addEvent(event(201, 'status:active', 'crm:acct2'))).duplicate).toBe(true);
    expect((await a.addEvent(event(202, 'status:churned', 'crm:acct2'))).duplicate).toBe(false);
    expect(await a.events('701000001', 100)).toHaveLength(4);
  });

  it('leases each due event to one of two processors asking at once; a dead holder\'s events are taken over', async () => {
    const db = open();
    const a = createServiceStore(db);
    const b = createServiceStore(another(db));
    await a.migrate();
    for (let i = 0; i < 40; i++) await a.addEvent(event(i, `id:e${i}`, `crm:acct${i}`));
    const [byA, byB] = await Promise.all([
      a.claimDueEvents({ now: 5_000, limit: 25, owner: 'host:1:a', leaseMs: 60_000 }),
      b.claimDueEvents({ now: 5_000, limit: 25, owner: 'host:2:b', leaseMs: 60_000 }),
    ]);
    const idsA = byA.map((e) => e.eventId);
    const idsB = byB.map((e) => e.eventId);
    expect(idsA.filter((id) => idsB.includes(id)), 'no event leased twice').toEqual([]);
    expect(new Set([...idsA, ...idsB]).size).toBe(40);
    // Within the lease, nobody else gets them; the holder asking again does.
    expect(await b.claimDueEvents({ now: 6_000, limit: 100, owner: 'host:3:c', leaseMs: 60_000 })).toEqual([]);
    expect((await a.claimDueEvents({ now: 6_000, limit: 100, owner: 'host:1:a', leaseMs: 60_000 })).map((e) => e.eventId).sort()).toEqual([...idsA].sort());
    // A holder seen dead loses them at once; an expired lease does too.
    expect((await b.claimDueEvents({ now: 7_000, limit: 100, owner: 'host:3:c', leaseMs: 60_000, isDead: (o) => o === 'host:1:a' })).map((e) => e.eventId).sort()).toEqual([...idsA].sort());
    expect((await b.claimDueEvents({ now: 200_000, limit: 100, owner: 'host:4:d', leaseMs: 60_000 }))).toHaveLength(40);
  });
});

describe('sign-in failures counted by one statement each, between two stores on one database', () => {
  it('40 attempts at one name, from 40 addresses, at the same moment: 5 counted (the 5th starts the wait), 35 refused and counted nowhere', async () => {
    const db = open();
    const a = createServiceStore(db);
    const b = createServiceStore(another(db));
    await a.migrate();
    const now = 1_700_000_000_000;
    const claims = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).claimSignIn('admin', `10.0.0.${i}`, now)));
    expect(claims.filter((c) => c.allowed)).toHaveLength(5);
    expect(claims.filter((c) => !c.allowed)).toEqual(Array.from({ length: 35 }, () => ({ allowed: false, retryAt: now + 15_000, locked: false })));
    const states = await b.signInStates(now);
    expect(states.filter((r) => r.kind === 'user').map((r) => [r.failures, r.blockedUntil])).toEqual([[5, now + 15_000]]);
    // A refused attempt's address was not counted either (both or neither).
    expect(states.filter((r) => r.kind === 'address')).toHaveLength(5);
  });

  it('40 attempts from one address at 40 names at the same moment: the same, for the address', async () => {
    const db = open();
    const a = createServiceStore(db);
    const b = createServiceStore(another(db));
    await a.migrate();
    const now = 1_700_000_000_000;
    const claims = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).claimSignIn(`name-${i}`, '10.0.0.1', now)));
    expect(claims.filter((c) => c.allowed)).toHaveLength(5);
    const states = await a.signInStates(now);
    expect(states.filter((r) => r.kind === 'address').map((r) => [r.subject, r.failures, r.blockedUntil])).toEqual([['10.0.0.1', 5, now + 15_000]]);
    expect(states.filter((r) => r.kind === 'user').map((r) => r.failures)).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('storage failures are reported by kind', () => {
  it.skipIf(TEST_DATABASE !== 'postgres')('PostgreSQL: a server that does not answer is unreachable, a database that does not exist is missing, with no password shown', async () => {
    const closed = new URL(POSTGRES_TEST_URL);
    closed.port = '1';
    closed.password = 'hunter2-secret';
    const down = openPostgres(closed.toString(), { connectTimeoutMs: 2000 });
    const error = await down.get('SELECT 1').then(() => undefined, (e: unknown) => e);
    await down.close();
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ kind: 'unreachable' });
    expect((error as Error).message).not.toContain('hunter2-secret');

    const nowhere = new URL(POSTGRES_TEST_URL);
    nowhere.pathname = '/sunset_no_such_database';
    const missing = openPostgres(nowhere.toString());
    const error2 = await missing.get('SELECT 1').then(() => undefined, (e: unknown) => e);
    await missing.close();
    expect(error2).toMatchObject({ kind: 'missing', code: '3D000' });

    // A schema name that is not one is refused before anything is sent.
    expect(() => openPostgres(`${POSTGRES_TEST_URL}?schema=Robert');DROP`)).toThrow(/a schema name is lower-case letters/);
    // A statement's own error (a constraint) is not a storage failure: the caller handles it.
    const db = openPostgres(postgresTestLocation('errors'));
    opened.push(db);
    await db.exec('CREATE TABLE k (id TEXT PRIMARY KEY)');
    await db.run("INSERT INTO k (id) VALUES ('a')");
    const conflict = await db.run("INSERT INTO k (id) VALUES ('a')").then(() => undefined, (e: unknown) => e);
    expect(conflict).not.toBeInstanceOf(StorageError);
    expect(conflict).toMatchObject({ code: '23505' });
  });

  it.skipIf(TEST_DATABASE !== 'sqlite')('SQLite: a file that is not a database is an integrity failure, not a bug', async () => {
    const path = join(dir.path, 'not-a-database.db');
    writeFileSync(path, 'this is a text file, not SQLite\n'.repeat(200));
    const error = await (async () => {
      const db = openSqlite(path);
      opened.push(db);
      await db.get('SELECT 1');
    })().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ kind: 'integrity', code: 'SQLITE_NOTADB' });
  });
});
