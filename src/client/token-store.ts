/**
 * Where access tokens (and the refresh log that keeps the client under Zoho's refresh limit) live.
 * Pluggable so several processes can share them; the default keeps them in a JSON file readable
 * by its owner only. Keys are derived from the refresh token and the accounts server (a hash),
 * never the token itself.
 */
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { systemClock } from './clock.js';

export interface StoredToken {
  accessToken: string;
  /** Epoch ms. */
  expiresAt: number;
  /** Epoch ms when it was issued (the refresh margin is at most half its life). */
  issuedAt?: number;
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

/**
 * The store key for a refresh token at one accounts server: a hash, so the file never holds the
 * refresh token. The server's origin is part of it because a token (and the refresh log kept for
 * the server's 10-per-10-minutes limit) is good only where it was issued: two servers that know the
 * same client id and refresh token (two emulators started with the same seed, say) must not share
 * an entry, or each would be shown the other's access token and refresh again and again.
 */
export function tokenKey(clientId: string, refreshToken: string, accountsUrl: string): string {
  return createHash('sha256').update(`${clientId}\0${refreshToken}\0${serverOrigin(accountsUrl)}`).digest('hex').slice(0, 32);
}

/** `https://Accounts.Zoho.com:443/` and `https://accounts.zoho.com` are one server. */
function serverOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url.replace(/\/+$/, '');
  }
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

/**
 * A lock file holding its owner's host and pid. Taken over only when the owner is surely gone: a
 * dead pid on this host, or (for another host) no renewal for `staleMs`. The holder renews it.
 */
async function withFileLock<T>(lock: string, staleMs: number, fn: () => Promise<T>): Promise<T> {
  const me = JSON.stringify({ host: hostname(), pid: process.pid });
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeFileSync(fd, me);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      if (lockIsStale(lock, staleMs)) rmSync(lock, { force: true });
      else await systemClock.sleep(50);
    }
  }
  const renew = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(lock, now, now);
    } catch {
      // removed under us: nothing to renew
    }
  }, Math.max(1000, Math.floor(staleMs / 3)));
  renew.unref();
  try {
    return await fn();
  } finally {
    clearInterval(renew);
    rmSync(lock, { force: true });
  }
}

function lockIsStale(lock: string, staleMs: number): boolean {
  try {
    const holder = JSON.parse(readFileSync(lock, 'utf8')) as { host?: string; pid?: number };
    if (holder.host === hostname() && typeof holder.pid === 'number') {
      try {
        process.kill(holder.pid, 0);
        return false; // alive on this host: wait, however old the lock looks
      } catch (error) {
        return (error as { code?: string }).code === 'ESRCH';
      }
    }
  } catch {
    // unreadable (being written, or from an older version): fall back to its age
  }
  try {
    return Date.now() - statSync(lock).mtimeMs > staleMs;
  } catch {
    return false;
  }
}

/** A JSON file (mode 0600, directory 0700) with lock files for cross-process refreshes and writes. */
export function createFileTokenStore(path: string, options: FileTokenStoreOptions = {}): TokenStore {
  const staleMs = options.staleLockMs ?? 30_000;
  const readAll = (): Record<string, TokenRecord> => {
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, TokenRecord>) : {};
    } catch {
      return {};
    }
  };
  const writeAll = (all: Record<string, TokenRecord>): void => {
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, JSON.stringify(all), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  };
  const ensureDir = (): void => {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  };
  return {
    get: async (key) => readAll()[key],
    async set(key, record) {
      ensureDir();
      // Read-modify-write under the file's own lock, so concurrent writers never lose a record.
      await withFileLock(`${path}.lock`, staleMs, async () => {
        const all = readAll();
        all[key] = record;
        writeAll(all);
      });
    },
    async withLock(key, fn) {
      ensureDir();
      return withFileLock(`${path}.${key}.lock`, staleMs, fn);
    },
  };
}
