/**
 * One error hierarchy, built by one factory (`errorFromOutcome`) from the Zoho code table in
 * src/zoho/errors.ts. Every error carries a `kind`, the HTTP status and Zoho code when there was a
 * response, the organization, a redacted request (never a token or secret), and `retryable`.
 */
import { zohoErrorRow, ZohoCode } from '../zoho/index.js';

export type ZohoErrorKind =
  | 'not_found'
  | 'unauthorized'
  | 'invalid_organization'
  | 'rate_limited'
  | 'quota_exhausted'
  | 'method_not_allowed'
  | 'already_in_state'
  | 'validation'
  | 'server'
  | 'network'
  | 'timeout'
  | 'auth'
  | 'configuration';

/** What an error says about the request that caused it. No headers, no body, no secrets. */
export interface RedactedRequest {
  method: string;
  /** The URL without credentials; query parameters that carry secrets are replaced. */
  url: string;
}

export interface ZohoErrorDetails {
  status?: number;
  code?: number;
  organizationId?: string;
  request?: RedactedRequest;
  retryable?: boolean;
  cause?: unknown;
}

export class ZohoError extends Error {
  readonly kind: ZohoErrorKind;
  readonly status: number | undefined;
  readonly code: number | undefined;
  readonly organizationId: string | undefined;
  readonly request: RedactedRequest | undefined;
  readonly retryable: boolean;

  constructor(kind: ZohoErrorKind, message: string, details: ZohoErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ZohoError';
    this.kind = kind;
    this.status = details.status;
    this.code = details.code;
    this.organizationId = details.organizationId;
    this.request = details.request;
    this.retryable = details.retryable ?? false;
  }
}

export class NotFoundError extends ZohoError {
  constructor(message: string, details: ZohoErrorDetails = {}) {
    super('not_found', message, details);
    this.name = 'NotFoundError';
  }
}
export class UnauthorizedError extends ZohoError {
  constructor(message: string, details: ZohoErrorDetails = {}) {
    super('unauthorized', message, details);
    this.name = 'UnauthorizedError';
  }
}
export class InvalidOrganizationError extends ZohoError {
  constructor(message: string, details: ZohoErrorDetails = {}) {
    super('invalid_organization', message, details);
    this.name = 'InvalidOrganizationError';
  }
}
export class RateLimitedError extends ZohoError {
  constructor(message: string, details: ZohoErrorDetails = {}) {
    super('rate_limited', message, { retryable: true, ...details });
    this.name = 'RateLimitedError';
  }
}
export class QuotaExhaustedError extends ZohoError {
  /** When the daily quota resets (epoch ms), if Zoho said. */
  readonly resetAt: number | undefined;
  /** True when the client refused locally to keep the configured headroom. */
  readonly local: boolean;
  constructor(message: string, details: ZohoErrorDetails & { resetAt?: number; local?: boolean } = {}) {
    super('quota_exhausted', message, { retryable: false, ...details });
    this.name = 'QuotaExhaustedError';
    this.resetAt = details.resetAt;
    this.local = details.local ?? false;
  }
}
export class MethodNotAllowedError extends ZohoError {
  constructor(message: string, details: ZohoErrorDetails = {}) {
    super('method_not_allowed', message, details);
    this.name = 'MethodNotAllowedError';
  }
}
/** 3031 / 3032: the contact is already in the requested state. The status methods turn it into `unchanged`. */
export class AlreadyInStateError extends ZohoError {
  /** An earlier attempt of this call ended without a clear answer, so it may be what changed the state. */
  readonly afterUncertainAttempt: boolean;
  constructor(message: string, details: ZohoErrorDetails & { afterUncertainAttempt?: boolean } = {}) {
    super('already_in_state', message, details);
    this.name = 'AlreadyInStateError';
    this.afterUncertainAttempt = details.afterUncertainAttempt ?? false;
  }
}
export class ValidationError extends ZohoError {
  constructor(message: string, details: ZohoErrorDetails = {}) {
    super('validation', message, details);
    this.name = 'ValidationError';
  }
}
export class ServerError extends ZohoError {
  constructor(message: string, details: ZohoErrorDetails = {}) {
    super('server', message, { retryable: true, ...details });
    this.name = 'ServerError';
  }
}
export class NetworkError extends ZohoError {
  constructor(message: string, details: ZohoErrorDetails = {}) {
    super('network', message, { retryable: true, ...details });
    this.name = 'NetworkError';
  }
}
export class TimeoutError extends ZohoError {
  constructor(message: string, details: ZohoErrorDetails = {}) {
    super('timeout', message, { retryable: true, ...details });
    this.name = 'TimeoutError';
  }
}
/** The accounts server refused: a bad or revoked code or refresh token, a wrong client, throttling. */
export class AuthError extends ZohoError {
  /** Zoho's `error` string (`invalid_code`, `invalid_client`, `Access Denied`, ...). */
  readonly oauthError: string;
  constructor(message: string, oauthError: string, details: ZohoErrorDetails = {}) {
    super('auth', message, details);
    this.name = 'AuthError';
    this.oauthError = oauthError;
  }
}
export class ConfigurationError extends ZohoError {
  constructor(message: string) {
    super('configuration', message);
    this.name = 'ConfigurationError';
  }
}

/** What came back from one attempt. */
export type Outcome =
  | {
      kind: 'response'; status: number; headers: Headers; body: unknown; text: string;
      /** An earlier attempt of the same call ended without a clear answer (network, timeout, 5xx): it may have taken effect. */
      afterUncertainAttempt?: boolean;
    }
  | { kind: 'network'; error: unknown; /** false when the request surely never reached the server */ sent: boolean }
  | { kind: 'timeout'; afterMs: number };

export interface ErrorContext {
  request: RedactedRequest;
  organizationId?: string;
  /** Code 2 on a status action means the contact does not exist (reference §9). */
  statusAction?: boolean;
  now: number;
}

function zohoCode(body: unknown): number | undefined {
  if (typeof body === 'object' && body !== null && typeof (body as { code?: unknown }).code === 'number') {
    return (body as { code: number }).code;
  }
  return undefined;
}

function zohoMessage(body: unknown, fallback: string): string {
  if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return fallback;
}

/** The Zoho code of a response outcome, if its body carried one. */
export function outcomeCode(outcome: Outcome): number | undefined {
  return outcome.kind === 'response' ? zohoCode(outcome.body) : undefined;
}

/** True for a response that is a success (`code: 0`, or a 2xx without a code). */
export function isSuccess(outcome: Outcome): boolean {
  if (outcome.kind !== 'response') return false;
  const code = zohoCode(outcome.body);
  return outcome.status >= 200 && outcome.status < 300 && (code === undefined || code === 0);
}

/** Seconds-until-reset header → epoch ms. */
export function quotaResetAt(headers: Headers, now: number): number | undefined {
  const reset = headers.get('x-rate-limit-reset');
  if (reset === null || !/^\d+$/.test(reset)) return undefined;
  return now + Number(reset) * 1000;
}

/** The one factory: any failed outcome → the right typed error. */
export function errorFromOutcome(outcome: Outcome, ctx: ErrorContext): ZohoError {
  const base = { request: ctx.request, organizationId: ctx.organizationId };
  const where = `${ctx.request.method} ${ctx.request.url}`;
  if (outcome.kind === 'network') {
    const cause = outcome.error as { message?: string; cause?: { code?: string; message?: string } };
    const detail = cause?.cause?.code ?? cause?.cause?.message ?? cause?.message ?? 'connection failed';
    return new NetworkError(`Network error on ${where}: ${detail}`, { ...base, cause: outcome.error });
  }
  if (outcome.kind === 'timeout') {
    return new TimeoutError(`No answer from Zoho within ${outcome.afterMs} ms on ${where}`, base);
  }
  const { status, body, headers } = outcome;
  const code = zohoCode(body);
  const details = { ...base, status, code };
  const message = zohoMessage(body, code === undefined ? `HTTP ${status} from Zoho` : `Zoho code ${code}`);
  const text = `${message} (HTTP ${status}${code === undefined ? '' : `, code ${code}`}) on ${where}`;
  if (code === ZohoCode.INVALID_VALUE && ctx.statusAction) return new NotFoundError(text, details);
  const row = code === undefined ? undefined : zohoErrorRow(code);
  switch (row?.kind) {
    case 'not_found':
      return new NotFoundError(text, details);
    case 'unauthenticated':
    case 'unauthorized':
      return new UnauthorizedError(text, details);
    case 'invalid_organization':
      return new InvalidOrganizationError(text, details);
    case 'rate_limited':
    case 'too_many_in_flight':
      return new RateLimitedError(text, details);
    case 'quota_exhausted':
      return new QuotaExhaustedError(text, { ...details, resetAt: quotaResetAt(headers, ctx.now) });
    case 'method_not_allowed':
      return new MethodNotAllowedError(text, details);
    case 'already_active':
    case 'already_inactive':
      return new AlreadyInStateError(text, { ...details, afterUncertainAttempt: outcome.afterUncertainAttempt === true });
    case 'internal':
      return new ServerError(text, details);
    case 'invalid_value':
    case 'has_transactions':
    case 'contact_inactive':
    case 'duplicate_name':
    case 'invalid_url':
      return new ValidationError(text, details);
    case undefined:
      break;
  }
  if (status === 401) return new UnauthorizedError(text, details);
  if (status === 404) return new NotFoundError(text, details);
  if (status === 405) return new MethodNotAllowedError(text, details);
  if (status === 429) return new RateLimitedError(text, details);
  if (status >= 500) return new ServerError(text, details);
  return new ValidationError(text, details);
}
