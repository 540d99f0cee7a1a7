/**
 * Where access tokens (and the refresh log that keeps the client under Zoho's refresh limit) live.
 * Pluggable so several processes can share them; the default keeps them in a JSON file readable
 * by its owner only. Keys are derived from the refresh token (a hash), never the token itself.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface StoredToken {
  accessToken: string;
  /** Epoch ms. */
  expiresAt: number;
  apiDomain?: string;
}

export interface TokenRecord {
  token?: StoredToken;
  /** Epoch ms of recent refreshes, for the 10-per-10-minutes limit. */
  refreshes: number[];
}

export interface TokenStore {
  get(key: string): Promise<TokenRecord | undefined>;
  set(key: string, record: TokenRecord): Promise<void>;
  /**
   * Runs `fn` while holding the lock for `key`, so one refresh happens at a time across every
   * process sharing the store. Stores without cross-process locking run `fn` directly.
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** The store key for a refresh token: a hash, so the file never holds the refresh token. */
export function tokenKey(clientId: string, refreshToken: string): string {
  return createHash('sha256').update(`${clientId}\0${refreshToken}`).digest('hex').slice(0, 32);
}

/** Tokens in memory, shared by every client given the same store; one refresh at a time per key. */
export function createMemoryTokenStore(): TokenStore {
  const records = new Map<string, TokenRecord>();
  const locks = new Map<string, Promise<unknown>>();
  return {
    get: async (key) => {
      const r = records.get(key);
      return r ? { token: r.token ? { ...r.token } : undefined, refreshes: [...r.refreshes] } : undefined;
    },
    set: async (key, record) => {
      records.set(key, { token: record.token ? { ...record.token } : undefined, refreshes: [...record.refreshes] });
    },
    withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
      const previous = locks.get(key) ?? Promise.resolve();
      const run = previous.then(fn, fn);
      const tail = run.catch(() => undefined);
      locks.set(key, tail);
      void tail.then(() => {
        if (locks.get(key) === tail) locks.delete(key);
      });
      return run;
    },
  };
}

export interface FileTokenStoreOptions {
  /** A lock older than this is taken to be left by a crashed process (default 30 s). */
  staleLockMs?: number;
}

/** A JSON file (mode 0600, directory 0700) with a lock file for cross-process refreshes. */
export function createFileTokenStore(path: string, options: FileTokenStoreOptions = {}): TokenStore {
  const staleMs = options.staleLockMs ?? 30_000;
  // File modification times are real time, so the lock uses the real clock whatever the client's is.
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const readAll = (): Record<string, TokenRecord> => {
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, TokenRecord>) : {};
    } catch {
      return {};
    }
  };
  const writeAll = (all: Record<string, TokenRecord>): void => {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(all), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  };
  return {
    get: async (key) => readAll()[key],
    set: async (key, record) => {
      const all = readAll();
      all[key] = record;
      writeAll(all);
    },
    async withLock(key, fn) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const lock = `${path}.${key}.lock`;
      for (;;) {
        try {
          closeSync(openSync(lock, 'wx', 0o600));
          break;
        } catch (error) {
          if ((error as { code?: string }).code !== 'EEXIST') throw error;
          try {
            if (Date.now() - statSync(lock).mtimeMs > staleMs) rmSync(lock, { force: true });
          } catch {
            // the holder removed it meanwhile
          }
          await sleep(50);
        }
      }
      try {
        return await fn();
      } finally {
        rmSync(lock, { force: true });
      }
    },
  };
}
