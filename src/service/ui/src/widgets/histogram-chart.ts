/**
 * The plan's months-since chart as SVG elements, laid out by the engine's histogram.ts (the same
 * layout as the HTML report's chart, at the review page's size) with counts in the reader's language.
 */
import { layoutHistogram, PAGE_HISTOGRAM, type HistogramBar } from '../../../../engine/report/histogram.js';
import type { HistogramBucket } from '../../../../engine/types.js';
import { svg } from '../dom.js';
import type { Format } from '../format.js';

export function histogramChart(fmt: Format, buckets: readonly HistogramBucket[]): SVGSVGElement {
  const chart = layoutHistogram(buckets, PAGE_HISTOGRAM, fmt.count);
  const root = svg('svg', { class: 'chart', viewBox: `0 0 ${chart.width} ${chart.height}`, width: chart.width, height: chart.height, role: 'img', 'aria-labelledby': 'chart-t chart-d', 'data-testid': 'histogram-chart' },
    svg('title', { id: 'chart-t' }, chart.title),
    svg('desc', { id: 'chart-d' }, chart.description));
  for (const l of chart.legend) {
    root.append(svg('g', { class: 'legend' },
      svg('rect', { x: l.x, y: l.y, width: 12, height: 12, rx: 2, fill: l.color }),
      svg('text', { x: l.textX, y: l.textY }, l.label)));
  }
  for (const t of chart.ticks) {
    root.append(svg('line', { class: 'gridline', x1: t.x1, x2: t.x2, y1: t.y, y2: t.y }),
      svg('text', { x: t.labelX, y: t.labelY, 'text-anchor': 'end' }, t.text));
  }
  root.append(svg('line', { class: 'axis', x1: chart.yAxis.x, x2: chart.yAxis.x, y1: chart.yAxis.y1, y2: chart.yAxis.y2 }),
    svg('line', { class: 'axis', x1: chart.xAxis.x1, x2: chart.xAxis.x2, y1: chart.xAxis.y, y2: chart.xAxis.y }),
    svg('text', { class: 'axis-title', transform: chart.yTitle.transform, 'text-anchor': 'middle' }, chart.yTitle.text));
  const bar = (b: HistogramBar): void => {
    const g = svg('g', { class: 'bar', 'data-bucket': b.bucket.label, 'data-deactivate': b.bucket.deactivate, 'data-excluded': b.bucket.excluded, 'data-kept': b.bucket.kept },
      svg('title', null, b.title));
    for (const r of b.rects) g.append(svg('rect', { class: r.part, x: r.x, y: r.y, width: r.width, height: r.height, fill: r.color }, svg('title', null, r.title)));
    if (b.total) g.append(svg('text', { class: 'total', x: b.total.x, y: b.total.y, 'text-anchor': 'middle' }, b.total.text));
    if (b.label) {
      const { x } = b.label;
      g.append(svg('text', { x, y: b.label.y, 'text-anchor': 'middle' }, b.label.lines.map((line, i) => svg('tspan', { x, dy: i === 0 ? 0 : 13 }, line))));
    }
    root.append(g);
  };
  chart.bars.forEach(bar);
  if (chart.monthsTitle) root.append(svg('text', { class: 'axis-title', x: chart.monthsTitle.x, y: chart.monthsTitle.y, 'text-anchor': 'middle' }, chart.monthsTitle.text));
  if (chart.noneDivider) root.append(svg('line', { class: 'gridline', x1: chart.noneDivider.x, x2: chart.noneDivider.x, y1: chart.noneDivider.y1, y2: chart.noneDivider.y2, 'stroke-dasharray': '4 3' }));
  if (chart.noneBar) bar(chart.noneBar);
  return root;
}
