/** Small pieces every view uses: headings, key-value lists, times, ids, badges, links, the organization picker. */
import type { OrganizationView } from '../../../api-types.js';
import { enc, h, type Child } from '../dom.js';
import { toDate, type Format } from '../format.js';

export function loading(text = 'Loading…'): HTMLElement {
  return h('p', { class: 'loading', role: 'status' }, text);
}

export function pageHead(title: string, ...extra: Child[]): HTMLElement {
  return h('div', { class: 'page-head' }, h('h1', null, title), ...extra);
}

/** A definition list; null pairs are left out. */
export function kv(pairs: ReadonlyArray<readonly [string, Child] | null>, cls = ''): HTMLElement {
  return h('dl', { class: `kv ${cls}`.trim() }, pairs.map((pair) => pair && h('div', null, h('dt', null, pair[0]), h('dd', null, pair[1]))));
}

/** A <time> in the reader's language with the ISO value on hover; "—" for none. */
export function timeEl(fmt: Format, value: string | number | null | undefined, style: 'datetime' | 'date' = 'datetime'): HTMLElement {
  const t = toDate(value);
  if (!t) return h('span', { class: 'muted' }, value === null || value === undefined || value === '' ? '—' : String(value));
  const iso = t.day ? String(value) : t.date.toISOString();
  return h('time', { datetime: iso, title: iso }, fmt.time(t, style));
}

export function idText(id: string, cls = ''): HTMLElement {
  return h('span', { class: `id ${cls}`.trim(), title: id }, id);
}

/** A state badge: colour and words together (never colour alone). */
export function badge(state: string | null | undefined, text?: string): HTMLElement {
  const s = state ?? 'unknown';
  return h('span', { class: `badge badge-${s.replace(/[^a-z_]/gi, '')}`, dataset: { state: s } }, text ?? s.replace(/_/g, ' '));
}

/** Where a contact opens in Zoho Books: the API's link base plus the id; null on an emulator (no web app). */
export function booksLink(contactUrl: string | null, contactId: string, label = 'Open in Zoho Books', cls = ''): HTMLElement | null {
  if (!contactUrl) return null;
  return h('a', {
    href: `${contactUrl}${enc(contactId)}`, target: '_blank', rel: 'noopener noreferrer',
    class: `books-link ${cls}`.trim(), testid: 'open-in-books', title: 'Opens this contact in the Zoho Books web app, in a new tab',
  }, label);
}

/** Copies text (the clipboard API, or a selection where it is refused); the button says how it went. */
export async function copyText(text: string, button?: HTMLElement): Promise<void> {
  let done = false;
  try {
    await navigator.clipboard.writeText(text);
    done = true;
  } catch {
    const area = h('textarea', { class: 'offscreen', readOnly: true }, text);
    document.body.append(area);
    area.select();
    try {
      done = document.execCommand('copy');
    } catch {
      done = false;
    }
    area.remove();
  }
  if (button) {
    const before = button.textContent;
    button.textContent = done ? 'Copied' : 'Select and copy by hand';
    window.setTimeout(() => {
      button.textContent = before;
    }, 1800);
  }
}

export function organizationMap(organizations: readonly OrganizationView[]): Map<string, OrganizationView> {
  return new Map(organizations.map((o) => [o.organizationId, o]));
}

export function organizationName(organizationsById: ReadonlyMap<string, OrganizationView>, id: string): string {
  return organizationsById.get(id)?.name ?? id;
}

/** The organization filter of a list page. */
export function organizationSelect(organizations: readonly OrganizationView[], selected: string, testid: string, onChange: (value: string) => void): HTMLElement {
  const select: HTMLSelectElement = h('select', { testid, onchange: () => onChange(select.value) },
    h('option', { value: '' }, 'All organizations'),
    organizations.map((o) => h('option', { value: o.organizationId, selected: o.organizationId === selected }, `${o.name} (${o.organizationId})`)));
  return h('label', { class: 'field-inline' }, h('span', null, 'Organization'), select);
}
