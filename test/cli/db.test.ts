/**
 * `sunset db status|migrate|schema|copy`, through the built CLI. The copy moves a real history
 * (the demo's scan, plan, apply, verify and undo) without losing a row: the runs, the audit export
 * and `runs check` read the same on both sides. In the postgres project the history goes from a
 * SQLite file to PostgreSQL and back to another file; in the sqlite project, file to file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHarness, type Exit } from '../helpers/cli.js';
import { SERVICE_COMPONENT } from '../../src/service/index.js';
import { POSTGRES_TEST_URL, postgresTestLocation, TEST_DATABASE } from '../helpers/database.js';

/** The newest version of the service's tables this Sunset knows. */
const SERVICE_VERSION = Math.max(...SERVICE_COMPONENT.migrations.map((m) => m.version));

const h = createHarness();
afterAll(async () => h.cleanupAll());

const show = (what: string, e: Exit): string => `${what}: exit ${e.code}\n${e.stdout}\n${e.stderr}`;

describe('sunset db', () => {
  it('status names what is missing, migrate applies it, schema prints the committed dump', async () => {
    const dir = h.temp('sunset-db-');
    const run = (args: string[]): Promise<Exit> => h.run(args, { cwd: dir, env: { SUNSET_HOME: join(dir, 'home') } });
    const none = await run(['db', 'status']);
    expect(none.code, show('status without a journal', none)).toBe(3);
    expect(none.stderr).toMatch(/There is no journal at .*sunset\.db/);

    const location = TEST_DATABASE === 'postgres' ? postgresTestLocation('dbcli') : join(dir, 'team.db');
    const migrated = await run(['db', 'migrate', '--database', location, '--json']);
    expect(migrated.code, show('migrate', migrated)).toBe(0);
    const applied = (JSON.parse(migrated.stdout) as { applied: Array<{ component: string }> }).applied.map((a) => a.component);
    // Every migration this Sunset knows, once (the journal's, the connections', the service's, the notifications', the budget's).
    expect(applied).toEqual(['journal', 'journal', 'journal', 'connections', ...SERVICE_COMPONENT.migrations.map(() => 'service'), 'notifications', 'budget', 'budget']);
    const status = await run(['db', 'status', '--database', location]);
    expect(status.code, show('status', status)).toBe(0);
    expect(status.stdout).toMatch(/journal +version 3 of 3: up to date/);
    expect(status.stdout).toMatch(/budget +version 2 of 2: up to date/);
    expect(status.stdout).toMatch(new RegExp(`service +version ${SERVICE_VERSION} of ${SERVICE_VERSION}: up to date`));
    expect(status.stdout).toMatch(/connections +version 1 of 1: up to date/);
    const schema = await run(['db', 'schema', '--database', location]);
    expect(schema.stdout).toBe(readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'schema', `${TEST_DATABASE}.sql`), 'utf8'));

    const usage = await run(['db', 'copy', '--from', location]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/Name both databases/);
    expect((await run(['db', 'rename'])).code).toBe(2);
  });

  it('copy moves a whole history: the same runs, audit and a sound journal on the other side; a second copy into it is refused', async () => {
    const dir = h.temp('sunset-db-copy-');
    const env = { SUNSET_HOME: join(dir, 'home') };
    const run = (args: string[], timeoutMs = 60_000): Promise<Exit> => h.run(args, { cwd: dir, env, timeoutMs });
    const source = join(dir, 'grown-up.db');
    const demo = await run(['demo', '--database', source, '--contacts', '300', '--report', join(dir, 'report.html')], 120_000);
    expect(demo.code, show('demo', demo)).toBe(0);
    const read = async (location: string): Promise<{ runs: string; audit: string; check: unknown }> => {
      const runs = await run(['runs', '--database', location, '--json']);
      const audit = await run(['audit', '--database', location, '--format', 'csv']);
      const check = await run(['runs', 'check', '--database', location, '--json']);
      expect(runs.code, show('runs', runs)).toBe(0);
      expect(audit.code, show('audit', audit)).toBe(0);
      return { runs: runs.stdout, audit: audit.stdout, check: JSON.parse(check.stdout) };
    };
    const before = await read(source);
    expect(JSON.parse(before.runs)).toHaveLength(2);
    expect(before.audit.split('\n').length).toBeGreaterThan(100);

    const hops = TEST_DATABASE === 'postgres' ? [postgresTestLocation('copy'), join(dir, 'back.db')] : [join(dir, 'copy.db')];
    let from = source;
    for (const to of hops) {
      const copied = await run(['db', 'copy', '--from', from, '--to', to, '--json'], 120_000);
      expect(copied.code, show(`copy to ${to}`, copied)).toBe(0);
      const result = JSON.parse(copied.stdout) as { tables: Record<string, number>; rows: number };
      expect(result.tables.runs).toBe(2);
      expect(result.tables.snapshot_contacts).toBeGreaterThan(200);
      expect(result.rows).toBeGreaterThan(1000);
      const after = await read(to);
      expect(after.runs).toBe(before.runs);
      expect(after.audit).toBe(before.audit);
      expect(after.check).toEqual({ ok: true, runs: 2, problems: [] });

      // Into a database that holds rows: refused, and nothing written.
      const again = await run(['db', 'copy', '--from', from, '--to', to]);
      expect(again.code, show('second copy', again)).toBe(1);
      expect(again.stderr).toMatch(/Nothing was copied: The target already holds data \(.*2 runs/);
      expect((await read(to)).runs).toBe(before.runs);
      from = to;
    }
  });

  it.skipIf(TEST_DATABASE !== 'postgres')('a PostgreSQL server that cannot be reached is a storage failure with advice, not a bug, and the password is not shown', async () => {
    const dir = h.temp('sunset-db-down-');
    const url = new URL(POSTGRES_TEST_URL);
    url.port = '1';
    url.password = 'hunter2-secret';
    const down = await h.run(['runs', '--json'], { cwd: dir, env: { SUNSET_HOME: join(dir, 'home'), SUNSET_DATABASE_URL: url.toString() } });
    expect(down.code, show('runs on a server that is down', down)).toBe(1);
    const error = (JSON.parse(down.stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('storage_unreachable');
    expect(error.message).toMatch(/cannot reach the database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/.*Check that the database server is running/);
    expect(`${down.stdout}${down.stderr}`).not.toContain('hunter2-secret');
    expect(down.stderr).not.toMatch(/bug/);
  });
});
