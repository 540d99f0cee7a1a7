/**
 * The CRM webhook `POST /hooks/crm/:org` and other platforms' signals `POST /hooks/signal/:org`
 * (docs/service.md): outside the session, they answer for themselves (a signature or a secret,
 * src/service/webhooks.ts). The body is read raw, at most 64 KiB: the HMAC covers the exact bytes sent.
 */
import { errorText } from '../logger.js';
import { Hono, type Context } from 'hono';
import { isOrganizationId } from '../../zoho/index.js';
import type { ErrorBody } from '../api-types.js';
import type { ServiceContext } from '../context.js';
import { HttpError, readBody, type ServiceEnv } from '../http.js';
import { fileMappingFor } from '../mapping-file.js';
import { acceptSignal, acceptWebhook, WEBHOOK_MAX_BODY, type WebhookRequest } from '../webhooks.js';

export function hookRoutes(ctx: ServiceContext) {
  const { store, bus, clock, options } = ctx;
  const request = async (c: Context<ServiceEnv>): Promise<WebhookRequest> => {
    const organization = c.req.param('org') ?? '';
    if (!isOrganizationId(organization)) throw new HttpError(404, 'unknown organization');
    const body = await readBody(c, WEBHOOK_MAX_BODY);
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return { organizationId: organization, headers, query: new URL(c.req.url).searchParams, body };
  };
  // The accepted event is durable; applying it now is a head start on the background loop, and a
  // failure here (the database restarting) is the loop's to retry, never the process's end.
  const applySoon = (organizationId: string): void => {
    void ctx.processWebhooks(organizationId).catch((error: unknown) => ctx.logger.warn({ error: errorText(error) }, 'applying CRM events failed; the background loop tries again'));
  };
  return new Hono<ServiceEnv>()
    .post('/hooks/crm/:org', async (c) => {
      const req = await request(c);
      const fromFile = fileMappingFor(options.mappingFile, req.organizationId);
      const answer = await acceptWebhook(store, bus, clock, { ...req, ...(fromFile ? { mapping: fromFile } : {}) });
      if (answer.status === 202) applySoon(req.organizationId);
      return c.json(answer.body, answer.status);
    })
    .all('/hooks/crm/:org', (c) => c.json<ErrorBody>({ error: 'use POST' }, 405, { allow: 'POST' }))
    .post('/hooks/signal/:org', async (c) => {
      const req = await request(c);
      const answer = await acceptSignal(store, bus, clock, req);
      if (answer.status === 202) applySoon(req.organizationId);
      return c.json(answer.body, answer.status);
    })
    .all('/hooks/signal/:org', (c) => c.json<ErrorBody>({ error: 'use POST' }, 405, { allow: 'POST' }));
}
