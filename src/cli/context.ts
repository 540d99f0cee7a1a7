/**
 * What every engine command needs: the journal, a connection to Zoho Books (real credentials, a
 * running emulator, or the embedded emulator), the organization, who is acting, progress output
 * and confirmation. Only the CLI reads the environment; everything below gets options.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, hostname, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import {
  createFileTokenStore, createMemoryTokenStore, createZohoBooksClient, ZohoError, type ZohoBooksClient,
} from '../client/index.js';
import { createEmulator, createEmulatorFetch, type Emulator } from '../emulator/index.js';
import {
  apiTarget, createJournal, createZohoPort, describeTarget, EMBEDDED_TARGET, emulatorTarget, emulatorUrlOf, openSqlite, JournalError, zohoTarget,
  type BooksPort, type Journal,
} from '../engine/index.js';
import { isDataCentre, isOrganizationId, type DataCentre } from '../zoho/index.js';
import { ExitError, EXIT_USAGE } from './exit-error.js';
import type { CliIO } from './main.js';

export interface StoredCredentials {
  version: 1;
  kind: 'zoho' | 'emulator';
  dataCentre?: DataCentre;
  baseUrl?: string;
  accountsUrl?: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** The organization commands use when none is named. */
  organizationId?: string;
}

export function sunsetHome(env: NodeJS.ProcessEnv): string {
  return resolve(env.SUNSET_HOME ?? join(homedir(), '.sunset'));
}

export function credentialsPath(env: NodeJS.ProcessEnv, flag?: string): string {
  return resolve(flag ?? env.SUNSET_CREDENTIALS ?? join(sunsetHome(env), 'credentials.json'));
}

export function readCredentials(path: string): StoredCredentials | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new ExitError(`${path} is not valid JSON. Run \`sunset auth login\` again, or delete the file.`);
  }
  const c = parsed as Partial<StoredCredentials>;
  if (c.version !== 1 || (c.kind !== 'zoho' && c.kind !== 'emulator') || !c.clientId || !c.clientSecret || !c.refreshToken) {
    throw new ExitError(`${path} is not a Sunset credentials file. Run \`sunset auth login\` again.`);
  }
  if (c.dataCentre !== undefined && !isDataCentre(c.dataCentre)) throw new ExitError(`${path} names an unknown data centre "${c.dataCentre}".`);
  return c as StoredCredentials;
}

export function writeCredentials(path: string, credentials: StoredCredentials): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // A new file, owner-only from its first byte ('wx': never an existing file or link), renamed over
  // the old one: the secrets are never written into a file others may read, whatever its mode was.
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** There is no journal where a command that only reads one looked: nothing was created. */
export class NoJournalError extends ExitError {
  constructor(readonly path: string) {
    super(`There is no journal at ${path}: nothing was scanned, planned or changed with it yet. \`sunset scan --policy FILE\` (or \`sunset contacts\`) makes one; --db FILE names another.`);
  }
}

export interface OpenJournalOptions {
  /**
   * false for commands that only read the journal: a missing file is a NoJournalError instead of a
   * new empty journal left behind (a typo in --db, or the wrong directory, would otherwise look
   * like "no runs yet" and leave a stray sunset.db).
   */
  create?: boolean;
}

/** Opens (creating, unless `create: false`) the journal; a file that is not a journal is a clear error. */
export async function openJournal(path: string, options: OpenJournalOptions = {}): Promise<Journal> {
  const full = resolve(path);
  if (options.create === false && !existsSync(full)) throw new NoJournalError(full);
  if (!existsSync(dirname(full))) throw new ExitError(`--db ${path}: the directory ${dirname(full)} does not exist.`);
  let journal: Journal | undefined;
  try {
    journal = createJournal(openSqlite(full));
    await journal.migrate();
    return journal;
  } catch (error) {
    await journal?.close().catch(() => undefined);
    if (error instanceof JournalError) throw new ExitError(`${path}: ${error.message}`);
    throw new ExitError(`Cannot open the journal ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export interface Connection {
  client: ZohoBooksClient;
  /** What the commands talk to, for messages: "Zoho Books (EU)", "the emulator at ...", "the embedded emulator". */
  description: string;
  /** The same as a target (`zoho:EU`, `emulator:URL`, `embedded`), recorded on snapshots, plans and runs. */
  target: string;
  /** The organization the user chose at `sunset auth login` (never just the first one reachable). */
  defaultOrganizationId: string | undefined;
  /** Calls made through the client so far. */
  apiCalls(): number;
  /** HTTP 429 answers received so far. */
  rateLimited(): number;
  port(organizationId: string): BooksPort;
  close(): Promise<void>;
  /** Set for the embedded emulator. */
  emulator?: Emulator;
}

/** A record the command acts on (a run, a plan) and where it was made: the connection must reach the same place. */
export interface Binding {
  /** "Run run-20261202-...", "Plan plan_..." */
  what: string;
  target: string;
}

export interface ConnectOptions {
  /** `--emulator URL`, or `embedded` for the embedded emulator. */
  emulatorUrl?: string;
  credentialsFile?: string;
  /** The record the command acts on: its own target is used when no other is named, and a different one named is refused. */
  binding?: Binding;
  /** Every target the journal has worked with: the embedded emulator is used silently only when it has seen no other. */
  journalTargets?: string[];
  /** The journal's path: the embedded emulator keeps its state beside it. */
  dbPath: string;
  /** Client limits (the demo raises them with the emulator's). */
  perMinute?: number;
  quiet?: boolean;
}

/** Reads `/__emulator/info` of a running emulator. */
async function emulatorInfo(url: string): Promise<{ baseUrl: string; accountsUrl: string; clientId: string; clientSecret: string; refreshToken: string; organizations: Array<{ organization_id: string }> }> {
  const origin = normaliseEmulatorUrl(url);
  try {
    const response = await fetch(`${origin}/__emulator/info`);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return (await response.json()) as Awaited<ReturnType<typeof emulatorInfo>>;
  } catch (error) {
    throw new ExitError(`No Sunset emulator answers at ${origin} (${error instanceof Error ? error.message : String(error)}). Start one with \`sunset emulator start\`.`);
  }
}

/**
 * Connects to what the command should talk to, in this order: what the command line or the
 * environment names (`--emulator URL|embedded`, `--credentials FILE`, SUNSET_EMULATOR_URL,
 * SUNSET_CREDENTIALS); else, for a command acting on a run or a plan, the place it was made (a
 * running emulator is reached at its address; Zoho needs matching credentials); else the saved
 * credentials; else the embedded emulator — but only on a journal that has never seen another
 * target. A command acting on a record made elsewhere is refused with both places named.
 */
export async function connect(io: CliIO, options: ConnectOptions): Promise<Connection> {
  let calls = 0;
  let limited = 0;
  const hooks = {
    onResponse: (r: { status: number }) => {
      calls++;
      if (r.status === 429) limited++;
    },
  };
  const limits = options.perMinute ? { perMinute: options.perMinute } : undefined;
  const make = (client: ZohoBooksClient, target: string, defaultOrganizationId: string | undefined, close: () => Promise<void>, emulator?: Emulator): Connection => ({
    client,
    description: describeTarget(target),
    target,
    defaultOrganizationId,
    apiCalls: () => calls,
    rateLimited: () => limited,
    port: (organizationId) => createZohoPort(client, organizationId, () => calls, target),
    close,
    emulator,
  });

  const toEmulator = async (url: string): Promise<Connection> => {
    const info = await emulatorInfo(url);
    const client = createZohoBooksClient({
      baseUrl: info.baseUrl, accountsUrl: info.accountsUrl,
      credentials: { clientId: info.clientId, clientSecret: info.clientSecret, refreshToken: info.refreshToken },
      // Cached across commands like real credentials: every command refreshing would hit the
      // 10-refreshes-per-10-minutes limit by the eleventh.
      tokenStore: createFileTokenStore(join(sunsetHome(io.env), 'tokens.json')), hooks, limits,
    });
    return make(client, emulatorTarget(info.baseUrl), undefined, async () => undefined);
  };

  const toCredentials = (path: string, stored: StoredCredentials): Connection => {
    const client = createZohoBooksClient({
      dataCentre: stored.kind === 'zoho' && !stored.baseUrl ? stored.dataCentre : undefined,
      baseUrl: stored.baseUrl,
      accountsUrl: stored.accountsUrl,
      credentials: { clientId: stored.clientId, clientSecret: stored.clientSecret, refreshToken: stored.refreshToken },
      tokenStore: createFileTokenStore(join(dirname(path), 'tokens.json')),
      hooks,
      limits,
    });
    return make(client, credentialsTarget(stored), stored.organizationId, async () => undefined);
  };

  const toEmbedded = (): Connection => {
    const emulatorDb = join(dirname(resolve(options.dbPath)), 'sunset-emulator.db');
    const emulator = createEmulator({ db: emulatorDb, seed: 'demo' });
    const origin = 'http://embedded.emulator';
    const info = emulator.info(origin);
    if (!options.quiet) {
      io.stderr.write(`Using the embedded Zoho Books emulator (state in ${emulatorDb}); \`sunset auth login\` connects to Zoho.\n`);
    }
    const client = createZohoBooksClient({
      baseUrl: info.baseUrl, accountsUrl: info.accountsUrl, fetch: createEmulatorFetch(emulator, origin),
      credentials: { clientId: info.clientId, clientSecret: info.clientSecret, refreshToken: info.refreshToken },
      tokenStore: createMemoryTokenStore(), hooks, limits,
    });
    return make(client, EMBEDDED_TARGET, undefined, async () => emulator.close(), emulator);
  };

  const binding = options.binding && options.binding.target !== '' ? options.binding : undefined;
  const refuse = (named: string, how: string): never => {
    const bound = binding!;
    const emulatorUrl = emulatorUrlOf(bound.target);
    const use = bound.target === EMBEDDED_TARGET ? '--emulator embedded'
      : emulatorUrl ? `--emulator ${emulatorUrl}`
      : `credentials for ${describeTarget(bound.target)} (\`sunset auth login\`, or --credentials FILE)`;
    throw new ExitError(`${bound.what} was made against ${describeTarget(bound.target)}, but ${how} ${describeTarget(named)}. Nothing was done; use ${use}.`);
  };

  // 1. What the command line or the environment names.
  const emulatorUrl = options.emulatorUrl ?? io.env.SUNSET_EMULATOR_URL;
  const credentialsFile = options.credentialsFile ?? io.env.SUNSET_CREDENTIALS;
  if (emulatorUrl !== undefined && emulatorUrl !== '') {
    const named = emulatorUrl === 'embedded' ? EMBEDDED_TARGET : emulatorTarget(normaliseEmulatorUrl(emulatorUrl));
    if (binding && binding.target !== named) refuse(named, '--emulator names');
    return named === EMBEDDED_TARGET ? toEmbedded() : toEmulator(emulatorUrl);
  }
  if (credentialsFile !== undefined && credentialsFile !== '') {
    const path = resolve(credentialsFile);
    const stored = readCredentials(path);
    if (!stored) throw new ExitError(`${credentialsFile}: no such credentials file. \`sunset auth login --credentials ${credentialsFile}\` writes one.`, EXIT_USAGE);
    if (binding && binding.target !== credentialsTarget(stored)) refuse(credentialsTarget(stored), `${credentialsFile} reaches`);
    return toCredentials(path, stored);
  }

  // 2. The record's own place.
  const path = credentialsPath(io.env);
  const stored = readCredentials(path);
  if (binding) {
    // The saved credentials when they reach that place (they may be narrower than an emulator's own).
    if (stored && credentialsTarget(stored) === binding.target) return toCredentials(path, stored);
    if (binding.target === EMBEDDED_TARGET) return toEmbedded();
    const url = emulatorUrlOf(binding.target);
    if (url) return toEmulator(url);
    if (!stored) throw new ExitError(`${binding.what} was made against ${describeTarget(binding.target)}; sign in there first (\`sunset auth login\`). Nothing was done.`);
    if (credentialsTarget(stored) !== binding.target) refuse(credentialsTarget(stored), `the saved credentials (${path}) reach`);
    return toCredentials(path, stored);
  }

  // 3. The saved credentials; 4. the embedded emulator, on a journal that has only known it.
  if (stored) return toCredentials(path, stored);
  const others = (options.journalTargets ?? []).filter((t) => t !== EMBEDDED_TARGET);
  if (others.length > 0) {
    throw new ExitError(
      `No Zoho connection is named, and this journal (${options.dbPath}) has worked with ${others.map(describeTarget).join(', ')}: `
      + 'Sunset will not quietly switch to the embedded emulator. Name one: '
      + `${others.map((t) => (emulatorUrlOf(t) ? `--emulator ${emulatorUrlOf(t)}` : `credentials for ${describeTarget(t)}`)).join(', ')}, or --emulator embedded.`,
      EXIT_USAGE,
    );
  }
  return toEmbedded();
}

/** The target saved credentials reach. */
export function credentialsTarget(stored: StoredCredentials): string {
  if (stored.kind === 'emulator') return emulatorTarget(stored.baseUrl ?? stored.accountsUrl ?? 'http://127.0.0.1');
  if (stored.baseUrl) return apiTarget(stored.baseUrl);
  return zohoTarget(stored.dataCentre ?? 'US');
}

/** `--emulator` as given (`127.0.0.1:8742`, `http://localhost:8742/books/v3/`) as an origin URL. */
function normaliseEmulatorUrl(url: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(url) ? url : `http://${url}`;
  try {
    return new URL(withScheme.replace(/\/+$/, '').replace(/\/books\/v3$/, '')).origin;
  } catch {
    throw new ExitError(`--emulator ${url}: not an address like http://127.0.0.1:8742 (or "embedded").`, EXIT_USAGE);
  }
}

/**
 * The organization to work on: the flag (or the policy's), else the one the user chose at `sunset
 * auth login`, else the only one reachable. With several and none chosen, asks on a terminal (when
 * given `io`) and refuses otherwise: picking one silently could act on the wrong books.
 */
export async function resolveOrganization(connection: Connection, flag: string | undefined, fromPolicy?: string, io?: CliIO): Promise<string> {
  const wanted = flag ?? fromPolicy;
  if (wanted !== undefined && !isOrganizationId(wanted)) throw new ExitError(`--org ${wanted}: an organization id is digits only.`, EXIT_USAGE);
  let organizations: Array<{ organizationId: string; name: string }>;
  try {
    organizations = await connection.port(wanted ?? connection.defaultOrganizationId ?? '0').organizations();
  } catch (error) {
    throw explain(error, `listing the organizations of ${connection.description}`);
  }
  if (wanted !== undefined) {
    if (!organizations.some((o) => o.organizationId === wanted)) {
      throw new ExitError(`Organization ${wanted} is not reachable with these credentials (${connection.description}). Reachable: ${organizations.map((o) => `${o.organizationId} (${o.name})`).join(', ') || 'none'}.`);
    }
    return wanted;
  }
  if (connection.defaultOrganizationId && organizations.some((o) => o.organizationId === connection.defaultOrganizationId)) return connection.defaultOrganizationId;
  if (organizations.length === 1) return organizations[0]!.organizationId;
  if (organizations.length === 0) throw new ExitError(`No organization is reachable through ${connection.description}.`);
  if (io?.stdin.isTTY) return chooseOrganization(io, organizations, connection.description);
  throw new ExitError(
    `${organizations.length} organizations are reachable through ${connection.description} and none is the default:\n${listOrganizations(organizations)}` +
      `${io ? 'Not a terminal, so nothing was asked: n' : 'N'}ame one with --org (\`sunset auth login --org ID\` makes one the default).`,
    EXIT_USAGE,
  );
}

function listOrganizations(organizations: ReadonlyArray<{ organizationId: string; name: string }>): string {
  return organizations.map((o, i) => `  ${i + 1}. ${o.organizationId}  ${o.name}\n`).join('');
}

/**
 * Lists the organizations numbered and reads a choice (its number or its id) from the terminal,
 * asking again after an answer that is neither; the input ending is a refusal.
 */
export async function chooseOrganization(io: CliIO, organizations: ReadonlyArray<{ organizationId: string; name: string }>, where: string): Promise<string> {
  io.stderr.write(`Several organizations are reachable through ${where}:\n${listOrganizations(organizations)}`);
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  // The iterator buffers lines, so an answer typed (or piped) ahead of the prompt is not lost.
  const lines = rl[Symbol.asyncIterator]();
  try {
    for (;;) {
      rl.setPrompt(`Which one (1-${organizations.length}, or its id)? `);
      rl.prompt();
      const line = await lines.next();
      if (line.done) {
        // Ctrl-D or Ctrl-C at the prompt: end its line before the message.
        io.stderr.write('\n');
        throw new ExitError('No organization was chosen, so nothing was done. Name one with --org.', EXIT_USAGE);
      }
      const answer = (line.value as string).trim();
      const chosen = /^\d{1,3}$/.test(answer) ? organizations[Number(answer) - 1] : organizations.find((o) => o.organizationId === answer);
      if (chosen) return chosen.organizationId;
      io.stderr.write(`"${answer}" is not one of them: type a number from 1 to ${organizations.length}.\n`);
    }
  } finally {
    rl.close();
  }
}

/** A Zoho or engine error as a user-facing ExitError (messages never hold secrets). */
export function explain(error: unknown, doing: string): Error {
  if (error instanceof ExitError) return error;
  if (error instanceof ZohoError) {
    const hint =
      error.kind === 'auth' ? ' Run `sunset auth login` again.' :
      error.kind === 'network' || error.kind === 'timeout' ? ' Check the network, then try again.' :
      error.kind === 'invalid_organization' ? ' `sunset orgs` lists the organizations these credentials reach.' : '';
    return new ExitError(`Failed while ${doing}: ${error.message}${hint}`);
  }
  return error instanceof Error ? error : new Error(String(error));
}

export function ownerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** A lease owner on this host whose process is gone. */
export function isDeadOwner(owner: string): boolean {
  const [host, pid] = owner.split(':');
  if (host !== hostname() || !pid || !/^\d+$/.test(pid)) return false;
  if (Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'ESRCH';
  }
}

export function actorName(env: NodeJS.ProcessEnv, flag?: string): string {
  if (flag) return flag;
  if (env.SUNSET_ACTOR) return env.SUNSET_ACTOR;
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `unknown@${hostname()}`;
  }
}

/** Progress on stderr: one rewritten line on a terminal, a line every few seconds otherwise. */
export function createProgress(io: CliIO, quiet: boolean): { update(text: string): void; done(text?: string): void } {
  const tty = io.stderr.isTTY === true;
  // Off a terminal, short work prints nothing; long work prints a line every few seconds.
  let last = Date.now();
  let shown = false;
  return {
    update(text) {
      if (quiet) return;
      const now = Date.now();
      if (tty) {
        io.stderr.write(`\r\u001b[2K${text}`);
        shown = true;
      } else if (now - last >= 5_000) {
        io.stderr.write(`${text}\n`);
        last = now;
      }
    },
    done(text) {
      if (quiet) return;
      if (tty && shown) io.stderr.write('\r\u001b[2K');
      if (text) io.stderr.write(`${text}\n`);
      shown = false;
    },
  };
}

/** Asks a yes/no question on a terminal; without one, `--yes` is required. */
export async function confirm(io: CliIO, question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!io.stdin.isTTY) throw new ExitError(`${question}\nNot a terminal, so nothing was asked and nothing was changed: add --yes to go ahead.`, EXIT_USAGE);
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  try {
    const answer = await new Promise<string>((resolveAnswer) => rl.question(`${question} [y/N] `, resolveAnswer));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'unknown';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} days ${h % 24} h`;
}
