/**
 * Helpers of the security suite (test/reliability/security.test.ts): a registry of the secrets a
 * story used and the places each may legitimately live, scanners for text, files, SQLite rows and
 * raw database bytes, /proc readers for process listings, file modes, the `sunset serve` routes
 * read from the service's route modules, and a `--import` module that sends the Zoho data centre's hosts
 * to a local emulator (so `auth login --dc EU` runs its real code path, secrets from the
 * environment, without the network).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { CLI, ROOT } from '../helpers/cli.js';

/** What kind of secret a value is: where it may live depends on it. */
export type SecretKind =
  | 'client-secret' // the self-client's secret (and wrong ones we typed)
  | 'grant-code'
  | 'refresh-token'
  | 'access-token'
  | 'webhook-secret'
  | 'session-token'
  | 'csrf-token'
  | 'password'
  | 'password-hash' // the stored scrypt hash: only in the users table
  | 'metrics-token'
  | 'smtp-password'; // notifications' mail server: only in the file it is read from

export interface Secret {
  value: string;
  kind: SecretKind;
  label: string;
}

export class SecretRegistry {
  private readonly byValue = new Map<string, Secret>();

  add(kind: SecretKind, label: string, value: string | undefined | null): void {
    if (!value) return;
    if (value.length < 12) throw new Error(`secret ${label} is too short to search for reliably: ${value.length} characters`);
    if (!this.byValue.has(value)) this.byValue.set(value, { value, kind, label });
  }

  get all(): Secret[] {
    return [...this.byValue.values()];
  }

  count(kind?: SecretKind): number {
    return kind ? this.all.filter((s) => s.kind === kind).length : this.byValue.size;
  }

  kinds(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.all) out[s.kind] = (out[s.kind] ?? 0) + 1;
    return out;
  }
}

/** One place a secret was found where it must not be. */
export interface Leak {
  where: string;
  secret: string;
}

/**
 * Every secret in `text` that is not allowed there. `allowKinds` lists kinds that may live in
 * this place (a credentials file holds the refresh token); `allowValues` single values (the PUT
 * webhook answer shows the secret it made).
 */
export function findLeaks(where: string, text: string, secrets: SecretRegistry, allowKinds: readonly SecretKind[] = [], allowValues: readonly string[] = []): Leak[] {
  const leaks: Leak[] = [];
  for (const s of secrets.all) {
    if (allowKinds.includes(s.kind) || allowValues.includes(s.value)) continue;
    if (text.includes(s.value)) leaks.push({ where, secret: `${s.kind} ${s.label}` });
  }
  return leaks;
}

/** Every regular file under `dir`, recursively, as paths relative to it. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

/** A file's bytes read as latin1 (every byte one character), so secrets in binary files are found too. */
export function fileText(path: string): string {
  return readFileSync(path).toString('latin1');
}

export interface RowScan {
  tables: number;
  rows: number;
  values: number;
  leaks: Leak[];
}

/**
 * Reads every row of every table of a SQLite file and searches every text (and blob) value.
 * `allow` maps `table.column` to the secret kinds that column holds by design.
 */
export function scanSqliteRows(path: string, secrets: SecretRegistry, allow: Record<string, readonly SecretKind[]> = {}): RowScan {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  const result: RowScan = { tables: 0, rows: 0, values: 0, leaks: [] };
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>;
    for (const { name } of tables) {
      result.tables++;
      for (const row of db.prepare(`SELECT * FROM "${name}"`).iterate() as IterableIterator<Record<string, unknown>>) {
        result.rows++;
        for (const [column, value] of Object.entries(row)) {
          let text: string | undefined;
          if (typeof value === 'string') text = value;
          else if (Buffer.isBuffer(value)) text = value.toString('latin1');
          if (text === undefined) continue;
          result.values++;
          result.leaks.push(...findLeaks(`${path}: ${name}.${column}`, text, secrets, allow[`${name}.${column}`] ?? []));
        }
      }
    }
  } finally {
    db.close();
  }
  return result;
}

/** Rows of a query on a SQLite file opened read-only (another process may be writing it). */
export function queryFile<T>(path: string, sql: string, params: unknown[] = []): T[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** The permission bits of a path. */
export function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

export function octal(m: number): string {
  return `0${m.toString(8).padStart(3, '0')}`;
}

/** A database file and whichever of its -wal / -shm companions exist now. */
export function withCompanions(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`, `${path}-journal`].filter((p) => existsSync(p));
}

/** A process's command line and environment as /proc shows them to anyone who may list it. */
export function procListing(pid: number): { cmdline: string[]; environ: string[] } {
  const split = (file: string): string[] => readFileSync(`/proc/${pid}/${file}`).toString('utf8').split('\0').filter((s) => s !== '');
  return { cmdline: split('cmdline'), environ: split('environ') };
}

export interface ServiceRoute {
  method: string;
  /** The pattern with `:org`, `:plan`, `:run` parameters. */
  path: string;
  /** `route`: the JSON API under /api/; `inline`: a page or a machine's route (/, /logout, /metrics, /healthz, the event stream). */
  source: 'route' | 'inline';
}

/**
 * Routes open by design, each guarded its own way and tested elsewhere: the sign-in page and form
 * (test/service/auth.test.ts), the assets (the stylesheet is open), the CRM webhook (its signature
 * or secret: part 4 below).
 */
/**
 * Routes that answer for themselves: the sign-in, an invitation's page and form (its one-time
 * token and the same-origin check: test/service/roles.test.ts), the assets, and the hooks (a
 * signature or a secret; checked in test 4).
 */
const OPEN_ROUTES = new Set(['GET /login', 'POST /login', 'GET /invite/:token', 'POST /invite/:token', 'GET /assets/:file', 'POST /hooks/crm/:org', 'POST /hooks/signal/:org']);

/**
 * The routes of `sunset serve`, read from src/service/routes/*.ts: every `.get('/path', …)`,
 * `.post(…)`, `.put(…)`, `.delete(…)` that starts a line of a route chain (each module's routes
 * carry their full paths), but the open ones. `.all(…)` answers 405 for another method and is
 * not a route. Throws when a route is written in a way this does not read, so a new route cannot
 * slip past the suite unseen.
 */
export function serviceRoutes(): ServiceRoute[] {
  const dir = join(ROOT, 'src', 'service', 'routes');
  const routes: ServiceRoute[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(dir, file), 'utf8');
    const calls = source.match(/^\s*\.(get|post|put|delete|patch|options|on|all)\(/gm)?.length ?? 0;
    const read = [...source.matchAll(/^\s*\.(get|post|put|delete|patch|all)\('([^']+)'/gm)];
    if (read.length !== calls) throw new Error(`src/service/routes/${file} has ${calls} route calls but ${read.length} were read`);
    for (const m of read) {
      const method = m[1]!.toUpperCase();
      const path = m[2]!;
      if (method === 'ALL' || OPEN_ROUTES.has(`${method} ${path}`)) continue;
      routes.push({ method, path, source: path.startsWith('/api/') && path !== '/api/events' ? 'route' : 'inline' });
    }
  }
  if (routes.length === 0) throw new Error('no route read from src/service/routes');
  return routes;
}

/**
 * Writes the `--import` module that sends `https://accounts.zoho.eu` and `https://www.zohoapis.eu`
 * to the origin in SECURITY_TEST_ZOHO_ORIGIN: the network's job (like a hosts file), not Sunset's
 * code, is replaced. Returns the NODE_OPTIONS value that loads it.
 */
export function writeZohoRedirect(dir: string): string {
  const file = join(dir, 'zoho-redirect.mjs');
  writeFileSync(file, `// Sends the EU data centre's hosts to a local emulator (security suite).
const target = process.env.SECURITY_TEST_ZOHO_ORIGIN;
if (target) {
  const realFetch = globalThis.fetch;
  const hosts = new Set(['accounts.zoho.eu', 'www.zohoapis.eu']);
  globalThis.fetch = (input, init) => {
    const raw = typeof input === 'string' || input instanceof URL ? String(input) : input.url;
    const url = new URL(raw);
    if (url.protocol === 'https:' && hosts.has(url.hostname)) {
      const to = new URL(target);
      url.protocol = to.protocol;
      url.host = to.host;
      return realFetch(url, typeof input === 'string' || input instanceof URL ? init : new Request(url, input));
    }
    return realFetch(input, init);
  };
}
`);
  return `--import=${file}`;
}

/** Whether util-linux `script` (a pseudo-terminal for a command) is installed. */
export function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `sunset ARGS` on a pseudo-terminal (util-linux `script`), typing each answer once its
 * prompt has shown, as a person would; returns everything the terminal showed (what the program
 * wrote, and whatever the terminal echoed of the typing).
 */
export function runOnTerminal(args: string[], env: Record<string, string>, answers: Array<[prompt: string, typed: string]>, timeoutMs = 30_000): Promise<{ shown: string; code: number | null }> {
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SUNSET_')) childEnv[k] = v;
  Object.assign(childEnv, { NO_COLOR: '1' }, env);
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let shown = '';
  let from = 0;
  let next = 0;
  const onData = (chunk: Buffer): void => {
    shown += chunk.toString('utf8');
    const answer = answers[next];
    if (!answer) return;
    const at = shown.indexOf(answer[0], from);
    if (at < 0) return;
    from = at + answer[0].length;
    next++;
    child.stdin.write(`${answer[1]}\r`);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      if (next < answers.length) shown += `\n[security suite: prompt "${answers[next]![0]}" never showed]`;
      resolve({ shown, code });
    });
  });
}
