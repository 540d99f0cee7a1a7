/**
 * The records (docs/service-api.md, "Audit and webhooks"): the audit trail as JSON or CSV, and the
 * latest CRM events.
 */
import { Hono } from 'hono';
import { auditToCsv, auditToJson } from '../../engine/report/index.js';
import type { AuditRow, WebhookEventView } from '../api-types.js';
import type { ServiceContext } from '../context.js';
import type { SignedInEnv } from '../http.js';

export function auditRoutes(ctx: ServiceContext) {
  const { journal, store } = ctx;
  return new Hono<SignedInEnv>()
    .get('/api/audit', async (c) => {
      const org = c.req.query('org');
      const session = c.get('session');
      if (org !== undefined) await ctx.requireVisible(session, org, `no organization ${org} is reachable`);
      const visible = await ctx.visibleIds(session);
      const rows = (await journal.audit({ organizationId: org, runId: c.req.query('run') })).filter((r) => visible === undefined || visible.has(r.organizationId));
      if (c.req.query('format') === 'csv') {
        return c.body(auditToCsv(rows), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="sunset-audit.csv"' });
      }
      return c.json<AuditRow[]>(auditToJson(rows));
    })

    .get('/api/webhooks', async (c) => {
      const org = c.req.query('org');
      const session = c.get('session');
      if (org !== undefined) await ctx.requireVisible(session, org, `no organization ${org} is reachable`);
      const visible = await ctx.visibleIds(session);
      // A limited user's events are picked from more, so the latest 500 they may see come back.
      const events = await store.events(org, visible === undefined ? 500 : 5000);
      return c.json<WebhookEventView[]>(events.filter((e) => visible === undefined || visible.has(e.organizationId)).slice(0, 500));
    });
}
