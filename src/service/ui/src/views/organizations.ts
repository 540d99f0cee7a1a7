/**
 * `#/`: one card per organization the user may see, grouped under its client, with its latest
 * scan, pending plan, last run, quota left today, schedule and webhook; scans start here. Filtered
 * by client and sorted (name, last scan, last run, pending plan, quota left) from the toolbar; the
 * choice is kept in the hash (`#/?client=Acme&sort=quota`). An admin groups an organization under
 * a client on its card.
 */
import type { JobProgress, OrganizationView, WebhookSettingsView } from '../../../api-types.js';
import type { App, RouteArgs, View } from '../app.js';
import { enc, h } from '../dom.js';
import { throttle } from '../timing.js';
import { badge, idText, kv, loading, pageHead, timeEl } from '../widgets/parts.js';
import { ACTIVE_RUN_STATES } from '../widgets/run-status.js';

/** A scan this page follows: the latest job event, or the scan it started (until its first event). */
type ScanJob = Pick<JobProgress, 'state' | 'message' | 'planId'>;

/** How the cards can be sorted: the toolbar's choices. */
const SORTS = {
  listed: 'As Zoho lists them',
  name: 'Name',
  scan: 'Last scan (oldest first)',
  run: 'Last run (latest first)',
  pending: 'Pending plan first',
  quota: 'Quota left (least first)',
} as const;
type Sort = keyof typeof SORTS;

export async function organizationsView(app: App, view: View, { query }: RouteArgs): Promise<void> {
  const { api, fmt } = app;
  const { count, plural } = fmt;
  app.setTitle('Organizations');
  let clientFilter = query.get('client') ?? '';
  let sort: Sort = (Object.keys(SORTS) as Sort[]).find((k) => k === query.get('sort')) ?? 'listed';
  const grid = h('div', { class: 'organization-list', testid: 'organization-list' });
  const toolbar = h('div', { class: 'toolbar', testid: 'organizations-toolbar' });
  view.main.append(pageHead('Organizations'), toolbar, grid, loading());
  let organizations = await api.organizations();
  if (!view.alive) return;
  view.main.querySelector('.loading')?.remove();
  /** organizationId → the latest job event (or the scan started here). */
  const jobs = new Map<string, ScanJob>();

  const reload = throttle(async () => {
    try {
      const next = await api.organizations();
      if (!view.alive) return;
      organizations = next;
      render();
    } catch {
      // the banner says it
    }
  }, 1000);
  view.cleanup(reload.cancel);

  const clientNames = (): string[] => [...new Set(organizations.flatMap((o) => (o.client ? [o.client] : [])))].sort((a, b) => a.localeCompare(b));
  const NONE = '\u0000none';
  const sortKey: Record<Sort, (o: OrganizationView) => number | string> = {
    listed: (o) => organizations.indexOf(o),
    name: (o) => (o.name || o.organizationId).toLowerCase(),
    scan: (o) => o.latestSnapshot?.takenAt ?? -Infinity,
    run: (o) => -(o.lastRun?.createdAt ?? -Infinity),
    pending: (o) => (o.latestPlan && !o.latestPlan.runId ? 0 : 1),
    quota: (o) => o.quota?.remaining ?? Infinity,
  };
  const compare = (a: OrganizationView, b: OrganizationView): number => {
    const x = sortKey[sort](a);
    const y = sortKey[sort](b);
    if (x < y) return -1;
    if (x > y) return 1;
    return organizations.indexOf(a) - organizations.indexOf(b);
  };

  function renderToolbar(): void {
    const names = clientNames();
    const clientSel: HTMLSelectElement = h('select', { testid: 'client-filter', onchange: () => {
      clientFilter = clientSel.value;
      app.setHashQuery({ client: clientFilter, sort: sort === 'listed' ? '' : sort });
      render();
    } },
    h('option', { value: '' }, 'All clients'),
    names.map((n) => h('option', { value: n, selected: n === clientFilter }, n)),
    organizations.some((o) => !o.client) ? h('option', { value: NONE, selected: clientFilter === NONE }, 'No client') : null);
    const sortSel: HTMLSelectElement = h('select', { testid: 'organization-sort', onchange: () => {
      sort = sortSel.value as Sort;
      app.setHashQuery({ client: clientFilter, sort: sort === 'listed' ? '' : sort });
      render();
    } }, (Object.keys(SORTS) as Sort[]).map((k) => h('option', { value: k, selected: k === sort }, SORTS[k])));
    toolbar.replaceChildren(
      h('label', { class: 'field-inline' }, h('span', null, 'Client'), clientSel),
      h('label', { class: 'field-inline' }, h('span', null, 'Sort by'), sortSel),
      h('span', { class: 'toolbar-counts', testid: 'organization-count' }, plural(shown().length, 'organization')),
      h('datalist', { id: 'client-names' }, names.map((n) => h('option', { value: n }))));
  }

  const shown = (): OrganizationView[] => organizations.filter((o) => clientFilter === '' || (clientFilter === NONE ? !o.client : o.client === clientFilter));

  function render(): void {
    renderToolbar();
    if (organizations.length === 0) {
      grid.replaceChildren(h('div', { class: 'callout' }, 'No organization is connected yet. Connect one with ', h('code', null, 'sunset auth'), ', then reload this page.'));
      return;
    }
    // Grouped under their clients (by name; those under none last), sorted within each group.
    const groups = new Map<string, OrganizationView[]>();
    for (const o of shown().sort(compare)) groups.set(o.client ?? '', [...(groups.get(o.client ?? '') ?? []), o]);
    const order = [...groups.keys()].sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
    const grouped = order.length > 1 || order[0] !== '';
    grid.replaceChildren(...order.map((client) => h('section', { class: 'client-section', testid: 'client-group', dataset: { client } },
      grouped ? h('h2', { class: 'client-group' }, client || 'No client') : null,
      h('div', { class: 'organization-grid' }, groups.get(client)!.map(organizationCard)))));
  }

  async function setClient(organization: OrganizationView, input: HTMLInputElement, status: HTMLElement): Promise<void> {
    status.textContent = 'Saving…';
    try {
      const saved = await api.setClient(organization.organizationId, input.value.trim(), { expect: [400] });
      if (!view.alive) return;
      organizations = organizations.map((o) => (o.organizationId === saved.organizationId ? saved : o));
      render();
    } catch (error) {
      status.textContent = error instanceof Error ? error.message : String(error);
    }
  }

  function organizationCard(organization: OrganizationView): HTMLElement {
    const id = organization.organizationId;
    const job = jobs.get(id);
    const running = Boolean(organization.activeJob) || job?.state === 'running';
    const scanBtn = !organization.policy.saved
      ? h('a', { href: `#/orgs/${enc(id)}`, class: 'btn btn-primary', testid: 'policy-first', title: 'A scan needs a policy: which contacts are dormant and which are never touched' }, 'Write a policy first')
      : h('button', { type: 'button', class: 'btn btn-primary needs-approver', testid: 'scan-button', disabled: running, onclick: () => void scan(organization) },
        running ? 'Working…' : 'Scan and plan now');
    const status = h('p', { class: 'job-status', role: 'status', testid: 'job-status' });
    if (job) {
      status.append(badge(job.state === 'done' ? 'done' : job.state === 'failed' ? 'failed' : 'running', job.state === 'running' ? 'scanning' : `scan ${job.state}`), ' ', job.message ?? '');
      if (job.state === 'done' && job.planId) status.append(' ', h('a', { href: `#/plans/${enc(job.planId)}`, testid: 'job-plan-link' }, 'Review the new plan →'));
    } else if (organization.activeJob) {
      const { kind } = organization.activeJob;
      status.append(badge('running', kind === 'apply' ? 'applying' : kind === 'verify' ? 'verifying' : 'scanning'), ' ');
      if (kind === 'apply' || kind === 'verify') status.append(h('a', { href: `#/runs/${enc(organization.activeJob.id)}` }, 'Follow the run →'));
    }
    const snap = organization.latestSnapshot;
    const plan = organization.latestPlan;
    const quota = organization.quota;
    const sched = organization.schedule;
    const hook = organization.webhook;
    const limit = quota?.limit;
    const pct = quota && limit && limit > 0 ? Math.max(0, Math.min(100, (quota.remaining / limit) * 100)) : 0;
    const lastRun = organization.lastRun;
    const clientStatus = h('span', { class: 'muted', role: 'status', testid: 'client-status' });
    const clientInput: HTMLInputElement = h('input', {
      type: 'text', value: organization.client ?? '', list: 'client-names', placeholder: 'Client', maxlength: 80, testid: 'client-input',
      'aria-label': `Client of ${organization.name || id}`,
      onkeydown: (e: KeyboardEvent) => {
        if (e.key === 'Enter') void setClient(organization, clientInput, clientStatus);
      },
    });
    const clientRow = h('div', { class: 'client-field needs-admin' }, clientInput,
      h('button', { type: 'button', class: 'btn btn-small', testid: 'client-save', onclick: () => void setClient(organization, clientInput, clientStatus) }, 'Group'), clientStatus);
    return h('article', { class: 'card organization-card', testid: 'organization-card', dataset: { organizationId: id, client: organization.client ?? '' } },
      h('header', { class: 'card-head' },
        h('h2', null, h('a', { href: `#/orgs/${enc(id)}` }, organization.name || id)),
        h('div', { class: 'card-sub' }, idText(id), organization.plan ? h('span', { class: 'chip', title: 'Zoho Books subscription plan' }, `Zoho ${organization.plan}`) : null,
          h('span', { class: 'chip', testid: 'organization-client', title: 'The client it is grouped under' }, organization.client ?? 'no client'))),
      clientRow,
      status,
      organization.connection === undefined ? null : h('p', { class: 'muted', testid: 'organization-connection' },
        'Through ', h('a', { href: '#/connections' }, organization.connection), ` (${organization.target})`,
        organization.connectionError ? h('span', { class: 'callout callout-error block', testid: 'connection-error' }, `The connection fails: ${organization.connectionError}`) : null),
      kv([
        ['Latest scan', snap
          ? h('span', null, timeEl(fmt, snap.takenAt), ` · ${plural(snap.contactCount, 'contact')} · ${plural(snap.apiCalls, 'API call')}`)
          : h('span', { class: 'muted' }, !organization.policy.saved ? 'none yet: write a policy, then scan' : 'none yet: scan to start')],
        ['Latest plan', plan
          ? h('span', { class: 'plan-line' },
            h('span', { testid: 'organization-plan-counts' }, `${plural(plan.steps, 'change')}, ${count(plan.excluded)} excluded`), ' · ',
            plan.runId
              ? h('span', null, badge('done', 'approved'), ' ', h('a', { href: `#/runs/${enc(plan.runId)}` }, 'run'), ' · ', h('a', { href: `#/plans/${enc(plan.planId)}`, testid: 'review-link' }, 'view plan'))
              : h('a', { href: `#/plans/${enc(plan.planId)}`, class: 'strong', testid: 'review-link' }, 'Review →'))
          : h('span', { class: 'muted' }, 'none yet')],
        ['Last run', lastRun
          ? h('span', { testid: 'organization-last-run' }, badge(lastRun.status), ' ', h('a', { href: `#/runs/${enc(lastRun.runId)}` }, lastRun.kind === 'undo' ? 'undo' : 'run'),
            ' by ', lastRun.createdBy, ', ', timeEl(fmt, lastRun.createdAt))
          : h('span', { class: 'muted' }, 'none yet')],
        ['API quota', quota
          ? h('span', { class: 'quota' },
            h('meter', { min: 0, max: limit, value: quota.remaining, low: limit === undefined ? undefined : limit * 0.1, high: limit === undefined ? undefined : limit * 0.3, optimum: limit, title: `${pct.toFixed(0)}% left` }),
            ` ${count(quota.remaining)} of ${count(limit)} calls left today`,
            quota.resetAt ? h('span', { class: 'muted block' }, 'Resets ', timeEl(fmt, quota.resetAt)) : null)
          : h('span', { class: 'muted' }, 'unknown until the first call')],
        ['Schedule', sched.cron
          ? h('span', null, h('code', null, sched.cron), ' ', sched.description ?? '',
            sched.nextRunAt ? h('span', { class: 'muted' }, ' Next: ', timeEl(fmt, sched.nextRunAt), ` (${fmt.relative(sched.nextRunAt)})`) : null)
          : h('span', { class: 'muted' }, 'not scheduled')],
        ['Auto-apply', sched.cron && sched.autoApplyMax !== null
          ? `plans with up to ${plural(sched.autoApplyMax, 'change')} apply without review`
          : h('span', { class: 'muted' }, 'off: every plan waits for review')],
        ['CRM webhook', hook.configured
          ? h('span', null, badge('done', 'on'), ` ${hook.mode ?? ''}`, mappingText(hook.mapping))
          : h('span', { class: 'muted' }, 'not set up')],
      ]),
      h('footer', { class: 'card-actions' },
        scanBtn,
        h('a', { class: 'btn', href: `#/orgs/${enc(id)}`, testid: 'settings-link' }, 'Settings'),
        h('a', { class: 'btn btn-quiet', href: `#/runs?org=${enc(id)}` }, 'Runs')));
  }

  async function scan(organization: OrganizationView): Promise<void> {
    const id = organization.organizationId;
    jobs.set(id, { state: 'running', message: 'Scan started…' });
    render();
    try {
      await api.scan(id);
    } catch {
      jobs.delete(id);
    }
    if (view.alive) render();
  }

  view.onEvent((event) => {
    if (event.type === 'job' && event.data.kind === 'verify') reload();
    else if (event.type === 'job') {
      jobs.set(event.data.organizationId, event.data);
      if (event.data.state === 'running') render();
      else reload();
    } else if (event.type === 'run' && !ACTIVE_RUN_STATES.has(event.data.state ?? '')) reload();
  });
  render();
}

function mappingText(mapping: WebhookSettingsView['mapping']): string {
  const parts: string[] = [];
  if (mapping.inactive.length) parts.push(`inactive on ${mapping.inactive.join(', ')}`);
  if (mapping.active.length) parts.push(`active on ${mapping.active.join(', ')}`);
  return parts.length ? ` · ${parts.join('; ')}` : '';
}
