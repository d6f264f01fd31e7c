// Turning cumulative server counters into per-interval differences: first reading, growth, a key
// that appears, a counter that goes down, and a changed reset marker.
import { describe, expect, it } from 'vitest';
import { CounterTracker, perSecond } from '../../main/monitor/counter-rates';

describe('CounterTracker', () => {
  it('has no interval on the first reading, then reports only what moved', () => {
    const t = new CounterTracker();
    expect(t.update(1000, [{ key: 'a', values: [10, 5] }, { key: 'b', values: [1, 1] }])).toBeNull();
    const i = t.update(3000, [{ key: 'a', values: [16, 5] }, { key: 'b', values: [1, 1] }]);
    expect(i).toEqual({ elapsedMs: 2000, deltas: new Map([['a', [6, 0]]]) });
    expect(perSecond(6, i!.elapsedMs)).toBe(3);
  });

  it('counts a new key from zero and a counter that went down as restarted', () => {
    const t = new CounterTracker();
    t.update(0, [{ key: 'a', values: [100, 50] }]);
    const i = t.update(1000, [{ key: 'a', values: [7, 60] }, { key: 'new', values: [3, 0] }]);
    expect(i!.deltas).toEqual(new Map([['a', [7, 60]], ['new', [3, 0]]]));
  });

  it('treats a changed reset marker as a restart even when counters grew past their old values', () => {
    const t = new CounterTracker();
    t.update(0, [{ key: 'db', values: [10], generation: 'reset-1' }]);
    const i = t.update(1000, [{ key: 'db', values: [12], generation: 'reset-2' }]);
    expect(i!.deltas.get('db')).toEqual([12]);
  });

  it('takes values as a space-separated string, skipping rows whose text did not change', () => {
    const t = new CounterTracker();
    t.update(0, [{ key: 'q1', values: '5 1.25 10' }, { key: 'q2', values: '1 0.5 1' }]);
    const i = t.update(2000, [{ key: 'q1', values: '8 2.5 16' }, { key: 'q2', values: '1 0.5 1' }, { key: 'q3', values: '2 4 0' }]);
    expect(i!.deltas).toEqual(new Map([['q1', [3, 1.25, 6]], ['q3', [2, 4, 0]]]));
  });

  it('gives no interval when the clock did not move forward, and starts over after clear()', () => {
    const t = new CounterTracker();
    t.update(5000, [{ key: 'a', values: [1] }]);
    expect(t.update(5000, [{ key: 'a', values: [2] }])).toBeNull();
    expect(t.update(6000, [{ key: 'a', values: [4] }])!.deltas.get('a')).toEqual([2]);
    t.clear();
    expect(t.update(7000, [{ key: 'a', values: [9] }])).toBeNull();
  });
});
