/**
 * The emulated Zoho accounts server: clients, self-client grant codes, refresh and access tokens,
 * scopes, revocation and the refresh throttle (reference §7).
 */
import { randomBytes } from 'node:crypto';
import { BOOKS_SCOPE_MODULES, FULL_ACCESS_SCOPE, REFRESH_LIMIT, scopeName, ZohoCode } from '../zoho/index.js';
import type { AccessToken } from './store/oauth.js';
import type { Store } from './store/store.js';

export const GRANT_TTL_MS = 10 * 60_000;

/** Every scope Sunset uses, for the ready-made credentials. */
export const ALL_SCOPES: readonly string[] = [
  FULL_ACCESS_SCOPE,
  ...BOOKS_SCOPE_MODULES.map((module) => scopeName(module, 'ALL')),
];

export function newSecretToken(): string {
  return `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`;
}

export interface TokenGrantResult {
  access_token: string;
  refresh_token?: string;
  api_domain: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

export type TokenOutcome =
  | { ok: true; body: TokenGrantResult }
  | { ok: false; status: number; body: Record<string, string> };

export interface Authority {
  createClient(input: { clientId: string; clientSecret: string; name: string; accountId: string }): void;
  createGrant(input: { clientId: string; scopes: string[]; organizationIds: string[] }, nowMs: number): string;
  /** Makes a refresh token directly (the seed uses it for the ready-made credentials). */
  createRefreshToken(input: { token: string; clientId: string; scopes: readonly string[]; organizationIds: string[] }, nowMs: number): void;
  mintAccessToken(refreshToken: string, nowMs: number): string | undefined;
  token(params: URLSearchParams, apiDomain: string, nowMs: number): TokenOutcome;
  revoke(token: string): boolean;
  /** Resolves an Authorization header: the token, or the Zoho code to refuse with (14 or 57). */
  verify(header: string | undefined, nowMs: number): { token: AccessToken } | { code: number };
  expire(token: string | undefined, nowMs: number): void;
  resetThrottle(): void;
  readonly tokenTtlSeconds: number;
}

export function createAuthority(store: Store, tokenTtlSeconds: number): Authority {
  const refreshTimes = new Map<string, number[]>();
  const invalid = (error: string): TokenOutcome => ({ ok: false, status: 200, body: { error } });

  const mint = (refresh: { token: string; client_id: string; scopes: string; organization_ids: string }, nowMs: number): string => {
    const token = newSecretToken();
    store.oauth.insertAccessToken({
      token,
      refresh_token: refresh.token,
      client_id: refresh.client_id,
      scopes: refresh.scopes,
      organization_ids: refresh.organization_ids,
      expires_ms: nowMs + tokenTtlSeconds * 1000,
      revoked: 0,
    });
    return token;
  };

  const clientOk = (params: URLSearchParams): boolean => {
    const client = store.oauth.getClient(params.get('client_id') ?? '');
    return client !== undefined && client.client_secret === params.get('client_secret');
  };

  return {
    tokenTtlSeconds,
    createClient({ clientId, clientSecret, name, accountId }) {
      store.oauth.insertClient({ client_id: clientId, client_secret: clientSecret, name, account_id: accountId });
    },
    createGrant({ clientId, scopes, organizationIds }, nowMs) {
      const code = `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`;
      store.oauth.insertGrant({
        code,
        client_id: clientId,
        scopes: JSON.stringify(scopes),
        organization_ids: JSON.stringify(organizationIds),
        expires_ms: nowMs + GRANT_TTL_MS,
        used: 0,
      });
      return code;
    },
    createRefreshToken({ token, clientId, scopes, organizationIds }, nowMs) {
      store.oauth.insertRefreshToken({
        token,
        client_id: clientId,
        scopes: JSON.stringify(scopes),
        organization_ids: JSON.stringify(organizationIds),
        created_ms: nowMs,
        revoked: 0,
      });
    },
    mintAccessToken(refreshToken, nowMs) {
      const refresh = store.oauth.getRefreshToken(refreshToken);
      if (!refresh || refresh.revoked) return undefined;
      return mint(refresh, nowMs);
    },
    token(params, apiDomain, nowMs) {
      const grantType = params.get('grant_type');
      if (grantType === 'authorization_code') {
        if (!clientOk(params)) return invalid('invalid_client');
        // A code made for another client (another account's, say) is invalid_code and stays unused.
        const grant = store.oauth.consumeGrant(params.get('code') ?? '', params.get('client_id') ?? '', nowMs);
        if (!grant) return invalid('invalid_code');
        const refreshToken = newSecretToken();
        const refresh = {
          token: refreshToken,
          client_id: grant.client_id,
          scopes: grant.scopes,
          organization_ids: grant.organization_ids,
          created_ms: nowMs,
          revoked: 0,
        };
        store.oauth.insertRefreshToken(refresh);
        const access = mint(refresh, nowMs);
        return {
          ok: true,
          body: {
            access_token: access,
            refresh_token: refreshToken,
            api_domain: apiDomain,
            token_type: 'Bearer',
            expires_in: tokenTtlSeconds,
            scope: (JSON.parse(grant.scopes) as string[]).join(' '),
          },
        };
      }
      if (grantType === 'refresh_token') {
        if (!clientOk(params)) return invalid('invalid_client');
        const token = params.get('refresh_token') ?? '';
        const refresh = store.oauth.getRefreshToken(token);
        if (!refresh || refresh.revoked || refresh.client_id !== params.get('client_id')) return invalid('invalid_code');
        const windowStart = nowMs - REFRESH_LIMIT.windowSeconds * 1000;
        const times = (refreshTimes.get(token) ?? []).filter((t) => t > windowStart);
        if (times.length >= REFRESH_LIMIT.count) {
          refreshTimes.set(token, times);
          return {
            ok: false,
            status: 400,
            body: {
              error: 'Access Denied',
              error_description: 'You have made too many requests continuously. Please try again after some time.',
              status: 'failure',
            },
          };
        }
        times.push(nowMs);
        refreshTimes.set(token, times);
        return {
          ok: true,
          body: {
            access_token: mint(refresh, nowMs),
            api_domain: apiDomain,
            token_type: 'Bearer',
            expires_in: tokenTtlSeconds,
            scope: (JSON.parse(refresh.scopes) as string[]).join(' '),
          },
        };
      }
      return { ok: false, status: 400, body: { error: 'unsupported_grant_type' } };
    },
    revoke: (token) => store.oauth.revoke(token),
    verify(header, nowMs) {
      if (!header) return { code: ZohoCode.UNAUTHENTICATED };
      const space = header.indexOf(' ');
      const scheme = space > 0 ? header.slice(0, space).toLowerCase() : '';
      const value = space > 0 ? header.slice(space + 1).trim() : '';
      if ((scheme !== 'zoho-oauthtoken' && scheme !== 'bearer') || value === '') return { code: ZohoCode.UNAUTHENTICATED };
      const token = store.oauth.getAccessToken(value);
      if (!token || token.revoked || token.expiresMs <= nowMs) return { code: ZohoCode.UNAUTHORIZED };
      return { token };
    },
    expire(token, nowMs) {
      if (token) store.oauth.expireAccessToken(token, nowMs);
    },
    resetThrottle: () => refreshTimes.clear(),
  };
}
