/**
 * Token stores (src/client/token-store.ts): the memory store's per-key lock, and the file store's
 * permissions (0600 file in a 0700 directory), its hashed keys (the refresh token is never
 * written), concurrent writes, and its lock file (exclusive, stale locks reclaimed).
 *
 * The file store's lock polls with real timers by design (lock files age in real time); these tests
 * never sleep themselves and never assert on wall-clock durations.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTokenManager } from '../../src/client/auth.js';
import { createFileTokenStore, createMemoryTokenStore, systemClock, tokenKey, type Clock, type TokenStore } from '../../src/client/index.js';
import { createFakeClock, flush } from '../helpers/fake-clock.js';
import { createScriptedFetch, sequenceRandom, tokenReply } from '../helpers/scripted-fetch.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createTestClient } from '../helpers/client.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLIENT_ID = '1000.CLIENTID';
const CLIENT_SECRET = 'the-client-secret-0d9f';
const REFRESH_TOKEN = '1000.refresh-token-value.7c3e5a';
const ACCOUNTS_URL = 'https://accounts.zoho.com';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Runs two critical sections on `key` and logs when each enters and leaves. */
async function exclusivity(store: TokenStore, keyA: string, keyB: string): Promise<string[]> {
  const log: string[] = [];
  const first = gate();
  const a = store.withLock(keyA, async () => {
    log.push('enter a');
    await first.promise;
    log.push('leave a');
    return 'a';
  });
  await flush();
  const b = store.withLock(keyB, async () => {
    log.push('enter b');
    log.push('leave b');
    return 'b';
  });
  await flush();
  first.open();
  expect(await Promise.all([a, b])).toEqual(['a', 'b']);
  return log;
}

describe('tokenKey', () => {
  it('is a 32-hex-digit hash of client id, refresh token and accounts server, never the token itself', () => {
    const key = tokenKey(CLIENT_ID, REFRESH_TOKEN, ACCOUNTS_URL);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(key).toBe(tokenKey(CLIENT_ID, REFRESH_TOKEN, ACCOUNTS_URL));
    expect(key).not.toBe(tokenKey(CLIENT_ID, `${REFRESH_TOKEN}x`, ACCOUNTS_URL));
    expect(key).not.toBe(tokenKey('1000.OTHER', REFRESH_TOKEN, ACCOUNTS_URL));
    expect(key).not.toContain('refresh');
  });

  it('differs between accounts servers (two emulators with one seed), and is one key per server however its URL is written', () => {
    const key = tokenKey(CLIENT_ID, REFRESH_TOKEN, 'http://127.0.0.1:8742');
    expect(key).not.toBe(tokenKey(CLIENT_ID, REFRESH_TOKEN, 'http://127.0.0.1:8743'));
    expect(key).not.toBe(tokenKey(CLIENT_ID, REFRESH_TOKEN, ACCOUNTS_URL));
    expect(key).toBe(tokenKey(CLIENT_ID, REFRESH_TOKEN, 'http://127.0.0.1:8742/'));
    expect(tokenKey(CLIENT_ID, REFRESH_TOKEN, 'https://Accounts.Zoho.com:443/')).toBe(tokenKey(CLIENT_ID, REFRESH_TOKEN, ACCOUNTS_URL));
  });
});

describe('memory store', () => {
  it('returns undefined for an unknown key and a copy of what was set', async () => {
    const store = createMemoryTokenStore();
    expect(await store.get('k')).toBeUndefined();
    const record = { token: { accessToken: 'a', expiresAt: 5 }, refreshes: [1, 2] };
    await store.set('k', record);
    record.refreshes.push(3);
    const got = await store.get('k');
    expect(got).toEqual({ token: { accessToken: 'a', expiresAt: 5 }, refreshes: [1, 2] });
    got?.refreshes.push(9);
    expect((await store.get('k'))?.refreshes).toEqual([1, 2]);
  });

  it('the lock serialises critical sections on one key', async () => {
    expect(await exclusivity(createMemoryTokenStore(), 'k', 'k')).toEqual(['enter a', 'leave a', 'enter b', 'leave b']);
  });

  it('different keys do not wait for each other', async () => {
    expect(await exclusivity(createMemoryTokenStore(), 'k1', 'k2')).toEqual(['enter a', 'enter b', 'leave b', 'leave a']);
  });

  it('a failing section releases the lock and its error reaches its caller only', async () => {
    const store = createMemoryTokenStore();
    const failing = store.withLock('k', async () => {
      throw new Error('boom');
    });
    const next = store.withLock('k', async () => 'next ran');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('next ran');
  });

  it('ten queued sections run one at a time in order', async () => {
    const store = createMemoryTokenStore();
    let active = 0;
    let maxActive = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.withLock('k', async () => {
          active++;
          maxActive = Math.max(maxActive, active);
          await flush(2);
          order.push(i);
          active--;
        }),
      ),
    );
    expect(maxActive).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('file store', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sunset-token-store-'));
    path = join(dir, 'state', 'tokens.json');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('two emulators with the same seed (same client id and refresh token) get an entry each: alternating callers refresh once per server', async () => {
    const emulators = [await startTestEmulator({ contacts: 5, randomSeed: 7 }), await startTestEmulator({ contacts: 5, randomSeed: 7 })] as const;
    try {
      const [a, b] = emulators;
      expect([b.info.clientId, b.info.refreshToken]).toEqual([a.info.clientId, a.info.refreshToken]);
      // A wait for the refresh limit fails the call at once instead of stalling the test for minutes.
      const clock: Clock = { now: systemClock.now, sleep: (ms, signal) => (ms > 5_000 ? Promise.reject(new Error(`waited ${ms} ms for the refresh limit`)) : systemClock.sleep(ms, signal)) };
      for (let i = 0; i < 12; i++) {
        const e = emulators[i % 2] as TestEmulator;
        // A new client and store per call, like one CLI command after another sharing tokens.json.
        const { client } = createTestClient(e, { tokenStore: createFileTokenStore(path), clock });
        expect((await client.organizations.list()).map((o) => o.organization_id), `call ${i + 1}`).toEqual(e.organizations);
      }
      for (const e of emulators) {
        const log = await e.admin<{ requests: Array<{ path: string; code: number | null }> }>('GET', '/__emulator/requests?limit=1000');
        expect(log.body.requests.filter((r) => r.path === '/oauth/v2/token')).toHaveLength(1);
        expect(log.body.requests.filter((r) => r.code === 57)).toEqual([]);
      }
      expect(Object.keys(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>)).toHaveLength(2);
    } finally {
      await Promise.all(emulators.map((e) => e.close()));
    }
  });

  it('writes a 0600 file in a 0700 directory it creates', async () => {
    const store = createFileTokenStore(path);
    await store.set('k', { token: { accessToken: 'a', expiresAt: 1 }, refreshes: [1] });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o700);
    expect(await store.get('k')).toEqual({ token: { accessToken: 'a', expiresAt: 1 }, refreshes: [1] });
    expect(await createFileTokenStore(path).get('k')).toEqual({ token: { accessToken: 'a', expiresAt: 1 }, refreshes: [1] });
  });

  it('keeps 0600 when it rewrites a file that had looser permissions', async () => {
    const store = createFileTokenStore(path);
    await store.set('k', { refreshes: [] });
    writeFileSync(path, '{}', { mode: 0o644 });
    await store.set('k', { refreshes: [2] });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('treats a missing or corrupt file as empty', async () => {
    const store = createFileTokenStore(path);
    expect(await store.get('k')).toBeUndefined();
    await store.set('k', { refreshes: [] });
    writeFileSync(path, 'not json{');
    expect(await store.get('k')).toBeUndefined();
  });

  it('a token manager using it never writes the refresh token or the client secret', async () => {
    const store = createFileTokenStore(path);
    const fetcher = createScriptedFetch(() => tokenReply('1000.access-token-abc'));
    const clock = createFakeClock();
    const tokens = createTokenManager({
      credentials: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, refreshToken: REFRESH_TOKEN },
      accountsUrl: ACCOUNTS_URL,
      store,
      fetch: fetcher.fetch,
      clock,
      random: sequenceRandom(0.5),
      hooks: {},
      timeoutMs: 30_000,
    });
    expect(await tokens.getAccessToken()).toBe('1000.access-token-abc');
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain(REFRESH_TOKEN);
    expect(text).not.toContain(CLIENT_SECRET);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual([tokenKey(CLIENT_ID, REFRESH_TOKEN, ACCOUNTS_URL)]);
    expect(parsed[tokenKey(CLIENT_ID, REFRESH_TOKEN, ACCOUNTS_URL)]).toEqual({
      token: { accessToken: '1000.access-token-abc', expiresAt: clock.now() + 3_600_000, issuedAt: clock.now(), apiDomain: 'https://www.zohoapis.com' },
      refreshes: [clock.now()],
    });
    expect(existsSync(`${path}.${tokenKey(CLIENT_ID, REFRESH_TOKEN, ACCOUNTS_URL)}.lock`)).toBe(false);
  });

  it('survives many concurrent set calls: every record is kept and the file stays valid JSON', async () => {
    const a = createFileTokenStore(path);
    const b = createFileTokenStore(path);
    await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).set(`key-${i}`, { refreshes: [i] })));
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Record<string, { refreshes: number[] }>;
    expect(Object.keys(parsed).sort()).toEqual(Array.from({ length: 60 }, (_, i) => `key-${i}`).sort());
    for (let i = 0; i < 60; i++) expect(parsed[`key-${i}`]).toEqual({ refreshes: [i] });
  });

  it('survives concurrent set calls from two processes sharing the file (no lost records)', async () => {
    // Two writer processes start together (a ready/go handshake on stdio, no timers) and each sets
    // its own keys, as two CLI runs with different refresh tokens would.
    const script = join(dir, 'writer.mts');
    writeFileSync(
      script,
      [
        `import { createFileTokenStore } from ${JSON.stringify(join(REPO, 'src/client/token-store.ts'))};`,
        'const [path, prefix, n] = process.argv.slice(2);',
        'const store = createFileTokenStore(path);',
        "process.stdout.write('ready\\n');",
        "await new Promise((go) => process.stdin.once('data', go));",
        'for (let i = 0; i < Number(n); i++) await store.set(`${prefix}-${i}`, { refreshes: [i] });',
        'process.exit(0);',
      ].join('\n'),
    );
    const PER_WRITER = 300;
    const start = (prefix: string): { ready: Promise<void>; exited: Promise<void>; go: () => void } => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, path, prefix, String(PER_WRITER)], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const ready = new Promise<void>((done) => child.stdout.once('data', () => done()));
      const exited = new Promise<void>((done, fail) => {
        child.on('error', fail);
        child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`writer ${prefix} exited ${String(code)}: ${stderr}`))));
      });
      return { ready, exited, go: () => child.stdin.write('go\n') };
    };
    const writers = [start('p1'), start('p2')];
    await Promise.all(writers.map((w) => w.ready));
    for (const w of writers) w.go();
    await Promise.all(writers.map((w) => w.exited));
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(parsed)).toHaveLength(2 * PER_WRITER);
  });

  it('the lock is exclusive per key', async () => {
    expect(await exclusivity(createFileTokenStore(path), 'k', 'k')).toEqual(['enter a', 'leave a', 'enter b', 'leave b']);
  });

  it('the lock is exclusive across store instances (as across processes)', async () => {
    const log: string[] = [];
    const first = gate();
    const a = createFileTokenStore(path).withLock('k', async () => {
      log.push('enter a');
      await first.promise;
      log.push('leave a');
    });
    await flush();
    expect(existsSync(`${path}.k.lock`)).toBe(true);
    const b = createFileTokenStore(path).withLock('k', async () => {
      log.push('enter b');
    });
    await flush();
    expect(log).toEqual(['enter a']);
    first.open();
    await Promise.all([a, b]);
    expect(log).toEqual(['enter a', 'leave a', 'enter b']);
    expect(existsSync(`${path}.k.lock`)).toBe(false);
  });

  it('different keys have different lock files', async () => {
    expect(await exclusivity(createFileTokenStore(path), 'k1', 'k2')).toEqual(['enter a', 'enter b', 'leave b', 'leave a']);
  });

  it('a fresh lock held by someone else is not taken over', async () => {
    const store = createFileTokenStore(path);
    await store.set('k', { refreshes: [] });
    const lock = `${path}.k.lock`;
    writeFileSync(lock, '');
    let entered = false;
    const waiting = store.withLock('k', async () => {
      entered = true;
    });
    await flush();
    expect(existsSync(lock)).toBe(true);
    expect(entered).toBe(false);
    rmSync(lock);
    await waiting;
    expect(entered).toBe(true);
  });

  it('a stale lock (left by a crashed process) is reclaimed', async () => {
    const store = createFileTokenStore(path, { staleLockMs: 30_000 });
    await store.set('k', { refreshes: [] });
    const lock = `${path}.k.lock`;
    writeFileSync(lock, '');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(lock, hourAgo, hourAgo);
    await expect(store.withLock('k', async () => 'ran')).resolves.toBe('ran');
    expect(existsSync(lock)).toBe(false);
  });

  it('a failing section removes its lock', async () => {
    const store = createFileTokenStore(path);
    await expect(store.withLock('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(existsSync(`${path}.k.lock`)).toBe(false);
    await expect(store.withLock('k', async () => 'again')).resolves.toBe('again');
  });

  it('a lock whose holder is still working is not taken over, however long it has held it', async () => {
    // The token manager holds this lock while it waits for Zoho's refresh limit (up to 10 minutes)
    // or retries a slow token endpoint (3 × 30 s): far longer than staleLockMs. The lock file's age
    // is simulated by moving its mtime back; the holder is alive in this very process.
    const store = createFileTokenStore(path, { staleLockMs: 30_000 });
    const log: string[] = [];
    const first = gate();
    const a = store.withLock('k', async () => {
      log.push('enter a');
      await first.promise;
      log.push('leave a');
    });
    await flush();
    const lock = `${path}.k.lock`;
    const longAgo = new Date(Date.now() - 5 * 60_000);
    utimesSync(lock, longAgo, longAgo);
    const b = createFileTokenStore(path, { staleLockMs: 30_000 }).withLock('k', async () => {
      log.push('enter b');
    });
    await flush();
    expect(existsSync(lock)).toBe(true);
    first.open();
    await Promise.all([a, b]);
    expect(log).toEqual(['enter a', 'leave a', 'enter b']);
  });
});
