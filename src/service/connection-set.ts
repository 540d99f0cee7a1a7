/**
 * The connections a service works through, as one set: the one it was started with (--credentials,
 * --emulator, the embedded emulator), or the database's many (a ConnectionManager). Each
 * organization belongs to one connection: its port, its target (a run or plan is applied only
 * where it was made) and its links come from that connection. A connection that cannot list its
 * organizations does not hide the others': its recorded ones are listed with its error.
 */
import type { BooksPort } from '../engine/index.js';
import type { EventRelay } from './event-relay.js';
import { errorText, type ServiceLogger } from './logger.js';
import type { ZohoCallInfo } from './metrics.js';
import type { ConnectionManager, ServiceConnection, ServiceOptions } from './options.js';

/** A request about connections the manager refuses: bad input (400), no such one (404), taken (409), Zoho refused or did not answer (502). */
export class ConnectionRequestError extends Error {
  override name = 'ConnectionRequestError';
  constructor(readonly status: 400 | 404 | 409 | 502, message: string) {
    super(message);
  }
}

/** An organization as the set lists it: whose connection, and that connection's error when it could not list them now. */
export interface ListedOrganization {
  organizationId: string;
  name: string;
  plan: string;
  /** Zoho's `time_zone`, as Zoho writes it (absent: Zoho did not say). */
  timeZone?: string;
  /** Its connection's name ('' for the one given at start) and where that reaches. */
  connection: string;
  target: string;
  /** Why its connection could not list its organizations (it is listed as recorded). */
  connectionError?: string;
}

export interface ConnectionSet {
  /** Set when connections are added and removed from the service (the Connections page). */
  readonly manager: ConnectionManager | undefined;
  all(): ServiceConnection[];
  /** The connection an organization belongs to: by the latest listing, else as recorded, else the only one. */
  of(organizationId: string): ServiceConnection | undefined;
  /** Its connection's port; throws when no connection reaches the organization. */
  port(organizationId: string): BooksPort;
  /** Every connection's organizations (throws only when none could be listed at all). */
  organizations(): Promise<ListedOrganization[]>;
  /** The latest listing's error of each connection that failed, by name. */
  errors(): ReadonlyMap<string, string>;
  stats(): { apiCalls: number; rateLimited: number };
  onResponse(listener: (info: ZohoCallInfo) => void): void;
  /** Forgets the latest listing (after a connection is added, tested or removed). */
  changed(): void;
  /** Reads the database's connections again (another process added or removed one); false when they are not the database's. */
  reload(): Promise<boolean>;
}

/**
 * On a cluster: when a `serve` says the database's connections changed (over the relay), this
 * process reads them again, so a connection added on one `serve` reaches every worker at once.
 */
export function followConnectionChanges(relay: Pick<EventRelay, 'onControl'>, set: ConnectionSet, logger: ServiceLogger): void {
  relay.onControl((message) => {
    if (!message.connections) return;
    void set.reload().then((reloaded) => {
      if (reloaded) logger.info({ connections: set.all().length }, 'the database\'s connections changed: read again');
    }, (e: unknown) => logger.warn({ error: errorText(e) }, 'could not read the connections again'));
  });
}

/**
 * An organization's name for words (a notice's subject), where no service context keeps the
 * organizations (a worker): as its connection recorded it, else from a listing of every
 * connection's organizations, made at most once in 5 minutes (undefined: not known).
 */
export function organizationNamer(set: ConnectionSet, now: () => number = Date.now): (organizationId: string) => Promise<string | undefined> {
  let names = new Map<string, string>();
  let listedAt = Number.NEGATIVE_INFINITY;
  return async (organizationId) => {
    const recorded = set.of(organizationId)?.recorded?.find((o) => o.organizationId === organizationId)?.name;
    if (recorded !== undefined) return recorded;
    if (!names.has(organizationId) && now() - listedAt >= 300_000) {
      listedAt = now();
      names = new Map((await set.organizations()).map((o) => [o.organizationId, o.name]));
    }
    return names.get(organizationId);
  };
}

export function createConnectionSet(options: Pick<ServiceOptions, 'connection' | 'connections'>): ConnectionSet {
  const manager = options.connections;
  const single = options.connection;
  if (!manager && !single) throw new Error('createService needs a connection or a connection manager');
  const all = (): ServiceConnection[] => (manager ? manager.connections() : [single!]);
  const nameOf = (c: ServiceConnection): string => c.name ?? '';
  /** organization → connection name, from the latest listing. */
  let listed = new Map<string, string>();
  let errors = new Map<string, string>();

  const of = (organizationId: string): ServiceConnection | undefined => {
    const connections = all();
    const byListing = listed.get(organizationId);
    if (byListing !== undefined) {
      const found = connections.find((c) => nameOf(c) === byListing);
      if (found) return found;
    }
    const recorded = connections.find((c) => c.recorded?.some((o) => o.organizationId === organizationId));
    if (recorded) return recorded;
    return connections.length === 1 ? connections[0] : undefined;
  };

  return {
    manager,
    all,
    of,
    port(organizationId) {
      const c = of(organizationId);
      if (!c) throw new Error(`no connection of this service reaches organization ${organizationId}`);
      return c.port(organizationId);
    },
    async organizations() {
      const connections = all();
      const answers = await Promise.all(connections.map(async (c) => {
        try {
          return { c, list: await c.organizations() };
        } catch (error) {
          return { c, error: errorText(error), cause: error };
        }
      }));
      // One connection given at start and it failed: as before there were several, the error is the answer.
      const failed = answers.filter((a) => a.error !== undefined);
      if (failed.length > 0 && failed.length === answers.length && failed.every((a) => (a.c.recorded ?? []).length === 0)) throw failed[0]!.cause;
      const candidates: ListedOrganization[] = [];
      const nextErrors = new Map<string, string>();
      for (const a of answers) {
        const name = nameOf(a.c);
        if (a.error !== undefined) nextErrors.set(name, a.error);
        const list = a.list ?? (a.c.recorded ?? []).map((o) => ({ organizationId: o.organizationId, name: o.name, plan: '', ...(o.timeZone ? { timeZone: o.timeZone } : {}) }));
        for (const o of list) candidates.push({ ...o, connection: name, target: a.c.target, ...(a.error !== undefined ? { connectionError: a.error } : {}) });
      }
      // An organization two accounts reach goes to the connection it was recorded for, else the first.
      const ownerOf = (id: string): string | undefined => connections.find((c) => c.recorded?.some((o) => o.organizationId === id))?.name;
      const result: ListedOrganization[] = [];
      const seen = new Map<string, string>();
      for (const o of candidates) {
        if (seen.has(o.organizationId)) continue;
        const owner = ownerOf(o.organizationId);
        const chosen = (owner !== undefined && candidates.find((x) => x.organizationId === o.organizationId && x.connection === owner)) || o;
        seen.set(o.organizationId, chosen.connection);
        result.push(chosen);
      }
      listed = seen;
      errors = nextErrors;
      return result;
    },
    errors: () => errors,
    stats: () => (manager ? manager.stats() : single!.stats()),
    onResponse(listener) {
      if (manager) manager.onResponse?.(listener);
      else single!.onResponse?.(listener);
    },
    changed() {
      listed = new Map();
      errors = new Map();
    },
    async reload() {
      if (!manager?.reloadAll) return false;
      await manager.reloadAll();
      this.changed();
      return true;
    },
  };
}
