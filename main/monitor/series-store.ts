// Charted history: one ring buffer per series key, holding 24 h at 1 Hz in typed arrays, so memory
// is allocated once and stays flat however long the watch. Reads downsample with LTTB (the
// `downsample` package) to the number of points a chart can draw.
import { LTTB } from 'downsample';
import { seriesKeys, seriesValues, type Sample, type Series, type SeriesKey } from '../../shared/monitor';

export const defaultCapacity = 24 * 60 * 60;

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
