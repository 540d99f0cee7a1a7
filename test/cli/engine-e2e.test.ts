/**
 * End-to-end tests of the engine commands: the built CLI (dist/cli/main.js) runs as real
 * subprocesses against `sunset emulator start --port 0 --json` subprocesses, over real HTTP, with
 * journals and homes in temp dirs. What Zoho ends up holding is read back through the emulator's
 * Books API (GET /contacts) and its request log (GET /__emulator/requests); readiness is read from
 * output or polled from the request log, never slept for. Every child is killed after each test.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanRefusal, createHarness, deactivatable, parseCsvText, pollUntil, type EmulatorProcess, type Exit } from '../helpers/cli.js';

const h = createHarness();
afterEach(async () => h.cleanup());
afterAll(async () => h.cleanupAll());

/** The emulator's limits raised, as the demo does; the CLI's own client still paces itself. */
const FAST = ['--per-minute', '6000', '--daily', '100000'];

function show(exit: Exit): string {
  return `code ${exit.code}, signal ${exit.signal}\nstdout: ${exit.stdout.slice(-3000)}\nstderr: ${exit.stderr.slice(-3000)}`;
}

/** The run id from `Run RUN started.` on stderr. */
function startedRun(exit: Exit): string {
  const m = /Run (run-\S+?) (?:\(undo of \S+\) )?started\./.exec(exit.stderr);
  if (!m) throw new Error(`no "Run ... started" line:\n${show(exit)}`);
  return m[1]!;
}

interface PlanDocument {
  version: number;
  planId: string;
  organizationId: string;
  snapshotId: string;
  summary: { steps: { deactivate: number; activate: number }; dormant: number; excluded: Record<string, number> };
  steps: Array<{ contactId: string; contactName: string; contactType: string; action: string; reason: string; evidence: { status: string } }>;
}

interface RunShow {
  run: { runId: string; state: string; kind: string; undoOf: string | null; organizationId: string; planId: string | null };
  counts: { total: number; pending: number; inFlight: number; changed: number; unchanged: number; skipped: number; failed: number };
  steps: Array<{ contactId: string; state: string; outcome: string | null; skipReason: string | null; lastError: string | null }>;
}

interface AuditRow {
  who: string; when: string; organization_id: string; run_id: string; run_kind: string; contact_id: string; contact_name: string; from: string; to: string; why: string;
}

const AUDIT_HEADER = ['who', 'when', 'organization_id', 'run_id', 'run_kind', 'contact_id', 'contact_name', 'from', 'to', 'why'];

/** Successful status changes in the request log after `since`: contact → how many, per target. */
async function successes(emu: EmulatorProcess, since: number, to: 'active' | 'inactive'): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const p of await emu.statusPosts(since)) if (p.to === to && p.code === 0) counts.set(p.contactId, (counts.get(p.contactId) ?? 0) + 1);
  return counts;
}

/** Asserts the organization now differs from `before` exactly by `changed` (contact → new status). */
async function expectStatuses(emu: EmulatorProcess, before: Map<string, string>, changed: Map<string, string>, organization = emu.organization): Promise<Map<string, 'active' | 'inactive'>> {
  const after = await emu.statuses(organization);
  expect(after.size).toBe(before.size);
  const wrong: string[] = [];
  for (const [id, status] of after) {
    const expected = changed.get(id) ?? before.get(id);
    if (status !== expected) wrong.push(`${id}: ${status}, expected ${expected}`);
  }
  expect(wrong).toEqual([]);
  return after;
}

function policyText(organization: string, lines: string[]): string {
  return [`organization_id: "${organization}"`, 'inactivity: 24 months', ...lines, ''].join('\n');
}

describe('the whole story through the CLI, with credentials from `auth login --emulator`', () => {
  let emu: EmulatorProcess;
  let dir: string;
  let env: Record<string, string>;
  let plan: PlanDocument;
  let runId: string;
  let beforeApply: Map<string, 'active' | 'inactive'>;
  const cli = (args: string[], timeoutMs = 90_000): Promise<Exit> => h.run(args, { cwd: dir, env, timeoutMs });

  beforeAll(async () => {
    emu = await h.startEmulator(['--contacts', '120', ...FAST], true);
    dir = h.temp('sunset-story-', true);
    // No SUNSET_EMULATOR_URL: the commands reach the emulator through the stored credentials.
    env = { SUNSET_HOME: join(dir, 'home') };
  });

  it('auth login --emulator stores owner-only credentials; auth status names the target and no secret', async () => {
    const login = await cli(['auth', 'login', '--emulator', emu.origin, '--org', emu.organization]);
    expect(login.code, show(login)).toBe(0);
    expect(login.stdout).toContain('owner-only');
    const file = join(dir, 'home', 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { refreshToken: string; clientSecret: string; organizationId: string };
    expect(stored.refreshToken).toBe(emu.info.refreshToken);
    expect(stored.organizationId).toBe(emu.organization);

    const status = await cli(['auth', 'status']);
    expect(status.code, show(status)).toBe(0);
    expect(status.stdout).toContain(`the emulator at ${emu.origin}`);
    expect(status.stdout).toMatch(new RegExp(`organization\\s+${emu.organization}`));
    for (const secret of [emu.info.clientSecret, emu.info.refreshToken, emu.info.clientId]) {
      expect(status.stdout + status.stderr).not.toContain(secret);
      expect(login.stdout + login.stderr).not.toContain(secret);
    }
  });

  it('policy init writes a valid policy for the organization (and will not overwrite it)', async () => {
    const init = await cli(['policy', 'init', 'policy.yaml']);
    expect(init.code, show(init)).toBe(0);
    expect(init.stdout).toContain(`for organization ${emu.organization}`);
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    expect(text).toContain(`organization_id: "${emu.organization}"`);
    expect(text).toMatch(/^max_changes: 1000$/m);

    const again = await cli(['policy', 'init', 'policy.yaml']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('--force');
    expect(readFileSync(join(dir, 'policy.yaml'), 'utf8')).toBe(text);

    // A short run: the cap keeps the story quick (the client paces itself at Zoho's 100 calls a minute).
    writeFileSync(join(dir, 'policy.yaml'), text.replace(/^max_changes: 1000$/m, 'max_changes: 6'));
  });

  it('scan reads the organization into a snapshot and says how many API calls it used', async () => {
    const seq = await emu.seq();
    const scan = await cli(['scan', '--policy', 'policy.yaml']);
    expect(scan.code, show(scan)).toBe(0);
    const logged = (await emu.requests(seq)).filter((r) => r.path.startsWith('/books/v3/') && r.path !== '/books/v3/organizations');
    expect(scan.stdout).toMatch(new RegExp(`^Snapshot snap-\\S+ of organization ${emu.organization}`, 'm'));
    const active = [...(await emu.statuses()).values()].filter((s) => s === 'active').length;
    expect(scan.stdout).toMatch(new RegExp(`contacts read\\s+${active} \\(active only\\)`));
    const calls = Number(/API calls\s+(\d+)/.exec(scan.stdout)?.[1]);
    expect(calls).toBeGreaterThan(0);
    // Pages of 200, never a call per contact; and the count printed is the count made (with the
    // scan's own read of the organization's name and currency, for the reports).
    expect(calls).toBe(logged.length + 1);
    expect(calls).toBeLessThan(active);
    expect(logged.every((r) => r.method === 'GET')).toBe(true);
  });

  it('plan writes the plan as JSON, CSV and a self-contained HTML report', async () => {
    const out = await cli(['plan', '--policy', 'policy.yaml', '--csv', 'plan.csv', '--html', 'plan.html', '--json']);
    expect(out.code, show(out)).toBe(0);
    plan = JSON.parse(out.stdout) as PlanDocument;
    expect(plan.version).toBe(1);
    expect(plan.organizationId).toBe(emu.organization);
    expect(plan.planId).toMatch(/^plan_/);
    expect(plan.steps).toHaveLength(6);
    expect(plan.summary.steps).toEqual({ deactivate: 6, activate: 0 });
    expect(plan.summary.excluded.cap).toBeGreaterThan(0);
    const statuses = await emu.statuses();
    for (const step of plan.steps) {
      expect(step.contactId).toMatch(/^\d{15,19}$/);
      expect(step.action).toBe('deactivate');
      expect(step.reason.length).toBeGreaterThan(0);
      expect(step.evidence.status).toBe('active');
      expect(statuses.get(step.contactId)).toBe('active');
    }

    const csv = parseCsvText(readFileSync(join(dir, 'plan.csv'), 'utf8'));
    const header = csv[0]!;
    expect(header.slice(0, 4)).toEqual(['contact_id', 'contact_name', 'contact_type', 'effect']);
    const deactivations = csv.slice(1).filter((row) => row[header.indexOf('effect')] === 'deactivate');
    expect(deactivations.map((row) => row[0]).sort()).toEqual(plan.steps.map((s) => s.contactId).sort());

    const html = readFileSync(join(dir, 'plan.html'), 'utf8');
    expect(html.slice(0, 200).toLowerCase()).toContain('<!doctype html>');
    expect(html).toContain(plan.planId);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<link\b|<img\b|\bsrc\s*=|@import|url\(\s*['"]?\/\//i);
  });

  it('apply --yes marks exactly the planned contacts inactive, one successful call each', async () => {
    beforeApply = await emu.statuses();
    const seq = await emu.seq();
    const apply = await cli(['apply', '--yes', '--actor', 'E2E Tester']);
    expect(apply.code, show(apply)).toBe(0);
    runId = startedRun(apply);
    expect(apply.stdout).toContain(`Sunset run ${runId}`);
    expect(apply.stdout).toMatch(/changed\s+6\b/);

    for (const step of plan.steps) expect(await emu.status(step.contactId)).toBe('inactive');
    await expectStatuses(emu, beforeApply, new Map(plan.steps.map((s) => [s.contactId, 'inactive'])));
    const posts = await emu.statusPosts(seq);
    expect(posts.every((p) => p.to === 'inactive' && p.code === 0)).toBe(true);
    const done = await successes(emu, seq, 'inactive');
    expect([...done.keys()].sort()).toEqual(plan.steps.map((s) => s.contactId).sort());
    expect([...done.values()].every((n) => n === 1)).toBe(true);
  });

  it('runs lists the run and runs show tells its counts (text and JSON)', async () => {
    const list = await cli(['runs']);
    expect(list.code, show(list)).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${runId}\\s+plan\\s+${emu.organization}\\s+done\\s+\\S+ \\S+\\s+6\\s+6\\s+0\\s+0\\s+0\\s+0$`, 'm'));

    const text = await cli(['runs', 'show', runId]);
    expect(text.code, show(text)).toBe(0);
    expect(text.stdout).toContain(`Sunset run ${runId}`);
    expect(text.stdout).toContain(plan.planId);
    expect(text.stdout).toContain('E2E Tester');
    expect(text.stdout).toMatch(/changed\s+6\b/);
    expect(text.stdout).toMatch(/in flight\s+0\b/);

    const json = await cli(['runs', 'show', runId, '--json']);
    expect(json.code, show(json)).toBe(0);
    const shown = JSON.parse(json.stdout) as RunShow;
    expect(shown.run).toMatchObject({ runId, state: 'done', kind: 'plan', organizationId: emu.organization, planId: plan.planId });
    expect(shown.counts).toEqual({ total: 6, pending: 0, inFlight: 0, changed: 6, unchanged: 0, skipped: 0, failed: 0 });
    // Every field is "label  value", the organization too.
    expect(text.stdout).toMatch(new RegExp(`^\\s+organization\\s+${emu.organization}$`, 'm'));
  });

  it('audit exports one row per change (who, when, contact, from, to, why) as CSV and as JSON', async () => {
    const csvOut = await cli(['audit', '--format', 'csv']);
    expect(csvOut.code, show(csvOut)).toBe(0);
    const rows = parseCsvText(csvOut.stdout);
    expect(rows[0]).toEqual(AUDIT_HEADER);
    const records = rows.slice(1).map((r) => Object.fromEntries(AUDIT_HEADER.map((k, i) => [k, r[i]])) as unknown as AuditRow);
    expect(records).toHaveLength(plan.steps.length);

    const jsonOut = await cli(['audit', '--format', 'json']);
    expect(jsonOut.code, show(jsonOut)).toBe(0);
    const json = JSON.parse(jsonOut.stdout) as AuditRow[];
    expect(json).toEqual(records);

    const byContact = new Map(records.map((r) => [r.contact_id, r]));
    expect([...byContact.keys()].sort()).toEqual(plan.steps.map((s) => s.contactId).sort());
    for (const step of plan.steps) {
      const row = byContact.get(step.contactId)!;
      expect(row).toMatchObject({ who: 'E2E Tester', organization_id: emu.organization, run_id: runId, run_kind: 'plan', contact_name: step.contactName, from: 'active', to: 'inactive', why: step.reason });
      expect(row.when).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  });

  it('verify RUN proves no history was lost', async () => {
    const verify = await cli(['verify', runId]);
    expect(verify.code, show(verify)).toBe(0);
    expect(verify.stdout).toContain(`Verified run ${runId}`);
    expect(verify.stdout).toContain('No history was lost');
  });

  it('undo RUN --yes makes the contacts active again, one call each, as a new run', async () => {
    const seq = await emu.seq();
    const undo = await cli(['undo', runId, '--yes']);
    expect(undo.code, show(undo)).toBe(0);
    const undoId = startedRun(undo);
    expect(undoId).not.toBe(runId);
    for (const step of plan.steps) expect(await emu.status(step.contactId)).toBe('active');
    await expectStatuses(emu, beforeApply, new Map());
    expect((await emu.statusPosts(seq)).filter((p) => p.to === 'inactive')).toEqual([]);
    const done = await successes(emu, seq, 'active');
    expect([...done.keys()].sort()).toEqual(plan.steps.map((s) => s.contactId).sort());
    expect([...done.values()].every((n) => n === 1)).toBe(true);

    const shown = JSON.parse((await cli(['runs', 'show', undoId, '--json'])).stdout) as RunShow;
    expect(shown.run).toMatchObject({ kind: 'undo', undoOf: runId, state: 'done' });
    expect(shown.counts.changed).toBe(6);
    const audit = JSON.parse((await cli(['audit', '--format', 'json', '--run', undoId])).stdout) as AuditRow[];
    expect(audit).toHaveLength(6);
    expect(audit.every((r) => r.run_kind === 'undo' && r.from === 'inactive' && r.to === 'active')).toBe(true);
  });

  it('contacts deactivate ID ID --yes and contacts activate --from FILE.csv --yes', async () => {
    const before = await emu.statuses();
    const planned = new Set(plan.steps.map((s) => s.contactId));
    // Clear of the safety exclusions, which `contacts deactivate` applies as a plan does.
    const picks = (await emu.contacts()).filter((c) => deactivatable(c) && !planned.has(c.contact_id)).slice(0, 2).map((c) => c.contact_id);
    expect(picks).toHaveLength(2);

    let seq = await emu.seq();
    const off = await cli(['contacts', 'deactivate', picks[0]!, picks[1]!, '--yes', '--reason', 'closed by request']);
    expect(off.code, show(off)).toBe(0);
    const offRun = startedRun(off);
    await expectStatuses(emu, before, new Map(picks.map((id) => [id, 'inactive'])));
    expect([...(await successes(emu, seq, 'inactive'))].sort()).toEqual(picks.map((id) => [id, 1]).sort());
    const audit = JSON.parse((await cli(['audit', '--format', 'json', '--run', offRun])).stdout) as AuditRow[];
    expect(audit.map((r) => [r.contact_id, r.run_kind, r.to, r.why]).sort()).toEqual(picks.map((id) => [id, 'manual', 'inactive', 'closed by request']).sort());

    writeFileSync(join(dir, 'back.csv'), `contact_id,contact_name,reason\r\n${picks[0]},"First, Ltd","came back"\r\n${picks[1]},,"came back"\r\n`);
    seq = await emu.seq();
    const on = await cli(['contacts', 'activate', '--from', 'back.csv', '--yes']);
    expect(on.code, show(on)).toBe(0);
    await expectStatuses(emu, before, new Map());
    expect([...(await successes(emu, seq, 'active'))].sort()).toEqual(picks.map((id) => [id, 1]).sort());
    expect((await emu.statusPosts(seq)).filter((p) => p.to === 'inactive')).toEqual([]);
  });
});

describe('revalidation through the CLI', () => {
  it('a planned customer who trades after the plan is skipped by apply, with the reason in runs show', async () => {
    const emu = await h.startEmulator(['--contacts', '120', ...FAST]);
    const dir = h.temp();
    const env = { SUNSET_HOME: join(dir, 'home'), SUNSET_EMULATOR_URL: emu.origin };
    const cli = (args: string[]): Promise<Exit> => h.run([...args, '--db', join(dir, 'j.db')], { cwd: dir, env });
    writeFileSync(join(dir, 'p.yaml'), policyText(emu.organization, ['filters:', '  contact_type: [customer]', 'max_changes: 5']));

    expect((await cli(['scan', '--policy', 'p.yaml'])).code).toBe(0);
    const planned = await cli(['plan', '--policy', 'p.yaml', '--json']);
    expect(planned.code, show(planned)).toBe(0);
    const plan = JSON.parse(planned.stdout) as PlanDocument;
    expect(plan.steps).toHaveLength(5);
    const trader = plan.steps[1]!;
    expect(trader.contactType).toBe('customer');

    // Meanwhile the customer places an order.
    const invoice = await emu.books<{ code: number }>('POST', '/invoices', { organization_id: emu.organization }, {
      customer_id: trader.contactId, line_items: [{ name: 'Comeback order', rate: 250, quantity: 1 }],
    });
    expect(invoice.body.code).toBe(0);

    const before = await emu.statuses();
    const seq = await emu.seq();
    const apply = await cli(['apply', plan.planId, '--yes']);
    expect(apply.code, show(apply)).toBe(0);
    const runId = startedRun(apply);

    const others = plan.steps.filter((s) => s.contactId !== trader.contactId);
    await expectStatuses(emu, before, new Map(others.map((s) => [s.contactId, 'inactive'])));
    expect(await emu.status(trader.contactId)).toBe('active');
    expect((await emu.statusPosts(seq)).filter((p) => p.contactId === trader.contactId)).toEqual([]);

    const text = await cli(['runs', 'show', runId]);
    expect(text.code, show(text)).toBe(0);
    expect(text.stdout).toMatch(/skipped\s+1\b/);
    expect(text.stdout).toMatch(/Skipped \(1\)/);
    expect(text.stdout).toContain(trader.contactId);
    expect(text.stdout).toMatch(/since the snapshot/);
    const shown = JSON.parse((await cli(['runs', 'show', runId, '--json'])).stdout) as RunShow;
    expect(shown.counts).toMatchObject({ total: 5, changed: 4, skipped: 1, failed: 0, pending: 0, inFlight: 0 });
    const skipped = shown.steps.find((s) => s.contactId === trader.contactId)!;
    expect(skipped.state).toBe('skipped');
    expect(skipped.skipReason).toMatch(/traded since the snapshot|balance changed since the snapshot/);
  });
});

describe('refusals: bad input is refused as a whole, before any change', () => {
  let emu: EmulatorProcess;
  let dir: string;
  /** Full-access credentials (auth login), default organization the first. */
  let env: Record<string, string>;
  let plan1: PlanDocument;
  let plan2: PlanDocument;
  let ids: string[];
  let start: number;
  let before1: Map<string, 'active' | 'inactive'>;
  let before2: Map<string, 'active' | 'inactive'>;
  const cli = (args: string[], extraEnv: Record<string, string> = {}): Promise<Exit> =>
    h.run([...args, '--db', join(dir, 'sunset.db')], { cwd: dir, env: { ...env, ...extraEnv }, timeoutMs: 60_000 });
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return name;
  };

  /** Runs a command that must be refused: its exit code, a clean message, and no status change in Zoho. */
  async function refused(args: string[], exitCode: number, extraEnv: Record<string, string> = {}): Promise<string> {
    const seq = await emu.seq();
    const exit = await cli(args, extraEnv);
    expect(exit.code, show(exit)).toBe(exitCode);
    expect(cleanRefusal(exit), show(exit)).toEqual([]);
    expect(await emu.statusPosts(seq)).toEqual([]);
    return exit.stderr;
  }

  beforeAll(async () => {
    emu = await h.startEmulator(['--contacts', '120', ...FAST], true);
    dir = h.temp('sunset-refusals-', true);
    env = { SUNSET_HOME: join(dir, 'home') };
    const login = await h.run(['auth', 'login', '--emulator', emu.origin, '--org', emu.organization], { cwd: dir, env });
    expect(login.code, show(login)).toBe(0);
    const [org1, org2] = emu.organizations as [string, string];
    file('p1.yaml', policyText(org1, ['max_changes: 5']));
    file('p2.yaml', policyText(org2, ['max_changes: 5']));
    for (const p of ['p1.yaml', 'p2.yaml']) expect((await cli(['scan', '--policy', p, '--quiet'])).code).toBe(0);
    plan1 = JSON.parse((await cli(['plan', '--policy', 'p1.yaml', '--json'])).stdout) as PlanDocument;
    plan2 = JSON.parse((await cli(['plan', '--policy', 'p2.yaml', '--json'])).stdout) as PlanDocument;
    expect(plan1.organizationId).toBe(org1);
    expect(plan2.organizationId).toBe(org2);
    expect(plan1.steps.length).toBeGreaterThan(0);
    expect(plan2.steps.length).toBeGreaterThan(0);
    ids = plan1.steps.map((s) => s.contactId);
    before1 = await emu.statuses(org1);
    before2 = await emu.statuses(org2);
    start = await emu.seq();
  });

  it('a malformed policy names FILE:LINE:COL (YAML and JSON), for scan and plan', async () => {
    const yaml = file('dup.yaml', `organization_id: "${emu.organization}"\ninactivity: 24 months\nsafety:\n  open_balance: true\ninactivity: 12 months\n`);
    for (const command of ['scan', 'plan']) {
      const err = await refused([command, '--policy', yaml], 2);
      expect(err).toContain('nothing was done');
      expect(err).toMatch(/dup\.yaml:5:1: .*unique/);
    }
    const json = file('policy.json', `{"organization_id": "${emu.organization}",\n "inactivity": "24 months",,\n "max_changes": 5}\n`);
    expect(await refused(['scan', '--policy', json], 2)).toMatch(/policy\.json:2:\d+: not valid YAML or JSON/);
  });

  it('an unknown key is refused with a suggestion', async () => {
    const name = file('typo.yaml', `organization_id: "${emu.organization}"\ninactivity: 24 months\nsafety:\n  open_balanse: true\n`);
    const err = await refused(['scan', '--policy', name], 2);
    expect(err).toContain('typo.yaml:4:3: safety.open_balanse: unknown key "open_balanse" (did you mean "open_balance"?)');
  });

  it('an unquoted numeric id is refused, with the quoted form to write', async () => {
    const name = file('unquoted.yaml', `organization_id: ${emu.organization}\ninactivity: 24 months\nfilters:\n  deny: [${ids[0]}]\n`);
    const err = await refused(['plan', '--policy', name], 2);
    expect(err).toContain(`unquoted.yaml:1:18: organization_id: an organization id must be quoted: write "${emu.organization}"`);
    expect(err).toMatch(new RegExp(`unquoted\\.yaml:4:10: filters\\.deny\\[0\\]: .*must be quoted: write "${ids[0]}"`));
  });

  it('a malformed CSV is refused with its line number', async () => {
    const name = file('broken.csv', `contact_id,reason\n${ids[0]},ok\n${ids[1]},"never closed\n`);
    const err = await refused(['contacts', 'deactivate', '--from', name, '--yes'], 2);
    expect(err).toContain('nothing was changed');
    expect(err).toContain('broken.csv:3: not valid CSV: a quoted cell is never closed');
  });

  it('a CSV with a bad id on line 4 is refused as a whole (the good lines are not applied)', async () => {
    const name = file('bad-id.csv', `contact_id,contact_name\n${ids[0]},A\n${ids[1]},B\n12ab,C\n${ids[2]},D\n`);
    const err = await refused(['contacts', 'deactivate', '--from', name, '--yes'], 2);
    expect(err).toContain('bad-id.csv:4: "12ab" is not a Zoho contact id');
    expect(err).not.toMatch(/bad-id\.csv:[2356]:/);
  });

  it('conflicting actions in a CSV are refused', async () => {
    const name = file('conflict.csv', `contact_id,action\n${ids[0]},deactivate\n${ids[1]},activate\n`);
    const err = await refused(['contacts', 'deactivate', '--from', name, '--yes'], 2);
    expect(err).toContain('conflict.csv:3: action activate contradicts the command (deactivate)');
  });

  it('a bad contact id on the command line is refused, and the good ones are not applied', async () => {
    const err = await refused(['contacts', 'deactivate', ids[0]!, '12345', ids[1]!, '--yes'], 2);
    expect(err).toContain('"12345"');
    expect(err).toContain('Nothing was changed');
    expect(err).not.toContain(ids[0]!);
  });

  it('an unknown run is refused by undo, apply --resume, verify and runs show (exit 3, not found)', async () => {
    const unknown = 'run-20000101-000000-dead';
    for (const args of [['undo', unknown, '--yes'], ['apply', '--resume', unknown, '--yes'], ['verify', unknown], ['runs', 'show', unknown]]) {
      const err = await refused(args, 3);
      expect(err, args.join(' ')).toContain(`no run ${unknown}`);
    }
  });

  it('apply of an unknown plan is refused (also with --emulator URL; exit 3, not found)', async () => {
    expect(await refused(['apply', 'plan_0000000000000000', '--yes'], 3)).toContain('There is no plan plan_0000000000000000');
    expect(await refused(['apply', 'plan_0000000000000000', '--yes', '--emulator', emu.origin], 3)).toContain('There is no plan plan_0000000000000000');
  });

  it('apply without --yes when stdin is not a terminal asks for --yes and changes nothing', async () => {
    const err = await refused(['apply', plan1.planId], 2);
    expect(err).toContain('--yes');
    expect(err).toMatch(/nothing was changed/i);
    const runs = await cli(['runs', '--json']);
    expect(JSON.parse(runs.stdout)).toEqual([]);
  });

  it('--org naming an organization that does not exist is refused (exit 3, not found)', async () => {
    const err = await refused(['contacts', 'deactivate', ids[0]!, '--org', '999999999', '--yes'], 3);
    expect(err).toContain('Organization 999999999 is not reachable with these credentials');
    expect(err).toContain(emu.organization);
  });

  it('an organization the credentials cannot reach is refused (a grant limited to the first organization; exit 3, not found)', async () => {
    const [org1, org2] = emu.organizations as [string, string];
    const limited = await emu.limitedRefreshToken([org1]);
    h.secrets.add(limited);
    const home = join(dir, 'limited-home');
    const login = await h.run(['auth', 'login', '--emulator', emu.origin], { cwd: dir, env: { SUNSET_HOME: home } });
    expect(login.code, show(login)).toBe(0);
    // The same client, with the narrower grant's refresh token.
    const path = join(home, 'credentials.json');
    const stored = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...stored, refreshToken: limited, organizationId: org1 }), { mode: 0o600 });

    const limitedEnv = { SUNSET_HOME: home };
    const apply = await refused(['apply', plan2.planId, '--yes'], 3, limitedEnv);
    expect(apply).toContain(`Organization ${org2} is not reachable with these credentials`);
    const contacts = await refused(['contacts', 'deactivate', plan2.steps[0]!.contactId, '--org', org2, '--yes'], 3, limitedEnv);
    expect(contacts).toContain(`Organization ${org2} is not reachable`);
  });

  it('a plan made for one organization is refused for another (--org), and so is a scan with another --org', async () => {
    const [org1, org2] = emu.organizations as [string, string];
    const err = await refused(['apply', plan1.planId, '--org', org2, '--yes'], 1);
    expect(err).toContain(`Plan ${plan1.planId} was made for organization ${org1}, not ${org2}`);
    const scan = await refused(['scan', '--policy', 'p1.yaml', '--org', org2], 2);
    expect(scan).toContain(`differs from the policy's organization ${org1}`);
  });

  it('after all the refusals: no run was created and no contact changed in either organization', async () => {
    const runs = await cli(['runs', '--json']);
    expect(runs.code, show(runs)).toBe(0);
    expect(JSON.parse(runs.stdout)).toEqual([]);
    expect(await emu.statusPosts(start)).toEqual([]);
    await expectStatuses(emu, before1, new Map(), emu.organizations[0]);
    await expectStatuses(emu, before2, new Map(), emu.organizations[1]);
  });
});

describe('Ctrl-C during apply', () => {
  it('stops after the calls in flight (exit 130), says how to resume, and --resume finishes the plan', async () => {
    const emu = await h.startEmulator(['--contacts', '300', ...FAST]);
    const dir = h.temp();
    const db = join(dir, 'sunset.db');
    const env = { SUNSET_HOME: join(dir, 'home'), SUNSET_EMULATOR_URL: emu.origin };
    const cli = (args: string[]): Promise<Exit> => h.run([...args, '--db', db], { cwd: dir, env });
    writeFileSync(join(dir, 'p.yaml'), policyText(emu.organization, ['filters:', '  contact_type: [vendor]', 'max_changes: 15']));
    expect((await cli(['scan', '--policy', 'p.yaml', '--quiet'])).code).toBe(0);
    const plan = JSON.parse((await cli(['plan', '--policy', 'p.yaml', '--json'])).stdout) as PlanDocument;
    expect(plan.steps).toHaveLength(15);
    const planIds = plan.steps.map((s) => s.contactId).sort();
    const before = await emu.statuses();

    // Slow status changes, so the run is still going when Ctrl-C comes.
    const fault = await emu.admin('POST', '/__emulator/faults', { faults: ['latency:300,method=POST,path=/contacts/*/inactive'] });
    expect(fault.status).toBe(200);
    const seq = await emu.seq();
    const proc = h.spawn(['apply', plan.planId, '--yes', '--db', db], { cwd: dir, env });
    await pollUntil(async () => ((await successes(emu, seq, 'inactive')).size >= 2 ? true : undefined), 'two status changes in the request log');
    proc.kill('SIGINT');
    const exit = await proc.exited;
    expect(exit.signal, show(exit)).toBeNull();
    expect(exit.code, show(exit)).toBe(130);
    const runId = startedRun(exit);
    expect(exit.stderr).toContain('Stopping after the calls in flight');
    expect(exit.stderr).toContain(`sunset apply --resume ${runId}`);
    expect(exit.stderr).not.toMatch(/^\s+at /m);

    // Nothing half-done: no step in flight, and the journal's changes are exactly Zoho's.
    const paused = JSON.parse((await cli(['runs', 'show', runId, '--json'])).stdout) as RunShow;
    expect(paused.run.state).toBe('paused');
    expect(paused.counts.inFlight).toBe(0);
    expect(paused.counts.pending).toBeGreaterThan(0);
    const doneAtStop = await successes(emu, seq, 'inactive');
    expect(paused.steps.filter((s) => s.state === 'done').map((s) => s.contactId).sort()).toEqual([...doneAtStop.keys()].sort());
    expect(paused.counts.changed).toBe(doneAtStop.size);

    expect((await emu.admin('DELETE', '/__emulator/faults')).status).toBe(200);
    const resumed = await cli(['apply', '--resume', runId, '--yes']);
    expect(resumed.code, show(resumed)).toBe(0);
    const final = JSON.parse((await cli(['runs', 'show', runId, '--json'])).stdout) as RunShow;
    expect(final.run.state).toBe('done');
    expect(final.counts).toEqual({ total: 15, pending: 0, inFlight: 0, changed: 15, unchanged: 0, skipped: 0, failed: 0 });
    await expectStatuses(emu, before, new Map(planIds.map((id) => [id, 'inactive'])));
    const done = await successes(emu, seq, 'inactive');
    expect([...done.keys()].sort()).toEqual(planIds);
    expect([...done.values()].filter((n) => n !== 1)).toEqual([]);
  });
});

describe('sunset demo', () => {
  it('runs the six stages on the embedded emulator and writes the report to --report', async () => {
    const dir = h.temp();
    const report = join(dir, 'report.html');
    const demo = await h.run(['demo', '--contacts', '100', '--report', report], { cwd: dir, env: { SUNSET_HOME: join(dir, 'home') }, timeoutMs: 90_000 });
    expect(demo.code, show(demo)).toBe(0);
    const stages = ['Emulator', 'Scan', 'Plan', 'Apply', 'Verify', 'Undo'];
    const positions = stages.map((name, i) => demo.stdout.search(new RegExp(`^${i + 1}\\. ${name}\\b`, 'm')));
    expect(positions.every((p) => p >= 0), demo.stdout).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(demo.stdout).toMatch(/^5\. Verify\s+no history lost/m);
    expect(demo.stdout).toMatch(/^6\. Undo .*verify: no history lost/m);
    expect(demo.stdout).toContain('emulator ledger consistent: yes');
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html.toLowerCase()).toContain('<!doctype html>');
    expect(html).not.toMatch(/https?:\/\//i);
  });
});

describe('many commands against one running emulator', () => {
  it('a dozen commands in a row with --emulator URL all succeed (each must not spend one of Zoho\'s 10 token refreshes per 10 minutes)', async () => {
    const emu = await h.startEmulator(['--contacts', '50', ...FAST]);
    const dir = h.temp();
    for (let i = 1; i <= 12; i++) {
      // A command that has not ended in 20 s is waiting out the refresh limit (up to 10 minutes).
      const exit = await h.run(['orgs', '--emulator', emu.origin, '--db', join(dir, 'sunset.db')], { cwd: dir, env: { SUNSET_HOME: join(dir, 'home') }, timeoutMs: 20_000 });
      expect(exit.signal, `command ${i} did not end by itself: ${show(exit)}`).toBeNull();
      expect(exit.code, `command ${i}: ${show(exit)}`).toBe(0);
      expect(exit.stdout).toContain(emu.organization);
    }
  }, 300_000);
});

describe('secrets', () => {
  it('no command in this file printed a client secret or a refresh token', () => {
    expect(h.commands.length).toBeGreaterThan(0);
    expect(h.secrets.size).toBeGreaterThan(0);
    const leaks: string[] = [];
    for (const { args, exit } of h.commands) {
      for (const secret of h.secrets) {
        if (exit.stdout.includes(secret) || exit.stderr.includes(secret)) leaks.push(`sunset ${args.join(' ')}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
