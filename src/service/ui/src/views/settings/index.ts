/** `#/orgs/ORG`: an organization's settings: its policy, schedule and CRM webhook, and its runs. */
import type { RunListItem } from '../../../../api-types.js';
import type { App, RouteArgs, View } from '../../app.js';
import { enc, h } from '../../dom.js';
import { idText, loading, organizationMap, pageHead } from '../../widgets/parts.js';
import { runsTable } from '../../widgets/runs-table.js';
import { policySection } from './policy.js';
import { scheduleSection } from './schedule.js';
import { webhookSection } from './webhook.js';

export async function settingsView(app: App, view: View, { params: [organizationId = ''] }: RouteArgs): Promise<void> {
  const { api } = app;
  app.setTitle('Organization settings');
  view.main.append(loading());
  const [organizations, runs] = await Promise.all([api.organizations(), api.runs(organizationId).catch((): RunListItem[] => [])]);
  if (!view.alive) return;
  view.main.replaceChildren();
  const organization = organizations.find((o) => o.organizationId === organizationId);
  if (!organization) {
    view.main.append(pageHead('Organization not found'), h('p', null, `No organization ${organizationId} is connected. `, h('a', { href: '#/' }, 'See all organizations.')));
    return;
  }
  app.setTitle(`${organization.name} settings`);
  const jump = (id: string) => (e: MouseEvent): void => {
    e.preventDefault();
    document.getElementById(id)?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };
  const here = `#/orgs/${enc(organizationId)}`;
  view.main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Organizations'), ' / '),
    pageHead(organization.name, h('div', { class: 'card-sub' }, idText(organizationId), organization.plan ? h('span', { class: 'chip' }, `Zoho ${organization.plan}`) : null)),
    h('nav', { class: 'toc', 'aria-label': 'On this page' },
      h('a', { href: here, onclick: jump('policy') }, 'Policy'),
      h('a', { href: here, onclick: jump('schedule') }, 'Schedule'),
      h('a', { href: here, onclick: jump('webhook') }, 'CRM webhook'),
      h('a', { href: here, onclick: jump('runs') }, 'Runs')),
    h('p', { class: 'callout role-note role-note-admin', testid: 'settings-role-note' }, 'You can read these settings; changing them needs the admin role.'),
    policySection(app, view, organization),
    scheduleSection(app, organization),
    webhookSection(app, organization),
    h('section', { class: 'panel', id: 'runs', 'aria-labelledby': 'runs-h' },
      h('h2', { id: 'runs-h' }, 'Runs'),
      runs.length ? runsTable(app.fmt, runs, organizationMap(organizations), { showOrganization: false }).el : h('p', { class: 'muted' }, 'No run yet.')));
}
