import type { Db } from './db.js';

export interface ClientRow {
  client_id: string;
  client_secret: string;
  name: string;
  /** The account the client belongs to: its grants and refresh tokens reach only that account. */
  account_id: string;
}

export interface GrantRow {
  code: string;
  client_id: string;
  /** JSON array. */
  scopes: string;
  /** JSON array; empty means every organization of the account. */
  organization_ids: string;
  expires_ms: number;
  used: number;
}

export interface RefreshTokenRow {
  token: string;
  client_id: string;
  scopes: string;
  organization_ids: string;
  created_ms: number;
  revoked: number;
}

export interface AccessTokenRow {
  token: string;
  refresh_token: string;
  client_id: string;
  scopes: string;
  organization_ids: string;
  expires_ms: number;
  revoked: number;
}

/** An access token as the request pipeline sees it. */
export interface AccessToken {
  token: string;
  refreshToken: string;
  clientId: string;
  /** The account of the token's client: the token reaches only that account's organizations. */
  accountId: string;
  scopes: string[];
  /** Empty: every organization of the account. */
  organizationIds: string[];
  expiresMs: number;
  revoked: boolean;
}

export interface OAuthStore {
  insertClient(row: ClientRow): void;
  getClient(clientId: string): ClientRow | undefined;
  insertGrant(row: GrantRow): void;
  /**
   * Marks the grant used and returns it, or undefined if unknown, used, expired or made for
   * another client (which leaves it unused: a wrong client cannot burn another's code).
   */
  consumeGrant(code: string, clientId: string, nowMs: number): GrantRow | undefined;
  insertRefreshToken(row: RefreshTokenRow): void;
  getRefreshToken(token: string): RefreshTokenRow | undefined;
  insertAccessToken(row: AccessTokenRow): void;
  /** Cached in memory: it is read on every request. */
  getAccessToken(token: string): AccessToken | undefined;
  /** Expires a live access token now; returns 1 if it was live, else 0. */
  expireAccessToken(token: string, nowMs: number): number;
  /** Expires every access token now; returns how many were live. */
  expireAll(nowMs: number): number;
  /** Revokes a refresh token and every access token made from it; or one access token. */
  revoke(token: string): boolean;
  forget(): void;
}

function toAccessToken(row: AccessTokenRow, accountId: string): AccessToken {
  return {
    token: row.token,
    refreshToken: row.refresh_token,
    clientId: row.client_id,
    accountId,
    scopes: JSON.parse(row.scopes) as string[],
    organizationIds: JSON.parse(row.organization_ids) as string[],
    expiresMs: row.expires_ms,
    revoked: row.revoked === 1,
  };
}

export function createOAuthStore(db: Db): OAuthStore {
  const insertClientStmt = db.prepare(`INSERT OR REPLACE INTO oauth_clients (client_id, client_secret, name, account_id)
    VALUES (@client_id, @client_secret, @name, @account_id)`);
  const getClientStmt = db.prepare('SELECT * FROM oauth_clients WHERE client_id = ?');
  const insertGrantStmt = db.prepare(`INSERT INTO oauth_grants (code, client_id, scopes, organization_ids, expires_ms, used)
    VALUES (@code, @client_id, @scopes, @organization_ids, @expires_ms, @used)`);
  const getGrantStmt = db.prepare('SELECT * FROM oauth_grants WHERE code = ?');
  const useGrantStmt = db.prepare('UPDATE oauth_grants SET used = 1 WHERE code = ?');
  const insertRefreshStmt = db.prepare(`INSERT OR REPLACE INTO oauth_refresh_tokens (token, client_id, scopes, organization_ids, created_ms, revoked)
    VALUES (@token, @client_id, @scopes, @organization_ids, @created_ms, @revoked)`);
  const getRefreshStmt = db.prepare('SELECT * FROM oauth_refresh_tokens WHERE token = ?');
  const insertAccessStmt = db.prepare(`INSERT INTO oauth_access_tokens (token, refresh_token, client_id, scopes, organization_ids, expires_ms, revoked)
    VALUES (@token, @refresh_token, @client_id, @scopes, @organization_ids, @expires_ms, @revoked)`);
  const getAccessStmt = db.prepare('SELECT * FROM oauth_access_tokens WHERE token = ?');
  const expireAccessStmt = db.prepare('UPDATE oauth_access_tokens SET expires_ms = ? WHERE token = ? AND expires_ms > ?');
  const expireAllStmt = db.prepare('UPDATE oauth_access_tokens SET expires_ms = ? WHERE expires_ms > ?');
  const revokeRefreshStmt = db.prepare('UPDATE oauth_refresh_tokens SET revoked = 1 WHERE token = ?');
  const revokeAccessByRefreshStmt = db.prepare('UPDATE oauth_access_tokens SET revoked = 1 WHERE refresh_token = ?');
  const revokeAccessStmt = db.prepare('UPDATE oauth_access_tokens SET revoked = 1 WHERE token = ?');
  const cache = new Map<string, AccessToken>();
  // Clients are few and read on every token load; filled on read only, so a rolled-back insert
  // never leaves a client here that the database does not have.
  const clients = new Map<string, ClientRow>();
  const getClient = (id: string): ClientRow | undefined => {
    let found = clients.get(id);
    if (!found) {
      found = getClientStmt.get(id) as ClientRow | undefined;
      if (found) clients.set(id, found);
    }
    return found;
  };
  const load = (row: AccessTokenRow): AccessToken => toAccessToken(row, getClient(row.client_id)?.account_id ?? '');

  return {
    insertClient(row) {
      insertClientStmt.run(row);
      clients.delete(row.client_id);
    },
    getClient,
    insertGrant: (row) => void insertGrantStmt.run(row),
    consumeGrant(code, clientId, nowMs) {
      const row = getGrantStmt.get(code) as GrantRow | undefined;
      if (!row || row.used === 1 || row.expires_ms <= nowMs || row.client_id !== clientId) return undefined;
      useGrantStmt.run(code);
      return row;
    },
    insertRefreshToken: (row) => void insertRefreshStmt.run(row),
    getRefreshToken: (token) => getRefreshStmt.get(token) as RefreshTokenRow | undefined,
    insertAccessToken(row) {
      insertAccessStmt.run(row);
      cache.set(row.token, load(row));
    },
    getAccessToken(token) {
      let found = cache.get(token);
      if (!found) {
        const row = getAccessStmt.get(token) as AccessTokenRow | undefined;
        if (!row) return undefined;
        found = load(row);
        cache.set(token, found);
      }
      return found;
    },
    expireAccessToken(token, nowMs) {
      const changed = expireAccessStmt.run(nowMs, token, nowMs).changes;
      const cached = cache.get(token);
      if (cached) cached.expiresMs = Math.min(cached.expiresMs, nowMs);
      return changed;
    },
    expireAll(nowMs) {
      const changed = expireAllStmt.run(nowMs, nowMs).changes;
      for (const t of cache.values()) t.expiresMs = Math.min(t.expiresMs, nowMs);
      return changed;
    },
    revoke(token) {
      const refresh = revokeRefreshStmt.run(token).changes > 0;
      if (refresh) {
        revokeAccessByRefreshStmt.run(token);
        for (const t of cache.values()) if (t.refreshToken === token) t.revoked = true;
        return true;
      }
      const access = revokeAccessStmt.run(token).changes > 0;
      const cached = cache.get(token);
      if (cached) cached.revoked = true;
      return access;
    },
    forget() {
      cache.clear();
      clients.clear();
    },
  };
}
