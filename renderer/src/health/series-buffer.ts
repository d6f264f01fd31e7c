// The charts' client-side history. A chart is fed once from monitor/series (already downsampled to
// its width) and then one point per sample from the live events; without a bound, a day-long watch
// would grow every array by 86,400 points. Each array is kept to at most about two points per pixel
// column: when it grows past that, it is thinned to the minimum and maximum of each column's worth
// of time, so spikes (a lock pile-up, a lag peak) and dips (commits falling to zero) survive the
// thinning and the memory used stays flat however long the view stays open.
import { seriesValues, type Sample, type SeriesKey } from '../../../shared/monitor';

export type Point = readonly [time: number, value: number];

/** The series the health panels chart, fetched and appended together. */
export const chartedKeys = [
  'pool.total',
  'pool.active',
  'pool.idle',
  'pool.idleInTransaction',
  'pool.waiting',
  'pooler.clientsWaiting',
  'locks.waiting',
  'replication.maxLagSeconds',
  'activity.commitsPerSec',
  'activity.rollbacksPerSec',
  'activity.deadlocksPerSec',
  'host.cpuPct',
  'host.load1',
  'host.memUsedPct',
  'host.diskUsedPct',
] as const satisfies readonly SeriesKey[];
export type ChartedKey = (typeof chartedKeys)[number];

export type SeriesSet = Record<ChartedKey, readonly Point[]>;

export function emptySeriesSet(): SeriesSet {
  return Object.fromEntries(chartedKeys.map((k) => [k, []])) as unknown as SeriesSet;
}

/** The charted numbers of one sample, as main's series store derives them; a panel that was not
 * read this time gives no point rather than a zero that would look like a reading. */
export function chartedValues(s: Sample): Partial<Record<ChartedKey, number>> {
  const all = seriesValues(s);
  const out: Partial<Record<ChartedKey, number>> = {};
  for (const key of chartedKeys) if (!Number.isNaN(all[key])) out[key] = all[key];
  return out;
}

/**
 * Appends one live point. Points before `from` are dropped (all but the last, so the line still
 * enters at the chart's left edge), and past `maxPoints` the array is thinned to half of it.
 */
export function appendPoint(points: readonly Point[], point: Point, from: number, maxPoints: number): readonly Point[] {
  const last = points[points.length - 1];
  // The same sample twice (a series fetch that already held it): keep one.
  if (last && point[0] <= last[0]) return points;
  let start = 0;
  while (start + 1 < points.length && points[start + 1]![0] < from) start++;
  const next = points.slice(start);
  next.push(point);
  if (next.length <= maxPoints) return next;
  return decimate(next, next[0]![0], point[0], Math.max(1, Math.floor(maxPoints / 4)));
}

/**
 * Min-max thinning: [from, to] is cut into `buckets` equal slices of time and each keeps its lowest
 * and highest point, in time order, so the result has at most 2 × buckets points. The last point is
 * always kept: it is the live value the panel's numbers match.
 */
export function decimate(points: readonly Point[], from: number, to: number, buckets: number): Point[] {
  if (points.length <= 2 * buckets) return [...points];
  const width = Math.max(1, (to - from) / buckets);
  const out: Point[] = [];
  let bucket = -1;
  let lo: Point | undefined;
  let hi: Point | undefined;
  const flush = () => {
    if (!lo || !hi) return;
    if (lo === hi) out.push(lo);
    else if (lo[0] < hi[0]) out.push(lo, hi);
    else out.push(hi, lo);
  };
  for (const p of points) {
    const b = Math.min(buckets - 1, Math.max(0, Math.floor((p[0] - from) / width)));
    if (b !== bucket) {
      flush();
      bucket = b;
      lo = hi = p;
    } else {
      if (p[1] < lo![1]) lo = p;
      if (p[1] > hi![1]) hi = p;
    }
  }
  flush();
  const last = points[points.length - 1]!;
  if (out[out.length - 1] !== last) out.push(last);
  return out;
}

/** A fetched history plus the live points that arrived while the fetch was under way. */
export function mergeFetched(fetched: readonly Point[], current: readonly Point[]): readonly Point[] {
  const lastFetched = fetched.length ? fetched[fetched.length - 1]![0] : -Infinity;
  const newer = current.filter((p) => p[0] > lastFetched);
  return newer.length ? [...fetched, ...newer] : fetched;
}

/** The point closest in time to `t` (binary search; points are in time order). */
export function nearest(points: readonly Point[], t: number): Point | undefined {
  if (!points.length) return undefined;
  let lo = 0;
  let hi = points.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid]![0] < t) lo = mid + 1;
    else hi = mid;
  }
  const after = points[lo]!;
  const before = points[lo - 1];
  return before && t - before[0] < after[0] - t ? before : after;
}
