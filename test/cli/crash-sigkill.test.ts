/**
 * Crash trials with a real SIGKILL: `sunset apply` runs as a subprocess against an emulator
 * subprocess and is killed (SUNSET_FAILPOINT, a SIGKILL the process sends itself) after the claim,
 * after the call or after the finish of its Nth step; `sunset apply --resume` (no failpoint) then
 * finishes the run. Each trial checks the emulator's final state equals the plan, its request log
 * shows no contact changed twice, the journal counts every step changed once (the steps in flight
 * at the crash recovered as changed), and `sunset verify` proves no history was lost.
 *
 * The points, step numbers and concurrency are drawn from a seeded PRNG (CRASH_SEED overrides the
 * seed) and printed. Two lanes run side by side, each with its own emulator, re-seeded with
 * POST /__emulator/reset before every trial; each trial has its own journal in a temp dir.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createHarness, prng, type EmulatorProcess, type Exit } from '../helpers/cli.js';
import { testLocation } from '../helpers/database.js';

const h = createHarness();
afterEach(async () => h.cleanup());
afterAll(async () => h.cleanupAll());

const POINTS = ['after-claim', 'after-call', 'after-finish'] as const;
type Point = (typeof POINTS)[number];
const TRIALS = 12;
const LANES = 2;
const MAX_STEPS = 10;
const SEED = Number(process.env.CRASH_SEED ?? 20_260_101);

interface Trial {
  index: number;
  point: Point;
  /** The step (1-based, in the order the process handles them) at which it is killed. */
  step: number;
  concurrency: number;
}

interface TrialResult {
  index: number;
  point: Point;
  step: number;
  concurrency: number;
  steps: number;
  doneAtCrash: number;
  inFlightAtCrash: number;
  recovered: number;
}

interface RunShow {
  run: { runId: string; state: string; planId: string | null };
  counts: { total: number; pending: number; inFlight: number; changed: number; unchanged: number; skipped: number; failed: number };
  steps: Array<{ contactId: string; state: string; outcome: string | null; attempts: number; lastError: string | null }>;
}

function describeExit(args: string, exit: Exit): string {
  return `sunset ${args}: code ${exit.code}, signal ${exit.signal}\nstdout: ${exit.stdout.slice(-2000)}\nstderr: ${exit.stderr.slice(-2000)}`;
}

/** Vendors only, at most MAX_STEPS changes: few list calls, so the client's own pacing stays in its burst. */
function policyText(organization: string): string {
  return [
    `organization_id: "${organization}"`,
    'inactivity: 24 months',
    'filters:',
    '  contact_type: [vendor]',
    '  custom_fields:',
    '    cf_do_not_sunset: { not: ["true"] }',
    `max_changes: ${MAX_STEPS}`,
    '',
  ].join('\n');
}

async function runTrial(emu: EmulatorProcess, trial: Trial): Promise<TrialResult> {
  await emu.reset();
  const dir = h.temp('sunset-crash-');
  const db = testLocation(join(dir, 'sunset.db'));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, policyText(emu.organization));
  const env = { SUNSET_HOME: join(dir, 'home'), SUNSET_EMULATOR_URL: emu.origin };
  const cli = async (args: string[], extraEnv: Record<string, string> = {}): Promise<Exit> =>
    h.run([...args, '--database', db], { cwd: dir, env: { ...env, ...extraEnv }, timeoutMs: 60_000 });
  const label = `trial ${trial.index}`;

  const scanned = await cli(['scan', '--policy', policy, '--quiet']);
  expect(scanned.code, describeExit('scan', scanned)).toBe(0);
  const planned = await cli(['plan', '--policy', policy, '--json']);
  expect(planned.code, describeExit('plan', planned)).toBe(0);
  const plan = JSON.parse(planned.stdout) as { planId: string; steps: Array<{ contactId: string; action: string }> };
  const planIds = plan.steps.map((s) => s.contactId);
  // The demo data has far more dormant vendors than the cap, so every plan has MAX_STEPS steps.
  expect(planIds.length, `${label}: the plan's steps`).toBe(MAX_STEPS);
  expect(plan.steps.every((s) => s.action === 'deactivate')).toBe(true);
  const step = trial.step;

  const before = await emu.statuses();
  const inactiveBefore = await emu.inactiveIds();
  for (const id of planIds) expect(before.get(id), `${label}: planned contact ${id} starts active`).toBe('active');
  const seq0 = await emu.seq();

  // 1. Apply, killed by SIGKILL at the chosen point of the chosen step.
  const crashed = await cli(['apply', plan.planId, '--yes', '--concurrency', String(trial.concurrency)], { SUNSET_FAILPOINT: `${trial.point}:${step}` });
  expect(crashed.signal, `${label}: ${describeExit('apply (with failpoint)', crashed)}`).toBe('SIGKILL');
  expect(crashed.code).toBeNull();
  const runId = /Run (run-\S+) started\./.exec(crashed.stderr)?.[1];
  expect(runId, `${label}: the run id on stderr: ${crashed.stderr}`).toBeDefined();
  if (runId === undefined) throw new Error('unreachable');

  const atCrashOut = await cli(['runs', 'show', runId, '--json']);
  expect(atCrashOut.code, describeExit('runs show', atCrashOut)).toBe(0);
  const atCrash = JSON.parse(atCrashOut.stdout) as RunShow;
  expect(atCrash.run.planId).toBe(plan.planId);
  const postsAtCrash = (await emu.statusPosts(seq0)).filter((p) => p.code === 0);
  // The kill came before the end of the run, and where it was asked to.
  expect(atCrash.run.state, `${label}: the run was not finished at the crash`).not.toBe('done');
  // Killed after finishing the last step, nothing is left but marking the run done; otherwise steps are.
  if (!(trial.point === 'after-finish' && step === MAX_STEPS)) expect(atCrash.counts.pending + atCrash.counts.inFlight, `${label}: steps left at the crash`).toBeGreaterThan(0);
  if (trial.point === 'after-claim' || trial.point === 'after-call') expect(atCrash.counts.inFlight, `${label}: the killed step is in flight`).toBeGreaterThanOrEqual(1);
  if (trial.point === 'after-call') {
    // The killed step's call succeeded, but the journal had not recorded it yet.
    expect(postsAtCrash.length, `${label}: Zoho changed more contacts than the journal finished`).toBeGreaterThan(atCrash.counts.changed);
  }
  if (trial.point === 'after-finish') expect(atCrash.counts.changed, `${label}: finished steps at the crash`).toBeGreaterThanOrEqual(step);
  // Whatever the journal counts as changed, Zoho really changed.
  const changedAtCrash = new Set(postsAtCrash.map((p) => p.contactId));
  for (const s of atCrash.steps.filter((x) => x.state === 'done')) expect(changedAtCrash.has(s.contactId), `${label}: done step ${s.contactId} was called`).toBe(true);

  // 2. Resume to completion, without a failpoint.
  const resumed = await cli(['apply', '--resume', runId, '--yes', '--quiet']);
  expect(resumed.code, `${label}: ${describeExit('apply --resume', resumed)}`).toBe(0);

  const finalOut = await cli(['runs', 'show', runId, '--json']);
  expect(finalOut.code, describeExit('runs show', finalOut)).toBe(0);
  const final = JSON.parse(finalOut.stdout) as RunShow;
  expect(final.run.state).toBe('done');
  expect(final.counts).toEqual({ total: planIds.length, pending: 0, inFlight: 0, changed: planIds.length, unchanged: 0, skipped: 0, failed: 0 });
  expect(final.steps.map((s) => s.contactId).sort()).toEqual([...planIds].sort());
  for (const s of final.steps) {
    expect(s.state, `${label}: step ${s.contactId}`).toBe('done');
    expect(s.outcome, `${label}: step ${s.contactId}`).toBe('changed');
  }
  const recovered = final.steps.filter((s) => /confirmed after a restart/.test(s.lastError ?? '')).length;
  if (trial.point === 'after-call') expect(recovered, `${label}: the step in flight at the crash was recovered as changed`).toBeGreaterThanOrEqual(1);

  // 3. Zoho's final state is the plan: the planned contacts inactive, nobody else changed.
  const after = await emu.statuses();
  const inactiveAfter = await emu.inactiveIds();
  expect([...inactiveAfter].sort()).toEqual([...new Set([...inactiveBefore, ...planIds])].sort());
  const inPlan = new Set(planIds);
  for (const [id, status] of after) expect(status, `${label}: contact ${id}`).toBe(inPlan.has(id) ? 'inactive' : before.get(id));
  expect(after.size).toBe(before.size);

  // 4. The request log: one successful POST /inactive per planned contact, none for anyone else, no /active.
  const posts = await emu.statusPosts(seq0);
  expect(posts.filter((p) => p.to === 'active')).toEqual([]);
  const successes = new Map<string, number>();
  for (const p of posts.filter((x) => x.code === 0)) successes.set(p.contactId, (successes.get(p.contactId) ?? 0) + 1);
  const twice = [...successes].filter(([, n]) => n > 1);
  expect(twice, `${label}: contacts changed twice`).toEqual([]);
  expect([...successes.keys()].sort()).toEqual([...planIds].sort());

  // 5. No history lost.
  const verified = await cli(['verify', runId]);
  expect(verified.code, `${label}: ${describeExit('verify', verified)}`).toBe(0);
  expect(verified.stdout).toContain('No history was lost');

  return {
    index: trial.index, point: trial.point, step, concurrency: trial.concurrency, steps: planIds.length,
    doneAtCrash: atCrash.counts.changed, inFlightAtCrash: atCrash.counts.inFlight, recovered,
  };
}

describe('apply killed with SIGKILL at random points, then resumed', () => {
  it(`${TRIALS} trials (seed ${SEED}): final state equals the plan, no contact changed twice, every step changed once, verify passes`, async () => {
    const random = prng(SEED);
    const concurrencies = [1, 3, 5];
    // Every point gets TRIALS / 3 trials at distinct step numbers (drawn without replacement).
    const stepsFor = new Map(POINTS.map((point) => {
      const numbers = Array.from({ length: MAX_STEPS }, (_, i) => i + 1);
      for (let i = numbers.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [numbers[i], numbers[j]] = [numbers[j]!, numbers[i]!];
      }
      return [point, numbers];
    }));
    const trials: Trial[] = Array.from({ length: TRIALS }, (_, index) => {
      const point = POINTS[index % POINTS.length]!;
      return { index, point, step: stepsFor.get(point)![Math.floor(index / POINTS.length)]!, concurrency: concurrencies[Math.floor(random() * concurrencies.length)]! };
    });
    console.log(`crash-sigkill: seed ${SEED} (CRASH_SEED=N to change); trials: ${trials.map((t) => `${t.point}:${t.step}/c${t.concurrency}`).join(', ')}`);

    const emulators = await Promise.all(
      Array.from({ length: LANES }, () => h.startEmulator(['--contacts', '300', '--per-minute', '6000', '--daily', '100000'])),
    );
    const results: TrialResult[] = [];
    await Promise.all(emulators.map(async (emu, lane) => {
      for (const trial of trials.filter((t) => t.index % LANES === lane)) results.push(await runTrial(emu, trial));
    }));

    results.sort((a, b) => a.index - b.index);
    for (const r of results) {
      console.log(`  trial ${r.index}: SIGKILL ${r.point} of step ${r.step}/${r.steps} (concurrency ${r.concurrency}); at the crash ${r.doneAtCrash} done, ${r.inFlightAtCrash} in flight; recovered as changed on resume: ${r.recovered}`);
    }
    const points = new Set(results.map((r) => `${r.point}:${r.step}`));
    console.log(`crash-sigkill summary: ${results.length} trials, ${points.size} distinct crash positions (${[...points].join(' ')}), ${results.reduce((n, r) => n + r.steps, 0)} steps, all resumed to the plan with no contact changed twice`);
    expect(results).toHaveLength(TRIALS);
    expect(points.size).toBeGreaterThanOrEqual(10);
    for (const point of POINTS) expect(results.some((r) => r.point === point)).toBe(true);
  }, 400_000);
});
