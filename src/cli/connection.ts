/**
 * The connection to Zoho Books a command talks through: real Zoho with saved credentials, a running
 * `sunset emulator start`, or the embedded emulator; and, for a command acting on a run or a plan,
 * the place that record was made (see connect).
 */
import { dirname, join, resolve } from 'node:path';
import {
  createFileTokenStore, createMemoryTokenStore, createZohoBooksClient, ZohoError, type ClientHooks, type LimiterFactory, type ResponseInfo, type ZohoBooksClient,
  type ZohoClientOptions,
} from '../client/index.js';
import { createEmulator, createEmulatorFetch, type Emulator } from '../emulator/index.js';
import {
  createSharedBudget, createZohoAdapter, describeTarget, EMBEDDED_TARGET, emulatorTarget, emulatorUrlOf, isPostgresUrl, SecretError, type BooksPort, type ConnectionInfo,
  type ConnectionSecrets, type ConnectionStore, type SharedBudget, type SqlDatabase,
} from '../engine/index.js';
import { ownerId } from './actor.js';
import { credentialsPath, credentialsTarget, readCredentials, sunsetHome, type StoredCredentials } from './credentials.js';
import { EXIT, ExitError } from './exit-codes.js';
import type { DataCentre } from '../zoho/index.js';
import type { CliIO } from './io.js';

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
  /** Subscribes to every answered call (the service's latency histogram of Zoho calls). */
  onResponse(listener: (info: ResponseInfo) => void): void;
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
  /** `--emulator URL`, or `embedded` for the embedded emulator (or SUNSET_EMULATOR: see withEnvTwins). */
  emulatorUrl?: string;
  /** `--credentials FILE` (or SUNSET_CREDENTIALS). */
  credentialsFile?: string;
  /** Where each of those came from, for messages: `--emulator` (the default), `SUNSET_EMULATOR`, ... */
  from?: { emulator?: string; credentials?: string };
  /** The record the command acts on: its own target is used when no other is named, and a different one named is refused. */
  binding?: Binding;
  /** Every target the journal has worked with: the embedded emulator is used silently only when it has seen no other. */
  journalTargets?: string[];
  /** The journal's path: the embedded emulator keeps its state beside it. */
  dbPath: string;
  /** Client limits (the demo raises them with the emulator's). */
  perMinute?: number;
  /**
   * The database's connections (`sunset connections`) and the organization the command names
   * (--org, SUNSET_ORG): used when the command line and the environment name no other place.
   */
  connections?: { store: ConnectionStore; organizationId?: string; whenSeveral?: string };
  /**
   * The database the journal lives in: the client draws from the organization's budget kept
   * there, shared with every other process on it (`sunset serve`, workers, other commands). Not for
   * the embedded emulator, whose limits are its own process's. Without it, the in-memory limiter.
   */
  database?: SqlDatabase;
  quiet?: boolean;
}

/** Counts a client's answered calls and its 429s, and tells listeners of each answer: the hooks to give the client. */
export interface CallCounter {
  hooks: ClientHooks;
  calls(): number;
  rateLimited(): number;
  onResponse(listener: (info: ResponseInfo) => void): void;
}

export function createCallCounter(): CallCounter {
  let calls = 0;
  let limited = 0;
  const listeners: Array<(info: ResponseInfo) => void> = [];
  return {
    hooks: {
      onResponse: (r: ResponseInfo) => {
        calls++;
        if (r.status === 429) limited++;
        for (const listener of listeners) listener(r);
      },
    },
    calls: () => calls,
    rateLimited: () => limited,
    onResponse: (listener) => void listeners.push(listener),
  };
}

/** The budget this process draws from on a database (one per set of limits), for every client it makes. */
export interface BudgetSource {
  limiter: LimiterFactory;
  /** Waits until every answer is recorded (before the database closes). */
  flush(): Promise<void>;
}

export function sharedBudgetOn(database: SqlDatabase, owner = ownerId()): BudgetSource {
  const budgets = new Map<string, SharedBudget>();
  return {
    limiter: (limits, clock) => {
      const key = JSON.stringify(limits);
      let budget = budgets.get(key);
      if (!budget) budgets.set(key, (budget = createSharedBudget(database, limits, clock, { owner })));
      return budget;
    },
    flush: async () => {
      for (const budget of budgets.values()) await budget.flush();
    },
  };
}

/** Reads `/__emulator/info` of a running emulator (`url` as given: `127.0.0.1:8742`, a Books URL, ...). */
export async function emulatorInfo(url: string): Promise<{ baseUrl: string; accountsUrl: string; clientId: string; clientSecret: string; refreshToken: string; organizations: Array<{ organization_id: string }> }> {
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
 * environment names (`--emulator URL|embedded`, `--credentials FILE`, or their twins
 * SUNSET_EMULATOR and SUNSET_CREDENTIALS, filled in by withEnvTwins); else, for a command acting on a run or a plan, the place it was made (a
 * running emulator is reached at its address; Zoho needs matching credentials); else the saved
 * credentials; else the embedded emulator — but only on a journal that has never seen another
 * target. A command acting on a record made elsewhere is refused with both places named.
 */
export async function connect(io: CliIO, options: ConnectOptions): Promise<Connection> {
  const counter = createCallCounter();
  const { hooks } = counter;
  const limits = options.perMinute ? { perMinute: options.perMinute } : undefined;
  const budget = options.database ? sharedBudgetOn(options.database) : undefined;
  // The limiter for Zoho and running emulators: the database's shared budget when there is one.
  const limiter = budget?.limiter;
  const make = (client: ZohoBooksClient, target: string, defaultOrganizationId: string | undefined, close: () => Promise<void>, emulator?: Emulator): Connection => ({
    client,
    description: describeTarget(target),
    target,
    defaultOrganizationId,
    apiCalls: counter.calls,
    rateLimited: counter.rateLimited,
    onResponse: counter.onResponse,
    port: (organizationId) => createZohoAdapter(client, organizationId, counter.calls, target),
    close: async () => {
      await budget?.flush();
      await close();
    },
    emulator,
  });

  const toEmulator = async (url: string): Promise<Connection> => {
    const info = await emulatorInfo(url);
    const client = createZohoBooksClient({
      baseUrl: info.baseUrl, accountsUrl: info.accountsUrl,
      credentials: { clientId: info.clientId, clientSecret: info.clientSecret, refreshToken: info.refreshToken },
      // Cached across commands like real credentials: every command refreshing would hit the
      // 10-refreshes-per-10-minutes limit by the eleventh.
      tokenStore: createFileTokenStore(join(sunsetHome(io.env), 'tokens.json')), hooks, limits, limiter,
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
      limiter,
    });
    return make(client, credentialsTarget(stored), stored.organizationId, async () => undefined);
  };

  const toEmbedded = (): Connection => {
    // Beside a journal file; in the working directory for a journal on PostgreSQL.
    const emulatorDb = isPostgresUrl(options.dbPath) ? resolve('sunset-emulator.db') : join(dirname(resolve(options.dbPath)), 'sunset-emulator.db');
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
  const { emulatorUrl, credentialsFile } = options;
  const emulatorFrom = options.from?.emulator ?? '--emulator';
  if (emulatorUrl !== undefined && emulatorUrl !== '') {
    const named = emulatorUrl === 'embedded' ? EMBEDDED_TARGET : emulatorTarget(normaliseEmulatorUrl(emulatorUrl, emulatorFrom));
    if (binding && binding.target !== named) refuse(named, `${emulatorFrom} names`);
    return named === EMBEDDED_TARGET ? toEmbedded() : toEmulator(emulatorUrl);
  }
  if (credentialsFile !== undefined && credentialsFile !== '') {
    const path = resolve(credentialsFile);
    const stored = readCredentials(path);
    if (!stored) {
      const from = options.from?.credentials ?? '--credentials';
      throw new ExitError(`${from === '--credentials' ? '' : `${from}: `}${credentialsFile}: no such credentials file. \`sunset auth login --credentials ${credentialsFile}\` writes one.`, EXIT.usage);
    }
    if (binding && binding.target !== credentialsTarget(stored)) refuse(credentialsTarget(stored), `${credentialsFile} reaches`);
    return toCredentials(path, stored);
  }

  const toConnection = async (info: ConnectionInfo): Promise<Connection> => {
    let c;
    try {
      c = await options.connections!.store.open(info.name);
    } catch (error) {
      if (error instanceof SecretError) throw new ExitError(`The secrets of the connection ${info.name} do not open: ${error.message}.`);
      throw error;
    }
    if (!c) throw new ExitError(`The connection ${info.name} was removed meanwhile.`);
    // Access tokens are cached per connection, owner-only, as `sunset auth login`'s are.
    const client = connectionClient(c, { tokenStore: createFileTokenStore(join(sunsetHome(io.env), 'tokens', `${c.name}.json`)), hooks, limits, limiter });
    const only = c.organizations.length === 1 ? c.organizations[0]!.organizationId : undefined;
    return make(client, c.target, options.connections?.organizationId ?? only, async () => undefined);
  };
  // The connection for the organization named, or the only one; undefined when there are none.
  const chosenConnection = async (target?: string): Promise<ConnectionInfo | undefined> => {
    if (!options.connections) return undefined;
    const all = (await options.connections.store.list()).filter((c) => target === undefined || c.target === target);
    if (all.length === 0) return undefined;
    const organizationId = options.connections.organizationId;
    if (organizationId) {
      const holder = all.find((c) => c.organizations.some((o) => o.organizationId === organizationId));
      if (holder) return holder;
      if (all.length === 1 && all[0]!.organizations.length === 0) return all[0];
      throw new ExitError(`No connection reaches organization ${organizationId} (${all.map((c) => `${c.name}: ${c.organizations.map((o) => o.organizationId).join(', ') || 'not recorded yet'}`).join('; ')}). \`sunset connections test NAME\` records what a connection reaches; \`sunset connections add\` adds one.`, EXIT.notFound);
    }
    if (all.length === 1) return all[0];
    throw new ExitError(`There are ${all.length} connections (${all.map((c) => c.name).join(', ')}): ${options.connections.whenSeveral ?? 'name the organization with --org (or SUNSET_ORG), and its connection is used.'}`, EXIT.usage);
  };

  // 2. The record's own place.
  const path = credentialsPath(io.env);
  const stored = readCredentials(path);
  if (binding) {
    // A connection that reaches that place (and the organization, if one is named).
    const viaConnection = await chosenConnection(binding.target).catch(() => undefined);
    if (viaConnection) return toConnection(viaConnection);
    // The saved credentials when they reach that place (they may be narrower than an emulator's own).
    if (stored && credentialsTarget(stored) === binding.target) return toCredentials(path, stored);
    if (binding.target === EMBEDDED_TARGET) return toEmbedded();
    const url = emulatorUrlOf(binding.target);
    if (url) return toEmulator(url);
    if (!stored) throw new ExitError(`${binding.what} was made against ${describeTarget(binding.target)}; sign in there first (\`sunset auth login\`). Nothing was done.`);
    if (credentialsTarget(stored) !== binding.target) refuse(credentialsTarget(stored), `the saved credentials (${path}) reach`);
    return toCredentials(path, stored);
  }

  // 3. The database's connections; 4. the saved credentials; 5. the embedded emulator, on a journal that has only known it.
  const connection = await chosenConnection();
  if (connection) return toConnection(connection);
  if (stored) return toCredentials(path, stored);
  const others = (options.journalTargets ?? []).filter((t) => t !== EMBEDDED_TARGET);
  if (others.length > 0) {
    throw new ExitError(
      `No Zoho connection is named, and this journal (${options.dbPath}) has worked with ${others.map(describeTarget).join(', ')}: `
      + 'Sunset will not quietly switch to the embedded emulator. Name one: '
      + `${others.map((t) => (emulatorUrlOf(t) ? `--emulator ${emulatorUrlOf(t)}` : `credentials for ${describeTarget(t)}`)).join(', ')}, or --emulator embedded.`,
      EXIT.usage,
    );
  }
  return toEmbedded();
}

/**
 * A client for a connection's account. Tokens in memory unless a store is given (commands that
 * list or test get a fresh one; the engine commands cache it per connection).
 */
export function connectionClient(
  c: Pick<ConnectionSecrets, 'dataCentre' | 'baseUrl' | 'accountsUrl' | 'clientId' | 'clientSecret' | 'refreshToken'>,
  options: Pick<ZohoClientOptions, 'tokenStore' | 'hooks' | 'limits' | 'limiter'> = {},
): ZohoBooksClient {
  return createZohoBooksClient({
    dataCentre: c.baseUrl ? undefined : (c.dataCentre as DataCentre | null) ?? undefined,
    baseUrl: c.baseUrl ?? undefined,
    accountsUrl: c.accountsUrl ?? undefined,
    credentials: { clientId: c.clientId, clientSecret: c.clientSecret, refreshToken: c.refreshToken },
    ...options,
    tokenStore: options.tokenStore ?? createMemoryTokenStore(),
  });
}

/** `--emulator` as given (`127.0.0.1:8742`, `http://localhost:8742/books/v3/`) as an origin URL; `from` names it in the error. */
function normaliseEmulatorUrl(url: string, from = '--emulator'): string {
  const withScheme = /^[a-z]+:\/\//i.test(url) ? url : `http://${url}`;
  try {
    return new URL(withScheme.replace(/\/+$/, '').replace(/\/books\/v3$/, '')).origin;
  } catch {
    throw new ExitError(`${from === '--emulator' ? '--emulator ' : `${from}=`}${url}: not an address like http://127.0.0.1:8742 (or "embedded").`, EXIT.usage);
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
