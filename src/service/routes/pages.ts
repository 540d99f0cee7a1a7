/**
 * The web UI's files (src/service/ui): the app page (signed in), and its script and stylesheet
 * under /assets/ (the stylesheet also dresses the sign-in page, so it is open; the script is not).
 */
import { Hono } from 'hono';
import type { ServiceContext } from '../context.js';
import { HttpError, type ServiceEnv, type SignedInEnv } from '../http.js';

/** `/assets/FILE`: open to anyone for the stylesheet, to a session for the rest. */
export function assetRoutes(ctx: ServiceContext) {
  return new Hono<ServiceEnv>()
    .get('/assets/:file', (c) => {
      const file = c.req.param('file');
      if (!/^[a-z0-9-]+\.(css|js)$/.test(file)) throw new HttpError(404, 'not found');
      if (!c.get('session') && !file.endsWith('.css')) throw new HttpError(401, 'sign in first');
      let text: string;
      try {
        text = ctx.ui(file);
      } catch {
        throw new HttpError(404, 'not found');
      }
      return c.body(text, 200, { 'content-type': file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8' });
    });
}

/** The app's one page (it reads `location.hash` for its views). */
export function pageRoutes(ctx: ServiceContext) {
  return new Hono<SignedInEnv>()
    .get('/', (c) => c.body(ctx.ui('app.html'), 200, { 'content-type': 'text/html; charset=utf-8' }));
}
