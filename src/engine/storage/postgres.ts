/**
 * PostgreSQL behind the storage port, through node-postgres (`pg`): a pool of connections, each
 * transaction on one of them. Statements are written once for both databases (`?` placeholders,
 * translated here to `$1, $2, ...`); BIGINT columns (times in ms, cents) come back as numbers.
 *
 * The URL is libpq's (`postgres://user@host:5432/db`, with PGPASSWORD, ~/.pgpass and `sslmode`
 * honoured by the driver), plus `?schema=NAME`: Sunset's tables live in that schema, created if
 * missing, so several Sunsets (or test files) can share one database.
 */
import pg from 'pg';
import { databaseLabel, StorageError, type SqlDatabase, type SqlValue, type StorageFailureKind } from './sql.js';

export interface PostgresOptions {
  /** Connections in the pool (default 10). */
  maxConnections?: number;
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
}

/** BIGINT (int8, OID 20) as a JavaScript number: Sunset's BIGINTs are epoch ms and cents, far below 2^53. */
const types = {
  getTypeParser(oid: number, format?: string): (value: string) => unknown {
    if (oid === 20) return (value: string) => Number(value);
    return (pg.types.getTypeParser as (oid: number, format?: string) => (value: string) => unknown)(oid, format);
  },
};

const translated = new Map<string, string>();
/** `?` → `$n`, outside quoted strings and identifiers. */
export function toPositional(sql: string): string {
  const cached = translated.get(sql);
  if (cached !== undefined) return cached;
  let out = '';
  let n = 0;
  let quote: string | null = null;
  for (const c of sql) {
    if (quote) {
      if (c === quote) quote = null;
      out += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      out += c;
    } else if (c === '?') out += `$${++n}`;
    else out += c;
  }
  if (translated.size < 2000) translated.set(sql, out);
  return out;
}

/** The failure kind of a driver error that is about the database itself; undefined for a statement's own error. */
export function postgresFailure(error: unknown): StorageFailureKind | undefined {
  const code = String((error as { code?: unknown }).code ?? '');
  const message = error instanceof Error ? error.message : '';
  if (/^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE)$/.test(code)) return 'unreachable';
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return 'unreachable';
  if (!code && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection timeout/i.test(message)) return 'unreachable';
  if (code === '53100' || code === '53200' || code === '53300' || code === '53400') return 'full';
  if (code.startsWith('28') || code === '42501' || code === '25006') return 'denied';
  if (code === '3D000' || code === '3F000') return 'missing';
  if (code === 'XX001' || code === 'XX002') return 'integrity';
  return undefined;
}

function mapped(error: unknown, label: string): unknown {
  const kind = postgresFailure(error);
  if (!kind) return error;
  const code = String((error as { code?: unknown }).code ?? 'connection');
  const detail = error instanceof Error ? error.message : String(error);
  const what: Record<StorageFailureKind, string> = {
    unreachable: `cannot reach the database ${label}`,
    full: `the database ${label} is out of space or connections`,
    denied: `the database ${label} refused access`,
    missing: `the database ${label} does not exist`,
    integrity: `the database ${label} reports damaged data`,
    busy: `the database ${label} is busy`,
  };
  return new StorageError(kind, `${what[kind]} (${code}: ${detail})`, code, { cause: error });
}

/** Splits Sunset's own `schema` parameter off a libpq URL. */
export function parsePostgresUrl(location: string): { connectionString: string; schema: string | undefined; label: string } {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new StorageError('missing', `${location.replace(/:[^:@/]*@/, ':***@')} is not a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE).`, 'EINVAL');
  }
  const schema = url.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new StorageError('missing', `?schema=${schema}: a schema name is lower-case letters, digits and _ (at most 63), starting with a letter.`, 'EINVAL');
  }
  url.searchParams.delete('schema');
  return { connectionString: url.toString(), schema, label: databaseLabel(url.toString()) };
}

export function openPostgres(location: string, options: PostgresOptions = {}): SqlDatabase {
  const { connectionString, schema, label } = parsePostgresUrl(location);
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    application_name: 'sunset',
  });
  // An idle connection the server closed (a restart): the pool drops it; the next query opens another.
  pool.on('error', () => undefined);
  let ready: Promise<void> | undefined;
  const ensureReady = (): Promise<void> => {
    ready ??= schema
      ? pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`).then(() => undefined, (error: unknown) => {
        ready = undefined;
        // Another process creating it at the same moment is fine.
        if ((error as { code?: unknown }).code === '23505' || (error as { code?: unknown }).code === '42P06') return;
        throw mapped(error, label);
      })
      : Promise.resolve();
    return ready;
  };

  type Queryable = Pick<pg.Pool, 'query'>;
  const on = (client: Queryable, inTransaction: boolean): SqlDatabase => {
    const query = async (sql: string, params: readonly SqlValue[] = []): Promise<pg.QueryResult> => {
      if (!inTransaction) await ensureReady();
      try {
        return await client.query(toPositional(sql), params as unknown[]);
      } catch (error) {
        throw mapped(error, label);
      }
    };
    const handle: SqlDatabase = {
      dialect: 'postgres',
      all: async <T>(sql: string, params?: readonly SqlValue[]) => (await query(sql, params)).rows as T[],
      get: async <T>(sql: string, params?: readonly SqlValue[]) => (await query(sql, params)).rows[0] as T | undefined,
      run: async (sql, params) => (await query(sql, params)).rowCount ?? 0,
      exec: async (sql) => {
        if (!inTransaction) await ensureReady();
        try {
          await client.query(sql);
        } catch (error) {
          throw mapped(error, label);
        }
      },
      transaction: inTransaction ? (fn) => fn(handle) : transaction,
      close: async () => undefined,
    };
    return handle;
  };

  const transaction = async <T>(fn: (tx: SqlDatabase) => Promise<T>): Promise<T> => {
    await ensureReady();
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw mapped(error, label);
    }
    let broken: unknown;
    // Checked out, the connection is not the pool's to watch: the server closing it between two
    // statements (a restart) would be an unhandled 'error' event, which ends the process.
    const onError = (error: Error): void => {
      broken = error;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await fn(on(client, true));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError;
      }
      throw mapped(error, label);
    } finally {
      client.off('error', onError);
      // A connection that failed even to roll back (or that the server closed) is not given back to the pool.
      client.release(broken instanceof Error ? broken : undefined);
    }
  };

  const self = on(pool, false);
  return {
    ...self,
    transaction,
    close: async () => {
      await pool.end();
    },
  };
}
