/** `#/audit`: every status change Sunset made, newest first; searchable, filtered by organization, downloadable as CSV. */
import type { AuditRow, OrganizationView } from '../../../api-types.js';
import type { App, RouteArgs, View } from '../app.js';
import { enc, h, td } from '../dom.js';
import { toDate } from '../format.js';
import { debounce } from '../timing.js';
import { badge, idText, kv, loading, organizationMap, organizationName, organizationSelect, pageHead, timeEl } from '../widgets/parts.js';
import { createVirtualTable } from '../widgets/virtual-table.js';

export async function auditView(app: App, view: View, { query }: RouteArgs): Promise<void> {
  const { api, fmt } = app;
  const { count, plural } = fmt;
  app.setTitle('Audit');
  let organization = query.get('org') ?? '';
  const csv = h('a', { class: 'btn', testid: 'audit-csv', download: '' }, 'Download CSV');
  const setCsv = (): void => {
    csv.href = api.auditCsvHref(organization);
  };
  setCsv();
  view.main.append(pageHead('Audit', csv), loading());
  const organizations = await api.organizations().catch((): OrganizationView[] => []);
  if (!view.alive) return;
  const byId = organizationMap(organizations);
  const search = h('input', { type: 'search', placeholder: 'Contact, id, who or why', testid: 'audit-search', 'aria-label': 'Search the audit trail' });
  const countEl = h('span', { class: 'muted', testid: 'audit-count', 'aria-live': 'polite' });
  let all: AuditRow[] = [];
  const runLink = (r: AuditRow): HTMLElement | string => (r.run_id ? h('a', { href: `#/runs/${enc(r.run_id)}`, class: 'id', title: r.run_kind ? `${r.run_kind} run` : null }, r.run_id) : '');
  const table = createVirtualTable<AuditRow>({
    label: 'Audit trail',
    testid: 'audit-table',
    emptyText: 'No change recorded.',
    onActivate: (r) => app.evidence.show(r.contact_name || 'Change', kv([
      ['When', timeEl(fmt, r.when)],
      ['Who', r.who],
      ['Organization', `${organizationName(byId, r.organization_id)} (${r.organization_id})`],
      ['Contact ID', idText(r.contact_id)],
      ['Change', h('span', null, badge(r.from), ' → ', badge(r.to))],
      ['Why', r.why],
      ['Run', r.run_id ? h('a', { href: `#/runs/${enc(r.run_id)}`, class: 'id' }, r.run_id) : '—'],
      ['Run kind', r.run_kind || '—'],
    ], 'kv-stack')),
    columns: [
      { label: 'When', width: '200px' },
      { label: 'Who', width: '96px' },
      { label: 'Organization', width: '150px' },
      { label: 'Contact' },
      { label: 'Contact ID', width: '168px', cls: 'id' },
      { label: 'Change', width: '176px' },
      { label: 'Why', width: '20%' },
      { label: 'Run', width: '140px' },
    ],
    renderRow: (r) => h('tr', { testid: 'audit-row', class: 'clickable', dataset: { contactId: r.contact_id } },
      td(timeEl(fmt, r.when), 'nowrap'),
      td(r.who, 'ellipsis'),
      td(organizationName(byId, r.organization_id), 'ellipsis'),
      td(r.contact_name, 'ellipsis'),
      td(r.contact_id, 'id col-id'),
      td(h('span', { class: 'change' }, badge(r.from), ' → ', badge(r.to))),
      td(h('span', { title: r.why }, r.why), 'ellipsis'),
      td(runLink(r), 'ellipsis')),
  });
  view.cleanup(() => table.dispose());
  function show(): void {
    const q = search.value.trim().toLowerCase();
    const out = q ? all.filter((r) => [r.contact_name, r.contact_id, r.who, r.why, r.run_id].some((v) => v.toLowerCase().includes(q))) : all;
    table.setItems(out);
    countEl.textContent = out.length === all.length ? plural(all.length, 'change') : `${count(out.length)} of ${plural(all.length, 'change')}`;
  }
  // The people's decisions (approvals and the contacts they excluded, undo, settings, grouping):
  // the activity log of what this user may see.
  const decisions = h('div', { class: 'table-wrap', testid: 'audit-actions' });
  async function loadActions(): Promise<void> {
    const actions = await api.actions(organization, { silent: true }).catch(() => []);
    if (!view.alive) return;
    decisions.replaceChildren(actions.length === 0
      ? h('p', { class: 'muted' }, 'No decision recorded yet.')
      : h('table', { class: 'grid compact' },
        h('thead', null, h('tr', null, h('th', null, 'When'), h('th', null, 'Who'), h('th', null, 'What'), h('th', null, 'Organization'), h('th', null, 'About'))),
        h('tbody', null, actions.slice(0, 200).map((a) => h('tr', { testid: 'audit-action-row', dataset: { action: a.action } },
          td(timeEl(fmt, a.at), 'nowrap'), td(a.who), td(a.action),
          td(a.organizationId ? organizationName(byId, a.organizationId) : '—'),
          td(a.subject && a.subject.startsWith('run-') ? h('a', { href: `#/runs/${enc(a.subject)}`, class: 'id' }, a.subject) : a.subject && a.subject.startsWith('plan_') ? h('a', { href: `#/plans/${enc(a.subject)}`, class: 'id' }, a.subject) : (a.subject ?? '—'), 'ellipsis'))))));
  }
  async function load(): Promise<void> {
    countEl.textContent = 'Loading…';
    void loadActions();
    const rows = await api.audit(organization);
    if (!view.alive) return;
    const when = (r: AuditRow): number => toDate(r.when)?.date.getTime() ?? 0;
    all = rows.slice().sort((a, b) => when(b) - when(a));
    show();
  }
  const searchSoon = debounce(show, 150);
  view.cleanup(searchSoon.cancel);
  search.addEventListener('input', () => searchSoon());
  view.main.querySelector('.loading')?.remove();
  view.main.append(
    h('p', { class: 'help' }, 'Every status change Sunset made: who approved it, when, which contact, from what to what, and why. Newest first; click a row for all of it.'),
    h('div', { class: 'toolbar' }, organizationSelect(organizations, organization, 'audit-organization-filter', (v) => {
      organization = v;
      setCsv();
      app.setHashQuery({ org: organization });
      void load().catch(() => undefined);
    }), search, countEl),
    table.el,
    h('section', { class: 'panel', 'aria-labelledby': 'decisions-h' },
      h('h2', { id: 'decisions-h' }, 'Who decided what'),
      h('p', { class: 'help' }, 'Approvals (with the contacts taken out of the plan), undo, resume and stop, settings changes and grouping, with the person who did it.'),
      decisions));
  await load();
}
