/**
 * The typed client the UI can be built on: hono's `hc<ServiceApp>` (ServiceApp: the app's type,
 * exported by src/service/index.ts) calling the service in-process through its `app.request`.
 * The answers' types are the shapes of src/service/api-types.ts (checked by tsc: expectTypeOf),
 * the inputs are typed too (`json`, `param`, `query`), and what comes back at run time is what
 * the types say.
 */
import { hc } from 'hono/client';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { PLAN_ROW_COLUMNS, type CronAnswer, type JobStarted, type OrganizationView, type PlanRows, type PolicySaved, type RunDetail, type ServiceApp, type SessionView } from '../../src/service/index.js';
import { policyFor, startTestService, until, USER, type SignedIn, type TestService } from '../helpers/service.js';

let s: TestService;
let session: SignedIn;
beforeAll(async () => {
  s = await startTestService({ contacts: 20 });
  session = await s.login();
});
afterAll(async () => s.close());

describe('hc<ServiceApp> in-process', () => {
  it('reads and changes through typed routes: the answers are the api-types shapes', async () => {
    const client = hc<ServiceApp>(s.origin, {
      fetch: s.service.app.request,
      headers: { cookie: `sunset_session=${session.token}`, 'x-csrf-token': session.csrfToken },
    });

    const me = await client.api.session.$get();
    const who = await me.json();
    expectTypeOf(who).toEqualTypeOf<SessionView>();
    expect(who).toEqual({ user: USER, csrfToken: session.csrfToken, role: 'admin', clients: null });

    const organizations = await client.api.orgs.$get();
    expect(organizations.status).toBe(200);
    const list = await organizations.json();
    expectTypeOf(list).toEqualTypeOf<OrganizationView[]>();
    expect(list.map((o) => o.organizationId)).toEqual(s.organizations);
    expect(list[0]!.policy.saved).toBe(false);

    const text = policyFor(s.organization, 'max_changes: 3\n');
    const saved = await client.api.orgs[':org'].policy.$put({ param: { org: s.organization }, json: { text } });
    expect(saved.status).toBe(200);
    const savedBody = await saved.json();
    expectTypeOf(savedBody).toEqualTypeOf<PolicySaved>();
    expect(savedBody).toEqual({ policy: { text, problems: [], saved: true } });
    expect((await s.h.journal.policy(s.organization))?.text).toBe(text);

    const cron = await (await client.api.cron.$get({ query: { expr: '0 2 * * *' } })).json();
    expectTypeOf(cron).toEqualTypeOf<CronAnswer>();
    expect(cron).toMatchObject({ valid: true, description: 'Every day at 02:00 UTC.' });

    const scan = await client.api.orgs[':org'].scan.$post({ param: { org: s.organization } });
    expect(scan.status).toBe(202);
    const job = await scan.json();
    expectTypeOf(job).toEqualTypeOf<JobStarted>();
    expect(job.jobId).toEqual(expect.any(String));
    const planId = await until(async () => (s.service.runner.activeJobs().length === 0 ? s.h.journal.latestPlanId(s.organization) : undefined), 'the scan done');
    const rows = await (await client.api.plans[':plan'].rows.$get({ param: { plan: planId } })).json();
    expectTypeOf(rows).toEqualTypeOf<PlanRows>();
    expect(rows.columns).toEqual(PLAN_ROW_COLUMNS);
    expect(rows.rows.length).toBeGreaterThan(0);
    expect(rows.rows.every((r) => r.length === PLAN_ROW_COLUMNS.length && typeof r[0] === 'string')).toBe(true);

    const run = client.api.runs[':run'];
    expectTypeOf(await (await run.$get({ param: { run: 'x' } })).json()).toEqualTypeOf<RunDetail>();
    // A refusal renders itself ({error}, its status): check `ok` before reading the answer's shape.
    const missing = await run.$get({ param: { run: 'run-nope' } });
    expect(missing.ok).toBe(false);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no run run-nope' });
  });
});
