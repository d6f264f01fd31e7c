// The health charts' y range and threshold bands, as TimeChart draws them.
import { describe, expect, it } from 'vitest';
import { bandInRange, yAxisTop } from '../../renderer/src/health/chart-geometry';

describe('yAxisTop', () => {
  const threshold = { warn: 1, critical: 10 };

  it('keeps the critical line in view, or the limit line when there is one', () => {
    expect(yAxisTop(0.2, { threshold })).toBe(15);
    expect(yAxisTop(3, { threshold, limit: { y: 100 } })).toBe(100);
  });

  it('follows data above the lines, to a round number', () => {
    expect(yAxisTop(42, { threshold })).toBe(50);
  });

  it('fitted to the data, leaves 20 % headroom and ignores the lines, down to minTop', () => {
    expect(yAxisTop(20, { fitToData: true, threshold, limit: { y: 100 } })).toBe(25);
    expect(yAxisTop(1, { fitToData: true, minTop: 5, limit: { y: 100 } })).toBe(5);
  });

  it('is never 0, so an empty chart still has an axis', () => {
    expect(yAxisTop(0, {})).toBe(1);
  });
});

describe('bandInRange', () => {
  it('keeps a band inside the axis as it is', () => {
    expect(bandInRange(1, 10, 15)).toEqual({ lo: 1, hi: 10 });
  });

  it('cuts a band at the top of the axis', () => {
    expect(bandInRange(10, 20, 15)).toEqual({ lo: 10, hi: 15 });
  });

  it('draws nothing of a band wholly above the axis, or of an empty one', () => {
    expect(bandInRange(95, 100, 30)).toBeUndefined();
    expect(bandInRange(30, 30, 30)).toBeUndefined();
  });
});
