/**
 * Security suite (issue 6), with real processes and real files: the built CLI (dist/cli/main.js)
 * and `sunset emulator start` / `sunset serve` run as child processes over real HTTP.
 *
 * 1. Secrets never leak: a whole CLI story signs in with `auth login --dc EU` (client secret and
 *    grant code from the environment; the EU hosts are sent to the emulator by an --import module,
 *    see security-helpers.ts), then orgs, policy init, scan, plan (HTML, CSV, JSON), a long apply,
 *    runs, verify, audit, undo, contacts deactivate, refused sign-ins, an expired and a bogus access
 *    token, a revoked refresh token, and `sunset serve` (API, SSE, /metrics, webhooks). Every secret
 *    used or issued (client secret, grant codes, refresh and access tokens read from the emulator's
 *    own database, webhook secrets, session cookies, CSRF tokens, the user's password, the metrics
 *    token, and wrong values we typed) is searched for in every stdout and stderr, every HTTP answer,
 *    every file written, every row of the journal and its raw bytes, and the process listings
 *    (/proc/PID/cmdline and environ) of a running apply, serve and emulator. No command takes a
 *    secret as a flag; on a terminal (util-linux `script`) the hidden prompts echo nothing; a
 *    second sign-in never writes into an old credentials file others could read.
 * 2. Owner-only files: credentials and token store 0600 in a 0700 directory, the journal (the
 *    service's database too) and the emulator databases 0600 with their -wal/-shm, the HTML, CSV
 *    and JSON reports and the audit export 0600 (test/cli/report-modes.test.ts covers files that
 *    existed before with 0644 and the demo's report).
 * 3. Every route of `sunset serve` (read from src/service/routes/) refuses anonymous requests, and
 *    every state-changing one refuses a foreign Origin, `Sec-Fetch-Site: cross-site`, a missing or
 *    another session's CSRF token with 403, changing nothing.
 * 4. Forged and replayed CRM webhooks (another organization's secret, a swapped body, a reused
 *    timestamp, a secret sent to an HMAC organization) are refused: no event stored, nothing applied.
 * 5. A token granted for organization A only can neither read nor change organization B through any
 *    Books route (the emulator's database compared before and after).
 * `npm audit` is not run here (it needs the registry); see docs/reliability.md.
 */
import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contactRoutes } from '../../src/emulator/routes/contacts.js';
import { organizationRoutes } from '../../src/emulator/routes/organizations.js';
import { transactionRoutes } from '../../src/emulator/routes/transactions.js';
import { TRANSACTION_TYPES, type TransactionTypeInfo } from '../../src/zoho/index.js';
import { createHarness, deactivatable, pollUntil, ROOT, type ChildProc, type EmulatorProcess, type Exit } from '../helpers/cli.js';
import { signHook, signIn, toResult, type HttpResult, type SignedIn } from '../helpers/service.js';
import {
  fileText, findLeaks, hasScript, listFiles, mode, octal, procListing, queryFile, scanSqliteRows, SecretRegistry, serviceRoutes, withCompanions, runOnTerminal, writeZohoRedirect,
  type Leak, type SecretKind,
} from './security-helpers.js';

const h = createHarness();
afterAll(async () => h.cleanupAll());

const secrets = new SecretRegistry();
/** Every HTTP answer the suite received from `sunset serve`, with the secrets it may show. */
const answers: Array<{ where: string; text: string; allowValues: string[] }> = [];
/** Process listings read while the processes ran. */
const listings: Array<{ what: string; cmdline: string[]; environ: string[] }> = [];
/** Files whose mode was checked: path, mode found, mode required (undefined: recorded only). */
const modes: Array<{ path: string; mode: number; required?: number }> = [];

// Distinctive values we type ourselves.
const PASSWORD = 'sec-suite passphrase 9f2c71e4d0';
const METRICS_TOKEN = 'metrics-token-sec-suite-4b7e19c2a8d3';
const SMTP_PASSWORD = 'smtp-password-sec-suite-71d0e93b';
const WRONG_CLIENT_SECRET = 'wrong-client-secret-sec-suite-5f3c9a11';
const BOGUS_GRANT_CODE = `1000.${'feedface'.repeat(4)}.${'cafebabe'.repeat(4)}`;
const BOGUS_REFRESH_TOKEN = `1000.${'badc0ffe'.repeat(4)}.${'0ddba11a'.repeat(4)}`;
const BOGUS_ACCESS_TOKEN = `1000.${'deadbeef'.repeat(4)}.${'abad1dea'.repeat(4)}`;
secrets.add('password', 'the sign-in password (SUNSET_PASSWORD)', PASSWORD);
secrets.add('metrics-token', 'the metrics token', METRICS_TOKEN);
secrets.add('client-secret', 'a wrong client secret typed at sign-in', WRONG_CLIENT_SECRET);
secrets.add('grant-code', 'a wrong grant code typed at sign-in', BOGUS_GRANT_CODE);
secrets.add('refresh-token', 'a wrong refresh token typed at sign-in', BOGUS_REFRESH_TOKEN);
secrets.add('access-token', 'a bogus access token planted in tokens.json', BOGUS_ACCESS_TOKEN);

const FAST = ['--per-minute', '6000', '--daily', '100000'];

let emu: EmulatorProcess;
/** The story's working directory (journal, policy, reports); the emulator's database is elsewhere. */
let dir: string;
let home: string;
let emuDb: string;
let env: Record<string, string>;
let org1: string;
let org2: string;

const cli = (args: string[], extra: Record<string, string> = {}, timeoutMs = 60_000): Promise<Exit> => h.run(args, { cwd: dir, env: { ...env, ...extra }, timeoutMs });

function show(exit: Exit): string {
  return `code ${exit.code}, signal ${exit.signal}\nstdout: ${exit.stdout.slice(-2000)}\nstderr: ${exit.stderr.slice(-2000)}`;
}

function ok(exit: Exit): Exit {
  expect(exit.code, show(exit)).toBe(0);
  return exit;
}

function startedRun(exit: Exit): string {
  const m = /Run (run-\S+?) (?:\(undo of \S+\) )?started\./.exec(exit.stderr);
  if (!m) throw new Error(`no "Run ... started" line:\n${show(exit)}`);
  return m[1]!;
}

function checkMode(path: string, required?: number): void {
  modes.push({ path, mode: mode(path), required });
}

/** Reads a running process's listing, as any user allowed to list it can. */
function readListing(what: string, proc: ChildProc): void {
  const pid = proc.child.pid;
  if (pid === undefined) throw new Error(`${what} has no pid`);
  expect(proc.running, `${what} is still running while its listing is read`).toBe(true);
  listings.push({ what, ...procListing(pid) });
}

/** The access tokens the token store holds now. */
function storedAccessTokens(): string[] {
  const path = join(home, 'tokens.json');
  if (!existsSync(path)) return [];
  const all = JSON.parse(readFileSync(path, 'utf8')) as Record<string, { token?: { accessToken: string } }>;
  return Object.values(all).flatMap((r) => (r.token ? [r.token.accessToken] : []));
}

beforeAll(async () => {
  const emuDir = h.temp('sunset-sec-emu-', true);
  emuDb = join(emuDir, 'books.db');
  emu = await h.startEmulator(['--contacts', '80', '--random-seed', '7321', '--db', emuDb, ...FAST], true);
  [org1, org2] = emu.organizations as [string, string];
  dir = h.temp('sunset-sec-story-', true);
  home = join(dir, 'home');
  env = { SUNSET_HOME: home, NODE_OPTIONS: writeZohoRedirect(dir), SECURITY_TEST_ZOHO_ORIGIN: emu.origin };
  secrets.add('client-secret', 'the self-client secret', emu.info.clientSecret);
  secrets.add('refresh-token', "the emulator's ready-made refresh token", emu.info.refreshToken);
  secrets.add('access-token', "the emulator's ready-made access token", emu.info.accessToken);
});

describe('1. the CLI story with real credentials (auth login --dc EU, secrets from the environment)', () => {
  let grantCode: string;
  let planId: string;
  let runId: string;
  let planned: string[];

  it('refuses a wrong client secret, a wrong grant code and a wrong refresh token without echoing them, and saves nothing', async () => {
    const grant = await emu.admin<{ code: string }>('POST', '/__emulator/grants', { scopes: ['ZohoBooks.fullaccess.all'] });
    expect(grant.status).toBe(200);
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['wrong client secret', { SUNSET_CLIENT_SECRET: WRONG_CLIENT_SECRET, SUNSET_GRANT_CODE: grant.body.code }, /client id or client secret \(invalid_client\)/],
      ['wrong grant code', { SUNSET_CLIENT_SECRET: emu.info.clientSecret, SUNSET_GRANT_CODE: BOGUS_GRANT_CODE }, /refused the grant code \(invalid_code\)/],
      ['wrong refresh token', { SUNSET_CLIENT_SECRET: emu.info.clientSecret, SUNSET_REFRESH_TOKEN: BOGUS_REFRESH_TOKEN }, /refused the refresh token \(invalid_code\)/],
    ];
    const exits = await Promise.all(cases.map(([, extra]) => cli(['auth', 'login', '--dc', 'EU', '--client-id', emu.info.clientId], extra)));
    for (const [i, [name, , message]] of cases.entries()) {
      const exit = exits[i]!;
      expect(exit.code, `${name}: ${show(exit)}`).toBe(1);
      expect(exit.stderr, name).toMatch(message);
      expect(existsSync(join(home, 'credentials.json')), name).toBe(false);
    }
    secrets.add('grant-code', 'a grant code offered with a wrong client secret', grant.body.code);
  });

  it('auth login --dc EU takes the client secret and the grant code from the environment and stores them owner-only', async () => {
    const grant = await emu.admin<{ code: string }>('POST', '/__emulator/grants', { scopes: ['ZohoBooks.fullaccess.all'] });
    grantCode = grant.body.code;
    secrets.add('grant-code', 'the grant code used to sign in', grantCode);
    const login = ok(await cli(['auth', 'login', '--dc', 'EU', '--client-id', emu.info.clientId, '--org', org1], {
      SUNSET_CLIENT_SECRET: emu.info.clientSecret, SUNSET_GRANT_CODE: grantCode,
    }));
    expect(login.stdout).toContain('Signed in to Zoho (EU)');
    const stored = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8')) as { kind: string; clientSecret: string; refreshToken: string };
    expect(stored.kind).toBe('zoho');
    expect(stored.clientSecret).toBe(emu.info.clientSecret);
    secrets.add('refresh-token', 'the refresh token auth login stored', stored.refreshToken);
    checkMode(home, 0o700);
    checkMode(join(home, 'credentials.json'), 0o600);
    ok(await cli(['auth', 'status']));
  });

  it('connections add keeps the client secret and the refresh token sealed: the database holds neither (the file scan reads its bytes and rows)', async () => {
    const grant = await emu.admin<{ code: string }>('POST', '/__emulator/grants', { scopes: ['ZohoBooks.fullaccess.all'] });
    secrets.add('grant-code', 'the grant code of connections add', grant.body.code);
    // Its own database: the story's journal keeps using the credentials file. The first
    // connections command also turns that file into the connection "default", sealed.
    const added = ok(await cli(['connections', 'add', 'eu-client', '--dc', 'EU', '--client-id', emu.info.clientId, '--database', join(dir, 'connections.db'), '--json'], {
      SUNSET_CLIENT_SECRET: emu.info.clientSecret, SUNSET_GRANT_CODE: grant.body.code,
    }));
    expect(added.stderr).toContain('are now the connection "default"');
    const listed = ok(await cli(['connections', 'list', '--database', join(dir, 'connections.db')]));
    expect(listed.stdout).toMatch(/default +zoho:EU/);
    expect(listed.stdout).toMatch(/eu-client +zoho:EU/);
    checkMode(join(home, 'secret.key'), 0o600);
    // The refresh tokens the emulator issued are in the secrets list (collectEmulatorSecrets): the scan below would find them.
    scanStoryFiles('after connections add');
  });

  it('signing in again over a credentials file others could read writes the new secrets to a fresh owner-only file, never into the old one', async () => {
    // Regression: writeCredentials wrote into the existing file (keeping its mode) and only then
    // chmod-ed it, so a re-login over a 0644 file put the new refresh token in a world-readable
    // file first. A hard link to the old file shows what was written into it.
    const path = join(home, 'credentials.json');
    chmodSync(path, 0o644);
    const before = readFileSync(path, 'utf8');
    const oldInode = join(h.temp('sunset-sec-inode-'), 'old-credentials');
    linkSync(path, oldInode);
    const grant = await emu.admin<{ code: string }>('POST', '/__emulator/grants', { scopes: ['ZohoBooks.fullaccess.all'] });
    secrets.add('grant-code', 'the grant code of the second sign-in', grant.body.code);
    ok(await cli(['auth', 'login', '--dc', 'EU', '--client-id', emu.info.clientId, '--org', org1], { SUNSET_CLIENT_SECRET: emu.info.clientSecret, SUNSET_GRANT_CODE: grant.body.code }));
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { refreshToken: string };
    secrets.add('refresh-token', 'the refresh token of the second sign-in', stored.refreshToken);
    expect(readFileSync(oldInode, 'utf8')).toBe(before);
    expect(readFileSync(oldInode, 'utf8')).not.toContain(stored.refreshToken);
    checkMode(path, 0o600);
    expect(listFiles(home).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    rmSync(oldInode);
  });

  it.skipIf(!hasScript())('on a terminal, the hidden prompts of auth login and users add never echo what is typed', async () => {
    // Regression: the question was written before readline turned the terminal's echo off, so an
    // answer typed (or pasted) as soon as the question showed was echoed in clear on the terminal.
    const promptDir = h.temp('sunset-sec-prompt-');
    const promptHome = join(promptDir, 'home');
    const grant = await emu.admin<{ code: string }>('POST', '/__emulator/grants', { scopes: ['ZohoBooks.fullaccess.all'] });
    secrets.add('grant-code', 'the grant code typed at the prompt', grant.body.code);
    const login = await runOnTerminal(['auth', 'login', '--dc', 'EU', '--client-id', emu.info.clientId], { SUNSET_HOME: promptHome, NODE_OPTIONS: env.NODE_OPTIONS!, SECURITY_TEST_ZOHO_ORIGIN: emu.origin }, [
      ['Client secret: ', emu.info.clientSecret],
      ['Grant code from the API console: ', grant.body.code],
    ]);
    answers.push({ where: 'terminal: sunset auth login (typed answers)', text: login.shown, allowValues: [] });
    expect(login.code, login.shown).toBe(0);
    expect(login.shown).toContain('Signed in to Zoho (EU)');
    expect(login.shown).not.toContain(emu.info.clientSecret);
    expect(login.shown).not.toContain(grant.body.code);
    const stored = JSON.parse(readFileSync(join(promptHome, 'credentials.json'), 'utf8')) as { refreshToken: string };
    secrets.add('refresh-token', 'the refresh token of the sign-in at the prompt', stored.refreshToken);
    checkMode(join(promptHome, 'credentials.json'), 0o600);

    const add = await runOnTerminal(['users', 'add', 'alice', '--db', join(promptDir, 'users.db')], { SUNSET_HOME: promptHome }, [['Password: ', PASSWORD], ['Again: ', PASSWORD]]);
    answers.push({ where: 'terminal: sunset users add (typed password)', text: add.shown, allowValues: [] });
    expect(add.code, add.shown).toBe(0);
    expect(add.shown).toContain('User alice added');
    expect(add.shown).not.toContain(PASSWORD);
  });

  it('orgs, policy init, scan and plan with HTML, CSV and JSON reports', async () => {
    const organizations = ok(await cli(['orgs']));
    expect(organizations.stdout).toContain(org1);
    checkMode(join(home, 'tokens.json'), 0o600);
    ok(await cli(['policy', 'init', 'policy.yaml']));
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    writeFileSync(join(dir, 'policy.yaml'), text.replace(/^max_changes: \d+$/m, 'max_changes: 6'));
    ok(await cli(['scan', '--policy', 'policy.yaml', '--per-minute', '6000']));
    ok(await cli(['plan', '--policy', 'policy.yaml']));
    const plan = ok(await cli(['plan', '--policy', 'policy.yaml', '--html', 'report.html', '--csv', 'plan.csv', '--json']));
    const doc = JSON.parse(plan.stdout) as { planId: string; steps: Array<{ contactId: string }> };
    planId = doc.planId;
    planned = doc.steps.map((s) => s.contactId);
    expect(planned).toHaveLength(6);
    writeFileSync(join(dir, 'plan.json'), plan.stdout);
  });

  it('a long apply: the process listing (cmdline, environ) holds no secret; the journal and its -wal/-shm are 0600 while it runs', async () => {
    const fault = await emu.admin('POST', '/__emulator/faults', { faults: ['latency:1000,method=POST,path=/contacts/*/inactive'] });
    expect(fault.status).toBe(200);
    const journal = join(dir, 'sunset.db');
    const proc = h.spawn(['apply', planId, '--yes', '--actor', 'Security Suite', '--per-minute', '6000'], { cwd: dir, env });
    // A step is in flight (written before its call): the process is waiting on the slow status change.
    await pollUntil(async () => {
      if (!proc.running) throw new Error(`apply ended before a step was in flight:\n${proc.stdout}\n${proc.stderr}`);
      try {
        const [row] = queryFile<{ n: number }>(journal, "SELECT COUNT(*) AS n FROM steps WHERE state = 'in_flight'");
        return row!.n > 0 ? true : undefined;
      } catch {
        return undefined; // the journal is being opened
      }
    }, 'a step in flight');
    readListing('sunset apply (mid-run)', proc);
    for (const path of withCompanions(journal)) checkMode(path, 0o600);
    expect(withCompanions(journal).some((p) => p.endsWith('-wal')), 'the journal runs in WAL mode').toBe(true);
    const exit = await proc.exited;
    expect(exit.code, show(exit)).toBe(0);
    runId = startedRun(exit);
    expect((await emu.admin('DELETE', '/__emulator/faults')).status).toBe(200);
  });

  it('runs, runs show, verify, audit (CSV, JSON, a file), undo and contacts deactivate', async () => {
    // Read-only commands side by side (the journal takes concurrent readers).
    const reads = await Promise.all([['runs'], ['runs', 'show', runId], ['runs', 'show', runId, '--json'], ['audit', '--format', 'csv'], ['audit', '--format', 'json'], ['audit', '--format', 'csv', '--output', 'audit.csv']].map((args) => cli(args)));
    reads.forEach(ok);
    ok(await cli(['verify', runId]));
    ok(await cli(['undo', runId, '--yes']));
    // Clear of the safety exclusions, which `contacts deactivate` applies as a plan does.
    const pick = (await emu.contacts(org1)).find((c) => deactivatable(c) && !planned.includes(c.contact_id))!.contact_id;
    ok(await cli(['contacts', 'deactivate', pick, '--yes', '--reason', 'security suite']));
    ok(await cli(['audit', '--format', 'json', '--output', 'audit.json']));
  });

  it('an expired access token, then a bogus one in the token store: the command refreshes and works, printing neither', async () => {
    const tokens = storedAccessTokens();
    expect(tokens.length).toBeGreaterThan(0);
    for (const token of tokens) {
      const expired = await emu.admin('POST', '/__emulator/tokens/expire', { access_token: token });
      expect(expired.status).toBe(200);
    }
    ok(await cli(['verify', runId]));
    const path = join(home, 'tokens.json');
    const all = JSON.parse(readFileSync(path, 'utf8')) as Record<string, { token?: { accessToken: string } }>;
    for (const record of Object.values(all)) if (record.token) record.token.accessToken = BOGUS_ACCESS_TOKEN;
    writeFileSync(path, JSON.stringify(all), { mode: 0o600 });
    ok(await cli(['orgs']));
    expect(storedAccessTokens()).not.toContain(BOGUS_ACCESS_TOKEN);
  });
});

describe('2-4. sunset serve', () => {
  let serve: ChildProc;
  let origin: string;
  let a: SignedIn;
  let b: SignedIn;
  const webhookSecrets: Record<string, string> = {};
  let plan1: string;
  let plan2: string;
  let run1: string;
  // Notifications: a mail server that wants the SMTP password, and a webhook receiver.
  let smtp: SMTPServer;
  let receiver: Server;
  const mails: string[] = [];
  const hooks: string[] = [];
  afterAll(async () => {
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  });

  /** A request with a session, recorded for the leak check. */
  async function api<T = unknown>(session: SignedIn, method: string, path: string, body?: unknown, allowValues: string[] = []): Promise<{ status: number; json: T; text: string }> {
    const r = await session.request<T>(method, path, body === undefined ? {} : { body });
    // GET /api/session hands the page its CSRF token: that is its job.
    const allowed = path === '/api/session' ? [...allowValues, session.csrfToken] : allowValues;
    answers.push({ where: `${method} ${path}`, text: `${[...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${r.text}`, allowValues: allowed });
    return r;
  }

  /** An anonymous or hand-built request, recorded for the leak check. */
  async function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<HttpResult> {
    const r = await toResult(await fetch(`${origin}${path}`, { method, headers, body, redirect: 'manual' }));
    answers.push({ where: `${method} ${path}`, text: `${[...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${r.text}`, allowValues: [] });
    return r;
  }

  interface OrganizationView { organizationId: string; latestPlan: { planId: string } | null; activeJob: unknown; quota?: unknown }

  async function organizationView(id: string): Promise<OrganizationView> {
    const r = await api<OrganizationView[]>(a, 'GET', '/api/orgs');
    expect(r.status).toBe(200);
    return r.json.find((o) => o.organizationId === id)!;
  }

  async function scanToPlan(previous: string | undefined): Promise<string> {
    const scan = await api(a, 'POST', `/api/orgs/${org1}/scan`);
    expect(scan.status, scan.text).toBe(202);
    return pollUntil(async () => {
      const o = await organizationView(org1);
      return o.activeJob === null && o.latestPlan && o.latestPlan.planId !== previous ? o.latestPlan.planId : undefined;
    }, 'the scan and plan to finish', 30_000);
  }

  /** What a refused request must not change: settings, plans, runs, events, the emulator's contacts, the session. */
  async function fingerprint(): Promise<string> {
    const organizations = (await api<OrganizationView[]>(a, 'GET', '/api/orgs')).json.map(({ quota: _quota, ...rest }) => rest);
    const runs = (await api<Array<{ run: { runId: string; state: string }; counts: unknown }>>(a, 'GET', '/api/runs')).json.map((r) => [r.run.runId, r.run.state, r.counts]);
    const events = (await api<unknown[]>(a, 'GET', '/api/webhooks')).json;
    const session = (await api(a, 'GET', '/api/session')).status;
    const contacts = [...(await emu.statuses(org1))].concat([...(await emu.statuses(org2))]).sort();
    return JSON.stringify({ organizations: organizations, runs, events, session, contacts });
  }

  it('users add takes the password from the environment; serve starts with the metrics token from a file; its listing holds no secret', async () => {
    ok(await cli(['users', 'add', 'admin'], { SUNSET_PASSWORD: PASSWORD }));
    // The stored hash is a secret too: the users table holds it, nothing prints it (not even `users list`).
    const [stored] = queryFile<{ password_hash: string }>(join(dir, 'sunset.db'), 'SELECT password_hash FROM users');
    secrets.add('password-hash', 'the stored scrypt hash of the password', stored!.password_hash);
    expect(ok(await cli(['users', 'list'])).stdout).toMatch(/^admin +.* open +current$/m);
    expect(JSON.parse(ok(await cli(['users', 'list', '--json'])).stdout)).toMatchObject({ users: [{ username: 'admin', hash: 'current' }] });
    writeFileSync(join(dir, 'metrics-token.txt'), `${METRICS_TOKEN}\n`, { mode: 0o600 });
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'], allowInsecureAuth: true, logger: false,
      onAuth: (auth, _session, done) => (auth.username === 'sunset-mailer' && auth.password === SMTP_PASSWORD ? done(null, { user: auth.username }) : done(new Error('Invalid login'))),
      onData: (stream, _session, done) => {
        let text = '';
        stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
        stream.on('end', () => {
          mails.push(text);
          done();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        hooks.push(`${JSON.stringify(req.headers)}\n\n${body}`);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    secrets.add('smtp-password', 'the SMTP password of notifications', SMTP_PASSWORD);
    writeFileSync(join(dir, 'smtp-password.txt'), `${SMTP_PASSWORD}\n`, { mode: 0o600 });
    const mail = ['--smtp-url', `smtp://sunset-mailer@127.0.0.1:${(smtp.server.address() as AddressInfo).port}`, '--smtp-password-file', 'smtp-password.txt', '--mail-from', 'sunset@example.test'];
    serve = h.spawn(['serve', '--port', '0', '--metrics-token-file', 'metrics-token.txt', '--per-minute', '6000', ...mail], { cwd: dir, env, timeoutMs: 300_000 });
    await serve.waitFor((out) => /Sunset is serving http:\/\/\S+/.test(out));
    origin = /Sunset is serving (http:\/\/[^\s]+)/.exec(serve.stdout)![1]!;
    readListing('sunset serve', serve);
    a = await signIn(origin, 'admin', PASSWORD);
    b = await signIn(origin, 'admin', PASSWORD);
    for (const s of [a, b]) {
      secrets.add('session-token', 'a session cookie', s.token);
      secrets.add('csrf-token', "a session's CSRF token", s.csrfToken);
    }
    expect((await api(a, 'GET', '/api/session')).status).toBe(200);
  });

  it('the working flow: policy, webhooks (hmac for both organizations), scan, approve, run, and a second plan', async () => {
    const policy = await api(a, 'PUT', `/api/orgs/${org1}/policy`, { text: `organization_id: "${org1}"\ninactivity: 24 months\nmax_changes: 4\n` });
    expect(policy.status, policy.text).toBe(200);
    for (const organization of [org1, org2]) {
      const hook = await a.request<{ secret: string }>('PUT', `/api/orgs/${organization}/webhook`, { body: { mode: 'hmac' } });
      expect(hook.status, hook.text).toBe(200);
      webhookSecrets[organization] = hook.json.secret;
      secrets.add('webhook-secret', `the webhook secret of ${organization}`, hook.json.secret);
      answers.push({ where: `PUT /api/orgs/${organization}/webhook`, text: hook.text, allowValues: [hook.json.secret] });
    }
    // Notifications of the run: by e-mail (through the SMTP password) and a signed webhook (its secret shown once).
    const email = await api(a, 'POST', '/api/notifications/subscriptions', { channel: 'email', address: 'ops@example.test' });
    expect(email.status, email.text).toBe(201);
    const hookSub = await a.request<{ secret: string }>('POST', '/api/notifications/subscriptions', { body: { channel: 'webhook', address: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/sunset` } });
    expect(hookSub.status, hookSub.text).toBe(201);
    secrets.add('webhook-secret', 'the signing secret of a notification webhook', hookSub.json.secret);
    answers.push({ where: 'POST /api/notifications/subscriptions (webhook)', text: hookSub.text, allowValues: [hookSub.json.secret] });
    plan1 = await scanToPlan(undefined);
    const approve = await api<{ runId: string }>(a, 'POST', `/api/plans/${plan1}/approve`, { exclude: [] });
    expect(approve.status, approve.text).toBe(202);
    run1 = approve.json.runId;
    await pollUntil(async () => ((await api<{ run: { state: string } }>(a, 'GET', `/api/runs/${run1}`)).json.run.state === 'done' ? true : undefined), 'the approved run to finish', 30_000);
    // The delivery loop sends both notices within seconds; the outbox says so.
    await pollUntil(async () => {
      const outbox = (await api<Array<{ kind: string; state: string }>>(a, 'GET', '/api/notifications/outbox')).json.filter((n) => n.kind === 'run.finished');
      return outbox.length === 2 && outbox.every((n) => n.state === 'delivered') ? true : undefined;
    }, 'the run\'s notifications to be delivered', 30_000);
    expect(mails.filter((m) => m.includes(run1))).toHaveLength(1);
    expect(hooks.filter((m) => m.includes(run1))).toHaveLength(1);
    answers.push({ where: 'notification e-mails (received by the SMTP server)', text: mails.join('\n'), allowValues: [] });
    answers.push({ where: 'notification webhooks (received)', text: hooks.join('\n'), allowValues: [] });
    plan2 = await scanToPlan(plan1);
    for (const path of [`/api/plans/${plan1}`, `/api/plans/${plan2}/rows`, `/api/runs?org=${org1}`, '/api/audit?format=csv', '/api/audit?format=json', `/api/webhooks?org=${org1}`]) {
      expect((await api(a, 'GET', path)).status, path).toBe(200);
    }
    expect(webhookSecrets[org1]).not.toBe(webhookSecrets[org2]);
  });

  /** The routes with their parameters filled with real ids (so a request that got through would act). */
  function concrete(path: string): string {
    return path.replace(':org', org1).replace(':plan', plan2).replace(':run', run1);
  }

  function bodyFor(method: string, path: string): string | undefined {
    if (method === 'GET' || method === 'HEAD') return undefined;
    if (path.endsWith('/policy')) return JSON.stringify({ text: `organization_id: "${org1}"\ninactivity: 12 months\nmax_changes: 2\n` });
    if (path.endsWith('/schedule')) return JSON.stringify({ cron: '* * * * *', autoApplyMax: 1000 });
    if (path.endsWith('/webhook')) return JSON.stringify({ mode: 'secret', rotateSecret: true, mapping: { inactive: ['Anything'], active: ['Else'] } });
    if (path.endsWith('/approve')) return JSON.stringify({ exclude: [] });
    return JSON.stringify({});
  }

  let routesChecked = 0;
  let refusalsChecked = 0;

  it('3. every route refuses a request without a session (401 for the API, the sign-in page for pages), and nothing changes', async () => {
    const routes = serviceRoutes();
    expect(routes.filter((r) => r.source === 'route').length).toBeGreaterThanOrEqual(16);
    const before = await fingerprint();
    for (const route of routes) {
      const path = concrete(route.path);
      const body = bodyFor(route.method, route.path);
      for (const cookie of [undefined, 'sunset_session=forged-session-value-0123456789abcdefghijklmnopq']) {
        const headers: Record<string, string> = { ...(body ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie } : {}) };
        const r = await raw(route.method, path, headers, body);
        const what = `${route.method} ${path}${cookie ? ' (forged cookie)' : ''}`;
        refusalsChecked++;
        expect(r.headers.get('access-control-allow-origin'), what).toBeNull();
        if (path === '/healthz') {
          expect(r.status, what).toBe(200);
          expect(r.json, what).toEqual({ ok: true });
        } else if (path.startsWith('/api/') || path === '/metrics') {
          expect(r.status, what).toBe(401);
          expect((r.json as { error?: string }).error, what).toEqual(expect.any(String));
        } else {
          expect(r.status, what).toBe(303);
          expect(r.headers.get('location'), what).toBe('/login');
        }
      }
      routesChecked++;
    }
    expect(await fingerprint()).toBe(before);
  });

  it('3. every state-changing route refuses a foreign Origin, Origin: null, Sec-Fetch-Site: cross-site, a missing or another session\'s CSRF token (403), and nothing changes', async () => {
    const changing = serviceRoutes().filter((r) => r.method !== 'GET');
    expect(changing.map((r) => `${r.method} ${r.path}`)).toEqual(expect.arrayContaining(['POST /api/plans/:plan/approve', 'POST /api/runs/:run/undo', 'POST /logout']));
    const before = await fingerprint();
    const cookie = `sunset_session=${a.token}`;
    const variants: Array<[string, Record<string, string>]> = [
      ['a foreign Origin', { origin: 'https://evil.example', 'x-csrf-token': a.csrfToken }],
      ['Origin: null', { origin: 'null', 'x-csrf-token': a.csrfToken }],
      ['the same host on another port', { origin: origin.replace(/:(\d+)$/, (_m, p: string) => `:${Number(p) + 1}`), 'x-csrf-token': a.csrfToken }],
      ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site', 'x-csrf-token': a.csrfToken }],
      ['no CSRF token', { origin, 'sec-fetch-site': 'same-origin' }],
      ["another session's CSRF token", { origin, 'sec-fetch-site': 'same-origin', 'x-csrf-token': b.csrfToken }],
    ];
    for (const route of changing) {
      const path = concrete(route.path);
      const body = bodyFor(route.method, route.path);
      for (const [name, headers] of variants) {
        const r = await raw(route.method, path, { cookie, ...(body ? { 'content-type': 'application/json' } : {}), ...headers }, body);
        refusalsChecked++;
        expect(r.status, `${route.method} ${path}, ${name}: ${r.text}`).toBe(403);
      }
    }
    expect(await fingerprint()).toBe(before);
  });

  // A malformed cookie value makes decodeURIComponent throw in parseCookies (src/service/server.ts):
  // the request is still refused, but with a 500 and a stack trace in the service log instead of a 401.
  it('a malformed session cookie or path is refused like any bad request (401 / 400), not a 500, without data', async () => {
    for (const path of ['/api/orgs', '/api/session', `/api/runs/${run1}`]) {
      const r = await raw('GET', path, { cookie: 'sunset_session=%E0%A4%A' });
      expect(r.status, path).toBe(401);
      expect(r.text, path).not.toContain(org1);
    }
  });

  it('answers only to its own host names: a DNS-rebinding page (another Host) gets 421 and nothing', async () => {
    // fetch() will not send a Host of our choosing; node:http does, as a browser would after rebinding.
    const withHost = (path: string, host: string): Promise<{ status: number; text: string }> => new Promise((resolve, reject) => {
      const u = new URL(path, origin);
      const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'GET', headers: { host } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => void (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end();
    });
    const port = new URL(origin).port;
    for (const host of ['evil.example', `rebind.example:${port}`, `127.0.0.1:${Number(port) + 1}`]) {
      const r = await withHost('/api/orgs', host);
      expect(r.status, host).toBe(421);
      expect(r.text, host).not.toContain(org1);
    }
    expect((await withHost('/api/orgs', `localhost:${port}`)).status).toBe(401);
    expect((await withHost('/api/orgs', `127.0.0.1:${port}`)).status).toBe(401);
  });

  it('4. forged and replayed webhooks are refused: no event stored, nothing applied; the one genuine event is applied once', async () => {
    interface RawContact { contact_id: string; status: string; zcrm_account_id?: string }
    const list = await emu.books<{ contacts: RawContact[] }>('GET', '/contacts', { organization_id: org1, filter_by: 'Status.Active', per_page: 200 });
    const linked = list.body.contacts.filter((c) => c.zcrm_account_id);
    expect(linked.length).toBeGreaterThanOrEqual(3);
    const [genuine, target1, target2] = linked as [RawContact, RawContact, RawContact];
    const hook = async (organization: string, body: string, headers: Record<string, string>, query = '', kind: 'crm' | 'signal' = 'crm'): Promise<{ status: number; text: string }> => {
      const r = await raw('POST', `/hooks/${kind}/${organization}${query}`, { 'content-type': 'application/json', ...headers }, body);
      return { status: r.status, text: r.text };
    };
    const events = async (): Promise<Array<{ eventId: string; state: string; crmAccountId: string | null }>> =>
      (await api<Array<{ eventId: string; state: string; crmAccountId: string | null }>>(a, 'GET', '/api/webhooks')).json;
    const crmRuns = async (): Promise<string[]> =>
      (await api<Array<{ run: { runId: string; kind: string } }>>(a, 'GET', '/api/runs')).json.filter((r) => r.run.kind === 'crm').map((r) => r.run.runId);

    // Live progress, read as a browser would, for the leak check.
    const controller = new AbortController();
    const sse = await fetch(`${origin}/api/events`, { headers: { cookie: `sunset_session=${a.token}` }, signal: controller.signal });
    expect(sse.status).toBe(200);
    let stream = '';
    const reading = (async () => {
      const reader = sse.body!.getReader();
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          stream += decoder.decode(value, { stream: true });
        }
      } catch {
        // aborted
      }
    })();

    const seq = await emu.seq();
    const eventsBefore = await events();
    const runsBefore = await crmRuns();
    const now = Math.floor(Date.now() / 1000);
    const genuineBody = JSON.stringify({ crm_account_id: genuine.zcrm_account_id, status: 'Churned', event_id: 'sec-genuine-1' });
    const genuineHeaders = signHook(webhookSecrets[org1]!, genuineBody, now);
    const accepted = await hook(org1, genuineBody, genuineHeaders);
    expect(accepted.status, accepted.text).toBe(202);

    const forged1 = JSON.stringify({ crm_account_id: target1.zcrm_account_id, status: 'Churned', event_id: 'sec-forged-1' });
    const forged2 = JSON.stringify({ crm_account_id: target2.zcrm_account_id, status: 'Churned', event_id: 'sec-forged-2' });
    const cases: Array<[string, string, string, Record<string, string>, string, number]> = [
      ["signed with the other organization's secret", org1, forged1, signHook(webhookSecrets[org2]!, forged1, now), '', 401],
      ['a body swapped under a valid signature', org1, forged2, signHook(webhookSecrets[org1]!, forged1, now), '', 401],
      ["the genuine request's timestamp and signature with a new body", org1, forged1, genuineHeaders, '', 401],
      ['the genuine request sent to the other organization', org2, genuineBody, genuineHeaders, '', 401],
      ['the secret itself in X-Sunset-Secret (secret mode) to an hmac organization', org1, forged1, { 'x-sunset-secret': webhookSecrets[org1]! }, '', 401],
      ['the secret itself in ?secret= to an hmac organization', org1, forged1, {}, `?secret=${webhookSecrets[org1]!}`, 401],
      ["the other organization's secret in X-Sunset-Secret", org2, forged1, { 'x-sunset-secret': webhookSecrets[org2]! }, '', 401],
      ['a valid signature of an hour-old timestamp', org1, forged1, signHook(webhookSecrets[org1]!, forged1, now - 3600), '', 401],
      ['the genuine request replayed as is', org1, genuineBody, genuineHeaders, '', 409],
    ];
    // Other platforms' signals (POST /hooks/signal/ORG) answer to the same secret and rules.
    for (const kind of ['crm', 'signal'] as const) {
      for (const [name, organization, body, headers, query, status] of cases) {
        const r = await hook(organization, body, headers, query, kind);
        refusalsChecked++;
        expect(r.status, `${kind}: ${name}: ${r.text}`).toBe(status);
      }
    }

    const after = await pollUntil(async () => {
      const list = await events();
      const e = list.find((x) => x.crmAccountId === genuine.zcrm_account_id && !eventsBefore.some((y) => y.eventId === x.eventId));
      return e && e.state !== 'accepted' && e.state !== 'processing' ? list : undefined;
    }, 'the genuine event to be applied', 30_000);
    const added = after.filter((x) => !eventsBefore.some((y) => y.eventId === x.eventId));
    expect(added.map((e) => [e.crmAccountId, e.state])).toEqual([[genuine.zcrm_account_id, 'applied']]);
    expect((await crmRuns()).filter((r) => !runsBefore.includes(r))).toHaveLength(1);
    expect(await emu.status(genuine.contact_id, org1)).toBe('inactive');
    for (const t of [target1, target2]) expect(await emu.status(t.contact_id, org1)).toBe('active');
    const touched = (await emu.statusPosts(seq)).map((p) => p.contactId);
    expect(touched.filter((id) => id !== genuine.contact_id)).toEqual([]);
    controller.abort();
    await reading;
    expect(stream).toContain('event: webhook');
    answers.push({ where: 'GET /api/events (SSE)', text: stream, allowValues: [] });
  });

  it('/metrics answers the metrics token and a session', async () => {
    const bearer = await raw('GET', '/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
    expect(bearer.status).toBe(200);
    expect(bearer.text).toContain('sunset_runs');
    expect((await api(a, 'GET', '/metrics')).status).toBe(200);
    expect((await raw('GET', '/metrics', { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}` })).status).toBe(401);
  });

  it('logout ends the session; serve stops on Ctrl-C', async () => {
    expect((await api(b, 'POST', '/logout')).status).toBe(303);
    expect((await api(b, 'GET', '/api/session')).status).toBe(401);
    serve.kill('SIGINT');
    const exit = await serve.exited;
    expect(exit.signal, show(exit)).toBeNull();
    console.log(`[security] serve: ${routesChecked} routes checked anonymously and with a forged cookie; ${refusalsChecked} refused requests in all`);
  });
});

describe('1. a revoked refresh token, and sign-out', () => {
  it('every command then fails with a clear message and no secret; auth logout deletes the credentials and tokens', async () => {
    const stored = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8')) as { refreshToken: string };
    // The files as they are before sign-out, for the leak check.
    scanStoryFiles('before sign-out');
    const revoke = await fetch(`${emu.origin}/oauth/v2/token/revoke`, { method: 'POST', body: new URLSearchParams({ token: stored.refreshToken }) });
    expect(await revoke.json()).toEqual({ status: 'success' });
    for (const exit of await Promise.all([cli(['orgs']), cli(['scan', '--policy', 'policy.yaml'])])) {
      expect(exit.code, show(exit)).toBe(1);
      expect(exit.stderr).toContain('refused the refresh token (invalid_code)');
      expect(exit.stderr).toContain('sunset auth login');
      expect(exit.stderr).not.toMatch(/^\s+at /m);
    }
    const logout = ok(await cli(['auth', 'logout']));
    expect(logout.stdout).toContain('Signed out');
    expect(existsSync(join(home, 'credentials.json'))).toBe(false);
    expect(existsSync(join(home, 'tokens.json'))).toBe(false);
  });
});

/** Scans the story directory's files, each against what it may hold by design. */
const fileScan = { files: 0, bytes: 0, rows: 0, tables: 0, values: 0, leaks: [] as Leak[] };
function scanStoryFiles(when: string): void {
  collectEmulatorSecrets();
  const journalRowsAllow: Record<string, readonly SecretKind[]> = {
    // By design: HMAC needs the secret itself; the CSRF token is compared with what the page sends.
    'organization_settings.webhook_secret': ['webhook-secret'],
    'sessions.csrf_token': ['csrf-token'],
    'users.password_hash': ['password-hash'],
    // By design, as the CRM webhook's: a notification webhook is signed with its secret itself.
    'notification_subscriptions.secret': ['webhook-secret'],
  };
  for (const file of listFiles(dir)) {
    const path = join(dir, file);
    let allow: SecretKind[] = [];
    if (file === join('home', 'credentials.json')) allow = ['client-secret', 'refresh-token'];
    else if (file === join('home', 'tokens.json')) allow = ['access-token'];
    // A connection's cached access token (src/cli/connection.ts), owner-only like tokens.json.
    else if (file.startsWith(`${join('home', 'tokens')}/`)) allow = ['access-token'];
    else if (file === 'metrics-token.txt') allow = ['metrics-token'];
    else if (file === 'smtp-password.txt') allow = ['smtp-password'];
    else if (/^sunset\.db(-wal|-shm|-journal)?$/.test(file)) allow = ['webhook-secret', 'csrf-token', 'password-hash'];
    const text = fileText(path);
    fileScan.files++;
    fileScan.bytes += text.length;
    fileScan.leaks.push(...findLeaks(`${when}: ${file}`, text, secrets, allow));
  }
  for (const database of ['sunset.db', 'connections.db']) {
    if (!existsSync(join(dir, database))) continue;
    const rows = scanSqliteRows(join(dir, database), secrets, journalRowsAllow);
    fileScan.tables += rows.tables;
    fileScan.rows += rows.rows;
    fileScan.values += rows.values;
    fileScan.leaks.push(...rows.leaks.map((l) => ({ ...l, where: `${when}: ${database} ${l.where}` })));
  }
}

/** Every OAuth secret the emulator ever issued or holds, from its own database. */
function collectEmulatorSecrets(): void {
  for (const r of queryFile<{ client_secret: string }>(emuDb, 'SELECT client_secret FROM oauth_clients')) secrets.add('client-secret', 'an emulator client secret', r.client_secret);
  for (const r of queryFile<{ code: string }>(emuDb, 'SELECT code FROM oauth_grants')) secrets.add('grant-code', 'a grant code the emulator issued', r.code);
  for (const r of queryFile<{ token: string }>(emuDb, 'SELECT token FROM oauth_refresh_tokens')) secrets.add('refresh-token', 'a refresh token the emulator issued', r.token);
  for (const r of queryFile<{ token: string }>(emuDb, 'SELECT token FROM oauth_access_tokens')) secrets.add('access-token', 'an access token the emulator issued', r.token);
}

describe('5. organization isolation in the emulator: a token for organization A only', () => {
  it('can neither read nor change organization B through any Books route; A and B are unchanged', async () => {
    const [orgA, orgB] = [org1, org2];
    const grant = await emu.admin<{ code: string }>('POST', '/__emulator/grants', { scopes: ['ZohoBooks.fullaccess.all'], organization_ids: [orgA] });
    const exchange = await fetch(`${emu.origin}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: emu.info.clientId, client_secret: emu.info.clientSecret, code: grant.body.code }),
    });
    const tokens = (await exchange.json()) as { access_token: string; refresh_token: string };
    const token = tokens.access_token;
    expect(token).toMatch(/^1000\./);

    const dump = (organization: string): string => JSON.stringify({
      organization: queryFile(emuDb, 'SELECT * FROM organizations WHERE organization_id = ?', [organization]),
      contacts: queryFile(emuDb, 'SELECT * FROM contacts WHERE organization_id = ? ORDER BY contact_id', [organization]),
      comments: queryFile(emuDb, 'SELECT * FROM contact_comments WHERE organization_id = ? ORDER BY comment_id', [organization]),
      transactions: queryFile(emuDb, 'SELECT * FROM transactions WHERE organization_id = ? ORDER BY transaction_id', [organization]),
      numbers: queryFile(emuDb, 'SELECT * FROM meta WHERE key LIKE ? ORDER BY key', [`seq:${organization}:%`]),
    });
    const beforeA = dump(orgA);
    const beforeB = dump(orgB);

    interface Row { contact_id: string; contact_type: string; status: string; transaction_count: number; contact_name: string }
    const contactsB = queryFile<Row>(emuDb, 'SELECT contact_id, contact_type, status, transaction_count, contact_name FROM contacts WHERE organization_id = ?', [orgB]);
    const customerB = contactsB.find((c) => c.contact_type === 'customer' && c.status === 'active')!;
    const vendorB = contactsB.find((c) => c.contact_type === 'vendor' && c.status === 'active')!;
    const deletableB = contactsB.find((c) => c.transaction_count === 0) ?? customerB;
    const inactiveB = contactsB.find((c) => c.status === 'inactive') ?? vendorB;
    const customerA = queryFile<Row>(emuDb, "SELECT contact_id FROM contacts WHERE organization_id = ? AND contact_type = 'customer' AND status = 'active' LIMIT 1", [orgA])[0]!;
    const vendorA = queryFile<Row>(emuDb, "SELECT contact_id FROM contacts WHERE organization_id = ? AND contact_type = 'vendor' AND status = 'active' LIMIT 1", [orgA])[0]!;
    expect([customerB, vendorB, customerA, vendorA].every(Boolean)).toBe(true);
    const nameB = (queryFile<{ name: string }>(emuDb, 'SELECT name FROM organizations WHERE organization_id = ?', [orgB])[0]!).name;

    const typeOf = (path: string): TransactionTypeInfo | undefined => Object.values(TRANSACTION_TYPES).find((t) => path === t.path || path.startsWith(`${t.path}/`));
    const docOfB = (t: TransactionTypeInfo): string =>
      queryFile<{ transaction_id: string }>(emuDb, 'SELECT transaction_id FROM transactions WHERE organization_id = ? AND type = ? LIMIT 1', [orgB, t.type])[0]?.transaction_id ?? '4000000000000000001';

    /** The request a B-reaching token would make succeed; `refsB` = false when it names nothing of B's. */
    const requestFor = (method: string, pattern: string): { path: string; body?: unknown; refsB: boolean } => {
      const t = typeOf(pattern);
      if (t) {
        if (pattern.endsWith('/:id')) return { path: pattern.replace(':id', docOfB(t)), refsB: true };
        if (method === 'GET') return { path: pattern, refsB: false };
        const contact = t.contactType === 'customer' ? customerB : vendorB;
        const money = t.amountField === 'amount' ? { amount: 10 } : { line_items: [{ name: 'Isolation probe', rate: 10, quantity: 1 }] };
        const settles = t.settles ? { [TRANSACTION_TYPES[t.settles].listKey]: [{ [TRANSACTION_TYPES[t.settles].idField]: docOfB(TRANSACTION_TYPES[t.settles]), amount_applied: 1 }] } : {};
        return { path: pattern, body: { [t.contactIdField]: contact.contact_id, ...money, ...settles }, refsB: true };
      }
      if (pattern === '/contacts' && method === 'POST') return { path: pattern, body: { contact_name: 'Isolation probe from A', contact_type: 'customer' }, refsB: false };
      if (pattern === '/contacts' || pattern === '/organizations') return { path: pattern, refsB: false };
      if (pattern === '/organizations/:organization_id') return { path: `/organizations/${orgB}`, body: { name: 'Renamed through organization A', time_zone: 'Pacific/Kiritimati' }, refsB: true };
      if (pattern.endsWith('/active')) return { path: pattern.replace(':contact_id', inactiveB.contact_id), refsB: true };
      if (pattern.endsWith('/inactive')) return { path: pattern.replace(':contact_id', customerB.contact_id), refsB: true };
      if (method === 'DELETE') return { path: pattern.replace(':contact_id', deletableB.contact_id), refsB: true };
      if (method === 'PUT') return { path: pattern.replace(':contact_id', customerB.contact_id), body: { contact_name: 'Renamed through organization A' }, refsB: true };
      return { path: pattern.replace(':contact_id', customerB.contact_id), refsB: true };
    };

    const call = async (method: string, path: string, query: string, body: unknown): Promise<{ status: number; body: { code?: number; message?: string; error_info?: Array<{ organization_id: string; name: string }>; organizations?: Array<{ organization_id: string }> } }> => {
      const response = await fetch(`${emu.info.baseUrl}${path}${query}`, {
        method,
        headers: { authorization: `Zoho-oauthtoken ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as never };
    };

    const routes = [...organizationRoutes, ...contactRoutes, ...transactionRoutes];
    let checked = 0;
    let requests = 0;
    const problems: string[] = [];
    for (const [method, pattern, route] of routes) {
      const { path, body, refsB } = requestFor(method, pattern);
      if (route.level === 'account' && refsB) {
        // PUT /organizations/B: the documented 400, code 6024, naming only A.
        const r = await call(method, path, '', body);
        requests++;
        const text = JSON.stringify(r.body);
        if (r.status !== 400 || r.body.code !== 6024 || text.includes(orgB) || text.includes(nameB)) problems.push(`${method} ${path}: ${r.status} ${text.slice(0, 200)}`);
        expect(r.body.error_info?.map((o) => o.organization_id), `${method} ${path}`).toEqual([orgA]);
        checked++;
        continue;
      }
      if (route.level === 'account') {
        // GET /organizations: only A is listed.
        const r = await call(method, path, '', body);
        requests++;
        if (r.status !== 200 || JSON.stringify(r.body).includes(orgB)) problems.push(`${method} ${pattern}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        expect(r.body.organizations?.map((o) => o.organization_id)).toEqual([orgA]);
        checked++;
        continue;
      }
      // organization_id=B (and B first of two): the documented 400, code 6024, naming only A.
      for (const query of [`?organization_id=${orgB}`, `?organization_id=${orgB}&organization_id=${orgA}`]) {
        const r = await call(method, path, query, body);
        requests++;
        const text = JSON.stringify(r.body);
        if (r.status !== 400 || r.body.code !== 6024 || r.body.message !== 'Invalid organization.' || text.includes(orgB) || text.includes(nameB)) {
          problems.push(`${method} ${path}${query}: ${r.status} ${text.slice(0, 200)}`);
        }
        expect(r.body.error_info?.map((o) => o.organization_id), `${method} ${path}${query}`).toEqual([orgA]);
      }
      // organization_id=A (and none, A being the only one) with B's ids: refused as unknown.
      if (refsB) {
        for (const query of [`?organization_id=${orgA}`, '']) {
          const r = await call(method, path, query, body);
          requests++;
          if (r.status < 400 || r.body.code === 0 || JSON.stringify(r.body).includes(nameB)) problems.push(`${method} ${path}${query} (B's ids under A): ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        }
      }
      checked++;
    }
    // A payment in A that names B's invoice / bill under A's own contact.
    for (const t of [TRANSACTION_TYPES.customerpayments, TRANSACTION_TYPES.vendorpayments]) {
      const settles = TRANSACTION_TYPES[t.settles!];
      const r = await call('POST', t.path, `?organization_id=${orgA}`, {
        [t.contactIdField]: (t.contactType === 'customer' ? customerA : vendorA).contact_id, amount: 5,
        [settles.listKey]: [{ [settles.idField]: docOfB(settles), amount_applied: 1 }],
      });
      requests++;
      if (r.status < 400 || r.body.code === 0) problems.push(`POST ${t.path} in A applied to B's ${settles.label}: ${r.status}`);
    }
    // The token works in A (the refusals are about B, not a broken token).
    expect((await call('GET', '/contacts', `?organization_id=${orgA}`, undefined)).status).toBe(200);
    expect(problems).toEqual([]);
    expect(checked).toBe(routes.length);
    expect(dump(orgB)).toBe(beforeB);
    expect(dump(orgA)).toBe(beforeA);
    console.log(`[security] emulator isolation: ${checked} Books routes, ${requests} requests with a token for ${orgA} only; ${orgB}'s and ${orgA}'s data unchanged`);
  });
});

describe('2. owner-only files', () => {
  it('the embedded emulator keeps its state owner-only too (no credentials: sunset orgs on a fresh journal)', async () => {
    const fresh = join(dir, 'embedded');
    mkdirSync(fresh);
    ok(await h.run(['orgs', '--db', join(fresh, 'sunset.db')], { cwd: fresh, env: { SUNSET_HOME: join(fresh, 'home') } }));
    for (const path of [...withCompanions(join(fresh, 'sunset.db')), ...withCompanions(join(fresh, 'sunset-emulator.db'))]) checkMode(path, 0o600);
    expect(existsSync(join(fresh, 'sunset-emulator.db'))).toBe(true);
    rmSync(fresh, { recursive: true, force: true });
  });

  it('credentials, token store, journal (the service database too), emulator databases and reports (they hold customer names and amounts) are 0600 (directories 0700)', () => {
    for (const path of withCompanions(join(dir, 'sunset.db'))) checkMode(path, 0o600);
    for (const path of withCompanions(emuDb)) checkMode(path, 0o600);
    for (const file of ['report.html', 'plan.csv', 'audit.csv', 'audit.json']) checkMode(join(dir, file), 0o600);
    checkMode(join(dir, 'policy.yaml'));
    const wrong = modes.filter((m) => m.required !== undefined && m.mode !== m.required).map((m) => `${m.path}: ${octal(m.mode)}, expected ${octal(m.required!)}`);
    expect(wrong).toEqual([]);
    const writable = modes.filter((m) => m.required === undefined && (m.mode & 0o022) !== 0).map((m) => `${m.path}: ${octal(m.mode)}`);
    expect(writable).toEqual([]);
    console.log(`[security] modes: ${modes.map((m) => `${m.path.replace(dir, '.').replace(emuDb, 'emulator.db')} ${octal(m.mode)}`).join(', ')}`);
  });
});

describe('1. no secret anywhere it does not belong', () => {
  it('no command accepts a secret as a flag: secrets come from the environment, a hidden prompt or a file (every parseArgs option of src/cli)', () => {
    // Every module of src/cli: the commands, and the shared option tables (workspace.ts, command-table.ts).
    const cli = join(ROOT, 'src', 'cli');
    const sources = [...readdirSync(cli).filter((f) => f.endsWith('.ts')).map((f) => join(cli, f)), ...readdirSync(join(cli, 'commands')).map((f) => join(cli, 'commands', f))];
    const flags = new Set<string>();
    for (const file of sources) {
      // Only string options can carry a value; booleans (--secure-cookies) cannot hold a secret.
      for (const m of readFileSync(file, 'utf8').matchAll(/'?([a-z][a-z-]*)'?\s*:\s*\{\s*type:\s*'string'/g)) flags.add(m[1]!);
    }
    expect(flags.size).toBeGreaterThanOrEqual(30);
    expect([...flags]).toEqual(expect.arrayContaining(['client-id', 'dc', 'metrics-token-file', 'emulator', 'credentials']));
    const offending = [...flags].filter((f) => /secret|pass|token|code|key|grant|refresh|bearer|cookie|csrf/.test(f) && !f.endsWith('-file') && f !== 'token-ttl');
    expect(offending).toEqual([]);
  });

  it('stdout, stderr, HTTP answers, files, journal rows and process listings hold no secret', async () => {
    readListing('sunset emulator start', emu.proc);
    // The emulator's request log is read by other people's test suites: query secrets are redacted.
    const log = await fetch(`${emu.origin}/__emulator/requests?limit=100000`);
    answers.push({ where: 'GET /__emulator/requests (the whole request log)', text: await log.text(), allowValues: [] });
    scanStoryFiles('at the end');
    const leaks: Leak[] = [...fileScan.leaks];
    let outputs = 0;
    for (const { args, exit } of h.commands) {
      outputs += 2;
      leaks.push(...findLeaks(`sunset ${args.join(' ')}: arguments`, args.join(' '), secrets));
      leaks.push(...findLeaks(`sunset ${args.join(' ')}: stdout`, exit.stdout, secrets));
      leaks.push(...findLeaks(`sunset ${args.join(' ')}: stderr`, exit.stderr, secrets));
    }
    // The emulator's --json line carries its ready-made credentials by design; its log must not.
    outputs++;
    leaks.push(...findLeaks('sunset emulator start: stderr', emu.proc.stderr, secrets));
    for (const answer of answers) leaks.push(...findLeaks(`HTTP ${answer.where}`, answer.text, secrets, [], answer.allowValues));
    for (const l of listings) {
      leaks.push(...findLeaks(`${l.what}: /proc cmdline`, l.cmdline.join(' '), secrets));
      leaks.push(...findLeaks(`${l.what}: /proc environ`, l.environ.join('\n'), secrets));
    }
    expect(listings.map((l) => l.what)).toEqual(['sunset apply (mid-run)', 'sunset serve', 'sunset emulator start']);
    // Controls: the scanners do see secrets where they live by design, so a clean result means something.
    expect(findLeaks('control', emu.proc.stdout, secrets).length, "the emulator's --json line").toBeGreaterThan(0);
    const rowsUnallowed = scanSqliteRows(join(dir, 'sunset.db'), secrets).leaks.map((l) => l.where.replace(/^.*: /, ''));
    expect(rowsUnallowed).toEqual(expect.arrayContaining(['organization_settings.webhook_secret', 'sessions.csrf_token', 'users.password_hash', 'notification_subscriptions.secret']));
    expect(listings.every((l) => l.environ.some((e) => e.startsWith('PATH=')))).toBe(true);
    expect(listings[0]!.cmdline).toContain('apply');
    expect(secrets.count('access-token')).toBeGreaterThanOrEqual(4);
    expect(secrets.count('grant-code')).toBeGreaterThanOrEqual(3);
    expect(leaks).toEqual([]);
    console.log(
      `[security] leak scan: ${secrets.count()} secrets (${JSON.stringify(secrets.kinds())}); ${h.commands.length} commands (${outputs} outputs), ` +
        `${answers.length} HTTP answers, ${fileScan.files} files (${Math.round(fileScan.bytes / 1024)} KiB), ${fileScan.tables} tables / ${fileScan.rows} rows / ${fileScan.values} text values of the journal, ` +
        `${listings.length} process listings`,
    );
  });
});
