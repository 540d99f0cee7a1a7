/**
 * A table for tens of thousands of rows: a fixed-height scroll container in which only the rows in
 * view (plus a margin) are in the DOM, between two spacer rows that keep the scrollbar honest.
 *
 * Accessible as a table: aria-rowcount and aria-rowindex give every drawn row its place in the
 * whole; sortable columns have a button and aria-sort. Keyboard: the container takes focus; ↑ ↓,
 * Page Up/Down, Home and End move the active row, Enter activates it, Space toggles it; a control
 * in a row keeps its own keys (a checkbox keeps Space and Enter). Printing draws every row.
 */
import { appendAll, h, type Child } from '../dom.js';

export interface Column {
  label: string;
  /** Width of its <col> (CSS). */
  width?: string;
  /** Right-aligned numbers. */
  num?: boolean;
  /** `col-<cls>` on the <col> and the header cell (the stylesheet folds some away on narrow screens). */
  cls?: string;
  /** Sortable: the key onSort gets. */
  sortKey?: string;
  /** Header content instead of the label. */
  header?: Child;
}

export interface VirtualTableOptions<T> {
  columns: ReadonlyArray<Column | null>;
  renderRow(item: T, index: number): HTMLTableRowElement;
  /** The region's accessible name. */
  label: string;
  testid: string;
  onActivate?(item: T, index: number): void;
  onToggle?(item: T, index: number): void;
  onSort?(key: string): void;
  emptyText?: string;
}

export interface VirtualTable<T> {
  readonly el: HTMLElement;
  readonly items: readonly T[];
  setItems(items: readonly T[], options?: { keepScroll?: boolean }): void;
  /** Draws the rows in view again (after what they show changed). */
  refresh(): void;
  setEmptyText(text: string): void;
  setSort(key: string, dir: 'asc' | 'desc'): void;
  dispose(): void;
}

/** Rows are built in chunks: a scroll of a few rows rebuilds nothing. */
const CHUNK = 8;

export function createVirtualTable<T>(options: VirtualTableOptions<T>): VirtualTable<T> {
  const { renderRow, onActivate, onToggle, onSort } = options;
  const columns = options.columns.filter((c): c is Column => c !== null);
  const wrap = h('div', { class: 'vwrap', tabindex: 0, role: 'region', 'aria-label': options.label, testid: options.testid });
  const table = h('table', { class: 'grid vtable' });
  const colgroup = h('colgroup', null, columns.map((c) => {
    const col = h('col', { class: c.cls ? `col-${c.cls}` : null });
    if (c.width) col.style.width = c.width;
    return col;
  }));
  const headRow = h('tr', { 'aria-rowindex': 1 });
  const sortButtons = new Map<string, { th: HTMLElement; arrow: HTMLElement }>();
  for (const c of columns) {
    const th = h('th', { scope: 'col', class: [c.num ? 'num' : '', c.cls ? `col-${c.cls}` : ''].join(' ').trim() || null });
    if (c.sortKey && onSort) {
      const key = c.sortKey;
      const arrow = h('span', { class: 'sort-arrow', 'aria-hidden': 'true' });
      const btn = h('button', { type: 'button', class: 'sort', testid: `sort-${key}`, onclick: () => onSort(key) }, c.label, arrow);
      sortButtons.set(key, { th, arrow });
      th.append(btn);
    } else appendAll(th, [c.header ?? c.label]);
    headRow.append(th);
  }
  const thead = h('thead', null, headRow);
  const tbody = h('tbody');
  table.append(colgroup, thead, tbody);
  const empty = h('p', { class: 'vempty', hidden: true }, options.emptyText ?? 'Nothing to show.');
  wrap.append(table, empty);

  let items: readonly T[] = [];
  // Geometry is cached so that drawing never forces a layout: scroll events update `top`, a
  // ResizeObserver (which runs after layout) updates the heights and checks the row height.
  let rowH = 32;
  let headH = 36;
  let viewH = Math.min(window.innerHeight * 0.68, 720) || 600;
  let top = 0;
  let range: [number, number] = [-1, -1];
  let active = -1;
  let frame = 0;
  let printing = false;

  const spacer = (px: number): HTMLTableRowElement => {
    const cell = h('td', { colspan: columns.length });
    cell.style.height = `${px}px`;
    return h('tr', { class: 'spacer', 'aria-hidden': 'true' }, cell);
  };

  function build(i: number): HTMLTableRowElement {
    const tr = renderRow(items[i]!, i);
    tr.dataset['index'] = String(i);
    tr.setAttribute('aria-rowindex', String(i + 2));
    if (i === active) tr.classList.add('active');
    return tr;
  }

  function draw(force = false): void {
    frame = 0;
    if (printing) return;
    const n = items.length;
    empty.hidden = n > 0;
    table.setAttribute('aria-rowcount', String(n + 1));
    const firstVisible = Math.floor(Math.max(0, top - headH) / rowH);
    // One chunk of margin above and below.
    const start = Math.max(0, Math.floor(firstVisible / CHUNK) * CHUNK - CHUNK);
    const end = Math.min(n, Math.ceil((firstVisible + viewH / rowH) / CHUNK) * CHUNK + CHUNK);
    if (!force && start === range[0] && end === range[1]) return;
    range = [start, end];
    // Keep keyboard focus on the same control when its row is rebuilt.
    const focused = document.activeElement;
    let refocus: { index: string | undefined; testid: string | null } | null = null;
    if (focused && focused !== wrap && tbody.contains(focused)) {
      const tr = focused.closest<HTMLElement>('tr[data-index]');
      refocus = { index: tr?.dataset['index'], testid: focused.getAttribute('data-testid') };
    }
    const rows: HTMLTableRowElement[] = [];
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
  function measure(): boolean {
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

  const schedule = (): void => {
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

  function scrollToRow(i: number): void {
    const y = i * rowH;
    const inner = viewH - headH;
    if (y < top) wrap.scrollTop = y;
    else if (y + rowH > top + inner) wrap.scrollTop = y + rowH - inner;
    top = wrap.scrollTop;
  }

  function setActive(i: number): void {
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
    const tr = target.closest<HTMLElement>('tr[data-index]');
    if (!tr) return;
    const i = Number(tr.dataset['index']);
    active = i;
    for (const other of tbody.querySelectorAll('tr.active')) other.classList.remove('active');
    tr.classList.add('active');
    if (target.closest('input, a, button, label, select, textarea')) return;
    onActivate?.(items[i]!, i);
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
    const moves: Readonly<Record<string, number>> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    const move = moves[e.key];
    if (move !== undefined) setActive((active < 0 ? -1 : active) + move);
    else if (e.key === 'Home') setActive(0);
    else if (e.key === 'End') setActive(items.length - 1);
    else if (e.key === 'Enter' && active >= 0 && onActivate) onActivate(items[active]!, active);
    else if (e.key === ' ' && active >= 0 && onToggle) onToggle(items[active]!, active);
    else return;
    e.preventDefault();
  });

  const beforePrint = (): void => {
    printing = true;
    tbody.replaceChildren(...items.map((_, i) => build(i)));
  };
  const afterPrint = (): void => {
    printing = false;
    draw(true);
  };
  window.addEventListener('beforeprint', beforePrint);
  window.addEventListener('afterprint', afterPrint);

  return {
    el: wrap,
    get items() {
      return items;
    },
    setItems(next, { keepScroll = false } = {}) {
      items = next;
      active = -1;
      if (!keepScroll && top !== 0) {
        wrap.scrollTop = 0;
        top = 0;
      }
      draw(true);
    },
    refresh: () => draw(true),
    setEmptyText(text) {
      empty.textContent = text;
    },
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
