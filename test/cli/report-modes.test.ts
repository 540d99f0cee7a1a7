/**
 * Reports and exports are owner-only (0600), like the journal: the HTML and CSV plan reports, the
 * audit export (CSV and JSON) and the demo's report hold customer names and amounts. A new file is
 * created 0600; a file the user points at that others could read (0644, 0666) is made 0600 before
 * the new content goes in, and holds exactly the new content afterwards. Something that is not a
 * regular file (/dev/null) is written as before. The built CLI against a `sunset emulator start`
 * subprocess, files in a temp dir.
 */
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type EmulatorProcess, type Exit } from '../helpers/cli.js';

const h = createHarness();
afterAll(async () => h.cleanupAll());

const FAST = ['--per-minute', '6000', '--daily', '100000'];
/** Longer than any new content below, so leftovers of it would show. */
const OLD = `old content that must not survive ${'x'.repeat(200_000)}\n`;

let emu: EmulatorProcess;
let dir: string;
let env: Record<string, string>;

const cli = (args: string[]): Promise<Exit> => h.run(args, { cwd: dir, env, timeoutMs: 90_000 });

function ok(exit: Exit): Exit {
  expect(exit.code, `code ${exit.code}, signal ${exit.signal}\nstdout: ${exit.stdout.slice(-2000)}\nstderr: ${exit.stderr.slice(-2000)}`).toBe(0);
  return exit;
}

function modeOf(file: string): number {
  return statSync(join(dir, file)).mode & 0o777;
}

/** A file that exists before the command, with content and a mode others can read. */
function existing(file: string, mode = 0o644): string {
  writeFileSync(join(dir, file), OLD);
  chmodSync(join(dir, file), mode);
  expect(modeOf(file)).toBe(mode);
  return file;
}

beforeAll(async () => {
  emu = await h.startEmulator(['--contacts', '60', ...FAST], true);
  dir = h.temp('sunset-report-modes-', true);
  env = { SUNSET_HOME: join(dir, 'home'), SUNSET_EMULATOR_URL: emu.origin };
  ok(await cli(['policy', 'init', 'policy.yaml', '--org', emu.organizations[0]!]));
  ok(await cli(['scan', '--policy', 'policy.yaml']));
});

describe('reports are owner-only', () => {
  it('plan --html F --csv G: new files are 0600', async () => {
    ok(await cli(['plan', '--policy', 'policy.yaml', '--html', 'report.html', '--csv', 'plan.csv']));
    expect([modeOf('report.html'), modeOf('plan.csv')]).toEqual([0o600, 0o600]);
    expect(readFileSync(join(dir, 'report.html'), 'utf8').toLowerCase()).toContain('<!doctype html>');
  });

  it('plan --html F --csv G over files others could read (0644, 0666): made 0600, holding only the new report', async () => {
    const html = existing('old-report.html');
    const csv = existing('old-plan.csv', 0o666);
    ok(await cli(['plan', '--policy', 'policy.yaml', '--html', html, '--csv', csv]));
    expect([modeOf(html), modeOf(csv)]).toEqual([0o600, 0o600]);
    const htmlText = readFileSync(join(dir, html), 'utf8');
    expect(htmlText.toLowerCase().startsWith('<!doctype html>')).toBe(true);
    expect(htmlText).not.toContain('old content');
    const csvText = readFileSync(join(dir, csv), 'utf8');
    expect(csvText).toBe(readFileSync(join(dir, 'plan.csv'), 'utf8'));
  });

  it('audit --output F (CSV and JSON), new and existing 0644: 0600, holding exactly the export', async () => {
    const shown = ok(await cli(['audit', '--format', 'json'])).stdout;
    ok(await cli(['audit', '--output', 'audit.csv']));
    const json = existing('audit.json');
    ok(await cli(['audit', '--format', 'json', '--output', json]));
    expect([modeOf('audit.csv'), modeOf(json)]).toEqual([0o600, 0o600]);
    expect(readFileSync(join(dir, json), 'utf8')).toBe(shown);
    expect(readFileSync(join(dir, 'audit.csv'), 'utf8')).toMatch(/^who,when,organization_id,/);
  });

  it('audit --output /dev/null still works, and leaves its mode alone (not a regular file: written as it is)', async () => {
    const before = statSync('/dev/null').mode & 0o777;
    const exit = ok(await cli(['audit', '--output', '/dev/null']));
    expect(exit.stderr).toContain('written to /dev/null');
    expect(statSync('/dev/null').mode & 0o777).toBe(before);
  });

  it('demo --report F over an existing 0644 file: 0600, holding only the new report', async () => {
    const report = existing('demo-report.html');
    ok(await cli(['demo', '--contacts', '50', '--report', report]));
    expect(modeOf(report)).toBe(0o600);
    const text = readFileSync(join(dir, report), 'utf8');
    expect(text.toLowerCase().startsWith('<!doctype html>')).toBe(true);
    expect(text).not.toContain('old content');
  });
});
