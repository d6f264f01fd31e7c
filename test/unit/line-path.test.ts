// The health charts' line paths: a linear scale over the plot box, a break at each gap, and only
// one point beyond each edge of the window.
import { describe, expect, it } from 'vitest';
import { linePath } from '../../renderer/src/health/line-path';

const scale = { from: 1000, to: 2000, top: 10, width: 100, height: 50, gapMs: 150 };

describe('linePath', () => {
  it('maps time to x and value to y (0 at the bottom)', () => {
    expect(linePath([[1000, 0], [1500, 5], [2000, 10]], { ...scale, gapMs: 1000 })).toBe('M0 50L50 25L100 0');
  });

  it('starts a new subpath after a gap longer than gapMs', () => {
    expect(linePath([[1000, 0], [1100, 0], [1500, 0], [1600, 0]], scale)).toBe('M0 50L10 50M50 50L60 50');
  });

  it('keeps one point before and one after the window, and no more', () => {
    const points: [number, number][] = [[800, 1], [900, 1], [1000, 1], [2000, 1], [2100, 1], [2200, 1]];
    expect(linePath(points, { ...scale, gapMs: 10_000 })).toBe('M-10 45L0 45L100 45L110 45');
  });

  it('draws nothing for an empty or degenerate window', () => {
    expect(linePath([], scale)).toBe('');
    expect(linePath([[1000, 1]], { ...scale, to: 1000 })).toBe('');
  });
});
