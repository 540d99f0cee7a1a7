/**
 * Notifications (docs/notifications.md): the signed-in user's own subscriptions (list, add,
 * remove, send a test) and outbox. Another user's subscription is not found (404), as if it did
 * not exist.
 */
import { Hono } from 'hono';
import type { NotificationSubscriptionCreated, NotificationSubscriptionInput, NotificationSubscriptionView, NotificationView } from '../api-types.js';
import type { ServiceContext } from '../context.js';
import { HttpError, jsonBody, type SignedInEnv } from '../http.js';
import { checkSubscription, NotificationInputError, type CheckedSubscription } from '../notifications.js';
import type { OutboxEntry } from '../notification-store.js';

const view = ({ payload: _payload, ...rest }: OutboxEntry): NotificationView => rest;

export function notificationRoutes(ctx: ServiceContext) {
  const { notifications } = ctx;
  return new Hono<SignedInEnv>()
    .get('/api/notifications/subscriptions', async (c) =>
      c.json<NotificationSubscriptionView[]>(await notifications.store.subscriptions(c.get('session').username)))

    .post('/api/notifications/subscriptions', jsonBody<NotificationSubscriptionInput, CheckedSubscription, SignedInEnv>((body) => {
      try {
        return checkSubscription(body);
      } catch (error) {
        if (error instanceof NotificationInputError) throw new HttpError(400, error.message);
        throw error;
      }
    }), async (c) => {
      const created = await notifications.subscribe(c.get('session').username, c.req.valid('json'));
      return c.json<NotificationSubscriptionCreated>(created, 201);
    })

    .delete('/api/notifications/subscriptions/:id', async (c) => {
      const id = c.req.param('id');
      if (!(await notifications.store.removeSubscription(c.get('session').username, id, ctx.clock.now()))) throw new HttpError(404, `no subscription ${id}`);
      return c.json({ deleted: id });
    })

    .post('/api/notifications/subscriptions/:id/test', async (c) => {
      const id = c.req.param('id');
      const sent = await notifications.sendTest(c.get('session').username, id);
      if (!sent) throw new HttpError(404, `no subscription ${id}`);
      return c.json<NotificationView>(view(sent));
    })

    .get('/api/notifications/outbox', async (c) =>
      c.json<NotificationView[]>((await notifications.store.outbox(c.get('session').username, 500)).map(view)));
}
