/** The emulator's request log (`GET /__emulator/requests`): a bounded ring of what it answered. */

export interface RequestLogEntry {
  seq: number;
  /** Emulated time, ISO 8601. */
  time: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /**
   * HTTP status; 0 when a `drop` fault closed the connection before handling. After a
   * `drop-answer` fault, the status the request was handled with (see answer_dropped).
   */
  status: number;
  /** Zoho `code` of the body, when it had one. */
  code: number | null;
  organization_id: string | null;
  duration_ms: number;
  /** The fault rule that shaped this answer, if any. */
  fault: string | null;
  /** The request was handled (status and code say how) but the connection was dropped instead of answering. */
  answer_dropped: boolean;
}

export interface RequestLogQuery {
  since?: number;
  limit?: number;
  method?: string;
  pathPrefix?: string;
}

const SECRET_PARAMS = new Set(['client_secret', 'refresh_token', 'code', 'token', 'access_token', 'password']);

/** Query parameters as a plain object, with secrets replaced. */
export function redactQuery(query: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of query) out[key] = SECRET_PARAMS.has(key) ? '[redacted]' : value;
  return out;
}

/** What the pipeline records per request; formatted (ISO time, redacted query) only when read. */
export interface RawLogEntry {
  timeMs: number;
  method: string;
  path: string;
  query: URLSearchParams;
  status: number;
  code: number | null;
  organization_id: string | null;
  duration_ms: number;
  fault: string | null;
  answer_dropped: boolean;
}

export interface RequestLog {
  add(entry: RawLogEntry): void;
  query(q: RequestLogQuery): { requests: RequestLogEntry[]; next_seq: number; dropped: number };
  clear(): void;
}

function format(seq: number, e: RawLogEntry): RequestLogEntry {
  return {
    seq, time: new Date(e.timeMs).toISOString(), method: e.method, path: e.path, query: redactQuery(e.query),
    status: e.status, code: e.code, organization_id: e.organization_id, duration_ms: e.duration_ms, fault: e.fault,
    answer_dropped: e.answer_dropped,
  };
}

export function createRequestLog(capacity: number): RequestLog {
  let entries: Array<RawLogEntry & { seq: number }> = [];
  let start = 0;
  let seq = 0;
  let dropped = 0;
  return {
    add(entry) {
      seq++;
      entries.push({ seq, ...entry });
      if (entries.length - start > capacity) {
        start++;
        dropped++;
        if (start > 4096 && start * 2 > entries.length) {
          entries = entries.slice(start);
          start = 0;
        }
      }
    },
    query(q) {
      const limit = Math.min(Math.max(q.limit ?? 1000, 1), 100_000);
      const out: RequestLogEntry[] = [];
      // Sequence numbers are consecutive: jump straight to the first entry after `since`.
      let from = start;
      if (q.since !== undefined && entries.length > start) from = Math.max(start, start + (q.since - entries[start]!.seq) + 1);
      for (let i = from; i < entries.length && out.length < limit; i++) {
        const e = entries[i]!;
        if (q.since !== undefined && e.seq <= q.since) continue;
        if (q.method && e.method !== q.method) continue;
        if (q.pathPrefix && !e.path.startsWith(q.pathPrefix)) continue;
        out.push(format(e.seq, e));
      }
      return { requests: out, next_seq: seq, dropped };
    },
    clear() {
      entries = [];
      start = 0;
      dropped = 0;
    },
  };
}
