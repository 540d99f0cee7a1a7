/**
 * The plan as one self-contained HTML page for people who decide on it (finance, operations):
 * summary cards, a stacked bar chart of active contacts by months since their last activity, the
 * plan's effect, the exclusions by reason, and the step and exclusion tables.
 *
 * Self-contained: inline CSS, inline SVG, one small inline script (a row filter) allowed by its
 * hash in a Content-Security-Policy that forbids everything else (no network, no other script).
 * Without JavaScript the page is complete; the filter box just stays hidden. Every piece of data
 * is escaped. Pure: the only time shown is the plan's own and `generatedAt` when given.
 */
import { createHash } from 'node:crypto';
import type { Evidence, Exclusion, HistogramBucket, InMemoryPlan, Plan } from '../types.js';
import { bucketTotal, HISTOGRAM_COLORS, layoutHistogram, REPORT_HISTOGRAM, type HistogramBar } from './histogram.js';
import { describeLastActivity } from './last-activity.js';
import { EXCLUSION_REASONS, EXCLUSION_REASON_LABELS } from './plan-json.js';
import { formatCount, formatInstant, formatMoney } from './plan-text.js';

export interface PlanHtmlOptions {
  /** The page title; default `Sunset plan for <organization name> (<id>)`. */
  title?: string;
  /** The organization's name and currency as the scan saw them (the snapshot has both). */
  organizationName?: string;
  currencyCode?: string;
  /** Epoch ms shown as "report generated"; omitted when not given. */
  generatedAt?: number;
}

/** Escapes text for HTML content and quoted attribute values; drops characters HTML forbids. */
export function escapeHtml(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const esc = escapeHtml;

const COLORS = HISTOGRAM_COLORS;

const CSS = `
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
header { border-bottom: 2px solid var(--ink); padding-bottom: 12px; margin-bottom: 20px; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 17px; margin: 32px 0 10px; }
.meta { display: flex; flex-wrap: wrap; gap: 4px 24px; margin: 0; color: var(--muted); }
.meta div { display: flex; gap: 6px; }
.meta dt { font-weight: 600; }
.meta dd { margin: 0; }
.note { color: var(--muted); margin: 6px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin: 0; padding: 0; list-style: none; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: var(--soft); }
.card .value { display: block; font-size: 26px; font-weight: 700; font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); }
.card.deactivate { border-top: 4px solid ${COLORS.deactivate}; }
.card.excluded { border-top: 4px solid ${COLORS.excluded}; }
.card.activate { border-top: 4px solid #1a7f37; }
figure { margin: 0; }
svg.chart { max-width: 100%; height: auto; display: block; }
svg.chart text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--muted); }
svg.chart .axis-title { font-weight: 600; fill: var(--ink); }
svg.chart .total { fill: var(--ink); font-weight: 600; }
svg.chart .grid { stroke: #e6e9ec; }
svg.chart .axis { stroke: var(--ink); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--soft); border-bottom: 2px solid var(--line); white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; white-space: nowrap; }
td.name { white-space: pre-wrap; overflow-wrap: anywhere; min-width: 10em; }
td.negative { color: #b35900; }
table.narrow { width: auto; min-width: 360px; }
.action-deactivate { color: ${COLORS.deactivate}; font-weight: 600; }
.action-activate { color: #1a7f37; font-weight: 600; }
.filter { margin: 24px 0 0; display: flex; gap: 12px; align-items: center; }
.filter input { font: inherit; padding: 6px 10px; width: min(420px, 100%); border: 1px solid var(--line); border-radius: 6px; }
.table-wrap { overflow-x: auto; }
details { margin-top: 8px; }
summary { cursor: pointer; color: var(--accent); }
pre { background: var(--soft); border: 1px solid var(--line); padding: 10px; overflow-x: auto; white-space: pre-wrap; }
footer { margin-top: 40px; color: var(--muted); border-top: 1px solid var(--line); padding-top: 10px; }
[hidden] { display: none !important; }
@page { margin: 14mm; }
@media print {
  body { padding: 0; font-size: 10pt; }
  .filter, details { display: none !important; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; }
  figure, .cards, table.narrow { break-inside: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  .table-wrap { overflow: visible; }
}
`.trim();

const SCRIPT = `
(function () {
  var box = document.getElementById('filter');
  var input = document.getElementById('filter-input');
  var status = document.getElementById('filter-status');
  var rows = document.querySelectorAll('tbody.filterable tr');
  box.hidden = false;
  input.addEventListener('input', function () {
    var q = input.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var match = q === '' || row.textContent.toLowerCase().indexOf(q) !== -1;
      row.hidden = !match;
      if (match) shown++;
    });
    status.textContent = q === '' ? '' : shown + ' of ' + rows.length + ' rows match';
  });
})();
`.trim();

/** The script's CSP hash: only this exact script may run in the page. */
const SCRIPT_HASH = `sha256-${createHash('sha256').update(SCRIPT, 'utf8').digest('base64')}`;

/** The months-since chart (laid out by histogram.ts, as the review page's) as SVG text. */
function chartSvg(buckets: HistogramBucket[]): string {
  const chart = layoutHistogram(buckets, REPORT_HISTOGRAM, formatCount);
  const out: string[] = [];
  out.push(`<svg class="chart" viewBox="0 0 ${chart.width} ${chart.height}" width="${chart.width}" height="${chart.height}" role="img" aria-labelledby="chart-title chart-desc">`);
  out.push(`<title id="chart-title">${esc(chart.title)}</title>`);
  out.push(`<desc id="chart-desc">${esc(chart.description)}</desc>`);
  for (const l of chart.legend) {
    out.push(`<g class="legend-item"><rect x="${l.x}" y="${l.y}" width="12" height="12" rx="2" fill="${l.color}"/><text x="${l.textX}" y="${l.textY}">${esc(l.label)}</text></g>`);
  }
  for (const t of chart.ticks) {
    out.push(`<line class="grid" x1="${t.x1}" x2="${t.x2}" y1="${t.y}" y2="${t.y}"/>`);
    out.push(`<text x="${t.labelX}" y="${t.labelY}" text-anchor="end">${esc(t.text)}</text>`);
  }
  out.push(`<line class="axis" x1="${chart.yAxis.x}" x2="${chart.yAxis.x}" y1="${chart.yAxis.y1}" y2="${chart.yAxis.y2}"/>`);
  out.push(`<line class="axis" x1="${chart.xAxis.x1}" x2="${chart.xAxis.x2}" y1="${chart.xAxis.y}" y2="${chart.xAxis.y}"/>`);
  out.push(`<text class="axis-title" transform="${chart.yTitle.transform}" text-anchor="middle">${esc(chart.yTitle.text)}</text>`);
  const bar = (b: HistogramBar): void => {
    out.push(`<g class="bar" data-bucket="${esc(b.bucket.label)}" data-deactivate="${b.bucket.deactivate}" data-excluded="${b.bucket.excluded}" data-kept="${b.bucket.kept}">`);
    out.push(`<title>${esc(b.title)}</title>`);
    for (const r of b.rects) out.push(`<rect class="${r.part}" x="${r.x}" y="${r.y}" width="${r.width}" height="${r.height}" fill="${r.color}"><title>${esc(r.title)}</title></rect>`);
    if (b.total) out.push(`<text class="total" x="${b.total.x}" y="${b.total.y}" text-anchor="middle">${esc(b.total.text)}</text>`);
    if (b.label) {
      const x = b.label.x;
      const tspans = b.label.lines.map((line, i) => `<tspan x="${x}" dy="${i === 0 ? 0 : 13}">${esc(line)}</tspan>`).join('');
      out.push(`<text x="${x}" y="${b.label.y}" text-anchor="middle">${tspans}</text>`);
    }
    out.push('</g>');
  };
  chart.bars.forEach(bar);
  if (chart.monthsTitle) out.push(`<text class="axis-title" x="${chart.monthsTitle.x}" y="${chart.monthsTitle.y}" text-anchor="middle">${esc(chart.monthsTitle.text)}</text>`);
  if (chart.noneDivider) out.push(`<line class="grid" x1="${chart.noneDivider.x}" x2="${chart.noneDivider.x}" y1="${chart.noneDivider.y1}" y2="${chart.noneDivider.y2}" stroke-dasharray="4 3"/>`);
  if (chart.noneBar) bar(chart.noneBar);
  out.push('</svg>');
  return out.join('\n');
}

function moneyCell(n: number): string {
  return `<td class="num${n < 0 ? ' negative' : ''}">${esc(formatMoney(n))}</td>`;
}

function evidenceCells(e: Evidence): string {
  return [
    `<td>${esc(describeLastActivity(e))}</td>`,
    `<td>${esc(e.createdTime.slice(0, 10))}</td>`,
    moneyCell(e.receivable),
    moneyCell(e.payable),
    moneyCell(e.unusedCreditsReceivable + e.unusedCreditsPayable),
  ].join('');
}

function evidenceHeadings(currency: string): string {
  const unit = currency ? ` (${esc(currency)})` : '';
  return `<th>Last activity</th><th>Created</th><th class="num">Receivable${unit}</th><th class="num">Payable${unit}</th><th class="num">Unused credits${unit}</th>`;
}

function sumCents(values: number[]): number {
  return values.reduce((sum, v) => sum + Math.round(v * 100), 0) / 100;
}

/**
 * The report around its excluded contacts' rows: `head` ends where the first row goes (or is the
 * whole document when nothing is excluded, with `tail` empty); the rows, `exclusionRow` each, are
 * joined by newlines; `tail` follows the last.
 */
function htmlParts(plan: Plan, options: PlanHtmlOptions): { head: string; tail: string } {
  const s = plan.summary;
  const name = options.organizationName ?? '';
  const currency = options.currencyCode ?? '';
  const title = options.title ?? (name ? `Sunset plan for ${name} (${plan.organizationId})` : `Sunset plan for organization ${plan.organizationId}`);
  const money = (n: number): string => (currency ? `${currency} ${formatMoney(n)}` : formatMoney(n));
  const activeAfter = s.active - s.steps.deactivate + s.steps.activate;
  const inactiveAfter = s.inactive + s.steps.deactivate - s.steps.activate;
  const signed = (n: number): string => (n > 0 ? `+${formatCount(n)}` : n < 0 ? `-${formatCount(-n)}` : '0');
  const deactivations = plan.steps.filter((st) => st.action === 'deactivate');
  const share = s.active === 0 ? '0' : ((s.steps.deactivate / s.active) * 100).toFixed(1);

  const card = (metric: string, value: number, label: string, cls = ''): string =>
    `<li class="card${cls ? ` ${cls}` : ''}" data-metric="${metric}"><span class="value">${formatCount(value)}</span><span class="label">${esc(label)}</span></li>`;

  const meta: Array<[string, string]> = [
    ['Organization', name ? `${name} (${plan.organizationId})` : plan.organizationId],
    ...(currency ? [['Currency', currency] as [string, string]] : []),
    ['Snapshot as of', formatInstant(plan.asOf)],
    ['Activity counted since', plan.cutoffDate],
    ['Plan', plan.planId],
    ['Snapshot', plan.snapshotId],
  ];
  if (options.generatedAt !== undefined) meta.push(['Report generated', formatInstant(options.generatedAt)]);

  const reasonRows = EXCLUSION_REASONS.filter((r) => (s.excluded[r] ?? 0) > 0)
    .map((r) => `<tr data-reason="${r}"><td>${esc(EXCLUSION_REASON_LABELS[r])}</td><td class="id">${r}</td><td class="num">${formatCount(s.excluded[r] ?? 0)}</td></tr>`);
  const reasonTotal = EXCLUSION_REASONS.reduce((sum, r) => sum + (s.excluded[r] ?? 0), 0);

  const stepRows = plan.steps.map((st) => [
    '<tr>',
    `<td class="action-${st.action}">${st.action}</td>`,
    `<td class="name">${esc(st.contactName)}</td>`,
    `<td class="id">${esc(st.contactId)}</td>`,
    `<td>${esc(st.contactType)}</td>`,
    `<td>${esc(st.reason)}</td>`,
    evidenceCells(st.evidence),
    '</tr>',
  ].join(''));
  const bucketRows = s.histogram.map((b) =>
    `<tr><td>${esc(b.label === 'none' ? 'no activity in window' : b.label)}</td><td class="num">${formatCount(b.deactivate)}</td><td class="num">${formatCount(b.excluded)}</td><td class="num">${formatCount(b.kept)}</td><td class="num">${formatCount(bucketTotal(b))}</td></tr>`);

  const html = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src '${SCRIPT_HASH}'; base-uri 'none'; form-action 'none'">`,
    `<title>${esc(title)}</title>`,
    `<style>\n${CSS}\n</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>${esc(title)}</h1>`,
    `<dl class="meta">${meta.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>`,
    '<p class="note">This is a plan: nothing has changed in Zoho Books yet. Contacts are made inactive only when the plan is applied, and every change can be undone.</p>',
    '</header>',
    '<main>',
    '<section aria-labelledby="summary-heading">',
    '<h2 id="summary-heading">Summary</h2>',
    '<ul class="cards">',
    card('considered', s.contactsConsidered, 'contacts considered'),
    card('deactivate', s.steps.deactivate, 'to deactivate', 'deactivate'),
    card('activate', s.steps.activate, 'to activate', 'activate'),
    card('excluded', plan.exclusionCount, 'excluded (left as they are)', 'excluded'),
    card('recently-active', s.recentlyActive, 'recently active'),
    '</ul>',
    '</section>',
    '<section aria-labelledby="chart-heading">',
    '<h2 id="chart-heading">Contacts by months since last activity</h2>',
    `<p class="note">Active contacts only. A contact with no counted activity since ${esc(plan.cutoffDate)} is dormant: it is either deactivated or excluded.</p>`,
    '<figure>',
    chartSvg(s.histogram),
    '</figure>',
    '<details><summary>Chart data</summary><div class="table-wrap"><table class="narrow"><thead><tr><th>Months since last activity</th><th class="num">To deactivate</th><th class="num">Excluded</th><th class="num">Kept</th><th class="num">Total</th></tr></thead>',
    `<tbody>${bucketRows.join('\n')}</tbody></table></div></details>`,
    '</section>',
    '<section aria-labelledby="effect-heading">',
    '<h2 id="effect-heading">The plan’s effect</h2>',
    '<table class="narrow effect"><thead><tr><th></th><th class="num">Before</th><th class="num">After</th><th class="num">Change</th></tr></thead><tbody>',
    `<tr data-effect="active"><th>Active contacts</th><td class="num">${formatCount(s.active)}</td><td class="num">${formatCount(activeAfter)}</td><td class="num">${signed(activeAfter - s.active)}</td></tr>`,
    `<tr data-effect="inactive"><th>Inactive contacts</th><td class="num">${formatCount(s.inactive)}</td><td class="num">${formatCount(inactiveAfter)}</td><td class="num">${signed(inactiveAfter - s.inactive)}</td></tr>`,
    '</tbody></table>',
    `<p>The plan makes ${formatCount(s.steps.deactivate)} of ${formatCount(s.active)} active contacts inactive (${share}%)${s.steps.activate > 0 ? ` and makes ${formatCount(s.steps.activate)} inactive ${s.steps.activate === 1 ? 'contact' : 'contacts'} active again` : ''}. ${formatCount(plan.exclusionCount)} dormant ${plan.exclusionCount === 1 ? 'contact is' : 'contacts are'} left as ${plan.exclusionCount === 1 ? 'it is' : 'they are'}.</p>`,
    `<p>Balances on the contacts to deactivate: receivable ${money(sumCents(deactivations.map((d) => d.evidence.receivable)))}, payable ${money(sumCents(deactivations.map((d) => d.evidence.payable)))}, unused credits ${money(sumCents(deactivations.map((d) => d.evidence.unusedCreditsReceivable + d.evidence.unusedCreditsPayable)))}.</p>`,
    '</section>',
    '<section aria-labelledby="reasons-heading">',
    '<h2 id="reasons-heading">Excluded by reason</h2>',
    reasonRows.length === 0
      ? '<p>No contact is excluded.</p>'
      : [
        '<table class="narrow reasons"><thead><tr><th>Reason</th><th>Code</th><th class="num">Contacts</th></tr></thead>',
        `<tbody>${reasonRows.join('\n')}</tbody></table>`,
        reasonTotal > plan.exclusionCount ? `<p class="note">A contact can be excluded for more than one reason, so these add up to ${formatCount(reasonTotal)} for ${formatCount(plan.exclusionCount)} excluded contacts.</p>` : '',
      ].join('\n'),
    '</section>',
    '<div class="filter" id="filter" hidden><label for="filter-input">Filter the tables below</label><input type="search" id="filter-input" placeholder="Name, id, reason…" autocomplete="off"><span id="filter-status" aria-live="polite"></span></div>',
    '<section aria-labelledby="steps-heading">',
    `<h2 id="steps-heading">Steps (${formatCount(plan.steps.length)})</h2>`,
    stepRows.length === 0
      ? '<p>No steps: this plan changes nothing.</p>'
      : [
        '<div class="table-wrap"><table class="steps"><thead><tr><th>Action</th><th>Contact</th><th>Contact ID</th><th>Type</th><th>Reason</th>',
        `${evidenceHeadings(currency)}</tr></thead>`,
        `<tbody class="filterable">\n${stepRows.join('\n')}\n</tbody></table></div>`,
      ].join('\n'),
    '</section>',
    '<section aria-labelledby="excluded-heading">',
    `<h2 id="excluded-heading">Excluded contacts (${formatCount(plan.exclusionCount)})</h2>`,
  ];
  const tail = [
    '</section>',
    '<section aria-labelledby="policy-heading">',
    '<h2 id="policy-heading">Policy</h2>',
    `<details><summary>The policy this plan was made with</summary><pre>${esc(plan.policyText)}</pre></details>`,
    '</section>',
    '</main>',
    `<footer>Made by Sunset from snapshot ${esc(plan.snapshotId)} of ${esc(name ? `${name} (${plan.organizationId})` : `organization ${plan.organizationId}`)}, taken ${esc(formatInstant(plan.asOf))}. Amounts are in ${esc(currency || 'the organization’s currency')}.</footer>`,
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ];
  if (plan.exclusionCount === 0) return { head: [...html, '<p>No contact is excluded.</p>', ...tail].join('\n'), tail: '' };
  return {
    head: [
      ...html,
      '<div class="table-wrap"><table class="excluded"><thead><tr><th>Contact</th><th>Contact ID</th><th>Type</th><th>Reasons</th><th>Detail</th>',
      `${evidenceHeadings(currency)}</tr></thead>`,
      '<tbody class="filterable">\n',
    ].join('\n'),
    tail: `\n</tbody></table></div>\n${tail.join('\n')}`,
  };
}

/** One excluded contact's row of the report's last table. */
function exclusionRow(e: Exclusion): string {
  return [
    '<tr>',
    `<td class="name">${esc(e.contactName)}</td>`,
    `<td class="id">${esc(e.contactId)}</td>`,
    `<td>${esc(e.contactType)}</td>`,
    `<td>${e.reasons.map((r) => esc(EXCLUSION_REASON_LABELS[r] ?? r)).join('<br>')}</td>`,
    `<td>${esc(e.detail)}</td>`,
    evidenceCells(e.evidence),
    '</tr>',
  ].join('');
}

export function planToHtml(plan: InMemoryPlan, options: PlanHtmlOptions = {}): string {
  const { head, tail } = htmlParts(plan, options);
  return plan.exclusionCount === 0 ? head : `${head}${plan.excluded.map(exclusionRow).join('\n')}${tail}`;
}

/**
 * The same document as `planToHtml`, in pieces: everything before the excluded contacts' rows,
 * then one piece per page of exclusions as `exclusions` yields them (`journal.planExclusions`),
 * then the rest; so a plan with a hundred thousand exclusions is written without holding them all.
 */
export async function* planHtmlChunks(plan: Plan, exclusions: AsyncIterable<Exclusion[]>, options: PlanHtmlOptions = {}): AsyncGenerator<string> {
  const { head, tail } = htmlParts(plan, options);
  yield head;
  if (plan.exclusionCount === 0) return;
  let first = true;
  for await (const page of exclusions) {
    if (page.length === 0) continue;
    yield `${first ? '' : '\n'}${page.map(exclusionRow).join('\n')}`;
    first = false;
  }
  yield tail;
}
