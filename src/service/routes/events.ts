/**
 * Live progress, `GET /api/events` (docs/service-api.md, "Live progress"): Server-Sent Events of
 * runs, jobs and CRM events, from the service's event bus, with a comment every 15 s to keep
 * proxies from closing a quiet stream. It ends when the client goes or the service closes.
 */
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ServiceContext } from '../context.js';
import type { SignedInEnv } from '../http.js';

export function eventRoutes(ctx: ServiceContext) {
  return new Hono<SignedInEnv>()
    .get('/api/events', (c) => streamSSE(c, async (stream) => {
      // A user limited to some clients hears only of their organizations (the set is read again
      // with each heartbeat, so a regrouping reaches an open stream within 15 s).
      const session = c.get('session');
      let visible = await ctx.visibleIds(session);
      await stream.write(': connected\n\n');
      const unsubscribe = ctx.bus.subscribe((event) => {
        if (visible !== undefined && !visible.has(event.data.organizationId)) return;
        void stream.writeSSE({ event: event.type, data: JSON.stringify(event.data) });
      });
      const heartbeat = setInterval(() => {
        void stream.write(': ping\n\n');
        ctx.visibleIds(session).then((ids) => {
          visible = ids;
        }, () => undefined);
      }, 15_000);
      heartbeat.unref();
      let end = (): void => undefined;
      const ended = new Promise<void>((resolve) => {
        end = resolve;
      });
      stream.onAbort(end);
      ctx.streams.add(end);
      try {
        await ended;
      } finally {
        ctx.streams.delete(end);
        clearInterval(heartbeat);
        unsubscribe();
      }
    }));
}
