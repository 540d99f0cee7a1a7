/** Serves an emulator over node:http (keep-alive, loopback by default). */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Emulator } from './emulator.js';
import { parseQuery } from './query.js';
import type { EmulatorRequest } from './types.js';

export interface ListenOptions {
  host?: string;
  port?: number;
}

export interface EmulatorServer {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** `http://HOST:PORT`. */
  readonly origin: string;
  close(): Promise<void>;
}

const EMPTY = new Uint8Array(0);

function readBody(req: IncomingMessage, max: number): Promise<Uint8Array | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        done = true;
        resolve('too_large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(chunks.length === 0 ? EMPTY : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function headerRecord(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(req.headers)) out[key] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

export async function listen(emulator: Emulator, options: ListenOptions = {}): Promise<EmulatorServer> {
  const host = options.host ?? '127.0.0.1';
  let origin = '';
  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const parsed = parseQuery(q < 0 ? '' : url.slice(q + 1));
    const body = req.method === 'GET' || req.method === 'HEAD' ? EMPTY : await readBody(req, emulator.options.maxBodyBytes);
    if (body === 'too_large') {
      res.writeHead(413, { 'content-type': 'application/json;charset=UTF-8', connection: 'close' });
      res.end(JSON.stringify({ code: 2, message: `Invalid value passed for body: larger than ${emulator.options.maxBodyBytes} bytes` }));
      return;
    }
    const request: EmulatorRequest = {
      method: req.method ?? 'GET', rawPath, query: parsed ?? new URLSearchParams(), invalidQuery: parsed === undefined, headers: headerRecord(req), body,
    };
    const hostHeader = req.headers.host;
    const response = await emulator.handle(request, hostHeader && /^[A-Za-z0-9.[\]:-]+$/.test(hostHeader) ? `http://${hostHeader}` : origin);
    if (response.drop) {
      req.socket.destroy();
      return;
    }
    res.writeHead(response.status, response.headers);
    res.end(response.body);
  };
  const server = createServer((req, res) => {
    onRequest(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json;charset=UTF-8' });
      res.end(JSON.stringify({ code: 1000, message: 'Internal error' }));
    });
  });
  // Requests Node cannot even parse (a bad method, oversized headers) still get a Zoho-style answer.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return;
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({ code: 2, message: tooLarge ? 'Invalid value passed for headers: larger than the server accepts' : 'Invalid value passed for request: not a valid HTTP request' });
    socket.end(`HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json;charset=UTF-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  origin = `http://${shownHost}:${address.port}`;
  return {
    server,
    host: address.address,
    port: address.port,
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
