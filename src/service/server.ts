/**
 * `sunset serve`: the web UI and its API behind a sign-in, the CRM webhook endpoint, schedules,
 * health and metrics — one long-running process. The HTTP side is a hono app (src/service/app.ts),
 * served on node:http by @hono/node-server, or answered in-process through `fetch`.
 */
import { getRequestListener } from '@hono/node-server';
import { systemClock } from '../client/index.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeDriver, describeTarget, runStatus, type EngineClock } from '../engine/index.js';
import { createApp, type ServiceApp } from './app.js';
import { createConnectionSet, followConnectionChanges } from './connection-set.js';
import { createServiceContext } from './context.js';
import { createEventBus, type EventBus } from './events.js';
import { createRunner, type Runner } from './runner.js';
import { errorText, silentLogger } from './logger.js';
import type { ServiceOptions } from './options.js';
import { createNotifications, type Notifications } from './notifications.js';
import { createScheduler } from './scheduler.js';
import { createServiceStore, type ServiceStore } from './store.js';
import { createWebhookProcessor } from './webhooks.js';
import { createEventRelay, type EventRelay } from './event-relay.js';
import { createQueuedRunner } from './queued-runner.js';
import { createWorkQueue, sendLostCrmJobs, type WorkQueue } from './work-queue.js';
import { createWorker, type Worker } from './worker.js';

export interface Service {
  readonly store: ServiceStore;
  readonly bus: EventBus;
  readonly runner: Runner;
  /** E-mail and webhook notifications: the outbox and its delivery (`deliverDue` sends what is due now). */
  readonly notifications: Notifications;
  /** The HTTP app (its type, ServiceApp, is what a typed client is made from). */
  readonly app: ServiceApp;
  /**
   * Picks up what a previous process left (runs it was applying or had approved, CRM events it
   * had accepted, schedules missed) and starts the background loops; once, whoever asks first.
   * `listen` calls it; in-process use calls it before its first request.
   */
  start(): Promise<void>;
  /** Answers one request in-process, with no socket: what a typed client or a test calls. */
  fetch(request: Request): Promise<Response>;
  /**
   * Serves on `server` when given (already listening: `sunset serve` binds its port before it opens
   * the journal, so a taken port fails before anything is touched), else on a new one at host:port.
   */
  listen(options: { host?: string; port?: number; server?: Server }): Promise<{ origin: string; server: Server }>;
  /** Applies due CRM events now (the background loop does it every second). */
  /** Applies due CRM events now (on the cluster's queue: queues their organizations' jobs; see ServiceContext). */
  processWebhooks(organizationId?: string): Promise<number>;
  /** Checks the schedules now. */
  tick(): Promise<string[]>;
  /** Stops the loops and the jobs (after the calls in flight), ends open event streams, closes the server. */
  close(): Promise<void>;
  /** This process's worker, when it works the cluster's queue (options.queue.work). */
  readonly worker: Worker | undefined;
}

/**
 * The Host headers the service answers to: on a loopback address, its loopback names and port
 * (plus --public-url's host); on any other address only when --public-url names it (null: any).
 */
function hostsFor(address: AddressInfo, publicUrl: string | undefined): Set<string> | null {
  const hosts = new Set<string>();
  if (publicUrl) hosts.add(new URL(publicUrl).host.toLowerCase());
  const loopback = address.address === '127.0.0.1' || address.address === '::1' || address.address.startsWith('127.');
  if (loopback) {
    for (const name of ['127.0.0.1', 'localhost', '[::1]', address.family === 'IPv6' ? `[${address.address}]` : address.address]) hosts.add(`${name}:${address.port}`);
    return hosts;
  }
  return publicUrl ? hosts : null;
}

export function createService(options: ServiceOptions): Service {
  const { journal, database } = options;
  const connections = createConnectionSet(options);
  const clock: EngineClock = options.clock ?? systemClock;
  const store = createServiceStore(database);
  const bus = createEventBus();
  const logger = options.logger ?? silentLogger;
  // On the cluster's queue, the service's runner sends jobs, and its worker (if it works) does them.
  let queue: WorkQueue | undefined;
  let relay: EventRelay | undefined;
  let worker: Worker | undefined;
  let runner: Runner;
  if (options.queue) {
    queue = createWorkQueue({
      connectionString: options.queue.connectionString, logger, instanceName: `serve ${options.owner}`,
      ...(options.queue.heartbeatSeconds !== undefined ? { heartbeatSeconds: options.queue.heartbeatSeconds } : {}),
      ...(options.queue.superviseIntervalSeconds !== undefined ? { superviseIntervalSeconds: options.queue.superviseIntervalSeconds } : {}),
    });
    relay = createEventRelay({ connectionString: options.queue.connectionString, bus, logger });
    runner = createQueuedRunner({ journal, clock, bus, queue, relay, logger });
    if (options.queue.work) {
      // On the queue, CRM events are `crm` jobs, applied by whichever worker takes them (this one's too).
      const crmProcessor = createWebhookProcessor({
        store, journal, port: (o) => connections.port(o), clock, bus, owner: options.owner, isDead: options.isDead, logger, stepLeaseMs: 30_000,
        ...(options.failpoint ? { failpoint: options.failpoint } : {}),
      });
      worker = createWorker({
        journal, port: (o) => connections.port(o), clock, bus, queue, relay, owner: options.owner, logger, crm: { processor: crmProcessor, store },
        ...(options.isDead ? { isDead: options.isDead } : {}),
        ...(options.queue.concurrency !== undefined ? { concurrency: options.queue.concurrency } : {}),
      });
    }
  } else {
    runner = createRunner({ journal, port: (o) => connections.port(o), clock, bus, owner: options.owner, isDead: options.isDead, logger });
  }
  const processor = createWebhookProcessor({ store, journal, port: (o) => connections.port(o), clock, bus, owner: options.owner, isDead: options.isDead, logger, ...(options.failpoint ? { failpoint: options.failpoint } : {}) });

  // A schedule whose organization's time zone is not known yet makes the service list the
  // organizations (through the context, which saves their zones); `ctx` exists by the first tick.
  const notifications = createNotifications({
    database, journal, store, clock, owner: options.owner, logger, ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    organizationName: async (id) => (await ctx.organizations()).find((o) => o.organizationId === id)?.name,
  }, options.notifications);
  // On a cluster a worker writes the notices of its jobs; a serve, those of its own work.
  notifications.follow(bus, relay);
  const scheduler = createScheduler({ store, journal, runner, clock, logger, learnTimeZones: () => ctx.learnTimeZones(), bus });
  const timers: NodeJS.Timeout[] = [];
  let started: Promise<void> | undefined;
  let processing: Promise<number> | undefined;
  let allowedHosts: Set<string> | null = null;
  let server: Server | undefined;

  const processWebhooks = async (organizationId?: string): Promise<number> => {
    if (queue) {
      // An event just accepted: its organization's job (debounced: a burst makes one job a second).
      if (organizationId !== undefined) return (await queue.sendCrm(organizationId)) ? 1 : 0;
      // Any organization with events due and no job waiting for them (a send lost to a restart).
      return sendLostCrmJobs(store, queue, clock.now());
    }
    processing ??= processor.processDue().finally(() => {
      processing = undefined;
    });
    return processing;
  };

  // On a cluster, a connection added, tested or removed here reaches the workers and the other
  // serves at once (they read the database's connections again), not at their next start.
  const onConnectionsChanged = relay
    ? (): void => void relay!.control({ connections: true }).catch((e: unknown) => logger.warn({ error: errorText(e) }, 'could not tell the other processes that the connections changed'))
    : undefined;
  if (relay) followConnectionChanges(relay, connections, logger);
  const ctx = createServiceContext({ options, connections, clock, store, bus, runner, scheduler, notifications, logger, hosts: () => allowedHosts, processWebhooks, ...(onConnectionsChanged ? { onConnectionsChanged } : {}) });
  const app = createApp(ctx);

  const start = (): Promise<void> => {
    started ??= (async () => {
      await store.migrate(journal);
      await notifications.migrate();
      if (queue) {
        await queue.start();
        await relay!.start();
        await worker?.start();
      }
      const queued = queue ? new Set((await queue.pending()).flatMap((j) => (j.data.kind === 'apply' ? [j.data.runId] : []))) : new Set<string>();
      // Pick up what a previous process left: runs it was applying or had just approved (pending:
      // a stop between the approval and the first step), CRM events it had accepted. CRM runs are
      // resumed by the webhook processor, from their events; a run made elsewhere is not ours.
      for (const run of await journal.listRuns()) {
        if ((run.state !== 'running' && run.state !== 'pending') || run.kind === 'crm') continue;
        const here = connections.of(run.organizationId);
        if (!here || (run.target !== '' && run.target !== here.target)) {
          logger.warn({ runId: run.runId, target: run.target }, `run made against ${describeTarget(run.target)}, not ${here ? describeTarget(here.target) : `any connection of this service (none reaches organization ${run.organizationId})`}: left for a Sunset connected there`);
          continue;
        }
        if (runStatus(run, clock.now(), options.isDead) === 'running' && run.driver?.owner !== options.owner) {
          logger.info({ runId: run.runId, driver: run.driver!.owner }, `run being applied by ${describeDriver(run.driver!)}: left to it`);
          continue;
        }
        // On the queue, a run whose job is waiting (or in a worker's hands) is not sent again.
        if (queued.has(run.runId)) continue;
        runner.apply(run);
      }
      void processWebhooks().catch((e: unknown) => logger.error({ error: errorText(e) }, 'applying CRM events failed'));
      if (queue) {
        // Notices are delivered by passes on the queue, when written and when a retry is due: every
        // notice (this serve holds the SMTP settings), and all but the e-mails, which the workers
        // work too (so no pass waits for long on a cluster of serves alone).
        notifications.start(queue);
        await queue.workNotify(async () => {
          await notifications.deliverDue();
        });
        await queue.workNotify(async () => {
          await notifications.deliverDue('webhooks');
        }, 'webhooks');
      } else notifications.start();
      await scheduler.tick();
      if (queue) {
        // The cluster's minute (pg-boss cron, one pass across all processes): schedules due, CRM
        // events and notices whose job was lost. No loop of this process's own over the tables.
        await queue.workTicks(async () => {
          await processWebhooks();
          await notifications.deliverDue();
          await scheduler.tick();
        });
        return;
      }
      if (options.webhookIntervalMs !== 0) {
        const t = setInterval(() => void processWebhooks().catch((e: unknown) => logger.error({ error: errorText(e) }, 'applying CRM events failed')), options.webhookIntervalMs ?? 1_000);
        t.unref();
        timers.push(t);
      }
      if (options.scheduleIntervalMs !== 0) {
        const t = setInterval(() => void scheduler.tick().catch((e: unknown) => logger.error({ error: errorText(e) }, 'checking the schedules failed')), options.scheduleIntervalMs ?? 30_000);
        t.unref();
        timers.push(t);
      }
    })();
    return started;
  };

  return {
    store,
    bus,
    runner,
    worker,
    notifications,
    app,
    start,
    fetch: async (request) => app.fetch(request, {}),
    processWebhooks,
    tick: () => scheduler.tick(),
    async listen({ host = '127.0.0.1', port = 8080, server: bound }) {
      await start();
      const s = bound ?? createServer();
      // A given server answered 503 while the service started: from now on the app answers.
      s.removeAllListeners('request');
      // overrideGlobalObjects: false: this process's Request and Response stay Node's own (its Zoho
      // client uses them too); measured, node-server's lighter globals made no difference here.
      s.on('request', getRequestListener(app.fetch, { overrideGlobalObjects: false }));
      if (!bound) {
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen(port, host, () => resolve());
        });
      }
      server = s;
      const address = s.address() as AddressInfo;
      allowedHosts = hostsFor(address, options.publicUrl);
      return { origin: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`, server: s };
    },
    async close() {
      for (const t of timers) clearInterval(t);
      for (const end of [...ctx.streams]) end();
      await runner.close();
      await worker?.stop();
      await queue?.stop();
      await relay?.close();
      await processing?.catch(() => undefined);
      await notifications.close();
      await ctx.timeZonesLearned();
      const s = server;
      if (s) {
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        });
      }
    },
  };
}
