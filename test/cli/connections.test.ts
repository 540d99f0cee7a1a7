/**
 * `sunset connections`, through the built CLI against a running emulator, on a SQLite file or (the
 * postgres project) PostgreSQL: a connection is checked and kept with its secrets sealed (the
 * database holds neither the client secret nor the refresh token in clear), the organizations it
 * reaches are recorded and used by the engine commands, one organization belongs to one
 * connection, a wrong key is a clear error, rotate-key re-seals, and the credentials of `sunset auth
 * login` become the first connection without retyping anything.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountInfo } from '../../src/emulator/index.js';
import { createConnectionStore, createSecretBox, parseSecretKey } from '../../src/engine/index.js';
import { createHarness, type EmulatorProcess, type Exit } from '../helpers/cli.js';
import { openTestDatabase, testLocation } from '../helpers/database.js';

const h = createHarness();
let emu: EmulatorProcess;
beforeAll(async () => {
  emu = await h.startEmulator(['--contacts', '60', '--per-minute', '6000'], true);
});
afterAll(async () => h.cleanupAll());

const show = (what: string, e: Exit): string => `${what}: exit ${e.code}\n${e.stdout}\n${e.stderr}`;

/** Every value stored in the connections table of the journal at `path` (see testLocation), as text. */
async function storedText(path: string): Promise<string> {
  const db = openTestDatabase(path);
  try {
    return JSON.stringify(await db.all('SELECT * FROM connections'));
  } finally {
    await db.close();
  }
}

describe('sunset connections', () => {
  it('adds a connection with sealed secrets, records its organizations, and the engine commands use it', async () => {
    const dir = h.temp('sunset-connections-');
    const home = join(dir, 'home');
    const database = testLocation(join(dir, 'sunset.db'));
    const run = (args: string[], env: Record<string, string> = {}): Promise<Exit> =>
      h.run([...args, '--database', database], { cwd: dir, env: { SUNSET_HOME: home, ...env }, timeoutMs: 60_000 });

    const added = await run(['connections', 'add', 'client-a', '--emulator', emu.origin, '--json']);
    expect(added.code, show('add', added)).toBe(0);
    const result = JSON.parse(added.stdout) as { target: string; organizations: Array<{ organizationId: string }> };
    expect(result.organizations.map((o) => o.organizationId).sort()).toEqual([...emu.organizations].sort());
    expect(result.target).toBe(`emulator:${emu.origin}`);

    // Sealed: neither secret is in the database; the key file is owner-only.
    const stored = await storedText(join(dir, 'sunset.db'));
    expect(stored).toContain('client-a');
    expect(stored).not.toContain(emu.info.clientSecret);
    expect(stored).not.toContain(emu.info.refreshToken);
    expect(stored).toMatch(/"v1:[0-9a-f]{8}:/);
    expect(statSync(join(home, 'secret.key')).mode & 0o777).toBe(0o600);

    const listed = await run(['connections', 'list']);
    expect(listed.code, show('list', listed)).toBe(0);
    expect(listed.stdout).toContain(`client-a  emulator:${emu.origin}`);
    for (const id of emu.organizations) expect(listed.stdout).toContain(id);
    expect(`${listed.stdout}${added.stdout}`).not.toContain(emu.info.clientSecret);

    // The engine commands reach the organization through its connection (no emulator named).
    writeFileSync(join(dir, 'policy.yaml'), `organization_id: "${emu.organization}"\ninactivity: 24 months\n`);
    const scanned = await run(['scan', '--policy', 'policy.yaml', '--org', emu.organization, '--quiet']);
    expect(scanned.code, show('scan through the connection', scanned)).toBe(0);
    expect(scanned.stderr).not.toMatch(/embedded/);
    const runs = await run(['runs', '--json']);
    expect(runs.code).toBe(0);

    // One organization, one connection: the same account again is refused, and nothing is kept.
    const twice = await run(['connections', 'add', 'client-a-again', '--emulator', emu.origin]);
    expect(twice.code, show('add again', twice)).toBe(1);
    expect(twice.stderr).toMatch(/already belongs to the connection client-a/);
    expect((await run(['connections', 'list', '--json'])).stdout).not.toContain('client-a-again');

    const tested = await run(['connections', 'test', 'client-a']);
    expect(tested.code, show('test', tested)).toBe(0);
    expect(tested.stdout).toMatch(/works; it reaches/);

    // Another key does not open the secrets: a clear error, no secret shown.
    const wrong = await run(['connections', 'test', 'client-a'], { SUNSET_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') });
    expect(wrong.code, show('test with another key', wrong)).toBe(1);
    expect(wrong.stderr).toMatch(/do not open with the key from SUNSET_SECRET_KEY: the secrets were sealed with key [0-9a-f]{8}/);
    expect(`${wrong.stdout}${wrong.stderr}`).not.toContain(emu.info.refreshToken);

    // rotate-key: a new key file, the secrets re-sealed with it, the old key no longer opens them.
    const oldKey = parseSecretKey(readFileSync(join(home, 'secret.key'), 'utf8'));
    const rotated = await run(['connections', 'rotate-key']);
    expect(rotated.code, show('rotate-key', rotated)).toBe(0);
    const newKey = parseSecretKey(readFileSync(join(home, 'secret.key'), 'utf8'));
    expect(newKey.equals(oldKey)).toBe(false);
    expect(statSync(join(home, 'secret.key')).mode & 0o777).toBe(0o600);
    expect((await run(['connections', 'test', 'client-a'])).code).toBe(0);
    const db = openTestDatabase(join(dir, 'sunset.db'));
    try {
      await expect(createConnectionStore(db, { box: () => createSecretBox(oldKey) }).open('client-a')).rejects.toThrow(/sealed with key/);
      expect((await createConnectionStore(db, { box: () => createSecretBox(newKey) }).open('client-a'))?.refreshToken).toBe(emu.info.refreshToken);
    } finally {
      await db.close();
    }

    const removed = await run(['connections', 'remove', 'client-a']);
    expect(removed.code, show('remove', removed)).toBe(0);
    expect((await run(['connections', 'remove', 'client-a'])).code).toBe(3);
    expect((await run(['connections', 'list'])).stdout).toMatch(/No connections yet/);
  });

  it('turns the credentials of `sunset auth login` into the connection "default" without retyping', async () => {
    const dir = h.temp('sunset-connections-import-');
    const home = join(dir, 'home');
    const database = testLocation(join(dir, 'sunset.db'));
    const env = { SUNSET_HOME: home };
    const login = await h.run(['auth', 'login', '--emulator', emu.origin], { cwd: dir, env });
    expect(login.code, show('login', login)).toBe(0);
    const listed = await h.run(['connections', 'list', '--json', '--database', database], { cwd: dir, env });
    expect(listed.code, show('list', listed)).toBe(0);
    expect(listed.stderr).toMatch(/are now the connection "default"/);
    const all = JSON.parse(listed.stdout) as Array<{ name: string; target: string }>;
    expect(all.map((c) => [c.name, c.target])).toEqual([['default', `emulator:${emu.origin}`]]);
    const tested = await h.run(['connections', 'test', 'default', '--database', database], { cwd: dir, env });
    expect(tested.code, show('test default', tested)).toBe(0);
    expect(await storedText(join(dir, 'sunset.db'))).not.toContain(emu.info.refreshToken);
  });

  it('a consultancy\'s accounts: two on one data centre, one on another; each organization is reached through its own connection', async () => {
    const eu = await h.startEmulator(['--accounts', '1', '--dc', 'EU', '--contacts', '40', '--per-minute', '6000']);
    const india = await h.startEmulator(['--dc', 'IN', '--contacts', '40', '--per-minute', '6000']);
    const accounts = (eu.info as unknown as { accounts: AccountInfo[] }).accounts;
    expect(accounts).toHaveLength(2);
    const globex = accounts[1]!;
    const dir = h.temp('sunset-connections-agency-');
    const database = testLocation(join(dir, 'sunset.db'));
    const run = (args: string[], env: Record<string, string> = {}): Promise<Exit> =>
      h.run([...args, '--database', database], { cwd: dir, env: { SUNSET_HOME: join(dir, 'home'), ...env }, timeoutMs: 60_000 });

    expect((await run(['connections', 'add', 'acme-eu', '--emulator', eu.origin])).code).toBe(0);
    const added = await run(['connections', 'add', 'globex-eu', '--emulator', eu.origin, '--client-id', globex.clientId, '--json'], {
      SUNSET_CLIENT_SECRET: globex.clientSecret, SUNSET_REFRESH_TOKEN: globex.refreshToken,
    });
    expect(added.code, show('add globex', added)).toBe(0);
    expect((JSON.parse(added.stdout) as { organizations: Array<{ organizationId: string }> }).organizations.map((o) => o.organizationId).sort())
      .toEqual(globex.organizations.map((o) => o.organization_id).sort());
    expect((await run(['connections', 'add', 'initech-in', '--emulator', india.origin])).code).toBe(0);
    // A wrong secret for that client: refused by the account, nothing kept.
    const wrong = await run(['connections', 'add', 'globex-bad', '--emulator', eu.origin, '--client-id', globex.clientId], {
      SUNSET_CLIENT_SECRET: 'not-the-secret', SUNSET_REFRESH_TOKEN: globex.refreshToken,
    });
    expect(wrong.code, show('wrong secret', wrong)).toBe(1);
    expect(wrong.stderr).toMatch(/did not answer, so nothing was kept/);

    const listed = JSON.parse((await run(['connections', 'list', '--json'])).stdout) as Array<{ name: string; organizations: Array<{ organizationId: string }> }>;
    expect(listed.map((c) => c.name)).toEqual(['acme-eu', 'globex-eu', 'initech-in']);
    const reached = listed.flatMap((c) => c.organizations.map((o) => o.organizationId));
    expect(new Set(reached).size, 'no organization twice').toBe(reached.length);

    // Each organization is scanned through its own account (another account's token would get 6041).
    for (const organization of [eu.organization, globex.organizations[0]!.organization_id, india.organization]) {
      writeFileSync(join(dir, 'policy.yaml'), `organization_id: "${organization}"\ninactivity: 24 months\n`);
      const scanned = await run(['scan', '--policy', 'policy.yaml', '--org', organization, '--quiet', '--json']);
      expect(scanned.code, show(`scan ${organization}`, scanned)).toBe(0);
    }
    const none = await run(['scan', '--policy', 'policy.yaml', '--org', '999000111', '--quiet']);
    expect(none.code, show('an organization no connection reaches', none)).toBe(3);
    expect(none.stderr).toMatch(/No connection reaches organization 999000111/);
    const unnamed = await run(['scan', '--policy', 'policy.yaml']);
    expect(unnamed.code, show('scan without --org', unnamed)).toBe(2);
    expect(unnamed.stderr).toMatch(/There are 3 connections \(acme-eu, globex-eu, initech-in\): name the organization with --org/);
    // sunset orgs lists each connection's organizations, as each account answers.
    const orgs = await run(['orgs', '--json']);
    expect(orgs.code, show('orgs', orgs)).toBe(0);
    const byConnection = JSON.parse(orgs.stdout) as Array<{ connection: string; organizations: Array<{ organizationId: string }> }>;
    expect(byConnection.map((c) => [c.connection, c.organizations.length])).toEqual([['acme-eu', 2], ['globex-eu', 2], ['initech-in', 2]]);
    expect(byConnection[1]!.organizations.map((o) => o.organizationId).sort()).toEqual(globex.organizations.map((o) => o.organization_id).sort());
  });

  it('refuses bad names and misplaced options with usage errors, changing nothing', async () => {
    const dir = h.temp('sunset-connections-bad-');
    const database = testLocation(join(dir, 'sunset.db'));
    const run = (args: string[]): Promise<Exit> => h.run([...args, '--database', database], { cwd: dir, env: { SUNSET_HOME: join(dir, 'home') } });
    for (const [args, message] of [
      [['connections', 'add', 'bad name!', '--emulator', emu.origin], /a connection's name is 1 to 40/],
      [['connections', 'add'], /Name the connection/],
      [['connections', 'add', 'x', '--dc', 'MARS', '--client-id', '1000.X'], /--dc/],
      [['connections', 'add', 'x', '--dc', 'EU'], /--client-id/],
      [['connections', 'list', '--dc', 'EU'], /are for `sunset connections add`/],
      [['connections', 'fly'], /Unknown: sunset connections fly/],
    ] as const) {
      const exit = await run([...args]);
      expect(exit.code, show(args.join(' '), exit)).toBe(2);
      expect(exit.stderr).toMatch(message);
    }
    expect((await run(['connections', 'list'])).stdout).toMatch(/No connections yet/);
  });
});
