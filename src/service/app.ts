/**
 * The service's HTTP app on hono: one ordered list of middleware and routes, read top to bottom.
 * A request goes down the list until a route answers; what a route needs (the Host check, a
 * session, the CSRF token) stands above it. Routes live by resource in src/service/routes/.
 *
 * 1. Every answer: counted, security headers, 405 with Allow for a known path and another method;
 *    answers to GET compressed when the client accepts it (gzip or deflate; never the event
 *    stream).
 * 2. `GET /healthz`: before the Host check, for load balancers that use an IP.
 * 3. The Host check (DNS rebinding): 421 for a name the service is not known by.
 * 4. The CRM webhook: it authenticates itself (signature or secret), no session.
 * 5. The session cookie is read; `/metrics` (a session or the metrics token), the sign-in page
 *    and form, and the assets (the stylesheet is open) decide with it.
 * 6. A session is required: the API answers 401, pages redirect to /login.
 * 7. State changes need same-origin and the session's CSRF token; API paths valid percent-encoding.
 * 8. The signed-in routes: logout and the session, the app page, the event stream, organizations,
 *    plans, runs, audit and CRM events, users and the activity log, connections, notifications.
 *    What a user may do is checked by each route (src/service/access.ts): a 404 for what they may
 *    not see, then their role.
 * Errors anywhere render themselves (`{error, ...}` with their status) through one handler.
 */
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { routePath } from 'hono/route';
import type { ErrorBody } from './api-types.js';
import type { ServiceContext } from './context.js';
import { csrfCheck, hostCheck, loadSession, renderError, requireSession, securityHeaders, validPath, type ServiceEnv } from './http.js';
import { auditRoutes } from './routes/audit.js';
import { connectionRoutes } from './routes/connections.js';
import { loginRoutes, sessionRoutes } from './routes/auth.js';
import { eventRoutes } from './routes/events.js';
import { hookRoutes } from './routes/hooks.js';
import { healthRoutes, metricsRoutes } from './routes/monitoring.js';
import { notificationRoutes } from './routes/notifications.js';
import { organizationRoutes } from './routes/organizations.js';
import { assetRoutes, pageRoutes } from './routes/pages.js';
import { planRoutes } from './routes/plans.js';
import { runRoutes } from './routes/runs.js';
import { userRoutes } from './routes/users.js';

export function createApp(ctx: ServiceContext) {
  const app = new Hono<ServiceEnv>();
  // Only GET answers are worth compressing (plans, their rows, runs, audit, the UI's script).
  // Everything else answers a few dozen bytes, and hono's compress() cannot see that (a JSON
  // answer has no Content-Length yet): it would stream each through gzip, which doubled a CRM
  // event's acceptance latency under bursts (docs/benchmarks.md, "CRM webhooks under load").
  const gzip = compress();
  app.onError(renderError(ctx.logger));
  app.notFound((c) => c.json<ErrorBody>({ error: 'not found' }, 404));
  return app
    // 1.
    .use(
      async (c, next) => {
        ctx.stats.httpRequests++;
        const started = performance.now();
        await next();
        // By the pattern of the route that answered (`/api/runs/:run`), not the path: one series
        // per route, not per id; an answer no route gave (404) is `unmatched`.
        ctx.metrics.observeRequest(c.req.method, c.res.status === 404 ? 'unmatched' : routePath(c) || 'unmatched', c.res.status, (performance.now() - started) / 1000);
      },
      securityHeaders,
      (c, next) => (c.req.method === 'GET' ? gzip(c, next) : next()),
      methodNotAllowed({ app, onMethodNotAllowed: (c, methods) => c.json<ErrorBody>({ error: `${c.req.method} is not allowed here` }, 405, { allow: methods.join(', ') }) }),
    )
    // 2.
    .route('/', healthRoutes())
    // 3.
    .use(hostCheck(ctx.hosts))
    // 4.
    .route('/', hookRoutes(ctx))
    // 5.
    .use(loadSession((token) => ctx.store.session(token, ctx.clock.now())))
    .route('/', metricsRoutes(ctx))
    .route('/', loginRoutes(ctx))
    .route('/', assetRoutes(ctx))
    // 6., 7.
    .use(requireSession, csrfCheck)
    .use('/api/*', validPath)
    // 8.
    .route('/', sessionRoutes(ctx))
    .route('/', pageRoutes(ctx))
    .route('/', eventRoutes(ctx))
    .route('/', organizationRoutes(ctx))
    .route('/', planRoutes(ctx))
    .route('/', runRoutes(ctx))
    .route('/', auditRoutes(ctx))
    .route('/', userRoutes(ctx))
    .route('/', connectionRoutes(ctx))
    .route('/', notificationRoutes(ctx));
}

/** The app's type: hono's typed client (`hc<ServiceApp>` from 'hono/client') reads routes, inputs and answers from it. */
export type ServiceApp = ReturnType<typeof createApp>;
