/**
 * Harness for CLI tests. In-process: `runMain` calls the CLI's `main(argv, io)` with in-memory
 * streams (`memoryIO`), for what a process adds nothing to (help, usage errors, refusals).
 * Subprocess: the built CLI (dist/cli/main.js; `npm test` builds it first) runs as real child
 * processes, for signals, terminals, SIGKILL and servers; an emulator runs as `sunset emulator
 * start --port 0 --json` and is read from its first stdout line, and everything speaks real HTTP.
 * Readiness is read from output or from the emulator's request log, never a fixed sleep. Every
 * child is killed and every temp dir removed by `cleanup()` (afterEach) / `cleanupAll()` (afterAll).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createIO, type CliIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { createManualRun, createJournal, openSqlite } from '../../src/engine/index.js';
import { parseZohoTime } from '../../src/zoho/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface EmulatorInfo {
  baseUrl: string;
  accountsUrl: string;
  organizations: Array<{ organization_id: string; name: string; plan: string }>;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  accessToken: string;
}

export interface LoggedRequest {
  seq: number;
  time: string;
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  code: number | null;
  organization_id: string | null;
  duration_ms: number;
  fault: string | null;
}

export interface ContactRow {
  contact_id: string;
  contact_name: string;
  contact_type: string;
  status: 'active' | 'inactive';
  /** Balances and creation time, as GET /contacts lists them (what the safety exclusions look at). */
  outstanding_receivable_amount: number;
  outstanding_payable_amount: number;
  unused_credits_receivable_amount: number;
  unused_credits_payable_amount: number;
  created_time: string;
}

/**
 * An active contact that `sunset contacts deactivate` changes under the default safety exclusions:
 * no open balance, no unused credits, created more than 90 days ago (with a day's margin).
 */
export function deactivatable(c: ContactRow, now = Date.now()): boolean {
  const created = parseZohoTime(c.created_time) ?? now;
  return c.status === 'active' && c.outstanding_receivable_amount === 0 && c.outstanding_payable_amount === 0
    && c.unused_credits_receivable_amount === 0 && c.unused_credits_payable_amount === 0 && created < now - 91 * 86_400_000;
}

export interface MemoryIOOptions {
  /** The whole environment the command sees (nothing of this process's). */
  env?: Record<string, string | undefined>;
  /** Which streams claim to be a terminal (all false by default, as in a pipe). */
  tty?: { stdin?: boolean; stdout?: boolean; stderr?: boolean };
  /** Typed input; stdin ends after it unless `keepOpen`. */
  input?: string;
  keepOpen?: boolean;
  /** Ctrl-C as soon as stdout holds this (a command expected to fail that starts serving instead ends at once). */
  stopWhen?: (stdout: string) => boolean;
}

export interface MemoryIO {
  io: CliIO;
  stdin: PassThrough;
  stdout(): string;
  stderr(): string;
  /** Ctrl-C: calls what the command registered with io.onStop. */
  stop(): void;
}

/** In-memory streams for `main(argv, io)`: what is written is collected, the environment is only what is given. */
export function memoryIO(options: MemoryIOOptions = {}): MemoryIO {
  const listeners: Array<() => void> = [];
  let stopped = false;
  // A stop asked for before the command listens for it still reaches it (it registers later).
  const stop = (): void => {
    stopped = true;
    listeners.splice(0).forEach((l) => l());
  };
  const collect = (tty: boolean | undefined, stopWhen?: (text: string) => boolean): { stream: Writable & { isTTY?: boolean }; text: () => string } => {
    let text = '';
    const stream: Writable & { isTTY?: boolean } = new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        text += chunk.toString();
        callback();
        if (stopWhen?.(text)) stop();
      },
    });
    if (tty) stream.isTTY = true;
    return { stream, text: () => text };
  };
  const out = collect(options.tty?.stdout, options.stopWhen);
  const err = collect(options.tty?.stderr);
  const stdin: PassThrough & { isTTY?: boolean } = new PassThrough();
  if (options.tty?.stdin) stdin.isTTY = true;
  if (options.input !== undefined) stdin.write(options.input);
  if (!options.keepOpen) stdin.end();
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  const onStop = (listener: () => void): void => {
    if (stopped) queueMicrotask(listener);
    else listeners.push(listener);
  };
  const io = createIO({ stdin, stdout: out.stream, stderr: err.stream, env, onStop });
  return { io, stdin, stdout: out.text, stderr: err.text, stop };
}

/** `sunset ...args` in this process, through `main(argv, io)`, with in-memory streams; how it ended, as `Exit`. */
export async function runMain(args: string[], options: MemoryIOOptions = {}): Promise<Exit & { code: number }> {
  const memory = memoryIO(options);
  const code = await main(args, memory.io);
  return { code, signal: null, stdout: memory.stdout(), stderr: memory.stderr() };
}

/**
 * A journal at `dir/sunset.db` holding one manual run (never applied) that deactivates `contactIds`
 * in organization 701000001 of the embedded emulator; returns its path and the run's id.
 */
export async function journalWithRun(dir: string, contactIds = ['460000000000001']): Promise<{ db: string; runId: string }> {
  const db = join(dir, 'sunset.db');
  const journal = createJournal(openSqlite(db));
  try {
    await journal.migrate();
    const run = await createManualRun(journal, {
      organizationId: '701000001', target: 'embedded', kind: 'manual', changes: contactIds.map((contactId) => ({ contactId, action: 'deactivate' as const })),
      createdBy: 'test', now: Date.UTC(2026, 2, 2), note: 'conventions test',
    });
    return { db, runId: run.runId };
  } finally {
    await journal.close();
  }
}

/** A running child with its output collected as it arrives. */
export class ChildProc {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private listeners: Array<() => void> = [];

  constructor(readonly child: ChildProcessWithoutNullStreams, readonly args: string[]) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      this.stdout += chunk;
      this.notify();
    });
    child.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
      this.notify();
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

  /** Resolves once `ready(stdout, stderr)` holds; rejects if the process ends first. */
  waitFor(ready: (stdout: string, stderr: string) => boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (ready(this.stdout, this.stderr)) {
          this.listeners = this.listeners.filter((l) => l !== check);
          resolve();
        } else if (this.exit) {
          this.listeners = this.listeners.filter((l) => l !== check);
          reject(new Error(`sunset ${this.args.join(' ')} exited (code ${this.exit.code}, signal ${this.exit.signal}) before it was ready.\nstdout: ${this.stdout}\nstderr: ${this.stderr}`));
        }
      };
      this.listeners.push(check);
      check();
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child.kill(signal);
  }
}

export interface RunOptions {
  /** Extra environment (SUNSET_EMULATOR_URL, SUNSET_FAILPOINT, ...). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill the command (SIGKILL) if it has not ended by then, so a hang fails fast (default 60 s). */
  timeoutMs?: number;
}

/** A `sunset emulator start --port 0 --json` subprocess and its admin and Books APIs. */
export class EmulatorProcess {
  constructor(readonly proc: ChildProc, public info: EmulatorInfo) {}

  get origin(): string {
    return this.info.accountsUrl;
  }

  get organizations(): string[] {
    return this.info.organizations.map((o) => o.organization_id);
  }

  /** The first (Professional plan) organization, the one `--contacts` sizes. */
  get organization(): string {
    return this.organizations[0]!;
  }

  async admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.origin}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  /** Calls the Books API with the emulator's ready-made token (which never counts as a refresh). */
  async books<T = Record<string, unknown>>(method: string, path: string, query: Record<string, string | number> = {}, body?: unknown): Promise<{ status: number; body: T }> {
    const url = new URL(`${this.info.baseUrl}${path}`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
    const response = await fetch(url, {
      method,
      headers: {
        authorization: `Zoho-oauthtoken ${this.info.accessToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  /** The latest sequence number of the request log: later requests have a higher one. */
  async seq(): Promise<number> {
    const r = await this.admin<{ next_seq: number }>('GET', '/__emulator/requests?since=999999999999999&limit=1');
    return r.body.next_seq;
  }

  /** The request log after `since`. */
  async requests(since = 0, filter: { method?: string; pathPrefix?: string } = {}): Promise<LoggedRequest[]> {
    const q = new URLSearchParams({ since: String(since), limit: '100000' });
    if (filter.method) q.set('method', filter.method);
    if (filter.pathPrefix) q.set('path_prefix', filter.pathPrefix);
    const r = await this.admin<{ requests: LoggedRequest[]; dropped: number }>('GET', `/__emulator/requests?${q.toString()}`);
    if (r.body.dropped > 0) throw new Error(`the emulator's request log dropped ${r.body.dropped} entries`);
    return r.body.requests;
  }

  /** Every status change request (POST /contacts/ID/active|inactive) after `since`, answered or not. */
  async statusPosts(since: number): Promise<Array<LoggedRequest & { contactId: string; to: 'active' | 'inactive' }>> {
    const out: Array<LoggedRequest & { contactId: string; to: 'active' | 'inactive' }> = [];
    for (const r of await this.requests(since, { method: 'POST', pathPrefix: '/books/v3/contacts/' })) {
      const m = /^\/books\/v3\/contacts\/([^/]+)\/(active|inactive)$/.exec(r.path);
      if (m) out.push({ ...r, contactId: m[1]!, to: m[2] as 'active' | 'inactive' });
    }
    return out;
  }

  /** Every contact of an organization (all statuses), following pages. */
  async contacts(organization = this.organization): Promise<ContactRow[]> {
    const out: ContactRow[] = [];
    for (let page = 1; ; page++) {
      const r = await this.books<{ code: number; contacts: ContactRow[]; page_context: { has_more_page: boolean } }>('GET', '/contacts', {
        organization_id: organization, filter_by: 'Status.All', per_page: 200, page,
      });
      if (r.status !== 200 || r.body.code !== 0) throw new Error(`GET /contacts answered ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      out.push(...r.body.contacts);
      if (!r.body.page_context.has_more_page) return out;
    }
  }

  /** contact_id → status, for the whole organization. */
  async statuses(organization = this.organization): Promise<Map<string, 'active' | 'inactive'>> {
    return new Map((await this.contacts(organization)).map((c) => [c.contact_id, c.status]));
  }

  /** The ids of the inactive contacts, through Zoho's own filter. */
  async inactiveIds(organization = this.organization): Promise<Set<string>> {
    const ids = new Set<string>();
    for (let page = 1; ; page++) {
      const r = await this.books<{ code: number; contacts: ContactRow[]; page_context: { has_more_page: boolean } }>('GET', '/contacts', {
        organization_id: organization, filter_by: 'Status.Inactive', per_page: 200, page,
      });
      if (r.status !== 200 || r.body.code !== 0) throw new Error(`GET /contacts answered ${r.status}`);
      for (const c of r.body.contacts) ids.add(c.contact_id);
      if (!r.body.page_context.has_more_page) return ids;
    }
  }

  /** One contact's status, read with GET /contacts/ID. */
  async status(contactId: string, organization = this.organization): Promise<string> {
    const r = await this.books<{ code: number; contact: { status: string } }>('GET', `/contacts/${contactId}`, { organization_id: organization });
    if (r.status !== 200 || r.body.code !== 0) throw new Error(`GET /contacts/${contactId} answered ${r.status}`);
    return r.body.contact.status;
  }

  /** Back to the start-up seed (data, tokens, faults, request log, refresh throttle); re-reads the info. */
  async reset(): Promise<void> {
    const r = await this.admin('POST', '/__emulator/reset');
    if (r.status !== 200) throw new Error(`reset answered ${r.status}`);
    this.info = (await this.admin<EmulatorInfo>('GET', '/__emulator/info')).body;
  }

  /** A refresh token whose grant reaches only these organizations (a narrower self-client grant). */
  async limitedRefreshToken(organizationIds: string[]): Promise<string> {
    const grant = await this.admin<{ code: string }>('POST', '/__emulator/grants', { scopes: ['ZohoBooks.fullaccess.all'], organization_ids: organizationIds });
    if (grant.status !== 200) throw new Error(`grant answered ${grant.status}`);
    const response = await fetch(`${this.origin}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: this.info.clientId, client_secret: this.info.clientSecret, code: grant.body.code }),
    });
    const tokens = (await response.json()) as { refresh_token?: string };
    if (!tokens.refresh_token) throw new Error(`no refresh token: ${JSON.stringify(tokens)}`);
    return tokens.refresh_token;
  }
}

/** Polls `check` every few milliseconds until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function pollUntil<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The environment for children: this one without any SUNSET_* variable, plus `extra`. */
function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SUNSET_')) env[k] = v;
  env.NO_COLOR = '1';
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface Harness {
  /** Every finished `sunset` command (not emulators), for checks across a file (secrets). */
  readonly commands: Array<{ args: string[]; exit: Exit }>;
  /** Secrets of every emulator started (client secrets and refresh tokens), and any added. */
  readonly secrets: Set<string>;
  /** A temp dir removed by cleanup() (or by cleanupAll() when `shared`). */
  temp(prefix?: string, shared?: boolean): string;
  /** Starts `sunset ...` and returns it running. */
  spawn(args: string[], options?: RunOptions): ChildProc;
  /** Runs `sunset ...` to its end (or kills it at the timeout) and returns how it ended. */
  run(args: string[], options?: RunOptions): Promise<Exit>;
  /** Starts an emulator; `shared` ones survive cleanup() and end in cleanupAll(). */
  startEmulator(args?: string[], shared?: boolean): Promise<EmulatorProcess>;
  /** Kills the children started since the last cleanup (except shared emulators) and removes temp dirs. */
  cleanup(): Promise<void>;
  /** Kills everything and removes every temp dir. */
  cleanupAll(): Promise<void>;
}

export function createHarness(): Harness {
  const commands: Array<{ args: string[]; exit: Exit }> = [];
  const secrets = new Set<string>();
  const transient = new Set<ChildProc>();
  const shared = new Set<ChildProc>();
  const dirs: string[] = [];
  const sharedDirs: string[] = [];

  const spawnChild = (args: string[], options: RunOptions = {}): ChildProc => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? ROOT, env: childEnv(options.env), stdio: 'pipe' });
    child.stdin.end();
    return new ChildProc(child, args);
  };

  const killAll = async (set: Set<ChildProc>): Promise<void> => {
    const all = [...set];
    set.clear();
    for (const p of all) p.kill('SIGKILL');
    await Promise.all(all.map((p) => p.exited));
  };

  const harness: Harness = {
    commands,
    secrets,
    temp(prefix = 'sunset-e2e-', isShared = false) {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      (isShared ? sharedDirs : dirs).push(dir);
      return dir;
    },
    spawn(args, options = {}) {
      const proc = spawnChild(args, options);
      transient.add(proc);
      let timer: NodeJS.Timeout | undefined;
      if (options.timeoutMs !== 0) {
        timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 60_000);
      }
      void proc.exited.then((exit) => {
        if (timer) clearTimeout(timer);
        commands.push({ args, exit });
      });
      return proc;
    },
    async run(args, options = {}) {
      return harness.spawn(args, options).exited;
    },
    async startEmulator(args = [], isShared = false) {
      const proc = spawnChild(['emulator', 'start', '--port', '0', '--json', ...args]);
      (isShared ? shared : transient).add(proc);
      await proc.waitFor((out) => out.includes('\n'));
      const info = JSON.parse(proc.stdout.slice(0, proc.stdout.indexOf('\n'))) as EmulatorInfo;
      secrets.add(info.clientSecret);
      secrets.add(info.refreshToken);
      return new EmulatorProcess(proc, info);
    },
    async cleanup() {
      await killAll(transient);
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
    async cleanupAll() {
      await harness.cleanup();
      await killAll(shared);
      for (const dir of sharedDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** A user mistake or refusal: one clear message on stderr, no stack trace, no "this is a bug". */
export function cleanRefusal(exit: Exit): string[] {
  const problems: string[] = [];
  if (exit.signal !== null) problems.push(`ended by signal ${exit.signal}`);
  if (/^\s+at /m.test(exit.stderr)) problems.push('a stack trace on stderr');
  if (/unexpected error|this is a bug/i.test(exit.stderr)) problems.push('reported as an unexpected error (a bug)');
  if (!exit.stderr.startsWith('sunset: ')) problems.push('stderr does not start with "sunset: "');
  return problems;
}

/** RFC 4180 rows (quoted cells, doubled quotes, CRLF or LF). */
export function parseCsvText(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** A small seeded PRNG (mulberry32), so random choices are printed and reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
