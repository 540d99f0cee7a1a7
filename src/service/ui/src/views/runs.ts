/** `#/runs`: every run, newest first, live; filtered by organization (`?org=`). */
import type { OrganizationView } from '../../../api-types.js';
import type { App, RouteArgs, View } from '../app.js';
import { h } from '../dom.js';
import { throttle } from '../timing.js';
import { loading, organizationMap, organizationSelect, pageHead } from '../widgets/parts.js';
import { runsTable, type RunsTable } from '../widgets/runs-table.js';

export async function runsView(app: App, view: View, { query }: RouteArgs): Promise<void> {
  const { api } = app;
  app.setTitle('Runs');
  let organization = query.get('org') ?? '';
  const holder = h('div');
  view.main.append(pageHead('Runs'), loading());
  const organizations = await api.organizations().catch((): OrganizationView[] => []);
  if (!view.alive) return;
  const byId = organizationMap(organizations);
  let table: RunsTable | null = null;
  async function load(): Promise<void> {
    holder.replaceChildren(loading());
    const list = await api.runs(organization);
    if (!view.alive) return;
    table = list.length ? runsTable(app.fmt, list, byId) : null;
    holder.replaceChildren(table?.el ?? h('p', { class: 'muted', testid: 'runs-empty' }, 'No run yet. Runs start when a plan is approved, undone, or applied by a schedule or a CRM event.'));
  }
  view.main.querySelector('.loading')?.remove();
  view.main.append(h('div', { class: 'toolbar' }, organizationSelect(organizations, organization, 'runs-organization-filter', (v) => {
    organization = v;
    app.setHashQuery({ org: organization });
    void load().catch(() => undefined);
  })), holder);
  const reload = throttle(() => void load().catch(() => undefined), 2000);
  view.cleanup(reload.cancel);
  view.onEvent((event) => {
    if (event.type !== 'run') return;
    if (organization && event.data.organizationId !== organization) return;
    if (!table || !table.applyEvent(event.data)) reload();
  });
  await load();
}
