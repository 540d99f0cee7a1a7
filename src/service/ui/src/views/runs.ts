/** `#/runs`: every run, newest first, live; filtered by organization (`?org=`). */
import type { OrgView } from '../../../api-types.js';
import type { App, RouteArgs, View } from '../app.js';
import { h } from '../dom.js';
import { throttle } from '../timing.js';
import { loading, orgMap, orgSelect, pageHead } from '../widgets/parts.js';
import { runsTable, type RunsTable } from '../widgets/runs-table.js';

export async function runsView(app: App, view: View, { query }: RouteArgs): Promise<void> {
  const { api } = app;
  app.setTitle('Runs');
  let org = query.get('org') ?? '';
  const holder = h('div');
  view.main.append(pageHead('Runs'), loading());
  const orgs = await api.orgs().catch((): OrgView[] => []);
  if (!view.alive) return;
  const byId = orgMap(orgs);
  let table: RunsTable | null = null;
  async function load(): Promise<void> {
    holder.replaceChildren(loading());
    const list = await api.runs(org);
    if (!view.alive) return;
    table = list.length ? runsTable(app.fmt, list, byId) : null;
    holder.replaceChildren(table?.el ?? h('p', { class: 'muted', testid: 'runs-empty' }, 'No run yet. Runs start when a plan is approved, undone, or applied by a schedule or a CRM event.'));
  }
  view.main.querySelector('.loading')?.remove();
  view.main.append(h('div', { class: 'toolbar' }, orgSelect(orgs, org, 'runs-org-filter', (v) => {
    org = v;
    app.setHashQuery({ org });
    void load().catch(() => undefined);
  })), holder);
  const reload = throttle(() => void load().catch(() => undefined), 2000);
  view.cleanup(reload.cancel);
  view.onEvent((event) => {
    if (event.type !== 'run') return;
    if (org && event.data.organizationId !== org) return;
    if (!table || !table.applyEvent(event.data)) reload();
  });
  await load();
}
