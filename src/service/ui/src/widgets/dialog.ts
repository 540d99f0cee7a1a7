/** A modal confirmation (a native <dialog>): resolves true when confirmed, false when cancelled or closed. */
import { h, type Child } from '../dom.js';

export interface ConfirmOptions {
  title: string;
  body: Child;
  confirmLabel?: string;
  /** The confirm button in red: the action is hard to take back. */
  danger?: boolean;
}

export function confirmDialog({ title, body, confirmLabel = 'OK', danger = false }: ConfirmOptions): Promise<boolean> {
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
