// The charted history: a fixed ring per series that wraps without growing, range reads that skip
// missing readings, and LTTB downsampling to the chart's width.
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../shared/monitor';
import { seriesValues } from '../../shared/monitor';
import { SeriesStore } from '../../main/monitor/series-store';

function sample(time: number, total: number, over: Partial<Sample> = {}): Sample {
  return {
    profileId: 'p',
    engine: 'postgres',
    time,
    durationMs: 3,
    pool: { total, active: 1, idle: total - 1, idleInTransaction: 0, waiting: 0, max: 100, reserved: 3, byApplication: [], byUser: [] },
    errors: [],
    ...over,
  };
}

describe('SeriesStore', () => {
  it('keeps the newest `capacity` samples, oldest first, after wrapping', () => {
    const store = new SeriesStore(5);
    for (let i = 0; i < 12; i++) store.add(sample(1000 + i, i));
    expect(store.size).toBe(5);
    expect(store.raw('pool.total')).toEqual([7, 8, 9, 10, 11].map((v) => [1000 + v, v]));
  });

  it('reads a time range and leaves out panels that were not read', () => {
    const store = new SeriesStore(100);
    for (let i = 0; i < 10; i++) store.add(i === 4 ? sample(i, 0, { pool: undefined }) : sample(i, i));
    expect(store.raw('pool.total', 3, 6)).toEqual([
      [3, 3],
      [5, 5],
      [6, 6],
    ]);
    expect(store.raw('locks.waiting')).toEqual([]);
  });

  it('downsamples 24 hours at 1 Hz to the points a chart can draw, keeping the peaks', () => {
    const store = new SeriesStore();
    const t0 = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 86_400; i++) store.add(sample(t0 + i * 1000, i === 50_000 ? 500 : 10 + (i % 7)));
    const [series] = store.read(['pool.total'], { points: 800 });
    expect(series!.points.length).toBe(800);
    expect(Math.max(...series!.points.map((p) => p[1]))).toBe(500);
    expect(series!.points[0]![0]).toBe(t0);
    expect(series!.points.at(-1)![0]).toBe(t0 + 86_399_000);
  });

  it('takes the largest known replication lag across replicas', () => {
    const v = seriesValues(
      sample(1, 1, {
        replication: {
          role: 'primary',
          replicas: [
            { name: 'a', address: 'x', state: 'streaming', lagBytes: 10, lagSeconds: null },
            { name: 'b', address: 'y', state: 'streaming', lagBytes: 300, lagSeconds: 2.5 },
          ],
          slots: [],
        },
      }),
    );
    expect(v['replication.maxLagBytes']).toBe(300);
    expect(v['replication.maxLagSeconds']).toBe(2.5);
  });
});
