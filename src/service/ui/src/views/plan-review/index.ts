/**
 * `#/plans/PLAN`: a plan's review. The summary, the months-since chart, the effect and the
 * exclusions by reason are drawn from the small plan document; every step and exclusion (tens of
 * thousands) arrives in one rows document meanwhile and goes into a virtual table: search, filters,
 * sort, each contact's evidence, exclusions by the reviewer (kept in the tab until approval), and
 * approval into a run. Ready (the rows drawn) in well under a second for 10,000+ steps:
 * docs/benchmarks.md, bench/review-page.ts.
 */
import type { OrganizationView, PlanRow } from '../../../../api-types.js';
import { exclusionReasonLabel } from '../../../../../engine/report/exclusion-reasons.js';
import { ApiError } from '../../api.js';
import type { App, RouteArgs, View } from '../../app.js';
import { enc, fill, h, td } from '../../dom.js';
import { toDate } from '../../format.js';
import { debounce } from '../../timing.js';
import { confirmDialog } from '../../widgets/dialog.js';
import { badge, idText, kv, loading, timeEl } from '../../widgets/parts.js';
import { createVirtualTable } from '../../widgets/virtual-table.js';
import { approvedCallout } from './approved.js';
import { evidenceContent } from './evidence.js';
import { createExclusions } from './exclusions.js';
import { planOverview, summaryCards } from './overview.js';
import {
  CREATED, CREDITS, EFFECT, ID, isStep, LAST_DATE, LAST_WORDS, MONEY_COLUMNS, NAME, PAYABLE, RECEIVABLE, REASONS, reasonsOf, TYPE, type SortKey,
} from './rows.js';

export async function planReviewView(app: App, view: View, { params: [planId = ''] }: RouteArgs): Promise<void> {
  const { api, fmt } = app;
  const { count, plural, money } = fmt;
  app.setTitle(`Plan ${planId}`);
  const started = performance.now();
  view.main.append(loading('Loading the plan…'));
  // The rows document is large (about 210 bytes a contact; an eighth of that as sent, compressed):
  // it downloads while the rest of the page is drawn from the small plan document.
  const rowsPromise = api.planRows(planId, { silent: true });
  rowsPromise.catch(() => undefined);
  const [planDoc, organizations] = await Promise.all([api.plan(planId), api.organizations({ silent: true }).catch((): OrganizationView[] => [])]);
  if (!view.alive) return;
  const { plan } = planDoc;
  const runId = planDoc.runId;
  const organizationId = plan.organizationId;
  const organization = organizations.find((o) => o.organizationId === organizationId);
  const organizationLabel = organization ? `${organization.name} (${organizationId})` : organizationId;
  const locked = runId !== null;
  // Null on an emulator: no Zoho Books web app to open a contact in.
  const contactUrl = planDoc.contactUrl || null;
  app.setTitle(`Plan review · ${organization ? organization.name : organizationId}`);

  // Rows stay the arrays the server sent: fields by column (rows.ts).
  let rows: PlanRow[] = [];
  let stepCount = 0;
  /** Lowercased "name\0id" per row, made on the first search. */
  let keys: string[] | null = null;
  /** Creation times per row, made on the first sort by them. */
  let createdMs: Float64Array | null = null;

  // Contacts the reviewer excludes; kept in this tab until approval so a reload does not lose them.
  const excluded = createExclusions(planId, locked);

  // View state: `order` holds row indexes in sort order (null: as the plan lists them).
  const filters = { q: '', effect: '', type: '', reason: '' };
  let sort: { key: SortKey; dir: 'asc' | 'desc' } | null = null;
  let order: number[] | null = null;
  let shown: PlanRow[] = [];

  const cards = summaryCards(fmt, plan);

  // Toolbar.
  const search = h('input', { type: 'search', placeholder: 'Search name or contact id  ( / )', testid: 'plan-search', 'aria-label': 'Search contacts by name or id', autocomplete: 'off' });
  const effectSel = h('select', { testid: 'filter-effect', 'aria-label': 'Filter by effect' },
    h('option', { value: '' }, 'All effects'),
    h('option', { value: 'deactivate' }, 'deactivate'),
    h('option', { value: 'activate' }, 'activate'),
    h('option', { value: 'excluded' }, 'excluded by the policy'),
    h('option', { value: 'mine' }, 'excluded by you'));
  const typeSel = h('select', { testid: 'filter-type', 'aria-label': 'Filter by contact type' }, h('option', { value: '' }, 'All contact types'));
  const reasonSel = h('select', { testid: 'filter-reason', 'aria-label': 'Filter by reason' }, h('option', { value: '' }, 'All reasons'));
  const clearBtn = h('button', {
    type: 'button', class: 'btn btn-small btn-quiet', testid: 'filter-clear',
    onclick: () => {
      search.value = '';
      effectSel.value = typeSel.value = reasonSel.value = '';
      Object.assign(filters, { q: '', effect: '', type: '', reason: '' });
      filter();
    },
  }, 'Clear filters');
  const shownEl = h('span', { testid: 'count-shown' }, '…');
  const totalEl = h('span', { testid: 'count-total' }, '…');
  const excludedEl = h('span', { testid: 'count-excluded' }, '0');
  const changesEl = h('span', { testid: 'count-changes' }, '…');
  const policyExcludedEl = h('span', null, '…');
  const excludeShownBtn = h('button', { type: 'button', class: 'btn btn-small', testid: 'exclude-shown', disabled: true }, 'Exclude all shown');
  const includeShownBtn = h('button', { type: 'button', class: 'btn btn-small', testid: 'include-shown', disabled: true }, 'Include all shown');

  const approveBtn = h('button', { type: 'button', class: 'btn btn-primary btn-large', testid: 'approve-button', disabled: true }, 'Loading the contacts…');
  const approveSlot = h('div', { class: 'approve-slot' });
  if (runId) {
    approveSlot.append(h('span', null, badge('done', 'approved'), ' This plan has a run. '),
      h('a', { href: `#/runs/${enc(runId)}`, class: 'btn btn-primary', testid: 'plan-run-link' }, `Go to run ${runId} →`));
  } else approveSlot.append(approveBtn);
  const approvedEl = runId ? approvedCallout(app, view, { organizationId, runId }) : null;

  // The table.
  const checkboxFor = (r: PlanRow, id: string): HTMLElement => {
    if (!isStep(r)) return h('span', { class: 'muted', title: 'Excluded by the policy: not part of the plan’s changes' }, '–');
    return h('input', {
      type: 'checkbox', class: 'exclude-box', testid: 'exclude-checkbox', checked: excluded.has(id), disabled: locked,
      'aria-label': `Exclude ${r[NAME]}`, title: 'Exclude this contact: leave it as it is',
    });
  };
  const effectBadge = (r: PlanRow): HTMLElement => {
    const effect = r[EFFECT];
    if (isStep(r) && excluded.has(r[ID])) return badge('excluded', 'excluded by you');
    if (effect === 'excluded') return badge('excluded');
    return h('span', { class: `action action-${effect}` }, effect);
  };
  const moneyCell = (n: number): HTMLTableCellElement => td(money(n), `num${n < 0 ? ' negative' : ''}`);
  const table = createVirtualTable<PlanRow>({
    label: 'Contacts in this plan',
    testid: 'plan-table',
    emptyText: 'Loading the contacts…',
    onSort: (key) => sortBy(key as SortKey),
    onActivate: (r) => openEvidence(r),
    onToggle: (r) => toggle(r),
    columns: [
      { label: 'Exclude', width: '68px', cls: 'check', header: h('span', { title: 'Tick to leave a contact as it is' }, 'Exclude') },
      { label: 'Contact', sortKey: 'name' },
      { label: 'Contact ID', width: '160px', cls: 'id' },
      { label: 'Type', width: '92px', cls: 'type' },
      { label: 'Effect', width: '124px', cls: 'effect' },
      { label: 'Reason', width: '132px', cls: 'reason' },
      // The engine's words ("customer payment PAY-000123 on 2024-04-02") need the room.
      { label: 'Last activity', width: '300px', sortKey: 'lastActivity', cls: 'last' },
      { label: 'Receivable', width: '100px', num: true, sortKey: 'receivable', cls: 'money' },
      { label: 'Payable', width: '92px', num: true, sortKey: 'payable', cls: 'money' },
      { label: 'Credits', width: '84px', num: true, sortKey: 'credits', cls: 'money' },
      { label: 'Created', width: '110px', sortKey: 'created', cls: 'created' },
    ],
    renderRow: (r) => {
      const id = r[ID];
      const effect = r[EFFECT];
      const words = r[LAST_WORDS];
      const created = r[CREATED];
      return h('tr', {
        testid: 'plan-row', class: isStep(r) && excluded.has(id) ? 'row-excluded' : effect === 'excluded' ? 'row-policy-excluded' : null,
        dataset: { contactId: id, effect },
      },
      td(checkboxFor(r, id), 'check'),
      td(h('span', { title: r[NAME] }, r[NAME]), 'ellipsis name'),
      td(id, 'id col-id'),
      td(r[TYPE]),
      td(effectBadge(r)),
      td(reasonsOf(r).map(exclusionReasonLabel).join(', '), 'ellipsis'),
      td(h('span', { class: r[LAST_DATE] ? null : 'muted', title: words, testid: 'plan-last-activity' }, words), 'ellipsis last-activity'),
      moneyCell(r[RECEIVABLE]),
      moneyCell(r[PAYABLE]),
      td(money(r[CREDITS]), 'num'),
      td(created ? timeEl(fmt, created, 'date') : '', 'nowrap col-created'));
    },
  });
  view.cleanup(() => table.dispose());

  table.el.addEventListener('change', (e) => {
    const box = e.target;
    if (!(box instanceof HTMLInputElement) || !box.classList.contains('exclude-box')) return;
    const tr = box.closest<HTMLElement>('tr[data-index]');
    const r = tr ? table.items[Number(tr.dataset['index'])] : undefined;
    if (r) setExcluded([r], box.checked);
  });

  function setExcluded(list: readonly PlanRow[], on: boolean): void {
    if (!excluded.set(list, on)) return;
    updateCounts();
    table.refresh();
    if (evidenceRow && app.evidence.isOpen() && list.includes(evidenceRow)) openEvidence(evidenceRow);
  }
  function toggle(r: PlanRow): void {
    if (isStep(r)) setExcluded([r], !excluded.has(r[ID]));
  }

  function updateCounts(): void {
    const changes = stepCount - excluded.size;
    shownEl.textContent = count(shown.length);
    excludedEl.textContent = count(excluded.size);
    changesEl.textContent = count(changes);
    cards.setUserExcluded(excluded.size);
    approveBtn.textContent = `Approve and apply ${plural(changes, 'change')}`;
    approveBtn.disabled = changes <= 0;
    let shownSteps = 0;
    for (const r of shown) if (isStep(r)) shownSteps++;
    excludeShownBtn.textContent = `Exclude all shown (${count(shownSteps)})`;
    excludeShownBtn.disabled = locked || shownSteps === 0;
    includeShownBtn.disabled = locked || excluded.size === 0;
  }

  function filter(): void {
    const { q, effect, type, reason } = filters;
    if (q && !keys) keys = rows.map((r) => `${r[NAME].toLowerCase()}\u0000${r[ID]}`);
    const out: PlanRow[] = [];
    const n = rows.length;
    for (let k = 0; k < n; k++) {
      const i = order ? order[k]! : k;
      const r = rows[i]!;
      if (effect) {
        if (effect === 'mine') {
          if (!excluded.has(r[ID])) continue;
        } else if (r[EFFECT] !== effect) continue;
      }
      if (type && r[TYPE] !== type) continue;
      if (reason && r[REASONS] !== reason && !reasonsOf(r).includes(reason)) continue;
      if (q && !keys![i]!.includes(q)) continue;
      out.push(r);
    }
    shown = out;
    table.setItems(out);
    updateCounts();
  }

  function sortBy(key: SortKey): void {
    if (!rows.length) return;
    if (sort?.key === key) sort.dir = sort.dir === 'asc' ? 'desc' : 'asc';
    else sort = { key, dir: key === 'name' || key === 'lastActivity' ? 'asc' : 'desc' };
    const sign = sort.dir === 'asc' ? 1 : -1;
    let cmp: (a: number, b: number) => number;
    if (key === 'name') cmp = (a, b) => fmt.compare(rows[a]![NAME], rows[b]![NAME]);
    else if (key === 'lastActivity') {
      // No activity counts as the oldest.
      cmp = (a, b) => {
        const x = rows[a]![LAST_DATE] ?? '';
        const y = rows[b]![LAST_DATE] ?? '';
        return x === y ? 0 : x < y ? -1 : 1;
      };
    } else if (key === 'created') {
      const times = createdMs ??= Float64Array.from(rows, (r) => toDate(r[CREATED])?.date.getTime() ?? -Infinity);
      cmp = (a, b) => (times[a] === times[b] ? 0 : times[a]! < times[b]! ? -1 : 1);
    } else {
      const c = MONEY_COLUMNS[key];
      const values = Float64Array.from(rows, (r) => r[c]);
      cmp = (a, b) => values[a]! - values[b]!;
    }
    order = Array.from(rows, (_, i) => i).sort((a, b) => sign * cmp(a, b) || a - b);
    table.setSort(key, sort.dir);
    filter();
  }

  const searchNow = (): void => {
    filters.q = search.value.trim().toLowerCase();
    filter();
  };
  const onSearch = debounce(searchNow, 120);
  view.cleanup(onSearch.cancel);
  search.addEventListener('input', () => onSearch());
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      onSearch.cancel();
      searchNow();
    }
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      table.el.focus();
    }
  });
  effectSel.addEventListener('change', () => {
    filters.effect = effectSel.value;
    filter();
  });
  typeSel.addEventListener('change', () => {
    filters.type = typeSel.value;
    filter();
  });
  reasonSel.addEventListener('change', () => {
    filters.reason = reasonSel.value;
    filter();
  });
  excludeShownBtn.addEventListener('click', () => setExcluded(shown, true));
  includeShownBtn.addEventListener('click', () => setExcluded(shown, false));
  // `/` jumps to the search box (unless typing somewhere already).
  const slash = (e: KeyboardEvent): void => {
    if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return;
    e.preventDefault();
    search.focus();
  };
  document.addEventListener('keydown', slash);
  view.cleanup(() => document.removeEventListener('keydown', slash));

  approveBtn.addEventListener('click', () => void approve());
  async function approve(): Promise<void> {
    const changes = stepCount - excluded.size;
    let deact = 0;
    for (const r of rows) if (r[EFFECT] === 'deactivate' && !excluded.has(r[ID])) deact++;
    const act = changes - deact;
    const ok = await confirmDialog({
      title: `Apply ${plural(changes, 'change')} to ${organization ? organization.name : `organization ${organizationId}`}?`,
      body: [
        h('p', { testid: 'confirm-text' }, 'Organization ', h('strong', null, organizationLabel), ': ',
          `${plural(deact, 'contact')} will be made inactive${act ? ` and ${plural(act, 'contact')} active` : ''} in Zoho Books.`),
        excluded.size ? h('p', null, `${plural(excluded.size, 'contact')} you excluded will be left as they are.`) : null,
        h('p', { class: 'muted' }, 'The run starts at once and works within the organization’s API limits. You can stop it, and undo it afterwards.'),
      ],
      confirmLabel: `Approve and apply ${plural(changes, 'change')}`,
    });
    if (!ok) return;
    approveBtn.disabled = true;
    approveBtn.textContent = 'Starting…';
    try {
      const res = await api.approve(planId, excluded.ids());
      excluded.forget();
      location.hash = `#/runs/${enc(res.runId)}`;
    } catch (err) {
      // Approved meanwhile (another tab or person): the answer names the run.
      if (err instanceof ApiError && err.status === 409 && err.body?.runId) location.hash = `#/runs/${enc(err.body.runId)}`;
      else if (view.alive) updateCounts();
    }
  }

  // Evidence panel.
  let evidenceRow: PlanRow | null = null;
  function openEvidence(r: PlanRow): void {
    evidenceRow = r;
    app.evidence.show(r[NAME] || r[ID], evidenceContent(fmt, r, {
      asOf: plan.asOf, contactUrl, excluded: excluded.has(r[ID]), effectBadge: effectBadge(r), onToggle: locked ? null : () => toggle(r),
    }));
  }

  // Layout: everything but the rows, drawn now.
  const showReason = (code: string): void => {
    reasonSel.value = code;
    filters.reason = code;
    filter();
    table.el.scrollIntoView({ block: 'start', behavior: 'smooth' });
  };
  fill(view.main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Organizations'), ' / ', organization ? h('a', { href: `#/orgs/${enc(organizationId)}` }, organization.name) : organizationId, ' / '),
    h('div', { class: 'page-head' }, h('h1', null, 'Plan review'), runId ? badge('done', 'approved') : badge('pending', 'waiting for review')),
    kv([
      ['Organization', organizationLabel],
      ['Plan', idText(planId)],
      ['Snapshot as of', timeEl(fmt, plan.asOf)],
      ['Activity counted since', plan.cutoffDate ? timeEl(fmt, plan.cutoffDate) : '—'],
    ], 'kv-inline'),
    organization?.latestPlan && organization.latestPlan.planId !== planId && !runId
      ? h('p', { class: 'callout callout-warn', testid: 'plan-outdated' }, 'A newer plan exists for this organization. ', h('a', { href: `#/plans/${enc(organization.latestPlan.planId)}` }, 'Review the latest plan instead.'))
      : null,
    approvedEl ?? h('p', { class: 'note', testid: 'plan-note' }, 'Nothing has changed in Zoho Books yet. Contacts change only when the plan is approved and applied, and every change can be undone.'),
    cards.el,
    planOverview(fmt, plan, showReason),
    h('section', { class: 'review', 'aria-labelledby': 'review-h' },
      h('h2', { id: 'review-h' }, 'Contacts'),
      h('div', { class: 'toolbar' }, search, effectSel, typeSel, reasonSel, clearBtn,
        h('span', { class: 'toolbar-counts', 'aria-live': 'polite' }, shownEl, ' of ', totalEl, ' shown')),
      h('div', { class: 'toolbar toolbar-sub' },
        excludeShownBtn, includeShownBtn,
        h('span', { class: 'muted' }, 'Click a row for its evidence. Keys: ↑ ↓ move, Enter opens, Space excludes.')),
      table.el),
    h('p', { class: 'callout role-note role-note-approver', testid: 'approve-role-note' }, 'You can read this plan; approving it needs the approver role (an admin can give it).'),
    h('div', { class: 'approve-bar needs-approver', testid: 'approve-bar' },
      h('div', { class: 'approve-text' },
        h('strong', null, changesEl, ' changes'), ' to apply · ', excludedEl, ' excluded by you · ', policyExcludedEl, ' excluded by the policy'),
      approveSlot));

  // The rows.
  try {
    rows = (await rowsPromise).rows;
  } catch (err) {
    if (!view.alive) return;
    table.setEmptyText(`The contacts could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
    approveBtn.textContent = 'Contacts not loaded';
    return;
  }
  if (!view.alive) return;
  const reasonCounts = new Map<string, number>();
  const types = new Set<string>();
  for (const r of rows) {
    if (isStep(r)) stepCount++;
    types.add(r[TYPE]);
    const text = r[REASONS];
    if (text === '') continue;
    if (text.indexOf(';') === -1) reasonCounts.set(text, (reasonCounts.get(text) ?? 0) + 1);
    else for (const p of reasonsOf(r)) reasonCounts.set(p, (reasonCounts.get(p) ?? 0) + 1);
  }
  excluded.restore(rows);
  typeSel.append(...[...types].filter(Boolean).sort().map((t) => h('option', { value: t }, t)));
  reasonSel.append(...[...reasonCounts.entries()].sort((a, b) => b[1] - a[1]).map(([code, n]) => h('option', { value: code }, `${exclusionReasonLabel(code)} (${count(n)})`)));
  totalEl.textContent = count(rows.length);
  cards.setPolicyExcluded(rows.length - stepCount);
  policyExcludedEl.textContent = count(rows.length - stepCount);
  table.setEmptyText('No contact matches these filters.');
  filter();
  // Ready once the first frame with the rows is painted (what a person sees and can click).
  requestAnimationFrame(() => window.setTimeout(() => {
    if (!view.alive) return;
    table.el.dataset['ready'] = 'true';
    table.el.dataset['loadMs'] = String(Math.round(performance.now() - started));
    performance.mark('sunset-plan-ready');
  }, 0));
}
