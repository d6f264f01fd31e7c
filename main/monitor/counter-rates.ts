// Servers expose cumulative counters (commits, calls, time spent); the panels chart per-second
// rates. This keeps the previous reading of a set of keyed counters and turns the next one into
// per-key differences, without ever resetting anything on the server: a counter that went down, a
// key that is new, or a changed reset marker means the server started counting again, so the whole
// current value is what accrued since then.

/** One keyed row of cumulative counters, e.g. one database's commits and rollbacks. */
export interface CounterRow {
  key: string;
  /** Cumulative values, always in the same order for a given tracker; or the same values as one
   * space-separated string, which lets a row that did not move be skipped without parsing it. */
  values: readonly number[] | string;
  /** Changes when the server resets this row's statistics (e.g. stats_reset); optional. */
  generation?: string;
}

export interface CounterInterval {
  /** Wall time between the previous reading and this one. */
  elapsedMs: number;
  /** Per key, how much each counter grew; keys whose counters did not move are left out. */
  deltas: Map<string, number[]>;
}

export class CounterTracker {
  /** The previous reading, updated in place: with thousands of keys (one per tracked statement)
   * refilling a fresh map every reading costs more than the comparison itself. */
  private readonly previous = new Map<string, { values: readonly number[] | string; generation?: string; seen: number }>();
  private readings = 0;
  private previousAt = 0;

  /** Records a reading taken at `at` (epoch ms); returns the interval since the previous reading,
   * or null for the first one (a rate needs two readings). Allocates only for rows that moved. */
  update(at: number, rows: Iterable<CounterRow>): CounterInterval | null {
    const first = this.readings === 0;
    const reading = ++this.readings;
    const deltas = new Map<string, number[]>();
    for (const row of rows) {
      const prev = this.previous.get(row.key);
      if (!prev) {
        this.previous.set(row.key, { values: row.values, generation: row.generation, seen: reading });
        if (!first) {
          const values = numbers(row.values);
          if (values.some((v) => v !== 0)) deltas.set(row.key, values.slice());
        }
        continue;
      }
      prev.seen = reading;
      if (prev.generation === row.generation && typeof row.values === 'string' && row.values === prev.values) continue;
      const values = numbers(row.values);
      const prevValues = numbers(prev.values);
      let restarted = prev.generation !== row.generation;
      let moved = false;
      for (let i = 0; i < values.length && !restarted; i++) {
        const v = values[i]!;
        const p = prevValues[i] ?? 0;
        if (v < p) restarted = true;
        else if (v !== p) moved = true;
      }
      prev.values = row.values;
      prev.generation = row.generation;
      if (restarted) {
        if (values.some((v) => v !== 0)) deltas.set(row.key, values.slice());
      } else if (moved) {
        deltas.set(row.key, values.map((v, i) => v - (prevValues[i] ?? 0)));
      }
    }
    // Keys the server no longer reports (an evicted statement, a dropped database).
    for (const [key, entry] of this.previous) if (entry.seen !== reading) this.previous.delete(key);
    const elapsedMs = at - this.previousAt;
    this.previousAt = at;
    // A clock that stepped back gives no meaningful rate; the next reading will.
    if (first || elapsedMs <= 0) return null;
    return { elapsedMs, deltas };
  }

  /** Forgets the previous reading, e.g. after the statistics source changed. */
  clear(): void {
    this.previous.clear();
    this.readings = 0;
  }
}

function numbers(values: readonly number[] | string): readonly number[] {
  return typeof values === 'string' ? values.split(' ').map(Number) : values;
}

/** Per-second rate of `delta` over `elapsedMs`. */
export function perSecond(delta: number, elapsedMs: number): number {
  return (delta * 1000) / elapsedMs;
}
