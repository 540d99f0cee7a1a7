/** Client options: what callers give (partial) and what the client runs with (resolved once, validated). */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BOOKS_API_PATH, DATA_CENTRES, isDataCentre, isOrganizationId, type DataCentre } from '../zoho/index.js';
import type { Credentials } from './auth.js';
import { systemClock, type Clock } from './clock.js';
import { ConfigurationError } from './errors.js';
import type { ClientHooks } from './hooks.js';
import { DEFAULT_LIMITS, type Limiter, type LimiterOptions, type ResolvedLimiterOptions } from './limiter.js';
import { DEFAULT_RETRY, type ResolvedRetryOptions, type RetryOptions } from './retry.js';
import { createFileTokenStore, type TokenStore } from './token-store.js';

export interface ZohoClientOptions {
  /** Data centre: US (default), EU, IN, AU, JP, CA, SA or CN. */
  dataCentre?: DataCentre | string;
  /** The Books API base URL, e.g. the emulator's `http://127.0.0.1:8742/books/v3`. Overrides the data centre. */
  baseUrl?: string;
  /** The accounts server, e.g. `https://accounts.zoho.eu` or the emulator's origin. */
  accountsUrl?: string;
  /** A refresh token with its client, or a bare access token (no refresh). */
  credentials: Credentials;
  /** The organization used when a call names none. */
  organizationId?: string;
  /** Where tokens are cached; default a file under ~/.sunset, readable by its owner only. */
  tokenStore?: TokenStore;
  fetch?: typeof fetch;
  clock?: Clock;
  random?: () => number;
  limits?: LimiterOptions;
  /**
   * Makes the limiter the client draws from, given the resolved limits and the clock (default: the
   * in-memory one, createLimiter). Sunset's engine passes one that keeps the budget in its
   * database, so every process calling Zoho for an organization shares it.
   */
  limiter?: LimiterFactory;
  retry?: RetryOptions;
  /** Per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  hooks?: ClientHooks;
  /** Use the `api_domain` a token response names for API calls (default true unless `baseUrl` is given). */
  followApiDomain?: boolean;
}

/** Makes a client's limiter from its resolved limits and clock. */
export type LimiterFactory = (limits: ResolvedLimiterOptions, clock: Clock) => Limiter;

export interface ResolvedZohoClientOptions {
  dataCentre: DataCentre | undefined;
  baseUrl: string;
  accountsUrl: string;
  credentials: Credentials;
  organizationId: string | undefined;
  tokenStore: TokenStore;
  fetch: typeof fetch;
  clock: Clock;
  random: () => number;
  limits: ResolvedLimiterOptions;
  limiter: LimiterFactory | undefined;
  retry: ResolvedRetryOptions;
  timeoutMs: number;
  hooks: ClientHooks;
  followApiDomain: boolean;
}

function checkUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(`${name} "${value}" is not a URL. Give a full URL such as https://www.zohoapis.com/books/v3.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigurationError(`${name} must be an http(s) URL (got ${url.protocol}).`);
  return value.replace(/\/+$/, '');
}

function positive(value: number | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new ConfigurationError(`${name} must be a number >= ${min} (got ${String(value)}).`);
  return value;
}

/** Validates once and fills the defaults; every problem is a ConfigurationError that says what to fix. */
export function resolveOptions(options: ZohoClientOptions): ResolvedZohoClientOptions {
  if (!options || typeof options !== 'object') throw new ConfigurationError('Pass client options: { credentials, dataCentre or baseUrl, ... }.');
  const creds = options.credentials as Partial<Record<string, unknown>> | undefined;
  if (!creds || typeof creds !== 'object') {
    throw new ConfigurationError('credentials are required: { clientId, clientSecret, refreshToken } or { accessToken }.');
  }
  let credentials: Credentials;
  if (typeof creds.accessToken === 'string' && creds.refreshToken === undefined) {
    if (creds.accessToken.trim() === '') throw new ConfigurationError('credentials.accessToken is empty.');
    credentials = { accessToken: creds.accessToken };
  } else {
    for (const key of ['clientId', 'clientSecret', 'refreshToken'] as const) {
      if (typeof creds[key] !== 'string' || (creds[key] as string).trim() === '') {
        const hint = key === 'clientSecret' ? ' (the secret of the self-client or server-based client in Zoho\'s API console)' : '';
        throw new ConfigurationError(`credentials.${key} is missing${hint}. A refresh token needs clientId, clientSecret and refreshToken.`);
      }
    }
    credentials = { clientId: creds.clientId as string, clientSecret: creds.clientSecret as string, refreshToken: creds.refreshToken as string };
  }

  let dataCentre: DataCentre | undefined;
  if (options.dataCentre !== undefined) {
    const dc = String(options.dataCentre).toUpperCase();
    if (!isDataCentre(dc)) {
      throw new ConfigurationError(`Unknown data centre "${options.dataCentre}". Use one of ${Object.keys(DATA_CENTRES).join(', ')}, or give baseUrl and accountsUrl.`);
    }
    dataCentre = dc;
  }
  const dcInfo = DATA_CENTRES[dataCentre ?? 'US'];
  const baseUrl = options.baseUrl !== undefined ? checkUrl(options.baseUrl, 'baseUrl') : `${dcInfo.apiDomain}${BOOKS_API_PATH}`;
  let accountsUrl: string;
  if (options.accountsUrl !== undefined) accountsUrl = checkUrl(options.accountsUrl, 'accountsUrl');
  else if (options.baseUrl !== undefined && dataCentre === undefined) accountsUrl = new URL(baseUrl).origin;
  else accountsUrl = dcInfo.accountsUrl;

  if (options.organizationId !== undefined && !isOrganizationId(options.organizationId)) {
    throw new ConfigurationError(`organizationId must be Zoho's numeric organization id as a string, e.g. "10234695" (got ${JSON.stringify(options.organizationId)}).`);
  }
  const limits = options.limits ?? {};
  const resolvedLimits: ResolvedLimiterOptions = {
    perMinute: positive(limits.perMinute, 'limits.perMinute', DEFAULT_LIMITS.perMinute),
    inFlight: typeof limits.inFlight === 'object'
      ? Object.fromEntries(Object.entries(limits.inFlight).map(([organization, cap]) => [organization, positive(cap, `limits.inFlight["${organization}"]`, 5)]))
      : limits.inFlight === undefined ? undefined : positive(limits.inFlight, 'limits.inFlight', 5),
    dailyHeadroom: positive(limits.dailyHeadroom, 'limits.dailyHeadroom', DEFAULT_LIMITS.dailyHeadroom, 0),
    windowMs: positive(limits.windowMs, 'limits.windowMs', DEFAULT_LIMITS.windowMs),
    burst: limits.burst === undefined ? undefined : positive(limits.burst, 'limits.burst', 1),
  };
  if (options.limiter !== undefined && typeof options.limiter !== 'function') {
    throw new ConfigurationError('limiter must be a function (limits, clock) => Limiter, or left out for the in-memory one.');
  }
  const retry = options.retry ?? {};
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== 'function') throw new ConfigurationError('No fetch available: use Node.js 20 or later, or pass options.fetch.');
  return {
    dataCentre,
    baseUrl,
    accountsUrl,
    credentials,
    organizationId: options.organizationId,
    tokenStore: options.tokenStore ?? createFileTokenStore(join(homedir(), '.sunset', 'tokens.json')),
    fetch: fetchFn,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    limits: resolvedLimits,
    limiter: options.limiter,
    retry: {
      maxAttempts: positive(retry.maxAttempts, 'retry.maxAttempts', DEFAULT_RETRY.maxAttempts),
      baseDelayMs: positive(retry.baseDelayMs, 'retry.baseDelayMs', DEFAULT_RETRY.baseDelayMs, 0),
      maxDelayMs: positive(retry.maxDelayMs, 'retry.maxDelayMs', DEFAULT_RETRY.maxDelayMs, 0),
    },
    timeoutMs: positive(options.timeoutMs, 'timeoutMs', 30_000),
    hooks: options.hooks ?? {},
    followApiDomain: options.followApiDomain ?? options.baseUrl === undefined,
  };
}
