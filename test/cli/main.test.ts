/**
 * Tests of the `sunset` entry point: help, version, unknown commands and the demo. They call the
 * CLI's `main(argv, io)` in this process with in-memory streams; the built CLI
 * (dist/cli/main.js; `npm test` builds it first) runs as a real subprocess where the process
 * itself is what is tested (the bin, its exit code).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { heapMode } from '../../src/cli/heap.js';
import { createHarness, ROOT, runMain } from '../helpers/cli.js';

const h = createHarness();
afterEach(() => h.cleanup());
afterAll(() => h.cleanupAll());

/** Runs `sunset ...args` in this process. */
const sunset = (args: string[]): ReturnType<typeof runMain> => runMain(args);

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

describe('sunset help COMMAND and command groups', () => {
  it('sunset help COMMAND prints exactly what COMMAND --help prints', async () => {
    for (const command of [['scan'], ['emulator', 'start'], ['policy', 'init'], ['runs'], ['emulator']]) {
      const viaHelp = await sunset(['help', ...command]);
      const viaFlag = await sunset([...command, '--help']);
      const what = `sunset help ${command.join(' ')}`;
      expect(viaHelp.code, what).toBe(0);
      expect(viaHelp.stdout, what).toBe(viaFlag.stdout);
      expect(viaHelp.stdout, what).toMatch(new RegExp(`^Usage: sunset ${command.join(' ')}`));
      expect(viaHelp.stderr, what).toBe('');
    }
  });

  it('-h is --help for a command too', async () => {
    for (const command of [['scan'], ['emulator', 'start'], ['contacts', 'deactivate']]) {
      const short = await sunset([...command, '-h']);
      expect(short.code, command.join(' ')).toBe(0);
      expect(short.stdout).toBe((await sunset([...command, '--help'])).stdout);
    }
  });

  it('sunset help NOPE is an unknown command (exit 2)', async () => {
    const exit = await sunset(['help', 'nope']);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toContain('Unknown command "nope"');
  });

  it('every group word of the top-level list (emulator, policy) with --help or -h lists its subcommands with their summaries, exit 0', async () => {
    const top = (await sunset(['--help'])).stdout;
    const commands = top.slice(top.indexOf('Commands:\n'), top.indexOf('\n\n', top.indexOf('Commands:\n')));
    const listed = [...commands.matchAll(/^ {2}([a-z]+) ([a-z]+) +(\S.*)$/gm)].map((m) => ({ group: m[1]!, name: `${m[1]} ${m[2]}`, summary: m[3]! }));
    const groups = [...new Set(listed.map((c) => c.group))];
    expect(groups).toEqual(expect.arrayContaining(['emulator', 'policy']));
    for (const group of groups) {
      for (const flag of ['--help', '-h']) {
        const exit = await sunset([group, flag]);
        expect(exit.code, `sunset ${group} ${flag}`).toBe(0);
        expect(exit.stdout).toMatch(new RegExp(`^Usage: sunset ${group} <subcommand>`));
        for (const c of listed.filter((x) => x.group === group)) expect(exit.stdout).toMatch(new RegExp(`^\\s+${c.name}\\s+${c.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
        expect(exit.stderr).toBe('');
      }
    }
  });

  it('a group word alone (sunset policy) is a usage error naming its subcommands, with the group\'s help on stderr', async () => {
    for (const [group, sub] of [['emulator', 'emulator start'], ['policy', 'policy init']] as const) {
      const exit = await sunset([group]);
      expect(exit.code, `sunset ${group}`).toBe(2);
      expect(exit.stdout).toBe('');
      expect(exit.stderr).toMatch(new RegExp(`^sunset: \`sunset ${group}\` needs a subcommand: sunset ${sub}\\.`));
      expect(exit.stderr).toContain(`Usage: sunset ${group} <subcommand>`);
      expect(exit.stderr).toContain(`\`sunset ${group} <subcommand> --help\``);
      expect(exit.stderr).not.toContain('Unknown command');
      expect(exit.stderr).not.toContain('    at ');
    }
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

describe('the built CLI as a process', () => {
  it('sunset --help prints what main() prints and exits 0; an unknown command exits 2 with the message on stderr', async () => {
    const exit = await h.run(['--help']);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toBe((await sunset(['--help'])).stdout);
    expect(exit.stderr).toBe('');
    const unknown = await h.run(['dmeo']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^sunset: Unknown command "dmeo"/);
  });
});

describe('sunset --version', () => {
  it('prints the package.json version', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const exit = await sunset([flag]);
      expect(exit.code, flag).toBe(0);
      expect(exit.stdout, flag).toBe(`${pkg.version}\n`);
      expect(exit.stderr, flag).toBe('');
    }
  });
});

describe('sunset demo', () => {
  it('--contacts 200 runs the whole story (scan, plan with report, apply, verify, undo) and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sunset-demo-test-'));
    try {
      const report = join(dir, 'report.html');
      const exit = await sunset(['demo', '--contacts', '200', '--report', report]);
      expect(exit.stderr).toBe('');
      expect(exit.code).toBe(0);
      const out = exit.stdout;
      expect(out).toMatch(/^1\. Emulator\s+http:\/\/127\.0\.0\.1:\d+: .+\(\d+, Professional\)/m);
      expect(out).toMatch(/^2\. Scan\s+\d+ active contacts and their whole history \(\d+ transactions\), in \d+ API calls/m);
      expect(out).toMatch(/^3\. Plan\s+plan_[0-9a-f]{16}: \d+ dormant for 24 months; deactivate \d+/m);
      expect(out).toMatch(/^4\. Apply\s+run run-\S+: \d+ contacts marked inactive, 1 skipped, 0 failed/m);
      expect(out).toMatch(/skipped .+: traded since the snapshot: invoice dated/);
      expect(out).toMatch(/^5\. Verify\s+no history lost: /m);
      expect(out).toMatch(/^6\. Undo\s+run run-\S+: \d+ contacts active again; verify: no history lost/m);
      expect(out).toMatch(/emulator ledger consistent: yes/);
      const applied = Number(/(\d+) contacts marked inactive/.exec(out)![1]);
      const undone = Number(/(\d+) contacts active again/.exec(out)![1]);
      expect(undone).toBe(applied);
      expect(readFileSync(report, 'utf8')).toMatch(/^<!DOCTYPE html>/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--contacts abc is a usage error (exit 2), not silently 1000 contacts', async () => {
    const exit = await sunset(['demo', '--contacts', 'abc']);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toMatch(/^sunset: .*--contacts/);
    expect(exit.stderr).not.toContain('    at ');
  });
});

describe('SUNSET_HEAP', () => {
  it('a value other than small or speed is a usage error (exit 2) naming both, before anything is opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sunset-heap-'));
    try {
      for (const command of [['scan', '--emulator', 'embedded'], ['plan'], ['worker'], ['serve']]) {
        const exit = await runMain([...command, '--db', join(dir, 'sunset.db')], { env: { SUNSET_HEAP: 'fast' } });
        expect(exit.code, command.join(' ')).toBe(2);
        expect(exit.stderr).toMatch(/^sunset: SUNSET_HEAP=fast: use small .* or speed/);
        expect(exit.stderr).not.toContain('    at ');
        expect(existsSync(join(dir, 'sunset.db')), 'no journal made').toBe(false);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('heapMode: small by default and for "small" (any case, spaces trimmed); speed for "speed"', () => {
    expect(heapMode({})).toBe('small');
    expect(heapMode({ SUNSET_HEAP: '' })).toBe('small');
    expect(heapMode({ SUNSET_HEAP: ' Small ' })).toBe('small');
    expect(heapMode({ SUNSET_HEAP: 'SPEED' })).toBe('speed');
    expect(() => heapMode({ SUNSET_HEAP: 'tiny' })).toThrow(/SUNSET_HEAP=tiny/);
  });
});
