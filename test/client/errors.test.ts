/**
 * The one error factory (`errorFromOutcome`, src/client/errors.ts) over every row of the Zoho code
 * table (src/zoho/errors.ts), the status-action rule for code 2, unknown codes, non-JSON bodies,
 * network errors and timeouts; and the redaction of the request each error carries.
 */
import { describe, expect, it } from 'vitest';
import {
  AlreadyInStateError, AuthError, ConfigurationError, errorFromOutcome, InvalidOrganizationError, isSuccess, MethodNotAllowedError,
  NetworkError, NotFoundError, outcomeCode, QuotaExhaustedError, quotaResetAt, RateLimitedError, ServerError, TimeoutError,
  UnauthorizedError, ValidationError, ZohoError, type Outcome, type ZohoErrorKind,
} from '../../src/client/index.js';
import { buildUrl, redact } from '../../src/client/request.js';
import { ZOHO_ERRORS } from '../../src/zoho/index.js';
import { networkError } from '../helpers/scripted-fetch.js';

const ORG = '10234695';
const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);
const URL_TEXT = `https://www.zohoapis.com/books/v3/contacts/460000000026049?organization_id=${ORG}`;
const REQUEST = { method: 'GET', url: URL_TEXT };
const CTX = { request: REQUEST, organizationId: ORG, now: NOW };

function response(status: number, body: unknown, headers: Record<string, string> = {}): Outcome {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { kind: 'response', status, headers: new Headers(headers), body, text };
}

type ErrorClass = new (...args: never[]) => ZohoError;

/** What each code of the table must become. */
const EXPECTED: Record<number, { cls: ErrorClass; kind: ZohoErrorKind }> = {
  2: { cls: ValidationError, kind: 'validation' },
  14: { cls: UnauthorizedError, kind: 'unauthorized' },
  57: { cls: UnauthorizedError, kind: 'unauthorized' },
  5: { cls: ValidationError, kind: 'validation' },
  1002: { cls: NotFoundError, kind: 'not_found' },
  37: { cls: MethodNotAllowedError, kind: 'method_not_allowed' },
  3031: { cls: AlreadyInStateError, kind: 'already_in_state' },
  3032: { cls: AlreadyInStateError, kind: 'already_in_state' },
  6024: { cls: InvalidOrganizationError, kind: 'invalid_organization' },
  6041: { cls: InvalidOrganizationError, kind: 'invalid_organization' },
  1071: { cls: ValidationError, kind: 'validation' },
  1072: { cls: ValidationError, kind: 'validation' },
  3062: { cls: ValidationError, kind: 'validation' },
  44: { cls: RateLimitedError, kind: 'rate_limited' },
  45: { cls: QuotaExhaustedError, kind: 'quota_exhausted' },
  1070: { cls: RateLimitedError, kind: 'rate_limited' },
  1000: { cls: ServerError, kind: 'server' },
};

describe('errorFromOutcome over the code table', () => {
  it('covers every row of src/zoho/errors.ts (a new row needs a decision here)', () => {
    expect(ZOHO_ERRORS.map((row) => row.code).sort((a, b) => a - b)).toEqual(Object.keys(EXPECTED).map(Number).sort((a, b) => a - b));
  });

  for (const row of ZOHO_ERRORS) {
    it(`code ${row.code} (HTTP ${row.httpStatus}, ${row.kind})`, () => {
      const expected = EXPECTED[row.code];
      expect(expected).toBeDefined();
      const error = errorFromOutcome(response(row.httpStatus, { code: row.code, message: row.message }), CTX);
      expect(error).toBeInstanceOf(expected?.cls as ErrorClass);
      expect(error).toBeInstanceOf(ZohoError);
      expect(error).toBeInstanceOf(Error);
      expect(error.kind).toBe(expected?.kind);
      expect(error.name).toBe((expected?.cls as ErrorClass).name);
      expect(error.status).toBe(row.httpStatus);
      expect(error.code).toBe(row.code);
      expect(error.organizationId).toBe(ORG);
      expect(error.request).toEqual(REQUEST);
      expect(error.retryable).toBe(row.retryable);
      expect(error.message).toBe(`${row.message} (HTTP ${row.httpStatus}, code ${row.code}) on GET ${URL_TEXT}`);
    });
  }

  it('45 carries the reset time from X-Rate-Limit-Reset and is not local', () => {
    const error = errorFromOutcome(response(429, { code: 45, message: 'quota' }, { 'x-rate-limit-reset': '3600' }), CTX) as QuotaExhaustedError;
    expect(error.resetAt).toBe(NOW + 3_600_000);
    expect(error.local).toBe(false);
    const without = errorFromOutcome(response(429, { code: 45, message: 'quota' }), CTX) as QuotaExhaustedError;
    expect(without.resetAt).toBeUndefined();
  });

  it('classifies by the code even when the HTTP status disagrees (a non-zero code is an error)', () => {
    const error = errorFromOutcome(response(200, { code: 1002, message: 'Contact does not exist.' }), CTX);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.status).toBe(200);
  });
});

describe('code 2 depends on the endpoint', () => {
  it('on a status action (/active, /inactive) it is NotFoundError', () => {
    const request = { method: 'POST', url: `https://www.zohoapis.com/books/v3/contacts/460000000026049/inactive?organization_id=${ORG}` };
    const error = errorFromOutcome(response(400, { code: 2, message: 'Invalid value passed for contact_id' }), { ...CTX, request, statusAction: true });
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.kind).toBe('not_found');
    expect(error.status).toBe(400);
    expect(error.code).toBe(2);
    expect(error.retryable).toBe(false);
    expect(error.request).toEqual(request);
  });
  it('elsewhere it is ValidationError', () => {
    const error = errorFromOutcome(response(400, { code: 2, message: 'Invalid value passed for per_page' }), { ...CTX, statusAction: false });
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.kind).toBe('validation');
  });
  it('1002 on a status action is also NotFoundError, and 3032 stays AlreadyInStateError', () => {
    expect(errorFromOutcome(response(404, { code: 1002, message: 'x' }), { ...CTX, statusAction: true })).toBeInstanceOf(NotFoundError);
    expect(errorFromOutcome(response(400, { code: 3032, message: 'x' }), { ...CTX, statusAction: true })).toBeInstanceOf(AlreadyInStateError);
  });
});

describe('codes the table does not know fall back on the HTTP status', () => {
  const cases: Array<[number, ErrorClass, ZohoErrorKind, boolean]> = [
    [400, ValidationError, 'validation', false],
    [401, UnauthorizedError, 'unauthorized', false],
    [404, NotFoundError, 'not_found', false],
    [405, MethodNotAllowedError, 'method_not_allowed', false],
    [409, ValidationError, 'validation', false],
    [429, RateLimitedError, 'rate_limited', true],
    [500, ServerError, 'server', true],
    [503, ServerError, 'server', true],
  ];
  for (const [status, cls, kind, retryable] of cases) {
    it(`unknown code 9999 with HTTP ${status} → ${cls.name}`, () => {
      const error = errorFromOutcome(response(status, { code: 9999, message: 'Something new' }), CTX);
      expect(error).toBeInstanceOf(cls);
      expect(error.kind).toBe(kind);
      expect(error.status).toBe(status);
      expect(error.code).toBe(9999);
      expect(error.retryable).toBe(retryable);
      expect(error.organizationId).toBe(ORG);
      expect(error.request).toEqual(REQUEST);
      expect(error.message).toBe(`Something new (HTTP ${status}, code 9999) on GET ${URL_TEXT}`);
    });
  }
});

describe('bodies that are not Zoho JSON', () => {
  it('an HTML 503 from a proxy is a retryable ServerError without a code', () => {
    const error = errorFromOutcome(response(503, '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>'), CTX);
    expect(error).toBeInstanceOf(ServerError);
    expect(error.status).toBe(503);
    expect(error.code).toBeUndefined();
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(`HTTP 503 from Zoho (HTTP 503) on GET ${URL_TEXT}`);
  });
  it('an HTML 502 is a ServerError, an HTML 404 a NotFoundError, an empty 500 a ServerError', () => {
    expect(errorFromOutcome(response(502, '<html>Bad Gateway</html>'), CTX)).toBeInstanceOf(ServerError);
    expect(errorFromOutcome(response(404, '<html>Not Found</html>'), CTX)).toBeInstanceOf(NotFoundError);
    const empty = errorFromOutcome({ kind: 'response', status: 500, headers: new Headers(), body: {}, text: '' }, CTX);
    expect(empty).toBeInstanceOf(ServerError);
    expect(empty.code).toBeUndefined();
  });
  it('a JSON body whose code is not a number counts as no code', () => {
    const error = errorFromOutcome(response(400, { code: '2', message: 'odd' }), CTX);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.code).toBeUndefined();
  });
});

describe('network errors and timeouts', () => {
  it('a network outcome is a retryable NetworkError naming the socket error, with the cause kept', () => {
    const cause = networkError('ECONNRESET');
    const error = errorFromOutcome({ kind: 'network', error: cause, sent: true }, CTX);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.kind).toBe('network');
    expect(error.status).toBeUndefined();
    expect(error.code).toBeUndefined();
    expect(error.organizationId).toBe(ORG);
    expect(error.request).toEqual(REQUEST);
    expect(error.retryable).toBe(true);
    expect(error.cause).toBe(cause);
    expect(error.message).toBe(`Network error on GET ${URL_TEXT}: ECONNRESET`);
  });
  it('ECONNREFUSED is named too', () => {
    expect(errorFromOutcome({ kind: 'network', error: networkError('ECONNREFUSED'), sent: false }, CTX).message).toBe(`Network error on GET ${URL_TEXT}: ECONNREFUSED`);
  });
  it('a timeout outcome is a retryable TimeoutError that says how long it waited', () => {
    const error = errorFromOutcome({ kind: 'timeout', afterMs: 30_000 }, CTX);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.kind).toBe('timeout');
    expect(error.status).toBeUndefined();
    expect(error.retryable).toBe(true);
    expect(error.organizationId).toBe(ORG);
    expect(error.request).toEqual(REQUEST);
    expect(error.message).toBe(`No answer from Zoho within 30000 ms on GET ${URL_TEXT}`);
  });
});

describe('redaction', () => {
  const SECRETS = ['s3cr3t-client', '1000.refresh.abcdef', 'the-grant-code', '1000.access.xyz', 'revoke-me', 'hunter2'];

  it('redact() replaces secret query parameters and drops URL credentials', () => {
    const url = new URL(
      `https://admin:hunter2@www.zohoapis.com/books/v3/contacts?organization_id=${ORG}&client_secret=s3cr3t-client&refresh_token=1000.refresh.abcdef&code=the-grant-code&access_token=1000.access.xyz&token=revoke-me&page=2`,
    );
    const redacted = redact('GET', url);
    expect(redacted.method).toBe('GET');
    const clean = new URL(redacted.url);
    expect(clean.username).toBe('');
    expect(clean.password).toBe('');
    expect(clean.searchParams.get('organization_id')).toBe(ORG);
    expect(clean.searchParams.get('page')).toBe('2');
    for (const key of ['client_secret', 'refresh_token', 'code', 'access_token', 'token']) expect(clean.searchParams.get(key)).toBe('[redacted]');
    for (const secret of SECRETS) expect(redacted.url).not.toContain(secret);
  });

  it('an error built with a redacted request holds no secret in its URL, JSON or message', () => {
    const url = new URL(`https://admin:hunter2@www.zohoapis.com/books/v3/contacts?organization_id=${ORG}&access_token=1000.access.xyz&client_secret=s3cr3t-client`);
    const ctx = { request: redact('GET', url), organizationId: ORG, now: NOW };
    const outcomes: Outcome[] = [
      response(401, { code: 57, message: 'You are not authorized to perform this operation' }),
      response(503, '<html>down</html>'),
      { kind: 'network', error: networkError('ECONNRESET'), sent: true },
      { kind: 'timeout', afterMs: 1000 },
    ];
    for (const outcome of outcomes) {
      const error = errorFromOutcome(outcome, ctx);
      const texts = [error.request?.url ?? '', JSON.stringify(error), error.message];
      for (const text of texts) {
        for (const secret of SECRETS) expect(text).not.toContain(secret);
        expect(text.toLowerCase()).not.toContain('authorization');
        expect(text).not.toContain('Zoho-oauthtoken');
      }
      expect(JSON.parse(JSON.stringify(error))).toMatchObject({ kind: error.kind, organizationId: ORG, request: { method: 'GET' } });
    }
  });

  it('the request URL names the organization (buildUrl + redact)', () => {
    const url = buildUrl('https://www.zohoapis.com/books/v3', { method: 'POST', path: '/contacts/460000000026049/inactive', organizationId: ORG });
    expect(redact('POST', url)).toEqual({ method: 'POST', url: `https://www.zohoapis.com/books/v3/contacts/460000000026049/inactive?organization_id=${ORG}` });
    const account = buildUrl('https://www.zohoapis.com/books/v3', { method: 'GET', path: '/organizations', organizationId: null });
    expect(account.toString()).toBe('https://www.zohoapis.com/books/v3/organizations');
  });
});

describe('the hierarchy', () => {
  it('every error is a ZohoError with a kind; defaults for retryable follow the kind', () => {
    const cases: Array<[ZohoError, ZohoErrorKind, boolean]> = [
      [new NotFoundError('x'), 'not_found', false],
      [new UnauthorizedError('x'), 'unauthorized', false],
      [new InvalidOrganizationError('x'), 'invalid_organization', false],
      [new RateLimitedError('x'), 'rate_limited', true],
      [new QuotaExhaustedError('x'), 'quota_exhausted', false],
      [new MethodNotAllowedError('x'), 'method_not_allowed', false],
      [new AlreadyInStateError('x'), 'already_in_state', false],
      [new ValidationError('x'), 'validation', false],
      [new ServerError('x'), 'server', true],
      [new NetworkError('x'), 'network', true],
      [new TimeoutError('x'), 'timeout', true],
      [new AuthError('x', 'invalid_code'), 'auth', false],
      [new ConfigurationError('x'), 'configuration', false],
    ];
    for (const [error, kind, retryable] of cases) {
      expect(error).toBeInstanceOf(ZohoError);
      expect(error.kind).toBe(kind);
      expect(error.retryable).toBe(retryable);
    }
  });
});

describe('outcome helpers', () => {
  it('isSuccess: 2xx with code 0 or no code', () => {
    expect(isSuccess(response(200, { code: 0 }))).toBe(true);
    expect(isSuccess(response(201, { contact: {} }))).toBe(true);
    expect(isSuccess(response(200, { code: 57 }))).toBe(false);
    expect(isSuccess(response(400, { code: 0 }))).toBe(false);
    expect(isSuccess({ kind: 'timeout', afterMs: 1 })).toBe(false);
  });
  it('outcomeCode reads the numeric code', () => {
    expect(outcomeCode(response(429, { code: 44 }))).toBe(44);
    expect(outcomeCode(response(503, '<html/>'))).toBeUndefined();
    expect(outcomeCode({ kind: 'network', error: new Error('x'), sent: false })).toBeUndefined();
  });
  it('quotaResetAt accepts whole seconds only', () => {
    expect(quotaResetAt(new Headers({ 'x-rate-limit-reset': '60' }), NOW)).toBe(NOW + 60_000);
    expect(quotaResetAt(new Headers({ 'x-rate-limit-reset': '-5' }), NOW)).toBeUndefined();
    expect(quotaResetAt(new Headers({ 'x-rate-limit-reset': 'soon' }), NOW)).toBeUndefined();
    expect(quotaResetAt(new Headers(), NOW)).toBeUndefined();
  });
});
