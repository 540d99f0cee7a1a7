/**
 * The emulator serves three APIs from one origin: Zoho Books under `/books/v3`, the accounts
 * server under `/oauth/v2` and the admin API under `/__emulator`. All three are built the same
 * way: routes registered in a router, handlers that return a result or throw an HttpError, and one
 * way to turn either into the answer. Each API renders its own shapes (its 404 and 405, its error
 * bodies, the headers on all its answers); the mechanism is shared.
 */
import { ZohoCode } from '../zoho/index.js';
import type { HandlerResult } from './context.js';
import { HttpError } from './http-error.js';
import { createRouter, type RouteMatch } from './router.js';
import type { EmulatorResponse } from './types.js';

const JSON_TYPE = 'application/json;charset=UTF-8';

/** Every answer the emulator gives is JSON made here. */
export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  return { status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}

/**
 * A thrown error as it renders itself. Anything but an HttpError is a bug in the emulator: it
 * answers 500 in the Zoho envelope, whichever API it happened in.
 */
export function renderError(error: unknown): EmulatorResponse {
  if (error instanceof HttpError) return jsonReply(error.status, error.body(), error.headers);
  return jsonReply(500, { code: ZohoCode.INTERNAL, message: 'Internal error' });
}

/** A routes module's table: `[method, pattern under the API's prefix, route]`. */
export type RouteTable<R> = ReadonlyArray<readonly [string, string, R]>;

export interface ApiDefinition<R> {
  /** Where the patterns are mounted, e.g. `/books/v3`. */
  prefix: string;
  routes: RouteTable<R>;
  /** Headers on every answer of this API, errors included. */
  headers?: Record<string, string>;
  /** The error for a path no route has. `path` is the path as this API reads it. */
  notFound(path: string): HttpError;
  /** The error for a path that exists under other methods. */
  methodNotAllowed(method: string, path: string, allowed: readonly string[]): HttpError;
  /** Turns errors thrown by shared helpers (body decoding, fault specs) into this API's own. */
  translate?(error: unknown): unknown;
}

export interface Api<R> {
  /** The route a request goes to; throws the API's own 404 or 405. */
  route(method: string, segments: readonly string[], path: string): RouteMatch<R>;
  /** A handler's result as this API answers it (`headers` adds to the API's own). */
  reply(result: HandlerResult, headers?: Record<string, string>): EmulatorResponse;
  /** What routing or a handler threw, as this API answers it (`headers` adds to the API's own). */
  error(error: unknown, headers?: Record<string, string>): EmulatorResponse;
}

export function createApi<R>(definition: ApiDefinition<R>): Api<R> {
  const router = createRouter<R>();
  for (const [method, pattern, route] of definition.routes) router.add(method, definition.prefix + pattern, route);
  const own = definition.headers ?? {};
  return {
    route(method, segments, path) {
      const lookup = router.lookup(method, segments);
      if (lookup.kind === 'found') return lookup.match;
      throw lookup.kind === 'not_found' ? definition.notFound(path) : definition.methodNotAllowed(method, path, lookup.allowed);
    },
    reply: (result, headers = {}) => jsonReply(result.status ?? 200, result.body, { ...own, ...headers }),
    error(error, headers = {}) {
      const rendered = renderError(definition.translate ? definition.translate(error) : error);
      return { ...rendered, headers: { ...rendered.headers, ...own, ...headers } };
    },
  };
}
