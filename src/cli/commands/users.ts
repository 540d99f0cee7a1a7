/**
 * `sunset users add NAME | list | set-role NAME ROLE | remove NAME | unlock NAME`: the local users
 * who can sign in to `sunset serve`, their roles and the clients they are limited to
 * (src/service/access.ts), and their failed sign-ins (the admin's view of delays and locks,
 * src/service/sign-in-limits.ts).
 */
import { isIP, isIPv6 } from 'node:net';
import { parseArgs } from 'node:util';
import { databaseLabel } from '../../engine/index.js';
import {
  addressKey, checkAccess, createServiceStore, hashPassword, passwordProblem, ROLE_DUTIES, SIGN_IN_LIMITS, signInSubject, type Access, type ServiceStore,
} from '../../service/index.js';
import { actorName } from '../actor.js';
import { parseFlags } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { askHidden, formatDuration } from '../terminal.js';
import { NoJournalError, openStorage, withEnvTwins } from '../workspace.js';

const WINDOW_MINUTES = SIGN_IN_LIMITS.windowMs / 60_000;

const HELP = `Usage: sunset users add NAME [--role ROLE] [--clients "A, B"] [--database URL|FILE]
       sunset users list [--json] [--database URL|FILE]
       sunset users set-role NAME ROLE [--clients "A, B" | --all-clients] [--database URL|FILE]
       sunset users remove NAME [--database URL|FILE]
       sunset users unlock NAME [--database URL|FILE]
       sunset users unlock --address ADDRESS [--database URL|FILE]

The local users who can sign in to \`sunset serve\`, their roles, and their failed sign-ins. An
admin can do all of this in the web UI too (Users), and invite people by a link instead.

Roles (each can do what the one before it can):
  viewer     ${ROLE_DUTIES.viewer}
  approver   ${ROLE_DUTIES.approver}
  admin      ${ROLE_DUTIES.admin}
An approver or a viewer may be limited to some clients (the names organizations are grouped under,
\`sunset clients\`): every other organization does not exist for them.

  add       Adds a user (or sets a new password for an existing one, which also signs them out
            everywhere). The password is read from SUNSET_PASSWORD, or asked for twice without
            echo; it needs at least 12 characters and is stored only as a scrypt hash. The first
            user is an admin; anyone after needs --role.
  list      Each user: role, clients, when added, failed sign-ins in the last ${WINDOW_MINUTES} minutes, and
            whether sign-in is slowed or locked, until when; then each address with failed
            sign-ins. Changes nothing.
  set-role  Gives a user another role, and with --clients limits them to those clients
            (--all-clients lifts the limit; neither: the limit stays). Open sessions follow at once.
            The last admin stays an admin.
  remove    Removes a user and ends their sessions (not the last admin).
  unlock    Forgets a user's failed sign-ins, which ends their delay or lock at once; with
            --address, an address's (as \`users list\` shows it).

Sign-in slows down after ${SIGN_IN_LIMITS.throttleAfter} failures of a name or from an address within ${WINDOW_MINUTES} minutes, and locks
it for ${SIGN_IN_LIMITS.lockMs / 60_000} minutes after ${SIGN_IN_LIMITS.lockAfter} (docs/service.md, "Sign-in and security").

Options:
  --database URL|FILE   The database \`sunset serve\` uses: a SQLite file        SUNSET_DATABASE_URL
                        (default ./sunset.db) or a postgres:// URL
  --db FILE             The same as --database (its older name)                    SUNSET_DB
  --role ROLE           add: viewer, approver or admin (the first user: admin)
  --clients "A, B"      add, set-role: the clients an approver or a viewer is limited to
  --all-clients         set-role: lift a user's limit to some clients
  --address ADDRESS     unlock: an address instead of a user (an IPv6 address stands for its /64)
  --json                list: print JSON on stdout; a failure is {"error": {...}} there
  --help, -h            Show this help
`;

export const OPTIONS = {
  database: { type: 'string' }, db: { type: 'string' }, address: { type: 'string' }, role: { type: 'string' }, clients: { type: 'string' }, 'all-clients': { type: 'boolean' },
  json: { type: 'boolean' }, help: { type: 'boolean' },
} as const;

export const SUBCOMMANDS = ['add', 'list', 'set-role', 'remove', 'unlock'] as const;

const USAGE = 'sunset users add NAME, sunset users list, sunset users set-role NAME ROLE, sunset users remove NAME, sunset users unlock NAME (or --address ADDRESS)';
const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS }), 'users');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new ExitError(`\`sunset users\` needs a subcommand: ${USAGE}.\n\n${HELP}`, EXIT.usage);
  const values = withEnvTwins(given, io.env, OPTIONS);
  const [subcommand, ...rest] = positionals;
  if (!(SUBCOMMANDS as readonly string[]).includes(subcommand!)) throw new ExitError(`Unknown: sunset users ${subcommand}. Use: ${USAGE}.`, EXIT.usage);
  if (values.address !== undefined && subcommand !== 'unlock') throw new ExitError('--address is for `sunset users unlock`.', EXIT.usage);
  if (values.json && subcommand !== 'list') throw new ExitError('--json is for `sunset users list`.', EXIT.usage);
  if (values.role !== undefined && subcommand !== 'add') throw new ExitError(`--role is for \`sunset users add\`${subcommand === 'set-role' ? ': set-role takes the role after the name' : ''}.`, EXIT.usage);
  if (values.clients !== undefined && subcommand !== 'add' && subcommand !== 'set-role') throw new ExitError('--clients is for `sunset users add` and `set-role`.', EXIT.usage);
  if (values['all-clients'] && subcommand !== 'set-role') throw new ExitError('--all-clients is for `sunset users set-role`.', EXIT.usage);
  const location = values.db ?? 'sunset.db';
  if (subcommand === 'add') {
    if (rest.length !== 1) throw new ExitError('Use: sunset users add NAME [--role ROLE] [--clients "A, B"]', EXIT.usage);
    return add(rest[0]!, location, io, values.role, values.clients);
  }
  if (subcommand === 'set-role') {
    if (rest.length !== 2) throw new ExitError('Use: sunset users set-role NAME ROLE [--clients "A, B" | --all-clients]', EXIT.usage);
    if (values.clients !== undefined && values['all-clients']) throw new ExitError('--clients and --all-clients: keep one.', EXIT.usage);
    return setRole(rest[0]!, rest[1]!, values['all-clients'] ? null : values.clients, location, io);
  }
  if (subcommand === 'remove') {
    if (rest.length !== 1) throw new ExitError('Use: sunset users remove NAME', EXIT.usage);
    return remove(rest[0]!, location, io);
  }
  if (subcommand === 'list') {
    if (rest.length > 0) throw new ExitError(`\`sunset users list\` takes no ${rest[0]}.`, EXIT.usage);
    return list(location, values.json === true, io);
  }
  if ((values.address === undefined) === (rest.length !== 1) || rest.length > 1) {
    throw new ExitError('Use: sunset users unlock NAME, or sunset users unlock --address ADDRESS', EXIT.usage);
  }
  return values.address !== undefined ? unlockAddress(values.address, location, io) : unlockUser(rest[0]!, location, io);
}

/** Opens the service's store in the database at `location` (migrated); `create: false` refuses a missing one. */
async function withStore<T>(location: string, create: boolean, work: (store: ServiceStore) => Promise<T>): Promise<T> {
  const { journal, database } = await openStorage(location, { create });
  try {
    const store = createServiceStore(database);
    await store.migrate();
    return await work(store);
  } finally {
    await journal.close();
  }
}

/** "an admin", "an approver", "a viewer". */
const article = (role: string): string => `${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role}`;

/** `--clients "A, B"` as a list (undefined: not given). */
function clientList(given: string | undefined): string[] | undefined {
  return given === undefined ? undefined : given.split(',').map((c) => c.trim()).filter((c) => c !== '');
}

/** A role and clients as given, checked (a usage error, nothing changed, otherwise). */
function accessOf(role: string, clients: string[] | null | undefined): Access {
  try {
    return checkAccess(role, clients ?? null);
  } catch (error) {
    throw new ExitError(`${(error as Error).message}; nothing was changed.`, EXIT.usage);
  }
}

async function add(name: string, location: string, io: CliIO, role: string | undefined, clients: string | undefined): Promise<number> {
  if (!NAME.test(name)) throw new ExitError('A user name has 1 to 64 letters, digits or . _ @ -', EXIT.usage);
  const access = role === undefined && clients === undefined ? undefined : accessOf(role ?? 'viewer', clientList(clients));
  // A password given in the environment is checked first: a short one is the mistake to hear of.
  const fromEnv = io.env.SUNSET_PASSWORD ?? '';
  const early = fromEnv ? passwordProblem(fromEnv) : undefined;
  if (early) throw new ExitError(`${early}; nothing was changed.`, EXIT.usage);
  // Whether the name is new, and the first: before the password is asked for.
  let existing: { user: unknown; count: number } = { user: undefined, count: 0 };
  try {
    existing = await withStore(location, false, async (store) => ({ user: await store.user(name), count: await store.userCount() }));
  } catch (error) {
    // No database yet: the first user, made with it once the password is right.
    if (!(error instanceof NoJournalError)) throw error;
  }
  if (existing.user && access) throw new ExitError(`${name} is already a user: \`sunset users set-role ${name} ROLE\` changes their role; \`users add ${name}\` without --role sets a new password.`, EXIT.usage);
  if (!existing.user && !access && existing.count > 0) {
    throw new ExitError(`Say what ${name} may do: --role viewer (${ROLE_DUTIES.viewer}), approver (${ROLE_DUTIES.approver}) or admin (${ROLE_DUTIES.admin}). Nothing was changed.`, EXIT.usage);
  }
  let password = io.env.SUNSET_PASSWORD ?? '';
  if (!password) {
    if (!io.stdin.isTTY) throw new ExitError('No password: set SUNSET_PASSWORD, or run this on a terminal to be asked.', EXIT.usage);
    password = await askHidden(io, 'Password: ');
    if ((await askHidden(io, 'Again: ')) !== password) throw new ExitError('The two passwords differ; nothing was changed.', EXIT.usage);
  }
  const problem = passwordProblem(password);
  if (problem) throw new ExitError(`${problem}; nothing was changed.`, EXIT.usage);
  const hash = await hashPassword(password);
  const given = access ?? { role: 'admin' as const, clients: null };
  const result = await withStore(location, true, async (store) => {
    const done = await store.addUser(name, hash, Date.now(), given);
    if (done === 'added') await store.recordAction({ at: Date.now(), username: actorName(io.env), action: 'user.add', organizationId: null, subject: name, detail: { role: given.role, clients: given.clients, via: 'sunset users add' } });
    return done;
  });
  io.stdout.write(result === 'added'
    ? `User ${name} added as ${article(given.role)}${given.clients ? `, limited to ${given.clients.join(', ')}` : ''}; they can sign in to \`sunset serve\`.\n`
    : `Password of ${name} changed; their sessions were ended.\n`);
  return 0;
}

async function setRole(name: string, role: string, clients: string | null | undefined, location: string, io: CliIO): Promise<number> {
  if (!NAME.test(name)) throw new ExitError('A user name has 1 to 64 letters, digits or . _ @ -', EXIT.usage);
  const message = await withStore(location, false, async (store) => {
    const user = (await store.users()).find((u) => u.username === name);
    if (!user) throw new ExitError(`There is no user ${name} in ${databaseLabel(location)}; \`sunset users list\` lists them.`, EXIT.notFound);
    // Neither --clients nor --all-clients: the limit stays (an admin's is none).
    const access = accessOf(role, clients === undefined ? (role === 'admin' ? null : user.clients) : clients === null ? null : clientList(clients));
    const result = await store.setAccess(name, access);
    if (result === 'missing') throw new ExitError(`There is no user ${name} in ${databaseLabel(location)}; \`sunset users list\` lists them.`, EXIT.notFound);
    if (result === 'last-admin') throw new ExitError(`${name} is the last admin: make another user an admin first. Nothing was changed.`);
    await store.recordAction({ at: Date.now(), username: actorName(io.env), action: 'user.access', organizationId: null, subject: name, detail: { from: { role: user.role, clients: user.clients }, to: access, via: 'sunset users set-role' } });
    return `${name} is now ${article(access.role)}${access.clients ? `, limited to ${access.clients.join(', ')}` : ''}.`;
  });
  io.stdout.write(`${message}\n`);
  return 0;
}

async function remove(name: string, location: string, io: CliIO): Promise<number> {
  if (!NAME.test(name)) throw new ExitError('A user name has 1 to 64 letters, digits or . _ @ -', EXIT.usage);
  await withStore(location, false, async (store) => {
    const result = await store.removeUser(name);
    if (result === 'missing') throw new ExitError(`There is no user ${name} in ${databaseLabel(location)}; \`sunset users list\` lists them.`, EXIT.notFound);
    if (result === 'last-admin') throw new ExitError(`${name} is the last admin: make another user an admin first. Nothing was changed.`);
    await store.recordAction({ at: Date.now(), username: actorName(io.env), action: 'user.remove', organizationId: null, subject: name, detail: { via: 'sunset users remove' } });
  });
  io.stdout.write(`User ${name} removed; their sessions were ended.\n`);
  return 0;
}

type SignIn = 'open' | 'slowed' | 'locked';

interface FailureView {
  /** Failed sign-ins in the current window. */
  failures: number;
  lastFailureAt: string | null;
  signIn: SignIn;
  /** Until when sign-in is slowed or locked (null: open). */
  until: string | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** `2026-12-02 10:04:31 UTC (in 12 min)`. */
function untilText(ms: number, now: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC (in ${formatDuration(ms - now)})`;
}

async function list(location: string, json: boolean, io: CliIO): Promise<number> {
  const now = Date.now();
  let found: { users: Awaited<ReturnType<ServiceStore['users']>>; states: Awaited<ReturnType<ServiceStore['signInStates']>> };
  try {
    found = await withStore(location, false, async (store) => ({ users: await store.users(), states: await store.signInStates(now) }));
  } catch (error) {
    if (!(error instanceof NoJournalError)) throw error;
    io.stdout.write(json ? `${JSON.stringify({ users: [], addresses: [] })}\n` : `No users yet: there is no database at ${databaseLabel(location)} (\`sunset users add NAME\` makes one).\n`);
    return 0;
  }
  const view = (state: (typeof found.states)[number] | undefined): FailureView => ({
    failures: state?.failures ?? 0,
    lastFailureAt: iso(state?.lastFailedAt ?? null),
    signIn: state?.locked ? 'locked' : state?.blockedUntil ? 'slowed' : 'open',
    until: iso(state?.blockedUntil ?? null),
  });
  const byUser = new Map(found.states.filter((s) => s.kind === 'user').map((s) => [s.subject, s]));
  const users = found.users.map((u) => ({
    username: u.username,
    role: u.role,
    clients: u.clients,
    invitedUntil: iso(u.invitedUntil),
    createdAt: new Date(u.createdAt).toISOString(),
    hash: u.hashIsCurrent ? 'current' : 'older',
    ...view(byUser.get(signInSubject('user', u.username))),
  }));
  const addresses = found.states.filter((s) => s.kind === 'address').map((s) => ({ address: s.subject, ...view(s) }));
  if (json) {
    io.stdout.write(`${JSON.stringify({ users, addresses })}\n`);
    return 0;
  }
  const signInText = (v: FailureView): string => (v.signIn === 'open' ? 'open' : `${v.signIn} until ${untilText(Date.parse(v.until!), now)}`);
  const table = (header: string[], rows: string[][]): string => {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    return `${[line(header), ...rows.map(line)].join('\n')}\n`;
  };
  if (users.length === 0) io.stdout.write('No users yet: `sunset users add NAME` adds one.\n');
  else {
    io.stdout.write(table(
      ['USER', 'ROLE', 'CLIENTS', 'ADDED', `FAILED (${WINDOW_MINUTES} MIN)`, 'SIGN-IN', 'HASH'],
      users.map((u) => [
        u.username, u.role, u.clients ? u.clients.join(', ') : 'all', `${u.createdAt.slice(0, 16).replace('T', ' ')} UTC`, String(u.failures),
        u.invitedUntil ? `invited, link works until ${u.invitedUntil.slice(0, 16).replace('T', ' ')} UTC` : signInText(u),
        u.invitedUntil ? 'none yet' : u.hash === 'current' ? 'current' : 'older (upgraded at the next sign-in)',
      ]),
    ));
  }
  if (addresses.length > 0) {
    io.stdout.write(`\nAddresses with failed sign-ins in the last ${WINDOW_MINUTES} minutes:\n`);
    io.stdout.write(table(['ADDRESS', 'FAILED', 'SIGN-IN'], addresses.map((a) => [a.address || '(in-process)', String(a.failures), signInText(a)])));
  }
  return 0;
}

async function unlockUser(name: string, location: string, io: CliIO): Promise<number> {
  if (!NAME.test(name)) throw new ExitError('A user name has 1 to 64 letters, digits or . _ @ -', EXIT.usage);
  const cleared = await withStore(location, false, async (store) => {
    if (!(await store.user(name))) throw new ExitError(`There is no user ${name} in ${databaseLabel(location)}; \`sunset users list\` lists them.`, EXIT.notFound);
    return store.clearSignInFailures('user', name, Date.now());
  });
  io.stdout.write(cleared ? `${name} may sign in again: their failed sign-ins are forgotten.\n` : `${name} has no recent failed sign-ins; nothing changed.\n`);
  return 0;
}

async function unlockAddress(given: string, location: string, io: CliIO): Promise<number> {
  // An address as `users list` shows it: IPv4, or an IPv6 /64 (`2001:db8:0:0::/64`); any IPv6 address stands for its /64.
  const prefix = given.endsWith('/64') ? given.slice(0, -3) : undefined;
  if (prefix !== undefined ? !isIPv6(prefix) : isIP(given) === 0) {
    throw new ExitError(`--address needs an IP address, as \`sunset users list\` shows it (got "${given}").`, EXIT.usage);
  }
  const key = addressKey(prefix ?? given);
  const cleared = await withStore(location, false, (store) => store.clearSignInFailures('address', key, Date.now()));
  io.stdout.write(cleared ? `${key} may sign in again: its failed sign-ins are forgotten.\n` : `${key} has no recent failed sign-ins; nothing changed.\n`);
  return 0;
}
