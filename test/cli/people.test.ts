/**
 * `sunset users` roles and `sunset clients` (docs/agency.md, "People: roles and access"), run
 * in-process on a real SQLite file: the first user is an admin, later ones need a role; set-role
 * changes a role and the clients a user is limited to, never leaving no admin; remove ends a user;
 * clients group organizations; every change is in the activity log under the person's name; bad
 * input is refused with a clear message and changes nothing.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { openSqlite } from '../../src/engine/index.js';
import { createServiceStore } from '../../src/service/index.js';
import { createHarness, runMain, type Exit } from '../helpers/cli.js';

const h = createHarness();
afterAll(() => h.cleanup());
const show = (e: Exit): string => `code ${e.code}\nstdout: ${e.stdout}\nstderr: ${e.stderr}`;
const PASSWORD = 'a long passphrase, really';

describe('sunset users and sunset clients', () => {
  const dir = h.temp();
  const db = join(dir, 'sunset.db');
  const env = { SUNSET_PASSWORD: PASSWORD, SUNSET_ACTOR: 'ops@consultancy' };
  const cli = (args: string[]) => runMain([...args, '--db', db], { env });
  const ok = async (args: string[]): Promise<Exit> => {
    const e = await cli(args);
    expect(e.code, show(e)).toBe(0);
    return e;
  };
  const users = async () => (JSON.parse((await ok(['users', 'list', '--json'])).stdout) as { users: Array<{ username: string; role: string; clients: string[] | null }> }).users
    .map((u) => [u.username, u.role, u.clients]);

  it('the first user is an admin; anyone after needs a role, checked before anything changes', async () => {
    expect((await ok(['users', 'add', 'olga'])).stdout).toBe('User olga added as an admin; they can sign in to `sunset serve`.\n');
    const missing = await cli(['users', 'add', 'ann']);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toContain('Say what ann may do: --role viewer (read), approver (scan, approve, apply, stop, resume, verify and undo) or admin');
    for (const [args, message] of [
      [['users', 'add', 'ann', '--role', 'owner'], 'role must be one of viewer, approver, admin; nothing was changed.'],
      [['users', 'add', 'ann', '--role', 'admin', '--clients', 'Acme'], 'an admin sees every client'],
      [['users', 'add', 'ann', '--role', 'viewer', '--clients', 'A\u0007B'], 'control characters'],
      [['users', 'add', 'olga', '--role', 'viewer'], 'olga is already a user: `sunset users set-role olga ROLE` changes their role'],
      [['users', 'set-role', 'olga', 'viewer', '--clients', 'A', '--all-clients'], '--clients and --all-clients: keep one.'],
      [['users', 'unlock', 'olga', '--role', 'viewer'], '--role is for `sunset users add`.'],
    ] as const) {
      const e = await cli([...args]);
      expect(e.code, show(e)).toBe(EXIT.usage);
      expect(e.stderr).toContain(message);
    }
    expect(await users()).toEqual([['olga', 'admin', null]]);
    expect((await ok(['users', 'add', 'ann', '--role', 'approver', '--clients', ' Globex , Acme Ltd ,'])).stdout)
      .toBe('User ann added as an approver, limited to Acme Ltd, Globex; they can sign in to `sunset serve`.\n');
    await ok(['users', 'add', 'vic', '--role', 'viewer']);
    expect(await users()).toEqual([['ann', 'approver', ['Acme Ltd', 'Globex']], ['olga', 'admin', null], ['vic', 'viewer', null]]);
    const table = (await ok(['users', 'list'])).stdout;
    expect(table).toMatch(/^USER +ROLE +CLIENTS +ADDED/m);
    expect(table).toMatch(/^ann +approver +Acme Ltd, Globex +\d{4}-/m);
    expect(table).toMatch(/^vic +viewer +all +\d{4}-/m);
  });

  it('set-role changes the role and the clients (or keeps them); the last admin stays one', async () => {
    expect((await ok(['users', 'set-role', 'ann', 'viewer'])).stdout).toBe('ann is now a viewer, limited to Acme Ltd, Globex.\n');
    expect((await ok(['users', 'set-role', 'ann', 'approver', '--clients', 'Acme Ltd'])).stdout).toBe('ann is now an approver, limited to Acme Ltd.\n');
    expect((await ok(['users', 'set-role', 'vic', 'viewer', '--clients', 'Globex'])).stdout).toBe('vic is now a viewer, limited to Globex.\n');
    expect((await ok(['users', 'set-role', 'vic', 'viewer', '--all-clients'])).stdout).toBe('vic is now a viewer.\n');
    const last = await cli(['users', 'set-role', 'olga', 'viewer']);
    expect(last.code).toBe(EXIT.failure);
    expect(last.stderr).toContain('olga is the last admin: make another user an admin first. Nothing was changed.');
    const gone = await cli(['users', 'set-role', 'nobody', 'viewer']);
    expect(gone.code).toBe(EXIT.notFound);
    expect(await users()).toEqual([['ann', 'approver', ['Acme Ltd']], ['olga', 'admin', null], ['vic', 'viewer', null]]);
  });

  it('remove ends a user (not the last admin)', async () => {
    expect((await cli(['users', 'remove', 'olga'])).stderr).toContain('olga is the last admin');
    expect((await ok(['users', 'remove', 'vic'])).stdout).toBe('User vic removed; their sessions were ended.\n');
    expect((await cli(['users', 'remove', 'vic'])).code).toBe(EXIT.notFound);
    expect((await users()).map(([name]) => name)).toEqual(['ann', 'olga']);
  });

  it('clients group organizations; bad ids or names change nothing', async () => {
    expect((await ok(['clients', 'list'])).stdout).toContain('No organization is grouped under a client yet');
    for (const [args, message] of [
      [['clients', 'set', 'Acme Ltd'], 'Name at least one organization'],
      [['clients', 'set', 'Acme Ltd', '7001', 'not-an-id'], 'Not an organization id: not-an-id'],
      [['clients', 'set', ' ', '7001'], 'a client needs a name'],
      [['clients', 'unset'], 'Name at least one organization'],
    ] as const) {
      const e = await cli([...args]);
      expect(e.code, show(e)).toBe(EXIT.usage);
      expect(e.stderr).toContain(message);
    }
    expect(JSON.parse((await ok(['clients', 'list', '--json'])).stdout)).toEqual({ clients: [], ungrouped: [] });
    await ok(['clients', 'set', 'Acme Ltd', '20071234567', '20071234568']);
    await ok(['clients', 'set', 'Globex', '20071234569']);
    expect((await ok(['clients', 'unset', '20071234568'])).stdout).toBe('20071234568: under no client now.\n');
    expect(JSON.parse((await ok(['clients', 'list', '--json'])).stdout)).toEqual({
      clients: [{ client: 'Acme Ltd', organizations: ['20071234567'] }, { client: 'Globex', organizations: ['20071234569'] }], ungrouped: [],
    });
    expect((await ok(['clients', 'list'])).stdout).toBe('Acme Ltd\n  20071234567\nGlobex\n  20071234569\n');
  });

  it('the activity log names the person for every change made here', async () => {
    const database = openSqlite(db);
    try {
      const actions = await createServiceStore(database).actions({ limit: 100 });
      expect(actions.map((a) => `${a.username} ${a.action} ${a.subject ?? a.organizationId}`).reverse()).toEqual([
        'ops@consultancy user.add olga', 'ops@consultancy user.add ann', 'ops@consultancy user.add vic',
        'ops@consultancy user.access ann', 'ops@consultancy user.access ann', 'ops@consultancy user.access vic', 'ops@consultancy user.access vic',
        'ops@consultancy user.remove vic',
        'ops@consultancy organization.client 20071234567', 'ops@consultancy organization.client 20071234568', 'ops@consultancy organization.client 20071234569',
        'ops@consultancy organization.client 20071234568',
      ]);
    } finally {
      await database.close();
    }
  });
});
