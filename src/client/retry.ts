/**
 * Retries as one ordered, pure rule. Network errors, timeouts, 429 and 5xx are retried with capped,
 * jittered exponential backoff; 4xx are not. A request that is not idempotent (a create) is
 * retried only when it surely did not take effect: it never left (connection refused), or Zoho
 * refused it before processing (429, 502–504).
 */
import { ZohoCode } from '../zoho/index.js';
import { isSuccess, outcomeCode, type Outcome } from './errors.js';

export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  maxAttempts?: number;
  /** First backoff step (default 500 ms). */
  baseDelayMs?: number;
  /** Largest backoff (default 30 s). */
  maxDelayMs?: number;
}

export type ResolvedRetryOptions = Required<RetryOptions>;

export const DEFAULT_RETRY: ResolvedRetryOptions = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 };

export type RetryDecision =
  | { retry: false; reason: string }
  | { retry: true; delayMs: number; reason: string };

/** Capped exponential backoff with equal jitter: half fixed, half random. */
export function backoffDelay(attempt: number, options: ResolvedRetryOptions, random: () => number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Should attempt number `attempt` (1-based) be followed by another?
 * The rules, first match wins:
 * 1. success → stop;  2. attempts used up → stop;
 * 3. quota exhausted (45) → stop (the caller must wait for the daily reset);
 * 4. per-minute limit (44) → retry at once: the limiter holds the next attempt until the window reopens;
 * 5. other 429 (1070 in flight, or no code) → retry after backoff;
 * 6. network error → retry if idempotent or it never reached Zoho;  7. timeout → retry if idempotent;
 * 8. 502/503/504 → retry;  9. other 5xx → retry if idempotent;
 * 10. anything else (4xx) → stop.
 */
export function shouldRetry(
  attempt: number,
  outcome: Outcome,
  request: { idempotent: boolean },
  options: ResolvedRetryOptions,
  random: () => number,
): RetryDecision {
  if (isSuccess(outcome)) return { retry: false, reason: 'success' };
  if (attempt >= options.maxAttempts) return { retry: false, reason: `gave up after ${attempt} attempts` };
  const backoff = (reason: string): RetryDecision => ({ retry: true, delayMs: backoffDelay(attempt, options, random), reason });
  if (outcome.kind === 'network') {
    if (request.idempotent || !outcome.sent) return backoff('network error');
    return { retry: false, reason: 'network error on a request that may have reached Zoho and is not safe to repeat' };
  }
  if (outcome.kind === 'timeout') {
    return request.idempotent ? backoff('timeout') : { retry: false, reason: 'timeout on a request that is not safe to repeat' };
  }
  const code = outcomeCode(outcome);
  if (code === ZohoCode.QUOTA_EXHAUSTED) return { retry: false, reason: 'daily quota exhausted' };
  if (code === ZohoCode.RATE_LIMITED) return { retry: true, delayMs: 0, reason: 'per-minute limit: wait for the next window' };
  if (outcome.status === 429) return backoff(code === ZohoCode.TOO_MANY_IN_FLIGHT ? 'too many requests in flight' : 'HTTP 429');
  if (outcome.status === 502 || outcome.status === 503 || outcome.status === 504) return backoff(`HTTP ${outcome.status}`);
  if (outcome.status >= 500) {
    return request.idempotent ? backoff(`HTTP ${outcome.status}`) : { retry: false, reason: `HTTP ${outcome.status} on a request that is not safe to repeat` };
  }
  return { retry: false, reason: `HTTP ${outcome.status}${code === undefined ? '' : ` code ${code}`} is not retryable` };
}
