/**
 * The one request function, built from independent wrappers around a transport:
 *   retry( limiter( auth( transport ) ) )
 * Each wrapper reads only its own options; none imports another. Every attempt re-reads the
 * access token and takes a fresh limiter slot.
 */
import { isOrganizationId, ZohoCode } from '../zoho/index.js';
import type { TokenManager } from './auth.js';
import type { Clock } from './clock.js';
import {
  ConfigurationError, errorFromOutcome, isSuccess, outcomeCode, QuotaExhaustedError, quotaResetAt, type Outcome, type RedactedRequest,
} from './errors.js';
import type { ClientHooks } from './hooks.js';
import type { Limiter } from './limiter.js';
import { shouldRetry, type ResolvedRetryOptions } from './retry.js';

export type QueryValue = string | number | boolean | undefined;

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path under the Books base URL: `/contacts/123/inactive`. */
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** The organization; `null` for account-level calls (GET /organizations). */
  organizationId: string | null;
  /** Safe to repeat after an unclear failure (default: every method but POST). */
  idempotent?: boolean;
  /** A status action: code 2 means not found (reference §9). */
  statusAction?: boolean;
  signal?: AbortSignal;
}

/** One attempt: sends the request and reports what came back, never throws for HTTP or network outcomes. */
export type Send = (spec: RequestSpec, attempt: number) => Promise<Outcome>;

const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_INVALID_URL']);

export function buildUrl(baseUrl: string, spec: RequestSpec): URL {
  const url = new URL(`${baseUrl}${spec.path}`);
  if (spec.organizationId !== null) url.searchParams.set('organization_id', spec.organizationId);
  for (const [key, value] of Object.entries(spec.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  return url;
}

export function redact(method: string, url: URL): RedactedRequest {
  const clean = new URL(url);
  for (const key of ['client_secret', 'refresh_token', 'code', 'access_token', 'token']) {
    if (clean.searchParams.has(key)) clean.searchParams.set(key, '[redacted]');
  }
  clean.username = '';
  clean.password = '';
  return { method, url: clean.toString() };
}

/** The bottom: fetch with a timeout, the outcome parsed. Authorization comes in through `headers`. */
export function createTransport(options: {
  fetch: typeof fetch;
  clock: Clock;
  timeoutMs: number;
  baseUrl: () => string;
  hooks: ClientHooks;
}): (spec: RequestSpec, attempt: number, headers: Record<string, string>) => Promise<Outcome> {
  return async (spec, attempt, headers) => {
    const url = buildUrl(options.baseUrl(), spec);
    const info = { method: spec.method, path: spec.path, organizationId: spec.organizationId ?? undefined, attempt };
    options.hooks.onRequest?.(info);
    const started = options.clock.now();
    const controller = new AbortController();
    const onCallerAbort = (): void => controller.abort(spec.signal?.reason);
    spec.signal?.addEventListener('abort', onCallerAbort, { once: true });
    let timedOut = false;
    const timer = options.clock.sleep(options.timeoutMs, controller.signal).then(
      () => {
        timedOut = true;
        controller.abort(new Error('timeout'));
      },
      () => undefined,
    );
    let outcome: Outcome;
    try {
      const init: RequestInit = { method: spec.method, headers: { accept: 'application/json', ...headers }, signal: controller.signal };
      if (spec.body !== undefined) {
        init.body = JSON.stringify(spec.body);
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
      const response = await options.fetch(url, init);
      const text = await response.text();
      let body: unknown = text;
      try {
        body = text === '' ? {} : JSON.parse(text);
      } catch {
        // not JSON (a proxy's error page): keep the text
      }
      outcome = { kind: 'response', status: response.status, headers: response.headers, body, text };
    } catch (error) {
      if (spec.signal?.aborted) throw spec.signal.reason;
      if (timedOut) outcome = { kind: 'timeout', afterMs: options.timeoutMs };
      else {
        const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;
        outcome = { kind: 'network', error, sent: !(code !== undefined && NOT_SENT.has(code)) };
      }
    } finally {
      spec.signal?.removeEventListener('abort', onCallerAbort);
      controller.abort();
      await timer;
    }
    options.hooks.onResponse?.({
      ...info,
      status: outcome.kind === 'response' ? outcome.status : 0,
      code: outcomeCode(outcome),
      durationMs: options.clock.now() - started,
      outcome: outcome.kind,
    });
    return outcome;
  };
}

/** Auth: adds the access token; on a 57 with a refreshable token, refreshes once and resends. */
export function withAuth(
  transport: (spec: RequestSpec, attempt: number, headers: Record<string, string>) => Promise<Outcome>,
  tokens: TokenManager,
): Send {
  return async (spec, attempt) => {
    const token = await tokens.getAccessToken(spec.signal);
    const outcome = await transport(spec, attempt, { authorization: `Zoho-oauthtoken ${token}` });
    if (tokens.canRefresh && outcome.kind === 'response' && outcomeCode(outcome) === ZohoCode.UNAUTHORIZED) {
      tokens.invalidate(token);
      const next = await tokens.getAccessToken(spec.signal);
      if (next !== token) return transport(spec, attempt, { authorization: `Zoho-oauthtoken ${next}` });
    }
    return outcome;
  };
}

/** Limits: one slot per attempt for the request's organization; 44 pauses it, 45 closes it for the day. */
export function withLimiter(next: Send, limiter: Limiter, clock: Clock, hooks: ClientHooks): Send {
  return async (spec, attempt) => {
    const organization = spec.organizationId;
    if (organization === null) return next(spec, attempt);
    const asked = clock.now();
    const permit = await limiter.acquire(organization, spec.signal);
    const waited = clock.now() - asked;
    if (waited > 0) hooks.onThrottle?.({ organizationId: organization, waitedMs: waited });
    let outcome: Outcome | undefined;
    try {
      outcome = await next(spec, attempt);
      return outcome;
    } finally {
      permit.release(outcome?.kind === 'response' ? outcome.headers : undefined);
      if (outcome?.kind === 'response') {
        const code = outcomeCode(outcome);
        if (code === ZohoCode.RATE_LIMITED) limiter.pause(organization);
        if (code === ZohoCode.QUOTA_EXHAUSTED) limiter.exhausted(organization, quotaResetAt(outcome.headers, clock.now()));
      }
    }
  };
}

/** Retry: the ordered rule in retry.ts, with its backoff slept on the injected clock. */
export function withRetry(next: Send, options: ResolvedRetryOptions, clock: Clock, random: () => number, hooks: ClientHooks): Send {
  return async (spec) => {
    const idempotent = spec.idempotent ?? spec.method !== 'POST';
    let uncertain = false;
    for (let attempt = 1; ; attempt++) {
      const outcome = await next(spec, attempt);
      const decision = shouldRetry(attempt, outcome, { idempotent }, options, random);
      if (!decision.retry) return uncertain && outcome.kind === 'response' ? { ...outcome, afterUncertainAttempt: true } : outcome;
      // Did this attempt perhaps take effect although it failed? Then a later "already so" may be its doing.
      if ((outcome.kind === 'network' && outcome.sent) || outcome.kind === 'timeout' || (outcome.kind === 'response' && outcome.status >= 500)) uncertain = true;
      hooks.onRetry?.({ method: spec.method, path: spec.path, organizationId: spec.organizationId ?? undefined, attempt, delayMs: decision.delayMs, reason: decision.reason });
      if (decision.delayMs > 0) await clock.sleep(decision.delayMs, spec.signal);
    }
  };
}

export interface Requester {
  /** Sends with auth, limits and retries; returns the parsed body of a success, throws a ZohoError otherwise. */
  request<T>(spec: RequestSpec): Promise<T>;
  /** Like `request`, but returns the final outcome whatever it is (for callers that interpret codes themselves). */
  send(spec: RequestSpec): Promise<Outcome>;
}

export function createRequester(send: Send, baseUrl: () => string, clock: Clock): Requester {
  const run = async (spec: RequestSpec): Promise<Outcome> => {
    if (spec.organizationId !== null && !isOrganizationId(spec.organizationId)) {
      throw new ConfigurationError(`The organization id must be Zoho's numeric id as a string, e.g. "10234695" (got ${JSON.stringify(spec.organizationId)}).`);
    }
    return send(spec, 1);
  };
  return {
    send: run,
    async request<T>(spec: RequestSpec): Promise<T> {
      let outcome: Outcome;
      try {
        outcome = await run(spec);
      } catch (error) {
        // The limiter refuses before a request exists; give the error the request it stood for.
        if (error instanceof QuotaExhaustedError && error.request === undefined) {
          throw new QuotaExhaustedError(error.message, {
            organizationId: error.organizationId, resetAt: error.resetAt, local: error.local, request: redact(spec.method, buildUrl(baseUrl(), spec)),
          });
        }
        throw error;
      }
      if (isSuccess(outcome)) return (outcome as { body: unknown }).body as T;
      throw errorFromOutcome(outcome, {
        request: redact(spec.method, buildUrl(baseUrl(), spec)),
        organizationId: spec.organizationId ?? undefined,
        statusAction: spec.statusAction,
        now: clock.now(),
      });
    },
  };
}
