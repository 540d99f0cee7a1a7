/**
 * Command-line conventions every command keeps, found by a user trying Sunset: a malformed number
 * is a usage error, a run that does not exist is an error, commands that only read the journal do
 * not create one. The CLI's main() in this process where nothing depends on the process (paths are
 * absolute), real child processes of the built CLI (dist/cli/main.js; `npm test` builds it first)
 * where the working directory or a terminal matters; real SQLite journals in temp dirs.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { defaultPolicyText } from '../../src/engine/index.js';
import { cleanRefusal, createHarness, journalWithRun, runMain } from '../helpers/cli.js';
import { runOnTerminal } from '../reliability/security-helpers.js';

const h = createHarness();
afterEach(() => h.cleanup());
afterAll(() => h.cleanupAll());

describe('--limit takes a whole number, or it is a usage error', () => {
  it('runs show RUN --limit abc: exit 2 naming --limit, nothing on stdout', async () => {
    const { db, runId } = await journalWithRun(h.temp());
    const good = await runMain(['runs', 'show', runId, '--db', db, '--limit', '5']);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(runId);
    for (const bad of ['abc', '1.5', '-1', '0x10', '']) {
      const exit = await runMain(['runs', 'show', runId, '--db', db, `--limit=${bad}`]);
      expect(exit.code, `--limit "${bad}"`).toBe(2);
      expect(exit.stdout).toBe('');
      expect(exit.stderr).toContain(`--limit must be a whole number from 0 to 1000000 (got "${bad}")`);
      expect(cleanRefusal(exit)).toEqual([]);
    }
  });

  it('runs --limit abc: exit 2, not a silent list', async () => {
    const { db } = await journalWithRun(h.temp());
    const exit = await runMain(['runs', '--db', db, '--limit', 'abc']);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toContain('--limit must be a whole number');
    expect(cleanRefusal(exit)).toEqual([]);
  });

  it('plan --limit 0x10: exit 2 naming --limit, before the policy is even read', async () => {
    const dir = h.temp();
    const exit = await runMain(['plan', '--db', join(dir, 'sunset.db'), '--policy', join(dir, 'missing.yaml'), '--limit', '0x10']);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toContain('--limit must be a whole number from 0 to 1000000 (got "0x10")');
    expect(cleanRefusal(exit)).toEqual([]);
  });
});

describe('audit --run names a run that exists', () => {
  it('audit --run run-nope: exit 3 (not found) with the reason, nothing on stdout, no output file', async () => {
    const dir = h.temp();
    const { runId } = await journalWithRun(dir);
    const output = join(dir, 'audit.csv');
    const exit = await h.run(['audit', '--run', 'run-nope'], { cwd: dir });
    expect(exit.code).toBe(3);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toBe('sunset: There is no run run-nope in sunset.db. `sunset runs` lists them.\n');
    const toFile = await h.run(['audit', '--run', 'run-nope', '--output', output], { cwd: dir });
    expect(toFile.code).toBe(3);
    expect(existsSync(output)).toBe(false);
    // A run that exists but changed nothing yet is an empty export, not an error.
    const known = await h.run(['audit', '--run', runId], { cwd: dir });
    expect(known.code).toBe(0);
    expect(known.stdout).toMatch(/^who,when,organization_id,run_id,/);
  });
});

describe('commands that only read the journal do not create one', () => {
  it('runs with no journal: "no runs yet", the path, exit 0, and still no file', async () => {
    const dir = h.temp();
    const exit = await h.run(['runs'], { cwd: dir });
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain('No runs yet');
    expect(exit.stdout).toContain(`there is no journal at ${join(dir, 'sunset.db')}`);
    const json = await h.run(['runs', '--json', '--db', join(dir, 'typo.db')], { cwd: dir });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('runs show, runs check, audit and plan with no journal: exit 3 (not found) saying so and how one is made, and still no file', async () => {
    const dir = h.temp();
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, defaultPolicyText('701000001'));
    const db = join(dir, 'sunset.db');
    for (const args of [['runs', 'show', 'run-nope'], ['runs', 'check'], ['audit'], ['audit', '--run', 'run-nope'], ['plan', '--policy', policy]]) {
      for (const where of [[], ['--db', db]]) {
        const exit = await h.run([...args, ...where], { cwd: dir });
        const what = `sunset ${[...args, ...where].join(' ')}`;
        expect(exit.code, what).toBe(3);
        expect(exit.stdout, what).toBe('');
        expect(exit.stderr, what).toContain(`There is no journal at ${db}`);
        expect(exit.stderr, what).toContain('`sunset scan --policy FILE`');
        expect(cleanRefusal(exit), what).toEqual([]);
      }
    }
    expect(readdirSync(dir)).toEqual(['policy.yaml']);
  });
});

describe('with several organizations and none chosen, commands ask or refuse, never pick one', () => {
  /** The embedded emulator's demo data: two organizations. No credentials (SUNSET_HOME is empty). */
  const EMBEDDED = [{ id: '701000001', name: 'Sunrise Traders Pvt Ltd' }, { id: '701000002', name: 'Harbor Supply Co' }];
  const env = (dir: string): Record<string, string> => ({ SUNSET_HOME: join(dir, 'home') });

  it('policy init off a terminal (embedded emulator): exit 2 with the organizations numbered and "name one with --org", no file', async () => {
    const dir = h.temp();
    const file = join(dir, 'policy.yaml');
    const exit = await runMain(['policy', 'init', file, '--db', join(dir, 'sunset.db'), '--quiet'], { env: env(dir) });
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toContain('2 organizations are reachable through the embedded emulator and none is the default');
    expect(exit.stderr).toContain(`  1. ${EMBEDDED[0]!.id}  ${EMBEDDED[0]!.name}\n  2. ${EMBEDDED[1]!.id}  ${EMBEDDED[1]!.name}\n`);
    expect(exit.stderr).toContain('Not a terminal, so nothing was asked: name one with --org');
    expect(cleanRefusal(exit)).toEqual([]);
    expect(existsSync(file)).toBe(false);

    const named = await runMain(['policy', 'init', file, '--db', join(dir, 'sunset.db'), '--org', EMBEDDED[1]!.id], { env: env(dir) });
    expect(named.code, named.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain(`organization_id: "${EMBEDDED[1]!.id}"`);
  });

  it('policy init --emulator URL off a terminal: refuses the same way (the emulator\'s first organization is no default)', async () => {
    const emu = await h.startEmulator();
    expect(emu.info.organizations.length).toBeGreaterThan(1);
    const dir = h.temp();
    const file = join(dir, 'policy.yaml');
    const exit = await runMain(['policy', 'init', file, '--db', join(dir, 'sunset.db'), '--emulator', emu.origin], { env: env(dir) });
    expect(exit.code).toBe(2);
    for (const [i, o] of emu.info.organizations.entries()) expect(exit.stderr).toContain(`  ${i + 1}. ${o.organization_id}  ${o.name}\n`);
    expect(exit.stderr).toContain('name one with --org');
    expect(existsSync(file)).toBe(false);
  });

  it('policy init on a terminal lists the organizations numbered and writes the policy for the one chosen', async () => {
    const dir = h.temp();
    const file = join(dir, 'policy.yaml');
    const terminal = await runOnTerminal(['policy', 'init', file, '--db', join(dir, 'sunset.db')], env(dir), [['Which one (1-2, or its id)? ', '7'], ['Which one (1-2, or its id)? ', '2']]);
    expect(terminal.code, terminal.shown).toBe(0);
    expect(terminal.shown).toContain(`1. ${EMBEDDED[0]!.id}  ${EMBEDDED[0]!.name}`);
    expect(terminal.shown).toContain(`2. ${EMBEDDED[1]!.id}  ${EMBEDDED[1]!.name}`);
    expect(terminal.shown).toContain('"7" is not one of them');
    expect(terminal.shown).toContain(`Wrote ${file} for organization ${EMBEDDED[1]!.id}`);
    expect(readFileSync(file, 'utf8')).toContain(`organization_id: "${EMBEDDED[1]!.id}"`);
  });

  it('contacts deactivate without --org off a terminal: exit 2 with the list, nothing changed', async () => {
    const dir = h.temp();
    const db = join(dir, 'sunset.db');
    const exit = await runMain(['contacts', 'deactivate', '460000000000001', '--yes', '--quiet', '--db', db], { env: env(dir) });
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain(`  1. ${EMBEDDED[0]!.id}  ${EMBEDDED[0]!.name}\n`);
    expect(exit.stderr).toMatch(/name one with --org/i);
    expect(cleanRefusal(exit)).toEqual([]);
    const runs = await runMain(['runs', '--json', '--db', db], { env: env(dir) });
    expect(JSON.parse(runs.stdout)).toEqual([]);
  });

  it('orgs marks no organization as the default when none was chosen', async () => {
    const dir = h.temp();
    const exit = await runMain(['orgs', '--db', join(dir, 'sunset.db')], { env: env(dir) });
    expect(exit.code, exit.stderr).toBe(0);
    for (const o of EMBEDDED) expect(exit.stdout).toContain(`${o.id}  ${o.name}`);
    expect(exit.stdout).not.toContain('[default]');
  });
});
