/**
 * The Sunset web UI (docs/service-ui.md), bundled by esbuild into dist/service/ui/app.js at
 * `npm run build`. This module makes the one app object (the API client, the live events, the
 * formatters, the banner, the evidence panel) and hands it to the router, which shows one view per
 * screen (views/). The API and its events are typed from src/service/api-types.ts.
 *
 * Habits that hold everywhere:
 * - Data reaches the page only through text nodes and attributes (dom.ts); never innerHTML.
 * - Ids stay strings: read, compared and sent as strings, never passed through Number().
 * - Every request goes through the API client (api.ts): CSRF token, 401 to the sign-in page,
 *   errors in the banner.
 * - A view registers what it must undo (listeners, timers) on its context; the router calls them
 *   when the view is left, and the view ignores answers that arrive after that.
 * - No module keeps state: what lives for the page lives in the objects made here.
 */
import { ApiError, createApi } from './api.js';
import type { App } from './app.js';
import { createLiveEvents } from './events.js';
import { createFormat } from './format.js';
import { createRouter, hashWithQuery, type Route } from './router.js';
import { auditView } from './views/audit.js';
import { connectionsView } from './views/connections.js';
import { crmEventsView } from './views/crm-events.js';
import { notificationsView } from './views/notifications.js';
import { organizationsView } from './views/organizations.js';
import { planReviewView } from './views/plan-review/index.js';
import { runView } from './views/run.js';
import { runsView } from './views/runs.js';
import { settingsView } from './views/settings/index.js';
import { usersView } from './views/users.js';
import { createBanner } from './widgets/banner.js';
import { createEvidencePanel } from './widgets/evidence-panel.js';

const ROUTES: readonly Route[] = [
  { pattern: /^\/?$/, nav: 'orgs', name: 'organizations', view: organizationsView },
  { pattern: /^\/orgs\/([^/]+)$/, nav: 'orgs', name: 'settings', view: settingsView },
  { pattern: /^\/plans\/([^/]+)$/, nav: 'orgs', name: 'plan-review', view: planReviewView },
  { pattern: /^\/runs$/, nav: 'runs', name: 'runs', view: runsView },
  { pattern: /^\/runs\/([^/]+)$/, nav: 'runs', name: 'run', view: runView },
  { pattern: /^\/audit$/, nav: 'audit', name: 'audit', view: auditView },
  { pattern: /^\/webhooks$/, nav: 'webhooks', name: 'crm-events', view: crmEventsView },
  { pattern: /^\/users$/, nav: 'users', name: 'users', view: usersView },
  { pattern: /^\/connections$/, nav: 'connections', name: 'connections', view: connectionsView },
  { pattern: /^\/notifications$/, nav: 'notifications', name: 'notifications', view: notificationsView },
];

function startApp(): void {
  const main = document.getElementById('main');
  if (!main) return;
  const banner = createBanner(document.getElementById('banner'));
  const userName = document.getElementById('user-name');
  const logoutCsrf = document.getElementById('logout-csrf');
  const api = createApi({
    showError: (message) => banner.show(message),
    signedOut: () => location.assign('/login'),
    sessionRead(session) {
      if (userName) userName.textContent = session.user;
      const role = document.getElementById('user-role');
      if (role) {
        role.textContent = session.role;
        role.title = session.clients ? `Limited to ${session.clients.join(', ')}` : 'Every client';
      }
      // What the user may do: the stylesheet hides the controls of a higher role (the server refuses them anyway).
      document.body.dataset['role'] = session.role;
      for (const admins of document.querySelectorAll<HTMLElement>('[data-nav="users"], [data-nav="connections"]')) admins.hidden = session.role !== 'admin';
      if (logoutCsrf instanceof HTMLInputElement) logoutCsrf.value = session.csrfToken;
    },
  });
  const events = createLiveEvents({ statusEl: document.getElementById('live-status'), refreshSession: () => api.refreshSession() });
  const app: App = {
    api,
    events,
    fmt: createFormat(),
    banner,
    evidence: createEvidencePanel(),
    setHashQuery: (params) => history.replaceState(null, '', hashWithQuery(location.hash, params)),
    setTitle(text) {
      document.title = `${text} · Sunset`;
    },
  };
  const router = createRouter(app, ROUTES, main);

  document.getElementById('logout-form')?.addEventListener('submit', (e) => {
    e.preventDefault();
    void api.logout().then(() => location.assign('/login'));
  });
  // The first view waits for the session: it offers only what the user's role may do.
  api.refreshSession().then(() => {
    events.start();
    router.route(true);
  }, (err: unknown) => {
    if (err instanceof ApiError && err.status === 401) return;
    banner.show(`Could not read the session: ${err instanceof Error ? err.message : String(err)}`);
  });
  window.addEventListener('hashchange', () => router.route());
}

startApp();
