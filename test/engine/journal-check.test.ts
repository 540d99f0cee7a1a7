/**
 * `checkJournal` (and `sunset runs check`): sound after a real plan run and its undo against the
 * emulator; each kind of damage written into the SQLite file by hand is reported, and the CLI
 * exits 1 naming it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRun, checkJournal, createRunFromPlan, createUndoRun, type Plan } from '../../src/engine/index.js';
import { createHarness } from '../helpers/cli.js';
import { scanAndPlan, startEngineHarness, type EngineHarness } from '../helpers/engine.js';

let h: EngineHarness;
let plan: Plan;
let runId = '';
let undoId = '';
const cli = createHarness();

beforeAll(async () => {
  h = await startEngineHarness({ contacts: 120, randomSeed: 11 });
  ({ plan } = await scanAndPlan(h));
  const run = await createRunFromPlan(h.journal, plan, 'ana@example.com', h.clock.now());
  runId = run.runId;
  await applyRun({ journal: h.journal, port: h.port, runId, owner: 'host:1:a', clock: h.clock });
  const { run: undo } = await createUndoRun(h.journal, runId, 'ana@example.com', h.clock.now());
  undoId = undo.runId;
  await applyRun({ journal: h.journal, port: h.port, runId: undoId, owner: 'host:1:a', clock: h.clock });
});
afterAll(async () => {
  await cli.cleanupAll();
  await h.close();
});

/** Applies `damage` (SQL), checks, then undoes it with `repair`, and returns the problems found. */
async function damaged(damage: string, repair: string, params: Array<string | number> = []): Promise<string[]> {
  await h.db.run(damage, params);
  try {
    return await checkJournal(h.journal, h.db);
  } finally {
    await h.db.run(repair, params);
  }
}

describe('checkJournal', () => {
  it('finds nothing wrong after a run and its undo', async () => {
    expect(plan.steps.length).toBeGreaterThan(2);
    expect(await checkJournal(h.journal, h.db)).toEqual([]);
  });

  it('a done run with a step put back to pending', async () => {
    const problems = await damaged(
      "UPDATE steps SET state = 'pending', outcome = NULL, finished_at = NULL WHERE run_id = ? AND seq = 1",
      "UPDATE steps SET state = 'done', outcome = 'changed', finished_at = 1 WHERE run_id = ? AND seq = 1",
      [runId],
    );
    expect(problems.join('\n')).toContain(`run ${runId}: done, but 1 steps pending`);
  });

  it('a done step without an outcome', async () => {
    const problems = await damaged("UPDATE steps SET outcome = NULL WHERE run_id = ? AND seq = 2", "UPDATE steps SET outcome = 'changed' WHERE run_id = ? AND seq = 2", [runId]);
    expect(problems.join('\n')).toContain('done without an outcome');
  });

  it('a plan run step that is not in its plan, or with another action', async () => {
    const problems = await damaged("UPDATE steps SET action = 'activate' WHERE run_id = ? AND seq = 1", "UPDATE steps SET action = 'deactivate' WHERE run_id = ? AND seq = 1", [runId]);
    expect(problems.join('\n')).toMatch(/is to activate, the plan says deactivate/);
    // ...and then the undo no longer reverses it.
    expect(problems.join('\n')).toMatch(/is to activate again, not reversed/);
  });

  it('the same contact twice in a run, and an id that is not a Zoho id', async () => {
    const set = (id: string, seq: number): Promise<number> => h.db.run('UPDATE steps SET contact_id = ? WHERE run_id = ? AND seq = ?', [id, runId, seq]);
    await set(plan.steps[0]!.contactId, 2);
    const twice = await checkJournal(h.journal, h.db);
    await set(plan.steps[1]!.contactId, 2);
    expect(twice.join('\n')).toContain('the contact appears twice in the run');
    await set('abc', 3);
    const bad = await checkJournal(h.journal, h.db);
    await set(plan.steps[2]!.contactId, 3);
    expect(bad.join('\n')).toContain('the contact id is not a Zoho id');
    expect(await checkJournal(h.journal, h.db)).toEqual([]);
  });

  it('`sunset runs check` exits 0 on a sound journal and 4 ("differences", docs/cli.md) with each problem', async () => {
    const sound = await cli.run(['runs', 'check', '--db', h.dbPath]);
    expect(sound.code, sound.stderr).toBe(0);
    expect(sound.stdout).toMatch(/^The journal is sound: 2 runs checked/);
    await h.db.run("UPDATE steps SET outcome = NULL WHERE run_id = ? AND seq = 2", [undoId]);
    try {
      const bad = await cli.run(['runs', 'check', '--db', h.dbPath, '--json']);
      expect(bad.code).toBe(4);
      const out = JSON.parse(bad.stdout) as { ok: boolean; runs: number; problems: string[] };
      expect(out.ok).toBe(false);
      expect(out.problems).toContainEqual(expect.stringContaining(`run ${undoId} step 2`));
    } finally {
      await h.db.run("UPDATE steps SET outcome = 'changed' WHERE run_id = ? AND seq = 2", [undoId]);
    }
  });
});
