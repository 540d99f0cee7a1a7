/**
 * Sign-in and request protection of `sunset serve`, through the in-process service's fetch
 * (test/helpers/service.ts): nothing but /healthz and /login answers without a session; the
 * session cookie's attributes; wrong passwords and unknown users (delays and locks after repeated
 * failures: sign-in-limits.test.ts); logout and expiry (on the service's emulated clock); CSRF and
 * same-origin checks on every state change; passwords stored only as scrypt hashes of OWASP's cost
 * (also through the real `sunset users add`), hashes of the earlier cost upgraded at sign-in.
 */
import { scrypt } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkPassword, hashPassword, isCurrentHash, SCRYPT_COST, verifyPassword, type OrganizationView, type SessionView } from '../../src/service/index.js';
import { createHarness } from '../helpers/cli.js';
import { PASSWORD, passwordHash, policyFor, startTestService, USER, type TestService } from '../helpers/service.js';

/** A hash as Sunset made them before issue 12 (N = 2^15), made here with node:crypto alone, not with our code. */
function legacyHash(password: string): Promise<string> {
  const salt = Buffer.from('0123456789abcdef');
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 128 * 2 ** 15 * 8 * 2 }, (error, key) =>
      (error ? reject(error) : resolve(`scrypt$32768$8$1$${salt.toString('base64')}$${key.toString('base64')}`)));
  });
}

const extra: TestService[] = [];
afterEach(async () => {
  for (const s of extra.splice(0)) await s.close();
});
async function fresh(options: Parameters<typeof startTestService>[0] = {}): Promise<TestService> {
  const s = await startTestService({ contacts: 20, ...options });
  extra.push(s);
  return s;
}

describe('anonymous access', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ contacts: 20 });
  });
  afterAll(async () => s.close());

  it('answers /healthz with {ok: true} and nothing else', async () => {
    const r = await s.fetch('GET', '/healthz');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ok: true });
  });

  it('serves the sign-in page (and its stylesheet) with the security headers', async () => {
    const r = await s.fetch('GET', '/login');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(r.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(r.headers.get('content-security-policy')).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    // The page's stylesheet is the one asset open without a session (CSP forbids inline styles).
    const css = await s.fetch('GET', '/assets/app.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('refuses every API route with 401 and changes nothing', async () => {
    const organization = s.organization;
    const routes: Array<[string, string, string?]> = [
      ['GET', '/api/session'],
      ['GET', '/api/orgs'],
      ['PUT', `/api/orgs/${organization}/policy`, JSON.stringify({ text: policyFor(organization) })],
      ['PUT', `/api/orgs/${organization}/schedule`, JSON.stringify({ cron: '0 2 * * *' })],
      ['PUT', `/api/orgs/${organization}/webhook`, JSON.stringify({ mode: 'hmac' })],
      ['POST', `/api/orgs/${organization}/scan`],
      ['GET', '/api/plans/plan_x'],
      ['GET', '/api/plans/plan_x/rows'],
      ['POST', '/api/plans/plan_x/approve', '{}'],
      ['GET', '/api/runs'],
      ['GET', `/api/runs?org=${organization}`],
      ['GET', '/api/runs/run-x'],
      ['POST', '/api/runs/run-x/undo'],
      ['POST', '/api/runs/run-x/resume'],
      ['POST', '/api/runs/run-x/stop'],
      ['GET', '/api/audit?format=csv'],
      ['GET', '/api/audit?format=json'],
      ['GET', '/api/webhooks'],
      ['GET', '/api/cron?expr=0+2+*+*+*'],
      ['GET', '/api/events'],
      ['GET', '/api/no-such-route'],
      ['DELETE', '/api/orgs'],
    ];
    for (const [method, path, body] of routes) {
      const r = await s.fetch(method, path, body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } });
      expect(r.status, `${method} ${path}`).toBe(401);
      expect((r.json as { error?: string }).error, `${method} ${path}`).toEqual(expect.any(String));
    }
    // The same with a made-up session cookie.
    const forged = await s.fetch('GET', '/api/orgs', { headers: { cookie: 'sunset_session=forged-token-value' } });
    expect(forged.status).toBe(401);
    const settings = await s.store.settings(organization);
    expect(await s.h.journal.policy(organization)).toBeUndefined();
    expect(settings.cron).toBeNull();
    expect(settings.webhookSecret).toBeNull();
    expect(await s.h.journal.latestSnapshot(organization)).toBeUndefined();
    expect(s.service.runner.activeJobs()).toEqual([]);
  });

  it('redirects pages to /login', async () => {
    for (const [method, path] of [['GET', '/'], ['GET', '/index.html'], ['POST', '/logout'], ['GET', '/settings']]) {
      const r = await s.fetch(method!, path!);
      expect(r.status, `${method} ${path}`).toBe(303);
      expect(r.headers.get('location'), `${method} ${path}`).toBe('/login');
      expect(r.text, `${method} ${path}: no app page`).not.toMatch(/<html/i);
    }
  });

  it('refuses /metrics without a session or the metrics token', async () => {
    expect((await s.fetch('GET', '/metrics')).status).toBe(401);
    expect((await s.fetch('GET', '/metrics', { headers: { authorization: 'Bearer ' } })).status).toBe(401);
  });

  it('serves the UI script only to a session', async () => {
    const anon = await s.fetch('GET', '/assets/app.js');
    expect(anon.status).toBe(401);
    const session = await s.login();
    const signed = await session.get('/assets/app.js');
    expect(signed.status).toBe(200);
    expect(signed.headers.get('content-type')).toMatch(/javascript/);
    // Nothing outside the asset names is served, signed in or not.
    for (const path of ['/assets/../server.ts', '/assets/app.html', '/assets/%2e%2e%2fstore.ts']) {
      expect((await session.get(path)).status, path).toBe(404);
    }
  });
});

describe('sign-in', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ contacts: 20 });
  });
  afterAll(async () => s.close());

  it('sets an HttpOnly, SameSite=Strict, Path=/ session cookie and redirects to /', async () => {
    const r = await s.postLogin(USER, PASSWORD);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/');
    const cookie = r.headers.get('set-cookie') ?? '';
    const attributes = cookie.split(';').map((p) => p.trim());
    expect(attributes[0]).toMatch(/^sunset_session=[A-Za-z0-9_-]{43}$/); // 256 random bits
    expect(attributes).toContain('HttpOnly');
    expect(attributes).toContain('SameSite=Strict');
    expect(attributes).toContain('Path=/');
    expect(attributes).toContain('Max-Age=43200'); // 12 hours (docs/service.md)
    expect(attributes).not.toContain('Secure'); // only with --secure-cookies
    const token = attributes[0]!.slice('sunset_session='.length);
    const session = await s.fetch<SessionView>('GET', '/api/session', { headers: { cookie: `sunset_session=${token}` } });
    expect(session.status).toBe(200);
    expect(session.json.user).toBe(USER);
    expect(session.json.csrfToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(session.json.csrfToken).not.toBe(token);
    // The database keeps a hash of the session token, never the token.
    const rows = await s.h.db.all<Record<string, unknown>>('SELECT * FROM sessions');
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('signed in, the app page and the API answer', async () => {
    const session = await s.login();
    const page = await session.get('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const organizations = await session.get<OrganizationView[]>('/api/orgs');
    expect(organizations.status).toBe(200);
    expect(organizations.json.map((o) => o.organizationId)).toEqual(s.organizations);
  });

  it('refuses a wrong password and an unknown user alike, without a cookie', async () => {
    const wrong = await s.postLogin(USER, `${PASSWORD}x`);
    const unknown = await s.postLogin('nobody', PASSWORD);
    const empty = await s.postLogin('', '');
    for (const [name, r] of [['wrong password', wrong], ['unknown user', unknown], ['empty form', empty]] as const) {
      expect(r.status, name).toBe(303);
      expect(r.headers.get('location'), name).toBe('/login?error=1');
      expect(r.headers.get('set-cookie'), name).toBeNull();
    }
    expect(wrong.text).toBe(unknown.text);
  });

  it('logout needs the CSRF token, ends the session and clears the cookie', async () => {
    const session = await s.login();
    const refused = await session.request('POST', '/logout', { csrf: null });
    expect(refused.status).toBe(403);
    expect((await session.get('/api/session')).status, 'a refused logout leaves the session').toBe(200);
    const out = await session.request('POST', '/logout');
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/login');
    expect(out.headers.get('set-cookie')).toMatch(/^sunset_session=;.*Max-Age=0/);
    expect((await session.get('/api/session')).status).toBe(401);
    expect((await session.get('/api/orgs')).status).toBe(401);
    const page = await session.get('/');
    expect(page.status).toBe(303);
  });

  it('logout also takes the token as a form field (the page\'s form)', async () => {
    const session = await s.login();
    const out = await session.request('POST', '/logout', {
      csrf: null,
      body: new URLSearchParams({ csrf: session.csrfToken }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(out.status).toBe(303);
    expect((await session.get('/api/session')).status).toBe(401);
  });

  it('sessions are independent: logging one out keeps the other', async () => {
    const a = await s.login();
    const b = await s.login();
    expect(a.token).not.toBe(b.token);
    expect(a.csrfToken).not.toBe(b.csrfToken);
    expect((await a.request('POST', '/logout')).status).toBe(303);
    expect((await b.get('/api/session')).status).toBe(200);
  });

  it('a new password (users add again) ends the user\'s sessions', async () => {
    const session = await s.login();
    await s.store.addUser(USER, await passwordHash(), s.h.clock.now());
    expect((await session.get('/api/orgs')).status).toBe(401);
    await s.login();
  });
});

describe('sessions and the metrics token', () => {
  // Failed sign-ins, delays and locks: test/service/sign-in-limits.test.ts.
  it('a session expires after its lifetime', async () => {
    const s = await fresh({ sessionTtlMs: 60_000 });
    const session = await s.login();
    expect(session.setCookie).toMatch(/Max-Age=60(;|$)/);
    expect((await session.get('/api/session')).status).toBe(200);
    await s.advance(61);
    expect((await session.get('/api/session')).status).toBe(401);
    expect((await session.get('/api/orgs')).status).toBe(401);
  });

  it('the metrics token opens /metrics and nothing else', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const s = await fresh({ metricsToken: token });
    const ok = await s.fetch('GET', '/metrics', { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('# TYPE sunset_runs gauge');
    expect((await s.fetch('GET', '/metrics', { headers: { authorization: `Bearer ${token.slice(0, -1)}x` } })).status).toBe(401);
    expect((await s.fetch('GET', '/metrics', { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    expect((await s.fetch('GET', '/api/orgs', { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });
});

describe('CSRF and same-origin checks', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ contacts: 20 });
  });
  afterAll(async () => s.close());

  it('a state change without or with a wrong X-CSRF-Token is refused with 403 and nothing changes', async () => {
    const session = await s.login();
    const other = await s.login();
    const body = { text: policyFor(s.organization) };
    for (const [name, csrf] of [['no token', null], ['wrong token', 'not-the-token'], ['another session\'s token', other.csrfToken], ['empty token', '']] as const) {
      const r = await session.request('PUT', `/api/orgs/${s.organization}/policy`, { body, csrf });
      expect(r.status, name).toBe(403);
      expect((r.json as { error: string }).error, name).toMatch(/CSRF/i);
    }
    for (const [method, path] of [['POST', `/api/orgs/${s.organization}/scan`], ['PUT', `/api/orgs/${s.organization}/webhook`], ['PUT', `/api/orgs/${s.organization}/schedule`]]) {
      const r = await session.request(method!, path!, { body: { mode: 'hmac', cron: '0 2 * * *' }, csrf: null });
      expect(r.status, `${method} ${path}`).toBe(403);
    }
    const settings = await s.store.settings(s.organization);
    expect(await s.h.journal.policy(s.organization)).toBeUndefined();
    expect(settings.webhookSecret).toBeNull();
    expect(settings.cron).toBeNull();
    expect(s.service.runner.activeJobs()).toEqual([]);
    expect(await s.h.journal.latestSnapshot(s.organization)).toBeUndefined();
    // With the token, the same request works.
    const ok = await session.request('PUT', `/api/orgs/${s.organization}/policy`, { body });
    expect(ok.status).toBe(200);
    expect((await s.h.journal.policy(s.organization))?.text).toBe(body.text);
  });

  it('a cross-site request is refused with 403 even with the right token', async () => {
    const session = await s.login();
    const before = (await s.h.journal.policy(s.organization))?.text;
    const text = policyFor(s.organization, 'max_changes: 7\n');
    const cases: Array<[string, Record<string, string>]> = [
      ['a cross-site Origin', { origin: 'http://evil.example' }],
      ['Origin: null', { origin: 'null' }],
      ['same host, other port', { origin: s.origin.replace(/:(\d+)$/, (_m, p: string) => `:${Number(p) + 1}`) }],
      ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ];
    for (const [name, headers] of cases) {
      const r = await session.request('PUT', `/api/orgs/${s.organization}/policy`, { body: { text }, headers });
      expect(r.status, name).toBe(403);
    }
    expect((await s.h.journal.policy(s.organization))?.text).toBe(before);
    // Same-origin requests (as a browser sends them) pass.
    const same = await session.request('PUT', `/api/orgs/${s.organization}/policy`, { body: { text }, headers: { origin: s.origin, 'sec-fetch-site': 'same-origin' } });
    expect(same.status).toBe(200);
  });

  it('a cross-site sign-in is refused and sets no cookie', async () => {
    const r = await s.postLogin(USER, PASSWORD, { origin: 'http://evil.example' });
    expect(r.status).toBe(403);
    expect(r.headers.get('set-cookie')).toBeNull();
    const r2 = await s.postLogin(USER, PASSWORD, { 'sec-fetch-site': 'cross-site' });
    expect(r2.status).toBe(403);
    expect(r2.headers.get('set-cookie')).toBeNull();
  });

  it('GET requests need no CSRF token (they change nothing)', async () => {
    const session = await s.login();
    expect((await session.request('GET', '/api/orgs', { csrf: null })).status).toBe(200);
  });
});

describe('stored passwords', () => {
  it('are scrypt hashes with a salt, never the password', async () => {
    const s = await fresh();
    const row = await s.h.db.get<{ password_hash: string }>('SELECT password_hash FROM users WHERE username = ?', [USER]);
    // OWASP's minimum for scrypt: N = 2^17, r = 8, p = 1.
    expect(row?.password_hash).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(row?.password_hash).not.toContain(PASSWORD);
    expect(SCRYPT_COST).toEqual({ N: 2 ** 17, r: 8, p: 1 });
    const again = await hashPassword(PASSWORD);
    expect(again).not.toBe(row?.password_hash);
    expect(await verifyPassword(PASSWORD, again)).toBe(true);
    expect(await verifyPassword(`${PASSWORD} `, again)).toBe(false);
    expect(await verifyPassword(PASSWORD, PASSWORD)).toBe(false);
  });

  it('a hash of the earlier cost (N = 2^15) still signs in, and is replaced by one of today\'s cost at that sign-in; a wrong password leaves it', async () => {
    const s = await fresh();
    const old = await legacyHash(PASSWORD);
    await s.store.addUser('veteran', old, s.h.clock.now());
    const stored = async (): Promise<string> => (await s.h.db.get<{ password_hash: string }>('SELECT password_hash FROM users WHERE username = ?', ['veteran']))!.password_hash;
    expect(isCurrentHash(old)).toBe(false);
    expect((await s.store.users()).find((u) => u.username === 'veteran')?.hashIsCurrent).toBe(false);

    const wrong = await s.postLogin('veteran', `${PASSWORD}!`);
    expect(wrong.headers.get('location')).toBe('/login?error=1');
    expect(await stored()).toBe(old);

    const session = await s.login('veteran', PASSWORD);
    const upgraded = await stored();
    expect(upgraded).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(isCurrentHash(upgraded)).toBe(true);
    expect(await verifyPassword(PASSWORD, upgraded)).toBe(true);
    // The old hash is gone from the database (its salt and key too), and the session made at that sign-in stays.
    const [, , , , oldSalt, oldKey] = old.split('$');
    const users = JSON.stringify(await s.h.db.all('SELECT * FROM users'));
    for (const part of [old, oldSalt!, oldKey!]) expect(users).not.toContain(part);
    expect((await session.get('/api/session')).status).toBe(200);
    // Signing in again keeps today's hash as it is.
    await s.login('veteran', PASSWORD);
    expect(await stored()).toBe(upgraded);
  });

  it('the hash checks refuse what is not a hash of ours, and costs no one could have meant', async () => {
    for (const bad of ['', 'scrypt', PASSWORD, 'scrypt$32768$8$1$$', 'scrypt$32767$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      'scrypt$4194304$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'bcrypt$131072$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=']) {
      expect(await checkPassword(PASSWORD, bad), bad).toEqual({ ok: false });
      expect(isCurrentHash(bad), bad).toBe(false);
    }
  });

  describe('through `sunset users add` (subprocess)', () => {
    const cli = createHarness();
    afterAll(async () => cli.cleanupAll());

    it('stores a scrypt hash of SUNSET_PASSWORD and refuses a short one', async () => {
      const dir = cli.temp('sunset-users-');
      const db = join(dir, 'sunset.db');
      const password = 'a long enough password 42';
      const added = await cli.run(['users', 'add', 'alice', '--db', db], { env: { SUNSET_PASSWORD: password, SUNSET_HOME: join(dir, 'home') } });
      expect(added.code, added.stderr).toBe(0);
      expect(added.stdout + added.stderr).not.toContain(password);
      const short = await cli.run(['users', 'add', 'bob', '--db', db], { env: { SUNSET_PASSWORD: 'short', SUNSET_HOME: join(dir, 'home') } });
      expect(short.code).not.toBe(0);
      expect(short.stderr).toMatch(/12 characters/);
      const sqlite = new Database(db, { readonly: true });
      try {
        const rows = sqlite.prepare('SELECT username, password_hash FROM users ORDER BY username').all() as Array<{ username: string; password_hash: string }>;
        expect(rows.map((r) => r.username)).toEqual(['alice']);
        expect(rows[0]!.password_hash).toMatch(/^scrypt\$/);
        expect(rows[0]!.password_hash).not.toContain(password);
        expect(await verifyPassword(password, rows[0]!.password_hash)).toBe(true);
      } finally {
        sqlite.close();
      }
    });
  });
});
