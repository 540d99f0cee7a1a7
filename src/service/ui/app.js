/**
 * Sunset web UI: one ES module, no framework, no build step. A small hash router with one view per
 * screen (docs/service-ui.md), written against the JSON API and server-sent events described in
 * docs/service-api.md.
 *
 * Habits that hold everywhere below:
 * - Data reaches the page only through text nodes and attributes (h(), svg()); never innerHTML.
 * - Ids stay strings: they are read, compared and sent as strings, never passed through Number().
 * - Every request goes through api(), which adds the CSRF token, redirects to /login on 401 and
 *   reports errors in the banner.
 * - A view registers what it must undo (event handlers, timers) on its context; the router calls
 *   them when the view is left, and ignores answers that arrive after that.
 */
/* global document, window, location, history, navigator, performance, sessionStorage, getComputedStyle,
   requestAnimationFrame, EventSource, ResizeObserver, Node, Element, HTMLElement, HTMLInputElement,
   HTMLSelectElement, HTMLTextAreaElement -- this file runs in the browser */

// ---------------------------------------------------------------------------------------------
// DOM helpers

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'open', 'indeterminate', 'readOnly']);

/** Sets attributes, properties and listeners on an element; null/undefined/false are skipped. */
function setProps(el, props) {
  if (!props) return;
  for (const key of Object.keys(props)) {
    const v = props[key];
    if (v === undefined || v === null || v === false) continue;
    if (key === 'class') el.setAttribute('class', v);
    else if (key === 'testid') el.setAttribute('data-testid', v);
    else if (key === 'dataset') for (const [k, dv] of Object.entries(v)) el.dataset[k] = String(dv);
    else if (key.startsWith('on') && typeof v === 'function') el.addEventListener(key.slice(2).toLowerCase(), v);
    else if (PROPS.has(key)) el[key] = v;
    else el.setAttribute(key, v === true ? '' : String(v));
  }
}

function appendAll(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) appendAll(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Creates an HTML element: h('a', {href: '#/'}, 'text', otherNode). Strings become text nodes. */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  appendAll(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  appendAll(el, children);
  return el;
}

/** Replaces an element's children; like replaceChildren but skips null/false (which the DOM would print). */
function fill(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
  return el;
}

const enc = encodeURIComponent;

// ---------------------------------------------------------------------------------------------
// Formatting

/**
 * Formatters are made on first use: the first Intl object loads the locale data (tens of ms), which
 * should happen while the view's requests are in flight, not before they are sent.
 */
function lazy(make) {
  let value = null;
  return () => (value ??= make());
}
const countFmt = lazy(() => new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 }));
const rateFmt = lazy(() => new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 }));
const moneyFmt = lazy(() => new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const dateTimeFmt = lazy(() => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }));
const dateFmt = lazy(() => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }));
const dayFmt = lazy(() => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' }));
const relFmt = lazy(() => new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }));
const collator = lazy(() => new Intl.Collator(undefined, { sensitivity: 'base', numeric: true }));

function count(n) {
  return countFmt().format(typeof n === 'number' && Number.isFinite(n) ? n : 0);
}

/** Money in the organization's currency, always two decimals. */
function money(n) {
  if (n === null || n === undefined || n === '') return '';
  const v = typeof n === 'number' ? n : Number(n);
  return Number.isFinite(v) ? moneyFmt().format(v) : String(n);
}

function plural(n, one, many = `${one}s`) {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** Epoch ms, an ISO string or a `yyyy-mm-dd` day → {date, day}; day is true for date-only values. */
function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? { date: new Date(value), day: false } : null;
  const text = String(value);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const d = new Date(`${text}T00:00:00Z`);
    return Number.isNaN(d.getTime()) ? null : { date: d, day: true };
  }
  // Zoho writes offsets as +0000; Date.parse wants +00:00.
  const d = new Date(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(d.getTime()) ? null : { date: d, day: false };
}

/** A <time> in the user's locale with the ISO value on hover. `style`: 'datetime' | 'date'. */
function timeEl(value, style = 'datetime') {
  const t = toDate(value);
  if (!t) return h('span', { class: 'muted' }, value === null || value === undefined || value === '' ? '—' : String(value));
  const iso = t.day ? String(value) : t.date.toISOString();
  const text = t.day ? dayFmt().format(t.date) : style === 'date' ? dateFmt().format(t.date) : dateTimeFmt().format(t.date);
  return h('time', { datetime: iso, title: iso }, text);
}

function relative(ms) {
  const diff = ms - Date.now();
  const abs = Math.abs(diff);
  if (abs < 60_000) return relFmt().format(Math.round(diff / 1000), 'second');
  if (abs < 3_600_000) return relFmt().format(Math.round(diff / 60_000), 'minute');
  if (abs < 172_800_000) return relFmt().format(Math.round(diff / 3_600_000), 'hour');
  return relFmt().format(Math.round(diff / 86_400_000), 'day');
}

function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  return `${hours} h ${m % 60} min`;
}

function idText(id, cls = '') {
  return h('span', { class: `id ${cls}`.trim(), title: String(id) }, String(id));
}

/** A state badge: colour and text together (never colour alone). */
function badge(state, text) {
  const s = String(state ?? 'unknown');
  return h('span', { class: `badge badge-${s.replace(/[^a-z_]/gi, '')}`, dataset: { state: s } }, text ?? s.replace(/_/g, ' '));
}

const EXCLUSION_LABELS = {
  open_balance: 'open balance',
  unused_credits: 'unused credits',
  grace_period: 'grace period (new contact)',
  cap: 'over the change cap',
  not_allowed: 'not on the allow list',
  denied: 'on the deny list',
  contact_type: 'contact type not covered',
  crm: 'CRM link filter',
  name: 'name filter',
  tags: 'tag filter',
  custom_field: 'custom field filter',
};

const reasonLabel = (code) => EXCLUSION_LABELS[code] ?? code;

// ---------------------------------------------------------------------------------------------
// Session, requests, errors

/** `ready` is the first /api/session request (non-GET requests wait for it). */
const session = { user: '', csrfToken: '', ready: null };

class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function showError(message) {
  const banner = document.getElementById('banner');
  if (!banner) return;
  for (const item of banner.children) if (item.dataset.message === message) return;
  const item = h('div', { class: 'banner-item', role: 'alert', testid: 'error-banner', dataset: { message } },
    h('span', { class: 'banner-text' }, message),
    h('button', { type: 'button', class: 'banner-close', 'aria-label': 'Dismiss this message', testid: 'error-dismiss', onclick: () => item.remove() }, '×'));
  banner.append(item);
}

function clearErrors() {
  document.getElementById('banner')?.replaceChildren();
}

async function refreshSession() {
  const res = await fetch('/api/session', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  if (res.status === 401) {
    location.assign('/login');
    throw new ApiError(401, 'Signed out');
  }
  if (!res.ok) throw new ApiError(res.status, `Could not read the session (HTTP ${res.status})`);
  const data = await res.json();
  session.user = String(data.user ?? '');
  session.csrfToken = String(data.csrfToken ?? '');
  const user = document.getElementById('user-name');
  if (user) user.textContent = session.user;
  const field = document.getElementById('logout-csrf');
  if (field) field.value = session.csrfToken;
  return session;
}

/**
 * The one way to call the API. JSON in and out; non-GET requests carry X-CSRF-Token. A 401 goes
 * to the sign-in page; a 403 re-reads the session once (the token may have changed) and retries.
 * Errors go to the banner unless `expect` lists the status (the caller shows them itself) or
 * `silent` is set.
 */
async function api(path, { method = 'GET', body, expect = [], silent = false } = {}) {
  if (method !== 'GET' && method !== 'HEAD' && !session.csrfToken) await session.ready?.catch(() => {});
  const send = async () => {
    const headers = { Accept: 'application/json' };
    // 'same-origin' so that the Origin header is the page's own (a no-referrer policy makes it "null").
    const init = { method, headers, credentials: 'same-origin', referrerPolicy: 'same-origin' };
    if (method !== 'GET' && method !== 'HEAD') {
      headers['X-CSRF-Token'] = session.csrfToken;
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body ?? {});
    }
    return fetch(path, init);
  };
  let res;
  try {
    res = await send();
    if (res.status === 403 && method !== 'GET') {
      const before = session.csrfToken;
      await refreshSession();
      if (session.csrfToken !== before) res = await send();
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    const message = `Could not reach the Sunset server (${err.message}).`;
    if (!silent) showError(message);
    throw new ApiError(0, message);
  }
  if (res.status === 401) {
    location.assign('/login');
    throw new ApiError(401, 'Signed out');
  }
  let data = null;
  if (res.ok && res.status !== 204 && (res.headers.get('content-type') ?? '').includes('json')) {
    data = await res.json(); // no intermediate string for large documents (a plan's rows)
  } else {
    const text = await res.text();
    if (text) {
      try { data = JSON.parse(text); } catch { data = text; }
    }
  }
  if (!res.ok) {
    const detail = data && typeof data === 'object' && typeof data.error === 'string' ? data.error : `HTTP ${res.status} ${res.statusText}`.trim();
    const err = new ApiError(res.status, detail, data);
    if (!silent && !expect.includes(res.status)) showError(`${method} ${path.split('?')[0]}: ${detail}`);
    throw err;
  }
  return data;
}

// ---------------------------------------------------------------------------------------------
// Live events (one EventSource for the whole app)

/** `latestRun`: each run's latest `run` event, so a run page opened mid-run shows its phase and rate at once. */
const live = { source: null, handlers: new Set(), retry: null, latestRun: new Map() };

function setLiveState(state) {
  const el = document.getElementById('live-status');
  if (!el) return;
  el.dataset.state = state;
  el.textContent = state === 'open' ? 'live' : state === 'connecting' ? 'connecting…' : 'offline';
  el.title = state === 'open' ? 'Live updates are on' : 'Live updates are off; the page still works, reload to refresh';
}

function startEvents() {
  if (typeof EventSource === 'undefined') return setLiveState('closed');
  const source = new EventSource('/api/events');
  live.source = source;
  setLiveState('connecting');
  for (const type of ['run', 'job', 'webhook']) {
    source.addEventListener(type, (e) => {
      let data;
      try { data = JSON.parse(e.data); } catch { return; }
      if (!data || typeof data !== 'object') return;
      if (type === 'run' && data.runId) {
        live.latestRun.delete(String(data.runId));
        live.latestRun.set(String(data.runId), data);
        if (live.latestRun.size > 50) live.latestRun.delete(live.latestRun.keys().next().value);
      }
      for (const fn of [...live.handlers]) {
        try { fn(type, data); } catch (err) { console.error(err); }
      }
    });
  }
  source.onopen = () => setLiveState('open');
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (for example a 401): check the session, then try again later.
      setLiveState('closed');
      clearTimeout(live.retry);
      live.retry = setTimeout(() => {
        refreshSession().then(startEvents, () => setLiveState('closed'));
      }, 5000);
    } else setLiveState('connecting');
  };
}

// ---------------------------------------------------------------------------------------------
// Router

let current = null;

function createContext() {
  const cleanups = [];
  return {
    alive: true,
    main: document.getElementById('main'),
    cleanup(fn) { cleanups.push(fn); },
    /** Calls fn(type, data) for every server-sent event while this view is shown. */
    onEvent(fn) {
      live.handlers.add(fn);
      cleanups.push(() => live.handlers.delete(fn));
    },
    dispose() {
      this.alive = false;
      for (const fn of cleanups.splice(0)) {
        try { fn(); } catch (err) { console.error(err); }
      }
    },
  };
}

const ROUTES = [
  [/^\/?$/, 'orgs', viewOrgs],
  [/^\/orgs\/([^/]+)$/, 'orgs', viewOrg],
  [/^\/plans\/([^/]+)$/, 'orgs', viewPlan],
  [/^\/runs$/, 'runs', viewRuns],
  [/^\/runs\/([^/]+)$/, 'runs', viewRun],
  [/^\/audit$/, 'audit', viewAudit],
  [/^\/webhooks$/, 'webhooks', viewWebhooks],
];

/** `#/audit?org=1` → {path: '/audit', query: URLSearchParams}. */
function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  return { path: q === -1 ? raw : raw.slice(0, q), query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)) };
}

/** Rewrites the hash's query without re-rendering the view (filters stay shareable). */
function setHashQuery(params) {
  const { path } = parseHash();
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) qs.set(k, v);
  const text = qs.toString();
  history.replaceState(null, '', `#${path}${text ? `?${text}` : ''}`);
}

function route(first = false) {
  current?.dispose();
  clearErrors();
  closeEvidence();
  const ctx = createContext();
  current = ctx;
  const { path, query } = parseHash();
  let match = null;
  let found = null;
  for (const r of ROUTES) {
    match = r[0].exec(path);
    if (match) { found = r; break; }
  }
  for (const a of document.querySelectorAll('.mainnav a')) {
    if (found && a.dataset.nav === found[1]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  ctx.main.replaceChildren();
  ctx.main.removeAttribute('data-view');
  if (!found) {
    document.title = 'Not found · Sunset';
    ctx.main.append(h('h1', null, 'Page not found'), h('p', null, 'There is no such page. ', h('a', { href: '#/' }, 'Go to the organizations.')));
    return;
  }
  ctx.main.dataset.view = found[2].name;
  const params = match.slice(1).map((p) => decodeURIComponent(p));
  // The view starts first so its requests go out before anything forces a layout.
  const done = Promise.resolve(found[2](ctx, ...params, query));
  if (!first) {
    ctx.main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
  done.catch((err) => {
    if (!ctx.alive) return;
    if (!(err instanceof ApiError)) {
      console.error(err);
      showError(`Something went wrong on this page: ${err.message}`);
    }
    if (err instanceof ApiError && err.status === 401) return;
    ctx.main.querySelector('.loading')?.remove();
    ctx.main.append(h('div', { class: 'callout callout-error', testid: 'view-error' },
      h('strong', null, 'This page could not be loaded. '), err.message, ' ',
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => route() }, 'Try again')));
  });
}

function setTitle(text) {
  document.title = `${text} · Sunset`;
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, text);
}

function pageHead(title, ...extra) {
  return h('div', { class: 'page-head' }, h('h1', null, title), ...extra);
}

function kv(pairs, cls = '') {
  return h('dl', { class: `kv ${cls}`.trim() }, pairs.filter(Boolean).map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v))));
}

/** A modal confirmation; resolves true when confirmed. */
function confirmDialog({ title, body, confirmLabel = 'OK', danger = false }) {
  return new Promise((resolve) => {
    const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
    const dlg = h('dialog', { class: 'dialog', testid: 'confirm-dialog', 'aria-labelledby': titleId });
    const cancel = h('button', { type: 'button', class: 'btn', testid: 'confirm-cancel', onclick: () => dlg.close('cancel') }, 'Cancel');
    const ok = h('button', { type: 'submit', value: 'ok', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, testid: 'confirm-ok' }, confirmLabel);
    dlg.append(h('form', { method: 'dialog' },
      h('h2', { id: titleId }, title),
      h('div', { class: 'dialog-body' }, body),
      h('div', { class: 'dialog-actions' }, cancel, ok)));
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
    ok.focus();
  });
}

async function copyText(text, button) {
  let done = false;
  try {
    await navigator.clipboard.writeText(text);
    done = true;
  } catch {
    const area = h('textarea', { class: 'offscreen', readOnly: true }, text);
    document.body.append(area);
    area.select();
    try { done = document.execCommand('copy'); } catch { done = false; }
    area.remove();
  }
  if (button) {
    const before = button.textContent;
    button.textContent = done ? 'Copied' : 'Select and copy by hand';
    setTimeout(() => { button.textContent = before; }, 1800);
  }
}

function orgName(orgsById, id) {
  const org = orgsById.get(String(id));
  return org ? org.name : String(id);
}

async function loadOrgs() {
  const orgs = await api('/api/orgs');
  return Array.isArray(orgs) ? orgs : [];
}

function orgMap(orgs) {
  return new Map(orgs.map((o) => [String(o.organizationId), o]));
}

function orgSelect(orgs, selected, testid, onChange) {
  const select = h('select', { testid, onchange: () => onChange(select.value) },
    h('option', { value: '' }, 'All organizations'),
    orgs.map((o) => h('option', { value: String(o.organizationId), selected: String(o.organizationId) === selected }, `${o.name} (${o.organizationId})`)));
  return h('label', { class: 'field-inline' }, h('span', null, 'Organization'), select);
}

function progressOf(counts) {
  const c = counts ?? {};
  const total = c.total ?? 0;
  const done = (c.changed ?? 0) + (c.unchanged ?? 0) + (c.skipped ?? 0) + (c.failed ?? 0);
  return { total, done, pct: total > 0 ? Math.min(100, (done / total) * 100) : 0 };
}

function progressBar(counts, testid) {
  const p = progressOf(counts);
  const bar = h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': p.total, 'aria-valuenow': p.done, 'aria-label': 'Steps finished', testid });
  const c = counts ?? {};
  for (const part of ['changed', 'unchanged', 'skipped', 'failed']) {
    const v = c[part] ?? 0;
    if (v > 0 && p.total > 0) {
      // Sizes go through the CSSOM: a strict Content-Security-Policy blocks style attributes.
      const seg = h('span', { class: `progress-part part-${part}`, title: `${count(v)} ${part}` });
      seg.style.width = `${((v / p.total) * 100).toFixed(3)}%`;
      bar.append(seg);
    }
  }
  return bar;
}

const ACTIVE_RUN_STATES = new Set(['pending', 'running']);

/**
 * A run's state as people should read it: the API's `status`, which says `interrupted` when the
 * journal says running but no live process drives the run (the service or the CLI stopped while
 * it ran). Older answers have only `state`.
 */
function runStatusOf(run) {
  return String(run?.status ?? run?.state ?? 'unknown');
}

/** Why a run is not moving although it is not finished, or null: the line shown beside its state. */
function runStatusNote(run) {
  const status = runStatusOf(run);
  if (status === 'interrupted') {
    return 'Interrupted: no process is applying it (the service or the command line stopped while it ran). The service resumes it when it starts; Resume continues it now.';
  }
  if (status === 'pending' && run?.applying === false) {
    return 'Approved, but no process is applying it (the service stopped before it began). The service starts it when it starts; Resume starts it now.';
  }
  if (status === 'running' && run?.applying === false && run?.driver) {
    return `Being applied by ${driverText(run.driver)}: stop it there.`;
  }
  return null;
}

/** "process 4242 on build-01": a driver's lease owner is host:pid:random. */
function driverText(driver) {
  const [host, pid] = String(driver?.owner ?? '').split(':');
  return `process ${pid || '?'} on ${host || '?'}`;
}

/** Where a contact opens in Zoho Books: the API's link base plus the id; null on an emulator (no web app). */
function booksLink(contactUrl, contactId, label = 'Open in Zoho Books', cls = '') {
  if (typeof contactUrl !== 'string' || contactUrl === '') return null;
  return h('a', {
    href: `${contactUrl}${enc(String(contactId))}`, target: '_blank', rel: 'noopener noreferrer',
    class: `books-link ${cls}`.trim(), testid: 'open-in-books', title: 'Opens this contact in the Zoho Books web app, in a new tab',
  }, label);
}

// ---------------------------------------------------------------------------------------------
// Virtualised table: a fixed-height scroll container; only the rows in view (plus a buffer) are
// in the DOM, between two spacer rows that keep the scrollbar honest.

const CHUNK = 8;

function createVirtualTable({ columns, renderRow, label, testid, onActivate, onToggle, onSort, emptyText = 'Nothing to show.' }) {
  const wrap = h('div', { class: 'vwrap', tabindex: 0, role: 'region', 'aria-label': label, testid });
  const table = h('table', { class: 'grid vtable' });
  const colgroup = h('colgroup', null, columns.map((c) => {
    const col = h('col', { class: c.cls ? `col-${c.cls}` : null });
    if (c.width) col.style.width = c.width;
    return col;
  }));
  const headRow = h('tr', { 'aria-rowindex': 1 });
  const sortButtons = new Map();
  for (const c of columns) {
    const th = h('th', { scope: 'col', class: [c.num ? 'num' : '', c.cls ? `col-${c.cls}` : ''].join(' ').trim() || null });
    if (c.sortKey && onSort) {
      const arrow = h('span', { class: 'sort-arrow', 'aria-hidden': 'true' });
      const btn = h('button', { type: 'button', class: 'sort', testid: `sort-${c.sortKey}`, onclick: () => onSort(c.sortKey) }, c.label, arrow);
      sortButtons.set(c.sortKey, { th, arrow });
      th.append(btn);
    } else if (c.header) th.append(c.header);
    else th.append(c.label ?? '');
    headRow.append(th);
  }
  const thead = h('thead', null, headRow);
  const tbody = h('tbody');
  table.append(colgroup, thead, tbody);
  const empty = h('p', { class: 'vempty', hidden: true }, emptyText);
  wrap.append(table, empty);

  let items = [];
  // Geometry is cached so that drawing never forces a layout: scroll events update `top`, a
  // ResizeObserver (which runs after layout) updates the heights and checks the row height.
  let rowH = 32;
  let headH = 36;
  let viewH = Math.min(window.innerHeight * 0.68, 720) || 600;
  let top = 0;
  let range = [-1, -1];
  let active = -1;
  let frame = 0;
  let printing = false;

  const spacer = (px) => {
    const td = h('td', { colspan: columns.length });
    td.style.height = `${px}px`;
    return h('tr', { class: 'spacer', 'aria-hidden': 'true' }, td);
  };

  function build(i) {
    const tr = renderRow(items[i], i);
    tr.dataset.index = String(i);
    tr.setAttribute('aria-rowindex', String(i + 2));
    if (i === active) tr.classList.add('active');
    return tr;
  }

  function draw(force = false) {
    frame = 0;
    if (printing) return;
    const n = items.length;
    empty.hidden = n > 0;
    table.setAttribute('aria-rowcount', String(n + 1));
    const firstVisible = Math.floor(Math.max(0, top - headH) / rowH);
    // Rows are built in chunks (a scroll of a few rows rebuilds nothing) with one chunk of margin.
    const start = Math.max(0, Math.floor(firstVisible / CHUNK) * CHUNK - CHUNK);
    const end = Math.min(n, Math.ceil((firstVisible + viewH / rowH) / CHUNK) * CHUNK + CHUNK);
    if (!force && start === range[0] && end === range[1]) return;
    range = [start, end];
    // Keep keyboard focus on the same control when its row is rebuilt.
    const focused = document.activeElement;
    let refocus = null;
    if (focused && focused !== wrap && tbody.contains(focused)) {
      const tr = focused.closest('tr[data-index]');
      refocus = { index: tr?.dataset.index, testid: focused.getAttribute('data-testid') };
    }
    const rows = [];
    if (start > 0) rows.push(spacer(start * rowH));
    for (let i = start; i < end; i++) rows.push(build(i));
    if (end < n) rows.push(spacer((n - end) * rowH));
    tbody.replaceChildren(...rows);
    if (refocus) {
      const again = refocus.testid ? tbody.querySelector(`tr[data-index="${refocus.index}"] [data-testid="${refocus.testid}"]`) : null;
      (again instanceof HTMLElement ? again : wrap).focus({ preventScroll: true });
    }
  }

  /** Reads the real sizes (call after layout); true when the row height differed. */
  function measure() {
    headH = thead.offsetHeight || headH;
    viewH = wrap.clientHeight || viewH;
    const first = tbody.querySelector('tr[data-index]');
    const real = first ? first.getBoundingClientRect().height : 0;
    if (real > 0 && Math.abs(real - rowH) > 0.25) {
      rowH = real;
      return true;
    }
    return false;
  }

  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(() => draw());
  };
  wrap.addEventListener('scroll', () => {
    top = wrap.scrollTop;
    schedule();
  }, { passive: true });
  const resize = typeof ResizeObserver === 'function' ? new ResizeObserver(() => {
    if (measure()) draw(true);
    else schedule();
  }) : null;
  resize?.observe(wrap);

  function scrollToRow(i) {
    const y = i * rowH;
    const inner = viewH - headH;
    if (y < top) wrap.scrollTop = y;
    else if (y + rowH > top + inner) wrap.scrollTop = y + rowH - inner;
    top = wrap.scrollTop;
  }

  function setActive(i) {
    if (items.length === 0) return;
    active = Math.max(0, Math.min(items.length - 1, i));
    for (const tr of tbody.querySelectorAll('tr.active')) tr.classList.remove('active');
    tbody.querySelector(`tr[data-index="${active}"]`)?.classList.add('active');
    scrollToRow(active);
    draw(true);
  }

  tbody.addEventListener('click', (e) => {
    const target = e.target;
    if (!(target instanceof Element)) return;
    const tr = target.closest('tr[data-index]');
    if (!tr) return;
    const i = Number(tr.dataset.index);
    active = i;
    for (const other of tbody.querySelectorAll('tr.active')) other.classList.remove('active');
    tr.classList.add('active');
    if (target.closest('input, a, button, label, select, textarea')) return;
    if (onActivate) onActivate(items[i], i);
  });

  wrap.addEventListener('keydown', (e) => {
    const t = e.target;
    if (t !== wrap) {
      // Links and buttons in a row keep their keys; a checkbox keeps Space and Enter.
      if (!(t instanceof HTMLInputElement && t.type === 'checkbox')) return;
      if (e.key === ' ' || e.key === 'Enter') return;
      wrap.focus({ preventScroll: true });
    }
    const page = Math.max(1, Math.floor((viewH - headH) / rowH) - 1);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    if (e.key in moves) setActive((active < 0 ? -1 : active) + moves[e.key]);
    else if (e.key === 'Home') setActive(0);
    else if (e.key === 'End') setActive(items.length - 1);
    else if (e.key === 'Enter' && active >= 0 && onActivate) onActivate(items[active], active);
    else if (e.key === ' ' && active >= 0 && onToggle) onToggle(items[active], active);
    else return;
    e.preventDefault();
  });

  const beforePrint = () => {
    printing = true;
    tbody.replaceChildren(...items.map((_, i) => build(i)));
  };
  const afterPrint = () => {
    printing = false;
    draw(true);
  };
  window.addEventListener('beforeprint', beforePrint);
  window.addEventListener('afterprint', afterPrint);

  return {
    el: wrap,
    get items() { return items; },
    setItems(next, { keepScroll = false } = {}) {
      items = next;
      active = -1;
      if (!keepScroll && top !== 0) {
        wrap.scrollTop = 0;
        top = 0;
      }
      draw(true);
    },
    refresh() { draw(true); },
    setEmptyText(text) { empty.textContent = text; },
    setSort(key, dir) {
      for (const [k, { th, arrow }] of sortButtons) {
        if (k === key) {
          th.setAttribute('aria-sort', dir === 'asc' ? 'ascending' : 'descending');
          arrow.textContent = dir === 'asc' ? '▲' : '▼';
        } else {
          th.removeAttribute('aria-sort');
          arrow.textContent = '';
        }
      }
    },
    dispose() {
      resize?.disconnect();
      window.removeEventListener('beforeprint', beforePrint);
      window.removeEventListener('afterprint', afterPrint);
    },
  };
}

function td(content, cls) {
  return h('td', { class: cls || null }, content);
}

function debounce(fn, ms) {
  let timer = 0;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** Runs fn at most once per `ms`, the last call winning. */
function throttle(fn, ms) {
  let timer = 0;
  let last = 0;
  const wrapped = () => {
    if (timer) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(() => {
      timer = 0;
      last = Date.now();
      fn();
    }, wait);
  };
  wrapped.cancel = () => { clearTimeout(timer); timer = 0; };
  return wrapped;
}

// ---------------------------------------------------------------------------------------------
// #/ Organizations

async function viewOrgs(ctx) {
  setTitle('Organizations');
  const grid = h('div', { class: 'org-grid', testid: 'org-list' });
  ctx.main.append(pageHead('Organizations'), grid, loading());
  let orgs = await loadOrgs();
  if (!ctx.alive) return;
  ctx.main.querySelector('.loading')?.remove();
  /** organizationId → the latest job event (or the scan we started). */
  const jobs = new Map();

  const reload = throttle(async () => {
    try {
      const next = await loadOrgs();
      if (!ctx.alive) return;
      orgs = next;
      render();
    } catch { /* the banner says it */ }
  }, 1000);
  ctx.cleanup(reload.cancel);

  function render() {
    if (orgs.length === 0) {
      grid.replaceChildren(h('div', { class: 'callout' }, 'No organization is connected yet. Connect one with ', h('code', null, 'sunset auth'), ', then reload this page.'));
      return;
    }
    grid.replaceChildren(...orgs.map(orgCard));
  }

  function orgCard(org) {
    const id = String(org.organizationId);
    const job = jobs.get(id);
    const running = Boolean(org.activeJob) || job?.state === 'running';
    const scanBtn = org.policy?.saved === false
      ? h('a', { href: `#/orgs/${enc(id)}`, class: 'btn btn-primary', testid: 'policy-first', title: 'A scan needs a policy: which contacts are dormant and which are never touched' }, 'Write a policy first')
      : h('button', { type: 'button', class: 'btn btn-primary', testid: 'scan-button', disabled: running, onclick: () => scan(org) },
        running ? 'Working…' : 'Scan and plan now');
    const status = h('p', { class: 'job-status', role: 'status', testid: 'job-status' });
    if (job) {
      status.append(badge(job.state === 'done' ? 'done' : job.state === 'failed' ? 'failed' : 'running', job.state === 'running' ? 'scanning' : `scan ${job.state}`), ' ', job.message ? String(job.message) : '');
      if (job.state === 'done' && job.planId) status.append(' ', h('a', { href: `#/plans/${enc(job.planId)}`, testid: 'job-plan-link' }, 'Review the new plan →'));
    } else if (org.activeJob) {
      const kind = org.activeJob.kind === 'apply' ? 'applying' : org.activeJob.kind === 'verify' ? 'verifying' : 'scanning';
      status.append(badge('running', kind), ' ');
      if (org.activeJob.kind === 'apply' || org.activeJob.kind === 'verify') status.append(h('a', { href: `#/runs/${enc(org.activeJob.id)}` }, 'Follow the run →'));
    }
    const snap = org.latestSnapshot;
    const plan = org.latestPlan;
    const quota = org.quota;
    const sched = org.schedule ?? {};
    const hook = org.webhook ?? {};
    const pct = quota && quota.limit > 0 ? Math.max(0, Math.min(100, (quota.remaining / quota.limit) * 100)) : 0;
    return h('article', { class: 'card org-card', testid: 'org-card', dataset: { orgId: id } },
      h('header', { class: 'card-head' },
        h('h2', null, h('a', { href: `#/orgs/${enc(id)}` }, org.name || id)),
        h('div', { class: 'card-sub' }, idText(id), org.plan ? h('span', { class: 'chip', title: 'Zoho Books subscription plan' }, `Zoho ${org.plan}`) : null)),
      status,
      kv([
        ['Latest scan', snap
          ? h('span', null, timeEl(snap.takenAt), ` · ${plural(snap.contactCount, 'contact')} · ${plural(snap.apiCalls, 'API call')}`)
          : h('span', { class: 'muted' }, org.policy?.saved === false ? 'none yet: write a policy, then scan' : 'none yet: scan to start')],
        ['Latest plan', plan
          ? h('span', { class: 'plan-line' },
            h('span', { testid: 'org-plan-counts' }, `${plural(plan.steps, 'change')}, ${count(plan.excluded)} excluded`), ' · ',
            plan.runId
              ? h('span', null, badge('done', 'approved'), ' ', h('a', { href: `#/runs/${enc(plan.runId)}` }, 'run'), ' · ', h('a', { href: `#/plans/${enc(plan.planId)}`, testid: 'review-link' }, 'view plan'))
              : h('a', { href: `#/plans/${enc(plan.planId)}`, class: 'strong', testid: 'review-link' }, 'Review →'))
          : h('span', { class: 'muted' }, 'none yet')],
        ['API quota', quota
          ? h('span', { class: 'quota' },
            h('meter', { min: 0, max: quota.limit, value: quota.remaining, low: quota.limit * 0.1, high: quota.limit * 0.3, optimum: quota.limit, title: `${pct.toFixed(0)}% left` }),
            ` ${count(quota.remaining)} of ${count(quota.limit)} calls left today`,
            quota.resetAt ? h('span', { class: 'muted block' }, 'Resets ', timeEl(quota.resetAt)) : null)
          : h('span', { class: 'muted' }, 'unknown until the first call')],
        ['Schedule', sched.cron
          ? h('span', null, h('code', null, sched.cron), ' ', sched.description ?? '',
            sched.nextRunAt ? h('span', { class: 'muted' }, ' Next: ', timeEl(sched.nextRunAt), ` (${relative(sched.nextRunAt)})`) : null)
          : h('span', { class: 'muted' }, 'not scheduled')],
        ['Auto-apply', sched.cron && sched.autoApplyMax !== null && sched.autoApplyMax !== undefined
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

  async function scan(org) {
    const id = String(org.organizationId);
    jobs.set(id, { state: 'running', message: 'Scan started…' });
    render();
    try {
      const res = await api(`/api/orgs/${enc(id)}/scan`, { method: 'POST' });
      if (!ctx.alive) return;
      const job = jobs.get(id);
      if (job && !job.jobId) job.jobId = String(res?.jobId ?? '');
    } catch {
      jobs.delete(id);
    }
    if (ctx.alive) render();
  }

  ctx.onEvent((type, data) => {
    if (type === 'job' && data.kind === 'verify') reload();
    else if (type === 'job') {
      const id = String(data.organizationId ?? '');
      jobs.set(id, data);
      if (data.state === 'running') render();
      else reload();
    } else if (type === 'run' && !ACTIVE_RUN_STATES.has(data.state)) reload();
  });
  render();
}

function mappingText(mapping) {
  if (!mapping) return '';
  const parts = [];
  if (mapping.inactive?.length) parts.push(`inactive on ${mapping.inactive.join(', ')}`);
  if (mapping.active?.length) parts.push(`active on ${mapping.active.join(', ')}`);
  return parts.length ? ` · ${parts.join('; ')}` : '';
}

// ---------------------------------------------------------------------------------------------
// #/orgs/ORG Settings

async function viewOrg(ctx, orgId) {
  setTitle('Organization settings');
  ctx.main.append(loading());
  const [orgs, runs] = await Promise.all([loadOrgs(), api(`/api/runs?org=${enc(orgId)}`).catch(() => [])]);
  if (!ctx.alive) return;
  ctx.main.replaceChildren();
  const org = orgs.find((o) => String(o.organizationId) === orgId);
  if (!org) {
    ctx.main.append(pageHead('Organization not found'), h('p', null, `No organization ${orgId} is connected. `, h('a', { href: '#/' }, 'See all organizations.')));
    return;
  }
  setTitle(`${org.name} settings`);
  ctx.main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Organizations'), ' / '),
    pageHead(org.name, h('div', { class: 'card-sub' }, idText(orgId), org.plan ? h('span', { class: 'chip' }, `Zoho ${org.plan}`) : null)),
    h('nav', { class: 'toc', 'aria-label': 'On this page' },
      h('a', { href: '#/orgs/' + enc(orgId), onclick: jump('policy') }, 'Policy'),
      h('a', { href: '#/orgs/' + enc(orgId), onclick: jump('schedule') }, 'Schedule'),
      h('a', { href: '#/orgs/' + enc(orgId), onclick: jump('webhook') }, 'CRM webhook'),
      h('a', { href: '#/orgs/' + enc(orgId), onclick: jump('runs') }, 'Runs')),
    policySection(ctx, org),
    scheduleSection(org),
    webhookSection(org),
    h('section', { class: 'panel', id: 'runs', 'aria-labelledby': 'runs-h' },
      h('h2', { id: 'runs-h' }, 'Runs'),
      Array.isArray(runs) && runs.length ? runsTable(runs, orgMap(orgs), { showOrg: false }) : h('p', { class: 'muted' }, 'No run yet.')));
}

function jump(id) {
  return (e) => {
    e.preventDefault();
    document.getElementById(id)?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };
}

function policySection(ctx, org) {
  const id = String(org.organizationId);
  let saved = org.policy?.text ?? '';
  // No policy saved yet: the editor starts from the starter policy, shown as unsaved changes.
  const draft = org.policy?.saved === false ? String(org.policy?.draft ?? '') : '';
  const ta = h('textarea', {
    class: 'code-input', id: 'policy-text', testid: 'policy-editor', spellcheck: 'false', wrap: 'off', autocapitalize: 'none', 'aria-describedby': 'policy-help',
  });
  ta.value = draft || saved;
  const gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
  const problemsList = h('ul', { class: 'problems', testid: 'policy-problems' });
  const status = h('span', { class: 'status', role: 'status', testid: 'policy-status' });
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'policy-save' }, 'Save policy');
  const revertBtn = h('button', { type: 'button', class: 'btn', testid: 'policy-revert', onclick: () => { ta.value = saved || draft; update(); showProblems([]); status.textContent = ''; } }, 'Revert');
  let badLines = new Set();
  let lineCount = -1;

  function renderGutter() {
    const n = ta.value.split('\n').length;
    if (n === lineCount && !gutter.dataset.stale) return;
    lineCount = n;
    delete gutter.dataset.stale;
    const spans = [];
    for (let i = 1; i <= n; i++) spans.push(h('span', { class: badLines.has(i) ? 'bad' : null }, String(i)));
    gutter.replaceChildren(...spans);
    gutter.scrollTop = ta.scrollTop;
  }
  function update() {
    renderGutter();
    const dirty = ta.value !== saved;
    status.textContent = dirty ? 'Unsaved changes' : '';
    status.className = dirty ? 'status status-warn' : 'status';
    revertBtn.disabled = ta.value === (saved || draft);
  }
  function jumpTo(line, column) {
    const lines = ta.value.split('\n');
    let pos = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
    const lineText = lines[line - 1] ?? '';
    const start = pos + Math.max(0, Math.min(lineText.length, (column || 1) - 1));
    ta.focus();
    ta.setSelectionRange(start, pos + lineText.length);
    const lh = parseFloat(getComputedStyle(ta).lineHeight) || 20;
    ta.scrollTop = Math.max(0, (line - 4) * lh);
  }
  function showProblems(problems, nothingSaved = false) {
    badLines = new Set(problems.map((p) => p.line).filter((l) => typeof l === 'number'));
    gutter.dataset.stale = '1';
    renderGutter();
    problemsList.replaceChildren();
    if (problems.length === 0) return;
    if (nothingSaved) problemsList.append(h('li', { class: 'problems-head' }, `${plural(problems.length, 'problem')}: nothing was saved.`));
    for (const p of problems) {
      const where = p.line ? `line ${p.line}${p.column ? `:${p.column}` : ''}` : 'policy';
      problemsList.append(h('li', { testid: 'policy-problem' },
        h('button', { type: 'button', class: 'linklike', onclick: () => p.line && jumpTo(p.line, p.column) }, where),
        p.path ? h('code', { class: 'path' }, String(p.path)) : null,
        ' ', String(p.message ?? '')));
    }
  }
  ta.addEventListener('input', update);
  ta.addEventListener('scroll', () => { gutter.scrollTop = ta.scrollTop; });
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey) {
      e.preventDefault();
      ta.setRangeText('  ', ta.selectionStart, ta.selectionEnd, 'end');
      update();
    } else if ((e.ctrlKey || e.metaKey) && e.key === 's') {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  const form = h('form', { class: 'stack', onsubmit: async (e) => {
    e.preventDefault();
    saveBtn.disabled = true;
    status.textContent = 'Saving…';
    try {
      const res = await api(`/api/orgs/${enc(id)}/policy`, { method: 'PUT', body: { text: ta.value }, expect: [400] });
      saved = res?.policy?.text ?? ta.value;
      if (ta.value !== saved) ta.value = saved;
      update();
      showProblems(res?.policy?.problems ?? []);
      status.textContent = 'Saved. The next scan uses this policy.';
      status.className = 'status status-ok';
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) {
        const problems = Array.isArray(err.body?.problems) ? err.body.problems : [];
        showProblems(problems.length ? problems : [{ message: err.message }], true);
        status.textContent = 'Not saved: fix the problems below.';
        status.className = 'status status-error';
      } else {
        status.textContent = 'Not saved.';
        status.className = 'status status-error';
      }
    } finally {
      saveBtn.disabled = false;
    }
  } },
  h('div', { class: 'editor' }, gutter, ta),
  h('div', { class: 'actions' }, saveBtn, revertBtn, status),
  problemsList);
  update();
  showProblems(org.policy?.problems ?? []);
  // Leaving with unsaved changes asks first (closing the tab or navigating away).
  const beforeUnload = (e) => { if (ta.value !== saved) { e.preventDefault(); e.returnValue = ''; } };
  window.addEventListener('beforeunload', beforeUnload);
  ctx.cleanup(() => window.removeEventListener('beforeunload', beforeUnload));
  return h('section', { class: 'panel', id: 'policy', 'aria-labelledby': 'policy-h' },
    h('h2', { id: 'policy-h' }, 'Policy'),
    h('p', { class: 'help', id: 'policy-help' }, 'The rules (YAML) that decide which contacts are dormant and which are left alone: inactivity window, open balances, unused credits, grace period, filters, allow and deny lists, a cap. A policy with problems is not saved. Ctrl+S saves.'),
    form);
}

function scheduleSection(org) {
  const id = String(org.organizationId);
  const sched = org.schedule ?? {};
  const cron = h('input', { type: 'text', id: 'cron', class: 'mono', testid: 'schedule-cron', placeholder: '0 2 * * *', spellcheck: 'false', autocomplete: 'off', value: sched.cron ?? '', 'aria-describedby': 'cron-explain cron-help' });
  const explain = h('p', { class: 'explain', id: 'cron-explain', testid: 'cron-explain', 'aria-live': 'polite' });
  const upcoming = h('p', { class: 'help', testid: 'cron-next' });
  // The server's parser (the one Save uses) explains the expression: what it means and its next
  // runs, or what is wrong with it. Only the answer to the latest text is shown.
  let asked = 0;
  const explainNow = async () => {
    const text = cron.value.trim();
    const mine = ++asked;
    if (!text) {
      explain.className = 'explain';
      explain.textContent = 'No schedule: scans run only when started here or from the command line.';
      upcoming.replaceChildren();
      return;
    }
    let answer;
    try {
      answer = await api(`/api/cron?expr=${enc(text)}`, { silent: true });
    } catch {
      if (mine !== asked) return;
      explain.className = 'explain';
      explain.textContent = 'Could not check the expression just now.';
      upcoming.replaceChildren();
      return;
    }
    if (mine !== asked) return;
    if (!answer?.valid) {
      explain.className = 'explain text-bad';
      explain.textContent = `Not a valid cron expression: ${answer?.error ?? 'unknown error'}.`;
      upcoming.replaceChildren();
      return;
    }
    explain.className = 'explain';
    explain.textContent = answer.description;
    const times = Array.isArray(answer.next) ? answer.next : [];
    upcoming.replaceChildren(...(times.length
      ? ['Next runs (your time): ', ...times.flatMap((t, i) => [i ? ', ' : '', timeEl(t)])]
      : [h('span', { class: 'text-bad' }, 'That date never comes: this schedule would never run.')]));
  };
  const explainSoon = debounce(explainNow, 250);
  cron.addEventListener('input', () => {
    asked++; // an answer still on its way is for older text
    explain.className = 'explain muted';
    explain.textContent = cron.value.trim() ? 'Checking…' : 'No schedule: scans run only when started here or from the command line.';
    explainSoon();
  });
  explainNow();
  const cap = h('input', { type: 'number', id: 'auto-apply', min: 1, step: 1, testid: 'schedule-autoapply', value: sched.autoApplyMax ?? '', 'aria-describedby': 'cap-help' });
  const next = h('span', { testid: 'schedule-next' });
  const last = h('span', { testid: 'schedule-last' });
  const status = h('span', { class: 'status', role: 'status', testid: 'schedule-status' });
  const showTimes = (s) => {
    next.replaceChildren(s?.nextRunAt ? h('span', null, timeEl(s.nextRunAt), ` (${relative(s.nextRunAt)})`) : h('span', { class: 'muted' }, '—'));
    last.replaceChildren(s?.lastRunAt ? timeEl(s.lastRunAt) : h('span', { class: 'muted' }, 'never'));
  };
  showTimes(sched);
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'schedule-save' }, 'Save schedule');
  const form = h('form', { class: 'form-grid', onsubmit: async (e) => {
    e.preventDefault();
    const capText = cap.value.trim();
    const body = { cron: cron.value.trim() || null, autoApplyMax: capText === '' ? null : parseInt(capText, 10) };
    saveBtn.disabled = true;
    status.textContent = 'Saving…';
    status.className = 'status';
    try {
      const res = await api(`/api/orgs/${enc(id)}/schedule`, { method: 'PUT', body, expect: [400] });
      const s = res?.schedule ?? res?.org?.schedule ?? null;
      if (s) showTimes(s);
      status.textContent = body.cron ? 'Saved.' : 'Saved: no scheduled scans.';
      status.className = 'status status-ok';
    } catch (err) {
      status.textContent = err instanceof ApiError && err.status === 400 ? `Not saved: ${err.message}` : 'Not saved.';
      status.className = 'status status-error';
    } finally {
      saveBtn.disabled = false;
    }
  } },
  h('label', { for: 'cron' }, 'When to scan (cron)'),
  h('div', null, cron, explain, upcoming,
    h('p', { class: 'help', id: 'cron-help' }, 'Five fields, in UTC: minute, hour, day of month, month, day of week. ', h('code', null, '0 2 * * *'), ' is every day at 02:00 UTC; ', h('code', null, '30 6 * * 1-5'), ' is weekdays at 06:30 UTC. Each scheduled scan plans with the saved policy. Leave empty to scan only by hand.')),
  h('label', { for: 'auto-apply' }, 'Auto-apply up to'),
  h('div', null, cap, ' changes',
    h('p', { class: 'help', id: 'cap-help' }, 'After a scheduled scan, a plan with at most this many changes (1 or more) is applied without review; a bigger one waits. Empty: every plan waits for a person to approve it.')),
  h('span', { class: 'label' }, 'Next run'), h('span', null, next, h('span', { class: 'muted' }, ' (your time)')),
  h('span', { class: 'label' }, 'Last run'), last,
  h('span'), h('div', { class: 'actions' }, saveBtn, status));
  return h('section', { class: 'panel', id: 'schedule', 'aria-labelledby': 'schedule-h' }, h('h2', { id: 'schedule-h' }, 'Schedule'), form);
}

function webhookSection(org) {
  const id = String(org.organizationId);
  const hook = org.webhook ?? {};
  const mode = h('select', { id: 'wh-mode', testid: 'webhook-mode' },
    h('option', { value: 'hmac', selected: hook.mode !== 'secret' }, 'hmac: the CRM signs each request with the secret'),
    h('option', { value: 'secret', selected: hook.mode === 'secret' }, 'secret: the CRM sends the secret with each request'));
  const lines = (list) => (Array.isArray(list) ? list.join('\n') : '');
  const inactive = h('textarea', { id: 'wh-inactive', rows: 3, class: 'mono', testid: 'webhook-inactive', spellcheck: 'false' });
  inactive.value = lines(hook.mapping?.inactive);
  const active = h('textarea', { id: 'wh-active', rows: 3, class: 'mono', testid: 'webhook-active', spellcheck: 'false' });
  active.value = lines(hook.mapping?.active);
  const parse = (ta) => ta.value.split('\n').map((s) => s.trim()).filter(Boolean);
  const state = h('span', { testid: 'webhook-state' });
  const showState = (w) => state.replaceChildren(w?.configured ? badge('done', 'configured') : badge('pending', 'not configured'));
  showState(hook);
  const status = h('span', { class: 'status', role: 'status', testid: 'webhook-status' });
  const secretBox = h('div', { class: 'secret-box', testid: 'webhook-secret-box', hidden: true });
  const fromFile = hook.mappingFile ? String(hook.mappingFile) : '';
  if (fromFile) {
    inactive.readOnly = true;
    active.readOnly = true;
  }
  const mappingHelp = (text) => fromFile
    ? h('p', { class: 'help', testid: 'webhook-mapping-file' }, 'From the mapping file ', h('code', null, fromFile), ' (sunset serve --crm-mapping): change it there and restart the service.')
    : h('p', { class: 'help' }, text);
  const url = `${location.origin}/hooks/crm/${enc(id)}`;
  const urlCopy = h('button', { type: 'button', class: 'btn btn-small', onclick: (e) => copyText(url, e.currentTarget) }, 'Copy');
  const rotateBtn = h('button', { type: 'button', class: 'btn', testid: 'webhook-rotate' }, hook.configured ? 'Rotate secret' : 'Create secret');

  async function save(rotate) {
    // A mapping from the service's --crm-mapping file is not sent: only the file changes it.
    const body = fromFile ? { mode: mode.value } : { mode: mode.value, mapping: { inactive: parse(inactive), active: parse(active) } };
    if (rotate) body.rotateSecret = true;
    status.textContent = 'Saving…';
    status.className = 'status';
    try {
      const res = await api(`/api/orgs/${enc(id)}/webhook`, { method: 'PUT', body, expect: [400] });
      if (res?.webhook) showState(res.webhook);
      rotateBtn.textContent = 'Rotate secret';
      status.textContent = 'Saved.';
      status.className = 'status status-ok';
      if (res?.secret) showSecret(String(res.secret));
    } catch (err) {
      status.textContent = err instanceof ApiError && err.status === 400 ? `Not saved: ${err.message}` : 'Not saved.';
      status.className = 'status status-error';
    }
  }
  function showSecret(secret) {
    const code = h('code', { class: 'secret', testid: 'webhook-secret' }, secret);
    secretBox.replaceChildren(
      h('p', { class: 'warn' }, h('strong', null, 'Copy this secret now: it will not be shown again.'), ' Put it in the CRM’s webhook settings; the old secret no longer works.'),
      h('div', { class: 'secret-row' }, code, h('button', { type: 'button', class: 'btn btn-small', testid: 'webhook-secret-copy', onclick: (e) => copyText(secret, e.currentTarget) }, 'Copy')),
      h('button', { type: 'button', class: 'btn btn-small btn-quiet', onclick: () => { secretBox.hidden = true; secretBox.replaceChildren(); } }, 'I have copied it, hide it'));
    secretBox.hidden = false;
  }
  rotateBtn.addEventListener('click', async () => {
    if (hook.configured || state.textContent === 'configured') {
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
  const form = h('form', { class: 'form-grid', onsubmit: (e) => { e.preventDefault(); save(false); } },
    h('span', { class: 'label' }, 'State'), state,
    h('span', { class: 'label' }, 'Endpoint'), h('div', { class: 'secret-row' }, h('code', { testid: 'webhook-url' }, url), urlCopy),
    h('label', { for: 'wh-mode' }, 'Authentication'),
    h('div', null, mode, h('p', { class: 'help' }, 'Zoho CRM’s plain workflow webhooks can only send a fixed secret; signing (hmac) needs a Deluge function. See docs/service.md.')),
    h('label', { for: 'wh-inactive' }, 'CRM statuses that make a contact inactive'),
    h('div', null, inactive, mappingHelp('One CRM status per line, for example Churned.')),
    h('label', { for: 'wh-active' }, 'CRM statuses that make a contact active'),
    h('div', null, active, mappingHelp('One CRM status per line. Statuses in neither list are recorded and left alone.')),
    h('span'), h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', testid: 'webhook-save' }, 'Save webhook'), rotateBtn, status),
    h('span'), secretBox);
  return h('section', { class: 'panel', id: 'webhook', 'aria-labelledby': 'webhook-h' },
    h('h2', { id: 'webhook-h' }, 'CRM webhook'),
    h('p', { class: 'help' }, 'The CRM calls this endpoint when an account’s status changes; Sunset makes the matching Books contact active or inactive. See ', h('a', { href: '#/webhooks' }, 'CRM events'), '.'),
    form);
}

// ---------------------------------------------------------------------------------------------
// Runs tables

function runsTable(list, orgsById, { showOrg = true } = {}) {
  const sorted = [...list].filter((r) => r && r.run).sort((a, b) => (b.run.createdAt ?? 0) - (a.run.createdAt ?? 0));
  const tbody = h('tbody');
  const rows = new Map();
  const row = (entry) => {
    const r = entry.run;
    const c = entry.counts ?? {};
    const p = progressOf(c);
    const status = runStatusOf(r);
    const note = runStatusNote(r);
    return h('tr', { testid: 'run-row', dataset: { runId: String(r.runId), state: r.state, status } },
      td(h('a', { href: `#/runs/${enc(r.runId)}`, class: 'id' }, String(r.runId))),
      showOrg ? td(orgName(orgsById, r.organizationId)) : null,
      td(r.kind === 'undo' && r.undoOf ? h('span', null, 'undo of ', h('a', { href: `#/runs/${enc(r.undoOf)}`, class: 'id' }, String(r.undoOf))) : String(r.kind ?? '')),
      td(h('span', { testid: 'run-row-status', title: note }, badge(status)), 'nowrap'),
      td(timeEl(r.createdAt), 'nowrap'),
      td(String(r.createdBy ?? '')),
      td(h('div', { class: 'mini-progress' }, progressBar(c), h('span', { class: 'num' }, `${count(p.done)} / ${count(p.total)}`))),
      td(count(c.changed), 'num'),
      td(count(c.unchanged), 'num'),
      td(count(c.skipped), 'num'),
      td(count(c.failed), `num${c.failed ? ' text-bad' : ''}`));
  };
  for (const entry of sorted) {
    const tr = row(entry);
    rows.set(String(entry.run.runId), { entry, tr });
    tbody.append(tr);
  }
  // One line under the table says what the states that need a hand mean.
  const notes = h('p', { class: 'help', testid: 'runs-status-note' });
  const renderNotes = () => {
    const list = [...rows.values()].map(({ entry }) => entry.run);
    const parts = [];
    if (list.some((r) => runStatusOf(r) === 'interrupted')) {
      parts.push('Interrupted: no process is applying the run (the service or the command line stopped while it ran); the service resumes it when it starts, and Resume on its page continues it now.');
    }
    if (list.some((r) => runStatusOf(r) === 'pending' && r.applying === false)) {
      parts.push('Pending without a process applying it: approved just before the service stopped; the service starts it when it starts, and Resume on its page starts it now.');
    }
    notes.textContent = parts.join(' ');
    notes.hidden = parts.length === 0;
  };
  renderNotes();
  const table = h('table', { class: 'grid', testid: 'runs-table' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, 'Run'), showOrg ? h('th', { scope: 'col' }, 'Organization') : null, h('th', { scope: 'col' }, 'Kind'),
      h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Created'), h('th', { scope: 'col' }, 'By'), h('th', { scope: 'col' }, 'Progress'),
      h('th', { scope: 'col', class: 'num' }, 'Changed'), h('th', { scope: 'col', class: 'num' }, 'Unchanged'), h('th', { scope: 'col', class: 'num' }, 'Skipped'), h('th', { scope: 'col', class: 'num' }, 'Failed'))),
    tbody);
  const wrap = h('div', null, h('div', { class: 'table-wrap' }, table), notes);
  /** Applies a `run` event; false when the run is not in this table. */
  wrap.applyEvent = (data) => {
    const known = rows.get(String(data.runId));
    if (!known) return false;
    if (data.state) {
      // Events come from this service's own job applying the run: what they say is live.
      known.entry.run.state = data.state;
      known.entry.run.status = data.state;
      known.entry.run.applying = ACTIVE_RUN_STATES.has(data.state) && !data.error;
    }
    if (data.counts) known.entry.counts = data.counts;
    const tr = row(known.entry);
    known.tr.replaceWith(tr);
    known.tr = tr;
    renderNotes();
    return true;
  };
  return wrap;
}

// ---------------------------------------------------------------------------------------------
// #/runs

async function viewRuns(ctx, query) {
  setTitle('Runs');
  let org = query.get('org') ?? '';
  const holder = h('div');
  ctx.main.append(pageHead('Runs'), loading());
  const orgs = await loadOrgs().catch(() => []);
  if (!ctx.alive) return;
  const byId = orgMap(orgs);
  let table = null;
  async function load() {
    holder.replaceChildren(loading());
    const list = await api(`/api/runs${org ? `?org=${enc(org)}` : ''}`);
    if (!ctx.alive) return;
    table = Array.isArray(list) && list.length ? runsTable(list, byId) : null;
    holder.replaceChildren(table ?? h('p', { class: 'muted', testid: 'runs-empty' }, 'No run yet. Runs start when a plan is approved, undone, or applied by a schedule or a CRM event.'));
  }
  ctx.main.querySelector('.loading')?.remove();
  ctx.main.append(h('div', { class: 'toolbar' }, orgSelect(orgs, org, 'runs-org-filter', (v) => { org = v; setHashQuery({ org }); load(); })), holder);
  const reload = throttle(() => { load().catch(() => {}); }, 2000);
  ctx.cleanup(reload.cancel);
  ctx.onEvent((type, data) => {
    if (type !== 'run') return;
    if (org && String(data.organizationId) !== org) return;
    if (!table || !table.applyEvent(data)) reload();
  });
  await load();
}

// ---------------------------------------------------------------------------------------------
// #/runs/RUN

/** Transaction types as people say them (the API's keys are Zoho's list names). */
const TRANSACTION_LABELS = {
  invoices: 'invoices', salesorders: 'sales orders', estimates: 'estimates', creditnotes: 'credit notes',
  customerpayments: 'customer payments', salesreceipts: 'sales receipts', bills: 'bills',
  purchaseorders: 'purchase orders', vendorpayments: 'vendor payments', vendorcredits: 'vendor credits',
};
const transactionLabel = (type) => TRANSACTION_LABELS[type] ?? String(type ?? '');

/** Where Verify is offered: a run that no longer moves (a moving one has nothing final to compare). */
const VERIFY_STATUSES = new Set(['done', 'paused', 'failed', 'cancelled']);

async function viewRun(ctx, runId) {
  setTitle(`Run ${runId}`);
  ctx.main.append(loading('Loading run…'));
  const [detail, orgs] = await Promise.all([api(`/api/runs/${enc(runId)}`), loadOrgs().catch(() => [])]);
  if (!ctx.alive) return;
  const byId = orgMap(orgs);
  let run = detail.run;
  let counts = detail.counts ?? {};
  let steps = Array.isArray(detail.steps) ? detail.steps : [];
  let verification = detail.verification ?? null;
  let verifiable = detail.verifiable === true;
  // Null on an emulator: no Zoho Books web app to open a contact in.
  const contactUrl = typeof detail.contactUrl === 'string' && detail.contactUrl ? detail.contactUrl : null;
  const liveOf = (data) => ({ phase: data?.phase ?? null, ratePerMinute: data?.ratePerMinute ?? null, etaMs: data?.etaMs ?? null, waitingUntil: data?.waitingUntil ?? null, message: data?.message ?? null, error: data?.error ?? null });
  // The latest event seen before this page opened (the first, "revalidating", comes right after an approval).
  let liveInfo = liveOf(ACTIVE_RUN_STATES.has(run.state) ? live.latestRun.get(runId) : null);
  /** A verification under way (followed from the job events, whoever started it), or null; and why the last one did not finish. */
  let verifying = null;
  let verifyError = null;

  const stateSlot = h('span', { testid: 'run-state' });
  const statusNote = h('p', { class: 'callout callout-warn status-note', testid: 'run-status-note', hidden: true });
  const progressSlot = h('div', { class: 'run-progress' });
  const numbers = h('dl', { class: 'numbers', testid: 'run-counts' });
  const liveLine = h('p', { class: 'live-line', 'aria-live': 'polite', testid: 'run-live' });
  const actions = h('div', { class: 'actions' });
  const meta = h('div');
  const verifyBody = h('div');

  const isApplying = () => (typeof run.applying === 'boolean' ? run.applying : ACTIVE_RUN_STATES.has(run.state));

  function renderHead() {
    const status = runStatusOf(run);
    stateSlot.replaceChildren(badge(status));
    const note = runStatusNote(run);
    statusNote.textContent = note ?? '';
    statusNote.hidden = !note;
    const p = progressOf(counts);
    progressSlot.replaceChildren(progressBar(counts, 'run-progress'), h('span', { class: 'pct' }, `${p.pct.toFixed(p.pct > 0 && p.pct < 10 ? 1 : 0)}%`));
    numbers.replaceChildren(...[
      ['total', 'total', counts.total], ['done', 'finished', p.done], ['changed', 'changed', counts.changed], ['unchanged', 'unchanged', counts.unchanged],
      ['skipped', 'skipped', counts.skipped], ['failed', 'failed', counts.failed], ['pending', 'pending', (counts.pending ?? 0) + (counts.inFlight ?? 0)],
    ].map(([key, label, v]) => h('div', { class: `num-${key}` }, h('dt', null, label), h('dd', { testid: `run-count-${key}` }, count(v)))));
    liveLine.replaceChildren();
    // Live progress only while this service applies the run: a pending run nobody applies is not "starting".
    const activeNow = isApplying();
    const rate = Number(liveInfo.ratePerMinute);
    if (activeNow && liveInfo.waitingUntil) {
      liveLine.append(h('span', { class: 'waiting', testid: 'run-waiting' }, 'Waiting for the daily quota to reset at ', timeEl(liveInfo.waitingUntil), ` (${relative(liveInfo.waitingUntil)}). The run continues by itself.`));
    } else if (activeNow && liveInfo.phase === 'revalidating') {
      // Before the first step: the contacts changed since the scan are read, so none is changed on stale evidence.
      liveLine.append(h('span', { class: 'muted', testid: 'run-phase' }, 'Checking what changed since the snapshot…'));
    } else if (activeNow && rate > 0) {
      // The engine's own rate (over the last two minutes, never above the organization's per-minute limit) and time left.
      const eta = liveInfo.etaMs;
      liveLine.append(
        h('span', { testid: 'run-rate', dataset: { ratePerMinute: String(rate) } }, `${rateFmt().format(rate >= 10 ? Math.round(rate) : rate)} steps per minute`),
        ' · ',
        h('span', { testid: 'run-eta', dataset: { etaMs: eta === null || eta === undefined ? '' : String(eta) } },
          eta === null || eta === undefined ? 'working out the time left' : `about ${duration(eta)} left`));
    } else if (activeNow) liveLine.append(h('span', { class: 'muted' }, liveInfo.message ? String(liveInfo.message) : 'Starting…'));
    if (liveInfo.error) liveLine.append(h('span', { class: 'text-bad', testid: 'run-error' }, String(liveInfo.error)));
    renderActions();
    renderVerify();
    meta.replaceChildren(kv([
      ['Organization', h('a', { href: `#/orgs/${enc(run.organizationId)}` }, orgName(byId, run.organizationId))],
      ['Kind', String(run.kind ?? '')],
      run.planId ? ['Plan', h('a', { href: `#/plans/${enc(run.planId)}`, class: 'id' }, String(run.planId))] : null,
      run.undoOf ? ['Undoes', h('a', { href: `#/runs/${enc(run.undoOf)}`, class: 'id' }, String(run.undoOf))] : null,
      ['Created', h('span', null, timeEl(run.createdAt), run.createdBy ? ` by ${run.createdBy}` : '')],
      ['Started', timeEl(run.startedAt)],
      ['Finished', timeEl(run.finishedAt)],
      run.note ? ['Note', String(run.note)] : null,
    ], 'kv-inline'));
  }

  function renderActions() {
    const b = [];
    const status = runStatusOf(run);
    const leftover = (counts.pending ?? 0) + (counts.inFlight ?? 0) + (counts.failed ?? 0);
    // Stop reaches only a job of this service; Resume is for a run nobody applies: paused by a
    // person, interrupted by a stop of the service or the CLI, or approved just before one.
    if (isApplying()) {
      b.push(h('button', { type: 'button', class: 'btn', testid: 'run-stop', onclick: (e) => act('stop', e.currentTarget) }, 'Stop'));
    } else if (['paused', 'interrupted', 'pending'].includes(status) || (status === 'failed' && leftover > 0)) {
      b.push(h('button', { type: 'button', class: 'btn btn-primary', testid: 'run-resume', onclick: (e) => act('resume', e.currentTarget) }, 'Resume'));
    }
    if (!isApplying() && !['pending', 'running', 'interrupted'].includes(status) && (counts.changed ?? 0) > 0) {
      b.push(h('button', { type: 'button', class: 'btn btn-danger-outline', testid: 'run-undo', onclick: (e) => undo(e.currentTarget) }, `Undo ${plural(counts.changed, 'change')}`));
    }
    actions.replaceChildren(...b);
  }

  async function act(verb, button) {
    button.disabled = true;
    try {
      await api(`/api/runs/${enc(runId)}/${verb}`, { method: 'POST' });
      if (verb === 'stop') liveLine.replaceChildren(h('span', { class: 'muted' }, 'Stopping after the calls in flight…'));
      await reloadNow();
    } catch {
      button.disabled = false;
    }
  }

  async function undo(button) {
    const ok = await confirmDialog({
      title: `Undo run ${runId}?`,
      body: [
        h('p', null, `A new run will put back the ${plural(counts.changed ?? 0, 'contact')} this run changed in `, h('strong', null, orgName(byId, run.organizationId)), ` (${run.organizationId}).`),
        h('p', { class: 'muted' }, 'Contacts changed since by someone else are left as they are and listed as skipped.'),
      ],
      confirmLabel: 'Undo the run',
      danger: true,
    });
    if (!ok) return;
    button.disabled = true;
    try {
      const res = await api(`/api/runs/${enc(runId)}/undo`, { method: 'POST' });
      if (res?.runId) location.hash = `#/runs/${enc(res.runId)}`;
      else await reloadNow();
    } catch {
      button.disabled = false;
    }
  }

  // Verify: the run's contacts' transactions now against the counts taken before it ran.
  const nameOf = (id) => steps.find((st) => String(st.contactId) === String(id))?.contactName ?? '';
  function notVerifiableText(status) {
    const none = 'Sunset has no count of this run’s contacts’ transactions from before it ran, so there is nothing to compare with';
    if (run.kind === 'crm') return `This run cannot be verified. ${none}: a CRM run changes contacts one at a time as the CRM asks, without taking one.`;
    if (run.kind === 'manual') return `This run cannot be verified. ${none}: a run of a list of contacts (sunset contacts) is made without taking one.`;
    if (status === 'pending' || status === 'running' || status === 'interrupted') return 'Verify becomes possible once the run has counted its contacts’ transactions, which it does as it starts.';
    return `This run cannot be verified. ${none} (it was applied with --no-fingerprint).`;
  }
  function renderVerify() {
    const status = runStatusOf(run);
    if (!verifiable) {
      verifyBody.replaceChildren(h('p', { class: 'muted', testid: 'verify-unavailable' }, notVerifiableText(status)));
      return;
    }
    const ready = VERIFY_STATUSES.has(status);
    const button = ready
      ? h('button', { type: 'button', class: 'btn', testid: 'run-verify', disabled: Boolean(verifying), onclick: (e) => startVerify(e.currentTarget) }, verification ? 'Verify again' : 'Verify')
      : h('span', { class: 'muted', testid: 'verify-later' }, 'Verify once the run is done or paused.');
    verifyBody.replaceChildren(
      h('p', { class: 'help' }, 'Compares, for every contact of this run, how many transactions of each type it has and their total with the counts taken before the run. A difference where the contact traded since is explained; any other is a loss. It reads Zoho Books, so it costs API calls.'),
      h('div', { class: 'actions' }, button,
        verifying ? h('span', { class: 'status', role: 'status', testid: 'verify-progress' }, badge('running', 'verifying'), ' ', String(verifying.message ?? 'starting…')) : null,
        verifyError ? h('span', { class: 'status status-error', testid: 'verify-error' }, String(verifyError)) : null),
      verification
        ? verificationView(verification, { nameOf, contactUrl })
        : h('p', { class: 'muted', testid: 'verify-none' }, 'Not verified yet.'));
  }
  async function startVerify(button) {
    button.disabled = true;
    verifyError = null;
    verifying = { message: 'starting…' };
    renderVerify();
    try {
      await api(`/api/runs/${enc(runId)}/verify`, { method: 'POST', expect: [409] });
    } catch (err) {
      if (!ctx.alive) return;
      // 409: already being verified (its events follow here), or nothing to compare with.
      verifying = null;
      verifyError = err instanceof ApiError && err.status === 409 ? err.message : 'Could not start the verification.';
      renderVerify();
    }
  }

  // Steps table.
  const search = h('input', { type: 'search', placeholder: 'Name or contact id', testid: 'steps-search', 'aria-label': 'Search steps by name or contact id' });
  const stateFilter = h('select', { testid: 'steps-state-filter', 'aria-label': 'Filter steps by state' },
    h('option', { value: '' }, 'All states'),
    ['pending', 'in_flight', 'changed', 'unchanged', 'skipped', 'failed'].map((s) => h('option', { value: s }, s.replace('_', ' '))));
  const shownCount = h('span', { class: 'muted', testid: 'steps-count', 'aria-live': 'polite' });
  const stepKey = (s) => (s.state === 'done' && s.outcome ? s.outcome : s.state);
  const table = createVirtualTable({
    label: 'Steps of this run',
    testid: 'run-steps',
    emptyText: 'No step matches.',
    columns: [
      { label: '#', width: '56px', num: true },
      { label: 'Contact' },
      { label: 'Contact ID', width: '172px', cls: 'id' },
      { label: 'Type', width: '90px' },
      { label: 'Action', width: '108px' },
      { label: 'State', width: '112px' },
      { label: 'Skip reason or error', width: '26%' },
      { label: 'Tries', width: '60px', num: true },
      { label: 'Finished', width: '184px', cls: 'finished' },
      // Only where there is a Zoho Books web app (not on an emulator): no dead links.
      contactUrl ? { label: 'Zoho Books', width: '150px', cls: 'books' } : null,
    ].filter(Boolean),
    renderRow: (s) => h('tr', { testid: 'step-row', dataset: { contactId: String(s.contactId), seq: String(s.seq), state: stepKey(s) } },
      td(String(s.seq ?? ''), 'num'),
      td(String(s.contactName ?? ''), 'ellipsis'),
      td(String(s.contactId), 'id col-id'),
      td(String(s.contactType ?? '')),
      td(h('span', { class: `action action-${s.action}` }, String(s.action ?? ''))),
      td(badge(stepKey(s))),
      td(s.lastError ? h('span', { class: 'text-bad', title: String(s.lastError) }, String(s.lastError)) : s.skipReason ? h('span', { title: String(s.skipReason) }, String(s.skipReason)) : '', 'ellipsis'),
      td(count(s.attempts), 'num'),
      td(s.finishedAt ? timeEl(s.finishedAt) : '', 'col-finished nowrap'),
      contactUrl ? td(booksLink(contactUrl, s.contactId), 'col-books nowrap') : null),
  });
  ctx.cleanup(() => table.dispose());
  function filterSteps() {
    const q = search.value.trim().toLowerCase();
    const st = stateFilter.value;
    const out = steps.filter((s) => (!st || stepKey(s) === st) && (!q || String(s.contactName ?? '').toLowerCase().includes(q) || String(s.contactId).includes(q)));
    table.setItems(out, { keepScroll: true });
    shownCount.textContent = out.length === steps.length ? plural(steps.length, 'step') : `${count(out.length)} of ${plural(steps.length, 'step')}`;
  }
  const filterSoon = debounce(filterSteps, 150);
  search.addEventListener('input', filterSoon);
  stateFilter.addEventListener('change', filterSteps);
  ctx.cleanup(filterSoon.cancel);

  async function reloadNow() {
    const d = await api(`/api/runs/${enc(runId)}`);
    if (!ctx.alive) return;
    run = d.run;
    counts = d.counts ?? counts;
    steps = Array.isArray(d.steps) ? d.steps : steps;
    verification = d.verification ?? null;
    verifiable = d.verifiable === true;
    renderHead();
    filterSteps();
  }
  const reloadSteps = throttle(() => { if (!document.hidden) reloadNow().catch(() => {}); }, 3000);
  ctx.cleanup(reloadSteps.cancel);

  fill(ctx.main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/runs' }, 'Runs'), ' / '),
    h('div', { class: 'page-head' }, h('h1', null, 'Run ', h('span', { class: 'id', testid: 'run-id' }, runId)), stateSlot, actions),
    statusNote,
    meta,
    h('section', { class: 'panel', 'aria-label': 'Progress' }, progressSlot, numbers, liveLine),
    h('section', { class: 'panel verify-panel', 'aria-labelledby': 'verify-h', testid: 'verify-panel' }, h('h2', { id: 'verify-h' }, 'Verify: no history lost'), verifyBody),
    h('section', { 'aria-labelledby': 'steps-h' },
      h('h2', { id: 'steps-h' }, 'Steps'),
      h('div', { class: 'toolbar' }, search, stateFilter, shownCount),
      table.el));
  renderHead();
  filterSteps();

  ctx.onEvent((type, data) => {
    if (String(data.runId) !== runId) return;
    if (type === 'job' && data.kind === 'verify') {
      if (data.state === 'running') {
        verifying = { message: data.message ?? 'working…' };
        verifyError = null;
        renderVerify();
      } else {
        // Done (the result is saved before this event) or failed: the page reads the result.
        verifying = null;
        verifyError = data.state === 'failed' ? `The verification failed: ${data.message ?? 'unknown error'}` : null;
        renderVerify();
        reloadNow().catch(() => {});
      }
      return;
    }
    if (type !== 'run') return;
    const wasActive = isApplying();
    if (data.state) {
      // The events come from this service's job applying the run: what they say is live.
      run.state = data.state;
      run.status = data.state;
      run.applying = ACTIVE_RUN_STATES.has(data.state) && !data.error;
    }
    if (data.counts) counts = data.counts;
    liveInfo = liveOf(data);
    renderHead();
    if ((wasActive && !isApplying()) || data.error) reloadNow().catch(() => {});
    else reloadSteps();
  });
  // Events are the fast path, not the only one: an event sent between this page's first read and
  // its subscription (a short run finishing as the page opens), or lost to a dropped connection,
  // must not leave the page on a state that is over. While the run is not finished, read it again
  // every few seconds.
  const fallback = setInterval(() => {
    if (!ctx.alive || document.hidden || !ACTIVE_RUN_STATES.has(run.state)) return;
    reloadNow().catch(() => {});
  }, 4000);
  ctx.cleanup(() => clearInterval(fallback));
}

/** Money from cents (verification totals are whole cents). */
function cents(n) {
  return money((Number(n) || 0) / 100);
}

/** "3 (120.00)": a count of transactions and their total. */
function countAndTotal(side) {
  return `${count(side?.count ?? 0)} (${cents(side?.totalCents ?? 0)})`;
}

/** The last verification of a run: its verdict, what it compared, and every difference. */
function verificationView(v, { nameOf, contactUrl }) {
  const r = v.result && typeof v.result === 'object' ? v.result : {};
  const diffs = Array.isArray(r.differences) ? r.differences : [];
  const explained = diffs.filter((d) => typeof d.explained === 'string');
  const lost = diffs.filter((d) => typeof d.explained !== 'string');
  const contact = (id) => {
    const name = nameOf(id);
    return h('span', null, name ? `${name} ` : '', idText(id, 'muted'), contactUrl ? [' ', booksLink(contactUrl, id)] : null);
  };
  const before = r.before && typeof r.before === 'object' ? r.before : null;
  const out = [];
  if (v.ok) {
    out.push(h('p', { class: 'verify-verdict verify-ok' }, badge('done', 'verified'), ' ',
      h('span', { testid: 'verify-summary' }, `No history lost: ${plural(r.transactions ?? 0, 'transaction')} totalling ${cents(r.totalCents)} across ${plural(r.contacts ?? 0, 'contact')}, as before the run.`)));
  } else {
    out.push(h('p', { class: 'verify-verdict verify-bad' }, badge('failed', 'differences'), ' ',
      h('span', { testid: 'verify-summary' }, `${plural(lost.length, 'unexplained difference')} from before the run: these contacts' transactions are not as they were, and nothing traded since explains it.`)));
    out.push(h('div', { class: 'table-wrap' }, h('table', { class: 'grid compact', testid: 'verify-lost' },
      h('thead', null, h('tr', null, ['Contact', 'Transactions', 'Before', 'Now'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, lost.map((d) => h('tr', { testid: 'verify-lost-row', dataset: { contactId: String(d.contactId), type: String(d.transactionType) } },
        td(contact(d.contactId)), td(transactionLabel(d.transactionType)), td(countAndTotal(d.before), 'num'), td(countAndTotal(d.after), 'num')))))));
  }
  if (explained.length) {
    out.push(h('p', { testid: 'verify-explained-count' }, `${plural(explained.length, 'difference')} ${explained.length === 1 ? 'is' : 'are'} explained by trading since the counts were taken (not a loss):`));
    out.push(h('ul', { class: 'verify-explained', testid: 'verify-explained' }, explained.map((d) => h('li', { testid: 'verify-explained-item', dataset: { contactId: String(d.contactId), type: String(d.transactionType) } },
      contact(d.contactId), `, ${transactionLabel(d.transactionType)}: ${countAndTotal(d.before)} before → ${countAndTotal(d.after)} now. `, h('span', { class: 'muted' }, String(d.explained))))));
  }
  out.push(h('p', { class: 'help', testid: 'verify-meta' }, 'Verified ', timeEl(v.verifiedAt),
    before ? [' against the counts of ', timeEl(before.takenAt), before.source === 'snapshot' ? ' (taken by the scan)' : ' (read when the run started)'] : null,
    `; read ${r.method === 'per-contact' ? 'one list per contact and type' : 'whole transaction lists'}, ${plural(r.apiCalls ?? 0, 'API call')}.`));
  return h('div', { class: 'verify-result', testid: 'verify-result', dataset: { ok: String(Boolean(v.ok)) } }, out);
}

// ---------------------------------------------------------------------------------------------
// #/plans/PLAN Plan review

const CHART_COLORS = { deactivate: '#d55e00', excluded: '#0072b2', kept: '#a8a8a8' };
const CHART_PARTS = ['deactivate', 'excluded', 'kept'];
const CHART_NAMES = { deactivate: 'to deactivate', excluded: 'excluded', kept: 'kept (recently active)' };

function bucketName(label) {
  if (label === 'none') return 'No activity in the window';
  return label === '1' ? '1 month since last activity' : `${label} months since last activity`;
}

function niceStep(max, ticks) {
  if (max <= ticks) return 1;
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/** Stacked bars per histogram bucket: deactivate at the bottom, then excluded, then kept. */
function histogramChart(buckets) {
  const months = buckets.filter((b) => b.label !== 'none');
  const none = buckets.find((b) => b.label === 'none');
  const total = (b) => (b.deactivate ?? 0) + (b.excluded ?? 0) + (b.kept ?? 0);
  const slot = months.length > 48 ? 14 : 24;
  const noneSlot = none ? 90 : 0;
  const gap = none ? 16 : 0;
  const left = 52;
  const right = 12;
  const top = 40;
  const plot = 200;
  const bottom = 52;
  const width = left + Math.max(1, months.length) * slot + gap + noneSlot + right;
  const height = top + plot + bottom;
  const max = Math.max(0, ...buckets.map(total));
  const step = niceStep(max, 4);
  const yMax = Math.max(step, Math.ceil(max / step) * step);
  const y = (v) => top + plot - (v / yMax) * plot;
  const r = (n) => Math.round(n * 10) / 10;
  const describe = (b) => {
    const parts = CHART_PARTS.filter((p) => (b[p] ?? 0) > 0).map((p) => `${count(b[p])} ${CHART_NAMES[p]}`);
    return `${bucketName(b.label)}: ${plural(total(b), 'contact')}${parts.length ? ` (${parts.join(', ')})` : ''}`;
  };
  const filled = buckets.filter((b) => total(b) > 0);
  const root = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-labelledby': 'chart-t chart-d', 'data-testid': 'histogram-chart' },
    svg('title', { id: 'chart-t' }, 'Active contacts by months since last activity'),
    svg('desc', { id: 'chart-d' }, filled.length ? `${filled.map(describe).join('; ')}.` : 'No active contacts.'));
  let lx = left;
  for (const p of CHART_PARTS) {
    root.append(svg('g', { class: 'legend' },
      svg('rect', { x: lx, y: 8, width: 12, height: 12, rx: 2, fill: CHART_COLORS[p] }),
      svg('text', { x: lx + 17, y: 18 }, CHART_NAMES[p])));
    lx += 17 + Math.ceil(CHART_NAMES[p].length * 6.4) + 20;
  }
  for (let v = 0; v <= yMax; v += step) {
    root.append(svg('line', { class: 'gridline', x1: left, x2: width - right, y1: r(y(v)), y2: r(y(v)) }),
      svg('text', { x: left - 7, y: r(y(v) + 4), 'text-anchor': 'end' }, count(v)));
  }
  root.append(svg('line', { class: 'axis', x1: left, x2: left, y1: top, y2: top + plot }),
    svg('line', { class: 'axis', x1: left, x2: width - right, y1: top + plot, y2: top + plot }),
    svg('text', { class: 'axis-title', transform: `translate(13 ${top + plot / 2}) rotate(-90)`, 'text-anchor': 'middle' }, 'contacts'));
  const every = months.length > 36 ? Math.ceil(months.length / 24) : 1;
  const bar = (b, x, w, showLabel, lines) => {
    const g = svg('g', { class: 'bar', 'data-bucket': b.label, 'data-deactivate': b.deactivate ?? 0, 'data-excluded': b.excluded ?? 0, 'data-kept': b.kept ?? 0 }, svg('title', null, describe(b)));
    let base = 0;
    for (const p of CHART_PARTS) {
      const v = b[p] ?? 0;
      if (v <= 0) continue;
      const y0 = y(base);
      const y1 = y(base + v);
      g.append(svg('rect', { class: p, x: r(x), y: r(y1), width: r(w), height: Math.max(0.5, r(y0 - y1)), fill: CHART_COLORS[p] },
        svg('title', null, `${bucketName(b.label)}: ${count(v)} ${CHART_NAMES[p]}`)));
      base += v;
    }
    if (total(b) > 0 && w >= 14) g.append(svg('text', { class: 'total', x: r(x + w / 2), y: r(y(total(b)) - 4), 'text-anchor': 'middle' }, count(total(b))));
    if (showLabel) {
      const text = svg('text', { x: r(x + w / 2), y: top + plot + 15, 'text-anchor': 'middle' });
      lines.forEach((line, i) => text.append(svg('tspan', { x: r(x + w / 2), dy: i === 0 ? 0 : 13 }, line)));
      g.append(text);
    }
    root.append(g);
  };
  months.forEach((b, i) => bar(b, left + i * slot + slot * 0.15, slot * 0.7, i % every === 0 || i === months.length - 1, [b.label]));
  if (months.length) root.append(svg('text', { class: 'axis-title', x: r(left + (months.length * slot) / 2), y: top + plot + 44, 'text-anchor': 'middle' }, 'months since last activity'));
  if (none) {
    const x0 = left + months.length * slot + gap / 2;
    root.append(svg('line', { class: 'gridline', x1: r(x0), x2: r(x0), y1: top, y2: top + plot, 'stroke-dasharray': '4 3' }));
    bar(none, x0 + gap / 2 + (noneSlot - 44) / 2, 44, true, ['no activity', 'in window']);
  }
  return root;
}

/** Whole months from a yyyy-mm-dd date to an instant (epoch ms). */
function monthsSince(date, asOf) {
  const d = toDate(date);
  if (!d || !Number.isFinite(asOf)) return null;
  const a = new Date(asOf);
  let m = (a.getUTCFullYear() - d.date.getUTCFullYear()) * 12 + (a.getUTCMonth() - d.date.getUTCMonth());
  if (a.getUTCDate() < d.date.getUTCDate()) m -= 1;
  return Math.max(0, m);
}


async function viewPlan(ctx, planId) {
  setTitle(`Plan ${planId}`);
  const started = performance.now();
  ctx.main.append(loading('Loading the plan…'));
  // The rows document is large (about 180 bytes a contact): it downloads while the rest of the
  // page is drawn from the small plan document.
  const rowsPromise = api(`/api/plans/${enc(planId)}/rows`, { silent: true });
  rowsPromise.catch(() => {});
  const [planDoc, orgs] = await Promise.all([
    api(`/api/plans/${enc(planId)}`),
    api('/api/orgs', { silent: true }).catch(() => []),
  ]);
  if (!ctx.alive) return;
  const plan = planDoc.plan ?? {};
  const runId = planDoc.runId ? String(planDoc.runId) : null;
  const orgId = String(plan.organizationId ?? '');
  const org = (Array.isArray(orgs) ? orgs : []).find((o) => String(o.organizationId) === orgId);
  const orgLabel = org ? `${org.name} (${orgId})` : orgId;
  const summary = plan.summary ?? {};
  const locked = Boolean(runId);
  // Null on an emulator: no Zoho Books web app to open a contact in.
  const contactUrl = typeof planDoc.contactUrl === 'string' && planDoc.contactUrl ? planDoc.contactUrl : null;
  setTitle(`Plan review · ${org ? org.name : orgId}`);

  // Rows stay the arrays the server sent (no object per contact): fields by column index.
  let rows = [];
  let cId = -1, cName = -1, cType = -1, cEffect = -1, cReasons = -1, cLast = -1, cLastType = -1, cRec = -1, cPay = -1, cCred = -1, cCreated = -1, cDetail = -1, cLastWords = -1;
  const S = (r, c) => (c < 0 || r[c] === null || r[c] === undefined ? '' : String(r[c]));
  const idOf = (r) => S(r, cId);
  const isStep = (r) => r[cEffect] === 'deactivate' || r[cEffect] === 'activate';
  /** Money arrives as numbers; anything else counts as 0. */
  const amount = (r, c) => {
    const v = c < 0 ? 0 : r[c];
    return typeof v === 'number' ? v : v === null || v === undefined || v === '' ? 0 : parseFloat(v) || 0;
  };
  const partsOf = (r) => {
    const text = S(r, cReasons);
    if (text === '') return [];
    return text.indexOf(';') === -1 ? [text] : text.split(';').map((x) => x.trim()).filter(Boolean);
  };
  /**
   * The last activity in words, as the engine says it in every report ("invoice INV-000123 on
   * 2024-04-02", "never traded", "none since … (earlier history not read)"); a server without that
   * column gets the date and type.
   */
  const lastActivityWords = (r) => {
    if (cLastWords >= 0) return S(r, cLastWords);
    const last = S(r, cLast);
    return last ? `${S(r, cLastType).replace(/_/g, ' ') || 'activity'} on ${last}` : 'none recorded';
  };
  let stepCount = 0;
  let keys = null;
  let createdMs = null;

  // Contacts the reviewer excludes; kept in this tab until approval so a reload does not lose them.
  const storeKey = `sunset.exclude.${planId}`;
  const excluded = new Set();
  const persist = () => {
    try {
      if (excluded.size) sessionStorage.setItem(storeKey, JSON.stringify([...excluded]));
      else sessionStorage.removeItem(storeKey);
    } catch { /* storage off */ }
  };

  // View state: `order` holds row indexes in sort order (null: as the plan lists them).
  const view = { q: '', effect: '', type: '', reason: '', sort: null, dir: 'asc' };
  let order = null;
  let shown = [];

  // Summary cards.
  const cardsEl = h('ul', { class: 'cards' });
  const card = (metric, value, label, cls) => h('li', { class: `stat ${cls ?? ''}`, testid: `summary-${metric}` }, h('span', { class: 'value' }, value === null ? '…' : count(value)), h('span', { class: 'label' }, label));
  const userExcludedCard = card('user-excluded', 0, 'excluded by you', 'user');
  const policyExcludedCard = card('excluded', null, 'excluded by the policy', 'excluded');
  cardsEl.append(
    card('considered', summary.contactsConsidered, 'contacts considered'),
    card('deactivate', summary.steps?.deactivate, 'to deactivate', 'deactivate'),
    card('activate', summary.steps?.activate, 'to activate', 'activate'),
    policyExcludedCard,
    card('recent', summary.recentlyActive, 'recently active (kept)'),
    userExcludedCard);

  // Toolbar.
  const search = h('input', { type: 'search', placeholder: 'Search name or contact id  ( / )', testid: 'plan-search', 'aria-label': 'Search contacts by name or id', autocomplete: 'off' });
  const effectSel = h('select', { testid: 'filter-effect', 'aria-label': 'Filter by effect' },
    h('option', { value: '' }, 'All effects'),
    h('option', { value: 'deactivate' }, 'deactivate'),
    h('option', { value: 'activate' }, 'activate'),
    h('option', { value: 'excluded' }, 'excluded by the policy'),
    h('option', { value: 'mine' }, 'excluded by you'));
  const typeSel = h('select', { testid: 'filter-type', 'aria-label': 'Filter by contact type' }, h('option', { value: '' }, 'All contact types'));
  const reasonSel = h('select', { testid: 'filter-reason', 'aria-label': 'Filter by reason' }, h('option', { value: '' }, 'All reasons'));
  const clearBtn = h('button', { type: 'button', class: 'btn btn-small btn-quiet', testid: 'filter-clear', onclick: () => {
    search.value = '';
    effectSel.value = typeSel.value = reasonSel.value = '';
    Object.assign(view, { q: '', effect: '', type: '', reason: '' });
    filter();
  } }, 'Clear filters');
  const shownEl = h('span', { testid: 'count-shown' }, '…');
  const totalEl = h('span', { testid: 'count-total' }, '…');
  const excludedEl = h('span', { testid: 'count-excluded' }, '0');
  const changesEl = h('span', { testid: 'count-changes' }, '…');
  const policyExcludedEl = h('span', null, '…');
  const excludeShownBtn = h('button', { type: 'button', class: 'btn btn-small', testid: 'exclude-shown', disabled: true }, 'Exclude all shown');
  const includeShownBtn = h('button', { type: 'button', class: 'btn btn-small', testid: 'include-shown', disabled: true }, 'Include all shown');

  const approveBtn = h('button', { type: 'button', class: 'btn btn-primary btn-large', testid: 'approve-button', disabled: true }, 'Loading the contacts…');
  const approveSlot = h('div', { class: 'approve-slot' });
  if (runId) {
    approveSlot.append(h('span', null, badge('done', 'approved'), ' This plan has a run. '),
      h('a', { href: `#/runs/${enc(runId)}`, class: 'btn btn-primary', testid: 'plan-run-link' }, `Go to run ${runId} →`));
  } else approveSlot.append(approveBtn);

  // An approved plan says so: who approved it and when, and its run, whose state follows the
  // event stream (the run is read again after each burst of events, so a late answer cannot stick).
  const approvedEl = runId ? h('div', { class: 'callout callout-approved', testid: 'plan-approved', 'aria-live': 'polite' },
    'This plan was approved: ', h('a', { href: `#/runs/${enc(runId)}`, class: 'id' }, `run ${runId}`), '.') : null;
  let approvedRun = null;
  let approvedCounts = {};
  const renderApproved = () => {
    if (!approvedEl || !approvedRun) return;
    const r = approvedRun;
    const p = progressOf(approvedCounts);
    const status = runStatusOf(r);
    const what = status === 'pending' && r.applying === false ? 'No process is applying the run yet: the service starts it when it starts, or Resume on the run page starts it now.'
      : status === 'pending' ? 'The run is starting: contacts will change in Zoho Books in a moment.'
      : status === 'running' ? 'Contacts are being changed in Zoho Books now.'
      : status === 'interrupted' ? 'The run was interrupted: the service resumes it when it starts, or Resume on the run page continues it now.'
      : status === 'done' ? 'Its changes are made in Zoho Books; the run page can undo them.'
        : status === 'paused' ? 'The run is paused: resume it from the run page.'
          : 'The run page shows what was changed.';
    approvedEl.replaceChildren(
      h('p', null, h('strong', null, 'Approved'), ' by ', h('span', { testid: 'plan-approved-by' }, String(r.createdBy)), ' on ', h('span', { testid: 'plan-approved-at' }, timeEl(r.createdAt)), '. ',
        'Its run ', h('a', { href: `#/runs/${enc(runId)}`, class: 'id', testid: 'plan-approved-run' }, runId), ' is ', h('span', { testid: 'plan-run-state' }, badge(status)),
        `: ${count(p.done)} of ${plural(p.total, 'step')} finished, ${count(approvedCounts.changed ?? 0)} changed.`),
      h('p', null, what));
  };
  const loadApprovedRun = async () => {
    const list = await api(`/api/runs?org=${enc(orgId)}`, { silent: true });
    const found = (Array.isArray(list) ? list : []).find((e) => String(e.run?.runId) === runId) ?? await api(`/api/runs/${enc(runId)}`, { silent: true });
    if (!ctx.alive || !found?.run) return;
    approvedRun = found.run;
    approvedCounts = found.counts ?? {};
    renderApproved();
  };
  if (runId) {
    loadApprovedRun().catch(() => {});
    const reloadApproved = throttle(() => { loadApprovedRun().catch(() => {}); }, 1000);
    ctx.cleanup(reloadApproved.cancel);
    ctx.onEvent((type, data) => {
      if (type !== 'run' || String(data.runId) !== runId) return;
      if (approvedRun) {
        if (data.state) {
          approvedRun.state = data.state;
          approvedRun.status = data.state;
          approvedRun.applying = ACTIVE_RUN_STATES.has(data.state) && !data.error;
        }
        if (data.counts) approvedCounts = data.counts;
        renderApproved();
      }
      reloadApproved();
    });
  }

  // The table.
  const checkboxFor = (r, id) => {
    if (!isStep(r)) return h('span', { class: 'muted', title: 'Excluded by the policy: not part of the plan’s changes' }, '–');
    return h('input', {
      type: 'checkbox', class: 'exclude-box', testid: 'exclude-checkbox', checked: excluded.has(id), disabled: locked,
      'aria-label': `Exclude ${S(r, cName)}`, title: 'Exclude this contact: leave it as it is',
    });
  };
  const effectBadge = (r) => {
    const effect = S(r, cEffect);
    if (isStep(r) && excluded.has(idOf(r))) return badge('excluded', 'excluded by you');
    if (effect === 'excluded') return badge('excluded');
    return h('span', { class: `action action-${effect}` }, effect);
  };
  const table = createVirtualTable({
    label: 'Contacts in this plan',
    testid: 'plan-table',
    emptyText: 'Loading the contacts…',
    onSort: sortBy,
    onActivate: (r) => openEvidence(r),
    onToggle: (r) => toggle(r),
    columns: [
      { label: 'Exclude', width: '68px', cls: 'check', header: h('span', { title: 'Tick to leave a contact as it is' }, 'Exclude') },
      { label: 'Contact', sortKey: 'name' },
      { label: 'Contact ID', width: '160px', cls: 'id' },
      { label: 'Type', width: '92px', cls: 'type' },
      { label: 'Effect', width: '124px', cls: 'effect' },
      { label: 'Reason', width: '132px', cls: 'reason' },
      // The engine's words ("customer payment PAY-000123 on 2024-04-02") need the room.
      { label: 'Last activity', width: '300px', sortKey: 'lastActivity', cls: 'last' },
      { label: 'Receivable', width: '100px', num: true, sortKey: 'receivable', cls: 'money' },
      { label: 'Payable', width: '92px', num: true, sortKey: 'payable', cls: 'money' },
      { label: 'Credits', width: '84px', num: true, sortKey: 'credits', cls: 'money' },
      { label: 'Created', width: '110px', sortKey: 'created', cls: 'created' },
    ],
    renderRow: (r) => {
      const id = idOf(r);
      const step = isStep(r);
      const effect = S(r, cEffect);
      const rec = amount(r, cRec);
      const pay = amount(r, cPay);
      const last = S(r, cLast);
      const words = lastActivityWords(r);
      const created = S(r, cCreated);
      return h('tr', {
        testid: 'plan-row', class: step && excluded.has(id) ? 'row-excluded' : effect === 'excluded' ? 'row-policy-excluded' : null,
        dataset: { contactId: id, effect },
      },
      td(checkboxFor(r, id), 'check'),
      td(h('span', { title: S(r, cName) }, S(r, cName)), 'ellipsis name'),
      td(id, 'id col-id'),
      td(S(r, cType)),
      td(effectBadge(r)),
      td(partsOf(r).map(reasonLabel).join(', '), 'ellipsis'),
      td(h('span', { class: last ? null : 'muted', title: words, testid: 'plan-last-activity' }, words), 'ellipsis last-activity'),
      td(money(rec), `num${rec < 0 ? ' negative' : ''}`),
      td(money(pay), `num${pay < 0 ? ' negative' : ''}`),
      td(money(amount(r, cCred)), 'num'),
      td(created ? timeEl(created, 'date') : '', 'nowrap col-created'));
    },
  });
  ctx.cleanup(() => table.dispose());

  table.el.addEventListener('change', (e) => {
    const box = e.target;
    if (!(box instanceof HTMLInputElement) || !box.classList.contains('exclude-box')) return;
    const tr = box.closest('tr[data-index]');
    const r = tr ? table.items[Number(tr.dataset.index)] : null;
    if (r) setExcluded([r], box.checked);
  });

  function setExcluded(list, on) {
    if (locked) return;
    for (const r of list) {
      if (!isStep(r)) continue;
      if (on) excluded.add(idOf(r));
      else excluded.delete(idOf(r));
    }
    persist();
    updateCounts();
    table.refresh();
    if (evidenceRow && evidenceIsOpen() && list.includes(evidenceRow)) openEvidence(evidenceRow);
  }
  function toggle(r) {
    if (isStep(r)) setExcluded([r], !excluded.has(idOf(r)));
  }

  function updateCounts() {
    const changes = stepCount - excluded.size;
    shownEl.textContent = count(shown.length);
    excludedEl.textContent = count(excluded.size);
    changesEl.textContent = count(changes);
    userExcludedCard.querySelector('.value').textContent = count(excluded.size);
    approveBtn.textContent = `Approve and apply ${plural(changes, 'change')}`;
    approveBtn.disabled = changes <= 0;
    let shownSteps = 0;
    for (const r of shown) if (isStep(r)) shownSteps++;
    excludeShownBtn.textContent = `Exclude all shown (${count(shownSteps)})`;
    excludeShownBtn.disabled = locked || shownSteps === 0;
    includeShownBtn.disabled = locked || excluded.size === 0;
  }

  function filter() {
    const { q, effect, type, reason } = view;
    if (q && !keys) keys = rows.map((r) => `${S(r, cName).toLowerCase()}\u0000${idOf(r)}`);
    const out = [];
    const n = rows.length;
    for (let k = 0; k < n; k++) {
      const i = order ? order[k] : k;
      const r = rows[i];
      if (effect) {
        if (effect === 'mine') { if (!excluded.has(idOf(r))) continue; } else if (r[cEffect] !== effect) continue;
      }
      if (type && r[cType] !== type) continue;
      if (reason && r[cReasons] !== reason && !partsOf(r).includes(reason)) continue;
      if (q && !keys[i].includes(q)) continue;
      out.push(r);
    }
    shown = out;
    table.setItems(out);
    updateCounts();
  }

  function sortBy(key) {
    if (!rows.length) return;
    if (view.sort === key) view.dir = view.dir === 'asc' ? 'desc' : 'asc';
    else { view.sort = key; view.dir = key === 'name' || key === 'lastActivity' ? 'asc' : 'desc'; }
    const sign = view.dir === 'asc' ? 1 : -1;
    let cmp;
    if (key === 'name') cmp = (a, b) => collator().compare(S(rows[a], cName), S(rows[b], cName));
    else if (key === 'lastActivity') {
      // No activity counts as the oldest.
      cmp = (a, b) => {
        const x = S(rows[a], cLast);
        const y = S(rows[b], cLast);
        return x === y ? 0 : x < y ? -1 : 1;
      };
    } else if (key === 'created') {
      if (!createdMs) createdMs = Float64Array.from(rows, (r) => toDate(S(r, cCreated))?.date.getTime() ?? -Infinity);
      cmp = (a, b) => (createdMs[a] === createdMs[b] ? 0 : createdMs[a] < createdMs[b] ? -1 : 1);
    } else {
      const c = { receivable: cRec, payable: cPay, credits: cCred }[key];
      const values = Float64Array.from(rows, (r) => amount(r, c));
      cmp = (a, b) => values[a] - values[b];
    }
    order = Array.from(rows, (_, i) => i).sort((a, b) => sign * cmp(a, b) || a - b);
    table.setSort(key, view.dir);
    filter();
  }

  const onSearch = debounce(() => { view.q = search.value.trim().toLowerCase(); filter(); }, 120);
  ctx.cleanup(onSearch.cancel);
  search.addEventListener('input', onSearch);
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { onSearch.cancel(); view.q = search.value.trim().toLowerCase(); filter(); }
    if (e.key === 'ArrowDown') { e.preventDefault(); table.el.focus(); }
  });
  effectSel.addEventListener('change', () => { view.effect = effectSel.value; filter(); });
  typeSel.addEventListener('change', () => { view.type = typeSel.value; filter(); });
  reasonSel.addEventListener('change', () => { view.reason = reasonSel.value; filter(); });
  excludeShownBtn.addEventListener('click', () => setExcluded(shown, true));
  includeShownBtn.addEventListener('click', () => setExcluded(shown, false));
  const slash = (e) => {
    if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return;
    e.preventDefault();
    search.focus();
  };
  document.addEventListener('keydown', slash);
  ctx.cleanup(() => document.removeEventListener('keydown', slash));

  approveBtn.addEventListener('click', async () => {
    const changes = stepCount - excluded.size;
    let deact = 0;
    for (const r of rows) if (r[cEffect] === 'deactivate' && !excluded.has(idOf(r))) deact++;
    const act = changes - deact;
    const ok = await confirmDialog({
      title: `Apply ${plural(changes, 'change')} to ${org ? org.name : `organization ${orgId}`}?`,
      body: [
        h('p', { testid: 'confirm-text' }, 'Organization ', h('strong', null, orgLabel), ': ',
          `${plural(deact, 'contact')} will be made inactive${act ? ` and ${plural(act, 'contact')} active` : ''} in Zoho Books.`),
        excluded.size ? h('p', null, `${plural(excluded.size, 'contact')} you excluded will be left as they are.`) : null,
        h('p', { class: 'muted' }, 'The run starts at once and works within the organization’s API limits. You can stop it, and undo it afterwards.'),
      ],
      confirmLabel: `Approve and apply ${plural(changes, 'change')}`,
    });
    if (!ok) return;
    approveBtn.disabled = true;
    approveBtn.textContent = 'Starting…';
    try {
      const res = await api(`/api/plans/${enc(planId)}/approve`, { method: 'POST', body: { exclude: [...excluded] } });
      try { sessionStorage.removeItem(storeKey); } catch { /* storage off */ }
      if (res?.runId) location.hash = `#/runs/${enc(res.runId)}`;
      else route();
    } catch (err) {
      // Approved meanwhile (another tab or person): the answer names the run.
      if (err instanceof ApiError && err.status === 409 && err.body?.runId) location.hash = `#/runs/${enc(err.body.runId)}`;
      else if (ctx.alive) updateCounts();
    }
  });

  // Evidence panel.
  let evidenceRow = null;
  function openEvidence(r) {
    evidenceRow = r;
    const id = idOf(r);
    const step = isStep(r);
    const effect = S(r, cEffect);
    const parts = partsOf(r);
    const last = S(r, cLast);
    const created = S(r, cCreated);
    const detail = S(r, cDetail);
    const months = monthsSince(last, plan.asOf);
    const words = lastActivityWords(r);
    const toggleBtn = step && !locked
      ? h('button', { type: 'button', class: `btn ${excluded.has(id) ? '' : 'btn-danger-outline'}`, testid: 'evidence-exclude-toggle', onclick: () => toggle(r) },
        excluded.has(id) ? 'Include this contact again' : 'Exclude this contact')
      : null;
    showEvidence(S(r, cName) || id, [
      h('p', null, effectBadge(r), ' ', step ? (excluded.has(id) ? 'Excluded by you: left as it is.' : `Will be made ${effect === 'deactivate' ? 'inactive' : 'active'} when the plan is applied.`) : 'Left as it is.'),
      detail ? h('p', { class: 'detail', testid: 'evidence-detail' }, detail) : null,
      kv([
        ['Contact ID', idText(id)],
        ['Type', S(r, cType)],
        ['Effect', effect],
        [step ? 'Rule' : 'Reasons', parts.length ? h('span', null, parts.map((p, i) => [i ? ', ' : '', reasonLabel(p), EXCLUSION_LABELS[p] ? h('code', { class: 'muted' }, ` ${p}`) : ''])) : '—'],
        ['Last activity', h('span', { testid: 'evidence-last-activity' }, words, last && months !== null ? `, ${plural(months, 'month')} before the scan` : '')],
        ['Receivable', money(amount(r, cRec))],
        ['Payable', money(amount(r, cPay))],
        ['Unused credits', money(amount(r, cCred))],
        ['Created', created ? timeEl(created) : '—'],
      ], 'kv-stack'),
      h('div', { class: 'actions' }, toggleBtn, booksLink(contactUrl, id, 'Open in Zoho Books', 'btn')),
    ]);
  }

  // Layout: everything but the rows, drawn now.
  const exclusionReasons = Object.entries(summary.excluded ?? {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const activeAfter = (summary.active ?? 0) - (summary.steps?.deactivate ?? 0) + (summary.steps?.activate ?? 0);
  fill(ctx.main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Organizations'), ' / ', org ? h('a', { href: `#/orgs/${enc(orgId)}` }, org.name) : orgId, ' / '),
    h('div', { class: 'page-head' }, h('h1', null, 'Plan review'), runId ? badge('done', 'approved') : badge('pending', 'waiting for review')),
    kv([
      ['Organization', orgLabel],
      ['Plan', idText(planId)],
      ['Snapshot as of', timeEl(plan.asOf)],
      ['Activity counted since', plan.cutoffDate ? timeEl(plan.cutoffDate) : '—'],
    ], 'kv-inline'),
    org?.latestPlan && String(org.latestPlan.planId) !== planId && !runId
      ? h('p', { class: 'callout callout-warn', testid: 'plan-outdated' }, 'A newer plan exists for this organization. ', h('a', { href: `#/plans/${enc(org.latestPlan.planId)}` }, 'Review the latest plan instead.'))
      : null,
    approvedEl ?? h('p', { class: 'note', testid: 'plan-note' }, 'Nothing has changed in Zoho Books yet. Contacts change only when the plan is approved and applied, and every change can be undone.'),
    cardsEl,
    h('div', { class: 'plan-overview' },
      h('section', { class: 'panel chart-panel', 'aria-labelledby': 'chart-h' },
        h('h2', { id: 'chart-h' }, 'Active contacts by months since last activity'),
        h('div', { class: 'chart-scroll' }, histogramChart(Array.isArray(summary.histogram) ? summary.histogram : [])),
        h('p', { class: 'help' }, `Dormant contacts (no counted activity since ${plan.cutoffDate ?? 'the cutoff'}) are either deactivated or excluded. Hover a bar for its numbers.`)),
      h('section', { class: 'panel side-panel', 'aria-labelledby': 'effect-h' },
        h('h2', { id: 'effect-h' }, 'Effect'),
        h('p', null, `Active contacts: ${count(summary.active)} → ${count(activeAfter)}.`),
        h('p', null, `Inactive contacts: ${count(summary.inactive)} → ${count((summary.inactive ?? 0) + (summary.active ?? 0) - activeAfter)}.`),
        h('h3', null, 'Excluded by reason'),
        exclusionReasons.length
          ? h('table', { class: 'grid compact', testid: 'reason-table' }, h('tbody', null, exclusionReasons.map(([code, n]) => h('tr', null,
            td(h('button', { type: 'button', class: 'linklike', title: 'Show these contacts', onclick: () => { reasonSel.value = code; view.reason = code; filter(); table.el.scrollIntoView({ block: 'start', behavior: 'smooth' }); } }, reasonLabel(code))),
            td(count(n), 'num')))))
          : h('p', { class: 'muted' }, 'No contact is excluded.'),
        h('details', null, h('summary', null, 'Policy used'), h('pre', { class: 'policy-text' }, String(plan.policyText ?? ''))))),
    h('section', { class: 'review', 'aria-labelledby': 'review-h' },
      h('h2', { id: 'review-h' }, 'Contacts'),
      h('div', { class: 'toolbar' }, search, effectSel, typeSel, reasonSel, clearBtn,
        h('span', { class: 'toolbar-counts', 'aria-live': 'polite' }, shownEl, ' of ', totalEl, ' shown')),
      h('div', { class: 'toolbar toolbar-sub' },
        excludeShownBtn, includeShownBtn,
        h('span', { class: 'muted' }, 'Click a row for its evidence. Keys: ↑ ↓ move, Enter opens, Space excludes.')),
      table.el),
    h('div', { class: 'approve-bar', testid: 'approve-bar' },
      h('div', { class: 'approve-text' },
        h('strong', null, changesEl, ' changes'), ' to apply · ', excludedEl, ' excluded by you · ', policyExcludedEl, ' excluded by the policy'),
      approveSlot));

  // The rows.
  let rowsDoc;
  try {
    rowsDoc = await rowsPromise;
  } catch (err) {
    if (!ctx.alive) return;
    table.setEmptyText(`The contacts could not be loaded: ${err.message}`);
    approveBtn.textContent = 'Contacts not loaded';
    return;
  }
  if (!ctx.alive) return;
  const cols = Array.isArray(rowsDoc?.columns) ? rowsDoc.columns : [];
  [cId, cName, cType, cEffect, cReasons, cLast, cLastType, cRec, cPay, cCred, cCreated, cDetail, cLastWords] = ['contactId', 'contactName', 'contactType', 'effect', 'reasons',
    'lastActivityDate', 'lastActivityType', 'receivable', 'payable', 'credits', 'createdTime', 'detail', 'lastActivity'].map((name) => cols.indexOf(name));
  rows = Array.isArray(rowsDoc?.rows) ? rowsDoc.rows : [];
  const reasonCounts = new Map();
  const types = new Set();
  for (const r of rows) {
    if (isStep(r)) stepCount++;
    types.add(S(r, cType));
    const text = S(r, cReasons);
    if (text === '') continue;
    if (text.indexOf(';') === -1) reasonCounts.set(text, (reasonCounts.get(text) ?? 0) + 1);
    else for (const p of partsOf(r)) reasonCounts.set(p, (reasonCounts.get(p) ?? 0) + 1);
  }
  try {
    const saved = JSON.parse(sessionStorage.getItem(storeKey) ?? '[]');
    if (Array.isArray(saved) && saved.length && !locked) {
      const wanted = new Set(saved.map(String));
      for (const r of rows) if (isStep(r) && wanted.has(idOf(r))) excluded.add(idOf(r));
    }
  } catch { /* storage off: start empty */ }
  typeSel.append(...[...types].filter(Boolean).sort().map((t) => h('option', { value: t }, t)));
  reasonSel.append(...[...reasonCounts.entries()].sort((a, b) => b[1] - a[1]).map(([code, n]) => h('option', { value: code }, `${reasonLabel(code)} (${count(n)})`)));
  totalEl.textContent = count(rows.length);
  policyExcludedCard.querySelector('.value').textContent = count(rows.length - stepCount);
  policyExcludedEl.textContent = count(rows.length - stepCount);
  table.setEmptyText('No contact matches these filters.');
  filter();
  // Ready once the first frame with the rows is painted (what a person sees and can click).
  requestAnimationFrame(() => setTimeout(() => {
    if (!ctx.alive) return;
    table.el.dataset.ready = 'true';
    table.el.dataset.loadMs = String(Math.round(performance.now() - started));
    performance.mark?.('sunset-plan-ready');
  }, 0));
}

// ---------------------------------------------------------------------------------------------
// Evidence side panel (one for the app)

let evidencePanel = null;
let evidenceReturnFocus = null;

function showEvidence(title, content) {
  if (!evidencePanel) {
    evidencePanel = h('aside', { class: 'evidence', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'evidence-h', testid: 'evidence-panel', tabindex: -1 });
    evidencePanel.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeEvidence(); });
    document.body.append(evidencePanel);
  }
  if (!evidencePanel.contains(document.activeElement)) evidenceReturnFocus = document.activeElement;
  evidencePanel.replaceChildren(
    h('div', { class: 'evidence-head' },
      h('h2', { id: 'evidence-h' }, title),
      h('button', { type: 'button', class: 'banner-close', 'aria-label': 'Close the evidence panel', testid: 'evidence-close', onclick: closeEvidence }, '×')),
    h('div', { class: 'evidence-body' }, content));
  evidencePanel.hidden = false;
  document.body.classList.add('has-evidence');
}

function evidenceIsOpen() {
  return Boolean(evidencePanel && !evidencePanel.hidden);
}

function closeEvidence() {
  if (!evidencePanel || evidencePanel.hidden) return;
  evidencePanel.hidden = true;
  document.body.classList.remove('has-evidence');
  if (evidenceReturnFocus instanceof HTMLElement && document.contains(evidenceReturnFocus)) evidenceReturnFocus.focus({ preventScroll: true });
  evidenceReturnFocus = null;
}

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && evidencePanel && !evidencePanel.hidden && !document.querySelector('dialog[open]')) closeEvidence();
});

// ---------------------------------------------------------------------------------------------
// #/audit

/** Audit rows as `sunset audit --format json` writes them (snake_case), camelCase also read. */
function auditField(r, snake, camel) {
  return r[snake] ?? r[camel] ?? null;
}

async function viewAudit(ctx, query) {
  setTitle('Audit');
  let org = query.get('org') ?? '';
  const csv = h('a', { class: 'btn', testid: 'audit-csv', download: '' }, 'Download CSV');
  const setCsv = () => { csv.href = `/api/audit?format=csv${org ? `&org=${enc(org)}` : ''}`; };
  setCsv();
  ctx.main.append(pageHead('Audit', csv), loading());
  const orgs = await loadOrgs().catch(() => []);
  if (!ctx.alive) return;
  const byId = orgMap(orgs);
  const search = h('input', { type: 'search', placeholder: 'Contact, id, who or why', testid: 'audit-search', 'aria-label': 'Search the audit trail' });
  const countEl = h('span', { class: 'muted', testid: 'audit-count', 'aria-live': 'polite' });
  let all = [];
  const table = createVirtualTable({
    label: 'Audit trail',
    testid: 'audit-table',
    emptyText: 'No change recorded.',
    onActivate: (r) => showEvidence(String(auditField(r, 'contact_name', 'contactName') ?? 'Change'), kv([
      ['When', timeEl(auditField(r, 'when', 'when'))],
      ['Who', String(r.who ?? '')],
      ['Organization', `${orgName(byId, auditField(r, 'organization_id', 'organizationId') ?? '')} (${auditField(r, 'organization_id', 'organizationId') ?? ''})`],
      ['Contact ID', idText(auditField(r, 'contact_id', 'contactId') ?? '')],
      ['Change', h('span', null, badge(String(r.from ?? '')), ' → ', badge(String(r.to ?? '')))],
      ['Why', String(r.why ?? '')],
      ['Run', auditField(r, 'run_id', 'runId') ? h('a', { href: `#/runs/${enc(auditField(r, 'run_id', 'runId'))}`, class: 'id' }, String(auditField(r, 'run_id', 'runId'))) : '—'],
      ['Run kind', String(auditField(r, 'run_kind', 'runKind') ?? '—')],
    ], 'kv-stack')),
    columns: [
      { label: 'When', width: '200px' },
      { label: 'Who', width: '96px' },
      { label: 'Organization', width: '150px' },
      { label: 'Contact' },
      { label: 'Contact ID', width: '168px', cls: 'id' },
      { label: 'Change', width: '176px' },
      { label: 'Why', width: '20%' },
      { label: 'Run', width: '140px' },
    ],
    renderRow: (r) => {
      const runId = auditField(r, 'run_id', 'runId');
      const kind = auditField(r, 'run_kind', 'runKind');
      return h('tr', { testid: 'audit-row', class: 'clickable', dataset: { contactId: String(auditField(r, 'contact_id', 'contactId') ?? '') } },
        td(timeEl(auditField(r, 'when', 'when')), 'nowrap'),
        td(String(auditField(r, 'who', 'who') ?? ''), 'ellipsis'),
        td(orgName(byId, auditField(r, 'organization_id', 'organizationId') ?? ''), 'ellipsis'),
        td(String(auditField(r, 'contact_name', 'contactName') ?? ''), 'ellipsis'),
        td(String(auditField(r, 'contact_id', 'contactId') ?? ''), 'id col-id'),
        td(h('span', { class: 'change' }, badge(String(r.from ?? '')), ' → ', badge(String(r.to ?? '')))),
        td(h('span', { title: String(r.why ?? '') }, String(r.why ?? '')), 'ellipsis'),
        td(runId ? h('a', { href: `#/runs/${enc(runId)}`, class: 'id', title: kind ? `${kind} run` : null }, String(runId)) : '', 'ellipsis'));
    },
  });
  ctx.cleanup(() => table.dispose());
  function show() {
    const q = search.value.trim().toLowerCase();
    const out = q ? all.filter((r) => [r.contact_name, r.contactName, r.contact_id, r.contactId, r.who, r.why, r.run_id, r.runId].some((v) => v !== undefined && v !== null && String(v).toLowerCase().includes(q))) : all;
    table.setItems(out);
    countEl.textContent = out.length === all.length ? plural(all.length, 'change') : `${count(out.length)} of ${plural(all.length, 'change')}`;
  }
  async function load() {
    countEl.textContent = 'Loading…';
    const rows = await api(`/api/audit?format=json${org ? `&org=${enc(org)}` : ''}`);
    if (!ctx.alive) return;
    all = (Array.isArray(rows) ? rows : []).slice().sort((a, b) => {
      const ta = toDate(auditField(a, 'when', 'when'))?.date.getTime() ?? 0;
      const tb = toDate(auditField(b, 'when', 'when'))?.date.getTime() ?? 0;
      return tb - ta;
    });
    show();
  }
  const searchSoon = debounce(show, 150);
  ctx.cleanup(searchSoon.cancel);
  search.addEventListener('input', searchSoon);
  ctx.main.querySelector('.loading')?.remove();
  ctx.main.append(
    h('p', { class: 'help' }, 'Every status change Sunset made: who approved it, when, which contact, from what to what, and why. Newest first; click a row for all of it.'),
    h('div', { class: 'toolbar' }, orgSelect(orgs, org, 'audit-org-filter', (v) => { org = v; setCsv(); setHashQuery({ org }); load().catch(() => {}); }), search, countEl),
    table.el);
  await load();
}

// ---------------------------------------------------------------------------------------------
// #/webhooks CRM events

async function viewWebhooks(ctx, query) {
  setTitle('CRM events');
  let org = query.get('org') ?? '';
  ctx.main.append(pageHead('CRM events'), loading());
  const orgs = await loadOrgs().catch(() => []);
  if (!ctx.alive) return;
  const byId = orgMap(orgs);
  const holder = h('div', { class: 'table-wrap' });
  const countEl = h('span', { class: 'muted', testid: 'webhooks-count' });
  const rowsById = new Map();
  const row = (ev) => h('tr', { testid: 'webhook-row', dataset: { eventId: String(ev.eventId), state: String(ev.state ?? '') } },
    td(timeEl(ev.receivedAt), 'nowrap'),
    td(orgName(byId, ev.organizationId ?? '')),
    td(String(ev.crmId ?? ev.crmAccountId ?? ev.crmContactId ?? ''), 'id'),
    td(ev.booksContactId ? String(ev.booksContactId) : h('span', { class: 'muted' }, '—'), 'id'),
    td(String(ev.status ?? '')),
    td(String(ev.action ?? '')),
    td(h('span', { testid: 'webhook-state' }, badge(ev.state))),
    td(ev.runId ? h('a', { href: `#/runs/${enc(ev.runId)}`, class: 'id', testid: 'webhook-run-link' }, String(ev.runId)) : ''),
    td(h('span', { testid: 'webhook-tries' }, count(ev.attempts)), 'num'),
    td(ev.lastError ? h('span', { class: 'text-bad' }, String(ev.lastError)) : '', 'wrap'),
    td(String(ev.eventId), 'id muted'));
  async function load() {
    const list = await api(`/api/webhooks${org ? `?org=${enc(org)}` : ''}`);
    if (!ctx.alive) return;
    const events = (Array.isArray(list) ? list : []).slice().sort((a, b) => (b.receivedAt ?? 0) - (a.receivedAt ?? 0));
    rowsById.clear();
    countEl.textContent = plural(events.length, 'event');
    if (!events.length) {
      holder.replaceChildren(h('p', { class: 'muted', testid: 'webhooks-empty' }, 'No CRM event yet. Set up the webhook in an organization’s settings.'));
      return;
    }
    const tbody = h('tbody');
    for (const ev of events) {
      const tr = row(ev);
      rowsById.set(String(ev.eventId), { ev, tr });
      tbody.append(tr);
    }
    holder.replaceChildren(h('table', { class: 'grid', testid: 'webhooks-table' },
      h('thead', null, h('tr', null, ['Received', 'Organization', 'CRM id', 'Books contact', 'CRM status', 'Action', 'State', 'Run', 'Tries', 'Last error', 'Event'].map((t) => h('th', { scope: 'col', class: t === 'Tries' ? 'num' : null }, t)))),
      tbody));
  }
  const reload = throttle(() => { load().catch(() => {}); }, 1500);
  ctx.cleanup(reload.cancel);
  ctx.main.querySelector('.loading')?.remove();
  ctx.main.append(
    h('p', { class: 'help' }, 'The latest 500 events the CRM sent. States: accepted (queued), applied (contact changed), unchanged (already so), unmatched (no linked Books contact), ignored (status not in the mapping), duplicate (seen before), failed (after retries).'),
    h('div', { class: 'toolbar' }, orgSelect(orgs, org, 'webhooks-org-filter', (v) => { org = v; setHashQuery({ org }); load().catch(() => {}); }), countEl),
    holder);
  ctx.onEvent((type, data) => {
    if (type !== 'webhook') return;
    if (org && String(data.organizationId) !== org) return;
    const known = rowsById.get(String(data.eventId));
    if (known && data.state) {
      known.ev.state = data.state;
      const tr = row(known.ev);
      tr.classList.add('flash');
      known.tr.replaceWith(tr);
      known.tr = tr;
    }
    reload();
  });
  await load();
}

// ---------------------------------------------------------------------------------------------
// Start

async function startApp() {
  const form = document.getElementById('logout-form');
  form?.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await fetch('/logout', {
        method: 'POST',
        credentials: 'same-origin',
        referrerPolicy: 'same-origin',
        headers: { 'X-CSRF-Token': session.csrfToken, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf: session.csrfToken }),
      });
    } catch { /* signed out or not, the sign-in page follows */ }
    location.assign('/login');
  });
  // The view's GET requests need no CSRF token, so they start while the session is read.
  session.ready = refreshSession();
  session.ready.then(startEvents, (err) => {
    if (err instanceof ApiError && err.status === 401) return;
    showError(`Could not read the session: ${err.message}`);
  });
  window.addEventListener('hashchange', () => route());
  route(true);
}

startApp();
