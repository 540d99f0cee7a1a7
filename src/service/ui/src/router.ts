/**
 * The hash router: `#/path?query` picks a view; leaving a view disposes of its context (its
 * listeners and timers, and it stops drawing answers that arrive late). A view that fails says so
 * in the page, with Try again.
 */
import { ApiError } from './api.js';
import type { App, View, ViewFn } from './app.js';
import type { LiveEvents } from './events.js';
import { h } from './dom.js';

export interface Route {
  pattern: RegExp;
  /** The main navigation's entry (`data-nav`) marked as the current page. */
  nav: string;
  /** `data-view` on <main>. */
  name: string;
  view: ViewFn;
}

/** `#/audit?org=1` → path `/audit`, query `org=1`. */
export function parseHash(hash: string): { path: string; query: URLSearchParams } {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  return { path: q === -1 ? raw : raw.slice(0, q), query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)) };
}

/** The hash with its query replaced (empty values left out). */
export function hashWithQuery(hash: string, params: Readonly<Record<string, string>>): string {
  const { path } = parseHash(hash);
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) qs.set(k, v);
  const text = qs.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}

interface ViewContext extends View {
  dispose(): void;
}

function createView(main: HTMLElement, events: LiveEvents): ViewContext {
  const cleanups: Array<() => void> = [];
  let alive = true;
  return {
    get alive() {
      return alive;
    },
    main,
    cleanup(fn) {
      cleanups.push(fn);
    },
    onEvent(fn) {
      cleanups.push(events.subscribe(fn));
    },
    dispose() {
      alive = false;
      for (const fn of cleanups.splice(0)) {
        try {
          fn();
        } catch (error) {
          console.error(error);
        }
      }
    },
  };
}

export interface Router {
  /** Shows the view of the current hash (`first`: at start, when focus and scroll stay where the browser put them). */
  route(first?: boolean): void;
}

export function createRouter(app: App, routes: readonly Route[], main: HTMLElement): Router {
  let current: ViewContext | null = null;

  function route(first = false): void {
    current?.dispose();
    app.banner.clear();
    app.evidence.close();
    const view = createView(main, app.events);
    current = view;
    const { path, query } = parseHash(location.hash);
    let found: Route | undefined;
    let match: RegExpExecArray | null = null;
    for (const r of routes) {
      match = r.pattern.exec(path);
      if (match) {
        found = r;
        break;
      }
    }
    for (const a of document.querySelectorAll<HTMLElement>('.mainnav a')) {
      if (found && a.dataset['nav'] === found.nav) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    main.replaceChildren();
    main.removeAttribute('data-view');
    if (!found || !match) {
      document.title = 'Not found · Sunset';
      main.append(h('h1', null, 'Page not found'), h('p', null, 'There is no such page. ', h('a', { href: '#/' }, 'Go to the organizations.')));
      return;
    }
    main.dataset['view'] = found.name;
    // The view starts first (now, not in a later task) so its requests go out before anything forces a layout.
    let done: Promise<void>;
    try {
      const params = match.slice(1).map((p) => decodeURIComponent(p));
      done = Promise.resolve(found.view(app, view, { params, query }));
    } catch (error) {
      done = Promise.reject(error);
    }
    if (!first) {
      main.focus({ preventScroll: true });
      window.scrollTo(0, 0);
    }
    done.catch((err: unknown) => {
      if (!view.alive) return;
      const message = err instanceof Error ? err.message : String(err);
      if (!(err instanceof ApiError)) {
        console.error(err);
        app.banner.show(`Something went wrong on this page: ${message}`);
      }
      if (err instanceof ApiError && err.status === 401) return;
      main.querySelector('.loading')?.remove();
      main.append(h('div', { class: 'callout callout-error', testid: 'view-error' },
        h('strong', null, 'This page could not be loaded. '), message, ' ',
        h('button', { type: 'button', class: 'btn btn-small', onclick: () => route() }, 'Try again')));
    });
  }

  return { route };
}
