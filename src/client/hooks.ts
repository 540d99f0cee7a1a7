/** Hooks for observing every request, retry and token refresh (the CLI's progress and the benchmarks use them). */

export interface RequestInfo {
  method: string;
  /** Path under the Books base URL, without the query string. */
  path: string;
  organizationId: string | undefined;
  attempt: number;
}

export interface ResponseInfo extends RequestInfo {
  /** HTTP status, or 0 for a network error or timeout. */
  status: number;
  /** Zoho code, when the body had one. */
  code: number | undefined;
  durationMs: number;
  outcome: 'response' | 'network' | 'timeout';
}

export interface RetryInfo extends RequestInfo {
  delayMs: number;
  reason: string;
}

export interface ClientHooks {
  onRequest?(info: RequestInfo): void;
  onResponse?(info: ResponseInfo): void;
  onRetry?(info: RetryInfo): void;
  onRefresh?(info: { ok: boolean; error?: string }): void;
  /** The refresh limit is reached; the client waits this long before refreshing. */
  onRefreshWait?(info: { waitMs: number }): void;
  /** The limiter held a request back (per-minute window, in-flight cap or a 44 pause). */
  onThrottle?(info: { organizationId: string; waitedMs: number }): void;
}
