/**
 * What a service is made of (createService's options) and the Zoho connection it works through:
 * types only, so the service's context and routes can name them without importing server.ts.
 */
import type { BooksPort, EngineClock, Failpoint, Journal, SqlDatabase } from '../engine/index.js';
import type { ServiceLogger } from './logger.js';
import type { MappingFile } from './mapping-file.js';
import type { NotificationOptions } from './notifications.js';
import type { ZohoCallInfo } from './metrics.js';

export interface ServiceConnection {
  /** What it reaches (`zoho:EU`, `emulator:URL`, `embedded`): the service works only on runs and plans made there. */
  target: string;
  port(organizationId: string): BooksPort;
  /** The organizations it reaches, with Zoho's `time_zone` as Zoho writes it (absent: Zoho did not say). */
  organizations(): Promise<Array<{ organizationId: string; name: string; plan: string; timeZone?: string }>>;
  stats(): { apiCalls: number; rateLimited: number };
  /** Subscribes to every Zoho call's answer (for the latency histogram of /metrics); optional. */
  onResponse?(listener: (info: ZohoCallInfo) => void): void;
}

export interface ServiceOptions {
  journal: Journal;
  /** The database the journal was opened on: the service keeps its own tables there (src/service/store.ts). */
  database: SqlDatabase;
  connection: ServiceConnection;
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
}
