/**
 * The schedule: a cron expression (UTC) explained as it is typed by the service's own parser (the
 * one Save uses: GET /api/cron), its next runs, the last scheduled run, and the auto-apply cap.
 */
import type { CronAnswer, OrganizationView, ScheduleView } from '../../../../api-types.js';
import { ApiError } from '../../api.js';
import type { App } from '../../app.js';
import { h } from '../../dom.js';
import { debounce } from '../../timing.js';
import { timeEl } from '../../widgets/parts.js';

const NO_SCHEDULE = 'No schedule: scans run only when started here or from the command line.';

export function scheduleSection(app: App, organization: OrganizationView): HTMLElement {
  const { api, fmt } = app;
  const id = organization.organizationId;
  const sched = organization.schedule;
  const cron = h('input', { type: 'text', id: 'cron', class: 'mono', testid: 'schedule-cron', placeholder: '0 2 * * *', spellcheck: 'false', autocomplete: 'off', value: sched.cron ?? '', 'aria-describedby': 'cron-explain cron-help' });
  const explain = h('p', { class: 'explain', id: 'cron-explain', testid: 'cron-explain', 'aria-live': 'polite' });
  const upcoming = h('p', { class: 'help', testid: 'cron-next' });
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
      answer = await api.cron(text, { silent: true });
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
    upcoming.replaceChildren(...(answer.next.length
      ? ['Next runs (your time): ', ...answer.next.flatMap((t, i) => [i ? ', ' : '', timeEl(fmt, t)])]
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
  const last = h('span', { testid: 'schedule-last' });
  const status = h('span', { class: 'status', role: 'status', testid: 'schedule-status' });
  const showTimes = (s: ScheduleView): void => {
    next.replaceChildren(s.nextRunAt ? h('span', null, timeEl(fmt, s.nextRunAt), ` (${fmt.relative(s.nextRunAt)})`) : h('span', { class: 'muted' }, '—'));
    last.replaceChildren(s.lastRunAt ? timeEl(fmt, s.lastRunAt) : h('span', { class: 'muted' }, 'never'));
  };
  showTimes(sched);
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'schedule-save' }, 'Save schedule');
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
  h('label', { for: 'cron' }, 'When to scan (cron)'),
  h('div', null, cron, explain, upcoming,
    h('p', { class: 'help', id: 'cron-help' }, 'Five fields, in UTC: minute, hour, day of month, month, day of week. ', h('code', null, '0 2 * * *'), ' is every day at 02:00 UTC; ', h('code', null, '30 6 * * 1-5'), ' is weekdays at 06:30 UTC. Each scheduled scan plans with the saved policy. Leave empty to scan only by hand.')),
  h('label', { for: 'auto-apply' }, 'Auto-apply up to'),
  h('div', null, cap, ' changes',
    h('p', { class: 'help', id: 'cap-help' }, 'After a scheduled scan, a plan with at most this many changes (1 or more) is applied without review; a bigger one waits. Empty: every plan waits for a person to approve it.')),
  h('span', { class: 'label' }, 'Next run'), h('span', null, next, h('span', { class: 'muted' }, ' (your time)')),
  h('span', { class: 'label' }, 'Last run'), last,
  h('span'), h('div', { class: 'actions' }, saveBtn, status));
  return h('section', { class: 'panel', id: 'schedule', 'aria-labelledby': 'schedule-h' }, h('h2', { id: 'schedule-h' }, 'Schedule'), form);
}
