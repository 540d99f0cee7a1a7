/**
 * Organizations (docs/service-api.md, "Organizations"): the list with everything the UI shows of
 * each, and an organization's policy, schedule and CRM webhook settings; scan + plan; the cron
 * helper the settings page asks as the user types.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { parsePolicy, PolicyError } from '../../engine/index.js';
import type {
  ClientInput, CronAnswer, JobStarted, OrganizationView, PolicyInput, PolicySaved, ScheduleInput, WebhookInput, WebhookSaved,
} from '../api-types.js';
import type { ServiceContext } from '../context.js';
import { CronError, describeCron, nextRuns, parseCron, UTC, type Cron } from '../cron.js';
import { clientNameProblem } from '../access.js';
import { allow, HttpError, jsonBody, type SignedInEnv } from '../http.js';
import { fileMappingFor } from '../mapping-file.js';
import { newToken, type WebhookMapping } from '../store.js';

export function organizationRoutes(ctx: ServiceContext) {
  const { journal, store, clock, runner, options } = ctx;
  // Before the body is read: an organization the connection does not reach, or the user may not
  // see, is a 404, whatever was sent; then the role (a 403 only for what the user may see).
  const knownOrganization: MiddlewareHandler<SignedInEnv> = async (c, next) => {
    await ctx.requireOrganization(c.req.param('org') ?? '', c.get('session'));
    await next();
  };
  const settings = allow('admin', "change an organization's settings");
  const who = (c: { get(key: 'session'): { username: string } }): string => c.get('session').username;

  return new Hono<SignedInEnv>()
    .get('/api/orgs', async (c) => c.json<OrganizationView[]>(await Promise.all((await ctx.visibleOrganizations(c.get('session'))).map(ctx.organizationView))))

    // Groups an organization under a client (the consultancy's customer); who sees it follows.
    .put('/api/orgs/:org/client', knownOrganization, allow('admin', 'group organizations under clients'), jsonBody<ClientInput, { client: string | null }, SignedInEnv>((body) => {
      const given = body.client;
      if (given === null || given === undefined || (typeof given === 'string' && given.trim() === '')) return { client: null };
      if (typeof given !== 'string') throw new HttpError(400, 'send {"client": "<the client\'s name>"}, or null to group it under none');
      const problem = clientNameProblem(given);
      if (problem) throw new HttpError(400, `${problem}; nothing was changed`);
      return { client: given.trim() };
    }), async (c) => {
      const organization = c.req.param('org');
      const { client } = c.req.valid('json');
      const before = (await store.organizationClients()).get(organization) ?? null;
      if (before !== client) {
        await store.setOrganizationClient(organization, client, who(c), clock.now());
        await ctx.recordAction(who(c), 'organization.client', organization, null, { from: before, to: client });
      }
      return c.json<OrganizationView>(await ctx.organizationView(await ctx.requireOrganization(organization)));
    })

    .put('/api/orgs/:org/policy', knownOrganization, settings, jsonBody<PolicyInput, PolicyInput, SignedInEnv>((body) => {
      if (typeof body.text !== 'string') throw new HttpError(400, 'send {"text": "<the policy>"}');
      return { text: body.text };
    }), async (c) => {
      const organization = c.req.param('org');
      const { text } = c.req.valid('json');
      try {
        const policy = parsePolicy(text, 'policy');
        if (policy.organizationId !== organization) throw new HttpError(400, `the policy names organization ${policy.organizationId}, not ${organization}`, { problems: [] });
      } catch (error) {
        if (error instanceof PolicyError) throw new HttpError(400, 'the policy is not usable; nothing was saved', { problems: error.problems });
        throw error;
      }
      await journal.savePolicy({ organizationId: organization, text, updatedAt: clock.now(), updatedBy: who(c) });
      await ctx.recordAction(who(c), 'settings.policy', organization, null, { characters: text.length });
      return c.json<PolicySaved>({ policy: { text, problems: [], saved: true } });
    })

    .put('/api/orgs/:org/schedule', knownOrganization, settings, jsonBody<ScheduleInput, { cron: string | null; autoApplyMax: number | null }, SignedInEnv>((body) => {
      const cron = body.cron === null || body.cron === undefined || body.cron === '' ? null : body.cron;
      if (cron !== null) {
        if (typeof cron !== 'string') throw new HttpError(400, 'cron must be a string like "0 2 * * *" or null');
        try {
          parseCron(cron);
        } catch (error) {
          if (error instanceof CronError) throw new HttpError(400, `cron: ${error.message}`);
          throw error;
        }
      }
      const max = body.autoApplyMax === null || body.autoApplyMax === undefined ? null : body.autoApplyMax;
      if (max !== null && (typeof max !== 'number' || !Number.isInteger(max) || max < 1)) throw new HttpError(400, 'autoApplyMax must be a whole number of at least 1, or null');
      return { cron, autoApplyMax: max };
    }), async (c) => {
      const organization = c.req.param('org');
      const { cron, autoApplyMax } = c.req.valid('json');
      const s = await store.settings(organization);
      if (cron !== null && !(await journal.policy(organization))) throw new HttpError(400, 'save a policy first: a schedule scans and plans with it');
      // A new cron counts its next run from now (so it does not fire at once for a time already
      // past); that is not a run, so lastRunAt stays as it was.
      await store.saveSettings({ ...s, cron, autoApplyMax, lastScheduledAt: cron === s.cron ? s.lastScheduledAt : clock.now() });
      await ctx.recordAction(who(c), 'settings.schedule', organization, null, { from: { cron: s.cron, autoApplyMax: s.autoApplyMax }, to: { cron, autoApplyMax } });
      return c.json<OrganizationView>(await ctx.organizationView(await ctx.requireOrganization(organization)));
    })

    // The settings page's cron helper asks here as the user types: the parser that Save uses says
    // whether the expression is valid, what it means and when it would run, in the organization's
    // time zone (never a description of an expression Save would refuse).
    .get('/api/cron', async (c) => {
      const expr = c.req.query('expr');
      if (expr === undefined) throw new HttpError(400, 'send ?expr=<a cron expression>, e.g. ?expr=0+2+*+*+*');
      // With ?org=, in that organization's time zone (404 for one the connection does not reach).
      const org = c.req.query('org');
      const timeZone = org === undefined ? UTC : (await ctx.timeZone((await ctx.requireOrganization(org, c.get('session'))).organizationId)).zone;
      let cron: Cron;
      try {
        cron = parseCron(expr);
      } catch (error) {
        if (error instanceof CronError) return c.json<CronAnswer>({ valid: false, error: error.message });
        throw error;
      }
      return c.json<CronAnswer>({ valid: true, expression: cron.text, description: describeCron(cron, timeZone), next: nextRuns(cron, clock.now(), 3, timeZone), timeZone });
    })

    .put('/api/orgs/:org/webhook', knownOrganization, settings, jsonBody<WebhookInput, { mode: 'hmac' | 'secret' | null; mapping: WebhookMapping | undefined; rotateSecret: boolean }, SignedInEnv>((body, c) => {
      const organization = c.req.param('org') ?? '';
      // null or absent: the saved mode (hmac when there is none).
      const mode = body.mode ?? null;
      if (mode !== null && mode !== 'hmac' && mode !== 'secret') throw new HttpError(400, 'mode must be "hmac" or "secret"');
      if (body.mapping !== undefined && fileMappingFor(options.mappingFile, organization)) {
        throw new HttpError(409, `the CRM mapping of organization ${organization} comes from ${options.mappingFile!.path}: change it there and restart the service`);
      }
      let mapping: WebhookMapping | undefined;
      if (body.mapping !== undefined) {
        const m = body.mapping as Record<string, unknown> | null;
        const list = (v: unknown, name: string): string[] => {
          if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.trim() === '' || x.length > 200)) throw new HttpError(400, `mapping.${name} must be a list of CRM values`);
          return (v as string[]).map((x) => x.trim());
        };
        const checked = { inactive: list(m?.inactive, 'inactive'), active: list(m?.active, 'active') };
        const both = checked.inactive.filter((v) => checked.active.some((a) => a.toLowerCase() === v.toLowerCase()));
        if (both.length > 0) throw new HttpError(400, `${both.join(', ')} cannot mean both inactive and active`);
        mapping = checked;
      }
      return { mode, mapping, rotateSecret: body.rotateSecret === true };
    }), async (c) => {
      const organization = c.req.param('org');
      const input = c.req.valid('json');
      const s = await store.settings(organization);
      const mode = input.mode ?? s.webhookMode ?? 'hmac';
      const mapping = input.mapping ?? s.mapping;
      const secret = input.rotateSecret || !s.webhookSecret ? newToken(32) : undefined;
      await store.saveSettings({ ...s, webhookMode: mode, mapping, webhookSecret: secret ?? s.webhookSecret });
      // Never the secret: that its value changed.
      await ctx.recordAction(who(c), 'settings.webhook', organization, null, { mode, mapping, secretRotated: secret !== undefined });
      return c.json<WebhookSaved>({ webhook: { mode, configured: true, ...ctx.mappingView(organization, mapping) }, ...(secret ? { secret } : {}) });
    })

    .post('/api/orgs/:org/scan', knownOrganization, allow('approver', 'scan'), async (c) => {
      const organization = c.req.param('org');
      const policy = await journal.policy(organization);
      if (!policy) throw new HttpError(400, 'save a policy for this organization first');
      const { jobId } = runner.scanAndPlan(organization, policy.text);
      return c.json<JobStarted>({ jobId }, 202);
    });
}
