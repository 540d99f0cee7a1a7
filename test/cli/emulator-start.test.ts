/**
 * End-to-end tests of `sunset emulator start`: the built CLI (dist/cli/main.js, `npm test` builds
 * it first) runs as a real subprocess on a free loopback port; the tests speak real HTTP to it and
 * keep state in real temp dirs. Readiness is the first stdout line (the --json line, or the human
 * banner), never a sleep. Every child is killed in afterEach. Bad input, refused before anything
 * listens, goes through the CLI's main() in this process.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runMain } from '../helpers/cli.js';
import { accessTokenAt, tempDir } from '../helpers/emulator.js';
import type { AccountInfo } from '../../src/emulator/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Info {
  baseUrl: string;
  accountsUrl: string;
  organizations: Array<{ organization_id: string; name: string; plan: string }>;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  accessToken: string;
}

/** A running `sunset ...` subprocess with its output collected as it arrives. */
class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private listeners: Array<() => void> = [];

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      this.stdout += chunk;
      this.notify();
    });
    child.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise<Exit>((resolve) => {
      child.on('close', (code, signal) => {
        this.exit = { code, signal, stdout: this.stdout, stderr: this.stderr };
        this.notify();
        resolve(this.exit);
      });
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves with stdout once `ready(stdout)` holds; rejects if the process ends first. */
  waitForStdout(ready: (stdout: string) => boolean): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const check = (): void => {
        if (ready(this.stdout)) {
          this.listeners = this.listeners.filter((l) => l !== check);
          resolve(this.stdout);
        } else if (this.exit) {
          this.listeners = this.listeners.filter((l) => l !== check);
          reject(new Error(`sunset exited (code ${this.exit.code}, signal ${this.exit.signal}) before it was ready.\nstdout: ${this.stdout}\nstderr: ${this.stderr}`));
        }
      };
      this.listeners.push(check);
      check();
    });
  }

  /** Sends `signal` and waits for the process to end. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }
}

const processes = new Set<CliProcess>();
const cleanups: Array<() => void> = [];

function spawnCli(args: string[]): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: 'pipe' });
  const proc = new CliProcess(child);
  processes.add(proc);
  return proc;
}

function temp(): string {
  const dir = tempDir('sunset-cli-');
  cleanups.push(dir.cleanup);
  return dir.path;
}

afterEach(async () => {
  const all = [...processes];
  processes.clear();
  for (const proc of all) if (proc.running) proc.child.kill('SIGKILL');
  await Promise.all(all.map((proc) => proc.exited));
  for (const cleanup of cleanups.splice(0)) cleanup();
});

interface Started {
  proc: CliProcess;
  info: Info;
  origin: string;
  /** The first stdout line, as printed. */
  line: string;
}

async function startJson(args: string[] = []): Promise<Started> {
  const proc = spawnCli(['emulator', 'start', '--port', '0', '--json', ...args]);
  const stdout = await proc.waitForStdout((s) => s.includes('\n'));
  const line = stdout.slice(0, stdout.indexOf('\n'));
  const info = JSON.parse(line) as Info;
  return { proc, info, origin: info.accountsUrl, line };
}

interface Reply<T> {
  status: number;
  headers: Headers;
  body: T;
}

async function books<T = Record<string, unknown>>(
  info: Info,
  method: string,
  path: string,
  query: Record<string, string | number> = {},
  token: string = info.accessToken,
): Promise<Reply<T>> {
  const url = new URL(`${info.baseUrl}${path}`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
  const response = await fetch(url, { method, headers: { authorization: `Zoho-oauthtoken ${token}` } });
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

async function admin<T = Record<string, unknown>>(origin: string, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

interface ContactSummary {
  contact_id: string;
  contact_name: string;
  status: string;
}

/** Every contact of an organization, following pages. */
async function allContacts(info: Info, organization: string): Promise<ContactSummary[]> {
  const out: ContactSummary[] = [];
  for (let page = 1; ; page++) {
    const r = await books<{ contacts: ContactSummary[]; page_context: { has_more_page: boolean } }>(info, 'GET', '/contacts', {
      organization_id: organization,
      filter_by: 'Status.All',
      per_page: 200,
      page,
    });
    expect(r.status).toBe(200);
    out.push(...r.body.contacts);
    if (!r.body.page_context.has_more_page) return out;
  }
}

async function refresh(info: Info): Promise<Reply<Record<string, unknown>>> {
  const response = await fetch(`${info.accountsUrl}/oauth/v2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: info.clientId,
      client_secret: info.clientSecret,
      refresh_token: info.refreshToken,
    }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

/** The shape every user-mistake message must have: one `sunset: ` paragraph, no stack. */
function expectCleanError(exit: Exit): void {
  expect(exit.stdout).toBe('');
  expect(exit.stderr.startsWith('sunset: ')).toBe(true);
  expect(exit.stderr).not.toContain('    at ');
  expect(exit.stderr).not.toMatch(/\n\s*\n/);
  expect(exit.stderr).not.toContain('unexpected error');
  expect(exit.stderr.trim().length).toBeGreaterThan(0);
}

describe('sunset emulator start --json', () => {
  it('prints exactly one JSON line with addresses, organizations and credentials, and nothing more on stdout', async () => {
    const { proc, info, line } = await startJson(['--contacts', '100']);
    expect(Object.keys(info).sort()).toEqual(['accessToken', 'accountsUrl', 'baseUrl', 'clientId', 'clientSecret', 'organizations', 'refreshToken']);
    expect(info.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/books\/v3$/);
    expect(info.baseUrl).toBe(`${info.accountsUrl}/books/v3`);
    expect(Number(new URL(info.baseUrl).port)).toBeGreaterThan(0);
    for (const key of ['clientId', 'clientSecret', 'refreshToken', 'accessToken'] as const) {
      expect(typeof info[key]).toBe('string');
      expect(info[key].length).toBeGreaterThan(10);
    }
    expect(info.organizations.length).toBe(2);
    for (const organization of info.organizations) {
      expect(Object.keys(organization).sort()).toEqual(['name', 'organization_id', 'plan']);
      expect(organization.organization_id).toMatch(/^\d+$/);
      expect(organization.name.length).toBeGreaterThan(0);
      expect(organization.plan.length).toBeGreaterThan(0);
    }
    // The line is the admin API's info, byte for byte.
    const fromAdmin = await admin(info.accountsUrl, 'GET', '/__emulator/info');
    expect(fromAdmin.body).toEqual(info);

    // Traffic (Books, OAuth, admin, errors) must not add anything to stdout.
    await books(info, 'GET', '/organizations');
    await books(info, 'GET', '/contacts', { organization_id: info.organizations[0]!.organization_id });
    await books(info, 'GET', '/contacts', {}, 'not-a-token');
    await refresh(info);

    const exit = await proc.stop('SIGTERM');
    expect(exit.stdout).toBe(`${line}\n`);
  });

  it('serves the Books API with the printed access token', async () => {
    const { info } = await startJson(['--contacts', '100']);
    const organizations = await books<{ code: number; organizations: Array<{ organization_id: string; name: string }> }>(info, 'GET', '/organizations');
    expect(organizations.status).toBe(200);
    expect(organizations.body.code).toBe(0);
    expect(organizations.body.organizations.map((o) => o.organization_id)).toEqual(info.organizations.map((o) => o.organization_id));
    expect(organizations.body.organizations.map((o) => o.name)).toEqual(info.organizations.map((o) => o.name));

    const organization = info.organizations[0]!.organization_id;
    const contacts = await books<{ code: number; contacts: ContactSummary[] }>(info, 'GET', '/contacts', { organization_id: organization, per_page: 5 });
    expect(contacts.status).toBe(200);
    expect(contacts.body.code).toBe(0);
    expect(contacts.body.contacts.length).toBe(5);
    expect(await allContacts(info, organization)).toHaveLength(100);

    // And a wrong token is refused, so the 200s above really depended on the printed one.
    const refused = await books(info, 'GET', '/organizations', {}, `${info.accessToken}x`);
    expect(refused.status).toBe(401);
  });

  it('exchanges the printed refresh token at accountsUrl/oauth/v2/token for a working access token', async () => {
    const { info } = await startJson(['--contacts', '100']);
    const token = await refresh(info);
    expect(token.status).toBe(200);
    expect(token.body.token_type).toBe('Bearer');
    expect(token.body.expires_in).toBe(3600);
    expect(typeof token.body.access_token).toBe('string');
    expect(token.body.access_token).not.toBe(info.accessToken);
    const organizations = await books(info, 'GET', '/organizations', {}, token.body.access_token as string);
    expect(organizations.status).toBe(200);

    const wrongSecret = await fetch(`${info.accountsUrl}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: info.clientId, client_secret: 'nope', refresh_token: info.refreshToken }),
    });
    expect(((await wrongSecret.json()) as { access_token?: string }).access_token).toBeUndefined();
  });

  it('stops on SIGTERM with exit code 0 and says so on stderr', async () => {
    const { proc, info } = await startJson(['--contacts', '100']);
    expect(proc.stderr).not.toContain('Stopping');
    const exit = await proc.stop('SIGTERM');
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(0);
    expect(exit.stderr).toMatch(/stopping/i);
    expect(exit.stderr).not.toContain('    at ');
    // The port is closed.
    await expect(fetch(`${info.accountsUrl}/__emulator/info`)).rejects.toThrow();
  });
});

describe('sunset emulator start (human output)', () => {
  it('names the listening URL, the organizations and the credentials, and stops on Ctrl-C', async () => {
    const proc = spawnCli(['emulator', 'start', '--port', '0', '--contacts', '100']);
    const out = await proc.waitForStdout((s) => s.includes('Ctrl-C'));
    const origin = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(origin).toBeDefined();
    const info = (await admin<Info>(origin!, 'GET', '/__emulator/info')).body;
    expect(out).toContain(info.baseUrl);
    expect(out).toContain(`${info.accountsUrl}/oauth/v2/token`);
    expect(info.organizations).toHaveLength(2);
    for (const organization of info.organizations) {
      expect(out).toContain(organization.organization_id);
      expect(out).toContain(organization.name);
    }
    expect(out).toMatch(new RegExp(`${info.organizations[0]!.organization_id}.*100 contacts`));
    expect(out).toMatch(new RegExp(`${info.organizations[1]!.organization_id}.*20 contacts`));
    expect(out).toContain(info.clientId);
    expect(out).toContain(info.clientSecret);
    expect(out).toContain(info.refreshToken);
    expect(out).toContain(info.accessToken);
    // The printed access token is a real one.
    expect((await books(info, 'GET', '/organizations')).status).toBe(200);

    const exit = await proc.stop('SIGINT');
    expect(exit.code).toBe(0);
    expect(exit.stderr).toMatch(/stopping/i);
  });
});

describe('sunset emulator start --db', () => {
  it('keeps state in the file across a restart and does not seed it again', async () => {
    const db = join(temp(), 'books.db');
    const first = await startJson(['--db', db, '--contacts', '100']);
    const organization = first.info.organizations[0]!.organization_id;
    const before = await allContacts(first.info, organization);
    expect(before).toHaveLength(100);
    const target = before.find((c) => c.status === 'active');
    expect(target).toBeDefined();
    const marked = await books(first.info, 'POST', `/contacts/${target!.contact_id}/inactive`, { organization_id: organization });
    expect(marked.status).toBe(200);
    expect(marked.body.code).toBe(0);
    const stopped = await first.proc.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    expect(existsSync(db)).toBe(true);

    const second = await startJson(['--db', db, '--contacts', '100']);
    expect(second.info.refreshToken).toBe(first.info.refreshToken);
    expect(second.info.clientId).toBe(first.info.clientId);
    const after = await books<{ contact: { status: string } }>(second.info, 'GET', `/contacts/${target!.contact_id}`, { organization_id: organization });
    expect(after.status).toBe(200);
    expect(after.body.contact.status).toBe('inactive');
    const contactsAfter = await allContacts(second.info, organization);
    expect(contactsAfter).toHaveLength(before.length);
    expect(contactsAfter.map((c) => c.contact_id).sort()).toEqual(before.map((c) => c.contact_id).sort());
  });
});

describe('sunset emulator start data and behaviour flags', () => {
  it('--seed empty gives the organizations and no contacts', async () => {
    const { info } = await startJson(['--seed', 'empty']);
    expect(info.organizations.length).toBeGreaterThan(0);
    for (const organization of info.organizations) {
      const r = await books<{ code: number; contacts: unknown[] }>(info, 'GET', '/contacts', { organization_id: organization.organization_id, filter_by: 'Status.All' });
      expect(r.status).toBe(200);
      expect(r.body.contacts).toEqual([]);
    }
  });

  it('--contacts 50 --random-seed 7 gives the same data on every run (and another seed does not)', async () => {
    const [a, b, c] = await Promise.all([
      startJson(['--contacts', '50', '--random-seed', '7']),
      startJson(['--contacts', '50', '--random-seed', '7']),
      startJson(['--contacts', '50', '--random-seed', '8']),
    ]);
    const names = async (s: Started): Promise<string[]> =>
      (await allContacts(s.info, s.info.organizations[0]!.organization_id)).map((x) => x.contact_name).sort();
    const namesA = await names(a);
    expect(namesA).toHaveLength(50);
    expect(await names(b)).toEqual(namesA);
    expect(await names(c)).not.toEqual(namesA);
    expect(b.info.clientId).toBe(a.info.clientId);
    expect(b.info.refreshToken).toBe(a.info.refreshToken);
    expect(c.info.clientId).not.toBe(a.info.clientId);
  });

  it('--fault 503,count=1 makes the first Books call answer 503 and the next succeed', async () => {
    const { info } = await startJson(['--contacts', '100', '--fault', '503,count=1']);
    const organization = info.organizations[0]!.organization_id;
    const first = await books(info, 'GET', '/contacts', { organization_id: organization, per_page: 1 });
    expect(first.status).toBe(503);
    expect(typeof first.body.code).toBe('number');
    expect(first.body.code).not.toBe(0);
    const second = await books(info, 'GET', '/contacts', { organization_id: organization, per_page: 1 });
    expect(second.status).toBe(200);
    expect(second.body.code).toBe(0);
  });

  it('--fault 503,count=1 also fires when the first Books call is GET /organizations', async () => {
    const { info } = await startJson(['--contacts', '100', '--fault', '503,count=1']);
    const first = await books(info, 'GET', '/organizations');
    const second = await books(info, 'GET', '/organizations');
    const third = await books(info, 'GET', '/contacts', { organization_id: info.organizations[0]!.organization_id, per_page: 1 });
    // The one-shot fault must hit exactly one of these calls, and that is the first.
    expect([first.status, second.status, third.status]).toEqual([503, 200, 200]);
  });

  it('--per-minute 2: the third call in the minute answers 429 code 44', async () => {
    const { info, origin } = await startJson(['--contacts', '100', '--per-minute', '2', '--start-at', '2030-01-31T09:00:00Z']);
    // --start-at moved the emulated clock; freezing it keeps the calls below in one minute window.
    const clock = await admin<{ now: string }>(origin, 'POST', '/__emulator/clock', { freeze: true });
    expect(clock.status).toBe(200);
    expect(clock.body.now.startsWith('2030-01-31')).toBe(true);

    const organization = info.organizations[0]!.organization_id;
    const call = (): Promise<Reply<Record<string, unknown>>> => books(info, 'GET', '/contacts', { organization_id: organization, per_page: 1 });
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(200);
    const third = await call();
    expect(third.status).toBe(429);
    expect(third.body.code).toBe(44);
    expect(third.headers.get('x-rate-limit-limit')).not.toBeNull();
    // The next minute admits calls again.
    await admin(origin, 'POST', '/__emulator/clock', { advanceSeconds: 60 });
    expect((await call()).status).toBe(200);
  });

  it('--no-limits never refuses (default limits would answer 44 after 100 calls a minute), and the headers show the whole quota left', async () => {
    const { info, origin } = await startJson(['--contacts', '100', '--no-limits']);
    // A frozen clock keeps all the calls in one minute window.
    expect((await admin(origin, 'POST', '/__emulator/clock', { freeze: true })).status).toBe(200);
    const organization = info.organizations[1]!.organization_id; // the free plan: 100 a minute
    const statuses: number[] = [];
    let remaining: string | null = null;
    for (let i = 0; i < 105; i++) {
      const r = await books(info, 'GET', '/contacts', { organization_id: organization, per_page: 1 });
      statuses.push(r.status);
      remaining = r.headers.get('x-rate-limit-remaining');
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(remaining).toBe('1000');
  });

  it('--token-ttl 5 is the expires_in of a token exchange', async () => {
    const { info } = await startJson(['--contacts', '100', '--token-ttl', '5']);
    const token = await refresh(info);
    expect(token.status).toBe(200);
    expect(token.body.expires_in).toBe(5);
  });
});

/** A command that should have failed but starts an emulator instead (prints its first line) is stopped at once, so the exit-code assertion fails quickly instead of the test hanging. */
const STOP_IF_STARTED = { stopWhen: (stdout: string): boolean => stdout.includes('\n') };

describe('sunset emulator start with bad input', () => {
  const cases: Array<{ name: string; args: string[]; mention: RegExp }> = [
    { name: 'an unknown flag', args: ['--bogus'], mention: /--bogus/ },
    { name: '--port abc', args: ['--port', 'abc'], mention: /--port.*abc/ },
    { name: '--port 70000', args: ['--port', '70000'], mention: /--port.*70000/ },
    { name: '--contacts 0', args: ['--contacts', '0'], mention: /--contacts/ },
    { name: '--seed bogus', args: ['--seed', 'bogus'], mention: /--seed.*bogus/ },
    { name: '--fault nonsense', args: ['--fault', 'nonsense'], mention: /--fault.*nonsense/ },
    { name: '--fault 503,rate=2', args: ['--fault', '503,rate=2'], mention: /--fault.*rate/ },
    { name: '--start-at yesterday', args: ['--start-at', 'yesterday'], mention: /--start-at.*yesterday/ },
    { name: 'an unexpected positional argument', args: ['extra'], mention: /extra/ },
    { name: '--accounts=-1', args: ['--accounts=-1'], mention: /--accounts must be a whole number from 0 to 100 \(got "-1"\)/ },
    { name: '--accounts 101', args: ['--accounts', '101'], mention: /--accounts must be a whole number from 0 to 100 \(got "101"\)/ },
    { name: '--accounts two', args: ['--accounts', 'two'], mention: /--accounts.*two/ },
    { name: '--dc mars', args: ['--dc', 'mars'], mention: /--dc must be one of US, EU, IN, AU, JP, CA, SA, CN \(got "mars"\)/ },
  ];

  for (const { name, args, mention } of cases) {
    it(`${name}: exit 2, one clear paragraph on stderr, no stack, nothing created`, async () => {
      const db = join(temp(), 'state.db');
      const withContacts = args.includes('--contacts') ? args : [...args, '--contacts', '100'];
      const exit = await runMain(['emulator', 'start', ...withContacts, '--db', db], STOP_IF_STARTED);
      expect(exit.signal).toBeNull();
      expect(exit.code).toBe(2);
      expectCleanError(exit);
      expect(exit.stderr).toMatch(mention);
      expect(existsSync(db)).toBe(false);
    });
  }

  it('a port already in use: exit 1 with a message that names --port', async () => {
    const { info } = await startJson(['--contacts', '100']);
    const port = new URL(info.baseUrl).port;
    const exit = await runMain(['emulator', 'start', '--port', port, '--contacts', '100'], STOP_IF_STARTED);
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(1);
    expectCleanError(exit);
    expect(exit.stderr).toContain('--port');
    expect(exit.stderr).toContain(port);
    // The first emulator is untouched.
    expect((await books(info, 'GET', '/organizations')).status).toBe(200);
  });

  it('--db naming a directory: exit 1 with a clear message, no stack', async () => {
    const dir = join(temp(), 'a-directory');
    mkdirSync(dir);
    const exit = await runMain(['emulator', 'start', '--port', '0', '--contacts', '100', '--db', dir], STOP_IF_STARTED);
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(1);
    expectCleanError(exit);
    expect(exit.stderr).toContain(dir);
    expect(exit.stderr).toMatch(/database/i);
  });

  it('--db in a directory that does not exist: exit 1 with a clear message, no stack', async () => {
    const db = join(temp(), 'missing', 'books.db');
    const exit = await runMain(['emulator', 'start', '--port', '0', '--contacts', '100', '--db', db], STOP_IF_STARTED);
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(1);
    expectCleanError(exit);
    expect(exit.stderr).toContain(db);
    expect(existsSync(db)).toBe(false);
  });

  it('--db naming a file that is not a database: exit 1, the file is left as it was', async () => {
    const file = join(temp(), 'notes.txt');
    writeFileSync(file, 'my notes, not a database\n');
    const exit = await runMain(['emulator', 'start', '--port', '0', '--contacts', '100', '--db', file], STOP_IF_STARTED);
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(1);
    expectCleanError(exit);
    expect(exit.stderr).toContain(file);
    expect(readFileSync(file, 'utf8')).toBe('my notes, not a database\n');
  });
});

describe('sunset emulator start --accounts and --dc', () => {
  it('--help names both', async () => {
    const help = (await runMain(['emulator', 'start', '--help'])).stdout;
    expect(help).toMatch(/^ {2}--accounts N {2,}\S/m);
    expect(help).toMatch(/^ {2}--dc DC {2,}\S/m);
  });

  it('--accounts 2 --json: three accounts in the one JSON line, each reaching only its own two organizations', async () => {
    const { proc, info, origin, line } = await startJson(['--contacts', '50', '--accounts', '2']);
    const withAccounts = info as Info & { accounts?: AccountInfo[] };
    expect(Object.keys(info).sort()).toEqual(['accessToken', 'accounts', 'accountsUrl', 'baseUrl', 'clientId', 'clientSecret', 'organizations', 'refreshToken']);
    const accounts = withAccounts.accounts!;
    expect(accounts).toHaveLength(3);
    expect(accounts[0]).toMatchObject({ clientId: info.clientId, clientSecret: info.clientSecret, refreshToken: info.refreshToken });
    expect(accounts[0]!.organizations.map((o) => o.organization_id)).toEqual(info.organizations.map((o) => o.organization_id));
    expect((await admin<{ dataCentre: null; accounts: AccountInfo[] }>(origin, 'GET', '/__emulator/accounts')).body).toEqual({ dataCentre: null, accounts });

    for (const [i, account] of accounts.entries()) {
      expect(account.organizations, account.name).toHaveLength(2);
      for (const o of account.organizations) expect(o.organization_id).toMatch(/^\d+$/);
      const token = await accessTokenAt(origin, account);
      const listed = await books<{ organizations: Array<{ organization_id: string }> }>(info, 'GET', '/organizations', {}, token);
      expect(listed.body.organizations.map((o) => o.organization_id), account.name).toEqual(account.organizations.map((o) => o.organization_id));
      if (i > 0) {
        // A fifth of --contacts in each organization of the other accounts.
        const contacts = await books<{ contacts: unknown[] }>(info, 'GET', '/contacts', { organization_id: account.organizations[0]!.organization_id, per_page: 200 }, token);
        expect(contacts.body.contacts).toHaveLength(10);
      }
      // Another account's organization: 400 code 6041.
      const other = accounts[(i + 1) % accounts.length]!.organizations[0]!.organization_id;
      const refused = await books(info, 'GET', '/contacts', { organization_id: other }, token);
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({ code: 6041, message: 'This user is not associated with the organization_id' });
    }
    const exit = await proc.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(exit.stdout).toBe(`${line}\n`);
  });

  it('--dc: reported in the JSON line; two data centres share no credential', async () => {
    const [eu, us] = await Promise.all([startJson(['--contacts', '20', '--dc', 'eu']), startJson(['--contacts', '20', '--dc', 'US'])]);
    const euInfo = eu.info as Info & { dataCentre?: string };
    expect(Object.keys(euInfo).sort()).toEqual(['accessToken', 'accountsUrl', 'baseUrl', 'clientId', 'clientSecret', 'dataCentre', 'organizations', 'refreshToken']);
    expect(euInfo.dataCentre).toBe('EU');
    expect((us.info as Info & { dataCentre?: string }).dataCentre).toBe('US');
    expect((await admin(eu.origin, 'GET', '/__emulator/accounts')).body).toMatchObject({ dataCentre: 'EU' });
    expect(eu.info.clientId).not.toBe(us.info.clientId);
    // EU's refresh token at the US accounts server: refused; at home: a token.
    const atUs = await fetch(`${us.origin}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: eu.info.clientId, client_secret: eu.info.clientSecret, refresh_token: eu.info.refreshToken }),
    });
    expect(await atUs.json()).toEqual({ error: 'invalid_client' });
    expect((await refresh(eu.info)).status).toBe(200);
    expect((await books(us.info, 'GET', '/organizations', {}, eu.info.accessToken)).status).toBe(401);
  });

  it('with --db, the accounts and the data centre survive a restart; another --dc is refused', async () => {
    const db = join(temp(), 'books.db');
    const first = await startJson(['--db', db, '--contacts', '20', '--accounts', '1', '--dc', 'AU']);
    const before = (first.info as Info & { accounts?: AccountInfo[] }).accounts!;
    expect(before).toHaveLength(2);
    expect((await first.proc.stop('SIGTERM')).code).toBe(0);

    const second = await startJson(['--db', db]);
    const after = second.info as Info & { accounts?: AccountInfo[]; dataCentre?: string };
    expect(after.dataCentre).toBe('AU');
    expect(after.accounts).toEqual(before);
    const token = await accessTokenAt(second.origin, before[1]!);
    expect((await books(second.info, 'GET', '/organizations', {}, token)).status).toBe(200);
    expect((await second.proc.stop('SIGTERM')).code).toBe(0);

    const refused = await runMain(['emulator', 'start', '--port', '0', '--db', db, '--dc', 'EU'], STOP_IF_STARTED);
    expect(refused.code).toBe(1);
    expectCleanError(refused);
    expect(refused.stderr).toContain('stands for data centre AU; start it with --dc AU, or use another --db file.');
  });

  it('the human banner names each account with its organizations and credentials', async () => {
    const proc = spawnCli(['emulator', 'start', '--port', '0', '--contacts', '20', '--accounts', '1']);
    const out = await proc.waitForStdout((s) => s.includes('Ctrl-C'));
    const origin = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    const accounts = (await admin<{ accounts: AccountInfo[] }>(origin!, 'GET', '/__emulator/accounts')).body.accounts;
    const other = accounts[1]!;
    expect(out).toContain(`Account        ${other.account_id}  ${other.name}`);
    for (const o of other.organizations) expect(out).toContain(`${o.organization_id}  ${o.name} (${o.plan}, ${o.currency_code}, ${o.time_zone}, 10 contacts)`);
    for (const secret of [other.clientId, other.clientSecret, other.refreshToken]) expect(out).toContain(secret);
    expect((await proc.stop('SIGINT')).code).toBe(0);
  });
});
