/**
 * One driver per run, and a true state (issue 10): the built CLI as real child processes on one
 * journal against a `sunset emulator start` process, processes killed with real signals.
 *
 * Before: two `apply PLAN --yes` started together both made a run (3 of 15 trials); `apply
 * --resume RUN` was accepted while another process applied the run; after `kill -9`, `sunset runs`
 * said "running".
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanRefusal, createHarness, type EmulatorProcess, type Exit } from '../helpers/cli.js';
import { until } from '../helpers/service.js';
import { testLocation } from '../helpers/database.js';

const h = createHarness();
const FAST = ['--per-minute', '6000', '--daily', '100000'];
let emu: EmulatorProcess;

beforeAll(async () => {
  emu = await h.startEmulator(['--contacts', '400', ...FAST], true);
});
afterEach(async () => {
  await emu.admin('DELETE', '/__emulator/faults');
  await h.cleanup();
});
afterAll(() => h.cleanupAll());

const show = (e: Exit): string => `code ${e.code}\nstdout: ${e.stdout}\nstderr: ${e.stderr}`;

/** A fresh journal with a plan of `changes` steps made against the shared emulator. */
async function planned(changes: number): Promise<{ dir: string; cli: (args: string[], timeoutMs?: number) => Promise<Exit>; args: (args: string[]) => string[]; env: Record<string, string> }> {
  const dir = h.temp('sunset-lease-');
  const env = { SUNSET_HOME: join(dir, 'home'), SUNSET_EMULATOR_URL: emu.origin };
  const args = (rest: string[]): string[] => [...rest, '--database', testLocation(join(dir, 'sunset.db')), '--per-minute', '6000'];
  const cli = (rest: string[], timeoutMs = 60_000): Promise<Exit> => h.run(args(rest), { cwd: dir, env, timeoutMs });
  expect((await cli(['policy', 'init', 'policy.yaml', '--org', emu.organization])).code).toBe(0);
  writeFileSync(join(dir, 'policy.yaml'), readFileSync(join(dir, 'policy.yaml'), 'utf8').replace(/^max_changes: \d+$/m, `max_changes: ${changes}`));
  const scanned = await cli(['scan', '--policy', 'policy.yaml']);
  expect(scanned.code, show(scanned)).toBe(0);
  const plan = await cli(['plan', '--org', emu.organization]);
  expect(plan.code, show(plan)).toBe(0);
  return { dir, cli, args, env };
}

describe('two processes and one plan', () => {
  it('two `apply PLAN --yes` started together make exactly one run; the other is refused naming it', async () => {
    for (let trial = 0; trial < 4; trial++) {
      const w = await planned(3);
      const since = await emu.seq();
      const [x, y] = await Promise.all([w.cli(['apply', '--yes']), w.cli(['apply', '--yes'])]);
      const exits = [x, y];
      expect(exits.filter((e) => e.code === 0), exits.map(show).join('\n')).toHaveLength(1);
      const refused = exits.find((e) => e.code !== 0)!;
      expect(refused.code, show(refused)).toBe(1);
      expect(cleanRefusal(refused), show(refused)).toEqual([]);
      expect(refused.stderr).toMatch(/Plan plan_\w+ (already has a run: run-\S+|is being applied by run run-\S+|was already applied by run run-\S+)/);
      const runs = JSON.parse((await w.cli(['runs', '--json'])).stdout) as unknown[];
      expect(runs, `trial ${trial}`).toHaveLength(1);
      const posts = (await emu.statusPosts(since)).filter((p) => p.status === 200);
      expect(posts, `trial ${trial}`).toHaveLength(3);
      expect((await w.cli(['runs', 'check'])).code).toBe(0);
    }
    // Four trials of six commands each: on a loaded 2-core machine, more than the default minute.
  }, 240_000);
});

describe('one driver per run', () => {
  it('refuses `apply --resume` while another process applies the run, naming that process; --wait waits and then finds it done', async () => {
    const w = await planned(6);
    // Each status change is held 600 ms at the emulator, one at a time: the run takes a few seconds.
    expect((await emu.admin('POST', '/__emulator/faults', { faults: ['latency:600,method=POST,path=/contacts/*/inactive'] })).status).toBe(200);
    const since = await emu.seq();
    const first = h.spawn(w.args(['apply', '--yes', '--concurrency', '1']), { cwd: w.dir, env: w.env, timeoutMs: 60_000 });
    await first.waitFor((_out, err) => /Run run-\S+ started\./.test(err));
    const runId = /Run (run-\S+) started\./.exec(first.stderr)![1]!;
    await until(async () => ((await emu.statusPosts(since)).length > 0 ? true : undefined), 'the first status change');

    const second = await w.cli(['apply', '--resume', runId, '--yes']);
    expect(second.code, show(second)).toBe(1);
    expect(cleanRefusal(second)).toEqual([]);
    expect(second.stderr).toMatch(new RegExp(`Run ${runId} is being applied by process ${first.child.pid} on \\S+ \\(since \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC\\)\\. Only one process drives a run at a time\\. Nothing was done here; wait for it \\(add --wait\\), or stop that process first\\.`));
    // The refusal left the run as it was: still running, driven by the first process.
    const during = JSON.parse((await w.cli(['runs', 'show', runId, '--json'])).stdout) as { status: string; run: { driver: { owner: string } | null } };
    expect(during.status).toBe('running');
    expect(during.run.driver?.owner).toContain(`:${first.child.pid}:`);

    const waited = await w.cli(['apply', '--resume', runId, '--yes', '--wait', '--json']);
    expect(waited.code, show(waited)).toBe(0);
    expect((JSON.parse(waited.stdout) as { run: { state: string } }).run.state).toBe('done');
    const done = await first.exited;
    expect(done.code, `${done.stdout}\n${done.stderr}`).toBe(0);
    // Six changes in all: none made twice.
    const posts = (await emu.statusPosts(since)).filter((p) => p.status === 200);
    expect(posts).toHaveLength(6);
    expect(new Set(posts.map((p) => p.contactId)).size).toBe(6);
  });

  it('after kill -9, `sunset runs` says the run is interrupted (not running), and a resume takes it over at once', async () => {
    const w = await planned(6);
    expect((await emu.admin('POST', '/__emulator/faults', { faults: ['latency:600,method=POST,path=/contacts/*/inactive'] })).status).toBe(200);
    const since = await emu.seq();
    const first = h.spawn(w.args(['apply', '--yes', '--concurrency', '1']), { cwd: w.dir, env: w.env, timeoutMs: 60_000 });
    await first.waitFor((_out, err) => /Run run-\S+ started\./.test(err));
    const runId = /Run (run-\S+) started\./.exec(first.stderr)![1]!;
    await until(async () => ((await emu.statusPosts(since)).filter((p) => p.status === 200).length >= 2 ? true : undefined), 'two status changes');
    first.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const list = await w.cli(['runs']);
    expect(list.code, show(list)).toBe(0);
    const row = list.stdout.split('\n').find((l) => l.startsWith(runId))!;
    expect(row).toMatch(/\binterrupted\b/);
    expect(row).not.toMatch(/\brunning\b/);
    const shown = await w.cli(['runs', 'show', runId]);
    expect(shown.stdout).toMatch(/interrupted\s+no process is applying it/);

    await emu.admin('DELETE', '/__emulator/faults');
    const resumed = await w.cli(['apply', '--resume', runId, '--yes', '--json']);
    expect(resumed.code, show(resumed)).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ run: { state: 'done', driver: null }, counts: { total: 6, changed: 6, failed: 0 } });
    const posts = (await emu.statusPosts(since)).filter((p) => p.status === 200);
    expect(new Set(posts.map((p) => p.contactId)).size).toBe(posts.length);
    expect((await w.cli(['runs', 'check'])).code).toBe(0);
  });
});
