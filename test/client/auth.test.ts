/**
 * The token manager (src/client/auth.ts) against a scripted accounts server and the fake clock:
 * caching, the refresh skew, single-flight refresh, recovery after a 57, the 10-per-10-minutes
 * limit, invalid_code with HTTP 200, invalid_client, Access Denied throttling, static tokens and
 * network errors at the token endpoint.
 */
import { describe, expect, it } from 'vitest';
import { createTokenManager, type TokenManager } from '../../src/client/auth.js';
import {
  AuthError, createMemoryTokenStore, NetworkError, ServerError, TimeoutError, tokenKey, type ClientHooks, type TokenStore,
} from '../../src/client/index.js';
import { createFakeClock, flush, type FakeClock } from '../helpers/fake-clock.js';
import {
  createScriptedFetch, networkError, sequenceRandom, settle, tokenReply, track, type Handler, type ScriptedFetch,
} from '../helpers/scripted-fetch.js';

const CLIENT_ID = '1000.CLIENTIDCLIENTIDCLIENTID12345';
const CLIENT_SECRET = 'client-secret-5f1c0e9a7b3d';
const REFRESH_TOKEN = '1000.refreshrefreshrefresh0123456789.abcdefabcdefabcdef0123456789';
const ACCOUNTS = 'https://accounts.zoho.eu';
const CREDENTIALS = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, refreshToken: REFRESH_TOKEN };

interface Setup {
  tokens: TokenManager;
  clock: FakeClock;
  server: ScriptedFetch;
  store: TokenStore;
  events: Array<{ hook: string; info: unknown }>;
  t0: number;
}

/** A token server that issues access-1, access-2, ... unless a handler says otherwise. */
function setup(options: { handler?: Handler; store?: TokenStore; clock?: FakeClock; refreshSkewMs?: number; maxRefreshWaitMs?: number; credentials?: typeof CREDENTIALS | { accessToken: string } } = {}): Setup {
  const clock = options.clock ?? createFakeClock();
  let issued = 0;
  const server = createScriptedFetch(options.handler ?? (() => tokenReply(`access-${++issued}`)));
  const store = options.store ?? createMemoryTokenStore();
  const events: Array<{ hook: string; info: unknown }> = [];
  const hooks: ClientHooks = {
    onRefresh: (info) => events.push({ hook: 'onRefresh', info }),
    onRefreshWait: (info) => events.push({ hook: 'onRefreshWait', info }),
  };
  const tokens = createTokenManager({
    credentials: options.credentials ?? CREDENTIALS,
    accountsUrl: ACCOUNTS,
    store,
    fetch: server.fetch,
    clock,
    random: sequenceRandom(0.5),
    hooks,
    timeoutMs: 30_000,
    ...(options.refreshSkewMs === undefined ? {} : { refreshSkewMs: options.refreshSkewMs }),
    ...(options.maxRefreshWaitMs === undefined ? {} : { maxRefreshWaitMs: options.maxRefreshWaitMs }),
  });
  return { tokens, clock, server, store, events, t0: clock.now() };
}

/** Refreshes once more: drops the current token as Zoho would after a 57, and fetches the next. */
async function forceRefresh(s: Setup): Promise<string> {
  s.tokens.invalidate(await s.tokens.getAccessToken());
  return settle(s.clock, s.tokens.getAccessToken());
}

function expectNoSecrets(error: unknown): void {
  const texts = [(error as Error).message, JSON.stringify(error), String((error as Error).stack ?? '')];
  for (const text of texts) {
    expect(text).not.toContain(REFRESH_TOKEN);
    expect(text).not.toContain(CLIENT_SECRET);
  }
}

describe('the token request', () => {
  it('POSTs grant_type=refresh_token with the client to {accounts}/oauth/v2/token, secrets in the body only', async () => {
    const s = setup();
    expect(await s.tokens.getAccessToken()).toBe('access-1');
    expect(s.server.requests).toHaveLength(1);
    const request = s.server.requests[0];
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('https://accounts.zoho.eu/oauth/v2/token');
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request?.form).toEqual({ grant_type: 'refresh_token', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, refresh_token: REFRESH_TOKEN });
    expect(s.tokens.canRefresh).toBe(true);
    expect(s.events).toEqual([{ hook: 'onRefresh', info: { ok: true } }]);
  });

  it('remembers the api_domain of the token response', async () => {
    const s = setup({ handler: () => tokenReply('access-1', { api_domain: 'https://www.zohoapis.eu' }) });
    expect(s.tokens.apiDomain()).toBeUndefined();
    await s.tokens.getAccessToken();
    expect(s.tokens.apiDomain()).toBe('https://www.zohoapis.eu');
  });

  it('stores the token under a hash of the refresh token, with the refresh logged', async () => {
    const s = setup();
    await s.tokens.getAccessToken();
    const record = await s.store.get(tokenKey(CLIENT_ID, REFRESH_TOKEN, ACCOUNTS));
    expect(record).toEqual({ token: { accessToken: 'access-1', expiresAt: s.t0 + 3_600_000, issuedAt: s.t0, apiDomain: 'https://www.zohoapis.com' }, refreshes: [s.t0] });
  });
});

describe('caching', () => {
  it('reuses the cached token without calling the server again', async () => {
    const s = setup();
    expect(await s.tokens.getAccessToken()).toBe('access-1');
    await s.clock.advance(30 * 60_000);
    expect(await s.tokens.getAccessToken()).toBe('access-1');
    expect(await s.tokens.getAccessToken()).toBe('access-1');
    expect(s.server.requests).toHaveLength(1);
  });

  it('refreshes once within the default 60 s skew of expiry', async () => {
    const s = setup();
    await s.tokens.getAccessToken();
    await s.clock.advance(3_540_000 - 1);
    expect(await s.tokens.getAccessToken()).toBe('access-1');
    await s.clock.advance(1);
    expect(await s.tokens.getAccessToken()).toBe('access-2');
    expect(s.server.requests).toHaveLength(2);
  });

  it('honours a custom skew and the server\'s expires_in', async () => {
    let n = 0;
    const s = setup({ refreshSkewMs: 5_000, handler: () => tokenReply(`access-${++n}`, { expires_in: 600 }) });
    await s.tokens.getAccessToken();
    await s.clock.advance(594_999);
    expect(await s.tokens.getAccessToken()).toBe('access-1');
    await s.clock.advance(1);
    expect(await s.tokens.getAccessToken()).toBe('access-2');
  });

  it('a token another client stored in the shared store is used without a refresh', async () => {
    const store = createMemoryTokenStore();
    const clock = createFakeClock();
    const a = setup({ store, clock });
    const b = setup({ store, clock, handler: () => tokenReply('from-b') });
    expect(await a.tokens.getAccessToken()).toBe('access-1');
    expect(await b.tokens.getAccessToken()).toBe('access-1');
    expect(b.server.requests).toHaveLength(0);
  });
});

describe('one refresh at a time', () => {
  it('20 concurrent callers cause exactly 1 refresh and all get its token', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const s = setup({
      handler: async () => {
        await gate;
        return tokenReply('access-1');
      },
    });
    const calls = Array.from({ length: 20 }, () => s.tokens.getAccessToken());
    await flush();
    expect(s.server.requests).toHaveLength(1);
    release();
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 20 }, () => 'access-1'));
    expect(s.server.requests).toHaveLength(1);
  });

  it('two clients sharing a store refresh once between them', async () => {
    const store = createMemoryTokenStore();
    const clock = createFakeClock();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const a = setup({ store, clock, handler: async () => (await gate, tokenReply('from-a')) });
    const b = setup({ store, clock, handler: async () => (await gate, tokenReply('from-b')) });
    const calls = [a.tokens.getAccessToken(), b.tokens.getAccessToken(), a.tokens.getAccessToken(), b.tokens.getAccessToken()];
    await flush();
    release();
    expect(await Promise.all(calls)).toEqual(['from-a', 'from-a', 'from-a', 'from-a']);
    expect(a.server.requests.length + b.server.requests.length).toBe(1);
  });
});

describe('recovery after a 57', () => {
  it('invalidate(token) makes the next call refresh once', async () => {
    const s = setup();
    const first = await s.tokens.getAccessToken();
    s.tokens.invalidate(first);
    expect(await s.tokens.getAccessToken()).toBe('access-2');
    expect(await s.tokens.getAccessToken()).toBe('access-2');
    expect(s.server.requests).toHaveLength(2);
  });

  it('a stale 57 for an older token does not cause a second refresh', async () => {
    const s = setup();
    const old = await s.tokens.getAccessToken();
    s.tokens.invalidate(old);
    expect(await s.tokens.getAccessToken()).toBe('access-2');
    s.tokens.invalidate(old); // a request that went out with access-1 comes back 57 late
    expect(await s.tokens.getAccessToken()).toBe('access-2');
    expect(s.server.requests).toHaveLength(2);
  });

  it('several requests refused with the same token at once cause one refresh', async () => {
    const s = setup();
    const old = await s.tokens.getAccessToken();
    const next = [0, 1, 2, 3].map(() => {
      s.tokens.invalidate(old);
      return s.tokens.getAccessToken();
    });
    expect(await Promise.all(next)).toEqual(['access-2', 'access-2', 'access-2', 'access-2']);
    expect(s.server.requests).toHaveLength(2);
  });

  it('a refused token still in the shared store is not reused', async () => {
    const store = createMemoryTokenStore();
    const clock = createFakeClock();
    const a = setup({ store, clock });
    const b = setup({ store, clock, handler: () => tokenReply('from-b') });
    await a.tokens.getAccessToken();
    b.tokens.invalidate('access-1');
    expect(await b.tokens.getAccessToken()).toBe('from-b');
  });
});

describe('at most 10 refreshes per 10 minutes', () => {
  it('the 11th refresh within 10 minutes waits on the clock instead of calling the server', async () => {
    const calledAt: number[] = [];
    const clock = createFakeClock();
    let n = 0;
    const s = setup({ clock, handler: () => (calledAt.push(clock.now()), tokenReply(`access-${++n}`)) });
    await s.tokens.getAccessToken();
    for (let i = 0; i < 9; i++) {
      await clock.advance(1_000);
      await forceRefresh(s);
    }
    expect(calledAt.map((t) => t - s.t0)).toEqual([0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000]);
    await clock.advance(1_000); // t0 + 10 s
    s.tokens.invalidate('access-10');
    const eleventh = track(s.tokens.getAccessToken());
    await flush();
    expect(eleventh.done).toBe(false);
    expect(s.server.requests).toHaveLength(10);
    expect(s.events.filter((e) => e.hook === 'onRefreshWait')).toHaveLength(1);
    await clock.advance(589_999); // t0 + 599.999 s
    expect(s.server.requests).toHaveLength(10);
    await clock.advance(2);
    expect(eleventh.done).toBe(true);
    expect(eleventh.value).toBe('access-11');
    expect(calledAt).toHaveLength(11);
    const eleventhAt = (calledAt[10] as number) - s.t0;
    expect(eleventhAt).toBeGreaterThanOrEqual(600_000);
    expect(eleventhAt).toBeLessThanOrEqual(600_001);
  });

  it('reports the wait through onRefreshWait', async () => {
    const s = setup();
    await s.tokens.getAccessToken();
    for (let i = 0; i < 9; i++) {
      await s.clock.advance(1_000);
      await forceRefresh(s);
    }
    await s.clock.advance(11_000); // t0 + 20 s: the oldest refresh (t0) leaves the window at t0 + 600 s
    s.tokens.invalidate('access-10');
    const waiting = s.tokens.getAccessToken();
    await flush();
    const wait = s.events.find((e) => e.hook === 'onRefreshWait')?.info as { waitMs: number };
    expect(wait.waitMs).toBeGreaterThanOrEqual(580_000);
    expect(wait.waitMs).toBeLessThanOrEqual(580_001);
    await settle(s.clock, waiting);
  });

  it('a burst of 10 refreshes at one instant makes the 11th wait (not fail) under the default 10-minute cap', async () => {
    const s = setup();
    await s.tokens.getAccessToken();
    for (let i = 0; i < 9; i++) await forceRefresh(s);
    expect(s.server.requests).toHaveLength(10);
    s.tokens.invalidate('access-10');
    const eleventh = s.tokens.getAccessToken();
    await expect(settle(s.clock, eleventh)).resolves.toBe('access-11');
    expect(s.clock.now() - s.t0).toBeGreaterThanOrEqual(600_000);
    expect(s.clock.now() - s.t0).toBeLessThanOrEqual(600_001);
  });

  it('never more than 10 refreshes in any 10-minute window over a long run of 57s', async () => {
    const calledAt: number[] = [];
    const clock = createFakeClock();
    let n = 0;
    const s = setup({ clock, handler: () => (calledAt.push(clock.now()), tokenReply(`access-${++n}`)) });
    for (let i = 0; i < 25; i++) {
      await clock.advance(7_000);
      await forceRefresh(s);
    }
    expect(calledAt).toHaveLength(26);
    for (let i = 0; i + 10 < calledAt.length; i++) {
      expect((calledAt[i + 10] as number) - (calledAt[i] as number)).toBeGreaterThanOrEqual(600_000);
    }
  });

  it('gives up with a retryable AuthError (refresh_limit) when the wait exceeds maxRefreshWaitMs', async () => {
    const s = setup({ maxRefreshWaitMs: 60_000 });
    await s.tokens.getAccessToken();
    for (let i = 0; i < 9; i++) await forceRefresh(s);
    s.tokens.invalidate('access-10');
    const error = await s.tokens.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).oauthError).toBe('refresh_limit');
    expect((error as AuthError).retryable).toBe(true);
    expect(s.server.requests).toHaveLength(10);
    expectNoSecrets(error);
  });
});

describe('errors from the accounts server', () => {
  it('HTTP 200 {"error":"invalid_code"} is an AuthError that names the data centre and no secret', async () => {
    const s = setup({ handler: () => ({ status: 200, body: { error: 'invalid_code' } }) });
    const error = await s.tokens.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    const auth = error as AuthError;
    expect(auth.kind).toBe('auth');
    expect(auth.oauthError).toBe('invalid_code');
    expect(auth.retryable).toBe(false);
    expect(auth.message).toContain('invalid_code');
    expect(auth.message).toContain('data centre');
    expect(auth.message).toContain('https://accounts.zoho.eu');
    expect(auth.request).toEqual({ method: 'POST', url: 'https://accounts.zoho.eu/oauth/v2/token' });
    expectNoSecrets(error);
    expect(s.server.requests).toHaveLength(1);
    expect(s.events).toEqual([{ hook: 'onRefresh', info: { ok: false, error: 'invalid_code' } }]);
  });

  it('HTTP 400 invalid_code is the same AuthError', async () => {
    const s = setup({ handler: () => ({ status: 400, body: { error: 'invalid_code' } }) });
    await expect(s.tokens.getAccessToken()).rejects.toMatchObject({ name: 'AuthError', oauthError: 'invalid_code' });
  });

  it('invalid_client says to check the client id and secret, without the secret', async () => {
    const s = setup({ handler: () => ({ status: 200, body: { error: 'invalid_client' } }) });
    const error = await s.tokens.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).oauthError).toBe('invalid_client');
    expect((error as AuthError).message).toContain('client id or client secret');
    expect((error as AuthError).message).toContain('https://accounts.zoho.eu');
    expectNoSecrets(error);
  });

  it('a body without a token or an error is an AuthError invalid_response', async () => {
    const s = setup({ handler: () => ({ status: 200, text: '<html>login</html>' }) });
    await expect(s.tokens.getAccessToken()).rejects.toMatchObject({ name: 'AuthError', oauthError: 'invalid_response' });
  });

  it('Access Denied (throttled) waits for the refresh window, then retries and succeeds', async () => {
    const answers = [{ status: 400, body: { error: 'Access Denied', error_description: 'You have made too many requests continuously. Please try again after some time.' } }, tokenReply('access-1')];
    const s = setup({ handler: () => answers.shift() });
    const result = s.tokens.getAccessToken();
    await expect(settle(s.clock, result)).resolves.toBe('access-1');
    expect(s.server.requests).toHaveLength(2);
    expect(s.clock.now() - s.t0).toBeGreaterThanOrEqual(600_000);
    expect(s.clock.now() - s.t0).toBeLessThanOrEqual(600_001);
    expect(s.events.filter((e) => e.hook === 'onRefresh').map((e) => e.info)).toEqual([{ ok: false, error: 'Access Denied' }, { ok: true }]);
  });

  it('Access Denied from a server that takes 20 ms to answer: waits until the window from the refusal has passed', async () => {
    const clock = createFakeClock();
    const answers = [{ status: 400, body: { error: 'Access Denied' } }, tokenReply('access-1')];
    const calledAt: number[] = [];
    const s = setup({
      clock,
      handler: async () => {
        calledAt.push(clock.now());
        await clock.sleep(20);
        return answers.shift();
      },
    });
    const result = track(s.tokens.getAccessToken());
    await flush();
    await clock.advance(20);
    expect(s.server.requests).toHaveLength(1);
    await clock.advance(599_978); // t0 + 599.998 s
    expect(s.server.requests).toHaveLength(1);
    await clock.advance(3);
    expect(s.server.requests).toHaveLength(2);
    await clock.advance(20);
    expect(result.value).toBe('access-1');
    expect((calledAt[1] as number) - s.t0).toBeGreaterThanOrEqual(600_000);
  });

  it('network errors at the token endpoint are retried (3 attempts, backoff on the clock), then surface as NetworkError', async () => {
    const s = setup({ handler: () => ({ error: networkError('ECONNRESET') }) });
    const error = await settle(s.clock, s.tokens.getAccessToken()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    const network = error as NetworkError;
    expect(network.kind).toBe('network');
    expect(network.retryable).toBe(true);
    expect(network.message).toContain('ECONNRESET');
    expect(network.message).toContain('https://accounts.zoho.eu/oauth/v2/token');
    expect(network.request).toEqual({ method: 'POST', url: 'https://accounts.zoho.eu/oauth/v2/token' });
    expect(s.server.requests).toHaveLength(3);
    expect(s.clock.sleeps.filter((ms) => ms !== 30_000)).toEqual([375, 750]);
    expectNoSecrets(error);
  });

  it('a network error followed by a token recovers', async () => {
    const answers = [{ error: networkError('ECONNREFUSED') }, tokenReply('access-1')];
    const s = setup({ handler: () => answers.shift() });
    await expect(settle(s.clock, s.tokens.getAccessToken())).resolves.toBe('access-1');
    expect(s.server.requests).toHaveLength(2);
  });

  it('5xx from the accounts server is retried, then a ServerError', async () => {
    const s = setup({ handler: () => ({ status: 503, text: '<html>503</html>' }) });
    const error = await settle(s.clock, s.tokens.getAccessToken()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).status).toBe(503);
    expect(s.server.requests).toHaveLength(3);
  });

  it('no answer within timeoutMs is retried, then a TimeoutError', async () => {
    const s = setup({ handler: () => ({ hang: true }) });
    const error = await settle(s.clock, s.tokens.getAccessToken()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toContain('30000 ms');
    expect(s.server.requests).toHaveLength(3);
  });
});

describe('a static access token', () => {
  it('is returned as is and never refreshed, even after invalidate', async () => {
    const s = setup({ credentials: { accessToken: '1000.static.token' } });
    expect(s.tokens.canRefresh).toBe(false);
    expect(await s.tokens.getAccessToken()).toBe('1000.static.token');
    s.tokens.invalidate('1000.static.token');
    await s.clock.advance(10 * 3_600_000);
    expect(await s.tokens.getAccessToken()).toBe('1000.static.token');
    expect(s.server.requests).toHaveLength(0);
    expect(s.tokens.apiDomain()).toBeUndefined();
  });
});
