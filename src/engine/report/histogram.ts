/**
 * The chart of active contacts by months since their last activity, laid out once for the two
 * places that draw it: the HTML report (plan-html.ts, as SVG text) and the service's plan review
 * page (the web UI, as SVG elements). This module says where every legend item, grid line, bar,
 * total and label goes and what each says; each caller only draws it in its own medium.
 *
 * Also the months-since-last-activity the buckets count (the planner files each contact with it,
 * the review page says it in a contact's evidence).
 *
 * Pure: no node imports, nothing but arithmetic and words (the UI's bundle includes it).
 */
import type { HistogramBucket } from '../types.js';

export type HistogramPart = 'deactivate' | 'excluded' | 'kept';

/** Bottom to top in a bar, left to right in the legend. */
export const HISTOGRAM_PARTS: readonly HistogramPart[] = ['deactivate', 'excluded', 'kept'];

/** Colour-blind safe (Okabe–Ito orange and blue, and grey). */
export const HISTOGRAM_COLORS: Readonly<Record<HistogramPart, string>> = { deactivate: '#d55e00', excluded: '#0072b2', kept: '#a8a8a8' };

/** The legend's words. */
export const HISTOGRAM_PART_LABELS: Readonly<Record<HistogramPart, string>> = { deactivate: 'to deactivate', excluded: 'excluded', kept: 'kept (recently active)' };

/** The words in a bar's description ("3 to deactivate, 1 kept"). */
export const HISTOGRAM_PART_NAMES: Readonly<Record<HistogramPart, string>> = { deactivate: 'to deactivate', excluded: 'excluded', kept: 'kept' };

export const HISTOGRAM_TITLE = 'Active contacts by months since last activity';

/** The length of a month in the buckets (an average month: 30.44 days). */
export const MONTH_MS = 30.44 * 86_400_000;

/**
 * Whole months from a `yyyy-mm-dd` day to an instant (epoch ms), never below 0: the histogram
 * bucket of a contact whose last counted activity is that day. NaN for a date that is not one.
 */
export function monthsSince(date: string, asOf: number): number {
  return Math.max(0, Math.floor((asOf - Date.parse(`${date}T00:00:00Z`)) / MONTH_MS));
}

/** How a count is written: the report writes `12,345`, the page in the reader's language. */
export type CountFormat = (n: number) => string;

export function bucketTotal(b: HistogramBucket): number {
  return b.deactivate + b.excluded + b.kept;
}

export function bucketName(b: HistogramBucket): string {
  if (b.label === 'none') return 'No activity in window';
  return b.label === '1' ? '1 month since last activity' : `${b.label} months since last activity`;
}

/** "3 months since last activity: 5 contacts (4 to deactivate, 1 kept)". */
export function describeBucket(b: HistogramBucket, count: CountFormat): string {
  const n = bucketTotal(b);
  const parts = HISTOGRAM_PARTS.filter((p) => b[p] > 0).map((p) => `${count(b[p])} ${HISTOGRAM_PART_NAMES[p]}`);
  return `${bucketName(b)}: ${count(n)} ${n === 1 ? 'contact' : 'contacts'}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

/** A round step (1, 2 or 5 times a power of ten) that cuts 0..max into about `ticks` parts. */
export function niceStep(max: number, ticks: number): number {
  if (max <= ticks) return 1;
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
}

/** The chart's measures, in SVG user units. */
export interface HistogramSize {
  /** A month's slot (its bar is 70% of it); `denseSlot` when there are more than `denseOver` months. */
  slot: number;
  denseSlot: number;
  denseOver: number;
  /** The slot of the last bar (no activity in the window), and the gap before it. */
  noneSlot: number;
  gap: number;
  /** Margins around the plot, and the plot's height. */
  left: number;
  right: number;
  top: number;
  plot: number;
  bottom: number;
  /** The legend's swatches and words: their baselines, a character's width and the space between items. */
  legendRectY: number;
  legendTextY: number;
  legendCharWidth: number;
  legendSpacing: number;
  /** The y axis's numbers stand this far left of it; its title this far from the left edge. */
  tickLabelGap: number;
  axisTitleX: number;
  /** Below the plot: the month labels' baseline, and the axis title's. */
  labelBelow: number;
  titleBelow: number;
  /** The least height of a part that is not 0 (so one contact among thousands still shows). */
  minBarHeight: number;
  /** A bar narrower than this has no total above it (it would not fit). */
  totalMinWidth: number;
}

/** The HTML report's chart: roomy, for print. */
export const REPORT_HISTOGRAM: Readonly<HistogramSize> = {
  slot: 26, denseSlot: 26, denseOver: Infinity, noneSlot: 96, gap: 18, left: 56, right: 16, top: 44, plot: 220, bottom: 62,
  legendRectY: 10, legendTextY: 20, legendCharWidth: 6.2, legendSpacing: 22, tickLabelGap: 8, axisTitleX: 14, labelBelow: 16, titleBelow: 50,
  minBarHeight: 0, totalMinWidth: 0,
};

/** The review page's chart: beside the effect panel; long windows get narrower bars. */
export const PAGE_HISTOGRAM: Readonly<HistogramSize> = {
  slot: 24, denseSlot: 14, denseOver: 48, noneSlot: 90, gap: 16, left: 52, right: 12, top: 40, plot: 200, bottom: 52,
  legendRectY: 8, legendTextY: 18, legendCharWidth: 6.4, legendSpacing: 20, tickLabelGap: 7, axisTitleX: 13, labelBelow: 15, titleBelow: 44,
  minBarHeight: 0.5, totalMinWidth: 14,
};

export interface HistogramLegendItem {
  part: HistogramPart;
  color: string;
  label: string;
  /** The swatch (12 × 12, corner radius 2) and the words' start and baseline. */
  x: number;
  y: number;
  textX: number;
  textY: number;
}

/** A grid line across the plot at `y`, its value written at (labelX, labelY), anchored at its end. */
export interface HistogramTick {
  value: number;
  text: string;
  y: number;
  x1: number;
  x2: number;
  labelX: number;
  labelY: number;
}

export interface HistogramRect {
  part: HistogramPart;
  color: string;
  x: number;
  y: number;
  width: number;
  height: number;
  title: string;
}

export interface HistogramBar {
  bucket: HistogramBucket;
  /** What the bar says on hover and to a screen reader. */
  title: string;
  rects: HistogramRect[];
  /** The bar's total above it (middle-anchored), or null. */
  total: { x: number; y: number; text: string } | null;
  /** The label under it, one line per entry (middle-anchored; a line after the first 13 units lower), or null. */
  label: { x: number; y: number; lines: string[] } | null;
}

export interface HistogramLayout {
  width: number;
  height: number;
  title: string;
  /** Every bucket with contacts, in words: the chart's text alternative. */
  description: string;
  legend: HistogramLegendItem[];
  ticks: HistogramTick[];
  /** The axes' lines, and the y axis's title (middle-anchored, turned by `transform`). */
  yAxis: { x: number; y1: number; y2: number };
  xAxis: { x1: number; x2: number; y: number };
  yTitle: { text: string; transform: string };
  /** One bar per month, oldest activity last. */
  bars: HistogramBar[];
  /** The x axis's title under the month bars (middle-anchored), or null when there are none. */
  monthsTitle: { text: string; x: number; y: number } | null;
  /** The dashed line before the last bar (no activity in the window) and that bar, or null. */
  noneDivider: { x: number; y1: number; y2: number } | null;
  noneBar: HistogramBar | null;
}

/** Tenths at most: coordinates stay short and the same wherever they are drawn. */
const tenths = (n: number): number => Math.round(n * 10) / 10;

/** A stacked bar per bucket: deactivate at the bottom, then excluded, then kept; the buckets without activity in the window last. */
export function layoutHistogram(buckets: readonly HistogramBucket[], size: Readonly<HistogramSize>, count: CountFormat): HistogramLayout {
  const months = buckets.filter((b) => b.label !== 'none');
  const none = buckets.find((b) => b.label === 'none');
  const slot = months.length > size.denseOver ? size.denseSlot : size.slot;
  const noneSlot = none ? size.noneSlot : 0;
  const gap = none ? size.gap : 0;
  const { left, right, top, plot, bottom } = size;
  const width = left + Math.max(1, months.length) * slot + gap + noneSlot + right;
  const height = top + plot + bottom;
  const max = Math.max(0, ...buckets.map(bucketTotal));
  const step = niceStep(max, 4);
  const yMax = Math.max(step, Math.ceil(max / step) * step);
  const y = (v: number): number => top + plot - (v / yMax) * plot;
  const filled = buckets.filter((b) => bucketTotal(b) > 0);

  const legend: HistogramLegendItem[] = [];
  let lx = left;
  for (const part of HISTOGRAM_PARTS) {
    const label = HISTOGRAM_PART_LABELS[part];
    legend.push({ part, color: HISTOGRAM_COLORS[part], label, x: lx, y: size.legendRectY, textX: lx + 17, textY: size.legendTextY });
    lx += 17 + Math.ceil(label.length * size.legendCharWidth) + size.legendSpacing;
  }

  const ticks: HistogramTick[] = [];
  for (let v = 0; v <= yMax; v += step) {
    ticks.push({ value: v, text: count(v), y: tenths(y(v)), x1: left, x2: width - right, labelX: left - size.tickLabelGap, labelY: tenths(y(v) + 4) });
  }

  const bar = (b: HistogramBucket, x: number, w: number, lines: string[] | null): HistogramBar => {
    const rects: HistogramRect[] = [];
    let base = 0;
    for (const part of HISTOGRAM_PARTS) {
      const v = b[part];
      if (v <= 0) continue;
      const y0 = y(base);
      const y1 = y(base + v);
      rects.push({
        part, color: HISTOGRAM_COLORS[part], x: tenths(x), y: tenths(y1), width: tenths(w), height: Math.max(size.minBarHeight, tenths(y0 - y1)),
        title: `${bucketName(b)}: ${count(v)} ${HISTOGRAM_PART_NAMES[part]}`,
      });
      base += v;
    }
    const n = bucketTotal(b);
    return {
      bucket: b,
      title: describeBucket(b, count),
      rects,
      total: n > 0 && w >= size.totalMinWidth ? { x: tenths(x + w / 2), y: tenths(y(n) - 4), text: count(n) } : null,
      label: lines ? { x: tenths(x + w / 2), y: top + plot + size.labelBelow, lines } : null,
    };
  };

  // Long windows label every few months (and the last), so the labels do not overlap.
  const every = months.length > 36 ? Math.ceil(months.length / 24) : 1;
  const bars = months.map((b, i) => bar(b, left + i * slot + slot * 0.15, slot * 0.7, i % every === 0 || i === months.length - 1 ? [b.label] : null));
  const x0 = left + months.length * slot + gap / 2;
  return {
    width,
    height,
    title: HISTOGRAM_TITLE,
    description: filled.length === 0 ? 'No active contacts.' : `${filled.map((b) => describeBucket(b, count)).join('; ')}. Other months: none.`,
    legend,
    ticks,
    yAxis: { x: left, y1: top, y2: top + plot },
    xAxis: { x1: left, x2: width - right, y: top + plot },
    yTitle: { text: 'contacts', transform: `translate(${size.axisTitleX} ${top + plot / 2}) rotate(-90)` },
    bars,
    monthsTitle: months.length > 0 ? { text: 'months since last activity', x: tenths(left + (months.length * slot) / 2), y: top + plot + size.titleBelow } : null,
    noneDivider: none ? { x: tenths(x0), y1: top, y2: top + plot } : null,
    noneBar: none ? bar(none, x0 + gap / 2 + (noneSlot - 44) / 2, 44, ['no activity', 'in window']) : null,
  };
}
