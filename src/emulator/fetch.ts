/**
 * An in-process `fetch` bound to an emulator: the same pipeline as the HTTP server, without a
 * socket. A dropped-connection fault rejects the way Node's fetch does on a reset connection.
 */
import type { Emulator } from './emulator.js';
import { parseQuery } from './query.js';
import type { EmulatorRequest } from './types.js';

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export function createEmulatorFetch(emulator: Emulator, origin = 'http://emulator.local'): FetchLike {
  return async (input, init) => {
    const request = input instanceof Request ? new Request(input, init) : new Request(new URL(String(input), origin), init);
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, key) => {
      headers[key] = value;
    });
    const body = request.method === 'GET' || request.method === 'HEAD' ? new Uint8Array(0) : new Uint8Array(await request.arrayBuffer());
    if (body.length > emulator.options.maxBodyBytes) {
      return new Response(JSON.stringify({ code: 2, message: `Invalid value passed for body: larger than ${emulator.options.maxBodyBytes} bytes` }), {
        status: 413,
        headers: { 'content-type': 'application/json;charset=UTF-8' },
      });
    }
    const parsed = parseQuery(url.search.slice(1));
    const req: EmulatorRequest = { method: request.method, rawPath: url.pathname, query: parsed ?? new URLSearchParams(), invalidQuery: parsed === undefined, headers, body };
    const response = await emulator.handle(req, url.origin);
    if (response.drop) {
      const cause = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
      throw new TypeError('fetch failed', { cause });
    }
    return new Response(response.body, { status: response.status, headers: response.headers });
  };
}
