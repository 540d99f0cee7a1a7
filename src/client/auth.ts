/**
 * OAuth for the client: exchange a grant code, refresh with a refresh token, cache access tokens
 * until shortly before expiry, one refresh at a time per refresh token (concurrent callers wait for
 * it, across processes when the token store locks), at most 10 refreshes per 10 minutes, and
 * `invalid_code` recognised even with HTTP 200 (reference §7).
 */
import { REFRESH_LIMIT } from '../zoho/index.js';
import type { Clock } from './clock.js';
import { AuthError, NetworkError, ServerError, TimeoutError } from './errors.js';
import type { ClientHooks } from './hooks.js';
import { backoffDelay } from './retry.js';
import { tokenKey, type StoredToken, type TokenStore } from './token-store.js';

export type Credentials =
  | { clientId: string; clientSecret: string; refreshToken: string }
  | { accessToken: string };

export interface TokenManager {
  /** A valid access token, refreshed if needed. */
  getAccessToken(signal?: AbortSignal): Promise<string>;
  /** Zoho refused this token (57): drop it, if it is still the current one, so the next call refreshes. */
  invalidate(token: string): void;
  /** True when a refused token can be replaced (there is a refresh token). */
  readonly canRefresh: boolean;
  /** The `api_domain` the last token response named. */
  apiDomain(): string | undefined;
}

export interface TokenManagerOptions {
  credentials: Credentials;
  accountsUrl: string;
  store: TokenStore;
  fetch: typeof fetch;
  clock: Clock;
  random: () => number;
  hooks: ClientHooks;
  /** Refresh this long before expiry (default 60 s). */
  refreshSkewMs?: number;
  /** Longest the client waits for the refresh limit to allow another refresh (default 10 min). */
  maxRefreshWaitMs?: number;
  timeoutMs: number;
}

interface TokenEndpointBody {
  access_token?: string;
  refresh_token?: string;
  api_domain?: string;
  expires_in?: number;
  scope?: string;
  error?: string;
  error_description?: string;
}

/** POSTs a form to `/oauth/v2/token`, retrying network errors and 5xx a few times. */
async function postToken(
  options: Pick<TokenManagerOptions, 'accountsUrl' | 'fetch' | 'clock' | 'random' | 'timeoutMs'>,
  form: URLSearchParams,
  path = '/oauth/v2/token',
): Promise<{ status: number; body: TokenEndpointBody }> {
  const url = `${options.accountsUrl.replace(/\/+$/, '')}${path}`;
  const request = { method: 'POST', url };
  const attempts = 3;
  for (let attempt = 1; ; attempt++) {
    const controller = new AbortController();
    let timedOut = false;
    const timer = options.clock.sleep(options.timeoutMs, controller.signal).then(
      () => {
        timedOut = true;
        controller.abort(new Error('timeout'));
      },
      () => undefined,
    );
    try {
      const response = await options.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        signal: controller.signal,
      });
      const text = await response.text();
      let body: TokenEndpointBody = {};
      try {
        body = JSON.parse(text) as TokenEndpointBody;
      } catch {
        body = {};
      }
      if (response.status >= 500) {
        if (attempt < attempts) {
          await options.clock.sleep(backoffDelay(attempt, { maxAttempts: attempts, baseDelayMs: 500, maxDelayMs: 5000 }, options.random));
          continue;
        }
        throw new ServerError(`The Zoho accounts server answered HTTP ${response.status} at ${url}`, { status: response.status, request });
      }
      return { status: response.status, body };
    } catch (error) {
      if (error instanceof ServerError) throw error;
      if (attempt < attempts) {
        await options.clock.sleep(backoffDelay(attempt, { maxAttempts: attempts, baseDelayMs: 500, maxDelayMs: 5000 }, options.random));
        continue;
      }
      if (timedOut) throw new TimeoutError(`No answer from the Zoho accounts server within ${options.timeoutMs} ms at ${url}`, { request });
      const cause = error as { cause?: { code?: string }; message?: string };
      throw new NetworkError(`Cannot reach the Zoho accounts server at ${url}: ${cause.cause?.code ?? cause.message ?? 'connection failed'}`, { request, cause: error });
    } finally {
      controller.abort();
      await timer;
    }
  }
}

function authErrorFor(body: TokenEndpointBody, accountsUrl: string, what: 'refresh token' | 'grant code'): AuthError {
  const request = { method: 'POST', url: `${accountsUrl.replace(/\/+$/, '')}/oauth/v2/token` };
  const error = body.error ?? 'invalid_response';
  if (error === 'invalid_code') {
    return new AuthError(
      what === 'refresh token'
        ? `Zoho refused the refresh token (invalid_code): it is wrong, revoked, or belongs to another data centre than ${accountsUrl}. Sign in again.`
        : `Zoho refused the grant code (invalid_code): it is wrong, already used, expired (codes last a few minutes), or from another data centre than ${accountsUrl}.`,
      error,
      { request },
    );
  }
  if (error === 'invalid_client') {
    return new AuthError(`Zoho refused the client id or client secret (invalid_client) at ${accountsUrl}. Check both, and the data centre.`, error, { request });
  }
  if (error === 'Access Denied') {
    return new AuthError(`Zoho is throttling token refreshes: ${body.error_description ?? 'too many requests'}`, error, { request, retryable: true });
  }
  return new AuthError(`The Zoho accounts server did not return a token (${error}${body.error_description ? `: ${body.error_description}` : ''}).`, error, { request });
}

export interface GrantExchange {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  apiDomain: string | undefined;
  scope: string | undefined;
}

/** Exchanges a self-client or authorization code for a refresh token and an access token. */
export async function exchangeGrantCode(
  options: Pick<TokenManagerOptions, 'accountsUrl' | 'fetch' | 'clock' | 'random' | 'timeoutMs'>,
  input: { clientId: string; clientSecret: string; code: string; redirectUri?: string },
): Promise<GrantExchange> {
  const form = new URLSearchParams({ grant_type: 'authorization_code', client_id: input.clientId, client_secret: input.clientSecret, code: input.code });
  if (input.redirectUri) form.set('redirect_uri', input.redirectUri);
  const { body } = await postToken(options, form);
  if (!body.access_token || !body.refresh_token) throw authErrorFor(body, options.accountsUrl, 'grant code');
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    expiresIn: typeof body.expires_in === 'number' ? body.expires_in : 3600,
    apiDomain: body.api_domain,
    scope: body.scope,
  };
}

/** Revokes a refresh token at the accounts server. */
export async function revokeToken(
  options: Pick<TokenManagerOptions, 'accountsUrl' | 'fetch' | 'clock' | 'random' | 'timeoutMs'>,
  token: string,
): Promise<boolean> {
  const { body } = await postToken(options, new URLSearchParams({ token }), '/oauth/v2/token/revoke');
  return (body as { status?: string }).status === 'success';
}

export function createTokenManager(options: TokenManagerOptions): TokenManager {
  const credentials = options.credentials;
  const skew = options.refreshSkewMs ?? 60_000;
  // A whole window plus slack: waiting out the limit once is always allowed.
  const maxWait = options.maxRefreshWaitMs ?? REFRESH_LIMIT.windowSeconds * 1000 + 5_000;
  const windowMs = REFRESH_LIMIT.windowSeconds * 1000;

  if ('accessToken' in credentials) {
    return {
      canRefresh: false,
      getAccessToken: async () => credentials.accessToken,
      invalidate: () => undefined,
      apiDomain: () => undefined,
    };
  }

  // The token endpoint's origin is part of the key: tokens from another server are not ours.
  const key = tokenKey(credentials.clientId, credentials.refreshToken, options.accountsUrl);
  let cached: StoredToken | undefined;
  let rejected: string | undefined;
  let inflight: Promise<string> | undefined;
  // Refresh `skew` before expiry, but never more than half a token's life early: a 30 s token is
  // used for 15 s, not refreshed on every call.
  const fresh = (token: StoredToken | undefined): token is StoredToken => {
    if (token === undefined || token.accessToken === rejected) return false;
    const life = token.issuedAt !== undefined ? token.expiresAt - token.issuedAt : Infinity;
    return token.expiresAt - Math.min(skew, life / 2) > options.clock.now();
  };

  const refresh = async (): Promise<string> =>
    options.store.withLock(key, async () => {
      const record = (await options.store.get(key)) ?? { refreshes: [] };
      if (fresh(record.token)) {
        cached = record.token;
        return record.token.accessToken;
      }
      let waited = 0;
      for (;;) {
        const now = options.clock.now();
        const recent = record.refreshes.filter((t) => t > now - windowMs);
        if (recent.length >= REFRESH_LIMIT.count) {
          const wait = (recent[0] as number) + windowMs - now + 1;
          if (waited + wait > maxWait) {
            throw new AuthError(`Token refreshes are at Zoho's limit (${REFRESH_LIMIT.count} per ${REFRESH_LIMIT.windowSeconds / 60} minutes); the next is allowed in ${Math.ceil(wait / 1000)} s.`, 'refresh_limit', { retryable: true });
          }
          options.hooks.onRefreshWait?.({ waitMs: wait });
          await options.clock.sleep(wait);
          waited += wait;
          continue;
        }
        record.refreshes = [...recent, now];
        const started = options.clock.now();
        const { body } = await postToken(options, new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: credentials.clientId,
          client_secret: credentials.clientSecret,
          refresh_token: credentials.refreshToken,
        }));
        if (body.error === 'Access Denied') {
          // Someone else used the budget: take the window as full and wait for it.
          const filled = Array.from({ length: REFRESH_LIMIT.count }, () => started);
          record.refreshes = filled;
          await options.store.set(key, record);
          options.hooks.onRefresh?.({ ok: false, error: 'Access Denied' });
          continue;
        }
        if (!body.access_token) {
          await options.store.set(key, record);
          options.hooks.onRefresh?.({ ok: false, error: body.error ?? 'invalid_response' });
          throw authErrorFor(body, options.accountsUrl, 'refresh token');
        }
        const token: StoredToken = {
          accessToken: body.access_token,
          expiresAt: started + (typeof body.expires_in === 'number' ? body.expires_in : 3600) * 1000,
          issuedAt: started,
          apiDomain: body.api_domain,
        };
        record.token = token;
        await options.store.set(key, record);
        cached = token;
        options.hooks.onRefresh?.({ ok: true });
        return token.accessToken;
      }
    });

  return {
    canRefresh: true,
    async getAccessToken(signal) {
      if (fresh(cached)) return cached.accessToken;
      // One refresh serves every waiting caller, so no single caller's signal may cancel it.
      signal?.throwIfAborted();
      inflight ??= refresh().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    invalidate(token) {
      rejected = token;
      if (cached?.accessToken === token) cached = undefined;
    },
    apiDomain: () => cached?.apiDomain,
  };
}
