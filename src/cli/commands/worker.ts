/** `sunset worker`: does the cluster's Zoho work (scan + plan, apply, undo, verify) from the job queue. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { getRequestListener } from '@hono/node-server';
import { systemClock } from '../../client/index.js';
import { databaseLabel, isPostgresUrl, type BooksPort } from '../../engine/index.js';
import {
  createConnectionSet, createEventBus, createEventRelay, createLogger, createNotifications, createQueuedRunner, createScheduler, createServiceStore, createWebhookProcessor,
  createWorker, createWorkerMetrics, createWorkQueue, createZoneLearner, followConnectionChanges, LOG_LEVELS, organizationNamer, type LogLevel, type Notifications,
  type Worker, type ZoneLearner,
} from '../../service/index.js';
import { isDeadOwner, ownerId } from '../actor.js';
import { flagOrEnv, intFlag, optionLabel, parseFlags, publicUrlFlag } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import { preferSmallHeap } from '../heap.js';
import type { CliIO } from '../io.js';
import { readMetricsToken } from '../metrics-token.js';
import { openServiceStorage, queueTuning } from '../service-storage.js';
import { commonHelp, withEnvTwins } from '../workspace.js';

export const OPTIONS = {
  concurrency: { type: 'string' }, 'stop-timeout': { type: 'string' }, 'public-url': { type: 'string' },
  'metrics-port': { type: 'string' }, 'metrics-host': { type: 'string' }, 'metrics-token-file': { type: 'string' },
  database: { type: 'string' }, db: { type: 'string' }, emulator: { type: 'string' }, credentials: { type: 'string' }, 'per-minute': { type: 'string' }, help: { type: 'boolean' },
} as const;

const HELP = `Usage: sunset worker [options]

Does the Zoho work of a cluster: the scans and plans, applies, undos and verifications that
\`sunset serve\` (or a schedule) puts on the job queue in the PostgreSQL database, and the CRM
events and signals its hooks accept. Start any number, on any machines, all with the same
--database: at most one job works on an organization at a time across all of them (its CRM
events aside, so a churned account is not held up behind a long run), and every call draws
from the organization's one budget in the database. A worker that dies (or freezes) has its job
taken by another once its heartbeat lapses; the run's journal lease makes sure no contact is
changed twice. Workers also take the cluster's minute tick (one a minute across every worker and
serve): the schedules that are due queue their scans, so schedules run with no serve up (an
organization's time zone not known yet is asked of Zoho, as a serve does). The notices of what
its jobs did (a run finished, stopped or waiting for the quota, a scheduled plan left for review,
a CRM event not applied) it writes to the outbox itself. Webhook notices are delivered by any
worker or serve; e-mails by a serve (it holds the SMTP settings).
See docs/scale-out.md.

Which Zoho accounts it works through: as \`sunset serve\`: --emulator URL or --credentials FILE
when given; else every connection in the database (\`sunset connections\`); else the credentials of
\`sunset auth login\`.

Signals: SIGTERM or Ctrl-C stops it gracefully (no new job; the calls in flight finish, the run
leases are released and the jobs go back to the queue for another worker; it exits within
--stop-timeout). SIGUSR2 prints what it holds, one JSON line on stderr; --metrics-port serves
the counts for Prometheus.

Options (a flag beats its environment twin, named on the right):
  --concurrency N       Jobs at a time, each of another organization (default 4,  SUNSET_CONCURRENCY
                        at most 256: a job mostly waits on its organization's
                        budget, so one worker holds many; see docs/scale-out.md)
  --stop-timeout S      Seconds a graceful stop may take (default 30)             SUNSET_STOP_TIMEOUT
  --public-url URL      The serves' address (https://sunset.example.com): the     SUNSET_PUBLIC_URL
                        notices this worker writes link there (none without it;
                        give every process of the cluster the same)
  --metrics-port N      Serve GET /metrics for Prometheus on this port (0: any   SUNSET_METRICS_PORT
                        free one, printed at start; default: none): jobs held
                        by kind, jobs done and retried, Zoho calls, Node's own
  --metrics-host H      The address it listens on (default 127.0.0.1)            SUNSET_METRICS_HOST
  --metrics-token-file F  A token Prometheus must send (Authorization: Bearer);  SUNSET_METRICS_TOKEN_FILE
                        SUNSET_METRICS_TOKEN holds one directly. Needed to
                        listen on an address other than loopback
${commonHelp(OPTIONS)}

Logging: one JSON object a line on stderr; LOG_LEVEL=debug, info (default), warn or error.
`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given } = parseFlags(() => parseArgs({ args: argv, strict: true, options: OPTIONS }), 'worker');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  // A smaller V8 heap, collected sooner: this process reads whole organizations (src/cli/heap.ts).
  preferSmallHeap(io.env);
  const values = withEnvTwins(given, io.env, OPTIONS);
  const logLevel = (io.env.LOG_LEVEL ?? 'info').toLowerCase() as LogLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ExitError(`LOG_LEVEL=${io.env.LOG_LEVEL}: use one of ${LOG_LEVELS.join(', ')}.`, EXIT.usage);
  }
  const concurrencyOption = flagOrEnv(given.concurrency, io.env, 'concurrency', 'SUNSET_CONCURRENCY');
  const concurrency = intFlag(concurrencyOption.value, optionLabel(concurrencyOption.name), 1, 256) ?? 4;
  const timeoutOption = flagOrEnv(given['stop-timeout'], io.env, 'stop-timeout', 'SUNSET_STOP_TIMEOUT');
  const stopTimeoutS = intFlag(timeoutOption.value, optionLabel(timeoutOption.name), 1, 3600) ?? 30;
  const publicUrl = publicUrlFlag(given['public-url'], io.env);
  const dbPath = values.db;
  if (!dbPath || !isPostgresUrl(dbPath)) {
    throw new ExitError(
      `A worker shares the work through a PostgreSQL database: give it with --database postgres://USER@HOST:PORT/DB (or SUNSET_DATABASE_URL)${dbPath ? `, not ${databaseLabel(dbPath)}` : ''}. On a SQLite file, \`sunset serve\` does its own work.`,
      EXIT.usage,
    );
  }
  const metricsPortOption = flagOrEnv(given['metrics-port'], io.env, 'metrics-port', 'SUNSET_METRICS_PORT');
  const metricsPort = intFlag(metricsPortOption.value, optionLabel(metricsPortOption.name), 0, 65535);
  const metricsHost = flagOrEnv(given['metrics-host'], io.env, 'metrics-host', 'SUNSET_METRICS_HOST').value ?? '127.0.0.1';
  const metricsToken = readMetricsToken(given['metrics-token-file'], io.env);
  if (metricsPort !== undefined && !isLoopback(metricsHost) && metricsToken === undefined) {
    throw new ExitError(`--metrics-host ${metricsHost} is not a loopback address: give Prometheus a token (--metrics-token-file FILE or SUNSET_METRICS_TOKEN), or keep the metrics on 127.0.0.1.`, EXIT.usage);
  }
  const tuning = queueTuning(io.env);
  const logger = createLogger({ level: logLevel, destination: io.stderr, pretty: io.stderr.isTTY === true, color: io.escapes });
  const opened = await openServiceStorage(io, dbPath, values);
  const { journal, database } = opened;
  const owner = ownerId();
  const bus = createEventBus();
  const queue = createWorkQueue({ connectionString: dbPath, logger, instanceName: `worker ${owner}`, ...tuning });
  const relay = createEventRelay({ connectionString: dbPath, bus, logger });
  let worker: Worker;
  let scheduleRunner: { close(): Promise<void> } | undefined;
  let notifications: Notifications | undefined;
  let zones: ZoneLearner | undefined;
  let metricsServer: Server | undefined;
  let metricsLine = '';
  try {
    // The service's tables (plans, runs' activity) are the same whoever migrates them first.
    const store = createServiceStore(database);
    await store.migrate(journal);
    const connections = createConnectionSet(opened.connections);
    // A connection added or removed from a `serve` (its Connections page): read them all again.
    followConnectionChanges(relay, connections, logger);
    const port = (o: string): BooksPort => connections.port(o);
    // CRM events and signals (accepted by a `sunset serve`) are `crm` jobs; this worker applies them too.
    const processor = createWebhookProcessor({ store, journal, port, clock: systemClock, bus, owner, isDead: isDeadOwner, logger, stepLeaseMs: 30_000 });
    // The minute tick, when this worker takes it: schedules due queue their scans (as a serve's do).
    const queuedRunner = createQueuedRunner({ journal, clock: systemClock, bus, queue, relay, logger, refreshMs: 60_000 });
    scheduleRunner = queuedRunner;
    // A schedule whose organization's zone is not known yet (saved before zones were kept): the
    // tick asks Zoho's organization list for it, as a serve's does, so no serve is needed.
    zones = createZoneLearner({ list: () => connections.organizations(), store, clock: systemClock, logger });
    const scheduler = createScheduler({ store, journal, runner: queuedRunner, clock: systemClock, logger, learnTimeZones: () => zones?.learn() });
    worker = createWorker({ journal, port, clock: systemClock, bus, queue, relay, owner, isDead: isDeadOwner, logger, concurrency, crm: { processor, store }, ticks: { scheduler } });
    // The notices of what this worker's jobs did, written to the outbox here (not by the serves that
    // hear of them: none may be running); delivered by passes on the queue: the webhooks' by any
    // worker or serve, the e-mails by a serve.
    const notices = createNotifications({
      database, journal, store, clock: systemClock, owner, logger, ...(publicUrl ? { publicUrl } : {}), organizationName: organizationNamer(connections),
    });
    await notices.migrate();
    notices.start(queue);
    notices.follow(bus, relay);
    notifications = notices;
    if (metricsPort !== undefined) {
      const metrics = createWorkerMetrics(worker, metricsToken !== undefined ? { token: metricsToken } : {});
      connections.onResponse((info) => metrics.observeZohoCall(info));
      const server = createServer(getRequestListener(metrics.app.fetch, { overrideGlobalObjects: false }));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) => reject(new ExitError(`--metrics-port ${metricsPort} on ${metricsHost}: ${error.code === 'EADDRINUSE' ? 'the port is taken' : error.message}.`, EXIT.usage)));
        server.listen(metricsPort, metricsHost, () => resolve());
      });
      metricsServer = server;
      const address = server.address() as AddressInfo;
      metricsLine = ` Metrics: http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/metrics.`;
    }
    await queue.start();
    await relay.start();
    await worker.start();
    // The webhooks' notices, whoever wrote them, with no serve needed; e-mails wait for a serve
    // (it holds the SMTP settings).
    await queue.workNotify(async () => {
      await notifications?.deliverDue('webhooks');
    }, 'webhooks');
  } catch (error) {
    metricsServer?.close();
    await scheduleRunner?.close();
    await zones?.settled();
    await notifications?.close();
    await queue.stop({ timeoutMs: 1_000 }).catch(() => undefined);
    await relay.close();
    await opened.close();
    throw error;
  }
  const report = (): void => {
    const stats = worker.stats();
    io.stderr.write(`${JSON.stringify({ worker: owner, held: stats.held.map((h) => ({ ...h, since: new Date(h.since).toISOString() })), done: stats.done, retried: stats.retried })}\n`);
  };
  process.on('SIGUSR2', report);
  io.stdout.write(`Sunset worker ${owner} is working the job queue of ${databaseLabel(dbPath)} (${opened.description}; ${concurrency} at a time).${metricsLine} Ctrl-C or SIGTERM stops it.\n`);
  await new Promise<void>((resolve) => io.onStop(resolve));
  io.stderr.write(`Stopping: no new job; the calls in flight finish and the runs go back to the queue (at most ${stopTimeoutS} s)...\n`);
  const deadline = setTimeout(() => {
    io.stderr.write(`The graceful stop took longer than ${stopTimeoutS} s: exiting; the jobs still held are retried once their heartbeat lapses.\n`);
    process.exit(EXIT.interrupted);
  }, stopTimeoutS * 1000 + 2_000);
  deadline.unref();
  await worker.stop({ timeoutMs: stopTimeoutS * 1000 });
  await scheduleRunner?.close();
  await zones?.settled();
  // The notices of the last jobs, written before the database is closed.
  await notifications?.close();
  if (metricsServer) {
    const s = metricsServer;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
  await relay.close();
  await opened.close();
  process.off('SIGUSR2', report);
  clearTimeout(deadline);
  return 0;
}

/** 127.0.0.1, ::1, localhost: an address only this machine reaches. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
