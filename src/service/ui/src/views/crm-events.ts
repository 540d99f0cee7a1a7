/** `#/webhooks`: the latest 500 CRM events with their state, live; filtered by organization. */
import type { OrganizationView, WebhookEventView } from '../../../api-types.js';
import type { App, RouteArgs, View } from '../app.js';
import { enc, h, td } from '../dom.js';
import { throttle } from '../timing.js';
import { badge, loading, organizationMap, organizationName, organizationSelect, pageHead, timeEl } from '../widgets/parts.js';

const HEADINGS = ['Received', 'Organization', 'CRM id', 'Books contact', 'CRM status', 'Action', 'State', 'Run', 'Tries', 'Last error', 'Event'];

export async function crmEventsView(app: App, view: View, { query }: RouteArgs): Promise<void> {
  const { api, fmt } = app;
  app.setTitle('CRM events');
  let organization = query.get('org') ?? '';
  view.main.append(pageHead('CRM events'), loading());
  const organizations = await api.organizations().catch((): OrganizationView[] => []);
  if (!view.alive) return;
  const byId = organizationMap(organizations);
  const holder = h('div', { class: 'table-wrap' });
  const countEl = h('span', { class: 'muted', testid: 'webhooks-count' });
  const rowsById = new Map<string, { ev: WebhookEventView; tr: HTMLTableRowElement }>();
  const row = (ev: WebhookEventView): HTMLTableRowElement => h('tr', { testid: 'webhook-row', dataset: { eventId: ev.eventId, state: ev.state } },
    td(timeEl(fmt, ev.receivedAt), 'nowrap'),
    td(organizationName(byId, ev.organizationId)),
    td(ev.crmAccountId ?? ev.crmContactId ?? '', 'id'),
    td(ev.booksContactId ?? h('span', { class: 'muted' }, '—'), 'id'),
    td(ev.status),
    td(ev.action ?? ''),
    td(h('span', { testid: 'webhook-state' }, badge(ev.state))),
    td(ev.runId ? h('a', { href: `#/runs/${enc(ev.runId)}`, class: 'id', testid: 'webhook-run-link' }, ev.runId) : ''),
    td(h('span', { testid: 'webhook-tries' }, fmt.count(ev.attempts)), 'num'),
    td(ev.lastError ? h('span', { class: 'text-bad' }, ev.lastError) : '', 'wrap'),
    td(ev.eventId, 'id muted'));
  async function load(): Promise<void> {
    const list = await api.webhooks(organization);
    if (!view.alive) return;
    const events = list.slice().sort((a, b) => b.receivedAt - a.receivedAt);
    rowsById.clear();
    countEl.textContent = fmt.plural(events.length, 'event');
    if (!events.length) {
      holder.replaceChildren(h('p', { class: 'muted', testid: 'webhooks-empty' }, 'No CRM event yet. Set up the webhook in an organization’s settings.'));
      return;
    }
    const tbody = h('tbody');
    for (const ev of events) {
      const tr = row(ev);
      rowsById.set(ev.eventId, { ev, tr });
      tbody.append(tr);
    }
    holder.replaceChildren(h('table', { class: 'grid', testid: 'webhooks-table' },
      h('thead', null, h('tr', null, HEADINGS.map((t) => h('th', { scope: 'col', class: t === 'Tries' ? 'num' : null }, t)))),
      tbody));
  }
  const reload = throttle(() => void load().catch(() => undefined), 1500);
  view.cleanup(reload.cancel);
  view.main.querySelector('.loading')?.remove();
  view.main.append(
    h('p', { class: 'help' }, 'The latest 500 events the CRM sent. States: accepted (queued), applied (contact changed), unchanged (already so), unmatched (no linked Books contact), ignored (status not in the mapping), duplicate (seen before), failed (after retries).'),
    h('div', { class: 'toolbar' }, organizationSelect(organizations, organization, 'webhooks-organization-filter', (v) => {
      organization = v;
      app.setHashQuery({ org: organization });
      void load().catch(() => undefined);
    }), countEl),
    holder);
  view.onEvent((event) => {
    if (event.type !== 'webhook') return;
    if (organization && event.data.organizationId !== organization) return;
    const known = rowsById.get(event.data.eventId);
    if (known) {
      known.ev.state = event.data.state;
      const tr = row(known.ev);
      tr.classList.add('flash');
      known.tr.replaceWith(tr);
      known.tr = tr;
    }
    reload();
  });
  await load();
}
