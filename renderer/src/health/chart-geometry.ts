// The y range of a health chart and what of its threshold bands shows in it: pure numbers, kept out
// of TimeChart so they can be tested without a browser.
import { niceCeil } from './axis-ticks';
import type { Threshold } from './thresholds';

export interface YRangeOptions {
  /** The y axis reaches at least this high. */
  minTop?: number;
  /** Scale to the data (with 20 % headroom) instead of keeping the limit or critical line in view. */
  fitToData?: boolean;
  limit?: { y: number };
  threshold?: Threshold;
}

/** The top of the y axis (its bottom is 0), a round number. Unless fitted to the data, the axis
 * keeps the limit line, or else the critical line, in view, so "how close are we" reads at a glance. */
export function yAxisTop(dataMax: number, o: YRangeOptions): number {
  if (o.fitToData) return niceCeil(Math.max(dataMax * 1.2, o.minTop ?? 0));
  return niceCeil(Math.max(dataMax, o.minTop ?? 0, o.limit ? o.limit.y : o.threshold ? o.threshold.critical * 1.1 : 0));
}

/** The part of the band from `lo` to `hi` inside the y axis [0, top], or undefined when none of it
 * is: a band above the axis (a critical level the data is far from) is not drawn at all. */
export function bandInRange(lo: number, hi: number, top: number): { lo: number; hi: number } | undefined {
  const a = Math.min(Math.max(lo, 0), top);
  const b = Math.min(Math.max(hi, 0), top);
  return b > a ? { lo: a, hi: b } : undefined;
}
