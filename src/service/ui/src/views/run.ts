/**
 * `#/runs/RUN`: a run's state, progress and counts, live while it applies (its phase, rate and time
 * left as the engine measures them); Stop, Resume, Undo; Verify and its last result; the steps.
 */
import type { OrganizationView, RunDetail, RunProgress, RunView } from '../../../api-types.js';
import type { RunCounts, StepRecord } from '../../../../engine/index.js';
import { ApiError } from '../api.js';
import type { App, RouteArgs, View } from '../app.js';
import { enc, fill, h, td } from '../dom.js';
import { duration } from '../format.js';
import { debounce, throttle } from '../timing.js';
import { confirmDialog } from '../widgets/dialog.js';
import { badge, booksLink, kv, loading, organizationMap, organizationName, timeEl } from '../widgets/parts.js';
import { ACTIVE_RUN_STATES, applyRunEvent, progressBar, progressOf, runStatusNote } from '../widgets/run-status.js';
import { verificationView } from '../widgets/verification.js';
import { createVirtualTable } from '../widgets/virtual-table.js';

/** Where Verify is offered: a run that no longer moves (a moving one has nothing final to compare). */
const VERIFY_STATUSES: ReadonlySet<string> = new Set(['done', 'paused', 'failed', 'cancelled']);

const STEP_STATES = ['pending', 'in_flight', 'changed', 'unchanged', 'skipped', 'failed'];

/** What the live line shows: the latest `run` event's phase, rate, time left, wait and error. */
type LiveInfo = Pick<RunProgress, 'phase' | 'ratePerMinute' | 'etaMs' | 'waitingUntil' | 'message' | 'error'>;

const liveOf = (data: RunProgress | undefined): LiveInfo => ({
  phase: data?.phase, ratePerMinute: data?.ratePerMinute, etaMs: data?.etaMs, waitingUntil: data?.waitingUntil, message: data?.message, error: data?.error,
});

/** A step's state as the filter and the badge say it: a done step by its outcome. */
const stepKey = (s: StepRecord): string => (s.state === 'done' && s.outcome ? s.outcome : s.state);

export async function runView(app: App, view: View, { params: [runId = ''] }: RouteArgs): Promise<void> {
  const { api, fmt } = app;
  const { count, plural } = fmt;
  app.setTitle(`Run ${runId}`);
  view.main.append(loading('Loading run…'));
  const [detail, organizations] = await Promise.all([api.run(runId), api.organizations().catch((): OrganizationView[] => [])]);
  if (!view.alive) return;
  const byId = organizationMap(organizations);
  let run: RunView = detail.run;
  let counts: RunCounts = detail.counts;
  let steps: StepRecord[] = detail.steps;
  let verification = detail.verification;
  let verifiable = detail.verifiable;
  let undoneBy = detail.undoneBy;
  // Null on an emulator: no Zoho Books web app to open a contact in.
  const contactUrl = detail.contactUrl || null;
  // The latest event seen before this page opened (the first, "revalidating", comes right after an approval).
  let liveInfo = liveOf(ACTIVE_RUN_STATES.has(run.state) ? app.events.latestRun(runId) : undefined);
  /** A verification under way (followed from the job events, whoever started it), or null; and why the last one did not finish. */
  let verifying: { message: string } | null = null;
  let verifyError: string | null = null;

  const stateSlot = h('span', { testid: 'run-state' });
  const statusNote = h('p', { class: 'callout callout-warn status-note', testid: 'run-status-note', hidden: true });
  const progressSlot = h('div', { class: 'run-progress' });
  const numbers = h('dl', { class: 'numbers', testid: 'run-counts' });
  const liveLine = h('p', { class: 'live-line', 'aria-live': 'polite', testid: 'run-live' });
  const actions = h('div', { class: 'actions' });
  const meta = h('div');
  const verifyBody = h('div');

  /** This service applies it now (Stop reaches it). */
  const isApplying = (): boolean => run.applying;

  function renderHead(): void {
    stateSlot.replaceChildren(badge(run.status));
    const note = runStatusNote(run);
    statusNote.textContent = note ?? '';
    statusNote.hidden = !note;
    const p = progressOf(counts);
    progressSlot.replaceChildren(progressBar(fmt, counts, 'run-progress'), h('span', { class: 'pct' }, `${p.pct.toFixed(p.pct > 0 && p.pct < 10 ? 1 : 0)}%`));
    const figures: Array<[string, string, number]> = [
      ['total', 'total', counts.total], ['done', 'finished', p.done], ['changed', 'changed', counts.changed], ['unchanged', 'unchanged', counts.unchanged],
      ['skipped', 'skipped', counts.skipped], ['failed', 'failed', counts.failed], ['pending', 'pending', counts.pending + counts.inFlight],
    ];
    numbers.replaceChildren(...figures.map(([key, label, v]) => h('div', { class: `num-${key}` }, h('dt', null, label), h('dd', { testid: `run-count-${key}` }, count(v)))));
    liveLine.replaceChildren();
    // Live progress only while this service applies the run: a pending run nobody applies is not "starting".
    const activeNow = isApplying();
    const rate = Number(liveInfo.ratePerMinute);
    if (activeNow && liveInfo.waitingUntil) {
      liveLine.append(h('span', { class: 'waiting', testid: 'run-waiting' }, 'Waiting for the daily quota to reset at ', timeEl(fmt, liveInfo.waitingUntil), ` (${fmt.relative(liveInfo.waitingUntil)}). The run continues by itself.`));
    } else if (activeNow && liveInfo.phase === 'revalidating') {
      // Before the first step: the contacts changed since the scan are read, so none is changed on stale evidence.
      liveLine.append(h('span', { class: 'muted', testid: 'run-phase' }, 'Checking what changed since the snapshot…'));
    } else if (activeNow && rate > 0) {
      // The engine's own rate (over the last two minutes, never above the organization's per-minute limit) and time left.
      const eta = liveInfo.etaMs;
      liveLine.append(
        h('span', { testid: 'run-rate', dataset: { ratePerMinute: String(rate) } }, `${fmt.rate(rate >= 10 ? Math.round(rate) : rate)} steps per minute`),
        ' · ',
        h('span', { testid: 'run-eta', dataset: { etaMs: typeof eta === 'number' ? String(eta) : '' } },
          typeof eta === 'number' ? `about ${duration(eta)} left` : 'working out the time left'));
    } else if (activeNow) liveLine.append(h('span', { class: 'muted' }, liveInfo.message || 'Starting…'));
    if (liveInfo.error) liveLine.append(h('span', { class: 'text-bad', testid: 'run-error' }, liveInfo.error));
    renderActions();
    renderVerify();
    meta.replaceChildren(kv([
      ['Organization', h('a', { href: `#/orgs/${enc(run.organizationId)}` }, organizationName(byId, run.organizationId))],
      ['Kind', run.kind],
      run.planId ? ['Plan', h('a', { href: `#/plans/${enc(run.planId)}`, class: 'id' }, run.planId)] : null,
      run.undoOf ? ['Undoes', h('a', { href: `#/runs/${enc(run.undoOf)}`, class: 'id' }, run.undoOf)] : null,
      undoneBy ? ['Undone by', h('a', { href: `#/runs/${enc(undoneBy)}`, class: 'id', testid: 'run-undone-by' }, undoneBy)] : null,
      ['Created', h('span', null, timeEl(fmt, run.createdAt), run.createdBy ? ` by ${run.createdBy}` : '')],
      ['Started', timeEl(fmt, run.startedAt)],
      ['Finished', timeEl(fmt, run.finishedAt)],
      run.note ? ['Note', run.note] : null,
    ], 'kv-inline'));
  }

  function renderActions(): void {
    const b: HTMLElement[] = [];
    const status = run.status;
    const leftover = counts.pending + counts.inFlight + counts.failed;
    // Stop reaches only a job of this service; Resume is for a run nobody applies: paused by a
    // person, interrupted by a stop of the service or the CLI, or approved just before one.
    if (isApplying()) {
      const stop: HTMLButtonElement = h('button', { type: 'button', class: 'btn needs-approver', testid: 'run-stop', onclick: () => void act('stop', stop) }, 'Stop');
      b.push(stop);
    } else if (['paused', 'interrupted', 'pending'].includes(status) || (status === 'failed' && leftover > 0)) {
      const resume: HTMLButtonElement = h('button', { type: 'button', class: 'btn btn-primary needs-approver', testid: 'run-resume', onclick: () => void act('resume', resume) }, 'Resume');
      b.push(resume);
    }
    // A run has at most one undo: once it has one, its page links it instead.
    if (!undoneBy && !isApplying() && !['pending', 'running', 'interrupted'].includes(status) && counts.changed > 0) {
      const undoBtn: HTMLButtonElement = h('button', { type: 'button', class: 'btn btn-danger-outline needs-approver', testid: 'run-undo', onclick: () => void undo(undoBtn) }, `Undo ${plural(counts.changed, 'change')}`);
      b.push(undoBtn);
    }
    actions.replaceChildren(...b);
  }

  async function act(verb: 'stop' | 'resume', button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      await (verb === 'stop' ? api.stop(runId) : api.resume(runId));
      if (verb === 'stop') liveLine.replaceChildren(h('span', { class: 'muted' }, 'Stopping after the calls in flight…'));
      await reloadNow();
    } catch {
      button.disabled = false;
    }
  }

  async function undo(button: HTMLButtonElement): Promise<void> {
    const ok = await confirmDialog({
      title: `Undo run ${runId}?`,
      body: [
        h('p', null, `A new run will put back the ${plural(counts.changed, 'contact')} this run changed in `, h('strong', null, organizationName(byId, run.organizationId)), ` (${run.organizationId}).`),
        h('p', { class: 'muted' }, 'Contacts changed since by someone else are left as they are and listed as skipped.'),
      ],
      confirmLabel: 'Undo the run',
      danger: true,
    });
    if (!ok) return;
    button.disabled = true;
    try {
      const res = await api.undo(runId);
      location.hash = `#/runs/${enc(res.runId)}`;
    } catch {
      button.disabled = false;
    }
  }

  // Verify: the run's contacts' transactions now against the counts taken before it ran.
  const nameOf = (id: string): string => steps.find((st) => st.contactId === id)?.contactName ?? '';
  function notVerifiableText(): string {
    const none = 'Sunset has no count of this run’s contacts’ transactions from before it ran, so there is nothing to compare with';
    if (run.kind === 'crm') return `This run cannot be verified. ${none}: a CRM run changes contacts one at a time as the CRM asks, without taking one.`;
    if (run.kind === 'manual') return `This run cannot be verified. ${none}: a run of a list of contacts (sunset contacts) is made without taking one.`;
    if (run.status === 'pending' || run.status === 'running' || run.status === 'interrupted') return 'Verify becomes possible once the run has counted its contacts’ transactions, which it does as it starts.';
    return `This run cannot be verified. ${none} (it was applied with --no-fingerprint).`;
  }
  function renderVerify(): void {
    if (!verifiable) {
      verifyBody.replaceChildren(h('p', { class: 'muted', testid: 'verify-unavailable' }, notVerifiableText()));
      return;
    }
    let button: HTMLElement;
    if (VERIFY_STATUSES.has(run.status)) {
      const verifyBtn: HTMLButtonElement = h('button', { type: 'button', class: 'btn needs-approver', testid: 'run-verify', disabled: Boolean(verifying), onclick: () => void startVerify(verifyBtn) }, verification ? 'Verify again' : 'Verify');
      button = verifyBtn;
    } else button = h('span', { class: 'muted', testid: 'verify-later' }, 'Verify once the run is done or paused.');
    fill(verifyBody,
      h('p', { class: 'help' }, 'Compares, for every contact of this run, how many transactions of each type it has and their total with the counts taken before the run. A difference where the contact traded since is explained; any other is a loss. It reads Zoho Books, so it costs API calls.'),
      h('div', { class: 'actions' }, button,
        verifying ? h('span', { class: 'status', role: 'status', testid: 'verify-progress' }, badge('running', 'verifying'), ' ', verifying.message) : null,
        verifyError ? h('span', { class: 'status status-error', testid: 'verify-error' }, verifyError) : null),
      verification
        ? verificationView(fmt, verification, { nameOf, contactUrl })
        : h('p', { class: 'muted', testid: 'verify-none' }, 'Not verified yet.'));
  }
  async function startVerify(button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    verifyError = null;
    verifying = { message: 'starting…' };
    renderVerify();
    try {
      await api.verify(runId, { expect: [409] });
    } catch (err) {
      if (!view.alive) return;
      // 409: already being verified (its events follow here), or nothing to compare with.
      verifying = null;
      verifyError = err instanceof ApiError && err.status === 409 ? err.message : 'Could not start the verification.';
      renderVerify();
    }
  }

  // Steps table.
  const search = h('input', { type: 'search', placeholder: 'Name or contact id', testid: 'steps-search', 'aria-label': 'Search steps by name or contact id' });
  const stateFilter = h('select', { testid: 'steps-state-filter', 'aria-label': 'Filter steps by state' },
    h('option', { value: '' }, 'All states'),
    STEP_STATES.map((s) => h('option', { value: s }, s.replace('_', ' '))));
  const shownCount = h('span', { class: 'muted', testid: 'steps-count', 'aria-live': 'polite' });
  const table = createVirtualTable<StepRecord>({
    label: 'Steps of this run',
    testid: 'run-steps',
    emptyText: 'No step matches.',
    columns: [
      { label: '#', width: '56px', num: true },
      { label: 'Contact' },
      { label: 'Contact ID', width: '172px', cls: 'id' },
      { label: 'Type', width: '90px' },
      { label: 'Action', width: '108px' },
      { label: 'State', width: '112px' },
      { label: 'Skip reason or error', width: '26%' },
      { label: 'Tries', width: '60px', num: true },
      { label: 'Finished', width: '184px', cls: 'finished' },
      // Only where there is a Zoho Books web app (not on an emulator): no dead links.
      contactUrl ? { label: 'Zoho Books', width: '150px', cls: 'books' } : null,
    ],
    renderRow: (s) => h('tr', { testid: 'step-row', dataset: { contactId: s.contactId, seq: String(s.seq), state: stepKey(s) } },
      td(String(s.seq), 'num'),
      td(s.contactName, 'ellipsis'),
      td(s.contactId, 'id col-id'),
      td(s.contactType),
      td(h('span', { class: `action action-${s.action}` }, s.action)),
      td(badge(stepKey(s))),
      td(s.lastError ? h('span', { class: 'text-bad', title: s.lastError }, s.lastError) : s.skipReason ? h('span', { title: s.skipReason }, s.skipReason) : '', 'ellipsis'),
      td(count(s.attempts), 'num'),
      td(s.finishedAt ? timeEl(fmt, s.finishedAt) : '', 'col-finished nowrap'),
      contactUrl ? td(booksLink(contactUrl, s.contactId), 'col-books nowrap') : null),
  });
  view.cleanup(() => table.dispose());
  function filterSteps(): void {
    const q = search.value.trim().toLowerCase();
    const st = stateFilter.value;
    const out = steps.filter((s) => (!st || stepKey(s) === st) && (!q || s.contactName.toLowerCase().includes(q) || s.contactId.includes(q)));
    table.setItems(out, { keepScroll: true });
    shownCount.textContent = out.length === steps.length ? plural(steps.length, 'step') : `${count(out.length)} of ${plural(steps.length, 'step')}`;
  }
  const filterSoon = debounce(filterSteps, 150);
  search.addEventListener('input', () => filterSoon());
  stateFilter.addEventListener('change', filterSteps);
  view.cleanup(filterSoon.cancel);

  function take(d: RunDetail): void {
    run = d.run;
    counts = d.counts;
    steps = d.steps;
    verification = d.verification;
    verifiable = d.verifiable;
    undoneBy = d.undoneBy;
  }
  async function reloadNow(): Promise<void> {
    const d = await api.run(runId);
    if (!view.alive) return;
    take(d);
    renderHead();
    filterSteps();
  }
  const reloadSteps = throttle(() => {
    if (!document.hidden) void reloadNow().catch(() => undefined);
  }, 3000);
  view.cleanup(reloadSteps.cancel);

  fill(view.main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/runs' }, 'Runs'), ' / '),
    h('div', { class: 'page-head' }, h('h1', null, 'Run ', h('span', { class: 'id', testid: 'run-id' }, runId)), stateSlot, actions),
    statusNote,
    meta,
    h('section', { class: 'panel', 'aria-label': 'Progress' }, progressSlot, numbers, liveLine),
    h('section', { class: 'panel verify-panel', 'aria-labelledby': 'verify-h', testid: 'verify-panel' }, h('h2', { id: 'verify-h' }, 'Verify: no history lost'), verifyBody),
    h('section', { 'aria-labelledby': 'steps-h' },
      h('h2', { id: 'steps-h' }, 'Steps'),
      h('div', { class: 'toolbar' }, search, stateFilter, shownCount),
      table.el));
  renderHead();
  filterSteps();

  view.onEvent((event) => {
    if (event.type === 'webhook' || event.type === 'review' || event.data.runId !== runId) return;
    if (event.type === 'job' && event.data.kind === 'verify') {
      const data = event.data;
      if (data.state === 'running') {
        verifying = { message: data.message ?? 'working…' };
        verifyError = null;
        renderVerify();
      } else {
        // Done (the result is saved before this event) or failed: the page reads the result.
        verifying = null;
        verifyError = data.state === 'failed' ? `The verification failed: ${data.message ?? 'unknown error'}` : null;
        renderVerify();
        void reloadNow().catch(() => undefined);
      }
      return;
    }
    if (event.type !== 'run') return;
    const data = event.data;
    const wasActive = isApplying();
    applyRunEvent(run, data);
    if (data.counts) counts = data.counts;
    liveInfo = liveOf(data);
    renderHead();
    if ((wasActive && !isApplying()) || data.error) void reloadNow().catch(() => undefined);
    else reloadSteps();
  });
  // Events are the fast path, not the only one: an event sent between this page's first read and
  // its subscription (a short run finishing as the page opens), or lost to a dropped connection,
  // must not leave the page on a state that is over. While the run is not finished, read it again
  // every few seconds.
  const fallback = window.setInterval(() => {
    if (!view.alive || document.hidden || !ACTIVE_RUN_STATES.has(run.state)) return;
    void reloadNow().catch(() => undefined);
  }, 4000);
  view.cleanup(() => window.clearInterval(fallback));
}
