/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core, against the
 * in-process service and a real emulator over loopback HTTP (test/helpers/service.ts). One signed-in
 * page walks what an operator does: sign in, save the starter policy, scan and plan from the card,
 * review (search, filter, evidence), exclude a contact, approve, watch the run apply live, undo it,
 * read the audit trail, see a CRM event arrive, sign out. What changed in Books is judged from the
 * emulator (contact statuses and its request log), never from the page alone.
 *
 * `npm run screenshots` runs this file with SUNSET_SCREENSHOTS=docs/screenshots.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunFromPlan, withExclusions, type InMemoryPlan as Plan } from '../../src/engine/index.js';
import { describeLastActivity } from '../../src/engine/report/index.js';
import { browserUnavailable, launchBrowser, screenshot, watchErrors, type PageDocument } from '../helpers/browser.js';
import { successfulStatusChanges } from '../helpers/engine.js';
import { PASSWORD, policyFor, signHook, startTestService, USER, type SignedIn, type TestService } from '../helpers/service.js';

/** Only in functions that run in the page. */
declare const document: PageDocument;

const unavailable = browserUnavailable();

describe.skipIf(unavailable !== undefined)('the web UI in Chromium', () => {
  let s: TestService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let api: SignedIn;
  let plan: Plan;
  let excludedId = '';
  let runId = '';
  let undoRunId = '';

  beforeAll(async () => {
    s = await startTestService({ contacts: 120, socket: true });
    api = await s.login();
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    errors = watchErrors(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  const url = (path: string): string => `${s.origin}${path}`;
  const text = async (testid: string): Promise<string> => (await page.getByTestId(testid).first().textContent()) ?? '';
  /** Scan and plan through the API, waiting for the job's end; the new plan. */
  const scanPlan = async (): Promise<Plan> => {
    const stream = await s.events(api);
    const scanned = await api.request<{ jobId: string }>('POST', `/api/orgs/${s.organization}/scan`);
    expect(scanned.status, scanned.text).toBe(202);
    const job = await stream.waitFor((e) => e.type === 'job' && e.data.jobId === scanned.json.jobId && e.data.state !== 'running', 'the scan ends');
    stream.close();
    expect(job.data.state, JSON.stringify(job.data)).toBe('done');
    return withExclusions(s.h.journal, (await s.h.journal.getPlan(String(job.data.planId)))!);
  };

  it('an anonymous visit lands on the sign-in page; a wrong password says so and signs nobody in', async () => {
    await page.goto(url('/#/runs'));
    expect(new URL(page.url()).pathname).toBe('/login');
    await expect.poll(() => page.getByTestId('login-error').isVisible()).toBe(false);
    await page.getByTestId('login-username').fill(USER);
    await page.getByTestId('login-password').fill('not the password at all');
    await page.getByTestId('login-submit').click();
    await page.waitForURL(/\/login\?error=1/);
    expect(await page.getByTestId('login-error').isVisible()).toBe(true);
    expect(await context.cookies()).toEqual([]);
  });

  it('signs in and lists every organization, each asking for a policy first', async () => {
    await page.getByTestId('login-username').fill(USER);
    await page.getByTestId('login-password').fill(PASSWORD);
    await screenshot(page, 'sign-in');
    await page.getByTestId('login-submit').click();
    await page.waitForURL(url('/#/'));
    await expect.poll(() => page.getByTestId('organization-card').count()).toBe(s.organizations.length);
    const ids = await page.getByTestId('organization-card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-organization-id')));
    expect(ids).toEqual(s.organizations);
    expect(await page.getByTestId('policy-first').count()).toBe(s.organizations.length);
    const cookie = (await context.cookies()).find((c) => c.name === 'sunset_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('a policy with a problem is refused with its line and nothing is saved; the starter policy saves', async () => {
    await page.getByTestId('organization-card').first().getByTestId('policy-first').click();
    await page.waitForURL(url(`/#/orgs/${s.organization}`));
    const editor = page.getByTestId('policy-editor');
    const starter = await editor.inputValue();
    expect(starter).toContain(`organization_id: "${s.organization}"`);
    expect(await text('policy-status')).toBe('Unsaved changes');

    await editor.fill(starter.replace('inactivity: 24 months', 'inactivity: a while'));
    await page.getByTestId('policy-save').click();
    await expect.poll(() => page.getByTestId('policy-problem').count()).toBeGreaterThan(0);
    const line = starter.split('\n').findIndex((l) => l.startsWith('inactivity:')) + 1;
    expect(await page.getByTestId('policy-problem').first().textContent()).toContain(`${line}`);
    expect(await text('policy-status')).toMatch(/Not saved/);
    expect((await s.h.journal.policy(s.organization))?.text ?? null).toBeNull();

    await page.getByTestId('policy-revert').click();
    expect(await editor.inputValue()).toBe(starter);
    await page.getByTestId('policy-save').click();
    await expect.poll(() => text('policy-status')).toMatch(/^Saved/);
    expect((await s.h.journal.policy(s.organization))?.text ?? null).toBe(starter);
    await screenshot(page, 'settings', { fullPage: true });
  });

  it('the cron helper says what is wrong with an invalid expression and explains a valid one as it is typed', async () => {
    const cronInput = page.getByTestId('schedule-cron');
    await expect.poll(() => text('cron-explain')).toMatch(/^No schedule/);
    // 02:61 is no time: the helper says so (from the parser Save uses) and explains nothing.
    await cronInput.pressSequentially('61 2 * * *');
    await expect.poll(() => text('cron-explain')).toBe('Not a valid cron expression: minute: 61 is outside 0-59.');
    expect(await page.getByTestId('cron-next').locator('time').count()).toBe(0);
    await cronInput.fill('30 6 * * 1-5');
    // In the organization's time zone, as Zoho gives it (Asia/Calcutta, written Asia/Kolkata).
    await expect.poll(() => text('cron-explain')).toBe('Every Monday to Friday at 06:30 Asia/Kolkata time.');
    await expect.poll(() => page.getByTestId('cron-next').locator('time').count()).toBe(3);
    const times = await page.getByTestId('cron-next').locator('time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime')));
    const cron = await api.get<{ next: number[] }>(`/api/cron?expr=${encodeURIComponent('30 6 * * 1-5')}&org=${s.organization}`);
    expect(times).toEqual(cron.json.next.map((t) => new Date(t).toISOString()));
    // Each next run in Kolkata's time (06:30), then in the reader's (this browser: UTC, 01:00).
    expect(await page.getByTestId('cron-next-zoned').allTextContents()).toEqual(Array(3).fill(expect.stringContaining('06:30')));
    expect(times.every((t) => t?.endsWith('T01:00:00.000Z'))).toBe(true);
    await cronInput.fill('');
    await expect.poll(() => text('cron-explain')).toMatch(/^No schedule/);
  });

  it('a saved schedule shows its next run, and no last run until a scheduled scan has run', async () => {
    expect(await text('schedule-last')).toBe('never');
    await page.getByTestId('schedule-cron').fill('0 2 * * *');
    await page.getByTestId('schedule-save').click();
    await expect.poll(() => text('schedule-status')).toBe('Saved.');
    // Saving is not running: the last run still says never (it showed the time of the save).
    expect(await text('schedule-last')).toBe('never');
    expect((await s.store.settings(s.organization)).cron).toBe('0 2 * * *');
    const view = (await api.get<Array<{ organizationId: string; schedule: { nextRunAt: number; lastRunAt: number | null } }>>('/api/orgs')).json.find((o) => o.organizationId === s.organization)!;
    expect(view.schedule.lastRunAt).toBeNull();
    expect(await page.getByTestId('schedule-next').locator('time').getAttribute('datetime')).toBe(new Date(view.schedule.nextRunAt).toISOString());
    // The next three runs, in the organization's time (02:00 in Kolkata) and the reader's (20:30 UTC the day before).
    expect(await text('schedule-timezone-zone')).toBe('Asia/Kolkata');
    expect(await page.getByTestId('schedule-timezone-problem').count()).toBe(0);
    const rows = page.getByTestId('schedule-runs-row');
    await expect.poll(() => rows.count()).toBe(3);
    const shown = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('time')].map((t) => [t.getAttribute('datetime'), t.textContent])));
    const nextRuns = (await api.get<Array<{ organizationId: string; schedule: { nextRuns: number[] } }>>('/api/orgs')).json.find((o) => o.organizationId === s.organization)!.schedule.nextRuns;
    expect(shown.map((row) => row.map(([iso]) => iso))).toEqual(nextRuns.map((t) => [new Date(t).toISOString(), new Date(t).toISOString()]));
    for (const [[, there], [, here]] of shown as Array<[[string, string], [string, string]]>) {
      expect(there).toContain('02:00');
      expect(here).toContain('20:30');
    }
  });

  it('scans and plans from the organization card, then opens the review page with every contact', async () => {
    await page.goto(url('/#/'));
    await page.getByTestId('organization-card').first().getByTestId('scan-button').click();
    const link = page.getByTestId('organization-card').first().getByTestId('job-plan-link');
    await link.waitFor();
    const planId = (await s.h.journal.latestPlan(s.organization))!.planId;
    expect(await link.getAttribute('href')).toBe(`#/plans/${planId}`);
    await screenshot(page, 'organizations');
    await link.click();
    plan = await withExclusions(s.h.journal, (await s.h.journal.getPlan(planId))!);
    expect(plan.steps.length).toBeGreaterThan(3);
    await expect.poll(() => page.getByTestId('plan-row').count()).toBeGreaterThan(0);
    const all = plan.steps.length + plan.excluded.length;
    expect(await text('count-total')).toBe(String(all));
    expect(await text('count-shown')).toBe(String(all));
    expect(await page.getByTestId('approve-button').textContent()).toBe(`Approve and apply ${plan.steps.length} changes`);
    await screenshot(page, 'plan-review');
  });

  it('search, the effect filter and a contact\'s evidence', async () => {
    const target = plan.steps[2]!;
    await page.getByTestId('plan-search').fill(target.contactId);
    await expect.poll(() => text('count-shown')).toBe('1');
    expect(await page.getByTestId('plan-row').first().textContent()).toContain(target.contactName);
    await page.getByTestId('plan-row').first().click();
    const panel = page.getByTestId('evidence-panel');
    await panel.waitFor();
    expect(await panel.textContent()).toContain(target.contactId);
    expect(await panel.textContent()).toContain(target.action);
    await page.getByTestId('evidence-close').click();
    await expect.poll(() => panel.isVisible()).toBe(false);

    await page.getByTestId('filter-clear').click();
    await page.getByTestId('filter-effect').selectOption('excluded');
    await expect.poll(() => text('count-shown')).toBe(String(plan.excluded.length));
    const effects = await page.getByTestId('plan-row').evaluateAll((rows) => rows.map((r) => r.textContent ?? ''));
    expect(effects.length).toBeGreaterThan(0);
    for (const row of effects) expect(row).toContain('excluded');
    await page.getByTestId('filter-clear').click();
    await expect.poll(() => text('count-shown')).toBe(String(plan.steps.length + plan.excluded.length));
  });

  it('the review table and the evidence say the last activity in the engine\'s words; sorting by it and the chart still work; no Zoho Books link on an emulator', async () => {
    const rows = (await api.get<{ columns: string[]; rows: unknown[][] }>(`/api/plans/${plan.planId}/rows`)).json;
    const words = new Map(rows.rows.map((r) => [String(r[0]), String(r[rows.columns.indexOf('lastActivity')])]));
    // A dormant contact that traded before the window: its last activity, not "none since" the cutoff.
    const traded = plan.steps.find((st) => st.evidence.lastActivityDate !== null)!;
    expect(traded, 'a step that traded years ago').toBeDefined();
    const tradedWords = describeLastActivity(traded.evidence);
    expect(words.get(traded.contactId)).toBe(tradedWords);
    expect(tradedWords).toMatch(new RegExp(`^[a-z ]+ \\S* ?on ${traded.evidence.lastActivityDate}$`));
    // The search is debounced: wait for the row itself, not for a count that may still be the last search's.
    const only = async (contactId: string): Promise<void> => {
      await page.getByTestId('plan-search').fill(contactId);
      await expect.poll(async () => (await page.getByTestId('plan-row').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-contact-id')))).join()).toBe(contactId);
      expect(await text('count-shown')).toBe('1');
    };
    await only(traded.contactId);
    expect(await page.getByTestId('plan-row').first().getByTestId('plan-last-activity').textContent()).toBe(tradedWords);
    await page.getByTestId('plan-row').first().click();
    const panel = page.getByTestId('evidence-panel');
    await panel.waitFor();
    const said = await text('evidence-last-activity');
    expect(said.startsWith(`${tradedWords}, `), said).toBe(true);
    expect(said).toMatch(/, \d+ months? before the scan$/);
    expect(await panel.textContent()).not.toContain('none since');
    // On an emulator there is no Zoho Books web app: no link at all rather than a dead one.
    expect(await panel.getByTestId('open-in-books').count()).toBe(0);
    expect(await panel.getByText('Open in Zoho Books').count()).toBe(0);
    await page.getByTestId('evidence-close').click();

    // One that never traded says so (it said "none since <cutoff>").
    const never = [...plan.steps, ...plan.excluded].find((c) => c.evidence.lastActivityDate === null)!;
    expect(never, 'a contact that never traded').toBeDefined();
    expect(describeLastActivity(never.evidence)).toBe('never traded');
    await only(never.contactId);
    expect(await page.getByTestId('plan-row').first().getByTestId('plan-last-activity').textContent()).toBe('never traded');
    await page.getByTestId('plan-row').first().click();
    await panel.waitFor();
    expect(await text('evidence-last-activity')).toBe('never traded');
    await page.getByTestId('evidence-close').click();
    await page.getByTestId('filter-clear').click();
    await expect.poll(() => text('count-shown')).toBe(String(plan.steps.length + plan.excluded.length));

    // Sorting by last activity still orders by its date (none first), both ways.
    const dateOf = new Map([...plan.steps, ...plan.excluded].map((c) => [c.contactId, c.evidence.lastActivityDate ?? '']));
    const shownDates = async (): Promise<string[]> => (await page.getByTestId('plan-row').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-contact-id') ?? ''))).map((id) => dateOf.get(id) ?? '?');
    await page.getByTestId('sort-lastActivity').click();
    const up = await shownDates();
    expect(up.length).toBeGreaterThan(5);
    expect(up).toEqual([...up].sort());
    expect(up[0]).toBe([...dateOf.values()].sort()[0]);
    for (const [i, tr] of (await page.getByTestId('plan-row').all()).slice(0, 5).entries()) {
      expect(await tr.getByTestId('plan-last-activity').textContent(), `row ${i}`).toBe(words.get((await tr.getAttribute('data-contact-id'))!));
    }
    await page.getByTestId('sort-lastActivity').click();
    const down = await shownDates();
    expect(down).toEqual([...down].sort().reverse());
    // The months-since chart: its bars still add up to the plan's deactivations.
    const bars = await page.getByTestId('histogram-chart').locator('g.bar').evaluateAll((gs) => gs.map((g) => Number(g.getAttribute('data-deactivate'))));
    expect(bars.length).toBeGreaterThan(0);
    expect(bars.reduce((a, b) => a + b, 0)).toBe(plan.steps.filter((st) => st.action === 'deactivate').length);
  });

  it('the review table from the keyboard: arrows, Home and End move the active row, Enter opens its evidence, Escape closes it, Space excludes and includes, / searches', async () => {
    const all = plan.steps.length + plan.excluded.length;
    await page.getByTestId('filter-clear').click();
    await expect.poll(() => text('count-shown')).toBe(String(all));
    const region = page.getByTestId('plan-table');
    // A table of every row for assistive technology, although only the rows in view are drawn.
    expect(await region.getAttribute('role')).toBe('region');
    expect(await region.locator('table').getAttribute('aria-rowcount')).toBe(String(all + 1));
    const active = region.locator('tr.active');
    await region.focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await active.getAttribute('aria-rowindex')).toBe('3');
    const id = (await active.getAttribute('data-contact-id'))!;
    await page.keyboard.press('Enter');
    const panel = page.getByTestId('evidence-panel');
    await expect.poll(() => panel.isVisible()).toBe(true);
    expect(await panel.textContent()).toContain(id);
    await page.keyboard.press('Escape');
    await expect.poll(() => panel.isVisible()).toBe(false);
    await page.keyboard.press('End');
    await expect.poll(() => active.getAttribute('aria-rowindex')).toBe(String(all + 1));
    await page.keyboard.press('Home');
    await expect.poll(() => active.getAttribute('aria-rowindex')).toBe('2');

    // Space on a step excludes it, and again includes it.
    await page.getByTestId('filter-effect').selectOption('deactivate');
    const deactivations = plan.steps.filter((st) => st.action === 'deactivate').length;
    await expect.poll(() => text('count-shown')).toBe(String(deactivations));
    await region.focus();
    await page.keyboard.press('ArrowDown');
    const step = (await active.getAttribute('data-contact-id'))!;
    await page.keyboard.press(' ');
    await expect.poll(() => text('count-excluded')).toBe('1');
    const row = region.locator(`tr[data-contact-id="${step}"]`);
    expect(await row.getAttribute('class')).toContain('row-excluded');
    expect(await row.getByTestId('exclude-checkbox').isChecked()).toBe(true);
    expect(await page.getByTestId('approve-button').textContent()).toBe(`Approve and apply ${plan.steps.length - 1} changes`);
    await page.keyboard.press(' ');
    await expect.poll(() => text('count-excluded')).toBe('0');
    expect(await row.getByTestId('exclude-checkbox').isChecked()).toBe(false);
    expect(await page.getByTestId('approve-button').textContent()).toBe(`Approve and apply ${plan.steps.length} changes`);

    // `/` goes to the search box.
    await page.keyboard.press('/');
    expect(await page.getByTestId('plan-search').evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await page.getByTestId('filter-clear').click();
    await expect.poll(() => text('count-shown')).toBe(String(all));
  });

  it('excludes one contact, approves, and the run page shows the apply live until done', async () => {
    const target = plan.steps[1]!;
    excludedId = target.contactId;
    await page.getByTestId('plan-search').fill(excludedId);
    await expect.poll(() => text('count-shown')).toBe('1');
    await page.getByTestId('plan-row').first().getByTestId('exclude-checkbox').check();
    await page.getByTestId('plan-search').fill('');
    const changes = plan.steps.length - 1;
    await expect.poll(() => page.getByTestId('approve-button').textContent()).toBe(`Approve and apply ${changes} changes`);
    expect(await text('count-excluded')).toContain('1');

    // Each status change takes 300 ms in the emulator, so the page has a run in progress to show.
    await s.h.t.admin('POST', '/__emulator/faults', { faults: ['latency:300,method=post,path=/contacts/*/inactive'] });
    const seq = await s.h.lastSeq();
    await page.getByTestId('approve-button').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    expect(await text('confirm-text')).toContain(`${changes} contacts will be made inactive`);
    expect(await text('confirm-text')).toContain(s.organization);
    await screenshot(page, 'approve');
    await page.getByTestId('confirm-ok').click();
    await page.waitForURL(/#\/runs\/run-/);
    runId = decodeURIComponent(page.url().split('#/runs/')[1]!);
    expect(await s.h.journal.getRun(runId)).toMatchObject({ planId: plan.planId, kind: 'plan', createdBy: USER });

    // Progress seen on the page between start and end (the page updates from the event stream).
    const seen = await page.waitForFunction(() => {
      const changed = Number(document.querySelector('[data-testid=run-count-changed]')?.textContent?.replace(/\D/g, '') || '0');
      return changed > 0 ? changed : null;
    });
    const firstSeen = Number(await seen.jsonValue());
    await screenshot(page, 'run-applying');
    await expect.poll(() => text('run-state'), { timeout: 60_000 }).toBe('done');
    expect(firstSeen).toBeLessThan(changes);
    await s.h.t.admin('DELETE', '/__emulator/faults');
    expect(await text('run-count-changed')).toBe(String(changes));
    expect(await text('run-count-failed')).toBe('0');
    await expect.poll(() => text('steps-count')).toBe(`${changes} steps`);
    // On an emulator the steps carry no link to a Zoho Books web app (there is none).
    expect(await page.getByTestId('run-steps').getByTestId('open-in-books').count()).toBe(0);
    expect(await page.getByTestId('run-steps').getByText('Zoho Books').count()).toBe(0);
    await screenshot(page, 'run-done');

    const changed = successfulStatusChanges(await s.h.requests({ since: seq }));
    expect(changed.has(excludedId)).toBe(false);
    expect(changed.size).toBe(changes);
    for (const [, statuses] of changed) expect(statuses).toEqual(['inactive']);
    expect(await s.status(excludedId)).toBe('active');
  });

  it('the approved plan\'s page says who approved it and when, and links its run, done', async () => {
    await page.goto(url(`/#/plans/${plan.planId}`));
    await expect.poll(() => text('plan-run-state')).toBe('done');
    const run = (await s.h.journal.getRun(runId))!;
    expect(await text('plan-approved-by')).toBe(USER);
    expect(await page.getByTestId('plan-approved-at').locator('time').getAttribute('datetime')).toBe(new Date(run.createdAt).toISOString());
    const changes = plan.steps.length - 1;
    expect(await text('plan-approved')).toContain(`${changes} of ${changes} steps finished, ${changes} changed`);
    expect(await page.getByTestId('plan-note').count(), 'no "Nothing has changed in Zoho Books yet"').toBe(0);
    expect(await page.getByText('Nothing has changed in Zoho Books yet').count()).toBe(0);
    await page.getByTestId('plan-approved-run').click();
    await page.waitForURL((u) => u.hash === `#/runs/${runId}`);
    await expect.poll(() => text('run-state')).toBe('done');
  });

  it('undo from the run page puts every changed contact back', async () => {
    const seq = await s.h.lastSeq();
    await page.getByTestId('run-undo').click();
    await page.getByTestId('confirm-dialog').waitFor();
    await page.getByTestId('confirm-ok').click();
    await page.waitForURL((u) => /#\/runs\/run-/.test(u.hash) && !u.hash.endsWith(encodeURIComponent(runId)) && !u.hash.endsWith(runId));
    undoRunId = decodeURIComponent(page.url().split('#/runs/')[1]!);
    expect(undoRunId).not.toBe(runId);
    await expect.poll(() => text('run-state'), { timeout: 60_000 }).toBe('done');
    expect(await s.h.journal.getRun(undoRunId)).toMatchObject({ kind: 'undo', undoOf: runId });
    const back = successfulStatusChanges(await s.h.requests({ since: seq }));
    expect(back.size).toBe(plan.steps.length - 1);
    for (const [id, statuses] of back) {
      expect(statuses).toEqual(['active']);
      expect(await s.status(id)).toBe('active');
    }
    await screenshot(page, 'run-undone');
  });

  const cents = (n: number): string => new Intl.NumberFormat('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(n / 100);

  it('Verify on a run\'s page: its progress from the events, then "No history lost" with the counts; shown again when the page opens', async () => {
    await page.goto(url(`/#/runs/${runId}`));
    await expect.poll(() => text('run-state')).toBe('done');
    // Undone: the page links its undo and offers no second one (a run has at most one undo).
    expect(await text('run-undone-by')).toBe(undoRunId);
    expect(await page.getByTestId('run-undo').count()).toBe(0);
    expect(await text('verify-none')).toBe('Not verified yet.');
    expect(await text('run-verify')).toBe('Verify');
    // The first read takes a while: the page shows the job at work.
    await s.h.t.admin('POST', '/__emulator/faults', { faults: ['latency:1500,method=GET,count=1'] });
    await page.getByTestId('run-verify').click();
    await expect.poll(() => text('verify-progress')).toMatch(/^verifying \S/);
    expect(await page.getByTestId('run-verify').isDisabled()).toBe(true);
    await expect.poll(() => page.getByTestId('verify-summary').count(), { timeout: 30_000 }).toBe(1);
    await s.h.t.admin('DELETE', '/__emulator/faults');
    expect(await page.getByTestId('verify-progress').count()).toBe(0);
    const counted = await s.h.journal.getFingerprint(runId, 'before');
    const transactions = counted.reduce((n, r) => n + r.count, 0);
    const contacts = new Set(counted.map((r) => r.contactId)).size;
    expect(transactions).toBeGreaterThan(1);
    const summary = `No history lost: ${transactions} transactions totalling ${cents(counted.reduce((n, r) => n + r.totalCents, 0))} across ${contacts} contact${contacts === 1 ? '' : 's'}, as before the run.`;
    expect(await text('verify-summary')).toBe(summary);
    expect(await text('verify-meta')).toContain('(taken by the scan)');
    expect((await s.h.journal.latestVerification(runId))?.ok).toBe(true);
    await screenshot(page, 'run-verified');
    // The last verification is on the page when it opens.
    await page.reload();
    await expect.poll(() => text('verify-summary')).toBe(summary);
    expect(await text('run-verify')).toBe('Verify again');
    expect(await page.getByTestId('verify-none').count()).toBe(0);
  });

  it('Verify lists a difference explained by trading since, with its explanation, and a loss with its contact, type, before and now', async () => {
    const steps = await s.h.journal.steps(runId);
    const counted = await s.h.journal.getFingerprint(runId, 'before');
    const customer = steps.find((st) => st.contactType === 'customer')!;
    const lostRow = counted.find((r) => r.count > 0 && r.contactId !== customer.contactId)!;
    expect(lostRow, 'a contact of the run with a transaction').toBeDefined();
    await s.advance(5);
    // An estimate for the customer (trading: explained), and a deleted transaction (nothing explains it).
    const created = await s.h.t.call('POST', '/estimates', { body: { customer_id: customer.contactId, line_items: [{ name: 'Quote', rate: 42.5, quantity: 2 }] } });
    expect([200, 201]).toContain(created.status);
    const db = s.h.t.emulator.store.db;
    const gone = db.prepare('SELECT transaction_id FROM transactions WHERE contact_id = ? AND type = ? LIMIT 1').get(lostRow.contactId, lostRow.transactionType) as { transaction_id: string };
    db.prepare('DELETE FROM transactions WHERE transaction_id = ?').run(gone.transaction_id);

    await page.getByTestId('run-verify').click();
    await expect.poll(() => page.getByTestId('verify-result').getAttribute('data-ok'), { timeout: 30_000 }).toBe('false');
    expect(await text('verify-summary')).toBe('1 unexplained difference from before the run: these contacts\' transactions are not as they were, and nothing traded since explains it.');
    const result = (await s.h.journal.latestVerification(runId))!.result as { differences: Array<{ contactId: string; transactionType: string; before: { count: number; totalCents: number }; after: { count: number; totalCents: number }; explained: string | null }> };
    const loss = result.differences.find((d) => d.explained === null)!;
    const trade = result.differences.find((d) => d.explained !== null)!;
    expect(loss).toMatchObject({ contactId: lostRow.contactId, transactionType: lostRow.transactionType });
    expect(trade).toMatchObject({ contactId: customer.contactId, transactionType: 'estimates' });
    const lossRow = page.getByTestId('verify-lost-row');
    expect(await lossRow.count()).toBe(1);
    expect(await lossRow.getAttribute('data-contact-id')).toBe(lostRow.contactId);
    const lossText = (await lossRow.textContent()) ?? '';
    expect(lossText).toContain(steps.find((st) => st.contactId === lostRow.contactId)!.contactName);
    expect(lossText).toContain(lostRow.contactId);
    expect(lossText).toContain(`${loss.before.count} (${cents(loss.before.totalCents)})${loss.after.count} (${cents(loss.after.totalCents)})`);
    expect(await text('verify-explained-count')).toBe('1 difference is explained by trading since the counts were taken (not a loss):');
    const item = page.getByTestId('verify-explained-item');
    expect(await item.count()).toBe(1);
    expect(await item.textContent()).toBe(`${customer.contactName} ${customer.contactId}, estimates: ${trade.before.count} (${cents(trade.before.totalCents)}) before → ${trade.after.count} (${cents(trade.after.totalCents)}) now. ${trade.explained}`);
    expect(trade.explained).toMatch(/^traded since .*: estimate .* was created or changed$/);
    expect(await page.getByTestId('verify-panel').getByTestId('open-in-books').count()).toBe(0);
    await screenshot(page, 'run-verify-differences');
  });

  it('the audit trail lists both runs\' changes', async () => {
    await page.goto(url('/#/audit'));
    const rows = 2 * (plan.steps.length - 1);
    await expect.poll(() => text('audit-count')).toBe(`${rows} changes`);
    const journalRows = await s.h.journal.audit({ organizationId: s.organization });
    expect(journalRows).toHaveLength(rows);
    await page.getByTestId('audit-search').fill(plan.steps[0]!.contactId);
    await expect.poll(() => text('audit-count')).toBe(`2 of ${rows} changes`);
    await expect.poll(() => page.getByTestId('audit-row').count()).toBe(2);
    await page.getByTestId('audit-search').fill('');
    await screenshot(page, 'audit');
    await page.goto(url('/#/runs'));
    await expect.poll(() => page.getByTestId('run-row').count()).toBe(2);
    await screenshot(page, 'runs');
  });

  it('a CRM event shows up live on the CRM events page with its outcome', async () => {
    const setup = await api.request<{ secret: string }>('PUT', `/api/orgs/${s.organization}/webhook`, { body: { mode: 'hmac' } });
    expect(setup.status, setup.text).toBe(200);
    await page.goto(url('/#/webhooks'));
    await page.getByTestId('webhook-row').first().waitFor({ state: 'detached', timeout: 1_000 }).catch(() => undefined);
    expect(await page.getByTestId('webhook-row').count()).toBe(0);
    const contactId = plan.steps[0]!.contactId;
    const body = JSON.stringify({ books_contact_id: contactId, status: 'Churned', event_id: 'browser-1' });
    const now = Math.floor(s.h.clock.now() / 1000);
    const hook = await s.fetch<{ eventId: string }>('POST', `/hooks/crm/${s.organization}`, { body, headers: { 'content-type': 'application/json', ...signHook(setup.json.secret, body, now) } });
    expect(hook.status, hook.text).toBe(202);
    await expect.poll(() => page.getByTestId('webhook-row').count()).toBe(1);
    // Stored before the answer; the service starts on it at once (accepted, then processing).
    expect(await page.getByTestId('webhook-row').first().textContent()).toMatch(/accepted|processing|applied/);
    await s.service.processWebhooks();
    expect((await s.store.events(s.organization, 10)).find((e) => e.eventId === hook.json.eventId)?.state, 'the stored event').toBe('applied');
    await expect.poll(() => page.getByTestId('webhook-row').first().textContent()).toContain('applied');
    expect(await page.getByTestId('webhook-row').first().textContent()).toContain(contactId);
    // Applied at its first try: one try, not 0 (the row is patched from the event stream at once, then reloaded).
    await expect.poll(() => page.getByTestId('webhook-row').first().getByTestId('webhook-tries').textContent()).toBe('1');
    expect(await s.status(contactId)).toBe('inactive');
    await screenshot(page, 'crm-events');
  });

  it('a CRM run\'s page says why it cannot be verified, and offers no Verify', async () => {
    const link = page.getByTestId('webhook-row').first().getByTestId('webhook-run-link');
    await link.waitFor();
    await link.click();
    await page.waitForURL(/#\/runs\/run-/);
    await expect.poll(() => text('run-state')).toBe('done');
    expect(await text('verify-unavailable')).toBe('This run cannot be verified. Sunset has no count of this run’s contacts’ transactions from before it ran, so there is nothing to compare with: a CRM run changes contacts one at a time as the CRM asks, without taking one.');
    expect(await page.getByTestId('run-verify').count()).toBe(0);
  });

  it('while an approved plan\'s run applies, the plan\'s page says so and follows it to done', async () => {
    const stream = await s.events(api);
    const scanned = await api.request<{ jobId: string }>('POST', `/api/orgs/${s.organization}/scan`);
    expect(scanned.status, scanned.text).toBe(202);
    const job = await stream.waitFor((e) => e.type === 'job' && e.data.jobId === scanned.json.jobId && e.data.state !== 'running', 'the scan ends');
    stream.close();
    expect(job.data.state, JSON.stringify(job.data)).toBe('done');
    const fresh = (await s.h.journal.getPlan(String(job.data.planId)))!;
    expect(fresh.planId).not.toBe(plan.planId);
    const keep = fresh.steps.find((st) => st.action === 'deactivate')!;
    // One change, which takes 4 s in the emulator: the page sees the run applying.
    await s.h.t.admin('POST', '/__emulator/faults', { faults: ['latency:4000,method=post,path=/contacts/*/inactive'] });
    const approved = await api.request<{ runId: string }>('POST', `/api/plans/${fresh.planId}/approve`, { body: { exclude: fresh.steps.filter((st) => st !== keep).map((st) => st.contactId) } });
    expect(approved.status, approved.text).toBe(202);
    await page.goto(url(`/#/plans/${fresh.planId}`));
    // Pending while it starts (the transaction counts for verify come first), then running.
    await expect.poll(() => text('plan-run-state')).toMatch(/^(pending|running)$/);
    expect(await text('plan-approved-by')).toBe(USER);
    expect(await page.getByTestId('plan-approved-run').getAttribute('href')).toBe(`#/runs/${approved.json.runId}`);
    expect(await text('plan-approved')).toMatch(/changed in Zoho Books now|will change in Zoho Books in a moment/);
    expect(await page.getByTestId('plan-note').count()).toBe(0);
    // Followed live, without a reload.
    await expect.poll(() => text('plan-run-state')).toBe('done');
    await s.h.t.admin('DELETE', '/__emulator/faults');
    expect(await text('plan-approved')).toContain('1 of 1 step finished, 1 changed');
    expect(await s.status(keep.contactId)).toBe('inactive');
  });

  it('a run nobody applies: pending offers Resume (not Stop); interrupted says so in the list and on its page; Resume applies it', async () => {
    const fresh = await scanPlan();
    const two = fresh.steps.filter((st) => st.action === 'deactivate').slice(0, 2);
    expect(two).toHaveLength(2);
    // What a service stopped right after an approval leaves: the run, and no process applying it.
    const run = await createRunFromPlan(s.h.journal, { ...fresh, steps: two }, USER, s.h.clock.now());
    await page.goto(url(`/#/runs/${run.runId}`));
    await expect.poll(() => text('run-state')).toBe('pending');
    expect(await text('run-status-note')).toBe('Approved, but no process is applying it (the service stopped before it began). The service starts it when it starts; Resume starts it now.');
    expect(await page.getByTestId('run-resume').count()).toBe(1);
    expect(await page.getByTestId('run-stop').count(), 'Stop would answer 409: nothing runs it').toBe(0);
    expect(await text('run-live'), 'nothing is starting it').toBe('');

    // What a process stopped while applying leaves: running in the journal, no live driver.
    await s.h.journal.setRunState(run.runId, 'running', s.h.clock.now());
    await page.goto(url('/#/runs'));
    const row = page.locator(`[data-testid=run-row][data-run-id="${run.runId}"]`);
    await expect.poll(() => row.getByTestId('run-row-status').textContent()).toBe('interrupted');
    expect(await row.getAttribute('data-status')).toBe('interrupted');
    expect(await text('runs-status-note')).toBe('Interrupted: no process is applying the run (the service or the command line stopped while it ran); the service resumes it when it starts, and Resume on its page continues it now.');
    await screenshot(page, 'runs-interrupted');
    await row.locator('a').first().click();
    await page.waitForURL((u) => u.hash === `#/runs/${run.runId}`);
    await expect.poll(() => text('run-state')).toBe('interrupted');
    expect(await text('run-status-note')).toBe('Interrupted: no process is applying it (the service or the command line stopped while it ran). The service resumes it when it starts; Resume continues it now.');
    expect(await page.getByTestId('run-stop').count()).toBe(0);
    expect(await page.getByTestId('run-undo').count()).toBe(0);
    await screenshot(page, 'run-interrupted');

    const seq = await s.h.lastSeq();
    await page.getByTestId('run-resume').click();
    await expect.poll(() => text('run-state'), { timeout: 60_000 }).toBe('done');
    expect(await page.getByTestId('run-status-note').isVisible()).toBe(false);
    const changed = successfulStatusChanges(await s.h.requests({ since: seq }));
    expect([...changed.keys()].sort()).toEqual(two.map((st) => st.contactId).sort());
    for (const st of two) expect(await s.status(st.contactId)).toBe('inactive');
  });

  it('a run page says it checks what changed since the snapshot, then shows the rate and time left the events carry', async () => {
    const fresh = await scanPlan();
    expect(fresh.steps.length).toBeGreaterThan(3);
    const stream = await s.events(api);
    await page.goto(url(`/#/plans/${fresh.planId}`));
    await expect.poll(() => page.getByTestId('approve-button').isEnabled()).toBe(true);
    // The revalidation's read of contacts changed since the scan takes 3 s; each change 700 ms.
    await s.h.t.admin('POST', '/__emulator/faults', { faults: ['latency:3000,method=GET,path=/contacts,count=1', 'latency:700,method=POST,path=/contacts/*/inactive'] });
    await page.getByTestId('approve-button').click();
    await page.getByTestId('confirm-ok').click();
    await page.waitForURL(/#\/runs\/run-/);
    const id = decodeURIComponent(page.url().split('#/runs/')[1]!);
    await expect.poll(() => text('run-phase')).toBe('Checking what changed since the snapshot…');
    expect(await page.getByTestId('run-live').textContent()).not.toContain('Starting');
    expect(stream.events.some((e) => e.type === 'run' && e.data.runId === id && e.data.phase === 'revalidating')).toBe(true);
    // Then the engine's rate and time left, as the latest event says (never the page's own).
    const shown = async (): Promise<string> => {
      const el = (await page.locator('[data-testid=run-rate]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-rate-per-minute'), e.textContent])))[0];
      const eta = (await page.locator('[data-testid=run-eta]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-eta-ms'), e.textContent])))[0];
      if (!el || !eta) return 'none';
      const match = stream.events.find((e) => e.type === 'run' && e.data.runId === id && String(e.data.ratePerMinute) === el[0] && String(e.data.etaMs) === eta[0]);
      if (!match) return `no event with rate ${el[0]} and eta ${eta[0]}`;
      const rate = match.data.ratePerMinute as number;
      const rateText = `${rate >= 10 ? Math.round(rate) : new Intl.NumberFormat('en-GB', { maximumFractionDigits: 1 }).format(rate)} steps per minute`;
      if (el[1] !== rateText) return `rate shown as "${el[1]}", not "${rateText}"`;
      if (!/^about (\d+ s|\d+ min|\d+ h \d+ min) left$/.test(eta[1] ?? '')) return `eta shown as "${eta[1]}"`;
      return match.data.phase === 'applying' ? 'ok' : `phase ${String(match.data.phase)}`;
    };
    await expect.poll(shown, { timeout: 30_000 }).toBe('ok');
    await screenshot(page, 'run-applying-rate');
    await expect.poll(() => text('run-state'), { timeout: 60_000 }).toBe('done');
    await s.h.t.admin('DELETE', '/__emulator/faults');
    stream.close();
  });

  it('sign out ends the session: the app sends back to the sign-in page', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    await page.goto(url('/#/'));
    expect(new URL(page.url()).pathname).toBe('/login');
    const old = (await context.cookies()).find((c) => c.name === 'sunset_session');
    expect(old).toBeUndefined();
  });

  it('no script error or failed request other than the refused policy', () => {
    const unexpected = errors.filter((e) => !/status of 400/.test(e));
    expect(unexpected).toEqual([]);
    expect(errors.filter((e) => /status of 400/.test(e)).length).toBeLessThanOrEqual(1);
  });

  it('after ten failed sign-ins the sign-in page says how long to wait, even for the right password, and signs nobody in', async () => {
    const before = errors.length;
    // Ten failures of the name from this machine's address, as failed sign-ins leave them (each once its wait is over).
    for (const wait of [0, 0, 0, 0, 0, 15, 30, 60, 120, 240]) {
      await s.advance(wait);
      expect((await s.store.claimSignIn(USER, '127.0.0.1', s.h.clock.now())).allowed).toBe(true);
    }
    await page.goto(url('/login'));
    await page.getByTestId('login-username').fill(USER);
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    const notice = page.getByTestId('login-refused');
    await notice.waitFor();
    expect(await notice.textContent()).toBe('Too many failed sign-ins; try again in 15 minutes.');
    expect(await notice.isVisible()).toBe(true);
    expect(await page.getByTestId('login-error').count()).toBe(0);
    expect(await context.cookies()).toEqual([]);
    // The browser reports the 429 answer itself; nothing else went wrong.
    expect(errors.slice(before).every((e) => /status of 429/.test(e)), errors.slice(before).join('\n')).toBe(true);
    // Once the lock is over, the same form signs in.
    await s.advance(15 * 60);
    await page.getByTestId('login-username').fill(USER);
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.waitForURL(url('/#/'));
    expect((await context.cookies()).find((c) => c.name === 'sunset_session')).toBeDefined();
  });
});

/**
 * A service whose connection says `zoho:EU` (the emulator standing in for Zoho Books EU): what
 * depends on the target alone, the links that open a contact in the Zoho Books web app. They are
 * never followed (there is no Zoho here); their address and how they open are checked.
 */
describe.skipIf(unavailable !== undefined)('links to the Zoho Books web app', () => {
  let z: TestService;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    z = await startTestService({ contacts: 60, target: 'zoho:EU', socket: true });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
    const admin = await z.login();
    await context.addCookies([{ name: 'sunset_session', value: admin.token, url: z.origin }]);
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    errors = watchErrors(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await z?.close();
  });

  it('the evidence panel and every step of a run link to the contact in Zoho Books, in a new tab without a referrer', async () => {
    const admin = await z.login();
    expect((await admin.request('PUT', `/api/orgs/${z.organization}/policy`, { body: { text: policyFor(z.organization, 'max_changes: 3\n') } })).status).toBe(200);
    const stream = await z.events(admin);
    const scanned = await admin.request<{ jobId: string }>('POST', `/api/orgs/${z.organization}/scan`);
    const job = await stream.waitFor((e) => e.type === 'job' && e.data.jobId === scanned.json.jobId && e.data.state !== 'running', 'the scan ends');
    stream.close();
    expect(job.data.state, JSON.stringify(job.data)).toBe('done');
    const planId = String(job.data.planId);
    const base = `https://books.zoho.eu/app/${z.organization}#/contacts/`;

    await page.goto(`${z.origin}/#/plans/${planId}`);
    const row = page.getByTestId('plan-row').first();
    await row.waitFor();
    const contactId = (await row.getAttribute('data-contact-id'))!;
    await row.click();
    const link = page.getByTestId('evidence-panel').getByTestId('open-in-books');
    await link.waitFor();
    expect(await link.textContent()).toBe('Open in Zoho Books');
    expect(await link.getAttribute('href')).toBe(`${base}${contactId}`);
    expect(await link.getAttribute('target')).toBe('_blank');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');

    const approved = await admin.request<{ runId: string }>('POST', `/api/plans/${planId}/approve`, { body: {} });
    expect(approved.status, approved.text).toBe(202);
    await page.goto(`${z.origin}/#/runs/${approved.json.runId}`);
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 60_000 }).toBe('done');
    const steps = await z.h.journal.steps(approved.json.runId);
    await expect.poll(() => page.getByTestId('step-row').count()).toBe(steps.length);
    const links = await page.getByTestId('step-row').evaluateAll((trs) => trs.map((tr) => {
      const a = tr.querySelector('[data-testid=open-in-books]');
      return [tr.getAttribute('data-contact-id'), a?.getAttribute('href'), a?.getAttribute('target'), a?.getAttribute('rel'), a?.textContent];
    }));
    expect(links).toEqual(steps.map((st) => [st.contactId, `${base}${st.contactId}`, '_blank', 'noopener noreferrer', 'Open in Zoho Books']));
    expect(errors).toEqual([]);
  });
});
