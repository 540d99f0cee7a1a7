/**
 * The side panel that shows one record in full (a contact's evidence, an audit row): one for the
 * app, made on first use. Escape closes it (unless a dialog is open) and focus goes back where it was.
 */
import { h, type Child } from '../dom.js';

export interface EvidencePanel {
  show(title: string, content: Child): void;
  close(): void;
  isOpen(): boolean;
}

export function createEvidencePanel(): EvidencePanel {
  let panel: HTMLElement | null = null;
  let returnFocus: Element | null = null;

  function close(): void {
    if (!panel || panel.hidden) return;
    panel.hidden = true;
    document.body.classList.remove('has-evidence');
    if (returnFocus instanceof HTMLElement && document.contains(returnFocus)) returnFocus.focus({ preventScroll: true });
    returnFocus = null;
  }

  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && panel && !panel.hidden && !document.querySelector('dialog[open]')) close();
  });

  return {
    show(title, content) {
      if (!panel) {
        panel = h('aside', { class: 'evidence', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'evidence-h', testid: 'evidence-panel', tabindex: -1 });
        panel.addEventListener('keydown', (e) => {
          if (e.key === 'Escape') close();
        });
        document.body.append(panel);
      }
      if (!panel.contains(document.activeElement)) returnFocus = document.activeElement;
      panel.replaceChildren(
        h('div', { class: 'evidence-head' },
          h('h2', { id: 'evidence-h' }, title),
          h('button', { type: 'button', class: 'banner-close', 'aria-label': 'Close the evidence panel', testid: 'evidence-close', onclick: close }, '×')),
        h('div', { class: 'evidence-body' }, content));
      panel.hidden = false;
      document.body.classList.add('has-evidence');
    },
    close,
    isOpen: () => Boolean(panel && !panel.hidden),
  };
}
