import pg from 'pg';
import { defineConfig } from 'vitest/config';

/**
 * The suites that keep data (the journal, the service's store, crash and storage) run twice: on
 * SQLite files (the project `sqlite`, with every other test) and on the machine's real PostgreSQL
 * (the project `postgres`, SUNSET_TEST_DATABASE=postgres; test/helpers/database.ts). CI requires
 * the server; elsewhere, without one, the `postgres` project is skipped with a message.
 */
const POSTGRES_SUITES = [
  'test/engine/journal.test.ts',
  'test/engine/journal-check.test.ts',
  'test/engine/crash-inprocess.test.ts',
  'test/engine/scan-apply.test.ts',
  'test/engine/storage-migrations.test.ts',
  'test/engine/budget.test.ts',
  'test/engine/budget-processes.test.ts',
  'test/service/**/*.test.ts',
  'test/reliability/crash.test.ts',
  'test/reliability/cluster-crash.test.ts',
  'test/reliability/storage.test.ts',
  'test/cli/crash-sigkill.test.ts',
  'test/cli/run-lease.test.ts',
  'test/cli/db.test.ts',
  'test/cli/connections.test.ts',
  'test/cli/serve-connections.test.ts',
  'test/cli/worker-cluster.test.ts',
  'test/cli/postgres-restart.test.ts',
];

const POSTGRES_URL = process.env.SUNSET_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/postgres';

async function postgresReachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export default defineConfig(async () => {
  const unreachable = await postgresReachable();
  if (unreachable && process.env.CI) {
    throw new Error(`CI runs the PostgreSQL suites, and PostgreSQL is not reachable at ${POSTGRES_URL} (${unreachable}). Start it (DEVELOPERS.md) or set SUNSET_TEST_POSTGRES.`);
  }
  if (unreachable) {
    console.warn(`\nPostgreSQL is not reachable at ${POSTGRES_URL} (${unreachable}): the postgres project's suites are skipped.\n`
      + 'To run them, start a server (DEVELOPERS.md: "PostgreSQL for the tests") or point SUNSET_TEST_POSTGRES at one.\n');
  }
  const shared = {
    pool: 'forks' as const,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for a page (or a process) to catch up; on a loaded 2-core CI machine 1 s
    // (the default) is too short. It only bounds a hang: a poll returns as soon as it holds.
    expect: { poll: { timeout: 15_000 } },
  };
  return {
    test: {
      reporters: ['default'],
      projects: [
        { test: { ...shared, name: 'sqlite', include: ['test/**/*.test.ts'] } },
        ...(unreachable ? [] : [{
          test: {
            ...shared,
            name: 'postgres',
            include: POSTGRES_SUITES,
            env: { SUNSET_TEST_DATABASE: 'postgres', SUNSET_TEST_POSTGRES: POSTGRES_URL },
            setupFiles: ['test/setup/postgres.ts'],
          },
        }]),
      ],
    },
  };
});
