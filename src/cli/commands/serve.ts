/** `sunset serve`: the web UI, the CRM webhook endpoint and the schedules, in one process. */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  checkMailFrom, createLogger, createService, createServiceStore, describeSmtp, LOG_LEVELS, MappingFileError, NotificationConfigError, parseMappingFile, parseSmtpUrl,
  type LogLevel, type MappingFile, type NotificationOptions,
} from '../../service/index.js';
import { isDeadOwner, ownerId } from '../actor.js';
import { envBoolean, flagOrEnv, intFlag, optionLabel, parseFlags, publicUrlFlag } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import { preferSmallHeap } from '../heap.js';
import { databaseLabel, isPostgresUrl } from '../../engine/index.js';
import type { CliIO } from '../io.js';
import { readMetricsToken } from '../metrics-token.js';
import { parseFailpoint } from '../run-execution.js';
import { openServiceStorage, queueTuning, type ServiceStorage } from '../service-storage.js';
import { commonHelp, withEnvTwins } from '../workspace.js';

export const OPTIONS = {
  host: { type: 'string' }, port: { type: 'string' }, 'metrics-token-file': { type: 'string' }, 'secure-cookies': { type: 'boolean' }, 'crm-mapping': { type: 'string' }, 'public-url': { type: 'string' },
  work: { type: 'boolean' }, 'no-work': { type: 'boolean' }, concurrency: { type: 'string' },
  'smtp-url': { type: 'string' }, 'smtp-password-file': { type: 'string' }, 'mail-from': { type: 'string' },
  database: { type: 'string' }, db: { type: 'string' }, emulator: { type: 'string' }, credentials: { type: 'string' }, 'per-minute': { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean' },
} as const;

const HELP = `Usage: sunset serve [options]

Runs Sunset as a service: a web UI to review and approve plans (with live progress, undo and the
audit trail), the Zoho CRM webhook endpoint POST /hooks/crm/ORG that keeps Books in step with CRM,
per-organization schedules (cron, UTC) for scan + plan with optional auto-apply, GET /healthz and
GET /metrics (Prometheus). Everything but the health check needs a sign-in: add a user first with
\`sunset users add NAME\`. See docs/service.md.

Which Zoho accounts it works through: --emulator URL or --credentials FILE when given (one);
else every connection in the database (\`sunset connections\`), each organization through its
own, and the Connections page adds, tests and removes them while it runs; else the credentials of
\`sunset auth login\`; else the embedded emulator.

Options (a flag beats its environment twin, named on the right):
  --host HOST           Address to listen on (default 127.0.0.1; put HTTPS       SUNSET_HOST
                        in front for anything else)
  --port N              Port (default 8080)                                      SUNSET_PORT
  --metrics-token-file FILE  A file holding a token Prometheus sends as     SUNSET_METRICS_TOKEN_FILE
                        "Authorization: Bearer ..."; or the token itself in      SUNSET_METRICS_TOKEN
  --secure-cookies      Mark the session cookie Secure (when served over HTTPS)  SUNSET_SECURE_COOKIES=1
  --public-url URL      The address people and the CRM use when it is not this   SUNSET_PUBLIC_URL
                        machine's loopback (behind an HTTPS proxy:
                        https://sunset.example.com). On loopback the service answers only to
                        127.0.0.1, localhost and this name (DNS rebinding).
  --crm-mapping FILE    Which CRM values mean inactive and active, from a YAML   SUNSET_CRM_MAPPING
                        file instead of the UI: "inactive: [Churned, Lost]" and "active: [Active]"
                        for every organization, and/or "organizations: {"ID": {inactive: [...],
                        active: [...]}}". It is checked at start-up; the UI shows it read-only.
  --smtp-url URL        The mail server notifications are sent through:         SUNSET_SMTP_URL
                        smtp://USER@HOST:PORT (STARTTLS when offered; default port 587) or
                        smtps://USER@HOST (TLS, port 465). Its password: in the environment
                        (SUNSET_SMTP_URL=smtp://USER:PASSWORD@..., or SUNSET_SMTP_PASSWORD) or a file,
                        never on the command line. See docs/notifications.md.
  --smtp-password-file FILE  A file holding the SMTP password            SUNSET_SMTP_PASSWORD_FILE
  --work, --no-work     On a PostgreSQL database, scans, applies and verifies     SUNSET_WORK=0|1
                        are jobs on the cluster's queue, done by \`sunset worker\`s
                        and, with --work (the default), by this process too; --no-work only
                        serves. On SQLite the service does its own work. See docs/scale-out.md.
  --concurrency N       Jobs this process works at a time, each of another        SUNSET_CONCURRENCY
                        organization (default 4; with --work)
  --mail-from ADDRESS   The From of notification e-mails (default             SUNSET_MAIL_FROM
                        "Sunset <sunset@localhost>")
${commonHelp(OPTIONS)}

Logging: one JSON object a line on stderr (a readable line on a terminal); LOG_LEVEL=debug, info
(default), warn or error. Secrets are redacted by the logger, whatever field they are in.
`;


export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given } = parseFlags(() => parseArgs({ args: argv, strict: true, options: OPTIONS }), 'serve');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  // A smaller V8 heap, collected sooner: this process reads whole organizations (src/cli/heap.ts).
  preferSmallHeap(io.env);
  // Every option a container sets has an environment twin; a flag beats its twin.
  const hostOption = flagOrEnv(given.host, io.env, 'host', 'SUNSET_HOST');
  const portOption = flagOrEnv(given.port, io.env, 'port', 'SUNSET_PORT');
  const mappingOption = flagOrEnv(given['crm-mapping'], io.env, 'crm-mapping', 'SUNSET_CRM_MAPPING');
  const values = {
    ...withEnvTwins(given, io.env, OPTIONS),
    host: hostOption.value,
    'crm-mapping': mappingOption.value,
    'secure-cookies': given['secure-cookies'] ?? envBoolean(io.env, 'SUNSET_SECURE_COOKIES'),
  };
  const listenPort = intFlag(portOption.value, portOption.name, 0, 65535) ?? 8080;
  const logLevel = (io.env.LOG_LEVEL ?? 'info').toLowerCase() as LogLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ExitError(`LOG_LEVEL=${io.env.LOG_LEVEL}: use one of ${LOG_LEVELS.join(', ')}.`, EXIT.usage);
  }
  const metricsToken = readMetricsToken(given['metrics-token-file'], io.env);
  const notifications = readNotificationSettings(given, io.env);
  if (given.work && given['no-work']) throw new ExitError('--work and --no-work: give one.', EXIT.usage);
  const work = given.work ?? (given['no-work'] ? false : envBoolean(io.env, 'SUNSET_WORK') ?? true);
  const concurrencyOption = flagOrEnv(given.concurrency, io.env, 'concurrency', 'SUNSET_CONCURRENCY');
  const concurrency = intFlag(concurrencyOption.value, optionLabel(concurrencyOption.name), 1, 64);
  const publicUrl = publicUrlFlag(given['public-url'], io.env);
  let mappingFile: MappingFile | undefined;
  if (values['crm-mapping']) {
    let text: string;
    try {
      text = readFileSync(values['crm-mapping'], 'utf8');
    } catch (error) {
      throw new ExitError(`${optionLabel(mappingOption.name)}: cannot read ${values['crm-mapping']} (${(error as { code?: string }).code ?? String(error)}).`, EXIT.usage);
    }
    try {
      mappingFile = parseMappingFile(text, values['crm-mapping']);
    } catch (error) {
      if (error instanceof MappingFileError) throw new ExitError(`The CRM mapping file has problems; the service did not start:\n${error.problems.map((p) => `  ${p}`).join('\n')}`, EXIT.usage);
      throw error;
    }
  }
  // No journal yet means no user yet: say so without making one.
  const dbPath = values.db ?? 'sunset.db';
  if (!isPostgresUrl(dbPath) && !existsSync(dbPath)) {
    throw new ExitError(`No user can sign in yet (there is no journal at ${databaseLabel(dbPath)}): add one with \`sunset users add NAME${values.db ? ` --database ${databaseLabel(values.db)}` : ''}\`, then start the service again.`);
  }
  // The port first: a second `sunset serve` on a taken port stops here, before it opens the
  // journal or calls Zoho. Until the service is ready, the port answers 503.
  const server = createServer((_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '2' });
    res.end('{"error":"Sunset is starting; try again in a moment"}');
  });
  await bind(server, values.host ?? '127.0.0.1', listenPort, optionLabel(hostOption.name));
  const closeServer = (): Promise<void> => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  let opened: ServiceStorage;
  try {
    opened = await openServiceStorage(io, dbPath, values);
  } catch (error) {
    await closeServer();
    throw error;
  }
  const { journal, database } = opened;
  const closeWorkspace = (): Promise<void> => opened.close();
  const store = createServiceStore(database);
  await store.migrate(journal);
  if ((await store.userCount()) === 0) {
    await closeWorkspace();
    await closeServer();
    throw new ExitError(`No user can sign in yet: add one with \`sunset users add NAME${values.db ? ` --database ${databaseLabel(values.db)}` : ''}\`, then start the service again.`);
  }
  const uiDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'service', 'ui');
  // One JSON object a line off a terminal (for a log collector); a readable line on one.
  const logger = createLogger({
    level: logLevel, destination: io.stderr, pretty: io.stderr.isTTY === true,
    color: io.escapes,
  });
  const owner = ownerId();
  const service = createService({
    journal,
    database,
    ...opened.connections,
    owner,
    ...(isPostgresUrl(dbPath) ? { queue: { connectionString: dbPath, work, ...(concurrency !== undefined ? { concurrency } : {}), ...queueTuning(io.env) } } : {}),
    isDead: isDeadOwner,
    metricsToken,
    secureCookies: values['secure-cookies'] === true,
    uiDir,
    logger,
    ...(mappingFile ? { mappingFile } : {}),
    ...(publicUrl ? { publicUrl } : {}),
    ...(notifications ? { notifications } : {}),
    ...(io.env.SUNSET_FAILPOINT ? { failpoint: parseFailpoint(io.env.SUNSET_FAILPOINT)! } : {}),
  });
  if (notifications?.smtp) logger.info({ smtp: describeSmtp(notifications.smtp) }, 'notification e-mails go through this SMTP server');
  const listening = await service.listen({ server });
  const reaches = opened.description;
  io.stdout.write(`Sunset is serving ${listening.origin} (${reaches}; journal ${databaseLabel(dbPath)}). Ctrl-C stops it.\n`);
  await new Promise<void>((resolve) => io.onStop(resolve));
  io.stderr.write('Stopping: finishing the calls in flight; runs being applied resume when the service starts again...\n');
  await service.close();
  await closeWorkspace();
  return 0;
}

/**
 * Notifications' settings: the SMTP server (`--smtp-url`, SUNSET_SMTP_URL), its password (in
 * SUNSET_SMTP_URL, SUNSET_SMTP_PASSWORD or a file; a password in the flag is refused: the process
 * list would show it) and the From address. Undefined: none given.
 */
function readNotificationSettings(given: { 'smtp-url'?: string; 'smtp-password-file'?: string; 'mail-from'?: string }, env: NodeJS.ProcessEnv): NotificationOptions | undefined {
  const url = flagOrEnv(given['smtp-url'], env, 'smtp-url', 'SUNSET_SMTP_URL');
  const passwordFile = flagOrEnv(given['smtp-password-file'], env, 'smtp-password-file', 'SUNSET_SMTP_PASSWORD_FILE');
  const from = flagOrEnv(given['mail-from'], env, 'mail-from', 'SUNSET_MAIL_FROM');
  if (url.value === undefined) {
    if (passwordFile.value !== undefined || from.value !== undefined) throw new ExitError(`${optionLabel(passwordFile.value !== undefined ? passwordFile.name : from.name)} is for e-mail notifications: give the mail server with --smtp-url too.`, EXIT.usage);
    return undefined;
  }
  if (url.name === 'smtp-url' && /^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(url.value)) {
    throw new ExitError('--smtp-url: a password does not belong on the command line (other users can read it in the process list): put it in SUNSET_SMTP_PASSWORD or a file (--smtp-password-file), or the whole URL in SUNSET_SMTP_URL.', EXIT.usage);
  }
  let password: string | undefined;
  if (passwordFile.value !== undefined) {
    try {
      password = readFileSync(passwordFile.value, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ExitError(`${optionLabel(passwordFile.name)}: cannot read it (${(error as { code?: string }).code ?? String(error)}).`, EXIT.usage);
    }
  } else if (env.SUNSET_SMTP_PASSWORD) password = env.SUNSET_SMTP_PASSWORD;
  let smtp;
  try {
    smtp = parseSmtpUrl(url.value, password);
  } catch (error) {
    if (error instanceof NotificationConfigError) throw new ExitError(`${optionLabel(url.name)}: ${error.message}.`, EXIT.usage);
    throw error;
  }
  if (from.value === undefined) return { smtp };
  try {
    return { smtp, from: checkMailFrom(from.value) };
  } catch (error) {
    if (error instanceof NotificationConfigError) throw new ExitError(`${optionLabel(from.name)}: ${error.message}.`, EXIT.usage);
    throw error;
  }
}

/** Listens on host:listenPort; a TCP port in use (or not ours to take) is a clear error. */
async function bind(server: Server, host: string, listenPort: number, hostLabel: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new ExitError(`Port ${listenPort} is already in use (another Sunset?); pick another with --port. Nothing was started.`);
    if (code === 'EACCES') throw new ExitError(`Port ${listenPort} on ${host} is not ours to take (EACCES); pick another with --port.`);
    if (code === 'EADDRNOTAVAIL') throw new ExitError(`${hostLabel} ${host}: this machine has no such address.`, EXIT.usage);
    throw error;
  }
}
