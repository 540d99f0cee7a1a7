/**
 * Service test harness: `createService` in-process, against a real emulator over HTTP
 * (test/helpers/engine.ts: frozen emulated clock, high limits, journal on a temp SQLite file).
 * Requests reach the service's app in-process (`service.fetch`, no socket: the same app, its
 * middleware and routes, without node:http), or, with `socket: true`, over a loopback port (the
 * browser tests; the crash, restart and load tests run `sunset serve` itself and reach it with
 * `signIn(origin)`). The service's clock is the emulator's: it reads the emulated time and its sleeps move it,
 * so session expiry, the login window, webhook timestamps, retry delays and schedules are driven by
 * `advance(seconds)`, never by real time. The background loops are off (intervals 0): tests call
 * `processWebhooks()` and `tick()` themselves. A user is added with a real scrypt hash.
 */
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ResponseInfo } from '../../src/client/hooks.js';
import { createZohoAdapter, type BooksPort } from '../../src/engine/index.js';
import { createLogger, createService, hashPassword, type MappingFile, type NotificationOptions, type Service, type ServiceStore, type SessionView } from '../../src/service/index.js';
import { ROOT } from './cli.js';
import { startEngineHarness, type EngineHarness } from './engine.js';

/** The built UI (`npm run build` bundles its script from TypeScript): what `sunset serve` serves. */
export const UI_DIR = join(ROOT, 'dist', 'service', 'ui');
export const USER = 'admin';
export const PASSWORD = 'correct horse battery staple';

let hashed: Promise<string> | undefined;
/** The test user's scrypt hash, computed once per file (scrypt is slow on purpose). */
export function passwordHash(): Promise<string> {
  hashed ??= hashPassword(PASSWORD);
  return hashed;
}

/** How a test reaches a service: `fetch` over a socket, or the service's own fetch in-process. */
export type Transport = (url: string, init: RequestInit) => Promise<Response>;

/** Over the network, to a listening service (`sunset serve`, or a test service with `socket: true`). */
export const overSocket: Transport = (url, init) => fetch(url, init);

/** In-process: the request goes to the service's app as is; what it answers comes back, redirects not followed. */
export function inProcess(service: Service): Transport {
  return (url, init) => service.fetch(new Request(url, init));
}

/**
 * The origin of an in-process service: it names the service in URLs and in Origin headers (the
 * same-origin check compares it with the request's host). `.test` never resolves, so a request
 * sent to it over the network by mistake fails at once.
 */
export const IN_PROCESS_ORIGIN = 'http://sunset.test:8080';

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: T;
}

/** Reads an answer: status, headers, text, and the text parsed as JSON when it is JSON. */
export async function toResult<T>(response: Response): Promise<HttpResult<T>> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json: json as T };
}

export interface RequestOptions {
  /** JSON body (objects) or a raw string. */
  body?: unknown;
  headers?: Record<string, string>;
  /** The CSRF token to send: the session's by default on POST/PUT/DELETE; `null` sends none. */
  csrf?: string | null;
}

export interface SignedIn {
  /** The session cookie's value. */
  token: string;
  csrfToken: string;
  /** The whole Set-Cookie header of the sign-in. */
  setCookie: string;
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<HttpResult<T>>;
  get<T = unknown>(path: string): Promise<HttpResult<T>>;
}

export interface SseEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface SseStream {
  readonly events: SseEvent[];
  /** Resolves with the first event (past or future) matching `match`. */
  waitFor(match: (e: SseEvent) => boolean, what: string, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
}

export interface TestService {
  h: EngineHarness;
  service: Service;
  store: ServiceStore;
  /** Where the service is: its loopback address with `socket: true`, else IN_PROCESS_ORIGIN. */
  origin: string;
  /** How this harness's requests reach it. */
  transport: Transport;
  organization: string;
  organizations: string[];
  /** Every line the service logged. */
  logs: string[];
  /** Zoho API calls and 429 answers through the service's client. */
  stats(): { apiCalls: number; rateLimited: number };
  /** Anonymous request (no cookie); redirects are not followed. */
  fetch<T = unknown>(method: string, path: string, init?: { body?: string | Buffer; headers?: Record<string, string> }): Promise<HttpResult<T>>;
  /** Signs in with the form and reads the CSRF token; throws unless it works. */
  login(username?: string, password?: string): Promise<SignedIn>;
  /** The raw sign-in answer. */
  postLogin(username: string, password: string, headers?: Record<string, string>): Promise<HttpResult>;
  /** Opens GET /api/events for a session. */
  events(session: SignedIn): Promise<SseStream>;
  /** Moves the emulated clock (the service's clock) forward. */
  advance(seconds: number): Promise<void>;
  /** A contact's status read raw from the emulator (with a fresh token once the ready-made one expired). */
  status(contactId: string, organizationId?: string): Promise<string>;
  /**
   * Changes an organization's time zone in Zoho (the emulator's `PUT /organizations/{id}`), as a
   * person does in Books. The service learns it when it next lists the organizations (it keeps the
   * list 5 minutes: a fresh service, or one whose clock moved on, asks at its next request).
   */
  setTimeZone(timeZone: string, organizationId?: string): Promise<void>;
  close(): Promise<void>;
}

export interface TestServiceOptions {
  contacts?: number;
  metricsToken?: string;
  sessionTtlMs?: number;
  /** Runs on the migrated store before `listen` (what a previous process left behind). */
  beforeListen?: (store: ServiceStore, h: EngineHarness) => Promise<void>;
  /** Adds the test user (default true). */
  addUser?: boolean;
  /** As `sunset serve --crm-mapping FILE` gives it, made from the emulator's organization ids. */
  mappingFile?: (organizationIds: string[]) => MappingFile;
  /**
   * What the service says it reaches (default: the emulator's own target). `zoho:EU` makes the
   * emulator stand for Zoho Books EU, for what depends on the target alone (links to the Books web app).
   */
  target?: string;
  /** Serve on a loopback port and reach it over the network (a browser needs one); default: in-process. */
  socket?: boolean;
  /** E-mail and webhook notifications (their delivery loop is off: tests call `service.notifications.deliverDue()`). */
  notifications?: NotificationOptions;
}

export async function startTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const h = await startEngineHarness({ contacts: options.contacts ?? 120 });
  let rateLimited = 0;
  const answered: Array<(info: ResponseInfo) => void> = [];
  const side = h.newSide({
    onResponse(info: ResponseInfo) {
      if (info.status === 429) rateLimited++;
      for (const listener of answered) listener(info);
    },
  });
  const ports = new Map<string, BooksPort>();
  const logs: string[] = [];
  const target = options.target ?? side.port.target;
  const service = createService({
    journal: h.journal,
    database: h.db,
    connection: {
      target,
      port(organizationId) {
        let port = ports.get(organizationId);
        if (!port) {
          port = createZohoAdapter(side.client, organizationId, side.calls, target);
          ports.set(organizationId, port);
        }
        return port;
      },
      organizations: () => createZohoAdapter(side.client, h.organization, side.calls, target).organizations(),
      stats: () => ({ apiCalls: side.calls(), rateLimited }),
      onResponse: (listener) => void answered.push(listener),
    },
    clock: h.clock,
    owner: 'test-host:1:svc',
    isDead: () => false,
    uiDir: UI_DIR,
    webhookIntervalMs: 0,
    scheduleIntervalMs: 0,
    // The real logger (pino, with its redaction), its JSON lines kept for the tests to read.
    logger: createLogger({ level: 'debug', destination: new Writable({ write(chunk: Buffer, _enc, done) { logs.push(...chunk.toString('utf8').split('\n').filter((l) => l !== '')); done(); } }) }),
    ...(options.metricsToken !== undefined ? { metricsToken: options.metricsToken } : {}),
    ...(options.sessionTtlMs !== undefined ? { sessionTtlMs: options.sessionTtlMs } : {}),
    ...(options.mappingFile !== undefined ? { mappingFile: options.mappingFile(h.t.organizations) } : {}),
    notifications: { intervalMs: 0, ...options.notifications },
  });
  await service.store.migrate();
  if (options.addUser !== false) await service.store.addUser(USER, await passwordHash(), h.clock.now());
  await options.beforeListen?.(service.store, h);
  let origin = IN_PROCESS_ORIGIN;
  let transport = inProcess(service);
  if (options.socket) {
    origin = (await service.listen({ port: 0 })).origin;
    transport = overSocket;
  } else {
    await service.start();
  }
  const streams: SseStream[] = [];
  let readToken = h.t.token;
  /** A Books API call of the test's own (not the service's), with a fresh token once the ready-made one expired. */
  const books = async <T>(method: string, path: string, o: { organization: string | null; body?: unknown }): Promise<{ status: number; body: T }> => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await h.t.call<T>(method, path, { ...o, token: readToken });
      if (res.status !== 401) return res;
      readToken = await h.t.tokenFor(['ZohoBooks.fullaccess.all']);
    }
    throw new Error(`${method} ${path}: no token works`);
  };

  const anonymous = async <T>(method: string, path: string, init: { body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<HttpResult<T>> =>
    toResult<T>(await transport(`${origin}${path}`, { method, headers: init.headers, body: init.body, redirect: 'manual' }));

  const postLogin = (username: string, password: string, headers: Record<string, string> = {}): Promise<HttpResult> =>
    anonymous('POST', '/login', {
      body: new URLSearchParams({ username, password }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });

  const login = (username = USER, password = PASSWORD): Promise<SignedIn> => signIn(origin, username, password, transport);

  const events = async (session: SignedIn): Promise<SseStream> => {
    const controller = new AbortController();
    const response = await transport(`${origin}/api/events`, { headers: { cookie: `sunset_session=${session.token}` }, signal: controller.signal });
    if (response.status !== 200 || !response.body) throw new Error(`GET /api/events answered ${response.status}`);
    const list: SseEvent[] = [];
    const waiters: Array<() => void> = [];
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += decoder.decode(value, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const type = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (type && data) list.push({ type, data: JSON.parse(data) as Record<string, unknown> });
          }
          for (const w of [...waiters]) w();
        }
      } catch {
        // aborted or the server closed: the stream ends
      }
    })();
    const stream: SseStream = {
      events: list,
      waitFor(match, what, timeoutMs = 20_000) {
        return new Promise((resolve, reject) => {
          const check = (): boolean => {
            const found = list.find(match);
            if (!found) return false;
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(listener), 1);
            resolve(found);
            return true;
          };
          const listener = (): void => void check();
          const timer = setTimeout(() => {
            waiters.splice(waiters.indexOf(listener), 1);
            reject(new Error(`timed out waiting for the SSE event: ${what}; got ${JSON.stringify(list.map((e) => [e.type, e.data.state]))}`));
          }, timeoutMs);
          waiters.push(listener);
          check();
        });
      },
      close: () => {
        // Over a socket the abort ends the request; in-process, cancelling the body ends the stream.
        controller.abort();
        void reader.cancel().catch(() => undefined);
      },
    };
    streams.push(stream);
    return stream;
  };

  return {
    h,
    service,
    store: service.store,
    origin,
    transport,
    organization: h.organization,
    organizations: h.t.organizations,
    logs,
    stats: () => ({ apiCalls: side.calls(), rateLimited }),
    fetch: anonymous,
    login,
    postLogin,
    events,
    advance: (seconds) => h.clock.sleep(seconds * 1000),
    async status(contactId, organizationId = h.organization) {
      const res = await books<{ contact?: { status: string } }>('GET', `/contacts/${contactId}`, { organization: organizationId });
      if (res.status === 200 && res.body.contact) return res.body.contact.status;
      throw new Error(`GET /contacts/${contactId} answered ${res.status}`);
    },
    async setTimeZone(timeZone, organizationId = h.organization) {
      const res = await books('PUT', `/organizations/${organizationId}`, { organization: null, body: { time_zone: timeZone } });
      if (res.status !== 200) throw new Error(`PUT /organizations/${organizationId} answered ${res.status}: ${JSON.stringify(res.body)}`);
    },
    async close() {
      for (const s of streams) s.close();
      await service.close();
      await h.close();
    },
  };
}

/** Signs in to a service at `origin` with the form and reads the CSRF token; throws unless it works. */
export async function signIn(origin: string, username = USER, password = PASSWORD, transport: Transport = overSocket): Promise<SignedIn> {
  const answer = await transport(`${origin}/login`, {
    method: 'POST',
    body: new URLSearchParams({ username, password }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    redirect: 'manual',
  });
  await answer.text();
  const setCookie = answer.headers.get('set-cookie') ?? '';
  const token = /sunset_session=([^;]*)/.exec(setCookie)?.[1];
  if (answer.status !== 303 || !token) throw new Error(`sign-in failed: ${answer.status} ${answer.headers.get('location')} ${setCookie}`);
  return sessionFor(origin, token, setCookie, transport);
}

/** A client for an existing session cookie (reads its CSRF token from /api/session). */
export async function sessionFor(origin: string, token: string, setCookie = '', transport: Transport = overSocket): Promise<SignedIn> {
  const cookie = `sunset_session=${token}`;
  const session = await toResult<SessionView>(await transport(`${origin}/api/session`, { headers: { cookie } }));
  if (session.status !== 200) throw new Error(`GET /api/session answered ${session.status}`);
  const csrfToken = session.json.csrfToken;
  const request = async <T>(method: string, path: string, o: RequestOptions = {}): Promise<HttpResult<T>> => {
    const headers: Record<string, string> = { cookie };
    const changes = method !== 'GET' && method !== 'HEAD';
    const csrf = o.csrf === undefined ? (changes ? csrfToken : null) : o.csrf;
    if (csrf !== null) headers['x-csrf-token'] = csrf;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      headers['content-type'] = 'application/json';
    }
    return toResult<T>(await transport(`${origin}${path}`, { method, headers: { ...headers, ...o.headers }, body, redirect: 'manual' }));
  };
  return { token, csrfToken, setCookie, request, get: (path) => request('GET', path) };
}

/** HMAC headers for a CRM webhook: `X-Sunset-Signature: sha256=HMAC(secret, "TIMESTAMP.BODY")`. */
export function signHook(secret: string, body: string | Buffer, timestampSeconds: number): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex');
  return { 'x-sunset-timestamp': String(timestampSeconds), 'x-sunset-signature': `sha256=${signature}` };
}

/** Polls `check` every 10 ms until it returns a value (not undefined); the timeout only bounds a hang. */
export async function until<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A policy for an organization: the defaults, with extra YAML lines appended. */
export function policyFor(organizationId: string, extra = ''): string {
  return `organization_id: "${organizationId}"\ninactivity: 24 months\n${extra}`;
}
