/**
 * Runs (docs/service-api.md, "Runs"): the list, a run's page (steps, verification, whether it can
 * be verified), and what people do to a run: undo, resume, stop, verify.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { createUndoRun, RunExistsError, RunInputError, type VerifyResult } from '../../engine/index.js';
import type { RunDetail, RunListItem, RunStarted, VerifyStarted } from '../api-types.js';
import type { ServiceContext } from '../context.js';
import type { Access } from '../access.js';
import { allow, HttpError, type SignedInEnv } from '../http.js';

export function runRoutes(ctx: ServiceContext) {
  const { journal, clock, runner } = ctx;
  // A run of an organization the user may not see does not exist for them.
  const run = async (runId: string, viewer: Access) => {
    const found = await journal.getRun(runId);
    if (!found) throw new HttpError(404, `no run ${runId}`);
    await ctx.requireVisible(viewer, found.organizationId, `no run ${runId}`);
    return found;
  };
  const knownRun: MiddlewareHandler<SignedInEnv> = async (c, next) => {
    await run(c.req.param('run') ?? '', c.get('session'));
    await next();
  };
  const approver = (doing: string) => allow('approver', doing);
  const record = (c: { get(key: 'session'): { username: string } }, action: string, r: { organizationId: string; runId: string }, detail?: Record<string, unknown>) =>
    ctx.recordAction(c.get('session').username, action, r.organizationId, r.runId, detail);

  return new Hono<SignedInEnv>()
    .get('/api/runs', async (c) => {
      const org = c.req.query('org');
      const session = c.get('session');
      if (org !== undefined) await ctx.requireVisible(session, org, `no organization ${org} is reachable`);
      const visible = await ctx.visibleIds(session);
      const runs = (await journal.listRuns(org)).filter((r) => visible === undefined || visible.has(r.organizationId));
      return c.json<RunListItem[]>(await Promise.all(runs.slice(0, 500).map(async (r) => ({ run: ctx.runView(r), counts: await journal.runCounts(r.runId) }))));
    })

    .get('/api/runs/:run', async (c) => {
      const r = await run(c.req.param('run'), c.get('session'));
      const verification = await journal.latestVerification(r.runId);
      const before = await journal.fingerprintSet(r.runId, 'before');
      const undo = await journal.undoOf(r.runId);
      return c.json<RunDetail>({
        run: ctx.runView(r), counts: await journal.runCounts(r.runId), steps: await journal.steps(r.runId),
        // The journal keeps what verifyRun answered (the runner saves it).
        verification: verification ? { ...verification, result: verification.result as VerifyResult } : null,
        verifiable: before !== undefined, contactUrl: ctx.contactUrl(r.target, r.organizationId),
        undoneBy: undo?.runId ?? null,
      });
    })

    .post('/api/runs/:run/undo', knownRun, approver('undo runs'), async (c) => {
      const runId = c.req.param('run');
      const original = await run(runId, c.get('session'));
      ctx.requireHere(`run ${original.runId}`, original.target, original.organizationId);
      try {
        const { run: undo } = await createUndoRun(journal, runId, c.get('session').username, clock.now());
        await record(c, 'run.undo', original, { undoRunId: undo.runId });
        runner.apply(undo);
        return c.json<RunStarted>({ runId: undo.runId }, 202);
      } catch (error) {
        if (error instanceof RunExistsError) throw new HttpError(409, error.message, { runId: error.existing.runId });
        if (error instanceof RunInputError) throw new HttpError(400, error.message);
        throw error;
      }
    })

    .post('/api/runs/:run/resume', knownRun, approver('resume runs'), async (c) => {
      const r = await run(c.req.param('run'), c.get('session'));
      ctx.requireHere(`run ${r.runId}`, r.target, r.organizationId);
      if (r.state === 'done' || r.state === 'cancelled') throw new HttpError(409, `run ${r.runId} is ${r.state}`);
      if (runner.activeJobs().some((j) => j.runId === r.runId)) throw new HttpError(409, `run ${r.runId} is already running`);
      ctx.requireUndriven(r);
      await record(c, 'run.resume', r);
      runner.apply(r);
      return c.json<RunStarted>({ runId: r.runId }, 202);
    })

    .post('/api/runs/:run/verify', knownRun, approver('verify runs'), async (c) => {
      const r = await run(c.req.param('run'), c.get('session'));
      ctx.requireHere(`run ${r.runId}`, r.target, r.organizationId);
      if (!(await journal.hasFingerprint(r.runId, 'before'))) {
        throw new HttpError(409, `run ${r.runId} has no record of its contacts' transactions from before it ran (a CRM or contacts run): there is nothing to compare with`);
      }
      if (runner.activeJobs().some((j) => j.runId === r.runId && j.kind === 'verify')) throw new HttpError(409, `run ${r.runId} is already being verified`);
      const { jobId } = runner.verify(r);
      return c.json<VerifyStarted>({ jobId, runId: r.runId }, 202);
    })

    .post('/api/runs/:run/stop', knownRun, approver('stop runs'), async (c) => {
      const runId = c.req.param('run');
      if (!runner.stop(runId)) throw new HttpError(409, `run ${runId} is not running`);
      await record(c, 'run.stop', await run(runId, c.get('session')));
      return c.json<RunStarted>({ runId }, 202);
    });
}
