/**
 * `#/notifications`: the signed-in user's subscriptions (add an e-mail address or a webhook, send a
 * test, remove) and their outbox (pending, delivered, failed, with the last error and the next
 * attempt). A new webhook's signing secret is shown once, when it is made.
 */
import type { NotificationSubscriptionInput, NotificationSubscriptionView, NotificationView } from '../../../api-types.js';
import { ApiError } from '../api.js';
import type { App, View } from '../app.js';
import { h } from '../dom.js';
import { badge, loading, pageHead, timeEl } from '../widgets/parts.js';

type NotificationKind = NonNullable<NotificationSubscriptionInput['events']>[number];

const KINDS: ReadonlyArray<readonly [NotificationKind, string]> = [
  ['plan.review', 'a scheduled plan waits for review'],
  ['run.finished', 'a run finished'],
  ['run.failed', 'a run stopped on an error'],
  ['run.paused', 'a run waits for the daily quota'],
  ['event.failed', 'a CRM event or signal could not be applied'],
];

export async function notificationsView(app: App, view: View): Promise<void> {
  const { api, fmt } = app;
  app.setTitle('Notifications');
  view.main.append(pageHead('Notifications'), loading());
  const subsHolder = h('div', { testid: 'subscriptions' });
  const outboxHolder = h('div', { class: 'table-wrap', testid: 'outbox' });
  const secretBox = h('div', { class: 'secret-box', testid: 'subscription-secret-box', hidden: true });
  const status = h('span', { class: 'status', role: 'status', testid: 'subscription-status' });

  async function loadOutbox(): Promise<void> {
    const list: NotificationView[] = await api.outbox();
    if (!view.alive) return;
    if (!list.length) {
      outboxHolder.replaceChildren(h('p', { class: 'muted', testid: 'outbox-empty' }, 'No notification yet.'));
      return;
    }
    outboxHolder.replaceChildren(h('table', { class: 'grid', testid: 'outbox-table' },
      h('thead', null, h('tr', null, ['Written', 'Kind', 'Subject', 'State', 'Tries', 'Next attempt', 'Last error'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, list.map((n) => h('tr', { testid: 'outbox-row', dataset: { state: n.state, kind: n.kind } },
        h('td', { class: 'nowrap' }, timeEl(fmt, n.createdAt)),
        h('td', null, n.kind),
        h('td', { class: 'wrap' }, n.subject),
        h('td', null, badge(n.state === 'delivered' ? 'done' : n.state === 'failed' ? 'failed' : 'pending', n.state)),
        h('td', { class: 'num' }, fmt.count(n.attempts)),
        h('td', { class: 'nowrap' }, n.state === 'pending' ? timeEl(fmt, n.nextAttemptAt) : h('span', { class: 'muted' }, '—')),
        h('td', { class: 'wrap' }, n.lastError ? h('span', { class: 'text-bad' }, n.lastError) : '')))),
    ));
  }

  async function loadSubscriptions(): Promise<void> {
    const list: NotificationSubscriptionView[] = await api.subscriptions();
    if (!view.alive) return;
    if (!list.length) {
      subsHolder.replaceChildren(h('p', { class: 'muted', testid: 'subscriptions-empty' }, 'No subscription: you hear about nothing yet.'));
      return;
    }
    subsHolder.replaceChildren(h('table', { class: 'grid', testid: 'subscriptions-table' },
      h('thead', null, h('tr', null, ['Channel', 'Address', 'Events', 'Clients', '', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, list.map((s) => {
        const test: HTMLButtonElement = h('button', {
          type: 'button', class: 'btn btn-small', testid: 'subscription-test',
          onclick: () => {
            test.disabled = true;
            void api.testSubscription(s.subscriptionId).then((n) => {
              status.textContent = n.state === 'delivered' ? 'Test sent.' : `Test not delivered yet: ${n.lastError ?? n.state}. It is tried again.`;
              return loadOutbox();
            }).catch(() => undefined).finally(() => {
              test.disabled = false;
            });
          },
        }, 'Send a test');
        const remove = h('button', {
          type: 'button', class: 'btn btn-small btn-quiet', testid: 'subscription-remove',
          onclick: () => {
            if (!confirm(`Stop notifications to ${s.address}?`)) return;
            void api.unsubscribe(s.subscriptionId).then(() => Promise.all([loadSubscriptions(), loadOutbox()])).catch(() => undefined);
          },
        }, 'Remove');
        return h('tr', { testid: 'subscription-row', dataset: { subscriptionId: s.subscriptionId } },
          h('td', null, s.channel === 'email' ? 'E-mail' : 'Webhook'),
          h('td', { class: 'wrap' }, h('code', null, s.address)),
          h('td', { class: 'wrap' }, s.events.join(', ')),
          h('td', null, s.clients ? s.clients.join(', ') : h('span', { class: 'muted' }, 'all you may see')),
          h('td', null, test),
          h('td', null, remove));
      }))));
  }

  const channel = h('select', { id: 'ntf-channel', testid: 'subscription-channel' },
    h('option', { value: 'email' }, 'E-mail'), h('option', { value: 'webhook' }, 'Webhook (signed JSON POST)'));
  const address = h('input', { id: 'ntf-address', type: 'text', required: true, testid: 'subscription-address', placeholder: 'ops@example.com or https://hooks.example.com/sunset', size: 48 });
  const clients = h('input', { id: 'ntf-clients', type: 'text', testid: 'subscription-clients', placeholder: 'empty: every organization you may see' });
  const boxes = KINDS.map(([kind, words]) => {
    const box = h('input', { type: 'checkbox', checked: true, value: kind, dataset: { kind } });
    return { kind, box, label: h('label', { class: 'check' }, box, ` ${words}`) };
  });
  const form = h('form', {
    class: 'settings-form', testid: 'subscription-form',
    onsubmit: (e) => {
      e.preventDefault();
      status.textContent = '';
      secretBox.hidden = true;
      const names = clients.value.split(',').map((c) => c.trim()).filter((c) => c !== '');
      void api.subscribe({
        channel: channel.value === 'webhook' ? 'webhook' : 'email',
        address: address.value,
        events: boxes.filter((b) => b.box.checked).map((b) => b.kind),
        clients: names.length ? names : null,
      }, { expect: [400] }).then((created) => {
        address.value = '';
        status.textContent = 'Subscribed.';
        if (created.secret) {
          secretBox.hidden = false;
          secretBox.replaceChildren(
            h('p', null, 'The signing secret of this webhook, shown this once: your receiver checks each delivery\'s Sunset-Signature with it (docs/notifications.md).'),
            h('code', { class: 'secret', testid: 'subscription-secret' }, created.secret));
        }
        return loadSubscriptions();
      }).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 400) status.textContent = error.message;
      });
    },
  },
  h('label', { for: 'ntf-channel' }, 'Channel'), channel,
  h('label', { for: 'ntf-address' }, 'Address'), address,
  h('span', { class: 'label' }, 'Events'), h('div', null, boxes.map((b) => b.label)),
  h('label', { for: 'ntf-clients' }, 'Clients (comma-separated)'), clients,
  h('span'), h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', testid: 'subscription-add' }, 'Subscribe'), status));

  view.main.querySelector('.loading')?.remove();
  view.main.append(
    h('p', { class: 'help' }, 'Hear about your organizations by e-mail or a signed webhook. Notices wait in the outbox until delivered; a failed delivery is tried again, 30 s doubling to an hour, ten times.'),
    h('h2', null, 'Your subscriptions'), subsHolder, h('h3', null, 'Add one'), form, secretBox,
    h('h2', null, 'Your outbox'), outboxHolder);
  view.onEvent((event) => {
    if (event.type === 'run') return;
    void loadOutbox().catch(() => undefined);
  });
  await Promise.all([loadSubscriptions(), loadOutbox()]);
}
