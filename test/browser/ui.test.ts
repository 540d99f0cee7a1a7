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
import type { Plan } from '../../src/engine/index.js';
import { browserUnavailable, launchBrowser, screenshot, watchErrors, type PageDocument } from '../helpers/browser.js';
import { successfulStatusChanges } from '../helpers/engine.js';
import { PASSWORD, signHook, startTestService, USER, type SignedIn, type TestService } from '../helpers/service.js';

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
    s = await startTestService({ contacts: 120 });
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
    await expect.poll(() => page.getByTestId('org-card').count()).toBe(s.orgs.length);
    const ids = await page.getByTestId('org-card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-org-id')));
    expect(ids).toEqual(s.orgs);
    expect(await page.getByTestId('policy-first').count()).toBe(s.orgs.length);
    const cookie = (await context.cookies()).find((c) => c.name === 'sunset_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('a policy with a problem is refused with its line and nothing is saved; the starter policy saves', async () => {
    await page.getByTestId('org-card').first().getByTestId('policy-first').click();
    await page.waitForURL(url(`/#/orgs/${s.org}`));
    const editor = page.getByTestId('policy-editor');
    const starter = await editor.inputValue();
    expect(starter).toContain(`organization_id: "${s.org}"`);
    expect(await text('policy-status')).toBe('Unsaved changes');

    await editor.fill(starter.replace('inactivity: 24 months', 'inactivity: a while'));
    await page.getByTestId('policy-save').click();
    await expect.poll(() => page.getByTestId('policy-problem').count()).toBeGreaterThan(0);
    const line = starter.split('\n').findIndex((l) => l.startsWith('inactivity:')) + 1;
    expect(await page.getByTestId('policy-problem').first().textContent()).toContain(`${line}`);
    expect(await text('policy-status')).toMatch(/Not saved/);
    expect((await s.h.journal.policy(s.org))?.text ?? null).toBeNull();

    await page.getByTestId('policy-revert').click();
    expect(await editor.inputValue()).toBe(starter);
    await page.getByTestId('policy-save').click();
    await expect.poll(() => text('policy-status')).toMatch(/^Saved/);
    expect((await s.h.journal.policy(s.org))?.text ?? null).toBe(starter);
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
    await expect.poll(() => text('cron-explain')).toBe('Every Monday to Friday at 06:30 UTC.');
    await expect.poll(() => page.getByTestId('cron-next').locator('time').count()).toBe(3);
    const times = await page.getByTestId('cron-next').locator('time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime')));
    const cron = await api.get<{ next: number[] }>(`/api/cron?expr=${encodeURIComponent('30 6 * * 1-5')}`);
    expect(times).toEqual(cron.json.next.map((t) => new Date(t).toISOString()));
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
    expect((await s.store.settings(s.org)).cron).toBe('0 2 * * *');
    const view = (await api.get<Array<{ organizationId: string; schedule: { nextRunAt: number; lastRunAt: number | null } }>>('/api/orgs')).json.find((o) => o.organizationId === s.org)!;
    expect(view.schedule.lastRunAt).toBeNull();
    expect(await page.getByTestId('schedule-next').locator('time').getAttribute('datetime')).toBe(new Date(view.schedule.nextRunAt).toISOString());
  });

  it('scans and plans from the organization card, then opens the review page with every contact', async () => {
    await page.goto(url('/#/'));
    await page.getByTestId('org-card').first().getByTestId('scan-button').click();
    const link = page.getByTestId('org-card').first().getByTestId('job-plan-link');
    await link.waitFor();
    const planId = (await s.h.journal.latestPlan(s.org))!.planId;
    expect(await link.getAttribute('href')).toBe(`#/plans/${planId}`);
    await screenshot(page, 'organizations');
    await link.click();
    plan = (await s.h.journal.getPlan(planId))!;
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
    expect(await text('confirm-text')).toContain(s.org);
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

  it('the audit trail lists both runs\' changes', async () => {
    await page.goto(url('/#/audit'));
    const rows = 2 * (plan.steps.length - 1);
    await expect.poll(() => text('audit-count')).toBe(`${rows} changes`);
    const journalRows = await s.h.journal.audit({ organizationId: s.org });
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
    const setup = await api.request<{ secret: string }>('PUT', `/api/orgs/${s.org}/webhook`, { body: { mode: 'hmac' } });
    expect(setup.status, setup.text).toBe(200);
    await page.goto(url('/#/webhooks'));
    await page.getByTestId('webhook-row').first().waitFor({ state: 'detached', timeout: 1_000 }).catch(() => undefined);
    expect(await page.getByTestId('webhook-row').count()).toBe(0);
    const contactId = plan.steps[0]!.contactId;
    const body = JSON.stringify({ books_contact_id: contactId, status: 'Churned', event_id: 'browser-1' });
    const now = Math.floor(s.h.clock.now() / 1000);
    const hook = await s.fetch<{ eventId: string }>('POST', `/hooks/crm/${s.org}`, { body, headers: { 'content-type': 'application/json', ...signHook(setup.json.secret, body, now) } });
    expect(hook.status, hook.text).toBe(202);
    await expect.poll(() => page.getByTestId('webhook-row').count()).toBe(1);
    // Stored before the answer; the service starts on it at once (accepted, then processing).
    expect(await page.getByTestId('webhook-row').first().textContent()).toMatch(/accepted|processing|applied/);
    await s.service.processWebhooks();
    expect((await s.store.events(s.org, 10)).find((e) => e.eventId === hook.json.eventId)?.state, 'the stored event').toBe('applied');
    await expect.poll(() => page.getByTestId('webhook-row').first().textContent()).toContain('applied');
    expect(await page.getByTestId('webhook-row').first().textContent()).toContain(contactId);
    // Applied at its first try: one try, not 0 (the row is patched from the event stream at once, then reloaded).
    await expect.poll(() => page.getByTestId('webhook-row').first().getByTestId('webhook-tries').textContent()).toBe('1');
    expect(await s.status(contactId)).toBe('inactive');
    await screenshot(page, 'crm-events');
  });

  it('while an approved plan\'s run applies, the plan\'s page says so and follows it to done', async () => {
    const stream = await s.events(api);
    const scanned = await api.request<{ jobId: string }>('POST', `/api/orgs/${s.org}/scan`);
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
});
