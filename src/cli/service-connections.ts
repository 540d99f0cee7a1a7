/**
 * The database's connections as `sunset serve` works through them (the service's
 * ConnectionManager): one client per connection, its access tokens cached owner-only in
 * ~/.sunset/tokens/NAME.json as the engine commands cache them; and adding (a self-client's grant
 * code, exchanged once, or a refresh token), testing and removing one from the Connections page,
 * the set following at once. Refusals are ConnectionRequestErrors that never hold a secret.
 */
import { join } from 'node:path';
import { createFileTokenStore, exchangeCode } from '../client/index.js';
import {
  ConnectionError, createZohoAdapter, emulatorTarget, SecretError, zohoTarget, type ConnectionInfo, type ConnectionSecrets, type ConnectionStore, type SqlDatabase,
} from '../engine/index.js';
import { ConnectionRequestError, errorText, type ConnectionManager, type ServiceConnection, type StoredConnectionView } from '../service/index.js';
import { DATA_CENTRES, isDataCentre } from '../zoho/index.js';
import { connectionClient, createCallCounter, emulatorInfo, sharedBudgetOn } from './connection.js';
import { keepConnection, KeepRefused, testConnection, type ConnectionSpec } from './connection-admin.js';
import { sunsetHome } from './credentials.js';
import { ExitError } from './exit-codes.js';
import { mask } from './self-client.js';

export interface ServiceConnectionsOptions {
  store: ConnectionStore;
  env: NodeJS.ProcessEnv;
  /** Client limits (per minute), as `--per-minute` gives them. */
  perMinute?: number;
  /**
   * The database whose shared budget every connection's client draws from (default: the one the
   * store keeps the connections in), so the service, workers and CLI commands on it share each
   * organization's limits.
   */
  database?: SqlDatabase;
}

const view = (c: ConnectionInfo): StoredConnectionView => ({
  name: c.name, target: c.target, dataCentre: c.dataCentre, baseUrl: c.baseUrl, clientId: mask(c.clientId), scopes: c.scopes,
  organizations: c.organizations, createdAt: c.createdAt, createdBy: c.createdBy, testedAt: c.testedAt, testError: c.testError,
});

/** The manager over every connection in the store (opened now: a secret that does not open stops the start with its name). */
/** The manager, and `flushBudget()`: waits until every answer is recorded in the shared budget (before the database closes). */
export async function createServiceConnections(options: ServiceConnectionsOptions): Promise<ConnectionManager & { flushBudget(): Promise<void> }> {
  const { store } = options;
  const counter = createCallCounter();
  const { hooks, calls } = counter;
  const stats = (): { apiCalls: number; rateLimited: number } => ({ apiCalls: counter.calls(), rateLimited: counter.rateLimited() });
  const limits = options.perMinute ? { perMinute: options.perMinute } : undefined;
  const { limiter, flush: flushBudget } = sharedBudgetOn(options.database ?? store.database);

  const open = async (name: string): Promise<ConnectionSecrets | undefined> => {
    try {
      return await store.open(name);
    } catch (error) {
      if (error instanceof SecretError) throw new ConnectionRequestError(502, `the secrets of the connection ${name} do not open: ${error.message}`);
      throw error;
    }
  };
  const live = (c: ConnectionSecrets): ServiceConnection => {
    const client = connectionClient(c, { tokenStore: createFileTokenStore(join(sunsetHome(options.env), 'tokens', `${c.name}.json`)), hooks, limits, limiter });
    const port = (organizationId: string) => createZohoAdapter(client, organizationId, calls, c.target);
    return {
      name: c.name,
      target: c.target,
      port,
      organizations: () => port('0').organizations(),
      stats,
      recorded: c.organizations.map((o) => ({ organizationId: o.organizationId, name: o.name, ...(o.timeZone ? { timeZone: o.timeZone } : {}) })),
    };
  };
  const set = new Map<string, ServiceConnection>();
  const reload = async (name: string): Promise<void> => {
    const c = await open(name);
    if (c) set.set(name, live(c));
    else set.delete(name);
  };
  for (const c of await store.list()) {
    try {
      await reload(c.name);
    } catch (error) {
      if (error instanceof ConnectionRequestError) throw new ExitError(`The ${error.message}.`);
      throw error;
    }
  }

  /** Where the new connection reaches and its secrets, a grant code exchanged once. */
  const specOf = async (input: Parameters<ConnectionManager['add']>[0]): Promise<ConnectionSpec> => {
    let where: Pick<ConnectionSpec, 'target' | 'dataCentre' | 'baseUrl' | 'accountsUrl'>;
    let accountsUrl: string;
    if (input.emulator !== undefined) {
      let info;
      try {
        info = await emulatorInfo(input.emulator);
      } catch (error) {
        throw new ConnectionRequestError(502, errorText(error));
      }
      where = { target: emulatorTarget(info.baseUrl), dataCentre: null, baseUrl: info.baseUrl, accountsUrl: info.accountsUrl };
      accountsUrl = info.accountsUrl;
      if (input.clientId === undefined) {
        // An emulator's ready-made account: the default one, or the one named.
        if (input.account === undefined) return { ...where, clientId: info.clientId, clientSecret: info.clientSecret, refreshToken: info.refreshToken };
        const accounts = await fetch(`${new URL(info.baseUrl).origin}/__emulator/accounts`).then(async (r) => (r.ok ? ((await r.json()) as { accounts: Array<{ account_id: string; clientId: string; clientSecret: string; refreshToken: string }> }).accounts : []), () => []);
        const account = accounts.find((a) => a.account_id === input.account);
        if (!account) throw new ConnectionRequestError(400, `the emulator at ${input.emulator} has no account ${input.account} (GET /__emulator/accounts lists them)`);
        return { ...where, clientId: account.clientId, clientSecret: account.clientSecret, refreshToken: account.refreshToken };
      }
    } else {
      const dc = (input.dataCentre ?? '').toUpperCase();
      if (!isDataCentre(dc)) throw new ConnectionRequestError(400, `dataCentre ${input.dataCentre ?? ''} is not one of ${Object.keys(DATA_CENTRES).join(', ')}`);
      where = { target: zohoTarget(dc), dataCentre: dc, baseUrl: null, accountsUrl: null };
      accountsUrl = DATA_CENTRES[dc].accountsUrl;
    }
    const clientId = input.clientId!;
    const clientSecret = input.clientSecret!;
    let refreshToken = input.refreshToken;
    if (refreshToken === undefined) {
      try {
        refreshToken = (await exchangeCode({ accountsUrl, clientId, clientSecret, code: input.code! })).refreshToken;
      } catch (error) {
        throw new ConnectionRequestError(400, `The grant code was not accepted, so nothing was kept: ${errorText(error)}`);
      }
    }
    return { ...where, clientId, clientSecret, refreshToken };
  };

  return {
    flushBudget,
    async reloadAll() {
      const names = new Set((await store.list()).map((c) => c.name));
      for (const name of [...set.keys()]) if (!names.has(name)) set.delete(name);
      for (const name of names) await reload(name);
    },
    connections: () => [...set.values()],
    stats,
    onResponse: counter.onResponse,
    list: async () => (await store.list()).map(view),
    async add(input, actor) {
      if (await store.get(input.name)) throw new ConnectionRequestError(409, `there is already a connection named ${input.name}; remove it first, or pick another name`);
      const spec = await specOf(input);
      try {
        await keepConnection(store, input.name, spec, actor);
      } catch (error) {
        if (error instanceof KeepRefused) throw new ConnectionRequestError(error.reason === 'taken' ? 409 : 502, error.message);
        if (error instanceof ConnectionError) throw new ConnectionRequestError(409, error.message);
        throw error;
      }
      await reload(input.name);
      return view((await store.get(input.name))!);
    },
    async test(name) {
      const c = await open(name);
      if (!c) throw new ConnectionRequestError(404, `there is no connection ${name}`);
      let tested;
      try {
        tested = await testConnection(store, c);
      } catch (error) {
        if (error instanceof ConnectionError) throw new ConnectionRequestError(409, error.message);
        throw error;
      }
      await reload(name);
      return { name, ok: tested.ok, error: tested.ok ? null : tested.error, connection: view((await store.get(name))!) };
    },
    async remove(name) {
      const removed = await store.remove(name);
      set.delete(name);
      return removed;
    },
  };
}
