/**
 * Command-line conventions every command keeps, found by a user trying Sunset: a malformed number
 * is a usage error, a run that does not exist is an error, commands that only read the journal do
 * not create one. Real child processes of the built CLI (dist/cli/main.js; `npm test` builds it
 * first), real SQLite journals in temp dirs.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createChangeRun, createJournal, defaultPolicyText, openSqlite } from '../../src/engine/index.js';
import { cleanRefusal, createHarness } from '../helpers/cli.js';

const h = createHarness();
afterEach(() => h.cleanup());
afterAll(() => h.cleanupAll());

/** A journal at `dir/sunset.db` holding one manual run (never applied); returns its id. */
async function journalWithRun(dir: string): Promise<{ db: string; runId: string }> {
  const db = join(dir, 'sunset.db');
  const journal = createJournal(openSqlite(db));
  try {
    await journal.migrate();
    const run = await createChangeRun(journal, {
      organizationId: '701000001', kind: 'manual', changes: [{ contactId: '460000000000001', action: 'deactivate' }],
      createdBy: 'test', now: Date.UTC(2026, 2, 2), note: 'conventions test',
    });
    return { db, runId: run.runId };
  } finally {
    await journal.close();
  }
}

describe('--limit takes a whole number, or it is a usage error', () => {
  it('runs show RUN --limit abc: exit 2 naming --limit, nothing on stdout', async () => {
    const { db, runId } = await journalWithRun(h.temp());
    const good = await h.run(['runs', 'show', runId, '--db', db, '--limit', '5']);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(runId);
    for (const bad of ['abc', '1.5', '-1', '0x10', '']) {
      const exit = await h.run(['runs', 'show', runId, '--db', db, `--limit=${bad}`]);
      expect(exit.code, `--limit "${bad}"`).toBe(2);
      expect(exit.stdout).toBe('');
      expect(exit.stderr).toContain(`--limit must be a whole number from 0 to 1000000 (got "${bad}")`);
      expect(cleanRefusal(exit)).toEqual([]);
    }
  });

  it('runs --limit abc: exit 2, not a silent list', async () => {
    const { db } = await journalWithRun(h.temp());
    const exit = await h.run(['runs', '--db', db, '--limit', 'abc']);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toContain('--limit must be a whole number');
    expect(cleanRefusal(exit)).toEqual([]);
  });

  it('plan --limit 0x10: exit 2 naming --limit, before the policy is even read', async () => {
    const dir = h.temp();
    const exit = await h.run(['plan', '--db', join(dir, 'sunset.db'), '--policy', join(dir, 'missing.yaml'), '--limit', '0x10']);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toContain('--limit must be a whole number from 0 to 1000000 (got "0x10")');
    expect(cleanRefusal(exit)).toEqual([]);
  });
});

describe('audit --run names a run that exists', () => {
  it('audit --run run-nope: exit 1 with the reason, nothing on stdout, no output file', async () => {
    const dir = h.temp();
    const { runId } = await journalWithRun(dir);
    const output = join(dir, 'audit.csv');
    const exit = await h.run(['audit', '--run', 'run-nope'], { cwd: dir });
    expect(exit.code).toBe(1);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toBe('sunset: There is no run run-nope in sunset.db. `sunset runs` lists them.\n');
    const toFile = await h.run(['audit', '--run', 'run-nope', '--output', output], { cwd: dir });
    expect(toFile.code).toBe(1);
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

  it('runs show, runs check, audit and plan with no journal: exit 1 saying so and how one is made, and still no file', async () => {
    const dir = h.temp();
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, defaultPolicyText('701000001'));
    const db = join(dir, 'sunset.db');
    for (const args of [['runs', 'show', 'run-nope'], ['runs', 'check'], ['audit'], ['audit', '--run', 'run-nope'], ['plan', '--policy', policy]]) {
      for (const where of [[], ['--db', db]]) {
        const exit = await h.run([...args, ...where], { cwd: dir });
        const what = `sunset ${[...args, ...where].join(' ')}`;
        expect(exit.code, what).toBe(1);
        expect(exit.stdout, what).toBe('');
        expect(exit.stderr, what).toContain(`There is no journal at ${db}`);
        expect(exit.stderr, what).toContain('`sunset scan --policy FILE`');
        expect(cleanRefusal(exit), what).toEqual([]);
      }
    }
    expect(readdirSync(dir)).toEqual(['policy.yaml']);
  });
});
