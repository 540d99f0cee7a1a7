/**
 * `sunset notifications list|outbox`: the notification subscriptions of `sunset serve`'s users
 * and the outbox (each notice pending, delivered or failed, with its last error and next attempt),
 * read from the database the service uses. Never a webhook's secret. docs/notifications.md.
 */
import { parseArgs } from 'node:util';
import { databaseLabel } from '../../engine/index.js';
import { createNotificationStore, type OutboxEntry, type Subscription } from '../../service/index.js';
import { parseFlags } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { NoJournalError, openStorage, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset notifications list|outbox [--user NAME] [--state STATE] [--database URL|FILE] [--json]

  list     Every user's notification subscriptions: channel, address, event kinds, clients
           (never a webhook's signing secret).
  outbox   The latest notices (500, newest first): pending, delivered or failed, with their
           tries, last error and next attempt. \`sunset serve\` delivers them; see
           docs/notifications.md.

Options:
  --user NAME           Only this user's
  --state STATE         outbox: only pending, delivered or failed notices
  --database URL|FILE   The database \`sunset serve\` uses: a SQLite file        SUNSET_DATABASE_URL
                        (default ./sunset.db) or a postgres:// URL
  --db FILE             The same as --database (its older name)                    SUNSET_DB
  --json                Print JSON on stdout; a failure is {"error": {...}} there
  --help, -h            Show this help
`;

export const OPTIONS = {
  user: { type: 'string' }, state: { type: 'string' }, database: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
} as const;

export const SUBCOMMANDS = ['list', 'outbox'] as const;

const STATES = ['pending', 'delivered', 'failed'] as const;

const iso = (t: number | null): string => (t === null ? '-' : new Date(t).toISOString());

function renderSubscriptions(list: Subscription[], where: string): string {
  if (list.length === 0) return `No notification subscriptions in ${where}: users add them on the Notifications page of \`sunset serve\`.\n`;
  return `${list.map((s) => [
    `${s.subscriptionId}  ${s.username}  ${s.channel}  ${s.address}`,
    `  events   ${s.events.join(', ')}`,
    `  clients  ${s.clients === null ? 'every organization the user may see' : s.clients.join(', ')}`,
    `  since    ${iso(s.createdAt)}`,
  ].join('\n')).join('\n\n')}\n`;
}

function renderOutbox(list: Array<Omit<OutboxEntry, 'payload'>>, where: string): string {
  if (list.length === 0) return `No notices in ${where}.\n`;
  return `${list.map((n) => {
    const lines = [`${n.notificationId}  ${n.state}  ${n.kind}  to ${n.username} (${n.subscriptionId})`, `  ${n.subject}`, `  written ${iso(n.createdAt)}, ${n.attempts} ${n.attempts === 1 ? 'try' : 'tries'}`];
    if (n.state === 'delivered') lines.push(`  delivered ${iso(n.deliveredAt)}`);
    if (n.lastError) lines.push(`  last error: ${n.lastError}`);
    if (n.state === 'pending') lines.push(`  next attempt ${iso(n.nextAttemptAt)}`);
    return lines.join('\n');
  }).join('\n\n')}\n`;
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS }), 'notifications');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const [subcommand, ...rest] = positionals;
  if (!subcommand) throw new ExitError(`\`sunset notifications\` needs a subcommand: list or outbox.\n\n${HELP}`, EXIT.usage);
  if (!(SUBCOMMANDS as readonly string[]).includes(subcommand) || rest.length > 0) throw new ExitError(`Unknown: sunset notifications ${positionals.join(' ')}. Use list or outbox.`, EXIT.usage);
  if (given.state !== undefined && (subcommand !== 'outbox' || !(STATES as readonly string[]).includes(given.state))) {
    throw new ExitError(subcommand === 'outbox' ? `--state ${given.state}: use pending, delivered or failed.` : '--state is for `sunset notifications outbox`.', EXIT.usage);
  }
  const values = withEnvTwins(given, io.env, OPTIONS);
  const location = values.db ?? 'sunset.db';
  let storage: Awaited<ReturnType<typeof openStorage>>;
  try {
    storage = await openStorage(location, { create: false });
  } catch (error) {
    if (!(error instanceof NoJournalError)) throw error;
    io.stdout.write(values.json ? '[]\n' : `No notifications: there is no database at ${error.path} (\`sunset serve\` makes one).\n`);
    return 0;
  }
  try {
    const store = createNotificationStore(storage.database);
    const label = databaseLabel(location);
    if (subcommand === 'list') {
      const list = (await store.allSubscriptions())
        .filter((s) => values.user === undefined || s.username === values.user)
        .map(({ secret: _secret, ...s }) => s);
      io.stdout.write(values.json ? `${JSON.stringify(list)}\n` : renderSubscriptions(list, label));
    } else {
      const list = (await store.outbox(values.user, 500))
        .filter((n) => values.state === undefined || n.state === values.state)
        .map(({ payload: _payload, ...n }) => n);
      io.stdout.write(values.json ? `${JSON.stringify(list)}\n` : renderOutbox(list, label));
    }
    return 0;
  } finally {
    await storage.journal.close();
  }
}
