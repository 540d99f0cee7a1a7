/**
 * What the service benchmarks share: the built CLI started as child processes (the emulator,
 * `users add`, `serve`), and a signed-in JSON client for the service's API over plain HTTP.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const CLI = join(process.cwd(), 'dist', 'cli', 'main.js');
export const BENCH_PASSWORD = 'bench password, long enough';

export interface Children {
  /** Starts `sunset ARGS` and resolves with the first stdout line that matches. */
  start(args: string[], match: RegExp): Promise<string>;
  /** `users add bench` on the journal, then `serve --port 0` against the emulator: the service's origin. */
  serve(emulatorOrigin: string, db: string, extra?: string[]): Promise<string>;
  stopAll(): Promise<void>;
}

export function children(cwd: string): Children {
  if (!existsSync(CLI)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
  const all: ChildProcess[] = [];
  const start = (args: string[], match: RegExp): Promise<string> => {
    const child = spawn(process.execPath, [...(process.env.PROF_DIR && args[0] === 'serve' ? ['--cpu-prof', '--cpu-prof-dir', process.env.PROF_DIR] : []), CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd });
    all.push(child);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    return new Promise((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (match.test(line)) resolve(line);
      });
      child.once('exit', (code) => reject(new Error(`sunset ${args.slice(0, 2).join(' ')} exited with ${code}: ${err}`)));
    });
  };
  return {
    start,
    async serve(emulatorOrigin, db, extra = []) {
      const add = spawnSync(process.execPath, [CLI, 'users', 'add', 'bench', '--db', db], { cwd, env: { ...process.env, SUNSET_PASSWORD: BENCH_PASSWORD }, encoding: 'utf8' });
      if (add.status !== 0) throw new Error(`users add: ${add.stderr}`);
      const line = await start(['serve', '--port', '0', '--db', db, '--emulator', emulatorOrigin, ...extra], /is serving/);
      return /(http:\/\/[^\s]+)/.exec(line)![1]!;
    },
    async stopAll() {
      for (const c of all) c.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
    },
  };
}

export interface ServiceApi {
  /** The session cookie's value. */
  cookie: string;
  /** A JSON request with the session and its CSRF token; throws on a non-2xx answer. Text answers come back as strings. */
  <T>(method: string, path: string, body?: unknown): Promise<T>;
}

/** Signs in as the bench user with the form and returns a client for the API. */
export async function signInApi(origin: string): Promise<ServiceApi> {
  const login = await fetch(`${origin}/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ username: 'bench', password: BENCH_PASSWORD }) });
  const cookie = /sunset_session=([^;]*)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
  if (!cookie) throw new Error(`sign-in failed: ${login.status}`);
  const headers = { cookie: `sunset_session=${cookie}` };
  const csrf = ((await (await fetch(`${origin}/api/session`, { headers })).json()) as { csrfToken: string }).csrfToken;
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${origin}${path}`, {
      method, headers: { ...headers, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text) as T;
  };
  return Object.assign(api, { cookie });
}
