/** The table of runs (the runs page, an organization's settings), newest first, kept live by `run` events. */
import type { OrganizationView, RunListItem, RunProgress } from '../../../api-types.js';
import { enc, h, td } from '../dom.js';
import type { Format } from '../format.js';
import { badge, organizationName, timeEl } from './parts.js';
import { applyRunEvent, progressBar, progressOf, runStatusNote } from './run-status.js';

export interface RunsTable {
  readonly el: HTMLElement;
  /** Applies a `run` event; false when the run is not in this table. */
  applyEvent(data: RunProgress): boolean;
}

export function runsTable(fmt: Format, list: readonly RunListItem[], organizationsById: ReadonlyMap<string, OrganizationView>, { showOrganization = true } = {}): RunsTable {
  const { count } = fmt;
  const sorted = [...list].sort((a, b) => b.run.createdAt - a.run.createdAt);
  const tbody = h('tbody');
  const rows = new Map<string, { entry: RunListItem; tr: HTMLTableRowElement }>();
  const row = (entry: RunListItem): HTMLTableRowElement => {
    const r = entry.run;
    const c = entry.counts;
    const p = progressOf(c);
    const note = runStatusNote(r);
    return h('tr', { testid: 'run-row', dataset: { runId: r.runId, state: r.state, status: r.status } },
      td(h('a', { href: `#/runs/${enc(r.runId)}`, class: 'id' }, r.runId)),
      showOrganization ? td(organizationName(organizationsById, r.organizationId)) : null,
      td(r.kind === 'undo' && r.undoOf ? h('span', null, 'undo of ', h('a', { href: `#/runs/${enc(r.undoOf)}`, class: 'id' }, r.undoOf)) : r.kind),
      td(h('span', { testid: 'run-row-status', title: note }, badge(r.status)), 'nowrap'),
      td(timeEl(fmt, r.createdAt), 'nowrap'),
      td(r.createdBy),
      td(h('div', { class: 'mini-progress' }, progressBar(fmt, c), h('span', { class: 'num' }, `${count(p.done)} / ${count(p.total)}`))),
      td(count(c.changed), 'num'),
      td(count(c.unchanged), 'num'),
      td(count(c.skipped), 'num'),
      td(count(c.failed), `num${c.failed ? ' text-bad' : ''}`));
  };
  for (const entry of sorted) {
    const tr = row(entry);
    rows.set(entry.run.runId, { entry, tr });
    tbody.append(tr);
  }
  // One line under the table says what the states that need a hand mean.
  const notes = h('p', { class: 'help', testid: 'runs-status-note' });
  const renderNotes = (): void => {
    const runs = [...rows.values()].map(({ entry }) => entry.run);
    const parts: string[] = [];
    if (runs.some((r) => r.status === 'interrupted')) {
      parts.push('Interrupted: no process is applying the run (the service or the command line stopped while it ran); the service resumes it when it starts, and Resume on its page continues it now.');
    }
    if (runs.some((r) => r.status === 'pending' && !r.applying)) {
      parts.push('Pending without a process applying it: approved just before the service stopped; the service starts it when it starts, and Resume on its page starts it now.');
    }
    notes.textContent = parts.join(' ');
    notes.hidden = parts.length === 0;
  };
  renderNotes();
  const th = (text: string, num = false): HTMLElement => h('th', { scope: 'col', class: num ? 'num' : null }, text);
  const table = h('table', { class: 'grid', testid: 'runs-table' },
    h('thead', null, h('tr', null,
      th('Run'), showOrganization ? th('Organization') : null, th('Kind'), th('State'), th('Created'), th('By'), th('Progress'),
      th('Changed', true), th('Unchanged', true), th('Skipped', true), th('Failed', true))),
    tbody);
  return {
    el: h('div', null, h('div', { class: 'table-wrap' }, table), notes),
    applyEvent(data) {
      const known = rows.get(data.runId);
      if (!known) return false;
      applyRunEvent(known.entry.run, data);
      if (data.counts) known.entry.counts = data.counts;
      const tr = row(known.entry);
      known.tr.replaceWith(tr);
      known.tr = tr;
      renderNotes();
      return true;
    },
  };
}
