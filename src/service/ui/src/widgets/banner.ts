/** The red banner under the header: one line per error (the same message once), each dismissable. */
import { h } from '../dom.js';

export interface Banner {
  show(message: string): void;
  clear(): void;
}

export function createBanner(el: HTMLElement | null): Banner {
  return {
    show(message) {
      if (!el) return;
      for (const item of el.children) if (item instanceof HTMLElement && item.dataset['message'] === message) return;
      const item = h('div', { class: 'banner-item', role: 'alert', testid: 'error-banner', dataset: { message } },
        h('span', { class: 'banner-text' }, message),
        h('button', { type: 'button', class: 'banner-close', 'aria-label': 'Dismiss this message', testid: 'error-dismiss', onclick: () => item.remove() }, '×'));
      el.append(item);
    },
    clear() {
      el?.replaceChildren();
    },
  };
}
