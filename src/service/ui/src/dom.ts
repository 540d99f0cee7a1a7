/**
 * Building the DOM by hand, safely: data reaches the page only through text nodes and attributes
 * (h(), svg()), never innerHTML. `h('a', {href: '#/'}, 'text', otherNode)`.
 */

/** What can be a child: nodes, text (numbers become text), nested lists; null, undefined and false are skipped. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

/**
 * Attributes and properties of an element. `class`, `testid` (data-testid), `dataset`, `on<event>`
 * listeners, the properties in PROPS (set as properties), and any other attribute (true: present,
 * null/undefined/false: absent).
 */
export interface Props {
  class?: string | null;
  testid?: string;
  dataset?: Readonly<Record<string, string>>;
  onclick?: (e: MouseEvent) => void;
  oninput?: (e: Event) => void;
  onchange?: (e: Event) => void;
  onsubmit?: (e: SubmitEvent) => void;
  onkeydown?: (e: KeyboardEvent) => void;
  [attribute: string]: unknown;
}

/** Set as properties (their attributes only set the initial state). */
const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'open', 'indeterminate', 'readOnly']);

function setProps(el: HTMLElement, props: Props | null | undefined): void {
  if (!props) return;
  for (const key of Object.keys(props)) {
    const v = props[key];
    if (v === undefined || v === null || v === false) continue;
    if (key === 'class') el.setAttribute('class', String(v));
    else if (key === 'testid') el.setAttribute('data-testid', String(v));
    else if (key === 'dataset') Object.assign(el.dataset, v);
    else if (key.startsWith('on') && typeof v === 'function') el.addEventListener(key.slice(2).toLowerCase(), v as EventListener);
    else if (PROPS.has(key)) (el as unknown as Record<string, unknown>)[key] = v;
    else el.setAttribute(key, v === true ? '' : String(v));
  }
}

export function appendAll(el: Element, children: readonly Child[]): void {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) appendAll(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** An HTML element with its props and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setProps(el, props);
  appendAll(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element; attributes only (null and undefined skipped). */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Readonly<Record<string, string | number | null | undefined>> | null, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  appendAll(el, children);
  return el;
}

/** Replaces an element's children; like replaceChildren, but skips null and false (which the DOM would print). */
export function fill<E extends Element>(el: E, ...children: Child[]): E {
  el.replaceChildren();
  appendAll(el, children);
  return el;
}

/** A table cell with an optional class. */
export function td(content: Child, cls?: string | null): HTMLTableCellElement {
  return h('td', { class: cls || null }, content);
}

export const enc = encodeURIComponent;
