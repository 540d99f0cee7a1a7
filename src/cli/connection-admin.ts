/**
 * Adding and testing a connection, as `sunset connections add|test` and the service's Connections
 * page (src/cli/service-connections.ts) both do it: the account is asked for its organizations
 * first, and a connection is kept only when it answers and reaches no organization another
 * connection holds.
 */
import { ZohoError, type ZohoBooksClient } from '../client/index.js';
import type { ConnectionSecrets, ConnectionStore } from '../engine/index.js';
import { connectionClient } from './connection.js';

/** Where a new connection reaches and its self-client's secrets (the refresh token already exchanged). */
export type ConnectionSpec = Pick<ConnectionSecrets, 'target' | 'dataCentre' | 'baseUrl' | 'accountsUrl' | 'clientId' | 'clientSecret' | 'refreshToken'>;

export type ReachedOrganization = { organizationId: string; name: string; timeZone: string };

/** Why a connection was not kept: the account did not answer, or an organization belongs to another connection. */
export class KeepRefused extends Error {
  override name = 'KeepRefused';
  constructor(readonly reason: 'unreachable' | 'taken', message: string) {
    super(message);
  }
}

export async function organizationsOf(client: ZohoBooksClient): Promise<ReachedOrganization[]> {
  const list = await client.organizations.list();
  return list.map((o) => ({ organizationId: o.organization_id, name: o.name, timeZone: o.time_zone ?? '' }));
}

const reason = (error: unknown): string => (error instanceof ZohoError ? error.message : String(error));

/** Lists the account's organizations and keeps the connection with them; KeepRefused (nothing kept) when it cannot. */
export async function keepConnection(store: ConnectionStore, name: string, spec: ConnectionSpec, actor: string): Promise<ReachedOrganization[]> {
  let organizations;
  try {
    organizations = await organizationsOf(connectionClient(spec));
  } catch (error) {
    throw new KeepRefused('unreachable', `The account did not answer, so nothing was kept: ${reason(error)}`);
  }
  for (const o of organizations) {
    const holder = await store.connectionOf(o.organizationId);
    if (holder) throw new KeepRefused('taken', `Organization ${o.organizationId} (${o.name}) already belongs to the connection ${holder}: an organization is reached through one connection. Nothing was kept.`);
  }
  const now = Date.now();
  await store.add({ name, ...spec, scopes: [], createdAt: now, createdBy: actor });
  try {
    await store.setOrganizations(name, organizations, now);
  } catch (error) {
    await store.remove(name);
    throw error;
  }
  await store.recordTest(name, now, null);
  return organizations;
}

/** Refreshes the token and lists the organizations again, recording them (or the error). */
export async function testConnection(store: ConnectionStore, c: ConnectionSecrets): Promise<{ ok: true; organizations: ReachedOrganization[] } | { ok: false; error: string }> {
  let organizations;
  try {
    organizations = await organizationsOf(connectionClient(c));
  } catch (error) {
    const message = reason(error);
    await store.recordTest(c.name, Date.now(), message);
    return { ok: false, error: message };
  }
  await store.setOrganizations(c.name, organizations, Date.now());
  await store.recordTest(c.name, Date.now(), null);
  return { ok: true, organizations };
}
