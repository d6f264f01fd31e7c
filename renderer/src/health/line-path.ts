// The SVG path of one chart line, built here rather than by recharts' <Line>: with a day of history
// on every panel, recharts spent ~60 ms per live sample on per-point bookkeeping (labels, its store
// recomputing domains from the line data, path length measuring), against a 16 ms budget. A plain
// linear scale over the plot box the overlay already uses does the same drawing in well under 1 ms.
import type { Point } from './series-buffer';

export interface PathScale {
  /** The time window on the x axis, mapped to [0, width]. */
  from: number;
  to: number;
  /** The y axis runs from 0 at `height` up to `top` at 0 (SVG y grows downwards). */
  top: number;
  width: number;
  height: number;
  /** A longer silence between two samples is a hole in the line, not a segment across it. */
  gapMs: number;
}

// Tenths of a pixel are finer than any screen shows and keep the `d` string short.
const r = (v: number) => Math.round(v * 10) / 10;

/**
 * The `d` of a polyline through `points` (in time order), starting a new subpath ('M') after each
 * gap. Points outside the window are skipped except the one just before and just after it, so the
 * line still runs to the plot's edges; the caller clips what falls outside the box.
 */
export function linePath(points: readonly Point[], s: PathScale): string {
  const span = s.to - s.from;
  if (!points.length || !(span > 0) || !(s.top > 0)) return '';
  const kx = s.width / span;
  const ky = s.height / s.top;
  // The first index whose successor is inside the window: everything before it is off-screen.
  let start = 0;
  while (start + 1 < points.length && points[start + 1]![0] < s.from) start++;
  let d = '';
  let prev: number | undefined;
  for (let i = start; i < points.length; i++) {
    const [t, v] = points[i]!;
    const x = r((t - s.from) * kx);
    const y = r(s.height - v * ky);
    d += prev === undefined || t - prev > s.gapMs ? `M${x} ${y}` : `L${x} ${y}`;
    prev = t;
    // One point past the right edge finishes the segment into it; the rest cannot show.
    if (t > s.to) break;
  }
  return d;
}
