/**
 * Test harness: a real emulator on a loopback port (or an in-process fetch), and a small caller
 * that speaks the Books wire format. A fresh in-memory emulator per use; `close` in afterEach.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmulator, listen, type AccountInfo, type Emulator, type EmulatorInfo, type EmulatorOptions, type EmulatorServer } from '../../src/emulator/index.js';

export interface CallOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** A raw body (string or bytes) sent as is. */
  rawBody?: string | Uint8Array;
  contentType?: string;
  /** Token to send; `null` sends no Authorization header. Defaults to the ready-made token. */
  token?: string | null;
  /** Organization id to add; `null` adds none. Defaults to the first organization. */
  organization?: string | null;
  headers?: Record<string, string>;
}

export interface CallResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export interface TestEmulator {
  emulator: Emulator;
  server: EmulatorServer;
  info: EmulatorInfo;
  origin: string;
  baseUrl: string;
  /** The first organization's id. */
  organization: string;
  /** All organization ids, in account order. */
  organizations: string[];
  token: string;
  /** Calls the Books API: `call('GET', '/contacts', {query: {per_page: 5}})`. */
  call<T = Record<string, unknown>>(method: string, path: string, options?: CallOptions): Promise<CallResult<T>>;
  /** Calls the admin API with a JSON body. */
  admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<CallResult<T>>;
  /** A fresh access token for a grant with these scopes (and organizations). */
  tokenFor(scopes: string[], organizationIds?: string[]): Promise<string>;
  /** An access token for an account: its refresh token exchanged with its client at /oauth/v2/token. */
  accessTokenFor(account: { clientId: string; clientSecret: string; refreshToken: string }): Promise<string>;
  /** Every account, as `GET /__emulator/accounts` lists them. */
  accounts(): Promise<AccountInfo[]>;
  close(): Promise<void>;
}

export async function startTestEmulator(options: EmulatorOptions = {}): Promise<TestEmulator> {
  const emulator = createEmulator({ seed: 'demo', contacts: 200, ...options });
  const server = await listen(emulator, { port: 0 });
  const info = emulator.info(server.origin);
  const organizations = info.organizations.map((o) => o.organization_id);

  const call = async <T>(method: string, path: string, o: CallOptions = {}): Promise<CallResult<T>> => {
    const url = new URL(path.startsWith('http') ? path : `${info.baseUrl}${path}`);
    const organization = o.organization === undefined ? organizations[0] : o.organization;
    if (organization !== null && organization !== undefined) url.searchParams.set('organization_id', organization);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...o.headers };
    const token = o.token === undefined ? info.accessToken : o.token;
    if (token !== null) headers.authorization = `Zoho-oauthtoken ${token}`;
    let body: string | Uint8Array | undefined;
    if (o.rawBody !== undefined) body = o.rawBody;
    else if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    const response = await fetch(url, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: leave the text
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  };

  const admin = async <T>(method: string, path: string, body?: unknown): Promise<CallResult<T>> => {
    const response = await fetch(`${server.origin}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as T };
  };

  return {
    emulator,
    server,
    info,
    origin: server.origin,
    baseUrl: info.baseUrl,
    organization: organizations[0] as string,
    organizations,
    token: info.accessToken,
    call,
    admin,
    async tokenFor(scopes, organizationIds) {
      const grant = await admin<{ code: string }>('POST', '/__emulator/grants', { scopes, organization_ids: organizationIds });
      const response = await fetch(`${server.origin}/oauth/v2/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'authorization_code', client_id: info.clientId, client_secret: info.clientSecret, code: grant.body.code }),
      });
      const tokens = (await response.json()) as { access_token: string };
      return tokens.access_token;
    },
    accessTokenFor: (account) => accessTokenAt(server.origin, account),
    async accounts() {
      const res = await admin<{ accounts: AccountInfo[] }>('GET', '/__emulator/accounts');
      if (res.status !== 200) throw new Error(`GET /__emulator/accounts answered ${res.status}`);
      return res.body.accounts;
    },
    async close() {
      await server.close();
      emulator.close();
    },
  };
}

/** An access token for an account of the emulator at `origin` (a test's own or a `sunset emulator start`). */
export async function accessTokenAt(origin: string, account: { clientId: string; clientSecret: string; refreshToken: string }): Promise<string> {
  const response = await fetch(`${origin}/oauth/v2/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: account.clientId, client_secret: account.clientSecret, refresh_token: account.refreshToken }),
  });
  const tokens = (await response.json()) as { access_token?: string; error?: string };
  if (!tokens.access_token) throw new Error(`the refresh was refused: ${tokens.error ?? response.status}`);
  return tokens.access_token;
}

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = 'sunset-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}
