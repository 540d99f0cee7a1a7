import { openDb, wipeDb, getMeta, setMeta, createIndexes, dropIndexes, type Db } from './db.js';
import { createIdSequence, type IdSequence } from './id-sequence.js';
import { createOrganizationStore, type OrganizationStore } from './organizations.js';
import { createContactStore, type ContactStore } from './contacts.js';
import { createTransactionStore, type TransactionStore } from './transactions.js';
import { createOAuthStore, type OAuthStore } from './oauth.js';
import { createAccountStore, type AccountStore } from './accounts.js';

/** Every table of the emulator behind one handle. */
export interface Store {
  readonly db: Db;
  readonly ids: IdSequence;
  readonly accounts: AccountStore;
  readonly organizations: OrganizationStore;
  readonly contacts: ContactStore;
  readonly transactions: TransactionStore;
  readonly oauth: OAuthStore;
  /** Runs `fn` in one SQLite transaction. */
  tx<T>(fn: () => T): T;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  isEmpty(): boolean;
  wipe(): void;
  /** Runs a bulk load with the secondary indexes dropped, then builds them again. */
  bulkLoad<T>(fn: () => T): T;
  close(): void;
}

export function createStore(path: string | undefined): Store {
  const db = openDb(path);
  const organizations = createOrganizationStore(db);
  // One transaction wrapper, made once (better-sqlite3 nests it as savepoints when needed).
  const runInTx = db.transaction((fn: () => unknown) => fn());
  const oauth = createOAuthStore(db);
  const contacts = createContactStore(db);
  return {
    db,
    ids: createIdSequence(db),
    accounts: createAccountStore(db),
    organizations,
    contacts,
    transactions: createTransactionStore(db),
    oauth,
    tx: <T>(fn: () => T): T => runInTx(fn) as T,
    getMeta: (key) => getMeta(db, key),
    setMeta: (key, value) => setMeta(db, key, value),
    isEmpty: () => organizations.list().length === 0,
    wipe() {
      wipeDb(db);
      organizations.invalidate();
      oauth.forget();
      contacts.forget();
    },
    bulkLoad(fn) {
      dropIndexes(db);
      try {
        return db.transaction(fn)();
      } finally {
        createIndexes(db);
        db.exec('ANALYZE');
      }
    },
    close: () => db.close(),
  };
}
