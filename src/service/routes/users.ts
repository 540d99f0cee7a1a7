/**
 * People (docs/service-api.md, "Users and activity"): an admin lists users, invites one with a role
 * and the clients they are limited to (a link to choose their password, shown once), changes a
 * user's access, ends a user's sign-in lock, removes a user. Everyone reads the activity log of
 * what they may see: who approved, excluded, undid and changed what.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { checkAccess, type Access } from '../access.js';
import type { AccessInput, ActionView, InviteCreated, InviteInput, UserListItem } from '../api-types.js';
import type { ServiceContext } from '../context.js';
import { allow, HttpError, jsonBody, type SignedInEnv } from '../http.js';
import { signInSubject, type UserView } from '../store.js';

/** A user name: 1 to 64 letters, digits or . _ @ - (as `sunset users add` takes it). */
export const USER_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
/** How long an invitation's link works. */
export const INVITE_TTL_MS = 7 * 24 * 3_600_000;

export function userRoutes(ctx: ServiceContext) {
  const { store, clock } = ctx;
  const admin = allow('admin', 'manage users');

  // The sign-in states are read once per answer, not once per user.
  type States = Awaited<ReturnType<typeof store.signInStates>>;
  const listItem = async (u: UserView, read?: States): Promise<UserListItem> => {
    const states = read ?? await store.signInStates(clock.now());
    const state = states.find((s) => s.kind === 'user' && s.subject === signInSubject('user', u.username));
    return {
      username: u.username, role: u.role, clients: u.clients, createdAt: u.createdAt, invitedUntil: u.invitedUntil,
      signIn: state?.locked ? 'locked' : state?.blockedUntil ? 'slowed' : 'open',
    };
  };
  const findUser = async (name: string): Promise<UserView> => {
    const found = (await store.users()).find((u) => u.username === name);
    if (!found) throw new HttpError(404, `no user ${name}`);
    return found;
  };
  const access = (body: Record<string, unknown>): Access => {
    try {
      return checkAccess(body.role, body.clients);
    } catch (error) {
      throw new HttpError(400, `${(error as Error).message}; nothing was changed`);
    }
  };
  const knownUser: MiddlewareHandler<SignedInEnv> = async (c, next) => {
    await findUser(c.req.param('name') ?? '');
    await next();
  };
  return new Hono<SignedInEnv>()
    .get('/api/users', admin, async (c) => {
      const states = await store.signInStates(clock.now());
      return c.json<UserListItem[]>(await Promise.all((await store.users()).map((u) => listItem(u, states))));
    })

    .post('/api/users', admin, jsonBody<InviteInput, { username: string; access: Access }, SignedInEnv>((body) => {
      const username = typeof body.username === 'string' ? body.username.trim() : '';
      if (!USER_NAME.test(username)) throw new HttpError(400, 'a user name has 1 to 64 letters, digits or . _ @ -; nothing was changed');
      return { username, access: access(body) };
    }), async (c) => {
      const { username, access: given } = c.req.valid('json');
      const by = c.get('session').username;
      const expiresAt = clock.now() + INVITE_TTL_MS;
      const made = await store.invite(username, given, by, clock.now(), expiresAt);
      if (made === 'exists') throw new HttpError(409, `there is already a user ${username}`);
      await ctx.recordAction(by, 'user.invite', null, username, { role: given.role, clients: given.clients });
      const origin = ctx.options.publicUrl?.replace(/\/$/, '') ?? new URL(c.req.url).origin;
      return c.json<InviteCreated>({ user: await listItem(await findUser(username)), inviteUrl: `${origin}/invite/${made.token}`, expiresAt }, 201);
    })

    .put('/api/users/:name', admin, knownUser, jsonBody<AccessInput, Access, SignedInEnv>((body) => access(body)), async (c) => {
      const name = c.req.param('name');
      const given = c.req.valid('json');
      const before = await findUser(name);
      // The last admin who can sign in stays one (the store checks it in the change itself):
      // otherwise no one could manage users or connections.
      const result = await store.setAccess(name, given);
      if (result === 'missing') throw new HttpError(404, `no user ${name}`);
      if (result === 'last-admin') throw new HttpError(409, `${name} is the last admin: make another user an admin first`);
      await ctx.recordAction(c.get('session').username, 'user.access', null, name, { from: { role: before.role, clients: before.clients }, to: { role: given.role, clients: given.clients } });
      return c.json<UserListItem>(await listItem(await findUser(name)));
    })

    .post('/api/users/:name/unlock', admin, knownUser, async (c) => {
      const name = c.req.param('name');
      const cleared = await store.clearSignInFailures('user', name, clock.now());
      if (cleared) await ctx.recordAction(c.get('session').username, 'user.unlock', null, name);
      return c.json<UserListItem>(await listItem(await findUser(name)));
    })

    .delete('/api/users/:name', admin, knownUser, async (c) => {
      const name = c.req.param('name');
      const result = await store.removeUser(name);
      if (result === 'missing') throw new HttpError(404, `no user ${name}`);
      if (result === 'last-admin') throw new HttpError(409, `${name} is the last admin: make another user an admin first`);
      await ctx.recordAction(c.get('session').username, 'user.remove', null, name);
      return c.body(null, 204);
    })

    // Everyone: what people did to what they may see; with ?org=, to that organization only.
    .get('/api/actions', async (c) => {
      const session = c.get('session');
      const org = c.req.query('org');
      if (org !== undefined) await ctx.requireVisible(session, org, `no organization ${org} is reachable`);
      // An admin reads everything, users and connections included; anyone else what was done to the organizations they see.
      const ids = org !== undefined ? new Set([org])
        : session.role === 'admin' ? undefined
        : new Set((await ctx.visibleOrganizations(session)).map((o) => o.organizationId));
      const rows = await store.actions({ organizationIds: ids, limit: 500 });
      return c.json<ActionView[]>(rows.map((a) => ({ at: a.at, who: a.username, action: a.action, organizationId: a.organizationId, subject: a.subject, detail: a.detail })));
    });
}
