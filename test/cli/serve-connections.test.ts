/**
 * `sunset serve` on a database with two connections (two emulators standing for the EU and IN data
 * centres), through the built CLI: it starts, says how many connections it works through, lists
 * every connection's organizations with its connection, and answers the Connections API; with
 * --emulator it works through that one alone, as before. On a SQLite file or (the postgres
 * project) PostgreSQL.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionsView, OrganizationView } from '../../src/service/index.js';
import { createHarness, type EmulatorProcess, type Exit } from '../helpers/cli.js';
import { testLocation } from '../helpers/database.js';
import { PASSWORD, signIn, USER } from '../helpers/service.js';

const h = createHarness();
let eu: EmulatorProcess;
let india: EmulatorProcess;
beforeAll(async () => {
  eu = await h.startEmulator(['--dc', 'EU', '--contacts', '30', '--per-minute', '6000'], true);
  india = await h.startEmulator(['--dc', 'IN', '--contacts', '30', '--per-minute', '6000'], true);
});
afterAll(async () => h.cleanupAll());

const show = (what: string, e: Exit): string => `${what}: exit ${e.code}\n${e.stdout}\n${e.stderr}`;

describe('sunset serve with several connections', () => {
  it('works through every connection in the database, each organization through its own', async () => {
    const dir = h.temp('sunset-serve-connections-');
    const database = testLocation(join(dir, 'sunset.db'));
    const env = { SUNSET_HOME: join(dir, 'home') };
    const run = (args: string[], extra: Record<string, string> = {}): Promise<Exit> => h.run([...args, '--database', database], { cwd: dir, env: { ...env, ...extra }, timeoutMs: 60_000 });
    const user = await run(['users', 'add', USER], { SUNSET_PASSWORD: PASSWORD });
    expect(user.code, show('users add', user)).toBe(0);
    for (const [name, emulator] of [['acme-eu', eu], ['initech-in', india]] as const) {
      const added = await run(['connections', 'add', name, '--emulator', emulator.origin]);
      expect(added.code, show(`connections add ${name}`, added)).toBe(0);
    }

    const serve = h.spawn(['serve', '--port', '0', '--database', database], { cwd: dir, env });
    await serve.waitFor((out) => /Sunset is serving http:\/\/\S+/.test(out));
    expect(serve.stdout).toMatch(/\(2 connections \(acme-eu: the emulator at http:\/\/127\.0\.0\.1:\d+, initech-in: the emulator at http:\/\/127\.0\.0\.1:\d+\); journal /);
    const origin = /Sunset is serving (http:\/\/[^\s]+)/.exec(serve.stdout)![1]!;
    const session = await signIn(origin);
    const orgs = await session.get<OrganizationView[]>('/api/orgs');
    expect(orgs.status, orgs.text).toBe(200);
    expect(orgs.json.map((o) => [o.organizationId, o.connection]).sort()).toEqual([
      ...eu.organizations.map((id) => [id, 'acme-eu']), ...india.organizations.map((id) => [id, 'initech-in']),
    ].sort());
    const listed = await session.get<ConnectionsView>('/api/connections');
    expect(listed.json.managed).toBe(true);
    expect(listed.json.connections.map((c) => [c.name, c.error])).toEqual([['acme-eu', null], ['initech-in', null]]);
    for (const secret of [eu.info.clientSecret, eu.info.refreshToken, india.info.clientSecret, india.info.refreshToken]) {
      expect(`${orgs.text}${listed.text}${serve.stdout}${serve.stderr}`).not.toContain(secret);
    }
    serve.kill('SIGINT');
    const exit = await serve.exited;
    expect(exit.code, show('serve', exit)).toBe(0);

    // --emulator names one place: the service works through it alone, and manages no connection.
    const one = h.spawn(['serve', '--port', '0', '--database', database, '--emulator', india.origin], { cwd: dir, env });
    await one.waitFor((out) => /Sunset is serving http:\/\/\S+/.test(out));
    expect(one.stdout).toMatch(/\(the emulator at http:\/\/127\.0\.0\.1:\d+; journal /);
    const oneOrigin = /Sunset is serving (http:\/\/[^\s]+)/.exec(one.stdout)![1]!;
    const oneSession = await signIn(oneOrigin);
    expect((await oneSession.get<ConnectionsView>('/api/connections')).json).toEqual({ managed: false, connections: [] });
    expect((await oneSession.get<OrganizationView[]>('/api/orgs')).json.map((o) => o.organizationId).sort()).toEqual([...india.organizations].sort());
    one.kill('SIGINT');
    expect((await one.exited).code).toBe(0);
  });
});
