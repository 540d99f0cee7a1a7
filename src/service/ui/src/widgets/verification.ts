/** A run's last verification: its verdict, what it compared, and every difference (explained by trading since, or lost). */
import type { Verification } from '../../../api-types.js';
import { TRANSACTION_TYPES, isTransactionType } from '../../../../zoho/transaction-types.js';
import { h, td } from '../dom.js';
import type { Format } from '../format.js';
import { badge, booksLink, idText, timeEl } from './parts.js';

/** Transaction types as people say them: the engine's words, in the plural ("sales orders"). */
export function transactionLabel(type: string): string {
  return isTransactionType(type) ? `${TRANSACTION_TYPES[type].label}s` : type;
}

export function verificationView(fmt: Format, v: Verification, { nameOf, contactUrl }: { nameOf(contactId: string): string; contactUrl: string | null }): HTMLElement {
  const { count, plural, cents } = fmt;
  const r = v.result;
  const explained = r.differences.filter((d) => typeof d.explained === 'string');
  const lost = r.differences.filter((d) => typeof d.explained !== 'string');
  /** "3 (120.00)": a count of transactions and their total. */
  const countAndTotal = (side: { count: number; totalCents: number }): string => `${count(side.count)} (${cents(side.totalCents)})`;
  const contact = (id: string): HTMLElement => {
    const name = nameOf(id);
    return h('span', null, name ? `${name} ` : '', idText(id, 'muted'), contactUrl ? [' ', booksLink(contactUrl, id)] : null);
  };
  const before = r.before;
  const out: HTMLElement[] = [];
  if (v.ok) {
    out.push(h('p', { class: 'verify-verdict verify-ok' }, badge('done', 'verified'), ' ',
      h('span', { testid: 'verify-summary' }, `No history lost: ${plural(r.transactions, 'transaction')} totalling ${cents(r.totalCents)} across ${plural(r.contacts, 'contact')}, as before the run.`)));
  } else {
    out.push(h('p', { class: 'verify-verdict verify-bad' }, badge('failed', 'differences'), ' ',
      h('span', { testid: 'verify-summary' }, `${plural(lost.length, 'unexplained difference')} from before the run: these contacts' transactions are not as they were, and nothing traded since explains it.`)));
    out.push(h('div', { class: 'table-wrap' }, h('table', { class: 'grid compact', testid: 'verify-lost' },
      h('thead', null, h('tr', null, ['Contact', 'Transactions', 'Before', 'Now'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, lost.map((d) => h('tr', { testid: 'verify-lost-row', dataset: { contactId: d.contactId, type: d.transactionType } },
        td(contact(d.contactId)), td(transactionLabel(d.transactionType)), td(countAndTotal(d.before), 'num'), td(countAndTotal(d.after), 'num')))))));
  }
  if (explained.length) {
    out.push(h('p', { testid: 'verify-explained-count' }, `${plural(explained.length, 'difference')} ${explained.length === 1 ? 'is' : 'are'} explained by trading since the counts were taken (not a loss):`));
    out.push(h('ul', { class: 'verify-explained', testid: 'verify-explained' }, explained.map((d) => h('li', { testid: 'verify-explained-item', dataset: { contactId: d.contactId, type: d.transactionType } },
      contact(d.contactId), `, ${transactionLabel(d.transactionType)}: ${countAndTotal(d.before)} before → ${countAndTotal(d.after)} now. `, h('span', { class: 'muted' }, String(d.explained))))));
  }
  out.push(h('p', { class: 'help', testid: 'verify-meta' }, 'Verified ', timeEl(fmt, v.verifiedAt),
    before ? [' against the counts of ', timeEl(fmt, before.takenAt), before.source === 'snapshot' ? ' (taken by the scan)' : ' (read when the run started)'] : null,
    `; read ${r.method === 'per-contact' ? 'one list per contact and type' : 'whole transaction lists'}, ${plural(r.apiCalls, 'API call')}.`));
  return h('div', { class: 'verify-result', testid: 'verify-result', dataset: { ok: String(v.ok) } }, out);
}
