/**
 * `--database sqlite|postgres` for the single-organization benchmarks: where the journal lives.
 * SQLite: a file in the bench's temporary directory (the default, as before). PostgreSQL: a fresh
 * schema of SUNSET_TEST_POSTGRES (or the machine's postgres://postgres@127.0.0.1:5432/postgres),
 * dropped by `drop()` with the queue's schema beside it.
 */
import { join } from 'node:path';
import pg from 'pg';

export interface StorageChoice {
  kind: 'sqlite' | 'postgres';
  /** What to give `--database`. */
  location: string;
  drop(): Promise<void>;
}

export function storageChoice(flag: string | undefined, dir: string, name: string): StorageChoice {
  const kind = (flag ?? 'sqlite').toLowerCase();
  if (kind === 'sqlite') return { kind: 'sqlite', location: join(dir, 'sunset.db'), drop: async () => undefined };
  if (kind !== 'postgres') throw new Error(`--database ${flag}: use sqlite or postgres`);
  const server = process.env.SUNSET_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/postgres';
  const schema = `bench_${name}_${process.pid}`;
  const url = new URL(server);
  url.searchParams.set('schema', schema);
  const drop = async (): Promise<void> => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const client = new pg.Client({ connectionString: server });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.query(`DROP SCHEMA IF EXISTS "${schema}_queue" CASCADE`);
    } finally {
      await client.end();
    }
  };
  // Ctrl-C or a kill: the schema is dropped before the process ends (the children get the signal too).
  function onSignal(signal: NodeJS.Signals): void {
    drop().then(
      () => process.exit(signal === 'SIGINT' ? 130 : 143),
      (error: unknown) => {
        console.error(`could not drop the bench's schema ${schema}: ${String(error)}`);
        process.exit(1);
      },
    );
  }
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { kind: 'postgres', location: url.toString(), drop };
}
