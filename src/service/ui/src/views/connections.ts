/**
 * `#/connections`: the Zoho accounts the service works through, each with its organizations, when
 * it was last tested and what went wrong; a form to add one (a self-client's grant code or a
 * refresh token, on a data centre or an emulator); Test and Remove. Secrets are sent, never shown
 * back: the service answers none.
 */
import type { ConnectionInput, ConnectionView } from '../../../api-types.js';
import { ApiError } from '../api.js';
import type { App, View } from '../app.js';
import { h } from '../dom.js';
import { confirmDialog } from '../widgets/dialog.js';
import { badge, idText, kv, loading, pageHead, timeEl } from '../widgets/parts.js';

const DATA_CENTRES = ['US', 'EU', 'IN', 'AU', 'JP', 'CA', 'CN', 'SA'] as const;

export async function connectionsView(app: App, view: View): Promise<void> {
  const { api, fmt } = app;
  app.setTitle('Connections');
  const list = h('div', { class: 'stack', testid: 'connection-list' });
  const formPlace = h('div');
  view.main.append(pageHead('Connections'), list, formPlace, loading());
  let answer = await api.connections();
  if (!view.alive) return;
  view.main.querySelector('.loading')?.remove();

  const reload = async (): Promise<void> => {
    const next = await api.connections();
    if (!view.alive) return;
    answer = next;
    render();
  };

  function render(): void {
    if (!answer.managed) {
      list.replaceChildren(h('div', { class: 'callout', testid: 'connections-unmanaged' },
        'This service works through the one connection it was started with (', h('code', null, '--emulator'), ', ', h('code', null, '--credentials'),
        ' or the embedded emulator). Keep connections with ', h('code', null, 'sunset connections add'), ' and start ', h('code', null, 'sunset serve'),
        ' without those options to work through them all and manage them here.'));
      formPlace.replaceChildren();
      return;
    }
    list.replaceChildren(...(answer.connections.length === 0
      ? [h('div', { class: 'callout' }, 'No connection yet: add one below.')]
      : answer.connections.map(card)));
    if (!formPlace.firstChild) formPlace.append(addForm());
  }

  function card(c: ConnectionView): HTMLElement {
    const status = h('p', { class: 'job-status', role: 'status', testid: 'connection-status' });
    const failing = c.error ?? c.testError;
    status.append(failing ? badge('failed', 'failing') : c.testedAt === null ? badge('pending', 'not tested') : badge('done', 'works'), ' ', failing ?? '');
    const testBtn = h('button', { type: 'button', class: 'btn', testid: 'connection-test', onclick: () => void test(c.name, testBtn) }, 'Test');
    const removeBtn = h('button', { type: 'button', class: 'btn btn-danger-outline', testid: 'connection-remove', onclick: () => void remove(c.name) }, 'Remove');
    return h('article', { class: 'card', testid: 'connection-card', dataset: { connection: c.name } },
      h('header', { class: 'card-head' }, h('h2', null, c.name), h('div', { class: 'card-sub' }, h('span', { class: 'chip' }, c.dataCentre ? `Zoho ${c.dataCentre}` : c.target))),
      status,
      kv([
        ['Reaches', c.target],
        ['Client id', h('code', null, c.clientId)],
        ['Organizations', c.organizations.length === 0
          ? h('span', { class: 'muted' }, 'none recorded yet: Test records them')
          : h('ul', { class: 'plain', testid: 'connection-organizations' }, c.organizations.map((o) => h('li', null, `${o.name} `, idText(o.organizationId), o.timeZone ? h('span', { class: 'muted' }, ` (${o.timeZone})`) : null)))],
        ['Added', h('span', null, timeEl(fmt, c.createdAt), ` by ${c.createdBy}`)],
        ['Last tested', c.testedAt === null ? h('span', { class: 'muted' }, 'never') : timeEl(fmt, c.testedAt)],
      ]),
      h('footer', { class: 'card-actions' }, testBtn, removeBtn));
  }

  async function test(name: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    button.textContent = 'Testing…';
    try {
      await api.testConnection(name);
      await reload();
    } finally {
      button.disabled = false;
      button.textContent = 'Test';
    }
  }

  async function remove(name: string): Promise<void> {
    const ok = await confirmDialog({
      title: `Remove the connection ${name}?`,
      body: 'Its secrets are forgotten and its organizations leave this service at once. The runs made through it stay in the journal.',
      confirmLabel: 'Remove', danger: true,
    });
    if (!ok) return;
    await api.removeConnection(name);
    await reload();
  }

  function addForm(): HTMLElement {
    const field = (id: string, type = 'text', extra: Record<string, unknown> = {}): HTMLInputElement => h('input', { id, name: id, type, autocomplete: 'off', spellcheck: 'false', testid: id, ...extra });
    const name = field('cx-name', 'text', { required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]{0,39}', placeholder: 'acme-eu' });
    const where: HTMLSelectElement = h('select', { id: 'cx-where', testid: 'cx-where', onchange: () => sync() },
      DATA_CENTRES.map((dc) => h('option', { value: dc }, `Zoho ${dc}`)), h('option', { value: 'emulator' }, 'A Sunset emulator'));
    const emulator = field('cx-emulator', 'text', { placeholder: 'http://127.0.0.1:8742' });
    const clientId = field('cx-client-id', 'text', { placeholder: '1000.XXXXXXXX' });
    const clientSecret = field('cx-client-secret', 'password');
    const kind: HTMLSelectElement = h('select', { id: 'cx-kind', testid: 'cx-kind' },
      h('option', { value: 'code' }, 'A grant code (self-client, API console)'), h('option', { value: 'refreshToken' }, 'A refresh token'));
    const secret = field('cx-secret', 'password');
    const emulatorRow = h('div', { hidden: true }, emulator, h('p', { class: 'help' }, 'Leave the client fields empty to use the emulator\'s own default account.'));
    const status = h('p', { role: 'status', class: 'muted', testid: 'cx-status' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'cx-add' }, 'Add connection');
    const sync = (): void => {
      emulatorRow.hidden = where.value !== 'emulator';
    };
    const form: HTMLFormElement = h('form', { class: 'form-grid', testid: 'connection-form', onsubmit: (e) => {
      e.preventDefault();
      void add();
    } },
    h('label', { for: 'cx-name' }, 'Name'), h('div', null, name, h('p', { class: 'help' }, 'Letters, digits, . _ or -; the client it serves, for example.')),
    h('label', { for: 'cx-where' }, 'Data centre'), h('div', null, where, emulatorRow),
    h('label', { for: 'cx-client-id' }, 'Client id'), clientId,
    h('label', { for: 'cx-client-secret' }, 'Client secret'), clientSecret,
    h('label', { for: 'cx-kind' }, 'Paste'), h('div', null, kind, ' ', secret, h('p', { class: 'help' }, 'A grant code is exchanged once for a refresh token (it lasts minutes: paste it soon after making it). Secrets are sealed in the database and never shown again.')),
    h('span'), h('div', { class: 'actions' }, submit, status));

    async function add(): Promise<void> {
      const input: ConnectionInput = { name: name.value.trim() };
      if (where.value === 'emulator') input.emulator = emulator.value.trim();
      else input.dataCentre = where.value;
      if (clientId.value.trim()) input.clientId = clientId.value.trim();
      if (clientSecret.value) input.clientSecret = clientSecret.value;
      if (secret.value.trim()) {
        if (kind.value === 'code') input.code = secret.value.trim();
        else input.refreshToken = secret.value.trim();
      }
      submit.disabled = true;
      status.textContent = 'Checking the account…';
      try {
        const added = await api.addConnection(input, { expect: [400, 409, 502] });
        status.textContent = `Added ${added.name}: it reaches ${added.organizations.length} organization${added.organizations.length === 1 ? '' : 's'}.`;
        form.reset();
        sync();
        await reload();
      } catch (error) {
        status.textContent = error instanceof ApiError ? error.message : String(error);
      } finally {
        submit.disabled = false;
        // A secret stays in the page only while it is typed.
        clientSecret.value = '';
        secret.value = '';
      }
    }
    return h('section', { class: 'panel', 'aria-labelledby': 'cx-h' }, h('h2', { id: 'cx-h' }, 'Add a connection'), form);
  }

  render();
}
