/** `#/orgs/ORG`: an organization's settings: its policy, schedule and CRM webhook, and its runs. */
import type { RunListItem } from '../../../../api-types.js';
import type { App, RouteArgs, View } from '../../app.js';
import { enc, h } from '../../dom.js';
import { idText, loading, orgMap, pageHead } from '../../widgets/parts.js';
import { runsTable } from '../../widgets/runs-table.js';
import { policySection } from './policy.js';
import { scheduleSection } from './schedule.js';
import { webhookSection } from './webhook.js';

export async function settingsView(app: App, view: View, { params: [orgId = ''] }: RouteArgs): Promise<void> {
  const { api } = app;
  app.setTitle('Organization settings');
  view.main.append(loading());
  const [orgs, runs] = await Promise.all([api.orgs(), api.runs(orgId).catch((): RunListItem[] => [])]);
  if (!view.alive) return;
  view.main.replaceChildren();
  const org = orgs.find((o) => o.organizationId === orgId);
  if (!org) {
    view.main.append(pageHead('Organization not found'), h('p', null, `No organization ${orgId} is connected. `, h('a', { href: '#/' }, 'See all organizations.')));
    return;
  }
  app.setTitle(`${org.name} settings`);
  const jump = (id: string) => (e: MouseEvent): void => {
    e.preventDefault();
    document.getElementById(id)?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };
  const here = `#/orgs/${enc(orgId)}`;
  view.main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Organizations'), ' / '),
    pageHead(org.name, h('div', { class: 'card-sub' }, idText(orgId), org.plan ? h('span', { class: 'chip' }, `Zoho ${org.plan}`) : null)),
    h('nav', { class: 'toc', 'aria-label': 'On this page' },
      h('a', { href: here, onclick: jump('policy') }, 'Policy'),
      h('a', { href: here, onclick: jump('schedule') }, 'Schedule'),
      h('a', { href: here, onclick: jump('webhook') }, 'CRM webhook'),
      h('a', { href: here, onclick: jump('runs') }, 'Runs')),
    policySection(app, view, org),
    scheduleSection(app, org),
    webhookSection(app, org),
    h('section', { class: 'panel', id: 'runs', 'aria-labelledby': 'runs-h' },
      h('h2', { id: 'runs-h' }, 'Runs'),
      runs.length ? runsTable(app.fmt, runs, orgMap(orgs), { showOrg: false }).el : h('p', { class: 'muted' }, 'No run yet.')));
}
