/**
 * A run is bound to the Zoho it was made against (issue 10). The built CLI as child processes,
 * two `sunset emulator start` processes made from the same seed (the same organization ids and
 * credentials: the trap a user fell into), one journal. Before: `sunset verify RUN` without
 * `--emulator` quietly created `sunset-emulator.db`, verified against the embedded emulator and
 * printed "No history was lost."; `orgs` and `undo` fell back the same way.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanRefusal, createHarness, type EmulatorProcess, type Exit } from '../helpers/cli.js';

const h = createHarness();
const FAST = ['--per-minute', '6000', '--daily', '100000'];
let a: EmulatorProcess;
let b: EmulatorProcess;
let dir: string;
let runId: string;
let planId: string;

const show = (e: Exit): string => `code ${e.code}\nstdout: ${e.stdout}\nstderr: ${e.stderr}`;
const cli = (args: string[]): Promise<Exit> => h.run([...args, '--db', join(dir, 'sunset.db')], { cwd: dir, env: { SUNSET_HOME: join(dir, 'home') }, timeoutMs: 90_000 });
const embeddedState = (): string => join(dir, 'sunset-emulator.db');
const books = async (emu: EmulatorProcess, since: number): Promise<number> => (await emu.requests(since)).filter((r) => r.path.startsWith('/books/')).length;

beforeAll(async () => {
  [a, b] = await Promise.all([h.startEmulator(['--contacts', '80', '--random-seed', '5', ...FAST], true), h.startEmulator(['--contacts', '80', '--random-seed', '5', ...FAST], true)]);
  expect(a.organizations).toEqual(b.organizations);
  dir = h.temp('sunset-targets-', true);
  const organization = a.organization;
  expect((await cli(['policy', 'init', 'policy.yaml', '--org', organization, '--emulator', a.origin])).code).toBe(0);
  const { writeFileSync, readFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'policy.yaml'), readFileSync(join(dir, 'policy.yaml'), 'utf8').replace(/^max_changes: \d+$/m, 'max_changes: 4'));
  const scanned = await cli(['scan', '--policy', 'policy.yaml', '--emulator', a.origin]);
  expect(scanned.code, show(scanned)).toBe(0);
  const planned = await cli(['plan', '--org', organization, '--json']);
  expect(planned.code, show(planned)).toBe(0);
  planId = (JSON.parse(planned.stdout) as { planId: string }).planId;
  const applied = await cli(['apply', '--yes', '--emulator', a.origin, '--json']);
  expect(applied.code, show(applied)).toBe(0);
  runId = (JSON.parse(applied.stdout) as { run: { runId: string } }).run.runId;
}, 120_000);
afterAll(() => h.cleanupAll());

describe('a run made against one emulator', () => {
  it('is verified there without --emulator: the run names its place; no embedded emulator is made', async () => {
    const since = await a.seq();
    const verified = await cli(['verify', runId]);
    expect(verified.code, show(verified)).toBe(0);
    expect(verified.stdout).toContain(`Verified run ${runId} on the emulator at ${a.origin}`);
    expect(await books(a, since)).toBeGreaterThan(0);
    expect(existsSync(embeddedState())).toBe(false);
  });

  it('is refused against another place, naming both, with no call there and no embedded emulator made', async () => {
    for (const [other, named] of [['embedded', 'the embedded emulator'], [b.origin, `the emulator at ${b.origin}`]] as const) {
      const sinceB = await b.seq();
      const refused = await cli(['verify', runId, '--emulator', other]);
      expect(refused.code, show(refused)).toBe(1);
      expect(cleanRefusal(refused)).toEqual([]);
      expect(refused.stderr).toContain(`Run ${runId} was made against the emulator at ${a.origin}, but --emulator names ${named}. Nothing was done; use --emulator ${a.origin}.`);
      expect(await books(b, sinceB)).toBe(0);
    }
    expect(existsSync(embeddedState())).toBe(false);
  });

  it('shows its place in runs show', async () => {
    const shown = await cli(['runs', 'show', runId]);
    expect(shown.code, show(shown)).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`where\\s+the emulator at ${a.origin.replace(/[.]/g, '\\.')}`));
  });

  it('keeps a plan to its place: apply --emulator B is refused', async () => {
    const again = await cli(['apply', planId, '--yes', '--emulator', b.origin]);
    expect(again.code, show(again)).toBe(1);
    expect(again.stderr).toContain(`Plan ${planId} was made against the emulator at ${a.origin}, but --emulator names the emulator at ${b.origin}.`);
  });

  it('keeps the journal from switching quietly: orgs with no connection named is refused, naming the emulator it knows', async () => {
    const organizations = await cli(['orgs']);
    expect(organizations.code, show(organizations)).toBe(2);
    expect(cleanRefusal(organizations)).toEqual([]);
    expect(organizations.stderr).toContain(`has worked with the emulator at ${a.origin}: Sunset will not quietly switch to the embedded emulator. Name one: --emulator ${a.origin}, or --emulator embedded.`);
    expect(existsSync(embeddedState())).toBe(false);
    // Named, it works.
    expect((await cli(['orgs', '--emulator', a.origin])).code).toBe(0);
  });

  it('is undone there without --emulator, and the other emulator is never touched', async () => {
    const sinceA = await a.seq();
    const sinceB = await b.seq();
    const undone = await cli(['undo', runId, '--yes']);
    expect(undone.code, show(undone)).toBe(0);
    expect((await a.statusPosts(sinceA)).filter((p) => p.to === 'active')).toHaveLength(4);
    expect(await books(b, sinceB)).toBe(0);
    expect(existsSync(embeddedState())).toBe(false);
    // A run is undone once.
    const twice = await cli(['undo', runId, '--yes']);
    expect(twice.code, show(twice)).toBe(1);
    expect(twice.stderr).toMatch(new RegExp(`Run ${runId} was already undone by run run-`));
  });
});
