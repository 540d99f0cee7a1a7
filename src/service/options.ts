/**
 * What a service is made of (createService's options) and the Zoho connection it works through:
 * types only, so the service's context and routes can name them without importing server.ts.
 */
import type { BooksPort, EngineClock, Failpoint, Journal, SqlDatabase } from '../engine/index.js';
import type { ServiceLogger } from './logger.js';
import type { MappingFile } from './mapping-file.js';
import type { NotificationOptions } from './notifications.js';
import type { ZohoCallInfo } from './metrics.js';
import type { ConnectionInput, ConnectionTested, StoredConnectionView } from './api-types.js';

export interface ServiceConnection {
  /** Its name among the database's connections (`sunset connections`); absent for the one of --credentials or --emulator. */
  name?: string;
  /** What it reaches (`zoho:EU`, `emulator:URL`, `embedded`): the service works only on runs and plans made there. */
  target: string;
  port(organizationId: string): BooksPort;
  /** The organizations it reaches, with Zoho's `time_zone` as Zoho writes it (absent: Zoho did not say). */
  organizations(): Promise<Array<{ organizationId: string; name: string; plan: string; timeZone?: string }>>;
  stats(): { apiCalls: number; rateLimited: number };
  /** Subscribes to every Zoho call's answer (for the latency histogram of /metrics); optional. */
  onResponse?(listener: (info: ZohoCallInfo) => void): void;
  /**
   * The organizations recorded for it when it was added or last tested: routed to it before it has
   * listed them, and shown with its error when it cannot list them now.
   */
  recorded?: Array<{ organizationId: string; name: string; timeZone?: string }>;
}

/**
 * Many connections (`sunset serve` on the database's connections), which the service's
 * Connections page adds, tests and removes without a restart. What it throws for a request it
 * refuses is a ConnectionRequestError (src/service/connection-set.ts), never with a secret in it.
 */
export interface ConnectionManager {
  /** The connections now: a new set after add and remove. */
  connections(): ServiceConnection[];
  /** Calls and 429 answers through every connection so far (a removed connection's stay counted). */
  stats(): { apiCalls: number; rateLimited: number };
  onResponse?(listener: (info: ZohoCallInfo) => void): void;
  /** Every connection as the database keeps it, without a secret. */
  list(): Promise<StoredConnectionView[]>;
  /** Checks the account (exchanging a code, listing its organizations) and keeps it; nothing is kept when that fails. */
  add(input: ConnectionInput, actor: string): Promise<StoredConnectionView>;
  /** Refreshes its token and lists its organizations again, recording them. */
  test(name: string): Promise<ConnectionTested>;
  /** false: no such connection. */
  remove(name: string): Promise<boolean>;
  /** Reads every connection from the database again: another process (a `serve`) added or removed one. */
  reloadAll?(): Promise<void>;
}

export interface ServiceOptions {
  journal: Journal;
  /** The database the journal was opened on: the service keeps its own tables there (src/service/store.ts). */
  database: SqlDatabase;
  /** The one connection it works through (--credentials, --emulator, the embedded emulator, a test's)... */
  connection?: ServiceConnection;
  /** ...or many, managed from the service: one of the two. */
  connections?: ConnectionManager;
  clock?: EngineClock;
  /** Lease owner name of this process. */
  owner: string;
  isDead?: (owner: string) => boolean;
  /** Lets Prometheus scrape /metrics with `Authorization: Bearer <token>`. */
  metricsToken?: string;
  sessionTtlMs?: number;
  /** Mark cookies Secure (behind HTTPS). */
  secureCookies?: boolean;
  /** Where app.html, login.html, app.js and app.css are. */
  uiDir: string;
  /** Crash injection for the crash suite: where CRM runs kill the process (SUNSET_FAILPOINT). */
  failpoint?: Failpoint;
  /** `--public-url`: the address users and the CRM reach the service by (behind a proxy). */
  publicUrl?: string;
  /** `--crm-mapping FILE`: the CRM values that mean inactive/active, for the organizations it names (or all). */
  mappingFile?: MappingFile;
  /** How often to apply accepted CRM events (default 1 s) and check schedules (default 30 s); 0 turns a loop off (tests drive it). */
  webhookIntervalMs?: number;
  scheduleIntervalMs?: number;
  /** Where the service logs (pino's Logger fits; `createLogger` in logger.ts makes one); default: nowhere. */
  logger?: ServiceLogger;
  /** E-mail (SMTP) and webhook notifications: src/service/notifications.ts, docs/notifications.md. */
  notifications?: NotificationOptions;
  /**
   * Work through the cluster's job queue (PostgreSQL only; src/service/work-queue.ts): scans,
   * applies and verifies become jobs that any worker takes. `work`: this process is one of the
   * workers too (`sunset serve --work`, the default); false: it only serves (`--no-work`).
   */
  queue?: { connectionString: string; work: boolean; concurrency?: number; heartbeatSeconds?: number; superviseIntervalSeconds?: number };
}
