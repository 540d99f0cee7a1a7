/**
 * The emulated accounts server (reference §7, docs/emulator-fidelity.md "OAuth"): self-client grant
 * codes, the token endpoint (form and query parameters), refresh throttling, expiry and revocation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';

interface TokenBody {
  access_token?: string;
  refresh_token?: string;
  api_domain?: string;
  token_type?: string;
  expires_in?: number;
  scope?: string;
  error?: string;
  error_description?: string;
}

const TOKEN_SHAPE = /^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$/;

let t: TestEmulator | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function start(options: Parameters<typeof startTestEmulator>[0] = {}): Promise<TestEmulator> {
  t = await startTestEmulator({ contacts: 20, limits: false, ...options });
  // A frozen clock: only the test moves time.
  expect((await t.admin('POST', '/__emulator/clock', { freeze: true })).status).toBe(200);
  return t;
}

/** POSTs to /oauth/v2/token with the parameters in a form body or in the query string. */
async function tokenCall(e: TestEmulator, params: Record<string, string>, via: 'form' | 'query' = 'form'): Promise<{ status: number; body: TokenBody }> {
  const search = new URLSearchParams(params);
  const response =
    via === 'form'
      ? await fetch(`${e.origin}/oauth/v2/token`, { method: 'POST', body: search })
      : await fetch(`${e.origin}/oauth/v2/token?${search.toString()}`, { method: 'POST' });
  return { status: response.status, body: (await response.json()) as TokenBody };
}

async function grant(e: TestEmulator, scopes: string[], organizationIds?: string[]): Promise<string> {
  const res = await e.admin<{ code: string; client_id: string; expires_in: number }>('POST', '/__emulator/grants', { scopes, organization_ids: organizationIds });
  expect(res.status).toBe(200);
  expect(res.body.client_id).toBe(e.info.clientId);
  expect(res.body.expires_in).toBe(600);
  return res.body.code;
}

function exchange(e: TestEmulator, code: string, overrides: Record<string, string> = {}): Promise<{ status: number; body: TokenBody }> {
  return tokenCall(e, {
    grant_type: 'authorization_code',
    client_id: e.info.clientId,
    client_secret: e.info.clientSecret,
    redirect_uri: 'http://localhost/callback',
    code,
    ...overrides,
  });
}

function refresh(e: TestEmulator, refreshToken: string, via: 'form' | 'query' = 'form', overrides: Record<string, string> = {}): Promise<{ status: number; body: TokenBody }> {
  return tokenCall(e, { grant_type: 'refresh_token', client_id: e.info.clientId, client_secret: e.info.clientSecret, refresh_token: refreshToken, ...overrides }, via);
}

async function advance(e: TestEmulator, seconds: number): Promise<void> {
  expect((await e.admin('POST', '/__emulator/clock', { advanceSeconds: seconds })).status).toBe(200);
}

describe('authorization_code', () => {
  it('exchanges a grant code for access and refresh tokens', async () => {
    const e = await start();
    const code = await grant(e, ['ZohoBooks.contacts.READ', 'ZohoBooks.settings.READ']);
    const res = await exchange(e, code);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'api_domain', 'expires_in', 'refresh_token', 'scope', 'token_type']);
    expect(res.body).toMatchObject({
      api_domain: e.origin,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'ZohoBooks.contacts.READ ZohoBooks.settings.READ',
    });
    expect(res.body.access_token).toMatch(TOKEN_SHAPE);
    expect(res.body.refresh_token).toMatch(TOKEN_SHAPE);
    expect(res.body.access_token).not.toBe(res.body.refresh_token);

    // The access token works, with its scopes, under either header scheme.
    const access = res.body.access_token as string;
    expect((await e.call('GET', '/contacts', { token: access, query: { per_page: 1 } })).status).toBe(200);
    const bearer = await e.call('GET', '/contacts', { token: null, headers: { authorization: `Bearer ${access}` }, query: { per_page: 1 } });
    expect(bearer.status).toBe(200);
    expect((await e.call('GET', '/organizations', { token: access, organization: null })).status).toBe(200);
    const denied = await e.call('POST', '/contacts', { token: access, body: { contact_name: 'Nope' } });
    expect(denied.status).toBe(401);
    expect(denied.body).toEqual({ code: 57, message: 'You are not authorized to perform this operation' });
    const invoices = await e.call('GET', '/invoices', { token: access });
    expect(invoices.body).toMatchObject({ code: 57 });
    // The refresh token it returned refreshes.
    const refreshed = await refresh(e, res.body.refresh_token as string);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.scope).toBe('ZohoBooks.contacts.READ ZohoBooks.settings.READ');
  });

  it('a code is single use', async () => {
    const e = await start();
    const code = await grant(e, ['ZohoBooks.contacts.ALL']);
    expect((await exchange(e, code)).status).toBe(200);
    const again = await exchange(e, code);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ error: 'invalid_code' });
  });

  it('a code expires after 10 minutes', async () => {
    const e = await start();
    const early = await grant(e, ['ZohoBooks.contacts.ALL']);
    const late = await grant(e, ['ZohoBooks.contacts.ALL']);
    await advance(e, 599);
    const ok = await exchange(e, early);
    expect(ok.status).toBe(200);
    expect(ok.body.access_token).toMatch(TOKEN_SHAPE);
    await advance(e, 2);
    const expired = await exchange(e, late);
    expect(expired.status).toBe(200);
    expect(expired.body).toEqual({ error: 'invalid_code' });
  });

  it('an unknown code is invalid_code; a wrong client secret or client id is invalid_client (HTTP 200)', async () => {
    const e = await start();
    const unknown = await exchange(e, '1000.00000000000000000000000000000000.00000000000000000000000000000000');
    expect(unknown).toEqual({ status: 200, body: { error: 'invalid_code' } });
    const code = await grant(e, ['ZohoBooks.contacts.ALL']);
    const badSecret = await exchange(e, code, { client_secret: 'wrong' });
    expect(badSecret).toEqual({ status: 200, body: { error: 'invalid_client' } });
    const badClient = await exchange(e, code, { client_id: '1000.NOTACLIENT' });
    expect(badClient).toEqual({ status: 200, body: { error: 'invalid_client' } });
    const missingSecret = await tokenCall(e, { grant_type: 'authorization_code', client_id: e.info.clientId, code });
    expect(missingSecret).toEqual({ status: 200, body: { error: 'invalid_client' } });
  });

  it('an unsupported grant type is refused', async () => {
    const e = await start();
    const res = await tokenCall(e, { grant_type: 'password', client_id: e.info.clientId, client_secret: e.info.clientSecret });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'unsupported_grant_type' });
  });
});

describe('refresh_token', () => {
  it('refreshes from a form body and from query parameters', async () => {
    const e = await start();
    for (const via of ['form', 'query'] as const) {
      const res = await refresh(e, e.info.refreshToken, via);
      expect(res.status, via).toBe(200);
      expect(Object.keys(res.body).sort(), via).toEqual(['access_token', 'api_domain', 'expires_in', 'scope', 'token_type']);
      expect(res.body, via).toMatchObject({ api_domain: e.origin, token_type: 'Bearer', expires_in: 3600 });
      expect(res.body.scope?.split(' '), via).toContain('ZohoBooks.fullaccess.all');
      expect(res.body.access_token, via).toMatch(TOKEN_SHAPE);
      expect(res.body.access_token, via).not.toBe(e.token);
      const use = await e.call('GET', '/contacts', { token: res.body.access_token, query: { per_page: 1 } });
      expect(use.status, via).toBe(200);
    }
  });

  it('a bad refresh token, or one used with another client, answers HTTP 200 invalid_code', async () => {
    const e = await start();
    const bad = await refresh(e, '1000.ffffffffffffffffffffffffffffffff.ffffffffffffffffffffffffffffffff');
    expect(bad).toEqual({ status: 200, body: { error: 'invalid_code' } });
    const empty = await tokenCall(e, { grant_type: 'refresh_token', client_id: e.info.clientId, client_secret: e.info.clientSecret });
    expect(empty).toEqual({ status: 200, body: { error: 'invalid_code' } });
    const wrongSecret = await refresh(e, e.info.refreshToken, 'form', { client_secret: 'nope' });
    expect(wrongSecret).toEqual({ status: 200, body: { error: 'invalid_client' } });
  });

  it('revoking a refresh token kills it and every access token made from it, and nothing else', async () => {
    const e = await start();
    const code = await grant(e, ['ZohoBooks.contacts.ALL']);
    const first = (await exchange(e, code)).body;
    const second = (await refresh(e, first.refresh_token as string)).body;
    for (const token of [first.access_token, second.access_token]) {
      expect((await e.call('GET', '/contacts', { token, query: { per_page: 1 } })).status).toBe(200);
    }
    const revoke = await fetch(`${e.origin}/oauth/v2/token/revoke?token=${encodeURIComponent(first.refresh_token as string)}`, { method: 'POST' });
    expect(revoke.status).toBe(200);
    expect(await revoke.json()).toEqual({ status: 'success' });

    for (const token of [first.access_token, second.access_token]) {
      const res = await e.call('GET', '/contacts', { token, query: { per_page: 1 } });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ code: 57, message: 'You are not authorized to perform this operation' });
    }
    expect(await refresh(e, first.refresh_token as string)).toEqual({ status: 200, body: { error: 'invalid_code' } });
    // The ready-made credentials are untouched.
    expect((await e.call('GET', '/contacts', { query: { per_page: 1 } })).status).toBe(200);
    expect((await refresh(e, e.info.refreshToken)).status).toBe(200);

    const unknown = await fetch(`${e.origin}/oauth/v2/token/revoke`, { method: 'POST', body: new URLSearchParams({ token: 'nope' }) });
    expect(await unknown.json()).toEqual({ error: 'invalid_token' });
  });

  it('throttles the 11th refresh of a refresh token within 10 minutes, and lets it through again after', async () => {
    const e = await start();
    const tokens: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await refresh(e, e.info.refreshToken, i % 2 === 0 ? 'form' : 'query');
      expect(res.status, `refresh ${i + 1}`).toBe(200);
      tokens.push(res.body.access_token as string);
    }
    expect(new Set(tokens).size).toBe(10);
    const denied = await refresh(e, e.info.refreshToken);
    expect(denied.status).toBe(400);
    expect(denied.body).toMatchObject({
      error: 'Access Denied',
      error_description: 'You have made too many requests continuously. Please try again after some time.',
    });
    // Tokens already issued keep working; another refresh token is not throttled.
    expect((await e.call('GET', '/contacts', { token: tokens[9], query: { per_page: 1 } })).status).toBe(200);
    const other = (await exchange(e, await grant(e, ['ZohoBooks.contacts.READ']))).body;
    expect((await refresh(e, other.refresh_token as string)).status).toBe(200);

    await advance(e, 599);
    expect((await refresh(e, e.info.refreshToken)).status).toBe(400);
    await advance(e, 1);
    const again = await refresh(e, e.info.refreshToken);
    expect(again.status).toBe(200);
    expect(again.body.access_token).toMatch(TOKEN_SHAPE);
  });

  it('a throttled refresh token is refused even when refreshes are spread out', async () => {
    const e = await start();
    // Ten refreshes a minute apart: the eleventh, 9m30s after the first, is still inside the window.
    for (let i = 0; i < 10; i++) {
      expect((await refresh(e, e.info.refreshToken)).status).toBe(200);
      await advance(e, 60);
    }
    await advance(e, -30);
    expect((await refresh(e, e.info.refreshToken)).status).toBe(400);
    // Once the first refresh is more than 10 minutes old, one more is allowed, then refused again.
    await advance(e, 31);
    expect((await refresh(e, e.info.refreshToken)).status).toBe(200);
    expect((await refresh(e, e.info.refreshToken)).status).toBe(400);
  });
});

describe('access tokens', () => {
  it('expire after the configured lifetime', async () => {
    const e = await start({ tokenTtlSeconds: 30 });
    const res = await exchange(e, await grant(e, ['ZohoBooks.contacts.ALL']));
    expect(res.body.expires_in).toBe(30);
    const access = res.body.access_token as string;
    await advance(e, 29);
    expect((await e.call('GET', '/contacts', { token: access, query: { per_page: 1 } })).status).toBe(200);
    await advance(e, 1);
    const expired = await e.call('GET', '/contacts', { token: access, query: { per_page: 1 } });
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({ code: 57, message: 'You are not authorized to perform this operation' });
    // The ready-made one too; a refresh gives a working token again.
    expect((await e.call('GET', '/contacts', { query: { per_page: 1 } })).body).toMatchObject({ code: 57 });
    const fresh = await refresh(e, res.body.refresh_token as string);
    expect(fresh.body.expires_in).toBe(30);
    expect((await e.call('GET', '/contacts', { token: fresh.body.access_token, query: { per_page: 1 } })).status).toBe(200);
  });

  it('the default lifetime is 3600 seconds', async () => {
    const e = await start();
    const res = await refresh(e, e.info.refreshToken);
    expect(res.body.expires_in).toBe(3600);
    await advance(e, 3599);
    expect((await e.call('GET', '/contacts', { token: res.body.access_token, query: { per_page: 1 } })).status).toBe(200);
    await advance(e, 1);
    expect((await e.call('GET', '/contacts', { token: res.body.access_token, query: { per_page: 1 } })).body).toMatchObject({ code: 57 });
  });

  it('no Authorization header is 14; an unknown token or scheme is 57 or 14', async () => {
    const e = await start();
    const none = await e.call('GET', '/contacts', { token: null });
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ code: 14, message: 'The request could not be authenticated.' });
    const unknown = await e.call('GET', '/contacts', { token: '1000.abc.def' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toMatchObject({ code: 57 });
    const basic = await e.call('GET', '/contacts', { token: null, headers: { authorization: `Basic ${e.token}` } });
    expect(basic.status).toBe(401);
    expect(basic.body).toMatchObject({ code: 14 });
  });
});

describe('organization-limited grants', () => {
  it('a token limited to one organization reaches only that one', async () => {
    const e = await start();
    const [first, second] = e.organizations as [string, string];
    const res = await exchange(e, await grant(e, ['ZohoBooks.contacts.READ', 'ZohoBooks.settings.READ'], [second]));
    const access = res.body.access_token as string;

    const organizations = await e.call<{ organizations: Array<{ organization_id: string; is_default_org: boolean }> }>('GET', '/organizations', { token: access, organization: null });
    expect(organizations.status).toBe(200);
    expect(organizations.body.organizations.map((o) => o.organization_id)).toEqual([second]);

    const own = await e.call<{ contacts: unknown[] }>('GET', '/contacts', { token: access, organization: second, query: { per_page: 200 } });
    expect(own.status).toBe(200);
    // Without organization_id, the single reachable organization is used.
    const implicit = await e.call<{ contacts: unknown[] }>('GET', '/contacts', { token: access, organization: null, query: { per_page: 200 } });
    expect(implicit.status).toBe(200);
    expect(implicit.body.contacts).toEqual(own.body.contacts);

    const foreign = await e.call('GET', '/contacts', { token: access, organization: first });
    expect(foreign.status).toBe(400);
    expect(foreign.body).toMatchObject({ code: 6024, message: 'Invalid organization.' });

    // The limit carries over to refreshed tokens.
    const refreshed = await refresh(e, res.body.refresh_token as string);
    expect((await e.call('GET', '/contacts', { token: refreshed.body.access_token, organization: first })).body).toMatchObject({ code: 6024 });
    expect((await e.call('GET', '/contacts', { token: refreshed.body.access_token, organization: second })).status).toBe(200);

    // An unlimited token needs organization_id (two organizations) and lists both.
    const all = await e.call<{ code: number; error_info: Array<{ organization_id: string }> }>('GET', '/contacts', { organization: null });
    expect(all.status).toBe(400);
    expect(all.body.code).toBe(6024);
    expect(all.body.error_info.map((o) => o.organization_id)).toEqual([first, second]);
  });
});
