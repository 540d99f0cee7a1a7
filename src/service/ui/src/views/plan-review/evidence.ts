/**
 * A contact's evidence, for the side panel: what the plan does to it and why, every field of the
 * row, and how many months before the scan its last activity was (the planner's own count).
 */
import type { PlanRow } from '../../../../api-types.js';
import { exclusionReasonLabel, isExclusionReason } from '../../../../../engine/report/exclusion-reasons.js';
import { monthsSince } from '../../../../../engine/report/histogram.js';
import { h, type Child } from '../../dom.js';
import type { Format } from '../../format.js';
import { booksLink, idText, kv, timeEl } from '../../widgets/parts.js';
import { CREATED, CREDITS, DETAIL, EFFECT, ID, isStep, LAST_DATE, LAST_WORDS, PAYABLE, RECEIVABLE, reasonsOf, TYPE } from './rows.js';

export interface EvidenceOptions {
  /** The plan's "now": the snapshot's time. */
  asOf: number;
  contactUrl: string | null;
  /** Excluded by the reviewer. */
  excluded: boolean;
  /** The effect as the table shows it (a badge). */
  effectBadge: HTMLElement;
  /** Exclude / include again, or null when the plan can no longer change. */
  onToggle: (() => void) | null;
}

export function evidenceContent(fmt: Format, r: PlanRow, o: EvidenceOptions): Child[] {
  const id = r[ID];
  const step = isStep(r);
  const effect = r[EFFECT];
  const parts = reasonsOf(r);
  const last = r[LAST_DATE];
  const created = r[CREATED];
  const detail = r[DETAIL];
  const months = last ? monthsSince(last, o.asOf) : NaN;
  const toggleBtn = step && o.onToggle
    ? h('button', { type: 'button', class: `btn ${o.excluded ? '' : 'btn-danger-outline'}`, testid: 'evidence-exclude-toggle', onclick: o.onToggle },
      o.excluded ? 'Include this contact again' : 'Exclude this contact')
    : null;
  return [
    h('p', null, o.effectBadge, ' ', step ? (o.excluded ? 'Excluded by you: left as it is.' : `Will be made ${effect === 'deactivate' ? 'inactive' : 'active'} when the plan is applied.`) : 'Left as it is.'),
    detail ? h('p', { class: 'detail', testid: 'evidence-detail' }, detail) : null,
    kv([
      ['Contact ID', idText(id)],
      ['Type', r[TYPE]],
      ['Effect', effect],
      [step ? 'Rule' : 'Reasons', parts.length ? h('span', null, parts.map((p, i) => [i ? ', ' : '', exclusionReasonLabel(p), isExclusionReason(p) ? h('code', { class: 'muted' }, ` ${p}`) : ''])) : '—'],
      ['Last activity', h('span', { testid: 'evidence-last-activity' }, r[LAST_WORDS], Number.isFinite(months) ? `, ${fmt.plural(months, 'month')} before the scan` : '')],
      ['Receivable', fmt.money(r[RECEIVABLE])],
      ['Payable', fmt.money(r[PAYABLE])],
      ['Unused credits', fmt.money(r[CREDITS])],
      ['Created', created ? timeEl(fmt, created) : '—'],
    ], 'kv-stack'),
    h('div', { class: 'actions' }, toggleBtn, booksLink(o.contactUrl, id, 'Open in Zoho Books', 'btn')),
  ];
}
