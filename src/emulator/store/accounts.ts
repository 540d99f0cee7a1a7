import type { Db } from './db.js';
import type { AccountRow } from './rows.js';

export interface AccountStore {
  insert(row: AccountRow): void;
  get(accountId: string): AccountRow | undefined;
  /** Every account, the default (position 0) first. */
  list(): AccountRow[];
  /**
   * Gives organizations and OAuth clients that belong to no account (a file written before
   * accounts existed) to this account. Returns how many rows it assigned.
   */
  adoptUnassigned(accountId: string): number;
}

export function createAccountStore(db: Db): AccountStore {
  const insertStmt = db.prepare(`INSERT INTO accounts (account_id, name, client_id, refresh_token, position, created_ms)
    VALUES (@account_id, @name, @client_id, @refresh_token, @position, @created_ms)`);
  const getStmt = db.prepare('SELECT * FROM accounts WHERE account_id = ?');
  const listStmt = db.prepare('SELECT * FROM accounts ORDER BY position');
  const adoptOrganizations = db.prepare("UPDATE organizations SET account_id = ? WHERE account_id = ''");
  const adoptClients = db.prepare("UPDATE oauth_clients SET account_id = ? WHERE account_id = ''");
  return {
    insert: (row) => void insertStmt.run(row),
    get: (id) => getStmt.get(id) as AccountRow | undefined,
    list: () => listStmt.all() as AccountRow[],
    adoptUnassigned: (accountId) => adoptOrganizations.run(accountId).changes + adoptClients.run(accountId).changes,
  };
}
