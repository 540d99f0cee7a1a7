/**
 * What the small plan document says, drawn before the rows arrive: the summary cards, the
 * months-since chart, the plan's effect and the exclusions by reason (a click lists them).
 */
import type { PlanHeader } from '../../../../api-types.js';
import { exclusionReasonLabel } from '../../../../../engine/report/exclusion-reasons.js';
import { h, td } from '../../dom.js';
import type { Format } from '../../format.js';
import { histogramChart } from '../../widgets/histogram-chart.js';

export interface SummaryCards {
  el: HTMLElement;
  /** The cards the rows fill in: excluded by the policy (known once the rows are read) and by the reviewer. */
  setPolicyExcluded(n: number): void;
  setUserExcluded(n: number): void;
}

export function summaryCards(fmt: Format, plan: PlanHeader): SummaryCards {
  const { count } = fmt;
  const s = plan.summary;
  const card = (metric: string, value: HTMLElement | number, label: string, cls = ''): HTMLElement =>
    h('li', { class: `stat ${cls}`, testid: `summary-${metric}` }, typeof value === 'number' ? h('span', { class: 'value' }, count(value)) : value, h('span', { class: 'label' }, label));
  const policyExcluded = h('span', { class: 'value' }, '…');
  const userExcluded = h('span', { class: 'value' }, count(0));
  return {
    el: h('ul', { class: 'cards' },
      card('considered', s.contactsConsidered, 'contacts considered'),
      card('deactivate', s.steps.deactivate, 'to deactivate', 'deactivate'),
      card('activate', s.steps.activate, 'to activate', 'activate'),
      card('excluded', policyExcluded, 'excluded by the policy', 'excluded'),
      card('recent', s.recentlyActive, 'recently active (kept)'),
      card('user-excluded', userExcluded, 'excluded by you', 'user')),
    setPolicyExcluded(n) {
      policyExcluded.textContent = count(n);
    },
    setUserExcluded(n) {
      userExcluded.textContent = count(n);
    },
  };
}

/** The chart beside the effect, the exclusions by reason and the policy used. */
export function planOverview(fmt: Format, plan: PlanHeader, showReason: (code: string) => void): HTMLElement {
  const { count } = fmt;
  const s = plan.summary;
  const reasons = Object.entries(s.excluded).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const activeAfter = s.active - s.steps.deactivate + s.steps.activate;
  return h('div', { class: 'plan-overview' },
    h('section', { class: 'panel chart-panel', 'aria-labelledby': 'chart-h' },
      h('h2', { id: 'chart-h' }, 'Active contacts by months since last activity'),
      h('div', { class: 'chart-scroll' }, histogramChart(fmt, s.histogram)),
      h('p', { class: 'help' }, `Dormant contacts (no counted activity since ${plan.cutoffDate || 'the cutoff'}) are either deactivated or excluded. Hover a bar for its numbers.`)),
    h('section', { class: 'panel side-panel', 'aria-labelledby': 'effect-h' },
      h('h2', { id: 'effect-h' }, 'Effect'),
      h('p', null, `Active contacts: ${count(s.active)} → ${count(activeAfter)}.`),
      h('p', null, `Inactive contacts: ${count(s.inactive)} → ${count(s.inactive + s.active - activeAfter)}.`),
      h('h3', null, 'Excluded by reason'),
      reasons.length
        ? h('table', { class: 'grid compact', testid: 'reason-table' }, h('tbody', null, reasons.map(([code, n]) => h('tr', null,
          td(h('button', { type: 'button', class: 'linklike', title: 'Show these contacts', onclick: () => showReason(code) }, exclusionReasonLabel(code))),
          td(count(n), 'num')))))
        : h('p', { class: 'muted' }, 'No contact is excluded.'),
      h('details', null, h('summary', null, 'Policy used'), h('pre', { class: 'policy-text' }, plan.policyText))));
}
