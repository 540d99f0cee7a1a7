/**
 * Connections: one Zoho account on one data centre (or one account of a Sunset emulator, named by
 * its URL), with its self-client's id and secret, a refresh token and the scopes it was granted;
 * and which organizations each one reaches (an organization belongs to one connection). Kept in
 * the database beside the journal (the `connections` component of the migrations), the client
 * secret and the refresh token sealed by a SecretBox: the database alone never holds them in clear.
 */
import { sealedKeyId, SecretError, type SecretBox } from './secrets.js';
import { migrate, type Component } from './storage/migrations.js';
import type { SqlDatabase } from './storage/sql.js';

export const CONNECTIONS_COMPONENT: Component = {
  name: 'connections',
  migrations: [
    {
      version: 1,
      name: 'connections (sealed secrets) and the organizations each reaches',
      up: [
        `CREATE TABLE IF NOT EXISTS connections (
          name TEXT PRIMARY KEY,
          target TEXT NOT NULL,
          data_centre TEXT,
          base_url TEXT,
          accounts_url TEXT,
          client_id TEXT NOT NULL,
          client_secret TEXT NOT NULL,
          refresh_token TEXT NOT NULL,
          scopes TEXT NOT NULL,
          created_at BIGINT NOT NULL,
          created_by TEXT NOT NULL,
          tested_at BIGINT,
          test_error TEXT
        )`,
        `CREATE TABLE IF NOT EXISTS connection_organizations (
          organization_id TEXT PRIMARY KEY,
          connection_name TEXT NOT NULL,
          organization_name TEXT NOT NULL,
          time_zone TEXT NOT NULL,
          seen_at BIGINT NOT NULL
        )`,
        'CREATE INDEX IF NOT EXISTS connection_organizations_by_connection ON connection_organizations (connection_name)',
      ],
    },
  ],
};

/** A connection's name: 1 to 40 letters, digits, `.`, `_` or `-`, starting with a letter or digit. */
export const CONNECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;
export const CONNECTION_NAME_RULE = "a connection's name is 1 to 40 letters, digits, . _ or -, starting with a letter or digit";

export class ConnectionError extends Error {
  override name = 'ConnectionError';
}

/** A connection as listed: no secret. */
export interface ConnectionInfo {
  name: string;
  /** `zoho:EU`, `emulator:http://127.0.0.1:8742` (see docs/glossary.md, target). */
  target: string;
  dataCentre: string | null;
  baseUrl: string | null;
  accountsUrl: string | null;
  clientId: string;
  scopes: string[];
  createdAt: number;
  createdBy: string;
  testedAt: number | null;
  testError: string | null;
  organizations: Array<{ organizationId: string; name: string; timeZone: string }>;
}

/** A connection with its secrets opened, to make a client with. */
export interface ConnectionSecrets extends ConnectionInfo {
  clientSecret: string;
  refreshToken: string;
}

export interface NewConnection {
  name: string;
  target: string;
  dataCentre?: string | null;
  baseUrl?: string | null;
  accountsUrl?: string | null;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  scopes: string[];
  createdAt: number;
  createdBy: string;
}

export interface ConnectionStore {
  /** The database the connections are kept in (their clients' shared budget is kept there too). */
  readonly database: SqlDatabase;
  migrate(): Promise<void>;
  /** Adds a connection; refused if the name is taken. */
  add(connection: NewConnection): Promise<void>;
  list(): Promise<ConnectionInfo[]>;
  get(name: string): Promise<ConnectionInfo | undefined>;
  /** The connection with its secrets opened (a SecretError if the key is not the one that sealed them). */
  open(name: string): Promise<ConnectionSecrets | undefined>;
  remove(name: string): Promise<boolean>;
  /**
   * Records the organizations a connection reaches now (replacing what it reached before). An
   * organization another connection already holds is refused, naming it: one organization, one connection.
   */
  setOrganizations(name: string, organizations: Array<{ organizationId: string; name: string; timeZone: string }>, at: number): Promise<void>;
  recordTest(name: string, at: number, error: string | null): Promise<void>;
  /** The connection an organization belongs to. */
  connectionOf(organizationId: string): Promise<string | undefined>;
  /** Re-seals every secret with `next`, in one transaction; returns how many connections. */
  reseal(next: SecretBox): Promise<number>;
  /** The key ids the stored secrets were sealed with. */
  keyIds(): Promise<string[]>;
}

const toInfo = (r: Record<string, unknown>, organizations: ConnectionInfo['organizations']): ConnectionInfo => ({
  name: String(r.name),
  target: String(r.target),
  dataCentre: (r.data_centre as string | null) ?? null,
  baseUrl: (r.base_url as string | null) ?? null,
  accountsUrl: (r.accounts_url as string | null) ?? null,
  clientId: String(r.client_id),
  scopes: JSON.parse(String(r.scopes)) as string[],
  createdAt: Number(r.created_at),
  createdBy: String(r.created_by),
  testedAt: r.tested_at === null || r.tested_at === undefined ? null : Number(r.tested_at),
  testError: (r.test_error as string | null) ?? null,
  organizations,
});

/** Where each sealed value belongs: a value moved to another connection or field does not open. */
const context = (name: string, field: 'client_secret' | 'refresh_token'): string => `connection:${name}:${field}`;

/** The key that seals new values, and (after a rotation a crash interrupted) the one for a given key id. */
export interface SecretKeyring {
  box(): SecretBox;
  boxFor?(keyId: string): SecretBox | undefined;
}

export function createConnectionStore(db: SqlDatabase, keys: SecretKeyring): ConnectionStore {
  const box = (): SecretBox => keys.box();
  /** Opens a value with the key that sealed it, or says which key it needs. */
  const unseal = (sealed: string, where: string): string => {
    const id = sealedKeyId(sealed);
    const opener = id === undefined ? undefined : id === box().keyId ? box() : keys.boxFor?.(id);
    if (!opener) throw new SecretError(`the secrets were sealed with key ${id ?? '(none)'}, and the key given is ${box().keyId}: give the key they were sealed with (SUNSET_SECRET_KEY or the key file)`);
    return opener.open(sealed, where);
  };
  const organizationsOf = async (name: string, on: SqlDatabase = db): Promise<ConnectionInfo['organizations']> =>
    (await on.all<{ organization_id: string; organization_name: string; time_zone: string }>(
      'SELECT organization_id, organization_name, time_zone FROM connection_organizations WHERE connection_name = ? ORDER BY organization_id', [name],
    )).map((o) => ({ organizationId: o.organization_id, name: o.organization_name, timeZone: o.time_zone }));

  const store: ConnectionStore = {
    database: db,
    async migrate() {
      await migrate(db, [CONNECTIONS_COMPONENT]);
    },
    async add(c) {
      const sealer = box();
      const added = await db.run(
        `INSERT INTO connections (name, target, data_centre, base_url, accounts_url, client_id, client_secret, refresh_token, scopes, created_at, created_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
        [c.name, c.target, c.dataCentre ?? null, c.baseUrl ?? null, c.accountsUrl ?? null, c.clientId, sealer.seal(c.clientSecret, context(c.name, 'client_secret')),
          sealer.seal(c.refreshToken, context(c.name, 'refresh_token')), JSON.stringify(c.scopes), c.createdAt, c.createdBy],
      );
      if (added === 0) throw new ConnectionError(`There is already a connection named ${c.name}.`);
    },
    async list() {
      const rows = await db.all<Record<string, unknown>>('SELECT * FROM connections ORDER BY name');
      return Promise.all(rows.map(async (r) => toInfo(r, await organizationsOf(String(r.name)))));
    },
    async get(name) {
      const row = await db.get<Record<string, unknown>>('SELECT * FROM connections WHERE name = ?', [name]);
      return row ? toInfo(row, await organizationsOf(name)) : undefined;
    },
    async open(name) {
      const row = await db.get<Record<string, unknown>>('SELECT * FROM connections WHERE name = ?', [name]);
      if (!row) return undefined;
      return {
        ...toInfo(row, await organizationsOf(name)),
        clientSecret: unseal(String(row.client_secret), context(name, 'client_secret')),
        refreshToken: unseal(String(row.refresh_token), context(name, 'refresh_token')),
      };
    },
    async remove(name) {
      return db.transaction(async (tx) => {
        await tx.run('DELETE FROM connection_organizations WHERE connection_name = ?', [name]);
        return (await tx.run('DELETE FROM connections WHERE name = ?', [name])) === 1;
      });
    },
    async setOrganizations(name, organizations, at) {
      await db.transaction(async (tx) => {
        for (const o of organizations) {
          // Claimed for this connection unless another holds it: one upsert, safe between processes.
          const claimed = await tx.run(
            `INSERT INTO connection_organizations (organization_id, connection_name, organization_name, time_zone, seen_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (organization_id) DO UPDATE SET organization_name = excluded.organization_name, time_zone = excluded.time_zone, seen_at = excluded.seen_at
             WHERE connection_organizations.connection_name = excluded.connection_name`,
            [o.organizationId, name, o.name, o.timeZone, at],
          );
          if (claimed === 0) {
            const holder = await tx.get<{ connection_name: string }>('SELECT connection_name FROM connection_organizations WHERE organization_id = ?', [o.organizationId]);
            throw new ConnectionError(`Organization ${o.organizationId} (${o.name}) already belongs to the connection ${holder?.connection_name ?? '?'}: an organization is reached through one connection. Remove that one first (\`sunset connections remove ${holder?.connection_name ?? 'NAME'}\`).`);
          }
        }
        const keep = new Set(organizations.map((o) => o.organizationId));
        for (const o of await organizationsOf(name, tx)) {
          if (!keep.has(o.organizationId)) await tx.run('DELETE FROM connection_organizations WHERE organization_id = ? AND connection_name = ?', [o.organizationId, name]);
        }
      });
    },
    async recordTest(name, at, error) {
      await db.run('UPDATE connections SET tested_at = ?, test_error = ? WHERE name = ?', [at, error, name]);
    },
    async connectionOf(organizationId) {
      const row = await db.get<{ connection_name: string }>('SELECT connection_name FROM connection_organizations WHERE organization_id = ?', [organizationId]);
      return row?.connection_name;
    },
    async reseal(next) {
      return db.transaction(async (tx) => {
        const rows = await tx.all<{ name: string; client_secret: string; refresh_token: string }>('SELECT name, client_secret, refresh_token FROM connections ORDER BY name');
        for (const r of rows) {
          const secret = unseal(r.client_secret, context(r.name, 'client_secret'));
          const token = unseal(r.refresh_token, context(r.name, 'refresh_token'));
          await tx.run('UPDATE connections SET client_secret = ?, refresh_token = ? WHERE name = ?', [
            next.seal(secret, context(r.name, 'client_secret')), next.seal(token, context(r.name, 'refresh_token')), r.name,
          ]);
        }
        return rows.length;
      });
    },
    async keyIds() {
      const rows = await db.all<{ client_secret: string; refresh_token: string }>('SELECT client_secret, refresh_token FROM connections');
      const ids = new Set<string>();
      for (const r of rows) for (const v of [r.client_secret, r.refresh_token]) ids.add(sealedKeyId(v) ?? 'unsealed');
      return [...ids].sort();
    },
  };
  return store;
}

