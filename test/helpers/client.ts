/**
 * Builds a Zoho Books client for a test emulator: its base URL, accounts URL and ready-made
 * credentials, an in-memory token store, a seeded random source, and whatever clock, limits,
 * retry, timeout or hooks the test injects. `accessToken()` reads the token the client currently
 * holds (from its store), so tests can check that errors never carry it.
 */
import {
  createMemoryTokenStore, createZohoBooksClient, systemClock, tokenKey,
  type ClientHooks, type Clock, type Credentials, type RetryOptions, type TokenStore, type ZohoBooksClient, type ZohoClientOptions,
} from '../../src/client/index.js';
import type { TestEmulator } from './emulator.js';

export interface TestClientOptions {
  clock?: Clock;
  limits?: ZohoClientOptions['limits'];
  retry?: RetryOptions;
  hooks?: ClientHooks;
  timeoutMs?: number;
  /** Defaults to the emulator's ready-made client id, secret and refresh token. */
  credentials?: Credentials;
  /** Defaults to the store shared by every client of this emulator (see sharedStore). */
  tokenStore?: TokenStore;
  random?: () => number;
  fetch?: typeof fetch;
  organizationId?: string;
  /** Defaults to the emulator's Books base URL. */
  baseUrl?: string;
}

/**
 * One in-memory token store per emulator, shared by the clients a test file builds for it: like
 * clients sharing a store in production, they reuse the cached access token instead of each
 * spending one of the refresh token's 10 refreshes per 10 minutes (which the emulator enforces).
 */
const sharedStores = new WeakMap<TestEmulator, TokenStore>();
function sharedStore(t: TestEmulator): TokenStore {
  let store = sharedStores.get(t);
  if (!store) {
    store = createMemoryTokenStore();
    sharedStores.set(t, store);
  }
  return store;
}

export interface TestClient {
  client: ZohoBooksClient;
  store: TokenStore;
  credentials: Credentials;
  /** The access token the client holds now, if any. */
  accessToken(): Promise<string | undefined>;
}

/** A small seeded PRNG (mulberry32), so jitter and op mixes are repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A clock that reads the emulator's (emulated) time and sleeps in real time. */
export function emulatorTimeClock(t: TestEmulator): Clock {
  return { now: () => t.emulator.clock.now(), sleep: systemClock.sleep };
}

export function createTestClient(t: TestEmulator, options: TestClientOptions = {}): TestClient {
  const store = options.tokenStore ?? sharedStore(t);
  const credentials: Credentials = options.credentials ?? {
    clientId: t.info.clientId,
    clientSecret: t.info.clientSecret,
    refreshToken: t.info.refreshToken,
  };
  const client = createZohoBooksClient({
    baseUrl: options.baseUrl ?? t.baseUrl,
    accountsUrl: t.info.accountsUrl,
    credentials,
    tokenStore: store,
    random: options.random ?? seededRandom(1),
    ...(options.organizationId !== undefined ? { organizationId: options.organizationId } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return {
    client,
    store,
    credentials,
    async accessToken() {
      if ('accessToken' in credentials) return credentials.accessToken;
      const record = await store.get(tokenKey(credentials.clientId, credentials.refreshToken, t.info.accountsUrl));
      return record?.token?.accessToken;
    },
  };
}
