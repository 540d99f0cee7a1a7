/**
 * The schedule: a cron expression, read in the organization's time zone (the one Zoho gives it),
 * explained as it is typed by the service's own parser (the one Save uses: GET /api/cron), its
 * next runs in the organization's time and the reader's, the last scheduled run, and the
 * auto-apply cap.
 */
import type { CronAnswer, OrganizationView, ScheduleView } from '../../../../api-types.js';
import { ApiError } from '../../api.js';
import type { App } from '../../app.js';
import { h } from '../../dom.js';
import type { Format } from '../../format.js';
import { debounce } from '../../timing.js';
import { timeEl } from '../../widgets/parts.js';

const NO_SCHEDULE = 'No schedule: scans run only when started here or from the command line.';

/** Runs as a table: each in the organization's time zone and in the reader's. */
function runsTable(fmt: Format, runs: readonly number[], zone: string, testid: string): HTMLElement {
  const cell = (t: number, timeZone?: string): HTMLElement => h('td', null, h('time', { datetime: new Date(t).toISOString(), title: new Date(t).toISOString() }, fmt.zoned(t, timeZone)));
  return h('table', { class: 'grid compact fit', testid },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, `Organization's time (${zone})`), h('th', { scope: 'col' }, `Your time (${fmt.viewerTimeZone})`))),
    h('tbody', null, runs.map((t) => h('tr', { testid: `${testid}-row` }, cell(t, zone), cell(t)))));
}

export function scheduleSection(app: App, organization: OrganizationView): HTMLElement {
  const { api, fmt } = app;
  const id = organization.organizationId;
  const sched = organization.schedule;
  const tz = organization.timeZone;
  const cron = h('input', { type: 'text', id: 'cron', class: 'mono', testid: 'schedule-cron', placeholder: '0 2 * * *', spellcheck: 'false', autocomplete: 'off', value: sched.cron ?? '', 'aria-describedby': 'cron-explain cron-help' });
  const explain = h('p', { class: 'explain', id: 'cron-explain', testid: 'cron-explain', 'aria-live': 'polite' });
  const upcoming = h('div', { class: 'help', testid: 'cron-next' });
  const say = (text: string, cls = 'explain'): void => {
    explain.className = cls;
    explain.textContent = text;
  };
  // Only the answer to the latest text is shown.
  let asked = 0;
  const explainNow = async (): Promise<void> => {
    const text = cron.value.trim();
    const mine = ++asked;
    if (!text) {
      say(NO_SCHEDULE);
      upcoming.replaceChildren();
      return;
    }
    let answer: CronAnswer;
    try {
      answer = await api.cron(text, id, { silent: true });
    } catch {
      if (mine !== asked) return;
      say('Could not check the expression just now.');
      upcoming.replaceChildren();
      return;
    }
    if (mine !== asked) return;
    if (!answer.valid) {
      say(`Not a valid cron expression: ${answer.error}.`, 'explain text-bad');
      upcoming.replaceChildren();
      return;
    }
    say(answer.description);
    // Each run in the organization's time, then (as a <time>) in the reader's.
    upcoming.replaceChildren(...(answer.next.length
      ? [`Next runs, in ${answer.timeZone} and in your time:`, h('ul', { class: 'runs' }, answer.next.map((t) => h('li', null,
        h('span', { testid: 'cron-next-zoned' }, fmt.zoned(t, answer.timeZone)), ' → ', timeEl(fmt, t))))]
      : [h('span', { class: 'text-bad' }, 'That date never comes: this schedule would never run.')]));
  };
  const explainSoon = debounce(() => void explainNow(), 250);
  cron.addEventListener('input', () => {
    asked++; // an answer still on its way is for older text
    say(cron.value.trim() ? 'Checking…' : NO_SCHEDULE, 'explain muted');
    explainSoon();
  });
  void explainNow();

  const cap = h('input', { type: 'number', id: 'auto-apply', min: 1, step: 1, testid: 'schedule-autoapply', value: sched.autoApplyMax ?? '', 'aria-describedby': 'cap-help' });
  const next = h('span', { testid: 'schedule-next' });
  const nextRuns = h('div', { testid: 'schedule-next-runs' });
  const last = h('span', { testid: 'schedule-last' });
  const status = h('span', { class: 'status', role: 'status', testid: 'schedule-status' });
  const showTimes = (s: ScheduleView): void => {
    next.replaceChildren(s.nextRunAt ? h('span', null, timeEl(fmt, s.nextRunAt), ` (${fmt.relative(s.nextRunAt)})`) : h('span', { class: 'muted' }, '—'));
    nextRuns.replaceChildren(s.nextRuns.length ? runsTable(fmt, s.nextRuns, tz.zone, 'schedule-runs') : h('span', { class: 'muted' }, '—'));
    last.replaceChildren(s.lastRunAt ? timeEl(fmt, s.lastRunAt) : h('span', { class: 'muted' }, 'never'));
  };
  showTimes(sched);
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary needs-admin', testid: 'schedule-save' }, 'Save schedule');
  async function save(): Promise<void> {
    const capText = cap.value.trim();
    const body = { cron: cron.value.trim() || null, autoApplyMax: capText === '' ? null : parseInt(capText, 10) };
    saveBtn.disabled = true;
    status.textContent = 'Saving…';
    status.className = 'status';
    try {
      const res = await api.saveSchedule(id, body, { expect: [400] });
      showTimes(res.schedule);
      status.textContent = body.cron ? 'Saved.' : 'Saved: no scheduled scans.';
      status.className = 'status status-ok';
    } catch (err) {
      status.textContent = err instanceof ApiError && err.status === 400 ? `Not saved: ${err.message}` : 'Not saved.';
      status.className = 'status status-error';
    } finally {
      saveBtn.disabled = false;
    }
  }
  const form = h('form', { class: 'form-grid', onsubmit: (e) => {
    e.preventDefault();
    void save();
  } },
  h('span', { class: 'label' }, 'Time zone'),
  h('div', { testid: 'schedule-timezone' },
    h('span', { testid: 'schedule-timezone-zone' }, tz.zone),
    tz.zoho !== null && tz.zoho !== tz.zone ? h('span', { class: 'muted' }, ` (Zoho says ${tz.zoho})`) : null,
    tz.problem ? h('p', { class: 'callout callout-warn', role: 'note', testid: 'schedule-timezone-problem' }, `The schedule runs in UTC: ${tz.problem}.`) : null,
    h('p', { class: 'help' }, 'The organization\'s time zone in Zoho Books; the cron is read there.')),
  h('label', { for: 'cron' }, 'When to scan (cron)'),
  h('div', null, cron, explain, upcoming,
    h('p', { class: 'help', id: 'cron-help' }, `Five fields, in the organization's time zone (${tz.zone}): minute, hour, day of month, month, day of week. `, h('code', null, '0 2 * * *'), ' is every day at 02:00 there; ', h('code', null, '30 6 * * 1-5'), ' is weekdays at 06:30. On the nights the clocks change, a clock time runs once: one the clock skips runs when it jumps (02:30 at 03:00), one it repeats runs the first time. Each scheduled scan plans with the saved policy. Leave empty to scan only by hand.')),
  h('label', { for: 'auto-apply' }, 'Auto-apply up to'),
  h('div', null, cap, ' changes',
    h('p', { class: 'help', id: 'cap-help' }, 'After a scheduled scan, a plan with at most this many changes (1 or more) is applied without review; a bigger one waits. Empty: every plan waits for a person to approve it.')),
  h('span', { class: 'label' }, 'Next run'), h('span', null, next, h('span', { class: 'muted' }, ' (your time)')),
  h('span', { class: 'label' }, 'Next runs'), nextRuns,
  h('span', { class: 'label' }, 'Last run'), last,
  h('span'), h('div', { class: 'actions' }, saveBtn, status));
  return h('section', { class: 'panel', id: 'schedule', 'aria-labelledby': 'schedule-h' }, h('h2', { id: 'schedule-h' }, 'Schedule'), form);
}
