/**
 * End-to-end tests of the `sunset` entry point: help, version, unknown commands and the demo, run
 * as real subprocesses of the built CLI (dist/cli/main.js; `npm test` builds it first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

/** Runs `sunset ...args` to completion, stdin closed. */
function sunset(args: string[]): Promise<Exit> {
  return new Promise<Exit>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const COMMANDS = ['emulator start', 'demo'];

function expectCommandList(text: string): void {
  expect(text).toMatch(/Usage: sunset <command>/);
  for (const command of COMMANDS) expect(text).toMatch(new RegExp(`^\\s+${command}\\s+\\S`, 'm'));
}

describe('sunset help', () => {
  it('sunset --help lists the commands and exits 0', async () => {
    const exit = await sunset(['--help']);
    expect(exit.code).toBe(0);
    expectCommandList(exit.stdout);
    expect(exit.stderr).toBe('');
  });

  it('sunset with no arguments lists the commands and exits 0', async () => {
    const exit = await sunset([]);
    expect(exit.code).toBe(0);
    expectCommandList(exit.stdout);
  });

  it('sunset emulator start --help prints its usage and exits 0 without starting anything', async () => {
    const exit = await sunset(['emulator', 'start', '--help']);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(/^Usage: sunset emulator start/);
    for (const flag of ['--port', '--db', '--seed', '--random-seed', '--contacts', '--token-ttl', '--no-limits', '--per-minute', '--fault', '--start-at', '--json']) {
      expect(exit.stdout).toContain(flag);
    }
    expect(exit.stdout).not.toContain('listening');
    expect(exit.stderr).toBe('');
  });

  it('sunset demo --help prints its usage and exits 0 without running the demo', async () => {
    const exit = await sunset(['demo', '--help']);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(/^Usage: sunset demo/);
    expect(exit.stdout).toContain('--contacts');
    expect(exit.stdout).not.toContain('GET /organizations');
    expect(exit.stderr).toBe('');
  });
});

describe('sunset unknown command', () => {
  it('a prefix of a command: exit 2 and a suggestion', async () => {
    const exit = await sunset(['emu']);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toContain('Unknown command "emu"');
    expect(exit.stderr).toContain('sunset emulator start');
    expect(exit.stderr).toContain('sunset --help');
    expect(exit.stderr).not.toContain('    at ');
  });

  it('a misspelt command: exit 2 and a suggestion of the nearest command', async () => {
    const exit = await sunset(['emulater', 'start']);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toContain('Unknown command "emulater start"');
    expect(exit.stderr).toMatch(/Did you mean:? .*sunset emulator start/);
    expect(exit.stderr).not.toContain('    at ');
  });

  it('a misspelt one-word command: exit 2 and a suggestion of the nearest command', async () => {
    const exit = await sunset(['dmeo']);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toMatch(/Did you mean:? .*sunset demo/);
    expect(exit.stderr).not.toContain('    at ');
  });
});

describe('sunset --version', () => {
  it('prints the package.json version', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const exit = await sunset(['--version']);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toBe(`${pkg.version}\n`);
  });
});

describe('sunset demo', () => {
  it('--contacts 200 walks through the contact lifecycle and exits 0', async () => {
    const exit = await sunset(['demo', '--contacts', '200']);
    expect(exit.stderr).toBe('');
    expect(exit.code).toBe(0);
    const out = exit.stdout;
    expect(out).toMatch(/^GET \/organizations → .+/m);
    expect(out).toMatch(/^GET \/contacts\?filter_by=Status\.Active → \d+ active contacts/m);
    expect(out).toMatch(/^DELETE \/contacts\/\d+ → HTTP 400, code 1071: /m);
    expect(out).toMatch(/^POST \/contacts\/\d+\/inactive again → HTTP 400, code 3032: /m);
    expect(out).toMatch(/^POST \/invoices for the inactive contact → HTTP 400, code 1072: /m);
    expect(out).toMatch(/^POST \/contacts\/\d+\/active → HTTP 200, code 0: .*marked as active/m);
    expect(out).not.toContain('No invoices before 2021');
  });

  it('--contacts abc is a usage error (exit 2), not silently 1000 contacts', async () => {
    const exit = await sunset(['demo', '--contacts', 'abc']);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toMatch(/^sunset: .*--contacts/);
    expect(exit.stderr).not.toContain('    at ');
  });
});
