/**
 * A scripted `fetch` for unit tests: answers from a queue or from a function of the request,
 * records every request (method, URL, headers, body), and can simulate network errors and
 * requests that never answer (until their signal aborts, like the real fetch). No sockets.
 */
import { flush, type FakeClock } from './fake-clock.js';

export interface RecordedRequest {
  method: string;
  /** The full URL as sent. */
  url: string;
  /** Path only, e.g. `/books/v3/contacts`. */
  path: string;
  origin: string;
  /** Query parameters (last value wins). */
  query: Record<string, string>;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string | undefined;
  /** The body parsed as a form, when it was one. */
  form: Record<string, string> | undefined;
  /** 0-based position among all requests this fetch saw. */
  index: number;
}

/** A reply: a JSON body (default `{code: 0, message: 'success'}`), or raw text. */
export interface Reply {
  status?: number;
  body?: unknown;
  /** Raw body text; wins over `body`. */
  text?: string;
  headers?: Record<string, string>;
}

/** What the scripted server does with one request. */
export type Answer = Reply | { error: unknown } | { hang: true };

/** Returns the answer for a request; `undefined` means the script has none (the request fails). */
export type Handler = (request: RecordedRequest) => Answer | undefined | Promise<Answer | undefined>;

export type Script = Answer[] | Handler;

export interface ScriptedFetch {
  readonly fetch: typeof fetch;
  /** Every request, in order. */
  readonly requests: RecordedRequest[];
  /** Requests the script had no answer for (they were failed with an Error). */
  readonly unanswered: RecordedRequest[];
  /** Appends answers to the queue (queue scripts only). */
  push(...answers: Answer[]): void;
}

/** `new TypeError('fetch failed', {cause: {code}})`, as undici reports socket and DNS failures. */
export function networkError(code: 'ECONNRESET' | 'ECONNREFUSED' | 'ENOTFOUND' | 'ETIMEDOUT' | 'EPIPE'): TypeError {
  return new TypeError('fetch failed', { cause: { code } });
}

export const ok = (body: Record<string, unknown> = {}, headers?: Record<string, string>): Reply => ({
  status: 200,
  body: { code: 0, message: 'success', ...body },
  ...(headers ? { headers } : {}),
});

/** A Zoho error envelope. */
export const zohoError = (status: number, code: number, message = `code ${code}`, headers?: Record<string, string>): Reply => ({
  status,
  body: { code, message },
  ...(headers ? { headers } : {}),
});

/** A token endpoint answer. */
export const tokenReply = (accessToken: string, extra: Record<string, unknown> = {}): Reply => ({
  status: 200,
  body: { access_token: accessToken, api_domain: 'https://www.zohoapis.com', token_type: 'Bearer', expires_in: 3600, ...extra },
});

function record(input: Parameters<typeof fetch>[0], init: RequestInit | undefined, index: number): RecordedRequest {
  const isRequest = typeof input === 'object' && input !== null && 'method' in input && !(input instanceof URL);
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : (input as Request).url);
  const headers: Record<string, string> = {};
  new Headers(init?.headers ?? (isRequest ? (input as Request).headers : undefined)).forEach((value, key) => {
    headers[key] = value;
  });
  const rawBody = init?.body;
  const body = rawBody === undefined || rawBody === null ? undefined : rawBody instanceof URLSearchParams ? rawBody.toString() : String(rawBody);
  const isForm = (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') || rawBody instanceof URLSearchParams;
  return {
    method: (init?.method ?? (isRequest ? (input as Request).method : 'GET')).toUpperCase(),
    url: url.href,
    path: url.pathname,
    origin: url.origin,
    query: Object.fromEntries(url.searchParams.entries()),
    headers,
    body,
    form: isForm && body !== undefined ? Object.fromEntries(new URLSearchParams(body).entries()) : undefined,
    index,
  };
}

function respond(answer: Reply): Response {
  const text = answer.text ?? (answer.body === undefined ? JSON.stringify({ code: 0, message: 'success' }) : JSON.stringify(answer.body));
  const headers = new Headers(answer.headers ?? {});
  if (answer.text === undefined && !headers.has('content-type')) headers.set('content-type', 'application/json;charset=UTF-8');
  return new Response(text, { status: answer.status ?? 200, headers });
}

export function createScriptedFetch(script: Script = []): ScriptedFetch {
  const queue: Answer[] = Array.isArray(script) ? [...script] : [];
  const handler: Handler | undefined = Array.isArray(script) ? undefined : script;
  const requests: RecordedRequest[] = [];
  const unanswered: RecordedRequest[] = [];

  const fetchFn = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const signal = init?.signal ?? undefined;
    const request = record(input, init, requests.length);
    requests.push(request);
    if (signal?.aborted) throw signal.reason;
    let answer: Answer | undefined;
    if (handler) answer = await handler(request);
    else answer = queue.shift();
    if (answer === undefined) {
      unanswered.push(request);
      throw new Error(`scripted fetch: no answer for ${request.method} ${request.url}`);
    }
    if (signal?.aborted) throw signal.reason;
    if ('error' in answer) throw answer.error;
    if ('hang' in answer) {
      return new Promise<Response>((_resolve, reject) => {
        if (!signal) return;
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    }
    return respond(answer);
  };

  return {
    fetch: fetchFn as typeof fetch,
    requests,
    unanswered,
    push: (...answers) => {
      if (handler) throw new Error('scripted fetch: push() needs a queue script');
      queue.push(...answers);
    },
  };
}

/**
 * A fetch that routes the accounts server (`/oauth/v2/...`) and the Books API to separate scripts.
 * The token script defaults to a fresh token per refresh: `access-1`, `access-2`, ...
 */
export function createZohoFetch(scripts: { api?: Script; token?: Script } = {}): ScriptedFetch & {
  readonly api: RecordedRequest[];
  readonly token: RecordedRequest[];
} {
  const pick = (script: Script | undefined, fallback: Handler): Handler => {
    if (script === undefined) return fallback;
    if (!Array.isArray(script)) return script;
    const queue = [...script];
    return () => queue.shift();
  };
  let issued = 0;
  const tokenHandler = pick(scripts.token, () => tokenReply(`access-${++issued}`));
  const apiHandler = pick(scripts.api, () => ok());
  const inner = createScriptedFetch((request) => (request.path.startsWith('/oauth/') ? tokenHandler(request) : apiHandler(request)));
  return {
    ...inner,
    get api() {
      return inner.requests.filter((r) => !r.path.startsWith('/oauth/'));
    },
    get token() {
      return inner.requests.filter((r) => r.path.startsWith('/oauth/'));
    },
  };
}

/** A deterministic random: cycles through `values` (default always 0.5). */
export function sequenceRandom(...values: number[]): () => number {
  const list = values.length > 0 ? values : [0.5];
  let i = 0;
  return () => list[i++ % list.length] as number;
}

/**
 * Runs the fake clock until `promise` settles: lets promise chains run, then fires the next due
 * timer, and so on. Fails (instead of hanging the test) when nothing is pending on the clock and
 * the promise is still waiting, i.e. it is stuck on something time will never release.
 */
export async function settle<T>(clock: FakeClock, promise: Promise<T>, maxSteps = 10_000): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  tracked.catch(() => undefined);
  for (let step = 0; step < maxSteps; step++) {
    await flush();
    if (done) return tracked;
    if (clock.pending() === 0) break;
    await clock.runAll(1);
  }
  await flush();
  if (done) return tracked;
  throw new Error('settle: the promise is stuck (not settled, and no timer is pending on the fake clock)');
}

/** Watches a promise without awaiting it. */
export function track<T>(promise: Promise<T>): { readonly done: boolean; readonly value: T | undefined; readonly error: unknown } {
  const state = { done: false, value: undefined as T | undefined, error: undefined as unknown };
  promise.then(
    (value) => {
      state.done = true;
      state.value = value;
    },
    (error: unknown) => {
      state.done = true;
      state.error = error;
    },
  );
  return state;
}
