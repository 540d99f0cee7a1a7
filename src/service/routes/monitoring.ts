/**
 * For machines (docs/service.md, "Health and metrics"): `GET /healthz` for load balancers (it says
 * nothing else, and answers before the Host check), `GET /metrics` for Prometheus (a session or
 * the metrics token).
 */
import { Hono } from 'hono';
import type { Health } from '../api-types.js';
import type { ServiceContext } from '../context.js';
import { HttpError, type ServiceEnv } from '../http.js';
import { sha256 } from '../store.js';

export function healthRoutes() {
  return new Hono<ServiceEnv>()
    .get('/healthz', (c) => c.json<Health>({ ok: true }));
}

export function metricsRoutes(ctx: ServiceContext) {
  const { options } = ctx;
  return new Hono<ServiceEnv>()
    .get('/metrics', async (c) => {
      const bearer = c.req.header('authorization')?.replace(/^Bearer\s+/i, '');
      const tokenOk = options.metricsToken !== undefined && bearer !== undefined && sha256(bearer) === sha256(options.metricsToken);
      if (!c.get('session') && !tokenOk) throw new HttpError(401, 'sign in, or send the metrics token');
      // The metrics name every organization: an admin's, or Prometheus's with the token.
      const session = c.get('session');
      if (!tokenOk && session && session.role !== 'admin') throw new HttpError(403, `${session.username} is ${session.role === 'approver' ? 'an' : 'a'} ${session.role}: the metrics are for admins (and Prometheus, with the metrics token)`);
      return c.body(await ctx.metrics.render(), 200, { 'content-type': ctx.metrics.contentType });
    });
}
