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
      const rows = await journal.audit({ organizationId: c.req.query('org'), runId: c.req.query('run') });
      if (c.req.query('format') === 'csv') {
        return c.body(auditToCsv(rows), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="sunset-audit.csv"' });
      }
      return c.json<AuditRow[]>(auditToJson(rows));
    })

    .get('/api/webhooks', async (c) => c.json<WebhookEventView[]>(await store.events(c.req.query('org'), 500)));
}
