/**
 * `#/users` (admins): the people who sign in, their roles and the clients they are limited to,
 * open invitations and sign-in locks; invite someone (a link they choose their password at, shown
 * once), change a user's access, unlock or remove them. Below: who did what (the activity log).
 */
import type { ActionView, OrganizationView, Role, UserListItem } from '../../../api-types.js';
import { ApiError } from '../api.js';
import type { App, View } from '../app.js';
import { h, td } from '../dom.js';
import { badge, copyText, loading, organizationMap, organizationName, pageHead, timeEl } from '../widgets/parts.js';

const ROLE_TEXT: Readonly<Record<Role, string>> = {
  viewer: 'Viewer: reads',
  approver: 'Approver: scans, approves, applies, undoes',
  admin: 'Admin: also settings, clients, users, connections',
};

const roleSelect = (selected: Role, testid: string): HTMLSelectElement =>
  h('select', { testid }, (Object.keys(ROLE_TEXT) as Role[]).map((r) => h('option', { value: r, selected: r === selected }, ROLE_TEXT[r])));

/** "Acme, Globex" as a list ([] : every client). */
const clientsOf = (text: string): string[] => text.split(',').map((c) => c.trim()).filter((c) => c !== '');

export async function usersView(app: App, view: View): Promise<void> {
  const { api, fmt } = app;
  app.setTitle('Users');
  view.main.append(pageHead('Users'), loading());
  if (api.session.role !== 'admin') {
    view.main.querySelector('.loading')?.remove();
    view.main.append(h('p', { class: 'callout', testid: 'users-not-admin' }, 'Only an admin manages users.'));
    return;
  }
  const [users, organizations, actions] = await Promise.all([
    api.users(),
    api.organizations().catch((): OrganizationView[] => []),
    api.actions('').catch((): ActionView[] => []),
  ]);
  if (!view.alive) return;
  view.main.querySelector('.loading')?.remove();
  const byId = organizationMap(organizations);
  const clientNames = [...new Set(organizations.flatMap((o) => (o.client ? [o.client] : [])))].sort();
  let list = users;

  const tbody = h('tbody');
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'grid users-table', testid: 'users-table' },
    h('thead', null, h('tr', null, h('th', null, 'User'), h('th', null, 'Role'), h('th', null, 'Clients'), h('th', null, 'Sign-in'), h('th', null, 'Added'), h('th', null, ''))),
    tbody));

  function row(u: UserListItem): HTMLElement {
    const role = roleSelect(u.role, 'user-role-select');
    const clients: HTMLInputElement = h('input', { type: 'text', value: u.clients?.join(', ') ?? '', placeholder: 'every client', list: 'user-client-names', testid: 'user-clients-input', 'aria-label': `Clients of ${u.username}` });
    const status = h('span', { class: 'muted', role: 'status', testid: 'user-status' });
    const save = h('button', { type: 'button', class: 'btn btn-small', testid: 'user-save', onclick: async () => {
      status.textContent = 'Saving…';
      try {
        const saved = await api.setAccess(u.username, { role: role.value as Role, clients: clientsOf(clients.value) }, { expect: [400, 409] });
        if (!view.alive) return;
        list = list.map((x) => (x.username === saved.username ? saved : x));
        render();
      } catch (error) {
        status.textContent = error instanceof Error ? error.message : String(error);
      }
    } }, 'Save');
    const remove = h('button', { type: 'button', class: 'btn btn-small btn-danger-outline', testid: 'user-remove', onclick: async () => {
      if (!window.confirm(`Remove ${u.username}? Their sessions end at once.`)) return;
      try {
        await api.removeUser(u.username, { expect: [409] });
        if (!view.alive) return;
        list = list.filter((x) => x.username !== u.username);
        render();
      } catch (error) {
        status.textContent = error instanceof Error ? error.message : String(error);
      }
    } }, 'Remove');
    const unlock = u.signIn === 'open' ? null : h('button', { type: 'button', class: 'btn btn-small', testid: 'user-unlock', onclick: async () => {
      const saved = await api.unlockUser(u.username);
      if (!view.alive) return;
      list = list.map((x) => (x.username === saved.username ? saved : x));
      render();
    } }, 'Unlock');
    return h('tr', { testid: 'user-row', dataset: { username: u.username, role: u.role } },
      td(h('strong', null, u.username)),
      td(role),
      td(clients),
      td(u.invitedUntil !== null
        ? h('span', null, badge('pending', 'invited'), ' link works until ', timeEl(fmt, u.invitedUntil))
        : h('span', null, badge(u.signIn === 'open' ? 'done' : 'failed', u.signIn), ' ', unlock)),
      td(timeEl(fmt, u.createdAt, 'date')),
      td(h('span', { class: 'actions' }, save, remove, status)));
  }
  function render(): void {
    tbody.replaceChildren(...list.map(row));
  }

  // Inviting: a name, a role, maybe clients; the answer is the link to hand over (once).
  const name: HTMLInputElement = h('input', { type: 'text', required: true, pattern: '[A-Za-z0-9._@\\-]{1,64}', placeholder: 'e.g. priya@client.example', testid: 'invite-name', 'aria-label': 'User name' });
  const role = roleSelect('approver', 'invite-role');
  const clients: HTMLInputElement = h('input', { type: 'text', placeholder: 'every client', list: 'user-client-names', testid: 'invite-clients', 'aria-label': 'Limited to clients (comma-separated)' });
  const result = h('div', { testid: 'invite-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'toolbar', testid: 'invite-form', onsubmit: async (e: SubmitEvent) => {
    e.preventDefault();
    result.replaceChildren();
    try {
      const made = await api.invite({ username: name.value.trim(), role: role.value as Role, clients: clientsOf(clients.value) }, { expect: [400, 409] });
      if (!view.alive) return;
      list = [...list.filter((u) => u.username !== made.user.username), made.user].sort((a, b) => a.username.localeCompare(b.username));
      render();
      const copy = h('button', { type: 'button', class: 'btn btn-small', onclick: () => void copyText(made.inviteUrl, copy) }, 'Copy');
      result.replaceChildren(h('div', { class: 'callout' },
        h('p', null, 'Send ', h('strong', null, made.user.username), ' this link; they choose their password there. It works once, until ', timeEl(fmt, made.expiresAt), '. It is not shown again.'),
        h('p', null, h('code', { class: 'invite-link', testid: 'invite-link' }, made.inviteUrl), ' ', copy)));
      name.value = '';
      clients.value = '';
    } catch (error) {
      if (error instanceof ApiError) result.replaceChildren(h('p', { class: 'callout callout-error', testid: 'invite-error' }, error.message));
      else throw error;
    }
  } },
  h('label', { class: 'field-inline' }, h('span', null, 'Name'), name),
  h('label', { class: 'field-inline' }, h('span', null, 'Role'), role),
  h('label', { class: 'field-inline' }, h('span', null, 'Clients'), clients),
  h('button', { type: 'submit', class: 'btn btn-primary', testid: 'invite-submit' }, 'Invite'));

  const activity = h('div', { class: 'table-wrap' }, actions.length === 0
    ? h('p', { class: 'muted' }, 'Nothing yet.')
    : h('table', { class: 'grid compact', testid: 'activity-table' },
      h('thead', null, h('tr', null, h('th', null, 'When'), h('th', null, 'Who'), h('th', null, 'What'), h('th', null, 'Organization'), h('th', null, 'About'))),
      h('tbody', null, actions.map((a) => h('tr', { testid: 'activity-row', dataset: { action: a.action } },
        td(timeEl(fmt, a.at), 'nowrap'), td(a.who), td(a.action), td(a.organizationId ? organizationName(byId, a.organizationId) : '—'), td(a.subject ?? '—', 'ellipsis'))))));

  view.main.append(
    h('datalist', { id: 'user-client-names' }, clientNames.map((n) => h('option', { value: n }))),
    h('p', { class: 'help' }, 'An approver or a viewer limited to some clients sees only those clients\' organizations; nothing else exists for them. Leave Clients empty for every client.'),
    h('section', { class: 'panel', 'aria-labelledby': 'invite-h' }, h('h2', { id: 'invite-h' }, 'Invite someone'), form, result),
    h('section', { class: 'panel', 'aria-labelledby': 'people-h' }, h('h2', { id: 'people-h' }, 'People'), table),
    h('section', { class: 'panel', 'aria-labelledby': 'activity-h' }, h('h2', { id: 'activity-h' }, 'Who did what'), activity));
  render();
}
