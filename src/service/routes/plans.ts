/**
 * Plans (docs/service-api.md, "Plans"): a plan's header, its review rows (every step and exclusion
 * in one compact document, made once per plan and kept), and approval into a run.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { createRunFromPlan, RunExistsError, type Evidence } from '../../engine/index.js';
import { describeLastActivity } from '../../engine/report/index.js';
import { PLAN_ROW_COLUMNS, type ApproveInput, type PlanDetail, type PlanRow, type PlanRows, type RunStarted } from '../api-types.js';
import type { ServiceContext } from '../context.js';
import type { Access } from '../access.js';
import { allow, HttpError, jsonBody, respondJsonText, toJsonText, type SignedInEnv } from '../http.js';

function row(s: { contactId: string; contactName: string; contactType: PlanRow[2]; evidence: Evidence }, effect: PlanRow[3], reasons: string, detail: string): PlanRow {
  return [
    s.contactId, s.contactName, s.contactType, effect, reasons, s.evidence.lastActivityDate, s.evidence.lastActivityType,
    s.evidence.receivable, s.evidence.payable, s.evidence.unusedCreditsReceivable + s.evidence.unusedCreditsPayable, s.evidence.createdTime, detail,
    describeLastActivity(s.evidence),
  ];
}

export function planRoutes(ctx: ServiceContext) {
  const { journal, clock, runner } = ctx;
  // A plan of an organization the user may not see does not exist for them.
  const plan = async (planId: string, viewer: Access) => {
    const entry = await ctx.cachedPlan(planId);
    if (!entry) throw new HttpError(404, `no plan ${planId}`);
    await ctx.requireVisible(viewer, entry.plan.organizationId, `no plan ${planId}`);
    return entry;
  };
  // Before the body is read: an unknown plan is a 404, whatever was sent.
  const knownPlan: MiddlewareHandler<SignedInEnv> = async (c, next) => {
    await plan(c.req.param('plan') ?? '', c.get('session'));
    await next();
  };

  return new Hono<SignedInEnv>()
    .get('/api/plans/:plan', async (c) => {
      const { plan: p } = await plan(c.req.param('plan'), c.get('session'));
      const run = (await journal.listRuns(p.organizationId)).find((r) => r.planId === p.planId);
      const { steps: _steps, exclusionCount: _exclusionCount, ...header } = p;
      return c.json<PlanDetail>({ plan: header, runId: run?.runId ?? null, run: run ? ctx.runView(run) : null, contactUrl: ctx.contactUrl(p.target, p.organizationId) });
    })

    .get('/api/plans/:plan/rows', async (c) => {
      const entry = await plan(c.req.param('plan'), c.get('session'));
      if (entry.rowsJson === undefined) {
        const rows = entry.plan.steps.map((s) => row(s, s.action, s.evidence.rule, s.reason));
        // The exclusions page by page from the journal (the plan does not hold them).
        for await (const page of journal.planExclusions(entry.plan.planId)) for (const e of page) rows.push(row(e, 'excluded', e.reasons.join(';'), e.detail));
        entry.rowsJson = toJsonText<PlanRows>({ columns: PLAN_ROW_COLUMNS, rows });
      }
      return respondJsonText(c, entry.rowsJson);
    })

    .post('/api/plans/:plan/approve', knownPlan, allow('approver', 'approve plans'), jsonBody<ApproveInput, { exclude: string[] }, SignedInEnv>((body) => {
      const exclude = body.exclude ?? [];
      if (!Array.isArray(exclude) || exclude.some((id) => typeof id !== 'string')) throw new HttpError(400, 'exclude must be a list of contact ids (strings)');
      return { exclude: exclude as string[] };
    }), async (c) => {
      const { plan: p } = await plan(c.req.param('plan'), c.get('session'));
      ctx.requireHere(`plan ${p.planId}`, p.target, p.organizationId);
      const earlier = (await journal.listRuns(p.organizationId)).find((r) => r.planId === p.planId);
      if (earlier) throw new HttpError(409, `this plan was already approved: run ${earlier.runId}`, { runId: earlier.runId });
      const excluded = new Set(c.req.valid('json').exclude);
      const steps = p.steps.filter((s) => !excluded.has(s.contactId));
      if (steps.length === 0) throw new HttpError(400, 'every step is excluded: nothing to apply');
      let run;
      try {
        run = await createRunFromPlan(journal, { ...p, steps }, c.get('session').username, clock.now());
      } catch (error) {
        // Two approvals racing: the journal's constraint lets one through.
        if (error instanceof RunExistsError) throw new HttpError(409, `this plan was already approved: run ${error.existing.runId}`, { runId: error.existing.runId });
        throw error;
      }
      // Who approved, and each contact they took out of the plan.
      await ctx.recordAction(c.get('session').username, 'plan.approve', p.organizationId, p.planId, {
        runId: run.runId, steps: steps.length, excluded: p.steps.filter((s) => excluded.has(s.contactId)).map((s) => ({ contactId: s.contactId, contactName: s.contactName })),
      });
      runner.apply(run);
      return c.json<RunStarted>({ runId: run.runId }, 202);
    });
}
