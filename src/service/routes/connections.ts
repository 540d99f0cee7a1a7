/**
 * Connections (docs/service-api.md, "Connections"): the Zoho accounts the service works through,
 * each with the organizations it reaches, when it was last tested and what went wrong; adding one
 * (a self-client's grant code, exchanged once, or a refresh token), testing and removing one. The
 * service's connection set follows at once, without a restart. No answer holds a secret.
 */
import { Hono } from 'hono';
import { CONNECTION_NAME, CONNECTION_NAME_RULE } from '../../engine/index.js';
import { DATA_CENTRES, isDataCentre } from '../../zoho/index.js';
import type { ConnectionInput, ConnectionsView, ConnectionTested, ConnectionView, StoredConnectionView } from '../api-types.js';
import { ConnectionRequestError } from '../connection-set.js';
import type { ServiceContext } from '../context.js';
import { allow, HttpError, jsonBody, type SignedInEnv } from '../http.js';
import type { ConnectionManager } from '../options.js';

const FIELDS = ['name', 'dataCentre', 'emulator', 'account', 'clientId', 'clientSecret', 'code', 'refreshToken'] as const;

/** Checks the shape of an added connection: what is missing or does not fit is a 400 naming it. */
export function parseConnectionInput(body: Record<string, unknown>): ConnectionInput {
  const unknown = Object.keys(body).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new HttpError(400, `unknown field${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}; a connection takes ${FIELDS.join(', ')}`);
  const input: Record<string, string> = {};
  for (const field of FIELDS) {
    const value = body[field];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string') throw new HttpError(400, `${field} must be a string`);
    input[field] = value.trim();
  }
  const { name, dataCentre, emulator, account, clientId, clientSecret, code, refreshToken } = input;
  if (!name) throw new HttpError(400, 'name the connection (name)');
  if (!CONNECTION_NAME.test(name)) throw new HttpError(400, `${name}: ${CONNECTION_NAME_RULE}`);
  if ((dataCentre === undefined) === (emulator === undefined)) throw new HttpError(400, `give a data centre (dataCentre: ${Object.keys(DATA_CENTRES).join(', ')}) or an emulator's address (emulator), one of them`);
  if (dataCentre !== undefined && !isDataCentre(dataCentre.toUpperCase())) throw new HttpError(400, `dataCentre ${dataCentre} is not one of ${Object.keys(DATA_CENTRES).join(', ')}`);
  if (emulator !== undefined) {
    let ok = false;
    try {
      const u = new URL(/^[a-z]+:\/\//i.test(emulator) ? emulator : `http://${emulator}`);
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok) throw new HttpError(400, `emulator ${emulator} is not an address like http://127.0.0.1:8742`);
  }
  if (account !== undefined && (emulator === undefined || clientId !== undefined)) throw new HttpError(400, 'account names an emulator\'s account (with emulator, without clientId)');
  // An emulator's ready-made account needs no secret; anything else needs the self-client and a code or a token.
  const readyMade = emulator !== undefined && clientId === undefined;
  if (readyMade) {
    if (clientSecret !== undefined || code !== undefined || refreshToken !== undefined) throw new HttpError(400, 'give the clientId of the self-client the secret, code or refresh token belong to');
  } else {
    if (clientId === undefined) throw new HttpError(400, 'give the self-client\'s clientId (from Zoho\'s API console)');
    if (clientSecret === undefined) throw new HttpError(400, 'give the self-client\'s clientSecret');
    if ((code === undefined) === (refreshToken === undefined)) throw new HttpError(400, 'paste either a grant code (code) from the API console or a refresh token (refreshToken), one of them');
  }
  return {
    name,
    ...(dataCentre !== undefined ? { dataCentre: dataCentre.toUpperCase() } : {}),
    ...(emulator !== undefined ? { emulator } : {}),
    ...(account !== undefined ? { account } : {}),
    ...(clientId !== undefined ? { clientId } : {}),
    ...(clientSecret !== undefined ? { clientSecret } : {}),
    ...(code !== undefined ? { code } : {}),
    ...(refreshToken !== undefined ? { refreshToken } : {}),
  };
}

export function connectionRoutes(ctx: ServiceContext) {
  const managed = (): ConnectionManager => {
    const manager = ctx.connections.manager;
    if (!manager) {
      throw new HttpError(409, 'this service works through the one connection it was started with (--credentials, --emulator or the embedded emulator); keep connections with `sunset connections add` and start `sunset serve` without those options to manage them here');
    }
    return manager;
  };
  /** The manager's refusals keep their status and message (never a secret); anything else is a bug. */
  const asked = async <T>(doing: () => Promise<T>): Promise<T> => {
    try {
      return await doing();
    } catch (error) {
      if (error instanceof ConnectionRequestError) throw new HttpError(error.status, error.message);
      throw error;
    }
  };
  const withError = (c: StoredConnectionView): ConnectionView => ({ ...c, error: ctx.connections.errors().get(c.name) ?? null });

  // Connections are an admin's: they hold the keys to every client's books.
  const admin = allow('admin', 'manage connections');
  return new Hono<SignedInEnv>()
    .get('/api/connections', admin, async (c) => {
      const manager = ctx.connections.manager;
      if (!manager) return c.json<ConnectionsView>({ managed: false, connections: [] });
      // The latest listing says which connection fails now (a failure is kept 30 s, an answer 5 minutes).
      await ctx.organizations().catch(() => undefined);
      return c.json<ConnectionsView>({ managed: true, connections: (await manager.list()).map(withError) });
    })

    .post('/api/connections', admin, jsonBody<ConnectionInput, ConnectionInput, SignedInEnv>(parseConnectionInput), async (c) => {
      const manager = managed();
      const added = await asked(() => manager.add(c.req.valid('json'), c.get('session').username));
      ctx.connectionsChanged();
      ctx.logger.info({ connection: added.name, target: added.target, organizations: added.organizations.length, by: c.get('session').username }, 'connection added');
      await ctx.recordAction(c.get('session').username, 'connection.add', null, added.name, { target: added.target, organizations: added.organizations.map((o) => o.organizationId) });
      return c.json<ConnectionView>({ ...added, error: null }, 201);
    })

    .post('/api/connections/:name/test', admin, async (c) => {
      const manager = managed();
      const tested = await asked(() => manager.test(c.req.param('name')));
      ctx.connectionsChanged();
      return c.json<ConnectionTested>(tested);
    })

    .delete('/api/connections/:name', admin, async (c) => {
      const manager = managed();
      const name = c.req.param('name');
      if (!(await asked(() => manager.remove(name)))) throw new HttpError(404, `there is no connection ${name}`);
      ctx.connectionsChanged();
      ctx.logger.info({ connection: name, by: c.get('session').username }, 'connection removed');
      await ctx.recordAction(c.get('session').username, 'connection.remove', null, name);
      return c.json({ removed: name });
    });
}
