// The storage panel's schedule: a reading only in a gap between samples wide enough for it, with
// the statement budget that gap allows; the last good reading kept (with the failure beside it)
// when a later one fails; and the next attempt at the interval, or sooner after a failure.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StorageReadError, StorageSchedule, storageBudgetMs, type StorageReader, type StorageReading } from '../../main/monitor/storage';

const reading: StorageReading = {
  sizeSource: 'test',
  tables: [],
  skipped: [],
  unusedIndexes: [],
  unusedIndexCount: 0,
  indexStatsSince: null,
};

function reader(outcomes: (StorageReading | Error)[]): StorageReader & { budgets: number[] } {
  const budgets: number[] = [];
  return {
    budgets,
    async read(budgetMs) {
      budgets.push(budgetMs);
      const next = outcomes.shift();
      if (!next || next instanceof Error) throw next ?? new Error('no outcome left');
      return next;
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('storageBudgetMs', () => {
  it('leaves a reserve before the next sample and never exceeds the statement timeout', () => {
    // 1 Hz, a sample of 10 ms: 990 ms left, 200 of them reserved.
    expect(storageBudgetMs(990, 2000)).toBe(790);
    // At 4 Hz a quarter of the gap is kept back.
    expect(storageBudgetMs(240, 2000)).toBe(180);
    // A slow interval is still bounded by the monitor's statement timeout.
    expect(storageBudgetMs(9_990, 2000)).toBe(2000);
    // Nearly no gap: nothing (or less than nothing) to spend.
    expect(storageBudgetMs(20, 2000)).toBeLessThan(0);
  });
});

describe('StorageSchedule', () => {
  it('reads when due, with the gap\'s budget, then not again before the interval', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    const r = reader([reading, reading]);
    const s = new StorageSchedule(60_000);
    expect(s.latest()).toBeUndefined();
    await s.readIfDue(r, 990, 2000);
    expect(r.budgets).toEqual([790]);
    expect(s.latest()).toMatchObject({ readAt: 1_000_000, intervalMs: 60_000, tables: [] });
    expect(s.latest()!.error).toBeUndefined();

    vi.setSystemTime(1_059_999);
    expect(s.due()).toBe(false);
    await s.readIfDue(r, 990, 2000);
    expect(r.budgets).toHaveLength(1);
    vi.setSystemTime(1_060_000);
    await s.readIfDue(r, 990, 2000);
    expect(r.budgets).toHaveLength(2);
    expect(s.latest()!.readAt).toBe(1_060_000);
  });

  it('waits for a wider gap instead of starting a reading that could not finish', async () => {
    const r = reader([reading]);
    const s = new StorageSchedule(60_000);
    await s.readIfDue(r, 60, 2000);
    expect(r.budgets).toEqual([]);
    expect(s.due()).toBe(true);
    await s.readIfDue(r, 500, 2000);
    expect(r.budgets).toHaveLength(1);
  });

  it('keeps the last good reading beside a failure, retries sooner, and clears the error on success', async () => {
    vi.useFakeTimers({ now: 2_000_000, toFake: ['Date'] });
    const cut = new StorageReadError('Not read this time: cut off.', 'It is retried.');
    const r = reader([reading, cut, reading]);
    const s = new StorageSchedule(60_000);
    await s.readIfDue(r, 990, 2000);
    vi.setSystemTime(2_060_000);
    await s.readIfDue(r, 990, 2000);
    expect(s.latest()).toMatchObject({ readAt: 2_000_000, error: { message: 'Not read this time: cut off.', hint: 'It is retried.', at: 2_060_000 } });
    // After a failure the next attempt comes after 15 s, not a whole interval.
    vi.setSystemTime(2_074_999);
    expect(s.due()).toBe(false);
    vi.setSystemTime(2_075_000);
    await s.readIfDue(r, 990, 2000);
    expect(s.latest()!.readAt).toBe(2_075_000);
    expect(s.latest()!.error).toBeUndefined();
  });

  it('reports a failed first reading as a panel with no reading and the error', async () => {
    const s = new StorageSchedule(30_000);
    await s.readIfDue(reader([new Error('boom')]), 990, 2000);
    expect(s.latest()).toMatchObject({ readAt: null, durationMs: null, intervalMs: 30_000, tables: [], error: { message: 'boom' } });
  });

  it('never runs two readings at once', async () => {
    let release!: () => void;
    const slow: StorageReader = { read: () => new Promise<StorageReading>((resolve) => (release = () => resolve(reading))) };
    const s = new StorageSchedule(0);
    const first = s.readIfDue(slow, 990, 2000);
    expect(s.due()).toBe(false);
    release();
    await first;
    expect(s.due()).toBe(true);
  });
});
