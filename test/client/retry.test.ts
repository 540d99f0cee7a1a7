/**
 * The retry rule (src/client/retry.ts): `shouldRetry` is pure and ordered, `backoffDelay` is capped
 * exponential backoff with equal jitter. Randomness is injected; nothing sleeps.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, shouldRetry } from '../../src/client/index.js';
import type { Outcome } from '../../src/client/errors.js';
import { networkError, sequenceRandom } from '../helpers/scripted-fetch.js';

const OPTS = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 };
const IDEMPOTENT = { idempotent: true };
const NOT_IDEMPOTENT = { idempotent: false };

function response(status: number, body: unknown = {}, headers: Record<string, string> = {}): Outcome {
  return { kind: 'response', status, headers: new Headers(headers), body, text: typeof body === 'string' ? body : JSON.stringify(body) };
}
const zoho = (status: number, code: number): Outcome => response(status, { code, message: `code ${code}` });
const network = (code: 'ECONNRESET' | 'ECONNREFUSED', sent: boolean): Outcome => ({ kind: 'network', error: networkError(code), sent });
const timeout: Outcome = { kind: 'timeout', afterMs: 30_000 };

/** A random that fails the test if the rule consults it. */
const noRandom = (): number => {
  throw new Error('random() must not be called for this decision');
};

describe('DEFAULT_RETRY', () => {
  it('is 5 attempts, 500 ms first step, 30 s cap', () => {
    expect(DEFAULT_RETRY).toEqual({ maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 });
  });
});

describe('shouldRetry, rule 1: success stops', () => {
  it('stops on code 0 with 200', () => {
    expect(shouldRetry(1, zoho(200, 0), IDEMPOTENT, OPTS, noRandom)).toEqual({ retry: false, reason: 'success' });
  });
  it('stops on a 201 without a code', () => {
    expect(shouldRetry(1, response(201, { contact: {} }), NOT_IDEMPOTENT, OPTS, noRandom)).toEqual({ retry: false, reason: 'success' });
  });
  it('reports success even on the last attempt (success is checked before the attempt budget)', () => {
    expect(shouldRetry(5, zoho(200, 0), IDEMPOTENT, OPTS, noRandom)).toEqual({ retry: false, reason: 'success' });
  });
  it('a 200 with a non-zero code is not a success and is not retried', () => {
    expect(shouldRetry(1, zoho(200, 1002), IDEMPOTENT, OPTS, noRandom)).toEqual({ retry: false, reason: 'HTTP 200 code 1002 is not retryable' });
  });
});

describe('shouldRetry, rule 2: attempts used up', () => {
  it('stops a 503 on attempt 5 of 5 and retries it on attempt 4', () => {
    expect(shouldRetry(5, zoho(503, 1000), IDEMPOTENT, OPTS, noRandom)).toEqual({ retry: false, reason: 'gave up after 5 attempts' });
    expect(shouldRetry(4, zoho(503, 1000), IDEMPOTENT, OPTS, () => 0.5)).toEqual({ retry: true, delayMs: 3000, reason: 'HTTP 503' });
  });
  it('comes before the 44 rule: a 44 on the last attempt stops', () => {
    expect(shouldRetry(3, zoho(429, 44), IDEMPOTENT, { ...OPTS, maxAttempts: 3 }, noRandom)).toEqual({ retry: false, reason: 'gave up after 3 attempts' });
  });
  it('comes before the network rule', () => {
    expect(shouldRetry(2, network('ECONNREFUSED', false), IDEMPOTENT, { ...OPTS, maxAttempts: 2 }, noRandom)).toEqual({ retry: false, reason: 'gave up after 2 attempts' });
  });
  it('maxAttempts 1 never retries', () => {
    expect(shouldRetry(1, zoho(503, 1000), IDEMPOTENT, { ...OPTS, maxAttempts: 1 }, noRandom)).toEqual({ retry: false, reason: 'gave up after 1 attempts' });
  });
});

describe('shouldRetry, rule 3: quota exhausted (45) stops', () => {
  it('stops on 45 even for an idempotent request on the first attempt', () => {
    expect(shouldRetry(1, zoho(429, 45), IDEMPOTENT, OPTS, noRandom)).toEqual({ retry: false, reason: 'daily quota exhausted' });
  });
  it('stops on 45 whatever the HTTP status', () => {
    expect(shouldRetry(1, zoho(400, 45), NOT_IDEMPOTENT, OPTS, noRandom)).toEqual({ retry: false, reason: 'daily quota exhausted' });
  });
});

describe('shouldRetry, rule 4: per-minute limit (44) retries with delay 0', () => {
  it('retries at once, idempotent or not, without consulting random', () => {
    const expected = { retry: true, delayMs: 0, reason: 'per-minute limit: wait for the next window' };
    expect(shouldRetry(1, zoho(429, 44), IDEMPOTENT, OPTS, noRandom)).toEqual(expected);
    expect(shouldRetry(4, zoho(429, 44), NOT_IDEMPOTENT, OPTS, noRandom)).toEqual(expected);
  });
});

describe('shouldRetry, rule 5: other 429 back off', () => {
  it('1070 backs off with the attempt\'s jittered delay', () => {
    expect(shouldRetry(1, zoho(429, 1070), IDEMPOTENT, OPTS, () => 0.5)).toEqual({ retry: true, delayMs: 375, reason: 'too many requests in flight' });
    expect(shouldRetry(3, zoho(429, 1070), IDEMPOTENT, OPTS, () => 0)).toEqual({ retry: true, delayMs: 1000, reason: 'too many requests in flight' });
  });
  it('1070 is retried for a non-idempotent POST (Zoho refused it before processing)', () => {
    expect(shouldRetry(1, zoho(429, 1070), NOT_IDEMPOTENT, OPTS, () => 0.5)).toEqual({ retry: true, delayMs: 375, reason: 'too many requests in flight' });
  });
  it('a 429 without a code backs off', () => {
    expect(shouldRetry(2, response(429, '<html>Too Many Requests</html>'), NOT_IDEMPOTENT, OPTS, () => 0.5)).toEqual({ retry: true, delayMs: 750, reason: 'HTTP 429' });
  });
});

describe('shouldRetry, rule 6: network errors', () => {
  it('retries an idempotent request that may have been sent', () => {
    expect(shouldRetry(1, network('ECONNRESET', true), IDEMPOTENT, OPTS, () => 0.5)).toEqual({ retry: true, delayMs: 375, reason: 'network error' });
  });
  it('retries a non-idempotent POST that never left (connection refused)', () => {
    expect(shouldRetry(2, network('ECONNREFUSED', false), NOT_IDEMPOTENT, OPTS, () => 0)).toEqual({ retry: true, delayMs: 500, reason: 'network error' });
  });
  it('does not retry a non-idempotent POST that may have reached Zoho', () => {
    expect(shouldRetry(1, network('ECONNRESET', true), NOT_IDEMPOTENT, OPTS, noRandom)).toEqual({
      retry: false,
      reason: 'network error on a request that may have reached Zoho and is not safe to repeat',
    });
  });
});

describe('shouldRetry, rule 7: timeouts', () => {
  it('retries an idempotent request', () => {
    expect(shouldRetry(1, timeout, IDEMPOTENT, OPTS, () => 0.5)).toEqual({ retry: true, delayMs: 375, reason: 'timeout' });
  });
  it('does not retry a non-idempotent one', () => {
    expect(shouldRetry(1, timeout, NOT_IDEMPOTENT, OPTS, noRandom)).toEqual({ retry: false, reason: 'timeout on a request that is not safe to repeat' });
  });
});

describe('shouldRetry, rule 8: 502/503/504 always', () => {
  for (const status of [502, 503, 504]) {
    it(`retries ${status} for idempotent and non-idempotent requests`, () => {
      expect(shouldRetry(1, response(status, '<html>Bad gateway</html>'), NOT_IDEMPOTENT, OPTS, () => 0.5)).toEqual({ retry: true, delayMs: 375, reason: `HTTP ${status}` });
      expect(shouldRetry(1, zoho(status, 1000), IDEMPOTENT, OPTS, () => 0.5)).toEqual({ retry: true, delayMs: 375, reason: `HTTP ${status}` });
    });
  }
});

describe('shouldRetry, rule 9: other 5xx only when idempotent', () => {
  it('retries a 500 (code 1000) for an idempotent request', () => {
    expect(shouldRetry(1, zoho(500, 1000), IDEMPOTENT, OPTS, () => 0.5)).toEqual({ retry: true, delayMs: 375, reason: 'HTTP 500' });
  });
  it('does not retry a 500 for a non-idempotent POST', () => {
    expect(shouldRetry(1, zoho(500, 1000), NOT_IDEMPOTENT, OPTS, noRandom)).toEqual({ retry: false, reason: 'HTTP 500 on a request that is not safe to repeat' });
  });
  it('treats 501 like 500', () => {
    expect(shouldRetry(1, response(501, ''), IDEMPOTENT, OPTS, () => 0.5)).toEqual({ retry: true, delayMs: 375, reason: 'HTTP 501' });
    expect(shouldRetry(1, response(501, ''), NOT_IDEMPOTENT, OPTS, noRandom)).toEqual({ retry: false, reason: 'HTTP 501 on a request that is not safe to repeat' });
  });
});

describe('shouldRetry, rule 10: 4xx never', () => {
  const cases: Array<[number, number | undefined]> = [
    [400, 2], [400, 3032], [400, 6024], [401, 14], [401, 57], [404, 1002], [404, 5], [405, 37], [409, undefined], [400, 1071],
  ];
  for (const [status, code] of cases) {
    it(`does not retry HTTP ${status}${code === undefined ? '' : ` code ${code}`}, even when idempotent`, () => {
      const outcome = code === undefined ? response(status, 'conflict') : zoho(status, code);
      expect(shouldRetry(1, outcome, IDEMPOTENT, OPTS, noRandom)).toEqual({
        retry: false,
        reason: `HTTP ${status}${code === undefined ? '' : ` code ${code}`} is not retryable`,
      });
    });
  }
});

describe('backoffDelay', () => {
  it('doubles from the base and is capped', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((attempt) => backoffDelay(attempt, OPTS, () => 1));
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });
  it('is half the ceiling with random 0 and three quarters with 0.5', () => {
    expect([1, 2, 3, 7, 30].map((a) => backoffDelay(a, OPTS, () => 0))).toEqual([250, 500, 1000, 15_000, 15_000]);
    expect([1, 2, 3, 7, 30].map((a) => backoffDelay(a, OPTS, () => 0.5))).toEqual([375, 750, 1500, 22_500, 22_500]);
  });
  it('uses the injected random for jitter (different draws, different delays)', () => {
    const random = sequenceRandom(0.1, 0.9);
    expect([backoffDelay(4, OPTS, random), backoffDelay(4, OPTS, random)]).toEqual([2200, 3800]);
  });
  it('respects custom base and cap', () => {
    const opts = { maxAttempts: 9, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, opts, () => 0.25))).toEqual([63, 125, 250, 500, 625, 625]);
  });
  it('is 0 when the base is 0', () => {
    expect(backoffDelay(3, { maxAttempts: 5, baseDelayMs: 0, maxDelayMs: 30_000 }, () => 0.7)).toBe(0);
  });
  it('always lies between ceiling/2 and ceiling, and never above maxDelayMs (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 120_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseDelayMs, maxDelayMs, r) => {
          const opts = { maxAttempts: 100, baseDelayMs, maxDelayMs };
          const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
          const delay = backoffDelay(attempt, opts, () => r);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
          expect(delay).toBeLessThanOrEqual(ceiling);
          expect(delay).toBeLessThanOrEqual(maxDelayMs);
        },
      ),
      { numRuns: 500, seed: 20261121 },
    );
  });
  it('shouldRetry\'s backoff is exactly backoffDelay for that attempt (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const decision = shouldRetry(attempt, zoho(503, 1000), IDEMPOTENT, OPTS, () => r);
        expect(decision).toEqual({ retry: true, delayMs: backoffDelay(attempt, OPTS, () => r), reason: 'HTTP 503' });
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
