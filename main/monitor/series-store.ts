// Charted history: one ring buffer per series key, holding 24 h at 1 Hz in typed arrays, so memory
// is allocated once and stays flat however long the watch. Reads downsample with LTTB (the
// `downsample` package) to the number of points a chart can draw.
import { LTTB } from 'downsample';
import { seriesKeys, type Sample, type Series, type SeriesKey } from '../../shared/monitor';

export const defaultCapacity = 24 * 60 * 60;

/** The number each series takes from a sample; NaN when the panel was not read. */
export function seriesValues(s: Sample): Record<SeriesKey, number> {
  const lags = s.replication ? [...s.replication.replicas, ...(s.replication.self ? [s.replication.self] : [])] : [];
  const maxOf = (xs: (number | null)[]) => {
    const known = xs.filter((x): x is number => x !== null);
    return known.length ? Math.max(...known) : s.replication ? 0 : NaN;
  };
  const num = (x: number | null | undefined) => (x === null || x === undefined ? NaN : x);
  return {
    'pool.total': num(s.pool?.total),
    'pool.active': num(s.pool?.active),
    'pool.idle': num(s.pool?.idle),
    'pool.idleInTransaction': num(s.pool?.idleInTransaction),
    'pool.waiting': num(s.pool?.waiting),
    'pool.max': num(s.pool?.max),
    'locks.waiting': num(s.locks?.waiting),
    'replication.maxLagBytes': maxOf(lags.map((l) => l.lagBytes)),
    'replication.maxLagSeconds': maxOf(lags.map((l) => l.lagSeconds)),
    'activity.commitsPerSec': num(s.activity?.commitsPerSec),
    'activity.rollbacksPerSec': num(s.activity?.rollbacksPerSec),
    'activity.deadlocksPerSec': num(s.activity?.deadlocksPerSec),
    'activity.longRunning': num(s.activity?.longRunning.length),
    'activity.idleInTransaction': num(s.activity?.idleInTransaction.length),
    'sample.durationMs': s.durationMs,
  };
}

/** One ring of sample times shared by every series, and one ring of values per series key. */
export class SeriesStore {
  private readonly times: Float64Array;
  private readonly values = new Map<SeriesKey, Float64Array>();
  private start = 0;
  private length = 0;

  constructor(readonly capacity = defaultCapacity) {
    this.times = new Float64Array(capacity);
    for (const key of seriesKeys) this.values.set(key, new Float64Array(capacity));
  }

  add(sample: Sample): void {
    const i = (this.start + this.length) % this.capacity;
    this.times[i] = sample.time;
    const values = seriesValues(sample);
    for (const key of seriesKeys) this.values.get(key)![i] = values[key];
    if (this.length < this.capacity) this.length++;
    else this.start = (this.start + 1) % this.capacity;
  }

  get size(): number {
    return this.length;
  }

  /** Points of one series with from <= time <= to, oldest first; missing readings are left out. */
  raw(key: SeriesKey, from = -Infinity, to = Infinity): [number, number][] {
    const values = this.values.get(key)!;
    const at = (k: number) => (this.start + k) % this.capacity;
    // Times only grow, so a binary search finds the first point in range.
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[at(mid)]! < from) lo = mid + 1;
      else hi = mid;
    }
    const out: [number, number][] = [];
    for (let k = lo; k < this.length; k++) {
      const t = this.times[at(k)]!;
      if (t > to) break;
      const v = values[at(k)]!;
      if (!Number.isNaN(v)) out.push([t, v]);
    }
    return out;
  }

  /** Each series in [from, to], downsampled to at most `points` points. */
  read(keys: readonly SeriesKey[], opts: { from?: number; to?: number; points: number }): Series[] {
    return keys.map((key) => {
      const raw = this.raw(key, opts.from, opts.to);
      const points = raw.length > opts.points ? (LTTB(raw, opts.points) as [number, number][]) : raw;
      return { key, points };
    });
  }
}
