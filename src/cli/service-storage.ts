/**
 * What `sunset serve` and `sunset worker` open before they work: the journal's database and the
 * Zoho connections they work through — --emulator or --credentials when given (one); else every
 * connection in the database (`sunset connections`), each organization through its own; else the
 * credentials of `sunset auth login`; else the embedded emulator.
 */
import { createConnectionStore, describeTarget, type Journal, type SqlDatabase } from '../engine/index.js';
import type { ServiceOptions } from '../service/index.js';
import { intFlag } from './args.js';
import type { CliIO } from './io.js';
import { secretKeys } from './secret-key.js';
import { createServiceConnections } from './service-connections.js';
import { openStorage, openWorkspace, type Storage } from './workspace.js';

export interface ServiceStorage {
  journal: Journal;
  database: SqlDatabase;
  /** createService's (and a worker's) connection options: one connection, or the database's many. */
  connections: Pick<ServiceOptions, 'connection' | 'connections'>;
  /** For the start-up line: "2 connections (acme-eu: Zoho Books (EU), globex-in: ...)". */
  description: string;
  close(): Promise<void>;
}

export interface ServiceStorageValues {
  emulator?: string;
  credentials?: string;
  'per-minute'?: string;
  [flag: string]: unknown;
}

export async function openServiceStorage(io: CliIO, dbPath: string, values: ServiceStorageValues): Promise<ServiceStorage> {
  // A worker holding many organizations draws from their budgets and writes their journals at once: SUNSET_DB_POOL connections (default 10).
  const pool = intFlag(io.env.SUNSET_DB_POOL, 'SUNSET_DB_POOL', 2, 500);
  const storage = await openStorage(dbPath, { create: true, ...(pool !== undefined ? { maxConnections: pool } : {}) });
  const many = await databaseConnections(io, storage, values);
  if (many) {
    return {
      journal: storage.journal, database: storage.database, connections: { connections: many.manager }, description: many.description,
      // Answers not yet written to the budget would count as in flight for their lease (60 s) after this process is gone.
      close: async () => {
        await many.manager.flushBudget().catch(() => undefined);
        await storage.journal.close();
      },
    };
  }
  const workspace = await openWorkspace(io, { ...values, json: false }, { storage });
  const connection = workspace.connection;
  return {
    journal: workspace.journal,
    database: workspace.database,
    connections: {
      connection: {
        target: connection.target,
        port: (organization) => connection.port(organization),
        organizations: () => connection.port(connection.defaultOrganizationId ?? '0').organizations(),
        stats: () => ({ apiCalls: connection.apiCalls(), rateLimited: connection.rateLimited() }),
        onResponse: (listener) => connection.onResponse(listener),
      },
    },
    description: connection.description,
    close: () => workspace.close(),
  };
}

/**
 * The database's connections, when it has any and neither --credentials nor --emulator (nor their
 * twins) names another place: the service then works through all of them, each organization
 * through its own, and the Connections page adds and removes them.
 */
async function databaseConnections(io: CliIO, storage: Storage, values: ServiceStorageValues): Promise<{ manager: NonNullable<ServiceOptions['connections']> & { flushBudget(): Promise<void> }; description: string } | undefined> {
  if ((values.emulator ?? '') !== '' || (values.credentials ?? '') !== '') return undefined;
  try {
    const store = createConnectionStore(storage.database, secretKeys(io.env));
    const listed = await store.list();
    if (listed.length === 0) return undefined;
    const perMinute = intFlag(values['per-minute'], 'per-minute', 1, 1_000_000);
    const manager = await createServiceConnections({ store, env: io.env, ...(perMinute ? { perMinute } : {}) });
    const description = `${listed.length} connection${listed.length === 1 ? '' : 's'} (${listed.map((c) => `${c.name}: ${describeTarget(c.target)}`).join(', ')})`;
    return { manager, description };
  } catch (error) {
    await storage.journal.close();
    throw error;
  }
}

/** Queue timings a test (or an impatient operator) may shorten: SUNSET_QUEUE_HEARTBEAT_S, SUNSET_QUEUE_SUPERVISE_S. */
export function queueTuning(env: NodeJS.ProcessEnv): { heartbeatSeconds?: number; superviseIntervalSeconds?: number } {
  const heartbeat = intFlag(env.SUNSET_QUEUE_HEARTBEAT_S, 'SUNSET_QUEUE_HEARTBEAT_S', 10, 3600);
  const supervise = intFlag(env.SUNSET_QUEUE_SUPERVISE_S, 'SUNSET_QUEUE_SUPERVISE_S', 1, 3600);
  return { ...(heartbeat !== undefined ? { heartbeatSeconds: heartbeat } : {}), ...(supervise !== undefined ? { superviseIntervalSeconds: supervise } : {}) };
}
