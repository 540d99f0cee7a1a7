/**
 * The work queue: every piece of Zoho work of a cluster (scan + plan, apply, undo, verify) is a
 * job on pg-boss (a kept Postgres job queue), so any number of `sunset worker` processes (and
 * `sunset serve --work`) on any machines share it through one Postgres.
 *
 * Why pg-boss (12.x): queues with retries and backoff, dead letters, heartbeats that hand a dead
 * worker's job to another, cron with a time zone, and the `singleton` policy, which lets at most
 * one job per singleton key be active across the whole cluster, enforced by a unique index in the
 * database. The key is the organization: one job works on an organization at a time, whatever the
 * number of workers (measured: with pg-boss 12's `groupConcurrency: 1`, two jobs of one group were
 * fetched at once by one node's concurrent fetches; the singleton index cannot be raced). It needs
 * Node 22.12, which is what the project supports. graphile-worker (the second choice) would need
 * 22.18 and has no per-key singleton active limit of its own (its job_key replaces queued jobs).
 * The journal's fenced run and step leases stay as the backstop: even a race the queue allowed
 * would never change a contact twice.
 *
 * pg-boss is imported lazily: SQLite users (and the Node 20 demo) never load it.
 */
import type { PgBoss as PgBossType, Job as BossJob } from 'pg-boss';
import { parsePostgresUrl } from '../engine/index.js';
import { errorText, silentLogger, type ServiceLogger } from './logger.js';
import type { DeliveryScope } from './notification-store.js';
import type { ServiceStore } from './store.js';

/** The queue every job goes to; its dead letters go to `${WORK_QUEUE}-dead`. */
export const WORK_QUEUE = 'sunset-work';
export const DEAD_QUEUE = `${WORK_QUEUE}-dead`;
/** pg-boss keeps its tables in this schema of Sunset's database (beside Sunset's `?schema=NAME`: NAME_queue). */
export const QUEUE_SCHEMA = 'sunset_queue';
/**
 * The cluster's minute: pg-boss's cron sends one job a minute to this queue, whoever runs it (one
 * pass across the cluster, not one per process); `sunset serve`s work it (schedules due, CRM events
 * whose job was lost).
 */
export const TICK_QUEUE = 'sunset-tick';
/**
 * Delivery passes of the notifications' outbox (e-mail, webhooks): a job when notices are written,
 * and one for when the first notice to be tried again is due; `sunset serve`s work it (they hold
 * the SMTP settings), one pass at a time across the cluster.
 */
export const NOTIFY_QUEUE = 'sunset-notify';
/**
 * Delivery passes of every notice but the e-mails: worked by `sunset worker`s (which have no SMTP
 * settings) and the serves, so a cluster with no serve up still delivers its webhooks.
 */
export const NOTIFY_WEBHOOKS_QUEUE = 'sunset-notify-webhooks';

const notifyQueue = (scope: DeliveryScope): string => (scope === 'webhooks' ? NOTIFY_WEBHOOKS_QUEUE : NOTIFY_QUEUE);

/** The libpq URL and the queue's schema for Sunset's database URL (`?schema=NAME` gives NAME_queue). */
export function queueLocation(location: string): { connectionString: string; schema: string; suffix: string } {
  const { connectionString, schema } = parsePostgresUrl(location);
  const suffix = schema ? `_${schema.slice(0, 40)}` : '';
  return { connectionString, schema: schema ? `${schema.slice(0, 50)}_queue` : QUEUE_SCHEMA, suffix };
}

export type WorkJob =
  /** `autoApplyMax` present: a scheduled scan, whose plan the worker applies when it has at most that many steps. */
  | { kind: 'scan'; organizationId: string; jobId: string; policyText: string; autoApplyMax?: number | null }
  | { kind: 'apply'; organizationId: string; runId: string; fingerprint?: boolean }
  | { kind: 'verify'; organizationId: string; runId: string; jobId: string }
  /**
   * Apply the organization's accepted CRM events and signals. Its own singleton key (`crm:` and the
   * organization): one such job at a time per organization, beside the organization's scan or run,
   * so a churned account is not held up for hours behind a long run (the organization's budget,
   * not the queue, keeps the two within Zoho's limits).
   */
  | { kind: 'crm'; organizationId: string };

/** The key under which at most one job of an organization is active across the cluster. */
export function singletonKeyOf(job: WorkJob): string {
  return job.kind === 'crm' ? `crm:${job.organizationId}` : job.organizationId;
}

export interface QueuedJob {
  /** pg-boss's id of the job. */
  id: string;
  state: 'created' | 'retry' | 'active';
  data: WorkJob;
  /** Attempts so far (0: the first). */
  retryCount: number;
}

export interface WorkQueueOptions {
  /** The Postgres database (the journal's), as Sunset takes it (`?schema=NAME` allowed). */
  connectionString: string;
  logger?: ServiceLogger;
  /**
   * Seconds without a heartbeat after which an active job of a vanished worker is handed to
   * another (pg-boss's heartbeat; at least 10). Default 10: with the supervision pass every 5 s
   * and the journal's 30 s run lease, another worker takes a killed worker's run within a minute.
   */
  heartbeatSeconds?: number;
  /** How often this process supervises the queue (expired heartbeats, retries); default 5 s. */
  superviseIntervalSeconds?: number;
  /** Attempts of a failing job before it goes to the dead-letter queue (default 25). */
  retryLimit?: number;
  /** The first retry's delay in seconds, doubling up to `retryDelayMax` (default 2, max 30). */
  retryDelay?: number;
  retryDelayMax?: number;
  /** A name for this process in pg-boss's instance registry. */
  instanceName?: string;
}

export interface WorkHandlerContext {
  /** pg-boss's id of the job. */
  id: string;
  /** Attempts before this one. */
  retryCount: number;
  /** Aborted when the job's claim lapsed (pg-boss's own signal). */
  signal: AbortSignal;
}

export interface WorkQueue {
  /** Installs or migrates pg-boss's schema (once per database, whoever comes first) and the queues. */
  start(): Promise<void>;
  /** Queues a job; at most one job per organization is active at a time across the cluster. */
  send(job: WorkJob): Promise<string>;
  /**
   * Queues a `crm` job for the organization: debounced (at most one created a second per
   * organization; one sent while another waits to start is that one), or to start at `startAfter`
   * (events retried later). Returns false when an equal job already covers it.
   */
  sendCrm(organizationId: string, options?: { startAfter?: Date }): Promise<boolean>;
  /** Whether a `crm` job of the organization waits in the queue (not yet active). */
  crmQueued(organizationId: string): Promise<boolean>;
  /**
   * Works the cluster's minute (TICK_QUEUE): installs pg-boss's cron schedule (every minute, UTC;
   * the same for every process, so installing it again changes nothing) and runs `handler` for each.
   */
  workTicks(handler: () => Promise<void>): Promise<void>;
  /**
   * Asks for a delivery pass of the outbox at `at` (ms; now or past: debounced, within a second):
   * of `scope` alone, or (no scope: notices just written, the minute's tick) one of each.
   */
  sendNotify(at: number, scope?: DeliveryScope): Promise<void>;
  /** Works the delivery passes of `scope` (NOTIFY_QUEUE, or NOTIFY_WEBHOOKS_QUEUE), one at a time across the cluster. */
  workNotify(handler: () => Promise<void>, scope?: DeliveryScope): Promise<void>;
  /** Jobs queued or active, oldest first (at most 1,000). */
  pending(): Promise<QueuedJob[]>;
  /** Cancels queued (not active) jobs whose data matches, e.g. `{ runId }`; returns how many. */
  cancelQueued(match: Partial<Record<'runId' | 'organizationId' | 'kind', string>>): Promise<number>;
  /** Works jobs as they come: `concurrency` at a time here (each a different organization). */
  work(handler: (job: WorkJob, context: WorkHandlerContext) => Promise<void>, options?: { concurrency?: number; pollingIntervalSeconds?: number }): Promise<void>;
  /**
   * Stops fetching, waits for the jobs in hand (up to `timeoutMs`), and closes the pool. Jobs still
   * in hand then are retried elsewhere after their heartbeat lapses.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  const logger = options.logger ?? silentLogger;
  let starting: Promise<PgBossType> | undefined;
  const where = queueLocation(options.connectionString);

  const ready = async (): Promise<PgBossType> => {
    starting ??= (async () => {
      const { PgBoss } = await import('pg-boss');
      const instance = new PgBoss({
        connectionString: where.connectionString,
        schema: where.schema,
        application_name: 'sunset-queue',
        superviseIntervalSeconds: options.superviseIntervalSeconds ?? 5,
        monitorIntervalSeconds: options.superviseIntervalSeconds ?? 5,
        ...(options.instanceName ? { instanceName: options.instanceName } : {}),
      });
      // pg-boss reports its own trouble (a lost connection it will retry) as events; never a secret.
      instance.on('error', (error: unknown) => logger.warn({ error: errorText(error) }, 'job queue'));
      await instance.start();
      const heartbeatSeconds = Math.max(10, options.heartbeatSeconds ?? 10);
      const queueOptions = {
        retryLimit: options.retryLimit ?? 25,
        retryDelay: options.retryDelay ?? 2,
        retryBackoff: true,
        retryDelayMax: options.retryDelayMax ?? 30,
        heartbeatSeconds,
        // A run may take hours at Zoho's limits; the heartbeat, not this, hands a dead worker's job on.
        expireInSeconds: 24 * 3600,
        deleteAfterSeconds: 7 * 24 * 3600,
      };
      if (!(await instance.getQueue(DEAD_QUEUE))) await createQueueOnce(instance, DEAD_QUEUE, { ...queueOptions, policy: 'standard' });
      if (!(await instance.getQueue(WORK_QUEUE))) await createQueueOnce(instance, WORK_QUEUE, { ...queueOptions, policy: 'singleton', deadLetter: DEAD_QUEUE });
      // A tick missed is no loss (the next one does the same), so no retries, and one no `serve` took
      // within 5 minutes (a cluster of workers alone) is dropped, not kept.
      const notifyOptions = { policy: 'singleton', retryLimit: 5, retryDelay: 5, retryBackoff: true, heartbeatSeconds, expireInSeconds: 15 * 60, deleteAfterSeconds: 3600 } as const;
      if (!(await instance.getQueue(NOTIFY_QUEUE))) await createQueueOnce(instance, NOTIFY_QUEUE, notifyOptions);
      if (!(await instance.getQueue(NOTIFY_WEBHOOKS_QUEUE))) await createQueueOnce(instance, NOTIFY_WEBHOOKS_QUEUE, notifyOptions);
      if (!(await instance.getQueue(TICK_QUEUE))) await createQueueOnce(instance, TICK_QUEUE, { policy: 'standard', retryLimit: 0, heartbeatSeconds, expireInSeconds: 15 * 60, retentionSeconds: 300, deleteAfterSeconds: 3600 });
      return instance;
    })();
    return starting;
  };

  return {
    async start() {
      await ready();
    },
    async send(job) {
      const b = await ready();
      const id = await b.send(WORK_QUEUE, job, { singletonKey: singletonKeyOf(job) });
      if (id === null) throw new Error(`the job queue refused a ${job.kind} job of organization ${job.organizationId}`);
      return id;
    },
    async sendCrm(organizationId, { startAfter } = {}) {
      const b = await ready();
      const job: WorkJob = { kind: 'crm', organizationId };
      const id = startAfter
        ? await b.send(WORK_QUEUE, job, { singletonKey: singletonKeyOf(job), startAfter })
        : await b.sendDebounced(WORK_QUEUE, job, {}, 1, singletonKeyOf(job));
      return id !== null;
    },
    async crmQueued(organizationId) {
      const b = await ready();
      return (await b.findJobs<WorkJob>(WORK_QUEUE, { data: { kind: 'crm', organizationId }, queued: true })).length > 0;
    },
    async sendNotify(at, scope) {
      const b = await ready();
      for (const name of scope === undefined ? [NOTIFY_QUEUE, NOTIFY_WEBHOOKS_QUEUE] : [notifyQueue(scope)]) {
        if (at <= Date.now()) {
          await b.sendDebounced(name, null, {}, 1, 'outbox');
          continue;
        }
        // A later pass: one waiting already (sooner or at the same time) does it.
        const waiting = await b.findJobs(name, { queued: true });
        if (waiting.some((j) => j.startAfter.getTime() <= at)) continue;
        await b.send(name, null, { singletonKey: 'outbox', startAfter: new Date(at) });
      }
    },
    async workNotify(handler, scope = 'all') {
      const b = await ready();
      await b.work(notifyQueue(scope), { localConcurrency: 1, batchSize: 1, pollingIntervalSeconds: 1 }, async () => {
        await handler();
      });
    },
    async workTicks(handler) {
      const b = await ready();
      await b.schedule(TICK_QUEUE, '* * * * *', null, { tz: 'UTC' });
      await b.work(TICK_QUEUE, { localConcurrency: 1, batchSize: 1, pollingIntervalSeconds: 2 }, async () => {
        await handler();
      });
    },
    async pending() {
      const b = await ready();
      const { rows } = await b.getDb().executeSql(
        `SELECT id, state, data, retry_count FROM ${where.schema}.job WHERE name = $1 AND state IN ('created', 'retry', 'active') ORDER BY created_on, id LIMIT 1000`,
        [WORK_QUEUE],
      );
      return rows.map((r: { id: string; state: QueuedJob['state']; data: WorkJob; retry_count: number }) => ({ id: String(r.id), state: r.state, data: r.data, retryCount: Number(r.retry_count) }));
    },
    async cancelQueued(match) {
      const b = await ready();
      const queued = await b.findJobs<WorkJob>(WORK_QUEUE, { data: match, queued: true });
      if (queued.length === 0) return 0;
      await b.cancel(WORK_QUEUE, queued.map((j) => j.id));
      return queued.length;
    },
    async work(handler, workOptions = {}) {
      const b = await ready();
      await b.work<WorkJob>(WORK_QUEUE, {
        localConcurrency: Math.max(1, workOptions.concurrency ?? 4),
        batchSize: 1,
        pollingIntervalSeconds: workOptions.pollingIntervalSeconds ?? 1,
      }, async (jobs: Array<BossJob<WorkJob>>) => {
        for (const job of jobs) {
          await handler(job.data, { id: job.id, retryCount: job.retryCount, signal: job.signal });
        }
      });
    },
    async stop({ timeoutMs = 30_000 } = {}) {
      if (!starting) return;
      const b = await starting.catch(() => undefined);
      if (!b) return;
      await b.stop({ graceful: true, timeout: timeoutMs, close: true });
      starting = undefined;
    },
  };
}

/** Creates a queue; another process creating it at the same moment is not an error. */
async function createQueueOnce(boss: PgBossType, name: string, options: Parameters<PgBossType['createQueue']>[1]): Promise<void> {
  try {
    await boss.createQueue(name, options);
  } catch (error) {
    if (await boss.getQueue(name)) return;
    throw error;
  }
}

/**
 * Sends a `crm` job for every organization whose CRM events are due with no job waiting for them
 * (a send lost to a restart): the minute tick's safety net, whoever takes it. Returns how many.
 */
export async function sendLostCrmJobs(store: Pick<ServiceStore, 'organizationsWithDueEvents'>, queue: Pick<WorkQueue, 'crmQueued' | 'sendCrm'>, now: number): Promise<number> {
  let sent = 0;
  for (const id of await store.organizationsWithDueEvents(now)) {
    if (!(await queue.crmQueued(id)) && (await queue.sendCrm(id))) sent++;
  }
  return sent;
}
