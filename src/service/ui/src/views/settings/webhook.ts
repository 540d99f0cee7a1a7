/**
 * The CRM webhook: the endpoint to give the CRM, how it authenticates, which CRM statuses make a
 * contact inactive or active (read-only when they come from the service's --crm-mapping file),
 * and the secret: shown once, when it is made.
 */
import type { OrganizationView, WebhookInput, WebhookSettingsView } from '../../../../api-types.js';
import { ApiError } from '../../api.js';
import type { App } from '../../app.js';
import { enc, h } from '../../dom.js';
import { confirmDialog } from '../../widgets/dialog.js';
import { badge, copyText } from '../../widgets/parts.js';

export function webhookSection(app: App, organization: OrganizationView): HTMLElement {
  const { api } = app;
  const id = organization.organizationId;
  const hook = organization.webhook;
  const mode = h('select', { id: 'wh-mode', testid: 'webhook-mode' },
    h('option', { value: 'hmac', selected: hook.mode !== 'secret' }, 'hmac: the CRM signs each request with the secret'),
    h('option', { value: 'secret', selected: hook.mode === 'secret' }, 'secret: the CRM sends the secret with each request'));
  const inactive = h('textarea', { id: 'wh-inactive', rows: 3, class: 'mono', testid: 'webhook-inactive', spellcheck: 'false' });
  inactive.value = hook.mapping.inactive.join('\n');
  const active = h('textarea', { id: 'wh-active', rows: 3, class: 'mono', testid: 'webhook-active', spellcheck: 'false' });
  active.value = hook.mapping.active.join('\n');
  const parse = (ta: HTMLTextAreaElement): string[] => ta.value.split('\n').map((s) => s.trim()).filter(Boolean);
  const state = h('span', { testid: 'webhook-state' });
  let configured = hook.configured;
  const showState = (w: WebhookSettingsView): void => {
    configured = w.configured;
    state.replaceChildren(w.configured ? badge('done', 'configured') : badge('pending', 'not configured'));
  };
  showState(hook);
  const status = h('span', { class: 'status', role: 'status', testid: 'webhook-status' });
  const secretBox = h('div', { class: 'secret-box', testid: 'webhook-secret-box', hidden: true });
  const fromFile = hook.mappingFile ?? '';
  if (fromFile) {
    inactive.readOnly = true;
    active.readOnly = true;
  }
  const mappingHelp = (text: string): HTMLElement => (fromFile
    ? h('p', { class: 'help', testid: 'webhook-mapping-file' }, 'From the mapping file ', h('code', null, fromFile), ' (sunset serve --crm-mapping): change it there and restart the service.')
    : h('p', { class: 'help' }, text));
  const url = `${location.origin}/hooks/crm/${enc(id)}`;
  const urlCopy: HTMLButtonElement = h('button', { type: 'button', class: 'btn btn-small', onclick: () => void copyText(url, urlCopy) }, 'Copy');
  const rotateBtn = h('button', { type: 'button', class: 'btn needs-admin', testid: 'webhook-rotate' }, hook.configured ? 'Rotate secret' : 'Create secret');

  async function save(rotate: boolean): Promise<void> {
    const chosen = mode.value === 'secret' ? 'secret' : 'hmac';
    // A mapping from the service's --crm-mapping file is not sent: only the file changes it.
    const body: WebhookInput = fromFile ? { mode: chosen } : { mode: chosen, mapping: { inactive: parse(inactive), active: parse(active) } };
    if (rotate) body.rotateSecret = true;
    status.textContent = 'Saving…';
    status.className = 'status';
    try {
      const res = await api.saveWebhook(id, body, { expect: [400] });
      showState(res.webhook);
      rotateBtn.textContent = 'Rotate secret';
      status.textContent = 'Saved.';
      status.className = 'status status-ok';
      if (res.secret) showSecret(res.secret);
    } catch (err) {
      status.textContent = err instanceof ApiError && err.status === 400 ? `Not saved: ${err.message}` : 'Not saved.';
      status.className = 'status status-error';
    }
  }
  function showSecret(secret: string): void {
    const copy: HTMLButtonElement = h('button', { type: 'button', class: 'btn btn-small', testid: 'webhook-secret-copy', onclick: () => void copyText(secret, copy) }, 'Copy');
    secretBox.replaceChildren(
      h('p', { class: 'warn' }, h('strong', null, 'Copy this secret now: it will not be shown again.'), ' Put it in the CRM’s webhook settings; the old secret no longer works.'),
      h('div', { class: 'secret-row' }, h('code', { class: 'secret', testid: 'webhook-secret' }, secret), copy),
      h('button', {
        type: 'button', class: 'btn btn-small btn-quiet',
        onclick: () => {
          secretBox.hidden = true;
          secretBox.replaceChildren();
        },
      }, 'I have copied it, hide it'));
    secretBox.hidden = false;
  }
  rotateBtn.addEventListener('click', async () => {
    if (configured) {
      const ok = await confirmDialog({
        title: 'Rotate the webhook secret?',
        body: h('p', null, 'A new secret replaces the current one at once. CRM events signed with the old secret are refused until the CRM has the new one.'),
        confirmLabel: 'Rotate secret',
        danger: true,
      });
      if (!ok) return;
    }
    await save(true);
  });
  const form = h('form', { class: 'form-grid', onsubmit: (e) => {
    e.preventDefault();
    void save(false);
  } },
  h('span', { class: 'label' }, 'State'), state,
  h('span', { class: 'label' }, 'Endpoint'), h('div', { class: 'secret-row' }, h('code', { testid: 'webhook-url' }, url), urlCopy),
  h('label', { for: 'wh-mode' }, 'Authentication'),
  h('div', null, mode, h('p', { class: 'help' }, 'Zoho CRM’s plain workflow webhooks can only send a fixed secret; signing (hmac) needs a Deluge function. See docs/service.md.')),
  h('label', { for: 'wh-inactive' }, 'CRM statuses that make a contact inactive'),
  h('div', null, inactive, mappingHelp('One CRM status per line, for example Churned.')),
  h('label', { for: 'wh-active' }, 'CRM statuses that make a contact active'),
  h('div', null, active, mappingHelp('One CRM status per line. Statuses in neither list are recorded and left alone.')),
  h('span'), h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary needs-admin', testid: 'webhook-save' }, 'Save webhook'), rotateBtn, status),
  h('span'), secretBox);
  return h('section', { class: 'panel', id: 'webhook', 'aria-labelledby': 'webhook-h' },
    h('h2', { id: 'webhook-h' }, 'CRM webhook'),
    h('p', { class: 'help' }, 'The CRM calls this endpoint when an account’s status changes; Sunset makes the matching Books contact active or inactive. See ', h('a', { href: '#/webhooks' }, 'CRM events'), '.'),
    form);
}
