/** `sunset apply`: execute a plan from the journal (or resume a run), within the organization's limits. */
import { parseArgs } from 'node:util';
import { createRunFromPlan, RunExistsError, type Plan, type RunRecord, databaseLabel } from '../../engine/index.js';
import { actorName } from '../actor.js';
import { intFlag, parseFlags } from '../args.js';
import { EXIT, ExitError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { resolveOrganization } from '../organization.js';
import { executeRun, verificationCost } from '../run-execution.js';
import { confirm, formatDuration } from '../terminal.js';
import { COMMON_FLAGS, COMMON_HELP, openWorkspace, withEnvTwins } from '../workspace.js';

const HELP = `Usage: sunset apply [PLAN_ID] [options]
       sunset apply --resume [RUN_ID] [options]

Executes a plan (default: the latest one) as a new run. Every step is written to the journal before
and after its API call, so a crash, a kill or a power cut at any point is resumed with --resume
without changing a contact twice or losing one. Before acting, and again as it goes, it looks for
contacts that traded, changed balance or changed status since the snapshot (with a few list calls,
not one per contact) and skips them with the reason. It keeps to the organization's per-minute,
in-flight and daily limits; past the daily quota it waits for the reset and carries on.
Ctrl-C stops after the calls in flight.

A run is applied only where its plan was made (the snapshot's Zoho, or emulator), and by one
process at a time: a second \`apply --resume\` of a run another process is applying is refused,
naming that process, unless --wait.

Options:
  --resume              Continue an interrupted run (default: the latest unfinished one)
  --wait                If another process is applying the run, wait for it to let go
  --yes                 Do not ask for confirmation (required when not on a terminal)
  --concurrency N       Steps in flight at once (default 5; Zoho allows 5 on Free, 10 on paid plans)
  --no-fingerprint      Skip recording transaction counts first (then \`sunset verify\` cannot compare)
  --actor NAME          Who the audit trail names (default user@host)
${COMMON_HELP}
`;

function describe(plan: Plan): string {
  const parts = [];
  if (plan.summary.steps.deactivate) parts.push(`deactivate ${plan.summary.steps.deactivate} contact${plan.summary.steps.deactivate === 1 ? '' : 's'}`);
  if (plan.summary.steps.activate) parts.push(`activate ${plan.summary.steps.activate}`);
  return parts.join(' and ');
}

export const OPTIONS = {
  ...COMMON_FLAGS, resume: { type: 'boolean' }, wait: { type: 'boolean' }, yes: { type: 'boolean' }, concurrency: { type: 'string' }, fingerprint: { type: 'boolean' }, actor: { type: 'string' },
} as const;

export const NEGATABLE = ['fingerprint'] as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values: given, positionals } = parseFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, allowNegative: true, options: OPTIONS }), 'apply');
  if (given.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const values = withEnvTwins(given, io.env, OPTIONS);
  if (positionals.length > 1) throw new ExitError(`Give at most one ${values.resume ? 'run' : 'plan'} id (got ${positionals.join(' ')}).`, EXIT.usage);
  const concurrency = intFlag(values.concurrency, 'concurrency', 1, 50);
  // The run or plan is read first: the connection must reach the place it was made.
  let resumed: RunRecord | undefined;
  let planned: Plan | undefined;
  const workspace = await openWorkspace(io, values, {
    bind: async (journal) => {
      if (values.resume) {
        resumed = positionals[0] ? await journal.getRun(positionals[0]) : undefined;
        if (positionals[0] && !resumed) throw new ExitError(`There is no run ${positionals[0]} in ${databaseLabel(values.db ?? 'sunset.db')}. \`sunset runs\` lists them.`, EXIT.notFound);
        resumed ??= (await journal.listRuns(values.org)).find((r) => r.state === 'running' || r.state === 'paused' || r.state === 'pending');
        if (!resumed) throw new ExitError('There is no unfinished run to resume.', EXIT.notFound);
        return { what: `Run ${resumed.runId}`, target: resumed.target };
      }
      planned = positionals[0] ? await journal.getPlan(positionals[0]) : await journal.latestPlan(values.org);
      if (!planned) {
        throw new ExitError(positionals[0] ? `There is no plan ${positionals[0]} in ${databaseLabel(values.db ?? 'sunset.db')}.` : 'There is no plan yet: run `sunset scan` and `sunset plan` first.', EXIT.notFound);
      }
      return { what: `Plan ${planned.planId}`, target: planned.target };
    },
  });
  try {
    const { journal } = workspace;
    const execute = {
      yes: true, question: '', concurrency, fingerprint: values.fingerprint !== false, quiet: values.quiet === true, json: values.json === true,
      failpoint: io.env.SUNSET_FAILPOINT, wait: values.wait === true,
    };
    const note = (text: string): void => {
      if (!values.quiet && !values.json) io.stderr.write(`${text}\n`);
    };

    if (values.resume) {
      const runRecord = resumed!;
      if (runRecord.state === 'done' || runRecord.state === 'cancelled') {
        // With --json, the same document as a run applied now, so a script reads one shape.
        if (values.json) io.stdout.write(`${JSON.stringify({ run: runRecord, counts: await journal.runCounts(runRecord.runId), interrupted: false, apiCalls: 0 })}\n`);
        else io.stdout.write(`Run ${runRecord.runId} is already ${runRecord.state}; nothing to resume.\n`);
        return 0;
      }
      await resolveOrganization(workspace.connection, runRecord.organizationId);
      const counts = await journal.runCounts(runRecord.runId);
      const left = counts.pending + counts.inFlight;
      if (!(await confirm(io, `Resume run ${runRecord.runId} in organization ${runRecord.organizationId}: ${left} step${left === 1 ? '' : 's'} left?`, values.yes === true))) {
        throw new ExitError('Nothing was changed.');
      }
      return await executeRun(io, workspace, runRecord, execute);
    }

    const plan = planned!;
    if (values.org && values.org !== plan.organizationId) {
      throw new ExitError(`Plan ${plan.planId} was made for organization ${plan.organizationId}, not ${values.org}. Nothing was changed.`);
    }
    await resolveOrganization(workspace.connection, plan.organizationId);
    const earlier = (await journal.listRuns(plan.organizationId)).find((r) => r.planId === plan.planId);
    if (earlier) {
      throw new ExitError(earlier.state === 'done'
        ? `Plan ${plan.planId} was already applied by run ${earlier.runId}. Scan and plan again for a new plan.`
        : `Plan ${plan.planId} is being applied by run ${earlier.runId} (${earlier.state}); continue it with \`sunset apply --resume ${earlier.runId}\`.`);
    }
    if (plan.steps.length === 0) {
      if (values.json) io.stdout.write(`${JSON.stringify({ run: null, counts: null, interrupted: false, apiCalls: 0 })}\n`);
      else io.stdout.write(`Plan ${plan.planId} has no steps; nothing to do.\n`);
      return 0;
    }
    const quota = workspace.connection.port(plan.organizationId).quota();
    const perMinute = quota.perMinute;
    let eta = `about ${formatDuration((plan.steps.length / perMinute) * 60_000)} at ${perMinute} calls a minute`;
    if (quota.limit && plan.steps.length > (quota.remaining ?? quota.limit)) {
      const days = Math.ceil((plan.steps.length - (quota.remaining ?? 0)) / quota.limit);
      eta += `; that is more than today's quota (${quota.remaining ?? '?'} calls left of ${quota.limit}), so it will wait for ${days} daily reset${days === 1 ? '' : 's'}`;
    }
    // What verification costs is part of the question: the "before" counts (from the scan, or a
    // read now) and the read `sunset verify` makes afterwards.
    let verification = '';
    if (values.fingerprint !== false) {
      const snapshot = await journal.getSnapshot(plan.snapshotId);
      verification = `${await verificationCost(journal, workspace.connection.port(plan.organizationId), {
        contacts: new Map(plan.steps.map((s) => [s.contactId, s.contactType])),
        before: snapshot?.history === 'full' ? { source: 'snapshot', takenAt: snapshot.takenAt } : undefined,
      })}\n`;
    }
    const question = `${verification}Apply plan ${plan.planId} to organization ${plan.organizationId} (${workspace.connection.description}): ${describe(plan)} (${eta})?`;
    if (!(await confirm(io, question, values.yes === true))) throw new ExitError('Nothing was changed.');
    let runRecord;
    try {
      runRecord = await createRunFromPlan(journal, plan, actorName(io.env, values.actor), Date.now());
    } catch (error) {
      if (error instanceof RunExistsError) throw new ExitError(`${error.message} Nothing was changed.`);
      throw error;
    }
    // Said once the run is ours: a process that loses the race for the plan prints only its refusal.
    if (values.yes && verification) note(verification.trimEnd());
    note(`Run ${runRecord.runId} started.`);
    return await executeRun(io, workspace, runRecord, execute);
  } finally {
    await workspace.close();
  }
}
