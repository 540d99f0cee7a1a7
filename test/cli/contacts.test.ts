/**
 * `sunset contacts activate|deactivate ID... | --from FILE.csv` end to end: the built CLI
 * (dist/cli/main.js) as child processes against a `sunset emulator start` subprocess with demo data
 * (two organizations; contacts with open balances, unused credits, created last month), over real
 * HTTP, each test with its own journal in a temp dir. Real ids of each kind are found by listing the
 * emulator's contacts; what Zoho ends up holding is read back through its Books API and request log.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseZohoTime } from '../../src/zoho/index.js';
import { cleanRefusal, createHarness, type ContactRow, type EmulatorProcess, type Exit } from '../helpers/cli.js';

const h = createHarness();
afterEach(async () => h.cleanup());
afterAll(async () => h.cleanupAll());

/** The emulator's limits raised, as the demo does. */
const FAST = ['--per-minute', '6000', '--daily', '100000'];
const NOWHERE = '5555555555555555555';
const DAY = 86_400_000;

/** A contact as GET /contacts lists it, with what the safety exclusions look at. */
interface Contact extends ContactRow {
  outstanding_receivable_amount: number;
  outstanding_payable_amount: number;
  unused_credits_receivable_amount: number;
  unused_credits_payable_amount: number;
  created_time: string;
}

function show(exit: Exit): string {
  return `code ${exit.code}, signal ${exit.signal}\nstdout: ${exit.stdout.slice(-3000)}\nstderr: ${exit.stderr.slice(-3000)}`;
}

const created = (c: Contact): number => parseZohoTime(c.created_time) ?? 0;
const owing = (c: Contact): boolean => c.outstanding_receivable_amount > 0 || c.outstanding_payable_amount > 0;
const credited = (c: Contact): boolean => c.unused_credits_receivable_amount > 0 || c.unused_credits_payable_amount > 0;
/** Clear of every default safety exclusion, with a day's margin on the 90-day grace period. */
const safe = (c: Contact): boolean => c.status === 'active' && !owing(c) && !credited(c) && created(c) < Date.now() - 91 * DAY;

let emu: EmulatorProcess;
let org1: Contact[];
let org2: Contact[];

beforeAll(async () => {
  emu = await h.startEmulator(['--contacts', '120', ...FAST], true);
  org1 = (await emu.contacts(emu.orgs[0])) as Contact[];
  org2 = (await emu.contacts(emu.orgs[1])) as Contact[];
  expect(org1.filter(safe).length).toBeGreaterThan(40);
  expect(org2.length).toBeGreaterThan(5);
});

/** A fresh journal and home for one test; `cli` runs a command there against the shared emulator. */
function workspace(): { dir: string; cli: (args: string[]) => Promise<Exit>; file: (name: string, text: string) => string } {
  const dir = h.temp('sunset-contacts-');
  return {
    dir,
    cli: (args) => h.run([...args, '--db', join(dir, 'sunset.db')], { cwd: dir, env: { SUNSET_HOME: join(dir, 'home'), SUNSET_EMULATOR_URL: emu.origin }, timeoutMs: 90_000 }),
    file: (name, text) => {
      writeFileSync(join(dir, name), text);
      return name;
    },
  };
}

/** Contacts not used by another test yet (tests change statuses on the shared emulator). */
const taken = new Set<string>();
function take(count: number, which: (c: Contact) => boolean, from = org1): Contact[] {
  const got = from.filter((c) => !taken.has(c.contact_id) && which(c)).slice(0, count);
  if (got.length < count) throw new Error(`the demo data has fewer than ${count} such contacts left`);
  for (const c of got) taken.add(c.contact_id);
  return got;
}

async function runsIn(cli: (args: string[]) => Promise<Exit>): Promise<unknown[]> {
  const runs = await cli(['runs', '--json']);
  expect(runs.code, show(runs)).toBe(0);
  return JSON.parse(runs.stdout) as unknown[];
}

/** The lookup's reads in the log since `seq`: list pages without a modified-since filter, and single GETs. */
async function lookupReads(since: number): Promise<{ pages: number; gets: string[] }> {
  const entries = await emu.requests(since, { method: 'GET', pathPrefix: '/books/v3/contacts' });
  return {
    pages: entries.filter((e) => e.path === '/books/v3/contacts' && e.query.last_modified_time === undefined).length,
    gets: entries.map((e) => /^\/books\/v3\/contacts\/(\d+)$/.exec(e.path)?.[1]).filter((id): id is string => id !== undefined),
  };
}

describe('every id is checked against the organization before the first change', () => {
  it('a well-formed id of no contact refuses the whole input: exit 1, the id named, nothing changed, no run', async () => {
    const { cli } = workspace();
    const [real] = take(1, safe);
    const seq = await emu.seq();
    const exit = await cli(['contacts', 'deactivate', real!.contact_id, NOWHERE, '--yes']);
    expect(exit.code, show(exit)).toBe(1);
    expect(cleanRefusal(exit), show(exit)).toEqual([]);
    expect(exit.stderr).toContain(NOWHERE);
    expect(exit.stderr).toContain(`not in organization ${emu.org}`);
    expect(exit.stderr).toContain('Nothing was changed');
    expect(exit.stderr).not.toContain(real!.contact_id);
    // A few ids: one GET each, no listing of the organization.
    expect(await lookupReads(seq)).toEqual({ pages: 0, gets: [real!.contact_id, NOWHERE] });
    expect(await emu.statusPosts(seq)).toEqual([]);
    expect(await emu.status(real!.contact_id)).toBe('active');
    expect(await runsIn(cli)).toEqual([]);
  });

  it('a real id of the other organization is refused the same way (activate too)', async () => {
    const { cli } = workspace();
    const inactive = take(1, (c) => c.status === 'inactive');
    const foreign = take(1, (c) => c.status === 'inactive', org2);
    const seq = await emu.seq();
    const exit = await cli(['contacts', 'activate', inactive[0]!.contact_id, foreign[0]!.contact_id, '--yes']);
    expect(exit.code, show(exit)).toBe(1);
    expect(cleanRefusal(exit), show(exit)).toEqual([]);
    expect(exit.stderr).toContain(foreign[0]!.contact_id);
    expect(await emu.statusPosts(seq)).toEqual([]);
    expect(await runsIn(cli)).toEqual([]);
  });

  it('a CSV of many ids with unknown ones: all unknown ones named, found by listing the organization, nothing changed', async () => {
    const { cli, file } = workspace();
    const real = take(15, safe);
    const foreign = take(2, () => true, org2);
    const ids = [...real.slice(0, 7).map((c) => c.contact_id), foreign[0]!.contact_id, ...real.slice(7).map((c) => c.contact_id), NOWHERE, foreign[1]!.contact_id];
    const name = file('many.csv', `contact_id\n${ids.join('\n')}\n`);
    const seq = await emu.seq();
    const exit = await cli(['contacts', 'deactivate', '--from', name, '--yes']);
    expect(exit.code, show(exit)).toBe(1);
    expect(cleanRefusal(exit), show(exit)).toEqual([]);
    expect(exit.stderr).toContain(`These 3 contacts are not in organization ${emu.org}`);
    expect(exit.stderr).toContain(`${foreign[0]!.contact_id}, ${NOWHERE}, ${foreign[1]!.contact_id}`);
    expect(await emu.statusPosts(seq)).toEqual([]);
    expect(await runsIn(cli)).toEqual([]);
    // 120 contacts: one page lists them all, which proves the rest unknown without a GET each.
    expect(await lookupReads(seq)).toEqual({ pages: 1, gets: [] });
  });

  it('all ids known: the change goes ahead, the lookup read once (no second read of the contacts for the run)', async () => {
    const { cli } = workspace();
    const real = take(2, safe);
    const seq = await emu.seq();
    const exit = await cli(['contacts', 'deactivate', ...real.map((c) => c.contact_id), '--yes']);
    expect(exit.code, show(exit)).toBe(0);
    expect((await lookupReads(seq)).gets.sort()).toEqual(real.map((c) => c.contact_id).sort());
    for (const c of real) expect(await emu.status(c.contact_id)).toBe('inactive');
  });
});
