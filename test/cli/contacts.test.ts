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
import { cleanRefusal, createHarness, deactivatable, type ContactRow, type EmulatorProcess, type Exit } from '../helpers/cli.js';

const h = createHarness();
afterEach(async () => h.cleanup());
afterAll(async () => h.cleanupAll());

/** The emulator's limits raised, as the demo does. */
const FAST = ['--per-minute', '6000', '--daily', '100000'];
const NOWHERE = '5555555555555555555';
const DAY = 86_400_000;

type Contact = ContactRow;

function show(exit: Exit): string {
  return `code ${exit.code}, signal ${exit.signal}\nstdout: ${exit.stdout.slice(-3000)}\nstderr: ${exit.stderr.slice(-3000)}`;
}

const created = (c: Contact): number => parseZohoTime(c.created_time) ?? 0;
const owing = (c: Contact): boolean => c.outstanding_receivable_amount > 0 || c.outstanding_payable_amount > 0;
const credited = (c: Contact): boolean => c.unused_credits_receivable_amount > 0 || c.unused_credits_payable_amount > 0;
const safe = (c: Contact): boolean => deactivatable(c);

let emu: EmulatorProcess;
let org1: Contact[];
let org2: Contact[];

beforeAll(async () => {
  emu = await h.startEmulator(['--contacts', '120', ...FAST], true);
  org1 = await emu.contacts(emu.organizations[0]);
  org2 = await emu.contacts(emu.organizations[1]);
  expect(org1.filter(safe).length).toBeGreaterThan(40);
  expect(org2.length).toBeGreaterThan(5);
});

/** A fresh journal and home for one test; `cli` runs a command there against the shared emulator. */
function workspace(): { dir: string; cli: (args: string[]) => Promise<Exit>; file: (name: string, text: string) => string } {
  const dir = h.temp('sunset-contacts-');
  return {
    dir,
    // The first organization, named: with two reachable and none chosen, `contacts` asks which.
    cli: (args) => h.run([...args, ...(args[0] === 'contacts' && !args.includes('--org') ? ['--org', emu.organizations[0]!] : []), '--db', join(dir, 'sunset.db')], { cwd: dir, env: { SUNSET_HOME: join(dir, 'home'), SUNSET_EMULATOR_URL: emu.origin }, timeoutMs: 90_000 }),
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
  it('a well-formed id of no contact refuses the whole input: exit 3 (not found), the id named, nothing changed, no run', async () => {
    const { cli } = workspace();
    const [real] = take(1, safe);
    const seq = await emu.seq();
    const exit = await cli(['contacts', 'deactivate', real!.contact_id, NOWHERE, '--yes']);
    expect(exit.code, show(exit)).toBe(3);
    expect(cleanRefusal(exit), show(exit)).toEqual([]);
    expect(exit.stderr).toContain(NOWHERE);
    expect(exit.stderr).toContain(`not in organization ${emu.organization}`);
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
    expect(exit.code, show(exit)).toBe(3);
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
    expect(exit.code, show(exit)).toBe(3);
    expect(cleanRefusal(exit), show(exit)).toEqual([]);
    expect(exit.stderr).toContain(`These 3 contacts are not in organization ${emu.organization}`);
    expect(exit.stderr).toContain(`${foreign[0]!.contact_id}, ${NOWHERE}, ${foreign[1]!.contact_id}`);
    expect(await emu.statusPosts(seq)).toEqual([]);
    expect(await runsIn(cli)).toEqual([]);
    // 120 contacts: one page lists them all, which proves the rest unknown without a GET each.
    expect(await lookupReads(seq)).toEqual({ pages: 1, gets: [] });
  });

  it('a long lookup shows its progress on stderr (pages of a slow organization)', async () => {
    // 1,000 contacts (5 pages); ids from the last page; every page of the listing takes 1.5 s.
    const big = await h.startEmulator(['--contacts', '1000', ...FAST]);
    const last = (await big.contacts()).slice(-12).map((c) => c.contact_id);
    const fault = await big.admin('POST', '/__emulator/faults', { faults: ['latency:1500,method=GET,path=/contacts'] });
    expect(fault.status).toBe(200);
    const dir = h.temp('sunset-contacts-');
    writeFileSync(join(dir, 'last.csv'), `contact_id\n${last.join('\n')}\n`);
    const seq = await big.seq();
    // Without --yes off a terminal it stops at the confirmation, after the lookup: nothing changes.
    const exit = await h.run(['contacts', 'deactivate', '--from', 'last.csv', '--org', big.organizations[0]!, '--db', join(dir, 'sunset.db')], { cwd: dir, env: { SUNSET_HOME: join(dir, 'home'), SUNSET_EMULATOR_URL: big.origin } });
    expect(exit.code, show(exit)).toBe(2);
    expect(exit.stderr).toMatch(/^Looking up 12 contacts: \d+ found \(\d pages of 200, 0 single reads\)\.\.\.$/m);
    expect(exit.stderr).toContain('--yes');
    expect(await big.statusPosts(seq)).toEqual([]);
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

interface AuditRow { contact_id: string; to: string; why: string; run_kind: string }
interface ChangeDocument {
  run: { runId: string; state: string } | null;
  counts: { total: number; changed: number } | null;
  excluded: Array<{ contactId: string; contactName: string; reasons: string[]; detail: string }>;
  forced: Array<{ contactId: string; contactName: string; reasons: string[]; detail: string }>;
}

const money = (n: number): string => n.toFixed(2);
const recent = (c: Contact): boolean => created(c) > Date.now() - 89 * DAY;

describe('a bulk deactivation applies the safety exclusions of a plan', () => {
  it('open balance, unused credits and recent creation keep contacts out of the run, shown with name, id and why (text, confirmation, --json)', async () => {
    const { cli, file } = workspace();
    const [payable] = take(1, (c) => c.status === 'active' && c.outstanding_payable_amount > 0 && !credited(c) && !recent(c));
    const [credit] = take(1, (c) => c.status === 'active' && credited(c) && !owing(c) && !recent(c));
    const [young] = take(1, (c) => c.status === 'active' && recent(c) && !owing(c) && !credited(c));
    const clear = take(2, safe);
    const ids = [payable!, clear[0]!, credit!, young!, clear[1]!].map((c) => c.contact_id);
    const name = file('bulk.csv', `contact_id\n${ids.join('\n')}\n`);

    // The confirmation names them (off a terminal, the question is in the refusal).
    let seq = await emu.seq();
    const asked = await cli(['contacts', 'deactivate', '--from', name]);
    expect(asked.code, show(asked)).toBe(2);
    expect(asked.stderr).toContain('Kept by the safety exclusions');
    expect(asked.stderr).toContain(`${payable!.contact_name} (${payable!.contact_id}): owes ${money(payable!.outstanding_receivable_amount)} / is owed ${money(payable!.outstanding_payable_amount)}`);
    expect(asked.stderr).toContain('Deactivate 2 contacts (3 kept)');
    expect(await emu.statusPosts(seq)).toEqual([]);

    seq = await emu.seq();
    const exit = await cli(['contacts', 'deactivate', '--from', name, '--yes', '--json']);
    expect(exit.code, show(exit)).toBe(0);
    const doc = JSON.parse(exit.stdout) as ChangeDocument;
    expect(doc.counts).toMatchObject({ total: 2, changed: 2 });
    expect(doc.forced).toEqual([]);
    expect(doc.excluded.map((e) => [e.contactId, e.reasons])).toEqual([
      [payable!.contact_id, ['open_balance']], [credit!.contact_id, ['unused_credits']], [young!.contact_id, ['grace_period']],
    ]);
    expect(doc.excluded[0]).toMatchObject({ contactName: payable!.contact_name, detail: `owes ${money(payable!.outstanding_receivable_amount)} / is owed ${money(payable!.outstanding_payable_amount)}` });
    expect(doc.excluded[1]!.detail).toBe(`unused credits ${money(credit!.unused_credits_receivable_amount + credit!.unused_credits_payable_amount)}`);
    expect(doc.excluded[2]!.detail).toMatch(/^created \d{4}-\d{2}-\d{2}, within 90 days$/);
    const posts = await emu.statusPosts(seq);
    expect(posts.map((p) => p.contactId).sort()).toEqual(clear.map((c) => c.contact_id).sort());
    for (const c of [payable!, credit!, young!]) expect(await emu.status(c.contact_id)).toBe('active');

    // The text output lists them too (the clear contact is inactive now: not excluded, reported unchanged).
    const again = await cli(['contacts', 'deactivate', payable!.contact_id, young!.contact_id, clear[0]!.contact_id, '--yes']);
    expect(again.code, show(again)).toBe(0);
    expect(again.stdout).toContain(`Kept by the safety exclusions (not changed; --force overrides them):\n  ${payable!.contact_name} (${payable!.contact_id}): owes`);
    expect(again.stdout).toContain(`${young!.contact_name} (${young!.contact_id}): created `);
  });

  it('every contact excluded: nothing runs, no run is written, exit 1 saying nothing was changed', async () => {
    const { cli } = workspace();
    const kept = take(2, (c) => c.status === 'active' && (owing(c) || credited(c)));
    const seq = await emu.seq();
    const exit = await cli(['contacts', 'deactivate', ...kept.map((c) => c.contact_id), '--yes']);
    expect(exit.code, show(exit)).toBe(1);
    expect(cleanRefusal(exit), show(exit)).toEqual([]);
    expect(exit.stderr).toContain('Nothing was changed: all 2 contacts are kept by the safety exclusions');
    expect(exit.stderr).toContain('--force');
    for (const c of kept) expect(exit.stdout).toContain(`(${c.contact_id}): `);
    expect(await emu.statusPosts(seq)).toEqual([]);
    expect(await runsIn(cli)).toEqual([]);

    const json = await cli(['contacts', 'deactivate', ...kept.map((c) => c.contact_id), '--yes', '--json']);
    expect(json.code, show(json)).toBe(1);
    const doc = JSON.parse(json.stdout) as ChangeDocument & { error: { code: string; message: string } };
    expect(doc).toMatchObject({ run: null, counts: null, forced: [] });
    expect(doc.excluded.map((e) => e.contactId)).toEqual(kept.map((c) => c.contact_id));
    // One document: what was found, and the failure (no second object, nothing on stderr).
    expect(doc.error).toEqual({ code: 'failure', message: expect.stringContaining('Nothing was changed: all 2 contacts are kept by the safety exclusions') });
    expect(json.stderr).toBe('');
  });

  it('--force changes them and records the override in the audit trail; activating them back needs no --force', async () => {
    const { cli } = workspace();
    const [payable] = take(1, (c) => c.status === 'active' && c.outstanding_payable_amount > 0 && !credited(c) && !recent(c));
    const [clear] = take(1, safe);
    const seq = await emu.seq();
    const exit = await cli(['contacts', 'deactivate', payable!.contact_id, clear!.contact_id, '--force', '--yes', '--reason', 'closed by request']);
    expect(exit.code, show(exit)).toBe(0);
    const detail = `owes ${money(payable!.outstanding_receivable_amount)} / is owed ${money(payable!.outstanding_payable_amount)}`;
    expect(exit.stdout).toContain(`Forced past the safety exclusions (recorded in the audit trail):\n  ${payable!.contact_name} (${payable!.contact_id}): ${detail}`);
    expect((await emu.statusPosts(seq)).filter((p) => p.code === 0).map((p) => p.contactId).sort()).toEqual([payable!.contact_id, clear!.contact_id].sort());
    const runId = /Run (run-\S+?) started\./.exec(exit.stderr)![1]!;
    const audit = JSON.parse((await cli(['audit', '--format', 'json', '--run', runId])).stdout) as AuditRow[];
    expect(audit.map((r) => [r.contact_id, r.to, r.why]).sort()).toEqual([
      [payable!.contact_id, 'inactive', `closed by request; forced past the safety exclusions: ${detail}`],
      [clear!.contact_id, 'inactive', 'closed by request'],
    ].sort());

    const back = await cli(['contacts', 'activate', payable!.contact_id, '--yes', '--json']);
    expect(back.code, show(back)).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ counts: { changed: 1 }, excluded: [], forced: [] });
    expect(await emu.status(payable!.contact_id)).toBe('active');
  });

  it('--policy FILE takes the safety settings from a policy (its organization too); a broken one refuses up front', async () => {
    const { cli, file } = workspace();
    const [payable] = take(1, (c) => c.status === 'active' && owing(c) && !credited(c) && !recent(c));
    const [credit] = take(1, (c) => c.status === 'active' && credited(c) && !owing(c) && !recent(c));
    file('p.yaml', `organization_id: "${emu.organization}"\nsafety:\n  open_balance: false\n`);
    const seq = await emu.seq();
    const exit = await cli(['contacts', 'deactivate', payable!.contact_id, credit!.contact_id, '--policy', 'p.yaml', '--yes', '--json']);
    expect(exit.code, show(exit)).toBe(0);
    const doc = JSON.parse(exit.stdout) as ChangeDocument;
    expect(doc.excluded.map((e) => [e.contactId, e.reasons])).toEqual([[credit!.contact_id, ['unused_credits']]]);
    expect((await emu.statusPosts(seq)).map((p) => p.contactId)).toEqual([payable!.contact_id]);

    file('bad.yaml', `organization_id: "${emu.organization}"\nsafety:\n  open_balanse: false\n`);
    const bad = await cli(['contacts', 'deactivate', credit!.contact_id, '--policy', 'bad.yaml', '--yes']);
    expect(bad.code, show(bad)).toBe(2);
    expect(bad.stderr).toContain('bad.yaml:3:3: safety.open_balanse');
    const other = await cli(['contacts', 'deactivate', credit!.contact_id, '--policy', 'p.yaml', '--org', emu.organizations[1]!, '--yes']);
    expect(other.code, show(other)).toBe(2);
    expect(other.stderr).toContain(`differs from the policy's organization ${emu.organization}`);
    const activate = await cli(['contacts', 'activate', payable!.contact_id, '--force', '--yes']);
    expect(activate.code, show(activate)).toBe(2);
    expect(activate.stderr).toContain('--force and --policy are for deactivate');
    expect(await emu.statusPosts(seq)).toHaveLength(1);
  });
});

describe('Zoho Books\' own contact export as input', () => {
  it('a `;`-separated export with a BOM, `Contact ID`, `Display Name` and Zoho\'s other columns deactivates exactly its contacts', async () => {
    const { cli, file } = workspace();
    const picks = take(3, safe);
    const rows = picks.map((c, i) => `2023-0${i + 1}-05 10:00:00;"${c.contact_name.replace(/"/g, '""')}";${c.contact_id};${c.contact_type};Active;0,00`);
    const name = file('zoho-export.csv', `\uFEFFCreated Time;Display Name;Contact ID;Contact Type;Status;Outstanding Receivable Amount\r\n${rows.join('\r\n')}\r\n`);
    const seq = await emu.seq();
    const exit = await cli(['contacts', 'deactivate', '--from', name, '--yes', '--json']);
    expect(exit.code, show(exit)).toBe(0);
    expect(JSON.parse(exit.stdout)).toMatchObject({ counts: { total: 3, changed: 3 }, excluded: [] });
    expect((await emu.statusPosts(seq)).filter((p) => p.code === 0).map((p) => `${p.contactId} ${p.to}`).sort()).toEqual(picks.map((c) => `${c.contact_id} inactive`).sort());
  });

  it('a tab-separated export is read too, and a bad line in it is named', async () => {
    const { cli, file } = workspace();
    const [pick] = take(1, safe);
    const name = file('zoho-export.tsv.csv', `Contact ID\tContact Name\tStatus\n${pick!.contact_id}\tA\tActive\n12345\tB\tActive\n`);
    const seq = await emu.seq();
    const exit = await cli(['contacts', 'deactivate', '--from', name, '--yes']);
    expect(exit.code, show(exit)).toBe(2);
    expect(cleanRefusal(exit), show(exit)).toEqual([]);
    expect(exit.stderr).toContain(`${name}:3: "12345" is not a Zoho contact id`);
    expect(exit.stderr).not.toContain(`${name}:2:`);
    expect(await emu.statusPosts(seq)).toEqual([]);
  });
});

describe('contacts --help', () => {
  it('says what each verb does, and documents --force, --policy, the safety exclusions and Zoho\'s export', async () => {
    const both = await h.run(['contacts', '--help']);
    expect(both.code, show(both)).toBe(0);
    expect(both.stdout).toMatch(/^ {2}activate +Marks the contacts active again/m);
    expect(both.stdout).toMatch(/^ {2}deactivate +Marks the contacts inactive, except those the safety exclusions keep/m);
    expect(both.stdout).not.toMatch(/^Marks the contacts inactive/m);
    for (const text of ['--force', '--policy FILE', 'Safety exclusions', 'forced past the safety exclusions', "Zoho Books' own contact", 'Contact ID', 'Display Name', '";" or a tab', 'Exit codes']) {
      expect(both.stdout, text).toContain(text);
    }
    // Each verb's own help speaks of that verb only; activating has no safety exclusions to override.
    const on = await h.run(['contacts', 'activate', '--help']);
    expect(on.code, show(on)).toBe(0);
    expect(on.stdout).toContain('Usage: sunset contacts activate CONTACT_ID...');
    expect(on.stdout).not.toContain('Marks the contacts inactive');
    expect(on.stdout).not.toContain('--force');
    const off = await h.run(['contacts', 'deactivate', '--help']);
    expect(off.stdout).toContain('Usage: sunset contacts deactivate CONTACT_ID...');
    expect(off.stdout).toContain('--force');
    expect(off.stdout).not.toContain('Marks the contacts active');
  });
});
