/**
 * The service's HTTP plumbing on hono: its environment (the session each request carries), the
 * error that renders itself, bounded body reading, typed JSON bodies, and the middleware the app
 * lists in order (src/service/app.ts): request counting, security headers, the Host check, the
 * session, the sign-in requirement and the CSRF check.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler, TypedResponse } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { getCookie, setCookie } from 'hono/cookie';
import type { ErrorBody } from './api-types.js';
import type { ServiceLogger } from './logger.js';
import { hasRole, ROLE_DUTIES, type Access, type Role } from './access.js';
import { sha256 } from './store.js';

export const SESSION_COOKIE = 'sunset_session';

/**
 * A signed-in request's session: the cookie's token, its user, the token state changes must carry,
 * and the user's role and clients (read with the session on every request: a change applies at once).
 */
export interface Session extends Access {
  token: string;
  username: string;
  csrfToken: string;
}

/**
 * What every request carries. Bindings: the node request (over a socket; absent in-process).
 * `session`: set by `loadSession` for every route after it (undefined: not signed in).
 */
export interface ServiceEnv {
  Bindings: Partial<HttpBindings>;
  Variables: { session: Session | undefined };
}

/** The environment of routes mounted after `requireSession`: the session is there. */
export interface SignedInEnv {
  Bindings: Partial<HttpBindings>;
  Variables: { session: Session };
}

/** A refusal with its status, rendered by the app's one error handler as `{error, ...extra}`. */
export class HttpError extends Error {
  constructor(readonly status: ContentfulStatusCode, message: string, readonly extra: Omit<ErrorBody, 'error'> = {}) {
    super(message);
  }
}

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  // Nothing the service answers is for a cache: sessions, live state, the sign-in page.
  'cache-control': 'no-store',
};

/** Limits of request bodies: the JSON API's, the sign-in form's and the logout form's. */
export const JSON_MAX_BODY = 1024 * 1024;
export const LOGIN_MAX_BODY = 16 * 1024;
export const LOGOUT_MAX_BODY = 4096;

/**
 * The request body, at most `max` bytes (413 beyond), counted as it arrives: a sender that lies
 * about its length or sends chunks gets the same answer.
 */
export async function readBody(c: Context, max: number): Promise<Buffer> {
  // Over a socket, from Node's own request: a web stream on top of it costs more than the rest of
  // a CRM event's acceptance (docs/benchmarks.md). In-process (app.request), the web stream.
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (incoming) return readNodeBody(incoming, max);
  const body = c.req.raw.body;
  if (!body) return Buffer.alloc(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      // Answer now, and read the rest unkept: a client still sending gets its 413, not a
      // connection reset under its feet (cancelling the stream would close the socket).
      void (async () => {
        while (!(await reader.read()).done);
      })().catch(() => undefined);
      throw new HttpError(413, `the body is larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function readNodeBody(incoming: HttpBindings['incoming'], max: number): Promise<Buffer> {
  if (incoming.readableEnded) return Promise.reject(new Error('the request body was read already'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        // As above: the rest is read and dropped, so the sender gets its 413.
        incoming.off('data', onData);
        incoming.resume();
        reject(new HttpError(413, `the body is larger than ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    incoming.on('data', onData);
    incoming.once('end', () => resolve(Buffer.concat(chunks)));
    incoming.once('error', reject);
  });
}

/** A form body (sign-in, logout), at most `max` bytes. */
export async function readForm(c: Context, max: number): Promise<URLSearchParams> {
  return new URLSearchParams((await readBody(c, max)).toString('utf8'));
}

/**
 * A JSON route's body: read (whatever its Content-Type says, as ever), it must be a JSON object,
 * then `parse` checks it and says what the handler gets (`c.req.valid('json')`). `In` is what a
 * client sends: hono's typed client (`hc`) takes it. An empty body is `{}`.
 */
export function jsonBody<In, Out, E extends { Bindings: Partial<HttpBindings> } = ServiceEnv, P extends string = string>(
  parse: (body: Record<string, unknown>, c: Context<E, P>) => Out | Promise<Out>,
): MiddlewareHandler<E, P, { in: { json: In }; out: { json: Out } }> {
  return async (c, next) => {
    const bytes = await readBody(c, JSON_MAX_BODY);
    let body: Record<string, unknown> = {};
    if (bytes.length > 0) {
      let value: unknown;
      try {
        value = JSON.parse(bytes.toString('utf8'));
      } catch {
        value = undefined;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'the body must be a JSON object');
      body = value as Record<string, unknown>;
    }
    c.req.addValidatedData('json', (await parse(body, c)) as object);
    await next();
  };
}

/** JSON text made from a `T` (kept, to answer again without serializing again). */
export type JsonText<T> = string & { readonly __jsonOf: T };

export function toJsonText<T>(value: T): JsonText<T> {
  return JSON.stringify(value) as JsonText<T>;
}

/** Answers JSON text kept from `toJsonText`: typed as the `T` it was made from. */
export function respondJsonText<T, S extends ContentfulStatusCode = 200>(c: Context, text: JsonText<T>, status?: S): TypedResponse<T, S, 'json'> {
  return c.body(text, status ?? 200, { 'content-type': 'application/json' }) as unknown as TypedResponse<T, S, 'json'>;
}

/** The Host the request was sent to: its header over a socket, its URL's host in-process. */
export function requestHost(c: Context): string {
  return c.req.header('host') ?? new URL(c.req.url).host;
}

/** The peer's address (the sign-in limit counts per address); '' in-process. */
export function clientAddress<E extends { Bindings: Partial<HttpBindings> }>(c: Context<E>): string {
  return c.env?.incoming?.socket.remoteAddress ?? '';
}

/** Whether a browser sent it from this service's own pages (Sec-Fetch-Site, then Origin against Host). */
export function sameOrigin(c: Context): boolean {
  if (c.req.header('sec-fetch-site') === 'cross-site') return false;
  const origin = c.req.header('origin');
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === requestHost(c);
  } catch {
    return false;
  }
}

/** Sets (or, with maxAge 0, clears) the session cookie. */
export function setSessionCookie(c: Context, value: string, maxAgeSeconds: number, secure: boolean): void {
  setCookie(c, SESSION_COOKIE, value, { httpOnly: true, sameSite: 'Strict', path: '/', maxAge: maxAgeSeconds, secure });
}

/** The session cookie's value ('' when there is none; a value that is not percent-encoding is kept as sent, and matches no session). */
export function sessionCookie(c: Context): string {
  return getCookie(c, SESSION_COOKIE) ?? '';
}

// ---------------------------------------------------------------------------------------------
// Middleware, in the order the app lists them
// ---------------------------------------------------------------------------------------------

/** Every answer carries the security headers, whoever made it (a route, the error handler, not found). */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
};

/**
 * DNS rebinding: a page on another site whose name now resolves to 127.0.0.1 reaches this port
 * with its own name as Host (and as Origin, so same-origin checks pass). Answer only to the names
 * this service is known by (`hosts()`: null answers any, as before it listens).
 */
export function hostCheck(hosts: () => ReadonlySet<string> | null): MiddlewareHandler {
  return async (c, next) => {
    const allowed = hosts();
    const host = c.req.header('host') ?? '';
    if (allowed && !allowed.has(host.toLowerCase())) {
      throw new HttpError(421, `this service does not answer for the host "${host}"; behind a proxy or under another name, start it with --public-url`);
    }
    await next();
  };
}

/** Reads the session cookie into `session` (undefined: none, expired, or not a session's). */
export function loadSession(find: (token: string) => Promise<Omit<Session, 'token'> | undefined>): MiddlewareHandler<ServiceEnv> {
  return async (c, next) => {
    const token = sessionCookie(c);
    const found = token === '' ? undefined : await find(token);
    c.set('session', found ? { token, ...found } : undefined);
    await next();
  };
}

/** Everything after it needs a session: the API answers 401, pages send the browser to sign in. */
export const requireSession: MiddlewareHandler<ServiceEnv> = async (c, next) => {
  if (!c.get('session')) {
    if (c.req.path.startsWith('/api/')) throw new HttpError(401, 'sign in first');
    return c.redirect('/login', 303);
  }
  await next();
};

/**
 * The route needs at least `role` (src/service/access.ts): 403 naming what the user's role may do.
 * Placed after the middleware that finds the organization, plan or run (a 404 for what the user
 * may not see comes first, so a refusal never tells that it exists).
 */
export function allow(role: Role, doing: string): MiddlewareHandler<SignedInEnv> {
  return async (c, next) => {
    const session = c.get('session');
    if (!hasRole(session.role, role)) {
      throw new HttpError(403, `${session.username} is ${/^[aeiou]/.test(session.role) ? 'an' : 'a'} ${session.role} and cannot ${doing}: that needs the ${role} role (a ${session.role} may ${ROLE_DUTIES[session.role]})`);
    }
    await next();
  };
}

/**
 * State changes (anything but GET and HEAD) must come from this service's pages and carry the
 * session's CSRF token in X-CSRF-Token (the logout form sends it as the `csrf` field). Stronger
 * than an Origin check alone: a request without Origin must still know the token.
 */
export const csrfCheck: MiddlewareHandler<ServiceEnv> = async (c, next) => {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
  if (!sameOrigin(c)) throw new HttpError(403, 'cross-site request refused');
  const session = c.get('session');
  let token = c.req.header('x-csrf-token');
  if (c.req.path === '/logout' && token === undefined) token = (await readForm(c, LOGOUT_MAX_BODY)).get('csrf') ?? undefined;
  if (!session || typeof token !== 'string' || sha256(token) !== sha256(session.csrfToken)) throw new HttpError(403, 'missing or wrong CSRF token: reload the page');
  await next();
};

/** A path whose segments are not valid percent-encoding names nothing: 400, not a lookup of a mangled id. */
export const validPath: MiddlewareHandler = async (c, next) => {
  for (const segment of new URL(c.req.url).pathname.split('/')) {
    try {
      decodeURIComponent(segment);
    } catch {
      throw new HttpError(400, 'the path is not valid percent-encoding');
    }
  }
  await next();
};

/** The one error handler: an HttpError answers itself; anything else is logged (path only) and answers 500. */
export function renderError(logger: ServiceLogger) {
  return (error: Error, c: Context): Response => {
    if (error instanceof HttpError) return c.json<ErrorBody>({ error: error.message, ...error.extra }, error.status);
    // The path only: a query string may carry a webhook secret.
    logger.error({ method: c.req.method, path: c.req.path, error: error.message, stack: error.stack }, 'request failed');
    return c.json<ErrorBody>({ error: 'internal error; the service log has the details' }, 500);
  };
}
